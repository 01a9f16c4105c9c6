//! File transfers: `/send PATH` queues a file, offered in the group and streamed on the
//! relay's chunk lane one file at a time; files others offer are taken into
//! `--download-dir` under a name that exists nowhere yet (an existing file is never
//! overwritten). The transfer state is `vroom_shared::files::transfer`'s; this module
//! only reads, writes and prints.

use std::collections::{HashMap, VecDeque};
use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use vroom_shared::files::lane::Packet;
use vroom_shared::files::transfer::{Dropped, Incoming, Outgoing, Progress, Status, Step};
use vroom_shared::files::{chunk_size_for, media_type_of, safe_name, FileId, FileOffer};
use vroom_shared::files::{transfer::WINDOW, OfferProblem};
use vroom_shared::session::{ActionError, Output, Session};
use vroom_shared::wire::MemberId;

use crate::render::clean;

/// How often progress is printed, in milliseconds.
const REPORT_MS: u64 = 2_000;

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
    /// When progress was last printed.
    reported_ms: u64,
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
    path: PathBuf,
    nick: String,
}

impl Files {
    pub(crate) fn new(dir: PathBuf) -> Files {
        Files {
            dir,
            queue: VecDeque::new(),
            sending: None,
            receiving: HashMap::new(),
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
        let nicks: HashMap<MemberId, String> = session
            .members()
            .into_iter()
            .filter(|m| !m.is_self)
            .map(|m| (m.member, m.nick))
            .collect();
        let receivers: Vec<MemberId> = nicks.keys().copied().collect();
        let Some(outgoing) = Outgoing::new(offer, &receivers, now_ms) else {
            println!(
                "-- could not send {}: it is too large to number its chunks",
                clean(&name)
            );
            return true;
        };
        if let Status::Failed(why) = outgoing.status() {
            println!("-- could not send {}: {why}", clean(&name));
            return true;
        }
        match session.send_file(outgoing.offer()) {
            Ok(outputs) => out.extend(outputs),
            Err(ActionError::NotReady) => {
                // A commit of ours is waiting for the relay's order: next tick.
                self.queue.push_front(path);
                return false;
            }
            Err(e) => {
                println!("-- could not send {}: {e}", clean(&name));
                return true;
            }
        }
        println!(
            "-- offering {} ({}) to {} member(s)",
            clean(&name),
            bytes(size),
            receivers.len()
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
        for (member, why) in sending.out.take_dropped() {
            let who = sending
                .nicks
                .get(&member)
                .cloned()
                .unwrap_or_else(|| nick_of(session, member));
            let what = match why {
                Dropped::Declined => "declined or cancelled",
                Dropped::NoAnswer => "did not take (their client may not take files)",
                Dropped::Silent => "stopped answering for",
                Dropped::Left => "left before receiving",
            };
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

    /// Takes the files other members offered: each goes to a new file in the download
    /// directory.
    pub(crate) fn take_offers(&mut self, session: &mut Session, now_ms: u64) -> Vec<Output> {
        let mut frames = Vec::new();
        let max_file = session.limits().map_or(0, |l| l.max_file);
        for (from, offer) in session.take_file_offers() {
            let who = nick_of(session, from);
            let name = safe_name(&offer.name);
            let size = offer.size;
            let id = offer.id;
            let (inc, ack) = match Incoming::accept(from, offer, max_file, now_ms) {
                Ok(accepted) => accepted,
                Err(problem) => {
                    let why = match problem {
                        OfferProblem::TooLarge => "it is above this room's file limit",
                        OfferProblem::BadChunking => "its sender's client sent it malformed",
                    };
                    println!(
                        "-- {} offered {} ({}); refused: {why}",
                        clean(&who),
                        clean(&name),
                        bytes(size)
                    );
                    frames.push(Output::Send(Packet::Cancel { file: id }.frame(Some(from))));
                    continue;
                }
            };
            let (file, path) = match create_unique(&self.dir, &name) {
                Ok(created) => created,
                Err(e) => {
                    println!(
                        "-- could not receive {} from {}: cannot create a file in {}: {e}",
                        clean(&name),
                        clean(&who),
                        self.dir.display()
                    );
                    frames.push(Output::Send(Packet::Cancel { file: id }.frame(Some(from))));
                    continue;
                }
            };
            println!(
                "-- receiving {} ({}) from {} into {}",
                clean(&name),
                bytes(size),
                clean(&who),
                path.display()
            );
            frames.push(Output::Send(ack));
            self.receiving.insert(
                id,
                Receiving {
                    inc,
                    file,
                    path,
                    nick: who,
                },
            );
        }
        frames
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
        match packet {
            Packet::Chunk { index, sealed, .. } => {
                match r.inc.on_chunk(from, index, sealed, now_ms) {
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
                                let flushed = r.file.sync_all();
                                match flushed {
                                    Ok(()) => println!(
                                        "-- received {} ({}) from {}: {}",
                                        clean(&safe_name(&r.inc.offer().name)),
                                        bytes(r.inc.offer().size),
                                        clean(&r.nick),
                                        r.path.display()
                                    ),
                                    Err(e) => {
                                        fail_incoming(Some(r), &format!("writing it failed: {e}"))
                                    }
                                }
                            }
                        }
                    }
                    Step::Ask(frame) | Step::Rejected(frame) => frames.push(Output::Send(frame)),
                    Step::Duplicate | Step::Wait => {}
                }
            }
            Packet::Cancel { .. } => r.inc.on_cancel(from),
            Packet::Ack { .. } | Packet::Resend { .. } => {}
        }
        self.settle_receiving();
        frames
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
fn create_unique(dir: &Path, name: &str) -> std::io::Result<(File, PathBuf)> {
    let (stem, ext) = match name.rfind('.') {
        Some(dot) if dot > 0 => name.split_at(dot),
        _ => (name, ""),
    };
    for n in 0..10_000u32 {
        let candidate = if n == 0 {
            name.to_owned()
        } else {
            format!("{stem} ({n}){ext}")
        };
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

fn display_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".to_owned())
}

fn nick_of(session: &Session, member: MemberId) -> String {
    session
        .members()
        .into_iter()
        .find(|m| m.member == member)
        .map_or_else(|| format!("member {}", member.0), |m| m.nick)
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
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn sizes_read_like_a_file_manager() {
        assert_eq!(bytes(999), "999 B");
        assert_eq!(bytes(1_500_000), "1.5 MB");
        assert_eq!(bytes(200_000_000), "200.0 MB");
    }
}
