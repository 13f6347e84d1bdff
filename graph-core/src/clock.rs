//! Time, injected: the pipeline reads the wall clock and sleeps only through [`Clock`], so
//! tests can run retries and token expiry without waiting.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures::future::BoxFuture;
use parking_lot::Mutex;

/// A source of the current time and of (cancellable) waits.
///
/// Waits must be cancellation safe: dropping the future ends the wait at once (REQ-10).
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current wall-clock time.
    fn now(&self) -> SystemTime;
    /// Waits for `duration` without blocking a thread.
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()>;
}

/// The real clock: `SystemTime::now()` and `tokio::time::sleep`.
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

/// A manual clock for tests: `sleep` returns at once, advances the time and records the wait.
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
    /// A clock that starts at `start`.
    pub fn new(start: SystemTime) -> Self {
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

    /// Every wait asked for so far, in order.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.state.lock().sleeps.clone()
    }
}

impl Default for TestClock {
    fn default() -> Self {
        Self::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000))
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
