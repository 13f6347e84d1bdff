//! `grant_type=refresh_token` with rotation: every refresh returns a new refresh token and the
//! one presented can never be used again (a reuse answers `invalid_grant`, AADSTS50173).

use std::time::SystemTime;

use super::super::client_auth::authenticate_client;
use super::super::errors::OAuthError;
use super::super::scopes::parse_delegated;
use super::super::token_endpoint::TokenRequest;
use super::super::tokens::TokenResponse;
use super::issue_user_tokens;

pub(crate) fn grant(request: &TokenRequest<'_>) -> Result<TokenResponse, OAuthError> {
    let identity = &request.state.identity;
    let client = authenticate_client(
        identity,
        request.endpoint,
        request.form,
        request.headers,
        false,
    )?;
    let presented = request.form.require("refresh_token")?;
    let grant = {
        let mut tokens = identity.grants.refresh_tokens.lock();
        let grant = tokens.get_mut(presented).ok_or_else(|| {
            OAuthError::invalid_grant(
                9002313,
                "Invalid request. Request is malformed or invalid: the refresh token is not valid.",
            )
        })?;
        if grant.redeemed {
            return Err(OAuthError::invalid_grant(
                50173,
                "The provided grant has expired due to it being revoked, a fresh auth token is needed. The refresh token was already redeemed (refresh tokens are rotated on every use).",
            ));
        }
        if grant.expires_at <= SystemTime::now() {
            return Err(OAuthError::invalid_grant(
                70008,
                "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.",
            ));
        }
        if !grant.client_id.eq_ignore_ascii_case(&client.client_id) {
            return Err(OAuthError::invalid_grant(
                70000,
                "The refresh token was issued to a different client.",
            )
            .with_suberror("client_mismatch"));
        }
        grant.redeemed = true;
        grant.clone()
    };
    let mut scopes = match request.form.get("scope") {
        Some(scope) => parse_delegated(Some(scope), &identity.apps.read())?,
        None => grant.scopes.clone(),
    };
    // The new pair keeps offline access: rotation always returns a refresh token.
    if !scopes.wants_refresh_token() {
        scopes.oidc.push("offline_access".to_owned());
    }
    issue_user_tokens(
        identity,
        &request.state.base_url,
        &client,
        &grant.user,
        &scopes,
        None,
    )
}
