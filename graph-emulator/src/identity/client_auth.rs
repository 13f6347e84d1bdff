//! Client authentication at the token endpoint: `client_secret` in the body, HTTP Basic, or a
//! `client_assertion` JWT signed with a registered certificate; public clients send only `client_id`.

use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::alphabet;
use base64::engine::general_purpose::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use super::Identity;
use super::apps::AppRegistration;
use super::errors::OAuthError;
use super::subject_name;
use super::token_endpoint::Form;

/// The client-assertion type Entra accepts.
pub(crate) const JWT_BEARER_ASSERTION_TYPE: &str =
    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// What the request says about the token endpoint it was sent to, to check an assertion's `aud`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Endpoint<'a> {
    pub base_url: &'a str,
    pub tenant_segment: &'a str,
    pub tenant_id: &'a str,
}

impl Endpoint<'_> {
    fn accepted_audiences(&self) -> Vec<String> {
        let mut out = Vec::new();
        for tenant in [self.tenant_segment, self.tenant_id] {
            out.push(format!("{}/{tenant}/oauth2/v2.0/token", self.base_url));
            out.push(format!("{}/{tenant}/oauth2/token", self.base_url));
        }
        out
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct AssertionClaims {
    iss: Option<String>,
    sub: Option<String>,
    jti: Option<String>,
}

/// Credentials taken from an `Authorization: Basic` header (form-urlencoded id and secret, RFC 6749 §2.3.1).
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Some((unescape(id), unescape(secret)))
}

/// Identifies and authenticates the client. `require_confidential` rejects public clients
/// (client credentials and on-behalf-of need a secret or certificate).
pub(crate) fn authenticate_client(
    identity: &Identity,
    endpoint: Endpoint<'_>,
    form: &Form,
    headers: &HeaderMap,
    require_confidential: bool,
) -> Result<AppRegistration, OAuthError> {
    let basic = basic_credentials(headers);
    let assertion = form.get("client_assertion");
    let unverified_assertion_iss = assertion.and_then(|a| {
        jsonwebtoken::dangerous::insecure_decode::<AssertionClaims>(a)
            .ok()
            .and_then(|d| d.claims.iss)
    });
    let client_id = form
        .get("client_id")
        .map(str::to_owned)
        .or_else(|| basic.as_ref().map(|(id, _)| id.clone()))
        .or(unverified_assertion_iss)
        .ok_or_else(|| OAuthError::missing_parameter("client_id"))?;
    if let (Some(body_id), Some((basic_id, _))) = (form.get("client_id"), basic.as_ref())
        && !body_id.eq_ignore_ascii_case(basic_id)
    {
        return Err(OAuthError::invalid_client(
            50027,
            "The client_id in the request body does not match the client id of the Authorization header.",
        ));
    }
    let app = identity.apps.read().get(&client_id).cloned().ok_or_else(|| {
        OAuthError::unauthorized_client(
            700016,
            format!(
                "Application with identifier '{client_id}' was not found in the directory '{}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.",
                identity.config.tenant_id
            ),
        )
    })?;
    let secret = form
        .get("client_secret")
        .map(str::to_owned)
        .or_else(|| basic.map(|(_, s)| s));
    if app.is_public() {
        if secret.is_some() || assertion.is_some() {
            return Err(OAuthError::invalid_client(
                700025,
                "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.",
            ));
        }
        if require_confidential {
            return Err(OAuthError::unauthorized_client(
                700025,
                "The application is a public client and cannot use this grant type.",
            ));
        }
        return Ok(app);
    }
    if let Some(secret) = secret {
        let matches = app
            .secrets
            .iter()
            .any(|expected| constant_time_eq(expected.as_bytes(), secret.as_bytes()));
        if matches {
            return Ok(app);
        }
        return Err(OAuthError::invalid_client(
            7000215,
            format!(
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{}'.",
                app.client_id
            ),
        ));
    }
    if let Some(assertion) = assertion {
        if form.get("client_assertion_type") != Some(JWT_BEARER_ASSERTION_TYPE) {
            return Err(OAuthError::invalid_request(
                50027,
                format!("Invalid client_assertion_type; expected '{JWT_BEARER_ASSERTION_TYPE}'."),
            ));
        }
        // A token of an external issuer (workload identity federation) names that issuer, not
        // the app, as `iss`.
        let external = jsonwebtoken::dangerous::insecure_decode::<AssertionClaims>(assertion)
            .ok()
            .and_then(|d| d.claims.iss)
            .is_some_and(|iss| !iss.eq_ignore_ascii_case(&app.client_id));
        if external && !app.federated_credentials.is_empty() {
            identity.external_issuers.read().verify(&app, assertion)?;
        } else {
            verify_client_assertion(&app, endpoint, assertion)?;
        }
        return Ok(app);
    }
    Err(OAuthError::invalid_client(
        7000218,
        "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
    ))
}

/// Decodes a JWT thumbprint header (`x5t`, `x5t#S256`): base64url, padded or not.
fn decode_thumbprint(thumbprint: &str) -> Option<Vec<u8>> {
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &alphabet::URL_SAFE,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    LENIENT.decode(thumbprint.trim()).ok()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Verifies a certificate client assertion (RFC 7523): RS256 or PS256, `x5t` or `x5t#S256` naming a
/// registered certificate, `aud` = the token endpoint, `iss` = `sub` = client id, `exp`/`nbf`, `jti`.
fn verify_client_assertion(
    app: &AppRegistration,
    endpoint: Endpoint<'_>,
    assertion: &str,
) -> Result<(), OAuthError> {
    let invalid = |code: u32, message: String| OAuthError::invalid_client(code, message);
    let header = jsonwebtoken::decode_header(assertion)
        .map_err(|_| invalid(50027, "JWT token is invalid or malformed.".to_owned()))?;
    if !matches!(header.alg, Algorithm::RS256 | Algorithm::PS256) {
        return Err(invalid(
            5002738,
            format!(
                "Invalid JWT token. '{:?}' is not a supported signature algorithm.",
                header.alg
            ),
        ));
    }
    let thumbprint = header.x5t_s256.as_deref().or(header.x5t.as_deref());
    // base64url with or without `=` padding (MSAL Python pads, others do not): compare the bytes.
    let digest = thumbprint.and_then(decode_thumbprint);
    let registered = app.certificates.iter().find(|c| match &digest {
        Some(d) if header.x5t_s256.is_some() => d.as_slice() == c.sha256.as_slice(),
        Some(d) => d.as_slice() == c.sha1.as_slice(),
        None => false,
    });
    let key: DecodingKey = match (registered, &header.x5c) {
        (Some(certificate), _) => certificate.key.0.clone(),
        // Subject name + issuer: no registered thumbprint, the chain in x5c is checked instead.
        (None, Some(x5c)) if !app.trusted_subjects.is_empty() => {
            subject_name::leaf_key(x5c, &app.trusted_subjects)?
        }
        (None, _) => {
            let reason = match thumbprint {
                Some(t) => format!(
                    "Client assertion contains an invalid signature. [Reason - The key was not found., Thumbprint of key used by client: '{t}']"
                ),
                None => "Client assertion contains an invalid signature. [Reason - The key was not found.]".to_owned(),
            };
            return Err(invalid(700027, reason));
        }
    };
    let mut validation = Validation::new(header.alg);
    validation.leeway = 5;
    validation.validate_nbf = true;
    validation.set_required_spec_claims(&["exp", "aud", "iss", "sub"]);
    validation.set_audience(&endpoint.accepted_audiences());
    validation.set_issuer(&[app.client_id.as_str()]);
    let data = jsonwebtoken::decode::<AssertionClaims>(assertion, &key, &validation).map_err(|e| {
        match e.kind() {
            ErrorKind::ExpiredSignature | ErrorKind::ImmatureSignature => invalid(
                700024,
                "Client assertion is not within its valid time range.".to_owned(),
            ),
            ErrorKind::InvalidAudience => invalid(
                700212,
                format!(
                    "The audience of the client assertion is not valid. Expected the token endpoint '{}/{}/oauth2/v2.0/token'.",
                    endpoint.base_url, endpoint.tenant_segment
                ),
            ),
            ErrorKind::InvalidIssuer => invalid(
                700021,
                "Client assertion application identifier doesn't match 'client_id' parameter.".to_owned(),
            ),
            ErrorKind::MissingRequiredClaim(claim) => invalid(
                50027,
                format!("Invalid JWT token. The client assertion has no '{claim}' claim."),
            ),
            ErrorKind::InvalidSignature => invalid(700027, "Client assertion failed signature validation.".to_owned()),
            _ => invalid(50027, "JWT token is invalid or malformed.".to_owned()),
        }
    })?;
    if data.claims.sub.as_deref() != Some(app.client_id.as_str()) {
        return Err(invalid(
            700021,
            "Client assertion 'sub' claim must be the client id.".to_owned(),
        ));
    }
    if data.claims.jti.as_deref().is_none_or(str::is_empty) {
        return Err(invalid(
            50027,
            "Invalid JWT token. The client assertion has no 'jti' claim.".to_owned(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::decode_thumbprint;

    #[test]
    fn thumbprints_decode_with_or_without_padding() {
        let padded = decode_thumbprint("dkRxX6_rQNUvLJ7uydUdgA1Hg8k=").unwrap();
        let unpadded = decode_thumbprint("dkRxX6_rQNUvLJ7uydUdgA1Hg8k").unwrap();
        assert_eq!(padded, unpadded);
        assert_eq!(padded.len(), 20);
        assert!(decode_thumbprint("not base64!").is_none());
    }
}
