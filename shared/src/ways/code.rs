//! Short codes: `nameplate-word-word` (e.g. `7-amber-river`), read aloud over a phone.
//! The relay hands out the nameplate (a short-lived number naming the room's offer);
//! the two words are the secret part, chosen by the member's client and never sent to
//! the relay. A joiner and an online member run SPAKE2 (Ed25519 group, as
//! magic-wormhole does) over the relay with the whole code as the password, confirm
//! the key both ways, and the member then seals the room secret to the joiner. See
//! PROTOCOL.md §11.2.
//!
//! Each exchange lets a guesser test one code, online; the member counts failed
//! exchanges and burns the code after [`MAX_FAILED_ATTEMPTS`]. The relay, seeing only
//! SPAKE2 messages, can neither recover the code nor test guesses offline.
//!
//! ```
//! use vroom_shared::crypto::{OsRng, RoomSecret};
//! use vroom_shared::ways::code::{CodeOffer, JoinerExchange, ShortCode};
//!
//! let room = RoomSecret::generate(&mut OsRng);
//! let mut offer = CodeOffer::new(ShortCode::generate(7, &mut OsRng));
//! let spoken = offer.code().to_text();
//! let (joiner, hello) = JoinerExchange::start(&ShortCode::parse(&spoken).unwrap());
//! let (member, reply) = offer.respond(&hello).unwrap();
//! let (joiner, confirm) = joiner.confirm(&reply).unwrap();
//! let grant = offer.grant(member, &confirm, &room).unwrap();
//! assert!(joiner.open(&grant).unwrap() == room);
//! ```

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::ChaCha20Poly1305;
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use rand_core::CryptoRngCore;
use sha2::Sha256;
use spake2::{Ed25519Group, Identity, Password, Spake2};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::crypto::pass::secret_and_pass;
use crate::crypto::words::WORDS;
use crate::crypto::{RoomPass, RoomSecret};

/// SPAKE2's identity of the joiner's side (A).
pub const LABEL_JOINER: &[u8] = b"vroom/v2/code/joiner";
/// SPAKE2's identity of the member's side (B).
pub const LABEL_MEMBER: &[u8] = b"vroom/v2/code/member";
/// Prefix of SPAKE2's password: this label, the nameplate (u32 BE), the word indices.
pub const LABEL_PASSWORD: &[u8] = b"vroom/v2/code/password";
/// HKDF-Extract salt over SPAKE2's shared key.
pub const LABEL_KEY_SALT: &[u8] = b"vroom/v2/code/key";
/// HKDF-Expand info of the member's confirmation key.
pub const LABEL_CONFIRM_MEMBER: &[u8] = b"vroom/v2/code/confirm-member";
/// HKDF-Expand info of the joiner's confirmation key.
pub const LABEL_CONFIRM_JOINER: &[u8] = b"vroom/v2/code/confirm-joiner";
/// HKDF-Expand info of the key that seals the room secret to the joiner.
pub const LABEL_GRANT: &[u8] = b"vroom/v2/code/grant";

/// Words in a code's secret part: 16 bits, enough when a guesser gets
/// [`MAX_FAILED_ATTEMPTS`] tries (3 in 65,536) before the code burns.
pub const CODE_WORDS: usize = 2;
/// Failed exchanges after which a code is burned.
pub const MAX_FAILED_ATTEMPTS: u8 = 3;

/// A short code. No `Debug`: its words are the secret part; zeroized on drop, compared
/// in constant time.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct ShortCode {
    nameplate: u32,
    words: [u8; CODE_WORDS],
}

impl PartialEq for ShortCode {
    fn eq(&self, other: &Self) -> bool {
        (self.nameplate.ct_eq(&other.nameplate) & self.words.ct_eq(&other.words)).into()
    }
}

impl Eq for ShortCode {}

/// Why a short code did not work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeError {
    /// The text is not `number-word-word`.
    Malformed,
    /// A word is not in the code word list (probably a typo).
    UnknownWord,
    /// The keys did not match: the code was mistyped, or someone is guessing.
    Wrong,
    /// The code failed too often (or was revoked) and admits nobody any more.
    Burned,
    /// A message of the exchange could not be read.
    BadMessage,
    /// As many exchanges as the code may still fail are under way: try again shortly.
    Busy,
}

impl core::fmt::Display for CodeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            CodeError::Malformed => {
                "This is not a short code. It looks like 7-amber-river: a number and two words."
            }
            CodeError::UnknownWord => {
                "A word of this code is not one vroom uses. Check the spelling and try again."
            }
            CodeError::Wrong => {
                "That code did not work. It may be mistyped, or someone may be guessing it. \
                 Ask for a new code."
            }
            CodeError::Burned => {
                "This code no longer works (it was revoked or guessed at too often). Ask for a \
                 new one."
            }
            CodeError::BadMessage => {
                "The short-code exchange was garbled on the way. Ask for a new code."
            }
            CodeError::Busy => "Others are using this code right now. Try again in a moment.",
        })
    }
}

impl std::error::Error for CodeError {}

impl ShortCode {
    /// A code for `nameplate` (which the relay handed out) with random words.
    pub fn generate(nameplate: u32, rng: &mut impl CryptoRngCore) -> ShortCode {
        let mut words = [0u8; CODE_WORDS];
        rng.fill_bytes(&mut words);
        ShortCode { nameplate, words }
    }

    /// Reads a typed code: `7-amber-river`, case and surrounding space ignored, spaces
    /// accepted instead of dashes.
    pub fn parse(text: &str) -> Result<ShortCode, CodeError> {
        let lower = Zeroizing::new(text.trim().to_lowercase());
        let mut parts = lower
            .split(|c: char| c == '-' || c.is_whitespace())
            .filter(|p| !p.is_empty());
        let nameplate = parts
            .next()
            .filter(|p| p.len() <= 9 && p.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|p| p.parse().ok())
            .ok_or(CodeError::Malformed)?;
        let mut words = [0u8; CODE_WORDS];
        for slot in &mut words {
            let word = parts.next().ok_or(CodeError::Malformed)?;
            let index = WORDS
                .iter()
                .position(|w| *w == word)
                .ok_or(CodeError::UnknownWord)?;
            *slot = u8::try_from(index).map_err(|_| CodeError::UnknownWord)?;
        }
        if parts.next().is_some() {
            return Err(CodeError::Malformed);
        }
        Ok(ShortCode { nameplate, words })
    }

    /// The number the relay knows the offer by (not secret).
    pub fn nameplate(&self) -> u32 {
        self.nameplate
    }

    /// The code as people say and type it.
    pub fn to_text(&self) -> Zeroizing<String> {
        let mut text = Zeroizing::new(self.nameplate.to_string());
        for w in self.words {
            text.push('-');
            text.push_str(WORDS[usize::from(w)]);
        }
        text
    }

    fn password(&self) -> Zeroizing<Vec<u8>> {
        let mut pw = Zeroizing::new(LABEL_PASSWORD.to_vec());
        pw.extend_from_slice(&self.nameplate.to_be_bytes());
        pw.extend_from_slice(&self.words);
        pw
    }
}

/// The keys both sides derive from SPAKE2's shared key.
struct ExchangeKeys {
    confirm_member: Zeroizing<[u8; 32]>,
    confirm_joiner: Zeroizing<[u8; 32]>,
    grant: Zeroizing<[u8; 32]>,
    /// `nameplate ‖ len ‖ hello ‖ len ‖ reply's SPAKE2 message`: what the
    /// confirmations and the grant are bound to.
    transcript: Vec<u8>,
}

impl ExchangeKeys {
    fn new(shared: &[u8], nameplate: u32, hello: &[u8], pake_b: &[u8]) -> ExchangeKeys {
        let hk = Hkdf::<Sha256>::new(Some(LABEL_KEY_SALT), shared);
        let expand = |info: &[u8]| {
            let mut k = Zeroizing::new([0u8; 32]);
            hk.expand(info, k.as_mut())
                .expect("32 bytes is a valid HKDF-SHA256 output length");
            k
        };
        let mut transcript = nameplate.to_be_bytes().to_vec();
        for part in [hello, pake_b] {
            transcript.extend_from_slice(&(part.len() as u32).to_be_bytes());
            transcript.extend_from_slice(part);
        }
        ExchangeKeys {
            confirm_member: expand(LABEL_CONFIRM_MEMBER),
            confirm_joiner: expand(LABEL_CONFIRM_JOINER),
            grant: expand(LABEL_GRANT),
            transcript,
        }
    }

    fn mac(&self, key: &[u8; 32]) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key");
        mac.update(&self.transcript);
        mac.finalize().into_bytes().into()
    }

    fn check(&self, key: &[u8; 32], tag: &[u8]) -> bool {
        self.mac(key).ct_eq(tag).into()
    }
}

/// The joiner's side, between its hello and the member's reply.
pub struct JoinerExchange {
    spake: Spake2<Ed25519Group>,
    nameplate: u32,
    hello: Vec<u8>,
}

/// The joiner's side after the member proved it knows the code.
pub struct JoinerConfirmed {
    keys: ExchangeKeys,
}

/// The member's side of one exchange, waiting for the joiner's confirmation.
pub struct MemberExchange {
    keys: ExchangeKeys,
}

/// The reply is SPAKE2's message (33 bytes) then the member's confirmation (32 bytes).
const CONFIRM_LEN: usize = 32;

/// What an honest joiner sends in place of its confirmation when the member's did not
/// match (a wrong code): a confirmation that cannot be valid, so the member counts the
/// failure at once rather than when the exchange times out.
pub fn wrong_code_confirmation() -> Vec<u8> {
    vec![0; CONFIRM_LEN]
}

impl JoinerExchange {
    /// Starts an exchange for `code`; send the returned hello to the code's member.
    pub fn start(code: &ShortCode) -> (JoinerExchange, Vec<u8>) {
        Self::start_with_rng(code, &mut rand_core::OsRng)
    }

    /// [`JoinerExchange::start`] with a given generator (test vectors).
    pub fn start_with_rng(
        code: &ShortCode,
        rng: &mut impl CryptoRngCore,
    ) -> (JoinerExchange, Vec<u8>) {
        let (spake, hello) = Spake2::<Ed25519Group>::start_a_with_rng(
            &Password::new(code.password().as_slice()),
            &Identity::new(LABEL_JOINER),
            &Identity::new(LABEL_MEMBER),
            rng,
        );
        let exchange = JoinerExchange {
            spake,
            nameplate: code.nameplate,
            hello: hello.clone(),
        };
        (exchange, hello)
    }

    /// Checks the member's reply. [`CodeError::Wrong`] when the codes differ; else the
    /// confirmation to send back.
    pub fn confirm(self, reply: &[u8]) -> Result<(JoinerConfirmed, Vec<u8>), CodeError> {
        let split = reply
            .len()
            .checked_sub(CONFIRM_LEN)
            .ok_or(CodeError::BadMessage)?;
        let (pake_b, tag) = reply.split_at(split);
        let shared = Zeroizing::new(
            self.spake
                .finish(pake_b)
                .map_err(|_| CodeError::BadMessage)?,
        );
        let keys = ExchangeKeys::new(&shared, self.nameplate, &self.hello, pake_b);
        if !keys.check(&keys.confirm_member, tag) {
            return Err(CodeError::Wrong);
        }
        let confirm = keys.mac(&keys.confirm_joiner).to_vec();
        Ok((JoinerConfirmed { keys }, confirm))
    }
}

impl JoinerConfirmed {
    /// Opens the member's grant: the room secret (a grant that also carries the room's
    /// pass is refused here: see [`JoinerConfirmed::open_with_pass`]).
    pub fn open(&self, grant: &[u8]) -> Result<RoomSecret, CodeError> {
        match self.open_with_pass(grant)? {
            (secret, None) => Ok(secret),
            (_, Some(_)) => Err(CodeError::BadMessage),
        }
    }

    /// Opens the member's grant: the room secret, and the room's pass in a room whose
    /// host renewed its invitation (PROTOCOL.md §11.4).
    pub fn open_with_pass(
        &self,
        grant: &[u8],
    ) -> Result<(RoomSecret, Option<RoomPass>), CodeError> {
        let plain = Zeroizing::new(
            ChaCha20Poly1305::new(self.keys.grant.as_ref().into())
                .decrypt(
                    &[0u8; 12].into(),
                    Payload {
                        msg: grant,
                        aad: &self.keys.transcript,
                    },
                )
                .map_err(|_| CodeError::BadMessage)?,
        );
        secret_and_pass(&plain).ok_or(CodeError::BadMessage)
    }
}

/// A member's live code: answers exchanges, counts failures, burns after
/// [`MAX_FAILED_ATTEMPTS`] or when revoked. One code admits several joiners while it
/// lives.
///
/// The failure count only ever grows: a wrong or garbled confirmation, a garbled
/// hello, and an exchange its client gives up on ([`CodeOffer::abandon`]) each add one;
/// a success adds nothing and takes nothing away. Exchanges under way are counted apart,
/// and no more may be under way than failures are left, so however exchanges end, a
/// guesser learns the answer to at most [`MAX_FAILED_ATTEMPTS`] wrong guesses.
pub struct CodeOffer {
    code: ShortCode,
    /// Exchanges that failed; never decreases.
    failed: u8,
    /// Exchanges answered and not finished yet.
    pending: u8,
    revoked: bool,
}

impl CodeOffer {
    /// Offers `code` (its nameplate from the relay, its words from this client).
    pub fn new(code: ShortCode) -> CodeOffer {
        CodeOffer {
            code,
            failed: 0,
            pending: 0,
            revoked: false,
        }
    }

    /// The code, to show to the member who made it.
    pub fn code(&self) -> &ShortCode {
        &self.code
    }

    /// Whether the code admits nobody any more.
    pub fn is_burned(&self) -> bool {
        self.revoked || self.failed >= MAX_FAILED_ATTEMPTS
    }

    /// Failed exchanges so far (never decreases).
    pub fn failed_attempts(&self) -> u8 {
        self.failed
    }

    /// Exchanges answered and not finished yet.
    pub fn pending(&self) -> u8 {
        self.pending
    }

    /// Gives up on an exchange that was answered and never finished (its joiner went
    /// silent, or its next message was garbled): it counts as failed.
    pub fn abandon(&mut self, exchange: MemberExchange) {
        drop(exchange);
        self.pending = self.pending.saturating_sub(1);
        self.failed = self.failed.saturating_add(1);
    }

    /// Stops the code for good.
    pub fn revoke(&mut self) {
        self.revoked = true;
    }

    /// Answers a joiner's hello. The exchange is under way until [`CodeOffer::grant`]
    /// or [`CodeOffer::abandon`] ends it; a garbled hello counts as failed at once.
    /// [`CodeError::Busy`] when as many exchanges are under way as failures are left.
    pub fn respond(&mut self, hello: &[u8]) -> Result<(MemberExchange, Vec<u8>), CodeError> {
        self.respond_with_rng(hello, &mut rand_core::OsRng)
    }

    /// [`CodeOffer::respond`] with a given generator (test vectors).
    pub fn respond_with_rng(
        &mut self,
        hello: &[u8],
        rng: &mut impl CryptoRngCore,
    ) -> Result<(MemberExchange, Vec<u8>), CodeError> {
        if self.is_burned() {
            return Err(CodeError::Burned);
        }
        if self.failed.saturating_add(self.pending) >= MAX_FAILED_ATTEMPTS {
            return Err(CodeError::Busy);
        }
        let (spake, pake_b) = Spake2::<Ed25519Group>::start_b_with_rng(
            &Password::new(self.code.password().as_slice()),
            &Identity::new(LABEL_JOINER),
            &Identity::new(LABEL_MEMBER),
            rng,
        );
        let shared = match spake.finish(hello) {
            Ok(shared) => Zeroizing::new(shared),
            Err(_) => {
                self.failed = self.failed.saturating_add(1);
                return Err(CodeError::BadMessage);
            }
        };
        self.pending += 1;
        let keys = ExchangeKeys::new(&shared, self.code.nameplate, hello, &pake_b);
        let mut reply = pake_b;
        reply.extend_from_slice(&keys.mac(&keys.confirm_member));
        Ok((MemberExchange { keys }, reply))
    }

    /// Checks the joiner's confirmation and, if it proves the joiner knows the code,
    /// seals the room secret to it. A wrong confirmation counts as a failure; either
    /// way the exchange is over.
    pub fn grant(
        &mut self,
        exchange: MemberExchange,
        confirm: &[u8],
        secret: &RoomSecret,
    ) -> Result<Vec<u8>, CodeError> {
        self.grant_with_pass(exchange, confirm, secret, None)
    }

    /// [`CodeOffer::grant`] in a room whose host renewed its invitation: the grant
    /// carries the room secret followed by the room's pass.
    pub fn grant_with_pass(
        &mut self,
        exchange: MemberExchange,
        confirm: &[u8],
        secret: &RoomSecret,
        pass: Option<&RoomPass>,
    ) -> Result<Vec<u8>, CodeError> {
        let keys = exchange.keys;
        self.pending = self.pending.saturating_sub(1);
        if !keys.check(&keys.confirm_joiner, confirm) {
            self.failed = self.failed.saturating_add(1);
            return Err(if self.is_burned() {
                CodeError::Burned
            } else {
                CodeError::Wrong
            });
        }
        if self.revoked {
            return Err(CodeError::Burned);
        }
        let mut msg = Zeroizing::new(Vec::with_capacity(64));
        msg.extend_from_slice(secret.as_bytes());
        if let Some(pass) = pass {
            msg.extend_from_slice(pass.as_bytes());
        }
        Ok(ChaCha20Poly1305::new(keys.grant.as_ref().into())
            .encrypt(
                &[0u8; 12].into(),
                Payload {
                    msg: &msg,
                    aad: &keys.transcript,
                },
            )
            .expect("ChaCha20-Poly1305 encryption cannot fail for 64 bytes"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::OsRng;

    fn exchange(
        offer: &mut CodeOffer,
        typed: &ShortCode,
        room: &RoomSecret,
    ) -> Result<RoomSecret, CodeError> {
        let (joiner, hello) = JoinerExchange::start(typed);
        let (member, reply) = offer.respond(&hello)?;
        let (joiner, confirm) = match joiner.confirm(&reply) {
            Ok(confirmed) => confirmed,
            Err(e) => {
                // The joiner stops there; the member's client gives up on the exchange.
                offer.abandon(member);
                return Err(e);
            }
        };
        let grant = offer.grant(member, &confirm, room)?;
        joiner.open(&grant)
    }

    #[test]
    fn codes_read_back_as_written() {
        let code = ShortCode::generate(7, &mut OsRng);
        let text = code.to_text();
        assert!(ShortCode::parse(&text).unwrap() == code);
        assert!(
            ShortCode::parse(&format!("  {} ", text.to_uppercase().replace('-', " "))).unwrap()
                == code
        );
        assert_eq!(
            ShortCode::parse("7-amber").err(),
            Some(CodeError::Malformed)
        );
        assert_eq!(
            ShortCode::parse("amber-7-river").err(),
            Some(CodeError::Malformed)
        );
        assert_eq!(
            ShortCode::parse("7-amber-zzz").err(),
            Some(CodeError::UnknownWord)
        );
        assert_eq!(
            ShortCode::parse("7-amber-acid-acid").err(),
            Some(CodeError::Malformed)
        );
        assert_eq!(
            ShortCode::parse("99999999999-acid-acid").err(),
            Some(CodeError::Malformed)
        );
    }

    #[test]
    fn the_right_code_admits_several_and_a_wrong_one_is_refused() {
        let room = RoomSecret::generate(&mut OsRng);
        let code = ShortCode::parse("12-amber-river").unwrap();
        let mut offer = CodeOffer::new(code.clone());
        assert!(exchange(&mut offer, &code, &room).unwrap() == room);
        assert!(exchange(&mut offer, &code, &room).unwrap() == room);
        assert_eq!(offer.failed_attempts(), 0);
        let typo = ShortCode::parse("12-amber-robin").unwrap();
        assert_eq!(
            exchange(&mut offer, &typo, &room).err(),
            Some(CodeError::Wrong)
        );
        assert_eq!(offer.failed_attempts(), 1);
        // Another nameplate with the same words is another code.
        let other = ShortCode::parse("13-amber-river").unwrap();
        assert_eq!(
            exchange(&mut offer, &other, &room).err(),
            Some(CodeError::Wrong)
        );
        assert!(exchange(&mut offer, &code, &room).unwrap() == room);
        assert_eq!(offer.failed_attempts(), 2, "a success lowers no count");
    }

    #[test]
    fn the_third_failure_burns_the_code_and_revoking_stops_it() {
        let room = RoomSecret::generate(&mut OsRng);
        let code = ShortCode::parse("3-acid-acorn").unwrap();
        let wrong = ShortCode::parse("3-acid-actor").unwrap();
        let mut offer = CodeOffer::new(code.clone());
        for _ in 0..MAX_FAILED_ATTEMPTS {
            assert_eq!(
                exchange(&mut offer, &wrong, &room).err(),
                Some(CodeError::Wrong)
            );
        }
        assert!(offer.is_burned());
        assert_eq!(
            exchange(&mut offer, &code, &room).err(),
            Some(CodeError::Burned)
        );

        let mut offer = CodeOffer::new(code.clone());
        // A hello that is never confirmed counts against the code once abandoned, and
        // exchanges under way never outnumber the failures left.
        let (_, hello) = JoinerExchange::start(&wrong);
        let (first, _) = offer.respond(&hello).unwrap();
        assert_eq!((offer.failed_attempts(), offer.pending()), (0, 1));
        let (second, _) = offer.respond(&hello).unwrap();
        let (third, _) = offer.respond(&hello).unwrap();
        assert_eq!(offer.respond(&hello).err(), Some(CodeError::Busy));
        offer.abandon(first);
        assert_eq!((offer.failed_attempts(), offer.pending()), (1, 2));
        // A success neither resets nor lowers the count.
        assert!(exchange(&mut CodeOffer::new(code.clone()), &code, &room).is_ok());
        drop((second, third));
        offer.revoke();
        assert_eq!(
            exchange(&mut offer, &code, &room).err(),
            Some(CodeError::Burned)
        );
    }

    #[test]
    fn garbled_messages_are_refused_without_panicking() {
        let room = RoomSecret::generate(&mut OsRng);
        let code = ShortCode::parse("5-apple-alarm").unwrap();
        let mut offer = CodeOffer::new(code.clone());
        for bad in [&[][..], &[0u8; 3], &[0xffu8; 33], &[0u8; 200]] {
            assert!(offer.respond(bad).is_err());
            let (joiner, _) = JoinerExchange::start(&code);
            assert!(joiner.confirm(bad).is_err());
        }
        let mut offer = CodeOffer::new(code.clone());
        let (joiner, hello) = JoinerExchange::start(&code);
        let (member, reply) = offer.respond(&hello).unwrap();
        let (joiner, confirm) = joiner.confirm(&reply).unwrap();
        let mut grant = offer.grant(member, &confirm, &room).unwrap();
        grant[0] ^= 1;
        assert_eq!(joiner.open(&grant).err(), Some(CodeError::BadMessage));
    }
}
