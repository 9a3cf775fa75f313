//! ISO-8601 instants as the protocol writes them, compared as instants.
//!
//! The Flask original compared `_cookies_freshness_ts` with the central
//! service's `updated_at` as strings, which orders `…+01:00` against `…Z`
//! wrongly and `2024-1-…` against `2024-01-…` not at all.

use rocket::time::format_description::well_known::Rfc3339;
use rocket::time::macros::format_description;
use rocket::time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// Parses an ISO-8601 date-time into a UTC instant: RFC 3339 with `Z` or
/// an offset, or, as Python's `isoformat()` writes a naive time, no offset
/// at all (read as UTC). The year must be four digits, 1970 or later. A `T` or a space may separate date and time; fractions of a second
/// are optional. Percent-encoded colons (as a cookie may carry them) are
/// accepted.
pub fn parse(text: &str) -> Option<OffsetDateTime> {
    let text = text.trim();
    // Four digits first: no sign, no extended years.
    if text.len() > 64 || !text.as_bytes().get(..4)?.iter().all(u8::is_ascii_digit) {
        return None;
    }
    parse_iso(text)
        .and_then(|t| t.checked_to_offset(UtcOffset::UTC))
        .filter(|t| t.year() >= 1970)
}

fn parse_iso(text: &str) -> Option<OffsetDateTime> {
    let decoded;
    let text = if text.contains('%') {
        decoded = text
            .replace("%3A", ":")
            .replace("%3a", ":")
            .replace("%2B", "+");
        decoded.as_str()
    } else {
        text
    };
    if let Ok(t) = OffsetDateTime::parse(text, &Rfc3339) {
        return Some(t);
    }
    let spaced = text.replacen(' ', "T", 1);
    if let Ok(t) = OffsetDateTime::parse(&spaced, &Rfc3339) {
        return Some(t);
    }
    let naive = format_description!(
        version = 2,
        "[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]]"
    );
    PrimitiveDateTime::parse(&spaced, &naive)
        .ok()
        .map(|t| t.assume_offset(UtcOffset::UTC))
}

/// `now` in the form the site hands out: RFC 3339, UTC, milliseconds, `Z`.
pub fn format(now: OffsetDateTime) -> String {
    let now = now.to_offset(UtcOffset::UTC);
    let millis = now.millisecond();
    let trimmed = now
        .replace_nanosecond(u32::from(millis) * 1_000_000)
        .unwrap_or(now);
    trimmed
        .format(&Rfc3339)
        .unwrap_or_else(|_| now.unix_timestamp().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rocket::time::macros::datetime;

    #[test]
    fn reads_every_iso_form_as_the_same_instant() {
        let instant = datetime!(2024-05-01 10:00:00 UTC);
        for text in [
            "2024-05-01T10:00:00Z",
            "2024-05-01T10:00:00.000Z",
            "2024-05-01T10:00:00+00:00",
            "2024-05-01T12:00:00+02:00",
            "2024-05-01T10:00:00",
            "2024-05-01 10:00:00.000000",
            "2024-05-01T10%3A00%3A00Z",
        ] {
            assert_eq!(parse(text), Some(instant), "{text}");
        }
    }

    #[test]
    fn string_order_is_not_instant_order() {
        // As strings the first is greater; as instants it is an hour older.
        let a = parse("2024-05-01T10:30:00+02:00").unwrap();
        let b = parse("2024-05-01T09:00:00Z").unwrap();
        assert!("2024-05-01T10:30:00+02:00" > "2024-05-01T09:00:00Z");
        assert!(a < b);
    }

    #[test]
    fn refuses_what_is_not_a_time() {
        for text in [
            "",
            "yesterday",
            "2024-13-01T00:00:00Z",
            "1714557600",
            "2024-05-01",
        ] {
            assert_eq!(parse(text), None, "{text}");
        }
    }

    #[test]
    fn formats_what_it_parses() {
        let now = OffsetDateTime::now_utc();
        let text = format(now);
        assert!(text.ends_with('Z'), "{text}");
        let back = parse(&text).unwrap();
        assert!((now - back).abs() < rocket::time::Duration::milliseconds(1));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;
        use rocket::time::format_description::well_known::Iso8601;

        fn instant() -> impl Strategy<Value = OffsetDateTime> {
            // 1970 to 2100, to the microsecond.
            (0i64..4_102_444_800, 0u32..1_000_000).prop_map(|(secs, micros)| {
                OffsetDateTime::from_unix_timestamp(secs).unwrap()
                    + rocket::time::Duration::microseconds(i64::from(micros))
            })
        }

        fn offset() -> impl Strategy<Value = UtcOffset> {
            (-14i8..=14, prop::sample::select(vec![0i8, 30, 45]))
                .prop_map(|(h, m)| UtcOffset::from_hms(h, if h < 0 { -m } else { m }, 0).unwrap())
        }

        /// The same instant written in one of the forms the protocol meets.
        fn written(t: OffsetDateTime, offset: UtcOffset, form: u8) -> String {
            let local = t.to_offset(offset);
            match form {
                0 => local.format(&Rfc3339).unwrap(),
                1 => local.format(&Iso8601::DEFAULT).unwrap(),
                2 => format(t),
                // Python's naive `isoformat()`, in UTC.
                _ => {
                    let utc = t.to_offset(UtcOffset::UTC);
                    let naive = format_description!(
                        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]"
                    );
                    utc.format(&naive).unwrap()
                }
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2048))]

            #[test]
            fn comparison_is_an_order_on_instants(
                a in instant(), b in instant(), oa in offset(), ob in offset(),
                fa in 0u8..4, fb in 0u8..4,
            ) {
                let pa = parse(&written(a, oa, fa)).expect("parses");
                let pb = parse(&written(b, ob, fb)).expect("parses");
                // Forms with milliseconds lose the microseconds.
                let ms = |t: OffsetDateTime| (t.unix_timestamp_nanos() / 1_000_000) as i64;
                if ms(a) != ms(b) {
                    prop_assert_eq!(ms(pa).cmp(&ms(pb)), ms(a).cmp(&ms(b)));
                }
                prop_assert_eq!(pa.cmp(&pb), pb.cmp(&pa).reverse());
            }

            #[test]
            fn never_panics(text in any::<String>()) {
                let _ = parse(&text);
            }
        }
    }
}
