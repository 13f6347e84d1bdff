//! msgraph-typed-core paging against the emulator: long streams with short-lived tokens, lazy streams,
//! next links to foreign hosts, delta rounds.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use msgraph_typed_core::{DeltaEvent, DeltaItem, DeltaRequest, NoContent};
use msgraph_typed_emulator::Emulator;
use serde::Deserialize;
use tests::core_support::{EmulatorCredential, client};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[derive(Debug, Deserialize)]
struct User {
    id: String,
    #[serde(rename = "displayName")]
    display_name: Option<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_users_stream_while_tokens_expire_mid_stream() {
    let emu = Emulator::builder()
        .users(10_000)
        .token_lifetime(Duration::from_secs(3))
        .start()
        .await
        .unwrap();
    let credential = Arc::new(EmulatorCredential::new(&emu));
    let client = client(&emu, credential.clone());

    let mut pages = client
        .collection::<User>("users")
        .select_raw(["id", "displayName"])
        .top(200)
        .count(true)
        .pages();
    let mut ids = HashSet::new();
    let mut expected = None;
    let mut page_count = 0;
    while let Some(page) = pages.try_next().await.unwrap() {
        if page_count == 0 {
            expected = page.count;
        }
        page_count += 1;
        for user in page.items {
            assert!(ids.insert(user.id), "no user arrives twice");
        }
        // A slow consumer: the whole walk takes several token lifetimes.
        tokio::time::sleep(Duration::from_millis(80)).await;
    }
    let expected = expected.expect("$count=true gives @odata.count on the first page") as usize;
    assert!(expected >= 10_000, "{expected}");
    assert_eq!(ids.len(), expected, "every user arrived");
    assert!(page_count >= 50, "{page_count} pages");
    let log = credential.log();
    assert!(
        log.fetched >= 3,
        "tokens expired mid-stream and were replaced: {log:?}"
    );
    // A token that expired in flight costs one 401 and one retry with a new token, never more.
    let attempts = emu.control().requests_to("/v1.0/users") as usize;
    eprintln!(
        "{} users, {page_count} pages, {attempts} attempts, credential: {log:?}",
        ids.len()
    );
    assert!(
        attempts >= page_count && attempts - page_count <= log.forced + log.fetched,
        "{attempts} attempts for {page_count} pages: {log:?}"
    );
}

#[tokio::test]
async fn dropping_a_stream_after_its_first_page_sends_no_further_request() {
    let emu = Emulator::builder().start().await.unwrap();
    let client = client(&emu, Arc::new(EmulatorCredential::new(&emu)));
    emu.control().reset_counters();

    let mut users = client.collection::<User>("users").top(2).stream();
    let first = users.next().await.unwrap().unwrap();
    assert!(!first.id.is_empty());
    assert_eq!(emu.control().requests_to("/v1.0/users"), 1);
    drop(users);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        emu.control().requests_to("/v1.0/users"),
        1,
        "the second page was never requested"
    );

    // Not polling at all sends nothing.
    let never_polled = client.collection::<User>("users").stream();
    tokio::time::sleep(Duration::from_millis(100)).await;
    drop(never_polled);
    assert_eq!(emu.control().requests_to("/v1.0/users"), 1);
}

#[tokio::test]
async fn a_next_link_to_a_foreign_host_is_not_followed_unless_the_host_is_allowed() {
    let emu = Emulator::builder().start().await.unwrap();
    let graph = MockServer::start().await;
    let foreign = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1.0/users"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "value": [{"id": "1", "displayName": "on graph"}],
            "@odata.nextLink": format!("{}/v1.0/users?$skiptoken=abc", foreign.uri()),
        })))
        .mount(&graph)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/users"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "value": [{"id": "2", "displayName": "elsewhere"}],
        })))
        .mount(&foreign)
        .await;
    let credential = Arc::new(EmulatorCredential::new(&emu));
    let builder = || {
        msgraph_typed_core::Client::builder()
            .base_url(&format!("{}/v1.0", graph.uri()))
            .credential(credential.clone())
            .scopes([tests::core_support::GRAPH_SCOPE])
    };

    // By default: the first page's user, then a paging error; nothing reaches the other host.
    let client = builder().build().unwrap();
    let results: Vec<_> = client.collection::<User>("users").stream().collect().await;
    assert_eq!(results.len(), 2, "{results:?}");
    assert_eq!(results[0].as_ref().unwrap().id, "1");
    let error = results[1].as_ref().unwrap_err();
    assert!(error.is_paging(), "{error}");
    assert!(foreign.received_requests().await.unwrap().is_empty());

    // With the host on the allow-list, the link is followed verbatim, through the pipeline.
    let foreign_host = foreign.uri().trim_start_matches("http://").to_string();
    let client = builder().allow_host(foreign_host).build().unwrap();
    let users: Vec<User> = client
        .collection("users")
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(users.len(), 2);
    let to_foreign = foreign.received_requests().await.unwrap();
    assert_eq!(to_foreign.len(), 1);
    assert_eq!(
        to_foreign[0].url.query(),
        Some("$skiptoken=abc"),
        "followed verbatim"
    );
}

#[tokio::test]
async fn delta_rounds_end_with_a_link_and_resume_with_only_the_changes() {
    let emu = Emulator::builder().start().await.unwrap();
    let client = client(&emu, Arc::new(EmulatorCredential::new(&emu)));

    let events: Vec<DeltaEvent<User>> = client
        .delta::<User>("users/delta")
        .select_raw(["id", "displayName"])
        .top(5)
        .stream()
        .try_collect()
        .await
        .unwrap();
    let Some(DeltaEvent::Link(link)) = events.last() else {
        panic!("a delta round ends with its link: {:?}", events.last());
    };
    let first_round = events.len() - 1;
    assert!(first_round > 5, "several pages: {first_round} items");

    let DeltaEvent::Item(DeltaItem::Changed(someone)) = &events[0] else {
        panic!("{:?}", events[0]);
    };
    let _: NoContent = client
        .request(
            http::Method::PATCH,
            format!(
                "users/{}",
                msgraph_typed_core::path::encode_segment(&someone.id)
            ),
        )
        .json_body(&serde_json::json!({"displayName": "Renamed By Delta Test"}))
        .send()
        .await
        .unwrap();

    let stored = serde_json::to_string(link).unwrap();
    let changes: Vec<DeltaEvent<User>> =
        DeltaRequest::resume(&client, serde_json::from_str(&stored).unwrap())
            .stream()
            .try_collect()
            .await
            .unwrap();
    let changed: Vec<&User> = changes
        .iter()
        .filter_map(|e| match e {
            DeltaEvent::Item(DeltaItem::Changed(u)) => Some(u),
            _ => None,
        })
        .collect();
    assert_eq!(changed.len(), 1, "{changes:?}");
    assert_eq!(changed[0].id, someone.id);
    assert_eq!(
        changed[0].display_name.as_deref(),
        Some("Renamed By Delta Test")
    );
    assert!(matches!(changes.last(), Some(DeltaEvent::Link(_))));
}
