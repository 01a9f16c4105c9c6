//! A member's identity in a version-2 group: its Ed25519 signature key pair, the
//! credential that carries a fresh random client id, and the fingerprint members compare.
//!
//! The relay assigns member ids, so a member id proves nothing and is not in the
//! credential. The credential is an MLS basic credential whose identity is 16 random
//! bytes drawn for this room; with the signature public key it is what the group
//! authenticates, and what a fingerprint names. A client that rejoins draws a new one.

use ed25519_dalek::{Signer as _, SigningKey};
use openmls::prelude::{BasicCredential, Credential, CredentialWithKey, SignaturePublicKey};
use openmls_traits::signatures::{Signer, SignerError};
use openmls_traits::types::SignatureScheme;
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};

use super::GroupError;
use crate::crypto::words::WORDS;

/// Length of the random client id inside a credential.
pub const CLIENT_ID_LEN: usize = 16;
/// Bytes of a fingerprint (80 bits), one word each.
pub const FINGERPRINT_LEN: usize = 10;
const LABEL_FINGERPRINT: &[u8] = b"vroom/v2/fingerprint";
/// Prefix of a direct message's signature. Everything a member signs outside MLS (a
/// direct message, a chain message, a rejoin proof) begins with a `vroom/v2/` label of
/// its own; MLS signs only `SignContent` structures, which begin with a length and
/// `"MLS 1.0 "`, so none of them overlap.
pub const LABEL_DIRECT_SIGNATURE: &[u8] = b"vroom/v2/direct-signature";
/// Prefix of a rejoin proof: a member asking to be added again under its relay id signs
/// its new join request with its old leaf's key (PROTOCOL.md §7.1).
pub const LABEL_REJOIN_SIGNATURE: &[u8] = b"vroom/v2/rejoin-signature";

/// Prefix of a host's return proof: a host that rejoined signs its new leaf's key with
/// its old host key (PROTOCOL.md §9.3), as `LABEL_HOST_RETURN ‖ group_id ‖ new_key`.
pub const LABEL_HOST_RETURN: &[u8] = b"vroom/v2/host-return";

/// Whether `signature` is the old host key's return proof for `new_key` in the group
/// `group_id` (strictly verified).
pub fn verify_return(
    old_host: &[u8; 32],
    group_id: &[u8],
    new_key: &[u8; 32],
    signature: &[u8; 64],
) -> bool {
    let mut statement = group_id.to_vec();
    statement.extend_from_slice(new_key);
    verify_labelled(LABEL_HOST_RETURN, old_host, &statement, signature)
}

/// Whether `signature` is the Ed25519 signature (strictly verified) of
/// `LABEL_DIRECT_SIGNATURE ‖ statement` under the member key `signature_key`.
pub fn verify_direct(signature_key: &[u8; 32], statement: &[u8], signature: &[u8; 64]) -> bool {
    verify_labelled(LABEL_DIRECT_SIGNATURE, signature_key, statement, signature)
}

/// Whether `signature` is the Ed25519 signature (strictly verified) of
/// `LABEL_REJOIN_SIGNATURE ‖ statement` under the member key `signature_key`.
pub fn verify_rejoin(signature_key: &[u8; 32], statement: &[u8], signature: &[u8; 64]) -> bool {
    verify_labelled(LABEL_REJOIN_SIGNATURE, signature_key, statement, signature)
}

/// Whether `signature` is the Ed25519 signature (strictly verified) of
/// `label ‖ statement` under `signature_key`.
pub(crate) fn verify_labelled(
    label: &[u8],
    signature_key: &[u8; 32],
    statement: &[u8],
    signature: &[u8; 64],
) -> bool {
    let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(signature_key) else {
        return false;
    };
    let mut message = label.to_vec();
    message.extend_from_slice(statement);
    key.verify_strict(&message, &ed25519_dalek::Signature::from_bytes(signature))
        .is_ok()
}

/// A member's signing key, able to sign rejoin proofs (PROTOCOL.md §7.3) and nothing
/// else. No `Debug`; zeroized on drop.
pub struct RejoinSigner(SigningKey);

impl RejoinSigner {
    /// Signs `LABEL_REJOIN_SIGNATURE ‖ statement`.
    pub fn sign(&self, statement: &[u8]) -> [u8; 64] {
        let mut message = LABEL_REJOIN_SIGNATURE.to_vec();
        message.extend_from_slice(statement);
        self.0.sign(&message).to_bytes()
    }

    /// The public signature key this signer signs for.
    pub fn signature_key(&self) -> [u8; 32] {
        self.0.verifying_key().to_bytes()
    }

    /// Signs a host's return proof: `LABEL_HOST_RETURN ‖ group_id ‖ new_key`.
    pub(crate) fn sign_return(&self, group_id: &[u8], new_key: &[u8; 32]) -> [u8; 64] {
        let mut message = LABEL_HOST_RETURN.to_vec();
        message.extend_from_slice(group_id);
        message.extend_from_slice(new_key);
        self.0.sign(&message).to_bytes()
    }
}

/// This member's signing key and client id. No `Debug`, no `Clone`; the signing key is
/// zeroized on drop (ed25519-dalek's `zeroize` feature).
pub struct Identity {
    signing: SigningKey,
    client_id: [u8; CLIENT_ID_LEN],
}

impl Identity {
    /// A fresh identity from the operating system's generator.
    pub fn generate() -> Self {
        let mut client_id = [0u8; CLIENT_ID_LEN];
        OsRng.fill_bytes(&mut client_id);
        Identity {
            signing: SigningKey::generate(&mut OsRng),
            client_id,
        }
    }

    /// The identity of a saved client id and Ed25519 secret key (as [`Identity::secret`]
    /// gave them): a member resuming after a page reload keeps its fingerprint.
    pub(crate) fn from_secret(client_id: [u8; CLIENT_ID_LEN], signing: &[u8; 32]) -> Self {
        Identity {
            signing: SigningKey::from_bytes(signing),
            client_id,
        }
    }

    /// The client id and the Ed25519 secret key, to save this identity (zeroized when
    /// dropped). Whoever holds them can act as this member.
    pub(crate) fn secret(&self) -> ([u8; CLIENT_ID_LEN], zeroize::Zeroizing<[u8; 32]>) {
        (
            self.client_id,
            zeroize::Zeroizing::new(self.signing.to_bytes()),
        )
    }

    /// The public part: what other members see.
    pub fn public(&self) -> PublicIdentity {
        PublicIdentity {
            client_id: self.client_id,
            signature_key: self.signing.verifying_key().to_bytes(),
        }
    }

    /// Signs `label ‖ statement` (`label` is one of this module's signature labels).
    pub(crate) fn sign_labelled(&self, label: &[u8], statement: &[u8]) -> [u8; 64] {
        let mut message = label.to_vec();
        message.extend_from_slice(statement);
        self.signing.sign(&message).to_bytes()
    }

    /// A copy of the signing key that can sign rejoin proofs only (kept after the group
    /// state it belonged to is dropped).
    pub(crate) fn rejoin_signer(&self) -> RejoinSigner {
        RejoinSigner(self.signing.clone())
    }

    /// The MLS credential (basic, the client id) and the leaf's signature key.
    pub fn credential_with_key(&self) -> CredentialWithKey {
        let public = self.public();
        CredentialWithKey {
            credential: BasicCredential::new(public.client_id.to_vec()).into(),
            signature_key: SignaturePublicKey::from(public.signature_key.to_vec()),
        }
    }
}

impl Signer for Identity {
    fn sign(&self, payload: &[u8]) -> Result<Vec<u8>, SignerError> {
        Ok(self.signing.sign(payload).to_bytes().to_vec())
    }

    fn signature_scheme(&self) -> SignatureScheme {
        SignatureScheme::ED25519
    }
}

/// A member as the group knows it: client id and signature public key (the canonical
/// encodings the fingerprint is computed over).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PublicIdentity {
    /// The random id in the member's credential.
    pub client_id: [u8; CLIENT_ID_LEN],
    /// The member's Ed25519 public key (RFC 8032 encoding).
    pub signature_key: [u8; 32],
}

impl PublicIdentity {
    /// Reads a member's identity from its MLS credential and signature key; anything
    /// but a basic credential with a 16-byte id and a 32-byte key is refused.
    pub(crate) fn from_parts(
        credential: &Credential,
        signature_key: &[u8],
    ) -> Result<Self, GroupError> {
        let basic =
            BasicCredential::try_from(credential.clone()).map_err(|_| GroupError::Unauthentic)?;
        let client_id = basic
            .identity()
            .try_into()
            .map_err(|_| GroupError::Unauthentic)?;
        let signature_key = signature_key
            .try_into()
            .map_err(|_| GroupError::Unauthentic)?;
        Ok(PublicIdentity {
            client_id,
            signature_key,
        })
    }

    /// The fingerprint members compare out of band to tell each other apart:
    /// `SHA-256("vroom/v2/fingerprint" ‖ client_id ‖ signature_key)`, first 10 bytes.
    pub fn fingerprint(&self) -> Fingerprint {
        let digest = Sha256::new()
            .chain_update(LABEL_FINGERPRINT)
            .chain_update(self.client_id)
            .chain_update(self.signature_key)
            .finalize();
        let mut bytes = [0u8; FINGERPRINT_LEN];
        bytes.copy_from_slice(&digest[..FINGERPRINT_LEN]);
        Fingerprint(bytes)
    }
}

/// 80 bits that name one member; shown as ten words of the fixed word list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Fingerprint(pub [u8; FINGERPRINT_LEN]);

impl Fingerprint {
    /// The ten words, in order.
    pub fn words(&self) -> [&'static str; FINGERPRINT_LEN] {
        self.0.map(|b| WORDS[usize::from(b)])
    }
}

impl core::fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.words().join("-"))
    }
}
