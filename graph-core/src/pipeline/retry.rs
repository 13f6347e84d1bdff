//! Retry stage: classify first (is this retryable, after how long?), then apply the strategy
//! (limits, budget, wait or hand back). The rule is written once, in [`decide`], and the
//! `$batch` loop asks the same function for its throttled items.
//!
//! - retried answers: 429, 503, 504; retried failures: a refused connection, or a connection
//!   lost before any response byte, on an idempotent request (GET, HEAD, PUT, DELETE,
//!   OPTIONS, TRACE, or one marked idempotent); never a timeout, never a POST;
//! - the wait: `Retry-After` (delta-seconds, decimal seconds or an HTTP-date) in full, or else
//!   `base · 2^n` plus up to 25 % jitter, capped at `max_delay`;
//! - a retry is never sent before the server allows it: a `Retry-After` longer than
//!   `max_delay`, or one that would take the waits past the total budget, returns the answer at
//!   once as a throttled error carrying the server's delay;
//! - `Retry-Attempt: n` on each retry (replacing the previous value);
//! - a request whose body is a stream is never retried;
//! - the wait is the injected clock's `sleep`: dropping the request future ends it at once.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use http::{HeaderValue, Method, StatusCode};

use super::{Context, Next, Stage};
use crate::clock::Clock;
use crate::error::{Error, ErrorKind, Result, ServiceError};
use crate::options::{RetryOptions, ThrottleMode};
use crate::transport::{HttpRequest, HttpResponse};

/// The header that tells the service which retry this is.
pub(crate) const RETRY_ATTEMPT: &str = "retry-attempt";

#[derive(Debug)]
pub(crate) struct Retry {
    clock: Arc<dyn Clock>,
}

impl Retry {
    pub(crate) fn new(clock: Arc<dyn Clock>) -> Self {
        Self { clock }
    }
}

/// Whether a status is one the retry stage handles.
pub(crate) fn is_retryable_status(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::TOO_MANY_REQUESTS
            | StatusCode::SERVICE_UNAVAILABLE
            | StatusCode::GATEWAY_TIMEOUT
    )
}

/// Whether `method` may be sent twice with the effect of once (RFC 9110 §9.2.2).
pub(crate) fn is_idempotent_method(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS | Method::TRACE
    )
}

/// Parses `Retry-After`: delta-seconds (`"5"`), decimal seconds (`"2.128"`, as Graph sends) or
/// an HTTP-date relative to `now`. A date in the past, a negative or unparsable value gives
/// `None`, so the caller falls back to backoff. A value too large to represent is
/// [`Duration::MAX`] (it is "very long", never "absent").
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if value.is_empty() || value.len() > 64 {
        return None;
    }
    if value.bytes().all(|b| b.is_ascii_digit()) {
        return Some(
            value
                .parse::<u64>()
                .map_or(Duration::MAX, Duration::from_secs),
        );
    }
    if let Ok(seconds) = value.parse::<f64>() {
        if seconds.is_nan() || seconds < 0.0 {
            return None;
        }
        return Some(Duration::try_from_secs_f64(seconds).unwrap_or(Duration::MAX));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    date.duration_since(now).ok().filter(|d| !d.is_zero())
}

/// The backoff before retry number `attempt + 1` (attempt counts from 0): `base · 2^attempt`,
/// stretched by `jitter` (a fraction in `[0, 0.25)`), capped at `max_delay`.
pub(crate) fn backoff_delay(options: &RetryOptions, attempt: u32, jitter: f64) -> Duration {
    let factor = 2f64.powi(attempt.min(30) as i32) * (1.0 + jitter.clamp(0.0, 0.25));
    let seconds = options.base_delay.as_secs_f64() * factor;
    Duration::try_from_secs_f64(seconds)
        .unwrap_or(options.max_delay)
        .min(options.max_delay)
}

/// A uniform value in `[0, 1)` from the OS random source (ring, already compiled for rustls);
/// `0.0` (no jitter) if the source fails, which only spreads retries less.
fn unit_jitter() -> f64 {
    use ring::rand::SecureRandom as _;
    let mut bytes = [0u8; 8];
    match ring::rand::SystemRandom::new().fill(&mut bytes) {
        // 53 random bits: every value is exactly representable and below 1.
        Ok(()) => (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64,
        Err(_) => 0.0,
    }
}

/// How far a logical request (or a `$batch` run) has come: retries made and time waited.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RetryProgress {
    /// Retries already made.
    pub(crate) attempt: u32,
    /// Total time waited so far.
    pub(crate) waited: Duration,
}

/// What the strategy does with a retryable answer or failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Wait this long, then send again.
    Retry(Duration),
    /// Hand the answer back as it is (retries exhausted or vetoed).
    Stop,
    /// Hand the answer back at once as a throttled error with this delay: the caller asked not
    /// to wait, or the server asked for longer than the SDK may wait on its own.
    Throttled(Duration),
}

/// The one retry rule, for a retryable answer (`response` is `Some`) or a retryable transport
/// failure (`None`):
///
/// 1. the wait is the server's `Retry-After` in full, else jittered backoff;
/// 2. [`ThrottleMode::ReturnError`] hands an answer back at once;
/// 3. a `Retry-After` above `max_delay`, or one that would take the total wait past the
///    budget, is handed back at once: never retry sooner than the server said;
/// 4. no retries left, or the caller's `should_retry` says no: hand back;
/// 5. a backoff that would exceed the budget: hand back;
/// 6. otherwise wait and retry.
pub(crate) fn decide(
    options: &RetryOptions,
    progress: RetryProgress,
    response: Option<&HttpResponse>,
    now: SystemTime,
) -> Decision {
    let server_wait = response
        .and_then(|r| r.header("retry-after"))
        .and_then(|v| parse_retry_after(v, now));
    let jitter = if options.jitter {
        unit_jitter() * 0.25
    } else {
        0.0
    };
    let delay = server_wait.unwrap_or_else(|| backoff_delay(options, progress.attempt, jitter));
    let fits_budget = options
        .total_budget
        .is_none_or(|budget| progress.waited.saturating_add(delay) <= budget);
    if response.is_some() && options.throttle_mode == ThrottleMode::ReturnError {
        return Decision::Throttled(delay);
    }
    if server_wait.is_some() && (delay > options.max_delay || !fits_budget) {
        return Decision::Throttled(delay);
    }
    if progress.attempt >= options.max_retries {
        return Decision::Stop;
    }
    if let (Some(predicate), Some(response)) = (&options.should_retry, response)
        && !predicate.allows(delay, progress.attempt + 1, response)
    {
        return Decision::Stop;
    }
    if !fits_budget {
        return Decision::Stop;
    }
    Decision::Retry(delay)
}

/// Whether a failure with no response may be retried: the connection was refused, or it was
/// lost before any response byte arrived, and sending the request again is harmless.
fn may_retry_failure(error: &Error, request: &HttpRequest, ctx: &Context) -> bool {
    let idempotent = ctx
        .idempotent
        .unwrap_or_else(|| is_idempotent_method(&request.method));
    idempotent && error.is_retryable_transport()
}

#[async_trait]
impl Stage for Retry {
    async fn handle(
        &self,
        request: HttpRequest,
        ctx: &mut Context,
        next: Next<'_>,
    ) -> Result<HttpResponse> {
        if !request.body.is_replayable() {
            // A stream can be sent once: hand back whatever the first answer is.
            return next.run(request, ctx).await;
        }
        let mut progress = RetryProgress::default();
        loop {
            let Some(mut this_try) = request.try_clone() else {
                return next.run(request, ctx).await;
            };
            if progress.attempt > 0 {
                this_try
                    .headers
                    .insert(RETRY_ATTEMPT, HeaderValue::from(progress.attempt));
            }
            let wait = match next.run(this_try, ctx).await {
                Ok(response) if !is_retryable_status(response.status) => return Ok(response),
                Ok(response) => {
                    match decide(&ctx.retry, progress, Some(&response), self.clock.now()) {
                        Decision::Retry(delay) => {
                            drop(response);
                            delay
                        }
                        Decision::Stop => return Ok(response),
                        Decision::Throttled(delay) => {
                            tracing::debug!(
                                wait_ms = delay.as_millis().min(u128::from(u64::MAX)) as u64,
                                "not waiting for this throttling answer; handing it back"
                            );
                            return Err(Error::new(ErrorKind::Throttled {
                                retry_after: Some(delay),
                                error: ServiceError::from_response(
                                    response.status,
                                    response.headers,
                                    &response.body,
                                ),
                            }));
                        }
                    }
                }
                Err(error) if may_retry_failure(&error, &request, ctx) => {
                    match decide(&ctx.retry, progress, None, self.clock.now()) {
                        Decision::Retry(delay) => {
                            tracing::debug!(error = %error, "connection failed before a response; retrying");
                            delay
                        }
                        _ => return Err(error),
                    }
                }
                Err(error) => return Err(error),
            };
            tracing::debug!(
                method = %request.method,
                attempt = progress.attempt + 1,
                wait_ms = wait.as_millis() as u64,
                "waiting before retrying"
            );
            ctx.throttle_wait += wait;
            progress.waited += wait;
            self.clock.sleep(wait).await;
            progress.attempt += 1;
            ctx.retries = progress.attempt;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::TestClock;
    use crate::mock::{MockResponse, MockRule, MockTransport};
    use crate::pipeline::Pipeline;
    use crate::pipeline::testing::{config, get};
    use crate::{RequestOptions, transport::Body};

    #[test]
    fn retry_after_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(parse_retry_after("5", now), Some(Duration::from_secs(5)));
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("2.128", now),
            Some(Duration::from_millis(2128))
        );
        let in_30s = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(
            parse_retry_after(&in_30s, now),
            Some(Duration::from_secs(30))
        );
        let past = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(parse_retry_after(&past, now), None);
        assert_eq!(parse_retry_after("-1", now), None);
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let options = RetryOptions::default();
        assert_eq!(backoff_delay(&options, 0, 0.0), Duration::from_secs(3));
        assert_eq!(backoff_delay(&options, 1, 0.0), Duration::from_secs(6));
        assert_eq!(backoff_delay(&options, 2, 0.0), Duration::from_secs(12));
        assert_eq!(
            backoff_delay(&options, 1, 0.2),
            Duration::from_secs_f64(7.2)
        );
        assert_eq!(backoff_delay(&options, 9, 0.0), Duration::from_secs(180));
        assert_eq!(backoff_delay(&options, 40, 0.24), Duration::from_secs(180));
    }

    #[test]
    fn jitter_is_uniform_in_the_unit_interval() {
        let samples: Vec<f64> = (0..200).map(|_| unit_jitter()).collect();
        assert!(
            samples.iter().all(|j| (0.0..1.0).contains(j)),
            "{samples:?}"
        );
        let low = samples.iter().filter(|j| **j < 0.5).count();
        assert!((40..=160).contains(&low), "{low} of 200 below 0.5");
    }

    fn no_jitter() -> RequestOptions {
        RequestOptions::new().with_retry(RetryOptions::default().jitter(false))
    }

    #[tokio::test]
    async fn honours_each_retry_after_form_then_succeeds() {
        let mock = MockTransport::new();
        let clock = TestClock::default();
        // The date is read after the first two waits (2 s + 1.5 s) have moved the clock on.
        let date = httpdate::fmt_http_date(clock.now() + Duration::from_secs(11));
        mock.on_any()
            .respond(MockResponse::status(429).header("Retry-After", "2"))
            .times(1);
        mock.on_any()
            .respond(MockResponse::status(503).header("Retry-After", "1.5"))
            .times(1);
        mock.on_any()
            .respond(MockResponse::status(504).header("Retry-After", &date))
            .times(1);
        mock.on_any()
            .respond(MockResponse::json(200, serde_json::json!({"ok": true})));
        let pipeline = Pipeline::new(config(&mock, &clock));
        let response = pipeline
            .send(get("https://graph.microsoft.com/v1.0/me"), &no_jitter())
            .await
            .unwrap();
        assert_eq!(response.status, 200);
        assert_eq!(
            clock.sleeps(),
            vec![
                Duration::from_secs(2),
                Duration::from_millis(1500),
                Duration::from_millis(7500)
            ]
        );
        let attempts: Vec<_> = mock
            .calls()
            .iter()
            .map(|c| c.header(RETRY_ATTEMPT).map(str::to_owned))
            .collect();
        assert_eq!(
            attempts,
            vec![None, Some("1".into()), Some("2".into()), Some("3".into())]
        );
    }

    #[tokio::test]
    async fn backs_off_without_retry_after_and_stops_after_max_retries() {
        let mock = MockTransport::new();
        mock.on_any().respond(MockResponse::status(503));
        let clock = TestClock::default();
        let pipeline = Pipeline::new(config(&mock, &clock));
        let response = pipeline
            .send(get("https://graph.microsoft.com/v1.0/me"), &no_jitter())
            .await
            .unwrap();
        assert_eq!(response.status, 503);
        assert_eq!(mock.calls().len(), 4, "one try and three retries");
        assert_eq!(
            clock.sleeps(),
            vec![
                Duration::from_secs(3),
                Duration::from_secs(6),
                Duration::from_secs(12)
            ]
        );
    }

    #[tokio::test]
    async fn backoff_waits_are_capped_and_respect_the_total_budget() {
        let mock = MockTransport::new();
        mock.on_any().respond(MockResponse::status(503));
        let clock = TestClock::default();
        let pipeline = Pipeline::new(config(&mock, &clock));
        let options = RequestOptions::new().with_retry(
            RetryOptions::default()
                .jitter(false)
                .max_delay(Duration::from_secs(10))
                .total_budget(Duration::from_secs(15)),
        );
        let response = pipeline
            .send(get("https://graph.microsoft.com/v1.0/me"), &options)
            .await
            .unwrap();
        assert_eq!(response.status, 503);
        // 3 + 6 fits in 15; a third backoff of 10 (12, capped) would not.
        assert_eq!(
            clock.sleeps(),
            vec![Duration::from_secs(3), Duration::from_secs(6)]
        );
        assert_eq!(mock.calls().len(), 3);
    }

    /// Sends one GET through a pipeline whose every answer is `status` with `Retry-After:
    /// retry_after`, with `options`; returns the outcome, the waits and the number of calls.
    async fn always(
        status: u16,
        retry_after: &str,
        options: RetryOptions,
    ) -> (Result<HttpResponse>, Vec<Duration>, usize) {
        let mock = MockTransport::new();
        mock.on_any()
            .respond(MockResponse::status(status).header("Retry-After", retry_after));
        let clock = TestClock::default();
        let pipeline = Pipeline::new(config(&mock, &clock));
        let outcome = pipeline
            .send(
                get("https://graph.microsoft.com/v1.0/me"),
                &RequestOptions::new().with_retry(options),
            )
            .await;
        (outcome, clock.sleeps(), mock.calls().len())
    }

    #[tokio::test]
    async fn a_retry_after_within_max_delay_and_budget_is_waited_in_full() {
        let now = TestClock::default().now();
        let date_in_100s = httpdate::fmt_http_date(now + Duration::from_secs(100));
        for (value, wait) in [
            ("5", Duration::from_secs(5)),
            ("179.5", Duration::from_millis(179_500)),
            (date_in_100s.as_str(), Duration::from_secs(100)),
        ] {
            let (outcome, sleeps, calls) = always(429, value, RetryOptions::new()).await;
            assert_eq!(outcome.unwrap().status, 429, "{value}");
            // Three retries, each after exactly the server's delay (a date is re-read each time).
            assert_eq!(calls, 4, "{value}");
            assert_eq!(sleeps[0], wait, "{value}: {sleeps:?}");
            assert!(sleeps.iter().all(|s| *s <= wait), "{value}: {sleeps:?}");
        }
    }

    #[tokio::test]
    async fn a_retry_after_above_max_delay_returns_at_once_typed() {
        let now = TestClock::default().now();
        let date_in_1h = httpdate::fmt_http_date(now + Duration::from_secs(3600));
        for (status, value, expected) in [
            (429, "3600", Duration::from_secs(3600)),
            (503, "180.5", Duration::from_millis(180_500)),
            (429, date_in_1h.as_str(), Duration::from_secs(3600)),
            (429, "99999999999999999999999", Duration::MAX),
            (503, "1e300", Duration::MAX),
        ] {
            // The defaults: max_delay 180 s, no total budget.
            let (outcome, sleeps, calls) = always(status, value, RetryOptions::new()).await;
            let error = outcome.unwrap_err();
            assert!(error.is_throttled(), "{value}: {error}");
            assert_eq!(error.retry_after(), Some(expected), "{value}");
            assert_eq!(error.status().map(|s| s.as_u16()), Some(status));
            assert_eq!(calls, 1, "{value}: no request before the server allows it");
            assert!(sleeps.is_empty(), "{value}: {sleeps:?}");
        }
    }

    #[tokio::test]
    async fn a_retry_after_that_would_pass_the_budget_returns_at_once_typed() {
        let budget = RetryOptions::new().total_budget(Duration::from_secs(150));
        // 100 s fits the 150 s budget once; a second 100 s would not.
        let (outcome, sleeps, calls) = always(429, "100", budget.clone()).await;
        let error = outcome.unwrap_err();
        assert!(error.is_throttled(), "{error}");
        assert_eq!(error.retry_after(), Some(Duration::from_secs(100)));
        assert_eq!(sleeps, vec![Duration::from_secs(100)]);
        assert_eq!(calls, 2);
        // Decimal seconds and a date beyond the budget: no wait at all.
        let now = TestClock::default().now();
        let date = httpdate::fmt_http_date(now + Duration::from_secs(160));
        for value in ["150.001", date.as_str()] {
            let (outcome, sleeps, calls) = always(503, value, budget.clone()).await;
            assert!(outcome.unwrap_err().is_throttled(), "{value}");
            assert!(
                sleeps.is_empty() && calls == 1,
                "{value}: {sleeps:?} {calls}"
            );
        }
        // Within the budget: waited in full.
        let (outcome, sleeps, calls) = always(429, "50", budget).await;
        assert!(outcome.unwrap_err().is_throttled());
        assert_eq!(sleeps, vec![Duration::from_secs(50); 3]);
        assert_eq!(calls, 4);
    }

    /// One request with `method` through a pipeline whose transport fails once with `fail`,
    /// then answers 200; returns the outcome and the number of calls.
    async fn fails_once(
        method: http::Method,
        fail: impl FnOnce(crate::mock::MockRule) -> crate::mock::MockRule,
        options: RequestOptions,
    ) -> (Result<HttpResponse>, usize, Vec<Duration>) {
        let mock = MockTransport::new();
        fail(mock.on_any()).times(1);
        mock.on_any().respond(MockResponse::status(200));
        let clock = TestClock::default();
        let pipeline = Pipeline::new(config(&mock, &clock));
        let mut request = get("https://graph.microsoft.com/v1.0/users/x");
        request.method = method;
        let outcome = pipeline.send(request, &options).await;
        (outcome, mock.calls().len(), clock.sleeps())
    }

    #[tokio::test]
    async fn a_lost_connection_is_retried_on_idempotent_requests_only() {
        use http::Method;
        let plain = || RequestOptions::new().with_retry(RetryOptions::new().jitter(false));
        for method in [Method::GET, Method::HEAD, Method::PUT, Method::DELETE] {
            for fail in [MockRule::reset, MockRule::refuse] {
                let (outcome, calls, sleeps) = fails_once(method.clone(), fail, plain()).await;
                assert_eq!(outcome.unwrap().status, 200, "{method}");
                assert_eq!(calls, 2, "{method}");
                assert_eq!(sleeps, vec![Duration::from_secs(3)], "{method}: backoff");
            }
        }
        for method in [Method::POST, Method::PATCH] {
            let (outcome, calls, _) = fails_once(method.clone(), MockRule::reset, plain()).await;
            let error = outcome.unwrap_err();
            assert!(error.is_connection_lost(), "{method}: {error}");
            assert!(error.request_may_have_been_processed(), "{method}");
            assert!(
                error.to_string().contains("may have been processed"),
                "{error}"
            );
            assert_eq!(calls, 1, "{method} is never sent twice");
            let (outcome, calls, _) = fails_once(method.clone(), MockRule::refuse, plain()).await;
            let error = outcome.unwrap_err();
            assert!(error.is_connect() && !error.request_may_have_been_processed());
            assert!(error.to_string().contains("was not sent"), "{error}");
            assert_eq!(calls, 1, "{method}");
        }
        // A POST marked idempotent is retried.
        let (outcome, calls, _) =
            fails_once(Method::POST, MockRule::reset, plain().with_idempotent(true)).await;
        assert_eq!(outcome.unwrap().status, 200);
        assert_eq!(calls, 2);
        // A failure once the response started is never retried, and says so.
        let (outcome, calls, _) = fails_once(Method::GET, MockRule::fail_mid_body, plain()).await;
        let error = outcome.unwrap_err();
        assert!(
            error.is_transport() && !error.is_connection_lost(),
            "{error}"
        );
        assert!(
            error.to_string().contains("the response had started"),
            "{error}"
        );
        assert_eq!(calls, 1);
        // A GET marked not idempotent is not retried.
        let (outcome, calls, _) =
            fails_once(Method::GET, MockRule::reset, plain().with_idempotent(false)).await;
        assert!(outcome.is_err());
        assert_eq!(calls, 1);
    }

    #[tokio::test]
    async fn a_connection_that_keeps_failing_uses_the_same_retry_limits() {
        let mock = MockTransport::new();
        mock.on_any().reset();
        let clock = TestClock::default();
        let pipeline = Pipeline::new(config(&mock, &clock));
        let options = RequestOptions::new().with_retry(
            RetryOptions::new()
                .jitter(false)
                .total_budget(Duration::from_secs(10)),
        );
        let error = pipeline
            .send(get("https://graph.microsoft.com/v1.0/me"), &options)
            .await
            .unwrap_err();
        assert!(error.is_connection_lost(), "{error}");
        // 3 + 6 fits in 10 s; 12 would not.
        assert_eq!(
            clock.sleeps(),
            vec![Duration::from_secs(3), Duration::from_secs(6)]
        );
        assert_eq!(mock.calls().len(), 3);
    }

    #[tokio::test]
    async fn throttled_mode_returns_at_once() {
        let mock = MockTransport::new();
        mock.on_any()
            .respond(MockResponse::status(429).header("Retry-After", "2.128"));
        let clock = TestClock::default();
        let pipeline = Pipeline::new(config(&mock, &clock));
        let options = RequestOptions::new()
            .with_retry(RetryOptions::default().throttle_mode(ThrottleMode::ReturnError));
        let error = pipeline
            .send(get("https://graph.microsoft.com/v1.0/me"), &options)
            .await
            .unwrap_err();
        assert!(error.is_throttled(), "{error}");
        assert_eq!(error.retry_after(), Some(Duration::from_millis(2128)));
        assert_eq!(error.status(), Some(StatusCode::TOO_MANY_REQUESTS));
        assert!(clock.sleeps().is_empty());
        assert_eq!(mock.calls().len(), 1);
    }

    #[tokio::test]
    async fn a_should_retry_predicate_can_veto() {
        let mock = MockTransport::new();
        mock.on_any()
            .respond(MockResponse::status(429).header("Retry-After", "1"))
            .times(1);
        mock.on_any()
            .respond(MockResponse::status(503).header("Retry-After", "100"));
        let clock = TestClock::default();
        let pipeline = Pipeline::new(config(&mock, &clock));
        let seen = Arc::new(parking_lot::Mutex::new(Vec::new()));
        let record = seen.clone();
        let options = RequestOptions::new().with_retry(RetryOptions::default().should_retry(
            crate::options::ShouldRetry::new(move |delay, attempt, response| {
                record
                    .lock()
                    .push((delay, attempt, response.status.as_u16()));
                delay < Duration::from_secs(10)
            }),
        ));
        let response = pipeline
            .send(get("https://graph.microsoft.com/v1.0/me"), &options)
            .await
            .unwrap();
        assert_eq!(response.status, 503);
        assert_eq!(
            *seen.lock(),
            vec![
                (Duration::from_secs(1), 1, 429),
                (Duration::from_secs(100), 2, 503)
            ]
        );
        assert_eq!(clock.sleeps(), vec![Duration::from_secs(1)]);
    }

    #[tokio::test]
    async fn streaming_bodies_are_not_retried() {
        let mock = MockTransport::new();
        mock.on_any().respond(MockResponse::status(503));
        let clock = TestClock::default();
        let pipeline = Pipeline::new(config(&mock, &clock));
        let mut request = get("https://graph.microsoft.com/v1.0/me/drive/root/content");
        request.method = http::Method::PUT;
        request.body = Body::from_stream(Box::pin(futures::stream::iter(vec![Ok(
            bytes::Bytes::from_static(b"data"),
        )])));
        let response = pipeline
            .send(request, &RequestOptions::new())
            .await
            .unwrap();
        assert_eq!(response.status, 503);
        assert_eq!(mock.calls().len(), 1);
        assert!(clock.sleeps().is_empty());
    }

    #[tokio::test]
    async fn other_statuses_are_not_retried() {
        let mock = MockTransport::new();
        mock.on_any().respond(MockResponse::status(500));
        let clock = TestClock::default();
        let pipeline = Pipeline::new(config(&mock, &clock));
        let response = pipeline
            .send(
                get("https://graph.microsoft.com/v1.0/me"),
                &RequestOptions::new(),
            )
            .await
            .unwrap();
        assert_eq!(response.status, 500);
        assert_eq!(mock.calls().len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn dropping_the_request_ends_a_wait_at_once() {
        let mock = MockTransport::new();
        mock.on_any()
            .respond(MockResponse::status(429).header("Retry-After", "60"));
        let mut config = config(&mock, &TestClock::default());
        config.clock = Arc::new(crate::clock::SystemClock);
        let pipeline = Pipeline::new(config);
        let started = tokio::time::Instant::now();
        let outcome = tokio::time::timeout(
            Duration::from_secs(1),
            pipeline.send(
                get("https://graph.microsoft.com/v1.0/me"),
                &RequestOptions::new(),
            ),
        )
        .await;
        assert!(outcome.is_err(), "the wait was cancelled by the timeout");
        assert!(started.elapsed() < Duration::from_secs(2));
        tokio::time::sleep(Duration::from_secs(300)).await;
        assert_eq!(mock.calls().len(), 1, "no request after cancellation");
    }
}
