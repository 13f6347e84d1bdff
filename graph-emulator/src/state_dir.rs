//! A state directory: the TLS identity and the token-signing key are created there once and
//! reused, so a restarted emulator keeps its certificate (clients keep trusting it) and the tokens
//! it issued stay valid.
//!
//! Files: `signing-key.pem` (PKCS#8 RSA), `tls-ca.pem` (the certificate clients trust),
//! `tls-cert.pem` (the server chain) and `tls-key.pem`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::Error;
use crate::identity::SigningKey;
use crate::tls::{self, TlsIdentity};

const SIGNING_KEY: &str = "signing-key.pem";
const TLS_CA: &str = "tls-ca.pem";
const TLS_CERT: &str = "tls-cert.pem";
const TLS_KEY: &str = "tls-key.pem";

/// The paths of a state directory's files.
#[derive(Debug, Clone)]
pub(crate) struct StateDir {
    dir: PathBuf,
}

impl StateDir {
    pub(crate) fn new(dir: impl Into<PathBuf>) -> Self {
        StateDir { dir: dir.into() }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// The signing key, created (slowly: RSA 2048) on first use.
    pub(crate) async fn signing_key(&self) -> Result<Arc<SigningKey>, Error> {
        std::fs::create_dir_all(&self.dir)?;
        let path = self.path(SIGNING_KEY);
        if let Some(pem) = read_if_exists(&path)? {
            return SigningKey::from_pkcs8_pem(&pem)
                .map(Arc::new)
                .map_err(|e| Error::Key(format!("{}: {e}", path.display())));
        }
        let key = SigningKey::generate_blocking().await?;
        write_private(&path, key.private_pem())?;
        Ok(key)
    }

    /// The TLS identity, created on first use.
    pub(crate) fn tls_identity(&self) -> Result<TlsIdentity, Error> {
        std::fs::create_dir_all(&self.dir)?;
        let (ca, cert, key) = (
            read_if_exists(&self.path(TLS_CA))?,
            read_if_exists(&self.path(TLS_CERT))?,
            read_if_exists(&self.path(TLS_KEY))?,
        );
        if let (Some(trust_pem), Some(chain_pem), Some(key_pem)) = (ca, cert, key) {
            return Ok(TlsIdentity {
                trust_pem,
                chain_pem,
                key_pem,
            });
        }
        let identity = tls::generate()?;
        write_private(&self.path(TLS_KEY), &identity.key_pem)?;
        std::fs::write(self.path(TLS_CERT), &identity.chain_pem)?;
        std::fs::write(self.path(TLS_CA), &identity.trust_pem)?;
        Ok(identity)
    }
}

fn read_if_exists(path: &Path) -> Result<Option<String>, Error> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::Io(std::io::Error::new(
            e.kind(),
            format!("{}: {e}", path.display()),
        ))),
    }
}

/// Writes a private key readable by its owner only (on Unix).
fn write_private(path: &Path, text: &str) -> Result<(), Error> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    std::io::Write::write_all(&mut file, text.as_bytes())?;
    Ok(())
}
