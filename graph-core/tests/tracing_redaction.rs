//! A full flow at TRACE level (token, 401 + refresh, throttling, redirect, paging) leaves no
//! token and no id or UPN in the logs, and the span carries its fields (method, URL template, status, retries, request-id).

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use futures::TryStreamExt;
use msgraph_typed_auth::{AccessToken, StaticTokenCredential};
use msgraph_typed_core::mock::{MockResponse, MockTransport};
use msgraph_typed_core::{Client, RetryOptions};
use serde_json::json;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const TOKEN: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.secret-payload.signature";
const UPN: &str = "adele.vance@contoso.com";

#[tokio::test]
async fn trace_output_has_templates_and_outcomes_but_no_token_or_personal_data() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let mock = MockTransport::new();
    let user_path = format!("/v1.0/users/{UPN}");
    mock.on_path(&user_path)
        .respond(MockResponse::status(401))
        .times(1);
    mock.on_path(&user_path)
        .respond(MockResponse::status(429).header("Retry-After", "0"))
        .times(1);
    mock.on_path(&user_path)
        .respond(MockResponse::status(302).header(
            "Location",
            "/v1.0/users/48d31887-5fad-4d73-a9f5-3c356e68a038",
        ));
    mock.on_path("/v1.0/users/48d31887-5fad-4d73-a9f5-3c356e68a038")
        .respond(
            MockResponse::json(200, json!({"id": "48d31887-5fad-4d73-a9f5-3c356e68a038"}))
                .header("request-id", "rid-123")
                .header("Sunset", "Sat, 31 Dec 2039 23:59:59 GMT"),
        );
    mock.serve_pages(
        "/v1.0/users",
        (0..3).map(|i| json!({"id": format!("u{i}")})).collect(),
        2,
    );
    let client = Client::builder()
        .transport(mock.clone())
        .credential(StaticTokenCredential::new(AccessToken::new(
            TOKEN,
            SystemTime::now() + Duration::from_secs(3600),
        )))
        .retry(RetryOptions::new().jitter(false))
        .build()
        .unwrap();
    let user: serde_json::Value = client
        .entity(format!(
            "users/{}",
            msgraph_typed_core::path::encode_segment(UPN)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(user["id"], "48d31887-5fad-4d73-a9f5-3c356e68a038");
    let users: Vec<serde_json::Value> = client
        .collection("users")
        .filter(format!("mail eq '{UPN}'"))
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(users.len(), 3);
    // The token really was sent.
    assert!(
        mock.calls()[0]
            .header("authorization")
            .unwrap()
            .ends_with(TOKEN)
    );

    let output = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(!output.contains("eyJ"), "a token leaked:\n{output}");
    assert!(
        !output.contains("secret-payload"),
        "a token leaked:\n{output}"
    );
    assert!(!output.contains("adele"), "a UPN leaked:\n{output}");
    assert!(!output.contains("48d31887"), "an id leaked:\n{output}");
    assert!(output.contains("url.template=/v1.0/users/{id}"), "{output}");
    assert!(output.contains("http.status=200"), "{output}");
    assert!(output.contains("retries=1"), "{output}");
    assert!(output.contains("request_id=\"rid-123\""), "{output}");
    assert!(output.contains("redirects=1"), "{output}");
    assert!(output.contains("Sunset"), "{output}");
}
