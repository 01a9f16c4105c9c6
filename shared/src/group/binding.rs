//! What ties a group to its room and to its host: the group id and the room extension,
//! both derived from the room secret, which the relay never sees.
//!
//! `prk2 = HKDF-Extract(salt = "vroom/v2/room-secret", ikm = room_secret)`;
//! the group id is `HKDF-Expand(prk2, "vroom/v2/group-id", 16)`; the room extension
//! (GroupContext extension type [`ROOM_EXTENSION_TYPE`]) holds
//! `host_signature_key[32] ‖ tag[32]` with
//! `tag = HKDF-Expand(prk2, "vroom/v2/group-binding" ‖ group_id ‖ host_signature_key, 32)`.
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

    fn tag(&self, host_key: &[u8; 32]) -> [u8; 32] {
        let mut tag = [0u8; 32];
        self.prk
            .expand_multi_info(&[LABEL_BINDING, &self.group_id, host_key], &mut tag)
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        tag
    }

    /// The room extension's content for a group whose host signs with `host_key`.
    pub(crate) fn extension(&self, host_key: &[u8; 32]) -> Vec<u8> {
        let mut data = Vec::with_capacity(64);
        data.extend_from_slice(host_key);
        data.extend_from_slice(&self.tag(host_key));
        data
    }

    /// Checks a group's id and room extension; returns the host's signature key.
    pub(crate) fn verify(&self, group_id: &[u8], extension: &[u8]) -> Result<[u8; 32], GroupError> {
        let id_ok = group_id.ct_eq(&self.group_id);
        if extension.len() != 64 {
            return Err(GroupError::WrongRoom);
        }
        let (host, tag) = extension.split_at(32);
        let host: [u8; 32] = host.try_into().map_err(|_| GroupError::WrongRoom)?;
        let tag_ok = tag.ct_eq(&self.tag(&host));
        if bool::from(id_ok & tag_ok) {
            Ok(host)
        } else {
            Err(GroupError::WrongRoom)
        }
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
