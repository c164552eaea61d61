//! End to end in a real Chromium (Debian's chromium + chromedriver, driven over WebDriver)
//! against the real `reserver serve` on a random port: what a person does, page by page, with
//! axe-core accessibility checks on every page and screenshots of the main screens (light and
//! dark, desktop and phone) in `target/screenshots/`.

mod common;

#[path = "browser/harness.rs"]
mod harness;

use common::{Backend, ScratchDatabase, Server, PASSWORD};
use harness::{assert_accessible, body_text, click, eventually, fill, screenshot, ChromeDriver};
use serde_json::json;
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

    // The catalogue, and two people who book.
    let admin = server.login("admin", PASSWORD).await;
    let lab = create_resource(&server, &admin, "Lab 3", 1).await;
    create_resource(&server, &admin, "Desk 12", 1).await;
    let bob = server.user("bob").await;
    server.user("alice").await;
    let zone: chrono_tz::Tz = "Europe/Paris".parse().expect("zone");
    let tomorrow = (chrono::Utc::now().with_timezone(&zone) + chrono::Duration::days(1)).date_naive();
    let at = |hour: u32| {
        use chrono::TimeZone;
        zone.from_local_datetime(&tomorrow.and_hms_opt(hour, 0, 0).expect("time"))
            .single()
            .expect("an unambiguous hour")
            .with_timezone(&chrono::Utc)
    };
    let day_page = server.url(&format!("/resources/{lab}?view=day&date={tomorrow}"));

    // Alice logs in and finds the lab.
    let alice = chrome.session(1280, 900, "en").await;
    log_in(&alice, &server, "alice").await;
    alice.goto(server.url("/resources")).await.expect("open /resources");
    fill(&alice, "q", "Lab").await;
    click(&alice, "form button.primary").await;
    eventually(10, "the search result", || async {
        let text = body_text(&alice).await;
        text.contains("Lab 3") && !text.contains("Desk 12")
    })
    .await;
    assert_accessible(&alice, "resources").await;
    screenshot(&alice, "03_resources_list_desktop").await;
    alice.find(By::LinkText("Lab 3")).await.expect("the lab's link").click().await.expect("open the lab");
    eventually(10, "the schedule", || async { alice.find(By::Id("schedule")).await.is_ok() }).await;
    alice.goto(&day_page).await.expect("tomorrow's schedule");
    assert_accessible(&alice, "resource schedule").await;
    show_working_hours(&alice).await;
    screenshot(&alice, "04_resource_schedule_desktop").await;

    // The admin watches the same schedule; it must change without a reload.
    desk.goto(&day_page).await.expect("the admin's schedule");
    desk.execute("window.__notReloaded = true", vec![]).await.expect("mark the page");
    let ten = "//a[contains(@class,'slot-link')][contains(., 'Book 10:00 AM')]";
    assert!(desk.find(By::XPath(ten)).await.is_ok(), "10:00 is free");

    // Alice books 10:00 from the grid.
    alice.find(By::XPath(ten)).await.expect("the 10:00 slot").click().await.expect("pick 10:00");
    eventually(10, "the booking form", || async {
        alice.current_url().await.is_ok_and(|u| u.path().ends_with("/book"))
    })
    .await;
    assert_accessible(&alice, "booking form").await;
    click(&alice, "form button.primary").await;
    eventually(10, "the confirmation", || async { alice.find(By::Id("booked-notice")).await.is_ok() }).await;
    eventually(10, "the admin's grid updated live", || async { desk.find(By::XPath(ten)).await.is_err() }).await;
    let still_same_page: bool =
        desk.execute("return window.__notReloaded === true", vec![]).await.expect("js").convert().expect("bool");
    assert!(still_same_page, "the admin's page changed without reloading");

    // Bob holds 14:00; Alice asks for it anyway and takes a suggested alternative.
    let bobs = book(&server, &bob, &lab, at(14), at(15)).await;
    alice
        .goto(server.url(&format!(
            "/resources/{lab}/book?start={}&end={}",
            at(14).to_rfc3339().replace('+', "%2B"),
            at(15).to_rfc3339().replace('+', "%2B")
        )))
        .await
        .expect("the booking form for 14:00");
    click(&alice, "form button.primary").await;
    eventually(10, "the conflict and its alternatives", || async {
        alice.find(By::Css("form.alternative button")).await.is_ok()
    })
    .await;
    assert!(body_text(&alice).await.contains("already booked"));
    assert_accessible(&alice, "booking conflict").await;
    screenshot(&alice, "05_new_reservation_conflict_desktop").await;
    click(&alice, "form.alternative button").await;
    eventually(10, "the alternative booked", || async { alice.find(By::Id("booked-notice")).await.is_ok() }).await;

    // She joins the waitlist for Bob's hour from the busy cell.
    alice.goto(&day_page).await.expect("tomorrow's schedule");
    alice
        .find(By::XPath("//a[contains(@class,'slot-link')][contains(., 'Join the waitlist for 2:00 PM')]"))
        .await
        .expect("the busy 14:00 slot offers the waitlist")
        .click()
        .await
        .expect("open the join form");
    eventually(10, "the join form", || async { alice.find(By::Id("flexible_minutes")).await.is_ok() }).await;
    assert_accessible(&alice, "waitlist join").await;
    click(&alice, "form button.primary").await;
    eventually(10, "her place in line", || async { body_text(&alice).await.contains("1st") }).await;

    // Bob cancels: the offer appears on Alice's open waitlist page by itself.
    let r = server
        .post(&bob, &format!("/api/v1/reservations/{bobs}/cancel"), serde_json::json!({}))
        .send()
        .await
        .expect("cancel");
    assert!(r.status().is_success(), "{}", r.text().await.unwrap_or_default());
    eventually(10, "the offer shown live", || async {
        alice.find(By::Css("form[action$='/accept'] button")).await.is_ok()
    })
    .await;
    assert_accessible(&alice, "waitlist with an offer").await;
    screenshot(&alice, "07_waitlist_desktop").await;

    // She accepts on her phone; the page open on her desk follows.
    let alices_phone = chrome.session(375, 812, "en").await;
    log_in(&alices_phone, &server, "alice").await;
    alices_phone.goto(server.url("/waitlist")).await.expect("waitlist on the alices_phone");
    click(&alices_phone, "form[action$='/accept'] button").await;
    eventually(10, "the offer gone on the desk, live", || async {
        alice.find(By::Css("form[action$='/accept'] button")).await.is_err()
    })
    .await;
    alices_phone.goto(server.url("/resources")).await.expect("resources on the alices_phone");
    assert_accessible(&alices_phone, "resources (phone)").await;
    screenshot(&alices_phone, "14_resources_phone").await;
    alices_phone
        .goto(server.url(&format!(
            "/resources/{lab}/book?start={}&end={}",
            at(16).to_rfc3339().replace('+', "%2B"),
            at(17).to_rfc3339().replace('+', "%2B")
        )))
        .await
        .expect("the booking form on the alices_phone");
    screenshot(&alices_phone, "15_new_reservation_dialog_phone").await;

    // A weekly series: previewed first (nothing booked), then booked all or nothing.
    alice.goto(server.url(&format!("/resources/{lab}/recurring"))).await.expect("the recurring form");
    let first = tomorrow + chrono::Duration::days(1);
    let set = format!(
        "document.getElementById('start_date').value = '{first}';
         document.getElementById('start_time').value = '09:00';
         document.getElementById('duration_minutes').value = '60';
         document.getElementById('freq').value = 'WEEKLY';
         document.getElementById('count').value = '3';"
    );
    alice.execute(&set, vec![]).await.expect("fill the series");
    click(&alice, "button[value='preview']").await;
    eventually(10, "the preview", || async { alice.find(By::Id("occurrences")).await.is_ok() }).await;
    let bookable = alice.find_all(By::Css("#occurrences [data-outcome='bookable']")).await.expect("outcomes").len();
    assert_eq!(bookable, 3, "every occurrence is listed as bookable before anything is booked");
    assert_accessible(&alice, "recurring preview").await;
    screenshot(&alice, "06b_recurring_preview_desktop").await;
    click(&alice, "button[value='book_all']").await;
    eventually(10, "the series booked", || async {
        alice.find_all(By::Css("#occurrences [data-outcome='booked']")).await.map(|v| v.len()).unwrap_or(0) == 3
    })
    .await;

    // My reservations: cancel one occurrence of the series, after a confirmation.
    alice.goto(server.url("/reservations")).await.expect("my reservations");
    assert_accessible(&alice, "my reservations").await;
    let in_series = "//tr[.//a[contains(@href,'what=following')]]//a[contains(@href,'what=one')]";
    let before = alice.find_all(By::XPath(in_series)).await.expect("occurrences").len();
    assert_eq!(before, 3, "three occurrences of the series are listed");
    alice.find(By::XPath(in_series)).await.expect("cancel one").click().await.expect("open the confirmation");
    eventually(10, "the confirmation", || async { alice.find(By::Css("form button.danger")).await.is_ok() }).await;
    assert_accessible(&alice, "cancel confirmation").await;
    click(&alice, "form button.danger").await;
    eventually(10, "one occurrence fewer", || async {
        alice.current_url().await.is_ok_and(|u| u.path() == "/reservations")
            && alice.find_all(By::XPath(in_series)).await.map(|v| v.len()).unwrap_or(0) == 2
    })
    .await;
    screenshot(&alice, "06_my_reservations_desktop").await;

    // Notifications: the bell counts them; marking all read empties it.
    alice.goto(server.url("/notifications")).await.expect("notifications");
    assert_accessible(&alice, "notifications").await;
    screenshot(&alice, "08_notifications_desktop").await;
    click(&alice, "form[action='/notifications/read-all'] button").await;
    eventually(10, "the bell emptied", || async {
        alice.find(By::Id("unread-count")).await.ok().is_some_and(|_| true)
            && alice
                .execute("return document.getElementById('unread-count').hidden", vec![])
                .await
                .ok()
                .and_then(|r| r.convert::<bool>().ok())
                .unwrap_or(false)
    })
    .await;

    // Her sessions (the desk and the phone) and two-step verification, set up with a QR code.
    alice.goto(server.url("/sessions")).await.expect("sessions");
    assert!(body_text(&alice).await.contains("This session"));
    assert_accessible(&alice, "sessions").await;
    alice.goto(server.url("/mfa")).await.expect("two-step verification");
    assert_accessible(&alice, "two-step verification").await;
    click(&alice, "form[action='/mfa/setup'] button").await;
    eventually(10, "the QR code", || async {
        alice.find(By::Css("svg")).await.is_ok() && alice.find(By::Css("form[action='/mfa/enable']")).await.is_ok()
    })
    .await;
    assert_accessible(&alice, "two-step verification setup").await;
    screenshot(&alice, "09_mfa_setup_desktop").await;

    // Her dashboard, light and dark.
    alice.goto(server.url("/")).await.expect("dashboard");
    assert_accessible(&alice, "dashboard with bookings").await;
    screenshot(&alice, "02_dashboard_desktop").await;
    click(&alice, "#theme-toggle").await;
    alice.goto(&day_page).await.expect("schedule");
    assert_accessible(&alice, "schedule (dark)").await;
    show_working_hours(&alice).await;
    screenshot(&alice, "12b_dark_schedule_desktop").await;
    alice.goto(server.url("/")).await.expect("dashboard");
    screenshot(&alice, "12_dark_dashboard_desktop").await;
    click(&alice, "#theme-toggle").await;

    // French from the preferences, for every page after.
    alice.goto(server.url("/preferences")).await.expect("preferences");
    assert_accessible(&alice, "preferences").await;
    alice.find(By::Id("language")).await.expect("language").send_keys("Français").await.expect("pick French");
    click(&alice, "form button.primary").await;
    eventually(10, "the app in French", || async { body_text(&alice).await.contains("Préférences") }).await;
    alice.goto(server.url("/")).await.expect("dashboard");
    assert!(body_text(&alice).await.contains("Bonjour, alice"));

    // The admin's account screens: every account, then alice's page with its actions.
    desk.goto(server.url("/admin/users")).await.expect("accounts");
    assert!(body_text(&desk).await.contains("alice"));
    assert_accessible(&desk, "accounts (dark)").await;
    click(&desk, "table a[href^='/admin/users/']").await;
    eventually(10, "an account's page", || async { body_text(&desk).await.contains("Change role") }).await;
    assert_accessible(&desk, "an account (dark)").await;
    screenshot(&desk, "17_account_admin_desktop").await;

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
    alices_phone.quit().await.expect("quit Alice's phone");
    alice.quit().await.expect("quit Alice's desk");
    desk.quit().await.expect("quit desk");
}

async fn log_in(driver: &WebDriver, server: &Server, name: &str) {
    driver.goto(server.url("/login")).await.expect("open /login");
    fill(driver, "username", name).await;
    fill(driver, "password", PASSWORD).await;
    click(driver, "form button.primary").await;
    let greeting = format!("Hello, {name}");
    eventually(10, "the dashboard after login", || async { body_text(driver).await.contains(&greeting) }).await;
}

async fn create_resource(server: &Server, admin: &str, name: &str, capacity: u32) -> String {
    let r = server
        .post(
            admin,
            "/api/v1/resources",
            json!({ "name": name, "tags": ["lab"], "capacity": capacity, "time_zone": "Europe/Paris" }),
        )
        .send()
        .await
        .expect("create resource");
    assert!(r.status().is_success());
    r.json::<serde_json::Value>().await.expect("json")["id"].as_str().expect("id").to_string()
}

async fn book(
    server: &Server,
    token: &str,
    resource: &str,
    start: chrono::DateTime<chrono::Utc>,
    end: chrono::DateTime<chrono::Utc>,
) -> String {
    let r = server
        .post(
            token,
            "/api/v1/reservations",
            json!({ "resource_id": resource, "start_time": start.to_rfc3339(), "end_time": end.to_rfc3339() }),
        )
        .send()
        .await
        .expect("book");
    assert_eq!(r.status(), 201);
    r.json::<serde_json::Value>().await.expect("json")["id"].as_str().expect("id").to_string()
}

/// Scrolls a day schedule to its working hours, for the screenshots.
async fn show_working_hours(driver: &WebDriver) {
    let script = "const rows = document.querySelectorAll('#schedule tbody tr'); \
                  if (rows.length > 12) rows[12].scrollIntoView({block: 'center'});";
    driver.execute(script, vec![]).await.expect("scroll");
}
