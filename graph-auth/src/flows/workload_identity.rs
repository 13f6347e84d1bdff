//! Workload identity federation as AKS injects it: a projected service account token file,
//! exchanged for an Entra ID token.

use std::path::PathBuf;

use async_trait::async_trait;

use super::CredentialOptions;
use super::client_assertion::{AssertionSource, ClientAssertionCredential};
use crate::{AccessToken, AuthError, Cloud, TokenCredential, TokenRequest};

/// Client credentials with the federated token file AKS's workload identity webhook projects
/// into the pod: `AZURE_FEDERATED_TOKEN_FILE`, `AZURE_CLIENT_ID`, `AZURE_TENANT_ID` and
/// `AZURE_AUTHORITY_HOST`. The file is read again for every token request, so the rotated
/// token Kubernetes writes in place is used as soon as a new Entra token is needed.
///
/// When the variables are missing it is [unavailable](AuthError::is_unavailable), so a chain
/// moves on.
///
/// ```
/// use msgraph_typed_auth::{CredentialOptions, WorkloadIdentityCredential};
///
/// let credential = WorkloadIdentityCredential::from_lookup(
///     |name| match name {
///         "AZURE_TENANT_ID" => Some("contoso.onmicrosoft.com".into()),
///         "AZURE_CLIENT_ID" => Some("my-client-id".into()),
///         "AZURE_FEDERATED_TOKEN_FILE" => Some("/var/run/secrets/azure/tokens/azure-identity-token".into()),
///         _ => None,
///     },
///     CredentialOptions::default(),
/// );
/// assert!(credential.is_configured());
/// // In a pod: WorkloadIdentityCredential::new()
/// ```
#[derive(Debug, Clone)]
pub struct WorkloadIdentityCredential {
    inner: Result<ClientAssertionCredential, AuthError>,
}

impl WorkloadIdentityCredential {
    /// Reads the process environment, with default options.
    pub fn new() -> Self {
        Self::from_lookup(
            |name| std::env::var(name).ok(),
            CredentialOptions::default(),
        )
    }

    /// Reads the variables through `lookup` (tests, or configuration from elsewhere).
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
        options: CredentialOptions,
    ) -> Self {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let inner = match (
            get("AZURE_TENANT_ID"),
            get("AZURE_CLIENT_ID"),
            get("AZURE_FEDERATED_TOKEN_FILE"),
        ) {
            (Some(tenant), Some(client_id), Some(file)) => {
                with_authority_host(options, get("AZURE_AUTHORITY_HOST")).and_then(|options| {
                    Self::credential(&tenant, &client_id, PathBuf::from(file), options)
                })
            }
            _ => Err(AuthError::Unavailable(
                "WorkloadIdentityCredential: AZURE_TENANT_ID, AZURE_CLIENT_ID and \
                 AZURE_FEDERATED_TOKEN_FILE are not all set"
                    .into(),
            )),
        };
        Self { inner }
    }

    /// A credential for this tenant, client and token file, with explicit options.
    ///
    /// # Errors
    /// [`AuthError::Configuration`] for an invalid tenant or client id.
    pub fn with_options(
        tenant_id: &str,
        client_id: &str,
        token_file: impl Into<PathBuf>,
        options: CredentialOptions,
    ) -> Result<Self, AuthError> {
        Self::credential(tenant_id, client_id, token_file.into(), options)
            .map(|c| Self { inner: Ok(c) })
    }

    fn credential(
        tenant: &str,
        client_id: &str,
        file: PathBuf,
        options: CredentialOptions,
    ) -> Result<ClientAssertionCredential, AuthError> {
        ClientAssertionCredential::with_options(
            tenant,
            client_id,
            AssertionSource::file(file),
            options,
        )
    }

    /// Whether the variables named a usable credential.
    pub fn is_configured(&self) -> bool {
        self.inner.is_ok()
    }
}

impl Default for WorkloadIdentityCredential {
    fn default() -> Self {
        Self::new()
    }
}

/// `AZURE_AUTHORITY_HOST`, when set, as the options' cloud (keeping its Graph endpoint).
pub(crate) fn with_authority_host(
    options: CredentialOptions,
    host: Option<String>,
) -> Result<CredentialOptions, AuthError> {
    let Some(host) = host else {
        return Ok(options);
    };
    let graph = options.cloud().graph_endpoint().to_string();
    let cloud = Cloud::custom(&host, &graph)
        .map_err(|e| AuthError::config(format!("AZURE_AUTHORITY_HOST: {e}")))?;
    Ok(options.with_cloud(cloud))
}

#[async_trait]
impl TokenCredential for WorkloadIdentityCredential {
    async fn get_token(&self, request: &TokenRequest) -> Result<AccessToken, AuthError> {
        match &self.inner {
            Ok(credential) => credential.get_token(request).await,
            Err(error) => Err(error.clone()),
        }
    }

    fn bind(&self, environment: &crate::CredentialEnvironment) -> Result<(), AuthError> {
        match &self.inner {
            Ok(credential) => credential.bind(environment),
            Err(_) => Ok(()),
        }
    }
}
