//! Application messages on chains (PROTOCOL.md §9.14) against
//! `shared/vectors/vroom-v2-chains.json`. The messages here are built step by step from
//! the document alone (the export tree's walk to the chain secret, HKDF, the ChaCha20
//! ratchet, ChaCha20-Poly1305, Ed25519), as a second implementation would; the
//! session's [`Chains`] must open them, and refuse the `fail_` variants. The walk is
//! checked against openmls's own in `group_provider.rs`.
//!
//! Regenerate after an intended change with
//! `VROOM_WRITE_VECTORS=1 cargo test -p vroom-shared --features mls --test it chain_vectors`.

use std::collections::BTreeMap;

use chacha20::cipher::{KeyIvInit, StreamCipher};
use chacha20::ChaCha20;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::ChaCha20Poly1305;
use ed25519_dalek::{Signer, SigningKey};
use hkdf::Hkdf;
use serde_json::{json, Value};
use sha2::Sha256;
use vroom_shared::crypto::RoomSecret;
use vroom_shared::group::binding::group_id;
use vroom_shared::group::chains::{self, Chains, Parsed};
use vroom_shared::group::{GroupError, PublicIdentity};
use zeroize::Zeroizing;

const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/vectors/vroom-v2-chains.json");
const EPOCH: u64 = 7;
const SENDER_LEAF: u32 = 1;
const OWN_LEAF: u32 = 0;
/// The epoch's `application_export_secret` (any 32 bytes for the vectors).
const APPLICATION_EXPORT: [u8; 32] = [0x5e; 32];
const SIGNING: [u8; 32] = [0xa2; 32];
/// The epoch's MLS epoch authenticator (any 32 bytes for the vectors).
const AUTHENTICATOR: [u8; 32] = [0xe7; 32];

fn gid() -> [u8; 16] {
    group_id(&RoomSecret::from_bytes(core::array::from_fn(|i| i as u8)))
}

fn sender() -> PublicIdentity {
    PublicIdentity {
        client_id: [0xc1; 16],
        signature_key: SigningKey::from_bytes(&SIGNING).verifying_key().to_bytes(),
    }
}

/// RFC 9420's `ExpandWithLabel(secret, label, context, 32)` with HKDF-SHA256:
/// `HKDF-Expand(secret, u16 length ‖ opaque<V>("MLS 1.0 " ‖ label) ‖ opaque<V>(context))`
/// (labels and contexts here are shorter than 64 bytes: a one-byte length).
fn expand_with_label(secret: &[u8; 32], label: &str, context: &[u8]) -> [u8; 32] {
    let full = [b"MLS 1.0 ".as_slice(), label.as_bytes()].concat();
    let mut info = 32u16.to_be_bytes().to_vec();
    info.push(u8::try_from(full.len()).expect("short label"));
    info.extend_from_slice(&full);
    info.push(u8::try_from(context.len()).expect("short context"));
    info.extend_from_slice(context);
    let mut out = [0u8; 32];
    Hkdf::<Sha256>::from_prk(secret)
        .expect("prk")
        .expand(&info, &mut out)
        .expect("expand");
    out
}

/// The chain secret of an epoch whose `application_export_secret` is given: the leaf of
/// the export tree at [`chains::COMPONENT_ID`], 16 steps down from the root, the id's
/// bits most significant first, a 1 going right.
pub(crate) fn chain_secret(application_export: &[u8; 32]) -> [u8; 32] {
    let mut node = *application_export;
    for bit in (0..16).rev() {
        let right = (chains::COMPONENT_ID >> bit) & 1 == 1;
        let side: &[u8] = if right { b"right" } else { b"left" };
        node = expand_with_label(&node, "tree", side);
    }
    node
}

/// `HKDF-Expand(secret, "vroom/v2/chain-root" ‖ leaf, 32)`.
fn root(leaf: u32) -> [u8; 32] {
    let mut info = b"vroom/v2/chain-root".to_vec();
    info.extend_from_slice(&leaf.to_be_bytes());
    let mut out = [0u8; 32];
    Hkdf::<Sha256>::from_prk(&chain_secret(&APPLICATION_EXPORT))
        .expect("prk")
        .expand(&info, &mut out)
        .expect("expand");
    out
}

/// One ratchet step: (message key, next chain key).
fn step(chain: &[u8; 32]) -> ([u8; 32], [u8; 32]) {
    let mut block = [0u8; 64];
    ChaCha20::new(chain.into(), b"vroom/v2/ckd".into()).apply_keystream(&mut block);
    (
        block[..32].try_into().expect("32"),
        block[32..].try_into().expect("32"),
    )
}

/// The message `plaintext` at `generation`, sealed with `key` and signed with `signing`.
fn message(generation: u32, key: &[u8; 32], plaintext: &[u8], signing: &[u8; 32]) -> Vec<u8> {
    message_in(&AUTHENTICATOR, generation, key, plaintext, signing)
}

/// The same, signed for the epoch whose authenticator is `authenticator`.
fn message_in(
    authenticator: &[u8; 32],
    generation: u32,
    key: &[u8; 32],
    plaintext: &[u8],
    signing: &[u8; 32],
) -> Vec<u8> {
    let mut header = vec![0xFF, 0x01];
    header.extend_from_slice(&gid());
    header.extend_from_slice(&EPOCH.to_be_bytes());
    header.extend_from_slice(&SENDER_LEAF.to_be_bytes());
    header.extend_from_slice(&generation.to_be_bytes());
    let aad = [gid().as_slice(), &header].concat();
    let ciphertext = ChaCha20Poly1305::new(key.into())
        .encrypt(
            (&[0u8; 12]).into(),
            Payload {
                msg: plaintext,
                aad: &aad,
            },
        )
        .expect("seal");
    let mut signed = b"vroom/v2/chain-signature".to_vec();
    signed.extend_from_slice(&gid());
    signed.extend_from_slice(authenticator);
    signed.extend_from_slice(&header);
    signed.extend_from_slice(&ciphertext);
    let signature = SigningKey::from_bytes(signing).sign(&signed).to_bytes();
    [header, ciphertext, signature.to_vec()].concat()
}

/// `SHA-256("vroom/v2/chain-message-id" ‖ header ‖ signature)`, first 16 bytes.
fn id_of(message: &[u8]) -> [u8; 16] {
    use sha2::Digest;
    let digest = Sha256::new()
        .chain_update(b"vroom/v2/chain-id")
        .chain_update(&message[..34])
        .chain_update(&message[message.len() - 64..])
        .finalize();
    digest[..16].try_into().expect("16")
}

struct Built {
    keys: [[u8; 32]; 2],
    messages: [Vec<u8>; 2],
}

const PLAINTEXTS: [&[u8]; 2] = [b"first, at generation 0", b"second, at generation 1"];

fn build() -> Built {
    let (k0, c1) = step(&root(SENDER_LEAF));
    let (k1, _) = step(&c1);
    Built {
        keys: [k0, k1],
        messages: [
            message(0, &k0, PLAINTEXTS[0], &SIGNING),
            message(1, &k1, PLAINTEXTS[1], &SIGNING),
        ],
    }
}

fn compute() -> Value {
    let b = build();
    json!({
        "inputs": {
            "group_id": hex::encode(gid()),
            "epoch": EPOCH,
            "epoch_authenticator": hex::encode(AUTHENTICATOR),
            "application_export_secret": hex::encode(APPLICATION_EXPORT),
            "component_id": chains::COMPONENT_ID,
            "sender_leaf": SENDER_LEAF,
            "sender_ed25519_secret": hex::encode(SIGNING),
            "plaintexts": PLAINTEXTS.iter().map(hex::encode).collect::<Vec<_>>(),
        },
        "chain_secret": hex::encode(chain_secret(&APPLICATION_EXPORT)),
        "chain_root": hex::encode(root(SENDER_LEAF)),
        "message_keys": b.keys.iter().map(hex::encode).collect::<Vec<_>>(),
        "messages": b.messages.iter().map(hex::encode).collect::<Vec<_>>(),
        "message_ids": b.messages.iter().map(|m| hex::encode(id_of(m))).collect::<Vec<_>>(),
    })
}

fn chains() -> Chains {
    let mut c = Chains::default();
    let roster = BTreeMap::from([(SENDER_LEAF, sender())]);
    c.enter(
        EPOCH,
        &AUTHENTICATOR,
        Zeroizing::new(chain_secret(&APPLICATION_EXPORT)),
        roster,
    )
    .expect("enter");
    c
}

fn open(c: &mut Chains, bytes: &[u8]) -> Result<Vec<u8>, GroupError> {
    let parsed = Parsed::parse(bytes).ok_or(GroupError::Malformed)?;
    c.open(&parsed, OWN_LEAF, &gid(), Some(&sender()))
        .map(|(who, text)| {
            assert_eq!(who, sender());
            text.to_vec()
        })
}

#[test]
fn chain_messages_match_the_vector_file() {
    super::vector_file::check(PATH, &compute());
}

#[test]
fn messages_built_from_the_document_open_once_in_any_order() {
    let b = build();
    let mut c = chains();
    assert!(chains::is_chain_message(&b.messages[1]));
    for m in &b.messages {
        assert_eq!(Parsed::parse(m).expect("parse").id().0, id_of(m));
    }
    assert_eq!(open(&mut c, &b.messages[1]), Ok(PLAINTEXTS[1].to_vec()));
    assert_eq!(open(&mut c, &b.messages[0]), Ok(PLAINTEXTS[0].to_vec()));
    for m in &b.messages {
        assert_eq!(open(&mut c, m), Err(GroupError::Replay));
    }
}

#[test]
fn fail_altered_forged_or_misplaced_messages_are_refused() {
    let b = build();
    let good = &b.messages[0];
    let mut flipped = good.clone();
    flipped[40] ^= 1;
    let other_signer = message(0, &b.keys[0], PLAINTEXTS[0], &[0xb2; 32]);
    // Signed by the sender but sealed under the wrong key: the AEAD refuses it.
    let wrong_key = message(0, &b.keys[1], PLAINTEXTS[0], &SIGNING);
    let mut other_epoch = good.clone();
    other_epoch[25] ^= 1;
    let mut other_leaf = good.clone();
    other_leaf[29] = 9;
    let mut other_group = good.clone();
    other_group[2] ^= 1;
    assert_eq!(
        open(&mut chains(), &other_group),
        Err(GroupError::WrongRoom)
    );
    // Signed for the same epoch number of another instance of the group (one created
    // again under the same id): refused at the signature.
    let other_instance = message_in(&[0xe8; 32], 0, &b.keys[0], PLAINTEXTS[0], &SIGNING);
    for bad in [&flipped, &other_signer, &wrong_key, &other_instance] {
        assert_eq!(open(&mut chains(), bad), Err(GroupError::Unauthentic));
    }
    // A refused message changes nothing: after each of them, in one set of chains,
    // the genuine messages still open, out of order.
    let mut c = chains();
    let far_signed = message(chains::MAX_FORWARD + 1, &b.keys[0], b"x", &SIGNING);
    for bad in [
        &flipped,
        &other_signer,
        &wrong_key,
        &other_instance,
        &far_signed,
    ] {
        assert!(open(&mut c, bad).is_err());
    }
    assert_eq!(open(&mut c, &b.messages[1]), Ok(PLAINTEXTS[1].to_vec()));
    assert_eq!(open(&mut c, &b.messages[0]), Ok(PLAINTEXTS[0].to_vec()));
    assert_eq!(
        open(&mut chains(), &other_epoch),
        Err(GroupError::WrongEpoch)
    );
    assert_eq!(
        open(&mut chains(), &other_leaf),
        Err(GroupError::Unauthentic)
    );
    assert_eq!(open(&mut chains(), &good[..80]), Err(GroupError::Malformed));
    // Far ahead of the chain: refused before any key is derived.
    let far = message(chains::MAX_FORWARD + 1, &b.keys[0], b"x", &SIGNING);
    assert_eq!(open(&mut chains(), &far), Err(GroupError::Unauthentic));
    // The right message, read by the member who holds the leaf now (another one).
    let mut c = chains();
    let parsed = Parsed::parse(good).expect("parse");
    let stranger = PublicIdentity {
        client_id: [0xc2; 16],
        ..sender()
    };
    assert!(matches!(
        c.open(&parsed, OWN_LEAF, &gid(), Some(&stranger)),
        Err(GroupError::WrongEpoch)
    ));
}
