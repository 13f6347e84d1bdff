//! The Azure-hosted and developer credentials end to end against the emulator: managed identity
//! from each source (system and user-assigned), IMDS's retry rules on a test clock, App
//! Service's header, workload identity with a rotated token file, the Azure CLI and Azure
//! Developer CLI credentials with fake tools on disk, the default chain, and no secret in a
//! TRACE log.

use std::sync::Arc;
use std::time::{Duration, Instant};

use msgraph_typed::GraphClient;
use msgraph_typed_auth::{
    AuthError, CredentialOptions, DefaultAzureCredential, DefaultAzureCredentialOptions,
    DefaultSource, ManagedIdentityCredential, ManagedIdentityEndpoint, ManagedIdentityId,
    ManagedIdentityOptions, ManagedIdentitySource, TestClock, TokenCredential, TokenRequest,
    WorkloadIdentityCredential,
};
use msgraph_typed_emulator::{
    AppConfig, Emulator, Fault, FederatedCredential, RetryAfter, TOKEN_EXCHANGE_AUDIENCE, seeded,
};
use tests::idp::jwt_claims;

const GRAPH_DEFAULT: &str = "https://graph.microsoft.com/.default";

fn graph_request() -> TokenRequest {
    TokenRequest::new([GRAPH_DEFAULT])
}

fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + Send + Sync + 'static {
    let pairs: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }
}

fn managed(endpoint: ManagedIdentityEndpoint, id: ManagedIdentityId) -> ManagedIdentityCredential {
    ManagedIdentityCredential::with_options(
        ManagedIdentityOptions::default()
            .with_endpoint(endpoint)
            .with_id(id),
    )
    .unwrap()
}

async fn users_status(emu: &Emulator, token: &str) -> u16 {
    reqwest::Client::new()
        .get(format!("{}/users?$top=1", emu.graph_url()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn every_managed_identity_source_gives_the_identitys_token() {
    let arc_dir = tempfile::tempdir().unwrap();
    let emu = Emulator::builder()
        .arc_key_dir(arc_dir.path())
        .start()
        .await
        .unwrap();
    let header = emu.control().app_service_identity_header();
    let imds = || ManagedIdentityEndpoint::imds(emu.url()).unwrap();
    let app_service =
        || ManagedIdentityEndpoint::app_service(&emu.app_service_endpoint(), &header).unwrap();
    let system = ManagedIdentityId::SystemAssigned;
    let user = |n: u8| match n {
        1 => ManagedIdentityId::ClientId(seeded::USER_IDENTITY_1_CLIENT_ID.into()),
        2 => ManagedIdentityId::ObjectId(seeded::USER_IDENTITY_1_PRINCIPAL_ID.into()),
        _ => ManagedIdentityId::ResourceId(seeded::USER_IDENTITY_1_RESOURCE_ID.into()),
    };
    let arc = ManagedIdentityCredential::with_options(
        ManagedIdentityOptions::default()
            .with_endpoint(ManagedIdentityEndpoint::azure_arc(&emu.arc_endpoint()).unwrap())
            .with_arc_key_directory(arc_dir.path()),
    )
    .unwrap();
    let cases: Vec<(&str, ManagedIdentityCredential, &str)> = vec![
        (
            "IMDS, system",
            managed(imds(), system.clone()),
            seeded::SYSTEM_IDENTITY_PRINCIPAL_ID,
        ),
        (
            "IMDS, user by client id",
            managed(imds(), user(1)),
            seeded::USER_IDENTITY_1_PRINCIPAL_ID,
        ),
        (
            "IMDS, user by object id",
            managed(imds(), user(2)),
            seeded::USER_IDENTITY_1_PRINCIPAL_ID,
        ),
        (
            "IMDS, user by resource id",
            managed(imds(), user(3)),
            seeded::USER_IDENTITY_1_PRINCIPAL_ID,
        ),
        (
            "App Service, system",
            managed(app_service(), system.clone()),
            seeded::SYSTEM_IDENTITY_PRINCIPAL_ID,
        ),
        (
            "App Service, user by client id",
            managed(app_service(), user(1)),
            seeded::USER_IDENTITY_1_PRINCIPAL_ID,
        ),
        (
            "App Service, user by object id",
            managed(app_service(), user(2)),
            seeded::USER_IDENTITY_1_PRINCIPAL_ID,
        ),
        (
            "App Service, user by resource id",
            managed(app_service(), user(3)),
            seeded::USER_IDENTITY_1_PRINCIPAL_ID,
        ),
        (
            "Cloud Shell, system",
            managed(
                ManagedIdentityEndpoint::cloud_shell(&emu.cloud_shell_endpoint()).unwrap(),
                system.clone(),
            ),
            seeded::SYSTEM_IDENTITY_PRINCIPAL_ID,
        ),
        (
            "Azure Arc, system",
            arc,
            seeded::SYSTEM_IDENTITY_PRINCIPAL_ID,
        ),
    ];
    for (name, credential, principal) in cases {
        let token = credential
            .get_token(&graph_request())
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let claims = jwt_claims(token.secret());
        assert_eq!(claims["oid"], principal, "{name}: {claims}");
        assert_eq!(claims["aud"], "https://graph.microsoft.com", "{name}");
        assert_eq!(users_status(&emu, token.secret()).await, 200, "{name}");
        // Cached: the second call makes no request.
        let again = credential.get_token(&graph_request()).await.unwrap();
        assert_eq!(again.secret(), token.secret(), "{name}");
        assert_eq!(credential.fetch_count(), 1, "{name}");
    }
    // The Arc key files are used once each and the key never shows in an error or Debug.
    let unknown = managed(
        imds(),
        ManagedIdentityId::ClientId("no-such-identity".into()),
    );
    let error = unknown.get_token(&graph_request()).await.unwrap_err();
    assert!(
        error.is_unavailable(),
        "IMDS's 400 means no such identity here: {error}"
    );
    assert!(error.to_string().contains("Identity not found"), "{error}");
}

#[tokio::test]
async fn a_graph_client_runs_on_a_managed_identity() {
    let emu = Emulator::start().await.unwrap();
    let credential = ManagedIdentityCredential::with_options(
        ManagedIdentityOptions::default()
            .with_lookup(vars(&[("AZURE_POD_IDENTITY_AUTHORITY_HOST", emu.url())])),
    )
    .unwrap();
    assert_eq!(credential.source(), ManagedIdentitySource::Imds);
    let client = GraphClient::builder()
        .credential(credential)
        .cloud(msgraph_typed::Cloud::custom(&emu.authority_url(), emu.url()).unwrap())
        .scopes([GRAPH_DEFAULT])
        .build()
        .unwrap();
    let page = client.users().list().top(3).send().await.unwrap();
    assert_eq!(page.items.len(), 3);
    assert_eq!(emu.control().requests_to("/metadata/identity/"), 1);
}

fn on_clock(endpoint: ManagedIdentityEndpoint, clock: &TestClock) -> ManagedIdentityCredential {
    ManagedIdentityCredential::with_options(
        ManagedIdentityOptions::default()
            .with_endpoint(endpoint)
            .with_credential_options(
                CredentialOptions::default().with_clock(Arc::new(clock.clone())),
            ),
    )
    .unwrap()
}

#[tokio::test]
async fn imds_retries_gone_for_up_to_seventy_seconds_and_backs_off_on_429_and_5xx() {
    let emu = Emulator::start().await.unwrap();
    let control = emu.control();
    let imds = || ManagedIdentityEndpoint::imds(emu.url()).unwrap();
    let secs = |d: &[Duration]| d.iter().sum::<Duration>().as_secs_f64();

    // 410 for about 45 s (six answers, more than the five retries of other errors), then a token.
    let clock = TestClock::new();
    control.inject(Fault::status(410).times(6).matching("/metadata/identity/"));
    let token = on_clock(imds(), &clock)
        .get_token(&graph_request())
        .await
        .unwrap();
    assert!(!token.secret().is_empty());
    assert_eq!(control.requests_to("/metadata/identity/"), 7);
    let sleeps = clock.sleeps();
    assert_eq!(sleeps.len(), 6, "{sleeps:?}");
    assert!((30.0..=70.0).contains(&secs(&sleeps)), "{sleeps:?}");
    assert_eq!(sleeps[0], Duration::from_millis(800));

    // 410 that never ends: given up once about 70 s of waits are spent, typed with the source.
    control.reset_counters();
    let clock = TestClock::new();
    control.inject(
        Fault::status(410)
            .times(100)
            .matching("/metadata/identity/"),
    );
    let error = on_clock(imds(), &clock)
        .get_token(&graph_request())
        .await
        .unwrap_err();
    assert_eq!(error.status(), Some(410), "{error}");
    assert!(error.to_string().contains("IMDS"), "{error}");
    assert!(
        (60.0..=70.0).contains(&secs(&clock.sleeps())),
        "{:?}",
        clock.sleeps()
    );
    control.clear_faults();

    // 429 with Retry-After: the server's delay; then a token.
    control.reset_counters();
    let clock = TestClock::new();
    control.inject(
        Fault::status(429)
            .retry_after(RetryAfter::Seconds(3))
            .times(2)
            .matching("/metadata/identity/"),
    );
    on_clock(imds(), &clock)
        .get_token(&graph_request())
        .await
        .unwrap();
    assert_eq!(
        clock.sleeps(),
        vec![Duration::from_secs(3), Duration::from_secs(3)]
    );
    assert_eq!(control.requests_to("/metadata/identity/"), 3);

    // 5xx: exponential backoff, five retries, then the typed error.
    control.reset_counters();
    let clock = TestClock::new();
    control.inject(Fault::status(503).times(10).matching("/metadata/identity/"));
    let error = on_clock(imds(), &clock)
        .get_token(&graph_request())
        .await
        .unwrap_err();
    assert_eq!(error.status(), Some(503));
    assert!(error.is_retryable());
    assert_eq!(control.requests_to("/metadata/identity/"), 6);
    let millis: Vec<u128> = clock.sleeps().iter().map(Duration::as_millis).collect();
    assert_eq!(millis, vec![800, 1600, 3200, 6400, 12800]);
    control.clear_faults();
}

#[tokio::test]
async fn app_service_with_a_wrong_header_is_a_typed_error_naming_the_source() {
    let emu = Emulator::start().await.unwrap();
    let wrong = managed(
        ManagedIdentityEndpoint::app_service(&emu.app_service_endpoint(), "not-the-header")
            .unwrap(),
        ManagedIdentityId::SystemAssigned,
    );
    let error = wrong.get_token(&graph_request()).await.unwrap_err();
    assert!(
        matches!(
            error,
            AuthError::ManagedIdentity {
                source: ManagedIdentitySource::AppService,
                status: 401,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("X-IDENTITY-HEADER"), "{error}");
    assert!(!format!("{error:?}{wrong:?}").contains("not-the-header"));
    // The variables without the header: a configuration error, not a silent fall back to IMDS.
    let missing = ManagedIdentityCredential::with_options(
        ManagedIdentityOptions::default()
            .with_lookup(vars(&[("IDENTITY_ENDPOINT", &emu.app_service_endpoint())])),
    )
    .unwrap_err();
    assert!(
        missing.is_configuration() && missing.to_string().contains("IDENTITY_HEADER"),
        "{missing}"
    );
    // Through the environment, as App Service sets it.
    let header = emu.control().app_service_identity_header();
    let from_env = ManagedIdentityCredential::with_options(
        ManagedIdentityOptions::default().with_lookup(vars(&[
            ("IDENTITY_ENDPOINT", &emu.app_service_endpoint()),
            ("IDENTITY_HEADER", &header),
        ])),
    )
    .unwrap();
    assert_eq!(from_env.source(), ManagedIdentitySource::AppService);
    from_env.get_token(&graph_request()).await.unwrap();
}

#[tokio::test]
async fn the_chain_passes_a_hanging_imds_in_about_a_second() {
    let emu = Emulator::start().await.unwrap();
    emu.control().inject(
        Fault::delay(Duration::from_secs(20))
            .times(5)
            .matching("/metadata/identity/"),
    );
    let chain = DefaultAzureCredential::with_options(
        DefaultAzureCredentialOptions::default()
            .without_developer_tools()
            .with_lookup(vars(&[("AZURE_POD_IDENTITY_AUTHORITY_HOST", emu.url())])),
    )
    .unwrap();
    let started = Instant::now();
    let error = chain.get_token(&graph_request()).await.unwrap_err();
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(4), "{elapsed:?}");
    let attempts = error.chain_attempts();
    assert_eq!(attempts.len(), 5, "{error}");
    assert_eq!(attempts[2].credential, "ManagedIdentityCredential");
    assert!(attempts[2].error.is_unavailable(), "{}", attempts[2].error);
    assert!(
        attempts[2].error.to_string().contains("within"),
        "{}",
        attempts[2].error
    );
}

#[tokio::test]
async fn the_chain_uses_the_managed_identity_in_azure_and_remembers_it() {
    let emu = Emulator::start().await.unwrap();
    let chain = DefaultAzureCredential::with_options(
        DefaultAzureCredentialOptions::default()
            .without_developer_tools()
            .with_managed_identity_id(ManagedIdentityId::ClientId(
                seeded::USER_IDENTITY_1_CLIENT_ID.into(),
            ))
            .with_lookup(vars(&[("AZURE_POD_IDENTITY_AUTHORITY_HOST", emu.url())])),
    )
    .unwrap();
    let token = chain.get_token(&graph_request()).await.unwrap();
    assert_eq!(
        jwt_claims(token.secret())["appid"],
        seeded::USER_IDENTITY_1_CLIENT_ID
    );
    assert_eq!(
        chain.selected_source(),
        Some(DefaultSource::ManagedIdentity)
    );
    let forced = chain
        .get_token(&graph_request().with_force_refresh(true))
        .await
        .unwrap();
    assert_eq!(
        jwt_claims(forced.secret())["appid"],
        seeded::USER_IDENTITY_1_CLIENT_ID
    );
    assert_eq!(emu.control().requests_to("/metadata/identity/"), 2);

    // AZURE_CLIENT_ID selects the user-assigned identity when no id is given (as Azure.Identity).
    let by_variable = DefaultAzureCredential::with_options(
        DefaultAzureCredentialOptions::default()
            .without_developer_tools()
            .with_lookup(vars(&[
                ("AZURE_POD_IDENTITY_AUTHORITY_HOST", emu.url()),
                ("AZURE_CLIENT_ID", seeded::USER_IDENTITY_2_CLIENT_ID),
            ])),
    )
    .unwrap();
    let token = by_variable.get_token(&graph_request()).await.unwrap();
    assert_eq!(
        jwt_claims(token.secret())["appid"],
        seeded::USER_IDENTITY_2_CLIENT_ID
    );
}

const WORKLOAD_APP: &str = "abababab-0000-4000-8000-000000000002";
const ISSUER: &str = "https://oidc.k8s.example/cluster-2";
const SUBJECT: &str = "system:serviceaccount:payroll:sync";

#[tokio::test]
async fn workload_identity_reads_the_rotated_token_file() {
    let mut app = AppConfig::new(WORKLOAD_APP).roles(["User.Read.All"]);
    app.federated_credentials
        .push(FederatedCredential::new(ISSUER, SUBJECT));
    let emu = Emulator::builder().app(app).start().await.unwrap();
    let control = emu.control();
    control.create_external_issuer(ISSUER).unwrap();
    let mint = |subject: &str| {
        control
            .mint_external_token(
                ISSUER,
                subject,
                TOKEN_EXCHANGE_AUDIENCE,
                Duration::from_secs(600),
            )
            .unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("azure-identity-token");
    std::fs::write(&file, mint(SUBJECT)).unwrap();
    let credential = WorkloadIdentityCredential::from_lookup(
        vars(&[
            ("AZURE_TENANT_ID", emu.tenant_id()),
            ("AZURE_CLIENT_ID", WORKLOAD_APP),
            ("AZURE_FEDERATED_TOKEN_FILE", file.to_str().unwrap()),
            ("AZURE_AUTHORITY_HOST", &emu.authority_url()),
        ]),
        CredentialOptions::default(),
    );
    assert!(credential.is_configured());
    let first = credential.get_token(&graph_request()).await.unwrap();
    assert_eq!(users_status(&emu, first.secret()).await, 200);

    // Kubernetes writes a new token in place; the next token request reads it. A token for
    // another service account proves the new content was sent ...
    std::fs::write(&file, mint("system:serviceaccount:other:app")).unwrap();
    let error = credential
        .get_token(&graph_request().with_force_refresh(true))
        .await
        .unwrap_err();
    assert_eq!(error.error_code(), Some("invalid_client"), "{error}");
    // ... and a good rotated token gives a new access token.
    std::fs::write(&file, mint(SUBJECT)).unwrap();
    let rotated = credential
        .get_token(&graph_request().with_force_refresh(true))
        .await
        .unwrap();
    assert_ne!(rotated.secret(), first.secret());
    assert_eq!(control.token_requests(), 3);

    // In the default chain, ahead of managed identity.
    let chain = DefaultAzureCredential::with_options(
        DefaultAzureCredentialOptions::default()
            .without_developer_tools()
            .with_lookup(vars(&[
                ("AZURE_TENANT_ID", emu.tenant_id()),
                ("AZURE_CLIENT_ID", WORKLOAD_APP),
                ("AZURE_FEDERATED_TOKEN_FILE", file.to_str().unwrap()),
                ("AZURE_AUTHORITY_HOST", &emu.authority_url()),
                ("AZURE_POD_IDENTITY_AUTHORITY_HOST", emu.url()),
            ])),
    )
    .unwrap();
    chain.get_token(&graph_request()).await.unwrap();
    assert_eq!(
        chain.selected_source(),
        Some(DefaultSource::WorkloadIdentity)
    );
    assert_eq!(emu.control().requests_to("/metadata/identity/"), 0);
}

#[cfg(unix)]
mod developer_tools {
    use super::*;
    use msgraph_typed_auth::{
        AzureCliCredential, AzureDeveloperCliCredential, DeveloperCliOptions,
    };
    use std::os::unix::fs::PermissionsExt;
    use std::path::{Path, PathBuf};

    /// A fake tool: a shell script that logs its arguments (one per line) and runs `body`.
    fn tool(dir: &Path, name: &str, body: &str) -> PathBuf {
        let path = dir.join(name);
        let log = dir.join(format!("{name}.args"));
        let script = format!(
            "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\" >> '{}'; done\n{body}\n",
            log.display()
        );
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    fn args(dir: &Path, name: &str) -> Vec<String> {
        std::fs::read_to_string(dir.join(format!("{name}.args")))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    fn expires_on() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 3600
    }

    fn az(program: &Path, timeout: Duration) -> AzureCliCredential {
        AzureCliCredential::with_options(
            DeveloperCliOptions::default()
                .with_program(program)
                .with_timeout(timeout),
        )
        .unwrap()
    }

    #[tokio::test]
    async fn the_azure_cli_answers_success_not_logged_in_garbage_and_a_hang() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let ok = tool(
            d,
            "az-ok",
            &format!(
                "echo '{{\"accessToken\":\"cli-token-1\",\"expiresOn\":\"2099-01-01 00:00:00.000000\",\"expires_on\":{},\"tokenType\":\"Bearer\"}}'",
                expires_on()
            ),
        );
        let credential = AzureCliCredential::with_options(
            DeveloperCliOptions::default()
                .with_program(&ok)
                .with_tenant("contoso.onmicrosoft.com"),
        )
        .unwrap();
        let token = credential.get_token(&graph_request()).await.unwrap();
        assert_eq!(token.secret(), "cli-token-1");
        credential.get_token(&graph_request()).await.unwrap();
        assert_eq!(
            args(d, "az-ok"),
            [
                "account",
                "get-access-token",
                "--output",
                "json",
                "--resource",
                "https://graph.microsoft.com",
                "--tenant",
                "contoso.onmicrosoft.com"
            ],
            "one run (the second call is cached), arguments passed as they are"
        );
        // A scope or tenant that could inject anything never reaches the tool.
        for request in [
            TokenRequest::new(["https://graph.microsoft.com/.default; touch /tmp/owned"]),
            TokenRequest::new(["--query"]),
            graph_request().with_tenant("t --subscription x"),
        ] {
            let error = credential.get_token(&request).await.unwrap_err();
            assert!(error.is_configuration(), "{error}");
        }
        assert_eq!(args(d, "az-ok").len(), 8);

        let not_logged_in = tool(
            d,
            "az-out",
            "echo \"ERROR: Please run 'az login' to setup account.\" >&2; exit 1",
        );
        let error = az(&not_logged_in, Duration::from_secs(10))
            .get_token(&graph_request())
            .await
            .unwrap_err();
        assert!(error.is_unavailable(), "{error}");
        assert!(
            error.to_string().contains("Please run 'az login'"),
            "quotes az: {error}"
        );

        let failing = tool(
            d,
            "az-fail",
            "echo 'ERROR: AADSTS70043: The refresh token has expired eyJ0eXAiOi.secret.part' >&2; exit 1",
        );
        let error = az(&failing, Duration::from_secs(10))
            .get_token(&graph_request())
            .await
            .unwrap_err();
        assert!(
            matches!(error, AuthError::DeveloperTool { .. }),
            "{error:?}"
        );
        let shown = error.to_string();
        assert!(
            shown.contains("AADSTS70043") && !shown.contains("eyJ0eXAiOi"),
            "{shown}"
        );

        let garbage = tool(d, "az-garbage", "echo 'WARNING: something else entirely'");
        let error = az(&garbage, Duration::from_secs(10))
            .get_token(&graph_request())
            .await
            .unwrap_err();
        assert!(
            matches!(error, AuthError::DeveloperTool { .. }),
            "{error:?}"
        );

        let hang = tool(d, "az-hang", "sleep 30");
        let started = Instant::now();
        let error = az(&hang, Duration::from_millis(500))
            .get_token(&graph_request())
            .await
            .unwrap_err();
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        assert!(
            error.to_string().contains("did not answer within"),
            "{error}"
        );

        let missing = az(&d.join("no-such-az"), Duration::from_secs(10))
            .get_token(&graph_request())
            .await
            .unwrap_err();
        assert!(
            missing.is_unavailable() && missing.to_string().contains("not installed"),
            "{missing}"
        );
    }

    #[tokio::test]
    async fn the_azure_developer_cli_the_same_way() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let ok = tool(
            d,
            "azd-ok",
            "echo '{\"token\":\"azd-token-1\",\"expiresOn\":\"2099-01-01T00:00:00Z\"}'",
        );
        let azd = |program: &Path| {
            AzureDeveloperCliCredential::with_options(
                DeveloperCliOptions::default().with_program(program),
            )
            .unwrap()
        };
        let token = azd(&ok).get_token(&graph_request()).await.unwrap();
        assert_eq!(token.secret(), "azd-token-1");
        assert_eq!(
            args(d, "azd-ok"),
            [
                "auth",
                "token",
                "--output",
                "json",
                "--scope",
                GRAPH_DEFAULT
            ]
        );
        let out = tool(
            d,
            "azd-out",
            "echo 'ERROR: not logged in, run `azd auth login` to login' >&2; exit 1",
        );
        let error = azd(&out).get_token(&graph_request()).await.unwrap_err();
        assert!(
            error.is_unavailable() && error.to_string().contains("azd auth login"),
            "{error}"
        );
        let garbage = tool(d, "azd-garbage", "echo '{\"token\":\"t\"}'");
        let error = azd(&garbage).get_token(&graph_request()).await.unwrap_err();
        assert!(
            matches!(error, AuthError::DeveloperTool { .. }),
            "{error:?}"
        );
    }

    #[tokio::test]
    async fn the_default_chain_falls_to_the_cli_on_a_laptop_and_lists_every_source_when_none_works()
    {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        // Nothing listens there: a laptop without IMDS (loopback, so the test stays local).
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let no_imds = format!("http://{}", closed.local_addr().unwrap());
        drop(closed);
        let ok = tool(
            d,
            "az-ok",
            &format!(
                "echo '{{\"accessToken\":\"laptop-token\",\"expires_on\":{}}}'",
                expires_on()
            ),
        );
        let laptop = DefaultAzureCredential::with_options(
            DefaultAzureCredentialOptions::default()
                .with_lookup(vars(&[("AZURE_POD_IDENTITY_AUTHORITY_HOST", &no_imds)]))
                .with_azure_cli_options(DeveloperCliOptions::default().with_program(&ok)),
        )
        .unwrap();
        assert_eq!(
            laptop.get_token(&graph_request()).await.unwrap().secret(),
            "laptop-token"
        );
        assert_eq!(laptop.selected_source(), Some(DefaultSource::AzureCli));

        let not_logged_in = tool(
            d,
            "az-out",
            "echo \"ERROR: Please run 'az login' to setup account.\" >&2; exit 1",
        );
        let nothing = DefaultAzureCredential::with_options(
            DefaultAzureCredentialOptions::default()
                .with_lookup(vars(&[("AZURE_POD_IDENTITY_AUTHORITY_HOST", &no_imds)]))
                .with_azure_cli_options(DeveloperCliOptions::default().with_program(&not_logged_in))
                .with_azure_developer_cli_options(
                    DeveloperCliOptions::default().with_program(d.join("no-azd")),
                ),
        )
        .unwrap();
        let error = nothing.get_token(&graph_request()).await.unwrap_err();
        let attempts = error.chain_attempts();
        let names: Vec<&str> = attempts.iter().map(|a| a.credential.as_str()).collect();
        assert_eq!(
            names,
            [
                "EnvironmentCredential",
                "WorkloadIdentityCredential",
                "ManagedIdentityCredential",
                "AzureCliCredential",
                "AzureDeveloperCliCredential"
            ]
        );
        let shown = error.to_string();
        for why in [
            "AZURE_TENANT_ID and AZURE_CLIENT_ID",
            "AZURE_FEDERATED_TOKEN_FILE",
            "no managed identity endpoint answered",
            "az login",
            "not installed",
        ] {
            assert!(shown.contains(why), "{why} missing from: {shown}");
        }
        assert!(attempts.iter().all(|a| a.error.is_unavailable()), "{shown}");

        // A configured source that fails stops the chain; the rest are listed as not tried.
        let wrong_secret = DefaultAzureCredential::with_options(
            DefaultAzureCredentialOptions::default()
                .exclude(DefaultSource::ManagedIdentity)
                .with_lookup(vars(&[
                    ("AZURE_TENANT_ID", "contoso.onmicrosoft.com"),
                    ("AZURE_CLIENT_ID", "c"),
                    ("AZURE_CLIENT_SECRET", "s"),
                    ("AZURE_AUTHORITY_HOST", &no_imds),
                ]))
                .with_azure_cli_options(DeveloperCliOptions::default().with_program(&ok)),
        )
        .unwrap();
        let error = wrong_secret.get_token(&graph_request()).await.unwrap_err();
        let shown = error.to_string();
        assert!(
            shown.contains("excluded by DefaultAzureCredentialOptions"),
            "{shown}"
        );
        assert!(
            shown.contains("not tried, EnvironmentCredential failed before it"),
            "{shown}"
        );
        assert_eq!(
            args(d, "az-ok").len(),
            6,
            "az ran once, for the laptop chain only"
        );
    }
}

/// Every token, key and header secret these credentials handle, searched for in a TRACE log.
#[tokio::test]
async fn no_token_or_key_file_content_is_logged() {
    use std::io::Write;
    use std::sync::Mutex;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);
    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let arc_dir = tempfile::tempdir().unwrap();
    let emu = Emulator::builder()
        .arc_key_dir(arc_dir.path())
        .start()
        .await
        .unwrap();
    let header = emu.control().app_service_identity_header();
    let mut secrets = vec![header.clone()];
    let credentials = [
        managed(
            ManagedIdentityEndpoint::imds(emu.url()).unwrap(),
            ManagedIdentityId::SystemAssigned,
        ),
        managed(
            ManagedIdentityEndpoint::app_service(&emu.app_service_endpoint(), &header).unwrap(),
            ManagedIdentityId::SystemAssigned,
        ),
        ManagedIdentityCredential::with_options(
            ManagedIdentityOptions::default()
                .with_endpoint(ManagedIdentityEndpoint::azure_arc(&emu.arc_endpoint()).unwrap())
                .with_arc_key_directory(arc_dir.path()),
        )
        .unwrap(),
    ];
    for credential in &credentials {
        let token = credential.get_token(&graph_request()).await.unwrap();
        secrets.push(token.secret().to_string());
    }
    emu.control()
        .inject(Fault::status(500).times(1).matching("/metadata/identity/"));
    let token = credentials[0]
        .get_token(&graph_request().with_force_refresh(true))
        .await
        .unwrap();
    secrets.push(token.secret().to_string());
    for entry in std::fs::read_dir(arc_dir.path()).unwrap() {
        secrets.push(std::fs::read_to_string(entry.unwrap().path()).unwrap());
    }
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        log.contains("managed identity token request"),
        "the log was captured: {log}"
    );
    assert!(secrets.len() >= 6, "{}", secrets.len());
    for secret in &secrets {
        assert!(!secret.trim().is_empty());
        assert!(!log.contains(secret.trim()), "a secret is in the log");
    }
}

const SNI_APP: &str = "cdcdcdcd-0000-4000-8000-000000000002";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/../graph-auth/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// A CA and an RSA leaf for `subject` it signs (the leaf's key is the fixture key).
fn issued_certificate(subject: &str) -> (rcgen::Certificate, rcgen::Certificate) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Contoso Test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key_pem = String::from_utf8(fixture("key-pkcs8.pem")).unwrap();
    let leaf_key =
        rcgen::KeyPair::from_pkcs8_pem_and_sign_algo(&key_pem, &rcgen::PKCS_RSA_SHA256).unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, subject);
    let leaf = params.signed_by(&leaf_key, &ca, &ca_key).unwrap();
    (ca, leaf)
}

/// Subject name + issuer authentication: no thumbprint registered, the `x5c` chain proves the
/// certificate; from a PEM and from a password-protected PKCS#12 file through the environment.
#[tokio::test]
async fn a_certificate_chain_in_x5c_authenticates_by_subject_name_and_issuer() {
    use msgraph_typed_auth::{
        ClientCertificate, ClientCertificateCredential, Cloud, EnvironmentCredential,
    };
    use msgraph_typed_emulator::SubjectNameCredential;

    let (ca, leaf) = issued_certificate("app.contoso.com");
    let mut app = AppConfig::new(SNI_APP).roles(["User.Read.All"]);
    app.subject_name_credentials
        .push(SubjectNameCredential::new("app.contoso.com", ca.pem()));
    let emu = Emulator::builder().app(app).start().await.unwrap();
    let options = || {
        CredentialOptions::default()
            .with_cloud(Cloud::custom(&emu.authority_url(), &emu.graph_url()).unwrap())
    };
    let chain_pem = format!("{}{}", leaf.pem(), ca.pem());
    let credential = |x5c: bool| {
        let certificate =
            ClientCertificate::from_pem_parts(chain_pem.as_bytes(), &fixture("key-pkcs8.pem"))
                .unwrap()
                .with_x5c(x5c);
        ClientCertificateCredential::with_options(emu.tenant_id(), SNI_APP, certificate, options())
            .unwrap()
    };
    let token = credential(true).get_token(&graph_request()).await.unwrap();
    assert_eq!(users_status(&emu, token.secret()).await, 200);
    // Without the chain the emulator knows no thumbprint of this app: refused.
    let error = credential(false)
        .get_token(&graph_request())
        .await
        .unwrap_err();
    assert_eq!(error.error_code(), Some("invalid_client"), "{error}");

    // The same certificate as a .pfx with a password, as Azure.Identity's variables name it.
    let key_der = pem_contents(&fixture("key-pkcs8.pem"));
    let keychain = p12_keystore::PrivateKeyChain::new(
        vec![7u8; 20],
        p12_keystore::PrivateKey::from_der(&key_der).unwrap(),
        [
            p12_keystore::Certificate::from_der(leaf.der()).unwrap(),
            p12_keystore::Certificate::from_der(ca.der()).unwrap(),
        ],
    );
    let mut store = p12_keystore::KeyStore::new();
    store.add_entry(
        "app",
        p12_keystore::KeyStoreEntry::PrivateKeyChain(keychain),
    );
    let pfx = store.writer("pfx-password").write().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.pfx");
    std::fs::write(&path, pfx).unwrap();
    let path = path.to_str().unwrap().to_string();
    let from_env = |password: &str| {
        EnvironmentCredential::from_lookup(
            vars(&[
                ("AZURE_TENANT_ID", emu.tenant_id()),
                ("AZURE_CLIENT_ID", SNI_APP),
                ("AZURE_CLIENT_CERTIFICATE_PATH", &path),
                ("AZURE_CLIENT_CERTIFICATE_PASSWORD", password),
                ("AZURE_CLIENT_SEND_CERTIFICATE_CHAIN", "true"),
            ]),
            options(),
        )
    };
    let token = from_env("pfx-password")
        .get_token(&graph_request())
        .await
        .unwrap();
    assert_eq!(users_status(&emu, token.secret()).await, 200);
    let wrong = from_env("wrong-password");
    assert!(!wrong.is_configured());
    let error = wrong.get_token(&graph_request()).await.unwrap_err();
    assert!(
        error.is_configuration() && error.to_string().contains("PKCS#12"),
        "{error}"
    );
}

fn pem_contents(pem: &[u8]) -> Vec<u8> {
    use base64::Engine;
    let text = String::from_utf8_lossy(pem);
    let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap()
}

/// Inside the chain, an IMDS that answers (even with a 503) is there: the ordinary retries
/// apply and the token comes.
#[tokio::test]
async fn the_chain_retries_an_imds_that_answered() {
    let emu = Emulator::start().await.unwrap();
    emu.control()
        .inject(Fault::status(503).times(1).matching("/metadata/identity/"));
    let chain = DefaultAzureCredential::with_options(
        DefaultAzureCredentialOptions::default()
            .without_developer_tools()
            .with_lookup(vars(&[("AZURE_POD_IDENTITY_AUTHORITY_HOST", emu.url())])),
    )
    .unwrap();
    chain.get_token(&graph_request()).await.unwrap();
    assert_eq!(
        chain.selected_source(),
        Some(DefaultSource::ManagedIdentity)
    );
    assert_eq!(emu.control().requests_to("/metadata/identity/"), 2);
}
