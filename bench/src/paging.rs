//! Paging and memory, whole processes against nginx: ours against reqwest + serde_json into a
//! 14-property struct, streamed and collected, 10k and 100k users, with and without a fixed
//! glibc mmap threshold; the peer SDK; peak memory per MB of one large page.

use std::path::Path;

use crate::common::{BoxError, Identity};
use crate::nginx::Site;
use crate::paired::{self, Client, Runs, rss_ratio, wall_ratio};
use crate::report::{Row, at_least, at_most, table};

/// glibc's dynamic mmap threshold rises after large frees, so freed page buffers stay in the
/// heap; a fixed threshold (this value, in bytes) keeps large buffers in mmap.
const MMAP_THRESHOLD: &str = "131072";
const MMAP_VAR: &str = "MALLOC_MMAP_THRESHOLD_";

/// What the paging benchmarks need.
pub struct Setup<'a> {
    pub exe: &'a Path,
    pub scratch: &'a Path,
    pub identity: &'a Identity,
    pub large: &'a Site,
    pub small: &'a Site,
    pub one_page: &'a Site,
    pub tiny_page: &'a Site,
    pub emulator_graph_url: &'a str,
    /// The peer binary and a token for it, or why there is none.
    pub peer: Result<(&'a Path, &'a str), String>,
    pub rounds: usize,
    pub nginx_version: &'a str,
}

fn child(setup: &Setup<'_>, key: &str, mode: &str, graph_url: &str, threshold: bool) -> Client {
    let mut env = setup.identity.to_env();
    let mut remove = Vec::new();
    if threshold {
        env.push((MMAP_VAR.into(), MMAP_THRESHOLD.into()));
    } else {
        remove.push(MMAP_VAR);
    }
    Client {
        key: key.to_owned(),
        program: setup.exe.to_owned(),
        args: vec!["child".into(), mode.into(), graph_url.into()],
        env,
        remove,
    }
}

fn find<'r>(runs: &'r [Runs], key: &str) -> Result<&'r Runs, BoxError> {
    runs.iter()
        .find(|r| r.key == key)
        .ok_or_else(|| format!("no runs of {key}").into())
}

fn mib(kb: f64) -> String {
    format!("{:.1} MiB", kb / 1024.0)
}

fn describe(key: &str) -> &'static str {
    let mode = key.split('@').next().unwrap_or(key);
    crate::child::MODES
        .iter()
        .find(|(m, _)| *m == mode)
        .map(|(_, d)| *d)
        .unwrap_or(if mode == "peer" {
            "peer: graph-rs-sdk 3.0.1 `paging().stream()` into the 14-property struct"
        } else {
            "?"
        })
}

/// A detail table of every client's runs.
fn detail(runs: &[Runs]) -> String {
    let rows: Vec<Vec<String>> = runs
        .iter()
        .map(|r| {
            let items = r.items().max(1) as f64;
            vec![
                format!("`{}`", r.key),
                describe(&r.key).to_owned(),
                r.items().to_string(),
                format!("{:.3}", r.median_wall()),
                format!("{:.3}", r.best_wall()),
                format!("{:.2}", r.median_cpu() / items * 1e6),
                mib(r.median_rss_kb()),
            ]
        })
        .collect();
    table(
        &[
            "client",
            "what",
            "users",
            "median wall s",
            "best wall s",
            "CPU us/user",
            "median peak RSS",
        ],
        &rows,
    )
}

/// Runs everything; summary rows and the section texts.
pub fn run(setup: &Setup<'_>) -> Result<(Vec<Row>, Vec<(String, String)>), BoxError> {
    let mut rows = Vec::new();
    let mut sections = Vec::new();
    let large = setup.large.graph_url();
    let small = setup.small.graph_url();
    let n = setup.rounds;

    // 1. Streaming and collecting 100k users from nginx, and the peer, paired.
    eprintln!(
        "==> paging {} users from nginx ({n} paired rounds)",
        setup.large.users
    );
    let mut clients = vec![
        child(setup, "raw-stream", "raw-stream", &large, false),
        child(setup, "ours-stream", "ours-stream", &large, false),
        child(setup, "ours-narrow", "ours-narrow", &large, false),
        child(setup, "raw-collect", "raw-collect", &large, false),
        child(setup, "ours-collect", "ours-collect", &large, false),
        child(setup, "fetch-only", "fetch-only", &large, false),
    ];
    if let Ok((peer, token)) = &setup.peer {
        clients.push(Client {
            key: "peer".into(),
            program: peer.to_path_buf(),
            args: vec![large.clone(), "1".into()],
            env: vec![("PEER_TOKEN".into(), (*token).to_owned())],
            remove: vec![MMAP_VAR],
        });
    }
    let main = paired::run(&clients, n, setup.scratch)?;
    let raw_stream = find(&main, "raw-stream")?;
    let ours_stream = find(&main, "ours-stream")?;
    let raw_collect = find(&main, "raw-collect")?;
    let ours_collect = find(&main, "ours-collect")?;
    let users = setup.large.users;
    let stream = wall_ratio(ours_stream, raw_stream);
    rows.push(Row {
        number: "1",
        measurement: format!(
            "stream {users} users from nginx, `users().list().top(999).stream()`: wall vs reqwest + serde_json into a 14-property struct"
        ),
        ours: format!("{:.3} s", ours_stream.median_wall()),
        reference: format!("{:.3} s", raw_stream.median_wall()),
        ratio: format!("{stream:.3}x"),
        goal: "<= 1.11x".into(),
        result: at_most(stream, 1.11),
    });
    let collect_time = wall_ratio(ours_collect, raw_collect);
    let collect_rss = rss_ratio(ours_collect, raw_collect);
    rows.push(Row {
        number: "1",
        measurement: format!("collect {users} generated users into a Vec: wall vs the raw collect"),
        ours: format!("{:.3} s", ours_collect.median_wall()),
        reference: format!("{:.3} s", raw_collect.median_wall()),
        ratio: format!("{collect_time:.3}x"),
        goal: "<= 1.3x".into(),
        result: at_most(collect_time, 1.3),
    });
    rows.push(Row {
        number: "1",
        measurement: format!("collect {users} generated users: peak RSS vs the raw collect"),
        ours: mib(ours_collect.median_rss_kb()),
        reference: mib(raw_collect.median_rss_kb()),
        ratio: format!("{collect_rss:.3}x"),
        goal: "<= 1.5x".into(),
        result: at_most(collect_rss, 1.5),
    });
    let narrow = wall_ratio(find(&main, "ours-narrow")?, raw_stream);
    rows.push(Row {
        number: "1",
        measurement: "(context) our pipeline into the same 14-property struct: wall vs raw".into(),
        ours: format!("{:.3} s", find(&main, "ours-narrow")?.median_wall()),
        reference: format!("{:.3} s", raw_stream.median_wall()),
        ratio: format!("{narrow:.3}x"),
        goal: "-".into(),
        result: "-".into(),
    });
    match (&setup.peer, main.iter().find(|r| r.key == "peer")) {
        (Ok(_), Some(peer)) => {
            let ratio = wall_ratio(peer, ours_stream);
            rows.push(Row {
                number: "2",
                measurement: format!(
                    "peer graph-rs-sdk 3.0.1 typed `paging().stream()`, {users} users from nginx: its wall / ours"
                ),
                ours: format!("{:.3} s", ours_stream.median_wall()),
                reference: format!("{:.3} s", peer.median_wall()),
                ratio: format!("{ratio:.2}x faster"),
                goal: ">= 2.25x".into(),
                result: at_least(ratio, 2.25),
            });
        }
        (Err(why), _) => rows.push(Row {
            number: "2",
            measurement: "peer graph-rs-sdk 3.0.1".into(),
            ours: "-".into(),
            reference: "-".into(),
            ratio: "-".into(),
            goal: ">= 2.25x".into(),
            result: format!("not measured: {}", why.lines().next().unwrap_or_default()),
        }),
        (Ok(_), None) => {}
    }
    sections.push((
        "1. Paging from nginx, whole processes".to_owned(),
        format!(
            "nginx ({}) serves {users} Graph-shaped users (the emulator's, with Graph's default properties) as {} static pages of 999 ({:.1} MB in all), next links to itself. Each client is a process of its own (`graph-bench child MODE URL`): it gets its own token from the emulator (one client-credentials request; the peer is given one), reads every page and prints the count; wall time is spawn to exit, CPU and peak RSS come from `/usr/bin/time`. One warm-up run each, then {n} rounds, every client once per round, the order reversed every other round; ratios are the median of the per-round ratios.\n\n{}",
            setup.nginx_version,
            setup.large.pages,
            setup.large.bytes as f64 / 1e6,
            detail(&main)
        ),
    ));

    // 2. Streaming peak RSS: 10k vs 100k users, with and without a fixed mmap threshold.
    eprintln!("==> streaming peak RSS, 10k and 100k users, with and without {MMAP_VAR}");
    let clients = vec![
        child(setup, "ours-stream@10k", "ours-stream", &small, false),
        child(setup, "ours-stream@100k", "ours-stream", &large, false),
        child(setup, "raw-stream@10k", "raw-stream", &small, false),
        child(setup, "raw-stream@100k", "raw-stream", &large, false),
        child(
            setup,
            "ours-stream@10k+threshold",
            "ours-stream",
            &small,
            true,
        ),
        child(
            setup,
            "ours-stream@100k+threshold",
            "ours-stream",
            &large,
            true,
        ),
        child(
            setup,
            "raw-stream@10k+threshold",
            "raw-stream",
            &small,
            true,
        ),
        child(
            setup,
            "raw-stream@100k+threshold",
            "raw-stream",
            &large,
            true,
        ),
    ];
    let rss = paired::run(&clients, n, setup.scratch)?;
    for (suffix, label) in [
        ("", "default malloc"),
        ("+threshold", "MALLOC_MMAP_THRESHOLD_=131072"),
    ] {
        let ten = find(&rss, &format!("ours-stream@10k{suffix}"))?;
        let hundred = find(&rss, &format!("ours-stream@100k{suffix}"))?;
        let growth = rss_ratio(hundred, ten);
        rows.push(Row {
            number: "3",
            measurement: format!(
                "stream peak RSS, {label}: {} vs {} users",
                hundred.items(),
                ten.items()
            ),
            ours: mib(hundred.median_rss_kb()),
            reference: mib(ten.median_rss_kb()),
            ratio: format!("{growth:.3}x"),
            goal: "<= 1.10x".into(),
            result: at_most(growth, 1.10),
        });
        let peak = hundred.median_rss_kb() / 1024.0;
        rows.push(Row {
            number: "3",
            measurement: format!("stream peak RSS, {label}, {} users", hundred.items()),
            ours: mib(hundred.median_rss_kb()),
            reference: format!(
                "raw {}",
                mib(find(&rss, &format!("raw-stream@100k{suffix}"))?.median_rss_kb())
            ),
            ratio: "-".into(),
            goal: "<= 12 MiB".into(),
            result: at_most(peak, 12.0),
        });
    }
    sections.push((
        "2. Streaming peak memory".to_owned(),
        format!(
            "The same children streaming 10,000 and {users} users, each with glibc's default (dynamic) mmap threshold and with `{MMAP_VAR}={MMAP_THRESHOLD}` (large buffers stay in mmap and go back to the system when freed, instead of being kept in the heap after the threshold has risen). {n} paired rounds.\n\n{}",
            detail(&rss)
        ),
    ));

    // 3. Peak memory per MB of one large page.
    let one = setup.one_page.graph_url();
    let tiny = setup.tiny_page.graph_url();
    eprintln!(
        "==> one page of {} users ({:.1} MB) against one of 1 user",
        setup.one_page.users,
        setup.one_page.bytes as f64 / 1e6
    );
    let clients = vec![
        child(setup, "ours-page@large", "ours-page", &one, false),
        child(setup, "ours-page@tiny", "ours-page", &tiny, false),
        child(setup, "raw-page@large", "raw-page", &one, false),
        child(setup, "raw-page@tiny", "raw-page", &tiny, false),
    ];
    let pages = paired::run(&clients, n.min(3), setup.scratch)?;
    let mb = setup.one_page.bytes as f64 / (1024.0 * 1024.0);
    let per_mb =
        |big: &Runs, tiny: &Runs| (big.median_rss_kb() - tiny.median_rss_kb()) / 1024.0 / mb;
    let ours = per_mb(
        find(&pages, "ours-page@large")?,
        find(&pages, "ours-page@tiny")?,
    );
    let raw = per_mb(
        find(&pages, "raw-page@large")?,
        find(&pages, "raw-page@tiny")?,
    );
    rows.push(Row {
        number: "4",
        measurement: format!(
            "peak memory per MiB of page: one page of {} users ({mb:.1} MiB), `users().list().send()`",
            setup.one_page.users
        ),
        ours: format!("{ours:.2} MiB/MiB"),
        reference: format!("raw {raw:.2} MiB/MiB"),
        ratio: format!("{:.2}x", ours / raw),
        goal: "stated (body bounded by the 64 MiB default limit)".into(),
        result: "-".into(),
    });
    sections.push((
        "3. Peak memory per MiB of page".to_owned(),
        format!(
            "One page of {} users ({mb:.1} MiB, no next link) read whole, against one of 1 user: the growth of peak RSS divided by the page's size. The body is held while it is parsed (ours: bounded by `max_response_bytes`, 64 MiB by default), and the parsed page is kept until the end.\n\n{}",
            setup.one_page.users,
            detail(&pages)
        ),
    ));

    // 4. Context: the emulator as the server (is the static server the bottleneck?).
    eprintln!("==> paging {users} users from the emulator ({n} paired rounds)");
    let clients = vec![
        child(
            setup,
            "raw-stream@emulator",
            "raw-stream",
            setup.emulator_graph_url,
            false,
        ),
        child(
            setup,
            "ours-stream@emulator",
            "ours-stream",
            setup.emulator_graph_url,
            false,
        ),
    ];
    let emulator = paired::run(&clients, n, setup.scratch)?;
    let ratio = wall_ratio(
        find(&emulator, "ours-stream@emulator")?,
        find(&emulator, "raw-stream@emulator")?,
    );
    rows.push(Row {
        number: "1",
        measurement: format!("(context) stream {users} users from the emulator: wall vs raw"),
        ours: format!(
            "{:.3} s",
            find(&emulator, "ours-stream@emulator")?.median_wall()
        ),
        reference: format!(
            "{:.3} s",
            find(&emulator, "raw-stream@emulator")?.median_wall()
        ),
        ratio: format!("{ratio:.3}x"),
        goal: "-".into(),
        result: "-".into(),
    });
    sections.push((
        "4. Paging from the emulator (context)".to_owned(),
        format!(
            "The same two streaming clients against the emulator, which builds every page per request: the server then costs more than either client, so the ratio says less than nginx's.\n\n{}",
            detail(&emulator)
        ),
    ));
    Ok((rows, sections))
}
