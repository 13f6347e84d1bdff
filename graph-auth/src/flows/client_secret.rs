//! Client credentials with a secret, and the client credentials flow every
//! app-only credential shares.

use std::sync::Arc;

use async_trait::async_trait;

use super::client_auth::ClientAuthentication;
use super::{Core, CredentialOptions, require_scopes};
use crate::endpoint::TokenForm;
use crate::{AccessToken, AuthError, CredentialEnvironment, TokenCredential, TokenRequest};

/// `grant_type=client_credentials` with some client authentication, through the token manager.
#[derive(Debug, Clone)]
pub(crate) struct ClientCredentialsFlow {
    core: Arc<Core>,
    auth: ClientAuthentication,
}

impl ClientCredentialsFlow {
    pub(crate) fn bind(&self, environment: &CredentialEnvironment) -> Result<(), AuthError> {
        self.core.bind(environment)
    }

    pub(crate) fn new(core: Core, auth: ClientAuthentication) -> Self {
        Self {
            core: Arc::new(core),
            auth,
        }
    }

    pub(crate) async fn get_token(&self, request: &TokenRequest) -> Result<AccessToken, AuthError> {
        let scope = require_scopes(request)?;
        let tenant = self.core.tenant_for(request)?.to_string();
        let key = self.core.access_key(&tenant, request, None);
        let core = self.core.clone();
        let auth = self.auth.clone();
        let claims = self.core.claims_param(request.claims.as_deref())?;
        self.core
            .manager
            .get_token(&key, request.force_refresh, move || async move {
                let url = core.endpoint_url(&tenant, "token")?;
                let mut form = TokenForm::new("client_credentials");
                form.plain("scope", scope);
                if let Some(claims) = claims {
                    form.plain("claims", claims);
                }
                auth.apply(
                    &mut form,
                    &core.client_id,
                    &url,
                    core.manager.clock().as_ref(),
                )
                .await?;
                let response = core
                    .endpoint
                    .token(&url, &form, "client_credentials")
                    .await?;
                Ok(response.access_token(core.manager.clock().now()))
            })
            .await
    }
}

/// Client credentials with a client secret: the app authenticates as itself.
///
/// A long-running service creates it once and asks it for a token before every request;
/// it never sees an expired token and never writes refresh code.
///
/// ```no_run
/// use msgraph_typed_auth::{ClientSecretCredential, TokenCredential, TokenRequest};
///
/// # async fn demo() -> Result<(), msgraph_typed_auth::AuthError> {
/// let credential = ClientSecretCredential::new("contoso.onmicrosoft.com", "my-client-id", "my-secret")?;
/// let token = credential
///     .get_token(&TokenRequest::new(["https://graph.microsoft.com/.default"]))
///     .await?;
/// println!("token valid until {:?}", token.expires_on());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ClientSecretCredential {
    flow: ClientCredentialsFlow,
}

impl ClientSecretCredential {
    /// A credential sending the secret in the request body, with default options.
    ///
    /// # Errors
    /// [`AuthError::Configuration`] for an invalid tenant or an empty client id.
    pub fn new(
        tenant_id: &str,
        client_id: &str,
        secret: impl Into<String>,
    ) -> Result<Self, AuthError> {
        Self::with_options(
            tenant_id,
            client_id,
            ClientAuthentication::secret(secret),
            CredentialOptions::default(),
        )
    }

    /// A credential with explicit client authentication (use
    /// [`ClientAuthentication::secret_basic`] for HTTP Basic) and options.
    ///
    /// # Errors
    /// [`AuthError::Configuration`] for an invalid tenant, client id or authority.
    pub fn with_options(
        tenant_id: &str,
        client_id: &str,
        auth: ClientAuthentication,
        options: CredentialOptions,
    ) -> Result<Self, AuthError> {
        let core = Core::new(tenant_id, client_id, options)?;
        Ok(Self {
            flow: ClientCredentialsFlow::new(core, auth),
        })
    }
}

#[async_trait]
impl TokenCredential for ClientSecretCredential {
    async fn get_token(&self, request: &TokenRequest) -> Result<AccessToken, AuthError> {
        self.flow.get_token(request).await
    }
    fn bind(&self, environment: &crate::CredentialEnvironment) -> Result<(), AuthError> {
        self.flow.bind(environment)
    }
}
