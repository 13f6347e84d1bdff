//! Paired A/B runs of whole processes: every client runs once per round, the order reversed
//! every other round, so that drift (other load, CPU frequency, page cache) hits every client
//! alike; ratios are taken within a round and their median reported.

use std::path::{Path, PathBuf};

use crate::common::BoxError;
use crate::process::{ProcessRun, measure, median};

/// One client: a process to run.
#[derive(Debug, Clone)]
pub struct Client {
    pub key: String,
    pub program: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// Variables taken out of the child's environment.
    pub remove: Vec<&'static str>,
}

/// The runs of one client, in round order.
#[derive(Debug, Clone)]
pub struct Runs {
    pub key: String,
    pub runs: Vec<ProcessRun>,
}

impl Runs {
    /// The items the child read, from the last run: our children print the count alone, the
    /// peer prints JSON with an `items` field.
    pub fn items(&self) -> usize {
        let Some(out) = self.runs.last().map(|r| r.stdout.trim()) else {
            return 0;
        };
        if let Ok(n) = out.parse() {
            return n;
        }
        serde_json::from_str::<serde_json::Value>(out)
            .ok()
            .and_then(|v| v["items"].as_u64())
            .map_or(0, |n| n as usize)
    }

    pub fn median_wall(&self) -> f64 {
        median(&self.runs.iter().map(|r| r.wall).collect::<Vec<_>>())
    }

    pub fn best_wall(&self) -> f64 {
        self.runs
            .iter()
            .map(|r| r.wall)
            .fold(f64::INFINITY, f64::min)
    }

    pub fn median_cpu(&self) -> f64 {
        median(&self.runs.iter().map(|r| r.cpu).collect::<Vec<_>>())
    }

    pub fn median_rss_kb(&self) -> f64 {
        median(
            &self
                .runs
                .iter()
                .map(|r| r.max_rss_kb as f64)
                .collect::<Vec<_>>(),
        )
    }
}

/// Runs every client once untimed (warm-up), then `rounds` rounds.
pub fn run(clients: &[Client], rounds: usize, scratch: &Path) -> Result<Vec<Runs>, BoxError> {
    for client in clients {
        measure(
            &client.program,
            &client.args,
            &client.env,
            &client.remove,
            scratch,
        )?;
    }
    let mut out: Vec<Runs> = clients
        .iter()
        .map(|c| Runs {
            key: c.key.clone(),
            runs: Vec::new(),
        })
        .collect();
    for round in 0..rounds {
        let mut order: Vec<usize> = (0..clients.len()).collect();
        if round % 2 == 1 {
            order.reverse();
        }
        for i in order {
            let c = &clients[i];
            let run = measure(&c.program, &c.args, &c.env, &c.remove, scratch)?;
            out[i].runs.push(run);
        }
    }
    Ok(out)
}

/// The median over rounds of `a`'s wall time divided by `b`'s in the same round.
pub fn wall_ratio(a: &Runs, b: &Runs) -> f64 {
    median(
        &a.runs
            .iter()
            .zip(&b.runs)
            .map(|(x, y)| x.wall / y.wall)
            .collect::<Vec<_>>(),
    )
}

/// The median over rounds of `a`'s peak RSS divided by `b`'s in the same round.
pub fn rss_ratio(a: &Runs, b: &Runs) -> f64 {
    median(
        &a.runs
            .iter()
            .zip(&b.runs)
            .map(|(x, y)| x.max_rss_kb as f64 / y.max_rss_kb as f64)
            .collect::<Vec<_>>(),
    )
}
