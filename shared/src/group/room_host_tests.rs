//! The rules on host powers and removals (PROTOCOL.md §9.3), tried by members who may
//! not act with a client that skips its own checks: the others refuse the commit and
//! their state does not move.

use super::*;
use crate::crypto::OsRng;
use openmls::prelude::NewSignerBundle;

/// A room of `n`; member 0 created it and is the host.
fn room_of(secret: &RoomSecret, n: usize) -> Vec<Group> {
    let mut members = vec![Group::create(Identity::generate(), secret).expect("create")];
    for _ in 1..n {
        add(secret, &mut members, 0, Identity::generate());
    }
    members
}

/// Member `by` adds a member with `identity`; everyone takes the commit.
fn add(secret: &RoomSecret, members: &mut Vec<Group>, by: usize, identity: Identity) {
    let mut joiner = Joiner::new(identity).expect("key package");
    let commit = members[by].add(joiner.key_package()).expect("add");
    let mut welcome = None;
    for (i, m) in members.iter_mut().enumerate() {
        match m.handle(&commit) {
            Ok(Incoming::Commit { welcome: w, .. }) if i == by => welcome = w,
            Ok(_) => {}
            Err(e) => panic!("add refused by {i}: {e}"),
        }
    }
    let group = joiner
        .join(secret, &welcome.expect("welcome"))
        .expect("join");
    members.push(group);
}

/// Commits removals and a room record, made with `binding`, skipping every check of
/// this member's own: what a modified client could send.
fn forge(
    group: &mut Group,
    binding: &RoomBinding,
    removed: &[u32],
    record: Option<RoomRecord>,
) -> Vec<u8> {
    forge_with_adds(group, binding, removed, Vec::new(), record)
}

/// [`forge`], adding these key packages in the same commit.
fn forge_with_adds(
    group: &mut Group,
    binding: &RoomBinding,
    removed: &[u32],
    added: Vec<KeyPackage>,
    record: Option<RoomRecord>,
) -> Vec<u8> {
    let mut builder = group
        .mls
        .commit_builder()
        .propose_removals(removed.iter().map(|&l| LeafNodeIndex::new(l)))
        .propose_adds(added);
    if let Some(record) = record {
        let extensions = context_extensions(binding, &record).expect("extensions");
        builder = builder
            .propose_group_context_extensions(extensions)
            .expect("proposal");
    }
    let bundle = builder
        .load_psks(group.provider.storage())
        .expect("psks")
        .build(
            group.provider.rand(),
            group.provider.crypto(),
            &group.identity,
            |_| true,
        )
        .expect("build")
        .stage_commit(&group.provider)
        .expect("stage");
    group
        .stage_own(bundle.commit(), CommitKind::Host, None)
        .expect("stage own")
}

fn key(group: &Group) -> [u8; 32] {
    group.identity.public().signature_key
}

fn host(key: [u8; 32]) -> Option<RoomRecord> {
    Some(RoomRecord::new(key))
}

fn refused_by_others(members: &mut [Group], by: usize, commit: &[u8]) {
    for (i, m) in members.iter_mut().enumerate() {
        if i == by {
            continue;
        }
        let record = m.record;
        let epoch = m.epoch();
        assert_eq!(
            m.handle(commit).err(),
            Some(GroupError::Unauthentic),
            "member {i} took it"
        );
        assert_eq!((m.record, m.epoch()), (record, epoch), "member {i} moved");
    }
    members[by].discard_pending_commit();
}

fn taken_by_all(members: &mut [Group], commit: &[u8]) {
    for (i, m) in members.iter_mut().enumerate() {
        match m.handle(commit) {
            Ok(Incoming::Commit { .. }) | Ok(Incoming::Removed { .. }) => {}
            other => panic!("member {i}: {other:?}"),
        }
    }
}

fn departed(members: &mut [Group], leaves: &[u32]) {
    for m in members.iter_mut() {
        m.set_departed(leaves.iter().copied());
    }
}

#[test]
fn only_the_host_hands_over_and_only_with_the_room_secret() {
    let secret = RoomSecret::generate(&mut OsRng);
    let binding = RoomBinding::new(&secret);
    let mut members = room_of(&secret, 3);
    let (alice, bob, carol) = (key(&members[0]), key(&members[1]), key(&members[2]));
    // Not the host: refused locally, and by everyone when forced.
    assert_eq!(
        members[1].set_host(bob).err(),
        Some(GroupError::Unauthentic)
    );
    let forged = forge(&mut members[1], &binding, &[], host(bob));
    refused_by_others(&mut members, 1, &forged);
    let forged = forge(&mut members[2], &binding, &[], host(bob));
    refused_by_others(&mut members, 2, &forged);
    // The host, but with an extension made without the room secret.
    let stranger = RoomBinding::new(&RoomSecret::generate(&mut OsRng));
    let forged = forge(&mut members[0], &stranger, &[], host(bob));
    refused_by_others(&mut members, 0, &forged);
    // The host naming someone who is not a member.
    let outsider = Identity::generate().public().signature_key;
    let forged = forge(&mut members[0], &binding, &[], host(outsider));
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
    let forged = forge(&mut members[0], &binding, &[], host(alice));
    refused_by_others(&mut members, 0, &forged);
}

/// Finding: any member could remove the host (and the leaves below its own) and become
/// the lowest leaf. Now a member who is not the host removes departed leaves only, and
/// removing the host's leaf must name the lowest remaining leaf in the same commit.
#[test]
fn an_insider_cannot_remove_the_host_or_anyone_present_to_take_over() {
    let secret = RoomSecret::generate(&mut OsRng);
    let binding = RoomBinding::new(&secret);
    let mut members = room_of(&secret, 4);
    let (alice, bob, dave) = (key(&members[0]), key(&members[1]), key(&members[3]));
    let succession = |heir| {
        Some(RoomRecord {
            host: heir,
            previous: Some(alice),
            proof: None,
            cap: None,
            renewal: 0,
            moderators: Moderators::default(),
        })
    };
    // Nobody departed: dave may neither remove the host nor anyone else, whatever
    // record he names.
    assert_eq!(members[3].remove(&[0]).err(), Some(GroupError::Unauthentic));
    for (removed, record) in [
        (&[0, 1, 2][..], succession(dave)),
        (&[0][..], succession(bob)),
        (&[0][..], None),
        (&[1][..], None),
    ] {
        let forged = forge(&mut members[3], &binding, removed, record);
        refused_by_others(&mut members, 3, &forged);
    }
    // The host departed (its place at the relay ended), not bob nor carol: dave may
    // remove the host only, naming bob (the lowest remaining leaf), not himself.
    departed(&mut members, &[0]);
    for (removed, record) in [
        (&[0, 1, 2][..], succession(dave)),
        (&[0][..], succession(dave)),
        (&[0][..], None),
        (&[0][..], host(bob)),
    ] {
        let forged = forge(&mut members[3], &binding, removed, record);
        refused_by_others(&mut members, 3, &forged);
    }
    let commit = members[3]
        .remove(&[0])
        .expect("the departed-member removal");
    taken_by_all(&mut members, &commit);
    let members = members.split_off(1);
    for m in &members {
        assert_eq!(m.host_key(), bob);
        assert_eq!(m.previous_host(), Some(alice));
    }
}

/// Finding: the move to a rejoined host was checked against each member's memory of
/// the rejoin. Now the old host key's signature over the new key is in the commit: a
/// member who joined afterwards by Welcome, and saw no rejoin, agrees.
#[test]
fn a_returning_host_is_proven_by_its_old_key_in_the_commit_alone() {
    let secret = RoomSecret::generate(&mut OsRng);
    let binding = RoomBinding::new(&secret);
    let mut members = room_of(&secret, 3);
    let alice = key(&members[0]);
    let alice_old = members[0].rejoin_signer();
    // Alice's leaf departs and is removed; bob succeeds.
    departed(&mut members, &[0]);
    let commit = members[2].remove(&[0]).expect("removal");
    taken_by_all(&mut members, &commit);
    let mut members = members.split_off(1);
    // Alice comes back under a new identity; dave joins after her, by Welcome.
    add(&secret, &mut members, 0, Identity::generate());
    add(&secret, &mut members, 1, Identity::generate());
    let new_alice = key(&members[2]);
    // Carol cannot take powers with a proof of her own key, nor claim alice's return
    // for herself; a proof over another key does not move powers to alice.
    let carol = key(&members[1]);
    let carol_old = members[1].rejoin_signer();
    assert_eq!(
        members[1].return_host(&carol_old).err(),
        Some(GroupError::Unauthentic)
    );
    let stolen = RoomRecord {
        host: carol,
        previous: None,
        proof: Some(alice_old.sign_return(&members[1].group_id, &new_alice)),
        cap: None,
        renewal: 0,
        moderators: Moderators::default(),
    };
    let forged = forge(&mut members[1], &binding, &[], Some(stolen));
    refused_by_others(&mut members, 1, &forged);
    // Alice's own return, proven by her old host key.
    let commit = members[2].return_host(&alice_old).expect("return");
    taken_by_all(&mut members, &commit);
    for m in &members {
        assert_eq!(m.host_key(), new_alice);
        assert_eq!(m.previous_host(), None);
        assert_ne!(m.host_key(), alice);
    }
    assert!(members[2].is_host());
}

/// Finding: remembered heirs let a former host take powers back. Now only a host a
/// succession replaced may return, until the new host closes that window, and a host
/// that handed over has no way back.
#[test]
fn a_former_host_cannot_take_powers_back() {
    let secret = RoomSecret::generate(&mut OsRng);
    let mut members = room_of(&secret, 3);
    let (alice, bob) = (key(&members[0]), key(&members[1]));
    let alice_old = members[0].rejoin_signer();
    // A hand-over: alice has no way back, even with her own signature.
    let commit = members[0].set_host(bob).expect("hand over");
    taken_by_all(&mut members, &commit);
    assert_eq!(
        members[0].return_host(&alice_old).err(),
        Some(GroupError::Unauthentic)
    );
    let forged = {
        let binding = RoomBinding::new(&secret);
        let record = RoomRecord {
            host: alice,
            previous: None,
            proof: Some(alice_old.sign_return(&members[0].group_id, &alice)),
            cap: None,
            renewal: 0,
            moderators: Moderators::default(),
        };
        forge(&mut members[0], &binding, &[], Some(record))
    };
    refused_by_others(&mut members, 0, &forged);
    // A succession keeps bob as `previous` until the new host closes the window.
    departed(&mut members, &[1]);
    let bob_old = members[1].rejoin_signer();
    let commit = members[2]
        .remove(&[1])
        .expect("removal of the departed host");
    taken_by_all(&mut members, &commit);
    members.remove(1);
    assert_eq!(members[0].previous_host(), Some(bob));
    assert!(members[0].is_host(), "alice, the lowest leaf, succeeded");
    assert_eq!(
        members[1].close_return().err(),
        Some(GroupError::Unauthentic),
        "only the host closes the window"
    );
    let commit = members[0].close_return().expect("close");
    taken_by_all(&mut members, &commit);
    add(&secret, &mut members, 0, Identity::generate());
    assert_eq!(
        members[2].return_host(&bob_old).err(),
        Some(GroupError::Unauthentic),
        "the window is closed"
    );
}

/// A commit of this member's own that the rules refuse by the time the relay orders it
/// (a member it removed came back) is dropped, as every other member drops it.
#[test]
fn an_own_removal_of_a_member_who_came_back_is_dropped() {
    let secret = RoomSecret::generate(&mut OsRng);
    let mut members = room_of(&secret, 3);
    departed(&mut members, &[2]);
    let commit = members[1].remove(&[2]).expect("removal");
    departed(&mut members, &[]);
    assert_eq!(members[1].handle(&commit).err(), Some(GroupError::Refused));
    assert!(!members[1].has_pending_commit());
    assert_eq!(
        members[0].handle(&commit).err(),
        Some(GroupError::Unauthentic)
    );
    let commit = members[1].self_update().expect("still usable");
    taken_by_all(&mut members, &commit);
}

/// The member cap is the host's to set: members refuse it from anyone else, a return
/// cannot change it, and a succession keeps it.
#[test]
fn only_the_host_sets_the_member_cap() {
    let secret = RoomSecret::generate(&mut OsRng);
    let binding = RoomBinding::new(&secret);
    let mut members = room_of(&secret, 3);
    let alice = key(&members[0]);
    assert_eq!(
        members[1].set_member_cap(Some(3)).err(),
        Some(GroupError::Unauthentic)
    );
    let forged = forge(
        &mut members[1],
        &binding,
        &[],
        Some(RoomRecord {
            cap: Some(9),
            ..RoomRecord::new(alice)
        }),
    );
    refused_by_others(&mut members, 1, &forged);
    let commit = members[0].set_member_cap(Some(3)).expect("cap");
    taken_by_all(&mut members, &commit);
    assert!(members.iter().all(|m| m.member_cap() == Some(3)));
    departed(&mut members, &[0]);
    let commit = members[2].remove(&[0]).expect("succession");
    taken_by_all(&mut members, &commit);
    assert_eq!(
        members[1].member_cap(),
        Some(3),
        "a succession keeps the cap"
    );
    let bob = key(&members[1]);
    assert_eq!(members[1].host_key(), bob);
}

/// The invitation's renewal number (PROTOCOL.md §11.4): the host's kick raises it by one
/// in the removal itself, every member that stays derives the same pass from the new
/// epoch, and nobody else moves the number: not a member, not the host by more than one,
/// not a hand-over or a succession, which keep it.
#[test]
fn only_the_host_renews_the_invitation_one_step_at_a_time() {
    let secret = RoomSecret::generate(&mut OsRng);
    let binding = RoomBinding::new(&secret);
    let mut members = room_of(&secret, 4);
    let alice = key(&members[0]);
    let renewed = |n: u32| {
        Some(RoomRecord {
            renewal: n,
            ..RoomRecord::new(alice)
        })
    };
    // A member who is not the host: refused locally, and by everyone when forced.
    assert_eq!(
        members[1].renew_invitation().err(),
        Some(GroupError::Unauthentic)
    );
    let forged = forge(&mut members[1], &binding, &[], renewed(1));
    refused_by_others(&mut members, 1, &forged);
    // The host, skipping a number.
    let forged = forge(&mut members[0], &binding, &[], renewed(2));
    refused_by_others(&mut members, 0, &forged);

    // The host kicks dave (leaf 3): one commit removes him and renews.
    let commit = members[0].kick(3).expect("kick");
    let mut passes = Vec::new();
    for (i, m) in members.iter_mut().enumerate() {
        match m.handle(&commit) {
            Ok(Incoming::Commit {
                renewed: Some(1),
                removed,
                by_host: true,
                ..
            }) => {
                assert_eq!(removed.len(), 1);
                passes.push(m.room_pass().expect("pass").to_vec());
            }
            Ok(Incoming::Removed { kicked }) => {
                assert_eq!(i, 3, "only dave is removed");
                assert!(kicked, "and he is told he was kicked");
            }
            other => panic!("member {i}: {other:?}"),
        }
    }
    members.truncate(3);
    assert_eq!(passes.len(), 3);
    assert!(passes.windows(2).all(|w| w[0] == w[1]), "one pass for all");
    assert!(members.iter().all(|m| m.renewal() == 1));
    // The pass is that epoch's alone: the next epoch's exporter gives another one.
    let commit = members[0].self_update().expect("update");
    taken_by_all(&mut members, &commit);
    assert_ne!(members[1].room_pass().expect("pass").to_vec(), passes[0]);

    // Going back down is refused too.
    let forged = forge(&mut members[0], &binding, &[], host(alice));
    refused_by_others(&mut members, 0, &forged);
    // A hand-over keeps the number; so does a succession.
    let bob = key(&members[1]);
    let commit = members[0].set_host(bob).expect("hand over");
    taken_by_all(&mut members, &commit);
    assert!(members
        .iter()
        .all(|m| m.renewal() == 1 && m.host_key() == bob));
    departed(&mut members, &[1]);
    let commit = members[2].remove(&[1]).expect("succession");
    taken_by_all(&mut members, &commit);
    assert_eq!(members[0].renewal(), 1, "a succession keeps the number");
    assert_eq!(members[0].host_key(), alice);
    // The new host renews on its own: one step.
    let commit = members[0].renew_invitation().expect("renew");
    for i in [0, 2] {
        assert!(matches!(
            members[i].handle(&commit),
            Ok(Incoming::Commit {
                renewed: Some(2),
                ..
            })
        ));
    }
}

/// The host names moderators; a moderator removes present members (a kick) but not the
/// host, itself nor another moderator, and changes nothing in the record; a member the
/// host never named (or no longer names) removes nobody present.
#[test]
fn a_moderator_kicks_members_but_holds_no_other_host_power() {
    let secret = RoomSecret::generate(&mut OsRng);
    let binding = RoomBinding::new(&secret);
    let mut members = room_of(&secret, 5);
    let (alice, bob, carol, dave) = (
        key(&members[0]),
        key(&members[1]),
        key(&members[2]),
        key(&members[3]),
    );
    // Before anyone is a moderator, bob removes nobody present.
    assert_eq!(members[1].remove(&[4]).err(), Some(GroupError::Unauthentic));
    let forged = forge(&mut members[1], &binding, &[4], None);
    refused_by_others(&mut members, 1, &forged);
    // Only the host names moderators.
    assert_eq!(
        members[1].set_moderator(bob, true).err(),
        Some(GroupError::Unauthentic)
    );
    let with_bob = RoomRecord {
        moderators: Moderators::from_keys([bob]).unwrap(),
        ..RoomRecord::new(alice)
    };
    let forged = forge(&mut members[1], &binding, &[], Some(with_bob));
    refused_by_others(&mut members, 1, &forged);
    let commit = members[0].set_moderator(bob, true).expect("name bob");
    taken_by_all(&mut members, &commit);
    let commit = members[0].set_moderator(carol, true).expect("name carol");
    taken_by_all(&mut members, &commit);
    assert!(members.iter().all(|m| m.is_moderator_key(&bob)
        && m.is_moderator_key(&carol)
        && !m.is_moderator_key(&alice)));
    assert!(members[1].is_moderator() && !members[3].is_moderator());
    // Bob may not remove the host nor another moderator, and may not change the record:
    // not name moderators, set the cap, hand over or forget a moderator.
    assert_eq!(members[1].remove(&[0]).err(), Some(GroupError::Unauthentic));
    assert_eq!(members[1].remove(&[2]).err(), Some(GroupError::Unauthentic));
    let forged = forge(&mut members[1], &binding, &[0], None);
    refused_by_others(&mut members, 1, &forged);
    let forged = forge(&mut members[1], &binding, &[2], None);
    refused_by_others(&mut members, 1, &forged);
    let record = members[0].record;
    for changed in [
        RoomRecord {
            moderators: Moderators::from_keys([bob, carol, dave]).unwrap(),
            ..record
        },
        RoomRecord {
            moderators: Moderators::from_keys([bob]).unwrap(),
            ..record
        },
        RoomRecord {
            cap: Some(2),
            ..record
        },
        RoomRecord {
            host: bob,
            ..record
        },
    ] {
        let forged = forge(&mut members[1], &binding, &[], Some(changed));
        refused_by_others(&mut members, 1, &forged);
    }
    assert_eq!(
        members[1].set_moderator(dave, true).err(),
        Some(GroupError::Unauthentic)
    );
    assert_eq!(
        members[1].set_host(bob).err(),
        Some(GroupError::Unauthentic)
    );
    // A moderator's kick of a present member: everyone takes it, as a moderator's.
    let commit = members[1].remove(&[4]).expect("bob kicks");
    for (i, m) in members.iter_mut().enumerate() {
        match m.handle(&commit) {
            Ok(Incoming::Commit {
                by_host: false,
                by_moderator: true,
                kind: CommitKind::Remove,
                ..
            }) => {}
            Ok(Incoming::Removed { .. }) if i == 4 => {}
            other => panic!("member {i}: {other:?}"),
        }
    }
    members.truncate(4);
    assert!(members.iter().all(|m| m.members().len() == 4));
    // Un-named, bob removes nobody present any more; carol still may.
    let commit = members[0].set_moderator(bob, false).expect("unname bob");
    taken_by_all(&mut members, &commit);
    assert!(members.iter().all(|m| !m.is_moderator_key(&bob)));
    assert_eq!(members[1].remove(&[3]).err(), Some(GroupError::Unauthentic));
    let forged = forge(&mut members[1], &binding, &[3], None);
    refused_by_others(&mut members, 1, &forged);
    let commit = members[2].remove(&[1]).expect("carol kicks bob");
    taken_by_all(&mut members, &commit);
}

/// A hand-over drops the new host from the moderator list; a succession keeps the
/// list, and the heir's own key there counts as the host's, not a moderator's.
#[test]
fn the_moderator_list_survives_a_succession_and_a_hand_over() {
    let secret = RoomSecret::generate(&mut OsRng);
    let mut members = room_of(&secret, 3);
    let (bob, carol) = (key(&members[1]), key(&members[2]));
    let commit = members[0].set_moderator(bob, true).expect("name bob");
    taken_by_all(&mut members, &commit);
    let commit = members[0].set_moderator(carol, true).expect("name carol");
    taken_by_all(&mut members, &commit);
    let commit = members[0].set_host(carol).expect("hand over");
    taken_by_all(&mut members, &commit);
    assert!(members.iter().all(|m| m.moderator_keys() == [bob]));

    let mut members = room_of(&secret, 3);
    let (bob, carol) = (key(&members[1]), key(&members[2]));
    for k in [bob, carol] {
        let commit = members[0].set_moderator(k, true).expect("name");
        taken_by_all(&mut members, &commit);
    }
    // Alice, the host, leaves: bob, the lowest leaf left, succeeds.
    departed(&mut members, &[0]);
    let commit = members[2].remove(&[0]).expect("succession");
    members.remove(0);
    for m in members.iter_mut() {
        assert!(matches!(m.handle(&commit), Ok(Incoming::Commit { .. })));
        assert_eq!(m.host_key(), bob);
        assert_eq!(m.moderator_keys(), [carol], "the host is no moderator");
        assert!(!m.is_moderator_key(&bob));
    }
    assert!(members[0].is_host() && !members[0].is_moderator());
    assert!(members[1].is_moderator());
}

/// A modified client makes the room's group with one more GroupContext extension (an
/// external sender, which every other member would refuse in a commit) and Welcomes a newcomer into it: the
/// newcomer refuses the Welcome as not the room's.
#[test]
fn a_welcome_into_a_group_with_other_context_extensions_is_refused() {
    let secret = RoomSecret::generate(&mut OsRng);
    let binding = RoomBinding::new(&secret);
    let mut host = Group::create(Identity::generate(), &secret).expect("create");
    let mut extensions = context_extensions(&binding, &host.record).expect("extensions");
    // An external sender (the relay, say), which could then propose removals.
    let outsider = openmls::prelude::ExternalSender::new(
        vec![7; 32].into(),
        openmls::prelude::BasicCredential::new(b"relay".to_vec()).into(),
    );
    extensions
        .add(Extension::ExternalSenders(vec![outsider]))
        .expect("one more");
    host.mls
        .commit_builder()
        .propose_group_context_extensions(extensions)
        .expect("proposal")
        .load_psks(host.provider.storage())
        .expect("psks")
        .build(
            host.provider.rand(),
            host.provider.crypto(),
            &host.identity,
            |_| true,
        )
        .expect("build")
        .stage_commit(&host.provider)
        .expect("stage");
    host.mls
        .merge_pending_commit(&host.provider)
        .expect("merge");
    let mut joiner = Joiner::new(Identity::generate()).expect("key package");
    let commit = host.add(joiner.key_package()).expect("add");
    let Ok(Incoming::Commit {
        welcome: Some(welcome),
        ..
    }) = host.handle(&commit)
    else {
        panic!("the host's add");
    };
    assert_eq!(
        joiner.join(&secret, &welcome).err(),
        Some(GroupError::WrongRoom)
    );
    // The same newcomer takes the room's own group.
    let mut room = room_of(&secret, 1);
    let commit = room[0].add(joiner.key_package()).expect("add");
    let Ok(Incoming::Commit {
        welcome: Some(welcome),
        ..
    }) = room[0].handle(&commit)
    else {
        panic!("the add");
    };
    assert!(joiner.join(&secret, &welcome).is_ok());
}

/// A moderator may remove a departed moderator's leaf, as anyone may, but not in a
/// commit that renews the invitation: that would read, for every member, as a kick of
/// one moderator by another.
#[test]
fn a_moderator_s_renewing_commit_removes_no_departed_moderator() {
    let secret = RoomSecret::generate(&mut OsRng);
    let binding = RoomBinding::new(&secret);
    let mut members = room_of(&secret, 4);
    let (bob, carol) = (key(&members[1]), key(&members[2]));
    for moderator in [bob, carol] {
        let commit = members[0].set_moderator(moderator, true).expect("name");
        taken_by_all(&mut members, &commit);
    }
    departed(&mut members, &[2]);
    let renewed = RoomRecord {
        renewal: members[0].renewal() + 1,
        ..members[0].record
    };
    let forged = forge(&mut members[1], &binding, &[2], Some(renewed));
    refused_by_others(&mut members, 1, &forged);
    // The same removal without the renewal is taken.
    let commit = members[1].remove(&[2]).expect("remove the departed leaf");
    taken_by_all(&mut members, &commit);
}

/// A member's commit that gives its own leaf another credential (a modified client
/// updating its path with a new signer) is refused: a leaf's identity is fixed while it
/// is in the group, so nobody can drop a removal owed to it or hide from a kick by
/// becoming "someone else" at the same leaf.
#[test]
fn a_member_cannot_change_its_own_credential_in_a_commit() {
    let secret = RoomSecret::generate(&mut OsRng);
    let mut members = room_of(&secret, 3);
    let before = members[0].members();
    let new = Identity::generate();
    let commit = {
        let group = &mut members[2];
        let bundle = group
            .mls
            .self_update_with_new_signer(
                &group.provider,
                &group.identity,
                NewSignerBundle {
                    signer: &new,
                    credential_with_key: new.credential_with_key(),
                },
                LeafNodeParameters::default(),
            )
            .expect("update");
        group
            .stage_own(bundle.commit(), CommitKind::Update, None)
            .expect("stage own")
    };
    refused_by_others(&mut members, 2, &commit);
    assert_eq!(members[0].members(), before);
    // Its honest update, with the same credential, is taken.
    let update = members[2].self_update().expect("update");
    taken_by_all(&mut members, &update);
    assert_eq!(members[1].members(), before);
}

/// A commit that removes a leaf and adds a newcomer at once (who then sits at the freed
/// index) is refused, whoever makes it, the host included: the others would still owe
/// the old holder its removal, or know the leaf by the old holder's relay id.
#[test]
fn a_commit_never_adds_and_removes_together() {
    let secret = RoomSecret::generate(&mut OsRng);
    let binding = RoomBinding::new(&secret);
    let mut members = room_of(&secret, 3);
    // Leaf 1's member is gone as far as everyone knows: anyone may remove it.
    departed(&mut members, &[1]);
    let before = members[1].members();
    for by in [0, 2] {
        let joiner = Joiner::new(Identity::generate()).expect("key package");
        let (key_package, _) = members[by]
            .validate_key_package(joiner.key_package())
            .expect("valid");
        let commit = forge_with_adds(&mut members[by], &binding, &[1], vec![key_package], None);
        // Member 1, the one removed, refuses it as well: nobody moves.
        refused_by_others(&mut members, by, &commit);
        assert_eq!(members[1].members(), before);
    }
}
