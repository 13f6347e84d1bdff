//! Managed identity endpoints in the shapes Azure hosts serve them, for `ManagedIdentityCredential`
//! and MSAL's managed identity sources:
//!
//! | host | route | needs |
//! |---|---|---|
//! | VM / IMDS | `GET /metadata/identity/oauth2/token?api-version=2018-02-01&resource=...` | `Metadata: true` |
//! | App Service (`IDENTITY_ENDPOINT`) | `GET /msi/token?api-version=2019-08-01&resource=...` | `X-IDENTITY-HEADER: <IDENTITY_HEADER>` |
//! | Cloud Shell (`MSI_ENDPOINT`) | `POST /cloudshell/token` with the form `resource=...` | `Metadata: true` |
//! | Azure Arc (`IDENTITY_ENDPOINT`) | `GET /arc/metadata/identity/oauth2/token?api-version=2019-11-01&resource=...` | `Metadata: true`, then `Authorization: Basic <key file>` |
//!
//! A user-assigned identity is chosen with `client_id`, `object_id` / `principal_id` (App
//! Service takes both: azure-identity sends the one, MSAL the other) or
//! `msi_res_id` / `mi_res_id`; without one the system-assigned identity answers. Tokens are
//! app-only JWTs of the identity's service principal (`oid` = its principal id, `appid` = its
//! client id), audience = `resource`, with the identity's Graph roles when the resource is Graph.

mod arc;
mod endpoints;
mod identities;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use parking_lot::{Mutex, RwLock};

pub use identities::ManagedIdentity;
pub(crate) use identities::{ManagedIdentities, seeded_identities};

use crate::state::AppState;

/// Settings and state of the managed identity endpoints.
#[derive(Debug)]
pub(crate) struct ManagedIdentityState {
    /// The identities (system-assigned first).
    pub identities: RwLock<ManagedIdentities>,
    /// The App Service `IDENTITY_HEADER` secret.
    pub app_service_header: String,
    /// Where the Arc endpoint writes its challenge key files.
    pub arc_key_dir: std::path::PathBuf,
    /// Arc key files written and not yet used (their contents).
    pub arc_keys: Mutex<Vec<String>>,
}

impl ManagedIdentityState {
    pub(crate) fn new(
        identities: ManagedIdentities,
        app_service_header: String,
        arc_key_dir: std::path::PathBuf,
    ) -> Arc<Self> {
        Arc::new(ManagedIdentityState {
            identities: RwLock::new(identities),
            app_service_header,
            arc_key_dir,
            arc_keys: Mutex::new(Vec::new()),
        })
    }
}

/// Path prefixes of the managed identity routes (for the fault layer's error shapes).
pub(crate) fn is_managed_identity_path(path: &str) -> bool {
    path.starts_with("/metadata/identity/")
        || path.starts_with("/msi/")
        || path.starts_with("/cloudshell/")
        || path.starts_with("/arc/")
}

/// The managed identity routes (merged at the root).
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/metadata/identity/oauth2/token", get(endpoints::imds))
        .route("/msi/token", get(endpoints::app_service))
        .route("/cloudshell/token", post(endpoints::cloud_shell))
        .route("/arc/metadata/identity/oauth2/token", get(arc::arc))
}
