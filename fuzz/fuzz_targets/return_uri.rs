//! The callback's return-URI check: whatever comes in, the browser must
//! land on the site's own host and port.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rocket_cookie_service::fuzzing::{lands_on, return_uri};

const HOSTS: [&str; 3] = ["a.localhost:8000", "example.com", "[::1]:8443"];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let host = HOSTS[usize::from(pick) % HOSTS.len()];
    let uri = String::from_utf8_lossy(rest);
    let location = return_uri(host, &uri);
    for scheme in ["http", "https"] {
        let callback = format!("{scheme}://{host}/_cookies/callback?code=x");
        assert!(
            lands_on(host, &callback, &location),
            "{uri:?} sends {callback} to {location:?}"
        );
    }
});
