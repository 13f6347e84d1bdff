//! Authorization code with PKCE, refresh tokens with rotation, and the device code flow.

mod identity_support;

use std::collections::HashMap;

use identity_support::{assert_entra_error, http, pkce, start, token, verify_with_jwks};
use msgraph_typed_emulator::{Emulator, seeded};

const SCOPE: &str = "openid profile offline_access User.Read";

fn authorize_url(
    emu: &Emulator,
    client_id: &str,
    redirect_uri: &str,
    challenge: Option<&str>,
) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query
        .append_pair("client_id", client_id)
        .append_pair("response_type", "code")
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("scope", SCOPE)
        .append_pair("state", "xyz-state")
        .append_pair("nonce", "n-0S6_WzA2Mj");
    if let Some(challenge) = challenge {
        query
            .append_pair("code_challenge", challenge)
            .append_pair("code_challenge_method", "S256");
    }
    format!(
        "{}/{}/oauth2/v2.0/authorize?{}",
        emu.url(),
        emu.tenant_id(),
        query.finish()
    )
}

/// Follows `/authorize` and returns the redirect's query parameters.
async fn authorize(url: &str) -> HashMap<String, String> {
    let response = http().get(url).send().await.unwrap();
    assert_eq!(response.status(), 302, "{:?}", response.text().await);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    url::Url::parse(&location)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

async fn redeem(
    emu: &Emulator,
    code: &str,
    verifier: &str,
    redirect_uri: &str,
) -> (u16, serde_json::Value) {
    token(
        emu,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", seeded::PUBLIC_CLIENT_ID),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier),
            ("scope", SCOPE),
        ],
    )
    .await
}

#[tokio::test]
async fn auth_code_with_pkce_then_refresh_with_rotation() {
    let emu = start().await;
    let (verifier, challenge) = pkce();
    let redirect = "http://127.0.0.1:49152/callback";
    let params = authorize(&authorize_url(
        &emu,
        seeded::PUBLIC_CLIENT_ID,
        redirect,
        Some(&challenge),
    ))
    .await;
    assert_eq!(params["state"], "xyz-state");
    let code = &params["code"];

    let (status, body) = redeem(&emu, code, &verifier, redirect).await;
    assert_eq!(status, 200, "{body}");
    let claims = verify_with_jwks(
        &emu,
        body["access_token"].as_str().unwrap(),
        "https://graph.microsoft.com",
    )
    .await;
    let adele = emu.control().user("AdeleV@contoso.com").unwrap();
    assert_eq!(claims["oid"], adele.id);
    assert_eq!(claims["scp"], "User.Read");
    assert_eq!(claims["appid"], seeded::PUBLIC_CLIENT_ID);
    let id_claims = verify_with_jwks(
        &emu,
        body["id_token"].as_str().unwrap(),
        seeded::PUBLIC_CLIENT_ID,
    )
    .await;
    assert_eq!(id_claims["nonce"], "n-0S6_WzA2Mj");
    assert_eq!(id_claims["preferred_username"], "AdeleV@contoso.com");
    assert!(
        body["scope"]
            .as_str()
            .unwrap()
            .contains("https://graph.microsoft.com/User.Read")
    );
    let first_refresh = body["refresh_token"]
        .as_str()
        .expect("offline_access yields a refresh token")
        .to_owned();

    // The code is single-use.
    let (status, body) = redeem(&emu, code, &verifier, redirect).await;
    assert_eq!(status, 400);
    assert_entra_error(&body, "invalid_grant", 54005);

    // Refresh: a new pair, the old refresh token is spent.
    let refresh = |rt: String| {
        let emu = &emu;
        async move {
            token(
                emu,
                &[
                    ("grant_type", "refresh_token"),
                    ("client_id", seeded::PUBLIC_CLIENT_ID),
                    ("refresh_token", &rt),
                    ("scope", "User.Read offline_access"),
                ],
            )
            .await
        }
    };
    let (status, body) = refresh(first_refresh.clone()).await;
    assert_eq!(status, 200, "{body}");
    let second_refresh = body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(second_refresh, first_refresh);
    let (status, body) = refresh(first_refresh).await;
    assert_eq!(status, 400);
    assert_entra_error(&body, "invalid_grant", 50173);
    let (status, _) = refresh(second_refresh).await;
    assert_eq!(status, 200);
    assert_eq!(emu.control().token_requests_for_grant("refresh_token"), 3);
}

#[tokio::test]
async fn wrong_verifier_and_redirect_mismatch_are_rejected() {
    let emu = start().await;
    let (_, challenge) = pkce();
    let params = authorize(&authorize_url(
        &emu,
        seeded::PUBLIC_CLIENT_ID,
        seeded::REDIRECT_URI,
        Some(&challenge),
    ))
    .await;
    let code = &params["code"];
    let (status, body) = redeem(
        &emu,
        code,
        "a-different-verifier-0123456789-0123456789-0123456789",
        seeded::REDIRECT_URI,
    )
    .await;
    assert_eq!(status, 400);
    assert_entra_error(&body, "invalid_grant", 501481);
    let (status, body) = redeem(&emu, code, "irrelevant", "http://127.0.0.1:8765/other").await;
    assert_eq!(status, 400);
    assert_entra_error(&body, "invalid_grant", 500112);
}

#[tokio::test]
async fn authorize_validates_the_request() {
    let emu = start().await;
    let (_, challenge) = pkce();
    // Unknown client and foreign redirect URIs get an error page, not a redirect.
    let response = http()
        .get(authorize_url(
            &emu,
            "99999999-9999-4999-8999-999999999999",
            seeded::REDIRECT_URI,
            Some(&challenge),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert!(response.text().await.unwrap().contains("AADSTS700016"));
    let response = http()
        .get(authorize_url(
            &emu,
            seeded::WEB_APP_CLIENT_ID,
            "https://evil.example/cb",
            Some(&challenge),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert!(response.text().await.unwrap().contains("AADSTS50011"));
    // A public client needs PKCE; plain is refused.
    let params = authorize(&authorize_url(
        &emu,
        seeded::PUBLIC_CLIENT_ID,
        seeded::REDIRECT_URI,
        None,
    ))
    .await;
    assert_eq!(params["error"], "invalid_request");
    assert_eq!(params["state"], "xyz-state");
    let plain = authorize_url(
        &emu,
        seeded::PUBLIC_CLIENT_ID,
        seeded::REDIRECT_URI,
        Some(&challenge),
    )
    .replace("code_challenge_method=S256", "code_challenge_method=plain");
    let params = authorize(&plain).await;
    assert_eq!(params["error"], "invalid_request");
    let token_type = authorize_url(
        &emu,
        seeded::PUBLIC_CLIENT_ID,
        seeded::REDIRECT_URI,
        Some(&challenge),
    )
    .replace("response_type=code", "response_type=token");
    let params = authorize(&token_type).await;
    assert_eq!(params["error"], "unsupported_response_type");
}

#[tokio::test]
async fn confidential_web_app_redeems_with_its_secret() {
    let emu = start().await;
    let (verifier, challenge) = pkce();
    let params = authorize(&authorize_url(
        &emu,
        seeded::WEB_APP_CLIENT_ID,
        seeded::REDIRECT_URI,
        Some(&challenge),
    ))
    .await;
    let form = |secret: &'static str| {
        vec![
            ("grant_type", "authorization_code"),
            ("client_id", seeded::WEB_APP_CLIENT_ID),
            ("client_secret", secret),
            ("code", params["code"].as_str()),
            ("redirect_uri", seeded::REDIRECT_URI),
            ("code_verifier", verifier.as_str()),
        ]
    };
    let (status, body) = token(&emu, &form("wrong")).await;
    assert_eq!(status, 401);
    assert_entra_error(&body, "invalid_client", 7000215);
    let (status, body) = token(&emu, &form(seeded::WEB_APP_CLIENT_SECRET)).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn device_code_is_pending_then_succeeds_once() {
    let emu = start().await;
    let response = http()
        .post(format!(
            "{}/organizations/oauth2/v2.0/devicecode",
            emu.url()
        ))
        .form(&[
            ("client_id", seeded::PUBLIC_CLIENT_ID),
            ("scope", "User.Read offline_access"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let device: serde_json::Value = response.json().await.unwrap();
    for field in ["user_code", "device_code", "verification_uri", "message"] {
        assert!(device[field].is_string(), "{field}");
    }
    assert!(device["interval"].as_u64().unwrap() >= 1);
    assert_eq!(device["expires_in"], 900);
    let device_code = device["device_code"].as_str().unwrap().to_owned();
    let form = [
        ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
        ("client_id", seeded::PUBLIC_CLIENT_ID),
        ("device_code", device_code.as_str()),
    ];
    let poll = || token(&emu, &form);
    let (status, body) = poll().await;
    assert_eq!(status, 400);
    assert_entra_error(&body, "authorization_pending", 70016);
    let (status, body) = poll().await;
    assert_eq!(status, 200, "{body}");
    assert!(body["refresh_token"].is_string());
    let (status, body) = poll().await;
    assert_eq!(status, 400);
    assert_entra_error(&body, "invalid_grant", 70000);
}

#[tokio::test]
async fn signed_in_user_can_be_changed() {
    let emu = start().await;
    let control = emu.control();
    assert!(control.set_signed_in_user("nobody@contoso.com").is_err());
    let megan = control.user("MeganB@contoso.com").expect("seeded user");
    control
        .set_signed_in_user(&megan.user_principal_name)
        .unwrap();
    let (verifier, challenge) = pkce();
    let params = authorize(&authorize_url(
        &emu,
        seeded::PUBLIC_CLIENT_ID,
        seeded::REDIRECT_URI,
        Some(&challenge),
    ))
    .await;
    let (status, body) = redeem(&emu, &params["code"], &verifier, seeded::REDIRECT_URI).await;
    assert_eq!(status, 200);
    let claims = verify_with_jwks(
        &emu,
        body["access_token"].as_str().unwrap(),
        "https://graph.microsoft.com",
    )
    .await;
    assert_eq!(claims["oid"], megan.id);
}

#[tokio::test]
async fn form_post_response_mode_returns_an_auto_submitting_form() {
    let emu = start().await;
    let (_, challenge) = pkce();
    let url = format!(
        "{}&response_mode=form_post",
        authorize_url(
            &emu,
            seeded::PUBLIC_CLIENT_ID,
            seeded::REDIRECT_URI,
            Some(&challenge)
        )
    );
    let response = http().get(url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(html.contains("method=\"POST\""), "{html}");
    assert!(
        html.contains(&format!("action=\"{}\"", seeded::REDIRECT_URI)),
        "{html}"
    );
    assert!(html.contains("name=\"code\""), "{html}");
    assert!(
        html.contains("name=\"state\" value=\"xyz-state\""),
        "{html}"
    );
}

#[tokio::test]
async fn client_info_is_returned_for_user_flows_that_ask_for_it() {
    let emu = start().await;
    let (verifier, challenge) = pkce();
    let redirect = "http://127.0.0.1:5123/cb";
    let params = authorize(&authorize_url(
        &emu,
        seeded::PUBLIC_CLIENT_ID,
        redirect,
        Some(&challenge),
    ))
    .await;
    let (status, body) = token(
        &emu,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", seeded::PUBLIC_CLIENT_ID),
            ("code", &params["code"]),
            ("redirect_uri", redirect),
            ("code_verifier", &verifier),
            ("scope", SCOPE),
            ("client_info", "1"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    use base64::Engine;
    let raw = body["client_info"].as_str().expect("client_info");
    let decoded: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(raw)
            .unwrap(),
    )
    .unwrap();
    let adele = emu
        .control()
        .user(msgraph_typed_emulator::DEFAULT_SIGNED_IN_USER)
        .unwrap();
    assert_eq!(
        decoded,
        serde_json::json!({"uid": adele.id, "utid": emu.tenant_id()})
    );
    // Refreshing keeps it; without client_info=1 there is none.
    let refresh = body["refresh_token"].as_str().unwrap().to_owned();
    let (status, refreshed) = token(
        &emu,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", seeded::PUBLIC_CLIENT_ID),
            ("refresh_token", &refresh),
            ("scope", SCOPE),
            ("client_info", "1"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{refreshed}");
    assert_eq!(refreshed["client_info"], body["client_info"]);
    let rotated = refreshed["refresh_token"].as_str().unwrap().to_owned();
    let (_, plain) = token(
        &emu,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", seeded::PUBLIC_CLIENT_ID),
            ("refresh_token", &rotated),
            ("scope", SCOPE),
        ],
    )
    .await;
    assert!(plain.get("client_info").is_none(), "{plain}");
}

#[tokio::test]
async fn app_only_tokens_carry_no_client_info() {
    let emu = start().await;
    let (status, body) = token(
        &emu,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", seeded::DAEMON_CLIENT_ID),
            ("client_secret", seeded::DAEMON_CLIENT_SECRET),
            ("scope", "https://graph.microsoft.com/.default"),
            ("client_info", "1"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("client_info").is_none(), "{body}");
}
