//! The Microsoft Entra ID v2.0 side of the emulator: keys, app registrations, grants and token checks.
//!
//! Routes (any tenant segment that names the seeded tenant, plus `common` and `organizations`):
//! `/{tenant}/v2.0/.well-known/openid-configuration`, `/{tenant}/discovery/v2.0/keys`,
//! `/{tenant}/oauth2/v2.0/token`, `/{tenant}/oauth2/v2.0/authorize`, `/{tenant}/oauth2/v2.0/devicecode`.

mod apps;
mod authorize;
mod client_auth;
mod device_code;
mod discovery;
mod errors;
mod federation;
mod grants;
mod graph_auth;
mod keys;
mod scopes;
mod subject_name;
mod token_endpoint;
mod tokens;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use parking_lot::RwLock;

pub use apps::seeded;
pub(crate) use apps::{AppRegistration, AppRegistry, RegisteredCertificate};
pub(crate) use errors::OAuthError;
pub(crate) use federation::ExternalIssuers;
pub use federation::{FederatedCredential, TOKEN_EXCHANGE_AUDIENCE};
pub(crate) use graph_auth::{Caller, GRAPH_CHALLENGE, authenticate_graph, graph_error};
pub(crate) use keys::SigningKey;
pub(crate) use scopes::GRAPH_RESOURCE;
pub use subject_name::SubjectNameCredential;
pub(crate) use subject_name::TrustedSubject;
pub(crate) use tokens::{Grantee, UserInfo, Validity, now_secs, random_id, random_id_32};

use crate::state::AppState;
use crate::store::Directory;
use grants::GrantStore;

/// Settings of the identity side, fixed at start.
#[derive(Debug, Clone)]
pub(crate) struct IdentityConfig {
    pub tenant_id: String,
    pub token_lifetime: Duration,
    pub refresh_in: Option<Duration>,
    pub device_code_interval: Duration,
    pub device_code_pending_polls: u32,
}

/// Why a user's on-behalf-of request must go back to the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InteractionRequirement {
    /// Conditional Access demands multi-factor authentication (AADSTS50076, with a claims challenge).
    Mfa,
    /// The user has not consented to the requested permissions (AADSTS65001).
    Consent,
}

/// Keys, app registrations and grant state of the identity side.
#[derive(Debug)]
pub(crate) struct Identity {
    pub config: IdentityConfig,
    pub key: Arc<SigningKey>,
    pub apps: RwLock<AppRegistry>,
    pub grants: GrantStore,
    /// Users (by object id, lowercase) whose OBO requests answer `interaction_required`.
    pub interaction: RwLock<HashMap<String, InteractionRequirement>>,
    /// The user the non-interactive authorize and device-code endpoints sign in (id or UPN).
    pub signed_in_user: RwLock<String>,
    /// External token issuers trusted for workload identity federation.
    pub external_issuers: RwLock<ExternalIssuers>,
}

/// The user signed in by `/authorize` and `/devicecode` unless the control handle picks another.
pub const DEFAULT_SIGNED_IN_USER: &str = "AdeleV@contoso.com";

impl Identity {
    pub(crate) fn new(config: IdentityConfig, key: Arc<SigningKey>) -> Self {
        Identity {
            config,
            key,
            apps: RwLock::new(AppRegistry::seeded()),
            grants: GrantStore::default(),
            interaction: RwLock::new(HashMap::new()),
            signed_in_user: RwLock::new(DEFAULT_SIGNED_IN_USER.to_owned()),
            external_issuers: RwLock::new(ExternalIssuers::default()),
        }
    }

    /// Maps a tenant path segment to the tenant id; unknown tenants fail like Entra (AADSTS90002).
    pub(crate) fn resolve_tenant(&self, segment: &str) -> Result<&str, OAuthError> {
        let known = segment.eq_ignore_ascii_case(&self.config.tenant_id)
            || [
                "common",
                "organizations",
                "contoso.onmicrosoft.com",
                "contoso.com",
            ]
            .iter()
            .any(|t| t.eq_ignore_ascii_case(segment));
        if known {
            Ok(&self.config.tenant_id)
        } else {
            Err(OAuthError::unknown_tenant(segment))
        }
    }

    /// `expires_in` and `refresh_in` (seconds) of issued tokens.
    pub(crate) fn lifetimes(&self) -> (u64, Option<u64>) {
        (
            self.config.token_lifetime.as_secs(),
            self.config.refresh_in.map(|d| d.as_secs()),
        )
    }
}

/// Looks a user up by id or UPN.
pub(crate) fn find_user(directory: &Directory, id_or_upn: &str) -> Option<UserInfo> {
    directory.user(id_or_upn).map(|u| UserInfo {
        id: u.id.clone(),
        user_principal_name: u.user_principal_name.clone(),
        display_name: u.display_name.clone(),
    })
}

/// The identity routes (to be merged at the root).
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(discovery::openid_configuration),
        )
        .route("/{tenant}/discovery/v2.0/keys", get(discovery::jwks))
        .route("/{tenant}/oauth2/v2.0/token", post(token_endpoint::token))
        .route("/{tenant}/oauth2/v2.0/authorize", get(authorize::authorize))
        .route(
            "/{tenant}/oauth2/v2.0/devicecode",
            post(device_code::device_authorization),
        )
        .route("/devicelogin", get(device_code::device_login_page))
}
