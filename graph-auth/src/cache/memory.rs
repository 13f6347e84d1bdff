//! The default in-memory cache: bounded (LRU), with TTL eviction and counters.

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use lru::LruCache;
use parking_lot::Mutex;

use super::{CacheError, CacheKey, CachedToken, TokenCache};
use crate::clock::{Clock, SystemClock};

/// Entry count and hit/miss counters of a [`MemoryTokenCache`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CacheStats {
    /// Entries held now.
    pub entries: usize,
    /// The maximum number of entries.
    pub capacity: usize,
    /// Lookups that found a live entry.
    pub hits: u64,
    /// Lookups that found nothing or an expired entry.
    pub misses: u64,
    /// Entries dropped because the cache was full.
    pub evictions: u64,
    /// Approximate memory held by the entries (keys, values and bookkeeping), in bytes.
    pub approx_bytes: u64,
}

struct Entry {
    value: CachedToken,
    dead_at: SystemTime,
    size: u64,
}

/// Approximate bytes an entry holds: the key's strings, the secret and fixed overhead
/// (the LRU node, the entry and the key's fields).
fn entry_size(key: &CacheKey, value: &CachedToken) -> u64 {
    let fixed = std::mem::size_of::<Entry>()
        + std::mem::size_of::<CacheKey>()
        + 4 * std::mem::size_of::<usize>();
    (fixed + key.storage_key().len() + value.secret().len()) as u64
}

/// An in-memory, bounded LRU token cache with TTL eviction. Cheap to clone (shared).
///
/// ```
/// use msgraph_typed_auth::MemoryTokenCache;
///
/// let cache = MemoryTokenCache::with_capacity(1_000);
/// assert_eq!(cache.stats().entries, 0);
/// assert_eq!(cache.stats().capacity, 1_000);
/// ```
#[derive(Clone)]
pub struct MemoryTokenCache {
    inner: Arc<Inner>,
}

struct Inner {
    entries: Mutex<LruCache<CacheKey, Entry>>,
    clock: Arc<dyn Clock>,
    hits: AtomicU64,
    misses: AtomicU64,
    evictions: AtomicU64,
    bytes: AtomicU64,
}

impl MemoryTokenCache {
    /// The default capacity: 10,000 entries.
    pub const DEFAULT_CAPACITY: usize = 10_000;

    /// A cache with [`Self::DEFAULT_CAPACITY`] entries.
    pub fn new() -> Self {
        Self::with_capacity(Self::DEFAULT_CAPACITY)
    }

    /// A cache holding at most `capacity` entries (at least 1); the least recently used goes first.
    pub fn with_capacity(capacity: usize) -> Self {
        Self::with_clock(capacity, Arc::new(SystemClock))
    }

    /// A cache using `clock` for TTL decisions (for tests).
    pub fn with_clock(capacity: usize, clock: Arc<dyn Clock>) -> Self {
        let capacity = NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN);
        Self {
            inner: Arc::new(Inner {
                entries: Mutex::new(LruCache::new(capacity)),
                clock,
                hits: AtomicU64::new(0),
                misses: AtomicU64::new(0),
                evictions: AtomicU64::new(0),
                bytes: AtomicU64::new(0),
            }),
        }
    }

    /// Entry count and counters.
    pub fn stats(&self) -> CacheStats {
        let entries = self.inner.entries.lock();
        CacheStats {
            entries: entries.len(),
            capacity: entries.cap().get(),
            hits: self.inner.hits.load(Ordering::Relaxed),
            misses: self.inner.misses.load(Ordering::Relaxed),
            evictions: self.inner.evictions.load(Ordering::Relaxed),
            approx_bytes: self.inner.bytes.load(Ordering::Relaxed),
        }
    }

    /// Drops every entry whose time to live has passed.
    pub fn purge_expired(&self) {
        let now = self.inner.clock.now();
        let mut entries = self.inner.entries.lock();
        let dead: Vec<CacheKey> = entries
            .iter()
            .filter(|(_, e)| e.dead_at <= now)
            .map(|(k, _)| k.clone())
            .collect();
        for key in dead {
            if let Some(entry) = entries.pop(&key) {
                self.inner.bytes.fetch_sub(entry.size, Ordering::Relaxed);
            }
        }
    }

    /// Removes every entry.
    pub fn clear(&self) {
        let mut entries = self.inner.entries.lock();
        entries.clear();
        self.inner.bytes.store(0, Ordering::Relaxed);
    }
}

impl Default for MemoryTokenCache {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for MemoryTokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryTokenCache")
            .field("stats", &self.stats())
            .finish()
    }
}

#[async_trait]
impl TokenCache for MemoryTokenCache {
    async fn get(&self, key: &CacheKey) -> Result<Option<CachedToken>, CacheError> {
        let now = self.inner.clock.now();
        let mut entries = self.inner.entries.lock();
        let live = match entries.get(key) {
            Some(entry) if entry.dead_at > now => Some(entry.value.clone()),
            Some(_) => {
                if let Some(entry) = entries.pop(key) {
                    self.inner.bytes.fetch_sub(entry.size, Ordering::Relaxed);
                }
                None
            }
            None => None,
        };
        let counter = if live.is_some() {
            &self.inner.hits
        } else {
            &self.inner.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        Ok(live)
    }

    async fn set(
        &self,
        key: &CacheKey,
        value: &CachedToken,
        ttl: Duration,
    ) -> Result<(), CacheError> {
        let dead_at = self.inner.clock.now() + ttl;
        let mut entries = self.inner.entries.lock();
        let size = entry_size(key, value);
        let entry = Entry {
            value: value.clone(),
            dead_at,
            size,
        };
        self.inner.bytes.fetch_add(size, Ordering::Relaxed);
        // `push` hands back the replaced entry (same key) or the evicted LRU entry.
        if let Some((evicted, old)) = entries.push(key.clone(), entry) {
            self.inner.bytes.fetch_sub(old.size, Ordering::Relaxed);
            if &evicted != key {
                self.inner.evictions.fetch_add(1, Ordering::Relaxed);
            }
        }
        Ok(())
    }

    async fn remove(&self, key: &CacheKey) -> Result<(), CacheError> {
        if let Some(entry) = self.inner.entries.lock().pop(key) {
            self.inner.bytes.fetch_sub(entry.size, Ordering::Relaxed);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::TestClock;

    fn key(i: usize) -> CacheKey {
        CacheKey::access_token(
            "login",
            "t",
            "c",
            &["s".into()],
            None,
            Some(format!("user-{i}")),
        )
    }

    #[tokio::test]
    async fn ttl_expires_entries_and_counts_hits_and_misses() {
        let clock = TestClock::new();
        let cache = MemoryTokenCache::with_clock(10, Arc::new(clock.clone()));
        let value = CachedToken::new("v", clock.now() + Duration::from_secs(3600), None);
        cache
            .set(&key(1), &value, Duration::from_secs(60))
            .await
            .unwrap();
        assert!(cache.get(&key(1)).await.unwrap().is_some());
        clock.advance(Duration::from_secs(61));
        assert!(cache.get(&key(1)).await.unwrap().is_none());
        let stats = cache.stats();
        assert_eq!((stats.hits, stats.misses, stats.entries), (1, 1, 0));
        assert_eq!(stats.approx_bytes, 0, "expired entries free their bytes");
    }

    #[tokio::test]
    async fn lru_bound_holds_with_100k_distinct_users() {
        let cache = MemoryTokenCache::with_capacity(1_000);
        let value = CachedToken::new("v", SystemTime::now() + Duration::from_secs(3600), None);
        for i in 0..100_000 {
            cache
                .set(&key(i), &value, Duration::from_secs(3600))
                .await
                .unwrap();
        }
        let stats = cache.stats();
        assert_eq!(stats.entries, 1_000);
        assert_eq!(stats.evictions, 99_000);
        // memory stays bounded: under a kilobyte per entry at most, whatever the number of users
        assert!(
            stats.approx_bytes > 0 && stats.approx_bytes < 1_000 * 1_024,
            "{stats:?}"
        );
        // the most recent users are still there, the oldest are gone
        assert!(cache.get(&key(99_999)).await.unwrap().is_some());
        assert!(cache.get(&key(0)).await.unwrap().is_none());
        cache.clear();
        assert_eq!(cache.stats().approx_bytes, 0);
    }
}
