//! Snapshots of `Error`'s Display built from the documented Graph error samples in
//! `testdata/graph-samples/error_*.json`: status, code, message, request-id,
//! client-request-id and date must all be there.

use std::path::PathBuf;

use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use msgraph_typed_core::Error;
use serde_json::Value;

fn samples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata/graph-samples")
}

/// The error of a sample's first exchange, as the pipeline would build it. Samples from
/// errors.md have no status; they are shown as 400.
fn error_from_sample(name: &str, extra_headers: &[(&str, &str)]) -> Error {
    let path = samples_dir().join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let sample: Value = serde_json::from_str(&text).unwrap();
    let response = &sample["exchanges"][0]["response"];
    let status = response["status"].as_u64().unwrap_or(400) as u16;
    let mut headers = HeaderMap::new();
    let documented = response["headers"].as_object().cloned().unwrap_or_default();
    for (name, value) in documented.iter() {
        headers.insert(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value.as_str().unwrap()).unwrap(),
        );
    }
    for (name, value) in extra_headers {
        headers.insert(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    let body = serde_json::to_vec(&response["body"]).unwrap();
    Error::service(StatusCode::from_u16(status).unwrap(), headers, &body)
}

#[test]
fn every_documented_error_sample_displays_status_code_message_and_ids() {
    let mut names: Vec<String> = std::fs::read_dir(samples_dir())
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with("error_") && n.ends_with(".json"))
        .map(|n| n.trim_end_matches(".json").to_string())
        .collect();
    names.sort();
    assert!(names.len() >= 7, "{names:?}");
    for name in names {
        let error = error_from_sample(&name, &[]);
        let shown = error.to_string();
        assert!(error.is_service());
        assert!(shown.contains(error.code().unwrap()), "{shown}");
        assert!(shown.contains(error.message().unwrap()), "{shown}");
        assert!(shown.contains(error.request_id().unwrap()), "{shown}");
        assert!(
            shown.contains(&error.status().unwrap().as_u16().to_string()),
            "{shown}"
        );
        insta::assert_snapshot!(name, shown);
    }
}

#[test]
fn headers_win_and_every_diagnostic_is_shown() {
    let error = error_from_sample(
        "error_throttling_429",
        &[
            ("request-id", "11111111-2222-3333-4444-555555555555"),
            ("client-request-id", "66666666-7777-8888-9999-000000000000"),
            ("date", "Tue, 18 Aug 2020 12:51:51 GMT"),
            (
                "x-ms-ags-diagnostic",
                r#"{"ServerInfo":{"DataCenter":"West US","Slice":"E","Ring":"1","ScaleUnit":"000","RoleInstance":"SJ1PEPF0000"}}"#,
            ),
        ],
    );
    assert_eq!(
        error.request_id(),
        Some("11111111-2222-3333-4444-555555555555")
    );
    assert_eq!(
        error.retry_after(),
        Some(std::time::Duration::from_millis(2128))
    );
    insta::assert_snapshot!(error.to_string());
}

#[test]
fn details_targets_and_unparsable_bodies_are_shown() {
    let body = serde_json::json!({"error": {
        "code": "Request_BadRequest",
        "message": "One or more properties are invalid.",
        "target": "user",
        "details": [{"code": "InvalidValue", "message": "mailNickname is invalid", "target": "mailNickname"}],
        "innerError": {"code": "outer", "request-id": "r-1", "innerError": {"code": "inner"}}
    }});
    let error = Error::service(
        StatusCode::BAD_REQUEST,
        HeaderMap::new(),
        body.to_string().as_bytes(),
    );
    insta::assert_snapshot!("details", error.to_string());

    let error = Error::service(
        StatusCode::BAD_GATEWAY,
        HeaderMap::new(),
        b"<html><body>upstream proxy error</body></html>",
    );
    assert_eq!(error.code(), None);
    assert_eq!(
        error.service_error().unwrap().raw_body(),
        Some("<html><body>upstream proxy error</body></html>")
    );
    insta::assert_snapshot!("raw_body", error.to_string());
}
