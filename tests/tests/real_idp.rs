//! msgraph-typed-auth against a real OAuth 2.0 server nobody on this project wrote: `oidc-provider`
//! configured like Entra ID (tests/idp). Client credentials (post and basic), on-behalf-of,
//! authorization code + PKCE, refresh-token rotation and short-lived tokens.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use msgraph_typed_auth::{
    AuthorizationCodeFlow, ClientAuthentication, ClientSecretCredential, Cloud, CredentialOptions,
    ManagerOptions, OnBehalfOfCredential, RefreshTokenCredential, ResponseMode, TokenCredential,
    TokenRequest, UserAssertion,
};
use secrecy::ExposeSecret;
use tests::idp::{IDP_REDIRECT, IDP_TENANT, Idp, jwt_claims};

const GRAPH_DEFAULT: &str = "https://graph.microsoft.com/.default";
const GRAPH_USER_READ: &str = "https://graph.microsoft.com/User.Read";

fn options(idp: &Idp) -> CredentialOptions {
    CredentialOptions::default()
        .with_cloud(Cloud::custom(&idp.authority(), "http://127.0.0.1:1/").unwrap())
        .with_retry_delay(Duration::from_millis(100))
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn secret(client: &str, basic: bool) -> ClientAuthentication {
    let s = format!("{client}-secret");
    if basic {
        ClientAuthentication::secret_basic(s)
    } else {
        ClientAuthentication::secret(s)
    }
}

#[tokio::test]
async fn client_credentials_with_secret_in_body_and_basic() {
    if !tests::external::node_idp_available() {
        return;
    }
    let idp = Idp::start().await;
    for (client, basic) in [("cc-post", false), ("cc-basic", true)] {
        let credential = ClientSecretCredential::with_options(
            IDP_TENANT,
            client,
            secret(client, basic),
            options(&idp),
        )
        .unwrap();
        let token = credential
            .get_token(&TokenRequest::new([GRAPH_DEFAULT]))
            .await
            .unwrap();
        let claims = jwt_claims(token.secret());
        assert_eq!(claims["aud"], "https://graph.microsoft.com", "{client}");
        assert_eq!(claims["azp"], client);
        assert_eq!(claims["tid"], IDP_TENANT);
        let exp = claims["exp"].as_u64().unwrap();
        let expires_on = token
            .expires_on()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!(
            exp.abs_diff(expires_on) <= 2,
            "expires_on follows expires_in ({exp} vs {expires_on})"
        );
        // cached: the same token again
        let again = credential
            .get_token(&TokenRequest::new([GRAPH_DEFAULT]))
            .await
            .unwrap();
        assert_eq!(again.secret(), token.secret());
    }

    let wrong = ClientSecretCredential::with_options(
        IDP_TENANT,
        "cc-basic",
        ClientAuthentication::secret_basic("wrong"),
        options(&idp),
    )
    .unwrap();
    let error = wrong
        .get_token(&TokenRequest::new([GRAPH_DEFAULT]))
        .await
        .unwrap_err();
    assert_eq!(error.error_code(), Some("invalid_client"), "{error}");
    assert!(error.is_configuration() && !error.is_retryable());

    let bad_scope = ClientSecretCredential::with_options(
        IDP_TENANT,
        "cc-post",
        secret("cc-post", false),
        options(&idp),
    )
    .unwrap();
    let error = bad_scope
        .get_token(&TokenRequest::new([GRAPH_USER_READ]))
        .await
        .unwrap_err();
    assert_eq!(error.error_code(), Some("invalid_scope"), "{error}");
    assert!(error.is_configuration());
}

#[tokio::test]
async fn short_lived_tokens_are_never_handed_out_expired() {
    if !tests::external::node_idp_available() {
        return;
    }
    // JWT `exp` is whole seconds: the 2 s skew absorbs the truncation and the round trip.
    let idp = Idp::start_with(&[("SHORT_TTL", "4")]).await;
    let credential = ClientSecretCredential::with_options(
        IDP_TENANT,
        "cc-short",
        secret("cc-short", false),
        options(&idp)
            .with_manager_options(ManagerOptions::default().with_skew(Duration::from_secs(2))),
    )
    .unwrap();
    let request = TokenRequest::new([GRAPH_DEFAULT]);
    let started = std::time::Instant::now();
    let mut distinct = std::collections::HashSet::new();
    while started.elapsed() < Duration::from_secs(12) {
        let token = credential.get_token(&request).await.unwrap();
        let exp = jwt_claims(token.secret())["exp"].as_u64().unwrap();
        assert!(
            exp > now_secs(),
            "handed out a token the server says is expired"
        );
        assert!(!token.is_expired_at(SystemTime::now(), Duration::from_secs(1)));
        distinct.insert(token.secret().to_string());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        distinct.len() >= 3,
        "several lifetimes were crossed: {} tokens",
        distinct.len()
    );
}

#[tokio::test]
async fn on_behalf_of_exchanges_the_users_token_and_types_interaction_required() {
    if !tests::external::node_idp_available() {
        return;
    }
    let idp = Idp::start().await;
    let obo = OnBehalfOfCredential::with_options(
        IDP_TENANT,
        "obo-api",
        secret("obo-api", false),
        options(&idp),
    )
    .unwrap();
    let request = TokenRequest::new([GRAPH_USER_READ]);
    for user in ["carol", "dave"] {
        let incoming = idp.mint_assertion("api://obo-api", user, serde_json::json!({}));
        let token = obo
            .get_token_for(&UserAssertion::new(incoming), &request)
            .await
            .unwrap();
        let claims = jwt_claims(token.secret());
        assert_eq!(claims["sub"], user);
        assert_eq!(claims["azp"], "obo-api");
        assert_eq!(claims["aud"], "https://graph.microsoft.com");
    }
    // A token whose audience is another app is refused by the server.
    let wrong_aud = idp.mint_assertion("api://someone-else", "erin", serde_json::json!({}));
    let error = obo
        .get_token_for(&UserAssertion::new(wrong_aud), &request)
        .await
        .unwrap_err();
    assert_eq!(error.error_code(), Some("invalid_grant"), "{error}");
    assert!(
        error.is_interaction_required(),
        "the caller needs a new token"
    );
    // Conditional access: interaction_required with claims for the web API's own 401.
    let blocked = idp.mint_assertion(
        "api://obo-api",
        "frank",
        serde_json::json!({"xms_test_error": "interaction_required"}),
    );
    let error = obo
        .for_user(UserAssertion::new(blocked))
        .get_token(&TokenRequest::new([GRAPH_DEFAULT]))
        .await
        .unwrap_err();
    assert!(
        error.is_interaction_required() && !error.is_retryable(),
        "{error}"
    );
    assert!(error.claims().unwrap().contains("capolids"), "{error:?}");
    assert_eq!(error.entra_error().unwrap().error_codes, vec![50079]);
}

#[tokio::test]
async fn authorization_code_with_pkce_then_refresh_token_rotation() {
    if !tests::external::node_idp_available() {
        return;
    }
    let idp = Idp::start().await;
    let flow = AuthorizationCodeFlow::with_options(
        IDP_TENANT,
        "public-app",
        IDP_REDIRECT,
        ClientAuthentication::none(),
        options(&idp),
    )
    .unwrap();
    let session = flow
        .start(["openid", "profile", "offline_access", GRAPH_USER_READ])
        .with_response_mode(ResponseMode::Query)
        .with_login_hint("alice");
    let redirected = idp.scripted_login(session.url().unwrap().as_str()).await;
    let code = session.code_from_redirect(&redirected).unwrap();
    let credential = flow.redeem(&session, &code).await.unwrap();
    let request = TokenRequest::new([GRAPH_USER_READ]);
    let first = credential.get_token(&request).await.unwrap();
    let claims = jwt_claims(first.secret());
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["scp"], "User.Read");
    let rt1 = credential
        .current_refresh_token()
        .await
        .unwrap()
        .expose_secret()
        .to_string();

    // A forced refresh redeems the refresh token; the server rotates it.
    let second = credential
        .get_token(&request.clone().with_force_refresh(true))
        .await
        .unwrap();
    assert_ne!(second.secret(), first.secret());
    assert_eq!(jwt_claims(second.secret())["sub"], "alice");
    let rt2 = credential
        .current_refresh_token()
        .await
        .unwrap()
        .expose_secret()
        .to_string();
    assert_ne!(rt1, rt2, "the refresh token rotated");
    // and again, with the rotated one
    credential
        .get_token(&request.clone().with_force_refresh(true))
        .await
        .unwrap();
    let rt3 = credential
        .current_refresh_token()
        .await
        .unwrap()
        .expose_secret()
        .to_string();
    assert_ne!(rt2, rt3);

    // The first refresh token was consumed: replaying it fails (and revokes the grant).
    let replay = RefreshTokenCredential::with_options(
        IDP_TENANT,
        "public-app",
        rt1,
        ClientAuthentication::none(),
        options(&idp),
    )
    .unwrap();
    let error = replay.get_token(&request).await.unwrap_err();
    assert_eq!(error.error_code(), Some("invalid_grant"), "{error}");
    assert!(error.is_interaction_required());

    // A forged state is refused before any code is redeemed.
    let other = flow
        .start(["openid", GRAPH_USER_READ])
        .with_response_mode(ResponseMode::Query);
    assert!(other.code_from_redirect(&redirected).is_err());
}

#[tokio::test]
async fn confidential_web_app_signs_in_bob_and_refreshes_after_expiry() {
    if !tests::external::node_idp_available() {
        return;
    }
    let idp = Idp::start_with(&[("SHORT_TTL", "3")]).await;
    let flow = AuthorizationCodeFlow::with_options(
        IDP_TENANT,
        "web-app-short",
        IDP_REDIRECT,
        secret("web-app-short", true),
        options(&idp)
            .with_manager_options(ManagerOptions::default().with_skew(Duration::from_secs(1))),
    )
    .unwrap();
    let session = flow
        .start([
            "openid",
            "offline_access",
            "https://graph.microsoft.com/Mail.Read",
        ])
        .with_response_mode(ResponseMode::Query)
        .with_login_hint("bob");
    let code = session
        .code_from_redirect(&idp.scripted_login(session.url().unwrap().as_str()).await)
        .unwrap();
    let credential = flow.redeem(&session, &code).await.unwrap();
    let request = TokenRequest::new(["https://graph.microsoft.com/Mail.Read"]);
    let first = credential.get_token(&request).await.unwrap();
    assert_eq!(
        jwt_claims(first.secret())["preferred_username"],
        "bob@contoso.test"
    );
    tokio::time::sleep(Duration::from_secs(4)).await;
    // The first token has expired; the credential refreshes with the refresh token by itself.
    let second = credential.get_token(&request).await.unwrap();
    assert_ne!(second.secret(), first.secret());
    assert!(jwt_claims(second.secret())["exp"].as_u64().unwrap() > now_secs());
}
