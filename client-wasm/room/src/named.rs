//! Rooms found by name + passphrase (PROTOCOL.md §11.1), the room's end: checking what
//! the start page typed, working out the room secret (Argon2id, blocking this page's
//! one thread for a moment), entering the room with it, and turning the relay's
//! "exists" and "unknown" answers into questions on the start page rather than an
//! error page.

use vroom_bridge::{NamedEntry, NamedShare, Refusal, RoomEvent, Screen};
use vroom_shared::session::Session;
use vroom_shared::ways::passphrase::{Passphrase, RelayOrigin, RoomName};
use vroom_shared::wire::{ErrorCode, RoomSettings};

use super::ways::check_nick;
use super::Room;

/// The room name and passphrase, checked and normalised, ready for the slow part.
pub(crate) struct Checked {
    relay: RelayOrigin,
    name: RoomName,
    passphrase: Passphrase,
    entry: NamedEntry,
}

impl Room {
    /// Checks a name, a passphrase and a nickname typed on the start page (cheap: no
    /// key stretching yet) and keeps them for [`Room::enter_checked`]. The normalised
    /// name, or why they cannot be used, in a sentence.
    pub(super) fn check_named_entry(&self, entry: NamedEntry) -> Result<String, String> {
        // An entry checked before and not entered is forgotten, whatever this one is.
        self.inner.borrow_mut().checked = None;
        check_nick(&entry.nick).map_err(|e| e.to_string())?;
        let relay = RelayOrigin::parse(&self.inner.borrow().origin).map_err(|e| e.to_string())?;
        let name = RoomName::parse(&entry.name).map_err(|e| e.to_string())?;
        let passphrase = Passphrase::new(&entry.passphrase).map_err(|e| e.to_string())?;
        let normalised = name.as_str().to_owned();
        self.inner.borrow_mut().checked = Some(Checked {
            relay,
            name,
            passphrase,
            entry,
        });
        Ok(normalised)
    }

    /// Works out the room secret of the last checked entry (Argon2id at the protocol's
    /// cost: this blocks the page for a moment, so the page shows that first) and
    /// creates or joins the room. How long the key stretching took, in milliseconds;
    /// `None` if nothing was checked.
    pub(super) fn enter_checked(&self) -> Option<f64> {
        let checked = self.inner.borrow_mut().checked.take()?;
        let started = now_ms();
        let secret = checked
            .name
            .derive_secret(&checked.relay, &checked.passphrase);
        let took = now_ms() - started;
        let entry = checked.entry;
        let (session, first) = if entry.create {
            Session::create_in(secret, &entry.nick, RoomSettings::default())
        } else {
            Session::join_with(secret, &entry.nick)
        };
        self.start(session, first);
        self.emit(RoomEvent::Refusal(None));
        self.emit(RoomEvent::Named(Some(NamedShare {
            name: checked.name.as_str().to_owned(),
            passphrase: entry.passphrase.clone(),
            replaced: false,
        })));
        self.inner.borrow_mut().named = Some(entry);
        Some(took)
    }

    /// The relay refused to let this page in: when the room was entered by name and the
    /// answer is "exists" (creating) or "unknown" (joining), go back to the start page
    /// with the question. Returns whether it did.
    pub(crate) fn refused_by_name(&self, code: ErrorCode) -> bool {
        // Only the first entry: a later reconnect that fails is not a question.
        if self.inner.borrow().screen != Screen::Connecting {
            return false;
        }
        let Some(entry) = self.inner.borrow_mut().named.take() else {
            return false;
        };
        let refusal = match code {
            ErrorCode::RoomExists if entry.create => Refusal::Exists(entry),
            ErrorCode::UnknownRoom if !entry.create => Refusal::Missing(entry),
            _ => return false,
        };
        self.shut_down();
        self.emit(RoomEvent::Refusal(Some(refusal)));
        self.emit(RoomEvent::Screen(Screen::Landing));
        true
    }
}

/// The page's clock, in milliseconds, with sub-millisecond precision where allowed.
fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or_else(js_sys::Date::now, |p| p.now())
}
