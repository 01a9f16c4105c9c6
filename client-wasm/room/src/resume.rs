//! Coming back after a reload (PROTOCOL.md §7.10): this tab's `sessionStorage` keeps
//! one entry, a [`Resumable`] (room secret, host secret, identity, relay id and resume
//! token, last sequence number, nickname) with what the page showed (the last
//! [`MAX_SAVED_LINES`] lines of the conversation, who was present, a room's name and
//! passphrase for the invite panel). It is written when the room is entered and when
//! the page is hidden or goes away, and removed when the room ends for this member
//! (ended, left, kicked), cannot be entered, or the page starts on anything but that
//! room. Every save stamps when the relay stops keeping the place (now plus its grace
//! period); a later entry (a tab restored by the browser long after) is refused and
//! removed. The bytes are zeroized here; the JavaScript strings `sessionStorage` takes
//! and gives back cannot be, and live until the browser collects them.

use vroom_bridge::{View, MAX_SAVED_LINES};
use vroom_shared::session::{encode_secret, Resumable, Session};
use vroom_shared::wire::RoomId;

/// The one key this app writes to `sessionStorage`.
const KEY: &str = "vroom-room";

/// How long the relay keeps a place when its welcome did not say (a short guess: an
/// entry that dies early costs a fresh join, one that lives too long is a stale key).
const FALLBACK_GRACE_SECS: u64 = 30;

fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok().flatten()
}

/// Saves what it takes to come back as this member after a reload, if the session can
/// be resumed; removes the entry if it cannot. `shown` is what the page shows;
/// `pending` is what an earlier reload saved and the page has not shown yet (it goes
/// first, and its list of who was present and room name stand).
pub(crate) fn save(session: &Session, shown: View, pending: Option<&View>) {
    let Some(mut saved) = session.resumable() else {
        clear();
        return;
    };
    let grace = session
        .limits()
        .map_or(FALLBACK_GRACE_SECS, |l| u64::from(l.grace_secs));
    saved.set_expires_at_ms(now_ms().saturating_add(grace.saturating_mul(1000)));
    let mut view = shown;
    if let Some(pending) = pending {
        let mut lines = pending.lines.clone();
        lines.append(&mut view.lines);
        view.lines = lines;
        view.present.clone_from(&pending.present);
        view.named.clone_from(&pending.named);
    }
    let from = view.lines.len().saturating_sub(MAX_SAVED_LINES);
    for mut line in view.lines.drain(..from) {
        line.kind.erase();
    }
    saved.set_view(encode_secret(&view).to_vec());
    if let Some(storage) = storage() {
        let _ = storage.set_item(KEY, &saved.encode());
    }
}

/// The saved entry for `room`, with the view it kept (its lines numbered afresh). An
/// entry for another room, past its deadline, or damaged is removed.
pub(crate) fn load(room: RoomId) -> Loaded {
    let Some(text) = storage().and_then(|s| s.get_item(KEY).ok().flatten()) else {
        return Loaded::Nothing;
    };
    let text = zeroize::Zeroizing::new(text);
    let saved = match Resumable::decode(&text) {
        Ok(saved) if saved.room_id() == room => saved,
        _ => {
            clear();
            return Loaded::Nothing;
        }
    };
    if saved.expired(now_ms()) {
        clear();
        return Loaded::Expired(saved.nick().to_owned());
    }
    let mut view: View = postcard::from_bytes(saved.view()).unwrap_or_default();
    // The stored ids are not trusted: the list keys lines by them.
    for (n, line) in view.lines.iter_mut().enumerate() {
        line.id = n as u64 + 1;
        line.rev = 0;
    }
    Loaded::Resume(Box::new((saved, view)))
}

/// What [`load`] found for a room.
pub(crate) enum Loaded {
    /// No entry for it.
    Nothing,
    /// One past its deadline (removed): the relay no longer keeps the place; the
    /// nickname it had.
    Expired(String),
    /// One to come back with.
    Resume(Box<(Resumable, View)>),
}

/// Removes the entry.
pub(crate) fn clear() {
    if let Some(storage) = storage() {
        let _ = storage.remove_item(KEY);
    }
}
