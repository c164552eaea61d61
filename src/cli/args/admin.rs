//! Flags of the administration commands: webhooks, audit, analytics, OAuth clients, roles,
//! users, quotas.

use clap::{Args, Subcommand};
use uuid::Uuid;

use super::catalog::PageArgs;

#[derive(Debug, Subcommand)]
pub enum WebhooksCommand {
    /// Every endpoint.
    List,
    /// Add an endpoint; its signing secret is shown once.
    #[command(
        after_help = "Example:\n  reserver webhooks create https://hooks.example.com/reserver --events 'reservation.*'"
    )]
    Create {
        url: String,
        /// Event types or patterns (comma-separated), e.g. reservation.*.
        #[arg(long, value_delimiter = ',', required = true)]
        events: Vec<String>,
        #[arg(long)]
        description: Option<String>,
    },
    /// Send a webhook.test ping.
    Test { id: Uuid },
    /// Deliveries with their attempts, newest first.
    Deliveries {
        id: Uuid,
        /// pending, delivered, failed, …
        #[arg(long)]
        status: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Send a delivery again.
    Redeliver { id: Uuid, delivery: Uuid },
    /// A new signing secret; the previous one keeps signing for a while.
    RotateSecret { id: Uuid },
}

/// Filters of the audit trail.
#[derive(Debug, Args)]
pub struct AuditFilterArgs {
    /// Who acted (user id).
    #[arg(long)]
    pub actor: Option<String>,
    /// What happened, e.g. reservation_cancelled.
    #[arg(long)]
    pub action: Option<String>,
    /// Concerning this resource (name or id).
    #[arg(long)]
    pub resource: Option<String>,
    /// From this time (e.g. "yesterday", "2026-11-01").
    #[arg(long)]
    pub from: Option<String>,
    /// Until this time.
    #[arg(long)]
    pub to: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Audit entries, newest last.
    List {
        #[command(flatten)]
        filter: AuditFilterArgs,
        #[command(flatten)]
        page: PageArgs,
    },
    /// The whole filtered trail as the server's CSV (or JSON).
    Export {
        #[command(flatten)]
        filter: AuditFilterArgs,
        /// JSON instead of CSV.
        #[arg(long)]
        json: bool,
        /// Write here instead of standard output.
        #[arg(long)]
        file: Option<std::path::PathBuf>,
    },
}

/// The analytics window.
#[derive(Debug, Args)]
pub struct WindowArgs {
    /// The last N days.
    #[arg(long, default_value_t = 30)]
    pub days: u32,
    /// Only this resource (name or id).
    #[arg(long)]
    pub resource: Option<String>,
    /// The server's CSV export instead of a table.
    #[arg(long)]
    pub csv: bool,
}

#[derive(Debug, Subcommand)]
pub enum AnalyticsCommand {
    /// Booked and open minutes per resource and day.
    Utilization(WindowArgs),
    /// The busiest hours of the week.
    Peaks(WindowArgs),
}

#[derive(Debug, Subcommand)]
pub enum OauthCommand {
    /// OAuth2 client-credentials clients.
    #[command(subcommand)]
    Clients(OauthClientsCommand),
    /// The same as `oauth clients list`.
    List,
}

#[derive(Debug, Subcommand)]
pub enum OauthClientsCommand {
    /// Every client.
    List,
    /// Register a client; its secret is shown once.
    #[command(
        after_help = "Example:\n  reserver oauth clients create door-display --scopes resources:read,reservations:read"
    )]
    Create {
        name: String,
        /// Scopes (comma-separated), e.g. resources:read,reservations:write.
        #[arg(long, value_delimiter = ',')]
        scopes: Vec<String>,
    },
    /// A new secret; the old one stops working.
    Rotate { id: String },
    /// Disable a client.
    Disable { id: String },
}

#[derive(Debug, Subcommand)]
pub enum RolesCommand {
    /// Every role with what it may do.
    List,
}

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Every account.
    List,
    /// Change an account's role (effective from its next token).
    SetRole {
        /// Username or id.
        user: String,
        /// admin, approver, auditor, user or guest.
        role: String,
    },
    /// Lift a lock on an account.
    Unlock {
        /// Username or id.
        user: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum QuotasCommand {
    /// Your API usage against your quota, or an account's (admins).
    Show {
        /// Username or id.
        #[arg(long)]
        user: Option<String>,
    },
    /// Give an account its own daily limit, or put it back on its tier's (admins).
    #[command(group(clap::ArgGroup::new("limit").required(true).args(["daily", "default"])))]
    Set {
        /// Username or id.
        user: String,
        /// Requests per UTC day (0: unlimited).
        #[arg(long)]
        daily: Option<u64>,
        /// Back to the tier's default.
        #[arg(long)]
        default: bool,
    },
}
