//! The hash chain. Each event's hash covers the previous hash and a length-prefixed encoding of
//! every stored field, so editing, reordering, inserting or dropping a row breaks the chain.

use sha2::{Digest, Sha256};
use uuid::Uuid;

pub const HASH_LEN: usize = 32;
/// The `prev_hash` of the first event.
pub const GENESIS_HASH: [u8; HASH_LEN] = [0; HASH_LEN];
/// Names the encoding, so a future change of it can never collide with this one.
const DOMAIN_TAG: &[u8] = b"reserver.event.v1";

/// The fields covered by an event's hash, borrowed from wherever they live.
pub struct HashedFields<'a> {
    pub position: u64,
    pub event_id: Uuid,
    pub stream_id: &'a str,
    pub stream_version: u64,
    pub event_type: &'a str,
    pub schema_version: i32,
    pub recorded_at_micros: i64,
    pub payload: &'a str,
    pub metadata: &'a str,
}

/// SHA-256 over the previous hash and the length-prefixed fields.
pub fn event_hash(prev_hash: &[u8], f: &HashedFields<'_>) -> [u8; HASH_LEN] {
    let mut h = Sha256::new();
    let mut field = |bytes: &[u8]| {
        // A length prefix makes the encoding unambiguous: ("ab","c") never hashes like ("a","bc").
        h.update((bytes.len() as u64).to_be_bytes());
        h.update(bytes);
    };
    field(DOMAIN_TAG);
    field(prev_hash);
    field(&f.position.to_be_bytes());
    field(f.event_id.as_bytes());
    field(f.stream_id.as_bytes());
    field(&f.stream_version.to_be_bytes());
    field(f.event_type.as_bytes());
    field(&f.schema_version.to_be_bytes());
    field(&f.recorded_at_micros.to_be_bytes());
    field(f.payload.as_bytes());
    field(f.metadata.as_bytes());
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields<'a>(stream: &'a str, ty: &'a str) -> HashedFields<'a> {
        HashedFields {
            position: 1,
            event_id: Uuid::nil(),
            stream_id: stream,
            stream_version: 1,
            event_type: ty,
            schema_version: 1,
            recorded_at_micros: 0,
            payload: "{}",
            metadata: "{}",
        }
    }

    #[test]
    fn length_prefix_keeps_field_boundaries() {
        let a = event_hash(&GENESIS_HASH, &fields("ab", "c"));
        let b = event_hash(&GENESIS_HASH, &fields("a", "bc"));
        assert_ne!(a, b);
    }

    #[test]
    fn previous_hash_is_covered() {
        let a = event_hash(&GENESIS_HASH, &fields("s", "t"));
        let b = event_hash(&[1; HASH_LEN], &fields("s", "t"));
        assert_ne!(a, b);
    }
}
