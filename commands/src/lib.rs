//! The write side of Resource Reserver: the command pipeline that loads aggregates through a
//! bounded cache, asks the pure domain to decide, and appends the resulting events to the log
//! through the group-commit path with expected versions — retrying on a concurrent write. Also
//! idempotency keys, account commands, and the deadline scheduler that drives expiries from
//! the log.

pub mod addressing;
mod aggregate;
mod cache;
mod clock;
mod error;
mod idempotency;
mod pipeline;
pub mod scheduler;

pub use aggregate::{Aggregate, GroupAggregate, ResourceAggregate, UserAggregate};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::CommandError;
pub use idempotency::{CreatedRecord, IdempotencyKey, CREATED_EVENT_TYPE};
pub use pipeline::{CommandMeta, CommandPipeline, Decided, PipelineConfig};
