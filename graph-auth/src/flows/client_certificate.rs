//! Certificate credentials: a client assertion signed with the app's private key (REQ-45).

use std::fmt;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey};
use rsa::pkcs8::DecodePrivateKey;
use secrecy::SecretString;
use serde::Serialize;
use sha1::Sha1;
use sha2::{Digest, Sha256};

use super::client_auth::ClientAuthentication;
use super::client_secret::ClientCredentialsFlow;
use super::{Core, CredentialOptions};
use crate::{AccessToken, AuthError, TokenCredential, TokenRequest};

/// Lifetime of a signed client assertion (Entra accepts up to 10 minutes).
const ASSERTION_LIFETIME: Duration = Duration::from_secs(600);

/// The signature algorithm of client assertions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AssertionAlgorithm {
    /// RSASSA-PSS with SHA-256 and an `x5t#S256` header (the default; what Entra ID prefers).
    Ps256,
    /// RSASSA-PKCS1-v1_5 with SHA-256 and an `x5t` (SHA-1) header, for legacy or non-Entra authorities.
    Rs256,
}

/// A certificate (PEM) and its RSA private key (PKCS#8 or PKCS#1 PEM, unencrypted).
pub struct ClientCertificate {
    key: EncodingKey,
    chain_der: Vec<Vec<u8>>,
    thumbprint_sha1: String,
    thumbprint_sha256: String,
    algorithm: AssertionAlgorithm,
    send_x5c: bool,
}

impl ClientCertificate {
    /// Reads a PEM holding the certificate (and optionally its chain) and the private key.
    ///
    /// # Errors
    /// [`AuthError::Configuration`] when no certificate or no RSA private key is found, or the
    /// key is encrypted.
    pub fn from_pem(pem: &[u8]) -> Result<Self, AuthError> {
        Self::from_pem_parts(pem, pem)
    }

    /// Reads the certificate and the private key from separate PEM texts.
    ///
    /// # Errors
    /// As [`ClientCertificate::from_pem`].
    pub fn from_pem_parts(
        certificate_pem: &[u8],
        private_key_pem: &[u8],
    ) -> Result<Self, AuthError> {
        let blocks = pem::parse_many(certificate_pem)
            .map_err(|e| AuthError::config(format!("certificate PEM does not parse: {e}")))?;
        let chain_der: Vec<Vec<u8>> = blocks
            .iter()
            .filter(|b| b.tag() == "CERTIFICATE")
            .map(|b| b.contents().to_vec())
            .collect();
        let leaf = chain_der
            .first()
            .ok_or_else(|| AuthError::config("no CERTIFICATE block in the certificate PEM"))?;
        let key_blocks = pem::parse_many(private_key_pem)
            .map_err(|e| AuthError::config(format!("private key PEM does not parse: {e}")))?;
        let key = key_blocks
            .iter()
            .find_map(|b| match b.tag() {
                "PRIVATE KEY" => Some(
                    rsa::RsaPrivateKey::from_pkcs8_der(b.contents()).map_err(|e| e.to_string()),
                ),
                "RSA PRIVATE KEY" => Some(
                    rsa::RsaPrivateKey::from_pkcs1_der(b.contents()).map_err(|e| e.to_string()),
                ),
                _ => None,
            })
            .ok_or_else(|| {
                let encrypted = key_blocks
                    .iter()
                    .any(|b| b.tag() == "ENCRYPTED PRIVATE KEY");
                AuthError::config(if encrypted {
                    "the private key is encrypted; decrypt it first".to_string()
                } else {
                    "no PRIVATE KEY or RSA PRIVATE KEY block in the private key PEM".to_string()
                })
            })?
            .map_err(|e| {
                AuthError::config(format!("the private key is not a valid RSA key: {e}"))
            })?;
        let pkcs1 = key
            .to_pkcs1_der()
            .map_err(|e| AuthError::config(format!("cannot encode the private key: {e}")))?;
        Ok(Self {
            key: EncodingKey::from_rsa_der(pkcs1.as_bytes()),
            thumbprint_sha1: URL_SAFE_NO_PAD.encode(Sha1::digest(leaf)),
            thumbprint_sha256: URL_SAFE_NO_PAD.encode(Sha256::digest(leaf)),
            chain_der,
            algorithm: AssertionAlgorithm::Ps256,
            send_x5c: false,
        })
    }

    /// Reads a PEM file holding the certificate and the private key.
    ///
    /// # Errors
    /// [`AuthError::Configuration`] when the file cannot be read or parsed.
    pub fn from_pem_file(path: impl AsRef<Path>) -> Result<Self, AuthError> {
        let path = path.as_ref();
        let pem = std::fs::read(path).map_err(|e| {
            AuthError::config(format!(
                "cannot read certificate file {}: {e}",
                path.display()
            ))
        })?;
        Self::from_pem(&pem)
    }

    /// Chooses the signature algorithm. Defaults to [`AssertionAlgorithm::Ps256`].
    #[must_use]
    pub fn with_algorithm(mut self, algorithm: AssertionAlgorithm) -> Self {
        self.algorithm = algorithm;
        self
    }

    /// Sends the certificate chain in the `x5c` header (subject name / issuer authentication).
    /// Defaults to `false`.
    #[must_use]
    pub fn with_x5c(mut self, send: bool) -> Self {
        self.send_x5c = send;
        self
    }

    /// base64url SHA-1 thumbprint of the certificate (the `x5t` header).
    pub fn thumbprint_sha1(&self) -> &str {
        &self.thumbprint_sha1
    }

    /// base64url SHA-256 thumbprint of the certificate (the `x5t#S256` header).
    pub fn thumbprint_sha256(&self) -> &str {
        &self.thumbprint_sha256
    }

    /// A fresh signed client assertion: aud = token endpoint, iss = sub = client id, unique
    /// jti, nbf = iat = now, exp = now + 10 min.
    pub(crate) fn sign_assertion(
        &self,
        client_id: &str,
        audience: &str,
        now: SystemTime,
    ) -> Result<SecretString, AuthError> {
        #[derive(Serialize)]
        struct Claims<'a> {
            aud: &'a str,
            iss: &'a str,
            sub: &'a str,
            jti: String,
            nbf: u64,
            iat: u64,
            exp: u64,
        }
        let now_secs = now
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let mut header = match self.algorithm {
            AssertionAlgorithm::Ps256 => {
                let mut h = Header::new(Algorithm::PS256);
                h.x5t_s256 = Some(self.thumbprint_sha256.clone());
                h
            }
            AssertionAlgorithm::Rs256 => {
                let mut h = Header::new(Algorithm::RS256);
                h.x5t = Some(self.thumbprint_sha1.clone());
                h
            }
        };
        if self.send_x5c {
            header.x5c = Some(
                self.chain_der
                    .iter()
                    .map(|der| STANDARD.encode(der))
                    .collect(),
            );
        }
        let claims = Claims {
            aud: audience,
            iss: client_id,
            sub: client_id,
            jti: uuid::Uuid::new_v4().to_string(),
            nbf: now_secs,
            iat: now_secs,
            exp: now_secs + ASSERTION_LIFETIME.as_secs(),
        };
        jsonwebtoken::encode(&header, &claims, &self.key)
            .map(SecretString::from)
            .map_err(|e| AuthError::config(format!("cannot sign the client assertion: {e}")))
    }
}

impl fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCertificate")
            .field("x5t#S256", &self.thumbprint_sha256)
            .field("algorithm", &self.algorithm)
            .field("send_x5c", &self.send_x5c)
            .field("private_key", &"[REDACTED]")
            .finish()
    }
}

/// Client credentials with a certificate: the app authenticates as itself with a signed
/// assertion (REQ-44, 45).
///
/// ```no_run
/// use graph_auth::{ClientCertificate, ClientCertificateCredential, TokenCredential, TokenRequest};
///
/// # async fn demo() -> Result<(), graph_auth::AuthError> {
/// let certificate = ClientCertificate::from_pem_file("/etc/my-app/cert-and-key.pem")?;
/// let credential = ClientCertificateCredential::new("contoso.onmicrosoft.com", "my-client-id", certificate)?;
/// let token = credential
///     .get_token(&TokenRequest::new(["https://graph.microsoft.com/.default"]))
///     .await?;
/// # let _ = token; Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ClientCertificateCredential {
    flow: ClientCredentialsFlow,
}

impl ClientCertificateCredential {
    /// A credential for `client_id` in `tenant_id` with default options.
    ///
    /// # Errors
    /// [`AuthError::Configuration`] for an invalid tenant or client id.
    pub fn new(
        tenant_id: &str,
        client_id: &str,
        certificate: ClientCertificate,
    ) -> Result<Self, AuthError> {
        Self::with_options(
            tenant_id,
            client_id,
            certificate,
            CredentialOptions::default(),
        )
    }

    /// A credential with explicit options (cloud, HTTP client, cache, ...).
    ///
    /// # Errors
    /// [`AuthError::Configuration`] for an invalid tenant, client id or authority.
    pub fn with_options(
        tenant_id: &str,
        client_id: &str,
        certificate: ClientCertificate,
        options: CredentialOptions,
    ) -> Result<Self, AuthError> {
        let core = Core::new(tenant_id, client_id, options)?;
        Ok(Self {
            flow: ClientCredentialsFlow::new(core, ClientAuthentication::certificate(certificate)),
        })
    }
}

#[async_trait]
impl TokenCredential for ClientCertificateCredential {
    async fn get_token(&self, request: &TokenRequest) -> Result<AccessToken, AuthError> {
        self.flow.get_token(request).await
    }
}
