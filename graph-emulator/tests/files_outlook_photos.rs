//! Outlook attachments (inline and through an upload session, as Outlook documents them) and
//! profile photos of users and groups.

mod graph_support;

use base64::Engine as _;
use graph_support::*;
use reqwest::Method;
use serde_json::{Value, json};

fn content_client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

#[tokio::test]
async fn message_attachments_inline_and_through_an_upload_session() {
    let env = env().await;
    let message = env
        .send(Method::POST, "me/messages", &env.user, &[], Some(&json!({"subject": "Report", "body": {"contentType": "text", "content": "see attached"}})))
        .await;
    assert_eq!(message.status, 201, "{:#}", message.body);
    let mid = message.body["id"].as_str().unwrap().to_owned();
    assert_eq!(message.body["subject"], "Report");
    let base = format!("users/{ADELE}/messages/{mid}");

    let small = env
        .post(&format!("{base}/attachments"), &json!({"@odata.type": "#microsoft.graph.fileAttachment", "name": "a.txt", "contentBytes": base64::engine::general_purpose::STANDARD.encode(b"small"), "contentType": "text/plain"}))
        .await;
    assert_eq!(small.status, 201, "{:#}", small.body);
    assert_eq!(small.body["size"], 5);

    let data: Vec<u8> = (0..(5 * 1024 * 1024 + 3))
        .map(|i| (i % 253) as u8)
        .collect();
    let created = env
        .post(&format!("{base}/attachments/createUploadSession"), &json!({"AttachmentItem": {"attachmentType": "file", "name": "big.bin", "size": data.len(), "contentType": "application/octet-stream"}}))
        .await;
    assert_eq!(created.status, 201, "{:#}", created.body);
    assert!(
        created.body["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("#microsoft.graph.uploadSession")
    );
    assert_eq!(created.body["nextExpectedRanges"], json!(["0"]));
    let url = created.body["uploadUrl"].as_str().unwrap().to_owned();
    assert!(url.starts_with(&env.emu.content_url()));
    // Slices of at most 4 MB.
    let too_big = content_client()
        .put(&url)
        .header(
            "Content-Range",
            format!("bytes 0-{}/{}", 4 * 1024 * 1024, data.len()),
        )
        .body(data[..=4 * 1024 * 1024].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(too_big.status(), 400);
    let slice = 3 * 1024 * 1024;
    let first = content_client()
        .put(&url)
        .header(
            "Content-Range",
            format!("bytes 0-{}/{}", slice - 1, data.len()),
        )
        .body(data[..slice].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 202);
    let progress: Value = first.json().await.unwrap();
    assert_eq!(progress["nextExpectedRanges"], json!([slice.to_string()]));
    let last = content_client()
        .put(&url)
        .header(
            "Content-Range",
            format!("bytes {slice}-{}/{}", data.len() - 1, data.len()),
        )
        .body(data[slice..].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(last.status(), 201);
    let location = last.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        last.bytes().await.unwrap().is_empty(),
        "the final answer has no body"
    );
    let aid = location
        .rsplit("attachments('")
        .next()
        .unwrap()
        .trim_end_matches("')")
        .to_owned();
    let raw = env
        .http
        .get(env.url(&format!("{base}/attachments/{aid}/$value")))
        .bearer_auth(&env.app)
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 200);
    assert_eq!(raw.bytes().await.unwrap().as_ref(), data.as_slice());
    let list = env.get(&format!("{base}/attachments")).await;
    assert_eq!(list.body["value"].as_array().unwrap().len(), 2);
    let again = env.get(&base).await;
    assert_eq!(again.body["hasAttachments"], true);
    env.get(&format!("{base}/attachments/nope/$value"))
        .await
        .assert_error(404, "ErrorItemNotFound");
}

#[tokio::test]
async fn event_attachments_use_the_same_session_shape() {
    let env = env().await;
    let event = env
        .post(&format!("users/{MEGAN}/events"), &json!({"subject": "Review", "start": {"dateTime": "2024-05-01T10:00:00", "timeZone": "UTC"}, "end": {"dateTime": "2024-05-01T11:00:00", "timeZone": "UTC"}}))
        .await;
    assert_eq!(event.status, 201, "{:#}", event.body);
    let eid = event.body["id"].as_str().unwrap();
    let data = vec![7u8; 1000];
    let created = env
        .post(&format!("users/{MEGAN}/events/{eid}/attachments/createUploadSession"), &json!({"AttachmentItem": {"attachmentType": "file", "name": "agenda.pdf", "size": 1000}}))
        .await;
    let url = created.body["uploadUrl"].as_str().unwrap();
    let done = content_client()
        .put(url)
        .header("Content-Range", "bytes 0-999/1000")
        .body(data.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 201);
    assert!(
        done.headers()["location"]
            .to_str()
            .unwrap()
            .contains("/events('")
    );
    env.post(
        &format!("users/{MEGAN}/events/{eid}/attachments/createUploadSession"),
        &json!({"AttachmentItem": {"name": "x"}}),
    )
    .await
    .assert_error(400, "ErrorInvalidRequest");
}

/// A 1x1 PNG with a 300x200 header (the emulator reads the size from the header).
fn png(width: u32, height: u32) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    bytes.extend_from_slice(&width.to_be_bytes());
    bytes.extend_from_slice(&height.to_be_bytes());
    bytes.extend_from_slice(&[8, 6, 0, 0, 0, 0, 0, 0, 0]);
    bytes
}

#[tokio::test]
async fn photos_of_users_and_groups() {
    let env = env().await;
    for owner in [format!("users/{ADELE}"), format!("groups/{FINANCE}")] {
        env.get(&format!("{owner}/photo"))
            .await
            .assert_error(404, "ImageNotFound");
        let missing = env.get(&format!("{owner}/photo/$value")).await;
        missing.assert_error(404, "ImageNotFound");
        let image = png(300, 200);
        let put = env
            .http
            .put(env.url(&format!("{owner}/photo/$value")))
            .bearer_auth(&env.app)
            .header("Content-Type", "image/png")
            .body(image.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(put.status(), 200);
        let raw = env
            .http
            .get(env.url(&format!("{owner}/photo/$value")))
            .bearer_auth(&env.app)
            .send()
            .await
            .unwrap();
        assert_eq!(raw.headers()["content-type"], "image/png");
        assert_eq!(raw.bytes().await.unwrap().as_ref(), image.as_slice());
        let meta = env.get(&format!("{owner}/photo")).await;
        assert_eq!(meta.status, 200, "{:#}", meta.body);
        assert_eq!(meta.body["width"], 300);
        assert_eq!(meta.body["height"], 200);
        assert_eq!(meta.body["@odata.mediaContentType"], "image/png");
        let sizes = env.get(&format!("{owner}/photos")).await;
        let ids: Vec<&str> = sizes.body["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["48X48", "64X64", "96X96", "120X120"]);
    }
    let me = env
        .send(Method::GET, "me/photo", &env.user, &[], None)
        .await;
    assert_eq!(me.status, 200);
    let not_image = env
        .http
        .put(env.url(&format!("users/{MEGAN}/photo/$value")))
        .bearer_auth(&env.app)
        .header("Content-Type", "text/plain")
        .body("hi")
        .send()
        .await
        .unwrap();
    assert_eq!(not_image.status(), 400);
}
