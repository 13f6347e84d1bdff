//! Compiled only for tests: `batch.rs` includes this file under #[cfg(test)].

use std::sync::Arc;
use std::time::Duration;

use http::Method;
use parking_lot::Mutex;
use serde::Deserialize;
use serde_json::{Value, json};

use super::*;
use crate::clock::TestClock;
use crate::mock::{MockResponse, MockTransport, RecordedCall};
use crate::{NoContent, RetryOptions};

#[derive(Debug, Deserialize, PartialEq)]
struct User {
    id: String,
}

/// A fake `$batch` endpoint: answers every item 200 with `{"id": <url>}`, except that the
/// items listed in `throttle` get a 429 (with the given Retry-After) the first time they are
/// seen, and items depending on a throttled item get 424. Responses come back reversed.
fn batch_server(
    mock: &MockTransport,
    throttle: Vec<(&'static str, &'static str)>,
) -> Arc<Mutex<Vec<Value>>> {
    let seen_batches = Arc::new(Mutex::new(Vec::new()));
    let record = seen_batches.clone();
    let throttled_once = Arc::new(Mutex::new(Vec::<String>::new()));
    mock.on(Method::POST, "/v1.0/$batch").respond_with(move |call: &RecordedCall| {
        let body = call.json().unwrap_or_default();
        record.lock().push(body.clone());
        let mut failed: Vec<String> = Vec::new();
        let mut responses = Vec::new();
        for request in body["requests"].as_array().cloned().unwrap_or_default() {
            let id = request["id"].as_str().unwrap_or_default().to_string();
            let depends: Vec<String> = request["dependsOn"]
                .as_array()
                .map(|d| d.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
                .unwrap_or_default();
            let mut once = throttled_once.lock();
            let response = if let Some((_, retry_after)) =
                throttle.iter().find(|(t, _)| *t == id && !once.contains(&id))
            {
                once.push(id.clone());
                failed.push(id.clone());
                json!({"id": id, "status": 429, "headers": {"Retry-After": retry_after},
                       "body": {"error": {"code": "TooManyRequests", "message": "Please retry again later."}}})
            } else if depends.iter().any(|d| failed.contains(d)) {
                failed.push(id.clone());
                json!({"id": id, "status": 424, "body": {"error": {"code": "FailedDependency", "message": "dependency failed"}}})
            } else if request["method"] == "DELETE" {
                json!({"id": id, "status": 204})
            } else {
                json!({"id": id, "status": 200, "headers": {"Content-Type": "application/json"},
                       "body": {"id": request["url"]}})
            };
            responses.push(response);
        }
        responses.reverse();
        MockResponse::json(200, json!({ "responses": responses }))
    });
    seen_batches
}

fn client(mock: &MockTransport, clock: &TestClock) -> Client {
    Client::builder()
        .transport(mock.clone())
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap()
}

#[tokio::test]
async fn splits_45_requests_into_20_20_5_and_matches_answers_by_id() {
    let mock = MockTransport::new();
    let seen = batch_server(&mock, vec![]);
    let client = client(&mock, &TestClock::default());
    let mut batch = client.batch();
    let keys: Vec<_> = (0..45)
        .map(|i| {
            batch.add(
                client
                    .entity::<User>(format!("users/u{i}"))
                    .select_raw(["id"]),
            )
        })
        .collect();
    let answers = batch.send().await.unwrap();
    let sizes: Vec<usize> = seen
        .lock()
        .iter()
        .map(|b| b["requests"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, vec![20, 20, 5]);
    assert_eq!(answers.len(), 45);
    for (i, key) in keys.iter().enumerate() {
        assert_eq!(
            answers.get(key).unwrap().id,
            format!("/users/u{i}?$select=id")
        );
    }
}

#[tokio::test]
async fn dependency_groups_stay_in_one_batch() {
    let mock = MockTransport::new();
    let seen = batch_server(&mock, vec![]);
    let client = client(&mock, &TestClock::default());
    let mut batch = client.batch().max_per_batch(3);
    let a = batch.add(client.entity::<User>("a"));
    let _b = batch.add(client.entity::<User>("b"));
    let _c = batch.add(client.entity::<User>("c"));
    let d = batch.add(client.entity::<User>("d"));
    let e = batch.add(client.entity::<User>("e"));
    batch.depends_on(&d, [a.id()]);
    batch.depends_on(&e, [d.id()]);
    batch.send().await.unwrap();
    let batches = seen.lock().clone();
    let ids = |b: &Value| -> Vec<String> {
        b["requests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(ids(&batches[0]), vec!["1", "4", "5"]);
    assert_eq!(ids(&batches[1]), vec!["2", "3"]);
    assert_eq!(batches[0]["requests"][1]["dependsOn"], json!(["1"]));
}

#[tokio::test]
async fn throttled_items_are_resent_after_the_largest_retry_after_with_depends_on_intact() {
    let mock = MockTransport::new();
    let seen = batch_server(&mock, vec![("2", "3"), ("5", "7")]);
    let clock = TestClock::default();
    let client = client(&mock, &clock);
    let mut batch = client.batch();
    let keys: Vec<_> = (1..=6)
        .map(|i| batch.add(client.entity::<User>(format!("users/{i}"))))
        .collect();
    batch.depends_on(&keys[2], [keys[1].id()]); // 3 waits for 2 (throttled): 424, resent with it
    batch.depends_on(&keys[3], [keys[0].id()]); // 4 waits for 1 (fine)
    let answers = batch.send().await.unwrap();
    assert_eq!(clock.sleeps(), vec![Duration::from_secs(7)]);
    let batches = seen.lock().clone();
    assert_eq!(batches.len(), 2);
    let retried = batches[1]["requests"].as_array().unwrap();
    let retried_ids: Vec<&str> = retried.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(retried_ids, vec!["2", "3", "5"]);
    assert_eq!(retried[1]["dependsOn"], json!(["2"]));
    for key in &keys {
        assert!(answers.get(key).is_ok(), "{:?}", answers.get(key).err());
    }
}

#[tokio::test]
async fn items_still_throttled_after_the_retries_are_typed_errors() {
    let mock = MockTransport::new();
    mock.on(Method::POST, "/v1.0/$batch").respond(MockResponse::json(200, json!({"responses": [
        {"id": "1", "status": 429, "headers": {"Retry-After": "1"}, "body": {"error": {"code": "TooManyRequests", "message": "slow down", "innerError": {"request-id": "r-9"}}}},
        {"id": "2", "status": 204}
    ]})));
    let clock = TestClock::default();
    let client = client(&mock, &clock);
    let mut batch = client
        .batch()
        .with_options(crate::RequestOptions::new().with_retry(RetryOptions::new().max_retries(2)));
    let first = batch.add(client.entity::<User>("me"));
    let second = batch.add(client.request::<NoContent>(Method::DELETE, "users/x"));
    let answers = batch.send().await.unwrap();
    assert_eq!(mock.calls().len(), 3, "one batch and two follow-ups");
    let error = answers.get(&first).unwrap_err();
    assert_eq!(error.status(), Some(http::StatusCode::TOO_MANY_REQUESTS));
    assert_eq!(error.code(), Some("TooManyRequests"));
    assert_eq!(error.request_id(), Some("r-9"));
    assert_eq!(answers.get(&second).unwrap(), NoContent);
}

/// A `$batch` endpoint that answers item "1" 429 with `retry_after` every time.
fn always_throttled(mock: &MockTransport, retry_after: &str) {
    mock.on(Method::POST, "/v1.0/$batch").respond(MockResponse::json(200, json!({"responses": [
        {"id": "1", "status": 429, "headers": {"Retry-After": retry_after}, "body": {"error": {"code": "TooManyRequests", "message": "slow down"}}}
    ]})));
}

#[tokio::test]
async fn batch_items_obey_the_total_budget_max_delay_and_should_retry() {
    // Budget 2 s, item Retry-After 1 s: two follow-ups (1 + 1 = 2 s), not a third.
    let mock = MockTransport::new();
    always_throttled(&mock, "1");
    let clock = TestClock::default();
    let graph = client(&mock, &clock);
    let retry = RetryOptions::new()
        .max_retries(10)
        .total_budget(Duration::from_secs(2));
    let mut batch = graph
        .batch()
        .with_options(crate::RequestOptions::new().with_retry(retry.clone()));
    let key = batch.add(graph.entity::<User>("me"));
    let answers = batch.send().await.unwrap();
    assert_eq!(mock.calls().len(), 3, "the batch and two follow-ups");
    assert_eq!(clock.sleeps(), vec![Duration::from_secs(1); 2]);
    assert_eq!(
        answers.get(&key).unwrap_err().retry_after(),
        Some(Duration::from_secs(1))
    );

    // Retry-After 5 s with a 2 s budget: no follow-up, no wait.
    let mock = MockTransport::new();
    always_throttled(&mock, "5");
    let clock = TestClock::default();
    let graph = client(&mock, &clock);
    let mut batch = graph
        .batch()
        .with_options(crate::RequestOptions::new().with_retry(retry.clone()));
    batch.add(graph.entity::<User>("me"));
    batch.send().await.unwrap();
    assert_eq!(mock.calls().len(), 1);
    assert!(clock.sleeps().is_empty());

    // Retry-After above max_delay (no budget): handed back at once, never shortened.
    let mock = MockTransport::new();
    always_throttled(&mock, "3600");
    let clock = TestClock::default();
    let graph = client(&mock, &clock);
    let mut batch = graph.batch();
    batch.add(graph.entity::<User>("me"));
    batch.send().await.unwrap();
    assert_eq!(mock.calls().len(), 1);
    assert!(clock.sleeps().is_empty());

    // The caller's should_retry sees the item's answer and can veto.
    let mock = MockTransport::new();
    always_throttled(&mock, "1");
    let clock = TestClock::default();
    let graph = client(&mock, &clock);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let veto = RetryOptions::new().should_retry(crate::ShouldRetry::new(move |delay, n, r| {
        record.lock().push((delay, n, r.status.as_u16()));
        false
    }));
    let mut batch = graph
        .batch()
        .with_options(crate::RequestOptions::new().with_retry(veto));
    batch.add(graph.entity::<User>("me"));
    batch.send().await.unwrap();
    assert_eq!(mock.calls().len(), 1);
    assert_eq!(*seen.lock(), vec![(Duration::from_secs(1), 1, 429)]);
}

#[tokio::test]
async fn a_batch_of_reads_is_resent_after_a_reset_and_one_with_writes_never() {
    let clock = TestClock::default();
    let mock = MockTransport::new();
    mock.on(Method::POST, "/v1.0/$batch").reset().times(1);
    batch_server(&mock, vec![]);
    let graph = client(&mock, &clock);
    let mut batch = graph.batch();
    let me = batch.add(graph.entity::<User>("me"));
    let answers = batch.send().await.unwrap();
    assert!(answers.get(&me).is_ok());
    assert_eq!(
        mock.calls().len(),
        2,
        "the reset batch of GETs was sent again"
    );

    let mock = MockTransport::new();
    mock.on(Method::POST, "/v1.0/$batch").reset().times(1);
    batch_server(&mock, vec![]);
    let graph = client(&mock, &clock);
    let mut batch = graph.batch();
    batch.add(graph.entity::<User>("me"));
    batch.add(graph.request::<NoContent>(Method::DELETE, "users/x"));
    batch.add(
        graph
            .request::<User>(Method::POST, "users")
            .json_body(&json!({"displayName": "x"})),
    );
    let error = batch.send().await.unwrap_err();
    assert!(error.is_connection_lost(), "{error}");
    assert!(error.request_may_have_been_processed());
    assert_eq!(
        mock.calls().len(),
        1,
        "a batch with writes is never sent twice"
    );
}

#[tokio::test]
async fn invalid_batches_fail_at_send() {
    let mock = MockTransport::new();
    let client = client(&mock, &TestClock::default());
    let mut batch = client.batch();
    batch.add_with_id("Item", client.entity::<User>("me"));
    batch.add_with_id("item", client.entity::<User>("me"));
    let error = batch.send().await.unwrap_err();
    assert!(
        error.is_invalid_request() && error.to_string().contains("twice"),
        "{error}"
    );

    let mut batch = client.batch();
    let a = batch.add(client.entity::<User>("me"));
    batch.depends_on(&a, ["nope"]);
    assert!(batch.send().await.unwrap_err().to_string().contains("nope"));

    let mut batch = client.batch().max_per_batch(2);
    let a = batch.add(client.entity::<User>("a"));
    let b = batch.add(client.entity::<User>("b"));
    let c = batch.add(client.entity::<User>("c"));
    batch.depends_on(&b, [a.id()]);
    batch.depends_on(&c, [b.id()]);
    assert!(
        batch
            .send()
            .await
            .unwrap_err()
            .to_string()
            .contains("dependsOn")
    );
    assert!(mock.calls().is_empty());
}

#[tokio::test]
async fn bodies_go_inline_with_a_content_type_and_urls_drop_the_version() {
    let mock = MockTransport::new();
    let seen = batch_server(&mock, vec![]);
    let client = client(&mock, &TestClock::default());
    let mut batch = client.batch();
    batch.add(
        client
            .request::<Value>(Method::POST, "groups")
            .json_body(&json!({"displayName": "Zoë's team"})),
    );
    batch.add(
        client
            .collection::<User>("users")
            .filter("displayName eq 'a b'")
            .top(2),
    );
    batch.send().await.unwrap();
    let sent = seen.lock()[0]["requests"].clone();
    assert_eq!(sent[0]["url"], "/groups");
    assert_eq!(sent[0]["body"], json!({"displayName": "Zoë's team"}));
    assert_eq!(sent[0]["headers"]["content-type"], "application/json");
    assert_eq!(
        sent[1]["url"],
        "/users?$filter=displayName%20eq%20%27a%20b%27&$top=2"
    );
}
