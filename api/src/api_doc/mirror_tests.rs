//! The schemas in `schemas`, `read_models` and `problems` describe types of other crates (or
//! bodies built by `AppError::problem`). These tests serialize real values and compare their
//! fields with the documented ones, so neither side can change alone.

use std::collections::BTreeSet;

use chrono::{NaiveDate, NaiveTime, TimeZone, Utc};
use reserver_domain::recurrence::{OccurrenceOutcome, OccurrenceReport};
use reserver_domain::resource::{ReservationStatus, ResourceKind, ResourceStatus};
use reserver_domain::schedule_rules::{Blackout, BusinessHours, LocalTimeRange};
use reserver_domain::{BookingPolicy, ConflictingInterval, Rejection, Role, TimeRange};
use reserver_projections::{analytics, audit, catalog, notifications, reservations as rm, users};
use reserver_webhooks::history::{AttemptView, DeliveryView};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use super::tests::{document, properties};
use reserver_app::AppError;

/// The fields `value` serializes to equal those of the component schema `name`.
fn same_fields(doc: &Value, name: &str, value: impl Serialize) {
    let sent = serde_json::to_value(value).expect("serializes");
    let sent: BTreeSet<String> = sent.as_object().expect("an object").keys().cloned().collect();
    let schema = &doc["components"]["schemas"][name];
    assert!(schema.is_object(), "no schema {name}");
    assert_eq!(sent, properties(doc, schema), "fields of {name}: sent (left) and documented (right)");
}

/// The values of a documented string enum equal those the real variants serialize to.
fn same_values<T: Serialize>(doc: &Value, name: &str, variants: &[T]) {
    let sent: BTreeSet<String> = variants
        .iter()
        .map(|v| serde_json::to_value(v).expect("serializes").as_str().expect("a string").to_string())
        .collect();
    let documented: BTreeSet<String> = doc["components"]["schemas"][name]["enum"]
        .as_array()
        .unwrap_or_else(|| panic!("{name} is not an enum"))
        .iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    assert_eq!(sent, documented, "values of {name}");
}

fn range(hour: u32) -> TimeRange {
    let start = Utc.with_ymd_and_hms(2030, 3, 4, hour, 0, 0).single().expect("a valid instant");
    TimeRange::new(start, start + chrono::Duration::hours(1)).expect("a valid range")
}

fn date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2030, 3, 4).expect("a valid date")
}

// Each list below is checked by an exhaustive match: a new variant stops the build there until
// the list, and so the documented enum, has it.
#[test]
fn enums_match_the_domain() {
    let doc = document();
    let roles = [Role::Admin, Role::Approver, Role::Auditor, Role::User, Role::Guest];
    roles.iter().for_each(|r| match r {
        Role::Admin | Role::Approver | Role::Auditor | Role::User | Role::Guest => {}
    });
    same_values(&doc, "Role", &roles);

    use ResourceKind as K;
    let kinds = [K::Room, K::Desk, K::Equipment, K::Lab, K::Other];
    kinds.iter().for_each(|k| match k {
        K::Room | K::Desk | K::Equipment | K::Lab | K::Other => {}
    });
    same_values(&doc, "ResourceKind", &kinds);

    let statuses = [ResourceStatus::Available, ResourceStatus::Maintenance];
    statuses.iter().for_each(|s| match s {
        ResourceStatus::Available | ResourceStatus::Maintenance => {}
    });
    same_values(&doc, "ResourceStatus", &statuses);

    use ReservationStatus as S;
    let lifecycle = [
        S::PendingApproval,
        S::Confirmed,
        S::Offered,
        S::Cancelled,
        S::Rejected,
        S::ApprovalExpired,
        S::OfferDeclined,
        S::OfferExpired,
        S::NoShowReleased,
        S::Completed,
    ];
    lifecycle.iter().for_each(|s| match s {
        S::PendingApproval
        | S::Confirmed
        | S::Offered
        | S::Cancelled
        | S::Rejected
        | S::ApprovalExpired
        | S::OfferDeclined
        | S::OfferExpired
        | S::NoShowReleased
        | S::Completed => {}
    });
    same_values(&doc, "ReservationStatus", &lifecycle);
    // Views send the label, records the serde name: both must be the documented values.
    let labels: Vec<&str> = lifecycle.iter().map(|s| rm::status_label(*s)).collect();
    same_values(&doc, "ReservationStatus", &labels);
}

#[test]
fn domain_shapes_match() {
    let doc = document();
    same_fields(&doc, "BookingPolicy", BookingPolicy::default());
    let hours = LocalTimeRange::new(NaiveTime::MIN, NaiveTime::MIN);
    same_fields(&doc, "LocalTimeRange", hours);
    same_fields(&doc, "BusinessHours", BusinessHours::every_day(vec![hours]));
    same_fields(&doc, "TimeRange", range(9));
    same_fields(&doc, "Blackout", Blackout { id: Uuid::nil(), range: range(9), reason: "works".into() });
    let conflict = ConflictingInterval { reservation_id: Uuid::nil(), range: range(9) };
    same_fields(&doc, "ConflictingInterval", &conflict);
    let outcome = OccurrenceOutcome::Booked { reservation_id: Uuid::nil() };
    let report = OccurrenceReport { local_start: date().and_time(NaiveTime::MIN), range: range(9), outcome };
    same_fields(&doc, "OccurrenceReport", &report);
}

#[test]
fn problems_match() {
    let doc = document();
    let conflict = Rejection::Conflict {
        conflicts: vec![ConflictingInterval { reservation_id: Uuid::nil(), range: range(9) }],
        next_free: vec![range(10)],
    };
    same_fields(&doc, "ConflictProblem", crate::error::problem(&AppError::Rejected(conflict)));
    // Every other problem only uses members the Problem schema documents.
    let documented = properties(&doc, &doc["components"]["schemas"]["Problem"]);
    let others = [
        AppError::validation("name", "too long"),
        AppError::PreconditionFailed { current: 3 },
        AppError::TooManyRequests { retry_after: 3, limit: 10 },
        AppError::LoginThrottled { retry_after: 2 },
        AppError::ApiQuotaExceeded { limit: 5, retry_after: 60, resets_at: Utc::now() },
        AppError::Rejected(Rejection::TooShort { min_minutes: 30, requested_minutes: 10 }),
        AppError::Rejected(Rejection::SeriesNotBookable { occurrences: Vec::new() }),
        AppError::NotFound("resource".into()),
    ];
    for error in others {
        let sent = serde_json::to_value(crate::error::problem(&error)).expect("serializes");
        for key in sent.as_object().expect("an object").keys() {
            assert!(documented.contains(key), "{error:?} sends `{key}`, which Problem does not document");
        }
    }
}

#[test]
fn read_models_match() {
    let doc = document();
    let at = Utc::now();
    let id = Uuid::nil();
    let reservation = rm::ReservationView {
        reservation_id: id,
        resource_id: id,
        user_id: id,
        series_id: None,
        range: range(9),
        status: ReservationStatus::Confirmed,
        created_at: at,
        updated_at: at,
        approval_deadline: None,
        offer_expires_at: None,
        waitlist_entry_id: None,
        checked_in_at: None,
        decided_by: None,
        comment: None,
    };
    same_fields(&doc, "ReservationRecord", &reservation);
    let series = rm::SeriesView {
        series_id: id,
        resource_id: id,
        user_id: id,
        rrule: "FREQ=DAILY;COUNT=1".into(),
        policy: reserver_domain::recurrence::SeriesPolicy::AllOrNothing,
        occurrences: Vec::new(),
        booked_at: at,
    };
    same_fields(&doc, "SeriesDetail", rm::SeriesDetail { series, reservations: vec![reservation] });
    let entry = rm::WaitlistView {
        entry_id: id,
        resource_id: id,
        user_id: id,
        desired: range(9),
        flex_minutes: 0,
        joined_at: at,
        position: 1,
    };
    same_fields(&doc, "WaitlistEntry", &entry);
    let history = rm::HistoryEntry { position: 1, event_type: "x".into(), at, event: Value::Null };
    same_fields(&doc, "HistoryEntry", history);
    let group = catalog::GroupView {
        group_id: id,
        name: "Lab".into(),
        parent_id: None,
        description: String::new(),
        created_at: at,
        updated_at: at,
    };
    same_fields(&doc, "Group", &group);
    same_fields(&doc, "GroupNode", catalog::GroupNode { group, children: Vec::new() });
    let user = users::UserView {
        user_id: id,
        username: "alice".into(),
        role: Role::User,
        locked_until: None,
        registered_at: at,
        disabled: false,
        password_change_required: false,
        mfa_enabled: false,
    };
    same_fields(&doc, "User", user);
    let notification = notifications::NotificationView {
        notification_id: id,
        user_id: id,
        kind: "reminder".into(),
        resource_id: id,
        reservation_id: None,
        range: None,
        message: String::new(),
        position: 1,
        created_at: at,
        read: false,
        webhook_id: Some(id),
    };
    same_fields(&doc, "Notification", notification);
    let audit = audit::AuditEntry {
        position: 1,
        event_id: id,
        actor: None,
        action: "x".into(),
        target: "x".into(),
        resource_id: None,
        recorded_at: at,
        client_ip: None,
        correlation_id: None,
        causation_id: None,
        command_id: None,
    };
    same_fields(&doc, "AuditEntry", audit);
}

#[test]
fn reports_match() {
    let doc = document();
    let id = Uuid::nil();
    let day = reserver_projections::availability::DaySummary {
        date: date(),
        open_minutes: 60,
        free_slots: 1,
        first_free: None,
    };
    same_fields(&doc, "DaySummary", day);
    let daily = analytics::DailyUtilization {
        resource_id: id,
        date: date(),
        booked_minutes: 0,
        open_minutes: 0,
        utilization: 0.0,
    };
    same_fields(&doc, "DailyUtilization", daily);
    let hourly = analytics::HourlyUtilization {
        resource_id: None,
        weekday: 0,
        hour: 9,
        booked_minutes: 0,
        open_minutes: 0,
        utilization: 0.0,
    };
    same_fields(&doc, "HourlyUtilization", hourly);
    let popular = analytics::PopularResource { resource_id: id, name: "Lab".into(), bookings: 1, booked_minutes: 60 };
    same_fields(&doc, "PopularResource", popular);
    same_fields(&doc, "NoShowStats", analytics::NoShowStats { checked_in: 1, no_shows: 0, rate: 0.0 });
    let at = Utc::now();
    let attempt = AttemptView {
        attempt: 1,
        attempted_at: at,
        status_code: Some(200),
        latency_ms: 5,
        error: None,
        response_body: None,
    };
    same_fields(&doc, "DeliveryAttempt", &attempt);
    let delivery = DeliveryView {
        id,
        event_type: "webhook.test".into(),
        event_id: id,
        position: 1,
        status: "delivered".into(),
        attempt_count: 1,
        created_at: at,
        next_attempt_at: None,
        expires_at: at,
        finished_at: Some(at),
        attempts: vec![attempt],
    };
    same_fields(&doc, "Delivery", delivery);
}
