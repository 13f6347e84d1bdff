//! The second origin that carries content: pre-authenticated downloads and upload-session URLs.
//! Any request carrying `Authorization` is refused with 401 and counted.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::json;

use super::FileError;
use super::upload::{ContentRange, MAX_FRAGMENT, Progress, Target, UploadSession, accept_fragment};
use crate::graph::error::odata_error;
use crate::state::AppState;

#[derive(Deserialize)]
struct TempAuth {
    tempauth: Option<String>,
}

fn error(e: FileError) -> Response {
    odata_error(e.status, e.code, &e.message)
}

fn unauthenticated(message: &str) -> Response {
    odata_error(StatusCode::UNAUTHORIZED, "unauthenticated", message)
}

/// The content origin's routes (with its own fault layer, added by the caller).
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/download/{item}", get(download))
        .route(
            "/upload/{session}",
            get(session_status).put(put_fragment).delete(cancel),
        )
        .layer(DefaultBodyLimit::max(MAX_FRAGMENT as usize + 1))
}

/// Middleware: requests with `Authorization` are refused (and counted) before anything else.
pub(crate) async fn refuse_authorization(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if request.headers().contains_key(header::AUTHORIZATION) {
        state.files.count_rejected_authorization();
        return unauthenticated("Pre-authenticated URLs must not be sent an Authorization header.");
    }
    next.run(request).await
}

async fn download(
    State(state): State<AppState>,
    Path(item): Path<String>,
    Query(auth): Query<TempAuth>,
    headers: HeaderMap,
) -> Response {
    let Some((drive_id, token)) = state.files.downloads.lock().get(&item).cloned() else {
        return error(FileError::not_found("The resource could not be found."));
    };
    if auth.tempauth.as_deref() != Some(token.as_str()) {
        return unauthenticated("The tempauth token is not valid for this item.");
    }
    let drives = state.files.drives.read();
    let Some(found) = drives.get(&drive_id).and_then(|d| d.item(&item)) else {
        return error(FileError::not_found("The resource could not be found."));
    };
    let Some(content) = found.content.clone() else {
        return error(FileError::invalid("A folder has no content."));
    };
    let total = content.len() as u64;
    let mut response = match requested_range(&headers, total) {
        Ok(None) => (StatusCode::OK, content).into_response(),
        Ok(Some((start, end))) => {
            let part = content.slice(start as usize..=end as usize);
            let mut partial = (StatusCode::PARTIAL_CONTENT, part).into_response();
            if let Ok(value) = HeaderValue::from_str(&format!("bytes {start}-{end}/{total}")) {
                partial.headers_mut().insert(header::CONTENT_RANGE, value);
            }
            partial
        }
        Err(()) => {
            let mut refused = error(FileError::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "invalidRange",
                "The requested range is not satisfiable.",
            ));
            if let Ok(value) = HeaderValue::from_str(&format!("bytes */{total}")) {
                refused.headers_mut().insert(header::CONTENT_RANGE, value);
            }
            return refused;
        }
    };
    response
        .headers_mut()
        .insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Ok(value) = HeaderValue::from_str(&found.mime_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response
}

/// A single `Range: bytes=start-[end]` (or `bytes=-suffix`) within `total` bytes: `Ok(None)`
/// without one (or with one the emulator ignores, as servers may: several ranges), `Err` when
/// it cannot be satisfied.
fn requested_range(headers: &HeaderMap, total: u64) -> Result<Option<(u64, u64)>, ()> {
    let Some(value) = headers.get(header::RANGE).and_then(|v| v.to_str().ok()) else {
        return Ok(None);
    };
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((first, last)) = spec.split_once('-') else {
        return Err(());
    };
    let (first, last) = (first.trim(), last.trim());
    let (start, end) = if first.is_empty() {
        let suffix: u64 = last.parse().map_err(|_| ())?;
        if suffix == 0 {
            return Err(());
        }
        (total.saturating_sub(suffix), total.saturating_sub(1))
    } else {
        let start: u64 = first.parse().map_err(|_| ())?;
        let end = if last.is_empty() {
            total.saturating_sub(1)
        } else {
            last.parse::<u64>()
                .map_err(|_| ())?
                .min(total.saturating_sub(1))
        };
        (start, end)
    };
    if total == 0 || start >= total || end < start {
        return Err(());
    }
    Ok(Some((start, end)))
}

/// The session named by the URL, or the error to answer (404 when unknown or expired).
fn with_session<T>(
    state: &AppState,
    id: &str,
    tempauth: Option<&str>,
    f: impl FnOnce(&mut UploadSession) -> T,
) -> Result<T, FileError> {
    let mut sessions = state.files.sessions.lock();
    let expired = sessions.get(id).is_some_and(UploadSession::expired);
    if expired {
        sessions.remove(id);
    }
    let Some(session) = sessions.get_mut(id) else {
        return Err(FileError::not_found(
            "The upload session was not found or has expired.",
        ));
    };
    if tempauth != Some(session.token.as_str()) {
        return Err(FileError::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "The tempauth token is not valid for this session.",
        ));
    }
    Ok(f(session))
}

fn status_body(session: &UploadSession) -> serde_json::Value {
    json!({
        "expirationDateTime": super::routes::iso(session.expires_at),
        "nextExpectedRanges": session.next_expected(),
    })
}

async fn session_status(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(auth): Query<TempAuth>,
) -> Response {
    match with_session(&state, &id, auth.tempauth.as_deref(), |s| status_body(s)) {
        Ok(body) => crate::graph::response_json(StatusCode::OK, body),
        Err(e) => error(e),
    }
}

async fn cancel(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(auth): Query<TempAuth>,
) -> Response {
    match with_session(&state, &id, auth.tempauth.as_deref(), |_| ()) {
        Ok(()) => {
            state.files.sessions.lock().remove(&id);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => error(e),
    }
}

async fn put_fragment(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(auth): Query<TempAuth>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let range = match ContentRange::parse(&headers) {
        Ok(range) => range,
        Err(e) => {
            // Still count what arrived for this session.
            let _ = with_session(&state, &id, auth.tempauth.as_deref(), |s| {
                s.received = s.received.saturating_add(body.len() as u64);
            });
            return error(e);
        }
    };
    if let Err(e) = state.files.reserve(body.len() as u64) {
        return error(e);
    }
    let lifetime = state.files.limits.session_lifetime;
    let outcome = with_session(&state, &id, auth.tempauth.as_deref(), |s| {
        accept_fragment(s, range, &body, lifetime).map(|p| (p, status_body(s)))
    });
    match outcome {
        Err(e) => error(e),
        Ok(Err(e)) => error(e),
        Ok(Ok((Progress::Partial, status))) => {
            crate::graph::response_json(StatusCode::ACCEPTED, status)
        }
        Ok(Ok((Progress::Complete, _))) => {
            let Some(session) = state.files.sessions.lock().remove(&id) else {
                return error(FileError::not_found("The upload session was not found."));
            };
            complete(&state, session)
        }
    }
}

/// Commits a complete session: the drive item (201 new, 200 replaced, with the driveItem) or the
/// attachment (201, empty body, `Location`).
fn complete(state: &AppState, session: UploadSession) -> Response {
    let content = Bytes::from(session.data);
    match session.target {
        Target::Drive {
            drive_id,
            parent_id,
            name,
            conflict,
        } => super::routes::commit_file(state, &drive_id, &parent_id, &name, content, conflict),
        Target::Attachment {
            user_id,
            collection,
            item_id,
            name,
            content_type,
            is_inline,
            ..
        } => super::outlook::commit_attachment(
            state,
            &user_id,
            collection,
            &item_id,
            super::outlook::NewAttachment {
                name,
                content_type,
                is_inline,
                content,
            },
        ),
    }
}
