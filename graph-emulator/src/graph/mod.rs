//! The Microsoft Graph v1.0 resource side: every route under `/v1.0`.
//!
//! One handler receives every request, authenticates it, splits the path into percent-decoded segments
//! and dispatches on `(method, segments)` with slice patterns, so a route such as
//! `users/{id}/memberOf/microsoft.graph.group/$count` reads as one match arm.
//!
//! Routes (`{set}` is `users`, `groups`, `directoryRoles`, `administrativeUnits` (also
//! `directory/administrativeUnits`), `applications`, `servicePrincipals` or `devices`; `me/...` is
//! `users/{signed-in user}/...` and needs a delegated token):
//!
//! | method | path | module |
//! |---|---|---|
//! | GET | `{set}`, `{set}/$count` | `listing` |
//! | GET PATCH DELETE | `{set}/{id}` (users also by userPrincipalName) | `directory_objects` |
//! | POST | `users`, `groups` | `users`, `groups` |
//! | GET | `users/delta`, `groups/delta` | `delta` |
//! | GET | `users/{id}/manager`, `users/{id}/directReports`; PUT DELETE GET `users/{id}/manager/$ref` | `users` |
//! | POST | `groups/{id}/members/$ref`; DELETE `groups/{id}/members/{member}/$ref` | `groups` |
//! | GET | `{groups,applications,servicePrincipals}/{id}/owners[/microsoft.graph.{type}][/$count]`; POST `.../owners/$ref`; DELETE `.../owners/{owner}/$ref` | `owners` |
//! | GET | `{users,servicePrincipals}/{id}/ownedObjects[/microsoft.graph.{type}][/$count]` | `owners` |
//! | GET | `{set}/{id}/{memberOf,transitiveMemberOf,members,transitiveMembers}[/microsoft.graph.{type}][/$count]` | `directory_objects` |
//! | POST | `{set or directoryObjects}/{id}/{getMemberGroups,checkMemberGroups,getMemberObjects,checkMemberObjects}` | `directory_objects` |
//! | GET DELETE | `directoryObjects/{id}`; POST `directoryObjects/getByIds` | `directory_objects` |
//! | POST | `$batch` | `batch` |
//! | any | `{me,users/{id},groups/{id}}/drive/...`, `drives/{id}/...`, `.../photo[s]...`, `{me,users/{id}}/{messages,events}/...` | `crate::files` |
//!
//! Every response carries `x-ms-resource-unit` (the request's cost in Graph's throttling model,
//! `crate::throttle`); when the model is on, a request its buckets cannot pay answers 429.

mod batch;
mod delta;
mod directory_objects;
pub(crate) mod error;
mod groups;
mod listing;
mod owners;
mod response;
mod users;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, Uri};
use axum::response::Response;
use axum::routing::any;
use serde_json::{Map, Value};

use crate::identity::{Caller, authenticate_graph};
use crate::odata::QueryOptions;
use crate::state::AppState;
use crate::store::Kind;
pub(crate) use error::ApiError;
pub(crate) use response::json as response_json;
pub(crate) use users::now_iso;

/// Routes under `/v1.0` (the caller nests this router at `/v1.0`).
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/", any(handle))
        .route("/{*path}", any(handle))
        .layer(axum::middleware::from_fn(error::request_ids))
        // Simple uploads take up to 250 MB (the handlers refuse more with Graph's error).
        .layer(axum::extract::DefaultBodyLimit::max(
            crate::files::SIMPLE_UPLOAD_LIMIT as usize + 1024 * 1024,
        ))
}

/// What a handler knows about the request it answers.
pub(crate) struct Ctx {
    /// Shared state.
    pub state: AppState,
    /// The authenticated caller.
    pub caller: Caller,
    /// The HTTP method.
    pub method: Method,
    /// Request headers.
    pub headers: HeaderMap,
    /// The raw (still percent-encoded) path below `/v1.0`, without the leading `/`.
    pub path: String,
    /// The raw query string.
    pub query: Option<String>,
    /// The request body.
    pub body: Bytes,
}

impl Ctx {
    /// The emulator's base URL, e.g. `http://127.0.0.1:PORT`.
    pub(crate) fn base(&self) -> &str {
        &self.state.base_url
    }

    /// Whether the request carries `ConsistencyLevel: eventual`.
    pub(crate) fn eventual(&self) -> bool {
        self.headers
            .get("consistencylevel")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("eventual"))
    }

    /// The parsed query options.
    pub(crate) fn options(&self) -> Result<QueryOptions, ApiError> {
        Ok(QueryOptions::parse(self.query.as_deref())?)
    }

    /// An absolute link to this request's path with another query string.
    pub(crate) fn link(&self, query: &str) -> String {
        format!("{}/v1.0/{}?{}", self.base(), self.path, query)
    }

    /// The body as a JSON object.
    pub(crate) fn json_body(&self) -> Result<Map<String, Value>, ApiError> {
        if self.body.is_empty() {
            return Err(ApiError::invalid_body("The request body is empty."));
        }
        match serde_json::from_slice::<Value>(&self.body) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(_) => Err(ApiError::invalid_body("The payload must be a JSON object.")),
            Err(e) => Err(ApiError::invalid_body(e)),
        }
    }

    /// The signed-in user's object id; app-only callers are refused as Graph does for `/me`.
    pub(crate) fn me(&self) -> Result<String, ApiError> {
        let user = if self.caller.is_app_only() {
            None
        } else {
            self.caller.user_id.clone()
        };
        user.ok_or_else(|| {
            ApiError::new(
                axum::http::StatusCode::FORBIDDEN,
                "Authorization_RequestDenied",
                "/me request is only valid with delegated authentication flow.",
            )
        })
    }
}

async fn handle(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let caller = match authenticate_graph(&state, &headers) {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    let ctx = Ctx {
        state,
        caller,
        method,
        headers,
        path: uri.path().trim_start_matches('/').to_owned(),
        query: uri.query().map(str::to_owned),
        body,
    };
    if ctx.path == "$batch" {
        // Each item is charged on its own when it runs; the envelope costs nothing.
        return batch::handle(ctx).await;
    }
    let cost = crate::throttle::cost(&ctx.method, &ctx.path, ctx.query.as_deref());
    let users = ctx.state.directory.read().count(Kind::User);
    let charged = ctx
        .state
        .throttle
        .charge(&ctx.caller.app_id, &ctx.caller.tenant_id, users, cost);
    let used = match charged {
        Some(Err(refused)) => return throttled(&ctx, &refused, cost),
        Some(Ok(granted)) => Some(granted.used),
        None => None,
    };
    let mut response = match dispatch(&ctx) {
        Ok(response) => response,
        Err(e) => axum::response::IntoResponse::into_response(e),
    };
    let headers = response.headers_mut();
    headers.insert("x-ms-resource-unit", HeaderValue::from(cost.units));
    if let Some(used) = used.filter(|u| *u >= 0.8)
        && let Ok(value) = HeaderValue::from_str(&format!("{:.1}", used.min(1.8)))
    {
        headers.insert("x-ms-throttle-limit-percentage", value);
    }
    response
}

/// Graph's 429 for an exhausted bucket, with `Retry-After` and the throttling headers.
fn throttled(
    ctx: &Ctx,
    refused: &crate::throttle::Throttled,
    cost: crate::throttle::Cost,
) -> Response {
    ctx.state.throttle.count_throttled();
    let mut response =
        crate::faults::graph_status_error(axum::http::StatusCode::TOO_MANY_REQUESTS, &ctx.headers);
    let headers = response.headers_mut();
    headers.insert(
        axum::http::header::RETRY_AFTER,
        HeaderValue::from(refused.retry_after),
    );
    if let Ok(value) = HeaderValue::from_str(&refused.scope) {
        headers.insert("x-ms-throttle-scope", value);
    }
    headers.insert(
        "x-ms-throttle-information",
        HeaderValue::from_static(refused.information),
    );
    headers.insert("x-ms-resource-unit", HeaderValue::from(cost.units));
    response
}

fn decode_segment(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// The entity set a top-level path segment names.
fn set_kind(segment: &str) -> Option<Kind> {
    Kind::ALL.into_iter().find(|k| k.entity_set() == segment)
}

fn dispatch(ctx: &Ctx) -> Result<Response, ApiError> {
    let mut segments: Vec<String> = ctx
        .path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(decode_segment)
        .collect();
    // `/me/...` is `/users/{signed-in user}/...`.
    if segments.first().is_some_and(|s| s == "me") {
        segments[0] = ctx.me()?;
        segments.insert(0, "users".to_owned());
    }
    // `/directory/administrativeUnits` is the documented path of `/administrativeUnits`.
    if segments.first().is_some_and(|s| s == "directory")
        && segments.get(1).is_some_and(|s| s == "administrativeUnits")
    {
        segments.remove(0);
    }
    if let Some(result) = crate::files::dispatch(ctx) {
        return result;
    }
    let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
    let m = &ctx.method;
    use directory_objects as dobj;
    match segs.as_slice() {
        [] => Err(ApiError::no_resource("v1.0")),
        // Users.
        ["users"] if m == Method::GET => listing::list_set(ctx, Kind::User),
        ["users"] if m == Method::POST => users::create(ctx),
        ["users", "delta" | "delta()"] if m == Method::GET => delta::handle(ctx, Kind::User),
        ["users", id, "manager"] if m == Method::GET => users::manager(ctx, id),
        ["users", id, "manager", "$ref"] => users::manager_ref(ctx, id),
        ["users", id, "directReports"] if m == Method::GET => users::direct_reports(ctx, id),
        // Groups.
        ["groups"] if m == Method::GET => listing::list_set(ctx, Kind::Group),
        ["groups"] if m == Method::POST => groups::create(ctx),
        ["groups", "delta" | "delta()"] if m == Method::GET => delta::handle(ctx, Kind::Group),
        ["groups", id, "members", "$ref"] if m == Method::POST => groups::add_member(ctx, id),
        ["groups", id, "members", member, "$ref"] if m == Method::DELETE => {
            groups::remove_member(ctx, id, member)
        }
        // Owners.
        [set, id, "owners", "$ref"] if m == Method::POST => match set_kind(set) {
            Some(kind) if owners::has_owners(kind) => owners::add(ctx, kind, id),
            _ => Err(ApiError::no_resource("owners")),
        },
        [set, id, "owners", owner, "$ref"] if m == Method::DELETE => match set_kind(set) {
            Some(kind) if owners::has_owners(kind) => owners::remove(ctx, kind, id, owner),
            _ => Err(ApiError::no_resource("owners")),
        },
        [set, id, "owners", rest @ ..] if m == Method::GET => match set_kind(set) {
            Some(kind) if owners::has_owners(kind) => owners::list(ctx, kind, id, rest),
            _ => Err(ApiError::no_resource("owners")),
        },
        [
            set @ ("users" | "servicePrincipals"),
            id,
            "ownedObjects",
            rest @ ..,
        ] if m == Method::GET => {
            let kind = set_kind(set).ok_or_else(|| ApiError::no_resource(set))?;
            owners::owned_objects(ctx, kind, id, rest)
        }
        // Directory objects.
        ["directoryObjects", "getByIds" | "microsoft.graph.getByIds"] if m == Method::POST => {
            dobj::get_by_ids(ctx)
        }
        ["directoryObjects", id] => dobj::object(ctx, id),
        // Generic sets.
        [set, "$count"] if m == Method::GET => match set_kind(set) {
            Some(kind) => listing::count_set(ctx, kind),
            None => Err(ApiError::no_resource(set)),
        },
        [set] if m == Method::GET => match set_kind(set) {
            Some(kind) => listing::list_set(ctx, kind),
            None => Err(ApiError::no_resource(set)),
        },
        [set, id] => match set_kind(set) {
            Some(kind) => dobj::entity(ctx, kind, id),
            None => Err(ApiError::no_resource(set)),
        },
        [set, id, action] if dobj::is_action(action) => {
            if m != Method::POST {
                return Err(ApiError::method_not_allowed());
            }
            let kind = match *set {
                "directoryObjects" => None,
                other => Some(set_kind(other).ok_or_else(|| ApiError::no_resource(other))?),
            };
            dobj::action(ctx, kind, id, action)
        }
        [set, id, nav, rest @ ..] if dobj::is_navigation(nav) => {
            if m != Method::GET {
                return Err(ApiError::method_not_allowed());
            }
            let kind = set_kind(set).ok_or_else(|| ApiError::no_resource(set))?;
            dobj::navigation(ctx, kind, id, nav, rest)
        }
        [set] if set_kind(set).is_some() => Err(ApiError::method_not_allowed()),
        [.., last] => Err(ApiError::no_resource(last)),
    }
}
