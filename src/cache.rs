//! Where shared state lives: the [`Cache`] trait and the in-process
//! [`MokaCache`].

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::future::Cache as Moka;
use moka::Expiry;

/// A small key-value store with expiring entries.
///
/// The fairing keeps the central service's health in it, so that every
/// replica of a site can share one view. It is the typed counterpart of the
/// Flask original's `get_cache_func`/`set_cache_func`. [`MokaCache`] is the
/// in-process implementation; a shared store (Redis, memcached) implements
/// the same three methods.
///
/// Implement it with `#[rocket::async_trait]`:
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::Mutex;
/// use std::time::Duration;
/// use rocket_cookie_service::{Cache, CacheError};
///
/// /// Keeps entries forever: fine for a test, not for a site.
/// #[derive(Default)]
/// struct Forever(Mutex<HashMap<String, String>>);
///
/// #[rocket::async_trait]
/// impl Cache for Forever {
///     async fn get(&self, key: &str) -> Result<Option<String>, CacheError> {
///         Ok(self.0.lock().unwrap().get(key).cloned())
///     }
///
///     async fn set(&self, key: &str, value: &str, _: Duration) -> Result<(), CacheError> {
///         self.0.lock().unwrap().insert(key.into(), value.into());
///         Ok(())
///     }
///
///     async fn add(&self, key: &str, value: &str, _: Duration) -> Result<bool, CacheError> {
///         let mut map = self.0.lock().unwrap();
///         if map.contains_key(key) {
///             return Ok(false);
///         }
///         map.insert(key.into(), value.into());
///         Ok(true)
///     }
/// }
/// ```
#[rocket::async_trait]
pub trait Cache: Send + Sync + 'static {
    /// The value stored under `key`, or `None` when there is none or it has
    /// expired.
    async fn get(&self, key: &str) -> Result<Option<String>, CacheError>;

    /// Stores `value` under `key` for `ttl`, replacing any value there.
    async fn set(&self, key: &str, value: &str, ttl: Duration) -> Result<(), CacheError>;

    /// Stores `value` under `key` for `ttl` only if nothing is stored there
    /// yet, atomically, and says whether it did (Redis's `SET NX PX`). This
    /// is what a lease between replicas is built from.
    async fn add(&self, key: &str, value: &str, ttl: Duration) -> Result<bool, CacheError>;
}

/// A cache backend failed; the fairing logs it and carries on as if the
/// entry were missing.
#[derive(Debug, thiserror::Error)]
#[error("cache backend failed: {0}")]
pub struct CacheError(#[source] Box<dyn StdError + Send + Sync>);

impl CacheError {
    /// Wraps a backend's own error.
    pub fn new(error: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        CacheError(error.into())
    }
}

#[rocket::async_trait]
impl<C: Cache + ?Sized> Cache for Arc<C> {
    async fn get(&self, key: &str) -> Result<Option<String>, CacheError> {
        (**self).get(key).await
    }

    async fn set(&self, key: &str, value: &str, ttl: Duration) -> Result<(), CacheError> {
        (**self).set(key, value, ttl).await
    }

    async fn add(&self, key: &str, value: &str, ttl: Duration) -> Result<bool, CacheError> {
        (**self).add(key, value, ttl).await
    }
}

/// An in-process [`Cache`] backed by [`moka`], with a TTL per entry.
///
/// Right for a site with one replica. Clones share the same entries.
///
/// ```
/// use rocket_cookie_service::{CookieConsent, MokaCache};
///
/// let rocket = rocket::build().attach(CookieConsent::fairing(MokaCache::new()));
/// ```
#[derive(Clone)]
pub struct MokaCache {
    entries: Moka<String, Entry>,
}

#[derive(Clone)]
struct Entry {
    value: Arc<str>,
    ttl: Duration,
}

struct EntryTtl;

impl Expiry<String, Entry> for EntryTtl {
    fn expire_after_create(&self, _: &String, entry: &Entry, _: Instant) -> Option<Duration> {
        Some(entry.ttl)
    }

    fn expire_after_update(
        &self,
        _: &String,
        entry: &Entry,
        _: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        Some(entry.ttl)
    }
}

impl MokaCache {
    /// A cache holding at most 10 000 entries.
    pub fn new() -> Self {
        MokaCache::with_capacity(10_000)
    }

    /// A cache holding at most `capacity` entries.
    pub fn with_capacity(capacity: u64) -> Self {
        let entries = Moka::builder()
            .max_capacity(capacity)
            .expire_after(EntryTtl)
            .build();
        MokaCache { entries }
    }
}

impl Default for MokaCache {
    fn default() -> Self {
        MokaCache::new()
    }
}

impl fmt::Debug for MokaCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MokaCache")
            .field("entries", &self.entries.entry_count())
            .finish()
    }
}

#[rocket::async_trait]
impl Cache for MokaCache {
    async fn get(&self, key: &str) -> Result<Option<String>, CacheError> {
        Ok(self.entries.get(key).await.map(|e| e.value.to_string()))
    }

    async fn set(&self, key: &str, value: &str, ttl: Duration) -> Result<(), CacheError> {
        let entry = Entry {
            value: value.into(),
            ttl,
        };
        self.entries.insert(key.to_owned(), entry).await;
        Ok(())
    }

    async fn add(&self, key: &str, value: &str, ttl: Duration) -> Result<bool, CacheError> {
        let entry = self
            .entries
            .entry_by_ref(key)
            .or_insert_with(async {
                Entry {
                    value: value.into(),
                    ttl,
                }
            })
            .await;
        Ok(entry.is_fresh())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[rocket::async_test]
    async fn entries_expire_after_their_own_ttl() {
        let cache = MokaCache::new();
        cache
            .set("short", "1", Duration::from_millis(50))
            .await
            .unwrap();
        cache
            .set("long", "2", Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(cache.get("short").await.unwrap().as_deref(), Some("1"));
        rocket::tokio::time::sleep(Duration::from_millis(120)).await;
        assert_eq!(cache.get("short").await.unwrap(), None);
        assert_eq!(cache.get("long").await.unwrap().as_deref(), Some("2"));
    }

    #[rocket::async_test]
    async fn add_takes_only_a_free_key() {
        let cache = MokaCache::new();
        let ttl = Duration::from_secs(60);
        assert!(cache.add("lease", "a", ttl).await.unwrap());
        assert!(!cache.add("lease", "b", ttl).await.unwrap());
        assert_eq!(cache.get("lease").await.unwrap().as_deref(), Some("a"));
        cache.set("lease", "c", ttl).await.unwrap();
        assert_eq!(cache.get("lease").await.unwrap().as_deref(), Some("c"));
    }
}
