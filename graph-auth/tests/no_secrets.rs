//! Runs every flow with TRACE logging captured, then searches the logs and every
//! Debug / Display / error output for each secret, token, assertion and refresh token used.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::*;
use msgraph_typed_auth::{
    AccessToken, AssertionSource, AuthorizationCodeFlow, CacheKey, CachedToken,
    ChainedTokenCredential, ClientAssertionCredential, ClientAuthentication, ClientCertificate,
    ClientCertificateCredential, ClientSecretCredential, DeviceCodeCredential,
    EnvironmentCredential, OnBehalfOfCredential, RefreshTokenCredential, ResponseMode,
    TokenCredential, TokenRequest, UserAssertion,
};
use serde_json::json;
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn jwt_like(name: &str) -> String {
    format!("eyJ0eXAiOiJKV1QifQ.{name}-payload-secret.signature-{name}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_logs_debug_display_or_errors() {
    let capture = Capture::default();
    let writer = capture.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();

    let access_tokens = [
        "cc-at",
        "cert-at",
        "fed-at",
        "obo-at",
        "rt-at",
        "code-at",
        "device-at",
    ]
    .map(jwt_like);
    let refresh_tokens = [
        "rt-initial-secret",
        "rt-rotated-secret",
        "code-rt-secret",
        "device-rt-secret",
    ];
    let secrets = [
        "client-secret-post-value",
        "client-secret-basic-value",
        "obo-client-secret-value",
        "web-secret-value",
    ];
    let assertions = [
        jwt_like("federated-assertion"),
        jwt_like("user-assertion"),
        jwt_like("blocked-user"),
    ];
    let server = MockServer::start().await;
    let grant = |g: &str, body: serde_json::Value| {
        Mock::given(method("POST"))
            .and(path(token_path()))
            .and(body_string_contains(g.to_string()))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
    };
    let ok = |at: &str, rt: Option<&str>| {
        let mut body = token_body(at, 3600);
        if let Some(rt) = rt {
            body["refresh_token"] = json!(rt);
        }
        body
    };
    grant("client_assertion_type", ok(&access_tokens[1], None))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(body_string_contains("assertion=eyJ0eXAiOiJKV1QifQ.blocked"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "interaction_required", "error_description": "AADSTS50079: MFA required", "error_codes": [50079],
            "claims": "{\"access_token\":{\"capolids\":{\"essential\":true}}}",
        })))
        .mount(&server)
        .await;
    grant(
        "requested_token_use=on_behalf_of",
        ok(&access_tokens[3], None),
    )
    .mount(&server)
    .await;
    grant("grant_type=client_credentials", ok(&access_tokens[0], None))
        .mount(&server)
        .await;
    grant(
        "refresh_token=rt-initial",
        ok(&access_tokens[4], Some(refresh_tokens[1])),
    )
    .mount(&server)
    .await;
    grant(
        "grant_type=authorization_code",
        ok(&access_tokens[5], Some(refresh_tokens[2])),
    )
    .mount(&server)
    .await;
    grant(
        "device_code",
        ok(&access_tokens[6], Some(refresh_tokens[3])),
    )
    .mount(&server)
    .await;
    Mock::given(method("POST"))
        .and(path(format!("/{TENANT}/oauth2/v2.0/devicecode")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "device_code": "device-code-secret", "user_code": "USER-CODE", "verification_uri": "https://example/device",
            "expires_in": 60, "interval": 0,
        })))
        .mount(&server)
        .await;

    let mut shown: Vec<String> = Vec::new();
    let request = TokenRequest::new([GRAPH_DEFAULT]);
    let o = || options(&server);

    let post = ClientSecretCredential::with_options(
        TENANT,
        "app",
        ClientAuthentication::secret(secrets[0]),
        o(),
    )
    .unwrap();
    let basic = ClientSecretCredential::with_options(
        TENANT,
        "app2",
        ClientAuthentication::secret_basic(secrets[1]),
        o(),
    )
    .unwrap();
    let pem = [fixture("cert.pem"), fixture("key-pkcs8.pem")].concat();
    let cert = ClientCertificateCredential::with_options(
        TENANT,
        "cert-app",
        ClientCertificate::from_pem(&pem).unwrap(),
        o(),
    )
    .unwrap();
    let fed_assertion = assertions[0].clone();
    let fed = ClientAssertionCredential::with_options(
        TENANT,
        "fed-app",
        AssertionSource::callback(move || {
            let a = fed_assertion.clone();
            Box::pin(async move { Ok(a) })
        }),
        o(),
    )
    .unwrap();
    for credential in [&post, &basic] {
        let token = credential.get_token(&request).await.unwrap();
        shown.push(format!("{token:?} {credential:?}"));
    }
    shown.push(format!(
        "{:?} {cert:?}",
        cert.get_token(&request).await.unwrap()
    ));
    shown.push(format!(
        "{:?} {fed:?}",
        fed.get_token(&request).await.unwrap()
    ));

    let obo = OnBehalfOfCredential::with_options(
        TENANT,
        "api",
        ClientAuthentication::secret(secrets[2]),
        o(),
    )
    .unwrap();
    let user = UserAssertion::new(assertions[1].clone());
    shown.push(format!(
        "{:?} {obo:?} {user:?}",
        obo.get_token_for(&user, &request).await.unwrap()
    ));
    let blocked = obo.for_user(UserAssertion::new(assertions[2].clone()));
    let error = blocked.get_token(&request).await.unwrap_err();
    assert!(error.is_interaction_required());
    shown.push(format!("{error} {error:?} {blocked:?}"));

    let rt = RefreshTokenCredential::with_options(
        TENANT,
        "public",
        refresh_tokens[0],
        ClientAuthentication::none(),
        o(),
    )
    .unwrap();
    shown.push(format!(
        "{:?} {rt:?}",
        rt.get_token(&request).await.unwrap()
    ));

    let flow = AuthorizationCodeFlow::with_options(
        TENANT,
        "web",
        "http://127.0.0.1:8765/callback",
        ClientAuthentication::secret(secrets[3]),
        o(),
    )
    .unwrap();
    let session = flow
        .start(["openid", "offline_access", GRAPH_DEFAULT])
        .with_response_mode(ResponseMode::Query);
    let code_credential = flow
        .redeem(&session, "authorization-code-secret")
        .await
        .unwrap();
    shown.push(format!(
        "{session:?} {flow:?} {code_credential:?} {:?}",
        code_credential.get_token(&request).await.unwrap()
    ));

    let device = DeviceCodeCredential::with_options(
        TENANT,
        "public",
        ClientAuthentication::none(),
        |_| {},
        o(),
    )
    .unwrap();
    shown.push(format!(
        "{:?} {device:?}",
        device.get_token(&request).await.unwrap()
    ));

    // Failures: wrong secret answered by an HTML page, a transport failure, a chain.
    let dead = ClientSecretCredential::with_options(
        TENANT,
        "app",
        ClientAuthentication::secret(secrets[0]),
        options(&MockServer::start().await).with_cloud(
            msgraph_typed_auth::Cloud::custom("http://127.0.0.1:9/", "http://127.0.0.1:9/")
                .unwrap(),
        ),
    )
    .unwrap();
    let error = dead.get_token(&request).await.unwrap_err();
    shown.push(format!("{error} {error:?}"));
    let env = EnvironmentCredential::from_lookup(
        |n| match n {
            "AZURE_TENANT_ID" => Some(TENANT.into()),
            "AZURE_CLIENT_ID" => Some("env-app".into()),
            "AZURE_CLIENT_SECRET" => Some(secrets[0].into()),
            _ => None,
        },
        options(&MockServer::start().await).with_cloud(
            msgraph_typed_auth::Cloud::custom("http://127.0.0.1:9/", "http://127.0.0.1:9/")
                .unwrap(),
        ),
    );
    let chain = ChainedTokenCredential::new(vec![Arc::new(env)]);
    let error = chain.get_token(&request).await.unwrap_err();
    shown.push(format!("{error} {error:?} {chain:?}"));
    let cached = CachedToken::from(&AccessToken::new(
        access_tokens[0].clone(),
        std::time::SystemTime::now(),
    ));
    let key = CacheKey::access_token(
        "a",
        "t",
        "c",
        &[GRAPH_DEFAULT.into()],
        Some("{\"claims\":1}"),
        Some(user.partition().into()),
    );
    shown.push(format!("{cached:?} {key:?}"));

    // Everything the test server saw, to make sure the secrets were really used.
    let mut every_secret: Vec<String> = Vec::new();
    every_secret.extend(access_tokens.iter().cloned());
    every_secret.extend(refresh_tokens.iter().map(|s| s.to_string()));
    every_secret.extend(secrets.iter().map(|s| s.to_string()));
    every_secret.extend(assertions.iter().cloned());
    every_secret.push("authorization-code-secret".into());
    every_secret.push("device-code-secret".into());
    let wire: String = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| {
            use base64::Engine;
            let basic = header(r, "authorization")
                .and_then(|h| h.strip_prefix("Basic "))
                .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
                .map(|raw| String::from_utf8_lossy(&raw).into_owned())
                .unwrap_or_default();
            format!("{}\n{basic}\n", String::from_utf8_lossy(&r.body))
        })
        .collect();
    for f in server.received_requests().await.unwrap().iter().map(form) {
        for name in ["client_assertion", "code_verifier"] {
            if let Some(value) = f.get(name) {
                every_secret.push(value.clone());
            }
        }
    }
    for secret in &every_secret {
        let in_wire = wire.contains(secret.as_str())
            || wire.contains(
                &url::form_urlencoded::byte_serialize(secret.as_bytes()).collect::<String>(),
            );
        let issued =
            access_tokens.contains(secret) || refresh_tokens[1..].contains(&secret.as_str());
        assert!(in_wire || issued, "the test really used {secret}");
    }

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("token request") && logs.contains("TRACE"),
        "TRACE logs were captured"
    );
    let everything = format!("{logs}\n{}", shown.join("\n"));
    for secret in &every_secret {
        assert!(
            !everything.contains(secret.as_str()),
            "a secret leaked: {secret}"
        );
    }
    assert!(
        !everything.contains("eyJ"),
        "no JWT-looking value in logs or output"
    );
    assert!(
        !everything.contains("Basic "),
        "no Authorization header value"
    );
}
