//! The service at its boundary, tried as its users and attackers would: what a request must
//! satisfy, who the client is behind proxies, what leaves the service (answers, links, logs), and
//! permissions and sessions taking effect at once. The real `reserver serve`, both backends.

#[macro_use]
mod common;

#[path = "hardening/boundary.rs"]
mod boundary;
#[path = "hardening/clients.rs"]
mod clients;
#[path = "hardening/commands.rs"]
mod commands;
#[path = "hardening/sessions.rs"]
mod sessions;
#[path = "routes/support.rs"]
#[allow(dead_code)]
mod support;

use common::Backend;

on_both_backends!(
    boundary::bodies_must_be_json_and_fit,
    boundary::control_characters_never_reach_the_database,
    boundary::answers_carry_safety_headers_and_problems,
    boundary::api_viewers_work_offline,
    boundary::unknown_fields_and_untyped_preferences_are_refused,
    commands::ids_are_actionable_right_after_their_create,
    commands::writes_are_answered_while_the_catalog_lags,
    clients::forwarded_headers_from_strangers_change_nothing,
    clients::a_trusted_proxy_names_the_client,
    clients::secrets_stay_out_of_the_log,
    sessions::a_role_change_applies_at_once_to_tokens_and_sockets,
    sessions::logout_closes_open_sockets,
    sessions::live_connections_per_user_are_capped,
    sessions::replicas_without_a_secret_key_share_one,
);
