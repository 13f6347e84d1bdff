//! Downloads as byte streams: never the whole body in memory, a redirect to a
//! pre-authenticated URL followed without the token, `Range` for resuming.

use std::ops::{Bound, RangeBounds};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, StreamExt as _, TryStreamExt as _};
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};

use crate::error::{Error, Result};
use crate::request::{RequestSpec, check_status};
use crate::transport::BodyStream;
use crate::{Client, RequestOptions};

/// How long a whole download may take by default (a large file over a slow link).
const DEFAULT_DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(60 * 60);

/// `GET` of binary content (`.../content`, `.../$value`), answered as a [`ByteStream`].
///
/// ```no_run
/// # async fn demo(client: msgraph_typed_core::Client) -> msgraph_typed_core::Result<()> {
/// use futures::TryStreamExt as _;
///
/// let mut bytes = client.download("me/drive/items/01ABC/content").send().await?;
/// let mut total = 0;
/// while let Some(chunk) = bytes.try_next().await? {
///     total += chunk.len(); // write it somewhere: the body is never held whole
/// }
/// // Resuming after byte 1,000,000:
/// let rest = client.download("me/drive/items/01ABC/content").range(1_000_000..).send().await?;
/// # let _ = (total, rest); Ok(()) }
/// ```
#[must_use = "a request does nothing until `send()` is awaited"]
#[derive(Debug)]
pub struct DownloadRequest {
    client: Client,
    spec: RequestSpec,
    range: Option<(u64, Option<u64>)>,
    timeout: Duration,
}

impl DownloadRequest {
    pub(crate) fn new(client: Client, path: String) -> Self {
        Self {
            client,
            spec: RequestSpec::new(Method::GET, path),
            range: None,
            timeout: DEFAULT_DOWNLOAD_TIMEOUT,
        }
    }

    /// Only these bytes (`Range: bytes=start-end`), for resuming or reading a part; the
    /// answer is `206 Partial Content`. An empty or unbounded-start range is refused when sent.
    pub fn range(mut self, range: impl RangeBounds<u64>) -> Self {
        let start = match range.start_bound() {
            Bound::Included(&s) => s,
            Bound::Excluded(&s) => s.saturating_add(1),
            Bound::Unbounded => 0,
        };
        let end = match range.end_bound() {
            Bound::Included(&e) => Some(e),
            Bound::Excluded(&e) => match e.checked_sub(1) {
                Some(e) => Some(e),
                None => {
                    self.spec
                        .fail(Error::invalid("the download range is empty"));
                    None
                }
            },
            Bound::Unbounded => None,
        };
        if end.is_some_and(|e| e < start) {
            self.spec
                .fail(Error::invalid("the download range is empty"));
        }
        self.range = Some((start, end));
        self
    }

    /// How long the whole download may take. Defaults to one hour.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Per-request options (retry, scopes, ...).
    pub fn with_options(mut self, options: RequestOptions) -> Self {
        self.spec.options = options;
        self
    }

    /// Sends the request; the body arrives through the returned stream.
    ///
    /// # Errors
    /// As any request: a service error (404 for a missing item, 416 for a range past the end),
    /// transport, auth or redirect errors. Errors while the body arrives come from the stream.
    pub async fn send(mut self) -> Result<ByteStream> {
        if let Some((start, end)) = self.range {
            let value = match end {
                Some(end) => format!("bytes={start}-{end}"),
                None => format!("bytes={start}-"),
            };
            self.spec.header("range", &value);
        }
        let mut request = self.spec.build_http(&self.client, "*/*")?;
        request.stream_response = true;
        request.timeout = Some(self.timeout);
        let response = check_status(self.client.execute(request, &self.spec.options).await?)?;
        if let Some((start, _)) = self.range
            && start > 0
            && response.status == StatusCode::OK
        {
            return Err(Error::invalid(
                "the server ignored the Range request and sent the whole content",
            ));
        }
        let body = match response.take_stream() {
            Some(stream) => stream,
            // A transport that cannot stream (a mock) read the body whole.
            None => futures::stream::iter([Ok(response.body.clone())]).boxed(),
        };
        Ok(ByteStream {
            status: response.status,
            headers: response.headers,
            body,
        })
    }
}

/// The body of a download as it arrives: a `futures::Stream` of chunks, with the answer's
/// status and headers. [`ByteStream::into_async_read`] makes it an `AsyncRead`.
pub struct ByteStream {
    status: StatusCode,
    headers: HeaderMap,
    body: BodyStream,
}

impl std::fmt::Debug for ByteStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ByteStream")
            .field("status", &self.status)
            .field("content_length", &self.content_length())
            .finish_non_exhaustive()
    }
}

impl ByteStream {
    /// `200`, or `206` for a range.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The answer's headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// `Content-Length`, when the server sent it (the bytes this answer carries).
    pub fn content_length(&self) -> Option<u64> {
        self.header(header::CONTENT_LENGTH)?.parse().ok()
    }

    /// `Content-Type`, when the server sent it.
    pub fn content_type(&self) -> Option<&str> {
        self.header(header::CONTENT_TYPE)
    }

    fn header(&self, name: header::HeaderName) -> Option<&str> {
        self.headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    }

    /// The body as a `futures::io::AsyncRead` (with `tokio_util::compat` for tokio's).
    pub fn into_async_read(self) -> impl futures::io::AsyncRead + Send + Unpin {
        self.body
            .map_err(|e| std::io::Error::other(e.to_string()))
            .into_async_read()
    }
}

impl Stream for ByteStream {
    type Item = Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.body.poll_next_unpin(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock::{MockResponse, MockTransport};

    fn client(mock: &MockTransport) -> Client {
        Client::builder().transport(mock.clone()).build().unwrap()
    }

    #[tokio::test]
    async fn ranges_are_sent_and_an_ignored_range_is_an_error() {
        let mock = MockTransport::new();
        mock.on(Method::GET, "/v1.0/me/drive/items/1/content")
            .respond(
                MockResponse::status(206)
                    .body(&b"56789"[..])
                    .header("content-length", "5"),
            );
        let stream = client(&mock)
            .download("me/drive/items/1/content")
            .range(5..=9)
            .send()
            .await
            .unwrap();
        assert_eq!(stream.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(stream.content_length(), Some(5));
        let chunks: Vec<Bytes> = stream.try_collect().await.unwrap();
        assert_eq!(chunks.concat(), b"56789");
        let call = &mock.calls()[0];
        assert_eq!(call.header("range"), Some("bytes=5-9"));
        assert_eq!(call.header("accept"), Some("*/*"));

        let mock = MockTransport::new();
        mock.on_any()
            .respond(MockResponse::status(200).body(&b"0123456789"[..]));
        let error = client(&mock)
            .download("x/content")
            .range(5..)
            .send()
            .await
            .unwrap_err();
        assert!(
            error.is_invalid_request() && error.to_string().contains("ignored the Range"),
            "{error}"
        );
        let empty = client(&mock)
            .download("x/content")
            .range(5..5)
            .send()
            .await
            .unwrap_err();
        assert!(empty.is_invalid_request(), "{empty}");
        assert_eq!(
            mock.calls().len(),
            1,
            "an empty range is refused before sending"
        );
    }
}
