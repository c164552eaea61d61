//! Live events over the WebSocket `/ws`: from a log position (everything after it, then live),
//! filtered by event type and resource. The first frame is `connected` (with the log's head);
//! every event after it carries its log position, so a reconnect with the last one misses
//! nothing. The server closes with 4008 (fell behind), 4001 (token expired) or 4002 (silent).

use chrono::{DateTime, Utc};
use futures::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use uuid::Uuid;

use crate::error::Error;
use crate::http::Client;

/// What to subscribe to.
#[derive(Debug, Clone, Default)]
pub struct LiveOptions {
    /// Replay everything after this position first; live from now when `None`.
    pub from_position: Option<u64>,
    /// Socket event names (`reservation_created`, …); all when empty.
    pub types: Vec<String>,
    pub resource_id: Option<Uuid>,
}

/// One event of the log as the socket sends it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LiveEvent {
    /// Socket name, e.g. `reservation_created`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Dotted name webhooks use, e.g. `reservation.created`.
    #[serde(default)]
    pub event: String,
    pub position: u64,
    #[serde(default)]
    pub event_id: Option<Uuid>,
    #[serde(default)]
    pub timestamp: Option<DateTime<Utc>>,
    #[serde(default)]
    pub data: Value,
}

/// A frame of the subscription.
#[derive(Debug, Clone)]
pub enum Frame {
    /// The greeting: where the replay starts and the log's head at connection time.
    Connected {
        from_position: u64,
        head: u64,
    },
    Event(LiveEvent),
    /// The server closed the socket.
    Closed {
        code: u16,
        reason: String,
    },
}

/// An open subscription.
pub struct Subscription {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Client {
    /// Opens `/ws` with the current access token (refreshed first if it is about to expire).
    pub async fn subscribe(&self, options: &LiveOptions) -> Result<Subscription, Error> {
        let token = self.access_token().await?;
        let base = self.base_url();
        let ws_base = if let Some(rest) = base.strip_prefix("https://") {
            format!("wss://{rest}")
        } else {
            format!("ws://{}", base.trim_start_matches("http://"))
        };
        let mut url = reqwest::Url::parse(&format!("{ws_base}/ws")).map_err(|e| Error::Invalid(e.to_string()))?;
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("token", &token);
            if let Some(from) = options.from_position {
                query.append_pair("from_position", &from.to_string());
            }
            if !options.types.is_empty() {
                query.append_pair("types", &options.types.join(","));
            }
            if let Some(resource) = options.resource_id {
                query.append_pair("resource_id", &resource.to_string());
            }
        }
        match tokio_tungstenite::connect_async(url.as_str()).await {
            Ok((socket, _)) => Ok(Subscription { socket }),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                let status = response.status().as_u16();
                let body = response.body().as_deref().map(String::from_utf8_lossy).unwrap_or_default().into_owned();
                let problem = serde_json::from_str(&body).unwrap_or_else(|_| {
                    crate::Problem::from_status(status, response.status().canonical_reason().unwrap_or_default(), &body)
                });
                Err(Error::Problem(Box::new(problem)))
            }
            Err(e) => Err(Error::Live(format!("cannot connect to {base}/ws: {e}"))),
        }
    }
}

impl Subscription {
    /// The next frame; `None` once the socket is gone.
    pub async fn next(&mut self) -> Option<Result<Frame, Error>> {
        loop {
            let message = match self.socket.next().await? {
                Ok(message) => message,
                Err(e) => return Some(Err(Error::Live(e.to_string()))),
            };
            match message {
                Message::Text(text) => return Some(parse(&text)),
                Message::Close(close) => {
                    let (code, reason) =
                        close.map(|c| (u16::from(c.code), c.reason.to_string())).unwrap_or((1005, String::new()));
                    return Some(Ok(Frame::Closed { code, reason }));
                }
                // tungstenite answers pings itself.
                _ => continue,
            }
        }
    }

    /// Closes the socket politely.
    pub async fn close(mut self) {
        let _ = self.socket.close(None).await;
        let _ = self.socket.flush().await;
    }
}

fn parse(text: &str) -> Result<Frame, Error> {
    let value: Value = serde_json::from_str(text).map_err(|e| Error::Live(format!("bad frame: {e}")))?;
    if value["type"] == "connected" {
        return Ok(Frame::Connected {
            from_position: value["from_position"].as_u64().unwrap_or_default(),
            head: value["head"].as_u64().unwrap_or_default(),
        });
    }
    serde_json::from_value(value).map(Frame::Event).map_err(|e| Error::Live(format!("bad event frame: {e}")))
}
