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
}

/// Every event after `after_position`, in order, forever. An error is yielded once and the
/// subscription then retries from where it was, so a passing database failure loses nothing.
pub fn subscribe(
    store: Arc<dyn EventStore>,
    after_position: u64,
    options: SubscribeOptions,
) -> BoxStream<'static, Result<RecordedEvent, StoreError>> {
    let wake = store.watch_head();
    let cursor = Cursor { store, after: after_position, buffer: VecDeque::new(), wake, options };
    stream::unfold(cursor, |mut c| async move {
        loop {
            if let Some(event) = c.buffer.pop_front() {
                c.after = event.position;
                return Some((Ok(event), c));
            }
            // Mark the current head as seen before reading, so a commit landing after the read
            // still wakes us.
            let _ = c.wake.borrow_and_update();
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
