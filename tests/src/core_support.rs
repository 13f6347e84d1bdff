//! Helpers for the msgraph-typed-core end-to-end suites (`tests/tests/core_*.rs`): a small
//! client-credentials [`TokenCredential`] for the emulator's seeded daemon app that counts what
//! it is asked, and a [`msgraph_typed_core::Client`] wired to an emulator.

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use msgraph_typed_auth::{AccessToken, AuthError, TokenCredential, TokenRequest};
use msgraph_typed_emulator::{Emulator, seeded};

/// The scope the emulator issues Graph tokens for.
pub const GRAPH_SCOPE: &str = "https://graph.microsoft.com/.default";

/// What the credential was asked, for assertions.
#[derive(Debug, Default, Clone)]
pub struct CredentialLog {
    /// Every call to `get_token`.
    pub calls: usize,
    /// Calls that reached the token endpoint.
    pub fetched: usize,
    /// Calls with `force_refresh`.
    pub forced: usize,
    /// The claims of calls that carried a claims challenge.
    pub claims: Vec<String>,
}

/// Client credentials against the emulator's token endpoint, with a one-entry cache that hands
/// out a token until less than `skew` of its life is left.
#[derive(Debug)]
pub struct EmulatorCredential {
    http: reqwest::Client,
    token_endpoint: String,
    skew: Duration,
    cached: Mutex<Option<AccessToken>>,
    log: Mutex<CredentialLog>,
}

impl EmulatorCredential {
    /// A credential for the seeded daemon app of `emulator`.
    pub fn new(emulator: &Emulator) -> Self {
        Self {
            http: reqwest::Client::new(),
            token_endpoint: emulator.token_endpoint(),
            // The emulator's `exp` is whole seconds: keep a margin over that rounding.
            skew: Duration::from_millis(1200),
            cached: Mutex::new(None),
            log: Mutex::new(CredentialLog::default()),
        }
    }

    /// What the credential was asked so far.
    pub fn log(&self) -> CredentialLog {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    async fn fetch(&self, request: &TokenRequest) -> Result<AccessToken, AuthError> {
        let scope = request.scopes.join(" ");
        let mut form = vec![
            ("grant_type", "client_credentials".to_string()),
            ("client_id", seeded::DAEMON_CLIENT_ID.to_string()),
            ("client_secret", seeded::DAEMON_CLIENT_SECRET.to_string()),
            ("scope", scope),
        ];
        if let Some(claims) = &request.claims {
            form.push(("claims", claims.clone()));
        }
        let response = self
            .http
            .post(&self.token_endpoint)
            .form(&form)
            .send()
            .await
            .map_err(|e| AuthError::Unavailable(format!("token endpoint unreachable: {e}")))?;
        let status = response.status().as_u16();
        let body: serde_json::Value = response
            .json()
            .await
            .map_err(|e| AuthError::Unavailable(format!("HTTP {status} without JSON: {e}")))?;
        let (Some(secret), Some(expires_in)) =
            (body["access_token"].as_str(), body["expires_in"].as_u64())
        else {
            return Err(AuthError::Unavailable(format!(
                "HTTP {status} without a token: {}",
                body["error"]
            )));
        };
        Ok(AccessToken::new(
            secret,
            SystemTime::now() + Duration::from_secs(expires_in),
        ))
    }
}

#[async_trait]
impl TokenCredential for EmulatorCredential {
    async fn get_token(&self, request: &TokenRequest) -> Result<AccessToken, AuthError> {
        {
            let mut log = self
                .log
                .lock()
                .map_err(|_| AuthError::Configuration("poisoned".into()))?;
            log.calls += 1;
            if request.force_refresh {
                log.forced += 1;
            }
            if let Some(claims) = &request.claims {
                log.claims.push(claims.clone());
            }
        }
        let usable = !request.force_refresh && request.claims.is_none();
        if usable {
            let cached = self.cached.lock().ok().and_then(|c| c.clone());
            if let Some(token) = cached.filter(|t| !t.is_expired_at(SystemTime::now(), self.skew)) {
                return Ok(token);
            }
        }
        let token = self.fetch(request).await?;
        if let Ok(mut log) = self.log.lock() {
            log.fetched += 1;
        }
        if let Ok(mut cached) = self.cached.lock() {
            *cached = Some(token.clone());
        }
        Ok(token)
    }
}

/// A client for `emulator`'s Graph endpoint using `credential`, asking for Graph's scope.
pub fn client(
    emulator: &Emulator,
    credential: std::sync::Arc<EmulatorCredential>,
) -> msgraph_typed_core::Client {
    msgraph_typed_core::Client::builder()
        .base_url(&emulator.graph_url())
        .credential(credential)
        .scopes([GRAPH_SCOPE])
        .build()
        .expect("a client for a loopback emulator builds")
}
