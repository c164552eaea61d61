//! A tiny time-bounded cache for the resource list (`GET /resources`), still answered from SQL.
//! Read models are eventually consistent anyway; an answer up to `ttl` old changes nothing for a
//! client that did not ask for a position. A request with `min_position` bypasses the cache, so
//! read-your-writes is unaffected.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::web::Bytes;

pub struct ReadCache {
    entries: Mutex<HashMap<String, (Instant, Bytes)>>,
    /// One computation per key at a time: concurrent misses wait for it instead of all
    /// computing the same answer (no thundering herd when an entry expires).
    flights: Mutex<HashMap<String, std::sync::Arc<tokio::sync::Mutex<()>>>>,
    ttl: Duration,
    capacity: usize,
}

impl ReadCache {
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Self { entries: Mutex::new(HashMap::new()), flights: Mutex::new(HashMap::new()), ttl, capacity }
    }

    /// The lock a computation of `key` holds.
    pub fn flight(&self, key: &str) -> std::sync::Arc<tokio::sync::Mutex<()>> {
        let mut flights = self.flights.lock().unwrap_or_else(|p| p.into_inner());
        if flights.len() >= self.capacity {
            flights.retain(|_, lock| std::sync::Arc::strong_count(lock) > 1);
        }
        flights.entry(key.to_string()).or_default().clone()
    }

    pub fn get(&self, key: &str) -> Option<Bytes> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.get(key).filter(|(at, _)| at.elapsed() < self.ttl).map(|(_, body)| body.clone())
    }

    pub fn put(&self, key: String, body: Bytes) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= self.capacity {
            entries.retain(|_, (at, _)| at.elapsed() < self.ttl);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(key, (Instant::now(), body));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_and_capacity_is_bounded() {
        let cache = ReadCache::new(Duration::from_millis(50), 2);
        cache.put("a".into(), Bytes::from_static(b"1"));
        assert_eq!(cache.get("a"), Some(Bytes::from_static(b"1")));
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(cache.get("a"), None);
        for k in ["x", "y", "z"] {
            cache.put(k.into(), Bytes::from_static(b"v"));
        }
        assert!(cache.entries.lock().map(|e| e.len()).unwrap_or(99) <= 2);
    }
}
