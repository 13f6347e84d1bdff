//! Graph's throttling model: resource-unit costs on every response, a small per app+tenant
//! bucket that answers 429 with Retry-After and the throttling headers, `$batch` items charged
//! one by one, the write quota, and the switches (builder, configuration file, control, admin).

use std::time::Duration;

use msgraph_typed_emulator::{Emulator, TenantConfig, ThrottlingConfig, seeded};
use serde_json::{Value, json};

const ADELE: &str = "87d349ed-44d7-43e1-9a83-5f2406dee5bd";

struct Env {
    emu: Emulator,
    http: reqwest::Client,
    token: String,
}

async fn env(throttling: Option<ThrottlingConfig>) -> Env {
    let mut builder = Emulator::builder();
    if let Some(t) = throttling {
        builder = builder.throttling(t);
    }
    let emu = builder.start().await.unwrap();
    let token = emu
        .control()
        .issue_app_token(seeded::DAEMON_CLIENT_ID, Duration::from_secs(600))
        .unwrap();
    Env {
        emu,
        http: reqwest::Client::builder().no_proxy().build().unwrap(),
        token,
    }
}

impl Env {
    async fn get_as(&self, token: &str, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}/{path}", self.emu.graph_url()))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.get_as(&self.token, path).await
    }
}

fn units(response: &reqwest::Response) -> u64 {
    response.headers()["x-ms-resource-unit"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn costs_are_reported_and_nothing_is_throttled_by_default() {
    let env = env(None).await;
    for (path, cost) in [
        ("users", 2),
        ("users?$select=id", 1),
        ("users?$top=5", 1),
        (&format!("users/{ADELE}?$expand=manager") as &str, 2),
        (&format!("users/{ADELE}") as &str, 1),
        ("groups", 1),
    ] {
        let r = env.get(path).await;
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(units(&r), cost, "{path}");
    }
    for _ in 0..50 {
        assert_eq!(env.get("users").await.status(), 200);
    }
    assert_eq!(env.emu.control().throttled_requests(), 0);
    assert!(env.emu.control().throttling().is_none());
}

#[tokio::test]
async fn an_empty_bucket_answers_429_with_retry_after_and_refills() {
    let env = env(Some(
        ThrottlingConfig::graph_defaults().resource_units(10, Duration::from_secs(10)),
    ))
    .await;
    let mut responses = Vec::new();
    for _ in 0..6 {
        responses.push(env.get("users").await);
    }
    let statuses: Vec<u16> = responses.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(statuses, [200, 200, 200, 200, 200, 429]);
    // 80% of the limit and more is announced.
    assert!(
        !responses[0]
            .headers()
            .contains_key("x-ms-throttle-limit-percentage")
    );
    assert_eq!(
        responses[4].headers()["x-ms-throttle-limit-percentage"],
        "1.0"
    );
    let throttled = responses.pop().unwrap();
    let retry_after: u64 = throttled.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3).contains(&retry_after), "{retry_after}");
    assert_eq!(
        throttled.headers()["x-ms-throttle-scope"],
        format!(
            "Tenant_Application/ReadWrite/{}/{}",
            seeded::DAEMON_CLIENT_ID,
            env.emu.tenant_id()
        )
        .as_str()
    );
    assert_eq!(
        throttled.headers()["x-ms-throttle-information"],
        "ResourceUnitLimitExceeded"
    );
    assert_eq!(units(&throttled), 2);
    let body: Value = throttled.json().await.unwrap();
    assert_eq!(body["error"]["code"], "TooManyRequests");
    assert_eq!(body["error"]["innerError"]["status"], "429");

    // Another app has its own app+tenant bucket.
    let other = env
        .emu
        .control()
        .issue_app_token(seeded::CERTIFICATE_APP_CLIENT_ID, Duration::from_secs(600))
        .unwrap();
    assert_eq!(env.get_as(&other, "users").await.status(), 200);

    // A cheaper request still fits only once the bucket refills.
    tokio::time::sleep(Duration::from_secs(retry_after)).await;
    assert_eq!(env.get("users").await.status(), 200);
    assert_eq!(env.emu.control().throttled_requests(), 1);
}

#[tokio::test]
async fn batch_items_are_charged_one_by_one() {
    let env = env(Some(
        ThrottlingConfig::graph_defaults().resource_units(6, Duration::from_secs(30)),
    ))
    .await;
    let batch = json!({"requests": [
        {"id": "1", "method": "GET", "url": "/users"},
        {"id": "2", "method": "GET", "url": "/users"},
        {"id": "3", "method": "GET", "url": "/users"},
        {"id": "4", "method": "GET", "url": "/users"}
    ]});
    let r = env
        .http
        .post(format!("{}/$batch", env.emu.graph_url()))
        .bearer_auth(&env.token)
        .json(&batch)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    let status = |id: &str| {
        body["responses"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == id)
            .unwrap()
            .clone()
    };
    for id in ["1", "2", "3"] {
        assert_eq!(status(id)["status"], 200, "{body:#}");
        assert_eq!(status(id)["headers"]["x-ms-resource-unit"], "2");
    }
    let fourth = status("4");
    assert_eq!(fourth["status"], 429, "{body:#}");
    assert!(fourth["headers"]["Retry-After"].is_string());
    assert_eq!(env.emu.control().throttled_requests(), 1);
}

#[tokio::test]
async fn the_write_quota_counts_writes() {
    let env = env(Some(
        ThrottlingConfig::graph_defaults().app_writes(2, Duration::from_secs(60)),
    ))
    .await;
    let patch = || {
        env.http
            .patch(format!("{}/users/{ADELE}", env.emu.graph_url()))
            .bearer_auth(&env.token)
            .json(&json!({"jobTitle": "PM"}))
            .send()
    };
    assert_eq!(patch().await.unwrap().status(), 204);
    assert_eq!(patch().await.unwrap().status(), 204);
    let refused = patch().await.unwrap();
    assert_eq!(refused.status(), 429);
    assert_eq!(
        refused.headers()["x-ms-throttle-information"],
        "WriteLimitExceeded"
    );
    assert!(
        refused.headers()["x-ms-throttle-scope"]
            .to_str()
            .unwrap()
            .starts_with("Tenant_Application/Write/")
    );
    // Reads are not writes.
    assert_eq!(env.get("users").await.status(), 200);
}

#[tokio::test]
async fn the_model_is_switched_by_config_control_and_admin() {
    let config =
        TenantConfig::from_toml_str("[throttling]\nresource_units = 2\nwindow_secs = 60\n")
            .unwrap();
    let emu = Emulator::builder()
        .tenant_config(config)
        .start()
        .await
        .unwrap();
    let token = emu
        .control()
        .issue_app_token(seeded::DAEMON_CLIENT_ID, Duration::from_secs(600))
        .unwrap();
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let get = || {
        http.get(format!("{}/users", emu.graph_url()))
            .bearer_auth(&token)
            .send()
    };
    assert_eq!(get().await.unwrap().status(), 200);
    assert_eq!(get().await.unwrap().status(), 429);
    emu.control().set_throttling(None);
    assert_eq!(get().await.unwrap().status(), 200);
    let admin = format!("{}/_emulator/throttling", emu.url());
    let put = http
        .put(&admin)
        .json(&json!({"resource_units": 2, "window_secs": 60}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 204);
    let shown: Value = http.get(&admin).send().await.unwrap().json().await.unwrap();
    assert_eq!(shown["resource_units"], 2);
    assert_eq!(get().await.unwrap().status(), 200);
    assert_eq!(get().await.unwrap().status(), 429);
    assert_eq!(http.delete(&admin).send().await.unwrap().status(), 204);
    assert_eq!(get().await.unwrap().status(), 200);
    let shown: Value = http.get(&admin).send().await.unwrap().json().await.unwrap();
    assert!(shown.is_null());
    let bad = http
        .put(&admin)
        .json(&json!({"nope": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
}
