//! Helpers for the wire-level tests: a mock token endpoint and request decoding.
#![allow(dead_code)]

use std::collections::HashMap;
use std::time::Duration;

use msgraph_typed_auth::{Cloud, CredentialOptions};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub const TENANT: &str = "contoso-tenant";
pub const GRAPH_DEFAULT: &str = "https://graph.microsoft.com/.default";

/// Options pointing at the mock server, with a short retry delay.
pub fn options(server: &MockServer) -> CredentialOptions {
    let cloud = Cloud::custom(&format!("{}/", server.uri()), "http://127.0.0.1:1/").unwrap();
    CredentialOptions::default()
        .with_cloud(cloud)
        .with_retry_delay(Duration::from_millis(50))
        .with_request_timeout(Duration::from_secs(2))
}

pub fn token_path() -> String {
    format!("/{TENANT}/oauth2/v2.0/token")
}

pub fn token_url(server: &MockServer) -> String {
    format!("{}{}", server.uri(), token_path())
}

pub fn token_body(access_token: &str, expires_in: u64) -> serde_json::Value {
    json!({"token_type": "Bearer", "access_token": access_token, "expires_in": expires_in, "ext_expires_in": expires_in})
}

/// Mounts a token endpoint answering `body` with 200.
pub async fn mount_token(server: &MockServer, body: serde_json::Value) {
    Mock::given(method("POST"))
        .and(path(token_path()))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(server)
        .await;
}

/// The form fields of a request body.
pub fn form(request: &wiremock::Request) -> HashMap<String, String> {
    url::form_urlencoded::parse(&request.body)
        .into_owned()
        .collect()
}

pub fn header<'a>(request: &'a wiremock::Request, name: &str) -> Option<&'a str> {
    request.headers.get(name).and_then(|v| v.to_str().ok())
}

/// Checks the headers every token request carries.
pub fn assert_library_headers(request: &wiremock::Request) {
    let id = header(request, "client-request-id").expect("client-request-id");
    assert!(
        uuid::Uuid::parse_str(id).is_ok(),
        "client-request-id is a GUID: {id}"
    );
    assert_eq!(header(request, "return-client-request-id"), Some("true"));
    assert_eq!(
        header(request, "x-client-SKU"),
        Some(msgraph_typed_auth::LIBRARY_SKU)
    );
    assert_eq!(
        header(request, "x-client-VER"),
        Some(msgraph_typed_auth::LIBRARY_VERSION)
    );
    assert_eq!(
        header(request, "content-type"),
        Some("application/x-www-form-urlencoded")
    );
}

pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// Decodes a JWT's header and claims without verifying it.
pub fn jwt_parts(jwt: &str) -> (serde_json::Value, serde_json::Value) {
    use base64::Engine;
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3, "a JWS compact serialization");
    let decode = |p: &str| -> serde_json::Value {
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p)
                .unwrap(),
        )
        .unwrap()
    };
    (decode(parts[0]), decode(parts[1]))
}
