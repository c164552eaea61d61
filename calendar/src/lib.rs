//! Calendars in RFC 5545 iCalendar form: single-reservation exports, a user's subscribed feed
//! and per-resource feeds. Pure: views in, text out (gathering the views is the caller's job).
//!
//! * [`ics`] — content lines: escaping, folding, CRLF.
//! * [`timezone`] — VTIMEZONE components from the tz database.
//! * [`series`] — a booked series as RRULE + EXDATE.
//! * [`render`] — views → a VCALENDAR.

pub mod ics;
pub mod render;
pub mod series;
pub mod timezone;
