//! Outward delivery of Resource Reserver events: signed, retried, at-least-once webhooks driven
//! from the event log with a checkpoint.
