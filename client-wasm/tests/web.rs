//! The web app's glue, run inside headless Chromium by wasm-bindgen-test: reading the
//! page address and pasted links and refusing blank names through the room's encoded
//! commands, as the interface does; and the shared session's cryptography running in
//! WebAssembly (randomness from the browser, keys, sealing and opening) through a
//! small in-test relay that speaks the real wire frames.

// These tests drive the interface with the room's crate linked in, so they need no
// built web-dist: `cargo xtask test` runs them with `--features linked`.
#[cfg(not(feature = "linked"))]
compile_error!(
    "the web app's tests need the room linked in: cargo test -p vroom-web --features linked"
);

use std::collections::BTreeMap;

use vroom_shared::invite::{Invite, InviteError};
use vroom_shared::session::{Output, Session, SessionEvent};
use vroom_shared::wire::{
    ClientFrame, Event, MemberId, ResumeToken, ResumeTokenDebug, RoomLimits, ServerFrame,
};
use vroom_web::state::{Client, LinkCheck, NickError, Screen};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

const SECRET: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";

/// The origin of the page the test runs in, as the app reads it.
fn page_origin() -> String {
    web_sys::window()
        .expect("a window")
        .location()
        .origin()
        .expect("an origin")
}

/// A client on the start page of the page the test runs in; its room is reached only
/// through encoded commands, as the app's interface reaches it.
fn start_page() -> std::rc::Rc<Client> {
    Client::new(&page_origin(), Screen::Landing)
}

#[wasm_bindgen_test]
fn the_start_page_is_any_address_but_the_invite_page() {
    let origin = page_origin();
    let client = start_page();
    for path in ["/", "", "/index.html", "/rooms", "/r/x"] {
        assert!(
            matches!(client.check_address(&origin, path, ""), LinkCheck::Landing),
            "{path:?} is the start page"
        );
    }
}

#[wasm_bindgen_test]
fn an_invite_address_yields_the_room_on_this_relay() {
    let origin = page_origin();
    let client = start_page();
    for path in ["/r", "/r/"] {
        let LinkCheck::Here(link) = client.check_address(&origin, path, &format!("#{SECRET}"))
        else {
            panic!("{path}#… is an invite");
        };
        assert_eq!(link, format!("{origin}/r#{SECRET}"));
        let invite = Invite::parse(&link).expect("the room hands back a link that parses");
        assert_eq!(invite.origin(), origin);
        assert!(invite.ws_url().ends_with("/ws"));
    }
}

#[wasm_bindgen_test]
fn a_damaged_invite_address_says_what_is_wrong() {
    let origin = page_origin();
    let client = start_page();
    let error = |hash: &str| match client.check_address(&origin, "/r", hash) {
        LinkCheck::Invalid(why) => why,
        _ => panic!("{hash:?} must be refused"),
    };
    assert_eq!(error(""), InviteError::NoSecret.to_string());
    assert_eq!(error("#"), InviteError::NoSecret.to_string());
    assert_eq!(
        error("#AAECAwQF"),
        InviteError::BadSecret.to_string(),
        "cut short"
    );
    assert_eq!(error("#not base64!"), InviteError::BadSecret.to_string());
}

#[wasm_bindgen_test]
fn a_pasted_link_joins_here_or_opens_its_own_relay() {
    let origin = page_origin();
    let client = start_page();
    match client.check_pasted(&origin, &format!("  {origin}/r#{SECRET} ")) {
        LinkCheck::Here(link) => assert_eq!(link, format!("{origin}/r#{SECRET}")),
        _ => panic!("a link to this relay joins from this page"),
    }
    match client.check_pasted(&origin, &format!("https://elsewhere.example/r#{SECRET}")) {
        LinkCheck::Elsewhere(link) => {
            assert_eq!(link, format!("https://elsewhere.example/r#{SECRET}"))
        }
        _ => panic!("a link to another relay is opened there"),
    }
    match client.check_pasted(&origin, "hello") {
        LinkCheck::Invalid(why) => assert_eq!(why, InviteError::NotALink.to_string()),
        _ => panic!("text that is not a link is refused"),
    }
}

#[wasm_bindgen_test]
fn a_blank_name_is_refused_and_the_start_page_stays() {
    use leptos::prelude::GetUntracked;
    let origin = page_origin();
    let client = start_page();
    assert_eq!(client.check_nick("Ada"), Ok(()));
    for blank in ["", "   ", "\u{200b}\u{200d}"] {
        assert_eq!(client.check_nick(blank), Err(NickError::Blank), "{blank:?}");
        assert_eq!(client.create(blank), Err(NickError::Blank), "{blank:?}");
        assert_eq!(
            client.join(&format!("{origin}/r#{SECRET}"), blank),
            Err(NickError::Blank.to_string()),
            "{blank:?}"
        );
    }
    assert!(
        client.join("hello", "Ada").is_err(),
        "a text that is not a link is not joined"
    );
    assert_eq!(client.ui.screen.get_untracked(), Screen::Landing);
}

#[wasm_bindgen_test]
fn default_nicknames_are_two_friendly_words() {
    for _ in 0..20 {
        let nick = vroom_web::nick::friendly();
        let words: Vec<&str> = nick.split(' ').collect();
        assert_eq!(words.len(), 2, "{nick}");
        assert!(words
            .iter()
            .all(|w| w.chars().next().unwrap().is_uppercase()));
    }
}

/// A relay in miniature, enough for create, join and broadcast: it decodes client
/// frames, answers with the real server frames, and numbers events in one order.
struct MiniRelay {
    /// Members by id, with what the relay has queued for each.
    inboxes: BTreeMap<u64, Vec<Vec<u8>>>,
    /// The last sequence number stamped.
    seq: u64,
    /// Every payload the relay saw, to check no plaintext was among them.
    seen: Vec<Vec<u8>>,
}

impl MiniRelay {
    fn new() -> Self {
        MiniRelay {
            inboxes: BTreeMap::new(),
            seq: 0,
            seen: Vec::new(),
        }
    }

    /// Handles one frame from member `from`.
    fn receive(&mut self, from: u64, frame: &[u8]) {
        self.seen.push(frame.to_vec());
        match ClientFrame::decode(frame).expect("a valid client frame") {
            ClientFrame::Create { .. } | ClientFrame::Join { .. } => {
                let before = self.seq;
                self.inboxes.entry(from).or_default();
                let members: Vec<MemberId> = self.inboxes.keys().map(|&m| MemberId(m)).collect();
                let welcome = ServerFrame::Welcome {
                    you: MemberId(from),
                    resume: ResumeTokenDebug(ResumeToken([from as u8; 16])),
                    host: MemberId(1),
                    members,
                    seq: before,
                    locked: false,
                    limits: RoomLimits {
                        max_members: 10,
                        idle_timeout_secs: 600,
                        max_lifetime_secs: 3600,
                        grace_secs: 1,
                        max_payload: 65536,
                        max_file: 1 << 20,
                    },
                }
                .encode();
                self.inboxes.get_mut(&from).unwrap().push(welcome);
                self.broadcast(
                    |_| true,
                    Event::Joined {
                        member: MemberId(from),
                    },
                );
            }
            ClientFrame::Send { to, payload } => {
                let payload = payload.to_vec();
                let event = Event::Message {
                    from: MemberId(from),
                    to,
                    payload: &payload,
                };
                self.broadcast(|m| to.is_none_or(|to| to.0 == m), event);
            }
            _ => panic!("the test sends no other frame"),
        }
    }

    fn broadcast(&mut self, to: impl Fn(u64) -> bool, event: Event<'_>) {
        self.seq += 1;
        let frame = ServerFrame::Event {
            seq: self.seq,
            event,
        }
        .encode();
        for (member, inbox) in &mut self.inboxes {
            if to(*member) {
                inbox.push(frame.clone());
            }
        }
    }

    /// Delivers everything queued until nobody has anything left to say; returns each
    /// member's events.
    fn run(&mut self, sessions: &mut [(u64, &mut Session)]) -> BTreeMap<u64, Vec<SessionEvent>> {
        let mut events: BTreeMap<u64, Vec<SessionEvent>> = BTreeMap::new();
        loop {
            let mut quiet = true;
            for (id, session) in sessions.iter_mut() {
                let inbox = std::mem::take(self.inboxes.entry(*id).or_default());
                for frame in inbox {
                    quiet = false;
                    for output in session.handle(&frame) {
                        match output {
                            Output::Send(bytes) => self.receive(*id, &bytes),
                            Output::Event(event) => events.entry(*id).or_default().push(event),
                        }
                    }
                }
            }
            if quiet {
                return events;
            }
        }
    }
}

#[wasm_bindgen_test]
fn two_sessions_in_wasm_exchange_messages_the_relay_cannot_read() {
    let mut relay = MiniRelay::new();
    let (mut host, first) = Session::create("Ada Qv7Zk", Default::default());
    relay.receive(1, &first);
    relay.run(&mut [(1, &mut host)]);
    assert!(host.is_ready() && host.is_host());

    let link = host
        .invite_link(&page_origin())
        .expect("a live room has an invite link");
    let invite = Invite::parse(&link).expect("the link parses back");
    assert_eq!(invite.secret().room_id(), host.room_id());
    let (mut guest, first) = Session::join(&invite, "Bob Xw3Pj");
    relay.receive(2, &first);
    relay.run(&mut [(1, &mut host), (2, &mut guest)]);
    assert!(guest.is_ready() && !guest.is_host());
    assert_eq!(host.members().len(), 2);
    assert_eq!(guest.members().len(), 2);
    let fingerprints = |s: &Session| -> Vec<(String, String)> {
        let mut all: Vec<_> = s
            .members()
            .into_iter()
            .map(|m| (m.nick, m.fingerprint))
            .collect();
        all.sort();
        all
    };
    assert_eq!(fingerprints(&host), fingerprints(&guest));
    let (code, same) = (host.safety_code(), guest.safety_code());
    assert!(code.is_some(), "a member of the group has a safety code");
    assert_eq!(
        code, same,
        "both members read the same room-wide safety code"
    );

    let secret_text = "canary-31d0 meet at the usual place";
    for output in host.send_text(secret_text, 1_700_000_000_000).unwrap() {
        let Output::Send(bytes) = output else {
            continue;
        };
        relay.receive(1, &bytes);
    }
    let events = relay.run(&mut [(1, &mut host), (2, &mut guest)]);
    let texts = |id: u64| -> Vec<(String, String, bool)> {
        events[&id]
            .iter()
            .filter_map(|e| match e {
                SessionEvent::Message {
                    nick, text, own, ..
                } => Some((nick.clone(), text.clone(), *own)),
                _ => None,
            })
            .collect()
    };
    assert_eq!(texts(1), [("Ada Qv7Zk".into(), secret_text.into(), true)]);
    assert_eq!(texts(2), [("Ada Qv7Zk".into(), secret_text.into(), false)]);

    for frame in &relay.seen {
        for needle in [secret_text.as_bytes(), b"Ada Qv7Zk", b"Bob Xw3Pj"] {
            assert!(
                !frame.windows(needle.len()).any(|w| w == needle),
                "plaintext reached the relay"
            );
        }
    }
}

/// Waits for the page to draw (two animation frames: Leptos renders, then the list
/// scrolls).
async fn next_frames() {
    for _ in 0..2 {
        let frame = js_sys::Promise::new(&mut |resolve, _| {
            let _ = web_sys::window()
                .expect("a window")
                .request_animation_frame(&resolve);
        });
        wasm_bindgen_futures::JsFuture::from(frame)
            .await
            .expect("a frame");
    }
}

#[wasm_bindgen_test]
async fn ten_thousand_messages_keep_the_page_small_and_older_ones_load_on_scrolling_up() {
    use leptos::prelude::Set;
    use vroom_web::state::{Line, LineKind};
    const MESSAGES: u64 = 10_000;
    let client = Client::new(&page_origin(), Screen::Room);
    let lines = (1..=MESSAGES)
        .map(|id| Line {
            id,
            rev: 0,
            kind: LineKind::Message {
                mid: vroom_web::state::MessageId([0; 16]),
                action: false,
                edited: false,
                deleted: false,
                reply: None,
                private: None,
                reactions: Vec::new(),
                from: MemberId(1),
                badge: "amber-river".to_owned(),
                host: false,
                nick: "Ada".to_owned(),
                text: format!("message number {id}"),
                sent_at_ms: 1_700_000_000_000,
                own: false,
            },
        })
        .collect::<Vec<_>>();
    client.ui.lines.set(lines);
    vroom_web::mount_screens(client.clone());
    next_frames().await;

    let document = web_sys::window()
        .expect("a window")
        .document()
        .expect("a document");
    let rendered = || {
        document
            .query_selector_all(".lines > li.line")
            .expect("a selector")
            .length()
    };
    let list = document
        .query_selector(".lines")
        .expect("a selector")
        .expect("the conversation is on the page");
    // The test page has no stylesheet: make the list scroll as the app's CSS does.
    list.set_attribute("style", "display: block; height: 300px; overflow-y: auto")
        .expect("style the list");
    next_frames().await;
    let texts = || {
        let all = document
            .query_selector_all(".lines .text")
            .expect("a selector");
        (0..all.length())
            .filter_map(|i| all.item(i)?.text_content())
            .collect::<Vec<_>>()
    };
    assert!(
        (1..=210).contains(&rendered()),
        "a window of the latest lines is on the page, not all {MESSAGES}: {}",
        rendered()
    );
    assert_eq!(
        texts().last().map(String::as_str),
        Some("message number 10000"),
        "the latest message is shown"
    );

    // Scrolling up loads older messages, a page at a time, and the page stays small.
    let mut oldest_seen = MESSAGES;
    for _ in 0..40 {
        list.set_scroll_top(0);
        list.dispatch_event(&web_sys::Event::new("scroll").expect("an event"))
            .expect("dispatch");
        next_frames().await;
        let oldest = texts()
            .first()
            .and_then(|t| t.rsplit(' ').next()?.parse::<u64>().ok())
            .expect("a numbered message");
        assert!(
            oldest <= oldest_seen,
            "scrolling up never shows newer lines first"
        );
        oldest_seen = oldest;
        assert!(rendered() <= 210, "still a window: {}", rendered());
    }
    assert!(
        oldest_seen < MESSAGES - 2_000,
        "forty scrolls to the top reached messages far back: {oldest_seen}"
    );
}
