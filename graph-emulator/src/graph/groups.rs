//! `/groups`: create (security and Microsoft 365 groups, `members@odata.bind`, `owners@odata.bind`)
//! and member references.

use serde_json::{Value, json};

use axum::response::Response;

use super::users::{created, now_iso, reference_target, reference_url_id};
use super::{ApiError, Ctx, response};
use crate::store::{Entity, Kind};

fn invalid_property(name: &str) -> ApiError {
    ApiError::bad_request(
        "Request_BadRequest",
        format!("Invalid value specified for property '{name}' of resource 'Group'."),
    )
}

/// `POST /groups`: requires `displayName`, `mailEnabled`, `mailNickname` and `securityEnabled`. A
/// `groupTypes` of `["Unified"]` makes a Microsoft 365 group (with a mail address); otherwise only
/// security groups (not mail-enabled) can be created, as in Graph. `members@odata.bind` and `owners@odata.bind` add members and owners.
pub(crate) fn create(ctx: &Ctx) -> Result<Response, ApiError> {
    let mut body = ctx.json_body()?;
    let binds = body.remove("members@odata.bind");
    let owner_binds = body.remove("owners@odata.bind");
    body.retain(|k, _| !k.starts_with('@'));
    for required in [
        "displayName",
        "mailEnabled",
        "mailNickname",
        "securityEnabled",
    ] {
        if body.get(required).is_none_or(Value::is_null) {
            return Err(invalid_property(required));
        }
    }
    let unified = body
        .get("groupTypes")
        .and_then(Value::as_array)
        .is_some_and(|types| types.iter().any(|t| t.as_str() == Some("Unified")));
    let mail_enabled = body.get("mailEnabled").and_then(Value::as_bool) == Some(true);
    if mail_enabled && !unified {
        return Err(ApiError::bad_request(
            "Request_BadRequest",
            "Only Microsoft 365 groups can be mail-enabled when created through Microsoft Graph; mail-enabled security groups and distribution groups are not supported.",
        ));
    }
    let nickname = body
        .get("mailNickname")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid_property("mailNickname"))?
        .to_owned();
    let display_name = body
        .get("displayName")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid_property("displayName"))?
        .to_owned();
    let members = bound_ids(binds, "members@odata.bind")?;
    let owners = bound_ids(owner_binds, "owners@odata.bind")?;
    let id = uuid::Uuid::new_v4().to_string();
    let mut group = Entity::new(Kind::Group, &id, &display_name);
    group.apply(&body)?;
    let now = now_iso();
    group.props.insert("createdDateTime".into(), json!(now));
    group.props.insert("renewedDateTime".into(), json!(now));
    if unified {
        let mail = format!("{nickname}@contoso.com");
        group.props.insert("mail".into(), json!(mail));
        group.props.insert(
            "proxyAddresses".into(),
            json!([
                format!("SMTP:{mail}"),
                format!("smtp:{nickname}@contoso.onmicrosoft.com")
            ]),
        );
        group
            .props
            .entry("visibility")
            .or_insert_with(|| json!("Public"));
    }
    let rendered = group.to_json(None, false);
    let mut dir = ctx.state.directory.write();
    if let Some(missing) = members
        .iter()
        .chain(&owners)
        .find(|m| dir.object(m).is_none())
    {
        return Err(ApiError::not_found(missing));
    }
    dir.insert(group)?;
    for member in &members {
        dir.add_member(&id, member)?;
    }
    for owner in &owners {
        dir.add_owner(&id, owner)?;
    }
    drop(dir);
    created(ctx, "groups", &id, rendered)
}

/// The ids of an `...@odata.bind` array of reference URLs, sorted and without duplicates.
fn bound_ids(binds: Option<Value>, name: &str) -> Result<Vec<String>, ApiError> {
    let mut ids: Vec<String> = match binds {
        None => Vec::new(),
        Some(Value::Array(urls)) => urls
            .iter()
            .map(|u| {
                u.as_str()
                    .ok_or_else(|| invalid_property(name))
                    .and_then(reference_url_id)
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(invalid_property(name)),
    };
    ids.sort();
    ids.dedup();
    Ok(ids)
}

/// `POST /groups/{id}/members/$ref` with `{"@odata.id": ".../directoryObjects/{member}"}`: 204.
pub(crate) fn add_member(ctx: &Ctx, group: &str) -> Result<Response, ApiError> {
    let body = ctx.json_body()?;
    let mut dir = ctx.state.directory.write();
    match dir.get(Kind::Group, group) {
        Some(g) if g.kind.is_container() => {}
        _ => return Err(ApiError::not_found(group)),
    }
    let member = reference_target(&dir, &body)?;
    dir.add_member(group, &member)?;
    Ok(response::no_content())
}

/// `DELETE /groups/{id}/members/{member}/$ref`: 204.
pub(crate) fn remove_member(ctx: &Ctx, group: &str, member: &str) -> Result<Response, ApiError> {
    let mut dir = ctx.state.directory.write();
    if dir.object(group).is_none() {
        return Err(ApiError::not_found(group));
    }
    dir.remove_member(group, member)?;
    Ok(response::no_content())
}
