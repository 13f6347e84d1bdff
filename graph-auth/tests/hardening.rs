//! What no token endpoint can make a credential do, whatever HTTP configuration the caller
//! gave: re-post its form (secrets, assertions, codes, refresh tokens, users' tokens) to where
//! a redirect points, or read an answer of unbounded size.

mod common;

use std::io::Write as _;

use common::*;
use msgraph_typed_auth::{
    AuthError, AuthorizationCodeFlow, ClientAssertionCredential, ClientAuthentication,
    ClientCertificate, ClientCertificateCredential, ClientSecretCredential, CredentialOptions,
    DeviceCodeCredential, HttpClient, OnBehalfOfCredential, RefreshTokenCredential,
    TokenCredential, TokenRequest, UserAssertion,
};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Secrets every credential below sends; none may show in an error.
const SECRETS: &[&str] = &[
    "client-secret-value",
    "assertion-value",
    "refresh-token-value",
    "user-assertion-value",
    "auth-code-value",
];

/// One token request by each kind of credential (each posts a different form), with `options`.
async fn one_request_per_credential(
    options: &dyn Fn() -> CredentialOptions,
) -> Vec<(&'static str, AuthError)> {
    let request = || TokenRequest::new([GRAPH_DEFAULT]);
    let mut outcomes: Vec<(&'static str, Result<(), AuthError>)> = Vec::new();

    let secret = ClientSecretCredential::with_options(
        TENANT,
        "app",
        ClientAuthentication::secret("client-secret-value"),
        options(),
    )
    .unwrap();
    outcomes.push((
        "client secret",
        secret.get_token(&request()).await.map(drop),
    ));

    let basic = ClientSecretCredential::with_options(
        TENANT,
        "app",
        ClientAuthentication::secret_basic("client-secret-value"),
        options(),
    )
    .unwrap();
    outcomes.push((
        "client secret (Basic)",
        basic.get_token(&request()).await.map(drop),
    ));

    let certificate =
        ClientCertificate::from_pem_parts(&fixture("cert.pem"), &fixture("key-pkcs8.pem")).unwrap();
    let certificate =
        ClientCertificateCredential::with_options(TENANT, "app", certificate, options()).unwrap();
    outcomes.push((
        "certificate",
        certificate.get_token(&request()).await.map(drop),
    ));

    let assertion = ClientAssertionCredential::with_options(
        TENANT,
        "app",
        msgraph_typed_auth::AssertionSource::callback(|| {
            Box::pin(async { Ok("assertion-value".to_string()) })
        }),
        options(),
    )
    .unwrap();
    outcomes.push((
        "federated assertion",
        assertion.get_token(&request()).await.map(drop),
    ));

    let obo = OnBehalfOfCredential::with_options(
        TENANT,
        "api",
        ClientAuthentication::secret("client-secret-value"),
        options(),
    )
    .unwrap();
    outcomes.push((
        "on-behalf-of",
        obo.get_token_for(&UserAssertion::new("user-assertion-value"), &request())
            .await
            .map(drop),
    ));

    let refresh = RefreshTokenCredential::with_options(
        TENANT,
        "app",
        "refresh-token-value",
        ClientAuthentication::none(),
        options(),
    )
    .unwrap();
    outcomes.push((
        "refresh token",
        refresh.get_token(&request()).await.map(drop),
    ));

    let flow = AuthorizationCodeFlow::with_options(
        TENANT,
        "app",
        "http://localhost/callback",
        ClientAuthentication::secret("client-secret-value"),
        options(),
    )
    .unwrap();
    let session = flow.start(["User.Read"]);
    outcomes.push((
        "authorization code",
        flow.redeem(&session, "auth-code-value").await.map(drop),
    ));

    let device = DeviceCodeCredential::with_options(
        TENANT,
        "app",
        ClientAuthentication::none(),
        |_| {},
        options(),
    )
    .unwrap();
    outcomes.push(("device code", device.get_token(&request()).await.map(drop)));

    outcomes
        .into_iter()
        .map(|(name, outcome)| match outcome {
            Ok(()) => panic!("{name}: a token was obtained"),
            Err(error) => (name, error),
        })
        .collect()
}

/// A server that answers every request with `status` and `Location: location`.
async fn redirecting(status: u16, location: &str) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(status).insert_header("Location", location))
        .mount(&server)
        .await;
    server
}

/// Callers' HTTP configurations that ask for redirects to be followed, which the SDK overrides.
fn http_configurations() -> Vec<(&'static str, Option<HttpClient>)> {
    vec![
        ("the SDK's default client", None),
        (
            "with_config asking for redirects",
            Some(
                HttpClient::with_config(|b| b.redirect(reqwest::redirect::Policy::limited(10)))
                    .unwrap(),
            ),
        ),
        (
            "from_builder asking for redirects",
            Some(
                HttpClient::from_builder(
                    reqwest::Client::builder().redirect(reqwest::redirect::Policy::limited(10)),
                )
                .unwrap(),
            ),
        ),
    ]
}

#[tokio::test]
async fn token_requests_never_follow_redirects() {
    // Where a redirect would send the form: a plain-http server that records what reaches it.
    let elsewhere = MockServer::start().await;
    mount_token(&elsewhere, token_body("stolen", 3600)).await;
    let elsewhere_http = format!("{}/steal", elsewhere.uri());
    for status in [307, 308, 301, 302, 303] {
        for (location, host) in [
            (elsewhere_http.as_str(), "127.0.0.1"),
            ("https://attacker.example/steal", "attacker.example"),
        ] {
            let authority = redirecting(status, location).await;
            for (configuration, http) in http_configurations() {
                let options = || match &http {
                    Some(http) => options(&authority).with_http_client(http.clone()),
                    None => options(&authority),
                };
                let outcomes = one_request_per_credential(&options).await;
                assert_eq!(outcomes.len(), 8);
                for (credential, error) in &outcomes {
                    let context = format!("{credential}, {status} to {location}, {configuration}");
                    match error {
                        AuthError::Redirected {
                            status: s,
                            location_host,
                        } => {
                            assert_eq!(*s, status, "{context}");
                            assert_eq!(location_host.as_deref(), Some(host), "{context}");
                        }
                        other => panic!("{context}: {other:?}"),
                    }
                    assert!(!error.is_retryable(), "{context}");
                    assert!(error.is_configuration(), "{context}");
                    let shown = format!("{error} {error:?}");
                    assert!(
                        shown.contains(&status.to_string()) && shown.contains(host),
                        "{shown}"
                    );
                    for secret in SECRETS {
                        assert!(!shown.contains(secret), "{context}: {shown}");
                    }
                }
                // One request per credential reached the authority (no quick retry of a
                // redirect), and none the redirect target.
                let received = authority.received_requests().await.unwrap();
                assert_eq!(received.len(), 8, "{status} {location} {configuration}");
                authority.reset().await;
                Mock::given(method("POST"))
                    .respond_with(ResponseTemplate::new(status).insert_header("Location", location))
                    .mount(&authority)
                    .await;
            }
        }
    }
    assert!(
        elsewhere.received_requests().await.unwrap().is_empty(),
        "a form reached the redirect target"
    );
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

#[tokio::test]
async fn an_oversized_token_answer_is_a_typed_error_read_no_further() {
    // 2 MiB of JSON against the 1 MiB default, declared by Content-Length.
    let huge = format!(
        r#"{{"token_type":"Bearer","expires_in":3600,"access_token":"{}"}}"#,
        "a".repeat(2 * 1024 * 1024)
    );
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(huge.clone(), "application/json"))
        .mount(&server)
        .await;
    let outcomes = one_request_per_credential(&|| options(&server)).await;
    for (credential, error) in outcomes {
        assert!(
            matches!(
                error,
                AuthError::ResponseTooLarge {
                    status: 200,
                    limit: 1_048_576
                }
            ),
            "{credential}: {error:?}"
        );
        assert!(error.to_string().contains("1048576"), "{error}");
    }

    // The same body gzip-compressed to a few kilobytes (a decompression bomb): the limit counts
    // decompressed bytes, and a smaller configured limit applies.
    let server = MockServer::start().await;
    let compressed = gzip(huge.as_bytes());
    assert!(compressed.len() < 64 * 1024, "{}", compressed.len());
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("Content-Encoding", "gzip")
                .set_body_raw(compressed, "application/json"),
        )
        .mount(&server)
        .await;
    let credential = ClientSecretCredential::with_options(
        TENANT,
        "app",
        ClientAuthentication::secret("client-secret-value"),
        options(&server).with_max_response_bytes(256 * 1024),
    )
    .unwrap();
    let error = credential
        .get_token(&TokenRequest::new([GRAPH_DEFAULT]))
        .await
        .unwrap_err();
    assert!(
        matches!(error, AuthError::ResponseTooLarge { limit: 262_144, .. }),
        "{error:?}"
    );

    // A token answer within the limit is read as usual.
    let server = MockServer::start().await;
    mount_token(&server, token_body("fits", 3600)).await;
    let credential = ClientSecretCredential::with_options(
        TENANT,
        "app",
        ClientAuthentication::secret("client-secret-value"),
        options(&server).with_max_response_bytes(1024),
    )
    .unwrap();
    let token = credential
        .get_token(&TokenRequest::new([GRAPH_DEFAULT]))
        .await
        .unwrap();
    assert_eq!(token.secret(), "fits");
}
