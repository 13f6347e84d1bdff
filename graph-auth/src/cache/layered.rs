//! A bounded in-memory L1 in front of a shared L2 (Redis): an L1 hit costs no round trip
//! (a new token is written to both layers; a removal removes it from both).

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use super::{CacheError, CacheKey, CachedToken, MemoryTokenCache, TokenCache};
use crate::clock::{Clock, SystemClock};

/// Two cache layers: a bounded [`MemoryTokenCache`] (L1) in front of a shared cache (L2, e.g.
/// [`crate::RedisTokenCache`]).
///
/// - `get`: an L1 value with more than `skew` left and no refresh due is returned without
///   asking L2. Otherwise L2 is asked (another instance may have refreshed the token); its
///   value is copied into L1. An L2 failure is a warning and falls back to what L1 had.
/// - `set`: writes L1, then L2.
/// - `remove` (a forced refresh, a rejected token, a claims challenge): removes the entry from
///   both layers; L1 is cleared even when L2 fails.
///
/// To run without L1, use the L2 cache directly.
///
/// ```
/// use msgraph_typed_auth::{CacheKey, CachedToken, LayeredTokenCache, MemoryTokenCache, TokenCache};
/// use std::sync::Arc;
/// use std::time::{Duration, SystemTime};
///
/// # async fn demo() -> Result<(), msgraph_typed_auth::CacheError> {
/// let shared = MemoryTokenCache::new(); // stands in for a RedisTokenCache here
/// let cache = LayeredTokenCache::new(MemoryTokenCache::with_capacity(1_000), Arc::new(shared.clone()));
/// let key = CacheKey::access_token("login", "tenant", "client", &["scope".into()], None, None);
/// let token = CachedToken::new("t", SystemTime::now() + Duration::from_secs(3600), None);
/// cache.set(&key, &token, Duration::from_secs(3600)).await?;
/// assert!(shared.get(&key).await?.is_some());
/// cache.remove(&key).await?; // both layers
/// assert!(cache.l1().get(&key).await?.is_none() && shared.get(&key).await?.is_none());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct LayeredTokenCache {
    l1: MemoryTokenCache,
    l2: Arc<dyn TokenCache>,
    skew: Duration,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for LayeredTokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LayeredTokenCache")
            .field("l1", &self.l1)
            .field("l2", &self.l2)
            .field("skew", &self.skew)
            .finish()
    }
}

impl LayeredTokenCache {
    /// `l1` in front of `l2`, with the default 5-minute skew.
    pub fn new(l1: MemoryTokenCache, l2: Arc<dyn TokenCache>) -> Self {
        Self {
            l1,
            l2,
            skew: Duration::from_secs(300),
            clock: Arc::new(SystemClock),
        }
    }

    /// The token manager's expiry skew ([`crate::ManagerOptions::skew`]): an L1 value with less
    /// left is looked up in L2 again. Defaults to 5 minutes.
    #[must_use]
    pub fn with_skew(mut self, skew: Duration) -> Self {
        self.skew = skew;
        self
    }

    /// The clock for freshness decisions (tests). Defaults to the system clock.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The in-memory layer (its [`MemoryTokenCache::stats`] show its size and bound).
    pub fn l1(&self) -> &MemoryTokenCache {
        &self.l1
    }

    /// The shared layer.
    pub fn l2(&self) -> &Arc<dyn TokenCache> {
        &self.l2
    }

    fn is_fresh(&self, value: &CachedToken, now: SystemTime) -> bool {
        let usable = value
            .expires_on()
            .duration_since(now)
            .is_ok_and(|left| left > self.skew);
        usable && value.refresh_on().is_none_or(|at| now < at)
    }
}

#[async_trait]
impl TokenCache for LayeredTokenCache {
    async fn get(&self, key: &CacheKey) -> Result<Option<CachedToken>, CacheError> {
        let local = self.l1.get(key).await.unwrap_or(None);
        let now = self.clock.now();
        if let Some(value) = &local
            && self.is_fresh(value, now)
        {
            return Ok(local);
        }
        match self.l2.get(key).await {
            Ok(Some(value)) => {
                if let Ok(ttl) = value.expires_on().duration_since(now)
                    && !ttl.is_zero()
                {
                    // Infallible for the memory cache.
                    let _ = self.l1.set(key, &value, ttl).await;
                }
                Ok(Some(value))
            }
            Ok(None) => Ok(local),
            Err(error) => {
                tracing::warn!(key = ?key, error = %error, "L2 token cache read failed; using L1 only");
                Ok(local)
            }
        }
    }

    async fn set(
        &self,
        key: &CacheKey,
        value: &CachedToken,
        ttl: Duration,
    ) -> Result<(), CacheError> {
        let _ = self.l1.set(key, value, ttl).await;
        self.l2.set(key, value, ttl).await
    }

    async fn remove(&self, key: &CacheKey) -> Result<(), CacheError> {
        let _ = self.l1.remove(key).await;
        self.l2.remove(key).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::TestClock;
    use parking_lot::Mutex;

    /// An L2 that counts calls and can fail.
    #[derive(Debug, Default)]
    struct Probe {
        inner: MemoryTokenCache,
        gets: Mutex<u32>,
        fail: Mutex<bool>,
    }

    #[async_trait]
    impl TokenCache for Probe {
        async fn get(&self, key: &CacheKey) -> Result<Option<CachedToken>, CacheError> {
            *self.gets.lock() += 1;
            if *self.fail.lock() {
                return Err(CacheError("down".into()));
            }
            self.inner.get(key).await
        }
        async fn set(
            &self,
            key: &CacheKey,
            value: &CachedToken,
            ttl: Duration,
        ) -> Result<(), CacheError> {
            if *self.fail.lock() {
                return Err(CacheError("down".into()));
            }
            self.inner.set(key, value, ttl).await
        }
        async fn remove(&self, key: &CacheKey) -> Result<(), CacheError> {
            if *self.fail.lock() {
                return Err(CacheError("down".into()));
            }
            self.inner.remove(key).await
        }
    }

    fn key() -> CacheKey {
        CacheKey::access_token("login", "t", "c", &["s".into()], None, None)
    }

    #[tokio::test]
    async fn fresh_l1_hits_skip_l2_and_stale_ones_ask_it() {
        let clock = TestClock::new();
        let probe = Arc::new(Probe::default());
        let l1 = MemoryTokenCache::with_clock(10, Arc::new(clock.clone()));
        let cache = LayeredTokenCache::new(l1, probe.clone()).with_clock(Arc::new(clock.clone()));
        let now = clock.now();
        let token = CachedToken::new(
            "a",
            now + Duration::from_secs(3600),
            Some(now + Duration::from_secs(1800)),
        );
        cache
            .set(&key(), &token, Duration::from_secs(3600))
            .await
            .unwrap();
        assert_eq!(cache.get(&key()).await.unwrap().unwrap().secret(), "a");
        assert_eq!(*probe.gets.lock(), 0, "an L1 hit must not reach L2");

        // another instance refreshed the token in L2; ours is past refresh_on
        let newer = CachedToken::new("b", now + Duration::from_secs(5400), None);
        probe
            .inner
            .set(&key(), &newer, Duration::from_secs(5400))
            .await
            .unwrap();
        clock.advance(Duration::from_secs(1801));
        assert_eq!(cache.get(&key()).await.unwrap().unwrap().secret(), "b");
        assert_eq!(*probe.gets.lock(), 1);
        // copied into L1: the next read stays local
        assert_eq!(cache.get(&key()).await.unwrap().unwrap().secret(), "b");
        assert_eq!(*probe.gets.lock(), 1);
    }

    #[tokio::test]
    async fn l2_failures_fall_back_to_l1_and_remove_clears_both() {
        let probe = Arc::new(Probe::default());
        let cache = LayeredTokenCache::new(MemoryTokenCache::with_capacity(10), probe.clone());
        let soon = SystemTime::now() + Duration::from_secs(200); // inside the skew: asks L2
        let token = CachedToken::new("a", soon, None);
        cache
            .set(&key(), &token, Duration::from_secs(200))
            .await
            .unwrap();
        *probe.fail.lock() = true;
        assert_eq!(cache.get(&key()).await.unwrap().unwrap().secret(), "a");
        assert!(
            cache.remove(&key()).await.is_err(),
            "the L2 failure is reported"
        );
        assert!(
            cache.l1().get(&key()).await.unwrap().is_none(),
            "L1 is cleared anyway"
        );
        *probe.fail.lock() = false;
        cache
            .set(&key(), &token, Duration::from_secs(200))
            .await
            .unwrap();
        cache.remove(&key()).await.unwrap();
        assert!(probe.inner.get(&key()).await.unwrap().is_none());
        assert!(cache.get(&key()).await.unwrap().is_none());
    }
}
