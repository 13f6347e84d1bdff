//! Client credentials with a federated assertion from another identity provider
//! (for example a Kubernetes workload identity token file).

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use futures::future::BoxFuture;
use secrecy::SecretString;

use super::client_auth::ClientAuthentication;
use super::client_secret::ClientCredentialsFlow;
use super::{Core, CredentialOptions};
use crate::{AccessToken, AuthError, TokenCredential, TokenRequest};

type Callback = dyn Fn() -> BoxFuture<'static, Result<String, AuthError>> + Send + Sync;

/// Where a federated client assertion comes from. It is obtained again for every token
/// request, so a rotated file or a new callback value is picked up.
#[derive(Clone)]
pub struct AssertionSource(Source);

#[derive(Clone)]
enum Source {
    Callback(Arc<Callback>),
    File(PathBuf),
}

impl AssertionSource {
    /// An async callback returning the assertion (a JWT).
    pub fn callback<F>(callback: F) -> Self
    where
        F: Fn() -> BoxFuture<'static, Result<String, AuthError>> + Send + Sync + 'static,
    {
        Self(Source::Callback(Arc::new(callback)))
    }

    /// A file holding the assertion, re-read each time a token is requested (Kubernetes
    /// rotates projected service account tokens in place).
    pub fn file(path: impl Into<PathBuf>) -> Self {
        Self(Source::File(path.into()))
    }

    pub(crate) async fn assertion(&self) -> Result<SecretString, AuthError> {
        let raw = match &self.0 {
            Source::Callback(callback) => callback().await?,
            Source::File(path) => tokio::fs::read_to_string(path).await.map_err(|e| {
                AuthError::config(format!(
                    "cannot read the assertion file {}: {e}",
                    path.display()
                ))
            })?,
        };
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(AuthError::config(
                "the client assertion source returned an empty assertion",
            ));
        }
        Ok(SecretString::from(trimmed.to_string()))
    }
}

impl fmt::Debug for AssertionSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Source::Callback(_) => f.write_str("AssertionSource::Callback"),
            Source::File(path) => f.debug_tuple("AssertionSource::File").field(path).finish(),
        }
    }
}

/// Client credentials authenticated with a federated assertion (workload identity federation).
///
/// ```no_run
/// use msgraph_typed_auth::{AssertionSource, ClientAssertionCredential, TokenCredential, TokenRequest};
///
/// # async fn demo() -> Result<(), msgraph_typed_auth::AuthError> {
/// // A Kubernetes projected token, re-read on every token request:
/// let from_file = ClientAssertionCredential::new(
///     "contoso.onmicrosoft.com",
///     "my-client-id",
///     AssertionSource::file("/var/run/secrets/azure/tokens/azure-identity-token"),
/// )?;
/// // Or any async source:
/// let from_callback = ClientAssertionCredential::new(
///     "contoso.onmicrosoft.com",
///     "my-client-id",
///     AssertionSource::callback(|| Box::pin(async { Ok("eyJ...".to_string()) })),
/// )?;
/// let token = from_file
///     .get_token(&TokenRequest::new(["https://graph.microsoft.com/.default"]))
///     .await?;
/// # let _ = (token, from_callback); Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ClientAssertionCredential {
    flow: ClientCredentialsFlow,
}

impl ClientAssertionCredential {
    /// A credential with default options.
    ///
    /// # Errors
    /// [`AuthError::Configuration`] for an invalid tenant or client id.
    pub fn new(
        tenant_id: &str,
        client_id: &str,
        source: AssertionSource,
    ) -> Result<Self, AuthError> {
        Self::with_options(tenant_id, client_id, source, CredentialOptions::default())
    }

    /// A credential with explicit options.
    ///
    /// # Errors
    /// [`AuthError::Configuration`] for an invalid tenant, client id or authority.
    pub fn with_options(
        tenant_id: &str,
        client_id: &str,
        source: AssertionSource,
        options: CredentialOptions,
    ) -> Result<Self, AuthError> {
        let core = Core::new(tenant_id, client_id, options)?;
        Ok(Self {
            flow: ClientCredentialsFlow::new(core, ClientAuthentication::assertion(source)),
        })
    }
}

#[async_trait]
impl TokenCredential for ClientAssertionCredential {
    async fn get_token(&self, request: &TokenRequest) -> Result<AccessToken, AuthError> {
        self.flow.get_token(request).await
    }
    fn bind(&self, environment: &crate::CredentialEnvironment) -> Result<(), AuthError> {
        self.flow.bind(environment)
    }
}
