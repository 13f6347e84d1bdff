//! `POST /{tenant}/oauth2/v2.0/devicecode` (device authorization, RFC 8628) and the page the user
//! would visit. Approval is non-interactive: the configured user approves after the first polls.

use std::time::SystemTime;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Response};
use rand::Rng;

use super::errors::{OAuthError, add_entra_headers};
use super::grants::{DEVICE_CODE_LIFETIME, DeviceGrant};
use super::scopes::parse_delegated;
use super::token_endpoint::Form;
use super::{UserInfo, find_user};
use crate::state::AppState;

const USER_CODE_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

fn user_code() -> String {
    let mut rng = rand::thread_rng();
    (0..9)
        .map(|_| char::from(USER_CODE_ALPHABET[rng.gen_range(0..USER_CODE_ALPHABET.len())]))
        .collect()
}

/// Resolves the configured signed-in user.
pub(crate) fn signed_in_user(state: &AppState) -> Result<UserInfo, OAuthError> {
    let configured = state.identity.signed_in_user.read().clone();
    find_user(&state.directory.read(), &configured).ok_or_else(|| {
        OAuthError::invalid_request(
            50034,
            format!("The user account {configured} does not exist in the directory (the emulator's configured signed-in user)."),
        )
    })
}

pub(crate) async fn device_authorization(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match run(&state, &tenant, &Form::parse(&body)) {
        Ok(body) => {
            let mut response = axum::Json(body).into_response();
            add_entra_headers(
                response.headers_mut(),
                &headers,
                &uuid::Uuid::new_v4().to_string(),
            );
            response
        }
        Err(e) => e.into_response_for(&headers, &state.base_url),
    }
}

fn run(state: &AppState, tenant: &str, form: &Form) -> Result<serde_json::Value, OAuthError> {
    let identity = &state.identity;
    identity.resolve_tenant(tenant)?;
    let client_id = form.require("client_id")?;
    let client = identity.apps.read().get(client_id).cloned().ok_or_else(|| {
        OAuthError::unauthorized_client(
            700016,
            format!(
                "Application with identifier '{client_id}' was not found in the directory '{}'.",
                identity.config.tenant_id
            ),
        )
    })?;
    let scopes = parse_delegated(form.get("scope"), &identity.apps.read())?;
    let user = signed_in_user(state)?;
    let code = user_code();
    let interval = identity.config.device_code_interval.as_secs().max(1);
    let device_code = identity.grants.insert_device_code(DeviceGrant {
        client_id: client.client_id.clone(),
        scopes,
        user,
        polls: 0,
        expires_at: SystemTime::now() + DEVICE_CODE_LIFETIME,
        redeemed: false,
    });
    let verification_uri = format!("{}/devicelogin", state.base_url);
    Ok(serde_json::json!({
        "user_code": code,
        "device_code": device_code,
        "verification_uri": verification_uri,
        "expires_in": DEVICE_CODE_LIFETIME.as_secs(),
        "interval": interval,
        "message": format!("To sign in, use a web browser to open the page {verification_uri} and enter the code {code} to authenticate."),
    }))
}

/// The page a user would open; in the emulator, approval happens by itself.
pub(crate) async fn device_login_page() -> Html<&'static str> {
    Html(
        "<!DOCTYPE html><html><head><title>Device login - msgraph-typed-emulator</title></head><body>\
         <h1>msgraph-typed-emulator device login</h1><p>Device codes are approved automatically by the \
         configured user; keep polling the token endpoint.</p></body></html>",
    )
}
