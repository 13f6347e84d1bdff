//! The Azure Arc endpoint: a first request is answered 401 with
//! `WWW-Authenticate: Basic realm=<key file>`; the emulator writes a random secret to that file
//! (in its configured directory), and a retry with `Authorization: Basic <file content>` gets the
//! token.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::endpoints::{Params, has_metadata_header, imds_error, imds_token};
use crate::identity::random_id;
use crate::state::AppState;

/// `GET /arc/metadata/identity/oauth2/token?api-version=2019-11-01&resource=...`.
pub(crate) async fn arc(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    if !has_metadata_header(&headers) {
        return imds_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Required metadata header not specified",
        );
    }
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .map(|(_, secret)| secret.trim().to_owned());
    let known = presented.as_ref().is_some_and(|p| {
        state
            .managed_identity
            .arc_keys
            .lock()
            .iter()
            .any(|k| k == p)
    });
    if known {
        let params = Params::parse(query.unwrap_or_default().as_bytes());
        return imds_token(&state, &params);
    }
    challenge(&state)
}

/// Writes a new key file and answers 401 naming it.
fn challenge(state: &AppState) -> Response {
    let dir = &state.managed_identity.arc_key_dir;
    let secret = random_id(32);
    let path = dir.join(format!("{}.key", uuid::Uuid::new_v4()));
    let written = std::fs::create_dir_all(dir).and_then(|()| std::fs::write(&path, &secret));
    if let Err(e) = written {
        return imds_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "unknown_error",
            &format!("could not write the key file in {}: {e}", dir.display()),
        );
    }
    state.managed_identity.arc_keys.lock().push(secret);
    let mut response = imds_error(
        StatusCode::UNAUTHORIZED,
        "unauthorized_client",
        "Authorization with the key file named in WWW-Authenticate is required",
    );
    if let Ok(value) = HeaderValue::from_str(&format!("Basic realm={}", path.display())) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response.into_response()
}
