//! Per-request overhead: sequential `GET /users/{id}` with a warm token and an open
//! connection, ours against plain reqwest, in this process (the requests are too short for a
//! process each). `graph-bench gets [N]` runs this step alone against nginx, for profiles;
//! `GETS_ONLY=ours` (or `raw`, `raw-untimed`: a baseline client without timeouts) runs one
//! side only.

use std::time::{Duration, Instant};

use msgraph_typed::GraphClient;
use serde::de::DeserializeOwned;

use crate::common::{BoxError, Identity, RawUser, sdk_client, start_emulator};
use crate::nginx;

/// The two sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Getter {
    Ours,
    Raw,
}

impl Getter {
    pub fn name(self) -> &'static str {
        match self {
            Getter::Ours => "ours: `users().by_id(id).get().send()`",
            Getter::Raw => {
                "baseline: reqwest (the SDK's timeouts) + serde_json into the 14-property struct"
            }
        }
    }
}

/// `ids.len()` sequential GETs of one user each; the elapsed time.
pub async fn sequential(
    getter: Getter,
    client: &GraphClient,
    http: &reqwest::Client,
    graph_url: &str,
    token: &str,
    ids: &[String],
) -> Result<Duration, BoxError> {
    let started = Instant::now();
    for id in ids {
        match getter {
            Getter::Ours => {
                let user = client.users().by_id(id.as_str()).get().send().await?;
                std::hint::black_box(user);
            }
            Getter::Raw => {
                let user: RawUser = raw_get(http, graph_url, token, id).await?;
                std::hint::black_box(user);
            }
        }
    }
    Ok(started.elapsed())
}

/// The baseline's client: configured as a production client is (and as the SDK's transport
/// is): a timeout for the whole request and one to connect. Each timed request arms a timer,
/// so leaving them out would measure a client nobody should deploy.
pub fn baseline_http() -> Result<reqwest::Client, BoxError> {
    Ok(reqwest::Client::builder()
        .timeout(msgraph_typed::DEFAULT_REQUEST_TIMEOUT)
        .connect_timeout(msgraph_typed::DEFAULT_CONNECT_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()?)
}

async fn raw_get<T: DeserializeOwned>(
    http: &reqwest::Client,
    graph_url: &str,
    token: &str,
    id: &str,
) -> Result<T, BoxError> {
    let body = http
        .get(format!("{graph_url}/users/{id}"))
        .bearer_auth(token)
        .send()
        .await?
        .error_for_status()?
        .bytes()
        .await?;
    Ok(serde_json::from_slice(&body)?)
}

/// Both sides warmed (token cached, connection open), then `rounds` alternating rounds; the
/// durations per side.
pub async fn compare(
    identity: &Identity,
    graph_url: &str,
    token: &str,
    ids: &[String],
    rounds: usize,
) -> Result<[(Getter, Vec<Duration>); 2], BoxError> {
    let client = sdk_client(identity, graph_url)?;
    let http = baseline_http()?;
    let warm = &ids[..ids.len().min(50)];
    sequential(Getter::Ours, &client, &http, graph_url, token, warm).await?;
    sequential(Getter::Raw, &client, &http, graph_url, token, warm).await?;
    let mut ours = Vec::new();
    let mut raw = Vec::new();
    for round in 0..rounds {
        let sides = if round % 2 == 0 {
            [Getter::Ours, Getter::Raw]
        } else {
            [Getter::Raw, Getter::Ours]
        };
        for side in sides {
            let d = sequential(side, &client, &http, graph_url, token, ids).await?;
            match side {
                Getter::Ours => ours.push(d),
                Getter::Raw => raw.push(d),
            }
        }
    }
    Ok([(Getter::Ours, ours), (Getter::Raw, raw)])
}

/// `graph-bench gets [N]`: N users on nginx, N sequential GETs per side and round.
pub async fn profile(n: usize, server: tokio::runtime::Handle) -> Result<(), BoxError> {
    let http = reqwest::Client::new();
    let (emulator, identity, token) = start_emulator(n, &server, &http).await?;
    let users = nginx::capture_users(
        &http,
        &format!("{}/users?$top=999", emulator.graph_url()),
        &token,
    )
    .await?;
    let root = std::env::temp_dir().join("graph-bench-gets");
    let site = nginx::write_site(&root, "gets", &users, 999, n)?;
    let _nginx = nginx::start(&root, &[&site])?;
    let graph_url = site.graph_url();
    let client = sdk_client(&identity, &graph_url)?;
    let ids = &site.single_ids;
    let timed = baseline_http()?;
    sequential(Getter::Ours, &client, &http, &graph_url, &token, &ids[..1]).await?;
    let only = std::env::var("GETS_ONLY").ok();
    for round in 0..2 {
        let sides = [
            ("ours", Getter::Ours, &http),
            ("raw", Getter::Raw, &timed),
            ("raw-untimed", Getter::Raw, &http),
        ];
        for (name, getter, http) in sides {
            if only.as_deref().is_some_and(|o| o != name) {
                continue;
            }
            let elapsed = sequential(getter, &client, http, &graph_url, &token, ids).await?;
            println!(
                "round {round} {name:>5}: {:7.1} us per request",
                elapsed.as_secs_f64() * 1e6 / ids.len() as f64
            );
        }
    }
    emulator.shutdown().await;
    Ok(())
}
