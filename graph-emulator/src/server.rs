//! Serving: the main application and the content origin, each behind the fault/counter layer
//! and the wrapper that turns the `DropConnection` faults into closed connections.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tokio::task::JoinHandle;
use tower::ServiceExt;

use crate::error::Error;
use crate::faults::DropConnectionMarker;
use crate::state::AppState;
use crate::tls::{self, TlsIdentity};
use crate::{admin, faults, files, graph, identity, managed_identity};

pub(crate) type ServerTask = JoinHandle<std::io::Result<()>>;

/// Serves `router` on `listener` (TLS when an identity is given) until `handle` shuts it down.
pub(crate) fn spawn(
    listener: std::net::TcpListener,
    router: Router,
    tls: Option<&TlsIdentity>,
    handle: &axum_server::Handle,
) -> Result<ServerTask, Error> {
    let make_service = tower::make::Shared::new(DropAware(router));
    Ok(match tls {
        Some(identity) => {
            let server = axum_server::from_tcp_rustls(listener, tls::server_config(identity)?)
                .handle(handle.clone());
            tokio::spawn(server.serve(make_service))
        }
        None => {
            let server = axum_server::from_tcp(listener).handle(handle.clone());
            tokio::spawn(server.serve(make_service))
        }
    })
}

/// The content origin: downloads and upload sessions, refusing `Authorization`, with faults and
/// counters.
pub(crate) fn content_app(state: AppState) -> Router {
    Router::new()
        .merge(files::content_router())
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            files::refuse_authorization,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            faults::layer,
        ))
        .with_state(state)
}

/// The whole application: identity routes, Graph under `/v1.0`, admin routes, and the
/// fault/counter middleware around all of them.
pub(crate) fn app(state: AppState) -> Router {
    Router::new()
        .merge(identity::router())
        .merge(managed_identity::router())
        .nest("/v1.0", graph::router())
        .merge(admin::router())
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            faults::layer,
        ))
        .with_state(state)
}

async fn not_found(headers: axum::http::HeaderMap) -> Response {
    identity::graph_error(
        StatusCode::NOT_FOUND,
        "UnknownError",
        "The emulator serves /{tenant}/oauth2/v2.0/*, /{tenant}/v2.0/.well-known/openid-configuration, /{tenant}/discovery/v2.0/keys, /v1.0/* and /_emulator/*.",
        &headers,
    )
    .into_response()
}

/// The error that makes hyper close a connection without answering (the `DropConnection` fault).
#[derive(Debug, thiserror::Error)]
#[error("connection dropped by an injected fault")]
pub(crate) struct DroppedByFault;

/// Wraps the router: a response marked by the `DropConnection` fault becomes a service error,
/// which makes the server close the connection without writing a response.
#[derive(Clone)]
pub(crate) struct DropAware(Router);

impl<B> tower::Service<axum::http::Request<B>> for DropAware
where
    B: axum::body::HttpBody<Data = axum::body::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    type Response = Response;
    type Error = DroppedByFault;
    type Future = Pin<Box<dyn Future<Output = Result<Response, DroppedByFault>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: axum::http::Request<B>) -> Self::Future {
        let router = self.0.clone();
        let request: Request = request.map(Body::new);
        Box::pin(async move {
            let response = match router.oneshot(request).await {
                Ok(response) => response,
                Err(infallible) => match infallible {},
            };
            if response
                .extensions()
                .get::<DropConnectionMarker>()
                .is_some()
            {
                Err(DroppedByFault)
            } else {
                Ok(response)
            }
        })
    }
}
