//! Headless Chromium over ChromeDriver (WebDriver, through `fantoccini`),
//! the demo site on a real port served as two origins, and a development
//! central service on a host name of its own.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use rocket::serde::json::{json, Value};
use rocket_cookie_service::dev::{serve, DevCentral, Running};

use crate::site;

pub const API_KEY: &str = "browser-test-key";
const SECRET: &str = "hPRYyVRiMyxpw5sBB1XeCMN1kFsDCqKvBi2QJxBVHQk=";

/// How long any one expected change in the browser may take.
const PATIENCE: Duration = Duration::from_secs(20);

/// The central service, the site, and a browser.
pub struct World {
    pub central: DevCentral,
    pub site: Running,
    pub browser: Browser,
}

impl World {
    pub async fn new() -> World {
        World::with_central(|_| {}).await
    }

    /// A world whose central service is prepared by `prepare` before the
    /// site starts.
    pub async fn with_central(prepare: impl FnOnce(&DevCentral)) -> World {
        assert!(
            site::bundle_installed(),
            "the browser tests need the real banner script: run `npm ci` in the repository"
        );
        let central = DevCentral::start(API_KEY).await.expect("central service");
        prepare(&central);
        // Its own host name: `localhost` is another site than `a.localhost`.
        let central_url = central.url().replace("127.0.0.1", "localhost");
        let figment = rocket::Config::figment()
            .merge(("address", "127.0.0.1"))
            .merge(("port", 0))
            .merge(("log_level", "off"))
            .merge(("secret_key", SECRET))
            .merge(("central_cookie_service_url", central_url))
            .merge(("cookie_service_api_key", API_KEY))
            .merge(("cookie_service_health_interval", 1))
            .merge(("cookie_service_health_ttl", 2))
            .merge(("cookie_service_health_timeout", 1));
        let site = serve(site::rocket(figment)).await.expect("site");
        let browser = Browser::launch().await;
        World {
            central,
            site,
            browser,
        }
    }

    /// `http://{host}.localhost:{port}{path}`.
    pub fn url(&self, host: &str, path: &str) -> String {
        format!("http://{host}.localhost:{}{path}", self.site.port())
    }

    /// Waits until the site's health check sees the central service as
    /// `up`, asking `/_cookies/init` as a cookie-less visitor.
    pub async fn until_site_sees_central(&self, up: bool) {
        let init = format!("{}/_cookies/init", self.site.url());
        let http = reqwest::Client::new();
        let expected = if up { 200 } else { 503 };
        until(
            &format!("the site to see the central service up={up}"),
            || async {
                let answer = http.get(&init).send().await;
                answer.is_ok_and(|a| a.status().as_u16() == expected)
            },
        )
        .await;
    }

    /// The one visitor the central service knows, and its consent.
    pub fn only_visitor(&self) -> Option<rocket_cookie_service::Consent> {
        match self.central.visitors().as_slice() {
            [user] => self.central.consent_of(*user),
            _ => None,
        }
    }

    pub async fn close(self) {
        self.browser.close().await;
        self.site.stop().await;
        self.central.stop().await;
    }
}

/// Polls `check` until it holds, or fails the test naming `what`.
pub async fn until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while start.elapsed() < PATIENCE {
        if check().await {
            return;
        }
        rocket::tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out after {PATIENCE:?} waiting for {what}");
}

/// A headless Chromium driven through ChromeDriver.
pub struct Browser {
    pub client: Client,
    driver: Child,
    profile: PathBuf,
}

fn find_program(env: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(env) {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Browser {
    pub async fn launch() -> Browser {
        const INSTALL: &str = "the browser tests need Chromium and ChromeDriver: \
            `apt-get install chromium chromium-driver` (or set CHROMIUM and CHROMEDRIVER)";
        let chromium = find_program(
            "CHROMIUM",
            &["chromium", "chromium-browser", "google-chrome"],
        )
        .expect(INSTALL);
        let chromedriver = find_program("CHROMEDRIVER", &["chromedriver"]).expect(INSTALL);

        let port = free_port();
        let mut command = Command::new(&chromedriver);
        command
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let driver = command.spawn().expect(INSTALL);

        let profile = std::env::temp_dir().join(format!(
            "rocket-cookie-service-chromium-{}-{port}",
            std::process::id()
        ));
        let args = vec![
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--window-size=1280,900".to_owned(),
            format!("--user-data-dir={}", profile.display()),
        ];
        let capabilities: rocket::serde::json::serde_json::Map<String, Value> = json!({
            "goog:chromeOptions": { "binary": chromium, "args": args },
        })
        .as_object()
        .cloned()
        .unwrap_or_default();

        let webdriver = format!("http://127.0.0.1:{port}");
        let start = Instant::now();
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            let attempt = ClientBuilder::new(connector)
                .capabilities(capabilities.clone())
                .connect(&webdriver)
                .await;
            match attempt {
                Ok(client) => break client,
                Err(e) if start.elapsed() > PATIENCE => panic!("ChromeDriver did not start: {e}"),
                Err(_) => rocket::tokio::time::sleep(Duration::from_millis(200)).await,
            }
        };
        Browser {
            client,
            driver,
            profile,
        }
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("navigate");
    }

    /// The value of a cookie of the current page's host, `HttpOnly` ones
    /// included.
    pub async fn cookie(&self, name: &str) -> Option<String> {
        let cookies = self.client.get_all_cookies().await.ok()?;
        cookies
            .into_iter()
            .find(|c| c.name() == name)
            .map(|c| c.value().to_owned())
    }

    /// Sets a cookie on the current page's host, as the page script would.
    pub async fn set_cookie(&self, name: &str, value: &str) {
        let script =
            "document.cookie = arguments[0] + '=' + arguments[1] + '; path=/; samesite=lax';";
        self.client
            .execute(script, vec![json!(name), json!(value)])
            .await
            .expect("set a cookie");
    }

    pub async fn until_cookie(&self, name: &str, value: Option<&str>) {
        until(&format!("cookie {name} to be {value:?}"), || async {
            self.cookie(name).await.as_deref() == value
        })
        .await;
    }

    pub async fn banner_shown(&self) -> bool {
        self.client
            .find_all(Locator::Css("dialog.cookie-policy"))
            .await
            .is_ok_and(|found| !found.is_empty())
    }

    pub async fn until_banner(&self) {
        until("the banner", || self.banner_shown()).await;
    }

    pub async fn current_url(&self) -> String {
        self.client
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_default()
    }

    pub async fn until_url(&self, url: &str) {
        until(&format!("the browser to be at {url}"), || async {
            self.current_url().await == url
        })
        .await;
    }

    pub async fn click(&self, locator: Locator<'_>) {
        let what = format!("{locator:?} to be clickable");
        until(&what, || async {
            match self.client.find(locator).await {
                Ok(element) => element.click().await.is_ok(),
                Err(_) => false,
            }
        })
        .await;
    }

    /// Ends the WebDriver session (Chromium quits), then the driver.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // A failed test never reaches `close`: the driver goes, and Chromium,
        // in the driver's own process group, with the run.
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
