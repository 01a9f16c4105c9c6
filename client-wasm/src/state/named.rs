//! Rooms found by name + passphrase (PROTOCOL.md §11.1), the interface's end: the start
//! page's entry goes to the room to be checked, then to be entered (the slow key
//! stretching is the room's: `crate::room::named`); the relay's "exists" and "unknown"
//! answers come back as a [`Refusal`] the start page asks about.

use vroom_bridge::{Command, Garbled, Reply};
pub use vroom_bridge::{NamedEntry, NamedShare, Refusal};

use super::Client;

impl Client {
    /// Checks a name, a passphrase and a nickname typed on the start page (cheap: no
    /// key stretching yet); the room keeps them for [`Client::enter_named`]. `Err`
    /// says what is wrong, in a sentence.
    pub fn check_named(&self, entry: NamedEntry) -> Result<(), String> {
        match self.call(Command::CheckNamed(entry)) {
            Reply::Named(_) => Ok(()),
            Reply::Failed(sentence) => Err(sentence),
            _ => Err(Garbled.to_string()),
        }
    }

    /// Works out the room secret of the entry last checked (Argon2id at the protocol's
    /// cost: this blocks the page for a moment, so show that first) and creates or
    /// joins the room. Returns how long the key stretching took, in milliseconds, or
    /// why nothing was entered, in a sentence.
    pub fn enter_named(&self) -> Result<f64, String> {
        match self.call(Command::EnterNamed) {
            Reply::Millis(took) => Ok(took),
            Reply::Failed(sentence) => Err(sentence),
            _ => Err(Garbled.to_string()),
        }
    }
}
