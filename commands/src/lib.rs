//! The write side of Resource Reserver: the command pipeline that loads aggregates, asks the
//! domain to decide, and appends the resulting events to the log through the group-commit path.
