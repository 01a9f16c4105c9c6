//! What ties a group to its room and to its host: the group id and the room extension,
//! both derived from the room secret, which the relay never sees.
//!
//! `prk2 = HKDF-Extract(salt = "vroom/v2/room-secret", ikm = room_secret)`;
//! the group id is `HKDF-Expand(prk2, "vroom/v2/group-id", 16)`; the room extension
//! (GroupContext extension type [`ROOM_EXTENSION_TYPE`]) holds
//! `host_signature_key[32] ‖ tag[32] ‖ record`, where `record` is empty or
//! `flags[1] ‖ previous_host[32] if flags & 1 ‖ heir_proof[64] if flags & 2 ‖
//! member_cap[4, u32 big-endian] if flags & 4 ‖ renewal[4, u32 big-endian, not 0] if
//! flags & 8 ‖ count[1] ‖ count × moderator_key[32] if flags & 16` (moderators' signature
//! keys, 1..=16 of them in ascending order; no other flag bit may be set, nothing may
//! follow) and
//! `tag = HKDF-Expand(prk2, "vroom/v2/group-binding" ‖ group_id ‖ host_signature_key ‖
//! record, 32)`; an empty record is the original 64-byte extension (PROTOCOL.md §9.3).
//! Only a holder of the room secret can make the tag, and the GroupContext enters every
//! epoch's key schedule, so a member that joined holds exactly this room and this host.

use hkdf::Hkdf;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::GroupError;
use crate::crypto::RoomSecret;

/// The GroupContext extension that binds room and host (a private-use code point).
pub const ROOM_EXTENSION_TYPE: u16 = 0xF7A0;
/// Length of the group id.
pub const GROUP_ID_LEN: usize = 16;
const LABEL_SALT: &[u8] = b"vroom/v2/room-secret";
const LABEL_GROUP_ID: &[u8] = b"vroom/v2/group-id";
const LABEL_BINDING: &[u8] = b"vroom/v2/group-binding";

/// The room's group id and binding key, derived once from the room secret.
pub(crate) struct RoomBinding {
    prk: Hkdf<Sha256>,
    group_id: [u8; GROUP_ID_LEN],
}

impl RoomBinding {
    pub(crate) fn new(room: &RoomSecret) -> Self {
        let prk = Hkdf::<Sha256>::new(Some(LABEL_SALT), room.as_bytes());
        let mut group_id = [0u8; GROUP_ID_LEN];
        prk.expand(LABEL_GROUP_ID, &mut group_id)
            .expect("16 bytes is a valid HKDF-SHA256 output length");
        RoomBinding { prk, group_id }
    }

    pub(crate) fn group_id(&self) -> [u8; GROUP_ID_LEN] {
        self.group_id
    }

    fn tag(&self, host_key: &[u8; 32], record: &[u8]) -> [u8; 32] {
        let mut tag = [0u8; 32];
        self.prk
            .expand_multi_info(&[LABEL_BINDING, &self.group_id, host_key, record], &mut tag)
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        tag
    }

    /// The room extension's content for a group whose host signs with `host_key`.
    pub(crate) fn extension(&self, host_key: &[u8; 32]) -> Vec<u8> {
        self.record_extension(&RoomRecord::new(*host_key))
    }

    /// The room extension's content for this record.
    pub(crate) fn record_extension(&self, record: &RoomRecord) -> Vec<u8> {
        let trailer = record.trailer();
        let mut data = Vec::with_capacity(64 + trailer.len());
        data.extend_from_slice(&record.host);
        data.extend_from_slice(&self.tag(&record.host, &trailer));
        data.extend_from_slice(&trailer);
        data
    }

    /// Checks a group's id and room extension; returns the host's signature key.
    pub(crate) fn verify(&self, group_id: &[u8], extension: &[u8]) -> Result<[u8; 32], GroupError> {
        Ok(self.verify_record(group_id, extension)?.host)
    }

    /// Checks a group's id and room extension; returns the record it carries.
    pub(crate) fn verify_record(
        &self,
        group_id: &[u8],
        extension: &[u8],
    ) -> Result<RoomRecord, GroupError> {
        let id_ok = group_id.ct_eq(&self.group_id);
        if extension.len() < 64 {
            return Err(GroupError::WrongRoom);
        }
        let (host, rest) = extension.split_at(32);
        let (tag, trailer) = rest.split_at(32);
        let host: [u8; 32] = host.try_into().map_err(|_| GroupError::WrongRoom)?;
        let tag_ok = tag.ct_eq(&self.tag(&host, trailer));
        if !bool::from(id_ok & tag_ok) {
            return Err(GroupError::WrongRoom);
        }
        RoomRecord::parse(host, trailer).ok_or(GroupError::WrongRoom)
    }
}

const FLAG_PREVIOUS: u8 = 1;
const FLAG_PROOF: u8 = 2;
const FLAG_CAP: u8 = 4;
const FLAG_RENEWAL: u8 = 8;
const FLAG_MODERATORS: u8 = 16;
const KNOWN_FLAGS: u8 = FLAG_PREVIOUS | FLAG_PROOF | FLAG_CAP | FLAG_RENEWAL | FLAG_MODERATORS;

/// Most moderators a room record names (PROTOCOL.md §9.3).
pub const MAX_MODERATORS: usize = 16;

/// The signature keys of the members the host made moderators: at most
/// [`MAX_MODERATORS`], kept in ascending order without repeats, so a list has one
/// encoding.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Moderators {
    len: u8,
    keys: [[u8; 32]; MAX_MODERATORS],
}

impl core::fmt::Debug for Moderators {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Moderators({})", self.len)
    }
}

impl Default for Moderators {
    fn default() -> Self {
        Moderators {
            len: 0,
            keys: [[0; 32]; MAX_MODERATORS],
        }
    }
}

impl Moderators {
    /// The keys, in ascending order.
    pub(crate) fn keys(&self) -> &[[u8; 32]] {
        &self.keys[..usize::from(self.len)]
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub(crate) fn contains(&self, key: &[u8; 32]) -> bool {
        self.keys().binary_search(key).is_ok()
    }

    /// These keys, sorted and without repeats; `None` past [`MAX_MODERATORS`].
    pub(crate) fn from_keys(keys: impl IntoIterator<Item = [u8; 32]>) -> Option<Self> {
        let mut all: Vec<[u8; 32]> = keys.into_iter().collect();
        all.sort_unstable();
        all.dedup();
        if all.len() > MAX_MODERATORS {
            return None;
        }
        let mut list = Moderators::default();
        for (slot, key) in list.keys.iter_mut().zip(&all) {
            *slot = *key;
        }
        list.len = all.len() as u8;
        Some(list)
    }
}

/// What the room extension records about host powers (PROTOCOL.md §9.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RoomRecord {
    /// The host's signature key.
    pub(crate) host: [u8; 32],
    /// The host a succession replaced: while set, its signature over a member's key
    /// moves host powers back to that member (its return).
    pub(crate) previous: Option<[u8; 32]>,
    /// For a return: the old host key's signature over the new host key.
    pub(crate) proof: Option<[u8; 64]>,
    /// The most members the host lets in (PROTOCOL.md §7.6).
    pub(crate) cap: Option<u32>,
    /// How many times the host renewed the room's invitation (PROTOCOL.md §11.4): the
    /// commit that raises it by one makes the room's new pass, derived from the epoch
    /// it starts. 0, never renewed, is not written.
    pub(crate) renewal: u32,
    /// The members the host made moderators (PROTOCOL.md §7.6).
    pub(crate) moderators: Moderators,
}

impl RoomRecord {
    pub(crate) fn new(host: [u8; 32]) -> Self {
        RoomRecord {
            host,
            previous: None,
            proof: None,
            cap: None,
            renewal: 0,
            moderators: Moderators::default(),
        }
    }

    fn trailer(&self) -> Vec<u8> {
        let mut flags = 0;
        let mut rest = Vec::new();
        if let Some(previous) = &self.previous {
            flags |= FLAG_PREVIOUS;
            rest.extend_from_slice(previous);
        }
        if let Some(proof) = &self.proof {
            flags |= FLAG_PROOF;
            rest.extend_from_slice(proof);
        }
        if let Some(cap) = self.cap {
            flags |= FLAG_CAP;
            rest.extend_from_slice(&cap.to_be_bytes());
        }
        if self.renewal != 0 {
            flags |= FLAG_RENEWAL;
            rest.extend_from_slice(&self.renewal.to_be_bytes());
        }
        if !self.moderators.is_empty() {
            flags |= FLAG_MODERATORS;
            rest.push(self.moderators.len);
            for key in self.moderators.keys() {
                rest.extend_from_slice(key);
            }
        }
        if flags == 0 {
            return Vec::new();
        }
        let mut trailer = vec![flags];
        trailer.extend_from_slice(&rest);
        trailer
    }

    fn parse(host: [u8; 32], trailer: &[u8]) -> Option<Self> {
        let mut record = RoomRecord::new(host);
        let Some((&flags, mut rest)) = trailer.split_first() else {
            return Some(record);
        };
        if flags == 0 || flags & !KNOWN_FLAGS != 0 {
            return None;
        }
        if flags & FLAG_PREVIOUS != 0 {
            let (key, tail) = rest.split_first_chunk::<32>()?;
            record.previous = Some(*key);
            rest = tail;
        }
        if flags & FLAG_PROOF != 0 {
            let (proof, tail) = rest.split_first_chunk::<64>()?;
            record.proof = Some(*proof);
            rest = tail;
        }
        if flags & FLAG_CAP != 0 {
            let (cap, tail) = rest.split_first_chunk::<4>()?;
            record.cap = Some(u32::from_be_bytes(*cap));
            rest = tail;
        }
        if flags & FLAG_RENEWAL != 0 {
            let (renewal, tail) = rest.split_first_chunk::<4>()?;
            // Written only when not 0: one record, one encoding.
            record.renewal = u32::from_be_bytes(*renewal);
            if record.renewal == 0 {
                return None;
            }
            rest = tail;
        }
        if flags & FLAG_MODERATORS != 0 {
            let (&count, mut tail) = rest.split_first()?;
            let count = usize::from(count);
            if count == 0 || count > MAX_MODERATORS {
                return None;
            }
            let mut keys = Vec::with_capacity(count);
            for _ in 0..count {
                let (key, more) = tail.split_first_chunk::<32>()?;
                // Strictly ascending: one list, one encoding.
                if keys.last().is_some_and(|last: &[u8; 32]| last >= key) {
                    return None;
                }
                keys.push(*key);
                tail = more;
            }
            record.moderators = Moderators::from_keys(keys)?;
            rest = tail;
        }
        rest.is_empty().then_some(record)
    }
}

/// The group id of the room with this secret.
pub fn group_id(room: &RoomSecret) -> [u8; GROUP_ID_LEN] {
    RoomBinding::new(room).group_id()
}

/// The room extension's data for the room with this secret and this host key.
pub fn room_extension(room: &RoomSecret, host_key: &[u8; 32]) -> Vec<u8> {
    RoomBinding::new(room).extension(host_key)
}

/// Checks a group id and room extension against the room secret, as a joiner does;
/// returns the bound host key.
pub fn verify_room_extension(
    room: &RoomSecret,
    group_id: &[u8],
    extension: &[u8],
) -> Result<[u8; 32], GroupError> {
    RoomBinding::new(room).verify(group_id, extension)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> [u8; 32] {
        [n; 32]
    }

    #[test]
    fn a_moderator_list_has_one_encoding() {
        let record = RoomRecord {
            cap: Some(5),
            moderators: Moderators::from_keys([key(3), key(1), key(3)]).unwrap(),
            ..RoomRecord::new(key(9))
        };
        assert_eq!(record.moderators.keys(), [key(1), key(3)]);
        let trailer = record.trailer();
        assert_eq!(trailer[0], FLAG_CAP | FLAG_MODERATORS);
        assert_eq!(trailer[5], 2, "the count follows the cap");
        assert_eq!(RoomRecord::parse(key(9), &trailer), Some(record));
        // Out of order, repeated, empty, too many, or cut short: refused.
        let mut swapped = vec![FLAG_MODERATORS, 2];
        swapped.extend_from_slice(&key(3));
        swapped.extend_from_slice(&key(1));
        assert_eq!(RoomRecord::parse(key(9), &swapped), None);
        let mut repeated = vec![FLAG_MODERATORS, 2];
        repeated.extend_from_slice(&key(1));
        repeated.extend_from_slice(&key(1));
        assert_eq!(RoomRecord::parse(key(9), &repeated), None);
        assert_eq!(RoomRecord::parse(key(9), &[FLAG_MODERATORS, 0]), None);
        let mut many = vec![FLAG_MODERATORS, MAX_MODERATORS as u8 + 1];
        for n in 0..=MAX_MODERATORS as u8 {
            many.extend_from_slice(&key(n));
        }
        assert_eq!(RoomRecord::parse(key(9), &many), None);
        assert_eq!(RoomRecord::parse(key(9), &swapped[..40]), None);
        assert!(Moderators::from_keys((0..=MAX_MODERATORS as u8).map(key)).is_none());
        // An empty list is no field at all.
        assert!(RoomRecord::new(key(9)).trailer().is_empty());
    }
}
