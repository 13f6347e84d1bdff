//! `cargo run -p codegen` regenerates `graph-models/src/generated` and `graph-api/src/generated`;
//! `cargo run -p codegen -- --check` exits non-zero when the committed code differs.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut check = false;
    let mut stats = false;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--check" => check = true,
            "--stats" => stats = true,
            "-h" | "--help" => {
                println!(
                    "usage: codegen [--check] [--stats]\n  regenerates graph-models/src/generated and graph-api/src/generated from codegen/metadata"
                );
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("codegen: unknown argument {other:?} (try --help)");
                return ExitCode::from(2);
            }
        }
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    match codegen::emit::run(&root, check, stats) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("codegen: {e}");
            ExitCode::FAILURE
        }
    }
}
