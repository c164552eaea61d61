//! Load generators behind `reserver bench`: the event log's append throughput on scratch
//! databases ([`append`]) and HTTP load against a real `reserver serve` process ([`http`]).
//! Nothing here runs in the test suite; results go to docs/benchmarks.md.

pub mod append;
pub mod availability;
mod common;
pub mod http;
pub mod pages;
pub mod server;
