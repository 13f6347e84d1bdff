//! `/users/delta` and `/groups/delta`: a full round (every object, paged with `@odata.nextLink`) ending
//! with an `@odata.deltaLink`; following that link reports what changed since, from the change log:
//! current state for created/updated objects, `@removed` for deleted ones, and for groups
//! `members@delta` with added and removed members. `$deltatoken=latest` starts from now.
//!
//! Tokens are opaque: the round's bounds, the position and the `$select` are inside them, so next and
//! delta links carry nothing else.

use std::collections::{BTreeMap, BTreeSet};

use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::response::{context_url, json as json_response, set_fragment};
use super::{ApiError, Ctx};
use crate::odata::skiptoken;
use crate::store::{ChangeOp, Directory, Entity, Kind};

/// The state of a round, inside `$skiptoken` (mid-round) or `$deltatoken` (between rounds).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct RoundState {
    /// The entity set the token belongs to (`users`, `groups`).
    #[serde(rename = "k")]
    set: String,
    /// Report changes after this sequence number; `None` for a full (initial) round.
    #[serde(rename = "f", default, skip_serializing_if = "Option::is_none")]
    from: Option<u64>,
    /// The sequence number the round covers up to (taken when the round started).
    #[serde(rename = "u")]
    upto: u64,
    /// The last id returned (mid-round only).
    #[serde(rename = "a", default, skip_serializing_if = "Option::is_none")]
    after: Option<String>,
    /// `$select` of the round.
    #[serde(rename = "s", default, skip_serializing_if = "Option::is_none")]
    select: Option<Vec<String>>,
    /// Page size.
    #[serde(rename = "n")]
    page: usize,
}

/// What one object's net change in a round is.
#[derive(Debug, Default)]
struct Summary {
    removed: Option<bool>,
    /// Created in this round: reported in full even with `return=minimal`.
    created: bool,
    /// Properties written by updates in this round.
    written: BTreeSet<String>,
    members: BTreeMap<String, (Kind, bool)>,
}

/// Decodes a token and checks it belongs to this entity set.
fn decode(token: &str, kind: Kind) -> Result<RoundState, ApiError> {
    let state: RoundState = skiptoken::decode(token)?;
    if state.set != kind.entity_set() {
        return Err(skiptoken::invalid().into());
    }
    Ok(state)
}

/// Whether the request asks for `Prefer: return=minimal` (updates report only the written properties).
fn minimal(ctx: &Ctx) -> bool {
    ctx.headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim().eq_ignore_ascii_case("return=minimal"))
}

fn page_size(ctx: &Ctx, top: Option<u32>) -> usize {
    let preferred = ctx
        .headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|p| p.trim().strip_prefix("odata.maxpagesize="))
        .find_map(|n| n.trim().parse::<usize>().ok());
    preferred
        .or(top.map(|t| t as usize))
        .unwrap_or(100)
        .clamp(1, 999)
}

/// `GET /{users|groups}/delta`.
pub(crate) fn handle(ctx: &Ctx, kind: Kind) -> Result<Response, ApiError> {
    let mut opts = ctx.options()?;
    if opts.filter.is_some()
        || opts.orderby.is_some()
        || opts.search.is_some()
        || !opts.expand.is_empty()
        || opts.count.is_some()
    {
        return Err(ApiError::bad_request(
            "Request_UnsupportedQuery",
            "Only $select and $top are supported with delta queries in the emulator.",
        ));
    }
    opts.resolve(&[kind], kind.type_name())?;
    let dir = ctx.state.directory.read();
    let (state, first) = match (&opts.skiptoken, &opts.deltatoken) {
        (Some(t), _) => (decode(t, kind)?, false),
        (None, Some(t)) if t == "latest" => {
            let state = RoundState {
                set: kind.entity_set().to_owned(),
                from: Some(dir.change_seq()),
                upto: dir.change_seq(),
                after: None,
                select: opts.select.clone(),
                page: page_size(ctx, opts.top),
            };
            return Ok(finish(ctx, kind, &state, Vec::new(), None, true));
        }
        (None, Some(t)) => {
            let previous = decode(t, kind)?;
            if previous.upto > dir.change_seq() {
                return Err(ApiError::new(
                    axum::http::StatusCode::GONE,
                    "syncStateNotFound",
                    "The delta token is not valid for this directory; restart the sync without a token.",
                ));
            }
            let state = RoundState {
                set: previous.set,
                from: Some(previous.upto),
                upto: dir.change_seq(),
                after: None,
                select: previous.select,
                page: page_size(ctx, opts.top),
            };
            (state, false)
        }
        (None, None) => {
            let state = RoundState {
                set: kind.entity_set().to_owned(),
                from: None,
                upto: dir.change_seq(),
                after: None,
                select: opts.select.clone(),
                page: page_size(ctx, opts.top),
            };
            (state, true)
        }
    };
    let (items, last) = match state.from {
        None => full_page(&dir, kind, &state),
        Some(from) => change_page(&dir, kind, &state, from, minimal(ctx)),
    };
    Ok(finish(ctx, kind, &state, items, last, first))
}

fn finish(
    ctx: &Ctx,
    kind: Kind,
    state: &RoundState,
    items: Vec<Value>,
    last: Option<String>,
    first: bool,
) -> Response {
    let mut body = Map::new();
    let fragment = if first {
        set_fragment(kind.entity_set(), state.select.as_deref())
    } else {
        kind.entity_set().to_owned()
    };
    body.insert(
        "@odata.context".into(),
        json!(context_url(ctx.base(), &fragment)),
    );
    let base = format!("{}/v1.0/{}/delta", ctx.base(), kind.entity_set());
    match last {
        Some(after) => {
            let next = RoundState {
                after: Some(after),
                ..state.clone()
            };
            body.insert(
                "@odata.nextLink".into(),
                json!(format!("{base}?$skiptoken={}", skiptoken::encode(&next))),
            );
        }
        None => {
            let done = RoundState {
                set: state.set.clone(),
                from: None,
                upto: state.upto,
                after: None,
                select: state.select.clone(),
                page: state.page,
            };
            body.insert(
                "@odata.deltaLink".into(),
                json!(format!("{base}?$deltatoken={}", skiptoken::encode(&done))),
            );
        }
    }
    body.insert("value".into(), Value::Array(items));
    json_response(axum::http::StatusCode::OK, Value::Object(body))
}

fn render(dir: &Directory, e: &Entity, select: Option<&[String]>) -> Map<String, Value> {
    let mut json = e.to_json(select, false);
    json.insert("id".into(), json!(e.id));
    if e.kind == Kind::Group {
        let members: Vec<Value> = dir
            .members_of(&e.id)
            .unwrap_or_default()
            .into_iter()
            .map(|m| json!({"@odata.type": m.kind.odata_type(), "id": m.id}))
            .collect();
        json.insert("members@delta".into(), Value::Array(members));
    }
    json
}

/// A page of a full round; returns the items and, when more follow, the last id.
fn full_page(dir: &Directory, kind: Kind, state: &RoundState) -> (Vec<Value>, Option<String>) {
    let mut iter = dir.iter_after(kind, state.after.as_deref());
    let page: Vec<&Entity> = iter.by_ref().take(state.page).collect();
    let more = iter.next().is_some();
    let last = page.last().filter(|_| more).map(|e| e.id.clone());
    let items = page
        .into_iter()
        .map(|e| Value::Object(render(dir, e, state.select.as_deref())))
        .collect();
    (items, last)
}

/// A page of a change round.
fn change_page(
    dir: &Directory,
    kind: Kind,
    state: &RoundState,
    from: u64,
    minimal: bool,
) -> (Vec<Value>, Option<String>) {
    let mut summaries: BTreeMap<String, Summary> = BTreeMap::new();
    for change in dir.changes_between(from, state.upto) {
        if change.kind != kind {
            continue;
        }
        let s = summaries.entry(change.id.clone()).or_default();
        match &change.op {
            ChangeOp::Upsert(None) => s.created = true,
            ChangeOp::Upsert(Some(names)) => s.written.extend(names.iter().cloned()),
            ChangeOp::Removed { permanent } => s.removed = Some(*permanent),
            ChangeOp::MemberAdded(m, k) => {
                s.members.insert(m.clone(), (*k, true));
            }
            ChangeOp::MemberRemoved(m, k) => {
                s.members.insert(m.clone(), (*k, false));
            }
        }
    }
    let after = state.after.clone().unwrap_or_default();
    let mut rest = summaries
        .into_iter()
        .filter(|(id, _)| state.after.is_none() || *id > after);
    let page: Vec<(String, Summary)> = rest.by_ref().take(state.page).collect();
    let more = rest.next().is_some();
    let last = page.last().filter(|_| more).map(|(id, _)| id.clone());
    let items = page
        .into_iter()
        .map(|(id, summary)| render_change(dir, &id, &summary, state.select.as_deref(), minimal))
        .collect();
    (items, last)
}

fn render_change(
    dir: &Directory,
    id: &str,
    s: &Summary,
    select: Option<&[String]>,
    minimal: bool,
) -> Value {
    let current = dir.object(id);
    let (Some(e), None) = (current, s.removed) else {
        let reason = if s.removed == Some(true) {
            "deleted"
        } else {
            "changed"
        };
        return json!({"id": id, "@removed": {"reason": reason}});
    };
    let written: Vec<String>;
    let select = if minimal && !s.created {
        written = s
            .written
            .iter()
            .filter(|w| select.is_none_or(|sel| sel.contains(w)))
            .cloned()
            .collect();
        Some(written.as_slice())
    } else {
        select
    };
    let mut json = e.to_json(select, false);
    json.insert("id".into(), json!(e.id));
    if e.kind == Kind::Group {
        let members: Vec<Value> = s
            .members
            .iter()
            .map(|(m, (k, added))| {
                if *added {
                    json!({"@odata.type": k.odata_type(), "id": m})
                } else {
                    json!({"@odata.type": k.odata_type(), "id": m, "@removed": {"reason": "deleted"}})
                }
            })
            .collect();
        json.insert("members@delta".into(), Value::Array(members));
    }
    Value::Object(json)
}
