//! The binary's command line.

use std::path::PathBuf;

/// Parsed flags.
#[derive(Debug, Default)]
pub(crate) struct Args {
    pub port: u16,
    pub https: bool,
    pub users: usize,
    pub token_lifetime: Option<u64>,
    pub refresh_in: Option<u64>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub state_dir: Option<PathBuf>,
    pub config: Option<PathBuf>,
    /// `(client id, certificate file)` pairs of `--certificate-app`.
    pub certificate_apps: Vec<(String, PathBuf)>,
    /// `--throttling`: Graph's throttling model on.
    pub throttling: bool,
    /// `--throttle-units N`: resource units per app+tenant per window.
    pub throttle_units: Option<u64>,
    /// `--throttle-window SECS`.
    pub throttle_window: Option<f64>,
}

pub(crate) const USAGE: &str = "\
usage: msgraph-typed-emulator [options]

  --port N                    TCP port on 127.0.0.1 (default: a random free port)
  --https                     serve HTTPS; the certificate to trust is written to a PEM file
  --tls-cert FILE --tls-key FILE
                              serve HTTPS with this certificate chain and private key (PEM)
  --state-dir DIR             create the TLS certificate, its key and the token-signing key in DIR
                              once and reuse them (with a fixed --port: same URL, same certificate,
                              tokens still valid after a restart)
  --config FILE               seed apps, users, groups, owners and token lifetimes from a TOML file
                              (JSON when FILE ends in .json); see the README
  --certificate-app ID=FILE   register app ID with the certificate in FILE (PEM); repeatable
  --throttling                turn on Graph's throttling model (documented limits by tenant size)
  --throttle-units N          with --throttling: N resource units per app+tenant per window
  --throttle-window SECS      with --throttling: the window of --throttle-units (default 10)
  --users N                   generate N extra users on top of the seeded tenant
  --token-lifetime SECS       access token lifetime (default 3600)
  --refresh-in SECS           add refresh_in to token responses

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
  GET    /_emulator/apps            every app registration and its credentials
  POST   /_emulator/apps            body {\"client_id\": ..., \"client_secrets\": [...], \"certificates\": [PEM], \"roles\": [...]}
  PUT    /_emulator/throttling      body {} (Graph's limits) or {\"resource_units\": 10, \"window_secs\": 2, ...}
  GET    /_emulator/throttling      the model's settings (null when off); DELETE turns it off
";

/// `None` for `--help`.
pub(crate) fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut parsed = Args::default();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--help" | "-h" => return Ok(None),
            "--https" => parsed.https = true,
            "--port" => parsed.port = number(&value("--port")?, "--port")?,
            "--users" => parsed.users = number(&value("--users")?, "--users")?,
            "--token-lifetime" => {
                parsed.token_lifetime =
                    Some(number(&value("--token-lifetime")?, "--token-lifetime")?);
            }
            "--refresh-in" => {
                parsed.refresh_in = Some(number(&value("--refresh-in")?, "--refresh-in")?);
            }
            "--tls-cert" => parsed.tls_cert = Some(value("--tls-cert")?.into()),
            "--tls-key" => parsed.tls_key = Some(value("--tls-key")?.into()),
            "--state-dir" => parsed.state_dir = Some(value("--state-dir")?.into()),
            "--config" => parsed.config = Some(value("--config")?.into()),
            "--throttling" => parsed.throttling = true,
            "--throttle-units" => {
                parsed.throttle_units =
                    Some(number(&value("--throttle-units")?, "--throttle-units")?);
            }
            "--throttle-window" => {
                parsed.throttle_window =
                    Some(number(&value("--throttle-window")?, "--throttle-window")?);
            }
            "--certificate-app" => {
                let spec = value("--certificate-app")?;
                let (id, file) = spec
                    .split_once('=')
                    .filter(|(id, file)| !id.is_empty() && !file.is_empty())
                    .ok_or_else(|| {
                        format!("--certificate-app: expected CLIENT_ID=FILE, got `{spec}`")
                    })?;
                parsed
                    .certificate_apps
                    .push((id.to_owned(), PathBuf::from(file)));
            }
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    if (parsed.throttle_units.is_some() || parsed.throttle_window.is_some()) && !parsed.throttling {
        return Err("--throttle-units and --throttle-window need --throttling".to_owned());
    }
    if parsed.tls_cert.is_some() != parsed.tls_key.is_some() {
        return Err("--tls-cert and --tls-key go together".to_owned());
    }
    Ok(Some(parsed))
}

fn number<T: std::str::FromStr>(text: &str, name: &str) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    text.parse().map_err(|e| format!("{name}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Option<Args>, String> {
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
            "--state-dir",
            "/tmp/emu",
            "--config",
            "tenant.toml",
            "--certificate-app",
            "abc=cert.pem",
            "--tls-cert",
            "c.pem",
            "--tls-key",
            "k.pem",
            "--throttling",
            "--throttle-units",
            "20",
            "--throttle-window",
            "2.5",
        ])
        .unwrap()
        .unwrap();
        assert_eq!(args.port, 8080);
        assert!(args.https);
        assert_eq!(args.users, 10);
        assert_eq!(args.token_lifetime, Some(5));
        assert_eq!(args.refresh_in, Some(2));
        assert_eq!(args.state_dir, Some(PathBuf::from("/tmp/emu")));
        assert_eq!(args.config, Some(PathBuf::from("tenant.toml")));
        assert_eq!(
            args.certificate_apps,
            [("abc".to_owned(), PathBuf::from("cert.pem"))]
        );
        assert_eq!(args.tls_key, Some(PathBuf::from("k.pem")));
        assert!(args.throttling);
        assert_eq!(args.throttle_units, Some(20));
        assert_eq!(args.throttle_window, Some(2.5));
        assert!(parse(&["--help"]).unwrap().is_none());
    }

    #[test]
    fn bad_flags_are_errors() {
        assert!(parse(&["--port"]).is_err());
        assert!(parse(&["--port", "x"]).is_err());
        assert!(parse(&["--what"]).is_err());
        assert!(parse(&["--certificate-app", "abc"]).is_err());
        assert!(parse(&["--certificate-app", "=x.pem"]).is_err());
        assert!(parse(&["--tls-cert", "c.pem"]).is_err());
        assert!(parse(&["--throttle-units", "5"]).is_err());
    }
}
