//! Commands find their aggregate through the log: an id a command just created leads to its
//! resource at once, on both backends, with no read model involved.

mod common;

use chrono::NaiveDate;
use common::*;
use reserver_commands::addressing::{resource_of, Address};
use reserver_commands::CommandMeta;
use reserver_domain::recurrence::SeriesPolicy;
use reserver_domain::{BookingPolicy, ResourceCommand};
use uuid::Uuid;

async fn ids_lead_to_their_resource_right_after_the_append(db: &ScratchDatabase) {
    let store = db.open().await;
    let p = pipeline(store.clone(), clock());
    let resource = new_resource(&p, 1, BookingPolicy::default()).await;
    let other = new_resource(&p, 1, BookingPolicy::default()).await;

    let (reservation, cmd) = book(slot(60, 120));
    p.execute(resource, user(1), cmd, CommandMeta::new()).await.expect("book");
    assert_eq!(resource_of(store.as_ref(), Address::Reservation(reservation)).await.expect("lookup"), Some(resource));

    let series = Uuid::new_v4();
    let dtstart = NaiveDate::from_ymd_opt(2030, 3, 5).and_then(|d| d.and_hms_opt(10, 0, 0)).expect("date");
    let command = ResourceCommand::BookSeries {
        series_id: series,
        rrule: "FREQ=DAILY;COUNT=3".into(),
        dtstart,
        duration_minutes: 30,
        exdates: vec![],
        policy: SeriesPolicy::AllOrNothing,
    };
    p.execute(other, user(2), command, CommandMeta::new()).await.expect("series");
    assert_eq!(resource_of(store.as_ref(), Address::Series(series)).await.expect("lookup"), Some(other));

    let entry = Uuid::new_v4();
    let join = ResourceCommand::JoinWaitlist { entry_id: entry, desired: slot(60, 120), flex_minutes: 0 };
    p.execute(resource, user(3), join, CommandMeta::new()).await.expect("join");
    assert_eq!(resource_of(store.as_ref(), Address::WaitlistEntry(entry)).await.expect("lookup"), Some(resource));

    // Unknown ids, and ids of another kind, lead nowhere.
    assert_eq!(resource_of(store.as_ref(), Address::Reservation(Uuid::new_v4())).await.expect("lookup"), None);
    assert_eq!(resource_of(store.as_ref(), Address::Series(reservation)).await.expect("lookup"), None);
    assert_eq!(resource_of(store.as_ref(), Address::WaitlistEntry(series)).await.expect("lookup"), None);
}

macro_rules! on_both_backends {
    ($($check:ident),* $(,)?) => {
        mod sqlite { use super::*; $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $check() { super::$check(&ScratchDatabase::new(Backend::Sqlite).await).await; }
        )* }
        mod postgres { use super::*; $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $check() { super::$check(&ScratchDatabase::new(Backend::Postgres).await).await; }
        )* }
    };
}

on_both_backends!(ids_lead_to_their_resource_right_after_the_append);
