//! Typed Microsoft Graph v1.0: models and fluent request builders generated from
//! Microsoft's published metadata, on top of `graph-core`'s pipeline and `graph-auth`'s
//! credentials. This crate is the one dependency an application needs.
//!
//! ```no_run
//! use graph_api::{GraphClient, models::UserField, auth::StaticTokenCredential};
//! use futures::TryStreamExt as _;
//!
//! # async fn demo(credential: StaticTokenCredential) -> graph_api::Result<()> {
//! let client = GraphClient::new(graph_api::Client::builder().credential(credential).build()?);
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
//! # Organisation
//!
//! - [`models`]: one struct per entity and complex type (inherited properties flattened in,
//!   every field a tri-state [`Patch`], structured values boxed (`Patch<Box<T>>`, which
//!   `value.into()` fills), unknown properties kept in `additional_data`), an
//!   `AnyX` enum per polymorphic base type (chosen by `@odata.type`), one enum per enum
//!   type (with `Unknown(String)`), and a `XField` enum per entity type for `$select`.
//!   Types of other namespaces live in submodules (`models::security`, ...).
//! - [`builders`]: `XBuilder` (one entity) and `XCollectionBuilder` (a collection) per entity
//!   type; navigation methods append to the path, so one builder serves every URL that
//!   reaches the type. Entry points are methods of [`GraphClient`] (`users()`, `me()`, ...).
//! - [`edm`]: OData primitive types as on the wire (date-times kept as text, `Double` with
//!   `INF`/`NaN`, base64 `Binary`, flags sets).
//! - Anything not generated: [`GraphClient::request`] and [`GraphClient::raw`] send a method and
//!   path through the same pipeline.
//!
//! The models are the `graph-models` crate and the Edm types, [`Patch`] and [`Selectable`]
//! come from `graph-odata`, both re-exported here: they compile in parallel with the HTTP
//! stack rather than after it. Everything under `src/generated/` (here and in
//! `graph-models`) is written by the `codegen` crate (`cargo run -p codegen`); do not edit it
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
//! - `redis`: graph-auth's encrypted Redis token cache.

#[allow(
    clippy::large_enum_variant,
    clippy::doc_lazy_continuation,
    clippy::too_many_arguments,
    clippy::module_inception,
    clippy::doc_overindented_list_items
)]
mod generated;

pub use generated::builders;
pub use graph_models::models;
pub use graph_models::{AdditionalData, ODataValue, Patch, edm};
pub use http::Method;

pub use graph_auth as auth;
pub use graph_core::{
    BatchBuilder, Client, ClientBuilder, CollectionRequest, CountRequest, DeltaLink, DeltaRequest,
    EntityRequest, Error, NextLink, NoContent, Page, Request, RequestOptions, Result, RetryOptions,
    Selectable,
};

/// The repository README's Rust examples, compiled as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;

/// The Graph API version this crate was generated for.
pub const GRAPH_VERSION: &str = "v1.0";

/// The typed Graph client: entry points for every entity set and singleton of the enabled
/// features, plus raw requests for anything else. Cheap to clone.
#[derive(Clone, Debug)]
pub struct GraphClient {
    client: graph_core::Client,
}

impl GraphClient {
    /// Wraps a configured [`Client`] (credential, cloud or base URL, retry, transport).
    pub fn new(client: graph_core::Client) -> GraphClient {
        GraphClient { client }
    }

    /// The underlying pipeline client.
    pub fn client(&self) -> &graph_core::Client {
        &self.client
    }

    /// A request by method and path (relative to the base URL, no leading slash, each
    /// segment percent-encoded) through the same pipeline, answered as `T`.
    ///
    /// ```no_run
    /// # async fn demo(client: graph_api::GraphClient) -> graph_api::Result<()> {
    /// let org: serde_json::Value = client
    ///     .request(graph_api::Method::GET, "organization")
    ///     .send()
    ///     .await?;
    /// # let _ = org; Ok(()) }
    /// ```
    pub fn request<T: serde::de::DeserializeOwned + Send + 'static>(
        &self,
        method: http::Method,
        path: impl Into<String>,
    ) -> graph_core::Request<T> {
        self.client.request(method, path)
    }

    /// [`GraphClient::request`] answered as JSON.
    pub fn raw(
        &self,
        method: http::Method,
        path: impl Into<String>,
    ) -> graph_core::Request<serde_json::Value> {
        self.client.request(method, path)
    }

    /// The `/directory/administrativeUnits` collection (Graph v1.0 has no top-level entity
    /// set for administrative units; they live under the `directory` singleton).
    #[cfg(feature = "identity")]
    pub fn administrative_units(&self) -> builders::AdministrativeUnitCollectionBuilder {
        builders::AdministrativeUnitCollectionBuilder::new(
            self.client.clone(),
            "directory/administrativeUnits",
        )
    }

    /// A `$batch` of requests.
    pub fn batch(&self) -> graph_core::BatchBuilder {
        self.client.batch()
    }
}

impl From<graph_core::Client> for GraphClient {
    fn from(client: graph_core::Client) -> Self {
        GraphClient::new(client)
    }
}
