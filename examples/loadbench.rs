//! The load benchmark: the fairing against bare Rocket, side by side in one
//! run, with `wrk` as the load generator.
//!
//! ```sh
//! cargo run --release --example loadbench             # about 5 minutes
//! cargo run --release --example loadbench -- --quick  # about 2 minutes
//! cargo run --release --example loadbench -- --save   # also updates benches/throughput.png
//! cargo run --release --example loadbench -- --plot-only --save
//! ```
//!
//! It starts, in a child process pinned to core 0, a development central
//! service, a site with the fairing and a bare-Rocket baseline site; `wrk`
//! runs pinned to core 1. It prints one table (req/s, p50, p99, memory,
//! upstream calls per request, the ratio to the baseline) and exits
//! non-zero when a target is missed. `wrk` is installed with `apt-get` when
//! missing. Everything talks over 127.0.0.1.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rocket::http::ContentType;
use rocket::serde::json::{json, Value};
use rocket::{get, post, routes, State};
use rocket_cookie_service::dev::{serve, DevCentral, Endpoint, Fault};
use rocket_cookie_service::{CookieConsent, MokaCache};

const API_KEY: &str = "bench-key";
const SECRET: &str = "hPRYyVRiMyxpw5sBB1XeCMN1kFsDCqKvBi2QJxBVHQk=";
const NONE: &str = r#"{"action":"none"}"#;

// ---- the servers (child process) -----------------------------------------

#[get("/json")]
fn constant() -> (ContentType, &'static str) {
    (ContentType::JSON, NONE)
}

#[get("/unrelated")]
fn unrelated() -> (ContentType, &'static str) {
    (ContentType::JSON, NONE)
}

#[get("/calls")]
fn calls(central: &State<DevCentral>) -> Value {
    json!({
        "read": central.calls(Endpoint::ReadPreferences),
        "write": central.calls(Endpoint::WritePreferences),
        "token": central.calls(Endpoint::Token),
    })
}

#[get("/code")]
fn code(central: &State<DevCentral>) -> String {
    central.issue_code().1
}

#[post("/hang/<on>")]
fn hang(central: &State<DevCentral>, on: bool) {
    let forever = on.then_some(Fault::Delay(Duration::from_secs(3600)));
    for endpoint in [
        Endpoint::Health,
        Endpoint::Token,
        Endpoint::ReadPreferences,
        Endpoint::WritePreferences,
    ] {
        central.set_fault(endpoint, forever);
    }
}

fn quiet(port: u16) -> rocket::figment::Figment {
    rocket::Config::figment()
        .merge(("address", "127.0.0.1"))
        .merge(("port", port))
        .merge(("log_level", "off"))
        .merge(("secret_key", SECRET))
}

/// The child: central service, site, baseline, and a control server.
async fn run_servers() {
    let central = DevCentral::start(API_KEY).await.expect("central");
    let central_url = central.url().to_owned();
    let site = rocket::custom(
        quiet(0)
            .merge(("central_cookie_service_url", &central_url))
            .merge(("cookie_service_api_key", API_KEY))
            .merge(("cookie_service_health_interval", 1))
            .merge(("cookie_service_health_ttl", 3600))
            .merge(("cookie_service_health_timeout", 3000)),
    )
    .attach(CookieConsent::fairing(MokaCache::new()))
    .mount("/", routes![unrelated]);
    let site = serve(site).await.expect("site");
    let baseline = rocket::custom(quiet(0)).mount("/", routes![constant, unrelated]);
    let baseline = serve(baseline).await.expect("baseline");
    let control = rocket::custom(quiet(0))
        .manage(central)
        .mount("/", routes![calls, code, hang]);
    let control = serve(control).await.expect("control");
    println!(
        "{}",
        json!({
            "central": central_url,
            "site": site.url(),
            "baseline": baseline.url(),
            "control": control.url(),
        })
    );
    // Until the parent closes our stdin.
    let _ = rocket::tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        while std::io::stdin().read_line(&mut line).is_ok_and(|n| n > 0) {}
    })
    .await;
}

// ---- the driver ---------------------------------------------------------------

struct Servers {
    child: Child,
    central: String,
    site: String,
    baseline: String,
    control: String,
}

impl Drop for Servers {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn pinned(core: usize, program: &str) -> Command {
    if cores() >= 2 {
        let mut command = Command::new("taskset");
        command.arg("-c").arg(core.to_string()).arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn start_servers() -> Servers {
    let exe = std::env::current_exe().expect("own path");
    let mut child = pinned(0, exe.to_str().expect("UTF-8 path"))
        .arg("serve")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the servers");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("ready line");
    let ready: Value = rocket::serde::json::from_str(&line).expect("ready JSON");
    let field = |name: &str| ready[name].as_str().expect(name).to_owned();
    Servers {
        central: field("central"),
        site: field("site"),
        baseline: field("baseline"),
        control: field("control"),
        child,
    }
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
            line.split_whitespace().nth(1)?.parse().ok()
        })
        .unwrap_or(0)
}

fn ensure_wrk() {
    let found = Command::new("wrk").arg("--version").output().is_ok();
    if found {
        return;
    }
    eprintln!("loadbench: wrk is missing; installing it with apt-get");
    let installed = Command::new("apt-get")
        .args(["install", "-y", "-qq", "wrk"])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .is_ok_and(|s| s.success())
        || (Command::new("apt-get")
            .args(["update", "-qq"])
            .status()
            .is_ok()
            && Command::new("apt-get")
                .args(["install", "-y", "-qq", "wrk"])
                .env("DEBIAN_FRONTEND", "noninteractive")
                .status()
                .is_ok_and(|s| s.success()));
    if !installed {
        eprintln!(
            "loadbench: could not install wrk; install it (apt-get install wrk) and run again"
        );
        std::process::exit(2);
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Run {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    requests: u64,
}

fn millis(text: &str) -> f64 {
    let text = text.trim();
    let (number, unit) =
        text.split_at(text.find(|c: char| c.is_alphabetic()).unwrap_or(text.len()));
    let value: f64 = number.parse().unwrap_or(f64::NAN);
    match unit {
        "us" => value / 1000.0,
        "ms" => value,
        "s" => value * 1000.0,
        "m" => value * 60_000.0,
        _ => f64::NAN,
    }
}

/// One `wrk` run, pinned to core 1.
fn wrk(url: &str, connections: usize, seconds: u64, cookie: Option<&str>) -> Run {
    let mut command = pinned(1, "wrk");
    command
        .arg("-t1")
        .arg(format!("-c{connections}"))
        .arg(format!("-d{seconds}s"))
        .arg("--latency");
    if let Some(cookie) = cookie {
        command.arg("-H").arg(format!("Cookie: {cookie}"));
    }
    let output = command.arg(url).output().expect("run wrk");
    let text = String::from_utf8_lossy(&output.stdout);
    let mut run = Run::default();
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["Requests/sec:", rps] => run.rps = rps.parse().unwrap_or(0.0),
            ["50%", t] => run.p50_ms = millis(t),
            ["99%", t] => run.p99_ms = millis(t),
            [n, "requests", "in", ..] => run.requests = n.parse().unwrap_or(0),
            _ => {}
        }
    }
    if run.requests == 0 {
        eprintln!("loadbench: wrk gave no result for {url}:\n{text}");
    }
    run
}

/// The better of two runs (noise on a small machine only ever slows one).
fn better(a: Run, b: Run) -> Run {
    if a.requests == 0 {
        return b;
    }
    if b.requests == 0 {
        return a;
    }
    Run {
        rps: a.rps.max(b.rps),
        p50_ms: a.p50_ms.min(b.p50_ms),
        p99_ms: a.p99_ms.min(b.p99_ms),
        requests: a.requests + b.requests,
    }
}

/// A path and the request to send it.
#[derive(Clone, Copy)]
struct Load<'a> {
    url: &'a str,
    cookie: Option<&'a str>,
}

/// The baseline and the path measured in turn, three times each, the best
/// run of each kept: whatever else the machine does hits both alike.
fn side_by_side(base: Load<'_>, path: Load<'_>, connections: usize, seconds: u64) -> (Run, Run) {
    let mut runs = (Run::default(), Run::default());
    for _ in 0..3 {
        runs.0 = better(runs.0, wrk(base.url, connections, seconds, base.cookie));
        runs.1 = better(runs.1, wrk(path.url, connections, seconds, path.cookie));
    }
    runs
}

fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("HTTP client")
}

fn upstream_calls(http: &reqwest::blocking::Client, servers: &Servers) -> u64 {
    let calls: Value = http
        .get(format!("{}/calls", servers.control))
        .send()
        .and_then(|a| a.json())
        .expect("calls");
    ["read", "write", "token"]
        .iter()
        .map(|k| calls[k].as_u64().unwrap_or(0))
        .sum()
}

fn reads(http: &reqwest::blocking::Client, servers: &Servers) -> u64 {
    let calls: Value = http
        .get(format!("{}/calls", servers.control))
        .send()
        .and_then(|a| a.json())
        .expect("calls");
    calls["read"].as_u64().unwrap_or(0)
}

/// A visitor signed in on `site` through the real callback: its token
/// cookie (`name=value`).
fn sign_in(http: &reqwest::blocking::Client, control: &str, site: &str) -> String {
    let code = http
        .get(format!("{control}/code"))
        .send()
        .and_then(|a| a.text())
        .expect("code");
    let answer = http
        .get(format!("{site}/_cookies/callback?code={code}&return_uri=/"))
        .send()
        .expect("callback");
    answer
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("_cookies_auth_token="))
        .and_then(|v| v.split(';').next())
        .expect("a token")
        .to_owned()
}

fn fresh_cookies(token: &str) -> String {
    let now = rocket::time::OffsetDateTime::now_utc()
        .format(&rocket::time::format_description::well_known::Rfc3339)
        .expect("a time");
    format!("{token}; _cookies_accepted=all; _cookies_freshness_ts={now}")
}

struct Row {
    name: String,
    connections: usize,
    run: Run,
    rss_mib: f64,
    calls_per_request: f64,
    baseline: Option<Run>,
}

struct Target {
    what: String,
    figure: f64,
    limit: f64,
    /// `true`: the figure must be at least the limit; else at most.
    at_least: bool,
}

impl Target {
    fn met(&self) -> bool {
        if self.at_least {
            self.figure >= self.limit
        } else {
            self.figure <= self.limit
        }
    }
}

/// `n` concurrent `init`s for each of `visitors` stale visitors; the central
/// reads they cause.
fn burst(servers: &Servers, tokens: &[String], per_visitor: usize) -> u64 {
    let http = http();
    let before = reads(&http, servers);
    let runtime = rocket::tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let client = reqwest::Client::new();
        let loads = tokens.iter().flat_map(|token| {
            (0..per_visitor).map(|_| {
                client
                    .get(format!("{}/_cookies/init", servers.site))
                    .header("Cookie", token.as_str())
                    .send()
            })
        });
        for answer in rocket::futures::future::join_all(loads).await {
            assert!(
                answer.is_ok_and(|a| a.status() == 200),
                "a burst request failed"
            );
        }
    });
    reads(&http, servers) - before
}

/// The demo site under 64 connections for `seconds`: resident memory at
/// the start and the end (peaks of the first and last third).
fn demo_memory(servers: &Servers, seconds: u64) -> (f64, f64) {
    let built = Command::new("cargo")
        .args(["build", "--release", "--example", "demo"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(built, "building the demo failed");
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let mut demo = pinned(0, &format!("{target}/release/examples/demo"))
        .env("ROCKET_PORT", port.to_string())
        .env("ROCKET_ADDRESS", "127.0.0.1")
        .env("ROCKET_LOG_LEVEL", "off")
        .env("ROCKET_SECRET_KEY", SECRET)
        .env("CENTRAL_COOKIE_SERVICE_URL", &servers.central)
        .env("COOKIE_SERVICE_API_KEY", API_KEY)
        .stdout(Stdio::null())
        .spawn()
        .expect("start the demo");
    let site = format!("http://127.0.0.1:{port}");
    let http = http();
    let start = Instant::now();
    while http.get(format!("{site}/")).send().is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the demo did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let token = sign_in(&http, &servers.control, &site);
    let cookies = fresh_cookies(&token);
    // Half the connections on the page, half on init, at once.
    let page = {
        let (site, cookies) = (site.clone(), cookies.clone());
        std::thread::spawn(move || wrk(&format!("{site}/"), 32, seconds, Some(&cookies)))
    };
    let init = {
        let (site, cookies) = (site.clone(), cookies.clone());
        std::thread::spawn(move || {
            wrk(
                &format!("{site}/_cookies/init"),
                32,
                seconds,
                Some(&cookies),
            )
        })
    };
    let mut samples = Vec::new();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(seconds) {
        std::thread::sleep(Duration::from_secs(1));
        samples.push(rss_kib(demo.id()));
    }
    let (page, init) = (page.join().expect("wrk"), init.join().expect("wrk"));
    let _ = demo.kill();
    let _ = demo.wait();
    println!(
        "demo under 64 connections: {:.0} req/s (page {:.0}, init {:.0})",
        page.rps + init.rps,
        page.rps,
        init.rps
    );
    let third = (samples.len() / 3).max(1);
    let first = samples.iter().take(third).copied().max().unwrap_or(0);
    let last = samples.iter().rev().take(third).copied().max().unwrap_or(0);
    (first as f64 / 1024.0, last as f64 / 1024.0)
}

fn plot(
    path: &str,
    series: &[(&str, Vec<(usize, f64)>)],
) -> Result<(), Box<dyn std::error::Error>> {
    use plotters::prelude::*;
    use plotters::style::register_font;

    let font = ["/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"]
        .iter()
        .find_map(|p| std::fs::read(p).ok())
        .ok_or("no DejaVuSans.ttf (apt-get install fonts-dejavu-core)")?;
    register_font(
        "sans-serif",
        FontStyle::Normal,
        Box::leak(font.into_boxed_slice()),
    )
    .map_err(|_| "font not usable")?;

    let top = series
        .iter()
        .flat_map(|(_, points)| points.iter().map(|p| p.1))
        .fold(0.0, f64::max)
        * 1.15;
    let root = BitMapBackend::new(path, (960, 600)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Throughput against connections (wrk, 2 cores)",
            ("sans-serif", 24),
        )
        .margin(20)
        .x_label_area_size(45)
        .y_label_area_size(80)
        .build_cartesian_2d((1f64..70f64).log_scale(), 0f64..top)?;
    chart
        .configure_mesh()
        .x_desc("connections (log scale)")
        .y_desc("requests per second")
        .x_labels(8)
        .y_labels(8)
        .light_line_style(WHITE)
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.0}"))
        .label_style(("sans-serif", 15))
        .draw()?;
    let colours = [BLACK, RGBColor(128, 128, 128), BLUE, RED, GREEN];
    for (i, (name, points)) in series.iter().enumerate() {
        let colour = colours[i % colours.len()];
        let line: Vec<(f64, f64)> = points.iter().map(|&(c, r)| (c as f64, r)).collect();
        chart
            .draw_series(LineSeries::new(line.clone(), colour.stroke_width(2)))?
            .label(*name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
            });
        chart.draw_series(line.iter().map(|&p| Circle::new(p, 4, colour.filled())))?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font(("sans-serif", 15))
        .position(SeriesLabelPosition::LowerRight)
        .draw()?;
    root.present()?;
    Ok(())
}

/// Throughput against connections for the README's plot.
fn throughput_plot(servers: &Servers, fresh: &str, seconds: u64, save: bool) {
    let json = &format!("{}/json", servers.baseline);
    let init = &format!("{}/_cookies/init", servers.site);
    let unrelated = &format!("{}/unrelated", servers.site);
    let mut series: Vec<(&str, Vec<(usize, f64)>)> = vec![
        ("bare Rocket /json", vec![]),
        ("bare Rocket /json, init's cookies", vec![]),
        ("init none", vec![]),
        ("init redirect", vec![]),
        ("/unrelated with the fairing", vec![]),
    ];
    for connections in [1, 4, 16, 64] {
        let runs = [
            wrk(json, connections, seconds, None),
            wrk(json, connections, seconds, Some(fresh)),
            wrk(init, connections, seconds, Some(fresh)),
            wrk(init, connections, seconds, None),
            wrk(unrelated, connections, seconds, None),
        ];
        for (s, run) in series.iter_mut().zip(runs) {
            s.1.push((connections, run.rps));
        }
    }
    let out = "target/loadbench-throughput.png";
    match plot(out, &series) {
        Ok(()) => {
            println!("plot: {out}");
            if save {
                let _ = std::fs::create_dir_all("benches");
                std::fs::copy(out, "benches/throughput.png").expect("save the plot");
                println!("plot saved to benches/throughput.png");
            }
        }
        Err(e) => eprintln!("loadbench: no plot: {e}"),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("serve") {
        rocket::execute(run_servers());
        return;
    }
    let quick = args.iter().any(|a| a == "--quick");
    let save = args.iter().any(|a| a == "--save");
    if cfg!(debug_assertions) {
        eprintln!("loadbench: build with --release for figures that mean anything");
    }
    ensure_wrk();
    let seconds = if quick { 2 } else { 4 };
    let memory_seconds = if quick { 20 } else { 120 };

    let servers = start_servers();
    let http = http();
    // The site answers 503 until its first health ping is back.
    let start = Instant::now();
    while http
        .get(format!("{}/_cookies/init", servers.site))
        .send()
        .map_or(true, |a| a.status() != 200)
    {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the site never came up"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let token = sign_in(&http, &servers.control, &servers.site);
    let fresh = fresh_cookies(&token);
    let pid = servers.child.id();
    if args.iter().any(|a| a == "--plot-only") {
        throughput_plot(&servers, &fresh, seconds, save);
        return;
    }
    println!(
        "loadbench: {} cores; servers on core 0, wrk on core 1; {seconds} s a run, \
         baseline and path in turn, best of three each",
        cores()
    );
    // Warm everything up.
    wrk(&format!("{}/json", servers.baseline), 16, 1, None);
    wrk(
        &format!("{}/_cookies/init", servers.site),
        16,
        1,
        Some(&fresh),
    );

    let mut rows = Vec::new();
    let mut targets = Vec::new();
    let mut row = |name: &str, connections, run: Run, calls: u64, baseline: Option<Run>| {
        rows.push(Row {
            name: name.to_owned(),
            connections,
            run,
            rss_mib: rss_kib(pid) as f64 / 1024.0,
            calls_per_request: calls as f64 / run.requests.max(1) as f64,
            baseline,
        });
    };
    let json = format!("{}/json", servers.baseline);
    let init = format!("{}/_cookies/init", servers.site);
    let bare_unrelated = format!("{}/unrelated", servers.baseline);
    let unrelated = format!("{}/unrelated", servers.site);
    let mut healthy_none_p99 = [0.0; 2];
    for (i, connections) in [16, 64].into_iter().enumerate() {
        // The baseline gets the very same request, cookies included: what
        // Rocket costs to answer it with a constant.
        let before = upstream_calls(&http, &servers);
        let (base, none) = side_by_side(
            Load {
                url: &json,
                cookie: Some(&fresh),
            },
            Load {
                url: &init,
                cookie: Some(&fresh),
            },
            connections,
            seconds,
        );
        let calls = upstream_calls(&http, &servers) - before;
        row(
            "bare Rocket /json, same cookies",
            connections,
            base,
            0,
            None,
        );
        row(
            "init, fresh visitor (none)",
            connections,
            none,
            calls,
            Some(base),
        );
        healthy_none_p99[i] = none.p99_ms;

        let before = upstream_calls(&http, &servers);
        let (bare, redirect) = side_by_side(
            Load {
                url: &json,
                cookie: None,
            },
            Load {
                url: &init,
                cookie: None,
            },
            connections,
            seconds,
        );
        let calls = upstream_calls(&http, &servers) - before;
        row("bare Rocket /json, no cookies", connections, bare, 0, None);
        row(
            "init, no cookies (redirect)",
            connections,
            redirect,
            calls,
            Some(bare),
        );

        let (bare_other, other) = side_by_side(
            Load {
                url: &bare_unrelated,
                cookie: Some(&fresh),
            },
            Load {
                url: &unrelated,
                cookie: Some(&fresh),
            },
            connections,
            seconds,
        );
        row("bare Rocket /unrelated", connections, bare_other, 0, None);
        row(
            "fairing attached, /unrelated",
            connections,
            other,
            0,
            Some(bare_other),
        );

        targets.push(Target {
            what: format!("init none throughput / baseline, {connections} connections"),
            figure: none.rps / base.rps,
            limit: 0.85,
            at_least: true,
        });
        targets.push(Target {
            what: format!("init none p99 / baseline p99, {connections} connections"),
            figure: none.p99_ms / base.p99_ms,
            limit: 1.2,
            at_least: false,
        });
        targets.push(Target {
            what: format!("init redirect throughput / baseline, {connections} connections"),
            figure: redirect.rps / bare.rps,
            limit: 0.85,
            at_least: true,
        });
        targets.push(Target {
            what: format!("unrelated route cost of the fairing, {connections} connections"),
            figure: 1.0 - other.rps / bare_other.rps,
            limit: 0.03,
            at_least: false,
        });
    }

    // The central service hangs: init must not wait on the health ping.
    http.post(format!("{}/hang/true", servers.control))
        .send()
        .expect("hang");
    std::thread::sleep(Duration::from_millis(1500));
    for (i, connections) in [16, 64].into_iter().enumerate() {
        let mut hung = Run::default();
        for _ in 0..3 {
            hung = better(hung, wrk(&init, connections, seconds, Some(&fresh)));
        }
        row("init none, central hanging", connections, hung, 0, None);
        targets.push(Target {
            what: format!("init p99 while central hangs / healthy p99, {connections} connections"),
            figure: hung.p99_ms / healthy_none_p99[i],
            limit: 2.0,
            at_least: false,
        });
    }
    http.post(format!("{}/hang/false", servers.control))
        .send()
        .expect("unhang");

    // Coalescing: 64 concurrent page loads of one stale visitor, then 50
    // visitors with 8 loads each, each burst within one window.
    let one = vec![sign_in(&http, &servers.control, &servers.site)];
    let reads_one = burst(&servers, &one, 64);
    targets.push(Target {
        what: "upstream reads for 64 concurrent loads of one stale visitor".into(),
        figure: reads_one as f64,
        limit: 1.0,
        at_least: false,
    });
    let many: Vec<String> = (0..50)
        .map(|_| sign_in(&http, &servers.control, &servers.site))
        .collect();
    let reads_many = burst(&servers, &many, 8);
    targets.push(Target {
        what: "upstream reads per distinct visitor (50 visitors x 8 loads)".into(),
        figure: reads_many as f64 / 50.0,
        limit: 1.0,
        at_least: false,
    });

    println!();
    println!(
        "| path | conns | req/s | p50 ms | p99 ms | RSS MiB | upstream calls/req | ratio to baseline |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for row in &rows {
        let ratio = row.baseline.map_or("—".to_owned(), |b| {
            format!(
                "{:.3} (p99 {:.2}x)",
                row.run.rps / b.rps,
                row.run.p99_ms / b.p99_ms
            )
        });
        println!(
            "| {} | {} | {:.0} | {:.2} | {:.2} | {:.1} | {:.4} | {} |",
            row.name,
            row.connections,
            row.run.rps,
            row.run.p50_ms,
            row.run.p99_ms,
            row.rss_mib,
            row.calls_per_request,
            ratio
        );
    }

    // Memory of the demo site, alone in its process.
    let (first, last) = demo_memory(&servers, memory_seconds);
    println!(
        "demo site resident memory over {memory_seconds} s at 64 connections: {first:.1} MiB early, {last:.1} MiB late ({:.3}x)",
        last / first
    );
    targets.push(Target {
        what: "demo site resident memory under 64 connections, MiB".into(),
        figure: last.max(first),
        limit: 32.0,
        at_least: false,
    });
    targets.push(Target {
        what: "demo site memory growth, late / early".into(),
        figure: last / first,
        limit: 1.10,
        at_least: false,
    });

    throughput_plot(&servers, &fresh, seconds, save);

    println!();
    println!("| target | figure | limit | met |");
    println!("|---|---:|---:|---|");
    let mut missed = 0;
    for target in &targets {
        let sign = if target.at_least { ">=" } else { "<=" };
        let met = target.met();
        missed += usize::from(!met);
        println!(
            "| {} | {:.3} | {sign} {} | {} |",
            target.what,
            target.figure,
            target.limit,
            if met { "yes" } else { "NO" }
        );
    }
    drop(servers);
    if missed > 0 {
        eprintln!("loadbench: {missed} target(s) missed");
        std::process::exit(1);
    }
}
