//! The static page server: the emulator's `/users` pages, captured once and served from memory
//! with their next links rewritten, so that server cost is (almost) nothing. Comparing the
//! baseline against it and against the emulator tells whether the emulator is the bottleneck.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use tokio::net::TcpListener;

use crate::common::BoxError;

/// A running static server.
pub struct StaticServer {
    /// How many single users it serves at `/v1.0/users/{id}` (the first ones listed).
    pub single_users: usize,
    /// `http://127.0.0.1:PORT/v1.0`: clients list `{graph_url}/users?$top=999`.
    pub graph_url: String,
    /// The number of pages it serves.
    pub pages: usize,
}

/// Captures every page of `first_url` (following next links) with `token` and starts a
/// server of them on `runtime`, with the first `single_users` users also served one by one
/// at `/v1.0/users/{id}`. Any request under the server answers page 0 unless its query
/// has `page=N`, which the rewritten next links carry.
pub async fn start_static(
    runtime: &tokio::runtime::Handle,
    http: &reqwest::Client,
    first_url: &str,
    token: &str,
    single_users: usize,
) -> Result<(StaticServer, Vec<String>), BoxError> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let origin = format!("http://{}", listener.local_addr()?);
    let graph_url = format!("{origin}/v1.0");

    let mut pages = Vec::new();
    let mut ids = Vec::new();
    let mut singles = std::collections::HashMap::new();
    let mut next = Some(first_url.to_owned());
    while let Some(url) = next.take() {
        let body = http
            .get(&url)
            .bearer_auth(token)
            .send()
            .await?
            .error_for_status()?
            .bytes()
            .await?;
        let mut page: serde_json::Value = serde_json::from_slice(&body)?;
        let object = page.as_object_mut().ok_or("a page is not a JSON object")?;
        if let Some(users) = object.get("value").and_then(|v| v.as_array()) {
            for user in users {
                let Some(id) = user["id"].as_str() else {
                    continue;
                };
                if singles.len() < single_users {
                    singles.insert(
                        format!("/v1.0/users/{id}"),
                        Bytes::from(serde_json::to_vec(user)?),
                    );
                }
                ids.push(id.to_owned());
            }
        }
        if let Some(link) = object.get("@odata.nextLink").and_then(|l| l.as_str()) {
            next = Some(link.to_owned());
            let rewritten = format!("{graph_url}/users?$top=999&page={}", pages.len() + 1);
            object.insert(
                "@odata.nextLink".into(),
                serde_json::Value::String(rewritten),
            );
        }
        pages.push(Bytes::from(serde_json::to_vec(&page)?));
    }

    let count = pages.len();
    let single_count = singles.len();
    let app = Router::new()
        .fallback(serve)
        .with_state(Arc::new(Content { pages, singles }));
    runtime.spawn(async move {
        match TcpListener::from_std(listener) {
            Ok(listener) => {
                if let Err(e) = axum::serve(listener, app).await {
                    eprintln!("static server stopped: {e}");
                }
            }
            Err(e) => eprintln!("static server could not start: {e}"),
        }
    });
    Ok((
        StaticServer {
            graph_url,
            pages: count,
            single_users: single_count,
        },
        ids,
    ))
}

/// What the static server holds: the pages, and single users by request path.
struct Content {
    pages: Vec<Bytes>,
    singles: std::collections::HashMap<String, Bytes>,
}

async fn serve(State(content): State<Arc<Content>>, uri: Uri) -> Response {
    if uri.path().starts_with("/v1.0/users/") {
        return match content.singles.get(uri.path()) {
            Some(body) => json(body.clone()),
            None => StatusCode::NOT_FOUND.into_response(),
        };
    }
    let index = uri
        .query()
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("page=")))
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(0);
    match content.pages.get(index) {
        Some(body) => json(body.clone()),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

fn json(body: Bytes) -> Response {
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "application/json;odata.metadata=minimal",
        )],
        body,
    )
        .into_response()
}
