//! The web app in a real browser: headless Chromium against a relay started in-process,
//! through a recording proxy that keeps everything the relay received.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use vroom_relay::Config;
use vroom_testkit::browser::{app_config, Chrome, Direction, Page, Recorder, PHONE};
use vroom_testkit::relay::Relay;

/// The room's safety code as the page shows it: its epoch and its words.
async fn safety_code(page: &Page) -> (String, Vec<String>) {
    let shown = page
        .eval(
            "const el = document.querySelector('[data-testid=safety-words]'); \
             return el ? el.dataset.epoch + ':' + el.textContent.trim() : ''",
        )
        .await;
    let (epoch, words) = shown.split_once(':').unwrap_or_default();
    (
        epoch.to_owned(),
        words.split_whitespace().map(str::to_owned).collect(),
    )
}

/// Waits until both pages show one safety code, and returns it.
async fn same_safety_code(a: &Page, b: &Page) -> (String, Vec<String>) {
    a.wait_until("both members to show the same safety code", || async {
        let code = safety_code(a).await;
        code.1.len() == 10 && code == safety_code(b).await
    })
    .await;
    safety_code(a).await
}

/// Checks the colour strip shows the code: ten cells, each with an emoji on a colour
/// (the page's CSP must let the colours through), and a text alternative.
async fn assert_strip(page: &Page) {
    let cells = page
        .eval(
            "return [...document.querySelectorAll('[data-testid=safety-strip] .safety-cell')] \
             .map(c => getComputedStyle(c).backgroundColor + ' ' + c.textContent.trim()) \
             .join('\\n')",
        )
        .await;
    let cells: Vec<&str> = cells.lines().collect();
    assert_eq!(cells.len(), 10, "ten cells in the strip: {cells:?}");
    for cell in &cells {
        let (colour, emoji) = cell.rsplit_once(' ').expect("colour and emoji");
        assert!(
            colour.starts_with("rgb(") && !emoji.is_empty(),
            "each cell is an emoji on an opaque colour: {cells:?}"
        );
    }
    let label = page
        .eval("return document.querySelector('[data-testid=safety-strip]').getAttribute('aria-label')")
        .await;
    assert!(
        label.matches(" on ").count() == 10,
        "the strip has a text alternative naming each cell: {label}"
    );
}

/// Whether the page's "compared" mark is set.
async fn safety_checked(page: &Page) -> bool {
    page.eval("return String(document.querySelector('[data-testid=safety-checked]').checked)")
        .await
        == "true"
}

/// Opens the start page in a new browser, picks `nick` and creates a room. Returns the
/// page (in the room) and the invite link it shows.
pub(crate) async fn create_room(chrome: &Chrome, origin: &str, nick: &str) -> (Page, String) {
    let host = chrome.open(&format!("{origin}/")).await;
    host.find("#create-room").await;
    host.fill("#nick", nick).await;
    host.click("#create-room").await;
    host.wait_text("#connection", "connected").await;
    let link = host.value("#invite-link").await;
    assert!(
        link.starts_with(&format!("{origin}/r#")),
        "the invite link should be {origin}/r#<secret>, got {link:?}"
    );
    (host, link)
}

/// Opens an invite link in a new browser and sets the nickname through the prompt.
pub(crate) async fn join_room(chrome: &Chrome, link: &str, nick: &str) -> Page {
    let guest = chrome.open(link).await;
    set_nick_when_in(guest, nick).await
}

/// [`join_room`] in a browser that is a phone ([`Page::as_phone`]).
async fn join_room_on_phone(chrome: &Chrome, link: &str, nick: &str) -> Page {
    let guest = chrome.open("about:blank").await;
    guest.as_phone().await;
    guest.client.goto(link).await.expect("open link");
    set_nick_when_in(guest, nick).await
}

/// Waits until `guest` is in the room, then sets its nickname through the prompt.
async fn set_nick_when_in(guest: Page, nick: &str) -> Page {
    guest.wait_text("#connection", "connected").await;
    // The prompt starts with a friendly default name.
    guest
        .wait_until("a default nickname in the prompt", || async {
            !guest.value("#own-nick").await.trim().is_empty()
        })
        .await;
    guest.fill("#own-nick", nick).await;
    guest.click("#save-nick").await;
    // Read from the document, not the screen: on a phone the member list starts closed.
    let listed = format!(
        "return String([...document.querySelectorAll('.member .nick')] \
         .some(n => n.textContent.includes({nick:?})))"
    );
    guest
        .wait_until(&format!("{nick} in the member list"), || async {
            guest.eval(&listed).await == "true"
        })
        .await;
    guest
}

/// Opens `url` as a new page load (going through a blank page, so a link that differs
/// only after `#` is not taken as a jump within the same page).
async fn visit(page: &Page, url: &str) {
    page.client
        .goto("about:blank")
        .await
        .expect("leave the page");
    page.client.goto(url).await.expect("open link");
}

/// Sends a message from the message box.
pub(crate) async fn say(page: &Page, text: &str) {
    page.fill("#message", text).await;
    page.click("#send").await;
}

/// Each member's nickname and safety words as the page's member list shows them.
pub(crate) async fn member_list(page: &Page) -> Vec<String> {
    let listed = page
        .eval(
            "return [...document.querySelectorAll('.member')].map(li => \
             li.querySelector('.nick').textContent + ' = ' + \
             li.querySelector('.fingerprint').textContent.trim()).sort().join('\\n')",
        )
        .await;
    listed.lines().map(str::to_owned).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_browsers_chat_then_the_host_ends_the_room_and_the_relay_saw_no_plaintext() {
    let relay = Relay::start(app_config()).await;
    let recorder = Recorder::start(relay.addr()).await;
    let origin = recorder.origin();
    let chrome = Chrome::start().await;

    // Distinct strings that must never reach the relay in the clear.
    let (ada, bob) = ("Ada Qv7Zk", "Bob Xw3Pj");
    let (hello, reply) = (
        "canary-9f2c41d7 hello from Ada",
        "canary-5be80a13 hi Ada, Bob here",
    );

    let (host, link) = create_room(&chrome, &origin, ada).await;
    assert!(
        host.value("#invite-link").await == link
            && host
                .find(".qr svg")
                .await
                .is_displayed()
                .await
                .unwrap_or(false),
        "the host sees the invite link and its QR code"
    );
    let guest = join_room(&chrome, &link, bob).await;

    // Both see both members, with the same safety words for each.
    host.wait_count(".member", 2).await;
    guest.wait_count(".member", 2).await;
    host.wait_text(".member .nick", bob).await;
    guest.wait_text(".member .nick", ada).await;
    let (seen_by_host, seen_by_guest) = (member_list(&host).await, member_list(&guest).await);
    assert_eq!(seen_by_host.len(), 2, "{seen_by_host:?}");
    assert_eq!(
        seen_by_host, seen_by_guest,
        "both members must see the same safety words for each member"
    );
    assert!(
        host.texts(".member .tag.host").await.len() == 1,
        "one member is marked as the host"
    );

    // Both read one room-wide safety code, as words and as a strip.
    let (epoch, words) = same_safety_code(&host, &guest).await;
    assert_ne!(
        epoch, "0",
        "the guest's arrival moved the room to a new epoch"
    );
    assert_strip(&host).await;
    assert_strip(&guest).await;
    assert!(!safety_checked(&guest).await, "a new code starts unchecked");
    guest.click("[data-testid=safety-checked]").await;
    guest
        .wait_text("[data-testid=safety-status]", "Compared")
        .await;
    assert!(safety_checked(&guest).await);
    assert_eq!(safety_code(&host).await, (epoch, words));

    say(&host, hello).await;
    host.wait_text(".message.own .text", hello).await;
    guest.wait_text(".message:not(.own) .text", hello).await;
    guest.wait_text(".message:not(.own) .sender", ada).await;

    say(&guest, reply).await;
    guest.wait_text(".message.own .text", reply).await;
    host.wait_text(".message:not(.own) .text", reply).await;
    host.wait_text(".message:not(.own) .sender", bob).await;

    // Both see one conversation, in one order.
    for page in [&host, &guest] {
        let texts = page.texts(".message .text").await;
        assert_eq!(texts, [hello, reply], "messages in the room's one order");
    }

    // The app ran under the relay's strict CSP without breaking it once; the check can
    // see a violation (an image from another origin, which the policy forbids).
    for page in [&host, &guest] {
        assert_eq!(page.csp_violations().await, Vec::<String>::new());
    }
    guest
        .eval(
            "const i = document.createElement('img'); \
             i.src = 'https://example.invalid/x.png'; document.body.appendChild(i); return 'ok';",
        )
        .await;
    let reported = guest.csp_violations().await;
    assert!(
        reported.iter().any(|v| v.starts_with("img-src")),
        "a forbidden image was not reported: {reported:?}"
    );
    // That violation was the test's own doing.
    guest.excuse("example.invalid");

    assert_eq!(relay.rooms().await, 1);
    host.click("#terminate").await;
    host.click("#confirm-terminate").await;
    for page in [&host, &guest] {
        page.wait_text("#ended-reason", "The host ended this room")
            .await;
        page.wait_count(".message", 0).await;
        let body = page.body_text().await;
        assert!(
            !body.contains(hello) && !body.contains(reply),
            "the conversation is wiped from the page: {body}"
        );
        assert_eq!(
            page.eval("return location.hash").await,
            "",
            "the room secret is gone from the address bar"
        );
    }
    relay.wait_rooms(0).await;

    // What the relay received: frames, but none of the plaintext, names or secret.
    let recorded = recorder.recorded();
    let to_relay = recorded
        .iter()
        .filter(|(direction, _)| *direction == Direction::ToRelay)
        .count();
    assert!(
        to_relay >= 6,
        "the proxy should have seen the browsers' traffic (got {to_relay} pieces)"
    );
    let fragment = link.split_once('#').expect("link has a fragment").1;
    let secret = URL_SAFE_NO_PAD
        .decode(fragment)
        .expect("secret is base64url");
    let forbidden: [(&str, &[u8]); 6] = [
        ("a message", hello.as_bytes()),
        ("a message", reply.as_bytes()),
        ("a nickname", ada.as_bytes()),
        ("a nickname", bob.as_bytes()),
        ("the room secret (as in the link)", fragment.as_bytes()),
        ("the room secret (raw)", &secret),
    ];
    for (direction, bytes) in &recorded {
        for (what, needle) in forbidden {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "{what} reached the relay in the clear ({direction:?})"
            );
        }
    }

    host.close().await;
    guest.close().await;
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_connection_comes_back_and_catches_up() {
    // A long grace, so the relay keeps the member's place while its network is away.
    let relay = Relay::start(Config {
        grace: std::time::Duration::from_secs(60),
        ..app_config()
    })
    .await;
    let recorder = Recorder::start(relay.addr()).await;
    let chrome = Chrome::start().await;

    let (host, link) = create_room(&chrome, &recorder.origin(), "Ada").await;
    let guest = join_room(&chrome, &link, "Bob").await;
    host.wait_count(".member", 2).await;
    assert_eq!(recorder.websockets(), 2, "one socket each, host first");

    // The guest's network goes away and stays away for a while; the browser reports
    // each refused connection.
    guest.excuse("WebSocket connection to");
    recorder.refuse_websockets(true);
    recorder.cut(1);
    guest.wait_text("#connection", "Reconnecting").await;
    say(&host, "sent while Bob was away").await;
    host.wait_text(".message.own .text", "sent while Bob was away")
        .await;

    // It comes back: the guest takes back its place and gets what it missed.
    recorder.refuse_websockets(false);
    guest.wait_text("#connection", "connected").await;
    guest
        .wait_text(".message:not(.own) .text", "sent while Bob was away")
        .await;
    say(&guest, "back again").await;
    host.wait_text(".message:not(.own) .text", "back again")
        .await;
    assert_eq!(
        guest.texts(".message .text").await,
        ["sent while Bob was away", "back again"],
        "nothing is lost or shown twice"
    );
    assert_eq!(
        host.texts(".event")
            .await
            .iter()
            .filter(|e| e.contains("joined"))
            .count(),
        1,
        "the guest came back as itself, not as a newcomer"
    );

    host.close().await;
    guest.close().await;
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_the_tab_leaves_after_the_grace_and_the_room_goes_with_its_last_member() {
    let relay = Relay::start(app_config()).await;
    let origin = relay.origin();
    let chrome = Chrome::start().await;

    let (host, link) = create_room(&chrome, &origin, "Ada").await;
    let guest = join_room(&chrome, &link, "Bob").await;
    host.wait_count(".member", 2).await;

    // Navigating away fires `pagehide`, as closing the tab does. A page cannot tell
    // that from a reload, so it keeps its place for the relay's (1 s) grace period.
    guest
        .client
        .goto("about:blank")
        .await
        .expect("navigate away");
    host.wait_text(".event", "Bob lost their connection and left")
        .await;
    host.wait_count(".member", 1).await;
    assert_eq!(relay.rooms().await, 1, "the room lives on with its host");

    host.client
        .goto("about:blank")
        .await
        .expect("navigate away");
    // After the (1 s) grace the relay deletes the room.
    relay.wait_rooms(0).await;

    host.close().await;
    guest.close().await;
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_that_cannot_open_a_room_get_a_page_that_says_why() {
    let relay = Relay::start(Config {
        max_members: 1,
        ..app_config()
    })
    .await;
    let origin = relay.origin();
    let chrome = Chrome::start().await;
    let visitor = chrome.open(&format!("{origin}/r#not-a-secret")).await;

    // A damaged link.
    visitor
        .wait_text("#problem-title", "This invite link does not work")
        .await;
    visitor.wait_text("#problem-detail", "damaged").await;

    // A room that does not exist (or has ended).
    let unknown = URL_SAFE_NO_PAD.encode([7u8; 32]);
    // Typed into the address bar over the damaged one: only the part after `#`
    // changes, and the page must still read the new link.
    visitor
        .client
        .goto(&format!("{origin}/r#{unknown}"))
        .await
        .expect("open link");
    visitor
        .wait_text("#problem-title", "This room does not exist")
        .await;

    // A full room (this relay allows one member per room).
    let (host, link) = create_room(&chrome, &origin, "Ada").await;
    visit(&visitor, &link).await;
    visitor
        .wait_text("#problem-title", "This room is full")
        .await;

    // A locked room.
    let roomy = Relay::start(app_config()).await;
    let (locker, link) = create_room(&chrome, &roomy.origin(), "Cy").await;
    locker.click("#lock").await;
    locker.wait_text(".event", "The room is locked").await;
    visit(&visitor, &link).await;
    visitor
        .wait_text("#problem-title", "This room is locked")
        .await;
    visitor.wait_text("#problem-detail", "Ask the host").await;

    // The app served over plain http under a name that is not this machine's: it
    // refuses to start, for a room of one's own as for an invite.
    let port = relay.addr().port();
    let rule = "--host-resolver-rules=MAP relay.test 127.0.0.1";
    let unsafe_origin = format!("http://relay.test:{port}");
    let exposed = chrome
        .open_with(&format!("{unsafe_origin}/"), &[rule])
        .await;
    // Chromium itself warns that the origin cannot be trusted: that is the point.
    exposed.excuse("header has been ignored, because the URL's origin was untrustworthy");
    exposed
        .wait_text("#problem-title", "This page is not private")
        .await;
    exposed.wait_text("#problem-detail", "https://").await;
    let unknown = URL_SAFE_NO_PAD.encode([8u8; 32]);
    visit(&exposed, &format!("{unsafe_origin}/r#{unknown}")).await;
    exposed
        .wait_text("#problem-title", "This page is not private")
        .await;
    assert_eq!(relay.rooms().await, 1, "the exposed page made no room");

    for page in [visitor, host, locker, exposed] {
        page.close().await;
    }
    relay.stop().await;
    roomy.stop().await;
}

/// Pictures of the start page and of a room, at desktop and phone sizes. Written to
/// `VROOM_SCREENSHOTS_DIR` when set (`cargo xtask screenshots` sets it to
/// docs/screenshots), else to a temporary directory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn screenshots() {
    let relay = Relay::start(app_config()).await;
    let origin = relay.origin();
    let chrome = Chrome::start().await;
    let scratch = tempfile::tempdir().expect("temporary directory");
    let dir = std::env::var_os("VROOM_SCREENSHOTS_DIR")
        .map_or_else(|| scratch.path().to_owned(), std::path::PathBuf::from);

    let desktop = chrome.open(&format!("{origin}/")).await;
    let phone = chrome.open("about:blank").await;
    phone.as_phone().await;
    phone
        .client
        .goto(&format!("{origin}/"))
        .await
        .expect("open");
    for (size, visitor) in [("desktop", &desktop), ("phone", &phone)] {
        visitor.find("#create-room").await;
        for scheme in SCHEMES {
            in_scheme(visitor, scheme).await;
            save_png(
                &dir,
                &format!("landing-{size}-{scheme}.png"),
                &visitor.screenshot().await,
            );
        }
    }

    let (host, link) = create_room(&chrome, &origin, "Ada").await;
    let guest = join_room_on_phone(&chrome, &link, "Bob").await;
    say(
        &host,
        "Hi Bob! Nothing here is stored, and the relay can't read it.",
    )
    .await;
    guest.wait_text(".message .text", "Hi Bob").await;
    say(&guest, "Great. I checked your safety words: they match.").await;
    host.wait_text(".message .text", "they match").await;
    // The desktop from the host's side, the phone from the guest's.
    for (size, page) in [("desktop", &host), ("phone", &guest)] {
        page.find(".message").await;
        for scheme in SCHEMES {
            in_scheme(page, scheme).await;
            save_png(
                &dir,
                &format!("room-{size}-{scheme}.png"),
                &page.screenshot().await,
            );
        }
    }

    for page in [desktop, phone, host, guest] {
        page.close().await;
    }
    relay.stop().await;
}

/// On a phone the conversation comes first: the side panels start closed and take
/// little room, the connection badge and the message box stay in view, and the
/// latest message shows without scrolling; a closed panel opens on a tap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_shows_the_conversation_first() {
    let relay = Relay::start(app_config()).await;
    let chrome = Chrome::start().await;
    let (host, link) = create_room(&chrome, &relay.origin(), "Ada").await;
    let phone = join_room_on_phone(&chrome, &link, "Bob").await;
    for n in 1..=12 {
        say(
            &host,
            &format!("line {n} of a conversation that fills a phone"),
        )
        .await;
    }
    phone.wait_text(".message .text", "line 12 of").await;
    phone
        .wait_until("the latest message scrolled into view", || async {
            phone.eval(VISIBLE_LATEST).await == "true"
        })
        .await;
    let layout: serde_json::Value = serde_json::from_str(&phone.eval(LAYOUT).await).expect("JSON");
    let f = |k: &str| {
        layout[k]
            .as_f64()
            .unwrap_or_else(|| panic!("{k} in {layout}"))
    };
    let view = f("view");
    assert_eq!(view, f64::from(PHONE.1), "{layout}");
    assert!(
        f("lines") >= 0.45 * view,
        "the conversation is squeezed: {layout}"
    );
    assert!(
        f("side") <= 0.2 * view,
        "the side panels take too much: {layout}"
    );
    assert!(
        f("badge_w") > 0.0 && f("badge_top") >= 0.0,
        "badge hidden: {layout}"
    );
    assert!(f("badge_bottom") <= view, "badge off screen: {layout}");
    assert!(f("box_bottom") <= view, "message box off screen: {layout}");
    assert_eq!(layout["invite_open"], false, "{layout}");
    phone.click(".invite summary").await;
    phone
        .wait_until("the invite panel opened on a tap", || async {
            phone
                .eval("return String(document.querySelector('.invite').open)")
                .await
                == "true"
        })
        .await;
    assert!(phone
        .value("#invite-link")
        .await
        .starts_with(&relay.origin()));
    for page in [host, phone] {
        page.close().await;
    }
    relay.stop().await;
}

/// Whether the latest message is inside the conversation's visible area.
const VISIBLE_LATEST: &str = "const l = document.querySelector('.lines').getBoundingClientRect(); \
     const m = [...document.querySelectorAll('.message')].pop().getBoundingClientRect(); \
     return String(m.top >= l.top - 1 && m.bottom <= l.bottom + 1)";

/// The room's layout on screen, in CSS pixels, as JSON.
const LAYOUT: &str = "const r = s => document.querySelector(s).getBoundingClientRect(); \
     return JSON.stringify({ view: innerHeight, lines: r('.lines').height, \
       side: r('.side').height, badge_w: r('#connection').width, \
       badge_top: r('#connection').top, badge_bottom: r('#connection').bottom, \
       box_bottom: r('#message').bottom, \
       invite_open: document.querySelector('.invite').open })";

/// The system colour schemes the app follows.
const SCHEMES: [&str; 2] = ["light", "dark"];

/// Makes `page` see the system's colour scheme as `scheme`, and checks that the app
/// follows it (a dark page background in the dark scheme, a light one otherwise).
async fn in_scheme(page: &Page, scheme: &str) {
    page.cdp(
        "Emulation.setEmulatedMedia",
        serde_json::json!({
            "features": [{ "name": "prefers-color-scheme", "value": scheme }]
        }),
    )
    .await;
    // The sum of the page background's red, green and blue.
    let brightness: u32 = page
        .eval(
            "return getComputedStyle(document.body).backgroundColor \
             .match(/\\d+/g).slice(0, 3).reduce((a, b) => a + Number(b), 0).toString()",
        )
        .await
        .parse()
        .expect("a number");
    let dark = brightness < 3 * 128;
    assert_eq!(
        dark,
        scheme == "dark",
        "{scheme} scheme: background {brightness}"
    );
}

fn save_png(dir: &std::path::Path, name: &str, png: &[u8]) {
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 1000,
        "{name}: the browser returned no PNG"
    );
    std::fs::write(dir.join(name), png).expect("write screenshot");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_app_and_the_native_client_share_a_room() {
    let relay = Relay::start(app_config()).await;
    let origin = relay.origin();
    let chrome = Chrome::start().await;

    let (web, link) = create_room(&chrome, &origin, "Ada").await;
    // Alone in the room, Ada marks its code as compared; Cleo's arrival changes the
    // code and clears the mark.
    web.wait_until("the room's first safety code", || async {
        safety_code(&web).await.1.len() == 10
    })
    .await;
    let (_, alone) = safety_code(&web).await;
    web.click("[data-testid=safety-checked]").await;
    assert!(safety_checked(&web).await);
    let mut cli = vroom_testkit::cli::Client::join(&link, "Cleo");

    // Each sees the other, with the same safety words.
    let joined = cli.expect_joined("Ada").await;
    // The notice reads "… (safety words: WORDS)."; the harness strips only the ")".
    let ada_words = joined.trim_end_matches(['.', ')']);
    web.wait_text(".member .nick", "Cleo").await;
    let listed = member_list(&web).await;
    assert!(
        listed.contains(&format!("Ada = {ada_words}")),
        "the terminal and the browser agree on Ada's safety words: {listed:?} vs {ada_words}"
    );

    // The terminal's /safety and the page show one room-wide code.
    cli.say("/safety").await;
    let line = cli
        .expect_line("the safety code", |l| {
            l.starts_with("-- Safety code (epoch ")
        })
        .await;
    let (epoch, rest) = line["-- Safety code (epoch ".len()..]
        .split_once("): ")
        .unwrap_or_else(|| panic!("a safety code line: {line}"));
    let words = rest
        .split_once(';')
        .map_or(rest, |(words, _)| words)
        .split(|c: char| c == '-' || c.is_whitespace())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect::<Vec<_>>();
    assert_eq!(words.len(), 10, "ten words: {line}");
    let expected = (epoch.to_owned(), words);
    web.wait_until("the page to show the terminal's safety code", || async {
        safety_code(&web).await == expected
    })
    .await;
    assert_ne!(expected.1, alone, "Cleo's arrival changed the code");
    assert!(
        !safety_checked(&web).await,
        "a new code clears the compared mark"
    );
    assert_strip(&web).await;

    say(&web, "hello terminal").await;
    cli.expect("Ada: hello terminal").await;
    cli.say("hello browser").await;
    web.wait_text(".message:not(.own) .text", "hello browser")
        .await;
    web.wait_text(".message:not(.own) .sender", "Cleo").await;

    // The host ends the room from the browser; the terminal client is told and exits.
    web.click("#terminate").await;
    web.click("#confirm-terminate").await;
    web.wait_text("#ended-reason", "The host ended this room")
        .await;
    cli.expect_exit_ok().await;
    relay.wait_rooms(0).await;

    web.close().await;
    relay.stop().await;
}
