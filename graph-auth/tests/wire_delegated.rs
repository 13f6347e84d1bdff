//! Exact request shapes of the delegated flows: on-behalf-of, refresh-token
//! rotation, authorization code + PKCE and device code, against a wiremock token endpoint.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use msgraph_typed_auth::{
    AuthorizationCodeFlow, ClientAuthentication, DeviceCodeCredential, OnBehalfOfCredential,
    RefreshTokenCredential, ResponseMode, TokenCredential, TokenRequest, UserAssertion,
};
use secrecy::ExposeSecret;
use serde_json::json;
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const GRAPH_USER_READ: &str = "https://graph.microsoft.com/User.Read";

#[tokio::test]
async fn obo_shape_per_user_cache_and_hashed_partition() {
    let server = MockServer::start().await;
    mount_token(&server, token_body("graph-token", 3600)).await;
    let obo = OnBehalfOfCredential::with_options(
        TENANT,
        "web-api",
        ClientAuthentication::secret("api-secret"),
        options(&server),
    )
    .unwrap();
    let request = TokenRequest::new([GRAPH_USER_READ]);
    let alice = UserAssertion::new("alice-incoming-token");
    let bob = UserAssertion::new("bob-incoming-token");
    obo.get_token_for(&alice, &request).await.unwrap();
    obo.get_token_for(&alice, &request).await.unwrap();
    obo.for_user(bob.clone()).get_token(&request).await.unwrap();
    let received = server.received_requests().await.unwrap();
    assert_eq!(
        received.len(),
        2,
        "one request per user, the second alice call is cached"
    );
    let f = form(&received[0]);
    assert_eq!(
        f["grant_type"],
        "urn:ietf:params:oauth:grant-type:jwt-bearer"
    );
    assert_eq!(f["assertion"], "alice-incoming-token");
    assert_eq!(f["requested_token_use"], "on_behalf_of");
    assert_eq!(f["scope"], GRAPH_USER_READ);
    assert_eq!(f["client_id"], "web-api");
    assert_eq!(f["client_secret"], "api-secret");
    assert_eq!(form(&received[1])["assertion"], "bob-incoming-token");
    assert_library_headers(&received[0]);
    // the partition is base64url(SHA-256(assertion)), never the assertion
    assert_eq!(
        alice.partition(),
        msgraph_typed_auth::hash_secret("alice-incoming-token")
    );
    assert!(!format!("{alice:?}").contains("alice-incoming-token"));
}

#[tokio::test]
async fn obo_interaction_required_is_typed_with_claims() {
    let server = MockServer::start().await;
    let claims = r#"{"access_token":{"capolids":{"essential":true,"values":["ca01"]}}}"#;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "interaction_required",
            "error_description": "AADSTS50079: Due to a configuration change made by your administrator, you must enroll in multi-factor authentication.",
            "error_codes": [50079],
            "suberror": "basic_action",
            "claims": claims,
        })))
        .mount(&server)
        .await;
    let obo = OnBehalfOfCredential::with_options(
        TENANT,
        "web-api",
        ClientAuthentication::secret("s"),
        options(&server),
    )
    .unwrap();
    let error = obo
        .get_token_for(
            &UserAssertion::new("user-token"),
            &TokenRequest::new([GRAPH_DEFAULT]),
        )
        .await
        .unwrap_err();
    assert!(error.is_interaction_required() && !error.is_retryable());
    assert_eq!(error.claims(), Some(claims));
    assert_eq!(
        error.entra_error().unwrap().suberror.as_deref(),
        Some("basic_action")
    );
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        1,
        "never retried silently"
    );
    assert!(
        OnBehalfOfCredential::new(TENANT, "web-api", ClientAuthentication::none())
            .unwrap_err()
            .is_configuration(),
        "OBO needs client authentication"
    );
}

#[tokio::test]
async fn refresh_token_rotates_on_every_redemption() {
    let server = MockServer::start().await;
    for (old, new) in [("rt-1", "rt-2"), ("rt-2", "rt-3")] {
        Mock::given(method("POST"))
            .and(path(token_path()))
            .and(body_string_contains(format!("refresh_token={old}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "token_type": "Bearer", "access_token": format!("at-from-{old}"), "expires_in": 3600,
                "refresh_token": new,
            })))
            .mount(&server)
            .await;
    }
    let credential = RefreshTokenCredential::with_options(
        TENANT,
        "public-app",
        "rt-1",
        ClientAuthentication::none(),
        options(&server),
    )
    .unwrap();
    let request = TokenRequest::new([GRAPH_USER_READ]);
    assert_eq!(
        credential.get_token(&request).await.unwrap().secret(),
        "at-from-rt-1"
    );
    assert_eq!(
        credential
            .current_refresh_token()
            .await
            .unwrap()
            .expose_secret(),
        "rt-2"
    );
    assert_eq!(
        credential.get_token(&request).await.unwrap().secret(),
        "at-from-rt-1",
        "cached"
    );
    assert_eq!(
        credential
            .get_token(&request.clone().with_force_refresh(true))
            .await
            .unwrap()
            .secret(),
        "at-from-rt-2"
    );
    assert_eq!(
        credential
            .current_refresh_token()
            .await
            .unwrap()
            .expose_secret(),
        "rt-3"
    );
    let received = server.received_requests().await.unwrap();
    assert_eq!(received.len(), 2);
    let f = form(&received[0]);
    assert_eq!(f["grant_type"], "refresh_token");
    assert_eq!(f["client_id"], "public-app");
    assert_eq!(f["scope"], GRAPH_USER_READ);
    assert!(!f.contains_key("client_secret"));
}

#[tokio::test]
async fn authorization_code_with_pkce_redeems_and_caches() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(body_string_contains("grant_type=refresh_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "token_type": "Bearer", "access_token": "refreshed-at", "expires_in": 3600, "refresh_token": "code-rt-2",
        })))
        .mount(&server)
        .await;
    let redirect = "http://127.0.0.1:8765/callback";
    let flow = AuthorizationCodeFlow::with_options(
        TENANT,
        "web-app",
        redirect,
        ClientAuthentication::secret("web-secret"),
        options(&server),
    )
    .unwrap();
    let session = flow
        .start(["openid", "offline_access", GRAPH_USER_READ])
        .with_response_mode(ResponseMode::Query);
    // The ID token carries the session's nonce (OIDC Core 3.1.3.7; checked at redemption).
    let id_token = format!(
        "eyJhbGciOiJSUzI1NiJ9.{}.sig",
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(json!({ "nonce": session.nonce() }).to_string())
    );
    Mock::given(method("POST"))
        .and(body_string_contains("grant_type=authorization_code"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "token_type": "Bearer", "access_token": "code-at", "expires_in": 3600, "refresh_token": "code-rt",
            "id_token": id_token, "scope": GRAPH_USER_READ,
        })))
        .mount(&server)
        .await;
    let url = session.url().unwrap();
    assert!(
        url.as_str()
            .starts_with(&format!("{}/{TENANT}/oauth2/v2.0/authorize?", server.uri()))
    );
    let challenge = url
        .query_pairs()
        .find(|(k, _)| k == "code_challenge")
        .unwrap()
        .1
        .into_owned();
    let code = session
        .code_from_redirect(&format!(
            "{redirect}?code=the-code&state={}",
            session.state()
        ))
        .unwrap();
    let credential = flow.redeem(&session, &code).await.unwrap();
    let request = TokenRequest::new([GRAPH_USER_READ]);
    assert_eq!(
        credential.get_token(&request).await.unwrap().secret(),
        "code-at",
        "cached at redemption"
    );
    let received = server.received_requests().await.unwrap();
    assert_eq!(received.len(), 1);
    let f = form(&received[0]);
    assert_eq!(f["code"], "the-code");
    assert_eq!(f["redirect_uri"], redirect);
    assert_eq!(f["client_secret"], "web-secret");
    // The verifier sent hashes to the challenge in the URL (S256).
    use base64::Engine;
    use sha2::Digest;
    let verifier = &f["code_verifier"];
    assert!(verifier.len() >= 43);
    assert_eq!(
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(sha2::Sha256::digest(verifier.as_bytes())),
        challenge
    );
    // Refresh uses the refresh token from the redemption and keeps the rotated one.
    let refreshed = credential
        .get_token(&request.clone().with_force_refresh(true))
        .await
        .unwrap();
    assert_eq!(refreshed.secret(), "refreshed-at");
    let received = server.received_requests().await.unwrap();
    assert_eq!(form(&received[1])["refresh_token"], "code-rt");
    assert_eq!(
        credential
            .current_refresh_token()
            .await
            .unwrap()
            .expose_secret(),
        "code-rt-2"
    );
}

#[tokio::test]
async fn device_code_shows_the_code_and_polls_until_signed_in() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/{TENANT}/oauth2/v2.0/devicecode")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "device_code": "dev-code", "user_code": "ABCD-EFGH", "verification_uri": "https://microsoft.com/devicelogin",
            "expires_in": 900, "interval": 1, "message": "To sign in, use a web browser...",
        })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(token_path()))
        .respond_with(
            ResponseTemplate::new(400).set_body_json(json!({"error": "authorization_pending"})),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(token_path()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "token_type": "Bearer", "access_token": "device-at", "expires_in": 3600, "refresh_token": "device-rt",
        })))
        .mount(&server)
        .await;
    let shown = Arc::new(Mutex::new(Vec::new()));
    let sink = shown.clone();
    let credential = DeviceCodeCredential::with_options(
        TENANT,
        "public-app",
        ClientAuthentication::none(),
        move |info| sink.lock().unwrap().push(info.user_code.clone()),
        options(&server),
    )
    .unwrap();
    let started = std::time::Instant::now();
    let token = credential
        .get_token(&TokenRequest::new([GRAPH_USER_READ]))
        .await
        .unwrap();
    assert_eq!(token.secret(), "device-at");
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "polled at the server's interval"
    );
    assert_eq!(*shown.lock().unwrap(), vec!["ABCD-EFGH".to_string()]);
    let received = server.received_requests().await.unwrap();
    assert_eq!(received.len(), 3);
    let device = form(&received[0]);
    assert_eq!(
        (device["client_id"].as_str(), device["scope"].as_str()),
        (
            "public-app",
            "https://graph.microsoft.com/User.Read offline_access"
        ),
        "offline_access is added so the user signs in once"
    );
    let poll = form(&received[2]);
    assert_eq!(
        poll["grant_type"],
        "urn:ietf:params:oauth:grant-type:device_code"
    );
    assert_eq!(poll["device_code"], "dev-code");
}
