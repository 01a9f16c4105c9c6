//! Files, the room's end: `vroom_shared::files::transfer` both ways, with the session.
//!
//! - Sending: files the interface picked are checked against the room's file limit
//!   before anything is sent, handed back to be cleaned of picture metadata unless the
//!   user keeps it ([`RoomEvent::Clean`]), queued, and sent one at a time. The room
//!   asks the interface for one chunk at a time ([`RoomEvent::ReadChunk`]), only when
//!   the transfer's window allows it, so a large file never sits in memory.
//! - Receiving: offers up to [`AUTO_TAKE`] are taken at once (while at most
//!   [`AUTO_BUDGET`] bytes arrive that way), so pictures and videos show without a
//!   click; a larger one waits [`ANSWER_MS`] for the user's "Receive" (the sender gives
//!   up a little later). Each decrypted chunk goes to the interface as it arrives
//!   ([`RoomEvent::Received`]), which keeps it in a `Blob`; [`RoomEvent::Complete`]
//!   says the file is whole.
//!
//! The interface sees cards, states and bytes; keys and frames stay here and in the
//! session.

use std::collections::{HashMap, VecDeque};

use vroom_bridge::{bytes, FileCard, Part, Picked, RoomEvent, Transfer};
use vroom_shared::files::lane::Packet;
use vroom_shared::files::transfer::{Incoming, Outgoing, Progress, Status, Step, ANSWER_MS};
use vroom_shared::files::{chunk_size_for, media_type_of, safe_name, FileId, FileOffer};
use vroom_shared::files::{OfferProblem, MAX_CHUNK};
use vroom_shared::metadata;
use vroom_shared::session::{OfferNotSent, Offered, Output, Session};
use vroom_shared::wire::MemberId;

use super::Room;

/// Offers up to this size are taken without a click.
pub(crate) const AUTO_TAKE: u64 = 32 << 20;

/// Most bytes of files taken without a click that may be arriving at once.
pub(crate) const AUTO_BUDGET: u64 = 4 * AUTO_TAKE;

/// Pictures above this size are not read whole to remove their metadata; the user has
/// to keep it to send them.
pub(crate) const CLEAN_LIMIT: u64 = 64 << 20;

/// A file's id as it crosses the boundary.
fn bridged(id: FileId) -> vroom_bridge::FileId {
    vroom_bridge::FileId(id.0)
}

/// A file's id from the interface.
fn ours(id: vroom_bridge::FileId) -> FileId {
    FileId(id.0)
}

fn running(p: &Progress) -> Transfer {
    Transfer::Running {
        done: p.done,
        total: p.total,
        rate: p.rate as u64,
        eta: p.eta_secs,
    }
}

/// A file picked to send.
struct Pending {
    card: FileCard,
    /// Whether it can go (false while its metadata is being removed).
    ready: bool,
}

struct Sending {
    out: Outgoing,
    card: FileCard,
    /// Whether a chunk is being read now (one at a time, in order).
    reading: bool,
    /// The receivers' nicknames when the file was offered.
    nicks: HashMap<MemberId, String>,
}

struct Receiving {
    inc: Incoming,
    card: FileCard,
}

/// Every transfer of this page, both ways.
#[derive(Default)]
pub(crate) struct Files {
    queue: VecDeque<Pending>,
    sending: Option<Sending>,
    /// Offers waiting for a click, with who offered and when.
    offered: HashMap<FileId, (MemberId, FileOffer, FileCard, u64)>,
    receiving: HashMap<FileId, Receiving>,
}

/// What the room has to do after a change: frames to write, events for the interface.
#[derive(Default)]
pub(crate) struct Effects {
    /// Session output (frames and events), in order.
    outputs: Vec<Output>,
    /// What the interface is told, in order.
    events: Vec<RoomEvent>,
}

impl Effects {
    fn send(&mut self, frame: Vec<u8>) {
        self.outputs.push(Output::Send(frame));
    }

    fn state(&mut self, card: &FileCard, state: Transfer) {
        self.events
            .push(RoomEvent::FileState { id: card.id, state });
    }

    /// The transfer stopped: the card says why, and the interface lets the file's
    /// bytes go.
    fn failed(&mut self, card: &FileCard, why: &str) {
        self.state(card, Transfer::Failed(why.to_owned()));
        self.events.push(RoomEvent::Drop(card.id));
    }

    fn added(&mut self, card: &FileCard, state: Transfer) {
        self.events.push(RoomEvent::FileAdded {
            card: card.clone(),
            state,
        });
    }
}

impl Files {
    /// Files the user picked: each is refused at once when it is above the room's
    /// limit, else queued (pictures to clean first come back through
    /// [`Files::cleaned`]).
    fn pick(
        &mut self,
        session: &Session,
        picked: Vec<Picked>,
        keep_metadata: bool,
        fx: &mut Effects,
    ) {
        let limit = session.limits().map_or(0, |l| l.max_file);
        let mut refused = Vec::new();
        for file in picked {
            let name = safe_name(&file.name);
            let size = file.size;
            if size > limit {
                refused.push(format!(
                    "{name} is {}, larger than this room's file limit of {}; nothing was sent.",
                    bytes(size),
                    bytes(limit)
                ));
                continue;
            }
            let media_type = match file.media_type {
                t if !t.is_empty() && t.len() <= 100 => t,
                _ => media_type_of(&name).to_owned(),
            };
            let clean = !keep_metadata && metadata::is_cleanable(&media_type);
            if clean && size > CLEAN_LIMIT {
                refused.push(format!(
                    "{name} is too large to remove its metadata (where and when it was \
                     taken); tick \"Keep metadata\" to send it as it is."
                ));
                continue;
            }
            let card = FileCard {
                id: bridged(FileId::random()),
                name,
                media_type,
                size,
                own: true,
                nick: session.nick().to_owned(),
            };
            fx.added(&card, Transfer::Queued);
            fx.events.push(RoomEvent::FileQueued {
                local: file.local,
                id: card.id,
            });
            if clean {
                fx.events.push(RoomEvent::Clean(card.id));
            }
            self.queue.push_back(Pending {
                card,
                ready: !clean,
            });
        }
        if !refused.is_empty() {
            fx.events.push(RoomEvent::FilesRefused(refused));
        }
    }

    /// A queued picture was cleaned (`Ok`: its new size) or could not be read.
    fn cleaned(
        &mut self,
        card: vroom_bridge::FileId,
        result: Result<u64, String>,
        fx: &mut Effects,
    ) {
        let Some(at) = self.queue.iter().position(|p| p.card.id == card) else {
            return;
        };
        match result {
            Ok(size) => {
                let pending = &mut self.queue[at];
                pending.card.size = size;
                pending.ready = true;
            }
            Err(why) => {
                if let Some(p) = self.queue.remove(at) {
                    fx.failed(&p.card, &why);
                }
            }
        }
    }

    /// Starts the next queued file when none is being sent, and asks for the next
    /// chunk the window allows.
    pub(crate) fn pump(&mut self, session: &mut Session, now_ms: u64, fx: &mut Effects) {
        if self.sending.is_none() {
            self.start_next(session, now_ms, fx);
        }
        let Some(s) = &mut self.sending else {
            return;
        };
        if s.reading {
            return;
        }
        if let Some(req) = s.out.next_chunk() {
            s.reading = true;
            fx.events.push(RoomEvent::ReadChunk {
                id: s.card.id,
                index: req.index,
                offset: req.offset,
                end: req.offset + req.len as u64,
            });
        }
    }

    fn start_next(&mut self, session: &mut Session, now_ms: u64, fx: &mut Effects) {
        let (Some(limits), true) = (session.limits(), session.is_ready()) else {
            return;
        };
        if self.queue.front().is_none_or(|p| !p.ready) {
            return;
        }
        let Some(Pending { card, .. }) = self.queue.pop_front() else {
            return;
        };
        let mut offer = FileOffer::new(
            &card.name,
            &card.media_type,
            card.size,
            chunk_size_for(limits.max_payload).min(MAX_CHUNK),
        );
        offer.id = ours(card.id);
        let Offered {
            out,
            outputs,
            nicks,
        } = match session.offer_file(offer, now_ms) {
            Ok(offered) => offered,
            Err(OfferNotSent::NotReady) => {
                // A commit of ours waits for the relay's order: the next tick tries again.
                self.queue.push_front(Pending { card, ready: true });
                return;
            }
            Err(OfferNotSent::Refused(why)) => return fx.failed(&card, &why),
        };
        fx.outputs.extend(outputs);
        fx.state(&card, running(&out.progress(now_ms)));
        self.sending = Some(Sending {
            out,
            card,
            reading: false,
            nicks,
        });
    }

    /// A chunk was read (`None`: reading failed).
    fn read(
        &mut self,
        session: &mut Session,
        id: vroom_bridge::FileId,
        index: u32,
        data: Option<Vec<u8>>,
        now_ms: u64,
        fx: &mut Effects,
    ) {
        let Some(s) = self.sending.as_mut().filter(|s| s.card.id == id) else {
            return;
        };
        s.reading = false;
        let Some(data) = data else {
            return self.stop_sending("The file could not be read any more.", fx);
        };
        if let Some(frame) = s.out.seal(index, &data) {
            fx.send(frame);
        }
        self.settle_sending(session, now_ms, fx);
        self.pump(session, now_ms, fx);
    }

    fn stop_sending(&mut self, why: &str, fx: &mut Effects) {
        if let Some(mut s) = self.sending.take() {
            fx.send(s.out.cancel());
            fx.failed(&s.card, why);
        }
    }

    /// Says who was dropped and ends the file being sent when it is over.
    fn settle_sending(&mut self, session: &Session, now_ms: u64, fx: &mut Effects) {
        let Some(s) = &mut self.sending else {
            return;
        };
        for (who, what) in Offered::take_dropped(&mut s.out, &s.nicks, session) {
            fx.events.push(RoomEvent::Said {
                kind: vroom_bridge::LineKind::Notice(vec![Part::Text(format!(
                    "{who} {what} {}.",
                    s.card.name
                ))]),
                reply_to: None,
            });
        }
        match s.out.status().clone() {
            Status::Running => fx.state(&s.card, running(&s.out.progress(now_ms))),
            Status::Done => {
                fx.state(&s.card, Transfer::Sent);
                fx.events.push(RoomEvent::Drop(s.card.id));
                self.sending = None;
            }
            Status::Failed(why) => self.stop_sending(&why, fx),
        }
    }

    /// Offers that arrived in the group: refused, taken at once, or shown for a click.
    pub(crate) fn offers(&mut self, session: &mut Session, now_ms: u64, fx: &mut Effects) {
        for (from, offer) in session.take_file_offers() {
            let card = FileCard {
                id: bridged(offer.id),
                name: safe_name(&offer.name),
                media_type: offer.media_type.chars().take(100).collect(),
                size: offer.size,
                own: false,
                nick: session.nick_or_someone(from),
            };
            fx.added(&card, Transfer::Offered);
            let max_file = session.limits().map_or(0, |l| l.max_file);
            if let Err(problem) = offer.check(max_file) {
                fx.failed(
                    &card,
                    match problem {
                        OfferProblem::TooLarge => "Refused: it is above this room's file limit.",
                        OfferProblem::BadChunking | OfferProblem::BadKey => {
                            "Refused: the sender's app sent it malformed."
                        }
                    },
                );
                fx.send(Packet::Cancel { file: offer.id }.frame(Some(from)));
                continue;
            }
            // Taken at once only while what arrives unasked stays bounded, so a member
            // offering file after file cannot fill this page's memory.
            let arriving: u64 = self.receiving.values().map(|r| r.card.size).sum();
            if offer.size <= AUTO_TAKE && arriving + offer.size <= AUTO_BUDGET {
                self.take(from, offer, card, max_file, now_ms, fx);
            } else {
                self.offered.insert(offer.id, (from, offer, card, now_ms));
            }
        }
    }

    fn take(
        &mut self,
        from: MemberId,
        offer: FileOffer,
        card: FileCard,
        max_file: u64,
        now_ms: u64,
        fx: &mut Effects,
    ) {
        match Incoming::accept(from, offer, max_file, now_ms) {
            Ok((inc, ack)) => {
                fx.send(ack);
                fx.state(&card, running(&inc.progress(now_ms)));
                self.receiving
                    .insert(ours(card.id), Receiving { inc, card });
            }
            Err(_) => fx.failed(&card, "Refused: the offer is not valid."),
        }
    }

    /// The user clicked "Receive".
    fn accept(&mut self, session: &Session, id: FileId, now_ms: u64, fx: &mut Effects) {
        let Some((from, offer, card, at)) = self.offered.remove(&id) else {
            return;
        };
        if now_ms.saturating_sub(at) >= ANSWER_MS {
            return expire(&card, fx);
        }
        let max_file = session.limits().map_or(0, |l| l.max_file);
        self.take(from, offer, card, max_file, now_ms, fx);
    }

    /// A chunk-lane packet from `from`.
    pub(crate) fn on_stream(
        &mut self,
        session: &mut Session,
        from: MemberId,
        payload: &[u8],
        now_ms: u64,
        fx: &mut Effects,
    ) {
        let Some(packet) = Packet::decode(payload) else {
            return;
        };
        let id = packet.file();
        if let Some(s) = self.sending.as_mut().filter(|s| ours(s.card.id) == id) {
            s.out.on_packet(from, &packet, now_ms);
            self.settle_sending(session, now_ms, fx);
            return self.pump(session, now_ms, fx);
        }
        if let (Packet::Cancel { .. }, Some((sender, ..))) = (&packet, self.offered.get(&id)) {
            if *sender == from {
                if let Some((.., card, _)) = self.offered.remove(&id) {
                    fx.failed(&card, "The sender cancelled the transfer.");
                }
            }
            return;
        }
        let Some(r) = self.receiving.get_mut(&id) else {
            // A file this member was never offered (it joined later): not its business.
            return;
        };
        match r.inc.on_packet(from, &packet, now_ms) {
            Step::Data { data, ack, .. } => {
                fx.events.push(RoomEvent::Received {
                    id: r.card.id,
                    bytes: data,
                });
                fx.send(ack);
            }
            Step::Ask(frame) | Step::Rejected(frame) => fx.send(frame),
            Step::Duplicate | Step::Wait => {}
        }
        self.settle_receiving(now_ms, fx);
    }

    /// Finishes receptions that are over: a complete file is handed over whole, a
    /// failed one says why and its pieces are dropped.
    fn settle_receiving(&mut self, now_ms: u64, fx: &mut Effects) {
        let over: Vec<FileId> = self
            .receiving
            .iter()
            .filter(|(_, r)| *r.inc.status() != Status::Running)
            .map(|(&id, _)| id)
            .collect();
        for r in self.receiving.values() {
            if *r.inc.status() == Status::Running {
                fx.state(&r.card, running(&r.inc.progress(now_ms)));
            }
        }
        for id in over {
            let Some(r) = self.receiving.remove(&id) else {
                continue;
            };
            match r.inc.status() {
                Status::Done => fx.events.push(RoomEvent::Complete(r.card.id)),
                Status::Failed(why) => fx.failed(&r.card, why),
                Status::Running => {}
            }
        }
    }

    /// The user cancelled one file (queued, offered, or moving, either way).
    fn cancel(&mut self, id: FileId, fx: &mut Effects) {
        if self.sending.as_ref().is_some_and(|s| ours(s.card.id) == id) {
            return self.stop_sending("You cancelled the transfer.", fx);
        }
        if let Some(at) = self.queue.iter().position(|p| ours(p.card.id) == id) {
            if let Some(p) = self.queue.remove(at) {
                fx.failed(&p.card, "You cancelled it before it was sent.");
            }
        }
        if let Some((from, _, card, _)) = self.offered.remove(&id) {
            fx.send(Packet::Cancel { file: id }.frame(Some(from)));
            fx.failed(&card, "You declined the file.");
        }
        if let Some(mut r) = self.receiving.remove(&id) {
            fx.send(r.inc.cancel());
            fx.failed(&r.card, "You cancelled the transfer.");
        }
    }

    /// `member` left the room.
    pub(crate) fn member_left(
        &mut self,
        session: &Session,
        member: MemberId,
        now_ms: u64,
        fx: &mut Effects,
    ) {
        if let Some(s) = &mut self.sending {
            s.out.member_left(member);
        }
        self.settle_sending(session, now_ms, fx);
        for r in self.receiving.values_mut() {
            if r.inc.sender() == member {
                r.inc.sender_left();
            }
        }
        let gone: Vec<FileId> = self
            .offered
            .iter()
            .filter(|(_, (from, ..))| *from == member)
            .map(|(&id, _)| id)
            .collect();
        for id in gone {
            if let Some((.., card, _)) = self.offered.remove(&id) {
                fx.failed(&card, "The sender left the room before the file was taken.");
            }
        }
        self.settle_receiving(now_ms, fx);
    }

    /// The clock: timeouts, resends, offers not taken in time.
    pub(crate) fn tick(&mut self, session: &mut Session, now_ms: u64, fx: &mut Effects) {
        if let Some(s) = &mut self.sending {
            s.out.tick(now_ms);
        }
        self.settle_sending(session, now_ms, fx);
        for r in self.receiving.values_mut() {
            if let Some(frame) = r.inc.tick(now_ms) {
                fx.send(frame);
            }
        }
        self.settle_receiving(now_ms, fx);
        let late: Vec<FileId> = self
            .offered
            .iter()
            .filter(|(_, (.., at))| now_ms.saturating_sub(*at) >= ANSWER_MS)
            .map(|(&id, _)| id)
            .collect();
        for id in late {
            if let Some((.., card, _)) = self.offered.remove(&id) {
                expire(&card, fx);
            }
        }
        self.pump(session, now_ms, fx);
    }

    /// The connection is back: every transfer resumes from what was confirmed.
    pub(crate) fn reconnected(&mut self, fx: &mut Effects) {
        if let Some(s) = &mut self.sending {
            s.out.reconnected();
        }
        for r in self.receiving.values_mut() {
            if let Some(frame) = r.inc.reconnected() {
                fx.send(frame);
            }
        }
    }

    /// The room is over: every transfer stops (the interface lets go of the files when
    /// it wipes the page).
    pub(crate) fn abandon(&mut self) {
        *self = Files::default();
    }
}

fn expire(card: &FileCard, fx: &mut Effects) {
    fx.failed(
        card,
        "Not taken in time: the sender stopped offering it. Ask them to send it again.",
    );
}

impl Room {
    /// Files the user picked, dropped or pasted.
    pub(super) fn pick_files(&self, picked: Vec<Picked>, keep_metadata: bool) {
        self.with_files(|files, session, _, fx| files.pick(session, picked, keep_metadata, fx));
        self.with_files(|files, session, now, fx| files.pump(session, now, fx));
    }

    /// A queued picture was cleaned of its metadata (`Ok`: its new size), or not.
    pub(super) fn file_cleaned(&self, id: vroom_bridge::FileId, result: Result<u64, String>) {
        self.with_files(|files, session, now, fx| {
            files.cleaned(id, result, fx);
            files.pump(session, now, fx);
        });
    }

    /// A chunk of the file being sent was read (`None`: it could not be).
    pub(super) fn chunk_read(&self, id: vroom_bridge::FileId, index: u32, data: Option<Vec<u8>>) {
        self.with_files(|files, session, now, fx| files.read(session, id, index, data, now, fx));
    }

    /// Takes a file offered to this member.
    pub(super) fn accept_offer(&self, id: vroom_bridge::FileId) {
        self.with_files(|files, session, now, fx| files.accept(session, ours(id), now, fx));
    }

    /// Stops one transfer, either way.
    pub(super) fn stop_file(&self, id: vroom_bridge::FileId) {
        self.with_files(|files, _, _, fx| files.cancel(ours(id), fx));
    }

    /// Runs `f` on the transfers with the session and the clock, then does what it
    /// asked for.
    pub(crate) fn with_files(&self, f: impl FnOnce(&mut Files, &mut Session, u64, &mut Effects)) {
        let mut fx = Effects::default();
        {
            let mut inner = self.inner.borrow_mut();
            let inner = &mut *inner;
            let Some(session) = inner.session.as_mut() else {
                return;
            };
            f(
                &mut inner.files,
                session,
                js_sys::Date::now() as u64,
                &mut fx,
            );
        }
        for event in fx.events {
            self.emit(event);
        }
        self.process(fx.outputs);
    }
}
