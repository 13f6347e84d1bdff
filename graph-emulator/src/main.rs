//! `msgraph-typed-emulator`: runs the Microsoft Graph + Entra ID emulator until Ctrl-C.
//!
//! ```text
//! cargo run -p msgraph-typed-emulator -- [--port N] [--https] [--state-dir DIR] [--config FILE] ...
//! ```
//!
//! The first line printed is `msgraph-typed-emulator listening on <URL>`; every app and its
//! credentials, the users, the settings each Microsoft client library needs and ready-to-paste
//! curl commands follow. `--help` lists every flag and the admin routes.

#[path = "cli/args.rs"]
mod args;
#[path = "cli/banner.rs"]
mod banner;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use msgraph_typed_emulator::{
    AppConfig, Emulator, EmulatorBuilder, TenantConfig, ThrottlingConfig, seeded,
};

use args::{Args, USAGE, parse_args};

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("msgraph-typed-emulator: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let emulator = match start(&args).await {
        Ok(emulator) => emulator,
        Err(message) => {
            eprintln!("msgraph-typed-emulator: {message}");
            return ExitCode::FAILURE;
        }
    };
    let files = match write_files(&emulator, &args) {
        Ok(files) => files,
        Err(message) => {
            eprintln!("msgraph-typed-emulator: {message}");
            return ExitCode::FAILURE;
        }
    };
    print!("{}", banner::render(&emulator, &files));
    if let Err(e) = tokio::signal::ctrl_c().await {
        eprintln!("msgraph-typed-emulator: cannot wait for Ctrl-C: {e}");
    }
    emulator.shutdown().await;
    ExitCode::SUCCESS
}

fn read(path: &Path, what: &str) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{what} {}: {e}", path.display()))
}

async fn start(args: &Args) -> Result<Emulator, String> {
    let mut builder: EmulatorBuilder = Emulator::builder()
        .port(args.port)
        .https(args.https)
        .users(args.users);
    if let Some(path) = &args.config {
        let config = TenantConfig::load(path).map_err(|e| e.to_string())?;
        builder = builder.tenant_config(config);
    }
    if let Some(secs) = args.token_lifetime {
        builder = builder.token_lifetime(Duration::from_secs(secs));
    }
    if let Some(secs) = args.refresh_in {
        builder = builder.refresh_in(Some(Duration::from_secs(secs)));
    }
    if let Some(dir) = &args.state_dir {
        builder = builder.state_dir(dir);
    }
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        builder = builder.tls_identity_pem(read(cert, "--tls-cert")?, read(key, "--tls-key")?);
    }
    if args.throttling {
        let mut throttling = ThrottlingConfig::graph_defaults();
        if let Some(units) = args.throttle_units {
            let window = args.throttle_window.unwrap_or(10.0);
            if !window.is_finite() || window <= 0.0 {
                return Err("--throttle-window must be a positive number of seconds".to_owned());
            }
            throttling = throttling.resource_units(units, Duration::from_secs_f64(window));
        }
        builder = builder.throttling(throttling);
    }
    for (client_id, file) in &args.certificate_apps {
        let pem = read(file, "--certificate-app")?;
        builder = builder.app(
            AppConfig::new(client_id.clone())
                .certificate_pem(pem)
                .roles(seeded::DAEMON_ROLES.iter().copied()),
        );
    }
    builder.start().await.map_err(|e| e.to_string())
}

/// Writes the files clients need (the certificate to trust, the seeded certificate app's
/// certificate and key) to the state directory, or to a directory in the system's temporary
/// directory named after the port.
fn write_files(emulator: &Emulator, args: &Args) -> Result<banner::Files, String> {
    let dir: PathBuf = args.state_dir.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!(
            "msgraph-typed-emulator-{}",
            emulator.local_addr().port()
        ))
    });
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let write = |name: &str, text: &str| -> Result<PathBuf, String> {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(path)
    };
    let trust_ca = match emulator.tls_certificate_pem() {
        Some(pem) => Some(write("tls-ca.pem", pem)?),
        None => None,
    };
    let certificate_app = Some((
        write(
            "certificate-app-cert.pem",
            seeded::CERTIFICATE_APP_CERTIFICATE_PEM,
        )?,
        write(
            "certificate-app-key.pem",
            seeded::CERTIFICATE_APP_PRIVATE_KEY_PEM,
        )?,
    ));
    Ok(banner::Files {
        trust_ca,
        certificate_app,
    })
}
