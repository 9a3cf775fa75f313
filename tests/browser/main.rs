//! The real banner script, `@canonical/cookie-policy` 3.10.0, in headless
//! Chromium, against the demo site served as two origins and a development
//! central service.
//!
//! Needs `chromium` and `chromium-driver` (Debian) and `npm ci`; `.ci/run`
//! installs both, and without them these tests fail saying what to install.

#[path = "../../examples/demo/site.rs"]
#[allow(dead_code)]
mod site;

mod harness;

use std::time::Duration;

use fantoccini::Locator;
use harness::{until, World};
use rocket_cookie_service::dev::{Endpoint, Fault};
use rocket_cookie_service::Consent;

const ACCEPT_ALL: Locator<'static> = Locator::Css("#cookie-policy-button-accept-all");

/// Visits `host` for the first time and waits for the round trip through
/// the central service to land back on `path` with a token.
async fn first_visit(world: &World, host: &str, path: &str) {
    let page = world.url(host, path);
    world.browser.goto(&page).await;
    world.browser.until_url(&page).await;
    until("the auth token", || async {
        world.browser.current_url().await == page
            && world.browser.cookie("_cookies_auth_token").await.is_some()
    })
    .await;
}

#[rocket::async_test]
async fn first_visit_round_trips_and_lands_on_its_page() {
    let world = World::new().await;
    world.until_site_sees_central(true).await;
    first_visit(&world, "a", "/other?from=test").await;
    world.browser.until_banner().await;
    assert_eq!(world.central.calls(Endpoint::Session), 1);
    assert_eq!(world.central.calls(Endpoint::Token), 1);
    // The site told the client the central value, which is still unset.
    world
        .browser
        .until_cookie("_cookies_accepted", Some("unset"))
        .await;
    assert!(world
        .browser
        .cookie("_cookies_freshness_ts")
        .await
        .is_some());
    world.close().await;
}

#[rocket::async_test]
async fn accept_all_on_a_applies_on_b() {
    let world = World::new().await;
    world.until_site_sees_central(true).await;
    first_visit(&world, "a", "/").await;
    world.browser.until_banner().await;
    world.browser.click(ACCEPT_ALL).await;
    until("the central service to store all", || async {
        world.only_visitor() == Some(Consent::All)
    })
    .await;
    world
        .browser
        .until_cookie("_cookies_accepted", Some("all"))
        .await;

    first_visit(&world, "b", "/").await;
    world
        .browser
        .until_cookie("_cookies_accepted", Some("all"))
        .await;
    // Give a wrongly shown banner the time to appear.
    rocket::tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(!world.browser.banner_shown().await, "B showed the banner");
    assert_eq!(
        world.central.visitors().len(),
        1,
        "one visitor across sites"
    );
    world.close().await;
}

#[rocket::async_test]
async fn a_change_on_b_reaches_a_once_stale() {
    let world = World::new().await;
    world.until_site_sees_central(true).await;
    first_visit(&world, "a", "/").await;
    world.browser.until_banner().await;
    world.browser.click(ACCEPT_ALL).await;
    world
        .browser
        .until_cookie("_cookies_accepted", Some("all"))
        .await;

    first_visit(&world, "b", "/").await;
    world
        .browser
        .until_cookie("_cookies_accepted", Some("all"))
        .await;
    // Open the manager and turn performance off: functionality remains.
    world
        .browser
        .click(Locator::Css(".js-revoke-cookie-manager"))
        .await;
    world.browser.click(Locator::Css(".js-manage")).await;
    world
        .browser
        .click(Locator::XPath(
            "//input[contains(@class, 'js-performance-switch')]/parent::label",
        ))
        .await;
    world
        .browser
        .click(Locator::Css(".js-save-preferences"))
        .await;
    until("the central service to store functionality", || async {
        world.only_visitor() == Some(Consent::Functionality)
    })
    .await;

    // Back on A, whose copy is fresh: nothing changes yet.
    world.browser.goto(&world.url("a", "/")).await;
    world
        .browser
        .until_cookie("_cookies_accepted", Some("all"))
        .await;
    // Two days later (as far as A's cookie says), A asks again.
    world
        .browser
        .set_cookie("_cookies_freshness_ts", "2020-01-01T00:00:00Z")
        .await;
    world.browser.goto(&world.url("a", "/other")).await;
    world
        .browser
        .until_cookie("_cookies_accepted", Some("functionality"))
        .await;
    world.close().await;
}

#[rocket::async_test]
async fn an_offline_choice_is_pushed_when_central_returns() {
    let world = World::new().await;
    world.until_site_sees_central(true).await;
    first_visit(&world, "a", "/").await;
    world.browser.until_banner().await;

    world.central.set_up(false);
    world.until_site_sees_central(false).await;
    world.browser.goto(&world.url("a", "/other")).await;
    world.browser.until_banner().await;
    world.browser.click(ACCEPT_ALL).await;
    world
        .browser
        .until_cookie("_cookies_set_offline", Some("true"))
        .await;
    world
        .browser
        .until_cookie("_cookies_accepted", Some("all"))
        .await;
    assert_eq!(world.only_visitor(), Some(Consent::Unset));

    world.central.set_up(true);
    world.until_site_sees_central(true).await;
    world.browser.goto(&world.url("a", "/")).await;
    world
        .browser
        .until_cookie("_cookies_set_offline", None)
        .await;
    until("the central service to store all", || async {
        world.only_visitor() == Some(Consent::All)
    })
    .await;
    assert_eq!(
        world.browser.cookie("_cookies_accepted").await.as_deref(),
        Some("all")
    );
    world.close().await;
}

#[rocket::async_test]
async fn a_very_first_choice_made_offline_is_kept() {
    let world = World::with_central(|central| central.set_up(false)).await;
    world.until_site_sees_central(false).await;
    world.browser.goto(&world.url("a", "/")).await;
    world.browser.until_banner().await;
    world.browser.click(ACCEPT_ALL).await;
    world
        .browser
        .until_cookie("_cookies_set_offline", Some("true"))
        .await;
    assert!(world.central.visitors().is_empty());

    world.central.set_up(true);
    world.until_site_sees_central(true).await;
    // No token yet: the next page goes through the central service, then
    // pushes the offline choice.
    first_visit(&world, "a", "/other").await;
    world
        .browser
        .until_cookie("_cookies_set_offline", None)
        .await;
    until("the central service to store all", || async {
        world.only_visitor() == Some(Consent::All)
    })
    .await;
    assert_eq!(
        world.browser.cookie("_cookies_accepted").await.as_deref(),
        Some("all")
    );
    world.close().await;
}

#[rocket::async_test]
async fn a_failed_round_trip_is_not_repeated() {
    let world = World::new().await;
    world.until_site_sees_central(true).await;
    world
        .central
        .set_fault(Endpoint::Session, Some(Fault::Status(500)));
    world.browser.goto(&world.url("a", "/")).await;
    until("the browser to reach the central service", || async {
        world.central.calls(Endpoint::Session) == 1
    })
    .await;

    let page = world.url("a", "/other");
    world.browser.goto(&page).await;
    world.browser.until_banner().await;
    rocket::tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(world.browser.current_url().await, page);
    assert_eq!(world.central.calls(Endpoint::Session), 1);
    assert!(world.browser.cookie("_cookies_auth_token").await.is_none());
    world.close().await;
}

/// The README's picture: the demo with the banner. Regenerate it with
/// `UPDATE_SCREENSHOT=1 cargo test --all-features --test browser screenshot`.
#[rocket::async_test]
async fn screenshot_of_the_demo_with_the_banner() {
    let world = World::new().await;
    world.until_site_sees_central(true).await;
    first_visit(&world, "a", "/").await;
    world.browser.until_banner().await;
    // Let the stylesheet settle.
    rocket::tokio::time::sleep(Duration::from_millis(500)).await;
    let png = world.browser.client.screenshot().await.expect("screenshot");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
    assert!(png.len() > 10_000, "a picture with something in it");
    if std::env::var_os("UPDATE_SCREENSHOT").is_some() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/demo/banner.png");
        std::fs::write(path, &png).expect("write the screenshot");
    }
    world.close().await;
}
