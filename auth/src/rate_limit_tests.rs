use super::*;

fn config(per_minute: u32) -> RateLimitConfig {
    RateLimitConfig {
        anonymous_per_minute: per_minute,
        authenticated_per_minute: per_minute * 2,
        admin_per_minute: 0,
        auth_endpoints_per_minute: 3,
        enabled: true,
    }
}

#[test]
fn the_request_after_the_allowance_is_limited() {
    let limiter = RateLimiter::new(config(5));
    for used in 1..=5 {
        let info = limiter.check(Tier::Anonymous, "10.0.0.1").expect("within allowance");
        assert_eq!((info.limit, info.remaining), (5, 5 - used));
        assert!(info.reset_seconds > 0 && info.reset_seconds <= 60, "{info:?}");
    }
    let limited = limiter.check(Tier::Anonymous, "10.0.0.1").expect_err("sixth is limited");
    assert_eq!(limited.limit, 5);
    assert!((1..=12).contains(&limited.retry_after_seconds), "{limited:?}");
}

#[test]
fn keys_and_tiers_are_counted_separately() {
    let limiter = RateLimiter::new(config(1));
    assert!(limiter.check(Tier::Anonymous, "a").is_ok());
    assert!(limiter.check(Tier::Anonymous, "a").is_err());
    assert!(limiter.check(Tier::Anonymous, "b").is_ok());
    assert!(limiter.check(Tier::Authenticated, "a").is_ok());
    for _ in 0..3 {
        assert!(limiter.check(Tier::AuthEndpoint, "a").is_ok());
    }
    assert!(limiter.check(Tier::AuthEndpoint, "a").is_err());
}

#[test]
fn a_zero_limit_leaves_the_tier_unlimited() {
    let limiter = RateLimiter::new(config(1));
    for _ in 0..100 {
        assert!(limiter.check(Tier::Admin, "root").is_ok_and(|info| info.is_unlimited()));
    }
}

#[test]
fn disabled_limits_always_allow() {
    let limiter = RateLimiter::new(RateLimitConfig { enabled: false, ..config(1) });
    for _ in 0..100 {
        assert_eq!(limiter.check(Tier::Anonymous, "x").map(|i| i.is_unlimited()), Ok(true));
    }
}

#[test]
fn the_allowance_refills_over_time() {
    // 6000 per minute: one request back every 10 ms.
    let limiter = RateLimiter::new(config(6000));
    while limiter.check(Tier::Anonymous, "k").is_ok() {}
    std::thread::sleep(Duration::from_millis(30));
    assert!(limiter.check(Tier::Anonymous, "k").is_ok());
}

#[test]
fn roles_map_to_tiers() {
    assert_eq!(Tier::for_role(None), Tier::Anonymous);
    assert_eq!(Tier::for_role(Some(Role::Admin)), Tier::Admin);
    assert_eq!(Tier::for_role(Some(Role::Guest)), Tier::Authenticated);
}

#[test]
fn stale_keys_are_swept() {
    // 6000 per minute: a key that made one request is back to a full allowance after 10 ms.
    let limiter = RateLimiter::new(config(6000));
    for i in 0..SWEEP_EVERY - 1 {
        let _ = limiter.check(Tier::Anonymous, &format!("client-{i}"));
    }
    let tier = limiter.anonymous.as_ref().expect("limited tier");
    assert_eq!(tier.limiter.len(), (SWEEP_EVERY - 1) as usize);
    std::thread::sleep(Duration::from_millis(30));
    let _ = limiter.check(Tier::Anonymous, "latest");
    assert!(tier.limiter.len() <= 1, "{} keys left", tier.limiter.len());
}
