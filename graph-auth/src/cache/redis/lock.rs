//! The optional refresh lock: N instances that find one key cold or expiring cause about one
//! token request, not N.
//!
//! The token manager has no cross-instance hook, so the lock lives in the cache's own
//! [`TokenCache::get`](crate::TokenCache::get) and [`TokenCache::set`](crate::TokenCache::set),
//! which the manager calls around every fetch:
//!
//! 1. `get` finds no value, or one within the skew or past its `refresh_on`, and tries
//!    `SET {prefix}lock|{key} <random> NX PX <ttl>`.
//! 2. Taken: `get` reads once more (another instance may have written and released between
//!    our read and our lock: then its value is used and the lock released), else answers what
//!    it found (a miss), the manager fetches, and its `set` writes the value and releases the
//!    lock in one script (only if still ours).
//! 3. Not taken (another instance fetches): a value that is still usable is returned with its
//!    `refresh_on` moved past the lock's lifetime (serve it, do not refresh now); otherwise
//!    `get` polls Redis until the other instance's value appears, the lock disappears (then it
//!    tries to take it), or `max_wait` passes (then it answers a miss and this instance fetches).
//!
//! Callers of one instance waiting on one key poll through a single task. A lock whose holder
//! dies expires after `ttl`. Redis failing during any step ends the wait at once: never a
//! failed request, at worst one more token request.

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lru::LruCache;
use parking_lot::Mutex;

use super::{Failure, RedisCacheConfigError, RedisTokenCache, bump};
use crate::cache::CachedToken;

/// Writes the value and deletes the lock if it still holds our token, in one round trip.
const WRITE_AND_RELEASE: &str = r"
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
if redis.call('GET', KEYS[2]) == ARGV[3] then redis.call('DEL', KEYS[2]) end
return 1
";

/// Deletes the lock if it still holds our token.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
";

/// Settings of the cross-instance refresh lock ([`super::RedisTokenCacheBuilder::refresh_lock`]).
///
/// ```
/// use msgraph_typed_auth::RefreshLock;
/// use std::time::Duration;
///
/// let lock = RefreshLock::default().with_ttl(Duration::from_secs(3)).with_max_wait(Duration::from_secs(2));
/// assert_eq!(lock.ttl(), Duration::from_secs(3));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshLock {
    ttl: Duration,
    max_wait: Duration,
    poll_interval: Duration,
}

impl Default for RefreshLock {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(5),
            max_wait: Duration::from_secs(5),
            poll_interval: Duration::from_millis(100),
        }
    }
}

impl RefreshLock {
    /// How long a lock lives if its holder never writes (crashed, or its fetch failed).
    /// Should exceed a token request's usual duration. Defaults to 5 s.
    #[must_use]
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// How long a request waits for another instance's fetch before fetching itself.
    /// Defaults to 5 s.
    #[must_use]
    pub fn with_max_wait(mut self, max_wait: Duration) -> Self {
        self.max_wait = max_wait;
        self
    }

    /// The longest pause between two polls while waiting (polls start at 10 ms and double).
    /// Defaults to 100 ms.
    #[must_use]
    pub fn with_poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// The lock's lifetime.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The longest wait for another instance.
    pub fn max_wait(&self) -> Duration {
        self.max_wait
    }

    pub(super) fn validate(&self) -> Result<(), RedisCacheConfigError> {
        if self.ttl < Duration::from_millis(1) {
            return Err(RedisCacheConfigError::ZeroDuration(
                "the refresh lock's ttl",
            ));
        }
        if self.poll_interval.is_zero() {
            return Err(RedisCacheConfigError::ZeroDuration(
                "the refresh lock's poll interval",
            ));
        }
        Ok(())
    }
}

/// Locks this instance holds, and one wait gate per key.
pub(super) struct LockState {
    held: Mutex<HashMap<String, Held>>,
    gates: Mutex<LruCache<String, Arc<tokio::sync::Mutex<()>>>>,
}

struct Held {
    token: String,
    until: Instant,
}

impl Default for LockState {
    fn default() -> Self {
        Self {
            held: Mutex::new(HashMap::new()),
            gates: Mutex::new(LruCache::new(
                NonZeroUsize::new(10_000).unwrap_or(NonZeroUsize::MIN),
            )),
        }
    }
}

impl LockState {
    fn holds(&self, redis_key: &str) -> bool {
        let mut held = self.held.lock();
        match held.get(redis_key) {
            Some(lock) if lock.until > Instant::now() => true,
            Some(_) => {
                held.remove(redis_key);
                false
            }
            None => false,
        }
    }

    fn record(&self, redis_key: &str, token: String, ttl: Duration) {
        let now = Instant::now();
        let mut held = self.held.lock();
        held.retain(|_, lock| lock.until > now);
        held.insert(
            redis_key.to_string(),
            Held {
                token,
                until: now + ttl,
            },
        );
    }

    /// The token of our unexpired lock on `redis_key`, forgetting it.
    pub(super) fn take(&self, redis_key: &str) -> Option<String> {
        let lock = self.held.lock().remove(redis_key)?;
        (lock.until > Instant::now()).then_some(lock.token)
    }

    fn gate(&self, redis_key: &str) -> Arc<tokio::sync::Mutex<()>> {
        self.gates
            .lock()
            .get_or_insert(redis_key.to_string(), Default::default)
            .clone()
    }
}

fn lock_key(redis_key: &str, prefix: &str) -> String {
    // Stored keys start with `accesstoken|` or `refreshtoken|`, so `lock|` never collides.
    let storage_key = redis_key.strip_prefix(prefix).unwrap_or(redis_key);
    format!("{prefix}lock|{storage_key}")
}

impl RedisTokenCache {
    /// Step 1 and 3 of the module docs: take the lock, or wait for the instance holding it.
    pub(super) async fn lock_or_wait(
        &self,
        lock: &RefreshLock,
        redis_key: &str,
        mut current: Option<CachedToken>,
    ) -> Option<CachedToken> {
        let locks = &self.inner.locks;
        if locks.holds(redis_key) {
            return current; // our own fetch is running; the manager's single flight waits for it
        }
        let gate = locks.gate(redis_key);
        let (_gate, queued) = match gate.clone().try_lock_owned() {
            Ok(guard) => (guard, false),
            Err(_) => (gate.lock_owned().await, true),
        };
        let counters = &self.inner.counters;
        let deadline = Instant::now() + lock.max_wait;
        let mut pause = Duration::from_millis(10).min(lock.poll_interval);
        let mut reread = queued;
        let mut waited = false;
        loop {
            if reread {
                match self.read(redis_key).await {
                    Ok(value) => current = value,
                    Err(()) => return current, // Redis failing: no point waiting for it
                }
                if self.is_fresh(current.as_ref()) {
                    return current;
                }
            }
            reread = true;
            if locks.holds(redis_key) {
                return current;
            }
            match self.try_lock(lock, redis_key).await {
                // This instance fetches, and `set` releases the lock; unless another instance
                // wrote and released between our read and our lock: then use its value.
                Ok(true) => return self.recheck_after_locking(redis_key, current).await,
                Ok(false) => {}
                Err(_) => return current, // Redis failing: no point waiting for it
            }
            let now = self.inner.clock.now();
            if let Some(value) = current.as_ref().filter(|v| self.is_usable(v, now)) {
                // Another instance refreshes; keep serving this one meanwhile.
                return Some(CachedToken::new(
                    value.secret(),
                    value.expires_on(),
                    Some(now + lock.ttl),
                ));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                bump(&counters.lock_wait_timeouts);
                tracing::warn!(key = %redis_key, waited_ms = lock.max_wait.as_millis() as u64,
                    "another instance's token fetch did not finish in time; fetching here");
                return current;
            }
            if !waited {
                waited = true;
                bump(&counters.lock_waits);
                tracing::debug!(key = %redis_key, "waiting for another instance's token fetch");
            }
            tokio::time::sleep(pause.min(left)).await;
            pause = (pause * 2).min(lock.poll_interval);
        }
    }

    /// Reads the value again once the lock is ours: a fresh one means another instance just
    /// finished (its lock was released before ours was taken), so ours is released unused.
    async fn recheck_after_locking(
        &self,
        redis_key: &str,
        current: Option<CachedToken>,
    ) -> Option<CachedToken> {
        let Ok(latest) = self.read(redis_key).await else {
            return current; // keep the lock: this instance fetches
        };
        if !self.is_fresh(latest.as_ref()) {
            return latest.or(current);
        }
        if let Some(token) = self.inner.locks.take(redis_key) {
            let _ = self.release(redis_key, &token).await;
        }
        latest
    }

    async fn try_lock(&self, lock: &RefreshLock, redis_key: &str) -> Result<bool, Failure> {
        let token = uuid::Uuid::new_v4().to_string();
        let ttl_ms = u64::try_from(lock.ttl.as_millis()).unwrap_or(u64::MAX);
        let mut cmd = ::redis::cmd("SET");
        cmd.arg(lock_key(redis_key, &self.inner.prefix))
            .arg(&token)
            .arg("NX")
            .arg("PX")
            .arg(ttl_ms);
        let taken = self.query::<Option<String>>(cmd).await?.is_some();
        if taken {
            self.inner.locks.record(redis_key, token, lock.ttl);
            bump(&self.inner.counters.locks_acquired);
            tracing::debug!(key = %redis_key, "took the refresh lock");
        }
        Ok(taken)
    }

    pub(super) async fn write_and_release(
        &self,
        redis_key: &str,
        bytes: &[u8],
        ttl_ms: u64,
        token: &str,
    ) -> Result<(), Failure> {
        let script = ::redis::Script::new(WRITE_AND_RELEASE);
        let mut invocation = script.prepare_invoke();
        invocation
            .key(redis_key)
            .key(lock_key(redis_key, &self.inner.prefix))
            .arg(bytes)
            .arg(ttl_ms)
            .arg(token);
        self.exec(
            |mut connection| async move { invocation.invoke_async::<()>(&mut connection).await },
        )
        .await
    }

    pub(super) async fn release(&self, redis_key: &str, token: &str) -> Result<(), Failure> {
        let script = ::redis::Script::new(RELEASE);
        let mut invocation = script.prepare_invoke();
        invocation
            .key(lock_key(redis_key, &self.inner.prefix))
            .arg(token);
        self.exec(
            |mut connection| async move { invocation.invoke_async::<()>(&mut connection).await },
        )
        .await
    }
}
