//! The session's side of files: offers that arrived in the group, kept until the
//! client takes them (`Session::take_file_offers`). The transfers themselves live in
//! `crate::files::transfer`, driven by the client beside the session.

use std::collections::VecDeque;

use crate::files::FileOffer;
use crate::wire::MemberId;

/// Most offers kept for a client that does not take them (a client without file
/// support): the oldest go first.
const MAX_KEPT: usize = 64;

/// Offers received and not yet taken.
#[derive(Debug, Default)]
pub(super) struct Offers(VecDeque<(MemberId, FileOffer)>);

impl Offers {
    /// `from` offered a file.
    pub(super) fn offered(&mut self, from: MemberId, offer: FileOffer) {
        if self.0.len() >= MAX_KEPT {
            self.0.pop_front();
        }
        self.0.push_back((from, offer));
    }

    /// Every offer kept, oldest first.
    pub(super) fn take(&mut self) -> Vec<(MemberId, FileOffer)> {
        self.0.drain(..).collect()
    }
}
