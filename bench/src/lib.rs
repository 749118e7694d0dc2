//! Porchlight's benchmarks. The load generator, the engine of `cargo xtask bench load`:
//! it starts the server as a child process, opens many visitor WebSockets on it, holds them, sends
//! messages at a steady rate and reports the server's memory per socket and the
//! latencies of acks and echoes as a markdown table.
//!
//! The pure parts (percentiles, the send schedule, descriptor budgets, the table) are
//! separate modules, unit-tested; [`load`] and [`server`] do the I/O. [`at_rest`]
//! measures the server's memory on a database full of history (`cargo xtask bench at-rest`).

pub mod at_rest;
pub mod fds;
pub mod load;
pub mod report;
pub mod schedule;
pub mod server;
pub mod stats;
