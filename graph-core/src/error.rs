//! The one error type of the SDK: service errors (a response arrived) kept apart from
//! transport, auth, decode and client-side errors.
//!
//! Decide on [`Error::code`] (the Graph `error.code`) or on the `is_*()` predicates, never on
//! the message text.

use std::fmt;
use std::time::Duration;

use http::{HeaderMap, StatusCode};

mod service;

use service::truncate;
pub use service::{ErrorDetail, InnerError, ODataError, ServiceError};

/// A `Result` whose error defaults to [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong with a Graph request.
///
/// Cheap to move (one box). `Display` alone is enough to debug a service error: it shows the
/// HTTP status, the Graph code and message, `request-id`, `client-request-id`, `date`,
/// `x-ms-ags-diagnostic`, `Retry-After` and the inner details. It never shows a token.
///
/// Decide with the predicates and accessors, never on the message text:
///
/// ```
/// # async fn demo(client: msgraph_typed_core::Client) -> msgraph_typed_core::Result<()> {
/// match client.entity::<serde_json::Value>("users/nobody@contoso.com").send().await {
///     Ok(user) => println!("{user}"),
///     Err(e) if e.is_not_found() => println!("no such user"),
///     Err(e) if e.is_throttled() => println!("try again in {:?}", e.retry_after()),
///     Err(e) if e.auth_error().is_some_and(|a| a.is_interaction_required()) => {
///         println!("the user must sign in again");
///     }
///     Err(e) => return Err(e), // Display: status, code, message, request ids, date
/// }
/// # Ok(()) }
/// ```
pub struct Error {
    kind: Box<ErrorKind>,
}

/// What kind of failure an [`Error`] is. Prefer the `is_*()` predicates on [`Error`]; this enum
/// is exposed for exhaustive reporting and may grow.
#[derive(Debug)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Graph answered with a non-success status (the request was received).
    Service(ServiceError),
    /// Graph answered 429, 503 or 504 and the retry policy is set to return instead of waiting
    /// (see [`crate::RetryOptions::throttle_mode`]). When retries run out (count or total
    /// budget) the last answer is a plain [`ErrorKind::Service`] error instead, whose
    /// [`Error::retry_after`] still reads its `Retry-After`.
    Throttled {
        /// How long the service asked to wait, when it said so (or the computed backoff).
        retry_after: Option<Duration>,
        /// The throttling response itself.
        error: ServiceError,
    },
    /// No response was received: DNS, connect, TLS, timeout, a dropped connection or a body
    /// that could not be read.
    Transport(TransportError),
    /// The credential could not produce a token (see [`msgraph_typed_auth::AuthError`]).
    Auth(msgraph_typed_auth::AuthError),
    /// A success response whose body did not match the expected type.
    Decode(DecodeError),
    /// A redirect could not be followed safely (missing `Location`, scheme downgrade, too many).
    Redirect(String),
    /// The response body was larger than the limit (see
    /// [`crate::ClientBuilder::max_response_bytes`]); it was not read beyond the limit.
    ResponseTooLarge {
        /// The status of the response.
        status: StatusCode,
        /// The limit in bytes.
        limit: usize,
        /// The `Content-Length` the server declared, when it did.
        declared: Option<u64>,
    },
    /// Paging could not go on (a next link seen twice, a next link that is not a URL).
    Paging(String),
    /// The request could not be built or the client is misconfigured (bad URL, a body that
    /// does not serialise, an invalid header, an invalid batch).
    InvalidRequest(String),
}

/// A failure below HTTP: no complete response arrived. It tells how far the exchange got, so
/// the caller knows whether the request may have been processed.
#[derive(Debug)]
pub struct TransportError {
    message: String,
    timeout: bool,
    connect: bool,
    connection_lost: bool,
    response_started: bool,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl TransportError {
    /// A transport failure with a message and an optional cause.
    pub fn new(
        message: impl Into<String>,
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self {
            message: message.into(),
            timeout: false,
            connect: false,
            connection_lost: false,
            response_started: false,
            source,
        }
    }

    /// Marks the failure as a timeout.
    #[must_use]
    pub fn with_timeout(mut self, timeout: bool) -> Self {
        self.timeout = timeout;
        self
    }

    /// Marks the failure as happening while connecting (the request was not sent).
    #[must_use]
    pub fn with_connect(mut self, connect: bool) -> Self {
        self.connect = connect;
        self
    }

    /// Marks the failure as the connection being reset or closed after the request was sent
    /// and before any byte of a response arrived.
    #[must_use]
    pub fn with_connection_lost(mut self, lost: bool) -> Self {
        self.connection_lost = lost;
        self
    }

    /// Marks the failure as happening while the response body arrived (the status and
    /// headers had been received, so the request was processed).
    #[must_use]
    pub fn with_response_started(mut self, started: bool) -> Self {
        self.response_started = started;
        self
    }

    /// What went wrong.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether the connection could not be established: the request was not sent.
    pub fn is_connect(&self) -> bool {
        self.connect
    }

    /// Whether the request timed out.
    pub fn is_timeout(&self) -> bool {
        self.timeout
    }

    /// Whether the connection was reset or closed before any response byte arrived.
    pub fn is_connection_lost(&self) -> bool {
        self.connection_lost
    }

    /// Whether a response had started to arrive (the failure cut its body short).
    pub fn response_started(&self) -> bool {
        self.response_started
    }

    /// Whether the service may have processed the request: `false` only when the connection
    /// could not be established.
    pub fn may_have_been_processed(&self) -> bool {
        !self.connect
    }

    fn outcome(&self) -> &'static str {
        if self.connect {
            "the request was not sent"
        } else if self.response_started {
            "the request was processed: the response had started"
        } else {
            "the request may have been processed"
        }
    }
}

/// A success response whose body could not be decoded into the expected type.
#[derive(Debug, Clone)]
pub struct DecodeError {
    status: StatusCode,
    request_id: Option<String>,
    message: String,
    body_excerpt: String,
}

impl DecodeError {
    /// A body of a success response that did not decode.
    pub(crate) fn new(
        status: StatusCode,
        headers: &HeaderMap,
        message: impl Into<String>,
        body: &[u8],
    ) -> Self {
        let body = String::from_utf8_lossy(body);
        Self {
            status,
            request_id: headers
                .get("request-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            message: message.into(),
            body_excerpt: truncate(&body, 512).to_string(),
        }
    }

    /// What did not match.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl Error {
    pub(crate) fn new(kind: ErrorKind) -> Self {
        Self {
            kind: Box::new(kind),
        }
    }

    /// A service error from a non-success response.
    pub fn service(status: StatusCode, headers: HeaderMap, body: &[u8]) -> Self {
        Self::new(ErrorKind::Service(ServiceError::from_response(
            status, headers, body,
        )))
    }

    /// A transport error (no response).
    pub fn transport(error: TransportError) -> Self {
        Self::new(ErrorKind::Transport(error))
    }

    /// The same failure again, for each of several requests that shared it (the items of a
    /// `$batch` whose call failed). A transport failure keeps its message and what it says
    /// about how far the exchange got, not its source.
    pub(crate) fn replicate(&self) -> Error {
        let kind = match self.kind() {
            ErrorKind::Service(error) => ErrorKind::Service(error.clone()),
            ErrorKind::Throttled { retry_after, error } => ErrorKind::Throttled {
                retry_after: *retry_after,
                error: error.clone(),
            },
            ErrorKind::Transport(error) => ErrorKind::Transport(
                TransportError::new(error.message.clone(), None)
                    .with_timeout(error.timeout)
                    .with_connect(error.connect)
                    .with_connection_lost(error.connection_lost)
                    .with_response_started(error.response_started),
            ),
            ErrorKind::Auth(error) => ErrorKind::Auth(error.clone()),
            ErrorKind::Decode(error) => ErrorKind::Decode(error.clone()),
            ErrorKind::Redirect(message) => ErrorKind::Redirect(message.clone()),
            ErrorKind::ResponseTooLarge {
                status,
                limit,
                declared,
            } => ErrorKind::ResponseTooLarge {
                status: *status,
                limit: *limit,
                declared: *declared,
            },
            ErrorKind::Paging(message) => ErrorKind::Paging(message.clone()),
            ErrorKind::InvalidRequest(message) => ErrorKind::InvalidRequest(message.clone()),
        };
        Error::new(kind)
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidRequest(message.into()))
    }

    pub(crate) fn decode(
        status: StatusCode,
        headers: &HeaderMap,
        message: impl Into<String>,
        body: &[u8],
    ) -> Self {
        Self::new(ErrorKind::Decode(DecodeError::new(
            status, headers, message, body,
        )))
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// The service error, for a service or throttled error.
    pub fn service_error(&self) -> Option<&ServiceError> {
        match &*self.kind {
            ErrorKind::Service(e) | ErrorKind::Throttled { error: e, .. } => Some(e),
            _ => None,
        }
    }

    /// The credential's error, for an auth error.
    pub fn auth_error(&self) -> Option<&msgraph_typed_auth::AuthError> {
        match &*self.kind {
            ErrorKind::Auth(e) => Some(e),
            _ => None,
        }
    }

    /// Whether Graph answered with an error status (throttled answers included).
    pub fn is_service(&self) -> bool {
        self.service_error().is_some()
    }

    /// Whether no response arrived (network, TLS, timeout).
    pub fn is_transport(&self) -> bool {
        matches!(&*self.kind, ErrorKind::Transport(_))
    }

    /// Whether the transport failed while connecting, so the request was never sent.
    pub fn is_connect(&self) -> bool {
        matches!(&*self.kind, ErrorKind::Transport(t) if t.connect)
    }

    /// Whether the connection was reset or closed after the request was sent and before any
    /// response byte arrived.
    pub fn is_connection_lost(&self) -> bool {
        matches!(&*self.kind, ErrorKind::Transport(t) if t.connection_lost)
    }

    /// Whether the service may have processed the request: `true` when a response arrived
    /// (an error status, a body that did not decode or was too large) or when the connection
    /// failed after the request was sent; `false` when it was never sent (connect failure,
    /// no token, a request that could not be built). Decide with it whether a non-idempotent
    /// request (a POST) is safe to send again.
    pub fn request_may_have_been_processed(&self) -> bool {
        match &*self.kind {
            ErrorKind::Service(_)
            | ErrorKind::Throttled { .. }
            | ErrorKind::Decode(_)
            | ErrorKind::ResponseTooLarge { .. } => true,
            ErrorKind::Transport(t) => t.may_have_been_processed(),
            _ => false,
        }
    }

    /// Whether the response body was larger than the client's limit.
    pub fn is_response_too_large(&self) -> bool {
        matches!(&*self.kind, ErrorKind::ResponseTooLarge { .. })
    }

    /// A failure the retry stage may retry on an idempotent request: refused, or lost before
    /// any response byte, and not a timeout.
    pub(crate) fn is_retryable_transport(&self) -> bool {
        matches!(&*self.kind, ErrorKind::Transport(t)
            if (t.connect || t.connection_lost) && !t.timeout && !t.response_started)
    }

    /// Whether the request timed out.
    pub fn is_timeout(&self) -> bool {
        matches!(&*self.kind, ErrorKind::Transport(t) if t.timeout)
    }

    /// Whether no token could be obtained from the credential.
    pub fn is_auth(&self) -> bool {
        matches!(&*self.kind, ErrorKind::Auth(_))
    }

    /// Whether a success body did not decode into the expected type.
    pub fn is_decode(&self) -> bool {
        matches!(&*self.kind, ErrorKind::Decode(_))
    }

    /// Whether a redirect was refused or could not be followed.
    pub fn is_redirect(&self) -> bool {
        matches!(&*self.kind, ErrorKind::Redirect(_))
    }

    /// Whether paging stopped (for example a next link returned twice).
    pub fn is_paging(&self) -> bool {
        matches!(&*self.kind, ErrorKind::Paging(_))
    }

    /// Whether the request could not be built or the client is misconfigured.
    pub fn is_invalid_request(&self) -> bool {
        matches!(&*self.kind, ErrorKind::InvalidRequest(_))
    }

    /// Whether Graph throttled the request and the SDK did not (or could no longer) wait.
    pub fn is_throttled(&self) -> bool {
        matches!(&*self.kind, ErrorKind::Throttled { .. })
    }

    /// Whether Graph answered 401 (after the single forced refresh the pipeline makes).
    pub fn is_unauthorized(&self) -> bool {
        self.status() == Some(StatusCode::UNAUTHORIZED)
    }

    /// Whether Graph answered 403.
    pub fn is_forbidden(&self) -> bool {
        self.status() == Some(StatusCode::FORBIDDEN)
    }

    /// Whether Graph answered 404.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(StatusCode::NOT_FOUND)
    }

    /// Whether Graph answered 409 Conflict (for example an upload with the conflict behaviour
    /// `fail` onto a name that exists: code `nameAlreadyExists`).
    pub fn is_conflict(&self) -> bool {
        self.status() == Some(StatusCode::CONFLICT)
    }

    /// Whether Graph answered 416 Range Not Satisfiable (a download range past the end, or an
    /// upload slice that does not start where the session expects).
    pub fn is_range_not_satisfiable(&self) -> bool {
        self.status() == Some(StatusCode::RANGE_NOT_SATISFIABLE)
    }

    /// Whether a delta sync must restart from scratch: `syncStateNotFound`, `resyncRequired`
    /// or 410 Gone.
    pub fn is_resync_required(&self) -> bool {
        let Some(service) = self.service_error() else {
            return false;
        };
        let code_says = |code: &str| {
            code.eq_ignore_ascii_case("syncStateNotFound")
                || code.eq_ignore_ascii_case("resyncRequired")
                || code.eq_ignore_ascii_case("syncStateInvalid")
        };
        service.status() == StatusCode::GONE
            || service.code().is_some_and(code_says)
            || service.inner_codes().into_iter().any(code_says)
    }

    /// Whether the error carries a CAE claims challenge (`insufficient_claims`) that the
    /// pipeline did not answer (CAE off, or already answered once). See [`Error::claims_challenge`].
    pub fn is_claims_challenge(&self) -> bool {
        self.claims_challenge().is_some()
    }

    /// The decoded claims of a CAE challenge in `WWW-Authenticate`, for passing to a credential
    /// or back to a client.
    pub fn claims_challenge(&self) -> Option<String> {
        let service = self.service_error()?;
        crate::pipeline::auth::claims_challenge(service.status(), service.headers())
    }

    /// The HTTP status, when a response arrived.
    pub fn status(&self) -> Option<StatusCode> {
        match &*self.kind {
            ErrorKind::Decode(d) => Some(d.status),
            ErrorKind::ResponseTooLarge { status, .. } => Some(*status),
            _ => self.service_error().map(ServiceError::status),
        }
    }

    /// The Graph error code, e.g. `Request_ResourceNotFound`.
    pub fn code(&self) -> Option<&str> {
        self.service_error().and_then(ServiceError::code)
    }

    /// The Graph error message.
    pub fn message(&self) -> Option<&str> {
        self.service_error().and_then(ServiceError::message)
    }

    /// The `request-id` Graph assigned, when a response arrived.
    pub fn request_id(&self) -> Option<&str> {
        match &*self.kind {
            ErrorKind::Decode(d) => d.request_id.as_deref(),
            _ => self.service_error().and_then(ServiceError::request_id),
        }
    }

    /// The `client-request-id` of the failed request, when Graph echoed it.
    pub fn client_request_id(&self) -> Option<&str> {
        self.service_error()
            .and_then(ServiceError::client_request_id)
    }

    /// The date of the error, when Graph said.
    pub fn date(&self) -> Option<&str> {
        self.service_error().and_then(ServiceError::date)
    }

    /// How long to wait before trying again: the `Throttled` delay, else the response's
    /// `Retry-After` (delta-seconds, decimal seconds or an HTTP-date).
    pub fn retry_after(&self) -> Option<Duration> {
        match &*self.kind {
            ErrorKind::Throttled { retry_after, .. } => *retry_after,
            ErrorKind::Service(e) => e.retry_after_header().and_then(|value| {
                crate::pipeline::retry::parse_retry_after(value, std::time::SystemTime::now())
            }),
            _ => None,
        }
    }

    /// The response headers, when a response arrived.
    pub fn headers(&self) -> Option<&HeaderMap> {
        self.service_error().map(ServiceError::headers)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.kind {
            ErrorKind::Service(e) => e.fmt(f),
            ErrorKind::Throttled { retry_after, error } => {
                write!(f, "throttled")?;
                if let Some(wait) = retry_after {
                    write!(f, " (retry after {:.3} s)", wait.as_secs_f64())?;
                }
                write!(f, ": {error}")
            }
            ErrorKind::Transport(t) => {
                write!(f, "transport error: {} ({})", t.message, t.outcome())?;
                if let Some(source) = &t.source {
                    write!(f, ": {source}")?;
                }
                Ok(())
            }
            ErrorKind::ResponseTooLarge {
                status,
                limit,
                declared,
            } => {
                write!(f, "the HTTP {} response body ", status.as_u16())?;
                if let Some(declared) = declared {
                    write!(f, "of {declared} bytes ")?;
                }
                write!(f, "exceeds the limit of {limit} bytes")
            }
            ErrorKind::Auth(e) => write!(f, "could not get a token: {e}"),
            ErrorKind::Decode(d) => {
                write!(
                    f,
                    "could not decode the HTTP {} response: {}",
                    d.status.as_u16(),
                    d.message
                )?;
                if let Some(id) = &d.request_id {
                    write!(f, " (request-id: {id})")?;
                }
                if !d.body_excerpt.is_empty() {
                    write!(f, "; body starts: {}", d.body_excerpt)?;
                }
                Ok(())
            }
            ErrorKind::Redirect(m) => write!(f, "redirect refused: {m}"),
            ErrorKind::Paging(m) => write!(f, "paging stopped: {m}"),
            ErrorKind::InvalidRequest(m) => write!(f, "invalid request: {m}"),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.kind, f)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &*self.kind {
            ErrorKind::Auth(e) => Some(e),
            ErrorKind::Transport(t) => t
                .source
                .as_deref()
                .map(|s| s as &(dyn std::error::Error + 'static)),
            _ => None,
        }
    }
}

impl From<msgraph_typed_auth::AuthError> for Error {
    fn from(error: msgraph_typed_auth::AuthError) -> Self {
        Self::new(ErrorKind::Auth(error))
    }
}

impl From<msgraph_typed_auth::HttpClientError> for Error {
    fn from(error: msgraph_typed_auth::HttpClientError) -> Self {
        Self::invalid(error.to_string())
    }
}

impl From<TransportError> for Error {
    fn from(error: TransportError) -> Self {
        Self::transport(error)
    }
}
