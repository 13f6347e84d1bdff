//! What the binary prints at start: where it listens, every app and its credentials, the users,
//! and the settings each Microsoft client library needs to use the emulator.

use std::fmt::Write;
use std::path::PathBuf;

use msgraph_typed_emulator::{DEFAULT_SIGNED_IN_USER, Emulator, seeded};

/// Files the binary wrote for clients.
#[derive(Debug, Default)]
pub(crate) struct Files {
    /// The certificate clients trust (HTTPS only).
    pub trust_ca: Option<PathBuf>,
    /// The seeded certificate app's certificate and private key.
    pub certificate_app: Option<(PathBuf, PathBuf)>,
}

/// How many users the banner lists by name.
const LISTED_USERS: usize = 12;

/// The whole banner (first line: `msgraph-typed-emulator listening on <URL>`).
pub(crate) fn render(emulator: &Emulator, files: &Files) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = write_banner(&mut out, emulator, files);
    out
}

fn write_banner(out: &mut String, emulator: &Emulator, files: &Files) -> std::fmt::Result {
    let url = emulator.url();
    let tenant = emulator.tenant_id();
    let authority = format!("{url}/{tenant}");
    let host_port = url
        .split_once("://")
        .map_or(url, |(_, rest)| rest)
        .to_owned();
    let host = host_port
        .rsplit_once(':')
        .map_or(host_port.as_str(), |(h, _)| h);
    let https = emulator.tls_certificate_pem().is_some();
    writeln!(out, "msgraph-typed-emulator listening on {url}")?;
    let ca = files
        .trust_ca
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "<the CA file>".to_owned());
    if let Some(path) = &files.trust_ca {
        writeln!(out, "TLS: trust this certificate (PEM): {}", path.display())?;
    }
    writeln!(out, "tenant:          {tenant}")?;
    writeln!(out, "authority:       {authority}")?;
    writeln!(out, "token endpoint:  {}", emulator.token_endpoint())?;
    writeln!(out, "graph base URL:  {}", emulator.graph_url())?;
    writeln!(out)?;

    writeln!(out, "Apps:")?;
    let control = emulator.control();
    for app in control.apps() {
        let mut line = format!("  {:<28} client_id={}", app.display_name, app.client_id);
        for secret in &app.client_secrets {
            let _ = write!(line, " client_secret={secret}");
        }
        if app.client_id == seeded::CERTIFICATE_APP_CLIENT_ID {
            if let Some((cert, key)) = &files.certificate_app {
                let _ = write!(
                    line,
                    " certificate={} private_key={} thumbprint={}",
                    cert.display(),
                    key.display(),
                    seeded::CERTIFICATE_APP_THUMBPRINT
                );
            }
        } else if app.certificates > 0 {
            let _ = write!(line, " certificates={}", app.certificates);
        }
        if app.public_client {
            line.push_str(" (public client, any loopback redirect URI)");
        }
        if !app.roles.is_empty() {
            let _ = write!(line, " roles={}", app.roles.join(","));
        }
        writeln!(out, "{line}")?;
    }
    writeln!(
        out,
        "  web API scope: {} (on-behalf-of: the web API exchanges a user token for a Graph token)",
        seeded::WEB_API_SCOPE
    )?;
    writeln!(out)?;

    writeln!(out, "Managed identities:")?;
    for mi in control.managed_identities() {
        writeln!(
            out,
            "  {:<22} client_id={} principal_id={} resource_id={} roles={}",
            mi.name,
            mi.client_id,
            mi.principal_id,
            mi.resource_id,
            mi.roles.join(",")
        )?;
    }
    writeln!(
        out,
        "  IMDS:        {} (GET, Metadata: true; for azure-identity set AZURE_POD_IDENTITY_AUTHORITY_HOST={url})",
        emulator.imds_endpoint()
    )?;
    writeln!(
        out,
        "  App Service: IDENTITY_ENDPOINT={} IDENTITY_HEADER={}",
        emulator.app_service_endpoint(),
        control.app_service_identity_header()
    )?;
    writeln!(
        out,
        "  Cloud Shell: MSI_ENDPOINT={}",
        emulator.cloud_shell_endpoint()
    )?;
    writeln!(
        out,
        "  Azure Arc:   IDENTITY_ENDPOINT={} IMDS_ENDPOINT={url}",
        emulator.arc_endpoint()
    )?;
    writeln!(out)?;

    let (users, total) = control.users(LISTED_USERS);
    writeln!(
        out,
        "Users ({total}; /authorize and /devicecode sign in {DEFAULT_SIGNED_IN_USER} unless login_hint names another):"
    )?;
    for user in &users {
        writeln!(
            out,
            "  {:<40} {} ({})",
            user.user_principal_name, user.id, user.display_name
        )?;
    }
    if total > users.len() {
        writeln!(out, "  ... and {} more", total - users.len())?;
    }
    writeln!(out)?;

    match control.throttling() {
        Some(t) => writeln!(
            out,
            "Throttling: on, {} resource units per app+tenant per {} s (429 with Retry-After when spent)\n",
            t.resource_units.map_or_else(
                || "Graph's 3,500/5,000/8,000 (by tenant size)".to_owned(),
                |n| n.to_string()
            ),
            t.window_secs
        )?,
        None => writeln!(
            out,
            "Throttling: off (--throttling turns on Graph's model)\n"
        )?,
    }
    if !https {
        writeln!(
            out,
            "Plain http: Microsoft's auth libraries refuse it (MSAL Python: the authority must be an https URL; msal-node: authority_uri_insecure; azure-identity wraps them). Restart with --https (and --state-dir DIR to keep one certificate across restarts), then trust the CA file it prints."
        )?;
        writeln!(out)?;
    }
    writeln!(out, "Client settings:")?;
    writeln!(
        out,
        "  MSAL Python:   msal.ConfidentialClientApplication(client_id, client_credential=..., authority=\"{authority}\", instance_discovery=False, validate_authority=False)"
    )?;
    writeln!(out, "                 environment: REQUESTS_CA_BUNDLE={ca}")?;
    writeln!(
        out,
        "  azure-identity (Python): ClientSecretCredential(\"{tenant}\", client_id, secret, authority=\"{url}\", disable_instance_discovery=True), REQUESTS_CA_BUNDLE={ca}"
    )?;
    writeln!(
        out,
        "  azure-identity (JS/.NET): authorityHost \"{url}\", disableInstanceDiscovery: true / DisableInstanceDiscovery = true"
    )?;
    writeln!(
        out,
        "  msal-node:     auth: {{ clientId, authority: \"{authority}\", knownAuthorities: [\"{host_port}\"] }}"
    )?;
    writeln!(
        out,
        "                 environment: NODE_EXTRA_CA_CERTS={ca}"
    )?;
    writeln!(
        out,
        "  Kiota-based Graph SDKs (Python, .NET, Go, Java): base URL \"{}\", allowed hosts [\"{host}\"]",
        emulator.graph_url()
    )?;
    writeln!(
        out,
        "  Graph JavaScript client: Client.initWithMiddleware({{ authProvider, baseUrl: \"{url}/v1.0\", customHosts: new Set([\"{host}\"]) }})"
    )?;
    writeln!(out)?;
    let curl = if https {
        format!("curl --cacert {ca}")
    } else {
        "curl".to_owned()
    };
    writeln!(out, "Get a token and list users:")?;
    writeln!(
        out,
        "  TOKEN=$({curl} -s {} -d grant_type=client_credentials -d client_id={} -d client_secret={} -d scope=https://graph.microsoft.com/.default | sed -E 's/.*\"access_token\":\"([^\"]+)\".*/\\1/')",
        emulator.token_endpoint(),
        seeded::DAEMON_CLIENT_ID,
        seeded::DAEMON_CLIENT_SECRET
    )?;
    writeln!(
        out,
        "  {curl} -s -H \"Authorization: Bearer $TOKEN\" '{}/users?$top=5'",
        emulator.graph_url()
    )?;
    writeln!(
        out,
        "Admin: {url}/_emulator/counters, {url}/_emulator/faults, {url}/_emulator/apps (run with --help for details). Ctrl-C stops."
    )
}
