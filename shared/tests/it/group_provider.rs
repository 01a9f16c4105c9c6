//! The group layer's own crypto provider (`vroom_shared::group::provider`) against
//! openmls's reference provider (`openmls_rust_crypto`): the same outputs where the
//! algorithms are deterministic, each opening what the other sealed where they are
//! not, refusal of every other suite, and whole groups whose members run on one
//! provider or the other. Also the group's store: it keeps what openmls reads back,
//! and a value deleted or overwritten is gone.

use openmls::prelude::tls_codec::{Deserialize as _, Serialize as _};
use openmls::prelude::{
    Ciphersuite, Extension, ExtensionType, Extensions, GroupId, KeyPackage, LeafNodeParameters,
    MlsGroup, MlsGroupCreateConfig, MlsGroupJoinConfig, MlsMessageBodyIn, MlsMessageIn,
    MlsMessageOut, ProcessedMessageContent, ProtocolMessage, ProtocolVersion,
    RequiredCapabilitiesExtension, StagedWelcome, UnknownExtension,
    PURE_CIPHERTEXT_WIRE_FORMAT_POLICY,
};
use openmls_rust_crypto::{OpenMlsRustCrypto, RustCrypto};
use openmls_traits::crypto::OpenMlsCrypto;
use openmls_traits::random::OpenMlsRand;
use openmls_traits::storage::{traits, Entity, Key, StorageProvider, CURRENT_VERSION};
use openmls_traits::types::{
    AeadType, CryptoError, HashType, HpkeAeadType, HpkeConfig, HpkeKdfType, HpkeKemType,
    SignatureScheme,
};
use openmls_traits::OpenMlsProvider;
use vroom_shared::crypto::{OsRng, RoomSecret};
use vroom_shared::group::binding::{self, ROOM_EXTENSION_TYPE};
use vroom_shared::group::chains;
use vroom_shared::group::provider::{Provider, Storage, SuiteCrypto};
use vroom_shared::group::{
    room, CommitKind, Group, GroupError, Identity, Incoming, Joiner, SafetyCode,
};
use zeroize::Zeroizing;

const SUITE: Ciphersuite = Ciphersuite::MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519;

fn suite_hpke() -> HpkeConfig {
    HpkeConfig(
        HpkeKemType::DhKem25519,
        HpkeKdfType::HkdfSha256,
        HpkeAeadType::ChaCha20Poly1305,
    )
}

/// Deterministic inputs that differ per label, so a swapped argument shows.
fn bytes(label: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(label))
        .collect()
}

#[test]
fn hash_hkdf_hmac_and_aead_give_the_reference_outputs() {
    let (ours, reference) = (SuiteCrypto, RustCrypto::default());
    let h = HashType::Sha2_256;
    for len in [0, 1, 32, 65, 200] {
        let data = bytes(1, len);
        assert_eq!(
            ours.hash(h, &data).unwrap(),
            reference.hash(h, &data).unwrap()
        );
        let (salt, ikm) = (bytes(2, 32), bytes(3, len));
        let prk = ours.hkdf_extract(h, &salt, &ikm).unwrap();
        assert_eq!(
            prk.as_slice(),
            reference.hkdf_extract(h, &salt, &ikm).unwrap().as_slice()
        );
        for out in [12, 32, 64] {
            assert_eq!(
                ours.hkdf_expand(h, prk.as_slice(), &data, out)
                    .unwrap()
                    .as_slice(),
                reference
                    .hkdf_expand(h, prk.as_slice(), &data, out)
                    .unwrap()
                    .as_slice()
            );
        }
        assert_eq!(
            ours.hmac(h, &salt, &data).unwrap().as_slice(),
            reference.hmac(h, &salt, &data).unwrap().as_slice()
        );
        let (key, nonce, aad) = (bytes(4, 32), bytes(5, 12), bytes(6, 9));
        let a = AeadType::ChaCha20Poly1305;
        let sealed = ours.aead_encrypt(a, &key, &data, &nonce, &aad).unwrap();
        assert_eq!(
            sealed,
            reference
                .aead_encrypt(a, &key, &data, &nonce, &aad)
                .unwrap()
        );
        assert_eq!(
            reference
                .aead_decrypt(a, &key, &sealed, &nonce, &aad)
                .unwrap(),
            data
        );
        let mut forged = sealed.clone();
        forged[0] ^= 1;
        assert_eq!(
            ours.aead_decrypt(a, &key, &forged, &nonce, &aad),
            Err(CryptoError::AeadDecryptionError)
        );
        assert_eq!(
            ours.aead_decrypt(a, &key, &sealed, &nonce, &aad).unwrap(),
            data
        );
    }
    // RFC 5869 test case 1 (HKDF-SHA256), as a fixed point beside the comparison.
    let prk = ours
        .hkdf_extract(
            h,
            &hex::decode("000102030405060708090a0b0c").unwrap(),
            &[0x0b; 22],
        )
        .unwrap();
    let okm = ours
        .hkdf_expand(
            h,
            prk.as_slice(),
            &hex::decode("f0f1f2f3f4f5f6f7f8f9").unwrap(),
            42,
        )
        .unwrap();
    assert_eq!(
        hex::encode(okm.as_slice()),
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
    );
}

#[test]
fn signatures_are_the_reference_signatures_and_verify_across() {
    let (ours, reference) = (SuiteCrypto, RustCrypto::default());
    let s = SignatureScheme::ED25519;
    let (secret, public) = ours.signature_key_gen(s).unwrap();
    assert_eq!((secret.len(), public.len()), (32, 32));
    let (their_secret, their_public) = reference.signature_key_gen(s).unwrap();
    for len in [0, 10, 300] {
        let data = bytes(7, len);
        // Ed25519 is deterministic: the same key signs the same bytes alike.
        let signature = ours.sign(s, &data, &secret).unwrap();
        assert_eq!(signature, reference.sign(s, &data, &secret).unwrap());
        reference
            .verify_signature(s, &data, &public, &signature)
            .unwrap();
        let theirs = reference.sign(s, &data, &their_secret).unwrap();
        ours.verify_signature(s, &data, &their_public, &theirs)
            .unwrap();
        let mut forged = theirs.clone();
        forged[5] ^= 0x40;
        assert_eq!(
            ours.verify_signature(s, &data, &their_public, &forged),
            Err(CryptoError::InvalidSignature)
        );
        assert!(ours.verify_signature(s, &data, &public, &theirs).is_err());
    }
}

#[test]
fn hpke_key_derivation_is_the_reference_derivation() {
    let (ours, reference) = (SuiteCrypto, RustCrypto::default());
    for label in 0..8 {
        let ikm = bytes(label, 32);
        let a = ours.derive_hpke_keypair(suite_hpke(), &ikm).unwrap();
        let b = reference.derive_hpke_keypair(suite_hpke(), &ikm).unwrap();
        assert_eq!(&*a.private, &*b.private);
        assert_eq!(a.public, b.public);
        assert_eq!(a.public.len(), 32);
    }
    // RFC 9180 A.1.1 (DHKEM(X25519, HKDF-SHA256)): the recipient's key pair from ikmR.
    let ikm_r =
        hex::decode("6db9df30aa07dd42ee5e8181afdb977e538f5e1fec8a06223f33f7013e525037").unwrap();
    let pair = ours.derive_hpke_keypair(suite_hpke(), &ikm_r).unwrap();
    assert_eq!(
        hex::encode(&pair.public),
        "3948cfe0ad1ddb695d780e59077195da6c56506b027329794ab02bca80815c4d"
    );
    assert_eq!(
        hex::encode(&*pair.private),
        "4612c550263fc8ad58375df3f557aac531d26850903e55a9f23f21d8534e8ac8"
    );
}

#[test]
fn hpke_seals_and_exports_open_on_the_other_provider() {
    let (ours, reference) = (SuiteCrypto, RustCrypto::default());
    let pair = reference
        .derive_hpke_keypair(suite_hpke(), &bytes(9, 32))
        .unwrap();
    let (info, aad) = (bytes(10, 20), bytes(11, 7));
    for len in [0, 1, 100] {
        let plaintext = bytes(12, len);
        let sealed = ours
            .hpke_seal(suite_hpke(), &pair.public, &info, &aad, &plaintext)
            .unwrap();
        assert_eq!(sealed.kem_output.as_slice().len(), 32);
        assert_eq!(
            reference
                .hpke_open(suite_hpke(), &sealed, &pair.private, &info, &aad)
                .unwrap(),
            plaintext
        );
        let sealed = reference
            .hpke_seal(suite_hpke(), &pair.public, &info, &aad, &plaintext)
            .unwrap();
        assert_eq!(
            ours.hpke_open(suite_hpke(), &sealed, &pair.private, &info, &aad)
                .unwrap(),
            plaintext
        );
        // Another info or aad does not open.
        assert_eq!(
            ours.hpke_open(suite_hpke(), &sealed, &pair.private, &aad, &aad),
            Err(CryptoError::HpkeDecryptionError)
        );
        assert_eq!(
            ours.hpke_open(suite_hpke(), &sealed, &pair.private, &info, &info),
            Err(CryptoError::HpkeDecryptionError)
        );
    }
    let (context, len) = (bytes(13, 5), 32);
    let (enc, secret) = ours
        .hpke_setup_sender_and_export(suite_hpke(), &pair.public, &info, &context, len)
        .unwrap();
    let theirs = reference
        .hpke_setup_receiver_and_export(suite_hpke(), &enc, &pair.private, &info, &context, len)
        .unwrap();
    assert_eq!(&*secret, &*theirs);
    assert_eq!(secret.len(), len);
    let (enc, secret) = reference
        .hpke_setup_sender_and_export(suite_hpke(), &pair.public, &info, &context, len)
        .unwrap();
    let ours_secret = ours
        .hpke_setup_receiver_and_export(suite_hpke(), &enc, &pair.private, &info, &context, len)
        .unwrap();
    assert_eq!(&*secret, &*ours_secret);
    // Two seals to the same key differ (a fresh ephemeral key each time).
    let a = ours
        .hpke_seal(suite_hpke(), &pair.public, &info, &aad, b"x")
        .unwrap();
    let b = ours
        .hpke_seal(suite_hpke(), &pair.public, &info, &aad, b"x")
        .unwrap();
    assert_ne!(a.kem_output, b.kem_output);
}

#[test]
fn every_other_suite_and_algorithm_is_refused() {
    let ours = SuiteCrypto;
    assert_eq!(ours.supported_ciphersuites(), vec![SUITE]);
    assert_eq!(ours.supports(SUITE), Ok(()));
    for other in [
        Ciphersuite::MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519,
        Ciphersuite::MLS_128_DHKEMP256_AES128GCM_SHA256_P256,
        Ciphersuite::MLS_256_DHKEMP384_AES256GCM_SHA384_P384,
    ] {
        assert_eq!(
            ours.supports(other),
            Err(CryptoError::UnsupportedCiphersuite)
        );
    }
    assert_eq!(
        ours.hash(HashType::Sha2_384, b"x"),
        Err(CryptoError::UnsupportedHashAlgorithm)
    );
    assert!(matches!(
        ours.hkdf_extract(HashType::Sha2_512, b"s", b"i"),
        Err(CryptoError::UnsupportedHashAlgorithm)
    ));
    assert_eq!(
        ours.aead_encrypt(AeadType::Aes128Gcm, &[0; 16], b"x", &[0; 12], b""),
        Err(CryptoError::UnsupportedAeadAlgorithm)
    );
    assert_eq!(
        ours.signature_key_gen(SignatureScheme::ECDSA_SECP256R1_SHA256),
        Err(CryptoError::UnsupportedSignatureScheme)
    );
    assert_eq!(
        ours.sign(SignatureScheme::ED448, b"x", &[0; 57]),
        Err(CryptoError::UnsupportedSignatureScheme)
    );
    let p256 = HpkeConfig(
        HpkeKemType::DhKemP256,
        HpkeKdfType::HkdfSha256,
        HpkeAeadType::AesGcm128,
    );
    assert!(ours.derive_hpke_keypair(p256, &[1; 32]).is_err());
    let aes = HpkeConfig(
        HpkeKemType::DhKem25519,
        HpkeKdfType::HkdfSha256,
        HpkeAeadType::AesGcm128,
    );
    assert!(ours.hpke_seal(aes, &[9; 32], b"", b"", b"x").is_err());
    // Wrong lengths are errors, not panics.
    assert!(ours.sign(SignatureScheme::ED25519, b"x", &[1; 31]).is_err());
    assert!(ours
        .verify_signature(SignatureScheme::ED25519, b"x", &[1; 5], &[0; 64])
        .is_err());
    assert!(ours
        .aead_decrypt(AeadType::ChaCha20Poly1305, &[0; 31], b"x", &[0; 12], b"")
        .is_err());
    assert!(ours
        .aead_decrypt(AeadType::ChaCha20Poly1305, &[0; 32], b"x", &[0; 11], b"")
        .is_err());
    assert!(ours.derive_hpke_keypair(suite_hpke(), &[1; 31]).is_err());
    assert!(ours
        .hpke_seal(suite_hpke(), &[9; 31], b"", b"", b"x")
        .is_err());
    let random: [u8; 32] = ours.random_array().unwrap();
    assert_ne!(random, [0; 32]);
    assert_eq!(ours.random_vec(40).unwrap().len(), 40);
}

// ---- whole groups across the two providers ----

fn parse(bytes: &[u8]) -> MlsMessageBodyIn {
    MlsMessageIn::tls_deserialize_exact(bytes)
        .expect("an MLS message")
        .extract()
}

/// A member on openmls's reference provider, driven directly through openmls.
struct Reference {
    provider: OpenMlsRustCrypto,
    identity: Identity,
    mls: MlsGroup,
}

impl Reference {
    fn read(&mut self, bytes: &[u8]) -> ProcessedMessageContent {
        let message = MlsMessageIn::tls_deserialize_exact(bytes)
            .expect("an MLS message")
            .try_into_protocol_message()
            .expect("a protocol message");
        self.mls
            .process_message(&self.provider, message)
            .expect("the reference member reads it")
            .into_content()
    }

    fn send(&mut self, text: &[u8]) -> Vec<u8> {
        self.mls
            .create_message(&self.provider, &self.identity, text)
            .expect("encrypt")
            .tls_serialize_detached()
            .expect("encode")
    }

    /// Commits an update of its own leaf (its provider seals the path secrets to the
    /// other members) and merges it, as if the relay had ordered it first.
    fn self_update(&mut self) -> Vec<u8> {
        let bundle = self
            .mls
            .self_update(
                &self.provider,
                &self.identity,
                LeafNodeParameters::default(),
            )
            .expect("reference self-update");
        self.mls
            .merge_pending_commit(&self.provider)
            .expect("merge");
        bundle.commit().tls_serialize_detached().expect("encode")
    }

    fn safety_code(&self, group_id: &[u8]) -> SafetyCode {
        SafetyCode::derive(
            group_id,
            self.mls.epoch().as_u64(),
            self.mls.epoch_authenticator().as_slice(),
        )
    }
}

/// Messages both ways, then a self-update by each side (HPKE to the other's leaf),
/// then messages again; both sides agree on the epoch and safety code throughout.
fn exchange(ours: &mut Group, reference: &mut Reference, group_id: &[u8]) {
    let check = |ours: &Group, reference: &Reference| {
        assert_eq!(ours.epoch(), reference.mls.epoch().as_u64());
        assert_eq!(ours.safety_code(), reference.safety_code(group_id));
    };
    check(ours, reference);
    // Application messages travel on chains keyed from the epoch's forward-secure
    // export (PROTOCOL.md §9.14): the reference member's export opens what ours sealed.
    let gid: [u8; 16] = group_id.try_into().expect("a 16-byte group id");
    let round = |ours: &mut Group, reference: &mut Reference, _: u8| {
        let (sealed, _) = ours.encrypt(b"on a chain").expect("encrypt");
        let exported = Zeroizing::new(
            reference
                .mls
                .safe_export_secret(
                    reference.provider.crypto(),
                    reference.provider.storage(),
                    chains::COMPONENT_ID,
                )
                .expect("the reference member's export"),
        );
        let mut secret = Zeroizing::new([0u8; 32]);
        secret.copy_from_slice(&exported);
        let roster = ours
            .members()
            .into_iter()
            .map(|m| (m.leaf, m.identity))
            .collect();
        let mut theirs = chains::Chains::default();
        theirs
            .enter(
                ours.epoch(),
                reference.mls.epoch_authenticator().as_slice(),
                secret,
                roster,
            )
            .expect("enter");
        let parsed = chains::Parsed::parse(&sealed).expect("a chain message");
        let (_, plaintext) = theirs
            .open(&parsed, reference.mls.own_leaf_index().u32(), &gid, None)
            .expect("the reference member opens it");
        assert_eq!(&plaintext[..], b"on a chain");
        // An MLS application message is refused: there is one way to send a message.
        let mls_message = reference.send(b"not on a chain");
        assert!(matches!(
            ours.handle(&mls_message),
            Err(GroupError::Unauthentic)
        ));
    };
    round(ours, reference, 1);

    // The reference member updates its leaf: its provider seals path secrets to ours.
    let commit = reference.self_update();
    match ours.handle(&commit) {
        Ok(Incoming::Commit { kind, .. }) => assert_eq!(kind, CommitKind::Update),
        other => panic!("expected the reference member's update, got {other:?}"),
    }
    check(ours, reference);

    // Ours updates: vroom's provider seals to the reference member.
    let commit = ours.self_update().expect("self-update");
    assert!(matches!(ours.handle(&commit), Ok(Incoming::Commit { .. })));
    match reference.read(&commit) {
        ProcessedMessageContent::StagedCommitMessage(staged) => reference
            .mls
            .merge_staged_commit(&reference.provider, *staged)
            .expect("merge"),
        _ => panic!("expected a commit"),
    }
    check(ours, reference);
    round(ours, reference, 10);
}

fn join_config() -> MlsGroupJoinConfig {
    MlsGroupJoinConfig::builder()
        .wire_format_policy(PURE_CIPHERTEXT_WIRE_FORMAT_POLICY)
        .use_ratchet_tree_extension(true)
        .build()
}

#[test]
fn a_member_on_the_reference_provider_joins_a_group_made_on_ours() {
    let secret = RoomSecret::generate(&mut OsRng);
    let mut host = Group::create(Identity::generate(), &secret).expect("create");
    let provider = OpenMlsRustCrypto::default();
    let identity = Identity::generate();
    let bundle = KeyPackage::builder()
        .leaf_node_capabilities(room::capabilities())
        .build(SUITE, &provider, &identity, identity.credential_with_key())
        .expect("key package");
    let key_package = MlsMessageOut::from(bundle.key_package().clone())
        .tls_serialize_detached()
        .expect("encode");
    let commit = host.add(&key_package).expect("add");
    let welcome = match host.handle(&commit) {
        Ok(Incoming::Commit {
            welcome: Some(w), ..
        }) => w,
        other => panic!("expected the Welcome with the echo, got {other:?}"),
    };
    let MlsMessageBodyIn::Welcome(welcome) = parse(&welcome) else {
        panic!("not a Welcome");
    };
    let mls = StagedWelcome::new_from_welcome(&provider, &join_config(), welcome, None)
        .expect("the reference member opens our Welcome")
        .into_group(&provider)
        .expect("join");
    let mut reference = Reference {
        provider,
        identity,
        mls,
    };
    exchange(&mut host, &mut reference, &binding::group_id(&secret));
}

/// The bytes of a secret openmls keeps to itself but serializes (the numbers of its
/// serde form, in order).
fn secret_bytes(value: &serde_json::Value, out: &mut Vec<u8>) {
    match value {
        serde_json::Value::Number(n) => out.push(
            n.as_u64()
                .and_then(|n| u8::try_from(n).ok())
                .expect("a byte"),
        ),
        serde_json::Value::Array(items) => items.iter().for_each(|v| secret_bytes(v, out)),
        serde_json::Value::Object(fields) => fields.values().for_each(|v| secret_bytes(v, out)),
        _ => {}
    }
}

#[test]
fn the_chain_secret_is_the_export_tree_leaf_the_document_walks_to() {
    let secret = RoomSecret::generate(&mut OsRng);
    let mut host = Group::create(Identity::generate(), &secret).expect("create");
    let provider = OpenMlsRustCrypto::default();
    let identity = Identity::generate();
    let bundle = KeyPackage::builder()
        .leaf_node_capabilities(room::capabilities())
        .build(SUITE, &provider, &identity, identity.credential_with_key())
        .expect("key package");
    let key_package = MlsMessageOut::from(bundle.key_package().clone())
        .tls_serialize_detached()
        .expect("encode");
    let commit = host.add(&key_package).expect("add");
    let Ok(Incoming::Commit {
        welcome: Some(welcome),
        ..
    }) = host.handle(&commit)
    else {
        panic!("expected the Welcome with the echo");
    };
    let MlsMessageBodyIn::Welcome(welcome) = parse(&welcome) else {
        panic!("not a Welcome");
    };
    let staged = StagedWelcome::new_from_welcome(&provider, &join_config(), welcome, None)
        .expect("the reference member opens our Welcome");
    let mut application_export = Vec::new();
    secret_bytes(
        &serde_json::to_value(staged.application_export_secret()).expect("serde"),
        &mut application_export,
    );
    let application_export: [u8; 32] = application_export.try_into().expect("32 bytes");
    let mut mls = staged.into_group(&provider).expect("join");
    let exported = mls
        .safe_export_secret(provider.crypto(), provider.storage(), chains::COMPONENT_ID)
        .expect("export");
    assert_eq!(
        exported,
        super::chain_vectors::chain_secret(&application_export)
    );
    // Once: the leaf is punctured.
    assert!(mls
        .safe_export_secret(provider.crypto(), provider.storage(), chains::COMPONENT_ID)
        .is_err());
    // The host, on vroom's provider, derived the same: what it seals opens with it.
    let (sealed, _) = host.encrypt(b"same secret").expect("encrypt");
    let roster = host
        .members()
        .into_iter()
        .map(|m| (m.leaf, m.identity))
        .collect();
    let mut theirs = chains::Chains::default();
    let mut chain_secret = Zeroizing::new([0u8; 32]);
    chain_secret.copy_from_slice(&exported);
    theirs
        .enter(
            host.epoch(),
            mls.epoch_authenticator().as_slice(),
            chain_secret,
            roster,
        )
        .expect("enter");
    let parsed = chains::Parsed::parse(&sealed).expect("a chain message");
    let (_, plaintext) = theirs
        .open(
            &parsed,
            mls.own_leaf_index().u32(),
            &binding::group_id(&secret),
            None,
        )
        .expect("opens");
    assert_eq!(&plaintext[..], b"same secret");
}

#[test]
fn a_member_on_ours_joins_a_group_made_on_the_reference_provider() {
    let secret = RoomSecret::generate(&mut OsRng);
    let provider = OpenMlsRustCrypto::default();
    let identity = Identity::generate();
    let host_key = identity.public().signature_key;
    let extensions = Extensions::from_vec(vec![
        Extension::RequiredCapabilities(RequiredCapabilitiesExtension::new(
            &[ExtensionType::Unknown(ROOM_EXTENSION_TYPE)],
            &[],
            &[],
        )),
        Extension::Unknown(
            ROOM_EXTENSION_TYPE,
            UnknownExtension(binding::room_extension(&secret, &host_key)),
        ),
    ])
    .expect("extensions");
    let config = MlsGroupCreateConfig::builder()
        .ciphersuite(SUITE)
        .wire_format_policy(PURE_CIPHERTEXT_WIRE_FORMAT_POLICY)
        .use_ratchet_tree_extension(true)
        .capabilities(room::capabilities())
        .with_group_context_extensions(extensions)
        .build();
    let group_id = binding::group_id(&secret);
    let mut mls = MlsGroup::new_with_group_id(
        &provider,
        &identity,
        &config,
        GroupId::from_slice(&group_id),
        identity.credential_with_key(),
    )
    .expect("reference group");
    let mut joiner = Joiner::new(Identity::generate()).expect("key package");
    let MlsMessageBodyIn::KeyPackage(key_package) = parse(joiner.key_package()) else {
        panic!("not a key package");
    };
    let key_package = key_package
        .validate(provider.crypto(), ProtocolVersion::Mls10)
        .expect("our key package is valid for the reference provider");
    let (_commit, welcome, _) = mls
        .add_members(&provider, &identity, &[key_package])
        .expect("add");
    mls.merge_pending_commit(&provider).expect("merge");
    let welcome = welcome.tls_serialize_detached().expect("encode");
    let mut member = joiner
        .join(&secret, &welcome)
        .expect("we open the reference provider's Welcome");
    assert_eq!(member.host_key(), host_key);
    assert!(!member.is_host());
    let mut reference = Reference {
        provider,
        identity,
        mls,
    };
    exchange(&mut member, &mut reference, &group_id);
}

// ---- the group state store ----

const V: u16 = CURRENT_VERSION;

#[derive(serde::Serialize)]
struct PublicKey(Vec<u8>);
impl Key<V> for PublicKey {}
impl traits::EncryptionKey<V> for PublicKey {}
impl traits::GroupId<V> for PublicKey {}
impl traits::EpochKey<V> for PublicKey {}

#[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
struct KeyPair {
    private: Vec<u8>,
    public: Vec<u8>,
    tag: Option<u64>,
}
impl Entity<V> for KeyPair {}
impl traits::HpkeKeyPair<V> for KeyPair {}

#[test]
fn the_store_gives_back_what_it_holds_and_nothing_after_a_delete() {
    let store = Storage::default();
    let key = PublicKey(vec![1; 32]);
    let pair = |b: u8| KeyPair {
        private: vec![b; 32],
        public: vec![b ^ 0xff; 32],
        tag: Some(u64::MAX - u64::from(b)),
    };
    store.write_encryption_key_pair(&key, &pair(7)).unwrap();
    assert_eq!(store.entries(), 1);
    let read: Option<KeyPair> = store.encryption_key_pair(&key).unwrap();
    assert_eq!(read, Some(pair(7)));
    // An overwrite replaces (the old value's buffer is zeroized as it drops).
    store.write_encryption_key_pair(&key, &pair(8)).unwrap();
    assert_eq!(store.entries(), 1);
    let read: Option<KeyPair> = store.encryption_key_pair(&key).unwrap();
    assert_eq!(read, Some(pair(8)));
    // Another key, and a list under a composite key.
    let other = PublicKey(vec![2; 32]);
    let read: Option<KeyPair> = store.encryption_key_pair(&other).unwrap();
    assert_eq!(read, None);
    let epoch = PublicKey(vec![0, 0, 0, 5]);
    store
        .write_encryption_epoch_key_pairs(&other, &epoch, 3, &[pair(1), pair(2)])
        .unwrap();
    let read: Vec<KeyPair> = store.encryption_epoch_key_pairs(&other, &epoch, 3).unwrap();
    assert_eq!(read, vec![pair(1), pair(2)]);
    let read: Vec<KeyPair> = store.encryption_epoch_key_pairs(&other, &epoch, 4).unwrap();
    assert!(read.is_empty());
    assert_eq!(store.entries(), 2);

    StorageProvider::<V>::delete_encryption_key_pair(&store, &key).unwrap();
    let read: Option<KeyPair> = store.encryption_key_pair(&key).unwrap();
    assert_eq!(read, None);
    StorageProvider::<V>::delete_encryption_epoch_key_pairs(&store, &other, &epoch, 3).unwrap();
    let read: Vec<KeyPair> = store.encryption_epoch_key_pairs(&other, &epoch, 3).unwrap();
    assert!(read.is_empty());
    assert_eq!(store.entries(), 0);
}

fn to_protocol(bytes: &[u8]) -> ProtocolMessage {
    MlsMessageIn::tls_deserialize_exact(bytes)
        .expect("message")
        .try_into_protocol_message()
        .expect("protocol message")
}

/// A group of two made on `provider` (the other member on the reference provider),
/// after one message; returns the group and the other member.
fn group_of_two_on(provider: &impl OpenMlsProvider, identity: &Identity) -> (MlsGroup, Reference) {
    let config = MlsGroupCreateConfig::builder()
        .ciphersuite(SUITE)
        .wire_format_policy(PURE_CIPHERTEXT_WIRE_FORMAT_POLICY)
        .use_ratchet_tree_extension(true)
        .build();
    let mut mls = MlsGroup::new(provider, identity, &config, identity.credential_with_key())
        .expect("group on our crypto");
    let other_provider = OpenMlsRustCrypto::default();
    let other = Identity::generate();
    let bundle = KeyPackage::builder()
        .build(SUITE, &other_provider, &other, other.credential_with_key())
        .expect("key package");
    let (_, welcome, _) = mls
        .add_members(provider, identity, &[bundle.key_package().clone()])
        .expect("add");
    mls.merge_pending_commit(provider).expect("merge");
    let MlsMessageBodyIn::Welcome(welcome) =
        parse(&welcome.tls_serialize_detached().expect("encode"))
    else {
        panic!("not a Welcome");
    };
    let other_mls = StagedWelcome::new_from_welcome(&other_provider, &join_config(), welcome, None)
        .expect("welcome")
        .into_group(&other_provider)
        .expect("join");
    let mut reference = Reference {
        provider: other_provider,
        identity: other,
        mls: other_mls,
    };
    let sealed = mls
        .create_message(provider, identity, b"before")
        .expect("encrypt")
        .tls_serialize_detached()
        .expect("encode");
    match reference.read(&sealed) {
        ProcessedMessageContent::ApplicationMessage(m) => assert_eq!(m.into_bytes(), b"before"),
        _ => panic!("expected an application message"),
    }
    (mls, reference)
}

#[test]
fn the_store_keeps_the_working_set_only() {
    // The group's state is not encoded after every message nor copied into the store;
    // what openmls reads back while the group lives is.
    let provider = Provider::default();
    let identity = Identity::generate();
    let (mut mls, mut reference) = group_of_two_on(&provider, &identity);
    assert!(MlsGroup::load(provider.storage(), mls.group_id())
        .expect("the store reads back")
        .is_none());
    let kept = provider.storage().entries();
    assert!(kept >= 1, "the epoch's encryption key pairs are kept");
    // Messages add nothing to the store.
    for n in 0..5u8 {
        let sealed = mls
            .create_message(&provider, &identity, &[n; 10])
            .expect("encrypt")
            .tls_serialize_detached()
            .expect("encode");
        reference.read(&sealed);
        let reply = reference.send(&[n; 3]);
        mls.process_message(&provider, to_protocol(&reply))
            .expect("read the reply");
    }
    assert_eq!(provider.storage().entries(), kept);
    // A commit from the other member needs the kept key pairs to open its path.
    let commit = reference.self_update();
    match mls
        .process_message(&provider, to_protocol(&commit))
        .expect("process the commit")
        .into_content()
    {
        ProcessedMessageContent::StagedCommitMessage(staged) => {
            mls.merge_staged_commit(&provider, *staged).expect("merge")
        }
        _ => panic!("expected a commit"),
    }
    assert_eq!(mls.epoch(), reference.mls.epoch());
}
