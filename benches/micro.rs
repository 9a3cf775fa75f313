//! The per-request pure work, one function at a time:
//! `cargo bench --features fuzzing --bench micro`.
//!
//! Each group also times the cheapest thing the same request must do anyway
//! (the baseline row), so the figures read as a ratio.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use rocket::http::private::cookie::{Cookie, CookieJar, Key};
use rocket::time::OffsetDateTime;
use rocket_cookie_service::fuzzing::{cookie_header, open_sealed, open_token, return_uri};

fn token(c: &mut Criterion) {
    let now = OffsetDateTime::now_utc();
    let plain = format!(
        "v1.6f1c2c8e-8b0e-4d59-9a53-3a1c0f5e2b11.{}",
        now.unix_timestamp()
    );
    // Sealed under the key `open_sealed` uses.
    let mut jar = CookieJar::new();
    jar.private_mut(&Key::from(&[7; 64]))
        .add(Cookie::new("_cookies_auth_token", plain.clone()));
    let sealed = jar.get("_cookies_auth_token").unwrap().value().to_owned();
    assert!(open_sealed(&sealed, now).is_some());

    let mut group = c.benchmark_group("token");
    group.bench_function("baseline: copy the cookie value", |b| {
        b.iter(|| black_box(sealed.as_str()).to_owned())
    });
    group.bench_function("decode the plain text", |b| {
        b.iter(|| open_token(black_box(&plain), now))
    });
    group.bench_function("open the sealed cookie (AES-GCM + decode)", |b| {
        b.iter(|| open_sealed(black_box(&sealed), now))
    });
    group.finish();
}

fn cookies(c: &mut Criterion) {
    let header = "_ga=GA1.1.123; _cookies_accepted=performance; \
                  _cookies_freshness_ts=2026-12-04T10:00:00.123Z; session=abc";
    let mut group = c.benchmark_group("cookies");
    group.bench_function("baseline: split the header", |b| {
        b.iter(|| Cookie::split_parse(black_box(header)).count())
    });
    group.bench_function("read consent and freshness", |b| {
        b.iter(|| cookie_header(black_box(header)))
    });
    group.finish();
}

fn redirect(c: &mut Criterion) {
    let host = "a.localhost:8000";
    let mut group = c.benchmark_group("return_uri");
    group.bench_function("baseline: parse the URI", |b| {
        b.iter(|| url_parse(black_box("http://a.localhost:8000/docs/page?x=1")))
    });
    group.bench_function("same-site absolute", |b| {
        b.iter(|| return_uri(host, black_box("http://a.localhost:8000/docs/page?x=1")))
    });
    group.bench_function("relative", |b| {
        b.iter(|| return_uri(host, black_box("/docs/page?x=1")))
    });
    group.bench_function("off-site", |b| {
        b.iter(|| return_uri(host, black_box("/\\evil.example")))
    });
    group.finish();
}

fn url_parse(text: &str) -> bool {
    rocket::http::uri::Absolute::parse(text).is_ok()
}

criterion_group!(benches, token, cookies, redirect);
criterion_main!(benches);
