//! The standard primitives vroom relies on, checked against their published vectors, so
//! a wrong dependency version or feature cannot silently change the cryptography.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, XChaCha20Poly1305};
use ed25519_dalek::{Signer, SigningKey, Verifier};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;

fn h(s: &str) -> Vec<u8> {
    hex::decode(s).expect("valid hex in a test vector")
}

fn h32(s: &str) -> [u8; 32] {
    h(s).try_into().expect("32 bytes")
}

#[test]
fn x25519_rfc7748_section_5_2() {
    let out = x25519_dalek::x25519(
        h32("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4"),
        h32("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c"),
    );
    assert_eq!(
        hex::encode(out),
        "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"
    );
}

#[test]
fn x25519_rfc7748_section_6_1() {
    let alice = x25519_dalek::StaticSecret::from(h32(
        "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
    ));
    let bob = x25519_dalek::StaticSecret::from(h32(
        "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
    ));
    let alice_pub = x25519_dalek::PublicKey::from(&alice);
    let bob_pub = x25519_dalek::PublicKey::from(&bob);
    assert_eq!(
        hex::encode(alice_pub.as_bytes()),
        "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
    );
    assert_eq!(
        hex::encode(bob_pub.as_bytes()),
        "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"
    );
    let shared = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";
    assert_eq!(
        hex::encode(alice.diffie_hellman(&bob_pub).as_bytes()),
        shared
    );
    assert_eq!(
        hex::encode(bob.diffie_hellman(&alice_pub).as_bytes()),
        shared
    );
}

#[test]
fn ed25519_rfc8032_tests_1_and_2() {
    let cases = [
        (
            "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
            "",
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
        ),
        (
            "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
            "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
            "72",
            "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
        ),
    ];
    for (secret, public, msg, sig) in cases {
        let key = SigningKey::from_bytes(&h32(secret));
        assert_eq!(hex::encode(key.verifying_key().as_bytes()), public);
        let signature = key.sign(&h(msg));
        assert_eq!(hex::encode(signature.to_bytes()), sig);
        key.verifying_key()
            .verify(&h(msg), &signature)
            .expect("the RFC signature verifies");
        assert!(key
            .verifying_key()
            .verify(b"another message", &signature)
            .is_err());
    }
}

#[test]
fn hkdf_sha256_rfc5869_cases_1_and_3() {
    let ikm = [0x0b; 22];
    let (prk, hk) = Hkdf::<Sha256>::extract(Some(&h("000102030405060708090a0b0c")), &ikm);
    assert_eq!(
        hex::encode(prk),
        "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5"
    );
    let mut okm = [0u8; 42];
    hk.expand(&h("f0f1f2f3f4f5f6f7f8f9"), &mut okm).unwrap();
    assert_eq!(
        hex::encode(okm),
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
    );

    let (prk, hk) = Hkdf::<Sha256>::extract(Some(&[]), &ikm);
    assert_eq!(
        hex::encode(prk),
        "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04"
    );
    hk.expand(&[], &mut okm).unwrap();
    assert_eq!(
        hex::encode(okm),
        "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"
    );
}

#[test]
fn hmac_sha256_rfc4231_cases_1_and_2() {
    let cases: [(&[u8], &[u8], &str); 2] = [
        (
            &[0x0b; 20],
            b"Hi There",
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
        ),
        (
            b"Jefe",
            b"what do ya want for nothing?",
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
        ),
    ];
    for (key, data, want) in cases {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap();
        mac.update(data);
        assert_eq!(hex::encode(mac.finalize().into_bytes()), want);
    }
}

/// RFC 8439 A.1 test vector 1: the ChaCha20 block the chain ratchet draws its two keys
/// from (256-bit key, 96-bit nonce, block counter 0, the first 64 keystream bytes).
#[test]
fn chacha20_keystream_rfc8439_a_1_vector_1() {
    use chacha20::cipher::{KeyIvInit, StreamCipher};
    let mut block = [0u8; 64];
    chacha20::ChaCha20::new(&[0u8; 32].into(), &[0u8; 12].into()).apply_keystream(&mut block);
    assert_eq!(
        hex::encode(block),
        "76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7\
         da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586"
    );
}

const SUNSCREEN: &[u8] = b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.";

/// Seals SUNSCREEN with `C` and checks the ciphertext against `want` (hex); then opens it
/// again and checks that one flipped bit makes it fail.
fn seals_sunscreen_as<C: Aead + KeyInit>(nonce: &str, want: &str) {
    let key = h("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
    let nonce = h(nonce);
    let aad = h("50515253c0c1c2c3c4c5c6c7");
    let cipher = C::new_from_slice(&key).unwrap();
    let nonce = chacha20poly1305::aead::Nonce::<C>::from_slice(&nonce);
    let ct = cipher.encrypt(nonce, payload(SUNSCREEN, &aad)).unwrap();
    assert_eq!(hex::encode(&ct), want);
    assert_eq!(
        cipher.decrypt(nonce, payload(&ct, &aad)).unwrap(),
        SUNSCREEN
    );
    let mut bad = ct.clone();
    bad[0] ^= 1;
    assert!(cipher.decrypt(nonce, payload(&bad, &aad)).is_err());
}

fn payload<'a>(msg: &'a [u8], aad: &'a [u8]) -> Payload<'a, 'a> {
    Payload { msg, aad }
}

#[test]
fn chacha20_poly1305_rfc8439_section_2_8_2() {
    seals_sunscreen_as::<ChaCha20Poly1305>(
        "070000004041424344454647",
        "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc3ff4def08e4b7a9de576d26586cec64b61161ae10b594f09e26a7e902ecbd0600691",
    );
}

#[test]
fn xchacha20_poly1305_draft_irtf_cfrg_xchacha_a_3_1() {
    seals_sunscreen_as::<XChaCha20Poly1305>(
        "404142434445464748494a4b4c4d4e4f5051525354555657",
        "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b4522f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff921f9664c97637da9768812f615c68b13b52ec0875924c1c7987947deafd8780acf49",
    );
}
