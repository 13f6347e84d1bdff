//! One user-configured HTTP client (proxy, TLS roots, timeouts, default headers) carries both
//! the token traffic (msgraph-typed-auth) and the Graph traffic (msgraph-typed-core).

use http::{HeaderMap, HeaderValue};
use msgraph_typed_auth::{ClientAuthentication, ClientSecretCredential, Cloud, CredentialOptions};
use msgraph_typed_core::Client;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const MARKER: &str = "x-shared-http-client";

#[tokio::test]
async fn the_callers_reqwest_client_carries_token_and_graph_requests() {
    let server = MockServer::start().await;
    // Both endpoints answer only requests that came through the caller's client (its default
    // header); anything else gets wiremock's 404 and the test fails.
    Mock::given(method("POST"))
        .and(path("/tenant-a/oauth2/v2.0/token"))
        .and(header(MARKER, "yes"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "token_type": "Bearer",
            "expires_in": 3600,
            "ext_expires_in": 3600,
            "access_token": "token-from-the-shared-client"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/organization"))
        .and(header(MARKER, "yes"))
        .and(header(
            "authorization",
            "Bearer token-from-the-shared-client",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"value": []})))
        .expect(1)
        .mount(&server)
        .await;

    let mut headers = HeaderMap::new();
    headers.insert(MARKER, HeaderValue::from_static("yes"));
    let shared =
        msgraph_typed_auth::HttpClient::with_config(|builder| builder.default_headers(headers))
            .unwrap();

    let cloud = Cloud::custom(&server.uri(), &server.uri()).unwrap();
    let credential = ClientSecretCredential::with_options(
        "tenant-a",
        "client-a",
        ClientAuthentication::secret("secret-a"),
        CredentialOptions::default()
            .with_cloud(cloud)
            .with_http_client(shared.clone()),
    )
    .unwrap();
    let client = Client::builder()
        .credential(credential)
        .base_url(&format!("{}/v1.0", server.uri()))
        .scopes(["https://graph.microsoft.com/.default"])
        .http_client(shared)
        .build()
        .unwrap();

    let answer: serde_json::Value = client
        .request(http::Method::GET, "organization")
        .send()
        .await
        .unwrap();
    assert_eq!(answer["value"], serde_json::json!([]));
    // `expect(1)` on both mocks is verified when the server drops: one token request and one
    // Graph request, both through the shared client.
}
