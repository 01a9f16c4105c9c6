//! The room around messages: replies and `/me`, edits and deletes of one's own
//! messages, reactions, typing, read receipts, presence and direct messages.
//!
//! Everything here travels as an MLS application message padded like a text (a direct
//! message as one directed, HPKE-sealed frame, [`super::direct`]), and refers to
//! messages by their authenticated [`MessageId`], never by the relay's sequence number:
//! the relay learns nothing it did not already see from a text. Who may change a
//! message is decided by the identity the group authenticated as its sender
//! ([`History`]), so a member cannot edit or delete another's message whatever it
//! sends.

use std::collections::{BTreeMap, VecDeque};

use zeroize::Zeroizing;

use super::direct::{self, DirectKey};
use super::envelope::{Content, Envelope, Presence, MAX_EMOJI_BYTES};
use super::history::{History, Refusal};
use super::pace::{OwnReceipt, OwnTyping, Typists};
use super::roster::placeholder_nick;
use super::{
    event, send, warning, ActionError, MemberInfo, Membership, Output, Session, SessionEvent, Stage,
};
use crate::group::{MessageId, PublicIdentity};
use crate::wire::MemberId;

const WARN_NOT_YOURS: &str = "A member tried to edit or delete another member's message; \
     it was refused.";
const WARN_DIRECT_KEY_TAKEN: &str = "A member published another member's key for private \
     messages; it was refused. Compare safety words with the others.";
const WARN_DIRECT_FORGED: &str = "A private message failed authentication (forged, altered \
     or not meant for this member) and was ignored. The relay or a member may be attacking \
     this room.";
const WARN_DIRECT_BROADCAST: &str = "A private message was delivered to the whole room and \
     was ignored: private messages go to their recipient alone. The relay or a member may \
     be misbehaving.";

/// One emoji and who reacted with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReactionCount {
    /// The emoji.
    pub emoji: String,
    /// The members who reacted with it (those still in the room).
    pub members: Vec<MemberId>,
    /// Whether this member is among them.
    pub mine: bool,
}

/// The authenticated sender of a content.
#[derive(Clone, Copy)]
pub(crate) struct Who<'a> {
    pub(crate) leaf: u32,
    pub(crate) identity: &'a PublicIdentity,
    pub(crate) member: MemberId,
}

/// A member's state around messages (one per place in the group).
pub(crate) struct Talk {
    /// Recent chat messages: senders, deletes, reactions.
    history: History,
    /// This member's key for direct messages (`None` if the generator failed: it then
    /// cannot receive them).
    direct: Option<DirectKey>,
    /// This member's own typing, paced.
    typing: OwnTyping,
    /// Who else types.
    typists: Typists,
    /// This member's next read receipt.
    receipt: OwnReceipt,
    /// Each member's latest read receipt, with the message's place in the order.
    receipts: BTreeMap<MemberId, (MessageId, u64)>,
    /// This member's presence, as last announced.
    presence: Presence,
    /// The latest clock reading.
    now_ms: u64,
    /// Ids of the direct messages received lately, to refuse a replay.
    seen_direct: VecDeque<MessageId>,
    /// How many direct messages this member sealed.
    direct_sent: u64,
    /// The last direct-message count taken from each sender, by its signature key.
    direct_taken: BTreeMap<[u8; 32], u64>,
}

/// Most direct-message ids remembered against replays.
const MAX_SEEN_DIRECT: usize = 1024;

impl Talk {
    pub(crate) fn new() -> Self {
        Talk {
            history: History::default(),
            direct: DirectKey::generate().ok(),
            typing: OwnTyping::default(),
            typists: Typists::default(),
            receipt: OwnReceipt::default(),
            receipts: BTreeMap::new(),
            presence: Presence::Active,
            now_ms: 0,
            seen_direct: VecDeque::new(),
            direct_sent: 0,
            direct_taken: BTreeMap::new(),
        }
    }

    pub(crate) fn presence(&self) -> Presence {
        self.presence
    }
}

/// A `/me` action.
fn action(text: &str, now_ms: u64) -> Content {
    Content::Post {
        body: text.to_owned(),
        sent_at_ms: now_ms,
        reply_to: None,
        action: true,
    }
}

/// Whether a content is shown when the relay echoes it to its sender.
pub(crate) fn echoed(content: &Content) -> bool {
    matches!(
        content,
        Content::Text { .. }
            | Content::Post { .. }
            | Content::Edit { .. }
            | Content::Delete { .. }
            | Content::React { .. }
    )
}

/// An emoji a reaction may carry: 1 to [`MAX_EMOJI_BYTES`] bytes, no whitespace, no
/// control or line-breaking characters, no bidirectional overrides or isolates.
fn valid_emoji(emoji: &str) -> bool {
    !emoji.is_empty()
        && emoji.len() <= MAX_EMOJI_BYTES
        && emoji.chars().all(|c| {
            !c.is_control()
                && !c.is_whitespace()
                && !matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}')
        })
}

impl Membership {
    fn nick_of(&self, leaf: u32, identity: &PublicIdentity) -> String {
        self.roster
            .get(leaf)
            .and_then(|p| p.nick.clone())
            .unwrap_or_else(|| placeholder_nick(identity))
    }

    /// The relay member id of the member holding `identity` now (`me` for this one).
    fn member_of(&self, identity: &PublicIdentity, me: MemberId) -> Option<MemberId> {
        let member = self
            .group
            .members()
            .into_iter()
            .find(|m| m.identity == *identity)?;
        if member.leaf == self.group.own_leaf() {
            return Some(me);
        }
        self.roster.get(member.leaf).and_then(|p| p.member)
    }

    /// Tells the room who this member is: its nickname, its direct-message key, and its
    /// presence if it is away.
    pub(crate) fn announce(&mut self, nick: &str, me: MemberId, out: &mut Vec<Output>) {
        self.send_content(
            &Content::Profile {
                nick: nick.to_owned(),
                member: me,
            },
            out,
        );
        if let Some(key) = &self.talk.direct {
            let public = key.public();
            self.send_content(&Content::DirectKey { public }, out);
        }
        if self.talk.presence != Presence::Active {
            let presence = self.talk.presence;
            self.send_content(&Content::Presence(presence), out);
        }
    }

    /// Shows a chat message from another member.
    #[allow(clippy::too_many_arguments)]
    fn show_post(
        &mut self,
        who: Who<'_>,
        (body, sent_at_ms): (String, u64),
        reply_to: Option<MessageId>,
        action: bool,
        seq: u64,
        id: MessageId,
        out: &mut Vec<Output>,
    ) {
        let nick = self.nick_of(who.leaf, who.identity);
        let Some(peer) = self.roster.get_mut(who.leaf) else {
            return;
        };
        if !peer.shown {
            peer.shown = true;
            out.push(event(SessionEvent::MemberJoined {
                member: who.member,
                nick: nick.clone(),
                fingerprint: who.identity.fingerprint().to_string(),
            }));
        }
        self.talk.history.record(id, *who.identity, seq);
        // A message ends its sender's typing.
        if self.talk.typists.set(who.member, false, self.talk.now_ms) {
            out.push(event(SessionEvent::Typing {
                member: who.member,
                nick: nick.clone(),
                typing: false,
            }));
        }
        out.push(event(SessionEvent::Message {
            from: who.member,
            nick,
            text: body,
            sent_at_ms,
            own: false,
            seq,
            id,
            reply_to,
            action,
        }));
    }

    /// Another member's content about messages or itself (everything but profiles and
    /// host actions).
    pub(crate) fn on_talk(
        &mut self,
        who: Who<'_>,
        content: Content,
        seq: u64,
        id: MessageId,
        out: &mut Vec<Output>,
    ) {
        let nick = self.nick_of(who.leaf, who.identity);
        match content {
            Content::Text { body, sent_at_ms } => {
                self.show_post(who, (body, sent_at_ms), None, false, seq, id, out);
            }
            Content::Post {
                body,
                sent_at_ms,
                reply_to,
                action,
            } => self.show_post(who, (body, sent_at_ms), reply_to, action, seq, id, out),
            Content::Edit {
                target,
                body,
                edited_at_ms,
            } => match self.talk.history.authorise(target, who.identity) {
                Ok(()) => out.push(event(SessionEvent::Edited {
                    id: target,
                    from: who.member,
                    text: body,
                    edited_at_ms,
                    own: false,
                })),
                Err(Refusal::NotSender) => out.push(warning(Some(who.member), WARN_NOT_YOURS)),
                Err(_) => {} // not a message this member saw: nothing to change
            },
            Content::Delete { target } => match self.talk.history.delete(target, who.identity) {
                Ok(()) => out.push(event(SessionEvent::Deleted {
                    id: target,
                    from: who.member,
                    own: false,
                })),
                Err(Refusal::NotSender) => out.push(warning(Some(who.member), WARN_NOT_YOURS)),
                Err(_) => {}
            },
            Content::React { target, emoji, on } => {
                if !valid_emoji(&emoji) {
                    return;
                }
                if let Ok(true) = self.talk.history.react(target, *who.identity, &emoji, on) {
                    out.push(event(SessionEvent::Reaction {
                        id: target,
                        from: who.member,
                        nick,
                        emoji,
                        on,
                        own: false,
                    }));
                }
            }
            Content::Typing(typing) => {
                if self.talk.typists.set(who.member, typing, self.talk.now_ms) {
                    out.push(event(SessionEvent::Typing {
                        member: who.member,
                        nick,
                        typing,
                    }));
                }
            }
            Content::Read { upto } => {
                // Only a message this member knows, and only forwards.
                let Some(at) = self.talk.history.seq_of(upto) else {
                    return;
                };
                let newer = self
                    .talk
                    .receipts
                    .get(&who.member)
                    .is_none_or(|&(_, before)| at > before);
                if newer {
                    self.talk.receipts.insert(who.member, (upto, at));
                    out.push(event(SessionEvent::Read {
                        member: who.member,
                        nick,
                        upto,
                    }));
                }
            }
            Content::DirectKey { public } => {
                // A key that is this member's own or another member's is refused: a
                // member publishing someone else's key could pass on messages sealed
                // to it.
                let own = self.talk.direct.as_ref().map(DirectKey::public);
                if own == Some(public) || self.roster.direct_key_taken(who.leaf, &public) {
                    out.push(warning(Some(who.member), WARN_DIRECT_KEY_TAKEN));
                    return;
                }
                if let Some(peer) = self.roster.get_mut(who.leaf) {
                    peer.direct_key = Some(public);
                }
            }
            Content::Presence(presence) => {
                let Some(peer) = self.roster.get_mut(who.leaf) else {
                    return;
                };
                if peer.presence != presence {
                    peer.presence = presence;
                    out.push(event(SessionEvent::PresenceChanged {
                        member: who.member,
                        nick,
                        presence,
                    }));
                }
            }
            Content::Profile { .. }
            | Content::Host(_)
            | Content::File(_)
            | Content::Pass { .. } => {}
        }
    }

    /// This member's own content, echoed by the relay: shown now, in the room's order.
    pub(crate) fn on_own(
        &mut self,
        content: Content,
        (me, nick): (MemberId, &str),
        seq: u64,
        id: MessageId,
        out: &mut Vec<Output>,
    ) {
        let Some(own) = self.own_identity() else {
            return;
        };
        let (text, sent_at_ms, reply_to, action) = match content {
            Content::Text { body, sent_at_ms } => (body, sent_at_ms, None, false),
            Content::Post {
                body,
                sent_at_ms,
                reply_to,
                action,
            } => (body, sent_at_ms, reply_to, action),
            Content::Edit {
                target,
                body,
                edited_at_ms,
            } => {
                if self.talk.history.authorise(target, &own).is_ok() {
                    out.push(event(SessionEvent::Edited {
                        id: target,
                        from: me,
                        text: body,
                        edited_at_ms,
                        own: true,
                    }));
                }
                return;
            }
            Content::Delete { target } => {
                if self.talk.history.delete(target, &own).is_ok() {
                    out.push(event(SessionEvent::Deleted {
                        id: target,
                        from: me,
                        own: true,
                    }));
                }
                return;
            }
            Content::React { target, emoji, on } => {
                if let Ok(true) = self.talk.history.react(target, own, &emoji, on) {
                    out.push(event(SessionEvent::Reaction {
                        id: target,
                        from: me,
                        nick: nick.to_owned(),
                        emoji,
                        on,
                        own: true,
                    }));
                }
                return;
            }
            _ => return,
        };
        self.talk.history.record(id, own, seq);
        out.push(event(SessionEvent::Message {
            from: me,
            nick: nick.to_owned(),
            text,
            sent_at_ms,
            own: true,
            seq,
            id,
            reply_to,
            action,
        }));
    }

    /// The clock: a typing gone idle says it stopped, a read receipt whose burst is
    /// over goes out, and others' typing that was never refreshed ends.
    fn tick_talk(&mut self, now_ms: u64, live: bool, out: &mut Vec<Output>) {
        self.talk.now_ms = now_ms;
        if live && self.talk.typing.idle(now_ms) {
            self.send_content(&Content::Typing(false), out);
        }
        if let Some(upto) = live.then(|| self.talk.receipt.due(now_ms)).flatten() {
            self.send_content(&Content::Read { upto }, out);
        }
        for member in self.talk.typists.expire(now_ms) {
            let nick = self
                .roster
                .leaf_of(member)
                .and_then(|leaf| self.roster.get(leaf))
                .and_then(|p| p.nick.clone())
                .unwrap_or_default();
            out.push(event(SessionEvent::Typing {
                member,
                nick,
                typing: false,
            }));
        }
    }
}

impl Session {
    /// Sends a chat message content (`Text` or `Post`): checked against the room's
    /// size limit, queued behind this member's pending commit, shown on its echo.
    pub(crate) fn post(
        &mut self,
        content: Content,
        now_ms: u64,
    ) -> Result<Vec<Output>, ActionError> {
        let empty = match &content {
            Content::Text { body, .. } | Content::Post { body, .. } => body.is_empty(),
            _ => true,
        };
        if empty {
            return Err(ActionError::Empty);
        }
        self.now_ms = Some(now_ms);
        let padded = self.fitting(&content)?;
        let m = self.member_ready()?;
        let mut out = Vec::new();
        // The message itself ends typing for the others.
        m.talk.typing.stop();
        m.maybe_self_update(now_ms, &mut out);
        if m.group.has_pending_commit() {
            if m.queued.len() >= super::MAX_OWN_PENDING {
                return Err(ActionError::NotReady);
            }
            m.queued.push_back(padded);
            return Ok(out);
        }
        m.send_post(padded, &mut out);
        Ok(out)
    }

    /// The padded content, if it fits the room's payload limit: an MLS message adds a
    /// header, a signature and a tag (a direct message an encapsulation, a signature
    /// and a tag), well under 256 bytes. Refused early rather than sent to be refused.
    fn fitting(&self, content: &Content) -> Result<Zeroizing<Vec<u8>>, ActionError> {
        let max = self.limits.map_or(usize::MAX, |l| l.max_payload as usize);
        let padded = content.seal_ready();
        if padded.len() + 256 > max {
            return Err(ActionError::TooLarge);
        }
        Ok(padded)
    }

    /// Sends a reply to message `reply_to` (shown like a message, with `reply_to` set).
    pub fn send_reply(
        &mut self,
        reply_to: MessageId,
        text: &str,
        now_ms: u64,
    ) -> Result<Vec<Output>, ActionError> {
        self.post(
            Content::Post {
                body: text.to_owned(),
                sent_at_ms: now_ms,
                reply_to: Some(reply_to),
                action: false,
            },
            now_ms,
        )
    }

    /// Sends a `/me` action ("Ada waves"): shown like a message with `action: true`.
    pub fn send_action(&mut self, text: &str, now_ms: u64) -> Result<Vec<Output>, ActionError> {
        self.post(action(text, now_ms), now_ms)
    }

    /// This member's own message (and the identity it was sent under), or why not.
    fn own_message(&mut self, id: MessageId) -> Result<&mut Membership, ActionError> {
        let m = self.member_ready()?;
        let own = m.own_identity().ok_or(ActionError::NotReady)?;
        match m.talk.history.authorise(id, &own) {
            Ok(()) => Ok(m),
            Err(Refusal::NotSender) => Err(ActionError::NotYours),
            Err(_) => Err(ActionError::UnknownMessage),
        }
    }

    /// Replaces the text of one of this member's own messages. Everyone (this member
    /// included, on the relay's echo) is shown [`SessionEvent::Edited`].
    pub fn edit(
        &mut self,
        id: MessageId,
        text: &str,
        now_ms: u64,
    ) -> Result<Vec<Output>, ActionError> {
        if text.is_empty() {
            return Err(ActionError::Empty);
        }
        let content = Content::Edit {
            target: id,
            body: text.to_owned(),
            edited_at_ms: now_ms,
        };
        self.fitting(&content)?;
        let m = self.own_message(id)?;
        let mut out = Vec::new();
        m.send_content(&content, &mut out);
        Ok(out)
    }

    /// Deletes one of this member's own messages for everyone
    /// ([`SessionEvent::Deleted`]).
    pub fn delete(&mut self, id: MessageId) -> Result<Vec<Output>, ActionError> {
        let m = self.own_message(id)?;
        let mut out = Vec::new();
        m.send_content(&Content::Delete { target: id }, &mut out);
        Ok(out)
    }

    /// Adds (`on`) or takes back an emoji reaction to a message
    /// ([`SessionEvent::Reaction`] on the echo; [`Session::reactions`] for totals).
    pub fn react(
        &mut self,
        id: MessageId,
        emoji: &str,
        on: bool,
    ) -> Result<Vec<Output>, ActionError> {
        if !valid_emoji(emoji) {
            return Err(ActionError::InvalidReaction);
        }
        let m = self.member_ready()?;
        if m.talk.history.seq_of(id).is_none() {
            return Err(ActionError::UnknownMessage);
        }
        let mut out = Vec::new();
        m.send_content(
            &Content::React {
                target: id,
                emoji: emoji.to_owned(),
                on,
            },
            &mut out,
        );
        Ok(out)
    }

    /// Call on every key press in the message box: the session says "typing" once,
    /// refreshes it at most every [`super::TYPING_REFRESH_MS`], and says "stopped" by
    /// itself after [`super::TYPING_IDLE_MS`] without a key press (on [`Session::tick`])
    /// or when a message is sent. Returns nothing to send most of the time.
    pub fn typing(&mut self, now_ms: u64) -> Vec<Output> {
        self.now_ms = Some(now_ms);
        let mut out = Vec::new();
        if let Ok(m) = self.member_ready() {
            if m.talk.typing.key(now_ms) {
                m.send_content(&Content::Typing(true), &mut out);
            }
        }
        out
    }

    /// Call when the user empties the message box without sending: says "stopped"
    /// if "typing" was said.
    pub fn stop_typing(&mut self) -> Vec<Output> {
        let mut out = Vec::new();
        if let Ok(m) = self.member_ready() {
            if m.talk.typing.stop() {
                m.send_content(&Content::Typing(false), &mut out);
            }
        }
        out
    }

    /// The user has seen every message up to `upto` (call it as messages are shown).
    /// One receipt goes out on [`Session::tick`] once reading pauses for
    /// [`super::RECEIPT_DELAY_MS`], however often this is called.
    pub fn mark_read(&mut self, upto: MessageId, now_ms: u64) {
        if let Stage::Member(m) = &mut self.stage {
            m.talk.receipt.mark(upto, now_ms);
        }
    }

    /// Tells the room this member is active or away (tab hidden, idle). Sends only a
    /// change.
    pub fn set_presence(&mut self, presence: Presence) -> Vec<Output> {
        let mut out = Vec::new();
        if let Ok(m) = self.member_ready() {
            if m.talk.presence != presence {
                m.talk.presence = presence;
                m.send_content(&Content::Presence(presence), &mut out);
            }
        }
        out
    }

    /// Sends a direct message to one member: encrypted to it alone, carried by the
    /// relay as one frame to that member. Reported at once as
    /// [`SessionEvent::DirectMessage`] with `own: true`.
    pub fn send_direct(
        &mut self,
        to: MemberId,
        text: &str,
        now_ms: u64,
    ) -> Result<Vec<Output>, ActionError> {
        self.send_direct_content(
            to,
            Content::Text {
                body: text.to_owned(),
                sent_at_ms: now_ms,
            },
            now_ms,
        )
    }

    /// [`Session::send_direct`] as a `/me` action.
    pub fn send_direct_action(
        &mut self,
        to: MemberId,
        text: &str,
        now_ms: u64,
    ) -> Result<Vec<Output>, ActionError> {
        self.send_direct_content(to, action(text, now_ms), now_ms)
    }

    fn send_direct_content(
        &mut self,
        to: MemberId,
        content: Content,
        now_ms: u64,
    ) -> Result<Vec<Output>, ActionError> {
        let (text, action) = match &content {
            Content::Text { body, .. } => (body.clone(), false),
            Content::Post { body, action, .. } => (body.clone(), *action),
            _ => return Err(ActionError::Empty),
        };
        if text.is_empty() {
            return Err(ActionError::Empty);
        }
        self.now_ms = Some(now_ms);
        self.fitting(&content)?;
        let me = self.me.ok_or(ActionError::NotReady)?;
        if to == me {
            return Err(ActionError::UnknownMember);
        }
        let room = self.room;
        let nick = self.nick.clone();
        let m = self.member_ready()?;
        let leaf = m.roster.leaf_of(to).ok_or(ActionError::UnknownMember)?;
        let key = m
            .roster
            .get(leaf)
            .and_then(|p| p.direct_key)
            .ok_or(ActionError::NoDirectKey)?;
        let counter = m.talk.direct_sent + 1;
        let envelope = direct::seal(&m.group, &room, (&key, leaf), (counter, &content))
            .map_err(|_| ActionError::NoDirectKey)?;
        // The seal adds the signature, counters and HPKE's encapsulation to the content,
        // and pads again: what the relay sees must fit its payload limit too.
        let max = self.limits.map_or(usize::MAX, |l| l.max_payload as usize);
        if envelope.encode().len() > max {
            return Err(ActionError::TooLarge);
        }
        let m = self.member_ready()?;
        let Envelope::Direct { sealed, .. } = &envelope else {
            return Err(ActionError::NoDirectKey);
        };
        m.talk.direct_sent = counter;
        let id = MessageId::of(sealed);
        Ok(vec![
            send(Some(to), &envelope),
            event(SessionEvent::DirectMessage {
                from: me,
                to,
                nick,
                text,
                sent_at_ms: now_ms,
                action,
                own: true,
                id,
            }),
        ])
    }

    /// A direct message the relay delivered (`directed`: to this member alone).
    pub(crate) fn on_direct(
        &mut self,
        from: MemberId,
        directed: bool,
        (enc, sealed): ([u8; 32], Vec<u8>),
        out: &mut Vec<Output>,
    ) {
        let Some(me) = self.me else { return };
        if !directed {
            out.push(warning(Some(from), WARN_DIRECT_BROADCAST));
            return;
        }
        let room = self.room;
        let Stage::Member(m) = &mut self.stage else {
            return; // not in the group yet: nobody could have had its key
        };
        let Some(key) = &m.talk.direct else { return };
        let members = m.group.members();
        let own = m.group.own_leaf();
        let opened = direct::open((key, own), &room, (&enc, &sealed), |leaf| {
            members
                .iter()
                .find(|x| x.leaf == leaf && leaf != own)
                .map(|x| x.identity.signature_key)
        });
        let Ok(opened) = opened else {
            out.push(warning(Some(from), WARN_DIRECT_FORGED));
            return;
        };
        let id = MessageId::of(&sealed);
        if m.talk.seen_direct.contains(&id) {
            out.push(warning(Some(from), super::WARN_REPLAY));
            return;
        }
        if m.talk.seen_direct.len() >= MAX_SEEN_DIRECT {
            m.talk.seen_direct.pop_front();
        }
        m.talk.seen_direct.push_back(id);
        // Only a count above the last one taken from this sender: an older message
        // replayed (even one the id window forgot) or delivered out of order is refused.
        let Some(signer) = members
            .iter()
            .find(|x| x.leaf == opened.leaf)
            .map(|x| x.identity.signature_key)
        else {
            return;
        };
        if m.talk
            .direct_taken
            .get(&signer)
            .is_some_and(|&last| opened.counter <= last)
        {
            out.push(warning(Some(from), super::WARN_REPLAY));
            return;
        }
        if m.talk.direct_taken.len() >= MAX_SEEN_DIRECT {
            // Forget senders no longer in the group.
            m.talk
                .direct_taken
                .retain(|k, _| members.iter().any(|x| x.identity.signature_key == *k));
        }
        m.talk.direct_taken.insert(signer, opened.counter);
        // The sender is the leaf that signed; its relay id is the one it claimed.
        let Some(sender) = m.roster.get(opened.leaf).and_then(|p| p.member) else {
            out.push(warning(Some(from), WARN_DIRECT_FORGED));
            return;
        };
        if sender != from {
            out.push(warning(Some(from), super::WARN_MOVED));
        }
        let (text, sent_at_ms, action) = match opened.content {
            Content::Text { body, sent_at_ms } => (body, sent_at_ms, false),
            Content::Post {
                body,
                sent_at_ms,
                action,
                ..
            } => (body, sent_at_ms, action),
            _ => return,
        };
        let identity = members
            .iter()
            .find(|x| x.leaf == opened.leaf)
            .map(|x| x.identity);
        let nick = identity.map_or_else(String::new, |i| m.nick_of(opened.leaf, &i));
        out.push(event(SessionEvent::DirectMessage {
            from: sender,
            to: me,
            nick,
            text,
            sent_at_ms,
            action,
            own: false,
            id,
        }));
    }

    /// The reactions on a message, each emoji with who chose it.
    pub fn reactions(&self, id: MessageId) -> Vec<ReactionCount> {
        let (Stage::Member(m), Some(me)) = (&self.stage, self.me) else {
            return Vec::new();
        };
        let own = m.own_identity();
        m.talk
            .history
            .reactions(id)
            .into_iter()
            .map(|(emoji, who)| ReactionCount {
                emoji,
                mine: own.is_some_and(|o| who.contains(&o)),
                members: who.iter().filter_map(|i| m.member_of(i, me)).collect(),
            })
            .collect()
    }

    /// The members typing now (not this one).
    pub fn typing_members(&self) -> Vec<MemberInfo> {
        let Stage::Member(m) = &self.stage else {
            return Vec::new();
        };
        let typing = m.talk.typists.members();
        self.members()
            .into_iter()
            .filter(|i| typing.contains(&i.member))
            .collect()
    }

    /// Each member's latest read receipt: the message it has read up to.
    pub fn read_receipts(&self) -> Vec<(MemberId, MessageId)> {
        let Stage::Member(m) = &self.stage else {
            return Vec::new();
        };
        m.talk
            .receipts
            .iter()
            .map(|(&member, &(upto, _))| (member, upto))
            .collect()
    }

    /// Whether a message is this member's own and can still be edited or deleted.
    pub fn can_edit(&self, id: MessageId) -> bool {
        let Stage::Member(m) = &self.stage else {
            return false;
        };
        m.own_identity()
            .is_some_and(|own| m.talk.history.authorise(id, &own).is_ok())
    }

    /// Sends any content as this member, unchecked: for tests that play a misbehaving
    /// member (receivers must refuse what it should not send). Not for clients.
    #[doc(hidden)]
    pub fn send_raw_content(&mut self, content: &Content) -> Result<Vec<Output>, ActionError> {
        let m = self.member_ready()?;
        let mut out = Vec::new();
        m.send_content(content, &mut out);
        Ok(out)
    }

    pub(crate) fn tick_talk(&mut self, now_ms: u64, out: &mut Vec<Output>) {
        let live = self.conn == super::Conn::Live;
        if let Stage::Member(m) = &mut self.stage {
            m.tick_talk(now_ms, live, out);
        }
    }
}
