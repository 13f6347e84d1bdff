//! Auth stage.
//!
//! Before every attempt it asks the credential for a token (the credential's cache makes this
//! cheap), for the configured scopes or `{scheme}://{host}/.default` of the request URL. It
//! attaches the token only when:
//! - the request host is on the allow-list (an empty list denies every host);
//! - the scheme is https, or the host is loopback;
//! - the caller did not set `Authorization` themselves (never overwritten).
//!
//! On a 401 (no claims challenge) it gets one new token (forced past the cache when the rejected
//! token had not expired) and retries once; a second 401 is handed back and becomes a typed
//! error with the request-id. A CAE `insufficient_claims` challenge (401 or 403) is answered
//! once, with the decoded claims, when CAE is enabled and the body can be replayed.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderValue, StatusCode};
use msgraph_typed_auth::{AccessToken, TokenCredential, TokenRequest};
use url::{Position, Url};

use super::{Context, Next, Stage};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::transport::{HttpRequest, HttpResponse};

/// The hosts a token may be sent to: `host` (default port) or `host:port`, lower case.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct AllowedHosts {
    hosts: BTreeSet<String>,
}

impl AllowedHosts {
    pub(crate) fn new<I, S>(hosts: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Self {
            hosts: hosts
                .into_iter()
                .map(|h| normalise_host(h.as_ref()))
                .filter(|h| !h.is_empty())
                .collect(),
        }
    }

    /// Whether `url`'s host (with its explicit port, if any) is on the list.
    pub(crate) fn allows(&self, url: &Url) -> bool {
        // Every request asks (telemetry and auth): the URL already holds `host[:port]`
        // (the port only when it is not the scheme's default), lower case for http and
        // https, so it is looked up as a slice; only a host with upper case letters (other
        // schemes keep the case) is lowered into a new string.
        if url.host_str().is_none() {
            return false;
        }
        let authority = &url[Position::BeforeHost..Position::AfterPort];
        if authority.bytes().any(|b| b.is_ascii_uppercase()) {
            return authority_of(url).is_some_and(|authority| self.hosts.contains(&authority));
        }
        self.hosts.contains(authority)
    }

    pub(crate) fn hosts(&self) -> impl Iterator<Item = &str> {
        self.hosts.iter().map(String::as_str)
    }
}

/// `host` or `host:port` of a URL, lower case; the port only when it is not the scheme's default.
pub(crate) fn authority_of(url: &Url) -> Option<String> {
    let host = url.host_str()?.to_ascii_lowercase();
    Some(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host,
    })
}

fn normalise_host(raw: &str) -> String {
    let raw = raw.trim();
    let without_scheme = raw
        .strip_prefix("https://")
        .or_else(|| raw.strip_prefix("http://"))
        .unwrap_or(raw);
    without_scheme
        .split('/')
        .next()
        .unwrap_or_default()
        .trim_end_matches(":443")
        .to_ascii_lowercase()
}

/// Whether a bearer token may travel over this URL's scheme.
fn is_secure(url: &Url) -> bool {
    url.scheme() == "https"
        || (url.scheme() == "http"
            && url
                .host_str()
                .is_some_and(msgraph_typed_auth::is_loopback_host))
}

/// The decoded claims of an `insufficient_claims` challenge in a 401 or 403.
pub(crate) fn claims_challenge(status: StatusCode, headers: &HeaderMap) -> Option<String> {
    if status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN {
        return None;
    }
    headers
        .get_all(http::header::WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|value| {
            let error = auth_param(value, "error")?;
            if !error.eq_ignore_ascii_case("insufficient_claims") {
                return None;
            }
            decode_claims(&auth_param(value, "claims")?)
        })
}

/// The value of `name="value"` (or `name=value`) in a `WWW-Authenticate` header.
fn auth_param(header: &str, name: &str) -> Option<String> {
    let lower = header.to_ascii_lowercase();
    let needle = format!("{}=", name.to_ascii_lowercase());
    let mut search_from = 0;
    while let Some(found) = lower[search_from..].find(&needle) {
        let start = search_from + found;
        let boundary_ok = start == 0 || matches!(header.as_bytes()[start - 1], b' ' | b',' | b'\t');
        let value_start = start + needle.len();
        if boundary_ok {
            let rest = &header[value_start..];
            return Some(match rest.strip_prefix('"') {
                Some(quoted) => quoted.split('"').next().unwrap_or_default().to_string(),
                None => rest
                    .split([',', ' '])
                    .next()
                    .unwrap_or_default()
                    .to_string(),
            });
        }
        search_from = value_start;
    }
    None
}

fn decode_claims(encoded: &str) -> Option<String> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let encoded = encoded.trim();
    [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(encoded).ok())
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .filter(|claims| serde_json::from_str::<serde_json::Value>(claims).is_ok())
}

#[derive(Debug)]
pub(crate) struct Auth {
    credential: Option<Arc<dyn TokenCredential>>,
    hosts: Arc<AllowedHosts>,
    /// The client's scopes: configured, else the cloud's Graph default scope.
    scopes: Vec<String>,
    cae: bool,
    clock: Arc<dyn Clock>,
}

impl Auth {
    pub(crate) fn new(
        credential: Option<Arc<dyn TokenCredential>>,
        hosts: Arc<AllowedHosts>,
        scopes: Vec<String>,
        cae: bool,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            credential,
            hosts,
            scopes,
            cae,
            clock,
        }
    }
}

fn attach(request: &mut HttpRequest, token: &AccessToken) -> Result<()> {
    // From the String itself: the value (over a kilobyte for a JWT) is not copied again.
    let mut value = HeaderValue::try_from(format!("Bearer {}", token.secret())).map_err(|_| {
        Error::invalid("the credential returned a token that is not a valid header value")
    })?;
    value.set_sensitive(true);
    request.headers.insert(AUTHORIZATION, value);
    Ok(())
}

#[async_trait]
impl Stage for Auth {
    async fn handle(
        &self,
        request: HttpRequest,
        ctx: &mut Context,
        next: Next<'_>,
    ) -> Result<HttpResponse> {
        // A per-user view of the client (on-behalf-of) brings its own credential.
        let Some(credential) = ctx.credential.clone().or_else(|| self.credential.clone()) else {
            return next.run(request, ctx).await;
        };
        if request.headers.contains_key(AUTHORIZATION) {
            // The caller's own Authorization is never overwritten.
            return next.run(request, ctx).await;
        }
        if !self.hosts.allows(&request.url) {
            tracing::debug!(
                host = request.url.host_str().unwrap_or_default(),
                "host is not on the allow-list; sending without a token"
            );
            return next.run(request, ctx).await;
        }
        if !is_secure(&request.url) {
            tracing::warn!(
                host = request.url.host_str().unwrap_or_default(),
                "refusing to send a token over plain http to a non-loopback host"
            );
            return next.run(request, ctx).await;
        }
        let scopes = ctx.scopes.clone().unwrap_or_else(|| self.scopes.clone());

        let first_request = TokenRequest::new(scopes);
        let token = credential.get_token(&first_request).await?;
        let scopes = first_request.scopes;
        let retry_copy = request.try_clone();
        let mut first = request;
        attach(&mut first, &token)?;
        let response = next.run(first, ctx).await?;

        let challenge = claims_challenge(response.status, &response.headers);
        let second_token = match (&challenge, response.status) {
            (Some(claims), _) => {
                if !self.cae || retry_copy.is_none() {
                    return Ok(response);
                }
                tracing::debug!("answering a CAE claims challenge once");
                TokenRequest::new(scopes)
                    .with_claims(claims.clone())
                    .with_force_refresh(true)
            }
            (None, StatusCode::UNAUTHORIZED) => {
                if retry_copy.is_none() {
                    return Ok(response);
                }
                // A rejected token that is still valid by our clock must be bypassed in the
                // cache; an expired one is replaced by the cache on its own.
                let still_valid = !token.is_expired_at(self.clock.now(), Duration::ZERO);
                tracing::debug!(still_valid, "401: getting one new token and retrying once");
                TokenRequest::new(scopes).with_force_refresh(still_valid)
            }
            _ => return Ok(response),
        };
        let Some(mut second) = retry_copy else {
            return Ok(response);
        };
        drop(response);
        ctx.token_refreshes += 1;
        let token = credential.get_token(&second_token).await?;
        attach(&mut second, &token)?;
        // Whatever comes back now (even another 401 or challenge) is final: no loop.
        next.run(second, ctx).await
    }
}

#[cfg(test)]
#[path = "auth_tests.rs"]
mod tests;
