//! vroom's own constructions against `shared/vectors/vroom-v1.json`: fixed inputs (and
//! a fixed stream of "random" bytes) must give exactly the recorded outputs, so another
//! implementation can check itself against the file and a change to a label, an
//! encoding or an order shows up here.
//!
//! Regenerate after an intended protocol change with
//! `VROOM_WRITE_VECTORS=1 cargo test -p vroom-shared --test it vectors` and review the diff.

use rand_core::{CryptoRng, RngCore};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use vroom_shared::crypto::announce::{self, AnnounceKind};
use vroom_shared::crypto::envelope::{Content, Envelope, Payload, Plaintext};
use vroom_shared::crypto::padding;
use vroom_shared::crypto::sender::{self, ratchet, ChainState, ReceiveChain, SendChain};
use vroom_shared::crypto::{CryptoError, MemberKeys, RoomSecret};
use vroom_shared::wire::{MemberId, RoomId};

/// Deterministic bytes: SHA-256 of a label and a block counter. Stands in for the OS
/// generator so sealed outputs are reproducible.
pub(crate) struct FixedRng {
    label: &'static [u8],
    block: u64,
    buf: Vec<u8>,
}

impl FixedRng {
    pub(crate) fn new(label: &'static [u8]) -> Self {
        FixedRng {
            label,
            block: 0,
            buf: Vec::new(),
        }
    }
}

impl RngCore for FixedRng {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }
    fn next_u64(&mut self) -> u64 {
        let mut b = [0; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for d in dest {
            if self.buf.is_empty() {
                let mut h = Sha256::new();
                h.update(self.label);
                h.update(self.block.to_be_bytes());
                self.block += 1;
                self.buf = h.finalize().to_vec();
            }
            *d = self.buf.remove(0);
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for FixedRng {}

const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/vectors/vroom-v1.json");

fn alice() -> MemberKeys {
    MemberKeys::from_secret_bytes([0xa1; 32], [0xa2; 32])
}

fn bob() -> MemberKeys {
    MemberKeys::from_secret_bytes([0xb1; 32], [0xb2; 32])
}

const ALICE: MemberId = MemberId(0x0102_0304_0506_0708);
const BOB: MemberId = MemberId(0x1112_1314_1516_1718);

fn compute() -> Value {
    let secret = RoomSecret::from_bytes(core::array::from_fn(|i| i as u8));
    let room = secret.room_id();
    let (a, b) = (alice(), bob());
    let pairwise = a.pairwise_key(&b.public(), &room).unwrap();
    let mut rng = FixedRng::new(b"vroom vectors");

    let ann = announce::seal(
        &a,
        &secret.announce_key(),
        &room,
        ALICE,
        "alice",
        1,
        AnnounceKind::Hello,
        &mut rng,
    );
    let mut chain = SendChain::new(3, &mut rng);
    let distribution =
        sender::seal_chain_state(chain.state(), &pairwise, &room, ALICE, BOB, &mut rng);
    let plain = Plaintext {
        sent_at_ms: 1_700_000_000_000,
        content: Content::Text {
            body: "hello, vroom".into(),
        },
    };
    let message = sender::seal_message(
        &mut chain,
        &a,
        &room,
        ALICE,
        &padding::pad(&plain.encode()),
        &mut rng,
    );

    let ck0 = ChainState::generate(0, &mut FixedRng::new(b"vroom chain"));
    let (mk0, ck1) = ratchet(&ck0.key);
    let (mk1, ck2) = ratchet(&ck1);

    let pads: Vec<Value> = [0usize, 60, 61, 1000, 16380, 16381, 40000]
        .iter()
        .map(|&n| json!({"len": n, "padded": padding::bucket(n)}))
        .collect();
    json!({
        "comment": "vroom protocol v1 construction vectors; see PROTOCOL.md, appendix. Hex unless noted. Random bytes come from SHA-256(label || u64 BE block counter), label given per section.",
        "room": {
            "room_secret": hex::encode(secret.as_bytes()),
            "room_id": hex::encode(room.0),
            "announce_key": hex::encode(secret.announce_key().expose_for_test_vectors()),
        },
        "members": {
            "alice": {
                "member_id": ALICE.0,
                "x25519_secret": hex::encode([0xa1; 32]),
                "ed25519_secret": hex::encode([0xa2; 32]),
                "x25519_public": hex::encode(a.public().dh.as_bytes()),
                "ed25519_public": hex::encode(a.public().verify.as_bytes()),
                "fingerprint": a.public().fingerprint(),
            },
            "bob": {
                "member_id": BOB.0,
                "x25519_secret": hex::encode([0xb1; 32]),
                "ed25519_secret": hex::encode([0xb2; 32]),
                "x25519_public": hex::encode(b.public().dh.as_bytes()),
                "ed25519_public": hex::encode(b.public().verify.as_bytes()),
                "fingerprint": b.public().fingerprint(),
            },
            "pairwise_key": hex::encode(pairwise.expose_for_test_vectors()),
        },
        "chain": {
            "rng_label": "vroom chain",
            "chain_key_0": hex::encode(ck0.key.expose_for_test_vectors()),
            "message_key_0": hex::encode(mk0.expose_for_test_vectors()),
            "chain_key_1": hex::encode(ck1.expose_for_test_vectors()),
            "message_key_1": hex::encode(mk1.expose_for_test_vectors()),
            "chain_key_2": hex::encode(ck2.expose_for_test_vectors()),
        },
        "payloads": {
            "rng_label": "vroom vectors",
            "announce_alice_hello_counter_1": hex::encode(Payload::new(Envelope::Announce(ann)).encode()),
            "sender_key_alice_to_bob_epoch_3": hex::encode(Payload::new(Envelope::SenderKey(distribution)).encode()),
            "message_alice_epoch_3_counter_0": hex::encode(Payload::new(Envelope::Message(message)).encode()),
            "message_plaintext": hex::encode(&*plain.encode()),
        },
        "padding": pads,
    })
}

#[test]
fn constructions_match_the_vector_file() {
    super::vector_file::check(PATH, &compute());
}

fn payload(v: &Value, name: &str) -> Envelope {
    Payload::decode(&hex::decode(v["payloads"][name].as_str().unwrap()).unwrap())
        .unwrap()
        .envelope
}

#[test]
fn recorded_payloads_open_with_the_right_keys_only() {
    let v: Value = serde_json::from_str(&std::fs::read_to_string(PATH).unwrap()).unwrap();
    let secret = RoomSecret::from_bytes(core::array::from_fn(|i| i as u8));
    let room = secret.room_id();
    let other_room = RoomId([0xee; 16]);
    let (a, b) = (alice(), bob());

    let Envelope::Announce(ann) = payload(&v, "announce_alice_hello_counter_1") else {
        panic!()
    };
    let opened = announce::open(&ann, &secret.announce_key(), &room, ALICE).unwrap();
    assert_eq!(
        (opened.nick.as_str(), opened.counter, opened.public),
        ("alice", 1, a.public())
    );
    assert_eq!(
        announce::open(&ann, &secret.announce_key(), &room, BOB).err(),
        Some(CryptoError::Unauthentic)
    );
    assert_eq!(
        announce::open(&ann, &secret.announce_key(), &other_room, ALICE).err(),
        Some(CryptoError::Unauthentic)
    );

    let Envelope::SenderKey(dist) = payload(&v, "sender_key_alice_to_bob_epoch_3") else {
        panic!()
    };
    let pairwise = b.pairwise_key(&a.public(), &room).unwrap();
    let state = sender::open_chain_state(&dist, &pairwise, &room, ALICE, BOB).unwrap();
    assert_eq!((state.epoch, state.counter), (3, 0));
    assert!(
        sender::open_chain_state(&dist, &pairwise, &room, BOB, ALICE).is_err(),
        "reflected"
    );
    let mut relabelled = dist.clone();
    relabelled.epoch = 4;
    assert!(sender::open_chain_state(&relabelled, &pairwise, &room, ALICE, BOB).is_err());

    let Envelope::Message(msg) = payload(&v, "message_alice_epoch_3_counter_0") else {
        panic!()
    };
    msg.verify(&room, ALICE, &a.public()).unwrap();
    assert_eq!(
        msg.verify(&room, ALICE, &b.public()).err(),
        Some(CryptoError::Unauthentic),
        "forged sender"
    );
    assert_eq!(
        msg.verify(&other_room, ALICE, &a.public()).err(),
        Some(CryptoError::Unauthentic),
        "cross-room"
    );
    let mut chain = ReceiveChain::new(state);
    let plain = chain.open(&msg, &room, ALICE).unwrap();
    let plain = Plaintext::decode(padding::unpad(&plain).unwrap()).unwrap();
    assert_eq!(
        plain.content,
        Content::Text {
            body: "hello, vroom".into()
        }
    );
    assert_eq!(
        chain.open(&msg, &room, ALICE).err(),
        Some(CryptoError::Replay)
    );
}

#[test]
fn fail_low_order_public_keys_are_refused() {
    // X25519 with the all-zero public key (a low-order point) gives all zeros.
    let mut evil = bob().public();
    evil.dh = x25519_dalek::PublicKey::from([0u8; 32]);
    let room = RoomId([1; 16]);
    assert_eq!(
        alice().pairwise_key(&evil, &room).err(),
        Some(CryptoError::NonContributory)
    );
}

#[test]
fn skipped_keys_are_kept_within_bounds_and_used_once() {
    let room = RoomId([2; 16]);
    let a = alice();
    let mut rng = FixedRng::new(b"skip");
    let mut chain = SendChain::new(0, &mut rng);
    let mut receive = ReceiveChain::new(chain.state().clone());
    let msgs: Vec<_> = (0..4)
        .map(|_| sender::seal_message(&mut chain, &a, &room, ALICE, &padding::pad(b"x"), &mut rng))
        .collect();
    // Out of order: 3, 1, 0, 2; then any again is a replay.
    for i in [3, 1, 0, 2] {
        receive.open(&msgs[i], &room, ALICE).unwrap();
    }
    for m in &msgs {
        assert_eq!(
            receive.open(m, &room, ALICE).err(),
            Some(CryptoError::Replay)
        );
    }
    // Far ahead is refused without moving the chain.
    for _ in 0..=sender::MAX_SKIP + 1 {
        chain = {
            let m =
                sender::seal_message(&mut chain, &a, &room, ALICE, &padding::pad(b"y"), &mut rng);
            let _ = m;
            chain
        };
    }
    let far = sender::seal_message(&mut chain, &a, &room, ALICE, &padding::pad(b"z"), &mut rng);
    assert_eq!(
        receive.open(&far, &room, ALICE).err(),
        Some(CryptoError::TooFarAhead)
    );
}

#[test]
fn key_types_and_labels_are_distinct() {
    let secret = RoomSecret::from_bytes([9; 32]);
    assert_ne!(
        &secret.room_id().0[..],
        &secret.announce_key().expose_for_test_vectors()[..16]
    );
    let ck = ChainState::generate(0, &mut FixedRng::new(b"labels"));
    let (mk, next) = ratchet(&ck.key);
    assert_ne!(mk.expose_for_test_vectors(), next.expose_for_test_vectors());
    assert_ne!(
        mk.expose_for_test_vectors(),
        ck.key.expose_for_test_vectors()
    );
}
