//! Flags of the booking commands: find, availability, book, reservations, waitlist, approvals.

use clap::{Args, Subcommand};
use uuid::Uuid;

use super::catalog::PageArgs;

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  reserver find --tags lab --capacity 2 --duration 1h --between \"tomorrow 9:00\" \"tomorrow 17:00\""
)]
pub struct FindArgs {
    /// Every one of these tags (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub tags: Vec<String>,
    /// At least this many units.
    #[arg(long)]
    pub capacity: Option<u32>,
    /// room, desk, equipment, lab or other.
    #[arg(long)]
    pub kind: Option<String>,
    /// Slot length (e.g. 1h, 90m, 1h30m).
    #[arg(long, default_value = "1h")]
    pub duration: String,
    /// The window to search: two times (default: the next 24 hours).
    #[arg(long, num_args = 2, value_names = ["FROM", "TO"])]
    pub between: Vec<String>,
    /// Most resources.
    #[arg(long)]
    pub limit: Option<u32>,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  reserver availability \"Lab 3\"\n  reserver availability \"Lab 3\" --date tomorrow --duration 30m"
)]
pub struct AvailabilityArgs {
    /// Name or id.
    pub resource: String,
    /// One day's free slots (e.g. today, tomorrow, 2026-12-03, friday).
    #[arg(long)]
    pub date: Option<String>,
    /// A summary of this many days from today (without --date).
    #[arg(long, default_value_t = 7)]
    pub days: u32,
    /// Slot length.
    #[arg(long, default_value = "1h")]
    pub duration: String,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  reserver book \"Lab 3\" \"tomorrow 14:00\" \"tomorrow 15:30\"\n  \
                        reserver book \"Lab 3\" \"2026-12-03 09:00\" --for 90m\n  \
                        reserver book \"Lab 3\" \"next monday 9:00\" --for 1h --repeat \"FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10\" --preview\n\
A refused booking prints the conflicts and the next free slots, and exits 4.")]
pub struct BookArgs {
    /// Name or id.
    pub resource: String,
    /// Start ("tomorrow 14:00", "2026-12-03 09:00", "in 2h", RFC 3339).
    pub start: String,
    /// End (or give --for).
    #[arg(required_unless_present = "duration", conflicts_with = "duration")]
    pub end: Option<String>,
    /// Length instead of an end (e.g. 1h, 90m, 1h30m).
    #[arg(long = "for", value_name = "DURATION")]
    pub duration: Option<String>,
    /// Repeat by an RFC 5545 RRULE (e.g. "FREQ=WEEKLY;BYDAY=MO;COUNT=10"), in the resource's zone.
    #[arg(long, value_name = "RRULE")]
    pub repeat: Option<String>,
    /// With --repeat: show what each occurrence would get, book nothing.
    #[arg(long, requires = "repeat")]
    pub preview: bool,
    /// With --repeat: book what is free and report the rest (default: all or nothing).
    #[arg(long, requires = "repeat")]
    pub skip_conflicts: bool,
    /// With --repeat: leave out the occurrence starting at this time (repeatable).
    #[arg(long, requires = "repeat")]
    pub except: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum ReservationsCommand {
    /// Your reservations.
    List {
        /// Only those not yet ended.
        #[arg(long, conflicts_with = "past")]
        upcoming: bool,
        /// Only those ended.
        #[arg(long)]
        past: bool,
        #[command(flatten)]
        page: PageArgs,
    },
    /// One reservation.
    Show { id: Uuid },
    /// The old client's spelling of `reserver book`.
    #[command(hide = true)]
    Create(BookArgs),
    /// Cancel a reservation, or its series.
    #[command(after_help = "Examples:\n  reserver reservations cancel 3f2a… --reason \"moved\"\n  \
                            reserver reservations cancel 3f2a… --this-and-following")]
    Cancel {
        id: Uuid,
        #[arg(long)]
        reason: Option<String>,
        /// This occurrence and every later one of its series.
        #[arg(long, conflicts_with = "series")]
        this_and_following: bool,
        /// The whole series.
        #[arg(long)]
        series: bool,
    },
    /// Every event in a reservation's life.
    History { id: Uuid },
    /// The reservation (or its series) as an iCalendar file.
    Ics {
        id: Uuid,
        /// Write here instead of standard output.
        #[arg(long)]
        file: Option<std::path::PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum WaitlistCommand {
    /// Queue for a slot; you get an offer when it frees up.
    #[command(after_help = "Example:\n  reserver waitlist join \"Lab 3\" \"tomorrow 9:00\" --for 1h --flexible 30m")]
    Join {
        resource: String,
        start: String,
        #[arg(required_unless_present = "duration", conflicts_with = "duration")]
        end: Option<String>,
        #[arg(long = "for", value_name = "DURATION")]
        duration: Option<String>,
        /// Also accept a slot this much earlier or later.
        #[arg(long, default_value = "0m")]
        flexible: String,
    },
    /// Your entries with their place in the queue.
    List,
    /// Accept an offer.
    Accept { id: Uuid },
    /// Decline an offer.
    Decline { id: Uuid },
    /// Leave the queue.
    Leave { id: Uuid },
}

#[derive(Debug, Subcommand)]
pub enum ApprovalsCommand {
    /// Requests waiting for an answer.
    List {
        /// Only this resource's.
        #[arg(long)]
        resource: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Approve a request.
    Approve {
        id: Uuid,
        #[arg(long)]
        comment: Option<String>,
    },
    /// Reject a request.
    Reject {
        id: Uuid,
        #[arg(long)]
        reason: String,
    },
}
