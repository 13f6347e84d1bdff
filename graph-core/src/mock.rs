//! A transport for tests, yours included (feature `test-util`): rules match the
//! method, path, query and JSON body; every call is recorded; paged fixtures serve next links.
//!
//! ```
//! use futures::TryStreamExt;
//! use msgraph_typed_core::mock::{MockResponse, MockTransport};
//! use msgraph_typed_core::{Client, NoContent};
//! use serde_json::json;
//!
//! # async fn demo() -> msgraph_typed_core::Result<()> {
//! let mock = MockTransport::new();
//! mock.serve_pages("/v1.0/users", vec![json!({"id": "1"}), json!({"id": "2"})], 1);
//! mock.on(http::Method::PATCH, "/v1.0/users/1")
//!     .json_body(json!({"accountEnabled": true}))
//!     .respond(MockResponse::status(204));
//! let client = Client::builder().transport(mock.clone()).build()?;
//! let users: Vec<serde_json::Value> = client.collection("users").stream().try_collect().await?;
//! assert_eq!(users.len(), 2);
//! client.request::<NoContent>(http::Method::PATCH, "users/1")
//!     .json_body(&json!({"accountEnabled": true})).send().await?;
//! assert_eq!(mock.calls_to(&http::Method::PATCH, "/v1.0/users/1").len(), 1);
//! # Ok(()) }
//! ```

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use parking_lot::Mutex;
use serde_json::Value;
use url::Url;

use crate::error::{Error, ErrorKind, Result, TransportError};
use crate::transport::{HttpRequest, HttpResponse, Transport};

type Responder = Arc<dyn Fn(&RecordedCall) -> Result<HttpResponse> + Send + Sync>;

/// A canned answer.
#[derive(Debug, Clone)]
pub struct MockResponse {
    response: HttpResponse,
}

impl MockResponse {
    /// An empty response with this status.
    pub fn status(status: u16) -> Self {
        Self {
            response: HttpResponse::new(
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            ),
        }
    }

    /// A JSON response.
    pub fn json(status: u16, body: Value) -> Self {
        Self::status(status)
            .header("content-type", "application/json")
            .body(body.to_string())
    }

    /// A plain-text response.
    pub fn text(status: u16, body: impl Into<String>) -> Self {
        Self::status(status)
            .header("content-type", "text/plain")
            .body(body.into())
    }

    /// Adds a header (an invalid name or value is ignored).
    #[must_use]
    pub fn header(mut self, name: &str, value: &str) -> Self {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            self.response.headers.append(name, value);
        }
        self
    }

    /// Sets the body.
    #[must_use]
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.response.body = body.into();
        self
    }

    /// The response this produces.
    pub fn into_response(self) -> HttpResponse {
        self.response
    }
}

/// A request the mock received.
#[derive(Debug, Clone)]
pub struct RecordedCall {
    /// The method.
    pub method: Method,
    /// The full URL.
    pub url: Url,
    /// The headers as sent (including `Authorization`: keep recorded calls out of logs).
    pub headers: HeaderMap,
    /// The body (empty for a streaming body, which the mock drains and records here too).
    pub body: Bytes,
}

impl RecordedCall {
    /// A header value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// A (decoded) query parameter.
    pub fn query(&self, name: &str) -> Option<String> {
        self.url
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    /// The body parsed as JSON.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

struct Rule {
    method: Option<Method>,
    path: Option<String>,
    query: Vec<(String, String)>,
    json_body: Option<Value>,
    remaining: Option<usize>,
    responder: Option<Responder>,
}

impl Rule {
    fn matches(&self, call: &RecordedCall) -> bool {
        self.remaining != Some(0)
            && self.responder.is_some()
            && self.method.as_ref().is_none_or(|m| *m == call.method)
            && self.path.as_deref().is_none_or(|p| p == call.url.path())
            && self
                .query
                .iter()
                .all(|(k, v)| call.query(k).as_deref() == Some(v.as_str()))
            && self
                .json_body
                .as_ref()
                .is_none_or(|expected| call.json().as_ref() == Some(expected))
    }
}

/// A [`Transport`] that answers from rules and records every call. Cheap to clone; clones
/// share rules and records.
#[derive(Clone, Default)]
pub struct MockTransport {
    rules: Arc<Mutex<Vec<Arc<Mutex<Rule>>>>>,
    calls: Arc<Mutex<Vec<RecordedCall>>>,
}

impl fmt::Debug for MockTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockTransport")
            .field("rules", &self.rules.lock().len())
            .field("calls", &self.calls.lock().len())
            .finish()
    }
}

/// A rule being configured; it is live as soon as it has a response.
pub struct MockRule {
    rule: Arc<Mutex<Rule>>,
}

impl MockRule {
    /// Requires a (decoded) query parameter value.
    pub fn query(self, name: &str, value: &str) -> Self {
        self.rule.lock().query.push((name.into(), value.into()));
        self
    }

    /// Requires a JSON body equal to `body`.
    pub fn json_body(self, body: Value) -> Self {
        self.rule.lock().json_body = Some(body);
        self
    }

    /// Answers with `response`.
    pub fn respond(self, response: MockResponse) -> Self {
        let response = response.into_response();
        self.rule.lock().responder = Some(Arc::new(move |_| Ok(response.clone())));
        self
    }

    /// Answers with a transport error (no response), e.g. a dropped connection.
    pub fn fail(self, message: &str) -> Self {
        let message = message.to_string();
        self.rule.lock().responder = Some(Arc::new(move |_| {
            Err(Error::transport(TransportError::new(message.clone(), None)))
        }));
        self
    }

    /// Answers as if the connection were reset after the request was sent, before any
    /// response byte: retried on idempotent requests.
    pub fn reset(self) -> Self {
        self.rule.lock().responder = Some(Arc::new(|_| {
            Err(Error::transport(
                TransportError::new("connection reset by peer (mock)", None)
                    .with_connection_lost(true),
            ))
        }));
        self
    }

    /// Answers as if the connection were refused: the request was not sent.
    pub fn refuse(self) -> Self {
        self.rule.lock().responder = Some(Arc::new(|_| {
            Err(Error::transport(
                TransportError::new("connection refused (mock)", None).with_connect(true),
            ))
        }));
        self
    }

    /// Answers as if the connection failed while the response body arrived.
    pub fn fail_mid_body(self) -> Self {
        self.rule.lock().responder = Some(Arc::new(|_| {
            Err(Error::transport(
                TransportError::new("connection reset while reading the body (mock)", None)
                    .with_response_started(true),
            ))
        }));
        self
    }

    /// Answers with whatever `responder` builds from the call.
    pub fn respond_with(
        self,
        responder: impl Fn(&RecordedCall) -> MockResponse + Send + Sync + 'static,
    ) -> Self {
        self.rule.lock().responder =
            Some(Arc::new(move |call| Ok(responder(call).into_response())));
        self
    }

    /// Answers at most `n` times; later calls fall through to the next rule.
    pub fn times(self, n: usize) -> Self {
        self.rule.lock().remaining = Some(n);
        self
    }
}

impl MockTransport {
    /// A mock with no rules: every call fails until rules are added.
    pub fn new() -> Self {
        Self::default()
    }

    fn add(&self, method: Option<Method>, path: Option<String>) -> MockRule {
        let rule = Arc::new(Mutex::new(Rule {
            method,
            path,
            query: Vec::new(),
            json_body: None,
            remaining: None,
            responder: None,
        }));
        self.rules.lock().push(rule.clone());
        MockRule { rule }
    }

    /// A rule for `method` and an exact URL path (e.g. `/v1.0/users`).
    #[must_use = "a rule answers nothing until `respond` or `respond_with` is called"]
    pub fn on(&self, method: Method, path: &str) -> MockRule {
        self.add(Some(method), Some(path.to_string()))
    }

    /// A rule for any method on an exact URL path.
    #[must_use = "a rule answers nothing until `respond` or `respond_with` is called"]
    pub fn on_path(&self, path: &str) -> MockRule {
        self.add(None, Some(path.to_string()))
    }

    /// A rule for every request.
    #[must_use = "a rule answers nothing until `respond` or `respond_with` is called"]
    pub fn on_any(&self) -> MockRule {
        self.add(None, None)
    }

    /// Serves `items` as a paged collection at `path`, `page_size` per page, with
    /// `@odata.nextLink`s (`$skiptoken=<page>`) on the same host, and `@odata.count` on the
    /// first page when `$count=true` was asked.
    pub fn serve_pages(&self, path: &str, items: Vec<Value>, page_size: usize) {
        let items = Arc::new(items);
        let page_size = page_size.max(1);
        self.on(Method::GET, path).respond_with(move |call| {
            let page: usize = call
                .query("$skiptoken")
                .and_then(|t| t.parse().ok())
                .unwrap_or(0);
            let start = (page * page_size).min(items.len());
            let end = (start + page_size).min(items.len());
            let mut body = serde_json::Map::new();
            body.insert("value".into(), Value::Array(items[start..end].to_vec()));
            if page == 0 && call.query("$count").as_deref() == Some("true") {
                body.insert("@odata.count".into(), Value::from(items.len()));
            }
            if end < items.len() {
                let mut next = call.url.clone();
                let kept: Vec<(String, String)> = call
                    .url
                    .query_pairs()
                    .filter(|(k, _)| k != "$skiptoken")
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect();
                next.query_pairs_mut()
                    .clear()
                    .extend_pairs(kept)
                    .append_pair("$skiptoken", &(page + 1).to_string());
                body.insert("@odata.nextLink".into(), Value::from(next.to_string()));
            }
            MockResponse::json(200, Value::Object(body))
        });
    }

    /// Every call so far, in order.
    pub fn calls(&self) -> Vec<RecordedCall> {
        self.calls.lock().clone()
    }

    /// The calls with this method and exact path.
    pub fn calls_to(&self, method: &Method, path: &str) -> Vec<RecordedCall> {
        self.calls
            .lock()
            .iter()
            .filter(|c| c.method == *method && c.url.path() == path)
            .cloned()
            .collect()
    }

    /// Forgets the recorded calls (rules stay).
    pub fn clear_calls(&self) {
        self.calls.lock().clear();
    }
}

#[async_trait]
impl Transport for MockTransport {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse> {
        let limit = request.response_limit();
        let body = match request.body.as_bytes() {
            Some(bytes) => bytes.clone(),
            None => match request.body.take_stream() {
                Some(mut stream) => {
                    use futures::StreamExt;
                    let mut buffer = Vec::new();
                    while let Some(chunk) = stream.next().await {
                        let chunk = chunk.map_err(|e| {
                            Error::transport(TransportError::new(
                                "body stream failed",
                                Some(Box::new(e)),
                            ))
                        })?;
                        buffer.extend_from_slice(&chunk);
                    }
                    Bytes::from(buffer)
                }
                None => Bytes::new(),
            },
        };
        let call = RecordedCall {
            method: request.method,
            url: request.url,
            headers: request.headers,
            body,
        };
        self.calls.lock().push(call.clone());
        let rules: Vec<_> = self.rules.lock().clone();
        for rule in rules {
            let responder = {
                let mut rule = rule.lock();
                if !rule.matches(&call) {
                    continue;
                }
                if let Some(remaining) = rule.remaining.as_mut() {
                    *remaining -= 1;
                }
                rule.responder.clone()
            };
            if let Some(responder) = responder {
                let response = responder(&call)?;
                // The same body limit the real transport applies.
                if response.body.len() > limit {
                    return Err(Error::new(ErrorKind::ResponseTooLarge {
                        status: response.status,
                        limit,
                        declared: Some(response.body.len() as u64),
                    }));
                }
                return Ok(response);
            }
        }
        Err(Error::transport(TransportError::new(
            format!(
                "MockTransport: no rule matches {} {}",
                call.method,
                call.url.path()
            ),
            None,
        )))
    }
}
