//! Fuzzing of every decoder in this crate that reads bytes or text from someone else,
//! with proptest on the stable toolchain (a bounded run in the default tests; raise the
//! cases with `PROPTEST_CASES`): outer frames, inner payloads, chunk-lane packets,
//! invite links, short codes and room names. Each must answer with a value or a clean
//! error, never a panic; a session fed hostile chunk-lane packets stays in the room.
//! Group messages as the session handles them are fuzzed in `session.rs` and `group.rs`.

use proptest::collection::vec;
use proptest::prelude::*;
use vroom_shared::crypto::RoomSecret;
use vroom_shared::files::lane::Packet;
use vroom_shared::invite::Invite;
use vroom_shared::session::envelope::{Content, Envelope};
use vroom_shared::ways::code::ShortCode;
use vroom_shared::ways::passphrase::{Passphrase, RoomName};
use vroom_shared::wire::{ClientFrame, ServerFrame};

use super::relay::Net;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        ..ProptestConfig::default()
    }
}

/// Real bytes of each decoder's format, to mutate: a frame, an envelope, a content.
fn samples() -> Vec<Vec<u8>> {
    let mut net = Net::new();
    let invite = net.create("alice");
    net.join("bob", &invite);
    net.say("alice", "hello");
    let mut out: Vec<Vec<u8>> = net.payloads.iter().map(|p| p.payload.clone()).collect();
    out.push(
        ClientFrame::Send {
            to: None,
            payload: b"x",
        }
        .encode(),
    );
    out.push(
        Content::Text {
            body: "hi".into(),
            sent_at_ms: 1,
        }
        .seal_ready()
        .to_vec(),
    );
    out
}

/// Every byte decoder of the crate, on `bytes`.
fn decode_everything(bytes: &[u8]) {
    let _ = ServerFrame::decode(bytes);
    let _ = ClientFrame::decode(bytes);
    let _ = Envelope::decode(bytes);
    let _ = Content::open(bytes);
    let _ = Content::open_unpadded(bytes);
    let _ = Packet::decode(bytes);
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_bytes_never_panic_a_decoder(bytes in vec(any::<u8>(), 0..700)) {
        decode_everything(&bytes);
    }

    #[test]
    fn mutated_real_bytes_never_panic_a_decoder(
        which in any::<prop::sample::Index>(),
        edits in vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in proptest::option::of(any::<prop::sample::Index>()),
    ) {
        let samples = samples();
        let mut bytes = samples[which.index(samples.len())].clone();
        for (at, value) in edits {
            let at = at.index(bytes.len());
            bytes[at] ^= value | 1;
        }
        if let Some(cut) = cut {
            bytes.truncate(cut.index(bytes.len() + 1));
        }
        decode_everything(&bytes);
    }

    #[test]
    fn typed_text_never_panics_a_parser(text in "\\PC{0,120}|[0-9a-z -]{0,40}") {
        let _ = Invite::parse(&text);
        let _ = ShortCode::parse(&text);
        let _ = RoomName::parse(&text);
        let _ = Passphrase::new(&text);
    }

    #[test]
    fn mutated_invite_links_parse_or_are_refused_cleanly(
        edits in vec((any::<prop::sample::Index>(), any::<char>()), 1..4),
    ) {
        let link = Invite::new("https://relay.example", RoomSecret::from_bytes([9; 32])).link();
        let mut chars: Vec<char> = link.chars().collect();
        for (at, c) in edits {
            let at = at.index(chars.len());
            chars[at] = c;
        }
        let mutated: String = chars.into_iter().collect();
        if let Ok(invite) = Invite::parse(&mutated) {
            // Whatever parses names an origin a client may connect to.
            prop_assert!(
                invite.origin().starts_with("https://") || invite.origin().starts_with("http://"),
                "{}", invite.origin()
            );
        }
    }

    #[test]
    fn hostile_chunk_lane_packets_never_panic_a_session(
        payloads in vec((vec(any::<u8>(), 0..400), any::<bool>()), 1..8),
    ) {
        let mut net = Net::new();
        let invite = net.create("alice");
        net.join("bob", &invite);
        let alice = net.id("alice");
        let bob = net.id("bob");
        for (payload, directed) in payloads {
            let frame = ServerFrame::Stream {
                from: alice,
                to: directed.then_some(bob),
                payload: &payload,
            }
            .encode();
            net.inject("bob", frame);
        }
        net.say("alice", "after");
        prop_assert!(net.texts("bob").contains(&"after".to_owned()));
    }
    #[test]
    fn hostile_code_exchanges_never_panic_a_member_nor_lower_its_failure_count(
        messages in vec((0u64..4, vec(any::<u8>(), 0..120)), 1..10),
    ) {
        let mut net = Net::new();
        let invite = net.create("alice");
        net.join("bob", &invite);
        net.inject("alice", ServerFrame::CodeOffered { nameplate: 7, expires_secs: 300 }.encode());
        let mut last = 0;
        for (exchange, payload) in messages {
            let frame = ServerFrame::CodeMessage { exchange, nameplate: 7, payload: &payload };
            net.inject("alice", frame.encode());
            // None once the code burned.
            let failures = net.clients["alice"].session.code_failures(7).unwrap_or(u8::MAX);
            prop_assert!(failures >= last, "the failure count went down");
            last = failures;
        }
        net.say("bob", "after");
        prop_assert!(net.texts("alice").contains(&"after".to_owned()));
    }
}

#[test]
fn garbled_hellos_count_as_failures_and_the_third_burns_the_code() {
    let mut net = Net::new();
    let invite = net.create("alice");
    net.join("bob", &invite);
    net.inject(
        "alice",
        ServerFrame::CodeOffered {
            nameplate: 7,
            expires_secs: 300,
        }
        .encode(),
    );
    for (i, exchange) in [11u64, 12, 13].into_iter().enumerate() {
        let frame = ServerFrame::CodeMessage {
            exchange,
            nameplate: 7,
            payload: &[0xee; 5],
        };
        net.inject("alice", frame.encode());
        let expected = (i < 2).then_some(i as u8 + 1);
        assert_eq!(net.clients["alice"].session.code_failures(7), expected);
    }
    let notices = net
        .clients
        .get_mut("alice")
        .unwrap()
        .session
        .take_code_notices();
    assert!(notices.iter().any(|n| matches!(
        n,
        vroom_shared::session::CodeNotice::Burned { nameplate: 7 }
    )));
}
