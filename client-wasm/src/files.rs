//! Files in the web app: the browser's end of `vroom_shared::files::transfer`.
//!
//! - Sending: files picked, dropped or pasted are checked against the room's file limit
//!   before anything is sent, cleaned of picture metadata unless the user keeps it
//!   ([`vroom_shared::metadata`]), queued, and sent one at a time. The file is read one
//!   chunk at a time (`Blob.slice` + `arrayBuffer`), only when the transfer's window
//!   asks for the chunk, so a large file never sits in memory.
//! - Receiving: every received chunk becomes a piece of a `Blob` (kept by the browser,
//!   which may keep large blobs on disk), never one growing buffer in the WebAssembly
//!   memory. Offers up to [`AUTO_TAKE`] are taken at once (while at most
//!   [`AUTO_BUDGET`] bytes arrive that way), so pictures and videos show without a
//!   click; a larger one waits [`ANSWER_MS`] for the user's "Receive" (the sender gives up
//!   a little later). A received file is a `blob:` URL, shown inline when it is a
//!   picture or video of a [`PREVIEWED`] type, saved under its cleaned name otherwise.
//!   Each URL is revoked when the card is removed or the room ends.
//!
//! The page's components see [`Card`]s only; keys and frames stay here and in the
//! session.

use std::collections::{HashMap, VecDeque};

use leptos::prelude::*;
use vroom_shared::files::lane::Packet;
use vroom_shared::files::transfer::{Incoming, Outgoing, Progress, Status, Step, ANSWER_MS};
use vroom_shared::files::{chunk_size_for, media_type_of, safe_name, FileId, FileOffer};
use vroom_shared::files::{OfferProblem, MAX_CHUNK};
use vroom_shared::metadata;
use vroom_shared::session::{OfferNotSent, Offered, Output, Session};
use vroom_shared::wire::MemberId;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{spawn_local, JsFuture};
use web_sys::{Blob, BlobPropertyBag, Url};

use crate::state::{Client, LineKind, Part};

/// Offers up to this size are taken without a click.
pub const AUTO_TAKE: u64 = 32 << 20;

/// Most bytes of files taken without a click that may be arriving at once.
pub const AUTO_BUDGET: u64 = 4 * AUTO_TAKE;

/// Pictures above this size are not read whole to remove their metadata; the user has
/// to keep it to send them.
pub const CLEAN_LIMIT: u64 = 64 << 20;

/// Media types shown inline (and given to the `Blob`); any other file is an
/// `application/octet-stream` blob, so a received HTML or SVG file can never run in the
/// app's origin.
pub const PREVIEWED: [&str; 6] = [
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "video/mp4",
    "video/webm",
];

/// Received pieces merged into one `Blob` once there are this many.
const MERGE_PARTS: u32 = 64;

/// One file in the conversation, as the page shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Card {
    /// The file.
    pub id: FileId,
    /// Its cleaned name.
    pub name: String,
    /// Its media type, as offered.
    pub media_type: String,
    /// Its size in bytes.
    pub size: u64,
    /// Whether this member sends it.
    pub own: bool,
    /// The sender's nickname.
    pub nick: String,
    /// Where the transfer stands.
    pub state: RwSignal<Transfer>,
}

impl Card {
    /// Whether the file shows inline once it is here.
    pub fn previewed(&self) -> bool {
        PREVIEWED.contains(&self.media_type.as_str())
    }
}

/// Where a file's transfer stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transfer {
    /// Own file, waiting for the files before it (or for its metadata to be removed).
    Queued,
    /// Offered to this member; "Receive" takes it.
    Offered,
    /// Moving: bytes done, bytes per second, seconds left.
    Running {
        /// Bytes done.
        done: u64,
        /// Bytes in all (a picture's shrink once its metadata is gone).
        total: u64,
        /// Bytes per second.
        rate: u64,
        /// Seconds left, when known.
        eta: Option<u64>,
    },
    /// Sent to every receiver that took it.
    Sent,
    /// Here: the decrypted file's `blob:` URL.
    Received(String),
    /// It stopped: why, in a sentence.
    Failed(String),
}

impl Transfer {
    fn running(p: &Progress) -> Transfer {
        Transfer::Running {
            done: p.done,
            total: p.total,
            rate: p.rate as u64,
            eta: p.eta_secs,
        }
    }
}

/// A file picked to send.
struct Pending {
    card: Card,
    /// What to send: the file, or its copy without metadata (`None` while it is being
    /// cleaned).
    blob: Option<Blob>,
}

struct Sending {
    out: Outgoing,
    blob: Blob,
    card: Card,
    /// Whether a chunk is being read now (one at a time, in order).
    reading: bool,
    /// The receivers' nicknames when the file was offered.
    nicks: HashMap<MemberId, String>,
}

struct Receiving {
    inc: Incoming,
    /// The pieces so far: `Uint8Array`s and merged `Blob`s.
    parts: js_sys::Array,
    card: Card,
}

/// Every transfer of this page, both ways.
#[derive(Default)]
pub(crate) struct Files {
    queue: VecDeque<Pending>,
    sending: Option<Sending>,
    /// Offers waiting for a click, with who offered and when.
    offered: HashMap<FileId, (MemberId, FileOffer, Card, u64)>,
    receiving: HashMap<FileId, Receiving>,
    /// Every `blob:` URL made, revoked by [`Files::abandon`] or [`Files::forget`].
    urls: HashMap<FileId, String>,
}

/// What the client has to do after a change: frames to write, lines to show.
#[derive(Default)]
pub(crate) struct Effects {
    /// Session output (frames and events), in order.
    pub outputs: Vec<Output>,
    /// Cards to add to the conversation.
    pub cards: Vec<Card>,
    /// Sentences to show in the conversation.
    pub notes: Vec<String>,
    /// Files refused before anything was sent, in sentences (shown by the message box).
    pub refused: Vec<String>,
    /// A chunk to read: file, index, and the slice of its blob.
    pub read: Option<(FileId, u32, Blob)>,
}

impl Effects {
    fn send(&mut self, frame: Vec<u8>) {
        self.outputs.push(Output::Send(frame));
    }
}

/// `1.5 MB` (decimal units, as file managers show them), in integers: formatting
/// floats would add their code to the app.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut unit = 0;
    let mut scale = 1u64;
    while n / scale >= 1000 && unit + 1 < UNITS.len() {
        scale *= 1000;
        unit += 1;
    }
    if unit == 0 {
        return format!("{n} B");
    }
    let tenths = (u128::from(n) * 10 + u128::from(scale) / 2) / u128::from(scale);
    format!("{}.{} {}", tenths / 10, tenths % 10, UNITS[unit])
}

fn failed(card: &Card, why: &str) {
    card.state.set(Transfer::Failed(why.to_owned()));
}

impl Files {
    /// Files the user picked: each is refused at once when it is above the room's
    /// limit, else queued. `Err` lists sentences for the refused ones. Pictures to
    /// clean come back through [`Files::cleaned`].
    pub(crate) fn pick(
        &mut self,
        session: &Session,
        picked: Vec<web_sys::File>,
        keep_metadata: bool,
        fx: &mut Effects,
    ) -> Vec<(FileId, web_sys::File)> {
        let limit = session.limits().map_or(0, |l| l.max_file);
        let mut to_clean = Vec::new();
        for file in picked {
            let name = safe_name(&file.name());
            let size = file.size() as u64;
            if size > limit {
                fx.refused.push(format!(
                    "{name} is {}, larger than this room's file limit of {}; nothing was sent.",
                    bytes(size),
                    bytes(limit)
                ));
                continue;
            }
            let media_type = match file.type_() {
                t if !t.is_empty() && t.len() <= 100 => t,
                _ => media_type_of(&name).to_owned(),
            };
            let clean = !keep_metadata && metadata::is_cleanable(&media_type);
            if clean && size > CLEAN_LIMIT {
                fx.refused.push(format!(
                    "{name} is too large to remove its metadata (where and when it was \
                     taken); tick \"Keep metadata\" to send it as it is."
                ));
                continue;
            }
            let card = Card {
                id: FileId::random(),
                name,
                media_type,
                size,
                own: true,
                nick: session.nick().to_owned(),
                state: RwSignal::new(Transfer::Queued),
            };
            fx.cards.push(card.clone());
            let blob = if clean {
                to_clean.push((card.id, file));
                None
            } else {
                Some(Blob::from(file))
            };
            self.queue.push_back(Pending { card, blob });
        }
        to_clean
    }

    /// A queued picture was cleaned (`Some`: its new content) or could not be read.
    pub(crate) fn cleaned(&mut self, card: FileId, result: Result<Blob, String>) {
        let Some(at) = self.queue.iter().position(|p| p.card.id == card) else {
            return;
        };
        match result {
            Ok(blob) => {
                let pending = &mut self.queue[at];
                pending.card.size = blob.size() as u64;
                pending.blob = Some(blob);
            }
            Err(why) => {
                if let Some(p) = self.queue.remove(at) {
                    failed(&p.card, &why);
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
            let end = req.offset + req.len as u64;
            match s.blob.slice_with_f64_and_f64(req.offset as f64, end as f64) {
                Ok(slice) => {
                    s.reading = true;
                    fx.read = Some((s.out.id(), req.index, slice));
                }
                Err(_) => self.stop_sending("The file could not be read any more.", fx),
            }
        }
    }

    fn start_next(&mut self, session: &mut Session, now_ms: u64, fx: &mut Effects) {
        let (Some(limits), true) = (session.limits(), session.is_ready()) else {
            return;
        };
        if self.queue.front().is_none_or(|p| p.blob.is_none()) {
            return;
        }
        let Some(Pending {
            card,
            blob: Some(blob),
        }) = self.queue.pop_front()
        else {
            return;
        };
        let mut offer = FileOffer::new(
            &card.name,
            &card.media_type,
            card.size,
            chunk_size_for(limits.max_payload).min(MAX_CHUNK),
        );
        offer.id = card.id;
        let Offered {
            out,
            outputs,
            nicks,
        } = match session.offer_file(offer, now_ms) {
            Ok(offered) => offered,
            Err(OfferNotSent::NotReady) => {
                // A commit of ours waits for the relay's order: the next tick tries again.
                self.queue.push_front(Pending {
                    card,
                    blob: Some(blob),
                });
                return;
            }
            Err(OfferNotSent::Refused(why)) => return failed(&card, &why),
        };
        fx.outputs.extend(outputs);
        card.state.set(Transfer::running(&out.progress(now_ms)));
        self.sending = Some(Sending {
            out,
            blob,
            card,
            reading: false,
            nicks,
        });
    }

    /// A chunk was read (`None`: reading failed).
    pub(crate) fn read(
        &mut self,
        session: &mut Session,
        id: FileId,
        index: u32,
        data: Option<Vec<u8>>,
        now_ms: u64,
        fx: &mut Effects,
    ) {
        let Some(s) = self.sending.as_mut().filter(|s| s.out.id() == id) else {
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
            failed(&s.card, why);
        }
    }

    /// Says who was dropped and ends the file being sent when it is over.
    fn settle_sending(&mut self, session: &Session, now_ms: u64, fx: &mut Effects) {
        let Some(s) = &mut self.sending else {
            return;
        };
        for (who, what) in Offered::take_dropped(&mut s.out, &s.nicks, session) {
            fx.notes.push(format!("{who} {what} {}.", s.card.name));
        }
        match s.out.status().clone() {
            Status::Running => s.card.state.set(Transfer::running(&s.out.progress(now_ms))),
            Status::Done => {
                s.card.state.set(Transfer::Sent);
                self.sending = None;
            }
            Status::Failed(why) => self.stop_sending(&why, fx),
        }
    }

    /// Offers that arrived in the group: refused, taken at once, or shown for a click.
    pub(crate) fn offers(&mut self, session: &mut Session, now_ms: u64, fx: &mut Effects) {
        for (from, offer) in session.take_file_offers() {
            let card = Card {
                id: offer.id,
                name: safe_name(&offer.name),
                media_type: offer.media_type.chars().take(100).collect(),
                size: offer.size,
                own: false,
                nick: session.nick_or_someone(from),
                state: RwSignal::new(Transfer::Offered),
            };
            fx.cards.push(card.clone());
            let max_file = session.limits().map_or(0, |l| l.max_file);
            if let Err(problem) = offer.check(max_file) {
                failed(
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
        card: Card,
        max_file: u64,
        now_ms: u64,
        fx: &mut Effects,
    ) {
        match Incoming::accept(from, offer, max_file, now_ms) {
            Ok((inc, ack)) => {
                fx.send(ack);
                card.state.set(Transfer::running(&inc.progress(now_ms)));
                self.receiving.insert(
                    card.id,
                    Receiving {
                        inc,
                        parts: js_sys::Array::new(),
                        card,
                    },
                );
            }
            Err(_) => failed(&card, "Refused: the offer is not valid."),
        }
    }

    /// The user clicked "Receive".
    pub(crate) fn accept(&mut self, session: &Session, id: FileId, now_ms: u64, fx: &mut Effects) {
        let Some((from, offer, card, at)) = self.offered.remove(&id) else {
            return;
        };
        if now_ms.saturating_sub(at) >= ANSWER_MS {
            return expire(&card);
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
        if let Some(s) = self.sending.as_mut().filter(|s| s.out.id() == id) {
            s.out.on_packet(from, &packet, now_ms);
            self.settle_sending(session, now_ms, fx);
            return self.pump(session, now_ms, fx);
        }
        if let (Packet::Cancel { .. }, Some((sender, ..))) = (&packet, self.offered.get(&id)) {
            if *sender == from {
                if let Some((.., card, _)) = self.offered.remove(&id) {
                    failed(&card, "The sender cancelled the transfer.");
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
                r.parts.push(&js_sys::Uint8Array::from(data.as_slice()));
                if r.parts.length() >= MERGE_PARTS {
                    if let Some(merged) = blob_of(&r.parts, "") {
                        r.parts = js_sys::Array::of1(&merged);
                    }
                }
                fx.send(ack);
            }
            Step::Ask(frame) | Step::Rejected(frame) => fx.send(frame),
            Step::Duplicate | Step::Wait => {}
        }
        self.settle_receiving(now_ms);
    }

    /// Finishes receptions that are over: a complete file becomes a `blob:` URL, a
    /// failed one says why and its pieces are dropped.
    fn settle_receiving(&mut self, now_ms: u64) {
        let over: Vec<FileId> = self
            .receiving
            .iter()
            .filter(|(_, r)| *r.inc.status() != Status::Running)
            .map(|(&id, _)| id)
            .collect();
        for r in self.receiving.values() {
            if *r.inc.status() == Status::Running {
                r.card.state.set(Transfer::running(&r.inc.progress(now_ms)));
            }
        }
        for id in over {
            let Some(r) = self.receiving.remove(&id) else {
                continue;
            };
            match r.inc.status() {
                Status::Done => {
                    let kind = if r.card.previewed() {
                        r.card.media_type.as_str()
                    } else {
                        "application/octet-stream"
                    };
                    let url = blob_of(&r.parts, kind)
                        .and_then(|blob| Url::create_object_url_with_blob(&blob).ok());
                    match url {
                        Some(url) => {
                            self.urls.insert(id, url.clone());
                            r.card.state.set(Transfer::Received(url));
                        }
                        None => failed(&r.card, "The browser could not keep the file."),
                    }
                }
                Status::Failed(why) => failed(&r.card, why),
                Status::Running => {}
            }
        }
    }

    /// The user cancelled one file (queued, offered, or moving, either way).
    pub(crate) fn cancel(&mut self, id: FileId, fx: &mut Effects) {
        if self.sending.as_ref().is_some_and(|s| s.out.id() == id) {
            return self.stop_sending("You cancelled the transfer.", fx);
        }
        if let Some(at) = self.queue.iter().position(|p| p.card.id == id) {
            if let Some(p) = self.queue.remove(at) {
                failed(&p.card, "You cancelled it before it was sent.");
            }
        }
        if let Some((from, _, card, _)) = self.offered.remove(&id) {
            fx.send(Packet::Cancel { file: id }.frame(Some(from)));
            failed(&card, "You declined the file.");
        }
        if let Some(mut r) = self.receiving.remove(&id) {
            fx.send(r.inc.cancel());
            failed(&r.card, "You cancelled the transfer.");
        }
    }

    /// The user removed a received file from the page: its URL goes.
    pub(crate) fn forget(&mut self, id: FileId) {
        if let Some(url) = self.urls.remove(&id) {
            let _ = Url::revoke_object_url(&url);
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
                failed(&card, "The sender left the room before the file was taken.");
            }
        }
        self.settle_receiving(now_ms);
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
        self.settle_receiving(now_ms);
        let late: Vec<FileId> = self
            .offered
            .iter()
            .filter(|(_, (.., at))| now_ms.saturating_sub(*at) >= ANSWER_MS)
            .map(|(&id, _)| id)
            .collect();
        for id in late {
            if let Some((.., card, _)) = self.offered.remove(&id) {
                expire(&card);
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

    /// The room is over: every transfer stops and every `blob:` URL is revoked.
    pub(crate) fn abandon(&mut self) {
        for (_, url) in self.urls.drain() {
            let _ = Url::revoke_object_url(&url);
        }
        *self = Files::default();
    }
}

fn expire(card: &Card) {
    failed(
        card,
        "Not taken in time: the sender stopped offering it. Ask them to send it again.",
    );
}

/// One `Blob` of `parts` (typed `kind`).
fn blob_of(parts: &js_sys::Array, kind: &str) -> Option<Blob> {
    let options = BlobPropertyBag::new();
    options.set_type(kind);
    Blob::new_with_blob_sequence_and_options(parts, &options).ok()
}

/// Reads `blob` whole (a picture to clean).
pub(crate) async fn read_all(blob: &Blob) -> Option<Vec<u8>> {
    let buffer = JsFuture::from(blob.array_buffer()).await.ok()?;
    let buffer = buffer.dyn_into::<js_sys::ArrayBuffer>().ok()?;
    Some(js_sys::Uint8Array::new(&buffer).to_vec())
}

/// The picture `bytes` without its metadata, as a `Blob` of type `kind`.
pub(crate) fn clean_picture(bytes: &[u8], kind: &str) -> Result<Blob, String> {
    let cleaned = match metadata::strip(bytes) {
        Ok(Some(clean)) => clean,
        Ok(None) => bytes.to_vec(),
        Err(_) => {
            return Err(
                "This picture could not be read to remove its metadata; tick \"Keep \
                        metadata\" to send it as it is."
                    .to_owned(),
            )
        }
    };
    blob_of(
        &js_sys::Array::of1(&js_sys::Uint8Array::from(cleaned.as_slice())),
        kind,
    )
    .ok_or_else(|| "The browser could not keep the cleaned picture.".to_owned())
}

impl Client {
    /// Sends files the user picked, dropped or pasted.
    pub fn send_files(&self, picked: Vec<web_sys::File>) {
        let keep = self.ui.keep_metadata.get_untracked();
        let mut to_clean = Vec::new();
        self.with_files(|files, session, _, fx| {
            to_clean = files.pick(session, picked, keep, fx);
        });
        for (id, file) in to_clean {
            let this = self.this.clone();
            spawn_local(async move {
                let kind = file.type_();
                let result = match read_all(&file).await {
                    Some(bytes) => clean_picture(&bytes, &kind),
                    None => Err("The picture could not be read.".to_owned()),
                };
                if let Some(client) = this.upgrade() {
                    client.with_files(|files, session, now, fx| {
                        files.cleaned(id, result);
                        files.pump(session, now, fx);
                    });
                }
            });
        }
        self.with_files(|files, session, now, fx| files.pump(session, now, fx));
    }

    /// Takes a file offered to this member.
    pub fn accept_file(&self, id: FileId) {
        self.with_files(|files, session, now, fx| files.accept(session, id, now, fx));
    }

    /// Stops one transfer, either way.
    pub fn cancel_file(&self, id: FileId) {
        self.with_files(|files, _, _, fx| files.cancel(id, fx));
    }

    /// Removes a file's card and lets the browser free the file.
    pub fn remove_file(&self, id: FileId) {
        self.with_files(|files, _, _, fx| files.cancel(id, fx));
        self.inner.borrow_mut().files.forget(id);
        self.ui
            .lines
            .update(|lines| lines.retain(|l| !matches!(&l.kind, LineKind::File(c) if c.id == id)));
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
        self.apply_files(fx);
    }

    /// Does what the transfers asked for: cards, notes, frames, the next read.
    fn apply_files(&self, fx: Effects) {
        for card in fx.cards {
            self.push(LineKind::File(card));
        }
        for note in fx.notes {
            self.note(vec![Part::Text(note)]);
        }
        if !fx.refused.is_empty() {
            self.ui.notice.set(Some(fx.refused.join(" ")));
        }
        self.process(fx.outputs);
        if let Some((id, index, slice)) = fx.read {
            let this = self.this.clone();
            spawn_local(async move {
                let data = read_all(&slice).await;
                if let Some(client) = this.upgrade() {
                    client.chunk_read(id, index, data);
                }
            });
        }
    }

    /// A chunk of the file being sent was read (`None`: it could not be).
    fn chunk_read(&self, id: FileId, index: u32, data: Option<Vec<u8>>) {
        self.with_files(|files, session, now, fx| files.read(session, id, index, data, now, fx));
    }
}
