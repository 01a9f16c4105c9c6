//! Host powers that move, through the in-memory relay: a hand-over, the host's
//! successor taking over when the host leaves, a rejoined host keeping its powers, and
//! what a relay (alone) or a member who is not the host cannot do about them.

use vroom_shared::session::{ActionError, SessionEvent};
use vroom_shared::wire::{Event, LeaveReason, MemberId, ServerFrame};

use super::relay::Net;
use super::talk::room_of_three;

const T0: u64 = 1_700_000_000_000;

/// Who `name`'s member list marks as the host.
fn host_seen_by(net: &Net, name: &str) -> Vec<MemberId> {
    net.clients[name]
        .session
        .members()
        .into_iter()
        .filter(|m| m.is_host)
        .map(|m| m.member)
        .collect()
}

fn host_changes(net: &Net, name: &str) -> Vec<MemberId> {
    net.clients[name]
        .events
        .iter()
        .filter_map(|e| match e {
            SessionEvent::HostChanged { member, .. } => Some(*member),
            _ => None,
        })
        .collect()
}

fn assert_no_warnings(net: &Net, names: &[&str]) {
    for name in names {
        assert_eq!(
            net.warnings(name),
            0,
            "{name}: {:?}",
            net.clients[*name].events
        );
    }
}

#[test]
fn the_host_hands_its_powers_to_a_member_and_everyone_agrees() {
    let mut net = room_of_three();
    let bob = net.id("bob");
    let alice = net.id("alice");
    net.user("alice", |s| s.hand_over(bob));
    for name in ["alice", "bob", "carol"] {
        assert_eq!(host_seen_by(&net, name), [bob], "{name}'s member list");
        assert_eq!(host_changes(&net, name), [bob], "{name} was told once");
    }
    assert!(net.clients["bob"].session.is_host());
    assert!(!net.clients["alice"].session.is_host());
    // The relay's seat followed, and bob holds a secret of his own (the test relay
    // asserts the secret of every host request).
    assert_eq!(net.host, bob);
    net.user("bob", |s| s.lock(true));
    assert!(net.clients["carol"]
        .events
        .iter()
        .any(|e| matches!(e, SessionEvent::Locked { locked: true })));
    // The old host has no powers left, in the group or at the relay.
    let alice_session = &mut net.clients.get_mut("alice").unwrap().session;
    assert_eq!(alice_session.lock(false).err(), Some(ActionError::NotHost));
    assert_eq!(
        alice_session.hand_over(alice).err(),
        Some(ActionError::NotHost)
    );
    assert_eq!(
        alice_session.kick(bob).err(),
        Some(ActionError::NotHost),
        "a former host cannot kick"
    );
    // The new host's kick is shown as a kick by everyone.
    let carol = net.id("carol");
    net.user("bob", |s| s.kick(carol));
    assert!(net.clients["alice"].events.iter().any(|e| matches!(
        e,
        SessionEvent::MemberLeft {
            reason: LeaveReason::Kicked,
            ..
        }
    )));
    assert_no_warnings(&net, &["alice", "bob"]);
}

#[test]
fn a_member_who_is_not_the_host_cannot_hand_over() {
    let mut net = room_of_three();
    let carol = net.id("carol");
    let bob = &mut net.clients.get_mut("bob").unwrap().session;
    assert_eq!(bob.hand_over(carol).err(), Some(ActionError::NotHost));
    let alice = net.id("alice");
    assert_eq!(host_seen_by(&net, "carol"), [alice]);
}

#[test]
fn a_relays_host_change_alone_is_warned_about_and_changes_nothing() {
    let mut net = room_of_three();
    let alice = net.id("alice");
    let carol = net.id("carol");
    net.inject_event("carol", Event::HostChanged { host: carol });
    net.inject_event("bob", Event::HostChanged { host: carol });
    for name in ["bob", "carol"] {
        assert_eq!(net.warnings(name), 1, "{name} warns");
        assert_eq!(host_seen_by(&net, name), [alice]);
        assert!(host_changes(&net, name).is_empty());
    }
    assert!(!net.clients["carol"].session.is_host());
    let carol_session = &mut net.clients.get_mut("carol").unwrap().session;
    assert_eq!(carol_session.lock(true).err(), Some(ActionError::NotHost));
    // The real host keeps its powers.
    net.user("alice", |s| s.lock(true));
}

#[test]
fn when_the_host_leaves_the_lowest_leaf_succeeds_and_everyone_agrees() {
    let mut net = room_of_three();
    let invite_dave = {
        let link = net.clients["bob"]
            .session
            .invite_link("https://relay.test")
            .unwrap();
        vroom_shared::invite::Invite::parse(&link).unwrap()
    };
    net.join("dave", &invite_dave);
    net.user("alice", |s| s.leave());
    net.tick(T0);
    let bob = net.id("bob");
    for name in ["bob", "carol", "dave"] {
        assert_eq!(host_seen_by(&net, name), [bob], "{name}'s member list");
        assert_eq!(host_changes(&net, name), [bob], "{name} was told once");
    }
    // The relay's seat was free: bob claimed it with a secret of his own.
    assert_eq!(net.host, bob);
    net.user("bob", |s| s.lock(true));
    let carol = net.id("carol");
    net.user("bob", |s| s.kick(carol));
    assert!(net.clients["dave"].events.iter().any(|e| matches!(
        e,
        SessionEvent::MemberLeft {
            reason: LeaveReason::Kicked,
            ..
        }
    )));
    assert_no_warnings(&net, &["bob", "dave"]);
}

#[test]
fn a_host_who_rejoins_under_a_new_identity_keeps_its_powers() {
    let mut net = room_of_three();
    let alice = net.id("alice");
    // Commits may be lost in a gap: alice leaves her group state behind and asks to be
    // added again, with a new identity, proven by her old leaf's signature.
    net.inject("alice", ServerFrame::Gap { from: 1, to: 3 }.encode());
    net.tick(T0);
    net.tick(T0 + 10_000);
    assert!(net.clients["alice"].session.is_ready());
    for name in ["alice", "bob", "carol"] {
        assert_eq!(host_seen_by(&net, name), [alice], "{name}'s member list");
    }
    assert!(net.clients["alice"].session.is_host());
    assert!(!net.clients["bob"].session.is_host());
    // Nobody took over meanwhile, and the relay's seat never moved.
    assert!(host_changes(&net, "bob").iter().all(|m| *m == alice));
    assert_eq!(net.host, alice);
    net.user("alice", |s| s.lock(true));
    assert_no_warnings(&net, &["bob", "carol"]);
}
