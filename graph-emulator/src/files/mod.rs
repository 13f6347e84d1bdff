//! Files and binary content: drives and drive items with real content, simple uploads, upload
//! sessions, downloads through pre-authenticated URLs, Outlook attachments and profile photos.
//!
//! Content moves through a second loopback origin (another port), as Graph hands out URLs on
//! other hosts: `GET .../content` answers 302 to `{content origin}/download/{item}?tempauth=...`,
//! and upload sessions' `uploadUrl`s are `{content origin}/upload/{session}?tempauth=...`. That
//! origin refuses (401) and counts any request that carries `Authorization`, since clients must
//! not send their Graph token there.

mod content_origin;
mod drives;
mod outlook;
mod photos;
mod routes;
mod upload;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::http::StatusCode;
use parking_lot::{Mutex, RwLock};

pub(crate) use content_origin::{refuse_authorization, router as content_router};
pub(crate) use routes::dispatch;
pub use upload::UploadSessionInfo;

use drives::Drive;
use outlook::Outlook;
use photos::Photo;
use upload::UploadSession;

/// Graph's limit for a simple upload (`PUT .../content`): 250 MB.
pub(crate) const SIMPLE_UPLOAD_LIMIT: u64 = 250 * 1024 * 1024;

/// Limits of the file store.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FileLimits {
    /// Bytes of content the emulator keeps in memory in all (files, sessions, attachments, photos).
    pub max_total_bytes: u64,
    /// How long an upload session lives after its last fragment.
    pub session_lifetime: Duration,
}

impl Default for FileLimits {
    fn default() -> Self {
        FileLimits {
            max_total_bytes: 1024 * 1024 * 1024,
            session_lifetime: Duration::from_secs(3600),
        }
    }
}

/// A failure of a file operation, in Graph's error vocabulary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl FileError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        FileError {
            status,
            code,
            message: message.into(),
        }
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "itemNotFound", message)
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalidRequest", message)
    }

    pub(crate) fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "nameAlreadyExists", message)
    }

    pub(crate) fn name_exists() -> Self {
        Self::conflict("The specified item name already exists.")
    }

    pub(crate) fn quota() -> Self {
        Self::new(
            StatusCode::INSUFFICIENT_STORAGE,
            "quotaLimitReached",
            "The emulator's file storage limit is reached.",
        )
    }
}

impl From<FileError> for crate::graph::ApiError {
    fn from(e: FileError) -> Self {
        crate::graph::ApiError::new(e.status, e.code, e.message)
    }
}

/// Everything the file side keeps.
#[derive(Debug, Default)]
pub(crate) struct FilesState {
    pub limits: FileLimits,
    /// Drives by id.
    pub drives: RwLock<HashMap<String, Drive>>,
    /// Pre-authenticated download tokens by item id: `(drive id, token)`.
    pub downloads: Mutex<HashMap<String, (String, String)>>,
    /// Upload sessions by id.
    pub sessions: Mutex<HashMap<String, UploadSession>>,
    /// Photos by owner (`users/{id}` or `groups/{id}`).
    pub photos: RwLock<HashMap<String, Photo>>,
    /// Messages and events with their attachments.
    pub outlook: RwLock<Outlook>,
    /// The content origin's base URL, e.g. `http://127.0.0.1:PORT`.
    pub content_base: RwLock<String>,
    /// Requests to the content origin refused because they carried `Authorization`.
    pub authorization_rejected: AtomicU64,
}

impl FilesState {
    pub(crate) fn new(limits: FileLimits) -> Self {
        FilesState {
            limits,
            ..FilesState::default()
        }
    }

    pub(crate) fn content_base(&self) -> String {
        self.content_base.read().clone()
    }

    /// Bytes of content held in all.
    pub(crate) fn used_bytes(&self) -> u64 {
        let drives: u64 = self.drives.read().values().map(Drive::used).sum();
        let sessions: u64 = self
            .sessions
            .lock()
            .values()
            .map(|s| s.data.len() as u64)
            .sum();
        let photos: u64 = self
            .photos
            .read()
            .values()
            .map(|p| p.bytes.len() as u64)
            .sum();
        drives + sessions + photos + self.outlook.read().used_bytes()
    }

    /// Refuses `additional` bytes that would pass the storage limit.
    pub(crate) fn reserve(&self, additional: u64) -> Result<(), FileError> {
        if self.used_bytes().saturating_add(additional) > self.limits.max_total_bytes {
            return Err(FileError::quota());
        }
        Ok(())
    }

    pub(crate) fn count_rejected_authorization(&self) {
        self.authorization_rejected.fetch_add(1, Ordering::Relaxed);
    }
}
