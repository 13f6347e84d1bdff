//! Certificate credentials: a client assertion signed with the app's private key.

use std::fmt;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::digest::{SHA1_FOR_LEGACY_USE_ONLY, SHA256, digest};
use ring::error::KeyRejected;
use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RSA_PSS_SHA256, RsaEncoding, RsaKeyPair};
use secrecy::SecretString;
use serde::Serialize;

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

/// A certificate (PEM) and its RSA private key (PKCS#8 or PKCS#1 PEM, unencrypted, 2048 to
/// 4096 bits, as Entra ID requires at least 2048).
pub struct ClientCertificate {
    key: RsaKeyPair,
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
    /// [`AuthError::Configuration`] when no certificate or no RSA private key is found, the key
    /// is encrypted, or it is not a usable RSA key (another algorithm, malformed, or a size
    /// outside 2048 to 4096 bits); the message says which.
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
        if chain_der.is_empty() {
            return Err(AuthError::config(
                "no CERTIFICATE block in the certificate PEM",
            ));
        }
        let key_blocks = pem::parse_many(private_key_pem)
            .map_err(|e| AuthError::config(format!("private key PEM does not parse: {e}")))?;
        let key = key_blocks
            .iter()
            .find_map(|b| match b.tag() {
                "PRIVATE KEY" => Some(RsaKeyPair::from_pkcs8(b.contents())),
                "RSA PRIVATE KEY" => Some(RsaKeyPair::from_der(b.contents())),
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
            })?;
        Self::from_der_parts(chain_der, key)
    }

    /// The leaf certificate first, then its chain (DER), and the parsed key.
    pub(crate) fn from_der_parts(
        chain_der: Vec<Vec<u8>>,
        key: Result<RsaKeyPair, KeyRejected>,
    ) -> Result<Self, AuthError> {
        let key = key.map_err(|rejected| {
            AuthError::config(format!(
                "the private key is not a valid RSA key: {}",
                key_rejection_reason(&rejected)
            ))
        })?;
        let leaf = chain_der
            .first()
            .ok_or_else(|| AuthError::config("no certificate was found"))?;
        Ok(Self {
            key,
            thumbprint_sha1: URL_SAFE_NO_PAD.encode(digest(&SHA1_FOR_LEGACY_USE_ONLY, leaf)),
            thumbprint_sha256: URL_SAFE_NO_PAD.encode(digest(&SHA256, leaf)),
            chain_der,
            algorithm: AssertionAlgorithm::Ps256,
            send_x5c: false,
        })
    }

    /// Reads a certificate file: a PEM (certificate and key), or with the `pkcs12` feature a
    /// PKCS#12 (`.pfx` / `.p12`) file opened with `password` (`None` for an unprotected one),
    /// as `AZURE_CLIENT_CERTIFICATE_PATH` and `AZURE_CLIENT_CERTIFICATE_PASSWORD` name them.
    ///
    /// # Errors
    /// [`AuthError::Configuration`] when the file cannot be read or parsed, the password is
    /// wrong, or it is a PKCS#12 file and the `pkcs12` feature is off.
    pub fn from_file(path: impl AsRef<Path>, password: Option<&str>) -> Result<Self, AuthError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| {
            AuthError::config(format!(
                "cannot read certificate file {}: {e}",
                path.display()
            ))
        })?;
        if bytes.trim_ascii_start().starts_with(b"-----BEGIN") {
            return Self::from_pem(&bytes);
        }
        #[cfg(feature = "pkcs12")]
        {
            Self::from_pkcs12(&bytes, password.unwrap_or_default())
        }
        #[cfg(not(feature = "pkcs12"))]
        {
            let _ = password;
            Err(AuthError::config(format!(
                "{} is not a PEM file; PKCS#12 (.pfx) certificates need the `pkcs12` feature",
                path.display()
            )))
        }
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
        let (alg, padding, x5t, x5t_s256): (_, &'static dyn RsaEncoding, _, _) =
            match self.algorithm {
                AssertionAlgorithm::Ps256 => (
                    "PS256",
                    &RSA_PSS_SHA256,
                    None,
                    Some(self.thumbprint_sha256.as_str()),
                ),
                AssertionAlgorithm::Rs256 => (
                    "RS256",
                    &RSA_PKCS1_SHA256,
                    Some(self.thumbprint_sha1.as_str()),
                    None,
                ),
            };
        let header = Header {
            alg,
            typ: "JWT",
            x5t,
            x5t_s256,
            x5c: self.send_x5c.then(|| {
                self.chain_der
                    .iter()
                    .map(|der| STANDARD.encode(der))
                    .collect()
            }),
        };
        let claims = Claims {
            aud: audience,
            iss: client_id,
            sub: client_id,
            jti: uuid::Uuid::new_v4().to_string(),
            nbf: now_secs,
            iat: now_secs,
            exp: now_secs + ASSERTION_LIFETIME.as_secs(),
        };
        // JWS compact serialisation (RFC 7515 §7.1): base64url(header).base64url(claims).base64url(signature).
        let mut jwt = String::new();
        for part in [json_part(&header)?, json_part(&claims)?] {
            if !jwt.is_empty() {
                jwt.push('.');
            }
            URL_SAFE_NO_PAD.encode_string(part, &mut jwt);
        }
        let mut signature = vec![0; self.key.public().modulus_len()];
        self.key
            .sign(
                padding,
                &SystemRandom::new(),
                jwt.as_bytes(),
                &mut signature,
            )
            .map_err(|_| {
                AuthError::config("cannot sign the client assertion: the RSA signature failed")
            })?;
        jwt.push('.');
        URL_SAFE_NO_PAD.encode_string(signature, &mut jwt);
        Ok(SecretString::from(jwt))
    }
}

/// The JOSE header of a client assertion: only the members this SDK sends.
#[derive(Serialize)]
struct Header<'a> {
    alg: &'static str,
    typ: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    x5t: Option<&'a str>,
    #[serde(rename = "x5t#S256", skip_serializing_if = "Option::is_none")]
    x5t_s256: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    x5c: Option<Vec<String>>,
}

/// One JWS part as JSON bytes.
fn json_part(value: &impl Serialize) -> Result<Vec<u8>, AuthError> {
    serde_json::to_vec(value)
        .map_err(|e| AuthError::config(format!("cannot serialise the client assertion: {e}")))
}

/// Why ring refused a private key, in words a user can act on.
fn key_rejection_reason(rejected: &KeyRejected) -> String {
    match rejected.to_string().as_str() {
        "WrongAlgorithm" => "it is not an RSA key (client assertions are signed with RSA)".into(),
        "TooSmall" => "the key is smaller than 2048 bits".into(),
        "TooLarge" => "the key is larger than 4096 bits".into(),
        "PrivateModulusLenNotMultipleOf512Bits" => {
            "unsupported key size (use 2048, 3072 or 4096 bits)".into()
        }
        "InvalidEncoding" | "VersionNotSupported" | "PublicKeyIsMissing" => {
            "the DER inside the PEM block is malformed or not a private key".into()
        }
        "InconsistentComponents" | "InvalidComponent" => {
            "its components are inconsistent or out of range".into()
        }
        other => format!("rejected ({other})"),
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
/// assertion.
///
/// ```no_run
/// use msgraph_typed_auth::{ClientCertificate, ClientCertificateCredential, TokenCredential, TokenRequest};
///
/// # async fn demo() -> Result<(), msgraph_typed_auth::AuthError> {
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
    fn bind(&self, environment: &crate::CredentialEnvironment) -> Result<(), AuthError> {
        self.flow.bind(environment)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn load_error(key_pem: &[u8]) -> String {
        match ClientCertificate::from_pem_parts(&fixture("cert.pem"), key_pem) {
            Ok(_) => panic!("the key was accepted"),
            Err(e) => {
                assert!(e.is_configuration(), "{e:?}");
                e.to_string()
            }
        }
    }

    #[test]
    fn unusable_keys_say_what_is_wrong() {
        let ec = load_error(&fixture("key-ec-p256.pem"));
        assert!(
            ec.contains("not a valid RSA key") && ec.contains("not an RSA key"),
            "{ec}"
        );
        let small = load_error(&fixture("key-rsa1024.pem"));
        assert!(small.contains("smaller than 2048 bits"), "{small}");
        let garbage = load_error(
            b"-----BEGIN PRIVATE KEY-----\nAAECAwQFBgcICQ==\n-----END PRIVATE KEY-----\n",
        );
        assert!(garbage.contains("malformed"), "{garbage}");
        let garbage_pkcs1 = load_error(
            b"-----BEGIN RSA PRIVATE KEY-----\nAAECAwQFBgcICQ==\n-----END RSA PRIVATE KEY-----\n",
        );
        assert!(garbage_pkcs1.contains("malformed"), "{garbage_pkcs1}");
    }

    /// Splits a compact JWS into its decoded header and claims, and the signature bytes.
    fn parts(jwt: &str) -> (serde_json::Value, serde_json::Value, Vec<u8>) {
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3, "{jwt}");
        let json = |part: &str| -> serde_json::Value {
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
        };
        (
            json(parts[0]),
            json(parts[1]),
            URL_SAFE_NO_PAD.decode(parts[2]).unwrap(),
        )
    }

    #[test]
    fn assertions_are_signed_compact_jws_with_the_chosen_algorithm() {
        use ring::signature::{
            RSA_PKCS1_2048_8192_SHA256, RSA_PSS_2048_8192_SHA256, UnparsedPublicKey,
        };
        use secrecy::ExposeSecret;

        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        for (pem_name, algorithm) in [
            ("key-pkcs8.pem", AssertionAlgorithm::Ps256),
            ("key-pkcs1.pem", AssertionAlgorithm::Rs256),
        ] {
            let cert = ClientCertificate::from_pem_parts(&fixture("cert.pem"), &fixture(pem_name))
                .unwrap()
                .with_algorithm(algorithm);
            let jwt = cert
                .sign_assertion("app", "https://login.example/token", now)
                .unwrap();
            let jwt = jwt.expose_secret();
            let (header, claims, signature) = parts(jwt);
            assert_eq!(header["typ"], "JWT");
            assert_eq!(claims["iat"], 1_700_000_000);
            assert_eq!(claims["exp"], 1_700_000_600);
            assert_eq!(claims["aud"], "https://login.example/token");
            let verification: &dyn ring::signature::VerificationAlgorithm = match algorithm {
                AssertionAlgorithm::Ps256 => {
                    assert_eq!(header["alg"], "PS256");
                    &RSA_PSS_2048_8192_SHA256
                }
                AssertionAlgorithm::Rs256 => {
                    assert_eq!(header["alg"], "RS256");
                    &RSA_PKCS1_2048_8192_SHA256
                }
            };
            // The signature covers exactly `header.claims` and verifies with the key's public half.
            let signed = &jwt[..jwt.rfind('.').unwrap()];
            let public = UnparsedPublicKey::new(verification, cert.key.public().as_ref());
            public.verify(signed.as_bytes(), &signature).unwrap();
            assert!(
                public.verify(b"something else", &signature).is_err(),
                "a signature over other bytes must not verify"
            );
        }
    }
}
