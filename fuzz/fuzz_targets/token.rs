//! Token opening: sealed values and plain texts of any shape are refused
//! without a panic, and what opens is within its lifetime.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rocket_cookie_service::fuzzing::{open_sealed, open_token};

const NOW: i64 = 1_750_000_000;
const MAX_AGE: i64 = 365 * 24 * 3600;

fuzz_target!(|data: &[u8]| {
    let now = rocket::time::OffsetDateTime::from_unix_timestamp(NOW).unwrap();
    let text = String::from_utf8_lossy(data);
    for opened in [open_token(&text, now), open_sealed(&text, now)] {
        if let Some((_, issued_at)) = opened {
            assert!(NOW - issued_at <= MAX_AGE, "{text:?} opened as too old");
            assert!(issued_at - NOW <= 300, "{text:?} opened from the future");
        }
    }
});
