//! Daily API usage quotas against the real server, on SQLite and PostgreSQL: running out answers
//! 429 `api-quota-exceeded` with `Retry-After` until the next UTC midnight and the RateLimit
//! headers; an admin's override raises and lowers the limit and is in the audit trail; the
//! count starts again at midnight (a server built in-process on a clock the test moves); two
//! replicas on one database share one count; only admins see others' usage; bad overrides are
//! 422 and change nothing; an OAuth2 client counts as itself in the `client` tier.

#[macro_use]
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use common::{Backend, ScratchDatabase, Server, PASSWORD};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// Quotas on, per-minute limits on (their defaults), shares flushed every 100 ms.
fn quota_env(user_daily: &str) -> Vec<(&str, &str)> {
    vec![
        ("API_QUOTA_ENABLED", "true"),
        ("API_QUOTA_USER", user_daily),
        ("API_QUOTA_FLUSH_MS", "100"),
        ("RATE_LIMIT_ENABLED", "true"),
    ]
}

async fn user_id(s: &Server, token: &str) -> String {
    let me: Value = s.get(token, "/api/v1/users/me").send().await.expect("me").json().await.expect("json");
    me["id"].as_str().expect("id").to_string()
}

fn header(r: &reqwest::Response, name: &str) -> String {
    r.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
}

/// Seconds from now to the next UTC midnight.
fn seconds_to_midnight() -> i64 {
    let now = Utc::now();
    let midnight = now.date_naive().succ_opt().expect("tomorrow").and_hms_opt(0, 0, 0).expect("midnight").and_utc();
    (midnight - now).num_seconds()
}

async fn patch(s: &Server, token: &str, path: &str, body: &str) -> reqwest::Response {
    s.client
        .patch(s.url(path))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("patch")
}

async fn exhaustion_answers_429_with_headers(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start_with(db.url(), &quota_env("5")).await;
    let admin = s.setup_admin().await;
    let alice = s.user("alice").await;
    let alice_id = user_id(&s, &alice).await; // request 1

    for left in (0..4).rev() {
        let r = s.get(&alice, "/api/v1/resources").send().await.expect("list");
        assert_eq!(r.status(), 200);
        // Both windows are named; the day is closer to running out than the minute.
        assert_eq!(header(&r, "ratelimit-policy"), "600;w=60, 5;w=86400");
        assert_eq!(header(&r, "ratelimit-limit"), "5");
        assert_eq!(header(&r, "ratelimit-remaining"), left.to_string());
    }
    let refused = s.get(&alice, "/api/v1/resources").send().await.expect("list");
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&refused, "content-type"), "application/problem+json");
    let retry_after: i64 = header(&refused, "retry-after").parse().expect("Retry-After in seconds");
    assert!((retry_after - seconds_to_midnight()).abs() <= 5, "Retry-After {retry_after} is not until midnight");
    assert_eq!(header(&refused, "ratelimit-limit"), "5");
    assert_eq!(header(&refused, "ratelimit-remaining"), "0");
    assert_eq!(header(&refused, "ratelimit-reset"), retry_after.to_string());
    assert_eq!(header(&refused, "ratelimit-policy"), "600;w=60, 5;w=86400");
    let problem: Value = refused.json().await.expect("problem");
    assert!(problem["type"].as_str().is_some_and(|t| t.ends_with("/problems/api-quota-exceeded")), "{problem}");
    assert_eq!(problem["status"], 429);
    assert_eq!(problem["limit"], 5);
    let resets_at: DateTime<Utc> = problem["resets_at"].as_str().expect("resets_at").parse().expect("an instant");
    assert_eq!(resets_at, Utc::now().date_naive().succ_opt().unwrap().and_hms_opt(0, 0, 0).unwrap().and_utc());
    // Every route of hers is refused now, her usage included; refusals are not counted.
    let usage = s.get(&alice, "/api/v1/quotas/my-usage").send().await.expect("usage");
    assert_eq!(usage.status(), 429);

    // An admin (unlimited by default) sees her day.
    let seen: Value =
        s.get(&admin, &format!("/api/v1/quotas/users/{alice_id}")).send().await.unwrap().json().await.unwrap();
    assert_eq!(seen["used_today"], 5, "{seen}");
    assert_eq!(seen["remaining"], 0, "{seen}");
    assert_eq!(seen["tier"], "user");
    assert_eq!(seen["daily_limit"], 5);
    assert_eq!(seen["override"], Value::Null);
    let mine: Value = s.get(&admin, "/api/v1/quotas/my-usage").send().await.unwrap().json().await.unwrap();
    assert_eq!(mine["tier"], "admin");
    assert_eq!(mine["daily_limit"], 0, "{mine}");
    assert_eq!(mine["remaining"], Value::Null, "{mine}");
    assert_eq!(mine["per_minute_limit"], 1200);

    // Another user has a day of their own; anonymous callers have the per-minute limit only.
    let bob = s.user("bob").await;
    let r = s.get(&bob, "/api/v1/quotas/my-usage").send().await.expect("usage");
    assert_eq!(r.status(), 200);
    let bobs: Value = r.json().await.unwrap();
    assert_eq!((bobs["used_today"].as_u64(), bobs["remaining"].as_u64()), (Some(1), Some(4)), "{bobs}");
    let anonymous = s.client.get(s.url("/api/v1/resources")).send().await.expect("anonymous");
    assert_eq!(header(&anonymous, "ratelimit-policy"), "60;w=60", "anonymous callers have no daily quota");

    // The tiers are public to every signed-in caller.
    let config: Value = s.get(&bob, "/api/v1/quotas/config").send().await.unwrap().json().await.unwrap();
    let tiers: Vec<(String, u64)> = config["tiers"]
        .as_array()
        .expect("tiers")
        .iter()
        .map(|t| (t["tier"].as_str().unwrap().to_string(), t["daily_limit"].as_u64().unwrap()))
        .collect();
    let expected: [(&str, u64); 6] =
        [("guest", 1000), ("user", 5), ("approver", 20000), ("auditor", 20000), ("admin", 0), ("client", 50000)];
    assert_eq!(tiers, expected.map(|(t, n)| (t.to_string(), n)).to_vec(), "{config}");
    assert_eq!(config["anonymous_per_minute_limit"], 60);
    assert_eq!(config["flush_interval_ms"], 100);
}

async fn admin_override_raises_lowers_and_is_audited(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start_with(db.url(), &quota_env("3")).await;
    let admin = s.setup_admin().await;
    let admin_id = user_id(&s, &admin).await;
    let carol = s.user("carol").await;
    let carol_id = user_id(&s, &carol).await;
    let path = format!("/api/v1/quotas/users/{carol_id}");
    for _ in 0..2 {
        assert_eq!(s.get(&carol, "/api/v1/resources").send().await.unwrap().status(), 200);
    }
    assert_eq!(s.get(&carol, "/api/v1/resources").send().await.unwrap().status(), 429);

    // Raised: she may go on at once.
    let raised = patch(&s, &admin, &path, r#"{"daily_limit": 10}"#).await;
    assert_eq!(raised.status(), 200);
    let set_at = header(&raised, "x-log-position");
    let raised: Value = raised.json().await.unwrap();
    assert_eq!((raised["override"].as_u64(), raised["daily_limit"].as_u64()), (Some(10), Some(10)), "{raised}");
    assert_eq!(raised["used_today"], 3, "{raised}");
    assert_eq!(raised["remaining"], 7, "{raised}");
    let r = s.get(&carol, "/api/v1/quotas/my-usage").send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "ratelimit-policy"), "600;w=60, 10;w=86400");
    let hers: Value = r.json().await.unwrap();
    assert_eq!((hers["used_today"].as_u64(), hers["override"].as_u64()), (Some(4), Some(10)), "{hers}");

    // Lowered below what she used: refused again.
    let lowered = patch(&s, &admin, &path, r#"{"daily_limit": 4}"#).await;
    assert_eq!(lowered.status(), 200);
    assert_eq!(s.get(&carol, "/api/v1/resources").send().await.unwrap().status(), 429);

    // Cleared: back to the tier's 3. Clearing again writes nothing.
    let cleared = patch(&s, &admin, &path, r#"{"daily_limit": null}"#).await;
    assert_eq!(cleared.status(), 200);
    let cleared_at = header(&cleared, "x-log-position");
    let cleared: Value = cleared.json().await.unwrap();
    assert_eq!((cleared["override"].clone(), cleared["daily_limit"].as_u64()), (Value::Null, Some(3)), "{cleared}");
    let again = patch(&s, &admin, &path, r#"{"daily_limit": null}"#).await;
    assert_eq!(again.status(), 200);
    assert!(again.headers().get("x-log-position").is_none(), "nothing to clear, nothing written");

    // The audit trail names each change, its stream and the admin who made it.
    let audit: Value = s
        .get(&admin, "/api/v1/audit/logs?limit=100")
        .header("X-Min-Position", cleared_at.clone())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let entries: Vec<&Value> = audit["data"]
        .as_array()
        .unwrap_or_else(|| panic!("entries: {audit}"))
        .iter()
        .filter(|e| e["target"].as_str() == Some(&format!("api-quota-{carol_id}")))
        .collect();
    let actions: Vec<&str> = entries.iter().filter_map(|e| e["action"].as_str()).collect();
    assert_eq!(actions.len(), 3, "{audit}");
    assert_eq!(actions.iter().filter(|a| **a == "api_quota_override_set").count(), 2, "{actions:?}");
    assert!(actions.contains(&"api_quota_override_cleared"), "{actions:?}");
    assert!(entries.iter().all(|e| e["actor"].as_str() == Some(admin_id.as_str())), "{audit}");
    assert!(set_at.parse::<u64>().unwrap() < cleared_at.parse::<u64>().unwrap());

    // A restarted server reads overrides from the log.
    patch(&s, &admin, &path, r#"{"daily_limit": 0}"#).await;
    drop(s);
    let s = Server::start_with(db.url(), &quota_env("3")).await;
    let carol = s.login("carol", PASSWORD).await;
    let r = s.get(&carol, "/api/v1/quotas/my-usage").send().await.unwrap();
    assert_eq!(r.status(), 200, "0 is unlimited");
    let hers: Value = r.json().await.unwrap();
    assert_eq!((hers["override"].as_u64(), hers["daily_limit"].as_u64()), (Some(0), Some(0)), "{hers}");
    assert_eq!(hers["remaining"], Value::Null);
}

async fn only_admins_see_others_and_bad_overrides_are_422(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let s = Server::start_with(db.url(), &quota_env("100")).await;
    let admin = s.setup_admin().await;
    let dave = s.user("dave").await;
    let dave_id = user_id(&s, &dave).await;
    let erin = s.user("erin").await;
    let path = format!("/api/v1/quotas/users/{dave_id}");

    for r in [
        s.get(&erin, "/api/v1/quotas/users").send().await.unwrap(),
        s.get(&erin, &path).send().await.unwrap(),
        patch(&s, &erin, &path, r#"{"daily_limit": 100000}"#).await,
        patch(&s, &dave, &path, r#"{"daily_limit": 100000}"#).await,
    ] {
        assert_eq!(r.status(), 403);
        let problem: Value = r.json().await.unwrap();
        assert!(problem["type"].as_str().is_some_and(|t| t.ends_with("/forbidden")), "{problem}");
    }
    assert_eq!(s.client.get(s.url("/api/v1/quotas/my-usage")).send().await.unwrap().status(), 401);

    for body in [
        r#"{"daily_limit": -1}"#,
        r#"{"daily_limit": 1.5}"#,
        r#"{"daily_limit": "many"}"#,
        r#"{"daily_limit": 1000000001}"#,
        r#"{}"#,
        r#"{"daily_limit": 5, "monthly_limit": 9}"#,
        "5",
        "not json",
    ] {
        let r = patch(&s, &admin, &path, body).await;
        assert_eq!(r.status(), 422, "{body}");
        assert_eq!(header(&r, "content-type"), "application/problem+json", "{body}");
        assert!(r.headers().get("x-log-position").is_none());
        let problem: Value = r.json().await.unwrap();
        assert!(problem["type"].as_str().is_some_and(|t| t.ends_with("/validation-error")), "{body}: {problem}");
    }
    let unknown =
        patch(&s, &admin, "/api/v1/quotas/users/00000000-0000-4000-8000-000000000000", r#"{"daily_limit": 1}"#).await;
    assert_eq!(unknown.status(), 404);
    let not_an_id = s.get(&admin, "/api/v1/quotas/users/nobody").send().await.unwrap();
    assert_eq!(not_an_id.status(), 422, "a malformed id is a malformed path");
    let untouched: Value = s.get(&admin, &path).send().await.unwrap().json().await.unwrap();
    assert_eq!(untouched["override"], Value::Null, "refused bodies changed nothing");

    // The list pages like the other admin lists, by username, each with its usage.
    let first: Value = s.get(&admin, "/api/v1/quotas/users?limit=2").send().await.unwrap().json().await.unwrap();
    let names: Vec<&str> = first["data"].as_array().unwrap().iter().map(|u| u["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["admin", "dave"], "{first}");
    assert_eq!(first["has_more"], true);
    assert!(first["data"][1]["used_today"].as_u64().is_some_and(|n| n >= 1), "{first}");
    let cursor = first["next_cursor"].as_str().expect("cursor");
    let rest: Value = s
        .get(&admin, &format!("/api/v1/quotas/users?limit=2&cursor={cursor}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = rest["data"].as_array().unwrap().iter().map(|u| u["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["erin"], "{rest}");
    assert_eq!((rest["has_more"].clone(), rest["next_cursor"].clone()), (json!(false), Value::Null));
    for bad in ["limit=0", "limit=501", "cursor=garbage"] {
        let r = s.get(&admin, &format!("/api/v1/quotas/users?{bad}")).send().await.unwrap();
        assert_eq!(r.status(), 422, "{bad}");
    }
}

/// Two servers on one database: what one counted, the other refuses on.
async fn replicas_share_one_count(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let a = Server::start_with(db.url(), &quota_env("20")).await;
    let admin = a.setup_admin().await;
    let frank = a.user("frank").await;
    let frank_id = user_id(&a, &frank).await;
    let b = Server::start_with(db.url(), &quota_env("20")).await;
    for _ in 0..9 {
        assert_eq!(a.get(&frank, "/api/v1/resources").send().await.unwrap().status(), 200);
    }
    // 10 counted on A. B learns them within a flush interval; each look counts one more.
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut looks = 0;
    loop {
        let usage: Value = b.get(&frank, "/api/v1/quotas/my-usage").send().await.unwrap().json().await.unwrap();
        looks += 1;
        if usage["used_today"].as_u64() == Some(10 + looks) {
            break;
        }
        assert!(Instant::now() < deadline, "B never saw A's count: {usage}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // B admits exactly what is left of the 20.
    let mut admitted = 0;
    loop {
        let r = b.get(&frank, "/api/v1/resources").send().await.unwrap();
        if r.status() == 429 {
            break;
        }
        assert_eq!(r.status(), 200);
        admitted += 1;
        assert!(admitted <= 20, "B never refused");
    }
    assert_eq!(10 + looks + admitted, 20, "looks {looks}, admitted {admitted}");
    // Both replicas agree on the day's count; once A has read it, A refuses too.
    for replica in [&b, &a] {
        let shown: Value = replica
            .get(&admin, &format!("/api/v1/quotas/users/{frank_id}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(shown["used_today"].as_u64(), Some(20), "{shown}");
        assert_eq!(shown["remaining"].as_u64(), Some(0), "{shown}");
    }
    let refused = a.get(&frank, "/api/v1/resources").send().await.unwrap();
    assert_eq!(refused.status(), 429, "A knows what B counted");
    // An admin's override made on A reaches B.
    assert_eq!(
        patch(&a, &admin, &format!("/api/v1/quotas/users/{frank_id}"), r#"{"daily_limit": 1000}"#).await.status(),
        200
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    while b.get(&frank, "/api/v1/resources").send().await.unwrap().status() == 429 {
        assert!(Instant::now() < deadline, "B never applied the override");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The count starts again at UTC midnight: a server built in-process on a clock the test moves.
async fn the_count_starts_again_at_midnight(backend: Backend) {
    reserver::install_crypto_provider();
    let db = ScratchDatabase::new(backend).await;
    let start: DateTime<Utc> = "2030-01-10T23:59:50Z".parse().unwrap();
    let clock = Arc::new(reserver_commands::ManualClock::new(start));
    let mut settings = reserver::Settings::for_tests(db.url());
    settings.quotas.user = 2;
    settings.quotas.flush_interval = Duration::from_millis(50);
    settings.quota_clock = Some(reserver::config::QuotaClock(clock.clone()));
    let app = reserver::Application::build(settings).await.expect("build");
    let s = Server::attached(app.port());
    let handle = app.stop_handle();
    tokio::spawn(app.run_until_stopped());

    s.setup_admin().await;
    let gina = s.user("gina").await;
    let usage: Value = s.get(&gina, "/api/v1/quotas/my-usage").send().await.unwrap().json().await.unwrap();
    assert_eq!(usage["resets_at"], "2030-01-11T00:00:00Z", "{usage}");
    assert_eq!(s.get(&gina, "/api/v1/resources").send().await.unwrap().status(), 200);
    let refused = s.get(&gina, "/api/v1/resources").send().await.unwrap();
    assert_eq!(refused.status(), 429);
    assert_eq!(header(&refused, "retry-after"), "10", "ten seconds to midnight on the quota clock");
    let problem: Value = refused.json().await.unwrap();
    assert_eq!(problem["resets_at"], "2030-01-11T00:00:00Z");

    clock.advance(chrono::Duration::seconds(10));
    let r = s.get(&gina, "/api/v1/quotas/my-usage").send().await.unwrap();
    assert_eq!(r.status(), 200, "a new day, a new count");
    let usage: Value = r.json().await.unwrap();
    assert_eq!(usage["used_today"], 1, "{usage}");
    assert_eq!(usage["resets_at"], "2030-01-12T00:00:00Z", "{usage}");
    assert_eq!(header(&refused_or_not(&s, &gina).await, "ratelimit-remaining"), "0");
    assert_eq!(s.get(&gina, "/api/v1/resources").send().await.unwrap().status(), 429);
    handle.stop(false).await;
}

async fn refused_or_not(s: &Server, token: &str) -> reqwest::Response {
    s.get(token, "/api/v1/resources").send().await.unwrap()
}

/// An OAuth2 client counts as itself, in the `client` tier, whatever role its scope lends it.
async fn clients_count_as_themselves(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let mut env = quota_env("100");
    env.push(("API_QUOTA_CLIENT", "3"));
    let s = Server::start_with(db.url(), &env).await;
    let admin = s.setup_admin().await;
    let created: Value = s
        .post(&admin, "/api/v1/oauth/clients", json!({ "name": "door-display", "scopes": ["resources:read"] }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (id, secret) = (created["id"].as_str().unwrap(), created["client_secret"].as_str().unwrap());
    let r = s
        .client
        .post(s.url("/api/v1/oauth/token"))
        .form(&[("grant_type", "client_credentials"), ("client_id", id), ("client_secret", secret)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "the token endpoint is not counted");
    let token: Value = r.json().await.unwrap();
    let token = token["access_token"].as_str().unwrap();
    let mine: Value = s.get(token, "/api/v1/quotas/my-usage").send().await.unwrap().json().await.unwrap();
    assert_eq!((mine["tier"].as_str(), mine["name"].as_str()), (Some("client"), Some("door-display")), "{mine}");
    assert_eq!((mine["id"].as_str(), mine["daily_limit"].as_u64()), (Some(id), Some(3)), "{mine}");
    assert_eq!(s.get(token, "/api/v1/quotas/config").send().await.unwrap().status(), 200);
    assert_eq!(s.get(token, "/api/v1/resources").send().await.unwrap().status(), 200);
    let refused = s.get(token, "/api/v1/resources").send().await.unwrap();
    assert_eq!(refused.status(), 429);
    assert_eq!(header(&refused, "ratelimit-limit"), "3");
    // Admins see and override a client like an account.
    let seen: Value = s.get(&admin, &format!("/api/v1/quotas/users/{id}")).send().await.unwrap().json().await.unwrap();
    assert_eq!((seen["tier"].as_str(), seen["used_today"].as_u64()), (Some("client"), Some(3)), "{seen}");
    assert_eq!(patch(&s, &admin, &format!("/api/v1/quotas/users/{id}"), r#"{"daily_limit": 4}"#).await.status(), 200);
    assert_eq!(s.get(token, "/api/v1/resources").send().await.unwrap().status(), 200);
}

on_both_backends!(
    exhaustion_answers_429_with_headers,
    admin_override_raises_lowers_and_is_audited,
    only_admins_see_others_and_bad_overrides_are_422,
    replicas_share_one_count,
    the_count_starts_again_at_midnight,
    clients_count_as_themselves,
);
