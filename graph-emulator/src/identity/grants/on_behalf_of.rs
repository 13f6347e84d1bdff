//! `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer` with `requested_token_use=on_behalf_of`:
//! a web API exchanges the user token it received for a token to a downstream resource.

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};

use super::super::client_auth::authenticate_client;
use super::super::errors::OAuthError;
use super::super::scopes::{Resource, parse_delegated};
use super::super::token_endpoint::TokenRequest;
use super::super::tokens::{AccessClaims, TokenResponse, now_secs};
use super::super::{InteractionRequirement, find_user};
use super::issue_user_tokens;

/// The claims challenge sent with AADSTS50076 (a Conditional Access policy demanding MFA).
pub(crate) const MFA_CLAIMS: &str = r#"{"access_token":{"polids":{"essential":true,"values":["c1e7d1a4-5b0e-4c3e-9a55-0d1d2f4b6e01"]}}}"#;

pub(crate) fn grant(request: &TokenRequest<'_>) -> Result<TokenResponse, OAuthError> {
    let identity = &request.state.identity;
    match request.form.get("requested_token_use") {
        Some("on_behalf_of") => {}
        Some(other) => {
            return Err(OAuthError::invalid_request(
                90014,
                format!(
                    "The value '{other}' of 'requested_token_use' is not supported; expected 'on_behalf_of'."
                ),
            ));
        }
        None => return Err(OAuthError::missing_parameter("requested_token_use")),
    }
    let client = authenticate_client(
        identity,
        request.endpoint,
        request.form,
        request.headers,
        true,
    )?;
    let assertion = request.form.require("assertion")?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.leeway = 0;
    validation.validate_aud = false;
    validation.validate_nbf = true;
    validation.set_issuer(&[identity.issuer(&request.state.base_url)]);
    validation.set_required_spec_claims(&["exp", "aud", "iss"]);
    let claims: AccessClaims = identity.key.verify(assertion, &validation).map(|d| d.claims).map_err(|e| match e.kind() {
        ErrorKind::ExpiredSignature | ErrorKind::ImmatureSignature => {
            let expiry = jsonwebtoken::dangerous::insecure_decode::<AccessClaims>(assertion)
                .map(|d| d.claims.exp.to_string())
                .unwrap_or_default();
            OAuthError::invalid_grant(
                500133,
                format!(
                    "Assertion is not within its valid time range. Ensure that the access token is not expired before using it for user assertion, or request a new token. Current time: {}, expiry time of assertion {expiry}.",
                    now_secs()
                ),
            )
        }
        _ => OAuthError::invalid_grant(50013, "Assertion failed signature validation. [Reason - The key was not found.]"),
    })?;
    if !client.is_known_as(&claims.aud) {
        return Err(OAuthError::invalid_grant(
            50013,
            format!(
                "Assertion audience does not match the Client app presenting the assertion. The audience in the assertion was '{}' and the expected audience is '{}' or one of the Application Id URIs of this application.",
                claims.aud, client.client_id
            ),
        ));
    }
    if claims.scp.is_none() {
        return Err(OAuthError::invalid_grant(
            50013,
            "Assertion contains no user: an app-only token cannot be used on behalf of a user.",
        ));
    }
    let user = find_user(&request.state.directory.read(), &claims.oid).ok_or_else(|| {
        OAuthError::invalid_grant(
            50034,
            format!(
                "The user account {} does not exist in the {} directory.",
                claims.oid, identity.config.tenant_id
            ),
        )
    })?;
    let mut scopes = parse_delegated(request.form.get("scope"), &identity.apps.read())?;
    let requirement = identity
        .interaction
        .read()
        .get(&user.id.to_ascii_lowercase())
        .copied();
    match requirement {
        Some(InteractionRequirement::Mfa) => {
            let resource = match &scopes.resource {
                Resource::Graph => "00000003-0000-0000-c000-000000000000".to_owned(),
                Resource::App(id) => id.clone(),
            };
            return Err(OAuthError::interaction_required(
                50076,
                format!(
                    "Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '{resource}'."
                ),
            )
            .with_claims(MFA_CLAIMS));
        }
        Some(InteractionRequirement::Consent) => {
            return Err(OAuthError::invalid_grant(
                65001,
                format!(
                    "The user or administrator has not consented to use the application with ID '{}' named '{}'. Send an interactive authorization request for this user and resource.",
                    client.client_id, client.display_name
                ),
            )
            .with_suberror("consent_required"));
        }
        None => {}
    }
    // On-behalf-of returns no ID token.
    scopes.oidc.retain(|s| s == "offline_access");
    issue_user_tokens(
        identity,
        &request.state.base_url,
        &client,
        &user,
        &scopes,
        None,
    )
}
