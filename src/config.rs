//! Typed configuration, read from Rocket's figment.

// Errors are figment's own, as Rocket's config reports them: their size is
// not ours to choose, and they are built once, at ignition.
#![allow(clippy::result_large_err)]

use std::fmt;
use std::time::Duration;

use rocket::figment::providers::{Env, Serialized};
use rocket::figment::{self, Figment, Profile};
use serde::{Deserialize, Serialize};

/// The production central service.
pub const PRODUCTION_URL: &str = "https://cookies.canonical.com";

/// The staging central service.
pub const STAGING_URL: &str = "https://cookies.staging.canonical.com";

/// The original Flask package's environment variable names, which are read
/// as well as Rocket's own `ROCKET_`-prefixed ones, so a team moving from
/// Flask keeps its `.env`.
const LEGACY_ENV: [&str; 5] = [
    "CENTRAL_COOKIE_SERVICE_URL",
    "PREFERENCES_COOKIE_EXPIRY_DAYS",
    "COOKIE_SERVICE_API_KEY",
    "COOKIE_SERVICE_START",
    "COOKIE_SERVICE_DISABLED",
];

/// The fairing's configuration.
///
/// Every key lives at the top level of a Rocket profile, so it can be set
/// per profile in `Rocket.toml`, with a `ROCKET_` environment variable
/// (`ROCKET_COOKIE_SERVICE_API_KEY`), or with the original Flask package's
/// plain environment names (`COOKIE_SERVICE_API_KEY`). A `ROCKET_` variable
/// beats a plain one, which beats `Rocket.toml`.
///
/// ```toml
/// [default]
/// central_cookie_service_url = "https://cookies.staging.canonical.com"
///
/// [release]
/// central_cookie_service_url = "https://cookies.canonical.com"
/// cookie_service_api_key = "..."
/// ```
///
/// The `Debug` form never shows the API key.
#[derive(Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default)]
pub struct Config {
    /// Base URL of the central service, `http` or `https`.
    /// Default: `https://cookies.canonical.com`.
    pub central_cookie_service_url: String,
    /// Lifetime, in days, of the consent cookies; must be at least 1. Read
    /// and checked for parity with the Flask original, whose name it keeps:
    /// the banner script sets `_cookies_accepted` itself, with its own
    /// 365-day lifetime, so the site has nothing to apply it to yet.
    /// Default: `365`.
    pub preferences_cookie_expiry_days: u32,
    /// Bearer key for the central service's API. Empty means every API call
    /// will be refused upstream; a warning is logged at start.
    /// Default: empty.
    #[serde(deserialize_with = "text_or_number")]
    pub cookie_service_api_key: String,
    /// `false` attaches nothing: no routes, no health check. Default: `true`.
    pub cookie_service_start: bool,
    /// The original's opt-out: `true` has the same effect as
    /// `cookie_service_start = false`. Default: `false`.
    pub cookie_service_disabled: bool,
    /// Ping the central service's health endpoint in the background. When
    /// `false`, the service always counts as up (the original's
    /// `start_health_check=False`). Default: `true`.
    pub cookie_service_health_check: bool,
    /// Seconds between two health pings; at least 1. Default: `15`.
    pub cookie_service_health_interval: u64,
    /// Seconds a health result stays valid in the cache; at least the
    /// interval. Default: `60`.
    pub cookie_service_health_ttl: u64,
    /// Seconds a health ping may take before the service counts as down;
    /// at least 1. Default: `3`.
    pub cookie_service_health_timeout: u64,
    /// Seconds an API call to the central service may take; at least 1.
    /// Default: `10`.
    pub cookie_service_timeout: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            central_cookie_service_url: PRODUCTION_URL.into(),
            preferences_cookie_expiry_days: 365,
            cookie_service_api_key: String::new(),
            cookie_service_start: true,
            cookie_service_disabled: false,
            cookie_service_health_check: true,
            cookie_service_health_interval: 15,
            cookie_service_health_ttl: 60,
            cookie_service_health_timeout: 3,
            cookie_service_timeout: 10,
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key = if self.cookie_service_api_key.is_empty() {
            "<empty>"
        } else {
            "<redacted>"
        };
        f.debug_struct("Config")
            .field(
                "central_cookie_service_url",
                &self.central_cookie_service_url,
            )
            .field(
                "preferences_cookie_expiry_days",
                &self.preferences_cookie_expiry_days,
            )
            .field("cookie_service_api_key", &format_args!("{key}"))
            .field("cookie_service_start", &self.cookie_service_start)
            .field("cookie_service_disabled", &self.cookie_service_disabled)
            .field(
                "cookie_service_health_check",
                &self.cookie_service_health_check,
            )
            .field(
                "cookie_service_health_interval",
                &self.cookie_service_health_interval,
            )
            .field("cookie_service_health_ttl", &self.cookie_service_health_ttl)
            .field(
                "cookie_service_health_timeout",
                &self.cookie_service_health_timeout,
            )
            .field("cookie_service_timeout", &self.cookie_service_timeout)
            .finish()
    }
}

impl Config {
    /// Reads the configuration from `figment` (usually `rocket.figment()`),
    /// adding the original's plain environment names, and checks it.
    ///
    /// A missing key takes its default. Any other problem is a
    /// [`figment::Error`] that names the key, the bad value and where it came
    /// from.
    ///
    /// ```
    /// use rocket::figment::Figment;
    /// use rocket_cookie_service::Config;
    ///
    /// let figment = Figment::from(rocket::Config::default())
    ///     .merge(("cookie_service_timeout", 5));
    /// let config = Config::from_figment(&figment).unwrap();
    /// assert_eq!(config.cookie_service_timeout, 5);
    ///
    /// let bad = figment.merge(("preferences_cookie_expiry_days", 0));
    /// let error = Config::from_figment(&bad).unwrap_err();
    /// assert!(error.to_string().contains("preferences_cookie_expiry_days"));
    /// ```
    pub fn from_figment(figment: &Figment) -> Result<Config, figment::Error> {
        Config::load(figment, |_| {})
    }

    /// [`Config::from_figment`], with `customize` applied before the checks.
    pub(crate) fn load(
        figment: &Figment,
        customize: impl Fn(&mut Config),
    ) -> Result<Config, figment::Error> {
        let legacy = Env::raw()
            .only(&LEGACY_ENV)
            .map(|key| key.as_str().to_lowercase().into());
        let ours = Env::prefixed("ROCKET_").only(&Config::KEYS);
        let figment = Figment::from(Serialized::defaults(Config::default()))
            .merge(figment.clone())
            .merge(legacy.global())
            .merge(ours.global())
            .select(figment.profile().clone());
        let mut config: Config = figment.extract_lossy()?;
        customize(&mut config);
        config.check().map_err(|e| e.with(&figment))?;
        Ok(config)
    }

    /// Whether the fairing should attach anything.
    pub fn enabled(&self) -> bool {
        self.cookie_service_start && !self.cookie_service_disabled
    }

    /// The central service's base URL without a trailing slash.
    pub(crate) fn central_base(&self) -> &str {
        self.central_cookie_service_url.trim_end_matches('/')
    }

    pub(crate) fn health_interval(&self) -> Duration {
        Duration::from_secs(self.cookie_service_health_interval)
    }

    pub(crate) fn health_ttl(&self) -> Duration {
        Duration::from_secs(self.cookie_service_health_ttl)
    }

    pub(crate) fn health_timeout(&self) -> Duration {
        Duration::from_secs(self.cookie_service_health_timeout)
    }

    pub(crate) fn timeout(&self) -> Duration {
        Duration::from_secs(self.cookie_service_timeout)
    }

    const KEYS: [&'static str; 10] = [
        "central_cookie_service_url",
        "preferences_cookie_expiry_days",
        "cookie_service_api_key",
        "cookie_service_start",
        "cookie_service_disabled",
        "cookie_service_health_check",
        "cookie_service_health_interval",
        "cookie_service_health_ttl",
        "cookie_service_health_timeout",
        "cookie_service_timeout",
    ];

    /// Cross-field and range checks that serde cannot express.
    fn check(&self) -> Result<(), Invalid> {
        let url = &self.central_cookie_service_url;
        match reqwest::Url::parse(url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
            _ => {
                return Err(Invalid::new(
                    "central_cookie_service_url",
                    url,
                    "an http(s) URL",
                ))
            }
        }
        if self.preferences_cookie_expiry_days == 0 {
            return Err(Invalid::new(
                "preferences_cookie_expiry_days",
                &0,
                "a number of days, at least 1",
            ));
        }
        let at_least_one = [
            (
                "cookie_service_health_interval",
                self.cookie_service_health_interval,
            ),
            (
                "cookie_service_health_timeout",
                self.cookie_service_health_timeout,
            ),
            ("cookie_service_timeout", self.cookie_service_timeout),
        ];
        for (key, value) in at_least_one {
            if value == 0 {
                return Err(Invalid::new(key, &value, "a number of seconds, at least 1"));
            }
        }
        if self.cookie_service_health_ttl < self.cookie_service_health_interval {
            return Err(Invalid::new(
                "cookie_service_health_ttl",
                &self.cookie_service_health_ttl,
                "a number of seconds, at least cookie_service_health_interval",
            ));
        }
        Ok(())
    }
}

/// A key made only of digits arrives from the environment as a number.
fn text_or_number<'de, D: serde::Deserializer<'de>>(de: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Given {
        Text(String),
        Unsigned(u64),
        Signed(i64),
    }
    Ok(match Given::deserialize(de)? {
        Given::Text(text) => text,
        Given::Unsigned(n) => n.to_string(),
        Given::Signed(n) => n.to_string(),
    })
}

/// A value that deserialised but is out of range.
struct Invalid {
    key: &'static str,
    value: String,
    expected: &'static str,
}

impl Invalid {
    fn new(key: &'static str, value: &dyn fmt::Display, expected: &'static str) -> Self {
        Invalid {
            key,
            value: value.to_string(),
            expected,
        }
    }

    /// Turns this into a figment error that also says where the value came
    /// from.
    fn with(self, figment: &Figment) -> figment::Error {
        let kind = figment::error::Kind::InvalidValue(
            figment::error::Actual::Str(self.value),
            self.expected.to_string(),
        );
        let mut error = figment::Error::from(kind).with_path(self.key);
        error.profile = Some(figment.profile().clone());
        error.metadata = figment.find_metadata(self.key).cloned();
        error
    }
}

/// The profile Rocket is running in is a debug one.
pub(crate) fn is_debug(profile: &Profile) -> bool {
    *profile == rocket::Config::DEBUG_PROFILE
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(pairs: &[(&str, &str)]) -> Result<Config, figment::Error> {
        let mut figment = Figment::from(rocket::Config::default());
        for (k, v) in pairs {
            figment = figment.merge((*k, *v));
        }
        Config::from_figment(&figment)
    }

    #[test]
    fn defaults_match_the_original() {
        let config = load(&[]).unwrap();
        assert_eq!(config, Config::default());
        assert_eq!(config.central_base(), PRODUCTION_URL);
        assert_eq!(config.preferences_cookie_expiry_days, 365);
        assert!(config.enabled());
    }

    #[test]
    fn strings_from_env_are_read_loosely() {
        let config = load(&[
            ("cookie_service_start", "no"),
            ("cookie_service_timeout", "4"),
        ]);
        let config = config.unwrap();
        assert!(!config.enabled());
        assert_eq!(config.timeout(), Duration::from_secs(4));
    }

    #[test]
    fn each_bad_value_names_its_key_and_value() {
        let cases = [
            (
                "central_cookie_service_url",
                "ftp://x.example",
                "ftp://x.example",
            ),
            (
                "central_cookie_service_url",
                "cookies.canonical.com",
                "cookies.canonical.com",
            ),
            ("preferences_cookie_expiry_days", "0", "0"),
            ("preferences_cookie_expiry_days", "-3", "-3"),
            ("cookie_service_timeout", "ten", "ten"),
            ("cookie_service_health_interval", "0", "0"),
        ];
        for (key, value, shown) in cases {
            let error = load(&[(key, value)]).unwrap_err().to_string();
            assert!(error.contains(key), "{key}={value}: {error}");
            assert!(error.contains(shown), "{key}={value}: {error}");
        }
    }

    #[test]
    fn an_all_digit_api_key_is_still_text() {
        let figment = Figment::from(rocket::Config::default())
            .merge(("cookie_service_api_key", 1234567890u64));
        let config = Config::from_figment(&figment).unwrap();
        assert_eq!(config.cookie_service_api_key, "1234567890");
    }

    #[test]
    fn ttl_shorter_than_interval_is_refused() {
        let error = load(&[
            ("cookie_service_health_interval", "30"),
            ("cookie_service_health_ttl", "10"),
        ])
        .unwrap_err();
        assert!(error.to_string().contains("cookie_service_health_ttl"));
    }

    #[test]
    fn debug_hides_the_api_key() {
        let config = Config {
            cookie_service_api_key: "s3cret-key".into(),
            ..Config::default()
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains("s3cret-key"));
        assert!(shown.contains("<redacted>"));
    }
}
