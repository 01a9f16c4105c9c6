//! Benchmarks of the version-2 group layer (MLS, `vroom_shared::group`), natively:
//! a 200-byte application message (encrypt by one member, decrypt by another; MLS
//! signs every application message, so the Ed25519 signature and its verification are
//! inside), and a join into a room of 50 (the commit that adds a key package, an
//! existing member processing it, the newcomer processing its Welcome).
//! `cargo bench -p vroom-bench-wasm --bench mls`; BENCHMARKS.md has the figures, and
//! `tests/mls.rs` times the same in Chromium.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use ed25519_dalek::{Signer, SigningKey, Verifier};
use vroom_shared::crypto::OsRng;
use vroom_shared::group::{Identity, Joiner};

use vroom_bench_wasm::mls_room::Room;

fn message(c: &mut Criterion) {
    let text = vec![b'x'; 200];
    let mut g = c.benchmark_group("mls_message_200B");
    let mut room = Room::new(2);
    g.bench_function("encrypt_and_decrypt", |b| {
        b.iter(|| black_box(room.message(black_box(&text))))
    });
    let mut room = Room::new(50);
    g.bench_function("encrypt_and_decrypt_in_50", |b| {
        b.iter(|| black_box(room.message(black_box(&text))))
    });
    // The part of the above that is the MLS signature: one Ed25519 signature and one
    // verification of a message-sized input (MLS signs the framed content).
    let key = SigningKey::generate(&mut OsRng);
    let public = key.verifying_key();
    let signed = vec![7u8; 300];
    g.bench_function("ed25519_sign_and_verify", |b| {
        b.iter(|| {
            let sig = key.sign(black_box(&signed));
            black_box(public.verify(&signed, &sig)).expect("verify");
        })
    });
    g.finish();
}

fn join(c: &mut Criterion) {
    let mut g = c.benchmark_group("mls_join_room_of_50");
    g.sample_size(20);
    let mut room = Room::new(50);
    // What travels for one join into a room of 50 (printed, for BENCHMARKS.md).
    let joiner = Joiner::new(Identity::generate()).expect("key package");
    let key_package = joiner.key_package().len();
    let (commit, welcome) = room.commit_add(&joiner);
    room.other.handle(&commit).expect("member");
    let newcomer = room.join(joiner, &welcome);
    room.remove(newcomer.own_leaf());
    eprintln!(
        "join into a room of 50 ({:?}): key package {key_package} B, commit {} B, Welcome {} B",
        vroom_shared::group::CIPHERSUITE,
        commit.len(),
        welcome.len()
    );
    let names = [
        "commit_add (committer)",
        "process_commit (each member)",
        "process_welcome (newcomer)",
    ];
    for (step, name) in names.into_iter().enumerate() {
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let joiner = Joiner::new(Identity::generate()).expect("key package");
                    let t0 = Instant::now();
                    let (commit, welcome) = room.commit_add(&joiner);
                    let t1 = Instant::now();
                    room.other.handle(&commit).expect("member");
                    let t2 = Instant::now();
                    let newcomer = room.join(joiner, &welcome);
                    let t3 = Instant::now();
                    total += [t1 - t0, t2 - t1, t3 - t2][step];
                    // Untimed: remove the newcomer again, so the room stays at 50.
                    room.remove(newcomer.own_leaf());
                }
                total
            })
        });
    }
    g.finish();
}

criterion_group!(benches, message, join);
criterion_main!(benches);
