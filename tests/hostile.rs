//! Hostile input through the real routes: cookies, return URIs and request
//! bodies built to break the site or to move a visitor elsewhere.

mod common;

use common::*;
use rocket::http::{ContentType, Header, Status};
use rocket::serde::json::json;
use rocket_cookie_service::dev::Endpoint;
use rocket_cookie_service::Consent;

#[rocket::async_test]
async fn oversized_and_malformed_cookies_read_as_missing() {
    let site = Site::new().await;
    let (user, token) = site.sign_in().await;
    site.central.set_consent(user, Consent::Essential, None);
    let token = cookie("_cookies_auth_token", token.value());
    let huge = "a".repeat(16 * 1024);
    let cases = [
        ("huge consent", cookie("_cookies_accepted", huge.clone())),
        (
            "huge timestamp",
            cookie("_cookies_freshness_ts", huge.clone()),
        ),
        (
            "bad offset",
            cookie("_cookies_freshness_ts", "2024-05-01T10:00:00+99:99"),
        ),
        (
            "bad date",
            cookie("_cookies_freshness_ts", "2024-02-30T10:00:00Z"),
        ),
        ("control chars", cookie("_cookies_accepted", "all\u{1}")),
        ("upper case", cookie("_cookies_accepted", "ALL")),
    ];
    for (name, bad) in cases {
        let (status, body, _) = site.init(vec![token.clone(), bad]).await;
        assert_eq!(status, Status::Ok, "{name}");
        // Unreadable local state: ask the central service again.
        assert_eq!(body["action"], "set_preferences", "{name}");
        assert_eq!(body["consent"], "essential", "{name}");
    }

    // A huge or garbled token is no token.
    for bad in [huge.as_str(), "%%%", "v1.", "\u{7f}"] {
        let (status, body, _) = site.init(vec![cookie("_cookies_auth_token", bad)]).await;
        assert_eq!(status, Status::Ok);
        assert_eq!(body["action"], "redirect");
    }
}

#[rocket::async_test]
async fn encoded_and_look_alike_return_uris_stay_on_site() {
    let site = Site::new().await;
    let cases = [
        // Percent-encoded slashes are a path on this site, not a host.
        ("%2F%2Fevil.example", "/%2F%2Fevil.example"),
        ("/%2F%2Fevil.example", "/%2F%2Fevil.example"),
        ("/%5Cevil.example", "/%5Cevil.example"),
        // Look-alike slashes are no slashes to a browser: a path here too.
        ("/\u{2215}evil.example", "/%E2%88%95evil.example"),
        ("/\u{ff0f}evil.example", "/%EF%BC%8Fevil.example"),
        // Tabs and newlines are dropped by browsers, and so here.
        ("/\tdocs\n", "/docs"),
        ("/docs?next=//evil.example", "/docs?next=//evil.example"),
        // A backslash is a path separator to a browser: this is this site.
        (
            "https://a.localhost:8000\\@evil.example/",
            "https://a.localhost:8000/@evil.example/",
        ),
    ];
    for (uri, expected) in cases {
        let query = format!("return_uri={}", urlencode(uri));
        let response = site
            .get(&format!("/_cookies/callback?{query}"))
            .dispatch()
            .await;
        assert_eq!(response.status(), Status::Found, "{uri:?}");
        assert_eq!(
            response.headers().get_one("Location"),
            Some(expected),
            "{uri:?}"
        );
    }
    for uri in [
        "\u{0}//evil.example",
        " \t//evil.example",
        "/\\/evil.example",
        "\\/\\evil.example",
        "http://evil.example%2F@a.localhost:8000/",
        "//a.localhost:8000@evil.example",
        "http://[::ffff:7f00:1]:8000/",
        "http://a.localhost.:8000/",
    ] {
        let query = format!("return_uri={}", urlencode(uri));
        let response = site
            .get(&format!("/_cookies/callback?{query}"))
            .dispatch()
            .await;
        assert_eq!(response.headers().get_one("Location"), Some("/"), "{uri:?}");
    }
}

#[rocket::async_test]
async fn cross_site_form_posts_change_nothing() {
    let site = Site::new().await;
    let (user, token) = site.sign_in().await;
    let token = cookie("_cookies_auth_token", token.value());
    let writes = site.central.calls(Endpoint::WritePreferences);
    let posts = [
        // What a plain HTML form on another site can send.
        (ContentType::Form, "preferences%5Bconsent%5D=all", vec![]),
        (
            ContentType::Plain,
            r#"{"preferences":{"consent":"all"}}"#,
            vec![],
        ),
        (ContentType::FormData, "--x\r\n\r\nall\r\n--x--", vec![]),
        // Even with the right type, a browser's own word that it is
        // cross-site, or a foreign Origin, is refused.
        (
            ContentType::JSON,
            r#"{"preferences":{"consent":"all"}}"#,
            vec![Header::new("Sec-Fetch-Site", "cross-site")],
        ),
        (
            ContentType::JSON,
            r#"{"preferences":{"consent":"all"}}"#,
            vec![Header::new(
                "Origin",
                "http://a.localhost:8000.evil.example",
            )],
        ),
    ];
    for (content_type, body, headers) in posts {
        let mut request = site
            .post("/_cookies/set-preferences")
            .header(content_type.clone())
            .cookie(token.clone())
            .body(body);
        for header in headers {
            request = request.header(header);
        }
        let (status, answer, _) = read(request.dispatch().await).await;
        assert!(
            matches!(status.code, 403 | 415),
            "{content_type}: {status} {answer}"
        );
    }
    assert_eq!(site.central.calls(Endpoint::WritePreferences), writes);
    assert_eq!(site.central.consent_of(user), Some(Consent::Unset));

    // The same request from the site itself goes through.
    let request = site
        .post("/_cookies/set-preferences")
        .header(ContentType::JSON)
        .header(Header::new("Sec-Fetch-Site", "same-origin"))
        .header(Header::new("Origin", "http://a.localhost:8000"))
        .cookie(token)
        .body(json!({ "preferences": { "consent": "all" } }).to_string());
    let (status, _, _) = read(request.dispatch().await).await;
    assert_eq!(status, Status::Ok);
    assert_eq!(site.central.consent_of(user), Some(Consent::All));
}

#[rocket::async_test]
async fn every_wrong_body_is_a_4xx_and_nothing_is_sent() {
    let site = Site::new().await;
    let (user, token) = site.sign_in().await;
    let token = cookie("_cookies_auth_token", token.value());
    let writes = site.central.calls(Endpoint::WritePreferences);
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let bodies = [
        String::new(),
        "null".into(),
        "[]".into(),
        "\"all\"".into(),
        "{}".into(),
        r#"{"preferences": null}"#.into(),
        r#"{"preferences": []}"#.into(),
        r#"{"preferences": {"consent": null}}"#.into(),
        r#"{"preferences": {"consent": ["all"]}}"#.into(),
        r#"{"preferences": {"consent": {"all": true}}}"#.into(),
        r#"{"preferences": {"consent": "all "}}"#.into(),
        r#"{"preferences": {"consent": "all"}"#.into(),
        "\u{feff}{\"preferences\": {\"consent\": \"all\"}}".into(),
        deep,
        format!(
            r#"{{"preferences": {{"consent": "{}"}}}}"#,
            "x".repeat(2000)
        ),
    ];
    for body in bodies {
        let request = site
            .post("/_cookies/set-preferences")
            .header(ContentType::JSON)
            .cookie(token.clone())
            .body(&body);
        let (status, answer, _) = read(request.dispatch().await).await;
        let shown: String = body.chars().take(60).collect();
        assert!(
            status.code >= 400 && status.code < 500,
            "{shown:?}: {status}"
        );
        assert!(answer["error"].is_string(), "{shown:?}");
    }
    assert_eq!(site.central.calls(Endpoint::WritePreferences), writes);
    assert_eq!(site.central.consent_of(user), Some(Consent::Unset));
}
