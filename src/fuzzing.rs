//! Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`). Not a
//! stable API: each wraps one piece of per-request parsing.

use rocket::http::private::cookie::Cookie;
use rocket::http::uri::Host;
use rocket::time::OffsetDateTime;
use url::Url;

use crate::consent::Consent;
use crate::redirect::Site;
use crate::token::AuthToken;

/// Where the callback would send the browser for `return_uri`, on a site
/// reached as `host` (a `Host` header value).
pub fn return_uri(host: &str, return_uri: &str) -> String {
    let host = Host::parse(host).ok();
    Site::from_host(host.as_ref()).safe_return(Some(return_uri))
}

/// Whether a `Location` the callback gave, followed by a browser from the
/// callback at `callback` (an absolute URL on the site reached as `host`),
/// stays on that host: the `Host` header's port when it names one, else the
/// default port of the scheme followed (the site may sit behind a proxy
/// that terminates TLS, so both schemes are its own).
pub fn lands_on(host: &str, callback: &str, location: &str) -> bool {
    let (Ok(callback), Ok(host)) = (Url::parse(callback), Host::parse(host)) else {
        return false;
    };
    let Ok(target) = callback.join(location) else {
        return false;
    };
    let port = host.port().or(match target.scheme() {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    });
    matches!(target.scheme(), "http" | "https")
        && target.host_str() == callback.host_str()
        && target.port_or_known_default() == port
        && target.username().is_empty()
        && target.password().is_none()
}

/// Opens a token's plain text (what the private cookie holds) at `now`.
pub fn open_token(text: &str, now: OffsetDateTime) -> Option<(uuid::Uuid, i64)> {
    AuthToken::decode(text, now).map(|t| (t.user, t.issued_at))
}

/// Opens a sealed token cookie value as the site would, under a fixed key.
pub fn open_sealed(sealed: &str, now: OffsetDateTime) -> Option<(uuid::Uuid, i64)> {
    use rocket::http::private::cookie::{CookieJar, Key};

    let key = Key::from(&[7; 64]);
    let jar = CookieJar::new();
    let cookie = Cookie::new(crate::cookies::AUTH_TOKEN, sealed.to_owned());
    let opened = jar.private(&key).decrypt(cookie)?;
    open_token(opened.value(), now)
}

/// Reads the consent and freshness cookies out of a `Cookie` header.
pub fn cookie_header(header: &str) -> (Option<Consent>, Option<OffsetDateTime>) {
    let mut consent = None;
    let mut fresh = None;
    for cookie in Cookie::split_parse(header).flatten() {
        match cookie.name() {
            crate::cookies::ACCEPTED => consent = crate::cookies::consent_value(cookie.value()),
            crate::cookies::FRESHNESS_TS => fresh = crate::cookies::freshness_value(cookie.value()),
            _ => {}
        }
    }
    (consent, fresh)
}

/// Reads an ISO-8601 timestamp.
pub fn timestamp(text: &str) -> Option<OffsetDateTime> {
    crate::timestamp::parse(text)
}

/// Checks a set-preferences body: the consent it carries, or why not.
pub fn preferences_body(text: &str) -> Result<Consent, &'static str> {
    crate::routes::parse_body(text)
}
