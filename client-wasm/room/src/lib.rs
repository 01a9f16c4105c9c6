//! vroom's web app, the room: the half that holds the session and every key. The interface
//! reaches it only through [`vroom_bridge`]'s values, encoded with postcard at the
//! boundary: a [`Command`] in ([`call`]), a [`Reply`] back, and the
//! [`RoomEvent`](vroom_bridge::RoomEvent)s it
//! sends as things happen ([`Room::emit`]). `client-wasm/room-module` builds it into a
//! WebAssembly module of its own that shares no memory with the interface
//! (BENCHMARKS.md §14); the browser tests of `vroom-web` link it instead.
//!
//! Everything that needs a key is here: the ways in (`ways`: links, creating, joining,
//! coming back after a reload; `named`: rooms by name; `codes`: short codes), the
//! conversation and the host's and moderators' actions, files (`files`), the saved
//! entry for a reload (`resume`), and everything the session tells (`live`: the socket,
//! the clock, reconnecting, and the session's events turned into events for the
//! interface). The interface (`vroom-web`'s `state::Client`) holds the [`Room`] and reaches it
//! only through [`call`]; the room reaches the interface only through [`Room::emit`],
//! which hands the encoded event to the callback the interface gave it.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use vroom_bridge::{
    decode, encode, ActionError, Command, Connection, MemberInfo, MessageId, NickError, Reply,
    Screen,
};
use vroom_shared::session::driver::Reconnect;
use vroom_shared::session::{self, Presence, Session};
use wasm_bindgen::closure::Closure;
use web_sys::{CloseEvent, Event, MessageEvent, WebSocket};
use zeroize::Zeroizing;

use ways::check_nick;

mod clock;
mod codes;
mod entry;
mod files;
mod live;
mod named;
mod resume;
mod ways;

/// The room's state: the session, the socket, and what the room remembers of what it
/// told the interface.
pub(crate) struct State {
    /// The room session; `None` before a room is chosen and after it ended.
    pub(crate) session: Option<Session>,
    /// File transfers, both ways.
    pub(crate) files: files::Files,
    /// The open (or opening) socket.
    socket: Option<Socket>,
    /// The relay's origin, `http[s]://host[:port]`: its WebSocket, and the salt of
    /// rooms found by name.
    pub(crate) origin: String,
    /// This page's origin, which invite links point to (the relay's own, unless the
    /// app is hosted apart from it).
    page: String,
    /// When to try the relay again after a drop, and when to give up.
    reconnect: Reconnect,
    /// The interval that ticks the session's clock while a room is open.
    clock: Option<clock::Interval>,
    /// The epoch this member entered the group at, while it is a newcomer who has not
    /// seen a change of epoch yet: members who make themselves known in it were here
    /// before it, and are listed as present rather than announced as arrivals.
    arrival_epoch: Option<u64>,
    /// How the current room was entered by name, while the relay has not let us in:
    /// its refusal becomes a question on the start page.
    pub(crate) named: Option<vroom_bridge::NamedEntry>,
    /// The room name and passphrase last checked, waiting for the key stretching.
    checked: Option<named::Checked>,
    /// Coming back after a reload, until back in the room ([`Command::Resume`]).
    reloading: bool,
    /// The epoch this member came back in after a reload: the members who make
    /// themselves known in it are the ones already shown, not arrivals.
    quiet_epoch: Option<u64>,
    /// Messages sent while this page was reloading that it could not read.
    missed: usize,
    /// A short-code exchange under way on the start page.
    code_join: Option<codes::Joining>,
    /// This member's live short codes, as the interface was last told.
    codes: Vec<vroom_bridge::LiveCode>,
    /// What the page showed before a reload: shown once back in the room, dropped if
    /// the place was lost.
    pub(crate) saved_view: Option<vroom_bridge::View>,
    /// The screen the interface was last told to show.
    pub(crate) screen: Screen,
    /// The connection as the interface was last told.
    connection: Connection,
    /// The members as the interface was last told (names for messages, reactions and
    /// receipts are taken from this list, as the page shows it).
    members: Vec<MemberInfo>,
    /// The epoch of the safety code the interface was last told.
    safety_epoch: Option<u64>,
    /// Who the interface was last told is typing.
    typing: Vec<String>,
}

impl State {
    /// A room for the page at `page` that talks to the relay at `relay`, with the
    /// interface on `screen`.
    pub(crate) fn new(page: &str, relay: &str, screen: Screen) -> State {
        State {
            session: None,
            files: files::Files::default(),
            socket: None,
            origin: relay.trim_end_matches('/').to_owned(),
            page: page.trim_end_matches('/').to_owned(),
            reconnect: Reconnect::new(),
            clock: None,
            arrival_epoch: None,
            named: None,
            checked: None,
            reloading: false,
            quiet_epoch: None,
            missed: 0,
            code_join: None,
            codes: Vec::new(),
            saved_view: None,
            screen,
            connection: Connection::Connecting,
            members: Vec::new(),
            safety_epoch: None,
            typing: Vec::new(),
        }
    }

    /// The session just started came back after a reload: what the page showed before
    /// it is shown again once the members have taken this member back, not before.
    pub(crate) fn reloaded(&mut self, view: vroom_bridge::View) {
        self.reloading = true;
        self.saved_view = Some(view);
    }
}

/// How the room hands the interface an encoded [`RoomEvent`](vroom_bridge::RoomEvent).
pub type Deliver = Box<dyn Fn(&[u8])>;

/// The room's half of the page: its state, and the one way it tells the interface
/// anything ([`Room::emit`], through `deliver`). The interface holds it and reaches it
/// only through [`call`]; the room's socket and timer callbacks hold it weakly.
pub struct Room {
    /// The room's state; a `RefCell` because socket callbacks and commands both change
    /// it, one at a time (the page has one thread). Never borrowed across
    /// [`Room::emit`]: the interface may call back in while it applies an event.
    pub(crate) inner: RefCell<State>,
    /// Hands an encoded event to the interface.
    deliver: Deliver,
    /// Lets socket and timer callbacks reach the room without keeping it alive.
    pub(crate) this: Weak<Room>,
}

impl Room {
    /// The room for the page at `page` that talks to the relay at `relay`, with the
    /// interface on `screen`; its events go to `deliver`.
    pub fn new(page: &str, relay: &str, screen: Screen, deliver: Deliver) -> Rc<Room> {
        Rc::new_cyclic(|this| Room {
            inner: RefCell::new(State::new(page, relay, screen)),
            deliver,
            this: this.clone(),
        })
    }
}

/// A socket and the callbacks it calls; dropping the callbacks while the socket could
/// still call them would throw, so they live exactly as long as the socket is in use.
pub(crate) struct Socket {
    /// The socket.
    pub(crate) ws: WebSocket,
    /// `onopen`, `onmessage`, `onclose`, `onerror`.
    pub(crate) _on_open: Closure<dyn FnMut(Event)>,
    pub(crate) _on_message: Closure<dyn FnMut(MessageEvent)>,
    pub(crate) _on_close: Closure<dyn FnMut(CloseEvent)>,
    pub(crate) _on_error: Closure<dyn FnMut(Event)>,
}

impl Socket {
    /// Closes the socket without calling our callbacks again.
    pub(crate) fn shut(self) {
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        self.ws.set_onerror(None);
        let _ = self.ws.close();
    }
}

/// Runs one encoded [`Command`] and returns its encoded [`Reply`]: the room's one entry
/// point for the interface.
pub fn call(room: &Room, bytes: &[u8]) -> Zeroizing<Vec<u8>> {
    let reply = match decode::<Command>(bytes) {
        Ok(command) => run(room, command),
        Err(_) => Reply::Garbled,
    };
    encode(&reply)
}

/// The page's clock, milliseconds since the Unix epoch.
fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

fn run(room: &Room, command: Command) -> Reply {
    let now = now_ms();
    match command {
        Command::SendText { text } => done(room.act(|s| s.send_text(&text, now))),
        Command::SendAction { text } => done(room.act(|s| s.send_action(&text, now))),
        Command::SendReply { to, text } => {
            done(room.act(|s| s.send_reply(session_id(to), &text, now)))
        }
        Command::SendDirect { to, text } => done(room.act(|s| s.send_direct(to, &text, now))),
        Command::Edit { id, text } => done(room.act(|s| s.edit(session_id(id), &text, now))),
        Command::Delete { id } => done(room.act(|s| s.delete(session_id(id)))),
        Command::React { id, emoji, on } => done(room.act(|s| s.react(session_id(id), &emoji, on))),
        Command::Typing(typing) => done(room.act(|s| {
            Ok(if typing {
                s.typing(now)
            } else {
                s.stop_typing()
            })
        })),
        Command::Read { upto } => {
            if let Some(session) = room.inner.borrow_mut().session.as_mut() {
                session.mark_read(session_id(upto), now);
            }
            Reply::Done
        }
        Command::Active(active) => {
            let presence = if active {
                Presence::Active
            } else {
                Presence::Away
            };
            done(room.act(|s| Ok(s.set_presence(presence))))
        }
        Command::CanEdit { id } => Reply::Bool(
            room.inner
                .borrow()
                .session
                .as_ref()
                .is_some_and(|s| s.can_edit(session_id(id))),
        ),
        Command::SetNick { nick } => match check_nick(&nick) {
            Err(e) => Reply::Nick(e),
            Ok(()) => match room.act(|s| s.set_nick(&nick)) {
                Ok(()) => Reply::Done,
                Err(e) => Reply::Nick(NickError::Action(bridged_error(e))),
            },
        },
        Command::Terminate => done(room.act(session::Session::terminate)),
        Command::Lock(locked) => done(room.act(|s| s.lock(locked))),
        Command::MemberCap(cap) => done(room.act(|s| s.set_member_cap(cap))),
        Command::Kick(member) => done(room.act(|s| s.kick(member))),
        Command::Moderator { member, on } => done(room.act(|s| s.set_moderator(member, on))),
        Command::HandOver(member) => done(room.act(|s| s.hand_over(member))),
        Command::Leave => done(room.act(session::Session::leave)),
        Command::MakeCode => done(room.act(session::Session::request_code)),
        Command::RevokeCode { nameplate } => {
            let reply = done(room.act(|s| s.revoke_code(nameplate).map(|(_, out)| out)));
            if matches!(reply, Reply::Done) {
                room.code_revoked(nameplate);
            }
            reply
        }
        Command::CheckNamed(entry) => match room.check_named_entry(entry) {
            Ok(name) => Reply::Named(name),
            Err(sentence) => Reply::Failed(sentence),
        },
        Command::EnterNamed => match room.enter_checked() {
            Some(took) => Reply::Millis(took),
            None => Reply::Failed("Type the room's name and passphrase again.".to_owned()),
        },
        Command::JoinByCode { typed, nick } => match room.start_code_join(&typed, &nick) {
            Ok(()) => Reply::Done,
            Err(sentence) => Reply::Failed(sentence),
        },
        Command::Create { nick } => match room.create_room(&nick) {
            Ok(()) => Reply::Done,
            Err(e) => Reply::Nick(e),
        },
        Command::Join { link, nick } => match room.join_room(&link, &nick) {
            Ok(Ok(())) => Reply::Done,
            Ok(Err(e)) => Reply::Nick(e),
            Err(sentence) => Reply::Failed(sentence),
        },
        Command::JoinAgain {
            link,
            nick,
            sentence,
        } => match room.join_room_again(&link, &nick, &sentence) {
            Ok(()) => Reply::Done,
            Err(sentence) => Reply::Failed(sentence),
        },
        Command::Resume { link } => match room.resume_room(&link) {
            Ok(resumed) => Reply::Resumed(resumed),
            Err(sentence) => Reply::Failed(sentence),
        },
        Command::CheckAddress { origin, path, hash } => {
            Reply::Link(room.read_address(&origin, &path, &hash))
        }
        Command::CheckPasted { origin, text } => Reply::Link(entry::paste(&origin, &text)),
        Command::CheckNick { nick } => match check_nick(&nick) {
            Ok(()) => Reply::Done,
            Err(e) => Reply::Nick(e),
        },
        Command::Suspend => {
            room.suspend_socket();
            Reply::Done
        }
        Command::Wake => {
            room.wake_socket();
            Reply::Done
        }
        Command::SaveForReload(view) => {
            room.save_view(view);
            Reply::Done
        }
        Command::SendFiles {
            files,
            keep_metadata,
        } => {
            room.pick_files(files, keep_metadata);
            Reply::Done
        }
        Command::Cleaned { id, size } => {
            room.file_cleaned(id, size);
            Reply::Done
        }
        Command::Chunk { id, index, bytes } => {
            room.chunk_read(id, index, bytes);
            Reply::Done
        }
        Command::AcceptFile(id) => {
            room.accept_offer(id);
            Reply::Done
        }
        Command::CancelFile(id) | Command::RemoveFile(id) => {
            room.stop_file(id);
            Reply::Done
        }
    }
}

/// The answer to a session action.
fn done(result: Result<(), session::ActionError>) -> Reply {
    match result {
        Ok(()) => Reply::Done,
        Err(e) => Reply::Refused(bridged_error(e)),
    }
}

/// A message id from the interface, as the session knows it.
fn session_id(id: MessageId) -> session::MessageId {
    session::MessageId(id.0)
}

/// The session's refusal as it crosses the boundary.
fn bridged_error(e: session::ActionError) -> ActionError {
    use session::ActionError as S;
    match e {
        S::NotReady => ActionError::NotReady,
        S::Ended => ActionError::Ended,
        S::NotHost => ActionError::NotHost,
        S::TooLarge => ActionError::TooLarge,
        S::Empty => ActionError::Empty,
        S::UnknownMember => ActionError::UnknownMember,
        S::NotYours => ActionError::NotYours,
        S::UnknownMessage => ActionError::UnknownMessage,
        S::NoDirectKey => ActionError::NoDirectKey,
        S::InvalidReaction => ActionError::InvalidReaction,
        S::NotModerator => ActionError::NotModerator,
        S::TooManyModerators => ActionError::TooManyModerators,
    }
}

/// The session's id of a message as it crosses the boundary.
fn bridged(id: session::MessageId) -> MessageId {
    MessageId(id.0)
}

/// A member as it crosses the boundary.
fn bridged_member(m: session::MemberInfo) -> MemberInfo {
    MemberInfo {
        member: m.member,
        nick: m.nick,
        fingerprint: m.fingerprint,
        is_host: m.is_host,
        is_moderator: m.is_moderator,
        is_self: m.is_self,
        presence: match m.presence {
            Presence::Active => vroom_bridge::Presence::Active,
            Presence::Away => vroom_bridge::Presence::Away,
        },
    }
}
