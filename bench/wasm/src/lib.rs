//! The client crypto benchmark, natively (criterion, `benches/crypto.rs`) and as
//! WebAssembly in headless Chromium (the test in `tests/crypto.rs`, timed with
//! `performance.now()`). Both run the same round trip, [`roundtrip`].

pub mod mls_room;
pub mod roundtrip;
