//! The SDK against hostile or failing servers on loopback, one test per class of fault:
//! credentials following a redirect, retries sooner than the server allows, unbounded bodies,
//! dropped connections, and one token failure turning into many failed calls. Each test states
//! the requests it expects (Graph requests, token requests). The same classes are covered
//! closer to the code by the unit tests of msgraph-typed-core's retry, redirect and paging stages and
//! msgraph-typed-auth's token manager, and by msgraph-typed-auth's `hardening` suite (every credential).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use msgraph_typed_auth::{
    AccessToken, ClientAuthentication, ClientSecretCredential, Cloud, CredentialOptions,
    HttpClient, ManagerOptions, StaticTokenCredential,
};
use msgraph_typed_core::{Client, RedirectOptions, RequestOptions};
use msgraph_typed_emulator::{Emulator, Fault, RetryAfter, seeded};
use serde::Deserialize;
use tests::downgrade_server::DowngradeServer;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct User {
    id: String,
}

fn static_token(secret: &str) -> StaticTokenCredential {
    StaticTokenCredential::new(AccessToken::new(
        secret,
        SystemTime::now() + Duration::from_secs(3600),
    ))
}

/// A caller's HTTP configuration that asks for redirects to be followed (the SDK overrides it).
fn redirect_following_config() -> HttpClient {
    HttpClient::with_config(|b| b.redirect(reqwest::redirect::Policy::limited(10))).unwrap()
}

#[tokio::test]
async fn authorization_never_reaches_another_origin_whatever_the_http_configuration() {
    let graph = MockServer::start().await;
    let other = MockServer::start().await;
    // Same origin (kept), another port (dropped), another host name on the same port (dropped).
    Mock::given(path("/v1.0/same"))
        .respond_with(ResponseTemplate::new(307).insert_header("Location", "/v1.0/landing"))
        .mount(&graph)
        .await;
    Mock::given(path("/v1.0/port"))
        .respond_with(
            ResponseTemplate::new(308)
                .insert_header("Location", format!("{}/v1.0/landing", other.uri())),
        )
        .mount(&graph)
        .await;
    let localhost = graph.uri().replace("127.0.0.1", "localhost");
    Mock::given(path("/v1.0/host"))
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("Location", format!("{localhost}/v1.0/landing")),
        )
        .mount(&graph)
        .await;
    for server in [&graph, &other] {
        Mock::given(path("/v1.0/landing"))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(serde_json::json!({"value": []})),
            )
            .mount(server)
            .await;
    }
    for http in [None, Some(redirect_following_config())] {
        let mut builder = Client::builder()
            .base_url(&format!("{}/v1.0", graph.uri()))
            .credential(static_token("secret-token"));
        if let Some(http) = &http {
            builder = builder.http_client(http.clone());
        }
        let client = builder.build().unwrap();
        for route in ["same", "port", "host"] {
            let _: serde_json::Value = client
                .request(http::Method::GET, route)
                .send()
                .await
                .unwrap();
        }
    }
    let landed = |requests: Vec<wiremock::Request>| -> Vec<(String, Option<String>)> {
        requests
            .into_iter()
            .filter(|r| r.url.path() == "/v1.0/landing")
            .map(|r| {
                let host = r
                    .headers
                    .get("host")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                let auth = r
                    .headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                (host, auth)
            })
            .collect()
    };
    let on_graph = landed(graph.received_requests().await.unwrap());
    let on_other = landed(other.received_requests().await.unwrap());
    // Twice (default and caller's configuration): the same-origin hop keeps the token, the
    // host change loses it; the other port never sees it.
    assert_eq!(on_graph.len(), 4, "{on_graph:?}");
    for (host, auth) in &on_graph {
        if host.starts_with("127.0.0.1") {
            assert_eq!(auth.as_deref(), Some("Bearer secret-token"), "{on_graph:?}");
        } else {
            assert!(
                host.starts_with("localhost") && auth.is_none(),
                "{on_graph:?}"
            );
        }
    }
    assert_eq!(on_other.len(), 2, "{on_other:?}");
    assert!(
        on_other.iter().all(|(_, auth)| auth.is_none()),
        "{on_other:?}"
    );
    // The caller's client itself follows nothing: a 3xx reaches the SDK.
    let direct = redirect_following_config()
        .reqwest()
        .get(format!("{}/v1.0/port", graph.uri()))
        .send()
        .await
        .unwrap();
    assert_eq!(direct.status(), 308);
}

#[tokio::test]
async fn a_scheme_downgrade_on_the_same_host_and_port_is_refused_or_loses_the_token() {
    let server = DowngradeServer::start().await;
    let certificate = reqwest::Certificate::from_pem(server.certificate_pem().as_bytes()).unwrap();
    // The caller's configuration: trust the test certificate, and ask for redirects.
    let http = HttpClient::with_config(|b| {
        b.add_root_certificate(certificate)
            .redirect(reqwest::redirect::Policy::limited(10))
    })
    .unwrap();
    let client = Client::builder()
        .base_url(&format!("{}/v1.0", server.https_url()))
        .credential(static_token("secret-token"))
        .http_client(http)
        .build()
        .unwrap();
    // By default the downgrade is refused: one https request, nothing in clear text.
    let error = client
        .request::<serde_json::Value>(http::Method::GET, "users")
        .send()
        .await
        .unwrap_err();
    assert!(error.is_redirect(), "{error}");
    assert_eq!(server.tls_requests(), 1);
    assert!(server.plain_requests().is_empty());
    // Allowed explicitly, it is followed without the token.
    let answer: serde_json::Value = client
        .request(http::Method::GET, "users")
        .with_options(
            RequestOptions::new().with_redirect(RedirectOptions::new().allow_scheme_change(true)),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(answer["value"], serde_json::json!([]));
    let plain = server.plain_requests();
    assert_eq!(plain.len(), 1, "{plain:?}");
    assert_eq!(plain[0].request_line, "GET /landing HTTP/1.1");
    assert!(
        !plain[0].had_authorization,
        "the token went out in clear text"
    );
}

#[tokio::test]
async fn a_long_retry_after_comes_back_at_once_with_the_servers_delay() {
    let emu = Emulator::start().await.unwrap();
    let client = tests::core_support::client(
        &emu,
        Arc::new(tests::core_support::EmulatorCredential::new(&emu)),
    );
    let control = emu.control();
    control.inject(
        Fault::status(429)
            .retry_after(RetryAfter::Seconds(3600))
            .matching("/v1.0/users"),
    );
    control.inject(
        Fault::status(503)
            .retry_after(RetryAfter::HttpDateIn(Duration::from_secs(900)))
            .matching("/v1.0/users"),
    );
    control.reset_counters();
    for expected in [Duration::from_secs(3600), Duration::from_secs(900)] {
        let started = Instant::now();
        let error = client.collection::<User>("users").send().await.unwrap_err();
        assert!(error.is_throttled(), "{error}");
        let retry_after = error.retry_after().unwrap();
        // An HTTP-date has whole seconds: within a second or two of what was asked.
        assert!(
            retry_after <= expected && retry_after + Duration::from_secs(2) >= expected,
            "{retry_after:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(2), "it waited");
    }
    assert_eq!(
        control.requests_to("/v1.0/users"),
        2,
        "one request each, no early retry"
    );
}

#[tokio::test]
async fn an_oversized_page_is_a_typed_error_before_the_memory_is_spent() {
    let server = MockServer::start().await;
    let big = format!(
        r#"{{"value":[{{"id":"{}"}}]}}"#,
        "x".repeat(3 * 1024 * 1024)
    );
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(big, "application/json"))
        .mount(&server)
        .await;
    let client = Client::builder()
        .base_url(&format!("{}/v1.0", server.uri()))
        .max_response_bytes(1024 * 1024)
        .build()
        .unwrap();
    let error = client.collection::<User>("users").send().await.unwrap_err();
    assert!(error.is_response_too_large(), "{error}");
    assert_eq!(error.status(), Some(http::StatusCode::OK));
    assert!(error.to_string().contains("1048576"), "{error}");
    // A per-request limit can raise it.
    let page = client
        .collection::<User>("users")
        .with_options(RequestOptions::new().with_max_response_bytes(8 * 1024 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        2,
        "never retried"
    );
}

#[tokio::test]
async fn a_dropped_connection_is_retried_on_get_and_never_on_post() {
    let emu = Emulator::start().await.unwrap();
    let client = tests::core_support::client(
        &emu,
        Arc::new(tests::core_support::EmulatorCredential::new(&emu)),
    );
    let control = emu.control();
    let fast = RequestOptions::new()
        .with_retry(msgraph_typed_core::RetryOptions::new().base_delay(Duration::from_millis(50)));

    // GET: the connection closes before any response byte, once; the retry succeeds.
    control.inject(
        Fault::drop_connection()
            .times(1)
            .matching("/v1.0/users")
            .method("GET"),
    );
    control.reset_counters();
    let page = client
        .collection::<User>("users")
        .top(2)
        .with_options(fast.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(page.items.len(), 2);
    assert_eq!(
        control.requests_to("/v1.0/users"),
        2,
        "the dropped GET and its retry"
    );

    // POST: the same fault is a typed error; the POST is sent once.
    control.inject(
        Fault::drop_connection()
            .times(1)
            .matching("/v1.0/users")
            .method("POST"),
    );
    control.reset_counters();
    let error = client
        .request::<serde_json::Value>(http::Method::POST, "users")
        .json_body(
            &serde_json::json!({"displayName": "Dropped", "accountEnabled": true,
            "mailNickname": "dropped", "userPrincipalName": "dropped@contoso.example",
            "passwordProfile": {"password": "P@ssw0rd!"}}),
        )
        .with_options(fast.clone())
        .send()
        .await
        .unwrap_err();
    assert!(error.is_connection_lost(), "{error}");
    assert!(error.request_may_have_been_processed(), "{error}");
    assert_eq!(
        control.requests_to("/v1.0/users"),
        1,
        "a POST is never sent twice"
    );

    // A body cut short after the headers: typed, says the request was processed, not retried.
    control.inject(
        Fault::truncated_body()
            .times(1)
            .matching("/v1.0/users")
            .method("GET"),
    );
    control.reset_counters();
    let error = client
        .collection::<User>("users")
        .with_options(fast)
        .send()
        .await
        .unwrap_err();
    assert!(
        error.is_transport() && !error.is_connection_lost(),
        "{error}"
    );
    assert!(
        error.to_string().contains("the response had started"),
        "{error}"
    );
    assert_eq!(control.requests_to("/v1.0/users"), 1);
}

fn daemon(emu: &Emulator, options: CredentialOptions) -> ClientSecretCredential {
    ClientSecretCredential::with_options(
        emu.tenant_id(),
        seeded::DAEMON_CLIENT_ID,
        ClientAuthentication::secret(seeded::DAEMON_CLIENT_SECRET),
        options
            .with_cloud(Cloud::custom(&emu.authority_url(), &emu.graph_url()).unwrap())
            .with_retry_delay(Duration::from_millis(50)),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_401_and_a_failing_token_endpoint_fail_only_the_call_that_got_the_401() {
    let emu = Emulator::start().await.unwrap();
    let client = Client::builder()
        .base_url(&emu.graph_url())
        .scopes(["https://graph.microsoft.com/.default"])
        .credential(daemon(
            &emu,
            CredentialOptions::default()
                .with_manager_options(ManagerOptions::default().with_skew(Duration::from_secs(60))),
        ))
        .build()
        .unwrap();
    let control = emu.control();
    // Warm: one token request.
    client
        .collection::<User>("users")
        .top(1)
        .send()
        .await
        .unwrap();
    control.reset_counters();
    // One Graph request gets a 401 although its token is valid; the forced refresh it starts
    // meets a token endpoint that fails twice (the endpoint's one quick retry included).
    control.inject(Fault::unauthorized().times(1).matching("/v1.0/users"));
    control.inject(Fault::token_endpoint_server_error().times(2));
    let failed = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let client = client.clone();
            let failed = failed.clone();
            tokio::spawn(async move {
                for _ in 0..5 {
                    if client
                        .collection::<User>("users")
                        .top(1)
                        .send()
                        .await
                        .is_err()
                    {
                        failed.fetch_add(1, Ordering::SeqCst);
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    // 250 calls: only the one that got the 401 fails (its forced refresh failed); the other
    // 249 keep the still-valid cached token. Token requests: the two failed ones.
    assert_eq!(failed.load(Ordering::SeqCst), 1);
    assert_eq!(control.token_requests(), 2);
    assert_eq!(control.requests_to("/v1.0/users"), 250);
}
