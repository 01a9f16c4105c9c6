//! Short-code nameplates on Redis (PROTOCOL.md §11.2).
//!
//! - `vroom:code:{<nameplate>}` (string, the room's hex id) makes a number unique
//!   across every instance: taken with `SET NX PX` for the nameplate's TTL plus as long
//!   again (so a joiner late by less than a TTL hears "expired", not "unknown").
//! - The room's side (`code.lua`) lives in the room's `meta` hash, so it goes with the
//!   room in one `DEL` and under the room's TTL: the member and connection that asked,
//!   the expiry, the burned flag, the exchange count, and each exchange's nameplate and
//!   joiner instance.
//! - A joiner's messages reach the member on the room's channel (`code:<member>:
//!   <session>:<frame>`); a member's reach the joiner on its instance's own channel,
//!   `vroom:joiners:{<instance>}` (`<exchange>:<frame>`), which an instance follows from
//!   its first exchange on.

use redis::Value;
use vroom_shared::wire::{CodeRefusal, ErrorCode, MemberId, RoomId};

use super::scripts::{call, Code, Words};
use super::{unavailable, Inner, RedisStore};
use crate::store::codes::{self, CodeResult, Nameplate};
use crate::store::{SessionId, StoreResult};

/// What starts a short-code message on a room's channel.
pub(super) const CODE_TAG: &[u8] = b"code:";

/// Deletes a nameplate's key if it still names the room in ARGV[1].
static FREE_PLATE: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
    redis::Script::new(
        "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end \
         return 0",
    )
});

fn plate_key(nameplate: u32) -> String {
    format!("vroom:code:{{{nameplate}}}")
}

/// This instance's channel for the joiners it serves.
pub(super) fn joiner_channel(instance: u64) -> String {
    format!("vroom:joiners:{{{instance}}}")
}

/// A joiner's step answered by `code.lua`: `value` when it went ahead.
fn answered<T>(answer: Result<Words, ErrorCode>, value: T) -> CodeResult<T> {
    match answer {
        Ok(Words(words)) => Ok(match refusal(words.first().map(String::as_str)) {
            None => Ok(value),
            Some(reason) => Err(reason),
        }),
        // The room is gone, and its codes with it.
        Err(ErrorCode::UnknownRoom) => Ok(Err(CodeRefusal::Unknown)),
        Err(e) => Err(e),
    }
}

fn refusal(word: Option<&str>) -> Option<CodeRefusal> {
    match word {
        Some("go") => None,
        Some("toomany") => Some(CodeRefusal::TooMany),
        Some("expired") => Some(CodeRefusal::Expired),
        Some("burned") => Some(CodeRefusal::Burned),
        Some("offline") => Some(CodeRefusal::Offline),
        _ => Some(CodeRefusal::Unknown),
    }
}

impl<'a> Code<'a> {
    fn new(op: &'static [u8], nameplate: u32) -> Code<'a> {
        Code {
            op,
            member: None,
            session: None,
            nameplate,
            exchange: None,
            instance: None,
            ttl: None,
            tomb: None,
            per_room: None,
            max: None,
            burn: false,
            frame: &[],
        }
    }
}

/// A short-code message on a room's channel: the member, its connection, the frame.
pub(super) fn parse_code(rest: &[u8]) -> Option<(MemberId, SessionId, &[u8])> {
    let mut parts = rest.splitn(3, |&b| b == b':');
    let member = std::str::from_utf8(parts.next()?).ok()?.parse().ok()?;
    let session = std::str::from_utf8(parts.next()?).ok()?.parse().ok()?;
    Some((MemberId(member), SessionId(session), parts.next()?))
}

/// A message on a joiner channel: the exchange and the frame.
pub(super) fn parse_joiner(message: &[u8]) -> Option<(u64, &[u8])> {
    let colon = message.iter().position(|&b| b == b':')?;
    let exchange = std::str::from_utf8(&message[..colon]).ok()?.parse().ok()?;
    Some((exchange, &message[colon + 1..]))
}

impl Inner {
    async fn publish_cmd(&self, channel: String, message: Vec<u8>) -> StoreResult<()> {
        let command = if self.conn.sharded() {
            "SPUBLISH"
        } else {
            "PUBLISH"
        };
        let mut conn = self.conn.clone();
        redis::cmd(command)
            .arg(channel)
            .arg(message)
            .query_async::<Value>(&mut conn)
            .await
            .map_err(|e| unavailable(&e))?;
        Ok(())
    }
}

impl RedisStore {
    pub(super) async fn offer_code(
        &self,
        room: RoomId,
        member: MemberId,
        session: SessionId,
    ) -> CodeResult<Nameplate> {
        let inner = &self.inner;
        let caps = inner.code_caps;
        let mut conn = inner.conn.clone();
        let hex = room.to_hex();
        for number in codes::candidates() {
            let taken: Value = redis::cmd("SET")
                .arg(plate_key(number))
                .arg(&hex)
                .arg("NX")
                .arg("PX")
                .arg(u64::try_from((caps.ttl + caps.tombstone()).as_millis()).unwrap_or(u64::MAX))
                .query_async(&mut conn)
                .await
                .map_err(|e| unavailable(&e))?;
            if matches!(taken, Value::Nil) {
                continue;
            }
            let mut c = Code::new(b"offer", number);
            c.member = Some(member);
            c.session = Some(session);
            c.ttl = Some(caps.ttl);
            c.tomb = Some(caps.tombstone());
            c.per_room = Some(caps.per_room);
            let answer = call(inner, room, &c).await;
            let refused = match &answer {
                Ok(Words(words)) => refusal(words.first().map(String::as_str)),
                Err(_) => Some(CodeRefusal::Unknown),
            };
            if refused.is_some() {
                let _ = redis::cmd("DEL")
                    .arg(plate_key(number))
                    .query_async::<Value>(&mut conn)
                    .await;
            }
            answer?;
            return Ok(match refused {
                None => Ok(caps.handed(number)),
                Some(reason) => Err(reason),
            });
        }
        Err(ErrorCode::Unavailable)
    }

    pub(super) async fn end_code(
        &self,
        room: RoomId,
        member: MemberId,
        nameplate: u32,
        burn: bool,
    ) -> StoreResult<()> {
        let mut c = Code::new(b"end", nameplate);
        c.member = Some(member);
        c.burn = burn;
        let Words(words) = call(&self.inner, room, &c).await?;
        if words.first().map(String::as_str) == Some("freed") {
            // A number its member revoked is free again at once, if it is still this
            // room's: a member who offers and revokes in a loop takes no numbers (a
            // burned one stays taken, so its joiners hear "burned").
            let mut conn = self.inner.conn.clone();
            FREE_PLATE
                .key(plate_key(nameplate))
                .arg(room.to_hex())
                .invoke_async::<Value>(&mut conn)
                .await
                .map_err(|e| unavailable(&e))?;
        }
        Ok(())
    }

    pub(super) async fn open_code(
        &self,
        nameplate: u32,
        exchange: u64,
        hello: &[u8],
    ) -> CodeResult<RoomId> {
        let inner = &self.inner;
        inner
            .joiners
            .get_or_try_init(|| inner.conn.subscribe(joiner_channel(inner.instance)))
            .await
            .map_err(|e| unavailable(&e))?;
        let mut conn = inner.conn.clone();
        let hex: Option<String> = redis::cmd("GET")
            .arg(plate_key(nameplate))
            .query_async(&mut conn)
            .await
            .map_err(|e| unavailable(&e))?;
        let mut id = [0; 16];
        let Some(()) = hex.and_then(|h| hex::decode_to_slice(h, &mut id).ok()) else {
            return Ok(Err(CodeRefusal::Unknown));
        };
        let room = RoomId(id);
        let frame = codes::message(exchange, nameplate, hello);
        let mut c = Code::new(b"open", nameplate);
        c.exchange = Some(exchange);
        c.instance = Some(inner.instance);
        c.max = Some(inner.code_caps.exchanges);
        c.frame = &frame;
        answered(call(inner, room, &c).await, room)
    }

    pub(super) async fn code_message_to_member(
        &self,
        room: RoomId,
        nameplate: u32,
        exchange: u64,
        payload: &[u8],
    ) -> CodeResult<()> {
        let frame = codes::message(exchange, nameplate, payload);
        let mut c = Code::new(b"relay", nameplate);
        c.exchange = Some(exchange);
        c.frame = &frame;
        answered(call(&self.inner, room, &c).await, ())
    }

    pub(super) async fn code_message_to_joiner(
        &self,
        room: RoomId,
        member: MemberId,
        exchange: u64,
        payload: &[u8],
    ) -> StoreResult<()> {
        let mut c = Code::new(b"reply", 0);
        c.member = Some(member);
        c.exchange = Some(exchange);
        let Words(words) = call(&self.inner, room, &c).await?;
        let (Some(Ok(nameplate)), Some(Ok(instance))) = (
            words.first().map(|w| w.parse::<u32>()),
            words.get(1).map(|w| w.parse::<u64>()),
        ) else {
            return Ok(());
        };
        let frame = codes::message(exchange, nameplate, payload);
        let mut message = format!("{exchange}:").into_bytes();
        message.extend_from_slice(&frame);
        self.inner
            .publish_cmd(joiner_channel(instance), message)
            .await
    }
}
