//! A web API that answers its caller's groups, calling Microsoft Graph on behalf of the
//! signed-in user: an axum service with one shared `GraphClient` and a cheap per-request view
//! of it for each caller.
//!
//! ```sh
//! cargo run --example web_api      # against the built-in emulator; prints a curl command
//! AZURE_TENANT_ID=... AZURE_CLIENT_ID=... AZURE_CLIENT_SECRET=... \
//!     cargo run --example web_api  # as your web API's app registration
//! ```
//!
//! `GET /me/groups` with `Authorization: Bearer <the caller's token for this API>` answers
//! `{"memberOf": [...], "transitiveMemberOf": [...]}` (id, display name and type of each
//! group, role or unit). When the token endpoint says the user must interact (multi-factor
//! authentication, consent, a Conditional Access claims challenge), it answers 401 with a
//! `WWW-Authenticate` header carrying the claims, so the caller's client can step up and retry.

use std::error::Error;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use msgraph_typed::auth::{ClientAuthentication, OnBehalfOfCredential};
use msgraph_typed::futures::TryStreamExt as _;
use msgraph_typed::models::AnyDirectoryObject;
use msgraph_typed::{Cloud, GraphClient, UserAssertion};
use serde::Serialize;

/// The service's state: one Graph client for every request (one connection pool, one token
/// cache, tokens cached per user).
#[derive(Clone)]
pub struct AppState {
    graph: GraphClient,
}

/// The routes of the web API.
pub fn app(graph: GraphClient) -> Router {
    Router::new()
        .route("/me/groups", get(my_groups))
        .with_state(AppState { graph })
}

/// A group, directory role or administrative unit the caller belongs to.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Membership {
    id: String,
    display_name: Option<String>,
    /// `#microsoft.graph.group`, `#microsoft.graph.directoryRole`, ...
    odata_type: String,
}

/// The answer of `GET /me/groups`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Groups {
    member_of: Vec<Membership>,
    transitive_member_of: Vec<Membership>,
}

async fn my_groups(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(token) = bearer_token(&headers) else {
        return unauthorized("Bearer", "a Bearer token is required");
    };
    // A view of the shared client for this caller: nothing is built per request but a
    // reference-counted handle; the on-behalf-of token is cached per user.
    let graph = state.graph.on_behalf_of(UserAssertion::new(token));
    let direct = async {
        let all: Vec<AnyDirectoryObject> =
            graph.me().member_of().list().stream().try_collect().await?;
        Ok::<_, msgraph_typed::Error>(all)
    };
    let transitive = async {
        let all: Vec<AnyDirectoryObject> = graph
            .me()
            .transitive_member_of()
            .list()
            .stream()
            .try_collect()
            .await?;
        Ok::<_, msgraph_typed::Error>(all)
    };
    match tokio::try_join!(direct, transitive) {
        Ok((direct, transitive)) => Json(Groups {
            member_of: direct.iter().map(membership).collect(),
            transitive_member_of: transitive.iter().map(membership).collect(),
        })
        .into_response(),
        Err(error) => error_response(&error),
    }
}

fn membership(object: &AnyDirectoryObject) -> Membership {
    // Every directory object has an id and a type; the name depends on the kind.
    let display_name = match object {
        AnyDirectoryObject::Group(group) => group.display_name(),
        AnyDirectoryObject::DirectoryRole(role) => role.display_name(),
        AnyDirectoryObject::AdministrativeUnit(unit) => unit.display_name(),
        _ => None,
    };
    Membership {
        id: object.id().unwrap_or_default().to_owned(),
        display_name: display_name.map(str::to_owned),
        odata_type: format!("#{}", object.odata_type()),
    }
}

fn bearer_token(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty())
        .then(|| token.trim().to_string())
}

fn unauthorized(challenge: &str, message: &str) -> Response {
    let mut response = (
        StatusCode::UNAUTHORIZED,
        Json(serde_json::json!({ "error": message })),
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// Maps a failure to what the caller can act on: step up (401 with the claims), sign in again
/// (401), or try later (502 / 503 with Graph's request id).
fn error_response(error: &msgraph_typed::Error) -> Response {
    if let Some(auth) = error.auth_error() {
        if auth.is_interaction_required() {
            // The caller's client acquires a new token for this API with these claims
            // (MFA, consent, a Conditional Access policy) and calls again.
            let challenge = auth
                .www_authenticate_challenge()
                .unwrap_or_else(|| "Bearer error=\"interaction_required\"".to_string());
            return unauthorized(&challenge, "the user must sign in interactively");
        }
        if !auth.is_retryable() {
            return unauthorized(
                "Bearer error=\"invalid_token\"",
                "the token could not be exchanged for Microsoft Graph",
            );
        }
    }
    let status = if error.is_throttled() {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::BAD_GATEWAY
    };
    let body = serde_json::json!({
        "error": "Microsoft Graph could not answer",
        "requestId": error.request_id(),
    });
    (status, Json(body)).into_response()
}

type BoxError = Box<dyn Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let (graph, emulator) = match (
        var("AZURE_TENANT_ID"),
        var("AZURE_CLIENT_ID"),
        var("AZURE_CLIENT_SECRET"),
    ) {
        (Some(tenant), Some(client_id), Some(secret)) => {
            let obo = OnBehalfOfCredential::new(
                &tenant,
                &client_id,
                ClientAuthentication::secret(secret),
            )?;
            (GraphClient::builder().on_behalf_of(obo).build()?, None)
        }
        _ => {
            use msgraph_typed_emulator::{Emulator, seeded};
            let emulator = Emulator::start().await?;
            let obo = OnBehalfOfCredential::new(
                emulator.tenant_id(),
                seeded::WEB_API_CLIENT_ID,
                ClientAuthentication::secret(seeded::WEB_API_CLIENT_SECRET),
            )?;
            let graph = GraphClient::builder()
                .on_behalf_of(obo)
                .cloud(Cloud::custom(&emulator.authority_url(), emulator.url())?)
                .build()?;
            (graph, Some(emulator))
        }
    };
    let port = var("PORT").and_then(|p| p.parse().ok()).unwrap_or(3000u16);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let address = listener.local_addr()?;
    println!("web API listening on http://{address}/me/groups");
    if let Some(emulator) = &emulator {
        let user = msgraph_typed_emulator::DEFAULT_SIGNED_IN_USER;
        let token = emulator.control().issue_user_token(
            user,
            msgraph_typed_emulator::seeded::WEB_API_APP_ID_URI,
            &["access_as_user"],
        )?;
        println!("a token for {user} (from the built-in emulator); try:");
        println!("  curl -H 'Authorization: Bearer {token}' http://{address}/me/groups");
    }
    axum::serve(listener, app(graph))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
