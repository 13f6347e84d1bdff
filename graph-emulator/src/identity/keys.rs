//! The emulator's token-signing key: an RSA 2048 key generated at start, published as a JWKS entry
//! with a self-signed certificate (so `x5t` and `x5c` look like Entra's).

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, TokenData, Validation};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::{EncodePrivateKey, LineEnding};
use rsa::traits::PublicKeyParts;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha1::{Digest, Sha1};

use crate::error::Error;

/// The RSA key pair that signs every token this emulator issues.
pub(crate) struct SigningKey {
    kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    modulus: String,
    exponent: String,
    certificate_der_b64: String,
    /// The private key as PKCS#8 PEM, so a caller can persist it and start a later emulator
    /// with the same key (tokens then stay valid across restarts). A test key, never a secret
    /// of anything real.
    private_pem: String,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// The key shared by the emulators of one process (see [`SigningKey::shared`]).
static SHARED: tokio::sync::OnceCell<Arc<SigningKey>> = tokio::sync::OnceCell::const_new();

impl SigningKey {
    /// The process-wide signing key, generated on first use. RSA key generation takes seconds in
    /// unoptimised builds, so emulators started by one test binary share it; their tokens still
    /// do not cross over, because each emulator checks the issuer (which contains its port).
    pub(crate) async fn shared() -> Result<Arc<SigningKey>, Error> {
        SHARED
            .get_or_try_init(Self::generate_blocking)
            .await
            .cloned()
    }

    /// Generates a fresh key on the blocking pool.
    pub(crate) async fn generate_blocking() -> Result<Arc<SigningKey>, Error> {
        tokio::task::spawn_blocking(SigningKey::generate)
            .await
            .map_err(|e| Error::Key(e.to_string()))?
            .map(Arc::new)
    }

    /// Generates a fresh RSA 2048 key and a self-signed certificate for it.
    pub(crate) fn generate() -> Result<Self, Error> {
        let mut rng = rand::rngs::OsRng;
        let private = rsa::RsaPrivateKey::new(&mut rng, 2048).map_err(Error::key)?;
        Self::from_private_key(private)
    }

    /// A signing key from a PKCS#8 PEM private key (as returned by [`SigningKey::private_pem`]).
    pub(crate) fn from_pkcs8_pem(pem: &str) -> Result<Self, Error> {
        use rsa::pkcs8::DecodePrivateKey;
        let private = rsa::RsaPrivateKey::from_pkcs8_pem(pem).map_err(|e| {
            Error::Key(format!(
                "the signing key is not a PKCS#8 RSA private key: {e}"
            ))
        })?;
        Self::from_private_key(private)
    }

    /// The private key as PKCS#8 PEM.
    pub(crate) fn private_pem(&self) -> &str {
        &self.private_pem
    }

    fn from_private_key(private: rsa::RsaPrivateKey) -> Result<Self, Error> {
        let pkcs1 = private.to_pkcs1_der().map_err(Error::key)?;
        let pkcs8_pem = private.to_pkcs8_pem(LineEnding::LF).map_err(Error::key)?;
        let key_pair =
            rcgen::KeyPair::from_pkcs8_pem_and_sign_algo(&pkcs8_pem, &rcgen::PKCS_RSA_SHA256)
                .map_err(Error::key)?;
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(Error::key)?;
        params.distinguished_name.push(
            rcgen::DnType::CommonName,
            "msgraph-typed-emulator token signing",
        );
        let certificate = params.self_signed(&key_pair).map_err(Error::key)?;
        let der = certificate.der();
        let public = private.to_public_key();
        let modulus = URL_SAFE_NO_PAD.encode(public.n().to_bytes_be());
        let exponent = URL_SAFE_NO_PAD.encode(public.e().to_bytes_be());
        let decoding = DecodingKey::from_rsa_components(&modulus, &exponent).map_err(Error::key)?;
        Ok(SigningKey {
            // Entra uses the certificate thumbprint as the key id.
            kid: URL_SAFE_NO_PAD.encode(Sha1::digest(der)),
            encoding: EncodingKey::from_rsa_der(pkcs1.as_bytes()),
            decoding,
            modulus,
            exponent,
            certificate_der_b64: STANDARD.encode(der),
            private_pem: pkcs8_pem.to_string(),
        })
    }

    /// Signs `claims` as an RS256 JWT with `kid` and `x5t` headers.
    pub(crate) fn sign<T: Serialize>(
        &self,
        claims: &T,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let mut header = Header::new(Algorithm::RS256);
        header.typ = Some("JWT".to_owned());
        header.kid = Some(self.kid.clone());
        header.x5t = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding)
    }

    /// Verifies an RS256 token signed by this key, with the given validation rules.
    pub(crate) fn verify<T: DeserializeOwned>(
        &self,
        token: &str,
        validation: &Validation,
    ) -> Result<TokenData<T>, jsonwebtoken::errors::Error> {
        jsonwebtoken::decode(token, &self.decoding, validation)
    }

    /// The JSON Web Key Set document served at `/{tenant}/discovery/v2.0/keys`.
    pub(crate) fn jwks(&self, issuer: &str) -> serde_json::Value {
        serde_json::json!({
            "keys": [{
                "kty": "RSA",
                "use": "sig",
                "alg": "RS256",
                "kid": self.kid,
                "x5t": self.kid,
                "n": self.modulus,
                "e": self.exponent,
                "x5c": [self.certificate_der_b64],
                "issuer": issuer,
            }]
        })
    }
}
