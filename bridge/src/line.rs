//! The conversation as it crosses the boundary: the lines the room adds and changes,
//! and what the page showed, handed to the room to save for a reload and handed back
//! after it.

use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

use crate::{MemberId, MessageId};

/// One saved line of the conversation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    /// Local, increasing: the key of the line in the list.
    pub id: u64,
    /// How many times the line changed: with `id`, the key the list redraws a line by.
    pub rev: u32,
    /// What the line shows.
    pub kind: LineKind,
}

/// What a line of the conversation is (a file's card is the interface's own: its blob
/// dies with the page, so it is neither sent nor saved).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LineKind {
    /// A chat message.
    Message {
        /// Its authenticated id (edits, deletes, replies and reactions name it).
        mid: MessageId,
        /// The sender.
        from: MemberId,
        /// The start of the sender's safety words.
        badge: String,
        /// Whether the sender was the host when it arrived.
        host: bool,
        /// The sender's nickname when it arrived.
        nick: String,
        /// The text.
        text: String,
        /// The sender's clock, milliseconds since the Unix epoch.
        sent_at_ms: u64,
        /// Whether this member sent it.
        own: bool,
        /// A `/me` action.
        action: bool,
        /// Edited by its sender.
        edited: bool,
        /// Deleted by its sender (the text is gone).
        deleted: bool,
        /// The message it answers, quoted.
        reply: Option<Quote>,
        /// A direct message: the name of the other member of the two who can read it.
        private: Option<String>,
        /// Its reactions.
        reactions: Vec<Reaction>,
    },
    /// Something that happened in the room: text, with the nicknames in it marked.
    Notice(Vec<Part>),
    /// What a newcomer sees first: who was already here, and that what was said before
    /// it arrived is not for it to read.
    Arrival,
    /// A failed authentication: shown loudly, because it can mean an attack.
    Warning(String),
}

impl LineKind {
    /// Erases the words of the line (messages, names, notices).
    pub fn erase(&mut self) {
        match self {
            LineKind::Message {
                nick, text, reply, ..
            } => {
                nick.zeroize();
                text.zeroize();
                if let Some(quote) = reply {
                    quote.nick.zeroize();
                    quote.text.zeroize();
                }
            }
            LineKind::Notice(parts) => {
                for Part::Text(words) | Part::Name(words) in parts {
                    words.zeroize();
                }
            }
            LineKind::Warning(words) => words.zeroize(),
            LineKind::Arrival => {}
        }
    }
}

/// One emoji on a message: who chose it (names), and whether this member did.
pub type Reaction = (String, Vec<String>, bool);

/// How a message's line changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Change {
    /// Its sender gave it a new text.
    Edited(String),
    /// Its sender deleted it.
    Deleted,
    /// Its reactions are now these.
    Reactions(Vec<Reaction>),
}

/// The message a reply answers, as the reply shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    /// The message.
    pub mid: MessageId,
    /// Its sender's name.
    pub nick: String,
    /// The start of its text.
    pub text: String,
}

/// A piece of a notice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Part {
    /// Words of the app.
    Text(String),
    /// A name someone chose (shown isolated, so its direction cannot spill over).
    Name(String),
}

/// What the page showed, saved with the session for a reload. Zeroized when dropped.
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct View {
    /// The conversation, oldest first (no files).
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
        for line in &mut self.lines {
            line.kind.erase();
        }
        self.present.zeroize();
    }
}
