//! The ways in by link, the room's end: what the page's address and a pasted link are,
//! creating a room, joining one from its invite link, and coming back after a reload as
//! the member this tab saved (PROTOCOL.md §7.10). The session is made here; the
//! interface sends only links and nicknames.

use vroom_bridge::{LinkCheck, NickError, Resumed, RoomEvent, ALONE};
use vroom_shared::invite::Invite;
use vroom_shared::session::{clean_nick, Session};
use vroom_shared::wire::RoomSettings;

use super::Room;
use super::{entry, resume};

/// Refuses a nickname that would show as nothing.
pub(crate) fn check_nick(nick: &str) -> Result<(), NickError> {
    if clean_nick(nick).is_empty() {
        Err(NickError::Blank)
    } else {
        Ok(())
    }
}

/// Why a link handed to the room cannot be joined, in a sentence.
fn read_link(link: &str) -> Result<Invite, String> {
    Invite::parse(link).map_err(|e| e.to_string())
}

impl Room {
    /// What the page's address asks for. A saved entry is only for the room this tab
    /// was in: an address that is not an invitation removes it.
    pub(super) fn read_address(&self, origin: &str, path: &str, hash: &str) -> LinkCheck {
        let check = entry::classify(origin, path, hash);
        if !matches!(check, LinkCheck::Here(_)) {
            resume::clear();
        }
        check
    }

    /// Creates a room and enters it as its host. Refuses a name with nothing visible
    /// in it.
    pub(super) fn create_room(&self, nick: &str) -> Result<(), NickError> {
        check_nick(nick)?;
        let (session, first) = Session::create(nick, RoomSettings::default());
        self.start(session, first);
        Ok(())
    }

    /// Joins the room of an invite link. Refuses a name with nothing visible in it
    /// (`Ok(Err(_))`) and a link that is not an invitation (`Err`, in a sentence).
    pub(super) fn join_room(
        &self,
        link: &str,
        nick: &str,
    ) -> Result<Result<(), NickError>, String> {
        let invite = read_link(link)?;
        if let Err(e) = check_nick(nick) {
            return Ok(Err(e));
        }
        let (session, first) = Session::join(&invite, nick);
        self.start(session, first);
        Ok(Ok(()))
    }

    /// Joins again as a new member after a reload that could not come back as the same
    /// member, under the name it had (a friendly one if it was blank), and says why
    /// (`sentence`).
    pub(super) fn join_room_again(
        &self,
        link: &str,
        nick: &str,
        sentence: &str,
    ) -> Result<(), String> {
        let nick = if check_nick(nick).is_ok() {
            nick.to_owned()
        } else {
            vroom_bridge::friendly_nick(js_sys::Math::random)
        };
        // The name was just checked.
        let _ = self.join_room(link, &nick)?;
        self.emit(RoomEvent::NickChosen(true));
        self.emit(RoomEvent::WhyNew(sentence.to_owned()));
        self.say_text(sentence);
        Ok(())
    }

    /// Comes back as the member this tab saved for the room of `link`, if it did: the
    /// same relay id, identity, nickname and host powers, and the conversation as it
    /// was shown. A member that was alone, and not the host, joins again at once
    /// (nobody is left to add it back as itself).
    pub(super) fn resume_room(&self, link: &str) -> Result<Resumed, String> {
        let invite = read_link(link)?;
        Ok(match resume::load(invite.secret().room_id()) {
            resume::Loaded::Nothing => Resumed::Nothing,
            resume::Loaded::Expired(nick) => Resumed::Expired(nick),
            resume::Loaded::Resume(found) if found.0.alone() && !found.0.is_host() => {
                resume::clear();
                self.join_room_again(link, found.0.nick(), ALONE)?;
                Resumed::Back
            }
            resume::Loaded::Resume(found) => {
                let (saved, view) = *found;
                let (session, first) = Session::resume(&saved);
                self.start(session, first);
                self.inner.borrow_mut().reloaded(view);
                self.emit(RoomEvent::NickChosen(true));
                Resumed::Back
            }
        })
    }
}
