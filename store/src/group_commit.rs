//! Group commit: appends that arrive while a transaction is in flight queue up and are written
//! together by the next one, so many appends share one fsync. Each is still answered alone.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::{mpsc, oneshot, watch};

use crate::batch::{validate, EventRow};
use crate::recent::{RecentEvents, RECENT_CAPACITY};
use crate::{AppendError, AppendOutcome, AppendRequest, StoreError};

/// How appends are grouped into transactions.
#[derive(Debug, Clone)]
pub struct GroupCommitConfig {
    /// Most appends written by one transaction; 1 turns group commit off.
    pub max_batch: usize,
    /// Fault injection for tests: every Nth transaction sleeps this long before it commits,
    /// holding the log lock, to prove a reader never skips an event that commits late.
    pub slow_commit: Option<(u64, Duration)>,
}

impl Default for GroupCommitConfig {
    fn default() -> Self {
        Self { max_batch: 512, slow_commit: None }
    }
}

/// A backend's way of writing one batch in one transaction.
#[async_trait]
pub(crate) trait BatchWriter: Send + 'static {
    /// Writes the batch atomically and answers each request, returning also the rows it
    /// committed. An `Err` means the transaction failed as a whole and nothing was written.
    async fn write_batch(
        &mut self,
        requests: &[AppendRequest],
        commit_delay: Option<Duration>,
    ) -> Result<Written, StoreError>;
}

/// A committed batch: each request's answer and the event rows written.
pub(crate) struct Written {
    pub results: Vec<Result<AppendOutcome, AppendError>>,
    pub rows: Vec<EventRow>,
}

type Reply = oneshot::Sender<Result<AppendOutcome, AppendError>>;

/// The sending half used by the store; the writer task owns the database connection.
#[derive(Clone)]
pub(crate) struct GroupCommitter {
    queue: mpsc::Sender<(AppendRequest, Reply)>,
    recent: Arc<RecentEvents>,
}

impl GroupCommitter {
    /// Starts the writer task. `head` is told the newest position after every commit.
    pub fn spawn<W: BatchWriter>(writer: W, config: GroupCommitConfig, head: Arc<watch::Sender<u64>>) -> Self {
        let (queue, rx) = mpsc::channel(config.max_batch.max(1) * 4);
        let recent = Arc::new(RecentEvents::new(RECENT_CAPACITY));
        tokio::spawn(run_writer(writer, config, rx, head, recent.clone()));
        Self { queue, recent }
    }

    /// The events after `after` from the in-memory run of this process's commits, if it can
    /// answer (see [`RecentEvents::after`]).
    pub fn recent_after(&self, after: u64, limit: usize) -> Option<Vec<crate::RecordedEvent>> {
        self.recent.after(after, limit)
    }

    pub async fn append(&self, request: AppendRequest) -> Result<AppendOutcome, AppendError> {
        validate(&request)?;
        let (reply, answer) = oneshot::channel();
        self.queue.send((request, reply)).await.map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }
}

async fn run_writer<W: BatchWriter>(
    mut writer: W,
    config: GroupCommitConfig,
    mut rx: mpsc::Receiver<(AppendRequest, Reply)>,
    head: Arc<watch::Sender<u64>>,
    recent: Arc<RecentEvents>,
) {
    let max_batch = config.max_batch.max(1);
    let mut batches: u64 = 0;
    let mut jobs = Vec::with_capacity(max_batch);
    while rx.recv_many(&mut jobs, max_batch).await > 0 {
        batches += 1;
        let delay = config.slow_commit.and_then(|(every, d)| batches.is_multiple_of(every.max(1)).then_some(d));
        let (requests, replies): (Vec<_>, Vec<_>) = jobs.drain(..).unzip();
        metrics::histogram!("event_log_append_batch_size").record(requests.len() as f64);
        let Written { results, rows } = write_isolating_failures(&mut writer, &requests, delay).await;
        // Before the head moves: a follower woken by it finds the batch in memory.
        recent.committed(rows);
        let newest = results.iter().filter_map(|r| r.as_ref().ok()).map(|o| o.last_position()).max();
        if let Some(position) = newest {
            advance_head(&head, position);
        }
        for (reply, result) in replies.into_iter().zip(results) {
            // The caller may have gone away; its append stands regardless.
            let _ = reply.send(result);
        }
    }
}

/// Writes the batch; if the transaction fails as a whole, writes each request on its own so a
/// request that upsets the database fails alone instead of taking its batch with it.
async fn write_isolating_failures<W: BatchWriter>(
    writer: &mut W,
    requests: &[AppendRequest],
    delay: Option<Duration>,
) -> Written {
    match writer.write_batch(requests, delay).await {
        Ok(written) => written,
        Err(e) if requests.len() == 1 => Written { results: vec![Err(e.into())], rows: Vec::new() },
        // Not caused by any one request (a lost connection, a timeout): each fails at once.
        Err(e) if e.is_connection_failure() => {
            tracing::warn!(error = %e, size = requests.len(), "batch failed: the database is unavailable");
            let results = requests.iter().map(|_| Err(StoreError::Unavailable(e.to_string()).into())).collect();
            Written { results, rows: Vec::new() }
        }
        Err(e) => {
            tracing::warn!(error = %e, size = requests.len(), "batch failed; retrying its appends one by one");
            let mut all = Written { results: Vec::with_capacity(requests.len()), rows: Vec::new() };
            for request in requests.chunks(1) {
                match writer.write_batch(request, None).await {
                    Ok(mut w) => {
                        all.results.push(w.results.pop().unwrap_or(Err(AppendError::Store(StoreError::Closed))));
                        all.rows.append(&mut w.rows);
                    }
                    Err(e) => all.results.push(Err(e.into())),
                }
            }
            all
        }
    }
}

/// Moves the watched head forward (never back) and wakes its watchers if it moved.
pub(crate) fn advance_head(head: &watch::Sender<u64>, position: u64) {
    head.send_if_modified(|h| {
        let newer = position > *h;
        *h = (*h).max(position);
        newer
    });
}
