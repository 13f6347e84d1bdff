//! Graph's error responses and the per-request ids every Graph response carries.
//!
//! A middleware gives each request a `request-id` (and echoes the caller's `client-request-id`, or reuses the
//! request id when there is none) through a task-local, so an error body's `innerError` and the response
//! headers always agree.

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::odata::QueryError;
use crate::store::StoreError;

/// The ids of the request being handled.
#[derive(Debug, Clone)]
pub(crate) struct RequestIds {
    /// Generated for this request.
    pub request_id: String,
    /// The caller's `client-request-id`, or the request id.
    pub client_request_id: String,
}

tokio::task_local! {
    static REQUEST_IDS: RequestIds;
}

/// The ids of the current request (fresh ones outside a Graph request).
pub(crate) fn current_ids() -> RequestIds {
    REQUEST_IDS.try_with(Clone::clone).unwrap_or_else(|_| {
        let id = uuid::Uuid::new_v4().to_string();
        RequestIds {
            request_id: id.clone(),
            client_request_id: id,
        }
    })
}

/// The value of Graph's `x-ms-ags-diagnostic` header.
const DIAGNOSTIC: &str = r#"{"ServerInfo":{"DataCenter":"Emulator","Slice":"E","Ring":"0","ScaleUnit":"000","RoleInstance":"127.0.0.1","ADSiteName":"LOCAL"}}"#;

fn client_request_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get("client-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty() && v.len() <= 200)
        .map(str::to_owned)
}

/// Middleware: assigns the request ids and adds `request-id`, `client-request-id`, `x-ms-ags-diagnostic`
/// and `Date` to every Graph response (keeping ids a handler already set).
pub(crate) async fn request_ids(request: Request, next: Next) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let client_request_id =
        client_request_id(request.headers()).unwrap_or_else(|| request_id.clone());
    let ids = RequestIds {
        request_id,
        client_request_id,
    };
    let mut response = REQUEST_IDS.scope(ids.clone(), next.run(request)).await;
    let headers = response.headers_mut();
    for (name, value) in [
        ("request-id", ids.request_id.as_str()),
        ("client-request-id", ids.client_request_id.as_str()),
        ("x-ms-ags-diagnostic", DIAGNOSTIC),
    ] {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.entry(name).or_insert(value);
        }
    }
    if let Ok(date) = HeaderValue::from_str(&httpdate::fmt_http_date(std::time::SystemTime::now()))
    {
        headers.entry(header::DATE).or_insert(date);
    }
    response
}

/// The `innerError.date` format Graph uses: UTC without offset, e.g. `2021-05-18T19:03:10`.
fn inner_date() -> String {
    let now = time::OffsetDateTime::now_utc();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    )
}

/// A Graph error response:
/// `{"error":{"code","message","innerError":{"date","request-id","client-request-id"}}}`, with the
/// `request-id` and `client-request-id` headers of the current request.
pub(crate) fn odata_error(status: StatusCode, code: &str, message: &str) -> Response {
    odata_error_with_ids(status, code, message, &current_ids())
}

/// The ids for an error answered outside the request-id middleware (for example by the fault
/// layer): the current request's when there is one, otherwise a fresh request id and the
/// caller's `client-request-id` (or the request id when the caller sent none).
pub(crate) fn ids_for(request_headers: &HeaderMap) -> RequestIds {
    REQUEST_IDS.try_with(Clone::clone).unwrap_or_else(|_| {
        let request_id = uuid::Uuid::new_v4().to_string();
        RequestIds {
            client_request_id: client_request_id(request_headers)
                .unwrap_or_else(|| request_id.clone()),
            request_id,
        }
    })
}

/// [`odata_error`] with explicit ids.
pub(crate) fn odata_error_with_ids(
    status: StatusCode,
    code: &str,
    message: &str,
    ids: &RequestIds,
) -> Response {
    let body = json!({
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": inner_date(),
                "request-id": ids.request_id,
                "client-request-id": ids.client_request_id,
            }
        }
    });
    let mut response = (status, axum::Json(body)).into_response();
    let headers = response.headers_mut();
    for (name, value) in [
        ("request-id", &ids.request_id),
        ("client-request-id", &ids.client_request_id),
    ] {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    }
    response
}

/// An error a Graph handler answers with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Graph's error code.
    pub code: String,
    /// The message.
    pub message: String,
}

impl ApiError {
    /// An error with any status.
    pub(crate) fn new(status: StatusCode, code: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code: code.to_owned(),
            message: message.into(),
        }
    }

    /// 400 with a code.
    pub(crate) fn bad_request(code: &str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// Graph's 404 for an unknown object id.
    pub(crate) fn not_found(id: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            format!(
                "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
            ),
        )
    }

    /// Graph's answer for a path it has no resource for.
    pub(crate) fn no_resource(segment: &str) -> ApiError {
        ApiError::bad_request(
            "BadRequest",
            format!("Resource not found for the segment '{segment}'."),
        )
    }

    /// 405 for a method the resource does not support.
    pub(crate) fn method_not_allowed() -> ApiError {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "Request_BadRequest",
            "The HTTP method is not allowed on this resource.",
        )
    }

    /// A malformed request body.
    pub(crate) fn invalid_body(detail: impl std::fmt::Display) -> ApiError {
        ApiError::bad_request(
            "BadRequest",
            format!("Unable to read JSON request payload. {detail}"),
        )
    }
}

impl From<QueryError> for ApiError {
    fn from(e: QueryError) -> ApiError {
        ApiError::bad_request(e.code, e.message)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match &e {
            StoreError::NotFound(id) => ApiError::not_found(id),
            StoreError::Conflict(_) | StoreError::Invalid(_) => {
                ApiError::bad_request("Request_BadRequest", e.to_string())
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        odata_error(self.status, &self.code, &self.message)
    }
}
