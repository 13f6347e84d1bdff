//! Redirect stage: follows 301, 302, 303, 307 and 308 itself (the transport never follows
//! redirects: [`msgraph_typed_auth::HttpClient`] switches them off whatever it was configured with).
//!
//! - a relative `Location` resolves against the current URL; a missing one is an error;
//! - 303 becomes a GET without a body; the others keep method and body, so a streaming body
//!   (which cannot be sent again) gets the redirect response back;
//! - `Authorization`, `Proxy-Authorization` and `Cookie` are removed when the scheme, host or
//!   port changes;
//! - an https -> http change is refused unless the options allow it;
//! - at most `max_redirects` hops (default 5); 0 hands every redirect back.

use async_trait::async_trait;
use http::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, COOKIE, PROXY_AUTHORIZATION};
use http::{Method, StatusCode};

use super::{Context, Next, Stage};
use crate::error::{Error, ErrorKind, Result};
use crate::transport::{Body, HttpRequest, HttpResponse};

#[derive(Debug)]
pub(crate) struct Redirect;

fn is_redirect(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::MOVED_PERMANENTLY
            | StatusCode::FOUND
            | StatusCode::SEE_OTHER
            | StatusCode::TEMPORARY_REDIRECT
            | StatusCode::PERMANENT_REDIRECT
    )
}

fn refused(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Redirect(message.into()))
}

#[async_trait]
impl Stage for Redirect {
    async fn handle(
        &self,
        request: HttpRequest,
        ctx: &mut Context,
        next: Next<'_>,
    ) -> Result<HttpResponse> {
        let max = ctx.redirect.max_redirects;
        let allow_scheme_change = ctx.redirect.allow_scheme_change;
        let mut current = request;
        let mut hops = 0u32;
        loop {
            let url = current.url.clone();
            let follow_up = if max > 0 { current.try_clone() } else { None };
            let response = next.run(current, ctx).await?;
            if max == 0 || !is_redirect(response.status) {
                return Ok(response);
            }
            if hops >= max {
                return Err(refused(format!("more than {max} redirects")));
            }
            let location = response.header("location").ok_or_else(|| {
                refused(format!(
                    "HTTP {} without a Location header",
                    response.status.as_u16()
                ))
            })?;
            let target = url
                .join(location)
                .map_err(|e| refused(format!("Location is not a valid URL: {e}")))?;
            if url.scheme() == "https" && target.scheme() != "https" && !allow_scheme_change {
                return Err(refused(format!(
                    "a redirect from https to {} is not followed",
                    target.scheme()
                )));
            }
            if target.scheme() != "https" && target.scheme() != "http" {
                return Err(refused(format!("unsupported scheme {:?}", target.scheme())));
            }
            let Some(mut follow) = follow_up else {
                // The body was a stream and cannot be sent again.
                return Ok(response);
            };
            if response.status == StatusCode::SEE_OTHER && follow.method != Method::HEAD {
                follow.method = Method::GET;
                follow.body = Body::empty();
                follow.headers.remove(CONTENT_TYPE);
                follow.headers.remove(CONTENT_LENGTH);
            }
            let cross_origin = url.host_str() != target.host_str()
                || url.port_or_known_default() != target.port_or_known_default()
                || url.scheme() != target.scheme();
            if cross_origin {
                follow.headers.remove(AUTHORIZATION);
                follow.headers.remove(PROXY_AUTHORIZATION);
                follow.headers.remove(COOKIE);
            }
            tracing::debug!(
                status = response.status.as_u16(),
                cross_origin,
                "following a redirect"
            );
            follow.url = target;
            current = follow;
            hops += 1;
            ctx.redirects = hops;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::TestClock;
    use crate::mock::{MockResponse, MockTransport};
    use crate::pipeline::Pipeline;
    use crate::pipeline::testing::{config, get};
    use crate::{RedirectOptions, RequestOptions};
    use http::HeaderValue;

    fn with_auth(url: &str) -> HttpRequest {
        let mut request = get(url);
        request.headers.insert(
            AUTHORIZATION,
            HeaderValue::from_static("Bearer caller-token"),
        );
        request
    }

    #[tokio::test]
    async fn same_host_keeps_authorization_cross_host_strips_it() {
        let mock = MockTransport::new();
        mock.on_path("/v1.0/a")
            .respond(MockResponse::status(302).header("Location", "/v1.0/b"));
        mock.on_path("/v1.0/b")
            .respond(MockResponse::status(307).header("Location", "https://other.example.com/c"));
        mock.on_path("/c")
            .respond(MockResponse::json(200, serde_json::json!({"ok": 1})));
        let pipeline = Pipeline::new(config(&mock, &TestClock::default()));
        let response = pipeline
            .send(
                with_auth("https://graph.microsoft.com/v1.0/a"),
                &RequestOptions::new(),
            )
            .await
            .unwrap();
        assert_eq!(response.status, 200);
        let calls = mock.calls();
        assert_eq!(calls.len(), 3);
        assert_eq!(calls[1].url.as_str(), "https://graph.microsoft.com/v1.0/b");
        assert_eq!(
            calls[1].header("authorization"),
            Some("Bearer caller-token")
        );
        assert_eq!(calls[2].url.host_str(), Some("other.example.com"));
        assert_eq!(calls[2].header("authorization"), None);
    }

    #[tokio::test]
    async fn port_change_strips_authorization() {
        let mock = MockTransport::new();
        mock.on_path("/a").respond(
            MockResponse::status(308).header("Location", "https://graph.microsoft.com:8443/a2"),
        );
        mock.on_path("/a2").respond(MockResponse::status(204));
        let pipeline = Pipeline::new(config(&mock, &TestClock::default()));
        pipeline
            .send(
                with_auth("https://graph.microsoft.com/a"),
                &RequestOptions::new(),
            )
            .await
            .unwrap();
        assert_eq!(mock.calls()[1].header("authorization"), None);
    }

    #[tokio::test]
    async fn a_scheme_change_alone_strips_authorization_when_allowed() {
        // Same host, same port (explicit 443 -> 443 on http): only the scheme changes.
        let mock = MockTransport::new();
        mock.on_path("/a").respond(
            MockResponse::status(307).header("Location", "http://graph.microsoft.com:443/b"),
        );
        mock.on_path("/b").respond(MockResponse::status(200));
        let pipeline = Pipeline::new(config(&mock, &TestClock::default()));
        let allow =
            RequestOptions::new().with_redirect(RedirectOptions::new().allow_scheme_change(true));
        pipeline
            .send(with_auth("https://graph.microsoft.com/a"), &allow)
            .await
            .unwrap();
        let calls = mock.calls();
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[1].url.as_str(), "http://graph.microsoft.com:443/b");
        assert_eq!(calls[1].header("authorization"), None);
    }

    #[tokio::test]
    async fn see_other_becomes_get_and_307_keeps_the_body() {
        let mock = MockTransport::new();
        mock.on_path("/post303")
            .respond(MockResponse::status(303).header("Location", "/result"));
        mock.on_path("/post307")
            .respond(MockResponse::status(307).header("Location", "/result"));
        mock.on_path("/result").respond(MockResponse::status(200));
        let pipeline = Pipeline::new(config(&mock, &TestClock::default()));
        for path in ["/post303", "/post307"] {
            let mut request = get(&format!("https://graph.microsoft.com{path}"));
            request.method = Method::POST;
            request.body = Body::from_bytes(&b"{\"a\":1}"[..]);
            pipeline
                .send(request, &RequestOptions::new())
                .await
                .unwrap();
        }
        let calls = mock.calls();
        assert_eq!(calls[1].method, Method::GET);
        assert!(calls[1].body.is_empty());
        assert_eq!(calls[3].method, Method::POST);
        assert_eq!(&calls[3].body[..], b"{\"a\":1}");
    }

    #[tokio::test]
    async fn refuses_downgrade_missing_location_and_too_many_hops() {
        let mock = MockTransport::new();
        mock.on_path("/down")
            .respond(MockResponse::status(301).header("Location", "http://graph.microsoft.com/x"));
        mock.on_path("/nowhere").respond(MockResponse::status(302));
        mock.on_path("/loop")
            .respond(MockResponse::status(302).header("Location", "/loop"));
        let pipeline = Pipeline::new(config(&mock, &TestClock::default()));
        let options = RequestOptions::new();
        let err = pipeline
            .send(get("https://graph.microsoft.com/down"), &options)
            .await
            .unwrap_err();
        assert!(
            err.is_redirect() && err.to_string().contains("https to http"),
            "{err}"
        );
        let err = pipeline
            .send(get("https://graph.microsoft.com/nowhere"), &options)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("Location"), "{err}");
        let before = mock.calls().len();
        let err = pipeline
            .send(get("https://graph.microsoft.com/loop"), &options)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("more than 5"), "{err}");
        assert_eq!(
            mock.calls().len() - before,
            6,
            "the first request and 5 redirects"
        );
        // 0 disables following.
        let response = pipeline
            .send(
                get("https://graph.microsoft.com/loop"),
                &RequestOptions::new().with_redirect(RedirectOptions::new().max_redirects(0)),
            )
            .await
            .unwrap();
        assert_eq!(response.status, 302);
    }
}
