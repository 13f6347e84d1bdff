//! Subject name + issuer certificate credentials: an app trusts any certificate with a given
//! subject issued by a given authority, so a rotated certificate needs no new registration. The
//! client sends its chain in the assertion's `x5c` header (leaf first); the chain must verify up
//! to the registered issuer, the leaf must be valid now and carry the subject, and the assertion
//! must be signed with the leaf's key.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::DecodingKey;
use serde::{Deserialize, Serialize};
use x509_parser::prelude::{FromDer, X509Certificate};

use super::errors::OAuthError;
use crate::error::Error;

/// A trusted subject name and the authority that must have issued its certificate.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SubjectNameCredential {
    /// The certificate subject: its common name (`app.contoso.com`) or the whole distinguished
    /// name as `CN=app.contoso.com, O=Contoso`.
    pub subject: String,
    /// The issuer's certificate (PEM). In a configuration file, a path relative to the file is
    /// accepted too.
    pub issuer_certificate: String,
}

impl std::fmt::Debug for SubjectNameCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubjectNameCredential")
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

impl SubjectNameCredential {
    /// A credential for `subject` issued by the authority whose certificate is `issuer_pem`.
    pub fn new(subject: impl Into<String>, issuer_pem: impl Into<String>) -> Self {
        SubjectNameCredential {
            subject: subject.into(),
            issuer_certificate: issuer_pem.into(),
        }
    }
}

/// A parsed [`SubjectNameCredential`]: the subject and the issuer certificate's DER.
#[derive(Debug, Clone)]
pub(crate) struct TrustedSubject {
    pub subject: String,
    pub issuer_der: Vec<u8>,
}

impl TrustedSubject {
    pub(crate) fn from_credential(credential: &SubjectNameCredential) -> Result<Self, Error> {
        let parsed = pem::parse(&credential.issuer_certificate)
            .map_err(|e| Error::InvalidCertificate(format!("issuer certificate: {e}")))?;
        if parsed.tag() != "CERTIFICATE" {
            return Err(Error::InvalidCertificate(format!(
                "issuer certificate: expected a PEM CERTIFICATE block, found {}",
                parsed.tag()
            )));
        }
        let der = parsed.into_contents();
        X509Certificate::from_der(&der)
            .map_err(|e| Error::InvalidCertificate(format!("issuer certificate: {e}")))?;
        let subject = credential.subject.trim();
        if subject.is_empty() {
            return Err(Error::InvalidCertificate(
                "the subject name is empty".to_owned(),
            ));
        }
        Ok(TrustedSubject {
            subject: subject.to_owned(),
            issuer_der: der,
        })
    }
}

fn invalid(message: impl Into<String>) -> OAuthError {
    OAuthError::invalid_client(700027, message)
}

/// Whether `cert`'s subject is `wanted` (a common name, or the whole name as printed).
fn subject_matches(cert: &X509Certificate<'_>, wanted: &str) -> bool {
    let whole = cert.subject().to_string();
    if whole.eq_ignore_ascii_case(wanted) {
        return true;
    }
    let wanted_cn = wanted
        .strip_prefix("CN=")
        .or_else(|| wanted.strip_prefix("cn="))
        .unwrap_or(wanted);
    cert.subject()
        .iter_common_name()
        .filter_map(|cn| cn.as_str().ok())
        .any(|cn| cn.eq_ignore_ascii_case(wanted_cn))
}

/// The leaf key of an `x5c` chain that satisfies one of `trusted`, or why none does.
pub(crate) fn leaf_key(
    x5c: &[String],
    trusted: &[TrustedSubject],
) -> Result<DecodingKey, OAuthError> {
    let ders: Vec<Vec<u8>> = x5c
        .iter()
        // MSAL Python sends each certificate's PEM body as is, line breaks included.
        .map(|c| STANDARD.decode(c.split_whitespace().collect::<String>()))
        .collect::<Result<_, _>>()
        .map_err(|_| {
            invalid("Client assertion contains an invalid x5c header: a certificate is not base64.")
        })?;
    let certs: Vec<X509Certificate<'_>> = ders
        .iter()
        .map(|der| X509Certificate::from_der(der).map(|(_, c)| c))
        .collect::<Result<_, _>>()
        .map_err(|_| {
            invalid(
                "Client assertion contains an invalid x5c header: a certificate does not parse.",
            )
        })?;
    let Some(leaf) = certs.first() else {
        return Err(invalid("Client assertion contains an empty x5c header."));
    };
    if !leaf.validity().is_valid() {
        return Err(OAuthError::invalid_client(
            700027,
            "The certificate in the client assertion's x5c header is expired or not yet valid.",
        ));
    }
    for pair in certs.windows(2) {
        if pair[0]
            .verify_signature(Some(pair[1].public_key()))
            .is_err()
        {
            return Err(invalid(
                "Client assertion contains an x5c chain whose signatures do not verify.",
            ));
        }
    }
    let last = certs.last().unwrap_or(leaf);
    let trusted_by = trusted.iter().find(|t| {
        if !subject_matches(leaf, &t.subject) {
            return false;
        }
        let Ok((_, issuer)) = X509Certificate::from_der(&t.issuer_der) else {
            return false;
        };
        last.as_ref() == issuer.as_ref() || last.verify_signature(Some(issuer.public_key())).is_ok()
    });
    if trusted_by.is_none() {
        return Err(invalid(format!(
            "Client assertion contains an invalid signature. [Reason - The certificate with subject '{}' is not trusted: no registered subject name and issuer match its chain.]",
            leaf.subject()
        )));
    }
    Ok(DecodingKey::from_rsa_der(
        &leaf.public_key().subject_public_key.data,
    ))
}
