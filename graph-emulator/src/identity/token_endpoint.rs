//! `POST /{tenant}/oauth2/v2.0/token`: parses the form, resolves the tenant and runs the grant.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;

use super::client_auth::Endpoint;
use super::errors::OAuthError;
use super::grants;
use super::tokens::TokenResponse;
use crate::state::AppState;

/// The grant type of on-behalf-of (and other JWT bearer grants).
pub(crate) const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// The grant type of the device authorization flow.
pub(crate) const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// A parsed `application/x-www-form-urlencoded` body; empty values count as absent.
#[derive(Debug, Default)]
pub(crate) struct Form(HashMap<String, String>);

impl Form {
    pub(crate) fn parse(body: &[u8]) -> Self {
        Form(url::form_urlencoded::parse(body).into_owned().collect())
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    pub(crate) fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name)
            .ok_or_else(|| OAuthError::missing_parameter(name))
    }
}

/// Everything a grant handler needs about the request.
pub(crate) struct TokenRequest<'a> {
    pub state: &'a AppState,
    pub form: &'a Form,
    pub headers: &'a HeaderMap,
    pub endpoint: Endpoint<'a>,
}

/// The token endpoint handler.
pub(crate) async fn token(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = Form::parse(&body);
    match run(&state, &tenant, &form, &headers) {
        Ok(mut response) => {
            // Entra answers `client_info=1` in flows with a user; app-only tokens have none.
            response.client_info_requested = form.get("client_info") == Some("1");
            response.into_response_for(&headers, &state.identity.config.tenant_id)
        }
        Err(error) => error.into_response_for(&headers, &state.base_url),
    }
}

fn run(
    state: &AppState,
    tenant: &str,
    form: &Form,
    headers: &HeaderMap,
) -> Result<TokenResponse, OAuthError> {
    let tenant_id = state.identity.resolve_tenant(tenant)?;
    if let Some(claims) = form.get("claims")
        && serde_json::from_str::<serde_json::Value>(claims).is_err()
    {
        return Err(OAuthError::invalid_request(
            90014,
            "The claims parameter is not valid JSON.",
        ));
    }
    let request = TokenRequest {
        state,
        form,
        headers,
        endpoint: Endpoint {
            base_url: &state.base_url,
            tenant_segment: tenant,
            tenant_id,
        },
    };
    let grant_type = form.require("grant_type")?;
    match grant_type {
        "client_credentials" => grants::client_credentials::grant(&request),
        "authorization_code" => grants::authorization_code::grant(&request),
        "refresh_token" => grants::refresh_token::grant(&request),
        JWT_BEARER_GRANT => grants::on_behalf_of::grant(&request),
        DEVICE_CODE_GRANT => grants::device_code::grant(&request),
        other => Err(OAuthError::unsupported_grant_type(other)),
    }
}
