//! A typed Microsoft Graph SDK for Rust: models and fluent request builders generated from
//! Microsoft's published metadata, a pipeline that puts a fresh token on every request, and
//! credentials whose tokens never go stale. This crate is the one dependency an application
//! needs: everything the SDK's signatures use is reachable from here.
//!
//! ```no_run
//! use msgraph_typed::GraphClient;
//! use msgraph_typed::auth::ClientSecretCredential;
//! use msgraph_typed::futures::TryStreamExt as _;
//! use msgraph_typed::models::UserField;
//!
//! # async fn demo() -> msgraph_typed::Result<()> {
//! let credential = ClientSecretCredential::new("contoso.onmicrosoft.com", "client-id", "secret")?;
//! let client = GraphClient::builder().credential(credential).build()?;
//!
//! // GET /users?$select=displayName,mail&$top=50, every page as one stream
//! let users: Vec<_> = client
//!     .users()
//!     .list()
//!     .select([UserField::DisplayName, UserField::Mail])
//!     .top(50)
//!     .stream()
//!     .try_collect()
//!     .await?;
//!
//! // GET /me/memberOf/microsoft.graph.group/$count
//! let groups = client.me().member_of().groups().count().send().await?;
//! # let _ = (users, groups);
//! # Ok(()) }
//! ```
//!
//! # Where things are
//!
//! - [`GraphClient::builder`]: the entry point (credential, cloud, retry, timeouts, HTTP
//!   configuration); [`GraphClient::on_behalf_of`] for a web API's per-request views.
//! - [`auth`]: every credential and token cache (the `msgraph-typed-auth` crate).
//! - Requests and answers: [`CollectionRequest`] (`send()`, `pages()`, `stream()`),
//!   [`DeltaRequest`], [`BatchBuilder`], [`Page`], [`Error`] and its predicates.
//! - `mock` (feature `test-util`): `MockTransport` for your own unit tests.
//!
//! # Organisation
//!
//! - [`models`]: one struct per entity and complex type, read with getters
//!   (`user.display_name() -> Option<&str>`, collections as slices, structured values as
//!   references) and written with setters (`set_display_name("Adele")`, `None` to clear,
//!   [`Patch::Unset`] to leave out), storing only the properties that arrived or were set
//!   (unknown ones and annotations in `additional_data()`); a derived type reaches its
//!   base's properties through `Deref`. Also an `AnyX` enum per polymorphic base type (chosen
//!   by `@odata.type`, with `base()` for the common properties), one enum per enum type (with
//!   `Unknown(String)`), and a `XField` enum per entity type for `$select`.
//!   Types of other namespaces live in submodules (`models::security`, ...).
//! - [`builders`]: `XBuilder` (one entity) and `XCollectionBuilder` (a collection) per entity
//!   type; navigation methods append to the path, so one builder serves every URL that
//!   reaches the type. Entry points are methods of [`GraphClient`] (`users()`, `me()`, ...).
//! - [`edm`]: OData primitive types as on the wire (date-times kept as text, `Double` with
//!   `INF`/`NaN`, base64 `Binary`, flags sets).
//! - Anything not generated: [`GraphClient::request`] and [`GraphClient::raw`] send a method and
//!   path through the same pipeline.
//!
//! The models are the `msgraph-typed-models` crate and the Edm types, [`Patch`] and [`Selectable`]
//! come from `msgraph-typed-odata`, both re-exported here: they compile in parallel with the HTTP
//! stack rather than after it. Everything under `src/generated/` (here and in
//! `msgraph-typed-models`) is written by the `codegen` crate (`cargo run -p codegen`); do not edit it
//! by hand.
//!
//! # Features
//!
//! One cargo feature per area of Graph. The default, `identity`, covers users, `me`,
//! groups, directory objects, applications, service principals, directory roles and
//! administrative units. A type needed by an enabled type is compiled with it; a
//! navigation into another area (a user's messages, drive or calendar) exists only when
//! that area's feature is enabled. `full` enables everything.
//!
//! Besides the areas, all off by default:
//! - `time`: `DateTimeOffset::to_offset_date_time`, `Date::to_date`,
//!   `TimeOfDay::to_time` and `From<time::OffsetDateTime>` (values are otherwise the exact
//!   text Graph sent, which any date library parses);
//! - `http2`: HTTP/2 to Graph, negotiated by ALPN (otherwise a pool of HTTP/1.1 keep-alive
//!   connections);
//! - `redis`: the encrypted Redis token cache (`auth::RedisTokenCache`);
//! - `test-util`: `mock`, test doubles for your own unit tests.
#![cfg_attr(docsrs, feature(doc_cfg))]

#[allow(
    clippy::large_enum_variant,
    clippy::doc_lazy_continuation,
    clippy::too_many_arguments,
    clippy::module_inception,
    clippy::doc_overindented_list_items
)]
mod generated;

mod client;
mod files;
pub mod references;

pub use client::{GraphClient, GraphClientBuilder};
pub use generated::builders;
pub use msgraph_typed_models::models;
pub use msgraph_typed_models::{AdditionalData, IntoPatch, ODataValue, Patch, PropertyState, edm};

/// Credentials, token caches and clouds (the `msgraph-typed-auth` crate): everything needed
/// to get tokens, on its own or for a [`GraphClient`].
pub use msgraph_typed_auth as auth;
pub use msgraph_typed_auth::{
    AccessToken, AuthError, Cloud, HttpClient, HttpClientError, TokenCredential, TokenRequest,
    UserAssertion,
};

/// The throttle gate shared by a fleet through Redis (feature `redis`).
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use msgraph_typed_core::RedisThrottle;
/// Time, injected: [`clock::Clock`], [`clock::SystemClock`] and, for tests,
/// [`clock::TestClock`].
pub use msgraph_typed_core::clock;
/// OData helpers: path-segment encoding and query-value quoting.
pub use msgraph_typed_core::odata;
pub use msgraph_typed_core::path;
pub use msgraph_typed_core::{
    ATTACHMENT_MAX_SLICE, ByteStream, ConflictBehavior, ContentRequest, DEFAULT_SLICE,
    DRIVE_SLICE_UNIT, DownloadRequest, LargeFileUpload, UploadComplete, UploadProgress,
    UploadSession, UploadTarget,
};
pub use msgraph_typed_core::{
    BatchBuilder, BatchItemResponse, BatchKey, BatchRequest, BatchResponse, Body, BodyStream,
    BulkItem, BulkRequest, BulkRun, CollectionRequest, CountRequest, DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_REQUEST_TIMEOUT, DecodeError, DeltaEvent, DeltaItem,
    DeltaLink, DeltaRequest, EntityRequest, Error, ErrorDetail, ErrorKind, HttpRequest,
    HttpResponse, InnerError, MAX_BATCH_SIZE, NextLink, NoContent, ODataError, Page,
    RedirectOptions, Removed, Request, RequestOptions, ReqwestTransport, Response, Result,
    RetryOptions, Selectable, ServiceError, ShouldRetry, ThrottleMode, Transport, TransportError,
    USER_AGENT,
};
/// The lower-level pipeline client every [`GraphClient`] wraps, for requests by path
/// (`client.collection::<T>("users")`); most code never needs it.
pub use msgraph_typed_core::{Client, ClientBuilder};

/// Test doubles for your own unit tests (feature `test-util`): [`mock::MockTransport`]
/// answers from rules and records every call, with no network and no TLS.
#[cfg(feature = "test-util")]
pub use msgraph_typed_core::mock;

/// The crates whose types appear in this crate's signatures, re-exported so one dependency
/// suffices: `http` (methods, status codes, headers), `url`, `bytes`, `serde_json` (raw
/// JSON), `futures` (the `Stream` extension traits that consume pages), and `reqwest` (the
/// configuration [`HttpClient::with_config`] takes).
pub use bytes;
pub use futures;
pub use http;
pub use http::Method;
pub use msgraph_typed_auth::http_client::reqwest;
pub use serde_json;
pub use url;

/// The Graph API version this crate was generated for.
pub const GRAPH_VERSION: &str = "v1.0";
