//! Token manager tests: a manual clock decides expiry, so nothing sleeps for real token lifetimes.
//!
//! Compiled only for tests: `manager.rs` includes this file under #[cfg(test)].

use std::sync::atomic::AtomicUsize;

use async_trait::async_trait;
use tokio::sync::Notify;

use super::*;
use crate::cache::{CacheError, MemoryTokenCache};
use crate::clock::TestClock;

const HOUR: Duration = Duration::from_secs(3600);

struct Fixture {
    clock: TestClock,
    cache: MemoryTokenCache,
    manager: TokenManager,
}

fn fixture() -> Fixture {
    let clock = TestClock::new();
    let cache = MemoryTokenCache::with_clock(1_000, Arc::new(clock.clone()));
    let manager = TokenManager::new(
        Arc::new(cache.clone()),
        Arc::new(clock.clone()),
        ManagerOptions::default(),
    );
    Fixture {
        clock,
        cache,
        manager,
    }
}

fn key(scope: &str) -> CacheKey {
    CacheKey::access_token(
        "login.test",
        "tenant",
        "client",
        &[scope.to_string()],
        None,
        None,
    )
}

/// A fetcher that counts calls and answers `token-N` valid for `lifetime` from the clock's now.
#[derive(Clone)]
struct Source {
    calls: Arc<AtomicUsize>,
    clock: TestClock,
    lifetime: Duration,
    refresh_after: Option<Duration>,
    delay: Duration,
    fail_with: Option<AuthError>,
}

impl Source {
    fn new(clock: &TestClock) -> Self {
        Self {
            calls: Arc::new(AtomicUsize::new(0)),
            clock: clock.clone(),
            lifetime: HOUR,
            refresh_after: None,
            delay: Duration::ZERO,
            fail_with: None,
        }
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    fn fetch(
        &self,
    ) -> impl FnOnce() -> futures::future::BoxFuture<'static, Result<AccessToken, AuthError>>
    + Send
    + 'static {
        let this = self.clone();
        move || {
            Box::pin(async move {
                let n = this.calls.fetch_add(1, Ordering::SeqCst) + 1;
                if !this.delay.is_zero() {
                    tokio::time::sleep(this.delay).await;
                }
                if let Some(error) = this.fail_with.clone() {
                    return Err(error);
                }
                let now = this.clock.now();
                let token = AccessToken::new(format!("token-{n}"), now + this.lifetime);
                Ok(match this.refresh_after {
                    Some(after) => token.with_refresh_on(now + after),
                    None => token,
                })
            })
        }
    }
}

fn transport() -> AuthError {
    AuthError::Transport {
        message: "connection refused".into(),
        timeout: false,
    }
}

#[tokio::test]
async fn serves_from_cache_until_skew_then_fetches() {
    let f = fixture();
    let source = Source::new(&f.clock);
    let k = key("a");
    assert_eq!(
        f.manager
            .get_token(&k, false, source.fetch())
            .await
            .unwrap()
            .secret(),
        "token-1"
    );
    f.clock.advance(Duration::from_secs(3600 - 301));
    assert_eq!(
        f.manager
            .get_token(&k, false, source.fetch())
            .await
            .unwrap()
            .secret(),
        "token-1"
    );
    f.clock.advance(Duration::from_secs(2)); // 299 s left: under the 5 minute skew
    let token = f
        .manager
        .get_token(&k, false, source.fetch())
        .await
        .unwrap();
    assert_eq!(token.secret(), "token-2");
    assert!(!token.is_expired_at(f.clock.now(), Duration::from_secs(300)));
    assert_eq!(source.calls(), 2);
}

#[tokio::test]
async fn configurable_skew() {
    let clock = TestClock::new();
    let cache = MemoryTokenCache::with_clock(10, Arc::new(clock.clone()));
    let manager = TokenManager::new(
        Arc::new(cache),
        Arc::new(clock.clone()),
        ManagerOptions::default().with_skew(Duration::from_secs(10)),
    );
    let source = Source::new(&clock);
    manager
        .get_token(&key("a"), false, source.fetch())
        .await
        .unwrap();
    clock.advance(Duration::from_secs(3580)); // 20 s left, more than the 10 s skew
    assert_eq!(
        manager
            .get_token(&key("a"), false, source.fetch())
            .await
            .unwrap()
            .secret(),
        "token-1"
    );
}

/// Waits (up to 10 s of real time) until no fetch runs for `key`: background refreshes run
/// on their own schedule.
async fn settled(manager: &TokenManager, key: &CacheKey) {
    for _ in 0..1_000 {
        if manager.state(key).gate.try_lock().is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("a fetch still runs after 10 s");
}

async fn secret_of(f: &Fixture, k: &CacheKey, source: &Source) -> String {
    f.manager
        .get_token(k, false, source.fetch())
        .await
        .unwrap()
        .secret()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn background_refresh_at_refresh_on_keeps_serving_the_current_token() {
    let f = fixture();
    let mut source = Source::new(&f.clock);
    source.refresh_after = Some(Duration::from_secs(1800));
    let k = key("a");
    assert_eq!(secret_of(&f, &k, &source).await, "token-1");
    f.clock.advance(Duration::from_secs(1801));

    // The refresh is slow; callers meanwhile get the current token at once, and only one refresh runs.
    let mut slow = source.clone();
    slow.delay = Duration::from_secs(2);
    let started = std::time::Instant::now();
    for _ in 0..50 {
        assert_eq!(secret_of(&f, &k, &slow).await, "token-1");
    }
    assert!(
        started.elapsed() < Duration::from_millis(1_500),
        "callers waited for the refresh"
    );
    settled(&f.manager, &k).await;
    assert_eq!(source.calls(), 2, "exactly one background refresh");
    assert_eq!(secret_of(&f, &k, &source).await, "token-2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_background_refresh_keeps_serving_and_retries_after_the_delay() {
    let f = fixture();
    let mut source = Source::new(&f.clock);
    source.refresh_after = Some(Duration::from_secs(1800));
    let k = key("a");
    assert_eq!(secret_of(&f, &k, &source).await, "token-1");
    f.clock.advance(Duration::from_secs(1801));
    let mut failing = source.clone();
    failing.fail_with = Some(transport());
    assert_eq!(secret_of(&f, &k, &failing).await, "token-1");
    settled(&f.manager, &k).await;
    assert_eq!(source.calls(), 2);
    // Within the 30 s background retry delay no new refresh starts.
    f.clock.advance(Duration::from_secs(10));
    assert_eq!(secret_of(&f, &k, &failing).await, "token-1");
    settled(&f.manager, &k).await;
    assert_eq!(source.calls(), 2);
    // After it, the next call refreshes again, in the background, and succeeds.
    f.clock.advance(Duration::from_secs(25));
    assert_eq!(secret_of(&f, &k, &source).await, "token-1");
    settled(&f.manager, &k).await;
    assert_eq!(source.calls(), 3);
    assert_eq!(secret_of(&f, &k, &source).await, "token-3");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_flight_one_thousand_callers_on_a_cold_key_cause_one_fetch() {
    let f = fixture();
    let mut source = Source::new(&f.clock);
    source.delay = Duration::from_millis(50);
    let k = key("a");
    let callers = (0..1_000).map(|_| {
        let manager = f.manager.clone();
        let fetch = source.fetch();
        let k = k.clone();
        tokio::spawn(async move { manager.get_token(&k, false, fetch).await })
    });
    for result in futures::future::join_all(callers).await {
        assert_eq!(result.unwrap().unwrap().secret(), "token-1");
    }
    assert_eq!(source.calls(), 1);
    assert_eq!(f.manager.fetch_count(), 1);
}

#[tokio::test]
async fn single_flight_shares_a_token_shorter_lived_than_the_skew() {
    // A 60 s token with the default 5 min skew: waiters must share the one fetch rather than
    // each fetching again once the first fetch finished.
    let f = fixture();
    let mut source = Source::new(&f.clock);
    source.delay = Duration::from_millis(50);
    source.lifetime = Duration::from_secs(60);
    let k = key("short");
    let callers = (0..100).map(|_| {
        let manager = f.manager.clone();
        let fetch = source.fetch();
        let k = k.clone();
        tokio::spawn(async move { manager.get_token(&k, false, fetch).await })
    });
    for result in futures::future::join_all(callers).await {
        assert_eq!(result.unwrap().unwrap().secret(), "token-1");
    }
    assert_eq!(source.calls(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_flight_on_an_expired_key_and_never_across_scopes() {
    let f = fixture();
    let source = Source::new(&f.clock);
    f.manager
        .get_token(&key("a"), false, source.fetch())
        .await
        .unwrap();
    f.clock.advance(HOUR);
    let mut slow = source.clone();
    slow.delay = Duration::from_millis(50);
    let callers = (0..500).map(|i| {
        let manager = f.manager.clone();
        let fetch = slow.fetch();
        let k = if i % 2 == 0 { key("a") } else { key("b") };
        tokio::spawn(async move {
            manager
                .get_token(&k, false, fetch)
                .await
                .map(|t| t.secret().to_string())
        })
    });
    let mut seen = std::collections::HashSet::new();
    for result in futures::future::join_all(callers).await {
        seen.insert(result.unwrap().unwrap());
    }
    assert_eq!(source.calls(), 3, "one initial fetch, then one per scope");
    assert_eq!(
        seen.len(),
        2,
        "the two scopes got different tokens: {seen:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_reaches_every_waiter_then_later_callers_wait_a_short_backoff() {
    let f = fixture();
    let mut source = Source::new(&f.clock);
    source.delay = Duration::from_millis(50);
    source.fail_with = Some(AuthError::Service {
        status: 503,
        error: Box::new(crate::EntraError {
            error: "temporarily_unavailable".into(),
            ..Default::default()
        }),
        retry_after: None,
    });
    let k = key("a");
    let callers = (0..1_000).map(|_| {
        let manager = f.manager.clone();
        let fetch = source.fetch();
        let k = k.clone();
        tokio::spawn(async move { manager.get_token(&k, false, fetch).await })
    });
    for result in futures::future::join_all(callers).await {
        let error = result.unwrap().unwrap_err();
        assert_eq!(error.error_code(), Some("temporarily_unavailable"));
    }
    assert_eq!(source.calls(), 1, "1,000 waiters shared one failed fetch");
    assert!(f.clock.sleeps().is_empty());
    // A later caller is not failed by the backoff: it waits it out (jittered in
    // [100, 200] ms after the first failure), then fetches once.
    assert!(
        f.manager
            .get_token(&k, false, source.fetch())
            .await
            .is_err()
    );
    assert_eq!(source.calls(), 2);
    let sleeps = f.clock.sleeps();
    assert_eq!(sleeps.len(), 1, "{sleeps:?}");
    assert!(
        (Duration::from_millis(100)..=Duration::from_millis(200)).contains(&sleeps[0]),
        "{sleeps:?}"
    );
    // The backoff doubles per consecutive failure but never exceeds 2 s.
    for _ in 0..6 {
        let _ = f.manager.get_token(&k, false, source.fetch()).await;
    }
    let sleeps = f.clock.sleeps();
    assert_eq!(source.calls(), 8);
    assert!(
        (Duration::from_millis(200)..=Duration::from_millis(400)).contains(&sleeps[1]),
        "{sleeps:?}"
    );
    assert!(
        sleeps.iter().all(|s| *s <= Duration::from_secs(2)),
        "{sleeps:?}"
    );
    // The token endpoint is back: the next caller gets a token after at most that bound.
    let ok = Source::new(&f.clock);
    assert!(f.manager.get_token(&k, false, ok.fetch()).await.is_ok());
    assert_eq!(ok.calls(), 1);
    assert!(
        f.clock
            .sleeps()
            .iter()
            .all(|s| *s <= Duration::from_secs(2))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_forced_refresh_leaves_other_callers_on_the_valid_token() {
    let f = fixture();
    let source = Source::new(&f.clock);
    let k = key("a");
    assert_eq!(secret_of(&f, &k, &source).await, "token-1");
    // One request got a 401 and forces a refresh; the token endpoint answers 500, slowly.
    let mut failing = source.clone();
    failing.delay = Duration::from_millis(200);
    failing.fail_with = Some(AuthError::Service {
        status: 500,
        error: Box::new(crate::EntraError {
            error: "server_error".into(),
            ..Default::default()
        }),
        retry_after: None,
    });
    let forced = {
        let manager = f.manager.clone();
        let fetch = failing.fetch();
        let k = k.clone();
        tokio::spawn(async move { manager.get_token(&k, true, fetch).await })
    };
    // While it runs, and after it failed, 50 other callers are served the cached token.
    tokio::time::sleep(Duration::from_millis(20)).await;
    for _ in 0..50 {
        assert_eq!(secret_of(&f, &k, &failing).await, "token-1");
    }
    assert!(
        forced.await.unwrap().is_err(),
        "the forcing caller sees the failure"
    );
    for _ in 0..50 {
        assert_eq!(secret_of(&f, &k, &failing).await, "token-1");
    }
    assert_eq!(
        source.calls(),
        2,
        "the first fetch and the failed forced one"
    );
    // A forced refresh that succeeds replaces the token for everyone.
    let forced = f.manager.get_token(&k, true, source.fetch()).await.unwrap();
    assert_eq!(forced.secret(), "token-3");
    assert_eq!(secret_of(&f, &k, &source).await, "token-3");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_background_refresh_never_blocks_a_caller_once_the_token_is_unusable() {
    // 20 s tokens refreshed after 10 s, handed out with at least 2 s left.
    let clock = TestClock::new();
    let cache = MemoryTokenCache::with_clock(100, Arc::new(clock.clone()));
    let manager = TokenManager::new(
        Arc::new(cache),
        Arc::new(clock.clone()),
        ManagerOptions::default().with_skew(Duration::from_secs(2)),
    );
    let mut source = Source::new(&clock);
    source.lifetime = Duration::from_secs(20);
    source.refresh_after = Some(Duration::from_secs(10));
    let k = key("a");
    assert_eq!(
        manager
            .get_token(&k, false, source.fetch())
            .await
            .unwrap()
            .secret(),
        "token-1"
    );
    // Past refresh_on the background refresh fails (the token endpoint is down).
    clock.advance(Duration::from_secs(11));
    let mut failing = source.clone();
    failing.fail_with = Some(transport());
    assert_eq!(
        manager
            .get_token(&k, false, failing.fetch())
            .await
            .unwrap()
            .secret(),
        "token-1"
    );
    settled(&manager, &k).await;
    assert_eq!(source.calls(), 2);
    // 8 s later the token has 1 s left (inside the skew): not usable. The token endpoint is
    // healthy again, and the background retry delay (30 s) does not hold the caller back.
    clock.advance(Duration::from_secs(8));
    assert_eq!(
        manager
            .get_token(&k, false, source.fetch())
            .await
            .unwrap()
            .secret(),
        "token-3"
    );
    assert_eq!(source.calls(), 3);
    assert!(clock.sleeps().is_empty(), "no wait: {:?}", clock.sleeps());
    // The same once the token has expired outright.
    clock.advance(Duration::from_secs(11));
    let mut failing = source.clone();
    failing.fail_with = Some(transport());
    assert_eq!(
        manager
            .get_token(&k, false, failing.fetch())
            .await
            .unwrap()
            .secret(),
        "token-3"
    ); // background refresh fails
    settled(&manager, &k).await;
    clock.advance(Duration::from_secs(15));
    assert_eq!(
        manager
            .get_token(&k, false, source.fetch())
            .await
            .unwrap()
            .secret(),
        "token-5"
    );
    assert!(clock.sleeps().is_empty(), "no wait: {:?}", clock.sleeps());
}

#[tokio::test]
async fn retry_after_sets_the_backoff() {
    let f = fixture();
    let mut source = Source::new(&f.clock);
    source.fail_with = Some(AuthError::Throttled {
        status: 429,
        retry_after: Some(Duration::from_secs(20)),
    });
    let k = key("a");
    assert!(
        f.manager
            .get_token(&k, false, source.fetch())
            .await
            .is_err()
    );
    f.clock.advance(Duration::from_secs(19));
    assert!(
        f.manager.get_token(&k, true, source.fetch()).await.is_err(),
        "even a forced refresh fails fast while the server's Retry-After runs"
    );
    assert_eq!(source.calls(), 1);
    f.clock.advance(Duration::from_secs(2));
    assert!(
        f.manager
            .get_token(&k, false, source.fetch())
            .await
            .is_err()
    );
    assert_eq!(source.calls(), 2);
}

#[tokio::test]
async fn retryable_failure_while_the_cached_token_is_valid_serves_it() {
    let f = fixture();
    let source = Source::new(&f.clock);
    let k = key("a");
    f.manager
        .get_token(&k, false, source.fetch())
        .await
        .unwrap();
    f.clock.advance(Duration::from_secs(3600 - 120)); // 2 min left: inside the skew, still valid
    let mut failing = source.clone();
    failing.fail_with = Some(transport());
    let token = f
        .manager
        .get_token(&k, false, failing.fetch())
        .await
        .unwrap();
    assert_eq!(token.secret(), "token-1");
    // A non-retryable failure is not hidden.
    f.clock.advance(Duration::from_secs(5));
    failing.fail_with = Some(AuthError::Service {
        status: 401,
        error: Box::new(crate::EntraError {
            error: "invalid_client".into(),
            ..Default::default()
        }),
        retry_after: None,
    });
    let error = f
        .manager
        .get_token(&k, false, failing.fetch())
        .await
        .unwrap_err();
    assert!(error.is_configuration());
    // Once the token has really expired, a retryable failure is an error too.
    f.clock.advance(Duration::from_secs(200));
    failing.fail_with = Some(transport());
    assert!(
        f.manager
            .get_token(&k, false, failing.fetch())
            .await
            .is_err()
    );
}

#[tokio::test]
async fn force_refresh_replaces_only_the_rejected_key() {
    let f = fixture();
    let source = Source::new(&f.clock);
    let (a, b) = (key("a"), key("b"));
    assert_eq!(
        f.manager
            .get_token(&a, false, source.fetch())
            .await
            .unwrap()
            .secret(),
        "token-1"
    );
    assert_eq!(
        f.manager
            .get_token(&b, false, source.fetch())
            .await
            .unwrap()
            .secret(),
        "token-2"
    );
    assert_eq!(
        f.manager
            .get_token(&a, true, source.fetch())
            .await
            .unwrap()
            .secret(),
        "token-3"
    );
    assert_eq!(
        f.manager
            .get_token(&a, false, source.fetch())
            .await
            .unwrap()
            .secret(),
        "token-3"
    );
    assert_eq!(
        f.manager
            .get_token(&b, false, source.fetch())
            .await
            .unwrap()
            .secret(),
        "token-2"
    );
    assert_eq!(source.calls(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_forced_refreshes_share_one_fetch() {
    let f = fixture();
    let mut source = Source::new(&f.clock);
    let k = key("a");
    f.manager
        .get_token(&k, false, source.fetch())
        .await
        .unwrap();
    source.delay = Duration::from_millis(50);
    let callers = (0..100).map(|_| {
        let manager = f.manager.clone();
        let fetch = source.fetch();
        let k = k.clone();
        tokio::spawn(async move { manager.get_token(&k, true, fetch).await })
    });
    for result in futures::future::join_all(callers).await {
        assert_eq!(result.unwrap().unwrap().secret(), "token-2");
    }
    assert_eq!(source.calls(), 2);
}

#[tokio::test]
async fn bounded_memory_with_100k_obo_users() {
    let clock = TestClock::new();
    let cache = MemoryTokenCache::with_clock(1_000, Arc::new(clock.clone()));
    let manager = TokenManager::new(
        Arc::new(cache.clone()),
        Arc::new(clock.clone()),
        ManagerOptions::default().with_max_tracked_keys(1_000),
    );
    let source = Source::new(&clock);
    for user in 0..100_000 {
        let partition = crate::cache::hash_secret(&format!("assertion-of-user-{user}"));
        let k = CacheKey::access_token(
            "login.test",
            "t",
            "api",
            &["s".into()],
            None,
            Some(partition),
        );
        manager.get_token(&k, false, source.fetch()).await.unwrap();
    }
    assert_eq!(source.calls(), 100_000);
    assert_eq!(cache.stats().entries, 1_000);
    assert_eq!(manager.inner.keys.lock().len(), 1_000);
}

#[derive(Debug)]
struct BrokenCache;

#[async_trait]
impl TokenCache for BrokenCache {
    async fn get(&self, _: &CacheKey) -> Result<Option<CachedToken>, CacheError> {
        Err(CacheError("down".into()))
    }
    async fn set(&self, _: &CacheKey, _: &CachedToken, _: Duration) -> Result<(), CacheError> {
        Err(CacheError("down".into()))
    }
    async fn remove(&self, _: &CacheKey) -> Result<(), CacheError> {
        Err(CacheError("down".into()))
    }
}

#[tokio::test]
async fn a_broken_cache_is_a_miss_not_a_failure() {
    let clock = TestClock::new();
    let manager = TokenManager::new(
        Arc::new(BrokenCache),
        Arc::new(clock.clone()),
        ManagerOptions::default(),
    );
    let source = Source::new(&clock);
    assert!(
        manager
            .get_token(&key("a"), false, source.fetch())
            .await
            .is_ok()
    );
    assert!(
        manager
            .get_token(&key("a"), true, source.fetch())
            .await
            .is_ok()
    );
    assert_eq!(source.calls(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_caller_does_not_lose_the_fetch() {
    let f = fixture();
    let release = Arc::new(Notify::new());
    let calls = Arc::new(AtomicUsize::new(0));
    let make = |release: Arc<Notify>, calls: Arc<AtomicUsize>, clock: TestClock| {
        move || async move {
            calls.fetch_add(1, Ordering::SeqCst);
            release.notified().await;
            Ok(AccessToken::new("slow", clock.now() + HOUR))
        }
    };
    let k = key("a");
    let first = {
        let manager = f.manager.clone();
        let k = k.clone();
        let fetch = make(release.clone(), calls.clone(), f.clock.clone());
        tokio::spawn(async move { manager.get_token(&k, false, fetch).await })
    };
    tokio::time::sleep(Duration::from_millis(20)).await;
    first.abort();
    release.notify_one();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let token = f
        .manager
        .get_token(
            &k,
            false,
            make(release.clone(), calls.clone(), f.clock.clone()),
        )
        .await
        .unwrap();
    assert_eq!(token.secret(), "slow");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    let _ = &f.cache;
}
