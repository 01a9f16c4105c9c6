//! Renewing the invitation after a kick (PROTOCOL.md §11.4), through the in-memory
//! relay, which lets anyone in like a relay working with the removed member: the
//! members who stay share one new link, a request made with the old one gets nobody
//! added, and the new one works; a relay that withholds messages cannot leave some
//! members with the old invitation, a request taken before the switch is not added
//! after it, and a disconnection lost on the way is asked for again.

use vroom_shared::group::chains::is_chain_message;
use vroom_shared::invite::Invite;
use vroom_shared::session::{Envelope, SessionEvent, FALLBACK_MS};
use vroom_shared::wire::{Event, MemberId, ServerFrame};

use super::relay::Net;
use super::session::nicks;

const T0: u64 = 1_700_000_000_000;

const ORIGIN: &str = "https://chat.example";

fn link(net: &Net, name: &str) -> String {
    net.clients[name]
        .session
        .invite_link(ORIGIN)
        .expect("in the room")
}

#[test]
fn after_a_kick_the_old_link_gets_nobody_added_and_the_new_one_does() {
    let mut net = Net::new();
    let invite = net.create("alice");
    net.join("bob", &invite);
    net.join("carol", &invite);
    let old = link(&net, "alice");
    assert!(!net.clients["carol"].session.invite_renewed());

    let bob = net.id("bob");
    net.user("alice", |s| s.kick(bob));
    assert!(net.clients["bob"].session.is_ended());
    assert_eq!(
        net.rotations, 2,
        "the host told the relay the new proof, and again once the relay reported the kick"
    );
    let renewed = link(&net, "alice");
    assert_ne!(renewed, old);
    assert_eq!(link(&net, "carol"), renewed, "carol has another link");
    for name in ["alice", "carol"] {
        let client = &net.clients[name];
        assert!(client.session.invite_renewed());
        assert_eq!(
            client
                .events
                .iter()
                .filter(|e| matches!(e, SessionEvent::InviteChanged))
                .count(),
            1,
            "{name} is told once"
        );
    }
    // The pass went to the remaining members inside the group only: no payload to bob
    // or anyone carries it in the clear.
    let pass = &Invite::parse(&renewed).unwrap();
    let pass = pass.pass().expect("the new link has a pass").as_bytes();
    assert!(!net
        .payloads
        .iter()
        .any(|p| p.payload.windows(32).any(|w| w == pass)));

    // The relay lets the old link in: the members refuse its request, and warn.
    let warned = net.warnings("alice");
    net.join("mallory", &Invite::parse(&old).unwrap());
    assert!(net.clients["mallory"].session.safety_code().is_none());
    assert_eq!(nicks(&net, "alice"), ["alice", "carol"]);
    assert!(
        net.warnings("alice") > warned,
        "alice warns of the old link"
    );

    // The new link works, and the newcomer's own link is the new one.
    net.join("dave", &Invite::parse(&renewed).unwrap());
    assert_eq!(nicks(&net, "alice"), ["alice", "carol", "dave"]);
    assert_eq!(
        net.clients["dave"].session.safety_code(),
        net.clients["alice"].session.safety_code()
    );
    assert_eq!(link(&net, "dave"), renewed);
}

/// Whether a frame the relay sends is a member's application message (on its chain).
fn is_application(frame: &[u8]) -> bool {
    let Ok(ServerFrame::Event {
        event: Event::Message { payload, .. },
        ..
    }) = ServerFrame::decode(frame)
    else {
        return false;
    };
    matches!(Envelope::decode(payload), Ok(Envelope::Group(bytes)) if is_chain_message(&bytes))
}

/// The relay withholds from carol every application message after the kick's commit:
/// the new pass must not travel in one. Carol still holds the same new invitation as
/// the host (she derives it from the commit's epoch), so the relay cannot leave her
/// admitting the old link while the others refuse it.
#[test]
fn a_relay_withholding_messages_after_a_kick_cannot_leave_a_member_on_the_old_invitation() {
    let mut net = Net::new();
    let invite = net.create("alice");
    net.join("bob", &invite);
    net.join("carol", &invite);
    let old = link(&net, "carol");
    net.hold.insert("carol", Vec::new());
    let bob = net.id("bob");
    net.user("alice", |s| s.kick(bob));
    let held = net.hold.remove("carol").expect("held");
    let mut after_commit = false;
    let mut withheld = 0;
    for frame in held {
        if after_commit && is_application(&frame) {
            withheld += 1;
            continue;
        }
        if !is_application(&frame)
            && matches!(
                ServerFrame::decode(&frame),
                Ok(ServerFrame::Event {
                    event: Event::Message { .. },
                    ..
                })
            )
        {
            after_commit = true;
        }
        net.inject("carol", frame);
    }
    net.run();
    assert!(after_commit, "the kick's commit reached carol");
    let renewed = link(&net, "alice");
    assert_ne!(renewed, old);
    assert_eq!(
        link(&net, "carol"),
        renewed,
        "carol was withheld {withheld} messages"
    );
    assert!(net.clients["carol"].session.invite_renewed());
}

/// A request made with the old link reaches the members just before the kick, while
/// the host (the first in the committer order) has not read it yet: the others wait
/// for it. Once the kick's commit switches the invitation, nobody adds that request,
/// not even after the fallback delays: whoever sent it (the kicked member under a new
/// identity, say) needs the new link.
#[test]
fn a_request_made_with_the_old_link_before_the_switch_is_not_added_after_it() {
    let mut net = Net::new();
    let invite = net.create("alice");
    net.join("bob", &invite);
    net.join("carol", &invite);
    net.tick(T0);
    net.hold.insert("alice", Vec::new());
    net.join("mallory", &invite);
    let bob = net.id("bob");
    net.user("alice", |s| s.kick(bob));
    for frame in net.hold.remove("alice").expect("held") {
        net.inject("alice", frame);
    }
    for step in 1..=5 {
        net.tick(T0 + step * 2 * FALLBACK_MS);
    }
    assert!(net.clients["bob"].session.is_ended());
    assert!(
        net.clients["mallory"].session.safety_code().is_none(),
        "mallory was added"
    );
    assert_eq!(nicks(&net, "alice"), ["alice", "carol"]);
    assert_eq!(nicks(&net, "carol"), ["alice", "carol"]);
    assert_eq!(link(&net, "carol"), link(&net, "alice"));
}

/// The relay never got the host's `Kick` (the connection broke as it was written):
/// the kicked member, out of the group, still holds its place at the relay. After the
/// host's next connection it asks again, with the proof, and the relay lets it go.
#[test]
fn a_lost_disconnection_is_asked_for_again_after_a_reconnection() {
    let mut net = Net::new();
    let invite = net.create("alice");
    net.join("bob", &invite);
    net.join("carol", &invite);
    net.lose_kicks = 1;
    let bob = net.id("bob");
    net.user("alice", |s| s.kick(bob));
    assert!(net.clients["bob"].session.is_ended());
    assert!(
        net.attached().iter().any(|(_, m)| *m == bob),
        "the relay still holds bob"
    );
    assert_eq!(net.rotations, 1);
    net.drop_connection("alice");
    net.reconnect("alice");
    assert!(
        !net.attached().iter().any(|(_, m)| *m == bob),
        "the relay let bob go"
    );
    assert_eq!(
        net.rotations, 3,
        "the proof was sent again, and once more after the relay reported the kick"
    );
    // Once the relay reported bob gone, nothing more is owed.
    net.drop_connection("alice");
    net.reconnect("alice");
    assert_eq!(nicks(&net, "carol"), ["alice", "carol"]);
}

/// The member about to be kicked reloads just before (or says it did: it holds its own
/// key, so its rejoin request is proven) and its request reaches the others while the
/// host, first in the committer order, has not read it; the relay, working with it,
/// keeps it connected (the host's `Kick` is dropped). The kick's commit ends its leaf
/// and its request with it: nobody adds it back, whatever the fallback delays.
#[test]
fn a_kicked_members_rejoin_sent_just_before_the_kick_does_not_bring_it_back() {
    let mut net = Net::new();
    let invite = net.create("alice");
    net.join("bob", &invite);
    net.join("carol", &invite);
    net.tick(T0);
    net.lose_kicks = 1;
    let bob = net.id("bob");
    let saved = net.clients["bob"].session.resumable().expect("resumable");
    net.hold.insert("alice", Vec::new());
    let (session, first) = vroom_shared::session::Session::resume(&saved);
    net.reload("bob", session, first);
    net.user("alice", |s| s.kick(bob));
    for frame in net.hold.remove("alice").expect("held") {
        net.inject("alice", frame);
    }
    for step in 1..=5 {
        net.tick(T0 + step * 2 * FALLBACK_MS);
    }
    assert_eq!(nicks(&net, "alice"), ["alice", "carol"]);
    assert_eq!(nicks(&net, "carol"), ["alice", "carol"]);
    assert!(
        net.clients["bob"].session.safety_code().is_none() || net.clients["bob"].session.is_ended(),
        "bob is not in the group"
    );
}

/// The member to be kicked leaves first (or the relay says it did) and the others'
/// removal of its leaf wins the relay's order before the host's kick: the kick's
/// commit, which carried the renewal, loses. The host renews in a commit of its own,
/// before anything else, and the old link is dead all the same.
#[test]
fn when_a_departure_beats_the_kick_the_host_renews_on_its_own() {
    let mut net = Net::new();
    let invite = net.create("alice");
    net.join("bob", &invite);
    net.join("carol", &invite);
    net.tick(T0);
    let old = link(&net, "carol");
    let bob = net.id("bob");
    net.hold.insert("alice", Vec::new());
    net.remove_quietly("bob", vroom_shared::wire::LeaveReason::Left);
    // Alice, first in the committer order, does not hear of it: carol commits after
    // her fallback delay.
    net.tick(T0 + 2 * FALLBACK_MS);
    assert_eq!(nicks(&net, "carol"), ["alice", "carol"]);
    net.user("alice", |s| s.kick(bob));
    for frame in net.hold.remove("alice").expect("held") {
        net.inject("alice", frame);
    }
    net.run();
    let renewed = link(&net, "alice");
    assert_ne!(renewed, old, "the host renewed the invitation");
    assert_eq!(link(&net, "carol"), renewed);
    assert!(net.clients["carol"].session.invite_renewed());
    net.join("mallory", &Invite::parse(&old).unwrap());
    for step in 2..=6 {
        net.tick(T0 + step * 2 * FALLBACK_MS);
    }
    assert!(net.clients["mallory"].session.safety_code().is_none());
    assert_eq!(nicks(&net, "alice"), ["alice", "carol"]);
}

/// Carol reloads while the host kicks bob; she is added back with the pass she had
/// saved, the old one, and the relay withholds the current pass the host hands her.
/// She does not know which join requests are current, so she adds none: a request
/// made with the old link gets nobody added, whoever's turn it is.
#[test]
fn a_member_back_with_an_old_pass_adds_nobody_until_it_holds_the_current_one() {
    let mut net = Net::new();
    let invite = net.create("alice");
    net.join("bob", &invite);
    net.join("carol", &invite);
    net.tick(T0);
    let saved = net.clients["carol"].session.resumable().expect("resumable");
    net.drop_connection("carol");
    let bob = net.id("bob");
    net.user("alice", |s| s.kick(bob));
    assert!(net.clients["alice"].session.invite_renewed());
    // Carol comes back; every application message to her is withheld from now on.
    net.hold.insert("carol", Vec::new());
    let (session, first) = vroom_shared::session::Session::resume(&saved);
    net.reload("carol", session, first);
    for step in 1..=4 {
        net.tick(T0 + step * 2 * FALLBACK_MS);
        let held = std::mem::take(net.hold.get_mut("carol").expect("held"));
        for frame in held.into_iter().filter(|f| !is_application(f)) {
            net.inject("carol", frame);
        }
    }
    assert_eq!(nicks(&net, "alice"), ["alice", "carol"], "carol is back");
    assert!(net.clients["carol"].session.safety_code().is_some());
    assert_ne!(
        link(&net, "carol"),
        link(&net, "alice"),
        "carol has the old pass"
    );
    // Mallory asks with the old link; alice, first in the order, refuses; carol waits
    // for no one.
    net.join("mallory", &invite);
    for step in 5..=10 {
        net.tick(T0 + step * 2 * FALLBACK_MS);
        let held = std::mem::take(net.hold.get_mut("carol").expect("held"));
        for frame in held.into_iter().filter(|f| !is_application(f)) {
            net.inject("carol", frame);
        }
    }
    assert!(
        net.clients["mallory"].session.safety_code().is_none(),
        "mallory was added"
    );
    assert_eq!(nicks(&net, "alice"), ["alice", "carol"]);
}

/// The host kicks the only other member, so it is alone, then reloads: nobody is left
/// to add it back, so it makes the group again (its record numbering no renewal yet).
/// Its pass is still the room's (the relay asks for that pass's proof), and the new
/// link still lets a newcomer in.
#[test]
fn a_host_alone_after_a_kick_reloads_and_still_lets_the_new_link_in() {
    let mut net = Net::new();
    let invite = net.create("alice");
    net.join("bob", &invite);
    let bob = net.id("bob");
    net.user("alice", |s| s.kick(bob));
    let renewed = link(&net, "alice");
    let saved = net.clients["alice"].session.resumable().expect("resumable");
    let (session, first) = vroom_shared::session::Session::resume(&saved);
    net.reload("alice", session, first);
    assert_eq!(
        link(&net, "alice"),
        renewed,
        "the same link after the reload"
    );
    net.join("carol", &Invite::parse(&renewed).unwrap());
    for step in 1..=3 {
        net.tick(T0 + step * 2 * FALLBACK_MS);
    }
    assert_eq!(nicks(&net, "alice"), ["alice", "carol"]);
    assert_eq!(
        net.clients["carol"].session.safety_code(),
        net.clients["alice"].session.safety_code()
    );
}

/// The host kicks bob and its page reloads before the kick's commit comes back: the
/// commit won the relay's order (carol took it), but the reloaded page no longer holds
/// openmls's pending commit, and back in a later epoch it cannot derive that commit's
/// pass. Once carol takes it back it renews the invitation again, tells the relay that
/// renewal's proof and has it disconnect bob, whom it still owes a disconnection.
#[test]
fn a_host_that_reloads_before_its_kick_comes_back_still_renews_at_the_relay() {
    let mut net = Net::new();
    let invite = net.create("alice");
    net.join("bob", &invite);
    net.join("carol", &invite);
    net.tick(T0);
    let bob = net.id("bob");
    net.hold.insert("alice", Vec::new());
    net.user("alice", |s| s.kick(bob));
    assert!(
        net.clients["carol"].session.invite_renewed(),
        "carol took the kick"
    );
    let kicks_link = link(&net, "carol");
    assert_eq!(net.rotations, 0, "the echo did not reach alice");
    reload_held_host(&mut net);
    assert_eq!(nicks(&net, "alice"), ["alice", "carol"], "alice is back");
    assert_eq!(
        link(&net, "alice"),
        link(&net, "carol"),
        "alice and carol hold the same pass"
    );
    assert_ne!(
        link(&net, "carol"),
        kicks_link,
        "alice renewed again once back"
    );
    assert!(net.rotations >= 1, "alice told the relay the new proof");
    let invite = Invite::parse(&link(&net, "carol")).unwrap();
    let proof = invite.pass().unwrap().join_proof(invite.secret()).hash().0;
    assert_eq!(net.proof, Some(proof));
    assert!(
        net.kicks.contains(&(None, bob)),
        "alice had the relay disconnect bob"
    );
    assert!(net.clients["alice"]
        .events
        .iter()
        .any(|e| matches!(e, SessionEvent::InviteChanged)));
}

/// The group messages (commits and proposals, not on a chain) `from` sent, as the
/// relay stamped them: (seq, the group bytes).
fn commits_from(net: &Net, from: MemberId) -> Vec<(u64, Vec<u8>)> {
    net.log
        .iter()
        .filter_map(|(seq, _, frame)| {
            let Ok(ServerFrame::Event {
                event: Event::Message {
                    from: f, payload, ..
                },
                ..
            }) = ServerFrame::decode(frame)
            else {
                return None;
            };
            match Envelope::decode(payload) {
                Ok(Envelope::Group(bytes)) if f == from && !is_chain_message(&bytes) => {
                    Some((*seq, bytes))
                }
                _ => None,
            }
        })
        .collect()
}

/// Alice's page reloads while her inbox is held (what she sent is at the relay, what
/// came back never reached her); then the clock runs until the room settles.
fn reload_held_host(net: &mut Net) {
    let saved = net.clients["alice"].session.resumable().expect("resumable");
    net.hold.remove("alice");
    let (session, first) = vroom_shared::session::Session::resume(&saved);
    net.reload("alice", session, first);
    for step in 1..=3 {
        net.tick(T0 + step * 2 * FALLBACK_MS);
    }
}

/// The join proof hash of the pass in `name`'s invite link.
fn proof_of(net: &Net, name: &str) -> [u8; 32] {
    let invite = Invite::parse(&link(net, name)).unwrap();
    invite.pass().unwrap().join_proof(invite.secret()).hash().0
}

/// Carol, a moderator, kicks bob while the host's inbox is held; the host, not having
/// seen it, kicks bob too, in the same epoch: carol's commit won, with the same renewal
/// number the host's carried. The host's page reloads before anything comes back, and
/// the relay hides carol's commit from its replay, so the first commit of that epoch
/// it sees is its own. The host must not take the pass its lost commit would have made
/// (nobody else holds it): the relay's proof is one every member holds.
#[test]
fn a_host_back_after_a_reload_does_not_take_the_pass_of_a_kick_that_lost_in_hiding() {
    let mut net = Net::new();
    let invite = net.create("alice");
    net.join("bob", &invite);
    net.join("carol", &invite);
    net.tick(T0);
    let (alice, bob, carol) = (net.id("alice"), net.id("bob"), net.id("carol"));
    net.user("alice", |s| s.set_moderator(carol, true));
    net.hold.insert("alice", Vec::new());
    let before = net.seq;
    net.user("carol", |s| s.kick(bob));
    assert!(net.clients["carol"].session.invite_renewed());
    let agreed = proof_of(&net, "carol");
    assert_eq!(net.proof, Some(agreed), "carol's kick set the new proof");
    net.user("alice", |s| s.kick(bob));
    assert_eq!(
        commits_from(&net, alice).last().map(|c| c.0 > before),
        Some(true),
        "alice's kick reached the relay"
    );
    let saved = net.clients["alice"].session.resumable().expect("resumable");
    net.hold.remove("alice");
    // The relay drops carol's commit from what it replays to alice.
    let hidden: Vec<u64> = commits_from(&net, carol)
        .into_iter()
        .map(|(seq, _)| seq)
        .filter(|&seq| seq > before)
        .collect();
    assert!(!hidden.is_empty());
    net.log.retain(|(seq, _, _)| !hidden.contains(seq));
    let (session, first) = vroom_shared::session::Session::resume(&saved);
    net.reload("alice", session, first);
    for step in 1..=3 {
        net.tick(T0 + step * 2 * FALLBACK_MS);
    }
    assert_eq!(nicks(&net, "alice"), ["alice", "carol"], "alice is back");
    assert_eq!(link(&net, "alice"), link(&net, "carol"), "one pass");
    assert_eq!(
        net.proof,
        Some(proof_of(&net, "carol")),
        "alice set no proof of a pass nobody else holds"
    );
    assert_ne!(net.proof, Some(agreed), "alice renewed again once back");
}

/// The host kicks bob and reloads before its commit comes back. Just before the kick,
/// bob sent bytes that read, in the clear, as a commit of that same epoch (a real one
/// of the epoch before, its epoch field changed): every member refuses them, and the
/// host's commit won. The host, back, still renews at the relay and has bob
/// disconnected.
#[test]
fn a_forged_commit_header_does_not_keep_a_reloaded_host_from_its_pass() {
    let mut net = Net::new();
    let invite = net.create("alice");
    net.join("bob", &invite);
    net.join("carol", &invite);
    net.tick(T0);
    let (alice, bob, carol) = (net.id("alice"), net.id("bob"), net.id("carol"));
    // The last commit every member took, its epoch raised by one: a header of the
    // epoch the host's kick is made in. `version[2] ‖ wire_format[2] ‖ group_id`
    // (a one-byte length, then 16 bytes) is followed by the epoch, 8 bytes.
    let (_, mut forged) = [alice, bob, carol]
        .into_iter()
        .flat_map(|m| commits_from(&net, m))
        .max_by_key(|c| c.0)
        .expect("a commit");
    let at = 2 + 2 + 1 + 16;
    assert_eq!(forged[4], 16, "a 16-byte group id");
    let epoch = u64::from_be_bytes(forged[at..at + 8].try_into().unwrap());
    forged[at..at + 8].copy_from_slice(&(epoch + 1).to_be_bytes());
    // Held for alice too: it is in the relay's replay after her reload, before her kick.
    net.hold.insert("alice", Vec::new());
    net.sequence(
        None,
        Event::Message {
            from: bob,
            to: None,
            payload: &Envelope::Group(forged).encode(),
        },
    );
    net.run();
    net.user("alice", |s| s.kick(bob));
    assert!(
        net.clients["carol"].session.invite_renewed(),
        "carol took the kick"
    );
    reload_held_host(&mut net);
    assert_eq!(nicks(&net, "alice"), ["alice", "carol"], "alice is back");
    assert_eq!(
        link(&net, "alice"),
        link(&net, "carol"),
        "alice has the pass"
    );
    assert_eq!(net.proof, Some(proof_of(&net, "carol")));
    assert!(net.kicks.contains(&(None, bob)), "bob was disconnected");
}

/// The host kicks bob in an epoch that is already over (carol's own update won it,
/// unseen by the host, whose inbox is held); then carol, a moderator, kicks bob in the
/// next epoch, which raises the renewal to the very number the host's lost commit
/// carried. The host's page reloads before anything comes back. The group's record,
/// once carol takes it back, holds that number: a host deciding by the record would
/// take the pass of its lost commit, which nobody else holds. It must renew again.
#[test]
fn a_later_kick_with_the_same_renewal_number_does_not_give_a_reloaded_host_its_lost_pass() {
    let mut net = Net::new();
    let invite = net.create("alice");
    net.join("bob", &invite);
    net.join("carol", &invite);
    net.tick(T0);
    let (alice, bob, carol) = (net.id("alice"), net.id("bob"), net.id("carol"));
    net.user("alice", |s| s.set_moderator(carol, true));
    net.hold.insert("alice", Vec::new());
    let before = net.seq;
    for n in 0..vroom_shared::session::UPDATE_AFTER_MESSAGES {
        net.say("carol", &format!("message {n}"));
    }
    assert!(
        !commits_from(&net, carol).iter().all(|c| c.0 <= before),
        "carol's own update reached the relay"
    );
    net.user("alice", |s| s.kick(bob));
    assert!(
        commits_from(&net, alice)
            .last()
            .is_some_and(|c| c.0 > before),
        "alice's kick reached the relay"
    );
    assert!(
        !net.clients["carol"].session.invite_renewed(),
        "alice's kick lost"
    );
    net.user("carol", |s| s.kick(bob));
    assert!(net.clients["carol"].session.invite_renewed());
    let carols = link(&net, "carol");
    assert_eq!(net.proof, Some(proof_of(&net, "carol")));
    reload_held_host(&mut net);
    assert_eq!(nicks(&net, "alice"), ["alice", "carol"], "alice is back");
    assert_eq!(link(&net, "alice"), link(&net, "carol"), "one pass");
    assert_ne!(link(&net, "carol"), carols, "alice renewed again once back");
    assert_eq!(
        net.proof,
        Some(proof_of(&net, "carol")),
        "the relay's proof is the one every member holds"
    );
}

/// The room was renewed once (alice kicked dave). Alice then kicks bob, but carol's own
/// update won that epoch, unseen by alice, whose inbox is held; alice reloads before
/// anything comes back. Back in the group, with bob still in it and the old link still
/// the current one, alice must not have the relay free bob's place before the
/// invitation is renewed (he would come straight back with his link): she kicks him
/// again, that kick renews, and only then does the relay disconnect him.
#[test]
fn a_host_whose_kick_lost_before_a_reload_renews_before_the_relay_frees_the_place() {
    let mut net = Net::new();
    let invite = net.create("alice");
    net.join("bob", &invite);
    net.join("carol", &invite);
    net.join("dave", &invite);
    net.tick(T0);
    let (alice, bob, carol, dave) = (
        net.id("alice"),
        net.id("bob"),
        net.id("carol"),
        net.id("dave"),
    );
    net.user("alice", |s| s.kick(dave));
    assert!(net.clients["carol"].session.invite_renewed());
    let old = link(&net, "carol");
    let old_proof = proof_of(&net, "carol");
    net.hold.insert("alice", Vec::new());
    let before = net.seq;
    for n in 0..vroom_shared::session::UPDATE_AFTER_MESSAGES {
        net.say("carol", &format!("message {n}"));
    }
    assert!(
        commits_from(&net, carol).iter().any(|c| c.0 > before),
        "carol's own update reached the relay"
    );
    net.user("alice", |s| s.kick(bob));
    assert!(
        commits_from(&net, alice).iter().any(|c| c.0 > before),
        "alice's kick reached the relay"
    );
    assert_eq!(link(&net, "carol"), old, "alice's kick lost");
    reload_held_host(&mut net);
    assert_eq!(nicks(&net, "alice"), ["alice", "carol"], "bob is out");
    assert_eq!(link(&net, "alice"), link(&net, "carol"), "one pass");
    assert_ne!(link(&net, "carol"), old, "renewed");
    let bobs: Vec<_> = net
        .kicks
        .iter()
        .zip(&net.kick_proofs)
        .filter(|((_, m), _)| *m == bob)
        .map(|(_, proof)| *proof)
        .collect();
    assert!(!bobs.is_empty(), "bob was disconnected");
    assert!(
        bobs.iter().all(|p| *p != Some(old_proof)),
        "the relay freed bob's place only once his link no longer let him in"
    );
    assert_eq!(net.proof, Some(proof_of(&net, "carol")));
}
