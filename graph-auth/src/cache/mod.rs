//! The pluggable token cache.
//!
//! [`TokenCache`] is a small async key-value contract: get, set with a time to live, remove,
//! by a structured [`CacheKey`]. Values ([`CachedToken`]) serialise with serde, so a remote
//! store (Redis, a database) can hold them; such a store should encrypt them at rest.
//! The token manager treats every cache error as a miss plus a warning, never as a failure.

#[cfg(feature = "redis")]
mod encrypted;
mod key;
mod layered;
mod memory;
#[cfg(feature = "redis")]
mod redis;

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[cfg(feature = "redis")]
pub use encrypted::{EncryptionKey, Keyring, KeyringError};
pub use key::{CacheKey, TokenKind, hash_secret};
pub use layered::LayeredTokenCache;
pub use memory::{CacheStats, MemoryTokenCache};
#[cfg(feature = "redis")]
pub use redis::{
    RedisCacheConfigError, RedisCacheStats, RedisTokenCache, RedisTokenCacheBuilder, RefreshLock,
};

use crate::AccessToken;

/// A cache backend failed (unreachable, timed out, could not decode a value).
#[derive(Debug, Clone)]
pub struct CacheError(pub String);

impl fmt::Display for CacheError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "token cache error: {}", self.0)
    }
}

impl std::error::Error for CacheError {}

/// A storage backend for tokens.
///
/// Implementations must be safe to share between tasks. `ttl` passed to [`TokenCache::set`] is
/// how long the value is useful; a store may drop it earlier (LRU) but must not keep serving
/// it after `ttl`.
///
/// ```
/// use async_trait::async_trait;
/// use msgraph_typed_auth::{CacheError, CacheKey, CachedToken, TokenCache};
/// use std::collections::HashMap;
/// use std::time::Duration;
///
/// /// A toy store keyed by the flat storage key, as a Redis store would be.
/// #[derive(Debug, Default)]
/// struct MapCache(parking_lot::Mutex<HashMap<String, String>>);
///
/// #[async_trait]
/// impl TokenCache for MapCache {
///     async fn get(&self, key: &CacheKey) -> Result<Option<CachedToken>, CacheError> {
///         let map = self.0.lock();
///         map.get(&key.storage_key())
///             .map(|json| serde_json::from_str(json).map_err(|e| CacheError(e.to_string())))
///             .transpose()
///     }
///     async fn set(&self, key: &CacheKey, value: &CachedToken, _ttl: Duration) -> Result<(), CacheError> {
///         let json = serde_json::to_string(value).map_err(|e| CacheError(e.to_string()))?;
///         self.0.lock().insert(key.storage_key(), json);
///         Ok(())
///     }
///     async fn remove(&self, key: &CacheKey) -> Result<(), CacheError> {
///         self.0.lock().remove(&key.storage_key());
///         Ok(())
///     }
/// }
/// # let _ = MapCache::default();
/// ```
#[async_trait]
pub trait TokenCache: Send + Sync + fmt::Debug {
    /// The value stored under `key`, if any and not past its time to live.
    ///
    /// # Errors
    /// [`CacheError`] when the store cannot answer; the manager treats it as a miss.
    async fn get(&self, key: &CacheKey) -> Result<Option<CachedToken>, CacheError>;

    /// Stores `value` under `key` for at most `ttl`.
    ///
    /// # Errors
    /// [`CacheError`] when the store cannot write; the manager logs a warning and goes on.
    async fn set(
        &self,
        key: &CacheKey,
        value: &CachedToken,
        ttl: Duration,
    ) -> Result<(), CacheError>;

    /// Removes the value under `key` (a no-op when there is none).
    ///
    /// # Errors
    /// [`CacheError`] when the store cannot remove it.
    async fn remove(&self, key: &CacheKey) -> Result<(), CacheError>;
}

/// A cached token (access or refresh) with its expiry and proactive refresh time.
///
/// `Debug` redacts the secret. `Serialize` writes the secret in clear (a store needs it), so
/// serialise it only into a store you trust or encrypt.
#[derive(Clone)]
pub struct CachedToken {
    /// Shared with the [`AccessToken`]s handed out for it (see [`AccessToken`]).
    secret: Arc<SecretString>,
    expires_on: SystemTime,
    refresh_on: Option<SystemTime>,
}

impl CachedToken {
    /// A cached secret valid until `expires_on`.
    pub fn new(
        secret: impl Into<String>,
        expires_on: SystemTime,
        refresh_on: Option<SystemTime>,
    ) -> Self {
        Self {
            secret: Arc::new(SecretString::from(secret.into())),
            expires_on,
            refresh_on,
        }
    }

    /// The secret. Never log it.
    pub fn secret(&self) -> &str {
        self.secret.expose_secret()
    }

    /// When the token stops being accepted.
    pub fn expires_on(&self) -> SystemTime {
        self.expires_on
    }

    /// When a proactive refresh should start.
    pub fn refresh_on(&self) -> Option<SystemTime> {
        self.refresh_on
    }

    /// As an access token.
    pub fn to_access_token(&self) -> AccessToken {
        AccessToken::from_shared(self.secret.clone(), self.expires_on, self.refresh_on)
    }
}

impl From<&AccessToken> for CachedToken {
    fn from(token: &AccessToken) -> Self {
        Self {
            secret: token.shared_secret().clone(),
            expires_on: token.expires_on(),
            refresh_on: token.refresh_on(),
        }
    }
}

impl fmt::Debug for CachedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedToken")
            .field("secret", &"[REDACTED]")
            .field("expires_on", &self.expires_on)
            .field("refresh_on", &self.refresh_on)
            .finish()
    }
}

#[derive(Serialize, Deserialize)]
struct Wire<'a> {
    secret: std::borrow::Cow<'a, str>,
    /// Seconds since the Unix epoch.
    expires_on: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_on: Option<u64>,
}

fn to_unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Serialize for CachedToken {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Wire {
            secret: self.secret.expose_secret().into(),
            expires_on: to_unix(self.expires_on),
            refresh_on: self.refresh_on.map(to_unix),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for CachedToken {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let wire = Wire::deserialize(deserializer)?;
        Ok(Self::new(
            wire.secret.into_owned(),
            UNIX_EPOCH + Duration::from_secs(wire.expires_on),
            wire.refresh_on.map(|s| UNIX_EPOCH + Duration::from_secs(s)),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_round_trips_through_json_and_debug_redacts() {
        let expires = UNIX_EPOCH + Duration::from_secs(2_000_000_000);
        let value = CachedToken::new(
            "tok-secret",
            expires,
            Some(expires - Duration::from_secs(60)),
        );
        let json = serde_json::to_string(&value).unwrap();
        let back: CachedToken = serde_json::from_str(&json).unwrap();
        assert_eq!(back.secret(), "tok-secret");
        assert_eq!(back.expires_on(), expires);
        assert_eq!(back.refresh_on(), Some(expires - Duration::from_secs(60)));
        assert!(!format!("{back:?}").contains("tok-secret"));
    }
}
