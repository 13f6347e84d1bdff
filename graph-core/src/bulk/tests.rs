//! Compiled only for tests: `bulk/mod.rs` includes this file under #[cfg(test)].

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures::StreamExt as _;
use http::StatusCode;
use parking_lot::Mutex;
use serde_json::{Value, json};

use crate::transport::{HttpRequest, HttpResponse, Transport};
use crate::{Client, Result};

/// A transport that takes `delay` per HTTP call and answers `{"id": <last path segment>}` (404
/// for ids starting with `missing`, one 429 with `Retry-After: 1` for `throttle-me`, a page of
/// `g1` with a next link to a page of `g2` for `.../memberOf`), alone or as `$batch` items. It
/// records concurrency, when each HTTP call arrived (`$batch` for a batch) and every item.
#[derive(Debug, Default)]
struct Slow {
    delay: Duration,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    sent: Mutex<Vec<(String, Instant)>>,
    items: Mutex<Vec<String>>,
    throttled_once: Mutex<bool>,
    /// Answer every `$batch` call itself with 400.
    refuse_batches: bool,
}

impl Slow {
    /// One request's answer: status, headers and body.
    fn answer(&self, path_and_query: &str) -> (StatusCode, Vec<(&'static str, String)>, Value) {
        let (path, query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        let id = path.rsplit('/').next().unwrap_or_default().to_owned();
        self.items.lock().push(id.clone());
        if id == "throttle-me" && !std::mem::replace(&mut *self.throttled_once.lock(), true) {
            let body = json!({"error": {"code": "TooManyRequests", "message": "slow down"}});
            return (
                StatusCode::TOO_MANY_REQUESTS,
                vec![("retry-after", "1".into())],
                body,
            );
        }
        if id.starts_with("missing") {
            let body = json!({"error": {"code": "Request_ResourceNotFound", "message": "no"}});
            return (StatusCode::NOT_FOUND, Vec::new(), body);
        }
        if id == "memberOf" {
            let path = path.strip_prefix("/v1.0").unwrap_or(path);
            let next = format!("https://graph.microsoft.com/v1.0{path}?page=2");
            let page = if query.contains("page=2") {
                json!({"value": [{"id": "g2"}]})
            } else {
                json!({"value": [{"id": "g1"}], "@odata.nextLink": next})
            };
            return (StatusCode::OK, Vec::new(), page);
        }
        (StatusCode::OK, Vec::new(), json!({ "id": id }))
    }

    fn answer_batch(&self, request: &HttpRequest) -> HttpResponse {
        if self.refuse_batches {
            return HttpResponse::with_body(
                StatusCode::BAD_REQUEST,
                Default::default(),
                r#"{"error":{"code":"BadRequest","message":"no batches today"}}"#.into(),
            );
        }
        let body: Value = request
            .body
            .as_bytes()
            .and_then(|b| serde_json::from_slice(b).ok())
            .unwrap_or_default();
        let empty = Vec::new();
        let requests = body["requests"].as_array().unwrap_or(&empty);
        let responses: Vec<Value> = requests
            .iter()
            .map(|item| {
                let url = item["url"].as_str().unwrap_or_default();
                let (status, headers, body) = self.answer(url);
                let headers: serde_json::Map<String, Value> = headers
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), Value::String(v)))
                    .collect();
                json!({"id": item["id"], "status": status.as_u16(), "headers": headers, "body": body})
            })
            .collect();
        HttpResponse::with_body(
            StatusCode::OK,
            Default::default(),
            json!({ "responses": responses }).to_string().into(),
        )
    }
}

#[async_trait]
impl Transport for Slow {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse> {
        let path = request.url.path().to_owned();
        let is_batch = path.ends_with("/$batch");
        let label = if is_batch {
            "$batch".to_owned()
        } else {
            path.rsplit('/').next().unwrap_or_default().to_owned()
        };
        self.sent.lock().push((label, Instant::now()));
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(self.delay).await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        if is_batch {
            return Ok(self.answer_batch(&request));
        }
        let relative = match request.url.query() {
            Some(query) => format!("{path}?{query}"),
            None => path,
        };
        let (status, headers, body) = self.answer(&relative);
        let mut response =
            HttpResponse::with_body(status, Default::default(), body.to_string().into());
        for (name, value) in headers {
            if let Ok(value) = http::HeaderValue::from_str(&value) {
                response.headers.insert(name, value);
            }
        }
        Ok(response)
    }
}

/// How a run sends its requests.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    Packed,
    OneByOne,
}

fn run<K: Send + 'static, O: Send + 'static>(
    run: crate::BulkRun<K, O>,
    mode: Mode,
) -> crate::BulkRun<K, O> {
    match mode {
        Mode::Packed => run,
        Mode::OneByOne => run.one_by_one(),
    }
}

fn client(transport: Arc<Slow>, initial: usize, max: usize) -> Client {
    Client::builder()
        .transport(transport)
        .bulk_concurrency(initial, max)
        .build()
        .unwrap()
}

fn entity(client: &Client, id: &str) -> crate::EntityRequest<serde_json::Value> {
    client.entity::<serde_json::Value>(format!("users/{id}"))
}

async fn every_key_answered_once(mode: Mode) {
    let slow = Arc::new(Slow {
        delay: Duration::from_millis(2),
        ..Slow::default()
    });
    let client = client(slow.clone(), 4, 16);
    let ids: Vec<String> = (0..200)
        .map(|i| {
            if i % 10 == 3 {
                format!("missing-{i}")
            } else {
                format!("u{i}")
            }
        })
        .collect();
    let c = client.clone();
    let requests = futures::stream::iter(ids.clone()).map(move |id| (id.clone(), entity(&c, &id)));
    let answers: Vec<(String, Result<Value>)> = run(client.bulk(requests), mode).collect().await;
    assert_eq!(answers.len(), 200);
    let keys: HashSet<&String> = answers.iter().map(|(k, _)| k).collect();
    assert_eq!(keys.len(), 200, "every key exactly once");
    let failed: Vec<&String> = answers
        .iter()
        .filter(|(_, r)| r.is_err())
        .map(|(k, _)| k)
        .collect();
    assert_eq!(failed.len(), 20);
    assert!(failed.iter().all(|k| k.starts_with("missing")));
    assert!(
        answers
            .iter()
            .filter_map(|(_, r)| r.as_ref().err())
            .all(crate::Error::is_not_found)
    );
    for (key, answer) in &answers {
        if let Ok(user) = answer {
            assert_eq!(user["id"], key.as_str());
        }
    }
    assert_eq!(slow.items.lock().len(), 200, "every request sent once");
    let calls = slow.sent.lock().len();
    match mode {
        // Packed: at most 16 (the ceiling) per batch, so at least 13 calls, far fewer than 200.
        Mode::Packed => {
            assert!((13..100).contains(&calls), "{calls} HTTP calls");
            assert!(slow.sent.lock().iter().any(|(label, _)| label == "$batch"));
        }
        Mode::OneByOne => {
            assert_eq!(calls, 200);
            // Healthy answers grew the estimate from 4 up to (at most) the ceiling.
            let max = slow.max_in_flight.load(Ordering::SeqCst);
            assert!(max > 4 && max <= 16, "max in flight {max}");
        }
    }
    assert_eq!(client.throttle_state().1, 0);
}

#[tokio::test]
async fn every_key_is_answered_once_and_failures_do_not_stop_the_others() {
    every_key_answered_once(Mode::Packed).await;
    every_key_answered_once(Mode::OneByOne).await;
}

async fn memory_bounded(mode: Mode) {
    let slow = Arc::new(Slow::default());
    let client = client(slow.clone(), 8, 32);
    let pulled = Arc::new(AtomicUsize::new(0));
    let counter = pulled.clone();
    let c = client.clone();
    let requests = futures::stream::iter(0..100_000).map(move |i| {
        counter.fetch_add(1, Ordering::SeqCst);
        (i, entity(&c, &format!("u{i}")))
    });
    let mut run = run(client.bulk(requests), mode);
    let mut answered = 0usize;
    let mut worst_ahead = 0usize;
    while let Some((_, answer)) = run.next().await {
        answer.unwrap();
        answered += 1;
        // Pulled from the input but not yet taken by the caller: in flight or waiting.
        let ahead = pulled.load(Ordering::SeqCst) - answered;
        worst_ahead = worst_ahead.max(ahead);
        assert!(run.in_flight() <= 32);
    }
    assert_eq!(answered, 100_000);
    assert!(
        worst_ahead <= 32,
        "at most the ceiling ahead of the caller: {worst_ahead}"
    );
    assert!(slow.max_in_flight.load(Ordering::SeqCst) <= 32);
}

#[tokio::test]
async fn a_hundred_thousand_keys_keep_memory_bounded() {
    memory_bounded(Mode::Packed).await;
    memory_bounded(Mode::OneByOne).await;
}

async fn pause_on_429(mode: Mode) {
    let slow = Arc::new(Slow {
        delay: Duration::from_millis(5),
        ..Slow::default()
    });
    let client = Client::builder()
        .transport(slow.clone())
        .retry(crate::RetryOptions::new().max_retries(3))
        .build()
        .unwrap();
    let mut ids = vec!["throttle-me".to_string()];
    ids.extend((0..40).map(|i| format!("u{i}")));
    let c = client.clone();
    let requests = futures::stream::iter(ids).map(move |id| (id.clone(), entity(&c, &id)));
    let started = Instant::now();
    let answers: Vec<_> = run(client.bulk(requests), mode)
        .concurrency(4)
        .collect()
        .await;
    assert_eq!(answers.len(), 41);
    assert!(
        answers.iter().all(|(_, r)| r.is_ok()),
        "the throttled key was retried"
    );
    let sent = slow.sent.lock().clone();
    // The 429 came back 5 ms after the first call was sent (the first call carries
    // `throttle-me`, alone or in the first batch). From then until its Retry-After (1 s) has
    // passed, nothing else is sent: the calls sent beside it were already on the wire.
    let answered = sent[0].1 + Duration::from_millis(5);
    let during: Vec<&(String, Instant)> = sent
        .iter()
        .filter(|(_, t)| {
            *t > answered + Duration::from_millis(20) && *t < answered + Duration::from_millis(950)
        })
        .collect();
    assert!(during.is_empty(), "sent during the pause: {during:?}");
    assert_eq!(
        slow.items.lock().len(),
        42,
        "41 keys and the throttled one again"
    );
    if mode == Mode::OneByOne {
        assert_eq!(sent.len(), 42);
    } else {
        // Packs of four (the fixed concurrency); the last key of 41 goes alone.
        let batches = sent.iter().filter(|(label, _)| label == "$batch").count();
        assert_eq!(batches, 11, "{sent:?}");
    }
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(client.throttle_state().1, 1);
}

#[tokio::test]
async fn a_429_on_one_request_pauses_every_send_for_its_retry_after() {
    pause_on_429(Mode::Packed).await;
    pause_on_429(Mode::OneByOne).await;
}

async fn drop_stops(mode: Mode) {
    let slow = Arc::new(Slow {
        delay: Duration::from_millis(5),
        ..Slow::default()
    });
    let client = client(slow.clone(), 4, 4);
    let c = client.clone();
    let requests = futures::stream::iter(0..1000).map(move |i| (i, entity(&c, &format!("u{i}"))));
    let mut run = run(client.bulk(requests), mode);
    for _ in 0..10 {
        run.next().await.unwrap().1.unwrap();
    }
    drop(run);
    let at_drop = slow.items.lock().len();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        slow.items.lock().len(),
        at_drop,
        "nothing sent after the drop"
    );
    assert!(at_drop <= 14, "{at_drop}");
}

#[tokio::test]
async fn dropping_the_run_stops_sending() {
    drop_stops(Mode::Packed).await;
    drop_stops(Mode::OneByOne).await;
}

async fn pages_followed(mode: Mode) {
    let slow = Arc::new(Slow::default());
    let client = client(slow.clone(), 8, 8);
    let c = client.clone();
    let requests = futures::stream::iter(["a", "b", "c"]).map(move |id| {
        (
            id,
            c.collection::<Value>(format!("users/{id}/memberOf"))
                .with_header("ConsistencyLevel", "eventual"),
        )
    });
    let mut answers: Vec<_> = run(client.bulk(requests), mode).collect().await;
    answers.sort_by_key(|(key, _)| *key);
    assert_eq!(answers.len(), 3);
    for (key, groups) in &answers {
        let ids: Vec<&str> = groups
            .as_ref()
            .unwrap()
            .iter()
            .filter_map(|g| g["id"].as_str())
            .collect();
        assert_eq!(ids, ["g1", "g2"], "{key}: both pages");
    }
    // The first pages travelled in one batch (packed) or alone; every second page alone.
    let sent = slow.sent.lock().clone();
    match mode {
        Mode::Packed => assert_eq!(sent.len(), 4, "{sent:?}"),
        Mode::OneByOne => assert_eq!(sent.len(), 6, "{sent:?}"),
    }
    assert_eq!(slow.items.lock().len(), 6);
}

#[tokio::test]
async fn collections_are_followed_through_every_page() {
    pages_followed(Mode::Packed).await;
    pages_followed(Mode::OneByOne).await;
}

#[tokio::test]
async fn collections_through_a_mock_follow_every_page() {
    let mock = crate::mock::MockTransport::new();
    let items: Vec<Value> = (0..25).map(|i| json!({"id": format!("g{i}")})).collect();
    mock.serve_pages("/v1.0/users/a/memberOf", items, 10);
    let client = Client::builder().transport(mock.clone()).build().unwrap();
    let c = client.clone();
    let requests = futures::stream::iter(["a"])
        .map(move |id| (id, c.collection::<Value>(format!("users/{id}/memberOf"))));
    // A run of one key sends it alone (a batch of one is only overhead).
    let answers: Vec<_> = client.bulk(requests).collect().await;
    let (key, groups) = &answers[0];
    assert_eq!(*key, "a");
    assert_eq!(groups.as_ref().unwrap().len(), 25);
    assert_eq!(mock.calls().len(), 3);
}

#[tokio::test]
async fn a_failed_batch_fails_each_of_its_items_once() {
    let slow = Arc::new(Slow {
        refuse_batches: true,
        ..Slow::default()
    });
    let client = client(slow.clone(), 8, 8);
    let c = client.clone();
    let requests = futures::stream::iter(0..30).map(move |i| (i, entity(&c, &format!("u{i}"))));
    let answers: Vec<_> = client.bulk(requests).collect().await;
    assert_eq!(answers.len(), 30);
    let keys: HashSet<i32> = answers.iter().map(|(k, _)| *k).collect();
    assert_eq!(keys.len(), 30);
    for (_, answer) in &answers {
        let error = answer.as_ref().unwrap_err();
        assert_eq!(
            error.service_error().map(|e| e.status()),
            Some(StatusCode::BAD_REQUEST)
        );
    }
    assert!(slow.items.lock().is_empty(), "no item was sent alone");
}

#[tokio::test]
async fn requests_of_another_client_or_with_options_go_alone() {
    let slow = Arc::new(Slow::default());
    let client = client(slow.clone(), 8, 8);
    let other = Client::builder().transport(slow.clone()).build().unwrap();
    let c = client.clone();
    let requests = futures::stream::iter(0..6).map(move |i| {
        let request = match i {
            0 | 1 => entity(&other, &format!("other{i}")),
            2 => entity(&c, "options")
                .with_options(crate::RequestOptions::new().with_timeout(Duration::from_secs(5))),
            _ => entity(&c, &format!("u{i}")),
        };
        (i, request)
    });
    let answers: Vec<_> = client.bulk(requests).collect().await;
    assert_eq!(answers.len(), 6);
    assert!(answers.iter().all(|(_, r)| r.is_ok()));
    let mut labels: Vec<String> = slow.sent.lock().iter().map(|(l, _)| l.clone()).collect();
    labels.sort();
    // u3, u4, u5 in one batch; the other client's two and the one with options alone.
    assert_eq!(labels, ["$batch", "options", "other0", "other1"]);
}
