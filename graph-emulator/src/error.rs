//! The error type of the emulator's public API.

use std::fmt;

/// Why the emulator could not start or a control operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Binding or serving the socket failed.
    #[error("emulator I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// Generating the token-signing key or its certificate failed.
    #[error("could not create the token-signing key: {0}")]
    Key(String),
    /// Generating the TLS certificate or configuring rustls failed.
    #[error("could not set up TLS: {0}")]
    Tls(String),
    /// No user with this id or userPrincipalName exists in the directory.
    #[error("no user `{0}` in the emulated directory")]
    UnknownUser(String),
    /// No app registration with this client id exists.
    #[error("no app registration with client id `{0}`")]
    UnknownApp(String),
    /// A certificate could not be parsed (expects a PEM `CERTIFICATE` with an RSA key).
    #[error("invalid certificate: {0}")]
    InvalidCertificate(String),
    /// No external token issuer with this `iss` is registered (or the emulator holds no signing
    /// key for it).
    #[error("no external issuer `{0}` the emulator can sign for")]
    UnknownIssuer(String),
    /// A configuration file or entry is invalid; the message names the file, line or field.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// Signing a token failed.
    #[error("could not sign a token: {0}")]
    Signing(String),
}

impl Error {
    pub(crate) fn key(e: impl fmt::Display) -> Self {
        Error::Key(e.to_string())
    }

    pub(crate) fn tls(e: impl fmt::Display) -> Self {
        Error::Tls(e.to_string())
    }
}
