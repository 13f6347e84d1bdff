//! Bearer-token verification for Graph routes and Graph's 401 answer.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};

use super::scopes::{GRAPH_APP_ID, GRAPH_RESOURCE};
use super::tokens::AccessClaims;
use crate::state::AppState;

/// Who is calling a Graph route, taken from a verified access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Caller {
    /// The tenant id (`tid`).
    pub tenant_id: String,
    /// The calling application's client id (`azp`/`appid`).
    pub app_id: String,
    /// The signed-in user's object id (`oid`) for delegated tokens; `None` for app-only tokens.
    pub user_id: Option<String>,
    /// Delegated scopes (`scp`).
    pub scopes: Vec<String>,
    /// Application roles (`roles`).
    pub roles: Vec<String>,
}

impl Caller {
    /// True for an app-only token (client credentials): no signed-in user.
    pub fn is_app_only(&self) -> bool {
        self.user_id.is_none()
    }
}

/// The `WWW-Authenticate` challenge Graph sends with a 401.
pub(crate) const GRAPH_CHALLENGE: &str = "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\"";

/// Verifies the Bearer token of a Graph request: signature (this emulator's key), `exp`, `nbf`,
/// and `aud` = Microsoft Graph.
///
/// # Errors
/// A ready 401 response with a `WWW-Authenticate` challenge and a Graph error body
/// (`InvalidAuthenticationToken`).
// The signature is the contract with the Graph handlers, which return the error response as is;
// it is built only on the failure path, so its size costs nothing on success.
#[allow(clippy::result_large_err)]
pub(crate) fn authenticate_graph(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Caller, Response> {
    let unauthorized = |message: &str| {
        let mut response = graph_error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            message,
            headers,
        );
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(GRAPH_CHALLENGE),
        );
        response
    };
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .filter(|t| !t.is_empty())
        .ok_or_else(|| unauthorized("Access token is empty."))?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.leeway = 0;
    validation.set_audience(&[GRAPH_RESOURCE, "https://graph.microsoft.com/", GRAPH_APP_ID]);
    validation.set_issuer(&[state.identity.issuer(&state.base_url)]);
    validation.set_required_spec_claims(&["exp", "nbf", "aud", "iss"]);
    validation.validate_nbf = true;
    let claims: AccessClaims = match state.identity.key.verify(token, &validation) {
        Ok(data) => data.claims,
        Err(e) => {
            let message = match e.kind() {
                ErrorKind::ExpiredSignature => "Lifetime validation failed, the token is expired.",
                ErrorKind::ImmatureSignature => {
                    "Lifetime validation failed, the token is not yet valid."
                }
                ErrorKind::InvalidAudience => "Access token validation failure. Invalid audience.",
                ErrorKind::InvalidSignature => {
                    "Access token validation failure. Invalid signature."
                }
                ErrorKind::InvalidIssuer => "Access token validation failure. Invalid issuer.",
                _ => "CompactToken parsing failed with error code: 80049217",
            };
            return Err(unauthorized(message));
        }
    };
    let scopes: Vec<String> = claims
        .scp
        .as_deref()
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    let delegated = claims.idtyp == "user" || claims.scp.is_some();
    Ok(Caller {
        tenant_id: claims.tid,
        app_id: claims.azp,
        user_id: delegated.then_some(claims.oid),
        scopes,
        roles: claims.roles,
    })
}

/// A Graph error response: `{"error":{"code","message","innerError":{"date","request-id","client-request-id"}}}`
/// with `request-id` and `client-request-id` headers (the Graph side's one error builder, with
/// the caller's `client-request-id` echoed when answered outside the request-id middleware).
pub(crate) fn graph_error(
    status: StatusCode,
    code: &str,
    message: &str,
    request_headers: &HeaderMap,
) -> Response {
    crate::graph::error::odata_error_with_ids(
        status,
        code,
        message,
        &crate::graph::error::ids_for(request_headers),
    )
}
