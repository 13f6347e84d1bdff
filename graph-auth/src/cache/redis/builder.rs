//! Configuration of the Redis token cache: the builder and its errors.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use ::redis::aio::ConnectionManagerConfig;
use parking_lot::Mutex;
use secrecy::{ExposeSecret, SecretString};

use super::{Counters, Inner, RedisTokenCache, RefreshLock, endpoint_label, lock};
use crate::cache::encrypted::{Keyring, ValueCodec};
use crate::clock::Clock;

/// The Redis token cache could not be configured.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RedisCacheConfigError {
    /// The connection URL is not a valid `redis://`, `rediss://` or `redis+unix://` URL.
    /// (The URL itself is not repeated: it may hold a password.)
    InvalidUrl(String),
    /// Neither a keyring nor the plaintext opt-out was given: tokens are encrypted at rest
    /// unless [`RedisTokenCacheBuilder::allow_unencrypted_storage`] is called.
    EncryptionNotConfigured,
    /// Both a keyring and the plaintext opt-out were given.
    ConflictingProtection,
    /// A timeout or interval of zero.
    ZeroDuration(&'static str),
}

impl fmt::Display for RedisCacheConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RedisCacheConfigError::InvalidUrl(reason) => write!(f, "invalid Redis URL: {reason}"),
            RedisCacheConfigError::EncryptionNotConfigured => f.write_str(
                "the Redis token cache encrypts tokens at rest: give it a Keyring with .encryption(..), \
                 or opt out explicitly with .allow_unencrypted_storage()",
            ),
            RedisCacheConfigError::ConflictingProtection => f.write_str(
                "both .encryption(..) and .allow_unencrypted_storage() were set; choose one",
            ),
            RedisCacheConfigError::ZeroDuration(what) => {
                write!(f, "{what} must be greater than zero")
            }
        }
    }
}

impl std::error::Error for RedisCacheConfigError {}

/// Configures a [`RedisTokenCache`]; from [`RedisTokenCache::builder`].
pub struct RedisTokenCacheBuilder {
    pub(super) url: SecretString,
    pub(super) prefix: String,
    pub(super) keyring: Option<Keyring>,
    pub(super) allow_plaintext: bool,
    pub(super) timeout: Duration,
    pub(super) connect_timeout: Duration,
    pub(super) retry_interval: Duration,
    pub(super) skew: Duration,
    pub(super) lock: Option<RefreshLock>,
    pub(super) clock: Arc<dyn Clock>,
}

impl fmt::Debug for RedisTokenCacheBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisTokenCacheBuilder")
            .field("endpoint", &endpoint_label(self.url.expose_secret()))
            .field("prefix", &self.prefix)
            .field("keyring", &self.keyring)
            .field("allow_plaintext", &self.allow_plaintext)
            .field("timeout", &self.timeout)
            .field("lock", &self.lock)
            .finish_non_exhaustive()
    }
}

impl RedisTokenCacheBuilder {
    /// The default key prefix.
    pub const DEFAULT_PREFIX: &'static str = "msgraph-typed-auth:";
    /// The default timeout of one Redis command.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(250);

    /// Prefix of every key (namespace per service or environment). Defaults to `msgraph-typed-auth:`.
    #[must_use]
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Encrypts values with this keyring (required unless plaintext is explicitly allowed).
    #[must_use]
    pub fn encryption(mut self, keyring: Keyring) -> Self {
        self.keyring = Some(keyring);
        self
    }

    /// Stores tokens in clear (an explicit opt-in: encryption is the default). Anyone who can read Redis can then
    /// use the tokens; prefer [`Self::encryption`].
    #[must_use]
    pub fn allow_unencrypted_storage(mut self) -> Self {
        self.allow_plaintext = true;
        self
    }

    /// How long one Redis command may take before it counts as a miss. Defaults to 250 ms.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How long one (background) connection attempt may take. Defaults to 1 s.
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// After a failure, Redis is not asked again for this long (every read is a miss, every
    /// write is skipped with an error). Defaults to 1 s.
    #[must_use]
    pub fn retry_interval(mut self, interval: Duration) -> Self {
        self.retry_interval = interval;
        self
    }

    /// The token manager's expiry skew ([`crate::ManagerOptions::skew`], 5 minutes by
    /// default): a value with less left is due for a refresh, which the refresh lock
    /// coordinates. Defaults to 5 minutes.
    #[must_use]
    pub fn skew(mut self, skew: Duration) -> Self {
        self.skew = skew;
        self
    }

    /// Coordinates fetches across instances with a short Redis lock. Off by default.
    #[must_use]
    pub fn refresh_lock(mut self, lock: RefreshLock) -> Self {
        self.lock = Some(lock);
        self
    }

    /// The clock for expiry decisions (tests). Defaults to the system clock.
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The cache. No connection is made yet: it is opened on first use, so an instance starts
    /// even when Redis is down.
    ///
    /// # Errors
    /// [`RedisCacheConfigError`] for an invalid URL, missing or conflicting encryption
    /// settings, or a zero timeout.
    pub fn build(self) -> Result<RedisTokenCache, RedisCacheConfigError> {
        let codec = match (self.keyring, self.allow_plaintext) {
            (Some(keyring), false) => ValueCodec::Encrypted(keyring),
            (None, true) => ValueCodec::Plaintext,
            (None, false) => return Err(RedisCacheConfigError::EncryptionNotConfigured),
            (Some(_), true) => return Err(RedisCacheConfigError::ConflictingProtection),
        };
        for (name, value) in [
            ("the Redis timeout", self.timeout),
            ("the Redis connect timeout", self.connect_timeout),
            ("the Redis retry interval", self.retry_interval),
        ] {
            if value.is_zero() {
                return Err(RedisCacheConfigError::ZeroDuration(name));
            }
        }
        if let Some(lock) = &self.lock {
            lock.validate()?;
        }
        let client = ::redis::Client::open(self.url.expose_secret())
            .map_err(|e| RedisCacheConfigError::InvalidUrl(format!("{:?}", e.kind())))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.connect_timeout))
            .set_response_timeout(Some(self.timeout))
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(self.retry_interval);
        Ok(RedisTokenCache {
            inner: Arc::new(Inner {
                endpoint: endpoint_label(self.url.expose_secret()),
                client,
                config,
                connection: Mutex::new(None),
                prefix: self.prefix,
                codec,
                timeout: self.timeout,
                retry_interval: self.retry_interval,
                skew: self.skew,
                lock: self.lock,
                locks: lock::LockState::default(),
                clock: self.clock,
                down_until: Mutex::new(None),
                counters: Counters::default(),
            }),
        })
    }
}
