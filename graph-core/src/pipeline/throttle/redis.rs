//! The throttle gate shared by a fleet through Redis (feature `redis`): Graph's quota belongs
//! to the app and tenant, so a `Retry-After` one instance meets pauses the others too.
//!
//! A pause is written to a hash (`{namespace}:throttle:pauses`, service -> until, in Unix
//! milliseconds, for instances that start listening later) and published on the channel
//! `{namespace}:throttle` in one script. Every instance listens on that channel and applies
//! what it hears to its own gate: the same pause, and the same halving of its concurrency
//! estimate, so the fleet backs off together. Nothing waits on Redis: publishing runs beside
//! the request, and listening runs in a task of its own. When Redis cannot be reached, each
//! instance keeps its own gate (a warning says so, once per outage) and listens again with
//! backoff; no request fails because of Redis.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use futures::StreamExt as _;
use futures::channel::oneshot;
use futures::future::{Either, select};
use parking_lot::Mutex;

use super::{GateShare, ThrottleGate};
use crate::error::{Error, Result};

/// How long one Redis command (or connecting) may take before the instance goes on alone.
const REDIS_TIMEOUT: Duration = Duration::from_secs(1);
/// The longest wait before listening again after Redis went away.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Extends the stored pause of a service when the new one is longer, keeps the hash alive as
/// long as its longest pause, and tells every listener.
/// KEYS[1] the hash; ARGV: service, until (Unix ms), delay (ms), channel.
const PUBLISH_PAUSE: &str = r"
local current = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if tonumber(ARGV[2]) > current then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
redis.call('PUBLISH', ARGV[4], ARGV[3] .. ' ' .. ARGV[1])
return 1
";

/// A throttle gate shared through Redis by every instance of a service (see
/// [`crate::ClientBuilder::shared_throttle`]): the same deployment that holds the token cache
/// can hold it.
///
/// ```no_run
/// # fn demo() -> msgraph_typed_core::Result<()> {
/// use msgraph_typed_core::{Client, RedisThrottle};
///
/// let throttle = RedisThrottle::new("redis://cache.internal:6379")?.namespace("contoso-sync");
/// let client = Client::builder().shared_throttle(throttle).build()?;
/// # drop(client); Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisThrottle {
    client: ::redis::Client,
    namespace: String,
}

impl fmt::Debug for RedisThrottle {
    // The URL may carry a password: only the namespace is shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisThrottle")
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

impl RedisThrottle {
    /// A shared gate on the Redis at `url` (`redis://` or `rediss://`, with credentials if
    /// the server needs them). Nothing connects until the client's first request.
    ///
    /// # Errors
    /// An invalid-request error when the URL is not a Redis URL (the URL itself is not
    /// repeated: it may hold a password).
    pub fn new(url: &str) -> Result<Self> {
        let client = ::redis::Client::open(url).map_err(|e| {
            Error::invalid(format!(
                "the shared throttle's Redis URL is not valid ({:?})",
                e.kind()
            ))
        })?;
        Ok(Self {
            client,
            namespace: "msgraph-typed".to_owned(),
        })
    }

    /// The prefix of the gate's key and channel (default `msgraph-typed`). Instances share a
    /// gate when they share a namespace: give each app registration (and tenant) its own when
    /// several use one Redis, since Graph's quota is per app and tenant.
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    pub(crate) fn into_share(self) -> Arc<dyn GateShare> {
        let (stop, stopped) = oneshot::channel();
        Arc::new(RedisShare {
            pauses_key: format!("{{{}}}:throttle:pauses", self.namespace),
            channel: format!("{}:throttle", self.namespace),
            client: self.client,
            script: ::redis::Script::new(PUBLISH_PAUSE),
            publisher: Mutex::new(None),
            degraded: Arc::new(AtomicBool::new(false)),
            _stop: stop,
            stopped: Mutex::new(Some(stopped)),
        })
    }
}

/// The running share of one client's gate.
struct RedisShare {
    client: ::redis::Client,
    pauses_key: String,
    channel: String,
    script: ::redis::Script,
    publisher: Mutex<Option<ConnectionManager>>,
    /// Whether the last publication failed (so the warning is given once per outage).
    degraded: Arc<AtomicBool>,
    /// Dropped with the client's gate: the listening task then ends.
    _stop: oneshot::Sender<()>,
    stopped: Mutex<Option<oneshot::Receiver<()>>>,
}

impl fmt::Debug for RedisShare {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisShare")
            .field("channel", &self.channel)
            .field("degraded", &self.degraded.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl RedisShare {
    fn publisher(&self) -> Option<ConnectionManager> {
        let mut slot = self.publisher.lock();
        if let Some(connection) = slot.as_ref() {
            return Some(connection.clone());
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(REDIS_TIMEOUT))
            .set_response_timeout(Some(REDIS_TIMEOUT))
            .set_number_of_retries(1);
        let connection =
            ConnectionManager::new_lazy_with_config(self.client.clone(), config).ok()?;
        *slot = Some(connection.clone());
        Some(connection)
    }
}

impl GateShare for RedisShare {
    fn publish(&self, service: &str, until: SystemTime, delay: Duration) {
        if tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        let Some(mut connection) = self.publisher() else {
            warn_alone(&self.degraded, "the connection could not be set up");
            return;
        };
        let until_ms = until
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_millis() as u64;
        let script = self.script.clone();
        let pauses_key = self.pauses_key.clone();
        let channel = self.channel.clone();
        let service = service.to_owned();
        let delay_ms = delay.as_millis().max(1) as u64;
        let degraded = self.degraded.clone();
        tokio::spawn(async move {
            let mut invocation = script.key(&pauses_key);
            invocation
                .arg(&service)
                .arg(until_ms)
                .arg(delay_ms)
                .arg(&channel);
            let sent = tokio::time::timeout(
                REDIS_TIMEOUT,
                invocation.invoke_async::<i64>(&mut connection),
            )
            .await;
            match sent {
                Ok(Ok(_)) => back_in_fleet(&degraded),
                Ok(Err(error)) => warn_alone(&degraded, &format!("{:?}", error.kind())),
                Err(_) => warn_alone(&degraded, "Redis did not answer in time"),
            }
        });
    }

    fn start(&self, gate: Weak<ThrottleGate>) -> bool {
        if tokio::runtime::Handle::try_current().is_err() {
            return false;
        }
        let Some(stopped) = self.stopped.lock().take() else {
            return true;
        };
        let listener = Listener {
            client: self.client.clone(),
            pauses_key: self.pauses_key.clone(),
            channel: self.channel.clone(),
            gate,
        };
        tokio::spawn(listener.run(stopped));
        true
    }
}

fn warn_alone(degraded: &AtomicBool, why: &str) {
    if !degraded.swap(true, Ordering::AcqRel) {
        tracing::warn!(
            why,
            "the shared throttle gate cannot reach Redis: this process keeps its own gate until it is back"
        );
    }
}

fn back_in_fleet(degraded: &AtomicBool) {
    if degraded.swap(false, Ordering::AcqRel) {
        tracing::info!("the shared throttle gate reaches Redis again");
    }
}

/// Hears the fleet's pauses into one gate, for as long as the gate lives.
struct Listener {
    client: ::redis::Client,
    pauses_key: String,
    channel: String,
    gate: Weak<ThrottleGate>,
}

impl Listener {
    async fn run(self, mut stopped: oneshot::Receiver<()>) {
        let degraded = AtomicBool::new(false);
        let first_backoff = Duration::from_millis(250);
        let mut backoff = first_backoff;
        loop {
            let session = std::pin::pin!(self.listen(&degraded));
            match select(session, &mut stopped).await {
                Either::Right(_) => return,
                Either::Left((outcome, _)) => {
                    if self.gate.upgrade().is_none() {
                        return;
                    }
                    let why = match outcome {
                        // It was listening: Redis went away since, so start the backoff over.
                        Ok(()) => {
                            backoff = first_backoff;
                            "the subscription ended".to_owned()
                        }
                        Err(why) => why,
                    };
                    warn_alone(&degraded, &why);
                }
            }
            let pause = std::pin::pin!(tokio::time::sleep(backoff));
            if let Either::Right(_) = select(pause, &mut stopped).await {
                return;
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// One subscription: the pauses already stored, then every one published, until the
    /// connection ends.
    async fn listen(&self, degraded: &AtomicBool) -> std::result::Result<(), String> {
        let kind = |e: ::redis::RedisError| format!("{:?}", e.kind());
        let timeout = |_| "Redis did not answer in time".to_owned();
        let mut pubsub = tokio::time::timeout(REDIS_TIMEOUT, self.client.get_async_pubsub())
            .await
            .map_err(timeout)?
            .map_err(kind)?;
        tokio::time::timeout(REDIS_TIMEOUT, pubsub.subscribe(&self.channel))
            .await
            .map_err(timeout)?
            .map_err(kind)?;
        let mut connection = tokio::time::timeout(
            REDIS_TIMEOUT,
            self.client.get_multiplexed_async_connection(),
        )
        .await
        .map_err(timeout)?
        .map_err(kind)?;
        let stored: HashMap<String, u64> = tokio::time::timeout(
            REDIS_TIMEOUT,
            ::redis::cmd("HGETALL")
                .arg(&self.pauses_key)
                .query_async(&mut connection),
        )
        .await
        .map_err(timeout)?
        .map_err(kind)?;
        drop(connection);
        back_in_fleet(degraded);
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_millis() as u64;
        {
            let Some(gate) = self.gate.upgrade() else {
                return Ok(());
            };
            for (service, until_ms) in stored {
                if until_ms > now_ms {
                    gate.pause_from_fleet(&service, Duration::from_millis(until_ms - now_ms));
                }
            }
        }
        let mut messages = pubsub.on_message();
        while let Some(message) = messages.next().await {
            let Ok(payload) = message.get_payload::<String>() else {
                continue;
            };
            let Some((delay_ms, service)) = payload.split_once(' ') else {
                continue;
            };
            let Ok(delay_ms) = delay_ms.parse::<u64>() else {
                continue;
            };
            let Some(gate) = self.gate.upgrade() else {
                return Ok(());
            };
            gate.pause_from_fleet(service, Duration::from_millis(delay_ms));
        }
        Ok(())
    }
}
