//! `grant_type=authorization_code`: redeems a code from `/authorize` once, checking the client,
//! the redirect URI and the PKCE S256 verifier.

use std::time::SystemTime;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use super::super::client_auth::authenticate_client;
use super::super::errors::OAuthError;
use super::super::token_endpoint::TokenRequest;
use super::super::tokens::TokenResponse;
use super::issue_user_tokens;

/// The PKCE S256 transform: `BASE64URL(SHA256(verifier))`.
pub(crate) fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

pub(crate) fn grant(request: &TokenRequest<'_>) -> Result<TokenResponse, OAuthError> {
    let identity = &request.state.identity;
    let client = authenticate_client(
        identity,
        request.endpoint,
        request.form,
        request.headers,
        false,
    )?;
    let code_value = request.form.require("code")?;
    let redirect_uri = request.form.require("redirect_uri")?;
    let code = {
        let mut codes = identity.grants.codes.lock();
        let code = codes.get_mut(code_value).ok_or_else(|| {
            OAuthError::invalid_grant(9002313, "Invalid request. Request is malformed or invalid: the authorization code is not valid.")
        })?;
        if code.redeemed {
            return Err(OAuthError::invalid_grant(
                54005,
                "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.",
            ));
        }
        if code.expires_at <= SystemTime::now() {
            return Err(OAuthError::invalid_grant(
                70008,
                "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.",
            ));
        }
        if !code.client_id.eq_ignore_ascii_case(&client.client_id) {
            return Err(OAuthError::invalid_grant(
                70000,
                "The provided value for the 'code' parameter is not valid. The code was issued to a different client.",
            ));
        }
        if code.redirect_uri != redirect_uri {
            return Err(OAuthError::invalid_grant(
                500112,
                format!(
                    "The reply address '{redirect_uri}' does not match the reply address '{}' provided when requesting Authorization code.",
                    code.redirect_uri
                ),
            ));
        }
        if let Some(challenge) = &code.code_challenge {
            let verifier = request.form.require("code_verifier")?;
            if s256(verifier) != *challenge {
                return Err(OAuthError::invalid_grant(
                    501481,
                    "The Code_Verifier does not match the code_challenge supplied in the authorization request.",
                ));
            }
        }
        code.redeemed = true;
        code.clone()
    };
    issue_user_tokens(
        identity,
        &request.state.base_url,
        &client,
        &code.user,
        &code.scopes,
        code.nonce.as_deref(),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn s256_matches_rfc7636_appendix_b() {
        assert_eq!(
            super::s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
