//! BENCHMARKS.md: a header saying where and when, one summary table (every goal with its
//! figure and verdict), then one section per benchmark with the detail behind each row.

use std::fmt::Write as _;
use std::time::SystemTime;

/// One summary row.
pub struct Row {
    pub number: &'static str,
    pub measurement: String,
    pub ours: String,
    pub reference: String,
    pub ratio: String,
    pub goal: String,
    pub result: String,
}

/// A verdict for "at most `limit`".
pub fn at_most(value: f64, limit: f64) -> String {
    if !value.is_finite() {
        return "not measured".into();
    }
    if value <= limit {
        format!("met ({:.1}% below)", (1.0 - value / limit) * 100.0)
    } else {
        format!("MISSED ({:+.1}%)", (value / limit - 1.0) * 100.0)
    }
}

/// A verdict for "at least `limit`".
pub fn at_least(value: f64, limit: f64) -> String {
    if !value.is_finite() {
        return "not measured".into();
    }
    if value >= limit {
        format!("met ({:+.1}%)", (value / limit - 1.0) * 100.0)
    } else {
        format!("MISSED ({:.1}% short)", (1.0 - value / limit) * 100.0)
    }
}

/// The whole report.
pub struct Report {
    pub command: String,
    pub started: SystemTime,
    pub cores: usize,
    pub load_start: Option<f64>,
    pub load_end: Option<f64>,
    /// Other processes' CPU while the benchmark ran, as a note ("" when unknown).
    pub notes: Vec<String>,
    pub rows: Vec<Row>,
    pub sections: Vec<(String, String)>,
}

impl Report {
    fn under_load(&self) -> bool {
        let cores = self.cores.max(1) as f64;
        [self.load_start, self.load_end]
            .into_iter()
            .flatten()
            .any(|l| l > cores * 0.5)
    }

    /// The summary table (printed) and the whole BENCHMARKS.md.
    pub fn render(&self) -> (String, String) {
        let mut t = String::new();
        let _ = writeln!(
            t,
            "| # | measurement | ours | reference | ratio | goal | result |\n|---|---|---|---|---|---|---|"
        );
        for r in &self.rows {
            let _ = writeln!(
                t,
                "| {} | {} | {} | {} | {} | {} | {} |",
                r.number, r.measurement, r.ours, r.reference, r.ratio, r.goal, r.result
            );
        }
        let mut md = String::new();
        let _ = writeln!(md, "# Benchmarks\n");
        let _ = writeln!(
            md,
            "Written by `./scripts/bench` (the `bench/` crate, outside the main workspace). Every ratio below was measured in this one run, side by side, on the same machine and the same servers.\n"
        );
        let _ = writeln!(md, "- Command: `{}`", self.command);
        let _ = writeln!(md, "- Date: {}", utc_date(self.started));
        let _ = writeln!(
            md,
            "- Machine: {} cores ({})",
            self.cores,
            cpu_model().unwrap_or_else(|| "unknown CPU".into())
        );
        let load = |l: Option<f64>| l.map(|l| format!("{l:.2}")).unwrap_or_else(|| "?".into());
        let _ = writeln!(
            md,
            "- Load average (1 min) at start / end: {} / {}{}",
            load(self.load_start),
            load(self.load_end),
            if self.under_load() {
                " -- **measured under load** (above half the cores at start or end: other work, or this script's own build steps): absolute figures are pessimistic; the ratios, taken within paired rounds, are the meaningful part"
            } else {
                ""
            }
        );
        for note in &self.notes {
            let _ = writeln!(md, "- {note}");
        }
        let _ = writeln!(md, "\n## Summary\n\n{t}");
        for (title, body) in &self.sections {
            let _ = writeln!(md, "## {title}\n\n{}\n", body.trim_end());
        }
        (t, md)
    }
}

fn cpu_model() -> Option<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    info.lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).to_owned())
}

/// UTC date and time as `YYYY-MM-DD HH:MM UTC` (no date crate needed).
pub fn utc_date(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = secs / 86_400;
    let (h, m) = ((secs % 86_400) / 3600, (secs % 3600) / 60);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(mo <= 2);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{m:02} UTC")
}

/// A markdown table from a header and rows.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut s = format!("| {} |\n|", header.join(" | "));
    for _ in header {
        s.push_str("---|");
    }
    s.push('\n');
    for r in rows {
        let _ = writeln!(s, "| {} |", r.join(" | "));
    }
    s
}
