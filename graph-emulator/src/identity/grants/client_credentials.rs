//! `grant_type=client_credentials`: app-only tokens with app roles for one `.default` resource.

use super::super::client_auth::authenticate_client;
use super::super::errors::OAuthError;
use super::super::scopes::{Resource, parse_default_scope};
use super::super::token_endpoint::TokenRequest;
use super::super::tokens::{Grantee, TokenResponse, Validity};

pub(crate) fn grant(request: &TokenRequest<'_>) -> Result<TokenResponse, OAuthError> {
    let identity = &request.state.identity;
    let client = authenticate_client(
        identity,
        request.endpoint,
        request.form,
        request.headers,
        true,
    )?;
    let resource = parse_default_scope(request.form.get("scope"), &identity.apps.read())?;
    let roles = match &resource {
        Resource::Graph => client.graph_roles.clone(),
        Resource::App(_) => Vec::new(),
    };
    let (expires_in, refresh_in) = identity.lifetimes();
    let access_token = identity.mint_access_token(
        &request.state.base_url,
        &client,
        Grantee::App { roles },
        resource.audience(),
        Validity::from_now(identity.config.token_lifetime),
    )?;
    Ok(TokenResponse {
        access_token,
        expires_in,
        refresh_in,
        scope: None,
        refresh_token: None,
        id_token: None,
        user_id: None,
        client_info_requested: false,
    })
}
