//! Options of the pipeline stages. The client holds the defaults; [`RequestOptions`] overrides
//! them for one request (and its pages) only, never mutating the client (REQ-2, BEYOND-14).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::transport::HttpResponse;

/// A predicate deciding whether a retryable answer (429, 503, 504) is retried: it gets the wait
/// the strategy would apply, the retry number about to happen (1-based) and the response.
#[derive(Clone)]
pub struct ShouldRetry(Arc<RetryPredicate>);

type RetryPredicate = dyn Fn(Duration, u32, &HttpResponse) -> bool + Send + Sync;

impl ShouldRetry {
    /// Wraps a predicate.
    pub fn new(
        predicate: impl Fn(Duration, u32, &HttpResponse) -> bool + Send + Sync + 'static,
    ) -> Self {
        Self(Arc::new(predicate))
    }

    pub(crate) fn allows(&self, delay: Duration, attempt: u32, response: &HttpResponse) -> bool {
        (self.0)(delay, attempt, response)
    }
}

impl fmt::Debug for ShouldRetry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ShouldRetry(..)")
    }
}

impl PartialEq for ShouldRetry {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// What the retry stage does on 429, 503 and 504 (REQ-4..10, BEYOND-14).
#[derive(Debug, Clone, PartialEq)]
pub struct RetryOptions {
    pub(crate) max_retries: u32,
    pub(crate) base_delay: Duration,
    pub(crate) max_delay: Duration,
    pub(crate) total_budget: Option<Duration>,
    pub(crate) throttle_mode: ThrottleMode,
    pub(crate) jitter: bool,
    pub(crate) should_retry: Option<ShouldRetry>,
}

/// Whether the SDK waits on a throttling answer or hands it back at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ThrottleMode {
    /// Wait (Retry-After or backoff) and try again, up to the retry limits. The default.
    Wait,
    /// Never sleep: return [`crate::Error`] with `is_throttled()` and `retry_after()` so the
    /// caller can reschedule the work.
    ReturnError,
}

/// The hard maximum of retries (REQ-6).
pub const MAX_RETRIES_CAP: u32 = 10;

impl Default for RetryOptions {
    fn default() -> Self {
        Self {
            max_retries: 3,
            base_delay: Duration::from_secs(3),
            max_delay: Duration::from_secs(180),
            total_budget: None,
            throttle_mode: ThrottleMode::Wait,
            jitter: true,
            should_retry: None,
        }
    }
}

impl RetryOptions {
    /// The defaults: 3 retries, 3 s base delay, 180 s per wait, no total budget, waiting mode.
    pub fn new() -> Self {
        Self::default()
    }

    /// No retries at all.
    pub fn disabled() -> Self {
        Self::default().max_retries(0)
    }

    /// How many times to retry. Defaults to 3; capped at 10.
    #[must_use]
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries.min(MAX_RETRIES_CAP);
        self
    }

    /// The first backoff delay when the server gave no `Retry-After`; it doubles on each retry.
    /// Defaults to 3 s.
    #[must_use]
    pub fn base_delay(mut self, delay: Duration) -> Self {
        self.base_delay = delay;
        self
    }

    /// The longest single wait, whatever `Retry-After` says. Defaults to 180 s.
    #[must_use]
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// A limit on the sum of all waits of one request: when the next wait would exceed it,
    /// the throttling error is returned at once (REQ-9). Defaults to none.
    #[must_use]
    pub fn total_budget(mut self, budget: Duration) -> Self {
        self.total_budget = Some(budget);
        self
    }

    /// Wait or return a `Throttled` error. Defaults to [`ThrottleMode::Wait`].
    #[must_use]
    pub fn throttle_mode(mut self, mode: ThrottleMode) -> Self {
        self.throttle_mode = mode;
        self
    }

    /// A predicate that can veto a retry (REQ-4), e.g. to give up on long waits for one
    /// endpoint. Defaults to none: every retryable answer is retried within the limits.
    #[must_use]
    pub fn should_retry(mut self, predicate: ShouldRetry) -> Self {
        self.should_retry = Some(predicate);
        self
    }

    /// Whether backoff delays get random jitter. Defaults to `true`.
    #[must_use]
    pub fn jitter(mut self, jitter: bool) -> Self {
        self.jitter = jitter;
        self
    }
}

/// How redirects are followed (REQ-11, 12).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectOptions {
    pub(crate) max_redirects: u32,
    pub(crate) allow_scheme_change: bool,
}

/// The hard maximum of redirects (REQ-11).
pub const MAX_REDIRECTS_CAP: u32 = 20;

impl Default for RedirectOptions {
    fn default() -> Self {
        Self {
            max_redirects: 5,
            allow_scheme_change: false,
        }
    }
}

impl RedirectOptions {
    /// The defaults: at most 5 redirects, no scheme change.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many redirects to follow; 0 hands every redirect back. Defaults to 5, capped at 20.
    #[must_use]
    pub fn max_redirects(mut self, max: u32) -> Self {
        self.max_redirects = max.min(MAX_REDIRECTS_CAP);
        self
    }

    /// Allows an https -> http redirect. Defaults to `false` (refused with an error).
    #[must_use]
    pub fn allow_scheme_change(mut self, allow: bool) -> Self {
        self.allow_scheme_change = allow;
        self
    }
}

/// Per-request overrides of the client's defaults. Applies to the request, its retries and,
/// for collections, every page.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestOptions {
    pub(crate) retry: Option<RetryOptions>,
    pub(crate) redirect: Option<RedirectOptions>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) scopes: Option<Vec<String>>,
}

impl RequestOptions {
    /// No overrides.
    pub fn new() -> Self {
        Self::default()
    }

    /// Retry options for this request. Defaults to the client's.
    #[must_use]
    pub fn with_retry(mut self, retry: RetryOptions) -> Self {
        self.retry = Some(retry);
        self
    }

    /// Redirect options for this request. Defaults to the client's.
    #[must_use]
    pub fn with_redirect(mut self, redirect: RedirectOptions) -> Self {
        self.redirect = Some(redirect);
        self
    }

    /// A timeout for each attempt of this request. Defaults to the transport's (100 s).
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Token scopes for this request. Defaults to the client's scopes, else
    /// `{scheme}://{host}/.default` of the request URL.
    #[must_use]
    pub fn with_scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = Some(scopes.into_iter().map(Into::into).collect());
        self
    }
}
