//! HTTPS: a self-signed certificate for 127.0.0.1/localhost generated at start with rcgen, served
//! with rustls (ring provider).

use std::sync::Arc;

use crate::error::Error;

/// A generated certificate and the rustls configuration that serves it.
pub(crate) struct Tls {
    pub certificate_pem: String,
    pub config: axum_server::tls_rustls::RustlsConfig,
}

/// Generates a self-signed certificate for `127.0.0.1`, `localhost` and `::1`.
pub(crate) fn generate() -> Result<Tls, Error> {
    let certified = rcgen::generate_simple_self_signed(vec![
        "127.0.0.1".to_owned(),
        "localhost".to_owned(),
        "::1".to_owned(),
    ])
    .map_err(Error::tls)?;
    let certificate_pem = certified.cert.pem();
    let cert_der = certified.cert.der().clone();
    let key_der = rustls::pki_types::PrivateKeyDer::Pkcs8(
        rustls::pki_types::PrivatePkcs8KeyDer::from(certified.key_pair.serialize_der()),
    );
    // The server config names the ring provider itself. The process-wide default is installed
    // too (if none is yet) so that rustls clients in the same process, which look it up, find one
    // even when several providers are compiled in; an already installed default is kept.
    let _already_installed = rustls::crypto::ring::default_provider().install_default();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(Error::tls)?
        .with_no_client_auth()
        .with_single_cert(vec![cert_der], key_der)
        .map_err(Error::tls)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Tls {
        certificate_pem,
        config: axum_server::tls_rustls::RustlsConfig::from_config(Arc::new(config)),
    })
}
