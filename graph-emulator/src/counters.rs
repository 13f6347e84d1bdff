//! Request counters: per path, per token grant type, token requests and Graph requests.

use std::collections::{BTreeMap, HashMap};

use parking_lot::Mutex;
use serde::Serialize;

/// A snapshot of the counters (also the body of `GET /_emulator/counters`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Requests to any `/{tenant}/oauth2/v2.0/token` endpoint.
    pub token_requests: u64,
    /// Requests under `/v1.0`.
    pub graph_requests: u64,
    /// Token requests by `grant_type` (e.g. `client_credentials`).
    pub by_grant_type: BTreeMap<String, u64>,
    /// Requests by `METHOD path` (path without query), e.g. `GET /v1.0/users`.
    pub by_route: BTreeMap<String, u64>,
}

#[derive(Debug, Default)]
struct Data {
    token_requests: u64,
    graph_requests: u64,
    by_grant_type: HashMap<String, u64>,
    /// Keyed by path; values per method.
    by_path: HashMap<String, HashMap<String, u64>>,
}

/// Thread-safe request counters.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    data: Mutex<Data>,
}

/// True if `path` is a token endpoint.
pub(crate) fn is_token_endpoint(path: &str) -> bool {
    path.ends_with("/oauth2/v2.0/token") || path.ends_with("/oauth2/token")
}

/// True if `path` is a Graph route.
pub(crate) fn is_graph_path(path: &str) -> bool {
    path == "/v1.0" || path.starts_with("/v1.0/")
}

impl Counters {
    /// Records one request.
    pub(crate) fn record(&self, method: &str, path: &str, grant_type: Option<&str>) {
        let mut data = self.data.lock();
        if is_token_endpoint(path) {
            data.token_requests += 1;
            let grant = grant_type.unwrap_or("(none)").to_owned();
            *data.by_grant_type.entry(grant).or_default() += 1;
        }
        if is_graph_path(path) {
            data.graph_requests += 1;
        }
        *data
            .by_path
            .entry(path.to_owned())
            .or_default()
            .entry(method.to_owned())
            .or_default() += 1;
    }

    /// Requests whose path starts with `prefix` (any method).
    pub(crate) fn requests_to(&self, prefix: &str) -> u64 {
        let data = self.data.lock();
        data.by_path
            .iter()
            .filter(|(path, _)| path.starts_with(prefix))
            .flat_map(|(_, methods)| methods.values())
            .sum()
    }

    /// Token requests with this `grant_type`.
    pub(crate) fn token_requests_for_grant(&self, grant_type: &str) -> u64 {
        self.data
            .lock()
            .by_grant_type
            .get(grant_type)
            .copied()
            .unwrap_or(0)
    }

    /// A snapshot of all counters.
    pub(crate) fn snapshot(&self) -> Counts {
        let data = self.data.lock();
        Counts {
            token_requests: data.token_requests,
            graph_requests: data.graph_requests,
            by_grant_type: data
                .by_grant_type
                .iter()
                .map(|(k, v)| (k.clone(), *v))
                .collect(),
            by_route: data
                .by_path
                .iter()
                .flat_map(|(path, methods)| {
                    methods
                        .iter()
                        .map(move |(m, n)| (format!("{m} {path}"), *n))
                })
                .collect(),
        }
    }

    /// Sets every counter back to zero.
    pub(crate) fn reset(&self) {
        *self.data.lock() = Data::default();
    }
}
