//! The credential trait every flow implements, and the request it answers.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use crate::{AccessToken, AuthError, CredentialEnvironment};

/// What a caller asks a credential for: scopes, optional claims, optional tenant
/// and whether the cache must be bypassed.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct TokenRequest {
    /// Scopes, for example `https://graph.microsoft.com/.default`.
    pub scopes: Vec<String>,
    /// A claims challenge (JSON, already base64-decoded) to send to the token endpoint.
    pub claims: Option<String>,
    /// A tenant that overrides the credential's own tenant for this request.
    pub tenant_id: Option<String>,
    /// Skip the cache and fetch a new token; the token the caller saw rejected is evicted.
    pub force_refresh: bool,
}

impl TokenRequest {
    /// A request for these scopes, with no claims, the credential's tenant and the cache allowed.
    pub fn new<I, S>(scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            scopes: scopes.into_iter().map(Into::into).collect(),
            ..Self::default()
        }
    }

    /// Sets a claims challenge (decoded JSON). Defaults to none.
    #[must_use]
    pub fn with_claims(mut self, claims: impl Into<String>) -> Self {
        self.claims = Some(claims.into());
        self
    }

    /// Sets the tenant for this request only. Defaults to the credential's tenant.
    #[must_use]
    pub fn with_tenant(mut self, tenant_id: impl Into<String>) -> Self {
        self.tenant_id = Some(tenant_id.into());
        self
    }

    /// Bypasses the cache (used after a 401 or a claims challenge). Defaults to `false`.
    #[must_use]
    pub fn with_force_refresh(mut self, force: bool) -> Self {
        self.force_refresh = force;
        self
    }
}

impl fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenRequest")
            .field("scopes", &self.scopes)
            .field("claims", &self.claims.as_ref().map(|_| "[present]"))
            .field("tenant_id", &self.tenant_id)
            .field("force_refresh", &self.force_refresh)
            .finish()
    }
}

/// Something that returns access tokens. Object safe: use it as `Arc<dyn TokenCredential>`.
///
/// Implement it yourself to plug in your own token source; the credentials in this
/// crate all implement it through the shared token manager.
///
/// ```
/// use msgraph_typed_auth::{AccessToken, AuthError, TokenCredential, TokenRequest};
/// use std::time::{Duration, SystemTime};
///
/// /// Tokens from a sidecar that already holds them.
/// #[derive(Debug)]
/// struct Sidecar;
///
/// #[async_trait::async_trait]
/// impl TokenCredential for Sidecar {
///     async fn get_token(&self, request: &TokenRequest) -> Result<AccessToken, AuthError> {
///         let _scopes = &request.scopes; // ask your token source for these
///         Ok(AccessToken::new("token", SystemTime::now() + Duration::from_secs(3600)))
///     }
/// }
/// ```
#[async_trait]
pub trait TokenCredential: Send + Sync + fmt::Debug {
    /// Returns a token for `request`, from the cache when a fresh one is there.
    ///
    /// # Errors
    /// [`AuthError`] when no token can be obtained; see its predicates.
    async fn get_token(&self, request: &TokenRequest) -> Result<AccessToken, AuthError>;

    /// Called once by a Graph client that is given this credential, with the client's cloud
    /// and HTTP client. The credentials of this crate take whichever of the two they were not
    /// configured with, so the cloud is set once (on the client) and token traffic shares the
    /// client's connection pool and proxy. Defaults to accepting and ignoring them.
    ///
    /// # Errors
    /// [`AuthError::Configuration`] when the credential was configured with, or already bound
    /// to, another cloud's authority: a token must never be asked of one cloud for another.
    fn bind(&self, environment: &CredentialEnvironment) -> Result<(), AuthError> {
        let _ = environment;
        Ok(())
    }
}

#[async_trait]
impl<T: TokenCredential + ?Sized> TokenCredential for Arc<T> {
    async fn get_token(&self, request: &TokenRequest) -> Result<AccessToken, AuthError> {
        (**self).get_token(request).await
    }

    fn bind(&self, environment: &CredentialEnvironment) -> Result<(), AuthError> {
        (**self).bind(environment)
    }
}

/// A credential that always returns the same token, for tests and for tokens obtained elsewhere.
///
/// ```
/// use msgraph_typed_auth::{AccessToken, StaticTokenCredential};
/// use std::time::{Duration, SystemTime};
///
/// let credential = StaticTokenCredential::new(AccessToken::new(
///     "eyJ0eXAi...",
///     SystemTime::now() + Duration::from_secs(3600),
/// ));
/// # let _ = credential;
/// ```
#[derive(Debug, Clone)]
pub struct StaticTokenCredential {
    token: AccessToken,
}

impl StaticTokenCredential {
    /// Wraps a token that was obtained outside this crate.
    pub fn new(token: AccessToken) -> Self {
        Self { token }
    }
}

#[async_trait]
impl TokenCredential for StaticTokenCredential {
    async fn get_token(&self, _request: &TokenRequest) -> Result<AccessToken, AuthError> {
        Ok(self.token.clone())
    }
}
