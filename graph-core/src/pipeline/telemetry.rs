//! Telemetry stage: `client-request-id`, `User-Agent` and one `tracing` span per logical
//! request. It sits above retry, so nothing is added again on a retry.
//!
//! The span records the method, a URL *template* (ids, UPNs and keys replaced by `{id}`, no
//! query string: no personal data), the status, the retry count, the time spent waiting on
//! throttling and Graph's `request-id`. Tokens never reach a span.

use std::sync::Arc;

use async_trait::async_trait;
use http::HeaderValue;
use http::header::USER_AGENT;
use tracing::Instrument;
use tracing::field::Empty;
use url::Url;

use super::{AllowedHosts, Context, Next, Stage};
use crate::error::Result;
use crate::transport::{HttpRequest, HttpResponse};

/// The header Graph uses to correlate a client's request.
pub(crate) const CLIENT_REQUEST_ID: &str = "client-request-id";

#[derive(Debug)]
pub(crate) struct Telemetry {
    user_agent: Option<HeaderValue>,
    hosts: Arc<AllowedHosts>,
}

impl Telemetry {
    /// `user_agent` of `None` turns the header off.
    pub(crate) fn new(user_agent: Option<String>, hosts: Arc<AllowedHosts>) -> Self {
        Self {
            user_agent: user_agent.and_then(|ua| HeaderValue::from_str(&ua).ok()),
            hosts,
        }
    }
}

#[async_trait]
impl Stage for Telemetry {
    async fn handle(
        &self,
        mut request: HttpRequest,
        ctx: &mut Context,
        next: Next<'_>,
    ) -> Result<HttpResponse> {
        if let Some(ua) = &self.user_agent
            && !request.headers.contains_key(USER_AGENT)
        {
            request.headers.insert(USER_AGENT, ua.clone());
        }
        // Correlation ids go only to Graph and the hosts the caller allowed.
        if self.hosts.allows(&request.url) && !request.headers.contains_key(CLIENT_REQUEST_ID) {
            let mut buffer = uuid::Uuid::encode_buffer();
            let id = uuid::Uuid::new_v4().hyphenated().encode_lower(&mut buffer);
            if let Ok(value) = HeaderValue::from_str(id) {
                request.headers.insert(CLIENT_REQUEST_ID, value);
            }
        }
        let client_request_id = request
            .headers
            .get(CLIENT_REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let span = tracing::info_span!(
            "graph.request",
            http.method = %request.method,
            url.template = %url_template(&request.url),
            client_request_id = %client_request_id,
            http.status = Empty,
            retries = Empty,
            throttle_wait_ms = Empty,
            redirects = Empty,
            request_id = Empty,
            error = Empty,
        );
        let result = next.run(request, ctx).instrument(span.clone()).await;
        span.record("retries", ctx.retries);
        span.record("throttle_wait_ms", ctx.throttle_wait.as_millis() as u64);
        span.record("redirects", ctx.redirects);
        match &result {
            Ok(response) => {
                span.record("http.status", response.status.as_u16());
                if let Some(id) = response.header("request-id") {
                    span.record("request_id", id);
                }
                if let Some(sunset) = response.header("sunset") {
                    span.in_scope(|| {
                        tracing::warn!(
                            sunset,
                            "this API answered with a Sunset header: it will be retired"
                        )
                    });
                }
                span.in_scope(|| {
                    tracing::debug!(status = response.status.as_u16(), "graph request finished")
                });
            }
            Err(error) => {
                span.record("error", tracing::field::display(error));
                span.in_scope(|| tracing::debug!("graph request failed"));
            }
        }
        result
    }
}

/// The path of `url` with every segment that looks like data (ids, UPNs, keys, quoted or
/// parenthesised values, numbers) replaced by `{id}`. The query is dropped.
pub(crate) fn url_template(url: &Url) -> String {
    let mut template = String::new();
    if let Some(segments) = url.path_segments() {
        for segment in segments {
            template.push('/');
            if is_name_segment(segment) {
                template.push_str(segment);
            } else {
                template.push_str("{id}");
            }
        }
    }
    if template.is_empty() {
        template.push('/');
    }
    template
}

/// A segment that names something in the API rather than carrying data: letters (with dots for
/// casts and functions like `microsoft.graph.group`), an optional `$` prefix (`$count`,
/// `$value`, `$ref`), or a version such as `v1.0`.
fn is_name_segment(segment: &str) -> bool {
    if segment.is_empty() {
        return true;
    }
    if segment == "v1.0" || segment == "beta" {
        return true;
    }
    let body = segment.strip_prefix('$').unwrap_or(segment);
    !body.is_empty()
        && body.len() <= 64
        && body.starts_with(|c: char| c.is_ascii_alphabetic())
        && body
            .chars()
            .all(|c| c.is_ascii_alphabetic() || c == '.' || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RequestOptions;
    use crate::clock::TestClock;
    use crate::mock::{MockResponse, MockTransport};
    use crate::pipeline::Pipeline;
    use crate::pipeline::testing::{config, get};

    #[test]
    fn templates_hide_ids_upns_and_keys() {
        let url = Url::parse(
            "https://graph.microsoft.com/v1.0/users/48d31887-5fad-4d73-a9f5-3c356e68a038/memberOf/microsoft.graph.group?$filter=x",
        )
        .unwrap();
        assert_eq!(
            url_template(&url),
            "/v1.0/users/{id}/memberOf/microsoft.graph.group"
        );
        let url = Url::parse("https://graph.microsoft.com/v1.0/users/alice%40contoso.com/$count")
            .unwrap();
        assert_eq!(url_template(&url), "/v1.0/users/{id}/$count");
        let url = Url::parse("https://graph.microsoft.com/v1.0/sites/root/lists('Docs')").unwrap();
        assert_eq!(url_template(&url), "/v1.0/sites/root/{id}");
    }

    #[tokio::test]
    async fn adds_client_request_id_and_user_agent_once() {
        let mock = MockTransport::new();
        mock.on_any().respond(MockResponse::status(503)).times(1);
        mock.on_any()
            .respond(MockResponse::json(200, serde_json::json!({})));
        let clock = TestClock::default();
        let pipeline = Pipeline::new(config(&mock, &clock));
        let response = pipeline
            .send(
                get("https://graph.microsoft.com/v1.0/me"),
                &RequestOptions::new(),
            )
            .await
            .unwrap();
        assert_eq!(response.status, 200);
        let calls = mock.calls();
        assert_eq!(calls.len(), 2);
        let first_id = calls[0].header(CLIENT_REQUEST_ID).unwrap();
        assert!(uuid::Uuid::parse_str(first_id).is_ok(), "{first_id}");
        // The retry keeps the same id: telemetry runs once per logical request.
        assert_eq!(calls[1].header(CLIENT_REQUEST_ID), Some(first_id));
        assert_eq!(calls[0].header("user-agent"), Some(crate::USER_AGENT));
        // A second logical request gets a new id.
        pipeline
            .send(
                get("https://graph.microsoft.com/v1.0/me"),
                &RequestOptions::new(),
            )
            .await
            .unwrap();
        assert_ne!(mock.calls()[2].header(CLIENT_REQUEST_ID), Some(first_id));
    }

    #[tokio::test]
    async fn keeps_caller_headers_and_skips_ids_for_foreign_hosts() {
        let mock = MockTransport::new();
        mock.on_any()
            .respond(MockResponse::json(200, serde_json::json!({})));
        let pipeline = Pipeline::new(config(&mock, &TestClock::default()));
        let mut request = get("https://graph.microsoft.com/v1.0/me");
        request
            .headers
            .insert(CLIENT_REQUEST_ID, HeaderValue::from_static("mine"));
        request
            .headers
            .insert(USER_AGENT, HeaderValue::from_static("app/1"));
        pipeline
            .send(request, &RequestOptions::new())
            .await
            .unwrap();
        pipeline
            .send(
                get("https://elsewhere.example.com/x"),
                &RequestOptions::new(),
            )
            .await
            .unwrap();
        let calls = mock.calls();
        assert_eq!(calls[0].header(CLIENT_REQUEST_ID), Some("mine"));
        assert_eq!(calls[0].header("user-agent"), Some("app/1"));
        assert_eq!(calls[1].header(CLIENT_REQUEST_ID), None);
    }
}
