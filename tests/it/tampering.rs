//! A malicious relay in the middle: a proxy between native clients and the real relay
//! that substitutes member announcements (keys), injects forged and altered frames,
//! replays, reorders, and moves frames from one room into another, numbering what it
//! delivers as a relay would. Clients must say so (`!! WARNING: ...`) and must never
//! show anything forged, replayed or moved as a message.

use std::time::{SystemTime, UNIX_EPOCH};

use vroom_shared::crypto::envelope::{Envelope, Payload};
use vroom_shared::crypto::{OsRng, RoomSecret};
use vroom_shared::invite::Invite;
use vroom_shared::session::{Output, Session};
use vroom_shared::wire::{
    ClientFrame, Event, MemberId, ResumeToken, ResumeTokenDebug, RoomLimits, ServerFrame,
};
use vroom_testkit::cli::Client;
use vroom_testkit::proxy::{ConnInfo, Dir, Frame, Proxy};
use vroom_testkit::relay::{test_config, Relay};

const WARN_ANNOUNCE: &str = "!! WARNING: A member announcement failed authentication";
const WARN_FORGED: &str = "!! WARNING: A message failed authentication";
const WARN_REPLAY: &str = "!! WARNING: A message was delivered twice (a replay)";
const WARN_OLD_ANNOUNCE: &str = "!! WARNING: An old member announcement was replayed";
const WARN_REORDERED: &str = "!! WARNING: A member's messages arrived out of order";

/// What kind of inner payload a relayed message carries (the relay-in-the-middle can
/// tell, as a real relay could from sizes and directions).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Announce,
    SenderKey,
    Message,
}

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

    fn kind(&self) -> Kind {
        match Payload::decode(&self.payload)
            .expect("clients send well-formed payloads")
            .envelope
        {
            Envelope::Announce(_) => Kind::Announce,
            Envelope::SenderKey(_) => Kind::SenderKey,
            Envelope::Message(_) => Kind::Message,
        }
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

    /// The same message with its last byte flipped (inside the signature or the sealed
    /// data, depending on the envelope).
    fn altered(&self) -> Relayed {
        let mut altered = self.clone();
        *altered.payload.last_mut().expect("payloads are not empty") ^= 0x01;
        altered
    }
}

/// The attacker: a full client of its own, with its own keys but without the room
/// secret, pretending to be `member`.
struct Mallory {
    session: Session,
    member: MemberId,
}

impl Mallory {
    /// Mallory posing as `member`, and the announcement it makes for it.
    fn posing_as(member: MemberId) -> (Mallory, Relayed) {
        let invite = Invite::new("http://mallory.invalid", RoomSecret::generate(&mut OsRng));
        let (mut session, _) = Session::join(&invite, "mallory");
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
        let outputs = session.handle(&welcome);
        let mallory = Mallory { session, member };
        let hello = mallory.relayed(outputs);
        (mallory, hello)
    }

    /// A chat message `text` signed and sealed by Mallory, claiming to be its member.
    fn forge(&mut self, text: &str) -> Relayed {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let outputs = self
            .session
            .send_text(text, now)
            .expect("mallory can write");
        self.relayed(outputs)
    }

    fn relayed(&self, outputs: Vec<Output>) -> Relayed {
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
            .expect("the session wrote a payload")
    }
}

/// A relay, a tampering proxy in front of it (honest until told otherwise), and a room
/// of `ada` (host) and `bob` that have verified each other through it.
struct Setup {
    _relay: Relay,
    proxy: Proxy,
    ada: Client,
    bob: Client,
    ada_id: MemberId,
    ada_conn: usize,
    bob_conn: usize,
}

async fn setup() -> Setup {
    let relay = Relay::start(test_config()).await;
    let proxy = Proxy::start_tampering(relay.addr(), vroom_testkit::proxy::Honest).await;
    let (mut ada, link) = Client::create(&proxy.origin(), "ada", &[]).await;
    let mut bob = Client::join(&link, "bob");
    ada.expect_joined("bob").await;
    bob.expect_joined("ada").await;
    let conns = proxy.conns();
    Setup {
        ada_id: conns[0].me.expect("ada was welcomed"),
        ada_conn: 0,
        bob_conn: 1,
        _relay: relay,
        proxy,
        ada,
        bob,
    }
}

/// Counts the lines of `client` that start with `prefix`.
async fn count(client: &mut Client, prefix: &str) -> usize {
    client
        .all_lines()
        .await
        .iter()
        .filter(|l| l.starts_with(prefix))
        .count()
}

/// No line of `client` shows anything made by the attacker.
async fn nothing_forged_shown(client: &mut Client) {
    let lines = client.all_lines().await;
    assert!(
        !lines
            .iter()
            .any(|l| l.contains("FORGED") || l.contains("mallory")),
        "a forged message or member was shown: {lines:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn substituted_member_keys_are_detected_and_the_impostor_never_speaks() {
    let relay = Relay::start(test_config()).await;
    let proxy = Proxy::start_tampering(relay.addr(), vroom_testkit::proxy::Honest).await;
    let (mut ada, link) = Client::create(&proxy.origin(), "ada", &[]).await;
    let ada_conn = 0;
    let ada_id = proxy.conns()[ada_conn].me.expect("ada was welcomed");
    // When a newcomer announces itself to ada, the relay swaps in its own keys (sealed
    // as well as it can without the room secret), then a bit-flipped copy of the real
    // announcement, then a message signed with its keys in the newcomer's name.
    proxy.set_tamper(move |frame: Frame, _: &[ConnInfo], out: &mut Vec<Frame>| {
        match Relayed::of(&frame) {
            Some(r)
                if frame.conn == ada_conn
                    && r.from != ada_id
                    && r.to.is_none()
                    && r.kind() == Kind::Announce =>
            {
                let (mut mallory, hello) = Mallory::posing_as(r.from);
                out.push(hello.to_conn(ada_conn));
                out.push(r.altered().to_conn(ada_conn));
                out.push(mallory.forge("FORGED by the relay").to_conn(ada_conn));
            }
            _ => out.push(frame),
        }
    });
    let mut bob = Client::join(&link, "bob");
    ada.expect_line("a warning", |l| l.starts_with(WARN_ANNOUNCE))
        .await;
    ada.expect_line("a second warning", |l| l.starts_with(WARN_ANNOUNCE))
        .await;
    // Bob speaks; ada's own later message is ordered after it, so once ada sees hers,
    // she has dealt with bob's.
    bob.say("hi from bob").await;
    bob.expect("bob: hi from bob").await;
    ada.say("anyone there?").await;
    ada.expect("ada: anyone there?").await;
    ada.say("/members").await;
    ada.expect_line("the member list", |l| l.starts_with("-- member "))
        .await;
    let lines = ada.all_lines().await;
    assert!(
        !lines
            .iter()
            .any(|l| l.starts_with("bob") || l.starts_with("-- bob") || l.contains(": bob (")),
        "ada must not accept bob's substituted keys nor show anything in bob's name: {lines:#?}"
    );
    nothing_forged_shown(&mut ada).await;
    ada.say("/end").await;
    ada.expect_clean_exit().await;
    bob.expect_clean_exit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_and_altered_messages_are_detected_and_not_shown() {
    let mut s = setup().await;
    let (ada_id, ada_conn, bob_conn) = (s.ada_id, s.ada_conn, s.bob_conn);
    let (mut mallory, _) = Mallory::posing_as(ada_id);
    // Every chat message of ada's is followed, for bob, by a bit-flipped copy and by a
    // message the relay signed itself in ada's name; ada gets a forgery in her own
    // name after her echo.
    s.proxy
        .set_tamper(move |frame: Frame, _: &[ConnInfo], out: &mut Vec<Frame>| {
            let relayed =
                Relayed::of(&frame).filter(|r| r.from == ada_id && r.kind() == Kind::Message);
            out.push(frame.clone());
            if let Some(r) = relayed {
                if frame.conn == bob_conn {
                    out.push(r.altered().to_conn(bob_conn));
                    out.push(mallory.forge("FORGED in ada's name").to_conn(bob_conn));
                } else if frame.conn == ada_conn {
                    out.push(mallory.forge("FORGED to ada as ada").to_conn(ada_conn));
                }
            }
        });
    s.ada.say("the real one").await;
    s.bob.expect("ada: the real one").await;
    s.bob
        .expect_line("a warning", |l| l.starts_with(WARN_FORGED))
        .await;
    s.bob
        .expect_line("a second warning", |l| l.starts_with(WARN_FORGED))
        .await;
    s.ada.expect("ada: the real one").await;
    s.ada
        .expect_line("a warning", |l| l.starts_with(WARN_FORGED))
        .await;
    // The conversation goes on, and each real message shows exactly once.
    s.bob.say("still fine").await;
    s.ada.expect("bob: still fine").await;
    s.bob.expect("bob: still fine").await;
    for client in [&mut s.ada, &mut s.bob] {
        assert_eq!(count(client, "ada: the real one").await, 1);
        nothing_forged_shown(client).await;
    }
    s.ada.say("/end").await;
    s.ada.expect_clean_exit().await;
    s.bob.expect_clean_exit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_messages_and_announcements_are_detected() {
    let mut s = setup().await;
    let (ada_id, bob_conn) = (s.ada_id, s.bob_conn);
    // Ada's announcement to bob, as the relay saw it pass, kept for a later replay.
    let old_announcement = s
        .proxy
        .recorded()
        .iter()
        .filter(|f| f.conn == bob_conn)
        .filter_map(Relayed::of)
        .find(|r| r.from == ada_id && r.kind() == Kind::Announce)
        .expect("bob got ada's announcement");
    // Every chat message reaches every client twice, under two sequence numbers.
    s.proxy
        .set_tamper(|frame: Frame, _: &[ConnInfo], out: &mut Vec<Frame>| {
            let replay = Relayed::of(&frame)
                .filter(|r| r.kind() == Kind::Message)
                .map(|r| r.to_conn(frame.conn));
            out.push(frame);
            out.extend(replay);
        });
    s.ada.say("say it once").await;
    for client in [&mut s.ada, &mut s.bob] {
        client.expect("ada: say it once").await;
        client
            .expect_line("a replay warning", |l| l.starts_with(WARN_REPLAY))
            .await;
    }

    // After a nickname change, the relay replays the old announcement to undo it.
    s.ada.say("/nick ada2").await;
    s.bob.expect("-- ada is now ada2").await;
    s.proxy.inject(old_announcement.to_conn(bob_conn));
    s.bob
        .expect_line("an old-announcement warning", |l| {
            l.starts_with(WARN_OLD_ANNOUNCE)
        })
        .await;
    s.ada.say("who am I").await;
    s.bob.expect("ada2: who am I").await;
    s.ada.expect("ada2: who am I").await;
    for client in [&mut s.ada, &mut s.bob] {
        assert_eq!(count(client, "ada: say it once").await, 1);
        assert_eq!(count(client, "ada2: who am I").await, 1);
    }
    assert_eq!(count(&mut s.bob, "-- ada2 is now ada").await, 0);
    s.ada.say("/end").await;
    s.ada.expect_clean_exit().await;
    s.bob.expect_clean_exit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reordered_messages_are_detected() {
    let mut s = setup().await;
    let (ada_id, bob_conn) = (s.ada_id, s.bob_conn);
    // Bob gets ada's first message after her second (numbered in the order delivered).
    let mut held: Option<Frame> = None;
    s.proxy
        .set_tamper(move |frame: Frame, _: &[ConnInfo], out: &mut Vec<Frame>| {
            let ada_message = frame.conn == bob_conn
                && Relayed::of(&frame)
                    .is_some_and(|r| r.from == ada_id && r.kind() == Kind::Message);
            if !ada_message {
                out.push(frame);
            } else if let Some(first) = held.take() {
                out.push(frame);
                out.push(first);
            } else {
                held = Some(frame);
            }
        });
    s.ada.say("first").await;
    s.ada.say("second").await;
    s.ada.expect("ada: first").await;
    s.ada.expect("ada: second").await;
    // Both are authentic, so both show, in the order delivered; the late one with a
    // warning in front of it.
    s.bob.expect("ada: second").await;
    s.bob
        .expect_line("a reordering warning", |l| l.starts_with(WARN_REORDERED))
        .await;
    s.bob.expect("ada: first").await;
    s.bob.say("sync").await;
    s.bob.expect("bob: sync").await;
    for text in ["ada: first", "ada: second"] {
        assert_eq!(count(&mut s.bob, text).await, 1, "{text} not shown once");
    }
    assert_eq!(count(&mut s.bob, "!! ").await, 1);
    nothing_forged_shown(&mut s.bob).await;
    s.ada.say("/end").await;
    s.ada.expect_clean_exit().await;
    s.bob.expect_clean_exit().await;
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

    // Whatever room one's bob receives from ada is also given to dan, in cat's name.
    let (ada_id, bob_conn) = (one.ada_id, one.bob_conn);
    let moved = move |r: &Relayed| Relayed {
        from: cat_id,
        to: r.to.map(|_| dan_id),
        payload: r.payload.clone(),
    };
    for old in one
        .proxy
        .recorded()
        .iter()
        .filter(|f| f.conn == bob_conn)
        .filter_map(Relayed::of)
        .filter(|r| r.from == ada_id)
    {
        // Ada's announcement and her sender key for bob, moved over.
        one.proxy.inject(moved(&old).to_conn(dan_conn));
    }
    one.proxy
        .set_tamper(move |frame: Frame, _: &[ConnInfo], out: &mut Vec<Frame>| {
            if frame.conn == bob_conn {
                if let Some(r) = Relayed::of(&frame).filter(|r| r.from == ada_id) {
                    out.push(moved(&r).to_conn(dan_conn));
                }
            }
            out.push(frame);
        });
    dan.expect_line("a warning", |l| l.starts_with(WARN_ANNOUNCE))
        .await;
    dan.expect_line("a warning", |l| l.starts_with(WARN_FORGED))
        .await;
    one.ada.say("for room one only").await;
    one.bob.expect("ada: for room one only").await;
    dan.expect_line("a warning", |l| l.starts_with(WARN_FORGED))
        .await;
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
    cat.say("/end").await;
    one.ada.say("/end").await;
    for client in [&mut cat, &mut dan, &mut one.ada, &mut one.bob] {
        client.expect_clean_exit().await;
    }
    let _ = one.ada_conn;
}
