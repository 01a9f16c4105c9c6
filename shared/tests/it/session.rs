//! Whole sessions through the in-memory relay: the properties of DESIGN.md §4 as
//! behaviour. Each test fails if the property it names breaks.

use vroom_shared::crypto::announce::{self, AnnounceKind};
use vroom_shared::crypto::envelope::{Envelope, Payload};
use vroom_shared::crypto::{MemberKeys, OsRng, RoomSecret};
use vroom_shared::session::SessionEvent;
use vroom_shared::wire::{CloseReason, Event, LeaveReason, MemberId};

use super::relay::Net;

fn room_of_three() -> (Net, vroom_shared::invite::Invite) {
    let mut net = Net::new();
    let invite = net.create("alice");
    net.join("bob", &invite);
    net.join("carol", &invite);
    (net, invite)
}

#[test]
fn members_chat_in_one_order_and_agree_on_fingerprints() {
    let (mut net, _) = room_of_three();
    net.say("alice", "one");
    net.say("bob", "two");
    net.say("carol", "three");
    for name in ["alice", "bob", "carol"] {
        assert_eq!(net.texts(name), ["one", "two", "three"], "{name}'s view");
        assert_eq!(net.warnings(name), 0);
        let members = net.clients[name].session.members();
        assert_eq!(members.len(), 3, "{name} sees everyone");
        for m in &members {
            let own = net.clients[m.nick.as_str()].session.fingerprint().unwrap();
            assert_eq!(
                m.fingerprint, own,
                "{name}'s view of {}'s safety words",
                m.nick
            );
            assert_eq!(m.is_host, m.nick == "alice");
        }
    }
    let own: Vec<bool> = net.clients["bob"]
        .events
        .iter()
        .filter_map(|e| match e {
            SessionEvent::Message { own, .. } => Some(*own),
            _ => None,
        })
        .collect();
    assert_eq!(own, [false, true, false]);
}

#[test]
fn nick_changes_reach_everyone() {
    let (mut net, _) = room_of_three();
    let out = net
        .clients
        .get_mut("bob")
        .unwrap()
        .session
        .set_nick("robert")
        .unwrap();
    net.act("bob", out);
    let bob = net.id("bob");
    for name in ["alice", "carol"] {
        assert!(net.clients[name].events.iter().any(|e| matches!(e,
            SessionEvent::NickChanged { member, new, .. } if *member == bob && new == "robert")));
    }
}

#[test]
fn a_relay_without_the_secret_cannot_join_or_be_given_keys() {
    let (mut net, _) = room_of_three();
    let fake = MemberId(0xbad);
    // The relay makes up a member, with an announcement sealed under a room secret it
    // guessed, and tells everyone.
    let guess = RoomSecret::generate(&mut OsRng);
    let keys = MemberKeys::generate(&mut OsRng);
    let room = net.clients["alice"].session.room_id();
    let sealed = announce::seal(
        &keys,
        &guess.announce_key(),
        &room,
        fake,
        "mallory",
        1,
        AnnounceKind::Hello,
        &mut OsRng,
    );
    let payload = Payload::new(Envelope::Announce(sealed)).encode();
    net.sequence(None, Event::Joined { member: fake });
    net.sequence(
        None,
        Event::Message {
            from: fake,
            to: None,
            payload: &payload,
        },
    );
    net.run();
    for name in ["alice", "bob", "carol"] {
        assert_eq!(
            net.warnings(name),
            1,
            "{name} must warn about the forged announcement"
        );
        assert!(net.clients[name]
            .session
            .members()
            .iter()
            .all(|m| m.member != fake));
        assert!(!net.clients[name]
            .events
            .iter()
            .any(|e| matches!(e, SessionEvent::MemberJoined { member, .. } if *member == fake)));
    }
    assert!(
        net.payloads_to(fake).is_empty(),
        "nobody may send keys or anything else to the fake member"
    );
    // Whatever it then sends is not shown.
    net.say("alice", "still private");
    net.sequence(
        None,
        Event::Message {
            from: fake,
            to: None,
            payload: &net.payloads.last().unwrap().payload.clone(),
        },
    );
    net.run();
    assert_eq!(net.texts("bob"), ["still private"]);
}

#[test]
fn a_relay_cannot_substitute_or_move_an_announcement() {
    let (mut net, _) = room_of_three();
    let (alice, bob, carol) = (net.id("alice"), net.id("bob"), net.id("carol"));
    // Bob's own announcement, as broadcast when he joined.
    let bobs = net
        .payloads
        .iter()
        .find(|p| {
            p.from == bob
                && p.to.is_none()
                && matches!(
                    Payload::decode(&p.payload).unwrap().envelope,
                    Envelope::Announce(_)
                )
        })
        .unwrap()
        .payload
        .clone();
    // Moved to another member id: the binding fails.
    net.inject_event(
        "carol",
        Event::Message {
            from: MemberId(77),
            to: None,
            payload: &bobs,
        },
    );
    assert_eq!(net.warnings("carol"), 1);
    // Altered (a flipped bit anywhere in the sealed body): the tag fails.
    let mut altered = bobs.clone();
    let at = altered.len() - 20;
    altered[at] ^= 0x40;
    net.inject_event(
        "carol",
        Event::Message {
            from: bob,
            to: None,
            payload: &altered,
        },
    );
    assert_eq!(net.warnings("carol"), 2);
    // Bob's id with other keys, sealed under a key the relay does not have.
    let keys = MemberKeys::generate(&mut OsRng);
    let room = net.clients["carol"].session.room_id();
    let sealed = announce::seal(
        &keys,
        &RoomSecret::generate(&mut OsRng).announce_key(),
        &room,
        bob,
        "bob",
        9,
        AnnounceKind::Update,
        &mut OsRng,
    );
    net.inject_event(
        "carol",
        Event::Message {
            from: bob,
            to: None,
            payload: &Payload::new(Envelope::Announce(sealed)).encode(),
        },
    );
    assert_eq!(net.warnings("carol"), 3);
    // Carol still holds Bob's real keys and reads him.
    let fp = net.clients["bob"].session.fingerprint().unwrap();
    assert!(net.clients["carol"]
        .session
        .members()
        .iter()
        .any(|m| m.member == bob && m.fingerprint == fp));
    net.say("bob", "real bob");
    assert_eq!(net.texts("carol"), ["real bob"]);
    // A sender-key distribution redirected to another member fails too.
    let to_alice = net
        .payloads_to(alice)
        .into_iter()
        .find(|p| p.from == bob)
        .unwrap();
    net.inject_event(
        "carol",
        Event::Message {
            from: bob,
            to: Some(carol),
            payload: &to_alice.payload,
        },
    );
    assert_eq!(net.warnings("carol"), 4);
}

#[test]
fn a_member_cannot_forge_another_members_message() {
    let (mut net, _) = room_of_three();
    let alice = net.id("alice");
    net.say("bob", "from bob");
    let bobs = net.payloads.last().unwrap().payload.clone();
    // The relay (or Bob colluding with it) presents Bob's sealed message as Alice's.
    net.inject_event(
        "carol",
        Event::Message {
            from: alice,
            to: None,
            payload: &bobs,
        },
    );
    assert_eq!(net.texts("carol"), ["from bob"]);
    assert_eq!(net.warnings("carol"), 1);
    let shown_from: Vec<MemberId> = net.clients["carol"]
        .events
        .iter()
        .filter_map(|e| match e {
            SessionEvent::Message { from, .. } => Some(*from),
            _ => None,
        })
        .collect();
    assert_eq!(shown_from, [net.id("bob")]);
}

#[test]
fn a_replayed_message_is_refused() {
    let (mut net, _) = room_of_three();
    net.say("alice", "pay bob 5");
    let replay = net.payloads.last().unwrap().clone();
    net.inject_event(
        "carol",
        Event::Message {
            from: replay.from,
            to: None,
            payload: &replay.payload,
        },
    );
    net.inject_event(
        "alice",
        Event::Message {
            from: replay.from,
            to: None,
            payload: &replay.payload,
        },
    );
    assert_eq!(net.texts("carol"), ["pay bob 5"]);
    assert_eq!(net.texts("alice"), ["pay bob 5"]);
    assert_eq!(net.warnings("carol"), 1);
    assert_eq!(net.warnings("alice"), 1);
}

/// A member recognises its own message by comparing the echo with what it sent, not by
/// checking its own signature: an altered echo must still be caught.
#[test]
fn an_altered_echo_of_ones_own_message_is_refused() {
    let (mut net, _) = room_of_three();
    net.hold.insert("alice", Vec::new());
    net.say("alice", "meet at noon");
    let echo = net.payloads.last().unwrap().clone();
    net.hold.remove("alice");
    let Ok(Payload {
        envelope: Envelope::Message(sealed),
        ..
    }) = Payload::decode(&echo.payload)
    else {
        panic!("alice's payload is a message");
    };
    let mut flipped = sealed.clone();
    flipped.ciphertext[0] ^= 1;
    let mut resigned = sealed.clone();
    resigned.signature[0] ^= 1;
    for altered in [flipped, resigned] {
        let payload = Payload::new(Envelope::Message(altered)).encode();
        net.inject_event(
            "alice",
            Event::Message {
                from: echo.from,
                to: None,
                payload: &payload,
            },
        );
    }
    assert!(net.texts("alice").is_empty());
    assert_eq!(net.warnings("alice"), 2);
    // The genuine echo still completes the message, once.
    for _ in 0..2 {
        net.inject_event(
            "alice",
            Event::Message {
                from: echo.from,
                to: None,
                payload: &echo.payload,
            },
        );
    }
    assert_eq!(net.texts("alice"), ["meet at noon"]);
    assert_eq!(net.warnings("alice"), 3);
}

#[test]
fn a_message_from_another_room_is_refused() {
    let (mut one, _) = room_of_three();
    let (mut two, _) = room_of_three();
    one.say("alice", "room one only");
    let p = one.payloads.last().unwrap().payload.clone();
    // Delivered in room two under each member id there.
    for from in ["alice", "bob", "carol"] {
        let from = two.id(from);
        two.inject_event(
            "bob",
            Event::Message {
                from,
                to: None,
                payload: &p,
            },
        );
    }
    assert!(two.texts("bob").is_empty());
    assert_eq!(two.warnings("bob"), 3);
}

fn departed_member_reads_nothing_after(reason: LeaveReason) {
    let (mut net, _) = room_of_three();
    net.say("alice", "before");
    assert_eq!(
        net.texts("carol"),
        ["before"],
        "carol could read while a member"
    );
    let departed_at = net.seq;
    net.remove_quietly("carol", reason);
    let carol = net.id("carol");
    for name in ["alice", "bob"] {
        assert!(net.clients[name]
            .events
            .iter()
            .any(|e| matches!(e, SessionEvent::MemberLeft { member, .. } if *member == carol)));
    }
    net.say("alice", "after");
    net.say("bob", "after too");
    assert_eq!(net.texts("bob"), ["before", "after", "after too"]);
    // The relay hands the departed member everything sent since, including what was
    // addressed to the others.
    let since: Vec<_> = net
        .payloads
        .iter()
        .filter(|p| p.seq > departed_at)
        .cloned()
        .collect();
    assert!(since.len() >= 4, "the rekey and both messages were relayed");
    for p in since {
        net.inject_event(
            "carol",
            Event::Message {
                from: p.from,
                to: None,
                payload: &p.payload,
            },
        );
    }
    assert_eq!(
        net.texts("carol"),
        ["before"],
        "a departed member read a later message"
    );
}

#[test]
fn a_member_who_left_cannot_read_what_follows() {
    departed_member_reads_nothing_after(LeaveReason::Left);
}

#[test]
fn a_kicked_member_cannot_read_what_follows() {
    departed_member_reads_nothing_after(LeaveReason::Kicked);
}

#[test]
fn kick_through_the_session_ends_the_kicked_session_and_rekeys() {
    let (mut net, _) = room_of_three();
    let carol = net.id("carol");
    assert_eq!(
        net.clients
            .get_mut("bob")
            .unwrap()
            .session
            .kick(carol)
            .err(),
        Some(vroom_shared::session::ActionError::NotHost)
    );
    let out = net
        .clients
        .get_mut("alice")
        .unwrap()
        .session
        .kick(carol)
        .unwrap();
    net.act("alice", out);
    assert!(net.clients["carol"].events.contains(&SessionEvent::Ended {
        reason: CloseReason::Kicked
    }));
    assert!(net.clients["carol"].session.is_ended());
    assert!(
        net.clients["carol"]
            .session
            .invite_link("http://x")
            .is_none(),
        "keys wiped"
    );
    net.say("bob", "without carol");
    assert_eq!(net.texts("alice").last().unwrap(), "without carol");
}

#[test]
fn a_newcomer_cannot_read_what_came_before() {
    let mut net = Net::new();
    let invite = net.create("alice");
    net.join("bob", &invite);
    net.say("alice", "old one");
    net.say("bob", "old two");
    let old = net.payloads.clone();
    net.join("dave", &invite);
    net.say("alice", "new");
    // The relay replays the whole history to the newcomer.
    for p in old {
        if p.to.is_none() {
            net.inject_event(
                "dave",
                Event::Message {
                    from: p.from,
                    to: None,
                    payload: &p.payload,
                },
            );
        }
    }
    assert_eq!(net.texts("dave"), ["new"]);
    let undecryptable = net.clients["dave"]
        .events
        .iter()
        .filter(|e| matches!(e, SessionEvent::Undecryptable { .. }))
        .count();
    assert!(undecryptable >= 2, "old messages reported as undecryptable");
}

#[test]
fn messages_arriving_before_the_senders_key_are_queued_and_shown() {
    let mut net = Net::new();
    let invite = net.create("alice");
    net.join("bob", &invite);
    // Carol joins, but everything the relay sends her is held back.
    net.hold.insert("carol", Vec::new());
    net.join("carol", &invite);
    let mut frames = net.hold.remove("carol").unwrap();
    // Welcome first, then let carol announce herself so alice and bob send her keys.
    let welcome = frames.remove(0);
    net.inject("carol", welcome);
    net.hold.insert("carol", frames);
    net.run();
    net.say("alice", "in flight");
    let mut frames = net.hold.remove("carol").unwrap();
    // Deliver alice's message first, everything else after: a reordering relay.
    let msg = frames.pop().unwrap();
    frames.insert(0, msg);
    for f in frames {
        net.clients.get_mut("carol").unwrap().inbox.push_back(f);
    }
    net.run();
    assert_eq!(net.texts("carol"), ["in flight"]);
    assert_eq!(net.warnings("carol"), 0);
}

#[test]
fn reconnect_catches_up_once_and_in_order() {
    let (mut net, _) = room_of_three();
    net.say("alice", "seen");
    net.drop_connection("carol");
    net.say("alice", "missed 1");
    net.say("bob", "missed 2");
    net.say("alice", "missed 3");
    net.reconnect("carol");
    net.say("bob", "live");
    assert_eq!(
        net.texts("carol"),
        ["seen", "missed 1", "missed 2", "missed 3", "live"]
    );
    assert!(net.clients["carol"]
        .events
        .iter()
        .any(|e| matches!(e, SessionEvent::Ready { resumed: true, .. })));
    assert_eq!(net.warnings("carol"), 0);
    // A relay that sends overlapping catch-up (everything again) shows nothing twice.
    net.drop_connection("carol");
    let c = net.clients.get_mut("carol").unwrap();
    c.online = true;
    let mut frame = c.session.reconnect_frame().unwrap();
    // Rewrite `after` to 0: the relay replays the whole log.
    let decoded = vroom_shared::wire::ClientFrame::decode(&frame).unwrap();
    if let vroom_shared::wire::ClientFrame::Join {
        version,
        room,
        resume,
        ..
    } = decoded
    {
        frame = vroom_shared::wire::ClientFrame::Join {
            version,
            room,
            resume,
            after: Some(0),
        }
        .encode();
    }
    net.act("carol", vec![vroom_shared::session::Output::Send(frame)]);
    assert_eq!(
        net.texts("carol"),
        ["seen", "missed 1", "missed 2", "missed 3", "live"]
    );
    assert_eq!(net.warnings("carol"), 0);
}

#[test]
fn terminate_ends_every_session_and_wipes_keys() {
    let (mut net, _) = room_of_three();
    let out = net
        .clients
        .get_mut("alice")
        .unwrap()
        .session
        .terminate()
        .unwrap();
    net.act("alice", out);
    for name in ["alice", "bob", "carol"] {
        assert!(net.clients[name].events.contains(&SessionEvent::Ended {
            reason: CloseReason::Terminated
        }));
        let s = &mut net.clients.get_mut(name).unwrap().session;
        assert!(s.invite_link("http://x").is_none());
        assert_eq!(
            s.send_text("late", 0).err(),
            Some(vroom_shared::session::ActionError::Ended)
        );
    }
}
