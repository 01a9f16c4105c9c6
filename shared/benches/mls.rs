//! Benchmarks of the version-2 group layer (MLS, `vroom_shared::group`), natively:
//! a 200-byte application message (encrypt by one member, decrypt by another; MLS
//! signs every application message, so the Ed25519 signature and its verification are
//! inside), and a join into a room of 50 (the commit that adds a key package, an
//! existing member processing it, the newcomer processing its Welcome).
//! `cargo bench -p vroom-shared --bench mls`; BENCHMARKS.md has the figures.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use ed25519_dalek::{Signer, SigningKey, Verifier};
use vroom_shared::crypto::{OsRng, RoomSecret};
use vroom_shared::group::{Group, Identity, Incoming, Joiner};

/// The member that commits, another member, and the room secret; other members exist
/// only as leaves (their own states are not needed to time these two).
struct Room {
    secret: RoomSecret,
    committer: Group,
    other: Group,
}

fn welcome_of(result: Incoming) -> Vec<u8> {
    match result {
        Incoming::Commit {
            welcome: Some(w), ..
        } => w,
        _ => panic!("no Welcome"),
    }
}

/// Adds a newcomer through `room.committer`; returns its group and the time of the
/// three steps (commit, another member processing it, Welcome).
fn add(room: &mut Room) -> (Group, [Duration; 3]) {
    let mut joiner = Joiner::new(Identity::generate()).expect("key package");
    let t0 = Instant::now();
    let commit = room.committer.add(joiner.key_package()).expect("add");
    let welcome = welcome_of(room.committer.handle(&commit).expect("echo"));
    let t1 = Instant::now();
    room.other.handle(&commit).expect("member");
    let t2 = Instant::now();
    let group = joiner.join(&room.secret, &welcome).expect("join");
    let t3 = Instant::now();
    (group, [t1 - t0, t2 - t1, t3 - t2])
}

/// A room of `n` members built by sequential adds (each with the committer's path),
/// as a room grows in use.
fn room_of(n: usize) -> Room {
    let secret = RoomSecret::generate(&mut OsRng);
    let mut committer = Group::create(Identity::generate(), &secret).expect("create");
    let mut joiner = Joiner::new(Identity::generate()).expect("key package");
    let commit = committer.add(joiner.key_package()).expect("add");
    let welcome = welcome_of(committer.handle(&commit).expect("echo"));
    let other = joiner.join(&secret, &welcome).expect("join");
    let mut room = Room {
        secret,
        committer,
        other,
    };
    while room.committer.members().len() < n {
        add(&mut room);
    }
    room
}

fn message(c: &mut Criterion) {
    let text = vec![b'x'; 200];
    let mut g = c.benchmark_group("mls_message_200B");
    let mut room = room_of(2);
    g.bench_function("encrypt_and_decrypt", |b| {
        b.iter(|| {
            let (bytes, _) = room.committer.encrypt(black_box(&text)).expect("encrypt");
            black_box(room.other.handle(&bytes).expect("decrypt"));
        })
    });
    let mut room = room_of(50);
    g.bench_function("encrypt_and_decrypt_in_50", |b| {
        b.iter(|| {
            let (bytes, _) = room.committer.encrypt(black_box(&text)).expect("encrypt");
            black_box(room.other.handle(&bytes).expect("decrypt"));
        })
    });
    // The part of the above that is the MLS signature: one Ed25519 signature and one
    // verification of a message-sized input (what MLS signs is the framed content).
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
    let mut room = room_of(50);
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
                    let (newcomer, times) = add(&mut room);
                    total += times[step];
                    // Untimed: remove the newcomer again, so the room stays at 50.
                    let leaf = newcomer.own_leaf();
                    let commit = room.committer.remove(&[leaf]).expect("remove");
                    room.committer.handle(&commit).expect("echo");
                    room.other.handle(&commit).expect("member");
                }
                total
            })
        });
    }
    g.finish();
}

criterion_group!(benches, message, join);
criterion_main!(benches);
