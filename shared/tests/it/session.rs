//! Whole version-2 sessions through the in-memory relay: the properties of DESIGN.md §4
//! as behaviour, and the attacks of a relay (alone, or with an insider who holds the
//! room secret) that version 1 fell to. Each test fails if the property it names breaks.

use proptest::prelude::*;
use vroom_shared::crypto::{NonceRng, RoomSecret};
use vroom_shared::group::{Group, Identity, Incoming};
use vroom_shared::session::envelope::{
    join_key, open_key_package, rejoin_statement, seal_key_package, Envelope,
};
use vroom_shared::session::{
    Content, SafetyCode, Session, SessionEvent, FALLBACK_MS, NOBODY_LET_IN_MS,
};
use vroom_shared::wire::{CloseReason, Event, LeaveReason, MemberId, ServerFrame};

use super::relay::Net;

const T0: u64 = 1_700_000_000_000;

fn room_of_three() -> (Net, vroom_shared::invite::Invite) {
    let mut net = Net::new();
    let invite = net.create("alice");
    net.join("bob", &invite);
    net.join("carol", &invite);
    (net, invite)
}

fn code(net: &Net, name: &str) -> (u64, SafetyCode) {
    net.clients[name]
        .session
        .safety_code()
        .expect("in the group")
}

pub(super) fn nicks(net: &Net, name: &str) -> Vec<String> {
    let mut n: Vec<String> = net.clients[name]
        .session
        .members()
        .into_iter()
        .map(|m| m.nick)
        .collect();
    n.sort();
    n
}

/// Lets `name` join with the relay's frames to it read one at a time and in order,
/// while the others answer; `edit` sees each frame (and the net) before it is read,
/// and gives what is read instead (`None`: nothing, the frame is lost).
fn join_frame_by_frame(
    net: &mut Net,
    name: &'static str,
    invite: &vroom_shared::invite::Invite,
    mut edit: impl FnMut(&mut Net, Vec<u8>) -> Option<Vec<u8>>,
) {
    net.hold.insert(name, Vec::new());
    net.join(name, invite);
    for _ in 0..1_000 {
        let held = net.hold.get_mut(name).unwrap();
        if held.is_empty() {
            break;
        }
        let frame = held.remove(0);
        if let Some(frame) = edit(net, frame) {
            net.inject(name, frame);
        }
    }
    net.hold.remove(name);
}

/// A member's message to the room, as the relay delivers it: (seq, from, payload).
fn broadcast(frame: &[u8]) -> Option<(u64, MemberId, Vec<u8>)> {
    match ServerFrame::decode(frame) {
        Ok(ServerFrame::Event {
            seq,
            event:
                Event::Message {
                    from,
                    to: None,
                    payload,
                },
        }) => Some((seq, from, payload.to_vec())),
        _ => None,
    }
}

fn broadcast_frame(seq: u64, from: MemberId, payload: &[u8]) -> Vec<u8> {
    ServerFrame::Event {
        seq,
        event: Event::Message {
            from,
            to: None,
            payload,
        },
    }
    .encode()
}

/// Every broadcast group payload a member sent, oldest first.
fn group_payloads(net: &Net, from: MemberId) -> Vec<Vec<u8>> {
    net.payloads
        .iter()
        .filter(|p| p.from == from && p.to.is_none())
        .filter(|p| matches!(Envelope::decode(&p.payload), Ok(Envelope::Group(_))))
        .map(|p| p.payload.clone())
        .collect()
}

fn key_packages(net: &Net, from: MemberId) -> Vec<Vec<u8>> {
    net.payloads
        .iter()
        .filter(|p| p.from == from)
        .filter(|p| {
            matches!(
                Envelope::decode(&p.payload),
                Ok(Envelope::KeyPackage { .. })
            )
        })
        .map(|p| p.payload.clone())
        .collect()
}

#[test]
fn members_chat_in_one_order_and_agree_on_fingerprints_and_the_safety_code() {
    let (mut net, _) = room_of_three();
    net.say("alice", "one");
    net.say("bob", "two");
    net.say("carol", "three");
    let alice_code = code(&net, "alice");
    for name in ["alice", "bob", "carol"] {
        assert_eq!(net.texts(name), ["one", "two", "three"], "{name}'s view");
        assert_eq!(
            net.warnings(name),
            0,
            "{name}: {:?}",
            net.clients[name].events
        );
        assert_eq!(code(&net, name), alice_code, "{name} is in alice's epoch");
        let members = net.clients[name].session.members();
        assert_eq!(members.len(), 3, "{name} sees everyone: {members:?}");
        for m in &members {
            let own = net.clients[m.nick.as_str()].session.fingerprint().unwrap();
            assert_eq!(m.fingerprint, own, "{name}'s view of {}", m.nick);
            assert_eq!(m.is_host, m.nick == "alice");
        }
    }
    // One message has one id for everyone, and it is not the relay's number.
    let ids = |name: &str| -> Vec<[u8; 16]> {
        net.clients[name]
            .events
            .iter()
            .filter_map(|e| match e {
                SessionEvent::Message { id, .. } => Some(id.0),
                _ => None,
            })
            .collect()
    };
    assert_eq!(ids("alice"), ids("bob"));
    assert_eq!(ids("alice"), ids("carol"));
    assert_eq!(ids("alice").len(), 3);
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
fn the_safety_code_changes_with_every_join() {
    let mut net = Net::new();
    let invite = net.create("alice");
    let first = code(&net, "alice");
    net.join("bob", &invite);
    let second = code(&net, "alice");
    assert_ne!(first, second);
    assert_eq!(code(&net, "bob"), second);
}

#[test]
fn nick_changes_reach_everyone_cleaned() {
    let (mut net, _) = room_of_three();
    // A right-to-left override and a zero-width joiner would let a nick pose as another.
    net.user("bob", |s| s.set_nick("rob\u{202e}ert\u{200d}"));
    let bob = net.id("bob");
    for name in ["alice", "carol"] {
        assert!(
            net.clients[name].events.iter().any(|e| matches!(e,
                SessionEvent::NickChanged { member, new, .. } if *member == bob && new == "robert")),
            "{name}: {:?}",
            net.clients[name].events
        );
    }
}

#[test]
fn a_relay_without_the_secret_cannot_get_itself_added() {
    let (mut net, _) = room_of_three();
    let before = code(&net, "alice");
    // A join request sealed under a secret the relay made up, from a member id it made up.
    let fake = RoomSecret::from_bytes([7; 32]);
    let intruder = MemberId(99);
    let joiner = vroom_shared::group::Joiner::new(Identity::generate()).unwrap();
    let sealed = seal_key_package(
        &join_key(&fake),
        &net.clients["alice"].session.room_id(),
        (intruder, net.seq),
        joiner.key_package(),
        &mut NonceRng::new(),
    );
    net.sequence(
        None,
        Event::Message {
            from: intruder,
            to: None,
            payload: &sealed.encode(),
        },
    );
    net.run();
    net.tick(T0);
    net.tick(T0 + 10 * FALLBACK_MS);
    for name in ["alice", "bob", "carol"] {
        assert!(net.warnings(name) >= 1, "{name} warns");
        assert_eq!(code(&net, name), before, "{name}: nobody was added");
        assert_eq!(net.clients[name].session.members().len(), 3);
    }
}

#[test]
fn a_forged_departure_and_replayed_messages_show_nothing_old_again() {
    let (mut net, _) = room_of_three();
    net.say("bob", "meet at nine");
    let bob = net.id("bob");
    let old = group_payloads(&net, bob);
    // The relay tells alice alone that bob left, then replays bob's old messages.
    net.inject_event(
        "alice",
        Event::Left {
            member: bob,
            reason: LeaveReason::Disconnected,
        },
    );
    // Alice removes him with a commit every member sees: the room agrees he is out
    // (a forged departure is a visible removal, never a split view).
    assert!(
        net.clients["bob"].session.is_ended(),
        "bob is out, and knows it"
    );
    assert_eq!(code(&net, "alice"), code(&net, "carol"));
    assert_eq!(nicks(&net, "carol"), ["alice", "carol"]);
    for payload in &old {
        for name in ["alice", "carol"] {
            net.inject_event(
                name,
                Event::Message {
                    from: bob,
                    to: None,
                    payload,
                },
            );
        }
    }
    for name in ["alice", "carol"] {
        assert_eq!(
            net.texts(name),
            ["meet at nine"],
            "{name} shows nothing twice"
        );
        assert!(net.warnings(name) >= 1, "{name} warns about the replay");
    }
}

#[test]
fn a_departed_members_old_join_request_is_refused() {
    let (mut net, _) = room_of_three();
    let bob = net.id("bob");
    let request = key_packages(&net, bob).pop().expect("bob asked to join");
    net.user("bob", |s| s.leave());
    let after_leave = code(&net, "alice");
    assert_eq!(nicks(&net, "alice"), ["alice", "carol"]);
    // Replayed under bob's old id, and moved to a new id: both refused.
    for from in [bob, MemberId(4242)] {
        relay_as(&mut net, from, &request);
    }
    still_and_warned(&net, after_leave, 2);
}

#[test]
fn a_kick_the_relay_hides_from_some_members_is_still_agreed_or_seen() {
    let (mut net, _) = room_of_three();
    let bob = net.id("bob");
    // The relay withholds from carol the relay's own news of the kick; the host's
    // removal commit reaches her like every group message.
    net.hold.insert("carol", Vec::new());
    net.user("alice", |s| s.kick(bob));
    let held = net.hold.remove("carol").unwrap();
    for frame in held {
        let is_left = matches!(
            ServerFrame::decode(&frame),
            Ok(ServerFrame::Event {
                event: Event::Left { .. },
                ..
            })
        );
        if !is_left {
            net.inject("carol", frame);
        }
    }
    assert!(net.clients["bob"].session.is_ended());
    assert_eq!(code(&net, "carol"), code(&net, "alice"));
    assert_eq!(nicks(&net, "carol"), ["alice", "carol"]);
    for name in ["alice", "carol"] {
        assert!(
            net.clients[name].events.iter().any(|e| matches!(e,
            SessionEvent::MemberLeft { member, reason: LeaveReason::Kicked, .. } if *member == bob)),
            "{name} shows the kick"
        );
    }

    // If the relay withholds the host's commit itself, carol stays in the old epoch:
    // her safety code no longer matches the others', which members see when they compare.
    let (mut net, _) = room_of_three();
    let bob = net.id("bob");
    net.hold.insert("carol", Vec::new());
    net.user("alice", |s| s.kick(bob));
    net.hold.remove("carol");
    assert_ne!(code(&net, "carol"), code(&net, "alice"));
}

/// How the session of `name` ended, if it did.
fn end_reason(net: &Net, name: &str) -> Option<CloseReason> {
    net.clients[name].events.iter().find_map(|e| match e {
        SessionEvent::Ended { reason } => Some(*reason),
        _ => None,
    })
}

#[test]
fn a_member_learns_whether_the_host_kicked_it_or_the_others_removed_it() {
    // The host's announced kick: bob is told the host removed him.
    let (mut net, _) = room_of_three();
    let bob = net.id("bob");
    net.user("alice", |s| s.kick(bob));
    assert_eq!(end_reason(&net, "bob"), Some(CloseReason::Kicked));
    assert_eq!(net.warnings("bob"), 0);
    // The relay alone says carol was removed: she is warned that nobody in the room did.
    for reason in [CloseReason::Kicked, CloseReason::Removed] {
        let (mut net, _) = room_of_three();
        net.inject("carol", ServerFrame::Closed { reason }.encode());
        assert!(net.clients["carol"].session.is_ended());
        assert_eq!(net.warnings("carol"), 1, "{reason:?}");
    }

    // The relay reports bob gone (his grace ran out) while his socket still hears the
    // room: the others' removal commit reaches him, and he is not told he was kicked.
    let (mut net, _) = room_of_three();
    let bob = net.id("bob");
    relay_reports_gone(&mut net, bob);
    assert_eq!(end_reason(&net, "bob"), Some(CloseReason::Removed));
    assert!(!CloseReason::Removed.message().contains("host"));
}

#[test]
fn an_insider_with_the_relay_cannot_put_a_newcomer_in_a_fake_room_unnoticed() {
    let (mut net, invite) = room_of_three();
    // The relay keeps dave's join request from the members and hands it to mallory, an
    // insider who holds the room secret and makes a group of her own for dave.
    for name in ["alice", "bob", "carol"] {
        net.hold.insert(name, Vec::new());
    }
    net.join("dave", &invite);
    for name in ["alice", "bob", "carol"] {
        net.hold.remove(name);
    }
    let dave = net.id("dave");
    let Envelope::KeyPackage {
        since,
        nonce,
        sealed,
    } = Envelope::decode(&key_packages(&net, dave).pop().unwrap()).unwrap()
    else {
        unreachable!()
    };
    let secret = invite.secret();
    let key_package = open_key_package(
        &join_key(secret),
        &net.clients["dave"].session.room_id(),
        (dave, since),
        &nonce,
        &sealed,
    )
    .unwrap();
    let mut fake = Group::create(Identity::generate(), secret).unwrap();
    let commit = fake.add(&key_package).unwrap();
    let Ok(Incoming::Commit {
        welcome: Some(welcome),
        ..
    }) = fake.handle(&commit)
    else {
        panic!("mallory's own commit")
    };
    net.inject_event(
        "dave",
        Event::Message {
            from: MemberId(666),
            to: Some(dave),
            payload: &Envelope::Welcome(welcome).encode(),
        },
    );
    // Dave is in mallory's group: his room-wide code is not the room's, so comparing
    // it with anyone in the room shows the split.
    let (_, dave_code) = code(&net, "dave");
    for name in ["alice", "bob", "carol"] {
        assert_ne!(code(&net, name).1, dave_code, "{name} vs dave");
    }
    assert!(net.clients["dave"].session.members().len() <= 2);
}

#[test]
fn a_directed_copy_of_a_room_message_is_refused() {
    let (mut net, _) = room_of_three();
    let alice = net.id("alice");
    let bob = net.id("bob");
    // The relay delivers alice's next message to bob only as a copy meant for him alone.
    net.hold.insert("bob", Vec::new());
    net.say("alice", "for everyone");
    net.hold.remove("bob");
    let payload = group_payloads(&net, alice).pop().unwrap();
    net.inject_event(
        "bob",
        Event::Message {
            from: alice,
            to: Some(bob),
            payload: &payload,
        },
    );
    assert_eq!(net.texts("carol"), ["for everyone"]);
    assert!(
        net.texts("bob").is_empty(),
        "bob shows nothing the others may not see"
    );
    assert!(net.warnings("bob") >= 1);
}

#[test]
fn a_second_welcome_is_refused() {
    let (mut net, _) = room_of_three();
    let carol = net.id("carol");
    let welcome = net
        .payloads_to(carol)
        .into_iter()
        .find(|p| matches!(Envelope::decode(&p.payload), Ok(Envelope::Welcome(_))))
        .expect("carol was welcomed");
    let before = code(&net, "carol");
    net.inject_event(
        "carol",
        Event::Message {
            from: welcome.from,
            to: Some(carol),
            payload: &welcome.payload,
        },
    );
    assert!(net.warnings("carol") >= 1);
    assert_eq!(code(&net, "carol"), before);
    net.say("carol", "still here");
    assert_eq!(net.texts("alice"), ["still here"]);
}

#[test]
fn the_next_committer_takes_over_when_the_first_is_away() {
    let (mut net, _) = room_of_three();
    // Alice (first in the order) loses her connection; the relay still counts her in
    // its grace period. Carol leaves: alice should commit, but cannot.
    net.drop_connection("alice");
    net.user("carol", |s| s.leave());
    net.tick(T0);
    assert_eq!(
        nicks(&net, "bob"),
        ["alice", "bob", "carol"],
        "bob waits his turn"
    );
    net.tick(T0 + FALLBACK_MS);
    assert_eq!(nicks(&net, "bob"), ["alice", "bob"], "then bob commits");
    net.reconnect("alice");
    assert_eq!(code(&net, "alice"), code(&net, "bob"));
}

#[test]
fn a_newcomer_reads_nothing_from_before_it_arrived() {
    let mut net = Net::new();
    let invite = net.create("alice");
    net.join("bob", &invite);
    net.say("alice", "before");
    net.join("carol", &invite);
    net.say("bob", "after");
    assert_eq!(net.texts("carol"), ["after"]);
    assert_eq!(net.warnings("carol"), 0);
}

#[test]
fn a_member_who_left_cannot_read_what_follows() {
    let (mut net, _) = room_of_three();
    // Bob's client ignores its removal and keeps its keys; the relay hands it what follows.
    net.remove_quietly("bob", LeaveReason::Disconnected);
    net.say("alice", "after bob");
    assert_eq!(net.texts("carol"), ["after bob"]);
    let alice = net.id("alice");
    for payload in group_payloads(&net, alice) {
        net.inject_event(
            "bob",
            Event::Message {
                from: alice,
                to: None,
                payload: &payload,
            },
        );
    }
    assert!(!net.texts("bob").contains(&"after bob".to_owned()));
}

#[test]
fn reconnect_catches_up_once_and_in_order() {
    let (mut net, _) = room_of_three();
    net.drop_connection("bob");
    net.say("alice", "one");
    net.say("carol", "two");
    net.reconnect("bob");
    net.say("bob", "three");
    for name in ["alice", "bob", "carol"] {
        assert_eq!(net.texts(name), ["one", "two", "three"], "{name}");
        assert_eq!(net.warnings(name), 0, "{name}");
    }
}

#[test]
fn terminate_by_the_host_ends_every_session_and_a_relays_claim_alone_warns() {
    let (mut net, _) = room_of_three();
    // The relay ends carol's room, claiming the host did.
    net.inject(
        "carol",
        ServerFrame::Closed {
            reason: CloseReason::Terminated,
        }
        .encode(),
    );
    assert!(net.clients["carol"].session.is_ended());
    assert!(net.warnings("carol") >= 1);
    net.user("alice", |s| s.terminate());
    for name in ["alice", "bob"] {
        let s = &net.clients[name].session;
        assert!(s.is_ended(), "{name}");
        assert!(
            s.invite_link("http://x").is_none(),
            "{name}'s keys are gone"
        );
        assert_eq!(net.warnings(name), 0, "{name}");
    }
}

#[test]
fn lock_by_the_host_is_authenticated_and_a_relays_alone_warns() {
    let (mut net, _) = room_of_three();
    net.user("alice", |s| s.lock(true));
    assert!(net.clients["bob"].session.is_locked());
    assert_eq!(net.warnings("bob"), 0);
    net.inject_event("carol", Event::Locked { locked: false });
    assert!(net.warnings("carol") >= 1);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Nothing the relay or a member sends panics a session: raw frames, arbitrary
    /// payloads broadcast or directed, and real payloads with bytes flipped.
    #[test]
    fn arbitrary_frames_never_panic_a_session(
        raw in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..8),
        payloads in proptest::collection::vec((proptest::collection::vec(any::<u8>(), 0..300), any::<bool>()), 0..8),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
    ) {
        let (mut net, _) = room_of_three();
        net.say("alice", "real");
        let alice = net.id("alice");
        let bob = net.id("bob");
        for frame in raw {
            net.inject("bob", frame);
        }
        for (payload, directed) in payloads {
            let to = directed.then_some(bob);
            net.inject_event("bob", Event::Message { from: alice, to, payload: &payload });
        }
        let real: Vec<Vec<u8>> = net.payloads.iter().map(|p| p.payload.clone()).collect();
        for (index, byte) in flips {
            let mut p = real[index.index(real.len())].clone();
            let at = index.index(p.len());
            p[at] ^= byte | 1;
            net.inject_event("bob", Event::Message { from: alice, to: None, payload: &p });
        }
        // Bob is still in the room with everyone else.
        net.say("carol", "after");
        prop_assert!(net.texts("bob").contains(&"after".to_owned()));
    }
}

#[test]
fn sessions_refuse_actions_before_they_are_in_the_group() {
    let mut net = Net::new();
    let invite = net.create("alice");
    net.drop_connection("alice");
    let (mut s, _) = Session::join(&invite, "bob");
    assert!(s.send_text("hi", T0).is_err());
    assert!(!s.is_ready());
}

#[test]
fn a_member_refreshes_its_keys_after_a_hundred_messages_or_ten_minutes() {
    use vroom_shared::session::{UPDATE_AFTER_MESSAGES, UPDATE_AFTER_MS};
    let mut net = Net::new();
    let invite = net.create("alice");
    net.join("bob", &invite);
    let start = code(&net, "bob");
    // Every application message counts, bob's profile on joining included: the
    // update comes at the hundredth, a few texts before the hundredth text.
    let mut sent = 0;
    while code(&net, "alice") == start && sent <= UPDATE_AFTER_MESSAGES {
        net.say("bob", &format!("m{sent}"));
        sent += 1;
    }
    assert!(
        (UPDATE_AFTER_MESSAGES - 3..=UPDATE_AFTER_MESSAGES).contains(&sent),
        "bob committed fresh keys after {sent} texts"
    );
    let after_count = code(&net, "alice");
    assert_ne!(after_count, start, "bob committed fresh keys");
    assert_eq!(code(&net, "bob"), after_count);
    net.say("bob", "one more");
    assert_eq!(code(&net, "alice"), after_count, "the count starts again");
    assert_eq!(
        net.texts("alice").last().map(String::as_str),
        Some("one more")
    );
    // Time alone also triggers it, at the next message.
    net.user("bob", |s| {
        s.send_text("later", 1_700_000_000_000 + UPDATE_AFTER_MS)
    });
    assert_ne!(code(&net, "alice"), after_count);
    assert_eq!(net.texts("alice").last().map(String::as_str), Some("later"));
    assert_eq!(net.warnings("alice"), 0);
}

#[test]
fn an_epoch_that_carried_messages_ends_after_five_minutes_though_nobody_sends() {
    use vroom_shared::session::{EPOCH_REFRESH_MS, FALLBACK_MS};
    let (mut net, _) = room_of_three();
    net.say("carol", "hello");
    net.tick(T0);
    let start = code(&net, "alice");
    net.tick(T0 + EPOCH_REFRESH_MS - 1);
    assert_eq!(code(&net, "alice"), start, "not before five minutes");
    net.tick(T0 + EPOCH_REFRESH_MS);
    let refreshed = code(&net, "alice");
    assert_ne!(
        refreshed, start,
        "the first member in committer order updated"
    );
    for name in ["bob", "carol"] {
        assert_eq!(code(&net, name), refreshed, "{name} is in the new epoch");
    }
    // A new epoch that carries nothing is left alone, however long it lasts.
    net.tick(T0 + EPOCH_REFRESH_MS + 1);
    net.tick(T0 + 3 * EPOCH_REFRESH_MS + 10 * FALLBACK_MS);
    assert_eq!(code(&net, "alice"), refreshed);
    assert_eq!(net.warnings("alice"), 0);
    assert_eq!(net.texts("bob"), ["hello"]);
}

#[test]
fn a_member_who_missed_events_rejoins_without_being_shown_as_kicked() {
    let (mut net, _) = room_of_three();
    let before = net.clients["carol"].events.len();
    net.inject("bob", ServerFrame::Gap { from: 1, to: 3 }.encode());
    net.tick(T0);
    assert!(
        net.clients["bob"].session.is_ready(),
        "bob is back in the group"
    );
    assert!(!net.clients["bob"].session.is_ended());
    assert_eq!(code(&net, "bob"), code(&net, "alice"));
    assert_eq!(code(&net, "carol"), code(&net, "alice"));
    net.say("bob", "back");
    assert_eq!(net.texts("carol").last().map(String::as_str), Some("back"));
    for name in ["alice", "carol"] {
        assert_eq!(
            net.warnings(name),
            0,
            "{name}: {:?}",
            net.clients[name].events
        );
        assert!(!net.clients[name].events.iter().any(|e| matches!(
            e,
            SessionEvent::MemberLeft {
                reason: LeaveReason::Kicked,
                ..
            }
        )));
    }
    assert_eq!(nicks(&net, "carol"), ["alice", "bob", "carol"]);
    assert!(net.clients["carol"].events.len() > before);
}

#[test]
fn a_gap_to_a_member_alone_keeps_the_room() {
    let mut net = Net::new();
    let invite = net.create("alice");
    net.inject("alice", ServerFrame::Gap { from: 1, to: 1 }.encode());
    net.join("bob", &invite);
    assert!(
        net.clients["bob"].session.is_ready(),
        "alice still lets people in"
    );
}

#[test]
fn a_forged_departure_told_to_the_host_alone_is_not_shown_as_a_kick() {
    let (mut net, _) = room_of_three();
    let bob = net.id("bob");
    net.inject_event(
        "alice",
        Event::Left {
            member: bob,
            reason: LeaveReason::Disconnected,
        },
    );
    let carol = &net.clients["carol"].events;
    assert!(!carol.iter().any(|e| matches!(
        e,
        SessionEvent::MemberLeft {
            reason: LeaveReason::Kicked,
            ..
        }
    )));
    assert!(net.warnings("carol") >= 1, "carol is told bob had not left");
}

#[test]
fn members_refuse_newcomers_while_the_host_has_locked_the_room() {
    let (mut net, invite) = room_of_three();
    net.user("alice", |s| s.lock(true));
    let locked = code(&net, "alice");
    // A relay that ignores the lock lets dave in; the members do not add him.
    net.join("dave", &invite);
    net.tick(T0 + 100 * FALLBACK_MS);
    assert!(!net.clients["dave"].session.is_ready());
    assert_eq!(code(&net, "alice"), locked);
    assert!(net.warnings("bob") >= 1);
}

#[test]
fn the_hosts_own_word_ends_the_room_even_if_the_relay_keeps_it() {
    let (mut net, _) = room_of_three();
    // The relay drops the host's Terminate frame but relays its group message.
    let out = net
        .clients
        .get_mut("alice")
        .unwrap()
        .session
        .terminate()
        .unwrap();
    let group_only: Vec<_> = out
        .into_iter()
        .filter(|o| match o {
            vroom_shared::session::Output::Send(bytes) => !matches!(
                vroom_shared::wire::ClientFrame::decode(bytes),
                Ok(vroom_shared::wire::ClientFrame::Terminate { .. })
            ),
            _ => true,
        })
        .collect();
    net.act("alice", group_only);
    for name in ["bob", "carol"] {
        assert!(net.clients[name].session.is_ended(), "{name}");
        assert!(net.clients[name].events.iter().any(|e| matches!(
            e,
            SessionEvent::Ended {
                reason: CloseReason::Terminated
            }
        )));
    }
}

#[test]
fn a_commit_lost_with_the_socket_does_not_block_the_committer() {
    let (mut net, invite) = room_of_three();
    // Alice's socket dies just as she commits dave's add: the commit never reaches the
    // relay. After she reconnects and catches up, she commits again.
    net.hold.insert("alice", Vec::new());
    net.join("dave", &invite);
    let held = net.hold.remove("alice").unwrap();
    net.drop_connection("alice");
    for frame in held {
        net.clients.get_mut("alice").unwrap().inbox.push_back(frame);
    }
    let c = net.clients.get_mut("alice").unwrap();
    while let Some(frame) = c.inbox.pop_front() {
        let _ = c.session.handle(&frame); // her answers are lost with the socket
    }
    net.reconnect("alice");
    net.tick(T0);
    assert!(
        net.clients["dave"].session.is_ready(),
        "dave got in after all"
    );
    net.say("alice", "welcome");
    assert_eq!(net.texts("dave"), ["welcome"]);
}

#[test]
fn a_newcomer_nobody_lets_in_is_told_once_and_still_gets_in_later() {
    let mut net = Net::new();
    let invite = net.create("alice");
    // Alice's socket drops (the relay keeps her within its grace period): nobody
    // online can add bob.
    net.drop_connection("alice");
    net.join("bob", &invite);
    let still_waiting = |net: &Net| {
        net.clients["bob"]
            .events
            .iter()
            .filter(|e| matches!(e, SessionEvent::StillWaiting))
            .count()
    };
    net.tick(T0);
    net.tick(T0 + NOBODY_LET_IN_MS - 1);
    assert_eq!(still_waiting(&net), 0, "told too early");
    net.tick(T0 + NOBODY_LET_IN_MS);
    net.tick(T0 + 3 * NOBODY_LET_IN_MS);
    assert_eq!(still_waiting(&net), 1, "told once, not at every tick");
    assert!(net.clients["bob"].session.members().is_empty());
    // Alice comes back and lets him in: he was only waiting.
    net.reconnect("alice");
    net.tick(T0 + 3 * NOBODY_LET_IN_MS + 1_000);
    assert_eq!(nicks(&net, "bob"), ["alice", "bob"]);
    net.say("bob", "finally");
    assert_eq!(net.texts("alice"), ["finally"]);
}

/// Until a member's own `Profile` says which relay id it has, a newcomer knows it only
/// from the relay's stamp. The relay stamping bob's first message to dave (his
/// `Profile`) as carol's contradicts bob's claim, so dave is warned and takes neither
/// id for bob's leaf, rather than showing bob's typing or receipts as carol's.
#[test]
fn a_relay_restamping_a_members_first_message_to_a_newcomer_is_noticed() {
    let (mut net, invite) = room_of_three();
    let (bob, carol) = (net.id("bob"), net.id("carol"));
    let mut restamped = false;
    join_frame_by_frame(&mut net, "dave", &invite, |net, frame| {
        if restamped || !net.clients["dave"].session.is_ready() {
            return Some(frame);
        }
        match broadcast(&frame) {
            Some((seq, from, payload)) if from == bob => {
                restamped = true;
                Some(broadcast_frame(seq, carol, &payload))
            }
            _ => Some(frame),
        }
    });
    assert!(restamped, "bob wrote to the room after dave was let in");
    assert!(net.warnings("dave") >= 1, "the restamp went unnoticed");
    // Bob's leaf is known under no id for dave; carol's own claim still decides hers.
    assert_eq!(nicks(&net, "dave"), ["alice", "carol", "dave"]);
    let members = net.clients["dave"].session.members();
    assert!(members
        .iter()
        .any(|m| m.member == carol && m.nick == "carol"));
    assert!(members.iter().all(|m| m.member != bob));
    net.say("carol", "it is me");
    assert_eq!(net.texts("dave"), ["it is me"]);
}

/// An insider's `Profile` claiming another member's relay id, read by a newcomer
/// before that member's own claim (and before the insider's own), is refused: the
/// relay stamped it with the insider's id. Otherwise the newcomer would take the
/// insider's leaf for bob, refuse bob's own claim, and a host acting on that leaf (a
/// kick's disconnection) would have the relay disconnect bob.
#[test]
fn an_insiders_claim_of_another_members_relay_id_is_refused() {
    let (mut net, invite) = room_of_three();
    let (bob, carol) = (net.id("bob"), net.id("carol"));
    let mut forged = false;
    // The first member message dave reads (alice's profile) and carol's forged one,
    // sent then, change places: dave reads the lie before anyone's own claim.
    join_frame_by_frame(&mut net, "dave", &invite, |net, frame| {
        if forged || !net.clients["dave"].session.is_ready() {
            return Some(frame);
        }
        let Some((seq, from, real)) = broadcast(&frame) else {
            return Some(frame);
        };
        net.user("carol", |s| {
            s.send_raw_content(&Content::Profile {
                nick: "bob".into(),
                member: bob,
            })
        });
        let held = net.hold.get_mut("dave").unwrap();
        let (late, liar, lie) = broadcast(&held.pop().unwrap()).unwrap();
        assert_eq!(liar, carol);
        held.push(broadcast_frame(late, from, &real));
        forged = true;
        Some(broadcast_frame(seq, carol, &lie))
    });
    assert!(forged, "carol wrote to the room after dave was let in");
    assert!(net.warnings("dave") >= 1, "the forged claim went unnoticed");
    let members = net.clients["dave"].session.members();
    let fingerprint = |name: &str, member: MemberId| {
        net.clients[name]
            .session
            .members()
            .into_iter()
            .find(|m| m.member == member)
            .map(|m| m.fingerprint)
    };
    assert!(
        members.iter().any(|m| m.member == bob && m.nick == "bob"),
        "bob's own claim stands: {:?}",
        members.iter().map(|m| &m.nick).collect::<Vec<_>>()
    );
    assert_eq!(
        fingerprint("dave", bob),
        fingerprint("alice", bob),
        "bob's id is bob's leaf for dave"
    );
    assert!(members
        .iter()
        .any(|m| m.member == carol && m.nick == "carol"));
    assert_eq!(nicks(&net, "dave"), ["alice", "bob", "carol", "dave"]);
}

/// The signatures an insider puts on a rejoin request, given the statement.
type Proof<'a> = &'a dyn Fn(&[u8]) -> Vec<Vec<u8>>;

/// A join request sealed under `member`'s id, as an insider holding the room secret
/// makes one, with the proof it makes (`None`: a plain `KeyPackage`).
fn request_as(
    net: &Net,
    secret: &RoomSecret,
    member: MemberId,
    proof: Option<Proof<'_>>,
) -> Vec<u8> {
    let room = net.clients["alice"].session.room_id();
    let joiner = vroom_shared::group::Joiner::new(Identity::generate()).unwrap();
    let Envelope::KeyPackage {
        since,
        nonce,
        sealed,
    } = seal_key_package(
        &join_key(secret),
        &room,
        (member, net.seq),
        joiner.key_package(),
        &mut NonceRng::new(),
    )
    else {
        unreachable!()
    };
    let statement = rejoin_statement(&room, (member, since), joiner.key_package());
    match proof {
        None => Envelope::KeyPackage {
            since,
            nonce,
            sealed,
        },
        Some(sign) => Envelope::Rejoin {
            since,
            nonce,
            sealed,
            signatures: sign(&statement).into_iter().map(Into::into).collect(),
        },
    }
    .encode()
}

/// Alice and carol are still in the epoch of `code` (nobody was added or removed) and
/// each warned at least `warnings` times.
fn still_and_warned(net: &Net, code_then: (u64, SafetyCode), warnings: usize) {
    for name in ["alice", "carol"] {
        assert_eq!(
            code(net, name),
            code_then,
            "{name}: the group did not change"
        );
        assert!(
            net.warnings(name) >= warnings,
            "{name} warns {warnings} time(s)"
        );
    }
}

/// The relay reports `member` gone (its grace ran out), to everyone.
fn relay_reports_gone(net: &mut Net, member: MemberId) {
    net.sequence(
        None,
        Event::Left {
            member,
            reason: LeaveReason::Disconnected,
        },
    );
    net.run();
}

pub(crate) fn relay_as(net: &mut Net, from: MemberId, payload: &[u8]) {
    net.sequence(
        None,
        Event::Message {
            from,
            to: None,
            payload,
        },
    );
    net.run();
    net.tick(T0 + 100 * FALLBACK_MS);
}

/// An insider holds the room secret; with the relay, it seals a join request under
/// bob's relay id, as if bob were rejoining after missing events: plain, with junk for
/// a proof, or signed by a key of its own. Without bob's key the members refuse it: bob
/// keeps his place and nobody takes his id.
#[test]
fn an_insider_with_the_relay_cannot_push_a_member_out_by_rejoining_as_him() {
    let (mut net, invite) = room_of_three();
    let bob = net.id("bob");
    let before = code(&net, "alice");
    // A valid signature, by a key that is not bob's.
    let own = vroom_shared::group::Joiner::new(Identity::generate())
        .unwrap()
        .rejoin_signer()
        .unwrap();
    let signed_by_own = |statement: &[u8]| vec![own.sign(statement).to_vec()];
    let junk = |_: &[u8]| vec![vec![7; 64]];
    let too_many = |statement: &[u8]| vec![own.sign(statement).to_vec(); 5];
    let proofs: [Option<Proof<'_>>; 4] = [None, Some(&junk), Some(&signed_by_own), Some(&too_many)];
    for proof in proofs {
        let request = request_as(&net, invite.secret(), bob, proof);
        relay_as(&mut net, bob, &request);
    }
    still_and_warned(&net, before, 4);
    for name in ["alice", "carol"] {
        assert_eq!(nicks(&net, name), ["alice", "bob", "carol"], "{name}");
    }
    net.say("bob", "still here");
    assert_eq!(net.texts("alice"), ["still here"]);
}

/// The relay reports bob gone while he is not (the members remove him, as they must),
/// then an insider asks to join under his id: the members remember whose key that id
/// had, and refuse a request that key did not sign.
#[test]
fn an_insider_cannot_come_back_under_a_departed_members_id() {
    let (mut net, invite) = room_of_three();
    let bob = net.id("bob");
    net.hold.insert("bob", Vec::new());
    relay_reports_gone(&mut net, bob);
    assert_eq!(nicks(&net, "alice"), ["alice", "carol"]);
    let after = code(&net, "alice");
    let request = request_as(&net, invite.secret(), bob, None);
    relay_as(&mut net, bob, &request);
    still_and_warned(&net, after, 1);
}

/// Dave's Welcome is lost in a gap after the members added him: he asks again under
/// the same id, proving it with the identity they added, and gets in.
#[test]
fn a_newcomer_whose_welcome_was_lost_gets_in_by_asking_again() {
    let (mut net, invite) = room_of_three();
    // Dave's frames: everything but the Welcome of his add, which the gap swallows.
    join_frame_by_frame(&mut net, "dave", &invite, |_, frame| {
        let welcome = matches!(
            ServerFrame::decode(&frame),
            Ok(ServerFrame::Event { event: Event::Message { to: Some(_), payload, .. }, .. })
                if matches!(Envelope::decode(payload), Ok(Envelope::Welcome(_)))
        );
        (!welcome).then_some(frame)
    });
    assert!(
        !net.clients["dave"].session.is_ready(),
        "dave lost his Welcome"
    );
    // The members added him (he has no name yet: his profile never came).
    assert_eq!(nicks(&net, "alice").len(), 4);
    net.inject("dave", ServerFrame::Gap { from: 1, to: 2 }.encode());
    net.tick(T0);
    net.tick(T0 + 100 * FALLBACK_MS);
    assert!(net.clients["dave"].session.is_ready(), "dave is in");
    assert_eq!(code(&net, "dave"), code(&net, "alice"));
    assert_eq!(nicks(&net, "alice"), ["alice", "bob", "carol", "dave"]);
    for name in ["alice", "bob", "carol"] {
        assert_eq!(net.warnings(name), 0, "{name}");
    }
    net.say("dave", "made it");
    assert_eq!(net.texts("bob"), ["made it"]);
}
