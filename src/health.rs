//! The central service's health: pinged by a background task, kept in the
//! [`Cache`](crate::Cache), read by requests.
//!
//! Requests never wait on the ping, nor on the cache: the task mirrors each
//! result it writes, with its TTL, into one atomic word that requests read
//! without a lock or an allocation. A missing or expired result (the task
//! has not answered yet, or stopped) reads as down, like the Flask
//! original. With a cache shared between replicas, the task is also the
//! place that reads the shared entry back into the mirror.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use rocket::tokio::time::{interval, MissedTickBehavior};
use rocket::Shutdown;

use crate::cache::Cache;
use crate::client::Central;

/// The cache key under which the health of the central service is kept.
pub(crate) const KEY: &str = "rocket_cookie_service:central_up";
const UP: &str = "1";
const DOWN: &str = "0";

/// Reads and records the central service's health.
#[derive(Clone)]
pub(crate) struct Health {
    cache: Arc<dyn Cache>,
    checked: bool,
    ttl: Duration,
    mirror: Arc<Mirror>,
}

/// The last recorded result: bit 0 is "up", the rest the instant it
/// expires, in milliseconds since [`since`].
#[derive(Default)]
struct Mirror(AtomicU64);

/// The origin of the mirror's clock.
fn since() -> Instant {
    static START: OnceLock<Instant> = OnceLock::new();
    *START.get_or_init(Instant::now)
}

fn millis(at: Instant) -> u64 {
    u64::try_from(at.saturating_duration_since(since()).as_millis()).unwrap_or(u64::MAX >> 1)
}

impl Mirror {
    fn store(&self, up: bool, until: Instant) {
        self.0
            .store((millis(until) << 1) | u64::from(up), Ordering::Release);
    }

    fn is_up(&self, now: Instant) -> bool {
        let word = self.0.load(Ordering::Acquire);
        word & 1 == 1 && millis(now) < word >> 1
    }
}

impl Health {
    /// `checked: false` turns the check off: the service always counts as up.
    pub(crate) fn new(cache: Arc<dyn Cache>, checked: bool, ttl: Duration) -> Self {
        since();
        Health {
            cache,
            checked,
            ttl,
            mirror: Arc::default(),
        }
    }

    pub(crate) fn is_checked(&self) -> bool {
        self.checked
    }

    /// Whether the last health ping, still within its TTL, found the
    /// central service up.
    pub(crate) fn is_up(&self) -> bool {
        !self.checked || self.mirror.is_up(Instant::now())
    }

    async fn record(&self, up: bool) {
        let value = if up { UP } else { DOWN };
        self.mirror.store(up, Instant::now() + self.ttl);
        if let Err(e) = self.cache.set(KEY, value, self.ttl).await {
            log::warn!("cookie service: writing health to the cache: {e}");
        }
    }

    /// Pings every `every` until `shutdown`, logging each change.
    pub(crate) async fn run(self, central: Central, every: Duration, mut shutdown: Shutdown) {
        let mut ticks = interval(every);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut last = None;
        loop {
            rocket::tokio::select! {
                _ = ticks.tick() => {}
                _ = &mut shutdown => break,
            }
            let up = rocket::tokio::select! {
                up = central.is_up() => up,
                _ = &mut shutdown => break,
            };
            self.record(up).await;
            if last != Some(up) {
                if up {
                    log::info!("cookie service: central service is up");
                } else {
                    log::warn!("cookie service: central service is down");
                }
                last = Some(up);
            }
        }
        log::debug!("cookie service: health check stopped");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::MokaCache;

    #[rocket::async_test]
    async fn a_result_holds_for_its_ttl_and_is_written_to_the_cache() {
        let health = Health::new(Arc::new(MokaCache::new()), true, Duration::from_millis(200));
        assert!(!health.is_up(), "nothing recorded yet reads as down");
        health.record(true).await;
        assert!(health.is_up());
        assert_eq!(health.cache.get(KEY).await.unwrap().as_deref(), Some(UP));
        rocket::tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!health.is_up(), "an expired result reads as down");
        health.record(false).await;
        assert!(!health.is_up());
        assert_eq!(health.cache.get(KEY).await.unwrap().as_deref(), Some(DOWN));
    }

    #[test]
    fn unchecked_is_always_up() {
        let health = Health::new(Arc::new(MokaCache::new()), false, Duration::from_secs(1));
        assert!(health.is_up());
    }
}
