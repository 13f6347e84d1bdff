//! Seeding the tenant from a file or from code: app registrations, users, groups (with members
//! and owners) and token lifetimes, on top of the seeded demo tenant.
//!
//! A file is TOML, or JSON when its name ends in `.json`:
//!
//! ```toml
//! [tokens]
//! lifetime_secs = 600
//!
//! [[apps]]
//! client_id = "99999999-9999-4999-8999-999999999999"
//! display_name = "Payroll sync"
//! client_secrets = ["payroll-secret"]
//! certificates = ["payroll.pem"]          # PEM text, or a file relative to this file
//! roles = ["User.Read.All"]               # Graph app roles (client credentials)
//!
//! [[users]]
//! user_principal_name = "kim@contoso.com"
//! display_name = "Kim Akers"
//! manager = "AdeleV@contoso.com"
//! properties = { jobTitle = "Payroll clerk", department = "Finance" }
//!
//! [[groups]]
//! display_name = "Payroll"
//! members = ["kim@contoso.com"]
//! owners = ["AdeleV@contoso.com"]
//! ```

mod apply;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::Error;

pub(crate) use apply::{apply_directory, registration};

/// Everything a configuration file seeds. Every list adds to the seeded demo tenant.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct TenantConfig {
    /// App registrations.
    #[serde(default)]
    pub apps: Vec<AppConfig>,
    /// Users.
    #[serde(default)]
    pub users: Vec<UserConfig>,
    /// Groups, with their members and owners.
    #[serde(default)]
    pub groups: Vec<GroupConfig>,
    /// Token lifetimes.
    #[serde(default)]
    pub tokens: TokenConfig,
    /// Generated users on top of the listed ones.
    #[serde(default)]
    pub generated_users: usize,
    /// Managed identities in addition to the seeded ones (`[[managed_identities]]` with `name`,
    /// `client_id`, `principal_id`, `resource_id`, `system_assigned`, `roles`); one with the
    /// seeded identity's client id replaces it.
    #[serde(default)]
    pub managed_identities: Vec<crate::ManagedIdentity>,
    /// Graph's throttling model (`[throttling]`; present = on, every key optional).
    #[serde(default)]
    pub throttling: Option<crate::ThrottlingConfig>,
}

/// Lifetimes of issued tokens (`[tokens]`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct TokenConfig {
    /// Access token lifetime in seconds.
    pub lifetime_secs: Option<u64>,
    /// `refresh_in` of token responses in seconds.
    pub refresh_in_secs: Option<u64>,
}

/// One app registration (`[[apps]]`, [`crate::EmulatorBuilder::app`],
/// [`crate::Control::register_app`], `POST /_emulator/apps`). Without secrets and certificates
/// it is a public client. `Debug` does not show secrets.
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct AppConfig {
    /// The application (client) id.
    pub client_id: String,
    /// Display name (defaults to the client id).
    #[serde(default)]
    pub display_name: Option<String>,
    /// Object id of its service principal (the `oid` of its app-only tokens); generated when absent.
    #[serde(default)]
    pub service_principal_id: Option<String>,
    /// Client secrets; any of them authenticates the app.
    #[serde(default)]
    pub client_secrets: Vec<String>,
    /// Certificates (PEM text with an RSA public key) for `client_assertion`. In a file, an entry
    /// that is not PEM text is a path, relative to the file.
    #[serde(default)]
    pub certificates: Vec<String>,
    /// Microsoft Graph app roles granted to the app (client credentials), e.g. `User.Read.All`.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Delegated scopes the app exposes as a resource (what `{identifier uri}/.default` grants).
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Redirect URIs (the port of a loopback URI is ignored, as Entra does).
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// Application ID URIs (`api://...`) the app is known by as a resource.
    #[serde(default)]
    pub identifier_uris: Vec<String>,
    /// Federated identity credentials: external tokens (issuer, subject, audience) accepted as
    /// its client assertion.
    #[serde(default)]
    pub federated_credentials: Vec<crate::FederatedCredential>,
    /// Subject name + issuer certificate credentials (an `x5c` chain instead of a registered
    /// thumbprint).
    #[serde(default)]
    pub subject_name_credentials: Vec<crate::SubjectNameCredential>,
}

impl std::fmt::Debug for AppConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppConfig")
            .field("client_id", &self.client_id)
            .field("display_name", &self.display_name)
            .field("client_secrets", &self.client_secrets.len())
            .field("certificates", &self.certificates.len())
            .field("roles", &self.roles)
            .field("scopes", &self.scopes)
            .field("redirect_uris", &self.redirect_uris)
            .field("federated_credentials", &self.federated_credentials)
            .field("subject_name_credentials", &self.subject_name_credentials)
            .finish_non_exhaustive()
    }
}

impl AppConfig {
    /// A registration with this client id and nothing else (a public client until a secret or a
    /// certificate is added).
    pub fn new(client_id: impl Into<String>) -> Self {
        AppConfig {
            client_id: client_id.into(),
            ..AppConfig::default()
        }
    }

    /// Adds a client secret.
    #[must_use]
    pub fn secret(mut self, secret: impl Into<String>) -> Self {
        self.client_secrets.push(secret.into());
        self
    }

    /// Adds a certificate (PEM text).
    #[must_use]
    pub fn certificate_pem(mut self, pem: impl Into<String>) -> Self {
        self.certificates.push(pem.into());
        self
    }

    /// Sets the Graph app roles.
    #[must_use]
    pub fn roles<S: Into<String>>(mut self, roles: impl IntoIterator<Item = S>) -> Self {
        self.roles = roles.into_iter().map(Into::into).collect();
        self
    }

    /// Adds a redirect URI.
    #[must_use]
    pub fn redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.redirect_uris.push(uri.into());
        self
    }

    /// Sets the display name.
    #[must_use]
    pub fn display_name(mut self, name: impl Into<String>) -> Self {
        self.display_name = Some(name.into());
        self
    }
}

/// One user (`[[users]]`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct UserConfig {
    /// Object id; generated when absent.
    #[serde(default)]
    pub id: Option<String>,
    /// User principal name (unique).
    pub user_principal_name: String,
    /// Display name.
    pub display_name: String,
    /// The manager: an id or user principal name.
    #[serde(default)]
    pub manager: Option<String>,
    /// Other Graph properties by their wire names (`jobTitle`, `mail`, ...), checked against the
    /// user schema.
    #[serde(default)]
    pub properties: Map<String, Value>,
}

/// One group (`[[groups]]`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct GroupConfig {
    /// Object id; generated when absent.
    #[serde(default)]
    pub id: Option<String>,
    /// Display name.
    pub display_name: String,
    /// Mail nickname (defaults to the display name without spaces, lower case).
    #[serde(default)]
    pub mail_nickname: Option<String>,
    /// A Microsoft 365 group (`groupTypes: ["Unified"]`, mail-enabled) instead of a security group.
    #[serde(default)]
    pub unified: bool,
    /// Members: ids, user principal names, or display names of groups in this file.
    #[serde(default)]
    pub members: Vec<String>,
    /// Owners: ids or user principal names.
    #[serde(default)]
    pub owners: Vec<String>,
    /// Other Graph properties by their wire names, checked against the group schema.
    #[serde(default)]
    pub properties: Map<String, Value>,
}

impl TenantConfig {
    /// Reads a TOML file, or a JSON file when the name ends in `.json`. Certificate paths are
    /// relative to the file.
    ///
    /// # Errors
    /// [`Error::Config`] naming the file and the line or field at fault.
    pub fn load(path: impl AsRef<Path>) -> Result<TenantConfig, Error> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let json = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        let parsed = if json {
            Self::from_json_str(&text)
        } else {
            Self::from_toml_str(&text)
        };
        let mut config =
            parsed.map_err(|e| Error::Config(format!("{}: {}", path.display(), message(&e))))?;
        config
            .read_certificate_files(&base)
            .map_err(|e| Error::Config(format!("{}: {}", path.display(), message(&e))))?;
        Ok(config)
    }

    /// Parses TOML text. Certificates must be PEM text (paths are resolved by [`TenantConfig::load`]).
    ///
    /// # Errors
    /// [`Error::Config`] with the line, column and field at fault.
    pub fn from_toml_str(text: &str) -> Result<TenantConfig, Error> {
        let deserializer = toml::Deserializer::parse(text)
            .map_err(|e| Error::Config(e.to_string().trim_end().to_owned()))?;
        serde_path_to_error::deserialize(deserializer).map_err(|e| {
            let field = e.path().to_string();
            Error::Config(format!(
                "{}: {}",
                field,
                e.into_inner().to_string().trim_end()
            ))
        })
    }

    /// Parses JSON text.
    ///
    /// # Errors
    /// [`Error::Config`] with the line, column and field at fault.
    pub fn from_json_str(text: &str) -> Result<TenantConfig, Error> {
        let mut deserializer = serde_json::Deserializer::from_str(text);
        serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
            let field = e.path().to_string();
            Error::Config(format!("{field}: {}", e.into_inner()))
        })
    }

    fn read_certificate_files(&mut self, base: &Path) -> Result<(), Error> {
        for (i, app) in self.apps.iter_mut().enumerate() {
            for (j, entry) in app.certificates.iter_mut().enumerate() {
                if entry.trim_start().starts_with("-----BEGIN") {
                    continue;
                }
                let path: PathBuf = base.join(entry.as_str());
                *entry = std::fs::read_to_string(&path).map_err(|e| {
                    Error::Config(format!(
                        "apps[{i}].certificates[{j}]: {}: {e}",
                        path.display()
                    ))
                })?;
            }
            for (j, credential) in app.subject_name_credentials.iter_mut().enumerate() {
                let entry = &mut credential.issuer_certificate;
                if entry.trim_start().starts_with("-----BEGIN") {
                    continue;
                }
                let path: PathBuf = base.join(entry.as_str());
                *entry = std::fs::read_to_string(&path).map_err(|e| {
                    Error::Config(format!(
                        "apps[{i}].subject_name_credentials[{j}].issuer_certificate: {}: {e}",
                        path.display()
                    ))
                })?;
            }
        }
        Ok(())
    }
}

fn message(e: &Error) -> String {
    match e {
        Error::Config(m) => m.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_errors_name_the_line_and_the_field() {
        let err = TenantConfig::from_toml_str("[[apps]]\nclient_id = \"x\"\nrole = [\"a\"]\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("apps[0]"), "{err}");
        assert!(err.contains("role"), "{err}");
        let err = TenantConfig::from_toml_str("[[users]]\nuser_principal_name = 3\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("users[0].user_principal_name"), "{err}");
        let err = TenantConfig::from_toml_str("[tokens\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 1"), "{err}");
    }

    #[test]
    fn json_errors_name_the_field() {
        let err = TenantConfig::from_json_str(r#"{"groups": [{"display_name": 1}]}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("groups[0].display_name"), "{err}");
        assert!(err.contains("line 1"), "{err}");
    }

    #[test]
    fn apps_take_federated_and_subject_name_credentials() {
        let config = TenantConfig::from_toml_str(
            "[[apps]]\nclient_id = \"x\"\nfederated_credentials = [{ issuer = \"https://i\", subject = \"s\" }]\n[[apps.subject_name_credentials]]\nsubject = \"app.contoso.com\"\nissuer_certificate = \"ca.pem\"\n",
        )
        .unwrap();
        let app = &config.apps[0];
        assert_eq!(
            app.federated_credentials[0].audiences,
            ["api://AzureADTokenExchange"]
        );
        assert_eq!(app.subject_name_credentials[0].subject, "app.contoso.com");
    }

    #[test]
    fn app_config_debug_hides_secrets() {
        let app = AppConfig::new("id").secret("s3cret-value");
        assert!(!format!("{app:?}").contains("s3cret-value"));
    }
}
