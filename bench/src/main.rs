//! `graph-bench`: the benchmarks, run by `./scripts/bench` (see that script).
//!
//! - `graph-bench run [options]`: starts the emulator (100,000 users), writes its users as
//!   static pages for nginx, measures paging and memory with whole processes, per-request
//!   overhead, the token path, folds in the figures the script measured (criterion, builds,
//!   soak), prints the summary and writes BENCHMARKS.md.
//! - `graph-bench child MODE URL`: one client in a process of its own (see `child.rs`).
//! - `graph-bench decode [ROUNDS]`, `graph-bench gets [N]`: one step alone, for profiles.
//! - `graph-bench bulk [--users N] [--groups N] [--target-secs S] [--window-secs S]
//!   [--out FILE] [--work DIR]`: the bulk benchmark alone (see `bulk.rs`), its report printed.

mod bulk;
mod burst;
mod child;
mod common;
mod decode;
mod figures;
mod files;
mod full_user;
mod gets;
mod nginx;
mod paging;
mod paired;
mod process;
mod report;
mod run;

use std::path::PathBuf;
use std::time::Duration;

use common::BoxError;

fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = || {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
    };
    // Servers on a runtime of their own, so they do not share the client's worker threads.
    let server_runtime = || {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name("server")
            .build()
    };
    match args.first().map(String::as_str) {
        Some("run") => {
            let options = RunOptions::parse(&args[1..])?;
            let server = server_runtime()?;
            let client = runtime()?;
            let result = client.block_on(run::all(options, server.handle().clone()));
            drop(client);
            server.shutdown_timeout(Duration::from_secs(1));
            result
        }
        Some("child") => runtime()?.block_on(child::run(&args[1..])),
        Some("decode") => {
            let rounds = args.get(1).map(|r| r.parse()).transpose()?.unwrap_or(50);
            runtime()?.block_on(decode::run(rounds))
        }
        Some("gets") => {
            let n = args.get(1).map(|r| r.parse()).transpose()?.unwrap_or(5000);
            let server = server_runtime()?;
            let client = runtime()?;
            let result = client.block_on(gets::profile(n, server.handle().clone()));
            drop(client);
            server.shutdown_timeout(Duration::from_secs(1));
            result
        }
        Some("bulk") => {
            let server = server_runtime()?;
            let client = runtime()?;
            let result = client.block_on(bulk::standalone(&args[1..], server.handle().clone()));
            drop(client);
            server.shutdown_timeout(Duration::from_secs(1));
            result
        }
        _ => Err(
            "usage: graph-bench run [--out FILE] [--command TEXT] [--users N] [--rounds N] \
                  [--gets N] [--burst N] [--work DIR] [--peer-bin PATH | --peer-error FILE] \
                  [--criterion FILE] [--builds FILE] [--soak FILE] [--bulk-users N (0: skip)] \
                  [--bulk-groups N] [--bulk-target-secs S] [--bulk-window-secs S]\n       \
                  graph-bench decode [ROUNDS] | gets [N]   (one step alone, for profiles)\n       \
                  graph-bench bulk [--users N] [--groups N] [--target-secs S] [--window-secs S] \
                  [--out FILE] [--work DIR]   (the bulk benchmark alone)\n       \
                  graph-bench child MODE URL               (a child process of run)"
                .into(),
        ),
    }
}

/// Options of `graph-bench run`.
pub struct RunOptions {
    pub out: PathBuf,
    pub command: String,
    pub users: usize,
    pub small_users: usize,
    pub one_page_users: usize,
    pub rounds: usize,
    pub gets: usize,
    pub burst: usize,
    pub work: PathBuf,
    pub peer_bin: Option<PathBuf>,
    pub peer_error: Option<PathBuf>,
    pub criterion: Option<PathBuf>,
    pub builds: Option<PathBuf>,
    pub soak: Option<PathBuf>,
    /// The bulk benchmark's sizes (`--bulk-users`, `--bulk-groups`, `--bulk-target-secs`,
    /// `--bulk-window-secs`); `--bulk-users 0` skips it.
    pub bulk: bulk::Options,
}

impl RunOptions {
    fn parse(args: &[String]) -> Result<Self, BoxError> {
        let mut o = RunOptions {
            out: PathBuf::from("BENCHMARKS.md"),
            command: "./scripts/bench".into(),
            users: 100_000,
            small_users: 10_000,
            one_page_users: 50_000,
            rounds: 5,
            gets: 10_000,
            burst: 1_000,
            work: std::env::temp_dir().join("graph-bench"),
            peer_bin: None,
            peer_error: None,
            criterion: None,
            builds: None,
            soak: None,
            bulk: bulk::Options::default(),
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
                "--one-page-users" => o.one_page_users = value()?.parse()?,
                "--rounds" => o.rounds = value()?.parse()?,
                "--gets" => o.gets = value()?.parse()?,
                "--burst" => o.burst = value()?.parse()?,
                "--work" => o.work = value()?.into(),
                "--peer-bin" => o.peer_bin = Some(value()?.into()),
                "--peer-error" => o.peer_error = Some(value()?.into()),
                "--criterion" => o.criterion = Some(value()?.into()),
                "--builds" => o.builds = Some(value()?.into()),
                "--soak" => o.soak = Some(value()?.into()),
                other if other.starts_with("--bulk-") => {
                    let v = value()?;
                    if !o.bulk.take(&other["--bulk-".len()..], &v)? {
                        return Err(format!("unknown option {other:?}").into());
                    }
                }
                other => return Err(format!("unknown option {other:?}").into()),
            }
        }
        Ok(o)
    }
}
