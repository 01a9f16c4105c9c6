//! What the page's address asks for: the start page, or a room from an invite link
//! (`/r#<secret>`); and what a link pasted into the join box points to.

use vroom_bridge::LinkCheck;
use vroom_shared::invite::{Invite, INVITE_PATH};

/// Reads the page's address, split as `window.location` splits it: `origin`
/// (`http://host:port`), `path` (`/r`), `hash` (`#…`, or empty).
pub(crate) fn classify(origin: &str, path: &str, hash: &str) -> LinkCheck {
    if path.trim_end_matches('/') != INVITE_PATH {
        return LinkCheck::Landing;
    }
    match Invite::parse(&format!("{origin}{INVITE_PATH}{hash}")) {
        Ok(invite) => LinkCheck::Here(invite.link()),
        Err(error) => LinkCheck::Invalid(error.to_string()),
    }
}

/// Reads a link pasted into the join box on the page at `origin`: a room on this relay
/// is joined from this page; one on another relay is opened there (this page may only
/// talk to its own relay).
pub(crate) fn paste(origin: &str, text: &str) -> LinkCheck {
    match Invite::parse(text) {
        Ok(invite) if invite.origin() == origin.trim_end_matches('/') => {
            LinkCheck::Here(invite.link())
        }
        Ok(invite) => LinkCheck::Elsewhere(invite.link()),
        Err(error) => LinkCheck::Invalid(error.to_string()),
    }
}
