//! The HTTP pipeline of the typed Microsoft Graph SDK: every request, page, retry and batch
//! item goes through one ordered chain, and this crate turns Graph's answers into typed values
//! and typed errors.
//!
//! - [`Client`]: configured once (credential, cloud, transport, retry and redirect defaults);
//!   cheap to clone.
//! - One pipeline, fixed at construction, in this order:
//!   telemetry -> retry -> throttle gate (a `Retry-After` on any request pauses every send of
//!   the client to that service; shared by a fleet through Redis with the `redis` feature) ->
//!   auth (a fresh token from `msgraph-typed-auth` before every attempt) -> redirect ->
//!   [`Transport`].
//! - Typed requests: [`EntityRequest`], [`Request`], [`CountRequest`], and collections with
//!   [`CollectionRequest::send`] (one page), [`CollectionRequest::pages`] and
//!   [`CollectionRequest::stream`] (lazy `futures::Stream`s, one page in memory).
//! - Delta queries ([`DeltaRequest`]) ending in a typed [`DeltaLink`]; `$batch`
//!   ([`BatchBuilder`]) with splitting, `dependsOn` and item retries.
//! - Binary content: streaming downloads ([`DownloadRequest`], [`ByteStream`], with `Range`),
//!   resumable uploads of large files ([`LargeFileUpload`] over an [`UploadSession`]) and the
//!   [`ContentRequest`] generated builders return for every stream; neither sends the Graph
//!   token to a pre-authenticated content URL.
//! - Bulk runs ([`Client::bulk`], [`BulkRun`]): many keyed requests at the concurrency Graph's
//!   throttling allows, packed into `$batch`, answered as a stream in completion order.
//! - One [`Error`] type with `is_*()` predicates and accessors.
//!
//! `msgraph-typed`'s generated builders call this crate; you can also call it directly:
//!
//! ```
//! use futures::TryStreamExt;
//! use msgraph_typed_core::{Client, RetryOptions};
//! use std::time::Duration;
//!
//! #[derive(Debug, serde::Deserialize)]
//! struct User {
//!     id: String,
//!     #[serde(rename = "displayName")]
//!     display_name: Option<String>,
//! }
//!
//! # async fn demo(credential: msgraph_typed_auth::StaticTokenCredential) -> msgraph_typed_core::Result<()> {
//! let client = Client::builder()
//!     .credential(credential)
//!     .retry(RetryOptions::new().total_budget(Duration::from_secs(300)))
//!     .build()?;
//!
//! // Page through every user whose name starts with "A", lazily.
//! let mut users = client
//!     .collection::<User>("users")
//!     .filter("startswith(displayName,'A')")
//!     .select_raw(["id", "displayName"])
//!     .stream();
//! while let Some(user) = users.try_next().await? {
//!     println!("{} {:?}", user.id, user.display_name);
//! }
//!
//! // A batch of typed requests.
//! let mut batch = client.batch();
//! let me = batch.add(client.entity::<User>("me"));
//! let count = batch.add(client.collection::<User>("users").top(1).count(true));
//! let answers = batch.send().await?;
//! let me: User = answers.get(&me)?;
//! let total = answers.get(&count)?.count;
//! println!("{me:?} of {total:?}");
//! # Ok(()) }
//! ```
//!
//! Errors print everything needed to debug them:
//!
//! ```
//! # async fn demo(client: msgraph_typed_core::Client) {
//! match client.entity::<serde_json::Value>("users/nobody").send().await {
//!     Ok(user) => println!("{user}"),
//!     Err(e) if e.is_not_found() => println!("no such user (request-id {:?})", e.request_id()),
//!     Err(e) => eprintln!("{e}"), // status, code, message, request-id, client-request-id, date
//! }
//! # }
//! ```
//!
//! # Guarantees
//!
//! - **Credentials never follow a redirect**: the HTTP client ([`HttpClient`]) never follows
//!   one whatever it was configured with, and the pipeline's own redirect stage drops
//!   `Authorization` whenever the scheme, host or port changes (a downgrade to http is refused
//!   unless allowed).
//! - **A retry is never sent before the server allows it**: a `Retry-After` is waited in full
//!   when it is within `max_delay` and the total budget, otherwise the answer comes back at
//!   once as a throttled error with [`Error::retry_after`] set ([`RetryOptions`]).
//! - **`$batch` obeys the same retry policy** as every other request: one rule, one place.
//! - **Bounded memory on any response**: every body is read up to a limit (64 MiB by default,
//!   [`ClientBuilder::max_response_bytes`]) and a larger one is a typed error before the
//!   memory is spent.
//! - **Next and delta links stay on the service**: a link to another origin is a paging error
//!   unless its host is on the token allow-list.
//! - **Idempotent requests survive a dropped connection**: a refused connection, or one lost
//!   before any response byte, is retried on GET, HEAD, PUT and DELETE (and requests marked
//!   idempotent) within the same budget; a POST never is, and the error says whether the
//!   request may have been processed.
//! - **Parsers survive arbitrary input**: pages, links, error bodies, `Retry-After`,
//!   `WWW-Authenticate` and `$batch` answers are property-tested over arbitrary and mutated
//!   bytes: a typed error, never a panic, no unbounded allocation.
//!
//! # Features
//!
//! - `http2` (off by default): HTTP/2 to Graph, negotiated by ALPN on TLS connections; without
//!   it, requests use a pool of HTTP/1.1 keep-alive connections. It compiles the h2 stack
//!   into the build.
//! - `test-util`: the `mock` module (`MockTransport` and other test doubles) for your own
//!   unit tests.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod batch;
mod bulk;
mod client;
pub mod clock;
mod delta;
mod error;
mod files;
pub mod odata;
mod options;
mod paging;
pub(crate) mod pipeline;
mod request;
mod transport;

#[cfg(any(test, feature = "test-util"))]
pub mod mock;

pub use batch::{
    BatchBuilder, BatchItemResponse, BatchKey, BatchRequest, BatchResponse, MAX_BATCH_SIZE,
};
pub use bulk::{BulkItem, BulkRequest, BulkRun};
pub use client::{Client, ClientBuilder};
pub use delta::{DeltaEvent, DeltaItem, DeltaRequest, Removed};
pub use error::{
    DecodeError, Error, ErrorDetail, ErrorKind, InnerError, ODataError, Result, ServiceError,
    TransportError,
};
pub use files::{
    ATTACHMENT_MAX_SLICE, ByteStream, ConflictBehavior, ContentRequest, DEFAULT_SLICE,
    DRIVE_SLICE_UNIT, DownloadRequest, LargeFileUpload, UploadComplete, UploadProgress,
    UploadSession, UploadTarget,
};
pub use msgraph_typed_auth::{HttpClient, HttpClientError};
pub use odata::path;
pub use options::{RedirectOptions, RequestOptions, RetryOptions, ShouldRetry, ThrottleMode};
pub use paging::{CollectionRequest, DeltaLink, NextLink, Page};
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use pipeline::throttle::RedisThrottle;
pub use request::{CountRequest, EntityRequest, NoContent, Request, Response, Selectable};
pub use transport::{
    Body, BodyStream, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_REQUEST_TIMEOUT,
    HttpRequest, HttpResponse, ReqwestTransport, Transport,
};

/// The product token this SDK sends in `User-Agent`.
pub const USER_AGENT: &str = concat!("msgraph-typed/", env!("CARGO_PKG_VERSION"));
