//! Moderators, through the in-memory relay: the host names one, whose kicks and locks
//! every member accepts from the group's record; a moderator holds no other host
//! power; and what a member who is not one, or a relay, cannot do about it.

use vroom_shared::session::{ActionError, Content, HostAction, SessionEvent};
use vroom_shared::wire::{ClientFrame, CloseReason, Event, JoinProofHash, LeaveReason, MemberId};

use super::relay::Net;
use super::talk::room_of_three;

const T0: u64 = 1_700_000_000_000;

/// Alice (the host, leaf 0), bob (leaf 1), carol (leaf 2) and dave (leaf 3).
fn room_of_four() -> Net {
    let mut net = room_of_three();
    let link = net.clients["alice"]
        .session
        .invite_link("https://relay.test")
        .unwrap();
    let invite = vroom_shared::invite::Invite::parse(&link).unwrap();
    net.join("dave", &invite);
    net.tick(T0);
    assert!(net.clients["dave"].session.is_ready());
    net
}

/// Who `name`'s member list marks as moderators.
fn moderators_seen_by(net: &Net, name: &str) -> Vec<MemberId> {
    net.clients[name]
        .session
        .members()
        .into_iter()
        .filter(|m| m.is_moderator)
        .map(|m| m.member)
        .collect()
}

fn saw(net: &Net, name: &str, pick: impl Fn(&SessionEvent) -> bool) -> bool {
    net.clients[name].events.iter().any(pick)
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

/// The hash of the join proof of `name`'s current invite link: what the relay should
/// ask newcomers for.
fn current_proof(net: &Net, name: &str) -> [u8; 32] {
    let link = net.clients[name]
        .session
        .invite_link("https://relay.test")
        .unwrap();
    let invite = vroom_shared::invite::Invite::parse(&link).unwrap();
    invite
        .pass()
        .expect("a renewed link")
        .join_proof(invite.secret())
        .hash()
        .0
}

fn still_in_room(net: &Net, name: &str, count: usize) {
    assert!(!net.clients[name].session.is_ended(), "{name} is still in");
    assert_eq!(net.clients[name].session.members().len(), count, "{name}");
}

#[test]
fn the_hosts_moderator_kicks_and_locks_and_everyone_agrees() {
    let mut net = room_of_four();
    let (alice, bob, dave) = (net.id("alice"), net.id("bob"), net.id("dave"));
    net.user("alice", |s| s.set_moderator(bob, true));
    for name in ["alice", "bob", "carol", "dave"] {
        assert_eq!(
            moderators_seen_by(&net, name),
            [bob],
            "{name}'s member list"
        );
        assert!(
            saw(&net, name, |e| matches!(
                e,
                SessionEvent::ModeratorChanged { member, on: true, .. } if *member == bob
            )),
            "{name} was told"
        );
    }
    assert!(net.clients["bob"].session.is_moderator());
    assert!(net.moderators.contains(&bob), "the relay was told");
    // Bob locks: everyone takes it as announced by someone allowed to.
    net.user("bob", |s| s.lock(true));
    for name in ["alice", "carol", "dave"] {
        assert!(saw(&net, name, |e| matches!(
            e,
            SessionEvent::Locked { locked: true }
        )));
    }
    net.user("bob", |s| s.lock(false));
    // Bob kicks dave: his commit renews the invitation and is shown as bob's kick by
    // everyone; the host, holding the relay's seat, tells the relay the new proof, and
    // bob has the relay disconnect dave.
    net.user("bob", |s| s.kick(dave));
    for name in ["alice", "bob", "carol"] {
        assert!(
            saw(&net, name, |e| matches!(
                e,
                SessionEvent::MemberLeft {
                    member,
                    reason: LeaveReason::Kicked,
                    moderator: Some(by),
                    ..
                } if *member == dave && by == "bob"
            )),
            "{name}: {:?}",
            net.clients[name].events
        );
        still_in_room(&net, name, 3);
    }
    assert!(saw(&net, "dave", |e| matches!(
        e,
        SessionEvent::Ended {
            reason: CloseReason::Kicked
        }
    )));
    assert_eq!(
        net.kicks,
        [(Some(bob), dave)],
        "bob's own request disconnected dave"
    );
    assert!(net.clients["bob"].session.invite_renewed());
    assert_eq!(
        net.proof,
        Some(current_proof(&net, "carol")),
        "the relay holds the new proof"
    );
    // The host told the relay the new proof when the commit came, and again after the
    // relay's word of bob's kick (which set the proof bob gave).
    assert_eq!(net.rotations, 2, "the invitation was renewed");
    assert_no_warnings(&net, &["alice", "bob", "carol"]);
    // Bob holds no other host power.
    let bob_session = &mut net.clients.get_mut("bob").unwrap().session;
    assert_eq!(bob_session.terminate().err(), Some(ActionError::NotHost));
    assert_eq!(
        bob_session.hand_over(alice).err(),
        Some(ActionError::NotHost)
    );
    assert_eq!(
        bob_session.set_member_cap(Some(2)).err(),
        Some(ActionError::NotHost)
    );
    let carol = net.id("carol");
    let bob_session = &mut net.clients.get_mut("bob").unwrap().session;
    assert_eq!(
        bob_session.set_moderator(carol, true).err(),
        Some(ActionError::NotHost)
    );
    assert_eq!(bob_session.kick(alice).err(), Some(ActionError::NotHost));
    // Un-named, he kicks and locks no more.
    net.user("alice", |s| s.set_moderator(bob, false));
    for name in ["alice", "bob", "carol"] {
        assert!(moderators_seen_by(&net, name).is_empty(), "{name}");
    }
    assert!(!net.moderators.contains(&bob), "the relay was told");
    let bob_session = &mut net.clients.get_mut("bob").unwrap().session;
    assert!(!bob_session.is_moderator());
    assert_eq!(
        bob_session.kick(carol).err(),
        Some(ActionError::NotModerator)
    );
    assert_eq!(
        bob_session.lock(true).err(),
        Some(ActionError::NotModerator)
    );
    assert_no_warnings(&net, &["alice", "bob", "carol"]);
}

/// Carol, never named, plays a modified client: her end and lock announcements are
/// refused with a warning, and her removal of a member the relay told her alone had
/// left is refused by everyone else.
#[test]
fn a_member_who_is_not_a_moderator_cannot_kick() {
    let mut net = room_of_four();
    let bob = net.id("bob");
    net.user("alice", |s| s.set_moderator(bob, true));
    net.user("carol", |s| {
        s.send_raw_content(&Content::Host(HostAction::Terminate))
    });
    net.user("carol", |s| {
        s.send_raw_content(&Content::Host(HostAction::Lock(true)))
    });
    for name in ["alice", "bob", "dave"] {
        assert_eq!(net.warnings(name), 2, "{name} warned of both");
    }
    let dave = net.id("dave");
    net.inject_event(
        "carol",
        Event::Left {
            member: dave,
            reason: LeaveReason::Left,
        },
    );
    for step in 1..5 {
        net.tick(T0 + step * 10_000);
    }
    for name in ["alice", "bob", "dave"] {
        still_in_room(&net, name, 4);
        assert!(
            net.warnings(name) > 2,
            "{name} was told of a refused commit"
        );
        assert!(!saw(&net, name, |e| matches!(
            e,
            SessionEvent::MemberLeft { .. }
        )));
    }
}

/// Bob, a moderator, plays a modified client: ending the room is refused with a
/// warning, kicking the host or another moderator is refused by his own session, and his removal of the host (the
/// relay having told him alone that she left) is refused by everyone else.
#[test]
fn a_moderator_cannot_end_the_room_nor_remove_the_host() {
    let mut net = room_of_four();
    let (alice, bob, carol) = (net.id("alice"), net.id("bob"), net.id("carol"));
    net.user("alice", |s| s.set_moderator(bob, true));
    net.user("alice", |s| s.set_moderator(carol, true));
    assert_eq!(moderators_seen_by(&net, "dave"), [bob, carol]);
    let bob_session = &mut net.clients.get_mut("bob").unwrap().session;
    assert_eq!(bob_session.kick(carol).err(), Some(ActionError::NotHost));
    net.user("bob", |s| {
        s.send_raw_content(&Content::Host(HostAction::Terminate))
    });
    for name in ["alice", "carol", "dave"] {
        assert_eq!(net.warnings(name), 1, "{name} warned of it");
        still_in_room(&net, name, 4);
    }
    net.inject_event(
        "bob",
        Event::Left {
            member: alice,
            reason: LeaveReason::Left,
        },
    );
    for step in 1..5 {
        net.tick(T0 + step * 10_000);
    }
    assert!(net.clients["alice"].session.is_host());
    for name in ["carol", "dave"] {
        still_in_room(&net, name, 4);
        let host: Vec<MemberId> = net.clients[name]
            .session
            .members()
            .into_iter()
            .filter(|m| m.is_host)
            .map(|m| m.member)
            .collect();
        assert_eq!(host, [alice], "{name}");
    }
    // The host still acts.
    net.user("alice", |s| s.lock(true));
    assert!(saw(&net, "dave", |e| matches!(
        e,
        SessionEvent::Locked { locked: true }
    )));
}

/// A relay cannot name a moderator: it carries out a lock nobody in the group may
/// announce (the members warn), and the group's list stays as the host left it.
#[test]
fn a_relay_cannot_make_a_moderator() {
    let mut net = room_of_four();
    let dave = net.id("dave");
    for name in ["bob", "dave"] {
        net.inject_event(name, Event::Locked { locked: true });
        assert_eq!(net.warnings(name), 1, "{name} warned");
    }
    for name in ["alice", "bob", "carol", "dave"] {
        assert!(moderators_seen_by(&net, name).is_empty(), "{name}");
    }
    let carol_session = &mut net.clients.get_mut("carol").unwrap().session;
    assert!(!carol_session.is_moderator());
    assert_eq!(
        carol_session.kick(dave).err(),
        Some(ActionError::NotModerator)
    );
}

/// The host is away (its connection dropped; the relay keeps its place) when bob, a
/// moderator, kicks dave. Bob's kick hands the relay the new join proof itself, so the
/// old link stops working at the relay at once, not when the host comes back; the host,
/// once back, sets the same proof.
#[test]
fn a_moderators_kick_while_the_host_is_away_hands_the_relay_the_new_proof() {
    let mut net = room_of_four();
    let (bob, dave) = (net.id("bob"), net.id("dave"));
    net.user("alice", |s| s.set_moderator(bob, true));
    net.drop_connection("alice");
    net.user("bob", |s| s.kick(dave));
    assert!(net.clients["dave"].session.is_ended());
    assert_eq!(net.kicks, [(Some(bob), dave)]);
    assert_eq!(net.rotations, 0, "the host was away");
    assert_eq!(
        net.proof,
        Some(current_proof(&net, "carol")),
        "the relay holds the new proof"
    );
    assert_eq!(current_proof(&net, "bob"), current_proof(&net, "carol"));
    net.reconnect("alice");
    assert!(net.rotations >= 1, "the host caught up and told the relay");
    assert_eq!(net.proof, Some(current_proof(&net, "alice")));
    assert_eq!(current_proof(&net, "alice"), current_proof(&net, "carol"));
    assert_no_warnings(&net, &["alice", "bob", "carol"]);
}

/// Bob, a moderator playing a modified client, has the relay kick dave with a proof
/// that is no join proof of the room: the relay cannot tell. The host, seeing the
/// relay's word of a kick it did not ask for, sets the proof the group agreed on again,
/// after bob's: a moderator's frame cannot keep newcomers with the current link out.
#[test]
fn a_moderators_wrong_proof_is_replaced_by_the_hosts() {
    let mut net = room_of_four();
    let (bob, dave) = (net.id("bob"), net.id("dave"));
    net.user("alice", |s| s.set_moderator(bob, true));
    let carol = net.id("carol");
    net.user("alice", |s| s.kick(carol));
    let agreed = current_proof(&net, "alice");
    assert_eq!(net.proof, Some(agreed));
    // Bob's number is the highest there is, so the relay takes his proof.
    let frame = vroom_shared::wire::ClientFrame::ModeratorKick {
        member: dave,
        proof: vroom_shared::wire::JoinProofHash([0xee; 32]),
        renewal: u32::MAX,
    }
    .encode();
    net.act("bob", vec![vroom_shared::session::Output::Send(frame)]);
    net.run();
    assert_eq!(net.kicks.last(), Some(&(Some(bob), dave)));
    assert_eq!(
        net.proof,
        Some(agreed),
        "the host set the agreed proof again"
    );
    assert_eq!(net.proof_renewal, 1, "and its number");
}

/// The same in a room never renewed: bob has the relay kick dave with a wrong proof and
/// no commit of his own. The group agreed on no renewed pass, so the host renews the
/// invitation by a commit of its own and sets that pass's proof: the relay does not
/// keep bob's.
#[test]
fn a_moderators_proof_without_a_renewal_makes_the_host_renew() {
    let mut net = room_of_four();
    let (bob, dave) = (net.id("bob"), net.id("dave"));
    net.user("alice", |s| s.set_moderator(bob, true));
    assert!(!net.clients["alice"].session.invite_renewed());
    let frame = vroom_shared::wire::ClientFrame::ModeratorKick {
        member: dave,
        proof: vroom_shared::wire::JoinProofHash([0xee; 32]),
        renewal: 1,
    }
    .encode();
    net.act("bob", vec![vroom_shared::session::Output::Send(frame)]);
    net.run();
    net.tick(T0 + 1);
    assert_eq!(net.kicks.last(), Some(&(Some(bob), dave)));
    assert!(net.clients["alice"].session.invite_renewed());
    let agreed = current_proof(&net, "alice");
    assert_eq!(agreed, current_proof(&net, "carol"));
    assert_eq!(net.proof, Some(agreed), "the host set the agreed proof");
}

/// Bob, a moderator, kicks dave, but bob's echo never comes back (his page reloaded,
/// his connection dropped), so he never asks the relay to disconnect dave. The host,
/// holding the relay's seat, waits the fallback delay for the relay's word, then asks
/// for it itself: the kicked member does not keep its place at the relay.
#[test]
fn the_host_disconnects_a_member_a_moderator_kicked_when_the_moderator_does_not() {
    let mut net = room_of_four();
    let (bob, dave) = (net.id("bob"), net.id("dave"));
    net.user("alice", |s| s.set_moderator(bob, true));
    net.hold.insert("bob", Vec::new());
    net.user("bob", |s| s.kick(dave));
    assert!(
        net.clients["carol"].session.invite_renewed(),
        "carol took the kick"
    );
    assert!(net.kicks.is_empty(), "bob never saw his echo");
    net.tick(T0);
    assert!(net.kicks.is_empty(), "the host waits for the moderator");
    net.tick(T0 + vroom_shared::session::FALLBACK_MS);
    assert_eq!(net.kicks, [(None, dave)], "the host asked for it");
    assert!(net.clients["dave"].session.is_ended());
    assert_eq!(net.proof, Some(current_proof(&net, "carol")));
    assert_no_warnings(&net, &["alice", "carol"]);
}

/// When the moderator's `ModeratorKick` reaches the relay, the host does not ask for
/// the same disconnection again (the relay would refuse it: an error for nothing).
#[test]
fn the_host_does_not_ask_again_for_a_kick_the_moderator_carried_out() {
    let mut net = room_of_four();
    let (bob, dave) = (net.id("bob"), net.id("dave"));
    net.user("alice", |s| s.set_moderator(bob, true));
    net.user("bob", |s| s.kick(dave));
    for step in 0..3 {
        net.tick(T0 + step * vroom_shared::session::FALLBACK_MS);
    }
    assert_eq!(net.kicks, [(Some(bob), dave)]);
    assert!(!saw(&net, "alice", |e| matches!(
        e,
        SessionEvent::Error { .. }
    )));
    assert_no_warnings(&net, &["alice", "bob", "carol"]);
}

/// Bob, a moderator, kicks dave (whose connection dropped: the relay keeps his place),
/// and his `ModeratorKick` is slow on its way: before it reaches the relay, the host
/// kicks carol, which renews the invitation again and hands the relay the newer proof.
/// The host is then away when bob's frame arrives. The relay carries out the kick but
/// keeps the newer proof (its renewal number is higher than bob's), so a newcomer with
/// the current link still gets in, and the members add her.
#[test]
fn a_moderators_late_kick_does_not_set_an_older_proof_back() {
    let mut net = room_of_four();
    let (bob, carol, dave) = (net.id("bob"), net.id("carol"), net.id("dave"));
    net.user("alice", |s| s.set_moderator(bob, true));
    net.check_proof = true;
    net.delay_moderator_kicks = true;
    net.drop_connection("dave");
    net.user("bob", |s| s.kick(dave));
    let older = current_proof(&net, "bob");
    assert_eq!(
        net.proof,
        Some(older),
        "the host told the relay bob's renewal"
    );
    assert!(net.kicks.is_empty(), "bob's frame is on its way");
    net.user("alice", |s| s.kick(carol));
    assert_eq!(net.kicks, [(None, carol)]);
    let newer = current_proof(&net, "alice");
    assert_ne!(newer, older);
    assert_eq!(current_proof(&net, "bob"), newer);
    assert_eq!(net.proof, Some(newer));
    let link = net.clients["bob"]
        .session
        .invite_link("https://relay.test")
        .unwrap();
    net.drop_connection("alice");
    net.release_late();
    assert_eq!(
        net.kicks,
        [(None, carol), (Some(bob), dave)],
        "the relay carried out bob's kick"
    );
    assert_eq!(
        net.proof,
        Some(newer),
        "the late kick set the older proof back"
    );
    let invite = vroom_shared::invite::Invite::parse(&link).unwrap();
    net.join("erin", &invite);
    let erin = net.clients["erin"].session.me();
    assert!(erin.is_some(), "the relay refused erin's current link");
    for step in 1..=4 {
        net.tick(T0 + step * 2 * vroom_shared::session::FALLBACK_MS);
    }
    assert!(
        net.clients["erin"].session.is_ready(),
        "erin is in the room"
    );
    assert_no_warnings(&net, &["bob", "erin"]);
}

/// A hostile moderator's `ModeratorKick` of the member the host kicks reaches the
/// relay between the host's `Rotate` and its `Kick`, with a made-up proof and the
/// highest renewal number: the relay takes both and disconnects the member, and the
/// host's `Kick` finds nobody. The host, seeing the relay report the kick, sets the
/// agreed proof again, so no honest proof is ignored from then on.
#[test]
fn a_moderators_frame_overtaking_the_hosts_kick_leaves_no_proof_of_its_own() {
    let mut net = room_of_four();
    let (bob, carol) = (net.id("bob"), net.id("carol"));
    net.user("alice", |s| s.set_moderator(bob, true));
    net.hold.insert("alice", Vec::new());
    net.user("alice", |s| s.kick(carol));
    // Alice reads her commit's echo; what she writes is sent one frame at a time.
    let held = net.hold.remove("alice").unwrap();
    let written: Vec<Vec<u8>> = {
        let session = &mut net.clients.get_mut("alice").unwrap().session;
        held.iter()
            .flat_map(|f| session.handle(f))
            .filter_map(|o| match o {
                vroom_shared::session::Output::Send(frame) => Some(frame),
                _ => None,
            })
            .collect()
    };
    let is_kick = |f: &Vec<u8>| matches!(ClientFrame::decode(f), Ok(ClientFrame::Kick { .. }));
    let kick = written
        .iter()
        .find(|f| is_kick(f))
        .expect("alice kicks")
        .clone();
    for frame in written.iter().filter(|f| !is_kick(f)) {
        net.send_raw("alice", frame);
    }
    let agreed = (net.proof, net.proof_renewal);
    assert_eq!(agreed.0, Some(current_proof(&net, "alice")));
    net.send_raw(
        "bob",
        &ClientFrame::ModeratorKick {
            member: carol,
            proof: JoinProofHash([9; 32]),
            renewal: u32::MAX,
        }
        .encode(),
    );
    assert_eq!(net.kicks, [(Some(bob), carol)]);
    net.send_raw("alice", &kick);
    assert_eq!(net.kicks, [(Some(bob), carol)], "nobody left to kick");
    assert_eq!(
        (net.proof, net.proof_renewal),
        agreed,
        "the made-up proof stands"
    );
}
