//! The web app hosted apart from the relay: a static host on one port serves the built
//! app, set to talk to a relay on another port that serves no app at all; two browsers
//! chat through it, and their invite link points at the static host. A page on an
//! origin the relay was not told about (`--app-origin`) is refused at the WebSocket
//! upgrade. The native client joins by the static host's links and makes them. A page
//! that names a relay over plain http on another machine starts nothing, not even from
//! an invite link. The app is two modules: the interface's holds no group layer, what
//! the start page asks before the room module arrives is done once it does, and a page
//! whose room module cannot be fetched says so.

use vroom_relay::Config;
use vroom_testkit::browser::{app_config, web_dist, Chrome};
use vroom_testkit::cli::Client;
use vroom_testkit::relay::Relay;
use vroom_testkit::static_host::StaticHost;

use crate::browser::{create_room, join_room, say};

/// A relay that serves no web app and admits pages from `origins` besides its own.
async fn relay_for(origins: &[&str]) -> Relay {
    Relay::start(Config {
        web_dir: None,
        app_origins: origins
            .iter()
            .map(|o| o.parse().expect("an origin"))
            .collect(),
        ..app_config()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_browsers_chat_through_a_relay_on_another_origin() {
    let site = StaticHost::start(&web_dist()).await;
    let relay = relay_for(&[&site.origin()]).await;
    site.use_relay(&relay.origin());
    let served = relay.get("/", "").await;
    assert_eq!(served.status, 404, "this relay serves no app");

    let chrome = Chrome::start().await;
    // The invite link names the static host, where the app is.
    let (ada, link) = create_room(&chrome, &site.origin(), "Ada").await;
    let bob = join_room(&chrome, &link, "Bob").await;
    ada.wait_text(".member .nick", "Bob").await;
    say(&ada, "hello from the static host").await;
    bob.wait_text(".message:not(.own) .text", "hello from the static host")
        .await;
    say(&bob, "and back through the relay").await;
    ada.wait_text(".message:not(.own) .text", "and back through the relay")
        .await;

    for page in [&ada, &bob] {
        let violations = page.csp_violations().await;
        assert!(violations.is_empty(), "CSP violations: {violations:?}");
    }
    ada.close().await;
    bob.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_from_an_origin_the_relay_does_not_allow_is_refused() {
    let allowed = StaticHost::start(&web_dist()).await;
    let stranger = StaticHost::start(&web_dist()).await;
    let relay = relay_for(&[&allowed.origin()]).await;
    stranger.use_relay(&relay.origin());

    let chrome = Chrome::start().await;
    let page = chrome.open(&format!("{}/", stranger.origin())).await;
    page.find("#create-room").await;
    page.fill("#nick", "Eve").await;
    page.click("#create-room").await;
    // Chromium says why the socket failed on the console: the relay answered 403.
    page.wait_until("the relay to refuse the page's WebSocket", || async {
        page.errors().await.iter().any(|e| {
            e.contains("WebSocket") && e.contains("403") && e.contains(&relay.origin()[7..])
        })
    })
    .await;
    assert_ne!(
        page.texts("#connection").await.concat(),
        "connected",
        "the refused page must not be in a room"
    );
    page.close_unchecked().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_native_client_and_the_static_host_app_share_rooms_by_its_links() {
    let site = StaticHost::start(&web_dist()).await;
    let relay = relay_for(&[&site.origin()]).await;
    site.use_relay(&relay.origin());
    let chrome = Chrome::start().await;

    // A link the app on the static host made: the terminal finds the relay by it.
    let (ada, link) = create_room(&chrome, &site.origin(), "Ada").await;
    let mut cleo = Client::join(&link, "Cleo");
    cleo.expect(&format!(
        "-- Relay: {} (named by the app at {})",
        relay.origin(),
        site.origin()
    ))
    .await;
    cleo.expect_joined("Ada").await;
    ada.wait_text(".member .nick", "Cleo").await;
    say(&ada, "from the static host's page").await;
    cleo.expect("Ada: from the static host's page").await;

    // A link the terminal made for the app: the browser opens it there.
    let mut dan = Client::spawn(
        "dan",
        &[
            "create",
            "--server",
            &relay.origin(),
            "--app",
            &site.origin(),
            "--nick",
            "dan",
        ],
    );
    let link = dan
        .expect_line("the invite link", |l| l.contains("/r#"))
        .await;
    assert!(link.starts_with(&format!("{}/r#", site.origin())), "{link}");
    let eve = join_room(&chrome, &link, "Eve").await;
    // The page joins under a friendly name, then takes the one typed.
    dan.expect_line("Eve's nickname", |l| l.ends_with(" is now Eve"))
        .await;
    dan.say("from the terminal").await;
    eve.wait_text(".message:not(.own) .text", "from the terminal")
        .await;
    for page in [&ada, &eve] {
        let violations = page.csp_violations().await;
        assert!(violations.is_empty(), "CSP violations: {violations:?}");
    }
    ada.close().await;
    eve.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_that_names_an_unsafe_relay_starts_no_room_even_from_an_invite() {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;

    let site = StaticHost::start(&web_dist()).await;
    let relay = relay_for(&[&site.origin()]).await;
    // The relay reached over plain http under a name that is not this machine's: a page
    // on a safe origin must not send a room through it.
    let port = relay
        .origin()
        .rsplit(':')
        .next()
        .expect("a port")
        .to_owned();
    site.use_relay(&format!("http://relay.test:{port}"));
    let rule = "--host-resolver-rules=MAP relay.test 127.0.0.1";
    let chrome = Chrome::start().await;

    let start = chrome
        .open_with(&format!("{}/", site.origin()), &[rule])
        .await;
    start
        .wait_text("#problem-title", "This page names an unsafe relay")
        .await;
    start.close().await;

    let secret = URL_SAFE_NO_PAD.encode([9u8; 32]);
    let invited = chrome
        .open_with(&format!("{}/r#{secret}", site.origin()), &[rule])
        .await;
    invited
        .wait_text("#problem-title", "This page names an unsafe relay")
        .await;
    invited.wait_text("#problem-detail", "https://").await;
    assert_eq!(relay.rooms().await, 0, "the page made no room");
    invited.close().await;
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_whose_room_module_cannot_be_fetched_says_so_and_makes_no_room() {
    let site = StaticHost::start(&web_dist()).await;
    let relay = relay_for(&[&site.origin()]).await;
    site.use_relay(&relay.origin());
    // The interface is there; the room's module (every key and the session) is not.
    let mut removed = 0;
    for entry in std::fs::read_dir(site.dir()).expect("list the site") {
        let path = entry.expect("a directory entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with("room-") && name.ends_with(".wasm") {
            std::fs::remove_file(&path).expect("remove the room module");
            removed += 1;
        }
    }
    assert_eq!(removed, 1, "web-dist has one room module");

    let chrome = Chrome::start().await;
    let start = chrome.open(&format!("{}/", site.origin())).await;
    start
        .wait_text("#problem-title", "vroom could not start")
        .await;
    start.wait_text("#problem-detail", "reload the page").await;
    start.close_unchecked().await;

    let invited = chrome
        .open(&format!("{}/r#{}", site.origin(), "A".repeat(43)))
        .await;
    invited
        .wait_text("#problem-title", "vroom could not start")
        .await;
    invited.close_unchecked().await;
    relay.stop().await;
}

/// The first bytes of the file in `dir` whose name starts with `prefix` and ends with
/// `.wasm`, of which there must be one.
fn module(dir: &std::path::Path, prefix: &str) -> Vec<u8> {
    let mut found = std::fs::read_dir(dir)
        .expect("list web-dist")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.starts_with(prefix) && name.ends_with(".wasm")
        })
        .collect::<Vec<_>>();
    assert_eq!(found.len(), 1, "web-dist has one {prefix}*.wasm: {found:?}");
    std::fs::read(found.remove(0)).expect("read the module")
}

#[test]
fn the_interfaces_module_holds_no_group_layer_and_the_page_names_the_rooms() {
    let dist = web_dist();
    // A label openmls hashes every key package's reference with (RFC 9420 §5.2).
    let mls = b"MLS 1.0 KeyPackage Reference";
    let holds = |module: &[u8]| module.windows(mls.len()).any(|w| w == mls);
    assert!(
        holds(&module(&dist, "room-")),
        "the room module holds the group layer"
    );
    assert!(
        !holds(&module(&dist, "vroom-")),
        "the interface's module, the first download, must not link the group layer"
    );
    let page = std::fs::read_to_string(dist.join("index.html")).expect("read the page");
    let loader = page
        .split(r#"<meta name="vroom-room" content="/"#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the page names the room module's loader");
    let loader = std::fs::read_to_string(dist.join(loader)).expect("the loader is in web-dist");
    assert!(loader.contains("new RoomModule("), "{loader}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_the_start_page_asks_before_the_room_module_arrives_is_done_once_it_does() {
    let site = StaticHost::start(&web_dist()).await;
    let relay = relay_for(&[&site.origin()]).await;
    site.use_relay(&relay.origin());

    // The start page works on the interface's module alone; Create waits for the room.
    site.hold_room_module();
    let chrome = Chrome::start().await;
    let ada = chrome.open(&format!("{}/", site.origin())).await;
    ada.find("#create-room").await;
    site.room_module_held().await;
    ada.fill("#nick", "Ada").await;
    // Twice, as an impatient user does: the later click replaces the earlier.
    ada.click("#create-room").await;
    ada.click("#create-room").await;
    ada.find("#create-room").await;
    assert_eq!(relay.rooms().await, 0, "no room without the room module");
    site.release_room_module();
    ada.wait_text("#connection", "connected").await;
    assert_eq!(relay.rooms().await, 1, "the clicks made one room");
    let link = ada.value("#invite-link").await;

    // An invite link opened while the room module is on its way says the room is
    // opening, then joins. A browser of its own, so nothing comes from a cache.
    site.hold_room_module();
    let other = Chrome::start().await;
    let bob = other.open(&link).await;
    site.room_module_held().await;
    bob.wait_text("h1", "Opening the room").await;
    site.release_room_module();
    ada.wait_count(".member", 2).await;
    ada.close().await;
    bob.close().await;
    relay.stop().await;
}
