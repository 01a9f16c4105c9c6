//! The relay's integration tests: a real relay on `127.0.0.1:0`, real WebSocket clients
//! speaking raw wire frames, real HTTP requests.

mod harness;
mod http;
mod lifecycle;
mod protocol;
