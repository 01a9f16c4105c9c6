//! `cargo xtask test`: every check and test of the project, in one command, failing
//! fast at the first broken step with what to do about it.

use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::setup::{self, CHROMEDRIVER, WASM_TARGET};
use crate::{cargo, exec, finish, reproducible, root, step, web};

/// The host crates: the whole workspace but the web app, which only builds for wasm32,
/// and its room and passphrase strength modules, which are only ever wasm modules.
const HOST: [&str; 7] = [
    "--workspace",
    "--exclude",
    "vroom-web",
    "--exclude",
    "vroom-room-module",
    "--exclude",
    "vroom-strength",
];

/// Runs every step in order.
pub(crate) fn all() -> Result<()> {
    setup::test_tools()?;

    step("cargo fmt --check");
    exec(cargo().args(["fmt", "--all", "--check"]))
        .context("code is not formatted; run: cargo fmt --all")?;

    step("clippy on the host crates");
    exec(
        cargo()
            .arg("clippy")
            .args(HOST)
            .args(["--all-targets", "--", "-D", "warnings"]),
    )?;

    // With the room linked into the interface, as its browser tests build it.
    step("clippy on the web app, its room and its strength module (wasm32)");
    exec(cargo().args([
        "clippy",
        "-p",
        "vroom-web",
        "--features",
        "vroom-web/linked",
        "-p",
        "vroom-room",
        "-p",
        "vroom-room-module",
        "-p",
        "vroom-strength",
        "--target",
        WASM_TARGET,
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;

    // The interface as the app ships it, without the room linked in: its loading code
    // is linted, and it must build with vroom-shared without `crypto`, so no key or
    // session can slip into the first download.
    step("clippy on the web app's interface alone (wasm32)");
    exec(cargo().args([
        "clippy",
        "-p",
        "vroom-web",
        "--target",
        WASM_TARGET,
        "--",
        "-D",
        "warnings",
    ]))?;

    // With its tests, so its dependencies keep the features the clippy step checked
    // them with and only the crates that see vroom-shared without `crypto` are checked
    // again. None of the relay's test dependencies turns `crypto` on.
    step("the relay builds alone, without the crypto feature");
    exec(cargo().args(["check", "-p", "vroom-relay", "--all-targets"]))?;

    // The browser tests load the real app from web-dist/.
    let dist = web::build()?;
    reproducible::quick(&dist)?;

    step("build the host tests and the native client, in one build");
    let vroom = build_tests()?;

    step("unit and end-to-end tests (host; includes the browser tests)");
    exec(cargo().arg("test").args(HOST).env("VROOM_CLI_BIN", &vroom))?;

    step("web app tests in headless Chromium (wasm-bindgen-test)");
    wasm_tests()?;

    finish();
    eprintln!("\nall checks and tests passed");
    Ok(())
}

/// Builds every host test and the `vroom` binary in one cargo build, so the binary the
/// end-to-end tests run shares the test build's dependencies (built alone, with its
/// own features, it would rebuild most of them); returns the binary's path.
fn build_tests() -> Result<PathBuf> {
    let output = cargo()
        .arg("build")
        .args(HOST)
        .args(["--tests", "--bin", "vroom"])
        .arg("--message-format=json-render-diagnostics")
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("could not run cargo build")?;
    if !output.status.success() {
        anyhow::bail!("building the tests failed (the errors are above)");
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|msg| {
            msg["reason"] == "compiler-artifact"
                && msg["target"]["name"] == "vroom"
                && msg["profile"]["test"] == false
        })
        .find_map(|msg| msg["executable"].as_str().map(PathBuf::from))
        .context("cargo built the tests but reported no `vroom` executable")
}

/// Runs the browser tests that also write docs/screenshots/*.png.
pub(crate) fn screenshots() -> Result<()> {
    setup::test_tools()?;
    web::build()?;
    step("take screenshots");
    let dir = root().join("docs").join("screenshots");
    std::fs::create_dir_all(&dir)?;
    exec(
        cargo()
            .args(["test", "-p", "vroom-tests", "--test", "it", "screenshots"])
            .env("VROOM_SCREENSHOTS_DIR", &dir),
    )?;
    eprintln!("screenshots written to {}", dir.display());
    Ok(())
}

/// The wasm-bindgen tests of `vroom-web`, run by `wasm-bindgen-test-runner` (the
/// runner in `.cargo/config.toml`) in headless Chromium through chromedriver, with the
/// browser options in `client-wasm/webdriver.json`.
fn wasm_tests() -> Result<()> {
    exec(
        cargo()
            .args(["test", "-p", "vroom-web", "--features", "linked"])
            .args(["--target", WASM_TARGET])
            .current_dir(root().join("client-wasm"))
            .env("CHROMEDRIVER", CHROMEDRIVER)
            // The runner otherwise starts its own server on a fixed port and gives up
            // after 20 s; a cold browser on a loaded 2-core machine can need longer.
            .env("WASM_BINDGEN_TEST_TIMEOUT", "120"),
    )
}
