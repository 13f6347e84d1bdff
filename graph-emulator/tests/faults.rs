//! Fault injection from the control handle: every kind, matching, and counters.

mod identity_support;

use std::time::{Duration, Instant};

use base64::Engine;
use identity_support::{GRAPH_DEFAULT, client_credentials, http, start, token};
use msgraph_typed_emulator::{Fault, RetryAfter, seeded};

async fn get_users(emu: &msgraph_typed_emulator::Emulator, token: &str) -> reqwest::Response {
    http()
        .get(format!("{}/users", emu.graph_url()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn throttling_with_each_retry_after_form_then_normal_service() {
    let emu = start().await;
    let token = client_credentials(&emu).await;
    let control = emu.control();
    control.inject(
        Fault::status(429)
            .retry_after(RetryAfter::Seconds(1))
            .times(2)
            .matching("/v1.0/users"),
    );
    control.inject(
        Fault::status(503)
            .retry_after(RetryAfter::DecimalSeconds(2.128))
            .matching("/v1.0/users"),
    );
    control.inject(
        Fault::status(504)
            .retry_after(RetryAfter::HttpDateIn(Duration::from_secs(30)))
            .matching("/v1.0/users"),
    );

    for _ in 0..2 {
        let response = get_users(&emu, &token).await;
        assert_eq!(response.status(), 429);
        assert_eq!(response.headers()["retry-after"], "1");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "TooManyRequests", "{body}");
        assert_eq!(body["error"]["innerError"]["status"], "429", "{body}");
    }
    let response = get_users(&emu, &token).await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "2.128");
    let response = get_users(&emu, &token).await;
    assert_eq!(response.status(), 504);
    let date = httpdate::parse_http_date(response.headers()["retry-after"].to_str().unwrap())
        .expect("an HTTP-date");
    assert!(date > std::time::SystemTime::now());

    assert_eq!(get_users(&emu, &token).await.status(), 200);
    assert!(control.pending_faults().is_empty());
    assert_eq!(control.requests_to("/v1.0/users"), 5);
    assert_eq!(control.graph_requests(), 5);
}

#[tokio::test]
async fn matching_by_path_and_method() {
    let emu = start().await;
    let token = client_credentials(&emu).await;
    let control = emu.control();
    control.inject(Fault::status(503).matching("/v1.0/groups"));
    control.inject(Fault::status(429).method("POST").matching("/v1.0/users"));
    assert_eq!(
        get_users(&emu, &token).await.status(),
        200,
        "neither fault matches GET /v1.0/users"
    );
    assert_eq!(control.pending_faults().len(), 2);
    control.clear_faults();
    assert!(control.pending_faults().is_empty());
}

#[tokio::test]
async fn unauthorized_although_the_token_is_valid() {
    let emu = start().await;
    let token = client_credentials(&emu).await;
    emu.control().inject(Fault::unauthorized());
    let response = get_users(&emu, &token).await;
    assert_eq!(response.status(), 401);
    assert!(
        response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer ")
    );
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "InvalidAuthenticationToken");
    assert_eq!(get_users(&emu, &token).await.status(), 200);
}

#[tokio::test]
async fn claims_challenge_carries_base64_claims() {
    let emu = start().await;
    let token = client_credentials(&emu).await;
    emu.control().inject(Fault::claims_challenge());
    let response = get_users(&emu, &token).await;
    assert_eq!(response.status(), 401);
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(challenge.starts_with("Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\", error=\"insufficient_claims\", claims=\""), "{challenge}");
    let encoded = challenge
        .rsplit("claims=\"")
        .next()
        .unwrap()
        .trim_end_matches('"');
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["access_token"]["nbf"]["essential"], true);
    assert!(claims["access_token"]["nbf"]["value"].is_string());
}

#[tokio::test]
async fn delay_postpones_the_normal_answer() {
    let emu = start().await;
    let token = client_credentials(&emu).await;
    emu.control()
        .inject(Fault::delay(Duration::from_millis(600)));
    let started = Instant::now();
    assert_eq!(get_users(&emu, &token).await.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(600));
}

#[tokio::test]
async fn dropped_connection_gives_no_response() {
    let emu = start().await;
    let token = client_credentials(&emu).await;
    emu.control().inject(Fault::drop_connection());
    let error = http()
        .get(format!("{}/users", emu.graph_url()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap_err();
    assert!(error.status().is_none(), "{error:?}");
    assert!(
        error.is_request() || error.is_connect() || error.is_body(),
        "{error:?}"
    );
    assert_eq!(
        get_users(&emu, &token).await.status(),
        200,
        "the next request is served"
    );
}

#[tokio::test]
async fn truncated_body_fails_while_reading() {
    let emu = start().await;
    let token = client_credentials(&emu).await;
    emu.control().inject(Fault::truncated_body());
    let response = get_users(&emu, &token).await;
    assert_eq!(response.status(), 200);
    let declared: usize = response.headers()["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(declared > 0);
    assert!(
        response.bytes().await.is_err(),
        "the body ends before Content-Length"
    );
    assert_eq!(get_users(&emu, &token).await.status(), 200);
}

async fn cc_token_request(emu: &msgraph_typed_emulator::Emulator) -> reqwest::Response {
    http()
        .post(emu.token_endpoint())
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", seeded::DAEMON_CLIENT_ID),
            ("client_secret", seeded::DAEMON_CLIENT_SECRET),
            ("scope", GRAPH_DEFAULT),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn token_endpoint_faults() {
    let emu = start().await;
    let control = emu.control();
    control.inject(Fault::token_endpoint_server_error());
    control.inject(Fault::token_endpoint_throttled(RetryAfter::Seconds(7)));
    control.inject(Fault::token_endpoint_html(200));

    let response = cc_token_request(&emu).await;
    assert_eq!(response.status(), 500);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "server_error");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .starts_with("AADSTS")
    );

    let response = cc_token_request(&emu).await;
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "7");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");

    let response = cc_token_request(&emu).await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(response.text().await.unwrap().contains("<html"));

    let response = cc_token_request(&emu).await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(body["access_token"].is_string());

    assert_eq!(
        control.token_requests(),
        4,
        "faulted token requests are counted"
    );
    assert_eq!(control.token_requests_for_grant("client_credentials"), 4);
}

#[tokio::test]
async fn counters_count_per_path_and_grant_and_reset() {
    let emu = start().await;
    let control = emu.control();
    let token = client_credentials(&emu).await;
    let (status, _) = token_request_with_bad_grant(&emu).await;
    assert_eq!(status, 400);
    get_users(&emu, &token).await;
    get_users(&emu, &token).await;
    let counts = control.counts();
    assert_eq!(counts.token_requests, 2);
    assert_eq!(counts.by_grant_type["client_credentials"], 1);
    assert_eq!(counts.by_grant_type["password"], 1);
    assert_eq!(counts.graph_requests, 2);
    assert_eq!(counts.by_route["GET /v1.0/users"], 2);
    assert_eq!(
        control.requests_to(&format!("/{}/oauth2", emu.tenant_id())),
        2
    );
    control.reset_counters();
    assert_eq!(control.counts(), msgraph_typed_emulator::Counts::default());
}

async fn token_request_with_bad_grant(
    emu: &msgraph_typed_emulator::Emulator,
) -> (u16, serde_json::Value) {
    token(
        emu,
        &[
            ("grant_type", "password"),
            ("client_id", seeded::PUBLIC_CLIENT_ID),
        ],
    )
    .await
}
