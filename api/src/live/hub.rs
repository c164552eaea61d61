//! One tail of the log per process, fanned out to every WebSocket connection. Each replica runs
//! its own hub; since every replica reads the same gapless log, subscribers see the same events
//! whichever replica they are connected to.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use futures::StreamExt;
use reserver_projections::public_events::{publish, PublicEvent};
use reserver_store::{subscribe, EventStore, StoreError, SubscribeOptions};
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

use reserver_app::quota_meter::QuotaMeter;
use reserver_app::revocations::Revocations;

/// The live fan-out. Cheap to clone.
#[derive(Clone)]
pub struct LiveHub {
    sender: broadcast::Sender<Arc<PublicEvent>>,
    /// Last log position the hub has handed to the channel (or skipped as private).
    published: Arc<AtomicU64>,
}

/// A connection's live feed and the position it starts after.
pub struct LiveFeed {
    pub receiver: broadcast::Receiver<Arc<PublicEvent>>,
    /// Every event at or before this position may have been sent before the receiver existed;
    /// the connection reads those from the log. Every later one arrives on `receiver`.
    pub live_after: u64,
}

impl LiveHub {
    /// Starts tailing the log from its current head. `buffer` is how many events a connection
    /// may fall behind before it is cut off as a slow consumer.
    /// Every event also goes past `revocations`, so logouts reach every replica, and past
    /// `quotas`, so an admin's quota override does too.
    pub async fn start(
        store: Arc<dyn EventStore>,
        buffer: usize,
        revocations: Arc<Revocations>,
        quotas: Arc<QuotaMeter>,
    ) -> Result<(Self, JoinHandle<()>), StoreError> {
        let head = store.head().await?.position;
        let (sender, _) = broadcast::channel(buffer.max(1));
        let hub = Self { sender, published: Arc::new(AtomicU64::new(head)) };
        let tail = hub.clone();
        let task = tokio::spawn(async move {
            let mut events = subscribe(store, head, SubscribeOptions::default());
            while let Some(next) = events.next().await {
                match next {
                    Ok(event) => {
                        // Position first, then send: a connection that reads the position
                        // after subscribing either gets the event on its receiver or reads
                        // it from the log (and drops the duplicate by position).
                        revocations.observe(&event);
                        quotas.observe(&event);
                        tail.published.store(event.position, Ordering::SeqCst);
                        if let Some(public) = publish(&event) {
                            let _ = tail.sender.send(Arc::new(public));
                        }
                    }
                    Err(error) => tracing::warn!(%error, "live hub could not read the log; retrying"),
                }
            }
        });
        Ok((hub, task))
    }

    /// Subscribes a connection.
    pub fn feed(&self) -> LiveFeed {
        let receiver = self.sender.subscribe();
        let live_after = self.published.load(Ordering::SeqCst);
        LiveFeed { receiver, live_after }
    }

    /// Connections currently subscribed.
    pub fn subscribers(&self) -> usize {
        self.sender.receiver_count()
    }
}
