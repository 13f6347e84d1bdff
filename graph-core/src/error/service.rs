//! Service errors: a non-success answer from Graph and its parsed `ODataError`.

use std::fmt;

use http::{HeaderMap, StatusCode};
use serde::Deserialize;

/// A non-success response from Graph, with its parsed `ODataError` when the body parsed.
#[derive(Debug, Clone)]
pub struct ServiceError {
    status: StatusCode,
    headers: HeaderMap,
    odata: Option<ODataError>,
    raw_body: Option<String>,
}

/// Graph's error body: `{"error": {code, message, target, details[], innerError}}`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct ODataError {
    /// The machine-readable code, e.g. `Request_BadRequest`, `itemNotFound`, `TooManyRequests`.
    #[serde(default)]
    pub code: String,
    /// The human-readable message.
    #[serde(default)]
    pub message: String,
    /// The target of the error, when given.
    #[serde(default)]
    pub target: Option<String>,
    /// Further errors, when given.
    #[serde(default)]
    pub details: Vec<ErrorDetail>,
    /// The inner error: request ids, date and a possibly recursive inner chain.
    #[serde(default, alias = "innerError", alias = "innererror")]
    pub inner_error: Option<InnerError>,
}

/// One entry of `error.details`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct ErrorDetail {
    /// Detail code.
    #[serde(default)]
    pub code: String,
    /// Detail message.
    #[serde(default)]
    pub message: String,
    /// Detail target.
    #[serde(default)]
    pub target: Option<String>,
}

/// `error.innerError`: diagnostics and a recursive chain of more specific codes.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct InnerError {
    /// A more specific code, when given.
    #[serde(default)]
    pub code: Option<String>,
    /// A more specific message, when given.
    #[serde(default)]
    pub message: Option<String>,
    /// The request id Graph assigned.
    #[serde(default, rename = "request-id", alias = "requestId")]
    pub request_id: Option<String>,
    /// The client request id Graph saw.
    #[serde(default, rename = "client-request-id", alias = "clientRequestId")]
    pub client_request_id: Option<String>,
    /// When the error happened, as Graph wrote it.
    #[serde(default)]
    pub date: Option<String>,
    /// A nested, more specific inner error.
    #[serde(default, alias = "innerError", alias = "innererror")]
    pub inner_error: Option<Box<InnerError>>,
}

#[derive(Deserialize)]
struct ErrorEnvelope {
    error: ODataError,
}

/// The most of an unparsed body that an error keeps for display.
const RAW_BODY_DISPLAY_LIMIT: usize = 2048;

impl ServiceError {
    /// Builds a service error from a response; the body is parsed as an `ODataError` and kept
    /// raw when it does not parse.
    pub fn from_response(status: StatusCode, headers: HeaderMap, body: &[u8]) -> Self {
        let odata = serde_json::from_slice::<ErrorEnvelope>(body)
            .ok()
            .map(|envelope| envelope.error);
        let raw_body = match odata {
            Some(_) => None,
            None if body.is_empty() => None,
            None => Some(String::from_utf8_lossy(body).into_owned()),
        };
        Self {
            status,
            headers,
            odata,
            raw_body,
        }
    }

    /// A 429 the client produced itself: the request was not sent because an earlier answer
    /// paused this client's sends to the service for longer than it may wait.
    pub(crate) fn paused(remaining: std::time::Duration) -> Self {
        let mut headers = HeaderMap::new();
        if let Ok(value) = http::HeaderValue::from_str(&remaining.as_secs().max(1).to_string()) {
            headers.insert(http::header::RETRY_AFTER, value);
        }
        Self {
            status: StatusCode::TOO_MANY_REQUESTS,
            headers,
            odata: Some(ODataError {
                code: "TooManyRequests".into(),
                message: format!(
                    "not sent: an earlier answer paused this client's requests to the service \
                     for {} s more",
                    remaining.as_secs()
                ),
                target: None,
                details: Vec::new(),
                inner_error: None,
            }),
            raw_body: None,
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The response headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The parsed Graph error, when the body was one.
    pub fn odata(&self) -> Option<&ODataError> {
        self.odata.as_ref()
    }

    /// The body as text when it did not parse as a Graph error.
    pub fn raw_body(&self) -> Option<&str> {
        self.raw_body.as_deref()
    }

    /// The Graph error code (`error.code`).
    pub fn code(&self) -> Option<&str> {
        self.odata
            .as_ref()
            .map(|e| e.code.as_str())
            .filter(|c| !c.is_empty())
    }

    /// The Graph error message (`error.message`).
    pub fn message(&self) -> Option<&str> {
        self.odata
            .as_ref()
            .map(|e| e.message.as_str())
            .filter(|m| !m.is_empty())
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn inner(&self) -> Option<&InnerError> {
        self.odata.as_ref().and_then(|e| e.inner_error.as_ref())
    }

    /// `request-id` from the response headers, else from `innerError`.
    pub fn request_id(&self) -> Option<&str> {
        self.header("request-id")
            .or_else(|| self.inner().and_then(|i| i.request_id.as_deref()))
    }

    /// `client-request-id` from the response headers, else from `innerError`.
    pub fn client_request_id(&self) -> Option<&str> {
        self.header("client-request-id")
            .or_else(|| self.inner().and_then(|i| i.client_request_id.as_deref()))
    }

    /// The date of the error: `innerError.date`, else the `Date` header.
    pub fn date(&self) -> Option<&str> {
        self.inner()
            .and_then(|i| i.date.as_deref())
            .or_else(|| self.header("date"))
    }

    /// `x-ms-ags-diagnostic`, which tells Microsoft support where the request was served.
    pub fn ags_diagnostic(&self) -> Option<&str> {
        self.header("x-ms-ags-diagnostic")
    }

    /// The raw `Retry-After` header value, when present.
    pub fn retry_after_header(&self) -> Option<&str> {
        self.header("retry-after")
    }

    /// The codes of the inner-error chain, outermost first.
    pub fn inner_codes(&self) -> Vec<&str> {
        let mut codes = Vec::new();
        let mut next = self.inner();
        while let Some(inner) = next {
            if let Some(code) = inner.code.as_deref() {
                codes.push(code);
            }
            next = inner.inner_error.as_deref();
        }
        codes
    }
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Graph returned HTTP {}", self.status.as_u16())?;
        if let Some(reason) = self.status.canonical_reason() {
            write!(f, " {reason}")?;
        }
        match (self.code(), self.message()) {
            (Some(code), Some(message)) => write!(f, ": {code}: {message}")?,
            (Some(code), None) => write!(f, ": {code}")?,
            (None, Some(message)) => write!(f, ": {message}")?,
            (None, None) => {}
        }
        let mut extras: Vec<String> = Vec::new();
        if let Some(v) = self.request_id() {
            extras.push(format!("request-id: {v}"));
        }
        if let Some(v) = self.client_request_id() {
            extras.push(format!("client-request-id: {v}"));
        }
        if let Some(v) = self.date() {
            extras.push(format!("date: {v}"));
        }
        if let Some(v) = self.ags_diagnostic() {
            extras.push(format!("x-ms-ags-diagnostic: {v}"));
        }
        if let Some(v) = self.retry_after_header() {
            extras.push(format!("retry-after: {v}"));
        }
        if let Some(target) = self.odata.as_ref().and_then(|e| e.target.as_deref()) {
            extras.push(format!("target: {target}"));
        }
        let inner = self.inner_codes();
        if !inner.is_empty() {
            extras.push(format!("inner codes: {}", inner.join(" > ")));
        }
        if !extras.is_empty() {
            write!(f, " ({})", extras.join(", "))?;
        }
        if let Some(odata) = &self.odata {
            for detail in &odata.details {
                write!(f, "; detail {}: {}", detail.code, detail.message)?;
                if let Some(target) = &detail.target {
                    write!(f, " (target: {target})")?;
                }
            }
        }
        if let Some(raw) = &self.raw_body {
            let excerpt = truncate(raw, RAW_BODY_DISPLAY_LIMIT);
            write!(f, "; body: {excerpt}")?;
        }
        Ok(())
    }
}

pub(crate) fn truncate(text: &str, limit: usize) -> &str {
    if text.len() <= limit {
        return text;
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}
