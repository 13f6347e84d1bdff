//! Compiled only for tests: `managed_identity/mod.rs` includes this file under #[cfg(test)].

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::header::HeaderMap;

use super::response::parse;
use super::*;

fn error(status: u16) -> AuthError {
    AuthError::ManagedIdentity {
        source: ManagedIdentitySource::Imds,
        status,
        message: "m".into(),
        retry_after: None,
    }
}

#[test]
fn scopes_become_one_resource() {
    let one = TokenRequest::new(["https://graph.microsoft.com/.default"]);
    assert_eq!(
        resource_of(&one, "x").unwrap(),
        "https://graph.microsoft.com"
    );
    let bare = TokenRequest::new(["https://vault.azure.net"]);
    assert_eq!(resource_of(&bare, "x").unwrap(), "https://vault.azure.net");
    let two = TokenRequest::new(["https://graph.microsoft.com/User.Read", "openid"]);
    let shown = resource_of(&two, "x").unwrap_err().to_string();
    assert!(
        shown.contains("exactly one scope") && shown.contains("openid"),
        "{shown}"
    );
    assert!(
        resource_of(&TokenRequest::new([" "]), "x")
            .unwrap_err()
            .is_configuration()
    );
}

#[test]
fn imds_retries_gone_for_about_seventy_seconds_and_the_rest_five_times() {
    let rules = ManagedIdentityRetry::default();
    let mut gone = rules.schedule(ManagedIdentitySource::Imds);
    let mut waits = Vec::new();
    while let Some(delay) = gone.next_delay(&error(410)) {
        waits.push(delay);
    }
    let total: Duration = waits.iter().sum();
    assert!(waits.len() > 5, "{waits:?}");
    assert!(
        total >= Duration::from_secs(60) && total <= Duration::from_secs(70),
        "{total:?}"
    );
    assert_eq!(waits[0], Duration::from_millis(800));
    assert_eq!(waits[1], Duration::from_millis(1600));

    for status in [404, 429, 500, 503] {
        let mut schedule = rules.schedule(ManagedIdentitySource::Imds);
        let mut n = 0;
        while schedule.next_delay(&error(status)).is_some() {
            n += 1;
        }
        assert_eq!(n, 5, "{status}");
    }
    for status in [400, 401, 403, 501, 505] {
        assert!(
            rules
                .schedule(ManagedIdentitySource::Imds)
                .next_delay(&error(status))
                .is_none(),
            "{status}"
        );
    }
    // 404 and 410 mean something else off IMDS: final.
    let app_service = |status| AuthError::ManagedIdentity {
        source: ManagedIdentitySource::AppService,
        status,
        message: "m".into(),
        retry_after: None,
    };
    let mut schedule = rules.schedule(ManagedIdentitySource::AppService);
    assert!(schedule.next_delay(&app_service(404)).is_none());
    assert!(schedule.next_delay(&app_service(410)).is_none());
    assert!(schedule.next_delay(&app_service(503)).is_some());
}

#[test]
fn a_retry_after_is_waited_unless_it_is_too_long() {
    let rules = ManagedIdentityRetry::default();
    let throttled = |secs| AuthError::ManagedIdentity {
        source: ManagedIdentitySource::Imds,
        status: 429,
        message: "m".into(),
        retry_after: Some(Duration::from_secs(secs)),
    };
    let mut schedule = rules.schedule(ManagedIdentitySource::Imds);
    assert_eq!(
        schedule.next_delay(&throttled(3)),
        Some(Duration::from_secs(3))
    );
    assert_eq!(schedule.next_delay(&throttled(3600)), None);
}

#[test]
fn answers_in_each_shape() {
    let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let headers = HeaderMap::new();
    let token = |body: &str, source| {
        parse(source, 200, &headers, body.as_bytes()).and_then(|a| a.access_token(now, source))
    };
    // IMDS: strings of digits; expires_on wins.
    let imds = token(
        r#"{"access_token":"t","expires_in":"3599","expires_on":"1700003600","resource":"r","token_type":"Bearer"}"#,
        ManagedIdentitySource::Imds,
    )
    .unwrap();
    assert_eq!(imds.expires_on(), now + Duration::from_secs(3600));
    // App Service: expires_on as a number only.
    let app = token(
        r#"{"access_token":"t","expires_on":1700000600}"#,
        ManagedIdentitySource::AppService,
    )
    .unwrap();
    assert_eq!(app.expires_on(), now + Duration::from_secs(600));
    // expires_in alone.
    let relative = token(
        r#"{"access_token":"t","expires_in":120}"#,
        ManagedIdentitySource::CloudShell,
    )
    .unwrap();
    assert_eq!(relative.expires_on(), now + Duration::from_secs(120));
    // Unusable answers are typed, never a token.
    for bad in [
        r#"{"expires_in":1}"#,
        r#"{"access_token":"t"}"#,
        "<html>",
        "",
    ] {
        let error = token(bad, ManagedIdentitySource::Imds).unwrap_err();
        assert!(
            matches!(error, AuthError::InvalidResponse { .. }),
            "{bad}: {error}"
        );
    }
    let _ = SystemTime::now();
}

#[test]
fn errors_name_the_source_and_what_it_said() {
    let headers = HeaderMap::new();
    let imds = parse(
        ManagedIdentitySource::Imds,
        400,
        &headers,
        br#"{"error":"invalid_request","error_description":"Identity not found"}"#,
    )
    .err()
    .unwrap();
    assert_eq!(imds.status(), Some(400));
    assert_eq!(
        imds.to_string(),
        "managed identity (IMDS) answered HTTP 400: Identity not found"
    );
    let app = parse(
        ManagedIdentitySource::AppService,
        401,
        &headers,
        br#"{"statusCode":401,"message":"The X-IDENTITY-HEADER header is not valid."}"#,
    )
    .err()
    .unwrap();
    assert!(app.to_string().contains("App Service") && app.to_string().contains("not valid"));
    let html = parse(
        ManagedIdentitySource::AzureArc,
        502,
        &headers,
        b"<html>bad gateway</html>",
    )
    .err()
    .unwrap();
    assert!(
        html.is_retryable() && html.to_string().contains("Azure Arc"),
        "{html}"
    );
}

#[test]
fn endpoints_in_clear_only_on_the_host() {
    assert!(ManagedIdentityEndpoint::imds("http://169.254.169.254").is_ok());
    assert!(ManagedIdentityEndpoint::imds("http://127.0.0.1:8400").is_ok());
    assert_eq!(
        ManagedIdentityEndpoint::imds("http://localhost:1/prefix")
            .unwrap()
            .url()
            .as_str(),
        "http://localhost:1/prefix/metadata/identity/oauth2/token"
    );
    assert!(ManagedIdentityEndpoint::app_service("https://identity.example", "h").is_ok());
    for bad in ["http://identity.example", "ftp://127.0.0.1", "not a url"] {
        let error = ManagedIdentityEndpoint::app_service(bad, "h").unwrap_err();
        assert!(error.is_configuration(), "{bad}: {error}");
    }
    assert!(ManagedIdentityEndpoint::app_service("http://127.0.0.1:1", " ").is_err());
    let shown = format!(
        "{:?}",
        ManagedIdentityEndpoint::app_service("http://127.0.0.1:1", "s3cr3t-header").unwrap()
    );
    assert!(!shown.contains("s3cr3t-header"), "{shown}");
}

#[test]
fn the_environment_picks_the_source_in_azure_identity_order() {
    let detect = |vars: &[(&str, &str)]| {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ManagedIdentityEndpoint::from_environment(&move |name| {
            vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
    };
    let source = |vars: &[(&str, &str)]| detect(vars).unwrap().source();
    assert_eq!(source(&[]), ManagedIdentitySource::Imds);
    assert_eq!(
        detect(&[]).unwrap().url().as_str(),
        "http://169.254.169.254/metadata/identity/oauth2/token"
    );
    assert_eq!(
        detect(&[("AZURE_POD_IDENTITY_AUTHORITY_HOST", "http://127.0.0.1:9")])
            .unwrap()
            .url()
            .as_str(),
        "http://127.0.0.1:9/metadata/identity/oauth2/token"
    );
    let app = [
        ("IDENTITY_ENDPOINT", "http://127.0.0.1:1/msi/token"),
        ("IDENTITY_HEADER", "h"),
    ];
    assert_eq!(source(&app), ManagedIdentitySource::AppService);
    let arc = [
        (
            "IDENTITY_ENDPOINT",
            "http://localhost:40342/metadata/identity/oauth2/token",
        ),
        ("IMDS_ENDPOINT", "http://localhost:40342"),
    ];
    assert_eq!(source(&arc), ManagedIdentitySource::AzureArc);
    assert_eq!(
        source(&[("MSI_ENDPOINT", "http://localhost:50342/oauth2/token")]),
        ManagedIdentitySource::CloudShell
    );
    assert!(
        detect(&[("MSI_ENDPOINT", "http://localhost:1"), ("MSI_SECRET", "s")])
            .unwrap_err()
            .is_configuration()
    );
    let fabric = [
        ("IDENTITY_ENDPOINT", "https://127.0.0.1:1"),
        ("IDENTITY_HEADER", "h"),
        ("IDENTITY_SERVER_THUMBPRINT", "t"),
    ];
    assert!(
        detect(&fabric)
            .unwrap_err()
            .to_string()
            .contains("Service Fabric")
    );
    assert!(detect(&[("AZURE_POD_IDENTITY_AUTHORITY_HOST", "http://imds.example")]).is_err());
    let half = detect(&[("IDENTITY_ENDPOINT", "http://127.0.0.1:1/msi/token")]).unwrap_err();
    assert!(
        half.to_string().contains("without IDENTITY_HEADER"),
        "{half}"
    );
}

#[test]
fn arc_and_cloud_shell_refuse_a_user_assigned_identity() {
    let options = ManagedIdentityOptions::default()
        .with_endpoint(ManagedIdentityEndpoint::cloud_shell("http://127.0.0.1:1/token").unwrap())
        .with_id(ManagedIdentityId::ClientId("c".into()));
    let error = ManagedIdentityCredential::with_options(options).unwrap_err();
    assert!(
        error.to_string().contains("only the system-assigned"),
        "{error}"
    );
}
