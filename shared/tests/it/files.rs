//! Files: the STREAM chunk encryption against `shared/vectors/vroom-v2-files.json`
//! (with `fail_` vectors that must not open), checked against XChaCha20-Poly1305 called
//! directly with the documented nonce and associated data; the offer's encoding; and
//! property tests that reordered, dropped, repeated or truncated chunks never make a
//! receiver finish with other bytes than were sent, while a lossy lane still delivers;
//! and that a member holding the file key cannot make chunks in the sender's name.
//!
//! Regenerate after an intended change with
//! `VROOM_WRITE_VECTORS=1 cargo test -p vroom-shared --features mls --test it files`.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use proptest::prelude::*;
use serde_json::json;
use vroom_shared::files::lane::Packet;
use vroom_shared::files::sign::{ChunkSigner, ChunkVerifier, LABEL_CHUNK_SIG};
use vroom_shared::files::stream::{ChunkCipher, LABEL_CHUNK};
use vroom_shared::files::transfer::{Incoming, Outgoing, Status, Step, RESEND_SPACING_MS};
use vroom_shared::files::{FileId, FileKey, FileOffer, NONCE_PREFIX_LEN};
use vroom_shared::session::envelope::Content;
use vroom_shared::wire::{ClientFrame, MemberId};

const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/vectors/vroom-v2-files.json");
const SENDER: MemberId = MemberId(1);
const RECEIVER: MemberId = MemberId(2);

/// The seed of the vectors' chunk-signing key.
const SIGNER_SEED: [u8; 32] = [0x5e; 32];

/// The fixed offer of the vectors: 20 bytes in chunks of 8 (8, 8 and a final 4).
fn offer() -> FileOffer {
    FileOffer {
        id: FileId(core::array::from_fn(|i| 0xf0 + i as u8)),
        name: "photo.jpg".into(),
        media_type: "image/jpeg".into(),
        size: 20,
        chunk_size: 8,
        key: FileKey(core::array::from_fn(|i| i as u8)),
        nonce: [0x19; NONCE_PREFIX_LEN],
        signer: ChunkSigner::from_seed(&SIGNER_SEED).public(),
    }
}

const CONTENT: &[u8; 20] = b"twenty bytes of file";

/// The nonce as PROTOCOL.md §12 writes it down, built by hand.
fn nonce(prefix: &[u8; NONCE_PREFIX_LEN], index: u32, last: bool) -> [u8; 24] {
    let mut n = [0; 24];
    n[..19].copy_from_slice(prefix);
    n[19..23].copy_from_slice(&index.to_be_bytes());
    n[23] = u8::from(last);
    n
}

fn by_hand(offer: &FileOffer, index: u32, last: bool, plaintext: &[u8]) -> Vec<u8> {
    let aead = XChaCha20Poly1305::new((&offer.key.0).into());
    let mut aad = LABEL_CHUNK.to_vec();
    aad.extend_from_slice(&offer.id.0);
    let n = nonce(&offer.nonce, index, last);
    aead.encrypt(
        XNonce::from_slice(&n),
        Payload {
            msg: plaintext,
            aad: &aad,
        },
    )
    .unwrap()
}

#[test]
fn chunk_vectors() {
    let offer = offer();
    let cipher = ChunkCipher::new(&offer.key, &offer.nonce, &offer.id);
    let signer = ChunkSigner::from_seed(&SIGNER_SEED);
    let verifier = ChunkVerifier::new(&offer.signer).unwrap();
    let chunks: Vec<&[u8]> = CONTENT.chunks(8).collect();
    let mut sealed = Vec::new();
    let mut rows = Vec::new();
    for (i, plain) in chunks.iter().enumerate() {
        let index = i as u32;
        let last = i + 1 == chunks.len();
        let s = cipher.seal(index, last, plain);
        assert_eq!(s, by_hand(&offer, index, last, plain), "chunk {i}");
        assert_eq!(cipher.open(index, last, &s).unwrap(), *plain);
        let signature = signer.sign(&offer.id, index, &s);
        assert!(verifier.verify(&offer.id, index, &s, &signature));
        rows.push(json!({
            "index": index,
            "last": last,
            "nonce": hex::encode(nonce(&offer.nonce, index, last)),
            "plaintext": hex::encode(plain),
            "sealed": hex::encode(&s),
            "signature": hex::encode(signature),
        }));
        sealed.push(s);
    }
    // Each must fail to open: moved, cut short, extended, from another file, altered.
    let other = {
        let mut o = offer.clone();
        o.id.0[0] ^= 1;
        ChunkCipher::new(&o.key, &o.nonce, &o.id)
    };
    let mut flipped = sealed[0].clone();
    flipped[0] ^= 0x80;
    let fails: Vec<(&str, u32, bool, &[u8], &ChunkCipher)> = vec![
        ("fail_reordered", 0, false, &sealed[1], &cipher),
        ("fail_truncated", 1, true, &sealed[1], &cipher),
        ("fail_final_not_final", 2, false, &sealed[2], &cipher),
        ("fail_other_file", 0, false, &sealed[0], &other),
        ("fail_altered", 0, false, &flipped, &cipher),
    ];
    let mut fail_rows = serde_json::Map::new();
    for (name, index, last, bytes, c) in fails {
        assert!(c.open(index, last, bytes).is_err(), "{name} opened");
        fail_rows.insert(
            name.into(),
            json!({ "open_as_index": index, "open_as_last": last, "sealed": hex::encode(bytes),
                    "file_id": if std::ptr::eq(c, &other) { hex::encode({ let mut id = offer.id.0; id[0] ^= 1; id }) } else { hex::encode(offer.id.0) } }),
        );
    }
    let content = Content::File(offer.clone());
    let signature = signer.sign(&offer.id, 0, &sealed[0]);
    let packet = Packet::Chunk {
        file: offer.id,
        index: 0,
        sealed: &sealed[0],
        signature: &signature,
    };
    let computed = json!({
        "description": "vroom v2 files (PROTOCOL.md §12): STREAM (BE32) over XChaCha20-Poly1305; nonce = prefix(19) || index u32 BE || last(1); aad = label || file id",
        "label_chunk": String::from_utf8_lossy(LABEL_CHUNK),
        "label_chunk_signature": String::from_utf8_lossy(LABEL_CHUNK_SIG),
        "signer_seed": hex::encode(SIGNER_SEED),
        "signer_public": hex::encode(offer.signer),
        "key": hex::encode(offer.key.0),
        "nonce_prefix": hex::encode(offer.nonce),
        "file_id": hex::encode(offer.id.0),
        "size": offer.size,
        "chunk_size": offer.chunk_size,
        "content": hex::encode(CONTENT),
        "chunks": rows,
        "fail": fail_rows,
        "content_file_padded": hex::encode(&*content.seal_ready()),
        "lane_chunk_packet": hex::encode(packet.encode()),
        "lane_ack_packet": hex::encode(Packet::Ack { file: offer.id, next: 3 }.encode()),
        "client_frame_stream_to_member_2": hex::encode(ClientFrame::Stream { to: Some(RECEIVER), payload: &Packet::Cancel { file: offer.id }.encode() }.encode()),
    });
    let recorded = crate::vector_file::check(PATH, &computed);
    assert_eq!(
        Content::open(&hex::decode(recorded["content_file_padded"].as_str().unwrap()).unwrap())
            .unwrap(),
        content
    );
}

/// A sealed chunk as a receiver gets it: index, sealed bytes, signature.
type Sealed = (u32, Vec<u8>, Vec<u8>);

/// A sender of a new offer of `size` bytes in chunks of `chunk`, to `receivers`, and
/// the offer as it sends it (with its chunk-signing key).
fn sender(size: usize, chunk: u32, receivers: &[MemberId]) -> (Outgoing, FileOffer) {
    let out = Outgoing::new(FileOffer::new("f", "x", size as u64, chunk), receivers, 0).unwrap();
    let offer = out.offer().clone();
    (out, offer)
}

/// Seals every chunk of `data` in chunks of `chunk` bytes, as a sender does.
fn sealed_chunks(data: &[u8], chunk: u32) -> (FileOffer, Vec<Sealed>) {
    let (mut out, offer) = sender(data.len(), chunk, &[RECEIVER]);
    out.on_packet(
        RECEIVER,
        &Packet::Ack {
            file: offer.id,
            next: 0,
        },
        0,
    );
    let mut chunks = Vec::new();
    let mut acked = 0;
    while let Some(req) = out.next_chunk() {
        let start = req.offset as usize;
        let frame = out.seal(req.index, &data[start..start + req.len]).unwrap();
        let (sealed, signature) = sealed_of(&frame);
        chunks.push((req.index, sealed, signature));
        acked += 1;
        out.on_packet(
            RECEIVER,
            &Packet::Ack {
                file: offer.id,
                next: acked,
            },
            0,
        );
    }
    assert_eq!(out.status(), &Status::Done);
    (offer, chunks)
}

/// The sealed bytes and signature of a chunk frame.
fn sealed_of(frame: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let Ok(ClientFrame::Stream { to: None, payload }) = ClientFrame::decode(frame) else {
        panic!("a chunk is a broadcast Stream frame");
    };
    match Packet::decode(payload) {
        Some(Packet::Chunk {
            sealed, signature, ..
        }) => (sealed.to_vec(), signature.to_vec()),
        other => panic!("not a chunk: {other:?}"),
    }
}

/// Feeds `order` (indexes into `chunks`, possibly reordered, repeated or missing some)
/// to a receiver; returns what it wrote and whether it finished.
fn receive(offer: &FileOffer, chunks: &[Sealed], order: &[usize]) -> (Vec<u8>, bool) {
    let (mut inc, _) = Incoming::accept(SENDER, offer.clone(), u64::MAX, 0).unwrap();
    let mut written = Vec::new();
    for &k in order {
        let (index, sealed, signature) = &chunks[k];
        match inc.on_chunk(SENDER, *index, sealed, signature, 0) {
            Step::Data { data, .. } => written.extend(data),
            Step::Rejected(_) => break,
            _ => {}
        }
    }
    (written, inc.status() == &Status::Done)
}

#[test]
fn a_chunk_sent_under_another_index_or_flag_is_rejected() {
    let data: Vec<u8> = (0..100u8).collect();
    let (offer, chunks) = sealed_chunks(&data, 16);
    let (mut inc, _) = Incoming::accept(SENDER, offer.clone(), u64::MAX, 0).unwrap();
    // Chunk 1's bytes (and signature) announced as chunk 0: rejected, and the transfer
    // stops.
    assert!(matches!(
        inc.on_chunk(SENDER, 0, &chunks[1].1, &chunks[1].2, 0),
        Step::Rejected(_)
    ));
    assert!(matches!(inc.status(), Status::Failed(_)));
    // A chunk relayed as if from another member is not taken.
    let (mut inc, _) = Incoming::accept(SENDER, offer, u64::MAX, 0).unwrap();
    assert_eq!(
        inc.on_chunk(MemberId(9), 0, &chunks[0].1, &chunks[0].2, 0),
        Step::Wait
    );
}

/// An insider took the offer, so it holds the file key; with the relay's help (which
/// stamps the chunk as the sender's) it sends another receiver chunks of its own
/// making. The key opens them, but they are not the sender's: the receiver refuses
/// them, whatever signature the insider puts on them, and never writes a byte of them.
#[test]
fn an_insider_holding_the_file_key_cannot_make_chunks_in_the_senders_name() {
    let data = b"the real contract, signed by the sender".to_vec();
    let (offer, chunks) = sealed_chunks(&data, 16);
    let insider = ChunkCipher::new(&offer.key, &offer.nonce, &offer.id);
    let forged = &insider.seal(0, false, b"the fake contrac")[..];
    // The file key opens it: only the signature tells it is not the sender's.
    assert_eq!(insider.open(0, false, forged).unwrap(), b"the fake contrac");
    let own_key = ChunkSigner::generate().sign(&offer.id, 0, forged);
    for signature in [
        own_key.to_vec(),
        chunks[0].2.clone(),
        vec![0; 64],
        Vec::new(),
    ] {
        let (mut inc, _) = Incoming::accept(SENDER, offer.clone(), u64::MAX, 0).unwrap();
        assert!(
            matches!(
                inc.on_chunk(SENDER, 0, forged, &signature, 0),
                Step::Rejected(_)
            ),
            "a chunk the sender did not make was taken"
        );
        assert!(matches!(inc.status(), Status::Failed(_)));
    }
    // An offer whose signing key is not a usable key is refused before anything.
    let mut weak = offer.clone();
    weak.signer = [0; 32];
    assert!(Incoming::accept(SENDER, weak, u64::MAX, 0).is_err());
    // The sender's own chunks still go through.
    let (written, done) = receive(&offer, &chunks, &(0..chunks.len()).collect::<Vec<_>>());
    assert!(done);
    assert_eq!(written, data);
}

/// A receiver cannot make the sender send the file again and again: a resend request
/// never goes below what that receiver confirmed, and requests closer together than
/// the spacing are not honoured.
#[test]
fn resend_requests_are_spaced_and_never_below_what_was_confirmed() {
    let data = [7u8; 100];
    let (mut out, offer) = sender(data.len(), 10, &[RECEIVER]);
    let ack = |next| Packet::Ack {
        file: offer.id,
        next,
    };
    let resend = |from| Packet::Resend {
        file: offer.id,
        from,
    };
    out.on_packet(RECEIVER, &ack(0), 0);
    for _ in 0..6 {
        let req = out.next_chunk().unwrap();
        let start = req.offset as usize;
        out.seal(req.index, &data[start..start + req.len]).unwrap();
    }
    out.on_packet(RECEIVER, &ack(5), 0);
    // Asking from chunk 0 after confirming 5: the sender goes back to 5 only.
    out.on_packet(RECEIVER, &resend(0), 1_000);
    assert_eq!(out.next_chunk().map(|r| r.index), Some(5));
    let req = out.next_chunk().unwrap();
    out.seal(req.index, &data[50..60]).unwrap();
    // Again at once: not honoured.
    out.on_packet(RECEIVER, &resend(5), 1_000 + RESEND_SPACING_MS - 1);
    assert_eq!(out.next_chunk().map(|r| r.index), Some(6));
    // After the spacing: honoured.
    out.on_packet(RECEIVER, &resend(5), 1_000 + RESEND_SPACING_MS);
    assert_eq!(out.next_chunk().map(|r| r.index), Some(5));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Whatever order, drops and repeats the lane delivers, a receiver that finishes
    /// has exactly the file, and one that was given fewer than all chunks never
    /// finishes.
    #[test]
    fn reordered_dropped_repeated_or_truncated_chunks_never_finish_wrong(
        data in proptest::collection::vec(any::<u8>(), 0..300),
        chunk in 1u32..64,
        order in proptest::collection::vec(0usize..64, 0..40),
    ) {
        let (offer, chunks) = sealed_chunks(&data, chunk);
        let order: Vec<usize> = order.into_iter().map(|k| k % chunks.len()).collect();
        let (written, done) = receive(&offer, &chunks, &order);
        prop_assert!(data.starts_with(&written), "wrote bytes that are not the file's");
        if done {
            prop_assert_eq!(&written, &data);
        }
        let all: std::collections::BTreeSet<usize> = order.iter().copied().collect();
        if all.len() < chunks.len() {
            prop_assert!(!done, "finished without every chunk");
        }
        // The whole file in order, with any chunk repeated, always finishes.
        let mut in_order: Vec<usize> = (0..chunks.len()).collect();
        if let Some(&k) = order.first() {
            in_order.insert(k + 1, k);
        }
        let (written, done) = receive(&offer, &chunks, &in_order);
        prop_assert!(done);
        prop_assert_eq!(written, data);
    }

}

proptest! {
    // Each case runs a whole transfer: fewer cases.
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    /// A lane that drops chunks (as the relay does for a receiver whose lane is full)
    /// still delivers the file intact: the receiver asks again for what is missing, and
    /// the sender resends after silence.
    #[test]
    fn a_lossy_lane_still_delivers(
        data in proptest::collection::vec(any::<u8>(), 1..1000),
        chunk in 16u32..128,
        seed in 1u64..,
    ) {
        let (mut out, offer) = sender(data.len(), chunk, &[RECEIVER]);
        let (mut inc, accept) = Incoming::accept(SENDER, offer.clone(), u64::MAX, 0).unwrap();
        let mut to_sender = vec![accept];
        let mut written = Vec::new();
        let mut now = 0;
        // A quarter of the chunks lost, at random (xorshift: the loss pattern must
        // not repeat with the sender's window, or it could hit one chunk forever).
        let mut state = seed;
        let mut lose = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % 4 == 0
        };
        for _ in 0..5_000 {
            for frame in to_sender.drain(..) {
                let Ok(ClientFrame::Stream { payload, .. }) = ClientFrame::decode(&frame) else {
                    panic!("not a stream frame");
                };
                out.on_packet(RECEIVER, &Packet::decode(payload).unwrap(), now);
            }
            while let Some(req) = out.next_chunk() {
                let start = req.offset as usize;
                let frame = out.seal(req.index, &data[start..start + req.len]).unwrap();
                if lose() {
                    continue;
                }
                let (sealed, signature) = sealed_of(&frame);
                match inc.on_chunk(SENDER, req.index, &sealed, &signature, now) {
                    Step::Data { data, ack, .. } => {
                        written.extend(data);
                        to_sender.push(ack);
                    }
                    Step::Ask(frame) => to_sender.push(frame),
                    Step::Rejected(_) => prop_assert!(false, "an intact chunk was rejected"),
                    Step::Duplicate | Step::Wait => {}
                }
            }
            if out.status() == &Status::Done {
                break;
            }
            now += 500;
            out.tick(now);
            to_sender.extend(inc.tick(now));
        }
        prop_assert_eq!(out.status(), &Status::Done);
        prop_assert_eq!(inc.status(), &Status::Done);
        prop_assert_eq!(written, data);
    }
}

#[test]
fn a_sender_is_not_held_up_by_a_receiver_that_leaves_or_never_answers() {
    let (mut out, offer) = sender(1000, 100, &[RECEIVER, MemberId(3)]);
    // Nobody has taken it: nothing to send yet.
    assert_eq!(out.next_chunk(), None);
    out.on_packet(
        RECEIVER,
        &Packet::Ack {
            file: offer.id,
            next: 0,
        },
        10,
    );
    assert!(out.next_chunk().is_some());
    // Member 3 never answers: dropped after the accept timeout.
    out.tick(vroom_shared::files::transfer::ACCEPT_MS + 1);
    assert_eq!(out.receivers(), 1);
    // The receiver leaves: the transfer fails at once, with a sentence.
    out.member_left(RECEIVER);
    assert!(matches!(out.status(), Status::Failed(why) if why.contains("Nobody")));
}

#[test]
fn a_receiver_gives_up_on_a_silent_sender_and_resumes_after_a_reconnect() {
    let (_, offer) = sender(1000, 100, &[RECEIVER]);
    let (mut inc, _) = Incoming::accept(SENDER, offer.clone(), u64::MAX, 0).unwrap();
    let ask = inc.reconnected().expect("a resend request");
    let Ok(ClientFrame::Stream { to, payload }) = ClientFrame::decode(&ask) else {
        panic!("not a stream frame");
    };
    assert_eq!(to, Some(SENDER));
    assert_eq!(
        Packet::decode(payload),
        Some(Packet::Resend {
            file: offer.id,
            from: 0
        })
    );
    assert!(inc
        .tick(vroom_shared::files::transfer::GIVE_UP_MS)
        .is_some());
    assert!(matches!(inc.status(), Status::Failed(why) if why.contains("stopped sending")));
    // An offer above the room's limit is refused before anything is taken.
    assert!(Incoming::accept(SENDER, offer, 999, 0).is_err());
}
