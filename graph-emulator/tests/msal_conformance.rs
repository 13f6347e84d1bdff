//! Microsoft's own MSAL libraries against the emulator over HTTPS: MSAL for Python (the
//! conformance script `conformance/msal_python.py`) and MSAL for Node (`conformance/msal_node.mjs`,
//! the README's Node recipe). Each script prints one JSON line per check; every expected check
//! must be present and pass.
//!
//! The libraries are installed by `scripts/test` under the target directory
//! (`target/conformance/msal-python`, `target/conformance/msal-node`; override with
//! `MSGRAPH_TYPED_MSAL_PYTHON` / `MSGRAPH_TYPED_MSAL_NODE`). Without them a suite is skipped with
//! one line on stderr, unless `MSGRAPH_TYPED_REQUIRE_EXTERNAL=1`, which makes a missing tool fail.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use msgraph_typed_emulator::{
    AppConfig, DEFAULT_TENANT, Emulator, FederatedCredential, SubjectNameCredential,
    TOKEN_EXCHANGE_AUDIENCE, seeded,
};
use serde_json::Value;

const PYTHON_CHECKS: &[&str] = &[
    "msal_version",
    "client_credentials_secret",
    "cache_hit_no_token_request",
    "wrong_secret_error_shape",
    "certificate_x5t_padded_by_msal",
    "certificate_x5t_s256_padded_by_msal",
    "certificate_x5t_unpadded",
    "certificate_x5t_s256_unpadded",
    "certificate_wrong_thumbprint_rejected",
    "auth_code_pkce_with_msal_flow_helpers",
    "client_info_account_keyed_on_uid_utid",
    "refresh_with_acquire_token_silent_force_refresh",
    "on_behalf_of",
    "managed_identity_imds_system_assigned",
    "managed_identity_imds_user_assigned_by_client_id",
    "managed_identity_app_service_user_assigned_by_object_id",
    "workload_identity_federation_external_token",
    "subject_name_issuer_with_x5c_from_msal",
];

const FEDERATED_APP: &str = "f0f0f0f0-0000-4000-8000-000000000001";
const SNI_APP: &str = "f1f1f1f1-0000-4000-8000-000000000001";
const ISSUER: &str = "https://oidc.cluster.example/conformance";
const SUBJECT: &str = "system:serviceaccount:default:conformance";

/// Registers a federated app (with a minted external token) and a subject-name app (with a
/// chain signed by a fresh CA whose leaf key is the seeded certificate app's key); returns the
/// environment for the script.
fn federation_env(emu: &Emulator, dir: &Path) -> Vec<(&'static str, String)> {
    let control = emu.control();
    let mut federated = AppConfig::new(FEDERATED_APP).roles(["User.Read.All"]);
    federated
        .federated_credentials
        .push(FederatedCredential::new(ISSUER, SUBJECT));
    control.register_app(&federated).unwrap();
    control.create_external_issuer(ISSUER).unwrap();
    let token = control
        .mint_external_token(
            ISSUER,
            SUBJECT,
            TOKEN_EXCHANGE_AUDIENCE,
            Duration::from_secs(600),
        )
        .unwrap();

    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Conformance CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let leaf_key = rcgen::KeyPair::from_pkcs8_pem_and_sign_algo(
        seeded::CERTIFICATE_APP_PRIVATE_KEY_PEM,
        &rcgen::PKCS_RSA_SHA256,
    )
    .unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "conformance.contoso.com");
    let leaf = params.signed_by(&leaf_key, &ca, &ca_key).unwrap();
    let chain = dir.join("sni-chain.pem");
    std::fs::write(&chain, format!("{}{}", leaf.pem(), ca.pem())).unwrap();
    let mut sni = AppConfig::new(SNI_APP).roles(["Group.Read.All"]);
    sni.subject_name_credentials
        .push(SubjectNameCredential::new(
            "conformance.contoso.com",
            ca.pem(),
        ));
    control.register_app(&sni).unwrap();
    vec![
        ("EMU_FEDERATED_TOKEN", token),
        ("EMU_FEDERATED_CLIENT_ID", FEDERATED_APP.to_owned()),
        ("EMU_SNI_CLIENT_ID", SNI_APP.to_owned()),
        ("EMU_SNI_CHAIN_PEM", chain.display().to_string()),
    ]
}

const NODE_CHECKS: &[&str] = &[
    "msal_node_version",
    "node_client_credentials_secret",
    "node_cache_hit_no_token_request",
    "node_wrong_secret_error_shape",
    "node_managed_identity_app_service",
];

fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("target"))
}

fn conformance_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance")
}

/// Skips (one line on stderr) or, when external tools are required, fails.
fn missing(suite: &str, what: &str) {
    if std::env::var("MSGRAPH_TYPED_REQUIRE_EXTERNAL").as_deref() == Ok("1") {
        panic!(
            "{suite}: {what}, and MSGRAPH_TYPED_REQUIRE_EXTERNAL=1 requires it (./scripts/test installs it)"
        );
    }
    let _ = writeln!(
        std::io::stderr(),
        "skipping the {suite} conformance suite: {what} (./scripts/test installs it)"
    );
}

fn works(program: &str, args: &[&str], env: &[(&str, &Path)]) -> bool {
    let mut command = std::process::Command::new(program);
    command
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, v) in env {
        command.env(k, v);
    }
    command.status().is_ok_and(|s| s.success())
}

/// An HTTPS emulator and a directory holding its CA and the seeded certificate app's files.
struct Setup {
    emu: Emulator,
    dir: PathBuf,
    ca: PathBuf,
}

async fn setup(name: &str) -> Setup {
    let emu = Emulator::builder()
        .https(true)
        .start()
        .await
        .expect("emulator starts");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "{name}-{}-{}",
        std::process::id(),
        emu.local_addr().port()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, emu.tls_certificate_pem().unwrap()).unwrap();
    std::fs::write(
        dir.join("cert.pem"),
        seeded::CERTIFICATE_APP_CERTIFICATE_PEM,
    )
    .unwrap();
    std::fs::write(dir.join("key.pem"), seeded::CERTIFICATE_APP_PRIVATE_KEY_PEM).unwrap();
    Setup { emu, dir, ca }
}

/// Runs a script to completion (loopback only: proxies are switched off) and returns its
/// checks by name.
async fn run(mut command: tokio::process::Command, setup: &Setup) -> Vec<Value> {
    command
        .env("EMU_URL", setup.emu.url())
        .env("EMU_TENANT", DEFAULT_TENANT)
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env_remove("HTTPS_PROXY")
        .env_remove("https_proxy")
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .env_remove("ALL_PROXY")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = command.spawn().expect("the script starts");
    let output = tokio::time::timeout(Duration::from_secs(180), child.wait_with_output())
        .await
        .expect("the script finishes within 3 minutes")
        .expect("the script's output");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let checks: Vec<Value> = stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .collect();
    assert!(
        !checks.is_empty(),
        "the script reported nothing (status {:?})\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status
    );
    checks
}

fn assert_checks(suite: &str, expected: &[&str], checks: &[Value]) {
    let mut failures = Vec::new();
    for name in expected {
        match checks.iter().find(|c| c["check"] == *name) {
            None => failures.push(format!("{name}: not reported")),
            Some(c) if c["ok"] != true => failures.push(format!("{name}: {}", c["detail"])),
            Some(_) => {}
        }
    }
    assert!(
        failures.is_empty(),
        "{suite}: {} of {} checks failed:\n{}",
        failures.len(),
        expected.len(),
        failures.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn msal_python_against_the_emulator() {
    let msal = std::env::var_os("MSGRAPH_TYPED_MSAL_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("conformance/msal-python"));
    if !works("python3", &["--version"], &[]) {
        return missing("MSAL Python", "python3 is not installed");
    }
    if !works(
        "python3",
        &["-c", "import msal, jwt, requests"],
        &[("PYTHONPATH", &msal)],
    ) {
        return missing(
            "MSAL Python",
            &format!("MSAL for Python is not installed in {}", msal.display()),
        );
    }
    let setup = setup("msal-python").await;
    let mut command = tokio::process::Command::new("python3");
    command
        .arg(conformance_dir().join("msal_python.py"))
        .env("PYTHONPATH", &msal)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("REQUESTS_CA_BUNDLE", &setup.ca)
        .env("EMU_CERT_PEM", setup.dir.join("cert.pem"))
        .env("EMU_KEY_PEM", setup.dir.join("key.pem"))
        .env("EMU_CERT_THUMBPRINT", seeded::CERTIFICATE_APP_THUMBPRINT)
        .env(
            "EMU_IDENTITY_HEADER",
            setup.emu.control().app_service_identity_header(),
        )
        .envs(federation_env(&setup.emu, &setup.dir));
    let checks = run(command, &setup).await;
    assert_checks("MSAL Python", PYTHON_CHECKS, &checks);
    // The suite really used the token endpoint with each grant.
    let control = setup.emu.control();
    assert!(control.token_requests_for_grant("client_credentials") >= 6);
    assert_eq!(control.token_requests_for_grant("authorization_code"), 1);
    assert_eq!(control.requests_to("/metadata/identity/oauth2/token"), 2);
    assert_eq!(control.requests_to("/msi/token"), 1);
    let _ = std::fs::remove_dir_all(&setup.dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn msal_node_against_the_emulator() {
    let install = std::env::var_os("MSGRAPH_TYPED_MSAL_NODE")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("conformance/msal-node"));
    if !works("node", &["--version"], &[]) {
        return missing("MSAL Node", "node is not installed");
    }
    if !install
        .join("node_modules/@azure/msal-node/package.json")
        .is_file()
    {
        return missing(
            "MSAL Node",
            &format!("@azure/msal-node is not installed in {}", install.display()),
        );
    }
    let setup = setup("msal-node").await;
    // ES modules resolve packages next to the script, not through NODE_PATH.
    let script = install.join(format!("msal_node-{}.mjs", setup.emu.local_addr().port()));
    std::fs::copy(conformance_dir().join("msal_node.mjs"), &script).unwrap();
    let mut command = tokio::process::Command::new("node");
    command
        .arg(&script)
        .env("NODE_EXTRA_CA_CERTS", &setup.ca)
        .env(
            "EMU_IDENTITY_HEADER",
            setup.emu.control().app_service_identity_header(),
        );
    let checks = run(command, &setup).await;
    let _ = std::fs::remove_file(&script);
    assert_checks("MSAL Node", NODE_CHECKS, &checks);
    assert_eq!(
        setup
            .emu
            .control()
            .token_requests_for_grant("client_credentials"),
        2,
        "one token for the daemon (the second call is MSAL's cache), one refused"
    );
    assert_eq!(setup.emu.control().requests_to("/msi/token"), 1);
    let _ = std::fs::remove_dir_all(&setup.dir);
}
