//! First run, login, registration, logout, password change, CSRF, languages and the shell's
//! static parts, through the web app's forms.

use reqwest::StatusCode;

use crate::common::{Backend, ScratchDatabase, Server, PASSWORD};
use crate::support::{csrf_of, Browser};

pub async fn first_run_then_dashboard(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let server = Server::start(db.url()).await;
    let browser = Browser::new(&server);
    // Nobody signed in: pages send to login, and login to setup while there is no admin.
    let r = browser.client.get(server.url("/")).send().await.expect("GET /");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(Browser::location(&r), "/login?next=/");
    let r = browser.client.get(server.url("/login")).send().await.expect("GET /login");
    assert_eq!(Browser::location(&r), "/setup");
    // A weak password is refused next to the field, naming every missing rule, and the
    // username typed is kept.
    let r = browser.submit("/setup", "/setup", &[("username", "admin"), ("password", "short")]).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap_or_default();
    assert!(html.contains("id=\"password-error\""), "{html}");
    assert!(html.contains("at least 10 characters") && html.contains("an uppercase letter"), "{html}");
    assert!(html.contains("value=\"admin\""), "the username is kept: {html}");
    browser.setup_admin().await;
    let (status, html) = browser.get("/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Hello, admin"), "{html}");
    // Setup is done: its page sends to login, and the form is refused.
    let r = Browser::new(&server).client.get(server.url("/setup")).send().await.expect("GET /setup");
    assert_eq!(Browser::location(&r), "/login");
    let other = Browser::new(&server);
    let (_, login_page) = other.get("/login").await;
    let token = csrf_of(&login_page);
    let r = other
        .client
        .post(server.url("/setup"))
        .form(&[("csrf", token.as_str()), ("username", "intruder"), ("password", PASSWORD)])
        .send()
        .await
        .expect("POST /setup");
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert!(r.text().await.unwrap_or_default().contains("Setup is already complete"));
}

pub async fn forms_need_their_csrf_token(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let server = Server::start(db.url()).await;
    server.setup_admin().await;
    let browser = Browser::new(&server);
    let r = browser.post_raw("/login", &[("username", "admin"), ("password", PASSWORD)]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.text().await.unwrap_or_default().contains("This form has expired"));
    // Another visitor's token is not this visitor's.
    let (_, page) = Browser::new(&server).get("/login").await;
    let foreign = csrf_of(&page);
    let r = browser.post_raw("/login", &[("csrf", &foreign), ("username", "admin"), ("password", PASSWORD)]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // A form posted from another site is refused even with a valid token.
    let (_, page) = browser.get("/login").await;
    let token = csrf_of(&page);
    let r = browser
        .client
        .post(server.url("/login"))
        .header("Origin", "https://evil.example")
        .form(&[("csrf", token.as_str()), ("username", "admin"), ("password", PASSWORD)])
        .send()
        .await
        .expect("POST");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // Signed in, the token changes with the session: the anonymous one no longer works.
    assert_eq!(browser.login("admin", PASSWORD).await.status(), StatusCode::SEE_OTHER);
    let r = browser.post_raw("/logout", &[("csrf", &token)]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(browser.get("/").await.0, StatusCode::OK, "a refused logout changes nothing");
}

pub async fn logout_ends_the_session_everywhere(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let server = Server::start(db.url()).await;
    server.setup_admin().await;
    let browser = Browser::new(&server);
    let r = browser.login("admin", PASSWORD).await;
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("rr_session="))
        .expect("session cookie")
        .to_string();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
    let stolen = cookie.split(';').next().unwrap_or_default().to_string();
    let other = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let with_copy = |path: &str| other.get(server.url(path)).header("Cookie", stolen.clone()).send();
    assert_eq!(with_copy("/").await.expect("GET").status(), StatusCode::OK);
    let r = browser.submit("/", "/logout", &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(Browser::location(&r), "/login");
    // The copy of the cookie is dead too: the session ended in the log.
    let r = with_copy("/").await.expect("GET");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(browser.get("/").await.0, StatusCode::SEE_OTHER);
}

pub async fn errors_speak_the_readers_language(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let server = Server::start(db.url()).await;
    server.setup_admin().await;
    let french = Browser::with_language(&server, "fr-CH, fr;q=0.9, en;q=0.5");
    let r = french.login("admin", "wrong-password").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let html = r.text().await.unwrap_or_default();
    assert!(html.contains("<html lang=\"fr\""), "{html}");
    assert!(html.contains("Nom d’utilisateur ou mot de passe incorrect."), "{html}");
    assert!(html.contains("value=\"admin\""), "the username is kept");
    // A visitor's language choice is kept in a cookie, and becomes the account's preference.
    let spanish = Browser::new(&server);
    let r = spanish.submit("/login", "/language", &[("language", "es"), ("next", "/login")]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, html) = spanish.get("/login").await;
    assert!(html.contains("Iniciar sesión"), "{html}");
    assert_eq!(spanish.login("admin", PASSWORD).await.status(), StatusCode::SEE_OTHER);
    let (_, html) = spanish.get("/").await;
    assert!(html.contains("Hola, admin"), "{html}");
    let token = server.login("admin", PASSWORD).await;
    let me: serde_json::Value =
        server.get(&token, "/api/v1/users/me").send().await.expect("me").json().await.expect("json");
    assert_eq!(me["preferences"]["language"], "es");
}

pub async fn registration_and_password_change(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let server = Server::start(db.url()).await;
    server.setup_admin().await;
    let browser = Browser::new(&server);
    // A taken name is said next to the username field.
    let r = browser.submit("/register", "/register", &[("username", "admin"), ("password", PASSWORD)]).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let html = r.text().await.unwrap_or_default();
    assert!(html.contains("id=\"username-error\"") && html.contains("That username is already taken."), "{html}");
    let r = browser.submit("/register", "/register", &[("username", "dana"), ("password", PASSWORD)]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(browser.get("/").await.1.contains("Hello, dana"));
    // Password change: the current password is checked, then the policy.
    let r = browser
        .submit("/password", "/password", &[("current_password", "not-it"), ("password", "N3w-Passw0rd-Long")])
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap_or_default().contains("That is not your current password."));
    let r = browser.submit("/password", "/password", &[("current_password", PASSWORD), ("password", "weak")]).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = browser
        .submit("/password", "/password", &[("current_password", PASSWORD), ("password", "N3w-Passw0rd-Long")])
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap_or_default().contains("Your password has been changed."));
    assert_eq!(server.login_response("dana", PASSWORD).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(server.login_response("dana", "N3w-Passw0rd-Long").await.status(), StatusCode::OK);
    // The same change over the API.
    let token = server.login("dana", "N3w-Passw0rd-Long").await;
    let r = server
        .post(
            &token,
            "/api/v1/users/me/password",
            serde_json::json!({ "current_password": "wrong", "new_password": PASSWORD }),
        )
        .send()
        .await
        .expect("POST");
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: serde_json::Value = r.json().await.expect("json");
    assert_eq!(problem["errors"][0]["field"], "current_password");
    let r = server
        .post(
            &token,
            "/api/v1/users/me/password",
            serde_json::json!({ "current_password": "N3w-Passw0rd-Long", "new_password": PASSWORD }),
        )
        .send()
        .await
        .expect("POST");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(server.login_response("dana", PASSWORD).await.status(), StatusCode::OK);
}

pub async fn static_parts_of_the_app(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let server = Server::start(db.url()).await;
    let browser = Browser::new(&server);
    let (_, html) = browser.get("/setup").await;
    let css = html.split("href=\"/assets/app.").nth(1).and_then(|s| s.split('"').next()).expect("hashed stylesheet");
    let r = server
        .client
        .get(server.url(&format!("/assets/app.{css}")))
        .header("Accept-Encoding", "gzip")
        .send()
        .await
        .expect("GET css");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["cache-control"], "public, max-age=31536000, immutable");
    assert_eq!(r.headers()["content-encoding"], "gzip");
    let manifest: serde_json::Value = server
        .client
        .get(server.url("/manifest.webmanifest"))
        .send()
        .await
        .expect("manifest")
        .json()
        .await
        .expect("json");
    assert_eq!(manifest["start_url"], "/");
    assert!(manifest["icons"].as_array().is_some_and(|i| i.len() >= 2));
    let sw = server.client.get(server.url("/sw.js")).send().await.expect("sw").text().await.unwrap_or_default();
    assert!(sw.contains(&format!("/assets/app.{css}")) && sw.contains("/offline"), "{sw}");
    let (status, html) = Browser::with_language(&server, "es").get("/offline").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Sin conexión"));
    // Pages are never cached by shared caches and may not be framed.
    let r = server.client.get(server.url("/setup")).send().await.expect("GET");
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert!(r.headers()["content-security-policy"].to_str().unwrap_or_default().contains("frame-ancestors 'none'"));
    // The API is untouched: an unknown API path is still a problem+json 404.
    let r = server.client.get(server.url("/api/v1/nope")).send().await.expect("GET");
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
}

async fn my_sessions(server: &Server, token: &str) -> Vec<serde_json::Value> {
    let body: serde_json::Value =
        server.get(token, "/api/v1/users/me/sessions").send().await.expect("GET sessions").json().await.expect("json");
    body["sessions"].as_array().cloned().unwrap_or_default()
}

async fn sessions_settle(server: &Server, token: &str, count: usize) -> Vec<serde_json::Value> {
    for _ in 0..100 {
        let sessions = my_sessions(server, token).await;
        if sessions.len() == count {
            return sessions;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("expected {count} sessions, have {:?}", my_sessions(server, token).await);
}

pub async fn sessions_are_listed_and_ended(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let server = Server::start(db.url()).await;
    let admin = server.setup_admin().await;
    let api_login = |agent: &'static str| {
        server
            .client
            .post(server.url("/api/v1/token"))
            .header("User-Agent", agent)
            .form(&[("username", "alice"), ("password", PASSWORD)])
            .send()
    };
    server.user("alice").await;
    let phone: serde_json::Value = api_login("PhoneApp/2.1").await.expect("login").json().await.expect("json");
    let phone = phone["access_token"].as_str().expect("token").to_string();
    let browser = Browser::new(&server);
    assert_eq!(browser.login("alice", PASSWORD).await.status(), StatusCode::SEE_OTHER);
    // Three logins: the API one of `user()`, the phone, the browser.
    let sessions = sessions_settle(&server, &phone, 3).await;
    assert_eq!(sessions.iter().filter(|s| s["current"] == true).count(), 1);
    assert!(sessions.iter().any(|s| s["user_agent"] == "PhoneApp/2.1" && s["current"] == true), "{sessions:?}");
    let (status, html) = browser.get("/sessions").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("PhoneApp/2.1") && html.contains("This session"), "{html}");
    // Someone else cannot see or end them.
    let bob = server.user("bob").await;
    let alices = sessions[0]["id"].as_str().expect("id");
    let r = server
        .client
        .delete(server.url(&format!("/api/v1/users/me/sessions/{alices}")))
        .bearer_auth(&bob)
        .send()
        .await
        .expect("DELETE");
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let alice_id = server
        .get(&phone, "/api/v1/users/me")
        .send()
        .await
        .expect("me")
        .json::<serde_json::Value>()
        .await
        .expect("json")["id"]
        .as_str()
        .expect("id")
        .to_string();
    let r = server.get(&bob, &format!("/api/v1/users/{alice_id}/sessions")).send().await.expect("GET");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = server.get(&admin, &format!("/api/v1/users/{alice_id}/sessions")).send().await.expect("GET");
    assert_eq!(r.json::<serde_json::Value>().await.expect("json")["sessions"].as_array().map(Vec::len), Some(3));
    // The browser ends every other session: the phone's token stops working at once.
    let r = browser.submit("/sessions", "/sessions/revoke-others", &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, html) = browser.get(&Browser::location(&r)).await;
    assert!(html.contains("2 sessions ended."), "{html}");
    assert_eq!(server.get(&phone, "/api/v1/users/me").send().await.expect("me").status(), StatusCode::UNAUTHORIZED);
    // A password change that ends the other sessions logs the browser out.
    let tablet: serde_json::Value = api_login("Tablet").await.expect("login").json().await.expect("json");
    let tablet = tablet["access_token"].as_str().expect("token").to_string();
    let r = server
        .post(
            &tablet,
            "/api/v1/users/me/password",
            serde_json::json!({
                "current_password": PASSWORD, "new_password": "An0ther-Passw0rd!", "revoke_other_sessions": true
            }),
        )
        .send()
        .await
        .expect("POST");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(browser.get("/").await.0, StatusCode::SEE_OTHER, "the browser's session ended");
    assert_eq!(server.get(&tablet, "/api/v1/users/me").send().await.expect("me").status(), StatusCode::OK);
}

pub async fn session_lifetime_is_configurable(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let server =
        Server::start_with(db.url(), &[("REFRESH_SESSION_MAX_DAYS", "1"), ("REFRESH_TOKEN_EXPIRE_DAYS", "14")]).await;
    let admin = server.setup_admin().await;
    let sessions = sessions_settle(&server, &admin, 1).await;
    let parse = |key: &str| {
        chrono::DateTime::parse_from_rfc3339(sessions[0][key].as_str().unwrap_or_default())
            .expect("an instant")
            .to_utc()
    };
    let day = chrono::Utc::now() + chrono::Duration::days(1);
    // The absolute lifetime bounds the idle one, which would otherwise be 14 days.
    assert!(parse("absolute_expires_at") <= day, "{sessions:?}");
    assert!(parse("expires_at") <= day, "{sessions:?}");
}

/// Every login is a new session, whatever `Idempotency-Key` a client sends with it.
pub async fn logins_are_never_replays(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let server = Server::start(db.url()).await;
    server.setup_admin().await;
    let login = || {
        server
            .client
            .post(server.url("/api/v1/token"))
            .header("Idempotency-Key", "same-key")
            .form(&[("username", "admin"), ("password", PASSWORD)])
            .send()
    };
    let first: serde_json::Value = login().await.expect("login").json().await.expect("json");
    let second: serde_json::Value = login().await.expect("login").json().await.expect("json");
    assert_ne!(first["refresh_token"], second["refresh_token"]);
    for pair in [&first, &second] {
        let token = pair["access_token"].as_str().expect("token");
        assert_eq!(server.get(token, "/api/v1/users/me").send().await.expect("me").status(), StatusCode::OK);
        let refreshed = server
            .client
            .post(server.url("/api/v1/token/refresh"))
            .json(&serde_json::json!({ "refresh_token": pair["refresh_token"] }))
            .send()
            .await
            .expect("refresh");
        assert_eq!(refreshed.status(), StatusCode::OK, "each login started its own session");
    }
}
