//! The client crypto benchmark as WebAssembly in headless Chromium. The benchmark is the
//! test in `tests/crypto.rs`; it runs the same round trip as the native criterion
//! benchmark (`shared/benches/roundtrip`), timed with `performance.now()`.
