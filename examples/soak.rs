//! A load-and-fault soak on loopback: concurrent page views of many
//! visitors while the central service flaps between up, slow and down.
//!
//! ```sh
//! cargo run --release --example soak                 # 2 minutes, 32 connections
//! cargo run --example soak -- --seconds 20           # the short form CI runs
//! cargo run --example soak -- --seconds 600 --connections 64
//! ```
//!
//! It prints the requests served, the status mix, latency percentiles and
//! the process's resident memory, and exits non-zero if any answer is
//! outside the documented set or memory keeps growing. Everything runs in
//! this process and talks over 127.0.0.1 only.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rocket::tokio;
use rocket_cookie_service::dev::{serve, DevCentral, Endpoint, Fault, Running};
use rocket_cookie_service::{CookieConsent, MokaCache};

const API_KEY: &str = "soak-key";
const VISITORS: usize = 200;

/// What the routes may answer while the central service misbehaves.
const INIT_STATUSES: [u16; 4] = [200, 502, 503, 504];
const SAVE_STATUSES: [u16; 3] = [200, 502, 504];

struct Options {
    seconds: u64,
    connections: usize,
}

fn options() -> Result<Options, String> {
    let mut options = Options {
        seconds: 120,
        connections: 32,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut number = |name: &str| -> Result<u64, String> {
            let value = args.next().ok_or(format!("{name} needs a number"))?;
            value
                .parse()
                .map_err(|_| format!("{name}: not a number: {value:?}"))
        };
        match arg.as_str() {
            "--seconds" => options.seconds = number("--seconds")?.max(5),
            "--connections" => options.connections = number("--connections")?.max(1) as usize,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(options)
}

/// Resident memory of this process, in KiB.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
            line.split_whitespace().nth(1)?.parse().ok()
        })
        .unwrap_or(0)
}

#[derive(Default)]
struct Tally {
    statuses: BTreeMap<(&'static str, u16), u64>,
    latencies: Vec<Duration>,
    unexpected: Vec<String>,
}

async fn start_site(central: &DevCentral) -> Running {
    let figment = rocket::Config::figment()
        .merge(("address", "127.0.0.1"))
        .merge(("port", 0))
        .merge(("log_level", "off"))
        .merge(("central_cookie_service_url", central.url()))
        .merge(("cookie_service_api_key", API_KEY))
        .merge(("cookie_service_health_interval", 1))
        .merge(("cookie_service_health_ttl", 2))
        .merge(("cookie_service_health_timeout", 1))
        .merge(("cookie_service_timeout", 1));
    let rocket = rocket::custom(figment).attach(CookieConsent::fairing(MokaCache::new()));
    serve(rocket).await.expect("the site starts")
}

/// Signs visitors in through the real callback; their `Cookie` values.
async fn visitors(site: &Running, central: &DevCentral) -> Vec<String> {
    let mut tokens = Vec::with_capacity(VISITORS);
    for _ in 0..VISITORS {
        tokens.push(central.sign_in(site.url()).await.expect("a token"));
    }
    tokens
}

/// The central service's moods, in turn, a few seconds each.
async fn flap(central: Arc<DevCentral>, running: Arc<AtomicBool>) {
    let moods = ["up", "slow", "up", "down"];
    let mut turn = 0;
    while running.load(Ordering::Relaxed) {
        let mood = moods[turn % moods.len()];
        let slow = Fault::Delay(Duration::from_millis(1500));
        match mood {
            "slow" => {
                central.set_up(true);
                central.set_fault(Endpoint::ReadPreferences, Some(slow));
                central.set_fault(Endpoint::WritePreferences, Some(slow));
            }
            "down" => {
                central.set_up(false);
                central.set_fault(Endpoint::ReadPreferences, Some(Fault::Status(500)));
                central.set_fault(Endpoint::WritePreferences, Some(Fault::CloseMidAnswer));
            }
            _ => {
                central.set_up(true);
                central.set_fault(Endpoint::ReadPreferences, None);
                central.set_fault(Endpoint::WritePreferences, None);
            }
        }
        turn += 1;
        tokio::time::sleep(Duration::from_secs(4)).await;
    }
}

async fn worker(
    id: usize,
    http: reqwest::Client,
    base: String,
    tokens: Arc<Vec<String>>,
    deadline: Instant,
    tally: Arc<Mutex<Tally>>,
) {
    let fresh = rocket::time::OffsetDateTime::now_utc()
        .format(&rocket::time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let mut n = id;
    while Instant::now() < deadline {
        n += 7;
        let token = &tokens[n % tokens.len()];
        // A mix of page views: fresh, stale, offline, anonymous, and saves.
        let (route, request, allowed): (&'static str, _, &[u16]) = match n % 10 {
            0 => {
                let body = r#"{"preferences": {"consent": "performance"}}"#;
                let request = http
                    .post(format!("{base}/_cookies/set-preferences"))
                    .header("Content-Type", "application/json")
                    .header("Cookie", token.as_str())
                    .body(body);
                ("set-preferences", request, &SAVE_STATUSES)
            }
            1 => {
                let cookie = format!("{token}; _cookies_accepted=all; _cookies_set_offline=true");
                let request = http
                    .get(format!("{base}/_cookies/init"))
                    .header("Cookie", cookie);
                ("init offline", request, &INIT_STATUSES)
            }
            2 => {
                let request = http.get(format!("{base}/_cookies/init"));
                ("init anonymous", request, &INIT_STATUSES)
            }
            3 | 4 => {
                let request = http
                    .get(format!("{base}/_cookies/init"))
                    .header("Cookie", token.as_str());
                ("init stale", request, &INIT_STATUSES)
            }
            _ => {
                let cookie =
                    format!("{token}; _cookies_accepted=all; _cookies_freshness_ts={fresh}");
                let request = http
                    .get(format!("{base}/_cookies/init"))
                    .header("Cookie", cookie);
                ("init fresh", request, &INIT_STATUSES)
            }
        };
        let started = Instant::now();
        let answer = request.send().await;
        let took = started.elapsed();
        let mut tally = tally.lock().unwrap_or_else(|p| p.into_inner());
        match answer {
            Ok(answer) => {
                let status = answer.status().as_u16();
                *tally.statuses.entry((route, status)).or_default() += 1;
                tally.latencies.push(took);
                if !allowed.contains(&status) {
                    tally.unexpected.push(format!("{route}: {status}"));
                }
            }
            Err(e) => tally.unexpected.push(format!("{route}: no answer: {e}")),
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

#[rocket::main]
async fn main() {
    let options = match options() {
        Ok(options) => options,
        Err(e) => {
            eprintln!("soak: {e}\nusage: soak [--seconds N] [--connections N]");
            std::process::exit(2);
        }
    };
    let central = Arc::new(DevCentral::start(API_KEY).await.expect("central starts"));
    let site = start_site(&central).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(options.connections)
        .build()
        .expect("HTTP client");
    let tokens = Arc::new(visitors(&site, &central).await);

    println!(
        "soak: {} s, {} connections, {VISITORS} visitors, central flapping up/slow/up/down every 4 s",
        options.seconds, options.connections
    );
    let running = Arc::new(AtomicBool::new(true));
    let flapper = tokio::spawn(flap(central.clone(), running.clone()));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(options.seconds);

    // Memory once warm (a tenth in), then every second to the end.
    let samples = Arc::new(Mutex::new(Vec::new()));
    let sampler = {
        let samples = samples.clone();
        let warm = Duration::from_secs(options.seconds / 10);
        tokio::spawn(async move {
            tokio::time::sleep(warm).await;
            while Instant::now() < deadline {
                samples
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(rss_kib());
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        })
    };
    let workers: Vec<_> = (0..options.connections)
        .map(|id| {
            let base = site.url().to_owned();
            let task = worker(
                id,
                http.clone(),
                base,
                tokens.clone(),
                deadline,
                tally.clone(),
            );
            tokio::spawn(task)
        })
        .collect();
    for worker in workers {
        let _ = worker.await;
    }
    running.store(false, Ordering::Relaxed);
    let _ = sampler.await;
    flapper.abort();
    let elapsed = started.elapsed();
    site.stop().await;

    let mut tally = Arc::try_unwrap(tally)
        .ok()
        .map(|m| m.into_inner().unwrap_or_else(|p| p.into_inner()))
        .unwrap_or_default();
    tally.latencies.sort();
    let total: u64 = tally.statuses.values().sum();
    println!(
        "requests served: {total} in {:.1} s ({:.0}/s)",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64()
    );
    println!("status mix:");
    for ((route, status), count) in &tally.statuses {
        println!("  {route:<16} {status}  {count:>8}");
    }
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "latency: p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        ms(percentile(&tally.latencies, 0.50)),
        ms(percentile(&tally.latencies, 0.90)),
        ms(percentile(&tally.latencies, 0.99)),
        ms(percentile(&tally.latencies, 1.0)),
    );

    let samples = samples.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let third = (samples.len() / 3).max(1);
    let first = samples.iter().take(third).copied().max().unwrap_or(0);
    let last = samples.iter().rev().take(third).copied().max().unwrap_or(0);
    println!(
        "resident memory: {:.1} MiB once warm, {:.1} MiB at the end (peak of the first and last third)",
        first as f64 / 1024.0,
        last as f64 / 1024.0
    );

    let mut failed = false;
    if total == 0 {
        eprintln!("FAIL: no request was answered");
        failed = true;
    }
    if !tally.unexpected.is_empty() {
        eprintln!(
            "FAIL: {} answers outside the documented set, e.g. {:?}",
            tally.unexpected.len(),
            &tally.unexpected[..tally.unexpected.len().min(5)]
        );
        failed = true;
    }
    // Growth beyond a quarter plus 16 MiB between the first and last third
    // of a steady load is growth without bound.
    if last > first + first / 4 + 16 * 1024 {
        eprintln!("FAIL: resident memory grew from {first} KiB to {last} KiB");
        failed = true;
    }
    if failed {
        std::process::exit(1);
    }
    println!("soak: ok");
}
