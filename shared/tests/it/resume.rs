//! Coming back after a page reload (PROTOCOL.md §7.10): a session saved as a
//! `Resumable` comes back as the same member (relay id, identity, nickname, host
//! powers) without the others seeing it leave or arrive; what was sent meanwhile is
//! reported as unreadable; a replay of its request is refused.

use vroom_shared::session::envelope::Envelope;
use vroom_shared::session::{Resumable, Session, SessionEvent, FALLBACK_MS};
use vroom_shared::wire::{CloseReason, LeaveReason};

use super::relay::Net;
use super::session::relay_as;

const T0: u64 = 1_700_000_000_000;

fn fingerprint_of(net: &Net, viewer: &str, member: &str) -> String {
    let id = net.id(member);
    net.clients[viewer]
        .session
        .members()
        .into_iter()
        .find(|m| m.member == id)
        .map(|m| format!("{} {}", m.nick, m.fingerprint))
        .unwrap_or_default()
}

/// Saves `name`'s session (through its text encoding, as a page does), lets `between`
/// happen while its page is gone, and brings it back from what was saved.
fn reload(net: &mut Net, name: &'static str, between: impl FnOnce(&mut Net)) {
    let mut saved = net.clients[name].session.resumable().expect("resumable");
    saved.set_view(b"what the page showed".to_vec());
    let text = saved.encode();
    net.drop_connection(name);
    between(net);
    let saved = Resumable::decode(&text).expect("decodes");
    assert_eq!(saved.view(), b"what the page showed");
    assert_eq!(saved.nick(), name);
    let (session, first) = Session::resume(&saved);
    net.reload(name, session, first);
    // Whoever's turn the returning member's removal and add are.
    for step in 1..=4 {
        net.tick(T0 + step * 2 * FALLBACK_MS);
    }
}

/// A room Alice created and Bob joined.
fn alice_and_bob() -> (Net, vroom_shared::invite::Invite) {
    let mut net = Net::new();
    let invite = net.create("alice");
    net.join("bob", &invite);
    (net, invite)
}

/// Both members are in the same room state (epoch and safety code).
fn assert_one_room(net: &Net, a: &str, b: &str) {
    assert_eq!(
        net.clients[a].session.safety_code(),
        net.clients[b].session.safety_code(),
        "{a} and {b} are in one room state"
    );
}

/// The page of `name` reloads and comes back from what it saved (no clock runs).
fn page_reload(net: &mut Net, name: &'static str) {
    let saved = net.clients[name].session.resumable().expect("resumable");
    let (session, frame) = Session::resume(&saved);
    net.reload(name, session, frame);
}

/// The nickname of the member `viewer` sees as host.
fn host_seen_by(net: &Net, viewer: &str) -> Option<String> {
    net.clients[viewer]
        .session
        .members()
        .into_iter()
        .find(|m| m.is_host)
        .map(|m| m.nick)
}

fn arrivals_and_departures(net: &Net, name: &str, since: usize) -> Vec<String> {
    net.clients[name].events[since..]
        .iter()
        .filter_map(|e| match e {
            SessionEvent::MemberJoined { nick, .. } => Some(format!("{nick} joined")),
            SessionEvent::MemberLeft { nick, .. } => Some(format!("{nick} left")),
            _ => None,
        })
        .collect()
}

#[test]
fn a_reloaded_member_comes_back_as_itself_and_is_told_what_it_could_not_read() {
    let (mut net, invite) = alice_and_bob();
    net.join("carol", &invite);
    let bob = net.id("bob");
    let before = fingerprint_of(&net, "alice", "bob");
    let own_before = net.clients["bob"].session.fingerprint();
    let seen_alice = net.clients["alice"].events.len();
    let seen_carol = net.clients["carol"].events.len();

    reload(&mut net, "bob", |net| {
        net.say("alice", "sent while bob reloaded");
        net.say("carol", "this too");
    });

    assert!(
        net.clients["bob"].session.is_ready(),
        "bob is back in the group"
    );
    assert_eq!(net.id("bob"), bob, "the same relay member id");
    assert_eq!(
        net.clients["bob"].session.fingerprint(),
        own_before,
        "the same safety words"
    );
    assert_eq!(
        fingerprint_of(&net, "alice", "bob"),
        before,
        "alice sees the same bob"
    );
    assert_eq!(
        fingerprint_of(&net, "carol", "bob"),
        before,
        "carol sees the same bob"
    );
    assert_eq!(
        net.clients["bob"].session.safety_code(),
        net.clients["alice"].session.safety_code(),
        "one room state again"
    );
    let unreadable = net.clients["bob"]
        .events
        .iter()
        .filter(|e| matches!(e, SessionEvent::Undecryptable { .. }))
        .count();
    assert_eq!(
        unreadable, 2,
        "the two messages sent meanwhile are reported"
    );
    for (name, seen) in [("alice", seen_alice), ("carol", seen_carol)] {
        let later = &net.clients[name].events[seen..];
        assert!(
            !later.iter().any(|e| matches!(
                e,
                SessionEvent::MemberJoined { .. } | SessionEvent::MemberLeft { .. }
            )),
            "{name} sees bob neither leave nor arrive: {later:?}"
        );
        assert_eq!(net.warnings(name), 0, "{name}: {later:?}");
    }

    net.say("bob", "back");
    net.say("alice", "welcome back");
    assert_eq!(net.texts("alice")[2..], ["back", "welcome back"]);
    assert_eq!(
        net.texts("bob"),
        ["back", "welcome back"],
        "bob reads what follows"
    );
}

#[test]
fn a_reloaded_host_keeps_its_host_powers() {
    let (mut net, invite) = alice_and_bob();
    net.join("carol", &invite);
    reload(&mut net, "alice", |_| {});
    assert!(net.clients["alice"].session.is_ready());
    assert!(
        net.clients["alice"].session.is_host(),
        "it kept the host secret"
    );
    let host = host_seen_by(&net, "bob");
    assert_eq!(
        host.as_deref(),
        Some("alice"),
        "the members still see alice as host"
    );

    net.user("alice", |s| s.lock(true));
    assert!(net.clients["bob"].session.is_locked());
    assert_eq!(net.warnings("bob"), 0, "the lock is the host's own word");
    let carol = net.id("carol");
    net.user("alice", |s| s.kick(carol));
    net.tick(T0 + 100 * FALLBACK_MS);
    assert!(net.clients["carol"].session.is_ended());
    assert!(net.clients["bob"].events.iter().any(|e| matches!(
        e,
        SessionEvent::MemberLeft {
            reason: LeaveReason::Kicked,
            ..
        }
    )));
    assert_eq!(net.warnings("bob"), 0, "{:?}", net.clients["bob"].events);
}

/// The relay replays the request a member made when it came back: the members took
/// that key package already and refuse it, so the member keeps its place.
#[test]
fn a_replayed_request_of_a_returning_member_is_refused() {
    let (mut net, _) = alice_and_bob();
    let seen = net.clients["alice"].events.len();
    reload(&mut net, "bob", |_| {});
    let bob = net.id("bob");
    let request = net
        .payloads
        .iter()
        .rev()
        .find(|p| {
            p.from == bob && matches!(Envelope::decode(&p.payload), Ok(Envelope::Rejoin { .. }))
        })
        .expect("bob's request")
        .payload
        .clone();
    let code = net.clients["alice"].session.safety_code();
    relay_as(&mut net, bob, &request);
    assert_eq!(
        net.clients["alice"].session.safety_code(),
        code,
        "nothing changed"
    );
    assert_eq!(net.warnings("alice"), 1, "the replay is noticed");
    assert!(net.clients["bob"].session.is_ready());
    assert!(
        arrivals_and_departures(&net, "alice", seen).is_empty(),
        "alice sees bob neither leave nor arrive"
    );
}

/// Past the relay's grace the resume is refused: the session joins as a new member,
/// with a new identity.
#[test]
fn a_resume_the_relay_refuses_joins_afresh() {
    let (mut net, _) = alice_and_bob();
    let old = net.clients["bob"].session.fingerprint();
    let saved = net.clients["bob"].session.resumable().unwrap();
    net.remove_quietly("bob", LeaveReason::Disconnected);
    net.tick(T0 + 100 * FALLBACK_MS);
    let (session, first) = Session::resume(&saved);
    // The relay no longer knows the id: it refuses the resume.
    net.hold.insert("bob", Vec::new());
    net.reload("bob", session, first);
    net.hold.remove("bob");
    net.inject(
        "bob",
        vroom_shared::wire::ServerFrame::Error {
            code: vroom_shared::wire::ErrorCode::ResumeRefused,
        }
        .encode(),
    );
    net.tick(T0 + 200 * FALLBACK_MS);
    assert!(net.clients["bob"].session.is_ready(), "in as a new member");
    assert_ne!(
        net.clients["bob"].session.fingerprint(),
        old,
        "with a new identity"
    );
    assert!(!net.clients["bob"].events.iter().any(|e| matches!(
        e,
        SessionEvent::Ended {
            reason: CloseReason::Removed,
            ..
        }
    )));
}

#[test]
fn a_damaged_saved_session_is_refused() {
    assert!(Resumable::decode("").is_err());
    assert!(Resumable::decode("not base64!").is_err());
    let mut net = Net::new();
    net.create("alice");
    let text = net.clients["alice"].session.resumable().unwrap().encode();
    let mut bytes = text.as_bytes().to_vec();
    bytes.truncate(bytes.len() - 3);
    assert!(Resumable::decode(core::str::from_utf8(&bytes).unwrap()).is_err());
    // The format byte's first six bits are the first base64 character.
    let other = if text.starts_with('A') { 'C' } else { 'A' };
    let other_format = format!("{other}{}", &text[1..]);
    assert!(Resumable::decode(&other_format).is_err());
    assert!(Resumable::decode(&text).is_ok());
}

fn warned(net: &Net, name: &str, words: &str) -> bool {
    net.clients[name]
        .events
        .iter()
        .any(|e| matches!(e, SessionEvent::SecurityWarning { text, .. } if text.contains(words)))
}

/// The lock keeps newcomers out, not a member coming back as itself: a member and
/// the host reload in a locked room and are back in; the host can unlock.
#[test]
fn a_locked_room_takes_back_its_reloaded_members() {
    let (mut net, invite) = alice_and_bob();
    net.join("carol", &invite);
    net.user("alice", |s| s.lock(true));
    assert!(net.clients["bob"].session.is_locked());

    reload(&mut net, "bob", |_| {});
    assert!(
        net.clients["bob"].session.is_ready(),
        "bob is back in the locked room"
    );
    reload(&mut net, "alice", |_| {});
    assert!(
        net.clients["alice"].session.is_ready(),
        "the host is back in its locked room"
    );
    for name in ["alice", "bob", "carol"] {
        assert!(
            !warned(&net, name, "locked"),
            "{name}: {:?}",
            net.clients[name].events
        );
    }
    net.user("alice", |s| s.lock(false));
    assert!(!net.clients["carol"].session.is_locked(), "unlocked");
    assert_one_room(&net, "bob", "carol");
}

/// Bob's request from his first reload, replayed after his second one, must not push
/// him out of the leaf his second request gave him: it is older than the latest one
/// taken under his id.
#[test]
fn an_older_request_replayed_after_a_second_reload_is_refused() {
    let (mut net, _) = alice_and_bob();
    let bob = net.id("bob");
    let rejoins = |net: &Net| -> Vec<Vec<u8>> {
        net.payloads
            .iter()
            .filter(|p| {
                p.from == bob && matches!(Envelope::decode(&p.payload), Ok(Envelope::Rejoin { .. }))
            })
            .map(|p| p.payload.clone())
            .collect()
    };
    reload(&mut net, "bob", |_| {});
    let first = rejoins(&net).pop().expect("bob's first request");
    reload(&mut net, "bob", |_| {});
    assert_eq!(rejoins(&net).len(), 2, "bob asked again");
    assert!(net.clients["bob"].session.is_ready());
    let seen = net.clients["alice"].events.len();
    let code = net.clients["alice"].session.safety_code();
    relay_as(&mut net, bob, &first);
    assert!(
        warned(&net, "alice", "older request"),
        "refused as older than the latest: {:?}",
        &net.clients["alice"].events[seen..]
    );
    assert_eq!(net.clients["alice"].session.safety_code(), code);
    assert!(net.clients["bob"].session.is_ready());
}

/// Bob reloads twice before the members have added him back: his second request,
/// proven by the same key, replaces the add owed for his first.
#[test]
fn a_second_reload_before_the_first_is_taken_back_wins() {
    let (mut net, _) = alice_and_bob();
    let seen = net.clients["alice"].events.len();
    // Alice hears nothing until bob has reloaded twice.
    net.hold.insert("alice", Vec::new());
    page_reload(&mut net, "bob");
    page_reload(&mut net, "bob");
    let held = net.hold.remove("alice").unwrap();
    for frame in held {
        net.clients.get_mut("alice").unwrap().inbox.push_back(frame);
    }
    net.run();
    for step in 1..=4 {
        net.tick(T0 + step * 2 * FALLBACK_MS);
    }
    assert!(
        net.clients["bob"].session.is_ready(),
        "bob is back: {:?}",
        net.clients["bob"].events
    );
    assert_eq!(
        net.warnings("alice"),
        0,
        "{:?}",
        &net.clients["alice"].events[seen..]
    );
    assert!(arrivals_and_departures(&net, "alice", seen).is_empty());
    assert_one_room(&net, "bob", "alice");
}

/// A host alone in its room has nobody to add it back: it makes the group again (the
/// same group id and host binding) and a newcomer joins it.
#[test]
fn a_host_alone_in_its_room_makes_the_group_again() {
    let mut net = Net::new();
    let invite = net.create("alice");
    let own = net.clients["alice"].session.fingerprint();
    assert!(net.clients["alice"].session.resumable().unwrap().alone());
    reload(&mut net, "alice", |_| {});
    assert!(
        net.clients["alice"].session.is_ready(),
        "{:?}",
        net.clients["alice"].events
    );
    assert!(net.clients["alice"].session.is_host());
    assert_eq!(net.clients["alice"].session.fingerprint(), own);
    net.join("bob", &invite);
    assert!(net.clients["bob"].session.is_ready());
    let host = host_seen_by(&net, "bob");
    assert_eq!(host.as_deref(), Some("alice"), "bob sees alice as host");
    assert_eq!(net.warnings("bob"), 0, "{:?}", net.clients["bob"].events);
    net.say("bob", "hi");
    assert_eq!(net.texts("alice"), ["hi"]);
}

/// A saved entry says until when the relay keeps the place; past that it is stale.
#[test]
fn a_saved_session_knows_when_it_expires() {
    let (net, _) = alice_and_bob();
    let mut saved = net.clients["bob"].session.resumable().unwrap();
    assert!(!saved.alone());
    saved.set_expires_at_ms(T0 + 60_000);
    let saved = Resumable::decode(&saved.encode()).unwrap();
    assert!(!saved.expired(T0 + 59_999));
    assert!(saved.expired(T0 + 60_000));
    let unset = net.clients["bob"].session.resumable().unwrap();
    assert!(unset.expired(T0), "an entry without a deadline is stale");
}

/// Hands `name` the frames held for it, by hand: what it wrote back is returned, not
/// sent.
fn feed_held(net: &mut Net, name: &'static str) -> Vec<vroom_shared::session::Output> {
    let frames: Vec<Vec<u8>> = net.hold.get_mut(name).unwrap().drain(..).collect();
    let session = &mut net.clients.get_mut(name).unwrap().session;
    frames.iter().flat_map(|f| session.handle(f)).collect()
}

/// Bob reloads again while Alice's add of his first request is on its way: that add
/// lands with the key package of a page that is gone, and its Welcome reaches a page
/// that cannot use it. That page asks again under the same identity and is taken back.
#[test]
fn a_second_reload_while_the_first_add_is_on_its_way_asks_again() {
    let (mut net, _) = alice_and_bob();
    let seen = net.clients["alice"].events.len();
    net.hold.insert("alice", Vec::new());
    page_reload(&mut net, "bob");
    // Alice takes the request and removes Bob's old leaf...
    let removal = feed_held(&mut net, "alice");
    net.act("alice", removal);
    // ...which lands: she commits his add, not sent yet.
    let add = feed_held(&mut net, "alice");
    assert!(add
        .iter()
        .any(|o| matches!(o, vroom_shared::session::Output::Send(_))));
    page_reload(&mut net, "bob");
    let held = net.hold.remove("alice").unwrap();
    net.clients.get_mut("alice").unwrap().inbox.extend(held);
    net.act("alice", add);
    for step in 1..=6 {
        net.tick(T0 + step * 2 * FALLBACK_MS);
    }
    assert!(
        net.clients["bob"].session.is_ready(),
        "bob is back: {:?}",
        net.clients["bob"].events
    );
    assert_one_room(&net, "alice", "bob");
    assert_eq!(
        net.warnings("alice"),
        0,
        "{:?}",
        &net.clients["alice"].events[seen..]
    );
    assert!(arrivals_and_departures(&net, "alice", seen).is_empty());
    net.say("bob", "here");
    assert_eq!(net.texts("alice").last().map(String::as_str), Some("here"));
}

/// What comes back from storage is not trusted: a nickname changed there to hold a
/// hidden character is cleaned again.
#[test]
fn a_saved_nickname_is_cleaned_again() {
    use base64::Engine;
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let (net, _) = alice_and_bob();
    let text = net.clients["alice"].session.resumable().unwrap().encode();
    let mut bytes = engine.decode(text.as_bytes()).unwrap();
    // postcard: the length, then the bytes; a zero-width space in place of "ice".
    let at = bytes
        .windows(6)
        .position(|w| w == b"\x05alice")
        .expect("the nickname");
    bytes[at + 1..at + 6].copy_from_slice("al\u{200B}".as_bytes());
    let saved = Resumable::decode(&engine.encode(&bytes)).expect("decodes");
    assert_eq!(saved.nick(), "al");
}
