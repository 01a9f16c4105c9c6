//! Rooms found by name + passphrase (PROTOCOL.md §11.1): working out the room secret
//! (Argon2id, blocking this page's one thread for a moment), entering the room with it,
//! and turning the relay's "exists" and "unknown" answers into questions on the start
//! page rather than an error page.

use leptos::prelude::*;
use vroom_shared::session::Session;
use vroom_shared::ways::passphrase::{Passphrase, RelayOrigin, RoomName, WaysError};
use vroom_shared::wire::{ErrorCode, RoomSettings};
use zeroize::Zeroizing;

use vroom_bridge::RoomEvent;

use super::{check_nick, Client, NickError, Screen};

/// What the start page asked for: the name and passphrase as typed, and whether to
/// create the room or join it.
#[derive(Clone, PartialEq, Eq)]
pub struct NamedEntry {
    /// The room name as typed (kept so the start page can show it again).
    pub name: String,
    /// The passphrase as typed. The page holds it anyway (its input field); kept here
    /// so the invite panel can show it and a question can be answered without typing
    /// it again. Zeroized when dropped.
    pub passphrase: Zeroizing<String>,
    /// The nickname to enter with.
    pub nick: String,
    /// Create (true) or join (false).
    pub create: bool,
}

/// The room name and passphrase of the room this member is in, for the invite panel.
#[derive(Clone, PartialEq, Eq)]
pub struct NamedShare {
    /// The name, normalised (as everyone who types it reaches the same room).
    pub name: String,
    /// The passphrase as typed.
    pub passphrase: Zeroizing<String>,
    /// Whether the host renewed the room's invitation after removing someone: name and
    /// passphrase no longer let anyone in (the removed member knows them).
    pub replaced: bool,
}

/// The relay refused a room entered by name: the start page asks what to do.
#[derive(Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Creating: a room with this name and passphrase is open. Join it?
    Exists(NamedEntry),
    /// Joining: no room with this name and passphrase is open. Create it?
    Missing(NamedEntry),
}

impl Refusal {
    /// What was asked for.
    pub fn entry(&self) -> &NamedEntry {
        match self {
            Refusal::Exists(entry) | Refusal::Missing(entry) => entry,
        }
    }
}

/// Why a room name and passphrase could not be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NamedError {
    /// The nickname is blank.
    Nick(NickError),
    /// The name, the passphrase or the page's origin is refused.
    Ways(WaysError),
}

impl std::fmt::Display for NamedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NamedError::Nick(e) => e.fmt(f),
            NamedError::Ways(e) => e.fmt(f),
        }
    }
}

/// The room name and passphrase, checked and normalised, ready for the slow part.
pub struct Checked {
    relay: RelayOrigin,
    name: RoomName,
    passphrase: Passphrase,
    entry: NamedEntry,
}

impl Checked {
    /// The normalised room name.
    pub fn name(&self) -> &str {
        self.name.as_str()
    }
}

impl Client {
    /// Checks a name, a passphrase and a nickname typed on the start page (cheap: no
    /// key stretching yet).
    pub fn check_named(&self, entry: NamedEntry) -> Result<Checked, NamedError> {
        check_nick(&entry.nick).map_err(NamedError::Nick)?;
        let relay = RelayOrigin::parse(&self.inner.borrow().origin).map_err(NamedError::Ways)?;
        let name = RoomName::parse(&entry.name).map_err(NamedError::Ways)?;
        let passphrase = Passphrase::new(&entry.passphrase).map_err(NamedError::Ways)?;
        Ok(Checked {
            relay,
            name,
            passphrase,
            entry,
        })
    }

    /// Works out the room secret (Argon2id at the protocol's cost: this blocks the page
    /// for a moment, so show that first) and creates or joins the room. Returns how long
    /// the key stretching took, in milliseconds.
    pub fn enter_named(&self, checked: Checked) -> f64 {
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
        self.ui.refusal.set(None);
        self.ui.named.set(Some(NamedShare {
            name: checked.name.as_str().to_owned(),
            passphrase: entry.passphrase.clone(),
            replaced: false,
        }));
        self.inner.borrow_mut().named = Some(entry);
        took
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
        self.ui.refusal.set(Some(refusal));
        self.emit(RoomEvent::Screen(Screen::Landing));
        true
    }
}

/// The page's clock, in milliseconds, with sub-millisecond precision where allowed.
fn now_ms() -> f64 {
    window()
        .performance()
        .map_or_else(js_sys::Date::now, |p| p.now())
}
