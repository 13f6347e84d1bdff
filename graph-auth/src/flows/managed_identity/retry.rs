//! When a managed identity endpoint's answer is retried, and after how long.

use std::time::Duration;

use super::ManagedIdentitySource;
use crate::AuthError;

/// Retry rules for managed identity endpoints, as Azure.Identity's: exponential backoff from
/// `initial_delay` (doubling, at most `max_delay` each) for at most `max_retries` retries of
/// a transport failure, a 429 or a 5xx; IMDS's 404 (the identity is still being assigned) too,
/// and its 410 (the service is being updated) for as long as `gone_window` allows, however many
/// retries that takes. A `Retry-After` longer than the backoff is waited instead, unless it is
/// longer than `max_delay`: then the error returns at once with the server's delay.
///
/// ```
/// use msgraph_typed_auth::ManagedIdentityRetry;
/// use std::time::Duration;
///
/// let patient = ManagedIdentityRetry::default().with_max_retries(8);
/// assert_eq!(patient.initial_delay(), Duration::from_millis(800));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ManagedIdentityRetry {
    max_retries: u32,
    initial_delay: Duration,
    max_delay: Duration,
    gone_window: Duration,
}

impl Default for ManagedIdentityRetry {
    /// 5 retries from 800 ms, at most 20 s a wait, 410 retried for up to 70 s.
    fn default() -> Self {
        Self {
            max_retries: 5,
            initial_delay: Duration::from_millis(800),
            max_delay: Duration::from_secs(20),
            gone_window: Duration::from_secs(70),
        }
    }
}

impl ManagedIdentityRetry {
    /// Retries of a transient failure (not counting IMDS's 410). Defaults to 5.
    #[must_use]
    pub fn with_max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }

    /// The first backoff, doubled for each retry after it. Defaults to 800 ms.
    #[must_use]
    pub fn with_initial_delay(mut self, delay: Duration) -> Self {
        self.initial_delay = delay;
        self
    }

    /// The longest single wait. Defaults to 20 s.
    #[must_use]
    pub fn with_max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// How long IMDS's 410 answers are retried, in waits. Defaults to 70 s.
    #[must_use]
    pub fn with_gone_window(mut self, window: Duration) -> Self {
        self.gone_window = window;
        self
    }

    /// The first backoff.
    pub fn initial_delay(&self) -> Duration {
        self.initial_delay
    }

    pub(super) fn schedule(&self, source: ManagedIdentitySource) -> Schedule {
        Schedule {
            rules: *self,
            source,
            retries: 0,
            waited: Duration::ZERO,
        }
    }
}

/// The retries of one token fetch.
pub(super) struct Schedule {
    rules: ManagedIdentityRetry,
    source: ManagedIdentitySource,
    retries: u32,
    waited: Duration,
}

impl Schedule {
    /// The wait before retrying after `error`, or `None` when it is final.
    pub(super) fn next_delay(&mut self, error: &AuthError) -> Option<Duration> {
        let imds = self.source == ManagedIdentitySource::Imds;
        let (retryable, gone) = match error {
            AuthError::Transport { .. } => (true, false),
            AuthError::ManagedIdentity { status, .. } => match *status {
                410 if imds => (true, true),
                404 if imds => (true, false),
                429 => (true, false),
                501 | 505 => (false, false),
                500..=599 => (true, false),
                _ => (false, false),
            },
            _ => (false, false),
        };
        if !retryable {
            return None;
        }
        let shift = self.retries.min(16);
        let backoff = self
            .rules
            .initial_delay
            .saturating_mul(1u32 << shift)
            .min(self.rules.max_delay);
        let delay = match error.retry_after() {
            Some(asked) if asked > self.rules.max_delay => return None,
            Some(asked) => asked.max(backoff),
            None => backoff,
        };
        let allowed = if gone {
            self.waited + delay <= self.rules.gone_window || self.retries < self.rules.max_retries
        } else {
            self.retries < self.rules.max_retries
        };
        if !allowed {
            return None;
        }
        self.retries += 1;
        self.waited += delay;
        Some(delay)
    }
}
