//! OAuth 2.0 error responses in Microsoft Entra ID's shape:
//! `error`, `error_description` (`"AADSTS<code>: ..."`), `error_codes`, `timestamp`, `trace_id`,
//! `correlation_id`, `error_uri`, and `suberror`/`claims` where Entra sends them.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// One token-endpoint (or device-code endpoint) failure.
#[derive(Debug, Clone)]
pub(crate) struct OAuthError {
    pub status: StatusCode,
    pub error: &'static str,
    pub code: u32,
    pub description: String,
    pub suberror: Option<&'static str>,
    pub claims: Option<String>,
}

impl OAuthError {
    fn new(
        status: StatusCode,
        error: &'static str,
        code: u32,
        description: impl Into<String>,
    ) -> Self {
        OAuthError {
            status,
            error,
            code,
            description: description.into(),
            suberror: None,
            claims: None,
        }
    }

    /// `invalid_request` (400).
    pub fn invalid_request(code: u32, description: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            code,
            description,
        )
    }

    /// A required form parameter is missing (AADSTS900144).
    pub fn missing_parameter(name: &str) -> Self {
        Self::invalid_request(
            900144,
            format!("The request body must contain the following parameter: '{name}'."),
        )
    }

    /// `invalid_client` (401): the client could not be authenticated.
    pub fn invalid_client(code: u32, description: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            code,
            description,
        )
    }

    /// `unauthorized_client` (400): unknown app or a grant the app may not use.
    pub fn unauthorized_client(code: u32, description: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            code,
            description,
        )
    }

    /// `invalid_grant` (400).
    pub fn invalid_grant(code: u32, description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_grant", code, description)
    }

    /// `invalid_scope` (400).
    pub fn invalid_scope(code: u32, description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_scope", code, description)
    }

    /// `invalid_resource` (400): the resource of a `.default` scope is unknown.
    pub fn invalid_resource(code: u32, description: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_resource",
            code,
            description,
        )
    }

    /// `interaction_required` (400).
    pub fn interaction_required(code: u32, description: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "interaction_required",
            code,
            description,
        )
    }

    /// `unsupported_grant_type` (400, AADSTS70003).
    pub fn unsupported_grant_type(grant_type: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            format!("The app requested an unsupported grant type '{grant_type}'."),
        )
    }

    /// Device flow: the user has not approved yet (AADSTS70016).
    pub fn authorization_pending() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "authorization_pending",
            70016,
            "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
        )
    }

    /// Device flow: the device code expired (AADSTS70020).
    pub fn expired_token() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "expired_token",
            70020,
            "The provided value for the input parameter 'device_code' is not valid. This device code has expired.",
        )
    }

    /// Unknown tenant (AADSTS90002).
    pub fn unknown_tenant(tenant: &str) -> Self {
        Self::invalid_request(
            90002,
            format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
            ),
        )
    }

    /// Adds a `suberror`.
    pub fn with_suberror(mut self, suberror: &'static str) -> Self {
        self.suberror = Some(suberror);
        self
    }

    /// Adds a `claims` challenge (a JSON string).
    pub fn with_claims(mut self, claims: impl Into<String>) -> Self {
        self.claims = Some(claims.into());
        self
    }

    /// Renders the error, echoing the request's `client-request-id` as `correlation_id`.
    pub fn into_response_for(self, request_headers: &HeaderMap, base_url: &str) -> Response {
        let trace_id = uuid::Uuid::new_v4().to_string();
        let correlation_id =
            client_request_id(request_headers).unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let timestamp = entra_timestamp();
        let description = format!(
            "AADSTS{}: {}\r\nTrace ID: {trace_id}\r\nCorrelation ID: {correlation_id}\r\nTimestamp: {timestamp}",
            self.code, self.description
        );
        let mut body = serde_json::json!({
            "error": self.error,
            "error_description": description,
            "error_codes": [self.code],
            "timestamp": timestamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": format!("{base_url}/error?code={}", self.code),
        });
        if let Some(suberror) = self.suberror {
            body["suberror"] = suberror.into();
        }
        if let Some(claims) = self.claims {
            body["claims"] = claims.into();
        }
        let mut response = (self.status, axum::Json(body)).into_response();
        add_entra_headers(response.headers_mut(), request_headers, &trace_id);
        response
    }
}

/// The caller's `client-request-id` header, if it is a sensible value.
pub(crate) fn client_request_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get("client-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128)
        .map(str::to_owned)
}

/// Headers Entra puts on token responses: no caching, request ids.
pub(crate) fn add_entra_headers(
    headers: &mut HeaderMap,
    request_headers: &HeaderMap,
    trace_id: &str,
) {
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store, no-cache"),
    );
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    if let Ok(value) = HeaderValue::from_str(trace_id) {
        headers.insert("x-ms-request-id", value);
    }
    if let Some(id) =
        client_request_id(request_headers).and_then(|id| HeaderValue::from_str(&id).ok())
    {
        headers.insert("client-request-id", id);
    }
}

/// Entra's timestamp format, e.g. `2024-05-01 12:34:56Z`.
pub(crate) fn entra_timestamp() -> String {
    let now = time::OffsetDateTime::now_utc();
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}Z",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    )
}
