//! The session's side of files: offers that arrived in the group, kept until the
//! client takes them (`Session::take_file_offers`). The transfers themselves live in
//! `crate::files::transfer`, driven by the client beside the session.

use std::collections::{HashMap, VecDeque};

use super::{ActionError, Output, Session};
use crate::files::transfer::{Outgoing, Status};
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

/// A file this member started offering ([`Session::offer_file`]).
pub struct Offered {
    /// The transfer, to drive beside the session.
    pub out: Outgoing,
    /// The frames that carry the offer into the group.
    pub outputs: Vec<Output>,
    /// The receivers and their nicknames as they were when the offer went out, so a
    /// receiver that leaves keeps its name in the sender's progress.
    pub nicks: HashMap<MemberId, String>,
}

/// Why [`Session::offer_file`] did not offer the file.
#[derive(Debug)]
pub enum OfferNotSent {
    /// A commit of this member's waits for the relay's order: try again on the next
    /// tick.
    NotReady,
    /// The file cannot be sent; the sentence says why.
    Refused(String),
}

impl Session {
    /// Starts offering `offer` to every other member now in the group: makes its
    /// transfer (with its own chunk-signing key) and the frames that carry the offer.
    pub fn offer_file(&mut self, offer: FileOffer, now_ms: u64) -> Result<Offered, OfferNotSent> {
        let nicks: HashMap<MemberId, String> = self
            .members()
            .into_iter()
            .filter(|m| !m.is_self)
            .map(|m| (m.member, m.nick))
            .collect();
        let receivers: Vec<MemberId> = nicks.keys().copied().collect();
        let Some(out) = Outgoing::new(offer, &receivers, now_ms) else {
            return Err(OfferNotSent::Refused(
                "It is too large to be sent in numbered pieces.".to_owned(),
            ));
        };
        if let Status::Failed(why) = out.status() {
            return Err(OfferNotSent::Refused(why.clone()));
        }
        match self.send_file(out.offer()) {
            Ok(outputs) => Ok(Offered {
                out,
                outputs,
                nicks,
            }),
            Err(ActionError::NotReady) => Err(OfferNotSent::NotReady),
            Err(e) => Err(OfferNotSent::Refused(e.to_string())),
        }
    }
}

impl Session {
    /// The nickname of `member` now, or "someone" when it is not (or no longer) here.
    pub fn nick_or_someone(&self, member: MemberId) -> String {
        self.members()
            .into_iter()
            .find(|m| m.member == member)
            .map_or_else(|| "someone".to_owned(), |m| m.nick)
    }
}

impl Offered {
    /// The receivers the transfer dropped since the last call, each as its name (the
    /// one it had when the offer went out) and what it did
    /// ([`crate::files::transfer::Dropped::describe`]).
    pub fn take_dropped(
        out: &mut Outgoing,
        nicks: &HashMap<MemberId, String>,
        session: &Session,
    ) -> Vec<(String, &'static str)> {
        out.take_dropped()
            .into_iter()
            .map(|(member, why)| {
                let who = nicks
                    .get(&member)
                    .cloned()
                    .unwrap_or_else(|| session.nick_or_someone(member));
                (who, why.describe())
            })
            .collect()
    }
}
