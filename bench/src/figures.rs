//! Figures `./scripts/bench` measured outside this process and passes in as files: clean
//! builds, the criterion token-lookup estimate, the soak's summary line.

use std::path::Path;

use crate::common::BoxError;
use crate::report::{Row, at_most, table};

/// Clean builds of msgraph-typed: label, seconds, peak RSS (kB), exit code (one per line,
/// tab-separated).
pub fn builds(path: &Path) -> Result<(Vec<Row>, (String, String)), BoxError> {
    let text = std::fs::read_to_string(path)?;
    let mut rows = Vec::new();
    let mut detail = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split('\t').collect();
        let [label, secs, kb, code] = f[..] else {
            return Err(format!("bad build line {line:?}").into());
        };
        let (secs, kb, code): (f64, u64, i32) = (secs.parse()?, kb.parse()?, code.parse()?);
        let failed = if code == 0 {
            String::new()
        } else {
            format!(" (exit {code})")
        };
        let goal = if label.starts_with("debug") && label.contains("default") {
            Some(("< 60 s", at_most(secs, 60.0)))
        } else if label.contains("all features") {
            Some(("< 8 GB peak rustc", at_most(kb as f64 / 1e6, 8.0)))
        } else {
            None
        };
        rows.push(Row {
            number: "6",
            measurement: format!("clean `cargo build -p msgraph-typed`, {label}{failed}"),
            ours: format!("{secs:.0} s, {} MiB peak", kb / 1024),
            reference: "-".into(),
            ratio: "-".into(),
            goal: goal
                .as_ref()
                .map(|g| g.0.to_owned())
                .unwrap_or_else(|| "-".into()),
            result: if code != 0 {
                "FAILED".into()
            } else {
                goal.map(|g| g.1).unwrap_or_else(|| "-".into())
            },
        });
        detail.push(vec![
            label.to_owned(),
            format!("{secs:.1}"),
            (kb / 1024).to_string(),
            code.to_string(),
        ]);
    }
    let section = (
        "6. Build".to_owned(),
        format!(
            "Clean `cargo build -p msgraph-typed` in the main workspace, each with a throwaway `CARGO_TARGET_DIR` (all dependencies included), under `/usr/bin/time -v`; peak memory is the largest single process (rustc).\n\n{}",
            table(&["build", "seconds", "peak RSS (MiB)", "exit"], &detail)
        ),
    );
    Ok((rows, section))
}

/// The criterion mean of the cached-token lookup, in nanoseconds.
pub fn criterion_mean_ns(path: &Path) -> Option<f64> {
    let text = std::fs::read_to_string(path).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json["mean"]["point_estimate"].as_f64()
}

/// The soak's summary line (`soak: ...`) and the number after "failed while a usable token
/// existed".
pub fn soak(path: &Path) -> Result<(String, u64), BoxError> {
    let text = std::fs::read_to_string(path)?;
    let line = text
        .lines()
        .find(|l| l.starts_with("soak: "))
        .ok_or("the soak printed no summary line (see its log)")?
        .to_owned();
    // "... refresh failed), C failed while a usable token existed; ..."
    let counted = line
        .split("), ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("no count in {line:?}"))?;
    Ok((line, counted))
}
