//! The harnesses every integration and end-to-end test of vroom uses: real processes
//! and real sockets, nothing stubbed.
//!
//! # Layout
//! - [`redis`] and [`redis_cluster`]: a real `redis-server`, or a real local Redis
//!   Cluster, per test (std, `redis` and `tempfile` only, so
//!   the relay's own unit tests use it too).
//! - [`relay`]: a relay in-process on `127.0.0.1:0`, and plain HTTP requests to it.
//! - [`process`]: the relay binary as a child process, its stderr captured and its
//!   memory measured.
//! - [`ws`]: a WebSocket client speaking raw wire frames, and [`ws::Got`], the one
//!   owned form of a server frame the tests compare against.
//! - With feature `e2e`: `cli` (the native client as a child process), `proxy` (a
//!   recording, cutting and tampering relay in the middle), `logs` (an in-memory
//!   capture of this process's logs), `browser` (headless Chromium driving the web
//!   app) and `static_host` (the web app on a static host apart from the relay).

use std::net::{Ipv4Addr, SocketAddrV4, TcpListener};
use std::time::Duration;

#[cfg(feature = "e2e")]
pub mod browser;
#[cfg(feature = "e2e")]
pub mod cli;
#[cfg(feature = "e2e")]
pub mod logs;
pub mod process;
#[cfg(feature = "e2e")]
pub mod proxy;
pub mod redis;
pub mod redis_cluster;
pub mod relay;
#[cfg(feature = "e2e")]
pub mod static_host;
pub mod ws;

/// How long a test waits for one expected frame, line, answer or exit. A guard against
/// hangs, not a speed check: tests run in parallel on small, busy machines.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// A loopback port free at the time of asking.
fn free_port() -> u16 {
    TcpListener::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("find a free loopback port")
}
