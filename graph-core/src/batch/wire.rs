//! The wire side of `$batch`: the JSON shapes, the conversion of a typed request into an item,
//! the split into batches and the choice of items to send again.

use std::collections::BTreeMap;

use base64::Engine;
use http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{BatchItemResponse, BatchResponse};
use crate::client::Client;
use crate::error::{Error, Result};
use crate::pipeline::retry::is_retryable_status;
use crate::request::RequestSpec;

#[derive(Debug, Clone, Serialize)]
pub(super) struct WireRequest {
    pub(super) id: String,
    pub(super) method: String,
    pub(super) url: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub(super) headers: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) body: Option<Value>,
    #[serde(rename = "dependsOn", skip_serializing_if = "Vec::is_empty")]
    pub(super) depends_on: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct WireResponse {
    pub(super) id: String,
    pub(super) status: u16,
    #[serde(default)]
    pub(super) headers: BTreeMap<String, String>,
    #[serde(default)]
    pub(super) body: Option<Value>,
}

#[derive(Debug, Deserialize)]
pub(super) struct WireEnvelope {
    #[serde(default)]
    pub(super) responses: Vec<WireResponse>,
}

/// The items to send again: the throttled ones plus those that failed with 424 because an item
/// they depend on is being sent again. Dependencies on items that already succeeded are dropped
/// (they are done); the others are kept.
pub(super) fn follow_up(pending: &[WireRequest], answers: &BatchResponse) -> Vec<WireRequest> {
    let mut again: Vec<String> = Vec::new();
    for request in pending {
        let status = answers.item(&request.id).map(BatchItemResponse::status);
        let throttled = status.is_some_and(is_retryable_status);
        let blocked = status == Some(StatusCode::FAILED_DEPENDENCY)
            && request
                .depends_on
                .iter()
                .any(|d| again.iter().any(|a| a.eq_ignore_ascii_case(d)));
        if throttled || blocked {
            again.push(request.id.clone());
        }
    }
    pending
        .iter()
        .filter(|r| again.iter().any(|a| a.eq_ignore_ascii_case(&r.id)))
        .map(|r| {
            let mut r = r.clone();
            r.depends_on
                .retain(|d| again.iter().any(|a| a.eq_ignore_ascii_case(d)));
            r
        })
        .collect()
}

pub(super) fn to_wire(
    client: &Client,
    id: &str,
    spec: &mut RequestSpec,
    depends_on: Vec<String>,
) -> Result<WireRequest> {
    let request = spec.build_http(client, "application/json")?;
    let base = client.base_url().as_str();
    let full = request.url.as_str();
    let relative = full.strip_prefix(base).ok_or_else(|| {
        Error::invalid(format!(
            "batch item {id:?} is not under the client's base URL"
        ))
    })?;
    let mut headers = BTreeMap::new();
    for (name, value) in &request.headers {
        if name == http::header::ACCEPT {
            continue;
        }
        if let Ok(value) = value.to_str() {
            headers.insert(name.to_string(), value.to_string());
        }
    }
    if !request.body.is_replayable() {
        return Err(Error::invalid(format!(
            "batch item {id:?} has a streaming body"
        )));
    }
    let body = match request.body.as_bytes() {
        Some(bytes) if !bytes.is_empty() => {
            let is_json = headers
                .get("content-type")
                .is_some_and(|ct| ct.contains("json"));
            if is_json {
                Some(serde_json::from_slice(bytes).map_err(|e| {
                    Error::invalid(format!(
                        "batch item {id:?} has a JSON body that does not parse: {e}"
                    ))
                })?)
            } else {
                // Non-JSON bodies travel base64-encoded.
                Some(Value::String(
                    base64::engine::general_purpose::STANDARD.encode(bytes),
                ))
            }
        }
        _ => None,
    };
    if body.is_some() && !headers.contains_key("content-type") {
        headers.insert("content-type".into(), "application/json".into());
    }
    Ok(WireRequest {
        id: id.to_string(),
        method: request.method.to_string(),
        url: format!("/{relative}"),
        headers,
        body,
        depends_on,
    })
}

/// Packs items into batches of at most `max`, keeping each dependency group together and the
/// groups in the order of their first item.
pub(super) fn split(items: Vec<WireRequest>, max: usize) -> Result<Vec<Vec<WireRequest>>> {
    // Union-find over positions; dependencies always point to earlier items.
    let mut parent: Vec<usize> = (0..items.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for (i, item) in items.iter().enumerate() {
        for dependency in &item.depends_on {
            if let Some(j) = items
                .iter()
                .position(|o| o.id.eq_ignore_ascii_case(dependency))
            {
                let (a, b) = (root(&mut parent, i), root(&mut parent, j));
                parent[a.max(b)] = a.min(b);
            }
        }
    }
    let mut groups: Vec<(usize, Vec<WireRequest>)> = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let r = root(&mut parent, i);
        match groups.iter_mut().find(|(g, _)| *g == r) {
            Some((_, group)) => group.push(item),
            None => groups.push((r, vec![item])),
        }
    }
    let mut batches: Vec<Vec<WireRequest>> = Vec::new();
    for (_, group) in groups {
        if group.len() > max {
            return Err(Error::invalid(format!(
                "{} batch items are linked by dependsOn, more than fit in one batch ({max})",
                group.len()
            )));
        }
        match batches.last_mut() {
            Some(last) if last.len() + group.len() <= max => last.extend(group),
            _ => batches.push(group),
        }
    }
    Ok(batches)
}
