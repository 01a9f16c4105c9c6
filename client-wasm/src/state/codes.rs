//! Short codes (PROTOCOL.md §11.2), the interface's end: the live codes the invite
//! panel shows and the start page's exchange for a typed code, as signals the room's
//! events fill (`crate::room::codes` runs the session's side).

use leptos::prelude::*;
pub use vroom_bridge::LiveCode;
use vroom_bridge::{Command, Garbled, Reply};

use super::{ActionError, Client};

/// The short codes' part of the page, as signals. `Copy`.
#[derive(Clone, Copy)]
pub struct CodeUi {
    /// This member's live codes, oldest first.
    pub live: RwSignal<Vec<LiveCode>>,
    /// The latest thing that happened to them, in a sentence (announced).
    pub note: RwSignal<Option<String>>,
    /// Start page: an exchange for a typed code is under way.
    pub joining: RwSignal<bool>,
    /// Start page: why the typed code did not let this page in.
    pub join_error: RwSignal<Option<String>>,
}

impl CodeUi {
    pub(super) fn new() -> CodeUi {
        CodeUi {
            live: RwSignal::new(Vec::new()),
            note: RwSignal::new(None),
            joining: RwSignal::new(false),
            join_error: RwSignal::new(None),
        }
    }

    /// Forgets this member's codes (the room is gone or being entered afresh).
    pub(super) fn wipe(&self) {
        self.live.set(Vec::new());
        self.note.set(None);
    }

    /// Drops the codes whose time ran out (the relay no longer admits with them).
    pub fn expire(&self, now_ms: u64) {
        if self
            .live
            .with_untracked(|l| l.iter().any(|c| c.expires_at_ms <= now_ms))
        {
            self.live.update(|l| l.retain(|c| c.expires_at_ms > now_ms));
        }
    }
}

impl Client {
    /// Member: asks the relay for a new short code; it appears in [`CodeUi::live`].
    pub fn make_code(&self) -> Result<(), ActionError> {
        self.call(Command::MakeCode).action()
    }

    /// Member: stops one of this member's codes from admitting anybody.
    pub fn revoke_code(&self, nameplate: u32) -> Result<(), ActionError> {
        self.call(Command::RevokeCode { nameplate }).action()
    }

    /// Joiner: runs the exchange for a code typed on the start page; the room follows
    /// when a member lets this page in, or [`CodeUi::join_error`] says why not.
    /// `Err` is a sentence for a code or a name that cannot be used at all.
    pub fn join_by_code(&self, typed: &str, nick: &str) -> Result<(), String> {
        let (typed, nick) = (typed.to_owned(), nick.to_owned());
        match self.call(Command::JoinByCode { typed, nick }) {
            Reply::Failed(sentence) => Err(sentence),
            Reply::Garbled => Err(Garbled.to_string()),
            _ => Ok(()),
        }
    }
}
