//! On-behalf-of: a web API exchanges an incoming user token for a Graph token.

mod identity_support;

use identity_support::{assert_entra_error, start, token, verify_with_jwks};
use msgraph_typed_emulator::{Emulator, InteractionRequirement, seeded};

const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const ADELE: &str = "AdeleV@contoso.com";

async fn obo(emu: &Emulator, assertion: &str, scope: &str) -> (u16, serde_json::Value) {
    token(
        emu,
        &[
            ("grant_type", JWT_BEARER),
            ("requested_token_use", "on_behalf_of"),
            ("client_id", seeded::WEB_API_CLIENT_ID),
            ("client_secret", seeded::WEB_API_CLIENT_SECRET),
            ("assertion", assertion),
            ("scope", scope),
        ],
    )
    .await
}

#[tokio::test]
async fn obo_returns_a_graph_token_for_the_same_user() {
    let emu = start().await;
    let control = emu.control();
    let adele = control.user(ADELE).expect("seeded user");
    for audience in [seeded::WEB_API_CLIENT_ID, seeded::WEB_API_APP_ID_URI] {
        let incoming = control
            .issue_user_token(ADELE, audience, &["access_as_user"])
            .unwrap();
        let (status, body) = obo(&emu, &incoming, "https://graph.microsoft.com/User.Read https://graph.microsoft.com/GroupMember.Read.All").await;
        assert_eq!(status, 200, "{body}");
        assert!(body.get("id_token").is_none());
        let claims = verify_with_jwks(
            &emu,
            body["access_token"].as_str().unwrap(),
            "https://graph.microsoft.com",
        )
        .await;
        assert_eq!(claims["oid"], adele.id);
        assert_eq!(claims["appid"], seeded::WEB_API_CLIENT_ID);
        assert_eq!(claims["scp"], "User.Read GroupMember.Read.All");
        assert_eq!(claims["idtyp"], "user");
    }
    assert_eq!(control.token_requests_for_grant(JWT_BEARER), 2);
}

#[tokio::test]
async fn wrong_audience_is_50013() {
    let emu = start().await;
    let incoming = emu
        .control()
        .issue_user_token(ADELE, "https://graph.microsoft.com", &["User.Read"])
        .unwrap();
    let (status, body) = obo(&emu, &incoming, "https://graph.microsoft.com/.default").await;
    assert_eq!(status, 400);
    assert_entra_error(&body, "invalid_grant", 50013);
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("audience")
    );
}

#[tokio::test]
async fn expired_assertion_is_500133() {
    let emu = start().await;
    let incoming = emu
        .control()
        .issue_expired_user_token(ADELE, seeded::WEB_API_CLIENT_ID, &["access_as_user"])
        .unwrap();
    let (status, body) = obo(&emu, &incoming, "https://graph.microsoft.com/.default").await;
    assert_eq!(status, 400);
    assert_entra_error(&body, "invalid_grant", 500133);
}

#[tokio::test]
async fn a_token_from_another_emulator_fails_signature_or_issuer_checks() {
    let emu = start().await;
    let other = Emulator::builder()
        .fresh_signing_key(true)
        .start()
        .await
        .unwrap();
    let foreign = other
        .control()
        .issue_user_token(ADELE, seeded::WEB_API_CLIENT_ID, &["access_as_user"])
        .unwrap();
    let (status, body) = obo(&emu, &foreign, "https://graph.microsoft.com/.default").await;
    assert_eq!(status, 400);
    assert_entra_error(&body, "invalid_grant", 50013);
}

#[tokio::test]
async fn mfa_requirement_answers_interaction_required_with_claims() {
    let emu = start().await;
    let control = emu.control();
    control
        .require_interaction(ADELE, InteractionRequirement::Mfa)
        .unwrap();
    let incoming = control
        .issue_user_token(ADELE, seeded::WEB_API_CLIENT_ID, &["access_as_user"])
        .unwrap();
    let (status, body) = obo(&emu, &incoming, "https://graph.microsoft.com/.default").await;
    assert_eq!(status, 400);
    assert_entra_error(&body, "interaction_required", 50076);
    let claims: serde_json::Value =
        serde_json::from_str(body["claims"].as_str().expect("claims")).unwrap();
    assert!(claims["access_token"].is_object(), "{claims}");

    control.clear_interaction(ADELE);
    let (status, _) = obo(&emu, &incoming, "https://graph.microsoft.com/.default").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn consent_requirement_answers_65001_consent_required() {
    let emu = start().await;
    emu.control()
        .require_interaction(ADELE, InteractionRequirement::Consent)
        .unwrap();
    let incoming = emu
        .control()
        .issue_user_token(ADELE, seeded::WEB_API_CLIENT_ID, &["access_as_user"])
        .unwrap();
    let (status, body) = obo(&emu, &incoming, "https://graph.microsoft.com/.default").await;
    assert_eq!(status, 400);
    assert_entra_error(&body, "invalid_grant", 65001);
    assert_eq!(body["suberror"], "consent_required");
}

#[tokio::test]
async fn obo_needs_a_confidential_client_and_the_right_token_use() {
    let emu = start().await;
    let incoming = emu
        .control()
        .issue_user_token(ADELE, seeded::WEB_API_CLIENT_ID, &["access_as_user"])
        .unwrap();
    let (status, body) = token(
        &emu,
        &[
            ("grant_type", JWT_BEARER),
            ("requested_token_use", "on_behalf_of"),
            ("client_id", seeded::WEB_API_CLIENT_ID),
            ("client_secret", "bad"),
            ("assertion", &incoming),
            ("scope", "https://graph.microsoft.com/.default"),
        ],
    )
    .await;
    assert_eq!(status, 401);
    assert_entra_error(&body, "invalid_client", 7000215);

    let (status, body) = token(
        &emu,
        &[
            ("grant_type", JWT_BEARER),
            ("client_id", seeded::WEB_API_CLIENT_ID),
            ("client_secret", seeded::WEB_API_CLIENT_SECRET),
            ("assertion", &incoming),
            ("scope", "https://graph.microsoft.com/.default"),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert_entra_error(&body, "invalid_request", 900144);
}
