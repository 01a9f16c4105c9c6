//! Times the version-2 group layer (MLS) as WebAssembly in headless Chromium, with the
//! same room as the native bench (`src/mls_room.rs`): a 200-byte application
//! message encrypted by one member and decrypted by another (MLS signs each one), and
//! a join into a room of 50, and the message's cost without its signature (the
//! signature timed alone and taken off). Prints the figures
//! (`cargo test -p vroom-bench-wasm --target wasm32-unknown-unknown --profile wasm-release --test mls`);
//! it checks only that every message and join worked, never a time.
#![cfg(target_arch = "wasm32")]

use ed25519_dalek::{Signer, SigningKey};
use vroom_shared::group::{Identity, Joiner};
use wasm_bindgen_test::{console_log, wasm_bindgen_test, wasm_bindgen_test_configure};

use vroom_bench_wasm::mls_room::Room;
use vroom_bench_wasm::now_ms;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn mls_message_200_bytes() {
    let text = vec![b'x'; 200];
    let mut room = Room::new(2);
    // The part of a message that is its signature: one Ed25519 signature and one
    // strict verification of a statement of the message's size, timed alongside.
    let key = SigningKey::from_bytes(&[7; 32]);
    let public = key.verifying_key();
    let statement = vec![7u8; 340];
    let block = 200;
    let mut check = 0;
    for _ in 0..block {
        check += room.message(&text);
    }
    // Blocks of each, interleaved, so that a busy host slows both alike; the fastest
    // block of each is kept.
    let (mut message_us, mut signature_us) = (f64::MAX, f64::MAX);
    for _ in 0..8 {
        let start = now_ms();
        for _ in 0..block {
            check += room.message(&text);
        }
        message_us = message_us.min((now_ms() - start) * 1000.0 / f64::from(block));
        let start = now_ms();
        for _ in 0..block {
            let signature = key.sign(&statement);
            assert!(public.verify_strict(&statement, &signature).is_ok());
        }
        signature_us = signature_us.min((now_ms() - start) * 1000.0 / f64::from(block));
    }
    assert_eq!(check, 200 * 9 * block as usize);
    console_log!("wasm mls_message_200B/encrypt_and_decrypt: {message_us:.2} µs");
    console_log!(
        "wasm ed25519 sign + strict verify, 340 B: {signature_us:.2} µs; the message without it: {:.2} µs",
        message_us - signature_us
    );
}

#[wasm_bindgen_test]
fn mls_join_room_of_50() {
    let start = now_ms();
    let mut room = Room::new(50);
    console_log!(
        "wasm mls: building a room of 50 by 49 adds: {:.0} ms",
        now_ms() - start
    );
    let rounds = 10;
    let mut times = [0.0f64; 3];
    for _ in 0..rounds {
        let joiner = Joiner::new(Identity::generate()).expect("key package");
        let t0 = now_ms();
        let (commit, welcome) = room.commit_add(&joiner);
        let t1 = now_ms();
        room.other.handle(&commit).expect("member");
        let t2 = now_ms();
        let newcomer = room.join(joiner, &welcome);
        let t3 = now_ms();
        assert_eq!(newcomer.epoch(), room.committer.epoch());
        assert_eq!(newcomer.safety_code(), room.other.safety_code());
        times[0] += t1 - t0;
        times[1] += t2 - t1;
        times[2] += t3 - t2;
        room.remove(newcomer.own_leaf());
    }
    let r = f64::from(rounds);
    console_log!(
        "wasm mls_join_room_of_50: commit_add {:.1} ms, process_commit {:.1} ms, process_welcome {:.1} ms",
        times[0] / r,
        times[1] / r,
        times[2] / r
    );
}

/// The parts of a chain message (PROTOCOL.md §9.14) other than its signature, timed
/// one by one: the message id (two SHA-256 blocks, computed by sender and receiver),
/// ChaCha20-Poly1305 of the padded content (sealed and opened), and the ratchet step
/// (one ChaCha20 block, on each side).
#[wasm_bindgen_test]
fn chain_message_parts() {
    use chacha20poly1305::aead::{Aead, KeyInit, Payload};
    use chacha20poly1305::ChaCha20Poly1305;
    use vroom_shared::crypto::sender::{ratchet, ChainState};
    use vroom_shared::group::chains::Parsed;

    let mut room = Room::new(2);
    let (message, _) = room.committer.encrypt(&[b'x'; 256]).expect("encrypt");
    let n = 5000;
    let time = |f: &mut dyn FnMut() -> usize| {
        let mut best = f64::MAX;
        let mut check = 0;
        for _ in 0..5 {
            let start = now_ms();
            for _ in 0..n {
                check += f();
            }
            best = best.min((now_ms() - start) * 1000.0 / f64::from(n));
        }
        assert!(check > 0);
        best
    };
    let id_us = time(&mut || {
        let parsed = Parsed::parse(&message).expect("a chain message");
        usize::from(parsed.id().0[0]) + 1
    });
    let aead = ChaCha20Poly1305::new(&[9u8; 32].into());
    let aad = [0u8; 34];
    let plain = [b'x'; 256];
    let aead_us = time(&mut || {
        let sealed = aead
            .encrypt(
                &[0u8; 12].into(),
                Payload {
                    msg: &plain,
                    aad: &aad,
                },
            )
            .expect("seal");
        aead.decrypt(
            &[0u8; 12].into(),
            Payload {
                msg: &sealed,
                aad: &aad,
            },
        )
        .expect("open")
        .len()
    });
    let chain = ChainState::generate(0, &mut rand_core::OsRng);
    let step_us = time(&mut || {
        let (_, next) = ratchet(&chain.key);
        usize::from(next.expose_for_test_vectors()[0]) + 1
    });
    console_log!(
        "wasm chain message parts: id {id_us:.2} µs (×2: sender and receiver), \
         ChaCha20-Poly1305 256 B seal + open {aead_us:.2} µs, ratchet step {step_us:.2} µs (×2); \
         sum {:.2} µs",
        2.0 * id_us + aead_us + 2.0 * step_us
    );
}
