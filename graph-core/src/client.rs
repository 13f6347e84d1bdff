//! The client: configuration once, then typed requests that all go through one pipeline.

use std::fmt;
use std::sync::Arc;

use http::Method;
use msgraph_typed_auth::{Cloud, CredentialEnvironment, HttpClient, TokenCredential};
use serde::de::DeserializeOwned;
use url::Url;

use crate::batch::BatchBuilder;
use crate::clock::{Clock, SystemClock};
use crate::delta::DeltaRequest;
use crate::error::{Error, Result};
use crate::options::{RedirectOptions, RequestOptions, RetryOptions};
use crate::paging::CollectionRequest;
use crate::pipeline::{AllowedHosts, Pipeline, PipelineConfig};
use crate::request::{CountRequest, EntityRequest, Request, RequestSpec};
use crate::transport::{HttpRequest, HttpResponse, ReqwestTransport, Transport};

/// A Microsoft Graph client. Cheap to clone (an `Arc` inside); share one per application.
///
/// ```
/// use msgraph_typed_auth::Cloud;
/// # fn demo(credential: msgraph_typed_auth::StaticTokenCredential) -> msgraph_typed_core::Result<()> {
/// let client = msgraph_typed_core::Client::builder()
///     .credential(credential)
///     .cloud(Cloud::Global)
///     .build()?;
/// assert_eq!(client.base_url().as_str(), "https://graph.microsoft.com/v1.0/");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<ClientInner>,
    /// A per-user view's credential (on-behalf-of), used instead of the client's.
    credential: Option<Arc<dyn TokenCredential>>,
}

struct ClientInner {
    cloud: Cloud,
    base_url: Url,
    pipeline: Pipeline,
    hosts: Arc<AllowedHosts>,
    http_client: Option<HttpClient>,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base_url.as_str())
            .field(
                "allowed_hosts",
                &self.inner.hosts.hosts().collect::<Vec<_>>(),
            )
            .field("pipeline", &self.inner.pipeline)
            .field("view_credential", &self.credential)
            .finish()
    }
}

impl Client {
    /// A builder with the defaults: global cloud, `v1.0`, reqwest transport, 3 retries,
    /// 5 redirects, CAE off.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A view of this client whose requests get their tokens from `credential` instead (for
    /// example one user's on-behalf-of credential), sharing everything else: the pipeline, the
    /// connection pool, the retry policy. Cheap: one reference count. The credential should
    /// already be bound to this client's cloud (see [`TokenCredential::bind`]).
    pub fn with_credential(&self, credential: Arc<dyn TokenCredential>) -> Client {
        Client {
            inner: self.inner.clone(),
            credential: Some(credential),
        }
    }

    /// The cloud the client was built for.
    pub fn cloud(&self) -> &Cloud {
        &self.inner.cloud
    }

    /// The root every relative path is resolved against; always ends with `/`, e.g.
    /// `https://graph.microsoft.com/v1.0/`.
    pub fn base_url(&self) -> &Url {
        &self.inner.base_url
    }

    /// The HTTP client of the default transport, to hand to a credential so token traffic
    /// uses the same proxy, TLS settings and connection pool. `None` with a custom transport.
    pub fn http_client(&self) -> Option<&HttpClient> {
        self.inner.http_client.as_ref()
    }

    /// A collection request (GET with paging): `path` is relative to [`Client::base_url`],
    /// without a leading slash, each segment already encoded with [`crate::path::encode_segment`].
    pub fn collection<T: DeserializeOwned + Send + 'static>(
        &self,
        path: impl Into<String>,
    ) -> CollectionRequest<T> {
        CollectionRequest::new(self.clone(), RequestSpec::new(Method::GET, path.into()))
    }

    /// A single-entity GET.
    pub fn entity<T: DeserializeOwned + Send + 'static>(
        &self,
        path: impl Into<String>,
    ) -> EntityRequest<T> {
        EntityRequest::new(self.clone(), RequestSpec::new(Method::GET, path.into()))
    }

    /// Any request (POST, PATCH, PUT, DELETE, functions and actions). Use
    /// [`crate::NoContent`] as `T` when the answer is empty.
    pub fn request<T: DeserializeOwned + Send + 'static>(
        &self,
        method: Method,
        path: impl Into<String>,
    ) -> Request<T> {
        Request::new(self.clone(), RequestSpec::new(method, path.into()))
    }

    /// `GET {path}/$count` (text/plain, `ConsistencyLevel: eventual`).
    pub fn count(&self, path: impl Into<String>) -> CountRequest {
        let path = path.into();
        let path = format!("{}/$count", path.trim_end_matches('/'));
        CountRequest::new(self.clone(), RequestSpec::new(Method::GET, path))
    }

    /// A delta query (e.g. `users/delta`); its stream ends with a [`crate::DeltaLink`].
    pub fn delta<T: DeserializeOwned + Send + 'static>(
        &self,
        path: impl Into<String>,
    ) -> DeltaRequest<T> {
        DeltaRequest::new(self.clone(), RequestSpec::new(Method::GET, path.into()))
    }

    /// A streaming `GET` of binary content at `path` (`.../content`, `.../$value`).
    pub fn download(&self, path: impl Into<String>) -> crate::DownloadRequest {
        crate::DownloadRequest::new(self.clone(), path.into())
    }

    /// Runs many typed requests, each with a key of yours, at the concurrency the client's
    /// throttle gate allows (it grows while Graph answers healthily and halves on 429), and
    /// answers `(key, result)` as a stream in completion order. A collection request's answer
    /// is its whole collection. Requests that can travel together are packed 20 to a `$batch`
    /// ([`crate::BulkRun::one_by_one`] turns that off). Memory is bounded whatever the input's
    /// size; dropping the stream stops sending.
    ///
    /// Use it for work over many keys (the groups of every user, a property on thousands of
    /// users); for one request, or a handful, await the requests themselves.
    ///
    /// ```no_run
    /// # async fn demo(client: msgraph_typed_core::Client, ids: Vec<String>) {
    /// use futures::StreamExt as _;
    ///
    /// let builder = client.clone();
    /// let requests = futures::stream::iter(ids).map(move |id| {
    ///     let groups = builder.collection::<serde_json::Value>(format!("users/{id}/transitiveMemberOf"));
    ///     (id, groups)
    /// });
    /// let mut answers = client.bulk(requests);
    /// while let Some((id, groups)) = answers.next().await {
    ///     match groups {
    ///         Ok(groups) => println!("{id}: {} groups", groups.len()),
    ///         Err(e) => eprintln!("{id}: {e}"),
    ///     }
    /// }
    /// # }
    /// ```
    pub fn bulk<K, R, S>(&self, requests: S) -> crate::BulkRun<K, R::Output>
    where
        K: Send + 'static,
        R: crate::BulkRequest,
        S: futures::Stream<Item = (K, R)> + Send + 'static,
    {
        crate::BulkRun::new(self.clone(), requests, self.inner.pipeline.gate().clone())
    }

    /// The client's current concurrency estimate for bulk runs, and the throttling answers
    /// (429, or 503 with `Retry-After`) it has seen.
    pub fn throttle_state(&self) -> (usize, u64) {
        let gate = self.inner.pipeline.gate();
        (gate.concurrency(), gate.throttled())
    }

    /// A `$batch` of typed requests.
    pub fn batch(&self) -> BatchBuilder {
        BatchBuilder::new(self.clone())
    }

    /// Sends a raw request through the pipeline and returns the response whatever its status,
    /// with its raw headers.
    ///
    /// # Errors
    /// Transport, auth and redirect errors, a body over the limit, and a throttling answer
    /// the retry policy hands back at once (see [`RetryOptions`]); any other non-success
    /// status is *not* an error here.
    pub async fn execute(
        &self,
        request: HttpRequest,
        options: &RequestOptions,
    ) -> Result<HttpResponse> {
        self.inner
            .pipeline
            .send_as(request, options, self.credential.as_ref())
            .await
    }

    pub(crate) fn transport(&self) -> &Arc<dyn Transport> {
        self.inner.pipeline.transport()
    }

    pub(crate) fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    /// Whether `other` is this client (a clone of it), not merely one built alike.
    pub(crate) fn same_as(&self, other: &Client) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// The client's throttle gate.
    pub(crate) fn gate(&self) -> &Arc<crate::pipeline::throttle::ThrottleGate> {
        self.inner.pipeline.gate()
    }

    pub(crate) fn retry_defaults(&self) -> &RetryOptions {
        self.inner.pipeline.retry()
    }

    /// Checks that a link the service sent (`@odata.nextLink`, `@odata.deltaLink`), or one
    /// stored and given back, stays on the service: same scheme, host and port as the base
    /// URL, or a host on the token allow-list over https (plain http only to loopback and only
    /// when the base URL is plain http too). Anything else would return another server's data
    /// as if it were the collection's.
    pub(crate) fn check_link(&self, link: &Url) -> Result<()> {
        let base = &self.inner.base_url;
        let same_origin = link.scheme() == base.scheme()
            && link.host_str() == base.host_str()
            && link.port_or_known_default() == base.port_or_known_default();
        let allowed_elsewhere = self.inner.hosts.allows(link)
            && (link.scheme() == "https"
                || (link.scheme() == base.scheme()
                    && link
                        .host_str()
                        .is_some_and(msgraph_typed_auth::is_loopback_host)));
        if same_origin || allowed_elsewhere {
            return Ok(());
        }
        Err(Error::new(crate::error::ErrorKind::Paging(format!(
            "the service sent a link to {}://{}, which is not this client's service ({}://{}); \
             allow the host with ClientBuilder::allow_host to follow it",
            link.scheme(),
            crate::pipeline::auth::authority_of(link).unwrap_or_default(),
            base.scheme(),
            crate::pipeline::auth::authority_of(base).unwrap_or_default(),
        ))))
    }

    pub(crate) fn resolve(&self, path: &str) -> Result<Url> {
        let path = path.trim_start_matches('/');
        // URL parsing resolves `.` and `..` segments, percent-encoded ones (`%2E%2E`)
        // included: such a segment (for example a user-supplied id of "..") would move the
        // request out of the API version, so it is refused.
        let route = path.split(['?', '#']).next().unwrap_or_default();
        if route.split('/').any(is_dot_segment) {
            return Err(Error::invalid(format!(
                "invalid request path {path:?}: a segment is \".\" or \"..\""
            )));
        }
        Url::parse(&format!("{}{}", self.inner.base_url, path))
            .map_err(|e| Error::invalid(format!("invalid request path {path:?}: {e}")))
    }
}

/// Builds a [`Client`]. Every setter says its default.
#[derive(Default)]
pub struct ClientBuilder {
    credential: Option<Arc<dyn TokenCredential>>,
    cloud: Option<Cloud>,
    base_url: Option<String>,
    http_client: Option<HttpClient>,
    transport: Option<Arc<dyn Transport>>,
    allowed_hosts: Option<Vec<String>>,
    extra_hosts: Vec<String>,
    scopes: Option<Vec<String>>,
    cae: bool,
    user_agent: Option<bool>,
    retry: Option<RetryOptions>,
    redirect: Option<RedirectOptions>,
    max_response_bytes: Option<usize>,
    bulk_concurrency: Option<(usize, usize)>,
    throttle_share: Option<Arc<dyn crate::pipeline::throttle::GateShare>>,
    timeout: Option<std::time::Duration>,
    clock: Option<Arc<dyn Clock>>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("cloud", &self.cloud)
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// The credential asked for a token before every attempt. Defaults to none: requests are
    /// sent without `Authorization` (useful with a mock transport).
    #[must_use]
    pub fn credential(mut self, credential: impl TokenCredential + 'static) -> Self {
        self.credential = Some(Arc::new(credential));
        self
    }

    /// The cloud, set once: the Graph root, the host allowed to receive tokens, the default
    /// scope (`https://graph.microsoft.com/.default`, `https://graph.microsoft.us/.default`,
    /// ...) and, for a credential configured without one, its authority, together. Defaults
    /// to [`Cloud::Global`].
    #[must_use]
    pub fn cloud(mut self, cloud: Cloud) -> Self {
        self.cloud = Some(cloud);
        self
    }

    /// The root URL including the version, e.g. `http://127.0.0.1:PORT/v1.0` for an emulator
    /// or `https://graph.microsoft.com/beta`. Its host is allowed to receive tokens. Must be
    /// https unless loopback. Defaults to the cloud's Graph endpoint + `v1.0/`.
    #[must_use]
    pub fn base_url(mut self, url: &str) -> Self {
        self.base_url = Some(url.to_string());
        self
    }

    /// A caller's HTTP client (proxy, TLS, timeouts) for the default transport; build it with
    /// [`HttpClient::with_config`]. It never follows redirects, whatever it was configured
    /// with: the pipeline does, dropping `Authorization` whenever the scheme, host or port
    /// changes. Give the same client to the credential (msgraph-typed-auth's
    /// `CredentialOptions::with_http_client`) so token traffic takes the same route.
    /// Defaults to [`HttpClient::new`] (100 s / 30 s timeouts, gzip).
    #[must_use]
    pub fn http_client(mut self, client: HttpClient) -> Self {
        self.http_client = Some(client);
        self
    }

    /// A timeout for each attempt of every request (per request:
    /// [`RequestOptions::with_timeout`]). Defaults to the HTTP client's (100 s).
    #[must_use]
    pub fn timeout(mut self, timeout: std::time::Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The largest response body read, in bytes: a larger one is an error
    /// ([`Error::is_response_too_large`]) before the memory is spent. Defaults to
    /// [`crate::DEFAULT_MAX_RESPONSE_BYTES`] (64 MiB).
    #[must_use]
    pub fn max_response_bytes(mut self, limit: usize) -> Self {
        self.max_response_bytes = Some(limit);
        self
    }

    /// Replaces the HTTP stack (e.g. `msgraph_typed_core::mock::MockTransport`). Defaults to reqwest.
    #[must_use]
    pub fn transport(mut self, transport: impl Transport + 'static) -> Self {
        self.transport = Some(Arc::new(transport));
        self
    }

    /// Adds a host (`host` or `host:port`) allowed to receive tokens, besides the cloud's Graph
    /// host and the base URL's host.
    #[must_use]
    pub fn allow_host(mut self, host: impl Into<String>) -> Self {
        self.extra_hosts.push(host.into());
        self
    }

    /// Replaces the whole allow-list, defaults included. An empty list denies every host: no
    /// token is ever sent. Hosts added with [`ClientBuilder::allow_host`] still count.
    #[must_use]
    pub fn allowed_hosts<I, S>(mut self, hosts: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.allowed_hosts = Some(hosts.into_iter().map(Into::into).collect());
        self
    }

    /// Token scopes for every request. Defaults to the cloud's Graph scope
    /// ([`Cloud::graph_default_scope`]), whatever host the base URL names.
    #[must_use]
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = Some(scopes.into_iter().map(Into::into).collect());
        self
    }

    /// Answers CAE claims challenges (once per request) by asking the credential for a token
    /// with the claims. Defaults to `false`: a challenge surfaces as an error with
    /// [`Error::claims_challenge`].
    #[must_use]
    pub fn cae(mut self, enabled: bool) -> Self {
        self.cae = enabled;
        self
    }

    /// Whether to send `User-Agent: msgraph-typed/<version>` when the request has none.
    /// Defaults to `true`.
    #[must_use]
    pub fn user_agent(mut self, enabled: bool) -> Self {
        self.user_agent = Some(enabled);
        self
    }

    /// Retry defaults. Defaults to [`RetryOptions::default`].
    #[must_use]
    pub fn retry(mut self, retry: RetryOptions) -> Self {
        self.retry = Some(retry);
        self
    }

    /// Redirect defaults. Defaults to [`RedirectOptions::default`].
    #[must_use]
    pub fn redirect(mut self, redirect: RedirectOptions) -> Self {
        self.redirect = Some(redirect);
        self
    }

    /// The concurrency bulk runs ([`Client::bulk`]) start at and never exceed; between them
    /// the estimate grows while answers are healthy and halves on throttling. Defaults to 4
    /// and 64.
    #[must_use]
    pub fn bulk_concurrency(mut self, initial: usize, max: usize) -> Self {
        self.bulk_concurrency = Some((initial.max(1), max.max(1)));
        self
    }

    /// Shares the throttle gate with every instance of the service through Redis: a
    /// `Retry-After` one instance meets pauses the others' sends to the same service, and
    /// halves their concurrency estimates, since Graph's quota belongs to the app and tenant,
    /// not to one process. Requests never wait on Redis; when it cannot be reached, each
    /// instance keeps its own gate (with a warning) until it is back.
    #[cfg(feature = "redis")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
    pub fn shared_throttle(mut self, redis: crate::RedisThrottle) -> Self {
        self.throttle_share = Some(redis.into_share());
        self
    }

    /// The clock for waits and token expiry checks (inject [`crate::clock::TestClock`] in
    /// tests). Defaults to the system clock with tokio timers.
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Builds the client, and offers the credential the client's cloud and HTTP client (see
    /// [`TokenCredential::bind`]).
    ///
    /// # Errors
    /// An invalid-request error when the base URL does not parse or is plain http to a
    /// non-loopback host, or when the default HTTP client cannot be built; an auth error when
    /// the credential was configured for another cloud.
    pub fn build(self) -> Result<Client> {
        let cloud = self.cloud.clone().unwrap_or(Cloud::Global);
        let raw_base = self
            .base_url
            .unwrap_or_else(|| format!("{}v1.0/", cloud.graph_endpoint()));
        let base_url = normalise_base_url(&raw_base)?;

        let mut hosts: Vec<String> = match self.allowed_hosts {
            Some(hosts) => hosts,
            None => {
                let mut defaults = vec![cloud.graph_host()];
                if let Some(authority) = crate::pipeline::auth::authority_of(&base_url) {
                    defaults.push(authority);
                }
                defaults
            }
        };
        hosts.extend(self.extra_hosts);
        let hosts = Arc::new(AllowedHosts::new(hosts));

        let (transport, http_client): (Arc<dyn Transport>, Option<HttpClient>) =
            match (self.transport, self.http_client) {
                (Some(transport), _) => (transport, None),
                (None, Some(client)) => (
                    Arc::new(ReqwestTransport::with_client(client.clone())),
                    Some(client),
                ),
                (None, None) => {
                    let transport = ReqwestTransport::new()?;
                    let client = transport.client().clone();
                    (Arc::new(transport), Some(client))
                }
            };
        if let Some(credential) = &self.credential {
            credential.bind(&CredentialEnvironment::new(
                self.cloud.clone(),
                http_client.clone(),
            ))?;
        }
        let scopes = self
            .scopes
            .unwrap_or_else(|| vec![cloud.graph_default_scope()]);
        let user_agent = self
            .user_agent
            .unwrap_or(true)
            .then(|| crate::USER_AGENT.to_string());
        let clock: Arc<dyn Clock> = self.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let pipeline = Pipeline::new(PipelineConfig {
            transport,
            credential: self.credential,
            clock: clock.clone(),
            hosts: hosts.clone(),
            scopes,
            cae: self.cae,
            user_agent,
            retry: self.retry.unwrap_or_default(),
            redirect: self.redirect.unwrap_or_default(),
            max_response_bytes: self
                .max_response_bytes
                .unwrap_or(crate::DEFAULT_MAX_RESPONSE_BYTES),
            timeout: self.timeout,
            bulk_concurrency: self.bulk_concurrency.unwrap_or((4, 64)),
            throttle_share: self.throttle_share,
        });
        Ok(Client {
            credential: None,
            inner: Arc::new(ClientInner {
                cloud,
                base_url,
                pipeline,
                hosts,
                http_client,
                clock,
            }),
        })
    }
}

/// `.` or `..`, literally or percent-encoded (`%2e`, `.%2E`, ...), as URL parsing sees them.
fn is_dot_segment(segment: &str) -> bool {
    let lower = segment.to_ascii_lowercase();
    matches!(
        lower.as_str(),
        "." | ".." | "%2e" | "%2e%2e" | ".%2e" | "%2e."
    )
}

fn normalise_base_url(raw: &str) -> Result<Url> {
    let with_slash = if raw.ends_with('/') {
        raw.to_string()
    } else {
        format!("{raw}/")
    };
    let url = Url::parse(&with_slash)
        .map_err(|e| Error::invalid(format!("base URL {raw:?} does not parse: {e}")))?;
    let host = url
        .host_str()
        .ok_or_else(|| Error::invalid(format!("base URL {raw:?} has no host")))?;
    match url.scheme() {
        "https" => {}
        "http" if msgraph_typed_auth::is_loopback_host(host) => {}
        _ => {
            return Err(Error::invalid(format!(
                "base URL {raw:?} must be https (plain http only on loopback)"
            )));
        }
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::invalid(format!(
            "base URL {raw:?} must not have a query or fragment"
        )));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_always_ends_with_a_slash_and_rejects_plain_http() {
        let client = Client::builder()
            .base_url("http://127.0.0.1:8080/v1.0")
            .build()
            .unwrap();
        assert_eq!(client.base_url().as_str(), "http://127.0.0.1:8080/v1.0/");
        assert!(
            client
                .inner
                .hosts
                .allows(&Url::parse("http://127.0.0.1:8080/x").unwrap())
        );
        assert!(
            Client::builder()
                .base_url("http://graph.example.com/v1.0")
                .build()
                .is_err()
        );
        let client = Client::builder().cloud(Cloud::China).build().unwrap();
        assert_eq!(
            client.base_url().as_str(),
            "https://microsoftgraph.chinacloudapi.cn/v1.0/"
        );
        assert!(
            !client
                .inner
                .hosts
                .allows(&Url::parse("https://graph.microsoft.com/v1.0/me").unwrap())
        );
    }

    #[test]
    fn clients_errors_and_streams_cross_threads() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<Client>();
        send_sync::<Error>();
        send_sync::<crate::BatchResponse>();
        fn send<T: Send>(_: &T) {}
        let client = Client::builder().build().unwrap();
        send(&client.collection::<serde_json::Value>("users").stream());
        send(&client.entity::<serde_json::Value>("me").send());
        send(&client.batch().send());
    }

    #[test]
    fn a_callers_credentials_never_show_in_debug() {
        let client = Client::builder().build().unwrap();
        let request = client
            .entity::<serde_json::Value>("me")
            .with_header("Authorization", "Bearer caller-secret")
            .with_header("Cookie", "session=cookie-secret")
            .with_header("Prefer", "visible");
        let shown = format!("{request:?}");
        assert!(!shown.contains("caller-secret"), "{shown}");
        assert!(!shown.contains("cookie-secret"), "{shown}");
        assert!(shown.contains("visible"), "{shown}");
    }

    #[test]
    fn paths_resolve_under_the_version() {
        let client = Client::builder().build().unwrap();
        assert_eq!(
            client.resolve("users/a%2Fb/memberOf").unwrap().as_str(),
            "https://graph.microsoft.com/v1.0/users/a%2Fb/memberOf"
        );
        assert_eq!(
            client.resolve("/me").unwrap().as_str(),
            "https://graph.microsoft.com/v1.0/me"
        );
        // WHATWG URL parsing treats `%2E%2E` as `..`: a dot segment must never climb out of
        // the version (a user-supplied id of ".." is an error, not a path traversal).
        assert!(client.resolve("users/%2E%2E/%2E%2E/beta/me").is_err());
        assert!(client.resolve("users/../me").is_err());
        assert!(client.resolve("users/%2e/me").is_err());
    }
}
