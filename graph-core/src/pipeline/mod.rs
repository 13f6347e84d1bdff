//! The pipeline: one ordered chain that every request, page, retry and batch goes through.
//!
//! Requests go down the list below, responses come back up. Each stage is a small
//! module with its own tests. The order matters and reads top to bottom:
//!
//! 1. [`telemetry`]: `client-request-id` and `User-Agent` once per logical request, and one
//!    `tracing` span that records the outcome (status, retries, throttle wait, request-id).
//! 2. [`retry`]: 429/503/504 with `Retry-After` or jittered backoff, and connections lost
//!    before a response on idempotent requests. Every attempt re-runs the stages below it, so
//!    every attempt gets a fresh token.
//! 3. [`throttle`]: one gate per client: a 429 (or 503 with `Retry-After`) on any request
//!    pauses every new attempt to that service until the delay has passed, and keeps the
//!    concurrency estimate bulk runs follow.
//! 4. [`auth`]: asks the credential for a token before every attempt, attaches it only to
//!    allowed hosts over https (or loopback), answers one 401 with one forced refresh, and a
//!    CAE claims challenge once when enabled.
//! 5. [`redirect`]: follows 301/302/303/307/308, strips `Authorization` across hosts, refuses
//!    a scheme downgrade.
//! 6. the [`Transport`]: one HTTP exchange.
//!
//! The chain is fixed at construction; per-request options travel in [`Context`].

pub(crate) mod auth;
pub(crate) mod redirect;
pub(crate) mod retry;
pub(crate) mod telemetry;
pub(crate) mod throttle;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::clock::Clock;
use crate::error::Result;
use crate::options::{RedirectOptions, RequestOptions, RetryOptions};
use crate::transport::{HttpRequest, HttpResponse, Transport};

pub(crate) use auth::AllowedHosts;

/// One stage of the chain.
#[async_trait]
pub(crate) trait Stage: Send + Sync + fmt::Debug {
    /// Handles `request`, calling `next` zero or more times.
    async fn handle(
        &self,
        request: HttpRequest,
        ctx: &mut Context,
        next: Next<'_>,
    ) -> Result<HttpResponse>;
}

/// The rest of the chain after a stage.
#[derive(Clone, Copy)]
pub(crate) struct Next<'a> {
    stages: &'a [Arc<dyn Stage>],
    transport: &'a dyn Transport,
}

impl Next<'_> {
    /// Runs the remaining stages and then the transport.
    pub(crate) async fn run(self, request: HttpRequest, ctx: &mut Context) -> Result<HttpResponse> {
        match self.stages.split_first() {
            Some((stage, rest)) => {
                let next = Next {
                    stages: rest,
                    transport: self.transport,
                };
                stage.handle(request, ctx, next).await
            }
            None => self.transport.send(request).await,
        }
    }
}

/// The state of one logical request: the effective options and what happened to it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Context {
    pub(crate) retry: RetryOptions,
    pub(crate) redirect: RedirectOptions,
    pub(crate) scopes: Option<Vec<String>>,
    /// Whether the request may be sent twice; `None`: decided by its method.
    pub(crate) idempotent: Option<bool>,
    /// The credential of a per-user view of the client, instead of the client's own.
    pub(crate) credential: Option<Arc<dyn msgraph_typed_auth::TokenCredential>>,
    /// Retries made by the retry stage.
    pub(crate) retries: u32,
    /// Total time spent waiting on throttling.
    pub(crate) throttle_wait: Duration,
    /// Redirects followed.
    pub(crate) redirects: u32,
    /// Tokens requested again after a 401 or a claims challenge.
    pub(crate) token_refreshes: u32,
}

/// What the client configures once; see [`crate::ClientBuilder`].
pub(crate) struct PipelineConfig {
    pub(crate) transport: Arc<dyn Transport>,
    pub(crate) credential: Option<Arc<dyn msgraph_typed_auth::TokenCredential>>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) hosts: Arc<AllowedHosts>,
    pub(crate) scopes: Vec<String>,
    pub(crate) cae: bool,
    pub(crate) user_agent: Option<String>,
    pub(crate) retry: RetryOptions,
    pub(crate) redirect: RedirectOptions,
    pub(crate) max_response_bytes: usize,
    pub(crate) timeout: Option<Duration>,
    /// The bulk concurrency estimate's start and ceiling.
    pub(crate) bulk_concurrency: (usize, usize),
    /// Where the throttle gate is shared with the fleet, if anywhere.
    pub(crate) throttle_share: Option<Arc<dyn throttle::GateShare>>,
}

/// The assembled chain.
pub(crate) struct Pipeline {
    stages: Vec<Arc<dyn Stage>>,
    gate: Arc<throttle::ThrottleGate>,
    transport: Arc<dyn Transport>,
    retry: RetryOptions,
    redirect: RedirectOptions,
    max_response_bytes: usize,
    timeout: Option<Duration>,
}

impl fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pipeline")
            .field("stages", &self.stages)
            .field("transport", &self.transport)
            .finish()
    }
}

impl Pipeline {
    /// Assembles the chain, in order.
    pub(crate) fn new(config: PipelineConfig) -> Self {
        let gate = Arc::new(throttle::ThrottleGate::new(
            config.clock.clone(),
            config.bulk_concurrency.0,
            config.bulk_concurrency.1,
            config.throttle_share,
        ));
        gate.start_sharing();
        let stages: Vec<Arc<dyn Stage>> = vec![
            Arc::new(telemetry::Telemetry::new(
                config.user_agent,
                config.hosts.clone(),
            )),
            Arc::new(retry::Retry::new(config.clock.clone())),
            Arc::new(throttle::Throttle::new(gate.clone())),
            Arc::new(auth::Auth::new(
                config.credential,
                config.hosts,
                config.scopes,
                config.cae,
                config.clock,
            )),
            Arc::new(redirect::Redirect),
        ];
        Self {
            stages,
            gate,
            transport: config.transport,
            retry: config.retry,
            redirect: config.redirect,
            max_response_bytes: config.max_response_bytes,
            timeout: config.timeout,
        }
    }

    /// The transport under the chain (for requests that must carry no credential, such as
    /// upload slices to a pre-authenticated URL).
    pub(crate) fn transport(&self) -> &Arc<dyn Transport> {
        &self.transport
    }

    /// The client's throttle gate.
    pub(crate) fn gate(&self) -> &Arc<throttle::ThrottleGate> {
        &self.gate
    }

    /// The client's retry defaults.
    pub(crate) fn retry(&self) -> &RetryOptions {
        &self.retry
    }

    /// Sends one logical request through the chain with the client's defaults overridden by
    /// `options`, and with `credential` instead of the client's when given (a per-user view).
    pub(crate) async fn send_as(
        &self,
        request: HttpRequest,
        options: &RequestOptions,
        credential: Option<&Arc<dyn msgraph_typed_auth::TokenCredential>>,
    ) -> Result<HttpResponse> {
        let mut request = request;
        if request.timeout.is_none() {
            request.timeout = options.timeout.or(self.timeout);
        }
        if request.max_response_bytes.is_none() {
            request.max_response_bytes = Some(
                options
                    .max_response_bytes
                    .unwrap_or(self.max_response_bytes),
            );
        }
        let mut ctx = Context {
            retry: options.retry.clone().unwrap_or_else(|| self.retry.clone()),
            redirect: options
                .redirect
                .clone()
                .unwrap_or_else(|| self.redirect.clone()),
            scopes: options.scopes.clone(),
            idempotent: options.idempotent,
            credential: credential.cloned(),
            ..Context::default()
        };
        let next = Next {
            stages: &self.stages,
            transport: self.transport.as_ref(),
        };
        next.run(request, &mut ctx).await
    }

    /// [`Pipeline::send_as`] with the client's own credential.
    #[cfg(test)]
    pub(crate) async fn send(
        &self,
        request: HttpRequest,
        options: &RequestOptions,
    ) -> Result<HttpResponse> {
        self.send_as(request, options, None).await
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! Helpers for the stage tests: a pipeline over a mock transport and a test clock.

    use super::*;
    use crate::clock::TestClock;
    use crate::mock::MockTransport;

    pub(crate) fn config(mock: &MockTransport, clock: &TestClock) -> PipelineConfig {
        PipelineConfig {
            transport: Arc::new(mock.clone()),
            credential: None,
            clock: Arc::new(clock.clone()),
            hosts: Arc::new(AllowedHosts::new(["graph.microsoft.com"])),
            scopes: vec!["https://graph.microsoft.com/.default".into()],
            cae: false,
            user_agent: Some(crate::USER_AGENT.to_string()),
            retry: RetryOptions::default(),
            redirect: RedirectOptions::default(),
            max_response_bytes: crate::DEFAULT_MAX_RESPONSE_BYTES,
            timeout: None,
            bulk_concurrency: (4, 64),
            throttle_share: None,
        }
    }

    pub(crate) fn get(url: &str) -> HttpRequest {
        HttpRequest::new(
            http::Method::GET,
            url::Url::parse(url).expect("test URL parses"),
        )
    }
}
