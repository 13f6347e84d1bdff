//! Compiled only for tests: `paging.rs` includes this file under #[cfg(test)].

use std::time::{Duration, SystemTime};

use futures::{StreamExt, TryStreamExt};
use http::Method;
use msgraph_typed_auth::{AccessToken, StaticTokenCredential};
use serde::Deserialize;
use serde_json::{Value, json};

use super::*;
use crate::mock::{MockResponse, MockTransport};
use crate::{DeltaEvent, DeltaItem, DeltaRequest, NoContent};

#[derive(Debug, Deserialize, PartialEq)]
struct User {
    id: String,
}

fn users(n: usize) -> Vec<Value> {
    (0..n).map(|i| json!({"id": format!("u{i}")})).collect()
}

fn client(mock: &MockTransport) -> Client {
    Client::builder()
        .transport(mock.clone())
        .credential(StaticTokenCredential::new(AccessToken::new(
            "tok",
            SystemTime::now() + Duration::from_secs(3600),
        )))
        .build()
        .unwrap()
}

#[tokio::test]
async fn stream_yields_every_item_across_pages_including_empty_ones() {
    let mock = MockTransport::new();
    mock.serve_pages("/v1.0/users", users(25), 10);
    let client = client(&mock);
    let all: Vec<User> = client
        .collection("users")
        .stream()
        .try_collect()
        .await
        .unwrap();
    drop(client);
    assert_eq!(all.len(), 25);
    assert_eq!(all[24].id, "u24");
    assert_eq!(mock.calls().len(), 3);

    let empty = MockTransport::new();
    empty
        .on_path("/v1.0/groups")
        .query("$skiptoken", "1")
        .respond(MockResponse::json(200, json!({"value": [{"id": "g1"}]})));
    empty.on_path("/v1.0/groups").respond(MockResponse::json(
        200,
        json!({"value": [], "@odata.nextLink": "https://graph.microsoft.com/v1.0/groups?$skiptoken=1"}),
    ));
    let groups: Vec<User> = self::client(&empty)
        .collection("groups")
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(groups, vec![User { id: "g1".into() }]);
}

#[tokio::test]
async fn streams_are_lazy_and_dropping_one_sends_nothing_more() {
    let mock = MockTransport::new();
    mock.serve_pages("/v1.0/users", users(100), 10);
    let client = client(&mock);
    let stream = client.collection::<User>("users").stream();
    tokio::task::yield_now().await;
    assert!(
        mock.calls().is_empty(),
        "nothing is sent before the first poll"
    );
    let mut stream = Box::pin(stream);
    for _ in 0..10 {
        stream.next().await.unwrap().unwrap();
    }
    assert_eq!(
        mock.calls().len(),
        1,
        "the second page is fetched only when needed"
    );
    stream.next().await.unwrap().unwrap();
    assert_eq!(mock.calls().len(), 2);
    drop(stream);
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(mock.calls().len(), 2);
}

#[tokio::test]
async fn first_request_headers_and_options_go_to_every_page() {
    let mock = MockTransport::new();
    mock.serve_pages("/v1.0/users", users(5), 2);
    let client = client(&mock);
    let pages: Vec<Page<User>> = client
        .collection::<User>("users")
        .search("\"displayName:a b\"")
        .count(true)
        .with_header("Prefer", "outlook.timezone=\"UTC\"")
        .pages()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(pages.len(), 3);
    assert_eq!(pages[0].count, Some(5));
    let calls = mock.calls();
    let ids: std::collections::HashSet<_> = calls
        .iter()
        .map(|c| c.header("client-request-id").unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 3, "a fresh client-request-id per page");
    for call in &calls {
        assert_eq!(call.header("consistencylevel"), Some("eventual"));
        assert_eq!(call.header("prefer"), Some("outlook.timezone=\"UTC\""));
        assert_eq!(call.header("authorization"), Some("Bearer tok"));
        assert_eq!(
            call.query("$search").as_deref(),
            Some("\"displayName:a b\"")
        );
    }
    // The continuation carries the headers, never the token.
    let link = pages[0].next_link.clone().unwrap();
    assert_eq!(
        link.headers().get("consistencylevel").map(String::as_str),
        Some("eventual")
    );
    assert!(!link.headers().contains_key("authorization"));
}

#[tokio::test]
async fn a_repeated_next_link_is_an_error() {
    let mock = MockTransport::new();
    mock.on_path("/v1.0/users").respond(MockResponse::json(
        200,
        json!({"value": [{"id": "a"}], "@odata.nextLink": "https://graph.microsoft.com/v1.0/users?$skiptoken=same"}),
    ));
    let results: Vec<Result<User>> = client(&mock).collection("users").stream().collect().await;
    assert_eq!(results.len(), 3, "{results:?}");
    assert!(results[0].is_ok() && results[1].is_ok());
    let error = results[2].as_ref().unwrap_err();
    assert!(error.is_paging(), "{error}");
    assert_eq!(mock.calls().len(), 2);
}

#[tokio::test]
async fn next_and_delta_links_off_the_service_are_not_followed() {
    // Foreign, downgraded, other-port and look-alike links: each page is returned, then the
    // stream ends with a paging error; nothing is sent to the link (1 request each).
    for link in [
        "https://elsewhere.example.net/v1.0/users?$skiptoken=x",
        "http://graph.microsoft.com/v1.0/users?$skiptoken=x",
        "https://graph.microsoft.com:8443/v1.0/users?$skiptoken=x",
        "https://graph.microsoft.com.evil.example/v1.0/users?$skiptoken=x",
        "https://graph.microsoft.com@evil.example/v1.0/users?$skiptoken=x",
        "https://evil-graph.microsoft.com/v1.0/users?$skiptoken=x",
        "not a url",
    ] {
        for kind in ["@odata.nextLink", "@odata.deltaLink"] {
            let mock = MockTransport::new();
            mock.on_path("/v1.0/users").respond(MockResponse::json(
                200,
                json!({"value": [{"id": "a"}], kind: link}),
            ));
            let pages: Vec<Result<Page<User>>> =
                client(&mock).collection("users").pages().collect().await;
            assert_eq!(pages.len(), 2, "{link} {kind}: {pages:?}");
            let page = pages[0].as_ref().unwrap();
            assert_eq!(page.items, vec![User { id: "a".into() }]);
            assert!(
                page.delta_link.is_none(),
                "{link}: a foreign delta link is dropped"
            );
            let error = pages[1].as_ref().unwrap_err();
            assert!(error.is_paging(), "{link} {kind}: {error}");
            assert_eq!(mock.calls().len(), 1, "{link} {kind}");
        }
    }
}

#[tokio::test]
async fn a_stored_link_off_the_service_is_refused_on_resume() {
    let mock = MockTransport::new();
    let client = client(&mock);
    let link = NextLink::new("https://elsewhere.example.net/v1.0/users?$skiptoken=x");
    let error = CollectionRequest::<User>::resume(&client, link)
        .send()
        .await
        .unwrap_err();
    assert!(error.is_paging(), "{error}");
    assert!(
        error.to_string().contains("elsewhere.example.net"),
        "{error}"
    );
    let delta = DeltaLink::new("http://graph.microsoft.com/v1.0/users/delta?$deltatoken=x");
    let error = DeltaRequest::<User>::resume(&client, delta)
        .send()
        .await
        .unwrap_err();
    assert!(error.is_paging(), "{error}");
    assert!(mock.calls().is_empty());
}

#[tokio::test]
async fn an_allowed_host_may_serve_next_pages_and_gets_the_token() {
    let mock = MockTransport::new();
    mock.on_path("/v1.0/users").respond(MockResponse::json(
        200,
        json!({"value": [], "@odata.nextLink": "https://graph-eu.example.net/v1.0/more"}),
    ));
    mock.on_path("/v1.0/more")
        .respond(MockResponse::json(200, json!({"value": [{"id": "b"}]})));
    let client = Client::builder()
        .transport(mock.clone())
        .allow_host("graph-eu.example.net")
        .credential(StaticTokenCredential::new(AccessToken::new(
            "tok",
            SystemTime::now() + Duration::from_secs(3600),
        )))
        .build()
        .unwrap();
    let users: Vec<User> = client
        .collection::<User>("users")
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(users, vec![User { id: "b".into() }]);
    let calls = mock.calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[1].url.host_str(), Some("graph-eu.example.net"));
    assert_eq!(calls[1].header("authorization"), Some("Bearer tok"));
}

#[tokio::test]
async fn next_links_serialise_and_resume_with_their_headers() {
    let mock = MockTransport::new();
    mock.serve_pages("/v1.0/users", users(4), 2);
    let client = client(&mock);
    let first = client
        .collection::<User>("users")
        .count(true)
        .send()
        .await
        .unwrap();
    let saved = serde_json::to_string(first.next_link.as_ref().unwrap()).unwrap();
    assert!(saved.contains("skiptoken"), "{saved}");
    let link: NextLink = serde_json::from_str(&saved).unwrap();
    let second = CollectionRequest::<User>::resume(&client, link)
        .send()
        .await
        .unwrap();
    assert_eq!(
        second.items,
        vec![User { id: "u2".into() }, User { id: "u3".into() }]
    );
    assert_eq!(mock.calls()[1].header("consistencylevel"), Some("eventual"));
}

#[tokio::test]
async fn service_and_decode_errors_end_the_stream() {
    let mock = MockTransport::new();
    mock.on_path("/v1.0/users").respond(
        MockResponse::json(403, json!({"error": {"code": "Authorization_RequestDenied", "message": "Insufficient privileges to complete the operation."}}))
            .header("request-id", "r-1"),
    );
    mock.on_path("/v1.0/bad")
        .respond(MockResponse::json(200, json!({"value": [{"name": 1}]})));
    let client = client(&mock);
    let error = client.collection::<User>("users").send().await.unwrap_err();
    assert!(error.is_forbidden() && error.code() == Some("Authorization_RequestDenied"));
    assert_eq!(error.request_id(), Some("r-1"));
    let error = client.collection::<User>("bad").send().await.unwrap_err();
    assert!(error.is_decode(), "{error}");
}

#[tokio::test]
async fn count_requests_read_text_and_ask_for_eventual_consistency() {
    let mock = MockTransport::new();
    mock.on(Method::GET, "/v1.0/users/$count")
        .respond(MockResponse::text(200, "\u{feff}893"));
    let client = client(&mock);
    let n = client
        .count("users")
        .filter("endsWith(mail,'@contoso.com')")
        .send()
        .await
        .unwrap();
    assert_eq!(n, 893);
    let call = &mock.calls()[0];
    assert_eq!(call.header("consistencylevel"), Some("eventual"));
    assert_eq!(call.header("accept"), Some("text/plain"));
    assert_eq!(
        call.query("$filter").as_deref(),
        Some("endsWith(mail,'@contoso.com')")
    );
}

#[tokio::test]
async fn requests_send_json_bodies_and_accept_no_content() {
    let mock = MockTransport::new();
    mock.on(Method::PATCH, "/v1.0/users/a%2Fb")
        .json_body(json!({"accountEnabled": true}))
        .respond(MockResponse::status(204));
    let client = client(&mock);
    let path = format!("users/{}", crate::path::encode_segment("a/b"));
    let done: NoContent = client
        .request(Method::PATCH, path)
        .json_body(&json!({"accountEnabled": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(done, NoContent);
    assert_eq!(
        mock.calls()[0].header("content-type"),
        Some("application/json")
    );
    // A builder error surfaces from send(), not midway.
    let error = client
        .request::<NoContent>(Method::PATCH, "users/x")
        .with_header("bad header", "v")
        .send()
        .await
        .unwrap_err();
    assert!(error.is_invalid_request(), "{error}");
}

fn delta_mock() -> MockTransport {
    let mock = MockTransport::new();
    mock.on_path("/v1.0/users/delta")
        .query("$skiptoken", "p2")
        .respond(MockResponse::json(
            200,
            json!({
                "value": [{"id": "u3"}, {"id": "u1", "@removed": {"reason": "deleted"}}],
                "@odata.deltaLink": "https://graph.microsoft.com/v1.0/users/delta?$deltatoken=d1"
            }),
        ));
    mock.on_path("/v1.0/users/delta")
        .query("$deltatoken", "d1")
        .respond(MockResponse::json(
            200,
            json!({
                "value": [{"id": "u2", "@removed": {"reason": "changed"}}],
                "@odata.deltaLink": "https://graph.microsoft.com/v1.0/users/delta?$deltatoken=d2"
            }),
        ));
    mock.on_path("/v1.0/users/delta")
        .query("$deltatoken", "expired")
        .respond(MockResponse::json(410, json!({"error": {"code": "syncStateNotFound", "message": "The sync state is not found."}})));
    mock.on_path("/v1.0/users/delta")
        .respond(MockResponse::json(
            200,
            json!({
                "value": [{"id": "u1"}, {"id": "u2"}],
                "@odata.nextLink": "https://graph.microsoft.com/v1.0/users/delta?$skiptoken=p2"
            }),
        ));
    mock
}

#[tokio::test]
async fn delta_ends_with_a_link_only_on_the_last_page_and_resumes() {
    let mock = delta_mock();
    let client = client(&mock);
    let events: Vec<DeltaEvent<User>> = client
        .delta::<User>("users/delta")
        .with_header("Prefer", "return=minimal")
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(events.len(), 5);
    assert_eq!(
        events[0],
        DeltaEvent::Item(DeltaItem::Changed(User { id: "u1".into() }))
    );
    assert!(
        matches!(&events[3], DeltaEvent::Item(DeltaItem::Removed(r)) if r.id == "u1" && r.reason == "deleted")
    );
    let DeltaEvent::Link(link) = &events[4] else {
        panic!("the last event is the delta link: {events:?}");
    };
    assert!(link.url().ends_with("$deltatoken=d1"));
    assert_eq!(
        link.headers().get("prefer").map(String::as_str),
        Some("return=minimal")
    );

    let stored = serde_json::to_string(link).unwrap();
    let next: Vec<DeltaEvent<User>> =
        DeltaRequest::resume(&client, serde_json::from_str(&stored).unwrap())
            .stream()
            .try_collect()
            .await
            .unwrap();
    assert!(
        matches!(&next[0], DeltaEvent::Item(DeltaItem::Removed(r)) if r.id == "u2" && r.reason == "changed")
    );
    assert!(matches!(&next[1], DeltaEvent::Link(l) if l.url().ends_with("d2")));
    assert_eq!(
        mock.calls().last().unwrap().header("prefer"),
        Some("return=minimal")
    );
}

#[tokio::test]
async fn expired_delta_state_is_a_typed_resync_error() {
    let mock = delta_mock();
    let client = client(&mock);
    let link =
        crate::DeltaLink::new("https://graph.microsoft.com/v1.0/users/delta?$deltatoken=expired");
    let results: Vec<Result<DeltaEvent<User>>> =
        DeltaRequest::resume(&client, link).stream().collect().await;
    assert_eq!(results.len(), 1);
    let error = results[0].as_ref().unwrap_err();
    assert!(error.is_resync_required(), "{error}");
    assert_eq!(error.code(), Some("syncStateNotFound"));
}

#[tokio::test]
async fn a_delta_round_without_a_link_ends_with_an_error() {
    let mock = MockTransport::new();
    mock.on_path("/v1.0/users/delta")
        .respond(MockResponse::json(200, json!({"value": [{"id": "u1"}]})));
    let results: Vec<Result<DeltaEvent<User>>> = client(&mock)
        .delta::<User>("users/delta")
        .stream()
        .collect()
        .await;
    assert_eq!(results.len(), 2);
    assert!(results[1].as_ref().unwrap_err().is_paging());
}

#[tokio::test]
async fn pages_through_100k_mocked_users_one_page_at_a_time() {
    // 100,000 mocked users: the consumer only ever holds one page's items.
    let mock = MockTransport::new();
    let page_size = 999;
    mock.serve_pages("/v1.0/users", users(100_000), page_size);
    let client = client(&mock);
    let pages = client.collection::<User>("users").pages();
    let mut pages = Box::pin(pages);
    let mut total = 0;
    let mut max_page = 0;
    while let Some(page) = pages.try_next().await.unwrap() {
        max_page = max_page.max(page.items.len());
        total += page.items.len();
    }
    assert_eq!(total, 100_000);
    assert!(max_page <= page_size);
    assert_eq!(mock.calls().len(), 100_000usize.div_ceil(page_size));
}

#[test]
fn a_page_keeps_every_page_level_annotation_and_round_trips() {
    let body = json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users",
        "@odata.count": 42,
        "@microsoft.graph.tips": "Use $select to choose only the properties your app needs.",
        "value": [{"id": "a"}, {"id": "b"}],
        "@odata.nextLink": "https://graph.microsoft.com/v1.0/users?$skiptoken=x",
        "futureProperty": {"nested": [1, 2]}
    });
    let page: Page<Value> = serde_json::from_value(body.clone()).unwrap();
    assert_eq!(page.items.len(), 2);
    assert_eq!(page.count, Some(42));
    assert_eq!(
        page.context(),
        Some("https://graph.microsoft.com/v1.0/$metadata#users")
    );
    assert_eq!(
        page.next_link().map(NextLink::url),
        Some("https://graph.microsoft.com/v1.0/users?$skiptoken=x")
    );
    assert_eq!(page.annotations.len(), 2, "{:?}", page.annotations);
    assert_eq!(serde_json::to_value(&page).unwrap(), body);
    // A delta page's link round-trips too.
    let delta = json!({"value": [], "@odata.deltaLink": "https://graph.microsoft.com/v1.0/users/delta?$deltatoken=t"});
    let page: Page<Value> = serde_json::from_value(delta.clone()).unwrap();
    assert_eq!(serde_json::to_value(&page).unwrap(), delta);
}
