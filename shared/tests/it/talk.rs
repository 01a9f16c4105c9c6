//! The room around messages, through the in-memory relay: edits and deletes (and a
//! malicious member who tries them on another's message), replies, `/me`, reactions,
//! typing, read receipts, presence, and direct messages that a third member and the
//! relay cannot read.

use vroom_shared::session::envelope::{Content, Envelope};
use vroom_shared::session::{
    ActionError, MessageId, Presence, SessionEvent, RECEIPT_DELAY_MS, TYPING_EXPIRE_MS,
    TYPING_IDLE_MS, TYPING_REFRESH_MS,
};

use super::relay::Net;

const T0: u64 = 1_700_000_000_000;

pub(super) fn room_of_three() -> Net {
    let mut net = Net::new();
    let invite = net.create("alice");
    net.join("bob", &invite);
    net.join("carol", &invite);
    net
}

/// The id of the message with this text, as `name` was shown it.
fn id_of(net: &Net, name: &str, text: &str) -> MessageId {
    net.clients[name]
        .events
        .iter()
        .find_map(|e| match e {
            SessionEvent::Message { text: t, id, .. } if t == text => Some(*id),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{name} saw {text:?}"))
}

fn events_of<T>(net: &Net, name: &str, pick: impl Fn(&SessionEvent) -> Option<T>) -> Vec<T> {
    net.clients[name].events.iter().filter_map(pick).collect()
}

fn key_press(net: &mut Net, name: &str, now_ms: u64) {
    let out = net.clients.get_mut(name).unwrap().session.typing(now_ms);
    net.act(name, out);
}

fn group_frames_from(net: &Net, name: &str) -> usize {
    let me = net.id(name);
    net.payloads
        .iter()
        .filter(|p| p.from == me && p.to.is_none())
        .count()
}

#[test]
fn an_edit_and_a_delete_of_ones_own_message_reach_everyone() {
    let mut net = room_of_three();
    net.say("bob", "helo");
    let id = id_of(&net, "alice", "helo");
    assert_eq!(id, id_of(&net, "bob", "helo"));
    assert!(net.clients["bob"].session.can_edit(id));
    assert!(!net.clients["alice"].session.can_edit(id));
    net.user("bob", |s| s.edit(id, "hello", T0 + 1));
    let bob = net.id("bob");
    for name in ["alice", "bob", "carol"] {
        let edits = events_of(&net, name, |e| match e {
            SessionEvent::Edited {
                id: target,
                from,
                text,
                own,
                ..
            } => Some((*target, *from, text.clone(), *own)),
            _ => None,
        });
        assert_eq!(edits, [(id, bob, "hello".into(), name == "bob")], "{name}");
    }
    net.user("bob", |s| s.delete(id));
    for name in ["alice", "bob", "carol"] {
        let deletes = events_of(&net, name, |e| match e {
            SessionEvent::Deleted { id: target, .. } => Some(*target),
            _ => None,
        });
        assert_eq!(deletes, [id], "{name}");
        assert_eq!(net.warnings(name), 0, "{name}");
    }
    // Deleted is final: no edit of it any more, by anyone.
    let again = net
        .clients
        .get_mut("bob")
        .unwrap()
        .session
        .edit(id, "back", T0);
    assert_eq!(again.unwrap_err(), ActionError::UnknownMessage);
}

#[test]
fn a_member_cannot_edit_or_delete_anothers_message() {
    let mut net = room_of_three();
    net.say("alice", "the meeting is at noon");
    let id = id_of(&net, "bob", "the meeting is at noon");
    // The session refuses it to its own user…
    let bob = &mut net.clients.get_mut("bob").unwrap().session;
    assert_eq!(
        bob.edit(id, "at midnight", T0).unwrap_err(),
        ActionError::NotYours
    );
    assert_eq!(bob.delete(id).unwrap_err(), ActionError::NotYours);
    // …and a malicious member who crafts the contents itself is refused by everyone.
    net.user("bob", |s| {
        s.send_raw_content(&Content::Edit {
            target: id,
            body: "the meeting is at midnight".into(),
            edited_at_ms: T0,
        })
    });
    net.user("bob", |s| {
        s.send_raw_content(&Content::Delete { target: id })
    });
    for name in ["alice", "bob", "carol"] {
        let changed = events_of(&net, name, |e| {
            matches!(
                e,
                SessionEvent::Edited { .. } | SessionEvent::Deleted { .. }
            )
            .then_some(())
        });
        assert!(changed.is_empty(), "{name}: {:?}", net.clients[name].events);
    }
    for name in ["alice", "carol"] {
        assert_eq!(net.warnings(name), 2, "{name} is told twice");
    }
    // Alice's message is still hers to edit.
    net.user("alice", |s| s.edit(id, "the meeting is at one", T0 + 5));
    let carol_edits = events_of(&net, "carol", |e| match e {
        SessionEvent::Edited { text, .. } => Some(text.clone()),
        _ => None,
    });
    assert_eq!(carol_edits, ["the meeting is at one"]);
}

#[test]
fn replies_and_actions_carry_what_they_quote() {
    let mut net = room_of_three();
    net.say("alice", "who brings cake?");
    let question = id_of(&net, "carol", "who brings cake?");
    net.user("bob", |s| s.send_reply(question, "I do", T0));
    net.user("carol", |s| s.send_action("cheers", T0));
    for name in ["alice", "bob", "carol"] {
        let shown = events_of(&net, name, |e| match e {
            SessionEvent::Message {
                text,
                reply_to,
                action,
                ..
            } => Some((text.clone(), *reply_to, *action)),
            _ => None,
        });
        assert_eq!(
            shown,
            [
                ("who brings cake?".into(), None, false),
                ("I do".into(), Some(question), false),
                ("cheers".into(), None, true),
            ],
            "{name}"
        );
    }
}

#[test]
fn reactions_are_counted_per_member_and_emoji() {
    let mut net = room_of_three();
    net.say("alice", "ship it?");
    let id = id_of(&net, "alice", "ship it?");
    net.user("bob", |s| s.react(id, "👍", true));
    net.user("carol", |s| s.react(id, "👍", true));
    net.user("carol", |s| s.react(id, "🎉", true));
    // A second identical reaction changes nothing.
    net.user("carol", |s| s.react(id, "👍", true));
    let (bob, carol) = (net.id("bob"), net.id("carol"));
    for name in ["alice", "bob", "carol"] {
        let counts: Vec<(String, Vec<_>)> = net.clients[name]
            .session
            .reactions(id)
            .into_iter()
            .map(|r| (r.emoji, r.members))
            .collect();
        assert_eq!(
            counts,
            [("🎉".into(), vec![carol]), ("👍".into(), vec![bob, carol])],
            "{name}"
        );
    }
    net.user("bob", |s| s.react(id, "👍", false));
    let alice_view = net.clients["alice"].session.reactions(id);
    assert_eq!(alice_view[1].members, [carol]);
    assert!(net.clients["carol"].session.reactions(id)[1].mine);
    let bob_session = &mut net.clients.get_mut("bob").unwrap().session;
    assert_eq!(
        bob_session.react(id, "not one emoji", true).unwrap_err(),
        ActionError::InvalidReaction
    );
    assert_eq!(
        bob_session
            .react(MessageId([9; 16]), "👍", true)
            .unwrap_err(),
        ActionError::UnknownMessage
    );
}

#[test]
fn typing_is_sent_sparingly_and_ends_by_itself() {
    let mut net = room_of_three();
    net.tick(T0);
    let before = group_frames_from(&net, "bob");
    // Forty key presses over four seconds: one "typing".
    for i in 0..40 {
        key_press(&mut net, "bob", T0 + i * 100);
    }
    assert_eq!(group_frames_from(&net, "bob"), before + 1);
    let bob = net.id("bob");
    assert_eq!(
        net.clients["alice"]
            .session
            .typing_members()
            .iter()
            .map(|m| m.member)
            .collect::<Vec<_>>(),
        [bob]
    );
    // Still typing past the refresh period: one refresh.
    key_press(&mut net, "bob", T0 + TYPING_REFRESH_MS);
    assert_eq!(group_frames_from(&net, "bob"), before + 2);
    // Idle: the session says it stopped, once.
    net.tick(T0 + TYPING_REFRESH_MS + TYPING_IDLE_MS);
    net.tick(T0 + TYPING_REFRESH_MS + TYPING_IDLE_MS + 1_000);
    assert_eq!(group_frames_from(&net, "bob"), before + 3);
    assert!(net.clients["alice"].session.typing_members().is_empty());
    let shown = events_of(&net, "carol", |e| match e {
        SessionEvent::Typing { member, typing, .. } => Some((*member, *typing)),
        _ => None,
    });
    assert_eq!(shown, [(bob, true), (bob, false)]);

    // A stop that never comes (a lost socket) expires at the receivers.
    key_press(&mut net, "carol", T0 + 20_000);
    net.drop_connection("carol");
    assert_eq!(net.clients["alice"].session.typing_members().len(), 1);
    net.tick(T0 + 20_000 + TYPING_EXPIRE_MS);
    assert!(net.clients["alice"].session.typing_members().is_empty());
    // A message ends its sender's typing without a stop.
    key_press(&mut net, "bob", T0 + 40_000);
    net.say("bob", "done");
    assert!(net.clients["alice"].session.typing_members().is_empty());
}

#[test]
fn read_receipts_are_one_per_burst_and_only_forwards() {
    let mut net = room_of_three();
    for text in ["one", "two", "three"] {
        net.say("alice", text);
    }
    let ids: Vec<MessageId> = ["one", "two", "three"]
        .iter()
        .map(|t| id_of(&net, "bob", t))
        .collect();
    let before = group_frames_from(&net, "bob");
    for (i, id) in ids.iter().enumerate() {
        net.clients
            .get_mut("bob")
            .unwrap()
            .session
            .mark_read(*id, T0 + i as u64 * 100);
    }
    net.tick(T0 + 300);
    assert_eq!(group_frames_from(&net, "bob"), before, "still reading");
    net.tick(T0 + 200 + RECEIPT_DELAY_MS);
    assert_eq!(group_frames_from(&net, "bob"), before + 1, "one receipt");
    let bob = net.id("bob");
    for name in ["alice", "carol"] {
        assert_eq!(
            net.clients[name].session.read_receipts(),
            [(bob, ids[2])],
            "{name}"
        );
    }
    // An older point later (another tab, a replay by a member) does not move it back.
    net.user("bob", |s| {
        s.send_raw_content(&Content::Read { upto: ids[0] })
    });
    assert_eq!(
        net.clients["alice"].session.read_receipts(),
        [(bob, ids[2])]
    );
}

#[test]
fn presence_is_shown_in_the_member_list() {
    let mut net = room_of_three();
    let out = net
        .clients
        .get_mut("carol")
        .unwrap()
        .session
        .set_presence(Presence::Away);
    net.act("carol", out);
    // Saying it again sends nothing.
    let again = net
        .clients
        .get_mut("carol")
        .unwrap()
        .session
        .set_presence(Presence::Away);
    assert!(again.is_empty());
    for name in ["alice", "bob", "carol"] {
        let members = net.clients[name].session.members();
        for m in members {
            let expected = if m.nick == "carol" {
                Presence::Away
            } else {
                Presence::Active
            };
            assert_eq!(m.presence, expected, "{name}'s view of {}", m.nick);
        }
    }
}

#[test]
fn a_direct_message_reaches_its_recipient_alone() {
    let mut net = room_of_three();
    let (alice, bob) = (net.id("alice"), net.id("bob"));
    let secret = "the spare key is under the mat";
    let sent_before = net.payloads.len();
    net.user("alice", |s| s.send_direct(bob, secret, T0));
    // The relay carried one frame, to bob alone, and nothing in it is readable.
    let frames = &net.payloads[sent_before..];
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].to, Some(bob));
    assert!(matches!(
        Envelope::decode(&frames[0].payload),
        Ok(Envelope::Direct { .. })
    ));
    for p in &net.payloads {
        assert!(
            !p.payload
                .windows(secret.len())
                .any(|w| w == secret.as_bytes()),
            "plaintext on the wire"
        );
    }
    let direct = |name: &str| {
        events_of(&net, name, |e| match e {
            SessionEvent::DirectMessage {
                from,
                to,
                text,
                own,
                id,
                ..
            } => Some((*from, *to, text.clone(), *own, *id)),
            _ => None,
        })
    };
    let at_alice = direct("alice");
    let at_bob = direct("bob");
    assert_eq!(at_alice.len(), 1);
    assert_eq!(at_bob.len(), 1);
    assert_eq!(at_alice[0].0, alice);
    assert_eq!(at_alice[0].1, bob);
    assert_eq!(at_alice[0].2, secret);
    assert!(at_alice[0].3);
    assert_eq!(
        (at_bob[0].0, at_bob[0].1, at_bob[0].2.as_str(), at_bob[0].3),
        (alice, bob, secret, false)
    );
    assert_eq!(at_alice[0].4, at_bob[0].4, "one id at both ends");
    assert!(direct("carol").is_empty());
    for name in ["alice", "bob", "carol"] {
        assert_eq!(net.warnings(name), 0, "{name}");
    }
}

#[test]
fn a_direct_message_shown_to_a_third_member_is_refused() {
    let mut net = room_of_three();
    let (bob, carol) = (net.id("bob"), net.id("carol"));
    net.user("alice", |s| s.send_direct(bob, "for bob only", T0));
    let frame = net.payloads.last().unwrap().clone();
    assert_eq!(frame.to, Some(bob));
    // A relay that hands carol bob's direct message (as if to her) gets her a warning,
    // not the text.
    net.inject_event(
        "carol",
        vroom_shared::wire::Event::Message {
            from: frame.from,
            to: Some(carol),
            payload: &frame.payload,
        },
    );
    assert_eq!(net.warnings("carol"), 1);
    assert!(events_of(&net, "carol", |e| matches!(
        e,
        SessionEvent::DirectMessage { .. }
    )
    .then_some(()))
    .is_empty());
    // Broadcast to the room, it is refused by everyone.
    net.inject_event(
        "bob",
        vroom_shared::wire::Event::Message {
            from: frame.from,
            to: None,
            payload: &frame.payload,
        },
    );
    assert_eq!(net.warnings("bob"), 1);
}

#[test]
fn a_direct_message_cannot_be_passed_off_as_another_members() {
    let mut net = room_of_three();
    let (alice, bob, carol) = (net.id("alice"), net.id("bob"), net.id("carol"));
    net.hold.insert("bob", Vec::new());
    net.user("carol", |s| s.send_direct(bob, "from carol", T0));
    net.hold.remove("bob");
    let frame = net.payloads.last().unwrap().clone();
    // The relay stamps it as alice's: bob still shows it as carol's, and warns.
    let forged = || vroom_shared::wire::Event::Message {
        from: alice,
        to: Some(bob),
        payload: &frame.payload,
    };
    net.inject_event("bob", forged());
    let froms = |net: &Net| {
        events_of(net, "bob", |e| match e {
            SessionEvent::DirectMessage { from, .. } => Some(*from),
            _ => None,
        })
    };
    assert_eq!(froms(&net), [carol]);
    assert_eq!(net.warnings("bob"), 1);
    // Replayed, it is refused.
    net.inject_event("bob", forged());
    assert_eq!(froms(&net), [carol]);
    assert_eq!(net.warnings("bob"), 2);
    // Altered in transit, it fails authentication.
    let mut altered = frame.payload.clone();
    let last = altered.len() - 1;
    altered[last] ^= 1;
    net.inject_event(
        "bob",
        vroom_shared::wire::Event::Message {
            from: carol,
            to: Some(bob),
            payload: &altered,
        },
    );
    assert_eq!(net.warnings("bob"), 3);
    assert_eq!(froms(&net), [carol]);
    assert_eq!(
        net.clients
            .get_mut("bob")
            .unwrap()
            .session
            .send_direct(bob, "to myself", T0)
            .unwrap_err(),
        ActionError::UnknownMember
    );
}

#[test]
fn direct_messages_delivered_out_of_order_are_refused() {
    let mut net = room_of_three();
    let (alice, bob) = (net.id("alice"), net.id("bob"));
    // The relay keeps alice's first two private messages from bob…
    net.hold.insert("bob", Vec::new());
    net.user("alice", |s| s.send_direct(bob, "first", T0));
    net.user("alice", |s| s.send_direct(bob, "second", T0));
    net.hold.remove("bob");
    // The last two frames directed to bob (his Welcome came earlier).
    let mut sent: Vec<_> = net
        .payloads
        .iter()
        .rev()
        .filter(|p| p.to == Some(bob))
        .take(2)
        .cloned()
        .collect();
    sent.reverse();
    // …then hands him the second before the first: the first comes too late.
    for frame in [&sent[1], &sent[0]] {
        net.inject_event(
            "bob",
            vroom_shared::wire::Event::Message {
                from: alice,
                to: Some(bob),
                payload: &frame.payload,
            },
        );
    }
    let texts = events_of(&net, "bob", |e| match e {
        SessionEvent::DirectMessage { text, .. } => Some(text.clone()),
        _ => None,
    });
    assert_eq!(texts, ["second"]);
    assert_eq!(net.warnings("bob"), 1);
}

/// A direct message carries more than its text (the signature, counters, HPKE's
/// encapsulation, a second padding): near the relay's payload limit the session refuses
/// it as too large rather than write a frame the relay would refuse.
#[test]
fn a_direct_message_too_large_for_the_relay_is_refused_before_sending() {
    let mut net = room_of_three();
    let bob = net.id("bob");
    let max = super::relay::LIMITS.max_payload as usize;
    let (mut sent, mut refused) = (0, 0);
    // Texts pad to 16 KiB steps up there: the last step that fits a room message is
    // 48 KiB, and its top ~100 bytes no longer fit once sealed for one member.
    let step = vroom_shared::crypto::padding::STEP_BUCKET;
    let top = (max - 256) / step * step;
    for len in (top - 600..top).step_by(3) {
        let text = "x".repeat(len);
        let alice = &mut net.clients.get_mut("alice").unwrap().session;
        match alice.send_direct(bob, &text, T0) {
            Ok(outputs) => {
                sent += 1;
                for output in outputs {
                    if let vroom_shared::session::Output::Send(frame) = output {
                        let Ok(vroom_shared::wire::ClientFrame::Send { payload, .. }) =
                            vroom_shared::wire::ClientFrame::decode(&frame)
                        else {
                            panic!("a direct message is a Send frame");
                        };
                        assert!(payload.len() <= max, "{len} chars: {} bytes", payload.len());
                    }
                }
            }
            Err(e) => {
                assert_eq!(e, ActionError::TooLarge, "{len} chars");
                refused += 1;
            }
        }
    }
    assert!(sent > 0 && refused > 0, "sent {sent}, refused {refused}");
}
