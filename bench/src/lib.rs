//! Porchlight's benchmarks. The load generator, the engine of `cargo xtask bench load`:
//! it starts the server as a child process, opens many visitor WebSockets on it, holds them, sends
//! messages at a steady rate and reports the server's memory per socket and the
//! latencies of acks and echoes as a markdown table. Its sibling for `cargo xtask bench
//! cluster` does the same side by side for one process on SQLite, one on PostgreSQL and
//! several on one PostgreSQL behind nginx ([`deployment`]), and climbs a ladder of rates
//! to the highest each sustains ([`ladder`], [`comparison`]).
//!
//! The pure parts (percentiles, the send schedule, descriptor budgets, the rate ladder, the
//! tables) are separate modules, unit-tested; [`load`], [`server`] and [`deployment`] do
//! the I/O. [`at_rest`] measures the server's memory on a database full of history
//! (`cargo xtask bench at-rest`).

pub mod at_rest;
pub mod cli;
pub mod comparison;
pub mod deployment;
pub mod fds;
pub mod ladder;
pub mod load;
pub mod report;
pub mod schedule;
pub mod server;
pub mod stats;
