use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use chrono::TimeZone;

use super::*;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 3, 4, 8, 0, 0).single().expect("valid date")
}

fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(198, 51, 100, last))
}

fn throttle() -> LoginThrottle {
    LoginThrottle::new(LoginThrottleConfig::default())
}

/// One failed attempt at `at`: `Ok(())` when it was admitted, else the wait in seconds.
fn fail(t: &LoginThrottle, name: &str, source: IpAddr, at: DateTime<Utc>) -> Result<(), u64> {
    let attempt = t.begin(name, source, at).map_err(|e| e.retry_after_seconds)?;
    t.failed(attempt);
    Ok(())
}

#[test]
fn one_source_guessing_one_account_waits_longer_and_longer() {
    let t = throttle();
    let mut now = t0();
    for _ in 0..3 {
        assert_eq!(fail(&t, "alice", ip(1), now), Ok(()), "three free failures");
    }
    let mut waits = Vec::new();
    for _ in 0..12 {
        let wait = fail(&t, "alice", ip(1), now).expect_err("throttled right after a failure");
        waits.push(wait);
        assert_eq!(fail(&t, "alice", ip(1), now + Duration::seconds(wait as i64) - Duration::milliseconds(1)), Err(1));
        now += Duration::seconds(wait as i64);
        assert_eq!(fail(&t, "alice", ip(1), now), Ok(()), "admitted once the wait is over");
    }
    assert_eq!(waits, [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900], "doubling, capped at 15 minutes");
}

#[test]
fn known_and_unknown_names_are_throttled_identically() {
    // The throttle never learns whether a name exists: the same sequence gives the same answers.
    let answers = |name: &str| {
        let t = throttle();
        (0..8).map(|i| fail(&t, name, ip(1), t0() + Duration::milliseconds(300 * i))).collect::<Vec<_>>()
    };
    assert_eq!(answers("alice"), answers("no-such-user"));
    assert_eq!(answers("  ALICE "), answers("alice"), "names are compared as usernames are");
}

#[test]
fn an_attacker_elsewhere_does_not_stop_the_real_user() {
    let t = throttle();
    let home = ip(1);
    let attempt = t.begin("alice", home, t0()).expect("first login");
    t.succeeded(attempt, t0());
    // The attacker guesses from another source until throttled there.
    let attacker = ip(66);
    while fail(&t, "alice", attacker, t0()).is_ok() {}
    assert!(fail(&t, "alice", attacker, t0()).is_err());
    // A distributed attack: a new source every second for five minutes pushes the name past
    // its allowance.
    for i in 1..=300u32 {
        let source = IpAddr::V4(Ipv4Addr::from(0xCB00_7100 + i));
        let _ = fail(&t, "alice", source, t0() + Duration::seconds(i64::from(i)));
    }
    let later = t0() + Duration::seconds(300);
    let elsewhere = fail(&t, "alice", ip(99), later).expect_err("a new source waits for the name's delay");
    assert!(elsewhere <= 60, "but never more than the name's cap: {elsewhere}");
    // From where she logged in before, the real user is not delayed at all.
    let attempt = t.begin("alice", home, later).expect("trusted source admitted");
    t.succeeded(attempt, later);
}

#[test]
fn one_source_spraying_many_names_is_throttled_for_every_name() {
    let t = throttle();
    for i in 0..20 {
        assert_eq!(fail(&t, &format!("user{i}"), ip(1), t0()), Ok(()));
    }
    assert_eq!(fail(&t, "somebody-new", ip(1), t0()), Err(1));
    assert_eq!(fail(&t, "somebody-new", ip(2), t0()), Ok(()), "other sources are unaffected");
}

#[test]
fn parallel_attempts_cannot_share_one_free_slot() {
    let t = throttle();
    let admitted: Vec<_> = (0..3).map(|_| t.begin("alice", ip(1), t0()).expect("free")).collect();
    assert!(t.begin("alice", ip(1), t0()).is_err(), "three attempts in flight count as three failures");
    for attempt in admitted {
        t.failed(attempt);
    }
}

#[test]
fn a_success_clears_the_pair_and_does_not_count_against_the_source() {
    let t = throttle();
    for _ in 0..2 {
        fail(&t, "alice", ip(1), t0()).expect("free");
    }
    let attempt = t.begin("alice", ip(1), t0()).expect("third is free");
    t.succeeded(attempt, t0());
    for _ in 0..3 {
        assert_eq!(fail(&t, "alice", ip(1), t0()), Ok(()), "the pair starts afresh");
    }
    // Logging in often from a shared address never throttles it: successes are not failures.
    let t = throttle();
    for i in 0..100 {
        let attempt = t.begin(&format!("user{i}"), ip(7), t0()).expect("admitted");
        t.succeeded(attempt, t0());
    }
    assert_eq!(fail(&t, "anyone", ip(7), t0()), Ok(()));
}

#[test]
fn quiet_keys_are_forgotten() {
    let t = throttle();
    for _ in 0..4 {
        let _ = fail(&t, "alice", ip(1), t0());
    }
    assert!(fail(&t, "alice", ip(1), t0()).is_err());
    let later = t0() + Duration::hours(1);
    for _ in 0..3 {
        assert_eq!(fail(&t, "alice", ip(1), later), Ok(()), "an hour without failures starts afresh");
    }
}

#[test]
fn ipv6_sources_are_keyed_by_their_network() {
    let a: IpAddr = "2001:db8:1:2::1".parse().expect("ip");
    let b: IpAddr = "2001:db8:1:2:ffff::9".parse().expect("ip");
    let c: IpAddr = "2001:db8:1:3::1".parse().expect("ip");
    assert_eq!(source_key(a), source_key(b));
    assert_ne!(source_key(a), source_key(c));
    let mapped = IpAddr::V6(Ipv4Addr::new(198, 51, 100, 1).to_ipv6_mapped());
    assert_eq!(source_key(mapped), ip(1));
    assert_eq!(source_key(IpAddr::V6(Ipv6Addr::LOCALHOST)), "::".parse::<IpAddr>().expect("ip"));
    let t = throttle();
    for _ in 0..3 {
        fail(&t, "alice", a, t0()).expect("free");
    }
    assert!(fail(&t, "alice", b, t0()).is_err(), "a new address in the same /64 is the same source");
}

#[test]
fn forgiving_an_account_clears_its_delays() {
    let t = throttle();
    for i in 0..30u8 {
        let _ = fail(&t, "alice", ip(i), t0());
    }
    assert!(fail(&t, "alice", ip(200), t0()).is_err());
    t.forgive("Alice");
    assert_eq!(fail(&t, "alice", ip(200), t0()), Ok(()));
    assert_eq!(fail(&t, "alice", ip(3), t0()), Ok(()));
}

#[test]
fn memory_is_bounded() {
    let t = LoginThrottle::new(LoginThrottleConfig { max_entries: 10, ..LoginThrottleConfig::default() });
    for i in 0..1000 {
        let _ = fail(&t, &format!("name{i}"), IpAddr::V4(Ipv4Addr::from(i as u32)), t0());
    }
    let maps = t.maps.lock().expect("lock");
    assert!(maps.pairs.len() <= 10 && maps.names.len() <= 10 && maps.sources.len() <= 10);
}
