//! Calendars in RFC 5545 iCalendar form: single-reservation exports, a user's subscribed feed
//! and per-resource feeds.
//!
//! * [`ics`] — content lines: escaping, folding, CRLF.
//! * [`timezone`] — VTIMEZONE components from the tz database.
//! * [`series`] — a booked series as RRULE + EXDATE.
//! * [`render`] — views → a VCALENDAR (pure).
//! * [`load`] — gathers the views a calendar shows from the read models.
//! * [`feed_tokens`] — the secret tokens that let calendar clients read a feed.

pub mod feed_tokens;
pub mod ics;
pub mod load;
pub mod render;
pub mod series;
pub mod timezone;
