//! Managed identity endpoints: IMDS, App Service, Cloud Shell and Azure Arc shapes, user-assigned
//! identity selection, their tokens at Graph, and faults on these routes.

use std::time::{Duration, Instant};

use base64::Engine as _;
use msgraph_typed_emulator::{Emulator, Fault, ManagedIdentity, RetryAfter, seeded};
use serde_json::Value;

const GRAPH: &str = "https://graph.microsoft.com";

async fn start() -> Emulator {
    Emulator::builder()
        .token_lifetime(Duration::from_secs(120))
        .start()
        .await
        .expect("emulator starts")
}

fn http() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

async fn json(response: reqwest::Response) -> (u16, reqwest::header::HeaderMap, Value) {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, headers, body)
}

async fn imds(emu: &Emulator, query: &str, metadata: bool) -> (u16, Value) {
    let mut request = http().get(format!("{}?{query}", emu.imds_endpoint()));
    if metadata {
        request = request.header("Metadata", "true");
    }
    let (status, _, body) = json(request.send().await.unwrap()).await;
    (status, body)
}

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

async fn graph_status(emu: &Emulator, token: &str, path: &str) -> u16 {
    http()
        .get(format!("{}/{path}", emu.graph_url()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn imds_answers_with_its_shape_and_graph_accepts_the_token() {
    let emu = start().await;
    let (status, body) = imds(
        &emu,
        "api-version=2018-02-01&resource=https://graph.microsoft.com",
        false,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_request");
    assert_eq!(
        body["error_description"],
        "Required metadata header not specified"
    );

    let (status, body) = imds(
        &emu,
        "api-version=2018-02-01&resource=https://graph.microsoft.com",
        true,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    for field in [
        "access_token",
        "expires_in",
        "expires_on",
        "not_before",
        "resource",
        "token_type",
        "client_id",
    ] {
        assert!(body[field].is_string(), "{field} is not a string: {body}");
    }
    assert_eq!(body["refresh_token"], "");
    assert_eq!(body["expires_in"], "120");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["resource"], GRAPH);
    assert_eq!(body["client_id"], seeded::SYSTEM_IDENTITY_CLIENT_ID);
    let expires_on: u64 = body["expires_on"].as_str().unwrap().parse().unwrap();
    let not_before: u64 = body["not_before"].as_str().unwrap().parse().unwrap();
    assert_eq!(expires_on - not_before, 120);
    let token = body["access_token"].as_str().unwrap();
    let c = claims(token);
    assert_eq!(c["aud"], GRAPH);
    assert_eq!(c["oid"], seeded::SYSTEM_IDENTITY_PRINCIPAL_ID);
    assert_eq!(c["appid"], seeded::SYSTEM_IDENTITY_CLIENT_ID);
    assert_eq!(c["idtyp"], "app");
    assert_eq!(c["roles"], serde_json::json!(seeded::SYSTEM_IDENTITY_ROLES));
    assert_eq!(graph_status(&emu, token, "users?$top=1").await, 200);

    // Another resource: that audience, no Graph roles, and Graph refuses it.
    let (_, other) = imds(
        &emu,
        "api-version=2018-02-01&resource=https://vault.azure.net",
        true,
    )
    .await;
    let other_token = other["access_token"].as_str().unwrap();
    assert_eq!(claims(other_token)["aud"], "https://vault.azure.net");
    assert!(claims(other_token).get("roles").is_none());
    assert_eq!(graph_status(&emu, other_token, "users").await, 401);

    let (status, body) = imds(&emu, "api-version=2018-02-01", true).await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = imds(&emu, "resource=https://graph.microsoft.com", true).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn imds_selects_user_assigned_identities_by_each_id() {
    let emu = start().await;
    for query in [
        format!("client_id={}", seeded::USER_IDENTITY_1_CLIENT_ID),
        format!("object_id={}", seeded::USER_IDENTITY_1_PRINCIPAL_ID),
        format!("msi_res_id={}", seeded::USER_IDENTITY_1_RESOURCE_ID),
    ] {
        let (status, body) = imds(
            &emu,
            &format!("api-version=2018-02-01&resource={GRAPH}&{query}"),
            true,
        )
        .await;
        assert_eq!(status, 200, "{query}: {body}");
        assert_eq!(body["client_id"], seeded::USER_IDENTITY_1_CLIENT_ID);
        let c = claims(body["access_token"].as_str().unwrap());
        assert_eq!(c["oid"], seeded::USER_IDENTITY_1_PRINCIPAL_ID);
        assert_eq!(c["roles"], serde_json::json!(["User.Read.All"]));
    }
    let (status, body) = imds(
        &emu,
        &format!(
            "api-version=2018-02-01&resource={GRAPH}&client_id=00000000-0000-0000-0000-00000000dead"
        ),
        true,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error_description"], "Identity not found");
    assert_eq!(emu.control().managed_identities().len(), 3);

    emu.control().add_managed_identity(
        ManagedIdentity::user_assigned("extra", "99999999-0000-4000-8000-000000000009", "a9999999-0000-4000-8000-000000000009", "/subscriptions/x/resourceGroups/y/providers/Microsoft.ManagedIdentity/userAssignedIdentities/extra")
            .with_roles(["Directory.Read.All"]),
    );
    let (status, body) = imds(
        &emu,
        &format!(
            "api-version=2018-02-01&resource={GRAPH}&client_id=99999999-0000-4000-8000-000000000009"
        ),
        true,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        claims(body["access_token"].as_str().unwrap())["roles"],
        serde_json::json!(["Directory.Read.All"])
    );
}

#[tokio::test]
async fn managed_identities_come_from_the_configuration_file() {
    let config = msgraph_typed_emulator::TenantConfig::from_toml_str(
        "[[managed_identities]]\nname = \"batch\"\nclient_id = \"99990000-0000-4000-8000-000000000001\"\nprincipal_id = \"a9990000-0000-4000-8000-000000000001\"\nresource_id = \"/subscriptions/s/resourceGroups/g/providers/Microsoft.ManagedIdentity/userAssignedIdentities/batch\"\nroles = [\"Group.Read.All\"]\n",
    )
    .unwrap();
    let emu = Emulator::builder()
        .tenant_config(config)
        .start()
        .await
        .unwrap();
    assert_eq!(emu.control().managed_identities().len(), 4);
    let (status, body) = imds(
        &emu,
        &format!("api-version=2018-02-01&resource={GRAPH}&msi_res_id=/subscriptions/s/resourceGroups/g/providers/Microsoft.ManagedIdentity/userAssignedIdentities/batch"),
        true,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        claims(body["access_token"].as_str().unwrap())["oid"],
        "a9990000-0000-4000-8000-000000000001"
    );
}

#[tokio::test]
async fn app_service_needs_its_header_and_answers_epoch_expires_on() {
    let emu = Emulator::builder()
        .app_service_identity_header("the-identity-header")
        .start()
        .await
        .unwrap();
    assert_eq!(
        emu.control().app_service_identity_header(),
        "the-identity-header"
    );
    let url = format!(
        "{}?api-version=2019-08-01&resource={GRAPH}",
        emu.app_service_endpoint()
    );
    let (status, _, body) = json(http().get(&url).send().await.unwrap()).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["statusCode"], 400);
    let (status, _, body) = json(
        http()
            .get(&url)
            .header("X-IDENTITY-HEADER", "wrong")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 401, "{body}");
    let (status, _, body) = json(
        http()
            .get(&url)
            .header("X-IDENTITY-HEADER", "the-identity-header")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let expires_on: u64 = body["expires_on"].as_str().unwrap().parse().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(
        expires_on > now + 3500 && expires_on <= now + 3601,
        "{expires_on}"
    );
    assert!(body.get("expires_in").is_none());
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(
        graph_status(&emu, body["access_token"].as_str().unwrap(), "groups").await,
        200
    );

    for query in [
        format!("principal_id={}", seeded::USER_IDENTITY_2_PRINCIPAL_ID),
        format!("mi_res_id={}", seeded::USER_IDENTITY_2_RESOURCE_ID),
        format!("object_id={}", seeded::USER_IDENTITY_2_PRINCIPAL_ID),
        format!("client_id={}", seeded::USER_IDENTITY_2_CLIENT_ID),
    ] {
        let (status, _, body) = json(
            http()
                .get(format!("{url}&{query}"))
                .header("X-IDENTITY-HEADER", "the-identity-header")
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 200, "{query}: {body}");
        assert_eq!(body["client_id"], seeded::USER_IDENTITY_2_CLIENT_ID);
    }
    let (status, _, body) = json(
        http()
            .get(format!("{url}&client_id=nobody"))
            .header("X-IDENTITY-HEADER", "the-identity-header")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        body["message"],
        "Unable to load the proper Managed Identity."
    );
}

#[tokio::test]
async fn cloud_shell_posts_a_form_and_arc_challenges_with_a_key_file() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("arc-keys-{}", std::process::id()));
    let emu = Emulator::builder().arc_key_dir(&dir).start().await.unwrap();
    let (status, _, body) = json(
        http()
            .post(emu.cloud_shell_endpoint())
            .header("Metadata", "true")
            .form(&[("resource", GRAPH)])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["client_id"], seeded::SYSTEM_IDENTITY_CLIENT_ID);
    let (status, _, _) = json(
        http()
            .post(emu.cloud_shell_endpoint())
            .form(&[("resource", GRAPH)])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 400);

    let url = format!(
        "{}?api-version=2019-11-01&resource={GRAPH}",
        emu.arc_endpoint()
    );
    let (status, headers, _) = json(
        http()
            .get(&url)
            .header("Metadata", "true")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 401);
    let challenge = headers["www-authenticate"].to_str().unwrap();
    let path = challenge
        .strip_prefix("Basic realm=")
        .expect("a Basic realm");
    assert!(
        path.starts_with(dir.to_str().unwrap()) && path.ends_with(".key"),
        "{path}"
    );
    let secret = std::fs::read_to_string(path).unwrap();
    let (status, _, body) = json(
        http()
            .get(&url)
            .header("Metadata", "true")
            .header("Authorization", format!("Basic {secret}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        graph_status(&emu, body["access_token"].as_str().unwrap(), "users").await,
        200
    );
    let (status, _, _) = json(
        http()
            .get(&url)
            .header("Metadata", "true")
            .header("Authorization", "Basic not-the-key")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 401);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn faults_apply_to_the_managed_identity_routes_by_path() {
    let emu = start().await;
    let control = emu.control();
    let query = format!("api-version=2018-02-01&resource={GRAPH}");
    control.inject(Fault::status(410).matching("/metadata/identity"));
    control.inject(
        Fault::status(429)
            .retry_after(RetryAfter::Seconds(3))
            .matching("/metadata/identity"),
    );
    control.inject(Fault::status(503).matching("/metadata/identity"));
    let url = format!("{}?{query}", emu.imds_endpoint());
    let (status, _, body) = json(
        http()
            .get(&url)
            .header("Metadata", "true")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 410, "{body}");
    assert!(body["error"].is_string());
    let (status, headers, _) = json(
        http()
            .get(&url)
            .header("Metadata", "true")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 429);
    assert_eq!(headers["retry-after"], "3");
    let (status, _, _) = json(
        http()
            .get(&url)
            .header("Metadata", "true")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 503);
    // A hang: the answer comes late but comes.
    control.inject(Fault::delay(Duration::from_millis(400)).matching("/msi/token"));
    let started = Instant::now();
    let (status, _, _) = json(
        http()
            .get(format!(
                "{}?api-version=2019-08-01&resource={GRAPH}",
                emu.app_service_endpoint()
            ))
            .header("X-IDENTITY-HEADER", control.app_service_identity_header())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert!(started.elapsed() >= Duration::from_millis(400));
    let (status, _, _) = json(
        http()
            .get(&url)
            .header("Metadata", "true")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(control.requests_to("/metadata/identity/oauth2/token"), 4);
}
