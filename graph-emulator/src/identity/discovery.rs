//! OpenID Connect discovery (`/{tenant}/v2.0/.well-known/openid-configuration`) and the JWKS
//! (`/{tenant}/discovery/v2.0/keys`).

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use crate::state::AppState;

pub(crate) async fn openid_configuration(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    let identity = &state.identity;
    if let Err(e) = identity.resolve_tenant(&tenant) {
        return e.into_response_for(&headers, &state.base_url);
    }
    let base = &state.base_url;
    // Like Entra, the issuer of multi-tenant segments keeps a `{tenantid}` placeholder.
    let issuer =
        if tenant.eq_ignore_ascii_case("common") || tenant.eq_ignore_ascii_case("organizations") {
            format!("{base}/{{tenantid}}/v2.0")
        } else {
            identity.issuer(base)
        };
    axum::Json(serde_json::json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{base}/{tenant}/oauth2/v2.0/authorize"),
        "token_endpoint": format!("{base}/{tenant}/oauth2/v2.0/token"),
        "device_authorization_endpoint": format!("{base}/{tenant}/oauth2/v2.0/devicecode"),
        "jwks_uri": format!("{base}/{tenant}/discovery/v2.0/keys"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "response_types_supported": ["code"],
        "grant_types_supported": [
            "authorization_code",
            "client_credentials",
            "refresh_token",
            "urn:ietf:params:oauth:grant-type:jwt-bearer",
            "urn:ietf:params:oauth:grant-type:device_code"
        ],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "name", "nonce", "oid", "preferred_username", "tid", "ver"],
        "request_uri_parameter_supported": false,
        "tenant_region_scope": "NA",
        "cloud_instance_name": "msgraph-typed-emulator",
        "msgraph_host": "graph.microsoft.com",
    }))
    .into_response()
}

pub(crate) async fn jwks(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(e) = state.identity.resolve_tenant(&tenant) {
        return e.into_response_for(&headers, &state.base_url);
    }
    axum::Json(
        state
            .identity
            .key
            .jwks(&state.identity.issuer(&state.base_url)),
    )
    .into_response()
}
