//! Every route of the protocol, through a real site and a development
//! central service on a real socket.

mod common;

use std::time::{Duration, Instant};

use common::*;
use rocket::error::ErrorKind;
use rocket::http::{ContentType, Cookie, Header, SameSite, Status};
use rocket::local::asynchronous::Client;
use rocket::serde::json::{json, Value};
use rocket::time::{Duration as TimeDuration, OffsetDateTime};
use rocket_cookie_service::dev::{Endpoint, Fault};
use rocket_cookie_service::{Config, Consent, CookieConsent, MokaCache};
use uuid::Uuid;

fn token(cookie: &Cookie<'static>) -> Cookie<'static> {
    cookie_of("_cookies_auth_token", cookie.value())
}

fn cookie_of(name: &'static str, value: &str) -> Cookie<'static> {
    Cookie::new(name, value.to_owned())
}

fn ts(t: OffsetDateTime) -> String {
    t.format(&rocket::time::format_description::well_known::Rfc3339)
        .unwrap()
}

// ---- init ---------------------------------------------------------------

#[rocket::async_test]
async fn first_visit_is_redirected_once() {
    let site = Site::new().await;
    let (status, body, set) = site.init(vec![]).await;
    assert_eq!(status, Status::Ok);
    let expected = format!("{}/api/v1/cookies/session?return_uri=", site.central.url());
    assert_eq!(
        body,
        json!({ "action": "redirect", "redirect_url": expected })
    );

    // Fix: init itself marks the attempt, so the next page is left alone.
    let attempted = find(&set, "_cookies_redirect_attempted").expect("attempt marked");
    assert_eq!(attempted.value(), "1");
    assert_eq!(attempted.max_age(), Some(TimeDuration::seconds(300)));
    assert_eq!(attempted.http_only(), Some(true));
    assert_eq!(attempted.same_site(), Some(SameSite::Lax));

    let (status, body, _) = site
        .init(vec![cookie("_cookies_redirect_attempted", "1")])
        .await;
    assert_eq!(status, Status::Ok);
    assert_eq!(body, json!({ "action": "none" }));
}

#[rocket::async_test]
async fn stale_or_missing_consent_is_read_from_the_central_service() {
    let site = Site::new().await;
    let (user, tok) = site.sign_in().await;
    site.central.set_consent(user, Consent::Performance, None);

    let before = OffsetDateTime::now_utc() - TimeDuration::seconds(1);
    let (status, body, _) = site.init(vec![token(&tok)]).await;
    assert_eq!(status, Status::Ok);
    assert_eq!(body["action"], "set_preferences");
    assert_eq!(body["consent"], "performance");
    let fresh = body["cookies_freshness_ts"].as_str().unwrap();
    let fresh = OffsetDateTime::parse(
        fresh,
        &rocket::time::format_description::well_known::Rfc3339,
    )
    .expect("cookies_freshness_ts is RFC 3339");
    assert!(fresh >= before && fresh <= OffsetDateTime::now_utc());

    // Two days old: read again.
    let old = ts(OffsetDateTime::now_utc() - TimeDuration::days(2));
    let cookies = vec![
        token(&tok),
        cookie("_cookies_accepted", "performance"),
        cookie("_cookies_freshness_ts", old),
    ];
    let (_, body, _) = site.init(cookies).await;
    assert_eq!(body["action"], "set_preferences");

    // Unreadable timestamp: read again.
    let cookies = vec![
        token(&tok),
        cookie("_cookies_accepted", "performance"),
        cookie("_cookies_freshness_ts", "yesterday-ish"),
    ];
    let (_, body, _) = site.init(cookies).await;
    assert_eq!(body["action"], "set_preferences");
}

#[rocket::async_test]
async fn fresh_consent_needs_no_upstream_call() {
    let site = Site::new().await;
    let (_, tok) = site.sign_in().await;
    let reads = site.central.calls(Endpoint::ReadPreferences);
    let now = ts(OffsetDateTime::now_utc() - TimeDuration::hours(2));
    let cookies = vec![
        token(&tok),
        cookie("_cookies_accepted", "all"),
        cookie("_cookies_freshness_ts", now),
    ];
    let (status, body, _) = site.init(cookies).await;
    assert_eq!(status, Status::Ok);
    assert_eq!(body, json!({ "action": "none" }));
    assert_eq!(site.central.calls(Endpoint::ReadPreferences), reads);
}

#[rocket::async_test]
async fn a_first_choice_made_offline_is_pushed_upstream() {
    let site = Site::new().await;
    let (user, tok) = site.sign_in().await;
    // A choice made elsewhere, earlier; this site has no timestamp at all.
    site.central
        .set_consent(user, Consent::Essential, Some("2024-01-01T00:00:00Z"));
    let cookies = vec![
        token(&tok),
        cookie("_cookies_accepted", "all"),
        cookie("_cookies_set_offline", "true"),
    ];
    let (status, body, set) = site.init(cookies).await;
    assert_eq!(status, Status::Ok);
    assert_eq!(body, json!({ "action": "offline_preferences_synced" }));
    assert!(deletes(&set, "_cookies_set_offline"));
    assert_eq!(
        find(&set, "_cookies_set_offline").unwrap().path(),
        Some("/")
    );
    assert_eq!(site.central.consent_of(user), Some(Consent::All));
}

#[rocket::async_test]
async fn offline_sync_compares_instants_not_strings() {
    let site = Site::new().await;
    let (user, tok) = site.sign_in().await;
    // 11:00+01:00 is 10:00Z: older than the local 10:30Z, though it sorts
    // after it as a string.
    site.central
        .set_consent(user, Consent::Essential, Some("2024-05-01T11:00:00+01:00"));
    let cookies = vec![
        token(&tok),
        cookie("_cookies_accepted", "functionality"),
        cookie("_cookies_freshness_ts", "2024-05-01T10:30:00Z"),
        cookie("_cookies_set_offline", "true"),
    ];
    let (_, body, _) = site.init(cookies).await;
    assert_eq!(body["action"], "offline_preferences_synced");
    assert_eq!(site.central.consent_of(user), Some(Consent::Functionality));
}

#[rocket::async_test]
async fn a_newer_central_choice_beats_an_older_offline_one() {
    let site = Site::new().await;
    let (user, tok) = site.sign_in().await;
    site.central
        .set_consent(user, Consent::Essential, Some("2024-05-02T00:00:00Z"));
    let cookies = vec![
        token(&tok),
        cookie("_cookies_accepted", "all"),
        cookie("_cookies_freshness_ts", "2024-05-01T10:30:00Z"),
        cookie("_cookies_set_offline", "true"),
    ];
    let (_, body, set) = site.init(cookies).await;
    assert_eq!(body["action"], "set_preferences");
    assert_eq!(body["consent"], "essential");
    assert!(deletes(&set, "_cookies_set_offline"));
    assert_eq!(site.central.consent_of(user), Some(Consent::Essential));
}

#[rocket::async_test]
async fn a_site_choice_is_not_overwritten_by_unset() {
    let site = Site::new().await;
    let (user, tok) = site.sign_in().await;
    let cookies = vec![token(&tok), cookie("_cookies_accepted", "performance")];
    let (_, body, _) = site.init(cookies).await;
    assert_eq!(body["action"], "set_preferences");
    assert_eq!(body["consent"], "performance");
    assert_eq!(site.central.consent_of(user), Some(Consent::Performance));
}

#[rocket::async_test]
async fn upstream_failure_in_init_is_json_and_keeps_the_offline_choice() {
    let site = Site::new().await;
    let (_, tok) = site.sign_in().await;
    let cookies = || {
        vec![
            token(&tok),
            cookie("_cookies_accepted", "all"),
            cookie("_cookies_set_offline", "true"),
        ]
    };
    for (fault, expected) in [
        (Fault::Status(500), Status::BadGateway),
        (Fault::NotJson, Status::BadGateway),
        (Fault::WrongShape, Status::BadGateway),
        (Fault::Delay(Duration::from_secs(4)), Status::GatewayTimeout),
    ] {
        site.central
            .set_fault(Endpoint::ReadPreferences, Some(fault));
        let started = Instant::now();
        let (status, body, set) = site.init(cookies()).await;
        assert_eq!(status, expected, "{fault:?}");
        assert!(body["error"].is_string(), "{fault:?}: {body}");
        assert!(find(&set, "_cookies_set_offline").is_none(), "{fault:?}");
        // The site's timeout is 2 s.
        assert!(started.elapsed() < Duration::from_secs(3), "{fault:?}");
    }
    // The write failing keeps the flag too.
    site.central.set_fault(Endpoint::ReadPreferences, None);
    site.central
        .set_fault(Endpoint::WritePreferences, Some(Fault::Status(500)));
    let (status, _, set) = site.init(cookies()).await;
    assert_eq!(status, Status::BadGateway);
    assert!(find(&set, "_cookies_set_offline").is_none());
}

#[rocket::async_test]
async fn an_unknown_visitor_loses_the_token_and_is_redirected() {
    let site = Site::new().await;
    let (user, tok) = site.sign_in().await;
    site.central.forget(user);
    let (status, body, set) = site.init(vec![token(&tok)]).await;
    assert_eq!(status, Status::Ok);
    assert_eq!(body["action"], "redirect");
    assert!(deletes(&set, "_cookies_auth_token"));
}

#[rocket::async_test]
async fn tampered_foreign_and_expired_tokens_count_as_none() {
    let site = Site::new().await;
    let (user, tok) = site.sign_in().await;

    let mut tampered = tok.value().to_owned().into_bytes();
    let last = tampered.len() - 3;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let (_, body, _) = site
        .init(vec![cookie("_cookies_auth_token", tampered)])
        .await;
    assert_eq!(body["action"], "redirect");

    // The same token, sealed by a site with another secret key.
    let other =
        Site::with(|f| f.merge(("secret_key", "8Xui8SN4mI+7egV/9dlfYYLGQJeEx4+DwmSQLwDVXJg=")))
            .await;
    let (_, body, _) = other.init(vec![token(&tok)]).await;
    assert_eq!(body["action"], "redirect");

    // Sealed with the right key but issued 366 days ago.
    let issued = (OffsetDateTime::now_utc() - TimeDuration::days(366)).unix_timestamp();
    let old = Cookie::new("_cookies_auth_token", format!("v1.{user}.{issued}"));
    let response = site
        .get("/_cookies/init")
        .private_cookie(old)
        .dispatch()
        .await;
    let (_, body, _) = read(response).await;
    assert_eq!(body["action"], "redirect");

    // And 364 days ago is still good.
    let issued = (OffsetDateTime::now_utc() - TimeDuration::days(364)).unix_timestamp();
    let recent = Cookie::new("_cookies_auth_token", format!("v1.{user}.{issued}"));
    let response = site
        .get("/_cookies/init")
        .private_cookie(recent)
        .dispatch()
        .await;
    let (_, body, _) = read(response).await;
    assert_eq!(body["action"], "set_preferences");
}

#[rocket::async_test]
async fn health_down_and_back_up() {
    let site = Site::with(|f| {
        f.merge(("cookie_service_health_check", true))
            .merge(("cookie_service_health_interval", 1))
            .merge(("cookie_service_health_ttl", 1))
            .merge(("cookie_service_health_timeout", 1))
    })
    .await;
    let status = || async { site.init(vec![]).await.0 };
    assert!(
        eventually(Duration::from_secs(5), || async {
            status().await == Status::Ok
        })
        .await
    );

    site.central.set_up(false);
    assert!(
        eventually(Duration::from_secs(5), || async {
            status().await == Status::ServiceUnavailable
        })
        .await
    );
    let (_, body, _) = site.init(vec![]).await;
    assert_eq!(body, json!({ "error": "Cookie service not available" }));

    site.central.set_up(true);
    assert!(
        eventually(Duration::from_secs(5), || async {
            status().await == Status::Ok
        })
        .await
    );
}

#[rocket::async_test]
async fn a_hanging_health_check_counts_as_down() {
    let site = Site::with(|f| {
        f.merge(("cookie_service_health_check", true))
            .merge(("cookie_service_health_interval", 1))
            .merge(("cookie_service_health_ttl", 2))
            .merge(("cookie_service_health_timeout", 1))
    })
    .await;
    site.central.set_fault(
        Endpoint::Health,
        Some(Fault::Delay(Duration::from_secs(30))),
    );
    // Nothing was ever recorded up: 503, answered at once.
    rocket::tokio::time::sleep(Duration::from_millis(1500)).await;
    let started = Instant::now();
    let (status, _, _) = site.init(vec![]).await;
    assert_eq!(status, Status::ServiceUnavailable);
    assert!(started.elapsed() < Duration::from_millis(500));
}

// ---- callback -----------------------------------------------------------

#[rocket::async_test]
async fn callback_sets_the_token_and_lands_on_the_page_it_came_from() {
    let site = Site::new().await;
    let (user, code) = site.central.issue_code();
    let page = "http://a.localhost:8000/docs/page?x=1#part";
    let response = site
        .get(&format!(
            "/_cookies/callback?code={code}&return_uri={}",
            urlencode(page)
        ))
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::Found);
    assert_no_store(&response);
    assert_eq!(response.headers().get_one("Location"), Some(page));
    let jar = response.cookies();
    let sealed = jar.get("_cookies_auth_token").expect("token cookie");
    assert_eq!(sealed.http_only(), Some(true));
    assert_eq!(sealed.same_site(), Some(SameSite::Lax));
    assert_eq!(sealed.max_age(), Some(TimeDuration::days(365)));
    assert!(
        !sealed.value().contains(&user.to_string()),
        "the id is sealed"
    );
    let opened = jar.get_private("_cookies_auth_token").expect("opens");
    assert!(opened.value().contains(&user.to_string()));
    let attempted = jar
        .get("_cookies_redirect_attempted")
        .expect("attempt marked");
    assert_eq!(attempted.max_age(), Some(TimeDuration::seconds(300)));

    // The code was single-use: a replay gets no token.
    let response = site
        .get(&format!("/_cookies/callback?code={code}&return_uri=/"))
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::Found);
    assert!(response.cookies().get("_cookies_auth_token").is_none());
}

#[rocket::async_test]
async fn outside_debug_the_token_is_secure() {
    let site = Site::with(|f| f.select("release")).await;
    let (_, code) = site.central.issue_code();
    let response = site
        .get(&format!("/_cookies/callback?code={code}&return_uri=/"))
        .dispatch()
        .await;
    let jar = response.cookies();
    assert_eq!(jar.get("_cookies_auth_token").unwrap().secure(), Some(true));
    assert_eq!(
        jar.get("_cookies_redirect_attempted").unwrap().secure(),
        Some(true)
    );

    let site = Site::new().await;
    let (_, token) = site.sign_in().await;
    assert_ne!(token.secure(), Some(true), "debug serves plain http");
}

#[rocket::async_test]
async fn callback_without_a_good_code_redirects_without_a_token() {
    let site = Site::new().await;
    let long = "x".repeat(600);
    let exchanges = site.central.calls(Endpoint::Token);
    for query in [
        "return_uri=/docs".to_owned(),
        "code=&return_uri=/docs".to_owned(),
        "code=no-such-code&return_uri=/docs".to_owned(),
        format!("code={long}&return_uri=/docs"),
        "code=a%20b&return_uri=/docs".to_owned(),
    ] {
        let response = site
            .get(&format!("/_cookies/callback?{query}"))
            .dispatch()
            .await;
        assert_eq!(response.status(), Status::Found, "{query}");
        assert_eq!(
            response.headers().get_one("Location"),
            Some("/docs"),
            "{query}"
        );
        assert!(
            response.cookies().get("_cookies_auth_token").is_none(),
            "{query}"
        );
        assert!(response
            .cookies()
            .get("_cookies_redirect_attempted")
            .is_some());
    }
    // Only the plausible unknown code went upstream.
    assert_eq!(site.central.calls(Endpoint::Token), exchanges + 1);
}

#[rocket::async_test]
async fn callback_refuses_an_id_that_is_not_a_uuid() {
    let site = Site::new().await;
    site.central.set_fault(
        Endpoint::Token,
        Some(Fault::Answer(200, r#"{"user_uuid": "../../admin"}"#)),
    );
    let (_, code) = site.central.issue_code();
    let response = site
        .get(&format!("/_cookies/callback?code={code}&return_uri=/"))
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::Found);
    assert!(response.cookies().get("_cookies_auth_token").is_none());
}

#[rocket::async_test]
async fn callback_never_redirects_off_site() {
    let site = Site::new().await;
    for evil in [
        "/\\evil.example",
        "//evil.example",
        "http://evil.example/",
        "https:evil.example",
        "/\t/evil.example",
        "http://a.localhost:8000@evil.example/",
        "javascript:alert(1)",
    ] {
        let response = site
            .get(&format!(
                "/_cookies/callback?return_uri={}",
                urlencode(evil)
            ))
            .dispatch()
            .await;
        assert_eq!(response.status(), Status::Found);
        assert_eq!(
            response.headers().get_one("Location"),
            Some("/"),
            "{evil:?}"
        );
    }
}

// ---- get-preferences ----------------------------------------------------

#[rocket::async_test]
async fn get_preferences() {
    let site = Site::new().await;
    let response = site.get("/_cookies/get-preferences").dispatch().await;
    let (status, body, _) = read(response).await;
    assert_eq!(status, Status::Unauthorized);
    assert_eq!(body, json!({ "error": "Not authenticated" }));

    let (user, tok) = site.sign_in().await;
    site.central
        .set_consent(user, Consent::Functionality, Some("2024-05-01T10:00:00Z"));
    let response = site
        .get("/_cookies/get-preferences")
        .cookie(token(&tok))
        .dispatch()
        .await;
    let (status, body, _) = read(response).await;
    assert_eq!(status, Status::Ok);
    assert_eq!(
        body,
        json!({ "preferences": { "consent": "functionality" }, "updated_at": "2024-05-01T10:00:00Z" })
    );
}

#[rocket::async_test]
async fn get_preferences_upstream_failure_is_a_json_5xx() {
    let site = Site::new().await;
    let (user, tok) = site.sign_in().await;
    site.central
        .set_fault(Endpoint::ReadPreferences, Some(Fault::Status(500)));
    let response = site
        .get("/_cookies/get-preferences")
        .cookie(token(&tok))
        .dispatch()
        .await;
    let (status, body, _) = read(response).await;
    assert_eq!(status, Status::BadGateway);
    assert!(body["error"].is_string());

    site.central.set_fault(Endpoint::ReadPreferences, None);
    site.central.forget(user);
    let response = site
        .get("/_cookies/get-preferences")
        .cookie(token(&tok))
        .dispatch()
        .await;
    let (status, _, set) = read(response).await;
    assert_eq!(status, Status::Unauthorized);
    assert!(deletes(&set, "_cookies_auth_token"));
}

// ---- set-preferences ----------------------------------------------------

async fn post_preferences(
    site: &Site,
    cookies: Vec<Cookie<'static>>,
    content_type: Option<ContentType>,
    body: String,
    headers: Vec<Header<'static>>,
) -> (Status, Value) {
    let mut request = site
        .post("/_cookies/set-preferences")
        .cookies(cookies)
        .body(body);
    if let Some(ct) = content_type {
        request = request.header(ct);
    }
    for header in headers {
        request = request.header(header);
    }
    let (status, body, _) = read(request.dispatch().await).await;
    (status, body)
}

#[rocket::async_test]
async fn set_preferences_saves_a_valid_choice() {
    let site = Site::new().await;
    let (user, tok) = site.sign_in().await;
    let body = json!({ "preferences": { "consent": "performance" } }).to_string();
    let (status, answer) = post_preferences(
        &site,
        vec![token(&tok)],
        Some(ContentType::JSON),
        body,
        vec![Header::new("Sec-Fetch-Site", "same-origin")],
    )
    .await;
    assert_eq!(status, Status::Ok);
    assert_eq!(answer["message"], "Preferences saved");
    assert!(answer["cookies_freshness_ts"].is_string());
    assert_eq!(site.central.consent_of(user), Some(Consent::Performance));
}

#[rocket::async_test]
async fn set_preferences_refuses_bad_requests_and_sends_nothing() {
    let site = Site::new().await;
    let (user, tok) = site.sign_in().await;
    let good = json!({ "preferences": { "consent": "all" } }).to_string();
    let json = Some(ContentType::JSON);
    type Case = (
        &'static str,
        Vec<Cookie<'static>>,
        Option<ContentType>,
        String,
        Vec<Header<'static>>,
        Status,
    );
    let cases: Vec<Case> = vec![
        (
            "no token",
            vec![],
            json.clone(),
            good.clone(),
            vec![],
            Status::Unauthorized,
        ),
        (
            "not JSON",
            vec![token(&tok)],
            Some(ContentType::Form),
            "preferences=all".into(),
            vec![],
            Status::UnsupportedMediaType,
        ),
        (
            "no type",
            vec![token(&tok)],
            None,
            good.clone(),
            vec![],
            Status::UnsupportedMediaType,
        ),
        (
            "too big",
            vec![token(&tok)],
            json.clone(),
            format!("{{\"pad\": \"{}\"}}", "x".repeat(4096)),
            vec![],
            Status::PayloadTooLarge,
        ),
        (
            "malformed",
            vec![token(&tok)],
            json.clone(),
            "{\"preferences\":".into(),
            vec![],
            Status::BadRequest,
        ),
        (
            "bad value",
            vec![token(&tok)],
            json.clone(),
            json!({ "preferences": { "consent": "everything" } }).to_string(),
            vec![],
            Status::UnprocessableEntity,
        ),
        (
            "bad type",
            vec![token(&tok)],
            json.clone(),
            json!({ "preferences": { "consent": 1 } }).to_string(),
            vec![],
            Status::UnprocessableEntity,
        ),
        (
            "bad shape",
            vec![token(&tok)],
            json.clone(),
            json!({ "consent": "all" }).to_string(),
            vec![],
            Status::UnprocessableEntity,
        ),
        (
            "cross-site",
            vec![token(&tok)],
            json.clone(),
            good.clone(),
            vec![Header::new("Sec-Fetch-Site", "cross-site")],
            Status::Forbidden,
        ),
        (
            "foreign origin",
            vec![token(&tok)],
            json.clone(),
            good.clone(),
            vec![Header::new("Origin", "http://evil.example")],
            Status::Forbidden,
        ),
    ];
    let writes = site.central.calls(Endpoint::WritePreferences);
    for (name, cookies, ct, body, headers, expected) in cases {
        let (status, answer) = post_preferences(&site, cookies, ct, body, headers).await;
        assert_eq!(status, expected, "{name}");
        assert!(answer["error"].is_string(), "{name}: {answer}");
    }
    assert_eq!(site.central.calls(Endpoint::WritePreferences), writes);
    assert_eq!(site.central.consent_of(user), Some(Consent::Unset));
}

#[rocket::async_test]
async fn set_preferences_upstream_failure_is_a_json_5xx() {
    let site = Site::new().await;
    let (_, tok) = site.sign_in().await;
    site.central
        .set_fault(Endpoint::WritePreferences, Some(Fault::Status(503)));
    let body = json!({ "preferences": { "consent": "all" } }).to_string();
    let (status, answer) = post_preferences(
        &site,
        vec![token(&tok)],
        Some(ContentType::JSON),
        body,
        vec![],
    )
    .await;
    assert_eq!(status, Status::BadGateway);
    assert!(answer["error"].is_string());
}

// ---- ignition -----------------------------------------------------------

async fn ignite(pairs: &[(&str, &str)]) -> Result<(), Vec<String>> {
    let mut figment = rocket::Config::figment().merge(("log_level", "off"));
    for (key, value) in pairs {
        figment = figment.merge((*key, *value));
    }
    let rocket = rocket::custom(figment).attach(CookieConsent::fairing(MokaCache::new()));
    match rocket.ignite().await {
        Ok(_) => Ok(()),
        Err(e) => match e.kind() {
            ErrorKind::FailedFairings(failed) => {
                Err(failed.iter().map(|f| f.name.to_string()).collect())
            }
            other => panic!("unexpected error: {other:?}"),
        },
    }
}

#[rocket::async_test]
async fn bad_config_fails_the_fairing_at_ignition() {
    for (key, value) in [
        ("central_cookie_service_url", "not a url"),
        ("central_cookie_service_url", "ftp://cookies.canonical.com"),
        ("preferences_cookie_expiry_days", "0"),
        ("cookie_service_health_interval", "often"),
        ("cookie_service_api_key", "bad\nkey"),
    ] {
        let failed = ignite(&[(key, value)]).await.expect_err(key);
        assert_eq!(failed, vec!["Cookie Consent".to_owned()], "{key}");
    }
    ignite(&[]).await.expect("defaults ignite");
}

#[rocket::async_test]
async fn disabled_attaches_nothing() {
    let figment = rocket::Config::figment()
        .merge(("log_level", "off"))
        .merge(("cookie_service_start", false));
    let rocket = rocket::custom(figment).attach(CookieConsent::fairing(MokaCache::new()));
    let client = Client::untracked(rocket).await.unwrap();
    assert!(client.rocket().routes().next().is_none());
    assert!(client.rocket().state::<Config>().is_none());
}

// ---- everything under /_cookies ----------------------------------------

#[rocket::async_test]
async fn unknown_paths_under_the_base_are_json_and_not_stored() {
    let site = Site::new().await;
    let (status, body, _) = read(site.get("/_cookies/nope").dispatch().await).await;
    assert_eq!(status, Status::NotFound);
    assert!(body["error"].is_string());
}

#[rocket::async_test]
async fn reads_are_coalesced_and_writes_invalidate_them() {
    let site = Site::new().await;
    let (user, tok) = site.sign_in().await;
    let before = site.central.calls(Endpoint::ReadPreferences);
    let loads = (0..64).map(|_| site.init(vec![token(&tok)]));
    let answers = futures_join_all(loads).await;
    assert!(answers
        .iter()
        .all(|(status, body, _)| *status == Status::Ok && body["action"] == "set_preferences"));
    assert_eq!(site.central.calls(Endpoint::ReadPreferences), before + 1);

    let body = json!({ "preferences": { "consent": "all" } }).to_string();
    post_preferences(
        &site,
        vec![token(&tok)],
        Some(ContentType::JSON),
        body,
        vec![],
    )
    .await;
    let (_, answer, _) = site.init(vec![token(&tok)]).await;
    assert_eq!(answer["consent"], "all");
    assert_eq!(site.central.consent_of(user), Some(Consent::All));
}

async fn futures_join_all<F: std::future::Future>(
    futures: impl Iterator<Item = F>,
) -> Vec<F::Output> {
    rocket::futures::future::join_all(futures).await
}

#[rocket::async_test]
async fn the_consent_guard_reads_the_banner_cookie() {
    use rocket_cookie_service::Category;

    #[rocket::get("/tags")]
    fn tags(consent: Consent) -> String {
        format!(
            "{consent} functionality={} performance={}",
            consent.allows(Category::Functionality),
            consent.allows(Category::Performance)
        )
    }

    let central = central().await;
    let rocket = rocket::custom(figment(&central))
        .attach(rocket_cookie_service::CookieConsent::fairing(
            rocket_cookie_service::MokaCache::new(),
        ))
        .mount("/", rocket::routes![tags]);
    let client = rocket::local::asynchronous::Client::untracked(rocket)
        .await
        .unwrap();
    for (cookie_value, expected) in [
        (
            Some("performance"),
            "performance functionality=false performance=true",
        ),
        (Some("all"), "all functionality=true performance=true"),
        (Some("bogus"), "unset functionality=false performance=false"),
        (None, "unset functionality=false performance=false"),
    ] {
        let mut request = client.get("/tags");
        if let Some(v) = cookie_value {
            request = request.cookie(Cookie::new("_cookies_accepted", v));
        }
        let response = request.dispatch().await;
        // Routes outside the base are left alone.
        assert!(response.headers().get_one("Pragma").is_none());
        assert_eq!(response.into_string().await.unwrap(), expected);
    }
    let _ = Uuid::nil();
}
