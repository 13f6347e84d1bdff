//! The programs some suites need beside the Rust toolchain: Node.js with the test IdP's npm
//! packages (the real OAuth server of `real_idp.rs`) and `redis-server` (`redis_cache.rs`).
//!
//! Plain `cargo test` on a fresh clone skips those suites, printing one line that says how to
//! run them. `./scripts/test` installs the programs and sets [`REQUIRE_ENV`], which turns a
//! missing program into a failure: there, nothing is ever skipped.

use std::process::{Command, Stdio};
use std::sync::Once;

/// Set (to `1`) by `./scripts/test`: a missing program fails the suite instead of skipping it.
pub const REQUIRE_ENV: &str = "MSGRAPH_TYPED_REQUIRE_EXTERNAL";

fn required() -> bool {
    std::env::var(REQUIRE_ENV).is_ok_and(|v| v == "1")
}

/// Whether the suite can run; prints the skip line once per test binary when it cannot.
///
/// # Panics
/// When the program is missing and [`REQUIRE_ENV`] is set.
fn check(what: &str, present: bool) -> bool {
    static SKIP_LINE: Once = Once::new();
    if present {
        return true;
    }
    assert!(
        !required(),
        "{what} is missing and {REQUIRE_ENV}=1 requires it (./scripts/test installs it)"
    );
    SKIP_LINE.call_once(|| {
        // Straight to the process's stderr: the test harness would hide `eprintln!`.
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: these tests need {what}, which is not installed here; run ./scripts/test \
             (it installs it and runs them)"
        );
    });
    false
}

fn runs(program: &str, arg: &str) -> bool {
    Command::new(program)
        .arg(arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether Node.js and the test IdP's npm packages are installed.
pub fn node_idp_available() -> bool {
    let modules = crate::idp::idp_dir()
        .join("node_modules")
        .join("oidc-provider")
        .is_dir();
    check(
        "Node.js and the test IdP's npm packages (npm ci in tests/idp)",
        modules && runs("node", "--version"),
    )
}

/// Whether `redis-server` is installed.
pub fn redis_available() -> bool {
    check("redis-server", runs("redis-server", "--version"))
}
