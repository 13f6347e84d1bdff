//! Files end to end against the emulator: large uploads in slices with progress, a failed
//! slice resumed from the server's ranges without re-sending confirmed bytes, a stored session
//! finished by a new client, streaming and ranged downloads through the redirect to the
//! content origin (which refuses any `Authorization`), simple uploads, conflicts, cancelling,
//! attachments and photos.

use std::sync::{Arc, Mutex};

use futures::TryStreamExt as _;
use msgraph_typed::auth::{ClientAuthentication, ClientSecretCredential};
use msgraph_typed::models::DriveItem;
use msgraph_typed::{
    Cloud, ConflictBehavior, GraphClient, LargeFileUpload, UploadProgress, UploadSession,
};
use msgraph_typed_emulator::{Emulator, Fault, seeded};

fn client(emu: &Emulator) -> GraphClient {
    let credential = ClientSecretCredential::with_options(
        emu.tenant_id(),
        seeded::DAEMON_CLIENT_ID,
        ClientAuthentication::secret(seeded::DAEMON_CLIENT_SECRET),
        Default::default(),
    )
    .unwrap();
    GraphClient::builder()
        .credential(credential)
        .cloud(Cloud::custom(&emu.authority_url(), emu.url()).unwrap())
        .retry(msgraph_typed::RetryOptions::new().base_delay(std::time::Duration::from_millis(20)))
        .build()
        .unwrap()
}

async fn first_user(client: &GraphClient) -> String {
    let page = client.users().list().top(1).send().await.unwrap();
    page.items[0].id().unwrap().to_string()
}

/// Deterministic content that differs at every offset.
fn content(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i.wrapping_mul(31) ^ (i >> 8)) as u8)
        .collect()
}

async fn download_all(stream: msgraph_typed::ByteStream) -> Vec<u8> {
    stream
        .try_fold(Vec::new(), |mut all, chunk| async move {
            all.extend_from_slice(&chunk);
            Ok(all)
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn a_50_mib_upload_goes_in_slices_with_progress_that_adds_up_and_downloads_back() {
    let emu = Emulator::start().await.unwrap();
    let client = client(&emu);
    let user = first_user(&client).await;
    let data = content(50 * 1024 * 1024);
    let target = client
        .users()
        .by_id(&user)
        .drive()
        .root()
        .item_at("exports/big file.bin");
    let events: Arc<Mutex<Vec<UploadProgress>>> = Arc::default();
    let seen = events.clone();
    let mut upload = target
        .upload_session(data.len() as u64, ConflictBehavior::Fail)
        .await
        .unwrap()
        .on_progress(move |p| seen.lock().unwrap().push(p));
    let done = upload.upload::<_, DriveItem>(&data[..]).await.unwrap();
    assert_eq!(done.status.as_u16(), 201);
    let item = done.item.unwrap();
    assert_eq!(item.name(), Some("big file.bin"));
    assert_eq!(item.size(), Some(data.len() as i64));

    let events = events.lock().unwrap().clone();
    assert_eq!(events.len(), 10, "5 MiB slices");
    assert!(
        events
            .windows(2)
            .all(|w| w[1].confirmed - w[0].confirmed == 5 * 1024 * 1024)
    );
    assert_eq!(events.last().unwrap().confirmed, data.len() as u64);
    assert!(events.iter().all(|e| e.total == data.len() as u64));

    // Streamed back through the redirect to the content origin, whole and in part.
    let back = download_all(target.content().download().send().await.unwrap()).await;
    assert!(back == data, "the downloaded bytes differ");
    let part = target
        .content()
        .download()
        .range(1_000_000..1_000_100)
        .send()
        .await
        .unwrap();
    assert_eq!(part.status().as_u16(), 206);
    assert_eq!(download_all(part).await, &data[1_000_000..1_000_100]);
    let tail = target
        .content()
        .download()
        .range(50 * 1024 * 1024 - 10..)
        .send()
        .await
        .unwrap();
    assert_eq!(download_all(tail).await, &data[data.len() - 10..]);
    let past = target
        .content()
        .download()
        .range(60 * 1024 * 1024..)
        .send()
        .await
        .unwrap_err();
    assert!(past.is_range_not_satisfiable(), "{past}");
    // As an AsyncRead.
    let mut reader = target
        .content()
        .download()
        .range(..16)
        .send()
        .await
        .unwrap()
        .into_async_read();
    let mut first = Vec::new();
    futures::AsyncReadExt::read_to_end(&mut reader, &mut first)
        .await
        .unwrap();
    assert_eq!(first, &data[..16]);

    assert_eq!(emu.control().content_requests_with_authorization(), 0);
    // The name is taken: with `fail` a new session is refused.
    let error = target
        .upload_session(10, ConflictBehavior::Fail)
        .await
        .unwrap_err();
    assert!(error.is_conflict(), "{error}");
}

#[tokio::test]
async fn a_failed_slice_resumes_from_the_servers_ranges_and_a_stored_session_finishes_in_a_new_client()
 {
    let emu = Emulator::start().await.unwrap();
    let control = emu.control();
    let first = client(&emu);
    let user = first_user(&first).await;
    let slice = 2 * 320 * 1024;
    let data = content(20 * slice);
    let target = first
        .users()
        .by_id(&user)
        .drive()
        .root()
        .item_at("resumed.bin");
    let mut upload = target
        .upload_session(data.len() as u64, ConflictBehavior::Rename)
        .await
        .unwrap()
        .slice_size(slice as u64);
    // Slice 7 fails once with a 500, and the process dies after 12 slices (its source ends).
    control.inject(
        Fault::status(500)
            .after(6)
            .times(1)
            .method("PUT")
            .matching("/upload/"),
    );
    let error = upload
        .upload::<_, DriveItem>(&data[..12 * slice])
        .await
        .unwrap_err();
    assert!(error.to_string().contains("source ended"), "{error}");
    assert_eq!(upload.session().next_offset(), 12 * slice as u64);
    let info = control
        .upload_session(upload.session().upload_url())
        .unwrap();
    assert_eq!(info.bytes_confirmed, 12 * slice as u64);
    assert_eq!(
        info.bytes_received,
        12 * slice as u64,
        "no confirmed byte was sent twice (the failed slice was refused before its body was read)"
    );

    // The session is a plain value: stored, then finished by another client.
    let stored = serde_json::to_string(upload.session()).unwrap();
    assert!(
        !format!("{:?}", upload.session()).contains("tempauth="),
        "Debug hides the URL's credential"
    );
    drop(upload);
    drop(first);
    let second = client(&emu);
    let session: UploadSession = serde_json::from_str(&stored).unwrap();
    let mut resumed = LargeFileUpload::resume(second.client(), session)
        .await
        .unwrap()
        .slice_size(slice as u64);
    let offset = resumed.session().next_offset() as usize;
    assert_eq!(offset, 12 * slice);
    let done = resumed
        .upload::<_, DriveItem>(&data[offset..])
        .await
        .unwrap();
    let item = done.item.unwrap();
    assert_eq!(item.size(), Some(data.len() as i64));
    let back = download_all(
        second
            .drives()
            .by_id(item.parent_reference().and_then(|p| p.drive_id()).unwrap())
            .items()
            .by_id(item.id().unwrap())
            .content()
            .download()
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(back == data, "the resumed file differs");
    assert_eq!(control.content_requests_with_authorization(), 0);
}

#[tokio::test]
async fn a_connection_dropped_mid_slice_is_resent_and_a_cancelled_session_is_gone() {
    let emu = Emulator::start().await.unwrap();
    let control = emu.control();
    let client = client(&emu);
    let user = first_user(&client).await;
    let slice = 320 * 1024;
    let data = content(6 * slice + 1000);
    let target = client
        .users()
        .by_id(&user)
        .drive()
        .root()
        .item_at("dropped.bin");
    let mut upload = target
        .upload_session(data.len() as u64, ConflictBehavior::Rename)
        .await
        .unwrap()
        .slice_size(slice as u64);
    control.inject(
        Fault::drop_after_bytes(1000)
            .after(2)
            .times(1)
            .method("PUT")
            .matching("/upload/"),
    );
    let done = upload.upload::<_, DriveItem>(&data[..]).await.unwrap();
    assert_eq!(done.item.unwrap().size(), Some(data.len() as i64));

    let mut cancelled = client
        .users()
        .by_id(&user)
        .drive()
        .root()
        .item_at("cancelled.bin")
        .upload_session(data.len() as u64, ConflictBehavior::Rename)
        .await
        .unwrap()
        .slice_size(slice as u64);
    let _ = cancelled
        .upload::<_, DriveItem>(&data[..slice])
        .await
        .unwrap_err();
    let stored = cancelled.session().clone();
    cancelled.cancel().await.unwrap();
    let gone = LargeFileUpload::resume(client.client(), stored)
        .await
        .unwrap_err();
    assert!(gone.is_not_found(), "{gone}");
}

#[tokio::test]
async fn small_files_go_in_one_put_and_photos_round_trip() {
    let emu = Emulator::start().await.unwrap();
    let client = client(&emu);
    let user = first_user(&client).await;
    let note = client
        .users()
        .by_id(&user)
        .drive()
        .root()
        .item_at("notes/hello.txt");
    let item = note
        .content()
        .put(&b"hello, graph"[..], "text/plain")
        .send()
        .await
        .unwrap();
    assert_eq!(item.size(), Some(12));
    assert_eq!(
        download_all(note.content().download().send().await.unwrap()).await,
        b"hello, graph"
    );

    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    png.extend_from_slice(&96u32.to_be_bytes());
    png.extend_from_slice(&96u32.to_be_bytes());
    png.extend_from_slice(&[8, 6, 0, 0, 0, 0, 0, 0, 0]);
    let photo = client.users().by_id(&user).photo();
    photo
        .value()
        .put(png.clone(), "image/png")
        .send()
        .await
        .unwrap();
    let back = photo.value().download().send().await.unwrap();
    assert_eq!(back.content_type(), Some("image/png"));
    assert_eq!(download_all(back).await, png);
    let sizes = client
        .users()
        .by_id(&user)
        .photos()
        .list()
        .send()
        .await
        .unwrap();
    assert!(!sizes.items.is_empty());
    assert!(
        sizes
            .items
            .iter()
            .all(|p| p.width().is_some_and(|w| w <= 96)),
        "{:?}",
        sizes.items
    );
    assert_eq!(emu.control().content_requests_with_authorization(), 0);
}

#[tokio::test]
async fn an_attachment_goes_through_outlooks_upload_session() {
    let emu = Emulator::start().await.unwrap();
    let client = client(&emu);
    let user = first_user(&client).await;
    let messages = client.users().by_id(&user).messages();
    let message: serde_json::Value = client
        .client()
        .request(msgraph_typed::Method::POST, messages.path().to_string())
        .json_body(&serde_json::json!({"subject": "Report"}))
        .send()
        .await
        .unwrap();
    let id = message["id"].as_str().unwrap();
    let data = content(5 * 1024 * 1024 + 123);
    let events: Arc<Mutex<Vec<UploadProgress>>> = Arc::default();
    let seen = events.clone();
    let mut upload = messages
        .by_id(id)
        .attachments()
        .upload_session("report.pdf", data.len() as u64, "application/pdf")
        .await
        .unwrap()
        .on_progress(move |p| seen.lock().unwrap().push(p));
    let done = upload
        .upload::<_, serde_json::Value>(&data[..])
        .await
        .unwrap();
    assert_eq!(done.status.as_u16(), 201);
    assert!(
        done.location
            .as_deref()
            .is_some_and(|l| l.contains("attachments")),
        "{:?}",
        done.location
    );
    assert_eq!(events.lock().unwrap().len(), 2, "3 MiB slices");
    let attachments: serde_json::Value = client
        .client()
        .request(
            msgraph_typed::Method::GET,
            format!("{}/{id}/attachments", messages.path()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(attachments["value"][0]["size"], data.len() as u64);
}
