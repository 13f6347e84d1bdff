//! How a client authenticates to the token endpoint: a secret (in the body or HTTP Basic),
//! a certificate-signed assertion, a federated assertion, or nothing (public clients).

use std::fmt;
use std::sync::Arc;

use secrecy::SecretString;
use url::Url;

use super::client_assertion::AssertionSource;
use super::client_certificate::ClientCertificate;
use crate::AuthError;
use crate::clock::Clock;
use crate::endpoint::TokenForm;

const JWT_BEARER_ASSERTION: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Client authentication for confidential clients (or none, for public clients).
///
/// ```
/// use msgraph_typed_auth::ClientAuthentication;
///
/// let in_body = ClientAuthentication::secret("app-secret");
/// let basic = ClientAuthentication::secret_basic("app-secret");
/// let public = ClientAuthentication::none();
/// assert!(!format!("{in_body:?} {basic:?}").contains("app-secret"));
/// # let _ = public;
/// ```
#[derive(Clone)]
pub struct ClientAuthentication(pub(crate) Kind);

#[derive(Clone)]
pub(crate) enum Kind {
    Secret { secret: SecretString, basic: bool },
    Certificate(Arc<ClientCertificate>),
    Assertion(AssertionSource),
    None,
}

impl ClientAuthentication {
    /// A client secret sent in the request body (`client_secret_post`).
    pub fn secret(secret: impl Into<String>) -> Self {
        Self(Kind::Secret {
            secret: SecretString::from(secret.into()),
            basic: false,
        })
    }

    /// A client secret sent as HTTP Basic authentication (`client_secret_basic`).
    pub fn secret_basic(secret: impl Into<String>) -> Self {
        Self(Kind::Secret {
            secret: SecretString::from(secret.into()),
            basic: true,
        })
    }

    /// A certificate: each request carries a fresh signed client assertion.
    pub fn certificate(certificate: ClientCertificate) -> Self {
        Self(Kind::Certificate(Arc::new(certificate)))
    }

    /// A federated assertion from a callback or a file (see [`crate::ClientAssertionCredential`]).
    pub fn assertion(source: AssertionSource) -> Self {
        Self(Kind::Assertion(source))
    }

    /// No client authentication (a public client, e.g. a native app using PKCE).
    pub fn none() -> Self {
        Self(Kind::None)
    }

    /// Adds the client's identity and proof to `form`.
    pub(crate) async fn apply(
        &self,
        form: &mut TokenForm,
        client_id: &str,
        token_url: &Url,
        clock: &dyn Clock,
    ) -> Result<(), AuthError> {
        match &self.0 {
            Kind::Secret {
                secret,
                basic: true,
            } => {
                form.basic_auth(client_id, secret);
            }
            Kind::Secret {
                secret,
                basic: false,
            } => {
                form.plain("client_id", client_id)
                    .secret("client_secret", secret);
            }
            Kind::Certificate(certificate) => {
                let assertion =
                    certificate.sign_assertion(client_id, token_url.as_str(), clock.now())?;
                form.plain("client_id", client_id)
                    .plain("client_assertion_type", JWT_BEARER_ASSERTION)
                    .secret("client_assertion", &assertion);
            }
            Kind::Assertion(source) => {
                let assertion = source.assertion().await?;
                form.plain("client_id", client_id)
                    .plain("client_assertion_type", JWT_BEARER_ASSERTION)
                    .secret("client_assertion", &assertion);
            }
            Kind::None => {
                form.plain("client_id", client_id);
            }
        }
        Ok(())
    }
}

impl fmt::Debug for ClientAuthentication {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Kind::Secret { basic, .. } => f
                .debug_struct("ClientAuthentication::Secret")
                .field("secret", &"[REDACTED]")
                .field("basic", basic)
                .finish(),
            Kind::Certificate(c) => f
                .debug_tuple("ClientAuthentication::Certificate")
                .field(c)
                .finish(),
            Kind::Assertion(s) => f
                .debug_tuple("ClientAuthentication::Assertion")
                .field(s)
                .finish(),
            Kind::None => f.write_str("ClientAuthentication::None"),
        }
    }
}
