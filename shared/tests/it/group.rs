//! The version-2 group layer (`vroom_shared::group`) with three to five real members:
//! every message goes through a relay order the test controls, so each test can play
//! the malicious relay (replay, reorder, withhold, substitute) or a forging outsider.

use proptest::prelude::*;
use vroom_shared::crypto::{OsRng, RoomSecret};
use vroom_shared::group::{
    committer_order, my_turn, CommitKind, Group, GroupError, Identity, Incoming, Joiner, MessageId,
};

/// A room's members, each a real `Group`; `None` once a member is gone.
struct Room {
    secret: RoomSecret,
    members: Vec<Option<Group>>,
}

impl Room {
    /// A room of `n` members: the first creates it (the host) and adds the others one
    /// by one, each commit delivered to everyone in relay order.
    fn new(n: usize) -> Self {
        let secret = RoomSecret::generate(&mut OsRng);
        let host = Group::create(Identity::generate(), &secret).expect("create");
        let mut room = Room {
            secret,
            members: vec![Some(host)],
        };
        for _ in 1..n {
            room.add_by(0);
        }
        room
    }

    fn get(&mut self, i: usize) -> &mut Group {
        self.members[i].as_mut().expect("member is in the room")
    }

    /// Member `by` commits a newcomer's key package; after the relay's echo it hands
    /// the Welcome over. Returns the newcomer's index.
    fn add_by(&mut self, by: usize) -> usize {
        let mut joiner = Joiner::new(Identity::generate()).expect("key package");
        let commit = self.get(by).add(joiner.key_package()).expect("add");
        let results = self.deliver(&commit);
        let welcome = match &results[by] {
            Some(Ok(Incoming::Commit {
                welcome: Some(w), ..
            })) => w.clone(),
            other => panic!("committer did not get its Welcome: {other:?}"),
        };
        let group = joiner.join(&self.secret, &welcome).expect("join");
        self.members.push(Some(group));
        self.members.len() - 1
    }

    /// The relay delivers `bytes` to every member in the room (the sender included).
    fn deliver(&mut self, bytes: &[u8]) -> Vec<Option<Result<Incoming, GroupError>>> {
        self.members
            .iter_mut()
            .map(|m| m.as_mut().map(|g| g.handle(bytes)))
            .collect()
    }

    fn active(&self) -> impl Iterator<Item = &Group> {
        self.members.iter().flatten()
    }

    fn assert_converged(&self) {
        let mut groups = self.active();
        let first = groups.next().expect("someone is in the room");
        for g in groups {
            assert_eq!(g.epoch(), first.epoch());
            assert_eq!(g.safety_code(), first.safety_code());
            assert_eq!(g.members(), first.members());
        }
    }
}

fn text(result: &Option<Result<Incoming, GroupError>>) -> (Vec<u8>, MessageId) {
    match result {
        Some(Ok(Incoming::Application { plaintext, id, .. })) => (plaintext.to_vec(), *id),
        other => panic!("expected an application message, got {other:?}"),
    }
}

#[test]
fn members_added_one_by_one_all_read_every_message() {
    let mut room = Room::new(5);
    room.assert_converged();
    assert_eq!(room.get(0).members().len(), 5);
    for sender in 0..5 {
        let body = format!("hello from {sender}").into_bytes();
        let (bytes, id) = room.get(sender).encrypt(&body).expect("encrypt");
        let results = room.deliver(&bytes);
        for (i, r) in results.iter().enumerate() {
            if i == sender {
                assert!(
                    matches!(r, Some(Ok(Incoming::OwnApplication { id: own })) if *own == id),
                    "the echo is recognised as the sender's own: {r:?}"
                );
            } else {
                let (plain, got) = text(r);
                assert_eq!(plain, body);
                assert_eq!(got, id, "every member names the message alike");
            }
        }
    }
}

#[test]
fn the_safety_code_is_the_same_for_all_and_changes_with_each_epoch() {
    let mut room = Room::new(4);
    let before = room.get(0).safety_code();
    for g in room.active() {
        assert_eq!(g.safety_code(), before);
    }
    let commit = room.get(2).self_update().expect("update");
    for r in room.deliver(&commit) {
        assert!(matches!(
            r,
            Some(Ok(Incoming::Commit {
                kind: CommitKind::Update,
                ..
            }))
        ));
    }
    room.assert_converged();
    let after = room.get(0).safety_code();
    assert_ne!(before, after);
    assert_eq!(after.words().len(), 10);
    assert_eq!(after.strip().len(), 10);
    // The words and the strip both spell the same 80 bits.
    let words: std::collections::HashSet<_> = after.words().into_iter().collect();
    assert!(!words.is_empty());
}

#[test]
fn a_removed_member_cannot_read_what_follows() {
    let mut room = Room::new(4);
    // The relay withholds the removal from member 3 and keeps a copy of its old state
    // by never delivering; member 2 gets it normally.
    let commit = room.get(0).remove(&[2, 3]).expect("remove");
    let mut withheld = room.members[3].take();
    let results = room.deliver(&commit);
    assert!(matches!(results[2], Some(Ok(Incoming::Removed { .. }))));
    match &results[1] {
        Some(Ok(Incoming::Commit { removed, kind, .. })) => {
            assert_eq!(*kind, CommitKind::Remove);
            let leaves: Vec<u32> = removed.iter().map(|m| m.leaf).collect();
            assert_eq!(leaves, vec![2, 3]);
        }
        other => panic!("{other:?}"),
    }
    let mut removed = room.members[2].take();
    room.assert_converged();
    let (bytes, _) = room.get(1).encrypt(b"after the removal").expect("encrypt");
    let results = room.deliver(&bytes);
    assert_eq!(text(&results[0]).0, b"after the removal");
    let removed = removed.as_mut().expect("kept");
    assert_eq!(removed.handle(&bytes).unwrap_err(), GroupError::Inactive);
    assert!(removed.encrypt(b"x").is_err());
    // The member that never saw its removal is still in the old epoch: refused.
    let withheld = withheld.as_mut().expect("kept");
    assert_eq!(withheld.handle(&bytes).unwrap_err(), GroupError::WrongEpoch);
}

/// What a thief holding a member's chain secret of an epoch makes of one of that
/// epoch's messages, from PROTOCOL.md §9.14 alone: the sender's chain root, the ratchet
/// up to the message's generation, the AEAD. `None` if it does not open.
fn open_with(secret: &[u8], message: &[u8]) -> Option<Vec<u8>> {
    use chacha20::cipher::{KeyIvInit, StreamCipher};
    use chacha20poly1305::aead::{Aead, KeyInit, Payload};
    let (header, rest) = message.split_at(34);
    let ciphertext = &rest[..rest.len() - 64];
    let leaf = u32::from_be_bytes(header[26..30].try_into().ok()?);
    let generation = u32::from_be_bytes(header[30..34].try_into().ok()?);
    let mut info = b"vroom/v2/chain-root".to_vec();
    info.extend_from_slice(&leaf.to_be_bytes());
    let mut chain = [0u8; 32];
    hkdf::Hkdf::<sha2::Sha256>::from_prk(secret)
        .ok()?
        .expand(&info, &mut chain)
        .ok()?;
    let mut key = [0u8; 32];
    for _ in 0..=generation {
        let mut block = [0u8; 64];
        chacha20::ChaCha20::new((&chain).into(), b"vroom/v2/ckd".into())
            .apply_keystream(&mut block);
        key.copy_from_slice(&block[..32]);
        chain.copy_from_slice(&block[32..]);
    }
    let aad = [&header[2..18], header].concat();
    chacha20poly1305::ChaCha20Poly1305::new((&key).into())
        .decrypt(
            (&[0u8; 12]).into(),
            Payload {
                msg: ciphertext,
                aad: &aad,
            },
        )
        .ok()
}

/// Every way a thief holding a member's whole group state (the in-memory group: the
/// saved session of PROTOCOL.md §7.10 holds no group state) could get at the chain
/// secret of the current epoch: the forward-secure export again, and the ordinary
/// exporter under the label the chains were once keyed with.
fn thief_opens(group: &mut Group, message: &[u8]) -> bool {
    let old = group
        .export_secret("vroom/v2/chains", &[], 32)
        .expect("exporter");
    let by_exporter = open_with(&old, message).is_some();
    let by_safe_export = group
        .chain_secret_again()
        .is_ok_and(|secret| open_with(&*secret, message).is_some());
    by_exporter || by_safe_export
}

#[test]
fn a_member_s_state_no_longer_opens_the_messages_it_read_in_the_epoch() {
    // Member 0 entered this epoch by its own commit, 1 by another's commit, 2 by a
    // Welcome; each sends one message and reads the others'.
    let mut room = Room::new(3);
    let mut read = Vec::new();
    for sender in 0..3 {
        let body = format!("read before the theft, from {sender}").into_bytes();
        let (bytes, _) = room.get(sender).encrypt(&body).expect("encrypt");
        for (i, r) in room.deliver(&bytes).iter().enumerate() {
            if i != sender {
                assert_eq!(text(r).0, body);
            }
        }
        read.push(bytes);
    }
    for member in 0..3 {
        for message in &read {
            assert!(
                !thief_opens(room.get(member), message),
                "member {member}'s state still opens a message it read"
            );
        }
        assert_eq!(
            room.get(member).chain_secret_again().err(),
            Some(GroupError::Internal),
            "the epoch's chain secret was given out once"
        );
    }

    // A host alone in the group it created, after its first message.
    let secret = RoomSecret::generate(&mut OsRng);
    let mut alone = Group::create(Identity::generate(), &secret).expect("create");
    let (own, _) = alone.encrypt(b"alone").expect("encrypt");
    assert!(!thief_opens(&mut alone, &own));

    // The control: state taken in a new epoch before its member sealed or opened
    // anything there gives that epoch's chain secret, and the thief's reading opens
    // what is sent afterwards, as it would any message with the right secret.
    let commit = room.get(1).self_update().expect("update");
    room.deliver(&commit);
    let stolen = room.get(2).chain_secret_again().expect("not yet given out");
    let (bytes, _) = room.get(0).encrypt(b"after the theft").expect("encrypt");
    assert_eq!(
        open_with(&*stolen, &bytes).as_deref(),
        Some(&b"after the theft"[..])
    );
    // The member robbed before it entered the epoch cannot start its chains.
    assert_eq!(
        room.get(2).handle(&bytes).unwrap_err(),
        GroupError::Internal
    );
}

#[test]
fn a_replayed_application_message_is_refused() {
    let mut room = Room::new(3);
    let (bytes, _) = room.get(1).encrypt(b"once").expect("encrypt");
    let first = room.deliver(&bytes);
    assert_eq!(text(&first[0]).0, b"once");
    for r in room.deliver(&bytes) {
        assert_eq!(r.expect("member").unwrap_err(), GroupError::Replay);
    }
    // Still refused once the epoch moved on.
    let commit = room.get(0).self_update().expect("update");
    room.deliver(&commit);
    let commit = room.get(0).self_update().expect("update");
    room.deliver(&commit);
    for r in room.deliver(&bytes) {
        assert!(r.expect("member").is_err());
    }
    // A member that never saw it (it joined later) refuses it as too old.
    let newcomer = room.add_by(2);
    assert_eq!(
        room.get(newcomer).handle(&bytes).unwrap_err(),
        GroupError::WrongEpoch
    );
}

#[test]
fn a_replayed_old_commit_is_refused() {
    let mut room = Room::new(3);
    let commit = room.get(1).self_update().expect("update");
    room.deliver(&commit);
    let epoch = room.get(0).epoch();
    for r in room.deliver(&commit) {
        assert_eq!(r.expect("member").unwrap_err(), GroupError::Replay);
    }
    // The commit that added a member, replayed to that member: another epoch.
    let mut joiner = Joiner::new(Identity::generate()).expect("kp");
    let add = room.get(0).add(joiner.key_package()).expect("add");
    let welcome = match room.deliver(&add).swap_remove(0) {
        Some(Ok(Incoming::Commit {
            welcome: Some(w), ..
        })) => w,
        other => panic!("{other:?}"),
    };
    let mut newcomer = joiner.join(&room.secret, &welcome).expect("join");
    assert_eq!(newcomer.handle(&add).unwrap_err(), GroupError::WrongEpoch);
    room.members.push(Some(newcomer));
    assert_eq!(room.get(0).epoch(), epoch + 1);
    room.assert_converged();
}

#[test]
fn a_welcome_for_another_room_is_refused() {
    let mut ours = Room::new(2);
    let mut theirs = Room::new(2);
    let mut joiner = Joiner::new(Identity::generate()).expect("kp");
    // Another room's member commits the same key package and sends its Welcome.
    let foreign = theirs.get(0).add(joiner.key_package()).expect("add");
    let foreign_welcome = match theirs.deliver(&foreign).swap_remove(0) {
        Some(Ok(Incoming::Commit {
            welcome: Some(w), ..
        })) => w,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        joiner.join(&ours.secret, &foreign_welcome).unwrap_err(),
        GroupError::WrongRoom
    );
    // The refusal used nothing up: the right Welcome still works.
    let commit = ours.get(1).add(joiner.key_package()).expect("add");
    let welcome = match ours.deliver(&commit).swap_remove(1) {
        Some(Ok(Incoming::Commit {
            welcome: Some(w), ..
        })) => w,
        other => panic!("{other:?}"),
    };
    let group = joiner.join(&ours.secret, &welcome).expect("join");
    ours.members.push(Some(group));
    ours.assert_converged();
    // A spent joiner takes nothing more.
    assert_eq!(
        joiner.join(&ours.secret, &welcome).unwrap_err(),
        GroupError::Inactive
    );
}

#[test]
fn a_commit_from_a_non_member_is_refused() {
    let mut room = Room::new(3);
    let epoch = room.get(0).epoch();
    let code = room.get(0).safety_code();
    // Even an outsider that holds the room secret (same group id, valid binding) makes
    // its own group, not this one: its commits do not open here.
    let mut outsider = Group::create(Identity::generate(), &room.secret).expect("create");
    // At its own epoch 0 it is simply from another epoch; brought to the room's epoch
    // number, its commits still fail to open.
    let stale = outsider.self_update().expect("update");
    for r in room.deliver(&stale) {
        assert_eq!(r.expect("member").unwrap_err(), GroupError::WrongEpoch);
    }
    outsider.handle(&stale).expect("own commit");
    while outsider.epoch() < epoch {
        let commit = outsider.self_update().expect("update");
        outsider.handle(&commit).expect("own commit");
    }
    assert_eq!(outsider.epoch(), epoch);
    let joiner = Joiner::new(Identity::generate()).expect("kp");
    let forged_add = outsider.add(joiner.key_package()).expect("add");
    let forged_update = {
        outsider.discard_pending_commit();
        outsider.self_update().expect("update")
    };
    for forged in [&forged_add, &forged_update] {
        for r in room.deliver(forged) {
            assert_eq!(r.expect("member").unwrap_err(), GroupError::Unauthentic);
        }
    }
    assert_eq!(room.get(0).epoch(), epoch);
    assert_eq!(room.get(0).safety_code(), code);
    // A member's real commit, altered by the relay, is refused too.
    let mut commit = room.get(1).self_update().expect("update");
    let last = commit.len() - 1;
    commit[last] ^= 1;
    for (i, r) in room.deliver(&commit).into_iter().enumerate() {
        if i != 1 {
            assert_eq!(r.expect("member").unwrap_err(), GroupError::Unauthentic);
        }
    }
    room.get(1).discard_pending_commit();
    assert_eq!(room.get(0).epoch(), epoch);
}

#[test]
fn a_commit_race_is_settled_by_the_relay_order() {
    let mut room = Room::new(4);
    // Members 1 and 3 commit in the same epoch; the relay puts 3's first.
    let from_1 = room.get(1).self_update().expect("update 1");
    // Member 2 departed: anyone may remove it.
    for i in 0..4 {
        room.get(i).set_departed([2]);
    }
    let from_3 = room.get(3).remove(&[2]).expect("remove by 3");
    let first = room.deliver(&from_3);
    match &first[1] {
        Some(Ok(Incoming::Commit {
            dropped_own, kind, ..
        })) => {
            assert_eq!(*kind, CommitKind::Remove);
            assert_eq!(
                *dropped_own,
                Some(CommitKind::Update),
                "1 learns its commit lost"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(first[2], Some(Ok(Incoming::Removed { .. }))));
    room.members[2] = None;
    assert!(!room.get(1).has_pending_commit());
    for r in room.deliver(&from_1).into_iter().flatten() {
        assert_eq!(r.unwrap_err(), GroupError::WrongEpoch);
    }
    room.assert_converged();
    // The loser redoes its commit in the new epoch; everyone follows.
    let again = room.get(1).self_update().expect("redo");
    for r in room.deliver(&again).into_iter().flatten() {
        assert!(matches!(r, Ok(Incoming::Commit { .. })));
    }
    room.assert_converged();
}

#[test]
fn messages_from_the_previous_epoch_are_read_only_from_current_members() {
    let mut room = Room::new(4);
    // In flight when a commit lands: 1's message in epoch e, after 0's update.
    let (in_flight, _) = room.get(1).encrypt(b"in flight").expect("encrypt");
    let (from_leaver, _) = room.get(3).encrypt(b"last words").expect("encrypt");
    let (two_old, _) = room.get(2).encrypt(b"two epochs old").expect("encrypt");
    let commit = room.get(0).remove(&[3]).expect("remove");
    room.deliver(&commit);
    room.members[3] = None;
    let results = room.deliver(&in_flight);
    assert_eq!(text(&results[0]).0, b"in flight");
    assert_eq!(text(&results[2]).0, b"in flight");
    // The removed member's message of the old epoch, delivered after its removal.
    for (i, r) in room.deliver(&from_leaver).into_iter().enumerate() {
        if let Some(r) = r {
            assert_eq!(r.unwrap_err(), GroupError::WrongEpoch, "member {i}");
        }
    }
    let commit = room.get(0).self_update().expect("update");
    room.deliver(&commit);
    for (i, r) in room.deliver(&two_old).into_iter().enumerate() {
        match (i, r) {
            // The sender recognises its own message's echo in any epoch.
            (2, Some(r)) => assert!(matches!(r, Ok(Incoming::OwnApplication { .. }))),
            (_, Some(r)) => assert_eq!(r.unwrap_err(), GroupError::WrongEpoch),
            (_, None) => {}
        }
    }
    // A message from a future epoch: the relay withholds a commit from member 2 and
    // then delivers a message of the new epoch.
    let commit = room.get(1).self_update().expect("update");
    let mut lagging = room.members[2].take();
    room.deliver(&commit);
    let (future, _) = room.get(1).encrypt(b"future").expect("encrypt");
    let lagging = lagging.as_mut().expect("kept");
    assert_eq!(lagging.handle(&future).unwrap_err(), GroupError::WrongEpoch);
    // Handed the commit late, in relay order, it catches up and reads the message.
    assert!(matches!(
        lagging.handle(&commit),
        Ok(Incoming::Commit { .. })
    ));
    assert!(matches!(
        lagging.handle(&future),
        Ok(Incoming::Application { .. })
    ));
}

#[test]
fn the_host_key_is_bound_at_creation_and_seen_by_all() {
    let mut room = Room::new(3);
    let host_key = room.get(0).host_key();
    assert!(room.get(0).is_host());
    for i in 1..3 {
        assert_eq!(room.get(i).host_key(), host_key);
        assert!(!room.get(i).is_host());
    }
    let by_host = room.get(0).self_update().expect("update");
    for r in room.deliver(&by_host).into_iter().flatten() {
        assert!(matches!(r, Ok(Incoming::Commit { by_host: true, .. })));
    }
    let by_member = room.get(2).self_update().expect("update");
    for r in room.deliver(&by_member).into_iter().flatten() {
        assert!(matches!(r, Ok(Incoming::Commit { by_host: false, .. })));
    }
    // The newcomer learns the same host key from its Welcome.
    let newcomer = room.add_by(1);
    assert_eq!(room.get(newcomer).host_key(), host_key);
}

#[test]
fn every_member_picks_the_same_committer_with_a_fallback_order() {
    let mut room = Room::new(5);
    let departed = 1u32;
    let orders: Vec<Vec<u32>> = room
        .active()
        .map(|g| committer_order(g.members().iter().map(|m| m.leaf), &[departed]))
        .collect();
    assert!(orders.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(orders[0], vec![0, 2, 3, 4]);
    assert_eq!(my_turn(&orders[0], room.get(0).own_leaf()), Some(0));
    assert_eq!(my_turn(&orders[0], room.get(3).own_leaf()), Some(2));
    assert_eq!(my_turn(&orders[0], departed), None);
}

#[test]
fn fingerprints_differ_between_members_and_have_80_bits() {
    let mut room = Room::new(3);
    let members = room.get(0).members();
    let prints: Vec<_> = members.iter().map(|m| m.identity.fingerprint()).collect();
    assert_eq!(prints[0].0.len() * 8, 80);
    assert_ne!(prints[0], prints[1]);
    assert_ne!(prints[1], prints[2]);
    assert_eq!(prints[0].to_string().split('-').count(), 10);
    // Every member computes the same fingerprint for the same member.
    let other: Vec<_> = room
        .get(2)
        .members()
        .iter()
        .map(|m| m.identity.fingerprint())
        .collect();
    assert_eq!(prints, other);
}

/// One real message of each kind a member handles, from a three-member room.
fn samples() -> (Room, Vec<Vec<u8>>) {
    let mut room = Room::new(3);
    let (app, _) = room.get(1).encrypt(b"sample").expect("encrypt");
    let update = room.get(2).self_update().expect("update");
    room.get(2).discard_pending_commit();
    let joiner = Joiner::new(Identity::generate()).expect("kp");
    let add = room.get(1).add(joiner.key_package()).expect("add");
    room.get(1).discard_pending_commit();
    (room, vec![app, update, add, joiner.key_package().to_vec()])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic_and_change_nothing(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let mut room = Room::new(2);
        let epoch = room.get(0).epoch();
        let _ = room.get(0).handle(&bytes);
        let _ = room.get(0).add(&bytes);
        let mut joiner = Joiner::new(Identity::generate()).expect("kp");
        let _ = joiner.join(&room.secret, &bytes);
        prop_assert_eq!(room.get(0).epoch(), epoch);
        prop_assert!(!room.get(0).has_pending_commit());
    }

    #[test]
    fn mutated_real_messages_never_panic(
        which in 0usize..4,
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..4),
        cut in proptest::option::of(any::<usize>()),
    ) {
        let (mut room, messages) = samples();
        let mut bytes = messages[which].clone();
        for (at, value) in edits {
            let at = at % bytes.len();
            bytes[at] ^= value.max(1);
        }
        if let Some(cut) = cut {
            bytes.truncate(cut % (bytes.len() + 1));
        }
        let epoch = room.get(0).epoch();
        // A mutated message is refused (or, if the edit hit nothing checked, it is
        // the real message), and never moves the epoch of a refusing member.
        match room.get(0).handle(&bytes) {
            Ok(_) => prop_assert!(bytes == messages[which]),
            Err(_) => prop_assert_eq!(room.get(0).epoch(), epoch),
        }
        let _ = room.get(0).add(&bytes);
        room.get(0).discard_pending_commit();
        // The member still reads the real traffic afterwards.
        let (fresh, _) = room.get(1).encrypt(b"still here").expect("encrypt");
        let got = room.get(0).handle(&fresh);
        prop_assert!(
            matches!(got, Ok(Incoming::Application { .. })),
            "the member reads real traffic after the mutated input"
        );
    }
}
