//! Headless Chromium through W3C WebDriver (Debian's `chromium` and `chromium-driver`), for the
//! console's browser test. The protocol is JSON over HTTP, so this is a few calls over the tests'
//! own HTTP client: no WebDriver crate (or Selenium) to build for the handful of commands used.
//!
//! [`Browser::start`] runs `chromedriver` (`CHROMEDRIVER`, else `chromedriver` on `PATH`, else
//! `/usr/bin/chromedriver`) on a free port and opens one headless session; dropping it ends both.
//! [`availability`] says whether the tests may skip: only when the driver is missing and
//! `CONSOLE_BROWSER_TESTS=0` says so.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

/// The W3C key of an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Where the driver is, or why the browser test may not run.
pub enum Availability {
    Driver(PathBuf),
    /// No driver, and `CONSOLE_BROWSER_TESTS=0`: skip, saying why.
    Skip(String),
}

/// The driver to run; panics when it is missing and the environment does not explicitly skip.
pub fn availability() -> Availability {
    let candidates = std::env::var_os("CHROMEDRIVER")
        .map(PathBuf::from)
        .into_iter()
        .chain(std::env::var_os("PATH").into_iter().flat_map(|path| {
            std::env::split_paths(&path)
                .map(|dir| dir.join("chromedriver"))
                .collect::<Vec<_>>()
        }))
        .chain([PathBuf::from("/usr/bin/chromedriver")]);
    let found = candidates.into_iter().find(|path| path.is_file());
    let disabled = std::env::var("CONSOLE_BROWSER_TESTS").is_ok_and(|value| value == "0");
    match found {
        Some(driver) => Availability::Driver(driver),
        None if disabled => Availability::Skip(
            "chromedriver not found and CONSOLE_BROWSER_TESTS=0: the console's browser test is skipped".to_owned(),
        ),
        None => panic!(
            "chromedriver not found (CHROMEDRIVER, PATH, /usr/bin): install Debian's chromium and \
             chromium-driver (scripts/browser.sh, which make test runs), or set CONSOLE_BROWSER_TESTS=0 to skip"
        ),
    }
}

/// One headless Chromium session.
pub struct Browser {
    driver: tokio::process::Child,
    base: String,
    client: reqwest::Client,
}

/// An element of the page.
#[derive(Debug, Clone)]
pub struct Element(String);

impl Element {
    /// The element as a script's argument ([`Browser::execute`]).
    pub fn reference(&self) -> Value {
        json!({ ELEMENT: self.0 })
    }
}

impl Browser {
    /// `chromedriver` on a free port, one headless session `width` × `height`.
    pub async fn start(driver: &Path, width: u32, height: u32) -> Browser {
        let port = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
            probe.local_addr().expect("an address").port()
        };
        let child = tokio::process::Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", driver.display()));
        let client = crate::http::client().clone();
        let base = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        loop {
            let ready = client.get(format!("{base}/status")).send().await;
            if let Ok(answer) = ready
                && let Ok(text) = answer.text().await
                && let Ok(status) = serde_json::from_str::<Value>(&text)
                && status["value"]["ready"] == true
            {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "chromedriver did not start in 20 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let mut browser = Browser {
            driver: child,
            base,
            client,
        };
        let mut args = vec![
            "--headless=new".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--no-first-run".to_owned(),
            "--hide-scrollbars".to_owned(),
            "--lang=en-US".to_owned(),
            format!("--window-size={width},{height}"),
        ];
        // As root (containers, CI) Chromium refuses to start inside its sandbox.
        if std::env::var("USER").is_ok_and(|user| user == "root") || is_root() {
            args.push("--no-sandbox".to_owned());
        }
        let mut options = json!({ "args": args });
        if let Some(binary) = std::env::var_os("CHROMIUM_BINARY") {
            options["binary"] = json!(binary.to_string_lossy());
        }
        let session = browser
            .raw(
                "POST",
                "/session",
                json!({"capabilities": {"alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": options,
                    "unhandledPromptBehavior": "ignore",
                }}}),
            )
            .await
            .unwrap_or_else(|error| panic!("no browser session: {error}"));
        let id = session["sessionId"].as_str().expect("a session id").to_owned();
        browser.base = format!("{}/session/{id}", browser.base);
        browser
    }

    /// A command; the W3C error's message when it fails.
    async fn raw(&self, method: &str, path: &str, body: Value) -> Result<Value, String> {
        let url = format!("{}{path}", self.base);
        let request = match method {
            "GET" => self.client.get(&url),
            "DELETE" => self.client.delete(&url),
            _ => self
                .client
                .post(&url)
                .header("content-type", "application/json")
                .body(body.to_string()),
        };
        let answer = request
            .timeout(Duration::from_secs(60))
            .send()
            .await
            .map_err(|e| format!("{method} {path}: {e}"))?;
        let text = answer.text().await.map_err(|e| format!("{method} {path}: {e}"))?;
        let value: Value = serde_json::from_str(&text).map_err(|e| format!("{method} {path}: {e}: {text}"))?;
        match value["value"].get("error") {
            Some(error) => Err(format!(
                "{error}: {}",
                value["value"]["message"].as_str().unwrap_or_default()
            )),
            None => Ok(value["value"].clone()),
        }
    }

    async fn command(&self, method: &str, path: &str, body: Value) -> Value {
        self.raw(method, path, body)
            .await
            .unwrap_or_else(|error| panic!("webdriver {method} {path}: {error}"))
    }

    pub async fn goto(&self, url: &str) {
        self.command("POST", "/url", json!({ "url": url })).await;
    }

    /// The first element matching `css`, if any.
    pub async fn find(&self, css: &str) -> Option<Element> {
        let found = self
            .raw("POST", "/element", json!({"using": "css selector", "value": css}))
            .await
            .ok()?;
        found[ELEMENT].as_str().map(|id| Element(id.to_owned()))
    }

    /// Every element matching `css`.
    pub async fn find_all(&self, css: &str) -> Vec<Element> {
        let found = self
            .command("POST", "/elements", json!({"using": "css selector", "value": css}))
            .await;
        found
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|element| element[ELEMENT].as_str().map(|id| Element(id.to_owned())))
            .collect()
    }

    /// Waits up to `timeout` for an element matching `css`.
    pub async fn wait_for(&self, css: &str, timeout: Duration) -> Element {
        let started = Instant::now();
        loop {
            if let Some(element) = self.find(css).await {
                return element;
            }
            assert!(started.elapsed() < timeout, "no `{css}` after {timeout:?}");
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    /// Clicks the element matching `css`, found again if the page replaced it meanwhile (a page that
    /// re-renders as it polls).
    pub async fn click_css(&self, css: &str) {
        for _ in 0..10 {
            let element = self.wait_for(css, Duration::from_secs(30)).await;
            match self
                .raw("POST", &format!("/element/{}/click", element.0), json!({}))
                .await
            {
                Ok(_) => return,
                Err(error) if error.contains("stale element") => continue,
                Err(error) => panic!("click {css}: {error}"),
            }
        }
        panic!("click {css}: replaced ten times over");
    }

    /// The rendered text of the element matching `css`, found again if the page replaced it.
    pub async fn text_css(&self, css: &str) -> String {
        for _ in 0..10 {
            let element = self.wait_for(css, Duration::from_secs(30)).await;
            match self
                .raw("GET", &format!("/element/{}/text", element.0), json!({}))
                .await
            {
                Ok(text) => return text.as_str().unwrap_or_default().to_owned(),
                Err(error) if error.contains("stale element") => continue,
                Err(error) => panic!("text of {css}: {error}"),
            }
        }
        panic!("text of {css}: replaced ten times over");
    }

    pub async fn click(&self, element: &Element) {
        self.command("POST", &format!("/element/{}/click", element.0), json!({}))
            .await;
    }

    pub async fn clear(&self, element: &Element) {
        self.command("POST", &format!("/element/{}/clear", element.0), json!({}))
            .await;
    }

    pub async fn type_into(&self, element: &Element, text: &str) {
        self.command(
            "POST",
            &format!("/element/{}/value", element.0),
            json!({ "text": text }),
        )
        .await;
    }

    /// The element's rendered text.
    pub async fn text(&self, element: &Element) -> String {
        self.command("GET", &format!("/element/{}/text", element.0), json!({}))
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    pub async fn attribute(&self, element: &Element, name: &str) -> Option<String> {
        self.command("GET", &format!("/element/{}/attribute/{name}", element.0), json!({}))
            .await
            .as_str()
            .map(str::to_owned)
    }

    /// Runs `script` in the page (its `arguments`: `args`) and returns what it returns.
    pub async fn execute(&self, script: &str, args: Value) -> Value {
        self.command("POST", "/execute/sync", json!({ "script": script, "args": args }))
            .await
    }

    /// The text of an open `alert`/`confirm`/`prompt` dialog, if one is open.
    pub async fn dialog(&self) -> Option<String> {
        self.raw("GET", "/alert/text", json!({}))
            .await
            .ok()
            .map(|text| text.as_str().unwrap_or_default().to_owned())
    }

    pub async fn resize(&self, width: u32, height: u32) {
        self.command("POST", "/window/rect", json!({"width": width, "height": height}))
            .await;
    }

    /// A PNG of the viewport, written to `path`.
    pub async fn screenshot(&self, path: &Path) {
        let encoded = self.command("GET", "/screenshot", json!({})).await;
        write_png(&encoded, path);
    }

    /// A PNG of one element (its box), written to `path`.
    pub async fn screenshot_of(&self, element: &Element, path: &Path) {
        let encoded = self
            .command("GET", &format!("/element/{}/screenshot", element.0), json!({}))
            .await;
        write_png(&encoded, path);
    }

    /// Ends the session (the driver ends when the value is dropped).
    pub async fn quit(mut self) {
        let _ = self.raw("DELETE", "", json!({})).await;
        let _ = self.driver.kill().await;
    }
}

/// A screenshot's base64 PNG, decoded into `path`.
fn write_png(encoded: &Value, path: &Path) {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded.as_str().unwrap_or_default())
        .expect("a base64 PNG");
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("the screenshots' folder");
    }
    std::fs::write(path, bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .find(|line| line.starts_with("Uid:"))
            .is_some_and(|line| line.split_whitespace().nth(1) == Some("0"))
    })
}
