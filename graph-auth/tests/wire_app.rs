//! Exact request shapes of the app-only flows and token endpoint failures,
//! against a wiremock token endpoint.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::*;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use msgraph_typed_auth::{
    AssertionAlgorithm, AssertionSource, AuthError, ClientAssertionCredential,
    ClientAuthentication, ClientCertificate, ClientCertificateCredential, ClientSecretCredential,
    TokenCredential, TokenRequest,
};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// base64url SHA-256 / SHA-1 of the fixture certificate's DER, computed with openssl.
const X5T_S256: &str = "70R41eidbcctkZQtkR52NPJRvKoPnKj6fmOdRdPCrOo";
const X5T: &str = "ZsLPUHY8b6l5RVF8-ykeCZEd_OU";

fn request() -> TokenRequest {
    TokenRequest::new([GRAPH_DEFAULT])
}

#[tokio::test]
async fn client_secret_post_shape_and_cache() {
    let server = MockServer::start().await;
    mount_token(&server, token_body("at-1", 3600)).await;
    let credential = ClientSecretCredential::with_options(
        TENANT,
        "app-id",
        ClientAuthentication::secret("s3cr3t&="),
        options(&server),
    )
    .unwrap();
    let token = credential.get_token(&request()).await.unwrap();
    assert_eq!(token.secret(), "at-1");
    let left = token
        .expires_on()
        .duration_since(SystemTime::now())
        .unwrap();
    assert!(left > Duration::from_secs(3590) && left <= Duration::from_secs(3600));
    // served from the cache
    credential.get_token(&request()).await.unwrap();
    let received = server.received_requests().await.unwrap();
    assert_eq!(received.len(), 1);
    let r = &received[0];
    assert_eq!(r.url.path(), token_path());
    assert_library_headers(r);
    let f = form(r);
    assert_eq!(f["grant_type"], "client_credentials");
    assert_eq!(f["client_id"], "app-id");
    assert_eq!(f["client_secret"], "s3cr3t&=");
    assert_eq!(f["scope"], GRAPH_DEFAULT);
    assert!(r.headers.get("authorization").is_none());
}

#[tokio::test]
async fn client_secret_basic_puts_the_secret_in_the_authorization_header() {
    use base64::Engine;
    let server = MockServer::start().await;
    mount_token(&server, token_body("at-1", 3600)).await;
    let credential = ClientSecretCredential::with_options(
        TENANT,
        "app:id",
        ClientAuthentication::secret_basic("p@ss word"),
        options(&server),
    )
    .unwrap();
    credential.get_token(&request()).await.unwrap();
    let r = &server.received_requests().await.unwrap()[0];
    let f = form(r);
    assert!(
        !f.contains_key("client_secret") && !f.contains_key("client_id"),
        "{f:?}"
    );
    // RFC 6749 2.3.1: form-urlencode each part, then base64 "id:secret".
    let expected = base64::engine::general_purpose::STANDARD.encode("app%3Aid:p%40ss+word");
    assert_eq!(
        header(r, "authorization"),
        Some(format!("Basic {expected}").as_str())
    );
}

#[tokio::test]
async fn claims_are_sent_and_get_their_own_cache_entry() {
    let server = MockServer::start().await;
    mount_token(&server, token_body("at", 3600)).await;
    let credential = ClientSecretCredential::with_options(
        TENANT,
        "app",
        ClientAuthentication::secret("s"),
        options(&server),
    )
    .unwrap();
    credential.get_token(&request()).await.unwrap();
    let claims = r#"{"access_token":{"nbf":{"essential":true,"value":"1"}}}"#;
    credential
        .get_token(&request().with_claims(claims))
        .await
        .unwrap();
    credential
        .get_token(&request().with_claims(claims))
        .await
        .unwrap();
    let received = server.received_requests().await.unwrap();
    assert_eq!(received.len(), 2);
    assert_eq!(form(&received[1])["claims"], claims);
    assert!(!form(&received[0]).contains_key("claims"));
}

#[tokio::test]
async fn another_tenant_must_be_allowed_explicitly() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/other-tenant/oauth2/v2.0/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("other", 3600)))
        .mount(&server)
        .await;
    let strict = ClientSecretCredential::with_options(
        TENANT,
        "app",
        ClientAuthentication::secret("s"),
        options(&server),
    )
    .unwrap();
    let error = strict
        .get_token(&request().with_tenant("other-tenant"))
        .await
        .unwrap_err();
    assert!(error.is_configuration(), "{error}");
    let open = ClientSecretCredential::with_options(
        TENANT,
        "app",
        ClientAuthentication::secret("s"),
        options(&server).with_additionally_allowed_tenants(["other-tenant"]),
    )
    .unwrap();
    assert_eq!(
        open.get_token(&request().with_tenant("other-tenant"))
            .await
            .unwrap()
            .secret(),
        "other"
    );
}

async fn assertion_of(server: &MockServer, index: usize) -> String {
    let received = server.received_requests().await.unwrap();
    let f = form(&received[index]);
    assert_eq!(
        f["client_assertion_type"],
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    );
    assert!(!f.contains_key("client_secret"));
    f["client_assertion"].clone()
}

#[tokio::test]
async fn certificate_assertion_ps256_header_and_claims() {
    let server = MockServer::start().await;
    mount_token(&server, token_body("at", 3600)).await;
    let cert =
        ClientCertificate::from_pem(&[fixture("cert.pem"), fixture("key-pkcs8.pem")].concat())
            .unwrap();
    assert_eq!(cert.thumbprint_sha256(), X5T_S256);
    assert_eq!(cert.thumbprint_sha1(), X5T);
    let credential =
        ClientCertificateCredential::with_options(TENANT, "cert-app", cert, options(&server))
            .unwrap();
    credential.get_token(&request()).await.unwrap();
    credential
        .get_token(&request().with_force_refresh(true))
        .await
        .unwrap();

    let first = assertion_of(&server, 0).await;
    let second = assertion_of(&server, 1).await;
    let (header, claims) = jwt_parts(&first);
    assert_eq!(header["alg"], "PS256");
    assert_eq!(header["x5t#S256"], X5T_S256);
    assert!(
        header.get("x5t").is_none() && header.get("x5c").is_none(),
        "{header}"
    );
    assert_eq!(claims["aud"], token_url(&server));
    assert_eq!(claims["iss"], "cert-app");
    assert_eq!(claims["sub"], "cert-app");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let nbf = claims["nbf"].as_i64().unwrap();
    assert!((now - nbf).abs() < 30, "nbf is now");
    assert_eq!(
        claims["exp"].as_i64().unwrap() - nbf,
        600,
        "valid for 10 minutes"
    );
    assert!(uuid::Uuid::parse_str(claims["jti"].as_str().unwrap()).is_ok());
    assert_ne!(
        claims["jti"],
        jwt_parts(&second).1["jti"],
        "jti is unique per assertion"
    );

    // The signature verifies with the certificate's public key.
    let key = DecodingKey::from_rsa_pem(&fixture("public.pem")).unwrap();
    let mut validation = Validation::new(Algorithm::PS256);
    validation.set_audience(&[token_url(&server)]);
    validation.set_issuer(&["cert-app"]);
    jsonwebtoken::decode::<serde_json::Value>(&first, &key, &validation)
        .expect("signature verifies");
}

#[tokio::test]
async fn certificate_assertion_rs256_with_x5t_and_x5c_from_a_pkcs1_key() {
    let server = MockServer::start().await;
    mount_token(&server, token_body("at", 3600)).await;
    let cert = ClientCertificate::from_pem_parts(&fixture("cert.pem"), &fixture("key-pkcs1.pem"))
        .unwrap()
        .with_algorithm(AssertionAlgorithm::Rs256)
        .with_x5c(true);
    let credential =
        ClientCertificateCredential::with_options(TENANT, "cert-app", cert, options(&server))
            .unwrap();
    credential.get_token(&request()).await.unwrap();
    let assertion = assertion_of(&server, 0).await;
    let (header, _) = jwt_parts(&assertion);
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["x5t"], X5T);
    assert!(header.get("x5t#S256").is_none());
    let x5c = header["x5c"].as_array().unwrap();
    let pem_der = pem::parse(fixture("cert.pem")).unwrap().into_contents();
    use base64::Engine;
    assert_eq!(
        x5c[0].as_str().unwrap(),
        base64::engine::general_purpose::STANDARD.encode(pem_der)
    );
    let key = DecodingKey::from_rsa_pem(&fixture("public.pem")).unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[token_url(&server)]);
    jsonwebtoken::decode::<serde_json::Value>(&assertion, &key, &validation)
        .expect("signature verifies");
}

#[test]
fn bad_certificates_are_configuration_errors() {
    let no_key = ClientCertificate::from_pem(&fixture("cert.pem")).unwrap_err();
    assert!(
        no_key.is_configuration() && no_key.to_string().contains("PRIVATE KEY"),
        "{no_key}"
    );
    let no_cert = ClientCertificate::from_pem(&fixture("key-pkcs8.pem")).unwrap_err();
    assert!(no_cert.to_string().contains("CERTIFICATE"), "{no_cert}");
    let encrypted = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n";
    assert!(
        ClientCertificate::from_pem(encrypted)
            .unwrap_err()
            .to_string()
            .contains("encrypted")
    );
    let debug = format!(
        "{:?}",
        ClientCertificate::from_pem(&[fixture("cert.pem"), fixture("key-pkcs8.pem")].concat())
            .unwrap()
    );
    assert!(
        debug.contains("[REDACTED]") && !debug.contains("MII"),
        "{debug}"
    );
}

#[tokio::test]
async fn federated_assertion_file_is_reread_when_it_changes() {
    let server = MockServer::start().await;
    mount_token(&server, token_body("at", 3600)).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, "federated-one\n").unwrap();
    let credential = ClientAssertionCredential::with_options(
        TENANT,
        "wi-app",
        AssertionSource::file(&file),
        options(&server),
    )
    .unwrap();
    credential.get_token(&request()).await.unwrap();
    std::fs::write(&file, "federated-two").unwrap();
    credential
        .get_token(&request().with_force_refresh(true))
        .await
        .unwrap();
    assert_eq!(assertion_of(&server, 0).await, "federated-one");
    assert_eq!(assertion_of(&server, 1).await, "federated-two");
    assert_eq!(
        form(&server.received_requests().await.unwrap()[0])["client_id"],
        "wi-app"
    );

    let callback = ClientAssertionCredential::with_options(
        TENANT,
        "wi-app",
        AssertionSource::callback(|| Box::pin(async { Ok("from-callback".to_string()) })),
        options(&server),
    )
    .unwrap();
    callback.get_token(&request()).await.unwrap();
    assert_eq!(assertion_of(&server, 2).await, "from-callback");

    let missing = ClientAssertionCredential::with_options(
        TENANT,
        "wi-app",
        AssertionSource::file(dir.path().join("absent")),
        options(&server),
    )
    .unwrap();
    assert!(
        missing
            .get_token(&request())
            .await
            .unwrap_err()
            .is_configuration()
    );
}

async fn secret_credential(server: &MockServer) -> ClientSecretCredential {
    ClientSecretCredential::with_options(
        TENANT,
        "app",
        ClientAuthentication::secret("s"),
        options(server),
    )
    .unwrap()
}

#[tokio::test]
async fn one_quick_retry_on_5xx() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500).set_body_string("oops"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    mount_token(&server, token_body("after-retry", 3600)).await;
    let token = secret_credential(&server)
        .await
        .get_token(&request())
        .await
        .unwrap();
    assert_eq!(token.secret(), "after-retry");
    let received = server.received_requests().await.unwrap();
    assert_eq!(received.len(), 2);
    assert_ne!(
        header(&received[0], "client-request-id"),
        header(&received[1], "client-request-id")
    );
}

#[tokio::test]
async fn no_quick_retry_when_retry_after_is_sent_and_429_is_typed() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503).insert_header("Retry-After", "7"))
        .mount(&server)
        .await;
    let error = secret_credential(&server)
        .await
        .get_token(&request())
        .await
        .unwrap_err();
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
    assert_eq!(error.retry_after(), Some(Duration::from_secs(7)));
    assert!(error.is_retryable());

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "3")
                .set_body_string("Too many"),
        )
        .mount(&server)
        .await;
    let error = secret_credential(&server)
        .await
        .get_token(&request())
        .await
        .unwrap_err();
    assert!(
        matches!(error, AuthError::Throttled { status: 429, .. }),
        "{error:?}"
    );
    assert_eq!(error.retry_after(), Some(Duration::from_secs(3)));
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn html_garbage_empty_and_timeout_are_clear_errors() {
    let cases: Vec<(ResponseTemplate, &str)> = vec![
        (
            ResponseTemplate::new(200)
                .set_body_raw("<html><body>Sign in</body></html>", "text/html"),
            "text/html",
        ),
        (
            ResponseTemplate::new(200).set_body_raw("\u{1}\u{2}garbage{", "application/json"),
            "not a JSON token response",
        ),
        (
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"token_type": "Bearer"})),
            "no access_token",
        ),
        (ResponseTemplate::new(502), "empty body"),
    ];
    for (template, expected) in cases {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(template)
            .mount(&server)
            .await;
        let error = secret_credential(&server)
            .await
            .get_token(&request())
            .await
            .unwrap_err();
        assert!(
            matches!(error, AuthError::InvalidResponse { .. }),
            "{error:?}"
        );
        assert!(
            error.to_string().contains(expected),
            "{error} should mention {expected}"
        );
    }
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(token_body("late", 3600))
                .set_delay(Duration::from_secs(5)),
        )
        .mount(&server)
        .await;
    let credential = ClientSecretCredential::with_options(
        TENANT,
        "app",
        ClientAuthentication::secret("s"),
        options(&server).with_request_timeout(Duration::from_millis(200)),
    )
    .unwrap();
    let error = credential.get_token(&request()).await.unwrap_err();
    assert!(error.is_timeout() && error.is_retryable(), "{error:?}");
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        2,
        "one quick retry after a timeout"
    );
}

#[tokio::test]
async fn entra_errors_are_classified() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401).set_body_json(serde_json::json!({
            "error": "invalid_client",
            "error_description": "AADSTS7000215: Invalid client secret provided.\r\nTrace ID: abc",
            "error_codes": [7000215],
            "timestamp": "2026-11-25 10:00:00Z",
            "trace_id": "trace-1",
            "correlation_id": "corr-1",
            "error_uri": "https://login.microsoftonline.com/error?code=7000215"
        })))
        .mount(&server)
        .await;
    let error = secret_credential(&server)
        .await
        .get_token(&request())
        .await
        .unwrap_err();
    assert!(error.is_configuration() && !error.is_retryable() && !error.is_interaction_required());
    let entra = error.entra_error().unwrap();
    assert_eq!(entra.error_codes, vec![7000215]);
    assert_eq!(entra.trace_id.as_deref(), Some("trace-1"));
    assert_eq!(error.status(), Some(401));
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        1,
        "4xx is not retried"
    );
}

#[test]
fn plain_http_authority_is_refused_off_loopback() {
    let error = msgraph_typed_auth::Cloud::custom(
        "http://login.example.com/",
        "https://graph.example.com/",
    )
    .unwrap_err();
    assert!(error.to_string().contains("https"));
    assert!(
        ClientSecretCredential::new("bad/tenant", "app", "s")
            .unwrap_err()
            .is_configuration()
    );
}

#[tokio::test]
async fn client_capabilities_are_declared_in_claims() {
    let server = MockServer::start().await;
    mount_token(&server, token_body("at", 3600)).await;
    let credential = ClientSecretCredential::with_options(
        TENANT,
        "app",
        ClientAuthentication::secret("s"),
        options(&server).with_client_capabilities(["cp1"]),
    )
    .unwrap();
    credential.get_token(&request()).await.unwrap();
    let challenge = r#"{"access_token":{"nbf":{"essential":true,"value":"1"}}}"#;
    credential
        .get_token(&request().with_claims(challenge))
        .await
        .unwrap();
    let received = server.received_requests().await.unwrap();
    let plain: serde_json::Value = serde_json::from_str(&form(&received[0])["claims"]).unwrap();
    assert_eq!(
        plain,
        serde_json::json!({"access_token": {"xms_cc": {"values": ["cp1"]}}})
    );
    let merged: serde_json::Value = serde_json::from_str(&form(&received[1])["claims"]).unwrap();
    assert_eq!(merged["access_token"]["nbf"]["value"], "1");
    assert_eq!(merged["access_token"]["xms_cc"]["values"][0], "cp1");
}
