//! # rocket_cookie_service
//!
//! Canonical's shared cookie-consent service for [Rocket]: one consent
//! choice, shared by every site that uses the service.
//!
//! [Rocket]: https://rocket.rs
//!
//! A visitor is sent once to the central service and comes back to
//! `/_cookies/callback` with a one-time code, which the site exchanges
//! (with its API key) for the visitor's id. The id is kept in an encrypted
//! cookie, and from then on the site keeps the visitor's consent in step
//! with the central service, so a choice made on one domain applies on all.
//! The browser side is Canonical's banner script, `@canonical/cookie-policy`,
//! which calls the routes this crate mounts.
//!
//! ## Usage
//!
//! 1. Depend on the crate, and on Rocket with the `secrets` feature (the
//!    visitor's id is kept in Rocket's private cookie jar):
//!
//!    ```toml
//!    [dependencies]
//!    rocket = { version = "0.5", features = ["secrets"] }
//!    rocket_cookie_service = "0.1"
//!    ```
//!
//! 2. Attach the fairing with a [`Cache`] for the central service's health
//!    ([`MokaCache`] keeps it in process):
//!
//!    ```
//!    use rocket_cookie_service::{CookieConsent, MokaCache};
//!
//!    #[rocket::launch]
//!    fn rocket() -> _ {
//!        rocket::build().attach(CookieConsent::fairing(MokaCache::new()))
//!    }
//!    ```
//!
//! 3. Configure it (below): at least `cookie_service_api_key`, and Rocket's
//!    `secret_key` in release.
//!
//! 4. Load the banner script, `@canonical/cookie-policy`, on your pages and
//!    call `cpNs.cookiePolicy(callback, true)`.
//!
//! 5. Decide on the server what a page may load with the [`Consent`] guard.
//!
//! ## Configuration
//!
//! Per profile in `Rocket.toml`, or from the environment as `ROCKET_KEY` or
//! (as the Flask original reads them) the plain names below. See [`Config`].
//!
//! ```toml
//! [default]
//! central_cookie_service_url = "https://cookies.staging.canonical.com"
//! cookie_service_health_check = false
//!
//! [release]
//! central_cookie_service_url = "https://cookies.canonical.com"
//! cookie_service_health_check = true
//! ```
//!
//! | key | plain env | default |
//! |---|---|---|
//! | `central_cookie_service_url` | `CENTRAL_COOKIE_SERVICE_URL` | `https://cookies.canonical.com` |
//! | `preferences_cookie_expiry_days` | `PREFERENCES_COOKIE_EXPIRY_DAYS` | `365` |
//! | `cookie_service_api_key` | `COOKIE_SERVICE_API_KEY` | empty (warns) |
//! | `cookie_service_start` | `COOKIE_SERVICE_START` | `true` |
//! | `cookie_service_disabled` | `COOKIE_SERVICE_DISABLED` | `false` |
//! | `cookie_service_health_check` | | `true` |
//! | `cookie_service_health_interval` | | `15` (s) |
//! | `cookie_service_health_ttl` | | `60` (s) |
//! | `cookie_service_health_timeout` | | `3` (s) |
//! | `cookie_service_timeout` | | `10` (s) |
//!
//! A bad value stops launch with one line naming the key, the value and
//! where it came from.
//!
//! ## Routes
//!
//! | route | answers |
//! |---|---|
//! | `GET /_cookies/init` | `{"action": "redirect" \| "set_preferences" \| "offline_preferences_synced" \| "none", ...}`; 503 when the central service is down |
//! | `GET /_cookies/callback?code=&return_uri=` | 302 to `return_uri` when it is on this site, else to `/` |
//! | `GET /_cookies/get-preferences` | the central JSON for the visitor; 401 without a token |
//! | `POST /_cookies/set-preferences` | `{"message": "Preferences saved", "cookies_freshness_ts": ...}`; 401, 403, 413, 415, 400, 422 for bad requests |
//!
//! Errors are `{"error": "..."}`: 502 when the central service fails, 504
//! when it does not answer in time. Every answer carries
//! `Cache-Control: no-store, no-cache, must-revalidate, private`.
//!
//! ## Cookies
//!
//! | name | set by | holds |
//! |---|---|---|
//! | `_cookies_auth_token` | site | the visitor's id, encrypted (AES-256-GCM), 365 days |
//! | `_cookies_redirect_attempted` | site | `1`, 300 s |
//! | `_cookies_accepted` | banner script | the consent |
//! | `_cookies_freshness_ts` | banner script | when the site last synced |
//! | `_cookies_set_offline` | banner script | a choice made offline |
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod cache;
mod client;
mod config;
mod consent;
mod cookies;
mod fairing;
mod health;
mod redirect;
mod routes;
mod timestamp;
mod token;

#[cfg(feature = "dev-central")]
pub mod dev;

#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;

pub use cache::{Cache, CacheError, MokaCache};
pub use config::{Config, PRODUCTION_URL, STAGING_URL};
pub use consent::{Category, Consent, InvalidConsent};
pub use fairing::CookieConsent;
