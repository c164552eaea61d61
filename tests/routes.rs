//! Happy paths and the key error paths of routes the other suites only check are served:
//! schedule rules, CSV upload, resource administration, recurring series, check-in,
//! availability queries, preferences, setup reopening, waitlist, notifications, analytics,
//! groups and the command boundary (text, instants, RRULE UNTIL, self-approval). The real `reserver serve` binary, a fresh database per scenario, both backends.

#[macro_use]
mod common;

#[path = "routes/accounts.rs"]
mod accounts;
#[path = "routes/bookings.rs"]
mod bookings;
#[path = "routes/boundary.rs"]
mod boundary;
#[path = "routes/catalog.rs"]
mod catalog;
#[path = "routes/support.rs"]
mod support;
#[path = "routes/workflow.rs"]
mod workflow;

use common::Backend;

on_both_backends!(
    catalog::business_hours,
    catalog::blackout_dates,
    catalog::csv_upload,
    catalog::csv_upload_rules,
    catalog::one_key_covers_every_command_of_a_request,
    catalog::update_status_and_retire,
    accounts::preferences,
    accounts::setup_unlock,
    accounts::user_administration,
    bookings::recurring_series,
    bookings::check_in,
    bookings::availability_queries,
    bookings::schedule_as_of,
    workflow::waitlist_leave_and_decline,
    workflow::notifications_read,
    workflow::analytics_exports,
    workflow::groups_manage,
    workflow::approval_settings,
    boundary::control_characters_are_refused_naming_the_field,
    boundary::leap_second_instants_are_normalised,
    boundary::recurrence_until_keeps_its_meaning_east_and_west_of_utc,
    boundary::nobody_answers_their_own_request,
);
