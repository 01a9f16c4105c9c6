//! `vroom verify-app` against real servers: a relay serving the built web app matches
//! it (compared with the build's directory, and with its `BUILD` manifest); a relay
//! serving a copy with one byte of the wasm changed is caught, the file named, the exit
//! code 1; the app on a static host matches too, its relay setting named.

use std::path::Path;
use std::process::Output;

use vroom_relay::Config;
use vroom_testkit::browser::{app_config, web_dist};
use vroom_testkit::cli::vroom_binary;
use vroom_testkit::relay::Relay;
use vroom_testkit::static_host::StaticHost;
use vroom_testkit::PATIENCE;

/// Runs `vroom verify-app --server SERVER` with `build` (`--web-dist DIR` or
/// `--manifest FILE`); returns its exit code and stdout.
async fn verify(server: &str, build: [&str; 2]) -> (i32, String) {
    let run = tokio::process::Command::new(vroom_binary())
        .args(["verify-app", "--server", server])
        .args(build)
        .kill_on_drop(true)
        .output();
    let Output {
        status,
        stdout,
        stderr,
    } = tokio::time::timeout(PATIENCE, run)
        .await
        .expect("verify-app finishes")
        .expect("verify-app runs");
    let stdout = String::from_utf8_lossy(&stdout).into_owned();
    eprintln!("{stdout}{}", String::from_utf8_lossy(&stderr));
    (status.code().expect("an exit code"), stdout)
}

/// The name of the app's wasm in `dist` (`vroom-<hash>.wasm`).
fn app_wasm(dist: &Path) -> String {
    std::fs::read_dir(dist)
        .expect("list web-dist")
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .find(|n| n.starts_with("vroom-") && n.ends_with(".wasm"))
        .expect("web-dist has the app's wasm")
}

fn dist_arg(dist: &Path) -> [&str; 2] {
    ["--web-dist", dist.to_str().expect("a UTF-8 path")]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_serving_the_build_matches_it_file_by_file() {
    let dist = web_dist();
    let relay = Relay::start(app_config()).await;
    let (code, out) = verify(&relay.origin(), dist_arg(&dist)).await;
    assert_eq!(code, 0, "every file should match:\n{out}");
    let wasm = app_wasm(&dist);
    for file in [wasm.as_str(), "index.html", "/r (serves index.html)"] {
        assert!(
            out.lines().any(|l| l.trim() == format!("match    {file}")),
            "{file} is listed as matching:\n{out}"
        );
    }
    assert!(!out.contains("DIFFERS"), "{out}");

    let manifest = dist.join("BUILD");
    let (code, out) = verify(
        &relay.origin(),
        ["--manifest", manifest.to_str().expect("UTF-8")],
    )
    .await;
    assert_eq!(code, 0, "the BUILD manifest's hashes match too:\n{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_serving_a_changed_wasm_is_caught() {
    let dist = web_dist();
    let tampered = tempfile::tempdir().expect("a directory for the changed copy");
    copy_dir(&dist, tampered.path());
    let wasm = app_wasm(&dist);
    let path = tampered.path().join(&wasm);
    let mut bytes = std::fs::read(&path).expect("read the wasm");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&path, bytes).expect("write the changed wasm");

    let relay = Relay::start(Config {
        web_dir: Some(tampered.path().to_owned()),
        ..app_config()
    })
    .await;
    let (code, out) = verify(&relay.origin(), dist_arg(&dist)).await;
    assert_eq!(code, 1, "a difference exits with 1:\n{out}");
    // The raw file changed; the relay's precompressed copies did not, so only the
    // plain download differs (as a relay serving different bytes to some would).
    assert!(
        out.lines()
            .any(|l| l.trim().starts_with(&format!("DIFFERS  {wasm}"))
                && l.contains("identity: different bytes")),
        "the changed wasm is named:\n{out}"
    );
    assert!(
        out.lines().any(|l| l.trim() == "match    index.html"),
        "the rest still matches:\n{out}"
    );
    assert!(out.contains("does NOT serve this build"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_on_a_static_host_matches_and_its_relay_is_named() {
    let dist = web_dist();
    let site = StaticHost::start(&dist).await;
    site.use_relay("https://relay.example");
    let (code, out) = verify(&site.origin(), dist_arg(&dist)).await;
    assert_eq!(code, 0, "the deployed app is the build:\n{out}");
    assert!(
        out.contains("talk to the relay at https://relay.example"),
        "{out}"
    );

    // Anything else changed in the page is a difference.
    let page = site.dir().join("index.html");
    let html = std::fs::read_to_string(&page).expect("read the page");
    std::fs::write(&page, html.replace("<title>", "<title>x")).expect("write the page");
    let (code, out) = verify(&site.origin(), dist_arg(&dist)).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("DIFFERS  index.html"), "{out}");
}

/// Copies `from` into `to`, files and directories.
fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("list a directory") {
        let entry = entry.expect("an entry");
        let dest = to.join(entry.file_name());
        if entry.path().is_dir() {
            std::fs::create_dir_all(&dest).expect("make a directory");
            copy_dir(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), dest).expect("copy a file");
        }
    }
}
