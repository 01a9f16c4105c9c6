//! The two ends of a transfer, sans I/O: [`Outgoing`] says which chunk to read next and
//! seals it; [`Incoming`] opens chunks in order and says what to write. Both take the
//! clock as an argument (milliseconds) and are driven by the client's tick.
//!
//! # Flow control
//! The sender keeps at most [`WINDOW`] chunks ahead of the slowest receiver's
//! acknowledgement, so the relay holds at most that much of a file per receiver and a
//! slow receiver slows its transfer (never the room: the relay drops chunks for a
//! receiver whose lane is full, and the receiver asks for them again).
//!
//! # Loss, reconnects and silence
//! - A receiver that sees a chunk beyond the one it expects asks to resend from it
//!   ([`Packet::Resend`]); so does a receiver that reconnects ([`Incoming::reconnected`]).
//!   The sender rewinds to the earliest chunk asked for; receivers that have it ignore it.
//!   A receiver's request never rewinds below what it has confirmed, and counts once
//!   per [`RESEND_SPACING_MS`] (a receiver cannot make the sender send a file again and
//!   again).
//! - A sender whose receivers have confirmed nothing for [`RESEND_MS`] rewinds to the
//!   slowest receiver's last confirmed chunk (the last chunks may have been lost).
//! - A receiver that has not taken the offer after [`ACCEPT_MS`], or confirmed nothing
//!   for [`GIVE_UP_MS`], or left the room, is dropped; when none is left the transfer
//!   fails with a sentence saying so. A receiver that hears nothing for [`GIVE_UP_MS`]
//!   fails its side the same way.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use super::lane::Packet;
use super::sign::{ChunkSigner, ChunkVerifier};
use super::stream::{ChunkCipher, TAG_LEN};
use super::{FileId, FileOffer, OfferProblem};
use crate::wire::MemberId;

/// Chunks the sender may be ahead of its slowest receiver.
pub const WINDOW: u32 = 16;
/// Silence after which the sender resends from the slowest receiver's last confirmed
/// chunk.
pub const RESEND_MS: u64 = 2_000;
/// How long receivers have to take an offer (a person may be asked first).
pub const ACCEPT_MS: u64 = 60_000;
/// How long a receiving client lets its user answer an offer: less than the sender
/// waits ([`ACCEPT_MS`]), so a late answer never goes to a sender that stopped
/// listening.
pub const ANSWER_MS: u64 = ACCEPT_MS - 10_000;
/// Shortest time between two resend requests of one receiver that the sender honours.
pub const RESEND_SPACING_MS: u64 = 500;
/// Silence after which either side gives up on the other (longer than a client's
/// reconnect attempts, so a reconnect resumes rather than fails).
pub const GIVE_UP_MS: u64 = 90_000;

/// Progress of one transfer, for a progress bar.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Progress {
    /// Bytes done (confirmed by the slowest receiver, or written).
    pub done: u64,
    /// The file's size.
    pub total: u64,
    /// Bytes per second since the transfer started.
    pub rate: f64,
    /// Seconds left at that rate, when there is a rate.
    pub eta_secs: Option<u64>,
}

impl Progress {
    fn new(done: u64, total: u64, elapsed_ms: u64) -> Progress {
        let rate = if elapsed_ms == 0 {
            0.0
        } else {
            done as f64 * 1000.0 / elapsed_ms as f64
        };
        let eta_secs =
            (rate > 0.0).then(|| (total.saturating_sub(done) as f64 / rate).ceil() as u64);
        Progress {
            done,
            total,
            rate,
            eta_secs,
        }
    }
}

/// Where a transfer stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// Chunks are still moving.
    Running,
    /// Every chunk arrived (at every remaining receiver, for a sender).
    Done,
    /// It stopped, for this reason (a sentence for the user).
    Failed(String),
}

/// Why the sender dropped a receiver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dropped {
    /// It declined or cancelled.
    Declined,
    /// It did not take the offer in time (its client may not take files).
    NoAnswer,
    /// It stopped confirming chunks.
    Silent,
    /// It left the room.
    Left,
}

impl Dropped {
    /// What the receiver did, as the middle of "NAME … FILE" (`"left before receiving"`).
    pub fn describe(self) -> &'static str {
        match self {
            Dropped::Declined => "declined or cancelled",
            Dropped::NoAnswer => "did not take (their app may not take files)",
            Dropped::Silent => "stopped answering during",
            Dropped::Left => "left before receiving",
        }
    }
}

/// A receiver, as its sender tracks it.
#[derive(Clone, Copy, Debug)]
struct Peer {
    /// The next chunk it expects (`None` until it takes the offer).
    next: Option<u32>,
    /// When it was last heard from.
    heard_ms: u64,
    /// When its last resend request was honoured.
    resent_ms: Option<u64>,
}

/// The sending end of one file.
#[derive(Debug)]
pub struct Outgoing {
    offer: FileOffer,
    cipher: ChunkCipher,
    signer: ChunkSigner,
    chunks: u32,
    peers: BTreeMap<MemberId, Peer>,
    /// The next chunk to send.
    cursor: u32,
    started_ms: u64,
    /// When an acknowledgement last moved the slowest receiver on (or a rewind).
    moved_ms: u64,
    /// SHA-256 of each chunk sealed so far: a chunk sealed again must be the same bytes
    /// (a nonce must never seal two plaintexts).
    digests: Vec<[u8; 32]>,
    dropped: Vec<(MemberId, Dropped)>,
    status: Status,
}

/// The chunk [`Outgoing::next_chunk`] asks the client to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkRequest {
    /// Its index.
    pub index: u32,
    /// Where it starts in the file.
    pub offset: u64,
    /// How many bytes to read.
    pub len: usize,
}

impl Outgoing {
    /// Starts sending `offer` to `receivers` (the other members of the group now), with
    /// a fresh chunk-signing key whose public half goes into the offer (send
    /// [`Outgoing::offer`], not the offer given). `None` when the offer does not fit a
    /// 32-bit chunk counter.
    pub fn new(mut offer: FileOffer, receivers: &[MemberId], now_ms: u64) -> Option<Outgoing> {
        let chunks = u32::try_from(offer.chunks()).ok().filter(|&c| c > 0)?;
        let signer = ChunkSigner::generate();
        offer.signer = signer.public();
        let cipher = ChunkCipher::new(&offer.key, &offer.nonce, &offer.id);
        let peers = receivers
            .iter()
            .map(|&m| {
                (
                    m,
                    Peer {
                        next: None,
                        heard_ms: now_ms,
                        resent_ms: None,
                    },
                )
            })
            .collect::<BTreeMap<_, _>>();
        let status = if peers.is_empty() {
            Status::Failed("Nobody else is in the room to receive the file.".to_owned())
        } else {
            Status::Running
        };
        Some(Outgoing {
            offer,
            cipher,
            signer,
            chunks,
            peers,
            cursor: 0,
            started_ms: now_ms,
            moved_ms: now_ms,
            digests: Vec::new(),
            dropped: Vec::new(),
            status,
        })
    }

    /// The offer (to send in the group).
    pub fn offer(&self) -> &FileOffer {
        &self.offer
    }

    /// The file's id.
    pub fn id(&self) -> FileId {
        self.offer.id
    }

    /// Where the transfer stands.
    pub fn status(&self) -> &Status {
        &self.status
    }

    /// Receivers dropped since the last call, and why.
    pub fn take_dropped(&mut self) -> Vec<(MemberId, Dropped)> {
        std::mem::take(&mut self.dropped)
    }

    /// How many receivers are still taking the file.
    pub fn receivers(&self) -> usize {
        self.peers.len()
    }

    /// The slowest accepted receiver's next chunk (`None`: nobody has accepted yet).
    fn slowest(&self) -> Option<u32> {
        self.peers.values().filter_map(|p| p.next).min()
    }

    /// The chunk to read and seal next, or `None` while the window is full, nobody has
    /// taken the offer yet, or the transfer is over.
    pub fn next_chunk(&self) -> Option<ChunkRequest> {
        if self.status != Status::Running || self.cursor >= self.chunks {
            return None;
        }
        let slowest = self.slowest()?;
        if self.cursor >= slowest.saturating_add(WINDOW) {
            return None;
        }
        let index = self.cursor;
        Some(ChunkRequest {
            index,
            offset: u64::from(index) * u64::from(self.offer.chunk_size),
            len: self.offer.chunk_len(index),
        })
    }

    /// Seals chunk `index` from the bytes read for it and returns the frame to write.
    /// Fails the transfer when the bytes differ from what was sealed for this index
    /// before (the file changed while it was being sent) or have the wrong length.
    pub fn seal(&mut self, index: u32, plaintext: &[u8]) -> Option<Vec<u8>> {
        if self.status != Status::Running || index != self.cursor {
            return None;
        }
        if plaintext.len() != self.offer.chunk_len(index) {
            return self.fail("The file changed size while it was being sent.");
        }
        let digest: [u8; 32] = Sha256::digest(plaintext).into();
        match self.digests.get(index as usize) {
            Some(seen) if *seen != digest => {
                return self.fail("The file changed while it was being sent.")
            }
            Some(_) => {}
            None => self.digests.push(digest),
        }
        let last = index + 1 == self.chunks;
        let sealed = self.cipher.seal(index, last, plaintext);
        let signature = self.signer.sign(&self.offer.id, index, &sealed);
        self.cursor += 1;
        Some(
            Packet::Chunk {
                file: self.offer.id,
                index,
                sealed: &sealed,
                signature: &signature,
            }
            .frame(None),
        )
    }

    fn fail<T>(&mut self, why: &str) -> Option<T> {
        self.status = Status::Failed(why.to_owned());
        None
    }

    /// A lane packet from `from` about this file.
    pub fn on_packet(&mut self, from: MemberId, packet: &Packet<'_>, now_ms: u64) {
        if self.status != Status::Running {
            return;
        }
        let before = self.slowest();
        let Some(peer) = self.peers.get_mut(&from) else {
            return;
        };
        match *packet {
            Packet::Ack { next, .. } => {
                let next = next.min(self.chunks);
                peer.heard_ms = now_ms;
                let newcomer = peer.next.is_none();
                peer.next = Some(peer.next.map_or(next, |n| n.max(next)));
                if newcomer && next < self.cursor {
                    self.cursor = next;
                }
            }
            Packet::Resend { from: start, .. } => {
                peer.heard_ms = now_ms;
                let spaced = peer
                    .resent_ms
                    .is_none_or(|t| now_ms.saturating_sub(t) >= RESEND_SPACING_MS);
                if spaced {
                    // Never below what it confirmed: it has those chunks.
                    let start = start.min(self.chunks).max(peer.next.unwrap_or(0));
                    peer.next = Some(start);
                    peer.resent_ms = Some(now_ms);
                    self.cursor = self.cursor.min(start);
                }
            }
            Packet::Cancel { .. } => self.drop_peer(from, Dropped::Declined),
            Packet::Chunk { .. } => {}
        }
        if self.slowest() != before {
            self.moved_ms = now_ms;
        }
        self.settle();
    }

    /// `member` left the room.
    pub fn member_left(&mut self, member: MemberId) {
        if self.peers.contains_key(&member) {
            self.drop_peer(member, Dropped::Left);
            self.settle();
        }
    }

    fn drop_peer(&mut self, member: MemberId, why: Dropped) {
        if self.peers.remove(&member).is_some() {
            self.dropped.push((member, why));
        }
    }

    /// Done when every remaining receiver has every chunk; failed when none remains.
    fn settle(&mut self) {
        if self.status != Status::Running {
            return;
        }
        if self.peers.is_empty() {
            self.status = Status::Failed("Nobody is receiving the file any more.".to_owned());
        } else if self.peers.values().all(|p| p.next == Some(self.chunks)) {
            self.status = Status::Done;
        }
    }

    /// The clock: resend after silence, drop receivers that do not answer.
    pub fn tick(&mut self, now_ms: u64) {
        if self.status != Status::Running {
            return;
        }
        let silent: Vec<(MemberId, Dropped)> = self
            .peers
            .iter()
            .filter_map(|(&m, p)| match p.next {
                None if now_ms.saturating_sub(p.heard_ms) >= ACCEPT_MS => {
                    Some((m, Dropped::NoAnswer))
                }
                Some(n) if n < self.chunks && now_ms.saturating_sub(p.heard_ms) >= GIVE_UP_MS => {
                    Some((m, Dropped::Silent))
                }
                _ => None,
            })
            .collect();
        for (m, why) in silent {
            self.drop_peer(m, why);
        }
        if let Some(slowest) = self.slowest() {
            if slowest < self.cursor && now_ms.saturating_sub(self.moved_ms) >= RESEND_MS {
                self.cursor = slowest;
                self.moved_ms = now_ms;
            }
        }
        self.settle();
    }

    /// The connection to the relay was made again: chunks written just before it
    /// dropped may be lost, so sending goes on from the slowest confirmed chunk.
    pub fn reconnected(&mut self) {
        if let Some(slowest) = self.slowest() {
            self.cursor = self.cursor.min(slowest);
        }
    }

    /// Stops the transfer; the frame tells the receivers.
    pub fn cancel(&mut self) -> Vec<u8> {
        if self.status == Status::Running {
            self.status = Status::Failed("You cancelled the transfer.".to_owned());
        }
        Packet::Cancel {
            file: self.offer.id,
        }
        .frame(None)
    }

    /// Bytes the slowest receiver has confirmed, the rate and the time left.
    pub fn progress(&self, now_ms: u64) -> Progress {
        let chunks = self.slowest().unwrap_or(0);
        let done = (u64::from(chunks) * u64::from(self.offer.chunk_size)).min(self.offer.size);
        Progress::new(
            done,
            self.offer.size,
            now_ms.saturating_sub(self.started_ms),
        )
    }
}

/// What [`Incoming::on_chunk`] made of a chunk.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Write `data` at the end of the file, then send `ack`. `last`: the file is
    /// complete after it.
    Data {
        /// The chunk's plaintext.
        data: Vec<u8>,
        /// The acknowledgement frame to write.
        ack: Vec<u8>,
        /// Whether this was the final chunk.
        last: bool,
    },
    /// A chunk already taken (a resend for another receiver): nothing to do.
    Duplicate,
    /// A chunk went missing: send this resend request.
    Ask(Vec<u8>),
    /// Nothing to send now (a resend was asked for a moment ago).
    Wait,
    /// The chunk failed authentication (the file key's or the sender's signature) or
    /// has the wrong size: the transfer failed; send this cancel.
    Rejected(Vec<u8>),
}

/// The receiving end of one file.
#[derive(Debug)]
pub struct Incoming {
    from: MemberId,
    offer: FileOffer,
    cipher: ChunkCipher,
    verifier: ChunkVerifier,
    chunks: u32,
    next: u32,
    started_ms: u64,
    heard_ms: u64,
    asked_ms: Option<u64>,
    status: Status,
}

impl Incoming {
    /// Takes `offer` from `from` in a room whose file limit is `max_file`; the frame
    /// tells the sender (write it).
    pub fn accept(
        from: MemberId,
        offer: FileOffer,
        max_file: u64,
        now_ms: u64,
    ) -> Result<(Incoming, Vec<u8>), OfferProblem> {
        offer.check(max_file)?;
        let chunks = u32::try_from(offer.chunks()).map_err(|_| OfferProblem::BadChunking)?;
        let verifier = ChunkVerifier::new(&offer.signer).ok_or(OfferProblem::BadKey)?;
        let cipher = ChunkCipher::new(&offer.key, &offer.nonce, &offer.id);
        let ack = Packet::Ack {
            file: offer.id,
            next: 0,
        }
        .frame(Some(from));
        let incoming = Incoming {
            from,
            offer,
            cipher,
            verifier,
            chunks,
            next: 0,
            started_ms: now_ms,
            heard_ms: now_ms,
            asked_ms: None,
            status: Status::Running,
        };
        Ok((incoming, ack))
    }

    /// The offer taken.
    pub fn offer(&self) -> &FileOffer {
        &self.offer
    }

    /// The sender.
    pub fn sender(&self) -> MemberId {
        self.from
    }

    /// Where the transfer stands.
    pub fn status(&self) -> &Status {
        &self.status
    }

    /// A chunk-lane packet about this file arrived from `from` (per the relay): a chunk
    /// goes through [`Incoming::on_chunk`], the sender's cancel ends the transfer, and
    /// what only a sender reads (acknowledgements, resend requests) is ignored.
    pub fn on_packet(&mut self, from: MemberId, packet: &Packet<'_>, now_ms: u64) -> Step {
        match *packet {
            Packet::Chunk {
                index,
                sealed,
                signature,
                ..
            } => self.on_chunk(from, index, sealed, signature, now_ms),
            Packet::Cancel { .. } => {
                self.on_cancel(from);
                Step::Wait
            }
            Packet::Ack { .. } | Packet::Resend { .. } => Step::Wait,
        }
    }

    /// A chunk of this file arrived from `from` (per the relay), with the sender's
    /// `signature`.
    pub fn on_chunk(
        &mut self,
        from: MemberId,
        index: u32,
        sealed: &[u8],
        signature: &[u8],
        now_ms: u64,
    ) -> Step {
        if self.status != Status::Running || from != self.from {
            return Step::Wait;
        }
        self.heard_ms = now_ms;
        if index < self.next {
            return Step::Duplicate;
        }
        if index > self.next {
            // Ask once per resend interval, not for every chunk that follows a hole.
            if self
                .asked_ms
                .is_some_and(|t| now_ms.saturating_sub(t) < RESEND_MS)
            {
                return Step::Wait;
            }
            self.asked_ms = Some(now_ms);
            return Step::Ask(self.resend_frame());
        }
        let last = index + 1 == self.chunks;
        let expected = self.offer.chunk_len(index) + TAG_LEN;
        let signed = self
            .verifier
            .verify(&self.offer.id, index, sealed, signature);
        let opened = if signed && sealed.len() == expected {
            self.cipher.open(index, last, sealed).ok()
        } else {
            None
        };
        let Some(data) = opened else {
            self.status = Status::Failed(
                "A piece of the file was altered on the way; the transfer stopped.".to_owned(),
            );
            return Step::Rejected(self.cancel_frame());
        };
        self.next += 1;
        self.asked_ms = None;
        if last {
            self.status = Status::Done;
        }
        let ack = Packet::Ack {
            file: self.offer.id,
            next: self.next,
        }
        .frame(Some(self.from));
        Step::Data { data, ack, last }
    }

    /// The sender cancelled.
    pub fn on_cancel(&mut self, from: MemberId) {
        if from == self.from && self.status == Status::Running {
            self.status = Status::Failed("The sender cancelled the transfer.".to_owned());
        }
    }

    /// The sender left the room.
    pub fn sender_left(&mut self) {
        if self.status == Status::Running {
            self.status =
                Status::Failed("The sender left the room before the file arrived.".to_owned());
        }
    }

    /// The clock: gives up after [`GIVE_UP_MS`] of silence, and asks again for what is
    /// missing after [`RESEND_MS`] (the last chunks may have been lost). The frame, if
    /// any, is to be written.
    pub fn tick(&mut self, now_ms: u64) -> Option<Vec<u8>> {
        if self.status != Status::Running {
            return None;
        }
        let quiet = now_ms.saturating_sub(self.heard_ms);
        if quiet >= GIVE_UP_MS {
            self.status = Status::Failed(
                "The sender stopped sending the file; the transfer failed. Ask them to send it again."
                    .to_owned(),
            );
            return Some(self.cancel_frame());
        }
        let asked = self.asked_ms.unwrap_or(self.heard_ms);
        if quiet >= RESEND_MS && now_ms.saturating_sub(asked) >= RESEND_MS {
            self.asked_ms = Some(now_ms);
            return Some(self.resend_frame());
        }
        None
    }

    /// The connection to the relay was made again: ask for what is missing (write it).
    pub fn reconnected(&mut self) -> Option<Vec<u8>> {
        (self.status == Status::Running).then(|| self.resend_frame())
    }

    /// Stops taking the file; the frame tells the sender.
    pub fn cancel(&mut self) -> Vec<u8> {
        if self.status == Status::Running {
            self.status = Status::Failed("You cancelled the transfer.".to_owned());
        }
        self.cancel_frame()
    }

    fn resend_frame(&self) -> Vec<u8> {
        Packet::Resend {
            file: self.offer.id,
            from: self.next,
        }
        .frame(Some(self.from))
    }

    fn cancel_frame(&self) -> Vec<u8> {
        Packet::Cancel {
            file: self.offer.id,
        }
        .frame(Some(self.from))
    }

    /// Bytes written so far, the rate and the time left.
    pub fn progress(&self, now_ms: u64) -> Progress {
        let done = (u64::from(self.next) * u64::from(self.offer.chunk_size)).min(self.offer.size);
        Progress::new(
            done,
            self.offer.size,
            now_ms.saturating_sub(self.started_ms),
        )
    }
}
