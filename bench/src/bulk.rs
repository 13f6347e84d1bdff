//! Bulk work under Graph's throttling model: the emulator with its throttling model on (one
//! quota for the whole run, fresh buckets before every row), `--users` generated users each a
//! member of three teams nested in one or two divisions (`EmulatorBuilder::generated_groups`).
//! Two jobs, every row a child process (`graph-bench child throttled-JOB-CLIENT URL`) timed
//! whole by this process:
//!
//! - read: the transitive groups of every user, `GET users/{id}/transitiveMemberOf`
//!   (2 resource units, one page: about seven groups);
//! - write: `PATCH users/{id}` with `{"jobTitle": ...}` for every user (1 unit and 1 write).
//!
//! Clients: one request at a time; `buffer_unordered(n)` over the SDK's ordinary requests
//! (what an application writes today); the bulk API (`Client::bulk`, default settings).
//!
//! The quota is scaled to the sizes so that the theoretical minimum of the read job is
//! `--target-secs` (default 15 s) with Graph's 10-second window; the write quota likewise for
//! the write job (same window, instead of Graph's 150 s, so the sustained rate rather than the
//! first window's allowance decides). The minimum of a row is what the buckets allow at best:
//! each starts full (one window's worth), then refills at quota / window, so
//! `minimum = max over buckets of (units needed - capacity) / rate`.
//!
//! Counts come from both sides: the emulator counts every Graph request it serves (a `$batch`
//! envelope once and each of its items once more) and every 429 its throttling model answers
//! (HTTP answers and batch items); the child's transport counts the HTTP requests it sent and
//! the HTTP 429s it received. Items in batches = served - HTTP requests; item 429s = model
//! 429s - HTTP 429s.
//!
//! `graph-bench bulk [--users N] [--groups N] [--target-secs S] [--window-secs S] [--out FILE]`
//! runs this benchmark alone (`--users 1000 --target-secs 4` for a smoke run).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use futures::{StreamExt as _, TryStreamExt as _};
use msgraph_typed::Cloud;
use msgraph_typed::auth::ClientSecretCredential;
use msgraph_typed::models::User;
use msgraph_typed::{GraphClient, RedisThrottle};
use msgraph_typed_core::{BulkRun, HttpRequest, HttpResponse, ReqwestTransport, Transport};
use msgraph_typed_emulator::{Control, Emulator, ThrottlingConfig, seeded};
use serde_json::{Value, json};

use crate::common::{BoxError, Identity, load_average};
use crate::process::measure;
use crate::report::{Report, Row, at_most, table};

/// Resource units of `GET users/{id}/transitiveMemberOf` (graph-emulator/src/throttle/cost.rs,
/// after Graph's table); checked against `x-ms-resource-unit` before the rows run.
const READ_UNITS: u64 = 2;
/// Resource units of `PATCH users/{id}` (any unlisted request); it also costs 1 write.
const WRITE_UNITS: u64 = 1;
/// Concurrencies of the `buffer_unordered` rows.
const READ_FIXED: &[usize] = &[4, 16, 64];
const WRITE_FIXED: &[usize] = &[16, 64];

// ---- The bulk-API rows: the one place to add one (every job gets every variant). ----------

/// The bulk-API variants: client name (the child mode's suffix) and what it measures.
const BULK_VARIANTS: &[(&str, &str)] = &[
    (
        "bulk",
        "bulk API: `client.bulk(requests)`, default settings",
    ),
    (
        "bulk-one-by-one",
        "bulk API with `.one_by_one()`: every request on its own",
    ),
];

/// Applies a bulk variant's settings to a run before it is polled.
fn configure<K: Send + 'static, O: Send + 'static>(
    run: BulkRun<K, O>,
    variant: &str,
) -> BulkRun<K, O> {
    match variant {
        "bulk-one-by-one" => run.one_by_one(),
        _ => run,
    }
}

// ---------------------------------------------------------------------------------------------

/// Sizes and quota scaling (`--bulk-*` options of `graph-bench run`, or `graph-bench bulk`).
#[derive(Debug, Clone)]
pub struct Options {
    /// Generated users; each job touches every one (0 skips the benchmark in `run`).
    pub users: usize,
    /// Generated groups (a quarter divisions, the rest teams).
    pub groups: usize,
    /// The theoretical minimum of each job the quota is scaled to, in seconds.
    pub target_secs: f64,
    /// The buckets' window in seconds (Graph's resource-unit window is 10 s).
    pub window_secs: f64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            users: 10_000,
            groups: 200,
            target_secs: 15.0,
            window_secs: 10.0,
        }
    }
}

impl Options {
    /// Takes `flag` (without its prefix, e.g. `users`) if it is one of these options.
    pub fn take(&mut self, flag: &str, value: &str) -> Result<bool, BoxError> {
        match flag {
            "users" => self.users = value.parse()?,
            "groups" => self.groups = value.parse()?,
            "target-secs" => self.target_secs = value.parse()?,
            "window-secs" => self.window_secs = value.parse()?,
            _ => return Ok(false),
        }
        if !(self.target_secs > 0.0 && self.window_secs > 0.0) {
            return Err("--target-secs and --window-secs must be positive".into());
        }
        Ok(true)
    }
}

/// The quota of a run, for both jobs: per app+tenant and per tenant (one app, so the same).
#[derive(Debug, Clone, Copy)]
struct Quota {
    units: u64,
    writes: u64,
    window: f64,
}

impl Quota {
    /// Scaled so that each job's minimum is `target_secs`: a bucket of `c` per window `w`
    /// starts full, so `n` units take `(n - c) / (c / w)`; `c = n w / (target + w)`.
    fn for_sizes(o: &Options) -> Quota {
        let share = o.window_secs / (o.target_secs + o.window_secs);
        let scaled = |n: u64| ((n as f64 * share).round() as u64).max(1);
        Quota {
            units: scaled(o.users as u64 * READ_UNITS),
            writes: scaled(o.users as u64),
            window: o.window_secs,
        }
    }

    fn config(&self) -> ThrottlingConfig {
        let window = Duration::from_secs_f64(self.window);
        ThrottlingConfig::graph_defaults()
            .resource_units(self.units, window)
            .app_writes(self.writes, window)
            .tenant_writes(self.writes, window)
    }

    /// The least time `units` resource units and `writes` writes can pass the buckets.
    fn minimum(&self, units: u64, writes: u64) -> f64 {
        let after_first = |need: u64, capacity: u64| {
            need.saturating_sub(capacity) as f64 / (capacity as f64 / self.window)
        };
        after_first(units, self.units).max(if writes > 0 {
            after_first(writes, self.writes)
        } else {
            0.0
        })
    }

    fn describe(&self) -> String {
        format!(
            "{} resource units per {} s ({:.0} RU/s) and {} writes per {} s ({:.0}/s), per app+tenant and per tenant",
            thousands(self.units),
            self.window,
            self.units as f64 / self.window,
            thousands(self.writes),
            self.window,
            self.writes as f64 / self.window
        )
    }
}

/// The two jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Job {
    Read,
    Write,
}

impl Job {
    fn name(self) -> &'static str {
        match self {
            Job::Read => "read",
            Job::Write => "write",
        }
    }

    /// Resource units and writes of the whole job.
    fn cost(self, users: usize) -> (u64, u64) {
        let n = users as u64;
        match self {
            Job::Read => (n * READ_UNITS, 0),
            Job::Write => (n * WRITE_UNITS, n),
        }
    }
}

/// How a child sends the job.
#[derive(Debug, Clone, PartialEq, Eq)]
enum How {
    Sequential,
    Fixed(usize),
    /// A bulk-API variant (a name of [`BULK_VARIANTS`]).
    Bulk(String),
}

impl How {
    fn name(&self) -> String {
        match self {
            How::Sequential => "sequential".into(),
            How::Fixed(n) => format!("fixed-{n}"),
            How::Bulk(v) => v.clone(),
        }
    }

    fn describe(&self, job: Job) -> String {
        let one = match job {
            Job::Read => "`users().by_id(id).transitive_member_of().list().stream().try_collect()`",
            Job::Write => "`users().by_id(id).update(&patch).send()`",
        };
        match self {
            How::Sequential => format!("one at a time: {one}"),
            How::Fixed(n) => format!("`buffer_unordered({n})` over {one}"),
            How::Bulk(v) => BULK_VARIANTS
                .iter()
                .find(|(name, _)| *name == v.as_str())
                .map_or_else(|| v.clone(), |(_, d)| (*d).to_owned()),
        }
    }
}

/// Every row of a run, in order.
fn rows() -> Vec<(Job, How)> {
    let mut rows = Vec::new();
    for (job, fixed) in [(Job::Read, READ_FIXED), (Job::Write, WRITE_FIXED)] {
        rows.push((job, How::Sequential));
        rows.extend(fixed.iter().map(|&n| (job, How::Fixed(n))));
        rows.extend(
            BULK_VARIANTS
                .iter()
                .map(|(v, _)| (job, How::Bulk((*v).to_owned()))),
        );
    }
    rows
}

fn child_mode(job: Job, how: &How) -> String {
    format!("throttled-{}-{}", job.name(), how.name())
}

fn parse_mode(mode: &str) -> Result<(Job, How), BoxError> {
    let (job, how) = if let Some(rest) = mode.strip_prefix("throttled-read-") {
        (Job::Read, rest)
    } else if let Some(rest) = mode.strip_prefix("throttled-write-") {
        (Job::Write, rest)
    } else {
        return Err(format!("unknown mode {mode:?}").into());
    };
    let how = if how == "sequential" {
        How::Sequential
    } else if let Some(n) = how.strip_prefix("fixed-") {
        How::Fixed(n.parse::<usize>()?.max(1))
    } else if BULK_VARIANTS.iter().any(|(v, _)| *v == how) {
        How::Bulk(how.to_owned())
    } else {
        return Err(format!("unknown client {how:?} in mode {mode:?}").into());
    };
    Ok((job, how))
}

// ---- The child ------------------------------------------------------------------------------

/// Graph HTTP requests a child sent, as its transport saw them.
#[derive(Debug, Default)]
struct HttpCounts {
    requests: AtomicU64,
    batches: AtomicU64,
    throttled: AtomicU64,
}

/// The SDK's default transport, counting what goes through it.
#[derive(Debug)]
struct Counting {
    inner: ReqwestTransport,
    counts: Arc<HttpCounts>,
}

#[async_trait::async_trait]
impl Transport for Counting {
    async fn send(&self, request: HttpRequest) -> msgraph_typed_core::Result<HttpResponse> {
        let path = request.url.path();
        let graph = path.starts_with("/v1.0/");
        let batch = path.ends_with("/$batch");
        let response = self.inner.send(request).await;
        if graph {
            self.counts.requests.fetch_add(1, Ordering::Relaxed);
            if batch {
                self.counts.batches.fetch_add(1, Ordering::Relaxed);
            }
            if let Ok(r) = &response
                && r.status.as_u16() == 429
            {
                self.counts.throttled.fetch_add(1, Ordering::Relaxed);
            }
        }
        response
    }
}

/// An SDK client as `common::sdk_client` builds it, on the counting transport.
fn counted_client(
    identity: &Identity,
    graph_url: &str,
    counts: Arc<HttpCounts>,
) -> Result<GraphClient, BoxError> {
    let cloud = Cloud::custom(&identity.authority, &identity.origin)?;
    let credential = ClientSecretCredential::new(
        &identity.tenant,
        seeded::DAEMON_CLIENT_ID,
        seeded::DAEMON_CLIENT_SECRET,
    )?;
    let builder = GraphClient::builder()
        .credential(credential)
        .cloud(cloud)
        .base_url(graph_url)
        .transport(Counting {
            inner: ReqwestTransport::new()?,
            counts,
        });
    // The fleet rows: instances sharing one throttle gate through Redis.
    let builder = match std::env::var(SHARED_THROTTLE_ENV) {
        Ok(url) => builder.shared_throttle(RedisThrottle::new(&url)?.namespace("graph-bench")),
        Err(_) => builder,
    };
    Ok(builder.build()?)
}

/// The Redis URL a child shares its throttle gate through (the fleet rows).
const SHARED_THROTTLE_ENV: &str = "BENCH_SHARED_THROTTLE";

/// What a child's items came to.
#[derive(Debug, Default)]
struct Tally {
    ok: u64,
    failed: u64,
    /// Groups read (read job).
    values: u64,
    largest: u64,
    first_error: Option<String>,
}

impl Tally {
    fn add(&mut self, answer: msgraph_typed_core::Result<usize>) {
        match answer {
            Ok(n) => {
                self.ok += 1;
                self.values += n as u64;
                self.largest = self.largest.max(n as u64);
            }
            Err(e) => {
                self.failed += 1;
                self.first_error.get_or_insert_with(|| e.to_string());
            }
        }
    }
}

async fn read_one(graph: &GraphClient, id: &str) -> msgraph_typed_core::Result<usize> {
    let groups: Vec<_> = graph
        .users()
        .by_id(id)
        .transitive_member_of()
        .list()
        .stream()
        .try_collect()
        .await?;
    Ok(groups.len())
}

async fn write_one(
    graph: &GraphClient,
    id: &str,
    patch: &User,
) -> msgraph_typed_core::Result<usize> {
    graph.users().by_id(id).update(patch).send().await?;
    Ok(0)
}

/// `graph-bench child throttled-JOB-CLIENT GRAPH_URL`: the job over the ids of
/// `BENCH_IDS_FILE`; prints a JSON summary.
pub async fn child(mode: &str, graph_url: &str, identity: &Identity) -> Result<(), BoxError> {
    let (job, how) = parse_mode(mode)?;
    let file = std::env::var("BENCH_IDS_FILE").map_err(|_| "BENCH_IDS_FILE is not set")?;
    let ids: Vec<String> = std::fs::read_to_string(&file)?
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    let counts = Arc::new(HttpCounts::default());
    let graph = counted_client(identity, graph_url, counts.clone())?;
    let mut patch = User::new();
    patch.set_job_title(format!("Bench {}", how.name()));
    let mut tally = Tally::default();
    let started = Instant::now();
    match (&how, job) {
        (How::Sequential, Job::Read) => {
            for id in &ids {
                tally.add(read_one(&graph, id).await);
            }
        }
        (How::Sequential, Job::Write) => {
            for id in &ids {
                tally.add(write_one(&graph, id, &patch).await);
            }
        }
        (How::Fixed(n), Job::Read) => {
            let mut answers = futures::stream::iter(&ids)
                .map(|id| read_one(&graph, id))
                .buffer_unordered(*n);
            while let Some(answer) = answers.next().await {
                tally.add(answer);
            }
        }
        (How::Fixed(n), Job::Write) => {
            let mut answers = futures::stream::iter(&ids)
                .map(|id| write_one(&graph, id, &patch))
                .buffer_unordered(*n);
            while let Some(answer) = answers.next().await {
                tally.add(answer);
            }
        }
        (How::Bulk(variant), Job::Read) => {
            let builder = graph.clone();
            let requests = futures::stream::iter(ids.clone()).map(move |id| {
                let groups = builder
                    .users()
                    .by_id(id.as_str())
                    .transitive_member_of()
                    .list();
                (id, groups)
            });
            let mut answers = configure(graph.client().bulk(requests), variant);
            while let Some((_, answer)) = answers.next().await {
                tally.add(answer.map(|groups| groups.len()));
            }
        }
        (How::Bulk(variant), Job::Write) => {
            let builder = graph.clone();
            let requests = futures::stream::iter(ids.clone()).map(move |id| {
                let update = builder.users().by_id(id.as_str()).update(&patch);
                (id, update)
            });
            let mut answers = configure(graph.client().bulk(requests), variant);
            while let Some((_, answer)) = answers.next().await {
                tally.add(answer.map(|_| 0));
            }
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let summary = json!({
        "items": ids.len(),
        "ok": tally.ok,
        "failed": tally.failed,
        "values": tally.values,
        "largest": tally.largest,
        "first_error": tally.first_error,
        "seconds": seconds,
        "http_requests": counts.requests.load(Ordering::Relaxed),
        "http_batches": counts.batches.load(Ordering::Relaxed),
        "http_429": counts.throttled.load(Ordering::Relaxed),
    });
    println!("{summary}");
    Ok(())
}

// ---- The parent -----------------------------------------------------------------------------

/// What the parent hands the benchmark.
pub struct Setup<'a> {
    pub exe: &'a Path,
    pub scratch: &'a Path,
    pub options: &'a Options,
    pub server: &'a tokio::runtime::Handle,
}

/// One measured row.
#[derive(Debug)]
struct Measured {
    job: Job,
    how: How,
    load: Option<f64>,
    wall: f64,
    cpu: f64,
    /// CPU seconds of this process meanwhile: the emulator's (nothing else runs here).
    server_cpu: Option<f64>,
    minimum: f64,
    /// Graph HTTP requests the child sent (a `$batch` once).
    http: u64,
    batches: u64,
    /// Items inside batches (served by the emulator beyond the HTTP requests).
    items: u64,
    http_429: u64,
    item_429: u64,
    /// Graph requests the emulator served, a batch's items each, envelopes not.
    served: u64,
    ok: u64,
    failed: u64,
    values: u64,
    largest: u64,
    first_error: Option<String>,
    /// Mismatches between the two sides' counts, if any.
    check: Option<String>,
}

impl Measured {
    fn ratio(&self) -> f64 {
        self.wall / self.minimum
    }

    fn throttled_share(&self) -> f64 {
        (self.http_429 + self.item_429) as f64 / self.served.max(1) as f64
    }
}

/// User + system CPU seconds of this process, from `/proc/self/stat` (in USER_HZ, 100 per
/// second on Linux).
fn own_cpu() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i)?.parse::<f64>().ok();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    Some((ticks(11)? + ticks(12)?) / 100.0)
}

/// One GET and one PATCH by hand, before the rows: the costs the minimum assumes, and one page.
async fn probe(emulator: &Emulator, id: &str) -> Result<(u64, u64, usize), BoxError> {
    let token = emulator
        .control()
        .issue_app_token(seeded::DAEMON_CLIENT_ID, Duration::from_secs(3600))?;
    let http = reqwest::Client::new();
    let read = http
        .get(format!(
            "{}/users/{id}/transitiveMemberOf",
            emulator.graph_url()
        ))
        .bearer_auth(&token)
        .send()
        .await?
        .error_for_status()?;
    let units = |r: &reqwest::Response| -> u64 {
        r.headers()
            .get("x-ms-resource-unit")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    let read_units = units(&read);
    let body: Value = read.json().await?;
    if body.get("@odata.nextLink").is_some() {
        return Err("transitiveMemberOf has a next page: the minimum would miss it".into());
    }
    let groups = body["value"].as_array().map_or(0, Vec::len);
    let write = http
        .patch(format!("{}/users/{id}", emulator.graph_url()))
        .bearer_auth(&token)
        .json(&json!({"jobTitle": "Bench probe"}))
        .send()
        .await?
        .error_for_status()?;
    Ok((read_units, units(&write), groups))
}

/// Runs one row in a child process on fresh buckets.
#[allow(clippy::too_many_arguments)]
fn measure_row(
    s: &Setup<'_>,
    control: &Control,
    config: &ThrottlingConfig,
    env: &[(String, String)],
    graph_url: &str,
    quota: &Quota,
    job: Job,
    how: &How,
) -> Result<Measured, BoxError> {
    control.set_throttling(Some(config.clone()));
    control.reset_counters();
    let throttled_before = control.throttled_requests();
    let load = load_average();
    let args = [
        "child".to_owned(),
        child_mode(job, how),
        graph_url.to_owned(),
    ];
    let cpu_before = own_cpu();
    let run = measure(s.exe, &args, env, &[], s.scratch)?;
    let server_cpu = own_cpu()
        .zip(cpu_before)
        .map(|(after, before)| after - before);
    let served_all = control.graph_requests();
    let envelopes = control.requests_to("/v1.0/$batch");
    let model_429 = control.throttled_requests() - throttled_before;
    let out: Value = serde_json::from_str(run.stdout.trim())
        .map_err(|e| format!("{}: {e}: {:?}", child_mode(job, how), run.stdout))?;
    let n = |k: &str| out[k].as_u64().unwrap_or(0);
    let (http, batches, http_429) = (n("http_requests"), n("http_batches"), n("http_429"));
    let items = served_all.saturating_sub(http);
    let mut check = Vec::new();
    if batches != envelopes {
        check.push(format!(
            "the child sent {batches} `$batch` calls, the emulator saw {envelopes}"
        ));
    }
    if batches == 0 && items != 0 {
        check.push(format!(
            "the emulator served {served_all} Graph requests, the child sent {http}"
        ));
    }
    if model_429 < http_429 {
        check.push(format!(
            "the child received {http_429} HTTP 429s, the model answered {model_429}"
        ));
    }
    let (units, writes) = job.cost(s.options.users);
    let m = Measured {
        job,
        how: how.clone(),
        load,
        wall: run.wall,
        cpu: run.cpu,
        server_cpu,
        minimum: quota.minimum(units, writes),
        http,
        batches,
        items,
        http_429,
        item_429: model_429.saturating_sub(http_429),
        served: served_all.saturating_sub(envelopes),
        ok: n("ok"),
        failed: n("failed"),
        values: n("values"),
        largest: n("largest"),
        first_error: out["first_error"].as_str().map(str::to_owned),
        check: (!check.is_empty()).then(|| check.join("; ")),
    };
    eprintln!(
        "    {} {}: {:.2} s (minimum {:.2} s), {} HTTP requests ({} `$batch`, {} items), {} + {} 429s, {} failed",
        job.name(),
        how.name(),
        m.wall,
        m.minimum,
        m.http,
        m.batches,
        m.items,
        m.http_429,
        m.item_429,
        m.failed
    );
    Ok(m)
}

/// Two instances of one service at once, each with half the read job, through the bulk API:
/// each on its own throttle gate, or sharing one through Redis.
#[derive(Debug)]
struct Fleet {
    shared: bool,
    load: Option<f64>,
    /// The later of the two to finish.
    wall: f64,
    walls: [f64; 2],
    minimum: f64,
    http_429: u64,
    item_429: u64,
    served: u64,
    failed: u64,
}

impl Fleet {
    fn throttled(&self) -> u64 {
        self.http_429 + self.item_429
    }
}

#[allow(clippy::too_many_arguments)]
fn measure_fleet(
    s: &Setup<'_>,
    control: &Control,
    config: &ThrottlingConfig,
    env: &[(String, String)],
    graph_url: &str,
    quota: &Quota,
    ids: &[String],
    redis: Option<&str>,
) -> Result<Fleet, BoxError> {
    control.set_throttling(Some(config.clone()));
    control.reset_counters();
    let throttled_before = control.throttled_requests();
    let load = load_average();
    let halves = ids.split_at(ids.len() / 2);
    let mut runs = Vec::new();
    std::thread::scope(|scope| -> Result<(), BoxError> {
        let mut handles = Vec::new();
        for (i, half) in [halves.0, halves.1].into_iter().enumerate() {
            let scratch = s.scratch.join(format!("fleet-{i}"));
            std::fs::create_dir_all(&scratch)?;
            let file = scratch.join("ids.txt");
            std::fs::write(&file, half.join("\n"))?;
            let mut env = env.to_vec();
            env.retain(|(k, _)| k != "BENCH_IDS_FILE");
            env.push(("BENCH_IDS_FILE".into(), file.display().to_string()));
            if let Some(url) = redis {
                env.push((SHARED_THROTTLE_ENV.into(), url.to_owned()));
            }
            let args = [
                "child".to_owned(),
                child_mode(Job::Read, &How::Bulk("bulk".into())),
                graph_url.to_owned(),
            ];
            let exe = s.exe;
            handles.push(scope.spawn(move || {
                measure(exe, &args, &env, &[], &scratch).map_err(|e| e.to_string())
            }));
        }
        for handle in handles {
            let run = handle
                .join()
                .map_err(|_| "a fleet child's thread panicked")??;
            runs.push(run);
        }
        Ok(())
    })?;
    let mut http_429 = 0;
    let mut failed = 0;
    let mut walls = [0.0; 2];
    for (i, run) in runs.iter().enumerate() {
        let out: Value = serde_json::from_str(run.stdout.trim())
            .map_err(|e| format!("fleet child {i}: {e}: {:?}", run.stdout))?;
        http_429 += out["http_429"].as_u64().unwrap_or(0);
        failed += out["failed"].as_u64().unwrap_or(0);
        walls[i] = run.wall;
    }
    let model_429 = control.throttled_requests() - throttled_before;
    let served = control
        .graph_requests()
        .saturating_sub(control.requests_to("/v1.0/$batch"));
    let (units, _) = Job::Read.cost(ids.len());
    let fleet = Fleet {
        shared: redis.is_some(),
        load,
        wall: walls[0].max(walls[1]),
        walls,
        minimum: quota.minimum(units, 0),
        http_429,
        item_429: model_429.saturating_sub(http_429),
        served,
        failed,
    };
    eprintln!(
        "    fleet of two, {}: {:.2} s (minimum {:.2} s), {} 429s, {} failed",
        if fleet.shared {
            "shared gate"
        } else {
            "own gates"
        },
        fleet.wall,
        fleet.minimum,
        fleet.throttled(),
        fleet.failed
    );
    Ok(fleet)
}

/// A `redis-server` for the fleet rows, on a free loopback port, without persistence; killed
/// on drop. `None` when it is not installed.
struct RedisChild(std::process::Child, u16);

impl RedisChild {
    fn start() -> Option<RedisChild> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .ok()?
            .port();
        let child = std::process::Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .ok()?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(RedisChild(child, port))
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.1)
    }
}

impl Drop for RedisChild {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The rows and the section of the report.
pub async fn run(s: &Setup<'_>) -> Result<(Vec<Row>, (String, String)), BoxError> {
    let o = s.options;
    if o.users == 0 {
        return Err("the bulk benchmark needs at least one user".into());
    }
    let quota = Quota::for_sizes(o);
    let config = quota.config();
    let (users, groups) = (o.users, o.groups);
    let start_config = config.clone();
    let emulator = s
        .server
        .spawn(async move {
            Emulator::builder()
                .users(users)
                .generated_groups(groups)
                .throttling(start_config)
                .start()
                .await
        })
        .await??;
    let control = emulator.control();
    let (all, _) = control.users(usize::MAX);
    // Generated users' display names end in their number; the seeded tenant's do not.
    let ids: Vec<String> = all
        .into_iter()
        .filter(|u| {
            u.display_name
                .rsplit(' ')
                .next()
                .is_some_and(|n| n.parse::<u64>().is_ok())
        })
        .map(|u| u.id)
        .collect();
    if ids.len() != users {
        return Err(format!("{} generated users, not {users}", ids.len()).into());
    }
    let (read_units, write_units, probe_groups) = probe(&emulator, &ids[0]).await?;
    if (read_units, write_units) != (READ_UNITS, WRITE_UNITS) {
        return Err(format!(
            "the emulator charges {read_units} RU per transitiveMemberOf and {write_units} per PATCH, \
             not {READ_UNITS} and {WRITE_UNITS}"
        )
        .into());
    }
    let ids_file = s.scratch.join("bulk-ids.txt");
    std::fs::write(&ids_file, ids.join("\n"))?;
    let identity = Identity {
        authority: emulator.authority_url(),
        origin: emulator.url().to_owned(),
        tenant: emulator.tenant_id().to_owned(),
    };
    let mut env = identity.to_env();
    env.push(("BENCH_IDS_FILE".into(), ids_file.display().to_string()));
    let graph_url = emulator.graph_url();
    eprintln!("    quota: {}", quota.describe());

    let mut measured = Vec::new();
    for (job, how) in rows() {
        let m = tokio::task::block_in_place(|| {
            measure_row(s, &control, &config, &env, &graph_url, &quota, job, &how)
        })?;
        measured.push(m);
    }
    // Two instances sharing the quota: each on its own gate, then sharing one through Redis.
    let mut fleet = Vec::new();
    match RedisChild::start() {
        Some(redis) => {
            for url in [None, Some(redis.url())] {
                let f = tokio::task::block_in_place(|| {
                    measure_fleet(
                        s,
                        &control,
                        &config,
                        &env,
                        &graph_url,
                        &quota,
                        &ids,
                        url.as_deref(),
                    )
                })?;
                fleet.push(f);
            }
        }
        None => eprintln!("    redis-server is not installed: no fleet rows"),
    }
    control.set_throttling(None);
    emulator.shutdown().await;
    Ok(report(o, &quota, probe_groups, &measured, &fleet))
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn verdict(met: bool) -> String {
    if met { "met" } else { "MISSED" }.into()
}

fn report(
    o: &Options,
    quota: &Quota,
    probe_groups: usize,
    measured: &[Measured],
    fleet: &[Fleet],
) -> (Vec<Row>, (String, String)) {
    let n = thousands(o.users as u64);
    let mut rows = Vec::new();
    for job in [Job::Read, Job::Write] {
        let of_job: Vec<&Measured> = measured.iter().filter(|m| m.job == job).collect();
        let fixed: Vec<&&Measured> = of_job
            .iter()
            .filter(|m| matches!(m.how, How::Fixed(_)))
            .collect();
        let fastest_fixed = fixed.iter().min_by(|a, b| a.wall.total_cmp(&b.wall));
        let what = match job {
            Job::Read => format!("read: `transitiveMemberOf` of {n} users"),
            Job::Write => format!("write: {n} `PATCH users/{{id}}`"),
        };
        for m in of_job.iter().filter(|m| matches!(m.how, How::Bulk(_))) {
            let who = m.how.name();
            rows.push(Row {
                number: "B",
                measurement: format!("{what}, `{who}`: wall time against the theoretical minimum"),
                ours: format!("{:.2} s", m.wall),
                reference: format!("{:.2} s (minimum)", m.minimum),
                ratio: format!("{:.3}x", m.ratio()),
                goal: "<= 1.2x".into(),
                result: at_most(m.ratio(), 1.2),
            });
            rows.push(Row {
                number: "B",
                measurement: format!("{what}, `{who}`: failed items"),
                ours: m.failed.to_string(),
                reference: "-".into(),
                ratio: "-".into(),
                goal: "0".into(),
                result: verdict(m.failed == 0),
            });
            rows.push(Row {
                number: "B",
                measurement: format!(
                    "{what}, `{who}`: Graph requests answered 429 (HTTP and batch items)"
                ),
                ours: format!(
                    "{:.2}% ({} of {})",
                    m.throttled_share() * 100.0,
                    thousands(m.http_429 + m.item_429),
                    thousands(m.served)
                ),
                reference: "-".into(),
                ratio: "-".into(),
                goal: "< 5%".into(),
                result: verdict(m.throttled_share() < 0.05),
            });
            if let Some(f) = fastest_fixed {
                let ratio = m.wall / f.wall;
                rows.push(Row {
                    number: "B",
                    measurement: format!(
                        "{what}, `{who}` against the fastest fixed-concurrency row: wall time"
                    ),
                    ours: format!("{:.2} s", m.wall),
                    reference: format!("{:.2} s (`{}`)", f.wall, f.how.name()),
                    ratio: format!("{ratio:.3}x"),
                    goal: "< 1x (faster than every fixed row)".into(),
                    result: verdict(ratio < 1.0),
                });
            }
        }
    }

    let own = fleet.iter().find(|f| !f.shared);
    let shared = fleet.iter().find(|f| f.shared);
    if let (Some(own), Some(shared)) = (own, shared) {
        rows.push(Row {
            number: "B",
            measurement: format!(
                "fleet: two processes, half of the read job each, bulk API: 429s received, sharing the gate through Redis against each on its own"
            ),
            ours: thousands(shared.throttled()),
            reference: thousands(own.throttled()),
            ratio: format!(
                "{:.3}x",
                shared.throttled() as f64 / own.throttled().max(1) as f64
            ),
            goal: "fewer".into(),
            result: verdict(shared.throttled() < own.throttled()),
        });
        rows.push(Row {
            number: "B",
            measurement: "fleet: the same, wall time (the later process)".into(),
            ours: format!("{:.2} s", shared.wall),
            reference: format!("{:.2} s", own.wall),
            ratio: format!("{:.3}x", shared.wall / own.wall),
            goal: "context".into(),
            result: "-".into(),
        });
    }
    let fleet_table = table(
        &[
            "fleet of two",
            "load",
            "wall s (later)",
            "walls s",
            "minimum s",
            "429s: HTTP + items",
            "429 share",
            "failed items",
        ],
        &fleet
            .iter()
            .map(|f| {
                vec![
                    if f.shared {
                        "sharing one gate through Redis".to_owned()
                    } else {
                        "each on its own gate".to_owned()
                    },
                    f.load.map_or_else(|| "?".into(), |l| format!("{l:.2}")),
                    format!("{:.2}", f.wall),
                    format!("{:.2} / {:.2}", f.walls[0], f.walls[1]),
                    format!("{:.2}", f.minimum),
                    format!("{} + {}", thousands(f.http_429), thousands(f.item_429)),
                    format!(
                        "{:.2}%",
                        f.throttled() as f64 * 100.0 / f.served.max(1) as f64
                    ),
                    thousands(f.failed),
                ]
            })
            .collect::<Vec<_>>(),
    );
    let header = [
        "job",
        "client",
        "load",
        "wall s",
        "minimum s",
        "wall / minimum",
        "HTTP requests",
        "of which `$batch`",
        "batch items",
        "429s: HTTP + items",
        "429 share",
        "failed items",
        "client CPU s",
        "emulator CPU s",
    ];
    let detail: Vec<Vec<String>> = measured
        .iter()
        .map(|m| {
            vec![
                m.job.name().to_owned(),
                format!("`{}`", m.how.name()),
                m.load.map_or_else(|| "?".into(), |l| format!("{l:.2}")),
                format!("{:.2}", m.wall),
                format!("{:.2}", m.minimum),
                format!("{:.3}x", m.ratio()),
                thousands(m.http),
                thousands(m.batches),
                thousands(m.items),
                format!("{} + {}", thousands(m.http_429), thousands(m.item_429)),
                format!("{:.2}%", m.throttled_share() * 100.0),
                thousands(m.failed),
                format!("{:.2}", m.cpu),
                m.server_cpu
                    .map_or_else(|| "?".into(), |c| format!("{c:.2}")),
            ]
        })
        .collect();
    let clients: Vec<String> = measured
        .iter()
        .filter(|m| m.job == Job::Read)
        .map(|m| format!("- `{}`: {}", m.how.name(), m.how.describe(Job::Read)))
        .chain(std::iter::once(format!(
            "- the write job's clients are the same with {}",
            How::Sequential
                .describe(Job::Write)
                .trim_start_matches("one at a time: ")
        )))
        .collect();
    let mut notes = Vec::new();
    for m in measured {
        if let Some(e) = &m.first_error {
            notes.push(format!(
                "- {} `{}`: {} of {} items failed; the first: {e}",
                m.job.name(),
                m.how.name(),
                m.failed,
                m.ok + m.failed
            ));
        }
        if let Some(c) = &m.check {
            notes.push(format!(
                "- {} `{}`: counts disagree: {c}",
                m.job.name(),
                m.how.name()
            ));
        }
    }
    let reads: Vec<String> = measured
        .iter()
        .filter(|m| m.job == Job::Read)
        .map(|m| format!("`{}` {}", m.how.name(), thousands(m.values)))
        .collect();
    let (read_units, _) = Job::Read.cost(o.users);
    let (write_units, writes) = Job::Write.cost(o.users);
    let section = format!(
        "The emulator with Graph's throttling model on: {n} generated users, {groups} generated groups (a quarter divisions, the rest teams nested in one or two divisions; every user in three teams, so `transitiveMemberOf` answers about seven groups in one page: {probe_groups} for the first user, at most {largest} in the read rows). \
         Quota for the whole run: {quota}. Before every row the buckets are fresh (`Control::set_throttling`) and the counters reset; every row is a process of its own (`graph-bench child throttled-JOB-CLIENT URL`, one client-credentials token, then the job), timed whole, one run per row. The load column is the 1-minute load average when the row started; client CPU is the child's (`/usr/bin/time`), emulator CPU this process's meanwhile (it serves the emulator and does nothing else during a row).\n\n\
         - Read job: {n} `GET users/{{id}}/transitiveMemberOf` at {READ_UNITS} RU = {ru} RU.\n\
         - Write job: {n} `PATCH users/{{id}}` `{{\"jobTitle\": ...}}` at {WRITE_UNITS} RU and 1 write = {wu} RU and {w} writes.\n\
         - Minimum: every bucket starts full (one window's worth) and refills at quota / window, so minimum = max over buckets of (need - capacity) / rate: read {min_read:.2} s, write {min_write:.2} s (need / rate alone, ignoring the first window's allowance: read {naive_read:.2} s, write {naive_write:.2} s).\n\
         - Counts: the emulator counts every Graph request it serves (a `$batch` envelope once, each of its items once more) and every 429 its throttling model answers (HTTP and batch items); each child's transport (the SDK's `ReqwestTransport`, wrapped) counts the Graph HTTP requests it sent and the HTTP 429s it received. HTTP requests: the child's count; batch items = served - HTTP requests; item 429s = model 429s - HTTP 429s; 429 share = all 429s / Graph requests served (items and single requests, envelopes not). Failed items: items whose final result was an error.\n\
         - Goals for the bulk API: 0 failed items, wall within 1.2x of the minimum, under 5% of its Graph requests answered 429, faster than every fixed-concurrency row.\n\n\
         Clients:\n\n{clients}\n\n{detail}\n\nGroups read per row (equal when no item failed): {reads}.\n\n\
         Fleet: two processes at once against the same app+tenant quota, each resolving half the read job with the bulk API; first each on its own throttle gate, then sharing one through a local `redis-server` (`shared_throttle`, the same deployment as the token cache). The minimum is the whole read job's.\n\n{fleet_table}{notes}",
        groups = o.groups,
        largest = measured.iter().map(|m| m.largest).max().unwrap_or(0),
        quota = quota.describe(),
        ru = thousands(read_units),
        wu = thousands(write_units),
        w = thousands(writes),
        min_read = quota.minimum(read_units, 0),
        min_write = quota.minimum(write_units, writes),
        naive_read = read_units as f64 / (quota.units as f64 / quota.window),
        naive_write = (write_units as f64 / (quota.units as f64 / quota.window))
            .max(writes as f64 / (quota.writes as f64 / quota.window)),
        clients = clients.join("\n"),
        detail = table(&header, &detail),
        fleet_table = if fleet.is_empty() {
            "(no fleet rows: redis-server is not installed)".to_owned()
        } else {
            fleet_table
        },
        reads = reads.join(", "),
        notes = if notes.is_empty() {
            String::new()
        } else {
            format!("\n\n{}", notes.join("\n"))
        },
    );
    (
        rows,
        (
            "B. Bulk work under Graph's throttling model".to_owned(),
            section,
        ),
    )
}

/// `graph-bench bulk [options]`: this benchmark alone, its report printed (and written to
/// `--out` if given).
pub async fn standalone(args: &[String], server: tokio::runtime::Handle) -> Result<(), BoxError> {
    let mut options = Options::default();
    let mut out: Option<PathBuf> = None;
    let mut work = std::env::temp_dir().join("graph-bench-bulk");
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--out" => out = Some(value.into()),
            "--work" => work = value.into(),
            other => {
                let name = other.strip_prefix("--").unwrap_or(other);
                if !options.take(name, value)? {
                    return Err(format!("unknown option {other:?}").into());
                }
            }
        }
    }
    std::fs::create_dir_all(&work)?;
    let load_start = load_average();
    let started = SystemTime::now();
    let exe = std::env::current_exe()?;
    eprintln!(
        "==> bulk work under the throttling model: {} users, {} groups",
        options.users, options.groups
    );
    let (rows, section) = run(&Setup {
        exe: &exe,
        scratch: &work,
        options: &options,
        server: &server,
    })
    .await?;
    let report = Report {
        command: std::iter::once("graph-bench bulk".to_owned())
            .chain(args.iter().cloned())
            .collect::<Vec<_>>()
            .join(" "),
        started,
        cores: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0),
        load_start,
        load_end: load_average(),
        notes: vec!["Release build; one run per row (each row is seconds long); the minimum is computed from the quota, not measured.".into()],
        rows,
        sections: vec![section],
    };
    let (_, markdown) = report.render();
    println!("{markdown}");
    if let Some(out) = out {
        std::fs::write(&out, &markdown)?;
        eprintln!("wrote {}", out.display());
    }
    Ok(())
}
