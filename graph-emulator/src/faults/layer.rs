//! The fault middleware: counts every request, then answers it as the first matching fault says.

use std::time::{Duration, SystemTime};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use futures::StreamExt;

use super::FaultKind;
use crate::counters::{is_graph_path, is_token_endpoint};
use crate::identity::graph_error;
use crate::managed_identity::is_managed_identity_path;
use crate::state::AppState;

/// Marks a response whose connection must be dropped instead (see `server::DropAware`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct DropConnectionMarker;

/// Largest token-request body read for counting grant types.
const MAX_TOKEN_BODY: usize = 1 << 20;

/// The middleware: counts the request, then applies the first matching fault, if any.
pub(crate) async fn layer(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    if path.starts_with("/_emulator/") {
        return next.run(request).await;
    }
    let method = request.method().clone();
    let request = if is_token_endpoint(&path) {
        let (parts, body) = request.into_parts();
        let bytes = match axum::body::to_bytes(body, MAX_TOKEN_BODY).await {
            Ok(bytes) => bytes,
            Err(_) => {
                return (StatusCode::PAYLOAD_TOO_LARGE, "request body too large").into_response();
            }
        };
        let grant_type = url::form_urlencoded::parse(&bytes)
            .find(|(k, _)| k == "grant_type")
            .map(|(_, v)| v.into_owned());
        state
            .counters
            .record(method.as_str(), &path, grant_type.as_deref());
        Request::from_parts(parts, Body::from(bytes))
    } else {
        state.counters.record(method.as_str(), &path, None);
        request
    };
    let Some(kind) = state.faults.take(&method, &path) else {
        return next.run(request).await;
    };
    let headers = request.headers().clone();
    match kind {
        FaultKind::Status {
            status,
            retry_after,
        } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            let mut response = if is_graph_path(&path) {
                graph_status_error(status, &headers)
            } else if is_managed_identity_path(&path) {
                managed_identity_status_error(status)
            } else {
                identity_status_error(status, &headers, &state.base_url)
            };
            if let Some(value) =
                retry_after.and_then(|r| HeaderValue::from_str(&r.header_value()).ok())
            {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            response
        }
        FaultKind::Unauthorized => {
            let mut response = graph_error(
                StatusCode::UNAUTHORIZED,
                "InvalidAuthenticationToken",
                "Access token validation failure.",
                &headers,
            );
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(crate::identity::GRAPH_CHALLENGE),
            );
            response
        }
        FaultKind::ClaimsChallenge => claims_challenge(&headers),
        FaultKind::Delay { duration } => {
            tokio::time::sleep(duration).await;
            next.run(request).await
        }
        FaultKind::DropConnection => dropped(),
        FaultKind::DropAfterBytes { bytes } => {
            // Read (and discard) that much of the body, then close the connection.
            let mut body = request.into_body().into_data_stream();
            let mut read: u64 = 0;
            while read < bytes {
                match body.next().await {
                    Some(Ok(chunk)) => read = read.saturating_add(chunk.len() as u64),
                    _ => break,
                }
            }
            dropped()
        }
        FaultKind::TruncatedBody => truncate(next.run(request).await).await,
        FaultKind::TokenEndpointServerError => {
            identity_status_error(StatusCode::INTERNAL_SERVER_ERROR, &headers, &state.base_url)
        }
        FaultKind::TokenEndpointThrottled { retry_after } => {
            let mut response =
                identity_status_error(StatusCode::TOO_MANY_REQUESTS, &headers, &state.base_url);
            if let Ok(value) = HeaderValue::from_str(&retry_after.header_value()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            response
        }
        FaultKind::TokenEndpointHtml { status } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            (
                status,
                Html("<!DOCTYPE html><html><head><title>Service unavailable</title></head><body><h1>The service is temporarily unavailable.</h1><p>Please try again later.</p></body></html>"),
            )
                .into_response()
        }
    }
}

/// A response that makes the server close the connection without answering.
fn dropped() -> Response {
    let mut response = StatusCode::INTERNAL_SERVER_ERROR.into_response();
    response.extensions_mut().insert(DropConnectionMarker);
    response
}

/// Graph's body for an injected status (429 is `TooManyRequests` as in the throttling sample).
pub(crate) fn graph_status_error(status: StatusCode, headers: &HeaderMap) -> Response {
    let (code, message) = match status.as_u16() {
        429 => ("TooManyRequests", "Please retry again later."),
        503 => (
            "serviceNotAvailable",
            "The service is temporarily unavailable. Please retry later.",
        ),
        504 => (
            "gatewayTimeout",
            "The gateway did not receive a timely response. Please retry later.",
        ),
        500 => ("generalException", "An unspecified error has occurred."),
        401 => (
            "InvalidAuthenticationToken",
            "Access token validation failure.",
        ),
        403 => (
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        ),
        404 => (
            "Request_ResourceNotFound",
            "Resource does not exist or one of its queried reference-property objects are not present.",
        ),
        _ => ("UnknownError", "An error was injected by the emulator."),
    };
    let mut response = graph_error(status, code, message, headers);
    if status == StatusCode::TOO_MANY_REQUESTS {
        // The documented sample also repeats code and status inside innerError.
        response = add_inner_status(response, status);
    }
    response
}

fn add_inner_status(response: Response, status: StatusCode) -> Response {
    let (mut parts, body) = response.into_parts();
    let Some(bytes) = body_bytes_now(body) else {
        return Response::from_parts(parts, Body::empty());
    };
    let mut value: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    if let Some(inner) = value
        .pointer_mut("/error/innerError")
        .and_then(serde_json::Value::as_object_mut)
    {
        inner.insert("code".to_owned(), status.as_u16().to_string().into());
        inner.insert("status".to_owned(), status.as_u16().to_string().into());
        inner.insert("message".to_owned(), "Please retry after".into());
    }
    let bytes = serde_json::to_vec(&value).unwrap_or_default();
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(bytes))
}

/// The body of a `Json` response is a single full chunk; read it without awaiting.
fn body_bytes_now(body: Body) -> Option<Bytes> {
    use futures::FutureExt;
    axum::body::to_bytes(body, usize::MAX).now_or_never()?.ok()
}

/// The managed identity endpoints' body for an injected status (IMDS's `error` shape; 410 is what
/// IMDS answers while it is being updated).
fn managed_identity_status_error(status: StatusCode) -> Response {
    let (error, description) = match status.as_u16() {
        410 => (
            "service_unavailable",
            "The managed identity endpoint is being updated. Retry later.",
        ),
        429 => (
            "too_many_requests",
            "Too many requests to the managed identity endpoint.",
        ),
        s if s >= 500 => ("unknown_error", "The managed identity endpoint failed."),
        _ => ("invalid_request", "An error was injected by the emulator."),
    };
    (
        status,
        axum::Json(serde_json::json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

/// Entra's body for an injected status at an identity route.
fn identity_status_error(status: StatusCode, headers: &HeaderMap, base_url: &str) -> Response {
    let mut error = match status.as_u16() {
        429 => crate::identity::OAuthError::invalid_request(
            90055,
            "TenantThrottlingError - There are too many incoming requests. This exception is thrown for blocked tenants.",
        ),
        _ => crate::identity::OAuthError::invalid_request(
            50000,
            "There was an error issuing a token or an issue with our sign-in service.",
        ),
    };
    error.status = status;
    error.error = if status.as_u16() == 429 {
        "temporarily_unavailable"
    } else {
        "server_error"
    };
    error.into_response_for(headers, base_url)
}

/// The CAE challenge Graph sends when a token was revoked.
fn claims_challenge(headers: &HeaderMap) -> Response {
    let nbf = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let claims = format!(r#"{{"access_token":{{"nbf":{{"essential":true,"value":"{nbf}"}}}}}}"#);
    let challenge = format!(
        "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\", error=\"insufficient_claims\", claims=\"{}\"",
        STANDARD.encode(claims)
    );
    let mut response = graph_error(
        StatusCode::UNAUTHORIZED,
        "InvalidAuthenticationToken",
        "Continuous access evaluation resulted in challenge with result: InteractionRequired and code: TokenIssuedBeforeRevocationTimestamp",
        headers,
    );
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// Sends half of `response`'s body while declaring the full length.
async fn truncate(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let full = bytes.len().max(2);
    let half = bytes.slice(..bytes.len() / 2);
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(full));
    // Send the head and the first half, pause so they are flushed, then end the body early:
    // the server closes the connection with the declared length unmet.
    let tail = futures::stream::once(async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        None::<Result<Bytes, std::io::Error>>
    })
    .filter_map(|end| async move { end });
    let stream = futures::stream::once(async move { Ok::<_, std::io::Error>(half) }).chain(tail);
    Response::from_parts(parts, Body::from_stream(stream))
}
