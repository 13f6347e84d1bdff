//! The error every credential returns, with the full Entra ID error when the token
//! endpoint sent one.
//!
//! Callers decide with the predicates ([`AuthError::is_retryable`],
//! [`AuthError::is_interaction_required`], [`AuthError::is_configuration`]) and the
//! accessors ([`AuthError::claims`], [`AuthError::entra_error`], ...), never by matching
//! variants or parsing messages.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;

/// Why a token could not be obtained. Never contains a secret, token or assertion.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum AuthError {
    /// The credential or its configuration is wrong (bad authority, missing value, bad key).
    Configuration(String),
    /// The credential cannot be used in this environment (for example the environment
    /// variables it reads are not set); a [`crate::ChainedTokenCredential`] moves on to the next one.
    Unavailable(String),
    /// The token endpoint could not be reached or did not answer in time.
    Transport {
        /// What went wrong (no request body, no secret).
        message: String,
        /// Whether the request timed out.
        timeout: bool,
    },
    /// The token endpoint answered something that is not a token response (HTML, garbage, an empty body).
    InvalidResponse {
        /// HTTP status of the answer.
        status: u16,
        /// What was wrong with it (never the body of a success response).
        detail: String,
        /// `Retry-After` sent with it, if any.
        retry_after: Option<Duration>,
    },
    /// The token endpoint asked the client to wait (HTTP 429 without an OAuth error body).
    Throttled {
        /// HTTP status (429, or 503 with Retry-After).
        status: u16,
        /// How long the server asked to wait, when it said.
        retry_after: Option<Duration>,
    },
    /// The token endpoint answered with an OAuth 2.0 / Entra ID error.
    Service {
        /// HTTP status of the answer.
        status: u16,
        /// The parsed error body.
        error: Box<EntraError>,
        /// `Retry-After` sent with it, if any.
        retry_after: Option<Duration>,
    },
    /// The token endpoint answered with a redirect (3xx). The SDK never follows one: the form it
    /// posted carries secrets, assertions or codes that must go to the configured authority
    /// only. Usually a wrong authority host or a proxy in the way; not retried.
    Redirected {
        /// HTTP status of the answer (301, 302, 303, 307, 308, ...).
        status: u16,
        /// The host the `Location` header pointed to, when it named one.
        location_host: Option<String>,
    },
    /// The token endpoint's answer was larger than the limit (see
    /// [`crate::CredentialOptions::with_max_response_bytes`]); it was not read further.
    ResponseTooLarge {
        /// HTTP status of the answer.
        status: u16,
        /// The limit in bytes.
        limit: usize,
    },
    /// A managed identity endpoint (IMDS, App Service, Azure Arc, Cloud Shell) answered an
    /// error, or an answer that is not a token.
    ManagedIdentity {
        /// Which source answered.
        source: crate::ManagedIdentitySource,
        /// HTTP status of the answer.
        status: u16,
        /// What the endpoint said (its `error_description` or `message`; never a token).
        message: String,
        /// `Retry-After` sent with it, if any.
        retry_after: Option<Duration>,
    },
    /// A developer tool (`az`, `azd`) ran but gave no token: it failed, timed out or printed
    /// something that is not a token answer. What it said is quoted, without any token.
    DeveloperTool {
        /// The tool, for example `az`.
        tool: String,
        /// What went wrong.
        message: String,
    },
    /// Every credential of a [`crate::ChainedTokenCredential`] failed; each attempt is listed.
    Chain(Vec<ChainAttempt>),
    /// An internal failure (a background task was lost); trying again may succeed.
    Internal(String),
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthError::Configuration(message) => {
                write!(f, "credential configuration error: {message}")
            }
            AuthError::Unavailable(message) => write!(f, "credential unavailable: {message}"),
            AuthError::Transport { message, timeout } => {
                let timeout = if *timeout { " (timeout)" } else { "" };
                write!(f, "token endpoint transport error{timeout}: {message}")
            }
            AuthError::InvalidResponse { status, detail, .. } => write!(
                f,
                "token endpoint answered an unexpected response (HTTP {status}): {detail}"
            ),
            AuthError::Throttled {
                status,
                retry_after,
            } => write!(
                f,
                "token endpoint throttled the request (HTTP {status}); retry after {retry_after:?}"
            ),
            AuthError::Service { status, error, .. } => {
                write!(f, "token endpoint error (HTTP {status}): {error}")
            }
            AuthError::Redirected {
                status,
                location_host,
            } => {
                write!(f, "token endpoint answered HTTP {status} (a redirect")?;
                if let Some(host) = location_host {
                    write!(f, " to {host}")?;
                }
                f.write_str(
                    "), which is never followed for token requests: check the authority host",
                )
            }
            AuthError::ResponseTooLarge { status, limit } => write!(
                f,
                "token endpoint answer (HTTP {status}) exceeds the limit of {limit} bytes"
            ),
            AuthError::ManagedIdentity {
                source,
                status,
                message,
                ..
            } => write!(
                f,
                "managed identity ({source}) answered HTTP {status}: {message}"
            ),
            AuthError::DeveloperTool { tool, message } => {
                write!(f, "`{tool}` gave no token: {message}")
            }
            AuthError::Chain(attempts) => write!(
                f,
                "no credential in the chain returned a token: {}",
                ChainDisplay(attempts)
            ),
            AuthError::Internal(message) => write!(f, "internal error: {message}"),
        }
    }
}

impl std::error::Error for AuthError {}

/// One credential's failure inside a chain.
#[derive(Debug, Clone)]
pub struct ChainAttempt {
    /// The credential's type name.
    pub credential: String,
    /// Why it failed.
    pub error: AuthError,
}

struct ChainDisplay<'a>(&'a [ChainAttempt]);

impl fmt::Display for ChainDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, attempt) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "[{}] {}", attempt.credential, attempt.error)?;
        }
        Ok(())
    }
}

/// An OAuth 2.0 error answer of the token endpoint, with every field Entra ID adds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct EntraError {
    /// The OAuth error code, e.g. `invalid_client`, `interaction_required`.
    pub error: String,
    /// Human readable description, usually starting with `AADSTSnnnnn:`.
    #[serde(default)]
    pub error_description: Option<String>,
    /// AADSTS numeric codes.
    #[serde(default)]
    pub error_codes: Vec<u64>,
    /// When the server produced the error.
    #[serde(default)]
    pub timestamp: Option<String>,
    /// Server-side trace id (give it to Microsoft support).
    #[serde(default)]
    pub trace_id: Option<String>,
    /// Correlation id (echo of the `client-request-id` the library sent).
    #[serde(default)]
    pub correlation_id: Option<String>,
    /// A page describing the error.
    #[serde(default)]
    pub error_uri: Option<String>,
    /// Finer classification, e.g. `basic_action`, `client_mismatch`.
    #[serde(default)]
    pub suberror: Option<String>,
    /// A claims challenge (JSON) to send back to the client that must re-authenticate.
    #[serde(default)]
    pub claims: Option<String>,
}

impl EntraError {
    /// Whether one of the AADSTS codes is `code`.
    pub fn has_code(&self, code: u64) -> bool {
        self.error_codes.contains(&code)
    }
}

impl fmt::Display for EntraError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.error)?;
        if let Some(description) = &self.error_description {
            // Entra descriptions carry "Trace ID: ..." lines; keep the first line only.
            let first = description.lines().next().unwrap_or_default();
            write!(f, ": {first}")?;
        }
        if let Some(suberror) = &self.suberror {
            write!(f, " (suberror {suberror})")?;
        }
        if !self.error_codes.is_empty() {
            write!(f, " [codes {:?}]", self.error_codes)?;
        }
        if let Some(trace) = &self.trace_id {
            write!(f, " trace_id={trace}")?;
        }
        if let Some(correlation) = &self.correlation_id {
            write!(f, " correlation_id={correlation}")?;
        }
        Ok(())
    }
}

/// OAuth errors that mean the user must interact (sign in again, MFA, consent).
const INTERACTION_ERRORS: &[&str] = &[
    "interaction_required",
    "login_required",
    "consent_required",
    "invalid_grant",
];
/// Sub-errors of `invalid_grant` that are not fixed by user interaction.
const NON_INTERACTIVE_SUBERRORS: &[&str] = &["client_mismatch", "protection_policy_required"];
/// AADSTS codes that mean interaction or consent: MFA (50076, 50079), consent (65001), revoked (50173).
const INTERACTION_CODES: &[u64] = &[50076, 50079, 65001, 50173, 50013, 500133];
/// OAuth errors that mean the application is misconfigured.
const CONFIGURATION_ERRORS: &[&str] = &[
    "invalid_client",
    "invalid_scope",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_resource",
    "invalid_request",
];
/// AADSTS codes that mean configuration errors: bad scope (70011), bad secret (7000215), unknown app (700016).
const CONFIGURATION_CODES: &[u64] = &[70011, 7000215, 700016, 90002, 1002012];

impl AuthError {
    /// Whether trying again later may succeed: transport failures and timeouts, 5xx, 408, 429,
    /// and `temporarily_unavailable`.
    pub fn is_retryable(&self) -> bool {
        match self {
            AuthError::Transport { .. } | AuthError::Throttled { .. } | AuthError::Internal(_) => {
                true
            }
            AuthError::InvalidResponse { status, .. }
            | AuthError::ManagedIdentity { status, .. } => retryable_status(*status),
            AuthError::Service { status, error, .. } => {
                retryable_status(*status) || error.error == "temporarily_unavailable"
            }
            _ => false,
        }
    }

    /// Whether the user must interact (sign in, MFA, consent) before a token can be issued:
    /// `interaction_required`, `invalid_grant` (except suberror `client_mismatch` /
    /// `protection_policy_required`), AADSTS50076/50079/65001/50173/50013/500133.
    /// Never retried silently; an OBO web API answers its client with [`AuthError::claims`].
    pub fn is_interaction_required(&self) -> bool {
        let Some(error) = self.entra_error() else {
            return false;
        };
        let suberror_excluded = error
            .suberror
            .as_deref()
            .is_some_and(|s| NON_INTERACTIVE_SUBERRORS.contains(&s));
        if suberror_excluded {
            return false;
        }
        INTERACTION_ERRORS.contains(&error.error.as_str())
            || error
                .error_codes
                .iter()
                .any(|c| INTERACTION_CODES.contains(c))
    }

    /// Whether the credential or the app registration is wrong (bad secret, unknown client,
    /// invalid scope, ...): retrying will not help until the configuration changes.
    pub fn is_configuration(&self) -> bool {
        match self {
            AuthError::Configuration(_) | AuthError::Redirected { .. } => true,
            AuthError::Service { error, .. } => {
                !self.is_interaction_required()
                    && (CONFIGURATION_ERRORS.contains(&error.error.as_str())
                        || error
                            .error_codes
                            .iter()
                            .any(|c| CONFIGURATION_CODES.contains(c)))
            }
            _ => false,
        }
    }

    /// Whether the credential is not usable here (a chain tries the next one).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, AuthError::Unavailable(_))
    }

    /// Whether the token endpoint timed out.
    pub fn is_timeout(&self) -> bool {
        matches!(self, AuthError::Transport { timeout: true, .. })
    }

    /// The claims challenge the token endpoint sent (for example with `interaction_required`
    /// from an on-behalf-of request), to be passed back to the client that must re-authenticate.
    pub fn claims(&self) -> Option<&str> {
        self.entra_error().and_then(|e| e.claims.as_deref())
    }

    /// A `WWW-Authenticate` header value with which a web API passes an on-behalf-of claims
    /// challenge back to its client (`Bearer error="insufficient_claims", claims="<base64>"`),
    /// when the token endpoint sent claims. The client requests a new token with those claims.
    ///
    /// ```
    /// # fn answer(error: &msgraph_typed_auth::AuthError) {
    /// if let Some(challenge) = error.www_authenticate_challenge() {
    ///     // respond 401 with header ("WWW-Authenticate", challenge)
    /// #   let _ = challenge;
    /// }
    /// # }
    /// ```
    pub fn www_authenticate_challenge(&self) -> Option<String> {
        use base64::Engine;
        let claims = self.claims()?;
        let encoded = base64::engine::general_purpose::STANDARD.encode(claims);
        Some(format!(
            "Bearer error=\"insufficient_claims\", claims=\"{encoded}\""
        ))
    }

    /// The parsed Entra ID error, when the token endpoint sent one.
    pub fn entra_error(&self) -> Option<&EntraError> {
        match self {
            AuthError::Service { error, .. } => Some(error),
            _ => None,
        }
    }

    /// The OAuth error code (`invalid_client`, ...), when the token endpoint sent one.
    pub fn error_code(&self) -> Option<&str> {
        self.entra_error().map(|e| e.error.as_str())
    }

    /// The HTTP status of the token endpoint's answer, when there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            AuthError::InvalidResponse { status, .. }
            | AuthError::Throttled { status, .. }
            | AuthError::Service { status, .. }
            | AuthError::Redirected { status, .. }
            | AuthError::ManagedIdentity { status, .. }
            | AuthError::ResponseTooLarge { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// How long the token endpoint asked to wait (`Retry-After`), when it said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            AuthError::InvalidResponse { retry_after, .. }
            | AuthError::Throttled { retry_after, .. }
            | AuthError::ManagedIdentity { retry_after, .. }
            | AuthError::Service { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The failures of each credential when a chain failed.
    pub fn chain_attempts(&self) -> &[ChainAttempt] {
        match self {
            AuthError::Chain(attempts) => attempts,
            _ => &[],
        }
    }

    pub(crate) fn config(message: impl Into<String>) -> Self {
        AuthError::Configuration(message.into())
    }
}

fn retryable_status(status: u16) -> bool {
    status >= 500 || status == 429 || status == 408
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(error: &str, suberror: Option<&str>, codes: &[u64], status: u16) -> AuthError {
        AuthError::Service {
            status,
            error: Box::new(EntraError {
                error: error.into(),
                suberror: suberror.map(Into::into),
                error_codes: codes.to_vec(),
                ..EntraError::default()
            }),
            retry_after: None,
        }
    }

    #[test]
    fn classification_follows_entra_rules() {
        assert!(service("interaction_required", None, &[50079], 400).is_interaction_required());
        assert!(service("invalid_grant", None, &[50173], 400).is_interaction_required());
        assert!(service("invalid_grant", None, &[500133], 400).is_interaction_required());
        let mismatch = service("invalid_grant", Some("client_mismatch"), &[], 400);
        assert!(!mismatch.is_interaction_required());
        assert!(service("invalid_client", None, &[7000215], 401).is_configuration());
        assert!(service("invalid_scope", None, &[70011], 400).is_configuration());
        assert!(!service("invalid_scope", None, &[70011], 400).is_retryable());
        assert!(service("temporarily_unavailable", None, &[], 400).is_retryable());
        assert!(service("server_error", None, &[], 503).is_retryable());
        assert!(!service("interaction_required", None, &[], 400).is_retryable());
        assert!(
            AuthError::Transport {
                message: "x".into(),
                timeout: true
            }
            .is_timeout()
        );
    }

    #[test]
    fn claims_become_a_www_authenticate_challenge() {
        let err = AuthError::Service {
            status: 400,
            error: Box::new(EntraError {
                error: "interaction_required".into(),
                claims: Some("{\"access_token\":{}}".into()),
                ..EntraError::default()
            }),
            retry_after: None,
        };
        assert_eq!(
            err.www_authenticate_challenge().as_deref(),
            Some("Bearer error=\"insufficient_claims\", claims=\"eyJhY2Nlc3NfdG9rZW4iOnt9fQ==\"")
        );
        assert!(
            AuthError::Internal("x".into())
                .www_authenticate_challenge()
                .is_none()
        );
    }

    #[test]
    fn display_keeps_first_description_line_and_ids() {
        let err = AuthError::Service {
            status: 400,
            error: Box::new(EntraError {
                error: "invalid_client".into(),
                error_description: Some(
                    "AADSTS7000215: Invalid client secret.\r\nTrace ID: t".into(),
                ),
                error_codes: vec![7000215],
                trace_id: Some("trace-1".into()),
                correlation_id: Some("corr-1".into()),
                ..EntraError::default()
            }),
            retry_after: None,
        };
        let shown = err.to_string();
        assert!(
            shown.contains("AADSTS7000215: Invalid client secret."),
            "{shown}"
        );
        assert!(shown.contains("trace_id=trace-1") && shown.contains("correlation_id=corr-1"));
        assert!(!shown.contains("Trace ID: t"), "{shown}");
    }
}
