//! Compiled only for tests: `bulk.rs` includes this file under #[cfg(test)].

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures::StreamExt as _;
use http::StatusCode;
use parking_lot::Mutex;

use crate::transport::{HttpRequest, HttpResponse, Transport};
use crate::{Client, Result};

/// A transport that takes `delay` per request, answers `{"id": <last path segment>}` (404 for
/// ids starting with `missing`, and one 429 with `Retry-After: 1` for `throttle-me`), and
/// records concurrency and when each request arrived.
#[derive(Debug, Default)]
struct Slow {
    delay: Duration,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    sent: Mutex<Vec<(String, Instant)>>,
    throttled_once: Mutex<bool>,
}

#[async_trait]
impl Transport for Slow {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse> {
        let id = request
            .url
            .path()
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        self.sent.lock().push((id.clone(), Instant::now()));
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(self.delay).await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        if id == "throttle-me" && !std::mem::replace(&mut *self.throttled_once.lock(), true) {
            let mut response = HttpResponse::new(StatusCode::TOO_MANY_REQUESTS);
            response
                .headers
                .insert("retry-after", http::HeaderValue::from_static("1"));
            return Ok(response);
        }
        if id.starts_with("missing") {
            return Ok(HttpResponse::with_body(
                StatusCode::NOT_FOUND,
                Default::default(),
                r#"{"error":{"code":"Request_ResourceNotFound","message":"no"}}"#.into(),
            ));
        }
        Ok(HttpResponse::with_body(
            StatusCode::OK,
            Default::default(),
            format!(r#"{{"id":"{id}"}}"#).into(),
        ))
    }
}

fn client(transport: Arc<Slow>, initial: usize, max: usize) -> Client {
    Client::builder()
        .transport(transport)
        .bulk_concurrency(initial, max)
        .build()
        .unwrap()
}

fn entity(client: &Client, id: &str) -> crate::EntityRequest<serde_json::Value> {
    client.entity::<serde_json::Value>(format!("users/{id}"))
}

#[tokio::test]
async fn every_key_is_answered_once_and_failures_do_not_stop_the_others() {
    let slow = Arc::new(Slow {
        delay: Duration::from_millis(2),
        ..Slow::default()
    });
    let client = client(slow.clone(), 4, 16);
    let ids: Vec<String> = (0..200)
        .map(|i| {
            if i % 10 == 3 {
                format!("missing-{i}")
            } else {
                format!("u{i}")
            }
        })
        .collect();
    let c = client.clone();
    let requests = futures::stream::iter(ids.clone()).map(move |id| (id.clone(), entity(&c, &id)));
    let answers: Vec<(String, Result<serde_json::Value>)> = client.bulk(requests).collect().await;
    assert_eq!(answers.len(), 200);
    let keys: HashSet<&String> = answers.iter().map(|(k, _)| k).collect();
    assert_eq!(keys.len(), 200, "every key exactly once");
    let failed: Vec<&String> = answers
        .iter()
        .filter(|(_, r)| r.is_err())
        .map(|(k, _)| k)
        .collect();
    assert_eq!(failed.len(), 20);
    assert!(failed.iter().all(|k| k.starts_with("missing")));
    assert!(
        answers
            .iter()
            .filter(|(_, r)| r.is_err())
            .all(|(_, r)| r.as_ref().unwrap_err().is_not_found())
    );
    for (key, answer) in &answers {
        if let Ok(user) = answer {
            assert_eq!(user["id"], key.as_str());
        }
    }
    // Healthy answers grew the estimate from 4 up to (at most) the ceiling.
    let max = slow.max_in_flight.load(Ordering::SeqCst);
    assert!(max > 4 && max <= 16, "max in flight {max}");
    assert_eq!(client.throttle_state().1, 0);
}

#[tokio::test]
async fn a_hundred_thousand_keys_keep_memory_bounded() {
    let slow = Arc::new(Slow::default());
    let client = client(slow.clone(), 8, 32);
    let pulled = Arc::new(AtomicUsize::new(0));
    let counter = pulled.clone();
    let c = client.clone();
    let requests = futures::stream::iter(0..100_000).map(move |i| {
        counter.fetch_add(1, Ordering::SeqCst);
        (i, entity(&c, &format!("u{i}")))
    });
    let mut run = client.bulk(requests);
    let mut answered = 0usize;
    let mut worst_ahead = 0usize;
    while let Some((_, answer)) = run.next().await {
        answer.unwrap();
        answered += 1;
        // Pulled from the input but not yet answered: only what is in flight.
        let ahead = pulled.load(Ordering::SeqCst) - answered;
        worst_ahead = worst_ahead.max(ahead);
        assert!(run.in_flight() <= 32);
    }
    assert_eq!(answered, 100_000);
    assert!(
        worst_ahead <= 32,
        "at most the ceiling ahead of the caller: {worst_ahead}"
    );
    assert!(slow.max_in_flight.load(Ordering::SeqCst) <= 32);
}

#[tokio::test]
async fn a_429_on_one_request_pauses_every_send_for_its_retry_after() {
    let slow = Arc::new(Slow {
        delay: Duration::from_millis(5),
        ..Slow::default()
    });
    let client = Client::builder()
        .transport(slow.clone())
        .retry(crate::RetryOptions::new().max_retries(3))
        .build()
        .unwrap();
    let mut ids = vec!["throttle-me".to_string()];
    ids.extend((0..40).map(|i| format!("u{i}")));
    let c = client.clone();
    let requests = futures::stream::iter(ids).map(move |id| (id.clone(), entity(&c, &id)));
    let started = Instant::now();
    let answers: Vec<_> = client.bulk(requests).concurrency(4).collect().await;
    assert!(
        answers.iter().all(|(_, r)| r.is_ok()),
        "the throttled key was retried"
    );
    let sent = slow.sent.lock().clone();
    let throttled_at = sent
        .iter()
        .find(|(id, _)| id == "throttle-me")
        .map(|(_, t)| *t)
        .unwrap();
    // The 429 arrives 5 ms after it was sent; from then until its Retry-After (1 s) has passed
    // nothing else is sent (the three sent beside it were already on the wire).
    let answered = throttled_at + Duration::from_millis(5);
    let during: Vec<&(String, Instant)> = sent
        .iter()
        .filter(|(_, t)| {
            *t > answered + Duration::from_millis(20) && *t < answered + Duration::from_millis(950)
        })
        .collect();
    assert!(during.is_empty(), "sent during the pause: {during:?}");
    assert_eq!(sent.len(), 42, "41 keys and the throttled one again");
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(client.throttle_state().1, 1);
}

#[tokio::test]
async fn dropping_the_run_stops_sending() {
    let slow = Arc::new(Slow {
        delay: Duration::from_millis(5),
        ..Slow::default()
    });
    let client = client(slow.clone(), 4, 4);
    let c = client.clone();
    let requests = futures::stream::iter(0..1000).map(move |i| (i, entity(&c, &format!("u{i}"))));
    let mut run = client.bulk(requests);
    for _ in 0..10 {
        run.next().await.unwrap().1.unwrap();
    }
    drop(run);
    let at_drop = slow.sent.lock().len();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        slow.sent.lock().len(),
        at_drop,
        "nothing sent after the drop"
    );
    assert!(at_drop <= 14, "{at_drop}");
}

#[tokio::test]
async fn collections_are_followed_through_every_page() {
    let mock = crate::mock::MockTransport::new();
    let items: Vec<serde_json::Value> = (0..25)
        .map(|i| serde_json::json!({"id": format!("g{i}")}))
        .collect();
    mock.serve_pages("/v1.0/users/a/memberOf", items, 10);
    let client = Client::builder().transport(mock.clone()).build().unwrap();
    let c = client.clone();
    let requests = futures::stream::iter(["a"]).map(move |id| {
        (
            id,
            c.collection::<serde_json::Value>(format!("users/{id}/memberOf")),
        )
    });
    let answers: Vec<_> = client.bulk(requests).collect().await;
    let (key, groups) = &answers[0];
    assert_eq!(*key, "a");
    assert_eq!(groups.as_ref().unwrap().len(), 25);
    assert_eq!(mock.calls().len(), 3);
}
