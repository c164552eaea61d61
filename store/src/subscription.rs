//! Following the log: catch up from a position in batches, then wait for the head to move
//! (woken by the store, with a poll as fallback) and continue. Because positions are gapless
//! and committed in order, "everything after my last position" is always the right question.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use futures::stream::{self, BoxStream, StreamExt};
use tokio::sync::watch;

use crate::{EventStore, RecordedEvent, StoreError, DEFAULT_POLL_INTERVAL};

/// How a subscription reads.
#[derive(Debug, Clone)]
pub struct SubscribeOptions {
    /// Events fetched per read.
    pub batch_size: usize,
    /// Longest wait for a wake-up before reading anyway.
    pub poll_interval: Duration,
}

impl Default for SubscribeOptions {
    fn default() -> Self {
        Self { batch_size: 1000, poll_interval: DEFAULT_POLL_INTERVAL }
    }
}

struct Cursor {
    store: Arc<dyn EventStore>,
    after: u64,
    buffer: VecDeque<RecordedEvent>,
    wake: watch::Receiver<u64>,
    options: SubscribeOptions,
    /// Read even if the watched head says there is nothing newer.
    poll_due: bool,
}

/// Every event after `after_position`, in order, forever. An error is yielded once and the
/// subscription then retries from where it was, so a passing database failure loses nothing.
pub fn subscribe(
    store: Arc<dyn EventStore>,
    after_position: u64,
    options: SubscribeOptions,
) -> BoxStream<'static, Result<RecordedEvent, StoreError>> {
    let wake = store.watch_head();
    let cursor = Cursor { store, after: after_position, buffer: VecDeque::new(), wake, options, poll_due: true };
    stream::unfold(cursor, |mut c| async move {
        loop {
            if let Some(event) = c.buffer.pop_front() {
                c.after = event.position;
                return Some((Ok(event), c));
            }
            // Mark the current head as seen before reading, so a commit landing after the read
            // still wakes us.
            let head = *c.wake.borrow_and_update();
            if c.after >= head && !std::mem::take(&mut c.poll_due) {
                // Nothing newer as far as this process has heard: wait to be woken instead of
                // asking. The poll after a quiet interval still finds what moves no watch here
                // (a write by another process on the same SQLite file).
                c.poll_due = tokio::time::timeout(c.options.poll_interval, c.wake.changed()).await.is_err();
                continue;
            }
            match c.store.read_all(c.after, c.options.batch_size).await {
                Ok(events) if !events.is_empty() => c.buffer.extend(events),
                Ok(_) => {
                    let _ = tokio::time::timeout(c.options.poll_interval, c.wake.changed()).await;
                }
                Err(e) => {
                    tokio::time::sleep(c.options.poll_interval).await;
                    return Some((Err(e), c));
                }
            }
        }
    })
    .boxed()
}
