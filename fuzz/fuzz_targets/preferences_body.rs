//! The set-preferences body: only one of the five values gets through, and
//! only when the body says it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rocket_cookie_service::fuzzing::preferences_body;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(consent) = preferences_body(text) {
        assert!(text.contains(consent.as_str()), "{text:?}");
    }
});
