//! Profile photos of users and groups: `GET/PUT .../photo/$value` (the image), `GET .../photo`
//! (its metadata), `GET .../photos` (the sizes), `DELETE .../photo/$value`.

use axum::body::Bytes;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::graph::{ApiError, Ctx, response_json};
use crate::store::Kind;

/// Largest photo accepted (Graph: 4 MB).
const MAX_PHOTO: usize = 4 * 1024 * 1024;
/// The square sizes Graph serves, smallest first.
const SIZES: &[u32] = &[48, 64, 96, 120, 240, 360, 432, 504, 648];

/// A stored photo.
#[derive(Debug, Clone)]
pub(crate) struct Photo {
    pub bytes: Bytes,
    pub content_type: String,
    pub width: u32,
    pub height: u32,
    pub version: u32,
}

fn image_not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "ImageNotFound",
        "Exception of type 'Microsoft.Fast.Profile.Core.Exception.ImageNotFoundException' was thrown.",
    )
}

/// Width and height of a PNG or JPEG image, when its header says.
fn dimensions(bytes: &[u8]) -> Option<(u32, u32)> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() >= 24 {
        let w = u32::from_be_bytes(bytes.get(16..20)?.try_into().ok()?);
        let h = u32::from_be_bytes(bytes.get(20..24)?.try_into().ok()?);
        return Some((w, h));
    }
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let mut i = 2;
    while i + 9 < bytes.len() {
        if bytes[i] != 0xFF {
            return None;
        }
        let marker = bytes[i + 1];
        let length = usize::from(u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]));
        let is_sof = (0xC0..=0xCF).contains(&marker) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if is_sof {
            let h = u16::from_be_bytes([bytes[i + 5], bytes[i + 6]]);
            let w = u16::from_be_bytes([bytes[i + 7], bytes[i + 8]]);
            return Some((u32::from(w), u32::from(h)));
        }
        i += 2 + length;
    }
    None
}

/// The routes, or `None` when the path is not a photo route.
pub(crate) fn dispatch(ctx: &Ctx) -> Option<Result<Response, ApiError>> {
    let segments: Vec<String> = ctx
        .path
        .split('/')
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect();
    let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
    let (owner, rest): ((Kind, Option<&str>), &[&str]) = match segs.as_slice() {
        ["me", rest @ ..] => ((Kind::User, None), rest),
        ["users", id, rest @ ..] => ((Kind::User, Some(*id)), rest),
        ["groups", id, rest @ ..] => ((Kind::Group, Some(*id)), rest),
        _ => return None,
    };
    if !matches!(rest.first(), Some(&"photo" | &"photos")) {
        return None;
    }
    Some(handle(ctx, owner, rest))
}

fn handle(
    ctx: &Ctx,
    (kind, id): (Kind, Option<&str>),
    rest: &[&str],
) -> Result<Response, ApiError> {
    let id = match id {
        Some(id) => id.to_owned(),
        None => ctx.me()?,
    };
    let (key, context_owner) = {
        let dir = ctx.state.directory.read();
        let entity = dir.get(kind, &id).ok_or_else(|| ApiError::not_found(&id))?;
        (
            format!("{}/{}", kind.entity_set(), entity.id),
            format!("{}('{}')", kind.entity_set(), entity.id),
        )
    };
    match (&ctx.method, rest) {
        (&Method::PUT | &Method::PATCH, ["photo", "$value"]) => put(ctx, &key),
        (&Method::DELETE, ["photo", "$value"] | ["photo"]) => {
            ctx.state
                .files
                .photos
                .write()
                .remove(&key)
                .ok_or_else(image_not_found)?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        (&Method::GET, ["photo", "$value"] | ["photos", _, "$value"]) => {
            let photos = ctx.state.files.photos.read();
            let photo = photos.get(&key).ok_or_else(image_not_found)?;
            let mut response = (StatusCode::OK, photo.bytes.clone()).into_response();
            if let Ok(value) = HeaderValue::from_str(&photo.content_type) {
                response.headers_mut().insert(header::CONTENT_TYPE, value);
            }
            Ok(response)
        }
        (&Method::GET, ["photo"]) => {
            let photos = ctx.state.files.photos.read();
            let photo = photos.get(&key).ok_or_else(image_not_found)?;
            let mut body = metadata(photo, photo.width, photo.height);
            body["@odata.context"] = format!(
                "{}/v1.0/$metadata#{context_owner}/photo/$entity",
                ctx.base()
            )
            .into();
            Ok(response_json(StatusCode::OK, body))
        }
        (&Method::GET, ["photos"]) => {
            let photos = ctx.state.files.photos.read();
            let values: Vec<Value> = match photos.get(&key) {
                Some(photo) => sizes(photo)
                    .into_iter()
                    .map(|n| metadata(photo, n, n))
                    .collect(),
                None => Vec::new(),
            };
            Ok(response_json(
                StatusCode::OK,
                json!({
                    "@odata.context": format!("{}/v1.0/$metadata#{context_owner}/photos", ctx.base()),
                    "value": values,
                }),
            ))
        }
        (&Method::GET, ["photos", size]) => {
            let photos = ctx.state.files.photos.read();
            let photo = photos.get(&key).ok_or_else(image_not_found)?;
            let n = sizes(photo)
                .into_iter()
                .find(|n| size.eq_ignore_ascii_case(&format!("{n}x{n}")))
                .ok_or_else(image_not_found)?;
            Ok(response_json(StatusCode::OK, metadata(photo, n, n)))
        }
        _ => Err(ApiError::method_not_allowed()),
    }
}

fn sizes(photo: &Photo) -> Vec<u32> {
    let side = photo.width.min(photo.height);
    let mut out: Vec<u32> = SIZES.iter().copied().filter(|n| *n <= side).collect();
    if out.is_empty() {
        out.push(side);
    }
    out
}

fn metadata(photo: &Photo, width: u32, height: u32) -> Value {
    json!({
        "@odata.mediaContentType": photo.content_type,
        "@odata.mediaEtag": format!("\"{:08X}\"", photo.version),
        "id": format!("{width}X{height}"),
        "width": width,
        "height": height,
    })
}

fn put(ctx: &Ctx, key: &str) -> Result<Response, ApiError> {
    let content_type = ctx
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    if !content_type.starts_with("image/") {
        return Err(ApiError::bad_request(
            "ErrorInvalidImage",
            "The photo must be sent with an image/* Content-Type (image/jpeg or image/png).",
        ));
    }
    if ctx.body.is_empty() || ctx.body.len() > MAX_PHOTO {
        return Err(ApiError::bad_request(
            "ErrorInvalidImage",
            "The photo must be between 1 byte and 4 MB.",
        ));
    }
    ctx.state.files.reserve(ctx.body.len() as u64)?;
    let (width, height) = dimensions(&ctx.body).unwrap_or((648, 648));
    let mut photos = ctx.state.files.photos.write();
    let version = photos.get(key).map_or(1, |p| p.version + 1);
    photos.insert(
        key.to_owned(),
        Photo {
            bytes: ctx.body.clone(),
            content_type,
            width,
            height,
            version,
        },
    );
    Ok(StatusCode::OK.into_response())
}

#[cfg(test)]
mod tests {
    use super::dimensions;

    #[test]
    fn png_and_jpeg_sizes_are_read() {
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        png.extend_from_slice(&100u32.to_be_bytes());
        png.extend_from_slice(&80u32.to_be_bytes());
        assert_eq!(dimensions(&png), Some((100, 80)));
        let jpeg = [
            0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0x00, 0x00, 0xFF, 0xC0, 0x00, 0x11, 0x08, 0x01,
            0x00, 0x02, 0x00, 0x03, 0x00,
        ];
        assert_eq!(dimensions(&jpeg), Some((512, 256)));
        assert_eq!(dimensions(b"not an image"), None);
    }
}
