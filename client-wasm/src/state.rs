//! The room state: the one place that owns the [`Session`] (and with it every key) and
//! the WebSocket to the relay. Components read the reactive [`RoomUi`] it fills and
//! call [`Client`]'s methods; they never see a key or a frame.
//!
//! The session is sans-I/O: this module writes the frames it returns to the socket,
//! feeds it every binary message the socket receives, and turns its events into UI
//! state. While a room is open, one interval ticks the session's clock every
//! [`TICK_MS`] (it lets this member take over a commit another member did not make);
//! it is cleared when the room ends. A dropped socket is reopened following the shared
//! [`Reconnect`] policy, and the session's reconnect frame takes back this member's
//! place and catches up on what was missed. Notices use the sentences of
//! [`driver::describe`], as the native client does.

use std::cell::RefCell;
use std::rc::{Rc, Weak};
use std::time::Duration;

use leptos::prelude::*;
pub use vroom_bridge::{ActionError, NickError};
use vroom_bridge::{Command, Reply};
use vroom_shared::invite::{ws_url, Invite};
use vroom_shared::session::driver::{self, Reconnect, MAX_BACKOFF_MS, TICK_MS};
use vroom_shared::session::{
    clean_nick, ActionError as SessionError, Content, MemberInfo, MessageId, Output, Presence,
    Resumable, SafetyCode, Session, SessionEvent,
};
use vroom_shared::wire::{
    CloseReason, ErrorCode, LeaveReason, MemberId, RoomSettings, ServerFrame,
};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{BinaryType, CloseEvent, Event, MessageEvent, WebSocket};

mod codes;
mod named;

pub use codes::{CodeUi, LiveCode};
pub use named::{Checked, NamedEntry, NamedError, NamedShare, Refusal};

/// Which screen the app shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Screen {
    /// The start page: introduction, create, join.
    Landing,
    /// Waiting for the relay to let us in.
    Connecting,
    /// Let in by the relay, waiting for a member of the room to add us to the group.
    Waiting,
    /// Inside a room.
    Room,
    /// The room is over (or this member's place in it); the page holds nothing of it.
    Ended {
        /// What happened to this member, as a heading.
        title: String,
        /// What happened, in one sentence.
        why: String,
    },
    /// The room could not be entered.
    Problem(Problem),
}

/// A page that says what went wrong and what to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// A short heading.
    pub title: String,
    /// What happened and what to do, in plain words.
    pub detail: String,
}

/// One line of the conversation.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Line {
    /// Local, increasing: the key of the line in the list.
    pub id: u64,
    /// How many times the line changed (an edit, a delete, a reaction): with `id`, the
    /// key the list redraws a line by.
    pub rev: u32,
    /// What the line shows.
    pub kind: LineKind,
}

/// What a line of the conversation is.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum LineKind {
    /// A chat message.
    Message {
        /// Its authenticated id (edits, deletes, replies and reactions name it).
        mid: MessageId,
        /// The sender.
        from: MemberId,
        /// The start of the sender's safety words, which tells apart members who chose
        /// the same nickname.
        badge: String,
        /// Whether the sender was the host when it arrived.
        host: bool,
        /// The sender's nickname when it arrived.
        nick: String,
        /// The text.
        text: String,
        /// The sender's clock, milliseconds since the Unix epoch.
        sent_at_ms: u64,
        /// Whether this member sent it.
        own: bool,
        /// A `/me` action.
        action: bool,
        /// Edited by its sender.
        edited: bool,
        /// Deleted by its sender (the text is gone).
        deleted: bool,
        /// The message it answers, quoted.
        reply: Option<Quote>,
        /// A direct message: the name of the other member of the two who can read it.
        private: Option<String>,
        /// Its reactions: each emoji, who chose it, and whether this member did.
        reactions: Vec<(String, Vec<String>, bool)>,
    },
    /// Something that happened in the room (a join, a departure…): text, with the
    /// nicknames in it marked so they are shown isolated.
    Notice(Vec<Part>),
    /// What a newcomer sees first: who was already here ([`RoomUi::present`]), and that
    /// what was said before it arrived is not for it to read.
    Arrival,
    /// A failed authentication: shown loudly, because it can mean an attack.
    Warning(String),
    /// A file sent or offered (not kept for a reload: its blob dies with the page).
    #[serde(skip)]
    File(crate::files::Card),
}

/// What the message box sends next.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Compose {
    /// A message to the room.
    #[default]
    Message,
    /// A new text for one of this member's messages.
    Edit(MessageId),
    /// A reply to this message.
    Reply(Quote),
    /// A direct message to this member (id, name).
    Direct(MemberId, String),
}

/// The message a reply answers, as the reply shows it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Quote {
    /// The message.
    pub mid: MessageId,
    /// Its sender's name.
    pub nick: String,
    /// The start of its text.
    pub text: String,
}

/// A piece of a notice.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Part {
    /// Words of the app.
    Text(String),
    /// A name someone chose (shown isolated, so its direction cannot spill over).
    Name(String),
}

/// How the connection to the relay stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Connection {
    /// Opening the socket or waiting for the relay's welcome.
    Connecting,
    /// Live.
    Connected,
    /// The socket dropped; a new one opens soon.
    Reconnecting,
}

/// Everything the components show, as signals. `Copy`: pass it around freely.
#[derive(Clone, Copy)]
pub struct RoomUi {
    /// The current screen.
    pub screen: RwSignal<Screen>,
    /// The conversation, oldest first.
    pub lines: RwSignal<Vec<Line>>,
    /// Verified members, this one first.
    pub members: RwSignal<Vec<MemberInfo>>,
    /// The state of the socket.
    pub connection: RwSignal<Connection>,
    /// The invite link to share (it holds the room secret in its fragment, so it exists
    /// only while the room does).
    pub invite: RwSignal<Option<String>>,
    /// Whether this member is the host.
    pub is_host: RwSignal<bool>,
    /// Whether this member is a moderator (it may remove people and lock the room).
    pub is_moderator: RwSignal<bool>,
    /// Whether the room refuses new members.
    pub locked: RwSignal<bool>,
    /// The most members the host lets in, as the group agreed.
    pub member_cap: RwSignal<Option<u32>>,
    /// The latest refused action, shown beside the message box.
    pub notice: RwSignal<Option<String>>,
    /// Why nobody has let this member in yet, on the waiting page.
    pub still_waiting: RwSignal<Option<String>>,
    /// The room-wide safety code of the current epoch, and the epoch.
    pub safety: RwSignal<Option<(u64, SafetyCode)>>,
    /// The longest text (in UTF-8 bytes) a message may have in this room.
    pub max_text: RwSignal<Option<usize>>,
    /// Messages from others not seen yet (the page was hidden or scrolled up).
    pub unread: RwSignal<usize>,
    /// The first of them (a line id): the "new messages" divider goes above it.
    pub first_unread: RwSignal<Option<u64>>,
    /// The latest message from someone else, in words, for screen readers.
    pub announcement: RwSignal<String>,
    /// Whether the page is shown (not a background tab or a sleeping phone).
    pub visible: RwSignal<bool>,
    /// The members who were here when this member arrived, in the order they made
    /// themselves known.
    pub present: RwSignal<Vec<String>>,
    /// The names of the members typing now.
    pub typing: RwSignal<Vec<String>>,
    /// What the message box sends next.
    pub compose: RwSignal<Compose>,
    /// Under which message each member's "seen" goes: message → names.
    pub seen: RwSignal<std::collections::BTreeMap<MessageId, Vec<String>>>,
    /// Whether the user marked the current safety code as compared; a new code clears it.
    pub safety_checked: RwSignal<bool>,
    /// The room name and passphrase of a room entered by name, for the invite panel.
    pub named: RwSignal<Option<NamedShare>>,
    /// The relay's "exists" or "unknown" answer to a room entered by name, as a
    /// question on the start page.
    pub refusal: RwSignal<Option<Refusal>>,
    /// The room's file limit in bytes, shown before a file is picked.
    pub max_file: RwSignal<Option<u64>>,
    /// Whether pictures are sent with their metadata (off: it is removed).
    pub keep_metadata: RwSignal<bool>,
    /// How long the relay keeps this member's place after its page goes, in seconds.
    pub grace_secs: RwSignal<Option<u32>>,
    /// Why a reload joins as a new member, for the waiting page.
    pub why_new: RwSignal<Option<String>>,
    /// Whether this member's name is settled (it came back after a reload): no prompt.
    pub nick_chosen: RwSignal<bool>,
    /// Short codes: this member's live ones, and a joiner's attempt.
    pub codes: CodeUi,
}

impl RoomUi {
    fn new(screen: Screen) -> Self {
        RoomUi {
            screen: RwSignal::new(screen),
            lines: RwSignal::new(Vec::new()),
            members: RwSignal::new(Vec::new()),
            connection: RwSignal::new(Connection::Connecting),
            invite: RwSignal::new(None),
            is_host: RwSignal::new(false),
            is_moderator: RwSignal::new(false),
            locked: RwSignal::new(false),
            member_cap: RwSignal::new(None),
            notice: RwSignal::new(None),
            still_waiting: RwSignal::new(None),
            safety: RwSignal::new(None),
            safety_checked: RwSignal::new(false),
            max_text: RwSignal::new(None),
            unread: RwSignal::new(0),
            first_unread: RwSignal::new(None),
            announcement: RwSignal::new(String::new()),
            visible: RwSignal::new(true),
            present: RwSignal::new(Vec::new()),
            typing: RwSignal::new(Vec::new()),
            compose: RwSignal::new(Compose::Message),
            seen: RwSignal::new(std::collections::BTreeMap::new()),
            named: RwSignal::new(None),
            refusal: RwSignal::new(None),
            max_file: RwSignal::new(None),
            keep_metadata: RwSignal::new(false),
            grace_secs: RwSignal::new(None),
            why_new: RwSignal::new(None),
            nick_chosen: RwSignal::new(false),
            codes: CodeUi::new(),
        }
    }

    /// Shows the safety code of a new epoch; the user compares it afresh.
    fn set_safety(&self, epoch: u64, code: SafetyCode) {
        if self.safety.get_untracked() != Some((epoch, code)) {
            self.safety.set(Some((epoch, code)));
            self.safety_checked.set(false);
        }
    }

    /// Forgets the conversation, the members and the invite.
    fn wipe(&self) {
        self.lines.set(Vec::new());
        self.members.set(Vec::new());
        self.invite.set(None);
        self.notice.set(None);
        self.safety.set(None);
        self.safety_checked.set(false);
        self.max_text.set(None);
        self.unread.set(0);
        self.first_unread.set(None);
        self.announcement.set(String::new());
        self.present.set(Vec::new());
        self.typing.set(Vec::new());
        self.compose.set(Compose::Message);
        self.seen.set(std::collections::BTreeMap::new());
        self.named.set(None);
        self.max_file.set(None);
        self.grace_secs.set(None);
        self.why_new.set(None);
        self.nick_chosen.set(false);
        self.codes.wipe();
    }

    /// Clears this member's view of the conversation (`/clear`); the others keep theirs.
    pub fn clear_view(&self) {
        self.lines.set(Vec::new());
        self.unread.set(0);
        self.first_unread.set(None);
    }

    /// Marks everything as seen (the reader is at the latest message, on a visible page);
    /// the divider stays where the unread part began.
    pub fn mark_seen(&self) {
        if self.unread.get_untracked() != 0 {
            self.unread.set(0);
        }
    }
}

/// The handle components use: cheap to copy, usable from any closure.
pub type ClientHandle = StoredValue<Rc<Client>, LocalStorage>;

/// Owns the session and the socket.
pub struct Client {
    /// What the page shows.
    pub ui: RoomUi,
    /// The non-reactive part; a `RefCell` because socket callbacks and UI actions both
    /// change it, one at a time (the page has one thread).
    pub(crate) inner: RefCell<Inner>,
    /// Lets socket callbacks reach this client without keeping it alive.
    pub(crate) this: Weak<Client>,
}

pub(crate) struct Inner {
    /// The room session; `None` before a room is chosen and after it ended.
    pub(crate) session: Option<Session>,
    /// File transfers, both ways.
    pub(crate) files: crate::files::Files,
    /// The open (or opening) socket.
    socket: Option<Socket>,
    /// The relay's origin, `http[s]://host[:port]`: its WebSocket, and the salt of
    /// rooms found by name.
    origin: String,
    /// This page's origin, which invite links point to (the relay's own, unless the
    /// app is hosted apart from it).
    page: String,
    /// When to try the relay again after a drop, and when to give up.
    reconnect: Reconnect,
    /// The interval that ticks the session's clock while a room is open.
    clock: Option<IntervalHandle>,
    /// Local id of the next conversation line.
    next_line: u64,
    /// The epoch this member entered the group at, while it is a newcomer who has not
    /// seen a change of epoch yet: members who make themselves known in it were here
    /// before it, and are listed as present rather than announced as arrivals.
    arrival_epoch: Option<u64>,
    /// How the current room was entered by name, while the relay has not let us in:
    /// its refusal becomes a question on the start page.
    named: Option<NamedEntry>,
    /// Coming back after a reload, until back in the room ([`Client::resume`]).
    reloading: bool,
    /// The epoch this member came back in after a reload: the members who make
    /// themselves known in it are the ones already shown, not arrivals.
    quiet_epoch: Option<u64>,
    /// Messages sent while this page was reloading that it could not read.
    missed: usize,
    /// A short-code exchange under way on the start page.
    code_join: Option<codes::Joining>,
    /// What the page showed before a reload: shown once back in the room, dropped if
    /// the place was lost.
    saved_view: Option<crate::resume::View>,
}

/// A socket and the callbacks it calls; dropping the callbacks while the socket could
/// still call them would throw, so they live exactly as long as the socket is in use.
struct Socket {
    /// The socket.
    ws: WebSocket,
    /// `onopen`, `onmessage`, `onclose`, `onerror`.
    _on_open: Closure<dyn FnMut(Event)>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
    _on_error: Closure<dyn FnMut(Event)>,
}

impl Socket {
    /// Closes the socket without calling our callbacks again.
    fn shut(self) {
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        self.ws.set_onerror(None);
        let _ = self.ws.close();
    }
}

impl Client {
    /// A client for the page at `origin`, served by the relay there, starting on
    /// `screen`.
    pub fn new(origin: &str, screen: Screen) -> Rc<Client> {
        Client::with_relay(origin, origin, screen)
    }

    /// A client for the page at `page` that talks to the relay at `relay`, starting on
    /// `screen`.
    pub fn with_relay(page: &str, relay: &str, screen: Screen) -> Rc<Client> {
        Rc::new_cyclic(|this| Client {
            ui: RoomUi::new(screen),
            inner: RefCell::new(Inner {
                session: None,
                socket: None,
                origin: relay.trim_end_matches('/').to_owned(),
                page: page.trim_end_matches('/').to_owned(),
                reconnect: Reconnect::new(),
                clock: None,
                next_line: 0,
                arrival_epoch: None,
                named: None,
                reloading: false,
                quiet_epoch: None,
                missed: 0,
                code_join: None,
                saved_view: None,
                files: crate::files::Files::default(),
            }),
            this: this.clone(),
        })
    }

    /// Creates a room and enters it as its host. Refuses a name with nothing visible
    /// in it.
    pub fn create(&self, nick: &str) -> Result<(), NickError> {
        check_nick(nick)?;
        let (session, first) = Session::create(nick, RoomSettings::default());
        self.start(session, first);
        Ok(())
    }

    /// Joins the room of `invite`. Refuses a name with nothing visible in it.
    pub fn join(&self, invite: &Invite, nick: &str) -> Result<(), NickError> {
        check_nick(nick)?;
        let (session, first) = Session::join(invite, nick);
        self.start(session, first);
        Ok(())
    }

    /// Joins again as a new member after a reload that could not come back as the same
    /// member, under the name it had, and says why (`sentence`).
    pub fn join_again(&self, invite: &Invite, nick: &str, sentence: &str) {
        let nick = if check_nick(nick).is_ok() {
            nick.to_owned()
        } else {
            crate::nick::friendly()
        };
        if self.join(invite, &nick).is_ok() {
            self.ui.nick_chosen.set(true);
            self.ui.why_new.set(Some(sentence.to_owned()));
            self.push(LineKind::Notice(vec![Part::Text(sentence.to_owned())]));
        }
    }

    /// Comes back as the member a reload saved (see [`crate::resume`]): the same relay
    /// id, identity, nickname and host powers, and the conversation as it was shown.
    pub fn resume(&self, saved: &Resumable, view: crate::resume::View) {
        let (session, first) = Session::resume(saved);
        self.start(session, first);
        {
            let mut inner = self.inner.borrow_mut();
            inner.reloading = true;
            // Shown once the members have taken this member back, not before.
            inner.saved_view = Some(view);
        }
        self.ui.nick_chosen.set(true);
    }

    /// Shows what the page showed before the reload, above what came since.
    fn restore_view(&self) {
        let Some(mut view) = self.inner.borrow_mut().saved_view.take() else {
            return;
        };
        self.ui.named.set(crate::resume::named_share(&view));
        self.ui.present.set(std::mem::take(&mut view.present));
        let mut lines = std::mem::take(&mut view.lines);
        self.ui.lines.update(|since| lines.append(since));
        for (n, line) in lines.iter_mut().enumerate() {
            line.id = n as u64 + 1;
        }
        self.inner.borrow_mut().next_line = lines.len() as u64;
        self.ui.lines.set(lines);
    }

    /// The host renewed the room's invitation: the panel shows the new link, the address
    /// bar and the reload entry carry it, and a room's name and passphrase are marked as
    /// no longer letting anyone in.
    fn invite_changed(&self) {
        let link = {
            let inner = self.inner.borrow();
            inner
                .session
                .as_ref()
                .and_then(|s| s.invite_link(&inner.page))
        };
        if let Some(link) = &link {
            replace_url(link);
        }
        self.ui.invite.set(link);
        self.ui
            .named
            .update(|n| n.iter_mut().for_each(|n| n.replaced = true));
        self.save_for_reload();
    }

    /// Saves what a reload needs to come back as this member (the page is being hidden
    /// or going away).
    pub fn save_for_reload(&self) {
        let inner = self.inner.borrow();
        if let Some(session) = inner.session.as_ref() {
            crate::resume::save(session, &self.ui, inner.saved_view.as_ref());
        }
    }

    /// The page goes away, or into the back/forward cache (where the browser would keep
    /// its socket open): the socket is closed without leaving, so the relay starts this
    /// member's grace period now; [`Client::wake`] reopens it if the page comes back.
    pub fn suspend(&self) {
        let socket = self.inner.borrow_mut().socket.take();
        if let Some(socket) = socket {
            socket.shut();
            self.ui.connection.set(Connection::Reconnecting);
        }
    }

    /// The page is shown again, came back from the back/forward cache, was unfrozen, or
    /// the network returned: a dead socket is reopened at once (the backoff starts
    /// over), and the session catches up.
    pub fn wake(&self) {
        let dead = {
            let inner = self.inner.borrow();
            inner.session.as_ref().is_some_and(|s| !s.is_ended())
                && inner
                    .socket
                    .as_ref()
                    .is_none_or(|s| s.ws.ready_state() >= WebSocket::CLOSING)
        };
        if !dead {
            return;
        }
        let old = {
            let mut inner = self.inner.borrow_mut();
            inner.reconnect = Reconnect::new();
            inner.socket.take()
        };
        if let Some(old) = old {
            old.shut();
        }
        self.ui.connection.set(Connection::Reconnecting);
        self.reconnect();
    }

    fn start(&self, session: Session, first: Vec<u8>) {
        let this = self.this.clone();
        let clock = set_interval_with_handle(
            move || {
                if let Some(client) = this.upgrade() {
                    client.tick();
                }
            },
            Duration::from_millis(TICK_MS),
        )
        .ok();
        let old_clock = {
            let mut inner = self.inner.borrow_mut();
            inner.session = Some(session);
            inner.reconnect = Reconnect::new();
            inner.arrival_epoch = None;
            inner.named = None;
            inner.reloading = false;
            inner.quiet_epoch = None;
            inner.missed = 0;
            inner.saved_view = None;
            std::mem::replace(&mut inner.clock, clock)
        };
        if let Some(old) = old_clock {
            old.clear();
        }
        self.ui.wipe();
        self.ui.screen.set(Screen::Connecting);
        self.ui.connection.set(Connection::Connecting);
        self.connect(first);
    }

    /// The session's clock: lets this member take over a commit that is overdue.
    fn tick(&self) {
        let now = js_sys::Date::now() as u64;
        let outputs = match self.inner.borrow_mut().session.as_mut() {
            Some(session) => session.tick(now),
            None => return,
        };
        self.process(outputs);
        self.refresh_typing();
        self.with_files(|files, session, now, fx| files.tick(session, now, fx));
    }

    /// Shows a line only this member sees (the answer to `/help`).
    pub fn note(&self, parts: Vec<Part>) {
        self.push(LineKind::Notice(parts));
    }

    /// Asks the room: the command crosses the boundary encoded, as does the answer.
    pub fn call(&self, command: Command) -> Reply {
        let bytes = vroom_bridge::encode(&command);
        drop(command);
        let answer = crate::room::call(self, &bytes);
        vroom_bridge::decode(&answer).unwrap_or(Reply::Garbled)
    }

    /// Sends a chat message.
    pub fn send_text(&self, text: &str) -> Result<(), ActionError> {
        let text = text.to_owned();
        self.call(Command::SendText { text }).action()
    }

    /// Sends a `/me` action.
    pub fn send_action(&self, text: &str) -> Result<(), ActionError> {
        let text = text.to_owned();
        self.call(Command::SendAction { text }).action()
    }

    /// Sends a reply to message `to`.
    pub fn send_reply(&self, to: MessageId, text: &str) -> Result<(), ActionError> {
        let (to, text) = (bridged(to), text.to_owned());
        self.call(Command::SendReply { to, text }).action()
    }

    /// Sends a direct message to one member, readable by it alone.
    pub fn send_direct(&self, to: MemberId, text: &str) -> Result<(), ActionError> {
        let text = text.to_owned();
        self.call(Command::SendDirect { to, text }).action()
    }

    /// Replaces the text of one of this member's messages.
    pub fn edit(&self, id: MessageId, text: &str) -> Result<(), ActionError> {
        let (id, text) = (bridged(id), text.to_owned());
        self.call(Command::Edit { id, text }).action()
    }

    /// Deletes one of this member's messages for everyone.
    pub fn delete(&self, id: MessageId) -> Result<(), ActionError> {
        self.call(Command::Delete { id: bridged(id) }).action()
    }

    /// Adds or takes back a reaction.
    pub fn react(&self, id: MessageId, emoji: &str, on: bool) -> Result<(), ActionError> {
        let (id, emoji) = (bridged(id), emoji.to_owned());
        self.call(Command::React { id, emoji, on }).action()
    }

    /// A key was pressed in the message box (the session says "typing" sparingly), or
    /// the box was emptied (`typing` false).
    pub fn typing(&self, typing: bool) {
        self.call(Command::Typing(typing));
    }

    /// The user has seen the conversation up to message `upto`.
    pub fn mark_read(&self, upto: MessageId) {
        self.call(Command::Read {
            upto: bridged(upto),
        });
    }

    /// The page is shown (active) or hidden (away).
    pub fn set_active(&self, active: bool) {
        self.call(Command::Active(active));
    }

    /// Whether message `id` is this member's and can still be edited or deleted.
    pub fn can_edit(&self, id: MessageId) -> bool {
        matches!(
            self.call(Command::CanEdit { id: bridged(id) }),
            Reply::Bool(true)
        )
    }

    /// Changes this member's nickname. Refuses a name with nothing visible in it.
    pub fn set_nick(&self, nick: &str) -> Result<(), NickError> {
        let nick = nick.to_owned();
        self.call(Command::SetNick { nick }).nick()
    }

    /// Host: ends the room for everyone.
    pub fn terminate(&self) -> Result<(), ActionError> {
        self.call(Command::Terminate).action()
    }

    /// Host or moderator: locks or unlocks the room.
    pub fn lock(&self, locked: bool) -> Result<(), ActionError> {
        self.call(Command::Lock(locked)).action()
    }

    /// Host: the most members the room lets in (`None`: the relay's limit).
    pub fn set_member_cap(&self, cap: Option<u32>) -> Result<(), ActionError> {
        self.call(Command::MemberCap(cap)).action()
    }

    /// Host or moderator: removes a member.
    pub fn kick(&self, member: MemberId) -> Result<(), ActionError> {
        self.call(Command::Kick(member)).action()
    }

    /// Host: makes a member a moderator, or takes that back.
    pub fn set_moderator(&self, member: MemberId, on: bool) -> Result<(), ActionError> {
        self.call(Command::Moderator { member, on }).action()
    }

    /// Host: hands host powers to another member.
    pub fn hand_over(&self, member: MemberId) -> Result<(), ActionError> {
        self.call(Command::HandOver(member)).action()
    }

    /// Leaves the room for good; the relay's answer ends the session.
    pub fn leave(&self) -> Result<(), ActionError> {
        self.call(Command::Leave).action()
    }

    /// Runs a session action and writes its frames.
    pub(crate) fn act(
        &self,
        action: impl FnOnce(&mut Session) -> Result<Vec<Output>, SessionError>,
    ) -> Result<(), SessionError> {
        let outputs = {
            let mut inner = self.inner.borrow_mut();
            let session = inner.session.as_mut().ok_or(SessionError::Ended)?;
            action(session)?
        };
        self.process(outputs);
        Ok(())
    }

    /// Opens a socket and writes `first` once it is open.
    fn connect(&self, first: Vec<u8>) {
        let url = ws_url(&self.inner.borrow().origin);
        let ws = match WebSocket::new(&url) {
            Ok(ws) => ws,
            Err(_) => {
                self.schedule_reconnect();
                return;
            }
        };
        ws.set_binary_type(BinaryType::Arraybuffer);

        let this = self.this.clone();
        let on_open = Closure::<dyn FnMut(Event)>::new(move |_: Event| {
            if let Some(client) = this.upgrade() {
                client.write(&first);
            }
        });
        let this = self.this.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
            if let (Some(client), Ok(buffer)) =
                (this.upgrade(), ev.data().dyn_into::<js_sys::ArrayBuffer>())
            {
                client.receive(&js_sys::Uint8Array::new(&buffer).to_vec());
            }
        });
        let this = self.this.clone();
        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |_: CloseEvent| {
            if let Some(client) = this.upgrade() {
                client.on_socket_closed();
            }
        });
        // An error is always followed by a close event, which does the work.
        let on_error = Closure::<dyn FnMut(Event)>::new(|_: Event| {});

        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        ws.set_onerror(Some(on_error.as_ref().unchecked_ref()));

        let old = self.inner.borrow_mut().socket.replace(Socket {
            ws,
            _on_open: on_open,
            _on_message: on_message,
            _on_close: on_close,
            _on_error: on_error,
        });
        if let Some(old) = old {
            old.shut();
        }
    }

    /// Writes one frame to the socket, if it is open.
    fn write(&self, frame: &[u8]) {
        if let Some(socket) = &self.inner.borrow().socket {
            // A failed send means the socket is closing; its close event reconnects.
            let _ = socket.ws.send_with_u8_array(frame);
        }
    }

    /// Feeds one binary message from the relay to the session.
    fn receive(&self, frame: &[u8]) {
        // The chunk lane goes to the transfers, not the group.
        if let Ok(ServerFrame::Stream { from, payload, .. }) = ServerFrame::decode(frame) {
            return self.with_files(|files, session, now, fx| {
                files.on_stream(session, from, payload, now, fx)
            });
        }
        let outputs = match self.inner.borrow_mut().session.as_mut() {
            Some(session) => session.handle(frame),
            None => return,
        };
        self.process(outputs);
        self.with_files(|files, session, now, fx| files.offers(session, now, fx));
    }

    /// Writes frames and shows events, in order.
    pub(crate) fn process(&self, outputs: Vec<Output>) {
        for output in outputs {
            match output {
                Output::Send(frame) => self.write(&frame),
                Output::Event(event) => self.show(event),
            }
        }
        self.take_code_notices();
        self.back_after_reload();
    }

    /// Once back in the room after a reload: says once what could not be read, and
    /// saves the entry for the next reload.
    fn back_after_reload(&self) {
        let missed = {
            let mut inner = self.inner.borrow_mut();
            if !inner.reloading || self.ui.screen.get_untracked() != Screen::Room {
                return;
            }
            inner.reloading = false;
            std::mem::take(&mut inner.missed)
        };
        self.restore_view();
        // The count would include typing, receipts and presence, which are sealed
        // like messages: say only that something was lost.
        if missed > 0 {
            self.push(LineKind::Notice(vec![Part::Text(
                "Messages sent while you were reloading could not be read.".to_owned(),
            )]));
        }
        self.save_for_reload();
    }

    /// Turns one session event into UI state. Notices are the shared sentences of
    /// [`driver::describe`]; messages and warnings have the web app's own layout.
    fn show(&self, event: SessionEvent) {
        let ui = self.ui;
        match &event {
            SessionEvent::Ready { locked, .. } => {
                ui.still_waiting.set(None);
                let (is_host, invite, safety, first_entry) = {
                    let mut inner = self.inner.borrow_mut();
                    inner.reconnect.connected();
                    let first_entry = ui.screen.get_untracked() != Screen::Room;
                    let session = inner.session.as_ref();
                    let found = (
                        session.is_some_and(Session::is_host),
                        session.and_then(|s| s.invite_link(&inner.page)),
                        session.and_then(Session::safety_code),
                    );
                    // A newcomer (not the room's creator) lists who was here before it;
                    // a member back after a reload knows them already.
                    if inner.reloading {
                        inner.quiet_epoch = found.2.map(|(epoch, _)| epoch);
                    } else if first_entry && !found.0 {
                        inner.arrival_epoch = found.2.map(|(epoch, _)| epoch);
                    }
                    (found.0, found.1, found.2, first_entry && !inner.reloading)
                };
                if let SessionEvent::Ready { limits, .. } = &event {
                    ui.max_text
                        .set(Some(max_text_bytes(limits.max_payload as usize)));
                    ui.max_file.set(Some(limits.max_file));
                    ui.grace_secs.set(Some(limits.grace_secs));
                }
                // Transfers resume from what was confirmed; queued files may start.
                self.with_files(|files, session, now, fx| {
                    if !first_entry {
                        files.reconnected(fx);
                    }
                    files.pump(session, now, fx);
                });
                if first_entry && !is_host {
                    self.push(LineKind::Arrival);
                }
                ui.is_host.set(is_host);
                ui.locked.set(*locked);
                if let Some(link) = &invite {
                    // A reload of this tab rejoins the room (the relay keeps it through
                    // its grace period); the fragment never reaches the server.
                    replace_url(link);
                }
                ui.invite.set(invite);
                if self
                    .inner
                    .borrow()
                    .session
                    .as_ref()
                    .is_some_and(Session::invite_renewed)
                {
                    ui.named
                        .update(|n| n.iter_mut().for_each(|n| n.replaced = true));
                }
                if let Some((epoch, code)) = safety {
                    ui.set_safety(epoch, code);
                }
                ui.connection.set(Connection::Connected);
                ui.screen.set(Screen::Room);
                self.refresh_members();
                // A reload from here on comes back as this member.
                self.save_for_reload();
            }
            // Entering: the waiting page says it. Back in after a gap: a notice does.
            SessionEvent::WaitingToBeAdded if ui.screen.get_untracked() == Screen::Connecting => {
                ui.still_waiting.set(None);
                return ui.screen.set(Screen::Waiting);
            }
            SessionEvent::WaitingToBeAdded => ui.still_waiting.set(None),
            SessionEvent::StillWaiting if ui.screen.get_untracked() == Screen::Waiting => {
                return ui.still_waiting.set(driver::describe(&event));
            }
            SessionEvent::StillWaiting => {}
            SessionEvent::MemberJoined { nick, .. } => {
                self.refresh_members();
                let epoch = ui.safety.get_untracked().map(|(epoch, _)| epoch);
                let (arrival, quiet) = {
                    let inner = self.inner.borrow();
                    (inner.arrival_epoch, inner.quiet_epoch)
                };
                if quiet.is_some() && quiet == epoch {
                    return;
                }
                if arrival.is_some() && arrival == epoch {
                    return ui.present.update(|present| present.push(nick.clone()));
                }
                return self.push(LineKind::Notice(vec![
                    Part::Name(nick.clone()),
                    Part::Text(" joined".to_owned()),
                ]));
            }
            SessionEvent::MemberLeft {
                member,
                nick,
                reason,
                moderator,
            } => {
                let member = *member;
                self.with_files(|files, session, now, fx| {
                    files.member_left(session, member, now, fx)
                });
                self.refresh_members();
                let how = match reason {
                    LeaveReason::Left => " left",
                    LeaveReason::Kicked if moderator.is_some() => " was removed by moderator ",
                    LeaveReason::Kicked => " was removed by the host",
                    LeaveReason::Disconnected => " lost their connection and left",
                };
                let mut parts = vec![Part::Name(nick.clone()), Part::Text(how.to_owned())];
                if let (LeaveReason::Kicked, Some(by)) = (reason, moderator) {
                    parts.push(Part::Name(by.clone()));
                }
                return self.push(LineKind::Notice(parts));
            }
            SessionEvent::NickChanged { old, new, .. } => {
                self.refresh_members();
                return self.push(LineKind::Notice(vec![
                    Part::Name(old.clone()),
                    Part::Text(" is now ".to_owned()),
                    Part::Name(new.clone()),
                ]));
            }
            SessionEvent::CaughtUp { .. } => self.refresh_members(),
            SessionEvent::SafetyCode { epoch, code } => {
                ui.set_safety(*epoch, *code);
                self.refresh_members();
                // Whoever makes themselves known in a later epoch arrived after us.
                let mut inner = self.inner.borrow_mut();
                if inner.arrival_epoch.is_some_and(|arrival| arrival != *epoch) {
                    inner.arrival_epoch = None;
                }
                if inner.quiet_epoch.is_some_and(|quiet| quiet != *epoch) {
                    inner.quiet_epoch = None;
                }
            }
            SessionEvent::Message {
                from,
                nick,
                text,
                sent_at_ms,
                own,
                id,
                reply_to,
                action,
                ..
            } => {
                let reply = reply_to.and_then(|to| self.quote(to));
                let (badge, host) = ui
                    .members
                    .with_untracked(|members| {
                        members
                            .iter()
                            .find(|m| m.member == *from)
                            .map(|m| (badge(&m.fingerprint), m.is_host))
                    })
                    .unwrap_or_default();
                if !own {
                    ui.announcement.set(format!("{nick}: {text}"));
                }
                self.push(LineKind::Message {
                    mid: *id,
                    from: *from,
                    badge,
                    host,
                    nick: nick.clone(),
                    text: text.clone(),
                    sent_at_ms: *sent_at_ms,
                    own: *own,
                    action: *action,
                    edited: false,
                    deleted: false,
                    reply,
                    private: None,
                    reactions: Vec::new(),
                });
                return;
            }
            SessionEvent::DirectMessage {
                from,
                to,
                nick,
                text,
                sent_at_ms,
                action,
                own,
                id,
            } => {
                let other = if *own { *to } else { *from };
                let (badge, host, other_nick) = ui
                    .members
                    .with_untracked(|members| {
                        let sender = members.iter().find(|m| m.member == *from);
                        let other = members.iter().find(|m| m.member == other);
                        Some((
                            badge(&sender?.fingerprint),
                            sender?.is_host,
                            other?.nick.clone(),
                        ))
                    })
                    .unwrap_or_default();
                if !own {
                    ui.announcement
                        .set(format!("Private message from {nick}: {text}"));
                }
                self.push(LineKind::Message {
                    mid: *id,
                    from: *from,
                    badge,
                    host,
                    nick: nick.clone(),
                    text: text.clone(),
                    sent_at_ms: *sent_at_ms,
                    own: *own,
                    action: *action,
                    edited: false,
                    deleted: false,
                    reply: None,
                    private: Some(other_nick),
                    reactions: Vec::new(),
                });
                return;
            }
            SessionEvent::Edited { id, text, .. } => {
                let text = text.clone();
                return self.change(*id, move |kind| {
                    if let LineKind::Message {
                        text: old, edited, ..
                    } = kind
                    {
                        *old = text;
                        *edited = true;
                    }
                });
            }
            SessionEvent::Deleted { id, .. } => {
                return self.change(*id, |kind| {
                    if let LineKind::Message { text, deleted, .. } = kind {
                        text.clear();
                        *deleted = true;
                    }
                });
            }
            SessionEvent::Reaction { id, .. } => {
                let counts = self.reactions(*id);
                return self.change(*id, move |kind| {
                    if let LineKind::Message { reactions, .. } = kind {
                        *reactions = counts;
                    }
                });
            }
            SessionEvent::Typing { .. } => return self.refresh_typing(),
            SessionEvent::Read { .. } => return self.refresh_seen(),
            SessionEvent::PresenceChanged { .. } => return self.refresh_members(),
            SessionEvent::SecurityWarning { text, .. } => {
                self.push(LineKind::Warning(text.clone()));
                return;
            }
            SessionEvent::Locked { locked } => ui.locked.set(*locked),
            SessionEvent::InviteChanged => self.invite_changed(),
            SessionEvent::MemberCap { cap } => ui.member_cap.set(*cap),
            SessionEvent::HostChanged { .. } => {
                let is_host = self
                    .inner
                    .borrow()
                    .session
                    .as_ref()
                    .is_some_and(Session::is_host);
                ui.is_host.set(is_host);
                self.refresh_members();
            }
            SessionEvent::ModeratorChanged { own, on, .. } => {
                if *own {
                    ui.is_moderator.set(*on);
                }
                self.refresh_members();
            }
            SessionEvent::RelayGoingAway => {
                ui.connection.set(Connection::Reconnecting);
                if let Some(socket) = self.inner.borrow_mut().socket.take() {
                    socket.shut();
                }
                self.schedule_reconnect();
            }
            SessionEvent::Ended { reason } => return self.end(*reason),
            SessionEvent::Error { code } => return self.on_error(*code),
            SessionEvent::Undecryptable { .. } if self.inner.borrow().reloading => {
                self.inner.borrow_mut().missed += 1;
                return;
            }
            SessionEvent::Undecryptable { .. } | SessionEvent::Gap { .. } => {}
        }
        if let Some(sentence) = driver::describe(&event) {
            self.push(LineKind::Notice(vec![Part::Text(sentence)]));
        }
    }

    /// The room is over for this member: drop everything and say why.
    fn end(&self, reason: CloseReason) {
        crate::resume::clear();
        self.shut_down();
        let title = match reason {
            CloseReason::Left => "You left the room",
            CloseReason::Kicked => "You were removed from the room",
            _ => "This room is closed",
        };
        self.ui.screen.set(Screen::Ended {
            title: title.to_owned(),
            why: reason.message().to_owned(),
        });
    }

    fn on_error(&self, code: ErrorCode) {
        let entering = matches!(
            self.ui.screen.get_untracked(),
            Screen::Connecting | Screen::Waiting
        ) || self.ui.connection.get_untracked() != Connection::Connected;
        let fatal = matches!(
            code,
            ErrorCode::UnknownRoom
                | ErrorCode::RoomExists
                | ErrorCode::Locked
                | ErrorCode::Full
                | ErrorCode::UnsupportedVersion
                | ErrorCode::InviteChanged
        );
        if entering && fatal {
            if self.refused_by_name(code) {
                return;
            }
            crate::resume::clear();
            self.shut_down();
            self.ui.screen.set(Screen::Problem(problem_for(code)));
        } else if code == ErrorCode::ResumeRefused {
            self.place_lost();
        } else {
            self.ui.notice.set(Some(code.message().to_owned()));
        }
    }

    /// The relay no longer kept this member's place (it was away past the room's grace
    /// period): the session joins again as a new member, and the page says so.
    fn place_lost(&self) {
        crate::resume::clear();
        let reloading = std::mem::take(&mut self.inner.borrow_mut().reloading);
        // What the reload brought back belongs to the place that was lost.
        self.inner.borrow_mut().saved_view = None;
        let sentence = if reloading {
            self.ui.lines.set(Vec::new());
            self.ui.present.set(Vec::new());
            PLACE_LOST
        } else {
            "You were away longer than the room keeps a place, so you are joining it \
             again as a new member, with new safety words. Messages sent while you were \
             away could not be recovered."
        };
        self.push(LineKind::Notice(vec![Part::Text(sentence.to_owned())]));
    }

    /// Closes the socket, drops the session (and with it every key) and wipes the page.
    fn shut_down(&self) {
        self.drop_session();
        // The link in the address bar holds the room secret; it is useless now.
        replace_url("/");
    }

    /// Stops the clock, closes the socket, drops the session and wipes the page.
    fn drop_session(&self) {
        self.release();
        self.ui.wipe();
    }

    /// Stops the clock, closes the socket and drops the session (and every key).
    fn release(&self) {
        let (socket, clock) = {
            let mut inner = self.inner.borrow_mut();
            inner.session = None;
            inner.files.abandon();
            (inner.socket.take(), inner.clock.take())
        };
        if let Some(clock) = clock {
            clock.clear();
        }
        if let Some(socket) = socket {
            socket.shut();
        }
    }

    fn on_socket_closed(&self) {
        let live = self.inner.borrow().session.is_some();
        if let Some(socket) = self.inner.borrow_mut().socket.take() {
            socket.shut();
        }
        if live {
            self.ui.connection.set(Connection::Reconnecting);
            self.schedule_reconnect();
        }
    }

    /// Opens a new socket after the delay the shared policy gives, or gives up when it
    /// says so (the relay has forgotten this member by then).
    fn schedule_reconnect(&self) {
        // A hidden page (a background tab, a phone put away) tries now and then without
        // counting towards giving up; it tries at once when shown again (`wake`).
        let hidden = document().hidden();
        let delay = if hidden {
            Some(MAX_BACKOFF_MS)
        } else {
            self.inner.borrow_mut().reconnect.next_delay_ms()
        };
        let Some(delay) = delay else {
            self.give_up();
            return;
        };
        let delay = Duration::from_millis(delay);
        let this = self.this.clone();
        set_timeout(
            move || {
                if let Some(client) = this.upgrade() {
                    client.reconnect();
                }
            },
            delay,
        );
    }

    /// The connection kept dropping: drop the room and say so. The invite link stays in
    /// the address bar, so reloading the page joins the room again if it still exists.
    fn give_up(&self) {
        crate::resume::clear();
        self.drop_session();
        self.ui.screen.set(Screen::Problem(Problem {
            title: "The connection was lost".to_owned(),
            detail: "The connection to the relay was lost and could not be restored. \
                     Reload the page to join the room again."
                .to_owned(),
        }));
    }

    fn reconnect(&self) {
        if self.inner.borrow().socket.is_some() {
            return;
        }
        let frame = self
            .inner
            .borrow_mut()
            .session
            .as_mut()
            .and_then(Session::reconnect_frame);
        if let Some(frame) = frame {
            self.connect(frame);
        }
    }

    fn refresh_members(&self) {
        let members = self
            .inner
            .borrow()
            .session
            .as_ref()
            .map(Session::members)
            .unwrap_or_default();
        let mut members = members;
        // This member first, then those active, then those away.
        members.sort_by_key(|m| (!m.is_self, m.presence != Presence::Active));
        self.ui.members.set(members);
    }

    pub(crate) fn push(&self, kind: LineKind) {
        let id = {
            let mut inner = self.inner.borrow_mut();
            inner.next_line += 1;
            inner.next_line
        };
        self.ui
            .lines
            .update(|lines| lines.push(Line { id, rev: 0, kind }));
    }

    /// Changes the line of message `mid`, if this screen still has it.
    fn change(&self, mid: MessageId, f: impl FnOnce(&mut LineKind)) {
        self.ui.lines.update(|lines| {
            let found = lines
                .iter_mut()
                .rev()
                .find(|l| matches!(&l.kind, LineKind::Message { mid: m, .. } if *m == mid));
            if let Some(line) = found {
                f(&mut line.kind);
                line.rev += 1;
            }
        });
    }

    /// The quote of message `mid` for a reply to it.
    fn quote(&self, mid: MessageId) -> Option<Quote> {
        self.ui.lines.with_untracked(|lines| {
            lines.iter().rev().find_map(|l| match &l.kind {
                LineKind::Message {
                    mid: m, nick, text, ..
                } if *m == mid => Some(Quote {
                    mid,
                    nick: nick.clone(),
                    text: text.chars().take(120).collect(),
                }),
                _ => None,
            })
        })
    }

    /// Message `mid`'s reactions, with names.
    fn reactions(&self, mid: MessageId) -> Vec<(String, Vec<String>, bool)> {
        let counts = self
            .inner
            .borrow()
            .session
            .as_ref()
            .map(|s| s.reactions(mid))
            .unwrap_or_default();
        self.ui.members.with_untracked(|members| {
            counts
                .into_iter()
                .map(|c| {
                    let names = c
                        .members
                        .iter()
                        .filter_map(|id| members.iter().find(|m| m.member == *id))
                        .map(|m| m.nick.clone())
                        .collect();
                    (c.emoji, names, c.mine)
                })
                .collect()
        })
    }

    fn refresh_typing(&self) {
        let typing: Vec<String> = self
            .inner
            .borrow()
            .session
            .as_ref()
            .map(|s| s.typing_members().into_iter().map(|m| m.nick).collect())
            .unwrap_or_default();
        if self.ui.typing.with_untracked(|t| *t != typing) {
            self.ui.typing.set(typing);
        }
    }

    fn refresh_seen(&self) {
        let receipts = self
            .inner
            .borrow()
            .session
            .as_ref()
            .map(Session::read_receipts)
            .unwrap_or_default();
        let mut seen = std::collections::BTreeMap::<MessageId, Vec<String>>::new();
        self.ui.members.with_untracked(|members| {
            for (member, upto) in receipts {
                if let Some(m) = members.iter().find(|m| m.member == member && !m.is_self) {
                    seen.entry(upto).or_default().push(m.nick.clone());
                }
            }
        });
        self.ui.seen.set(seen);
    }
}

/// Said when a reload came back too late for the relay to have kept the place.
pub const PLACE_LOST: &str = "You were away longer than the room keeps a place, so you are \
     joining it again as a new member, with new safety words. Messages sent before now are \
     not shown to you.";

/// Said when a reload left nobody in the room to let this member back in as itself.
pub const ALONE: &str = "You were alone in the room when the page reloaded, so nobody was \
     left to let you back in as yourself: you are joining it again as a new member, and a \
     member who comes back can let you in.";

/// Refuses a nickname that would show as nothing.
pub fn check_nick(nick: &str) -> Result<(), NickError> {
    if clean_nick(nick).is_empty() {
        Err(NickError::Blank)
    } else {
        Ok(())
    }
}

/// The session's id of a message as it crosses the boundary.
fn bridged(id: MessageId) -> vroom_bridge::MessageId {
    vroom_bridge::MessageId(id.0)
}

/// The first two of a member's safety words: enough to tell apart two members who chose
/// the same nickname, short enough to show next to every message.
pub fn badge(fingerprint: &str) -> String {
    fingerprint
        .split(['-', ' '])
        .filter(|w| !w.is_empty())
        .take(2)
        .collect::<Vec<_>>()
        .join("-")
}

/// The longest text (UTF-8 bytes) a room with this payload limit accepts in one message:
/// the largest whose padded content the session still sends.
pub fn max_text_bytes(max_payload: usize) -> usize {
    let fits = |len: usize| {
        let content = Content::Text {
            body: "a".repeat(len),
            sent_at_ms: u64::MAX,
        };
        // As the session reckons: the padded content plus an MLS message's overhead.
        content.seal_ready().len() + 256 <= max_payload
    };
    let (mut low, mut high) = (0, max_payload);
    while low < high {
        let mid = (low + high).div_ceil(2);
        if fits(mid) {
            low = mid;
        } else {
            high = mid - 1;
        }
    }
    low
}

/// The page for an entry refused by the relay.
fn problem_for(code: ErrorCode) -> Problem {
    let title = match code {
        ErrorCode::UnknownRoom => "This room does not exist",
        ErrorCode::Locked => "This room is locked",
        ErrorCode::Full => "This room is full",
        ErrorCode::UnsupportedVersion => "This page is out of date",
        ErrorCode::InviteChanged => "This invitation was replaced",
        _ => "The room could not be opened",
    };
    Problem {
        title: title.to_owned(),
        detail: code.message().to_owned(),
    }
}

/// Replaces the address bar's URL without a navigation.
fn replace_url(url: &str) {
    if let Ok(history) = window().history() {
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(url));
    }
}
