//! Property tests: every parser of the pipeline that reads network input survives arbitrary
//! bytes and mutated real samples with a typed error, never a panic, and without allocating
//! more than a small multiple of its input (this binary's allocator aborts past a cap set
//! around each case). Covered through the public API over the mock transport: pages and
//! their next/delta links, Graph error bodies, `Retry-After`, `WWW-Authenticate` claims
//! challenges, and `$batch` answers.

#[path = "../../testdata/fuzz_support.rs"]
mod fuzz_support;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures::StreamExt;
use http::Method;
use msgraph_typed_auth::{AccessToken, StaticTokenCredential};
use msgraph_typed_core::clock::TestClock;
use msgraph_typed_core::mock::{MockResponse, MockTransport};
use msgraph_typed_core::{Client, Page, RequestOptions, RetryOptions};
use proptest::prelude::*;

#[global_allocator]
static ALLOCATOR: cap::Cap<std::alloc::System> = cap::Cap::new(std::alloc::System, usize::MAX);

/// One capped case at a time (the cap is process-wide).
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs `work` on a fresh runtime with allocations capped at 64 bytes per input byte plus
/// 8 MiB (the runtime, the client and the test harness included).
fn bounded<T>(input_len: usize, work: impl std::future::Future<Output = T>) -> T {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    ALLOCATOR
        .set_limit(ALLOCATOR.allocated() + 64 * input_len + 8 * 1024 * 1024)
        .unwrap();
    let out = runtime.block_on(work);
    ALLOCATOR.set_limit(usize::MAX).unwrap();
    drop(runtime);
    out
}

fn client(mock: &MockTransport) -> Client {
    Client::builder()
        .transport(mock.clone())
        .clock(Arc::new(TestClock::default()))
        .cae(true)
        .credential(StaticTokenCredential::new(AccessToken::new(
            "tok",
            SystemTime::now() + Duration::from_secs(3600),
        )))
        .build()
        .unwrap()
}

fn answer(status: u16, body: &[u8]) -> MockResponse {
    MockResponse::status(status)
        .header("content-type", "application/json")
        .body(Bytes::copy_from_slice(body))
}

proptest! {
    #![proptest_config(fuzz_support::config())]

    #[test]
    fn pages_and_their_links_never_panic(body in fuzz_support::hostile_bytes()) {
        let len = body.len();
        bounded(len, async move {
            let mock = MockTransport::new();
            mock.on_any().respond(answer(200, &body)).times(1);
            mock.on_any().respond(answer(200, br#"{"value":[]}"#));
            let pages: Vec<_> = client(&mock)
                .collection::<serde_json::Value>("users")
                .pages()
                .take(3)
                .collect()
                .await;
            for page in pages {
                match page {
                    Ok(page) => { let _: &Page<serde_json::Value> = &page; }
                    Err(error) => {
                        prop_assert!(error.is_decode() || error.is_paging(), "{error}");
                        let _ = error.to_string();
                    }
                }
            }
            Ok::<(), TestCaseError>(())
        })?;
    }

    #[test]
    fn error_bodies_never_panic(body in fuzz_support::hostile_bytes(), status in 400u16..600) {
        let len = body.len();
        bounded(len, async move {
            let mock = MockTransport::new();
            mock.on_any().respond(answer(status, &body));
            let options = RequestOptions::new().with_retry(RetryOptions::disabled());
            let error = client(&mock)
                .entity::<serde_json::Value>("me")
                .with_options(options)
                .send()
                .await
                .expect_err("an error status is an error");
            prop_assert!(error.is_service() || error.is_throttled(), "{error}");
            let _ = (error.to_string(), format!("{error:?}"), error.code(), error.message());
            let _ = (error.request_id(), error.retry_after(), error.is_resync_required());
            Ok::<(), TestCaseError>(())
        })?;
    }

    #[test]
    fn retry_after_and_challenges_never_panic(
        retry_after in fuzz_support::header_value(),
        challenge in fuzz_support::header_value(),
        status in prop::sample::select(vec![401u16, 403, 429, 503, 504]),
    ) {
        bounded(retry_after.len() + challenge.len(), async move {
            let mock = MockTransport::new();
            mock.on_any().respond(
                MockResponse::status(status)
                    .header("retry-after", &retry_after)
                    .header("www-authenticate", &challenge),
            );
            let outcome = client(&mock)
                .entity::<serde_json::Value>("me")
                .send()
                .await;
            let error = outcome.expect_err("an error status is an error");
            let _ = (error.to_string(), error.retry_after(), error.claims_challenge());
            // At most one try and three retries, or two tries for a 401 / challenge.
            prop_assert!(mock.calls().len() <= 4, "{} calls", mock.calls().len());
            Ok::<(), TestCaseError>(())
        })?;
    }

    #[test]
    fn batch_answers_never_panic(body in fuzz_support::hostile_bytes()) {
        let len = body.len();
        bounded(len, async move {
            let mock = MockTransport::new();
            mock.on(Method::POST, "/v1.0/$batch").respond(answer(200, &body));
            let client = client(&mock);
            let mut batch = client.batch();
            let me = batch.add(client.entity::<serde_json::Value>("me"));
            let users = batch.add(client.collection::<serde_json::Value>("users"));
            match batch.send().await {
                Ok(answers) => {
                    let _ = answers.get(&me).map_err(|e| e.to_string());
                    let _ = answers.get(&users).map_err(|e| e.to_string());
                }
                Err(error) => prop_assert!(error.is_decode(), "{error}"),
            }
            Ok::<(), TestCaseError>(())
        })?;
    }
}
