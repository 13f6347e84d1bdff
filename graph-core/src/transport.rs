//! The one trait all I/O goes through (BEYOND-10), its reqwest implementation, and the
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

use crate::error::{Error, Result, TransportError};

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
/// sent once, so a request with a stream body is never retried (REQ-8).
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
        })
    }
}

/// A whole HTTP response (the body is buffered: one page at a time is in memory).
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The (decompressed) body.
    pub body: Bytes,
}

impl HttpResponse {
    /// A response with a status, no headers and an empty body.
    pub fn new(status: StatusCode) -> Self {
        Self {
            status,
            headers: HeaderMap::new(),
            body: Bytes::new(),
        }
    }

    /// A header value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Default timeout for a whole request (REQ-22).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(100);
/// Default connect timeout (REQ-22).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// The default transport: reqwest with rustls, gzip, 100 s per request, 30 s to connect and
/// reqwest's own redirect handling turned off (the pipeline follows redirects safely).
#[derive(Debug, Clone)]
pub struct ReqwestTransport {
    client: reqwest::Client,
}

impl ReqwestTransport {
    /// A transport with the defaults above.
    ///
    /// # Errors
    /// An invalid-request error when the TLS backend cannot be initialised.
    pub fn new() -> Result<Self> {
        Ok(Self {
            client: default_reqwest_client()?,
        })
    }

    /// Uses a caller's client (proxy, TLS roots, timeouts). Build it with
    /// `redirect(reqwest::redirect::Policy::none())` so that the pipeline's redirect rules
    /// (strip `Authorization` across hosts, refuse downgrades) apply; reqwest's own policy
    /// also strips `Authorization` across hosts.
    pub fn with_client(client: reqwest::Client) -> Self {
        Self { client }
    }

    /// The underlying client (also used for token traffic).
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }
}

/// The reqwest client the SDK builds when the caller supplies none.
///
/// # Errors
/// An invalid-request error when the TLS backend cannot be initialised.
pub fn default_reqwest_client() -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(DEFAULT_REQUEST_TIMEOUT)
        .connect_timeout(DEFAULT_CONNECT_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .gzip(true)
        .https_only(false)
        .build()
        .map_err(|e| Error::invalid(format!("could not build the HTTP client: {e}")))
}

fn map_reqwest_error(error: reqwest::Error) -> Error {
    let timeout = error.is_timeout();
    let connect = error.is_connect();
    // reqwest's Display includes the URL; strip it so query values (PII) stay out of errors.
    let error = error.without_url();
    let message = if timeout {
        "the request timed out"
    } else if connect {
        "could not connect"
    } else if error.is_body() || error.is_decode() {
        "could not read the response body"
    } else {
        "the request failed"
    };
    Error::transport(
        TransportError::new(message, Some(Box::new(error)))
            .with_timeout(timeout)
            .with_connect(connect),
    )
}

#[async_trait]
impl Transport for ReqwestTransport {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse> {
        let HttpRequest {
            method,
            url,
            headers,
            body,
            timeout,
        } = request;
        let mut builder = self.client.request(method, url).headers(headers);
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
        let response = builder.send().await.map_err(map_reqwest_error)?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await.map_err(map_reqwest_error)?;
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }
}

#[async_trait]
impl<T: Transport + ?Sized> Transport for Arc<T> {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse> {
        (**self).send(request).await
    }
}
