//! The request a generated builder returns for binary content (`.../content`, `.../$value`).

use std::marker::PhantomData;

use bytes::Bytes;
use http::Method;
use serde::de::DeserializeOwned;

use super::download::DownloadRequest;
use crate::Client;
use crate::request::{Request, RequestSpec};

/// Binary content at a path: read it as a stream ([`ContentRequest::download`]) or replace it
/// in one request ([`ContentRequest::put`]); `T` is what Graph answers a `PUT` with (the drive
/// item for `.../content`, nothing for a photo's `$value`). Large files go through an upload
/// session instead ([`crate::LargeFileUpload`]).
///
/// ```no_run
/// # async fn demo(client: msgraph_typed_core::Client) -> msgraph_typed_core::Result<()> {
/// use msgraph_typed_core::{ContentRequest, NoContent};
///
/// let photo: ContentRequest<NoContent> = ContentRequest::new(client, "me/photo/$value");
/// photo.put(std::fs::read("me.png").unwrap_or_default(), "image/png").send().await?;
/// let image = photo.download().send().await?;
/// # let _ = image; Ok(()) }
/// ```
#[must_use = "a builder does nothing until a request is sent"]
#[derive(Debug, Clone)]
pub struct ContentRequest<T> {
    client: Client,
    path: String,
    _answer: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned + Send + 'static> ContentRequest<T> {
    /// The content at `path` (relative to the client's base URL, percent-encoded).
    pub fn new(client: Client, path: impl Into<String>) -> Self {
        Self {
            client,
            path: path.into(),
            _answer: PhantomData,
        }
    }

    /// The path, relative to the base URL.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// `GET`: the content as a stream, following a redirect to a pre-authenticated URL
    /// without the token.
    pub fn download(&self) -> DownloadRequest {
        DownloadRequest::new(self.client.clone(), self.path.clone())
    }

    /// `PUT`: replaces the content with `body` in one request (Graph takes up to 250 MB this
    /// way for drive items and 4 MB for photos; use an upload session above a few MB).
    pub fn put(&self, body: impl Into<Bytes>, content_type: &str) -> Request<T> {
        Request::new(
            self.client.clone(),
            RequestSpec::new(Method::PUT, self.path.clone()),
        )
        .body_bytes(body, content_type)
    }
}
