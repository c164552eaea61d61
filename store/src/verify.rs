//! Walking the hash chain from the first event to the head.

use serde::Serialize;

use crate::hash::{event_hash, HashedFields, GENESIS_HASH};
use crate::{ChainBroken, EventStore, StoreError};

/// Events read per batch while verifying.
const VERIFY_BATCH: usize = 5000;

/// An intact chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainReport {
    pub events: u64,
    pub head_hash: String,
}

/// Recomputes every hash. `Ok(Err(..))` names the first position where the chain breaks:
/// an edited row, a missing or reordered one, or a head that disagrees with the last row.
pub async fn verify_chain(store: &dyn EventStore) -> Result<Result<ChainReport, ChainBroken>, StoreError> {
    // Verify up to the head as it is now; appends that land meanwhile are for the next run.
    let head = store.head().await?;
    let mut prev_hash = GENESIS_HASH.to_vec();
    let mut position = 0u64;
    while position < head.position {
        // From the database: the in-memory copy of recent appends would hide an edited row.
        let events = store.read_all_from_database(position, VERIFY_BATCH).await?;
        if events.is_empty() {
            break;
        }
        for e in events.into_iter().take_while(|e| e.position <= head.position) {
            let broken = |reason: &str| Ok(Err(ChainBroken { position: e.position, reason: reason.to_string() }));
            if e.position != position + 1 {
                return Ok(Err(ChainBroken {
                    position: position + 1,
                    reason: format!("missing event (next stored position is {})", e.position),
                }));
            }
            if e.prev_hash != prev_hash {
                return broken("prev_hash does not match the previous event's hash");
            }
            let expected = event_hash(
                &prev_hash,
                &HashedFields {
                    position: e.position,
                    event_id: e.event_id,
                    stream_id: &e.stream_id,
                    stream_version: e.stream_version,
                    event_type: &e.event_type,
                    schema_version: e.schema_version,
                    recorded_at_micros: e.recorded_at.timestamp_micros(),
                    payload: &e.payload,
                    metadata: &e.metadata,
                },
            );
            if e.hash != expected {
                return broken("hash does not match the row's contents");
            }
            prev_hash = e.hash;
            position = e.position;
        }
    }
    if head.position != position || head.hash != prev_hash {
        return Ok(Err(ChainBroken {
            position: head.position.max(position),
            reason: format!("log head says position {} but the chain ends at {position}", head.position),
        }));
    }
    Ok(Ok(ChainReport { events: position, head_hash: hex::encode(prev_hash) }))
}
