//! `graph-bench run`: sets up the servers once, runs every benchmark in turn, and writes the
//! report.

use std::time::{Duration, SystemTime};

use crate::RunOptions;
use crate::common::{BoxError, Timing, load_average, sdk_client, start_emulator};
use crate::report::{Report, Row, at_most, table};
use crate::{bulk, burst, figures, files, gets, nginx, paging};

fn step(text: &str) {
    eprintln!("==> {text}");
}

/// Every benchmark, then BENCHMARKS.md.
pub async fn all(o: RunOptions, server: tokio::runtime::Handle) -> Result<(), BoxError> {
    let load_start = load_average();
    let started = SystemTime::now();
    std::fs::create_dir_all(&o.work)?;

    step(&format!("starting the emulator with {} users", o.users));
    let http = reqwest::Client::new();
    let (emulator, identity, token) = start_emulator(o.users, &server, &http).await?;

    step("writing the emulator's users as static pages for nginx");
    let all_users = nginx::capture_users(
        &http,
        &format!("{}/users?$top=999", emulator.graph_url()),
        &token,
    )
    .await?;
    let sites_dir = o.work.join("sites");
    let large = nginx::write_site(&sites_dir, "large", &all_users, 999, o.gets)?;
    let small_users = &all_users[..o.small_users.min(all_users.len())];
    let small = nginx::write_site(&sites_dir, "small", small_users, 999, 0)?;
    let one_page_users = &all_users[..o.one_page_users.min(all_users.len())];
    let one_page = nginx::write_site(&sites_dir, "one-page", one_page_users, usize::MAX, 0)?;
    let tiny_page = nginx::write_site(&sites_dir, "tiny-page", &all_users[..1], usize::MAX, 0)?;
    let nginx = nginx::start(&sites_dir, &[&large, &small, &one_page, &tiny_page])?;
    eprintln!(
        "    {}: {} users in {} pages at {}",
        nginx.version,
        large.users,
        large.pages,
        large.graph_url()
    );

    let mut rows: Vec<Row> = Vec::new();
    let mut sections: Vec<(String, String)> = Vec::new();

    // Paging and memory (whole processes).
    let exe = std::env::current_exe()?;
    let peer = match (&o.peer_bin, &o.peer_error) {
        (Some(bin), _) => Ok((bin.as_path(), token.as_str())),
        (None, Some(file)) => Err(std::fs::read_to_string(file).unwrap_or_else(|e| e.to_string())),
        (None, None) => Err("not run (no --peer-bin given)".to_owned()),
    };
    let emulator_graph_url = emulator.graph_url();
    let setup = paging::Setup {
        exe: &exe,
        scratch: &o.work,
        identity: &identity,
        large: &large,
        small: &small,
        one_page: &one_page,
        tiny_page: &tiny_page,
        emulator_graph_url: &emulator_graph_url,
        peer,
        rounds: o.rounds,
        nginx_version: &nginx.version,
    };
    let (r, s) = tokio::task::block_in_place(|| paging::run(&setup))?;
    rows.extend(r);
    sections.extend(s);

    // Per-request overhead.
    let ids = &large.single_ids;
    let mut detail = Vec::new();
    for (server_name, graph_url) in [
        ("nginx", large.graph_url()),
        ("emulator", emulator.graph_url()),
    ] {
        step(&format!(
            "{} sequential GET /users/{{id}}, warm token, against {server_name}",
            ids.len()
        ));
        let [(_, ours), (_, raw)] = gets::compare(&identity, &graph_url, &token, ids, 4).await?;
        let (ours, raw) = (Timing::of(&ours), Timing::of(&raw));
        let per = |t: &Timing| t.median / ids.len() as f64 * 1e6;
        let ratio = ours.median / raw.median;
        rows.push(Row {
            number: "5",
            measurement: format!(
                "{} sequential `GET /users/{{id}}`, warm token, {server_name}: time per request",
                ids.len()
            ),
            ours: format!("{:.1} us", per(&ours)),
            reference: format!("{:.1} us", per(&raw)),
            ratio: format!("{ratio:.3}x"),
            goal: if server_name == "nginx" {
                "<= 1.05x"
            } else {
                "-"
            }
            .into(),
            result: if server_name == "nginx" {
                at_most(ratio, 1.05)
            } else {
                "-".into()
            },
        });
        for (who, t) in [(gets::Getter::Ours, &ours), (gets::Getter::Raw, &raw)] {
            detail.push(vec![
                server_name.to_owned(),
                who.name().to_owned(),
                format!("{:.3}", t.median),
                format!("{:.3}", t.best),
                format!("{:.1}", per(t)),
            ]);
        }
    }
    sections.push((
        "5. Per-request overhead".to_owned(),
        format!(
            "{} sequential `GET /users/{{id}}` in one process with a warm token and an open connection (nginx serves each user as a file; the emulator builds it), 4 rounds alternating which side goes first; ratio of the medians.\n\n{}",
            ids.len(),
            table(
                &["server", "loop", "median s", "best s", "us/request (median)"],
                &detail
            )
        ),
    ));

    // Files.
    step(&format!(
        "files: a {} MiB upload and download, ours and reqwest, on the emulator",
        files::FILE_BYTES / (1024 * 1024)
    ));
    let emulator_graph_url = emulator.graph_url();
    let user = all_users
        .first()
        .and_then(|u| u["id"].as_str())
        .ok_or("no user to own the drive")?
        .to_owned();
    let (r, s) = files::run(&files::Setup {
        exe: &exe,
        scratch: &o.work,
        identity: &identity,
        graph_url: &emulator_graph_url,
        token: &token,
        user: &user,
        rounds: 3,
    })
    .await?;
    rows.extend(r);
    sections.push(s);

    // The token path.
    step(&format!(
        "{} concurrent requests on a cold token cache",
        o.burst
    ));
    let control = emulator.control();
    let counter = || control.token_requests_for_grant("client_credentials");
    let b = burst::cold_burst(
        sdk_client(&identity, &emulator.graph_url())?,
        ids,
        o.burst,
        &counter,
    )
    .await?;
    rows.push(Row {
        number: "7",
        measurement: format!(
            "{} concurrent requests, cold token cache: token requests",
            b.requests
        ),
        ours: b.token_requests.to_string(),
        reference: "-".into(),
        ratio: "-".into(),
        goal: "1, no failures".into(),
        result: if b.token_requests == 1 && b.failures == 0 {
            "met".into()
        } else {
            format!("MISSED ({} failures)", b.failures)
        },
    });
    let criterion = o.criterion.as_deref().and_then(figures::criterion_mean_ns);
    rows.push(Row {
        number: "7",
        measurement: "cached-token lookup (`get_token`, warm cache), criterion mean".into(),
        ours: criterion
            .map(|ns| format!("{ns:.0} ns"))
            .unwrap_or_else(|| "-".into()),
        reference: "-".into(),
        ratio: "-".into(),
        goal: "<= 1 us".into(),
        result: criterion
            .map(|ns| at_most(ns, 1000.0))
            .unwrap_or_else(|| "not measured".into()),
    });
    sections.push((
        "7. Token path".to_owned(),
        format!(
            "{} `users().by_id(id).get()` spawned at once on a new client (client-credentials credential, empty in-memory cache) against the emulator: {} token request(s) reached the token endpoint, {} failures, {:.3} s to the last response. The cached-token lookup is `bench/benches/token_cache.rs` (criterion): `ClientSecretCredential::get_token` on a warm cache.",
            b.requests, b.token_requests, b.failures, b.seconds_to_last
        ),
    ));

    // Bulk work under Graph's throttling model (an emulator of its own).
    if o.bulk.users > 0 {
        step(&format!(
            "bulk work under the throttling model: {} users, {} groups, reads then writes",
            o.bulk.users, o.bulk.groups
        ));
        let (r, s) = bulk::run(&bulk::Setup {
            exe: &exe,
            scratch: &o.work,
            options: &o.bulk,
            server: &server,
        })
        .await?;
        rows.extend(r);
        sections.push(s);
    }

    // The soak, run by the script.
    match o.soak.as_deref().map(figures::soak) {
        Some(Ok((line, counted))) => {
            rows.push(Row {
                number: "8",
                measurement: "soak: calls failed while a usable token existed".into(),
                ours: counted.to_string(),
                reference: "-".into(),
                ratio: "-".into(),
                goal: "0".into(),
                result: if counted == 0 { "met" } else { "MISSED" }.into(),
            });
            sections.push((
                "8. Soak".to_owned(),
                format!(
                    "`cargo test -p tests --release --test soak -- --ignored --nocapture` (see `tests/tests/soak.rs`): several credentials, on-behalf-of users, 50 concurrent tasks, 60-second tokens, random Graph faults and token-endpoint bursts. Its summary:\n\n```text\n{line}\n```"
                ),
            ));
        }
        Some(Err(e)) => rows.push(Row {
            number: "8",
            measurement: "soak".into(),
            ours: "-".into(),
            reference: "-".into(),
            ratio: "-".into(),
            goal: "0".into(),
            result: format!("not measured: {e}"),
        }),
        None => {}
    }

    // Builds, measured by the script.
    if let Some(path) = &o.builds {
        let (r, s) = figures::builds(path)?;
        rows.extend(r);
        sections.push(s);
    }

    drop(nginx);
    emulator.shutdown().await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let report = Report {
        command: o.command.clone(),
        started,
        cores: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0),
        load_start,
        load_end: load_average(),
        notes: vec![format!(
            "Runtime benchmarks: release builds; {} paired rounds of whole processes (paging, memory), 4 alternating rounds in one process (per-request).",
            o.rounds
        )],
        rows,
        sections,
    };
    let (summary, markdown) = report.render();
    println!("{summary}");
    std::fs::write(&o.out, markdown)?;
    eprintln!("wrote {}", o.out.display());
    Ok(())
}
