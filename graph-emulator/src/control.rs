//! The control handle: faults, counters, users, apps and token minting, from a test.

use std::time::Duration;

use crate::counters::Counts;
use crate::error::Error;
use crate::faults::Fault;
use crate::identity::{
    GRAPH_RESOURCE, Grantee, InteractionRequirement, RegisteredCertificate, Validity, find_user,
};
use crate::state::AppState;

/// A user of the emulated directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSummary {
    /// Object id.
    pub id: String,
    /// User principal name.
    pub user_principal_name: String,
    /// Display name.
    pub display_name: String,
}

/// An app registration of the emulated tenant, as [`Control::apps`] lists it.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AppSummary {
    /// The application (client) id.
    pub client_id: String,
    /// Display name.
    pub display_name: String,
    /// Its client secrets (test values; `Debug` does not show them).
    pub client_secrets: Vec<String>,
    /// How many certificates are registered.
    pub certificates: usize,
    /// Microsoft Graph app roles.
    pub roles: Vec<String>,
    /// Redirect URIs.
    pub redirect_uris: Vec<String>,
    /// A public client (no secret, no certificate).
    pub public_client: bool,
}

impl std::fmt::Debug for AppSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppSummary")
            .field("client_id", &self.client_id)
            .field("display_name", &self.display_name)
            .field("client_secrets", &self.client_secrets.len())
            .field("certificates", &self.certificates)
            .field("roles", &self.roles)
            .finish_non_exhaustive()
    }
}

/// Controls a running [`crate::Emulator`]. Cheap to clone; stays valid while the emulator runs.
#[derive(Clone, Debug)]
pub struct Control {
    state: AppState,
}

impl Control {
    pub(crate) fn new(state: AppState) -> Self {
        Control { state }
    }

    /// Queues a fault for the next matching requests.
    pub fn inject(&self, fault: Fault) {
        self.state.faults.inject(fault);
    }

    /// Removes every queued fault.
    pub fn clear_faults(&self) {
        self.state.faults.clear();
    }

    /// Faults still waiting (with their remaining `times`).
    pub fn pending_faults(&self) -> Vec<Fault> {
        self.state.faults.pending()
    }

    /// Requests to any token endpoint (all grants, faulted ones included).
    pub fn token_requests(&self) -> u64 {
        self.state.counters.snapshot().token_requests
    }

    /// Token requests with this `grant_type`, e.g. `"client_credentials"` or
    /// `"urn:ietf:params:oauth:grant-type:jwt-bearer"`.
    pub fn token_requests_for_grant(&self, grant_type: &str) -> u64 {
        self.state.counters.token_requests_for_grant(grant_type)
    }

    /// Requests whose path starts with `prefix`, e.g. `"/v1.0/users"`.
    pub fn requests_to(&self, prefix: &str) -> u64 {
        self.state.counters.requests_to(prefix)
    }

    /// Requests under `/v1.0`.
    pub fn graph_requests(&self) -> u64 {
        self.state.counters.snapshot().graph_requests
    }

    /// All counters at once.
    pub fn counts(&self) -> Counts {
        self.state.counters.snapshot()
    }

    /// Sets every counter back to zero.
    pub fn reset_counters(&self) {
        self.state.counters.reset();
    }

    /// Adds `n` generated users to the directory.
    pub fn generate_users(&self, n: usize) {
        self.state.directory.write().generate_users(n);
    }

    /// The first `limit` users in id order, and how many users there are in all.
    pub fn users(&self, limit: usize) -> (Vec<UserSummary>, usize) {
        let dir = self.state.directory.read();
        let users = dir
            .iter_after(crate::store::Kind::User, None)
            .take(limit)
            .map(|u| UserSummary {
                id: u.id.clone(),
                user_principal_name: u.user_principal_name.clone(),
                display_name: u.display_name.clone(),
            })
            .collect();
        (users, dir.count(crate::store::Kind::User))
    }

    /// Looks a user up by object id or userPrincipalName.
    pub fn user(&self, id_or_upn: &str) -> Option<UserSummary> {
        find_user(&self.state.directory.read(), id_or_upn).map(|u| UserSummary {
            id: u.id,
            user_principal_name: u.user_principal_name,
            display_name: u.display_name,
        })
    }

    /// Chooses the user that `/authorize` (without `login_hint`) and `/devicecode` sign in.
    /// Defaults to [`crate::DEFAULT_SIGNED_IN_USER`].
    ///
    /// # Errors
    /// [`Error::UnknownUser`] if no such user exists.
    pub fn set_signed_in_user(&self, id_or_upn: &str) -> Result<(), Error> {
        let user = self
            .user(id_or_upn)
            .ok_or_else(|| Error::UnknownUser(id_or_upn.to_owned()))?;
        *self.state.identity.signed_in_user.write() = user.id;
        Ok(())
    }

    /// Makes on-behalf-of requests for this user fail with `interaction_required`
    /// ([`InteractionRequirement::Mfa`], AADSTS50076 plus a claims challenge) or with
    /// `invalid_grant`/`consent_required` ([`InteractionRequirement::Consent`], AADSTS65001).
    ///
    /// # Errors
    /// [`Error::UnknownUser`] if no such user exists.
    pub fn require_interaction(
        &self,
        id_or_upn: &str,
        requirement: InteractionRequirement,
    ) -> Result<(), Error> {
        let user = self
            .user(id_or_upn)
            .ok_or_else(|| Error::UnknownUser(id_or_upn.to_owned()))?;
        self.state
            .identity
            .interaction
            .write()
            .insert(user.id.to_ascii_lowercase(), requirement);
        Ok(())
    }

    /// Lifts a requirement set with [`Control::require_interaction`].
    pub fn clear_interaction(&self, id_or_upn: &str) {
        if let Some(user) = self.user(id_or_upn) {
            self.state
                .identity
                .interaction
                .write()
                .remove(&user.id.to_ascii_lowercase());
        }
    }

    /// Registers a PEM certificate (RSA key) as a credential of an app, for `client_assertion`.
    ///
    /// # Errors
    /// [`Error::UnknownApp`] or [`Error::InvalidCertificate`].
    pub fn register_certificate(
        &self,
        client_id: &str,
        certificate_pem: &str,
    ) -> Result<(), Error> {
        let certificate = RegisteredCertificate::from_pem(certificate_pem)?;
        let mut apps = self.state.identity.apps.write();
        let app = apps
            .get_mut(client_id)
            .ok_or_else(|| Error::UnknownApp(client_id.to_owned()))?;
        app.certificates.push(certificate);
        Ok(())
    }

    /// The managed identities the managed identity endpoints answer for (the system-assigned
    /// one first among the seeded ones).
    pub fn managed_identities(&self) -> Vec<crate::ManagedIdentity> {
        self.state.managed_identity.identities.read().all().to_vec()
    }

    /// Adds a managed identity, or replaces the one with the same client id.
    pub fn add_managed_identity(&self, identity: crate::ManagedIdentity) {
        self.state
            .managed_identity
            .identities
            .write()
            .upsert(identity);
    }

    /// The App Service `IDENTITY_HEADER` secret clients send as `X-IDENTITY-HEADER`.
    pub fn app_service_identity_header(&self) -> String {
        self.state.managed_identity.app_service_header.clone()
    }

    /// The upload sessions still open (drive items and Outlook attachments), with the bytes
    /// each received and confirmed.
    pub fn upload_sessions(&self) -> Vec<crate::UploadSessionInfo> {
        let mut sessions: Vec<crate::UploadSessionInfo> = self
            .state
            .files
            .sessions
            .lock()
            .values()
            .map(|s| s.info())
            .collect();
        sessions.sort_by(|a, b| a.id.cmp(&b.id));
        sessions
    }

    /// The session whose `uploadUrl` is `url` (or whose id is `url`).
    pub fn upload_session(&self, url: &str) -> Option<crate::UploadSessionInfo> {
        let id = url
            .split('?')
            .next()
            .and_then(|path| path.rsplit('/').next())
            .unwrap_or(url);
        self.state.files.sessions.lock().get(id).map(|s| s.info())
    }

    /// Requests to the content origin refused because they carried an `Authorization` header.
    pub fn content_requests_with_authorization(&self) -> u64 {
        self.state
            .files
            .authorization_rejected
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Bytes of file content the emulator holds (drive items, open sessions, attachments,
    /// photos).
    pub fn file_bytes_stored(&self) -> u64 {
        self.state.files.used_bytes()
    }

    /// Turns Graph's throttling model on (fresh buckets) or off (`None`).
    pub fn set_throttling(&self, config: Option<crate::ThrottlingConfig>) {
        self.state.throttle.set(config);
    }

    /// The throttling model's settings, when it is on.
    pub fn throttling(&self) -> Option<crate::ThrottlingConfig> {
        self.state.throttle.config()
    }

    /// Graph requests the throttling model answered with 429.
    pub fn throttled_requests(&self) -> u64 {
        self.state.throttle.throttled()
    }

    /// Every app registration, in client-id order.
    pub fn apps(&self) -> Vec<AppSummary> {
        self.state
            .identity
            .apps
            .read()
            .all()
            .into_iter()
            .map(|app| AppSummary {
                client_id: app.client_id.clone(),
                display_name: app.display_name.clone(),
                client_secrets: app.secrets.clone(),
                certificates: app.certificates.len(),
                roles: app.graph_roles.clone(),
                redirect_uris: app.redirect_uris.clone(),
                public_client: app.is_public(),
            })
            .collect()
    }

    /// Registers an app (or replaces the registration with the same client id): secrets,
    /// certificates (PEM text), Graph roles, redirect URIs.
    ///
    /// # Errors
    /// [`Error::Config`] for an empty client id or a certificate that does not parse.
    pub fn register_app(&self, app: &crate::AppConfig) -> Result<(), Error> {
        let registration = crate::config::registration(app, "app")?;
        self.state.identity.apps.write().insert(registration);
        Ok(())
    }

    /// Adds a federated identity credential to an app: tokens of `credential.issuer` about
    /// `credential.subject` with one of its audiences become accepted client assertions (the
    /// issuer's key must be known: [`Control::create_external_issuer`],
    /// [`Control::trust_external_issuer_key`] or [`Control::trust_external_issuer_jwks`]).
    ///
    /// # Errors
    /// [`Error::UnknownApp`].
    pub fn register_federated_credential(
        &self,
        client_id: &str,
        credential: crate::FederatedCredential,
    ) -> Result<(), Error> {
        let mut apps = self.state.identity.apps.write();
        let app = apps
            .get_mut(client_id)
            .ok_or_else(|| Error::UnknownApp(client_id.to_owned()))?;
        app.federated_credentials.push(credential);
        Ok(())
    }

    /// Adds a subject name + issuer credential to an app: an assertion whose `x5c` chain ends
    /// in (or is signed by) the issuer certificate and whose leaf has the subject is accepted
    /// without a registered thumbprint.
    ///
    /// # Errors
    /// [`Error::UnknownApp`] or [`Error::InvalidCertificate`].
    pub fn register_subject_name_credential(
        &self,
        client_id: &str,
        credential: &crate::SubjectNameCredential,
    ) -> Result<(), Error> {
        let trusted = crate::identity::TrustedSubject::from_credential(credential)?;
        let mut apps = self.state.identity.apps.write();
        let app = apps
            .get_mut(client_id)
            .ok_or_else(|| Error::UnknownApp(client_id.to_owned()))?;
        app.trusted_subjects.push(trusted);
        Ok(())
    }

    /// Makes the emulator an external token issuer with this `iss` (e.g. a Kubernetes cluster's
    /// `https://oidc.example/cluster-1`): generates its RSA key, trusts it, and lets
    /// [`Control::mint_external_token`] sign as that issuer.
    ///
    /// # Errors
    /// [`Error::Key`] if the key cannot be generated.
    pub fn create_external_issuer(&self, issuer: &str) -> Result<(), Error> {
        self.state.identity.external_issuers.write().create(issuer)
    }

    /// Trusts an RSA public key (PEM `PUBLIC KEY`, `RSA PUBLIC KEY` or `CERTIFICATE`) of an
    /// external issuer.
    ///
    /// # Errors
    /// [`Error::InvalidCertificate`] if the PEM holds no RSA key.
    pub fn trust_external_issuer_key(
        &self,
        issuer: &str,
        public_key_pem: &str,
    ) -> Result<(), Error> {
        self.state
            .identity
            .external_issuers
            .write()
            .add_public_key_pem(issuer, public_key_pem)
    }

    /// Trusts the RSA keys of an external issuer's JWKS document (`{"keys": [...]}`).
    ///
    /// # Errors
    /// [`Error::InvalidCertificate`] if the document holds no usable RSA key.
    pub fn trust_external_issuer_jwks(&self, issuer: &str, jwks_json: &str) -> Result<(), Error> {
        self.state
            .identity
            .external_issuers
            .write()
            .add_jwks(issuer, jwks_json)
    }

    /// Mints a token of an issuer created with [`Control::create_external_issuer`], as a
    /// Kubernetes service-account token would be (`iss`, `sub`, `aud`, `iat`, `nbf`, `exp`,
    /// `jti`, RS256 with `kid`), to use as a federated `client_assertion` (or as the file of
    /// `AZURE_FEDERATED_TOKEN_FILE`).
    ///
    /// # Errors
    /// [`Error::UnknownIssuer`] if the emulator holds no signing key for `issuer`, or
    /// [`Error::Signing`].
    pub fn mint_external_token(
        &self,
        issuer: &str,
        subject: &str,
        audience: &str,
        lifetime: Duration,
    ) -> Result<String, Error> {
        let now = crate::identity::now_secs();
        let claims = serde_json::json!({
            "iss": issuer,
            "sub": subject,
            "aud": [audience],
            "iat": now,
            "nbf": now,
            "exp": now.saturating_add(lifetime.as_secs()),
            "jti": uuid::Uuid::new_v4().to_string(),
        });
        self.state
            .identity
            .external_issuers
            .read()
            .mint(issuer, &claims)
    }

    /// Mints a delegated access token for `user` as the seeded public client would receive it,
    /// with this `audience` (e.g. the web API's client id or `api://...`) and `scopes` (`scp`).
    /// Use it as the incoming token of an on-behalf-of flow.
    ///
    /// # Errors
    /// [`Error::UnknownUser`], or [`Error::Signing`].
    pub fn issue_user_token(
        &self,
        user: &str,
        audience: &str,
        scopes: &[&str],
    ) -> Result<String, Error> {
        self.user_token(
            user,
            audience,
            scopes,
            Validity::from_now(self.state.identity.config.token_lifetime),
        )
    }

    /// Like [`Control::issue_user_token`] but already expired (`exp` one minute ago).
    ///
    /// # Errors
    /// [`Error::UnknownUser`], or [`Error::Signing`].
    pub fn issue_expired_user_token(
        &self,
        user: &str,
        audience: &str,
        scopes: &[&str],
    ) -> Result<String, Error> {
        let now = crate::identity::now_secs();
        let validity = Validity {
            issued_at: now.saturating_sub(3600),
            expires_at: now.saturating_sub(60),
        };
        self.user_token(user, audience, scopes, validity)
    }

    fn user_token(
        &self,
        user: &str,
        audience: &str,
        scopes: &[&str],
        validity: Validity,
    ) -> Result<String, Error> {
        let user = find_user(&self.state.directory.read(), user)
            .ok_or_else(|| Error::UnknownUser(user.to_owned()))?;
        let identity = &self.state.identity;
        let client = identity
            .apps
            .read()
            .get(crate::seeded::PUBLIC_CLIENT_ID)
            .cloned()
            .ok_or_else(|| Error::UnknownApp(crate::seeded::PUBLIC_CLIENT_ID.to_owned()))?;
        identity
            .mint_access_token(
                &self.state.base_url,
                &client,
                Grantee::User {
                    user: &user,
                    scp: scopes.join(" "),
                },
                audience.to_owned(),
                validity,
            )
            .map_err(|e| Error::Signing(e.description))
    }

    /// Mints an app-only Microsoft Graph token for a registered app, with its Graph roles,
    /// without a token request (it is not counted).
    ///
    /// # Errors
    /// [`Error::UnknownApp`], or [`Error::Signing`].
    pub fn issue_app_token(&self, client_id: &str, lifetime: Duration) -> Result<String, Error> {
        let identity = &self.state.identity;
        let client = identity
            .apps
            .read()
            .get(client_id)
            .cloned()
            .ok_or_else(|| Error::UnknownApp(client_id.to_owned()))?;
        identity
            .mint_access_token(
                &self.state.base_url,
                &client,
                Grantee::App {
                    roles: client.graph_roles.clone(),
                },
                GRAPH_RESOURCE.to_owned(),
                Validity::from_now(lifetime),
            )
            .map_err(|e| Error::Signing(e.description))
    }
}
