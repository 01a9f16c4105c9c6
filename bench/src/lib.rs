//! vroom's benchmark harness: a load generator that speaks vroom's relay protocol,
//! Socket.IO's and the uWebSockets.js peer's, and a scenario runner that measures a
//! server process from `/proc`.
//!
//! # Layout
//! - [`proto`]: connecting, joining a room, stamping and reading messages, for every peer.
//! - [`worker`]: one load-generating process: its connections, the send schedule, the
//!   latency histogram.
//! - [`scenario`]: starts the servers and the worker processes, samples the server, merges
//!   the reports.
//! - [`procfs`]: CPU-seconds and resident memory of a process.
//!
//! The binary (`vroom-bench`) has one subcommand per scenario; BENCHMARKS.md at the
//! repository root lists them with their results.

pub mod procfs;
pub mod proto;
pub mod scenario;
pub mod worker;
