//! Files in the web app, in headless Chromium: a picture between two browsers (shown
//! inline and full size, its bytes intact, its metadata removed unless kept), a file
//! streamed and saved intact, a file above the room's limit refused before a byte
//! leaves, a receiver cancelling, and both ways between a browser and the native
//! client. Files go in through the page's file input (as a user picks them) and come
//! out through its "Save" link into a download directory, where their SHA-256 is
//! checked.
//!
//! `fifty_megabytes_between_browsers_with_bounded_memory` (about 15 s on a debug build)
//! prints the transfer's rate, both pages' JavaScript heap and the relay's memory;
//! BENCHMARKS.md §9 quotes them. Run it alone with
//! `cargo test -p vroom-tests --test it browser_files::fifty -- --nocapture`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use vroom_shared::wire::ClientFrame;
use vroom_testkit::browser::{app_config, Chrome, Direction, Page, Recorder};
use vroom_testkit::cli::Client;
use vroom_testkit::relay::Relay;

use crate::browser::{create_room, join_room};

/// WebDriver's Escape key.
const ESCAPE: &str = "\u{E00C}";

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// `len` bytes that do not compress: a pseudo-random 1 MB block, repeated.
fn content(len: usize, seed: u64) -> Vec<u8> {
    let mut block = Vec::with_capacity(1 << 20);
    let mut h = Sha256::digest(seed.to_be_bytes());
    while block.len() < 1 << 20 {
        block.extend_from_slice(&h);
        h = Sha256::digest(h);
    }
    block.iter().copied().cycle().take(len).collect()
}

/// A temporary directory that the test writes files to and the browser saves into.
fn dir(tag: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("vroom-webfiles-{tag}-"))
        .tempdir()
        .expect("create a temporary directory")
}

/// Ada creates a room on `origin` and Bob joins it, each in a browser.
async fn pair(chrome: &Chrome, origin: &str) -> (Page, Page) {
    let (ada, link) = create_room(chrome, origin, "Ada").await;
    let bob = join_room(chrome, &link, "Bob").await;
    ada.wait_count(".member", 2).await;
    (ada, bob)
}

/// Picks `path` in the page's file input, as a user would.
async fn attach(page: &Page, path: &Path) {
    page.find("#file-input")
        .await
        .send_keys(&path.display().to_string())
        .await
        .unwrap_or_else(|e| panic!("could not pick {}: {e}", path.display()));
}

/// Lets the page save downloads into `dir`.
async fn save_into(page: &Page, dir: &Path) {
    page.cdp(
        "Browser.setDownloadBehavior",
        serde_json::json!({ "behavior": "allow", "downloadPath": dir.display().to_string() }),
    )
    .await;
}

/// Clicks the "Save" link of the `nth` received file and waits until `name` holds
/// `len` bytes in `dir` (the browser renames its partial file when it is done).
async fn save(page: &Page, nth: usize, dir: &Path, name: &str, len: usize) -> Vec<u8> {
    page.wait_count(".file-card .save", nth + 1).await;
    page.eval(&format!(
        "document.querySelectorAll('.file-card .save')[{nth}].click(); return 'ok'"
    ))
    .await;
    let path: PathBuf = dir.join(name);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(meta) = std::fs::metadata(&path) {
            if meta.len() == len as u64 {
                return std::fs::read(&path).expect("read the saved file");
            }
        }
        assert!(
            Instant::now() < deadline,
            "{name} was not saved in {} ({:?})",
            dir.display(),
            std::fs::read_dir(dir).map(|d| d.flatten().map(|e| e.file_name()).collect::<Vec<_>>())
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A real JPEG the browser drew, and the same with an EXIF block (a camera name and
/// GPS-looking text) inserted after its start marker.
async fn jpegs(page: &Page) -> (Vec<u8>, Vec<u8>) {
    let hexed = page
        .eval(
            "const c = document.createElement('canvas'); c.width = 96; c.height = 64; \
             const g = c.getContext('2d'); g.fillStyle = '#2a6'; g.fillRect(0, 0, 96, 64); \
             g.fillStyle = '#fc0'; g.fillRect(20, 10, 40, 30); \
             const b64 = c.toDataURL('image/jpeg', 0.9).split(',')[1]; \
             return Array.from(atob(b64), ch => ch.charCodeAt(0).toString(16).padStart(2, '0')).join('')",
        )
        .await;
    let plain = hex::decode(hexed).expect("hex from the page");
    assert!(plain.starts_with(&[0xFF, 0xD8]), "the canvas made a JPEG");
    let mut tiff = b"Exif\0\0II*\0".to_vec();
    tiff.extend_from_slice(&8u32.to_le_bytes());
    tiff.extend_from_slice(&1u16.to_le_bytes());
    tiff.extend_from_slice(&0x010Fu16.to_le_bytes());
    tiff.extend_from_slice(&2u16.to_le_bytes());
    tiff.extend_from_slice(&32u32.to_le_bytes());
    tiff.extend_from_slice(&26u32.to_le_bytes());
    tiff.extend_from_slice(&0u32.to_le_bytes());
    tiff.extend_from_slice(b"SecretCam GPS 48.8584N 2.2945E\0\0");
    let mut with_exif = plain[..2].to_vec();
    with_exif.extend_from_slice(&[0xFF, 0xE1]);
    with_exif.extend_from_slice(&u16::try_from(tiff.len() + 2).unwrap().to_be_bytes());
    with_exif.extend_from_slice(&tiff);
    with_exif.extend_from_slice(&plain[2..]);
    (plain, with_exif)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_picture_is_previewed_arrives_intact_and_loses_its_metadata_unless_kept() {
    let relay = Relay::start(app_config()).await;
    let origin = relay.origin();
    let chrome = Chrome::start().await;
    let (ada, bob) = pair(&chrome, &origin).await;
    let outbox = dir("out");
    let inbox = dir("in");
    save_into(&bob, inbox.path()).await;

    let (plain, with_exif) = jpegs(&ada).await;
    assert_eq!(
        vroom_shared::metadata::strip(&with_exif).unwrap().unwrap(),
        plain,
        "removing the inserted block gives the browser's own JPEG back"
    );
    let photo = outbox.path().join("holiday.jpg");
    std::fs::write(&photo, &with_exif).unwrap();

    // The limit shows before anything is picked.
    ada.wait_text("#file-limit", "Files up to 104.9 MB").await;
    attach(&ada, &photo).await;
    // The preview is drawn from the decrypted blob.
    bob.wait_until("the preview drawn", || async {
        bob.eval(
            "const i = document.querySelector('.file-card img.preview'); \
             return String(!!i && i.complete && i.naturalWidth === 96 && i.src.startsWith('blob:'))",
        )
        .await
            == "true"
    })
    .await;
    bob.wait_text(".file-card .file-name", "holiday.jpg").await;
    bob.wait_text(".file-card .file-type", "image/jpeg").await;
    ada.wait_text(".file-card .file-status", "Sent.").await;
    let saved = save(&bob, 0, inbox.path(), "holiday.jpg", plain.len()).await;
    assert_eq!(
        sha(&saved),
        sha(&plain),
        "the picture arrives without its EXIF block"
    );
    assert!(!String::from_utf8_lossy(&saved).contains("SecretCam"));

    // Full size in a dialog, which Escape closes.
    bob.click(".file-card .preview-open").await;
    let open = || async {
        bob.eval("return String(document.querySelector('dialog.full-size').open)")
            .await
    };
    bob.wait_until("the full-size dialog open", || async {
        open().await == "true"
    })
    .await;
    bob.client
        .active_element()
        .await
        .expect("the focused element")
        .send_keys(ESCAPE)
        .await
        .expect("press Escape");
    bob.wait_until("the dialog closed", || async { open().await == "false" })
        .await;

    // Kept on request: the same bytes arrive.
    ada.click("#keep-metadata").await;
    let kept = outbox.path().join("kept.jpg");
    std::fs::write(&kept, &with_exif).unwrap();
    attach(&ada, &kept).await;
    let saved = save(&bob, 1, inbox.path(), "kept.jpg", with_exif.len()).await;
    assert_eq!(
        sha(&saved),
        sha(&with_exif),
        "kept metadata arrives as sent"
    );

    // Removing the card frees the file: its blob URL is revoked.
    let url = bob
        .eval("return document.querySelectorAll('.file-card .save')[0].href")
        .await;
    bob.eval("document.querySelectorAll('.file-card .remove-file')[0].click(); return 'ok'")
        .await;
    bob.wait_count(".file-card", 1).await;
    bob.excuse(&url);
    let gone = bob
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1]; const i = new Image(); \
             i.onload = () => done('loaded'); i.onerror = () => done('revoked'); \
             i.src = arguments[0];",
            vec![serde_json::Value::String(url)],
        )
        .await
        .expect("load the old URL");
    assert_eq!(gone, "revoked");
    ada.close().await;
    bob.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_streams_intact_and_one_above_the_limit_is_refused_before_a_byte_leaves() {
    let mut config = app_config();
    config.max_file = 5_000_000;
    let relay = Relay::start(config).await;
    let recorder = Recorder::start(relay.addr()).await;
    let origin = recorder.origin();
    let chrome = Chrome::start().await;
    let (ada, bob) = pair(&chrome, &origin).await;
    let outbox = dir("out");
    let inbox = dir("in");
    save_into(&bob, inbox.path()).await;

    // Above the limit: refused in words, no card, nothing on the chunk lane.
    ada.wait_text("#file-limit", "Files up to 5.0 MB").await;
    let big = outbox.path().join("big.bin");
    std::fs::write(&big, content(6_000_000, 1)).unwrap();
    attach(&ada, &big).await;
    ada.wait_text(
        ".notice",
        "big.bin is 6.0 MB, larger than this room's file limit of 5.0 MB; nothing was sent.",
    )
    .await;
    assert!(ada.texts(".file-card").await.is_empty());

    // Within it: streamed (many times the relay's per-connection lane) and saved intact.
    let data = content(3_000_000, 2);
    let report = outbox.path().join("report.pdf");
    std::fs::write(&report, &data).unwrap();
    attach(&ada, &report).await;
    bob.wait_text(".file-card .file-name", "report.pdf").await;
    let saved = save(&bob, 0, inbox.path(), "report.pdf", data.len()).await;
    assert_eq!(sha(&saved), sha(&data));
    ada.wait_text(".file-card .file-status", "Sent.").await;
    // A PDF is no picture: no preview, and its blob is not typed as one.
    assert!(bob
        .texts(".file-card img, .file-card video")
        .await
        .is_empty());

    // Every chunk-lane frame Ada sent belongs to the one file: the refused one never
    // left, and the chunks are sealed (no plaintext).
    let streamed: usize = recorder
        .recorded()
        .iter()
        .filter(|(way, _)| *way == Direction::ToRelay)
        .filter_map(|(_, bytes)| match ClientFrame::decode(bytes) {
            Ok(ClientFrame::Stream { payload, .. }) => Some(payload.len()),
            _ => None,
        })
        .sum();
    assert!(
        streamed > data.len() / 2 && streamed < data.len() * 2,
        "{streamed} bytes on the chunk lane for one 3 MB file"
    );
    let plain_probe = &data[100_000..100_064];
    assert!(
        !recorder
            .recorded()
            .iter()
            .any(|(_, bytes)| bytes.windows(plain_probe.len()).any(|w| w == plain_probe)),
        "the relay saw the file's plaintext"
    );
    ada.close().await;
    bob.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_offer_waits_for_a_click_and_the_receiver_can_cancel() {
    let relay = Relay::start(app_config()).await;
    let origin = relay.origin();
    let chrome = Chrome::start().await;
    let (ada, bob) = pair(&chrome, &origin).await;
    let outbox = dir("out");
    let film = outbox.path().join("film.bin");
    std::fs::write(&film, content(90_000_000, 3)).unwrap();
    attach(&ada, &film).await;
    // Above what is taken without asking: Bob is asked.
    bob.wait_text(".file-card .file-status", "Offered to you")
        .await;
    bob.click(".file-card .receive").await;
    bob.wait_text(".file-card .file-status", " of 90.0 MB")
        .await;
    bob.click(".file-card .cancel-file").await;
    bob.wait_text(".file-card .file-status", "You cancelled the transfer.")
        .await;
    ada.wait_text(
        ".file-card .file-status",
        "Nobody is receiving the file any more.",
    )
    .await;
    ada.wait_text(".event", "Bob declined or cancelled film.bin")
        .await;
    ada.close().await;
    bob.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_go_both_ways_between_a_browser_and_the_native_client() {
    let relay = Relay::start(app_config()).await;
    let origin = relay.origin();
    let inbox = dir("cli-in");
    let outbox = dir("out");
    let downloads = dir("browser-in");
    let (mut ada, link) = Client::create(
        &origin,
        "ada",
        &["--download-dir", &inbox.path().display().to_string()],
    )
    .await;
    let chrome = Chrome::start().await;
    let bob = join_room(&chrome, &link, "Bob").await;
    ada.expect_line("Bob in the room", |l| l.contains("Bob"))
        .await;
    save_into(&bob, downloads.path()).await;

    // Native → browser.
    let data = content(2_000_000, 5);
    let notes = outbox.path().join("notes.txt");
    std::fs::write(&notes, &data).unwrap();
    ada.say(&format!("/send {}", notes.display())).await;
    ada.expect_line("the file sent", |l| l.starts_with("-- sent notes.txt"))
        .await;
    let saved = save(&bob, 0, downloads.path(), "notes.txt", data.len()).await;
    assert_eq!(sha(&saved), sha(&data));

    // Browser → native.
    let data = content(1_500_000, 6);
    let slides = outbox.path().join("slides.odp");
    std::fs::write(&slides, &data).unwrap();
    attach(&bob, &slides).await;
    // The terminal asks before saving.
    ada.expect_line("the offer", |l| l.starts_with("-- Bob offers slides.odp"))
        .await;
    ada.say("/accept").await;
    ada.expect_line("the file received", |l| {
        l.starts_with("-- received slides.odp")
    })
    .await;
    bob.wait_text(".file-card.own .file-status", "Sent.").await;
    let got = std::fs::read(inbox.path().join("slides.odp")).expect("the received file");
    assert_eq!(sha(&got), sha(&data));
    bob.close().await;
    ada.kill().await;
}

/// The largest of `samples`.
fn peak(samples: &[u64]) -> u64 {
    samples.iter().copied().max().unwrap_or(0)
}

/// The page's JavaScript heap in use, per DevTools.
async fn js_heap(page: &Page) -> u64 {
    let metrics = page
        .cdp("Performance.getMetrics", serde_json::json!({}))
        .await;
    metrics["metrics"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|m| m["name"] == "JSHeapUsedSize")
        .and_then(|m| m["value"].as_f64())
        .unwrap_or(0.0) as u64
}

/// This process's resident memory (the relay runs in it).
fn rss() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .unwrap_or(0)
        * 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_megabytes_between_browsers_with_bounded_memory() {
    const LEN: usize = 50_000_000;
    let relay = Relay::start(app_config()).await;
    let origin = relay.origin();
    let chrome = Chrome::start().await;
    let (ada, bob) = pair(&chrome, &origin).await;
    for page in [&ada, &bob] {
        page.cdp("Performance.enable", serde_json::json!({})).await;
    }
    let outbox = dir("out");
    let inbox = dir("in");
    save_into(&bob, inbox.path()).await;
    let data = content(LEN, 7);
    let path = outbox.path().join("fifty.bin");
    std::fs::write(&path, &data).unwrap();
    let (ada_before, bob_before, rss_before) = (js_heap(&ada).await, js_heap(&bob).await, rss());

    attach(&ada, &path).await;
    bob.click(".file-card .receive").await;
    let started = Instant::now();
    let (mut ada_heap, mut bob_heap, mut relay_rss) = (Vec::new(), Vec::new(), Vec::new());
    let deadline = started + Duration::from_secs(600);
    while bob.texts(".file-card .save").await.is_empty() {
        assert!(
            Instant::now() < deadline,
            "the file did not arrive in 10 minutes"
        );
        ada_heap.push(js_heap(&ada).await);
        bob_heap.push(js_heap(&bob).await);
        relay_rss.push(rss());
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let secs = started.elapsed().as_secs_f64();
    let saved = save(&bob, 0, inbox.path(), "fifty.bin", LEN).await;
    assert_eq!(sha(&saved), sha(&data));
    let mib = |b: u64| b as f64 / f64::from(1 << 20);
    println!(
        "50 MB browser → browser: {secs:.1} s ({:.1} MB/s); JS heap sender {:.1} → peak {:.1} MiB, \
         receiver {:.1} → peak {:.1} MiB; test process (relay) RSS {:.1} → peak {:.1} MiB",
        LEN as f64 / 1e6 / secs,
        mib(ada_before),
        mib(peak(&ada_heap)),
        mib(bob_before),
        mib(peak(&bob_heap)),
        mib(rss_before),
        mib(peak(&relay_rss)),
    );
    // Neither page holds the file in its JavaScript heap.
    assert!(peak(&ada_heap) < ada_before + 32 * (1 << 20));
    assert!(peak(&bob_heap) < bob_before + 32 * (1 << 20));
    ada.close().await;
    bob.close().await;
}
