//! The banner script's cookies and their timestamps, from a raw `Cookie`
//! header: never a panic, and what is read is what was written.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rocket_cookie_service::fuzzing::{cookie_header, timestamp};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (consent, fresh) = cookie_header(&text);
    if let Some(consent) = consent {
        assert!(text.contains(consent.as_str()));
    }
    if let Some(fresh) = fresh {
        assert!((1970..=9999).contains(&fresh.year()), "{text:?}");
    }
    if let Some(t) = timestamp(&text) {
        // Written back as RFC 3339, it reads as the same instant.
        let again = rocket::time::format_description::well_known::Rfc3339;
        if let Ok(written) = t.format(&again) {
            assert_eq!(timestamp(&written), Some(t), "{text:?}");
        }
    }
});
