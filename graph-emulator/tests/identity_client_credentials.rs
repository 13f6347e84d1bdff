//! Client credentials: secret in the body, HTTP Basic, errors, scopes, and JWKS verification.

mod identity_support;

use std::time::Duration;

use base64::Engine;
use identity_support::{GRAPH_DEFAULT, assert_entra_error, http, start, token, verify_with_jwks};
use msgraph_typed_emulator::{Emulator, seeded};

#[tokio::test]
async fn secret_in_body_issues_a_graph_app_token_that_verifies_with_the_jwks() {
    let emu = start().await;
    let (status, body) = token(
        &emu,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", seeded::DAEMON_CLIENT_ID),
            ("client_secret", seeded::DAEMON_CLIENT_SECRET),
            ("scope", GRAPH_DEFAULT),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["ext_expires_in"], 3600);
    assert!(
        body.get("refresh_in").is_none(),
        "refresh_in only when configured"
    );
    assert!(body.get("refresh_token").is_none());
    let claims = verify_with_jwks(
        &emu,
        body["access_token"].as_str().unwrap(),
        "https://graph.microsoft.com",
    )
    .await;
    assert_eq!(claims["tid"], emu.tenant_id());
    assert_eq!(claims["appid"], seeded::DAEMON_CLIENT_ID);
    assert_eq!(claims["azp"], seeded::DAEMON_CLIENT_ID);
    assert_eq!(claims["ver"], "2.0");
    assert_eq!(claims["idtyp"], "app");
    assert!(claims.get("scp").is_none());
    let roles: Vec<&str> = claims["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    for role in [
        "User.Read.All",
        "Group.Read.All",
        "Directory.Read.All",
        "User.ReadWrite.All",
    ] {
        assert!(roles.contains(&role), "{roles:?}");
    }
    for claim in ["oid", "sub", "uti", "iat", "nbf", "exp"] {
        assert!(!claims[claim].is_null(), "missing {claim}");
    }
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
        3600
    );
    assert_eq!(
        emu.control().token_requests_for_grant("client_credentials"),
        1
    );
    assert_eq!(emu.control().token_requests(), 1);
}

#[tokio::test]
async fn http_basic_client_authentication_works() {
    let emu = start().await;
    let response = http()
        .post(emu.token_endpoint())
        .basic_auth(seeded::DAEMON_CLIENT_ID, Some(seeded::DAEMON_CLIENT_SECRET))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", GRAPH_DEFAULT),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn wrong_secret_is_invalid_client_7000215_and_echoes_the_client_request_id() {
    let emu = start().await;
    let response = http()
        .post(emu.token_endpoint())
        .header("client-request-id", "6b0fdc12-2f4b-4c79-a3b6-8f7f1e4e2f55")
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", seeded::DAEMON_CLIENT_ID),
            ("client_secret", "wrong"),
            ("scope", GRAPH_DEFAULT),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_entra_error(&body, "invalid_client", 7000215);
    assert_eq!(
        body["correlation_id"],
        "6b0fdc12-2f4b-4c79-a3b6-8f7f1e4e2f55"
    );
    assert!(
        !body.to_string().contains("wrong\""),
        "the secret is not echoed"
    );
}

#[tokio::test]
async fn wrong_basic_secret_is_rejected() {
    let emu = start().await;
    let response = http()
        .post(emu.token_endpoint())
        .basic_auth(seeded::DAEMON_CLIENT_ID, Some("nope"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", GRAPH_DEFAULT),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn unknown_app_is_700016() {
    let emu = start().await;
    let (status, body) = token(
        &emu,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "99999999-9999-4999-8999-999999999999"),
            ("client_secret", "x"),
            ("scope", GRAPH_DEFAULT),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert_entra_error(&body, "unauthorized_client", 700016);
}

#[tokio::test]
async fn scope_errors_are_invalid_scope() {
    let emu = start().await;
    for (scope, code) in [
        ("User.Read", 1002012),
        (
            "https://graph.microsoft.com/.default api://other/.default",
            70011,
        ),
    ] {
        let (status, body) = token(
            &emu,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", seeded::DAEMON_CLIENT_ID),
                ("client_secret", seeded::DAEMON_CLIENT_SECRET),
                ("scope", scope),
            ],
        )
        .await;
        assert_eq!(status, 400);
        assert_entra_error(&body, "invalid_scope", code);
    }
}

#[tokio::test]
async fn unsupported_grant_type_and_unknown_tenant() {
    let emu = start().await;
    let (status, body) = token(
        &emu,
        &[
            ("grant_type", "password"),
            ("client_id", seeded::PUBLIC_CLIENT_ID),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert_entra_error(&body, "unsupported_grant_type", 70003);

    let response = http()
        .post(format!("{}/not-a-tenant/oauth2/v2.0/token", emu.url()))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_entra_error(&body, "invalid_request", 90002);
}

#[tokio::test]
async fn common_tenant_and_api_resource_work() {
    let emu = start().await;
    let response = http()
        .post(format!("{}/common/oauth2/v2.0/token", emu.url()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", seeded::DAEMON_CLIENT_ID),
            ("client_secret", seeded::DAEMON_CLIENT_SECRET),
            ("scope", &format!("{}/.default", seeded::WEB_API_APP_ID_URI)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    let claims = verify_with_jwks(
        &emu,
        body["access_token"].as_str().unwrap(),
        seeded::WEB_API_CLIENT_ID,
    )
    .await;
    assert_eq!(claims["aud"], seeded::WEB_API_CLIENT_ID);
}

#[tokio::test]
async fn lifetime_and_refresh_in_are_configurable() {
    let emu = Emulator::builder()
        .token_lifetime(Duration::from_secs(5))
        .refresh_in(Some(Duration::from_secs(2)))
        .start()
        .await
        .unwrap();
    let (status, body) = token(
        &emu,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", seeded::DAEMON_CLIENT_ID),
            ("client_secret", seeded::DAEMON_CLIENT_SECRET),
            ("scope", GRAPH_DEFAULT),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["expires_in"], 5);
    assert_eq!(body["refresh_in"], 2);
    let payload = body["access_token"]
        .as_str()
        .unwrap()
        .split('.')
        .nth(1)
        .unwrap()
        .to_owned();
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
        5
    );
}

#[tokio::test]
async fn discovery_document_points_at_the_emulator() {
    let emu = start().await;
    let doc: serde_json::Value = http()
        .get(format!(
            "{}/{}/v2.0/.well-known/openid-configuration",
            emu.url(),
            emu.tenant_id()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        doc["issuer"],
        format!("{}/{}/v2.0", emu.url(), emu.tenant_id())
    );
    assert_eq!(doc["token_endpoint"], emu.token_endpoint());
    assert_eq!(
        doc["jwks_uri"],
        format!("{}/{}/discovery/v2.0/keys", emu.url(), emu.tenant_id())
    );
    let jwks: serde_json::Value = http()
        .get(doc["jwks_uri"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = &jwks["keys"][0];
    for field in ["kid", "n", "e", "x5t"] {
        assert!(key[field].is_string(), "{field}");
    }
    assert_eq!(key["kty"], "RSA");
}

/// An emulator started with an earlier emulator's signing key, port and tenant accepts the
/// tokens the earlier one issued (what a restarted quickstart with a shared cache relies on).
#[tokio::test]
async fn a_restarted_emulator_with_the_same_key_and_port_accepts_earlier_tokens() {
    let first = msgraph_typed_emulator::Emulator::builder()
        .fresh_signing_key(true)
        .start()
        .await
        .unwrap();
    let port = first.local_addr().port();
    let pem = first.signing_key_pem().to_string();
    assert!(
        pem.starts_with("-----BEGIN PRIVATE KEY-----"),
        "PKCS#8 PEM expected"
    );
    let http = reqwest::Client::new();
    let token: serde_json::Value = http
        .post(first.token_endpoint())
        .form(&[
            ("grant_type", "client_credentials"),
            (
                "client_id",
                msgraph_typed_emulator::seeded::DAEMON_CLIENT_ID,
            ),
            (
                "client_secret",
                msgraph_typed_emulator::seeded::DAEMON_CLIENT_SECRET,
            ),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access_token = token["access_token"].as_str().unwrap().to_string();
    first.shutdown().await;

    let second = msgraph_typed_emulator::Emulator::builder()
        .port(port)
        .signing_key_pem(pem)
        .start()
        .await
        .unwrap();
    // A new client: the first one's pooled connection died with the first emulator.
    let http = reqwest::Client::new();
    let answer = http
        .get(format!("{}/users?$top=1", second.graph_url()))
        .bearer_auth(&access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        answer.status(),
        200,
        "token from the first run must be accepted"
    );

    let other = msgraph_typed_emulator::Emulator::builder()
        .fresh_signing_key(true)
        .start()
        .await
        .unwrap();
    let refused = http
        .get(format!("{}/users?$top=1", other.graph_url()))
        .bearer_auth(&access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401, "another key must refuse it");

    let bad = msgraph_typed_emulator::Emulator::builder()
        .signing_key_pem("not a key")
        .start()
        .await;
    assert!(bad.is_err(), "a bad PEM is a typed error");
}
