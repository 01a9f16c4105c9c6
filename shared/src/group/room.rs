//! One member's view of a version-2 group: [`Group`] for a member, [`Joiner`] for a
//! client waiting for its Welcome.
//!
//! The relay's order is the order of the group: the caller hands every group message
//! to [`Group::handle`] in relay order, its own included (the relay echoes them). An
//! own commit takes effect only when its echo arrives, so every member applies the same
//! commits in the same order; the first commit for an epoch wins, and a member whose
//! own commit lost is told so (`dropped_own`) and may redo it in the new epoch.

use std::collections::{BTreeSet, HashSet, VecDeque};

use openmls::prelude::{
    tls_codec::{Deserialize as _, Serialize as _},
    Capabilities, ContentType, Extension, ExtensionType, Extensions, GroupContext, GroupId,
    KeyPackage, KeyPackageRef, LeafNodeIndex, LeafNodeParameters, MlsGroup, MlsGroupCreateConfig,
    MlsGroupJoinConfig, MlsMessageBodyIn, MlsMessageIn, MlsMessageOut, ProcessedMessageContent,
    Proposal, ProtocolMessage, ProtocolVersion, RequiredCapabilitiesExtension, Sender,
    SenderRatchetConfiguration, StagedWelcome, UnknownExtension,
    PURE_CIPHERTEXT_WIRE_FORMAT_POLICY,
};
use openmls_traits::{storage::StorageProvider as _, OpenMlsProvider as _};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::binding::{Moderators, RoomBinding, RoomRecord, MAX_MODERATORS, ROOM_EXTENSION_TYPE};
use super::chains::{self, Chains};
use super::identity::{verify_return, Identity, PublicIdentity, RejoinSigner};
use super::provider::Provider;
use super::safety::SafetyCode;
use super::{GroupError, CIPHERSUITE};
use crate::crypto::RoomSecret;

/// How many past epochs' keys are kept for application messages still in flight when a
/// commit lands. Older ones are refused (`WrongEpoch`).
pub const PAST_EPOCHS: usize = 1;
/// Per sender and epoch, how many message keys behind the newest one are kept for
/// messages that arrive late, and how far ahead a message may jump.
pub const OUT_OF_ORDER: u32 = 32;
/// See [`OUT_OF_ORDER`].
pub const MAX_FORWARD: u32 = 1024;
/// Own application messages remembered until the relay echoes them.
const OWN_PENDING: usize = 1024;
/// Digests of processed messages kept to refuse replays before any decryption.
const SEEN: usize = 4096;
const LABEL_MESSAGE_ID: &[u8] = b"vroom/v2/message-id";
/// The MLS exporter label of the room's pass after a renewal (PROTOCOL.md §11.4); the
/// exporter's context is the renewal's number, 4 bytes big-endian.
pub const ROOM_PASS_LABEL: &str = "vroom/v2/renewal-pass";

/// 16 bytes that name one message for every member alike. An application message's is
/// `SHA-256("vroom/v2/chain-id" ‖ header ‖ signature)` (PROTOCOL.md §9.8: the
/// signature binds the whole message to its sender, so nobody but the sender chooses
/// it); a direct message's is `SHA-256("vroom/v2/message-id" ‖ sealed)`; both the first
/// 16 bytes. It never depends on the relay's sequence numbers.
/// Encoded as its 16 bytes (postcard: no length prefix) where a content refers to one.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct MessageId(pub [u8; 16]);

impl MessageId {
    /// The id of the message with this canonical encoding.
    pub fn of(message: &[u8]) -> Self {
        MessageId::labelled(LABEL_MESSAGE_ID, &[message])
    }

    /// The first 16 bytes of `SHA-256(label ‖ parts…)`.
    pub(crate) fn labelled(label: &[u8], parts: &[&[u8]]) -> Self {
        let mut hash = Sha256::new().chain_update(label);
        for part in parts {
            hash.update(part);
        }
        let digest = hash.finalize();
        let mut id = [0u8; 16];
        id.copy_from_slice(&digest[..16]);
        MessageId(id)
    }
}

/// A decrypted application message: erased when dropped, and its `Debug` shows only
/// its length, so a logged event never carries a message.
pub struct Plaintext(Zeroizing<Vec<u8>>);

impl core::ops::Deref for Plaintext {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl core::fmt::Debug for Plaintext {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Plaintext({} bytes)", self.0.len())
    }
}

/// What a commit did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommitKind {
    /// Added one or more members.
    Add,
    /// Removed one or more members.
    Remove,
    /// Only refreshed the committer's keys.
    Update,
    /// Moved host powers to another leaf's key: the room extension changed
    /// (PROTOCOL.md §9.3).
    Host,
}

/// A member of the current epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Member {
    /// Its leaf index in the ratchet tree (stable while it stays).
    pub leaf: u32,
    /// Its credential's client id and signature key.
    pub identity: PublicIdentity,
}

/// What an incoming group message did.
#[derive(Debug)]
#[non_exhaustive]
pub enum Incoming {
    /// Another member's application message.
    Application {
        /// The sender, as of the epoch it sent in.
        sender: Member,
        /// The authenticated message id.
        id: MessageId,
        /// The plaintext, erased when dropped.
        plaintext: Plaintext,
    },
    /// The relay's echo of this member's own application message.
    OwnApplication {
        /// Its message id (as returned by [`Group::encrypt`]).
        id: MessageId,
    },
    /// A commit moved the group to a new epoch.
    Commit {
        /// Who committed.
        committer: Member,
        /// Whether the committer is the host (signs with the bound host key).
        by_host: bool,
        /// Whether the committer is a moderator (its key is on the record's moderator
        /// list, PROTOCOL.md §9.3), as of the epoch it committed in.
        by_moderator: bool,
        /// What the commit did.
        kind: CommitKind,
        /// Members it added, by leaf index.
        added: Vec<Member>,
        /// Members it removed, as they were before the commit, by leaf index.
        removed: Vec<Member>,
        /// The new epoch.
        epoch: u64,
        /// For this member's own commit: the Welcome to hand to the members it added
        /// (send it only now that the commit won).
        welcome: Option<Vec<u8>>,
        /// This member's own pending commit that lost to this one, if any; it was
        /// discarded and may be redone in the new epoch.
        dropped_own: Option<CommitKind>,
        /// The host renewed the room's invitation in this commit: its new number. The
        /// new pass is [`Group::room_pass`] of the epoch this commit starts, read now
        /// (PROTOCOL.md §11.4).
        renewed: Option<u32>,
    },
    /// A commit removed this member: the group is over for it.
    Removed {
        /// It was kicked: the host's or a moderator's commit that renewed the
        /// invitation removed it (PROTOCOL.md §11.4).
        kicked: bool,
    },
}

/// An own commit waiting for its echo.
struct PendingCommit {
    digest: [u8; 32],
    kind: CommitKind,
    welcome: Option<Vec<u8>>,
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

fn encode(message: &MlsMessageOut) -> Result<Vec<u8>, GroupError> {
    message
        .tls_serialize_detached()
        .map_err(|_| GroupError::Internal)
}

/// Every member's leaf declares the room extension, and the group requires it, so no
/// member can be added that would not check the binding (and the last-resort marker
/// of a joiner's key package, which MLS requires a leaf to declare too). Public so the
/// provider's tests build their groups with the very leaves vroom makes.
pub fn capabilities() -> Capabilities {
    Capabilities::new(
        None,
        Some(&[CIPHERSUITE]),
        Some(&[
            ExtensionType::Unknown(ROOM_EXTENSION_TYPE),
            ExtensionType::LastResort,
        ]),
        None,
        None,
    )
}

/// The GroupContext extensions of a room with this record: the requirement that every
/// leaf supports the room extension, and the room extension.
fn context_extensions(
    binding: &RoomBinding,
    record: &RoomRecord,
) -> Result<Extensions<GroupContext>, GroupError> {
    Extensions::from_vec(vec![
        Extension::RequiredCapabilities(RequiredCapabilitiesExtension::new(
            &[ExtensionType::Unknown(ROOM_EXTENSION_TYPE)],
            &[],
            &[],
        )),
        Extension::Unknown(
            ROOM_EXTENSION_TYPE,
            UnknownExtension(binding.record_extension(record)),
        ),
    ])
    .map_err(|_| GroupError::Internal)
}

fn join_config() -> MlsGroupJoinConfig {
    MlsGroupJoinConfig::builder()
        .wire_format_policy(PURE_CIPHERTEXT_WIRE_FORMAT_POLICY)
        // Application messages travel on chains (`chains`), so openmls keeps no past
        // epoch's message secrets.
        .max_past_epochs(0)
        .sender_ratchet_configuration(SenderRatchetConfiguration::new(OUT_OF_ORDER, MAX_FORWARD))
        .use_ratchet_tree_extension(true)
        .build()
}

/// A client that has made a key package and waits for a Welcome into the room.
pub struct Joiner {
    provider: Provider,
    identity: Option<Identity>,
    key_package: Vec<u8>,
    key_package_ref: KeyPackageRef,
}

impl Joiner {
    /// Makes a key package for `identity`. It is a "last resort" package, so a Welcome
    /// that is refused (another room, a forgery) does not use it up.
    pub fn new(identity: Identity) -> Result<Self, GroupError> {
        let provider = Provider::default();
        let bundle = KeyPackage::builder()
            .leaf_node_capabilities(capabilities())
            .mark_as_last_resort()
            .build(
                CIPHERSUITE,
                &provider,
                &identity,
                identity.credential_with_key(),
            )
            .map_err(|_| GroupError::Internal)?;
        let key_package_ref = bundle
            .key_package()
            .hash_ref(provider.crypto())
            .map_err(|_| GroupError::Internal)?;
        let key_package = MlsMessageOut::from(bundle.key_package().clone());
        let key_package = encode(&key_package)?;
        Ok(Joiner {
            provider,
            identity: Some(identity),
            key_package,
            key_package_ref,
        })
    }

    /// The key package to hand to a member (an MLS message of wire format key package).
    pub fn key_package(&self) -> &[u8] {
        &self.key_package
    }

    /// The identity the key package is for (`None` once joined).
    pub(crate) fn identity(&self) -> Option<&Identity> {
        self.identity.as_ref()
    }

    /// What signs rejoin proofs with this key package's identity, should the members
    /// have added it when its Welcome was lost (`None` once joined).
    pub fn rejoin_signer(&self) -> Option<super::identity::RejoinSigner> {
        self.identity.as_ref().map(Identity::rejoin_signer)
    }

    /// Joins from a Welcome. The group must be this room's (group id and room
    /// extension derived from `room`) or it is refused with `WrongRoom` and the joiner
    /// can still take another Welcome; after a success the joiner is spent.
    pub fn join(&mut self, room: &RoomSecret, welcome: &[u8]) -> Result<Group, GroupError> {
        if self.identity.is_none() {
            return Err(GroupError::Inactive);
        }
        let message = parse(welcome)?;
        let MlsMessageBodyIn::Welcome(welcome) = message.extract() else {
            return Err(GroupError::Malformed);
        };
        let staged = StagedWelcome::new_from_welcome(&self.provider, &join_config(), welcome, None)
            .map_err(|_| GroupError::Unauthentic)?;
        let binding = RoomBinding::new(room);
        let context = staged.group_context();
        let extension = context
            .extensions()
            .unknown(ROOM_EXTENSION_TYPE)
            .ok_or(GroupError::WrongRoom)?;
        let record = binding.verify_record(context.group_id().as_slice(), &extension.0)?;
        // Exactly the room's extensions, as every commit keeps them: nothing another
        // client added (an external sender, say) comes in with a Welcome.
        if *context.extensions() != context_extensions(&binding, &record)? {
            return Err(GroupError::WrongRoom);
        }
        let mls = staged
            .into_group(&self.provider)
            .map_err(|_| GroupError::Internal)?;
        let identity = self.identity.take().ok_or(GroupError::Inactive)?;
        // The package was a last-resort one: forget its private keys now that it served.
        let _ = self
            .provider
            .storage()
            .delete_key_package(&self.key_package_ref);
        Ok(Group::from_parts(
            std::mem::take(&mut self.provider),
            identity,
            mls,
            binding,
            record,
        ))
    }
}

/// Whether `bytes` is an application message (its content type is in the clear): what
/// a member that was not in the group when it was sent has missed, as opposed to a
/// commit.
pub fn is_application(bytes: &[u8]) -> bool {
    chains::is_chain_message(bytes)
}

/// This member's own commit that renews the room's invitation, while it waits for the
/// relay's order: what a member that reloads meanwhile keeps (PROTOCOL.md §7.10,
/// §11.4). Whether it won is not known then, and cannot be told safely afterwards, so
/// the host renews again once it is back; the members it kicked are owed their
/// disconnection.
pub struct PendingRenewal {
    /// The signature keys of the leaves it removes.
    pub removed: Vec<[u8; 32]>,
}

fn parse(bytes: &[u8]) -> Result<MlsMessageIn, GroupError> {
    let message = MlsMessageIn::tls_deserialize_exact(bytes).map_err(|_| GroupError::Malformed)?;
    // Only the canonical encoding is taken, so one message has one id and one digest.
    let canonical = message
        .tls_serialize_detached()
        .map_err(|_| GroupError::Malformed)?;
    if canonical != bytes {
        return Err(GroupError::Malformed);
    }
    Ok(message)
}

/// This member's state in the room's MLS group.
pub struct Group {
    /// openmls's crypto and the in-memory store of this member's key material
    /// (dropped with the group).
    provider: Provider,
    /// This member's signing key.
    identity: Identity,
    mls: MlsGroup,
    group_id: [u8; 16],
    /// The room secret's binding, to check a new room extension (a change of host).
    binding: RoomBinding,
    /// The room extension of the current epoch: the host's signature key, and the host
    /// a succession replaced (PROTOCOL.md §9.3).
    record: RoomRecord,
    /// Leaves the session reports departed (their member's place at the relay ended,
    /// or it proved it is coming back under a new leaf): the only ones a member who is
    /// not the host may remove.
    departed: BTreeSet<u32>,
    /// This member's commit waiting for the relay's order, if any.
    pending: Option<PendingCommit>,
    /// Ids of own application messages not yet echoed, oldest first.
    own_sent: VecDeque<MessageId>,
    /// Digests of processed MLS messages, to refuse a replay outright.
    seen: Seen<[u8; 32]>,
    /// Ids of processed application messages (own echoes included), the same way.
    seen_ids: Seen<MessageId>,
    /// The application messages' chains of this epoch and the one before.
    chains: Chains,
}

/// The latest [`SEEN`] things processed, to refuse a replay outright (before any
/// other check, so a replay is reported as one).
struct Seen<T> {
    set: HashSet<T>,
    order: VecDeque<T>,
}

impl<T> Default for Seen<T> {
    fn default() -> Self {
        Seen {
            set: HashSet::new(),
            order: VecDeque::new(),
        }
    }
}

impl<T: Copy + Eq + core::hash::Hash> Seen<T> {
    fn contains(&self, item: &T) -> bool {
        self.set.contains(item)
    }

    fn insert(&mut self, item: T) {
        if self.set.insert(item) {
            self.order.push_back(item);
            if self.order.len() > SEEN {
                if let Some(old) = self.order.pop_front() {
                    self.set.remove(&old);
                }
            }
        }
    }
}

/// Shows only what any member may see: epoch and own leaf.
impl core::fmt::Debug for Group {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Group")
            .field("epoch", &self.epoch())
            .field("own_leaf", &self.own_leaf())
            .finish_non_exhaustive()
    }
}

impl Group {
    fn from_parts(
        provider: Provider,
        identity: Identity,
        mls: MlsGroup,
        binding: RoomBinding,
        record: RoomRecord,
    ) -> Self {
        Group {
            provider,
            identity,
            mls,
            group_id: binding.group_id(),
            binding,
            record,
            departed: BTreeSet::new(),
            pending: None,
            own_sent: VecDeque::new(),
            seen: Seen::default(),
            seen_ids: Seen::default(),
            chains: Chains::default(),
        }
    }

    /// Whether an application message was sent or read in the current epoch.
    pub fn epoch_used(&self) -> bool {
        self.chains.used(self.epoch())
    }

    /// The MLS exporter (RFC 9420 §8.5) of the current epoch: a secret of `len` bytes
    /// every member of this exact epoch derives alike, for `label` and `context`.
    pub fn export_secret(
        &self,
        label: &str,
        context: &[u8],
        len: usize,
    ) -> Result<Zeroizing<Vec<u8>>, GroupError> {
        self.mls
            .export_secret(self.provider.crypto(), label, context, len)
            .map(Zeroizing::new)
            .map_err(|_| GroupError::Internal)
    }

    /// The current epoch's chain secret (PROTOCOL.md §9.14): openmls's forward-secure
    /// export for [`chains::COMPONENT_ID`]. openmls deletes that leaf of the epoch's
    /// export tree as it hands it out, so it is had once per epoch: the chains started
    /// from it are all that is left of it.
    fn chain_secret(&mut self) -> Result<Zeroizing<[u8; 32]>, GroupError> {
        let exported = Zeroizing::new(
            self.mls
                .safe_export_secret(
                    self.provider.crypto(),
                    self.provider.storage(),
                    chains::COMPONENT_ID,
                )
                .map_err(|_| GroupError::Internal)?,
        );
        if exported.len() != 32 {
            return Err(GroupError::Internal);
        }
        let mut secret = Zeroizing::new([0u8; 32]);
        secret.copy_from_slice(&exported);
        Ok(secret)
    }

    /// What a thief holding this member's whole group state could ask openmls for: the
    /// current epoch's chain secret, again. Once this member has sealed or opened
    /// anything in the epoch it is gone (an error). For tests of forward secrecy only:
    /// called before, it uses the secret up and the epoch's chains cannot start.
    #[doc(hidden)]
    pub fn chain_secret_again(&mut self) -> Result<Zeroizing<[u8; 32]>, GroupError> {
        self.chain_secret()
    }

    /// Starts the current epoch's chains, if not done yet: from its chain secret and
    /// its roster. Called before anything that could move to a new epoch, so that the
    /// epoch being left keeps its chains for messages still in flight.
    fn enter_epoch(&mut self) -> Result<(), GroupError> {
        let epoch = self.epoch();
        if self.chains.has(epoch) {
            return Ok(());
        }
        let secret = self.chain_secret()?;
        let roster = self
            .members()
            .into_iter()
            .map(|m| (m.leaf, m.identity))
            .collect();
        let authenticator = self.mls.epoch_authenticator().as_slice().to_vec();
        self.chains.enter(epoch, &authenticator, secret, roster)
    }

    /// Creates the room's group with `identity` as its only member and host.
    pub fn create(identity: Identity, room: &RoomSecret) -> Result<Self, GroupError> {
        let provider = Provider::default();
        let binding = RoomBinding::new(room);
        let record = RoomRecord::new(identity.public().signature_key);
        let extensions = context_extensions(&binding, &record)?;
        let config = MlsGroupCreateConfig::builder()
            .ciphersuite(CIPHERSUITE)
            .wire_format_policy(PURE_CIPHERTEXT_WIRE_FORMAT_POLICY)
            .max_past_epochs(0)
            .sender_ratchet_configuration(SenderRatchetConfiguration::new(
                OUT_OF_ORDER,
                MAX_FORWARD,
            ))
            .use_ratchet_tree_extension(true)
            .capabilities(capabilities())
            .with_group_context_extensions(extensions)
            .build();
        let mls = MlsGroup::new_with_group_id(
            &provider,
            &identity,
            &config,
            GroupId::from_slice(&binding.group_id()),
            identity.credential_with_key(),
        )
        .map_err(|_| GroupError::Internal)?;
        Ok(Group::from_parts(provider, identity, mls, binding, record))
    }

    /// The current epoch.
    pub fn epoch(&self) -> u64 {
        self.mls.epoch().as_u64()
    }

    /// This member's leaf index.
    pub fn own_leaf(&self) -> u32 {
        self.mls.own_leaf_index().u32()
    }

    /// The host's signature key, as the current epoch's room extension binds it.
    pub fn host_key(&self) -> [u8; 32] {
        self.record.host
    }

    /// The host a succession replaced, while its return is still possible (PROTOCOL.md
    /// §9.3).
    pub fn previous_host(&self) -> Option<[u8; 32]> {
        self.record.previous
    }

    /// Sets the leaves a member who is not the host may remove now: those whose member
    /// departed (PROTOCOL.md §9.3). Call before each [`Group::handle`] and commit.
    pub fn set_departed(&mut self, leaves: impl IntoIterator<Item = u32>) {
        self.departed = leaves.into_iter().collect();
    }

    /// Signs a direct message's statement (PROTOCOL.md §10.4) with this member's group
    /// signature key, under its own label so the signature can never pass for an MLS
    /// one. Check it with [`super::identity::verify_direct`].
    pub fn sign_direct(&self, statement: &[u8]) -> [u8; 64] {
        self.identity
            .sign_labelled(super::identity::LABEL_DIRECT_SIGNATURE, statement)
    }

    /// This member's identity (its signing key and client id).
    pub(crate) fn identity(&self) -> &Identity {
        &self.identity
    }

    /// What signs this member's rejoin proofs (PROTOCOL.md §7.3) once this group state
    /// is left behind. Check them with [`super::identity::verify_rejoin`].
    pub fn rejoin_signer(&self) -> super::identity::RejoinSigner {
        self.identity.rejoin_signer()
    }

    /// Whether this member is the host.
    pub fn is_host(&self) -> bool {
        self.identity.public().signature_key == self.record.host
    }

    /// The members of the current epoch, by leaf index.
    pub fn members(&self) -> Vec<Member> {
        self.mls
            .members()
            .filter_map(|m| {
                let identity = PublicIdentity::from_parts(&m.credential, &m.signature_key).ok()?;
                Some(Member {
                    leaf: m.index.u32(),
                    identity,
                })
            })
            .collect::<Vec<_>>()
    }

    fn member_at(&self, leaf: LeafNodeIndex) -> Result<Member, GroupError> {
        let m = self.mls.member_at(leaf).ok_or(GroupError::Unauthentic)?;
        Ok(Member {
            leaf: leaf.u32(),
            identity: PublicIdentity::from_parts(&m.credential, &m.signature_key)?,
        })
    }

    /// The room-wide safety code of the current epoch.
    pub fn safety_code(&self) -> SafetyCode {
        SafetyCode::derive(
            &self.group_id,
            self.epoch(),
            self.mls.epoch_authenticator().as_slice(),
        )
    }

    /// Whether this member's commit is waiting for the relay's order.
    pub fn has_pending_commit(&self) -> bool {
        self.pending.is_some()
    }

    /// Forgets this member's pending commit (for instance when the relay refused it).
    pub fn discard_pending_commit(&mut self) {
        if self.pending.take().is_some() {
            let _ = self.mls.clear_pending_commit(self.provider.storage());
        }
    }

    fn check_can_commit(&self) -> Result<(), GroupError> {
        if !self.mls.is_active() {
            return Err(GroupError::Inactive);
        }
        if self.pending.is_some() {
            return Err(GroupError::Busy);
        }
        Ok(())
    }

    fn stage_own(
        &mut self,
        commit: &MlsMessageOut,
        kind: CommitKind,
        welcome: Option<Vec<u8>>,
    ) -> Result<Vec<u8>, GroupError> {
        let bytes = encode(commit)?;
        self.pending = Some(PendingCommit {
            digest: digest(&bytes),
            kind,
            welcome,
        });
        Ok(bytes)
    }

    /// Commits a newcomer's key package. Returns the commit to broadcast; the Welcome
    /// comes with the commit's echo (`Incoming::Commit::welcome`).
    pub fn add(&mut self, key_package: &[u8]) -> Result<Vec<u8>, GroupError> {
        self.check_can_commit()?;
        let (key_package, _) = self.validate_key_package(key_package)?;
        let (commit, welcome, _) = self
            .mls
            .add_members(&self.provider, &self.identity, &[key_package])
            .map_err(|_| GroupError::Unauthentic)?;
        let welcome = encode(&welcome)?;
        self.stage_own(&commit, CommitKind::Add, Some(welcome))
    }

    /// The identity a newcomer's key package carries, once its encoding, signature and
    /// ciphersuite check out (what [`Group::add`] would accept).
    pub fn key_package_identity(&self, key_package: &[u8]) -> Result<PublicIdentity, GroupError> {
        Ok(self.validate_key_package(key_package)?.1)
    }

    fn validate_key_package(
        &self,
        bytes: &[u8],
    ) -> Result<(KeyPackage, PublicIdentity), GroupError> {
        let MlsMessageBodyIn::KeyPackage(key_package) = parse(bytes)?.extract() else {
            return Err(GroupError::Malformed);
        };
        let key_package = key_package
            .validate(self.provider.crypto(), ProtocolVersion::Mls10)
            .map_err(|_| GroupError::Unauthentic)?;
        if key_package.ciphersuite() != CIPHERSUITE {
            return Err(GroupError::Unauthentic);
        }
        let identity = PublicIdentity::from_parts(
            key_package.leaf_node().credential(),
            key_package.leaf_node().signature_key().as_slice(),
        )?;
        Ok((key_package, identity))
    }

    /// Commits the removal of members (a departure, or the host's or a moderator's
    /// kick). A moderator may remove present leaves but the host's and other
    /// moderators'; any other member who is not the host may remove only departed
    /// leaves ([`Group::set_departed`]); when one of them is the host's, the same
    /// commit names the successor (PROTOCOL.md §9.3).
    pub fn remove(&mut self, leaves: &[u32]) -> Result<Vec<u8>, GroupError> {
        self.remove_renewing(leaves, false)
    }

    /// Host or moderator: removes a member it kicks and, in the same commit, renews the
    /// room's invitation (PROTOCOL.md §11.4): every member that stays derives the new pass from
    /// the epoch the commit starts, which the removed member never enters.
    pub fn kick(&mut self, leaf: u32) -> Result<Vec<u8>, GroupError> {
        self.remove_renewing(&[leaf], true)
    }

    fn remove_renewing(&mut self, leaves: &[u32], renew: bool) -> Result<Vec<u8>, GroupError> {
        self.check_can_commit()?;
        let own = self.own_leaf();
        let mut targets = Vec::with_capacity(leaves.len());
        let mut removed = Vec::with_capacity(leaves.len());
        for &leaf in leaves {
            let index = LeafNodeIndex::new(leaf);
            if leaf == own || targets.contains(&index) {
                return Err(GroupError::Unauthentic);
            }
            removed.push(self.member_at(index)?);
            targets.push(index);
        }
        let record = match self.succession(&removed) {
            None if renew => Some(self.renewed_record()?),
            record => record,
        };
        let committer = self.member_at(self.mls.own_leaf_index())?;
        self.check_commit(&committer, &removed, record.as_ref())?;
        let Some(record) = record else {
            let (commit, _, _) = self
                .mls
                .remove_members(&self.provider, &self.identity, &targets)
                .map_err(|_| GroupError::Unauthentic)?;
            return self.stage_own(&commit, CommitKind::Remove, None);
        };
        let extensions = context_extensions(&self.binding, &record)?;
        let bundle = self
            .mls
            .commit_builder()
            .propose_removals(targets)
            .propose_group_context_extensions(extensions)
            .map_err(|_| GroupError::Internal)?
            .load_psks(self.provider.storage())
            .map_err(|_| GroupError::Internal)?
            .build(
                self.provider.rand(),
                self.provider.crypto(),
                &self.identity,
                |_| true,
            )
            .map_err(|_| GroupError::Unauthentic)?
            .stage_commit(&self.provider)
            .map_err(|_| GroupError::Internal)?;
        self.stage_own(bundle.commit(), CommitKind::Host, None)
    }

    /// The record a removal of `removed` must carry: when it removes the host's leaf,
    /// the lowest remaining leaf succeeds and the old host is kept as `previous`.
    fn succession(&self, removed: &[Member]) -> Option<RoomRecord> {
        if !removed
            .iter()
            .any(|m| m.identity.signature_key == self.record.host)
        {
            return None;
        }
        let heir = self
            .members()
            .into_iter()
            .filter(|m| !removed.iter().any(|r| r.leaf == m.leaf))
            .min_by_key(|m| m.leaf)?;
        Some(RoomRecord {
            host: heir.identity.signature_key,
            previous: Some(self.record.host),
            proof: None,
            cap: self.record.cap,
            renewal: self.record.renewal,
            moderators: self.record.moderators,
        })
    }

    /// The record of the host's next renewal of the invitation.
    fn renewed_record(&self) -> Result<RoomRecord, GroupError> {
        Ok(RoomRecord {
            renewal: self
                .record
                .renewal
                .checked_add(1)
                .ok_or(GroupError::Unauthentic)?,
            proof: None,
            ..self.record
        })
    }

    /// Host: renews the room's invitation in a commit of its own (after a removal of a
    /// member it kicked that someone else committed first).
    pub fn renew_invitation(&mut self) -> Result<Vec<u8>, GroupError> {
        let record = self.renewed_record()?;
        self.commit_record(record)
    }

    /// This member's pending commit, when it renews the invitation.
    pub fn pending_renewal(&self) -> Option<PendingRenewal> {
        self.pending.as_ref()?;
        let staged = self.mls.pending_commit()?;
        let extensions = staged.group_context().extensions();
        if extensions == self.mls.extensions() {
            return None;
        }
        let record = self.new_record(extensions).ok()?;
        renewed(&self.record, Some(&record))?;
        let removed = staged
            .remove_proposals()
            .filter_map(|p| self.member_at(p.remove_proposal().removed()).ok())
            .map(|m| m.identity.signature_key)
            .collect();
        Some(PendingRenewal { removed })
    }

    /// How many times the host renewed the room's invitation, as the current epoch's
    /// record says.
    pub fn renewal(&self) -> u32 {
        self.record.renewal
    }

    /// The room's pass made by a renewal: read in the epoch the renewal's commit
    /// started (`Incoming::Commit::renewed`), it is the same for every member of that
    /// epoch and unknown to anyone else (PROTOCOL.md §11.4).
    pub fn room_pass(&self) -> Result<Zeroizing<Vec<u8>>, GroupError> {
        self.export_secret(ROOM_PASS_LABEL, &self.record.renewal.to_be_bytes(), 32)
    }

    /// Host: commits a new room extension that makes the member signing with
    /// `host_key` the host (a hand-over, PROTOCOL.md §9.3).
    pub fn set_host(&mut self, host_key: [u8; 32]) -> Result<Vec<u8>, GroupError> {
        // The new host needs no moderator powers; the others keep theirs.
        let moderators = self.moderators_without(&host_key);
        self.commit_record(RoomRecord {
            cap: self.record.cap,
            renewal: self.record.renewal,
            moderators,
            ..RoomRecord::new(host_key)
        })
    }

    /// The record's moderators, but `key`.
    fn moderators_without(&self, key: &[u8; 32]) -> Moderators {
        let keys = self.record.moderators.keys().iter().filter(|k| *k != key);
        Moderators::from_keys(keys.copied()).unwrap_or(self.record.moderators)
    }

    /// Host: commits the moderator list with the member signing with `key` on it (`on`)
    /// or off it (PROTOCOL.md §7.6). The list also drops the keys of members no longer
    /// in the group. `Busy` while a commit waits; `Unauthentic` for a key that is no
    /// member's (or the host's own), or past [`MAX_MODERATORS`].
    pub fn set_moderator(&mut self, key: [u8; 32], on: bool) -> Result<Vec<u8>, GroupError> {
        let members = self.members();
        let present = |k: &[u8; 32]| members.iter().any(|m| m.identity.signature_key == *k);
        if on && (!present(&key) || key == self.record.host) {
            return Err(GroupError::Unauthentic);
        }
        let kept = self
            .record
            .moderators
            .keys()
            .iter()
            .filter(|k| present(k) && **k != key && **k != self.record.host)
            .copied();
        let keys: Vec<[u8; 32]> = kept.chain(on.then_some(key)).collect();
        if keys.len() > MAX_MODERATORS {
            return Err(GroupError::Unauthentic);
        }
        let moderators = Moderators::from_keys(keys).ok_or(GroupError::Unauthentic)?;
        self.commit_record(RoomRecord {
            moderators,
            proof: None,
            ..self.record
        })
    }

    /// Whether the member signing with `key` is a moderator, as the current epoch's
    /// record says (the host never counts as one).
    pub fn is_moderator_key(&self, key: &[u8; 32]) -> bool {
        *key != self.record.host && self.record.moderators.contains(key)
    }

    /// Whether this member is a moderator.
    pub fn is_moderator(&self) -> bool {
        self.is_moderator_key(&self.identity.public().signature_key)
    }

    /// The signature keys of the moderators the record names (the host's excluded).
    pub fn moderator_keys(&self) -> Vec<[u8; 32]> {
        let host = self.record.host;
        let keys = self.record.moderators.keys().iter();
        keys.filter(|k| **k != host).copied().collect()
    }

    /// Host: commits the most members the room lets in (`None`: the relay's limit).
    pub fn set_member_cap(&mut self, cap: Option<u32>) -> Result<Vec<u8>, GroupError> {
        self.commit_record(RoomRecord {
            cap,
            proof: None,
            ..self.record
        })
    }

    /// The most members the host lets in, as the current epoch's record says.
    pub fn member_cap(&self) -> Option<u32> {
        self.record.cap
    }

    /// Host: commits the end of the window in which the host a succession replaced may
    /// return (the record forgets `previous`).
    pub fn close_return(&mut self) -> Result<Vec<u8>, GroupError> {
        let record = RoomRecord {
            previous: None,
            proof: None,
            ..self.record
        };
        self.commit_record(record)
    }

    /// A host that rejoined: commits host powers back to this member's leaf, proven by
    /// `old`, the key of the current host or of the host a succession replaced.
    pub fn return_host(&mut self, old: &RejoinSigner) -> Result<Vec<u8>, GroupError> {
        let own = self.identity.public().signature_key;
        let record = RoomRecord {
            host: own,
            previous: None,
            proof: Some(old.sign_return(&self.group_id, &own)),
            cap: self.record.cap,
            renewal: self.record.renewal,
            moderators: self.record.moderators,
        };
        self.commit_record(record)
    }

    /// Commits a room extension with this record alone, if the rules let this member.
    fn commit_record(&mut self, record: RoomRecord) -> Result<Vec<u8>, GroupError> {
        self.check_can_commit()?;
        let own = self.member_at(self.mls.own_leaf_index())?;
        if record == self.record {
            return Err(GroupError::Unauthentic);
        }
        self.check_commit(&own, &[], Some(&record))?;
        let extensions = context_extensions(&self.binding, &record)?;
        let (commit, _, _) = self
            .mls
            .update_group_context_extensions(&self.provider, extensions, &self.identity)
            .map_err(|_| GroupError::Internal)?;
        self.stage_own(&commit, CommitKind::Host, None)
    }

    /// Whether the host's leaf is still in the group.
    pub fn host_present(&self) -> bool {
        self.members()
            .iter()
            .any(|m| m.identity.signature_key == self.record.host)
    }

    /// The rules every member applies to a commit (PROTOCOL.md §9.3), given who
    /// committed, the leaves it removes and the room record it sets, if it changes it:
    ///
    /// - a member who is not the host removes departed leaves only, but a moderator
    ///   also removes present leaves other than the host's, its own and other
    ///   moderators' (a kick);
    /// - a commit that removes the host's leaf names its successor, the lowest
    ///   remaining leaf, and keeps the old host as `previous`;
    /// - otherwise only the host changes the record: it hands over to a remaining
    ///   member, forgets `previous`, sets the member cap or the moderators;
    /// - except a return: a member whose key the current host or `previous` signed
    ///   becomes the host, whoever commits it.
    fn check_commit(
        &self,
        committer: &Member,
        removed: &[Member],
        record: Option<&RoomRecord>,
    ) -> Result<(), GroupError> {
        let old = &self.record;
        let by_host = committer.identity.signature_key == old.host;
        let by_moderator = !by_host && old.moderators.contains(&committer.identity.signature_key);
        // A moderator's kick: a present leaf, but not the host's nor a moderator's.
        let kickable = |m: &Member| {
            by_moderator
                && m.identity.signature_key != old.host
                && !old.moderators.contains(&m.identity.signature_key)
        };
        if !by_host
            && removed
                .iter()
                .any(|m| !self.departed.contains(&m.leaf) && !kickable(m))
        {
            return Err(GroupError::Unauthentic);
        }
        // The invitation's number moves by one, by the host, who stays the host, or by
        // a moderator in its kick, which removes only leaves it may kick: a departed
        // moderator's or host's leaf is removed by a commit that does not renew, or it
        // would read as a kick of one moderator by another.
        let moderator_kick = by_moderator && !removed.is_empty() && removed.iter().all(kickable);
        if let Some(new) = record {
            let renews = new.renewal != old.renewal;
            if renews
                && !((by_host || moderator_kick)
                    && new.host == old.host
                    && Some(new.renewal) == old.renewal.checked_add(1))
            {
                return Err(GroupError::Unauthentic);
            }
        }
        let succession = self.succession(removed);
        let Some(new) = record else {
            return match succession {
                None => Ok(()),
                Some(_) => Err(GroupError::Unauthentic),
            };
        };
        if let Some(succession) = succession {
            return if *new == succession {
                Ok(())
            } else {
                Err(GroupError::Unauthentic)
            };
        }
        let remains = self.members().iter().any(|m| {
            m.identity.signature_key == new.host && !removed.iter().any(|r| r.leaf == m.leaf)
        });
        let allowed = if new.host == old.host && !by_host {
            // A moderator's kick renews the invitation and changes nothing else.
            let unchanged = RoomRecord {
                renewal: old.renewal,
                proof: old.proof,
                ..*new
            } == *old;
            moderator_kick
                && new.renewal != old.renewal
                && unchanged
                && (new.proof.is_none() || new.proof == old.proof)
        } else if new.host == old.host {
            // The host forgets `previous`, or changes nothing else.
            new.proof.is_none() && (new.previous.is_none() || new.previous == old.previous)
        } else if by_host {
            remains && new.previous.is_none() && new.proof.is_none()
        } else {
            let proven = new.proof.is_some_and(|proof| {
                [Some(old.host), old.previous]
                    .into_iter()
                    .flatten()
                    .any(|signer| verify_return(&signer, &self.group_id, &new.host, &proof))
            });
            remains
                && proven
                && new.previous.is_none()
                && new.cap == old.cap
                && new.moderators == old.moderators
        };
        if allowed {
            Ok(())
        } else {
            Err(GroupError::Unauthentic)
        }
    }

    /// The record of a commit's new GroupContext extensions: a room extension for this
    /// room, and nothing else changed.
    fn new_record(&self, extensions: &Extensions<GroupContext>) -> Result<RoomRecord, GroupError> {
        let extension = extensions
            .unknown(ROOM_EXTENSION_TYPE)
            .ok_or(GroupError::Unauthentic)?;
        let record = self
            .binding
            .verify_record(&self.group_id, &extension.0)
            .map_err(|_| GroupError::Unauthentic)?;
        if *extensions != context_extensions(&self.binding, &record)? {
            return Err(GroupError::Unauthentic);
        }
        Ok(record)
    }

    /// Reads the host key from the current epoch's room extension.
    fn refresh_host(&mut self) -> Result<(), GroupError> {
        let extension = self
            .mls
            .extensions()
            .unknown(ROOM_EXTENSION_TYPE)
            .ok_or(GroupError::Internal)?;
        self.record = self
            .binding
            .verify_record(&self.group_id, &extension.0)
            .map_err(|_| GroupError::Internal)?;
        Ok(())
    }

    /// Commits fresh keys for this member (post-compromise security).
    pub fn self_update(&mut self) -> Result<Vec<u8>, GroupError> {
        self.check_can_commit()?;
        let bundle = self
            .mls
            .self_update(
                &self.provider,
                &self.identity,
                LeafNodeParameters::default(),
            )
            .map_err(|_| GroupError::Internal)?;
        let commit = bundle.into_commit();
        self.stage_own(&commit, CommitKind::Update, None)
    }

    /// Encrypts an application message in the current epoch.
    pub fn encrypt(&mut self, plaintext: &[u8]) -> Result<(Vec<u8>, MessageId), GroupError> {
        if !self.mls.is_active() {
            return Err(GroupError::Inactive);
        }
        self.enter_epoch()?;
        let (epoch, leaf) = (self.epoch(), self.own_leaf());
        let (bytes, id) =
            self.chains
                .seal(epoch, leaf, &self.group_id, &self.identity, plaintext)?;
        if self.own_sent.len() == OWN_PENDING {
            self.own_sent.pop_front();
        }
        self.own_sent.push_back(id);
        Ok((bytes, id))
    }

    fn remember(&mut self, digest: [u8; 32]) {
        self.seen.insert(digest);
    }

    /// Processes one group message the relay delivered, in relay order.
    ///
    /// Application messages are taken from the current epoch, and from the previous
    /// one only if their sender is still a member; commits only for the current epoch.
    /// Standalone proposals, external senders, Update proposals, PSKs and re-inits are
    /// refused, and so are commits that add and remove together or whose update path
    /// gives the committer another credential; a change of the GroupContext extensions
    /// only as a commit of that change alone that moves host powers as
    /// [`Group::set_host`] allows. A refused message changes nothing.
    pub fn handle(&mut self, bytes: &[u8]) -> Result<Incoming, GroupError> {
        if !self.mls.is_active() {
            return Err(GroupError::Inactive);
        }
        self.enter_epoch()?;
        if chains::is_chain_message(bytes) {
            return self.open_chain(bytes);
        }
        let digest = digest(bytes);
        if self.seen.contains(&digest) {
            return Err(GroupError::Replay);
        }
        if self.pending.as_ref().is_some_and(|p| p.digest == digest) {
            return self.merge_own(digest);
        }
        let protocol = match parse(bytes)?.extract() {
            MlsMessageBodyIn::PrivateMessage(m) => ProtocolMessage::from(m),
            MlsMessageBodyIn::PublicMessage(_) => return Err(GroupError::Unauthentic),
            _ => return Err(GroupError::Malformed),
        };
        if protocol.group_id().as_slice() != self.group_id {
            return Err(GroupError::WrongRoom);
        }
        let current = self.epoch();
        let epoch = protocol.epoch().as_u64();
        match protocol.content_type() {
            // Application messages travel on the chains (`open_chain`), never as MLS
            // application messages.
            ContentType::Application | ContentType::Proposal => {
                return Err(GroupError::Unauthentic)
            }
            ContentType::Commit => {
                if epoch != current {
                    return Err(GroupError::WrongEpoch);
                }
            }
        }
        let processed = self
            .mls
            .process_message(&self.provider, protocol)
            .map_err(|_| GroupError::Unauthentic)?;
        let Sender::Member(leaf) = *processed.sender() else {
            return Err(GroupError::Unauthentic);
        };
        match processed.into_content() {
            ProcessedMessageContent::StagedCommitMessage(staged) => {
                if !proposals_allowed(staged.queued_proposals().map(|p| p.proposal())) {
                    return Err(GroupError::Unauthentic);
                }
                let committer = self.member_at(leaf)?;
                // A leaf's credential is fixed for as long as the leaf is in the group:
                // the committer's new leaf node keeps its client id and signature key.
                // Otherwise an insider could change who it is, and the others would take
                // it for another member at that leaf (what they owe the old one, a kick
                // included, dropped; its relay id and name forgotten).
                if let Some(leaf_node) = staged.update_path_leaf_node() {
                    let identity = PublicIdentity::from_parts(
                        leaf_node.credential(),
                        leaf_node.signature_key().as_slice(),
                    )?;
                    if identity != committer.identity {
                        return Err(GroupError::Unauthentic);
                    }
                }
                let extensions = staged.group_context().extensions();
                let host_change = extensions != self.mls.extensions();
                let record = if host_change {
                    Some(self.new_record(extensions)?)
                } else {
                    None
                };
                let added = staged
                    .add_proposals()
                    .map(|p| {
                        let leaf_node = p.add_proposal().key_package().leaf_node();
                        PublicIdentity::from_parts(
                            leaf_node.credential(),
                            leaf_node.signature_key().as_slice(),
                        )
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let mut removed = staged
                    .remove_proposals()
                    .map(|p| self.member_at(p.remove_proposal().removed()))
                    .collect::<Result<Vec<_>, _>>()?;
                removed.sort_unstable_by_key(|m| m.leaf);
                self.check_commit(&committer, &removed, record.as_ref())?;
                let self_removed = staged.self_removed();
                let kind = if host_change {
                    CommitKind::Host
                } else {
                    kind_of(!added.is_empty(), !removed.is_empty())
                };
                let dropped_own = self.pending.take().map(|p| p.kind);
                let by_host = committer.identity.signature_key == self.record.host;
                let renewed = renewed(&self.record, record.as_ref());
                let by_moderator = self.is_moderator_key(&committer.identity.signature_key);
                self.mls
                    .merge_staged_commit(&self.provider, *staged)
                    .map_err(|_| GroupError::Internal)?;
                self.remember(digest);
                self.refresh_host()?;
                if self_removed {
                    return Ok(Incoming::Removed {
                        kicked: (by_host || by_moderator) && renewed.is_some(),
                    });
                }
                let added = self.find_members(&added);
                Ok(Incoming::Commit {
                    by_host,
                    by_moderator,
                    committer,
                    kind,
                    added,
                    removed,
                    epoch: self.epoch(),
                    welcome: None,
                    dropped_own,
                    renewed,
                })
            }
            _ => Err(GroupError::Unauthentic),
        }
    }

    /// An application message on its sender's chain (PROTOCOL.md §9.14): this
    /// member's own, echoed; or another member's, from the current epoch, or from the
    /// previous one if its sender still holds the same leaf with the same identity.
    /// Each generation opens once, so a replay is refused by its chain.
    fn open_chain(&mut self, bytes: &[u8]) -> Result<Incoming, GroupError> {
        let message = chains::Parsed::parse(bytes).ok_or(GroupError::Malformed)?;
        let id = message.id();
        if self.seen_ids.contains(&id) {
            return Err(GroupError::Replay);
        }
        if let Some(at) = self.own_sent.iter().position(|own| *own == id) {
            self.own_sent.remove(at);
            self.seen_ids.insert(id);
            return Ok(Incoming::OwnApplication { id });
        }
        let header = message.header;
        if header.group_id != self.group_id {
            return Err(GroupError::WrongRoom);
        }
        let current = self.epoch();
        if header.epoch > current || header.epoch.saturating_add(PAST_EPOCHS as u64) < current {
            return Err(GroupError::WrongEpoch);
        }
        // The current epoch's roster is today's membership; from the previous epoch,
        // the sender must still hold its leaf.
        let holder = if header.epoch == current {
            None
        } else {
            let now = self
                .member_at(LeafNodeIndex::new(header.leaf))
                .map_err(|_| GroupError::WrongEpoch)?;
            Some(now.identity)
        };
        let (identity, plaintext) =
            self.chains
                .open(&message, self.own_leaf(), &self.group_id, holder.as_ref())?;
        self.seen_ids.insert(id);
        Ok(Incoming::Application {
            sender: Member {
                leaf: header.leaf,
                identity,
            },
            id,
            plaintext: Plaintext(plaintext),
        })
    }

    /// The current members with these identities (newly added ones, after a merge).
    fn find_members(&self, identities: &[PublicIdentity]) -> Vec<Member> {
        self.members()
            .into_iter()
            .filter(|m| identities.contains(&m.identity))
            .collect()
    }

    fn merge_own(&mut self, digest: [u8; 32]) -> Result<Incoming, GroupError> {
        let Some(pending) = self.pending.take() else {
            return Err(GroupError::Internal);
        };
        let staged = self.mls.pending_commit().ok_or(GroupError::Internal)?;
        let added: Vec<PublicIdentity> = staged
            .add_proposals()
            .filter_map(|p| {
                let leaf_node = p.add_proposal().key_package().leaf_node();
                PublicIdentity::from_parts(
                    leaf_node.credential(),
                    leaf_node.signature_key().as_slice(),
                )
                .ok()
            })
            .collect();
        let mut removed: Vec<Member> = staged
            .remove_proposals()
            .filter_map(|p| self.member_at(p.remove_proposal().removed()).ok())
            .collect();
        removed.sort_unstable_by_key(|m| m.leaf);
        let committer = self.member_at(self.mls.own_leaf_index())?;
        let extensions = staged.group_context().extensions();
        let record = if extensions != self.mls.extensions() {
            Some(self.new_record(extensions)?)
        } else {
            None
        };
        // Every member checks it at this point of the relay's order, and so does its
        // committer: a member it removes may have come back since it was made.
        if self
            .check_commit(&committer, &removed, record.as_ref())
            .is_err()
        {
            let _ = self.mls.clear_pending_commit(self.provider.storage());
            return Err(GroupError::Refused);
        }
        let by_host = self.is_host();
        let renewed = renewed(&self.record, record.as_ref());
        let by_moderator = self.is_moderator();
        self.mls
            .merge_pending_commit(&self.provider)
            .map_err(|_| GroupError::Internal)?;
        self.remember(digest);
        self.refresh_host()?;
        Ok(Incoming::Commit {
            by_host,
            by_moderator,
            committer,
            kind: pending.kind,
            added: self.find_members(&added),
            removed,
            epoch: self.epoch(),
            welcome: pending.welcome,
            dropped_own: None,
            renewed,
        })
    }
}

/// The new invitation number a commit's record brings, if it renews the invitation.
fn renewed(old: &RoomRecord, new: Option<&RoomRecord>) -> Option<u32> {
    new.map(|n| n.renewal).filter(|&n| n > old.renewal)
}

/// The proposals a commit may carry: adds, or removes, or one room record change with
/// removes only (a succession names the new host in the removal itself). Never adds
/// and removes together: a leaf index a commit frees and fills at once would put a
/// newcomer (or the same credential, as a new leaf) where the others still owe the old
/// holder a removal or know it by its relay id. No Update proposals: a member renews
/// its own leaf by a commit's update path, with the same credential.
fn proposals_allowed<'a>(proposals: impl Iterator<Item = &'a Proposal>) -> bool {
    let (mut adds, mut removes, mut records) = (0, 0, 0);
    for proposal in proposals {
        match proposal {
            Proposal::Add(_) => adds += 1,
            Proposal::Remove(_) => removes += 1,
            Proposal::GroupContextExtensions(_) => records += 1,
            _ => return false,
        }
    }
    (adds == 0 || removes == 0) && (records == 0 || (records == 1 && adds == 0))
}

fn kind_of(added: bool, removed: bool) -> CommitKind {
    match (added, removed) {
        (true, _) => CommitKind::Add,
        (false, true) => CommitKind::Remove,
        (false, false) => CommitKind::Update,
    }
}

#[cfg(test)]
#[path = "room_host_tests.rs"]
mod host_tests;
