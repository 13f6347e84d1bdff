//! Starts the real OAuth 2.0 server (`oidc-provider`, configured like Entra ID in
//! `tests/idp/server.mjs`) on a free loopback port, and scripts its browser sign-in.
//!
//! The test command installs its node modules (`npm ci` in `tests/idp`); the suites check
//! [`crate::external::node_idp_available`] first, so plain `cargo test` without Node.js skips
//! them with one line, and `./scripts/test` fails if they could not run.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The tenant segment the IdP's routes use (any segment is accepted).
pub const IDP_TENANT: &str = "test-tenant";
/// The redirect URI every IdP client registers.
pub const IDP_REDIRECT: &str = "http://127.0.0.1:8765/callback";

/// A running IdP; killed when dropped.
pub struct Idp {
    issuer: String,
    key_dir: tempfile::TempDir,
    _child: Child,
}

/// The directory holding server.mjs and package.json.
pub fn idp_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("idp")
}

impl Idp {
    /// Starts `node tests/idp/server.mjs` with `PORT=0` and waits for its `LISTENING` line.
    ///
    /// # Panics
    /// When node or the node modules are missing, or the server does not start in 30 s.
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// As [`Idp::start`], with extra environment variables (e.g. `SHORT_TTL`).
    ///
    /// # Panics
    /// As [`Idp::start`].
    pub async fn start_with(env: &[(&str, &str)]) -> Self {
        let dir = idp_dir();
        assert!(
            dir.join("node_modules").join("oidc-provider").is_dir(),
            "the test IdP's node modules are missing: run `npm ci` in {} (the test command does this)",
            dir.display()
        );
        let key_dir = tempfile::tempdir().expect("temp dir for the IdP keys");
        let mut command = Command::new("node");
        command
            .arg("server.mjs")
            .current_dir(&dir)
            .env("PORT", "0")
            .env("HOST", "127.0.0.1")
            .env("KEY_DIR", key_dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start node (is Node.js 20+ installed?): {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let issuer = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await.expect("read IdP stdout") {
                if let Some(rest) = line.strip_prefix("LISTENING ") {
                    return rest.split_whitespace().next().map(str::to_string);
                }
            }
            None
        })
        .await
        .expect("the IdP did not print LISTENING within 30 s")
        .expect("the IdP exited before listening");
        // Keep draining stdout so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self {
            issuer,
            key_dir,
            _child: child,
        }
    }

    /// The issuer, e.g. `http://127.0.0.1:41234`.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The authority host to configure credentials with (issuer plus `/`).
    pub fn authority(&self) -> String {
        format!("{}/", self.issuer)
    }

    /// The token endpoint.
    pub fn token_url(&self) -> String {
        format!("{}/{IDP_TENANT}/oauth2/v2.0/token", self.issuer)
    }

    /// Signs a user access token for the OBO grant with the IdP's key, as `mint-assertion.mjs`
    /// does: `iss` = issuer, `aud`, `sub`, `scp`, `tid`, 10 minutes, plus `extra` claims.
    ///
    /// # Panics
    /// When the IdP's key cannot be read or used.
    pub fn mint_assertion(
        &self,
        audience: &str,
        subject: &str,
        extra: serde_json::Value,
    ) -> String {
        let pem =
            std::fs::read(self.key_dir.path().join("signing-key.pem")).expect("IdP signing key");
        let kid = std::fs::read_to_string(self.key_dir.path().join("kid.txt")).expect("IdP kid");
        let key = jsonwebtoken::EncodingKey::from_rsa_pem(&pem).expect("RSA key");
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        header.kid = Some(kid.trim().to_string());
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .as_secs();
        let mut claims = serde_json::json!({
            "iss": self.issuer, "aud": audience, "sub": subject, "scp": "access_as_user", "tid": IDP_TENANT,
            "iat": now, "exp": now + 600,
        });
        if let (Some(map), Some(extra)) = (claims.as_object_mut(), extra.as_object()) {
            map.extend(extra.clone());
        }
        jsonwebtoken::encode(&header, &claims, &key).expect("sign assertion")
    }

    /// Follows the IdP's auto-approving sign-in from `authorize_url` until it redirects to
    /// [`IDP_REDIRECT`], keeping its cookies, and returns that final URL (with code and state).
    ///
    /// # Panics
    /// When the sign-in does not reach the redirect URI in 10 hops.
    pub async fn scripted_login(&self, authorize_url: &str) -> String {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http client");
        let mut cookies: BTreeMap<String, String> = BTreeMap::new();
        let mut url = authorize_url.to_string();
        for _ in 0..10 {
            let cookie_header: Vec<String> =
                cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let response = http
                .get(&url)
                .header("cookie", cookie_header.join("; "))
                .send()
                .await
                .expect("sign-in request");
            for set in response.headers().get_all("set-cookie") {
                let pair = set
                    .to_str()
                    .unwrap_or_default()
                    .split(';')
                    .next()
                    .unwrap_or_default();
                if let Some((name, value)) = pair.split_once('=') {
                    cookies.insert(name.trim().to_string(), value.trim().to_string());
                }
            }
            let location = response
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_else(|| panic!("no redirect from {url} (HTTP {})", response.status()))
                .to_string();
            let next = reqwest::Url::parse(&url)
                .and_then(|base| base.join(&location))
                .expect("location");
            if next.as_str().starts_with(IDP_REDIRECT) {
                return next.to_string();
            }
            url = next.to_string();
        }
        panic!("the sign-in did not reach {IDP_REDIRECT} in 10 hops");
    }
}

/// Decodes a JWT's claims without verifying the signature (the IdP issued it; tests only read it).
///
/// # Panics
/// When `jwt` is not a JWT.
pub fn jwt_claims(jwt: &str) -> serde_json::Value {
    use base64::Engine;
    let payload = jwt.split('.').nth(1).expect("a JWT has a payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .expect("base64url payload");
    serde_json::from_slice(&bytes).expect("JSON claims")
}
