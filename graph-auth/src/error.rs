//! The error every credential returns.
//!
//! The graph-auth work extends this with the full Entra error (REQ-66, 67); the
//! predicates below are the contract graph-core relies on.

use std::time::Duration;

/// Why a token could not be obtained. Never contains a secret, token or assertion.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The credential or its configuration is wrong (bad authority, missing value, bad key).
    #[error("credential configuration error: {0}")]
    Configuration(String),
    /// The token endpoint could not be reached or did not answer in time.
    #[error("token endpoint transport error: {0}")]
    Transport(String),
    /// The token endpoint answered something that is not a token response.
    #[error("token endpoint answered an unexpected response (HTTP {status}): {detail}")]
    InvalidResponse {
        /// HTTP status of the answer.
        status: u16,
        /// What was wrong with it (never the body of a success response).
        detail: String,
    },
    /// The token endpoint asked the client to wait.
    #[error("token endpoint throttled the request; retry after {retry_after:?}")]
    Throttled {
        /// How long the server asked to wait, when it said.
        retry_after: Option<Duration>,
    },
}

impl AuthError {
    /// Whether trying again later may succeed (transport failures, 5xx, 429).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            AuthError::Transport(_) | AuthError::Throttled { .. }
        ) || matches!(self, AuthError::InvalidResponse { status, .. } if *status >= 500)
    }
}
