//! One credential for services and developers: the sources Azure.Identity's default chain
//! tries, in its order, remembering the one that worked.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;

use super::CredentialOptions;
use super::developer_cli::{AzureCliCredential, AzureDeveloperCliCredential, DeveloperCliOptions};
use super::environment::EnvironmentCredential;
use super::managed_identity::{
    ManagedIdentityCredential, ManagedIdentityId, ManagedIdentityOptions,
};
use super::workload_identity::WorkloadIdentityCredential;
use crate::error::ChainAttempt;
use crate::{AccessToken, AuthError, TokenCredential, TokenRequest};

/// A source of [`DefaultAzureCredential`], in the order they are tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DefaultSource {
    /// [`EnvironmentCredential`]: `AZURE_TENANT_ID`, `AZURE_CLIENT_ID` and a secret or a
    /// certificate.
    Environment,
    /// [`WorkloadIdentityCredential`]: AKS's `AZURE_FEDERATED_TOKEN_FILE`.
    WorkloadIdentity,
    /// [`ManagedIdentityCredential`]: the Azure host's identity.
    ManagedIdentity,
    /// [`AzureCliCredential`]: `az login` on a developer's machine.
    AzureCli,
    /// [`AzureDeveloperCliCredential`]: `azd auth login`.
    AzureDeveloperCli,
}

impl DefaultSource {
    /// Every source, in the chain's order.
    pub const ALL: [DefaultSource; 5] = [
        DefaultSource::Environment,
        DefaultSource::WorkloadIdentity,
        DefaultSource::ManagedIdentity,
        DefaultSource::AzureCli,
        DefaultSource::AzureDeveloperCli,
    ];

    /// The developer tools (excluded in production with
    /// [`DefaultAzureCredentialOptions::without_developer_tools`]).
    pub const DEVELOPER_TOOLS: [DefaultSource; 2] =
        [DefaultSource::AzureCli, DefaultSource::AzureDeveloperCli];

    fn credential_name(self) -> &'static str {
        match self {
            DefaultSource::Environment => "EnvironmentCredential",
            DefaultSource::WorkloadIdentity => "WorkloadIdentityCredential",
            DefaultSource::ManagedIdentity => "ManagedIdentityCredential",
            DefaultSource::AzureCli => "AzureCliCredential",
            DefaultSource::AzureDeveloperCli => "AzureDeveloperCliCredential",
        }
    }
}

impl fmt::Display for DefaultSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.credential_name())
    }
}

/// The settings of a [`DefaultAzureCredential`].
///
/// ```
/// use msgraph_typed_auth::{DefaultAzureCredentialOptions, ManagedIdentityId};
///
/// // Production: no developer tools, a user-assigned identity.
/// let options = DefaultAzureCredentialOptions::default()
///     .without_developer_tools()
///     .with_managed_identity_id(ManagedIdentityId::ClientId("0b1c7a5e-...".into()));
/// # let _ = options;
/// ```
#[derive(Clone)]
pub struct DefaultAzureCredentialOptions {
    excluded: Vec<DefaultSource>,
    managed_identity_id: Option<ManagedIdentityId>,
    managed_identity: ManagedIdentityOptions,
    probe_timeout: Duration,
    azure_cli: DeveloperCliOptions,
    azure_developer_cli: DeveloperCliOptions,
    credential: CredentialOptions,
    lookup: super::EnvLookup,
}

impl Default for DefaultAzureCredentialOptions {
    fn default() -> Self {
        Self {
            excluded: Vec::new(),
            managed_identity_id: None,
            managed_identity: ManagedIdentityOptions::default(),
            probe_timeout: Duration::from_secs(1),
            azure_cli: DeveloperCliOptions::default(),
            azure_developer_cli: DeveloperCliOptions::default(),
            credential: CredentialOptions::default(),
            lookup: Arc::new(|name| std::env::var(name).ok()),
        }
    }
}

impl fmt::Debug for DefaultAzureCredentialOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DefaultAzureCredentialOptions")
            .field("excluded", &self.excluded)
            .field("managed_identity_id", &self.managed_identity_id)
            .field("probe_timeout", &self.probe_timeout)
            .finish_non_exhaustive()
    }
}

impl DefaultAzureCredentialOptions {
    /// Leaves `source` out of the chain.
    #[must_use]
    pub fn exclude(mut self, source: DefaultSource) -> Self {
        if !self.excluded.contains(&source) {
            self.excluded.push(source);
        }
        self
    }

    /// Leaves out the Azure CLI and the Azure Developer CLI ("no developer tools in
    /// production").
    #[must_use]
    pub fn without_developer_tools(self) -> Self {
        DefaultSource::DEVELOPER_TOOLS
            .into_iter()
            .fold(self, Self::exclude)
    }

    /// The managed identity to use. Defaults to the user-assigned identity whose client id is
    /// in `AZURE_CLIENT_ID`, else the system-assigned identity (as Azure.Identity).
    #[must_use]
    pub fn with_managed_identity_id(mut self, id: ManagedIdentityId) -> Self {
        self.managed_identity_id = Some(id);
        self
    }

    /// Options of the managed identity source (endpoint, retries); its identity is the one
    /// set with [`Self::with_managed_identity_id`].
    #[must_use]
    pub fn with_managed_identity_options(mut self, options: ManagedIdentityOptions) -> Self {
        self.managed_identity = options;
        self
    }

    /// How long the first IMDS request may take before the managed identity source counts as
    /// absent and the chain moves on. Defaults to 1 s.
    #[must_use]
    pub fn with_probe_timeout(mut self, timeout: Duration) -> Self {
        self.probe_timeout = timeout;
        self
    }

    /// Options of the Azure CLI source (tenant, timeout, program).
    #[must_use]
    pub fn with_azure_cli_options(mut self, options: DeveloperCliOptions) -> Self {
        self.azure_cli = options;
        self
    }

    /// Options of the Azure Developer CLI source.
    #[must_use]
    pub fn with_azure_developer_cli_options(mut self, options: DeveloperCliOptions) -> Self {
        self.azure_developer_cli = options;
        self
    }

    /// Options every source shares (cache, clock, token manager tuning, HTTP client, cloud for
    /// the environment and workload identity sources).
    #[must_use]
    pub fn with_credential_options(mut self, options: CredentialOptions) -> Self {
        self.credential = options;
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
}

/// One source of the chain: built, or why not.
#[derive(Debug)]
struct Slot {
    source: DefaultSource,
    excluded: bool,
    credential: Result<Arc<dyn TokenCredential>, AuthError>,
}

/// The credential for code that runs on a developer's laptop and in Azure without change:
/// the first of these sources that is configured gives the token, and the one that worked
/// is used from then on.
///
/// | order | source | configured by | where |
/// |---|---|---|---|
/// | 1 | [`EnvironmentCredential`] | `AZURE_TENANT_ID`, `AZURE_CLIENT_ID` and `AZURE_CLIENT_SECRET` or `AZURE_CLIENT_CERTIFICATE_PATH` | CI, containers with a secret |
/// | 2 | [`WorkloadIdentityCredential`] | `AZURE_FEDERATED_TOKEN_FILE`, `AZURE_CLIENT_ID`, `AZURE_TENANT_ID` | AKS with workload identity, CI with federation |
/// | 3 | [`ManagedIdentityCredential`] | the host (App Service, Functions, Container Apps, VMs, AKS, Arc, Cloud Shell) | Azure |
/// | 4 | [`AzureCliCredential`] | `az login` | a developer's machine |
/// | 5 | [`AzureDeveloperCliCredential`] | `azd auth login` | a developer's machine |
///
/// A source that is not configured is skipped ([unavailable](AuthError::is_unavailable));
/// the managed identity source counts as absent when IMDS does not answer within the probe
/// timeout (1 s). A source that is configured but fails (a wrong secret, a revoked identity)
/// stops the chain: a wrong credential must not silently fall through to another identity.
/// When no source gives a token, the error lists every source with why it was excluded,
/// skipped, failed or not tried ([`AuthError::chain_attempts`]).
///
/// ```no_run
/// use msgraph_typed_auth::{DefaultAzureCredential, DefaultAzureCredentialOptions, TokenCredential, TokenRequest};
///
/// # async fn demo() -> Result<(), msgraph_typed_auth::AuthError> {
/// let credential = DefaultAzureCredential::new()?;
/// // In production, without the developer tools:
/// let production = DefaultAzureCredential::with_options(
///     DefaultAzureCredentialOptions::default().without_developer_tools(),
/// )?;
/// let token = credential
///     .get_token(&TokenRequest::new(["https://graph.microsoft.com/.default"]))
///     .await?;
/// # let _ = (token, production); Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct DefaultAzureCredential {
    slots: Arc<Vec<Slot>>,
    /// The index of the source that gave a token, `usize::MAX` until one did.
    selected: Arc<AtomicUsize>,
}

impl DefaultAzureCredential {
    /// Every source, reading the process environment.
    ///
    /// # Errors
    /// Never today (a source that cannot be built is skipped with its reason); kept fallible
    /// for future sources.
    pub fn new() -> Result<Self, AuthError> {
        Self::with_options(DefaultAzureCredentialOptions::default())
    }

    /// With explicit options.
    ///
    /// # Errors
    /// As [`DefaultAzureCredential::new`].
    pub fn with_options(options: DefaultAzureCredentialOptions) -> Result<Self, AuthError> {
        let lookup = options.lookup.clone();
        let get = move |name: &str| lookup(name);
        let credential = options.credential.clone();
        let slots = DefaultSource::ALL
            .into_iter()
            .map(|source| {
                let built: Result<Arc<dyn TokenCredential>, AuthError> = if options
                    .excluded
                    .contains(&source)
                {
                    Err(AuthError::Unavailable(format!(
                        "{source}: excluded by DefaultAzureCredentialOptions"
                    )))
                } else {
                    match source {
                        DefaultSource::Environment => Ok(Arc::new(
                            EnvironmentCredential::secret_or_certificate(&get, credential.clone()),
                        )
                            as Arc<dyn TokenCredential>),
                        DefaultSource::WorkloadIdentity => Ok(Arc::new(
                            WorkloadIdentityCredential::from_lookup(&get, credential.clone()),
                        )
                            as Arc<dyn TokenCredential>),
                        DefaultSource::ManagedIdentity => {
                            let id = options.managed_identity_id.clone().unwrap_or_else(|| {
                                ManagedIdentityId::from_client_id_variable(&get)
                            });
                            let lookup = options.lookup.clone();
                            let mi = options
                                .managed_identity
                                .clone()
                                .with_lookup(move |name| lookup(name))
                                .with_id(id)
                                .with_probe_timeout(options.probe_timeout)
                                .with_credential_options(CredentialOptions {
                                    http: None,
                                    ..credential.clone()
                                });
                            ManagedIdentityCredential::with_options(mi)
                                .map(|c| Arc::new(c) as Arc<dyn TokenCredential>)
                        }
                        DefaultSource::AzureCli => AzureCliCredential::with_options(
                            options
                                .azure_cli
                                .clone()
                                .with_credential_options(credential.clone()),
                        )
                        .map(|c| Arc::new(c) as Arc<dyn TokenCredential>),
                        DefaultSource::AzureDeveloperCli => {
                            AzureDeveloperCliCredential::with_options(
                                options
                                    .azure_developer_cli
                                    .clone()
                                    .with_credential_options(credential.clone()),
                            )
                            .map(|c| Arc::new(c) as Arc<dyn TokenCredential>)
                        }
                    }
                };
                Slot {
                    source,
                    excluded: options.excluded.contains(&source),
                    credential: built,
                }
            })
            .collect();
        Ok(Self {
            slots: Arc::new(slots),
            selected: Arc::new(AtomicUsize::new(usize::MAX)),
        })
    }

    /// The source that gave a token, once one did.
    pub fn selected_source(&self) -> Option<DefaultSource> {
        self.slots
            .get(self.selected.load(Ordering::Acquire))
            .map(|slot| slot.source)
    }
}

#[async_trait]
impl TokenCredential for DefaultAzureCredential {
    async fn get_token(&self, request: &TokenRequest) -> Result<AccessToken, AuthError> {
        if let Some(slot) = self.slots.get(self.selected.load(Ordering::Acquire))
            && let Ok(credential) = &slot.credential
        {
            return credential.get_token(request).await;
        }
        let mut attempts = Vec::with_capacity(self.slots.len());
        let mut stopped_by: Option<DefaultSource> = None;
        for (index, slot) in self.slots.iter().enumerate() {
            let error = match (&slot.credential, stopped_by) {
                (Err(error), _) if slot.excluded => error.clone(),
                (_, Some(failed)) => AuthError::Unavailable(format!(
                    "{}: not tried, {failed} failed before it",
                    slot.source
                )),
                (Err(error), None) => error.clone(),
                (Ok(credential), None) => match credential.get_token(request).await {
                    Ok(token) => {
                        self.selected.store(index, Ordering::Release);
                        tracing::info!(source = %slot.source, "DefaultAzureCredential: using this source");
                        return Ok(token);
                    }
                    Err(error) => {
                        if !error.is_unavailable() {
                            stopped_by = Some(slot.source);
                        }
                        error
                    }
                },
            };
            attempts.push(ChainAttempt {
                credential: slot.source.credential_name().to_string(),
                error,
            });
        }
        Err(AuthError::Chain(attempts))
    }

    fn bind(&self, environment: &crate::CredentialEnvironment) -> Result<(), AuthError> {
        self.slots
            .iter()
            .filter_map(|slot| slot.credential.as_ref().ok())
            .try_for_each(|credential| credential.bind(environment))
    }
}
