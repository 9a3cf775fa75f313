//! The fairing: reads the configuration, mounts the routes and runs the
//! health check.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rocket::fairing::{self, Fairing, Info, Kind};
use rocket::tokio::task::JoinHandle;
use rocket::{Build, Orbit, Rocket};
use uuid::Uuid;

use crate::cache::Cache;
use crate::client::{Central, RemoteConsent, UpstreamError};
use crate::config::{self, Config};
use crate::health::Health;
use crate::routes;

/// Where the routes are mounted; the banner script calls these paths.
pub(crate) const BASE: &str = "/_cookies";

/// How long one central read serves every request for the same visitor.
/// Concurrent page loads of a visitor whose consent is stale cause one
/// upstream read, not one each.
const READ_WINDOW: Duration = Duration::from_secs(2);

/// The shared cookie-consent service for a Rocket app.
///
/// This type is the way in: attach [`CookieConsent::fairing`] and the routes
/// under `/_cookies` are there. See the crate docs for the configuration.
///
/// ```
/// use rocket_cookie_service::{CookieConsent, MokaCache};
///
/// #[rocket::launch]
/// fn rocket() -> _ {
///     rocket::build().attach(CookieConsent::fairing(MokaCache::new()))
/// }
/// ```
pub struct CookieConsent {
    _private: (),
}

impl CookieConsent {
    /// The fairing, configured from Rocket's figment, keeping the central
    /// service's health in `cache`.
    pub fn fairing(cache: impl Cache) -> impl Fairing {
        CookieConsent::custom(cache, |_| {})
    }

    /// Like [`CookieConsent::fairing`], with a chance to change the
    /// configuration read from the figment before it is checked.
    ///
    /// ```
    /// use rocket_cookie_service::{CookieConsent, MokaCache};
    ///
    /// let fairing = CookieConsent::custom(MokaCache::new(), |config| {
    ///     // The original's `start_health_check=not app.debug`.
    ///     config.cookie_service_health_check = false;
    /// });
    /// let rocket = rocket::build().attach(fairing);
    /// ```
    pub fn custom<F>(cache: impl Cache, customize: F) -> impl Fairing
    where
        F: Fn(&mut Config) + Send + Sync + 'static,
    {
        ConsentFairing {
            cache: Arc::new(cache),
            customize: Box::new(customize),
            health_task: Mutex::new(None),
        }
    }
}

type Customize = Box<dyn Fn(&mut Config) + Send + Sync>;

struct ConsentFairing {
    cache: Arc<dyn Cache>,
    customize: Customize,
    health_task: Mutex<Option<JoinHandle<()>>>,
}

/// What the routes share, managed by Rocket.
pub(crate) struct Service {
    pub(crate) central: Central,
    pub(crate) health: Health,
    /// Whether cookies the site sets carry `Secure` (not in debug).
    pub(crate) secure: bool,
    /// `init`'s `redirect` answer, to `{central}/api/v1/cookies/session?return_uri=`.
    pub(crate) redirect: routes::Redirect,
    reads: moka::future::Cache<Uuid, RemoteConsent>,
    /// Tokens already opened, by sealed value.
    pub(crate) opened: crate::token::Opened,
}

impl Service {
    /// The visitor's central consent, read once per [`READ_WINDOW`] however
    /// many requests ask at the same time.
    pub(crate) async fn read_consent(
        &self,
        user: Uuid,
    ) -> Result<RemoteConsent, Arc<UpstreamError>> {
        self.reads
            .try_get_with(user, self.central.read_consent(user))
            .await
    }

    /// Writes the visitor's consent and forgets the read it replaces.
    pub(crate) async fn write_consent(
        &self,
        user: Uuid,
        consent: crate::Consent,
    ) -> Result<(), UpstreamError> {
        let written = self.central.write_consent(user, consent).await;
        self.reads.invalidate(&user).await;
        written
    }

    /// Forgets any read for the visitor, as when its token changes.
    pub(crate) async fn forget(&self, user: Uuid) {
        self.reads.invalidate(&user).await;
    }
}

#[rocket::async_trait]
impl Fairing for ConsentFairing {
    fn info(&self) -> Info {
        Info {
            name: "Cookie Consent",
            kind: Kind::Ignite | Kind::Liftoff | Kind::Shutdown | Kind::Singleton,
        }
    }

    async fn on_ignite(&self, rocket: Rocket<Build>) -> fairing::Result {
        let config = match Config::load(rocket.figment(), &self.customize) {
            Ok(config) => config,
            Err(e) => {
                for error in e {
                    log::error!("cookie service: invalid configuration: {error}");
                }
                return Err(rocket);
            }
        };
        if !config.enabled() {
            log::info!("cookie service: disabled by cookie_service_start, nothing attached");
            return Ok(rocket);
        }
        if config.cookie_service_api_key.is_empty() {
            log::warn!(
                "cookie service: cookie_service_api_key (COOKIE_SERVICE_API_KEY) is empty; \
                 the central service will refuse the site's API calls"
            );
        }
        let central = match Central::new(&config) {
            Ok(central) => central,
            Err(e) => {
                log::error!("cookie service: {e}");
                return Err(rocket);
            }
        };
        let secure = !config::is_debug(rocket.figment().profile());
        let service = Service {
            redirect: routes::Redirect::new(&central.session_url(), secure),
            central,
            health: Health::new(
                self.cache.clone(),
                config.cookie_service_health_check,
                config.health_ttl(),
            ),
            secure,
            // ~300 bytes an entry: a few MiB at most; a miss only costs the AES-GCM.
            opened: crate::token::Opened::new(10_000),
            reads: moka::future::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(READ_WINDOW)
                .build(),
        };
        Ok(rocket
            .manage(service)
            .manage(config)
            .mount(BASE, routes::routes())
            .register(BASE, routes::catchers()))
    }

    async fn on_liftoff(&self, rocket: &Rocket<Orbit>) {
        let (Some(service), Some(config)) = (rocket.state::<Service>(), rocket.state::<Config>())
        else {
            return;
        };
        if !service.health.is_checked() {
            return;
        }
        let task = service.health.clone().run(
            service.central.clone(),
            config.health_interval(),
            rocket.shutdown(),
        );
        let handle = rocket::tokio::spawn(task);
        if let Ok(mut slot) = self.health_task.lock() {
            *slot = Some(handle);
        }
    }

    async fn on_shutdown(&self, _: &Rocket<Orbit>) {
        let handle = self
            .health_task
            .lock()
            .ok()
            .and_then(|mut slot| slot.take());
        if let Some(handle) = handle {
            // The task watches the shutdown signal itself; this only makes
            // sure it is gone before Rocket returns.
            if rocket::tokio::time::timeout(Duration::from_secs(5), handle)
                .await
                .is_err()
            {
                log::warn!("cookie service: health check did not stop in time");
            }
        }
    }
}
