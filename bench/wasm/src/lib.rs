//! The client crypto benchmark, natively (criterion, `benches/crypto.rs`) and as
//! WebAssembly in headless Chromium (the test in `tests/crypto.rs`, timed with
//! `performance.now()`). Both run the same round trip, [`roundtrip`].

pub mod mls_room;
pub mod roundtrip;

/// Milliseconds from the page's `performance.now()`, the clock both browser
/// benchmarks time with.
#[cfg(target_arch = "wasm32")]
pub fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .expect("a page with performance.now()")
        .now()
}
