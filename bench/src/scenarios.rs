//! The measured loops: ours against the plain reqwest + serde_json baseline.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::TryStreamExt as _;
use msgraph_typed::GraphClient;
use serde::de::DeserializeOwned;

use crate::common::{BoxError, LinkOnly, RawPage, RawUser, timed};

/// Ours: `users().list().top(999).stream()`, counting the users.
pub async fn ours_paging(client: &GraphClient) -> Result<usize, BoxError> {
    let stream = client.users().list().top(999).stream();
    let count = stream
        .try_fold(0usize, |n, _user| async move { Ok(n + 1) })
        .await?;
    Ok(count)
}

/// The baseline: GET, read the body, `serde_json::from_slice` into a page of `T`, follow
/// `@odata.nextLink`.
pub async fn raw_paging<T: DeserializeOwned>(
    http: &reqwest::Client,
    graph_url: &str,
    token: &str,
) -> Result<usize, BoxError> {
    let mut next = Some(format!("{graph_url}/users?$top=999"));
    let mut count = 0;
    while let Some(url) = next.take() {
        let body = http
            .get(&url)
            .bearer_auth(token)
            .send()
            .await?
            .error_for_status()?
            .bytes()
            .await?;
        let page: RawPage<T> = serde_json::from_slice(&body)?;
        count += page.value.len();
        next = page.next_link;
    }
    Ok(count)
}

/// The ceiling of the transport and server: the same loop reading only the next link.
pub async fn fetch_only(
    http: &reqwest::Client,
    graph_url: &str,
    token: &str,
) -> Result<usize, BoxError> {
    let mut next = Some(format!("{graph_url}/users?$top=999"));
    let mut bytes = 0;
    while let Some(url) = next.take() {
        let body = http
            .get(&url)
            .bearer_auth(token)
            .send()
            .await?
            .error_for_status()?
            .bytes()
            .await?;
        bytes += body.len();
        next = serde_json::from_slice::<LinkOnly>(&body)?.next_link;
    }
    Ok(bytes)
}

/// The kinds of paging loop measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pager {
    Ours,
    Raw,
    /// The baseline loop into a plain struct with every property of `User`.
    RawFull,
    RawIntoSdkModel,
    FetchOnly,
}

/// Runs the pagers interleaved `reps` times each against `graph_url`; returns per pager the
/// items seen and the durations.
pub async fn paging_round(
    pagers: &[Pager],
    reps: usize,
    client_for: &(dyn Fn() -> Result<GraphClient, BoxError> + Sync),
    graph_url: &str,
    token: &str,
) -> Result<Vec<(Pager, usize, Vec<Duration>)>, BoxError> {
    let mut out: Vec<(Pager, usize, Vec<Duration>)> =
        pagers.iter().map(|p| (*p, 0, Vec::new())).collect();
    for _ in 0..reps {
        for entry in &mut out {
            // A fresh client per run (cold connection pool), ours with its token already cached
            // by one small request first, so the loop measures paging, not the token endpoint.
            let http = reqwest::Client::new();
            let (items, elapsed) = match entry.0 {
                Pager::Ours => {
                    let client = client_for()?;
                    client.users().list().top(1).send().await?;
                    let (n, d) = timed(ours_paging(&client)).await;
                    (n?, d)
                }
                Pager::Raw => {
                    let (n, d) = timed(raw_paging::<RawUser>(&http, graph_url, token)).await;
                    (n?, d)
                }
                Pager::RawFull => {
                    let (n, d) = timed(raw_paging::<crate::full_user::FullUser>(
                        &http, graph_url, token,
                    ))
                    .await;
                    (n?, d)
                }
                Pager::RawIntoSdkModel => {
                    let (n, d) = timed(raw_paging::<msgraph_typed::models::AnyUser>(
                        &http, graph_url, token,
                    ))
                    .await;
                    (n?, d)
                }
                Pager::FetchOnly => {
                    let (n, d) = timed(fetch_only(&http, graph_url, token)).await;
                    (n?, d)
                }
            };
            entry.1 = items;
            entry.2.push(elapsed);
        }
    }
    Ok(out)
}

/// Per-request overhead: `ids.len()` sequential GETs of one user each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Getter {
    Ours,
    Raw,
    RawIntoSdkModel,
}

pub async fn sequential_gets(
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
            Getter::RawIntoSdkModel => {
                let user: msgraph_typed::models::AnyUser = raw_get(http, graph_url, token, id).await?;
                std::hint::black_box(user);
            }
        }
    }
    Ok(started.elapsed())
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

/// What 1,000 concurrent requests on a cold token cache did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ColdBurst {
    pub requests: usize,
    pub failures: usize,
    pub token_requests: u64,
    pub seconds_to_last: f64,
}

/// `n` concurrent `users().by_id(id).get()` on a brand-new client (empty token cache);
/// `token_requests` reads the emulator's client-credentials counter.
pub async fn cold_burst(
    client: GraphClient,
    ids: &[String],
    n: usize,
    token_requests: &dyn Fn() -> u64,
) -> Result<ColdBurst, BoxError> {
    let before = token_requests();
    let client = Arc::new(client);
    let started = Instant::now();
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let client = client.clone();
            let id = ids[i % ids.len()].clone();
            tokio::spawn(async move {
                client
                    .users()
                    .by_id(id.as_str())
                    .get()
                    .send()
                    .await
                    .map(|_| ())
            })
        })
        .collect();
    let mut failures = 0;
    let mut first_error = None;
    for task in tasks {
        match task.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                failures += 1;
                first_error.get_or_insert_with(|| e.to_string());
            }
            Err(e) => {
                failures += 1;
                first_error.get_or_insert_with(|| e.to_string());
            }
        }
    }
    let seconds_to_last = started.elapsed().as_secs_f64();
    if let Some(e) = first_error {
        eprintln!("cold burst: {failures} failures, first: {e}");
    }
    Ok(ColdBurst {
        requests: n,
        failures,
        token_requests: token_requests() - before,
        seconds_to_last,
    })
}

/// Peak RSS of a child process under `/usr/bin/time -v`, with its stdout.
pub async fn peak_rss(
    program: &Path,
    args: &[String],
    envs: &[(&str, &str)],
) -> Result<(u64, String), BoxError> {
    let mut command = tokio::process::Command::new("/usr/bin/time");
    command.arg("-v").arg(program).args(args);
    for (k, v) in envs {
        command.env(k, v);
    }
    let output = command.output().await?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        return Err(format!("{} {args:?} failed: {stderr}", program.display()).into());
    }
    let kb = stderr
        .lines()
        .find_map(|l| l.trim().strip_prefix("Maximum resident set size (kbytes):"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or("no 'Maximum resident set size' in /usr/bin/time output")?;
    Ok((kb, stdout))
}
