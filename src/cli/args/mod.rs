//! Every clap type of the `reserver` command line: the server commands and the client
//! commands (`reserver <noun> <verb>`), which call only the public REST API. `completions` and
//! `man` generate from this tree.

use clap::{Args, Parser, Subcommand, ValueEnum};

pub mod account;
pub mod admin;
pub mod booking;
pub mod catalog;
pub mod outward;
pub mod server;
pub mod webhooks;

pub use account::*;
pub use admin::*;
pub use booking::*;
pub use catalog::*;
pub use server::*;

const AFTER_HELP: &str = "\
Server:  reserver serve · migrate · events verify · projections · bench
Client:  reserver login, then e.g.
  reserver resources list --tags lab
  reserver book \"Lab 3\" \"tomorrow 9:00\" --for 1h
  reserver reservations list --upcoming
Exit codes: 0 ok, 1 error, 2 usage, 3 not found, 4 refused (booking conflict), 5 not logged in or not allowed.";

#[derive(Debug, Parser)]
#[command(
    name = "reserver",
    version,
    about = "Resource Reserver: share rooms, desks, equipment and labs without double-booking",
    after_help = AFTER_HELP
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Options of every client command.
#[derive(Debug, Args)]
#[command(next_help_heading = "Client options")]
pub struct GlobalArgs {
    /// Server URL [default: the profile's, else http://127.0.0.1:8000; API_URL is read too].
    #[arg(long, env = "RESERVER_URL", global = true)]
    pub url: Option<String>,
    /// Named profile in the config directory (server URL, zone, tokens).
    #[arg(long, env = "RESERVER_PROFILE", global = true)]
    pub profile: Option<String>,
    /// Output format [default: table on a terminal, tsv when piped].
    #[arg(long, short = 'o', value_enum, global = true)]
    pub output: Option<Format>,
    /// Time zone for reading and showing times (IANA, e.g. Europe/Berlin) [default: this
    /// computer's zone; a resource's own zone where one resource is concerned].
    #[arg(long, env = "RESERVER_TZ", global = true)]
    pub tz: Option<String>,
    /// No colour (also when NO_COLOR is set or output is not a terminal).
    #[arg(long, global = true)]
    pub no_color: bool,
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns for people.
    Table,
    /// Tab-separated values, no header (for `cut`, `awk`, `while read`).
    Tsv,
    /// RFC 4180 CSV with a header.
    Csv,
    /// The server's JSON.
    Json,
    /// The server's JSON as YAML.
    Yaml,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP service (migrates the database first).
    Serve(Box<ServeArgs>),
    /// Apply database migrations and exit.
    Migrate(DbArgs),
    /// The event log: verify its hash chain (server), or tail it live (client).
    #[command(subcommand)]
    Events(EventsCommand),
    /// Inspect or rebuild the read models.
    #[command(subcommand)]
    Projections(ProjectionsCommand),
    /// Measure performance on scratch databases (never touches DATABASE_URL's data).
    #[command(subcommand)]
    Bench(BenchCommand),

    /// Create the first admin of a new server.
    Setup(CredentialArgs),
    /// Log in and store the tokens in the profile.
    Login(LoginArgs),
    /// Revoke the session and forget its tokens.
    Logout,
    /// The account you are logged in as.
    Whoami,
    /// Create an account (role user).
    Register(CredentialArgs),
    /// Change your password.
    #[command(subcommand)]
    Password(PasswordCommand),
    /// The old client's spelling: `auth login|logout|register`.
    #[command(subcommand, hide = true)]
    Auth(AuthCommand),
    /// Multi-factor authentication (TOTP).
    #[command(subcommand)]
    Mfa(MfaCommand),
    /// Your login sessions.
    #[command(subcommand)]
    Sessions(SessionsCommand),

    /// Rooms, desks, equipment and labs.
    #[command(subcommand)]
    Resources(ResourcesCommand),
    /// A resource's weekly business hours.
    #[command(subcommand)]
    Hours(HoursCommand),
    /// Periods when a resource cannot be booked.
    #[command(subcommand)]
    Blackouts(BlackoutsCommand),
    /// Resource groups.
    #[command(subcommand)]
    Groups(GroupsCommand),

    /// Free resources and slots across the catalog.
    Find(FindArgs),
    /// A resource's free time: a day's slots, or a summary of the next days.
    Availability(AvailabilityArgs),
    /// Book a resource (once, or recurring with an RRULE).
    Book(BookArgs),
    /// Your reservations.
    #[command(subcommand)]
    Reservations(ReservationsCommand),
    /// Check in to a reservation.
    CheckIn(IdArg),
    /// Queue for a taken slot.
    #[command(subcommand)]
    Waitlist(WaitlistCommand),
    /// Answer approval requests (approvers).
    #[command(subcommand)]
    Approvals(ApprovalsCommand),

    /// Signed event deliveries to other systems (admins).
    #[command(subcommand)]
    Webhooks(WebhooksCommand),
    /// The audit trail (auditors).
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Utilization and peak times.
    #[command(subcommand)]
    Analytics(AnalyticsCommand),
    /// OAuth2 clients for integrations (admins).
    #[command(subcommand)]
    Oauth(OauthCommand),
    /// Roles and what each may do.
    #[command(subcommand)]
    Roles(RolesCommand),
    /// Accounts (admins).
    #[command(subcommand)]
    Users(UsersCommand),
    /// API usage quotas.
    #[command(subcommand)]
    Quotas(QuotasCommand),

    /// Named server profiles.
    #[command(subcommand)]
    Profile(ProfileCommand),
    /// The server's health and readiness.
    Status,
    /// Shell completion script, to stdout.
    Completions(CompletionsArgs),
    /// The manual page (roff), to stdout or one file per command into a directory.
    Man(ManArgs),
}

#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// Walk the hash chain in the database: exit 0 with the event count when intact, 1 with
    /// the first bad position when not.
    Verify(DbArgs),
    /// Live events over the WebSocket, optionally replaying from a log position first.
    #[command(
        after_help = "Examples:\n  reserver events tail\n  reserver events tail --from 1234 --type reservation_created\n  \
                            reserver events tail --from 0 --no-follow -o json > backlog.ndjson"
    )]
    Tail(TailArgs),
}

#[derive(Debug, Args)]
pub struct TailArgs {
    /// Replay every event after this log position first (resume with the last position seen).
    #[arg(long)]
    pub from: Option<u64>,
    /// Only these socket event types (repeat or comma-separate), e.g. reservation_created.
    #[arg(long = "type", value_delimiter = ',')]
    pub types: Vec<String>,
    /// Only events of this resource (name or id).
    #[arg(long)]
    pub resource: Option<String>,
    /// Stop once the backlog is replayed, instead of following live.
    #[arg(long)]
    pub no_follow: bool,
    /// Stop after this many events.
    #[arg(long)]
    pub count: Option<u64>,
}

/// One id.
#[derive(Debug, Args)]
pub struct IdArg {
    /// The reservation's id.
    pub id: uuid::Uuid,
}

#[derive(Debug, Subcommand)]
pub enum ProfileCommand {
    /// Every profile, the current one marked.
    List,
    /// Make a profile the current one.
    Use { name: String },
    /// Create or change a profile.
    Set {
        name: String,
        /// Its server URL.
        #[arg(long = "server")]
        server: Option<String>,
        /// Its time zone for reading and showing times.
        #[arg(long = "zone")]
        zone: Option<String>,
    },
    /// Delete a profile and its tokens.
    Remove { name: String },
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write reserver.1 and one page per subcommand (reserver-book.1, …) here.
    #[arg(long)]
    pub dir: Option<std::path::PathBuf>,
}
