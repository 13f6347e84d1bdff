//! `/users`: create (with Graph's validation), manager and direct reports. Listing, get, PATCH and
//! DELETE are shared with the other sets (`listing`, `directory_objects`).

use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use serde_json::{Map, Value};

use super::listing::{self, Source, Spec};
use super::response::{self, context_url};
use super::{ApiError, Ctx};
use crate::store::{Entity, Kind};

/// Domains a new user's principal name may use (the tenant's verified domains).
pub(crate) const VERIFIED_DOMAINS: &[&str] = &["contoso.com", "contoso.onmicrosoft.com"];

fn invalid_property(name: &str) -> ApiError {
    ApiError::bad_request(
        "Request_BadRequest",
        format!("Invalid value specified for property '{name}' of resource 'User'."),
    )
}

/// `POST /users`: requires `accountEnabled`, `displayName`, `mailNickname`, `userPrincipalName` (on a
/// verified domain) and `passwordProfile.password`; answers 201 with the user and a `Location`.
pub(crate) fn create(ctx: &Ctx) -> Result<Response, ApiError> {
    let mut body = ctx.json_body()?;
    body.retain(|k, _| !k.starts_with('@'));
    for required in [
        "accountEnabled",
        "displayName",
        "mailNickname",
        "userPrincipalName",
        "passwordProfile",
    ] {
        if body.get(required).is_none_or(Value::is_null) {
            return Err(invalid_property(required));
        }
    }
    let password = body
        .get("passwordProfile")
        .and_then(|p| p.get("password"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    if password.is_empty() {
        return Err(invalid_property("passwordProfile"));
    }
    let upn = body
        .get("userPrincipalName")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid_property("userPrincipalName"))?;
    let domain_ok = upn.rsplit_once('@').is_some_and(|(local, domain)| {
        !local.is_empty()
            && VERIFIED_DOMAINS
                .iter()
                .any(|d| d.eq_ignore_ascii_case(domain))
    });
    if !domain_ok {
        return Err(ApiError::bad_request(
            "Request_BadRequest",
            "The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization.",
        ));
    }
    let display_name = body
        .get("displayName")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid_property("displayName"))?
        .to_owned();
    let id = uuid::Uuid::new_v4().to_string();
    let mut user = Entity::new(Kind::User, &id, &display_name);
    user.apply(&body)?;
    user.props
        .insert("createdDateTime".into(), Value::String(now_iso()));
    user.props
        .entry("userType")
        .or_insert_with(|| Value::String("Member".into()));
    let json = user.to_json(None, false);
    ctx.state.directory.write().insert(user)?;
    created(ctx, "users", &id, json)
}

/// A 201 with the new object, its context URL and `Location`.
pub(crate) fn created(
    ctx: &Ctx,
    set: &str,
    id: &str,
    mut json: Map<String, Value>,
) -> Result<Response, ApiError> {
    json.insert(
        "@odata.context".into(),
        Value::String(context_url(ctx.base(), &format!("{set}/$entity"))),
    );
    let mut response = response::json(StatusCode::CREATED, Value::Object(json));
    if let Ok(location) = HeaderValue::from_str(&format!("{}/v1.0/{set}/{id}", ctx.base())) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// The current UTC time as Graph writes DateTimeOffset values (`2021-04-01T08:00:00Z`).
pub(crate) fn now_iso() -> String {
    let now = time::OffsetDateTime::now_utc();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    )
}

/// `GET /users/{id}/manager`: the manager as a directoryObject (`@odata.type` included).
pub(crate) fn manager(ctx: &Ctx, id: &str) -> Result<Response, ApiError> {
    let dir = ctx.state.directory.read();
    dir.user(id).ok_or_else(|| ApiError::not_found(id))?;
    let manager = dir
        .manager(id)
        .ok_or_else(|| ApiError::not_found("manager"))?;
    let mut opts = ctx.options()?;
    opts.resolve(&[Kind::User], "user")?;
    Ok(response::entity(
        ctx.base(),
        "directoryObjects",
        manager.to_json(opts.selected(), true),
    ))
}

/// `/users/{id}/manager/$ref`: `PUT` sets the manager (`{"@odata.id": ".../users/{id}"}`), `DELETE`
/// removes it, `GET` returns the reference.
pub(crate) fn manager_ref(ctx: &Ctx, id: &str) -> Result<Response, ApiError> {
    match ctx.method {
        Method::PUT => {
            let body = ctx.json_body()?;
            let mut dir = ctx.state.directory.write();
            dir.user(id).ok_or_else(|| ApiError::not_found(id))?;
            let target = reference_target(&dir, &body)?;
            dir.set_manager(id, &target)?;
            Ok(response::no_content())
        }
        Method::DELETE => {
            ctx.state.directory.write().remove_manager(id)?;
            Ok(response::no_content())
        }
        Method::GET => {
            let dir = ctx.state.directory.read();
            dir.user(id).ok_or_else(|| ApiError::not_found(id))?;
            let manager = dir
                .manager(id)
                .ok_or_else(|| ApiError::not_found("manager"))?;
            let mut body = Map::new();
            body.insert(
                "@odata.context".into(),
                Value::String(context_url(ctx.base(), "$ref")),
            );
            body.insert(
                "@odata.id".into(),
                Value::String(format!(
                    "{}/v1.0/directoryObjects/{}",
                    ctx.base(),
                    manager.id
                )),
            );
            Ok(response::json(StatusCode::OK, Value::Object(body)))
        }
        _ => Err(ApiError::method_not_allowed()),
    }
}

/// `GET /users/{id}/directReports`.
pub(crate) fn direct_reports(ctx: &Ctx, id: &str) -> Result<Response, ApiError> {
    let dir = ctx.state.directory.read();
    let user = dir.user(id).ok_or_else(|| ApiError::not_found(id))?;
    let items = dir.direct_reports(&user.id);
    let spec = Spec {
        set: "directoryObjects",
        kinds: &[Kind::User],
        type_name: "directoryObject",
        polymorphic: true,
        default_top: 100,
        max_top: 999,
    };
    listing::list(ctx, &dir, Source::Items(items), &spec)
}

/// The `@odata.id` of a reference body `{"@odata.id": "https://.../directoryObjects/{id}"}`.
fn reference_id_url(body: &Map<String, Value>) -> Result<&str, ApiError> {
    body
        .get("@odata.id")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            ApiError::bad_request(
                "Request_BadRequest",
                "The request body must be a reference: {\"@odata.id\": \"https://graph.microsoft.com/v1.0/directoryObjects/{id}\"}.",
            )
        })
}

/// The id at the end of a reference URL such as `.../directoryObjects/{id}` or `.../users/{id}`, on
/// any host (the emulator's own base URL or `https://graph.microsoft.com/v1.0`).
pub(crate) fn reference_url_id(url: &str) -> Result<String, ApiError> {
    reference_url(url).map(|(_, id)| id)
}

/// The entity set (`None` for `directoryObjects`) and id a reference URL names.
fn reference_url(url: &str) -> Result<(Option<Kind>, String), ApiError> {
    let invalid = || {
        ApiError::bad_request(
            "Request_BadRequest",
            format!("Invalid object identifier '{url}'."),
        )
    };
    let path = url.split(['?', '#']).next().unwrap_or_default();
    let mut parts = path.trim_end_matches('/').rsplit('/');
    let id = parts.next().unwrap_or_default();
    let set = parts.next().unwrap_or_default();
    let kind = match set {
        "directoryObjects" => None,
        set => Some(
            Kind::ALL
                .into_iter()
                .find(|k| k.entity_set() == set)
                .ok_or_else(invalid)?,
        ),
    };
    if id.is_empty() || id.contains(['(', ')', '$']) {
        return Err(invalid());
    }
    let id = percent_encoding::percent_decode_str(id)
        .decode_utf8_lossy()
        .into_owned();
    Ok((kind, id))
}

/// The id of the existing object a reference body names: 400 for a missing or malformed
/// `@odata.id`, 404 when no object of the named set has that id (users also by principal name).
pub(crate) fn reference_target(
    dir: &crate::store::Directory,
    body: &Map<String, Value>,
) -> Result<String, ApiError> {
    let url = reference_id_url(body)?;
    let (kind, id) = reference_url(url)?;
    let found = match kind {
        Some(kind) => dir.get(kind, &id),
        None => dir.object(&id),
    };
    found
        .map(|e| e.id.clone())
        .ok_or_else(|| ApiError::not_found(&id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_urls_name_an_id() {
        assert_eq!(
            reference_url_id("https://graph.microsoft.com/v1.0/directoryObjects/abc").unwrap(),
            "abc"
        );
        assert_eq!(
            reference_url_id("http://127.0.0.1:1/v1.0/users/x%40y").unwrap(),
            "x@y"
        );
        assert!(reference_url_id("https://graph.microsoft.com/v1.0/").is_err());
        assert!(reference_url_id("abc").is_err());
        assert!(reference_url_id("https://localhost:1/v1.0/things/abc").is_err());
        assert_eq!(
            reference_url("https://localhost:8443/v1.0/groups/G1").unwrap(),
            (Some(Kind::Group), "G1".to_owned())
        );
    }
}
