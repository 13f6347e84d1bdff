//! msgraph-typed-core's pipeline against the emulator: throttling with every Retry-After form, 401
//! storms, CAE challenges, and Authorization never leaking across hosts on redirects.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::join_all;
use msgraph_typed_core::{RequestOptions, RetryOptions, ThrottleMode};
use msgraph_typed_emulator::{Emulator, Fault, RetryAfter};
use serde::Deserialize;
use tests::core_support::{EmulatorCredential, GRAPH_SCOPE, client};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[derive(Debug, Deserialize)]
struct User {
    id: String,
}

#[tokio::test]
async fn throttling_with_each_retry_after_form_is_waited_out() {
    let emu = Emulator::builder().start().await.unwrap();
    let client = client(&emu, Arc::new(EmulatorCredential::new(&emu)));
    let control = emu.control();
    control.inject(
        Fault::status(429)
            .retry_after(RetryAfter::Seconds(1))
            .matching("/v1.0/users"),
    );
    control.inject(
        Fault::status(503)
            .retry_after(RetryAfter::DecimalSeconds(0.5))
            .matching("/v1.0/users"),
    );
    control.inject(
        Fault::status(504)
            .retry_after(RetryAfter::HttpDateIn(Duration::from_secs(2)))
            .matching("/v1.0/users"),
    );
    control.reset_counters();

    let started = Instant::now();
    let page = client
        .collection::<User>("users")
        .top(3)
        .send()
        .await
        .unwrap();
    let waited = started.elapsed();
    assert_eq!(page.items.len(), 3);
    assert_eq!(
        control.requests_to("/v1.0/users"),
        4,
        "three throttled answers, one success"
    );
    // 1 s + 0.5 s + an HTTP-date about 1-2 s ahead (second resolution).
    assert!(waited >= Duration::from_millis(2400), "{waited:?}");
    assert!(waited < Duration::from_secs(10), "{waited:?}");
}

#[tokio::test]
async fn throttled_mode_hands_back_the_retry_after_without_waiting() {
    let emu = Emulator::builder().start().await.unwrap();
    let client = client(&emu, Arc::new(EmulatorCredential::new(&emu)));
    emu.control().inject(
        Fault::status(429)
            .retry_after(RetryAfter::DecimalSeconds(30.128))
            .matching("/v1.0/users"),
    );
    emu.control().reset_counters();
    let started = Instant::now();
    let error = client
        .collection::<User>("users")
        .with_options(
            RequestOptions::new()
                .with_retry(RetryOptions::new().throttle_mode(ThrottleMode::ReturnError)),
        )
        .send()
        .await
        .unwrap_err();
    // A Retry-After far longer than the request: not waiting is visible even on a loaded
    // CI machine, where the token fetch and the request alone may take a second or more.
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(20), "{elapsed:?}");
    assert!(error.is_throttled(), "{error}");
    assert_eq!(error.retry_after(), Some(Duration::from_millis(30128)));
    assert!(error.request_id().is_some(), "{error}");
    assert_eq!(emu.control().requests_to("/v1.0/users"), 1);
}

#[tokio::test]
async fn a_storm_of_401s_costs_one_refresh_each_and_never_loops() {
    let emu = Emulator::builder().start().await.unwrap();
    let credential = Arc::new(EmulatorCredential::new(&emu));
    let client = client(&emu, credential.clone());
    let control = emu.control();
    // Warm the credential's cache.
    client
        .entity::<User>("users/AdeleV@contoso.com")
        .send()
        .await
        .unwrap();

    // One 401 per request: each costs one forced refresh and one retry, then succeeds.
    let before = credential.log();
    control.reset_counters();
    for _ in 0..5 {
        control.inject(Fault::unauthorized().matching("/v1.0/users"));
        client
            .collection::<User>("users")
            .top(1)
            .send()
            .await
            .unwrap();
    }
    let after = credential.log();
    assert_eq!(after.forced - before.forced, 5);
    assert_eq!(after.fetched - before.fetched, 5);
    assert_eq!(control.requests_to("/v1.0/users"), 10);
    assert_eq!(control.token_requests_for_grant("client_credentials"), 5);

    // A storm: 10 concurrent requests meet 20 401s. Each makes exactly two attempts and one
    // refresh, and ends with a typed error carrying the request-id.
    control.inject(Fault::unauthorized().times(20).matching("/v1.0/users"));
    control.reset_counters();
    let before = credential.log();
    let results = join_all((0..10).map(|_| client.collection::<User>("users").top(1).send())).await;
    for result in &results {
        let error = result.as_ref().unwrap_err();
        assert!(error.is_unauthorized(), "{error}");
        assert!(error.request_id().is_some(), "{error}");
        assert!(error.to_string().contains("401"), "{error}");
    }
    assert_eq!(
        control.requests_to("/v1.0/users"),
        20,
        "no loop: two attempts each"
    );
    assert_eq!(
        credential.log().forced - before.forced,
        10,
        "one refresh per request"
    );
    assert!(control.pending_faults().is_empty());

    // The storm is over: the next request goes through at once.
    control.reset_counters();
    client
        .collection::<User>("users")
        .top(1)
        .send()
        .await
        .unwrap();
    assert_eq!(control.requests_to("/v1.0/users"), 1);
}

#[tokio::test]
async fn a_cae_claims_challenge_is_answered_once_when_enabled() {
    let emu = Emulator::builder().start().await.unwrap();
    let credential = Arc::new(EmulatorCredential::new(&emu));
    let cae_client = msgraph_typed_core::Client::builder()
        .base_url(&emu.graph_url())
        .credential(credential.clone())
        .scopes([GRAPH_SCOPE])
        .cae(true)
        .build()
        .unwrap();
    let control = emu.control();
    control.inject(Fault::claims_challenge().matching("/v1.0/users"));
    control.reset_counters();
    let page = cae_client
        .collection::<User>("users")
        .top(1)
        .send()
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(control.requests_to("/v1.0/users"), 2);
    let log = credential.log();
    assert_eq!(log.claims.len(), 1, "{log:?}");
    let claims: serde_json::Value = serde_json::from_str(&log.claims[0]).unwrap();
    assert!(
        claims.get("access_token").is_some(),
        "decoded claims JSON: {claims}"
    );

    // Two challenges in a row: answered once, then the second one is the caller's error.
    control.inject(Fault::claims_challenge().times(2).matching("/v1.0/users"));
    control.reset_counters();
    let error = cae_client
        .collection::<User>("users")
        .send()
        .await
        .unwrap_err();
    assert!(error.is_claims_challenge(), "{error}");
    assert_eq!(control.requests_to("/v1.0/users"), 2);

    // CAE off (the default): the challenge is returned at once with its claims.
    let plain = client(&emu, credential.clone());
    control.inject(Fault::claims_challenge().matching("/v1.0/users"));
    control.reset_counters();
    let error = plain.collection::<User>("users").send().await.unwrap_err();
    assert!(error.claims_challenge().is_some(), "{error}");
    assert_eq!(control.requests_to("/v1.0/users"), 1);
}

#[tokio::test]
async fn a_cross_host_redirect_strips_authorization() {
    let emu = Emulator::builder().start().await.unwrap();
    let graph = MockServer::start().await;
    let other = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1.0/me/photo/$value"))
        .respond_with(ResponseTemplate::new(302).insert_header(
            "Location",
            format!("{}/blob/photo.json", other.uri()).as_str(),
        ))
        .mount(&graph)
        .await;
    Mock::given(method("GET"))
        .and(path("/blob/photo.json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"id": "photo"})))
        .mount(&other)
        .await;
    let client = msgraph_typed_core::Client::builder()
        .base_url(&format!("{}/v1.0", graph.uri()))
        .credential(Arc::new(EmulatorCredential::new(&emu)))
        .scopes([GRAPH_SCOPE])
        .build()
        .unwrap();
    let photo: User = client.entity("me/photo/$value").send().await.unwrap();
    assert_eq!(photo.id, "photo");
    let first = &graph.received_requests().await.unwrap()[0];
    assert!(
        first.headers.get("authorization").is_some(),
        "the Graph host got the token"
    );
    let redirected = other.received_requests().await.unwrap();
    assert_eq!(redirected.len(), 1);
    assert!(
        redirected[0].headers.get("authorization").is_none(),
        "the token did not follow"
    );
}
