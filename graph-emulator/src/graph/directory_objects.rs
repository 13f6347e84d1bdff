//! Single objects of any set (GET, PATCH, DELETE), `/directoryObjects/{id}`, `getByIds`, the
//! membership actions (`getMemberGroups`, `checkMemberGroups`, `getMemberObjects`, `checkMemberObjects`)
//! and the polymorphic membership navigations with their cast and `/$count` segments.

use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::listing::{self, Source, Spec};
use super::response::{self, context_url, set_fragment};
use super::{ApiError, Ctx};
use crate::store::{Entity, Kind};

/// Kinds that can appear in memberOf-style collections.
const CONTAINERS: &[Kind] = &[Kind::Group, Kind::DirectoryRole, Kind::AdministrativeUnit];
/// Kinds that can appear in members-style collections.
const MEMBERS: &[Kind] = &[
    Kind::User,
    Kind::Group,
    Kind::ServicePrincipal,
    Kind::Device,
];

/// Whether a path segment is a membership action.
pub(crate) fn is_action(segment: &str) -> bool {
    matches!(
        action_name(segment),
        "getMemberGroups" | "checkMemberGroups" | "getMemberObjects" | "checkMemberObjects"
    )
}

fn action_name(segment: &str) -> &str {
    segment.strip_prefix("microsoft.graph.").unwrap_or(segment)
}

/// Whether a path segment is a membership navigation.
pub(crate) fn is_navigation(segment: &str) -> bool {
    matches!(
        segment,
        "memberOf" | "transitiveMemberOf" | "members" | "transitiveMembers"
    )
}

/// `GET|PATCH|DELETE /{set}/{id}`.
pub(crate) fn entity(ctx: &Ctx, kind: Kind, id: &str) -> Result<Response, ApiError> {
    match ctx.method {
        Method::GET => {
            let dir = ctx.state.directory.read();
            let e = dir.get(kind, id).ok_or_else(|| ApiError::not_found(id))?;
            let mut opts = ctx.options()?;
            opts.resolve(&[kind], kind.type_name())?;
            let expandable: &[&str] = if kind == Kind::User {
                &["manager"]
            } else {
                &[]
            };
            opts.check_expand(kind, expandable)?;
            let json = match listing::render(&dir, &opts, e, false) {
                Value::Object(map) => map,
                _ => Map::new(),
            };
            Ok(response::entity(
                ctx.base(),
                &set_fragment(kind.entity_set(), opts.selected()),
                json,
            ))
        }
        Method::PATCH | Method::DELETE if !kind.is_writable() => {
            Err(ApiError::method_not_allowed())
        }
        Method::PATCH => {
            let mut body = ctx.json_body()?;
            body.retain(|k, _| !k.starts_with('@'));
            let mut dir = ctx.state.directory.write();
            let key = dir
                .get(kind, id)
                .ok_or_else(|| ApiError::not_found(id))?
                .id
                .clone();
            dir.update(&key, &body)?;
            Ok(response::no_content())
        }
        Method::DELETE => {
            let mut dir = ctx.state.directory.write();
            let key = dir
                .get(kind, id)
                .ok_or_else(|| ApiError::not_found(id))?
                .id
                .clone();
            dir.delete(&key, false)?;
            Ok(response::no_content())
        }
        _ => Err(ApiError::method_not_allowed()),
    }
}

/// `GET|DELETE /directoryObjects/{id}`: any kind, with `@odata.type`.
pub(crate) fn object(ctx: &Ctx, id: &str) -> Result<Response, ApiError> {
    match ctx.method {
        Method::GET => {
            let dir = ctx.state.directory.read();
            let e = dir.object(id).ok_or_else(|| ApiError::not_found(id))?;
            let mut opts = ctx.options()?;
            opts.resolve(&Kind::ALL, "directoryObject")?;
            Ok(response::entity(
                ctx.base(),
                &set_fragment("directoryObjects", opts.selected()),
                e.to_json(opts.selected(), true),
            ))
        }
        Method::DELETE => {
            let mut dir = ctx.state.directory.write();
            match dir.object(id) {
                None => return Err(ApiError::not_found(id)),
                Some(e) if !e.kind.is_writable() => return Err(ApiError::method_not_allowed()),
                Some(_) => {}
            }
            dir.delete(id, false)?;
            Ok(response::no_content())
        }
        _ => Err(ApiError::method_not_allowed()),
    }
}

fn string_list(body: &Map<String, Value>, name: &str) -> Result<Vec<String>, ApiError> {
    match body.get(name) {
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str().map(str::to_owned).ok_or_else(|| {
                    ApiError::bad_request(
                        "Request_BadRequest",
                        format!("Invalid value specified for property '{name}'."),
                    )
                })
            })
            .collect(),
        _ => Err(ApiError::bad_request(
            "Request_BadRequest",
            format!("The property '{name}' is required and must be a collection of strings."),
        )),
    }
}

/// `POST /directoryObjects/getByIds` with `{"ids": [...], "types": [...]}`: the objects found, in the
/// order of `ids`.
pub(crate) fn get_by_ids(ctx: &Ctx) -> Result<Response, ApiError> {
    let body = ctx.json_body()?;
    let ids = string_list(&body, "ids")?;
    if ids.len() > 1000 {
        return Err(ApiError::bad_request(
            "Request_BadRequest",
            "The number of ids is limited to 1000.",
        ));
    }
    let types: Option<Vec<Kind>> = match body.get("types") {
        None | Some(Value::Null) => None,
        Some(_) => Some(
            string_list(&body, "types")?
                .iter()
                .map(|t| {
                    Kind::from_type_name(t).ok_or_else(|| {
                        ApiError::bad_request(
                            "Request_BadRequest",
                            format!("Invalid value specified for property 'types': '{t}'."),
                        )
                    })
                })
                .collect::<Result<_, _>>()?,
        ),
    };
    let mut opts = ctx.options()?;
    opts.resolve(&Kind::ALL, "directoryObject")?;
    let dir = ctx.state.directory.read();
    // Without $select, getByIds returns every property of each object (not only the default set).
    let items: Vec<Value> = ids
        .iter()
        .filter_map(|id| dir.object(id))
        .filter(|e| types.as_ref().is_none_or(|t| t.contains(&e.kind)))
        .map(|e| {
            let all: Vec<String>;
            let select = match opts.selected() {
                Some(s) => Some(s),
                None => {
                    all = e.kind.schema().iter().map(|p| p.name.to_owned()).collect();
                    Some(all.as_slice())
                }
            };
            Value::Object(e.to_json(select, true))
        })
        .collect();
    let context = context_url(
        ctx.base(),
        &set_fragment("directoryObjects", opts.selected()),
    );
    Ok(response::collection(context, None, items, None))
}

fn owner<'a>(
    dir: &'a crate::store::Directory,
    kind: Option<Kind>,
    id: &str,
) -> Result<&'a Entity, ApiError> {
    match kind {
        Some(kind) => dir.get(kind, id),
        None => dir.object(id),
    }
    .ok_or_else(|| ApiError::not_found(id))
}

/// `POST /{set}/{id}/getMemberGroups | checkMemberGroups | getMemberObjects | checkMemberObjects`.
pub(crate) fn action(
    ctx: &Ctx,
    kind: Option<Kind>,
    id: &str,
    action: &str,
) -> Result<Response, ApiError> {
    let body = ctx.json_body()?;
    let dir = ctx.state.directory.read();
    let subject = owner(&dir, kind, id)?;
    let values: Vec<String> = match action_name(action) {
        name @ ("getMemberGroups" | "getMemberObjects") => {
            let security_only = body
                .get("securityEnabledOnly")
                .and_then(Value::as_bool)
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "Request_BadRequest",
                        "The property 'securityEnabledOnly' is required and must be a boolean.",
                    )
                })?;
            dir.member_groups(&subject.id, security_only, name == "getMemberObjects")
        }
        name => {
            let property = if name == "checkMemberGroups" {
                "groupIds"
            } else {
                "ids"
            };
            let wanted = string_list(&body, property)?;
            if wanted.len() > 20 {
                return Err(ApiError::bad_request(
                    "Request_BadRequest",
                    format!("The number of {property} is limited to 20."),
                ));
            }
            let all = dir.member_groups(&subject.id, false, name == "checkMemberObjects");
            wanted
                .into_iter()
                .filter(|w| all.iter().any(|g| g.eq_ignore_ascii_case(w)))
                .collect()
        }
    };
    Ok(response::json(
        StatusCode::OK,
        json!({
            "@odata.context": context_url(ctx.base(), "Collection(Edm.String)"),
            "value": values,
        }),
    ))
}

/// `GET /{set}/{id}/{memberOf|transitiveMemberOf|members|transitiveMembers}[/{cast}][/$count]`.
pub(crate) fn navigation(
    ctx: &Ctx,
    kind: Kind,
    id: &str,
    nav: &str,
    rest: &[&str],
) -> Result<Response, ApiError> {
    let dir = ctx.state.directory.read();
    let subject = owner(&dir, Some(kind), id)?;
    let upward = matches!(nav, "memberOf" | "transitiveMemberOf");
    let allowed = if upward {
        matches!(
            kind,
            Kind::User | Kind::Group | Kind::ServicePrincipal | Kind::Device
        )
    } else {
        kind.is_container()
    };
    if !allowed {
        return Err(ApiError::no_resource(nav));
    }
    let items: Vec<&Entity> = match nav {
        "memberOf" => dir.member_of(&subject.id),
        "transitiveMemberOf" => dir.transitive_member_of(&subject.id),
        "members" => dir.members_of(&subject.id).unwrap_or_default(),
        _ => dir.transitive_members(&subject.id).unwrap_or_default(),
    };
    let kinds = if upward { CONTAINERS } else { MEMBERS };
    typed_collection(ctx, &dir, items, rest, kinds)
}

/// Answers a directoryObject-typed collection of `items` (in id order) with an optional cast segment
/// (`microsoft.graph.user`) and `/$count` in `rest`; `kinds` are the kinds it may hold uncast.
pub(crate) fn typed_collection(
    ctx: &Ctx,
    dir: &crate::store::Directory,
    items: Vec<&Entity>,
    rest: &[&str],
    kinds: &[Kind],
) -> Result<Response, ApiError> {
    let (cast, counting) = match rest {
        [] => (None, false),
        ["$count"] => (None, true),
        [cast] => (Some(*cast), false),
        [cast, "$count"] => (Some(*cast), true),
        [.., last] => return Err(ApiError::no_resource(last)),
    };
    let cast_kind = match cast {
        None => None,
        Some(c) => Some(
            Kind::from_type_name(c)
                .filter(|_| c.starts_with("microsoft.graph."))
                .ok_or_else(|| ApiError::no_resource(c))?,
        ),
    };
    let items: Vec<&Entity> = match cast_kind {
        Some(k) => items.into_iter().filter(|e| e.kind == k).collect(),
        None => items,
    };
    let cast_kinds = cast_kind.map(|k| [k]);
    let spec = Spec {
        set: cast_kind.map_or("directoryObjects", Kind::entity_set),
        kinds: match &cast_kinds {
            Some(k) => k,
            None => kinds,
        },
        type_name: cast_kind.map_or("directoryObject", Kind::type_name),
        polymorphic: cast_kind.is_none(),
        default_top: 100,
        max_top: 999,
    };
    if counting {
        return listing::count(ctx, &items, &spec);
    }
    listing::list(ctx, dir, Source::Items(items), &spec)
}
