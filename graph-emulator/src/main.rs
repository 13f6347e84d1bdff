//! `msgraph-typed-emulator`: runs the Microsoft Graph + Entra ID emulator until Ctrl-C.
//!
//! ```text
//! cargo run -p msgraph-typed-emulator -- [--port N] [--https] [--users N] [--token-lifetime SECS] [--refresh-in SECS]
//! ```
//!
//! The first line printed is `msgraph-typed-emulator listening on <URL>`; the seeded credentials and
//! ready-to-paste curl commands follow.

use std::process::ExitCode;
use std::time::Duration;

use msgraph_typed_emulator::{DEFAULT_TENANT, Emulator, seeded};

const USAGE: &str = "\
usage: msgraph-typed-emulator [--port N] [--https] [--users N] [--token-lifetime SECS] [--refresh-in SECS]

  --port N              TCP port on 127.0.0.1 (default: a random free port)
  --https               serve HTTPS with a self-signed certificate (written to a PEM file)
  --users N             generate N extra users on top of the seeded tenant
  --token-lifetime SECS access token lifetime (default 3600)
  --refresh-in SECS     add refresh_in to token responses

Admin routes (not counted, no faults):
  POST   /_emulator/faults          body: a fault as JSON, e.g.
         {\"kind\":\"status\",\"status\":429,\"retry_after\":{\"seconds\":2},\"times\":2,\"path\":{\"prefix\":\"/v1.0/users\"}}
         kinds: status, unauthorized, claims_challenge, delay {\"duration_ms\":500},
                drop_connection, truncated_body, token_endpoint_server_error,
                token_endpoint_throttled {\"retry_after\":...}, token_endpoint_html {\"status\":200}
         retry_after: {\"seconds\":N} | {\"decimal_seconds\":2.5} | {\"http_date_in_secs\":N} | {\"raw\":\"...\"}
  GET    /_emulator/faults          waiting faults;   DELETE /_emulator/faults  clears them
  GET    /_emulator/counters        request counters; POST /_emulator/counters/reset
  POST   /_emulator/reset           clears faults and counters
  POST   /_emulator/users           body {\"count\": N}: generate N users
  GET    /_emulator/apps            seeded app credentials
";

#[derive(Debug, Default)]
struct Args {
    port: u16,
    https: bool,
    users: usize,
    token_lifetime: Option<u64>,
    refresh_in: Option<u64>,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut parsed = Args::default();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--help" | "-h" => return Ok(None),
            "--https" => parsed.https = true,
            "--port" => {
                parsed.port = value("--port")?
                    .parse()
                    .map_err(|e| format!("--port: {e}"))?
            }
            "--users" => {
                parsed.users = value("--users")?
                    .parse()
                    .map_err(|e| format!("--users: {e}"))?
            }
            "--token-lifetime" => {
                parsed.token_lifetime = Some(
                    value("--token-lifetime")?
                        .parse()
                        .map_err(|e| format!("--token-lifetime: {e}"))?,
                );
            }
            "--refresh-in" => {
                parsed.refresh_in = Some(
                    value("--refresh-in")?
                        .parse()
                        .map_err(|e| format!("--refresh-in: {e}"))?,
                );
            }
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok(Some(parsed))
}

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
    let mut builder = Emulator::builder()
        .port(args.port)
        .https(args.https)
        .users(args.users);
    if let Some(secs) = args.token_lifetime {
        builder = builder.token_lifetime(Duration::from_secs(secs));
    }
    if let Some(secs) = args.refresh_in {
        builder = builder.refresh_in(Some(Duration::from_secs(secs)));
    }
    let emulator = match builder.start().await {
        Ok(emulator) => emulator,
        Err(e) => {
            eprintln!("msgraph-typed-emulator: {e}");
            return ExitCode::FAILURE;
        }
    };
    let url = emulator.url().to_owned();
    println!("msgraph-typed-emulator listening on {url}");
    let mut curl = "curl".to_owned();
    if let Some(pem) = emulator.tls_certificate_pem() {
        let path = std::env::temp_dir().join(format!(
            "graph-emulator-{}.pem",
            emulator.local_addr().port()
        ));
        match std::fs::write(&path, pem) {
            Ok(()) => {
                println!("TLS certificate (PEM): {}", path.display());
                curl = format!("curl --cacert {}", path.display());
            }
            Err(e) => eprintln!("msgraph-typed-emulator: could not write the certificate: {e}"),
        }
    }
    println!("tenant:         {DEFAULT_TENANT}");
    println!("token endpoint: {}", emulator.token_endpoint());
    println!("graph:          {}", emulator.graph_url());
    println!(
        "daemon app:     client_id={} client_secret={}",
        seeded::DAEMON_CLIENT_ID,
        seeded::DAEMON_CLIENT_SECRET
    );
    println!(
        "web API (OBO):  client_id={} client_secret={}",
        seeded::WEB_API_CLIENT_ID,
        seeded::WEB_API_CLIENT_SECRET
    );
    println!(
        "public client:  client_id={} redirect_uri={}",
        seeded::PUBLIC_CLIENT_ID,
        seeded::REDIRECT_URI
    );
    println!();
    println!("Get a token and list users:");
    println!(
        "  TOKEN=$({curl} -s {} -d grant_type=client_credentials -d client_id={} -d client_secret={} -d scope=https://graph.microsoft.com/.default | sed -E 's/.*\"access_token\":\"([^\"]+)\".*/\\1/')",
        emulator.token_endpoint(),
        seeded::DAEMON_CLIENT_ID,
        seeded::DAEMON_CLIENT_SECRET
    );
    println!(
        "  {curl} -s -H \"Authorization: Bearer $TOKEN\" '{}/users?$top=5'",
        emulator.graph_url()
    );
    println!(
        "Admin: {url}/_emulator/counters, {url}/_emulator/faults (run with --help for details). Ctrl-C stops."
    );
    if let Err(e) = tokio::signal::ctrl_c().await {
        eprintln!("msgraph-typed-emulator: cannot wait for Ctrl-C: {e}");
    }
    emulator.shutdown().await;
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::parse_args;

    fn parse(args: &[&str]) -> Result<Option<super::Args>, String> {
        parse_args(args.iter().map(|s| (*s).to_owned()))
    }

    #[test]
    fn flags_are_parsed() {
        let args = parse(&[
            "--port",
            "8080",
            "--https",
            "--users",
            "10",
            "--token-lifetime",
            "5",
            "--refresh-in",
            "2",
        ])
        .unwrap()
        .unwrap();
        assert_eq!(args.port, 8080);
        assert!(args.https);
        assert_eq!(args.users, 10);
        assert_eq!(args.token_lifetime, Some(5));
        assert_eq!(args.refresh_in, Some(2));
        assert!(parse(&["--help"]).unwrap().is_none());
    }

    #[test]
    fn bad_flags_are_errors() {
        assert!(parse(&["--port"]).is_err());
        assert!(parse(&["--port", "x"]).is_err());
        assert!(parse(&["--what"]).is_err());
    }
}
