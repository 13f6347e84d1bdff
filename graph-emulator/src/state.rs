//! Shared server state handed to every axum handler.

use std::sync::Arc;

use parking_lot::RwLock;

use crate::files::FilesState;
use crate::managed_identity::ManagedIdentityState;
use crate::throttle::Throttle;
use crate::{counters::Counters, faults::Faults, identity::Identity, store::Directory};

/// Everything a handler may need. Cheap to clone (all `Arc`s).
#[derive(Clone)]
pub(crate) struct AppState {
    /// The directory (users, groups, ...): the Graph side's state.
    pub directory: Arc<RwLock<Directory>>,
    /// Keys, app registrations and the grant stores of the identity side.
    pub identity: Arc<Identity>,
    /// Injected faults waiting for matching requests.
    pub faults: Arc<Faults>,
    /// Drives, upload sessions, attachments and photos.
    pub files: Arc<FilesState>,
    /// Managed identities and the secrets of their endpoints.
    pub managed_identity: Arc<ManagedIdentityState>,
    /// Graph's throttling model (off unless configured).
    pub throttle: Arc<Throttle>,
    /// Request counters (per route, per grant type).
    pub counters: Arc<Counters>,
    /// The externally visible base URL, e.g. `http://127.0.0.1:PORT` (no trailing slash).
    pub base_url: String,
}
