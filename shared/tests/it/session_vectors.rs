//! The version-2 session's own encodings against `shared/vectors/vroom-v2-session.json`:
//! the join key, a sealed key package, every envelope and content kind, from fixed
//! inputs; and `fail_` inputs that must be refused.
//!
//! Regenerate after an intended change with
//! `VROOM_WRITE_VECTORS=1 cargo test -p vroom-shared --features mls --test it session_vectors`.

use serde_json::{json, Value};
use vroom_shared::crypto::RoomSecret;
use vroom_shared::session::envelope::{
    join_key, open_key_package, seal_key_package_with_nonce, Content, Envelope, HostAction,
    Presence,
};
use vroom_shared::session::MessageId;
use vroom_shared::wire::MemberId;

const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/vectors/vroom-v2-session.json");
const MEMBER: MemberId = MemberId(0x0102_0304_0506_0708);
const NONCE: [u8; 24] = [0x24; 24];
/// The last relay sequence number the newcomer had seen when it sealed its request.
const SINCE: u64 = 42;
/// Stands for a key package's bytes: sealing does not look inside.
const KEY_PACKAGE: &[u8] = b"an MLSMessage(KeyPackage)";
/// The message that edits, deletes, reactions, replies and receipts refer to.
const TARGET: MessageId = MessageId([0x1d; 16]);

fn room() -> RoomSecret {
    RoomSecret::from_bytes(core::array::from_fn(|i| i as u8))
}

fn contents() -> Vec<(&'static str, Content)> {
    vec![
        (
            "text",
            Content::Text {
                body: "hello, vroom".into(),
                sent_at_ms: 1_700_000_000_000,
            },
        ),
        (
            "profile",
            Content::Profile {
                nick: "Ada".into(),
                member: MEMBER,
            },
        ),
        ("host_lock", Content::Host(HostAction::Lock(true))),
        ("host_terminate", Content::Host(HostAction::Terminate)),
        (
            "post_reply_action",
            Content::Post {
                body: "waves".into(),
                sent_at_ms: 1_700_000_000_000,
                reply_to: Some(TARGET),
                action: true,
            },
        ),
        (
            "edit",
            Content::Edit {
                target: TARGET,
                body: "hello, vroom!".into(),
                edited_at_ms: 1_700_000_000_001,
            },
        ),
        ("delete", Content::Delete { target: TARGET }),
        (
            "react",
            Content::React {
                target: TARGET,
                emoji: "👍".into(),
                on: true,
            },
        ),
        ("typing", Content::Typing(true)),
        ("read", Content::Read { upto: TARGET }),
        ("direct_key", Content::DirectKey { public: [0xd1; 32] }),
        ("presence_away", Content::Presence(Presence::Away)),
    ]
}

fn compute() -> Value {
    let room = room();
    let room_id = room.room_id();
    let sealed = seal_key_package_with_nonce(
        &join_key(&room),
        &room_id,
        (MEMBER, SINCE),
        KEY_PACKAGE,
        NONCE,
    );
    let mut padded = serde_json::Map::new();
    for (name, content) in contents() {
        padded.insert(name.into(), json!(hex::encode(&*content.seal_ready())));
    }
    json!({
        "inputs": {
            "room_secret": hex::encode(room.as_bytes()),
            "member_id": MEMBER.0,
            "since": SINCE,
            "nonce": hex::encode(NONCE),
            "key_package": hex::encode(KEY_PACKAGE),
        },
        "room_id": room_id.to_hex(),
        "join_key": hex::encode(join_key(&room).expose_for_test_vectors()),
        "envelope_key_package": hex::encode(sealed.encode()),
        "envelope_welcome": hex::encode(Envelope::Welcome(b"welcome".to_vec()).encode()),
        "envelope_group": hex::encode(Envelope::Group(b"group".to_vec()).encode()),
        "envelope_direct": hex::encode(
            Envelope::Direct {
                enc: [0xe5; 32],
                sealed: b"sealed".to_vec(),
            }
            .encode()
        ),
        "content_padded": padded,
    })
}

#[test]
fn session_encodings_match_the_vector_file() {
    super::vector_file::check(PATH, &compute());
}

fn recorded_key_package() -> (u64, [u8; 24], Vec<u8>) {
    let recorded: Value =
        serde_json::from_str(&std::fs::read_to_string(PATH).expect("file")).expect("json");
    let bytes = hex::decode(recorded["envelope_key_package"].as_str().expect("hex")).expect("hex");
    match Envelope::decode(&bytes).expect("an envelope") {
        Envelope::KeyPackage {
            since,
            nonce,
            sealed,
        } => (since, nonce, sealed),
        other => panic!("not a key package: {other:?}"),
    }
}

#[test]
fn the_recorded_key_package_opens_and_every_content_round_trips() {
    let room = room();
    let (since, nonce, sealed) = recorded_key_package();
    assert_eq!(since, SINCE);
    let opened = open_key_package(
        &join_key(&room),
        &room.room_id(),
        (MEMBER, since),
        &nonce,
        &sealed,
    );
    assert_eq!(opened.as_deref(), Ok(KEY_PACKAGE));
    for (name, content) in contents() {
        assert_eq!(Content::open(&content.seal_ready()), Ok(content), "{name}");
    }
}

#[test]
fn fail_key_packages_for_another_member_join_point_room_secret_or_altered_are_refused() {
    let room = room();
    let (since, nonce, sealed) = recorded_key_package();
    let key = join_key(&room);
    let other = RoomSecret::from_bytes([0x55; 32]);
    let id = room.room_id();
    let other_id = other.room_id();
    let other_key = join_key(&other);
    let refused = |key, room, who, nonce: &[u8; 24], sealed: &[u8]| {
        open_key_package(key, room, who, nonce, sealed).is_err()
    };
    assert!(refused(
        &key,
        &id,
        (MemberId(MEMBER.0 + 1), since),
        &nonce,
        &sealed
    ));
    assert!(refused(&key, &id, (MEMBER, since - 1), &nonce, &sealed));
    assert!(refused(&key, &other_id, (MEMBER, since), &nonce, &sealed));
    assert!(refused(&other_key, &id, (MEMBER, since), &nonce, &sealed));
    let mut flipped = sealed.clone();
    flipped[0] ^= 1;
    assert!(refused(&key, &id, (MEMBER, since), &nonce, &flipped));
    let mut nonce2 = nonce;
    nonce2[23] ^= 1;
    assert!(refused(&key, &id, (MEMBER, since), &nonce2, &sealed));
}

#[test]
fn fail_envelopes_and_contents_of_another_format_or_with_trailing_bytes_are_refused() {
    let good = Envelope::Group(b"group".to_vec()).encode();
    let mut other_format = good.clone();
    other_format[0] = 1;
    let trailing = [good.as_slice(), &[0]].concat();
    for bad in [other_format, trailing, Vec::new(), vec![2], vec![2, 9]] {
        assert!(Envelope::decode(&bad).is_err(), "{bad:?}");
    }
    let padded = Content::Host(HostAction::Terminate).seal_ready();
    let mut other_format = padded.to_vec();
    other_format[4] = 1; // the format byte follows the 4-byte length of the padding
    let mut nonzero_padding = padded.to_vec();
    *nonzero_padding.last_mut().unwrap() = 1;
    for bad in [
        other_format,
        nonzero_padding,
        padded[..padded.len() - 1].to_vec(),
    ] {
        assert!(Content::open(&bad).is_err());
    }
}
