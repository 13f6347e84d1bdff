//! The HTTP client the SDK sends everything with, token requests and Graph requests alike.
//!
//! [`HttpClient`] wraps a `reqwest::Client` that is guaranteed never to follow redirects. A
//! token request carries client secrets, client assertions, refresh tokens, authorization
//! codes with their PKCE verifiers and users' assertions: a client that followed a 307 or 308
//! would post that form again to wherever `Location` points, before the SDK saw the answer.
//! And a Graph request carries `Authorization`, which reqwest's own redirect policy keeps when
//! only the scheme changes. So your configuration (proxy, TLS roots, timeouts) is given as a
//! `reqwest::ClientBuilder` or a closure over one, and the SDK switches redirects off *after*
//! applying it: no configuration can turn them back on. Graph redirects are followed by the
//! SDK's own pipeline, which drops credentials across origins; a redirect from a token
//! endpoint is an error.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;

/// The HTTP library whose `ClientBuilder` [`HttpClient::with_config`] takes.
pub use reqwest;

/// Default timeout of a whole request.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(100);
/// Default timeout to establish a connection.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// A `reqwest::Client` that never follows redirects; cheap to clone (clones share one
/// connection pool). Give the same one to the Graph client and to credentials so that token
/// and Graph traffic share the route (proxy, TLS) and the pool.
///
/// ```
/// use msgraph_typed_auth::HttpClient;
/// use std::time::Duration;
///
/// # fn demo() -> Result<(), msgraph_typed_auth::HttpClientError> {
/// // The SDK's defaults (100 s per request, 30 s to connect, gzip) plus your settings.
/// let http = HttpClient::with_config(|builder| {
///     builder
///         .timeout(Duration::from_secs(30))
///         // Even this cannot make the SDK follow redirects: it is overridden.
///         .redirect(reqwest::redirect::Policy::limited(10))
/// })?;
/// # let _ = http; Ok(()) }
/// ```
#[derive(Clone)]
pub struct HttpClient {
    client: reqwest::Client,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HttpClient { redirects: never }")
    }
}

/// The HTTP client could not be built (for example the TLS backend failed to initialise or a
/// proxy URL is invalid).
#[derive(Debug, Clone)]
pub struct HttpClientError(String);

impl fmt::Display for HttpClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "could not build the HTTP client: {}", self.0)
    }
}

impl std::error::Error for HttpClientError {}

impl HttpClient {
    /// The SDK's defaults: rustls, 100 s per request, 30 s to connect, gzip, no redirects.
    ///
    /// # Errors
    /// [`HttpClientError`] when the TLS backend cannot be initialised.
    pub fn new() -> Result<Self, HttpClientError> {
        Self::with_config(|builder| builder)
    }

    /// The defaults of [`HttpClient::new`], then `configure` (proxy, TLS roots, timeouts, ...);
    /// redirects are switched off last, whatever `configure` set.
    ///
    /// # Errors
    /// [`HttpClientError`] when reqwest cannot build the client.
    pub fn with_config(
        configure: impl FnOnce(reqwest::ClientBuilder) -> reqwest::ClientBuilder,
    ) -> Result<Self, HttpClientError> {
        let defaults = reqwest::Client::builder()
            .timeout(DEFAULT_REQUEST_TIMEOUT)
            .connect_timeout(DEFAULT_CONNECT_TIMEOUT)
            .gzip(true);
        Self::from_builder(configure(defaults))
    }

    /// A client from your own builder (no SDK defaults); redirects are switched off last.
    ///
    /// # Errors
    /// [`HttpClientError`] when reqwest cannot build the client.
    pub fn from_builder(builder: reqwest::ClientBuilder) -> Result<Self, HttpClientError> {
        let client = builder
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| HttpClientError(e.without_url().to_string()))?;
        Ok(Self { client })
    }

    /// The underlying reqwest client (it does not follow redirects).
    pub fn reqwest(&self) -> &reqwest::Client {
        &self.client
    }
}

/// Why a body could not be read whole.
#[derive(Debug)]
#[non_exhaustive]
pub enum ReadBodyError {
    /// The body is larger than the limit; nothing beyond the limit was read.
    TooLarge {
        /// The limit in bytes.
        limit: usize,
        /// The `Content-Length` the server declared, when it did.
        declared: Option<u64>,
    },
    /// The connection failed while the body was arriving.
    Transport(reqwest::Error),
}

impl fmt::Display for ReadBodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadBodyError::TooLarge {
                limit,
                declared: Some(declared),
            } => write!(
                f,
                "the response body of {declared} bytes exceeds the limit of {limit} bytes"
            ),
            ReadBodyError::TooLarge {
                limit,
                declared: None,
            } => write!(f, "the response body exceeds the limit of {limit} bytes"),
            ReadBodyError::Transport(e) => {
                write!(f, "the connection failed while reading the body: {e}")
            }
        }
    }
}

impl std::error::Error for ReadBodyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReadBodyError::Transport(e) => Some(e),
            ReadBodyError::TooLarge { .. } => None,
        }
    }
}

/// Reads a whole (decompressed) response body, refusing more than `limit` bytes: a declared
/// `Content-Length` above the limit is refused before anything is read, and a body without one
/// is read chunk by chunk until it ends or passes the limit. Memory use is bounded by the limit
/// whatever the server sends (a gzip bomb included: the limit counts decompressed bytes).
///
/// # Errors
/// [`ReadBodyError::TooLarge`], or [`ReadBodyError::Transport`] when the connection fails.
pub async fn read_body_limited(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Bytes, ReadBodyError> {
    let declared = response.content_length();
    if let Some(declared) = declared
        && declared > limit as u64
    {
        return Err(ReadBodyError::TooLarge {
            limit,
            declared: Some(declared),
        });
    }
    // Reserve what the server declared (bounded by the limit just checked), else grow by
    // doubling, never past the limit: the buffer is at most `limit` bytes.
    let mut body: Vec<u8> = Vec::with_capacity(declared.map_or(0, |d| d as usize));
    while let Some(chunk) = response.chunk().await.map_err(ReadBodyError::Transport)? {
        let needed = body.len() + chunk.len();
        if needed > limit {
            return Err(ReadBodyError::TooLarge { limit, declared });
        }
        if body.is_empty() && declared == Some(chunk.len() as u64) {
            // The whole body in one chunk: no copy.
            return Ok(chunk);
        }
        if needed > body.capacity() {
            let target = (body.capacity() * 2).clamp(needed, limit);
            body.reserve_exact(target - body.len());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(body))
}
