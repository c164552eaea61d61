//! `reserver serve` flags and environment for live connections (`WS_*`) and for reminders and
//! email (`EMAIL_ENABLED`, `SMTP_*` as the seed names them, `REMINDER_DEFAULT_MINUTES`).

use clap::Args;

#[derive(Debug, Args)]
pub struct LiveArgs {
    /// Events a WebSocket subscriber may fall behind before it is closed (code 4008).
    #[arg(long, env = "WS_BUFFER_EVENTS", default_value_t = 1024)]
    ws_buffer_events: usize,
    /// Milliseconds between WebSocket pings; a client silent for two intervals is closed.
    #[arg(long, env = "WS_HEARTBEAT_MS", default_value_t = 20_000)]
    ws_heartbeat_ms: u64,
    /// Milliseconds one WebSocket frame may wait for a client that does not read.
    #[arg(long, env = "WS_SEND_TIMEOUT_MS", default_value_t = 10_000)]
    ws_send_timeout_ms: u64,
    /// Live connections one user may hold at once.
    #[arg(long, env = "WS_MAX_CONNECTIONS_PER_USER", default_value_t = 16)]
    ws_max_connections_per_user: usize,
}

impl LiveArgs {
    pub fn settings(&self) -> reserver_api::live::LiveSettings {
        reserver_api::live::LiveSettings {
            buffer_events: self.ws_buffer_events.clamp(1, 1 << 20),
            heartbeat: std::time::Duration::from_millis(self.ws_heartbeat_ms.max(10)),
            send_timeout: std::time::Duration::from_millis(self.ws_send_timeout_ms.max(10)),
            max_per_user: self.ws_max_connections_per_user.max(1),
        }
    }
}

#[derive(Debug, Args)]
pub struct MailArgs {
    /// Send email (confirmations, reminders, …) through SMTP.
    #[arg(long, env = "EMAIL_ENABLED", default_value_t = false, action = clap::ArgAction::Set)]
    email_enabled: bool,
    #[arg(long, env = "SMTP_HOST", default_value = "localhost")]
    smtp_host: String,
    #[arg(long, env = "SMTP_PORT", default_value_t = 587)]
    smtp_port: u16,
    #[arg(long, env = "SMTP_USER")]
    smtp_user: Option<String>,
    #[arg(long, env = "SMTP_PASSWORD", hide_env_values = true)]
    smtp_password: Option<String>,
    #[arg(long, env = "SMTP_FROM", default_value = "noreply@resource-reserver.local")]
    smtp_from: String,
    #[arg(long, env = "SMTP_FROM_NAME", default_value = "Resource Reserver")]
    smtp_from_name: String,
    /// Require STARTTLS.
    #[arg(long, env = "SMTP_TLS", default_value_t = true, action = clap::ArgAction::Set)]
    smtp_tls: bool,
    /// TLS from the first byte (port 465).
    #[arg(long, env = "SMTP_SSL", default_value_t = false, action = clap::ArgAction::Set)]
    smtp_ssl: bool,
    /// Minutes before start a reminder goes out, for accounts without a preference (0: none).
    #[arg(long, env = "REMINDER_DEFAULT_MINUTES", default_value_t = 60)]
    reminder_default_minutes: i64,
    /// Milliseconds between passes of the reminder and email loops.
    #[arg(long, env = "MAIL_POLL_MS", default_value_t = 2000)]
    mail_poll_ms: u64,
}

impl MailArgs {
    pub fn settings(self) -> reserver_mailer::MailSettings {
        reserver_mailer::MailSettings {
            smtp: self.email_enabled.then(|| reserver_mailer::SmtpSettings {
                host: self.smtp_host,
                port: self.smtp_port,
                user: self.smtp_user.filter(|u| !u.is_empty()),
                password: self.smtp_password.filter(|p| !p.is_empty()),
                from: self.smtp_from,
                from_name: self.smtp_from_name,
                starttls: self.smtp_tls,
                implicit_tls: self.smtp_ssl,
                retry_base: std::time::Duration::from_secs(5),
            }),
            default_reminder_minutes: self.reminder_default_minutes.clamp(0, 7 * 24 * 60),
            poll: std::time::Duration::from_millis(self.mail_poll_ms.max(10)),
        }
    }
}
