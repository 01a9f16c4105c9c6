//! Host changes a member who may not make them tries anyway, with a client that skips
//! its own check: the others refuse the commit and their state does not move.

use super::*;
use crate::crypto::OsRng;

/// A room of three; member 0 created it and is the host.
fn room_of_three(secret: &RoomSecret) -> Vec<Group> {
    let mut members = vec![Group::create(Identity::generate(), secret).expect("create")];
    for _ in 1..3 {
        let mut joiner = Joiner::new(Identity::generate()).expect("key package");
        let commit = members[0].add(joiner.key_package()).expect("add");
        let mut welcome = None;
        for (i, m) in members.iter_mut().enumerate() {
            match m.handle(&commit) {
                Ok(Incoming::Commit { welcome: w, .. }) if i == 0 => welcome = w,
                Ok(_) => {}
                Err(e) => panic!("add refused: {e}"),
            }
        }
        let group = joiner
            .join(secret, &welcome.expect("welcome"))
            .expect("join");
        members.push(group);
    }
    members
}

/// Commits a room extension naming `host_key`, made with `binding`, skipping
/// `set_host`'s check: what a modified client could send.
fn forge(group: &mut Group, binding: &RoomBinding, host_key: &[u8; 32]) -> Vec<u8> {
    let extensions = context_extensions(binding, host_key).expect("extensions");
    let (commit, _, _) = group
        .mls
        .update_group_context_extensions(&group.provider, extensions, &group.identity)
        .expect("commit");
    group
        .stage_own(&commit, CommitKind::Host, None)
        .expect("stage")
}

fn key(group: &Group) -> [u8; 32] {
    group.identity.public().signature_key
}

fn refused_by_others(members: &mut [Group], by: usize, commit: &[u8]) {
    for (i, m) in members.iter_mut().enumerate() {
        if i == by {
            continue;
        }
        let host = m.host_key();
        let epoch = m.epoch();
        assert_eq!(
            m.handle(commit).err(),
            Some(GroupError::Unauthentic),
            "member {i}"
        );
        assert_eq!((m.host_key(), m.epoch()), (host, epoch), "member {i} moved");
    }
    members[by].discard_pending_commit();
}

#[test]
fn only_the_host_hands_over_and_only_with_the_room_secret() {
    let secret = RoomSecret::generate(&mut OsRng);
    let binding = RoomBinding::new(&secret);
    let mut members = room_of_three(&secret);
    let (alice, bob, carol) = (key(&members[0]), key(&members[1]), key(&members[2]));
    // Not the host: refused locally, and by everyone when forced.
    assert_eq!(
        members[1].set_host(bob).err(),
        Some(GroupError::Unauthentic)
    );
    let forged = forge(&mut members[1], &binding, &bob);
    refused_by_others(&mut members, 1, &forged);
    let forged = forge(&mut members[2], &binding, &bob);
    refused_by_others(&mut members, 2, &forged);
    // The host, but with an extension made without the room secret.
    let stranger = RoomBinding::new(&RoomSecret::generate(&mut OsRng));
    let forged = forge(&mut members[0], &stranger, &bob);
    refused_by_others(&mut members, 0, &forged);
    // The host naming someone who is not a member.
    let outsider = Identity::generate().public().signature_key;
    let forged = forge(&mut members[0], &binding, &outsider);
    refused_by_others(&mut members, 0, &forged);
    // The real hand-over.
    let commit = members[0].set_host(carol).expect("hand over");
    for m in members.iter_mut() {
        assert!(matches!(
            m.handle(&commit),
            Ok(Incoming::Commit {
                kind: CommitKind::Host,
                by_host: true,
                ..
            })
        ));
        assert_eq!(m.host_key(), carol);
    }
    assert!(members[2].is_host() && !members[0].is_host());
    // The former host can no longer move powers.
    let forged = forge(&mut members[0], &binding, &alice);
    refused_by_others(&mut members, 0, &forged);
}

#[test]
fn only_the_lowest_leaf_succeeds_a_departed_host() {
    let secret = RoomSecret::generate(&mut OsRng);
    let binding = RoomBinding::new(&secret);
    let mut members = room_of_three(&secret);
    let removal = members[1].remove(&[0]).expect("remove the host");
    for m in members.iter_mut().skip(1) {
        assert!(matches!(m.handle(&removal), Ok(Incoming::Commit { .. })));
    }
    let mut members = members.split_off(1);
    assert!(!members[0].host_present());
    let (bob, carol) = (key(&members[0]), key(&members[1]));
    // Carol's leaf is not the lowest: she cannot take over, nor make bob host.
    assert_eq!(
        members[1].set_host(carol).err(),
        Some(GroupError::Unauthentic)
    );
    let forged = forge(&mut members[1], &binding, &carol);
    refused_by_others(&mut members, 1, &forged);
    let forged = forge(&mut members[1], &binding, &bob);
    refused_by_others(&mut members, 1, &forged);
    // Bob, the lowest leaf, takes over for himself only.
    assert_eq!(
        members[0].set_host(carol).err(),
        Some(GroupError::Unauthentic)
    );
    let commit = members[0].set_host(bob).expect("succeed");
    for m in members.iter_mut() {
        assert!(matches!(
            m.handle(&commit),
            Ok(Incoming::Commit {
                kind: CommitKind::Host,
                by_host: false,
                ..
            })
        ));
        assert_eq!(m.host_key(), bob);
    }
}
