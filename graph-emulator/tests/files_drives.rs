//! Drives and drive items: addressing by id and by path, simple uploads, children, folders,
//! deletes, and downloads through the content origin (302 to a pre-authenticated URL that refuses
//! `Authorization`).

mod graph_support;

use graph_support::*;
use reqwest::Method;
use serde_json::{Value, json};

async fn put_bytes(env: &Env, path: &str, bytes: &[u8]) -> Resp {
    let response = env
        .http
        .put(env.url(path))
        .bearer_auth(&env.app)
        .body(bytes.to_vec())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    Resp {
        status,
        headers,
        body,
    }
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap()
}

#[tokio::test]
async fn drives_are_found_by_owner_and_by_id() {
    let env = env().await;
    let me = env
        .send(Method::GET, "me/drive", &env.user, &[], None)
        .await;
    assert_eq!(me.status, 200, "{:#}", me.body);
    assert_eq!(me.body["driveType"], "business");
    assert_eq!(me.body["owner"]["user"]["id"], ADELE);
    let id = me.body["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("b!"));
    let same = env.get(&format!("users/{ADELE}/drive")).await;
    assert_eq!(same.body["id"], id);
    let by_id = env.get(&format!("drives/{id}")).await;
    assert_eq!(by_id.body["id"], id);
    let root = env.get(&format!("drives/{id}/root")).await;
    assert_eq!(root.status, 200);
    assert!(root.body["root"].is_object());
    assert_eq!(root.body["folder"]["childCount"], 0);
    let group = env.get(&format!("groups/{FINANCE}/drive")).await;
    assert_eq!(group.body["owner"]["group"]["id"], FINANCE);
    env.get("drives/b!nope")
        .await
        .assert_error(404, "itemNotFound");
    env.get("users/00000000-0000-0000-0000-00000000dead/drive")
        .await
        .assert_error(404, "Request_ResourceNotFound");
}

#[tokio::test]
async fn simple_upload_by_path_creates_folders_and_downloads_redirect() {
    let env = env().await;
    let drive = env.get(&format!("users/{ADELE}/drive")).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let created = put_bytes(
        &env,
        &format!("drives/{drive}/root:/Reports/2024/summary.txt:/content"),
        b"hello, drive",
    )
    .await;
    assert_eq!(created.status, 201, "{:#}", created.body);
    assert_eq!(created.body["name"], "summary.txt");
    assert_eq!(created.body["size"], 12);
    assert_eq!(created.body["file"]["mimeType"], "text/plain");
    assert_eq!(
        created.body["parentReference"]["path"],
        "/drive/root:/Reports/2024"
    );
    let item = created.body["id"].as_str().unwrap().to_owned();
    // Replacing keeps the id and answers 200.
    let replaced = put_bytes(
        &env,
        &format!("drives/{drive}/items/{item}/content"),
        b"hello again",
    )
    .await;
    assert_eq!(replaced.status, 200);
    assert_eq!(replaced.body["id"], item);
    let by_path = env
        .get(&format!("drives/{drive}/root:/Reports/2024/summary.txt:"))
        .await;
    assert_eq!(by_path.body["id"], item);
    let children = env
        .get(&format!("drives/{drive}/root:/Reports:/children"))
        .await;
    assert_eq!(children.body["value"][0]["name"], "2024");
    assert!(children.body["value"][0]["folder"].is_object());

    // Download: 302 to the content origin, which serves the bytes without a token...
    let redirect = no_redirects()
        .get(env.url(&format!("drives/{drive}/items/{item}/content")))
        .bearer_auth(&env.app)
        .send()
        .await
        .unwrap();
    assert_eq!(redirect.status(), 302);
    let location = redirect.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(&env.emu.content_url()), "{location}");
    assert_ne!(env.emu.content_url(), env.emu.url());
    assert!(location.contains("tempauth="));
    let bytes = no_redirects().get(&location).send().await.unwrap();
    assert_eq!(bytes.status(), 200);
    assert_eq!(bytes.bytes().await.unwrap().as_ref(), b"hello again");
    // ...and refuses (and counts) one that carries Authorization.
    let with_token = no_redirects()
        .get(&location)
        .bearer_auth(&env.app)
        .send()
        .await
        .unwrap();
    assert_eq!(with_token.status(), 401);
    assert_eq!(env.emu.control().content_requests_with_authorization(), 1);
    let forged = no_redirects()
        .get(location.replace("tempauth=", "tempauth=x"))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    assert_eq!(created.body["@microsoft.graph.downloadUrl"], location);
    // The path form with /content downloads too.
    let by_path = no_redirects()
        .get(env.url(&format!(
            "drives/{drive}/root:/Reports/2024/summary.txt:/content"
        )))
        .bearer_auth(&env.app)
        .send()
        .await
        .unwrap();
    assert_eq!(by_path.status(), 302);
}

#[tokio::test]
async fn folders_conflicts_and_deletes() {
    let env = env().await;
    let base = format!("users/{MEGAN}/drive");
    let folder = env
        .post(
            &format!("{base}/root/children"),
            &json!({"name": "Docs", "folder": {}, "@microsoft.graph.conflictBehavior": "fail"}),
        )
        .await;
    assert_eq!(folder.status, 201, "{:#}", folder.body);
    env.post(
        &format!("{base}/root/children"),
        &json!({"name": "Docs", "folder": {}, "@microsoft.graph.conflictBehavior": "fail"}),
    )
    .await
    .assert_error(409, "nameAlreadyExists");
    let renamed = env
        .post(
            &format!("{base}/root/children"),
            &json!({"name": "Docs", "folder": {}, "@microsoft.graph.conflictBehavior": "rename"}),
        )
        .await;
    assert_eq!(renamed.body["name"], "Docs 1");
    let fid = folder.body["id"].as_str().unwrap();
    let file = put_bytes(
        &env,
        &format!("{base}/items/{fid}:/a.bin:/content"),
        &[0u8; 100],
    )
    .await;
    assert_eq!(file.status, 201);
    let fail = put_bytes(
        &env,
        &format!("{base}/items/{fid}:/a.bin:/content?@microsoft.graph.conflictBehavior=fail"),
        &[1u8; 10],
    )
    .await;
    fail.assert_error(409, "nameAlreadyExists");
    let del = env.delete(&format!("{base}/items/{fid}")).await;
    assert_eq!(del.status, 204);
    env.get(&format!("{base}/root:/Docs/a.bin:"))
        .await
        .assert_error(404, "itemNotFound");
    env.get(&format!("{base}/items/01NOTANITEM"))
        .await
        .assert_error(404, "itemNotFound");
}

#[tokio::test]
async fn the_storage_limit_is_enforced() {
    let emu = msgraph_typed_emulator::Emulator::builder()
        .file_storage_limit(1000)
        .start()
        .await
        .unwrap();
    let token = emu
        .control()
        .issue_app_token(
            msgraph_typed_emulator::seeded::DAEMON_CLIENT_ID,
            std::time::Duration::from_secs(60),
        )
        .unwrap();
    let http = reqwest::Client::new();
    let put = |n: usize| {
        http.put(format!(
            "{}/users/{ADELE}/drive/root:/f{n}.bin:/content",
            emu.graph_url()
        ))
        .bearer_auth(&token)
        .body(vec![0u8; 600])
        .send()
    };
    assert_eq!(put(1).await.unwrap().status(), 201);
    let second = put(2).await.unwrap();
    assert_eq!(second.status(), 507);
    let body: Value = second.json().await.unwrap();
    assert_eq!(body["error"]["code"], "quotaLimitReached");
    assert_eq!(emu.control().file_bytes_stored(), 600);
}
