//! A distributed token cache on Redis, shared by every instance of a service.
//! Behind the `redis` cargo feature.
//!
//! - Keys are `{prefix}{CacheKey::storage_key()}`: authority, tenant, client id, scopes, the
//!   claims hash and the partition (for on-behalf-of, the SHA-256 of the user's assertion). No
//!   secret and no raw assertion ever appears in a key.
//! - Values expire with their token (`SET ... PX`, the time left until expiry).
//! - Values are encrypted with AES-256-GCM by default (see [`Keyring`]); plaintext only after
//!   [`RedisTokenCacheBuilder::allow_unencrypted_storage`].
//! - A failed decryption, a timeout (250 ms by default) or Redis being down is a cache miss and
//!   a `tracing` warning, never a failed token request. After a failure Redis is left alone for
//!   a short interval (1 s by default), so an outage costs no latency; then it is used again.
//! - Optionally, a short Redis lock (`SET NX PX`) lets one instance fetch a cold or expiring
//!   token while the others wait for it (see [`RefreshLock`]).
//!
//! Put a bounded in-memory L1 in front with [`super::LayeredTokenCache`].

mod builder;
mod lock;

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::{FromRedisValue, RedisResult};
use async_trait::async_trait;
use parking_lot::Mutex;
use secrecy::SecretString;

use super::encrypted::{ValueCodec, key_id_of};
use super::{CacheError, CacheKey, CachedToken, TokenCache};
use crate::clock::{Clock, SystemClock};

pub use builder::{RedisCacheConfigError, RedisTokenCacheBuilder};
pub use lock::RefreshLock;

/// Counters of a [`RedisTokenCache`] (since it was built).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RedisCacheStats {
    /// Commands sent to Redis (each a round trip), failed ones included.
    pub round_trips: u64,
    /// Reads that found a valid value.
    pub hits: u64,
    /// Reads that found nothing, or failed (a failure is also counted in `failures`).
    pub misses: u64,
    /// Values refused: undecryptable, tampered, unknown key id, unexpected format.
    pub rejected: u64,
    /// Commands that failed or timed out.
    pub failures: u64,
    /// Commands skipped because Redis failed less than the retry interval ago.
    pub skipped: u64,
    /// Values written.
    pub writes: u64,
    /// Refresh locks this instance took.
    pub locks_acquired: u64,
    /// Reads that waited for another instance's fetch.
    pub lock_waits: u64,
    /// Waits that ended without a value (this instance then fetched itself).
    pub lock_wait_timeouts: u64,
}

#[derive(Default)]
struct Counters {
    round_trips: AtomicU64,
    hits: AtomicU64,
    misses: AtomicU64,
    rejected: AtomicU64,
    failures: AtomicU64,
    skipped: AtomicU64,
    writes: AtomicU64,
    locks_acquired: AtomicU64,
    lock_waits: AtomicU64,
    lock_wait_timeouts: AtomicU64,
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// A [`TokenCache`] on Redis: shared by every instance, encrypted at rest, harmless when Redis
/// fails. Cheap to clone (shared connection). Requires the `redis` feature.
///
/// ```no_run
/// use msgraph_typed_auth::{
///     ClientSecretCredential, CredentialOptions, EncryptionKey, Keyring, LayeredTokenCache,
///     MemoryTokenCache, RedisTokenCache, RefreshLock,
/// };
/// use std::sync::Arc;
///
/// # fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// // The same key on every instance, e.g. from a secret store; rotate with Keyring::with_previous.
/// let key = EncryptionKey::from_base64("2026-11", &std::env::var("TOKEN_CACHE_KEY")?)?;
/// let redis = RedisTokenCache::builder("rediss://:password@cache.internal:6380/0")
///     .key_prefix("my-service:")
///     .encryption(Keyring::new(key))
///     .refresh_lock(RefreshLock::default()) // optional: one token request for the whole fleet
///     .build()?;
/// // Optional in-memory L1 in front: a hit costs no Redis round trip.
/// let cache = LayeredTokenCache::new(MemoryTokenCache::with_capacity(10_000), Arc::new(redis));
/// let credential = ClientSecretCredential::with_options(
///     "contoso.onmicrosoft.com",
///     "client-id",
///     msgraph_typed_auth::ClientAuthentication::secret("secret"),
///     CredentialOptions::default().with_cache(Arc::new(cache)),
/// )?;
/// # let _ = credential; Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisTokenCache {
    inner: Arc<Inner>,
}

struct Inner {
    /// `scheme://host:port/db`, never the password.
    endpoint: String,
    client: ::redis::Client,
    config: ConnectionManagerConfig,
    connection: Mutex<Option<ConnectionManager>>,
    prefix: String,
    codec: ValueCodec,
    timeout: Duration,
    retry_interval: Duration,
    skew: Duration,
    lock: Option<RefreshLock>,
    locks: lock::LockState,
    clock: Arc<dyn Clock>,
    down_until: Mutex<Option<Instant>>,
    counters: Counters,
}

impl fmt::Debug for RedisTokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.debug_struct("RedisTokenCache")
            .field("endpoint", &inner.endpoint)
            .field("prefix", &inner.prefix)
            .field("protection", &inner.codec)
            .field("timeout", &inner.timeout)
            .field("lock", &inner.lock)
            .field("stats", &self.stats())
            .finish()
    }
}

/// Why a Redis command did not answer. Names no key material and no URL.
#[derive(Debug, Clone)]
enum Failure {
    Skipped(Duration),
    Timeout(Duration),
    Redis(String),
    NoRuntime,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Skipped(interval) => write!(
                f,
                "Redis failed less than {interval:?} ago; not asking it again yet"
            ),
            Failure::Timeout(timeout) => write!(f, "Redis did not answer within {timeout:?}"),
            Failure::Redis(message) => write!(f, "Redis error: {message}"),
            Failure::NoRuntime => f.write_str("the Redis token cache needs a Tokio runtime"),
        }
    }
}

impl std::error::Error for Failure {}

impl RedisTokenCache {
    /// A builder for a cache at `url`: `redis://[:password@]host[:port][/db]`, or `rediss://`
    /// for TLS (rustls, system roots). The URL is kept secret (it may hold a password).
    pub fn builder(url: impl Into<String>) -> RedisTokenCacheBuilder {
        RedisTokenCacheBuilder {
            url: SecretString::from(url.into()),
            prefix: RedisTokenCacheBuilder::DEFAULT_PREFIX.to_string(),
            keyring: None,
            allow_plaintext: false,
            timeout: RedisTokenCacheBuilder::DEFAULT_TIMEOUT,
            connect_timeout: Duration::from_secs(1),
            retry_interval: Duration::from_secs(1),
            skew: Duration::from_secs(300),
            lock: None,
            clock: Arc::new(SystemClock),
        }
    }

    /// The Redis key of `key`: the prefix followed by [`CacheKey::storage_key`].
    pub fn redis_key(&self, key: &CacheKey) -> String {
        format!("{}{}", self.inner.prefix, key.storage_key())
    }

    /// The key id an encrypted stored value names in clear (for inspection during a key
    /// rotation), or `None` for a plaintext or malformed value.
    pub fn value_key_id(value: &[u8]) -> Option<&str> {
        key_id_of(value)
    }

    /// Counters since the cache was built.
    pub fn stats(&self) -> RedisCacheStats {
        let c = &self.inner.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        RedisCacheStats {
            round_trips: get(&c.round_trips),
            hits: get(&c.hits),
            misses: get(&c.misses),
            rejected: get(&c.rejected),
            failures: get(&c.failures),
            skipped: get(&c.skipped),
            writes: get(&c.writes),
            locks_acquired: get(&c.locks_acquired),
            lock_waits: get(&c.lock_waits),
            lock_wait_timeouts: get(&c.lock_wait_timeouts),
        }
    }

    fn connection(&self) -> Result<ConnectionManager, Failure> {
        let mut slot = self.inner.connection.lock();
        if let Some(connection) = slot.as_ref() {
            return Ok(connection.clone());
        }
        // The connection manager spawns its reconnect task on the current runtime.
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(Failure::NoRuntime);
        }
        let connection = ConnectionManager::new_lazy_with_config(
            self.inner.client.clone(),
            self.inner.config.clone(),
        )
        .map_err(|e| Failure::Redis(e.to_string()))?;
        *slot = Some(connection.clone());
        Ok(connection)
    }

    /// Runs one command with the timeout, unless Redis failed within the retry interval.
    async fn exec<T, F, Fut>(&self, op: F) -> Result<T, Failure>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        let counters = &self.inner.counters;
        if self
            .inner
            .down_until
            .lock()
            .is_some_and(|until| Instant::now() < until)
        {
            bump(&counters.skipped);
            return Err(Failure::Skipped(self.inner.retry_interval));
        }
        let connection = self.connection()?;
        bump(&counters.round_trips);
        let failure = match tokio::time::timeout(self.inner.timeout, op(connection)).await {
            Ok(Ok(value)) => {
                if self.inner.down_until.lock().take().is_some() {
                    tracing::info!(endpoint = %self.inner.endpoint, "Redis token cache reachable again");
                }
                return Ok(value);
            }
            Ok(Err(error)) => Failure::Redis(error.to_string()),
            Err(_) => Failure::Timeout(self.inner.timeout),
        };
        bump(&counters.failures);
        let was_up = self
            .inner
            .down_until
            .lock()
            .replace(Instant::now() + self.inner.retry_interval)
            .is_none();
        if was_up {
            tracing::warn!(endpoint = %self.inner.endpoint, error = %failure,
                retry_in_ms = self.inner.retry_interval.as_millis() as u64,
                "Redis token cache unavailable; treating reads as misses");
        } else {
            tracing::warn!(endpoint = %self.inner.endpoint, error = %failure, "Redis token cache still unavailable");
        }
        Err(failure)
    }

    async fn query<T: FromRedisValue>(&self, cmd: ::redis::Cmd) -> Result<T, Failure> {
        self.exec(|mut connection| async move { cmd.query_async(&mut connection).await })
            .await
    }

    /// Reads and opens the value of `redis_key`. `Err` when Redis failed (already logged).
    ///
    /// At most [`MAX_VALUE_BYTES`] + 1 bytes are read (`GETRANGE`), so a value planted in Redis
    /// cannot make the cache allocate more than that; a longer one is refused as a miss.
    async fn read(&self, redis_key: &str) -> Result<Option<CachedToken>, ()> {
        let counters = &self.inner.counters;
        let bytes: Option<Vec<u8>> = match self
            .query(
                ::redis::cmd("GETRANGE")
                    .arg(redis_key)
                    .arg(0)
                    .arg(MAX_VALUE_BYTES)
                    .clone(),
            )
            .await
        {
            // GETRANGE answers an empty string for a missing key; no valid value is empty.
            Ok(bytes) => Some(bytes).filter(|b: &Vec<u8>| !b.is_empty()),
            Err(failure) => {
                bump(&counters.misses);
                tracing::debug!(key = %redis_key, error = %failure, "Redis token cache read failed; a miss");
                return Err(());
            }
        };
        let Some(bytes) = bytes else {
            bump(&counters.misses);
            return Ok(None);
        };
        if bytes.len() > MAX_VALUE_BYTES {
            bump(&counters.misses);
            bump(&counters.rejected);
            tracing::warn!(key = %redis_key, limit = MAX_VALUE_BYTES,
                "refused a cached token value larger than the limit; treating it as a miss");
            return Ok(None);
        }
        match self.inner.codec.open(redis_key, &bytes) {
            Ok(token) => {
                bump(&counters.hits);
                Ok(Some(token))
            }
            Err(reason) => {
                bump(&counters.misses);
                bump(&counters.rejected);
                tracing::warn!(key = %redis_key, reason = %reason, "refused a cached token value; treating it as a miss");
                Ok(None)
            }
        }
    }

    /// A value with more than `skew` left and no refresh due: nothing to coordinate.
    fn is_fresh(&self, value: Option<&CachedToken>) -> bool {
        let now = self.inner.clock.now();
        value.is_some_and(|v| self.is_usable(v, now) && v.refresh_on().is_none_or(|at| now < at))
    }

    fn is_usable(&self, value: &CachedToken, now: SystemTime) -> bool {
        value
            .expires_on()
            .duration_since(now)
            .is_ok_and(|left| left > self.inner.skew)
    }
}

/// The largest stored value read: a token entry (access token, refresh token and metadata,
/// encrypted) is a few kilobytes.
pub(crate) const MAX_VALUE_BYTES: usize = 64 * 1024;

fn endpoint_label(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(url) => {
            let host = url.host_str().unwrap_or("localhost");
            match url.port() {
                Some(port) => format!("{}://{host}:{port}{}", url.scheme(), url.path()),
                None => format!("{}://{host}{}", url.scheme(), url.path()),
            }
        }
        Err(_) => "(invalid URL)".to_string(),
    }
}

#[async_trait]
impl TokenCache for RedisTokenCache {
    /// The value under `key`. Never fails: a Redis failure, a timeout or an unacceptable value
    /// is a miss (with a warning). With a [`RefreshLock`], a missing or expiring value may
    /// wait for another instance's fetch.
    async fn get(&self, key: &CacheKey) -> Result<Option<CachedToken>, CacheError> {
        let redis_key = self.redis_key(key);
        let Ok(current) = self.read(&redis_key).await else {
            return Ok(None);
        };
        match &self.inner.lock {
            Some(lock) if !self.is_fresh(current.as_ref()) => {
                Ok(self.lock_or_wait(lock, &redis_key, current).await)
            }
            _ => Ok(current),
        }
    }

    async fn set(
        &self,
        key: &CacheKey,
        value: &CachedToken,
        ttl: Duration,
    ) -> Result<(), CacheError> {
        let redis_key = self.redis_key(key);
        let held = self.inner.locks.take(&redis_key);
        let left = value
            .expires_on()
            .duration_since(self.inner.clock.now())
            .unwrap_or_default();
        let ttl_ms = u64::try_from(ttl.min(left).as_millis()).unwrap_or(u64::MAX);
        let result = if ttl_ms == 0 {
            match held {
                Some(token) => self.release(&redis_key, &token).await,
                None => Ok(()),
            }
        } else {
            let bytes = self.inner.codec.seal(&redis_key, value)?;
            let result = match held {
                Some(token) => {
                    self.write_and_release(&redis_key, &bytes, ttl_ms, &token)
                        .await
                }
                None => {
                    let mut cmd = ::redis::cmd("SET");
                    cmd.arg(&redis_key).arg(bytes).arg("PX").arg(ttl_ms);
                    self.query::<()>(cmd).await
                }
            };
            if result.is_ok() {
                bump(&self.inner.counters.writes);
            }
            result
        };
        result.map_err(|failure| CacheError(format!("Redis token cache write failed: {failure}")))
    }

    async fn remove(&self, key: &CacheKey) -> Result<(), CacheError> {
        let redis_key = self.redis_key(key);
        self.query::<()>(::redis::cmd("DEL").arg(&redis_key).clone())
            .await
            .map_err(|failure| CacheError(format!("Redis token cache remove failed: {failure}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::{EncryptionKey, Keyring};

    #[test]
    fn configuration_errors_are_typed_and_never_echo_the_url() {
        let err = RedisTokenCache::builder("redis://:p4ss@127.0.0.1:1/0")
            .build()
            .unwrap_err();
        assert_eq!(err, RedisCacheConfigError::EncryptionNotConfigured);
        let keyring = Keyring::new(EncryptionKey::generate("k").unwrap());
        let err = RedisTokenCache::builder("redis://127.0.0.1:1")
            .encryption(keyring.clone())
            .allow_unencrypted_storage()
            .build()
            .unwrap_err();
        assert_eq!(err, RedisCacheConfigError::ConflictingProtection);
        let err = RedisTokenCache::builder("http://:p4ss@host/")
            .encryption(keyring.clone())
            .build()
            .unwrap_err();
        assert!(matches!(err, RedisCacheConfigError::InvalidUrl(_)));
        assert!(!err.to_string().contains("p4ss"));
        let err = RedisTokenCache::builder("redis://127.0.0.1:1")
            .encryption(keyring.clone())
            .timeout(Duration::ZERO)
            .build()
            .unwrap_err();
        assert!(matches!(err, RedisCacheConfigError::ZeroDuration(_)));
        let cache = RedisTokenCache::builder("rediss://:p4ss@cache.example:6380/2")
            .encryption(keyring)
            .build()
            .unwrap();
        let debug = format!("{cache:?}");
        assert!(debug.contains("rediss://cache.example:6380/2"), "{debug}");
        assert!(!debug.contains("p4ss"), "{debug}");
    }

    #[tokio::test]
    async fn an_unreachable_redis_is_a_miss_then_left_alone() {
        // Port 1 on loopback: connection refused at once.
        let cache = RedisTokenCache::builder("redis://127.0.0.1:1")
            .allow_unencrypted_storage()
            .retry_interval(Duration::from_secs(60))
            .build()
            .unwrap();
        let key = CacheKey::access_token("login", "t", "c", &["s".into()], None, None);
        assert!(cache.get(&key).await.unwrap().is_none());
        assert!(cache.get(&key).await.unwrap().is_none());
        let value = CachedToken::new("v", SystemTime::now() + Duration::from_secs(3600), None);
        assert!(
            cache
                .set(&key, &value, Duration::from_secs(60))
                .await
                .is_err()
        );
        let stats = cache.stats();
        assert_eq!(
            (stats.failures, stats.skipped, stats.round_trips),
            (1, 2, 1),
            "{stats:?}"
        );
    }
}
