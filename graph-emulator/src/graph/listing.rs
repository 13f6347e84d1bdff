//! Listing collections: filtering, searching, ordering, key-set paging with opaque `$skiptoken`s,
//! `@odata.count` on the first page, `$expand=manager`, and `/$count`.

use std::cmp::Ordering;

use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::response::{self, context_url, set_fragment};
use super::{ApiError, Ctx};
use crate::odata::{QueryOptions, skiptoken};
use crate::store::{Directory, Entity, Kind};

/// Where the items of a collection come from.
pub(crate) enum Source<'a> {
    /// A whole entity set, read in id order straight from the store.
    Table(Kind),
    /// A computed collection (memberOf, members, ...) already in id order.
    Items(Vec<&'a Entity>),
}

/// How a collection is described on the wire.
pub(crate) struct Spec<'a> {
    /// The context URL's entity set, e.g. `users`, `groups`, `directoryObjects`.
    pub set: &'a str,
    /// The kinds the collection may hold (query options resolve against their schemas).
    pub kinds: &'a [Kind],
    /// The type name for messages, e.g. `user` or `directoryObject`.
    pub type_name: &'a str,
    /// Whether items carry `@odata.type` (directoryObject-typed collections).
    pub polymorphic: bool,
    /// Page size without `$top`.
    pub default_top: u32,
    /// Largest allowed `$top`.
    pub max_top: u32,
}

impl Spec<'static> {
    /// The spec of an entity set such as `/users`.
    pub(crate) fn for_set(kind: Kind) -> Spec<'static> {
        let kinds: &'static [Kind] = match kind {
            Kind::User => &[Kind::User],
            Kind::Group => &[Kind::Group],
            Kind::DirectoryRole => &[Kind::DirectoryRole],
            Kind::AdministrativeUnit => &[Kind::AdministrativeUnit],
            Kind::Application => &[Kind::Application],
            Kind::ServicePrincipal => &[Kind::ServicePrincipal],
            Kind::Device => &[Kind::Device],
        };
        Spec {
            set: kind.entity_set(),
            kinds,
            type_name: kind.type_name(),
            polymorphic: false,
            // directoryRoles do not support paging: one page holds them all.
            default_top: if kind == Kind::DirectoryRole {
                999
            } else {
                100
            },
            max_top: 999,
        }
    }
}

/// The position a `$skiptoken` encodes: the last item returned (its sort key and id) and the query's
/// fingerprint.
#[derive(Debug, Serialize, Deserialize)]
struct PageToken {
    #[serde(rename = "k", default, skip_serializing_if = "Option::is_none")]
    key: Option<String>,
    #[serde(rename = "i")]
    id: String,
    #[serde(rename = "q")]
    query: u64,
}

/// A sortable key: strings compare case-insensitively, `null` first.
fn sort_key(e: &Entity, property: &str) -> String {
    match e.property(property).as_deref() {
        Some(Value::String(s)) => format!("1{}", s.to_lowercase()),
        Some(Value::Bool(b)) => format!("1{}", u8::from(*b)),
        Some(Value::Number(n)) => format!(
            "1{:020}",
            n.as_i64().unwrap_or(0).saturating_add(i64::MAX / 2)
        ),
        _ => "0".to_owned(),
    }
}

/// Lists an entity set (`GET /users`, `/groups`, ...).
pub(crate) fn list_set(ctx: &Ctx, kind: Kind) -> Result<Response, ApiError> {
    let dir = ctx.state.directory.read();
    list(ctx, &dir, Source::Table(kind), &Spec::for_set(kind))
}

/// `GET /{set}/$count`.
pub(crate) fn count_set(ctx: &Ctx, kind: Kind) -> Result<Response, ApiError> {
    let dir = ctx.state.directory.read();
    if ctx.query.is_none() && ctx.eventual() {
        return Ok(response::count(dir.count(kind)));
    }
    let items: Vec<&Entity> = dir.iter_after(kind, None).collect();
    count(ctx, &items, &Spec::for_set(kind))
}

/// Answers a `/$count` segment over `items` (needs `ConsistencyLevel: eventual`; honours `$filter` and
/// `$search`).
pub(crate) fn count(ctx: &Ctx, items: &[&Entity], spec: &Spec<'_>) -> Result<Response, ApiError> {
    if !ctx.eventual() {
        return Err(ApiError::bad_request(
            "Request_BadRequest",
            "$count is not currently supported.",
        ));
    }
    let mut opts = ctx.options()?;
    opts.resolve(spec.kinds, spec.type_name)?;
    let n = items.iter().filter(|e| matches(&opts, e)).count();
    Ok(response::count(n))
}

fn matches(opts: &QueryOptions, e: &Entity) -> bool {
    opts.filter.as_ref().is_none_or(|f| f.matches(e))
        && opts.search.as_ref().is_none_or(|s| s.matches(e))
}

/// Lists one page of a collection.
pub(crate) fn list(
    ctx: &Ctx,
    dir: &Directory,
    source: Source<'_>,
    spec: &Spec<'_>,
) -> Result<Response, ApiError> {
    let mut opts = ctx.options()?;
    opts.resolve(spec.kinds, spec.type_name)?;
    let expandable: &[&str] = if spec.kinds == [Kind::User] {
        &["manager"]
    } else {
        &[]
    };
    opts.check_expand(
        spec.kinds.first().copied().unwrap_or(Kind::User),
        expandable,
    )?;
    let emit_count = opts.check_advanced(ctx.eventual())?;
    let size = opts.page_size(spec.default_top, spec.max_top)?;
    let fingerprint = opts.fingerprint();
    let after: Option<PageToken> = match &opts.skiptoken {
        Some(token) => {
            let token: PageToken = skiptoken::decode(token)?;
            if token.query != fingerprint {
                return Err(skiptoken::invalid().into());
            }
            Some(token)
        }
        None => None,
    };
    let count = (emit_count && after.is_none()).then(|| match &source {
        Source::Table(kind) => dir
            .iter_after(*kind, None)
            .filter(|e| matches(&opts, e))
            .count(),
        Source::Items(items) => items.iter().filter(|e| matches(&opts, e)).count(),
    });
    let (page, more) = match &opts.orderby {
        None => {
            let after_id = after.as_ref().map(|t| t.id.as_str());
            let mut iter: Box<dyn Iterator<Item = &Entity>> = match &source {
                Source::Table(kind) => Box::new(dir.iter_after(*kind, after_id)),
                Source::Items(items) => Box::new(
                    items
                        .iter()
                        .copied()
                        .filter(move |e| after_id.is_none_or(|a| e.id.as_str() > a)),
                ),
            };
            let mut matching = iter.by_ref().filter(|e| matches(&opts, e));
            let page: Vec<&Entity> = matching.by_ref().take(size).collect();
            let more = matching.next().is_some();
            (page, more)
        }
        Some(order) => {
            let mut all: Vec<(String, &Entity)> = match &source {
                Source::Table(kind) => dir.iter_after(*kind, None).collect::<Vec<_>>(),
                Source::Items(items) => items.clone(),
            }
            .into_iter()
            .filter(|e| matches(&opts, e))
            .map(|e| (sort_key(e, &order.property), e))
            .collect();
            let cmp = |a: (&str, &str), b: (&str, &str)| {
                let o = a.cmp(&b);
                if order.descending { o.reverse() } else { o }
            };
            all.sort_by(|(ka, a), (kb, b)| cmp((ka, &a.id), (kb, &b.id)));
            let start = match &after {
                Some(t) => {
                    let key = t.key.clone().unwrap_or_default();
                    all.partition_point(|(k, e)| {
                        cmp((k, &e.id), (&key, &t.id)) != Ordering::Greater
                    })
                }
                None => 0,
            };
            let rest = all.get(start..).unwrap_or(&[]);
            let page: Vec<&Entity> = rest.iter().take(size).map(|(_, e)| *e).collect();
            (page, rest.len() > size)
        }
    };
    let next_link = match (more, page.last()) {
        (true, Some(last)) => {
            let token = PageToken {
                key: opts.orderby.as_ref().map(|o| sort_key(last, &o.property)),
                id: last.id.clone(),
                query: fingerprint,
            };
            Some(ctx.link(&opts.next_link_query("$skiptoken", &skiptoken::encode(&token))))
        }
        _ => None,
    };
    let items = page
        .iter()
        .map(|e| render(dir, &opts, e, spec.polymorphic))
        .collect();
    let context = context_url(ctx.base(), &set_fragment(spec.set, opts.selected()));
    Ok(response::collection(context, count, items, next_link))
}

/// Renders one item with `$select` and `$expand=manager`.
pub(crate) fn render(dir: &Directory, opts: &QueryOptions, e: &Entity, with_type: bool) -> Value {
    let mut json = e.to_json(opts.selected(), with_type);
    if e.kind == Kind::User
        && let Some(expand) = opts.expands("manager")
        && let Some(manager) = dir.manager(&e.id)
    {
        json.insert(
            "manager".into(),
            Value::Object(manager.to_json(expand.select.as_deref(), true)),
        );
    }
    Value::Object(json)
}
