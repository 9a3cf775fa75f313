//! The demo: one site, served as two origins, sharing one consent choice.
//!
//! ```sh
//! cargo run --example demo
//! ```
//!
//! Starts a development central service in the same process (unless
//! `CENTRAL_COOKIE_SERVICE_URL` names a real one) and the demo site, then
//! prints where to go: `http://a.localhost:8000` and
//! `http://b.localhost:8000` are two sites to the browser, so a choice made
//! on one showing up on the other is the shared service at work. Honours
//! `ROCKET_PORT`, `ROCKET_ADDRESS`, `ROCKET_SECRET_KEY` and every key of
//! the crate's configuration. With `npm ci` run first, the pages use the
//! real banner script, `@canonical/cookie-policy`.

mod site;

use rocket::fairing::AdHoc;
use rocket_cookie_service::dev::DevCentral;
use rocket_cookie_service::Config;

/// The key the site and the local development central service share.
const DEV_API_KEY: &str = "dev-api-key";

#[rocket::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut figment = rocket::Config::figment();
    let config = Config::from_figment(&figment)?;

    // Without a central service named in the environment, run one here.
    let named = [
        "CENTRAL_COOKIE_SERVICE_URL",
        "ROCKET_CENTRAL_COOKIE_SERVICE_URL",
    ]
    .iter()
    .any(|key| std::env::var_os(key).is_some());
    let central = if named {
        None
    } else {
        let key = match config.cookie_service_api_key.as_str() {
            "" => DEV_API_KEY,
            key => key,
        };
        let central = DevCentral::start(key).await?;
        figment = figment
            .merge(("central_cookie_service_url", central.url()))
            .merge(("cookie_service_api_key", key));
        Some(central)
    };
    let central_url = match &central {
        Some(central) => format!("{} (development, in this process)", central.url()),
        None => config.central_cookie_service_url.clone(),
    };
    let client = if site::bundle_installed() {
        "@canonical/cookie-policy (from node_modules)"
    } else {
        "the demo's own page script (run `npm ci` for the real banner)"
    };

    site::rocket(figment)
        .attach(AdHoc::on_liftoff("Where to go", move |rocket| {
            let port = rocket.config().port;
            Box::pin(async move {
                println!();
                println!("  Central service: {central_url}");
                println!("  Banner script:   {client}");
                println!("  Site A:          http://a.localhost:{port}");
                println!("  Site B:          http://b.localhost:{port}");
                println!();
                println!("  Choose on A, then open B: the choice is already there.");
                println!();
            })
        }))
        .launch()
        .await?;

    if let Some(central) = central {
        central.stop().await;
    }
    Ok(())
}
