//! The interface's state: the reactive [`RoomUi`] the components show, filled from the
//! [`RoomEvent`]s the room sends ([`Client::apply`]), and [`Client`]'s methods the
//! components call, which reach the room as encoded [`Command`]s ([`Client::call`]).
//! Components never see a key or a frame.
//!
//! The room's half (the session, the socket, the clock, reconnecting, the ways in,
//! files, the saved entry, turning the session's events into [`RoomEvent`]s) is
//! the room module (`vroom-room-module`, a WebAssembly module of its own that the page
//! fetches as it starts; [`link`]), which the [`Client`] reaches only through encoded
//! commands; the room hands its events back through a callback. Until the module is
//! there, what needs the room waits ([`Client::when_ready`]).

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use leptos::prelude::*;
pub use vroom_bridge::{
    badge, ActionError, Connection, LinkCheck, MemberInfo, MessageId, NickError, Part, Presence,
    Problem, Quote, Resumed, SafetyView, Screen, ALONE, PLACE_LOST,
};
use vroom_bridge::{Change, Command, MemberId, Reply, RoomEvent, MAX_SAVED_LINES};

mod codes;
mod link;
mod named;

pub use codes::{CodeUi, LiveCode};
pub use named::{NamedEntry, NamedShare, Refusal};

/// One line of the conversation.
#[derive(Clone, Debug, PartialEq, Eq)]
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
#[derive(Clone, Debug, PartialEq, Eq)]
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
    File(crate::files::Card),
}

impl From<vroom_bridge::LineKind> for LineKind {
    fn from(kind: vroom_bridge::LineKind) -> LineKind {
        use vroom_bridge::LineKind as B;
        match kind {
            B::Message {
                mid,
                from,
                badge,
                host,
                nick,
                text,
                sent_at_ms,
                own,
                action,
                edited,
                deleted,
                reply,
                private,
                reactions,
            } => LineKind::Message {
                mid,
                from,
                badge,
                host,
                nick,
                text,
                sent_at_ms,
                own,
                action,
                edited,
                deleted,
                reply,
                private,
                reactions,
            },
            B::Notice(parts) => LineKind::Notice(parts),
            B::Arrival => LineKind::Arrival,
            B::Warning(text) => LineKind::Warning(text),
        }
    }
}

impl LineKind {
    /// The line as it is saved for a reload; `None` for a file's card (its blob dies
    /// with the page).
    pub fn saveable(&self) -> Option<vroom_bridge::LineKind> {
        use vroom_bridge::LineKind as B;
        Some(match self.clone() {
            LineKind::Message {
                mid,
                from,
                badge,
                host,
                nick,
                text,
                sent_at_ms,
                own,
                action,
                edited,
                deleted,
                reply,
                private,
                reactions,
            } => B::Message {
                mid,
                from,
                badge,
                host,
                nick,
                text,
                sent_at_ms,
                own,
                action,
                edited,
                deleted,
                reply,
                private,
                reactions,
            },
            LineKind::Notice(parts) => B::Notice(parts),
            LineKind::Arrival => B::Arrival,
            LineKind::Warning(text) => B::Warning(text),
            LineKind::File(_) => return None,
        })
    }
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
    pub safety: RwSignal<Option<SafetyView>>,
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
    /// The page's address is being read (an invite link waits for the room module):
    /// the page shows "Opening the room…" whatever the screen.
    pub opening: RwSignal<bool>,
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
            opening: RwSignal::new(false),
        }
    }

    /// Shows the safety code of a new epoch; the user compares it afresh.
    fn set_safety(&self, view: SafetyView) {
        let same = self.safety.with_untracked(|s| {
            s.as_ref()
                .is_some_and(|s| s.epoch == view.epoch && s.code == view.code)
        });
        if !same {
            self.safety.set(Some(view));
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

/// Where the room stands, for the interface.
enum RoomEnd {
    /// The room module is on its way; what waits for it, in order, then the latest way
    /// into a room the start page asked for.
    Loading {
        waiting: Vec<Waiting>,
        entering: Option<Waiting>,
    },
    /// The room is there.
    Ready(link::Link),
    /// The room module could not be loaded: the page says so and does nothing more.
    /// Never with the room linked in.
    #[cfg_attr(feature = "linked", allow(dead_code))]
    Failed,
}

/// Something to do once the room is there.
type Waiting = Box<dyn FnOnce(&Client)>;

/// How long the page waits for the room module before it says it could not load it.
#[cfg(not(feature = "linked"))]
const LOAD_LIMIT: std::time::Duration = std::time::Duration::from_secs(60);

/// What a command answers while the room module is on its way.
const LOADING: &str = "vroom is still loading the part that encrypts your room; try again \
    in a moment.";

/// The handle components use: cheap to copy, usable from any closure.
pub type ClientHandle = StoredValue<Rc<Client>, LocalStorage>;

/// The interface's half of the page: the signals the components show, the files'
/// bytes, and the room behind it, reached only through encoded commands
/// ([`Client::call`]) and heard from only through encoded events ([`Client::deliver`]).
pub struct Client {
    /// What the page shows.
    pub ui: RoomUi,
    /// The room's half: the session, the socket, every key. Called through
    /// [`Client::call`] only.
    room: RefCell<RoomEnd>,
    /// The room module trapped: nothing reaches it any more.
    stopped: Cell<bool>,
    /// Local id of the next conversation line.
    next_line: Cell<u64>,
    /// The files' bytes and URLs.
    pub(crate) files: RefCell<crate::files::Blobs>,
    /// Lets callbacks (files read and cleaned later) reach this client without keeping
    /// it alive.
    pub(crate) this: Weak<Client>,
}

impl Client {
    /// A client for the page at `origin`, served by the relay there, starting on
    /// `screen`.
    pub fn new(origin: &str, screen: Screen) -> Rc<Client> {
        Client::with_relay(origin, origin, screen)
    }

    /// A client for the page at `page` that talks to the relay at `relay`, starting on
    /// `screen`. It fetches the room module at once; the room it makes hands its events
    /// to this client while it lives.
    pub fn with_relay(page: &str, relay: &str, screen: Screen) -> Rc<Client> {
        let client = Rc::new_cyclic(|this: &Weak<Client>| Client {
            room: RefCell::new(RoomEnd::Loading {
                waiting: Vec::new(),
                entering: None,
            }),
            stopped: Cell::new(false),
            ui: RoomUi::new(screen),
            next_line: Cell::new(0),
            files: RefCell::new(crate::files::Blobs::default()),
            this: this.clone(),
        });
        client.open_room(page, relay);
        client
    }

    /// The callback the room hands its encoded events to.
    fn deliverer(&self) -> link::Deliver {
        let interface = self.this.clone();
        Box::new(move |bytes: &[u8]| {
            if let Some(client) = interface.upgrade() {
                client.deliver(bytes);
            }
        })
    }

    /// Makes the room from the crate linked in (the browser tests of `tests/web.rs`).
    #[cfg(feature = "linked")]
    fn open_room(&self, page: &str, relay: &str) {
        let screen = self.ui.screen.get_untracked();
        let link = link::Link::linked(page, relay, screen, self.deliverer());
        *self.room.borrow_mut() = RoomEnd::Ready(link);
    }

    /// Fetches the room module, then makes the room with it and does what waited for
    /// it; if it cannot be fetched, says so.
    #[cfg(not(feature = "linked"))]
    fn open_room(&self, page: &str, relay: &str) {
        let this = self.this.clone();
        // The room module's panic hook says it is going down, whatever it was doing.
        let on_stop = wasm_bindgen::closure::Closure::<dyn Fn()>::new({
            let this = this.clone();
            move || {
                if let Some(client) = this.upgrade() {
                    client.room_stopped();
                }
            }
        });
        {
            use wasm_bindgen::JsCast;
            let _ = window().add_event_listener_with_callback(
                link::STOPPED_EVENT,
                on_stop.as_ref().unchecked_ref(),
            );
        }
        // One listener for the page's one client, for as long as the page lives.
        on_stop.forget();
        // A fetch that stalls (a captive portal, a dead proxy) ends in the same page as
        // one that fails, rather than in a page that waits for ever.
        set_timeout(
            {
                let this = this.clone();
                move || {
                    if let Some(client) = this.upgrade() {
                        client.room_made(Err("the room module took too long to load".into()));
                    }
                }
            },
            LOAD_LIMIT,
        );
        let (page, relay) = (page.to_owned(), relay.to_owned());
        wasm_bindgen_futures::spawn_local(async move {
            let make = link::load().await;
            let Some(client) = this.upgrade() else {
                return;
            };
            // The room starts on the screen the interface shows now.
            let screen = client.ui.screen.get_untracked();
            let made = make.and_then(|make| {
                link::Link::module(&make, &page, &relay, &screen, client.deliverer())
            });
            client.room_made(made);
        });
    }

    /// The room module is there (or could not be loaded).
    #[cfg(not(feature = "linked"))]
    fn room_made(&self, made: Result<link::Link, wasm_bindgen::JsValue>) {
        // Too late (the page gave up waiting) counts for nothing.
        if !matches!(*self.room.borrow(), RoomEnd::Loading { .. }) {
            return;
        }
        let end = match made {
            Ok(link) => RoomEnd::Ready(link),
            Err(e) => {
                web_sys::console::error_2(&"vroom could not load its room module:".into(), &e);
                RoomEnd::Failed
            }
        };
        let (waiting, entering) = match std::mem::replace(&mut *self.room.borrow_mut(), end) {
            RoomEnd::Loading { waiting, entering } => (waiting, entering),
            _ => (Vec::new(), None),
        };
        if matches!(*self.room.borrow(), RoomEnd::Failed) {
            self.ui.screen.set(Screen::Problem(Problem {
                title: "vroom could not start".to_owned(),
                detail: link::NOT_LOADED.to_owned(),
            }));
            return;
        }
        for then in waiting.into_iter().chain(entering) {
            then(self);
        }
    }

    /// The room module trapped (a panic aborts it): it will answer nothing again, so the
    /// page says so rather than look alive and drop what the user does.
    pub(crate) fn room_stopped(&self) {
        if !self.stopped.replace(true) {
            self.ui.screen.set(Screen::Problem(Problem {
                title: "vroom stopped working".to_owned(),
                detail: link::STOPPED.to_owned(),
            }));
        }
    }

    /// Does `then` once the room is there: at once if it is, when the room module has
    /// loaded if it is on its way, never if it could not be loaded (the page says so).
    /// What the start page does with the room goes through here, so a click before
    /// the module arrived is not lost.
    pub fn when_ready(&self, then: impl FnOnce(&Client) + 'static) {
        self.queue(Box::new(then), false);
    }

    /// [`Client::when_ready`] for a way into a room from the start page (create, join by
    /// link, by name, by code): while the room module is on its way, a later click
    /// replaces an earlier one, so one page never starts two rooms.
    pub fn when_ready_to_enter(&self, then: impl FnOnce(&Client) + 'static) {
        self.queue(Box::new(then), true);
    }

    fn queue(&self, then: Waiting, entry: bool) {
        // Only a command under way borrows the room, and only a room that is there.
        if let Ok(mut room) = self.room.try_borrow_mut() {
            match &mut *room {
                RoomEnd::Loading { waiting, entering } => {
                    if entry {
                        *entering = Some(then);
                    } else {
                        waiting.push(then);
                    }
                    return;
                }
                RoomEnd::Failed => return,
                RoomEnd::Ready(_) => {}
            }
        }
        then(self);
    }

    /// Creates a room and enters it as its host. Refuses a name with nothing visible
    /// in it.
    pub fn create(&self, nick: &str) -> Result<(), NickError> {
        let nick = nick.to_owned();
        self.call(Command::Create { nick }).nick()
    }

    /// Joins the room of an invite link ([`LinkCheck::Here`]). Why not, in a sentence:
    /// a name with nothing visible in it, or a link that is not an invitation.
    pub fn join(&self, link: &str, nick: &str) -> Result<(), String> {
        let link = link.to_owned();
        let nick = nick.to_owned();
        match self.call(Command::Join { link, nick }) {
            Reply::Nick(e) => Err(e.to_string()),
            Reply::Failed(sentence) => Err(sentence),
            Reply::Garbled => Err(vroom_bridge::Garbled.to_string()),
            _ => Ok(()),
        }
    }

    /// Joins again as a new member after a reload that could not come back as the same
    /// member, under the name it had, and says why (`sentence`).
    pub fn join_again(&self, link: &str, nick: &str, sentence: &str) {
        let link = link.to_owned();
        let nick = nick.to_owned();
        let sentence = sentence.to_owned();
        self.call(Command::JoinAgain {
            link,
            nick,
            sentence,
        });
    }

    /// Enters the room of the page's address ([`LinkCheck::Here`]): as the member this
    /// tab saved before a reload if it can, else as a new one under a friendly name (or
    /// the saved name, if the relay no longer keeps the saved place).
    pub fn enter(&self, link: &str) {
        let owned = link.to_owned();
        match self.call(Command::Resume { link: owned }) {
            Reply::Resumed(Resumed::Nothing) => {
                // A friendly name is never blank.
                let _ = self.join(link, &crate::nick::friendly());
            }
            Reply::Resumed(Resumed::Expired(nick)) => self.join_again(link, &nick, PLACE_LOST),
            Reply::Resumed(Resumed::Back) => {}
            Reply::Failed(sentence) => self.ui.screen.set(Screen::Problem(Problem {
                title: "This invite link does not work".to_owned(),
                detail: sentence,
            })),
            _ => self.ui.notice.set(Some(vroom_bridge::Garbled.to_string())),
        }
    }

    /// What the page's address asks for (`origin`, `path` and `hash` as
    /// `window.location` splits it). Anything but an invitation removes this tab's saved
    /// entry: it is only for the room the tab was in.
    pub fn check_address(&self, origin: &str, path: &str, hash: &str) -> LinkCheck {
        let command = Command::CheckAddress {
            origin: origin.to_owned(),
            path: path.to_owned(),
            hash: hash.to_owned(),
        };
        match self.call(command) {
            Reply::Link(check) => check,
            _ => LinkCheck::Invalid(vroom_bridge::Garbled.to_string()),
        }
    }

    /// Where a link pasted into the join box on the page at `origin` leads.
    pub fn check_pasted(&self, origin: &str, text: &str) -> LinkCheck {
        let command = Command::CheckPasted {
            origin: origin.to_owned(),
            text: text.to_owned(),
        };
        match self.call(command) {
            Reply::Link(check) => check,
            _ => LinkCheck::Invalid(vroom_bridge::Garbled.to_string()),
        }
    }

    /// Refuses a nickname that would show as nothing.
    pub fn check_nick(&self, nick: &str) -> Result<(), NickError> {
        let nick = nick.to_owned();
        self.call(Command::CheckNick { nick }).nick()
    }

    /// The page goes away, or into the back/forward cache (where the browser would keep
    /// its socket open): the socket is closed without leaving, so the relay starts this
    /// member's grace period now; [`Client::wake`] reopens it if the page comes back.
    pub fn suspend(&self) {
        self.call(Command::Suspend);
    }

    /// The page is shown again, came back from the back/forward cache, was unfrozen, or
    /// the network returned: a dead socket is reopened at once, and the session catches
    /// up.
    pub fn wake(&self) {
        self.call(Command::Wake);
    }

    /// Shows a line only this member sees (the answer to `/help`).
    pub fn note(&self, parts: Vec<Part>) {
        self.push(LineKind::Notice(parts));
    }

    /// Asks the room: the command crosses the boundary encoded, as does the answer.
    pub fn call(&self, command: Command) -> Reply {
        let bytes = vroom_bridge::encode(&command);
        drop(command);
        if self.stopped.get() {
            return Reply::Failed(link::STOPPED.to_owned());
        }
        let answer = match &*self.room.borrow() {
            RoomEnd::Ready(link) => link.call(&bytes),
            RoomEnd::Loading { .. } => return Reply::Failed(LOADING.to_owned()),
            RoomEnd::Failed => return Reply::Failed(link::NOT_LOADED.to_owned()),
        };
        match answer {
            Ok(answer) => {
                let answer = zeroize::Zeroizing::new(answer);
                vroom_bridge::decode(&answer).unwrap_or(Reply::Garbled)
            }
            Err(e) => {
                web_sys::console::error_2(&"vroom's room module threw:".into(), &e);
                self.room_stopped();
                Reply::Failed(link::STOPPED.to_owned())
            }
        }
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
        let text = text.to_owned();
        self.call(Command::SendReply { to, text }).action()
    }

    /// Sends a direct message to one member, readable by it alone.
    pub fn send_direct(&self, to: MemberId, text: &str) -> Result<(), ActionError> {
        let text = text.to_owned();
        self.call(Command::SendDirect { to, text }).action()
    }

    /// Replaces the text of one of this member's messages.
    pub fn edit(&self, id: MessageId, text: &str) -> Result<(), ActionError> {
        let text = text.to_owned();
        self.call(Command::Edit { id, text }).action()
    }

    /// Deletes one of this member's messages for everyone.
    pub fn delete(&self, id: MessageId) -> Result<(), ActionError> {
        self.call(Command::Delete { id }).action()
    }

    /// Adds or takes back a reaction.
    pub fn react(&self, id: MessageId, emoji: &str, on: bool) -> Result<(), ActionError> {
        let emoji = emoji.to_owned();
        self.call(Command::React { id, emoji, on }).action()
    }

    /// A key was pressed in the message box (the session says "typing" sparingly), or
    /// the box was emptied (`typing` false).
    pub fn typing(&self, typing: bool) {
        self.call(Command::Typing(typing));
    }

    /// The user has seen the conversation up to message `upto`.
    pub fn mark_read(&self, upto: MessageId) {
        self.call(Command::Read { upto });
    }

    /// The page is shown (active) or hidden (away).
    pub fn set_active(&self, active: bool) {
        self.call(Command::Active(active));
    }

    /// Whether message `id` is this member's and can still be edited or deleted.
    pub fn can_edit(&self, id: MessageId) -> bool {
        matches!(self.call(Command::CanEdit { id }), Reply::Bool(true))
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

    /// Takes one encoded event from the room. Bytes that are not an event (the two
    /// halves out of step) say so on the page instead.
    fn deliver(&self, bytes: &[u8]) {
        match vroom_bridge::decode::<RoomEvent>(bytes) {
            Ok(event) => self.apply(event),
            Err(garbled) => self.ui.notice.set(Some(garbled.to_string())),
        }
    }

    /// Shows one event of the room. Holds no borrow of the room: nothing here calls it.
    fn apply(&self, event: RoomEvent) {
        let ui = self.ui;
        match event {
            RoomEvent::Screen(screen) => ui.screen.set(screen),
            RoomEvent::Connection(connection) => ui.connection.set(connection),
            RoomEvent::Wipe => {
                self.files.borrow_mut().abandon();
                ui.wipe();
            }
            RoomEvent::Address(url) => replace_url(&url),
            RoomEvent::Said { kind, reply_to } => {
                let mut kind = LineKind::from(kind);
                if let LineKind::Message {
                    reply,
                    own,
                    nick,
                    text,
                    private,
                    ..
                } = &mut kind
                {
                    *reply = reply_to.and_then(|to| self.quote(to));
                    if !*own {
                        ui.announcement.set(match private {
                            Some(_) => format!("Private message from {nick}: {text}"),
                            None => format!("{nick}: {text}"),
                        });
                    }
                }
                self.push(kind);
            }
            RoomEvent::Changed { mid, change } => self.change(mid, move |kind| {
                if let LineKind::Message {
                    text,
                    edited,
                    deleted,
                    reactions,
                    ..
                } = kind
                {
                    match change {
                        Change::Edited(new) => {
                            *text = new;
                            *edited = true;
                        }
                        Change::Deleted => {
                            text.clear();
                            *deleted = true;
                        }
                        Change::Reactions(now) => *reactions = now,
                    }
                }
            }),
            RoomEvent::Present(nick) => ui.present.update(|present| present.push(nick)),
            RoomEvent::Restore(view) => self.restore(view),
            RoomEvent::Forget => {
                ui.lines.set(Vec::new());
                ui.present.set(Vec::new());
            }
            RoomEvent::Typing(typing) => ui.typing.set(typing),
            RoomEvent::Seen(seen) => ui.seen.set(seen.into_iter().collect()),
            RoomEvent::Members(members) => ui.members.set(members),
            RoomEvent::Safety(view) => ui.set_safety(view),
            RoomEvent::Host(host) => ui.is_host.set(host),
            RoomEvent::Moderator(moderator) => ui.is_moderator.set(moderator),
            RoomEvent::Locked(locked) => ui.locked.set(locked),
            RoomEvent::MemberCap(cap) => ui.member_cap.set(cap),
            RoomEvent::Limits {
                max_text,
                max_file,
                grace_secs,
            } => {
                ui.max_text.set(Some(max_text));
                ui.max_file.set(Some(max_file));
                ui.grace_secs.set(Some(grace_secs));
            }
            RoomEvent::Invite(link) => ui.invite.set(link),
            RoomEvent::NamedReplaced => ui
                .named
                .update(|n| n.iter_mut().for_each(|n| n.replaced = true)),
            RoomEvent::Notice(notice) => ui.notice.set(notice),
            RoomEvent::StillWaiting(why) => ui.still_waiting.set(why),
            RoomEvent::WhyNew(why) => ui.why_new.set(Some(why)),
            RoomEvent::NickChosen(chosen) => ui.nick_chosen.set(chosen),
            RoomEvent::Named(share) => ui.named.set(share),
            RoomEvent::Refusal(refusal) => ui.refusal.set(refusal),
            RoomEvent::Codes(live) => ui.codes.live.set(live),
            RoomEvent::CodeNote(note) => ui.codes.note.set(note),
            RoomEvent::CodeJoining(joining) => ui.codes.joining.set(joining),
            RoomEvent::CodeJoinError(error) => ui.codes.join_error.set(error),
            RoomEvent::FileAdded { card, state } => self.file_added(card, state),
            RoomEvent::FileState { id, state } => self.file_state(id, state),
            RoomEvent::FileQueued { local, id } => self.file_queued(local, id),
            RoomEvent::FilesRefused(refused) => ui.notice.set(Some(refused.join(" "))),
            RoomEvent::Clean(id) => self.clean_file(id),
            RoomEvent::ReadChunk {
                id,
                index,
                offset,
                end,
            } => self.read_chunk(id, index, offset, end),
            RoomEvent::Received { id, bytes } => self.file_bytes(id, &bytes),
            RoomEvent::Complete(id) => self.file_complete(id),
            RoomEvent::Drop(id) => self.file_dropped(id),
            RoomEvent::SaveView => self.save_for_reload(),
        }
    }

    /// Saves what a reload needs to come back as this member, with what the page shows
    /// (the page is being hidden or going away, or the room asked).
    pub fn save_for_reload(&self) {
        let ui = self.ui;
        let lines = ui.lines.with_untracked(|lines| {
            // Only the newest are kept: no need to copy the rest.
            let mut kept: Vec<vroom_bridge::Line> = lines
                .iter()
                .rev()
                .filter_map(|l| {
                    Some(vroom_bridge::Line {
                        id: l.id,
                        rev: l.rev,
                        kind: l.kind.saveable()?,
                    })
                })
                .take(MAX_SAVED_LINES)
                .collect();
            kept.reverse();
            kept
        });
        let view = vroom_bridge::View {
            lines,
            present: ui.present.get_untracked(),
            named: ui
                .named
                .with_untracked(|n| n.as_ref().map(|n| (n.name.clone(), n.passphrase.clone()))),
        };
        self.call(Command::SaveForReload(view));
    }

    /// Shows what the page showed before the reload, above what came since.
    fn restore(&self, mut view: vroom_bridge::View) {
        self.ui
            .named
            .set(view.named.as_ref().map(|(name, passphrase)| NamedShare {
                name: name.clone(),
                passphrase: passphrase.clone(),
                replaced: false,
            }));
        self.ui.present.set(std::mem::take(&mut view.present));
        let mut lines: Vec<Line> = std::mem::take(&mut view.lines)
            .into_iter()
            .map(|line| Line {
                id: line.id,
                rev: line.rev,
                kind: line.kind.into(),
            })
            .collect();
        self.ui.lines.update(|since| lines.append(since));
        for (n, line) in lines.iter_mut().enumerate() {
            line.id = n as u64 + 1;
        }
        self.next_line.set(lines.len() as u64);
        self.ui.lines.set(lines);
    }

    pub(crate) fn push(&self, kind: LineKind) {
        let id = self.next_line.get() + 1;
        self.next_line.set(id);
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
}

/// Replaces the address bar's URL without a navigation.
fn replace_url(url: &str) {
    if let Ok(history) = window().history() {
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(url));
    }
}
