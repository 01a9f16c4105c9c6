//! [`Storage`]: openmls's store of one member's group state, in memory, in a compact
//! binary encoding (CBOR), zeroized.
//!
//! openmls hands its store two kinds of values:
//! - the **working set** it reads back while a group is in use: key packages (read when
//!   their Welcome arrives), the encryption key pairs of a member's own leaf and path
//!   (read when a commit is processed), pre-shared keys;
//! - the **group state** it reads back only to reload a group from the store
//!   (`MlsGroup::load`): tree, context, transcript hash, epoch and message secrets,
//!   proposals, configuration. openmls writes it again after every change, including
//!   after every application message (the message secrets), which is most of a
//!   message's cost in a large room.
//!
//! vroom never reloads a group: a `Group` keeps its `MlsGroup` in memory for its whole
//! life, and a client that restarts rejoins with a new identity (PROTOCOL.md §9.2). So
//! the store made by [`Storage::default`] keeps the working set only and lets the group
//! state go unstored: no encoding per message, and no second copy of the epoch's
//! secrets in memory. [`Storage::reloadable`] keeps both, for a caller that reloads.
//!
//! Each kept value is encoded once into a buffer that is zeroized when it is
//! overwritten, deleted or dropped (and while it grows, so no copy is left behind in
//! freed memory). The encoding is private to the process: nothing here is persisted or
//! sent.

use std::collections::BTreeMap;
use std::sync::Mutex;

use openmls_traits::storage::{traits, StorageProvider, CURRENT_VERSION};
use serde::Serialize;
use zeroize::Zeroizing;

/// A value as stored: its encoding, zeroized on drop.
type Value = Zeroizing<Vec<u8>>;
/// A list entry: the encoding of its key (for the proposal queue; empty otherwise) and
/// of its value.
type Item = (Vec<u8>, Value);

/// Why the store refused: a value that does not encode or decode (openmls's types
/// always do, so this means an internal error), or a lock poisoned by a panic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StorageError {
    /// A value could not be encoded or decoded.
    Encoding,
    /// The store's lock was poisoned by a panic elsewhere.
    Poisoned,
}

impl core::fmt::Display for StorageError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            StorageError::Encoding => "a group state value could not be encoded or decoded",
            StorageError::Poisoned => "the group state store was poisoned by a panic",
        })
    }
}

impl std::error::Error for StorageError {}

/// What a key names; one byte in front of the key's encoding.
#[derive(Clone, Copy)]
#[repr(u8)]
enum Label {
    JoinConfig = 1,
    OwnLeafNodes,
    Proposals,
    Tree,
    InterimTranscriptHash,
    Context,
    ConfirmationTag,
    GroupState,
    MessageSecrets,
    ResumptionPskStore,
    OwnLeafIndex,
    EpochSecrets,
    SignatureKeyPair,
    EncryptionKeyPair,
    EpochKeyPairs,
    KeyPackage,
    Psk,
}

/// A growable buffer that zeroizes every allocation it leaves behind.
struct SecretWriter(Value);

impl std::io::Write for SecretWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let needed = self.0.len() + buf.len();
        if needed > self.0.capacity() {
            let mut grown = Zeroizing::new(Vec::with_capacity(needed.max(2 * self.0.capacity())));
            grown.extend_from_slice(&self.0);
            // The old allocation is zeroized as it drops.
            self.0 = grown;
        }
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Value, StorageError> {
    let mut writer = SecretWriter(Zeroizing::new(Vec::with_capacity(256)));
    ciborium::into_writer(value, &mut writer).map_err(|_| StorageError::Encoding)?;
    Ok(writer.0)
}

fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, StorageError> {
    // Short byte strings pass through this buffer on their way into the value.
    let mut scratch = Zeroizing::new([0u8; 1024]);
    ciborium::from_reader_with_buffer(bytes, &mut scratch[..]).map_err(|_| StorageError::Encoding)
}

fn key<K: Serialize + ?Sized>(label: Label, key: &K) -> Result<Vec<u8>, StorageError> {
    let mut out = vec![label as u8];
    ciborium::into_writer(key, &mut out).map_err(|_| StorageError::Encoding)?;
    Ok(out)
}

#[derive(Default)]
struct Inner {
    values: BTreeMap<Vec<u8>, Value>,
    lists: BTreeMap<Vec<u8>, Vec<Item>>,
}

/// The in-memory store of one member's group state (see the module's documentation).
/// No `Debug`: it holds the group's secrets.
#[derive(Default)]
pub struct Storage {
    inner: Mutex<Inner>,
    /// Whether the group state (read back only by a reload) is kept too.
    reloadable: bool,
}

impl Storage {
    /// A store that keeps the group state as well as the working set, so that
    /// `MlsGroup::load` can reload a group from it (at the cost of encoding the group's
    /// state after every change).
    pub fn reloadable() -> Self {
        Storage {
            inner: Mutex::default(),
            reloadable: true,
        }
    }

    /// How many values and list entries are held (for tests of deletion).
    pub fn entries(&self) -> usize {
        self.inner
            .lock()
            .map(|inner| inner.values.len() + inner.lists.values().map(Vec::len).sum::<usize>())
            .unwrap_or(0)
    }

    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> Result<R, StorageError> {
        let mut inner = self.inner.lock().map_err(|_| StorageError::Poisoned)?;
        Ok(f(&mut inner))
    }

    /// Stores a group state value, if this store keeps them.
    fn put_state<K: Serialize + ?Sized, V: Serialize + ?Sized>(
        &self,
        label: Label,
        k: &K,
        value: &V,
    ) -> Result<(), StorageError> {
        if self.reloadable {
            self.put(label, k, value)
        } else {
            Ok(())
        }
    }

    fn put<K: Serialize + ?Sized, V: Serialize + ?Sized>(
        &self,
        label: Label,
        k: &K,
        value: &V,
    ) -> Result<(), StorageError> {
        let k = key(label, k)?;
        let value = encode(value)?;
        // A value it replaces is zeroized as it drops.
        self.with(|inner| drop(inner.values.insert(k, value)))
    }

    fn get<K: Serialize + ?Sized, V: serde::de::DeserializeOwned>(
        &self,
        label: Label,
        k: &K,
    ) -> Result<Option<V>, StorageError> {
        let k = key(label, k)?;
        let inner = self.inner.lock().map_err(|_| StorageError::Poisoned)?;
        inner.values.get(&k).map(|v| decode(v)).transpose()
    }

    fn remove<K: Serialize + ?Sized>(&self, label: Label, k: &K) -> Result<(), StorageError> {
        let k = key(label, k)?;
        self.with(|inner| drop(inner.values.remove(&k)))
    }

    /// Appends to a group state list, if this store keeps them.
    fn push_state<K: Serialize + ?Sized>(
        &self,
        label: Label,
        k: &K,
        item: impl FnOnce() -> Result<Item, StorageError>,
    ) -> Result<(), StorageError> {
        if !self.reloadable {
            return Ok(());
        }
        let item = item()?;
        let k = key(label, k)?;
        self.with(|inner| inner.lists.entry(k).or_default().push(item))
    }

    fn list<K: Serialize + ?Sized, R>(
        &self,
        label: Label,
        k: &K,
        mut each: impl FnMut(&Item) -> Result<R, StorageError>,
    ) -> Result<Vec<R>, StorageError> {
        let k = key(label, k)?;
        let inner = self.inner.lock().map_err(|_| StorageError::Poisoned)?;
        inner.lists.get(&k).map_or(Ok(Vec::new()), |items| {
            items.iter().map(&mut each).collect()
        })
    }

    fn remove_list<K: Serialize + ?Sized>(&self, label: Label, k: &K) -> Result<(), StorageError> {
        let k = key(label, k)?;
        self.with(|inner| drop(inner.lists.remove(&k)))
    }
}

const V: u16 = CURRENT_VERSION;

impl StorageProvider<V> for Storage {
    type Error = StorageError;

    fn write_mls_join_config<G: traits::GroupId<V>, C: traits::MlsGroupJoinConfig<V>>(
        &self,
        group_id: &G,
        config: &C,
    ) -> Result<(), Self::Error> {
        self.put_state(Label::JoinConfig, group_id, config)
    }

    fn append_own_leaf_node<G: traits::GroupId<V>, L: traits::LeafNode<V>>(
        &self,
        group_id: &G,
        leaf_node: &L,
    ) -> Result<(), Self::Error> {
        self.push_state(Label::OwnLeafNodes, group_id, || {
            Ok((Vec::new(), encode(leaf_node)?))
        })
    }

    fn queue_proposal<
        G: traits::GroupId<V>,
        R: traits::ProposalRef<V>,
        P: traits::QueuedProposal<V>,
    >(
        &self,
        group_id: &G,
        proposal_ref: &R,
        proposal: &P,
    ) -> Result<(), Self::Error> {
        self.push_state(Label::Proposals, group_id, || {
            Ok((encode(proposal_ref)?.to_vec(), encode(proposal)?))
        })
    }

    fn write_tree<G: traits::GroupId<V>, T: traits::TreeSync<V>>(
        &self,
        group_id: &G,
        tree: &T,
    ) -> Result<(), Self::Error> {
        self.put_state(Label::Tree, group_id, tree)
    }

    fn write_interim_transcript_hash<G: traits::GroupId<V>, H: traits::InterimTranscriptHash<V>>(
        &self,
        group_id: &G,
        interim_transcript_hash: &H,
    ) -> Result<(), Self::Error> {
        self.put_state(
            Label::InterimTranscriptHash,
            group_id,
            interim_transcript_hash,
        )
    }

    fn write_context<G: traits::GroupId<V>, C: traits::GroupContext<V>>(
        &self,
        group_id: &G,
        group_context: &C,
    ) -> Result<(), Self::Error> {
        self.put_state(Label::Context, group_id, group_context)
    }

    fn write_confirmation_tag<G: traits::GroupId<V>, T: traits::ConfirmationTag<V>>(
        &self,
        group_id: &G,
        confirmation_tag: &T,
    ) -> Result<(), Self::Error> {
        self.put_state(Label::ConfirmationTag, group_id, confirmation_tag)
    }

    fn write_group_state<S: traits::GroupState<V>, G: traits::GroupId<V>>(
        &self,
        group_id: &G,
        group_state: &S,
    ) -> Result<(), Self::Error> {
        self.put_state(Label::GroupState, group_id, group_state)
    }

    fn write_message_secrets<G: traits::GroupId<V>, S: traits::MessageSecrets<V>>(
        &self,
        group_id: &G,
        message_secrets: &S,
    ) -> Result<(), Self::Error> {
        self.put_state(Label::MessageSecrets, group_id, message_secrets)
    }

    fn write_resumption_psk_store<G: traits::GroupId<V>, S: traits::ResumptionPskStore<V>>(
        &self,
        group_id: &G,
        resumption_psk_store: &S,
    ) -> Result<(), Self::Error> {
        self.put_state(Label::ResumptionPskStore, group_id, resumption_psk_store)
    }

    fn write_own_leaf_index<G: traits::GroupId<V>, I: traits::LeafNodeIndex<V>>(
        &self,
        group_id: &G,
        own_leaf_index: &I,
    ) -> Result<(), Self::Error> {
        self.put_state(Label::OwnLeafIndex, group_id, own_leaf_index)
    }

    fn write_group_epoch_secrets<G: traits::GroupId<V>, S: traits::GroupEpochSecrets<V>>(
        &self,
        group_id: &G,
        group_epoch_secrets: &S,
    ) -> Result<(), Self::Error> {
        self.put_state(Label::EpochSecrets, group_id, group_epoch_secrets)
    }

    fn write_signature_key_pair<
        K: traits::SignaturePublicKey<V>,
        P: traits::SignatureKeyPair<V>,
    >(
        &self,
        public_key: &K,
        signature_key_pair: &P,
    ) -> Result<(), Self::Error> {
        self.put(Label::SignatureKeyPair, public_key, signature_key_pair)
    }

    fn write_encryption_key_pair<K: traits::EncryptionKey<V>, P: traits::HpkeKeyPair<V>>(
        &self,
        public_key: &K,
        key_pair: &P,
    ) -> Result<(), Self::Error> {
        self.put(Label::EncryptionKeyPair, public_key, key_pair)
    }

    fn write_encryption_epoch_key_pairs<
        G: traits::GroupId<V>,
        E: traits::EpochKey<V>,
        P: traits::HpkeKeyPair<V>,
    >(
        &self,
        group_id: &G,
        epoch: &E,
        leaf_index: u32,
        key_pairs: &[P],
    ) -> Result<(), Self::Error> {
        self.put(
            Label::EpochKeyPairs,
            &(group_id, epoch, leaf_index),
            key_pairs,
        )
    }

    fn write_key_package<R: traits::HashReference<V>, P: traits::KeyPackage<V>>(
        &self,
        hash_ref: &R,
        key_package: &P,
    ) -> Result<(), Self::Error> {
        self.put(Label::KeyPackage, hash_ref, key_package)
    }

    fn write_psk<I: traits::PskId<V>, B: traits::PskBundle<V>>(
        &self,
        psk_id: &I,
        psk: &B,
    ) -> Result<(), Self::Error> {
        self.put(Label::Psk, psk_id, psk)
    }

    fn mls_group_join_config<G: traits::GroupId<V>, C: traits::MlsGroupJoinConfig<V>>(
        &self,
        group_id: &G,
    ) -> Result<Option<C>, Self::Error> {
        self.get(Label::JoinConfig, group_id)
    }

    fn own_leaf_nodes<G: traits::GroupId<V>, L: traits::LeafNode<V>>(
        &self,
        group_id: &G,
    ) -> Result<Vec<L>, Self::Error> {
        self.list(Label::OwnLeafNodes, group_id, |(_, value)| decode(value))
    }

    fn queued_proposal_refs<G: traits::GroupId<V>, R: traits::ProposalRef<V>>(
        &self,
        group_id: &G,
    ) -> Result<Vec<R>, Self::Error> {
        self.list(Label::Proposals, group_id, |(proposal_ref, _)| {
            decode(proposal_ref)
        })
    }

    fn queued_proposals<
        G: traits::GroupId<V>,
        R: traits::ProposalRef<V>,
        P: traits::QueuedProposal<V>,
    >(
        &self,
        group_id: &G,
    ) -> Result<Vec<(R, P)>, Self::Error> {
        self.list(Label::Proposals, group_id, |(proposal_ref, value)| {
            Ok((decode(proposal_ref)?, decode(value)?))
        })
    }

    fn tree<G: traits::GroupId<V>, T: traits::TreeSync<V>>(
        &self,
        group_id: &G,
    ) -> Result<Option<T>, Self::Error> {
        self.get(Label::Tree, group_id)
    }

    fn group_context<G: traits::GroupId<V>, C: traits::GroupContext<V>>(
        &self,
        group_id: &G,
    ) -> Result<Option<C>, Self::Error> {
        self.get(Label::Context, group_id)
    }

    fn interim_transcript_hash<G: traits::GroupId<V>, H: traits::InterimTranscriptHash<V>>(
        &self,
        group_id: &G,
    ) -> Result<Option<H>, Self::Error> {
        self.get(Label::InterimTranscriptHash, group_id)
    }

    fn confirmation_tag<G: traits::GroupId<V>, T: traits::ConfirmationTag<V>>(
        &self,
        group_id: &G,
    ) -> Result<Option<T>, Self::Error> {
        self.get(Label::ConfirmationTag, group_id)
    }

    fn group_state<S: traits::GroupState<V>, G: traits::GroupId<V>>(
        &self,
        group_id: &G,
    ) -> Result<Option<S>, Self::Error> {
        self.get(Label::GroupState, group_id)
    }

    fn message_secrets<G: traits::GroupId<V>, S: traits::MessageSecrets<V>>(
        &self,
        group_id: &G,
    ) -> Result<Option<S>, Self::Error> {
        self.get(Label::MessageSecrets, group_id)
    }

    fn resumption_psk_store<G: traits::GroupId<V>, S: traits::ResumptionPskStore<V>>(
        &self,
        group_id: &G,
    ) -> Result<Option<S>, Self::Error> {
        self.get(Label::ResumptionPskStore, group_id)
    }

    fn own_leaf_index<G: traits::GroupId<V>, I: traits::LeafNodeIndex<V>>(
        &self,
        group_id: &G,
    ) -> Result<Option<I>, Self::Error> {
        self.get(Label::OwnLeafIndex, group_id)
    }

    fn group_epoch_secrets<G: traits::GroupId<V>, S: traits::GroupEpochSecrets<V>>(
        &self,
        group_id: &G,
    ) -> Result<Option<S>, Self::Error> {
        self.get(Label::EpochSecrets, group_id)
    }

    fn signature_key_pair<K: traits::SignaturePublicKey<V>, P: traits::SignatureKeyPair<V>>(
        &self,
        public_key: &K,
    ) -> Result<Option<P>, Self::Error> {
        self.get(Label::SignatureKeyPair, public_key)
    }

    fn encryption_key_pair<P: traits::HpkeKeyPair<V>, K: traits::EncryptionKey<V>>(
        &self,
        public_key: &K,
    ) -> Result<Option<P>, Self::Error> {
        self.get(Label::EncryptionKeyPair, public_key)
    }

    fn encryption_epoch_key_pairs<
        G: traits::GroupId<V>,
        E: traits::EpochKey<V>,
        P: traits::HpkeKeyPair<V>,
    >(
        &self,
        group_id: &G,
        epoch: &E,
        leaf_index: u32,
    ) -> Result<Vec<P>, Self::Error> {
        Ok(self
            .get(Label::EpochKeyPairs, &(group_id, epoch, leaf_index))?
            .unwrap_or_default())
    }

    fn key_package<R: traits::HashReference<V>, P: traits::KeyPackage<V>>(
        &self,
        hash_ref: &R,
    ) -> Result<Option<P>, Self::Error> {
        self.get(Label::KeyPackage, hash_ref)
    }

    fn psk<B: traits::PskBundle<V>, I: traits::PskId<V>>(
        &self,
        psk_id: &I,
    ) -> Result<Option<B>, Self::Error> {
        self.get(Label::Psk, psk_id)
    }

    fn remove_proposal<G: traits::GroupId<V>, R: traits::ProposalRef<V>>(
        &self,
        group_id: &G,
        proposal_ref: &R,
    ) -> Result<(), Self::Error> {
        let k = key(Label::Proposals, group_id)?;
        let proposal_ref = encode(proposal_ref)?;
        self.with(|inner| {
            if let Some(items) = inner.lists.get_mut(&k) {
                items.retain(|(r, _)| r[..] != proposal_ref[..]);
            }
        })
    }

    fn delete_own_leaf_nodes<G: traits::GroupId<V>>(
        &self,
        group_id: &G,
    ) -> Result<(), Self::Error> {
        self.remove_list(Label::OwnLeafNodes, group_id)
    }

    fn delete_group_config<G: traits::GroupId<V>>(&self, group_id: &G) -> Result<(), Self::Error> {
        self.remove(Label::JoinConfig, group_id)
    }

    fn delete_tree<G: traits::GroupId<V>>(&self, group_id: &G) -> Result<(), Self::Error> {
        self.remove(Label::Tree, group_id)
    }

    fn delete_confirmation_tag<G: traits::GroupId<V>>(
        &self,
        group_id: &G,
    ) -> Result<(), Self::Error> {
        self.remove(Label::ConfirmationTag, group_id)
    }

    fn delete_group_state<G: traits::GroupId<V>>(&self, group_id: &G) -> Result<(), Self::Error> {
        self.remove(Label::GroupState, group_id)
    }

    fn delete_context<G: traits::GroupId<V>>(&self, group_id: &G) -> Result<(), Self::Error> {
        self.remove(Label::Context, group_id)
    }

    fn delete_interim_transcript_hash<G: traits::GroupId<V>>(
        &self,
        group_id: &G,
    ) -> Result<(), Self::Error> {
        self.remove(Label::InterimTranscriptHash, group_id)
    }

    fn delete_message_secrets<G: traits::GroupId<V>>(
        &self,
        group_id: &G,
    ) -> Result<(), Self::Error> {
        self.remove(Label::MessageSecrets, group_id)
    }

    fn delete_all_resumption_psk_secrets<G: traits::GroupId<V>>(
        &self,
        group_id: &G,
    ) -> Result<(), Self::Error> {
        self.remove(Label::ResumptionPskStore, group_id)
    }

    fn delete_own_leaf_index<G: traits::GroupId<V>>(
        &self,
        group_id: &G,
    ) -> Result<(), Self::Error> {
        self.remove(Label::OwnLeafIndex, group_id)
    }

    fn delete_group_epoch_secrets<G: traits::GroupId<V>>(
        &self,
        group_id: &G,
    ) -> Result<(), Self::Error> {
        self.remove(Label::EpochSecrets, group_id)
    }

    fn clear_proposal_queue<G: traits::GroupId<V>, R: traits::ProposalRef<V>>(
        &self,
        group_id: &G,
    ) -> Result<(), Self::Error> {
        self.remove_list(Label::Proposals, group_id)
    }

    fn delete_signature_key_pair<K: traits::SignaturePublicKey<V>>(
        &self,
        public_key: &K,
    ) -> Result<(), Self::Error> {
        self.remove(Label::SignatureKeyPair, public_key)
    }

    fn delete_encryption_key_pair<K: traits::EncryptionKey<V>>(
        &self,
        public_key: &K,
    ) -> Result<(), Self::Error> {
        self.remove(Label::EncryptionKeyPair, public_key)
    }

    fn delete_encryption_epoch_key_pairs<G: traits::GroupId<V>, E: traits::EpochKey<V>>(
        &self,
        group_id: &G,
        epoch: &E,
        leaf_index: u32,
    ) -> Result<(), Self::Error> {
        self.remove(Label::EpochKeyPairs, &(group_id, epoch, leaf_index))
    }

    fn delete_key_package<R: traits::HashReference<V>>(
        &self,
        hash_ref: &R,
    ) -> Result<(), Self::Error> {
        self.remove(Label::KeyPackage, hash_ref)
    }

    fn delete_psk<I: traits::PskId<V>>(&self, psk_id: &I) -> Result<(), Self::Error> {
        self.remove(Label::Psk, psk_id)
    }
}
