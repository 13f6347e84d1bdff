//! Upload sessions: created by Graph routes (drive items, Outlook attachments), fed with `PUT`s of
//! byte ranges at the content origin, queried with `GET`, cancelled with `DELETE`.
//!
//! Drive sessions follow OneDrive's rules: fragments are multiples of 320 KiB except the last
//! (at most 60 MiB), `nextExpectedRanges` as `["start-"]`, the last fragment answers 201 (new
//! item) or 200 (replaced) with the driveItem. Attachment sessions follow Outlook's: slices of at
//! most 4 MB, `nextExpectedRanges` as `["start"]`, the last slice answers 201 with an empty body
//! and a `Location` naming the attachment.

use std::time::{Duration, SystemTime};

use axum::http::{HeaderMap, StatusCode};

use super::FileError;
use super::drives::Conflict;

/// Drive fragments must be multiples of this (320 KiB).
pub(crate) const FRAGMENT_UNIT: u64 = 320 * 1024;
/// Largest drive fragment (60 MiB).
pub(crate) const MAX_FRAGMENT: u64 = 60 * 1024 * 1024;
/// Largest Outlook attachment slice (4 MB).
pub(crate) const MAX_ATTACHMENT_SLICE: u64 = 4 * 1024 * 1024;

/// Where the bytes of a session go once complete.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    /// A drive item: `name` under `parent`.
    Drive {
        drive_id: String,
        parent_id: String,
        name: String,
        conflict: Conflict,
    },
    /// An Outlook attachment of a message or event.
    Attachment {
        user_id: String,
        /// `messages` or `events`.
        collection: &'static str,
        item_id: String,
        name: String,
        content_type: String,
        is_inline: bool,
        size: u64,
    },
}

/// One upload session.
#[derive(Debug)]
pub(crate) struct UploadSession {
    pub id: String,
    pub token: String,
    pub target: Target,
    /// The file's size once the first fragment (or the attachment item) said it.
    pub total: Option<u64>,
    pub data: Vec<u8>,
    /// Bytes of fragment bodies received, accepted or refused.
    pub received: u64,
    pub expires_at: SystemTime,
}

/// A snapshot of an upload session, for tests ([`crate::Control::upload_sessions`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UploadSessionInfo {
    /// The session id (the path segment after `/upload/` in its `uploadUrl`).
    pub id: String,
    /// Bytes of fragment bodies the session received, accepted or refused (a body cut by a
    /// dropped connection is not counted).
    pub bytes_received: u64,
    /// Bytes accepted so far (the start of the next expected range).
    pub bytes_confirmed: u64,
    /// The file size the fragments declare, once known.
    pub total: Option<u64>,
}

impl UploadSession {
    pub(crate) fn new(target: Target, lifetime: Duration) -> Self {
        let total = match &target {
            Target::Attachment { size, .. } => Some(*size),
            Target::Drive { .. } => None,
        };
        UploadSession {
            id: super::drives::new_item_id(),
            token: crate::identity::random_id(24),
            target,
            total,
            data: Vec::new(),
            received: 0,
            expires_at: SystemTime::now() + lifetime,
        }
    }

    pub(crate) fn is_attachment(&self) -> bool {
        matches!(self.target, Target::Attachment { .. })
    }

    pub(crate) fn info(&self) -> UploadSessionInfo {
        UploadSessionInfo {
            id: self.id.clone(),
            bytes_received: self.received,
            bytes_confirmed: self.data.len() as u64,
            total: self.total,
        }
    }

    /// `nextExpectedRanges` in the session's style.
    pub(crate) fn next_expected(&self) -> Vec<String> {
        let start = self.data.len();
        if self.is_attachment() {
            vec![start.to_string()]
        } else {
            vec![format!("{start}-")]
        }
    }

    pub(crate) fn expired(&self) -> bool {
        SystemTime::now() > self.expires_at
    }
}

/// A parsed `Content-Range: bytes a-b/total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ContentRange {
    pub start: u64,
    pub end: u64,
    pub total: u64,
}

impl ContentRange {
    pub(crate) fn parse(headers: &HeaderMap) -> Result<ContentRange, FileError> {
        let value = headers
            .get("content-range")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| FileError::invalid("The Content-Range header is required."))?;
        let invalid =
            || FileError::invalid(format!("The Content-Range header '{value}' is not valid."));
        let rest = value.trim().strip_prefix("bytes ").ok_or_else(invalid)?;
        let (range, total) = rest.split_once('/').ok_or_else(invalid)?;
        let (start, end) = range.split_once('-').ok_or_else(invalid)?;
        let parse = |s: &str| s.trim().parse::<u64>().map_err(|_| invalid());
        let (start, end, total) = (parse(start)?, parse(end)?, parse(total)?);
        if end < start || end >= total {
            return Err(invalid());
        }
        Ok(ContentRange { start, end, total })
    }

    pub(crate) fn len(&self) -> u64 {
        self.end - self.start + 1
    }
}

/// What accepting a fragment led to.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Progress {
    /// More bytes are expected.
    Partial,
    /// The file is complete.
    Complete,
}

fn range_error(message: impl Into<String>) -> FileError {
    FileError::new(StatusCode::RANGE_NOT_SATISFIABLE, "invalidRange", message)
}

/// Checks a fragment against the session's rules and appends it.
pub(crate) fn accept_fragment(
    session: &mut UploadSession,
    range: ContentRange,
    body: &[u8],
    lifetime: Duration,
) -> Result<Progress, FileError> {
    session.received = session.received.saturating_add(body.len() as u64);
    if body.len() as u64 != range.len() {
        return Err(FileError::invalid(format!(
            "The Content-Length ({}) does not match the Content-Range ({} bytes).",
            body.len(),
            range.len()
        )));
    }
    if let Some(total) = session.total
        && total != range.total
    {
        return Err(FileError::invalid(format!(
            "The total size in Content-Range ({}) differs from the session's ({total}).",
            range.total
        )));
    }
    let confirmed = session.data.len() as u64;
    if range.start != confirmed {
        return Err(range_error(format!(
            "The uploaded fragment starts at {} but the session expects byte {confirmed}.",
            range.start
        )));
    }
    let last = range.end + 1 == range.total;
    if session.is_attachment() {
        if range.len() > MAX_ATTACHMENT_SLICE {
            return Err(FileError::invalid(
                "An attachment slice must be at most 4 MB.",
            ));
        }
    } else {
        if range.len() > MAX_FRAGMENT {
            return Err(FileError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "invalidRequest",
                "A fragment must be smaller than 60 MiB.",
            ));
        }
        if !last && !range.len().is_multiple_of(FRAGMENT_UNIT) {
            return Err(FileError::invalid(
                "Fragments must be a multiple of 320 KiB (327,680 bytes), except the last one.",
            ));
        }
    }
    session.total = Some(range.total);
    session.data.extend_from_slice(body);
    session.expires_at = SystemTime::now() + lifetime;
    Ok(if last {
        Progress::Complete
    } else {
        Progress::Partial
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> UploadSession {
        UploadSession::new(
            Target::Drive {
                drive_id: "d".into(),
                parent_id: "p".into(),
                name: "f".into(),
                conflict: Conflict::Replace,
            },
            Duration::from_secs(60),
        )
    }

    fn range(start: u64, end: u64, total: u64) -> ContentRange {
        ContentRange { start, end, total }
    }

    #[test]
    fn fragments_follow_onedrive_rules() {
        let mut s = session();
        let unit = FRAGMENT_UNIT as usize;
        let total = (unit * 2 + 10) as u64;
        let lifetime = Duration::from_secs(60);
        let odd = vec![0u8; 1000];
        assert_eq!(
            accept_fragment(&mut s, range(0, 999, total), &odd, lifetime)
                .unwrap_err()
                .code,
            "invalidRequest"
        );
        let first = vec![1u8; unit];
        assert_eq!(
            accept_fragment(&mut s, range(0, unit as u64 - 1, total), &first, lifetime),
            Ok(Progress::Partial)
        );
        assert_eq!(s.next_expected(), [format!("{unit}-")]);
        let err = accept_fragment(&mut s, range(0, unit as u64 - 1, total), &first, lifetime)
            .unwrap_err();
        assert_eq!(err.status, StatusCode::RANGE_NOT_SATISFIABLE);
        let rest = vec![2u8; unit + 10];
        assert_eq!(
            accept_fragment(
                &mut s,
                range(unit as u64, total - 1, total),
                &rest,
                lifetime
            ),
            Ok(Progress::Complete)
        );
        assert_eq!(s.data.len() as u64, total);
        assert_eq!(
            s.info().bytes_received,
            1000 + 2 * unit as u64 + unit as u64 + 10
        );
    }

    #[test]
    fn content_range_parses() {
        let mut headers = HeaderMap::new();
        headers.insert("content-range", "bytes 0-9/20".parse().unwrap());
        assert_eq!(ContentRange::parse(&headers).unwrap(), range(0, 9, 20));
        headers.insert("content-range", "bytes 9-0/20".parse().unwrap());
        assert!(ContentRange::parse(&headers).is_err());
        headers.insert("content-range", "bytes 0-20/20".parse().unwrap());
        assert!(ContentRange::parse(&headers).is_err());
    }
}
