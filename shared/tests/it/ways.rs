//! Room name + passphrase against `shared/vectors/vroom-v2-ways.json`: typed names and
//! passphrases, their normal forms, and the room secret and room id Argon2id gives at
//! the protocol's parameters; `fail_` vectors for inputs that must be refused. Also
//! Argon2id itself against RFC 9106's vector. Short codes against
//! `shared/vectors/vroom-v2-code.json`: one whole exchange with fixed randomness, and
//! `fail_` cases (a wrong code, a changed grant).
//!
//! Regenerate after an intended change with
//! `VROOM_WRITE_VECTORS=1 cargo test -p vroom-shared --test it ways` and review the diff.

use argon2::{Algorithm, Argon2, AssociatedData, ParamsBuilder, Version};
use serde_json::{json, Value};
use vroom_shared::crypto::RoomSecret;
use vroom_shared::ways::code::{CodeError, CodeOffer, JoinerExchange, ShortCode};
use vroom_shared::ways::passphrase::{
    DerivationParams, Passphrase, RelayOrigin, RoomName, WaysError, ARGON2_LANES,
    ARGON2_MEMORY_KIB, ARGON2_PASSES, LABEL_NAME_SALT,
};

use crate::vector_file;
use crate::vectors::FixedRng;

const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/vectors/vroom-v2-ways.json");
const CODE_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/vectors/vroom-v2-code.json");

/// The relay of every case but the last two.
const RELAY: &str = "https://chat.example";

/// (relay origin, typed name, typed passphrase): each exercises one normalisation step
/// or one input of the salt.
const CASES: [(&str, &str, &str); 6] = [
    (RELAY, "book club", "correct horse battery staple"),
    // Case, outer and inner white space of the name; the passphrase's outer space.
    (
        RELAY,
        "  Book \t CLUB\n",
        "  correct horse battery staple\n",
    ),
    // Same name, another passphrase: another room.
    (RELAY, "book club", "Correct horse battery staple"),
    // NFC of a decomposed name and passphrase, and a non-Latin name.
    (
        RELAY,
        "Cafe\u{301} \u{41b}\u{443}\u{43d}\u{430}",
        "pa\u{301}ssphrase \u{1f511}",
    ),
    // Same name and passphrase on another relay (another port): another room.
    (
        "https://chat.example:8443",
        "book club",
        "correct horse battery staple",
    ),
    (
        "http://127.0.0.1:8080",
        "book club",
        "correct horse battery staple",
    ),
];

/// Inputs that must be refused, with the reason: (relay, name, passphrase, why).
fn failures() -> Vec<(&'static str, &'static str, &'static str, WaysError)> {
    vec![
        (
            RELAY,
            "",
            "correct horse battery staple",
            WaysError::EmptyName,
        ),
        (
            RELAY,
            " \t\u{3000}",
            "correct horse battery staple",
            WaysError::EmptyName,
        ),
        (
            RELAY,
            "a\u{200b}b",
            "correct horse battery staple",
            WaysError::ControlInName,
        ),
        (RELAY, "book club", "  seven  ", WaysError::ShortPassphrase),
        (
            RELAY,
            "book club",
            " eleven char ",
            WaysError::ShortPassphrase,
        ),
        (
            RELAY,
            "book club",
            "abcdabcdabcdabcd",
            WaysError::RepetitivePassphrase,
        ),
        // Origins that are not canonical: a client canonicalises before deriving.
        (
            "https://Chat.example",
            "book club",
            "correct horse battery staple",
            WaysError::Origin,
        ),
        (
            "https://chat.example:443",
            "book club",
            "correct horse battery staple",
            WaysError::Origin,
        ),
        (
            "https://chat.example/",
            "book club",
            "correct horse battery staple",
            WaysError::Origin,
        ),
    ]
}

/// Reads all three inputs, as a client does before deriving.
fn read(
    relay: &str,
    name: &str,
    pass: &str,
) -> Result<(RelayOrigin, RoomName, Passphrase), WaysError> {
    Ok((
        RelayOrigin::parse(relay)?,
        RoomName::parse(name)?,
        Passphrase::new(pass)?,
    ))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn computed() -> Value {
    let vectors: Vec<Value> = CASES
        .iter()
        .map(|(relay, name, pass)| {
            let (origin, room, passphrase) = read(relay, name, pass).expect("valid inputs");
            let secret = room.derive_secret(&origin, &passphrase);
            let salt = [
                LABEL_NAME_SALT,
                &[0],
                relay.as_bytes(),
                &[0],
                room.as_str().as_bytes(),
            ]
            .concat();
            assert_eq!(room.salt(&origin), salt);
            json!({
                "relay_origin": relay,
                "name": name,
                "passphrase": pass,
                "name_normalised": room.as_str(),
                "salt_hex": hex(&salt),
                "room_secret": hex(secret.as_bytes()),
                "room_id": secret.room_id().to_hex(),
            })
        })
        .collect();
    let fails: Vec<Value> = failures()
        .into_iter()
        .map(|(relay, name, pass, why)| {
            json!({
                "fail_relay_origin": relay,
                "fail_name": name,
                "fail_passphrase": pass,
                "error": format!("{why:?}"),
            })
        })
        .collect();
    json!({
        "description": "Room name + passphrase → room secret (Argon2id v19, 32-byte tag, \
            salt = label || 0x00 || relay's canonical origin || 0x00 || normalised name, \
            password = normalised passphrase) → room id (HKDF as for every room secret). See PROTOCOL.md §11.1.",
        "argon2id": {
            "memory_kib": ARGON2_MEMORY_KIB,
            "passes": ARGON2_PASSES,
            "lanes": ARGON2_LANES,
            "salt_label": String::from_utf8_lossy(LABEL_NAME_SALT),
        },
        "vectors": vectors,
        "fail": fails,
    })
}

#[test]
fn names_and_passphrases_give_the_recorded_rooms() {
    let recorded = vector_file::check(PATH, &computed());
    let v = recorded["vectors"].as_array().unwrap();
    // The pairs that differ only in typing are one room; another passphrase is not,
    // and neither is another relay.
    assert_eq!(v[0]["room_id"], v[1]["room_id"]);
    assert_ne!(v[0]["room_id"], v[2]["room_id"]);
    assert_ne!(v[0]["room_id"], v[4]["room_id"]);
    assert_ne!(v[4]["room_id"], v[5]["room_id"]);
    assert_eq!(v[0]["name_normalised"], "book club");
    assert_eq!(
        v[3]["name_normalised"],
        "caf\u{e9} \u{43b}\u{443}\u{43d}\u{430}"
    );
}

#[test]
fn refused_inputs_are_refused_for_their_reason() {
    for (relay, name, pass, why) in failures() {
        let got = read(relay, name, pass);
        assert_eq!(got.err(), Some(why), "{relay:?} / {name:?} / {pass:?}");
    }
}

#[test]
fn protocol_parameters_are_the_documented_ones() {
    assert_eq!(
        DerivationParams::PROTOCOL,
        DerivationParams {
            memory_kib: 65536,
            passes: 3,
            lanes: 1
        }
    );
}

/// RFC 9106 §5.3: Argon2id with secret and associated data.
#[test]
fn argon2id_matches_rfc_9106() {
    let params = ParamsBuilder::new()
        .m_cost(32)
        .t_cost(3)
        .p_cost(4)
        .data(AssociatedData::new(&[4; 12]).unwrap())
        .output_len(32)
        .build()
        .unwrap();
    let argon =
        Argon2::new_with_secret(&[3; 8], Algorithm::Argon2id, Version::V0x13, params).unwrap();
    let mut out = [0u8; 32];
    argon
        .hash_password_into(&[1; 32], &[2; 16], &mut out)
        .unwrap();
    assert_eq!(
        hex(&out),
        "0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659"
    );
}

/// One short-code exchange with fixed randomness ("random" bytes are
/// `SHA-256(label ‖ u64 BE block)`, labels `code-joiner` and `code-member`), and what a
/// wrong code and a changed grant give.
#[test]
fn a_short_code_exchange_gives_the_recorded_messages() {
    let room = RoomSecret::from_bytes(core::array::from_fn(|i| i as u8));
    let code = ShortCode::parse("7-amber-river").unwrap();
    let mut offer = CodeOffer::new(code.clone());
    let (joiner, hello) = JoinerExchange::start_with_rng(&code, &mut FixedRng::new(b"code-joiner"));
    let (member, reply) = offer
        .respond_with_rng(&hello, &mut FixedRng::new(b"code-member"))
        .unwrap();
    let (joiner, confirm) = joiner.confirm(&reply).unwrap();
    let grant = offer.grant(member, &confirm, &room).unwrap();
    assert!(joiner.open(&grant).unwrap() == room);

    // The same member reply, to a joiner who typed one word wrong.
    let typo = ShortCode::parse("7-amber-robin").unwrap();
    let (wrong, _) = JoinerExchange::start_with_rng(&typo, &mut FixedRng::new(b"code-joiner"));
    assert_eq!(wrong.confirm(&reply).err(), Some(CodeError::Wrong));
    let mut changed = grant.clone();
    changed[0] ^= 1;
    let (again, _) = JoinerExchange::start_with_rng(&code, &mut FixedRng::new(b"code-joiner"));
    let (again, _) = again.confirm(&reply).unwrap();
    assert_eq!(again.open(&changed).err(), Some(CodeError::BadMessage));

    let computed = json!({
        "description": "Short code 7-amber-river: SPAKE2 (Ed25519 group, spake2 0.4) with \
            A = joiner, B = member; password = label || nameplate u32 BE || word indices; \
            reply = SPAKE2 message || HMAC confirmation; grant = ChaCha20-Poly1305 of the \
            room secret (00 01 .. 1f) under a zero nonce. See PROTOCOL.md §11.2.",
        "code": "7-amber-river",
        "word_indices": [9, 237],
        "hello": hex(&hello),
        "reply": hex(&reply),
        "joiner_confirm": hex(&confirm),
        "grant": hex(&grant),
        "room_secret": hex(room.as_bytes()),
        "fail_wrong_code": { "typed": "7-amber-robin", "error": "Wrong" },
        "fail_changed_grant": { "grant": hex(&changed), "error": "BadMessage" },
    });
    vector_file::check(CODE_PATH, &computed);
}
