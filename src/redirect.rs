//! Return-URI safety: where `/_cookies/callback` may send the browser.
//!
//! A return URI is safe when a browser, resolving it against the page it is
//! on, lands on this site's own host and port. The check parses with the
//! WHATWG URL rules browsers use (the `url` crate), so every trick that makes a browser leave the site (`//x`,
//! `/\x`, tabs and newlines inside, leading control characters, userinfo)
//! resolves to another host here too and is refused.

use rocket::http::uri::Host;
use url::{Position, Url};

/// Where to send the browser when the return URI is missing or unsafe.
pub(crate) const FALLBACK: &str = "/";

/// The host and port a request was made to, from its `Host` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Site {
    base: Option<Url>,
    explicit_port: Option<u16>,
}

impl Site {
    /// The site as the request's `Host` header names it. Without a usable
    /// `Host`, only relative return URIs are accepted.
    pub(crate) fn from_host(host: Option<&Host<'_>>) -> Site {
        let Some(host) = host else {
            return Site::unknown();
        };
        let domain = host.domain().as_str();
        let base = match host.port() {
            Some(port) => Url::parse(&format!("http://{domain}:{port}/")),
            None => Url::parse(&format!("http://{domain}/")),
        };
        match base {
            Ok(base) if base.host_str().is_some() => Site {
                base: Some(base),
                explicit_port: host.port(),
            },
            _ => Site::unknown(),
        }
    }

    /// A site whose host is not known.
    pub(crate) fn unknown() -> Site {
        Site {
            base: None,
            explicit_port: None,
        }
    }

    /// Whether `url` is on this site: `http` or `https`, no userinfo, the
    /// same host, and the same port (the scheme's default when the `Host`
    /// header gives none, since a proxy in front may terminate TLS).
    pub(crate) fn owns(&self, url: &Url) -> bool {
        let Some(base) = &self.base else {
            return false;
        };
        if !matches!(url.scheme(), "http" | "https")
            || !url.username().is_empty()
            || url.password().is_some()
            || url.host_str() != base.host_str()
        {
            return false;
        }
        let expected = self.explicit_port.or_else(|| default_port(url.scheme()));
        url.port_or_known_default() == expected
    }

    /// Whether an `Origin` header value names this site.
    pub(crate) fn is_origin(&self, origin: &str) -> bool {
        Url::parse(origin).is_ok_and(|url| self.owns(&url))
    }

    /// The URI to send the browser to for `return_uri`: the URI itself,
    /// normalised as a browser would read it, when it lands on this site;
    /// [`FALLBACK`] otherwise. A relative URI stays relative, so the page
    /// keeps the scheme the browser used.
    pub(crate) fn safe_return(&self, return_uri: Option<&str>) -> String {
        return_uri
            .and_then(|uri| self.resolve(uri))
            .unwrap_or_else(|| FALLBACK.to_owned())
    }

    fn resolve(&self, uri: &str) -> Option<String> {
        // Absolute on its own: read it as such, even where a browser on an
        // `http` page would take `http:x` as a path, since the page's scheme
        // is not known here.
        if let Ok(target) = Url::parse(uri) {
            return self.owns(&target).then(|| target.into());
        }
        let unknown;
        let base = match &self.base {
            Some(base) => base,
            None => {
                unknown = Url::parse("http://site.invalid/").ok()?;
                &unknown
            }
        };
        let target = base.join(uri).ok()?;
        if target.host_str() != base.host_str() || target.port() != base.port() {
            return None;
        }
        // Written into `Location`, a path starting `//` would read as a
        // scheme-relative URI to another host.
        let local = &target[Position::BeforePath..];
        (!local.starts_with("//")).then(|| local.to_owned())
    }
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rocket::http::uri::Host;

    fn site(authority: &str) -> Site {
        let host = Host::parse(authority).unwrap();
        Site::from_host(Some(&host))
    }

    #[test]
    fn keeps_same_site_uris() {
        let site = site("a.localhost:8000");
        let cases = [
            ("/", "/"),
            ("/docs?q=1#top", "/docs?q=1#top"),
            ("docs", "/docs"),
            (
                "http://a.localhost:8000/page?x=1",
                "http://a.localhost:8000/page?x=1",
            ),
            (
                "https://a.localhost:8000/page",
                "https://a.localhost:8000/page",
            ),
            ("HTTP://A.LOCALHOST:8000/p", "http://a.localhost:8000/p"),
        ];
        for (uri, expected) in cases {
            assert_eq!(site.safe_return(Some(uri)), expected, "{uri}");
        }
    }

    #[test]
    fn default_ports_follow_the_scheme() {
        let site = site("example.com");
        assert_eq!(
            site.safe_return(Some("https://example.com/a")),
            "https://example.com/a"
        );
        assert_eq!(
            site.safe_return(Some("http://example.com/a")),
            "http://example.com/a"
        );
        assert_eq!(site.safe_return(Some("https://example.com:8443/a")), "/");
    }

    #[test]
    fn refuses_every_way_off_site() {
        let site = site("a.localhost:8000");
        for uri in [
            "//evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "/\t/evil.example",
            "\t//evil.example",
            "\u{1}//evil.example",
            " //evil.example",
            "/.//evil.example",
            "http://evil.example/",
            "https:evil.example",
            "http:evil.example",
            "https://a.localhost:8000@evil.example/",
            "http://user:pw@a.localhost:8000/",
            "http://a.localhost:8001/",
            "http://b.localhost:8000/",
            "javascript:alert(1)",
            "data:text/html,hi",
            "http://a.localhost:8000.evil.example/",
        ] {
            let got = site.safe_return(Some(uri));
            assert_eq!(got, FALLBACK, "{uri:?} gave {got}");
        }
        assert_eq!(site.safe_return(None), FALLBACK);
    }

    #[test]
    fn without_a_host_only_relative_uris_pass() {
        let site = Site::unknown();
        assert_eq!(site.safe_return(Some("/page")), "/page");
        assert_eq!(site.safe_return(Some("http://a.localhost:8000/")), FALLBACK);
        assert_eq!(site.safe_return(Some("//evil.example/")), FALLBACK);
    }

    #[test]
    fn origins() {
        let site = site("a.localhost:8000");
        assert!(site.is_origin("http://a.localhost:8000"));
        assert!(!site.is_origin("http://evil.example"));
        assert!(!site.is_origin("null"));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// Pieces browsers and parsers disagree on, to build hostile URIs.
        fn piece() -> impl Strategy<Value = &'static str> {
            prop::sample::select(vec![
                "",
                "/",
                "//",
                "///",
                "\\",
                "/\\",
                "\\/",
                "http:",
                "https:",
                "HTTP://",
                "javascript:",
                "data:",
                " ",
                "\t",
                "\n",
                "\r",
                "\u{0}",
                "\u{1f}",
                "%2F",
                "%5C",
                "%2f%2f",
                "@",
                ":",
                ".",
                "..",
                "?",
                "#",
                "a.localhost",
                "a.localhost:8000",
                "evil.example",
                ":8000",
                ":80",
                "\u{2215}",
                "\u{ff0f}",
                "\u{3002}",
                "user:pw@",
                "[::1]",
                "127.0.0.1",
                "xn--",
                "%00",
            ])
        }

        fn hostile() -> impl Strategy<Value = String> {
            prop_oneof![
                prop::collection::vec(piece(), 1..8).prop_map(|p| p.concat()),
                any::<String>(),
            ]
        }

        const CALLBACK: &str = "http://a.localhost:8000/_cookies/callback?code=x";

        /// What a browser does with the `Location` the callback sends.
        fn followed(location: &str) -> Url {
            Url::parse(CALLBACK).unwrap().join(location).unwrap()
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(4096))]

            #[test]
            fn every_accepted_uri_lands_on_the_site(uri in hostile()) {
                let site = site("a.localhost:8000");
                let location = site.safe_return(Some(&uri));
                let target = followed(&location);
                prop_assert!(matches!(target.scheme(), "http" | "https"), "{uri:?} -> {location}");
                prop_assert_eq!(target.host_str(), Some("a.localhost"), "{:?} -> {}", uri, location);
                prop_assert_eq!(target.port_or_known_default(), Some(8000));
                prop_assert!(target.username().is_empty() && target.password().is_none());
            }

            #[test]
            fn same_site_pages_are_kept(path in "(/[a-z0-9._~-]{0,12}){1,4}", query in "[a-z0-9=&]{0,16}") {
                let site = site("a.localhost:8000");
                let page = format!("http://a.localhost:8000{path}?{query}");
                let expected = Url::parse(&page).unwrap();
                prop_assert_eq!(site.safe_return(Some(&page)), expected.as_str());
            }
        }
    }
}
