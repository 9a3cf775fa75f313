//! The visitor's consent: the value, the categories it allows, and the
//! request guard that reads it.

use std::fmt;
use std::str::FromStr;

use rocket::request::{FromRequest, Outcome, Request};
use serde::{Deserialize, Serialize};

use crate::cookies;

/// One visitor's consent, as the central service and the banner script
/// store it (`_cookies_accepted`).
///
/// As a request guard it never fails: a missing or unreadable
/// `_cookies_accepted` cookie reads as [`Consent::Unset`], which allows
/// essential cookies only. Use it to decide on the server whether to render
/// a tag:
///
/// ```
/// # use rocket::get;
/// use rocket_cookie_service::{Category, Consent};
///
/// #[get("/")]
/// fn index(consent: Consent) -> &'static str {
///     if consent.allows(Category::Performance) {
///         "<script src=/analytics.js></script>"
///     } else {
///         ""
///     }
/// }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Consent {
    /// Essential cookies only.
    Essential,
    /// Essential and functionality cookies.
    Functionality,
    /// Essential and performance (analytics) cookies.
    Performance,
    /// Every category.
    All,
    /// No choice made yet: essential cookies only.
    #[default]
    Unset,
}

/// A kind of cookie or tracker a page may want to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    /// Needed for the site to work; always allowed.
    Essential,
    /// Remembers choices such as language or region.
    Functionality,
    /// Measures use of the site (analytics).
    Performance,
}

impl Consent {
    /// Every value, in the order the central service documents them.
    pub const ALL: [Consent; 5] = [
        Consent::Essential,
        Consent::Functionality,
        Consent::Performance,
        Consent::All,
        Consent::Unset,
    ];

    /// Whether this consent allows cookies of `category`.
    ///
    /// ```
    /// use rocket_cookie_service::{Category, Consent};
    ///
    /// assert!(Consent::Unset.allows(Category::Essential));
    /// assert!(!Consent::Functionality.allows(Category::Performance));
    /// assert!(Consent::All.allows(Category::Performance));
    /// ```
    pub fn allows(self, category: Category) -> bool {
        matches!(
            (self, category),
            (_, Category::Essential)
                | (Consent::All, _)
                | (Consent::Functionality, Category::Functionality)
                | (Consent::Performance, Category::Performance)
        )
    }

    /// The wire form: `essential`, `functionality`, `performance`, `all` or
    /// `unset`.
    pub fn as_str(self) -> &'static str {
        match self {
            Consent::Essential => "essential",
            Consent::Functionality => "functionality",
            Consent::Performance => "performance",
            Consent::All => "all",
            Consent::Unset => "unset",
        }
    }

    /// Whether a choice was made.
    pub fn is_set(self) -> bool {
        self != Consent::Unset
    }
}

impl fmt::Display for Consent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that is not one of the five consent values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a consent value (expected essential, functionality, performance, all or unset)")]
pub struct InvalidConsent;

impl FromStr for Consent {
    type Err = InvalidConsent;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Consent::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or(InvalidConsent)
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Consent {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        Outcome::Success(cookies::local_consent(req.cookies()).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_form_round_trips() {
        for consent in Consent::ALL {
            assert_eq!(consent.as_str().parse(), Ok(consent));
            let json = serde_json_str(consent);
            assert_eq!(json, format!("\"{consent}\""));
        }
        assert_eq!("All".parse::<Consent>(), Err(InvalidConsent));
        assert_eq!("".parse::<Consent>(), Err(InvalidConsent));
    }

    fn serde_json_str(consent: Consent) -> String {
        rocket::serde::json::to_string(&consent).unwrap()
    }

    #[test]
    fn categories_follow_the_choice() {
        use Category::*;
        let table = [
            (Consent::Essential, [true, false, false]),
            (Consent::Functionality, [true, true, false]),
            (Consent::Performance, [true, false, true]),
            (Consent::All, [true, true, true]),
            (Consent::Unset, [true, false, false]),
        ];
        for (consent, expected) in table {
            let got = [Essential, Functionality, Performance].map(|c| consent.allows(c));
            assert_eq!(got, expected, "{consent}");
        }
    }
}
