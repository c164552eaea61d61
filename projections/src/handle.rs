//! The running projectors of this process: [`ProjectionRuntime::start`] spawns one task per
//! projector on the [`follow`](crate::runtime::follow) loop; the [`ProjectionHandle`] knows
//! each one's position and whether it is stuck, answers read-your-writes waits, and shuts
//! them down.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use reserver_store::EventStore;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::error::{LagTimeout, ProjectionError};
use crate::faults::StuckProjector;
use crate::runtime::{
    all_projectors, checkpoint, ensure_checkpoint, follow, FollowObserver, Projector, RuntimeOptions,
};
use crate::secondary_indexes;

/// Starts projectors, one task each.
pub struct ProjectionRuntime;

impl ProjectionRuntime {
    /// Starts every projector with default options.
    pub async fn start(store: Arc<dyn EventStore>) -> Result<ProjectionHandle, ProjectionError> {
        Self::start_with(store, all_projectors(), RuntimeOptions::default()).await
    }

    /// Starts the given projectors.
    pub async fn start_with(
        store: Arc<dyn EventStore>,
        projectors: Vec<Arc<dyn Projector>>,
        options: RuntimeOptions,
    ) -> Result<ProjectionHandle, ProjectionError> {
        let db = store.database();
        // Indexes a rebuild set aside and could not put back (the process died) come back first.
        // Without them queries are only slower, so a failure here is reported, not fatal.
        if let Err(error) = secondary_indexes::restore(&db).await {
            tracing::error!(%error, "secondary indexes set aside by a rebuild could not be restored; queries of those read models stay slower until the next start or rebuild restores them");
        }
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let mut followers = Vec::new();
        let mut tasks = Vec::new();
        for projector in projectors {
            ensure_checkpoint(&db, projector.name()).await?;
            let (position_tx, position_rx) = watch::channel(checkpoint(&db, projector.name()).await?);
            let (stuck_tx, stuck_rx) = watch::channel(None);
            followers.push(Follower { name: projector.name(), position: position_rx, stuck: stuck_rx });
            let observer = Observer { position: position_tx, stuck: stuck_tx };
            let run = run_projector(store.clone(), projector, options.clone(), observer, shutdown_rx.clone());
            tasks.push(tokio::spawn(run));
        }
        Ok(ProjectionHandle {
            inner: Arc::new(HandleInner { followers, shutdown: shutdown_tx, tasks: Mutex::new(tasks) }),
        })
    }
}

async fn run_projector(
    store: Arc<dyn EventStore>,
    projector: Arc<dyn Projector>,
    options: RuntimeOptions,
    observer: Observer,
    shutdown: watch::Receiver<bool>,
) {
    follow(store.as_ref(), projector.as_ref(), &options, observer, shutdown).await;
}

/// Passes a projector's position and stuck report to its handle.
struct Observer {
    position: watch::Sender<u64>,
    stuck: watch::Sender<Option<StuckProjector>>,
}

impl FollowObserver for Observer {
    fn position(&mut self, position: u64, _applied: bool) {
        self.position.send_replace(position);
    }

    fn stuck(&mut self, stuck: Option<&StuckProjector>) {
        self.stuck.send_replace(stuck.cloned());
    }
}

/// One projector as the handle sees it.
struct Follower {
    name: &'static str,
    position: watch::Receiver<u64>,
    stuck: watch::Receiver<Option<StuckProjector>>,
}

struct HandleInner {
    followers: Vec<Follower>,
    shutdown: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

/// The running projectors: their positions, stuck reports, read-your-writes waits, and
/// shutdown.
#[derive(Clone)]
pub struct ProjectionHandle {
    inner: Arc<HandleInner>,
}

impl ProjectionHandle {
    /// Each projector's last applied position, as this process knows it.
    pub fn positions(&self) -> Vec<(String, u64)> {
        self.inner.followers.iter().map(|f| (f.name.to_string(), *f.position.borrow())).collect()
    }

    /// The projectors of this process that cannot apply an event: which, at which log
    /// position, why, since when (what `/ready` reports). Empty when all are well.
    pub fn stuck(&self) -> Vec<StuckProjector> {
        self.inner.followers.iter().filter_map(|f| f.stuck.borrow().clone()).collect()
    }

    /// Waits until every projector has applied `position` (read-your-writes).
    pub async fn wait_for(&self, position: u64, timeout: Duration) -> Result<(), LagTimeout> {
        self.wait_for_projectors(&[], position, timeout).await
    }

    /// Waits until the named projectors (all when `names` is empty) have applied `position`.
    /// Gives up at once, with [`LagTimeout::stuck`] set, when one of them is stuck on an event
    /// at or before `position`: it will not get there by waiting.
    pub async fn wait_for_projectors(
        &self,
        names: &[&str],
        position: u64,
        timeout: Duration,
    ) -> Result<(), LagTimeout> {
        let selected: Vec<&Follower> =
            self.inner.followers.iter().filter(|f| names.is_empty() || names.contains(&f.name)).collect();
        let blocking = |f: &Follower| f.stuck.borrow().clone().filter(|s| s.position <= position);
        let lag = |stuck: Option<StuckProjector>| {
            let (slowest, reached) = selected
                .iter()
                .map(|f| (f.name.to_string(), *f.position.borrow()))
                .min_by_key(|(_, p)| *p)
                .unwrap_or_default();
            LagTimeout { wanted: position, slowest, reached, timeout, stuck }
        };
        if let Some(stuck) = selected.iter().find_map(|f| blocking(f)) {
            return Err(lag(Some(stuck)));
        }
        let all_reached = async {
            for follower in &selected {
                let mut rx = follower.position.clone();
                // An error means the projector's task ended; the timeout reports it.
                if rx.wait_for(|p| *p >= position).await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
        };
        if tokio::time::timeout(timeout, all_reached).await.is_ok() {
            return Ok(());
        }
        Err(lag(selected.iter().find_map(|f| blocking(f))))
    }

    /// Stops every projector after its batch in flight and waits for them.
    pub async fn shutdown(&self) {
        self.inner.shutdown.send_replace(true);
        let tasks = match self.inner.tasks.lock() {
            Ok(mut tasks) => std::mem::take(&mut *tasks),
            Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
        };
        for task in tasks {
            let _ = task.await;
        }
    }
}
