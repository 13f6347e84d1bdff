//! Options of the pipeline stages. The client holds the defaults; [`RequestOptions`] overrides
//! them for one request (and its pages) only, never mutating the client.

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

/// What the retry stage does on 429, 503 and 504, and on a connection lost before any
/// response byte (idempotent requests only).
///
/// The rule, in order:
/// - **The server's `Retry-After` is waited in full, never shortened.** When it is within
///   [`max_delay`](Self::max_delay) and the waits so far plus it fit the
///   [`total_budget`](Self::total_budget) (and retries are left), the SDK waits exactly that
///   long and retries. Otherwise the answer comes back at once as an error with
///   [`crate::Error::is_throttled`] and [`crate::Error::retry_after`] set to the server's
///   delay, so the caller can reschedule: the SDK never sends a request earlier than the
///   server allowed. `max_delay` is thus "the longest the SDK waits on its own".
/// - Without `Retry-After`, the wait is `base_delay · 2^n` plus up to 25 % jitter, capped at
///   `max_delay`; when it would exceed the budget, or no retries are left, the last answer is
///   returned (a service error whose `retry_after()` reads its headers).
/// - [`should_retry`](Self::should_retry) can veto any retry of an answer.
/// - [`ThrottleMode::ReturnError`] never waits on an answer.
/// - A refused connection, or one reset or closed before any response byte, is retried with
///   the same backoff and budget on GET, HEAD, PUT, DELETE, OPTIONS and TRACE and on requests
///   marked [`RequestOptions::with_idempotent`]; never on a POST or PATCH, never after a
///   timeout, never once a response started.
/// - The same rule applies to the throttled items of a `$batch`.
///
/// ```
/// use msgraph_typed_core::RetryOptions;
/// use std::time::Duration;
///
/// // Wait at most 30 s at a time and 2 minutes in all; longer throttling comes back as
/// // an error with `retry_after()` for the caller to reschedule.
/// let retry = RetryOptions::new()
///     .max_delay(Duration::from_secs(30))
///     .total_budget(Duration::from_secs(120));
/// # let _ = retry;
/// ```
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

/// The hard maximum of retries.
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

    /// The longest single wait the SDK makes on its own. A server's `Retry-After` above it is
    /// not shortened: the answer is handed back at once as a throttled error. Defaults to 180 s.
    #[must_use]
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// A limit on the sum of all waits of one request (or of one `$batch` run): when the next
    /// wait would exceed it, the answer is returned at once. Defaults to none.
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

    /// A predicate that can veto the retry of an answer, e.g. to give up on long waits for one
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

/// How redirects are followed: 301, 302, 303, 307 and 308, with `Authorization`,
/// `Proxy-Authorization` and `Cookie` dropped whenever the scheme, host or port changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectOptions {
    pub(crate) max_redirects: u32,
    pub(crate) allow_scheme_change: bool,
}

/// The hard maximum of redirects.
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
/// for collections, every page; never changes the client.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestOptions {
    pub(crate) retry: Option<RetryOptions>,
    pub(crate) redirect: Option<RedirectOptions>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) scopes: Option<Vec<String>>,
    pub(crate) idempotent: Option<bool>,
    pub(crate) max_response_bytes: Option<usize>,
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

    /// Marks the request as safe to send twice (or not), so a connection lost before any
    /// response byte is retried (or not). Defaults to the method: GET, HEAD, PUT, DELETE,
    /// OPTIONS and TRACE are idempotent; POST and PATCH are not.
    #[must_use]
    pub fn with_idempotent(mut self, idempotent: bool) -> Self {
        self.idempotent = Some(idempotent);
        self
    }

    /// The largest response body read for this request, in bytes. Defaults to the client's
    /// ([`crate::ClientBuilder::max_response_bytes`]).
    #[must_use]
    pub fn with_max_response_bytes(mut self, limit: usize) -> Self {
        self.max_response_bytes = Some(limit);
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
