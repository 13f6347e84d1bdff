//! Fault injection: answer the next N matching requests with a throttle, an error, a claims
//! challenge, a delay, a dropped connection or a truncated body. Applied as a middleware around
//! every route (identity and Graph) except the admin routes under `/_emulator/`.

use std::time::{Duration, SystemTime};

use axum::http::Method;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::counters::is_token_endpoint;

mod layer;

pub(crate) use layer::{DropConnectionMarker, graph_status_error, layer};

/// How a `Retry-After` header is written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RetryAfter {
    /// Delta-seconds, e.g. `Retry-After: 2`.
    Seconds(u64),
    /// Decimal seconds as Graph sometimes sends, e.g. `Retry-After: 2.128`.
    DecimalSeconds(f64),
    /// An HTTP-date this far in the future (computed when the response is sent, whole seconds),
    /// e.g. `Retry-After: Wed, 21 Oct 2026 07:28:00 GMT`. JSON: `{"http_date_in_secs": 30}`.
    #[serde(rename = "http_date_in_secs", with = "secs")]
    HttpDateIn(Duration),
    /// Any raw header value (a date in the past, garbage, ...).
    Raw(String),
}

impl RetryAfter {
    pub(crate) fn header_value(&self) -> String {
        match self {
            RetryAfter::Seconds(s) => s.to_string(),
            RetryAfter::DecimalSeconds(s) => format!("{s:.3}"),
            RetryAfter::HttpDateIn(d) => httpdate::fmt_http_date(SystemTime::now() + *d),
            RetryAfter::Raw(raw) => raw.clone(),
        }
    }
}

/// What a fault does to a matching request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum FaultKind {
    /// Answer with this status (typically 429, 503 or 504) and an error body in the shape of the
    /// route (Graph: `{"error":{"code":"TooManyRequests",...}}`; identity: an Entra OAuth error).
    Status {
        /// The HTTP status code.
        status: u16,
        /// An optional `Retry-After` header.
        #[serde(default)]
        retry_after: Option<RetryAfter>,
    },
    /// 401 `InvalidAuthenticationToken` although the token is valid.
    Unauthorized,
    /// A Continuous Access Evaluation claims challenge: 401 with
    /// `WWW-Authenticate: Bearer ..., error="insufficient_claims", claims="<base64>"`.
    ClaimsChallenge,
    /// Wait this long, then handle the request normally. JSON: `{"kind":"delay","duration_ms":500}`.
    Delay {
        /// How long to wait.
        #[serde(rename = "duration_ms", with = "millis")]
        duration: Duration,
    },
    /// Close the connection without sending a response.
    DropConnection,
    /// Read this many bytes of the request body, then close the connection without answering
    /// (an upload cut mid-body). JSON: `{"kind":"drop_after_bytes","bytes":65536}`.
    DropAfterBytes {
        /// Bytes of the body read before the connection is closed.
        bytes: u64,
    },
    /// Handle the request normally but send only half of the body while declaring its full
    /// `Content-Length`, then close the connection.
    TruncatedBody,
    /// The token endpoint answers 500 with an Entra `server_error` body.
    TokenEndpointServerError,
    /// The token endpoint answers 429 with `Retry-After` and a `temporarily_unavailable` body.
    TokenEndpointThrottled {
        /// The `Retry-After` header.
        retry_after: RetryAfter,
    },
    /// The token endpoint answers with an HTML page (as a proxy or captive portal would).
    TokenEndpointHtml {
        /// The status of the HTML answer.
        status: u16,
    },
}

impl FaultKind {
    fn targets_token_endpoint(&self) -> bool {
        matches!(
            self,
            FaultKind::TokenEndpointServerError
                | FaultKind::TokenEndpointThrottled { .. }
                | FaultKind::TokenEndpointHtml { .. }
        )
    }
}

/// `Duration` as whole seconds in JSON.
mod secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_secs())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_secs)
    }
}

/// `Duration` as milliseconds in JSON.
mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

/// Which requests a fault applies to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PathMatch {
    /// Every request (except the admin routes).
    Any,
    /// Requests whose path starts with this prefix, e.g. `/v1.0/users`.
    Prefix(String),
    /// Requests to any tenant's token endpoint.
    TokenEndpoint,
}

impl PathMatch {
    fn matches(&self, path: &str) -> bool {
        match self {
            PathMatch::Any => true,
            PathMatch::Prefix(prefix) => path.starts_with(prefix.as_str()),
            PathMatch::TokenEndpoint => is_token_endpoint(path),
        }
    }
}

/// A fault to inject: what happens, to which requests, how many times.
///
/// ```
/// use std::time::Duration;
/// use msgraph_typed_emulator::{Fault, RetryAfter};
///
/// let throttle = Fault::status(429).retry_after(RetryAfter::Seconds(1)).times(2).matching("/v1.0/users");
/// let slow = Fault::delay(Duration::from_millis(200)).method("GET");
/// let sts_down = Fault::token_endpoint_server_error();
/// # let _ = (throttle, slow, sts_down);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fault {
    /// What happens.
    #[serde(flatten)]
    pub kind: FaultKind,
    /// How many matching requests it applies to. Defaults to 1.
    #[serde(default = "one")]
    pub times: u32,
    /// Which paths it applies to. Defaults to all Graph requests (`/v1.0`), or the token endpoint
    /// for the `TokenEndpoint*` kinds.
    #[serde(default, rename = "path")]
    pub path: Option<PathMatch>,
    /// Only requests with this method (e.g. `GET`). Defaults to any method.
    #[serde(default)]
    pub method: Option<String>,
    /// How many matching requests pass untouched before the fault applies (e.g. `2`: the third
    /// fragment of an upload fails). Defaults to 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub skip: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn one() -> u32 {
    1
}

impl Fault {
    /// A fault of this kind, once, on the default paths.
    pub fn new(kind: FaultKind) -> Self {
        Fault {
            kind,
            times: 1,
            path: None,
            method: None,
            skip: 0,
        }
    }

    /// Answer with `status` (429, 503, 504, ...) and the route's error body.
    pub fn status(status: u16) -> Self {
        Self::new(FaultKind::Status {
            status,
            retry_after: None,
        })
    }

    /// 401 although the token is valid.
    pub fn unauthorized() -> Self {
        Self::new(FaultKind::Unauthorized)
    }

    /// A CAE `insufficient_claims` challenge.
    pub fn claims_challenge() -> Self {
        Self::new(FaultKind::ClaimsChallenge)
    }

    /// Delay the response by `duration`.
    pub fn delay(duration: Duration) -> Self {
        Self::new(FaultKind::Delay { duration })
    }

    /// Close the connection without a response.
    pub fn drop_connection() -> Self {
        Self::new(FaultKind::DropConnection)
    }

    /// Read `bytes` of the request body, then close the connection without answering.
    pub fn drop_after_bytes(bytes: u64) -> Self {
        Self::new(FaultKind::DropAfterBytes { bytes })
    }

    /// Send half of the body with the full `Content-Length`.
    pub fn truncated_body() -> Self {
        Self::new(FaultKind::TruncatedBody)
    }

    /// The token endpoint answers 500.
    pub fn token_endpoint_server_error() -> Self {
        Self::new(FaultKind::TokenEndpointServerError)
    }

    /// The token endpoint answers 429 with this `Retry-After`.
    pub fn token_endpoint_throttled(retry_after: RetryAfter) -> Self {
        Self::new(FaultKind::TokenEndpointThrottled { retry_after })
    }

    /// The token endpoint answers an HTML page with this status.
    pub fn token_endpoint_html(status: u16) -> Self {
        Self::new(FaultKind::TokenEndpointHtml { status })
    }

    /// Adds a `Retry-After` header (only meaningful for [`Fault::status`]).
    pub fn retry_after(mut self, retry_after: RetryAfter) -> Self {
        if let FaultKind::Status {
            retry_after: slot, ..
        } = &mut self.kind
        {
            *slot = Some(retry_after);
        }
        self
    }

    /// Applies to the next `n` matching requests (default 1).
    pub fn times(mut self, n: u32) -> Self {
        self.times = n;
        self
    }

    /// Applies to requests whose path starts with `prefix` (e.g. `/v1.0/users`, `/v1.0`, `/`).
    pub fn matching(mut self, prefix: impl Into<String>) -> Self {
        self.path = Some(PathMatch::Prefix(prefix.into()));
        self
    }

    /// Applies to every request (except the admin routes).
    pub fn matching_any(mut self) -> Self {
        self.path = Some(PathMatch::Any);
        self
    }

    /// Lets the first `n` matching requests pass before the fault applies.
    pub fn after(mut self, n: u32) -> Self {
        self.skip = n;
        self
    }

    /// Applies only to requests with this HTTP method.
    pub fn method(mut self, method: impl Into<String>) -> Self {
        self.method = Some(method.into().to_ascii_uppercase());
        self
    }

    fn path_match(&self) -> PathMatch {
        self.path.clone().unwrap_or_else(|| {
            if self.kind.targets_token_endpoint() {
                PathMatch::TokenEndpoint
            } else {
                PathMatch::Prefix("/v1.0".to_owned())
            }
        })
    }
}

/// The queue of injected faults (first match wins).
#[derive(Debug, Default)]
pub(crate) struct Faults {
    queue: Mutex<Vec<Fault>>,
}

impl Faults {
    pub(crate) fn inject(&self, fault: Fault) {
        if fault.times > 0 {
            self.queue.lock().push(fault);
        }
    }

    pub(crate) fn clear(&self) {
        self.queue.lock().clear();
    }

    /// Faults still waiting for requests.
    pub(crate) fn pending(&self) -> Vec<Fault> {
        self.queue.lock().clone()
    }

    /// Takes one use of the first fault matching this request.
    pub(crate) fn take(&self, method: &Method, path: &str) -> Option<FaultKind> {
        let mut queue = self.queue.lock();
        let index = queue.iter().position(|f| {
            f.path_match().matches(path)
                && f.method
                    .as_deref()
                    .is_none_or(|m| m.eq_ignore_ascii_case(method.as_str()))
        })?;
        let fault = &mut queue[index];
        if fault.skip > 0 {
            fault.skip -= 1;
            return None;
        }
        fault.times -= 1;
        let kind = fault.kind.clone();
        if fault.times == 0 {
            queue.remove(index);
        }
        Some(kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_forms_parse_into_the_builder_values() {
        let cases = [
            (
                r#"{"kind":"delay","duration_ms":250}"#,
                Fault::delay(Duration::from_millis(250)),
            ),
            (
                r#"{"kind":"status","status":504,"retry_after":{"http_date_in_secs":30},"times":2}"#,
                Fault::status(504)
                    .retry_after(RetryAfter::HttpDateIn(Duration::from_secs(30)))
                    .times(2),
            ),
            (
                r#"{"kind":"token_endpoint_throttled","retry_after":{"raw":"soon"}}"#,
                Fault::token_endpoint_throttled(RetryAfter::Raw("soon".into())),
            ),
            (
                r#"{"kind":"drop_after_bytes","bytes":1024,"skip":2,"path":{"prefix":"/upload/"}}"#,
                Fault::drop_after_bytes(1024).after(2).matching("/upload/"),
            ),
            (
                r#"{"kind":"drop_connection","path":"token_endpoint","method":"POST"}"#,
                Fault {
                    path: Some(PathMatch::TokenEndpoint),
                    ..Fault::drop_connection().method("post")
                },
            ),
        ];
        for (json, expected) in cases {
            let parsed: Fault =
                serde_json::from_str(json).unwrap_or_else(|e| panic!("{json}: {e}"));
            assert_eq!(parsed, expected, "{json}");
            let again: Fault =
                serde_json::from_str(&serde_json::to_string(&parsed).unwrap()).unwrap();
            assert_eq!(again, expected);
        }
    }

    #[test]
    fn retry_after_header_values() {
        assert_eq!(RetryAfter::Seconds(2).header_value(), "2");
        assert_eq!(RetryAfter::DecimalSeconds(2.128).header_value(), "2.128");
        let date = RetryAfter::HttpDateIn(Duration::from_secs(60)).header_value();
        let parsed = httpdate::parse_http_date(&date).unwrap();
        assert!(parsed > SystemTime::now());
    }

    #[test]
    fn faults_match_by_path_and_method_and_count_down() {
        let faults = Faults::default();
        faults.inject(
            Fault::status(429)
                .times(2)
                .matching("/v1.0/users")
                .method("GET"),
        );
        faults.inject(Fault::token_endpoint_server_error());
        assert!(faults.take(&Method::POST, "/v1.0/users").is_none());
        assert!(faults.take(&Method::GET, "/v1.0/groups").is_none());
        assert!(faults.take(&Method::GET, "/v1.0/users/abc").is_some());
        assert!(faults.take(&Method::GET, "/v1.0/users").is_some());
        assert!(
            faults.take(&Method::GET, "/v1.0/users").is_none(),
            "used up"
        );
        assert!(faults.take(&Method::POST, "/v1.0/users").is_none());
        assert_eq!(
            faults.take(&Method::POST, "/common/oauth2/v2.0/token"),
            Some(FaultKind::TokenEndpointServerError)
        );
        assert!(faults.pending().is_empty());
    }
}
