//! The `reserver` command-line client, driven as a person or a script would: the built binary
//! against the real server on a random port, a fresh database and a fresh config directory per
//! scenario, on SQLite and PostgreSQL; and the `reserver-client` crate it is built on.

#[macro_use]
mod common;

#[path = "cli/accounts.rs"]
mod accounts;
#[path = "cli/bookings.rs"]
mod bookings;
#[path = "cli/catalog.rs"]
mod catalog;
#[path = "cli/client.rs"]
mod client;
#[path = "cli/events.rs"]
mod events;
#[path = "cli/support.rs"]
mod support;

use common::Backend;

on_both_backends!(
    accounts::login_refresh_logout,
    accounts::scripts_are_never_prompted,
    accounts::password_and_sessions,
    accounts::oauth_clients,
    accounts::mfa_setup_and_login_with_a_code,
    accounts::user_administration,
    bookings::book_and_conflict_with_alternatives,
    bookings::recurring_preview_and_series,
    bookings::reservations_and_waiting_features,
    catalog::csv_import_dry_run_and_import,
    catalog::output_formats_parse,
    client::typed_client_round_trip,
    events::tail_resumes_from_a_position,
);

#[test]
fn completions_for_every_shell() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = common::reserver().args(["completions", shell]).output().expect("run");
        assert!(out.status.success(), "{shell}: {}", common::stderr(&out));
        let script = common::stdout(&out);
        assert!(script.contains("reserver") && script.contains("reservations"), "{shell}: {script}");
    }
}

#[test]
fn manual_pages() {
    let out = common::reserver().arg("man").output().expect("run");
    assert!(out.status.success());
    assert!(common::stdout(&out).contains(".TH reserver 1"), "{}", common::stdout(&out));
    let dir = tempfile::tempdir().expect("temp dir");
    let out = common::reserver().args(["man", "--dir"]).arg(dir.path()).output().expect("run");
    assert!(out.status.success(), "{}", common::stderr(&out));
    for page in ["reserver.1", "reserver-book.1", "reserver-reservations-cancel.1"] {
        let text = std::fs::read_to_string(dir.path().join(page)).unwrap_or_default();
        assert!(text.contains(".TH"), "{page} missing or empty");
    }
}

#[test]
fn usage_errors_exit_2() {
    let out = common::reserver().args(["book", "Lab 3"]).output().expect("run");
    assert_eq!(out.status.code(), Some(2), "{}", common::stderr(&out));
    let out = common::reserver().args(["resources", "list", "--output", "xml"]).output().expect("run");
    assert_eq!(out.status.code(), Some(2));
}
