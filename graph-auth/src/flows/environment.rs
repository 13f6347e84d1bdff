//! Configuration from Azure.Identity's environment variables.

use std::sync::Arc;

use async_trait::async_trait;

use super::CredentialOptions;
use super::client_assertion::{AssertionSource, ClientAssertionCredential};
use super::client_certificate::{ClientCertificate, ClientCertificateCredential};
use super::client_secret::ClientSecretCredential;
use super::workload_identity::with_authority_host;
use crate::{AccessToken, AuthError, TokenCredential, TokenRequest};

/// Reads `AZURE_TENANT_ID`, `AZURE_CLIENT_ID` and one of `AZURE_CLIENT_SECRET`,
/// `AZURE_CLIENT_CERTIFICATE_PATH` (a PEM with certificate and key, or with the `pkcs12`
/// feature a `.pfx` opened with `AZURE_CLIENT_CERTIFICATE_PASSWORD`; the chain is sent for
/// subject name / issuer authentication when `AZURE_CLIENT_SEND_CERTIFICATE_CHAIN` is `true`
/// or `1`) or `AZURE_FEDERATED_TOKEN_FILE`, plus `AZURE_AUTHORITY_HOST` when set, like
/// Azure.Identity.
///
/// When the variables are missing, [`TokenCredential::get_token`] returns
/// [`AuthError::Unavailable`], so a [`crate::ChainedTokenCredential`] moves on.
///
/// ```
/// use msgraph_typed_auth::{CredentialOptions, EnvironmentCredential};
/// use std::collections::HashMap;
///
/// let vars = HashMap::from([
///     ("AZURE_TENANT_ID", "contoso.onmicrosoft.com"),
///     ("AZURE_CLIENT_ID", "my-client-id"),
///     ("AZURE_CLIENT_SECRET", "my-secret"),
/// ]);
/// let credential = EnvironmentCredential::from_lookup(
///     |name| vars.get(name).map(|v| v.to_string()),
///     CredentialOptions::default(),
/// );
/// assert!(credential.is_configured());
/// // In production: EnvironmentCredential::new()
/// ```
#[derive(Debug, Clone)]
pub struct EnvironmentCredential {
    inner: Result<Arc<dyn TokenCredential>, AuthError>,
}

impl EnvironmentCredential {
    /// Reads the process environment, with default options.
    pub fn new() -> Self {
        Self::from_lookup(
            |name| std::env::var(name).ok(),
            CredentialOptions::default(),
        )
    }

    /// Reads variables through `lookup` (tests, or configuration from elsewhere).
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
        options: CredentialOptions,
    ) -> Self {
        Self {
            inner: build(&lookup, options, true),
        }
    }

    /// As [`EnvironmentCredential::from_lookup`], but leaving `AZURE_FEDERATED_TOKEN_FILE` to
    /// the workload identity credential (the default chain tries that one next).
    pub(crate) fn secret_or_certificate(
        lookup: impl Fn(&str) -> Option<String>,
        options: CredentialOptions,
    ) -> Self {
        Self {
            inner: build(&lookup, options, false),
        }
    }

    /// Whether the variables named a usable credential.
    pub fn is_configured(&self) -> bool {
        self.inner.is_ok()
    }
}

impl Default for EnvironmentCredential {
    fn default() -> Self {
        Self::new()
    }
}

fn build(
    lookup: &dyn Fn(&str) -> Option<String>,
    options: CredentialOptions,
    federated: bool,
) -> Result<Arc<dyn TokenCredential>, AuthError> {
    let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
    let (Some(tenant), Some(client_id)) = (get("AZURE_TENANT_ID"), get("AZURE_CLIENT_ID")) else {
        return Err(AuthError::Unavailable(
            "EnvironmentCredential: AZURE_TENANT_ID and AZURE_CLIENT_ID are not both set".into(),
        ));
    };
    let options = with_authority_host(options, get("AZURE_AUTHORITY_HOST"))?;
    if let Some(secret) = get("AZURE_CLIENT_SECRET") {
        return Ok(Arc::new(ClientSecretCredential::with_options(
            &tenant,
            &client_id,
            super::client_auth::ClientAuthentication::secret(secret),
            options,
        )?));
    }
    if let Some(path) = get("AZURE_CLIENT_CERTIFICATE_PATH") {
        let password = get("AZURE_CLIENT_CERTIFICATE_PASSWORD");
        let certificate = ClientCertificate::from_file(&path, password.as_deref())?.with_x5c(
            get("AZURE_CLIENT_SEND_CERTIFICATE_CHAIN")
                .is_some_and(|v| v == "1" || v.eq_ignore_ascii_case("true")),
        );
        return Ok(Arc::new(ClientCertificateCredential::with_options(
            &tenant,
            &client_id,
            certificate,
            options,
        )?));
    }
    if let Some(path) = get("AZURE_FEDERATED_TOKEN_FILE").filter(|_| federated) {
        return Ok(Arc::new(ClientAssertionCredential::with_options(
            &tenant,
            &client_id,
            AssertionSource::file(path),
            options,
        )?));
    }
    Err(AuthError::Unavailable(
        "EnvironmentCredential: none of AZURE_CLIENT_SECRET, AZURE_CLIENT_CERTIFICATE_PATH or \
         AZURE_FEDERATED_TOKEN_FILE is set"
            .into(),
    ))
}

#[async_trait]
impl TokenCredential for EnvironmentCredential {
    async fn get_token(&self, request: &TokenRequest) -> Result<AccessToken, AuthError> {
        match &self.inner {
            Ok(credential) => credential.get_token(request).await,
            Err(error) => Err(error.clone()),
        }
    }

    fn bind(&self, environment: &crate::CredentialEnvironment) -> Result<(), AuthError> {
        match &self.inner {
            Ok(credential) => credential.bind(environment),
            // Unconfigured: it fails at get_token with its own error.
            Err(_) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(vars: &[(&str, &str)]) -> EnvironmentCredential {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        EnvironmentCredential::from_lookup(|n| map.get(n).cloned(), CredentialOptions::default())
    }

    #[tokio::test]
    async fn missing_variables_make_it_unavailable() {
        let credential = from(&[("AZURE_TENANT_ID", "t")]);
        assert!(!credential.is_configured());
        let error = credential
            .get_token(&TokenRequest::new(["s"]))
            .await
            .unwrap_err();
        assert!(error.is_unavailable(), "{error}");
        let no_secret = from(&[("AZURE_TENANT_ID", "t"), ("AZURE_CLIENT_ID", "c")]);
        assert!(!no_secret.is_configured());
    }

    #[test]
    fn picks_the_configured_kind() {
        assert!(
            from(&[
                ("AZURE_TENANT_ID", "t"),
                ("AZURE_CLIENT_ID", "c"),
                ("AZURE_CLIENT_SECRET", "s")
            ])
            .is_configured()
        );
        assert!(
            from(&[
                ("AZURE_TENANT_ID", "t"),
                ("AZURE_CLIENT_ID", "c"),
                ("AZURE_FEDERATED_TOKEN_FILE", "/x")
            ])
            .is_configured()
        );
        let bad_cert = from(&[
            ("AZURE_TENANT_ID", "t"),
            ("AZURE_CLIENT_ID", "c"),
            ("AZURE_CLIENT_CERTIFICATE_PATH", "/nonexistent.pem"),
        ]);
        assert!(!bad_cert.is_configured());
        let bad_host = from(&[
            ("AZURE_TENANT_ID", "t"),
            ("AZURE_CLIENT_ID", "c"),
            ("AZURE_CLIENT_SECRET", "s"),
            ("AZURE_AUTHORITY_HOST", "http://login.example.com"),
        ]);
        assert!(!bad_host.is_configured());
    }
}
