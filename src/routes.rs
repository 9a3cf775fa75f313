//! The routes under `/_cookies` that the banner script calls.

use std::borrow::Cow;

use rocket::data::{Data, FromData, ToByteUnit};
use rocket::http::{CookieJar, Header, Status};
use rocket::request::{self, FromRequest, Request};
use rocket::response::{self, Responder, Response};
use rocket::serde::json::{self, Json};
use rocket::time::{Duration, OffsetDateTime};
use rocket::{catch, catchers, get, post, routes, Catcher, Route, State};
use serde::{Deserialize, Serialize};

use crate::client::{RemoteConsent, UpstreamError, MAX_CODE_LEN};
use crate::consent::Consent;
use crate::cookies;
use crate::fairing::Service;
use crate::redirect::Site;
use crate::timestamp;
use crate::token::AuthToken;

/// How long a site-side consent stays fresh before the central value is
/// read again.
const FRESH_FOR: Duration = Duration::days(1);

/// A freshness timestamp further in the future than this is not believed.
const MAX_SKEW: Duration = Duration::minutes(5);

/// The largest set-preferences body read; the real one is ~40 bytes.
const MAX_BODY: u64 = 1024;

pub(crate) fn routes() -> Vec<Route> {
    routes![init, callback, get_preferences, set_preferences]
}

pub(crate) fn catchers() -> Vec<Catcher> {
    catchers![json_error]
}

/// What `/_cookies/init` tells the banner script to do.
#[derive(Debug, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub(crate) enum Action<'a> {
    Redirect {
        redirect_url: &'a str,
    },
    SetPreferences {
        consent: Consent,
        cookies_freshness_ts: String,
    },
    OfflinePreferencesSynced,
}

/// A JSON error: `{"error": "..."}` with a status.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: Status,
    message: Cow<'static, str>,
}

impl ApiError {
    fn new(status: Status, message: impl Into<Cow<'static, str>>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }

    fn unavailable() -> Self {
        ApiError::new(Status::ServiceUnavailable, "Cookie service not available")
    }

    fn not_authenticated() -> Self {
        ApiError::new(Status::Unauthorized, "Not authenticated")
    }

    /// A failed upstream call, logged here once with what was called and
    /// why (never the key or the visitor's id).
    fn upstream(error: &UpstreamError) -> Self {
        log::warn!("cookie service: {error}");
        match error {
            UpstreamError::Timeout(_) => ApiError::new(
                Status::GatewayTimeout,
                "Cookie service did not answer in time",
            ),
            _ => ApiError::new(Status::BadGateway, "Cookie service failed"),
        }
    }
}

impl<'r> Responder<'r, 'static> for ApiError {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        let body = json::json!({ "error": self.message });
        Response::build_from(Json(body).respond_to(req)?)
            .status(self.status)
            .ok()
    }
}

type Answer<T> = Result<Json<T>, ApiError>;

/// `{"action": "none"}`, the answer most page views get.
const NONE_BODY: &str = r#"{"action":"none"}"#;

/// An `init` answer: most often one fixed at launch (`none`, and
/// `redirect` with its URL and cookie), else serialised.
enum InitAnswer<'a> {
    Fixed(&'a str),
    Redirect(&'a Redirect),
    Action(Action<'a>),
}

/// The `redirect` answer, built once: its body, and the
/// `_cookies_redirect_attempted` cookie as a `Set-Cookie` value.
pub(crate) struct Redirect {
    body: String,
    set_cookie: String,
}

impl Redirect {
    pub(crate) fn new(session_url: &str, secure: bool) -> Redirect {
        let redirect = Action::Redirect {
            redirect_url: session_url,
        };
        Redirect {
            body: json::to_string(&redirect).unwrap_or_default(),
            set_cookie: cookies::redirect_attempted_cookie(secure).to_string(),
        }
    }
}

impl<'r, 'o: 'r, 'a: 'o> Responder<'r, 'o> for InitAnswer<'a> {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'o> {
        match self {
            InitAnswer::Fixed(body) => (rocket::http::ContentType::JSON, body).respond_to(req),
            InitAnswer::Redirect(redirect) => {
                let mut response =
                    (rocket::http::ContentType::JSON, redirect.body.as_str()).respond_to(req)?;
                response.adjoin_raw_header("Set-Cookie", redirect.set_cookie.as_str());
                Ok(response)
            }
            InitAnswer::Action(action) => Json(action).respond_to(req),
        }
    }
}

/// Every answer under `/_cookies`, errors included, is for this visitor
/// only and never stored: set here rather than in a response fairing, so
/// the app's other routes pay nothing for it.
pub(crate) struct NoStore<R>(pub(crate) R);

impl<'r, 'o: 'r, R: Responder<'r, 'o>> Responder<'r, 'o> for NoStore<R> {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'o> {
        let mut response = self.0.respond_to(req)?;
        response.set_raw_header(
            "Cache-Control",
            "no-store, no-cache, must-revalidate, private",
        );
        response.set_raw_header("Pragma", "no-cache");
        Ok(response)
    }
}

/// The site the request was made to, for return-URI and origin checks.
#[rocket::async_trait]
impl<'r> FromRequest<'r> for Site {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> request::Outcome<Self, Self::Error> {
        request::Outcome::Success(Site::from_host(req.host()))
    }
}

/// No token: send the visitor to the central service once, then leave them
/// be for a while.
fn redirect_or_none<'a>(service: &'a Service, jar: &CookieJar<'_>) -> InitAnswer<'a> {
    if cookies::redirect_attempted(jar) {
        return InitAnswer::Fixed(NONE_BODY);
    }
    InitAnswer::Redirect(&service.redirect)
}

fn set_preferences_now(consent: Consent, now: OffsetDateTime) -> InitAnswer<'static> {
    InitAnswer::Action(Action::SetPreferences {
        consent,
        cookies_freshness_ts: timestamp::format(now),
    })
}

type InitResult<'a> = Result<InitAnswer<'a>, ApiError>;

#[get("/init")]
async fn init<'a>(service: &'a State<Service>, jar: &CookieJar<'_>) -> NoStore<InitResult<'a>> {
    if !service.health.is_up() {
        return NoStore(Err(ApiError::unavailable()));
    }
    // Read here rather than through the `AuthToken` guard: every page view
    // comes here, and the guard's boxed futures and the AES-GCM opening are
    // a measurable share of it.
    let now = OffsetDateTime::now_utc();
    let Some(token) = service.opened.open(jar, now) else {
        return NoStore(Ok(redirect_or_none(service, jar)));
    };
    let local = cookies::local_consent(jar);
    let local_ts = cookies::freshness(jar);
    let offline = cookies::is_offline(jar);
    if !offline && local.is_some() && local_ts.is_some_and(|ts| is_fresh(ts, now)) {
        return NoStore(Ok(InitAnswer::Fixed(NONE_BODY)));
    }
    // Boxed: the answers above, which most page views get, then do not
    // carry the (large) state of the upstream calls.
    let local = Local {
        consent: local,
        fresh_at: local_ts,
        offline,
    };
    NoStore(Box::pin(sync(service, jar, token, local, now)).await)
}

/// What the banner script's cookies say on this site.
struct Local {
    consent: Option<Consent>,
    fresh_at: Option<OffsetDateTime>,
    offline: bool,
}

/// `init` for a visitor whose site copy is stale, missing or offline:
/// reads the central value and, where the site's choice should win, writes
/// it.
async fn sync<'a>(
    service: &'a Service,
    jar: &CookieJar<'_>,
    token: AuthToken,
    local: Local,
    now: OffsetDateTime,
) -> InitResult<'a> {
    let remote = match service.read_consent(token.user).await {
        Ok(remote) => remote,
        Err(e) => return unknown_or_failed(service, jar, &e),
    };

    let chosen = local.consent.filter(|consent| consent.is_set());
    match chosen {
        Some(consent) if local.offline && local_wins(local.fresh_at, &remote) => {
            // The offline flag goes only once the choice is safely upstream.
            if let Err(e) = service.write_consent(token.user, consent).await {
                return unknown_or_failed(service, jar, &e);
            }
            cookies::clear_offline(jar);
            Ok(InitAnswer::Action(Action::OfflinePreferencesSynced))
        }
        // A choice this site holds that the central service never got:
        // hand it on rather than overwrite it with `unset`.
        Some(consent) if !remote.preferences.consent.is_set() => {
            if let Err(e) = service.write_consent(token.user, consent).await {
                log::warn!("cookie service: {e}; keeping the site's choice");
            }
            cookies::clear_offline(jar);
            Ok(set_preferences_now(consent, now))
        }
        _ => {
            if local.offline {
                cookies::clear_offline(jar);
            }
            Ok(set_preferences_now(remote.preferences.consent, now))
        }
    }
}

/// An upstream failure in `init`: a visitor the central service does not
/// know loses the token and goes through the redirect again (keeping its
/// local choice for the sync after it); anything else is a JSON error.
fn unknown_or_failed<'a>(
    service: &'a Service,
    jar: &CookieJar<'_>,
    error: &UpstreamError,
) -> InitResult<'a> {
    if let UpstreamError::UnknownVisitor(_) = error {
        log::info!("cookie service: {error}; dropping its token");
        AuthToken::remove(jar);
        return Ok(redirect_or_none(service, jar));
    }
    Err(ApiError::upstream(error))
}

/// Whether the site's consent, last synced at `ts`, is recent enough not to
/// ask the central service again.
fn is_fresh(ts: OffsetDateTime, now: OffsetDateTime) -> bool {
    ts <= now + MAX_SKEW && now - ts < FRESH_FOR
}

/// Whether a choice made offline should replace the central value: when
/// the central value is `unset`, when there is no time to compare, or when
/// the site's time is the later instant.
pub(crate) fn local_wins(local_ts: Option<OffsetDateTime>, remote: &RemoteConsent) -> bool {
    if !remote.preferences.consent.is_set() {
        return true;
    }
    let remote_ts = remote.updated_at.as_deref().and_then(timestamp::parse);
    match (local_ts, remote_ts) {
        (Some(local), Some(remote)) => local > remote,
        _ => true,
    }
}

/// Where the browser goes after the callback.
struct Found(String);

impl<'r> Responder<'r, 'static> for Found {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        Response::build()
            .status(Status::Found)
            .header(Header::new("Location", self.0))
            .ok()
    }
}

#[get("/callback?<code>&<return_uri>")]
async fn callback(
    service: &State<Service>,
    jar: &CookieJar<'_>,
    site: Site,
    code: Option<&str>,
    return_uri: Option<&str>,
) -> NoStore<Found> {
    cookies::mark_redirect_attempted(jar, service.secure);
    match code.filter(|code| is_plausible_code(code)) {
        Some(code) => match service.central.exchange_code(code).await {
            Ok(user) => {
                service.forget(user).await;
                AuthToken::new(user, OffsetDateTime::now_utc()).store(jar, service.secure);
            }
            Err(e) => log::warn!("cookie service: callback: {e}"),
        },
        None => log::warn!("cookie service: callback without a usable code"),
    }
    NoStore(Found(site.safe_return(return_uri)))
}

/// A code worth sending upstream: short, printable ASCII.
fn is_plausible_code(code: &str) -> bool {
    !code.is_empty() && code.len() <= MAX_CODE_LEN && code.bytes().all(|b| b.is_ascii_graphic())
}

#[get("/get-preferences")]
async fn get_preferences(
    service: &State<Service>,
    token: Option<AuthToken>,
    jar: &CookieJar<'_>,
) -> NoStore<Answer<RemoteConsent>> {
    let Some(token) = token else {
        return NoStore(Err(ApiError::not_authenticated()));
    };
    NoStore(match service.read_consent(token.user).await {
        Ok(remote) => Ok(Json(remote)),
        Err(e) if matches!(*e, UpstreamError::UnknownVisitor(_)) => {
            AuthToken::remove(jar);
            Err(ApiError::not_authenticated())
        }
        Err(e) => Err(ApiError::upstream(&e)),
    })
}

#[derive(Serialize)]
struct Saved {
    message: &'static str,
    cookies_freshness_ts: String,
}

#[post("/set-preferences", data = "<body>")]
async fn set_preferences(
    service: &State<Service>,
    token: Option<AuthToken>,
    provenance: Provenance,
    jar: &CookieJar<'_>,
    body: Result<PreferencesBody, BodyError>,
) -> NoStore<Answer<Saved>> {
    NoStore(save(service, token, provenance, jar, body).await)
}

async fn save(
    service: &Service,
    token: Option<AuthToken>,
    provenance: Provenance,
    jar: &CookieJar<'_>,
    body: Result<PreferencesBody, BodyError>,
) -> Answer<Saved> {
    if provenance == Provenance::CrossSite {
        return Err(ApiError::new(
            Status::Forbidden,
            "Cross-site request refused",
        ));
    }
    let token = token.ok_or_else(ApiError::not_authenticated)?;
    let consent = body.map_err(BodyError::into_api)?.0;
    match service.write_consent(token.user, consent).await {
        Ok(()) => Ok(Json(Saved {
            message: "Preferences saved",
            cookies_freshness_ts: timestamp::format(OffsetDateTime::now_utc()),
        })),
        Err(UpstreamError::UnknownVisitor(_)) => {
            AuthToken::remove(jar);
            Err(ApiError::not_authenticated())
        }
        Err(e) => Err(ApiError::upstream(&e)),
    }
}

/// Where a state-changing request came from, by the browser's own word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Provenance {
    SameSite,
    CrossSite,
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Provenance {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> request::Outcome<Self, Self::Error> {
        let headers = req.headers();
        let cross = match headers.get_one("Sec-Fetch-Site") {
            Some(site) => site.eq_ignore_ascii_case("cross-site"),
            // Browsers without Fetch Metadata still send `Origin` on a POST.
            None => headers
                .get_one("Origin")
                .is_some_and(|origin| !Site::from_host(req.host()).is_origin(origin)),
        };
        request::Outcome::Success(if cross {
            Provenance::CrossSite
        } else {
            Provenance::SameSite
        })
    }
}

/// A checked set-preferences body: only a valid consent gets this far.
struct PreferencesBody(Consent);

#[derive(Deserialize)]
struct Wire {
    preferences: WirePreferences,
}

#[derive(Deserialize)]
struct WirePreferences {
    consent: String,
}

/// Why a set-preferences body was refused; nothing is sent upstream.
#[derive(Debug)]
enum BodyError {
    NotJson,
    TooLarge,
    Unreadable,
    Malformed,
    WrongShape,
    InvalidConsent,
}

impl BodyError {
    fn into_api(self) -> ApiError {
        let message = match self {
            BodyError::NotJson => "Body must be application/json",
            BodyError::TooLarge => "Body is too large",
            BodyError::Unreadable => "Body could not be read",
            BodyError::Malformed => "Body is not valid JSON",
            BodyError::WrongShape => "Body must be {\"preferences\": {\"consent\": ...}}",
            BodyError::InvalidConsent => {
                "consent must be one of essential, functionality, performance, all, unset"
            }
        };
        ApiError::new(self.status(), message)
    }

    fn status(&self) -> Status {
        match self {
            BodyError::NotJson => Status::UnsupportedMediaType,
            BodyError::TooLarge => Status::PayloadTooLarge,
            BodyError::Unreadable | BodyError::Malformed => Status::BadRequest,
            BodyError::WrongShape | BodyError::InvalidConsent => Status::UnprocessableEntity,
        }
    }
}

impl PreferencesBody {
    fn parse(text: &str) -> Result<Consent, BodyError> {
        let wire: Wire = json::from_str(text).map_err(|e| {
            if e.is_data() {
                BodyError::WrongShape
            } else {
                BodyError::Malformed
            }
        })?;
        wire.preferences
            .consent
            .parse()
            .map_err(|_| BodyError::InvalidConsent)
    }
}

#[rocket::async_trait]
impl<'r> FromData<'r> for PreferencesBody {
    type Error = BodyError;

    async fn from_data(req: &'r Request<'_>, data: Data<'r>) -> rocket::data::Outcome<'r, Self> {
        use rocket::data::Outcome;

        let fail = |e: BodyError| Outcome::Error((e.status(), e));
        if !req.content_type().is_some_and(|ct| ct.is_json()) {
            return fail(BodyError::NotJson);
        }
        let text = match data.open(MAX_BODY.bytes()).into_string().await {
            Ok(text) if text.is_complete() => text.into_inner(),
            Ok(_) => return fail(BodyError::TooLarge),
            Err(_) => return fail(BodyError::Unreadable),
        };
        match PreferencesBody::parse(&text) {
            Ok(consent) => Outcome::Success(PreferencesBody(consent)),
            Err(e) => fail(e),
        }
    }
}

/// Every error under `/_cookies` is JSON too.
#[catch(default)]
fn json_error(status: Status, _: &Request<'_>) -> NoStore<ApiError> {
    let message = status.reason().unwrap_or("Error");
    NoStore(ApiError::new(status, message))
}

/// [`PreferencesBody::parse`], with the reason as text.
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn parse_body(text: &str) -> Result<Consent, &'static str> {
    PreferencesBody::parse(text).map_err(|e| match e {
        BodyError::Malformed => "malformed",
        BodyError::WrongShape => "wrong shape",
        _ => "invalid consent",
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::Preferences;

    fn remote(consent: Consent, updated_at: Option<&str>) -> RemoteConsent {
        RemoteConsent {
            preferences: Preferences { consent },
            updated_at: updated_at.map(str::to_owned),
        }
    }

    #[test]
    fn fixed_bodies_are_what_serde_writes() {
        let none: json::Value = json::from_str(NONE_BODY).unwrap();
        assert_eq!(none, json::json!({ "action": "none" }));
        let redirect = Redirect::new("http://c.example/s?r=", true);
        let body: json::Value = json::from_str(&redirect.body).unwrap();
        assert_eq!(
            body,
            json::json!({ "action": "redirect", "redirect_url": "http://c.example/s?r=" })
        );
        let cookie = rocket::http::Cookie::parse(redirect.set_cookie.as_str()).unwrap();
        assert_eq!(
            (cookie.name(), cookie.value()),
            (cookies::REDIRECT_ATTEMPTED, "1")
        );
        assert_eq!(cookie.max_age(), Some(Duration::seconds(300)));
        assert_eq!(cookie.secure(), Some(true));
    }

    #[test]
    fn offline_choice_wins_by_instant_not_by_string() {
        let local = timestamp::parse("2024-05-01T10:30:00Z");
        // Later as a string, earlier as an instant.
        let r = remote(Consent::Essential, Some("2024-05-01T11:00:00+01:00"));
        assert!(local_wins(local, &r));
        let r = remote(Consent::Essential, Some("2024-05-01T10:45:00Z"));
        assert!(!local_wins(local, &r));
    }

    #[test]
    fn a_first_offline_choice_is_kept() {
        // No local timestamp: the 2.1.0 original let the remote win here.
        let r = remote(Consent::Essential, Some("2024-05-01T10:45:00Z"));
        assert!(local_wins(None, &r));
        let r = remote(Consent::Unset, Some("2999-01-01T00:00:00Z"));
        assert!(local_wins(timestamp::parse("2024-05-01T10:30:00Z"), &r));
    }

    #[test]
    fn freshness_is_one_day_and_not_in_the_future() {
        let now = OffsetDateTime::now_utc();
        assert!(is_fresh(now - Duration::hours(23), now));
        assert!(!is_fresh(now - Duration::hours(25), now));
        assert!(!is_fresh(now + Duration::days(30), now));
    }

    #[test]
    fn bodies() {
        assert_eq!(
            parse_body(r#"{"preferences":{"consent":"all"}}"#),
            Ok(Consent::All)
        );
        assert_eq!(
            parse_body(r#"{"preferences":{"consent":"ALL"}}"#),
            Err("invalid consent")
        );
        assert_eq!(
            parse_body(r#"{"preferences":{"consent":1}}"#),
            Err("wrong shape")
        );
        assert_eq!(parse_body(r#"{"consent":"all"}"#), Err("wrong shape"));
        assert_eq!(parse_body(r#"{"preferences":"#), Err("malformed"));
        assert_eq!(parse_body("null"), Err("wrong shape"));
    }
}
