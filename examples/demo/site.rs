//! The demo site: two pages, the fairing, and the banner script.
//!
//! Shared by the demo (`main.rs`) and the browser tests, which drive this
//! same site in Chromium.

use std::path::{Path, PathBuf};

use rocket::figment::Figment;
use rocket::fs::NamedFile;
use rocket::{get, routes, Build, Rocket, State};
use rocket_cookie_service::{Category, Consent, CookieConsent, MokaCache};
use rocket_dyn_templates::{context, Template};

/// Where `npm ci` puts the real banner script, `@canonical/cookie-policy`.
pub fn bundle_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("node_modules/@canonical/cookie-policy/build")
}

/// Whether the real banner script is installed; without it the demo uses
/// a page script of its own.
pub fn bundle_installed() -> bool {
    bundle_dir().join("js/cookie-policy.js").is_file()
}

struct Bundle(bool);

#[get("/")]
fn index(consent: Consent, bundle: &State<Bundle>) -> Template {
    page("Home", consent, bundle.0)
}

#[get("/other")]
fn other(consent: Consent, bundle: &State<Bundle>) -> Template {
    page("Another page", consent, bundle.0)
}

#[get("/static/cookie-policy.js")]
async fn script() -> Option<NamedFile> {
    NamedFile::open(bundle_dir().join("js/cookie-policy.js"))
        .await
        .ok()
}

#[get("/static/cookie-policy.css")]
async fn style() -> Option<NamedFile> {
    NamedFile::open(bundle_dir().join("css/cookie-policy.css"))
        .await
        .ok()
}

/// What the server knows of the visitor's consent, and the controls to
/// change it.
fn page(title: &str, consent: Consent, bundle: bool) -> Template {
    Template::render(
        "index",
        context! {
            title,
            bundle,
            consent: consent.as_str(),
            functionality: consent.allows(Category::Functionality),
            performance: consent.allows(Category::Performance),
        },
    )
}

/// The demo site on `figment`, which must name the central service.
pub fn rocket(figment: Figment) -> Rocket<Build> {
    let figment = figment.merge((
        "template_dir",
        concat!(env!("CARGO_MANIFEST_DIR"), "/templates"),
    ));
    rocket::custom(figment)
        .manage(Bundle(bundle_installed()))
        .attach(Template::fairing())
        .attach(CookieConsent::fairing(MokaCache::new()))
        .mount("/", routes![index, other, script, style])
}
