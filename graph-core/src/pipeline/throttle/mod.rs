//! Throttle gate stage: one gate per client. A 429 (or a 503 with `Retry-After`) on any
//! request pauses every new send of that client to the same service (scheme, host and port)
//! until the server's delay has passed, as Graph's throttling guidance asks, instead of letting
//! the other requests run into the same wall. It also keeps the client's concurrency estimate
//! (additive increase on healthy answers, halved on throttling) that bulk runs follow.
//!
//! It sits below retry, so every attempt passes it; the throttled request itself keeps the
//! retry budget it has (the retry stage waits the same delay).

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use http::StatusCode;
use parking_lot::Mutex;
use url::Url;

use super::retry::parse_retry_after;
use super::{Context, Next, Stage};
use crate::clock::Clock;
use crate::error::{Error, ErrorKind, Result, ServiceError};
use crate::transport::{HttpRequest, HttpResponse};

#[cfg(feature = "redis")]
mod redis;
#[cfg(feature = "redis")]
pub use redis::RedisThrottle;

/// The most services a gate remembers pauses for (stale entries are dropped first).
const MAX_SERVICES: usize = 1024;

/// Where a gate's pauses are shared with the other processes of a fleet (the quota belongs to
/// the app and tenant, not to one process).
pub(crate) trait GateShare: Send + Sync + fmt::Debug {
    /// Tells the others that `service` is paused until `until` (`delay` from now). Never
    /// waits and never fails the caller: a share that cannot be reached only warns.
    fn publish(&self, service: &str, until: SystemTime, delay: Duration);

    /// Starts hearing the others' pauses into `gate`, once; `false` when it cannot start yet
    /// (outside a Tokio runtime).
    fn start(&self, gate: Weak<ThrottleGate>) -> bool;
}

/// The client's shared throttling state: pauses per service and the concurrency estimate.
#[derive(Debug)]
pub(crate) struct ThrottleGate {
    clock: Arc<dyn Clock>,
    state: Mutex<GateState>,
    share: Option<Arc<dyn GateShare>>,
    share_started: AtomicBool,
}

#[derive(Debug)]
struct GateState {
    paused_until: HashMap<String, SystemTime>,
    /// Requests worth sending at once (AIMD), between `min` and `max`.
    concurrency: f64,
    min: f64,
    max: f64,
    throttled: u64,
}

impl ThrottleGate {
    pub(crate) fn new(
        clock: Arc<dyn Clock>,
        initial: usize,
        max: usize,
        share: Option<Arc<dyn GateShare>>,
    ) -> Self {
        let max = max.max(1) as f64;
        Self {
            clock,
            share,
            share_started: AtomicBool::new(false),
            state: Mutex::new(GateState {
                paused_until: HashMap::new(),
                concurrency: (initial.max(1) as f64).min(max),
                min: 1.0,
                max,
                throttled: 0,
            }),
        }
    }

    /// How many requests are worth having in flight now.
    pub(crate) fn concurrency(&self) -> usize {
        self.state.lock().concurrency.floor().max(1.0) as usize
    }

    /// Throttling answers seen so far.
    pub(crate) fn throttled(&self) -> u64 {
        self.state.lock().throttled
    }

    /// When sends to `service` may go again, if they are paused now.
    pub(crate) fn paused_until(&self, service: &str) -> Option<SystemTime> {
        let now = self.clock.now();
        self.state
            .lock()
            .paused_until
            .get(service)
            .copied()
            .filter(|until| *until > now)
    }

    /// Pauses `service` until `until` after a throttling answer to this client (never
    /// shortens a longer pause), halves the concurrency estimate once per throttling episode
    /// (the answers of requests already in flight when the first came back do not halve it
    /// again), and tells the fleet when the pause grew.
    pub(crate) fn pause(&self, service: &str, until: SystemTime) {
        self.state.lock().throttled += 1;
        if self.extend(service, until)
            && let Some(share) = &self.share
        {
            let delay = until
                .duration_since(self.clock.now())
                .unwrap_or(Duration::ZERO);
            share.publish(service, until, delay);
        }
    }

    /// A pause another process of the fleet met: the same pause and halving, not published
    /// again and not counted as this client's throttling answer.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn pause_from_fleet(&self, service: &str, delay: Duration) {
        if let Some(until) = self.clock.now().checked_add(delay) {
            self.extend(service, until);
        }
    }

    /// Extends the pause of `service` to `until`; whether it grew.
    fn extend(&self, service: &str, until: SystemTime) -> bool {
        let now = self.clock.now();
        let mut state = self.state.lock();
        let new_episode = state
            .paused_until
            .get(service)
            .is_none_or(|paused| *paused <= now);
        if new_episode {
            state.concurrency = (state.concurrency / 2.0).max(state.min);
        }
        if state.paused_until.len() >= MAX_SERVICES {
            state.paused_until.retain(|_, t| *t > now);
        }
        let entry = state.paused_until.entry(service.to_owned()).or_insert(now);
        let grew = *entry < until;
        if grew {
            *entry = until;
        }
        grew
    }

    /// Starts hearing the fleet's pauses, once, when there is a share and a runtime to run
    /// it on (the client may be built outside one; then its first request starts it).
    pub(crate) fn start_sharing(self: &Arc<Self>) {
        let Some(share) = &self.share else {
            return;
        };
        if self.share_started.load(Ordering::Acquire)
            || self.share_started.swap(true, Ordering::AcqRel)
        {
            return;
        }
        if !share.start(Arc::downgrade(self)) {
            self.share_started.store(false, Ordering::Release);
        }
    }

    /// A healthy answer: the estimate grows by about one per round of answers.
    fn healthy(&self) {
        let mut state = self.state.lock();
        let grown = state.concurrency + 1.0 / state.concurrency.max(1.0);
        state.concurrency = grown.min(state.max);
    }
}

/// `scheme://host:port`, the unit a pause applies to.
pub(crate) fn service_of(url: &Url) -> String {
    format!(
        "{}://{}:{}",
        url.scheme(),
        url.host_str().unwrap_or_default(),
        url.port_or_known_default().unwrap_or_default()
    )
}

/// The stage.
#[derive(Debug)]
pub(crate) struct Throttle {
    gate: Arc<ThrottleGate>,
}

impl Throttle {
    pub(crate) fn new(gate: Arc<ThrottleGate>) -> Self {
        Self { gate }
    }
}

#[async_trait]
impl Stage for Throttle {
    async fn handle(
        &self,
        request: HttpRequest,
        ctx: &mut Context,
        next: Next<'_>,
    ) -> Result<HttpResponse> {
        self.gate.start_sharing();
        let service = service_of(&request.url);
        // Wait out a pause another request of this client met, within the caller's limits.
        while let Some(until) = self.gate.paused_until(&service) {
            let remaining = until
                .duration_since(self.gate.clock.now())
                .unwrap_or(Duration::ZERO);
            let over_budget = ctx
                .retry
                .total_budget
                .is_some_and(|budget| ctx.throttle_wait + remaining > budget);
            if remaining > ctx.retry.max_delay || over_budget {
                return Err(Error::new(ErrorKind::Throttled {
                    retry_after: Some(remaining),
                    error: ServiceError::paused(remaining),
                }));
            }
            tracing::debug!(
                wait_ms = remaining.as_millis() as u64,
                "the client is paused for this service by an earlier throttling answer"
            );
            ctx.throttle_wait += remaining;
            self.gate.clock.sleep(remaining).await;
        }
        let response = next.run(request, ctx).await?;
        let retry_after = response
            .header("retry-after")
            .and_then(|v| parse_retry_after(v, self.gate.clock.now()));
        let throttled = response.status == StatusCode::TOO_MANY_REQUESTS
            || (response.status == StatusCode::SERVICE_UNAVAILABLE && retry_after.is_some());
        if throttled {
            // A delay longer than the retry policy waits on its own is handed back to this
            // caller only (as a throttled error); pausing every request for it would stall
            // the whole client on one answer.
            let delay = retry_after.unwrap_or(ctx.retry.base_delay);
            if delay <= ctx.retry.max_delay
                && let Some(until) = self.gate.clock.now().checked_add(delay)
            {
                self.gate.pause(&service, until);
            }
        } else if response.status.is_success() {
            self.gate.healthy();
        }
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::TestClock;

    fn gate(clock: &TestClock, initial: usize, max: usize) -> Arc<ThrottleGate> {
        Arc::new(ThrottleGate::new(
            Arc::new(clock.clone()),
            initial,
            max,
            None,
        ))
    }

    const SERVICE: &str = "https://graph.microsoft.com:443";

    #[test]
    fn healthy_answers_grow_the_estimate_up_to_the_ceiling() {
        let clock = TestClock::new();
        let gate = gate(&clock, 4, 10);
        // About one more per round of answers: five answers at four make five.
        for _ in 0..5 {
            gate.healthy();
        }
        assert_eq!(gate.concurrency(), 5);
        for _ in 0..1000 {
            gate.healthy();
        }
        assert_eq!(gate.concurrency(), 10);
    }

    #[test]
    fn one_throttling_episode_halves_the_estimate_once() {
        let clock = TestClock::new();
        let gate = gate(&clock, 16, 64);
        let until = clock.now() + Duration::from_secs(2);
        // Sixteen requests in flight all come back 429 for the same pause.
        for _ in 0..16 {
            gate.pause(SERVICE, until);
        }
        assert_eq!(gate.concurrency(), 8);
        assert_eq!(gate.throttled(), 16);
        assert_eq!(gate.paused_until(SERVICE), Some(until));
        // Once the pause is over, the next 429 is a new episode.
        clock.advance(Duration::from_secs(3));
        assert_eq!(gate.paused_until(SERVICE), None);
        gate.pause(SERVICE, clock.now() + Duration::from_secs(1));
        assert_eq!(gate.concurrency(), 4);
        // Never below one.
        for _ in 0..10 {
            clock.advance(Duration::from_secs(2));
            gate.pause(SERVICE, clock.now() + Duration::from_secs(1));
        }
        assert_eq!(gate.concurrency(), 1);
    }

    #[test]
    fn a_shorter_pause_never_shortens_a_longer_one_and_services_are_apart() {
        let clock = TestClock::new();
        let gate = gate(&clock, 4, 64);
        let long = clock.now() + Duration::from_secs(30);
        gate.pause(SERVICE, long);
        gate.pause(SERVICE, clock.now() + Duration::from_secs(1));
        assert_eq!(gate.paused_until(SERVICE), Some(long));
        assert_eq!(gate.paused_until("https://other.example:443"), None);
    }

    #[test]
    fn a_fleet_pause_pauses_and_halves_but_is_not_this_clients_answer() {
        let clock = TestClock::new();
        let gate = gate(&clock, 8, 64);
        gate.pause_from_fleet(SERVICE, Duration::from_secs(2));
        assert_eq!(
            gate.paused_until(SERVICE),
            Some(clock.now() + Duration::from_secs(2))
        );
        assert_eq!(gate.concurrency(), 4);
        assert_eq!(gate.throttled(), 0);
    }

    #[test]
    fn the_service_is_scheme_host_and_port() {
        let url = |s: &str| Url::parse(s).unwrap();
        assert_eq!(
            service_of(&url("https://graph.microsoft.com/v1.0/users")),
            SERVICE
        );
        assert_eq!(
            service_of(&url("http://127.0.0.1:8080/v1.0/me")),
            "http://127.0.0.1:8080"
        );
    }
}
