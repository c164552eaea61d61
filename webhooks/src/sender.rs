//! One attempt: sign the delivery's body, POST it to the subscription's current URL, and
//! describe what happened. Any 2xx answer is success; anything else — another status, a
//! timeout, a refused address, a connection error — is a failed attempt.

use std::time::Instant;

use chrono::{DateTime, Utc};
use reqwest::header::CONTENT_TYPE;
use reserver_projections::sql::fetch_all;
use reserver_store::Database;

use crate::deliveries::{AttemptRecord, Claimed};
use crate::error::WebhookError;
use crate::guard::{check_literal, parse_target, GuardedResolver};
use crate::secrets::signing_secrets;
use crate::settings::WebhookSettings;
use crate::signing::{signature_header, HEADER_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP};
use crate::subscription::Subscription;

/// Installs the process's TLS crypto provider (ring) if none is installed yet. Every HTTP client
/// in the process needs one; calling this again is harmless.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// How much of an endpoint's answer is kept with the attempt.
pub const RESPONSE_EXCERPT_BYTES: usize = 1024;
const AGENT: &str = concat!("Resource-Reserver-Webhooks/", env!("CARGO_PKG_VERSION"));

/// The HTTP client of the workers: the guarded resolver (unless private targets are allowed),
/// no redirects (a 3xx is an answer, not an invitation to go elsewhere), the attempt timeout.
pub fn client(settings: &WebhookSettings) -> Result<reqwest::Client, reqwest::Error> {
    install_crypto_provider();
    let mut builder = reqwest::Client::builder()
        .timeout(settings.timeout)
        .connect_timeout(settings.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(AGENT);
    if !settings.allow_private {
        builder = builder.dns_resolver(GuardedResolver);
    }
    builder.build()
}

/// The subscription as the planner last stored it (its current URL).
async fn subscription(db: &Database, claimed: &Claimed) -> Result<Option<Subscription>, WebhookError> {
    let rows = fetch_all(
        db,
        "SELECT doc FROM webhook_subscriptions WHERE subscription_id = $1",
        &[claimed.subscription_id.to_string().into()],
    )
    .await?;
    match rows.first() {
        Some(row) => Ok(Some(serde_json::from_str(&row.text(0)?)?)),
        None => Ok(None),
    }
}

fn failure(attempted_at: DateTime<Utc>, started: Instant, error: String) -> AttemptRecord {
    AttemptRecord {
        attempted_at,
        status_code: None,
        latency_ms: started.elapsed().as_millis() as u64,
        error: Some(error),
        response_body: None,
    }
}

/// An error with its causes: reqwest's own message rarely says what went wrong.
fn describe(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Makes one attempt; true when the endpoint answered 2xx.
pub async fn attempt(
    client: &reqwest::Client,
    settings: &WebhookSettings,
    db: &Database,
    claimed: &Claimed,
) -> Result<(AttemptRecord, bool), WebhookError> {
    let attempted_at = Utc::now();
    let started = Instant::now();
    let Some(subscription) = subscription(db, claimed).await? else {
        return Ok((failure(attempted_at, started, "the subscription no longer exists".into()), false));
    };
    let url = match parse_target(&subscription.url)
        .and_then(|url| check_literal(&url, settings.allow_private).map(|_| url))
    {
        Ok(url) => url,
        Err(refused) => return Ok((failure(attempted_at, started, format!("target refused: {refused}")), false)),
    };
    let secrets = signing_secrets(db, claimed.subscription_id, attempted_at).await?;
    if secrets.is_empty() {
        return Ok((failure(attempted_at, started, "the subscription has no signing secret".into()), false));
    }
    let id = claimed.delivery_id.to_string();
    let timestamp = attempted_at.timestamp();
    let signatures = signature_header(&secrets.iter().collect::<Vec<_>>(), &id, timestamp, claimed.body.as_bytes());
    let sent = client
        .post(url)
        .header(CONTENT_TYPE, "application/json")
        .header(HEADER_ID, &id)
        .header(HEADER_TIMESTAMP, timestamp.to_string())
        .header(HEADER_SIGNATURE, signatures)
        .body(claimed.body.clone())
        .send()
        .await;
    let mut response = match sent {
        Ok(response) => response,
        Err(error) => {
            let message = if error.is_timeout() {
                format!("timed out after {} ms", settings.timeout.as_millis())
            } else {
                describe(&error)
            };
            return Ok((failure(attempted_at, started, message), false));
        }
    };
    let status = response.status();
    // Only the start of the answer is kept; the rest is not read.
    let mut excerpt = Vec::new();
    let mut error = None;
    while excerpt.len() < RESPONSE_EXCERPT_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => excerpt.extend_from_slice(&chunk),
            Ok(None) => break,
            Err(e) => {
                error = Some(format!("reading the answer: {}", describe(&e)));
                break;
            }
        }
    }
    excerpt.truncate(RESPONSE_EXCERPT_BYTES);
    let record = AttemptRecord {
        attempted_at,
        status_code: Some(status.as_u16()),
        latency_ms: started.elapsed().as_millis() as u64,
        error,
        response_body: Some(String::from_utf8_lossy(&excerpt).into_owned()),
    };
    Ok((record, status.is_success()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The client speaks TLS: an `https` request to a plain-TCP listener fails in the TLS
    /// handshake (not for want of a TLS stack or crypto provider).
    #[tokio::test]
    async fn https_targets_get_a_tls_handshake() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                use tokio::io::AsyncWriteExt;
                let _ = socket.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").await;
            }
        });
        let settings = WebhookSettings { allow_private: true, ..WebhookSettings::default() };
        let error = client(&settings)
            .expect("client")
            .post(format!("https://127.0.0.1:{port}/hook"))
            .send()
            .await
            .expect_err("not a TLS server");
        assert!(error.is_connect(), "{error:?}");
    }
}
