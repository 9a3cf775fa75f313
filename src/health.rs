//! The central service's health: pinged by a background task, kept in the
//! [`Cache`](crate::Cache), read by requests.
//!
//! Requests never wait on the ping: they only read what the task last
//! wrote. A missing entry (the task has not answered yet, or stopped) reads
//! as down, like the Flask original.

use std::sync::Arc;
use std::time::Duration;

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
}

impl Health {
    /// `checked: false` turns the check off: the service always counts as up.
    pub(crate) fn new(cache: Arc<dyn Cache>, checked: bool, ttl: Duration) -> Self {
        Health {
            cache,
            checked,
            ttl,
        }
    }

    pub(crate) fn is_checked(&self) -> bool {
        self.checked
    }

    /// Whether the last health ping, still within its TTL, found the
    /// central service up.
    pub(crate) async fn is_up(&self) -> bool {
        if !self.checked {
            return true;
        }
        match self.cache.get(KEY).await {
            Ok(value) => value.as_deref() == Some(UP),
            Err(e) => {
                log::warn!("cookie service: reading health from the cache: {e}");
                false
            }
        }
    }

    async fn record(&self, up: bool) {
        let value = if up { UP } else { DOWN };
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
