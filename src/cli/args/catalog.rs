//! Flags of the catalog commands: resources, hours, blackouts, groups.

use clap::{Args, Subcommand};

/// Paging of a list.
#[derive(Debug, Args, Clone)]
pub struct PageArgs {
    /// Most rows per page (1 to 500).
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
    /// Continue after a previous page (its next cursor).
    #[arg(long)]
    pub cursor: Option<String>,
    /// Every page.
    #[arg(long, conflicts_with = "cursor")]
    pub all: bool,
}

#[derive(Debug, Subcommand)]
pub enum ResourcesCommand {
    /// Resources, filtered.
    #[command(
        after_help = "Examples:\n  reserver resources list --tags lab,gpu\n  reserver resources list --all -o csv > resources.csv"
    )]
    List(ResourceListArgs),
    /// One resource with its policy and hours.
    Show {
        /// Name or id.
        resource: String,
    },
    /// Create a resource (admins).
    #[command(
        after_help = "Example:\n  reserver resources create \"Lab 3\" --tags lab,gpu --capacity 2 --zone Europe/Berlin --max-duration 4h"
    )]
    Create(ResourceCreateArgs),
    /// Change a resource (admins); only the given fields change.
    Update(ResourceUpdateArgs),
    /// Create resources from a CSV file (admins): name,tags,available,capacity,kind,time_zone,description,location.
    #[command(
        after_help = "Example:\n  reserver resources import desks.csv --dry-run && reserver resources import desks.csv"
    )]
    Import {
        /// The CSV file (`-` for standard input).
        file: std::path::PathBuf,
        /// Only validate: report each invalid row, create nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Every resource as CSV in the import format (name,tags,available,capacity,kind,…).
    Export {
        /// Write here instead of standard output.
        #[arg(long)]
        file: Option<std::path::PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct ResourceListArgs {
    /// Every one of these tags (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub tags: Vec<String>,
    /// available, maintenance or retired.
    #[arg(long)]
    pub status: Option<String>,
    /// room, desk, equipment, lab or other.
    #[arg(long)]
    pub kind: Option<String>,
    /// Text search in names and descriptions.
    #[arg(long, short = 'q')]
    pub query: Option<String>,
    /// Show location, zone and description too.
    #[arg(long)]
    pub details: bool,
    #[command(flatten)]
    pub page: PageArgs,
}

/// Fields of a resource.
#[derive(Debug, Args, Default)]
pub struct ResourceFieldArgs {
    /// Tags (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub tags: Option<Vec<String>>,
    /// room, desk, equipment, lab or other.
    #[arg(long)]
    pub kind: Option<String>,
    /// How many bookings may overlap.
    #[arg(long)]
    pub capacity: Option<u32>,
    /// IANA time zone of its hours and local times.
    #[arg(long)]
    pub zone: Option<String>,
    #[arg(long)]
    pub location: Option<String>,
    #[arg(long)]
    pub description: Option<String>,
    /// Shortest booking (e.g. 30m).
    #[arg(long)]
    pub min_duration: Option<String>,
    /// Longest booking (e.g. 4h).
    #[arg(long)]
    pub max_duration: Option<String>,
    /// Bookings need an approver's yes.
    #[arg(long)]
    pub requires_approval: Option<bool>,
}

#[derive(Debug, Args)]
pub struct ResourceCreateArgs {
    pub name: String,
    #[command(flatten)]
    pub fields: ResourceFieldArgs,
    /// Create it in maintenance.
    #[arg(long)]
    pub unavailable: bool,
}

#[derive(Debug, Args)]
pub struct ResourceUpdateArgs {
    /// Name or id.
    pub resource: String,
    /// New name.
    #[arg(long)]
    pub name: Option<String>,
    #[command(flatten)]
    pub fields: ResourceFieldArgs,
    /// available or maintenance.
    #[arg(long)]
    pub status: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum HoursCommand {
    /// A resource's weekly hours.
    Show { resource: String },
    /// Replace a resource's weekly hours (in its zone; a day without hours is closed).
    #[command(after_help = "Examples:\n  reserver hours set \"Lab 3\" mon-fri=08:00-18:00 sat=10:00-14:00\n  \
                            reserver hours set \"Lab 3\" mon-fri=08:00-12:00,13:00-17:00\n  reserver hours set \"Lab 3\" --always")]
    Set {
        resource: String,
        /// DAYS=HH:MM-HH:MM[,HH:MM-HH:MM] with DAYS like mon, mon-fri or sat,sun.
        #[arg(required_unless_present = "always")]
        spec: Vec<String>,
        /// Remove the hours: open around the clock.
        #[arg(long, conflicts_with = "spec")]
        always: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum BlackoutsCommand {
    /// A resource's blackout periods.
    List { resource: String },
    /// Block a period (admins).
    #[command(after_help = "Example:\n  reserver blackouts add \"Lab 3\" 2026-12-24 2026-12-27 --reason holidays")]
    Add {
        resource: String,
        /// Start (e.g. "2026-12-24" or "friday 18:00").
        start: String,
        /// End.
        end: String,
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Remove a blackout (admins).
    Remove { resource: String, id: uuid::Uuid },
}

#[derive(Debug, Subcommand)]
pub enum GroupsCommand {
    /// Groups as a tree.
    Tree,
}
