//! The IMDS, App Service and Cloud Shell token endpoints, and the token answer they share with
//! the Arc endpoint.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::identities::{ManagedIdentity, Selector};
use crate::identity::{AppRegistration, GRAPH_RESOURCE, Grantee, Validity};
use crate::state::AppState;

/// Query or form parameters (the first value of each name; empty values count as absent).
pub(super) struct Params(HashMap<String, String>);

impl Params {
    pub(super) fn parse(text: &[u8]) -> Self {
        let mut map = HashMap::new();
        for (k, v) in url::form_urlencoded::parse(text) {
            if !v.is_empty() {
                map.entry(k.into_owned()).or_insert_with(|| v.into_owned());
            }
        }
        Params(map)
    }

    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}

/// IMDS's error body: `{"error", "error_description"}` with status 400 (or `status`).
pub(super) fn imds_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        axum::Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

/// App Service's error body: `{"statusCode", "message", "correlationId"}`.
fn app_service_error(status: StatusCode, message: &str) -> Response {
    (
        status,
        axum::Json(json!({
            "statusCode": status.as_u16(),
            "message": message,
            "correlationId": uuid::Uuid::new_v4().to_string(),
        })),
    )
        .into_response()
}

/// Whether the request carries `Metadata: true`.
pub(super) fn has_metadata_header(headers: &HeaderMap) -> bool {
    headers
        .get("metadata")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

/// Which response shape a host uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shape {
    /// IMDS, Cloud Shell and Arc: `expires_in`, `expires_on`, `not_before`, `refresh_token`.
    Imds,
    /// App Service 2019-08-01: `expires_on` only.
    AppService,
}

/// Mints a token for `identity` and renders it in `shape`.
pub(super) fn token_answer(
    state: &AppState,
    identity: &ManagedIdentity,
    resource: &str,
    shape: Shape,
) -> Response {
    let resource = resource.strip_suffix("/.default").unwrap_or(resource);
    let is_graph = resource.trim_end_matches('/') == GRAPH_RESOURCE;
    let roles = if is_graph {
        identity.roles.clone()
    } else {
        Vec::new()
    };
    let principal = AppRegistration {
        client_id: identity.client_id.clone(),
        display_name: identity.name.clone(),
        service_principal_id: identity.principal_id.clone(),
        secrets: Vec::new(),
        certificates: Vec::new(),
        redirect_uris: Vec::new(),
        any_loopback_redirect: false,
        identifier_uris: Vec::new(),
        graph_roles: roles.clone(),
        exposed_scopes: Vec::new(),
        federated_credentials: Vec::new(),
        trusted_subjects: Vec::new(),
    };
    let lifetime = state.identity.config.token_lifetime;
    let validity = Validity::from_now(lifetime);
    let token = match state.identity.mint_access_token(
        &state.base_url,
        &principal,
        Grantee::App { roles },
        resource.to_owned(),
        validity,
    ) {
        Ok(token) => token,
        Err(e) => {
            return imds_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "unknown_error",
                &e.description,
            );
        }
    };
    let body: Value = match shape {
        Shape::Imds => json!({
            "access_token": token,
            "refresh_token": "",
            "expires_in": lifetime.as_secs().to_string(),
            "expires_on": validity.expires_at.to_string(),
            "not_before": validity.issued_at.to_string(),
            "resource": resource,
            "token_type": "Bearer",
            "client_id": identity.client_id,
        }),
        Shape::AppService => json!({
            "access_token": token,
            "expires_on": validity.expires_at.to_string(),
            "resource": resource,
            "token_type": "Bearer",
            "client_id": identity.client_id,
        }),
    };
    axum::Json(body).into_response()
}

/// The identity IMDS-style parameters name (`client_id`, `object_id`, `msi_res_id`).
pub(super) fn imds_selector(params: &Params) -> Selector<'_> {
    if let Some(id) = params.get("client_id") {
        Selector::ClientId(id)
    } else if let Some(id) = params.get("object_id") {
        Selector::PrincipalId(id)
    } else if let Some(id) = params.get("msi_res_id") {
        Selector::ResourceId(id)
    } else {
        Selector::System
    }
}

/// IMDS-style request checks shared by IMDS, Cloud Shell and Arc: the identity and the resource.
pub(super) fn imds_token(state: &AppState, params: &Params) -> Response {
    let Some(resource) = params.get("resource") else {
        return imds_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Required query variable 'resource' is missing",
        );
    };
    let identity = state
        .managed_identity
        .identities
        .read()
        .find(imds_selector(params))
        .cloned();
    match identity {
        Some(identity) => token_answer(state, &identity, resource, Shape::Imds),
        None => imds_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Identity not found",
        ),
    }
}

/// `GET /metadata/identity/oauth2/token` (IMDS).
pub(crate) async fn imds(
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
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    if params.get("api-version").is_none() {
        return imds_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Required query variable 'api-version' is missing",
        );
    }
    imds_token(&state, &params)
}

/// `POST /cloudshell/token` with the form `resource=...` (Cloud Shell's `MSI_ENDPOINT`).
pub(crate) async fn cloud_shell(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !has_metadata_header(&headers) {
        return imds_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Required metadata header not specified",
        );
    }
    imds_token(&state, &Params::parse(&body))
}

/// `GET /msi/token?api-version=2019-08-01&resource=...` (App Service's `IDENTITY_ENDPOINT`).
pub(crate) async fn app_service(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let secret = headers
        .get("x-identity-header")
        .and_then(|v| v.to_str().ok());
    match secret {
        None => {
            return app_service_error(
                StatusCode::BAD_REQUEST,
                "The X-IDENTITY-HEADER header is required.",
            );
        }
        Some(s) if s != state.managed_identity.app_service_header => {
            return app_service_error(
                StatusCode::UNAUTHORIZED,
                "The X-IDENTITY-HEADER header is not valid.",
            );
        }
        Some(_) => {}
    }
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    if params.get("api-version") != Some("2019-08-01") {
        return app_service_error(
            StatusCode::BAD_REQUEST,
            "The api-version must be 2019-08-01.",
        );
    }
    let Some(resource) = params.get("resource") else {
        return app_service_error(
            StatusCode::BAD_REQUEST,
            "The resource parameter is required.",
        );
    };
    let selector = if let Some(id) = params.get("client_id") {
        Selector::ClientId(id)
    } else if let Some(id) = params
        .get("principal_id")
        .or_else(|| params.get("object_id"))
    {
        // Azure's documentation says principal_id; MSAL sends object_id.
        Selector::PrincipalId(id)
    } else if let Some(id) = params.get("mi_res_id") {
        Selector::ResourceId(id)
    } else {
        Selector::System
    };
    let identity = state
        .managed_identity
        .identities
        .read()
        .find(selector)
        .cloned();
    match identity {
        Some(identity) => token_answer(&state, &identity, resource, Shape::AppService),
        None => app_service_error(
            StatusCode::BAD_REQUEST,
            "Unable to load the proper Managed Identity.",
        ),
    }
}
