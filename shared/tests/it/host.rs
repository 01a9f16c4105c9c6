//! Host powers that move, through the in-memory relay: a hand-over, the host's
//! successor taking over when the host leaves, a rejoined host keeping its powers, and
//! what a relay (alone) or a member who is not the host cannot do about them.

use vroom_shared::session::{ActionError, SessionEvent};
use vroom_shared::wire::{ClientFrame, Event, LeaveReason, MemberId, ServerFrame};

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

/// Whether `name`'s session reported an event `pick` matches.
fn saw(net: &Net, name: &str, pick: impl Fn(&SessionEvent) -> bool) -> bool {
    net.clients[name].events.iter().any(pick)
}

/// An invite link of `name`'s, parsed.
fn invite_from(net: &Net, name: &str) -> vroom_shared::invite::Invite {
    let link = net.clients[name]
        .session
        .invite_link("https://relay.test")
        .unwrap();
    vroom_shared::invite::Invite::parse(&link).unwrap()
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
    assert!(saw(&net, "carol", |e| matches!(
        e,
        SessionEvent::Locked { locked: true }
    )));
    // The old host has no powers left, in the group or at the relay.
    let alice_session = &mut net.clients.get_mut("alice").unwrap().session;
    assert_eq!(
        alice_session.lock(false).err(),
        Some(ActionError::NotModerator)
    );
    assert_eq!(
        alice_session.hand_over(alice).err(),
        Some(ActionError::NotHost)
    );
    assert_eq!(
        alice_session.kick(bob).err(),
        Some(ActionError::NotModerator),
        "a former host cannot kick"
    );
    // The new host's kick is shown as a kick by everyone.
    let carol = net.id("carol");
    net.user("bob", |s| s.kick(carol));
    assert!(saw(&net, "alice", |e| matches!(
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
    assert_eq!(
        carol_session.lock(true).err(),
        Some(ActionError::NotModerator)
    );
    // The real host keeps its powers.
    net.user("alice", |s| s.lock(true));
}

#[test]
fn when_the_host_leaves_the_lowest_leaf_succeeds_and_everyone_agrees() {
    let mut net = room_of_three();
    let invite_dave = invite_from(&net, "bob");
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
    assert!(saw(&net, "dave", |e| matches!(
        e,
        SessionEvent::MemberLeft {
            reason: LeaveReason::Kicked,
            ..
        }
    )));
    assert_no_warnings(&net, &["bob", "dave"]);
}

/// A host that rejoined under a new identity takes its powers back with its old host
/// key's signature over its new one, carried in its own commit: a member who joined
/// in between by Welcome, and never saw the rejoin request, agrees (each member's own
/// memory of the request decided before).
#[test]
fn a_host_who_rejoins_under_a_new_identity_proves_its_return_to_everyone() {
    let mut net = room_of_three();
    let alice = net.id("alice");
    let old_key = net.clients["alice"].session.fingerprint();
    // Commits may be lost in a gap: alice leaves her group state behind and asks to be
    // added again, with a new identity, proven by her old leaf's signature. What the
    // relay sends her waits meanwhile.
    net.hold.insert("alice", Vec::new());
    net.inject("alice", ServerFrame::Gap { from: 1, to: 3 }.encode());
    net.tick(T0);
    net.tick(T0 + 10_000);
    // Her old leaf is gone: bob, the lowest leaf, succeeded. Dave joins now, by
    // Welcome: he never saw alice's request.
    let bob = net.id("bob");
    assert_eq!(host_seen_by(&net, "carol"), [bob]);
    let invite = invite_from(&net, "bob");
    net.join("dave", &invite);
    net.tick(T0 + 20_000);
    assert!(net.clients["dave"].session.is_ready());
    let held = net.hold.remove("alice").unwrap();
    net.clients.get_mut("alice").unwrap().inbox.extend(held);
    net.run();
    net.tick(T0 + 30_000);
    net.tick(T0 + 40_000);
    assert!(net.clients["alice"].session.is_ready());
    assert_ne!(net.clients["alice"].session.fingerprint(), old_key);
    for name in ["alice", "bob", "carol", "dave"] {
        assert_eq!(host_seen_by(&net, name), [alice], "{name}'s member list");
    }
    assert!(net.clients["alice"].session.is_host());
    assert!(!net.clients["bob"].session.is_host());
    // The relay's seat stayed with alice (her id never changed), and it works.
    assert_eq!(net.host, alice);
    net.user("alice", |s| s.lock(true));
    // (Dave is left out: alice's profile, sent in the epoch before he joined and
    // delivered late, is one he cannot read, which he reports.)
    assert_no_warnings(&net, &["alice", "bob", "carol"]);
}

/// An insider, helped by the relay (which tells her alone that alice and bob left),
/// removes the host and the leaf below her own to become the lowest leaf: the others
/// refuse her commits, and alice stays host for them (a removal of a present member by
/// someone who is not the host was only warned about before).
#[test]
fn an_insider_with_the_relay_cannot_remove_the_host_to_take_over() {
    let mut net = room_of_three();
    let (alice, bob) = (net.id("alice"), net.id("bob"));
    for member in [alice, bob] {
        net.inject_event(
            "carol",
            Event::Left {
                member,
                reason: LeaveReason::Left,
            },
        );
    }
    for step in 0..4 {
        net.tick(T0 + step * 10_000);
    }
    assert!(net.clients["alice"].session.is_host());
    assert_eq!(host_seen_by(&net, "bob"), [alice], "bob's member list");
    assert!(!net.clients["bob"].session.is_host());
    for name in ["alice", "bob"] {
        assert!(host_changes(&net, name).is_empty(), "{name}");
        assert!(
            net.warnings(name) > 0,
            "{name} was told of a refused commit"
        );
    }
    // The host keeps its powers for alice and bob.
    net.user("alice", |s| s.lock(true));
    assert!(saw(&net, "bob", |e| matches!(
        e,
        SessionEvent::Locked { locked: true }
    )));
    net.say("alice", "still here");
    assert!(net.texts("bob").contains(&"still here".to_string()));
}

/// The old host's `HandOver` is lost with its connection: it kept its secret until the
/// relay confirmed the move, so it hands the seat over again once back, and the new
/// host gets the relay's powers (the seat stayed with a member who had dropped its
/// secret before).
#[test]
fn a_lost_hand_over_is_sent_again_and_the_seat_is_not_stuck() {
    let mut net = room_of_three();
    let (alice, bob) = (net.id("alice"), net.id("bob"));
    net.hold.insert("alice", Vec::new());
    net.user("alice", |s| s.hand_over(bob));
    // Alice reads her commit's echo, writes her `HandOver`, and the socket drops
    // before the relay reads it.
    let written: Vec<Vec<u8>> = {
        let frames: Vec<Vec<u8>> = net.hold.remove("alice").unwrap();
        let session = &mut net.clients.get_mut("alice").unwrap().session;
        frames
            .iter()
            .flat_map(|f| session.handle(f))
            .filter_map(|o| match o {
                vroom_shared::session::Output::Send(frame) => Some(frame),
                _ => None,
            })
            .collect()
    };
    assert!(
        written
            .iter()
            .any(|f| matches!(ClientFrame::decode(f), Ok(ClientFrame::HandOver { .. }))),
        "alice handed the seat over"
    );
    net.drop_connection("alice");
    assert_eq!(net.host, alice, "the relay never read it");
    net.reconnect("alice");
    assert_eq!(net.host, bob, "sent again once back");
    for name in ["alice", "bob", "carol"] {
        assert_eq!(host_seen_by(&net, name), [bob], "{name}'s member list");
    }
    // Bob claimed the seat with a secret of his own: the relay takes his lock.
    net.user("bob", |s| s.lock(true));
    assert!(saw(&net, "carol", |e| matches!(
        e,
        SessionEvent::Locked { locked: true }
    )));
}

/// A host whose page reloads past the relay's grace comes back under a new relay id:
/// the relay's own succession gave the seat to bob, the group's to bob too; alice holds
/// no stale relay secret, proves her return with the key she saved, and the seat follows
/// her through bob's hand-over (she used to keep a secret the relay no longer took).
#[test]
fn a_host_back_under_a_new_id_returns_and_the_seat_follows() {
    let mut net = room_of_three();
    let (old_alice, bob) = (net.id("alice"), net.id("bob"));
    let saved = net.clients["alice"].session.resumable().unwrap();
    net.remove_quietly("alice", LeaveReason::Disconnected);
    net.tick(T0);
    net.tick(T0 + 10_000);
    assert_eq!(net.host, bob, "the relay's succession");
    assert_eq!(host_seen_by(&net, "carol"), [bob], "the group's succession");
    let (session, first) = vroom_shared::session::Session::resume(&saved);
    net.hold.insert("alice", Vec::new());
    net.reload("alice", session, first);
    net.hold.remove("alice");
    net.inject(
        "alice",
        ServerFrame::Error {
            code: vroom_shared::wire::ErrorCode::ResumeRefused,
        }
        .encode(),
    );
    for step in 2..6 {
        net.tick(T0 + step * 10_000);
    }
    let alice = net.id("alice");
    assert_ne!(alice, old_alice, "a new relay id");
    assert!(net.clients["alice"].session.is_host());
    for name in ["bob", "carol"] {
        assert_eq!(host_seen_by(&net, name), [alice], "{name}'s member list");
    }
    assert_eq!(net.host, alice, "the seat followed");
    net.user("alice", |s| s.lock(true));
    assert!(saw(&net, "carol", |e| matches!(
        e,
        SessionEvent::Locked { locked: true }
    )));
    assert_no_warnings(&net, &["alice", "bob", "carol"]);
}

/// The host's member cap: every member sees it as the group agreed, only the host sets
/// it, the relay is told, and members refuse a newcomer past it even when the relay
/// lets one in; the room takes newcomers again once it is lifted.
#[test]
fn the_host_caps_the_members_and_members_hold_to_it() {
    let mut net = room_of_three();
    let carol_session = &mut net.clients.get_mut("carol").unwrap().session;
    assert_eq!(
        carol_session.set_member_cap(Some(2)).err(),
        Some(ActionError::NotHost)
    );
    net.user("alice", |s| s.set_member_cap(Some(3)));
    for name in ["alice", "bob", "carol"] {
        assert_eq!(net.clients[name].session.member_cap(), Some(3), "{name}");
        assert!(saw(&net, name, |e| matches!(
            e,
            SessionEvent::MemberCap { cap: Some(3) }
        )));
    }
    assert_eq!(net.cap, Some(3), "the relay was told");
    // The test relay does not enforce caps: it lets dave in, the members do not add him.
    let invite = invite_from(&net, "bob");
    net.join("dave", &invite);
    net.tick(T0);
    net.tick(T0 + 10_000);
    assert!(!net.clients["dave"].session.is_ready(), "nobody added dave");
    assert!(net.warnings("bob") > 0, "bob was told why");
    net.user("alice", |s| s.set_member_cap(None));
    assert_eq!(net.cap, Some(0), "lifted at the relay");
    assert_eq!(net.clients["carol"].session.member_cap(), None);
    net.clients.remove("dave");
    net.join("dave", &invite);
    net.tick(T0 + 20_000);
    assert!(net.clients["dave"].session.is_ready());
}
