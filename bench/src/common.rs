//! What every scenario shares: the baseline's user struct, SDK and raw clients for a server,
//! timing helpers.

use std::time::Duration;

use msgraph_typed::auth::ClientSecretCredential;
use msgraph_typed::{Cloud, GraphClient};
use msgraph_typed_emulator::{Emulator, seeded};
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

/// Only the next link of a page and how many items it holds (the items themselves are skipped
/// by the parser): the "fetch only" loop.
#[derive(Debug, Deserialize)]
pub struct LinkOnly {
    #[serde(rename = "@odata.nextLink")]
    pub next_link: Option<String>,
    #[serde(default)]
    pub value: Vec<serde::de::IgnoredAny>,
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

/// An SDK client as an application builds it: client credentials (the SDK's default in-memory
/// token cache) with the emulator as the cloud, against `graph_url` (the emulator's or a static
/// site's `/v1.0`).
pub fn sdk_client(identity: &Identity, graph_url: &str) -> Result<GraphClient, BoxError> {
    let cloud = Cloud::custom(&identity.authority, &identity.origin)?;
    let credential = ClientSecretCredential::new(
        &identity.tenant,
        seeded::DAEMON_CLIENT_ID,
        seeded::DAEMON_CLIENT_SECRET,
    )?;
    Ok(GraphClient::builder()
        .credential(credential)
        .cloud(cloud)
        .base_url(graph_url)
        .build()?)
}

impl Identity {
    /// The identity as environment variables for a child process.
    pub fn to_env(&self) -> Vec<(String, String)> {
        vec![
            ("BENCH_AUTHORITY".into(), self.authority.clone()),
            ("BENCH_ORIGIN".into(), self.origin.clone()),
            ("BENCH_TENANT".into(), self.tenant.clone()),
        ]
    }

    /// The identity a parent passed with [`Identity::to_env`].
    pub fn from_env() -> Result<Identity, BoxError> {
        let var = |name: &str| std::env::var(name).map_err(|_| format!("{name} is not set"));
        Ok(Identity {
            authority: var("BENCH_AUTHORITY")?,
            origin: var("BENCH_ORIGIN")?,
            tenant: var("BENCH_TENANT")?,
        })
    }

    /// The token endpoint of the seeded tenant.
    pub fn token_endpoint(&self) -> String {
        format!(
            "{}/{}/oauth2/v2.0/token",
            self.authority.trim_end_matches('/'),
            self.tenant
        )
    }
}

/// A client-credentials token for the baseline, fetched once with plain reqwest.
/// An emulator with `users` generated users, started on the server runtime (so it does not
/// share the client's threads), with its identity and a token for the raw clients.
pub async fn start_emulator(
    users: usize,
    server: &tokio::runtime::Handle,
    http: &reqwest::Client,
) -> Result<(Emulator, Identity, String), BoxError> {
    let emulator = server
        .spawn(async move { Emulator::builder().users(users).start().await })
        .await??;
    let identity = Identity {
        authority: emulator.authority_url(),
        origin: emulator.url().to_owned(),
        tenant: emulator.tenant_id().to_owned(),
    };
    let token = raw_token(http, &emulator.token_endpoint()).await?;
    Ok((emulator, identity, token))
}

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

/// Best (smallest) and median of a set of durations, in seconds.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Timing {
    pub best: f64,
    pub median: f64,
    pub runs: usize,
}

impl Timing {
    pub fn of(samples: &[Duration]) -> Timing {
        let s: Vec<f64> = samples.iter().map(Duration::as_secs_f64).collect();
        Timing {
            best: s.iter().copied().fold(f64::NAN, f64::min),
            median: crate::process::median(&s),
            runs: s.len(),
        }
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
