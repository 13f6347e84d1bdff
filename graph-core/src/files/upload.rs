//! Resumable uploads of large files through an upload session: slices with `Content-Range`
//! sent to the pre-authenticated `uploadUrl` without any credential, progress, retries with
//! the client's retry rule, resumption from the server's `nextExpectedRanges`, and a session
//! that is a plain value to store and resume from in another process.

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, StreamExt as _};
use http::header::{CONTENT_RANGE, CONTENT_TYPE};
use http::{HeaderValue, Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt as _, ReadBuf};
use url::Url;

use crate::Client;
use crate::error::{Error, Result};
use crate::pipeline::retry::{Decision, RetryProgress, decide};
use crate::request::decode_json;
use crate::transport::{Body, HttpRequest, HttpResponse};

/// OneDrive and SharePoint take slices in multiples of 320 KiB (the last one excepted).
pub const DRIVE_SLICE_UNIT: u64 = 320 * 1024;
/// The default slice: 5 MiB (a multiple of [`DRIVE_SLICE_UNIT`]).
pub const DEFAULT_SLICE: u64 = 16 * DRIVE_SLICE_UNIT;
/// Outlook takes attachment slices of at most 4 MiB.
pub const ATTACHMENT_MAX_SLICE: u64 = 4 * 1024 * 1024;
/// OneDrive's largest slice (60 MiB).
const DRIVE_MAX_SLICE: u64 = 60 * 1024 * 1024;
/// The default attachment slice (3 MiB, below Outlook's limit).
const ATTACHMENT_DEFAULT_SLICE: u64 = 3 * 1024 * 1024;
/// The largest answer to a slice read (the final drive item is a few kilobytes).
const MAX_SLICE_ANSWER: usize = 4 * 1024 * 1024;
/// Timeout of one slice.
const SLICE_TIMEOUT: Duration = Duration::from_secs(300);

/// What an upload session creates: a drive item or an Outlook attachment (their slice rules
/// differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum UploadTarget {
    /// A OneDrive / SharePoint drive item (`.../createUploadSession` on an item path).
    DriveItem,
    /// An attachment of a message or event (`.../attachments/createUploadSession`).
    Attachment,
}

/// What a drive upload does when the name already exists
/// (`@microsoft.graph.conflictBehavior`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ConflictBehavior {
    /// Refuse: the upload ends with 409 Conflict ([`Error::is_conflict`]).
    Fail,
    /// Replace the existing file's content (the last slice answers 200).
    Replace,
    /// Keep both: the new file gets a free name (`report 1.csv`). Graph's default.
    #[default]
    Rename,
}

impl ConflictBehavior {
    /// The value Graph takes.
    pub fn as_str(self) -> &'static str {
        match self {
            ConflictBehavior::Fail => "fail",
            ConflictBehavior::Replace => "replace",
            ConflictBehavior::Rename => "rename",
        }
    }
}

/// An upload session: the pre-authenticated upload URL, the file's size and how far the
/// server has confirmed. A plain value: serialise it to resume the upload later, in another
/// process ([`LargeFileUpload::resume`]). Its `Debug` hides the URL's query (the credential).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadSession {
    upload_url: String,
    target: UploadTarget,
    total_size: u64,
    next_offset: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expiration: Option<String>,
}

impl fmt::Debug for UploadSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = Url::parse(&self.upload_url)
            .map(|mut u| {
                if u.query().is_some() {
                    u.set_query(Some("[redacted]"));
                }
                u.to_string()
            })
            .unwrap_or_else(|_| "[not a URL]".into());
        f.debug_struct("UploadSession")
            .field("upload_url", &shown)
            .field("target", &self.target)
            .field("total_size", &self.total_size)
            .field("next_offset", &self.next_offset)
            .field("expiration", &self.expiration)
            .finish()
    }
}

impl UploadSession {
    /// A session Graph created, from its `uploadUrl`, for a file of `total_size` bytes.
    ///
    /// # Errors
    /// An invalid-request error for a URL that is not https (plain http only on loopback).
    pub fn new(
        upload_url: impl Into<String>,
        target: UploadTarget,
        total_size: u64,
    ) -> Result<Self> {
        let upload_url = upload_url.into();
        check_upload_url(&upload_url)?;
        Ok(Self {
            upload_url,
            target,
            total_size,
            next_offset: 0,
            expiration: None,
        })
    }

    /// The pre-authenticated upload URL (a credential: store it like one).
    pub fn upload_url(&self) -> &str {
        &self.upload_url
    }

    /// What the session creates.
    pub fn target(&self) -> UploadTarget {
        self.target
    }

    /// The file's size.
    pub fn total_size(&self) -> u64 {
        self.total_size
    }

    /// The first byte the server has not confirmed: where the source must start.
    pub fn next_offset(&self) -> u64 {
        self.next_offset
    }

    /// When the session expires (`expirationDateTime`), when the server said.
    pub fn expiration(&self) -> Option<&str> {
        self.expiration.as_deref()
    }
}

/// Progress of an upload: bytes the server confirmed, of the total.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct UploadProgress {
    /// Bytes confirmed so far.
    pub confirmed: u64,
    /// The file's size.
    pub total: u64,
}

type ProgressFn = Arc<dyn Fn(UploadProgress) + Send + Sync>;

/// Uploads a large file through an upload session, slice by slice.
///
/// Each slice is a `PUT` of `Content-Range: bytes start-end/total` to the session's URL,
/// sent with no `Authorization` header (the URL is pre-authenticated and usually on another
/// host) and never redirected. A slice that fails (a lost connection, 429, 5xx) is retried
/// under the client's [`crate::RetryOptions`] (its `Retry-After` waited in full), after asking
/// the server which bytes it has (`nextExpectedRanges`), so confirmed bytes are never sent
/// again. On `201`, or `200` with an item, the upload is done and the item is returned.
///
/// ```no_run
/// # async fn demo(client: msgraph_typed_core::Client) -> Result<(), Box<dyn std::error::Error>> {
/// use msgraph_typed_core::{LargeFileUpload, UploadTarget};
///
/// let file = tokio::fs::File::open("report.csv").await?;
/// let size = file.metadata().await?.len();
/// let mut upload = LargeFileUpload::create(
///     &client,
///     "me/drive/root:/reports/report.csv:/createUploadSession",
///     &serde_json::json!({ "item": { "@microsoft.graph.conflictBehavior": "replace" } }),
///     UploadTarget::DriveItem,
///     size,
/// )
/// .await?
/// .on_progress(|p| println!("{} of {} bytes", p.confirmed, p.total));
/// let item: serde_json::Value = upload.upload(file).await?.item.unwrap_or_default();
/// # let _ = item; Ok(()) }
/// ```
#[must_use = "an upload does nothing until `upload()` is awaited"]
pub struct LargeFileUpload {
    client: Client,
    session: UploadSession,
    slice: u64,
    progress: Option<ProgressFn>,
}

impl fmt::Debug for LargeFileUpload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LargeFileUpload")
            .field("session", &self.session)
            .field("slice", &self.slice)
            .finish_non_exhaustive()
    }
}

/// The end of an upload: the created item (drive items) and where it is (attachments answer
/// with a `Location` and no body).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct UploadComplete<T> {
    /// `201 Created` or `200 OK` (a drive item replaced).
    pub status: StatusCode,
    /// The item the last slice's answer carried.
    pub item: Option<T>,
    /// The `Location` header, when sent (Outlook attachments).
    pub location: Option<String>,
}

impl LargeFileUpload {
    /// Creates the session (`POST` of `body` to `create_session_path`, through the pipeline
    /// with the client's credential) for a file of `total_size` bytes.
    ///
    /// # Errors
    /// The service's answer (404 for a missing parent, 409 when the conflict behaviour is
    /// `fail` and the name exists), or an answer without a usable `uploadUrl`.
    pub async fn create<B: Serialize + ?Sized>(
        client: &Client,
        create_session_path: &str,
        body: &B,
        target: UploadTarget,
        total_size: u64,
    ) -> Result<Self> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Created {
            upload_url: Option<String>,
            expiration_date_time: Option<String>,
        }
        let created: Created = client
            .request::<Created>(Method::POST, create_session_path)
            .json_body(body)
            .send()
            .await?;
        let url = created
            .upload_url
            .ok_or_else(|| Error::invalid("the upload session has no uploadUrl"))?;
        let mut session = UploadSession::new(url, target, total_size)?;
        session.expiration = created.expiration_date_time;
        Ok(Self::from_session(client, session))
    }

    /// An upload of a session created elsewhere, or stored; [`LargeFileUpload::resume`]
    /// first asks the server how far it got.
    pub fn from_session(client: &Client, session: UploadSession) -> Self {
        let slice = match session.target {
            UploadTarget::DriveItem => DEFAULT_SLICE,
            UploadTarget::Attachment => ATTACHMENT_DEFAULT_SLICE,
        };
        Self {
            client: client.clone(),
            session,
            slice,
            progress: None,
        }
    }

    /// A stored session, with its offset brought up to date from the server: start the
    /// source at [`UploadSession::next_offset`].
    ///
    /// # Errors
    /// 404 when the session expired or was cancelled ([`Error::is_not_found`]), and the
    /// errors of [`LargeFileUpload::refresh`].
    pub async fn resume(client: &Client, session: UploadSession) -> Result<Self> {
        check_upload_url(&session.upload_url)?;
        let mut upload = Self::from_session(client, session);
        upload.refresh().await?;
        Ok(upload)
    }

    /// The slice size: rounded down to a multiple of 320 KiB for drive items (at most
    /// 60 MiB), at most 4 MiB for attachments. Defaults to 5 MiB (drive items) and 3 MiB
    /// (attachments).
    pub fn slice_size(mut self, bytes: u64) -> Self {
        self.slice = match self.session.target {
            UploadTarget::DriveItem => {
                (bytes / DRIVE_SLICE_UNIT).clamp(1, DRIVE_MAX_SLICE / DRIVE_SLICE_UNIT)
                    * DRIVE_SLICE_UNIT
            }
            UploadTarget::Attachment => bytes.clamp(1, ATTACHMENT_MAX_SLICE),
        };
        self
    }

    /// Called after every slice the server confirmed.
    pub fn on_progress(
        mut self,
        progress: impl Fn(UploadProgress) + Send + Sync + 'static,
    ) -> Self {
        self.progress = Some(Arc::new(progress));
        self
    }

    /// The session, as far as the server confirmed (store it to resume later).
    pub fn session(&self) -> &UploadSession {
        &self.session
    }

    /// Asks the server which bytes it still expects (`GET` on the upload URL) and moves the
    /// offset there.
    ///
    /// # Errors
    /// 404 when the session expired or was cancelled; transport errors.
    pub async fn refresh(&mut self) -> Result<()> {
        let answer = self.send(Method::GET, None, Body::empty()).await?;
        let answer = expect_success(answer)?;
        self.apply_status(&answer)
    }

    /// Sends the rest of the file from `source`, which must start at
    /// [`UploadSession::next_offset`] (0 for a new session).
    ///
    /// # Errors
    /// The source failing or ending early (an invalid-request error saying at which byte),
    /// a slice still failing once the retry policy gives up, 404 when the session expired,
    /// 409 on a name conflict with behaviour `fail`, 416 when the server expects bytes that
    /// are no longer at hand. The session stays usable: after an error, [`Self::session`]
    /// says how far the server got.
    pub async fn upload<R, T>(&mut self, mut source: R) -> Result<UploadComplete<T>>
    where
        R: AsyncRead + Unpin + Send,
        T: DeserializeOwned,
    {
        let total = self.session.total_size;
        let mut buffer = Vec::new();
        loop {
            let start = self.session.next_offset;
            let len = self.slice.min(total.saturating_sub(start));
            buffer.clear();
            read_slice(&mut source, &mut buffer, len, start, total).await?;
            let slice = Bytes::from(std::mem::take(&mut buffer));
            if let Some(done) = self.send_slice(start, slice.clone()).await? {
                return Ok(done);
            }
            if self.session.next_offset >= total {
                return Err(Error::invalid(
                    "the server confirmed every byte but did not answer with the item",
                ));
            }
            buffer = Vec::from(slice);
        }
    }

    /// As [`Self::upload`], from a stream of chunks (any sizes) instead of an `AsyncRead`.
    ///
    /// # Errors
    /// As [`Self::upload`]; a stream error ends the upload with that error.
    pub async fn upload_stream<S, T>(&mut self, stream: S) -> Result<UploadComplete<T>>
    where
        S: Stream<Item = std::io::Result<Bytes>> + Send + Unpin,
        T: DeserializeOwned,
    {
        self.upload(StreamReader {
            stream,
            chunk: Bytes::new(),
        })
        .await
    }

    /// Cancels the session (`DELETE` on the upload URL); the bytes sent are discarded.
    ///
    /// # Errors
    /// 404 when the session already ended; transport errors.
    pub async fn cancel(self) -> Result<()> {
        let answer = self.send(Method::DELETE, None, Body::empty()).await?;
        expect_success(answer).map(|_| ())
    }

    /// Sends one slice (`slice` starts at `start`) until the server confirms it, realigning
    /// on what the server says it has. `Some` when the upload is complete.
    async fn send_slice<T: DeserializeOwned>(
        &mut self,
        start: u64,
        slice: Bytes,
    ) -> Result<Option<UploadComplete<T>>> {
        let total = self.session.total_size;
        let end = start + slice.len() as u64;
        let mut progress = RetryProgress::default();
        let retry = self.client.retry_defaults().clone();
        loop {
            let from = self.session.next_offset;
            if from >= end && end < total {
                return Ok(None); // the server already has this slice
            }
            if from < start || from > end {
                return Err(Error::invalid(format!(
                    "the server expects byte {from}, outside the slice {start}-{end} at hand"
                )));
            }
            let part = slice.slice((from - start) as usize..);
            let range = format!("bytes {from}-{}/{total}", end.saturating_sub(1));
            let outcome = self
                .send(Method::PUT, Some(&range), Body::from_bytes(part))
                .await;
            let failed = match outcome {
                Ok(answer) if answer.status == StatusCode::ACCEPTED => {
                    self.apply_status(&answer)?;
                    if self.session.next_offset < end && self.session.next_offset == from {
                        return Err(Error::invalid(
                            "the server accepted a slice but did not move its next expected range",
                        ));
                    }
                    self.report();
                    return Ok(None);
                }
                Ok(answer)
                    if answer.status == StatusCode::CREATED || answer.status == StatusCode::OK =>
                {
                    self.session.next_offset = total;
                    self.report();
                    let item = if answer.body.iter().all(u8::is_ascii_whitespace) {
                        None
                    } else {
                        Some(decode_json::<T>(&answer)?)
                    };
                    return Ok(Some(UploadComplete {
                        status: answer.status,
                        item,
                        location: answer.header("location").map(str::to_string),
                    }));
                }
                Ok(answer)
                    if answer.status == StatusCode::RANGE_NOT_SATISFIABLE
                        || answer.status.is_server_error()
                        || answer.status == StatusCode::TOO_MANY_REQUESTS =>
                {
                    Some(answer)
                }
                Ok(answer) => {
                    return Err(expect_success(answer)
                        .err()
                        .unwrap_or_else(|| Error::invalid("unexpected answer to a slice")));
                }
                Err(error) if error.is_transport() => None,
                Err(error) => return Err(error),
            };
            let decision = decide(&retry, progress, failed.as_ref(), self.client.clock().now());
            let Decision::Retry(delay) = decision else {
                return Err(match failed {
                    Some(answer) => Error::service(answer.status, answer.headers, &answer.body),
                    None => Error::invalid(format!(
                        "slice {start}-{end} could not be sent after {} retries",
                        progress.attempt
                    )),
                });
            };
            tracing::debug!(
                start,
                end,
                delay_ms = delay.as_millis() as u64,
                "upload slice failed; retrying"
            );
            self.client.clock().sleep(delay).await;
            progress.attempt += 1;
            progress.waited += delay;
            // Ask what the server has before sending again: part of the slice may have landed.
            // A status request that fails in transit leaves the offset as it was.
            if let Err(error) = self.refresh().await
                && !error.is_transport()
            {
                return Err(error);
            }
        }
    }

    fn report(&self) {
        if let Some(progress) = &self.progress {
            progress(UploadProgress {
                confirmed: self.session.next_offset,
                total: self.session.total_size,
            });
        }
    }

    /// Reads `nextExpectedRanges` (`["start-"]`, `["start-end"]` or `["start"]`) and
    /// `expirationDateTime` from a session answer.
    fn apply_status(&mut self, answer: &HttpResponse) -> Result<()> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Status {
            #[serde(default)]
            next_expected_ranges: Vec<String>,
            expiration_date_time: Option<String>,
        }
        let status: Status = decode_json(answer)?;
        if let Some(expiration) = status.expiration_date_time {
            self.session.expiration = Some(expiration);
        }
        let next = status
            .next_expected_ranges
            .iter()
            .filter_map(|r| r.split('-').next()?.trim().parse::<u64>().ok())
            .min();
        self.session.next_offset = match next {
            Some(offset) if offset <= self.session.total_size => offset,
            Some(offset) => {
                return Err(Error::invalid(format!(
                    "the server expects byte {offset} of a {}-byte file",
                    self.session.total_size
                )));
            }
            // Nothing more expected: every byte is there.
            None => self.session.total_size,
        };
        Ok(())
    }

    /// One request to the upload URL, with no credential and no redirect.
    async fn send(&self, method: Method, range: Option<&str>, body: Body) -> Result<HttpResponse> {
        let url = check_upload_url(&self.session.upload_url)?;
        let mut request = HttpRequest::new(method, url);
        if let Some(range) = range {
            let value =
                HeaderValue::from_str(range).map_err(|_| Error::invalid("bad Content-Range"))?;
            request.headers.insert(CONTENT_RANGE, value);
            request.headers.insert(
                CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            );
        }
        request.body = body;
        request.timeout = Some(SLICE_TIMEOUT);
        request.max_response_bytes = Some(MAX_SLICE_ANSWER);
        let answer = self.client.transport().send(request).await?;
        if answer.status.is_redirection() {
            return Err(Error::invalid(format!(
                "the upload URL answered a redirect (HTTP {}), which is never followed",
                answer.status.as_u16()
            )));
        }
        Ok(answer)
    }
}

fn expect_success(answer: HttpResponse) -> Result<HttpResponse> {
    if answer.status.is_success() {
        Ok(answer)
    } else {
        Err(Error::service(answer.status, answer.headers, &answer.body))
    }
}

/// The upload URL, if it is https (plain http only on loopback).
fn check_upload_url(raw: &str) -> Result<Url> {
    let url =
        Url::parse(raw).map_err(|e| Error::invalid(format!("the upload URL is not a URL: {e}")))?;
    let host = url.host_str().unwrap_or_default();
    match url.scheme() {
        "https" => Ok(url),
        "http" if msgraph_typed_auth::is_loopback_host(host) => Ok(url),
        other => Err(Error::invalid(format!(
            "the upload URL must be https (plain http only on loopback), not {other}"
        ))),
    }
}

/// A stream of chunks read as an `AsyncRead`.
struct StreamReader<S> {
    stream: S,
    chunk: Bytes,
}

impl<S: Stream<Item = std::io::Result<Bytes>> + Unpin> AsyncRead for StreamReader<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        loop {
            if !self.chunk.is_empty() {
                let n = buf.remaining().min(self.chunk.len());
                let head = self.chunk.split_to(n);
                buf.put_slice(&head);
                return Poll::Ready(Ok(()));
            }
            match std::task::ready!(self.stream.poll_next_unpin(cx)) {
                Some(Ok(chunk)) => self.chunk = chunk,
                Some(Err(error)) => return Poll::Ready(Err(error)),
                None => return Poll::Ready(Ok(())),
            }
        }
    }
}

/// Reads exactly `len` bytes of the source into `buffer`.
async fn read_slice<R: AsyncRead + Unpin>(
    source: &mut R,
    buffer: &mut Vec<u8>,
    len: u64,
    start: u64,
    total: u64,
) -> Result<()> {
    buffer.reserve(len as usize);
    let mut limited = source.take(len);
    let read = limited
        .read_to_end(buffer)
        .await
        .map_err(|e| Error::invalid(format!("reading the source at byte {start} failed: {e}")))?;
    if (read as u64) < len {
        return Err(Error::invalid(format!(
            "the source ended at byte {} of the {total} the session was created for",
            start + read as u64
        )));
    }
    Ok(())
}

#[cfg(test)]
#[path = "upload_tests.rs"]
mod tests;
