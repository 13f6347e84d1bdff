//! App registrations known to the emulated tenant, and the seeded ones.

use std::collections::HashMap;

use jsonwebtoken::DecodingKey;
use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::error::Error;

/// Well-known ids and secrets of the seeded app registrations.
pub mod seeded {
    /// Daemon app (client credentials). Roles: see [`DAEMON_ROLES`]. A certificate may be
    /// registered for it with `Control::register_certificate`.
    pub const DAEMON_CLIENT_ID: &str = "11111111-1111-4111-8111-111111111111";
    /// Client secret of the daemon app.
    pub const DAEMON_CLIENT_SECRET: &str = "daemon-secret~emulator";
    /// Application permissions (app roles on Microsoft Graph) granted to the daemon app.
    pub const DAEMON_ROLES: &[&str] = &[
        "User.Read.All",
        "Group.Read.All",
        "Directory.Read.All",
        "User.ReadWrite.All",
        "Group.ReadWrite.All",
    ];
    /// Web API (on-behalf-of): incoming user tokens carry this client id (or [`WEB_API_APP_ID_URI`]) as `aud`.
    pub const WEB_API_CLIENT_ID: &str = "22222222-2222-4222-8222-222222222222";
    /// Client secret of the web API.
    pub const WEB_API_CLIENT_SECRET: &str = "web-api-secret~emulator";
    /// Application ID URI of the web API.
    pub const WEB_API_APP_ID_URI: &str = "api://22222222-2222-4222-8222-222222222222";
    /// The delegated scope the web API exposes.
    pub const WEB_API_SCOPE: &str = "api://22222222-2222-4222-8222-222222222222/access_as_user";
    /// Public client (auth code + PKCE, device code). Any loopback redirect URI is accepted.
    pub const PUBLIC_CLIENT_ID: &str = "33333333-3333-4333-8333-333333333333";
    /// Confidential web app (auth code + PKCE with a client secret).
    pub const WEB_APP_CLIENT_ID: &str = "44444444-4444-4444-8444-444444444444";
    /// Client secret of the web app.
    pub const WEB_APP_CLIENT_SECRET: &str = "web-app-secret~emulator";
    /// The redirect URI registered for the public client and the web app.
    pub const REDIRECT_URI: &str = "http://127.0.0.1:8765/callback";
    /// Certificate app (client credentials with a certificate `client_assertion`). Roles: see
    /// [`DAEMON_ROLES`]. Its certificate is [`CERTIFICATE_APP_CERTIFICATE_PEM`], and the private key
    /// that signs its assertions is [`CERTIFICATE_APP_PRIVATE_KEY_PEM`].
    pub const CERTIFICATE_APP_CLIENT_ID: &str = "55555555-5555-4555-8555-555555555555";
    /// The certificate (PEM, RSA 2048, self-signed) registered for the certificate app. A test
    /// certificate, published with this crate: it protects nothing.
    pub const CERTIFICATE_APP_CERTIFICATE_PEM: &str =
        include_str!("seeded/certificate-app-cert.pem");
    /// The certificate app's private key (PKCS#8 PEM). A test key, published with this crate: it
    /// protects nothing.
    pub const CERTIFICATE_APP_PRIVATE_KEY_PEM: &str =
        include_str!("seeded/certificate-app-key.pem");
    /// SHA-1 thumbprint (hex, upper case) of [`CERTIFICATE_APP_CERTIFICATE_PEM`], as MSAL's
    /// `thumbprint` setting takes it.
    pub const CERTIFICATE_APP_THUMBPRINT: &str = "7644715FAFEB40D52F2C9EEEC9D51D800D4783C9";
    /// Client id of the seeded system-assigned managed identity (the identity the managed
    /// identity endpoints answer for when no identity is named).
    pub const SYSTEM_IDENTITY_CLIENT_ID: &str = "66666666-6666-4666-8666-666666666666";
    /// Principal (object) id of the system-assigned identity's service principal.
    pub const SYSTEM_IDENTITY_PRINCIPAL_ID: &str = "a6666666-6666-4666-8666-666666666666";
    /// Resource id of the virtual machine that has the system-assigned identity.
    pub const SYSTEM_IDENTITY_RESOURCE_ID: &str = "/subscriptions/00000000-0000-0000-0000-0000000000aa/resourceGroups/emulator-rg/providers/Microsoft.Compute/virtualMachines/emulator-vm";
    /// Client id of the first seeded user-assigned identity (Graph role `User.Read.All`).
    pub const USER_IDENTITY_1_CLIENT_ID: &str = "77777777-7777-4777-8777-777777777777";
    /// Principal (object) id of the first user-assigned identity.
    pub const USER_IDENTITY_1_PRINCIPAL_ID: &str = "a7777777-7777-4777-8777-777777777777";
    /// Resource id of the first user-assigned identity.
    pub const USER_IDENTITY_1_RESOURCE_ID: &str = "/subscriptions/00000000-0000-0000-0000-0000000000aa/resourceGroups/emulator-rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/emulator-identity-1";
    /// Client id of the second seeded user-assigned identity (Graph role `Group.Read.All`).
    pub const USER_IDENTITY_2_CLIENT_ID: &str = "88888888-8888-4888-8888-888888888888";
    /// Principal (object) id of the second user-assigned identity.
    pub const USER_IDENTITY_2_PRINCIPAL_ID: &str = "a8888888-8888-4888-8888-888888888888";
    /// Resource id of the second user-assigned identity.
    pub const USER_IDENTITY_2_RESOURCE_ID: &str = "/subscriptions/00000000-0000-0000-0000-0000000000aa/resourceGroups/emulator-rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/emulator-identity-2";
    /// Graph app roles of the system-assigned identity.
    pub const SYSTEM_IDENTITY_ROLES: &[&str] = &["User.Read.All", "Group.Read.All"];
    /// Delegated Graph permissions granted by `https://graph.microsoft.com/.default` in user flows.
    pub const DEFAULT_DELEGATED_SCOPES: &[&str] = &[
        "User.Read",
        "User.ReadBasic.All",
        "GroupMember.Read.All",
        "Directory.Read.All",
    ];
}

/// A certificate registered as a client credential.
#[derive(Debug, Clone)]
pub(crate) struct RegisteredCertificate {
    /// SHA-1 digest of the DER certificate (the `x5t` header, base64url-decoded).
    pub sha1: [u8; 20],
    /// SHA-256 digest of the DER certificate (the `x5t#S256` header, base64url-decoded).
    pub sha256: [u8; 32],
    pub key: DecodingKeyDebug,
}

/// `DecodingKey` has no `Debug`; this wrapper prints nothing of the key.
#[derive(Clone)]
pub(crate) struct DecodingKeyDebug(pub DecodingKey);

impl std::fmt::Debug for DecodingKeyDebug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DecodingKey")
    }
}

impl RegisteredCertificate {
    /// Parses a PEM certificate holding an RSA public key.
    pub(crate) fn from_pem(pem_text: &str) -> Result<Self, Error> {
        let parsed = pem::parse(pem_text).map_err(|e| Error::InvalidCertificate(e.to_string()))?;
        if parsed.tag() != "CERTIFICATE" {
            return Err(Error::InvalidCertificate(format!(
                "expected a PEM CERTIFICATE block, found {}",
                parsed.tag()
            )));
        }
        let key = DecodingKey::from_rsa_pem(pem_text.as_bytes())
            .map_err(|e| Error::InvalidCertificate(e.to_string()))?;
        let der = parsed.contents();
        Ok(RegisteredCertificate {
            sha1: Sha1::digest(der).into(),
            sha256: Sha256::digest(der).into(),
            key: DecodingKeyDebug(key),
        })
    }
}

/// One app registration (with its service principal in the tenant). `Debug` omits the secret.
#[derive(Clone)]
pub(crate) struct AppRegistration {
    pub client_id: String,
    pub display_name: String,
    /// Object id of the app's service principal (the `oid` of its app-only tokens).
    pub service_principal_id: String,
    /// Client secrets (none for a public client or a certificate-only app).
    pub secrets: Vec<String>,
    pub certificates: Vec<RegisteredCertificate>,
    pub redirect_uris: Vec<String>,
    /// Public clients accept any loopback redirect URI.
    pub any_loopback_redirect: bool,
    /// Application ID URIs (`api://...`) this app is known by as a resource.
    pub identifier_uris: Vec<String>,
    /// Graph app roles granted (client credentials).
    pub graph_roles: Vec<String>,
    /// Delegated scopes this app exposes as a resource (what `{app id uri}/.default` grants).
    pub exposed_scopes: Vec<String>,
    /// Federated identity credentials (workload identity federation).
    pub federated_credentials: Vec<super::FederatedCredential>,
    /// Subject name + issuer certificate credentials.
    pub trusted_subjects: Vec<super::subject_name::TrustedSubject>,
}

impl std::fmt::Debug for AppRegistration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppRegistration")
            .field("client_id", &self.client_id)
            .field("display_name", &self.display_name)
            .field("secrets", &self.secrets.len())
            .field("certificates", &self.certificates.len())
            .field("redirect_uris", &self.redirect_uris)
            .finish_non_exhaustive()
    }
}

impl AppRegistration {
    pub(crate) fn is_public(&self) -> bool {
        self.secrets.is_empty()
            && self.certificates.is_empty()
            && self.federated_credentials.is_empty()
            && self.trusted_subjects.is_empty()
    }

    /// True if `uri` names this app as a resource or audience.
    pub(crate) fn is_known_as(&self, uri: &str) -> bool {
        let uri = uri.trim_end_matches('/');
        uri.eq_ignore_ascii_case(&self.client_id)
            || self
                .identifier_uris
                .iter()
                .any(|u| u.eq_ignore_ascii_case(uri))
    }

    /// Entra's redirect URI rule: exact match, except that the port of a loopback URI is ignored.
    pub(crate) fn accepts_redirect(&self, redirect_uri: &str) -> bool {
        let Ok(candidate) = url::Url::parse(redirect_uri) else {
            return false;
        };
        let loopback = is_loopback(&candidate);
        if loopback && self.any_loopback_redirect {
            return candidate.scheme() == "http";
        }
        self.redirect_uris.iter().any(|registered| {
            if registered == redirect_uri {
                return true;
            }
            match url::Url::parse(registered) {
                Ok(reg) if loopback && is_loopback(&reg) => {
                    reg.scheme() == candidate.scheme()
                        && reg.host_str() == candidate.host_str()
                        && reg.path() == candidate.path()
                }
                _ => false,
            }
        })
    }
}

fn is_loopback(url: &url::Url) -> bool {
    matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"))
}

/// All app registrations, by client id (lowercase).
#[derive(Debug, Default)]
pub(crate) struct AppRegistry {
    apps: HashMap<String, AppRegistration>,
}

impl AppRegistry {
    /// The seeded registrations (see [`seeded`]).
    pub(crate) fn seeded() -> Self {
        let mut registry = AppRegistry::default();
        let strings = |items: &[&str]| items.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        registry.insert(AppRegistration {
            client_id: seeded::DAEMON_CLIENT_ID.to_owned(),
            display_name: "Emulator Daemon".to_owned(),
            service_principal_id: "a1111111-1111-4111-8111-111111111111".to_owned(),
            secrets: vec![seeded::DAEMON_CLIENT_SECRET.to_owned()],
            certificates: Vec::new(),
            redirect_uris: Vec::new(),
            any_loopback_redirect: false,
            identifier_uris: Vec::new(),
            graph_roles: strings(seeded::DAEMON_ROLES),
            exposed_scopes: Vec::new(),
            federated_credentials: Vec::new(),
            trusted_subjects: Vec::new(),
        });
        let certificate = RegisteredCertificate::from_pem(seeded::CERTIFICATE_APP_CERTIFICATE_PEM);
        registry.insert(AppRegistration {
            client_id: seeded::CERTIFICATE_APP_CLIENT_ID.to_owned(),
            display_name: "Emulator Certificate App".to_owned(),
            service_principal_id: "a5555555-5555-4555-8555-555555555555".to_owned(),
            secrets: Vec::new(),
            // The certificate ships with the crate and parses; a failure would be a packaging bug.
            certificates: certificate.into_iter().collect(),
            redirect_uris: Vec::new(),
            any_loopback_redirect: false,
            identifier_uris: Vec::new(),
            graph_roles: strings(seeded::DAEMON_ROLES),
            exposed_scopes: Vec::new(),
            federated_credentials: Vec::new(),
            trusted_subjects: Vec::new(),
        });
        registry.insert(AppRegistration {
            client_id: seeded::WEB_API_CLIENT_ID.to_owned(),
            display_name: "Emulator Web API".to_owned(),
            service_principal_id: "a2222222-2222-4222-8222-222222222222".to_owned(),
            secrets: vec![seeded::WEB_API_CLIENT_SECRET.to_owned()],
            certificates: Vec::new(),
            redirect_uris: Vec::new(),
            any_loopback_redirect: false,
            identifier_uris: vec![seeded::WEB_API_APP_ID_URI.to_owned()],
            graph_roles: Vec::new(),
            exposed_scopes: vec!["access_as_user".to_owned()],
            federated_credentials: Vec::new(),
            trusted_subjects: Vec::new(),
        });
        registry.insert(AppRegistration {
            client_id: seeded::PUBLIC_CLIENT_ID.to_owned(),
            display_name: "Emulator Public Client".to_owned(),
            service_principal_id: "a3333333-3333-4333-8333-333333333333".to_owned(),
            secrets: Vec::new(),
            certificates: Vec::new(),
            redirect_uris: vec![seeded::REDIRECT_URI.to_owned()],
            any_loopback_redirect: true,
            identifier_uris: Vec::new(),
            graph_roles: Vec::new(),
            exposed_scopes: Vec::new(),
            federated_credentials: Vec::new(),
            trusted_subjects: Vec::new(),
        });
        registry.insert(AppRegistration {
            client_id: seeded::WEB_APP_CLIENT_ID.to_owned(),
            display_name: "Emulator Web App".to_owned(),
            service_principal_id: "a4444444-4444-4444-8444-444444444444".to_owned(),
            secrets: vec![seeded::WEB_APP_CLIENT_SECRET.to_owned()],
            certificates: Vec::new(),
            redirect_uris: vec![seeded::REDIRECT_URI.to_owned()],
            any_loopback_redirect: false,
            identifier_uris: Vec::new(),
            graph_roles: Vec::new(),
            exposed_scopes: Vec::new(),
            federated_credentials: Vec::new(),
            trusted_subjects: Vec::new(),
        });
        registry
    }

    pub(crate) fn insert(&mut self, app: AppRegistration) {
        self.apps.insert(app.client_id.to_ascii_lowercase(), app);
    }

    pub(crate) fn get(&self, client_id: &str) -> Option<&AppRegistration> {
        self.apps.get(&client_id.to_ascii_lowercase())
    }

    /// Every registration, in client-id order.
    pub(crate) fn all(&self) -> Vec<&AppRegistration> {
        let mut apps: Vec<&AppRegistration> = self.apps.values().collect();
        apps.sort_by(|a, b| a.client_id.cmp(&b.client_id));
        apps
    }

    pub(crate) fn get_mut(&mut self, client_id: &str) -> Option<&mut AppRegistration> {
        self.apps.get_mut(&client_id.to_ascii_lowercase())
    }

    /// The app that is known as `resource` (client id or Application ID URI).
    pub(crate) fn resource(&self, resource: &str) -> Option<&AppRegistration> {
        self.apps.values().find(|app| app.is_known_as(resource))
    }
}
