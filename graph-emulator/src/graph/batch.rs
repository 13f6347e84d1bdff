//! `POST /v1.0/$batch`: JSON batching.
//!
//! At most 20 requests with unique ids (compared case-insensitively); `dependsOn` may only name other
//! ids of the batch and must not form a cycle. Requests run level by level (a request runs after all it
//! depends on); requests of one level run concurrently. A request whose dependency did not succeed gets
//! 424 Failed Dependency. Each request goes through the same router as a direct call, behind the same
//! fault-injection layer, carrying the batch's `Authorization` header, so an injected fault matching an
//! item's path applies to that item. Responses come back in an order that differs from the request's
//! (each level reversed), so clients must match them by id.

use std::collections::HashMap;

use axum::body::{Body, Bytes};
use axum::http::{HeaderName, HeaderValue, Method, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};
use tower::ServiceExt as _;

use super::error::current_ids;
use super::{ApiError, Ctx, response};

/// Graph's limit of requests per batch.
pub(crate) const MAX_REQUESTS: usize = 20;
/// Largest response body read back from an item.
const MAX_ITEM_BODY: usize = 64 << 20;

/// One parsed batch item.
#[derive(Debug)]
struct Item {
    id: String,
    method: Method,
    url: String,
    headers: Vec<(String, String)>,
    body: Option<Bytes>,
    depends_on: Vec<String>,
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("BadRequest", message)
}

fn parse_item(value: &Value) -> Result<Item, ApiError> {
    let obj = value
        .as_object()
        .ok_or_else(|| bad("Invalid batch payload format: each request must be a JSON object."))?;
    let id = obj
        .get("id")
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| bad("Invalid batch payload format: every request needs a non-empty 'id'."))?
        .to_owned();
    let method = obj
        .get("method")
        .and_then(Value::as_str)
        .and_then(|m| Method::from_bytes(m.to_ascii_uppercase().as_bytes()).ok())
        .filter(|m| {
            [
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
                Method::HEAD,
            ]
            .contains(m)
        })
        .ok_or_else(|| bad(format!("Invalid method in request id : {id}.")))?;
    let url = obj
        .get("url")
        .and_then(Value::as_str)
        .ok_or_else(|| bad(format!("Request id : {id} has no 'url'.")))?
        .to_owned();
    let lower = url.to_ascii_lowercase();
    // Graph refuses a batch with an absolute item URL as a whole, with this message.
    if lower.starts_with("http:") || lower.starts_with("https:") {
        return Err(bad("Invalid batch payload format."));
    }
    let trimmed = url.trim_start_matches('/');
    if trimmed.starts_with("v1.0/") || trimmed.starts_with("beta/") {
        return Err(bad(format!(
            "Invalid request URL '{url}' in request id : {id}: leave out the version segment."
        )));
    }
    if trimmed.starts_with("$batch") {
        return Err(bad("Nested batch requests are not supported."));
    }
    let headers: Vec<(String, String)> = match obj.get("headers") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                _ => Err(bad(format!(
                    "Header '{k}' of request id : {id} must be a string."
                ))),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(bad(format!(
                "The headers of request id : {id} must be an object."
            )));
        }
    };
    let content_type = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.to_ascii_lowercase());
    let body = match obj.get("body") {
        None | Some(Value::Null) => None,
        Some(body) => {
            let Some(ct) = &content_type else {
                return Err(bad(format!(
                    "Write request id : {id} does not contain Content-Type header or body."
                )));
            };
            if ct.contains("json") {
                Some(Bytes::from(serde_json::to_vec(body).unwrap_or_default()))
            } else {
                let encoded = body.as_str().ok_or_else(|| {
                    bad(format!(
                        "The body of request id : {id} must be base64 for '{ct}'."
                    ))
                })?;
                Some(Bytes::from(STANDARD.decode(encoded).map_err(|_| {
                    bad(format!(
                        "The body of request id : {id} is not valid base64."
                    ))
                })?))
            }
        }
    };
    let depends_on = match obj.get("dependsOn") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(ids)) => ids
            .iter()
            .map(|d| {
                d.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| bad(format!("dependsOn of request id : {id} must list ids.")))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(bad(format!(
                "dependsOn of request id : {id} must be an array."
            )));
        }
    };
    Ok(Item {
        id,
        method,
        url,
        headers,
        body,
        depends_on,
    })
}

/// Parses and validates the batch; returns the items and each item's level (0 = no dependencies).
fn parse(body: &Bytes) -> Result<(Vec<Item>, Vec<usize>), ApiError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| bad(format!("Invalid batch payload format: {e}")))?;
    let requests = value
        .get("requests")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("Invalid batch payload format: 'requests' must be an array."))?;
    if requests.is_empty() {
        return Err(bad(
            "Invalid batch payload format: the batch has no requests.",
        ));
    }
    if requests.len() > MAX_REQUESTS {
        return Err(bad(format!(
            "The batch contains {} requests; the limit is {MAX_REQUESTS}.",
            requests.len()
        )));
    }
    let items: Vec<Item> = requests.iter().map(parse_item).collect::<Result<_, _>>()?;
    let mut index: HashMap<String, usize> = HashMap::new();
    for (i, item) in items.iter().enumerate() {
        if index.insert(item.id.to_lowercase(), i).is_some() {
            return Err(bad(format!(
                "Batch request ids must be unique; '{}' is repeated.",
                item.id
            )));
        }
    }
    let mut deps: Vec<Vec<usize>> = Vec::with_capacity(items.len());
    for item in &items {
        let mut d = Vec::new();
        for dep in &item.depends_on {
            match index.get(&dep.to_lowercase()) {
                Some(&j) if items[j].id.to_lowercase() != item.id.to_lowercase() => d.push(j),
                _ => {
                    return Err(bad(format!(
                        "Request id : {} depends on '{dep}', which is not another request of this batch.",
                        item.id
                    )));
                }
            }
        }
        deps.push(d);
    }
    // Levels by repeated relaxation; more than n rounds means a cycle.
    let mut level = vec![0usize; items.len()];
    for round in 0..=items.len() {
        let mut changed = false;
        for i in 0..items.len() {
            let want = deps[i].iter().map(|&j| level[j] + 1).max().unwrap_or(0);
            if want != level[i] {
                level[i] = want;
                changed = true;
            }
        }
        if !changed {
            break;
        }
        if round == items.len() {
            return Err(bad("The dependsOn references of the batch form a cycle."));
        }
    }
    Ok((items, level))
}

/// `POST /$batch`.
pub(crate) async fn handle(ctx: Ctx) -> Response {
    if ctx.method != Method::POST {
        return ApiError::method_not_allowed().into_response();
    }
    let (items, levels) = match parse(&ctx.body) {
        Ok(parsed) => parsed,
        Err(e) => return e.into_response(),
    };
    let max_level = levels.iter().copied().max().unwrap_or(0);
    let mut statuses: Vec<Option<u16>> = vec![None; items.len()];
    let mut out: Vec<Value> = Vec::with_capacity(items.len());
    let authorization = ctx.headers.get(header::AUTHORIZATION).cloned();
    let ids = current_ids();
    for level in 0..=max_level {
        let members: Vec<usize> = (0..items.len()).filter(|&i| levels[i] == level).collect();
        let mut runs = Vec::new();
        let mut results: Vec<(usize, Value, u16)> = Vec::new();
        for &i in &members {
            let item = &items[i];
            let failed = item.depends_on.iter().any(|d| {
                items
                    .iter()
                    .position(|x| x.id.eq_ignore_ascii_case(d))
                    .and_then(|j| statuses[j])
                    .is_none_or(|s| !(200..300).contains(&s))
            });
            if failed {
                results.push((i, failed_dependency(&item.id, &ids.client_request_id), 424));
            } else {
                runs.push(run_item(
                    &ctx,
                    item,
                    authorization.clone(),
                    &ids.client_request_id,
                    i,
                ));
            }
        }
        for (i, value, status) in futures::future::join_all(runs).await {
            results.push((i, value, status));
        }
        results.sort_by_key(|(i, _, _)| std::cmp::Reverse(*i));
        for (i, value, status) in results {
            statuses[i] = Some(status);
            out.push(value);
        }
    }
    response::json(StatusCode::OK, json!({ "responses": out }))
}

fn failed_dependency(id: &str, client_request_id: &str) -> Value {
    json!({
        "id": id,
        "status": 424,
        "headers": {"Content-Type": "application/json"},
        "body": {"error": {
            "code": "FailedDependency",
            "message": "The request could not be performed because a request it depends on failed.",
            "innerError": {"client-request-id": client_request_id}
        }}
    })
}

async fn run_item(
    ctx: &Ctx,
    item: &Item,
    authorization: Option<HeaderValue>,
    client_request_id: &str,
    index: usize,
) -> (usize, Value, u16) {
    let uri = format!("/v1.0/{}", item.url.trim_start_matches('/'));
    let mut builder = Request::builder().method(item.method.clone()).uri(&uri);
    for (k, v) in &item.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(v),
        ) {
            builder = builder.header(name, value);
        }
    }
    if let Some(auth) = authorization {
        builder = builder.header(header::AUTHORIZATION, auth);
    }
    if !item
        .headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("client-request-id"))
    {
        builder = builder.header("client-request-id", client_request_id);
    }
    let body = item.body.clone().map_or_else(Body::empty, Body::from);
    let request = match builder.body(body) {
        Ok(r) => r,
        Err(e) => {
            let value = item_error(
                &item.id,
                400,
                "BadRequest",
                &format!("Invalid request: {e}"),
            );
            return (index, value, 400);
        }
    };
    let state = ctx.state.clone();
    let service = axum::Router::new()
        .nest("/v1.0", super::router())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::faults::layer,
        ))
        .with_state(state);
    let response = match service.oneshot(request).await {
        Ok(r) => r,
        Err(never) => match never {},
    };
    let status = response.status().as_u16();
    (index, render_response(&item.id, response).await, status)
}

fn item_error(id: &str, status: u16, code: &str, message: &str) -> Value {
    json!({"id": id, "status": status, "headers": {"Content-Type": "application/json"},
           "body": {"error": {"code": code, "message": message}}})
}

async fn render_response(id: &str, response: Response) -> Value {
    let (parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_ITEM_BODY).await {
        Ok(b) => b,
        Err(_) => {
            return item_error(
                id,
                502,
                "BadGateway",
                "The response of this request could not be read.",
            );
        }
    };
    let mut headers = Map::new();
    for (name, value) in &parts.headers {
        if matches!(
            name.as_str(),
            "content-length" | "date" | "transfer-encoding" | "x-ms-ags-diagnostic"
        ) {
            continue;
        }
        if let Ok(v) = value.to_str() {
            let key = match name.as_str() {
                "content-type" => "Content-Type".to_owned(),
                "retry-after" => "Retry-After".to_owned(),
                "location" => "Location".to_owned(),
                other => other.to_owned(),
            };
            headers.insert(key, Value::String(v.to_owned()));
        }
    }
    let mut out = Map::new();
    out.insert("id".into(), json!(id));
    out.insert("status".into(), json!(parts.status.as_u16()));
    out.insert("headers".into(), Value::Object(headers));
    if !bytes.is_empty() {
        let is_json = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("json"));
        let body = match serde_json::from_slice::<Value>(&bytes) {
            Ok(v) if is_json => v,
            _ => Value::String(STANDARD.encode(&bytes)),
        };
        out.insert("body".into(), body);
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(v: Value) -> Result<(Vec<Item>, Vec<usize>), ApiError> {
        parse(&Bytes::from(v.to_string()))
    }

    #[test]
    fn levels_follow_depends_on() {
        let (items, levels) = batch(json!({"requests": [
            {"id": "1", "method": "GET", "url": "/users"},
            {"id": "2", "method": "GET", "url": "/me", "dependsOn": ["1"]},
            {"id": "3", "method": "GET", "url": "groups"},
            {"id": "4", "method": "GET", "url": "/me", "dependsOn": ["2", "3"]}
        ]}))
        .unwrap();
        assert_eq!(items.len(), 4);
        assert_eq!(levels, [0, 1, 0, 2]);
    }

    #[test]
    fn rejects_invalid_batches() {
        let too_many: Vec<Value> = (0..21)
            .map(|i| json!({"id": i.to_string(), "method": "GET", "url": "/me"}))
            .collect();
        for bad in [
            json!({"requests": too_many}),
            json!({"requests": []}),
            json!({"nope": 1}),
            json!({"requests": [{"id": "a", "method": "GET", "url": "/me"}, {"id": "A", "method": "GET", "url": "/me"}]}),
            json!({"requests": [{"id": "a", "method": "GET", "url": "/me", "dependsOn": ["b"]}]}),
            json!({"requests": [{"id": "a", "method": "GET", "url": "/me", "dependsOn": ["a"]}]}),
            json!({"requests": [{"id": "a", "method": "GET", "url": "/me", "dependsOn": ["b"]}, {"id": "b", "method": "GET", "url": "/me", "dependsOn": ["a"]}]}),
            json!({"requests": [{"id": "a", "method": "GET", "url": "https://graph.microsoft.com/v1.0/me"}]}),
            json!({"requests": [{"id": "a", "method": "GET", "url": "/v1.0/me"}]}),
            json!({"requests": [{"id": "a", "method": "GET", "url": "/$batch"}]}),
            json!({"requests": [{"id": "a", "method": "PATCH", "url": "/me", "body": {"x": 1}}]}),
            json!({"requests": [{"id": "a", "method": "FETCH", "url": "/me"}]}),
        ] {
            assert!(batch(bad.clone()).is_err(), "{bad}");
        }
    }
}
