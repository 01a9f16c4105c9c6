//! End-to-end tests: real relays on loopback, real clients, a real browser.
//!
//! One test binary with modules, so everything links once.
//!
//! - `browser`: the web app in headless Chromium against an in-process relay.

mod browser;
