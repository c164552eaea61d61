//! Approvals, waitlist offers, check-in / no-show and deadline commands.

mod common;

use chrono::Duration;
use chrono_tz::Tz;
use common::*;
use reserver_domain::resource::waitlist::offer_reservation_id;
use reserver_domain::resource::ReservationStatus;
use reserver_domain::{deadlines, possible_deadline_commands, BookingPolicy, ResourceCommand, ResourceEvent, Role};

fn approval_policy() -> BookingPolicy {
    BookingPolicy { requires_approval: true, approval_timeout_minutes: 60, ..BookingPolicy::default() }
}

fn approver(now: chrono::DateTime<chrono::Utc>) -> reserver_domain::DecisionContext {
    ctx(now, APPROVER, Role::Approver)
}

#[test]
fn pending_approval_holds_the_unit_then_approve_confirms() {
    let mut f = Fixture::with_policy(approval_policy());
    let events = f.book(id(1), ALICE, hours(10, 0, 11, 0)).unwrap();
    let ResourceEvent::ReservationRequested { approval_deadline, .. } = &events[0] else { panic!("{events:?}") };
    assert_eq!(*approval_deadline, base_now() + Duration::minutes(60));
    assert_eq!(f.book(id(2), BOB, hours(10, 0, 11, 0)).unwrap_err().code(), "conflict");
    let approve = ResourceCommand::Approve { reservation_id: id(1), comment: "ok".into(), group_approvers: Vec::new() };
    assert_eq!(f.run(approve.clone(), &user(BOB, base_now())).unwrap_err().code(), "forbidden");
    let events = f.run(approve.clone(), &approver(base_now())).unwrap();
    assert_eq!(types(&events), vec!["reservation_approved"]);
    assert_eq!(f.state.reservations[&id(1)].status, ReservationStatus::Confirmed);
    assert_eq!(f.run(approve, &approver(base_now())).unwrap_err().code(), "invalid_state");
}

#[test]
fn reject_frees_the_unit() {
    let mut f = Fixture::with_policy(approval_policy());
    f.book(id(1), ALICE, hours(10, 0, 11, 0)).unwrap();
    let reject = ResourceCommand::Reject { reservation_id: id(1), comment: "no".into(), group_approvers: Vec::new() };
    let events = f.run(reject, &admin(base_now())).unwrap();
    assert_eq!(types(&events), vec!["reservation_rejected"]);
    assert_eq!(f.state.reservations[&id(1)].status, ReservationStatus::Rejected);
    f.book(id(2), BOB, hours(10, 0, 11, 0)).unwrap();
}

#[test]
fn approval_expiry_is_time_gated_and_idempotent() {
    let mut f = Fixture::with_policy(approval_policy());
    f.book(id(1), ALICE, hours(10, 0, 11, 0)).unwrap();
    let expire = ResourceCommand::ExpireApproval { reservation_id: id(1) };
    let early = f.run(expire.clone(), &admin(base_now() + Duration::minutes(59)));
    assert_eq!(early.unwrap_err().code(), "invalid_state");
    let due = base_now() + Duration::minutes(60);
    assert_eq!(types(&f.run(expire.clone(), &admin(due)).unwrap()), vec!["approval_expired"]);
    assert!(f.run(expire, &admin(due)).unwrap().is_empty());
    // Unknown reservations are stale too.
    let unknown = ResourceCommand::ExpireApproval { reservation_id: id(77) };
    assert!(f.run(unknown, &admin(due)).unwrap().is_empty());
}

#[test]
fn stale_expire_after_approval_is_a_no_op() {
    let mut f = Fixture::with_policy(approval_policy());
    f.book(id(1), ALICE, hours(10, 0, 11, 0)).unwrap();
    f.run(
        ResourceCommand::Approve { reservation_id: id(1), comment: String::new(), group_approvers: Vec::new() },
        &approver(base_now()),
    )
    .unwrap();
    let expire = ResourceCommand::ExpireApproval { reservation_id: id(1) };
    assert!(f.run(expire, &admin(base_now() + Duration::hours(2))).unwrap().is_empty());
}

/// Alice holds 10–11; Bob then Carol wait for it.
fn waitlist_fixture() -> Fixture {
    let mut f = Fixture::simple();
    f.book(id(1), ALICE, hours(10, 0, 11, 0)).unwrap();
    for (entry, who) in [(id(50), BOB), (id(51), CAROL)] {
        let join = ResourceCommand::JoinWaitlist { entry_id: entry, desired: hours(10, 0, 11, 0), flex_minutes: 0 };
        let events = f.run(join, &user(who, base_now())).unwrap();
        assert_eq!(types(&events), vec!["waitlist_joined"]);
    }
    f
}

#[test]
fn cancel_offers_the_slot_to_the_first_waiting_entry() {
    let mut f = waitlist_fixture();
    let cancel = ResourceCommand::CancelReservation { reservation_id: id(1), reason: Some("sick".into()) };
    let events = f.run(cancel, &user(ALICE, base_now())).unwrap();
    assert_eq!(types(&events), vec!["reservation_cancelled", "waitlist_offer_made"]);
    let ResourceEvent::WaitlistOfferMade { user_id, range, expires_at, entry_id, .. } = &events[1] else { panic!() };
    assert_eq!((*user_id, *entry_id), (BOB, id(50)));
    assert_eq!(*range, hours(10, 0, 11, 0));
    assert_eq!(*expires_at, base_now() + Duration::minutes(30));
    let offer = offer_reservation_id(id(50));
    assert_eq!(f.state.reservations[&offer].status, ReservationStatus::Offered);
    // The offer holds the unit.
    assert_eq!(f.book(id(2), ALICE, hours(10, 0, 11, 0)).unwrap_err().code(), "conflict");
    let accept = ResourceCommand::AcceptOffer { reservation_id: offer };
    assert_eq!(f.run(accept.clone(), &user(CAROL, base_now())).unwrap_err().code(), "forbidden");
    assert_eq!(types(&f.run(accept, &user(BOB, base_now())).unwrap()), vec!["waitlist_offer_accepted"]);
    assert_eq!(f.state.reservations[&offer].status, ReservationStatus::Confirmed);
    assert_eq!(f.state.waitlist.len(), 1);
    assert_eq!(f.replayed(), f.state);
}

#[test]
fn decline_passes_the_offer_to_the_next_entry() {
    let mut f = waitlist_fixture();
    f.run(ResourceCommand::CancelReservation { reservation_id: id(1), reason: None }, &user(ALICE, base_now()))
        .unwrap();
    let decline = ResourceCommand::DeclineOffer { reservation_id: offer_reservation_id(id(50)) };
    let events = f.run(decline, &user(BOB, base_now())).unwrap();
    assert_eq!(types(&events), vec!["waitlist_offer_declined", "waitlist_offer_made"]);
    let ResourceEvent::WaitlistOfferMade { user_id, .. } = &events[1] else { panic!() };
    assert_eq!(*user_id, CAROL);
    assert!(f.state.waitlist.is_empty());
}

#[test]
fn expired_offer_moves_on_and_stale_expiry_is_a_no_op() {
    let mut f = waitlist_fixture();
    f.run(ResourceCommand::CancelReservation { reservation_id: id(1), reason: None }, &user(ALICE, base_now()))
        .unwrap();
    let offer = offer_reservation_id(id(50));
    let expire = ResourceCommand::ExpireOffer { reservation_id: offer };
    let early = base_now() + Duration::minutes(29);
    assert_eq!(f.run(expire.clone(), &admin(early)).unwrap_err().code(), "invalid_state");
    let late = base_now() + Duration::minutes(30);
    let accept_late = ResourceCommand::AcceptOffer { reservation_id: offer };
    assert_eq!(f.run(accept_late, &user(BOB, late)).unwrap_err().code(), "invalid_state");
    let events = f.run(expire.clone(), &admin(late)).unwrap();
    assert_eq!(types(&events), vec!["waitlist_offer_expired", "waitlist_offer_made"]);
    assert!(f.run(expire, &admin(late)).unwrap().is_empty());
}

#[test]
fn flexible_entry_gets_a_shifted_slot() {
    let mut f = Fixture::simple();
    f.book(id(1), ALICE, hours(10, 0, 11, 0)).unwrap();
    f.book(id(2), ALICE, hours(11, 0, 11, 30)).unwrap();
    f.book(id(3), CAROL, hours(9, 0, 10, 0)).unwrap();
    let join = ResourceCommand::JoinWaitlist { entry_id: id(50), desired: hours(10, 0, 11, 0), flex_minutes: 60 };
    // Starts 09:00..=11:00 are acceptable; none fits yet.
    let events = f.run(join, &user(BOB, base_now())).unwrap();
    assert_eq!(types(&events), vec!["waitlist_joined"]);
    let cancel = ResourceCommand::CancelReservation { reservation_id: id(2), reason: None };
    let events = f.run(cancel, &user(ALICE, base_now())).unwrap();
    let ResourceEvent::WaitlistOfferMade { range, .. } = &events[1] else { panic!("{events:?}") };
    assert_eq!(*range, hours(11, 0, 12, 0));
}

#[test]
fn joining_when_the_slot_is_free_offers_at_once() {
    let mut f = Fixture::simple();
    let join = ResourceCommand::JoinWaitlist { entry_id: id(50), desired: hours(10, 0, 11, 0), flex_minutes: 0 };
    let events = f.run(join, &user(BOB, base_now())).unwrap();
    assert_eq!(types(&events), vec!["waitlist_joined", "waitlist_offer_made"]);
}

fn checkin_fixture() -> Fixture {
    let policy = BookingPolicy { checkin_required: true, checkin_window_minutes: 10, ..BookingPolicy::default() };
    let mut f = Fixture::new(1, policy, Tz::UTC, None);
    f.book(id(1), ALICE, hours(10, 0, 11, 0)).unwrap();
    f
}

#[test]
fn check_in_window_and_ownership() {
    let mut f = checkin_fixture();
    let check_in = ResourceCommand::CheckIn { reservation_id: id(1) };
    let too_early = utc(2030, 3, 4, 9, 44);
    assert_eq!(f.run(check_in.clone(), &user(ALICE, too_early)).unwrap_err().code(), "invalid_state");
    let too_late = utc(2030, 3, 4, 10, 10);
    assert_eq!(f.run(check_in.clone(), &user(ALICE, too_late)).unwrap_err().code(), "invalid_state");
    let on_time = utc(2030, 3, 4, 9, 45);
    assert_eq!(f.run(check_in.clone(), &user(BOB, on_time)).unwrap_err().code(), "forbidden");
    assert_eq!(types(&f.run(check_in, &user(ALICE, on_time)).unwrap()), vec!["checked_in"]);
    // A checked-in reservation is never released.
    let release = ResourceCommand::ReleaseNoShow { reservation_id: id(1) };
    assert!(f.run(release, &admin(utc(2030, 3, 4, 10, 30))).unwrap().is_empty());
}

#[test]
fn no_show_is_released_and_feeds_the_waitlist() {
    let mut f = checkin_fixture();
    let join = ResourceCommand::JoinWaitlist { entry_id: id(50), desired: hours(10, 30, 11, 0), flex_minutes: 0 };
    f.run(join, &user(BOB, base_now())).unwrap();
    let release = ResourceCommand::ReleaseNoShow { reservation_id: id(1) };
    assert_eq!(f.run(release.clone(), &admin(utc(2030, 3, 4, 10, 9))).unwrap_err().code(), "invalid_state");
    let now = utc(2030, 3, 4, 10, 10);
    let events = f.run(release.clone(), &admin(now)).unwrap();
    assert_eq!(types(&events), vec!["no_show_released", "waitlist_offer_made"]);
    assert_eq!(f.state.reservations[&id(1)].status, ReservationStatus::NoShowReleased);
    assert!(f.run(release, &admin(now)).unwrap().is_empty());
}

#[test]
fn complete_after_end_only() {
    let mut f = Fixture::simple();
    f.book(id(1), ALICE, hours(10, 0, 11, 0)).unwrap();
    let complete = ResourceCommand::Complete { reservation_id: id(1) };
    assert_eq!(f.run(complete.clone(), &admin(utc(2030, 3, 4, 10, 59))).unwrap_err().code(), "invalid_state");
    let end = utc(2030, 3, 4, 11, 0);
    assert_eq!(types(&f.run(complete.clone(), &admin(end)).unwrap()), vec!["reservation_completed"]);
    assert!(f.run(complete, &admin(end)).unwrap().is_empty());
}

#[test]
fn deadlines_list_pending_timed_commands() {
    let policy = BookingPolicy {
        requires_approval: true,
        approval_timeout_minutes: 60,
        checkin_required: true,
        checkin_window_minutes: 10,
        ..BookingPolicy::default()
    };
    let mut f = Fixture::new(1, policy, Tz::UTC, None);
    f.book(id(1), ALICE, hours(10, 0, 11, 0)).unwrap();
    let due = deadlines(&f.state);
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].due_at, base_now() + Duration::minutes(60));
    assert_eq!(due[0].command, ResourceCommand::ExpireApproval { reservation_id: id(1) });
    f.run(
        ResourceCommand::Approve { reservation_id: id(1), comment: String::new(), group_approvers: Vec::new() },
        &approver(base_now()),
    )
    .unwrap();
    let due = deadlines(&f.state);
    let commands: Vec<_> = due.iter().map(|d| (d.due_at, d.command.clone())).collect();
    assert_eq!(
        commands,
        vec![
            (utc(2030, 3, 4, 10, 10), ResourceCommand::ReleaseNoShow { reservation_id: id(1) }),
            (utc(2030, 3, 4, 11, 0), ResourceCommand::Complete { reservation_id: id(1) }),
        ]
    );
    // A scheduler comparing only one reservation's possible commands sees every one of them.
    let possible = possible_deadline_commands(id(1));
    assert!(due.iter().all(|d| possible.contains(&d.command)));
    // Every listed deadline is accepted exactly at its due time.
    for deadline in due {
        let mut copy = Fixture { state: f.state.clone(), events: vec![] };
        assert!(!copy.run(deadline.command, &admin(deadline.due_at)).unwrap().is_empty());
    }
}

// --- Self-approval: a request is answered by someone else unless the resource allows it ---

#[test]
fn an_approver_cannot_answer_their_own_request() {
    let mut f = Fixture::with_policy(approval_policy());
    f.run(ResourceCommand::Book { reservation_id: id(1), range: hours(10, 0, 11, 0) }, &approver(base_now())).unwrap();
    for command in [
        ResourceCommand::Approve { reservation_id: id(1), comment: "fine by me".into(), group_approvers: Vec::new() },
        ResourceCommand::Reject { reservation_id: id(1), comment: String::new(), group_approvers: Vec::new() },
    ] {
        assert_eq!(f.run(command, &approver(base_now())).unwrap_err().code(), "forbidden");
    }
    let events = f
        .run(
            ResourceCommand::Approve { reservation_id: id(1), comment: String::new(), group_approvers: Vec::new() },
            &admin(base_now()),
        )
        .unwrap();
    assert_eq!(types(&events), vec!["reservation_approved"]);
}

#[test]
fn an_admin_cannot_approve_their_own_request_either() {
    let mut f = Fixture::with_policy(approval_policy());
    f.run(ResourceCommand::Book { reservation_id: id(1), range: hours(10, 0, 11, 0) }, &admin(base_now())).unwrap();
    let approve =
        ResourceCommand::Approve { reservation_id: id(1), comment: String::new(), group_approvers: Vec::new() };
    assert_eq!(f.run(approve.clone(), &admin(base_now())).unwrap_err().code(), "forbidden");
    assert_eq!(types(&f.run(approve, &approver(base_now())).unwrap()), vec!["reservation_approved"]);
}

#[test]
fn a_resource_may_allow_self_approval() {
    let policy = BookingPolicy { allow_self_approval: true, ..approval_policy() };
    let mut f = Fixture::with_policy(policy);
    f.run(ResourceCommand::Book { reservation_id: id(1), range: hours(10, 0, 11, 0) }, &approver(base_now())).unwrap();
    let approve =
        ResourceCommand::Approve { reservation_id: id(1), comment: String::new(), group_approvers: Vec::new() };
    assert_eq!(types(&f.run(approve, &approver(base_now())).unwrap()), vec!["reservation_approved"]);
    assert!(!BookingPolicy::default().allow_self_approval, "off unless the resource says otherwise");
    let old: BookingPolicy = serde_json::from_str(r#"{"requires_approval":true}"#).unwrap();
    assert!(!old.allow_self_approval, "policies recorded before the flag decode with it off");
}

#[test]
fn named_approvers_alone_answer_with_admins() {
    let other = id(900);
    let mut f = Fixture::with_policy(approval_policy());
    let set = ResourceCommand::SetApprovers { approvers: vec![other, other] };
    assert_eq!(f.run(set.clone(), &approver(base_now())).unwrap_err().code(), "forbidden");
    let events = f.run(set.clone(), &admin(base_now())).unwrap();
    assert!(matches!(&events[..], [ResourceEvent::ApproversSet { approvers, .. }] if approvers == &vec![other]));
    assert!(f.run(set, &admin(base_now())).unwrap().is_empty(), "the same list again changes nothing");
    f.book(id(1), ALICE, hours(10, 0, 11, 0)).unwrap();
    let approve = |group_approvers: Vec<uuid::Uuid>| ResourceCommand::Approve {
        reservation_id: id(1),
        comment: String::new(),
        group_approvers,
    };
    // The resource's own list wins over what its groups name.
    assert_eq!(f.run(approve(vec![APPROVER]), &approver(base_now())).unwrap_err().code(), "forbidden");
    assert_eq!(types(&f.run(approve(Vec::new()), &admin(base_now())).unwrap()), vec!["reservation_approved"]);
    assert_eq!(f.replayed(), f.state);

    // Naming nobody: the groups' approvers decide, else every approver.
    let mut f = Fixture::with_policy(approval_policy());
    f.book(id(1), ALICE, hours(10, 0, 11, 0)).unwrap();
    assert_eq!(f.run(approve(vec![other]), &approver(base_now())).unwrap_err().code(), "forbidden");
    assert_eq!(types(&f.run(approve(vec![APPROVER]), &approver(base_now())).unwrap()), vec!["reservation_approved"]);
}

#[test]
fn accepting_an_offer_where_approval_is_required_awaits_an_approver() {
    let mut f = Fixture::with_policy(approval_policy());
    f.book(id(1), ALICE, hours(10, 0, 11, 0)).unwrap();
    let join = ResourceCommand::JoinWaitlist { entry_id: id(50), desired: hours(10, 0, 11, 0), flex_minutes: 0 };
    f.run(join, &user(BOB, base_now())).unwrap();
    f.run(ResourceCommand::CancelReservation { reservation_id: id(1), reason: None }, &user(ALICE, base_now()))
        .unwrap();
    let offer = offer_reservation_id(id(50));
    let events = f.run(ResourceCommand::AcceptOffer { reservation_id: offer }, &user(BOB, base_now())).unwrap();
    let [ResourceEvent::WaitlistOfferAccepted { approval_deadline, .. }] = &events[..] else { panic!("{events:?}") };
    assert_eq!(*approval_deadline, Some(base_now() + Duration::minutes(60)));
    assert_eq!(f.state.reservations[&offer].status, ReservationStatus::PendingApproval);
    assert_eq!(f.state.reservations[&offer].approval_deadline, Some(base_now() + Duration::minutes(60)));
    assert_eq!(f.book(id(2), CAROL, hours(10, 0, 11, 0)).unwrap_err().code(), "conflict", "it still holds the unit");
    let due: Vec<_> = deadlines(&f.state).into_iter().map(|d| d.command).collect();
    assert!(due.contains(&ResourceCommand::ExpireApproval { reservation_id: offer }), "{due:?}");
    let approve =
        ResourceCommand::Approve { reservation_id: offer, comment: String::new(), group_approvers: Vec::new() };
    assert_eq!(types(&f.run(approve, &approver(base_now())).unwrap()), vec!["reservation_approved"]);
    assert_eq!(f.state.reservations[&offer].status, ReservationStatus::Confirmed);
    assert_eq!(f.replayed(), f.state);
}
