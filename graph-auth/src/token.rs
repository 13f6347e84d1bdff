//! The access token type: the secret is redacted in every `Debug` output.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use secrecy::{ExposeSecret, SecretString};

/// An access token with its expiry and the time a proactive refresh should start.
#[derive(Clone)]
pub struct AccessToken {
    /// Shared with the cache entry it came from: a cache hit copies no secret bytes; the
    /// bytes are zeroised when the last holder drops them.
    secret: Arc<SecretString>,
    expires_on: SystemTime,
    refresh_on: Option<SystemTime>,
}

impl AccessToken {
    /// A token that expires at `expires_on`, with no proactive refresh time.
    pub fn new(secret: impl Into<String>, expires_on: SystemTime) -> Self {
        Self {
            secret: Arc::new(SecretString::from(secret.into())),
            expires_on,
            refresh_on: None,
        }
    }

    /// Sets the time from which a background refresh should start.
    #[must_use]
    pub fn with_refresh_on(mut self, refresh_on: SystemTime) -> Self {
        self.refresh_on = Some(refresh_on);
        self
    }

    /// The token itself, for an `Authorization: Bearer` header. Never log it.
    pub fn secret(&self) -> &str {
        self.secret.expose_secret()
    }

    /// The secret's shared allocation (for the cache, which keeps the same one).
    pub(crate) fn shared_secret(&self) -> &Arc<SecretString> {
        &self.secret
    }

    /// A token over an already shared secret.
    pub(crate) fn from_shared(
        secret: Arc<SecretString>,
        expires_on: SystemTime,
        refresh_on: Option<SystemTime>,
    ) -> Self {
        Self {
            secret,
            expires_on,
            refresh_on,
        }
    }

    /// When the token stops being accepted.
    pub fn expires_on(&self) -> SystemTime {
        self.expires_on
    }

    /// When a proactive refresh should start, if the server or the lifetime says so.
    pub fn refresh_on(&self) -> Option<SystemTime> {
        self.refresh_on
    }

    /// Whether fewer than `skew` remain before expiry at `now`.
    pub fn is_expired_at(&self, now: SystemTime, skew: Duration) -> bool {
        match self.expires_on.duration_since(now) {
            Ok(left) => left < skew,
            Err(_) => true,
        }
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("secret", &"[REDACTED]")
            .field("expires_on", &self.expires_on)
            .field("refresh_on", &self.refresh_on)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret() {
        let token = AccessToken::new("super-secret-value", SystemTime::now());
        let shown = format!("{token:?}");
        assert!(!shown.contains("super-secret-value"), "{shown}");
        assert!(shown.contains("[REDACTED]"));
    }

    #[test]
    fn expiry_respects_skew() {
        let now = SystemTime::now();
        let token = AccessToken::new("t", now + Duration::from_secs(600));
        assert!(!token.is_expired_at(now, Duration::from_secs(300)));
        assert!(token.is_expired_at(now, Duration::from_secs(601)));
        assert!(token.is_expired_at(now + Duration::from_secs(700), Duration::ZERO));
    }
}
