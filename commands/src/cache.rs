//! A bounded cache of loaded aggregates: stream id → (version, state). The cache may be stale
//! (another replica wrote); the expected-version check on append catches that, also for a batch
//! that decided no events (it is sent as a version check without events).
//!
//! Entries are shared (`Arc`): a drainer decides on the cached state without copying it, and
//! after its append commits, advances the entry in place with the events it wrote. A copy is
//! made only when a batch must see an earlier command's events before its own append.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use lru::LruCache;
use uuid::Uuid;

/// An aggregate's state as of a stream version.
#[derive(Debug, Clone)]
pub(crate) struct Loaded<S> {
    pub version: u64,
    pub state: S,
}

pub(crate) struct AggregateCache<S> {
    entries: Mutex<LruCache<Uuid, Arc<Loaded<S>>>>,
}

impl<S: Clone> AggregateCache<S> {
    pub fn new(capacity: usize) -> Self {
        let capacity = NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN);
        Self { entries: Mutex::new(LruCache::new(capacity)) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<Uuid, Arc<Loaded<S>>>> {
        // A panic while holding the lock cannot leave an entry half-written; keep using it.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn get(&self, id: Uuid) -> Option<Arc<Loaded<S>>> {
        self.lock().get(&id).cloned()
    }

    /// `f` applied to the cached entry under the lock, without copying it.
    pub fn inspect<R>(&self, id: Uuid, f: impl FnOnce(&Loaded<S>) -> R) -> Option<R> {
        self.lock().peek(&id).map(|l| f(l))
    }

    pub fn contains(&self, id: Uuid) -> bool {
        self.lock().contains(&id)
    }

    /// Stores `loaded` unless a newer version is already cached.
    pub fn put(&self, id: Uuid, loaded: Arc<Loaded<S>>) {
        let mut entries = self.lock();
        if entries.peek(&id).is_none_or(|cached| cached.version <= loaded.version) {
            entries.put(id, loaded);
        }
    }

    /// Moves the entry from version `from` to `to` by `evolve`, in place unless someone still
    /// holds it. An entry already at `to` or newer is kept as it is; one at another version is
    /// dropped: the next use reloads it.
    /// Returns the advanced entry.
    pub fn advance(&self, id: Uuid, from: u64, to: u64, evolve: impl FnOnce(&mut S)) -> Option<Arc<Loaded<S>>> {
        let mut entries = self.lock();
        match entries.get_mut(&id) {
            Some(entry) if entry.version == from => {
                let loaded = Arc::make_mut(entry);
                evolve(&mut loaded.state);
                loaded.version = to;
                Some(entry.clone())
            }
            // A reader (a log follower) loaded it from the log meanwhile: as new, or newer.
            Some(entry) if entry.version >= to => Some(entry.clone()),
            Some(_) => {
                entries.pop(&id);
                None
            }
            None => None,
        }
    }

    pub fn forget(&self, id: Uuid) {
        self.lock().pop(&id);
    }
}
