//! Compiled only for tests: `upload.rs` includes this file under #[cfg(test)].

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http::Method;
use msgraph_typed_auth::{AccessToken, StaticTokenCredential};
use parking_lot::Mutex;
use serde_json::json;

use super::*;
use crate::clock::TestClock;
use crate::mock::{MockResponse, MockTransport, RecordedCall};

const UPLOAD: &str = "https://up.example/upload/s1?tempauth=secret-capability";

fn client(mock: &MockTransport, clock: &TestClock) -> Client {
    Client::builder()
        .transport(mock.clone())
        .credential(StaticTokenCredential::new(AccessToken::new(
            "graph-token",
            SystemTime::now() + Duration::from_secs(3600),
        )))
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap()
}

/// The `start` and `end` of a call's `Content-Range`.
fn range(call: &RecordedCall) -> (u64, u64) {
    let value = call.header("content-range").unwrap_or_default();
    let span = value
        .trim_start_matches("bytes ")
        .split('/')
        .next()
        .unwrap_or_default();
    let (a, b) = span.split_once('-').unwrap();
    (a.parse().unwrap(), b.parse().unwrap())
}

fn session(total: u64) -> UploadSession {
    UploadSession::new(UPLOAD, UploadTarget::DriveItem, total).unwrap()
}

/// An upload server that accepts every slice and completes with `{"id": "item"}`; `refuse`
/// decides per call (0-based) to answer something else first.
fn server(
    mock: &MockTransport,
    total: u64,
    refuse: impl Fn(usize, &RecordedCall) -> Option<MockResponse> + Send + Sync + 'static,
) -> Arc<Mutex<u64>> {
    let confirmed = Arc::new(Mutex::new(0u64));
    let state = confirmed.clone();
    let puts = Arc::new(Mutex::new(0usize));
    mock.on_path("/upload/s1").respond_with(move |call| {
        if call.method == Method::GET {
            let next = *state.lock();
            return MockResponse::json(200, json!({"nextExpectedRanges": [format!("{next}-")]}));
        }
        let n = {
            let mut puts = puts.lock();
            *puts += 1;
            *puts - 1
        };
        if let Some(answer) = refuse(n, call) {
            return answer;
        }
        let (start, end) = range(call);
        let mut confirmed = state.lock();
        if start != *confirmed {
            return MockResponse::json(
                416,
                json!({"error": {"code": "invalidRange", "message": "bad start"}}),
            );
        }
        *confirmed = end + 1;
        if *confirmed == total {
            MockResponse::json(201, json!({"id": "item", "size": total}))
        } else {
            MockResponse::json(
                202,
                json!({"nextExpectedRanges": [format!("{}-", *confirmed)]}),
            )
        }
    });
    confirmed
}

#[tokio::test]
async fn slices_carry_no_credential_and_the_creation_does() {
    let mock = MockTransport::new();
    let clock = TestClock::new();
    let total = 3 * DRIVE_SLICE_UNIT + 7;
    mock.on(
        Method::POST,
        "/v1.0/me/drive/root:/a.bin:/createUploadSession",
    )
    .respond(MockResponse::json(
        200,
        json!({"uploadUrl": UPLOAD, "expirationDateTime": "2030-01-01T00:00:00Z"}),
    ));
    server(&mock, total, |_, _| None);
    let client = client(&mock, &clock);
    let mut upload = LargeFileUpload::create(
        &client,
        "me/drive/root:/a.bin:/createUploadSession",
        &json!({"item": {}}),
        UploadTarget::DriveItem,
        total,
    )
    .await
    .unwrap()
    .slice_size(DRIVE_SLICE_UNIT);
    assert_eq!(upload.session().expiration(), Some("2030-01-01T00:00:00Z"));
    let data = vec![7u8; total as usize];
    let done = upload
        .upload::<_, serde_json::Value>(&data[..])
        .await
        .unwrap();
    assert_eq!(done.item.unwrap()["id"], "item");
    let calls = mock.calls();
    assert_eq!(calls[0].header("authorization"), Some("Bearer graph-token"));
    let slices: Vec<_> = calls
        .iter()
        .filter(|c| c.url.host_str() == Some("up.example"))
        .collect();
    assert_eq!(slices.len(), 4);
    assert!(slices.iter().all(|c| c.header("authorization").is_none()));
    assert_eq!(range(slices[3]), (3 * DRIVE_SLICE_UNIT, total - 1));
    assert_eq!(slices[3].body.len(), 7);
}

#[tokio::test]
async fn a_416_or_a_partial_landing_resends_only_what_the_server_lacks() {
    let mock = MockTransport::new();
    let clock = TestClock::new();
    let total = 2 * DRIVE_SLICE_UNIT;
    // The first slice "lands" only 100 bytes, then answers 500 (a proxy cut it off); the
    // resend finds the server at byte 150 (416: it took 50 more meanwhile).
    let confirmed = Arc::new(Mutex::new(None::<Arc<Mutex<u64>>>));
    let handle = confirmed.clone();
    let state = server(&mock, total, move |n, _| {
        if n == 0 {
            if let Some(state) = handle.lock().as_ref() {
                *state.lock() = 100;
            }
            return Some(MockResponse::json(
                500,
                json!({"error": {"code": "generalException", "message": "cut"}}),
            ));
        }
        if n == 1 {
            if let Some(state) = handle.lock().as_ref() {
                *state.lock() = 150;
            }
            return Some(MockResponse::json(
                416,
                json!({"error": {"code": "invalidRange", "message": "expected 150"}}),
            ));
        }
        None
    });
    *confirmed.lock() = Some(state);
    let client = client(&mock, &clock);
    let mut upload =
        LargeFileUpload::from_session(&client, session(total)).slice_size(DRIVE_SLICE_UNIT);
    let data: Vec<u8> = (0..total).map(|i| i as u8).collect();
    upload
        .upload::<_, serde_json::Value>(&data[..])
        .await
        .unwrap();
    let puts: Vec<RecordedCall> = mock
        .calls()
        .into_iter()
        .filter(|c| c.method == Method::PUT)
        .collect();
    assert_eq!(puts.len(), 4);
    assert_eq!(
        range(&puts[1]),
        (100, DRIVE_SLICE_UNIT - 1),
        "resent from the server's offset"
    );
    assert_eq!(&puts[1].body[..], &data[100..DRIVE_SLICE_UNIT as usize]);
    assert_eq!(
        range(&puts[2]),
        (150, DRIVE_SLICE_UNIT - 1),
        "realigned after the 416"
    );
    assert_eq!(&puts[2].body[..], &data[150..DRIVE_SLICE_UNIT as usize]);
    assert_eq!(clock.sleeps().len(), 2, "a backoff before each resend");
}

#[tokio::test]
async fn a_retry_after_on_a_slice_is_waited_and_a_persistent_failure_is_typed() {
    let mock = MockTransport::new();
    let clock = TestClock::new();
    let total = DRIVE_SLICE_UNIT;
    server(&mock, total, |n, _| {
        (n == 0).then(|| {
            MockResponse::json(
                503,
                json!({"error": {"code": "serviceNotAvailable", "message": "busy"}}),
            )
            .header("retry-after", "7")
        })
    });
    let client = client(&mock, &clock);
    let mut upload = LargeFileUpload::from_session(&client, session(total));
    upload
        .upload::<_, serde_json::Value>(&vec![1u8; total as usize][..])
        .await
        .unwrap();
    assert_eq!(clock.sleeps(), vec![Duration::from_secs(7)]);

    let mock = MockTransport::new();
    server(&mock, total, |_, _| {
        Some(MockResponse::json(
            500,
            json!({"error": {"code": "generalException", "message": "down"}}),
        ))
    });
    let client = self::client(&mock, &clock);
    let mut upload = LargeFileUpload::from_session(&client, session(total));
    let error = upload
        .upload::<_, serde_json::Value>(&vec![1u8; total as usize][..])
        .await
        .unwrap_err();
    assert_eq!(
        error.status(),
        Some(StatusCode::INTERNAL_SERVER_ERROR),
        "{error}"
    );
    let puts = mock
        .calls()
        .into_iter()
        .filter(|c| c.method == Method::PUT)
        .count();
    assert_eq!(puts, 4, "the client's 3 retries, then the error");
}

#[tokio::test]
async fn a_redirecting_upload_url_is_never_followed_and_clear_urls_are_refused() {
    let mock = MockTransport::new();
    let clock = TestClock::new();
    mock.on_any()
        .respond(MockResponse::status(307).header("location", "https://elsewhere.example/x"));
    let client = client(&mock, &clock);
    let mut upload = LargeFileUpload::from_session(&client, session(10));
    let error = upload
        .upload::<_, serde_json::Value>(&[0u8; 10][..])
        .await
        .unwrap_err();
    assert!(error.to_string().contains("never followed"), "{error}");
    assert_eq!(mock.calls().len(), 1);
    assert!(UploadSession::new("http://up.example/s", UploadTarget::DriveItem, 1).is_err());
    assert!(UploadSession::new("http://127.0.0.1:9/s", UploadTarget::DriveItem, 1).is_ok());
    assert!(!format!("{:?}", session(1)).contains("secret-capability"));
}

#[tokio::test]
async fn slices_follow_each_targets_rules_and_short_sources_say_where_they_ended() {
    let mock = MockTransport::new();
    let clock = TestClock::new();
    let client = client(&mock, &clock);
    let drive = LargeFileUpload::from_session(&client, session(10)).slice_size(1_000_000);
    assert_eq!(drive.slice, 3 * DRIVE_SLICE_UNIT);
    let tiny = LargeFileUpload::from_session(&client, session(10)).slice_size(1);
    assert_eq!(tiny.slice, DRIVE_SLICE_UNIT);
    let attachment = UploadSession::new(UPLOAD, UploadTarget::Attachment, 10).unwrap();
    let outlook = LargeFileUpload::from_session(&client, attachment).slice_size(100 << 20);
    assert_eq!(outlook.slice, ATTACHMENT_MAX_SLICE);

    server(&mock, 1000, |_, _| None);
    let mut upload = LargeFileUpload::from_session(&client, session(1000));
    let error = upload
        .upload::<_, serde_json::Value>(&[0u8; 600][..])
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("ended at byte 600 of the 1000"),
        "{error}"
    );
}

#[tokio::test]
async fn a_stream_of_odd_chunks_uploads_the_same_bytes() {
    let mock = MockTransport::new();
    let clock = TestClock::new();
    let total = DRIVE_SLICE_UNIT + 5000;
    server(&mock, total, |_, _| None);
    let client = client(&mock, &clock);
    let data: Vec<u8> = (0..total).map(|i| (i % 251) as u8).collect();
    let chunks: Vec<std::io::Result<Bytes>> = data
        .chunks(4099)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    let mut upload =
        LargeFileUpload::from_session(&client, session(total)).slice_size(DRIVE_SLICE_UNIT);
    upload
        .upload_stream::<_, serde_json::Value>(futures::stream::iter(chunks))
        .await
        .unwrap();
    let sent: Vec<u8> = mock
        .calls()
        .into_iter()
        .filter(|c| c.method == Method::PUT)
        .flat_map(|c| c.body.to_vec())
        .collect();
    assert!(sent == data);
}
