//! HTTPS: a local certificate authority and a server certificate for 127.0.0.1/localhost/::1 it
//! signs (generated with rcgen), or a certificate chain and key from PEM, served with rustls
//! (ring provider).
//!
//! Clients trust the authority's certificate (`REQUESTS_CA_BUNDLE`, `NODE_EXTRA_CA_CERTS`, ...):
//! a self-signed CA certificate is the trust anchor every TLS stack accepts, where some refuse a
//! self-signed server certificate that is not a CA.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::error::Error;

/// A TLS identity as PEM text: what the server presents and what clients trust.
#[derive(Clone)]
pub(crate) struct TlsIdentity {
    /// The certificate clients add to their trust store (the CA, or the given chain).
    pub trust_pem: String,
    /// The server's certificate chain (leaf first).
    pub chain_pem: String,
    /// The server's private key (PKCS#8 PEM).
    pub key_pem: String,
}

impl std::fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsIdentity").finish_non_exhaustive()
    }
}

/// Generates a CA and a server certificate for `127.0.0.1`, `localhost` and `::1` signed by it.
pub(crate) fn generate() -> Result<TlsIdentity, Error> {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
        KeyUsagePurpose,
    };
    let ca_key = KeyPair::generate().map_err(Error::tls)?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(Error::tls)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "msgraph-typed-emulator local CA");
    let ca = ca_params.self_signed(&ca_key).map_err(Error::tls)?;

    let key = KeyPair::generate().map_err(Error::tls)?;
    let mut params = CertificateParams::new(vec![
        "127.0.0.1".to_owned(),
        "localhost".to_owned(),
        "::1".to_owned(),
    ])
    .map_err(Error::tls)?;
    params
        .distinguished_name
        .push(DnType::CommonName, "msgraph-typed-emulator");
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    // Strict verifiers (OpenSSL's X509_STRICT, on by default in Python 3.13) want the leaf to
    // name its issuer's key.
    params.use_authority_key_identifier_extension = true;
    let leaf = params.signed_by(&key, &ca, &ca_key).map_err(Error::tls)?;
    Ok(TlsIdentity {
        trust_pem: ca.pem(),
        chain_pem: format!("{}{}", leaf.pem(), ca.pem()),
        key_pem: key.serialize_pem(),
    })
}

/// The rustls configuration serving `identity`.
pub(crate) fn server_config(
    identity: &TlsIdentity,
) -> Result<axum_server::tls_rustls::RustlsConfig, Error> {
    let chain = CertificateDer::pem_slice_iter(identity.chain_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::Tls(format!("the TLS certificate is not PEM: {e}")))?;
    if chain.is_empty() {
        return Err(Error::Tls(
            "the TLS certificate file holds no CERTIFICATE block".to_owned(),
        ));
    }
    let key = PrivateKeyDer::from_pem_slice(identity.key_pem.as_bytes())
        .map_err(|e| Error::Tls(format!("the TLS key is not a PEM private key: {e}")))?;
    // The server config names the ring provider itself. The process-wide default is installed
    // too (if none is yet) so that rustls clients in the same process, which look it up, find one
    // even when several providers are compiled in; an already installed default is kept.
    let _already_installed = rustls::crypto::ring::default_provider().install_default();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(Error::tls)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(Error::tls)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(axum_server::tls_rustls::RustlsConfig::from_config(
        Arc::new(config),
    ))
}
