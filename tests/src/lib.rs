//! Test harness shared by the integration tests.
//!
//! # Layout
//! - [`relay`]: a relay in-process on `127.0.0.1:0`, and `/metrics`.
//! - [`cli`]: the native client (`vroom`) as a child process, read line by line.
//! - [`raw`]: a WebSocket client speaking raw wire frames.
//! - [`proxy`]: a recording, cutting and tampering WebSocket proxy (a relay in the middle).
//! - [`logs`]: an in-memory capture of this thread's logs at trace level.
//! - `browser`: headless Chromium driving the web app.
//! - `redis`: a real `redis-server` per test.

pub mod browser;
pub mod cli;
pub mod logs;
pub mod proxy;
pub mod raw;
pub mod redis;
pub mod relay;
