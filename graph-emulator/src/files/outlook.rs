//! The minimal Outlook state attachments need: messages and events of a user (create, get,
//! list, delete) with file attachments (small ones inline as `contentBytes`, large ones through an
//! upload session) and their raw content at `.../attachments/{id}/$value`.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

use super::FileError;
use super::upload::{Target, UploadSession};
use crate::graph::{ApiError, Ctx, response_json};
use crate::state::AppState;

/// Attachments posted inline must be under 3 MB; larger ones need an upload session.
const INLINE_LIMIT: usize = 3 * 1024 * 1024;
/// Outlook's largest attachment through an upload session (150 MB).
const SESSION_LIMIT: u64 = 150 * 1024 * 1024;

/// A file attachment.
#[derive(Debug, Clone)]
pub(crate) struct Attachment {
    pub id: String,
    pub name: String,
    pub content_type: String,
    pub is_inline: bool,
    pub content: Bytes,
    pub modified: String,
}

/// A message or an event.
#[derive(Debug, Clone)]
pub(crate) struct OutlookItem {
    pub id: String,
    pub user_id: String,
    /// `messages` or `events`.
    pub collection: &'static str,
    pub fields: Map<String, Value>,
    pub attachments: Vec<Attachment>,
}

/// Messages and events by id.
#[derive(Debug, Default)]
pub(crate) struct Outlook {
    items: HashMap<String, OutlookItem>,
}

impl Outlook {
    pub(crate) fn used_bytes(&self) -> u64 {
        self.items
            .values()
            .flat_map(|i| &i.attachments)
            .map(|a| a.content.len() as u64)
            .sum()
    }
}

/// An attachment to add.
pub(crate) struct NewAttachment {
    pub name: String,
    pub content_type: String,
    pub is_inline: bool,
    pub content: Bytes,
}

fn now() -> String {
    crate::graph::now_iso()
}

fn new_id() -> String {
    // Outlook ids are long base64 strings; a URL-safe random one keeps paths simple.
    format!("AAMk{}", crate::identity::random_id(48))
}

fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "ErrorItemNotFound",
        "The specified object was not found in the store.",
    )
}

/// The routes, or `None` when the path is not a message or event route.
pub(crate) fn dispatch(ctx: &Ctx) -> Option<Result<Response, ApiError>> {
    let segs: Vec<&str> = ctx.path.split('/').collect();
    let (user, rest): (Option<&str>, &[&str]) = match segs.as_slice() {
        ["me", rest @ ..] => (None, rest),
        ["users", id, rest @ ..] => (Some(*id), rest),
        _ => return None,
    };
    let collection: &'static str = match rest.first() {
        Some(&"messages") => "messages",
        Some(&"events") => "events",
        _ => return None,
    };
    Some(handle(ctx, user, collection, &rest[1..]))
}

fn user_id(ctx: &Ctx, user: Option<&str>) -> Result<String, ApiError> {
    let id = match user {
        Some(id) => percent_encoding::percent_decode_str(id)
            .decode_utf8_lossy()
            .into_owned(),
        None => ctx.me()?,
    };
    let dir = ctx.state.directory.read();
    dir.user(&id)
        .map(|u| u.id.clone())
        .ok_or_else(|| ApiError::not_found(&id))
}

fn handle(
    ctx: &Ctx,
    user: Option<&str>,
    collection: &'static str,
    rest: &[&str],
) -> Result<Response, ApiError> {
    let uid = user_id(ctx, user)?;
    let base = format!("{}/v1.0/$metadata#users('{uid}')/{collection}", ctx.base());
    match (&ctx.method, rest) {
        (&Method::POST, []) => {
            let mut fields = ctx.json_body()?;
            fields.retain(|k, _| !k.starts_with('@') && k != "id");
            let item = OutlookItem {
                id: new_id(),
                user_id: uid,
                collection,
                fields,
                attachments: Vec::new(),
            };
            let body = item_json(&item, Some(format!("{base}/$entity")));
            ctx.state
                .files
                .outlook
                .write()
                .items
                .insert(item.id.clone(), item);
            Ok(response_json(StatusCode::CREATED, body))
        }
        (&Method::GET, []) => {
            let outlook = ctx.state.files.outlook.read();
            let mut items: Vec<&OutlookItem> = outlook
                .items
                .values()
                .filter(|i| i.user_id == uid && i.collection == collection)
                .collect();
            items.sort_by(|a, b| a.id.cmp(&b.id));
            let values: Vec<Value> = items.into_iter().map(|i| item_json(i, None)).collect();
            Ok(response_json(
                StatusCode::OK,
                json!({ "@odata.context": base, "value": values }),
            ))
        }
        (method, [id, tail @ ..]) => {
            let id = (*id).to_owned();
            let found = ctx
                .state
                .files
                .outlook
                .read()
                .items
                .get(&id)
                .filter(|i| i.user_id == uid && i.collection == collection)
                .cloned()
                .ok_or_else(not_found)?;
            match (method, tail) {
                (&Method::GET, []) => Ok(response_json(
                    StatusCode::OK,
                    item_json(&found, Some(format!("{base}/$entity"))),
                )),
                (&Method::DELETE, []) => {
                    ctx.state.files.outlook.write().items.remove(&id);
                    Ok(StatusCode::NO_CONTENT.into_response())
                }
                (_, ["attachments", more @ ..]) => attachments(ctx, &found, more),
                _ => Err(ApiError::method_not_allowed()),
            }
        }
        _ => Err(ApiError::method_not_allowed()),
    }
}

fn attachments(ctx: &Ctx, item: &OutlookItem, rest: &[&str]) -> Result<Response, ApiError> {
    let context = format!(
        "{}/v1.0/$metadata#users('{}')/{}('{}')/attachments",
        ctx.base(),
        item.user_id,
        item.collection,
        item.id
    );
    match (&ctx.method, rest) {
        (&Method::GET, []) => {
            let values: Vec<Value> = item
                .attachments
                .iter()
                .map(|a| attachment_json(a, None))
                .collect();
            Ok(response_json(
                StatusCode::OK,
                json!({ "@odata.context": context, "value": values }),
            ))
        }
        (&Method::POST, []) => {
            let body = ctx.json_body()?;
            let name = body.get("name").and_then(Value::as_str).ok_or_else(|| {
                ApiError::bad_request("ErrorInvalidRequest", "The attachment needs a 'name'.")
            })?;
            let bytes = body
                .get("contentBytes")
                .and_then(Value::as_str)
                .and_then(|b| STANDARD.decode(b).ok())
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "ErrorInvalidRequest",
                        "The attachment needs 'contentBytes' in base64.",
                    )
                })?;
            if bytes.len() >= INLINE_LIMIT {
                return Err(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "ErrorAttachmentSizeShouldNotBeLessThanMinimumSize",
                    "Attachments of 3 MB or more need an upload session (attachments/createUploadSession).",
                ));
            }
            ctx.state.files.reserve(bytes.len() as u64)?;
            let attachment = add_attachment(
                &ctx.state,
                &item.id,
                NewAttachment {
                    name: name.to_owned(),
                    content_type: body
                        .get("contentType")
                        .and_then(Value::as_str)
                        .unwrap_or("application/octet-stream")
                        .to_owned(),
                    is_inline: body
                        .get("isInline")
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                    content: Bytes::from(bytes),
                },
            )?;
            Ok(response_json(
                StatusCode::CREATED,
                attachment_json(&attachment, Some(format!("{context}/$entity"))),
            ))
        }
        (&Method::POST, ["createUploadSession" | "microsoft.graph.createUploadSession"]) => {
            create_session(ctx, item)
        }
        (&Method::GET, [aid]) => {
            let a = item
                .attachments
                .iter()
                .find(|a| a.id == *aid)
                .ok_or_else(not_found)?;
            Ok(response_json(
                StatusCode::OK,
                attachment_json(a, Some(format!("{context}/$entity"))),
            ))
        }
        (&Method::GET, [aid, "$value"]) => {
            let a = item
                .attachments
                .iter()
                .find(|a| a.id == *aid)
                .ok_or_else(not_found)?;
            let mut response = (StatusCode::OK, a.content.clone()).into_response();
            if let Ok(value) = HeaderValue::from_str(&a.content_type) {
                response.headers_mut().insert(header::CONTENT_TYPE, value);
            }
            Ok(response)
        }
        (&Method::DELETE, [aid]) => {
            let mut outlook = ctx.state.files.outlook.write();
            let stored = outlook.items.get_mut(&item.id).ok_or_else(not_found)?;
            let before = stored.attachments.len();
            stored.attachments.retain(|a| a.id != *aid);
            if stored.attachments.len() == before {
                return Err(not_found());
            }
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        _ => Err(ApiError::method_not_allowed()),
    }
}

/// `POST .../attachments/createUploadSession` with `{"AttachmentItem": {"attachmentType": "file",
/// "name", "size", "contentType", "isInline"}}`: 201 with the upload session.
fn create_session(ctx: &Ctx, item: &OutlookItem) -> Result<Response, ApiError> {
    let body = ctx.json_body()?;
    let spec = body
        .get("AttachmentItem")
        .or_else(|| body.get("attachmentItem"))
        .and_then(Value::as_object)
        .ok_or_else(|| {
            ApiError::bad_request("ErrorInvalidRequest", "The body needs an 'AttachmentItem'.")
        })?;
    if spec
        .get("attachmentType")
        .and_then(Value::as_str)
        .is_some_and(|t| !t.eq_ignore_ascii_case("file"))
    {
        return Err(ApiError::bad_request(
            "ErrorInvalidRequest",
            "Only file attachments can be uploaded in a session.",
        ));
    }
    let name = spec.get("name").and_then(Value::as_str).ok_or_else(|| {
        ApiError::bad_request("ErrorInvalidRequest", "The AttachmentItem needs a 'name'.")
    })?;
    let size = spec
        .get("size")
        .and_then(Value::as_u64)
        .filter(|s| *s > 0)
        .ok_or_else(|| {
            ApiError::bad_request(
                "ErrorInvalidRequest",
                "The AttachmentItem needs its 'size' in bytes.",
            )
        })?;
    if size > SESSION_LIMIT {
        return Err(ApiError::bad_request(
            "ErrorAttachmentSizeShouldNotBeLessThanMinimumSize",
            "An attachment can be at most 150 MB.",
        ));
    }
    ctx.state.files.reserve(size)?;
    let session = UploadSession::new(
        Target::Attachment {
            user_id: item.user_id.clone(),
            collection: item.collection,
            item_id: item.id.clone(),
            name: name.to_owned(),
            content_type: spec
                .get("contentType")
                .and_then(Value::as_str)
                .unwrap_or("application/octet-stream")
                .to_owned(),
            is_inline: spec
                .get("isInline")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            size,
        },
        ctx.state.files.limits.session_lifetime,
    );
    let context = format!(
        "{}/v1.0/$metadata#microsoft.graph.uploadSession",
        ctx.base()
    );
    let body = super::routes::register_session(&ctx.state, session, Some(context));
    Ok(response_json(StatusCode::CREATED, body))
}

fn add_attachment(
    state: &AppState,
    item_id: &str,
    new: NewAttachment,
) -> Result<Attachment, FileError> {
    let mut outlook = state.files.outlook.write();
    let item = outlook.items.get_mut(item_id).ok_or_else(|| {
        FileError::new(
            StatusCode::NOT_FOUND,
            "ErrorItemNotFound",
            "The specified object was not found in the store.",
        )
    })?;
    let attachment = Attachment {
        id: new_id(),
        name: new.name,
        content_type: new.content_type,
        is_inline: new.is_inline,
        content: new.content,
        modified: now(),
    };
    item.attachments.push(attachment.clone());
    Ok(attachment)
}

/// Commits a completed attachment session: 201, empty body, `Location` naming the attachment.
pub(crate) fn commit_attachment(
    state: &AppState,
    user_id: &str,
    collection: &str,
    item_id: &str,
    new: NewAttachment,
) -> Response {
    match add_attachment(state, item_id, new) {
        Ok(attachment) => {
            let location = format!(
                "{}/v1.0/users('{user_id}')/{collection}('{item_id}')/attachments('{}')",
                state.base_url, attachment.id
            );
            let mut response = StatusCode::CREATED.into_response();
            if let Ok(value) = HeaderValue::from_str(&location) {
                response.headers_mut().insert(header::LOCATION, value);
            }
            response
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

fn item_json(item: &OutlookItem, context: Option<String>) -> Value {
    let mut body = Value::Object(item.fields.clone());
    if let Some(context) = context {
        body["@odata.context"] = context.into();
    }
    body["id"] = item.id.clone().into();
    body["hasAttachments"] = (!item.attachments.is_empty()).into();
    if item.collection == "messages" {
        body["isDraft"] = true.into();
    }
    body
}

fn attachment_json(a: &Attachment, context: Option<String>) -> Value {
    let mut body = json!({
        "@odata.type": "#microsoft.graph.fileAttachment",
        "@odata.mediaContentType": a.content_type,
        "id": a.id,
        "lastModifiedDateTime": a.modified,
        "name": a.name,
        "contentType": a.content_type,
        "size": a.content.len(),
        "isInline": a.is_inline,
        "contentId": null,
        "contentLocation": null,
        "contentBytes": STANDARD.encode(&a.content),
    });
    if let Some(context) = context {
        body["@odata.context"] = context.into();
    }
    body
}
