//! The reservations of a resource's state, indexed so that no rule has to scan them all.
//!
//! # Structure
//! * `by_id` — every kept reservation by id (the map snapshots serialize, unchanged);
//! * `holding` — the reservations holding a unit, as an interval index (below);
//! * `earliest_end` — the earliest end of any kept reservation, so pruning after an event
//!   looks at the reservations only when one of them may have ended before the cutoff
//!   (about once per reservation that ends, instead of a pass per event);
//! * `holding_by_user` — `(user, end, id)` of the holding ones, built the first time a quota
//!   is checked and kept up to date from then on, so the per-user quota counts a user's
//!   not-yet-ended holds in `O(log n + k)`; resources without a quota never pay for it.
//!
//! The state is copied whole when a decision must see its own events (a batch of commands,
//! a cancellation that offers the freed unit): fewer, smaller indexes keep that copy cheap.
//!
//! # The interval index
//! Holding reservations are kept in one `BTreeMap` keyed by `(start, id)` per *duration
//! class*: class `k` holds the reservations lasting less than `2^k` seconds and at least
//! `2^(k-1)` (class 0: under a second). A reservation of class `k` meets `[a, b)` only if it
//! starts in `(a - 2^k, b)`, so a range query reads that key range of each non-empty class
//! and drops the few that ended before `a`. Within a class every reservation is at least half
//! as long as the bound, and holding reservations never stack higher than the capacity, so
//! at most about `4 × capacity` entries per class are read without being answers: a query
//! costs `O(c · log n + k)` for `c` non-empty classes (a handful: bookings of 15 minutes to
//! a day span five) and `k` answers.
//!
//! Why not a single `BTreeMap` by start bounded by the longest live reservation: one
//! week-long booking would make every query on that resource read a week of short ones.
//! Why not an augmented balanced tree (max end per subtree): `O(log n + k)` without the
//! class factor, but hand-written rotations where the standard library's B-tree already
//! gives the ordered map, cache-friendly nodes and the range iterators.
//!
//! # Memory
//! About 370 bytes per holding reservation on 64-bit targets (measured: docs/benchmarks.md):
//! the entry (~160 bytes) and B-tree overhead in `by_id`, and a 40-byte entry in `holding`.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::{Bound, Index};
use std::sync::OnceLock;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

use crate::resource::state::{Reservation, ReservationStatus};
use crate::time_range::{saturating_sub, TimeRange};

/// Reservations by id, with the indexes described in the module docs. Serializes exactly as
/// the map by id it replaced, so stored snapshots stay readable.
#[derive(Clone, Default)]
pub struct Reservations {
    by_id: BTreeMap<Uuid, Reservation>,
    holding: HoldingIndex,
    /// The earliest end among `by_id`; `None` when empty or not known (recomputed by the
    /// next pruning pass).
    earliest_end: Option<DateTime<Utc>>,
    holding_by_user: OnceLock<BTreeSet<(Uuid, DateTime<Utc>, Uuid)>>,
}

/// One duration class: `(start, id)` → end.
type ByStart = BTreeMap<(DateTime<Utc>, Uuid), DateTime<Utc>>;

/// Holding reservations by duration class: `classes[k]` holds class `k`.
#[derive(Clone, Default)]
struct HoldingIndex {
    classes: Vec<ByStart>,
    len: usize,
}

/// The class of a length: the bit length of its whole seconds (0 below one second).
fn class_of(length: Duration) -> usize {
    let seconds = u64::try_from(length.num_seconds()).unwrap_or(0);
    (u64::BITS - seconds.leading_zeros()) as usize
}

/// Every reservation of class `k` lasts less than this.
fn class_bound(class: usize) -> Duration {
    let seconds = 1i64.checked_shl(class as u32).filter(|s| *s > 0).unwrap_or(i64::MAX);
    Duration::try_seconds(seconds).unwrap_or(Duration::MAX)
}

impl HoldingIndex {
    fn insert(&mut self, r: &Reservation) {
        let class = class_of(r.range.duration());
        if self.classes.len() <= class {
            self.classes.resize_with(class + 1, BTreeMap::new);
        }
        if self.classes[class].insert((r.range.start(), r.id), r.range.end()).is_none() {
            self.len += 1;
        }
    }

    fn remove(&mut self, r: &Reservation) {
        let class = class_of(r.range.duration());
        if let Some(map) = self.classes.get_mut(class) {
            if map.remove(&(r.range.start(), r.id)).is_some() {
                self.len -= 1;
            }
        }
    }

    /// `(id, start, end)` of the entries whose range meets `range`, class by class.
    fn meeting(&self, range: TimeRange) -> impl Iterator<Item = (Uuid, DateTime<Utc>, DateTime<Utc>)> + '_ {
        self.classes.iter().enumerate().filter(|(_, map)| !map.is_empty()).flat_map(move |(class, map)| {
            let from = saturating_sub(range.start(), class_bound(class));
            map.range((Bound::Excluded((from, Uuid::max())), Bound::Excluded((range.end(), Uuid::nil()))))
                .filter(move |(_, end)| **end > range.start())
                .map(|((start, id), end)| (*id, *start, *end))
        })
    }
}

impl Reservations {
    /// The reservation with this id.
    pub fn get(&self, id: &Uuid) -> Option<&Reservation> {
        self.by_id.get(id)
    }

    /// True when a reservation with this id is kept.
    pub fn contains_key(&self, id: &Uuid) -> bool {
        self.by_id.contains_key(id)
    }

    /// Ids in ascending order.
    pub fn keys(&self) -> impl Iterator<Item = &Uuid> {
        self.by_id.keys()
    }

    /// Reservations in ascending id order.
    pub fn values(&self) -> impl Iterator<Item = &Reservation> {
        self.by_id.values()
    }

    /// `(id, reservation)` pairs in ascending id order.
    pub fn iter(&self) -> impl Iterator<Item = (&Uuid, &Reservation)> {
        self.by_id.iter()
    }

    /// Number of kept reservations, holding or not.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// True when none is kept.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Number of reservations holding a unit.
    pub fn holding_len(&self) -> usize {
        self.holding.len
    }

    /// Adds (or replaces) the reservation `id`.
    pub fn insert(&mut self, id: Uuid, reservation: Reservation) {
        self.remove(&id);
        let reservation = Reservation { id, ..reservation };
        self.index(&reservation);
        self.by_id.insert(id, reservation);
    }

    /// Removes the reservation `id` and returns it.
    pub fn remove(&mut self, id: &Uuid) -> Option<Reservation> {
        let removed = self.by_id.remove(id)?;
        self.unindex(&removed);
        Some(removed)
    }

    /// Forgets every reservation.
    pub fn clear(&mut self) {
        *self = Self::default();
    }

    /// Moves reservation `id` to `status`; false when there is no such reservation.
    pub fn set_status(&mut self, id: &Uuid, status: ReservationStatus) -> bool {
        let Some(reservation) = self.by_id.get_mut(id) else { return false };
        let (was, now) = (reservation.status.holds_unit(), status.holds_unit());
        reservation.status = status;
        if was != now {
            let reservation = reservation.clone();
            if now {
                self.index_holding(&reservation);
            } else {
                self.unindex_holding(&reservation);
            }
        }
        true
    }

    /// Moves reservation `id` to pending approval until `deadline` (from another holding status,
    /// so no index changes).
    pub fn await_approval(&mut self, id: &Uuid, deadline: DateTime<Utc>) {
        self.set_status(id, ReservationStatus::PendingApproval);
        if let Some(reservation) = self.by_id.get_mut(id) {
            reservation.approval_deadline = Some(deadline);
        }
    }

    /// Records the check-in time of reservation `id` (no index depends on it).
    pub fn check_in(&mut self, id: &Uuid, at: DateTime<Utc>) {
        if let Some(reservation) = self.by_id.get_mut(id) {
            reservation.checked_in_at = Some(at);
        }
    }

    /// Removes every reservation ending before `cutoff`. A pass over the reservations only
    /// when the earliest of them may end before it; otherwise `O(1)`.
    pub fn prune_ended_before(&mut self, cutoff: DateTime<Utc>) {
        if self.by_id.is_empty() || self.earliest_end.is_some_and(|earliest| earliest >= cutoff) {
            return;
        }
        let ended: Vec<Uuid> = self.by_id.values().filter(|r| r.range.end() < cutoff).map(|r| r.id).collect();
        for id in ended {
            self.remove(&id);
        }
        self.earliest_end = self.by_id.values().map(|r| r.range.end()).min();
    }

    /// The reservations holding a unit whose range meets `range` (touching ends do not
    /// meet), in no particular order: `O(c · log n + k)`, see the module docs.
    pub fn holding_meeting(&self, range: &TimeRange) -> impl Iterator<Item = &Reservation> + '_ {
        self.holding.meeting(*range).filter_map(|(id, _, _)| self.by_id.get(&id))
    }

    /// The ranges of [`Self::holding_meeting`], read from the interval index alone: no lookup
    /// by id per answer (the free-slot search needs only the ranges, and those lookups were
    /// its largest single cost).
    pub fn holding_ranges_meeting(&self, range: &TimeRange) -> impl Iterator<Item = TimeRange> + '_ {
        self.holding.meeting(*range).filter_map(|(_, start, end)| TimeRange::new(start, end).ok())
    }

    /// How many reservations of `user` hold a unit and end after `now`: `O(log n + k)` (the
    /// first call builds the per-user index in `O(n log n)`).
    pub fn active_for_user(&self, user: Uuid, now: DateTime<Utc>) -> usize {
        self.holding_by_user
            .get_or_init(|| {
                self.by_id
                    .values()
                    .filter(|r| r.status.holds_unit())
                    .map(|r| (r.user_id, r.range.end(), r.id))
                    .collect()
            })
            .range((Bound::Excluded((user, now, Uuid::max())), Bound::Unbounded))
            .take_while(|(owner, _, _)| *owner == user)
            .count()
    }

    fn index(&mut self, r: &Reservation) {
        let end = r.range.end();
        self.earliest_end = match self.earliest_end {
            Some(earliest) => Some(earliest.min(end)),
            None if self.by_id.is_empty() => Some(end),
            None => None,
        };
        if r.status.holds_unit() {
            self.index_holding(r);
        }
    }

    fn unindex(&mut self, r: &Reservation) {
        if self.earliest_end == Some(r.range.end()) {
            self.earliest_end = None;
        }
        if r.status.holds_unit() {
            self.unindex_holding(r);
        }
    }

    fn index_holding(&mut self, r: &Reservation) {
        self.holding.insert(r);
        if let Some(by_user) = self.holding_by_user.get_mut() {
            by_user.insert((r.user_id, r.range.end(), r.id));
        }
    }

    fn unindex_holding(&mut self, r: &Reservation) {
        self.holding.remove(r);
        if let Some(by_user) = self.holding_by_user.get_mut() {
            by_user.remove(&(r.user_id, r.range.end(), r.id));
        }
    }
}

impl FromIterator<(Uuid, Reservation)> for Reservations {
    fn from_iter<I: IntoIterator<Item = (Uuid, Reservation)>>(iter: I) -> Self {
        let mut reservations = Self::default();
        for (id, reservation) in iter {
            reservations.insert(id, reservation);
        }
        reservations
    }
}

impl Index<&Uuid> for Reservations {
    type Output = Reservation;

    /// Panics when absent, like `BTreeMap`'s index: for tests and callers that just checked.
    fn index(&self, id: &Uuid) -> &Reservation {
        &self.by_id[id]
    }
}

impl PartialEq for Reservations {
    fn eq(&self, other: &Self) -> bool {
        self.by_id == other.by_id
    }
}

impl Eq for Reservations {}

impl std::fmt::Debug for Reservations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.by_id.fmt(f)
    }
}

impl Serialize for Reservations {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.by_id.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Reservations {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(BTreeMap::<Uuid, Reservation>::deserialize(deserializer)?.into_iter().collect())
    }
}

#[cfg(test)]
#[path = "reservations_tests.rs"]
mod tests;
