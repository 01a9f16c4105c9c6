//! What the page's address asks for: the start page, or a room from an invite link
//! (`/r#<secret>`); and what a link pasted into the join box points to.

use vroom_shared::invite::{Invite, InviteError, INVITE_PATH};

/// What the address of the page asks for.
pub enum Entry {
    /// The start page.
    Landing,
    /// Join the room of this invite.
    Invite(Invite),
    /// The address is an invite page, but the link is damaged.
    Invalid(InviteError),
}

/// Reads the page's address, split as `window.location` splits it: `origin`
/// (`http://host:port`), `path` (`/r`), `hash` (`#…`, or empty).
pub fn classify(origin: &str, path: &str, hash: &str) -> Entry {
    if path.trim_end_matches('/') != INVITE_PATH {
        return Entry::Landing;
    }
    match Invite::parse(&format!("{origin}{INVITE_PATH}{hash}")) {
        Ok(invite) => Entry::Invite(invite),
        Err(error) => Entry::Invalid(error),
    }
}

/// Where a pasted invite link leads.
pub enum Pasted {
    /// A room on this relay: join it from this page.
    Here(Invite),
    /// A room on another relay: open the link there (this page may only talk to its own
    /// relay).
    Elsewhere(String),
}

/// Reads a link pasted into the join box on the page at `origin`.
pub fn paste(origin: &str, text: &str) -> Result<Pasted, InviteError> {
    let invite = Invite::parse(text)?;
    if invite.origin() == origin.trim_end_matches('/') {
        Ok(Pasted::Here(invite))
    } else {
        Ok(Pasted::Elsewhere(invite.link()))
    }
}
