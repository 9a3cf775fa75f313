//! Configuration from Rocket.toml per profile and the environment. These
//! tests change the process's environment (inside `Jail`, one at a time),
//! so nothing else runs in this binary.

// `Jail` closures return figment's own (large) error type.
#![allow(clippy::result_large_err)]

use rocket::figment::Jail;
use rocket_cookie_service::Config;

fn load() -> Config {
    Config::from_figment(&rocket::Config::figment()).expect("valid config")
}

#[test]
fn rocket_toml_per_profile_then_env() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "Rocket.toml",
            r#"
            [default]
            central_cookie_service_url = "https://cookies.staging.canonical.com"
            cookie_service_timeout = 7

            [release]
            central_cookie_service_url = "https://cookies.canonical.com"
            "#,
        )?;
        let config = load();
        assert_eq!(
            config.central_cookie_service_url,
            "https://cookies.staging.canonical.com"
        );
        assert_eq!(config.cookie_service_timeout, 7);

        jail.set_env("ROCKET_PROFILE", "release");
        assert_eq!(
            load().central_cookie_service_url,
            "https://cookies.canonical.com"
        );

        // The original's plain names beat the file...
        jail.set_env("CENTRAL_COOKIE_SERVICE_URL", "http://127.0.0.1:9");
        jail.set_env("COOKIE_SERVICE_API_KEY", "plain-key");
        jail.set_env("PREFERENCES_COOKIE_EXPIRY_DAYS", "30");
        let config = load();
        assert_eq!(config.central_cookie_service_url, "http://127.0.0.1:9");
        assert_eq!(config.cookie_service_api_key, "plain-key");
        assert_eq!(config.preferences_cookie_expiry_days, 30);

        // ...and Rocket's own prefix beats them.
        jail.set_env("ROCKET_COOKIE_SERVICE_API_KEY", "rocket-key");
        assert_eq!(load().cookie_service_api_key, "rocket-key");
        Ok(())
    });
}

#[test]
fn the_original_switches() {
    Jail::expect_with(|jail| {
        assert!(load().enabled());
        jail.set_env("COOKIE_SERVICE_START", "false");
        assert!(!load().enabled());
        jail.set_env("COOKIE_SERVICE_START", "true");
        jail.set_env("COOKIE_SERVICE_DISABLED", "true");
        assert!(!load().enabled());
        Ok(())
    });
}

#[test]
fn bad_env_values_name_key_value_and_source() {
    Jail::expect_with(|jail| {
        jail.set_env("PREFERENCES_COOKIE_EXPIRY_DAYS", "-5");
        let error = Config::from_figment(&rocket::Config::figment())
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("\"PREFERENCES_COOKIE_EXPIRY_DAYS\""),
            "{error}"
        );
        assert!(error.contains("`-5`"), "{error}");
        assert!(error.contains("environment variable"), "{error}");
        Ok(())
    });
    Jail::expect_with(|jail| {
        jail.set_env("ROCKET_COOKIE_SERVICE_TIMEOUT", "soon");
        let error = Config::from_figment(&rocket::Config::figment())
            .unwrap_err()
            .to_string();
        assert!(error.contains("\"COOKIE_SERVICE_TIMEOUT\""), "{error}");
        assert!(error.contains("\"soon\""), "{error}");
        assert!(error.contains("`ROCKET_` environment variable"), "{error}");
        Ok(())
    });
}
