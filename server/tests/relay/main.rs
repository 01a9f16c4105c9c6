//! The relay's integration tests: a real relay on `127.0.0.1:0`, real WebSocket clients
//! speaking raw wire frames, real HTTP requests (harnesses in `vroom-testkit`).

mod codes;
mod dockerfile;
mod http;
mod lifecycle;
mod limits;
mod memory;
mod privacy;
mod protocol;
mod timeouts;

use std::time::Duration;

use vroom_relay::Config;

/// The test settings with a grace period short enough for the expiry tests.
fn config() -> Config {
    Config {
        grace: Duration::from_millis(500),
        ..vroom_testkit::relay::test_config()
    }
}
