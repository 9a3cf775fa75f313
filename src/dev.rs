//! A development central service: the API of the shared cookie-consent
//! service, in memory, in the same process (feature `dev-central`).
//!
//! It serves the demo and the crate's tests, and a site's own tests can use
//! it the same way: start it, point `central_cookie_service_url` at
//! [`DevCentral::url`], and drive the site.
//!
//! ```
//! use rocket::local::asynchronous::Client;
//! use rocket_cookie_service::dev::DevCentral;
//! use rocket_cookie_service::{CookieConsent, MokaCache};
//!
//! # #[rocket::main]
//! # async fn main() {
//! let central = DevCentral::start("dev-api-key").await.unwrap();
//! let figment = rocket::Config::figment()
//!     .merge(("central_cookie_service_url", central.url()))
//!     .merge(("cookie_service_api_key", "dev-api-key"))
//!     // Until its first health ping returns, a site answers 503: a test
//!     // that does not wait for it turns the check off.
//!     .merge(("cookie_service_health_check", false));
//! let site = rocket::custom(figment).attach(CookieConsent::fairing(MokaCache::new()));
//! let client = Client::untracked(site).await.unwrap();
//! let answer = client.get("/_cookies/init").dispatch().await;
//! assert!(answer.into_string().await.unwrap().contains("redirect"));
//! central.stop().await;
//! # }
//! ```

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rocket::fairing::AdHoc;
use rocket::http::uri::Origin;
use rocket::http::{ContentType, Cookie, CookieJar, SameSite, Status};
use rocket::request::{self, FromRequest, Request};
use rocket::response::{self, Responder, Response};
use rocket::serde::json::{json, Json, Value};
use rocket::tokio::sync::oneshot;
use rocket::tokio::task::JoinHandle;
use rocket::{catch, catchers, get, post, routes, Shutdown, State};
use uuid::Uuid;

use crate::consent::Consent;
use crate::timestamp;

/// The central service's first-party session cookie.
const SESSION_COOKIE: &str = "central_session";

/// An endpoint of the central service, for call counts and faults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `GET /_status/check`.
    Health,
    /// `GET /api/v1/cookies/session`.
    Session,
    /// `POST /api/v1/token`.
    Token,
    /// `GET /api/v1/users/{id}/preferences`.
    ReadPreferences,
    /// `POST /api/v1/users/{id}/preferences`.
    WritePreferences,
}

impl Endpoint {
    const COUNT: usize = 5;

    fn index(self) -> usize {
        self as usize
    }
}

/// A way for an endpoint to misbehave, set with [`DevCentral::set_fault`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status and a JSON error.
    Status(u16),
    /// Answer 200 with an HTML page instead of JSON.
    NotJson,
    /// Answer 200 with JSON of another shape.
    WrongShape,
    /// Wait this long, then answer normally.
    Delay(Duration),
    /// Answer with this status and this body, as JSON.
    Answer(u16, &'static str),
    /// Start a 200 answer, then break the connection off mid-body.
    CloseMidAnswer,
}

/// One visitor's stored consent.
#[derive(Debug, Clone)]
struct Stored {
    consent: Consent,
    updated_at: Option<String>,
}

struct Inner {
    api_key: String,
    up: AtomicBool,
    visitors: Mutex<HashMap<Uuid, Stored>>,
    codes: Mutex<HashMap<String, Uuid>>,
    calls: [AtomicU64; Endpoint::COUNT],
    faults: Mutex<HashMap<Endpoint, Fault>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere must not take the service down with it.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Inner {
    /// Counts the call and applies its fault, if any. `Some` is the answer
    /// to give instead of the real one.
    async fn enter(&self, endpoint: Endpoint) -> Option<Reply> {
        self.calls[endpoint.index()].fetch_add(1, Ordering::Relaxed);
        let fault = lock(&self.faults).get(&endpoint).copied();
        match fault? {
            Fault::Status(code) => {
                let status = Status::from_code(code).unwrap_or(Status::InternalServerError);
                Some(Reply::error(status, "injected fault"))
            }
            Fault::NotJson => Some(Reply::Html(Status::Ok, "<html>Oops</html>".into())),
            Fault::WrongShape => Some(Reply::Json(Status::Ok, json!({ "unexpected": [1, 2] }))),
            Fault::Answer(code, body) => {
                let status = Status::from_code(code).unwrap_or(Status::InternalServerError);
                Some(Reply::Raw(status, body))
            }
            Fault::CloseMidAnswer => Some(Reply::Broken),
            Fault::Delay(delay) => {
                rocket::tokio::time::sleep(delay).await;
                None
            }
        }
    }
}

/// A running development central service.
pub struct DevCentral {
    inner: Arc<Inner>,
    server: Running,
}

impl DevCentral {
    /// Starts a service on `127.0.0.1` at a free port that accepts
    /// `api_key` as its Bearer key.
    pub async fn start(api_key: impl Into<String>) -> Result<DevCentral, StartError> {
        DevCentral::start_on(IpAddr::V4(Ipv4Addr::LOCALHOST), 0, api_key).await
    }

    /// Starts a service on `address:port` (port 0: any free port).
    pub async fn start_on(
        address: IpAddr,
        port: u16,
        api_key: impl Into<String>,
    ) -> Result<DevCentral, StartError> {
        let inner = Arc::new(Inner {
            api_key: api_key.into(),
            up: AtomicBool::new(true),
            visitors: Mutex::default(),
            codes: Mutex::default(),
            calls: Default::default(),
            faults: Mutex::default(),
        });
        let config = rocket::Config {
            address,
            port,
            log_level: rocket::config::LogLevel::Off,
            cli_colors: false,
            shutdown: rocket::config::Shutdown {
                ctrlc: false,
                #[cfg(unix)]
                signals: Default::default(),
                grace: 1,
                mercy: 1,
                ..Default::default()
            },
            ..rocket::Config::debug_default()
        };
        let rocket = rocket::custom(config)
            .manage(inner.clone())
            .mount("/", routes![health, session, token, read, write])
            .register("/", catchers![error]);
        let server = serve(rocket).await?;
        Ok(DevCentral { inner, server })
    }

    /// The base URL, for `central_cookie_service_url`.
    pub fn url(&self) -> &str {
        self.server.url()
    }

    /// Makes the health endpoint answer 200 (`true`) or 503 (`false`).
    pub fn set_up(&self, up: bool) {
        self.inner.up.store(up, Ordering::Relaxed);
    }

    /// Makes `endpoint` misbehave (`Some`) or behave again (`None`).
    pub fn set_fault(&self, endpoint: Endpoint, fault: Option<Fault>) {
        let mut faults = lock(&self.inner.faults);
        match fault {
            Some(fault) => faults.insert(endpoint, fault),
            None => faults.remove(&endpoint),
        };
    }

    /// How many times `endpoint` was called.
    pub fn calls(&self, endpoint: Endpoint) -> u64 {
        self.inner.calls[endpoint.index()].load(Ordering::Relaxed)
    }

    /// The consent stored for `user`, if the visitor is known.
    pub fn consent_of(&self, user: Uuid) -> Option<Consent> {
        lock(&self.inner.visitors).get(&user).map(|s| s.consent)
    }

    /// When `user`'s consent was last written, as the API reports it.
    pub fn updated_at_of(&self, user: Uuid) -> Option<String> {
        lock(&self.inner.visitors)
            .get(&user)
            .and_then(|s| s.updated_at.clone())
    }

    /// Stores `consent` for `user`, as a choice made on another site would,
    /// with `updated_at` (ISO-8601) or now.
    pub fn set_consent(&self, user: Uuid, consent: Consent, updated_at: Option<&str>) {
        let updated_at = updated_at
            .map(str::to_owned)
            .unwrap_or_else(|| timestamp::format(rocket::time::OffsetDateTime::now_utc()));
        let stored = Stored {
            consent,
            updated_at: Some(updated_at),
        };
        lock(&self.inner.visitors).insert(user, stored);
    }

    /// Every visitor the service knows.
    pub fn visitors(&self) -> Vec<Uuid> {
        lock(&self.inner.visitors).keys().copied().collect()
    }

    /// Forgets `user`, so the API answers 404 for it.
    pub fn forget(&self, user: Uuid) {
        lock(&self.inner.visitors).remove(&user);
    }

    /// A new visitor with a one-time code for it, as the session redirect
    /// would make: for tests that skip the browser's round trip.
    pub fn issue_code(&self) -> (Uuid, String) {
        let user = self.inner.new_visitor();
        (user, self.inner.new_code(user))
    }

    /// Signs a new visitor in on the site served at `site` (its base URL,
    /// such as [`Running::url`]) through the site's real callback, as the
    /// browser's round trip would end, and returns the `Cookie` header value
    /// (`_cookies_auth_token=...`) that carries the visitor's token. `None`
    /// when the site cannot be reached or sets no token.
    pub async fn sign_in(&self, site: &str) -> Option<String> {
        let (_, code) = self.issue_code();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .ok()?;
        let callback = format!("{site}/_cookies/callback?code={code}&return_uri=/");
        let answer = http.get(callback).send().await.ok()?;
        let token = answer
            .headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .find(|value| value.starts_with("_cookies_auth_token="))?;
        token.split(';').next().map(str::to_owned)
    }

    /// Stops the service and waits for it to close.
    pub async fn stop(self) {
        self.server.stop().await;
    }
}

/// A server could not start.
#[derive(Debug, thiserror::Error)]
#[error("could not start the server: {0}")]
pub struct StartError(String);

impl From<rocket::Error> for StartError {
    fn from(error: rocket::Error) -> Self {
        // Displaying a Rocket error marks it handled.
        StartError(error.to_string())
    }
}

/// A Rocket server running in the background of this process, as
/// [`serve`] starts it.
pub struct Running {
    url: String,
    port: u16,
    shutdown: Shutdown,
    task: JoinHandle<Result<(), StartError>>,
}

impl Running {
    /// `http://{address}:{port}`, with a loopback address where the server
    /// listens on all of them.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Asks the server to shut down and waits until it has.
    pub async fn stop(self) {
        self.shutdown.notify();
        let _ = self.task.await;
    }
}

/// Launches `rocket` in the background and returns once it listens, with
/// the port it got (set `port = 0` in its config for any free one). Useful
/// to put a site with the fairing on a real socket in a test.
pub async fn serve(rocket: rocket::Rocket<rocket::Build>) -> Result<Running, StartError> {
    let (bound, listening) = oneshot::channel();
    let bound = Mutex::new(Some(bound));
    let rocket = rocket
        .attach(AdHoc::on_liftoff("Report the port", move |rocket| {
            let config = rocket.config();
            if let Some(bound) = lock(&bound).take() {
                let _ = bound.send((config.address, config.port));
            }
            Box::pin(async {})
        }))
        .ignite()
        .await?;
    let shutdown = rocket.shutdown();
    let task =
        rocket::tokio::spawn(
            async move { rocket.launch().await.map(|_| ()).map_err(StartError::from) },
        );
    match listening.await {
        Ok((address, port)) => {
            let host = match address {
                IpAddr::V4(ip) if ip.is_unspecified() => "127.0.0.1".to_owned(),
                IpAddr::V6(ip) if ip.is_unspecified() => "[::1]".to_owned(),
                IpAddr::V6(ip) => format!("[{ip}]"),
                IpAddr::V4(ip) => ip.to_string(),
            };
            Ok(Running {
                url: format!("http://{host}:{port}"),
                port,
                shutdown,
                task,
            })
        }
        // The server stopped before listening: report why.
        Err(_) => Err(match task.await {
            Ok(Err(e)) => e,
            _ => StartError("it stopped before listening".into()),
        }),
    }
}

impl Inner {
    fn new_visitor(&self) -> Uuid {
        let user = Uuid::new_v4();
        let stored = Stored {
            consent: Consent::Unset,
            updated_at: None,
        };
        lock(&self.visitors).insert(user, stored);
        user
    }

    fn new_code(&self, user: Uuid) -> String {
        let code = Uuid::new_v4().simple().to_string();
        lock(&self.codes).insert(code.clone(), user);
        code
    }
}

/// Every answer of the service.
enum Reply {
    Json(Status, Value),
    Html(Status, String),
    Redirect(String),
    Raw(Status, &'static str),
    Broken,
}

impl Reply {
    fn error(status: Status, message: &str) -> Reply {
        Reply::Json(status, json!({ "error": message }))
    }
}

impl<'r> Responder<'r, 'static> for Reply {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        match self {
            Reply::Json(status, value) => Response::build_from(Json(value).respond_to(req)?)
                .status(status)
                .ok(),
            Reply::Html(status, body) => Response::build_from(body.respond_to(req)?)
                .status(status)
                .header(ContentType::HTML)
                .ok(),
            Reply::Raw(status, body) => Response::build_from(body.respond_to(req)?)
                .status(status)
                .header(ContentType::JSON)
                .ok(),
            // A `Content-Length` longer than the body: once the start is
            // out, the server has to close the connection mid-answer.
            Reply::Broken => Response::build()
                .header(ContentType::JSON)
                .sized_body(BrokenBody::START.len() + 64, BrokenBody::default())
                .ok(),
            Reply::Redirect(to) => Response::build()
                .status(Status::Found)
                .raw_header("Location", to)
                .ok(),
        }
    }
}

/// The start of a JSON answer, a pause (so it goes out on the wire), then
/// an early end.
#[derive(Default)]
struct BrokenBody {
    sent: bool,
    pause: Option<std::pin::Pin<Box<rocket::tokio::time::Sleep>>>,
}

impl BrokenBody {
    const START: &'static [u8] = br#"{"preferences": {"cons"#;
}

impl rocket::tokio::io::AsyncRead for BrokenBody {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut rocket::tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        if !self.sent {
            self.sent = true;
            buf.put_slice(Self::START);
            return std::task::Poll::Ready(Ok(()));
        }
        let pause = self
            .pause
            .get_or_insert_with(|| Box::pin(rocket::tokio::time::sleep(Duration::from_millis(50))));
        // Then end early: nothing more is put in `buf`.
        pause.as_mut().poll(cx).map(Ok)
    }
}

impl rocket::tokio::io::AsyncSeek for BrokenBody {
    fn start_seek(self: std::pin::Pin<&mut Self>, _: std::io::SeekFrom) -> std::io::Result<()> {
        Ok(())
    }

    fn poll_complete(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<u64>> {
        std::task::Poll::Ready(Ok(0))
    }
}

/// The request carried the right Bearer key.
struct Bearer;

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Bearer {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> request::Outcome<Self, ()> {
        let Some(inner) = req.rocket().state::<Arc<Inner>>() else {
            return request::Outcome::Error((Status::InternalServerError, ()));
        };
        let given = req.headers().get_one("Authorization");
        let expected = format!("Bearer {}", inner.api_key);
        if !inner.api_key.is_empty() && given == Some(expected.as_str()) {
            request::Outcome::Success(Bearer)
        } else {
            request::Outcome::Error((Status::Unauthorized, ()))
        }
    }
}

#[get("/_status/check")]
async fn health(inner: &State<Arc<Inner>>) -> Reply {
    if let Some(reply) = inner.enter(Endpoint::Health).await {
        return reply;
    }
    if inner.up.load(Ordering::Relaxed) {
        Reply::Json(Status::Ok, json!({ "status": "ok" }))
    } else {
        Reply::error(Status::ServiceUnavailable, "down for maintenance")
    }
}

/// The page URL the banner script appended: everything after `return_uri=`,
/// since the real client does not encode it.
fn return_uri_of(uri: &Origin<'_>) -> Option<String> {
    let query = uri.query()?.as_str();
    let start = query.find("return_uri=")? + "return_uri=".len();
    let raw = &query[start..];
    if raw.contains("://") {
        return Some(raw.to_owned());
    }
    let decoded = url::form_urlencoded::parse(format!("u={raw}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())?;
    Some(decoded)
}

#[get("/api/v1/cookies/session")]
async fn session(inner: &State<Arc<Inner>>, uri: &Origin<'_>, jar: &CookieJar<'_>) -> Reply {
    if let Some(reply) = inner.enter(Endpoint::Session).await {
        return reply;
    }
    let Some(page) = return_uri_of(uri) else {
        return Reply::Html(Status::BadRequest, "<html>Missing return_uri</html>".into());
    };
    let site = match url::Url::parse(&page) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => url,
        _ => return Reply::Html(Status::BadRequest, "<html>Bad return_uri</html>".into()),
    };
    let known = jar
        .get(SESSION_COOKIE)
        .and_then(|c| Uuid::try_parse(c.value()).ok())
        .filter(|user| lock(&inner.visitors).contains_key(user));
    let user = known.unwrap_or_else(|| inner.new_visitor());
    jar.add(
        Cookie::build((SESSION_COOKIE, user.to_string()))
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
            .max_age(rocket::time::Duration::days(365)),
    );
    let code = inner.new_code(user);
    let back: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("code", &code)
        .append_pair("return_uri", &page)
        .finish();
    let origin = site.origin().ascii_serialization();
    Reply::Redirect(format!("{origin}/_cookies/callback?{back}"))
}

#[post("/api/v1/token", data = "<body>")]
async fn token(inner: &State<Arc<Inner>>, _key: Bearer, body: Option<Json<Value>>) -> Reply {
    if let Some(reply) = inner.enter(Endpoint::Token).await {
        return reply;
    }
    let code = body
        .as_ref()
        .and_then(|b| b.get("code"))
        .and_then(Value::as_str);
    match code.and_then(|code| lock(&inner.codes).remove(code)) {
        Some(user) => Reply::Json(Status::Ok, json!({ "user_uuid": user })),
        None => Reply::error(Status::BadRequest, "invalid or used code"),
    }
}

#[get("/api/v1/users/<user>/preferences")]
async fn read(inner: &State<Arc<Inner>>, _key: Bearer, user: &str) -> Reply {
    if let Some(reply) = inner.enter(Endpoint::ReadPreferences).await {
        return reply;
    }
    let stored = Uuid::try_parse(user)
        .ok()
        .and_then(|user| lock(&inner.visitors).get(&user).cloned());
    match stored {
        Some(stored) => Reply::Json(
            Status::Ok,
            json!({
                "preferences": { "consent": stored.consent },
                "updated_at": stored.updated_at,
            }),
        ),
        None => Reply::error(Status::NotFound, "unknown user"),
    }
}

#[post("/api/v1/users/<user>/preferences", data = "<body>")]
async fn write(
    inner: &State<Arc<Inner>>,
    _key: Bearer,
    user: &str,
    body: Option<Json<Value>>,
) -> Reply {
    if let Some(reply) = inner.enter(Endpoint::WritePreferences).await {
        return reply;
    }
    let consent = body
        .as_ref()
        .and_then(|b| b.pointer("/preferences/consent"))
        .and_then(Value::as_str)
        .and_then(|c| c.parse::<Consent>().ok());
    let Some(consent) = consent else {
        return Reply::error(Status::BadRequest, "invalid preferences");
    };
    let Some(user) = Uuid::try_parse(user).ok() else {
        return Reply::error(Status::NotFound, "unknown user");
    };
    let mut visitors = lock(&inner.visitors);
    let Some(stored) = visitors.get_mut(&user) else {
        return Reply::error(Status::NotFound, "unknown user");
    };
    stored.consent = consent;
    stored.updated_at = Some(timestamp::format(rocket::time::OffsetDateTime::now_utc()));
    Reply::Json(
        Status::Ok,
        json!({ "preferences": { "consent": consent }, "updated_at": stored.updated_at }),
    )
}

#[catch(default)]
fn error(status: Status, _: &Request<'_>) -> Reply {
    Reply::error(status, status.reason().unwrap_or("error"))
}
