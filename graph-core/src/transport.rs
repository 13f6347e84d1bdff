//! The one trait all I/O goes through, its reqwest implementation, and the
//! request/response values that travel through the pipeline.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures::TryStreamExt;
use futures::stream::BoxStream;
use http::{HeaderMap, Method, StatusCode};
use parking_lot::Mutex;
use url::Url;

use msgraph_typed_auth::HttpClient;
use msgraph_typed_auth::http_client::{ReadBodyError, read_body_limited};

use crate::error::{Error, ErrorKind, Result, TransportError};

/// Sends one HTTP request and returns the whole response. Implement it to plug in another
/// HTTP stack; [`ReqwestTransport`] is the default and `MockTransport` (feature `test-util`)
/// serves canned answers.
///
/// Implementations must not follow redirects or retry: the pipeline does both.
#[async_trait]
pub trait Transport: Send + Sync + fmt::Debug {
    /// Sends `request` once.
    ///
    /// # Errors
    /// A transport error ([`Error::is_transport`]) when no response arrived.
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse>;
}

/// A request body. Bytes can be sent again (retries, redirects, 401 handling); a stream can be
/// sent once, so a request with a stream body is never retried.
pub struct Body {
    inner: BodyInner,
}

enum BodyInner {
    Empty,
    Bytes(Bytes),
    Stream(Arc<Mutex<Option<BoxStream<'static, std::io::Result<Bytes>>>>>),
}

impl Body {
    /// No body.
    pub fn empty() -> Self {
        Self {
            inner: BodyInner::Empty,
        }
    }

    /// A buffered, replayable body.
    pub fn from_bytes(bytes: impl Into<Bytes>) -> Self {
        Self {
            inner: BodyInner::Bytes(bytes.into()),
        }
    }

    /// A streaming body that can be sent only once (never retried or redirected with its body).
    pub fn from_stream(stream: BoxStream<'static, std::io::Result<Bytes>>) -> Self {
        Self {
            inner: BodyInner::Stream(Arc::new(Mutex::new(Some(stream)))),
        }
    }

    /// Whether the body can be sent again.
    pub fn is_replayable(&self) -> bool {
        !matches!(self.inner, BodyInner::Stream(_))
    }

    /// Whether there is no body.
    pub fn is_empty(&self) -> bool {
        match &self.inner {
            BodyInner::Empty => true,
            BodyInner::Bytes(b) => b.is_empty(),
            BodyInner::Stream(_) => false,
        }
    }

    /// The bytes of a buffered body.
    pub fn as_bytes(&self) -> Option<&Bytes> {
        match &self.inner {
            BodyInner::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// A copy for another attempt, or `None` for a stream.
    pub fn try_clone(&self) -> Option<Body> {
        match &self.inner {
            BodyInner::Empty => Some(Body::empty()),
            BodyInner::Bytes(b) => Some(Body::from_bytes(b.clone())),
            BodyInner::Stream(_) => None,
        }
    }

    /// Takes the stream of a streaming body (only once).
    pub fn take_stream(&self) -> Option<BoxStream<'static, std::io::Result<Bytes>>> {
        match &self.inner {
            BodyInner::Stream(s) => s.lock().take(),
            _ => None,
        }
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            BodyInner::Empty => f.write_str("Body::Empty"),
            BodyInner::Bytes(b) => write!(f, "Body::Bytes({} bytes)", b.len()),
            BodyInner::Stream(_) => f.write_str("Body::Stream"),
        }
    }
}

/// An HTTP request as it travels through the pipeline.
#[derive(Debug)]
#[non_exhaustive]
pub struct HttpRequest {
    /// The method.
    pub method: Method,
    /// The absolute URL.
    pub url: Url,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Body,
    /// A timeout for this request, overriding the transport's default.
    pub timeout: Option<Duration>,
    /// The largest response body to read, in bytes; a larger one is an error with
    /// [`Error::is_response_too_large`]. The pipeline sets it from the client's limit
    /// ([`DEFAULT_MAX_RESPONSE_BYTES`] unless configured); `None` means that default.
    pub max_response_bytes: Option<usize>,
    /// Hand a success response's body over as a stream ([`HttpResponse::take_stream`]) instead
    /// of reading it whole (downloads). Error answers are still read whole, within the limit.
    /// Transports that cannot stream read the body as usual.
    pub stream_response: bool,
}

impl HttpRequest {
    /// A request with no headers and no body.
    pub fn new(method: Method, url: Url) -> Self {
        Self {
            method,
            url,
            headers: HeaderMap::new(),
            body: Body::empty(),
            timeout: None,
            max_response_bytes: None,
            stream_response: false,
        }
    }

    /// A copy for another attempt, or `None` when the body is a stream.
    pub fn try_clone(&self) -> Option<HttpRequest> {
        Some(HttpRequest {
            method: self.method.clone(),
            url: self.url.clone(),
            headers: self.headers.clone(),
            body: self.body.try_clone()?,
            timeout: self.timeout,
            max_response_bytes: self.max_response_bytes,
            stream_response: self.stream_response,
        })
    }

    /// The body limit that applies to this request's response.
    pub fn response_limit(&self) -> usize {
        self.max_response_bytes
            .unwrap_or(DEFAULT_MAX_RESPONSE_BYTES)
    }
}

/// A response body handed over as it arrives (see [`HttpRequest::stream_response`]).
pub type BodyStream = BoxStream<'static, Result<Bytes>>;

/// An HTTP response. The body is buffered (one page at a time is in memory), except a
/// success answer to a request with [`HttpRequest::stream_response`], whose body is a stream.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct HttpResponse {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The (decompressed) body; empty when the body is streamed.
    pub body: Bytes,
    stream: StreamSlot,
}

/// The streamed body, taken once.
#[derive(Clone, Default)]
struct StreamSlot(Option<Arc<Mutex<Option<BodyStream>>>>);

impl fmt::Debug for StreamSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "Some(stream)"
        } else {
            "None"
        })
    }
}

impl HttpResponse {
    /// A response with a status, no headers and an empty body.
    pub fn new(status: StatusCode) -> Self {
        Self::with_body(status, HeaderMap::new(), Bytes::new())
    }

    /// A response with a status, headers and a buffered body.
    pub fn with_body(status: StatusCode, headers: HeaderMap, body: Bytes) -> Self {
        Self {
            status,
            headers,
            body,
            stream: StreamSlot::default(),
        }
    }

    /// A response whose body arrives as `stream`.
    pub fn with_stream(status: StatusCode, headers: HeaderMap, stream: BodyStream) -> Self {
        Self {
            status,
            headers,
            body: Bytes::new(),
            stream: StreamSlot(Some(Arc::new(Mutex::new(Some(stream))))),
        }
    }

    /// Takes the streamed body (once); `None` when the body was buffered.
    pub fn take_stream(&self) -> Option<BodyStream> {
        self.stream.0.as_ref().and_then(|slot| slot.lock().take())
    }

    /// A header value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Default timeout for a whole request.
pub const DEFAULT_REQUEST_TIMEOUT: Duration =
    msgraph_typed_auth::http_client::DEFAULT_REQUEST_TIMEOUT;
/// Default connect timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration =
    msgraph_typed_auth::http_client::DEFAULT_CONNECT_TIMEOUT;
/// Default limit on a response body Graph sends, in bytes (64 MiB): well above Graph's
/// largest pages (999 users with every property are a few megabytes) and a full `$batch` of
/// 20 of them.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

/// The default transport: reqwest with rustls, gzip, 100 s per request, 30 s to connect, no
/// redirects (the pipeline follows them safely), bodies read up to the request's limit.
#[derive(Debug, Clone)]
pub struct ReqwestTransport {
    client: HttpClient,
}

impl ReqwestTransport {
    /// A transport with the defaults above.
    ///
    /// # Errors
    /// An invalid-request error when the TLS backend cannot be initialised.
    pub fn new() -> Result<Self> {
        Ok(Self {
            client: HttpClient::new().map_err(|e| Error::invalid(e.to_string()))?,
        })
    }

    /// Uses a caller's client (proxy, TLS roots, timeouts); an [`HttpClient`] never follows
    /// redirects, so the pipeline's rules apply (credentials dropped across origins, no
    /// downgrade).
    pub fn with_client(client: HttpClient) -> Self {
        Self { client }
    }

    /// The underlying client (also used for token traffic).
    pub fn client(&self) -> &HttpClient {
        &self.client
    }
}

/// Whether a failure before the response is the connection going away (reset, aborted,
/// closed early), as opposed to, for example, a protocol error.
fn is_connection_lost(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = cause {
        if let Some(io) = current.downcast_ref::<std::io::Error>()
            && matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::ConnectionAborted
                    | std::io::ErrorKind::BrokenPipe
                    | std::io::ErrorKind::UnexpectedEof
                    | std::io::ErrorKind::NotConnected
            )
        {
            return true;
        }
        if let Some(hyper) = current.downcast_ref::<hyper::Error>()
            && (hyper.is_incomplete_message() || hyper.is_closed() || hyper.is_canceled())
        {
            return true;
        }
        cause = current.source();
    }
    false
}

/// Maps a failure of `send()` (no response yet).
fn map_send_error(error: reqwest::Error) -> Error {
    let timeout = error.is_timeout();
    let connect = error.is_connect() && !timeout;
    let lost = !connect && !timeout && is_connection_lost(&error);
    // reqwest's Display includes the URL; strip it so query values (PII) stay out of errors.
    let error = error.without_url();
    let message = if timeout {
        "the request timed out"
    } else if connect {
        "could not connect"
    } else if lost {
        "the connection was closed before a response arrived"
    } else {
        "the request failed"
    };
    Error::transport(
        TransportError::new(message, Some(Box::new(error)))
            .with_timeout(timeout)
            .with_connect(connect)
            .with_connection_lost(lost),
    )
}

/// Maps a failure while the body arrived (the status and headers had come).
fn map_body_error(error: reqwest::Error) -> Error {
    let timeout = error.is_timeout();
    Error::transport(
        TransportError::new(
            if timeout {
                "the response body timed out"
            } else {
                "the connection failed while the response body arrived"
            },
            Some(Box::new(error.without_url())),
        )
        .with_timeout(timeout)
        .with_response_started(true),
    )
}

#[async_trait]
impl Transport for ReqwestTransport {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse> {
        let limit = request.response_limit();
        let HttpRequest {
            method,
            url,
            headers,
            body,
            timeout,
            stream_response,
            ..
        } = request;
        let mut builder = self.client.reqwest().request(method, url).headers(headers);
        if let Some(timeout) = timeout {
            builder = builder.timeout(timeout);
        }
        if let Some(bytes) = body.as_bytes() {
            builder = builder.body(bytes.clone());
        } else if let Some(stream) = body.take_stream() {
            builder =
                builder.body(reqwest::Body::wrap_stream(stream.map_err(|e| {
                    Box::new(e) as Box<dyn std::error::Error + Send + Sync>
                })));
        } else if !body.is_empty() {
            return Err(Error::invalid(
                "a streaming body was already consumed and cannot be sent again",
            ));
        }
        let response = builder.send().await.map_err(map_send_error)?;
        let status = response.status();
        let headers = response.headers().clone();
        if stream_response && status.is_success() {
            let stream = response.bytes_stream().map_err(map_body_error);
            return Ok(HttpResponse::with_stream(status, headers, Box::pin(stream)));
        }
        let body = read_body_limited(response, limit)
            .await
            .map_err(|error| match error {
                ReadBodyError::TooLarge { limit, declared } => {
                    Error::new(ErrorKind::ResponseTooLarge {
                        status,
                        limit,
                        declared,
                    })
                }
                ReadBodyError::Transport(e) => map_body_error(e),
                other => Error::transport(
                    TransportError::new(other.to_string(), None).with_response_started(true),
                ),
            })?;
        Ok(HttpResponse::with_body(status, headers, body))
    }
}

#[async_trait]
impl<T: Transport + ?Sized> Transport for Arc<T> {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse> {
        (**self).send(request).await
    }
}
