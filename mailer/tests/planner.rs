//! The mail planner on both backends: text the log accepted is storable whatever it holds.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use reserver_domain::resource::{ResourceDetails, ResourceKind};
use reserver_domain::{BookingPolicy, ResourceEvent, TimeRange};
use reserver_mailer::planner::MailPlanner;
use reserver_projections::sql::fetch_all;
use reserver_projections::{catch_up, projector_named};
use reserver_store::scratch::ScratchDatabase;
use reserver_store::{AppendRequest, Backend, EventStore, ExpectedVersion, NewEvent};
use uuid::Uuid;

macro_rules! both_backends {
    ($($check:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    super::$check(super::ScratchDatabase::new(super::Backend::Sqlite).await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    super::$check(super::ScratchDatabase::new(super::Backend::Postgres).await).await;
                }
            )*
        }
    };
}

both_backends!(text_with_nul_is_planned);

async fn append(store: &Arc<dyn EventStore>, stream: String, event_type: &str, payload: String) {
    let event = NewEvent::new(Uuid::new_v4(), event_type, payload);
    store.append(AppendRequest::single(stream, ExpectedVersion::Any, vec![event])).await.expect("append");
}

async fn text_with_nul_is_planned(db: ScratchDatabase) {
    let store = db.open().await;
    let (ann, bob, room) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3));
    let prefs = |email: &str| serde_json::json!({ "email": email, "email_notifications": true }).to_string();
    append(&store, format!("preferences-{ann}"), "preferences_updated", prefs("ann@example.com")).await;
    append(&store, format!("preferences-{bob}"), "preferences_updated", prefs("bob\0@example.com")).await;
    let at = Utc.with_ymd_and_hms(2030, 3, 4, 8, 0, 0).unwrap();
    let created = ResourceEvent::ResourceCreated {
        resource_id: room,
        details: ResourceDetails {
            name: "ro\0om".into(),
            kind: ResourceKind::Room,
            tags: vec![],
            description: String::new(),
            location: String::new(),
            group_id: None,
        },
        capacity: 2,
        time_zone: chrono_tz::Tz::UTC,
        policy: BookingPolicy::default(),
        business_hours: None,
        by: ann,
        at,
    };
    append(&store, format!("resource-{room}"), "resource_created", serde_json::to_string(&created).unwrap()).await;
    for (n, user) in [ann, bob].into_iter().enumerate() {
        let booked = ResourceEvent::ReservationConfirmed {
            reservation_id: Uuid::from_u128(10 + n as u128),
            user_id: user,
            range: TimeRange::new(
                at + chrono::Duration::days(1),
                at + chrono::Duration::days(1) + chrono::Duration::hours(1),
            )
            .unwrap(),
            series_id: None,
            at,
        };
        append(&store, format!("resource-{room}"), "reservation_confirmed", serde_json::to_string(&booked).unwrap())
            .await;
    }
    catch_up(store.as_ref(), projector_named("catalog").unwrap().as_ref(), 100).await.expect("catalog");
    catch_up(store.as_ref(), &MailPlanner { email: true }, 100).await.expect("the planner applies text with NUL");
    let db = store.database();
    let rows = fetch_all(&db, "SELECT user_id, address, subject, body FROM mail_outbox ORDER BY user_id", &[])
        .await
        .expect("outbox");
    assert_eq!(rows.len(), 1, "one email: an address with a control character is no address");
    assert_eq!(rows[0].text(0).unwrap(), ann.to_string());
    assert_eq!(rows[0].text(1).unwrap(), "ann@example.com");
    let text = format!("{} {}", rows[0].text(2).unwrap(), rows[0].text(3).unwrap());
    assert!(text.contains("ro\u{FFFD}om"), "the name is stored with NUL replaced: {text}");
    let contacts = fetch_all(&db, "SELECT address FROM mail_contacts WHERE user_id = $1", &[bob.to_string().into()])
        .await
        .expect("contacts");
    assert_eq!(contacts[0].opt_text(0).unwrap(), None);
}
