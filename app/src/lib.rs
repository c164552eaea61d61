//! The application layer of Resource Reserver: what the HTTP API (`api/`) and the web app
//! (`web/`) share below the transport — the services a request uses ([`Services`]), who is
//! asking ([`Caller`]), parsing what clients send, and the request logic itself, so that a
//! booking made from a form and one made over JSON run the same code. Knows nothing of HTTP.

pub mod accounts;
pub mod addressing;
pub mod admin_accounts;
pub mod approvals;
pub mod availability;
pub mod calendar_data;
pub mod caller;
pub mod catalog;
pub mod check_in;
pub mod client_ip;
pub mod csv_table;
pub mod error;
pub mod feed_tokens;
pub mod input;
pub mod mfa;
pub mod mfa_policy;
pub mod notifications;
pub mod oauth;
pub mod preferences;
pub mod quota_meter;
pub mod quotas;
pub mod reservations;
pub mod revocations;
pub mod roles;
pub mod series;
pub mod services;
pub mod sessions;
pub mod waitlist;

pub use caller::{authenticate, command_meta, command_meta_part, Caller, ClientGrant, RequestInfo};
pub use error::{AppError, AppResult};
pub use services::Services;
