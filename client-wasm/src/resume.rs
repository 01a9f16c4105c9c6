//! Coming back after a reload (PROTOCOL.md §7.10): this tab's `sessionStorage` keeps
//! one entry, a [`Resumable`] (room secret, host secret, identity, relay id and resume
//! token, last sequence number, nickname) with what the page showed (the last
//! [`MAX_SAVED_LINES`] lines of the conversation, who was present, a room's name and
//! passphrase for the invite panel). It is written when the room is entered and when
//! the page is hidden or goes away, and removed when the room ends for this member
//! (ended, left, kicked) or cannot be entered.

use leptos::prelude::{GetUntracked, WithUntracked};
use serde::{Deserialize, Serialize};
use vroom_shared::session::{Resumable, Session};
use vroom_shared::wire::RoomId;
use zeroize::Zeroize;

use crate::state::{Line, LineKind, NamedShare, RoomUi};

/// The one key this app writes to `sessionStorage`.
const KEY: &str = "vroom-room";

/// Most conversation lines kept for a reload (the newest).
pub const MAX_SAVED_LINES: usize = 500;

/// What the page showed, as saved inside the [`Resumable`].
#[derive(Default, Serialize, Deserialize)]
pub struct View {
    /// The conversation, oldest first (files are not kept: their blobs die with the page).
    pub lines: Vec<Line>,
    /// Who was here when this member arrived.
    pub present: Vec<String>,
    /// The room's name and passphrase, for a room entered that way.
    pub named: Option<(String, String)>,
}

impl Drop for View {
    fn drop(&mut self) {
        if let Some((_, passphrase)) = &mut self.named {
            passphrase.zeroize();
        }
    }
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok().flatten()
}

/// Saves what it takes to come back as this member after a reload, if the session can
/// be resumed.
pub fn save(session: &Session, ui: &RoomUi) {
    let Some(mut saved) = session.resumable() else {
        return;
    };
    let lines = ui.lines.with_untracked(|lines| {
        let kept: Vec<&Line> = lines
            .iter()
            .filter(|l| !matches!(l.kind, LineKind::File(_)))
            .collect();
        let from = kept.len().saturating_sub(MAX_SAVED_LINES);
        kept[from..].iter().map(|l| (*l).clone()).collect()
    });
    let view = View {
        lines,
        present: ui.present.get_untracked(),
        named: ui.named.with_untracked(|n| {
            n.as_ref()
                .map(|n| (n.name.clone(), (*n.passphrase).clone()))
        }),
    };
    saved.set_view(postcard::to_allocvec(&view).unwrap_or_default());
    if let Some(storage) = storage() {
        let _ = storage.set_item(KEY, &saved.encode());
    }
}

/// The saved entry for `room`, with the view it kept. An entry for another room (or a
/// damaged one) is removed.
pub fn load(room: RoomId) -> Option<(Resumable, View)> {
    let storage = storage()?;
    let text = zeroize::Zeroizing::new(storage.get_item(KEY).ok().flatten()?);
    let saved = match Resumable::decode(&text) {
        Ok(saved) if saved.room_id() == room => saved,
        _ => {
            clear();
            return None;
        }
    };
    let view = postcard::from_bytes(saved.view()).unwrap_or_default();
    Some((saved, view))
}

/// Removes the entry.
pub fn clear() {
    if let Some(storage) = storage() {
        let _ = storage.remove_item(KEY);
    }
}

/// The invite panel's name and passphrase, from a saved view.
pub fn named_share(view: &View) -> Option<NamedShare> {
    view.named.as_ref().map(|(name, passphrase)| NamedShare {
        name: name.clone(),
        passphrase: zeroize::Zeroizing::new(passphrase.clone()),
    })
}
