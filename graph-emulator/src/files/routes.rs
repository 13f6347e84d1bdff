//! Graph routes of drives and drive items: `/me/drive`, `/users/{id}/drive`,
//! `/groups/{id}/drive`, `/drives/{id}`, then `root`, `items/{id}`, path addressing
//! (`root:/a/b.txt:`, `items/{id}:/name:`) and `children`, `content` and `createUploadSession`.

use std::time::SystemTime;

use axum::body::Bytes;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::drives::{Conflict, Drive, Item, Owner, drive_id_for};
use super::upload::{Target, UploadSession};
use super::{FileError, SIMPLE_UPLOAD_LIMIT};
use crate::graph::{ApiError, Ctx, response_json};
use crate::state::AppState;

/// An RFC 3339 UTC timestamp with milliseconds, as Graph writes `expirationDateTime`.
pub(crate) fn iso(at: SystemTime) -> String {
    let t: time::OffsetDateTime = at.into();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

fn now() -> String {
    let mut s = iso(SystemTime::now());
    // DateTimeOffset values of items carry whole seconds.
    s.truncate(19);
    s.push('Z');
    s
}

/// The Graph routes of files, photos and Outlook items, or `None` when the path is not one.
pub(crate) fn dispatch(ctx: &Ctx) -> Option<Result<Response, ApiError>> {
    if let Some(result) = super::photos::dispatch(ctx) {
        return Some(result);
    }
    if let Some(result) = super::outlook::dispatch(ctx) {
        return Some(result);
    }
    let (drive, rest) = parse_drive(&ctx.path)?;
    Some(handle(ctx, drive, rest))
}

/// How a path names a drive.
enum DriveRef {
    Me,
    User(String),
    Group(String),
    Id(String),
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

fn parse_drive(path: &str) -> Option<(DriveRef, &str)> {
    if let Some(rest) = path.strip_prefix("me/drive") {
        return (rest.is_empty() || rest.starts_with('/')).then_some((DriveRef::Me, rest));
    }
    for (prefix, group) in [("users/", false), ("groups/", true)] {
        if let Some(rest) = path.strip_prefix(prefix) {
            let (id, rest) = rest.split_once('/')?;
            let rest = rest.strip_prefix("drive")?;
            if !(rest.is_empty() || rest.starts_with('/')) {
                return None;
            }
            let id = decode(id);
            return Some((
                if group {
                    DriveRef::Group(id)
                } else {
                    DriveRef::User(id)
                },
                rest,
            ));
        }
    }
    let rest = path.strip_prefix("drives/")?;
    let (id, rest) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    Some((DriveRef::Id(decode(id)), rest))
}

/// The addressed item (root or by id, then an optional path) and the action after it.
struct Address {
    base: Option<String>,
    path: Vec<String>,
    action: String,
}

fn parse_address(rest: &str) -> Result<Option<Address>, ApiError> {
    if rest.is_empty() {
        return Ok(None);
    }
    let (base, after) = if let Some(after) = rest.strip_prefix("/root") {
        (None, after)
    } else if let Some(after) = rest.strip_prefix("/items/") {
        let end = after.find(['/', ':']).unwrap_or(after.len());
        (Some(decode(&after[..end])), &after[end..])
    } else {
        return Err(ApiError::no_resource(rest.trim_start_matches('/')));
    };
    let (path, action) = match after.strip_prefix(':') {
        Some(addressed) => match addressed.get(1..).and_then(|rest| rest.find(':')) {
            Some(i) => (&addressed[..i + 1], &addressed[i + 2..]),
            None => (addressed, ""),
        },
        None => ("", after),
    };
    let path: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(decode)
        .collect();
    let action = action.trim_start_matches('/');
    let action = action.strip_prefix("microsoft.graph.").unwrap_or(action);
    Ok(Some(Address {
        base,
        path,
        action: action.to_owned(),
    }))
}

/// Finds or creates the drive a path names.
fn drive_id(ctx: &Ctx, drive: DriveRef) -> Result<String, ApiError> {
    let owner = match drive {
        DriveRef::Id(id) => {
            return if ctx.state.files.drives.read().contains_key(&id) {
                Ok(id)
            } else {
                Err(FileError::not_found("The drive could not be found.").into())
            };
        }
        DriveRef::Me => {
            let id = ctx.me()?;
            user_owner(ctx, &id)?
        }
        DriveRef::User(id) => user_owner(ctx, &id)?,
        DriveRef::Group(id) => {
            let dir = ctx.state.directory.read();
            let group = dir
                .get(crate::store::Kind::Group, &id)
                .ok_or_else(|| ApiError::not_found(&id))?;
            Owner::Group {
                id: group.id.clone(),
                display_name: group.display_name.clone(),
            }
        }
    };
    let owner_id = match &owner {
        Owner::User { id, .. } | Owner::Group { id, .. } => id.clone(),
    };
    let id = drive_id_for(&owner_id);
    ctx.state
        .files
        .drives
        .write()
        .entry(id.clone())
        .or_insert_with(|| Drive::new(owner, &now()));
    Ok(id)
}

fn user_owner(ctx: &Ctx, id: &str) -> Result<Owner, ApiError> {
    let dir = ctx.state.directory.read();
    let user = dir.user(id).ok_or_else(|| ApiError::not_found(id))?;
    Ok(Owner::User {
        id: user.id.clone(),
        display_name: user.display_name.clone(),
    })
}

fn handle(ctx: &Ctx, drive: DriveRef, rest: &str) -> Result<Response, ApiError> {
    let address = parse_address(rest)?;
    let drive_id = drive_id(ctx, drive)?;
    let Some(address) = address else {
        if ctx.method != Method::GET {
            return Err(ApiError::method_not_allowed());
        }
        let drives = ctx.state.files.drives.read();
        let drive = drives
            .get(&drive_id)
            .ok_or_else(|| FileError::not_found("The drive could not be found."))?;
        return Ok(response_json(StatusCode::OK, drive_json(&ctx.state, drive)));
    };
    match (ctx.method.clone(), address.action.as_str()) {
        (Method::PUT, "content") => put_content(ctx, &drive_id, &address),
        (Method::POST, "createUploadSession") => create_session(ctx, &drive_id, &address),
        (Method::POST, "children") => create_folder(ctx, &drive_id, &address),
        (method, action) => {
            let drives = ctx.state.files.drives.read();
            let drive = drives
                .get(&drive_id)
                .ok_or_else(|| FileError::not_found("The drive could not be found."))?;
            let item = locate(drive, &address)?.clone();
            match (method, action) {
                (Method::GET, "") => Ok(response_json(
                    StatusCode::OK,
                    item_json(&ctx.state, drive, &item, true),
                )),
                (Method::GET, "children") => {
                    let values: Vec<Value> = drive
                        .children(&item.id)
                        .into_iter()
                        .map(|child| item_json(&ctx.state, drive, child, false))
                        .collect();
                    Ok(response_json(
                        StatusCode::OK,
                        json!({
                            "@odata.context": format!("{}/v1.0/$metadata#Collection(driveItem)", ctx.base()),
                            "value": values,
                        }),
                    ))
                }
                (Method::GET, "content") => {
                    if item.is_folder() {
                        return Err(FileError::invalid("A folder has no content.").into());
                    }
                    let url = download_url(&ctx.state, &drive.id, &item.id);
                    let mut response = StatusCode::FOUND.into_response();
                    if let Ok(value) = HeaderValue::from_str(&url) {
                        response.headers_mut().insert(header::LOCATION, value);
                    }
                    Ok(response)
                }
                (Method::DELETE, "") => {
                    drop(drives);
                    let mut drives = ctx.state.files.drives.write();
                    let drive = drives
                        .get_mut(&drive_id)
                        .ok_or_else(|| FileError::not_found("The drive could not be found."))?;
                    drive.delete(&item.id)?;
                    Ok(StatusCode::NO_CONTENT.into_response())
                }
                (Method::GET | Method::DELETE, other) => Err(ApiError::no_resource(other)),
                _ => Err(ApiError::method_not_allowed()),
            }
        }
    }
}

fn locate<'a>(drive: &'a Drive, address: &Address) -> Result<&'a Item, FileError> {
    let base = address.base.as_deref().unwrap_or(&drive.root);
    drive
        .resolve(base, &address.path)
        .ok_or_else(|| FileError::not_found("The resource could not be found."))
}

/// The parent folder and the file name an address names for a write: `items/{parent}:/{name}:`
/// or `root:/a/b/{name}:` (missing folders are created).
fn write_target(
    drive: &mut Drive,
    address: &Address,
) -> Result<(String, Option<String>), FileError> {
    let base = address.base.clone().unwrap_or_else(|| drive.root.clone());
    match address.path.split_last() {
        Some((name, folders)) => {
            let parent = drive.ensure_folders(&base, folders, &now())?;
            Ok((parent, Some(name.clone())))
        }
        None => Ok((base, None)),
    }
}

fn conflict_from_query(ctx: &Ctx) -> Result<Conflict, FileError> {
    let value = ctx.query.as_deref().and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "@microsoft.graph.conflictBehavior")
            .map(|(_, v)| v.into_owned())
    });
    Conflict::parse(value.as_deref())
}

/// `PUT .../content`: a simple upload (up to 250 MB).
fn put_content(ctx: &Ctx, drive_id: &str, address: &Address) -> Result<Response, ApiError> {
    let size = ctx.body.len() as u64;
    if size > SIMPLE_UPLOAD_LIMIT {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalidRequest",
            "A simple upload takes at most 250 MB; use an upload session for larger files.",
        ));
    }
    ctx.state.files.reserve(size)?;
    let conflict = conflict_from_query(ctx)?;
    let (parent, name) = {
        let mut drives = ctx.state.files.drives.write();
        let drive = drives
            .get_mut(drive_id)
            .ok_or_else(|| FileError::not_found("The drive could not be found."))?;
        write_target(drive, address)?
    };
    match name {
        Some(name) => Ok(commit_file(
            &ctx.state,
            drive_id,
            &parent,
            &name,
            ctx.body.clone(),
            conflict,
        )),
        None => {
            let mut drives = ctx.state.files.drives.write();
            let drive = drives
                .get_mut(drive_id)
                .ok_or_else(|| FileError::not_found("The drive could not be found."))?;
            let item = drive
                .replace_content(&parent, ctx.body.clone(), &now())?
                .clone();
            Ok(response_json(
                StatusCode::OK,
                item_json(&ctx.state, drive, &item, true),
            ))
        }
    }
}

/// Writes a file and answers 201 (created) or 200 (replaced) with the driveItem.
pub(crate) fn commit_file(
    state: &AppState,
    drive_id: &str,
    parent: &str,
    name: &str,
    content: Bytes,
    conflict: Conflict,
) -> Response {
    let mut drives = state.files.drives.write();
    let Some(drive) = drives.get_mut(drive_id) else {
        return ApiError::from(FileError::not_found("The drive could not be found."))
            .into_response();
    };
    match drive.write_file(parent, name, content, conflict, &now()) {
        Ok((item, created)) => {
            let item = item.clone();
            let status = if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            response_json(status, item_json(state, drive, &item, true))
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// `POST .../createUploadSession` (`items/{parent}:/{name}:` or `root:/path:`).
fn create_session(ctx: &Ctx, drive_id: &str, address: &Address) -> Result<Response, ApiError> {
    let body: Map<String, Value> = if ctx.body.is_empty() {
        Map::new()
    } else {
        ctx.json_body()?
    };
    let item = body.get("item").and_then(Value::as_object);
    let conflict = Conflict::parse(
        item.and_then(|i| i.get("@microsoft.graph.conflictBehavior"))
            .and_then(Value::as_str),
    )?;
    let mut drives = ctx.state.files.drives.write();
    let drive = drives
        .get_mut(drive_id)
        .ok_or_else(|| FileError::not_found("The drive could not be found."))?;
    let (parent, name) = write_target(drive, address)?;
    let (parent, name) = match name {
        Some(name) => (parent, name),
        // `items/{id}/createUploadSession` on an existing file replaces it.
        None => {
            let existing = drive
                .item(&parent)
                .ok_or_else(|| FileError::not_found("The resource could not be found."))?;
            let Some(parent_of) = existing.parent.clone().filter(|_| !existing.is_folder()) else {
                return Err(FileError::invalid(
                    "Name the file to upload: items/{parent-id}:/{file name}:/createUploadSession.",
                )
                .into());
            };
            (parent_of, existing.name.clone())
        }
    };
    if conflict == Conflict::Fail && drive.child(&parent, &name).is_some() {
        return Err(FileError::name_exists().into());
    }
    drop(drives);
    let session = UploadSession::new(
        Target::Drive {
            drive_id: drive_id.to_owned(),
            parent_id: parent,
            name,
            conflict,
        },
        ctx.state.files.limits.session_lifetime,
    );
    Ok(response_json(
        StatusCode::OK,
        register_session(&ctx.state, session, None),
    ))
}

/// Registers a new session and renders the answer to its creation.
pub(crate) fn register_session(
    state: &AppState,
    session: UploadSession,
    context: Option<String>,
) -> Value {
    let mut body = json!({
        "uploadUrl": format!("{}/upload/{}?tempauth={}", state.files.content_base(), session.id, session.token),
        "expirationDateTime": iso(session.expires_at),
        "nextExpectedRanges": session.next_expected(),
    });
    if let Some(context) = context {
        body["@odata.context"] = context.into();
    }
    state
        .files
        .sessions
        .lock()
        .insert(session.id.clone(), session);
    body
}

/// `POST .../children` with `{"name", "folder": {}}`: a new folder.
fn create_folder(ctx: &Ctx, drive_id: &str, address: &Address) -> Result<Response, ApiError> {
    let body = ctx.json_body()?;
    let name = body
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| FileError::invalid("The property 'name' is required."))?;
    if !body.get("folder").is_some_and(Value::is_object) {
        return Err(FileError::invalid("Only folders can be created with POST .../children; upload files with PUT .../content.").into());
    }
    let conflict = Conflict::parse(
        body.get("@microsoft.graph.conflictBehavior")
            .and_then(Value::as_str)
            .or(Some("fail")),
    )?;
    let mut drives = ctx.state.files.drives.write();
    let drive = drives
        .get_mut(drive_id)
        .ok_or_else(|| FileError::not_found("The drive could not be found."))?;
    let parent = locate(drive, address)?.id.clone();
    let item = drive
        .create_folder(&parent, name, conflict, &now())?
        .clone();
    Ok(response_json(
        StatusCode::CREATED,
        item_json(&ctx.state, drive, &item, true),
    ))
}

/// The pre-authenticated download URL of an item (one token per item).
pub(crate) fn download_url(state: &AppState, drive_id: &str, item_id: &str) -> String {
    let token = state
        .files
        .downloads
        .lock()
        .entry(item_id.to_owned())
        .or_insert_with(|| (drive_id.to_owned(), crate::identity::random_id(24)))
        .1
        .clone();
    format!(
        "{}/download/{item_id}?tempauth={token}",
        state.files.content_base()
    )
}

fn drive_json(state: &AppState, drive: &Drive) -> Value {
    let (owner_key, id, name) = match &drive.owner {
        Owner::User { id, display_name } => ("user", id, display_name),
        Owner::Group { id, display_name } => ("group", id, display_name),
    };
    let used = drive.used();
    let total = state.files.limits.max_total_bytes;
    json!({
        "@odata.context": format!("{}/v1.0/$metadata#drives/$entity", state.base_url),
        "id": drive.id,
        "driveType": "business",
        "name": if owner_key == "user" { "OneDrive" } else { "Documents" },
        "createdDateTime": drive.created,
        "webUrl": format!("{}/drives/{}", state.files.content_base(), drive.id),
        "owner": { owner_key: { "id": id, "displayName": name } },
        "quota": {
            "total": total,
            "used": used,
            "remaining": total.saturating_sub(used),
            "deleted": 0,
            "state": "normal",
        },
    })
}

/// A driveItem as Graph renders it.
pub(crate) fn item_json(state: &AppState, drive: &Drive, item: &Item, with_context: bool) -> Value {
    let mut body = json!({
        "id": item.id,
        "name": item.name,
        "size": item.size(),
        "createdDateTime": item.created,
        "lastModifiedDateTime": item.modified,
        "eTag": format!("\"{{{}}},{}\"", item.id, item.version),
        "cTag": format!("\"c:{{{}}},{}\"", item.id, item.version),
        "webUrl": format!("{}/drives/{}/items/{}", state.files.content_base(), drive.id, item.id),
        "parentReference": { "driveId": drive.id, "driveType": "business" },
    });
    if with_context {
        body["@odata.context"] = format!(
            "{}/v1.0/$metadata#drives('{}')/items/$entity",
            state.base_url, drive.id
        )
        .into();
    }
    if let Some(parent) = &item.parent {
        body["parentReference"]["id"] = parent.clone().into();
        if let Some(path) = drive.parent_path(item) {
            body["parentReference"]["path"] = path.into();
        }
    } else {
        body["root"] = json!({});
    }
    if item.is_folder() {
        body["folder"] = json!({ "childCount": drive.children(&item.id).len() });
    } else {
        body["file"] = json!({ "mimeType": item.mime_type });
        body["@microsoft.graph.downloadUrl"] = download_url(state, &drive.id, &item.id).into();
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse() {
        let a = parse_address("/root:/folder/file%20one.txt:/content")
            .unwrap()
            .unwrap();
        assert_eq!(a.base, None);
        assert_eq!(a.path, ["folder", "file one.txt"]);
        assert_eq!(a.action, "content");
        let a = parse_address("/items/01ABC:/new.txt:/createUploadSession")
            .unwrap()
            .unwrap();
        assert_eq!(a.base.as_deref(), Some("01ABC"));
        assert_eq!(a.path, ["new.txt"]);
        assert_eq!(a.action, "createUploadSession");
        let a = parse_address("/root:/a/b.txt:").unwrap().unwrap();
        assert_eq!(a.path, ["a", "b.txt"]);
        assert_eq!(a.action, "");
        let a = parse_address("/root:/a/b.txt").unwrap().unwrap();
        assert_eq!(a.path, ["a", "b.txt"]);
        let a = parse_address("/items/01ABC/children").unwrap().unwrap();
        assert_eq!(a.action, "children");
        assert!(parse_address("/bogus").is_err());
        assert!(parse_address("").unwrap().is_none());
        assert!(matches!(
            parse_drive("me/drive/root"),
            Some((DriveRef::Me, "/root"))
        ));
        assert!(parse_drive("me/drives").is_none());
        assert!(
            matches!(parse_drive("users/x%40y/drive"), Some((DriveRef::User(id), "")) if id == "x@y")
        );
    }
}
