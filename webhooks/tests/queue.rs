//! The planner and the delivery queue against real databases, on both backends.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use reserver_projections::catch_up;
use reserver_store::scratch::ScratchDatabase;
use reserver_store::{AppendRequest, Backend, EventMetadata, EventStore, ExpectedVersion, NewEvent};
use reserver_webhooks::deliveries::{claim, enqueue, finish_attempt, AttemptRecord, NewDelivery, Outcome};
use reserver_webhooks::history;
use reserver_webhooks::planner::WebhookPlanner;
use reserver_webhooks::stream;
use reserver_webhooks::subscription::WebhookEvent;
use uuid::Uuid;

macro_rules! both_backends {
    ($($check:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $check() {
                    super::$check(super::ScratchDatabase::new(super::Backend::Sqlite).await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $check() {
                    super::$check(super::ScratchDatabase::new(super::Backend::Postgres).await).await;
                }
            )*
        }
    };
}

both_backends!(planner_sends_each_subscription_the_events_after_it, two_claimers_never_hold_the_same_delivery);

fn planner() -> WebhookPlanner {
    WebhookPlanner { max_age: Duration::from_secs(3600) }
}

/// A reminder: the simplest public event to write by hand.
async fn reminder(store: &Arc<dyn EventStore>) -> Uuid {
    let event_id = Uuid::new_v4();
    let payload = serde_json::json!({ "user_id": Uuid::new_v4(), "reservation_id": Uuid::new_v4() }).to_string();
    let event = NewEvent::new(event_id, "reservation_reminder", payload);
    store
        .append(AppendRequest::single(format!("reminder-{event_id}"), ExpectedVersion::NoStream, vec![event]))
        .await
        .expect("append reminder");
    event_id
}

async fn subscribe(store: &Arc<dyn EventStore>, event_types: &[&str]) -> Uuid {
    let id = Uuid::new_v4();
    let event = WebhookEvent::WebhookCreated {
        url: "http://127.0.0.1:9/hook".into(),
        event_types: event_types.iter().map(|t| t.to_string()).collect(),
        description: String::new(),
        owner: Uuid::nil(),
        at: Utc::now(),
    };
    stream::append(store, id, ExpectedVersion::NoStream, &event, EventMetadata::default()).await.expect("subscribe");
    id
}

async fn delivered_events(store: &Arc<dyn EventStore>, subscription: Uuid) -> Vec<Uuid> {
    let page = history::deliveries(&store.database(), subscription, None, Some(200), None).await.expect("history");
    // Newest first; the planner's order is the log's.
    page.data.iter().rev().map(|d| d.event_id).collect()
}

async fn planner_sends_each_subscription_the_events_after_it(db: ScratchDatabase) {
    let store = db.open().await;
    let before = reminder(&store).await;
    let all = subscribe(&store, &["*"]).await;
    let first = reminder(&store).await;
    let prefixed = subscribe(&store, &["reservation.*"]).await;
    let other = subscribe(&store, &["resource.created"]).await;
    let second = reminder(&store).await;
    catch_up(store.as_ref(), &planner(), 2).await.expect("plan");

    assert_eq!(delivered_events(&store, all).await, vec![first, second]);
    assert_eq!(delivered_events(&store, prefixed).await, vec![second]);
    assert!(delivered_events(&store, other).await.is_empty());
    assert!(!delivered_events(&store, all).await.contains(&before));

    // Disabled: nothing new is planned; deleted: its deliveries go.
    let (_, version) = stream::load(&store, all).await.expect("load");
    let disabled =
        WebhookEvent::WebhookDisabled { reason: "test".into(), owner: Uuid::nil(), url: String::new(), at: Utc::now() };
    stream::append(&store, all, ExpectedVersion::Exact(version), &disabled, EventMetadata::default())
        .await
        .expect("disable");
    reminder(&store).await;
    let deleted = WebhookEvent::WebhookDeleted { at: Utc::now() };
    stream::append(&store, prefixed, ExpectedVersion::Any, &deleted, EventMetadata::default()).await.expect("delete");
    catch_up(store.as_ref(), &planner(), 100).await.expect("plan");
    assert_eq!(delivered_events(&store, all).await, vec![first, second]);
    assert!(delivered_events(&store, prefixed).await.is_empty());
    let known: Vec<Uuid> =
        history::subscriptions(&store.database()).await.expect("list").iter().map(|s| s.id).collect();
    assert_eq!(known, vec![all, other]);
}

async fn two_claimers_never_hold_the_same_delivery(db: ScratchDatabase) {
    let store = db.open().await;
    let subscription = subscribe(&store, &["*"]).await;
    catch_up(store.as_ref(), &planner(), 100).await.expect("plan");
    let now = Utc::now();
    let mut queued = BTreeSet::new();
    for i in 0..120u64 {
        let delivery = NewDelivery {
            delivery_id: Uuid::new_v4(),
            subscription_id: subscription,
            event_id: Uuid::new_v4(),
            event_type: "webhook.test".into(),
            position: i,
            body: "{}".into(),
        };
        enqueue(&store.database(), &delivery, now, now + chrono::Duration::hours(1)).await.expect("enqueue");
        queued.insert(delivery.delivery_id);
    }
    // Two processes' worth of pools on one database, four claimers each.
    let other = db.open().await;
    let mut tasks = Vec::new();
    for (i, store) in [store.clone(), other].into_iter().cycle().take(8).enumerate() {
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let now = Utc::now();
                let batch =
                    claim(&store.database(), now, now + chrono::Duration::minutes(5), 1 + i % 4).await.expect("claim");
                if batch.is_empty() {
                    return mine;
                }
                mine.extend(batch.into_iter().map(|c| c.delivery_id));
            }
        }));
    }
    let mut claimed = Vec::new();
    for task in tasks {
        claimed.extend(task.await.expect("claimer"));
    }
    let distinct: BTreeSet<Uuid> = claimed.iter().copied().collect();
    assert_eq!(distinct.len(), claimed.len(), "a delivery was claimed twice");
    assert_eq!(distinct, queued);

    // A leased delivery is not claimed again until its lease ends; an attempt's outcome frees it.
    let later = Utc::now();
    assert!(claim(&store.database(), later, later, 10).await.expect("claim").is_empty());
    let expired = later + chrono::Duration::minutes(6);
    let again = claim(&store.database(), expired, expired + chrono::Duration::minutes(5), 1).await.expect("claim");
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempt, 2, "the lost attempt counts");
    let record = AttemptRecord {
        attempted_at: expired,
        status_code: Some(200),
        latency_ms: 3,
        error: None,
        response_body: None,
    };
    finish_attempt(&store.database(), &again[0], &record, Outcome::Delivered, expired).await.expect("finish");
    let view = history::delivery(&store.database(), subscription, again[0].delivery_id)
        .await
        .expect("history")
        .expect("delivery");
    assert_eq!((view.status.as_str(), view.attempts.len(), view.attempt_count), ("delivered", 1, 2));
}

mod hardening {
    use super::*;
    use reserver_projections::ProjectionError;
    use reserver_webhooks::WebhookError;

    both_backends!(subscriptions_with_nul_text_are_planned, delivery_cursors_are_accepted_only_by_their_list);

    async fn subscriptions_with_nul_text_are_planned(db: ScratchDatabase) {
        let store = db.open().await;
        let id = Uuid::new_v4();
        let event = WebhookEvent::WebhookCreated {
            url: "http://127.0.0.1:9/ho\0ok".into(),
            event_types: vec!["*".into()],
            description: "de\0sc".into(),
            owner: Uuid::nil(),
            at: Utc::now(),
        };
        stream::append(&store, id, ExpectedVersion::NoStream, &event, EventMetadata::default()).await.expect("append");
        let first = reminder(&store).await;
        catch_up(store.as_ref(), &planner(), 100).await.expect("the planner applies text with NUL");
        let known = history::subscriptions(&store.database()).await.expect("list");
        assert_eq!(known.iter().map(|s| (s.id, s.description.as_str())).collect::<Vec<_>>(), [(id, "de\0sc")]);
        assert_eq!(delivered_events(&store, id).await, vec![first]);
    }

    async fn delivery_cursors_are_accepted_only_by_their_list(db: ScratchDatabase) {
        let store = db.open().await;
        let subscription = subscribe(&store, &["*"]).await;
        for _ in 0..3 {
            reminder(&store).await;
        }
        catch_up(store.as_ref(), &planner(), 100).await.expect("plan");
        let database = store.database();
        let page = |cursor: Option<String>| {
            let database = database.clone();
            async move { history::deliveries(&database, subscription, None, Some(1), cursor.as_deref()).await }
        };
        let cursor = page(None).await.expect("first page").next_cursor.expect("more pages");
        page(Some(cursor.clone())).await.expect("its own cursor");
        // A cursor of another list: the audit trail's.
        reserver_projections::rebuild(store.clone(), Some("audit")).await.expect("audit");
        let audit = reserver_projections::audit::audit_log(
            &database,
            &Default::default(),
            &reserver_projections::PageRequest::first(1),
        )
        .await
        .expect("audit page")
        .next_cursor
        .expect("audit cursor");
        let mut tampered = cursor.clone().into_bytes();
        tampered[2] = if tampered[2] == b'A' { b'B' } else { b'A' };
        let old_style = format!("{}.{}.{}", Utc::now().timestamp_micros(), 1, Uuid::new_v4());
        for bad in [
            "garbage".to_string(),
            String::new() + "a\0b",
            old_style,
            cursor[..cursor.len() / 2].to_string(),
            String::from_utf8(tampered).expect("ascii"),
            audit,
        ] {
            let result = page(Some(bad.clone())).await;
            assert!(
                matches!(result, Err(WebhookError::Projection(ProjectionError::InvalidCursor))),
                "{bad:?} gave {result:?}"
            );
        }
    }
}
