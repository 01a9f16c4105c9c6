//! [`Storage`]: openmls's store for one member's group, in memory, in a compact binary
//! encoding (postcard), zeroized; it keeps only what openmls reads back while the group
//! lives.
//!
//! openmls hands its store two kinds of values:
//! - the **working set** it reads back while a group is in use: key packages (read when
//!   their Welcome arrives), the encryption key pairs of a member's own leaf and path
//!   (read when a commit is processed), pre-shared keys;
//! - the **group state** it reads back only to reload a group from the store
//!   (`MlsGroup::load`): tree, context, transcript hash, epoch and message secrets,
//!   the epoch's application export tree (PROTOCOL.md §9.14), proposals,
//!   configuration. openmls writes it again after every change, including
//!   after every application message (the message secrets), which is most of a
//!   message's cost in a large room.
//!
//! vroom never reloads a group: a `Group` keeps its `MlsGroup` in memory for its whole
//! life, and a client that restarts rejoins with a new identity (PROTOCOL.md §9.2). So
//! this store keeps the working set only and lets the group state go unstored (its
//! writes do nothing, its reads find nothing, so `MlsGroup::load` finds no group): no
//! encoding after every message, no second copy of the epoch's secrets in memory, and
//! none of the encoding code for openmls's group state types in the web app.
//!
//! The kept values' types (key package bundles, HPKE key pairs, PSK bundles) encode
//! with postcard, the compact, non-self-describing format vroom's wire already uses
//! (openmls's group state types need a self-describing one, which is not needed
//! here). Each kept value is encoded once into a buffer that is zeroized when it is
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
    SignatureKeyPair = 1,
    EncryptionKeyPair,
    EpochKeyPairs,
    KeyPackage,
    Psk,
}

/// A growable buffer that zeroizes every allocation it leaves behind.
struct SecretWriter(Value);

impl Extend<u8> for SecretWriter {
    fn extend<I: IntoIterator<Item = u8>>(&mut self, bytes: I) {
        for byte in bytes {
            if self.0.len() == self.0.capacity() {
                let mut grown = Zeroizing::new(Vec::with_capacity(2 * self.0.capacity().max(32)));
                grown.extend_from_slice(&self.0);
                // The old allocation is zeroized as it drops.
                self.0 = grown;
            }
            self.0.push(byte);
        }
    }
}

fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Value, StorageError> {
    let writer = SecretWriter(Zeroizing::new(Vec::with_capacity(256)));
    postcard::to_extend(value, writer)
        .map(|writer| writer.0)
        .map_err(|_| StorageError::Encoding)
}

fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, StorageError> {
    postcard::from_bytes(bytes).map_err(|_| StorageError::Encoding)
}

fn key<K: Serialize + ?Sized>(label: Label, key: &K) -> Result<Vec<u8>, StorageError> {
    postcard::to_extend(key, vec![label as u8]).map_err(|_| StorageError::Encoding)
}

/// The in-memory store of one member's working set (see the module's documentation).
/// No `Debug`: it holds private keys.
#[derive(Default)]
pub struct Storage {
    values: Mutex<BTreeMap<Vec<u8>, Value>>,
}

impl Storage {
    /// How many values are held (for tests of deletion).
    pub fn entries(&self) -> usize {
        self.values.lock().map(|values| values.len()).unwrap_or(0)
    }

    fn put<K: Serialize + ?Sized, V: Serialize + ?Sized>(
        &self,
        label: Label,
        k: &K,
        value: &V,
    ) -> Result<(), StorageError> {
        let k = key(label, k)?;
        let value = encode(value)?;
        let mut values = self.values.lock().map_err(|_| StorageError::Poisoned)?;
        // A value it replaces is zeroized as it drops.
        values.insert(k, value);
        Ok(())
    }

    fn get<K: Serialize + ?Sized, V: serde::de::DeserializeOwned>(
        &self,
        label: Label,
        k: &K,
    ) -> Result<Option<V>, StorageError> {
        let k = key(label, k)?;
        let values = self.values.lock().map_err(|_| StorageError::Poisoned)?;
        values.get(&k).map(|v| decode(v)).transpose()
    }

    fn remove<K: Serialize + ?Sized>(&self, label: Label, k: &K) -> Result<(), StorageError> {
        let k = key(label, k)?;
        let mut values = self.values.lock().map_err(|_| StorageError::Poisoned)?;
        values.remove(&k);
        Ok(())
    }
}

const V: u16 = CURRENT_VERSION;

/// The group state's methods: a write keeps nothing, a read finds nothing, a delete has
/// nothing to do.
macro_rules! not_kept {
    ($(fn $name:ident<$($g:ident: $bound:ident),*>($($arg:ty),*) -> $ret:ty = $value:expr;)*) => {
        $(
            fn $name<$($g: traits::$bound<V>),*>(&self, $(_: $arg),*) -> Result<$ret, Self::Error> {
                Ok($value)
            }
        )*
    };
}

/// The working set's methods, one key and one kind of value each: a write keeps the
/// value under its label and key, a read finds it, a delete removes it.
macro_rules! kept {
    () => {};
    (fn $name:ident<$($g:ident: $bound:ident),*>($k:ident: &$kt:ident, $v:ident: &$vt:ident)
        => put($label:ident); $($rest:tt)*) => {
        fn $name<$($g: traits::$bound<V>),*>(&self, $k: &$kt, $v: &$vt) -> Result<(), Self::Error> {
            self.put(Label::$label, $k, $v)
        }
        kept!($($rest)*);
    };
    (fn $name:ident<$($g:ident: $bound:ident),*>($k:ident: &$kt:ident) -> $ret:ident
        => get($label:ident); $($rest:tt)*) => {
        fn $name<$($g: traits::$bound<V>),*>(&self, $k: &$kt) -> Result<Option<$ret>, Self::Error> {
            self.get(Label::$label, $k)
        }
        kept!($($rest)*);
    };
    (fn $name:ident<$($g:ident: $bound:ident),*>($k:ident: &$kt:ident)
        => remove($label:ident); $($rest:tt)*) => {
        fn $name<$($g: traits::$bound<V>),*>(&self, $k: &$kt) -> Result<(), Self::Error> {
            self.remove(Label::$label, $k)
        }
        kept!($($rest)*);
    };
}

/// The working set is kept; the group state is written, never kept, and read, never
/// found.
impl StorageProvider<V> for Storage {
    type Error = StorageError;

    not_kept! {
        fn write_mls_join_config<G: GroupId, C: MlsGroupJoinConfig>(&G, &C) -> () = ();
        fn append_own_leaf_node<G: GroupId, L: LeafNode>(&G, &L) -> () = ();
        fn queue_proposal<G: GroupId, R: ProposalRef, P: QueuedProposal>(&G, &R, &P) -> () = ();
        fn write_tree<G: GroupId, T: TreeSync>(&G, &T) -> () = ();
        fn write_interim_transcript_hash<G: GroupId, H: InterimTranscriptHash>(&G, &H) -> () = ();
        fn write_context<G: GroupId, C: GroupContext>(&G, &C) -> () = ();
        fn write_confirmation_tag<G: GroupId, T: ConfirmationTag>(&G, &T) -> () = ();
        fn write_group_state<S: GroupState, G: GroupId>(&G, &S) -> () = ();
        fn write_message_secrets<G: GroupId, S: MessageSecrets>(&G, &S) -> () = ();
        fn write_resumption_psk_store<G: GroupId, S: ResumptionPskStore>(&G, &S) -> () = ();
        fn write_own_leaf_index<G: GroupId, I: LeafNodeIndex>(&G, &I) -> () = ();
        fn write_group_epoch_secrets<G: GroupId, S: GroupEpochSecrets>(&G, &S) -> () = ();
        fn mls_group_join_config<G: GroupId, C: MlsGroupJoinConfig>(&G) -> Option<C> = None;
        fn own_leaf_nodes<G: GroupId, L: LeafNode>(&G) -> Vec<L> = Vec::new();
        fn queued_proposal_refs<G: GroupId, R: ProposalRef>(&G) -> Vec<R> = Vec::new();
        fn queued_proposals<G: GroupId, R: ProposalRef, P: QueuedProposal>(&G)
            -> Vec<(R, P)> = Vec::new();
        fn tree<G: GroupId, T: TreeSync>(&G) -> Option<T> = None;
        fn group_context<G: GroupId, C: GroupContext>(&G) -> Option<C> = None;
        fn interim_transcript_hash<G: GroupId, H: InterimTranscriptHash>(&G) -> Option<H> = None;
        fn confirmation_tag<G: GroupId, T: ConfirmationTag>(&G) -> Option<T> = None;
        fn group_state<S: GroupState, G: GroupId>(&G) -> Option<S> = None;
        fn message_secrets<G: GroupId, S: MessageSecrets>(&G) -> Option<S> = None;
        fn resumption_psk_store<G: GroupId, S: ResumptionPskStore>(&G) -> Option<S> = None;
        fn own_leaf_index<G: GroupId, I: LeafNodeIndex>(&G) -> Option<I> = None;
        fn group_epoch_secrets<G: GroupId, S: GroupEpochSecrets>(&G) -> Option<S> = None;
        fn remove_proposal<G: GroupId, R: ProposalRef>(&G, &R) -> () = ();
        fn delete_own_leaf_nodes<G: GroupId>(&G) -> () = ();
        fn delete_group_config<G: GroupId>(&G) -> () = ();
        fn delete_tree<G: GroupId>(&G) -> () = ();
        fn delete_confirmation_tag<G: GroupId>(&G) -> () = ();
        fn delete_group_state<G: GroupId>(&G) -> () = ();
        fn delete_context<G: GroupId>(&G) -> () = ();
        fn delete_interim_transcript_hash<G: GroupId>(&G) -> () = ();
        fn delete_message_secrets<G: GroupId>(&G) -> () = ();
        fn delete_all_resumption_psk_secrets<G: GroupId>(&G) -> () = ();
        fn delete_own_leaf_index<G: GroupId>(&G) -> () = ();
        fn delete_group_epoch_secrets<G: GroupId>(&G) -> () = ();
        fn clear_proposal_queue<G: GroupId, R: ProposalRef>(&G) -> () = ();
        // The export tree lives in the `MlsGroup` alone: the chain secret it gave out,
        // deleted there, has no second copy here.
        fn write_application_export_tree<G: GroupId, T: ApplicationExportTree>(&G, &T) -> () = ();
        fn application_export_tree<G: GroupId, T: ApplicationExportTree>(&G) -> Option<T> = None;
        fn delete_application_export_tree<G: GroupId, T: ApplicationExportTree>(&G) -> () = ();
    }

    kept! {
        fn write_signature_key_pair<K: SignaturePublicKey, P: SignatureKeyPair>(public_key: &K, pair: &P)
            => put(SignatureKeyPair);
        fn signature_key_pair<K: SignaturePublicKey, P: SignatureKeyPair>(public_key: &K) -> P
            => get(SignatureKeyPair);
        fn delete_signature_key_pair<K: SignaturePublicKey>(public_key: &K)
            => remove(SignatureKeyPair);
        fn write_encryption_key_pair<K: EncryptionKey, P: HpkeKeyPair>(public_key: &K, pair: &P)
            => put(EncryptionKeyPair);
        fn encryption_key_pair<P: HpkeKeyPair, K: EncryptionKey>(public_key: &K) -> P
            => get(EncryptionKeyPair);
        fn delete_encryption_key_pair<K: EncryptionKey>(public_key: &K)
            => remove(EncryptionKeyPair);
        fn write_key_package<R: HashReference, P: KeyPackage>(hash_ref: &R, package: &P)
            => put(KeyPackage);
        fn key_package<R: HashReference, P: KeyPackage>(hash_ref: &R) -> P => get(KeyPackage);
        fn delete_key_package<R: HashReference>(hash_ref: &R) => remove(KeyPackage);
        fn write_psk<I: PskId, B: PskBundle>(psk_id: &I, psk: &B) => put(Psk);
        fn psk<B: PskBundle, I: PskId>(psk_id: &I) -> B => get(Psk);
        fn delete_psk<I: PskId>(psk_id: &I) => remove(Psk);
    }

    // An epoch's key pairs are kept under (group, epoch, leaf), a key of three parts.
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
    fn delete_encryption_epoch_key_pairs<G: traits::GroupId<V>, E: traits::EpochKey<V>>(
        &self,
        group_id: &G,
        epoch: &E,
        leaf_index: u32,
    ) -> Result<(), Self::Error> {
        self.remove(Label::EpochKeyPairs, &(group_id, epoch, leaf_index))
    }
}
