//! Sending the outbox through SMTP (`lettre`). Workers claim due rows with a lease — on
//! PostgreSQL with `FOR UPDATE SKIP LOCKED`, so replicas never take the same row at once —
//! send, and mark them sent; a failure is retried with exponential backoff, and after
//! [`MAX_ATTEMPTS`] the row is marked failed with its last error.

use std::time::Duration;

use chrono::{DateTime, Utc};
use lettre::message::{header::ContentType, Mailbox};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use reserver_projections::decode::micros;
use reserver_projections::sql::{backend_of, execute, execute_returning, Value};
use reserver_projections::ProjectionError;
use reserver_store::{Backend, Database};

/// Attempts before a row is given up as failed.
pub const MAX_ATTEMPTS: i64 = 8;
/// How long a claimed row is reserved for the worker that claimed it.
const LEASE: chrono::Duration = chrono::Duration::seconds(60);
/// Rows claimed per pass.
const CLAIM: i64 = 20;

/// `SMTP_*` settings, as the seed names them.
#[derive(Debug, Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub user: Option<String>,
    pub password: Option<String>,
    pub from: String,
    pub from_name: String,
    /// STARTTLS required (`SMTP_TLS`).
    pub starttls: bool,
    /// TLS from the first byte (`SMTP_SSL`).
    pub implicit_tls: bool,
    /// First retry delay; doubles per attempt.
    pub retry_base: Duration,
}

/// The transport these settings describe.
pub fn transport(settings: &SmtpSettings) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    let tls = if settings.implicit_tls || settings.starttls {
        let parameters = TlsParameters::new(settings.host.clone()).map_err(|e| e.to_string())?;
        if settings.implicit_tls {
            Tls::Wrapper(parameters)
        } else {
            Tls::Required(parameters)
        }
    } else {
        Tls::None
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&settings.host)
        .port(settings.port)
        .tls(tls)
        .timeout(Some(Duration::from_secs(20)));
    if let (Some(user), Some(password)) = (&settings.user, &settings.password) {
        builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
    }
    Ok(builder.build())
}

/// A row claimed for sending.
#[derive(Debug)]
pub struct ClaimedMail {
    pub mail_id: String,
    pub address: String,
    pub subject: String,
    pub body: String,
    pub attempts: i64,
}

/// Claims up to [`CLAIM`] due rows for this worker.
pub async fn claim(db: &Database, now: DateTime<Utc>) -> Result<Vec<ClaimedMail>, ProjectionError> {
    let lock = match backend_of(db) {
        Backend::Postgres => "FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let sql = format!(
        "UPDATE mail_outbox SET leased_until = $2 WHERE mail_id IN (SELECT mail_id FROM mail_outbox \
         WHERE status = 'pending' AND next_attempt_at <= $1 AND (leased_until IS NULL OR leased_until <= $1) \
         ORDER BY next_attempt_at, position LIMIT $3 {lock}) \
         RETURNING mail_id, address, subject, body, attempts"
    );
    let rows =
        execute_returning(db, &sql, &[Value::Int(micros(now)), Value::Int(micros(now + LEASE)), Value::Int(CLAIM)])
            .await?;
    rows.into_iter()
        .map(|row| {
            Ok(ClaimedMail {
                mail_id: row.text(0)?,
                address: row.text(1)?,
                subject: row.text(2)?,
                body: row.text(3)?,
                attempts: row.int(4)?,
            })
        })
        .collect()
}

/// Sends one claimed row and records the outcome.
pub async fn deliver(
    db: &Database,
    smtp: &AsyncSmtpTransport<Tokio1Executor>,
    settings: &SmtpSettings,
    mail: &ClaimedMail,
    now: impl Fn() -> DateTime<Utc>,
) -> Result<(), ProjectionError> {
    match send(smtp, settings, mail).await {
        Ok(()) => {
            execute(
                db,
                "UPDATE mail_outbox SET status = 'sent', sent_at = $2, attempts = attempts + 1, leased_until = NULL, \
                 last_error = NULL WHERE mail_id = $1",
                &[mail.mail_id.clone().into(), Value::Int(micros(now()))],
            )
            .await?;
        }
        Err(error) => {
            let attempts = mail.attempts + 1;
            let status = if attempts >= MAX_ATTEMPTS { "failed" } else { "pending" };
            let delay = settings.retry_base.saturating_mul(1 << attempts.clamp(0, 16) as u32);
            let next = now() + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::hours(1));
            tracing::warn!(mail_id = %mail.mail_id, attempts, %error, "email not sent");
            execute(
                db,
                "UPDATE mail_outbox SET status = $2, attempts = $3, next_attempt_at = $4, leased_until = NULL, \
                 last_error = $5 WHERE mail_id = $1",
                &[
                    mail.mail_id.clone().into(),
                    status.into(),
                    Value::Int(attempts),
                    Value::Int(micros(next)),
                    error.into(),
                ],
            )
            .await?;
        }
    }
    Ok(())
}

async fn send(
    smtp: &AsyncSmtpTransport<Tokio1Executor>,
    settings: &SmtpSettings,
    mail: &ClaimedMail,
) -> Result<(), String> {
    let from: Mailbox =
        format!("{} <{}>", settings.from_name, settings.from).parse().map_err(|e| format!("SMTP_FROM: {e}"))?;
    let to: Mailbox = mail.address.parse().map_err(|e| format!("address {}: {e}", mail.address))?;
    let message = Message::builder()
        .from(from)
        .to(to)
        .subject(mail.subject.clone())
        .header(ContentType::TEXT_PLAIN)
        .body(mail.body.clone())
        .map_err(|e| e.to_string())?;
    smtp.send(message).await.map(|_| ()).map_err(|e| e.to_string())
}
