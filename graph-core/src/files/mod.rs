//! Binary content: streaming downloads ([`DownloadRequest`], [`ByteStream`]), simple uploads
//! and resumable upload sessions for large files ([`LargeFileUpload`]), and the content
//! request generated builders return for every stream Graph defines ([`ContentRequest`]).
//!
//! Content often lives on another host: a download answers 302 to a pre-authenticated URL,
//! and an upload session's `uploadUrl` is pre-authenticated too. The SDK never sends the Graph
//! token to either: the redirect is followed without `Authorization` (the pipeline drops it
//! whenever the origin changes), and upload slices are sent without any credential.

mod content;
mod download;
mod upload;

pub use content::ContentRequest;
pub use download::{ByteStream, DownloadRequest};
pub use upload::{
    ATTACHMENT_MAX_SLICE, ConflictBehavior, DEFAULT_SLICE, DRIVE_SLICE_UNIT, LargeFileUpload,
    UploadComplete, UploadProgress, UploadSession, UploadTarget,
};
