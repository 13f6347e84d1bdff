//! `grant_type=urn:ietf:params:oauth:grant-type:device_code`: the first polls answer
//! `authorization_pending`, then the configured user's approval arrives and tokens are issued once.

use std::time::SystemTime;

use super::super::client_auth::authenticate_client;
use super::super::errors::OAuthError;
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
    let device_code = request
        .form
        .get("device_code")
        .or_else(|| request.form.get("code"))
        .ok_or_else(|| OAuthError::missing_parameter("device_code"))?;
    let grant = {
        let mut codes = identity.grants.device_codes.lock();
        let grant = codes.get_mut(device_code).ok_or_else(|| {
            OAuthError::invalid_grant(
                70000,
                "The provided value for the input parameter 'device_code' is not valid.",
            )
        })?;
        if !grant.client_id.eq_ignore_ascii_case(&client.client_id) {
            return Err(OAuthError::invalid_grant(
                70000,
                "The provided value for the input parameter 'device_code' is not valid: it was issued to a different client.",
            ));
        }
        if grant.redeemed {
            return Err(OAuthError::invalid_grant(
                70000,
                "The provided value for the input parameter 'device_code' is not valid: it was already redeemed.",
            ));
        }
        if grant.expires_at <= SystemTime::now() {
            return Err(OAuthError::expired_token());
        }
        if grant.polls < identity.config.device_code_pending_polls {
            grant.polls += 1;
            return Err(OAuthError::authorization_pending());
        }
        grant.redeemed = true;
        grant.clone()
    };
    issue_user_tokens(
        identity,
        &request.state.base_url,
        &client,
        &grant.user,
        &grant.scopes,
        None,
    )
}
