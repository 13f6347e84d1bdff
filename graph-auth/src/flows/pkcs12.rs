//! PKCS#12 (`.pfx` / `.p12`) certificates, as Windows and Azure Key Vault export them
//! (feature `pkcs12`).

use ring::signature::RsaKeyPair;

use super::client_certificate::ClientCertificate;
use crate::AuthError;

impl ClientCertificate {
    /// Reads a PKCS#12 archive (`.pfx`, `.p12`) holding the certificate, its chain and the
    /// RSA private key, protected with `password` (`""` for none). Both the current
    /// (PBES2 / AES) and the legacy (3DES, RC2) encryptions are read.
    ///
    /// ```no_run
    /// use msgraph_typed_auth::ClientCertificate;
    ///
    /// # fn demo(pfx: &[u8]) -> Result<(), msgraph_typed_auth::AuthError> {
    /// let certificate = ClientCertificate::from_pkcs12(pfx, "pfx-password")?.with_x5c(true);
    /// # let _ = certificate; Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`AuthError::Configuration`] when the archive does not parse, the password is wrong,
    /// or it holds no private key with a certificate, or the key is not a usable RSA key.
    pub fn from_pkcs12(der: &[u8], password: &str) -> Result<Self, AuthError> {
        let store = p12_keystore::KeyStore::from_pkcs12(
            der,
            password,
            p12_keystore::Pkcs12ImportPolicy::Strict,
        )
        .map_err(|e| {
            AuthError::config(format!(
                "the PKCS#12 certificate cannot be opened (a wrong password, or not a PKCS#12 \
                 file): {e}"
            ))
        })?;
        let (_, chain) = store.private_key_chain().ok_or_else(|| {
            AuthError::config("the PKCS#12 certificate holds no private key with a certificate")
        })?;
        let certificates: Vec<Vec<u8>> =
            chain.certs().iter().map(|c| c.as_der().to_vec()).collect();
        let key = RsaKeyPair::from_pkcs8(chain.key().as_der());
        Self::from_der_parts(certificates, key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!(
            "{}/tests/fixtures/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    fn pfx(password: &str, algorithm: p12_keystore::EncryptionAlgorithm) -> Vec<u8> {
        let cert_der = pem::parse(fixture("cert.pem")).unwrap().contents().to_vec();
        let key_der = pem::parse(fixture("key-pkcs8.pem"))
            .unwrap()
            .contents()
            .to_vec();
        let chain = p12_keystore::PrivateKeyChain::new(
            vec![1u8; 20],
            p12_keystore::PrivateKey::from_der(&key_der).unwrap(),
            [p12_keystore::Certificate::from_der(&cert_der).unwrap()],
        );
        let mut store = p12_keystore::KeyStore::new();
        store.add_entry("app", p12_keystore::KeyStoreEntry::PrivateKeyChain(chain));
        store
            .writer(password)
            .encryption_algorithm(algorithm)
            .write()
            .unwrap()
    }

    #[test]
    fn reads_current_and_legacy_archives_and_refuses_a_wrong_password() {
        let pem =
            ClientCertificate::from_pem_parts(&fixture("cert.pem"), &fixture("key-pkcs8.pem"))
                .unwrap();
        for algorithm in [
            p12_keystore::EncryptionAlgorithm::PbeWithHmacSha256AndAes256,
            p12_keystore::EncryptionAlgorithm::PbeWithShaAnd3KeyTripleDesCbc,
        ] {
            let archive = pfx("pfx-pass", algorithm);
            let certificate = ClientCertificate::from_pkcs12(&archive, "pfx-pass").unwrap();
            assert_eq!(certificate.thumbprint_sha256(), pem.thumbprint_sha256());
            let error = ClientCertificate::from_pkcs12(&archive, "wrong").unwrap_err();
            assert!(error.is_configuration(), "{error}");
            assert!(!error.to_string().contains("pfx-pass"));
        }
        assert!(ClientCertificate::from_pkcs12(b"not a pfx", "").is_err());
        // from_file tells a PEM from a PKCS#12 file.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.pfx");
        std::fs::write(
            &path,
            pfx(
                "p",
                p12_keystore::EncryptionAlgorithm::PbeWithHmacSha256AndAes256,
            ),
        )
        .unwrap();
        let from_file = ClientCertificate::from_file(&path, Some("p")).unwrap();
        assert_eq!(from_file.thumbprint_sha256(), pem.thumbprint_sha256());
        let pem_path = dir.path().join("app.pem");
        let mut both = fixture("cert.pem");
        both.extend_from_slice(&fixture("key-pkcs8.pem"));
        std::fs::write(&pem_path, both).unwrap();
        assert!(ClientCertificate::from_file(&pem_path, None).is_ok());
    }
}
