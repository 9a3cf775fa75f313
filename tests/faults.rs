//! Every route against every way the central service can fail: the answer
//! is JSON (or, for the callback, a redirect) with a documented status,
//! arrives within the timeout plus a small margin, nothing panics, and no
//! visitor's choice or offline flag is lost.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Once;
use std::time::{Duration, Instant};

use common::*;
use rocket::http::{ContentType, Cookie, Status};
use rocket::serde::json::json;
use rocket_cookie_service::dev::{Endpoint, Fault};
use rocket_cookie_service::Consent;

/// The site's `cookie_service_timeout` in these tests.
const TIMEOUT: Duration = Duration::from_secs(1);
/// What an answer may take beyond the timeout.
const MARGIN: Duration = Duration::from_millis(700);

static PANICS: AtomicUsize = AtomicUsize::new(0);

/// Counts panics outside the tests' own assertions (Rocket catches a
/// handler's panic and answers 500; the hook still sees it).
fn count_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let in_tests = info
                .location()
                .is_some_and(|l| l.file().starts_with("tests/"));
            if !in_tests {
                PANICS.fetch_add(1, Ordering::SeqCst);
            }
            previous(info);
        }));
    });
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Status500,
    NotFound,
    NotJson,
    WrongShape,
    Slow,
    ClosedMidAnswer,
}

const KINDS: [Kind; 6] = [
    Kind::Status500,
    Kind::NotFound,
    Kind::NotJson,
    Kind::WrongShape,
    Kind::Slow,
    Kind::ClosedMidAnswer,
];

impl Kind {
    fn fault(self) -> Fault {
        match self {
            Kind::Status500 => Fault::Status(500),
            Kind::NotFound => Fault::Status(404),
            Kind::NotJson => Fault::NotJson,
            Kind::WrongShape => Fault::WrongShape,
            Kind::Slow => Fault::Delay(TIMEOUT + Duration::from_millis(1500)),
            Kind::ClosedMidAnswer => Fault::CloseMidAnswer,
        }
    }

    /// The status a JSON route answers when its upstream call fails so.
    fn failure_status(self) -> Status {
        match self {
            Kind::Slow => Status::GatewayTimeout,
            _ => Status::BadGateway,
        }
    }
}

async fn faulty_site() -> Site {
    count_panics();
    Site::with(|f| f.merge(("cookie_service_timeout", TIMEOUT.as_secs()))).await
}

fn within_budget(started: Instant, what: &str) {
    let took = started.elapsed();
    assert!(took < TIMEOUT + MARGIN, "{what}: took {took:?}");
}

fn offline_cookies(token: &Cookie<'static>) -> Vec<Cookie<'static>> {
    vec![
        cookie("_cookies_auth_token", token.value()),
        cookie("_cookies_accepted", "all"),
        cookie("_cookies_set_offline", "true"),
    ]
}

#[rocket::async_test]
async fn init_with_a_stale_visitor() {
    let site = faulty_site().await;
    for kind in KINDS {
        let (_, token) = site.sign_in().await;
        site.central
            .set_fault(Endpoint::ReadPreferences, Some(kind.fault()));
        let started = Instant::now();
        let (status, body, set) = site
            .init(vec![cookie("_cookies_auth_token", token.value())])
            .await;
        within_budget(started, &format!("init/{kind:?}"));
        if kind == Kind::NotFound {
            assert_eq!(status, Status::Ok, "{kind:?}");
            assert_eq!(body["action"], "redirect", "{kind:?}");
            assert!(deletes(&set, "_cookies_auth_token"), "{kind:?}");
        } else {
            assert_eq!(status, kind.failure_status(), "{kind:?}");
            assert!(body["error"].is_string(), "{kind:?}: {body}");
            assert!(find(&set, "_cookies_auth_token").is_none(), "{kind:?}");
        }
        site.central.set_fault(Endpoint::ReadPreferences, None);
    }
    assert_eq!(PANICS.load(Ordering::SeqCst), 0);
}

#[rocket::async_test]
async fn init_syncing_an_offline_choice() {
    let site = faulty_site().await;
    for endpoint in [Endpoint::ReadPreferences, Endpoint::WritePreferences] {
        for kind in KINDS {
            let (user, token) = site.sign_in().await;
            site.central.set_fault(endpoint, Some(kind.fault()));
            let started = Instant::now();
            let (status, body, set) = site.init(offline_cookies(&token)).await;
            let what = format!("{endpoint:?}/{kind:?}");
            within_budget(started, &what);
            site.central.set_fault(endpoint, None);

            // A write needs only a 2xx JSON answer, of any shape.
            if endpoint == Endpoint::WritePreferences && kind == Kind::WrongShape {
                assert_eq!(body["action"], "offline_preferences_synced", "{what}");
                assert!(deletes(&set, "_cookies_set_offline"), "{what}");
                continue;
            }
            // The flag stays: the choice is synced on a later page.
            assert!(find(&set, "_cookies_set_offline").is_none(), "{what}");
            if kind == Kind::NotFound {
                assert_eq!(status, Status::Ok, "{what}");
                assert_eq!(body["action"], "redirect", "{what}");
            } else {
                assert_eq!(status, kind.failure_status(), "{what}");
                assert!(body["error"].is_string(), "{what}: {body}");
                // Once the central service behaves, the same page syncs.
                let (status, body, set) = site.init(offline_cookies(&token)).await;
                assert_eq!(status, Status::Ok, "{what}");
                assert_eq!(body["action"], "offline_preferences_synced", "{what}");
                assert!(deletes(&set, "_cookies_set_offline"), "{what}");
                assert_eq!(site.central.consent_of(user), Some(Consent::All), "{what}");
            }
        }
    }
    assert_eq!(PANICS.load(Ordering::SeqCst), 0);
}

#[rocket::async_test]
async fn callback() {
    let site = faulty_site().await;
    for kind in KINDS {
        site.central.set_fault(Endpoint::Token, Some(kind.fault()));
        let (_, code) = site.central.issue_code();
        let started = Instant::now();
        let response = site
            .get(&format!("/_cookies/callback?code={code}&return_uri=/docs"))
            .dispatch()
            .await;
        within_budget(started, &format!("callback/{kind:?}"));
        assert_eq!(response.status(), Status::Found, "{kind:?}");
        assert_eq!(response.headers().get_one("Location"), Some("/docs"));
        assert!(response.cookies().get("_cookies_auth_token").is_none());
        assert!(response
            .cookies()
            .get("_cookies_redirect_attempted")
            .is_some());
        assert_no_store(&response);
    }
    assert_eq!(PANICS.load(Ordering::SeqCst), 0);
}

#[rocket::async_test]
async fn get_preferences() {
    let site = faulty_site().await;
    for kind in KINDS {
        let (_, token) = site.sign_in().await;
        site.central
            .set_fault(Endpoint::ReadPreferences, Some(kind.fault()));
        let started = Instant::now();
        let response = site
            .get("/_cookies/get-preferences")
            .cookie(cookie("_cookies_auth_token", token.value()))
            .dispatch()
            .await;
        let (status, body, set) = read(response).await;
        within_budget(started, &format!("get-preferences/{kind:?}"));
        site.central.set_fault(Endpoint::ReadPreferences, None);
        let expected = match kind {
            Kind::NotFound => Status::Unauthorized,
            other => other.failure_status(),
        };
        assert_eq!(status, expected, "{kind:?}");
        assert!(body["error"].is_string(), "{kind:?}: {body}");
        assert_eq!(deletes(&set, "_cookies_auth_token"), kind == Kind::NotFound);
    }
    assert_eq!(PANICS.load(Ordering::SeqCst), 0);
}

#[rocket::async_test]
async fn set_preferences() {
    let site = faulty_site().await;
    let body = json!({ "preferences": { "consent": "all" } }).to_string();
    for kind in KINDS {
        let (_, token) = site.sign_in().await;
        site.central
            .set_fault(Endpoint::WritePreferences, Some(kind.fault()));
        let started = Instant::now();
        let response = site
            .post("/_cookies/set-preferences")
            .header(ContentType::JSON)
            .cookie(cookie("_cookies_auth_token", token.value()))
            .body(&body)
            .dispatch()
            .await;
        let (status, answer, _) = read(response).await;
        within_budget(started, &format!("set-preferences/{kind:?}"));
        site.central.set_fault(Endpoint::WritePreferences, None);
        let expected = match kind {
            Kind::NotFound => Status::Unauthorized,
            // A write needs only a 2xx JSON answer, of any shape.
            Kind::WrongShape => Status::Ok,
            other => other.failure_status(),
        };
        assert_eq!(status, expected, "{kind:?}");
        let field = if status == Status::Ok {
            "message"
        } else {
            "error"
        };
        assert!(answer[field].is_string(), "{kind:?}: {answer}");
    }
    assert_eq!(PANICS.load(Ordering::SeqCst), 0);
}

#[rocket::async_test]
async fn a_port_that_refuses() {
    count_panics();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap();
    // The listener is gone: nothing answers on that port.
    let site = Site::with(|f| {
        f.merge((
            "central_cookie_service_url",
            format!("http://127.0.0.1:{closed}"),
        ))
        .merge(("cookie_service_timeout", TIMEOUT.as_secs()))
    })
    .await;
    let (user, code) = site.central.issue_code();
    let response = site
        .get(&format!("/_cookies/callback?code={code}&return_uri=/"))
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::Found);
    assert!(response.cookies().get("_cookies_auth_token").is_none());

    let token = Cookie::new(
        "_cookies_auth_token",
        format!(
            "v1.{user}.{}",
            rocket::time::OffsetDateTime::now_utc().unix_timestamp()
        ),
    );
    let started = Instant::now();
    let mut offline = offline_cookies(&token);
    offline.remove(0);
    let response = site
        .get("/_cookies/init")
        .private_cookie(token.clone())
        .cookies(offline)
        .dispatch()
        .await;
    let (status, body, set) = read(response).await;
    within_budget(started, "init/refused");
    assert_eq!(status, Status::BadGateway);
    assert!(body["error"].is_string());
    assert!(find(&set, "_cookies_set_offline").is_none());

    let response = site
        .get("/_cookies/get-preferences")
        .private_cookie(token.clone())
        .dispatch()
        .await;
    let (status, _, _) = read(response).await;
    assert_eq!(status, Status::BadGateway);

    let response = site
        .post("/_cookies/set-preferences")
        .header(ContentType::JSON)
        .private_cookie(token)
        .body(json!({ "preferences": { "consent": "all" } }).to_string())
        .dispatch()
        .await;
    let (status, body, _) = read(response).await;
    assert_eq!(status, Status::BadGateway);
    assert!(body["error"].is_string());
    assert_eq!(PANICS.load(Ordering::SeqCst), 0);
}

#[rocket::async_test]
async fn a_health_check_against_a_misbehaving_service_counts_as_down() {
    count_panics();
    for kind in KINDS {
        let site = Site::with(|f| {
            f.merge(("cookie_service_health_check", true))
                .merge(("cookie_service_health_interval", 1))
                .merge(("cookie_service_health_ttl", 1))
                .merge(("cookie_service_health_timeout", 1))
        })
        .await;
        let up = eventually(Duration::from_secs(5), || async {
            site.init(vec![]).await.0 == Status::Ok
        })
        .await;
        assert!(up, "{kind:?}: never up");
        site.central.set_fault(Endpoint::Health, Some(kind.fault()));
        // A 200 is up, whatever its body says.
        let healthy_anyway = matches!(
            kind,
            Kind::NotJson | Kind::WrongShape | Kind::ClosedMidAnswer
        );
        let watch = Duration::from_secs(if healthy_anyway { 3 } else { 6 });
        let down = eventually(watch, || async {
            site.init(vec![]).await.0 == Status::ServiceUnavailable
        })
        .await;
        assert_eq!(down, !healthy_anyway, "{kind:?}");
    }
    assert_eq!(PANICS.load(Ordering::SeqCst), 0);
}
