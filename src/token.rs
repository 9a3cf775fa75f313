//! The visitor's auth token: the `user_uuid` the central service gave, and
//! when the site got it, sealed in Rocket's private cookie jar.
//!
//! Rocket's private jar already encrypts and authenticates the value with
//! AES-256-GCM under the app's `secret_key`, so the token itself is plain
//! text inside that seal: `v1.{uuid}.{issued unix seconds}`. The issue time
//! lets the server refuse a token older than [`MAX_AGE`] even when a
//! browser keeps sending the cookie. The version prefix leaves room for
//! another layout, and opening is split from reading the jar so that a
//! token sealed under a retired key can be opened the same way.

use rocket::http::{Cookie, CookieJar, SameSite};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::cookies::AUTH_TOKEN;

/// How long a token is honoured after it was issued.
pub const MAX_AGE: Duration = Duration::days(365);

/// How far in the future an issue time may lie (clock skew between
/// replicas) before the token is refused.
const MAX_SKEW: Duration = Duration::minutes(5);

const VERSION: &str = "v1";

/// A visitor's id and when the site was given it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct AuthToken {
    /// The central service's id for the visitor.
    pub user: Uuid,
    /// Unix seconds at which the site stored the token.
    pub issued_at: i64,
}

// The visitor's id links a person across sites: keep it out of logs.
impl std::fmt::Debug for AuthToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthToken")
            .field("user", &"<redacted>")
            .field("issued_at", &self.issued_at)
            .finish()
    }
}

impl AuthToken {
    /// A token for `user` issued at `now`.
    pub fn new(user: Uuid, now: OffsetDateTime) -> Self {
        AuthToken {
            user,
            issued_at: now.unix_timestamp(),
        }
    }

    /// The plain text that goes inside the seal.
    pub fn encode(&self) -> String {
        format!("{VERSION}.{}.{}", self.user.as_hyphenated(), self.issued_at)
    }

    /// Reads a plain text made by [`AuthToken::encode`], refusing anything
    /// malformed, older than [`MAX_AGE`] or issued in the future.
    pub fn decode(text: &str, now: OffsetDateTime) -> Option<Self> {
        let mut parts = text.splitn(3, '.');
        if parts.next()? != VERSION {
            return None;
        }
        let user = Uuid::try_parse(parts.next()?).ok()?;
        let issued_at: i64 = parts.next()?.parse().ok()?;
        let token = AuthToken { user, issued_at };
        token.is_valid_at(now).then_some(token)
    }

    /// Whether the token is within its lifetime at `now`.
    fn is_valid_at(&self, now: OffsetDateTime) -> bool {
        now.unix_timestamp()
            .checked_sub(self.issued_at)
            .is_some_and(|age| age <= MAX_AGE.whole_seconds() && age >= -MAX_SKEW.whole_seconds())
    }

    /// The valid token in the request's private jar, if any. Tampered,
    /// foreign (sealed under another key) and expired values read as none.
    pub fn from_jar(jar: &CookieJar<'_>, now: OffsetDateTime) -> Option<Self> {
        let cookie = jar.get_private(AUTH_TOKEN)?;
        AuthToken::decode(cookie.value(), now)
    }

    /// Seals this token into the response's private jar.
    pub fn store(&self, jar: &CookieJar<'_>, secure: bool) {
        let issued = OffsetDateTime::from_unix_timestamp(self.issued_at)
            .unwrap_or_else(|_| OffsetDateTime::now_utc());
        let cookie = Cookie::build((AUTH_TOKEN, self.encode()))
            .path("/")
            .max_age(MAX_AGE)
            // Rocket gives a private cookie a one-week `Expires` unless
            // one is set.
            .expires(issued + MAX_AGE)
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(secure);
        jar.add_private(cookie);
    }

    /// Deletes the token cookie.
    pub fn remove(jar: &CookieJar<'_>) {
        jar.remove_private(Cookie::build(AUTH_TOKEN).path("/"));
    }
}

/// Tokens already opened, by their sealed cookie value: a page view of a
/// returning visitor then costs a hash lookup instead of base64 and
/// AES-GCM. Only values that opened are kept, and the age is checked again
/// on every hit.
pub(crate) struct Opened(moka::sync::Cache<String, AuthToken>);

impl Opened {
    pub(crate) fn new(capacity: u64) -> Self {
        let cache = moka::sync::Cache::builder()
            .max_capacity(capacity)
            .time_to_idle(std::time::Duration::from_secs(600))
            .build();
        Opened(cache)
    }

    /// The valid token in the request's private jar, like
    /// [`AuthToken::from_jar`], remembered by its sealed value.
    pub(crate) fn open(&self, jar: &CookieJar<'_>, now: OffsetDateTime) -> Option<AuthToken> {
        let sealed = jar.get(AUTH_TOKEN)?.value();
        if let Some(token) = self.0.get(sealed) {
            return token.is_valid_at(now).then_some(token);
        }
        let token = AuthToken::from_jar(jar, now)?;
        self.0.insert(sealed.to_owned(), token);
        Some(token)
    }
}

/// Reads the token once per request; `Option<AuthToken>` in a handler is
/// `None` when there is no valid token.
#[rocket::async_trait]
impl<'r> FromRequest<'r> for AuthToken {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let (jar, now) = (req.cookies(), OffsetDateTime::now_utc());
        let opened = match req.rocket().state::<crate::fairing::Service>() {
            Some(service) => service.opened.open(jar, now),
            None => AuthToken::from_jar(jar, now),
        };
        match opened {
            Some(token) => Outcome::Success(token),
            None => Outcome::Forward(rocket::http::Status::Unauthorized),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_750_000_000).unwrap()
    }

    #[test]
    fn round_trips() {
        let token = AuthToken::new(Uuid::new_v4(), now());
        assert_eq!(AuthToken::decode(&token.encode(), now()), Some(token));
        let later = now() + MAX_AGE;
        assert_eq!(AuthToken::decode(&token.encode(), later), Some(token));
    }

    #[test]
    fn refuses_expired_future_and_malformed() {
        let token = AuthToken::new(Uuid::new_v4(), now());
        let text = token.encode();
        let too_late = now() + MAX_AGE + Duration::seconds(1);
        assert_eq!(AuthToken::decode(&text, too_late), None);
        let too_early = now() - MAX_SKEW - Duration::seconds(1);
        assert_eq!(AuthToken::decode(&text, too_early), None);
        let user = token.user;
        for bad in [
            String::new(),
            user.to_string(),
            format!("v2.{user}.1750000000"),
            format!("v1.{user}"),
            "v1.not-a-uuid.1750000000".to_owned(),
            format!("v1.{user}.soon"),
            format!("v1.{user}.-9223372036854775808"),
        ] {
            assert_eq!(AuthToken::decode(&bad, now()), None, "{bad}");
        }
    }

    #[test]
    fn remembered_tokens_still_expire() {
        let token = AuthToken::new(Uuid::new_v4(), now());
        assert!(token.is_valid_at(now() + MAX_AGE));
        assert!(!token.is_valid_at(now() + MAX_AGE + Duration::seconds(1)));
    }

    #[test]
    fn debug_hides_the_visitor() {
        let token = AuthToken::new(Uuid::new_v4(), now());
        assert!(!format!("{token:?}").contains(&token.user.to_string()));
    }

    mod properties {
        use super::*;
        use base64::engine::general_purpose::STANDARD;
        use base64::Engine;
        use proptest::prelude::*;
        use rocket::http::private::cookie::{Cookie, CookieJar, Key};

        /// Seals `text` as Rocket's private jar does.
        fn seal(key: &Key, text: String) -> String {
            let mut jar = CookieJar::new();
            jar.private_mut(key).add(Cookie::new(AUTH_TOKEN, text));
            jar.get(AUTH_TOKEN).unwrap().value().to_owned()
        }

        fn open(key: &Key, sealed: String) -> Option<AuthToken> {
            let jar = CookieJar::new();
            let cookie = jar.private(key).decrypt(Cookie::new(AUTH_TOKEN, sealed))?;
            AuthToken::decode(cookie.value(), now())
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            #[test]
            fn sealing_then_opening_is_the_identity(bytes in any::<[u8; 16]>(), age in 0i64..31_536_000) {
                let key = Key::generate();
                let token = AuthToken {
                    user: Uuid::from_bytes(bytes),
                    issued_at: now().unix_timestamp() - age,
                };
                prop_assert_eq!(open(&key, seal(&key, token.encode())), Some(token));
            }

            #[test]
            fn any_bit_flip_is_refused(bytes in any::<[u8; 16]>(), bit in any::<prop::sample::Index>()) {
                let key = Key::generate();
                let token = AuthToken::new(Uuid::from_bytes(bytes), now());
                let mut raw = STANDARD.decode(seal(&key, token.encode())).unwrap();
                let bit = bit.index(raw.len() * 8);
                raw[bit / 8] ^= 1 << (bit % 8);
                prop_assert_eq!(open(&key, STANDARD.encode(raw)), None);
            }

            #[test]
            fn another_key_is_refused(bytes in any::<[u8; 16]>()) {
                let token = AuthToken::new(Uuid::from_bytes(bytes), now());
                let sealed = seal(&Key::generate(), token.encode());
                prop_assert_eq!(open(&Key::generate(), sealed), None);
            }

            #[test]
            fn decoding_never_panics(text in any::<String>()) {
                let _ = AuthToken::decode(&text, now());
            }
        }
    }
}
