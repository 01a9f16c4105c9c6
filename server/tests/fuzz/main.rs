//! Hostile bytes at the relay's decoder of untrusted input, `ClientFrame::decode`: a
//! bounded fuzz run on the stable toolchain (proptest: random bytes, and valid frames
//! of every kind put through random edits), and a corpus of malformed inputs
//! (`corpus.txt`) replayed against the decoder and a real relay.
//!
//! `VROOM_FUZZ_CASES` sets how many inputs each fuzz target tries (4,096 by default, a
//! second or two); a longer run: `VROOM_FUZZ_CASES=1000000 cargo test -p vroom-relay
//! --release --test fuzz`. A failing input is shrunk and printed; add it to the corpus.

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use vroom_shared::wire::{
    ClientFrame, ErrorCode, HostHash, HostSecret, MemberId, Resume, ResumeToken, RoomId,
    RoomSettings,
};
use vroom_testkit::relay::{test_config, Relay};
use vroom_testkit::ws::{room_id, secret};

/// One corpus line.
struct Case {
    answer: ErrorCode,
    what: String,
    bytes: Vec<u8>,
}

fn corpus() -> Vec<Case> {
    include_str!("corpus.txt")
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|line| {
            let mut fields = line.split('|').map(str::trim);
            let (answer, what, hex) = (
                fields.next().unwrap(),
                fields.next().expect("a description"),
                fields.next().expect("the bytes"),
            );
            let answer = match answer {
                "malformed_frame" => ErrorCode::MalformedFrame,
                "unsupported_version" => ErrorCode::UnsupportedVersion,
                "unexpected_frame" => ErrorCode::UnexpectedFrame,
                other => panic!("corpus: unknown answer {other:?}"),
            };
            let mut bytes = Vec::new();
            for token in hex.split_whitespace() {
                let (byte, times) = token.split_once('*').unwrap_or((token, "1"));
                let byte = u8::from_str_radix(byte, 16).expect("corpus: a hex byte");
                let times: usize = times.parse().expect("corpus: a repeat count");
                bytes.extend(std::iter::repeat_n(byte, times));
            }
            Case {
                answer,
                what: what.to_owned(),
                bytes,
            }
        })
        .collect()
}

/// What every input must satisfy: decoding never panics, and a frame that decodes
/// encodes to bytes that decode to the same encoding.
fn check(bytes: &[u8]) {
    if let Ok(frame) = ClientFrame::decode(bytes) {
        let again = frame.encode();
        let frame = ClientFrame::decode(&again).expect("a re-encoded frame decodes");
        assert_eq!(frame.encode(), again, "encoding is not stable");
    }
}

#[test]
fn the_corpus_decodes_as_listed() {
    let corpus = corpus();
    assert!(
        corpus.len() >= 20,
        "the corpus has {} entries",
        corpus.len()
    );
    for case in &corpus {
        let decoded = ClientFrame::decode(&case.bytes);
        assert_eq!(
            decoded.is_err(),
            case.answer == ErrorCode::MalformedFrame,
            "corpus: {}",
            case.what
        );
        check(&case.bytes);
    }
}

/// Each malformed or out-of-place frame gets its error answer on one socket, which stays
/// usable: after all of them it still creates a room.
#[tokio::test]
async fn the_relay_answers_every_corpus_entry_and_stays_usable() {
    let relay = Relay::start(test_config()).await;
    let mut c = relay.connect().await;
    for case in corpus() {
        c.send_bytes(case.bytes).await;
        assert_eq!(
            c.recv().await,
            vroom_testkit::ws::Got::Error(case.answer),
            "corpus: {}",
            case.what
        );
    }
    c.create(room_id(100), &secret(100), RoomSettings::default())
        .await;
    relay.stop().await;
}

fn cases() -> u32 {
    std::env::var("VROOM_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4096)
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: cases(),
        // Failures are printed, shrunk, for the corpus; nothing is written next to the
        // sources.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// The encoding of a valid frame of any kind, with arbitrary fields.
fn valid_frame() -> impl Strategy<Value = Vec<u8>> {
    let settings = (
        any::<Option<u32>>(),
        any::<Option<u32>>(),
        any::<Option<u32>>(),
    )
        .prop_map(
            |(max_members, idle_timeout_secs, max_lifetime_secs)| RoomSettings {
                max_members,
                idle_timeout_secs,
                max_lifetime_secs,
            },
        );
    let resume = any::<Option<(u64, [u8; 16])>>();
    prop_oneof![
        (any::<u16>(), any::<[u8; 16]>(), any::<[u8; 32]>(), settings).prop_map(
            |(version, room, host, settings)| ClientFrame::Create {
                version,
                room: RoomId(room),
                host: HostHash(host),
                settings,
            }
            .encode()
        ),
        (
            any::<u16>(),
            any::<[u8; 16]>(),
            resume,
            any::<Option<u64>>()
        )
            .prop_map(|(version, room, resume, after)| ClientFrame::Join {
                version,
                room: RoomId(room),
                resume: resume.map(|(member, token)| Resume {
                    member: MemberId(member),
                    token: ResumeToken(token),
                }),
                after,
            }
            .encode()),
        (any::<Option<u64>>(), vec(any::<u8>(), 0..300)).prop_map(|(to, payload)| {
            ClientFrame::Send {
                to: to.map(MemberId),
                payload: &payload,
            }
            .encode()
        }),
        any::<u64>().prop_map(|after| ClientFrame::Fetch { after }.encode()),
        (any::<[u8; 32]>(), any::<bool>()).prop_map(|(s, locked)| ClientFrame::Lock {
            secret: HostSecret(s),
            locked,
        }
        .encode()),
        (any::<[u8; 32]>(), any::<u64>()).prop_map(|(s, m)| ClientFrame::Kick {
            secret: HostSecret(s),
            member: MemberId(m),
        }
        .encode()),
        any::<[u8; 32]>().prop_map(|s| ClientFrame::Terminate {
            secret: HostSecret(s)
        }
        .encode()),
        Just(ClientFrame::Leave.encode()),
    ]
}

/// One random edit of a message.
#[derive(Clone, Debug)]
enum Edit {
    Flip(Index, u8),
    Set(Index, u8),
    Insert(Index, u8),
    Remove(Index),
    Truncate(Index),
    Duplicate(Index, Index),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<Index>(), 0u8..8).prop_map(|(i, bit)| Edit::Flip(i, bit)),
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Edit::Set(i, b)),
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Edit::Insert(i, b)),
        any::<Index>().prop_map(Edit::Remove),
        any::<Index>().prop_map(Edit::Truncate),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Edit::Duplicate(a, b)),
    ]
}

fn apply(bytes: &mut Vec<u8>, edit: &Edit) {
    if bytes.is_empty() {
        if let Edit::Insert(_, b) | Edit::Set(_, b) = edit {
            bytes.push(*b);
        }
        return;
    }
    let len = bytes.len();
    match edit {
        Edit::Flip(i, bit) => bytes[i.index(len)] ^= 1 << bit,
        Edit::Set(i, b) => bytes[i.index(len)] = *b,
        Edit::Insert(i, b) => bytes.insert(i.index(len + 1), *b),
        Edit::Remove(i) => {
            bytes.remove(i.index(len));
        }
        Edit::Truncate(i) => bytes.truncate(i.index(len)),
        Edit::Duplicate(from, to) => {
            let start = from.index(len);
            let piece: Vec<u8> = bytes[start..].iter().copied().take(16).collect();
            let at = to.index(len + 1);
            bytes.splice(at..at, piece);
        }
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn fuzz_arbitrary_bytes(bytes in vec(any::<u8>(), 0..600)) {
        check(&bytes);
    }

    #[test]
    fn fuzz_edited_valid_frames(mut bytes in valid_frame(), edits in vec(edit(), 1..8)) {
        for e in &edits {
            apply(&mut bytes, e);
        }
        check(&bytes);
    }

    #[test]
    fn fuzz_valid_frames_round_trip(bytes in valid_frame()) {
        prop_assert!(ClientFrame::decode(&bytes).is_ok());
        check(&bytes);
    }
}
