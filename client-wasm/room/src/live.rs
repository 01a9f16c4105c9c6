//! The room while it lives: the session and the WebSocket to the relay, and the
//! session's events turned into [`RoomEvent`]s for the interface.
//!
//! The session is sans-I/O: this module writes the frames it returns to the socket,
//! feeds it every binary message the socket receives, and tells the interface what
//! changed. While a room is open, one interval ticks the session's clock every
//! [`TICK_MS`] (it lets this member take over a commit another member did not make);
//! it is cleared when the room ends. A dropped socket is reopened following the shared
//! [`Reconnect`] policy, and the session's reconnect frame takes back this member's
//! place and catches up on what was missed. Notices use the sentences of
//! [`driver::describe`], as the native client does.

use std::time::Duration;

use vroom_bridge::{
    badge, encode, Change, Connection, LineKind, Part, Problem, Reaction, RoomEvent, SafetyView,
    Screen, StripCell, PLACE_LOST,
};
use vroom_shared::invite::ws_url;
use vroom_shared::session::driver::{self, Reconnect, MAX_BACKOFF_MS, TICK_MS};
use vroom_shared::session::{
    ActionError as SessionError, Content, Output, SafetyCode, Session, SessionEvent,
};
use vroom_shared::wire::{CloseReason, ErrorCode, LeaveReason, ServerFrame};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{BinaryType, CloseEvent, Event, MessageEvent, WebSocket};

use super::clock::{self, Interval};
use super::Room;
use super::{bridged, bridged_member, Socket};

impl Room {
    /// Tells the interface one thing that happened: the event crosses the boundary
    /// encoded. The room holds no borrow of its state across it.
    pub(crate) fn emit(&self, event: RoomEvent) {
        {
            let mut room = self.inner.borrow_mut();
            match &event {
                RoomEvent::Screen(screen) => room.screen = screen.clone(),
                RoomEvent::Connection(connection) => room.connection = *connection,
                RoomEvent::Wipe => {
                    room.codes.clear();
                    room.members.clear();
                    room.safety_epoch = None;
                    room.typing.clear();
                }
                RoomEvent::Members(members) => room.members = members.clone(),
                RoomEvent::Safety(view) => room.safety_epoch = Some(view.epoch),
                RoomEvent::Typing(typing) => room.typing = typing.clone(),
                _ => {}
            }
        }
        let bytes = encode(&event);
        drop(event);
        (self.deliver)(&bytes);
    }

    /// Adds a line to the conversation.
    fn say(&self, kind: LineKind) {
        self.emit(RoomEvent::Said {
            kind,
            reply_to: None,
        });
    }

    /// Adds a notice in the app's own words.
    pub(super) fn say_text(&self, sentence: &str) {
        self.say(LineKind::Notice(vec![Part::Text(sentence.to_owned())]));
    }

    /// Opens the room with a new session whose first frame is `first`.
    pub(crate) fn start(&self, session: Session, first: Vec<u8>) {
        let this = self.this.clone();
        let clock = Interval::every(
            move || {
                if let Some(room) = this.upgrade() {
                    room.tick();
                }
            },
            Duration::from_millis(TICK_MS),
        );
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
        self.emit(RoomEvent::Wipe);
        self.emit(RoomEvent::Screen(Screen::Connecting));
        self.emit(RoomEvent::Connection(Connection::Connecting));
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
            self.emit(RoomEvent::Address(link.clone()));
        }
        self.emit(RoomEvent::Invite(link));
        self.emit(RoomEvent::NamedReplaced);
        self.ask_to_save();
    }

    /// Saves what a reload needs to come back as this member: the interface hands
    /// over what the page shows ([`Room::save_view`]).
    fn ask_to_save(&self) {
        if self.inner.borrow().session.is_some() {
            self.emit(RoomEvent::SaveView);
        }
    }

    /// Saves what a reload needs to come back as this member, with what the page
    /// shows.
    pub(super) fn save_view(&self, shown: vroom_bridge::View) {
        let inner = self.inner.borrow();
        if let Some(session) = inner.session.as_ref() {
            super::resume::save(session, shown, inner.saved_view.as_ref());
        }
    }

    /// The page goes away, or into the back/forward cache (where the browser would keep
    /// its socket open): the socket is closed without leaving, so the relay starts this
    /// member's grace period now; `Command::Wake` reopens it if the page comes back.
    pub(super) fn suspend_socket(&self) {
        let socket = self.inner.borrow_mut().socket.take();
        if let Some(socket) = socket {
            socket.shut();
            self.emit(RoomEvent::Connection(Connection::Reconnecting));
        }
    }

    /// The page is shown again, came back from the back/forward cache, was unfrozen, or
    /// the network returned: a dead socket is reopened at once (the backoff starts
    /// over), and the session catches up.
    pub(super) fn wake_socket(&self) {
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
        self.emit(RoomEvent::Connection(Connection::Reconnecting));
        self.reconnect();
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
            if let Some(room) = this.upgrade() {
                room.write(&first);
            }
        });
        let this = self.this.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
            if let (Some(room), Ok(buffer)) =
                (this.upgrade(), ev.data().dyn_into::<js_sys::ArrayBuffer>())
            {
                room.receive(&js_sys::Uint8Array::new(&buffer).to_vec());
            }
        });
        let this = self.this.clone();
        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |_: CloseEvent| {
            if let Some(room) = this.upgrade() {
                room.on_socket_closed();
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

    /// Once back in the room after a reload: shows what the page showed before, says
    /// once what could not be read, and saves the entry for the next reload.
    fn back_after_reload(&self) {
        let (missed, view) = {
            let mut inner = self.inner.borrow_mut();
            if !inner.reloading || inner.screen != Screen::Room {
                return;
            }
            inner.reloading = false;
            (std::mem::take(&mut inner.missed), inner.saved_view.take())
        };
        if let Some(view) = view {
            self.emit(RoomEvent::Restore(view));
        }
        // The count would include typing, receipts and presence, which are sealed
        // like messages: say only that something was lost.
        if missed > 0 {
            self.say_text("Messages sent while you were reloading could not be read.");
        }
        self.ask_to_save();
    }

    /// Whether the interface was last told to show `screen`.
    fn showing(&self, screen: &Screen) -> bool {
        self.inner.borrow().screen == *screen
    }

    /// Tells the interface what one session event changed. Notices are the shared
    /// sentences of [`driver::describe`]; messages and warnings have the web app's own
    /// layout.
    fn show(&self, event: SessionEvent) {
        match &event {
            SessionEvent::Ready { locked, limits, .. } => {
                self.emit(RoomEvent::StillWaiting(None));
                let (is_host, invite, safety, first_entry, renewed) = {
                    let mut inner = self.inner.borrow_mut();
                    let inner = &mut *inner;
                    inner.reconnect.connected();
                    let first_entry = inner.screen != Screen::Room;
                    let session = inner.session.as_ref();
                    let is_host = session.is_some_and(Session::is_host);
                    let invite = session.and_then(|s| s.invite_link(&inner.page));
                    let safety = session.and_then(Session::safety_code);
                    let renewed = session.is_some_and(Session::invite_renewed);
                    // A newcomer (not the room's creator) lists who was here before it;
                    // a member back after a reload knows them already.
                    if inner.reloading {
                        inner.quiet_epoch = safety.map(|(epoch, _)| epoch);
                    } else if first_entry && !is_host {
                        inner.arrival_epoch = safety.map(|(epoch, _)| epoch);
                    }
                    let first_entry = first_entry && !inner.reloading;
                    (is_host, invite, safety, first_entry, renewed)
                };
                self.emit(RoomEvent::Limits {
                    max_text: max_text_bytes(limits.max_payload as usize),
                    max_file: limits.max_file,
                    grace_secs: limits.grace_secs,
                });
                // Transfers resume from what was confirmed; queued files may start.
                self.with_files(|files, session, now, fx| {
                    if !first_entry {
                        files.reconnected(fx);
                    }
                    files.pump(session, now, fx);
                });
                if first_entry && !is_host {
                    self.say(LineKind::Arrival);
                }
                self.emit(RoomEvent::Host(is_host));
                self.emit(RoomEvent::Locked(*locked));
                if let Some(link) = &invite {
                    // A reload of this tab rejoins the room (the relay keeps it through
                    // its grace period); the fragment never reaches the server.
                    self.emit(RoomEvent::Address(link.clone()));
                }
                self.emit(RoomEvent::Invite(invite));
                if renewed {
                    self.emit(RoomEvent::NamedReplaced);
                }
                if let Some((epoch, code)) = safety {
                    self.emit(RoomEvent::Safety(safety_view(epoch, code)));
                }
                self.emit(RoomEvent::Connection(Connection::Connected));
                self.emit(RoomEvent::Screen(Screen::Room));
                self.refresh_members();
                // A reload from here on comes back as this member.
                self.ask_to_save();
            }
            // Entering: the waiting page says it. Back in after a gap: a notice does.
            SessionEvent::WaitingToBeAdded if self.showing(&Screen::Connecting) => {
                self.emit(RoomEvent::StillWaiting(None));
                return self.emit(RoomEvent::Screen(Screen::Waiting));
            }
            SessionEvent::WaitingToBeAdded => self.emit(RoomEvent::StillWaiting(None)),
            SessionEvent::StillWaiting if self.showing(&Screen::Waiting) => {
                return self.emit(RoomEvent::StillWaiting(driver::describe(&event)));
            }
            SessionEvent::StillWaiting => {}
            SessionEvent::MemberJoined { nick, .. } => {
                self.refresh_members();
                let (epoch, arrival, quiet) = {
                    let inner = self.inner.borrow();
                    (inner.safety_epoch, inner.arrival_epoch, inner.quiet_epoch)
                };
                if quiet.is_some() && quiet == epoch {
                    return;
                }
                if arrival.is_some() && arrival == epoch {
                    return self.emit(RoomEvent::Present(nick.clone()));
                }
                return self.say(LineKind::Notice(vec![
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
                return self.say(LineKind::Notice(parts));
            }
            SessionEvent::NickChanged { old, new, .. } => {
                self.refresh_members();
                return self.say(LineKind::Notice(vec![
                    Part::Name(old.clone()),
                    Part::Text(" is now ".to_owned()),
                    Part::Name(new.clone()),
                ]));
            }
            SessionEvent::CaughtUp { .. } => self.refresh_members(),
            SessionEvent::SafetyCode { epoch, code } => {
                self.emit(RoomEvent::Safety(safety_view(*epoch, *code)));
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
                let (badge, host) = self
                    .inner
                    .borrow()
                    .members
                    .iter()
                    .find(|m| m.member == *from)
                    .map(|m| (badge(&m.fingerprint), m.is_host))
                    .unwrap_or_default();
                return self.emit(RoomEvent::Said {
                    kind: LineKind::Message {
                        mid: bridged(*id),
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
                        private: None,
                        reactions: Vec::new(),
                    },
                    reply_to: reply_to.map(bridged),
                });
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
                let (badge, host, other_nick) = {
                    let inner = self.inner.borrow();
                    let sender = inner.members.iter().find(|m| m.member == *from);
                    let other = inner.members.iter().find(|m| m.member == other);
                    (|| {
                        Some((
                            badge(&sender?.fingerprint),
                            sender?.is_host,
                            other?.nick.clone(),
                        ))
                    })()
                    .unwrap_or_default()
                };
                return self.say(LineKind::Message {
                    mid: bridged(*id),
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
            }
            SessionEvent::Edited { id, text, .. } => {
                return self.emit(RoomEvent::Changed {
                    mid: bridged(*id),
                    change: Change::Edited(text.clone()),
                });
            }
            SessionEvent::Deleted { id, .. } => {
                return self.emit(RoomEvent::Changed {
                    mid: bridged(*id),
                    change: Change::Deleted,
                });
            }
            SessionEvent::Reaction { id, .. } => {
                let counts = self.reactions(*id);
                return self.emit(RoomEvent::Changed {
                    mid: bridged(*id),
                    change: Change::Reactions(counts),
                });
            }
            SessionEvent::Typing { .. } => return self.refresh_typing(),
            SessionEvent::Read { .. } => return self.refresh_seen(),
            SessionEvent::PresenceChanged { .. } => return self.refresh_members(),
            SessionEvent::SecurityWarning { text, .. } => {
                return self.say(LineKind::Warning(text.clone()));
            }
            SessionEvent::Locked { locked } => self.emit(RoomEvent::Locked(*locked)),
            SessionEvent::InviteChanged => self.invite_changed(),
            SessionEvent::MemberCap { cap } => self.emit(RoomEvent::MemberCap(*cap)),
            SessionEvent::HostChanged { .. } => {
                let is_host = self
                    .inner
                    .borrow()
                    .session
                    .as_ref()
                    .is_some_and(Session::is_host);
                self.emit(RoomEvent::Host(is_host));
                self.refresh_members();
            }
            SessionEvent::ModeratorChanged { own, on, .. } => {
                if *own {
                    self.emit(RoomEvent::Moderator(*on));
                }
                self.refresh_members();
            }
            SessionEvent::RelayGoingAway => {
                self.emit(RoomEvent::Connection(Connection::Reconnecting));
                let socket = self.inner.borrow_mut().socket.take();
                if let Some(socket) = socket {
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
            self.say(LineKind::Notice(vec![Part::Text(sentence)]));
        }
    }

    /// The room is over for this member: drop everything and say why.
    fn end(&self, reason: CloseReason) {
        super::resume::clear();
        self.shut_down();
        let title = match reason {
            CloseReason::Left => "You left the room",
            CloseReason::Kicked => "You were removed from the room",
            _ => "This room is closed",
        };
        self.emit(RoomEvent::Screen(Screen::Ended {
            title: title.to_owned(),
            why: reason.message().to_owned(),
        }));
    }

    fn on_error(&self, code: ErrorCode) {
        let entering = {
            let inner = self.inner.borrow();
            matches!(inner.screen, Screen::Connecting | Screen::Waiting)
                || inner.connection != Connection::Connected
        };
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
            super::resume::clear();
            self.shut_down();
            self.emit(RoomEvent::Screen(Screen::Problem(problem_for(code))));
        } else if code == ErrorCode::ResumeRefused {
            self.place_lost();
        } else {
            self.emit(RoomEvent::Notice(Some(code.message().to_owned())));
        }
    }

    /// The relay no longer kept this member's place (it was away past the room's grace
    /// period): the session joins again as a new member, and the page says so.
    fn place_lost(&self) {
        super::resume::clear();
        let reloading = {
            let mut inner = self.inner.borrow_mut();
            // What the reload brought back belongs to the place that was lost.
            inner.saved_view = None;
            std::mem::take(&mut inner.reloading)
        };
        let sentence = if reloading {
            self.emit(RoomEvent::Forget);
            PLACE_LOST
        } else {
            "You were away longer than the room keeps a place, so you are joining it \
             again as a new member, with new safety words. Messages sent while you were \
             away could not be recovered."
        };
        self.say_text(sentence);
    }

    /// Closes the socket, drops the session (and with it every key) and wipes the page.
    pub(crate) fn shut_down(&self) {
        self.drop_session();
        // The link in the address bar holds the room secret; it is useless now.
        self.emit(RoomEvent::Address("/".to_owned()));
    }

    /// Stops the clock, closes the socket, drops the session and wipes the page.
    fn drop_session(&self) {
        self.release();
        self.emit(RoomEvent::Wipe);
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
        let (live, socket) = {
            let mut inner = self.inner.borrow_mut();
            (inner.session.is_some(), inner.socket.take())
        };
        if let Some(socket) = socket {
            socket.shut();
        }
        if live {
            self.emit(RoomEvent::Connection(Connection::Reconnecting));
            self.schedule_reconnect();
        }
    }

    /// Opens a new socket after the delay the shared policy gives, or gives up when it
    /// says so (the relay has forgotten this member by then).
    fn schedule_reconnect(&self) {
        // A hidden page (a background tab, a phone put away) tries now and then without
        // counting towards giving up; it tries at once when shown again (`wake`).
        let hidden = web_sys::window()
            .and_then(|w| w.document())
            .is_some_and(|d| d.hidden());
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
        clock::after(
            move || {
                if let Some(room) = this.upgrade() {
                    room.reconnect();
                }
            },
            delay,
        );
    }

    /// The connection kept dropping: drop the room and say so. The invite link stays in
    /// the address bar, so reloading the page joins the room again if it still exists.
    fn give_up(&self) {
        super::resume::clear();
        self.drop_session();
        self.emit(RoomEvent::Screen(Screen::Problem(Problem {
            title: "The connection was lost".to_owned(),
            detail: "The connection to the relay was lost and could not be restored. \
                     Reload the page to join the room again."
                .to_owned(),
        })));
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
        let mut members: Vec<_> = members.into_iter().map(bridged_member).collect();
        // This member first, then those active, then those away.
        members.sort_by_key(|m| (!m.is_self, m.presence != vroom_bridge::Presence::Active));
        self.emit(RoomEvent::Members(members));
    }

    /// Message `mid`'s reactions, with names.
    fn reactions(&self, mid: vroom_shared::session::MessageId) -> Vec<Reaction> {
        let inner = self.inner.borrow();
        let counts = inner
            .session
            .as_ref()
            .map(|s| s.reactions(mid))
            .unwrap_or_default();
        counts
            .into_iter()
            .map(|c| {
                let names = c
                    .members
                    .iter()
                    .filter_map(|id| inner.members.iter().find(|m| m.member == *id))
                    .map(|m| m.nick.clone())
                    .collect();
                (c.emoji, names, c.mine)
            })
            .collect()
    }

    fn refresh_typing(&self) {
        let typing: Vec<String> = self
            .inner
            .borrow()
            .session
            .as_ref()
            .map(|s| s.typing_members().into_iter().map(|m| m.nick).collect())
            .unwrap_or_default();
        if self.inner.borrow().typing != typing {
            self.emit(RoomEvent::Typing(typing));
        }
    }

    fn refresh_seen(&self) {
        let seen = {
            let inner = self.inner.borrow();
            let receipts = inner
                .session
                .as_ref()
                .map(Session::read_receipts)
                .unwrap_or_default();
            let mut seen = std::collections::BTreeMap::<_, Vec<String>>::new();
            for (member, upto) in receipts {
                if let Some(m) = inner
                    .members
                    .iter()
                    .find(|m| m.member == member && !m.is_self)
                {
                    seen.entry(bridged(upto)).or_default().push(m.nick.clone());
                }
            }
            seen
        };
        self.emit(RoomEvent::Seen(seen.into_iter().collect()));
    }
}

/// One epoch's safety code as the safety panel shows it.
fn safety_view(epoch: u64, code: SafetyCode) -> SafetyView {
    SafetyView {
        epoch,
        code: code.0.to_vec(),
        words: code.words().iter().map(|w| (*w).to_owned()).collect(),
        strip: code
            .strip()
            .iter()
            .map(|c| StripCell {
                emoji: c.emoji.to_owned(),
                colour: c.colour.to_owned(),
                hex: c.hex.to_owned(),
            })
            .collect(),
    }
}

/// The longest text (UTF-8 bytes) a room with this payload limit accepts in one message:
/// the largest whose padded content the session still sends. The relay's figure is
/// bounded first (16 MiB, far above any text box), so a hostile relay cannot make the
/// search allocate gigabytes.
fn max_text_bytes(max_payload: usize) -> usize {
    let max_payload = max_payload.min(1 << 24);
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
