//! What the refusals say. [`ActionError`]'s sentences are the session's own, word for
//! word (checked against them in `tests/sentences.rs`).

use crate::{ActionError, NickError};

impl std::fmt::Display for ActionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ActionError::NotReady => "Not in the room yet. Wait a moment and try again.",
            ActionError::Ended => "This room is over. Create or join another room.",
            ActionError::NotHost => "Only the host can do that.",
            ActionError::TooLarge => "That message is too large for this room. Shorten it.",
            ActionError::Empty => "There is nothing to send.",
            ActionError::UnknownMember => "No such member is in the room.",
            ActionError::NotYours => "You can only edit or delete your own messages.",
            ActionError::UnknownMessage => {
                "That message is no longer available. Pick a more recent one."
            }
            ActionError::NoDirectKey => {
                "That member cannot receive private messages yet. Try again in a moment."
            }
            ActionError::InvalidReaction => "A reaction is one emoji.",
            ActionError::NotModerator => "Only the host or a moderator can do that.",
            ActionError::TooManyModerators => {
                "The room has as many moderators as it can have. Remove one first."
            }
        })
    }
}

impl std::error::Error for ActionError {}

impl std::fmt::Display for NickError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NickError::Blank => f.write_str(
                "Choose a name with at least one visible character, so the others can tell \
                 who is writing.",
            ),
            NickError::Action(e) => e.fmt(f),
        }
    }
}
