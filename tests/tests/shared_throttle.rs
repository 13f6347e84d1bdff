//! The throttle gate shared by a fleet through a real `redis-server` (msgraph-typed feature
//! `redis`): a `Retry-After` one client meets stops another client's sends to the same
//! service for that long; without the shared gate it does not; with Redis unreachable every
//! request still succeeds on the client's own gate.
//!
//! `redis-server` must be installed (`./scripts/test` installs it); plain `cargo test` skips
//! these with one line when it is not.

use std::time::{Duration, Instant};

use msgraph_typed::auth::{ClientAuthentication, ClientSecretCredential};
use msgraph_typed::{Cloud, GraphClient, RedisThrottle, RetryOptions};
use msgraph_typed_emulator::{Emulator, Fault, RetryAfter, seeded};
use tests::redis_server::RedisServer;

fn client(emu: &Emulator, redis: Option<RedisThrottle>) -> GraphClient {
    let credential = ClientSecretCredential::with_options(
        emu.tenant_id(),
        seeded::DAEMON_CLIENT_ID,
        ClientAuthentication::secret(seeded::DAEMON_CLIENT_SECRET),
        Default::default(),
    )
    .unwrap();
    let builder = GraphClient::builder()
        .credential(credential)
        .cloud(Cloud::custom(&emu.authority_url(), emu.url()).unwrap())
        .retry(RetryOptions::new().max_retries(3));
    match redis {
        Some(redis) => builder.shared_throttle(redis),
        None => builder,
    }
    .build()
    .unwrap()
}

/// Two users' ids: one to throttle, one for the other client.
async fn two_users(client: &GraphClient) -> (String, String) {
    let page = client.users().list().top(2).send().await.unwrap();
    let id = |i: usize| page.items[i].id().unwrap().to_owned();
    (id(0), id(1))
}

/// Waits until both clients listen on the namespace's channel.
async fn wait_for_listeners(redis_url: &str, namespace: &str, listeners: i64) {
    let client = redis::Client::open(redis_url).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let counts: Vec<(String, i64)> = redis::cmd("PUBSUB")
            .arg("NUMSUB")
            .arg(format!("{namespace}:throttle"))
            .query_async(&mut connection)
            .await
            .unwrap();
        if counts.first().map(|(_, n)| *n) == Some(listeners) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "listeners never subscribed: {counts:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Client A meets a 2 s `Retry-After`; client B's request to another path of the same service
/// is sent 1.5 s later or not at all: counts what reached the emulator meanwhile.
async fn other_client_during_pause(
    emu: &Emulator,
    a: &GraphClient,
    b: &GraphClient,
) -> (u64, Duration) {
    let (throttled, other) = two_users(a).await;
    // Warm B's token so that what it waits for below is the gate alone.
    b.users().by_id(&throttled).get().send().await.unwrap();
    let other_path = format!("/v1.0/users/{other}");
    emu.control().inject(
        Fault::status(429)
            .retry_after(RetryAfter::Seconds(2))
            .times(1)
            .matching(format!("/v1.0/users/{throttled}")),
    );
    let a_request = a.users().by_id(&throttled).get();
    let a_task = tokio::spawn(async move { a_request.send().await });
    // A's 429 has been answered once the fault is used up.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !emu.control().pending_faults().is_empty() {
        assert!(Instant::now() < deadline, "A's request never arrived");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let throttled_at = Instant::now();
    // Let the pause travel through Redis (a few milliseconds on loopback).
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = emu.control().requests_to(&other_path);
    let b_request = b.users().by_id(&other).get();
    let b_task = tokio::spawn(async move { b_request.send().await });
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let sent_during_pause = emu.control().requests_to(&other_path) - before;
    b_task.await.unwrap().unwrap();
    let b_done = throttled_at.elapsed();
    a_task.await.unwrap().unwrap();
    (sent_during_pause, b_done)
}

#[tokio::test]
async fn a_retry_after_seen_by_one_client_stops_the_other_clients_sends() {
    if !tests::external::redis_available() {
        return;
    }
    let server = RedisServer::start();
    let emu = Emulator::start().await.unwrap();
    let namespace = "fleet-a";
    let shared = || {
        Some(
            RedisThrottle::new(&server.url())
                .unwrap()
                .namespace(namespace),
        )
    };
    let a = client(&emu, shared());
    let b = client(&emu, shared());
    wait_for_listeners(&server.url(), namespace, 2).await;
    let (sent_during_pause, b_done) = other_client_during_pause(&emu, &a, &b).await;
    assert_eq!(sent_during_pause, 0, "B sent during A's pause");
    assert!(
        b_done >= Duration::from_millis(1800),
        "B's request waited out A's Retry-After: {b_done:?}"
    );
    // B's own estimate was halved by the fleet's pause (4 -> 2); its throttled count is A's.
    assert_eq!(b.client().throttle_state(), (2, 0));
    assert_eq!(a.client().throttle_state().1, 1);
}

#[tokio::test]
async fn without_the_shared_gate_the_other_client_is_not_paused() {
    // The control of the test above: the same clients without Redis.
    let emu = Emulator::start().await.unwrap();
    let a = client(&emu, None);
    let b = client(&emu, None);
    let (sent_during_pause, b_done) = other_client_during_pause(&emu, &a, &b).await;
    assert_eq!(sent_during_pause, 1, "B is on its own gate");
    assert!(b_done < Duration::from_millis(1800), "{b_done:?}");
}

#[tokio::test]
async fn an_unreachable_redis_leaves_each_client_on_its_own_gate() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let emu = Emulator::start().await.unwrap();
    let redis = RedisThrottle::new(&format!("redis://127.0.0.1:{port}")).unwrap();
    let a = client(&emu, Some(redis));
    let (throttled, other) = two_users(&a).await;
    emu.control().inject(
        Fault::status(429)
            .retry_after(RetryAfter::Seconds(1))
            .times(1)
            .matching(format!("/v1.0/users/{throttled}")),
    );
    let started = Instant::now();
    a.users().by_id(&throttled).get().send().await.unwrap();
    a.users().by_id(&other).get().send().await.unwrap();
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_secs(1) && elapsed < Duration::from_secs(4),
        "the own gate's pause, no wait on Redis: {elapsed:?}"
    );
    assert_eq!(a.client().throttle_state().1, 1);
}
