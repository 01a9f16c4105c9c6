//! Times the client's message path as WebAssembly in headless Chromium: a 200-byte
//! chat message sealed, signed, verified and opened through the real sender-key code,
//! plus the pairwise X25519 agreement and file-chunk throughput. Prints the figures
//! (`cargo test -p vroom-bench-wasm --target wasm32-unknown-unknown --profile wasm-release`); it
//! checks only that every round trip returned the message, never a time.
#![cfg(target_arch = "wasm32")]

use vroom_bench_wasm::now_ms;
use vroom_bench_wasm::roundtrip;
use vroom_shared::crypto::{MemberKeys, OsRng};
use wasm_bindgen_test::{console_log, wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

/// Runs `f` `n` times after a warm-up; answers microseconds per call. Browsers coarsen
/// `performance.now()` (to 100 µs without cross-origin isolation), so each timing spans
/// hundreds of milliseconds.
fn time_us(n: u32, mut f: impl FnMut() -> usize) -> f64 {
    let mut check = 0;
    for _ in 0..n / 10 {
        check += f();
    }
    let start = now_ms();
    for _ in 0..n {
        check += f();
    }
    let elapsed = now_ms() - start;
    assert!(check > 0, "the benchmarked calls did work");
    elapsed * 1000.0 / f64::from(n)
}

#[wasm_bindgen_test]
fn message_200_bytes() {
    let text = roundtrip::text_200();
    let mut pair = roundtrip::Pair::new();
    assert_eq!(pair.round_trip(&text), 200);
    let us = time_us(2000, || pair.round_trip(&text));
    console_log!("wasm message_200B/seal_and_open: {us:.2} µs");
    let mut pair = roundtrip::Pair::new();
    let us = time_us(2000, || pair.seal(&text).len());
    console_log!("wasm message_200B/seal: {us:.2} µs");
    let mut pair = roundtrip::Pair::new();
    let us = time_us(20_000, || pair.encrypt_decrypt(&text));
    console_log!("wasm message_200B/encrypt_decrypt: {us:.2} µs");
}

#[wasm_bindgen_test]
fn sign_and_verify() {
    let text = roundtrip::text_200();
    let mut pair = roundtrip::Pair::new();
    // Signing consumes its message: encrypt a batch first, then time the signatures.
    let n = 2000;
    let batch: Vec<_> = (0..n).map(|_| pair.encrypt(&text)).collect();
    let start = now_ms();
    let signed: Vec<_> = batch.into_iter().map(|e| pair.sign(e)).collect();
    let us = (now_ms() - start) * 1000.0 / f64::from(n);
    assert!(
        signed.iter().all(|s| pair.verify(s)),
        "every signature verifies"
    );
    console_log!("wasm message_200B/sign: {us:.2} µs");
    let us = time_us(2000, || usize::from(pair.verify(&signed[0])));
    console_log!("wasm message_200B/verify: {us:.2} µs");
}

/// The parts of `encrypt_decrypt`, to show where its time goes.
#[wasm_bindgen_test]
fn parts() {
    use rand_core::RngCore;
    use vroom_shared::crypto::padding;
    use vroom_shared::crypto::sender::{ratchet, ChainState};

    let us = time_us(20_000, || {
        let mut nonce = [0u8; 24];
        OsRng.fill_bytes(&mut nonce);
        usize::from(nonce[0] | 1)
    });
    console_log!("wasm parts/os_random_24B: {us:.2} µs");
    let mut nonces = vroom_shared::crypto::NonceRng::new();
    let us = time_us(20_000, || {
        let mut nonce = [0u8; 24];
        nonces.fill_bytes(&mut nonce);
        usize::from(nonce[0] | 1)
    });
    console_log!("wasm parts/nonce_rng_24B: {us:.2} µs");
    let chain = ChainState::generate(0, &mut OsRng).key;
    let us = time_us(20_000, || {
        std::hint::black_box(ratchet(std::hint::black_box(&chain)));
        1
    });
    console_log!("wasm parts/ratchet_step: {us:.2} µs");
    let us = time_us(20_000, roundtrip::aead_seal_open_256);
    console_log!("wasm parts/xchacha20poly1305_seal_open_256B: {us:.2} µs");
    let text = roundtrip::text_200();
    let us = time_us(20_000, || {
        padding::unpad(&padding::pad(text.as_bytes()))
            .expect("valid padding")
            .len()
    });
    console_log!("wasm parts/pad_unpad_200B: {us:.2} µs");
}

#[wasm_bindgen_test]
fn pairwise_x25519() {
    let ours = MemberKeys::generate(&mut OsRng);
    let theirs = MemberKeys::generate(&mut OsRng).public();
    let us = time_us(500, || usize::from(roundtrip::pairwise(&ours, &theirs)));
    console_log!("wasm x25519/pairwise_key: {us:.2} µs");
}

#[wasm_bindgen_test]
fn file_chunks() {
    for size in [16 * 1024, 60 * 1024] {
        let data = vec![0xab_u8; size];
        let mut pair = roundtrip::Pair::new();
        let us = time_us(200, || {
            let payload = pair.seal_bytes(&data);
            pair.open_bytes(&payload)
        });
        let mib_s = size as f64 / (1024.0 * 1024.0) / (us / 1e6);
        console_log!(
            "wasm file_chunk/seal_and_open_{}KiB: {us:.1} µs ({mib_s:.1} MiB/s)",
            size / 1024
        );
    }
}
