//! The default reqwest transport against a real local server: gzip, timeouts, connect errors,
//! and reqwest's own redirect following turned off (the pipeline follows redirects itself).

use std::time::Duration;

use msgraph_typed_core::{Client, RedirectOptions, RequestOptions};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// `{"value": [{"id": "zipped"}]}`, gzip-compressed.
const GZIPPED_PAGE: &[u8] = &[
    31, 139, 8, 0, 0, 0, 0, 0, 2, 3, 171, 86, 42, 75, 204, 41, 77, 85, 178, 82, 136, 174, 86, 202,
    76, 1, 210, 74, 85, 153, 5, 5, 169, 41, 74, 181, 177, 181, 0, 185, 239, 197, 62, 29, 0, 0, 0,
];

fn client(server: &MockServer) -> Client {
    Client::builder()
        .base_url(&format!("{}/v1.0", server.uri()))
        .build()
        .unwrap()
}

#[tokio::test]
async fn asks_for_gzip_and_decodes_it() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1.0/users"))
        .and(header("accept-encoding", "gzip"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-encoding", "gzip")
                .insert_header("content-type", "application/json")
                .set_body_raw(GZIPPED_PAGE, "application/json"),
        )
        .mount(&server)
        .await;
    let page = client(&server)
        .collection::<serde_json::Value>("users")
        .send()
        .await
        .unwrap();
    assert_eq!(page.items[0]["id"], "zipped");
}

#[tokio::test]
async fn a_per_request_timeout_is_a_timeout_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5)))
        .mount(&server)
        .await;
    let error = client(&server)
        .entity::<serde_json::Value>("me")
        .with_options(RequestOptions::new().with_timeout(Duration::from_millis(100)))
        .send()
        .await
        .unwrap_err();
    assert!(error.is_transport() && error.is_timeout(), "{error}");
}

#[tokio::test]
async fn a_refused_connection_is_a_connect_error() {
    // A port that was free a moment ago and has no listener now.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = Client::builder()
        .base_url(&format!("http://127.0.0.1:{port}/v1.0"))
        .build()
        .unwrap();
    let error = client
        .entity::<serde_json::Value>("me")
        .send()
        .await
        .unwrap_err();
    assert!(error.is_connect(), "{error}");
    assert!(
        !error.to_string().contains("/v1.0/me"),
        "no URL in the error: {error}"
    );
}

#[tokio::test]
async fn reqwest_itself_never_follows_redirects() {
    let server = MockServer::start().await;
    Mock::given(path("/v1.0/a"))
        .respond_with(ResponseTemplate::new(302).insert_header("location", "/v1.0/b"))
        .mount(&server)
        .await;
    let error = client(&server)
        .entity::<serde_json::Value>("a")
        .with_options(RequestOptions::new().with_redirect(RedirectOptions::new().max_redirects(0)))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(302), "{error}");
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}
