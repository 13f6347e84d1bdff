//! The token manager: written once, used by every credential.
//!
//! - A token is handed out only while more than `skew` (default 5 min) remain.
//! - Past its `refresh_on`, a token keeps being served while one background task refreshes it.
//! - Single flight per cache key: concurrent callers on a cold or expired key wait for one
//!   fetch; a failure reaches the callers that waited for it, so no convoy forms.
//! - After a failed fetch the next one waits a short, jittered backoff, which callers that need
//!   a token wait out rather than fail on; a failed *background* refresh delays only the next
//!   background refresh, never a caller without a usable token; a `Retry-After` from the token
//!   endpoint makes callers fail fast until it passes.
//! - A retryable failure while the cached token is still valid serves the cached token.
//! - The cached token is replaced only by a newer one, never removed on the way: a forced
//!   refresh (after a 401) that fails leaves other callers on the still-valid token.
//!
//! So calls fail only when no usable token exists and the token endpoint cannot give one.

use std::fmt;
use std::future::Future;
use std::num::NonZeroUsize;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use lru::LruCache;
use parking_lot::Mutex;
use tokio::sync::OwnedMutexGuard;

use crate::cache::{CacheKey, CachedToken, TokenCache};
use crate::clock::Clock;
use crate::endpoint::MAX_RETRY_AFTER;
use crate::{AccessToken, AuthError};

/// A started token fetch (a boxed future: nothing runs until it is polled).
type FetchFuture = Pin<Box<dyn Future<Output = Result<AccessToken, AuthError>> + Send>>;

/// Starts the caller's fetch, at most once (`None` afterwards). Boxing happens only when a
/// fetch is needed, so a cache hit allocates nothing (see [`TokenManager::get_token_with`]).
type StartFetch<'a> = &'a mut (dyn FnMut() -> Option<FetchFuture> + Send);

/// Tuning of the [`TokenManager`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ManagerOptions {
    /// A token with less than this left is not handed out. Defaults to 5 minutes.
    pub skew: Duration,
    /// After a failed background refresh, wait this long before the next background refresh.
    /// Callers without a usable token are not held back by it. Defaults to 30 s.
    pub background_retry_delay: Duration,
    /// First backoff after a failed foreground fetch; doubles per consecutive failure, jittered
    /// down to half. Callers that need a token wait it out. Defaults to 200 ms.
    pub failure_backoff: Duration,
    /// Largest foreground backoff. Keep it short: callers wait it out. Defaults to 2 s.
    /// (A `Retry-After` from the token endpoint, up to 1 h, is honoured separately.)
    pub max_failure_backoff: Duration,
    /// How many keys' single-flight and backoff state is kept (LRU). Defaults to 10,000.
    pub max_tracked_keys: usize,
}

impl Default for ManagerOptions {
    fn default() -> Self {
        Self {
            skew: Duration::from_secs(300),
            background_retry_delay: Duration::from_secs(30),
            failure_backoff: Duration::from_millis(200),
            max_failure_backoff: Duration::from_secs(2),
            max_tracked_keys: 10_000,
        }
    }
}

impl ManagerOptions {
    /// Sets the expiry skew. Defaults to 5 minutes.
    #[must_use]
    pub fn with_skew(mut self, skew: Duration) -> Self {
        self.skew = skew;
        self
    }

    /// Sets the delay between failed background refreshes. Defaults to 30 s.
    #[must_use]
    pub fn with_background_retry_delay(mut self, delay: Duration) -> Self {
        self.background_retry_delay = delay;
        self
    }

    /// Sets the first foreground backoff after a failure and its cap. Defaults to 200 ms and 2 s.
    #[must_use]
    pub fn with_failure_backoff(mut self, first: Duration, max: Duration) -> Self {
        self.failure_backoff = first;
        self.max_failure_backoff = max;
        self
    }

    /// Sets how many keys' state is tracked. Defaults to 10,000.
    #[must_use]
    pub fn with_max_tracked_keys(mut self, keys: usize) -> Self {
        self.max_tracked_keys = keys;
        self
    }
}

#[derive(Clone)]
struct Failure {
    error: AuthError,
    /// No new fetch before this (the backoff).
    retry_at: SystemTime,
    /// The token endpoint's own `Retry-After`: callers fail fast until then.
    server_wait_until: Option<SystemTime>,
    consecutive: u32,
    /// Whether the failed fetch was a background refresh (its backoff delays only background
    /// refreshes).
    background: bool,
}

#[derive(Default)]
struct KeyState {
    /// Held while a fetch for the key runs; holds the last failure, if the last fetch failed.
    gate: Arc<tokio::sync::Mutex<Option<Failure>>>,
    /// Number of fetches completed for the key (a waiter compares it with what it saw).
    completed: AtomicU64,
}

/// Caches tokens and fetches them with single flight, proactive refresh and backoff.
/// Cheap to clone (shared state).
///
/// Every credential of this crate owns one; implement your own credential on top of it:
///
/// ```
/// use msgraph_typed_auth::{AccessToken, CacheKey, ManagerOptions, MemoryTokenCache, SystemClock, TokenManager};
/// use std::sync::Arc;
/// use std::time::{Duration, SystemTime};
///
/// # async fn demo() -> Result<(), msgraph_typed_auth::AuthError> {
/// let manager = TokenManager::new(
///     Arc::new(MemoryTokenCache::new()),
///     Arc::new(SystemClock),
///     ManagerOptions::default(),
/// );
/// let key = CacheKey::access_token("my-idp", "tenant", "client", &["scope".into()], None, None);
/// let token = manager
///     .get_token(&key, false, || async {
///         // call your token endpoint here
///         Ok(AccessToken::new("token", SystemTime::now() + Duration::from_secs(3600)))
///     })
///     .await?;
/// assert_eq!(token.secret(), "token");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct TokenManager {
    inner: Arc<Inner>,
}

struct Inner {
    cache: Arc<dyn TokenCache>,
    clock: Arc<dyn Clock>,
    options: ManagerOptions,
    keys: Mutex<LruCache<CacheKey, Arc<KeyState>>>,
    fetches: AtomicU64,
}

impl fmt::Debug for TokenManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenManager")
            .field("cache", &self.inner.cache)
            .field("options", &self.inner.options)
            .field("fetches", &self.fetch_count())
            .finish()
    }
}

impl TokenManager {
    /// A manager over `cache`, deciding expiry with `clock`.
    pub fn new(cache: Arc<dyn TokenCache>, clock: Arc<dyn Clock>, options: ManagerOptions) -> Self {
        let tracked = NonZeroUsize::new(options.max_tracked_keys).unwrap_or(NonZeroUsize::MIN);
        Self {
            inner: Arc::new(Inner {
                cache,
                clock,
                options,
                keys: Mutex::new(LruCache::new(tracked)),
                fetches: AtomicU64::new(0),
            }),
        }
    }

    /// The cache the manager reads and writes.
    pub fn cache(&self) -> &Arc<dyn TokenCache> {
        &self.inner.cache
    }

    /// The clock the manager decides expiry with.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    /// The manager's options.
    pub fn options(&self) -> &ManagerOptions {
        &self.inner.options
    }

    /// How many fetches (token endpoint round trips) the manager has started.
    pub fn fetch_count(&self) -> u64 {
        self.inner.fetches.load(Ordering::Relaxed)
    }

    /// Returns a token for `key`: from the cache while it has more than `skew` left,
    /// otherwise from `fetch`, run at most once at a time per key.
    ///
    /// With `force_refresh`, the cache is not read and the key's entry is replaced (only that
    /// entry) once the new token arrives; until then, and if the fetch fails, other callers
    /// keep the cached token. Callers forcing at the same time share one fetch.
    ///
    /// # Errors
    /// The fetch's error (shared by every caller that waited for it), or the last failure
    /// while the token endpoint's `Retry-After` runs. A retryable error while the cached token
    /// is still valid is not an error: the cached token is returned.
    pub async fn get_token<F, Fut>(
        &self,
        key: &CacheKey,
        force_refresh: bool,
        fetch: F,
    ) -> Result<AccessToken, AuthError>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<AccessToken, AuthError>> + Send + 'static,
    {
        let mut fetch = Some(fetch);
        let mut start = move || fetch.take().map(|f| Box::pin(f()) as FetchFuture);
        self.get_token_with(key, force_refresh, &mut start).await
    }

    /// [`get_token`](Self::get_token) behind a `dyn` fetch starter, so the cache-and-flight
    /// logic is compiled once rather than once per credential type. The fetch's future is
    /// boxed only when a fetch starts (a network round trip); a cache hit allocates nothing.
    async fn get_token_with(
        &self,
        key: &CacheKey,
        force_refresh: bool,
        start: StartFetch<'_>,
    ) -> Result<AccessToken, AuthError> {
        let skew = self.inner.options.skew;
        let state = self.state(key);
        // Read the ticket before the cache: a fetch completing after this point is noticed.
        let ticket = state.completed.load(Ordering::SeqCst);
        let now = self.now();
        let mut fallback = None;
        if !force_refresh && let Some(token) = self.read(key).await {
            if !token.is_expired_at(now, skew) {
                if token.refresh_on().is_some_and(|at| now >= at) {
                    self.refresh_in_background(key, &state, start);
                }
                tracing::trace!(key = ?key, "token cache hit");
                return Ok(token);
            }
            if token.expires_on() > now {
                fallback = Some(token);
            }
        }

        let guard = state.gate.clone().lock_owned().await;
        let now = self.now();
        let someone_finished = state.completed.load(Ordering::SeqCst) != ticket;
        match guard.as_ref() {
            Some(failure) if someone_finished => {
                // The fetch this caller waited for failed: the token endpoint could not give a
                // token just now. Shared, so the waiters make no requests of their own.
                tracing::debug!(key = ?key, error = %failure.error, "sharing the token fetch failure");
                return self.fail(failure.error.clone(), fallback, now);
            }
            Some(failure) if failure.server_wait_until.is_some_and(|until| until > now) => {
                // The token endpoint said when to come back (Retry-After): fail fast until then.
                tracing::debug!(key = ?key, error = %failure.error, "token endpoint asked to wait; failing fast");
                return self.fail(failure.error.clone(), fallback, now);
            }
            Some(failure) if !failure.background && failure.retry_at > now => {
                // A foreground fetch failed a moment ago: wait out its short backoff (holding
                // the gate, so later callers share this caller's fetch) rather than fail.
                let wait = failure.retry_at.duration_since(now).unwrap_or_default();
                tracing::debug!(key = ?key, wait_ms = wait.as_millis() as u64, "backing off before the next token fetch");
                self.inner.clock.sleep(wait).await;
            }
            // A failed *background* refresh delays only background work: a caller that needs
            // a token now fetches one now.
            Some(_) => {}
            None if someone_finished => {
                // A fetch finished while this caller waited: its token is as fresh as a new
                // fetch would be, so it is shared even when its whole lifetime is shorter than
                // the skew (otherwise every waiter would fetch again, one after another).
                if let Some(token) = self.read(key).await
                    && token.expires_on() > now
                {
                    return Ok(token);
                }
            }
            None => {}
        }
        // A forced refresh does not remove the cached token: other callers keep using it
        // until the new one replaces it, and keep it if this fetch fails.
        let Some(fetch) = start() else {
            return Err(AuthError::Internal(
                "the token fetch was started twice".into(),
            ));
        };
        let this = self.clone();
        let flight_key = key.clone();
        let flight_state = state.clone();
        let handle = tokio::spawn(async move {
            this.run_flight(&flight_key, &flight_state, guard, fetch, false)
                .await
        });
        let result = match handle.await {
            Ok(result) => result,
            Err(join) => Err(AuthError::Internal(format!(
                "the token fetch task failed: {join}"
            ))),
        };
        match result {
            Ok(token) => Ok(token),
            Err(error) => self.fail(error, fallback, self.now()),
        }
    }

    /// Removes the cached token of `key` (for example after the resource rejected it).
    pub async fn evict(&self, key: &CacheKey) {
        self.remove(key).await;
    }

    fn refresh_in_background(&self, key: &CacheKey, state: &Arc<KeyState>, start: StartFetch<'_>) {
        let Ok(guard) = state.gate.clone().try_lock_owned() else {
            return; // a fetch is already running
        };
        let now = self.now();
        if guard.as_ref().is_some_and(|f| {
            f.retry_at > now || f.server_wait_until.is_some_and(|until| until > now)
        }) {
            return; // the last fetch failed recently; keep serving the cached token
        }
        let Some(fetch) = start() else {
            return; // already used (cannot happen: one start per call)
        };
        tracing::debug!(key = ?key, "starting background token refresh");
        let this = self.clone();
        let key = key.clone();
        let state = state.clone();
        tokio::spawn(async move {
            let _ = this.run_flight(&key, &state, guard, fetch, true).await;
        });
    }

    async fn run_flight(
        &self,
        key: &CacheKey,
        state: &KeyState,
        mut guard: OwnedMutexGuard<Option<Failure>>,
        fetch: FetchFuture,
        background: bool,
    ) -> Result<AccessToken, AuthError> {
        self.inner.fetches.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(key = ?key, background, "fetching token");
        let result = fetch.await;
        let now = self.now();
        match &result {
            Ok(token) => {
                self.write(key, token, now).await;
                *guard = None;
                tracing::debug!(key = ?key, background, "token fetched");
            }
            Err(error) => {
                let consecutive = guard
                    .as_ref()
                    .map_or(1, |f| f.consecutive.saturating_add(1));
                let delay = self.backoff(consecutive, background);
                let server_wait_until = error
                    .retry_after()
                    .map(|wait| now + wait.min(MAX_RETRY_AFTER));
                tracing::warn!(key = ?key, background, error = %error, backoff_ms = delay.as_millis() as u64,
                    "token fetch failed");
                *guard = Some(Failure {
                    error: error.clone(),
                    retry_at: now + delay,
                    server_wait_until,
                    consecutive,
                    background,
                });
            }
        }
        state.completed.fetch_add(1, Ordering::SeqCst);
        drop(guard);
        result
    }

    /// How long after a failure the next fetch of the key waits: for a background refresh at
    /// least `background_retry_delay` (the cached token is still usable); for a foreground
    /// fetch a short, jittered, doubling delay capped at `max_failure_backoff`, which later
    /// callers wait out (they are delayed, never failed, by it).
    fn backoff(&self, consecutive: u32, background: bool) -> Duration {
        let options = &self.inner.options;
        let exponent = consecutive.saturating_sub(1).min(16);
        let delay = options
            .failure_backoff
            .saturating_mul(1 << exponent)
            .min(options.max_failure_backoff);
        if background {
            delay.max(options.background_retry_delay)
        } else {
            // Anywhere in [delay / 2, delay]: concurrent services do not retry in step.
            delay.mul_f64(0.5 + 0.5 * crate::endpoint::unit_random())
        }
    }

    fn fail(
        &self,
        error: AuthError,
        fallback: Option<AccessToken>,
        now: SystemTime,
    ) -> Result<AccessToken, AuthError> {
        match fallback {
            Some(token) if error.is_retryable() && token.expires_on() > now => {
                tracing::warn!(error = %error, "token refresh failed; serving the cached token, still valid");
                Ok(token)
            }
            _ => Err(error),
        }
    }

    fn state(&self, key: &CacheKey) -> Arc<KeyState> {
        let mut keys = self.inner.keys.lock();
        // Every call comes here, cache hits included: clone the key only for a new entry.
        if let Some(state) = keys.get(key) {
            return state.clone();
        }
        keys.get_or_insert(key.clone(), || Arc::new(KeyState::default()))
            .clone()
    }

    fn now(&self) -> SystemTime {
        self.inner.clock.now()
    }

    async fn read(&self, key: &CacheKey) -> Option<AccessToken> {
        match self.inner.cache.get(key).await {
            Ok(value) => value.map(|v| v.to_access_token()),
            Err(error) => {
                tracing::warn!(key = ?key, error = %error, "token cache read failed; treating it as a miss");
                None
            }
        }
    }

    async fn write(&self, key: &CacheKey, token: &AccessToken, now: SystemTime) {
        let Ok(ttl) = token.expires_on().duration_since(now) else {
            return;
        };
        if ttl.is_zero() {
            return;
        }
        if let Err(error) = self
            .inner
            .cache
            .set(key, &CachedToken::from(token), ttl)
            .await
        {
            tracing::warn!(key = ?key, error = %error, "token cache write failed");
        }
    }

    async fn remove(&self, key: &CacheKey) {
        if let Err(error) = self.inner.cache.remove(key).await {
            tracing::warn!(key = ?key, error = %error, "token cache remove failed");
        }
    }
}

#[cfg(test)]
#[path = "manager_tests.rs"]
mod tests;
