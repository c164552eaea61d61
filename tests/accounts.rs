//! Multi-factor authentication (TOTP) and admin account actions against the real server, on
//! both backends: setup, enabling with a computed code, login in two steps, replayed and wrong
//! codes, backup codes, disabling, secrets kept out of everything that leaves the service, and
//! unlock / disable / enable / password reset by admins.

#[macro_use]
mod common;

#[path = "routes/support.rs"]
#[allow(dead_code)]
mod support;

#[path = "accounts/admin.rs"]
mod admin;
#[path = "accounts/mfa.rs"]
mod mfa;

use common::Backend;

on_both_backends!(
    mfa::setup_verify_and_login_in_two_steps,
    mfa::secrets_never_leave_the_service,
    mfa::the_client_library_logs_in_with_a_code,
    mfa::policy_requires_mfa_for_roles,
    admin::disable_ends_sessions_and_enable_restores,
    admin::unlock_clears_the_login_throttle,
    admin::unlock_reaches_every_replica,
    admin::reset_password_forces_a_change,
    admin::only_admins_act_on_accounts,
);
