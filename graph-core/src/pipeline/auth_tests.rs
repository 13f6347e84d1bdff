//! Compiled only for tests: `pipeline/auth.rs` includes this file under #[cfg(test)].

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use http::HeaderValue;
use msgraph_typed_auth::{AccessToken, AuthError, TokenCredential, TokenRequest};
use parking_lot::Mutex;

use super::*;
use crate::RequestOptions;
use crate::clock::TestClock;
use crate::mock::{MockResponse, MockTransport};
use crate::pipeline::Pipeline;
use crate::pipeline::testing::{config, get};

/// Hands out `token-1`, `token-2`, ... and records every request.
#[derive(Debug, Default)]
struct CountingCredential {
    requests: Mutex<Vec<TokenRequest>>,
    lifetime: Option<Duration>,
    now: Option<SystemTime>,
}

impl CountingCredential {
    fn requests(&self) -> Vec<TokenRequest> {
        self.requests.lock().clone()
    }
}

#[async_trait]
impl TokenCredential for CountingCredential {
    async fn get_token(&self, request: &TokenRequest) -> Result<AccessToken, AuthError> {
        let mut requests = self.requests.lock();
        requests.push(request.clone());
        let now = self.now.unwrap_or_else(SystemTime::now);
        let lifetime = self.lifetime.unwrap_or(Duration::from_secs(3600));
        Ok(AccessToken::new(
            format!("token-{}", requests.len()),
            now + lifetime,
        ))
    }
}

#[derive(Debug)]
struct FailingCredential;

#[async_trait]
impl TokenCredential for FailingCredential {
    async fn get_token(&self, _request: &TokenRequest) -> Result<AccessToken, AuthError> {
        Err(AuthError::Configuration("no secret configured".into()))
    }
}

fn pipeline_with(
    mock: &MockTransport,
    credential: Arc<dyn TokenCredential>,
    cae: bool,
    hosts: &[&str],
) -> Pipeline {
    let clock = TestClock::new();
    let mut config = config(mock, &clock);
    config.credential = Some(credential);
    config.cae = cae;
    config.hosts = Arc::new(AllowedHosts::new(hosts));
    Pipeline::new(config)
}

#[tokio::test]
async fn attaches_a_token_for_the_default_scope_before_every_attempt() {
    let mock = MockTransport::new();
    mock.on_any().respond(MockResponse::status(503)).times(1);
    mock.on_any().respond(MockResponse::status(200));
    let credential = Arc::new(CountingCredential::default());
    let pipeline = pipeline_with(&mock, credential.clone(), false, &["graph.microsoft.com"]);
    let options = RequestOptions::new().with_retry(crate::RetryOptions::new().jitter(false));
    pipeline
        .send(get("https://graph.microsoft.com/v1.0/me"), &options)
        .await
        .unwrap();
    let requests = credential.requests();
    assert_eq!(requests.len(), 2, "one token request per attempt");
    assert_eq!(
        requests[0].scopes,
        vec!["https://graph.microsoft.com/.default"]
    );
    assert!(!requests[0].force_refresh);
    let calls = mock.calls();
    assert_eq!(calls[0].header("authorization"), Some("Bearer token-1"));
    assert_eq!(calls[1].header("authorization"), Some("Bearer token-2"));
}

#[tokio::test]
async fn configured_scopes_win_and_per_request_scopes_win_over_them() {
    let mock = MockTransport::new();
    mock.on_any().respond(MockResponse::status(200));
    let credential = Arc::new(CountingCredential::default());
    let clock = TestClock::default();
    let mut config = config(&mock, &clock);
    config.credential = Some(credential.clone());
    config.scopes = vec!["api://custom/.default".into()];
    let pipeline = Pipeline::new(config);
    pipeline
        .send(
            get("https://graph.microsoft.com/v1.0/me"),
            &RequestOptions::new(),
        )
        .await
        .unwrap();
    pipeline
        .send(
            get("https://graph.microsoft.com/v1.0/me"),
            &RequestOptions::new().with_scopes(["User.Read"]),
        )
        .await
        .unwrap();
    let requests = credential.requests();
    assert_eq!(requests[0].scopes, vec!["api://custom/.default"]);
    assert_eq!(requests[1].scopes, vec!["User.Read"]);
}

#[tokio::test]
async fn no_token_for_foreign_hosts_plain_http_or_an_empty_allow_list() {
    let mock = MockTransport::new();
    mock.on_any().respond(MockResponse::status(200));
    let credential = Arc::new(CountingCredential::default());
    let pipeline = pipeline_with(
        &mock,
        credential.clone(),
        false,
        &["graph.microsoft.com", "graph.example.com"],
    );
    for url in [
        "https://evil.example.com/v1.0/me",
        "http://graph.example.com/v1.0/me",
        "https://graph.microsoft.com:8443/v1.0/me",
    ] {
        pipeline
            .send(get(url), &RequestOptions::new())
            .await
            .unwrap();
    }
    let empty = pipeline_with(&mock, credential.clone(), false, &[]);
    empty
        .send(
            get("https://graph.microsoft.com/v1.0/me"),
            &RequestOptions::new(),
        )
        .await
        .unwrap();
    assert!(
        mock.calls()
            .iter()
            .all(|c| c.header("authorization").is_none())
    );
    assert!(
        credential.requests().is_empty(),
        "no token was even requested"
    );
}

#[tokio::test]
async fn loopback_http_gets_a_token_for_the_clients_scope_not_the_hosts() {
    let mock = MockTransport::new();
    mock.on_any().respond(MockResponse::status(200));
    let credential = Arc::new(CountingCredential::default());
    let pipeline = pipeline_with(&mock, credential.clone(), false, &["127.0.0.1:8080"]);
    pipeline
        .send(get("http://127.0.0.1:8080/v1.0/me"), &RequestOptions::new())
        .await
        .unwrap();
    assert_eq!(
        mock.calls()[0].header("authorization"),
        Some("Bearer token-1")
    );
    // The scope belongs to the cloud (here the default, Microsoft Graph's), never to the URL.
    assert_eq!(
        credential.requests()[0].scopes,
        vec!["https://graph.microsoft.com/.default"]
    );
}

#[tokio::test]
async fn never_overwrites_the_callers_authorization() {
    let mock = MockTransport::new();
    mock.on_any().respond(MockResponse::status(401));
    let credential = Arc::new(CountingCredential::default());
    let pipeline = pipeline_with(&mock, credential.clone(), false, &["graph.microsoft.com"]);
    let mut request = get("https://graph.microsoft.com/v1.0/me");
    request
        .headers
        .insert(AUTHORIZATION, HeaderValue::from_static("Bearer mine"));
    let response = pipeline
        .send(request, &RequestOptions::new())
        .await
        .unwrap();
    assert_eq!(response.status, 401);
    assert_eq!(mock.calls().len(), 1);
    assert_eq!(mock.calls()[0].header("authorization"), Some("Bearer mine"));
    assert!(credential.requests().is_empty());
}

#[tokio::test]
async fn one_forced_refresh_and_one_retry_on_401_then_success() {
    let mock = MockTransport::new();
    mock.on_any().respond(MockResponse::status(401)).times(1);
    mock.on_any().respond(MockResponse::status(200));
    let credential = Arc::new(CountingCredential::default());
    let pipeline = pipeline_with(&mock, credential.clone(), false, &["graph.microsoft.com"]);
    let response = pipeline
        .send(
            get("https://graph.microsoft.com/v1.0/me"),
            &RequestOptions::new(),
        )
        .await
        .unwrap();
    assert_eq!(response.status, 200);
    let requests = credential.requests();
    assert_eq!(requests.len(), 2);
    assert!(
        requests[1].force_refresh,
        "the still-valid token is bypassed in the cache"
    );
    assert_eq!(
        mock.calls()[1].header("authorization"),
        Some("Bearer token-2")
    );
}

#[tokio::test]
async fn a_second_401_is_returned_without_a_loop() {
    let mock = MockTransport::new();
    mock.on_any().respond(
        MockResponse::json(
            401,
            serde_json::json!({"error": {"code": "InvalidAuthenticationToken", "message": "Access token validation failure."}}),
        )
        .header("request-id", "req-401"),
    );
    let credential = Arc::new(CountingCredential::default());
    let pipeline = pipeline_with(&mock, credential.clone(), false, &["graph.microsoft.com"]);
    let response = pipeline
        .send(
            get("https://graph.microsoft.com/v1.0/me"),
            &RequestOptions::new(),
        )
        .await
        .unwrap();
    assert_eq!(response.status, 401);
    assert_eq!(mock.calls().len(), 2, "the first try and exactly one retry");
    assert_eq!(credential.requests().len(), 2, "exactly one refresh");
    let error = crate::request::check_status(response).unwrap_err();
    assert!(error.is_unauthorized());
    assert_eq!(error.request_id(), Some("req-401"));
}

#[tokio::test]
async fn an_expired_token_is_replaced_without_forcing() {
    let mock = MockTransport::new();
    mock.on_any().respond(MockResponse::status(401)).times(1);
    mock.on_any().respond(MockResponse::status(200));
    let credential = Arc::new(CountingCredential {
        lifetime: Some(Duration::from_secs(1)),
        now: Some(SystemTime::now() - Duration::from_secs(60)),
        ..Default::default()
    });
    let pipeline = pipeline_with(&mock, credential.clone(), false, &["graph.microsoft.com"]);
    pipeline
        .send(
            get("https://graph.microsoft.com/v1.0/me"),
            &RequestOptions::new(),
        )
        .await
        .unwrap();
    let requests = credential.requests();
    assert_eq!(requests.len(), 2);
    assert!(!requests[1].force_refresh);
}

const CLAIMS: &str = r#"{"access_token":{"nbf":{"essential":true,"value":"1604106651"}}}"#;

fn challenge(status: u16) -> MockResponse {
    let encoded = base64::engine::general_purpose::STANDARD.encode(CLAIMS);
    MockResponse::status(status).header(
        "WWW-Authenticate",
        &format!(
            r#"Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000", error="insufficient_claims", claims="{encoded}""#
        ),
    )
}

#[test]
fn parses_the_claims_challenge() {
    let response = challenge(401).into_response();
    assert_eq!(
        claims_challenge(response.status, &response.headers).as_deref(),
        Some(CLAIMS)
    );
    let response = challenge(403).into_response();
    assert!(claims_challenge(response.status, &response.headers).is_some());
    let plain = MockResponse::status(401)
        .header("WWW-Authenticate", r#"Bearer error="invalid_token""#)
        .into_response();
    assert_eq!(claims_challenge(plain.status, &plain.headers), None);
}

#[tokio::test]
async fn cae_challenge_is_answered_once_with_the_claims() {
    let mock = MockTransport::new();
    mock.on_any().respond(challenge(401)).times(1);
    mock.on_any().respond(MockResponse::status(200));
    let credential = Arc::new(CountingCredential::default());
    let pipeline = pipeline_with(&mock, credential.clone(), true, &["graph.microsoft.com"]);
    let response = pipeline
        .send(
            get("https://graph.microsoft.com/v1.0/me"),
            &RequestOptions::new(),
        )
        .await
        .unwrap();
    assert_eq!(response.status, 200);
    let requests = credential.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[1].claims.as_deref(), Some(CLAIMS));
    assert!(requests[1].force_refresh);
}

#[tokio::test]
async fn cae_challenge_twice_or_with_cae_off_surfaces_as_an_error() {
    let mock = MockTransport::new();
    mock.on_any().respond(challenge(401));
    let credential = Arc::new(CountingCredential::default());
    let pipeline = pipeline_with(&mock, credential.clone(), true, &["graph.microsoft.com"]);
    let response = pipeline
        .send(
            get("https://graph.microsoft.com/v1.0/me"),
            &RequestOptions::new(),
        )
        .await
        .unwrap();
    assert_eq!(mock.calls().len(), 2, "answered once, not in a loop");
    let error = crate::request::check_status(response).unwrap_err();
    assert_eq!(error.claims_challenge().as_deref(), Some(CLAIMS));

    let off = pipeline_with(&mock, credential.clone(), false, &["graph.microsoft.com"]);
    mock.clear_calls();
    let response = off
        .send(
            get("https://graph.microsoft.com/v1.0/me"),
            &RequestOptions::new(),
        )
        .await
        .unwrap();
    assert_eq!(response.status, 401);
    assert_eq!(mock.calls().len(), 1, "CAE off: no second try");
}

#[tokio::test]
async fn a_credential_failure_is_an_auth_error_and_nothing_is_sent() {
    let mock = MockTransport::new();
    mock.on_any().respond(MockResponse::status(200));
    let pipeline = pipeline_with(
        &mock,
        Arc::new(FailingCredential),
        false,
        &["graph.microsoft.com"],
    );
    let error = pipeline
        .send(
            get("https://graph.microsoft.com/v1.0/me"),
            &RequestOptions::new(),
        )
        .await
        .unwrap_err();
    assert!(error.is_auth(), "{error}");
    assert!(error.to_string().contains("no secret configured"));
    assert!(mock.calls().is_empty());
}

#[test]
fn allow_list_matches_host_and_port() {
    let hosts = AllowedHosts::new([
        "Graph.Microsoft.com",
        "https://127.0.0.1:9000/",
        "example.com:443",
    ]);
    let allows = |u: &str| hosts.allows(&Url::parse(u).unwrap());
    assert!(allows("https://graph.microsoft.com/v1.0"));
    assert!(allows("https://GRAPH.microsoft.com:443/v1.0"));
    assert!(allows("http://127.0.0.1:9000/v1.0"));
    assert!(allows("https://example.com/x"));
    assert!(!allows("http://127.0.0.1:9001/v1.0"));
    assert!(!allows("https://graph.microsoft.com.evil.com/"));
}
