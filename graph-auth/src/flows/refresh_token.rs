//! Delegated tokens from a refresh token, with rotation: every redemption replaces
//! the stored refresh token, in memory and in the cache.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};

use super::client_auth::ClientAuthentication;
use super::{Core, CredentialOptions, require_scopes};
use crate::cache::CachedToken;
use crate::endpoint::{TokenForm, TokenResponse};
use crate::{AccessToken, AuthError, CredentialEnvironment, TokenCredential, TokenRequest};

/// Kept when the server does not say how long a refresh token lives (Entra: 90 days).
const DEFAULT_REFRESH_TOKEN_LIFETIME: Duration = Duration::from_secs(90 * 24 * 3600);

/// A way to get the first tokens when there is no refresh token yet (device code).
#[async_trait]
pub(crate) trait Interactive: Send + Sync + fmt::Debug {
    async fn acquire(
        &self,
        core: &Core,
        auth: &ClientAuthentication,
        tenant: &str,
        scope: &str,
    ) -> Result<TokenResponse, AuthError>;
}

/// The machinery shared by every delegated credential.
#[derive(Clone)]
pub(crate) struct DelegatedFlow {
    pub(crate) core: Arc<Core>,
    auth: ClientAuthentication,
    /// The current refresh token; the lock also keeps two redemptions from racing (a
    /// rotated refresh token must never be used twice).
    refresh_token: Arc<tokio::sync::Mutex<Option<SecretString>>>,
    partition: String,
    interactive: Option<Arc<dyn Interactive>>,
}

impl fmt::Debug for DelegatedFlow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DelegatedFlow")
            .field("core", &self.core)
            .field("auth", &self.auth)
            .field("refresh_token", &"[REDACTED]")
            .field("partition", &self.partition)
            .finish()
    }
}

impl DelegatedFlow {
    pub(crate) fn bind(&self, environment: &CredentialEnvironment) -> Result<(), AuthError> {
        self.core.bind(environment)
    }

    pub(crate) fn new(
        core: Core,
        auth: ClientAuthentication,
        refresh_token: Option<SecretString>,
        account: Option<String>,
        interactive: Option<Arc<dyn Interactive>>,
    ) -> Self {
        Self {
            core: Arc::new(core),
            auth,
            refresh_token: Arc::new(tokio::sync::Mutex::new(refresh_token)),
            partition: account.unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
            interactive,
        }
    }

    /// Stores the tokens of a response: the access token under `request`'s key and the
    /// rotated refresh token.
    pub(crate) async fn store(
        &self,
        tenant: &str,
        request: &TokenRequest,
        response: &TokenResponse,
    ) -> AccessToken {
        let now = self.core.manager.clock().now();
        let token = response.access_token(now);
        self.store_refresh_token(tenant, response).await;
        let key = self
            .core
            .access_key(tenant, request, Some(self.partition.clone()));
        if let Ok(ttl) = token.expires_on().duration_since(now)
            && let Err(e) = self
                .core
                .manager
                .cache()
                .set(&key, &CachedToken::from(&token), ttl)
                .await
        {
            tracing::warn!(error = %e, "token cache write failed");
        }
        token
    }

    async fn store_refresh_token(&self, tenant: &str, response: &TokenResponse) {
        let Some(new_rt) = &response.refresh_token else {
            return;
        };
        *self.refresh_token.lock().await = Some(new_rt.clone());
        self.mirror_refresh_token(tenant, new_rt, response.refresh_token_expires_in)
            .await;
    }

    async fn mirror_refresh_token(
        &self,
        tenant: &str,
        rt: &SecretString,
        lifetime: Option<Duration>,
    ) {
        let lifetime = lifetime.unwrap_or(DEFAULT_REFRESH_TOKEN_LIFETIME);
        let now = self.core.manager.clock().now();
        let value = CachedToken::new(rt.expose_secret(), now + lifetime, None);
        let key = self.core.refresh_key(tenant, Some(self.partition.clone()));
        if let Err(e) = self.core.manager.cache().set(&key, &value, lifetime).await {
            tracing::warn!(error = %e, "refresh token cache write failed");
        }
    }

    pub(crate) async fn get_token(&self, request: &TokenRequest) -> Result<AccessToken, AuthError> {
        let scope = require_scopes(request)?;
        let tenant = self.core.tenant_for(request)?.to_string();
        let key = self
            .core
            .access_key(&tenant, request, Some(self.partition.clone()));
        let this = self.clone();
        let claims = self.core.claims_param(request.claims.as_deref())?;
        self.core
            .manager
            .get_token(&key, request.force_refresh, move || async move {
                let response = this.redeem(&tenant, &scope, claims.as_deref()).await?;
                Ok(response.access_token(this.core.manager.clock().now()))
            })
            .await
    }

    /// Redeems the refresh token (or runs the interactive flow when there is none) and
    /// stores the rotated refresh token.
    async fn redeem(
        &self,
        tenant: &str,
        scope: &str,
        claims: Option<&str>,
    ) -> Result<TokenResponse, AuthError> {
        let mut guard = self.refresh_token.lock().await;
        if guard.is_none() {
            let key = self.core.refresh_key(tenant, Some(self.partition.clone()));
            if let Ok(Some(cached)) = self.core.manager.cache().get(&key).await {
                *guard = Some(SecretString::from(cached.secret().to_string()));
            }
        }
        let response = match guard.clone() {
            Some(rt) => {
                let url = self.core.endpoint_url(tenant, "token")?;
                let mut form = TokenForm::new("refresh_token");
                form.secret("refresh_token", &rt).plain("scope", scope);
                if let Some(claims) = claims {
                    form.plain("claims", claims);
                }
                self.auth
                    .apply(
                        &mut form,
                        &self.core.client_id,
                        &url,
                        self.core.manager.clock().as_ref(),
                    )
                    .await?;
                match self.core.endpoint.token(&url, &form, "refresh_token").await {
                    Ok(response) => response,
                    Err(e) if e.is_interaction_required() && self.interactive.is_some() => {
                        *guard = None;
                        self.interactive_acquire(tenant, scope).await?
                    }
                    Err(e) => return Err(e),
                }
            }
            None => match &self.interactive {
                Some(_) => self.interactive_acquire(tenant, scope).await?,
                None => {
                    return Err(AuthError::Unavailable(
                        "no refresh token is available; the user must sign in again".into(),
                    ));
                }
            },
        };
        if let Some(new_rt) = &response.refresh_token {
            *guard = Some(new_rt.clone());
            self.mirror_refresh_token(tenant, new_rt, response.refresh_token_expires_in)
                .await;
        }
        Ok(response)
    }

    async fn interactive_acquire(
        &self,
        tenant: &str,
        scope: &str,
    ) -> Result<TokenResponse, AuthError> {
        match &self.interactive {
            Some(interactive) => {
                interactive
                    .acquire(&self.core, &self.auth, tenant, scope)
                    .await
            }
            None => Err(AuthError::Unavailable(
                "no interactive flow configured".into(),
            )),
        }
    }
}

/// Delegated tokens from a refresh token obtained elsewhere (for example stored after an
/// earlier sign-in). Refresh tokens rotate on every use; the newest one is kept (in memory
/// and in the cache) and is available from [`RefreshTokenCredential::current_refresh_token`]
/// so an application can persist it.
///
/// ```no_run
/// use msgraph_typed_auth::{ClientAuthentication, RefreshTokenCredential, TokenCredential, TokenRequest};
///
/// # async fn demo(stored_refresh_token: String) -> Result<(), msgraph_typed_auth::AuthError> {
/// let credential = RefreshTokenCredential::new(
///     "common",
///     "my-public-client-id",
///     stored_refresh_token,
///     ClientAuthentication::none(),
/// )?;
/// let token = credential
///     .get_token(&TokenRequest::new(["https://graph.microsoft.com/User.Read"]))
///     .await?;
/// # let _ = token; Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct RefreshTokenCredential {
    flow: DelegatedFlow,
}

impl RefreshTokenCredential {
    /// A credential starting from `refresh_token`, with default options.
    ///
    /// # Errors
    /// [`AuthError::Configuration`] for an invalid tenant or client id.
    pub fn new(
        tenant_id: &str,
        client_id: &str,
        refresh_token: impl Into<String>,
        auth: ClientAuthentication,
    ) -> Result<Self, AuthError> {
        Self::with_options(
            tenant_id,
            client_id,
            refresh_token,
            auth,
            CredentialOptions::default(),
        )
    }

    /// A credential with explicit options.
    ///
    /// # Errors
    /// [`AuthError::Configuration`] for an invalid tenant, client id or authority.
    pub fn with_options(
        tenant_id: &str,
        client_id: &str,
        refresh_token: impl Into<String>,
        auth: ClientAuthentication,
        options: CredentialOptions,
    ) -> Result<Self, AuthError> {
        let core = Core::new(tenant_id, client_id, options)?;
        let rt = SecretString::from(refresh_token.into());
        Ok(Self {
            flow: DelegatedFlow::new(core, auth, Some(rt), None, None),
        })
    }

    pub(crate) fn from_flow(flow: DelegatedFlow) -> Self {
        Self { flow }
    }

    /// The newest refresh token (after rotation), for the application to persist.
    /// Handle it as a secret.
    pub async fn current_refresh_token(&self) -> Option<SecretString> {
        self.flow.refresh_token.lock().await.clone()
    }
}

#[async_trait]
impl TokenCredential for RefreshTokenCredential {
    async fn get_token(&self, request: &TokenRequest) -> Result<AccessToken, AuthError> {
        self.flow.get_token(request).await
    }
    fn bind(&self, environment: &crate::CredentialEnvironment) -> Result<(), AuthError> {
        self.flow.bind(environment)
    }
}
