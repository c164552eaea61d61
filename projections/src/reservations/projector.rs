//! Builds `rm_reservations`, `rm_series`, `rm_resource_states` and `rm_waitlist` (a
//! reservation's history is read from the log itself: `query::reservation_history`). A batch loads the rows it touches once, folds every event in memory and
//! writes each touched row once, so a batch of 1,000 events costs a handful of statements.
//!
//! `rm_resource_states` holds the resource aggregate's folded state *without* its reservations
//! (configuration, waitlist, pruning clock): those are the `rm_reservations` rows from
//! `retain_from` on, written in the same transaction. Storing the whole state made every batch
//! rewrite tens of kilobytes per touched resource; now a booking costs one row, and
//! `availability::resource_state` puts the two back together.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use reserver_domain::resource::WaitlistEntry;
use reserver_domain::{ResourceEvent, ResourceState};
use reserver_store::RecordedEvent;
use uuid::Uuid;

use super::{apply_reservation, status_label, ReservationView, SeriesView, StoredReservation, WaitlistView};
use crate::decode::{DecodedBatch, DomainEvent};
use crate::error::ProjectionError;
use crate::runtime::Projector;
use crate::sql::{DbTx, Value};

/// The projector's name (its checkpoint): what a query of these tables passes to
/// `ProjectionHandle::wait_for_projectors`, so it waits for this read model only.
pub const PROJECTOR: &str = "reservations";

/// The reservations projector.
pub struct ReservationsProjector;

struct Touched {
    state: ResourceState,
    position: u64,
    /// The waitlist as loaded: its mirror is rewritten only when it changed.
    waitlist_before: Option<Vec<WaitlistEntry>>,
}

#[async_trait]
impl Projector for ReservationsProjector {
    fn name(&self) -> &'static str {
        PROJECTOR
    }

    fn tables(&self) -> &'static [&'static str] {
        &["rm_reservations", "rm_series", "rm_resource_states", "rm_waitlist"]
    }

    async fn apply(&self, tx: &mut DbTx, events: &[RecordedEvent]) -> Result<(), ProjectionError> {
        self.apply_decoded(tx, events, &DecodedBatch::default()).await
    }

    async fn apply_decoded(
        &self,
        tx: &mut DbTx,
        events: &[RecordedEvent],
        decoded: &DecodedBatch,
    ) -> Result<(), ProjectionError> {
        let decodes = decoded.of(events);
        let decoded: Vec<(&RecordedEvent, Uuid, &ResourceEvent)> = events
            .iter()
            .zip(decodes.iter())
            .filter_map(|(e, d)| match d {
                Some(DomainEvent::Resource { resource_id, event }) => Some((e, *resource_id, event)),
                _ => None,
            })
            .collect();
        if decoded.is_empty() {
            return Ok(());
        }
        let mut states: HashMap<Uuid, Touched> = HashMap::new();
        let mut reservations: HashMap<Uuid, Option<ReservationView>> = HashMap::new();
        let (mut created_here, mut to_load) = (HashSet::new(), HashSet::new());
        for (_, resource_id, event) in &decoded {
            states.entry(*resource_id).or_insert(Touched {
                state: ResourceState::default(),
                position: 0,
                waitlist_before: None,
            });
            if let Some(id) = event.reservation_id() {
                // Stored only if its first event here is not the one creating it.
                let stored = !event.creates_reservation();
                reservations.entry(id).or_insert(None);
                if stored && !created_here.contains(&id) {
                    to_load.insert(id);
                } else {
                    created_here.insert(id);
                }
            }
        }
        let resource_keys: Vec<String> = states.keys().map(Uuid::to_string).collect();
        for row in tx.fetch_keys("resource_id, state", "rm_resource_states", "resource_id", &resource_keys).await? {
            let id = Uuid::parse_str(&row.text(0)?).map_err(|e| ProjectionError::Corrupt(e.to_string()))?;
            let mut state: ResourceState = serde_json::from_str(&row.text(1)?)?;
            // Rows written before the split still carry reservations; they live in rm_reservations.
            state.reservations.clear();
            let waitlist_before = Some(state.waitlist.clone());
            states.insert(id, Touched { state, position: 0, waitlist_before });
        }
        let reservation_keys: Vec<String> = to_load.iter().map(Uuid::to_string).collect();
        for row in tx.fetch_keys("doc", "rm_reservations", "reservation_id", &reservation_keys).await? {
            let view: ReservationView = serde_json::from_str(&row.text(0)?)?;
            reservations.insert(view.reservation_id, Some(view));
        }

        let mut series = Vec::new();
        for (recorded, resource_id, event) in &decoded {
            if let Some(touched) = states.get_mut(resource_id) {
                touched.state.apply(event);
                touched.position = recorded.position;
            }
            if let Some(id) = event.reservation_id() {
                apply_reservation(reservations.entry(id).or_default(), *resource_id, event);
            }
            if let ResourceEvent::SeriesBooked { series_id, user_id, rrule, policy, occurrences, at, .. } = event {
                let view = SeriesView {
                    series_id: *series_id,
                    resource_id: *resource_id,
                    user_id: *user_id,
                    rrule: rrule.clone(),
                    policy: *policy,
                    occurrences: occurrences.clone(),
                    booked_at: *at,
                };
                series.push(vec![
                    Value::Text(series_id.to_string()),
                    Value::Text(resource_id.to_string()),
                    Value::Text(user_id.to_string()),
                    Value::Int(at.timestamp_micros()),
                    Value::Text(serde_json::to_string(&view)?),
                ]);
            }
        }

        write_reservations(tx, &reservations, &created_here).await?;
        tx.insert_rows(
            "INSERT INTO rm_series (series_id, resource_id, user_id, created_at, doc)",
            "ON CONFLICT (series_id) DO UPDATE SET doc = excluded.doc",
            &series,
        )
        .await?;
        write_states(tx, &mut states).await
    }
}

/// Writes every reservation the batch touched. A large batch on PostgreSQL (a rebuild's, a long
/// catch-up's) creates thousands: those go in by `COPY`, without the conflict check per row an
/// upsert makes (a tenth of a full rebuild's CPU), the others are upserted. A reservation
/// created here has no row unless the log created the same id before, which the write side never
/// does; if it did, the plain insert fails the batch and the runtime applies its events one by
/// one, each batch of one upserting (test `a_reservation_created_twice_is_still_projected`).
async fn write_reservations(
    tx: &mut DbTx,
    reservations: &HashMap<Uuid, Option<ReservationView>>,
    created_here: &HashSet<Uuid>,
) -> Result<(), ProjectionError> {
    let copy_created = tx.copies(created_here.len());
    let (mut created, mut upserts) = (Vec::new(), Vec::with_capacity(reservations.len()));
    for view in reservations.values().flatten() {
        let row = vec![
            Value::Text(view.reservation_id.to_string()),
            Value::Text(view.resource_id.to_string()),
            Value::Text(view.user_id.to_string()),
            view.series_id.map(|s| s.to_string()).into(),
            status_label(view.status).into(),
            Value::Int(view.range.start().timestamp_micros()),
            Value::Int(view.range.end().timestamp_micros()),
            Value::Text(serde_json::to_string(&StoredReservation::from(view))?),
        ];
        if copy_created && created_here.contains(&view.reservation_id) {
            created.push(row);
        } else {
            upserts.push(row);
        }
    }
    const INSERT: &str =
        "INSERT INTO rm_reservations (reservation_id, resource_id, user_id, series_id, status, start_at, end_at, doc)";
    tx.insert_rows(INSERT, "", &created).await?;
    tx.insert_rows(
        INSERT,
        "ON CONFLICT (reservation_id) DO UPDATE SET status = excluded.status, series_id = excluded.series_id, \
         start_at = excluded.start_at, end_at = excluded.end_at, user_id = excluded.user_id, doc = excluded.doc",
        &upserts,
    )
    .await?;
    Ok(())
}

async fn write_states(tx: &mut DbTx, states: &mut HashMap<Uuid, Touched>) -> Result<(), ProjectionError> {
    let mut rows = Vec::with_capacity(states.len());
    let mut waitlist_changed = Vec::new();
    let mut waiting = Vec::new();
    for (resource_id, touched) in states.iter_mut() {
        // The batch's new reservations went into the map while folding; they are stored as rows.
        touched.state.reservations.clear();
        let retain_from = touched.state.retention_cutoff().map_or(0, |c| c.timestamp_micros());
        rows.push(vec![
            Value::Text(resource_id.to_string()),
            Value::Int(touched.position as i64),
            Value::Text(serde_json::to_string(&touched.state)?),
            Value::Int(retain_from),
        ]);
        if touched.waitlist_before.as_ref() == Some(&touched.state.waitlist) {
            continue;
        }
        waitlist_changed.push(resource_id.to_string());
        for (index, entry) in touched.state.waitlist.iter().enumerate() {
            let view = WaitlistView {
                entry_id: entry.id,
                resource_id: *resource_id,
                user_id: entry.user_id,
                desired: entry.desired,
                flex_minutes: entry.flex_minutes,
                joined_at: entry.joined_at,
                position: u32::try_from(index + 1).unwrap_or(u32::MAX),
            };
            waiting.push(vec![
                Value::Text(entry.id.to_string()),
                Value::Text(resource_id.to_string()),
                Value::Text(entry.user_id.to_string()),
                Value::Int(index as i64),
                Value::Text(serde_json::to_string(&view)?),
            ]);
        }
    }
    tx.insert_rows(
        "INSERT INTO rm_resource_states (resource_id, position, state, retain_from)",
        "ON CONFLICT (resource_id) DO UPDATE SET position = excluded.position, state = excluded.state, \
         retain_from = excluded.retain_from",
        &rows,
    )
    .await?;
    // The waitlist mirrors the aggregate's FIFO list (which also drops stale entries), so
    // queue positions are exactly the ones the domain uses when it makes offers.
    tx.delete_keys("rm_waitlist", "resource_id", &waitlist_changed).await?;
    tx.insert_rows("INSERT INTO rm_waitlist (entry_id, resource_id, user_id, seq, doc)", "", &waiting).await?;
    Ok(())
}
