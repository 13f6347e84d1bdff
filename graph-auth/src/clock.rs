//! Injected time, so expiry, refresh, backoff and retries are tested without sleeping.
//!
//! One [`Clock`] serves the whole SDK: the token manager and the credentials decide expiry
//! with it, and the HTTP pipeline (`msgraph-typed-core`) waits on it between retries.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures::future::BoxFuture;
use parking_lot::Mutex;

/// A source of wall-clock time and of waits.
///
/// Waits must be cancellation safe: dropping the future ends the wait at once.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current wall-clock time.
    fn now(&self) -> SystemTime;

    /// Waits for `duration` without blocking a thread.
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()>;
}

/// The system clock: `SystemTime::now()` and tokio's timer. The default everywhere outside
/// tests.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// A clock for tests: time moves only when told to ([`TestClock::advance`], [`TestClock::set`])
/// or when something sleeps on it, in which case the sleep returns at once, moves the time
/// forward by its duration and is recorded ([`TestClock::sleeps`]). Clones share one time.
///
/// ```
/// use msgraph_typed_auth::{Clock, TestClock};
/// use std::time::Duration;
///
/// # async fn demo() {
/// let clock = TestClock::new();
/// let start = clock.now();
/// clock.advance(Duration::from_secs(60));
/// clock.sleep(Duration::from_secs(5)).await; // returns at once
/// assert_eq!(clock.now(), start + Duration::from_secs(65));
/// assert_eq!(clock.sleeps(), vec![Duration::from_secs(5)]);
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct TestClock {
    state: Arc<Mutex<TestClockState>>,
}

#[derive(Debug)]
struct TestClockState {
    now: SystemTime,
    sleeps: Vec<Duration>,
}

impl TestClock {
    /// A test clock starting at the current system time.
    pub fn new() -> Self {
        Self::starting_at(SystemTime::now())
    }

    /// A test clock starting at `start`.
    pub fn starting_at(start: SystemTime) -> Self {
        Self {
            state: Arc::new(Mutex::new(TestClockState {
                now: start,
                sleeps: Vec::new(),
            })),
        }
    }

    /// Moves the time forward.
    pub fn advance(&self, by: Duration) {
        self.state.lock().now += by;
    }

    /// Sets the time.
    pub fn set(&self, to: SystemTime) {
        self.state.lock().now = to;
    }

    /// Every wait asked for so far, in order.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.state.lock().sleeps.clone()
    }
}

impl Default for TestClock {
    /// A clock starting at a fixed instant (2023-11-14 22:13:20 UTC), so tests are repeatable.
    fn default() -> Self {
        Self::starting_at(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000))
    }
}

impl Clock for TestClock {
    fn now(&self) -> SystemTime {
        self.state.lock().now
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        let mut state = self.state.lock();
        state.sleeps.push(duration);
        state.now += duration;
        Box::pin(futures::future::ready(()))
    }
}
