//! vroom's relay: a blind WebSocket relay for end-to-end-encrypted chat rooms.
//!
//! It parses only the outer frames of [`vroom_shared::wire`] (it is built without the
//! crypto part of `vroom-shared`), routes opaque ciphertext by room and recipient,
//! stamps each room's events with one sequence of numbers, keeps a bounded buffer of
//! them for catch-up, and deletes a room and everything about it when it ends.
//!
//! # Layout
//! - [`config`]: flags and environment variables, with their defaults.
//! - `server`: the router ([`app`]), [`run`] and graceful shutdown.
//! - `state`: what every handler shares ([`AppState`]).
//! - `connection`: one WebSocket: the join handshake, then one task that reads
//!   requests (`request`) and writes the outbox (`live`).
//! - `outbox`: a connection's bounded outbound queue, both ends, and the
//!   lagging-receiver policy.
//! - `hub`: this instance's connections per room; turns one sequenced event into
//!   queued frames for every local recipient.
//! - [`store`]: the [`Store`](store::Store) trait (rooms, members, sequence, catch-up log,
//!   timers), its in-process implementation and the Redis one.
//! - `web`: the static web app and the security headers of every response.
//! - `limits`: the client's address (peer IP, or a trusted proxy's header) and the
//!   per-address limits counted against it.
//! - `metrics`: Prometheus counters without identifiers.
//! - `sync`: the one way a std `Mutex` is locked.

pub mod config;
mod connection;
mod hub;
mod limits;
mod metrics;
mod outbox;
mod server;
mod state;
pub mod store;
mod sync;
mod web;

pub use config::Config;
pub use server::{app, run, serve};
pub use state::{memory_state, state_with, AppState};
pub use web::CONTENT_SECURITY_POLICY;
