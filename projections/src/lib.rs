//! The read side of Resource Reserver: projectors that follow the event log from a checkpoint
//! and build the read models that queries use.
