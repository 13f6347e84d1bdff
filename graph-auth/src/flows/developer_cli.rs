//! Tokens from the developer tools a laptop is logged in with: the Azure CLI (`az`) and the
//! Azure Developer CLI (`azd`). The tool runs as a child process with arguments, never through
//! a shell, under a timeout.

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use serde_json::{Map, Value};
use tokio::io::AsyncReadExt;

use super::CredentialOptions;
use super::managed_identity::resource_of;
use crate::cache::{CacheKey, MemoryTokenCache};
use crate::manager::TokenManager;
use crate::{AccessToken, AuthError, TokenCredential, TokenRequest};

/// The most a tool's output is read (a token answer is a few kilobytes).
const MAX_OUTPUT_BYTES: u64 = 1024 * 1024;

/// Settings of [`AzureCliCredential`] and [`AzureDeveloperCliCredential`].
///
/// ```
/// use msgraph_typed_auth::DeveloperCliOptions;
/// use std::time::Duration;
///
/// let options = DeveloperCliOptions::default()
///     .with_tenant("contoso.onmicrosoft.com")
///     .with_timeout(Duration::from_secs(20));
/// # let _ = options;
/// ```
#[derive(Debug, Clone)]
pub struct DeveloperCliOptions {
    tenant: Option<String>,
    timeout: Duration,
    program: Option<PathBuf>,
    credential: CredentialOptions,
}

impl Default for DeveloperCliOptions {
    fn default() -> Self {
        Self {
            tenant: None,
            timeout: Duration::from_secs(13),
            program: None,
            credential: CredentialOptions::default(),
        }
    }
}

impl DeveloperCliOptions {
    /// Asks the tool for a token of this tenant (`--tenant` / `--tenant-id`). Defaults to the
    /// tool's current tenant.
    #[must_use]
    pub fn with_tenant(mut self, tenant: impl Into<String>) -> Self {
        self.tenant = Some(tenant.into());
        self
    }

    /// How long the tool may take; it is killed after. Defaults to 13 s.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Runs this program instead of `az` / `azd` found on `PATH`.
    #[must_use]
    pub fn with_program(mut self, program: impl Into<PathBuf>) -> Self {
        self.program = Some(program.into());
        self
    }

    /// Cache, clock and token manager tuning (the cloud and HTTP client are not used).
    #[must_use]
    pub fn with_credential_options(mut self, options: CredentialOptions) -> Self {
        self.credential = options;
        self
    }
}

/// Which tool, and how it is asked and answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tool {
    AzureCli,
    AzureDeveloperCli,
}

impl Tool {
    fn name(self) -> &'static str {
        match self {
            Tool::AzureCli => "az",
            Tool::AzureDeveloperCli => "azd",
        }
    }

    fn credential(self) -> &'static str {
        match self {
            Tool::AzureCli => "AzureCliCredential",
            Tool::AzureDeveloperCli => "AzureDeveloperCliCredential",
        }
    }

    fn default_program(self) -> PathBuf {
        // Windows installs both as batch files, which `Command` does not find without the
        // extension.
        let name = match (self, cfg!(windows)) {
            (Tool::AzureCli, true) => "az.cmd",
            (Tool::AzureDeveloperCli, true) => "azd.exe",
            _ => self.name(),
        };
        PathBuf::from(name)
    }

    fn login_hint(self) -> &'static str {
        match self {
            Tool::AzureCli => "run `az login`",
            Tool::AzureDeveloperCli => "run `azd auth login`",
        }
    }

    /// The arguments for one token; `scope` and `tenant` were validated.
    fn args(self, scope: &str, resource: &str, tenant: Option<&str>) -> Vec<OsString> {
        let mut args: Vec<OsString> = match self {
            Tool::AzureCli => vec![
                "account".into(),
                "get-access-token".into(),
                "--output".into(),
                "json".into(),
                "--resource".into(),
                resource.into(),
            ],
            Tool::AzureDeveloperCli => vec![
                "auth".into(),
                "token".into(),
                "--output".into(),
                "json".into(),
                "--scope".into(),
                scope.into(),
            ],
        };
        if let Some(tenant) = tenant {
            args.push(
                match self {
                    Tool::AzureCli => "--tenant",
                    Tool::AzureDeveloperCli => "--tenant-id",
                }
                .into(),
            );
            args.push(tenant.into());
        }
        args
    }

    /// Whether the tool's complaint means "not logged in" (the credential is then unavailable).
    fn is_not_logged_in(self, stderr: &str) -> bool {
        let lower = stderr.to_ascii_lowercase();
        match self {
            Tool::AzureCli => lower.contains("az login") || lower.contains("az account set"),
            Tool::AzureDeveloperCli => {
                lower.contains("azd auth login") || lower.contains("not logged in")
            }
        }
    }
}

/// Shared by both credentials: the tool, its options and a token manager.
#[derive(Clone)]
struct DeveloperCli {
    tool: Tool,
    program: PathBuf,
    tenant: Option<String>,
    timeout: Duration,
    manager: TokenManager,
}

impl fmt::Debug for DeveloperCli {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(self.tool.credential())
            .field("program", &self.program)
            .field("tenant", &self.tenant)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl DeveloperCli {
    fn new(tool: Tool, options: DeveloperCliOptions) -> Result<Self, AuthError> {
        if let Some(tenant) = &options.tenant {
            validate_tenant(tool, tenant)?;
        }
        let credential = options.credential;
        let cache = credential.cache.clone().unwrap_or_else(|| {
            Arc::new(MemoryTokenCache::with_clock(
                MemoryTokenCache::DEFAULT_CAPACITY,
                credential.clock.clone(),
            ))
        });
        Ok(Self {
            tool,
            program: options.program.unwrap_or_else(|| tool.default_program()),
            tenant: options.tenant,
            timeout: options.timeout,
            manager: TokenManager::new(cache, credential.clock, credential.manager),
        })
    }

    async fn get_token(&self, request: &TokenRequest) -> Result<AccessToken, AuthError> {
        let who = self.tool.credential();
        let resource = resource_of(request, who)?;
        let scope = request
            .scopes
            .iter()
            .map(|s| s.trim())
            .find(|s| !s.is_empty())
            .unwrap_or_default()
            .to_string();
        validate_scope(self.tool, &scope)?;
        let tenant = match request.tenant_id.as_deref().or(self.tenant.as_deref()) {
            Some(t) => {
                validate_tenant(self.tool, t)?;
                Some(t.to_string())
            }
            None => None,
        };
        let key = CacheKey::access_token(
            &format!("developer-cli/{}", self.tool.name()),
            tenant.as_deref().unwrap_or("current"),
            self.tool.name(),
            std::slice::from_ref(&resource),
            None,
            None,
        );
        let force = request.force_refresh || request.claims.is_some();
        let this = self.clone();
        self.manager
            .get_token(&key, force, move || async move {
                let args = this.tool.args(&scope, &resource, tenant.as_deref());
                let output = this.run(args).await?;
                parse_answer(this.tool, &output, this.manager.clock().now())
            })
            .await
    }

    /// Runs the tool; its stdout when it exits with 0, else a typed error quoting stderr.
    async fn run(&self, args: Vec<OsString>) -> Result<Vec<u8>, AuthError> {
        let tool = self.tool;
        let mut command = tokio::process::Command::new(&self.program);
        command
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        // Plain output, no update check or survey prompt on stderr.
        command
            .env("AZURE_CORE_NO_COLOR", "true")
            .env("AZURE_CORE_COLLECT_TELEMETRY", "false");
        tracing::debug!(tool = tool.name(), program = %self.program.display(), "running a developer tool for a token");
        let mut child = command.spawn().map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                AuthError::Unavailable(format!(
                    "{}: `{}` is not installed (not found on PATH)",
                    tool.credential(),
                    self.program.display()
                ))
            } else {
                AuthError::DeveloperTool {
                    tool: tool.name().into(),
                    message: format!("cannot start {}: {e}", self.program.display()),
                }
            }
        })?;
        let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
            return Err(AuthError::Internal(
                "the tool's output pipes are missing".into(),
            ));
        };
        let finished = async {
            let mut out = Vec::new();
            let mut err = Vec::new();
            let mut stdout = stdout.take(MAX_OUTPUT_BYTES + 1);
            let mut stderr = stderr.take(MAX_OUTPUT_BYTES + 1);
            let (read_out, read_err) =
                futures::future::join(stdout.read_to_end(&mut out), stderr.read_to_end(&mut err))
                    .await;
            let status = child.wait().await;
            (read_out.and(read_err).and(status), out, err)
        };
        let (status, out, err) = match tokio::time::timeout(self.timeout, finished).await {
            Ok(done) => done,
            Err(_) => {
                return Err(AuthError::DeveloperTool {
                    tool: tool.name().into(),
                    message: format!("did not answer within {:?}; it was stopped", self.timeout),
                });
            }
        };
        let status = status.map_err(|e| AuthError::DeveloperTool {
            tool: tool.name().into(),
            message: format!("reading its output failed: {e}"),
        })?;
        if out.len() as u64 > MAX_OUTPUT_BYTES {
            return Err(AuthError::DeveloperTool {
                tool: tool.name().into(),
                message: format!("printed more than {MAX_OUTPUT_BYTES} bytes"),
            });
        }
        if status.success() {
            return Ok(out);
        }
        let said = quote(&err);
        if status.code() == Some(127) {
            return Err(AuthError::Unavailable(format!(
                "{}: `{}` is not installed: {said}",
                tool.credential(),
                self.program.display()
            )));
        }
        if tool.is_not_logged_in(&said) {
            return Err(AuthError::Unavailable(format!(
                "{}: `{}` is not logged in ({}): {said}",
                tool.credential(),
                tool.name(),
                tool.login_hint()
            )));
        }
        Err(AuthError::DeveloperTool {
            tool: tool.name().into(),
            message: format!(
                "exited with {}: {said}",
                status
                    .code()
                    .map_or_else(|| "a signal".to_string(), |c| format!("code {c}"))
            ),
        })
    }
}

/// What a tool said on stderr, for an error: at most 600 characters, any JWT-looking word
/// replaced (a tool should never print a token there, but an error must not carry one).
fn quote(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let words: Vec<String> = text
        .split_whitespace()
        .map(|word| {
            if word.contains("eyJ") || word.len() > 200 {
                "[redacted]".to_string()
            } else {
                word.to_string()
            }
        })
        .collect();
    let joined = words.join(" ");
    let mut quoted: String = joined.chars().take(600).collect();
    if quoted.len() < joined.len() {
        quoted.push_str(" ...");
    }
    if quoted.is_empty() {
        quoted.push_str("(nothing on stderr)");
    }
    quoted
}

fn validate_scope(tool: Tool, scope: &str) -> Result<(), AuthError> {
    let ok = !scope.is_empty()
        && !scope.starts_with('-')
        && scope
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '/'));
    if ok {
        Ok(())
    } else {
        Err(AuthError::config(format!(
            "{}: the scope {scope:?} may hold only letters, digits and - _ . : /",
            tool.credential()
        )))
    }
}

fn validate_tenant(tool: Tool, tenant: &str) -> Result<(), AuthError> {
    let ok = !tenant.is_empty()
        && tenant.len() <= 256
        && !tenant.starts_with('-')
        && tenant
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.'));
    if ok {
        Ok(())
    } else {
        Err(AuthError::config(format!(
            "{}: the tenant {tenant:?} may hold only letters, digits, - and .",
            tool.credential()
        )))
    }
}

/// The token in the tool's JSON: `az` prints `accessToken` with `expires_on` (epoch seconds,
/// az 2.54 and later) or only `expiresOn` (local time); `azd` prints `token` and `expiresOn`
/// (RFC 3339).
fn parse_answer(tool: Tool, output: &[u8], now: SystemTime) -> Result<AccessToken, AuthError> {
    let garbage = |why: &str| AuthError::DeveloperTool {
        tool: tool.name().into(),
        message: format!(
            "printed {} bytes that are not a token answer ({why})",
            output.len()
        ),
    };
    let map: Map<String, Value> =
        serde_json::from_slice(output).map_err(|_| garbage("not a JSON object"))?;
    let token_field = match tool {
        Tool::AzureCli => "accessToken",
        Tool::AzureDeveloperCli => "token",
    };
    let token = map
        .get(token_field)
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| garbage(&format!("no {token_field}")))?;
    let epoch = match map.get("expires_on") {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    };
    let expires = match (epoch, map.get("expiresOn").and_then(Value::as_str)) {
        (Some(secs), _) => UNIX_EPOCH + Duration::from_secs(secs),
        (None, Some(text)) => match tool {
            Tool::AzureCli => local_time(text),
            Tool::AzureDeveloperCli => rfc3339(text),
        }
        .ok_or_else(|| garbage("an expiresOn that is not a time"))?,
        (None, None) => return Err(garbage("no expires_on or expiresOn")),
    };
    if expires <= now {
        return Err(AuthError::DeveloperTool {
            tool: tool.name().into(),
            message: "returned a token that has already expired".into(),
        });
    }
    Ok(AccessToken::new(token, expires))
}

/// `2023-10-31 21:59:10.000000` in the machine's time zone (what az before 2.54 prints).
fn local_time(text: &str) -> Option<SystemTime> {
    use chrono::{Local, NaiveDateTime, TimeZone};
    let naive = NaiveDateTime::parse_from_str(text.trim(), "%Y-%m-%d %H:%M:%S%.f").ok()?;
    let local = Local.from_local_datetime(&naive).earliest()?;
    Some(SystemTime::from(local))
}

fn rfc3339(text: &str) -> Option<SystemTime> {
    let parsed = chrono::DateTime::parse_from_rfc3339(text.trim()).ok()?;
    Some(SystemTime::from(parsed))
}

/// Tokens of the account the developer logged the Azure CLI in with (`az login`), for code
/// run on a laptop: `az account get-access-token --output json --resource <resource>
/// [--tenant <tenant>]`, run without a shell, with a timeout (13 s by default).
///
/// When `az` is missing or not logged in the credential is
/// [unavailable](AuthError::is_unavailable) (a chain moves on); any other failure is
/// [`AuthError::DeveloperTool`] quoting what `az` said. Scopes and tenants are checked to
/// hold only URL and domain characters, so they cannot inject options.
///
/// ```no_run
/// use msgraph_typed_auth::{AzureCliCredential, TokenCredential, TokenRequest};
///
/// # async fn demo() -> Result<(), msgraph_typed_auth::AuthError> {
/// let credential = AzureCliCredential::new()?;
/// let token = credential
///     .get_token(&TokenRequest::new(["https://graph.microsoft.com/.default"]))
///     .await?;
/// # let _ = token; Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct AzureCliCredential {
    cli: DeveloperCli,
}

impl AzureCliCredential {
    /// `az` from `PATH`, its current tenant.
    ///
    /// # Errors
    /// Never with the defaults; see [`AzureCliCredential::with_options`].
    pub fn new() -> Result<Self, AuthError> {
        Self::with_options(DeveloperCliOptions::default())
    }

    /// With explicit options.
    ///
    /// # Errors
    /// [`AuthError::Configuration`] for a tenant that is not a tenant id or domain.
    pub fn with_options(options: DeveloperCliOptions) -> Result<Self, AuthError> {
        Ok(Self {
            cli: DeveloperCli::new(Tool::AzureCli, options)?,
        })
    }
}

#[async_trait]
impl TokenCredential for AzureCliCredential {
    async fn get_token(&self, request: &TokenRequest) -> Result<AccessToken, AuthError> {
        self.cli.get_token(request).await
    }
}

/// Tokens of the account the developer logged the Azure Developer CLI in with
/// (`azd auth login`): `azd auth token --output json --scope <scope> [--tenant-id <tenant>]`,
/// with the same rules as [`AzureCliCredential`].
///
/// ```no_run
/// use msgraph_typed_auth::{AzureDeveloperCliCredential, TokenCredential, TokenRequest};
///
/// # async fn demo() -> Result<(), msgraph_typed_auth::AuthError> {
/// let credential = AzureDeveloperCliCredential::new()?;
/// let token = credential
///     .get_token(&TokenRequest::new(["https://graph.microsoft.com/.default"]))
///     .await?;
/// # let _ = token; Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct AzureDeveloperCliCredential {
    cli: DeveloperCli,
}

impl AzureDeveloperCliCredential {
    /// `azd` from `PATH`, its current tenant.
    ///
    /// # Errors
    /// Never with the defaults; see [`AzureDeveloperCliCredential::with_options`].
    pub fn new() -> Result<Self, AuthError> {
        Self::with_options(DeveloperCliOptions::default())
    }

    /// With explicit options.
    ///
    /// # Errors
    /// [`AuthError::Configuration`] for a tenant that is not a tenant id or domain.
    pub fn with_options(options: DeveloperCliOptions) -> Result<Self, AuthError> {
        Ok(Self {
            cli: DeveloperCli::new(Tool::AzureDeveloperCli, options)?,
        })
    }
}

#[async_trait]
impl TokenCredential for AzureDeveloperCliCredential {
    async fn get_token(&self, request: &TokenRequest) -> Result<AccessToken, AuthError> {
        self.cli.get_token(request).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_never_pass_through_a_shell_and_reject_injection() {
        assert_eq!(
            Tool::AzureCli.args(
                "https://graph.microsoft.com/.default",
                "https://graph.microsoft.com",
                Some("t.example")
            ),
            [
                "account",
                "get-access-token",
                "--output",
                "json",
                "--resource",
                "https://graph.microsoft.com",
                "--tenant",
                "t.example"
            ]
            .map(OsString::from)
        );
        assert_eq!(
            Tool::AzureDeveloperCli.args("https://graph.microsoft.com/.default", "r", None),
            [
                "auth",
                "token",
                "--output",
                "json",
                "--scope",
                "https://graph.microsoft.com/.default"
            ]
            .map(OsString::from)
        );
        for bad in [
            "https://x; rm -rf /",
            "--subscription",
            "a b",
            "x`id`",
            "$(id)",
            "a\"b",
        ] {
            assert!(validate_scope(Tool::AzureCli, bad).is_err(), "{bad}");
        }
        for bad in ["t; id", "--tenant", "a/b", "", "t\n"] {
            assert!(validate_tenant(Tool::AzureCli, bad).is_err(), "{bad}");
        }
        assert!(validate_tenant(Tool::AzureCli, "72f988bf-86f1-41af-91ab-2d7cd011db47").is_ok());
    }

    #[test]
    fn answers_of_each_tool_and_version() {
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let az = br#"{"accessToken":"t","expiresOn":"2023-11-15 00:00:00.000000","expires_on":1700003600,"subscription":"s","tenant":"t","tokenType":"Bearer"}"#;
        assert_eq!(
            parse_answer(Tool::AzureCli, az, now).unwrap().expires_on(),
            now + Duration::from_secs(3600)
        );
        let az_string = br#"{"accessToken":"t","expires_on":"1700003600"}"#;
        assert_eq!(
            parse_answer(Tool::AzureCli, az_string, now)
                .unwrap()
                .expires_on(),
            now + Duration::from_secs(3600)
        );
        // Before az 2.54: local time only. Tomorrow in any zone is after `now`.
        let old = br#"{"accessToken":"t","expiresOn":"2023-11-16 00:00:00.000000"}"#;
        let expires = parse_answer(Tool::AzureCli, old, now).unwrap().expires_on();
        let day = Duration::from_secs(86_400);
        assert!(expires > now && expires < now + 2 * day, "{expires:?}");
        let azd = br#"{"token":"t","expiresOn":"2023-11-14T23:13:20Z"}"#;
        assert_eq!(
            parse_answer(Tool::AzureDeveloperCli, azd, now)
                .unwrap()
                .expires_on(),
            now + Duration::from_secs(3600)
        );
        for bad in [
            &b"not json"[..],
            br#"{"accessToken":""}"#,
            br#"{"accessToken":"t"}"#,
            br#"{"accessToken":"t","expiresOn":"soon"}"#,
            br#"{"accessToken":"t","expires_on":1}"#,
        ] {
            let error = parse_answer(Tool::AzureCli, bad, now).unwrap_err();
            assert!(matches!(error, AuthError::DeveloperTool { .. }), "{error}");
        }
        // The error never quotes the output (it may hold a token).
        let shown = parse_answer(Tool::AzureCli, br#"{"accessToken":"eyJsecret"}"#, now)
            .unwrap_err()
            .to_string();
        assert!(!shown.contains("eyJsecret"), "{shown}");
    }

    #[test]
    fn quotes_drop_anything_like_a_token() {
        let said = quote(b"ERROR: bad token eyJ0eXAiOiJKV1QiLCJhbGciOi.x.y here");
        assert_eq!(said, "ERROR: bad token [redacted] here");
        assert_eq!(quote(b""), "(nothing on stderr)");
        assert!(quote(&[b'a'; 5000]).len() < 700);
    }
}
