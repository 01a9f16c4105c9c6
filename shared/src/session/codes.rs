//! Short codes around the session (PROTOCOL.md §11.2).
//!
//! - The member's side lives in the session ([`Codes`]): it asks the relay for a
//!   nameplate (`Session::request_code`), makes the code's words itself, answers every
//!   exchange the relay relays to it, counts failures (never lowering the count), tells
//!   the relay to burn the nameplate after [`MAX_FAILED_ATTEMPTS`], and revokes on
//!   request (`Session::revoke_codes`). What happens is reported as [`CodeNotice`]s
//!   (`Session::take_code_notices`).
//! - The joiner's side is [`CodeJoin`], a small sans-I/O machine for a connection that
//!   is in no room: one exchange per typed code, ending with the room secret (then
//!   `Session::join_with`, as for a link) or a sentence for the user.
//!
//! Nothing the relay or a joiner sends can panic either side: a message that cannot be
//! read counts as a failed exchange.

use std::collections::{BTreeMap, VecDeque};

use zeroize::Zeroizing;

use super::Output;
use crate::crypto::{RoomPass, RoomSecret};
use crate::ways::code::{
    wrong_code_confirmation, CodeError, CodeOffer, JoinerConfirmed, JoinerExchange, MemberExchange,
    ShortCode, MAX_FAILED_ATTEMPTS,
};
use crate::wire::{ClientFrame, CodeRefusal, ServerFrame, PROTOCOL_VERSION};

/// An exchange whose joiner has been silent this long is given up (a failure).
pub const EXCHANGE_TIMEOUT_MS: u64 = 30_000;

/// Live codes one member keeps at most (the relay caps them per room too).
const MAX_OFFERS: usize = 8;

/// Notices kept for a client that does not take them.
const MAX_NOTICES: usize = 32;

/// What happened to this member's codes. No `Debug`: `Ready` carries the code.
pub enum CodeNotice {
    /// A new code: show it to the member, who reads it to the joiner.
    Ready {
        /// The code's nameplate (its number, not secret): what [`Session::revoke_code`]
        /// and the other notices name it by.
        ///
        /// [`Session::revoke_code`]: super::Session::revoke_code
        nameplate: u32,
        /// The code as people say and type it (`7-amber-river`).
        code: Zeroizing<String>,
        /// Seconds until it expires.
        expires_secs: u32,
    },
    /// The relay refused to hand out a code.
    Refused(CodeRefusal),
    /// A joiner proved it knows the code and was sent the room secret.
    Admitted {
        /// The code's nameplate.
        nameplate: u32,
    },
    /// An exchange failed (a wrong code, a garbled message, a joiner gone silent).
    Failed {
        /// The code's nameplate.
        nameplate: u32,
        /// Failures so far on this code.
        failures: u8,
    },
    /// The code failed [`MAX_FAILED_ATTEMPTS`] times: it admits nobody any more.
    Burned {
        /// The code's nameplate.
        nameplate: u32,
    },
    /// The connection to the relay was replaced, and the relay forgot this member's
    /// codes: none of them admits anybody any more.
    Forgotten {
        /// How many live codes were lost.
        count: usize,
    },
}

impl CodeNotice {
    /// A sentence for the member.
    pub fn describe(&self) -> String {
        match self {
            CodeNotice::Ready {
                code, expires_secs, ..
            } => format!(
                "Short code: {} (expires in {}). Read it to the person joining; they type \
                 it with `join --code`.",
                code.as_str(),
                human_secs(*expires_secs)
            ),
            CodeNotice::Refused(reason) => reason.message().to_owned(),
            CodeNotice::Admitted { nameplate } => {
                format!("Someone used code {nameplate}-… and is joining the room.")
            }
            CodeNotice::Failed {
                nameplate,
                failures,
            } => format!(
                "A wrong attempt on code {nameplate}-… ({failures} of {MAX_FAILED_ATTEMPTS}): \
                 it may be a typo, or someone may be guessing."
            ),
            CodeNotice::Burned { nameplate } => format!(
                "Code {nameplate}-… failed {MAX_FAILED_ATTEMPTS} times and no longer works. \
                 Make a new one if someone still needs to join."
            ),
            CodeNotice::Forgotten { count } => format!(
                "The connection to the relay dropped, so your {count} short code(s) no longer \
                 work. Make a new one if someone still needs to join."
            ),
        }
    }
}

fn human_secs(secs: u32) -> String {
    if secs >= 120 {
        format!("{} minutes", secs / 60)
    } else {
        format!("{secs} seconds")
    }
}

/// One live code of this member.
struct Live {
    offer: CodeOffer,
}

/// An exchange answered and not finished.
struct Ongoing {
    nameplate: u32,
    exchange: MemberExchange,
    /// When it was answered (the session's clock), to give it up after
    /// [`EXCHANGE_TIMEOUT_MS`].
    since_ms: Option<u64>,
}

/// The member's codes.
#[derive(Default)]
pub(super) struct Codes {
    live: BTreeMap<u32, Live>,
    ongoing: BTreeMap<u64, Ongoing>,
    notices: VecDeque<CodeNotice>,
}

fn code_send(exchange: u64, payload: &[u8]) -> Output {
    Output::Send(ClientFrame::CodeSend { exchange, payload }.encode())
}

impl Codes {
    fn notice(&mut self, notice: CodeNotice) {
        if self.notices.len() >= MAX_NOTICES {
            self.notices.pop_front();
        }
        self.notices.push_back(notice);
    }

    pub(super) fn take(&mut self) -> Vec<CodeNotice> {
        self.notices.drain(..).collect()
    }

    /// The relay handed out `nameplate`: make the code's words.
    pub(super) fn offered(&mut self, nameplate: u32, expires_secs: u32) {
        if nameplate == 0 || self.live.len() >= MAX_OFFERS || self.live.contains_key(&nameplate) {
            return;
        }
        let code = ShortCode::generate(nameplate, &mut rand_core::OsRng);
        let text = code.to_text();
        self.live.insert(
            nameplate,
            Live {
                offer: CodeOffer::new(code),
            },
        );
        self.notice(CodeNotice::Ready {
            nameplate,
            code: text,
            expires_secs,
        });
    }

    /// The relay refused a request (for a code of this member: drop it).
    pub(super) fn refused(&mut self, nameplate: u32, reason: CodeRefusal) {
        self.live.remove(&nameplate);
        self.notice(CodeNotice::Refused(reason));
    }

    /// Revokes every live code; the frames tell the relay.
    pub(super) fn revoke_all(&mut self, out: &mut Vec<Output>) -> usize {
        let revoked = self.live.len();
        for (nameplate, mut live) in std::mem::take(&mut self.live) {
            live.offer.revoke();
            out.push(Output::Send(ClientFrame::CodeRevoke { nameplate }.encode()));
        }
        self.ongoing.clear();
        revoked
    }

    /// Revokes one live code; whether it was live. The frame tells the relay.
    pub(super) fn revoke(&mut self, nameplate: u32, out: &mut Vec<Output>) -> bool {
        let Some(mut live) = self.live.remove(&nameplate) else {
            return false;
        };
        live.offer.revoke();
        self.ongoing.retain(|_, o| o.nameplate != nameplate);
        out.push(Output::Send(ClientFrame::CodeRevoke { nameplate }.encode()));
        true
    }

    /// The connection was replaced: the relay forgot this member's nameplates.
    pub(super) fn forget(&mut self) {
        let count = self.live.len();
        self.live.clear();
        self.ongoing.clear();
        if count > 0 {
            self.notice(CodeNotice::Forgotten { count });
        }
    }

    /// A message of an exchange, from a joiner through the relay.
    pub(super) fn message(
        &mut self,
        exchange: u64,
        nameplate: u32,
        payload: &[u8],
        (secret, pass): (&RoomSecret, Option<&RoomPass>),
        now_ms: Option<u64>,
        out: &mut Vec<Output>,
    ) {
        if let Some(ongoing) = self.ongoing.remove(&exchange) {
            let Some(live) = self.live.get_mut(&ongoing.nameplate) else {
                return;
            };
            match live
                .offer
                .grant_with_pass(ongoing.exchange, payload, secret, pass)
            {
                Ok(grant) => {
                    out.push(code_send(exchange, &grant));
                    self.notice(CodeNotice::Admitted {
                        nameplate: ongoing.nameplate,
                    });
                }
                Err(_) => self.failed(ongoing.nameplate, out),
            }
            return;
        }
        let Some(live) = self.live.get_mut(&nameplate) else {
            return;
        };
        match live.offer.respond(payload) {
            Ok((member, reply)) => {
                self.ongoing.insert(
                    exchange,
                    Ongoing {
                        nameplate,
                        exchange: member,
                        since_ms: now_ms,
                    },
                );
                out.push(code_send(exchange, &reply));
            }
            // Others are under way: this joiner's attempt is not answered (it counts
            // for nothing) and it may try again.
            Err(CodeError::Busy) => {}
            Err(_) => self.failed(nameplate, out),
        }
    }

    /// Gives up exchanges whose joiner went silent.
    pub(super) fn tick(&mut self, now_ms: u64, out: &mut Vec<Output>) {
        let stale: Vec<u64> = self
            .ongoing
            .iter_mut()
            .filter_map(|(id, o)| {
                let since = *o.since_ms.get_or_insert(now_ms);
                (now_ms.saturating_sub(since) >= EXCHANGE_TIMEOUT_MS).then_some(*id)
            })
            .collect();
        for id in stale {
            let Some(ongoing) = self.ongoing.remove(&id) else {
                continue;
            };
            if let Some(live) = self.live.get_mut(&ongoing.nameplate) {
                live.offer.abandon(ongoing.exchange);
                self.failed(ongoing.nameplate, out);
            }
        }
    }

    /// Reports a failure on `nameplate` (already counted by its offer) and burns the
    /// code when it is spent.
    fn failed(&mut self, nameplate: u32, out: &mut Vec<Output>) {
        let Some(live) = self.live.get(&nameplate) else {
            return;
        };
        let (failures, burned) = (live.offer.failed_attempts(), live.offer.is_burned());
        self.notice(CodeNotice::Failed {
            nameplate,
            failures,
        });
        if burned {
            self.live.remove(&nameplate);
            self.ongoing.retain(|_, o| o.nameplate != nameplate);
            out.push(Output::Send(ClientFrame::CodeBurn { nameplate }.encode()));
            self.notice(CodeNotice::Burned { nameplate });
        }
    }

    /// Failures counted on `nameplate` (for tests and displays).
    pub(super) fn failures(&self, nameplate: u32) -> Option<u8> {
        self.live.get(&nameplate).map(|l| l.offer.failed_attempts())
    }
}

/// The joiner's sentence when the relay's connection closes during the exchange.
pub const CODE_LOST: &str =
    "The relay closed the connection during the code exchange. Try the code again.";

/// The joiner's sentence when the member did not finish the exchange within
/// [`EXCHANGE_TIMEOUT_MS`].
pub const CODE_NO_ANSWER: &str =
    "The person who made this code did not answer in time. Ask them for a new code.";

/// What a joiner's exchange asks its client to do next.
pub enum CodeStep {
    /// Send this frame to the relay.
    Send(Vec<u8>),
    /// Nothing yet: wait for the next frame.
    Wait,
    /// The member sent the room secret, and the room's pass if its invitation was
    /// renewed: join with them (`Session::join_with_pass`).
    Admitted(RoomSecret, Option<RoomPass>),
    /// The code did not work: show the sentence, and do not try this code again.
    Failed(String),
    /// The code was wrong: send this frame (it tells the member at once, so the
    /// failure counts now rather than after [`EXCHANGE_TIMEOUT_MS`]), then show the
    /// sentence as for [`CodeStep::Failed`].
    Wrong(Vec<u8>, String),
}

enum JoinState {
    Opened(JoinerExchange),
    Confirmed(u64, JoinerConfirmed),
    Over,
}

/// A joiner's one attempt with a typed code, on a connection in no room.
pub struct CodeJoin {
    nameplate: u32,
    state: JoinState,
}

impl CodeJoin {
    /// Reads the typed code and opens the exchange: the frame to send first. The error
    /// is a sentence for the user (a malformed code, an unknown word).
    pub fn start(typed: &str) -> Result<(CodeJoin, Vec<u8>), String> {
        let code = ShortCode::parse(typed).map_err(|e| e.to_string())?;
        let (exchange, hello) = JoinerExchange::start(&code);
        let frame = ClientFrame::CodeOpen {
            version: PROTOCOL_VERSION,
            nameplate: code.nameplate(),
            hello: &hello,
        }
        .encode();
        let join = CodeJoin {
            nameplate: code.nameplate(),
            state: JoinState::Opened(exchange),
        };
        Ok((join, frame))
    }

    /// Processes one frame from the relay.
    pub fn handle(&mut self, frame: &[u8]) -> CodeStep {
        if matches!(self.state, JoinState::Over) {
            return CodeStep::Wait;
        }
        let frame = match ServerFrame::decode(frame) {
            Ok(frame) => frame,
            Err(_) => return self.fail(CodeError::BadMessage.to_string()),
        };
        match frame {
            ServerFrame::CodeRefused { nameplate, reason } if nameplate == self.nameplate => {
                self.fail(reason.message().to_owned())
            }
            ServerFrame::Error { code } => self.fail(code.message().to_owned()),
            ServerFrame::CodeMessage {
                exchange,
                nameplate,
                payload,
            } if nameplate == self.nameplate => {
                match std::mem::replace(&mut self.state, JoinState::Over) {
                    JoinState::Opened(joiner) => match joiner.confirm(payload) {
                        Ok((confirmed, confirm)) => {
                            self.state = JoinState::Confirmed(exchange, confirmed);
                            CodeStep::Send(
                                ClientFrame::CodeSend {
                                    exchange,
                                    payload: &confirm,
                                }
                                .encode(),
                            )
                        }
                        Err(CodeError::Wrong) => {
                            let frame = ClientFrame::CodeSend {
                                exchange,
                                payload: &wrong_code_confirmation(),
                            }
                            .encode();
                            CodeStep::Wrong(frame, CodeError::Wrong.to_string())
                        }
                        Err(e) => self.fail(e.to_string()),
                    },
                    JoinState::Confirmed(expected, confirmed) if expected == exchange => {
                        match confirmed.open_with_pass(payload) {
                            Ok((secret, pass)) => CodeStep::Admitted(secret, pass),
                            Err(e) => self.fail(e.to_string()),
                        }
                    }
                    _ => self.fail(CodeError::BadMessage.to_string()),
                }
            }
            _ => CodeStep::Wait,
        }
    }

    fn fail(&mut self, sentence: String) -> CodeStep {
        self.state = JoinState::Over;
        CodeStep::Failed(sentence)
    }
}
