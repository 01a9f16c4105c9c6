//! Short codes (PROTOCOL.md §11.2), the room's end, on the shared session's machinery
//! as the native client uses it:
//!
//! - a member asks for codes ([`Session::request_code`]), revokes them one at a time
//!   ([`Session::revoke_code`]), and the session's [`CodeNotice`]s (taken after every
//!   batch of outputs) become the list of live codes the invite panel shows;
//! - a joiner types a code on the start page: [`CodeJoin`] runs the exchange on a
//!   socket of its own, in no room, and the room secret it yields enters the room
//!   exactly as an invite link would ([`Session::join_with`]).

use std::cell::Cell;
use std::time::Duration;

use vroom_bridge::{LiveCode, RoomEvent};
use vroom_shared::invite::ws_url;
use vroom_shared::session::{
    CodeJoin, CodeNotice, CodeStep, Session, CODE_LOST, CODE_NO_ANSWER, EXCHANGE_TIMEOUT_MS,
};
use vroom_shared::ways::code::MAX_FAILED_ATTEMPTS;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{BinaryType, CloseEvent, Event, MessageEvent, WebSocket};

use super::ways::check_nick;
use super::Room;
use super::Socket;

/// A joiner's exchange under way: its socket (in no room) and its state.
pub(crate) struct Joining {
    /// Tells this attempt's callbacks and timer from a later attempt's.
    attempt: u64,
    socket: Socket,
    join: CodeJoin,
    nick: String,
}

thread_local! {
    static ATTEMPTS: Cell<u64> = const { Cell::new(0) };
}

impl Room {
    /// Tells the interface this member's live codes (those whose time ran out are
    /// dropped first) and, if something happened to them, what.
    fn tell_codes(&self, note: Option<String>) {
        let now = js_sys::Date::now() as u64;
        let live = {
            let mut inner = self.inner.borrow_mut();
            inner.codes.retain(|c| c.expires_at_ms > now);
            inner.codes.clone()
        };
        self.emit(RoomEvent::Codes(live));
        if note.is_some() {
            self.emit(RoomEvent::CodeNote(note));
        }
    }

    /// Member: one of this member's codes was revoked.
    pub(super) fn code_revoked(&self, nameplate: u32) {
        self.inner
            .borrow_mut()
            .codes
            .retain(|c| c.nameplate != nameplate);
        self.tell_codes(Some("Code revoked: it admits nobody any more.".to_owned()));
    }

    /// Turns what happened to this member's codes into the live list and a note.
    pub(crate) fn take_code_notices(&self) {
        let notices = match self.inner.borrow_mut().session.as_mut() {
            Some(session) => session.take_code_notices(),
            None => return,
        };
        if notices.is_empty() {
            return;
        }
        let mut last = None;
        {
            let mut inner = self.inner.borrow_mut();
            let codes = &mut inner.codes;
            let update = |codes: &mut Vec<LiveCode>, nameplate: u32, f: &dyn Fn(&mut LiveCode)| {
                if let Some(code) = codes.iter_mut().find(|c| c.nameplate == nameplate) {
                    f(code);
                }
            };
            for notice in notices {
                let note = match &notice {
                    CodeNotice::Ready {
                        nameplate,
                        code,
                        expires_secs,
                    } => {
                        let now = js_sys::Date::now() as u64;
                        codes.push(LiveCode {
                            nameplate: *nameplate,
                            code: code.to_string(),
                            expires_at_ms: now + u64::from(*expires_secs) * 1000,
                            tries_left: MAX_FAILED_ATTEMPTS,
                            admitted: 0,
                        });
                        format!(
                            "New short code {}. Read it to the person joining.",
                            code.as_str()
                        )
                    }
                    CodeNotice::Refused(reason) => reason.message().to_owned(),
                    CodeNotice::Admitted { nameplate } => {
                        update(codes, *nameplate, &|c| c.admitted += 1);
                        notice.describe()
                    }
                    CodeNotice::Failed {
                        nameplate,
                        failures,
                    } => {
                        let left = MAX_FAILED_ATTEMPTS.saturating_sub(*failures);
                        update(codes, *nameplate, &|c| c.tries_left = left);
                        notice.describe()
                    }
                    CodeNotice::Burned { nameplate } => {
                        codes.retain(|c| c.nameplate != *nameplate);
                        notice.describe()
                    }
                    CodeNotice::Forgotten { .. } => {
                        codes.clear();
                        notice.describe()
                    }
                };
                last = Some(note);
            }
        }
        self.tell_codes(last);
    }

    /// Joiner: runs the exchange for a code typed on the start page; the room follows
    /// when a member lets this page in, or a [`RoomEvent::CodeJoinError`] says why not.
    /// `Err` is a sentence for a code or a name that cannot be used at all.
    pub(super) fn start_code_join(&self, typed: &str, nick: &str) -> Result<(), String> {
        check_nick(nick).map_err(|e| e.to_string())?;
        let (join, first) = CodeJoin::start(typed)?;
        let url = ws_url(&self.inner.borrow().origin);
        let ws = WebSocket::new(&url).map_err(|_| CODE_LOST.to_owned())?;
        ws.set_binary_type(BinaryType::Arraybuffer);
        let attempt = ATTEMPTS.with(|a| {
            a.set(a.get() + 1);
            a.get()
        });

        let opened = ws.clone();
        let on_open = Closure::<dyn FnMut(Event)>::new(move |_: Event| {
            let _ = opened.send_with_u8_array(&first);
        });
        let this = self.this.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
            if let (Some(room), Ok(buffer)) =
                (this.upgrade(), ev.data().dyn_into::<js_sys::ArrayBuffer>())
            {
                room.code_frame(attempt, &js_sys::Uint8Array::new(&buffer).to_vec());
            }
        });
        let this = self.this.clone();
        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |_: CloseEvent| {
            if let Some(room) = this.upgrade() {
                room.code_failed(attempt, CODE_LOST.to_owned());
            }
        });
        // An error is always followed by a close event, which does the work.
        let on_error = Closure::<dyn FnMut(Event)>::new(|_: Event| {});
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        ws.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        let socket = Socket {
            ws,
            _on_open: on_open,
            _on_message: on_message,
            _on_close: on_close,
            _on_error: on_error,
        };
        let old = self.inner.borrow_mut().code_join.replace(Joining {
            attempt,
            socket,
            join,
            nick: nick.to_owned(),
        });
        if let Some(old) = old {
            old.socket.shut();
        }
        let this = self.this.clone();
        super::clock::after(
            move || {
                if let Some(room) = this.upgrade() {
                    room.code_failed(attempt, CODE_NO_ANSWER.to_owned());
                }
            },
            Duration::from_millis(EXCHANGE_TIMEOUT_MS),
        );
        self.emit(RoomEvent::CodeJoinError(None));
        self.emit(RoomEvent::CodeJoining(true));
        Ok(())
    }

    /// One frame from the relay on attempt `attempt`'s socket.
    fn code_frame(&self, attempt: u64, frame: &[u8]) {
        let step = {
            let mut inner = self.inner.borrow_mut();
            match inner.code_join.as_mut().filter(|j| j.attempt == attempt) {
                Some(joining) => joining.join.handle(frame),
                None => return,
            }
        };
        match step {
            CodeStep::Send(frame) => {
                if let Some(joining) = &self.inner.borrow().code_join {
                    // A failed send means the socket is closing; its close event says so.
                    let _ = joining.socket.ws.send_with_u8_array(&frame);
                }
            }
            CodeStep::Wait => {}
            CodeStep::Admitted(secret, pass) => {
                let Some(joining) = self.inner.borrow_mut().code_join.take() else {
                    return;
                };
                joining.socket.shut();
                self.emit(RoomEvent::CodeJoining(false));
                let (session, first) = Session::join_with_pass(secret, pass, &joining.nick);
                self.start(session, first);
            }
            CodeStep::Failed(sentence) => self.code_failed(attempt, sentence),
            CodeStep::Wrong(frame, sentence) => {
                if let Some(joining) = &self.inner.borrow().code_join {
                    // Best effort: the member times the exchange out anyway.
                    let _ = joining.socket.ws.send_with_u8_array(&frame);
                }
                self.code_failed(attempt, sentence);
            }
        }
    }

    /// Ends attempt `attempt` (if it is still the one under way) with `sentence`.
    fn code_failed(&self, attempt: u64, sentence: String) {
        let joining = {
            let mut inner = self.inner.borrow_mut();
            match &inner.code_join {
                Some(j) if j.attempt == attempt => inner.code_join.take(),
                _ => return,
            }
        };
        if let Some(joining) = joining {
            joining.socket.shut();
        }
        self.emit(RoomEvent::CodeJoining(false));
        self.emit(RoomEvent::CodeJoinError(Some(sentence)));
    }
}
