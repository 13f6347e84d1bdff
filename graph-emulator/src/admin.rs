//! Admin routes under `/_emulator/`, to control a running binary from outside (curl, another
//! process). They are neither counted nor subject to faults.
//!
//! - `POST /_emulator/faults` with a [`crate::Fault`] as JSON (e.g.
//!   `{"kind":"status","status":429,"retry_after":{"seconds":2},"times":2,"path":{"prefix":"/v1.0/users"}}`)
//! - `GET /_emulator/faults` lists the waiting faults; `DELETE /_emulator/faults` clears them
//! - `GET /_emulator/counters`; `POST /_emulator/counters/reset`
//! - `POST /_emulator/reset` clears faults and counters
//! - `POST /_emulator/users` with `{"count": N}` generates N users
//! - `PUT /_emulator/throttling` with a [`crate::ThrottlingConfig`] as JSON turns Graph's
//!   throttling model on, `DELETE` turns it off, `GET` shows it
//! - `GET /_emulator/apps` lists every app registration with its credentials; `POST /_emulator/apps`
//!   with an [`crate::AppConfig`] as JSON registers one (certificates as PEM text)

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::config::AppConfig;
use crate::faults::Fault;
use crate::identity::AppRegistration;
use crate::seeded;
use crate::state::AppState;

/// Largest number of users one admin request may generate.
const MAX_GENERATED_USERS: usize = 1_000_000;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/_emulator/faults",
            post(inject).get(list_faults).delete(clear_faults),
        )
        .route("/_emulator/counters", get(counters))
        .route("/_emulator/counters/reset", post(reset_counters))
        .route("/_emulator/reset", post(reset))
        .route("/_emulator/users", post(generate_users))
        .route("/_emulator/apps", get(apps).post(register_app))
        .route(
            "/_emulator/throttling",
            get(throttling).put(set_throttling).delete(throttling_off),
        )
}

async fn inject(State(state): State<AppState>, body: axum::body::Bytes) -> Response {
    match serde_json::from_slice::<Fault>(&body) {
        Ok(fault) => {
            state.faults.inject(fault.clone());
            (StatusCode::CREATED, axum::Json(fault)).into_response()
        }
        Err(e) => bad_request(&format!("invalid fault: {e}")),
    }
}

fn bad_request(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(serde_json::json!({ "error": message })),
    )
        .into_response()
}

async fn list_faults(State(state): State<AppState>) -> Response {
    axum::Json(state.faults.pending()).into_response()
}

async fn clear_faults(State(state): State<AppState>) -> StatusCode {
    state.faults.clear();
    StatusCode::NO_CONTENT
}

async fn counters(State(state): State<AppState>) -> Response {
    axum::Json(state.counters.snapshot()).into_response()
}

async fn reset_counters(State(state): State<AppState>) -> StatusCode {
    state.counters.reset();
    StatusCode::NO_CONTENT
}

async fn reset(State(state): State<AppState>) -> StatusCode {
    state.counters.reset();
    state.faults.clear();
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct GenerateUsers {
    count: usize,
}

async fn generate_users(State(state): State<AppState>, body: axum::body::Bytes) -> Response {
    let request = match serde_json::from_slice::<GenerateUsers>(&body) {
        Ok(r) if r.count <= MAX_GENERATED_USERS => r,
        Ok(_) => return bad_request(&format!("count must be at most {MAX_GENERATED_USERS}")),
        Err(e) => return bad_request(&format!("expected {{\"count\": N}}: {e}")),
    };
    let directory = state.directory.clone();
    let result =
        tokio::task::spawn_blocking(move || directory.write().generate_users(request.count)).await;
    match result {
        Ok(()) => (
            StatusCode::CREATED,
            axum::Json(serde_json::json!({ "generated": request.count })),
        )
            .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

async fn throttling(State(state): State<AppState>) -> Response {
    let config = state.throttle.config().map(|c| {
        serde_json::json!({
            "resource_units": c.resource_units,
            "tenant_resource_units": c.tenant_resource_units,
            "window_secs": c.window_secs,
            "app_write_quota": c.app_write_quota,
            "app_write_window_secs": c.app_write_window_secs,
            "tenant_write_quota": c.tenant_write_quota,
            "tenant_write_window_secs": c.tenant_write_window_secs,
            "throttled_requests": state.throttle.throttled(),
        })
    });
    axum::Json(config).into_response()
}

async fn set_throttling(State(state): State<AppState>, body: axum::body::Bytes) -> Response {
    let text = if body.is_empty() {
        b"{}".as_slice()
    } else {
        &body
    };
    match serde_json::from_slice::<crate::ThrottlingConfig>(text) {
        Ok(config) => {
            state.throttle.set(Some(config));
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => bad_request(&format!("invalid throttling settings: {e}")),
    }
}

async fn throttling_off(State(state): State<AppState>) -> StatusCode {
    state.throttle.set(None);
    StatusCode::NO_CONTENT
}

async fn register_app(State(state): State<AppState>, body: axum::body::Bytes) -> Response {
    let app = match serde_json::from_slice::<AppConfig>(&body) {
        Ok(app) => app,
        Err(e) => return bad_request(&format!("invalid app: {e}")),
    };
    match crate::config::registration(&app, "app") {
        Ok(registration) => {
            let answer = describe(&registration);
            state.identity.apps.write().insert(registration);
            (StatusCode::CREATED, axum::Json(answer)).into_response()
        }
        Err(e) => bad_request(&e.to_string()),
    }
}

/// An app registration as the admin routes show it (secrets included: they are test values).
fn describe(app: &AppRegistration) -> serde_json::Value {
    serde_json::json!({
        "client_id": app.client_id,
        "display_name": app.display_name,
        "service_principal_id": app.service_principal_id,
        "client_secrets": app.secrets,
        "certificates": app.certificates.len(),
        "public_client": app.is_public(),
        "roles": app.graph_roles,
        "redirect_uris": app.redirect_uris,
        "identifier_uris": app.identifier_uris,
    })
}

async fn apps(State(state): State<AppState>) -> Response {
    let base = &state.base_url;
    let tenant = &state.identity.config.tenant_id;
    let registry = state.identity.apps.read();
    let all: Vec<serde_json::Value> = registry.all().into_iter().map(describe).collect();
    axum::Json(serde_json::json!({
        "tenant_id": tenant,
        "authority": format!("{base}/{tenant}"),
        "token_endpoint": format!("{base}/{tenant}/oauth2/v2.0/token"),
        "apps": all,
        "managed_identities": state.managed_identity.identities.read().all(),
        "app_service_identity_header": state.managed_identity.app_service_header,
        "daemon": { "client_id": seeded::DAEMON_CLIENT_ID, "client_secret": seeded::DAEMON_CLIENT_SECRET, "roles": seeded::DAEMON_ROLES },
        "web_api": { "client_id": seeded::WEB_API_CLIENT_ID, "client_secret": seeded::WEB_API_CLIENT_SECRET, "app_id_uri": seeded::WEB_API_APP_ID_URI },
        "public_client": { "client_id": seeded::PUBLIC_CLIENT_ID, "redirect_uri": seeded::REDIRECT_URI },
        "web_app": { "client_id": seeded::WEB_APP_CLIENT_ID, "client_secret": seeded::WEB_APP_CLIENT_SECRET, "redirect_uri": seeded::REDIRECT_URI },
        "certificate_app": { "client_id": seeded::CERTIFICATE_APP_CLIENT_ID, "thumbprint": seeded::CERTIFICATE_APP_THUMBPRINT },
    }))
    .into_response()
}
