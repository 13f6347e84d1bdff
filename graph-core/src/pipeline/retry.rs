//! Retry stage (REQ-4..10, BEYOND-14): classify first (is this retryable, after how long?),
//! then apply the strategy (limits, budget, wait or hand back).
//!
//! - retried statuses: 429, 503, 504;
//! - the wait: `Retry-After` as delta-seconds, decimal seconds or an HTTP-date; otherwise
//!   `base · 2^n` plus up to 25 % jitter; every wait capped at `max_delay`;
//! - `Retry-Attempt: n` on each retry (replacing the previous value);
//! - a request whose body is a stream is never retried;
//! - the total-budget check happens before a wait, so a wait that would exceed it is not started;
//! - the wait is the injected clock's `sleep`: dropping the request future ends it at once.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use http::{HeaderValue, StatusCode};

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

/// Parses `Retry-After`: delta-seconds (`"5"`), decimal seconds (`"2.128"`, as Graph sends) or
/// an HTTP-date relative to `now`. A date in the past, a negative or unparsable value gives
/// `None`, so the caller falls back to backoff (REQ-5).
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    if let Ok(seconds) = value.parse::<f64>() {
        if seconds.is_finite() && seconds >= 0.0 {
            return Duration::try_from_secs_f64(seconds).ok();
        }
        return None;
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

/// The wait the strategy would apply after `response` on retry number `attempt + 1`, and
/// whether the server gave it.
pub(crate) fn delay_for(
    options: &RetryOptions,
    response: &HttpResponse,
    attempt: u32,
    now: SystemTime,
) -> Duration {
    let jitter = if options.jitter {
        unit_jitter() * 0.25
    } else {
        0.0
    };
    match response
        .header("retry-after")
        .and_then(|v| parse_retry_after(v, now))
    {
        Some(wait) => wait.min(options.max_delay),
        None => backoff_delay(options, attempt, jitter),
    }
}

#[async_trait]
impl Stage for Retry {
    async fn handle(
        &self,
        request: HttpRequest,
        ctx: &mut Context,
        next: Next<'_>,
    ) -> Result<HttpResponse> {
        let options = ctx.retry.clone();
        if !request.body.is_replayable() {
            // A stream can be sent once: hand back whatever the first answer is (REQ-8).
            return next.run(request, ctx).await;
        }
        let mut attempt: u32 = 0;
        loop {
            let Some(mut this_try) = request.try_clone() else {
                return next.run(request, ctx).await;
            };
            if attempt > 0 {
                this_try
                    .headers
                    .insert(RETRY_ATTEMPT, HeaderValue::from(attempt));
            }
            let response = next.run(this_try, ctx).await?;
            if !is_retryable_status(response.status) {
                return Ok(response);
            }
            let delay = delay_for(&options, &response, attempt, self.clock.now());
            if options.throttle_mode == ThrottleMode::ReturnError {
                return Err(Error::new(ErrorKind::Throttled {
                    retry_after: Some(delay),
                    error: ServiceError::from_response(
                        response.status,
                        response.headers,
                        &response.body,
                    ),
                }));
            }
            if attempt >= options.max_retries {
                return Ok(response);
            }
            if let Some(predicate) = &options.should_retry
                && !predicate.allows(delay, attempt + 1, &response)
            {
                return Ok(response);
            }
            if let Some(budget) = options.total_budget
                && ctx.throttle_wait + delay > budget
            {
                tracing::debug!(
                    wait_ms = delay.as_millis() as u64,
                    "retry budget exhausted; returning the throttling response"
                );
                return Ok(response);
            }
            drop(response);
            tracing::debug!(
                method = %request.method,
                attempt = attempt + 1,
                wait_ms = delay.as_millis() as u64,
                "throttled or unavailable; waiting before retrying"
            );
            ctx.throttle_wait += delay;
            self.clock.sleep(delay).await;
            attempt += 1;
            ctx.retries = attempt;
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
    async fn caps_each_wait_and_respects_the_total_budget() {
        let mock = MockTransport::new();
        mock.on_any()
            .respond(MockResponse::status(429).header("Retry-After", "100000"));
        let clock = TestClock::default();
        let pipeline = Pipeline::new(config(&mock, &clock));
        let options = RequestOptions::new().with_retry(
            RetryOptions::default()
                .max_delay(Duration::from_secs(10))
                .total_budget(Duration::from_secs(25)),
        );
        let response = pipeline
            .send(get("https://graph.microsoft.com/v1.0/me"), &options)
            .await
            .unwrap();
        assert_eq!(response.status, 429);
        // 10 + 10 fits in 25; a third wait of 10 would not.
        assert_eq!(clock.sleeps(), vec![Duration::from_secs(10); 2]);
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
