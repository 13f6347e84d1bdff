//! Helpers shared by the Graph-side tests: start an emulator, get tokens, send requests, compare
//! response shapes.

#![allow(dead_code)]

use msgraph_typed_emulator::{Emulator, seeded};
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::Value;

pub const GRAPH: &str = "https://graph.microsoft.com";
pub const ADELE: &str = "87d349ed-44d7-43e1-9a83-5f2406dee5bd";
pub const MEGAN: &str = "6e7b768e-07e2-4810-8459-485f84f8f204";
pub const SARA: &str = "7d54cb02-aaa3-4016-9f9c-a4b49422dd9b";
pub const GRADY: &str = "e8b753b5-4117-464e-9a08-713e1ff266b3";
pub const JOSEPH: &str = "11111111-2222-3333-4444-555555555555";
pub const ALL_USERS: &str = "c11b732b-0e16-46c1-b0fa-bd32c8a42455";
pub const AAD_CONTOSO_USERS: &str = "3f927b40-06f8-4352-b8e4-37a7ba04b7ff";
pub const LICENSING: &str = "fee2c45b-915a-4a64-b130-f4eb9e75525e";
pub const TIER: &str = "4fe90ae7-065a-478b-9400-e0a0e1cbd540";
pub const FINANCE: &str = "e0c3beaf-eeb4-43d8-abc5-94f037a65697";
pub const GOLF_DISCUSSION: &str = "d7797254-3084-44d0-99c9-a3b5ab149538";
pub const LIBRARY_ASSIST: &str = "b320ee12-b1cd-4cca-b648-a437be61c5cd";

/// A running emulator with an app-only and a delegated (Adele) token.
pub struct Env {
    pub emu: Emulator,
    pub http: reqwest::Client,
    pub app: String,
    pub user: String,
}

/// A response: status, headers, body (JSON, or a JSON string for non-JSON bodies).
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a Graph error with this status and code; returns the message.
    pub fn assert_error(&self, status: u16, code: &str) -> String {
        assert_eq!(self.status, status, "{:#}", self.body);
        assert_eq!(self.body["error"]["code"], code, "{:#}", self.body);
        let inner = &self.body["error"]["innerError"];
        for key in ["date", "request-id", "client-request-id"] {
            assert!(
                inner[key].is_string(),
                "innerError.{key} missing: {:#}",
                self.body
            );
        }
        assert_eq!(inner["request-id"].as_str(), self.header("request-id"));
        self.body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

pub async fn env() -> Env {
    env_with(0).await
}

pub async fn env_with(users: usize) -> Env {
    let emu = Emulator::builder()
        .users(users)
        .start()
        .await
        .expect("emulator starts");
    let http = reqwest::Client::new();
    let token: Value = http
        .post(emu.token_endpoint())
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", seeded::DAEMON_CLIENT_ID),
            ("client_secret", seeded::DAEMON_CLIENT_SECRET),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
        .send()
        .await
        .expect("token request")
        .json()
        .await
        .expect("token JSON");
    let app = token["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned();
    let user = emu
        .control()
        .issue_user_token(
            "AdeleV@contoso.com",
            GRAPH,
            &["User.Read", "Directory.Read.All"],
        )
        .expect("user token");
    Env {
        emu,
        http,
        app,
        user,
    }
}

impl Env {
    /// An absolute URL for a path below /v1.0 (or an absolute URL as is).
    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}/{}", self.emu.graph_url(), path.trim_start_matches('/'))
        }
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: &str,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Resp {
        let mut request = self.http.request(method, self.url(path)).bearer_auth(token);
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.expect("request sent");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Resp {
            status,
            headers,
            body,
        }
    }

    /// GET with the app token.
    pub async fn get(&self, path: &str) -> Resp {
        self.send(Method::GET, path, &self.app, &[], None).await
    }

    /// GET with the app token and `ConsistencyLevel: eventual`.
    pub async fn get_eventual(&self, path: &str) -> Resp {
        self.send(
            Method::GET,
            path,
            &self.app,
            &[("ConsistencyLevel", "eventual")],
            None,
        )
        .await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Resp {
        self.send(Method::POST, path, &self.app, &[], Some(body))
            .await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> Resp {
        self.send(Method::PATCH, path, &self.app, &[], Some(body))
            .await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        self.send(Method::DELETE, path, &self.app, &[], None).await
    }

    /// Follows `@odata.nextLink` from `first`, returning every item; asserts `@odata.count` only on the
    /// first page and no repeated link.
    pub async fn all_pages(&self, first: &str, headers: &[(&str, &str)]) -> (Vec<Value>, usize) {
        let mut items = Vec::new();
        let mut url = first.to_owned();
        let mut pages = 0;
        let mut seen = std::collections::HashSet::new();
        loop {
            let r = self.send(Method::GET, &url, &self.app, headers, None).await;
            assert_eq!(r.status, 200, "{url}: {:#}", r.body);
            if pages > 0 {
                assert!(
                    r.body.get("@odata.count").is_none(),
                    "count on a later page"
                );
            }
            pages += 1;
            items.extend(r.body["value"].as_array().cloned().unwrap_or_default());
            match r.body["@odata.nextLink"].as_str() {
                Some(next) => {
                    assert!(seen.insert(next.to_owned()), "repeated nextLink {next}");
                    url = next.to_owned();
                }
                None => return (items, pages),
            }
        }
    }
}

/// The JSON type of a value, for shape comparisons.
pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Asserts `actual` has the shape of `sample` (see [`shape_diff`]).
pub fn assert_shape(sample: &Value, actual: &Value, at: &str, exact_keys: bool) {
    if let Some(diff) = shape_diff(sample, actual, at, exact_keys) {
        panic!("{diff}\nactual: {actual:#}");
    }
}

/// The first difference between the shape of `sample` and `actual`: every key of a sample object must be
/// present with the same JSON type (null on either side matches anything, as nullable values differ
/// between tenants); for arrays of objects each sample element's shape must be found among the actual
/// elements (with the same `@odata.type` when the sample names one). With `exact_keys`, objects must have
/// exactly the sample's keys, `@odata.*` annotations aside (for `$select` samples).
pub fn shape_diff(sample: &Value, actual: &Value, at: &str, exact_keys: bool) -> Option<String> {
    match (sample, actual) {
        (Value::Null, _) | (_, Value::Null) => None,
        (Value::Object(s), Value::Object(a)) => {
            for (k, sv) in s {
                let Some(av) = a.get(k) else {
                    return Some(format!("{at}: missing key '{k}'"));
                };
                if let Some(d) = shape_diff(sv, av, &format!("{at}.{k}"), exact_keys) {
                    return Some(d);
                }
            }
            if exact_keys {
                let mut sk: Vec<&String> = s.keys().filter(|k| !k.starts_with("@odata.")).collect();
                let mut ak: Vec<&String> = a.keys().filter(|k| !k.starts_with("@odata.")).collect();
                sk.sort();
                ak.sort();
                if sk != ak {
                    return Some(format!("{at}: keys {ak:?} differ from the sample's {sk:?}"));
                }
            }
            None
        }
        (Value::Array(s), Value::Array(a)) => {
            for (i, se) in s.iter().enumerate() {
                if !se.is_object() {
                    if let Some(ae) = a.first()
                        && kind(se) != kind(ae)
                    {
                        return Some(format!("{at}[{i}]: {} vs {}", kind(se), kind(ae)));
                    }
                    continue;
                }
                if a.is_empty() {
                    return Some(format!("{at}: the sample has items, the response none"));
                }
                let wanted = se.get("@odata.type");
                let candidates: Vec<&Value> = a
                    .iter()
                    .filter(|ae| wanted.is_none() || ae.get("@odata.type") == wanted)
                    .collect();
                if candidates.is_empty() {
                    return Some(format!("{at}: no item of type {wanted:?}"));
                }
                let diffs: Vec<String> = candidates
                    .iter()
                    .filter_map(|ae| shape_diff(se, ae, &format!("{at}[{i}]"), exact_keys))
                    .collect();
                if diffs.len() == candidates.len() {
                    return diffs.into_iter().next();
                }
            }
            None
        }
        (s, a) if kind(s) != kind(a) => Some(format!("{at}: sample {s} vs actual {a}")),
        _ => None,
    }
}
