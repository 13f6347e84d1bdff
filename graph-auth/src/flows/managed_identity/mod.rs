//! Managed identity: tokens from the Azure host the code runs on (a VM, AKS, App Service,
//! Functions, Container Apps, an Arc-enabled server, Cloud Shell), with no secret in the app.

mod endpoint;
mod response;
mod retry;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;

pub use endpoint::ManagedIdentityEndpoint;
pub use retry::ManagedIdentityRetry;

use super::CredentialOptions;
use crate::cache::{CacheKey, MemoryTokenCache};
use crate::http_client::HttpClient;
use crate::manager::TokenManager;
use crate::{AccessToken, AuthError, TokenCredential, TokenRequest};

/// Which identity of the host a [`ManagedIdentityCredential`] asks for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ManagedIdentityId {
    /// The host's system-assigned identity.
    #[default]
    SystemAssigned,
    /// A user-assigned identity, by its client (application) id.
    ClientId(String),
    /// A user-assigned identity, by the object (principal) id of its service principal.
    ObjectId(String),
    /// A user-assigned identity, by its Azure resource id
    /// (`/subscriptions/.../providers/Microsoft.ManagedIdentity/userAssignedIdentities/...`).
    ResourceId(String),
}

impl ManagedIdentityId {
    /// `AZURE_CLIENT_ID` as Azure.Identity reads it for a user-assigned identity: the client id
    /// when the variable is set, else the system-assigned identity.
    pub fn from_client_id_variable(lookup: impl Fn(&str) -> Option<String>) -> Self {
        match lookup("AZURE_CLIENT_ID").filter(|v| !v.trim().is_empty()) {
            Some(id) => ManagedIdentityId::ClientId(id.trim().to_string()),
            None => ManagedIdentityId::SystemAssigned,
        }
    }

    fn cache_label(&self) -> String {
        match self {
            ManagedIdentityId::SystemAssigned => "system".to_string(),
            ManagedIdentityId::ClientId(id) => format!("client_id={id}"),
            ManagedIdentityId::ObjectId(id) => format!("object_id={id}"),
            ManagedIdentityId::ResourceId(id) => format!("resource_id={id}"),
        }
    }
}

/// Where a managed identity token comes from; detected from the environment as Azure.Identity
/// does (see [`ManagedIdentityCredential`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ManagedIdentitySource {
    /// The Azure instance metadata service (VMs, scale sets, AKS nodes, Container Apps jobs
    /// without the App Service variables).
    Imds,
    /// App Service, Functions and Container Apps (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER`).
    AppService,
    /// An Azure Arc-enabled server (`IDENTITY_ENDPOINT` + `IMDS_ENDPOINT`).
    AzureArc,
    /// Azure Cloud Shell (`MSI_ENDPOINT`).
    CloudShell,
}

impl fmt::Display for ManagedIdentitySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ManagedIdentitySource::Imds => "IMDS",
            ManagedIdentitySource::AppService => "App Service",
            ManagedIdentitySource::AzureArc => "Azure Arc",
            ManagedIdentitySource::CloudShell => "Cloud Shell",
        })
    }
}

/// The settings of a [`ManagedIdentityCredential`].
///
/// ```
/// use msgraph_typed_auth::{ManagedIdentityEndpoint, ManagedIdentityId, ManagedIdentityOptions};
///
/// # fn demo() -> Result<(), msgraph_typed_auth::AuthError> {
/// let options = ManagedIdentityOptions::default()
///     .with_id(ManagedIdentityId::ClientId("0b1c7a5e-...".into()))
///     // Only to point the credential at a local endpoint (tests, an emulator):
///     .with_endpoint(ManagedIdentityEndpoint::imds("http://127.0.0.1:8400")?);
/// # let _ = options; Ok(()) }
/// ```
#[derive(Clone)]
pub struct ManagedIdentityOptions {
    id: ManagedIdentityId,
    endpoint: Option<ManagedIdentityEndpoint>,
    lookup: super::EnvLookup,
    arc_key_directory: Option<PathBuf>,
    probe_timeout: Option<Duration>,
    retry: ManagedIdentityRetry,
    credential: CredentialOptions,
}

impl Default for ManagedIdentityOptions {
    fn default() -> Self {
        Self {
            id: ManagedIdentityId::SystemAssigned,
            endpoint: None,
            lookup: Arc::new(|name| std::env::var(name).ok()),
            arc_key_directory: None,
            probe_timeout: None,
            retry: ManagedIdentityRetry::default(),
            credential: CredentialOptions::default(),
        }
    }
}

impl fmt::Debug for ManagedIdentityOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManagedIdentityOptions")
            .field("id", &self.id)
            .field("endpoint", &self.endpoint)
            .field("arc_key_directory", &self.arc_key_directory)
            .field("probe_timeout", &self.probe_timeout)
            .field("retry", &self.retry)
            .field("credential", &self.credential)
            .finish_non_exhaustive()
    }
}

impl ManagedIdentityOptions {
    /// Which identity to ask for. Defaults to the system-assigned identity.
    #[must_use]
    pub fn with_id(mut self, id: ManagedIdentityId) -> Self {
        self.id = id;
        self
    }

    /// Uses this endpoint instead of the one the environment names (an emulator, a test).
    /// Defaults to detection from the environment.
    #[must_use]
    pub fn with_endpoint(mut self, endpoint: ManagedIdentityEndpoint) -> Self {
        self.endpoint = Some(endpoint);
        self
    }

    /// Reads environment variables through `lookup` instead of the process environment
    /// (tests, or configuration from elsewhere).
    #[must_use]
    pub fn with_lookup(
        mut self,
        lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.lookup = Arc::new(lookup);
        self
    }

    /// The only directory from which the Azure Arc challenge's key file is read. Defaults to
    /// the agent's own: `/var/opt/azcmagent/tokens` on Linux,
    /// `%ProgramData%\AzureConnectedMachineAgent\Tokens` on Windows.
    #[must_use]
    pub fn with_arc_key_directory(mut self, directory: impl Into<PathBuf>) -> Self {
        self.arc_key_directory = Some(directory.into());
        self
    }

    /// Makes the first IMDS request a short probe: when nothing answers within `timeout`, the
    /// credential is [unavailable](AuthError::is_unavailable) at once (no retries), so a chain
    /// on a machine without managed identity moves on quickly. Once IMDS answered, requests use
    /// the ordinary timeout and retries. Defaults to no probe; [`crate::DefaultAzureCredential`]
    /// sets 1 s.
    #[must_use]
    pub fn with_probe_timeout(mut self, timeout: Duration) -> Self {
        self.probe_timeout = Some(timeout);
        self
    }

    /// Retry rules for the endpoint's transient answers. Defaults to
    /// [`ManagedIdentityRetry::default`].
    #[must_use]
    pub fn with_retry(mut self, retry: ManagedIdentityRetry) -> Self {
        self.retry = retry;
        self
    }

    /// Cache, clock, token manager tuning, request timeout, response limit and HTTP client.
    /// The HTTP client defaults to one of the credential's own that bypasses proxies (the
    /// endpoints are on the host); the cloud in these options is not used.
    #[must_use]
    pub fn with_credential_options(mut self, options: CredentialOptions) -> Self {
        self.credential = options;
        self
    }
}

/// Tokens of the Azure host's managed identity, system-assigned or user-assigned.
///
/// The source is detected from the environment, in Azure.Identity's order:
///
/// | environment | source | request |
/// |---|---|---|
/// | `IDENTITY_ENDPOINT` + `IDENTITY_HEADER` | App Service, Functions, Container Apps | `GET ?api-version=2019-08-01&resource=...`, header `X-IDENTITY-HEADER` |
/// | `IDENTITY_ENDPOINT` + `IMDS_ENDPOINT` | Azure Arc | `GET ?api-version=2019-11-01`, then the key-file challenge |
/// | `MSI_ENDPOINT` | Cloud Shell | `POST` form `resource=...`, header `Metadata: true` |
/// | otherwise | IMDS at `AZURE_POD_IDENTITY_AUTHORITY_HOST`, else `http://169.254.169.254` | `GET /metadata/identity/oauth2/token?api-version=2018-02-01`, header `Metadata: true` |
///
/// Not supported: Service Fabric (`IDENTITY_SERVER_THUMBPRINT`) and App Service's retired
/// 2017-09-01 protocol (`MSI_ENDPOINT` + `MSI_SECRET`); both are a configuration error that
/// says so. Azure Arc and Cloud Shell serve only the system-assigned identity.
///
/// A request names one scope, turned into the resource for the user
/// (`https://graph.microsoft.com/.default` -> `https://graph.microsoft.com`); several scopes
/// are a configuration error. Tokens are asked over plain http only from the link-local
/// metadata address or loopback, never elsewhere. IMDS answers 404, 410, 429 and 5xx are
/// retried with exponential backoff ([`ManagedIdentityRetry`]); tokens are cached, refreshed
/// ahead of expiry and fetched once however many callers, like every credential's.
///
/// ```no_run
/// use msgraph_typed_auth::{ManagedIdentityCredential, ManagedIdentityId, TokenCredential, TokenRequest};
///
/// # async fn demo() -> Result<(), msgraph_typed_auth::AuthError> {
/// let system = ManagedIdentityCredential::new()?;
/// let user_assigned = ManagedIdentityCredential::user_assigned(
///     ManagedIdentityId::ClientId("0b1c7a5e-0000-0000-0000-000000000000".into()),
/// )?;
/// let token = system
///     .get_token(&TokenRequest::new(["https://graph.microsoft.com/.default"]))
///     .await?;
/// # let _ = (token, user_assigned); Ok(()) }
/// ```
#[derive(Clone)]
pub struct ManagedIdentityCredential {
    inner: Arc<Inner>,
}

struct Inner {
    id: ManagedIdentityId,
    endpoint: ManagedIdentityEndpoint,
    arc_key_directory: PathBuf,
    probe_timeout: Option<Duration>,
    /// Whether the endpoint has answered once (the probe is over).
    answered: AtomicBool,
    retry: ManagedIdentityRetry,
    http: HttpClient,
    timeout: Duration,
    max_response_bytes: usize,
    manager: TokenManager,
}

impl fmt::Debug for ManagedIdentityCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManagedIdentityCredential")
            .field("id", &self.inner.id)
            .field("source", &self.inner.endpoint.source())
            .field("endpoint", &self.inner.endpoint.url().as_str())
            .finish_non_exhaustive()
    }
}

impl ManagedIdentityCredential {
    /// The system-assigned identity, from the source the process environment names.
    ///
    /// # Errors
    /// [`AuthError::Configuration`] when the environment names an endpoint that is not
    /// usable (not https off the host, an unsupported source).
    pub fn new() -> Result<Self, AuthError> {
        Self::with_options(ManagedIdentityOptions::default())
    }

    /// A user-assigned identity, from the source the process environment names.
    ///
    /// # Errors
    /// As [`ManagedIdentityCredential::new`].
    pub fn user_assigned(id: ManagedIdentityId) -> Result<Self, AuthError> {
        Self::with_options(ManagedIdentityOptions::default().with_id(id))
    }

    /// A credential with explicit options.
    ///
    /// # Errors
    /// As [`ManagedIdentityCredential::new`], and for a user-assigned identity on a source
    /// that serves only the system-assigned one (Azure Arc, Cloud Shell).
    pub fn with_options(options: ManagedIdentityOptions) -> Result<Self, AuthError> {
        let endpoint = match options.endpoint {
            Some(endpoint) => endpoint,
            None => ManagedIdentityEndpoint::from_environment(options.lookup.as_ref())?,
        };
        if options.id != ManagedIdentityId::SystemAssigned
            && matches!(
                endpoint.source(),
                ManagedIdentitySource::AzureArc | ManagedIdentitySource::CloudShell
            )
        {
            return Err(AuthError::config(format!(
                "ManagedIdentityCredential: {} serves only the system-assigned identity, \
                 not {:?}",
                endpoint.source(),
                options.id
            )));
        }
        let credential = options.credential;
        let http = match credential.http.clone() {
            Some(http) => http,
            None => HttpClient::from_builder(reqwest::Client::builder().no_proxy())
                .map_err(|e| AuthError::config(e.to_string()))?,
        };
        let cache = credential.cache.clone().unwrap_or_else(|| {
            Arc::new(MemoryTokenCache::with_clock(
                MemoryTokenCache::DEFAULT_CAPACITY,
                credential.clock.clone(),
            ))
        });
        let arc_key_directory = options
            .arc_key_directory
            .unwrap_or_else(|| endpoint::default_arc_key_directory(options.lookup.as_ref()));
        Ok(Self {
            inner: Arc::new(Inner {
                id: options.id,
                endpoint,
                arc_key_directory,
                probe_timeout: options.probe_timeout,
                answered: AtomicBool::new(false),
                retry: options.retry,
                http,
                timeout: credential.request_timeout,
                max_response_bytes: credential.max_response_bytes,
                manager: TokenManager::new(cache, credential.clock, credential.manager),
            }),
        })
    }

    /// The source this credential asks.
    pub fn source(&self) -> ManagedIdentitySource {
        self.inner.endpoint.source()
    }

    /// The identity this credential asks for.
    pub fn id(&self) -> &ManagedIdentityId {
        &self.inner.id
    }

    /// How many token requests reached the endpoint's token answer so far (cache misses).
    pub fn fetch_count(&self) -> u64 {
        self.inner.manager.fetch_count()
    }
}

/// The resource a managed identity endpoint takes for a request's one scope.
pub(crate) fn resource_of(request: &TokenRequest, who: &str) -> Result<String, AuthError> {
    let scopes: Vec<&str> = request
        .scopes
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .collect();
    match scopes.as_slice() {
        [one] => Ok(one.strip_suffix("/.default").unwrap_or(one).to_string()),
        [] => Err(AuthError::config(format!(
            "{who}: a token request needs one scope"
        ))),
        many => Err(AuthError::config(format!(
            "{who}: a token request names exactly one scope (a resource's `/.default`), not {}: {}",
            many.len(),
            many.join(" ")
        ))),
    }
}

#[async_trait]
impl TokenCredential for ManagedIdentityCredential {
    async fn get_token(&self, request: &TokenRequest) -> Result<AccessToken, AuthError> {
        let resource = resource_of(request, "ManagedIdentityCredential")?;
        let inner = self.inner.clone();
        let endpoint = &inner.endpoint;
        let key = CacheKey::access_token(
            &format!("managed-identity/{}", endpoint.cache_label()),
            "managed-identity",
            &inner.id.cache_label(),
            std::slice::from_ref(&resource),
            None,
            None,
        );
        // Managed identity endpoints take no claims: a claims challenge can only be met by a
        // token newer than the cached one.
        let force = request.force_refresh || request.claims.is_some();
        let fetcher = inner.clone();
        inner
            .manager
            .get_token(&key, force, move || async move {
                fetcher.fetch(&resource).await
            })
            .await
    }
}

impl Inner {
    /// One token from the endpoint, with the source's retries.
    async fn fetch(self: Arc<Self>, resource: &str) -> Result<AccessToken, AuthError> {
        let clock = self.manager.clock().clone();
        let mut schedule = self.retry.schedule(self.endpoint.source());
        loop {
            // Until IMDS has answered once, a request is a probe: short, and silence means
            // there is no managed identity here.
            let probing = self.probe_timeout.filter(|_| {
                self.endpoint.source() == ManagedIdentitySource::Imds
                    && !self.answered.load(Ordering::Acquire)
            });
            let timeout = probing.unwrap_or(self.timeout);
            let outcome = self
                .endpoint
                .request_token(self.as_ref(), resource, timeout)
                .await;
            let outcome = match outcome {
                Err(AuthError::Transport { message, .. }) if probing.is_some() => {
                    return Err(AuthError::Unavailable(format!(
                        "ManagedIdentityCredential: no managed identity endpoint answered at {} \
                         within {:?} ({message}); this host has no managed identity",
                        self.endpoint.url_without_query(),
                        timeout
                    )));
                }
                other => other,
            };
            if !matches!(outcome, Err(AuthError::Transport { .. })) {
                self.answered.store(true, Ordering::Release);
            }
            match outcome {
                Ok(answer) => return answer.access_token(clock.now(), self.endpoint.source()),
                Err(error) => match schedule.next_delay(&error) {
                    Some(delay) => {
                        tracing::debug!(
                            source = %self.endpoint.source(),
                            error = %error,
                            delay_ms = delay.as_millis() as u64,
                            "managed identity token request failed; retrying"
                        );
                        clock.sleep(delay).await;
                    }
                    None => return Err(self.endpoint.unavailable_if_unassigned(error)),
                },
            }
        }
    }
}

#[cfg(test)]
mod tests;
