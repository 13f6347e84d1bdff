//! What every scenario shares: the baseline's user struct, SDK and raw clients for a server,
//! timing helpers.

use std::sync::Arc;
use std::time::{Duration, Instant};

use msgraph_typed::GraphClient;
use msgraph_typed::auth::{
    ClientAuthentication, ClientSecretCredential, Cloud, CredentialOptions, MemoryTokenCache,
};
use msgraph_typed_emulator::seeded;
use serde::Deserialize;

/// Errors of the benchmark driver (never a library).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The scope the emulator issues Graph tokens for.
pub const GRAPH_SCOPE: &str = "https://graph.microsoft.com/.default";

/// The baseline's user: exactly the properties the server sends for a user without `$select`
/// (Graph's default set), as a hand-written application would declare them.
#[allow(dead_code)] // Read only by the deserialiser: that is the work measured.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawUser {
    pub id: Option<String>,
    pub display_name: Option<String>,
    pub user_principal_name: Option<String>,
    pub given_name: Option<String>,
    pub surname: Option<String>,
    pub mail: Option<String>,
    pub mail_nickname: Option<String>,
    pub account_enabled: Option<bool>,
    pub department: Option<String>,
    pub job_title: Option<String>,
    pub business_phones: Option<Vec<String>>,
    pub mobile_phone: Option<String>,
    pub office_location: Option<String>,
    pub preferred_language: Option<String>,
}

/// One page of a collection, as the baseline reads it.
#[derive(Debug, Deserialize)]
pub struct RawPage<T> {
    pub value: Vec<T>,
    #[serde(rename = "@odata.nextLink")]
    pub next_link: Option<String>,
}

/// Only the next link of a page (the rest is skipped by the parser): the "fetch only" loop.
#[derive(Debug, Deserialize)]
pub struct LinkOnly {
    #[serde(rename = "@odata.nextLink")]
    pub next_link: Option<String>,
}

/// Where the identity side of the emulator is, for SDK clients in this or a child process.
#[derive(Debug, Clone)]
pub struct Identity {
    /// The emulator's authority host, e.g. `http://127.0.0.1:PORT/`.
    pub authority: String,
    /// The emulator's origin, e.g. `http://127.0.0.1:PORT` (its Graph host).
    pub origin: String,
    /// The seeded tenant.
    pub tenant: String,
}

/// An SDK client as an application builds it: client credentials with an in-memory token
/// cache, against `graph_url` (the emulator's or the static server's `/v1.0`).
pub fn sdk_client(identity: &Identity, graph_url: &str) -> Result<GraphClient, BoxError> {
    sdk_client_with(identity, graph_url, None)
}

/// As [`sdk_client`], over a caller-supplied reqwest client (token and Graph traffic).
pub fn sdk_client_over(
    identity: &Identity,
    graph_url: &str,
    http: reqwest::Client,
) -> Result<GraphClient, BoxError> {
    sdk_client_with(identity, graph_url, Some(http))
}

fn sdk_client_with(
    identity: &Identity,
    graph_url: &str,
    http: Option<reqwest::Client>,
) -> Result<GraphClient, BoxError> {
    let cloud = Cloud::custom(&identity.authority, &identity.origin)?;
    let mut options = CredentialOptions::default()
        .with_cloud(cloud)
        .with_cache(Arc::new(MemoryTokenCache::new()));
    if let Some(http) = &http {
        options = options.with_http_client(http.clone());
    }
    let credential = ClientSecretCredential::with_options(
        &identity.tenant,
        seeded::DAEMON_CLIENT_ID,
        ClientAuthentication::secret(seeded::DAEMON_CLIENT_SECRET),
        options,
    )?;
    let mut builder = msgraph_typed::Client::builder()
        .credential(credential)
        .base_url(graph_url)
        .scopes([GRAPH_SCOPE]);
    if let Some(http) = http {
        builder = builder.http_client(http);
    }
    Ok(GraphClient::new(builder.build()?))
}

/// A client-credentials token for the baseline, fetched once with plain reqwest.
pub async fn raw_token(http: &reqwest::Client, token_endpoint: &str) -> Result<String, BoxError> {
    let body: serde_json::Value = http
        .post(token_endpoint)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", seeded::DAEMON_CLIENT_ID),
            ("client_secret", seeded::DAEMON_CLIENT_SECRET),
            ("scope", GRAPH_SCOPE),
        ])
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    body["access_token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("no access_token in {body}").into())
}

/// Runs `f` and returns its result with the elapsed wall time.
pub async fn timed<T, F: std::future::Future<Output = T>>(f: F) -> (T, Duration) {
    let started = Instant::now();
    let out = f.await;
    (out, started.elapsed())
}

/// Best (smallest) and median of a set of durations, in seconds.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Timing {
    pub best: f64,
    pub median: f64,
    pub runs: usize,
}

impl Timing {
    pub fn of(samples: &[Duration]) -> Timing {
        let mut s: Vec<f64> = samples.iter().map(Duration::as_secs_f64).collect();
        s.sort_by(f64::total_cmp);
        let median = if s.is_empty() {
            f64::NAN
        } else {
            s[s.len() / 2]
        };
        Timing {
            best: s.first().copied().unwrap_or(f64::NAN),
            median,
            runs: s.len(),
        }
    }

    pub fn from_secs(samples: &[f64]) -> Timing {
        let d: Vec<Duration> = samples
            .iter()
            .map(|s| Duration::from_secs_f64(*s))
            .collect();
        Timing::of(&d)
    }
}

/// One-minute load average of the machine, from /proc/loadavg.
pub fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}
