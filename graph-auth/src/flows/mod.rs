//! The credentials, and what they share: options, the authority and one token manager each.

pub(crate) mod authorization_code;
pub(crate) mod chain;
pub(crate) mod client_assertion;
pub(crate) mod client_auth;
pub(crate) mod client_certificate;
pub(crate) mod client_secret;
pub(crate) mod default_chain;
pub(crate) mod developer_cli;
pub(crate) mod device_code;
pub(crate) mod environment;
pub(crate) mod managed_identity;
pub(crate) mod on_behalf_of;
#[cfg(feature = "pkcs12")]
pub(crate) mod pkcs12;
pub(crate) mod refresh_token;
pub(crate) mod workload_identity;

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use url::Url;

use crate::cache::{CacheKey, MemoryTokenCache, TokenCache};
use crate::clock::{Clock, SystemClock};
use crate::endpoint::{EndpointConfig, TokenEndpoint};
use crate::http_client::HttpClient;
use crate::manager::{ManagerOptions, TokenManager};
use crate::{AuthError, Cloud, TokenRequest};

/// Reads an environment variable (the process environment, or a test's map).
pub(crate) type EnvLookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Settings every credential shares: cloud, HTTP client, cache, clock and token manager tuning.
///
/// ```
/// use msgraph_typed_auth::{Cloud, CredentialOptions, ManagerOptions, MemoryTokenCache};
/// use std::sync::Arc;
/// use std::time::Duration;
///
/// # fn demo() -> Result<(), msgraph_typed_auth::HttpClientError> {
/// let options = CredentialOptions::default()
///     .with_cloud(Cloud::UsGovernment)
///     .with_http_client(msgraph_typed_auth::HttpClient::new()?)
///     .with_cache(Arc::new(MemoryTokenCache::with_capacity(50_000)))
///     .with_manager_options(ManagerOptions::default().with_skew(Duration::from_secs(120)));
/// assert_eq!(options.cloud().authority_host(), "https://login.microsoftonline.us/");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct CredentialOptions {
    cloud: Option<Cloud>,
    http: Option<HttpClient>,
    cache: Option<Arc<dyn TokenCache>>,
    clock: Arc<dyn Clock>,
    manager: ManagerOptions,
    request_timeout: Duration,
    retry_delay: Duration,
    max_response_bytes: usize,
    allowed_tenants: Vec<String>,
    client_capabilities: Vec<String>,
}

/// The default limit on a token endpoint's answer: token responses are a few kilobytes.
pub const DEFAULT_MAX_TOKEN_RESPONSE_BYTES: usize = 1024 * 1024;

impl Default for CredentialOptions {
    fn default() -> Self {
        Self {
            cloud: None,
            http: None,
            cache: None,
            clock: Arc::new(SystemClock),
            manager: ManagerOptions::default(),
            request_timeout: Duration::from_secs(30),
            retry_delay: Duration::from_secs(1),
            max_response_bytes: DEFAULT_MAX_TOKEN_RESPONSE_BYTES,
            allowed_tenants: Vec::new(),
            client_capabilities: Vec::new(),
        }
    }
}

impl fmt::Debug for CredentialOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialOptions")
            .field("cloud", &self.cloud)
            .field("cache", &self.cache)
            .field("manager", &self.manager)
            .field("request_timeout", &self.request_timeout)
            .field("retry_delay", &self.retry_delay)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("allowed_tenants", &self.allowed_tenants)
            .field("client_capabilities", &self.client_capabilities)
            .finish_non_exhaustive()
    }
}

impl CredentialOptions {
    /// Sets the cloud, whose authority host the credential talks to. Defaults to the cloud of
    /// the Graph client the credential is given to, else [`Cloud::Global`]; a credential set
    /// to one cloud cannot be given to a client of another (the client's build fails).
    #[must_use]
    pub fn with_cloud(mut self, cloud: Cloud) -> Self {
        self.cloud = Some(cloud);
        self
    }

    /// Uses this HTTP client (proxy, TLS roots, timeouts) for token traffic. An [`HttpClient`]
    /// never follows redirects, whatever it was configured with: a token request's form holds
    /// secrets and must reach the configured authority only. Defaults to the client of the
    /// Graph client this credential is given to, else [`HttpClient::new`].
    #[must_use]
    pub fn with_http_client(mut self, client: HttpClient) -> Self {
        self.http = Some(client);
        self
    }

    /// The largest token endpoint answer read, in bytes; a larger one is an
    /// [`AuthError::ResponseTooLarge`] error before more memory is spent. Defaults to 1 MiB.
    #[must_use]
    pub fn with_max_response_bytes(mut self, limit: usize) -> Self {
        self.max_response_bytes = limit;
        self
    }

    /// Uses this token cache (for example one shared by several credentials, or a remote one).
    /// Defaults to a new [`MemoryTokenCache`] per credential.
    #[must_use]
    pub fn with_cache(mut self, cache: Arc<dyn TokenCache>) -> Self {
        self.cache = Some(cache);
        self
    }

    /// Uses this clock for expiry decisions (tests). Defaults to [`SystemClock`].
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Tunes the token manager (skew, backoff). Defaults to [`ManagerOptions::default`].
    #[must_use]
    pub fn with_manager_options(mut self, options: ManagerOptions) -> Self {
        self.manager = options;
        self
    }

    /// Timeout of one token endpoint request. Defaults to 30 s.
    #[must_use]
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Delay before the one quick retry on a 5xx or timeout. Defaults to 1 s.
    #[must_use]
    pub fn with_retry_delay(mut self, delay: Duration) -> Self {
        self.retry_delay = delay;
        self
    }

    /// Tenants a [`TokenRequest::tenant_id`] may name besides the credential's own; `"*"`
    /// allows any. Defaults to none (a request for another tenant is a configuration error).
    #[must_use]
    pub fn with_additionally_allowed_tenants<I, S>(mut self, tenants: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.allowed_tenants = tenants.into_iter().map(Into::into).collect();
        self
    }

    /// Declares client capabilities, e.g. `["cp1"]` for Continuous Access Evaluation:
    /// every token request then sends `claims` with `{"access_token":{"xms_cc":{"values":[...]}}}`,
    /// merged with any claims challenge. Declare `cp1` only when every resource you call
    /// handles CAE claims challenges. Defaults to none.
    #[must_use]
    pub fn with_client_capabilities<I, S>(mut self, capabilities: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.client_capabilities = capabilities.into_iter().map(Into::into).collect();
        self
    }

    /// The cloud set with [`CredentialOptions::with_cloud`], else [`Cloud::Global`].
    pub fn cloud(&self) -> &Cloud {
        self.cloud.as_ref().unwrap_or(&Cloud::Global)
    }
}

/// The authority a credential talks to: its URL and the label its cache keys carry.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Authority {
    url: Url,
    label: String,
}

impl Authority {
    fn of(cloud: &Cloud) -> Result<Self, AuthError> {
        let url = Url::parse(cloud.authority_host())
            .map_err(|e| AuthError::config(format!("invalid authority host: {e}")))?;
        let host = url
            .host_str()
            .ok_or_else(|| AuthError::config("the authority has no host"))?;
        if url.scheme() != "https" && !crate::is_loopback_host(host) {
            return Err(AuthError::config(
                "the authority must use https (plain http only on loopback)",
            ));
        }
        let label = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        };
        Ok(Self { url, label })
    }
}

/// The authority and HTTP client a credential uses: set explicitly in its options, else taken
/// from the Graph client it is given to (see [`crate::TokenCredential::bind`]), else the
/// defaults. Shared by clones of the credential.
struct Binding {
    explicit_authority: Option<Authority>,
    bound_authority: OnceLock<Authority>,
    default_authority: Authority,
    /// The explicit HTTP client, else the bound one, else one built on first use.
    http: OnceLock<HttpClient>,
}

impl Binding {
    fn authority(&self) -> &Authority {
        self.explicit_authority
            .as_ref()
            .or_else(|| self.bound_authority.get())
            .unwrap_or(&self.default_authority)
    }

    fn bind(&self, environment: &CredentialEnvironment) -> Result<(), AuthError> {
        if let Some(http) = environment.http_client() {
            // Kept when the credential has its own (or already made one).
            let _ = self.http.set(http.clone());
        }
        let Some(cloud) = environment.cloud() else {
            return Ok(()); // the client names no cloud: the credential keeps its own
        };
        let offered = Authority::of(cloud)?;
        match &self.explicit_authority {
            Some(own) if own.url != offered.url => {
                return Err(AuthError::config(format!(
                    "the credential's authority is {} but the client's cloud uses {}: set the \
                     cloud once, on the client",
                    own.url, offered.url
                )));
            }
            Some(_) => {}
            None => {
                let bound = self.bound_authority.get_or_init(|| offered.clone());
                if bound.url != offered.url {
                    return Err(AuthError::config(format!(
                        "the credential is already used by a client of another cloud ({})",
                        bound.url
                    )));
                }
            }
        }
        Ok(())
    }

    fn http(&self) -> Result<HttpClient, AuthError> {
        if let Some(http) = self.http.get() {
            return Ok(http.clone());
        }
        let made = HttpClient::new().map_err(|e| AuthError::config(e.to_string()))?;
        Ok(self.http.get_or_init(|| made).clone())
    }
}

/// What a Graph client offers the credential it is given: its cloud and its HTTP client.
/// A credential configured with neither uses them, so the cloud is set once (authority, Graph
/// host and default scope together) and token and Graph traffic share one connection pool.
#[derive(Debug, Clone)]
pub struct CredentialEnvironment {
    cloud: Option<Cloud>,
    http: Option<HttpClient>,
}

impl CredentialEnvironment {
    /// The client's cloud when one was set on it, and its HTTP client when it has one (a
    /// mock transport has none).
    pub fn new(cloud: Option<Cloud>, http: Option<HttpClient>) -> Self {
        Self { cloud, http }
    }

    /// The client's cloud, when one was set on it.
    pub fn cloud(&self) -> Option<&Cloud> {
        self.cloud.as_ref()
    }

    /// The client's HTTP client, if any.
    pub fn http_client(&self) -> Option<&HttpClient> {
        self.http.as_ref()
    }
}

/// What a credential owns: identity, authority, endpoint and manager.
#[derive(Clone)]
pub(crate) struct Core {
    pub(crate) client_id: String,
    pub(crate) tenant: String,
    binding: Arc<Binding>,
    allowed_tenants: Vec<String>,
    client_capabilities: Vec<String>,
    pub(crate) endpoint: TokenEndpoint,
    pub(crate) manager: TokenManager,
}

impl fmt::Debug for Core {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Core")
            .field("client_id", &self.client_id)
            .field("tenant", &self.tenant)
            .field("authority", &self.binding.authority().url.as_str())
            .finish_non_exhaustive()
    }
}

impl Core {
    pub(crate) fn new(
        tenant: &str,
        client_id: &str,
        options: CredentialOptions,
    ) -> Result<Self, AuthError> {
        validate_tenant(tenant)?;
        if client_id.trim().is_empty() {
            return Err(AuthError::config("client id is empty"));
        }
        let binding = Arc::new(Binding {
            explicit_authority: options.cloud.as_ref().map(Authority::of).transpose()?,
            bound_authority: OnceLock::new(),
            default_authority: Authority::of(&Cloud::Global)?,
            http: options.http.map(OnceLock::from).unwrap_or_default(),
        });
        let cache = options.cache.unwrap_or_else(|| {
            Arc::new(MemoryTokenCache::with_clock(
                MemoryTokenCache::DEFAULT_CAPACITY,
                options.clock.clone(),
            ))
        });
        Ok(Self {
            client_id: client_id.to_string(),
            tenant: tenant.to_string(),
            binding: binding.clone(),
            allowed_tenants: options.allowed_tenants,
            client_capabilities: options.client_capabilities,
            endpoint: TokenEndpoint::new(EndpointConfig {
                http: Arc::new(move || binding.http()),
                clock: options.clock.clone(),
                timeout: options.request_timeout,
                retry_delay: options.retry_delay,
                max_response_bytes: options.max_response_bytes,
            }),
            manager: TokenManager::new(cache, options.clock, options.manager),
        })
    }

    /// The tenant of a request: its own, or the credential's.
    pub(crate) fn tenant_for<'a>(
        &'a self,
        request: &'a TokenRequest,
    ) -> Result<&'a str, AuthError> {
        match request.tenant_id.as_deref() {
            None => Ok(&self.tenant),
            Some(t) if t.eq_ignore_ascii_case(&self.tenant) => Ok(&self.tenant),
            Some(t) => {
                validate_tenant(t)?;
                if self
                    .allowed_tenants
                    .iter()
                    .any(|a| a == "*" || a.eq_ignore_ascii_case(t))
                {
                    Ok(t)
                } else {
                    Err(AuthError::config(format!(
                        "tenant {t:?} is not allowed for this credential; add it with \
                         CredentialOptions::with_additionally_allowed_tenants"
                    )))
                }
            }
        }
    }

    /// The `claims` parameter: the request's claims challenge merged with the declared client
    /// capabilities (`access_token.xms_cc.values`).
    pub(crate) fn claims_param(&self, claims: Option<&str>) -> Result<Option<String>, AuthError> {
        merge_capabilities(claims, &self.client_capabilities)
    }

    /// Takes the client's cloud and HTTP client unless the credential has its own.
    pub(crate) fn bind(&self, environment: &CredentialEnvironment) -> Result<(), AuthError> {
        self.binding.bind(environment)
    }

    /// `{authority}{tenant}/oauth2/v2.0/{leaf}`.
    pub(crate) fn endpoint_url(&self, tenant: &str, leaf: &str) -> Result<Url, AuthError> {
        self.binding
            .authority()
            .url
            .join(&format!("{tenant}/oauth2/v2.0/{leaf}"))
            .map_err(|e| AuthError::config(format!("cannot build the {leaf} URL: {e}")))
    }

    pub(crate) fn access_key(
        &self,
        tenant: &str,
        request: &TokenRequest,
        partition: Option<String>,
    ) -> CacheKey {
        CacheKey::access_token(
            &self.binding.authority().label,
            tenant,
            &self.client_id,
            &request.scopes,
            request.claims.as_deref(),
            partition,
        )
    }

    pub(crate) fn refresh_key(&self, tenant: &str, partition: Option<String>) -> CacheKey {
        CacheKey::refresh_token(
            &self.binding.authority().label,
            tenant,
            &self.client_id,
            partition,
        )
    }
}

pub(crate) fn require_scopes(request: &TokenRequest) -> Result<String, AuthError> {
    let scopes: Vec<&str> = request
        .scopes
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .collect();
    if scopes.is_empty() {
        return Err(AuthError::config(
            "a token request needs at least one scope",
        ));
    }
    Ok(scopes.join(" "))
}

fn merge_capabilities(
    claims: Option<&str>,
    capabilities: &[String],
) -> Result<Option<String>, AuthError> {
    use serde_json::{Map, Value};
    let claims = claims.map(str::trim).filter(|c| !c.is_empty());
    if capabilities.is_empty() {
        return Ok(claims.map(str::to_string));
    }
    let mut root: Map<String, Value> = match claims {
        Some(raw) => serde_json::from_str(raw).map_err(|e| {
            AuthError::config(format!("the claims challenge is not a JSON object: {e}"))
        })?,
        None => Map::new(),
    };
    let access_token = root
        .entry("access_token")
        .or_insert_with(|| Value::Object(Map::new()));
    let Value::Object(access_token) = access_token else {
        return Err(AuthError::config(
            "the claims challenge's access_token is not an object",
        ));
    };
    access_token.insert(
        "xms_cc".into(),
        serde_json::json!({ "values": capabilities }),
    );
    serde_json::to_string(&root)
        .map(Some)
        .map_err(|e| AuthError::config(format!("cannot encode claims: {e}")))
}

fn validate_tenant(tenant: &str) -> Result<(), AuthError> {
    let ok = !tenant.is_empty()
        && tenant.len() <= 256
        && tenant
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'));
    if ok {
        Ok(())
    } else {
        Err(AuthError::config(format!(
            "invalid tenant id {tenant:?}: use a GUID, a domain, \"common\" or \"organizations\""
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us_gov() -> CredentialEnvironment {
        CredentialEnvironment::new(Some(Cloud::UsGovernment), None)
    }

    #[test]
    fn a_credential_without_a_cloud_takes_the_clients() {
        let core = Core::new("tenant", "app", CredentialOptions::default()).unwrap();
        assert!(
            core.endpoint_url("tenant", "token")
                .unwrap()
                .as_str()
                .starts_with("https://login.microsoftonline.com/")
        );
        core.bind(&us_gov()).unwrap();
        assert_eq!(
            core.endpoint_url("tenant", "token").unwrap().as_str(),
            "https://login.microsoftonline.us/tenant/oauth2/v2.0/token"
        );
        // Its cache keys name the new authority (no token shared across clouds).
        let request = TokenRequest::new(["https://graph.microsoft.us/.default"]);
        assert!(
            core.access_key("tenant", &request, None)
                .storage_key()
                .contains("login.microsoftonline.us")
        );
        // The same cloud again is fine; another one is refused.
        core.bind(&us_gov()).unwrap();
        let error = core
            .bind(&CredentialEnvironment::new(Some(Cloud::China), None))
            .unwrap_err();
        assert!(error.is_configuration(), "{error}");
    }

    #[test]
    fn a_credential_set_to_one_cloud_refuses_a_client_of_another() {
        let options = CredentialOptions::default().with_cloud(Cloud::Global);
        let core = Core::new("tenant", "app", options).unwrap();
        core.bind(&CredentialEnvironment::new(Some(Cloud::Global), None))
            .unwrap();
        let error = core.bind(&us_gov()).unwrap_err();
        assert!(error.to_string().contains("set the cloud once"), "{error}");
        // The DoD cloud shares the US Government authority: accepted.
        let options = CredentialOptions::default().with_cloud(Cloud::UsGovernment);
        let core = Core::new("tenant", "app", options).unwrap();
        core.bind(&CredentialEnvironment::new(
            Some(Cloud::UsGovernmentDod),
            None,
        ))
        .unwrap();
    }

    #[test]
    fn client_capabilities_merge_into_claims() {
        let caps = vec!["cp1".to_string()];
        assert_eq!(merge_capabilities(None, &[]).unwrap(), None);
        assert_eq!(
            merge_capabilities(Some("{\"a\":1}"), &[])
                .unwrap()
                .as_deref(),
            Some("{\"a\":1}")
        );
        let alone: serde_json::Value =
            serde_json::from_str(&merge_capabilities(None, &caps).unwrap().unwrap()).unwrap();
        assert_eq!(
            alone,
            serde_json::json!({"access_token": {"xms_cc": {"values": ["cp1"]}}})
        );
        let challenge = r#"{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}"#;
        let merged: serde_json::Value =
            serde_json::from_str(&merge_capabilities(Some(challenge), &caps).unwrap().unwrap())
                .unwrap();
        assert_eq!(merged["access_token"]["nbf"]["value"], "1700000000");
        assert_eq!(merged["access_token"]["xms_cc"]["values"][0], "cp1");
        assert!(
            merge_capabilities(Some("not json"), &caps)
                .unwrap_err()
                .is_configuration()
        );
    }
}
