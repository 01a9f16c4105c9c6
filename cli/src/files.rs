//! File transfers: `/send PATH` queues a file, offered in the group and streamed on the
//! relay's chunk lane one file at a time. A file another member offers is taken only
//! when the user says `/accept` (or with `--accept-files`), at most
//! [`MAX_RECEIVING`] at once; it is written to `NAME.part` in `--download-dir` and
//! renamed to a name that exists nowhere yet only once every chunk arrived and checked
//! (an existing file is never overwritten, and no file of the final name is ever
//! partial). The transfer state is `vroom_shared::files::transfer`'s; this module only
//! reads, writes and prints.

use std::collections::{HashMap, VecDeque};
use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use vroom_shared::files::lane::Packet;
use vroom_shared::files::transfer::{Incoming, Outgoing, Progress, Status, Step, ANSWER_MS};
use vroom_shared::files::{chunk_size_for, media_type_of, safe_name, FileId, FileOffer, MAX_NAME};
use vroom_shared::files::{transfer::WINDOW, OfferProblem};
use vroom_shared::session::{OfferNotSent, Offered, Output, Session};
use vroom_shared::wire::MemberId;

use crate::render::clean;

/// How often progress is printed, in milliseconds.
const REPORT_MS: u64 = 2_000;

/// Most files received at once; a further offer is declined with a sentence.
pub(crate) const MAX_RECEIVING: usize = 4;

/// Most offers waiting for an answer; a further one is declined with a sentence.
const MAX_PENDING: usize = 16;

/// Suffix of a file being received.
const PART: &str = ".part";

/// Where received files go, and whether they are taken without asking.
pub(crate) struct Downloads {
    /// `--download-dir`.
    pub(crate) dir: PathBuf,
    /// `--accept-files`.
    pub(crate) accept_all: bool,
}

/// Every transfer of this client, both ways.
pub(crate) struct Files {
    /// Where received files go.
    dir: PathBuf,
    /// Files waiting for their turn to be sent.
    queue: VecDeque<PathBuf>,
    /// The file being sent.
    sending: Option<Sending>,
    /// Files being received, by id.
    receiving: HashMap<FileId, Receiving>,
    /// Offers waiting for `/accept` or `/decline`, oldest first.
    pending: Vec<Pending>,
    /// The number the next offer is shown with.
    next_number: u32,
    /// `--accept-files`: take every offer without asking.
    accept_all: bool,
    /// When progress was last printed.
    reported_ms: u64,
}

/// An offer the user has not answered yet.
struct Pending {
    /// What the user types to answer it (`/accept N`).
    number: u32,
    from: MemberId,
    offer: FileOffer,
    nick: String,
    offered_ms: u64,
}

struct Sending {
    out: Outgoing,
    file: File,
    name: String,
    /// The receivers' nicknames when the file was offered (one who left is no longer
    /// in the session's member list when its departure is reported).
    nicks: HashMap<MemberId, String>,
}

struct Receiving {
    inc: Incoming,
    file: File,
    /// The `.part` file being written.
    path: PathBuf,
    nick: String,
}

impl Files {
    pub(crate) fn new(downloads: Downloads) -> Files {
        let Downloads { dir, accept_all } = downloads;
        Files {
            dir,
            queue: VecDeque::new(),
            sending: None,
            receiving: HashMap::new(),
            pending: Vec::new(),
            next_number: 1,
            accept_all,
            reported_ms: 0,
        }
    }

    /// `/send PATH`: checks the file against the room's limit before anything is sent,
    /// and queues it. `Err` is a sentence for the user.
    pub(crate) fn queue(&mut self, session: &Session, path: &str) -> Result<(), String> {
        let path = PathBuf::from(path);
        let meta = std::fs::metadata(&path)
            .map_err(|e| format!("cannot read {}: {e}. Check the path.", path.display()))?;
        if !meta.is_file() {
            return Err(format!("{} is not a file.", path.display()));
        }
        let limit = session.limits().map_or(0, |l| l.max_file);
        if meta.len() > limit {
            return Err(format!(
                "{} is {}, larger than this room's file limit of {}; nothing was sent.",
                path.display(),
                bytes(meta.len()),
                bytes(limit)
            ));
        }
        println!(
            "-- queued {} ({}); files up to {} can be sent here",
            clean(&display_name(&path)),
            bytes(meta.len()),
            bytes(limit)
        );
        self.queue.push_back(path);
        Ok(())
    }

    /// Offers the next queued file when none is being sent, then reads and seals as
    /// many chunks as the window allows. The frames are to be written in order.
    pub(crate) fn pump(&mut self, session: &mut Session, now_ms: u64) -> Vec<Output> {
        let mut frames = Vec::new();
        loop {
            if self.sending.is_none() && !self.start_next(session, now_ms, &mut frames) {
                break;
            }
            let Some(sending) = &mut self.sending else {
                break;
            };
            for _ in 0..WINDOW {
                let Some(req) = sending.out.next_chunk() else {
                    break;
                };
                let mut buf = vec![0; req.len];
                let read = sending
                    .file
                    .seek(SeekFrom::Start(req.offset))
                    .and_then(|_| sending.file.read_exact(&mut buf));
                if read.is_err() {
                    frames.push(Output::Send(sending.out.cancel()));
                    println!(
                        "-- could not send {}: the file could not be read any more",
                        clean(&sending.name)
                    );
                    self.sending = None;
                    break;
                }
                if let Some(frame) = sending.out.seal(req.index, &buf) {
                    frames.push(Output::Send(frame));
                }
            }
            if !self.settle_sending(session, &mut frames) {
                break;
            }
        }
        frames
    }

    /// Takes the next queued file and offers it; `false` when there is none to start.
    fn start_next(&mut self, session: &mut Session, now_ms: u64, out: &mut Vec<Output>) -> bool {
        let Some(limits) = session.limits() else {
            return false;
        };
        if !session.is_ready() {
            return false;
        }
        let Some(path) = self.queue.pop_front() else {
            return false;
        };
        let name = display_name(&path);
        let opened = File::open(&path).and_then(|f| Ok((f.metadata()?.len(), f)));
        let (size, file) = match opened {
            Ok(opened) => opened,
            Err(e) => {
                println!("-- could not send {}: {e}", clean(&name));
                return true;
            }
        };
        if size > limits.max_file {
            println!(
                "-- could not send {}: it grew to {}, above this room's file limit of {}",
                clean(&name),
                bytes(size),
                bytes(limits.max_file)
            );
            return true;
        }
        let offer = FileOffer::new(
            &name,
            media_type_of(&name),
            size,
            chunk_size_for(limits.max_payload),
        );
        let Offered {
            out: outgoing,
            outputs,
            nicks,
        } = match session.offer_file(offer, now_ms) {
            Ok(offered) => offered,
            Err(OfferNotSent::NotReady) => {
                // A commit of ours is waiting for the relay's order: next tick.
                self.queue.push_front(path);
                return false;
            }
            Err(OfferNotSent::Refused(why)) => {
                println!("-- could not send {}: {why}", clean(&name));
                return true;
            }
        };
        out.extend(outputs);
        println!(
            "-- offering {} ({}) to {} member(s)",
            clean(&name),
            bytes(size),
            nicks.len()
        );
        self.sending = Some(Sending {
            out: outgoing,
            file,
            name,
            nicks,
        });
        true
    }

    /// Reports receivers dropped and the end of the file being sent; `true` when the
    /// next queued file may start.
    fn settle_sending(&mut self, session: &Session, frames: &mut Vec<Output>) -> bool {
        let Some(sending) = &mut self.sending else {
            return true;
        };
        for (who, what) in Offered::take_dropped(&mut sending.out, &sending.nicks, session) {
            println!("-- {} {what} {}", clean(&who), clean(&sending.name));
        }
        match sending.out.status().clone() {
            Status::Running => false,
            Status::Done => {
                println!(
                    "-- sent {} to {} member(s)",
                    clean(&sending.name),
                    sending.out.receivers()
                );
                self.sending = None;
                true
            }
            Status::Failed(why) => {
                frames.push(Output::Send(sending.out.cancel()));
                println!("-- could not send {}: {why}", clean(&sending.name));
                self.sending = None;
                true
            }
        }
    }

    /// The files other members offered: each is taken at once with `--accept-files`,
    /// else kept for `/accept` or `/decline`. An offer whose file id is already in use
    /// here is refused (a member re-offering someone else's file must not mix into it).
    pub(crate) fn take_offers(&mut self, session: &mut Session, now_ms: u64) -> Vec<Output> {
        let mut frames = Vec::new();
        for (from, offer) in session.take_file_offers() {
            let nick = session.nick_or_someone(from);
            let id = offer.id;
            let in_use = self.receiving.contains_key(&id)
                || self.pending.iter().any(|p| p.offer.id == id)
                || self.sending.as_ref().is_some_and(|s| s.out.id() == id);
            if in_use {
                println!(
                    "-- {} offered a file that is already being transferred here; refused",
                    clean(&nick)
                );
                frames.push(Output::Send(Packet::Cancel { file: id }.frame(Some(from))));
                continue;
            }
            let pending = Pending {
                number: self.next_number,
                from,
                offer,
                nick,
                offered_ms: now_ms,
            };
            self.next_number = self.next_number.wrapping_add(1).max(1);
            if self.accept_all {
                self.receive(session, pending, now_ms, &mut frames);
            } else if self.pending.len() >= MAX_PENDING {
                println!(
                    "-- {} offered {}; refused: {MAX_PENDING} offers already wait for an answer",
                    clean(&pending.nick),
                    clean(&safe_name(&pending.offer.name)),
                );
                frames.push(Output::Send(Packet::Cancel { file: id }.frame(Some(from))));
            } else {
                println!(
                    "-- {} offers {} ({}) [file {n}]: /accept {n} to save it in {}, /decline {n} to refuse",
                    clean(&pending.nick),
                    clean(&safe_name(&pending.offer.name)),
                    bytes(pending.offer.size),
                    self.dir.display(),
                    n = pending.number,
                );
                self.pending.push(pending);
            }
        }
        frames
    }

    /// The offers `/accept` or `/decline` with `which` answer: the only one (`""`),
    /// file N, or `all`; `None` (with a line saying why) when that names none.
    fn answer(&mut self, which: &str, verb: &str) -> Option<Vec<Pending>> {
        let which = which.trim();
        let picked: Vec<Pending> = match which {
            "all" => std::mem::take(&mut self.pending),
            "" if self.pending.len() <= 1 => std::mem::take(&mut self.pending),
            "" => {
                let numbers: Vec<String> =
                    self.pending.iter().map(|p| p.number.to_string()).collect();
                println!(
                    "-- {} files are offered ({}): /{verb} NUMBER, or /{verb} all",
                    self.pending.len(),
                    numbers.join(", ")
                );
                return None;
            }
            n => match self.pending.iter().position(|p| n.parse() == Ok(p.number)) {
                Some(at) => vec![self.pending.remove(at)],
                None => {
                    println!("-- no file offer {} to {verb}", clean(n));
                    return None;
                }
            },
        };
        if picked.is_empty() {
            println!("-- no file offer to {verb}");
        }
        Some(picked)
    }

    /// `/accept [N|all]`: takes the offers it names.
    pub(crate) fn accept(&mut self, session: &Session, which: &str, now_ms: u64) -> Vec<Output> {
        let mut frames = Vec::new();
        for pending in self.answer(which, "accept").unwrap_or_default() {
            self.receive(session, pending, now_ms, &mut frames);
        }
        frames
    }

    /// `/decline [N|all]`: refuses the offers it names.
    pub(crate) fn decline(&mut self, which: &str) -> Vec<Output> {
        self.answer(which, "decline")
            .unwrap_or_default()
            .into_iter()
            .map(|p| {
                println!(
                    "-- declined {} from {}",
                    clean(&safe_name(&p.offer.name)),
                    clean(&p.nick)
                );
                Output::Send(Packet::Cancel { file: p.offer.id }.frame(Some(p.from)))
            })
            .collect()
    }

    /// Starts receiving an offer into a new `.part` file, unless it is refused (too
    /// large, malformed, too many at once, or the file cannot be created).
    fn receive(&mut self, session: &Session, p: Pending, now_ms: u64, out: &mut Vec<Output>) {
        let max_file = session.limits().map_or(0, |l| l.max_file);
        let name = safe_name(&p.offer.name);
        let size = p.offer.size;
        let id = p.offer.id;
        let cancel = Output::Send(Packet::Cancel { file: id }.frame(Some(p.from)));
        if self.receiving.len() >= MAX_RECEIVING {
            println!(
                "-- could not receive {} from {}: {MAX_RECEIVING} files are already arriving; \
                 ask them to send it again when those are done",
                clean(&name),
                clean(&p.nick)
            );
            out.push(cancel);
            return;
        }
        let (inc, ack) = match Incoming::accept(p.from, p.offer, max_file, now_ms) {
            Ok(accepted) => accepted,
            Err(problem) => {
                let why = match problem {
                    OfferProblem::TooLarge => "it is above this room's file limit",
                    OfferProblem::BadChunking | OfferProblem::BadKey => {
                        "its sender's client sent it malformed"
                    }
                };
                println!(
                    "-- {} offered {} ({}); refused: {why}",
                    clean(&p.nick),
                    clean(&name),
                    bytes(size)
                );
                out.push(cancel);
                return;
            }
        };
        let (file, path) = match create_unique(&self.dir, &format!("{name}{PART}")) {
            Ok(created) => created,
            Err(e) => {
                println!(
                    "-- could not receive {} from {}: cannot create a file in {}: {e}",
                    clean(&name),
                    clean(&p.nick),
                    self.dir.display()
                );
                out.push(cancel);
                return;
            }
        };
        println!(
            "-- receiving {} ({}) from {} into {}",
            clean(&name),
            bytes(size),
            clean(&p.nick),
            path.display()
        );
        out.push(Output::Send(ack));
        self.receiving.insert(
            id,
            Receiving {
                inc,
                file,
                path,
                nick: p.nick,
            },
        );
    }

    /// A chunk-lane packet from `from`.
    pub(crate) fn on_stream(&mut self, from: MemberId, payload: &[u8], now_ms: u64) -> Vec<Output> {
        let mut frames = Vec::new();
        let Some(packet) = Packet::decode(payload) else {
            return frames;
        };
        let id = packet.file();
        if let Some(sending) = self.sending.as_mut().filter(|s| s.out.id() == id) {
            sending.out.on_packet(from, &packet, now_ms);
            return frames;
        }
        let Some(r) = self.receiving.get_mut(&id) else {
            // A file this member was never offered (it joined later): not its business.
            return frames;
        };
        match r.inc.on_packet(from, &packet, now_ms) {
            Step::Data { data, ack, last } => {
                if let Err(e) = r.file.write_all(&data) {
                    frames.push(Output::Send(r.inc.cancel()));
                    let r = self.receiving.remove(&id);
                    fail_incoming(r, &format!("writing it failed: {e}"));
                    return frames;
                }
                frames.push(Output::Send(ack));
                if last {
                    if let Some(r) = self.receiving.remove(&id) {
                        self.finish(r);
                    }
                }
            }
            Step::Ask(frame) | Step::Rejected(frame) => frames.push(Output::Send(frame)),
            Step::Duplicate | Step::Wait => {}
        }
        self.settle_receiving();
        frames
    }

    /// Every chunk arrived and checked: the `.part` file takes a name of its own.
    fn finish(&self, r: Receiving) {
        let name = safe_name(&r.inc.offer().name);
        let done = r
            .file
            .sync_all()
            .and_then(|()| place(&self.dir, &r.path, &name));
        match done {
            Ok(path) => println!(
                "-- received {} ({}) from {}: {}",
                clean(&name),
                bytes(r.inc.offer().size),
                clean(&r.nick),
                path.display()
            ),
            Err(e) => fail_incoming(Some(r), &format!("writing it failed: {e}")),
        }
    }

    /// Drops finished-with-failure receptions, deleting their partial files.
    fn settle_receiving(&mut self) {
        let failed: Vec<FileId> = self
            .receiving
            .iter()
            .filter(|(_, r)| matches!(r.inc.status(), Status::Failed(_)))
            .map(|(&id, _)| id)
            .collect();
        for id in failed {
            let r = self.receiving.remove(&id);
            let why = match r.as_ref().map(|r| r.inc.status()) {
                Some(Status::Failed(why)) => why.clone(),
                _ => String::new(),
            };
            fail_incoming(r, &why);
        }
    }

    /// `member` left the room.
    pub(crate) fn member_left(&mut self, member: MemberId) {
        self.pending.retain(|p| p.from != member);
        if let Some(sending) = &mut self.sending {
            sending.out.member_left(member);
        }
        for r in self.receiving.values_mut() {
            if r.inc.sender() == member {
                r.inc.sender_left();
            }
        }
        self.settle_receiving();
    }

    /// The clock: timeouts, resends and progress lines.
    pub(crate) fn tick(&mut self, now_ms: u64) -> Vec<Output> {
        let mut frames = Vec::new();
        if let Some(sending) = &mut self.sending {
            sending.out.tick(now_ms);
        }
        self.pending.retain(|p| {
            let fresh = now_ms.saturating_sub(p.offered_ms) < ANSWER_MS;
            if !fresh {
                println!(
                    "-- the offer of {} from {} expired (it was not accepted in time)",
                    clean(&safe_name(&p.offer.name)),
                    clean(&p.nick)
                );
            }
            fresh
        });
        for r in self.receiving.values_mut() {
            frames.extend(r.inc.tick(now_ms).map(Output::Send));
        }
        self.settle_receiving();
        if now_ms.saturating_sub(self.reported_ms) >= REPORT_MS {
            self.reported_ms = now_ms;
            if let Some(s) = &self.sending {
                if *s.out.status() == Status::Running {
                    let p = s.out.progress(now_ms);
                    println!("-- sending {}: {}", clean(&s.name), progress(&p));
                }
            }
            for r in self.receiving.values() {
                let p = r.inc.progress(now_ms);
                println!(
                    "-- receiving {}: {}",
                    clean(&safe_name(&r.inc.offer().name)),
                    progress(&p)
                );
            }
        }
        frames
    }

    /// The connection to the relay is back: resume every transfer from what the
    /// receivers confirmed.
    pub(crate) fn reconnected(&mut self) -> Vec<Output> {
        if let Some(sending) = &mut self.sending {
            sending.out.reconnected();
        }
        self.receiving
            .values_mut()
            .filter_map(|r| r.inc.reconnected())
            .map(Output::Send)
            .collect()
    }

    /// `/cancel`: stops every transfer and empties the queue.
    pub(crate) fn cancel_all(&mut self) -> Vec<Output> {
        let mut frames = Vec::new();
        let queued = self.queue.len();
        self.queue.clear();
        if !self.pending.is_empty() {
            frames.extend(self.decline("all"));
        }
        if let Some(mut sending) = self.sending.take() {
            frames.push(Output::Send(sending.out.cancel()));
            println!("-- cancelled sending {}", clean(&sending.name));
        }
        for (_, mut r) in self.receiving.drain() {
            frames.push(Output::Send(r.inc.cancel()));
            fail_incoming(Some(r), "you cancelled it");
        }
        if queued > 0 {
            println!("-- {queued} queued file(s) will not be sent");
        }
        if frames.is_empty() && queued == 0 {
            println!("-- no file transfer to cancel");
        }
        frames
    }

    /// The room is over: partial files are deleted.
    pub(crate) fn abandon(&mut self) {
        self.queue.clear();
        self.sending = None;
        self.pending.clear();
        for (_, r) in self.receiving.drain() {
            fail_incoming(Some(r), "the room ended");
        }
    }
}

/// Says why a reception stopped and deletes its partial file.
fn fail_incoming(r: Option<Receiving>, why: &str) {
    let Some(r) = r else {
        return;
    };
    let name = safe_name(&r.inc.offer().name);
    drop(r.file);
    let _ = std::fs::remove_file(&r.path);
    println!(
        "-- could not receive {} from {}: {} (the partial file was deleted)",
        clean(&name),
        clean(&r.nick),
        why.trim_end_matches('.')
    );
}

/// Creates `name` in `dir`, or `name (1)`, `name (2)`… when it exists: an existing
/// file is never opened, let alone overwritten (`create_new` is atomic).
/// Names stay within [`MAX_NAME`] bytes (what file systems allow), the stem cut short
/// at a character boundary to make room for a ` (n)` or `.part`.
fn create_unique(dir: &Path, name: &str) -> std::io::Result<(File, PathBuf)> {
    let (stem, ext) = match name.rfind('.') {
        Some(dot) if dot > 0 && name.len() - dot <= 32 => name.split_at(dot),
        _ => (name, ""),
    };
    for n in 0..10_000u32 {
        let suffix = if n == 0 {
            String::new()
        } else {
            format!(" ({n})")
        };
        let room = MAX_NAME.saturating_sub(suffix.len() + ext.len());
        let mut end = stem.len().min(room);
        while !stem.is_char_boundary(end) {
            end -= 1;
        }
        let candidate = format!("{}{suffix}{ext}", &stem[..end]);
        let path = dir.join(candidate);
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(file) => return Ok((file, path)),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::new(
        ErrorKind::AlreadyExists,
        "too many files of that name already",
    ))
}

/// Moves a received `.part` file to `name` in `dir`, or `name (1)`… : the final name is
/// claimed with `create_new` first (so nobody else's file is replaced), then the part
/// file renamed over that empty claim.
fn place(dir: &Path, part: &Path, name: &str) -> std::io::Result<PathBuf> {
    let (claim, path) = create_unique(dir, name)?;
    drop(claim);
    std::fs::rename(part, &path).inspect_err(|_| {
        let _ = std::fs::remove_file(&path);
    })?;
    Ok(path)
}

fn display_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".to_owned())
}

/// `1.5 MB` (decimal units, as file managers show them).
fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

fn progress(p: &Progress) -> String {
    let left = p
        .eta_secs
        .map_or_else(|| "time left unknown".to_owned(), |s| format!("{s} s left"));
    format!(
        "{} of {}, {}/s, {left}",
        bytes(p.done),
        bytes(p.total),
        bytes(p.rate as u64)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_existing_file_is_never_overwritten() {
        let dir = std::env::temp_dir().join(format!("vroom-cli-unique-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a.txt"), b"mine").unwrap();
        std::fs::write(dir.join("a (1).txt"), b"mine too").unwrap();
        let (_, path) = create_unique(&dir, "a.txt").unwrap();
        assert_eq!(path, dir.join("a (2).txt"));
        assert_eq!(std::fs::read(dir.join("a.txt")).unwrap(), b"mine");
        let (_, path) = create_unique(&dir, "noext").unwrap();
        assert_eq!(path, dir.join("noext"));
        let (_, path) = create_unique(&dir, "noext").unwrap();
        assert_eq!(path, dir.join("noext (1)"));
        // The longest name a sender can give still gets its part file and a free name.
        let long = format!("{}.txt", "é".repeat(125));
        assert!(long.len() <= MAX_NAME);
        for _ in 0..2 {
            let (_, part) = create_unique(&dir, &format!("{long}.part")).unwrap();
            let placed = place(&dir, &part, &long).unwrap();
            let placed_name = placed.file_name().unwrap().to_str().unwrap().to_owned();
            assert!(placed_name.len() <= MAX_NAME && placed_name.ends_with(".txt"));
        }
        // A finished part file takes a free name and never replaces a file.
        let (_, part) = create_unique(&dir, "a.txt.part").unwrap();
        std::fs::write(&part, b"received").unwrap();
        let placed = place(&dir, &part, "a.txt").unwrap();
        assert_eq!(placed, dir.join("a (3).txt"));
        assert_eq!(std::fs::read(&placed).unwrap(), b"received");
        assert!(!part.exists());
        assert_eq!(std::fs::read(dir.join("a.txt")).unwrap(), b"mine");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn sizes_read_like_a_file_manager() {
        assert_eq!(bytes(999), "999 B");
        assert_eq!(bytes(1_500_000), "1.5 MB");
        assert_eq!(bytes(200_000_000), "200.0 MB");
    }
}
