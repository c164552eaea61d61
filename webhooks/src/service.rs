//! The running webhook machinery of one process: the planner task (follows the log with its
//! own checkpoint) and the worker task (sends due deliveries). Every replica runs both; the
//! planner's checkpoint lock and the workers' leases keep them from doing anything twice.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use reserver_projections::runtime::{ensure_checkpoint, follow, RuntimeOptions};
use reserver_store::EventStore;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use crate::error::WebhookError;
use crate::planner::{WebhookPlanner, PLANNER};
use crate::settings::WebhookSettings;
use crate::worker::{self, WorkerContext};

/// Events the planner reads per batch.
const PLANNER_BATCH: usize = 500;

struct Inner {
    store: Arc<dyn EventStore>,
    settings: WebhookSettings,
    wake: Arc<Notify>,
    planner_position: watch::Receiver<u64>,
    shutdown: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

/// Handle on the planner and the worker: wake-ups, read-your-writes on the planner's table,
/// shutdown. Cheap to clone.
#[derive(Clone)]
pub struct WebhookService {
    inner: Arc<Inner>,
}

impl WebhookService {
    /// Starts the planner and the worker.
    pub async fn start(store: Arc<dyn EventStore>, settings: WebhookSettings) -> Result<Self, WebhookError> {
        let db = store.database();
        ensure_checkpoint(&db, PLANNER).await?;
        let client = crate::sender::client(&settings)
            .map_err(|e| WebhookError::Corrupt(format!("cannot build the webhook HTTP client: {e}")))?;
        let position = reserver_projections::runtime::checkpoint(&db, PLANNER).await?;
        let (position_tx, planner_position) = watch::channel(position);
        let (shutdown, shutdown_rx) = watch::channel(false);
        let wake = Arc::new(Notify::new());
        let planner = WebhookPlanner { max_age: settings.retry.max_age };
        let context =
            Arc::new(WorkerContext { store: store.clone(), settings: settings.clone(), client, wake: wake.clone() });
        let tasks = vec![
            tokio::spawn(run_planner(store.clone(), planner, position_tx, wake.clone(), shutdown_rx.clone())),
            tokio::spawn(worker::run(context, shutdown_rx)),
        ];
        Ok(Self {
            inner: Arc::new(Inner { store, settings, wake, planner_position, shutdown, tasks: Mutex::new(tasks) }),
        })
    }

    pub fn settings(&self) -> &WebhookSettings {
        &self.inner.settings
    }

    pub fn store(&self) -> &Arc<dyn EventStore> {
        &self.inner.store
    }

    /// Tells the worker that deliveries were queued.
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    /// Waits until the planner (of this process, or the replica holding it) has applied
    /// `position`; false on timeout.
    pub async fn wait_for_planner(&self, position: u64, timeout: Duration) -> bool {
        let mut rx = self.inner.planner_position.clone();
        let reached = matches!(tokio::time::timeout(timeout, rx.wait_for(|p| *p >= position)).await, Ok(Ok(_)));
        reached
    }

    /// Stops planning and claiming, and waits for attempts in flight (bounded by the timeout).
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

/// Follows the log: applies the planner batch by batch, waking the worker after each.
async fn run_planner(
    store: Arc<dyn EventStore>,
    planner: WebhookPlanner,
    position: watch::Sender<u64>,
    wake_worker: Arc<Notify>,
    shutdown: watch::Receiver<bool>,
) {
    let options = RuntimeOptions { batch_size: PLANNER_BATCH, ..RuntimeOptions::default() };
    let on_position = |p, applied| {
        position.send_replace(p);
        if applied {
            wake_worker.notify_one();
        }
    };
    follow(store.as_ref(), &planner, &options, on_position, shutdown).await;
}
