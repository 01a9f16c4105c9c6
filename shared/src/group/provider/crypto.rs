//! [`SuiteCrypto`]: openmls's cryptography for suite 0x0003 only
//! (`MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519`), on the crates the rest of
//! vroom already uses: SHA-256 and HKDF-SHA256 (`sha2`, `hkdf`, `hmac`),
//! ChaCha20-Poly1305 (`chacha20poly1305`), Ed25519 (`ed25519-dalek`) and, for HPKE
//! (RFC 9180, base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305),
//! the `hpke` crate with only its X25519 KEM.
//!
//! Every algorithm is a type chosen at compile time, so nothing else is linked; any
//! other suite, hash, AEAD, signature scheme or HPKE configuration is refused with the
//! trait's "unsupported" error. Randomness is the operating system's
//! (`crypto.getRandomValues` in a browser), drawn fallibly.

use std::cell::Cell;

use chacha20poly1305::aead::{Aead as _, KeyInit as _, Payload};
use chacha20poly1305::ChaCha20Poly1305;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use hpke::aead::ChaCha20Poly1305 as HpkeChaCha;
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable as _, Kem as _, OpModeR, OpModeS, Serializable as _};
use openmls_traits::crypto::OpenMlsCrypto;
use openmls_traits::random::OpenMlsRand;
use openmls_traits::types::{
    AeadType, Ciphersuite, CryptoError, ExporterSecret, HashType, HpkeAeadType, HpkeCiphertext,
    HpkeConfig, HpkeKdfType, HpkeKemType, HpkeKeyPair, KemOutput, SignatureScheme,
};
use rand_core::{OsRng, RngCore as _};
use sha2::{Digest as _, Sha256};
use tls_codec::SecretVLBytes;
use zeroize::Zeroizing;

/// The one suite this provider implements.
const SUITE: Ciphersuite = Ciphersuite::MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519;
/// RFC 9180's DeriveKeyPair takes at least Nsk (32) bytes of input keying material.
const MIN_IKM: usize = 32;

/// openmls's crypto and randomness for suite 0x0003, and nothing else. Holds no state:
/// randomness comes from the operating system on each call.
#[derive(Clone, Copy, Debug, Default)]
pub struct SuiteCrypto;

/// The operating system's generator failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RandomnessUnavailable;

impl core::fmt::Display for RandomnessUnavailable {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("the operating system's random number generator failed")
    }
}

impl std::error::Error for RandomnessUnavailable {}

fn fill_random(buf: &mut [u8]) -> Result<(), CryptoError> {
    OsRng
        .try_fill_bytes(buf)
        .map_err(|_| CryptoError::InsufficientRandomness)
}

/// The generator `hpke` draws its ephemeral keys from (its `rand_core` is another major
/// version than vroom's): the operating system's, with a failure remembered instead of
/// a panic, so the caller can refuse the result.
#[derive(Default)]
struct HpkeRng {
    failed: Cell<bool>,
}

impl hpke::rand_core::RngCore for HpkeRng {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }

    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }

    fn fill_bytes(&mut self, dst: &mut [u8]) {
        if fill_random(dst).is_err() {
            dst.fill(0);
            self.failed.set(true);
        }
    }
}

impl hpke::rand_core::CryptoRng for HpkeRng {}

impl HpkeRng {
    fn check(&self) -> Result<(), CryptoError> {
        if self.failed.get() {
            Err(CryptoError::InsufficientRandomness)
        } else {
            Ok(())
        }
    }
}

fn sha256(hash: HashType) -> Result<(), CryptoError> {
    match hash {
        HashType::Sha2_256 => Ok(()),
        _ => Err(CryptoError::UnsupportedHashAlgorithm),
    }
}

/// The suite's AEAD under `key`, and `nonce` checked for its length.
fn chacha<'n>(
    alg: AeadType,
    key: &[u8],
    nonce: &'n [u8],
) -> Result<(ChaCha20Poly1305, &'n chacha20poly1305::Nonce), CryptoError> {
    if alg != AeadType::ChaCha20Poly1305 {
        return Err(CryptoError::UnsupportedAeadAlgorithm);
    }
    let cipher = ChaCha20Poly1305::new_from_slice(key).map_err(|_| CryptoError::InvalidLength)?;
    if nonce.len() != 12 {
        return Err(CryptoError::InvalidLength);
    }
    Ok((cipher, chacha20poly1305::Nonce::from_slice(nonce)))
}

fn ed25519(alg: SignatureScheme) -> Result<(), CryptoError> {
    match alg {
        SignatureScheme::ED25519 => Ok(()),
        _ => Err(CryptoError::UnsupportedSignatureScheme),
    }
}

/// Only DHKEM(X25519, HKDF-SHA256) with HKDF-SHA256 and ChaCha20-Poly1305.
fn hpke_suite(config: &HpkeConfig) -> Result<(), CryptoError> {
    match config {
        HpkeConfig(
            HpkeKemType::DhKem25519,
            HpkeKdfType::HkdfSha256,
            HpkeAeadType::ChaCha20Poly1305,
        ) => Ok(()),
        _ => Err(CryptoError::UnsupportedCiphersuite),
    }
}

type Kem = X25519HkdfSha256;

fn public_key(bytes: &[u8]) -> Result<<Kem as hpke::Kem>::PublicKey, CryptoError> {
    <Kem as hpke::Kem>::PublicKey::from_bytes(bytes).map_err(|_| CryptoError::InvalidPublicKey)
}

fn private_key(bytes: &[u8]) -> Result<<Kem as hpke::Kem>::PrivateKey, CryptoError> {
    <Kem as hpke::Kem>::PrivateKey::from_bytes(bytes).map_err(|_| CryptoError::InvalidLength)
}

fn encapped_key(bytes: &[u8]) -> Result<<Kem as hpke::Kem>::EncappedKey, CryptoError> {
    <Kem as hpke::Kem>::EncappedKey::from_bytes(bytes).map_err(|_| CryptoError::InvalidLength)
}

fn secret(bytes: &[u8]) -> SecretVLBytes {
    #[allow(deprecated)]
    SecretVLBytes::from(bytes)
}

impl OpenMlsCrypto for SuiteCrypto {
    fn supports(&self, ciphersuite: Ciphersuite) -> Result<(), CryptoError> {
        if ciphersuite == SUITE {
            Ok(())
        } else {
            Err(CryptoError::UnsupportedCiphersuite)
        }
    }

    fn supported_ciphersuites(&self) -> Vec<Ciphersuite> {
        vec![SUITE]
    }

    fn hkdf_extract(
        &self,
        hash_type: HashType,
        salt: &[u8],
        ikm: &[u8],
    ) -> Result<SecretVLBytes, CryptoError> {
        sha256(hash_type)?;
        let (prk, _) = Hkdf::<Sha256>::extract(Some(salt), ikm);
        let prk = Zeroizing::new(<[u8; 32]>::from(prk));
        Ok(secret(&prk[..]))
    }

    fn hmac(
        &self,
        hash_type: HashType,
        key: &[u8],
        message: &[u8],
    ) -> Result<SecretVLBytes, CryptoError> {
        sha256(hash_type)?;
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(key).map_err(|_| CryptoError::InvalidLength)?;
        mac.update(message);
        let tag = Zeroizing::new(<[u8; 32]>::from(mac.finalize().into_bytes()));
        Ok(secret(&tag[..]))
    }

    fn hkdf_expand(
        &self,
        hash_type: HashType,
        prk: &[u8],
        info: &[u8],
        okm_len: usize,
    ) -> Result<SecretVLBytes, CryptoError> {
        sha256(hash_type)?;
        let hkdf =
            Hkdf::<Sha256>::from_prk(prk).map_err(|_| CryptoError::HkdfOutputLengthInvalid)?;
        let mut okm = vec![0u8; okm_len];
        hkdf.expand(info, &mut okm)
            .map_err(|_| CryptoError::HkdfOutputLengthInvalid)?;
        Ok(SecretVLBytes::new(okm))
    }

    fn hash(&self, hash_type: HashType, data: &[u8]) -> Result<Vec<u8>, CryptoError> {
        sha256(hash_type)?;
        Ok(Sha256::digest(data).to_vec())
    }

    fn aead_encrypt(
        &self,
        alg: AeadType,
        key: &[u8],
        data: &[u8],
        nonce: &[u8],
        aad: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let (cipher, nonce) = chacha(alg, key, nonce)?;
        cipher
            .encrypt(nonce, Payload { msg: data, aad })
            .map_err(|_| CryptoError::CryptoLibraryError)
    }

    fn aead_decrypt(
        &self,
        alg: AeadType,
        key: &[u8],
        ct_tag: &[u8],
        nonce: &[u8],
        aad: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let (cipher, nonce) = chacha(alg, key, nonce)?;
        cipher
            .decrypt(nonce, Payload { msg: ct_tag, aad })
            .map_err(|_| CryptoError::AeadDecryptionError)
    }

    fn signature_key_gen(&self, alg: SignatureScheme) -> Result<(Vec<u8>, Vec<u8>), CryptoError> {
        ed25519(alg)?;
        let mut seed = Zeroizing::new([0u8; 32]);
        fill_random(&mut seed[..])?;
        let key = SigningKey::from_bytes(&seed);
        Ok((seed.to_vec(), key.verifying_key().to_bytes().to_vec()))
    }

    fn verify_signature(
        &self,
        alg: SignatureScheme,
        data: &[u8],
        pk: &[u8],
        signature: &[u8],
    ) -> Result<(), CryptoError> {
        ed25519(alg)?;
        let pk: &[u8; 32] = pk.try_into().map_err(|_| CryptoError::InvalidLength)?;
        let key = VerifyingKey::from_bytes(pk).map_err(|_| CryptoError::InvalidPublicKey)?;
        let signature = ed25519_dalek::Signature::from_slice(signature)
            .map_err(|_| CryptoError::InvalidSignature)?;
        key.verify_strict(data, &signature)
            .map_err(|_| CryptoError::InvalidSignature)
    }

    fn sign(&self, alg: SignatureScheme, data: &[u8], key: &[u8]) -> Result<Vec<u8>, CryptoError> {
        ed25519(alg)?;
        let seed: &[u8; 32] = key.try_into().map_err(|_| CryptoError::InvalidLength)?;
        Ok(SigningKey::from_bytes(seed).sign(data).to_bytes().to_vec())
    }

    fn hpke_seal(
        &self,
        config: HpkeConfig,
        pk_r: &[u8],
        info: &[u8],
        aad: &[u8],
        ptxt: &[u8],
    ) -> Result<HpkeCiphertext, CryptoError> {
        hpke_suite(&config)?;
        let pk = public_key(pk_r)?;
        let mut rng = HpkeRng::default();
        let sealed = hpke::single_shot_seal::<HpkeChaCha, HkdfSha256, Kem, _>(
            &OpModeS::Base,
            &pk,
            info,
            ptxt,
            aad,
            &mut rng,
        );
        rng.check()?;
        let (enc, ciphertext) = sealed.map_err(|_| CryptoError::HpkeEncryptionError)?;
        Ok(HpkeCiphertext {
            kem_output: enc.to_bytes().to_vec().into(),
            ciphertext: ciphertext.into(),
        })
    }

    fn hpke_open(
        &self,
        config: HpkeConfig,
        input: &HpkeCiphertext,
        sk_r: &[u8],
        info: &[u8],
        aad: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        hpke_suite(&config)?;
        let sk = private_key(sk_r)?;
        let enc = encapped_key(input.kem_output.as_slice())
            .map_err(|_| CryptoError::HpkeDecryptionError)?;
        hpke::single_shot_open::<HpkeChaCha, HkdfSha256, Kem>(
            &OpModeR::Base,
            &sk,
            &enc,
            info,
            input.ciphertext.as_slice(),
            aad,
        )
        .map_err(|_| CryptoError::HpkeDecryptionError)
    }

    fn hpke_setup_sender_and_export(
        &self,
        config: HpkeConfig,
        pk_r: &[u8],
        info: &[u8],
        exporter_context: &[u8],
        exporter_length: usize,
    ) -> Result<(KemOutput, ExporterSecret), CryptoError> {
        hpke_suite(&config)?;
        let pk = public_key(pk_r)?;
        let mut rng = HpkeRng::default();
        let setup = hpke::setup_sender::<HpkeChaCha, HkdfSha256, Kem, _>(
            &OpModeS::Base,
            &pk,
            info,
            &mut rng,
        );
        rng.check()?;
        let (enc, context) = setup.map_err(|_| CryptoError::SenderSetupError)?;
        let mut exported = Zeroizing::new(vec![0u8; exporter_length]);
        context
            .export(exporter_context, &mut exported)
            .map_err(|_| CryptoError::ExporterError)?;
        Ok((
            enc.to_bytes().to_vec(),
            ExporterSecret::from(exported.to_vec()),
        ))
    }

    fn hpke_setup_receiver_and_export(
        &self,
        config: HpkeConfig,
        enc: &[u8],
        sk_r: &[u8],
        info: &[u8],
        exporter_context: &[u8],
        exporter_length: usize,
    ) -> Result<ExporterSecret, CryptoError> {
        hpke_suite(&config)?;
        let sk = private_key(sk_r)?;
        let enc = encapped_key(enc).map_err(|_| CryptoError::ReceiverSetupError)?;
        let context =
            hpke::setup_receiver::<HpkeChaCha, HkdfSha256, Kem>(&OpModeR::Base, &sk, &enc, info)
                .map_err(|_| CryptoError::ReceiverSetupError)?;
        let mut exported = Zeroizing::new(vec![0u8; exporter_length]);
        context
            .export(exporter_context, &mut exported)
            .map_err(|_| CryptoError::ExporterError)?;
        Ok(ExporterSecret::from(exported.to_vec()))
    }

    fn derive_hpke_keypair(
        &self,
        config: HpkeConfig,
        ikm: &[u8],
    ) -> Result<HpkeKeyPair, CryptoError> {
        hpke_suite(&config)?;
        if ikm.len() < MIN_IKM {
            return Err(CryptoError::InvalidLength);
        }
        let (private, public) = Kem::derive_keypair(ikm);
        let private = Zeroizing::new(<[u8; 32]>::from(private.to_bytes()));
        Ok(HpkeKeyPair {
            private: private[..].into(),
            public: public.to_bytes().to_vec(),
        })
    }
}

impl OpenMlsRand for SuiteCrypto {
    type Error = RandomnessUnavailable;

    fn random_array<const N: usize>(&self) -> Result<[u8; N], Self::Error> {
        let mut out = [0u8; N];
        fill_random(&mut out).map_err(|_| RandomnessUnavailable)?;
        Ok(out)
    }

    fn random_vec(&self, len: usize) -> Result<Vec<u8>, Self::Error> {
        let mut out = vec![0u8; len];
        fill_random(&mut out).map_err(|_| RandomnessUnavailable)?;
        Ok(out)
    }
}
