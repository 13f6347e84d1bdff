//! The token endpoint's grants and the state they keep (codes, refresh tokens, device codes).

pub(super) mod authorization_code;
pub(super) mod client_credentials;
pub(super) mod device_code;
pub(super) mod on_behalf_of;
pub(super) mod refresh_token;

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use parking_lot::Mutex;

use super::Identity;
use super::apps::AppRegistration;
use super::errors::OAuthError;
use super::scopes::DelegatedScopes;
use super::tokens::{Grantee, TokenResponse, UserInfo, Validity, random_id};

/// Authorization codes live ten minutes, like Entra's.
pub(crate) const CODE_LIFETIME: Duration = Duration::from_secs(600);
/// Refresh tokens live 90 days.
const REFRESH_TOKEN_LIFETIME: Duration = Duration::from_secs(90 * 24 * 3600);
/// Device codes live 15 minutes.
pub(crate) const DEVICE_CODE_LIFETIME: Duration = Duration::from_secs(900);
/// Above this many entries, expired ones are swept on insert.
const SWEEP_THRESHOLD: usize = 10_000;

/// An issued authorization code.
#[derive(Debug, Clone)]
pub(crate) struct AuthCode {
    pub client_id: String,
    pub redirect_uri: String,
    pub scopes: DelegatedScopes,
    pub user: UserInfo,
    /// PKCE S256 challenge.
    pub code_challenge: Option<String>,
    pub nonce: Option<String>,
    pub expires_at: SystemTime,
    pub redeemed: bool,
}

/// An issued refresh token.
#[derive(Debug, Clone)]
pub(crate) struct RefreshGrant {
    pub client_id: String,
    pub user: UserInfo,
    pub scopes: DelegatedScopes,
    pub expires_at: SystemTime,
    pub redeemed: bool,
}

/// A pending device-code authorization.
#[derive(Debug, Clone)]
pub(crate) struct DeviceGrant {
    pub client_id: String,
    pub scopes: DelegatedScopes,
    pub user: UserInfo,
    pub polls: u32,
    pub expires_at: SystemTime,
    pub redeemed: bool,
}

/// Everything the grants remember between requests. Its keys are codes and refresh tokens, so
/// `Debug` shows only how many there are.
#[derive(Default)]
pub(crate) struct GrantStore {
    pub codes: Mutex<HashMap<String, AuthCode>>,
    pub refresh_tokens: Mutex<HashMap<String, RefreshGrant>>,
    pub device_codes: Mutex<HashMap<String, DeviceGrant>>,
}

impl std::fmt::Debug for GrantStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrantStore")
            .field("codes", &self.codes.lock().len())
            .field("refresh_tokens", &self.refresh_tokens.lock().len())
            .field("device_codes", &self.device_codes.lock().len())
            .finish()
    }
}

fn sweep<T>(map: &mut HashMap<String, T>, expires_at: impl Fn(&T) -> SystemTime) {
    if map.len() >= SWEEP_THRESHOLD {
        let now = SystemTime::now();
        map.retain(|_, v| expires_at(v) > now);
    }
}

impl GrantStore {
    pub(crate) fn insert_code(&self, code: AuthCode) -> String {
        let id = random_id(32);
        let mut codes = self.codes.lock();
        sweep(&mut codes, |c| c.expires_at);
        codes.insert(id.clone(), code);
        id
    }

    pub(crate) fn insert_device_code(&self, grant: DeviceGrant) -> String {
        let id = random_id(32);
        let mut codes = self.device_codes.lock();
        sweep(&mut codes, |c| c.expires_at);
        codes.insert(id.clone(), grant);
        id
    }
}

/// Mints the tokens of a user flow: access token, plus a refresh token with `offline_access`,
/// plus an ID token with `openid`.
pub(super) fn issue_user_tokens(
    identity: &Identity,
    base_url: &str,
    client: &AppRegistration,
    user: &UserInfo,
    scopes: &DelegatedScopes,
    nonce: Option<&str>,
) -> Result<TokenResponse, OAuthError> {
    let (expires_in, refresh_in) = identity.lifetimes();
    let access_token = identity.mint_access_token(
        base_url,
        client,
        Grantee::User {
            user,
            scp: scopes.scp(),
        },
        scopes.resource.audience(),
        Validity::from_now(identity.config.token_lifetime),
    )?;
    let refresh_token = scopes.wants_refresh_token().then(|| {
        let id = format!("1.emu.{}", random_id(48));
        let mut tokens = identity.grants.refresh_tokens.lock();
        sweep(&mut tokens, |t| t.expires_at);
        tokens.insert(
            id.clone(),
            RefreshGrant {
                client_id: client.client_id.clone(),
                user: user.clone(),
                scopes: scopes.clone(),
                expires_at: SystemTime::now() + REFRESH_TOKEN_LIFETIME,
                redeemed: false,
            },
        );
        id
    });
    let id_token = if scopes.wants_id_token() {
        Some(identity.mint_id_token(base_url, client, user, nonce)?)
    } else {
        None
    };
    let apps = identity.apps.read();
    Ok(TokenResponse {
        access_token,
        expires_in,
        refresh_in,
        scope: Some(scopes.response_scope(&apps)),
        refresh_token,
        id_token,
        user_id: Some(user.id.clone()),
        client_info_requested: false,
    })
}
