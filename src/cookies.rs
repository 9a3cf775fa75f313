//! The cookies of the protocol: their names, and how the site reads and
//! writes the ones it owns. The auth token has its own module, `token`.

use rocket::http::{Cookie, CookieJar, SameSite};
use rocket::time::{Duration, OffsetDateTime};

use crate::consent::Consent;
use crate::timestamp;

/// The visitor's id, sealed in Rocket's private jar.
pub(crate) const AUTH_TOKEN: &str = "_cookies_auth_token";
/// Set when the site sends the visitor to the central service, so that a
/// visitor who never comes back is not sent again and again.
pub(crate) const REDIRECT_ATTEMPTED: &str = "_cookies_redirect_attempted";
/// The visitor's consent, set by the banner script.
pub(crate) const ACCEPTED: &str = "_cookies_accepted";
/// When the site last told the banner script the central value.
pub(crate) const FRESHNESS_TS: &str = "_cookies_freshness_ts";
/// Set by the banner script when a choice was made without the central
/// service.
pub(crate) const SET_OFFLINE: &str = "_cookies_set_offline";

/// How long `_cookies_redirect_attempted` holds the visitor back.
const REDIRECT_ATTEMPTED_FOR: Duration = Duration::seconds(300);

/// Cookie values longer than this are not read: no real value comes close,
/// and a hostile one should cost nothing.
const MAX_VALUE_LEN: usize = 128;

fn value<'a>(jar: &'a CookieJar<'_>, name: &str) -> Option<&'a str> {
    jar.get(name)
        .map(|c| c.value())
        .filter(|v| v.len() <= MAX_VALUE_LEN)
}

/// The consent the banner script stored on this site, if it is readable.
pub(crate) fn local_consent(jar: &CookieJar<'_>) -> Option<Consent> {
    consent_value(value(jar, ACCEPTED)?)
}

/// When this site last synced with the central service, if readable.
pub(crate) fn freshness(jar: &CookieJar<'_>) -> Option<OffsetDateTime> {
    freshness_value(value(jar, FRESHNESS_TS)?)
}

/// Reads a `_cookies_accepted` value.
pub(crate) fn consent_value(value: &str) -> Option<Consent> {
    value.parse().ok()
}

/// Reads a `_cookies_freshness_ts` value.
pub(crate) fn freshness_value(value: &str) -> Option<OffsetDateTime> {
    timestamp::parse(value)
}

/// Whether the banner script saved a choice while the central service was
/// away.
pub(crate) fn is_offline(jar: &CookieJar<'_>) -> bool {
    jar.get(SET_OFFLINE).is_some()
}

pub(crate) fn redirect_attempted(jar: &CookieJar<'_>) -> bool {
    jar.get(REDIRECT_ATTEMPTED).is_some()
}

/// `_cookies_redirect_attempted=1`, for 300 s.
pub(crate) fn redirect_attempted_cookie(secure: bool) -> Cookie<'static> {
    Cookie::build((REDIRECT_ATTEMPTED, "1"))
        .path("/")
        .max_age(REDIRECT_ATTEMPTED_FOR)
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .build()
}

pub(crate) fn mark_redirect_attempted(jar: &CookieJar<'_>, secure: bool) {
    jar.add(redirect_attempted_cookie(secure));
}

/// Deletes `_cookies_set_offline` (the banner script sets it with Path=/).
pub(crate) fn clear_offline(jar: &CookieJar<'_>) {
    jar.remove(Cookie::build(SET_OFFLINE).path("/"));
}
