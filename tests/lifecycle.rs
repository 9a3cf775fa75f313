//! The site on a real socket: shutting down while requests and the health
//! check are in flight, and concurrent page loads of one visitor.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rocket::tokio::time::timeout;
use rocket_cookie_service::dev::{serve, DevCentral, Endpoint, Fault, Running};
use rocket_cookie_service::{CookieConsent, MokaCache};

const API_KEY: &str = "lifecycle-key";

static PANICS: AtomicUsize = AtomicUsize::new(0);

async fn site(central: &DevCentral) -> Running {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICS.fetch_add(1, Ordering::SeqCst);
        previous(info);
    }));
    let figment = rocket::Config::figment()
        .merge(("port", 0))
        .merge(("log_level", "off"))
        .merge(("shutdown.grace", 1))
        .merge(("shutdown.mercy", 1))
        .merge(("shutdown.ctrlc", false))
        .merge(("central_cookie_service_url", central.url()))
        .merge(("cookie_service_api_key", API_KEY))
        .merge(("cookie_service_health_interval", 1))
        .merge(("cookie_service_health_ttl", 60))
        .merge(("cookie_service_health_timeout", 30))
        .merge(("cookie_service_timeout", 10));
    let rocket = rocket::custom(figment).attach(CookieConsent::fairing(MokaCache::new()));
    serve(rocket).await.expect("site starts")
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn until_up(http: &reqwest::Client, site: &Running) {
    let init = format!("{}/_cookies/init", site.url());
    for _ in 0..100 {
        if http
            .get(&init)
            .send()
            .await
            .is_ok_and(|a| a.status() == 200)
        {
            return;
        }
        rocket::tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the site never saw the central service up");
}

#[rocket::async_test]
async fn shutdown_with_requests_and_a_health_ping_in_flight() {
    let central = DevCentral::start(API_KEY).await.unwrap();
    let site = site(&central).await;
    let http = http();
    until_up(&http, &site).await;
    let token = central.sign_in(site.url()).await.expect("signed in");

    // The next health ping hangs, and so does every consent read.
    central.set_fault(
        Endpoint::Health,
        Some(Fault::Delay(Duration::from_secs(30))),
    );
    central.set_fault(
        Endpoint::ReadPreferences,
        Some(Fault::Delay(Duration::from_secs(8))),
    );
    rocket::tokio::time::sleep(Duration::from_millis(1200)).await;
    let init = format!("{}/_cookies/init", site.url());
    let loads: Vec<_> = (0..32)
        .map(|_| {
            let request = http.get(&init).header("Cookie", &token).send();
            rocket::tokio::spawn(request)
        })
        .collect();
    rocket::tokio::time::sleep(Duration::from_millis(300)).await;

    let started = Instant::now();
    timeout(Duration::from_secs(10), site.stop())
        .await
        .expect("shutdown finishes");
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
    for load in loads {
        // Each request ends, answered or cut off; none hangs.
        let _answered_or_cut_off = timeout(Duration::from_secs(5), load)
            .await
            .expect("request ends")
            .expect("request task");
    }
    assert_eq!(PANICS.load(Ordering::SeqCst), 0);
    central.stop().await;
}

#[rocket::async_test]
async fn concurrent_page_loads_of_a_stale_visitor_read_once() {
    let central = DevCentral::start(API_KEY).await.unwrap();
    let site = site(&central).await;
    let http = http();
    until_up(&http, &site).await;
    let token = central.sign_in(site.url()).await.expect("signed in");
    central.set_fault(
        Endpoint::ReadPreferences,
        Some(Fault::Delay(Duration::from_millis(300))),
    );

    let reads = central.calls(Endpoint::ReadPreferences);
    let init = format!("{}/_cookies/init", site.url());
    let loads = (0..64).map(|_| http.get(&init).header("Cookie", &token).send());
    let answers = rocket::futures::future::join_all(loads).await;
    for answer in answers {
        let body: rocket::serde::json::Value = answer.unwrap().json().await.unwrap();
        assert_eq!(body["action"], "set_preferences");
    }
    assert_eq!(central.calls(Endpoint::ReadPreferences), reads + 1);
    site.stop().await;
    central.stop().await;
}
