//! A malicious relay in the middle (protocol version 2): a proxy between native clients
//! and the real relay that forges join requests without the room secret, injects
//! forged and altered group messages, replays them, moves them from one room into
//! another, hands a member a directed copy of a room message and tells one member that
//! another left, numbering what it delivers as a relay would. Clients must say so
//! (`!! WARNING: ...`) and must never show anything forged, replayed or moved as a
//! message or a member.
//!
//! Version 1 also had a test for reordered messages. It has none here on purpose: in
//! version 2 the relay's order is the room's order (every member processes the same
//! sequence, commits included), and MLS accepts a sender's application messages out of
//! order within a bounded window, so a reordering is neither detectable nor an attack
//! on what members agree on.

use std::time::{SystemTime, UNIX_EPOCH};

use vroom_shared::crypto::{NonceRng, RoomSecret};
use vroom_shared::group::{Identity, Joiner};
use vroom_shared::session::envelope::{join_key, seal_key_package, Envelope};
use vroom_shared::session::{Output, Session};
use vroom_shared::wire::{
    ClientFrame, Event, LeaveReason, MemberId, ResumeToken, ResumeTokenDebug, RoomId, RoomLimits,
    RoomSettings, ServerFrame,
};
use vroom_testkit::cli::Client;
use vroom_testkit::proxy::{ConnInfo, Dir, Frame, Honest, Proxy, Tamper};
use vroom_testkit::relay::{test_config, Relay};

const WARN_JOIN_FORGED: &str = "!! WARNING: A join request failed authentication";
const WARN_FORGED: &str = "!! WARNING: A message failed authentication";
const WARN_REPLAY: &str = "!! WARNING: A message was delivered twice (a replay)";
const WARN_DIRECTED: &str = "!! WARNING: A room message was delivered to this member alone";
const WARN_SECOND_WELCOME: &str = "!! WARNING: A second invitation into the room arrived";
/// Every line a client prints about a security problem starts with this.
const WARNING: &str = "!! WARNING: ";
/// What the relay writes into everything it forges, so no client may ever show it.
const FORGED: &str = "FORGED";

/// A relayed message as delivered to a client.
#[derive(Clone, Debug)]
struct Relayed {
    from: MemberId,
    to: Option<MemberId>,
    payload: Vec<u8>,
}

impl Relayed {
    /// The relayed message in a frame to a client, if it is one.
    fn of(frame: &Frame) -> Option<Relayed> {
        if frame.dir != Dir::ToClient {
            return None;
        }
        match ServerFrame::decode(&frame.bytes).ok()? {
            ServerFrame::Event {
                event: Event::Message { from, to, payload },
                ..
            } => Some(Relayed {
                from,
                to,
                payload: payload.to_vec(),
            }),
            _ => None,
        }
    }

    /// The inner payload (clients send well-formed ones; the relay can read this
    /// outer layer, as a real relay could).
    fn envelope(&self) -> Envelope {
        Envelope::decode(&self.payload).expect("clients send well-formed envelopes")
    }

    fn is_group(&self) -> bool {
        matches!(self.envelope(), Envelope::Group(_))
    }

    fn is_key_package(&self) -> bool {
        matches!(self.envelope(), Envelope::KeyPackage { .. })
    }

    /// A frame delivering this message to connection `conn` (the proxy numbers it).
    fn to_conn(&self, conn: usize) -> Frame {
        Frame {
            conn,
            dir: Dir::ToClient,
            bytes: ServerFrame::Event {
                seq: 0,
                event: Event::Message {
                    from: self.from,
                    to: self.to,
                    payload: &self.payload,
                },
            }
            .encode(),
        }
    }

    /// The same message with one bit flipped in its sealed bytes, `back` bytes from
    /// their end (0: the last byte of the authentication tag; 17: the last byte of the
    /// ciphertext before it), the envelope around them left well-formed.
    fn altered(&self, back: usize) -> Relayed {
        let flip = |bytes: &mut Vec<u8>| {
            let at = bytes.len().checked_sub(1 + back).expect("long enough");
            bytes[at] ^= 0x01;
        };
        let envelope = match self.envelope() {
            Envelope::Group(mut bytes) => {
                flip(&mut bytes);
                Envelope::Group(bytes)
            }
            Envelope::KeyPackage {
                since,
                nonce,
                mut sealed,
            } => {
                flip(&mut sealed);
                Envelope::KeyPackage {
                    since,
                    nonce,
                    sealed,
                }
            }
            Envelope::Direct { enc, mut sealed } => {
                flip(&mut sealed);
                Envelope::Direct { enc, sealed }
            }
            Envelope::Welcome(mut bytes) => {
                flip(&mut bytes);
                Envelope::Welcome(bytes)
            }
            Envelope::Rejoin {
                since,
                nonce,
                mut sealed,
                signatures,
            } => {
                flip(&mut sealed);
                Envelope::Rejoin {
                    since,
                    nonce,
                    sealed,
                    signatures,
                }
            }
        };
        Relayed {
            payload: envelope.encode(),
            ..self.clone()
        }
    }

    /// The same message, claimed to come from `from` and, if it was directed, to `to`.
    fn moved(&self, from: MemberId, to: MemberId) -> Relayed {
        Relayed {
            from,
            to: self.to.map(|_| to),
            payload: self.payload.clone(),
        }
    }
}

/// The messages the relay delivered on connection `conn` from `from`, oldest first.
fn delivered(proxy: &Proxy, conn: usize, from: MemberId) -> Vec<Relayed> {
    proxy
        .recorded()
        .iter()
        .filter(|f| f.conn == conn)
        .filter_map(Relayed::of)
        .filter(|r| r.from == from)
        .collect()
}

/// A relay event `event` for connection `conn` (the proxy numbers it).
fn event_to(conn: usize, event: Event<'_>) -> Frame {
    Frame {
        conn,
        dir: Dir::ToClient,
        bytes: ServerFrame::Event { seq: 0, event }.encode(),
    }
}

/// The attacker: a room member of its own, in a group it made without the room secret,
/// pretending to be `member` of the attacked room.
struct Mallory {
    session: Session,
    member: MemberId,
}

impl Mallory {
    fn posing_as(member: MemberId) -> Mallory {
        let (mut session, _) = Session::create("mallory", RoomSettings::default());
        let welcome = ServerFrame::Welcome {
            you: member,
            resume: ResumeTokenDebug(ResumeToken([0; 16])),
            host: member,
            members: vec![member],
            seq: 0,
            locked: false,
            limits: RoomLimits {
                max_members: 50,
                idle_timeout_secs: 3600,
                max_lifetime_secs: 3600,
                grace_secs: 60,
                max_payload: 65536,
                max_file: 1 << 20,
            },
        }
        .encode();
        session.handle(&welcome);
        assert!(session.is_ready(), "mallory is in a group of her own");
        Mallory { session, member }
    }

    /// A chat message `text` encrypted and signed by Mallory, claiming to be its member.
    fn forge(&mut self, text: &str) -> Relayed {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("the clock is after 1970")
            .as_millis() as u64;
        let outputs = self
            .session
            .send_text(text, now)
            .expect("mallory can write in her group");
        outputs
            .into_iter()
            .find_map(|o| match o {
                Output::Send(bytes) => match ClientFrame::decode(&bytes).ok()? {
                    ClientFrame::Send { to, payload } => Some(Relayed {
                        from: self.member,
                        to,
                        payload: payload.to_vec(),
                    }),
                    _ => None,
                },
                Output::Event(_) => None,
            })
            .expect("the session wrote a group message")
    }
}

/// A join request for `member` in `room`, sealed under a key from a secret the relay
/// made up, around a real key package of a client of its own.
fn forged_join_request(room: &RoomId, member: MemberId) -> Relayed {
    let made_up = RoomSecret::from_bytes([7; 32]);
    let joiner = Joiner::new(Identity::generate()).expect("a fresh key package");
    let sealed = seal_key_package(
        &join_key(&made_up),
        room,
        (member, u64::MAX),
        joiner.key_package(),
        &mut NonceRng::new(),
    );
    Relayed {
        from: member,
        to: None,
        payload: sealed.encode(),
    }
}

/// When a newcomer's join request reaches ada's or bob's connection, the relay first
/// delivers its own request in the newcomer's name (sealed under a made-up secret),
/// then a copy of the real one with a bit flipped, then the real one if
/// `deliver_real`, then a message in the newcomer's name.
fn forged_join_requests(ada_conn: usize, bob_conn: usize, deliver_real: bool) -> impl Tamper {
    let mut mallory: Option<Mallory> = None;
    move |frame: Frame, conns: &[ConnInfo], out: &mut Vec<Frame>| {
        let request = Relayed::of(&frame)
            .filter(|r| (frame.conn == ada_conn || frame.conn == bob_conn) && r.is_key_package());
        let Some(real) = request else {
            out.push(frame);
            return;
        };
        let room = conns[frame.conn].room.expect("the member's room is known");
        out.push(forged_join_request(&room, real.from).to_conn(frame.conn));
        out.push(real.altered(0).to_conn(frame.conn));
        if deliver_real {
            out.push(frame.clone());
        }
        let mallory = mallory.get_or_insert_with(|| Mallory::posing_as(real.from));
        out.push(
            mallory
                .forge(&format!("{FORGED} by the relay"))
                .to_conn(frame.conn),
        );
    }
}

/// A relay, a tampering proxy in front of it (honest until told otherwise), and a room
/// of `ada` (host) and `bob`, who have seen each other join through it.
struct Setup {
    _relay: Relay,
    proxy: Proxy,
    ada: Client,
    bob: Client,
    ada_id: MemberId,
    bob_id: MemberId,
    ada_conn: usize,
    bob_conn: usize,
    link: String,
}

async fn setup() -> Setup {
    let relay = Relay::start(test_config()).await;
    let proxy = Proxy::start_tampering(relay.addr(), Honest).await;
    let (mut ada, link) = Client::create(&proxy.origin(), "ada", &[]).await;
    let mut bob = Client::join(&link, "bob");
    ada.expect_joined("bob").await;
    bob.expect_joined("ada").await;
    let conns = proxy.conns();
    Setup {
        ada_id: conns[0].me.expect("ada was welcomed"),
        bob_id: conns[1].me.expect("bob was welcomed"),
        ada_conn: 0,
        bob_conn: 1,
        link,
        _relay: relay,
        proxy,
        ada,
        bob,
    }
}

impl Setup {
    /// A third member, `cara`, whom everyone has seen join.
    async fn add_cara(&mut self) -> Client {
        let mut cara = Client::join(&self.link, "cara");
        self.ada.expect_joined("cara").await;
        self.bob.expect_joined("cara").await;
        cara.expect_joined_all(&["ada", "bob"]).await;
        cara
    }
}

/// The host ends the room: it and every one of `others` exit cleanly.
async fn end_room(host: &mut Client, others: Vec<&mut Client>) {
    host.say("/end").await;
    host.expect_clean_exit().await;
    for client in others {
        client.expect_clean_exit().await;
    }
}

/// Waits until `client` has printed one warning starting with each of `prefixes` (a
/// prefix listed twice needs two warnings), in whatever order.
async fn expect_warnings(client: &mut Client, prefixes: &[&str]) {
    let mut missing: Vec<&str> = prefixes.to_vec();
    while !missing.is_empty() {
        let what = format!("the warnings {missing:?}");
        let line = client
            .expect_line(&what, |l| missing.iter().any(|p| l.starts_with(p)))
            .await;
        let at = missing
            .iter()
            .position(|p| line.starts_with(p))
            .expect("the line matched one");
        missing.remove(at);
    }
}

/// How many lines of `client` so far start with `prefix`.
async fn count(client: &mut Client, prefix: &str) -> usize {
    client
        .all_lines()
        .await
        .iter()
        .filter(|l| l.starts_with(prefix))
        .count()
}

/// No line of `client` shows anything the relay made.
async fn nothing_forged_shown(client: &mut Client) {
    let lines = client.all_lines().await;
    assert!(
        !lines
            .iter()
            .any(|l| l.contains(FORGED) || l.contains("mallory")),
        "a forged message or member was shown: {lines:#?}"
    );
}

/// Types `line`, then `/help`, and returns every line printed from then until the
/// help text: the client's whole answer to `line` (commands answer at once, in order).
async fn answer(client: &mut Client, line: &str) -> Vec<String> {
    let from = client.all_lines().await.len();
    client.say(line).await;
    client.say("/help").await;
    client
        .expect_line("the help text", |l| l.contains("/members"))
        .await;
    client.all_lines().await.split_off(from)
}

/// `client`'s member list (`/members`): one line per member, sorted.
async fn members(client: &mut Client) -> Vec<String> {
    let mut list: Vec<String> = answer(client, "/members")
        .await
        .into_iter()
        .filter(|l| l.starts_with("-- member "))
        .collect();
    list.sort();
    list
}

/// The safety code `client` holds now (`/safety`): the last such line of its answer
/// (a commit that lands meanwhile prints a newer one, in the same form).
async fn safety_code(client: &mut Client) -> String {
    answer(client, "/safety")
        .await
        .into_iter()
        .rev()
        .find(|l| l.starts_with("-- Safety code (epoch "))
        .expect("the client answered /safety")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_join_request_is_refused_and_the_real_newcomer_still_gets_in() {
    let mut s = setup().await;
    // This test lets the newcomer in (the relay cannot keep the members from seeing
    // the real request without keeping the newcomer out; the next test keeps it out).
    s.proxy
        .set_tamper(forged_join_requests(s.ada_conn, s.bob_conn, true));
    let mut cat = Client::join(&s.link, "cat");
    for member in [&mut s.ada, &mut s.bob] {
        expect_warnings(member, &[WARN_JOIN_FORGED, WARN_JOIN_FORGED, WARN_FORGED]).await;
    }
    let cat_seen_by_ada = s.ada.expect_joined("cat").await;
    let cat_seen_by_bob = s.bob.expect_joined("cat").await;
    cat.expect_joined_all(&["ada", "bob"]).await;

    // The real cat is the one in the room: the safety words the members show for it
    // are its own, everyone lists the same three members and holds one safety code.
    assert_eq!(cat_seen_by_ada, cat_seen_by_bob);
    let cat_list = members(&mut cat).await;
    let own = cat_list
        .iter()
        .find(|l| l.contains(": cat (safety words: ") && l.contains("(you)"))
        .expect("cat lists itself");
    assert!(own.ends_with(&format!("(safety words: {cat_seen_by_ada})")));
    let ada_list = members(&mut s.ada).await;
    let bob_list = members(&mut s.bob).await;
    for (who, list) in [("ada", &ada_list), ("bob", &bob_list), ("cat", &cat_list)] {
        assert_eq!(list.len(), 3, "{who} lists three members: {list:#?}");
    }
    for nick in ["ada", "bob", "cat"] {
        for (who, list) in [("ada", &ada_list), ("bob", &bob_list), ("cat", &cat_list)] {
            assert_eq!(
                list.iter()
                    .filter(|l| l.contains(&format!(": {nick} (safety words: ")))
                    .count(),
                1,
                "{who} lists {nick} once: {list:#?}"
            );
        }
    }
    cat.say("cat is here").await;
    for client in [&mut s.ada, &mut s.bob, &mut cat] {
        client.expect("cat: cat is here").await;
    }
    let code = safety_code(&mut s.ada).await;
    assert_eq!(safety_code(&mut s.bob).await, code);
    assert_eq!(safety_code(&mut cat).await, code);
    for client in [&mut s.ada, &mut s.bob, &mut cat] {
        nothing_forged_shown(client).await;
        let lines = client.all_lines().await;
        let joined = lines
            .iter()
            .filter(|l| l.contains(" joined (safety words: "))
            .count();
        assert_eq!(
            joined, 2,
            "each client saw the two others join, once: {lines:#?}"
        );
    }
    end_room(&mut s.ada, vec![&mut s.bob, &mut cat]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newcomer_whose_request_the_relay_replaced_stays_waiting() {
    let mut s = setup().await;
    // The relay drops the real request and delivers only its forgeries.
    s.proxy
        .set_tamper(forged_join_requests(s.ada_conn, s.bob_conn, false));
    let code = safety_code(&mut s.ada).await;
    let mut cat = Client::join(&s.link, "cat");
    cat.expect("-- Waiting for a member of the room to let you in")
        .await;
    for member in [&mut s.ada, &mut s.bob] {
        expect_warnings(member, &[WARN_JOIN_FORGED, WARN_JOIN_FORGED, WARN_FORGED]).await;
    }
    // Had ada taken a request, her commit would have gone out before this message and
    // moved everyone to a new epoch.
    s.ada.say("still two").await;
    s.bob.expect("ada: still two").await;
    s.ada.expect("ada: still two").await;
    assert_eq!(safety_code(&mut s.ada).await, code, "nobody was added");
    assert_eq!(safety_code(&mut s.bob).await, code, "nobody was added");
    for (who, client) in [("ada", &mut s.ada), ("bob", &mut s.bob)] {
        assert_eq!(members(client).await.len(), 2, "{who} lists two members");
        nothing_forged_shown(client).await;
    }
    // Cat is still waiting, and has shown nothing else (but the line saying the proxy,
    // which carries WebSockets only, served no web app page, so its address is taken
    // for the relay's).
    let lines: Vec<String> = cat
        .all_lines()
        .await
        .into_iter()
        .filter(|l| !l.starts_with("-- Cannot read the web app's page at "))
        .collect();
    assert_eq!(
        lines,
        ["-- Waiting for a member of the room to let you in"],
        "cat shows only that it waits"
    );
    end_room(&mut s.ada, vec![&mut s.bob]).await;
    cat.expect_exit_ok().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_and_altered_group_messages_are_detected_and_not_shown() {
    let mut s = setup().await;
    let (ada_id, ada_conn, bob_conn) = (s.ada_id, s.ada_conn, s.bob_conn);
    let mut mallory = Mallory::posing_as(ada_id);
    // Every group message of ada's is followed, for bob, by two bit-flipped copies and
    // by a message the relay encrypted itself in ada's name; ada gets a forgery in her
    // own name after her echo.
    s.proxy
        .set_tamper(move |frame: Frame, _: &[ConnInfo], out: &mut Vec<Frame>| {
            let relayed = Relayed::of(&frame).filter(|r| r.from == ada_id && r.is_group());
            out.push(frame.clone());
            if let Some(r) = relayed {
                if frame.conn == bob_conn {
                    out.push(r.altered(0).to_conn(bob_conn));
                    out.push(r.altered(17).to_conn(bob_conn));
                    out.push(mallory.forge("FORGED in ada's name").to_conn(bob_conn));
                } else if frame.conn == ada_conn {
                    out.push(mallory.forge("FORGED to ada as ada").to_conn(ada_conn));
                }
            }
        });
    s.ada.say("the real one").await;
    s.bob.expect("ada: the real one").await;
    expect_warnings(&mut s.bob, &[WARN_FORGED, WARN_FORGED, WARN_FORGED]).await;
    s.ada.expect("ada: the real one").await;
    expect_warnings(&mut s.ada, &[WARN_FORGED]).await;
    // The conversation goes on (the refused copies changed nothing), and each real
    // message shows exactly once.
    s.bob.say("still fine").await;
    s.ada.expect("bob: still fine").await;
    s.bob.expect("bob: still fine").await;
    s.ada.say("and on").await;
    s.bob.expect("ada: and on").await;
    s.ada.expect("ada: and on").await;
    for client in [&mut s.ada, &mut s.bob] {
        assert_eq!(count(client, "ada: the real one").await, 1);
        assert_eq!(count(client, "ada: and on").await, 1);
        nothing_forged_shown(client).await;
    }
    end_room(&mut s.ada, vec![&mut s.bob]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_group_messages_are_detected_and_shown_once() {
    let mut s = setup().await;
    let (ada_id, bob_conn) = (s.ada_id, s.bob_conn);
    // Ada's profile (her nickname, "ada"), as bob got it, kept for a later replay.
    let old_profile = delivered(&s.proxy, bob_conn, ada_id)
        .into_iter()
        .rev()
        .find(Relayed::is_group)
        .expect("bob got ada's profile");
    // Every group message reaches every client twice, under two sequence numbers.
    s.proxy
        .set_tamper(|frame: Frame, _: &[ConnInfo], out: &mut Vec<Frame>| {
            let replay = Relayed::of(&frame)
                .filter(Relayed::is_group)
                .map(|r| r.to_conn(frame.conn));
            out.push(frame);
            out.extend(replay);
        });
    s.ada.say("say it once").await;
    for client in [&mut s.ada, &mut s.bob] {
        client.expect("ada: say it once").await;
        expect_warnings(client, &[WARN_REPLAY]).await;
    }

    // After a nickname change, the relay replays the old profile to undo it.
    s.proxy.set_tamper(Honest);
    s.ada.say("/nick ada2").await;
    s.bob.expect("-- ada is now ada2").await;
    s.proxy.inject(old_profile.to_conn(bob_conn));
    expect_warnings(&mut s.bob, &[WARN_REPLAY]).await;
    s.ada.say("who am I").await;
    s.bob.expect("ada2: who am I").await;
    s.ada.expect("ada2: who am I").await;
    for client in [&mut s.ada, &mut s.bob] {
        assert_eq!(count(client, "ada: say it once").await, 1);
        assert_eq!(count(client, "ada2: who am I").await, 1);
    }
    assert_eq!(count(&mut s.bob, "-- ada2 is now ada").await, 0);
    end_room(&mut s.ada, vec![&mut s.bob]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_moved_into_another_room_are_detected_and_not_shown() {
    let mut one = setup().await;
    // A second room on the same relay, through the same proxy: cat (host) and dan.
    let (mut cat, link) = Client::create(&one.proxy.origin(), "cat", &[]).await;
    let mut dan = Client::join(&link, "dan");
    cat.expect_joined("dan").await;
    dan.expect_joined("cat").await;
    let conns = one.proxy.conns();
    let cat_id = conns[2].me.expect("cat was welcomed");
    let (dan_conn, dan_id) = (3, conns[3].me.expect("dan was welcomed"));
    assert_eq!(conns[2].room, conns[3].room);
    assert_ne!(conns[0].room, conns[2].room);
    let code_before = safety_code(&mut dan).await;

    // What room one's bob got from ada (her commit adding him, his Welcome, her
    // profile) and what ada got from bob (his join request), moved into room two in
    // cat's name.
    let (ada_id, bob_id, ada_conn, bob_conn) = (one.ada_id, one.bob_id, one.ada_conn, one.bob_conn);
    let mut old = delivered(&one.proxy, bob_conn, ada_id);
    old.extend(delivered(&one.proxy, ada_conn, bob_id));
    let mut expected = Vec::new();
    for r in &old {
        expected.push(match r.envelope() {
            Envelope::Group(_) => WARN_FORGED,
            Envelope::Welcome(_) => WARN_SECOND_WELCOME,
            Envelope::KeyPackage { .. } | Envelope::Rejoin { .. } => WARN_JOIN_FORGED,
            Envelope::Direct { .. } => panic!("this test sends no direct message"),
        });
        one.proxy.inject(r.moved(cat_id, dan_id).to_conn(dan_conn));
    }
    assert!(expected.contains(&WARN_SECOND_WELCOME) && expected.contains(&WARN_JOIN_FORGED));
    expect_warnings(&mut dan, &expected).await;
    // From now on, whatever bob gets from ada is also given to dan, in cat's name.
    one.proxy
        .set_tamper(move |frame: Frame, _: &[ConnInfo], out: &mut Vec<Frame>| {
            if frame.conn == bob_conn {
                if let Some(r) = Relayed::of(&frame).filter(|r| r.from == ada_id) {
                    out.push(r.moved(cat_id, dan_id).to_conn(dan_conn));
                }
            }
            out.push(frame);
        });
    one.ada.say("for room one only").await;
    one.bob.expect("ada: for room one only").await;
    expect_warnings(&mut dan, &[WARN_FORGED]).await;
    cat.say("room two carries on").await;
    dan.expect("cat: room two carries on").await;
    let lines = dan.all_lines().await;
    assert!(
        !lines
            .iter()
            .any(|l| l.contains("room one") || l.starts_with("ada") || l.starts_with("-- ada")),
        "dan showed something from another room: {lines:#?}"
    );
    assert_eq!(count(&mut dan, "-- cat joined").await, 1);
    assert_eq!(
        safety_code(&mut dan).await,
        code_before,
        "dan's group is unchanged"
    );
    assert_eq!(
        safety_code(&mut cat).await,
        code_before,
        "cat and dan agree"
    );
    end_room(&mut cat, vec![&mut dan]).await;
    end_room(&mut one.ada, vec![&mut one.bob]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_directed_copy_of_a_room_message_is_refused() {
    let mut s = setup().await;
    let (ada_id, bob_id, bob_conn) = (s.ada_id, s.bob_id, s.bob_conn);
    // Bob gets ada's room messages only as copies addressed to him alone: the way a
    // relay would show one member something the others never see.
    s.proxy.set_tamper(
        move |frame: Frame, _: &[ConnInfo], out: &mut Vec<Frame>| match Relayed::of(&frame) {
            Some(r) if frame.conn == bob_conn && r.from == ada_id && r.to.is_none() => {
                let directed = Relayed {
                    to: Some(bob_id),
                    ..r
                };
                out.push(directed.to_conn(bob_conn));
            }
            _ => out.push(frame),
        },
    );
    s.ada.say("for everyone").await;
    s.ada.expect("ada: for everyone").await;
    expect_warnings(&mut s.bob, &[WARN_DIRECTED]).await;
    // The relay goes back to honest: the room carries on, the refused message never
    // shows.
    s.proxy.set_tamper(Honest);
    s.ada.say("after").await;
    s.bob.expect("ada: after").await;
    assert_eq!(count(&mut s.bob, "ada: for everyone").await, 0);
    // One warning for the message, and one for each read receipt of ada's client that
    // the relay redirected too.
    assert!(count(&mut s.bob, WARNING).await >= 1);
    end_room(&mut s.ada, vec![&mut s.bob]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_departure_keeps_the_room_agreed_and_replays_show_nothing_old() {
    let mut s = setup().await;
    let mut cara = s.add_cara().await;
    let (ada_conn, bob_id) = (s.ada_conn, s.bob_id);
    let cara_conn = s.proxy.conns().len() - 1;
    assert!(s.proxy.conns()[cara_conn].me.is_some());
    s.bob.say("meet at nine").await;
    for client in [&mut s.ada, &mut s.bob, &mut cara] {
        client.expect("bob: meet at nine").await;
    }
    // The relay tells cara alone that bob lost his connection. Cara, not the host,
    // removes him with a commit that reaches every member, bob included. A member who
    // is not the host may remove only a departed member: ada and bob, for whom bob is
    // still here, refuse it (cara, whom the relay misled, is cut off from them).
    s.proxy.inject(event_to(
        cara_conn,
        Event::Left {
            member: bob_id,
            reason: LeaveReason::Disconnected,
        },
    ));
    cara.expect("-- bob lost their connection and left").await;
    expect_warnings(&mut s.ada, &[WARN_FORGED]).await;
    expect_warnings(&mut s.bob, &[WARN_FORGED]).await;

    // The relay replays to ada every group message of bob's it delivered to her before.
    let old: Vec<Relayed> = delivered(&s.proxy, ada_conn, bob_id)
        .into_iter()
        .filter(Relayed::is_group)
        .collect();
    assert!(old.len() >= 2, "bob's profile and his message");
    for r in &old {
        s.proxy.inject(r.to_conn(ada_conn));
    }
    expect_warnings(&mut s.ada, &vec![WARN_REPLAY; old.len()]).await;
    s.bob.say("still here").await;
    s.ada.expect("bob: still here").await;
    assert_eq!(count(&mut s.ada, "bob: meet at nine").await, 1);
    assert_eq!(count(&mut s.ada, "-- bob joined").await, 1);
    // Ada and bob agree on the room: the same three members and the same safety code.
    let ada_list = members(&mut s.ada).await;
    assert_eq!(ada_list.len(), 3, "nobody was removed: {ada_list:#?}");
    assert_eq!(safety_code(&mut s.ada).await, safety_code(&mut s.bob).await);
    drop(cara);
    end_room(&mut s.ada, vec![&mut s.bob]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_departure_told_to_the_host_is_not_shown_as_a_kick() {
    let mut s = setup().await;
    let mut cara = s.add_cara().await;
    let bob_id = s.bob_id;
    // The relay tells the host alone that bob lost his connection; he did not.
    s.proxy.inject(event_to(
        s.ada_conn,
        Event::Left {
            member: bob_id,
            reason: LeaveReason::Disconnected,
        },
    ));
    s.ada.expect("-- bob lost their connection and left").await;
    let gone = cara
        .expect_line("bob's removal", |l| l.starts_with("-- bob "))
        .await;
    s.ada.say("just us").await;
    cara.expect("ada: just us").await;
    // The room agrees bob is out, but the host never kicked him: cara must not say the
    // host did, or must at least warn that a present member was removed.
    let warned = count(&mut cara, WARNING).await > 0;
    assert!(
        warned || gone != "-- bob was removed by the host",
        "cara was told the host kicked bob, who was present and never kicked: {:#?}",
        cara.all_lines().await
    );
    end_room(&mut s.ada, vec![&mut cara]).await;
}
