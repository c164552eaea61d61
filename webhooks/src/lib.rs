//! Outward delivery of Resource Reserver events: signed, retried, at-least-once webhooks driven
//! from the event log with a checkpoint, following the Standard Webhooks specification.
//!
//! * [`subscription`] — subscriptions are event-sourced in `webhook-{uuid}` streams;
//!   [`stream`] reads and appends them.
//! * [`secrets`] — signing secrets, in an operational table and never in the log;
//!   [`signing`] — `whsec_` secrets, `v1` HMAC-SHA256 signatures and their verification.
//! * [`planner`] — the projector that turns public events into deliveries, exactly once;
//!   [`deliveries`] — the queue: claims with leases, attempts, outcomes, redelivery;
//!   [`history`] — what the API shows of it.
//! * [`worker`] and [`sender`] — the attempts; [`backoff`] — when to retry;
//!   [`disable`] — switching off endpoints that keep failing; [`guard`] — refusing private
//!   addresses.
//! * [`service`] — the running planner and worker of one process.

pub mod backoff;
pub mod deliveries;
pub mod disable;
pub mod envelope;
mod error;
pub mod guard;
pub mod history;
pub mod planner;
pub mod secrets;
pub mod sender;
pub mod service;
pub mod settings;
pub mod signing;
pub mod stream;
pub mod subscription;
mod worker;

pub use error::WebhookError;
pub use service::WebhookService;
pub use settings::WebhookSettings;
