//! Building Graph's success responses: OData JSON with `@odata.context`, `text/plain` counts, 201/204.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

/// Graph's JSON content type.
pub(crate) const ODATA_JSON: &str = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";

/// `{base}/v1.0/$metadata#{fragment}`.
pub(crate) fn context_url(base: &str, fragment: &str) -> String {
    format!("{base}/v1.0/$metadata#{fragment}")
}

/// A context fragment for an entity set with an optional `$select`: `users` or `users(a,b)`.
pub(crate) fn set_fragment(set: &str, select: Option<&[String]>) -> String {
    match select {
        Some(names) if !names.is_empty() => format!("{set}({})", names.join(",")),
        _ => set.to_owned(),
    }
}

/// A JSON response with Graph's content type.
pub(crate) fn json(status: StatusCode, body: Value) -> Response {
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    let mut response = (status, bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(ODATA_JSON));
    headers.insert("odata-version", HeaderValue::from_static("4.0"));
    response
}

/// A single entity with its `@odata.context`.
pub(crate) fn entity(base: &str, fragment: &str, mut body: Map<String, Value>) -> Response {
    body.insert(
        "@odata.context".into(),
        Value::String(context_url(base, &format!("{fragment}/$entity"))),
    );
    json(StatusCode::OK, Value::Object(body))
}

/// A `text/plain` count (`/$count` segments).
pub(crate) fn count(n: usize) -> Response {
    let mut response = (StatusCode::OK, n.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain;charset=utf-8"),
    );
    response
}

/// 204 No Content.
pub(crate) fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// A collection page: `@odata.context`, optional `@odata.count`, `value`, optional `@odata.nextLink`.
pub(crate) fn collection(
    context: String,
    count: Option<usize>,
    items: Vec<Value>,
    next_link: Option<String>,
) -> Response {
    let mut body = Map::new();
    body.insert("@odata.context".into(), Value::String(context));
    if let Some(n) = count {
        body.insert("@odata.count".into(), Value::from(n));
    }
    if let Some(next) = next_link {
        body.insert("@odata.nextLink".into(), Value::String(next));
    }
    body.insert("value".into(), Value::Array(items));
    json(StatusCode::OK, Value::Object(body))
}
