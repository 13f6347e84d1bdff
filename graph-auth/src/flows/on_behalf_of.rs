//! On-behalf-of: a web API exchanges its caller's token for a Graph token.
//! One credential serves every user; tokens are cached per user under the SHA-256 of the
//! incoming assertion, never under the assertion itself.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use secrecy::SecretString;

use super::client_auth::ClientAuthentication;
use super::{Core, CredentialOptions, require_scopes};
use crate::cache::hash_secret;
use crate::endpoint::TokenForm;
use crate::{AccessToken, AuthError, TokenCredential, TokenRequest};

const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// The token a web API received from its caller (its audience is the web API).
#[derive(Clone)]
pub struct UserAssertion {
    assertion: SecretString,
    partition: String,
}

impl UserAssertion {
    /// Wraps the incoming token; it is cached under base64url(SHA-256(token)).
    pub fn new(token: impl Into<String>) -> Self {
        let token = token.into();
        let partition = hash_secret(&token);
        Self {
            assertion: SecretString::from(token),
            partition,
        }
    }

    /// The cache partition: base64url(SHA-256(assertion)).
    pub fn partition(&self) -> &str {
        &self.partition
    }
}

impl fmt::Debug for UserAssertion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserAssertion")
            .field("assertion", &"[REDACTED]")
            .field("partition", &self.partition)
            .finish()
    }
}

/// The on-behalf-of flow for a middle-tier web API.
///
/// When Entra ID needs the user to do something first (MFA, consent, conditional access),
/// the error is typed: [`AuthError::is_interaction_required`] is true and
/// [`AuthError::claims`] holds the claims challenge the web API sends back to its client in
/// a `WWW-Authenticate` header. It is never retried silently.
///
/// ```no_run
/// use msgraph_typed_auth::{ClientAuthentication, OnBehalfOfCredential, TokenRequest, UserAssertion};
///
/// # async fn demo(incoming_bearer_token: String) -> Result<(), msgraph_typed_auth::AuthError> {
/// // Once, at start-up:
/// let obo = OnBehalfOfCredential::new(
///     "contoso.onmicrosoft.com",
///     "web-api-client-id",
///     ClientAuthentication::secret("web-api-secret"),
/// )?;
/// // Per incoming request:
/// let user = UserAssertion::new(incoming_bearer_token);
/// match obo.get_token_for(&user, &TokenRequest::new(["https://graph.microsoft.com/.default"])).await {
///     Ok(token) => { /* call Graph with token.secret() */ let _ = token; }
///     Err(e) if e.is_interaction_required() => {
///         // answer 401 with: WWW-Authenticate: Bearer error="insufficient_claims", claims="<base64 of e.claims()>"
///     }
///     Err(e) => return Err(e),
/// }
/// // Or hand a per-user credential to a Graph client (shares the cache and the manager):
/// let per_user = obo.for_user(UserAssertion::new("eyJ..."));
/// # let _ = per_user; Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct OnBehalfOfCredential {
    core: Arc<Core>,
    auth: ClientAuthentication,
}

impl OnBehalfOfCredential {
    /// A credential for the web API `client_id` with default options.
    ///
    /// # Errors
    /// [`AuthError::Configuration`] for an invalid tenant or client id.
    pub fn new(
        tenant_id: &str,
        client_id: &str,
        auth: ClientAuthentication,
    ) -> Result<Self, AuthError> {
        Self::with_options(tenant_id, client_id, auth, CredentialOptions::default())
    }

    /// A credential with explicit options.
    ///
    /// # Errors
    /// [`AuthError::Configuration`] for an invalid tenant, client id or authority, or a
    /// public client (OBO needs client authentication).
    pub fn with_options(
        tenant_id: &str,
        client_id: &str,
        auth: ClientAuthentication,
        options: CredentialOptions,
    ) -> Result<Self, AuthError> {
        if matches!(auth.0, super::client_auth::Kind::None) {
            return Err(AuthError::config(
                "on-behalf-of needs client authentication (a secret, certificate or assertion)",
            ));
        }
        Ok(Self {
            core: Arc::new(Core::new(tenant_id, client_id, options)?),
            auth,
        })
    }

    /// A token for Graph (or another API) on behalf of the user whose token is `user`.
    ///
    /// # Errors
    /// [`AuthError`]; see [`AuthError::is_interaction_required`] and [`AuthError::claims`].
    pub async fn get_token_for(
        &self,
        user: &UserAssertion,
        request: &TokenRequest,
    ) -> Result<AccessToken, AuthError> {
        let scope = require_scopes(request)?;
        let tenant = self.core.tenant_for(request)?.to_string();
        let key = self
            .core
            .access_key(&tenant, request, Some(user.partition.clone()));
        let core = self.core.clone();
        let auth = self.auth.clone();
        let assertion = user.assertion.clone();
        let claims = self.core.claims_param(request.claims.as_deref())?;
        self.core
            .manager
            .get_token(&key, request.force_refresh, move || async move {
                let url = core.endpoint_url(&tenant, "token")?;
                let mut form = TokenForm::new(JWT_BEARER_GRANT);
                form.secret("assertion", &assertion)
                    .plain("requested_token_use", "on_behalf_of")
                    .plain("scope", scope);
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
                // OBO refresh tokens are dropped: this is not a long-running OBO session.
                let response = core.endpoint.token(&url, &form, "on_behalf_of").await?;
                Ok(response.access_token(core.manager.clock().now()))
            })
            .await
    }

    /// Takes a Graph client's cloud and HTTP client unless this credential has its own (see
    /// [`TokenCredential::bind`]).
    ///
    /// # Errors
    /// As [`TokenCredential::bind`].
    pub fn bind(&self, environment: &crate::CredentialEnvironment) -> Result<(), AuthError> {
        self.core.bind(environment)
    }

    /// A [`TokenCredential`] for one user, sharing this credential's cache and manager.
    pub fn for_user(&self, user: UserAssertion) -> OnBehalfOfUser {
        OnBehalfOfUser {
            credential: self.clone(),
            user,
        }
    }
}

/// [`OnBehalfOfCredential`] bound to one user's assertion; cheap to create per request.
#[derive(Debug, Clone)]
pub struct OnBehalfOfUser {
    credential: OnBehalfOfCredential,
    user: UserAssertion,
}

#[async_trait]
impl TokenCredential for OnBehalfOfUser {
    async fn get_token(&self, request: &TokenRequest) -> Result<AccessToken, AuthError> {
        self.credential.get_token_for(&self.user, request).await
    }
    fn bind(&self, environment: &crate::CredentialEnvironment) -> Result<(), AuthError> {
        self.credential.bind(environment)
    }
}
