//! A site with the fairing, talking over real sockets to a development
//! central service.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use rocket::figment::Figment;
use rocket::http::uri::Host;
use rocket::http::{Cookie, Header, Status};
use rocket::local::asynchronous::{Client, LocalRequest, LocalResponse};
use rocket::serde::json::Value;
use rocket_cookie_service::dev::DevCentral;
use rocket_cookie_service::{CookieConsent, MokaCache};
use uuid::Uuid;

pub const API_KEY: &str = "test-api-key";
pub const HOST: &str = "a.localhost:8000";
pub const SECRET: &str = "hPRYyVRiMyxpw5sBB1XeCMN1kFsDCqKvBi2QJxBVHQk=";

pub struct Site {
    pub central: DevCentral,
    pub client: Client,
}

/// The site's figment: the central service, its key, no health check.
pub fn figment(central: &DevCentral) -> Figment {
    rocket::Config::figment()
        .merge(("log_level", "off"))
        .merge(("secret_key", SECRET))
        .merge(("central_cookie_service_url", central.url()))
        .merge(("cookie_service_api_key", API_KEY))
        .merge(("cookie_service_health_check", false))
        .merge(("cookie_service_timeout", 2))
}

pub async fn central() -> DevCentral {
    DevCentral::start(API_KEY)
        .await
        .expect("development central service")
}

pub async fn client(figment: Figment) -> Client {
    let rocket = rocket::custom(figment).attach(CookieConsent::fairing(MokaCache::new()));
    Client::untracked(rocket).await.expect("site ignites")
}

impl Site {
    pub async fn new() -> Site {
        Site::with(|f| f).await
    }

    pub async fn with(tweak: impl FnOnce(Figment) -> Figment) -> Site {
        let central = central().await;
        let client = client(tweak(figment(&central))).await;
        Site { central, client }
    }

    pub fn get(&self, path: &str) -> LocalRequest<'_> {
        on_site(self.client.get(path.to_owned()))
    }

    pub fn post(&self, path: &str) -> LocalRequest<'_> {
        on_site(self.client.post(path.to_owned()))
    }

    /// Runs the callback with a fresh code and returns the visitor and the
    /// sealed token cookie the site set.
    pub async fn sign_in(&self) -> (Uuid, Cookie<'static>) {
        let (user, code) = self.central.issue_code();
        let response = self
            .get(&format!("/_cookies/callback?code={code}&return_uri=/"))
            .dispatch()
            .await;
        assert_eq!(response.status(), Status::Found);
        let token = response
            .cookies()
            .get("_cookies_auth_token")
            .cloned()
            .expect("the callback sets a token");
        (user, token)
    }

    pub async fn init(
        &self,
        cookies: Vec<Cookie<'static>>,
    ) -> (Status, Value, Vec<Cookie<'static>>) {
        let response = self.get("/_cookies/init").cookies(cookies).dispatch().await;
        read(response).await
    }
}

/// Makes the request as a browser on `HOST` would (`Host` header).
pub fn on_site(mut request: LocalRequest<'_>) -> LocalRequest<'_> {
    let host = Host::parse(HOST).expect("valid host");
    request.inner_mut().set_host(host);
    request.header(Header::new("Host", HOST))
}

/// Status, JSON body and the cookies set by a response.
pub async fn read(response: LocalResponse<'_>) -> (Status, Value, Vec<Cookie<'static>>) {
    let status = response.status();
    let set: Vec<_> = response.cookies().iter().cloned().collect();
    assert_no_store(&response);
    let content_type = response.content_type();
    let body = response.into_string().await.unwrap_or_default();
    assert!(
        content_type.is_some_and(|ct| ct.is_json()),
        "{status}: not JSON: {body}"
    );
    let json = rocket::serde::json::from_str(&body).expect("JSON body");
    (status, json, set)
}

pub fn assert_no_store(response: &LocalResponse<'_>) {
    let headers = response.headers();
    assert_eq!(
        headers.get_one("Cache-Control"),
        Some("no-store, no-cache, must-revalidate, private")
    );
    assert_eq!(headers.get_one("Pragma"), Some("no-cache"));
}

pub fn find<'a>(cookies: &'a [Cookie<'static>], name: &str) -> Option<&'a Cookie<'static>> {
    cookies.iter().find(|c| c.name() == name)
}

/// Whether the response deletes the cookie (empty value, expired).
pub fn deletes(cookies: &[Cookie<'static>], name: &str) -> bool {
    find(cookies, name).is_some_and(|c| {
        c.value().is_empty()
            && (c.max_age() == Some(rocket::time::Duration::ZERO)
                || c.expires_datetime()
                    .is_some_and(|t| t < rocket::time::OffsetDateTime::now_utc()))
    })
}

pub fn cookie(name: &'static str, value: impl Into<String>) -> Cookie<'static> {
    Cookie::new(name, value.into())
}

/// Polls `check` until it is true or `within` passes.
pub async fn eventually<F, Fut>(within: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while start.elapsed() < within {
        if check().await {
            return true;
        }
        rocket::tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
