//! The version-2 group layer's own derivations against
//! `shared/vectors/vroom-v2-group.json`: group id, room extension, fingerprint, safety
//! code and message id from fixed inputs, and `fail_` inputs that must be refused.
//! (The MLS messages themselves follow RFC 9420 and openmls's own test vectors.)
//!
//! Regenerate after an intended change with
//! `VROOM_WRITE_VECTORS=1 cargo test -p vroom-shared --test it group_vectors`.

use ed25519_dalek::SigningKey;
use serde_json::{json, Value};
use vroom_shared::crypto::RoomSecret;
use vroom_shared::group::binding::{group_id, room_extension, verify_room_extension};
use vroom_shared::group::{GroupError, MessageId, PublicIdentity, SafetyCode};

const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/vectors/vroom-v2-group.json");

fn room() -> RoomSecret {
    RoomSecret::from_bytes(core::array::from_fn(|i| i as u8))
}

fn host_key() -> [u8; 32] {
    SigningKey::from_bytes(&[0xa2; 32])
        .verifying_key()
        .to_bytes()
}

fn compute() -> Value {
    let room = room();
    let host = host_key();
    let gid = group_id(&room);
    let member = PublicIdentity {
        client_id: [0xc1; 16],
        signature_key: host,
    };
    let fingerprint = member.fingerprint();
    let authenticator: Vec<u8> = (0xe0..=0xff).collect();
    let code = SafetyCode::derive(&gid, 7, &authenticator);
    let strip: Vec<Value> = code
        .strip()
        .iter()
        .map(|c| json!([c.emoji, c.colour]))
        .collect();
    let message = b"an MLSMessage's canonical bytes";
    json!({
        "inputs": {
            "room_secret": hex::encode(room.as_bytes()),
            "host_ed25519_secret": hex::encode([0xa2; 32]),
            "host_key": hex::encode(host),
            "client_id": hex::encode([0xc1; 16]),
            "epoch": 7,
            "epoch_authenticator": hex::encode(&authenticator),
            "message": hex::encode(message),
        },
        "group_id": hex::encode(gid),
        "room_extension": hex::encode(room_extension(&room, &host)),
        "fingerprint": hex::encode(fingerprint.0),
        "fingerprint_words": fingerprint.to_string(),
        "safety_code": hex::encode(code.0),
        "safety_code_words": code.to_string(),
        "safety_code_strip": strip,
        "message_id": hex::encode(MessageId::of(message).0),
    })
}

#[test]
fn group_derivations_match_the_vector_file() {
    super::vector_file::check(PATH, &compute());
}

#[test]
fn the_recorded_room_extension_verifies_for_its_room_and_host() {
    let recorded: Value =
        serde_json::from_str(&std::fs::read_to_string(PATH).expect("file")).expect("json");
    let gid = hex::decode(recorded["group_id"].as_str().expect("hex")).expect("hex");
    let ext = hex::decode(recorded["room_extension"].as_str().expect("hex")).expect("hex");
    assert_eq!(verify_room_extension(&room(), &gid, &ext), Ok(host_key()));
}

#[test]
fn fail_room_extensions_for_another_room_host_or_shape_are_refused() {
    let room = room();
    let gid = group_id(&room);
    let ext = room_extension(&room, &host_key());
    // Another room's secret.
    let other = RoomSecret::from_bytes([0x55; 32]);
    assert_eq!(
        verify_room_extension(&other, &group_id(&other), &ext),
        Err(GroupError::WrongRoom)
    );
    // The right extension under another group id.
    assert_eq!(
        verify_room_extension(&room, &group_id(&other), &ext),
        Err(GroupError::WrongRoom)
    );
    // Another host key with this host's tag.
    let mut swapped = ext.clone();
    swapped[..32].copy_from_slice(
        &SigningKey::from_bytes(&[0xb2; 32])
            .verifying_key()
            .to_bytes(),
    );
    assert_eq!(
        verify_room_extension(&room, &gid, &swapped),
        Err(GroupError::WrongRoom)
    );
    // A flipped tag bit, a short or a long extension.
    let mut flipped = ext.clone();
    flipped[63] ^= 1;
    for bad in [
        flipped,
        ext[..63].to_vec(),
        [ext.as_slice(), &[0]].concat(),
        Vec::new(),
    ] {
        assert_eq!(
            verify_room_extension(&room, &gid, &bad),
            Err(GroupError::WrongRoom)
        );
    }
}
