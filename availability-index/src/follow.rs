//! Building the index from the log at start-up and keeping it current from the live tail.

use std::ops::Deref;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use reserver_store::{subscribe, EventStore, SubscribeOptions, DEFAULT_POLL_INTERVAL};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::error::{IndexError, IndexLag};
use crate::memory::{IndexLimits, MemoryIndex};

/// How the index is built and fed.
#[derive(Debug, Clone)]
pub struct IndexConfig {
    /// The memory bound.
    pub limits: IndexLimits,
    /// Events read per query at start-up.
    pub startup_batch: usize,
    /// Most events applied at once while following (fewer when fewer are ready).
    pub follow_batch: usize,
    /// Longest wait for a wake-up before looking at the log anyway.
    pub poll_interval: Duration,
}

impl Default for IndexConfig {
    fn default() -> Self {
        Self {
            limits: IndexLimits::default(),
            startup_batch: 10_000,
            follow_batch: 1_000,
            poll_interval: DEFAULT_POLL_INTERVAL,
        }
    }
}

/// What building the index at start-up took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StartupReport {
    /// Log events read (every stream's).
    pub events: u64,
    /// The position the index was built to; following starts after it.
    pub position: u64,
    /// Wall-clock time from the first read to the index being ready.
    pub elapsed: Duration,
}

struct Shared {
    index: MemoryIndex,
    position: watch::Sender<u64>,
    follower: Mutex<Option<JoinHandle<()>>>,
    startup: StartupReport,
}

impl Drop for Shared {
    fn drop(&mut self) {
        if let Some(task) = self.follower.get_mut().unwrap_or_else(|p| p.into_inner()).take() {
            task.abort();
        }
    }
}

/// A [`MemoryIndex`] that follows the log. Cheap to clone; the queries of [`MemoryIndex`]
/// are reached through `Deref`.
///
/// Start-up replays the log from its first event: reading and folding events is fast
/// (see docs/benchmarks.md for a log of 1,000,000 events), needs nothing but the log, and
/// cannot disagree with it. The read model was measured as the alternative source (it holds
/// only live reservations) but is only as current as its projector, which may be behind or
/// being rebuilt when a replica starts.
#[derive(Clone)]
pub struct AvailabilityIndex {
    shared: Arc<Shared>,
}

impl AvailabilityIndex {
    /// Reads the whole log into a new index, then keeps following it in a task of its own.
    /// Ready (every question answered as of at least the head at start) when this returns.
    pub async fn start(store: Arc<dyn EventStore>, config: IndexConfig) -> Result<Self, IndexError> {
        let started = Instant::now();
        let index = MemoryIndex::new(config.limits);
        let head = store.head().await?.position;
        let batch = config.startup_batch.max(1);
        let read = |after: u64| {
            let store = store.clone();
            tokio::spawn(async move { store.read_all(after, batch).await })
        };
        let (mut after, mut events) = (0u64, 0u64);
        // The next batch is read while the current one is applied.
        let mut next = read(after);
        while after < head {
            let page = (&mut next).await.map_err(|e| IndexError::Store(std::io::Error::other(e).into()))??;
            let Some(last) = page.last().map(|e| e.position) else { break };
            if last < head {
                next = read(last);
            }
            index.apply(&page);
            events += page.len() as u64;
            after = last;
        }
        next.abort();
        let startup = StartupReport { events, position: after, elapsed: started.elapsed() };
        tracing::info!(
            events,
            position = after,
            elapsed_ms = startup.elapsed.as_millis() as u64,
            "availability index ready"
        );
        let (position, _) = watch::channel(after);
        let shared = Arc::new(Shared { index, position, follower: Mutex::new(None), startup });
        let follower = tokio::spawn(follow(store, Arc::downgrade(&shared), after, config));
        *shared.follower.lock().unwrap_or_else(|p| p.into_inner()) = Some(follower);
        Ok(Self { shared })
    }

    /// The last log position the index has applied.
    pub fn position(&self) -> u64 {
        *self.shared.position.borrow()
    }

    /// Waits until the index has applied `position` (read-your-writes), at most `timeout`.
    pub async fn wait_for(&self, position: u64, timeout: Duration) -> Result<(), IndexLag> {
        let mut rx = self.shared.position.subscribe();
        let reached = tokio::time::timeout(timeout, rx.wait_for(|p| *p >= position)).await.is_ok_and(|r| r.is_ok());
        if reached {
            Ok(())
        } else {
            // Timed out, or the follower is gone (shut down): report where it stands.
            Err(IndexLag { wanted: position, reached: self.position(), timeout })
        }
    }

    /// What start-up took.
    pub fn startup(&self) -> StartupReport {
        self.shared.startup
    }

    /// The index itself.
    pub fn index(&self) -> &MemoryIndex {
        &self.shared.index
    }

    /// Stops following the log (the index keeps answering as of where it stopped).
    pub async fn shutdown(&self) {
        let task = self.shared.follower.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(task) = task {
            task.abort();
            let _ = task.await;
        }
    }
}

impl Deref for AvailabilityIndex {
    type Target = MemoryIndex;

    fn deref(&self) -> &MemoryIndex {
        &self.shared.index
    }
}

/// Applies the log's events after `after` as they are committed, in batches of what is
/// ready, until the index is dropped or shut down. A failed read is retried by the
/// subscription from where it was, so nothing is skipped.
async fn follow(store: Arc<dyn EventStore>, shared: std::sync::Weak<Shared>, after: u64, config: IndexConfig) {
    let options = SubscribeOptions { batch_size: config.follow_batch.max(1), poll_interval: config.poll_interval };
    let mut events = subscribe(store, after, options).ready_chunks(config.follow_batch.max(1));
    while let Some(chunk) = events.next().await {
        let Some(shared) = shared.upgrade() else { return };
        let mut batch = Vec::with_capacity(chunk.len());
        for item in chunk {
            match item {
                Ok(event) => batch.push(event),
                Err(error) => tracing::warn!(%error, "availability index: reading the log failed; retrying"),
            }
        }
        if let Some(last) = batch.last().map(|e| e.position) {
            shared.index.apply(&batch);
            shared.position.send_replace(last);
        }
    }
}
