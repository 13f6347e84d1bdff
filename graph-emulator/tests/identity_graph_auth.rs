//! Graph routes demand a valid emulator token for Microsoft Graph.

mod identity_support;

use std::time::Duration;

use identity_support::{client_credentials, http, start};
use msgraph_typed_emulator::{Emulator, seeded};

async fn users(emu: &Emulator, token: Option<&str>) -> reqwest::Response {
    let mut request = http().get(format!("{}/users", emu.graph_url()));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

async fn assert_unauthorized(response: reqwest::Response) {
    assert_eq!(response.status(), 401);
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(challenge.starts_with("Bearer realm=\"\""), "{challenge}");
    assert!(
        challenge.contains("client_id=\"00000003-0000-0000-c000-000000000000\""),
        "{challenge}"
    );
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        body["error"]["code"], "InvalidAuthenticationToken",
        "{body}"
    );
    assert!(
        body["error"]["innerError"]["request-id"].is_string(),
        "{body}"
    );
}

#[tokio::test]
async fn a_client_credentials_token_is_accepted() {
    let emu = start().await;
    let token = client_credentials(&emu).await;
    assert_eq!(users(&emu, Some(&token)).await.status(), 200);
    assert_eq!(emu.control().graph_requests(), 1);
}

#[tokio::test]
async fn missing_garbage_and_wrong_audience_tokens_get_401() {
    let emu = start().await;
    assert_unauthorized(users(&emu, None).await).await;
    assert_unauthorized(users(&emu, Some("not-a-jwt")).await).await;
    let api_token = emu
        .control()
        .issue_user_token(
            "AdeleV@contoso.com",
            seeded::WEB_API_CLIENT_ID,
            &["access_as_user"],
        )
        .unwrap();
    assert_unauthorized(users(&emu, Some(&api_token)).await).await;
}

#[tokio::test]
async fn expired_tokens_and_other_emulators_tokens_get_401() {
    let emu = start().await;
    let short = emu
        .control()
        .issue_app_token(seeded::DAEMON_CLIENT_ID, Duration::from_secs(2))
        .unwrap();
    // `exp` is whole seconds (issued late in a second, the token lives just over 1 s): 2 s
    // keeps the first request inside the lifetime even on a slow CI machine.
    assert_eq!(users(&emu, Some(&short)).await.status(), 200);
    tokio::time::sleep(Duration::from_millis(3100)).await;
    assert_unauthorized(users(&emu, Some(&short)).await).await;

    let other = Emulator::start().await.unwrap();
    let foreign = client_credentials(&other).await;
    assert_unauthorized(users(&emu, Some(&foreign)).await).await;
}
