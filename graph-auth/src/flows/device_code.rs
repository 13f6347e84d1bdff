//! Device code (RFC 8628): show a code, poll as the server says, then refresh with rotation.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use secrecy::SecretString;
use serde_json::Value;

use super::client_auth::ClientAuthentication;
use super::refresh_token::{DelegatedFlow, Interactive};
use super::{Core, CredentialOptions};
use crate::endpoint::{TokenForm, TokenResponse};
use crate::{AccessToken, AuthError, TokenCredential, TokenRequest};

const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// Added to the polling interval on `slow_down` (RFC 8628 §3.5).
const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);

/// What to show the user.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DeviceCodeInfo {
    /// The code the user types.
    pub user_code: String,
    /// Where the user types it.
    pub verification_uri: String,
    /// A ready-made message from the server, when it sent one.
    pub message: Option<String>,
    /// How long the code is valid.
    pub expires_in: Duration,
}

type Prompt = dyn Fn(&DeviceCodeInfo) + Send + Sync;

#[derive(Clone)]
struct DeviceCode {
    prompt: Arc<Prompt>,
}

impl fmt::Debug for DeviceCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DeviceCode")
    }
}

#[async_trait]
impl Interactive for DeviceCode {
    async fn acquire(
        &self,
        core: &Core,
        auth: &ClientAuthentication,
        tenant: &str,
        scope: &str,
    ) -> Result<TokenResponse, AuthError> {
        let clock = core.manager.clock().clone();
        let device_url = core.endpoint_url(tenant, "devicecode")?;
        let token_url = core.endpoint_url(tenant, "token")?;
        let mut form = TokenForm::default();
        // offline_access gets a refresh token, so the user signs in once, not once per token.
        let scope = if scope.split(' ').any(|s| s == "offline_access") {
            scope.to_string()
        } else {
            format!("{scope} offline_access")
        };
        form.plain("client_id", core.client_id.clone())
            .plain("scope", scope);
        let (status, answer) = core
            .endpoint
            .post(&device_url, &form, "device_code_request")
            .await?;
        let text = |name: &str| answer.get(name).and_then(Value::as_str).map(str::to_string);
        let secs = |name: &str| {
            answer.get(name).and_then(|v| {
                v.as_u64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            })
        };
        let invalid = |what: &str| AuthError::InvalidResponse {
            status,
            detail: format!("the device code answer has no {what}"),
            retry_after: None,
        };
        let device_code =
            SecretString::from(text("device_code").ok_or_else(|| invalid("device_code"))?);
        let info = DeviceCodeInfo {
            user_code: text("user_code").ok_or_else(|| invalid("user_code"))?,
            verification_uri: text("verification_uri")
                .or_else(|| text("verification_url"))
                .ok_or_else(|| invalid("verification_uri"))?,
            message: text("message"),
            expires_in: Duration::from_secs(secs("expires_in").unwrap_or(900)),
        };
        let mut interval = Duration::from_secs(secs("interval").unwrap_or(5));
        let deadline = clock.now() + info.expires_in;
        (self.prompt)(&info);
        loop {
            clock.sleep(interval).await;
            if clock.now() >= deadline {
                return Err(AuthError::Service {
                    status: 400,
                    error: Box::new(crate::EntraError {
                        error: "expired_token".into(),
                        error_description: Some(
                            "the device code expired before the user signed in".into(),
                        ),
                        ..crate::EntraError::default()
                    }),
                    retry_after: None,
                });
            }
            let mut poll = TokenForm::new(DEVICE_CODE_GRANT);
            poll.secret("device_code", &device_code);
            auth.apply(&mut poll, &core.client_id, &token_url, clock.as_ref())
                .await?;
            match core.endpoint.token(&token_url, &poll, "device_code").await {
                Ok(response) => return Ok(response),
                Err(e) if e.error_code() == Some("authorization_pending") => {}
                Err(e) if e.error_code() == Some("slow_down") => interval += SLOW_DOWN_STEP,
                Err(e) => return Err(e),
            }
        }
    }
}

/// Device code sign-in for devices without a browser. The callback shows the user code;
/// the credential polls as the server says, then keeps the tokens fresh with the rotating
/// refresh token and signs in again only when that fails with `interaction_required`.
///
/// ```no_run
/// use msgraph_typed_auth::{DeviceCodeCredential, TokenCredential, TokenRequest};
///
/// # async fn demo() -> Result<(), msgraph_typed_auth::AuthError> {
/// let credential = DeviceCodeCredential::new("organizations", "my-public-client-id", |info| {
///     println!("Go to {} and enter {}", info.verification_uri, info.user_code);
/// })?;
/// let token = credential
///     .get_token(&TokenRequest::new(["https://graph.microsoft.com/User.Read", "offline_access"]))
///     .await?;
/// # let _ = token; Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct DeviceCodeCredential {
    flow: DelegatedFlow,
}

impl DeviceCodeCredential {
    /// A public-client credential with default options; `prompt` is called with the code to show.
    ///
    /// # Errors
    /// [`AuthError::Configuration`] for an invalid tenant or client id.
    pub fn new<F>(tenant_id: &str, client_id: &str, prompt: F) -> Result<Self, AuthError>
    where
        F: Fn(&DeviceCodeInfo) + Send + Sync + 'static,
    {
        Self::with_options(
            tenant_id,
            client_id,
            ClientAuthentication::none(),
            prompt,
            CredentialOptions::default(),
        )
    }

    /// A credential with explicit client authentication and options.
    ///
    /// # Errors
    /// [`AuthError::Configuration`] for an invalid tenant, client id or authority.
    pub fn with_options<F>(
        tenant_id: &str,
        client_id: &str,
        auth: ClientAuthentication,
        prompt: F,
        options: CredentialOptions,
    ) -> Result<Self, AuthError>
    where
        F: Fn(&DeviceCodeInfo) + Send + Sync + 'static,
    {
        let core = Core::new(tenant_id, client_id, options)?;
        let interactive: Arc<dyn Interactive> = Arc::new(DeviceCode {
            prompt: Arc::new(prompt),
        });
        Ok(Self {
            flow: DelegatedFlow::new(core, auth, None, None, Some(interactive)),
        })
    }
}

#[async_trait]
impl TokenCredential for DeviceCodeCredential {
    async fn get_token(&self, request: &TokenRequest) -> Result<AccessToken, AuthError> {
        self.flow.get_token(request).await
    }
    fn bind(&self, environment: &crate::CredentialEnvironment) -> Result<(), AuthError> {
        self.flow.bind(environment)
    }
}
