//! The token endpoint over HTTP: form posts with `client-request-id` and library headers
//!, one quick retry on 5xx or timeout, and full parsing of token answers
//! and Entra errors.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures::future::BoxFuture;
use reqwest::header::{self, HeaderMap, HeaderValue};
use ring::rand::{SecureRandom, SystemRandom};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};
use url::Url;
use uuid::Uuid;

use crate::clock::Clock;
use crate::error::{AuthError, EntraError};
use crate::http_client::{HttpClient, ReadBodyError, read_body_limited};
use crate::token::AccessToken;

/// The library identifier sent in `x-client-SKU` (our own product token, not MSAL's).
pub const LIBRARY_SKU: &str = "msgraph-typed-rust";
/// The library version sent in `x-client-VER`.
pub const LIBRARY_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Tokens living at least this long get a proactive refresh at half-life.
const HALF_LIFE_THRESHOLD: Duration = Duration::from_secs(2 * 3600);
/// Maximum jitter applied to a half-life refresh time (MSAL uses ±5 min).
const MAX_REFRESH_JITTER: Duration = Duration::from_secs(300);
/// Retry-After values are honoured up to one hour.
pub(crate) const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// One form field: plain, or a secret exposed only while the body is encoded.
#[derive(Clone)]
pub(crate) enum FormValue {
    Plain(String),
    Secret(SecretString),
}

/// The body of a token endpoint request, plus optional HTTP Basic client authentication.
#[derive(Clone, Default)]
pub(crate) struct TokenForm {
    fields: Vec<(&'static str, FormValue)>,
    basic: Option<(String, SecretString)>,
}

impl TokenForm {
    pub(crate) fn new(grant_type: &str) -> Self {
        let mut form = Self::default();
        form.plain("grant_type", grant_type);
        form
    }

    pub(crate) fn plain(&mut self, name: &'static str, value: impl Into<String>) -> &mut Self {
        self.fields.push((name, FormValue::Plain(value.into())));
        self
    }

    pub(crate) fn secret(&mut self, name: &'static str, value: &SecretString) -> &mut Self {
        self.fields.push((name, FormValue::Secret(value.clone())));
        self
    }

    pub(crate) fn basic_auth(&mut self, client_id: &str, secret: &SecretString) -> &mut Self {
        self.basic = Some((client_id.to_string(), secret.clone()));
        self
    }

    fn encode(&self) -> String {
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in &self.fields {
            match value {
                FormValue::Plain(v) => out.append_pair(name, v),
                FormValue::Secret(v) => out.append_pair(name, v.expose_secret()),
            };
        }
        out.finish()
    }

    fn authorization(&self) -> Option<HeaderValue> {
        use base64::Engine;
        let (id, secret) = self.basic.as_ref()?;
        // RFC 6749 2.3.1: both parts are form-urlencoded before base64.
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let raw = format!("{}:{}", enc(id), enc(secret.expose_secret()));
        let value = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        );
        let mut header = HeaderValue::from_str(&value).ok()?;
        header.set_sensitive(true);
        Some(header)
    }
}

/// A successful token answer.
pub(crate) struct TokenResponse {
    pub(crate) access_token: SecretString,
    pub(crate) expires_in: Duration,
    pub(crate) refresh_in: Option<Duration>,
    pub(crate) refresh_token: Option<SecretString>,
    pub(crate) refresh_token_expires_in: Option<Duration>,
    /// The OpenID Connect ID token, when `openid` was asked for.
    pub(crate) id_token: Option<SecretString>,
}

impl TokenResponse {
    /// The access token with `expires_on` and `refresh_on` computed from `now`: `refresh_in`
    /// when the server sent it, else half-life (±jitter) for tokens of two hours or more.
    pub(crate) fn access_token(&self, now: SystemTime) -> AccessToken {
        let token = AccessToken::new(self.access_token.expose_secret(), now + self.expires_in);
        let refresh_after = match self.refresh_in {
            Some(refresh_in) if refresh_in < self.expires_in => Some(refresh_in),
            Some(_) => None,
            None if self.expires_in >= HALF_LIFE_THRESHOLD => {
                let half = self.expires_in / 2;
                let span = MAX_REFRESH_JITTER.min(self.expires_in / 20).as_secs() as i64;
                let jitter = jitter_secs(span);
                let secs = half.as_secs() as i64 + jitter;
                Some(Duration::from_secs(secs.max(0) as u64))
            }
            None => None,
        };
        match refresh_after {
            Some(after) => token.with_refresh_on(now + after),
            None => token,
        }
    }

    fn from_json(status: u16, map: &Map<String, Value>) -> Result<Self, AuthError> {
        let invalid = |detail: &str| AuthError::InvalidResponse {
            status,
            detail: detail.to_string(),
            retry_after: None,
        };
        let access_token = map
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| invalid("the token response has no access_token"))?;
        let expires_in = seconds(map.get("expires_in"))
            .ok_or_else(|| invalid("the token response has no valid expires_in"))?;
        Ok(Self {
            access_token: SecretString::from(access_token.to_string()),
            expires_in,
            refresh_in: seconds(map.get("refresh_in")),
            refresh_token: map
                .get("refresh_token")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(|s| SecretString::from(s.to_string())),
            refresh_token_expires_in: seconds(map.get("refresh_token_expires_in")),
            id_token: map
                .get("id_token")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(|s| SecretString::from(s.to_string())),
        })
    }
}

/// Entra ID sends numbers, and v1 endpoints strings of digits.
fn seconds(value: Option<&Value>) -> Option<Duration> {
    match value? {
        Value::Number(n) => n.as_u64().map(Duration::from_secs),
        Value::String(s) => s.trim().parse().ok().map(Duration::from_secs),
        _ => None,
    }
}

/// Sends requests to a token (or device code) endpoint, over a client that never follows
/// redirects, reading at most `max_response_bytes` of any answer.
#[derive(Clone)]
pub(crate) struct TokenEndpoint {
    http: HttpSource,
    clock: Arc<dyn Clock>,
    timeout: Duration,
    retry_delay: Duration,
    max_response_bytes: usize,
}

/// Where the endpoint gets its HTTP client: the credential's own, the one of the Graph client
/// it was given to, or a default made on first use.
pub(crate) type HttpSource = Arc<dyn Fn() -> Result<HttpClient, AuthError> + Send + Sync>;

/// The settings of a [`TokenEndpoint`].
pub(crate) struct EndpointConfig {
    pub(crate) http: HttpSource,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) timeout: Duration,
    pub(crate) retry_delay: Duration,
    pub(crate) max_response_bytes: usize,
}

/// A 2xx answer: its status and JSON object.
type JsonAnswer = (u16, Map<String, Value>);

impl std::fmt::Debug for TokenEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenEndpoint")
            .field("timeout", &self.timeout)
            .field("max_response_bytes", &self.max_response_bytes)
            .finish_non_exhaustive()
    }
}

impl TokenEndpoint {
    pub(crate) fn new(config: EndpointConfig) -> Self {
        Self {
            http: config.http,
            clock: config.clock,
            timeout: config.timeout,
            retry_delay: config.retry_delay,
            max_response_bytes: config.max_response_bytes,
        }
    }

    /// Posts `form` for `grant` (used in logs) and parses a token answer.
    pub(crate) async fn token(
        &self,
        url: &Url,
        form: &TokenForm,
        grant: &str,
    ) -> Result<TokenResponse, AuthError> {
        let (status, map) = self.post(url, form, grant).await?;
        TokenResponse::from_json(status, &map)
    }

    /// Posts `form` and returns the JSON object of a 2xx answer; every failure is typed.
    /// Retries once after the retry delay on 5xx or a transport failure, unless the server
    /// sent `Retry-After`.
    ///
    /// The future is boxed: every flow awaits it, and a boxed future keeps reqwest's future
    /// types out of each flow's own state machine (which made msgraph-typed-auth slow to compile).
    pub(crate) fn post<'a>(
        &'a self,
        url: &'a Url,
        form: &'a TokenForm,
        grant: &'a str,
    ) -> BoxFuture<'a, Result<JsonAnswer, AuthError>> {
        Box::pin(async move {
            match self.post_once(url, form, grant).await {
                Err(error) if quick_retry(&error) => {
                    tracing::debug!(grant, error = %error, delay_ms = self.retry_delay.as_millis() as u64,
                        "token request failed; retrying once");
                    self.clock.sleep(self.retry_delay).await;
                    self.post_once(url, form, grant).await
                }
                other => other,
            }
        })
    }

    async fn post_once(
        &self,
        url: &Url,
        form: &TokenForm,
        grant: &str,
    ) -> Result<JsonAnswer, AuthError> {
        let client_request_id = Uuid::new_v4().to_string();
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        if let Ok(id) = HeaderValue::from_str(&client_request_id) {
            headers.insert("client-request-id", id);
        }
        headers.insert("return-client-request-id", HeaderValue::from_static("true"));
        headers.insert("x-client-SKU", HeaderValue::from_static(LIBRARY_SKU));
        headers.insert("x-client-VER", HeaderValue::from_static(LIBRARY_VERSION));
        headers.insert(
            "x-client-OS",
            HeaderValue::from_static(std::env::consts::OS),
        );
        // We honour Retry-After (the token manager backs off until it passes).
        headers.insert(
            "x-ms-lib-capability",
            HeaderValue::from_static("retry-after, h429"),
        );
        if let Some(authorization) = form.authorization() {
            headers.insert(header::AUTHORIZATION, authorization);
        }
        tracing::debug!(grant, url = %url, client_request_id = %client_request_id, "token request");
        let started = std::time::Instant::now();
        let http = (self.http)()?;
        let response = http
            .reqwest()
            .post(url.clone())
            .headers(headers)
            .body(form.encode())
            .timeout(self.timeout)
            .send()
            .await
            .map_err(transport_error)?;
        let status = response.status().as_u16();
        if response.status().is_redirection() {
            // Never followed (the client has redirects off): the form must not go anywhere
            // but the configured authority. Only the host is named, never the whole URL.
            let location_host = response
                .headers()
                .get(header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|location| url.join(location).ok())
                .and_then(|target| target.host_str().map(str::to_string));
            tracing::warn!(
                grant,
                status,
                location_host = location_host.as_deref().unwrap_or("none"),
                "token endpoint answered a redirect; not following it"
            );
            return Err(AuthError::Redirected {
                status,
                location_host,
            });
        }
        let retry_after = parse_retry_after(response.headers());
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("none")
            .to_string();
        let body = read_body_limited(response, self.max_response_bytes)
            .await
            .map_err(|error| match error {
                ReadBodyError::TooLarge { limit, .. } => {
                    AuthError::ResponseTooLarge { status, limit }
                }
                ReadBodyError::Transport(e) => transport_error(e),
            })?;
        tracing::debug!(
            grant,
            status,
            client_request_id = %client_request_id,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "token response"
        );
        classify(status, &content_type, &body, retry_after)
    }
}

fn quick_retry(error: &AuthError) -> bool {
    match error {
        AuthError::Transport { .. } => true,
        AuthError::InvalidResponse {
            status,
            retry_after,
            ..
        }
        | AuthError::Service {
            status,
            retry_after,
            ..
        } => *status >= 500 && retry_after.is_none(),
        _ => false,
    }
}

fn transport_error(error: reqwest::Error) -> AuthError {
    // reqwest's Display names the URL but never the body or headers.
    let timeout = error.is_timeout();
    AuthError::Transport {
        message: error.without_url().to_string(),
        timeout,
    }
}

/// Turns an answer into a JSON object (2xx) or a typed error.
fn classify(
    status: u16,
    content_type: &str,
    body: &[u8],
    retry_after: Option<Duration>,
) -> Result<(u16, Map<String, Value>), AuthError> {
    let parsed: Option<Map<String, Value>> = serde_json::from_slice(body).ok();
    let success = (200..300).contains(&status);
    match parsed {
        Some(map) if success && !map.contains_key("error") => Ok((status, map)),
        Some(map) if map.get("error").and_then(Value::as_str).is_some() => {
            let error: EntraError = serde_json::from_value(Value::Object(map)).map_err(|e| {
                AuthError::InvalidResponse {
                    status,
                    detail: format!("an error body that does not parse: {e}"),
                    retry_after,
                }
            })?;
            Err(AuthError::Service {
                status,
                error: Box::new(error),
                retry_after,
            })
        }
        _ if status == 429 || (status == 503 && retry_after.is_some()) => {
            Err(AuthError::Throttled {
                status,
                retry_after,
            })
        }
        _ => Err(AuthError::InvalidResponse {
            status,
            detail: if body.is_empty() {
                "an empty body where a JSON object was expected".to_string()
            } else {
                format!(
                    "a {}-byte body of content-type {content_type:?} that is not a JSON token response",
                    body.len()
                )
            },
            retry_after,
        }),
    }
}

/// `Retry-After` as delta-seconds (decimal allowed) or an HTTP-date, capped at one hour.
pub(crate) fn parse_retry_after(headers: &HeaderMap) -> Option<Duration> {
    let raw = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    let delay = if let Ok(secs) = raw.parse::<f64>() {
        if !secs.is_finite() || secs < 0.0 {
            return None;
        }
        Duration::from_secs_f64(secs.min(MAX_RETRY_AFTER.as_secs_f64()))
    } else {
        let when = httpdate_parse(raw)?;
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO)
    };
    Some(delay.min(MAX_RETRY_AFTER))
}

fn httpdate_parse(raw: &str) -> Option<SystemTime> {
    httpdate::parse_http_date(raw).ok()
}

/// A uniform value in `[0, 1)` from the operating system's random source; `0.0` if it fails
/// (the value only spreads retries out).
pub(crate) fn unit_random() -> f64 {
    let mut bytes = [0u8; 8];
    match SystemRandom::new().fill(&mut bytes) {
        // 53 random bits: every value is exactly representable and below 1.
        Ok(()) => (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64,
        Err(_) => 0.0,
    }
}

/// A uniformly random whole number of seconds in `-span..=span` (no jitter for `span <= 0`, or
/// if the operating system's random source fails: jitter only spreads refreshes out).
fn jitter_secs(span: i64) -> i64 {
    let mut bytes = [0u8; 8];
    if span <= 0 || SystemRandom::new().fill(&mut bytes).is_err() {
        return 0;
    }
    // The modulo bias is below 2^-50 for the spans used here (at most 300 s).
    let width = span.unsigned_abs() * 2 + 1;
    (u64::from_le_bytes(bytes) % width) as i64 - span
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_jitter_is_spread_over_the_whole_span() {
        assert_eq!(jitter_secs(0), 0);
        assert_eq!(jitter_secs(-5), 0);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..300 {
            let j = jitter_secs(2);
            assert!((-2..=2).contains(&j), "{j}");
            seen.insert(j);
        }
        // Missing one of five values in 300 uniform draws has a probability below 1e-28.
        assert_eq!(seen.into_iter().collect::<Vec<_>>(), vec![-2, -1, 0, 1, 2]);
    }

    #[test]
    fn html_garbage_and_empty_bodies_are_typed_errors() {
        let html = classify(200, "text/html", b"<html>hi</html>", None).unwrap_err();
        assert!(
            matches!(html, AuthError::InvalidResponse { status: 200, .. }),
            "{html:?}"
        );
        assert!(html.to_string().contains("text/html"), "{html}");
        let empty = classify(502, "none", b"", None).unwrap_err();
        assert!(empty.is_retryable() && empty.to_string().contains("empty body"));
        let throttled = classify(
            429,
            "text/plain",
            b"slow down",
            Some(Duration::from_secs(7)),
        )
        .unwrap_err();
        assert_eq!(throttled.retry_after(), Some(Duration::from_secs(7)));
        assert!(throttled.is_retryable());
    }

    #[test]
    fn entra_errors_are_parsed_in_full() {
        let body = br#"{"error":"interaction_required","error_description":"AADSTS50079: MFA","error_codes":[50079],
            "timestamp":"2026-01-01 00:00:00Z","trace_id":"tr","correlation_id":"co","error_uri":"https://e",
            "suberror":"basic_action","claims":"{\"access_token\":{}}"}"#;
        let err = classify(400, "application/json", body, None).unwrap_err();
        let entra = err.entra_error().unwrap();
        assert_eq!(entra.error_codes, vec![50079]);
        assert_eq!(entra.suberror.as_deref(), Some("basic_action"));
        assert_eq!(entra.trace_id.as_deref(), Some("tr"));
        assert_eq!(entra.correlation_id.as_deref(), Some("co"));
        assert_eq!(entra.error_uri.as_deref(), Some("https://e"));
        assert_eq!(err.claims(), Some("{\"access_token\":{}}"));
        assert!(err.is_interaction_required());
    }

    #[test]
    fn token_response_refresh_on_follows_refresh_in_or_half_life() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let map = |json: &str| serde_json::from_str::<Map<String, Value>>(json).unwrap();
        let with_refresh_in = TokenResponse::from_json(
            200,
            &map(r#"{"access_token":"a","expires_in":"3600","refresh_in":1800}"#),
        )
        .unwrap()
        .access_token(now);
        assert_eq!(
            with_refresh_in.expires_on(),
            now + Duration::from_secs(3600)
        );
        assert_eq!(
            with_refresh_in.refresh_on(),
            Some(now + Duration::from_secs(1800))
        );
        let short =
            TokenResponse::from_json(200, &map(r#"{"access_token":"a","expires_in":3599}"#))
                .unwrap()
                .access_token(now);
        assert_eq!(short.refresh_on(), None);
        let long =
            TokenResponse::from_json(200, &map(r#"{"access_token":"a","expires_in":86400}"#))
                .unwrap()
                .access_token(now);
        let at = long
            .refresh_on()
            .unwrap()
            .duration_since(now)
            .unwrap()
            .as_secs();
        assert!((43_200 - 300..=43_200 + 300).contains(&at), "{at}");
        assert!(TokenResponse::from_json(200, &map(r#"{"expires_in":1}"#)).is_err());
    }

    #[test]
    fn retry_after_accepts_seconds_decimals_and_dates() {
        let mut headers = HeaderMap::new();
        headers.insert(header::RETRY_AFTER, HeaderValue::from_static("2.5"));
        assert_eq!(
            parse_retry_after(&headers),
            Some(Duration::from_millis(2500))
        );
        headers.insert(header::RETRY_AFTER, HeaderValue::from_static("999999"));
        assert_eq!(parse_retry_after(&headers), Some(MAX_RETRY_AFTER));
        let date = httpdate_now_plus(30);
        headers.insert(header::RETRY_AFTER, HeaderValue::from_str(&date).unwrap());
        let d = parse_retry_after(&headers).unwrap();
        assert!(
            d > Duration::from_secs(25) && d <= Duration::from_secs(30),
            "{d:?}"
        );
    }

    mod properties {
        use super::*;
        use crate::fuzz_support;
        use proptest::prelude::*;

        fn token_samples() -> Vec<Vec<u8>> {
            [
                r#"{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"refresh_in":1800,"access_token":"eyJ0eXAi.x.y","refresh_token":"0.AAAA","id_token":"eyJ.a.b","scope":"User.Read"}"#,
                r#"{"token_type":"Bearer","expires_in":"3599","access_token":"a"}"#,
                r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.\r\nTrace ID: 1","error_codes":[7000215],"timestamp":"2026-01-01 00:00:00Z","trace_id":"t","correlation_id":"c","error_uri":"https://login.microsoftonline.com/error?code=7000215"}"#,
                r#"{"error":"interaction_required","error_codes":[50079],"suberror":"basic_action","claims":"{\"access_token\":{\"capolids\":{\"essential\":true}}}"}"#,
                r#"{"device_code":"D","user_code":"U","verification_uri":"https://microsoft.com/devicelogin","expires_in":900,"interval":5}"#,
            ]
            .iter()
            .map(|s| s.as_bytes().to_vec())
            .collect()
        }

        proptest! {
            #![proptest_config(fuzz_support::config())]

            #[test]
            fn token_answers_never_panic(
                body in prop_oneof![fuzz_support::hostile_bytes(), fuzz_support::mutated(token_samples())],
                status in prop::sample::select(vec![200u16, 201, 400, 401, 429, 500, 503]),
            ) {
                match classify(status, "application/json", &body, None) {
                    Ok((_, map)) => {
                        // A JSON object: reading it as a token answer is typed too.
                        if let Err(error) = TokenResponse::from_json(status, &map) {
                            prop_assert!(matches!(error, AuthError::InvalidResponse { .. }), "{error:?}");
                        }
                    }
                    Err(error) => {
                        let _ = (error.to_string(), error.is_retryable(), error.claims());
                        let _ = error.www_authenticate_challenge();
                    }
                }
            }

            #[test]
            fn retry_after_headers_never_panic(value in fuzz_support::header_value()) {
                let mut headers = HeaderMap::new();
                if let Ok(value) = HeaderValue::from_str(&value) {
                    headers.insert(header::RETRY_AFTER, value);
                }
                if let Some(delay) = parse_retry_after(&headers) {
                    prop_assert!(delay <= MAX_RETRY_AFTER);
                }
            }
        }
    }

    fn httpdate_now_plus(secs: u64) -> String {
        httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(secs))
    }
}
