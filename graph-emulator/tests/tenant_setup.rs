//! Seeding the tenant from outside: a configuration file (TOML and JSON), apps registered from
//! the builder, the control handle and the admin route, a state directory that keeps the TLS
//! certificate and the signing key across restarts, and a given TLS identity.

use std::time::Duration;

use msgraph_typed_emulator::{AppConfig, Emulator, Error, TenantConfig, seeded};
use serde_json::{Value, json};

const GRAPH_DEFAULT: &str = "https://graph.microsoft.com/.default";

fn client(ca_pem: Option<&str>) -> reqwest::Client {
    let mut builder = reqwest::Client::builder().no_proxy();
    if let Some(pem) = ca_pem {
        builder =
            builder.add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes()).unwrap());
    }
    builder.build().unwrap()
}

async fn secret_token(
    http: &reqwest::Client,
    emu: &Emulator,
    client_id: &str,
    secret: &str,
) -> (u16, Value) {
    let response = http
        .post(emu.token_endpoint())
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", secret),
            ("scope", GRAPH_DEFAULT),
        ])
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn graph(http: &reqwest::Client, emu: &Emulator, token: &str, path: &str) -> (u16, Value) {
    let response = http
        .get(format!("{}/{path}", emu.graph_url()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn ids(body: &Value) -> Vec<String> {
    body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_owned())
        .collect()
}

const TENANT_TOML: &str = r#"
generated_users = 3

[tokens]
lifetime_secs = 120

[[apps]]
client_id = "99999999-9999-4999-8999-999999999999"
display_name = "Payroll sync"
client_secrets = ["payroll-secret-1", "payroll-secret-2"]
roles = ["User.Read.All", "Group.Read.All"]

[[users]]
id = "aaaaaaaa-0000-4000-8000-000000000001"
user_principal_name = "kim@contoso.com"
display_name = "Kim Akers"
manager = "AdeleV@contoso.com"
properties = { jobTitle = "Payroll clerk", department = "Finance" }

[[groups]]
id = "bbbbbbbb-0000-4000-8000-000000000001"
display_name = "Payroll"
members = ["kim@contoso.com", "MeganB@contoso.com"]
owners = ["AdeleV@contoso.com"]

[[groups]]
display_name = "Payroll admins"
unified = true
members = ["Payroll"]
"#;

#[tokio::test]
async fn a_toml_file_seeds_apps_users_groups_owners_and_lifetimes() {
    let dir = tempdir("toml");
    let path = dir.join("tenant.toml");
    std::fs::write(&path, TENANT_TOML).unwrap();
    let config = TenantConfig::load(&path).unwrap();
    let emu = Emulator::builder()
        .tenant_config(config)
        .start()
        .await
        .unwrap();
    let http = client(None);
    let (status, token) = secret_token(
        &http,
        &emu,
        "99999999-9999-4999-8999-999999999999",
        "payroll-secret-2",
    )
    .await;
    assert_eq!(status, 200, "{token}");
    assert_eq!(token["expires_in"], 120);
    let token = token["access_token"].as_str().unwrap();
    let (_, kim) = graph(
        &http,
        &emu,
        token,
        "users/kim@contoso.com?$select=id,jobTitle,department",
    )
    .await;
    assert_eq!(kim["jobTitle"], "Payroll clerk");
    assert_eq!(kim["id"], "aaaaaaaa-0000-4000-8000-000000000001");
    let (_, manager) = graph(&http, &emu, token, "users/kim@contoso.com/manager").await;
    assert_eq!(manager["userPrincipalName"], "AdeleV@contoso.com");
    let (_, members) = graph(
        &http,
        &emu,
        token,
        "groups/bbbbbbbb-0000-4000-8000-000000000001/members",
    )
    .await;
    assert_eq!(ids(&members).len(), 2);
    let (_, owners) = graph(
        &http,
        &emu,
        token,
        "groups/bbbbbbbb-0000-4000-8000-000000000001/owners",
    )
    .await;
    assert_eq!(
        owners["value"][0]["userPrincipalName"],
        "AdeleV@contoso.com"
    );
    let (_, nested) = graph(
        &http,
        &emu,
        token,
        "users/kim@contoso.com/transitiveMemberOf",
    )
    .await;
    assert_eq!(nested["value"].as_array().unwrap().len(), 2, "{nested}");
    // 12 seeded + 1 configured + 3 generated.
    assert_eq!(emu.control().users(0).1, 16);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn json_config_and_bad_entries_are_typed_errors() {
    let config = TenantConfig::from_json_str(
        r#"{"users": [{"user_principal_name": "lee@contoso.com", "display_name": "Lee", "properties": {"jobTitle": 7}}]}"#,
    )
    .unwrap();
    let err = Emulator::builder()
        .tenant_config(config)
        .start()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err}");
    let message = err.to_string();
    assert!(message.contains("users[0].properties"), "{message}");
    assert!(message.contains("jobTitle"), "{message}");

    let config = TenantConfig::from_toml_str(
        "[[groups]]\ndisplay_name = \"G\"\nmembers = [\"nobody@contoso.com\"]\n",
    )
    .unwrap();
    let message = Emulator::builder()
        .tenant_config(config)
        .start()
        .await
        .unwrap_err()
        .to_string();
    assert!(message.contains("groups[0].members[0]"), "{message}");

    let dir = tempdir("bad");
    let path = dir.join("tenant.toml");
    std::fs::write(
        &path,
        "[[apps]]\nclient_id = \"x\"\ncertificates = [\"missing.pem\"]\n",
    )
    .unwrap();
    let message = TenantConfig::load(&path).unwrap_err().to_string();
    assert!(message.contains("apps[0].certificates[0]"), "{message}");
    std::fs::write(&path, "[[apps]]\nclient_id = \"x\"\nsecret = \"typo\"\n").unwrap();
    let message = TenantConfig::load(&path).unwrap_err().to_string();
    assert!(
        message.contains("tenant.toml") && message.contains("secret"),
        "{message}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn apps_register_from_the_builder_the_control_handle_and_the_admin_route() {
    let emu = Emulator::builder()
        .app(
            AppConfig::new("12121212-1212-4212-8212-121212121212")
                .secret("built")
                .roles(["User.Read.All"]),
        )
        .start()
        .await
        .unwrap();
    let http = client(None);
    let (status, body) =
        secret_token(&http, &emu, "12121212-1212-4212-8212-121212121212", "built").await;
    assert_eq!(status, 200, "{body}");

    emu.control()
        .register_app(&AppConfig::new("13131313-1313-4313-8313-131313131313").secret("controlled"))
        .unwrap();
    let (status, _) = secret_token(
        &http,
        &emu,
        "13131313-1313-4313-8313-131313131313",
        "controlled",
    )
    .await;
    assert_eq!(status, 200);

    let response = http
        .post(format!("{}/_emulator/apps", emu.url()))
        .json(&json!({
            "client_id": "14141414-1414-4414-8414-141414141414",
            "certificates": [seeded::CERTIFICATE_APP_CERTIFICATE_PEM],
            "roles": ["Group.Read.All"],
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let listed: Value = http
        .get(format!("{}/_emulator/apps", emu.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let registered = listed["apps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["client_id"] == "14141414-1414-4414-8414-141414141414")
        .expect("listed");
    assert_eq!(registered["certificates"], 1);
    assert_eq!(registered["public_client"], false);
    let bad = http
        .post(format!("{}/_emulator/apps", emu.url()))
        .json(&json!({"client_id": "x", "certificates": ["-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    assert!(
        emu.control()
            .apps()
            .iter()
            .any(|a| a.client_id == seeded::CERTIFICATE_APP_CLIENT_ID)
    );
}

fn tempdir(name: &str) -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "tenant-setup-{name}-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn a_state_dir_keeps_the_certificate_and_tokens_across_restarts() {
    let dir = tempdir("state");
    let port = free_port();
    let first = Emulator::builder()
        .https(true)
        .port(port)
        .state_dir(&dir)
        .start()
        .await
        .unwrap();
    let ca = first.tls_certificate_pem().unwrap().to_owned();
    let http = client(Some(&ca));
    let (status, body) = secret_token(
        &http,
        &first,
        seeded::DAEMON_CLIENT_ID,
        seeded::DAEMON_CLIENT_SECRET,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let token = body["access_token"].as_str().unwrap().to_owned();
    let url = first.url().to_owned();
    first.shutdown().await;
    for file in [
        "signing-key.pem",
        "tls-ca.pem",
        "tls-cert.pem",
        "tls-key.pem",
    ] {
        assert!(dir.join(file).is_file(), "{file}");
    }

    let second = Emulator::builder()
        .https(true)
        .port(port)
        .state_dir(&dir)
        .start()
        .await
        .unwrap();
    assert_eq!(second.url(), url);
    assert_eq!(second.tls_certificate_pem(), Some(ca.as_str()));
    // A fresh client that trusts only the first run's CA reaches the second run, and the token
    // the first run issued is still valid.
    let (status, _) = graph(&client(Some(&ca)), &second, &token, "users?$top=1").await;
    assert_eq!(status, 200);
    second.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_given_tls_identity_is_served() {
    let ca = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let emu = Emulator::builder()
        .tls_identity_pem(ca.cert.pem(), ca.key_pair.serialize_pem())
        .token_lifetime(Duration::from_secs(60))
        .start()
        .await
        .unwrap();
    assert!(emu.url().starts_with("https://"));
    assert_eq!(emu.tls_certificate_pem(), Some(ca.cert.pem().as_str()));
    let (status, body) = secret_token(
        &client(Some(&ca.cert.pem())),
        &emu,
        seeded::DAEMON_CLIENT_ID,
        seeded::DAEMON_CLIENT_SECRET,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let err = Emulator::builder()
        .tls_identity_pem("not pem", "not pem")
        .start()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Tls(_)), "{err}");
}
