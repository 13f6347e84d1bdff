//! Minting access tokens, ID tokens and token responses with Entra-like claims.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::Identity;
use super::apps::AppRegistration;
use super::errors::{OAuthError, add_entra_headers};

/// A directory user, copied out of the store for token minting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UserInfo {
    pub id: String,
    pub user_principal_name: String,
    pub display_name: String,
}

/// Claims of the access tokens this emulator issues (and verifies).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct AccessClaims {
    pub aud: String,
    pub iss: String,
    pub iat: u64,
    pub nbf: u64,
    pub exp: u64,
    pub tid: String,
    pub oid: String,
    pub sub: String,
    pub azp: String,
    pub appid: String,
    pub azpacr: String,
    pub idtyp: String,
    pub uti: String,
    pub ver: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scp: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
}

/// When a token becomes valid and when it expires.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Validity {
    pub issued_at: u64,
    pub expires_at: u64,
}

impl Validity {
    /// Valid from now for `lifetime`.
    pub(crate) fn from_now(lifetime: Duration) -> Self {
        let now = now_secs();
        Validity {
            issued_at: now,
            expires_at: now.saturating_add(lifetime.as_secs()),
        }
    }
}

/// Seconds since the Unix epoch.
pub(crate) fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A random URL-safe identifier with `bytes` bytes of entropy.
pub(crate) fn random_id(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// A random URL-safe identifier with 32 bytes of entropy.
pub(crate) fn random_id_32() -> String {
    random_id(32)
}

/// Entra's pairwise `sub`: stable per user and app, different across apps.
fn pairwise_sub(user_id: &str, client_id: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(format!("{user_id}|{client_id}").as_bytes()))
}

/// What an access token says about its bearer.
#[derive(Debug, Clone)]
pub(crate) enum Grantee<'a> {
    /// An app-only token with app roles.
    App { roles: Vec<String> },
    /// A delegated token for a user with scopes.
    User { user: &'a UserInfo, scp: String },
}

impl Identity {
    /// The `iss` of tokens: `{base}/{tenant id}/v2.0`.
    pub(crate) fn issuer(&self, base_url: &str) -> String {
        format!("{base_url}/{}/v2.0", self.config.tenant_id)
    }

    /// Mints a signed access token.
    pub(crate) fn mint_access_token(
        &self,
        base_url: &str,
        client: &AppRegistration,
        grantee: Grantee<'_>,
        audience: String,
        validity: Validity,
    ) -> Result<String, OAuthError> {
        let azpacr = if client.is_public() {
            "0"
        } else if !client.secrets.is_empty() {
            "1"
        } else {
            "2"
        };
        let (oid, sub, idtyp, scp, roles, name, upn) = match grantee {
            Grantee::App { roles } => (
                client.service_principal_id.clone(),
                client.service_principal_id.clone(),
                "app",
                None,
                roles,
                None,
                None,
            ),
            Grantee::User { user, scp } => (
                user.id.clone(),
                pairwise_sub(&user.id, &client.client_id),
                "user",
                Some(scp),
                Vec::new(),
                Some(user.display_name.clone()),
                Some(user.user_principal_name.clone()),
            ),
        };
        let claims = AccessClaims {
            aud: audience,
            iss: self.issuer(base_url),
            iat: validity.issued_at,
            nbf: validity.issued_at,
            exp: validity.expires_at,
            tid: self.config.tenant_id.clone(),
            oid,
            sub,
            azp: client.client_id.clone(),
            appid: client.client_id.clone(),
            azpacr: azpacr.to_owned(),
            idtyp: idtyp.to_owned(),
            uti: random_id(16),
            ver: "2.0".to_owned(),
            scp,
            roles,
            name,
            preferred_username: upn,
        };
        self.key.sign(&claims).map_err(signing_failed)
    }

    /// Mints an OpenID Connect ID token for `user` and `client`.
    pub(crate) fn mint_id_token(
        &self,
        base_url: &str,
        client: &AppRegistration,
        user: &UserInfo,
        nonce: Option<&str>,
    ) -> Result<String, OAuthError> {
        let validity = Validity::from_now(self.config.token_lifetime);
        let mut claims = serde_json::json!({
            "aud": client.client_id,
            "iss": self.issuer(base_url),
            "iat": validity.issued_at,
            "nbf": validity.issued_at,
            "exp": validity.expires_at,
            "name": user.display_name,
            "oid": user.id,
            "preferred_username": user.user_principal_name,
            "sub": pairwise_sub(&user.id, &client.client_id),
            "tid": self.config.tenant_id,
            "uti": random_id(16),
            "ver": "2.0",
        });
        if let Some(nonce) = nonce {
            claims["nonce"] = nonce.into();
        }
        self.key.sign(&claims).map_err(signing_failed)
    }
}

/// Entra's `client_info`: base64url (no padding) of `{"uid": <object id>, "utid": <tenant id>}`.
/// MSAL keys its accounts on `uid.utid`.
pub(crate) fn client_info(uid: &str, utid: &str) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::json!({ "uid": uid, "utid": utid }).to_string())
}

fn signing_failed(e: jsonwebtoken::errors::Error) -> OAuthError {
    OAuthError::invalid_request(50000, format!("There was an error issuing a token: {e}"))
}

/// A successful token response.
#[derive(Debug)]
pub(crate) struct TokenResponse {
    pub access_token: String,
    pub expires_in: u64,
    pub refresh_in: Option<u64>,
    pub scope: Option<String>,
    pub refresh_token: Option<String>,
    pub id_token: Option<String>,
    /// The signed-in user's object id, for `client_info` (flows with a user only).
    pub user_id: Option<String>,
    /// Whether the request asked for `client_info` (`client_info=1`).
    pub client_info_requested: bool,
}

impl TokenResponse {
    /// Renders the JSON body with Entra's headers.
    /// `tenant_id` is the `utid` of `client_info`.
    pub(crate) fn into_response_for(
        self,
        request_headers: &HeaderMap,
        tenant_id: &str,
    ) -> Response {
        let mut body = serde_json::json!({
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "ext_expires_in": self.expires_in,
            "access_token": self.access_token,
        });
        if let Some(refresh_in) = self.refresh_in {
            body["refresh_in"] = refresh_in.into();
        }
        if let Some(scope) = self.scope {
            body["scope"] = scope.into();
        }
        if let Some(rt) = self.refresh_token {
            body["refresh_token"] = rt.into();
        }
        if let Some(id_token) = self.id_token {
            body["id_token"] = id_token.into();
        }
        if let (true, Some(uid)) = (self.client_info_requested, &self.user_id) {
            body["client_info"] = client_info(uid, tenant_id).into();
        }
        let mut response = axum::Json(body).into_response();
        add_entra_headers(
            response.headers_mut(),
            request_headers,
            &uuid::Uuid::new_v4().to_string(),
        );
        response
    }
}
