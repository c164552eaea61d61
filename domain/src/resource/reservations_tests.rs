use std::collections::BTreeSet;

use chrono::TimeZone;
use proptest::prelude::*;

use super::*;

fn t(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 3, 4, 0, 0, 0).unwrap() + Duration::minutes(minutes)
}

fn reservation(n: u128, user: u128, start: i64, length: i64, status: ReservationStatus) -> Reservation {
    Reservation {
        id: Uuid::from_u128(n),
        user_id: Uuid::from_u128(user),
        range: TimeRange::new(t(start), t(start + length)).unwrap(),
        status,
        series_id: None,
        created_at: t(0),
        approval_deadline: None,
        offer_expires_at: None,
        waitlist_entry_id: None,
        checked_in_at: None,
    }
}

#[derive(Debug, Clone)]
enum Op {
    Insert { n: u8, user: u8, start: i64, length: i64, holding: bool },
    Release { n: u8 },
    Hold { n: u8 },
    Remove { n: u8 },
    Prune { at: i64 },
}

fn op() -> impl Strategy<Value = Op> {
    // Lengths from one minute to two weeks, so several duration classes are in play.
    let length = prop_oneof![1i64..120, 120i64..3000, 3000i64..20_160];
    prop_oneof![
        5 => (0u8..40, 0u8..4, 0i64..30_000, length, any::<bool>())
            .prop_map(|(n, user, start, length, holding)| Op::Insert { n, user, start, length, holding }),
        1 => (0u8..40).prop_map(|n| Op::Release { n }),
        1 => (0u8..40).prop_map(|n| Op::Hold { n }),
        1 => (0u8..40).prop_map(|n| Op::Remove { n }),
        1 => (0i64..30_000).prop_map(|at| Op::Prune { at }),
    ]
}

fn brute_meeting(r: &Reservations, range: &TimeRange) -> BTreeSet<Uuid> {
    r.values().filter(|x| x.status.holds_unit() && x.range.overlaps(range)).map(|x| x.id).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn indexes_agree_with_a_scan(ops in prop::collection::vec(op(), 1..80), probes in prop::collection::vec((0i64..32_000, 1i64..5_000), 1..20)) {
        let mut r = Reservations::default();
        for op in ops {
            match op {
                Op::Insert { n, user, start, length, holding } => {
                    let status = if holding { ReservationStatus::Confirmed } else { ReservationStatus::Cancelled };
                    r.insert(Uuid::from_u128(u128::from(n)), reservation(u128::from(n), u128::from(user), start, length, status));
                }
                Op::Release { n } => { r.set_status(&Uuid::from_u128(u128::from(n)), ReservationStatus::Cancelled); }
                Op::Hold { n } => { r.set_status(&Uuid::from_u128(u128::from(n)), ReservationStatus::PendingApproval); }
                Op::Remove { n } => { r.remove(&Uuid::from_u128(u128::from(n))); }
                Op::Prune { at } => {
                    let expected: BTreeSet<Uuid> = r.values().filter(|x| x.range.end() >= t(at)).map(|x| x.id).collect();
                    r.prune_ended_before(t(at));
                    prop_assert_eq!(r.keys().copied().collect::<BTreeSet<_>>(), expected);
                }
            }
            prop_assert_eq!(r.holding_len(), r.values().filter(|x| x.status.holds_unit()).count());
        }
        for (start, length) in probes {
            let range = TimeRange::new(t(start), t(start + length)).unwrap();
            let found: Vec<Uuid> = r.holding_meeting(&range).map(|x| x.id).collect();
            let unique: BTreeSet<Uuid> = found.iter().copied().collect();
            prop_assert_eq!(found.len(), unique.len(), "an answer came twice");
            prop_assert_eq!(&unique, &brute_meeting(&r, &range));
            // The ranges read from the index alone are those of the same reservations.
            let mut ranges: Vec<TimeRange> = r.holding_ranges_meeting(&range).collect();
            let mut expected: Vec<TimeRange> = unique.iter().map(|id| r[id].range).collect();
            ranges.sort();
            expected.sort();
            prop_assert_eq!(ranges, expected);
            for user in 0..4u128 {
                let user = Uuid::from_u128(user);
                let expected = r.values().filter(|x| x.status.holds_unit() && x.user_id == user && x.range.end() > t(start)).count();
                prop_assert_eq!(r.active_for_user(user, t(start)), expected);
            }
        }
        let json = serde_json::to_string(&r).unwrap();
        let back: Reservations = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(&back, &r);
        let any = TimeRange::new(t(-100_000), t(100_000)).unwrap();
        prop_assert_eq!(back.holding_meeting(&any).count(), r.holding_len());
    }
}

#[test]
fn serializes_as_the_map_by_id_it_replaced() {
    let mut r = Reservations::default();
    let a = reservation(1, 7, 60, 30, ReservationStatus::Confirmed);
    r.insert(a.id, a.clone());
    let mut map = BTreeMap::new();
    map.insert(a.id, a);
    assert_eq!(serde_json::to_value(&r).unwrap(), serde_json::to_value(&map).unwrap());
    let back: Reservations = serde_json::from_value(serde_json::to_value(&map).unwrap()).unwrap();
    assert_eq!(back.holding_len(), 1);
}

#[test]
fn touching_ranges_do_not_meet() {
    let mut r = Reservations::default();
    let a = reservation(1, 7, 60, 60, ReservationStatus::Confirmed);
    r.insert(a.id, a);
    let before = TimeRange::new(t(0), t(60)).unwrap();
    let after = TimeRange::new(t(120), t(180)).unwrap();
    let inside = TimeRange::new(t(119), t(120)).unwrap();
    assert_eq!(r.holding_meeting(&before).count(), 0);
    assert_eq!(r.holding_meeting(&after).count(), 0);
    assert_eq!(r.holding_meeting(&inside).count(), 1);
}

#[test]
fn a_long_booking_is_found_from_far_inside_it() {
    let mut r = Reservations::default();
    let week = reservation(1, 7, 0, 7 * 24 * 60, ReservationStatus::Offered);
    r.insert(week.id, week);
    let probe = TimeRange::new(t(6 * 24 * 60), t(6 * 24 * 60 + 1)).unwrap();
    assert_eq!(r.holding_meeting(&probe).count(), 1);
}
