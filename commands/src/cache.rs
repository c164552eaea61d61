//! A bounded cache of loaded aggregates: stream id → (version, state). The cache may be stale
//! (another replica wrote); the expected-version check on append catches that, and a batch
//! that writes nothing to the aggregate's stream is decided again against the log.

use std::num::NonZeroUsize;
use std::sync::Mutex;

use lru::LruCache;
use uuid::Uuid;

/// An aggregate's state as of a stream version.
#[derive(Debug, Clone)]
pub(crate) struct Loaded<S> {
    pub version: u64,
    pub state: S,
}

pub(crate) struct AggregateCache<S> {
    entries: Mutex<LruCache<Uuid, Loaded<S>>>,
}

impl<S: Clone> AggregateCache<S> {
    pub fn new(capacity: usize) -> Self {
        let capacity = NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN);
        Self { entries: Mutex::new(LruCache::new(capacity)) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<Uuid, Loaded<S>>> {
        // A panic while holding the lock cannot leave an entry half-written; keep using it.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn get(&self, id: Uuid) -> Option<Loaded<S>> {
        self.lock().get(&id).cloned()
    }

    /// `f` applied to the cached entry under the lock, without copying it.
    pub fn inspect<R>(&self, id: Uuid, f: impl FnOnce(&Loaded<S>) -> R) -> Option<R> {
        self.lock().peek(&id).map(f)
    }

    pub fn contains(&self, id: Uuid) -> bool {
        self.lock().contains(&id)
    }

    /// Stores `loaded` unless a newer version is already cached.
    pub fn put(&self, id: Uuid, loaded: Loaded<S>) {
        let mut entries = self.lock();
        if entries.peek(&id).is_none_or(|cached| cached.version <= loaded.version) {
            entries.put(id, loaded);
        }
    }

    pub fn forget(&self, id: Uuid) {
        self.lock().pop(&id);
    }
}
