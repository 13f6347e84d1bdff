//! Upload sessions with OneDrive's semantics, and faults mid-upload (a connection dropped after
//! N bytes of a fragment, a 5xx on fragment K) with resumption that re-sends nothing confirmed.

mod graph_support;

use std::time::Duration;

use graph_support::*;
use msgraph_typed_emulator::{Emulator, Fault};
use serde_json::{Value, json};

const UNIT: usize = 320 * 1024;

fn content_client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

async fn fragment(
    url: &str,
    data: &[u8],
    start: usize,
    end: usize,
) -> reqwest::Result<(u16, Value)> {
    let response = content_client()
        .put(url)
        .header(
            "Content-Range",
            format!("bytes {start}-{end}/{}", data.len()),
        )
        .body(data[start..=end].to_vec())
        .send()
        .await?;
    let status = response.status().as_u16();
    Ok((status, response.json().await.unwrap_or(Value::Null)))
}

fn file(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

async fn session(env: &Env, path: &str, body: Value) -> Resp {
    env.post(path, &body).await
}

async fn download(env: &Env, item_path: &str) -> Vec<u8> {
    let item = env.get(item_path).await;
    let url = item.body["@microsoft.graph.downloadUrl"]
        .as_str()
        .unwrap()
        .to_owned();
    content_client()
        .get(url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .to_vec()
}

#[tokio::test]
async fn a_session_takes_fragments_and_creates_then_replaces_the_file() {
    let env = env().await;
    let base = format!("users/{ADELE}/drive");
    let data = file(UNIT * 2 + 1234);
    let created = session(
        &env,
        &format!("{base}/root:/Uploads/big.bin:/createUploadSession"),
        json!({}),
    )
    .await;
    assert_eq!(created.status, 200, "{:#}", created.body);
    let url = created.body["uploadUrl"].as_str().unwrap().to_owned();
    assert!(url.starts_with(&env.emu.content_url()));
    assert_eq!(created.body["nextExpectedRanges"], json!(["0-"]));
    assert!(
        created.body["expirationDateTime"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );

    let (status, body) = fragment(&url, &data, 0, UNIT - 1).await.unwrap();
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["nextExpectedRanges"], json!([format!("{UNIT}-")]));
    let status_now: Value = content_client()
        .get(&url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        status_now["nextExpectedRanges"],
        json!([format!("{UNIT}-")])
    );
    let (status, _) = fragment(&url, &data, UNIT, 2 * UNIT - 1).await.unwrap();
    assert_eq!(status, 202);
    let (status, item) = fragment(&url, &data, 2 * UNIT, data.len() - 1)
        .await
        .unwrap();
    assert_eq!(status, 201, "{item}");
    assert_eq!(item["name"], "big.bin");
    assert_eq!(item["size"], data.len());
    assert_eq!(
        download(&env, &format!("{base}/root:/Uploads/big.bin:")).await,
        data
    );
    // The completed session is gone.
    assert_eq!(
        content_client().get(&url).send().await.unwrap().status(),
        404
    );

    // A second session over the same name replaces it: 200 and the same id.
    let parent = env.get(&format!("{base}/root:/Uploads:")).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let again = session(
        &env,
        &format!("{base}/items/{parent}:/big.bin:/createUploadSession"),
        json!({"item": {"@microsoft.graph.conflictBehavior": "replace"}}),
    )
    .await;
    let url = again.body["uploadUrl"].as_str().unwrap().to_owned();
    let small = file(1000);
    let (status, replaced) = fragment(&url, &small, 0, 999).await.unwrap();
    assert_eq!(status, 200, "{replaced}");
    assert_eq!(replaced["id"], item["id"]);
    assert_eq!(
        download(&env, &format!("{base}/root:/Uploads/big.bin:")).await,
        small
    );

    // conflictBehavior fail on an existing name: 409 at creation.
    session(
        &env,
        &format!("{base}/root:/Uploads/big.bin:/createUploadSession"),
        json!({"item": {"@microsoft.graph.conflictBehavior": "fail"}}),
    )
    .await
    .assert_error(409, "nameAlreadyExists");
    // rename: a new file next to it.
    let renamed = session(
        &env,
        &format!("{base}/root:/Uploads/big.bin:/createUploadSession"),
        json!({"item": {"@microsoft.graph.conflictBehavior": "rename"}}),
    )
    .await;
    let (status, item) = fragment(renamed.body["uploadUrl"].as_str().unwrap(), &small, 0, 999)
        .await
        .unwrap();
    assert_eq!(status, 201);
    assert_eq!(item["name"], "big 1.bin");
}

#[tokio::test]
async fn wrong_ranges_sizes_cancel_expiry_and_authorization() {
    let emu = Emulator::builder()
        .upload_session_lifetime(Duration::from_millis(300))
        .start()
        .await
        .unwrap();
    let env = Env {
        app: emu
            .control()
            .issue_app_token(
                msgraph_typed_emulator::seeded::DAEMON_CLIENT_ID,
                Duration::from_secs(60),
            )
            .unwrap(),
        user: String::new(),
        http: reqwest::Client::new(),
        emu,
    };
    let base = format!("users/{ADELE}/drive");
    let data = file(UNIT * 2);
    let url = session(
        &env,
        &format!("{base}/root:/x.bin:/createUploadSession"),
        json!({}),
    )
    .await
    .body["uploadUrl"]
        .as_str()
        .unwrap()
        .to_owned();
    // Not a multiple of 320 KiB and not the last fragment.
    let (status, body) = fragment(&url, &data, 0, 1000).await.unwrap();
    assert_eq!(status, 400, "{body}");
    // Not where the session stands.
    let (status, body) = fragment(&url, &data, UNIT, 2 * UNIT - 1).await.unwrap();
    assert_eq!(status, 416, "{body}");
    assert_eq!(body["error"]["code"], "invalidRange");
    // Authorization on the upload URL: refused.
    let with_auth = content_client()
        .put(&url)
        .bearer_auth(&env.app)
        .header(
            "Content-Range",
            format!("bytes 0-{}/{}", UNIT - 1, data.len()),
        )
        .body(data[..UNIT].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(with_auth.status(), 401);
    assert_eq!(env.emu.control().content_requests_with_authorization(), 1);
    // Cancel.
    assert_eq!(
        content_client().delete(&url).send().await.unwrap().status(),
        204
    );
    assert_eq!(
        content_client().get(&url).send().await.unwrap().status(),
        404
    );
    // Expiry.
    let url = session(
        &env,
        &format!("{base}/root:/y.bin:/createUploadSession"),
        json!({}),
    )
    .await
    .body["uploadUrl"]
        .as_str()
        .unwrap()
        .to_owned();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (status, body) = fragment(&url, &data, 0, UNIT - 1).await.unwrap();
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"]["code"], "itemNotFound");
}

#[tokio::test]
async fn a_dropped_fragment_is_resumed_without_resending_confirmed_bytes() {
    let env = env().await;
    let control = env.emu.control();
    let base = format!("users/{ADELE}/drive");
    let data = file(UNIT * 3 + 77);
    let url = session(
        &env,
        &format!("{base}/root:/resume.bin:/createUploadSession"),
        json!({}),
    )
    .await
    .body["uploadUrl"]
        .as_str()
        .unwrap()
        .to_owned();
    // The second PUT to the upload URL loses its connection after 64 KiB of its body.
    control.inject(
        Fault::drop_after_bytes(64 * 1024)
            .after(1)
            .matching("/upload/")
            .method("PUT"),
    );
    let (status, _) = fragment(&url, &data, 0, UNIT - 1).await.unwrap();
    assert_eq!(status, 202);
    let dropped = fragment(&url, &data, UNIT, 2 * UNIT - 1).await;
    assert!(
        dropped.is_err(),
        "the connection was not dropped: {dropped:?}"
    );
    // Resume where the session says.
    let status_now: Value = content_client()
        .get(&url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        status_now["nextExpectedRanges"],
        json!([format!("{UNIT}-")])
    );
    // A 503 on the next fragment, then service again.
    control.inject(Fault::status(503).matching("/upload/").method("PUT"));
    let (status, _) = fragment(&url, &data, UNIT, 2 * UNIT - 1).await.unwrap();
    assert_eq!(status, 503);
    let (status, _) = fragment(&url, &data, UNIT, 2 * UNIT - 1).await.unwrap();
    assert_eq!(status, 202);
    let info = control.upload_session(&url).expect("open session");
    assert_eq!(info.bytes_confirmed, 2 * UNIT as u64);
    assert_eq!(
        info.bytes_received,
        2 * UNIT as u64,
        "neither the cut body nor the refused one reached the session twice"
    );
    let (status, item) = fragment(&url, &data, 2 * UNIT, data.len() - 1)
        .await
        .unwrap();
    assert_eq!(status, 201, "{item}");
    assert!(control.upload_session(&url).is_none());
    assert_eq!(
        download(&env, &format!("{base}/root:/resume.bin:")).await,
        data
    );
    assert_eq!(control.requests_to("/upload/"), 6);
}
