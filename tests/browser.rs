//! End to end in a real Chromium (Debian's chromium + chromedriver, driven over WebDriver)
//! against the real `reserver serve` on a random port: what a person does, page by page, with
//! axe-core accessibility checks on every page and screenshots of the main screens (light and
//! dark, desktop and phone) in `target/screenshots/`.

mod common;

#[path = "browser/harness.rs"]
mod harness;

use common::{Backend, ScratchDatabase, Server, PASSWORD};
use harness::{assert_accessible, body_text, click, eventually, fill, screenshot, ChromeDriver};
use thirtyfour::prelude::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_uses_the_web_app() {
    let db = ScratchDatabase::new(Backend::Sqlite).await;
    let server = Server::start(db.url()).await;
    let chrome = ChromeDriver::start().await;
    let desk = chrome.session(1280, 900, "en").await;

    // First run: the service asks for its first administrator.
    desk.goto(server.url("/")).await.expect("open /");
    assert!(desk.current_url().await.expect("url").path().ends_with("/setup"));
    assert_accessible(&desk, "setup").await;
    fill(&desk, "username", "admin").await;
    fill(&desk, "password", "short").await;
    let rules_met = desk.find_all(By::Css("#password-rules li.ok")).await.expect("rules").len();
    assert!(rules_met < 6, "a short password does not meet every rule as you type");
    fill(&desk, "password", PASSWORD).await;
    let rules_met = desk.find_all(By::Css("#password-rules li.ok")).await.expect("rules").len();
    assert_eq!(rules_met, 6, "every rule is shown as met as you type");
    screenshot(&desk, "01_setup_desktop").await;
    click(&desk, "form button.primary").await;
    eventually(10, "the dashboard", || async { body_text(&desk).await.contains("Hello, admin") }).await;
    assert_accessible(&desk, "dashboard").await;
    screenshot(&desk, "02_dashboard_desktop").await;

    // Dark theme: the toggle switches at once and the choice is kept across pages.
    click(&desk, "#theme-toggle").await;
    let theme = desk.find(By::Tag("html")).await.expect("html").attr("data-theme").await.expect("attr");
    assert_eq!(theme.as_deref(), Some("dark"));
    eventually(5, "the theme saved", || async {
        desk.goto(server.url("/")).await.is_ok()
            && desk.find(By::Tag("html")).await.ok().is_some()
            && matches!(
                desk.find(By::Tag("html")).await.expect("html").attr("data-theme").await.ok().flatten().as_deref(),
                Some("dark")
            )
    })
    .await;
    assert_accessible(&desk, "dashboard (dark)").await;
    screenshot(&desk, "12_dark_dashboard_desktop").await;

    // A visitor on a phone picks French on the login page.
    let phone = chrome.session(375, 812, "en").await;
    phone.goto(server.url("/login")).await.expect("open /login");
    let picker = phone.find(By::Id("language-pick")).await.expect("language picker");
    picker.send_keys("Français").await.expect("pick");
    eventually(10, "the page in French", || async { body_text(&phone).await.contains("Se connecter") }).await;
    assert_accessible(&phone, "login (fr, phone)").await;
    screenshot(&phone, "13_french_login_phone").await;

    // Installable, and an offline page when the network is gone.
    desk.goto(server.url("/")).await.expect("open /");
    eventually(15, "the service worker in control", || async {
        desk.goto(server.url("/")).await.is_ok()
            && desk
                .execute("return !!navigator.serviceWorker.controller", vec![])
                .await
                .ok()
                .and_then(|r| r.convert::<bool>().ok())
                .unwrap_or(false)
    })
    .await;
    drop(server);
    desk.goto(format!("{}/resources", desk.current_url().await.expect("url").origin().ascii_serialization()))
        .await
        .expect("navigate while offline");
    eventually(10, "the offline page", || async { body_text(&desk).await.contains("You are offline") }).await;
    screenshot(&desk, "16_offline_reload_desktop").await;

    phone.quit().await.expect("quit phone");
    desk.quit().await.expect("quit desk");
}
