//! Matching freed units to waitlist entries, first come first served.

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use crate::resource::decide::Emitted;
use crate::resource::event::ResourceEvent;
use crate::resource::rules::check_slot;
use crate::resource::state::WaitlistEntry;
use crate::time_range::{saturating_add, TimeRange};

/// Granularity at which a flexible entry's start is shifted.
pub const FLEX_STEP: Duration = Duration::minutes(5);

/// Deterministic id of the reservation offered to `entry_id`; an entry is
/// offered at most once because it leaves the list when offered.
pub fn offer_reservation_id(entry_id: Uuid) -> Uuid {
    Uuid::new_v5(&entry_id, b"waitlist-offer")
}

/// Walks the waitlist in FIFO order and emits an offer for every entry a
/// slot can now be found for. Earlier entries are served first and each
/// offer immediately holds its unit, so later entries only get what is left.
pub(crate) fn offer_freed_units(emitted: &mut Emitted, now: DateTime<Utc>) {
    let Some(resource) = emitted.scratch.resource.as_ref() else {
        return;
    };
    let offer_timeout = resource.policy.offer_timeout();
    let entries = emitted.scratch.waitlist.clone();
    for entry in entries {
        if let Some(range) = matching_slot(emitted, &entry, now) {
            emitted.push(ResourceEvent::WaitlistOfferMade {
                reservation_id: offer_reservation_id(entry.id),
                entry_id: entry.id,
                user_id: entry.user_id,
                range,
                expires_at: saturating_add(now, offer_timeout),
                at: now,
            });
        }
    }
}

/// The bookable slot closest to the desired start within ± flex, if any.
fn matching_slot(emitted: &Emitted, entry: &WaitlistEntry, now: DateTime<Utc>) -> Option<TimeRange> {
    let flex = Duration::minutes(i64::from(entry.flex_minutes));
    let length = entry.desired.duration();
    let mut shift = Duration::zero();
    while shift <= flex {
        let later = entry.desired.start().checked_add_signed(shift);
        let earlier = entry.desired.start().checked_sub_signed(shift);
        for start in [earlier, later].into_iter().flatten() {
            if let Some(slot) = TimeRange::starting_at(start, length) {
                if check_slot(&emitted.scratch, &slot, now, Some(entry.user_id)).is_ok() {
                    return Some(slot);
                }
            }
        }
        shift += FLEX_STEP;
    }
    None
}
