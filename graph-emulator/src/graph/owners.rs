//! Owners of groups, applications and service principals (`owners`, `owners/$ref`) and the reverse
//! navigation `users/{id}/ownedObjects`.

use axum::response::Response;

use super::directory_objects::typed_collection;
use super::users::reference_target;
use super::{ApiError, Ctx, response};
use crate::store::{Kind, OWNED_KINDS, OWNER_KINDS};

/// Whether objects of `kind` have an `owners` navigation.
pub(crate) fn has_owners(kind: Kind) -> bool {
    OWNED_KINDS.contains(&kind)
}

/// `GET /{set}/{id}/owners[/microsoft.graph.{type}][/$count]`.
pub(crate) fn list(ctx: &Ctx, kind: Kind, id: &str, rest: &[&str]) -> Result<Response, ApiError> {
    let dir = ctx.state.directory.read();
    let object = dir.get(kind, id).ok_or_else(|| ApiError::not_found(id))?;
    let items = dir.owners_of(&object.id).unwrap_or_default();
    typed_collection(ctx, &dir, items, rest, OWNER_KINDS)
}

/// `POST /{set}/{id}/owners/$ref` with `{"@odata.id": ".../directoryObjects/{owner}"}`: 204.
pub(crate) fn add(ctx: &Ctx, kind: Kind, id: &str) -> Result<Response, ApiError> {
    let body = ctx.json_body()?;
    let mut dir = ctx.state.directory.write();
    let object = dir
        .get(kind, id)
        .ok_or_else(|| ApiError::not_found(id))?
        .id
        .clone();
    let owner = reference_target(&dir, &body)?;
    dir.add_owner(&object, &owner)?;
    Ok(response::no_content())
}

/// `DELETE /{set}/{id}/owners/{owner}/$ref`: 204, or 404 when `owner` is not an owner.
pub(crate) fn remove(ctx: &Ctx, kind: Kind, id: &str, owner: &str) -> Result<Response, ApiError> {
    let mut dir = ctx.state.directory.write();
    let object = dir
        .get(kind, id)
        .ok_or_else(|| ApiError::not_found(id))?
        .id
        .clone();
    dir.remove_owner(&object, owner)?;
    Ok(response::no_content())
}

/// `GET /users/{id}/ownedObjects[/microsoft.graph.{type}][/$count]` (also for service principals).
pub(crate) fn owned_objects(
    ctx: &Ctx,
    kind: Kind,
    id: &str,
    rest: &[&str],
) -> Result<Response, ApiError> {
    let dir = ctx.state.directory.read();
    let owner = dir.get(kind, id).ok_or_else(|| ApiError::not_found(id))?;
    let items = dir.owned_objects(&owner.id);
    typed_collection(ctx, &dir, items, rest, OWNED_KINDS)
}
