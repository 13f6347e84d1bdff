//! Microsoft Graph's throttling model for identity and access resources, off unless configured:
//! token buckets of resource units per app+tenant pair (3,500 / 5,000 / 8,000 per 10 seconds for
//! tenants of under 50, 50 to 500, and over 500 users), of writes per app+tenant pair (3,000 per
//! 2 minutes 30 seconds) and of writes per tenant for all apps (18,000 per 5 minutes). Each
//! request costs what [`cost`] says (each `$batch` item on its own); when a bucket cannot pay,
//! the request answers 429 with `Retry-After`, `x-ms-throttle-scope` and
//! `x-ms-throttle-information`. Every Graph response carries `x-ms-resource-unit`, and
//! `x-ms-throttle-limit-percentage` once 80% of a limit is used.

mod cost;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde::Deserialize;

pub(crate) use cost::{Cost, cost};

/// Settings of the throttling model ([`crate::EmulatorBuilder::throttling`], `[throttling]` in
/// a configuration file, `--throttling` on the command line). The defaults are Graph's
/// documented limits.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ThrottlingConfig {
    /// Resource units per app+tenant pair per window. `None`: by tenant size, as Graph
    /// (3,500 under 50 users, 5,000 up to 500, 8,000 above).
    #[serde(default)]
    pub resource_units: Option<u64>,
    /// The window of [`ThrottlingConfig::resource_units`] in seconds (default 10).
    #[serde(default = "ten")]
    pub window_secs: f64,
    /// Resource units per tenant for all apps per [`ThrottlingConfig::window_secs`]. Graph
    /// documents no such limit ("not applicable"), so `None` (the default) sets none; set it to
    /// test a tenant-wide budget shared by several apps.
    #[serde(default)]
    pub tenant_resource_units: Option<u64>,
    /// Writes (POST, PATCH, PUT, DELETE) per app+tenant pair per window (default 3,000).
    #[serde(default = "app_writes")]
    pub app_write_quota: u64,
    /// The window of the app+tenant write quota in seconds (default 150).
    #[serde(default = "app_write_window")]
    pub app_write_window_secs: f64,
    /// Writes per tenant for all apps per window (default 18,000).
    #[serde(default = "tenant_writes")]
    pub tenant_write_quota: u64,
    /// The window of the tenant write quota in seconds (default 300).
    #[serde(default = "tenant_write_window")]
    pub tenant_write_window_secs: f64,
}

fn ten() -> f64 {
    10.0
}
fn app_writes() -> u64 {
    3_000
}
fn app_write_window() -> f64 {
    150.0
}
fn tenant_writes() -> u64 {
    18_000
}
fn tenant_write_window() -> f64 {
    300.0
}

impl Default for ThrottlingConfig {
    fn default() -> Self {
        ThrottlingConfig {
            resource_units: None,
            tenant_resource_units: None,
            window_secs: ten(),
            app_write_quota: app_writes(),
            app_write_window_secs: app_write_window(),
            tenant_write_quota: tenant_writes(),
            tenant_write_window_secs: tenant_write_window(),
        }
    }
}

impl ThrottlingConfig {
    /// Graph's documented limits.
    pub fn graph_defaults() -> Self {
        Self::default()
    }

    /// `units` resource units per app+tenant pair per `window` (instead of Graph's by tenant size).
    #[must_use]
    pub fn resource_units(mut self, units: u64, window: Duration) -> Self {
        self.resource_units = Some(units);
        self.window_secs = window.as_secs_f64();
        self
    }

    /// `units` resource units per tenant (all apps together) per the resource-unit window.
    #[must_use]
    pub fn tenant_resource_units(mut self, units: u64) -> Self {
        self.tenant_resource_units = Some(units);
        self
    }

    /// `writes` per app+tenant pair per `window`.
    #[must_use]
    pub fn app_writes(mut self, writes: u64, window: Duration) -> Self {
        self.app_write_quota = writes;
        self.app_write_window_secs = window.as_secs_f64();
        self
    }

    /// `writes` per tenant (all apps) per `window`.
    #[must_use]
    pub fn tenant_writes(mut self, writes: u64, window: Duration) -> Self {
        self.tenant_write_quota = writes;
        self.tenant_write_window_secs = window.as_secs_f64();
        self
    }

    /// Graph's resource-unit quota per app+tenant for a tenant of `users` users.
    pub(crate) fn units_for(&self, users: usize) -> u64 {
        self.resource_units.unwrap_or(match users {
            0..50 => 3_500,
            50..=500 => 5_000,
            _ => 8_000,
        })
    }
}

/// One token bucket: `capacity` tokens, refilled continuously over `window`.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// A bucket's limit.
#[derive(Debug, Clone, Copy)]
struct Limit {
    capacity: f64,
    window: f64,
}

impl Bucket {
    fn refill(&mut self, limit: Limit, now: Instant) {
        let rate = limit.capacity / limit.window.max(0.001);
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate).min(limit.capacity);
        self.last = now;
    }

    /// Seconds until `cost` tokens are there.
    fn wait_for(&self, limit: Limit, cost: f64) -> f64 {
        let rate = limit.capacity / limit.window.max(0.001);
        ((cost - self.tokens) / rate).max(0.0)
    }
}

/// Which limit refused a request.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Throttled {
    /// `x-ms-throttle-scope`, e.g. `Tenant_Application/ReadWrite/{app}/{tenant}`.
    pub scope: String,
    /// `x-ms-throttle-information`.
    pub information: &'static str,
    /// Whole seconds to wait (at least 1).
    pub retry_after: u64,
}

/// What a granted request used.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Granted {
    /// The highest share of a limit in use after this request (for
    /// `x-ms-throttle-limit-percentage`).
    pub used: f64,
}

/// The buckets, by scope key.
#[derive(Debug, Default)]
pub(crate) struct Throttle {
    config: Mutex<Option<ThrottlingConfig>>,
    buckets: Mutex<HashMap<String, Bucket>>,
    throttled: AtomicU64,
}

impl Throttle {
    pub(crate) fn new(config: Option<ThrottlingConfig>) -> Self {
        Throttle {
            config: Mutex::new(config),
            buckets: Mutex::new(HashMap::new()),
            throttled: AtomicU64::new(0),
        }
    }

    /// Turns the model on (with fresh buckets) or off.
    pub(crate) fn set(&self, config: Option<ThrottlingConfig>) {
        *self.config.lock() = config;
        self.buckets.lock().clear();
    }

    pub(crate) fn config(&self) -> Option<ThrottlingConfig> {
        self.config.lock().clone()
    }

    /// Counts a request answered 429 by the model.
    pub(crate) fn count_throttled(&self) {
        self.throttled.fetch_add(1, Ordering::Relaxed);
    }

    /// Requests answered 429 by the model.
    pub(crate) fn throttled(&self) -> u64 {
        self.throttled.load(Ordering::Relaxed)
    }

    /// Charges `cost` to the buckets of `app` in `tenant` (whose size is `users`), or says which
    /// limit refuses it (nothing is charged then). `None` when throttling is off.
    pub(crate) fn charge(
        &self,
        app: &str,
        tenant: &str,
        users: usize,
        cost: Cost,
    ) -> Option<Result<Granted, Throttled>> {
        let config = self.config.lock().clone()?;
        let now = Instant::now();
        let mut checks: Vec<(String, Limit, f64, String, &'static str)> = vec![(
            format!("ru|{app}|{tenant}"),
            Limit {
                capacity: config.units_for(users) as f64,
                window: config.window_secs,
            },
            cost.units as f64,
            format!("Tenant_Application/ReadWrite/{app}/{tenant}"),
            "ResourceUnitLimitExceeded",
        )];
        if let Some(units) = config.tenant_resource_units {
            checks.push((
                format!("tru|{tenant}"),
                Limit {
                    capacity: units as f64,
                    window: config.window_secs,
                },
                cost.units as f64,
                format!("Tenant/ReadWrite/{app}/{tenant}"),
                "ResourceUnitLimitExceeded",
            ));
        }
        if cost.writes > 0 {
            checks.push((
                format!("w|{app}|{tenant}"),
                Limit {
                    capacity: config.app_write_quota as f64,
                    window: config.app_write_window_secs,
                },
                cost.writes as f64,
                format!("Tenant_Application/Write/{app}/{tenant}"),
                "WriteLimitExceeded",
            ));
            checks.push((
                format!("tw|{tenant}"),
                Limit {
                    capacity: config.tenant_write_quota as f64,
                    window: config.tenant_write_window_secs,
                },
                cost.writes as f64,
                format!("Tenant/Write/{app}/{tenant}"),
                "WriteLimitExceeded",
            ));
        }
        let mut buckets = self.buckets.lock();
        for (key, limit, amount, scope, information) in &checks {
            let bucket = buckets.entry(key.clone()).or_insert(Bucket {
                tokens: limit.capacity,
                last: now,
            });
            bucket.refill(*limit, now);
            if bucket.tokens < *amount {
                let wait = bucket.wait_for(*limit, *amount);
                return Some(Err(Throttled {
                    scope: scope.clone(),
                    information,
                    retry_after: (wait.ceil() as u64).max(1),
                }));
            }
        }
        let mut used: f64 = 0.0;
        for (key, limit, amount, _, _) in &checks {
            if let Some(bucket) = buckets.get_mut(key) {
                bucket.tokens -= amount;
                used = used.max(1.0 - bucket.tokens / limit.capacity.max(1.0));
            }
        }
        Some(Ok(Granted { used }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_refuse_then_refill() {
        let throttle = Throttle::new(Some(
            ThrottlingConfig::graph_defaults().resource_units(4, Duration::from_secs(1)),
        ));
        let read = Cost {
            units: 2,
            writes: 0,
        };
        assert!(throttle.charge("a", "t", 10, read).unwrap().is_ok());
        let second = throttle.charge("a", "t", 10, read).unwrap().unwrap();
        assert!(second.used >= 0.99);
        let refused = throttle.charge("a", "t", 10, read).unwrap().unwrap_err();
        assert_eq!(refused.retry_after, 1);
        assert!(
            refused
                .scope
                .starts_with("Tenant_Application/ReadWrite/a/t")
        );
        // Another app has its own bucket.
        assert!(throttle.charge("b", "t", 10, read).unwrap().is_ok());
        std::thread::sleep(Duration::from_millis(550));
        assert!(throttle.charge("a", "t", 10, read).unwrap().is_ok());
        throttle.set(None);
        assert!(throttle.charge("a", "t", 10, read).is_none());
    }

    #[test]
    fn a_tenant_resource_unit_budget_is_shared_by_apps() {
        let throttle = Throttle::new(Some(
            ThrottlingConfig::default()
                .resource_units(10, Duration::from_secs(60))
                .tenant_resource_units(3),
        ));
        let read = Cost {
            units: 2,
            writes: 0,
        };
        assert!(throttle.charge("a", "t", 1, read).unwrap().is_ok());
        let refused = throttle.charge("b", "t", 1, read).unwrap().unwrap_err();
        assert_eq!(refused.scope, "Tenant/ReadWrite/b/t");
    }

    #[test]
    fn tenant_size_picks_the_quota() {
        let c = ThrottlingConfig::default();
        assert_eq!(c.units_for(12), 3_500);
        assert_eq!(c.units_for(50), 5_000);
        assert_eq!(c.units_for(100_012), 8_000);
    }

    #[test]
    fn the_tenant_write_quota_is_shared_by_apps() {
        let throttle = Throttle::new(Some(
            ThrottlingConfig::default().tenant_writes(2, Duration::from_secs(60)),
        ));
        let write = Cost {
            units: 1,
            writes: 1,
        };
        assert!(throttle.charge("a", "t", 1, write).unwrap().is_ok());
        assert!(throttle.charge("b", "t", 1, write).unwrap().is_ok());
        let refused = throttle.charge("c", "t", 1, write).unwrap().unwrap_err();
        assert_eq!(refused.scope, "Tenant/Write/c/t");
        assert_eq!(refused.information, "WriteLimitExceeded");
        assert!(refused.retry_after >= 29);
    }
}
