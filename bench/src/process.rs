//! Whole processes, measured: wall time (from spawn to exit, in this process), CPU time and
//! peak RSS (from `/usr/bin/time`), and what the child printed.

use std::path::Path;
use std::time::Instant;

use crate::common::BoxError;

/// One measured run of a child process.
#[derive(Debug, Clone)]
pub struct ProcessRun {
    pub wall: f64,
    /// User + system CPU seconds.
    pub cpu: f64,
    pub max_rss_kb: u64,
    pub stdout: String,
}

/// Runs `program args` under `/usr/bin/time` with `envs` added (and `remove` taken out of
/// the environment) and measures it. A failed child is an error with its stderr.
pub fn measure(
    program: &Path,
    args: &[String],
    envs: &[(String, String)],
    remove: &[&str],
    scratch: &Path,
) -> Result<ProcessRun, BoxError> {
    let times = scratch.join("time.out");
    let mut command = std::process::Command::new("/usr/bin/time");
    command
        .arg("-f")
        .arg("%U %S %M")
        .arg("-o")
        .arg(&times)
        .arg(program)
        .args(args);
    for (k, v) in envs {
        command.env(k, v);
    }
    for k in remove {
        command.env_remove(k);
    }
    let started = Instant::now();
    let output = command.output()?;
    let wall = started.elapsed().as_secs_f64();
    if !output.status.success() {
        return Err(format!(
            "{} {args:?} failed ({}): {}",
            program.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    let text = std::fs::read_to_string(&times)?;
    // The last line: /usr/bin/time may print a note about a signal first.
    let line = text.lines().last().unwrap_or_default();
    let fields: Vec<&str> = line.split_whitespace().collect();
    let [user, sys, rss] = fields[..] else {
        return Err(format!("unexpected /usr/bin/time output {text:?}").into());
    };
    Ok(ProcessRun {
        wall,
        cpu: user.parse::<f64>()? + sys.parse::<f64>()?,
        max_rss_kb: rss.parse()?,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
    })
}

/// The median of `values` (NaN when empty).
pub fn median(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    if v.len() % 2 == 1 {
        v[v.len() / 2]
    } else {
        (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0
    }
}
