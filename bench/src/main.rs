//! `graph-bench`: the benchmarks of issue 7, run by `./scripts/bench` (see that script).
//!
//! - `graph-bench run [options]`: starts the emulator (100,000 users) and a static page server
//!   on their own runtime, measures paging, the peer, peak RSS, per-request overhead and the cold
//!   token path, folds in the criterion and build figures the script measured, prints the table
//!   of ratios and writes BENCHMARKS.md.
//! - `graph-bench stream ...`: the child process whose peak RSS is measured (streams every user
//!   of a server with ours or with the baseline, prints the count).

mod common;
mod decode;
mod full_user;
mod gets;
mod report;
mod scenarios;
mod servers;

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use futures::TryStreamExt as _;
use msgraph_typed_emulator::Emulator;

use common::{BoxError, Identity, RawPage, RawUser, Timing, load_average, raw_token, sdk_client};
use report::{Builds, PagingRow, PeerResult, Report, RssRow};
use scenarios::{Getter, Pager};

fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("run") => {
            let options = RunOptions::parse(&args[1..])?;
            // Servers on a runtime of their own, so they do not share the client's worker threads.
            let server_rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .thread_name("server")
                .build()?;
            let client_rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            let result = client_rt.block_on(run(options, server_rt.handle().clone()));
            drop(client_rt);
            server_rt.shutdown_timeout(Duration::from_secs(1));
            result
        }
        Some("decode") => {
            let rounds = args.get(1).map(|r| r.parse()).transpose()?.unwrap_or(50);
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            rt.block_on(decode::run(rounds))
        }
        Some("gets") => {
            let n = args.get(1).map(|r| r.parse()).transpose()?.unwrap_or(5000);
            let server_rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .thread_name("server")
                .build()?;
            let client_rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            let result = client_rt.block_on(gets::run(n, server_rt.handle().clone()));
            drop(client_rt);
            server_rt.shutdown_timeout(Duration::from_secs(1));
            result
        }
        Some("stream") => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            rt.block_on(stream_child(&args[1..]))
        }
        _ => Err(
            "usage: graph-bench run [--out FILE] [--command TEXT] [--users N] [--reps N] \
                  [--peer-bin PATH | --peer-error FILE] [--criterion FILE] [--builds FILE]\n       \
                  graph-bench decode [ROUNDS] | gets [N]   (one step alone, for profiles)\n       \
                  (graph-bench stream is the child process of the memory benchmark)"
                .into(),
        ),
    }
}

/// Options of `graph-bench run`.
struct RunOptions {
    out: PathBuf,
    command: String,
    users: usize,
    small_users: usize,
    reps: usize,
    gets: usize,
    burst: usize,
    peer_bin: Option<PathBuf>,
    peer_error: Option<PathBuf>,
    criterion: Option<PathBuf>,
    builds: Option<PathBuf>,
}

impl RunOptions {
    fn parse(args: &[String]) -> Result<Self, BoxError> {
        let mut o = RunOptions {
            out: PathBuf::from("BENCHMARKS.md"),
            command: "./scripts/bench".into(),
            users: 100_000,
            small_users: 10_000,
            reps: 3,
            gets: 10_000,
            burst: 1_000,
            peer_bin: None,
            peer_error: None,
            criterion: None,
            builds: None,
        };
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            let mut value = || {
                it.next()
                    .cloned()
                    .ok_or_else(|| format!("{flag} needs a value"))
            };
            match flag.as_str() {
                "--out" => o.out = value()?.into(),
                "--command" => o.command = value()?,
                "--users" => o.users = value()?.parse()?,
                "--small-users" => o.small_users = value()?.parse()?,
                "--reps" => o.reps = value()?.parse()?,
                "--gets" => o.gets = value()?.parse()?,
                "--burst" => o.burst = value()?.parse()?,
                "--peer-bin" => o.peer_bin = Some(value()?.into()),
                "--peer-error" => o.peer_error = Some(value()?.into()),
                "--criterion" => o.criterion = Some(value()?.into()),
                "--builds" => o.builds = Some(value()?.into()),
                other => return Err(format!("unknown option {other:?}").into()),
            }
        }
        Ok(o)
    }
}

fn identity_of(emulator: &Emulator) -> Identity {
    Identity {
        authority: emulator.authority_url(),
        origin: emulator.url().to_owned(),
        tenant: emulator.tenant_id().to_owned(),
    }
}

fn step(text: &str) {
    eprintln!("==> {text}");
}

async fn run(o: RunOptions, server_handle: tokio::runtime::Handle) -> Result<(), BoxError> {
    let load_start = load_average();
    let started = SystemTime::now();

    step(&format!(
        "starting the emulator with {} and {} users",
        o.users, o.small_users
    ));
    let (users, small_users) = (o.users, o.small_users);
    let big = server_handle
        .spawn(async move { Emulator::builder().users(users).start().await })
        .await??;
    let small = server_handle
        .spawn(async move { Emulator::builder().users(small_users).start().await })
        .await??;
    let identity = identity_of(&big);
    let http = reqwest::Client::new();
    let token = raw_token(&http, &big.token_endpoint()).await?;
    let emu_graph = big.graph_url();

    step("capturing the emulator's pages into the static server");
    let (static_server, ids) = servers::start_static(
        &server_handle,
        &http,
        &format!("{emu_graph}/users?$top=999"),
        &token,
        o.gets,
    )
    .await?;
    let total_users = ids.len();
    eprintln!(
        "    {total_users} users in {} pages at {}",
        static_server.pages, static_server.graph_url
    );

    // 1. Paging throughput.
    let pagers = [
        Pager::Ours,
        Pager::Raw,
        Pager::RawFull,
        Pager::RawIntoSdkModel,
        Pager::FetchOnly,
    ];
    let mut paging = Vec::new();
    for (server, graph_url) in [
        ("emulator", emu_graph.clone()),
        ("static", static_server.graph_url.clone()),
    ] {
        step(&format!(
            "1. paging {total_users} users against the {server} server ({} runs each)",
            o.reps
        ));
        let make = || sdk_client(&identity, &graph_url);
        let rows = scenarios::paging_round(&pagers, o.reps, &make, &graph_url, &token).await?;
        for (pager, items, durations) in rows {
            // The fetch-only loop counts bytes; report them in the log only.
            if pager == Pager::FetchOnly {
                eprintln!("    fetch only: {items} bytes");
            }
            let items = if pager == Pager::FetchOnly {
                total_users
            } else {
                items
            };
            let timing = Timing::of(&durations);
            eprintln!("    {pager:?}: {items} items, best {:.3} s", timing.best);
            paging.push(PagingRow {
                server,
                pager,
                items,
                timing,
            });
        }
    }

    // 2. The peer, against the same two servers.
    let peer = match (&o.peer_bin, &o.peer_error) {
        (Some(bin), _) => {
            let mut runs = Vec::new();
            for (server, graph_url) in [
                ("emulator", &emu_graph),
                ("static", &static_server.graph_url),
            ] {
                step(&format!(
                    "2. peer graph-rs-sdk paging against the {server} server"
                ));
                let output = tokio::process::Command::new(bin)
                    .arg(graph_url)
                    .arg(o.reps.to_string())
                    .env("PEER_TOKEN", &token)
                    .output()
                    .await?;
                if !output.status.success() {
                    runs.clear();
                    let err = String::from_utf8_lossy(&output.stderr).into_owned();
                    eprintln!("    peer failed: {err}");
                    break;
                }
                let json: serde_json::Value = serde_json::from_slice(&output.stdout)?;
                let secs: Vec<f64> = json["seconds"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|s| s.as_f64())
                    .collect();
                let items = json["items"].as_u64().unwrap_or(0) as usize;
                eprintln!(
                    "    {items} items, best {:.3} s",
                    Timing::from_secs(&secs).best
                );
                runs.push((server, items, Timing::from_secs(&secs)));
            }
            if runs.is_empty() {
                PeerResult::Failed("the peer binary failed (see the log)".into())
            } else {
                PeerResult::Ran(runs)
            }
        }
        (None, Some(file)) => {
            PeerResult::Failed(std::fs::read_to_string(file).unwrap_or_else(|e| e.to_string()))
        }
        (None, None) => PeerResult::Failed("not run (no --peer-bin given)".into()),
    };

    // 3. Peak RSS of separate processes.
    let exe = std::env::current_exe()?;
    let mut rss = Vec::new();
    for (label, emulator) in [("small", &small), ("large", &big)] {
        let id = identity_of(emulator);
        let child_token = raw_token(&http, &emulator.token_endpoint()).await?;
        for mode in ["ours", "raw"] {
            step(&format!(
                "3. peak RSS: {mode} streaming the {label} tenant in a child process"
            ));
            let args: Vec<String> = vec![
                "stream".into(),
                mode.into(),
                emulator.graph_url(),
                id.authority.clone(),
                id.origin.clone(),
                id.tenant.clone(),
            ];
            let (kb, stdout) =
                scenarios::peak_rss(&exe, &args, &[("BENCH_TOKEN", child_token.as_str())]).await?;
            let items: usize = stdout.trim().parse().unwrap_or(0);
            eprintln!("    {items} users, peak RSS {kb} kB");
            rss.push(RssRow {
                tenant: label,
                mode,
                items,
                kb,
            });
        }
    }

    // 4. Per-request overhead, warm token, against both servers.
    let gets = o.gets.min(ids.len()).min(static_server.single_users);
    let mut per_request = Vec::new();
    for (server, graph_url) in [
        ("emulator", emu_graph.clone()),
        ("static", static_server.graph_url.clone()),
    ] {
        step(&format!(
            "4. {gets} sequential GET /users/{{id}} against the {server} server"
        ));
        let client = sdk_client(&identity, &graph_url)?;
        let http = reqwest::Client::new();
        // Warm both: token cached, connection open.
        client.users().by_id(ids[0].as_str()).get().send().await?;
        scenarios::sequential_gets(Getter::Raw, &client, &http, &graph_url, &token, &ids[..1])
            .await?;
        let getters = [Getter::Ours, Getter::Raw, Getter::RawIntoSdkModel];
        let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); getters.len()];
        for _ in 0..2 {
            for (i, getter) in getters.iter().enumerate() {
                let d = scenarios::sequential_gets(
                    *getter,
                    &client,
                    &http,
                    &graph_url,
                    &token,
                    &ids[..gets],
                )
                .await?;
                samples[i].push(d);
            }
        }
        for (getter, durations) in getters.iter().zip(samples) {
            let timing = Timing::of(&durations);
            eprintln!("    {getter:?}: best {:.3} s", timing.best);
            per_request.push((server, *getter, timing));
        }
    }

    // 5. Cold token cache, concurrent burst.
    step(&format!(
        "5. {} concurrent requests on a cold token cache",
        o.burst
    ));
    let control = big.control();
    let counter = || control.token_requests_for_grant("client_credentials");
    let burst =
        scenarios::cold_burst(sdk_client(&identity, &emu_graph)?, &ids, o.burst, &counter).await?;
    eprintln!("    {burst:?}");

    let criterion_ns = o.criterion.as_ref().and_then(|path| {
        let text = std::fs::read_to_string(path).ok()?;
        let json: serde_json::Value = serde_json::from_str(&text).ok()?;
        json["mean"]["point_estimate"].as_f64()
    });
    let builds = o.builds.as_ref().map(|p| Builds::read(p)).transpose()?;

    let report = Report {
        command: o.command.clone(),
        started,
        cores: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0),
        load_start,
        load_end: load_average(),
        total_users,
        reps: o.reps,
        paging,
        peer,
        rss,
        gets,
        per_request,
        burst,
        criterion_ns,
        builds,
    };
    let (table, markdown) = report.render();
    println!("{table}");
    std::fs::write(&o.out, markdown)?;
    eprintln!("wrote {}", o.out.display());
    big.shutdown().await;
    small.shutdown().await;
    Ok(())
}

/// `graph-bench stream ours|raw GRAPH_URL AUTHORITY ORIGIN TENANT`: streams every user and
/// prints the count (the raw mode reads its token from `BENCH_TOKEN`).
async fn stream_child(args: &[String]) -> Result<(), BoxError> {
    let [mode, graph_url, authority, origin, tenant] = args else {
        return Err("usage: graph-bench stream ours|raw GRAPH_URL AUTHORITY ORIGIN TENANT".into());
    };
    let count = match mode.as_str() {
        "ours" => {
            let identity = Identity {
                authority: authority.clone(),
                origin: origin.clone(),
                tenant: tenant.clone(),
            };
            let client = sdk_client(&identity, graph_url)?;
            client
                .users()
                .list()
                .top(999)
                .stream()
                .try_fold(0usize, |n, _| async move { Ok(n + 1) })
                .await?
        }
        "raw" => {
            let token = std::env::var("BENCH_TOKEN").map_err(|_| "BENCH_TOKEN is not set")?;
            let http = reqwest::Client::new();
            let mut next = Some(format!("{graph_url}/users?$top=999"));
            let mut n = 0;
            while let Some(url) = next.take() {
                let body = http
                    .get(&url)
                    .bearer_auth(&token)
                    .send()
                    .await?
                    .error_for_status()?
                    .bytes()
                    .await?;
                let page: RawPage<RawUser> = serde_json::from_slice(&body)?;
                n += page.value.len();
                next = page.next_link;
            }
            n
        }
        other => return Err(format!("unknown mode {other:?}").into()),
    };
    println!("{count}");
    Ok(())
}
