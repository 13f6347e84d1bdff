//! [`GraphClient`], the one entry point, and its builder.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use msgraph_typed_auth::http_client::reqwest;
use msgraph_typed_auth::{
    AccessToken, AuthError, Cloud, CredentialEnvironment, HttpClient, OnBehalfOfCredential,
    TokenCredential, TokenRequest, UserAssertion,
};
use msgraph_typed_core::clock::Clock;
use msgraph_typed_core::{Client, ClientBuilder, RedirectOptions, RetryOptions, Transport};

/// The typed Graph client: entry points for every entity set and singleton of the enabled
/// features (`users()`, `me()`, `groups()`, ...), `$batch`, and raw requests for anything
/// else. Cheap to clone (one reference count); build one per application and share it.
///
/// ```no_run
/// use msgraph_typed::GraphClient;
/// use msgraph_typed::auth::ClientSecretCredential;
/// use msgraph_typed::futures::TryStreamExt as _;
///
/// # async fn demo() -> msgraph_typed::Result<()> {
/// let credential = ClientSecretCredential::new("contoso.onmicrosoft.com", "client-id", "secret")?;
/// let client = GraphClient::builder().credential(credential).build()?;
///
/// let mut users = client.users().list().top(999).stream();
/// while let Some(user) = users.try_next().await? {
///     println!("{user:?}");
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct GraphClient {
    client: Client,
    on_behalf_of: Option<OnBehalfOfCredential>,
}

impl fmt::Debug for GraphClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GraphClient")
            .field("client", &self.client)
            .field("on_behalf_of", &self.on_behalf_of.is_some())
            .finish()
    }
}

impl GraphClient {
    /// The builder: a credential, the cloud (once), and options.
    pub fn builder() -> GraphClientBuilder {
        GraphClientBuilder::default()
    }

    /// Wraps a lower-level [`Client`] built with [`Client::builder`] (the two-step
    /// construction of earlier versions; [`GraphClient::builder`] does both at once).
    pub fn new(client: Client) -> GraphClient {
        GraphClient {
            client,
            on_behalf_of: None,
        }
    }

    /// A client over `transport` with no credential and the defaults, for tests with
    /// `mock::MockTransport` (feature `test-util`): `GraphClient::builder().transport(t).build()`
    /// in one call.
    ///
    /// # Errors
    /// As [`GraphClientBuilder::build`].
    pub fn with_transport(transport: impl Transport + 'static) -> msgraph_typed_core::Result<Self> {
        Self::builder().transport(transport).build()
    }

    /// The lower-level pipeline client (requests by path).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// A view of this client that calls Graph on behalf of the user whose incoming token is
    /// `user` (a web API's caller), with the on-behalf-of credential given to
    /// [`GraphClientBuilder::on_behalf_of`]. Cheap (no new connection pool, pipeline or cache):
    /// create one per incoming request. Tokens are cached per user (under a hash of the
    /// assertion), so concurrent requests of one user share one token request.
    ///
    /// When the client was built without an on-behalf-of credential, every request of the
    /// view fails with a configuration error.
    ///
    /// ```no_run
    /// use msgraph_typed::{GraphClient, UserAssertion};
    /// use msgraph_typed::auth::{ClientAuthentication, OnBehalfOfCredential};
    ///
    /// # async fn demo(incoming_bearer_token: String) -> msgraph_typed::Result<()> {
    /// let obo = OnBehalfOfCredential::new(
    ///     "contoso.onmicrosoft.com",
    ///     "web-api-client-id",
    ///     ClientAuthentication::secret("web-api-secret"),
    /// )?;
    /// let client = GraphClient::builder().on_behalf_of(obo).build()?;
    ///
    /// // For each incoming request:
    /// let me = client.on_behalf_of(UserAssertion::new(incoming_bearer_token));
    /// let groups = me.me().member_of().list().send().await?;
    /// # let _ = groups; Ok(()) }
    /// ```
    pub fn on_behalf_of(&self, user: UserAssertion) -> GraphClient {
        let credential: Arc<dyn TokenCredential> = match &self.on_behalf_of {
            Some(obo) => Arc::new(obo.for_user(user)),
            None => Arc::new(NoOnBehalfOfCredential),
        };
        GraphClient {
            client: self.client.with_credential(credential),
            on_behalf_of: self.on_behalf_of.clone(),
        }
    }

    /// A request by method and path (relative to the base URL, no leading slash, each
    /// segment percent-encoded) through the same pipeline, answered as `T`.
    ///
    /// ```no_run
    /// # async fn demo(client: msgraph_typed::GraphClient) -> msgraph_typed::Result<()> {
    /// let org: serde_json::Value = client
    ///     .request(msgraph_typed::Method::GET, "organization")
    ///     .send()
    ///     .await?;
    /// # let _ = org; Ok(()) }
    /// ```
    pub fn request<T: serde::de::DeserializeOwned + Send + 'static>(
        &self,
        method: http::Method,
        path: impl Into<String>,
    ) -> msgraph_typed_core::Request<T> {
        self.client.request(method, path)
    }

    /// [`GraphClient::request`] answered as JSON.
    pub fn raw(
        &self,
        method: http::Method,
        path: impl Into<String>,
    ) -> msgraph_typed_core::Request<serde_json::Value> {
        self.client.request(method, path)
    }

    /// The `/directory/administrativeUnits` collection (Graph v1.0 has no top-level entity
    /// set for administrative units; they live under the `directory` singleton).
    #[cfg(feature = "identity")]
    pub fn administrative_units(&self) -> crate::builders::AdministrativeUnitCollectionBuilder {
        crate::builders::AdministrativeUnitCollectionBuilder::new(
            self.client.clone(),
            "directory/administrativeUnits",
        )
    }

    /// A `$batch` of typed requests (up to 20 per call, split automatically).
    ///
    /// ```no_run
    /// # async fn demo(client: msgraph_typed::GraphClient) -> msgraph_typed::Result<()> {
    /// let mut batch = client.batch();
    /// let me = batch.add(client.me().get());
    /// let groups = batch.add(client.me().member_of().list().top(5));
    /// let answers = batch.send().await?;
    /// println!("{:?} in {} groups", answers.get(&me)?, answers.get(&groups)?.items.len());
    /// # Ok(()) }
    /// ```
    pub fn batch(&self) -> msgraph_typed_core::BatchBuilder {
        self.client.batch()
    }

    /// Runs many typed requests, each with a key of yours, as fast as Graph's throttling
    /// allows, and answers `(key, result)` as a stream in completion order: every key exactly
    /// once, one key's failure never stopping the others. A collection's answer is the whole
    /// collection (every page). Requests are packed 20 to a `$batch` where they can travel
    /// together ([`BulkRun::one_by_one`](msgraph_typed_core::BulkRun::one_by_one) turns that
    /// off); the concurrency follows the client's throttle gate, which grows while Graph
    /// answers healthily, halves on 429 and pauses every send for a `Retry-After`. Memory is
    /// bounded whatever the input's size; dropping the stream stops sending.
    ///
    /// For one request or a handful, await the requests themselves; for work over many keys
    /// (the groups of every user, a property on thousands of users), use this.
    ///
    /// ```no_run
    /// use msgraph_typed::GraphClient;
    /// use msgraph_typed::futures::{stream, StreamExt as _};
    ///
    /// # async fn demo(client: GraphClient, ids: Vec<String>) {
    /// let c = client.clone();
    /// let requests = stream::iter(ids).map(move |id| {
    ///     let groups = c.users().by_id(&id).transitive_member_of().groups().list();
    ///     (id, groups)
    /// });
    /// let mut answers = client.bulk(requests);
    /// while let Some((user, groups)) = answers.next().await {
    ///     match groups {
    ///         Ok(groups) => println!("{user}: {} groups", groups.len()),
    ///         Err(error) => eprintln!("{user}: {error}"),
    ///     }
    /// }
    /// # }
    /// ```
    pub fn bulk<K, R, S>(&self, requests: S) -> msgraph_typed_core::BulkRun<K, R::Output>
    where
        K: Send + 'static,
        R: msgraph_typed_core::BulkRequest,
        S: futures::Stream<Item = (K, R)> + Send + 'static,
    {
        self.client.bulk(requests)
    }
}

impl From<Client> for GraphClient {
    fn from(client: Client) -> Self {
        GraphClient::new(client)
    }
}

/// The credential of an on-behalf-of view of a client built without one.
#[derive(Debug)]
struct NoOnBehalfOfCredential;

#[async_trait::async_trait]
impl TokenCredential for NoOnBehalfOfCredential {
    async fn get_token(&self, _request: &TokenRequest) -> Result<AccessToken, AuthError> {
        Err(AuthError::Configuration(
            "GraphClient::on_behalf_of needs an on-behalf-of credential: build the client with \
             GraphClientBuilder::on_behalf_of"
                .into(),
        ))
    }
}

type HttpConfiguration = Box<dyn FnOnce(reqwest::ClientBuilder) -> reqwest::ClientBuilder + Send>;

/// Builds a [`GraphClient`]. Every setter says its default.
///
/// ```no_run
/// use msgraph_typed::{Cloud, GraphClient, RetryOptions};
/// use msgraph_typed::auth::ClientSecretCredential;
/// use std::time::Duration;
///
/// # fn demo() -> msgraph_typed::Result<()> {
/// let credential = ClientSecretCredential::new("contoso.onmicrosoft.us", "client-id", "secret")?;
/// let client = GraphClient::builder()
///     .credential(credential)
///     // Once: the authority (login.microsoftonline.us), Graph (graph.microsoft.us) and the
///     // default scope (https://graph.microsoft.us/.default).
///     .cloud(Cloud::UsGovernment)
///     .retry(RetryOptions::new().total_budget(Duration::from_secs(60)))
///     .timeout(Duration::from_secs(30))
///     // Proxy, TLS roots, timeouts: one connection pool for Graph and token traffic. The SDK
///     // switches redirects off after this (secrets never follow a redirect).
///     .http_config(|http| http.connect_timeout(Duration::from_secs(5)))
///     .build()?;
/// # let _ = client; Ok(()) }
/// ```
#[must_use = "a builder does nothing until `build()`"]
#[derive(Default)]
pub struct GraphClientBuilder {
    inner: ClientBuilder,
    cloud: Option<Cloud>,
    http_client: Option<HttpClient>,
    http_config: Option<HttpConfiguration>,
    on_behalf_of: Option<OnBehalfOfCredential>,
    has_transport: bool,
}

impl fmt::Debug for GraphClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GraphClientBuilder")
            .field("inner", &self.inner)
            .field("cloud", &self.cloud)
            .field("on_behalf_of", &self.on_behalf_of.is_some())
            .finish_non_exhaustive()
    }
}

impl GraphClientBuilder {
    /// The credential asked for a token before every attempt (any
    /// [`msgraph_typed_auth`] credential, or your own [`TokenCredential`]). A credential built
    /// without a cloud or an HTTP client takes the client's. Defaults to none: requests carry
    /// no token (useful with a mock transport), except in on-behalf-of views.
    pub fn credential(mut self, credential: impl TokenCredential + 'static) -> Self {
        self.inner = self.inner.credential(credential);
        self
    }

    /// The on-behalf-of credential of a web API: [`GraphClient::on_behalf_of`] makes a
    /// per-user view with it. Defaults to none.
    pub fn on_behalf_of(mut self, credential: OnBehalfOfCredential) -> Self {
        self.on_behalf_of = Some(credential);
        self
    }

    /// The cloud, set once for everything: the credential's authority (unless the credential
    /// was given its own), the Graph host, the hosts allowed to receive tokens and the default
    /// scope. Defaults to [`Cloud::Global`].
    pub fn cloud(mut self, cloud: Cloud) -> Self {
        self.cloud = Some(cloud.clone());
        self.inner = self.inner.cloud(cloud);
        self
    }

    /// The concurrency bulk runs ([`GraphClient::bulk`]) start at and never exceed (default 4
    /// and 64); between them the client's throttle gate adapts it to Graph's answers.
    pub fn bulk_concurrency(mut self, initial: usize, max: usize) -> Self {
        self.inner = self.inner.bulk_concurrency(initial, max);
        self
    }

    /// Shares the throttle gate with every instance of the service through Redis (feature
    /// `redis`; see [`ClientBuilder::shared_throttle`]): a `Retry-After` one instance meets
    /// pauses the others, since Graph's quota belongs to the app and tenant. Requests never
    /// wait on Redis; without it each instance keeps its own gate.
    #[cfg(feature = "redis")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
    pub fn shared_throttle(mut self, redis: msgraph_typed_core::RedisThrottle) -> Self {
        self.inner = self.inner.shared_throttle(redis);
        self
    }

    /// The Graph root with its version, overriding the cloud's (for example
    /// `https://graph.microsoft.com/beta`). Must be https unless loopback. Defaults to the
    /// cloud's Graph endpoint + `v1.0/`.
    pub fn base_url(mut self, url: &str) -> Self {
        self.inner = self.inner.base_url(url);
        self
    }

    /// Your HTTP configuration (proxy, TLS roots, timeouts, default headers) on top of the
    /// SDK's defaults, used for Graph and, unless a credential has its own, token traffic, over
    /// one connection pool. Redirects are switched off after it runs: the SDK's pipeline
    /// follows Graph redirects safely and never follows a token endpoint's.
    /// Defaults to [`HttpClient::new`].
    pub fn http_config(
        mut self,
        configure: impl FnOnce(reqwest::ClientBuilder) -> reqwest::ClientBuilder + Send + 'static,
    ) -> Self {
        self.http_config = Some(Box::new(configure));
        self
    }

    /// An [`HttpClient`] you built (for example shared with other clients); it never follows
    /// redirects. Defaults to one built from [`GraphClientBuilder::http_config`].
    pub fn http_client(mut self, client: HttpClient) -> Self {
        self.http_client = Some(client);
        self
    }

    /// Replaces the HTTP stack, for example with `mock::MockTransport` (feature `test-util`).
    /// Defaults to reqwest over [`HttpClient`].
    pub fn transport(mut self, transport: impl Transport + 'static) -> Self {
        self.has_transport = true;
        self.inner = self.inner.transport(transport);
        self
    }

    /// Retry policy (see [`RetryOptions`] for the rule). Defaults to [`RetryOptions::default`].
    pub fn retry(mut self, retry: RetryOptions) -> Self {
        self.inner = self.inner.retry(retry);
        self
    }

    /// Redirect policy. Defaults to [`RedirectOptions::default`].
    pub fn redirect(mut self, redirect: RedirectOptions) -> Self {
        self.inner = self.inner.redirect(redirect);
        self
    }

    /// A timeout for each attempt of every request. Defaults to the HTTP client's (100 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.inner = self.inner.timeout(timeout);
        self
    }

    /// The largest response body read, in bytes; larger is an error before the memory is
    /// spent. Defaults to [`crate::DEFAULT_MAX_RESPONSE_BYTES`] (64 MiB).
    pub fn max_response_bytes(mut self, limit: usize) -> Self {
        self.inner = self.inner.max_response_bytes(limit);
        self
    }

    /// Token scopes for every request. Defaults to the cloud's Graph scope.
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.inner = self.inner.scopes(scopes);
        self
    }

    /// Adds a host (`host` or `host:port`) allowed to receive tokens (and to serve next
    /// links), besides the cloud's Graph host and the base URL's host.
    pub fn allow_host(mut self, host: impl Into<String>) -> Self {
        self.inner = self.inner.allow_host(host);
        self
    }

    /// Answers Continuous Access Evaluation claims challenges once per request. Defaults to
    /// `false` (a challenge is an error with `Error::claims_challenge`).
    pub fn cae(mut self, enabled: bool) -> Self {
        self.inner = self.inner.cae(enabled);
        self
    }

    /// Whether to send `User-Agent: msgraph-typed/<version>`. Defaults to `true`.
    pub fn user_agent(mut self, enabled: bool) -> Self {
        self.inner = self.inner.user_agent(enabled);
        self
    }

    /// The clock for waits and expiry checks (a `clock::TestClock` in tests). Defaults to the
    /// system clock.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.inner = self.inner.clock(clock);
        self
    }

    /// Builds the client and offers the credentials its cloud and HTTP client.
    ///
    /// # Errors
    /// An invalid-request error for a bad base URL or HTTP configuration; an auth error when a
    /// credential was configured for another cloud.
    pub fn build(self) -> msgraph_typed_core::Result<GraphClient> {
        let mut inner = self.inner;
        if !self.has_transport {
            let http = match (self.http_client, self.http_config) {
                (Some(http), _) => http,
                (None, Some(configure)) => HttpClient::with_config(configure)?,
                (None, None) => HttpClient::new()?,
            };
            inner = inner.http_client(http);
        }
        let client = inner.build()?;
        if let Some(obo) = &self.on_behalf_of {
            obo.bind(&CredentialEnvironment::new(
                self.cloud.clone(),
                client.http_client().cloned(),
            ))?;
        }
        Ok(GraphClient {
            client,
            on_behalf_of: self.on_behalf_of,
        })
    }
}
