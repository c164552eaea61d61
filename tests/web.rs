//! The web app, page by page and form by form, against the real `reserver serve` binary on a
//! fresh database, on both backends. (The browser end-to-end test is `tests/browser.rs`.)

#[macro_use]
mod common;

#[path = "web/accounts.rs"]
mod accounts;
#[path = "web/admin_users.rs"]
mod admin_users;
#[path = "web/dashboard.rs"]
mod dashboard;
#[path = "web/mfa.rs"]
mod mfa;
#[path = "web/notifications.rs"]
mod notifications;
#[path = "web/preferences.rs"]
mod preferences;
#[path = "web/reservations.rs"]
mod reservations;
#[path = "web/resources.rs"]
mod resources;
#[path = "web/support.rs"]
mod support;
#[path = "web/waitlist.rs"]
mod waitlist;

use common::Backend;

on_both_backends!(
    accounts::first_run_then_dashboard,
    accounts::forms_need_their_csrf_token,
    accounts::logout_ends_the_session_everywhere,
    accounts::errors_speak_the_readers_language,
    accounts::registration_and_password_change,
    accounts::static_parts_of_the_app,
    accounts::sessions_are_listed_and_ended,
    accounts::session_lifetime_is_configurable,
    accounts::logins_are_never_replays,
    resources::list_search_filters_and_pages,
    resources::schedule_in_the_resource_zone,
    resources::book_from_the_grid_with_alternatives,
    resources::booking_errors_next_to_their_fields,
    waitlist::join_wait_and_accept_an_offer,
    waitlist::decline_leave_and_errors,
    waitlist::accept_where_approval_is_required,
    notifications::list_and_mark_read,
    notifications::notifications_page_in_pages,
    preferences::preferences_saved_and_refused,
    dashboard::available_now_and_check_in,
    reservations::recurring_preview_then_book,
    reservations::recurring_dry_run_in_the_api,
    reservations::my_reservations_and_cancelling,
    mfa::two_step_verification_page_and_login,
    mfa::admin_reset_and_disable_in_the_web_app,
    admin_users::accounts_list_and_account_actions,
    mfa::required_by_policy_leads_to_the_mfa_page,
);
