//! Benchmarks of the client's cryptography, natively: a 200-byte chat message through
//! the real sender-key path (seal, sign, verify, open), its parts, the pairwise key
//! agreement, and file-chunk throughput. `cargo bench -p vroom-bench-wasm --bench crypto`.
//!
//! The same round trip runs in headless Chromium as WebAssembly (`tests/crypto.rs`);
//! BENCHMARKS.md at the repository root has both sets of figures.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use ed25519_dalek::{Signer, SigningKey};
use vroom_shared::crypto::sender::{ratchet, ChainState};
use vroom_shared::crypto::{MemberKeys, OsRng};

use vroom_bench_wasm::roundtrip::{self, Pair};

fn message(c: &mut Criterion) {
    let text = roundtrip::text_200();
    let mut g = c.benchmark_group("message_200B");
    let mut pair = Pair::new();
    g.bench_function("seal_and_open", |b| {
        b.iter(|| black_box(pair.round_trip(black_box(&text))))
    });
    let mut pair = Pair::new();
    g.bench_function("seal", |b| {
        b.iter(|| black_box(pair.seal(black_box(&text))))
    });
    // Messages must be opened in the order they were sealed: seal in the setup.
    let sealer = std::cell::RefCell::new(Pair::new());
    g.bench_function("open", |b| {
        b.iter_batched(
            || sealer.borrow_mut().seal(&text),
            |payload| black_box(sealer.borrow_mut().open(&payload)),
            BatchSize::SmallInput,
        )
    });
    let mut pair = Pair::new();
    g.bench_function("encrypt_decrypt", |b| {
        b.iter(|| black_box(pair.encrypt_decrypt(black_box(&text))))
    });
    let signer = std::cell::RefCell::new(Pair::new());
    g.bench_function("sign", |b| {
        b.iter_batched(
            || signer.borrow_mut().encrypt(&text),
            |encrypted| black_box(signer.borrow().sign(encrypted)),
            BatchSize::SmallInput,
        )
    });
    let mut pair = Pair::new();
    let sealed = {
        let encrypted = pair.encrypt(&text);
        pair.sign(encrypted)
    };
    g.bench_function("verify", |b| {
        b.iter(|| black_box(pair.verify(black_box(&sealed))))
    });
    g.finish();
}

/// The parts of a message's cost, to show where the time goes.
fn parts(c: &mut Criterion) {
    let mut g = c.benchmark_group("parts");
    let signing = SigningKey::generate(&mut OsRng);
    let verifying = signing.verifying_key();
    // What a 200-byte message signs: label, header, nonce, padded ciphertext.
    let signed = vec![0x5a_u8; 24 + 36 + 24 + 256 + 16];
    let sig = signing.sign(&signed);
    g.bench_function("ed25519_sign", |b| {
        b.iter(|| black_box(signing.sign(black_box(&signed))))
    });
    g.bench_function("ed25519_verify_strict", |b| {
        b.iter(|| black_box(verifying.verify_strict(black_box(&signed), &sig).is_ok()))
    });
    g.bench_function("xchacha20poly1305_seal_open_256B", |b| {
        b.iter(|| black_box(roundtrip::aead_seal_open_256()))
    });
    let chain = ChainState::generate(0, &mut OsRng).key;
    g.bench_function("ratchet_step", |b| {
        b.iter(|| black_box(ratchet(black_box(&chain))))
    });
    g.finish();
}

fn x25519(c: &mut Criterion) {
    let mut g = c.benchmark_group("x25519");
    let ours = MemberKeys::generate(&mut OsRng);
    let theirs = MemberKeys::generate(&mut OsRng).public();
    g.bench_function("pairwise_key", |b| {
        b.iter(|| black_box(roundtrip::pairwise(&ours, black_box(&theirs))))
    });
    let secret = x25519_dalek::StaticSecret::random_from_rng(OsRng);
    let public = x25519_dalek::PublicKey::from(&x25519_dalek::StaticSecret::random_from_rng(OsRng));
    g.bench_function("diffie_hellman", |b| {
        b.iter(|| black_box(secret.diffie_hellman(black_box(&public))))
    });
    g.bench_function("generate_member_keys", |b| {
        b.iter(|| black_box(MemberKeys::generate(&mut OsRng).public()))
    });
    g.finish();
}

fn chunks(c: &mut Criterion) {
    let mut g = c.benchmark_group("file_chunk");
    for size in [16 * 1024, 60 * 1024] {
        let data = vec![0xab_u8; size];
        g.throughput(Throughput::Bytes(size as u64));
        let mut pair = Pair::new();
        g.bench_function(format!("seal_and_open_{}KiB", size / 1024), |b| {
            b.iter(|| {
                let payload = pair.seal_bytes(black_box(&data));
                black_box(pair.open_bytes(&payload))
            })
        });
    }
    g.finish();
}

criterion_group!(benches, message, parts, x25519, chunks);
criterion_main!(benches);
