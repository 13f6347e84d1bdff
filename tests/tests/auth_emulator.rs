//! msgraph-typed-auth end to end against the project's emulator (an independent Entra ID + Graph
//! implementation): every credential, short-lived tokens, single flight on a cold key, OBO
//! isolation, token endpoint failures and interaction_required from OBO.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use msgraph_typed_auth::{
    AssertionSource, AuthorizationCodeFlow, ChainedTokenCredential, ClientAssertionCredential,
    ClientAuthentication, ClientCertificate, ClientCertificateCredential, ClientSecretCredential,
    Cloud, CredentialOptions, DeviceCodeCredential, EnvironmentCredential, ManagerOptions,
    OnBehalfOfCredential, RefreshTokenCredential, ResponseMode, TokenCredential, TokenRequest,
    UserAssertion,
};
use msgraph_typed_emulator::{Emulator, Fault, InteractionRequirement, RetryAfter, seeded};
use secrecy::ExposeSecret;
use tests::idp::jwt_claims;

const GRAPH_DEFAULT: &str = "https://graph.microsoft.com/.default";
const GRAPH_USER_READ: &str = "https://graph.microsoft.com/User.Read";

fn options(emu: &Emulator) -> CredentialOptions {
    CredentialOptions::default()
        .with_cloud(Cloud::custom(&emu.authority_url(), &emu.graph_url()).unwrap())
        .with_retry_delay(Duration::from_millis(100))
        .with_request_timeout(Duration::from_secs(5))
}

fn daemon(emu: &Emulator, options: CredentialOptions) -> ClientSecretCredential {
    ClientSecretCredential::with_options(
        emu.tenant_id(),
        seeded::DAEMON_CLIENT_ID,
        ClientAuthentication::secret(seeded::DAEMON_CLIENT_SECRET),
        options,
    )
    .unwrap()
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/../graph-auth/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// Calls Graph with the token and returns the status (the emulator verifies signature, audience, expiry).
async fn graph_status(emu: &Emulator, path: &str, token: &str) -> u16 {
    reqwest::Client::new()
        .get(format!("{}/{path}", emu.graph_url()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn app_only_credentials_end_to_end() {
    let emu = Emulator::start().await.unwrap();
    let request = TokenRequest::new([GRAPH_DEFAULT]);
    let control = emu.control();

    let post = daemon(&emu, options(&emu));
    let basic = ClientSecretCredential::with_options(
        emu.tenant_id(),
        seeded::DAEMON_CLIENT_ID,
        ClientAuthentication::secret_basic(seeded::DAEMON_CLIENT_SECRET),
        options(&emu),
    )
    .unwrap();

    let cert_pem = String::from_utf8(fixture("cert.pem")).unwrap();
    control
        .register_certificate(seeded::DAEMON_CLIENT_ID, &cert_pem)
        .unwrap();
    let certificate =
        ClientCertificate::from_pem_parts(&fixture("cert.pem"), &fixture("key-pkcs8.pem")).unwrap();
    let cert = ClientCertificateCredential::with_options(
        emu.tenant_id(),
        seeded::DAEMON_CLIENT_ID,
        certificate,
        options(&emu),
    )
    .unwrap();
    let rs256 = ClientCertificateCredential::with_options(
        emu.tenant_id(),
        seeded::DAEMON_CLIENT_ID,
        ClientCertificate::from_pem_parts(&fixture("cert.pem"), &fixture("key-pkcs1.pem"))
            .unwrap()
            .with_algorithm(msgraph_typed_auth::AssertionAlgorithm::Rs256),
        options(&emu),
    )
    .unwrap();

    // A federated-style assertion produced by a callback (here signed with the registered key).
    let token_endpoint = emu.token_endpoint();
    let assertion = ClientAssertionCredential::with_options(
        emu.tenant_id(),
        seeded::DAEMON_CLIENT_ID,
        AssertionSource::callback(move || {
            let aud = token_endpoint.clone();
            Box::pin(async move { Ok(sign_assertion(&aud)) })
        }),
        options(&emu),
    )
    .unwrap();

    let env = EnvironmentCredential::from_lookup(
        |name| match name {
            "AZURE_TENANT_ID" => Some(msgraph_typed_emulator::DEFAULT_TENANT.to_string()),
            "AZURE_CLIENT_ID" => Some(seeded::DAEMON_CLIENT_ID.to_string()),
            "AZURE_CLIENT_SECRET" => Some(seeded::DAEMON_CLIENT_SECRET.to_string()),
            _ => None,
        },
        options(&emu),
    );
    let chain = ChainedTokenCredential::new(vec![
        Arc::new(EnvironmentCredential::from_lookup(|_| None, options(&emu))),
        Arc::new(env),
    ]);

    let credentials: Vec<(&str, Arc<dyn TokenCredential>)> = vec![
        ("secret in body", Arc::new(post)),
        ("secret basic", Arc::new(basic)),
        ("certificate PS256", Arc::new(cert)),
        ("certificate RS256", Arc::new(rs256)),
        ("client assertion", Arc::new(assertion)),
        ("environment chain", Arc::new(chain)),
    ];
    for (name, credential) in credentials {
        let token = credential
            .get_token(&request)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let claims = jwt_claims(token.secret());
        assert_eq!(
            claims["appid"].as_str().or(claims["azp"].as_str()),
            Some(seeded::DAEMON_CLIENT_ID),
            "{name}"
        );
        assert_eq!(
            graph_status(&emu, "users?$top=1", token.secret()).await,
            200,
            "{name}"
        );
        // cached on the second call
        let before = control.token_requests();
        credential.get_token(&request).await.unwrap();
        assert_eq!(
            control.token_requests(),
            before,
            "{name} second call served from cache"
        );
    }
    assert_eq!(control.token_requests_for_grant("client_credentials"), 6);

    // A wrong secret is a configuration error carrying Entra's details.
    let wrong = ClientSecretCredential::with_options(
        emu.tenant_id(),
        seeded::DAEMON_CLIENT_ID,
        ClientAuthentication::secret("wrong"),
        options(&emu),
    )
    .unwrap();
    let error = wrong.get_token(&request).await.unwrap_err();
    assert!(error.is_configuration(), "{error}");
    assert!(
        error.entra_error().unwrap().error_codes.contains(&7000215),
        "{error:?}"
    );
}

fn sign_assertion(audience: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    let der = pem_der(&fixture("cert.pem"));
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::PS256);
    header.x5t_s256 =
        Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(&der)));
    let now = now_secs();
    let claims = serde_json::json!({
        "aud": audience, "iss": seeded::DAEMON_CLIENT_ID, "sub": seeded::DAEMON_CLIENT_ID,
        "jti": uuid::Uuid::new_v4().to_string(), "nbf": now, "iat": now, "exp": now + 600,
    });
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(&fixture("key-pkcs8.pem")).unwrap();
    jsonwebtoken::encode(&header, &claims, &key).unwrap()
}

fn pem_der(pem: &[u8]) -> Vec<u8> {
    use base64::Engine;
    let text = String::from_utf8_lossy(pem);
    let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap()
}

#[tokio::test]
async fn delegated_credentials_end_to_end() {
    let emu = Emulator::builder()
        .device_code_interval(Duration::from_secs(1))
        .start()
        .await
        .unwrap();
    let control = emu.control();
    let request = TokenRequest::new([GRAPH_USER_READ]);
    let me_status = |token: String| {
        let emu = &emu;
        async move { graph_status(emu, "me", &token).await }
    };

    // Authorization code + PKCE, public client; the emulator's /authorize signs in the login_hint user.
    let flow = AuthorizationCodeFlow::with_options(
        emu.tenant_id(),
        seeded::PUBLIC_CLIENT_ID,
        seeded::REDIRECT_URI,
        ClientAuthentication::none(),
        options(&emu),
    )
    .unwrap();
    let user = control
        .user(msgraph_typed_emulator::DEFAULT_SIGNED_IN_USER)
        .unwrap();
    let session = flow
        .start(["openid", "offline_access", GRAPH_USER_READ])
        .with_response_mode(ResponseMode::Query)
        .with_login_hint(user.user_principal_name.clone());
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let answer = http.get(session.url().unwrap()).send().await.unwrap();
    let location = answer.headers()["location"].to_str().unwrap().to_string();
    let code = session.code_from_redirect(&location).unwrap();
    let credential = flow.redeem(&session, &code).await.unwrap();
    let token = credential.get_token(&request).await.unwrap();
    assert_eq!(jwt_claims(token.secret())["oid"], user.id.as_str());
    assert_eq!(me_status(token.secret().to_string()).await, 200);
    assert_eq!(control.token_requests_for_grant("authorization_code"), 1);

    // Refresh token rotation, then a RefreshTokenCredential from the newest refresh token.
    let rt1 = credential
        .current_refresh_token()
        .await
        .unwrap()
        .expose_secret()
        .to_string();
    credential
        .get_token(&request.clone().with_force_refresh(true))
        .await
        .unwrap();
    let rt2 = credential
        .current_refresh_token()
        .await
        .unwrap()
        .expose_secret()
        .to_string();
    assert_ne!(rt1, rt2, "rotated");
    let stored = RefreshTokenCredential::with_options(
        emu.tenant_id(),
        seeded::PUBLIC_CLIENT_ID,
        rt2,
        ClientAuthentication::none(),
        options(&emu),
    )
    .unwrap();
    let token = stored.get_token(&request).await.unwrap();
    assert_eq!(jwt_claims(token.secret())["oid"], user.id.as_str());
    assert_eq!(control.token_requests_for_grant("refresh_token"), 2);

    // Device code: the callback sees the user code; polling honours the interval.
    let shown = Arc::new(std::sync::Mutex::new(None));
    let sink = shown.clone();
    let device = DeviceCodeCredential::with_options(
        emu.tenant_id(),
        seeded::PUBLIC_CLIENT_ID,
        ClientAuthentication::none(),
        move |info| *sink.lock().unwrap() = Some(info.user_code.clone()),
        options(&emu),
    )
    .unwrap();
    let token = device.get_token(&request).await.unwrap();
    assert!(shown.lock().unwrap().is_some());
    assert_eq!(me_status(token.secret().to_string()).await, 200);

    // On-behalf-of: the web API exchanges the user's incoming token.
    let incoming = control
        .issue_user_token(&user.id, seeded::WEB_API_CLIENT_ID, &["access_as_user"])
        .unwrap();
    let obo = OnBehalfOfCredential::with_options(
        emu.tenant_id(),
        seeded::WEB_API_CLIENT_ID,
        ClientAuthentication::secret(seeded::WEB_API_CLIENT_SECRET),
        options(&emu),
    )
    .unwrap();
    let token = obo
        .get_token_for(&UserAssertion::new(incoming), &request)
        .await
        .unwrap();
    assert_eq!(jwt_claims(token.secret())["oid"], user.id.as_str());
    assert_eq!(me_status(token.secret().to_string()).await, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn short_lived_tokens_never_reach_a_caller_expired() {
    // JWT `exp` is whole seconds, so a token may end up to 1 s before `expires_in` says:
    // the skew (3 s here, 5 min by default) absorbs that and the round trip, with more than
    // a second to spare for a slow CI machine.
    let emu = Emulator::builder()
        .token_lifetime(Duration::from_secs(6))
        .start()
        .await
        .unwrap();
    let credential = daemon(
        &emu,
        options(&emu)
            .with_manager_options(ManagerOptions::default().with_skew(Duration::from_secs(3))),
    );
    let request = TokenRequest::new([GRAPH_DEFAULT]);
    let started = std::time::Instant::now();
    let mut calls = 0;
    while started.elapsed() < Duration::from_secs(14) {
        let token = credential.get_token(&request).await.unwrap();
        assert!(jwt_claims(token.secret())["exp"].as_u64().unwrap() > now_secs());
        assert_eq!(
            graph_status(&emu, "users?$top=1", token.secret()).await,
            200,
            "the emulator accepted it"
        );
        calls += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let grants = emu.control().token_requests_for_grant("client_credentials");
    assert!(
        (3..=12).contains(&grants),
        "{grants} grants for {calls} calls over more than two token lifetimes"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn refresh_in_refreshes_in_the_background() {
    let emu = Emulator::builder()
        .token_lifetime(Duration::from_secs(6))
        .refresh_in(Some(Duration::from_secs(1)))
        .start()
        .await
        .unwrap();
    let credential = daemon(
        &emu,
        options(&emu)
            .with_manager_options(ManagerOptions::default().with_skew(Duration::from_secs(1))),
    );
    let request = TokenRequest::new([GRAPH_DEFAULT]);
    let first = credential.get_token(&request).await.unwrap();
    assert!(first.refresh_on().is_some(), "refresh_in was honoured");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // Past refresh_on: the current token comes back at once and one refresh starts behind it.
    let served = credential.get_token(&request).await.unwrap();
    assert_eq!(served.secret(), first.secret());
    // The refresh lands in the cache shortly after; poll for it.
    let mut refreshed = served;
    for _ in 0..100 {
        refreshed = credential.get_token(&request).await.unwrap();
        if refreshed.secret() != first.secret() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_ne!(
        refreshed.secret(),
        first.secret(),
        "the background refresh replaced it"
    );
    assert_eq!(
        emu.control().token_requests_for_grant("client_credentials"),
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_thousand_concurrent_callers_on_a_cold_key_make_one_grant() {
    let emu = Emulator::start().await.unwrap();
    // Slow the token endpoint so every caller arrives while the first request is in flight.
    emu.control().inject(
        Fault::delay(Duration::from_millis(300))
            .matching(format!("/{}/oauth2/v2.0/token", emu.tenant_id())),
    );
    let credential = Arc::new(daemon(&emu, options(&emu)));
    let tasks = (0..1_000).map(|_| {
        let credential = credential.clone();
        tokio::spawn(async move {
            credential
                .get_token(&TokenRequest::new([GRAPH_DEFAULT]))
                .await
        })
    });
    let tokens: Vec<String> = futures::future::join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.unwrap().unwrap().secret().to_string())
        .collect();
    assert!(tokens.iter().all(|t| t == &tokens[0]));
    assert_eq!(
        emu.control().token_requests_for_grant("client_credentials"),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn obo_isolation_one_hundred_users_at_once() {
    let emu = Emulator::builder().users(100).start().await.unwrap();
    let control = emu.control();
    let app_token = daemon(&emu, options(&emu))
        .get_token(&TokenRequest::new([GRAPH_DEFAULT]))
        .await
        .unwrap();
    let page: serde_json::Value = reqwest::Client::new()
        .get(format!("{}/users?$top=999&$select=id", emu.graph_url()))
        .bearer_auth(app_token.secret())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<String> = page["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_string())
        .take(100)
        .collect();
    assert_eq!(ids.len(), 100);
    let obo = OnBehalfOfCredential::with_options(
        emu.tenant_id(),
        seeded::WEB_API_CLIENT_ID,
        ClientAuthentication::secret(seeded::WEB_API_CLIENT_SECRET),
        options(&emu),
    )
    .unwrap();
    control.reset_counters();
    let tasks = ids.iter().map(|id| {
        let incoming = control
            .issue_user_token(id, seeded::WEB_API_APP_ID_URI, &["access_as_user"])
            .unwrap();
        let user = obo.for_user(UserAssertion::new(incoming));
        let id = id.clone();
        tokio::spawn(async move {
            // each user asks twice at once: one grant per user, never another user's token
            let request = TokenRequest::new([GRAPH_USER_READ]);
            let (a, b) = tokio::join!(user.get_token(&request), user.get_token(&request));
            (id, a.unwrap(), b.unwrap())
        })
    });
    for result in futures::future::join_all(tasks).await {
        let (id, a, b) = result.unwrap();
        assert_eq!(jwt_claims(a.secret())["oid"], id.as_str());
        assert_eq!(a.secret(), b.secret());
    }
    assert_eq!(
        control.token_requests_for_grant("urn:ietf:params:oauth:grant-type:jwt-bearer"),
        100
    );
}

#[tokio::test]
async fn obo_interaction_required_carries_the_claims_challenge() {
    let emu = Emulator::start().await.unwrap();
    let control = emu.control();
    let user = control
        .user(msgraph_typed_emulator::DEFAULT_SIGNED_IN_USER)
        .unwrap();
    control
        .require_interaction(&user.id, InteractionRequirement::Mfa)
        .unwrap();
    let obo = OnBehalfOfCredential::with_options(
        emu.tenant_id(),
        seeded::WEB_API_CLIENT_ID,
        ClientAuthentication::secret(seeded::WEB_API_CLIENT_SECRET),
        options(&emu),
    )
    .unwrap();
    let incoming = control
        .issue_user_token(&user.id, seeded::WEB_API_CLIENT_ID, &["access_as_user"])
        .unwrap();
    let error = obo
        .get_token_for(
            &UserAssertion::new(incoming),
            &TokenRequest::new([GRAPH_USER_READ]),
        )
        .await
        .unwrap_err();
    assert!(
        error.is_interaction_required() && !error.is_retryable(),
        "{error}"
    );
    assert!(error.claims().is_some_and(|c| !c.is_empty()), "{error:?}");
    // what the web API sends back to its client
    let challenge = error.www_authenticate_challenge().unwrap();
    assert!(
        challenge.starts_with("Bearer error=\"insufficient_claims\", claims=\""),
        "{challenge}"
    );
    assert!(
        error.entra_error().unwrap().error_codes.contains(&50076),
        "{error:?}"
    );

    control
        .require_interaction(&user.id, InteractionRequirement::Consent)
        .unwrap();
    let incoming = control
        .issue_user_token(&user.id, seeded::WEB_API_CLIENT_ID, &["access_as_user"])
        .unwrap();
    let error = obo
        .get_token_for(
            &UserAssertion::new(incoming),
            &TokenRequest::new([GRAPH_USER_READ]),
        )
        .await
        .unwrap_err();
    assert!(error.is_interaction_required(), "consent: {error}");
    assert!(
        error.entra_error().unwrap().error_codes.contains(&65001),
        "{error:?}"
    );

    // An expired incoming token: the caller needs a fresh one.
    control.clear_interaction(&user.id);
    let expired = control
        .issue_expired_user_token(&user.id, seeded::WEB_API_CLIENT_ID, &["access_as_user"])
        .unwrap();
    let error = obo
        .get_token_for(
            &UserAssertion::new(expired),
            &TokenRequest::new([GRAPH_USER_READ]),
        )
        .await
        .unwrap_err();
    assert_eq!(error.error_code(), Some("invalid_grant"), "{error}");
}

#[tokio::test]
async fn token_endpoint_failures_are_typed_and_bounded() {
    let emu = Emulator::start().await.unwrap();
    let control = emu.control();
    let request = TokenRequest::new([GRAPH_DEFAULT]);
    let token_path = format!("/{}/oauth2/v2.0/token", emu.tenant_id());

    // One 500: the one quick retry succeeds.
    control.inject(Fault::token_endpoint_server_error());
    let token = daemon(&emu, options(&emu))
        .get_token(&request)
        .await
        .unwrap();
    assert_eq!(
        graph_status(&emu, "users?$top=1", token.secret()).await,
        200
    );
    assert_eq!(control.requests_to(&token_path), 2);

    // Two 500s: a retryable error after exactly two attempts.
    control.reset_counters();
    control.inject(Fault::token_endpoint_server_error().times(2));
    let error = daemon(&emu, options(&emu))
        .get_token(&request)
        .await
        .unwrap_err();
    assert!(
        error.is_retryable() && error.status() == Some(500),
        "{error:?}"
    );
    assert_eq!(error.error_code(), Some("server_error"));
    assert_eq!(control.requests_to(&token_path), 2);

    // 429 with Retry-After: no quick retry, the delay is kept, and the next call fails fast.
    control.reset_counters();
    control.inject(Fault::token_endpoint_throttled(RetryAfter::Seconds(30)));
    let throttled = daemon(&emu, options(&emu));
    let error = throttled.get_token(&request).await.unwrap_err();
    assert_eq!(error.status(), Some(429), "{error:?}");
    assert_eq!(error.retry_after(), Some(Duration::from_secs(30)));
    assert!(error.is_retryable());
    assert!(
        throttled.get_token(&request).await.is_err(),
        "still backing off"
    );
    assert_eq!(
        control.requests_to(&token_path),
        1,
        "no request while Retry-After runs"
    );

    // HTML from a proxy: a clear typed error, no token.
    control.inject(Fault::token_endpoint_html(200));
    let error = daemon(&emu, options(&emu))
        .get_token(&request)
        .await
        .unwrap_err();
    assert!(
        matches!(error, msgraph_typed_auth::AuthError::InvalidResponse { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("text/html"), "{error}");

    // Garbage: a truncated JSON body.
    control.inject(Fault::truncated_body().matching(&token_path).times(2));
    let error = daemon(&emu, options(&emu))
        .get_token(&request)
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            msgraph_typed_auth::AuthError::InvalidResponse { .. }
                | msgraph_typed_auth::AuthError::Transport { .. }
        ),
        "{error:?}"
    );

    // No answer in time: a timeout error, after one quick retry.
    control.reset_counters();
    control.inject(
        Fault::delay(Duration::from_secs(3))
            .matching(&token_path)
            .times(2),
    );
    let slow = daemon(
        &emu,
        options(&emu).with_request_timeout(Duration::from_millis(300)),
    );
    let error = slow.get_token(&request).await.unwrap_err();
    assert!(error.is_timeout() && error.is_retryable(), "{error:?}");

    // A dropped connection: a transport error.
    control.clear_faults();
    control.inject(Fault::drop_connection().matching(&token_path).times(2));
    let error = daemon(&emu, options(&emu))
        .get_token(&request)
        .await
        .unwrap_err();
    assert!(
        matches!(error, msgraph_typed_auth::AuthError::Transport { .. }),
        "{error:?}"
    );
}
