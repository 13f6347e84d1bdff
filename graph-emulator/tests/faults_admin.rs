//! The admin routes of the binary (`/_emulator/...`), exercised over HTTP against the library,
//! and HTTPS with the generated certificate.

mod identity_support;

use identity_support::{client_credentials, http, start};
use msgraph_typed_emulator::Emulator;

#[tokio::test]
async fn admin_routes_inject_faults_count_and_reset() {
    let emu = start().await;
    let admin = |path: &str| format!("{}/_emulator/{path}", emu.url());
    let token = client_credentials(&emu).await;

    let fault = serde_json::json!({
        "kind": "status", "status": 429, "retry_after": { "decimal_seconds": 1.5 }, "times": 2,
        "path": { "prefix": "/v1.0/users" }, "method": "GET"
    });
    let response = http()
        .post(admin("faults"))
        .json(&fault)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let listed: serde_json::Value = http()
        .get(admin("faults"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed[0]["times"], 2);

    for _ in 0..2 {
        let response = http()
            .get(format!("{}/users", emu.graph_url()))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 429);
        assert_eq!(response.headers()["retry-after"], "1.500");
    }
    let response = http()
        .get(format!("{}/users", emu.graph_url()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let counters: serde_json::Value = http()
        .get(admin("counters"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(counters["token_requests"], 1);
    assert_eq!(counters["graph_requests"], 3);
    assert_eq!(counters["by_grant_type"]["client_credentials"], 1);
    assert!(
        counters["by_route"]
            .as_object()
            .unwrap()
            .keys()
            .all(|k| !k.contains("_emulator")),
        "admin routes are not counted"
    );

    let bad = http()
        .post(admin("faults"))
        .body("{\"kind\":\"nope\"}")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);

    http()
        .post(admin("faults"))
        .json(&serde_json::json!({"kind": "drop_connection"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        http().post(admin("reset")).send().await.unwrap().status(),
        204
    );
    assert!(emu.control().pending_faults().is_empty());
    assert_eq!(
        emu.control().counts(),
        msgraph_typed_emulator::Counts::default()
    );

    let apps: serde_json::Value = http()
        .get(admin("apps"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        apps["daemon"]["client_id"],
        msgraph_typed_emulator::seeded::DAEMON_CLIENT_ID
    );
    assert_eq!(apps["token_endpoint"], emu.token_endpoint());
}

#[tokio::test]
async fn admin_generates_users() {
    let emu = start().await;
    let response = http()
        .post(format!("{}/_emulator/users", emu.url()))
        .json(&serde_json::json!({"count": 25}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let bad = http()
        .post(format!("{}/_emulator/users", emu.url()))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn https_with_the_generated_certificate() {
    let emu = Emulator::builder().https(true).start().await.unwrap();
    assert!(emu.url().starts_with("https://127.0.0.1:"));
    let pem = emu.tls_certificate_pem().expect("certificate");
    let trusting = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes()).unwrap())
        .build()
        .unwrap();
    let response = trusting
        .get(format!(
            "{}/{}/discovery/v2.0/keys",
            emu.url(),
            emu.tenant_id()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // A client that does not trust the certificate fails the handshake.
    let untrusting = reqwest::Client::new();
    assert!(untrusting.get(emu.token_endpoint()).send().await.is_err());
}

#[tokio::test]
async fn shutdown_stops_serving() {
    let emu = start().await;
    let url = format!("{}/{}/discovery/v2.0/keys", emu.url(), emu.tenant_id());
    assert_eq!(http().get(&url).send().await.unwrap().status(), 200);
    emu.shutdown().await;
    assert!(reqwest::Client::new().get(&url).send().await.is_err());
}

#[tokio::test]
async fn dropping_the_emulator_stops_serving() {
    let emu = start().await;
    let url = format!("{}/{}/discovery/v2.0/keys", emu.url(), emu.tenant_id());
    assert_eq!(http().get(&url).send().await.unwrap().status(), 200);
    drop(emu);
    let mut refused = false;
    for _ in 0..50 {
        if reqwest::Client::new().get(&url).send().await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(refused, "the listener closes soon after the drop");
}
