//! The newest events this process committed, kept in memory. Every log follower in the
//! process (five projectors, the scheduler, the webhook and mail planners, the live hub)
//! reads each committed batch; serving those reads from here instead of the database saves a
//! query and a decode per follower per batch.
//!
//! Only a contiguous run of positions is kept. Positions are handed out under the log's lock
//! in commit order, so when this process's batch commits at `p..=q`, everything before `p` is
//! committed too. If the next batch does not start at `q + 1`, another writer (a replica, or
//! the CLI on the same file) committed in between: the run is dropped and starts again, and a
//! read that this run cannot answer completely goes to the database.

use std::collections::VecDeque;
use std::sync::Mutex;

use crate::batch::EventRow;
use crate::RecordedEvent;

/// Events kept: a few seconds of the heaviest load, a few megabytes.
pub(crate) const RECENT_CAPACITY: usize = 20_000;

pub(crate) struct RecentEvents {
    run: Mutex<VecDeque<RecordedEvent>>,
    capacity: usize,
}

impl RecentEvents {
    pub fn new(capacity: usize) -> Self {
        Self { run: Mutex::new(VecDeque::new()), capacity: capacity.max(1) }
    }

    /// Records a batch that has committed (rows in position order), taking the rows over.
    pub fn committed(&self, rows: Vec<EventRow>) {
        let Some(first) = rows.first().map(|r| r.position) else { return };
        let mut run = self.run.lock().unwrap_or_else(|e| e.into_inner());
        if run.back().is_some_and(|last| last.position + 1 != first) {
            run.clear();
        }
        run.extend(rows.into_iter().map(|row| RecordedEvent {
            position: row.position,
            event_id: row.event_id,
            stream_id: row.stream_id,
            stream_version: row.stream_version,
            event_type: row.event_type,
            schema_version: row.schema_version,
            payload: row.payload,
            metadata: row.metadata,
            recorded_at: row.recorded_at,
            prev_hash: row.prev_hash,
            hash: row.hash,
        }));
        let excess = run.len().saturating_sub(self.capacity);
        run.drain(..excess);
    }

    /// The events after `after`, up to `limit`, if the run holds the very next one. `None`
    /// when it does not (too old, written elsewhere, or nothing newer here): ask the database.
    pub fn after(&self, after: u64, limit: usize) -> Option<Vec<RecordedEvent>> {
        let run = self.run.lock().unwrap_or_else(|e| e.into_inner());
        let front = run.front()?.position;
        let back = run.back()?.position;
        if after < front.saturating_sub(1) || after >= back || limit == 0 {
            return None;
        }
        let skip = usize::try_from(after + 1 - front).ok()?;
        Some(run.iter().skip(skip).take(limit).cloned().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use uuid::Uuid;

    fn rows(positions: std::ops::RangeInclusive<u64>) -> Vec<EventRow> {
        positions
            .map(|position| EventRow {
                position,
                event_id: Uuid::new_v4(),
                stream_id: "s".into(),
                stream_version: position,
                event_type: "t".into(),
                schema_version: 1,
                payload: "{}".into(),
                metadata: "{}".into(),
                recorded_at: Utc::now(),
                prev_hash: vec![],
                hash: vec![],
            })
            .collect()
    }

    fn positions(events: Option<Vec<RecordedEvent>>) -> Option<Vec<u64>> {
        events.map(|e| e.iter().map(|e| e.position).collect())
    }

    #[test]
    fn answers_only_what_it_holds_without_a_gap() {
        let recent = RecentEvents::new(10);
        assert_eq!(positions(recent.after(0, 5)), None, "empty: ask the database");
        recent.committed(rows(5..=8));
        assert_eq!(positions(recent.after(4, 10)), Some(vec![5, 6, 7, 8]));
        assert_eq!(positions(recent.after(6, 1)), Some(vec![7]));
        assert_eq!(positions(recent.after(3, 10)), None, "position 4 is not held");
        assert_eq!(positions(recent.after(8, 10)), None, "nothing newer here; another writer may have more");
        recent.committed(rows(9..=10));
        assert_eq!(positions(recent.after(8, 10)), Some(vec![9, 10]));
        // Another writer committed 11..=12: the run restarts at 13.
        recent.committed(rows(13..=14));
        assert_eq!(positions(recent.after(10, 10)), None);
        assert_eq!(positions(recent.after(12, 10)), Some(vec![13, 14]));
    }

    #[test]
    fn keeps_at_most_its_capacity() {
        let recent = RecentEvents::new(3);
        recent.committed(rows(1..=5));
        assert_eq!(positions(recent.after(2, 10)), Some(vec![3, 4, 5]));
        assert_eq!(positions(recent.after(1, 10)), None);
    }
}
