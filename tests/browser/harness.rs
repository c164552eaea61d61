//! Chromium through chromedriver (WebDriver), axe-core checks and screenshots.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use thirtyfour::prelude::*;

/// A chromedriver process on a free port, killed when dropped.
pub struct ChromeDriver {
    child: Child,
    pub url: String,
}

impl ChromeDriver {
    pub async fn start() -> ChromeDriver {
        // chromedriver picks a free port itself and says which ("… started successfully on port
        // N."): a port picked here could be taken by another test's server before it binds.
        let mut child = Command::new("chromedriver")
            .arg("--port=0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver on PATH (scripts/ensure-chromium.sh installs it)");
        let stdout = child.stdout.take().expect("piped stdout");
        let (found, announced) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(port) = line.split("started successfully on port ").nth(1) {
                    let _ = found.send(port.trim_end_matches('.').trim().to_string());
                }
            }
        });
        let port = tokio::task::spawn_blocking(move || announced.recv_timeout(Duration::from_secs(20)))
            .await
            .expect("reader")
            .expect("chromedriver announces its port");
        let driver = ChromeDriver { child, url: format!("http://127.0.0.1:{port}") };
        let deadline = Instant::now() + Duration::from_secs(20);
        while reqwest::get(format!("{}/status", driver.url)).await.is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        driver
    }

    /// A new headless browser window of `width`×`height` CSS pixels, speaking `language`.
    pub async fn session(&self, width: u32, height: u32, language: &str) -> WebDriver {
        let mut caps = DesiredCapabilities::chrome();
        for arg in [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            &format!("--window-size={width},{height}"),
            &format!("--lang={language}"),
        ] {
            caps.add_arg(arg).expect("chrome argument");
        }
        if std::path::Path::new("/usr/bin/chromium").exists() {
            caps.set_binary("/usr/bin/chromium").expect("binary");
        }
        caps.add_experimental_option("prefs", serde_json::json!({ "intl.accept_languages": language })).expect("prefs");
        let driver = WebDriver::new(&self.url, caps).await.expect("a Chromium session");
        driver.set_window_rect(0, 0, width, height).await.expect("window size");
        driver
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const AXE: &str = include_str!("axe.min.js");

/// Runs axe-core (WCAG 2.0/2.1 A and AA rules) on the current page and fails on any serious or
/// critical violation, naming the rule and the elements.
pub async fn assert_accessible(driver: &WebDriver, page: &str) {
    driver.execute(AXE, vec![]).await.expect("inject axe-core");
    let script = r#"
        const done = arguments[arguments.length - 1];
        axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } })
          .then(r => done(JSON.stringify(r.violations
              .filter(v => v.impact === "serious" || v.impact === "critical")
              .map(v => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.html).slice(0, 3) })))))
          .catch(e => done(JSON.stringify([{ id: "axe-error", help: String(e) }])));
    "#;
    let result = driver.execute_async(script, vec![]).await.expect("axe.run");
    let text: String = result.convert().expect("axe result");
    assert_eq!(text, "[]", "accessibility violations on {page}: {text}");
}

/// Where screenshots go: `target/screenshots/` (copied to docs/screenshots when they change).
pub fn screenshot_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target").join("screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot directory");
    dir
}

pub async fn screenshot(driver: &WebDriver, name: &str) {
    let path = screenshot_dir().join(format!("{name}.png"));
    driver.screenshot(&path).await.expect("screenshot");
}

/// Waits until `check` holds (polling), failing with `what` after `seconds`.
pub async fn eventually<F, Fut>(seconds: u64, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(seconds);
    loop {
        if check().await {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The text of the page's body.
pub async fn body_text(driver: &WebDriver) -> String {
    match driver.find(By::Tag("body")).await {
        Ok(body) => body.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// Fills a field by id (clearing it first).
pub async fn fill(driver: &WebDriver, id: &str, value: &str) {
    let field = driver.find(By::Id(id)).await.unwrap_or_else(|_| panic!("field #{id}"));
    field.clear().await.expect("clear");
    field.send_keys(value).await.expect("type");
}

/// Clicks the first element matching a CSS selector.
pub async fn click(driver: &WebDriver, css: &str) {
    let element = driver.find(By::Css(css)).await.unwrap_or_else(|_| panic!("element {css}"));
    element.scroll_into_view().await.ok();
    element.click().await.unwrap_or_else(|e| panic!("click {css}: {e}"));
}
