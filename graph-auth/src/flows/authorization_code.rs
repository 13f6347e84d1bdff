//! Authorization code with PKCE S256: an authorize URL with state and nonce, the
//! code redemption, then refresh-token rotation through [`RefreshTokenCredential`].

use std::fmt;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::digest::{SHA256, digest};
use ring::rand::{SecureRandom, SystemRandom};
use secrecy::SecretString;
use url::Url;

use super::client_auth::ClientAuthentication;
use super::refresh_token::{DelegatedFlow, RefreshTokenCredential};
use super::{Core, CredentialOptions};
use crate::endpoint::TokenForm;
use crate::{AccessToken, AuthError, TokenCredential, TokenRequest};

/// Scopes that ask for OpenID Connect data or a refresh token, not for an API.
const OIDC_SCOPES: &[&str] = &["openid", "profile", "email", "offline_access"];

/// How the authorization server returns the code to the redirect URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ResponseMode {
    /// An HTML form POSTed to the redirect URI (recommended: the code stays out of URLs and logs).
    #[default]
    FormPost,
    /// Query parameters on the redirect URI.
    Query,
}

/// Starts authorization-code sign-ins and redeems their codes.
///
/// ```no_run
/// use msgraph_typed_auth::{AuthorizationCodeFlow, ClientAuthentication, ResponseMode, TokenCredential, TokenRequest};
///
/// # async fn demo() -> Result<(), msgraph_typed_auth::AuthError> {
/// let flow = AuthorizationCodeFlow::new(
///     "common",
///     "my-client-id",
///     "http://localhost:8765/callback",
///     ClientAuthentication::none(),
/// )?;
/// let session = flow
///     .start(["openid", "offline_access", "https://graph.microsoft.com/User.Read"])
///     .with_response_mode(ResponseMode::Query)
///     .with_login_hint("alice@contoso.com");
/// println!("open {}", session.url()?);
/// // ... the browser comes back to the redirect URI with ?code=...&state=...
/// # let redirected_to = String::new();
/// let code = session.code_from_redirect(&redirected_to)?;
/// let credential = flow.redeem(&session, &code).await?;
/// let token = credential
///     .get_token(&TokenRequest::new(["https://graph.microsoft.com/User.Read"]))
///     .await?; // served from the cache, refreshed with the rotated refresh token later
/// # let _ = token; Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct AuthorizationCodeFlow {
    core: Core,
    auth: ClientAuthentication,
    redirect_uri: String,
}

impl AuthorizationCodeFlow {
    /// A flow for `client_id` returning to `redirect_uri`, with default options.
    ///
    /// # Errors
    /// [`AuthError::Configuration`] for an invalid tenant, client id or redirect URI.
    pub fn new(
        tenant_id: &str,
        client_id: &str,
        redirect_uri: &str,
        auth: ClientAuthentication,
    ) -> Result<Self, AuthError> {
        Self::with_options(
            tenant_id,
            client_id,
            redirect_uri,
            auth,
            CredentialOptions::default(),
        )
    }

    /// A flow with explicit options.
    ///
    /// # Errors
    /// [`AuthError::Configuration`] for an invalid tenant, client id, authority or redirect URI.
    pub fn with_options(
        tenant_id: &str,
        client_id: &str,
        redirect_uri: &str,
        auth: ClientAuthentication,
        options: CredentialOptions,
    ) -> Result<Self, AuthError> {
        Url::parse(redirect_uri)
            .map_err(|e| AuthError::config(format!("invalid redirect URI: {e}")))?;
        Ok(Self {
            core: Core::new(tenant_id, client_id, options)?,
            auth,
            redirect_uri: redirect_uri.to_string(),
        })
    }

    /// A new sign-in: fresh PKCE verifier, state and nonce from the operating system's CSPRNG.
    ///
    /// # Panics
    /// When the operating system cannot provide random bytes (`getrandom(2)` and `/dev/urandom`
    /// both fail), since no secure verifier can be made then.
    pub fn start<I, S>(&self, scopes: I) -> AuthorizationSession
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let verifier = random_token(32);
        let challenge = URL_SAFE_NO_PAD.encode(digest(&SHA256, verifier.as_bytes()));
        AuthorizationSession {
            authorize_url: self.core.endpoint_url(&self.core.tenant, "authorize"),
            client_id: self.core.client_id.clone(),
            redirect_uri: self.redirect_uri.clone(),
            scopes: scopes.into_iter().map(Into::into).collect(),
            state: random_token(16),
            nonce: random_token(16),
            verifier: SecretString::from(verifier),
            challenge,
            response_mode: ResponseMode::default(),
            login_hint: None,
            prompt: None,
        }
    }

    /// Redeems `code` (with the session's PKCE verifier) and returns a credential holding the
    /// tokens. The access token for the session's API scopes is cached at once.
    ///
    /// # Errors
    /// [`AuthError`] from the token endpoint (for example `invalid_grant` for a used code).
    pub async fn redeem(
        &self,
        session: &AuthorizationSession,
        code: &str,
    ) -> Result<AuthorizationCodeCredential, AuthError> {
        let tenant = self.core.tenant.clone();
        let url = self.core.endpoint_url(&tenant, "token")?;
        let mut form = TokenForm::new("authorization_code");
        form.secret("code", &SecretString::from(code.to_string()))
            .plain("redirect_uri", self.redirect_uri.clone())
            .secret("code_verifier", &session.verifier)
            .plain("scope", session.scopes.join(" "));
        if let Some(claims) = self.core.claims_param(None)? {
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
        let response = self
            .core
            .endpoint
            .token(&url, &form, "authorization_code")
            .await?;
        check_nonce(response.id_token.as_ref(), &session.nonce)?;
        let flow = DelegatedFlow::new(self.core.clone(), self.auth.clone(), None, None, None);
        let api_scopes: Vec<String> = session
            .scopes
            .iter()
            .filter(|s| !OIDC_SCOPES.contains(&s.as_str()))
            .cloned()
            .collect();
        flow.store(&tenant, &TokenRequest::new(api_scopes), &response)
            .await;
        Ok(AuthorizationCodeCredential {
            inner: RefreshTokenCredential::from_flow(flow),
        })
    }
}

/// OpenID Connect Core 3.1.3.7: when the authorize request carried a nonce, the ID token
/// must carry the same one (it binds the tokens to this sign-in and defeats replayed codes).
/// The ID token came straight from the token endpoint over TLS, so its payload is read
/// without verifying the signature. No ID token (no `openid` scope): nothing to check.
fn check_nonce(id_token: Option<&SecretString>, expected: &str) -> Result<(), AuthError> {
    use secrecy::ExposeSecret;
    let Some(id_token) = id_token else {
        return Ok(());
    };
    let invalid = |detail: &str| AuthError::InvalidResponse {
        status: 200,
        detail: detail.to_string(),
        retry_after: None,
    };
    let payload = id_token
        .expose_secret()
        .split('.')
        .nth(1)
        .ok_or_else(|| invalid("the ID token is not a JWT"))?;
    let bytes = URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| invalid("the ID token's payload is not base64url"))?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|_| invalid("the ID token's payload is not JSON"))?;
    match claims.get("nonce").and_then(serde_json::Value::as_str) {
        Some(nonce) if nonce == expected => Ok(()),
        Some(_) => Err(invalid(
            "the ID token's nonce does not match this sign-in session",
        )),
        None => Err(invalid(
            "the ID token has no nonce although the sign-in sent one",
        )),
    }
}

/// One sign-in in progress: the authorize URL and the secrets to check and redeem its answer.
#[derive(Clone)]
pub struct AuthorizationSession {
    authorize_url: Result<Url, AuthError>,
    client_id: String,
    redirect_uri: String,
    scopes: Vec<String>,
    state: String,
    nonce: String,
    verifier: SecretString,
    challenge: String,
    response_mode: ResponseMode,
    login_hint: Option<String>,
    prompt: Option<String>,
}

impl AuthorizationSession {
    /// Sets how the code comes back. Defaults to [`ResponseMode::FormPost`].
    #[must_use]
    pub fn with_response_mode(mut self, mode: ResponseMode) -> Self {
        self.response_mode = mode;
        self
    }

    /// Pre-fills the account. Defaults to none.
    #[must_use]
    pub fn with_login_hint(mut self, hint: impl Into<String>) -> Self {
        self.login_hint = Some(hint.into());
        self
    }

    /// Sets `prompt` (`login`, `consent`, `select_account`). Defaults to none.
    #[must_use]
    pub fn with_prompt(mut self, prompt: impl Into<String>) -> Self {
        self.prompt = Some(prompt.into());
        self
    }

    /// The URL to send the user's browser to.
    ///
    /// # Errors
    /// [`AuthError::Configuration`] when the authority URL could not be built.
    pub fn url(&self) -> Result<Url, AuthError> {
        let mut url = self.authorize_url.clone()?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("client_id", &self.client_id)
                .append_pair("response_type", "code")
                .append_pair("redirect_uri", &self.redirect_uri)
                .append_pair("scope", &self.scopes.join(" "))
                .append_pair("state", &self.state)
                .append_pair("nonce", &self.nonce)
                .append_pair("code_challenge", &self.challenge)
                .append_pair("code_challenge_method", "S256")
                .append_pair(
                    "response_mode",
                    match self.response_mode {
                        ResponseMode::FormPost => "form_post",
                        ResponseMode::Query => "query",
                    },
                );
            if let Some(hint) = &self.login_hint {
                q.append_pair("login_hint", hint);
            }
            if let Some(prompt) = &self.prompt {
                q.append_pair("prompt", prompt);
            }
        }
        Ok(url)
    }

    /// The `state` value; the answer must carry the same one.
    pub fn state(&self) -> &str {
        &self.state
    }

    /// The `nonce` value; the ID token must carry the same one.
    pub fn nonce(&self) -> &str {
        &self.nonce
    }

    /// The requested scopes.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// Checks the `state` of an answer and returns its code.
    ///
    /// # Errors
    /// [`AuthError::Configuration`] when the state does not match (a forged or mixed-up
    /// answer) or the code is missing; [`AuthError::Service`] when the answer is an error
    /// (`error`, `error_description`).
    pub fn check_answer(
        &self,
        code: Option<&str>,
        state: Option<&str>,
        error: Option<(&str, Option<&str>)>,
    ) -> Result<String, AuthError> {
        if state != Some(self.state.as_str()) {
            return Err(AuthError::config(
                "the authorization answer's state does not match this session",
            ));
        }
        if let Some((error, description)) = error {
            return Err(AuthError::Service {
                status: 400,
                error: Box::new(crate::EntraError {
                    error: error.to_string(),
                    error_description: description.map(str::to_string),
                    ..crate::EntraError::default()
                }),
                retry_after: None,
            });
        }
        code.filter(|c| !c.is_empty())
            .map(str::to_string)
            .ok_or_else(|| AuthError::config("the authorization answer has no code"))
    }

    /// Reads the code from the URL the browser was redirected to (query mode), checking `state`.
    ///
    /// # Errors
    /// As [`AuthorizationSession::check_answer`], or when the URL does not parse.
    pub fn code_from_redirect(&self, redirect: &str) -> Result<String, AuthError> {
        let url = Url::parse(redirect)
            .map_err(|e| AuthError::config(format!("invalid redirect URL: {e}")))?;
        let get = |name: &str| {
            url.query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
        };
        let (code, state, error, description) = (
            get("code"),
            get("state"),
            get("error"),
            get("error_description"),
        );
        self.check_answer(
            code.as_deref(),
            state.as_deref(),
            error.as_deref().map(|e| (e, description.as_deref())),
        )
    }

    #[cfg(test)]
    pub(crate) fn verifier(&self) -> &str {
        secrecy::ExposeSecret::expose_secret(&self.verifier)
    }
}

impl fmt::Debug for AuthorizationSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizationSession")
            .field("client_id", &self.client_id)
            .field("redirect_uri", &self.redirect_uri)
            .field("scopes", &self.scopes)
            .field("response_mode", &self.response_mode)
            .field("verifier", &"[REDACTED]")
            .finish_non_exhaustive()
    }
}

/// The tokens of a completed authorization-code sign-in: serves access tokens from the cache
/// and refreshes them with the (rotating) refresh token. [`AuthorizationCodeFlow::redeem`]
/// gives one.
///
/// ```no_run
/// use msgraph_typed_auth::{AuthorizationCodeFlow, ClientAuthentication, TokenCredential, TokenRequest};
///
/// # async fn demo(code_from_the_redirect: &str) -> Result<(), msgraph_typed_auth::AuthError> {
/// let flow = AuthorizationCodeFlow::new(
///     "organizations",
///     "web-app-client-id",
///     "https://app.example.com/callback",
///     ClientAuthentication::secret("web-app-secret"),
/// )?;
/// let session = flow.start(["https://graph.microsoft.com/User.Read", "offline_access"]);
/// // ... the browser signs in at session.url()? and comes back with a code ...
/// let credential = flow.redeem(&session, code_from_the_redirect).await?;
/// let token = credential
///     .get_token(&TokenRequest::new(["https://graph.microsoft.com/User.Read"]))
///     .await?;
/// // Persist the newest refresh token to resume after a restart.
/// let _refresh = credential.current_refresh_token().await;
/// # let _ = token; Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct AuthorizationCodeCredential {
    inner: RefreshTokenCredential,
}

impl AuthorizationCodeCredential {
    /// The newest refresh token, for the application to persist. Handle it as a secret.
    pub async fn current_refresh_token(&self) -> Option<SecretString> {
        self.inner.current_refresh_token().await
    }
}

#[async_trait]
impl TokenCredential for AuthorizationCodeCredential {
    async fn get_token(&self, request: &TokenRequest) -> Result<AccessToken, AuthError> {
        self.inner.get_token(request).await
    }
    fn bind(&self, environment: &crate::CredentialEnvironment) -> Result<(), AuthError> {
        self.inner.bind(environment)
    }
}

/// `bytes` bytes from the operating system's CSPRNG, base64url-encoded (PKCE verifier, state, nonce).
fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    SystemRandom::new()
        .fill(&mut buf)
        // Only fails when the kernel has no random source at all; a predictable verifier or
        // state would defeat PKCE and CSRF protection, so there is no safe fallback.
        .expect("the operating system's random number generator failed");
    URL_SAFE_NO_PAD.encode(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_tokens_are_fresh_base64url_values_of_the_asked_size() {
        let verifier = random_token(32);
        assert_eq!(verifier.len(), 43, "32 bytes are 43 base64url characters");
        assert_eq!(URL_SAFE_NO_PAD.decode(&verifier).unwrap().len(), 32);
        let tokens: std::collections::HashSet<String> = (0..50).map(|_| random_token(16)).collect();
        assert_eq!(tokens.len(), 50, "no repeats");
    }

    #[test]
    fn the_id_token_nonce_must_match_the_session() {
        let jwt = |claims: serde_json::Value| {
            SecretString::from(format!(
                "eyJhbGciOiJSUzI1NiJ9.{}.sig",
                URL_SAFE_NO_PAD.encode(claims.to_string())
            ))
        };
        assert!(check_nonce(None, "n1").is_ok());
        assert!(check_nonce(Some(&jwt(serde_json::json!({"nonce": "n1"}))), "n1").is_ok());
        let wrong = check_nonce(Some(&jwt(serde_json::json!({"nonce": "n2"}))), "n1").unwrap_err();
        assert!(wrong.to_string().contains("nonce"), "{wrong}");
        assert!(!wrong.is_retryable());
        assert!(check_nonce(Some(&jwt(serde_json::json!({"sub": "x"}))), "n1").is_err());
        assert!(check_nonce(Some(&SecretString::from("garbage".to_string())), "n1").is_err());
    }

    #[test]
    fn authorize_url_carries_pkce_s256_state_and_nonce() {
        let flow = AuthorizationCodeFlow::new(
            "common",
            "cid",
            "http://127.0.0.1:8765/callback",
            ClientAuthentication::none(),
        )
        .unwrap();
        let session = flow
            .start(["openid", "https://graph.microsoft.com/User.Read"])
            .with_login_hint("bob");
        let url = session.url().unwrap();
        assert!(
            url.as_str()
                .starts_with("https://login.microsoftonline.com/common/oauth2/v2.0/authorize?")
        );
        let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(
            q["code_challenge"],
            URL_SAFE_NO_PAD.encode(digest(&SHA256, session.verifier().as_bytes()))
        );
        assert_eq!(q["state"], session.state());
        assert_eq!(q["nonce"], session.nonce());
        assert_eq!(q["response_mode"], "form_post");
        assert_eq!(q["login_hint"], "bob");
        assert!(!url.as_str().contains(session.verifier()));
        // the state is checked
        let good = format!(
            "http://127.0.0.1:8765/callback?code=abc&state={}",
            session.state()
        );
        assert_eq!(session.code_from_redirect(&good).unwrap(), "abc");
        assert!(
            session
                .code_from_redirect("http://127.0.0.1:8765/callback?code=abc&state=forged")
                .is_err()
        );
        let denied = format!("http://x/cb?error=access_denied&state={}", session.state());
        assert_eq!(
            session
                .code_from_redirect(&denied)
                .unwrap_err()
                .error_code(),
            Some("access_denied")
        );
        // each session is fresh
        let other = flow.start(["openid"]);
        assert_ne!(other.state(), session.state());
    }
}
