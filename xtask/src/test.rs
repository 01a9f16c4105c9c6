//! `cargo xtask test`: every check and test of the project, in one command, failing
//! fast at the first broken step with what to do about it.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::{cargo, exec, root, step, web};

/// The wasm-bindgen version the app links; the test runner must be the same.
const WASM_BINDGEN_VERSION: &str = "0.2.130";

/// Where Debian's packages put the browser and its WebDriver.
const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Runs every step in order.
pub(crate) fn all() -> Result<()> {
    check_tools()?;

    step("cargo fmt --check");
    exec(cargo().args(["fmt", "--all", "--check"]))
        .context("code is not formatted; run: cargo fmt --all")?;

    step("clippy on the host crates");
    exec(cargo().args([
        "clippy",
        "--workspace",
        "--exclude",
        "vroom-web",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;

    step("clippy on the web app (wasm32)");
    exec(cargo().args([
        "clippy",
        "-p",
        "vroom-web",
        "--target",
        "wasm32-unknown-unknown",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;

    step("the relay builds alone, without the crypto feature");
    exec(cargo().args(["check", "-p", "vroom-relay"]))?;

    // The browser tests load the real app from web-dist/.
    web::build()?;

    step("unit and end-to-end tests (host; includes the browser tests)");
    exec(cargo().args(["test", "--workspace", "--exclude", "vroom-web"]))?;

    step("web app tests in headless Chromium (wasm-bindgen-test)");
    wasm_tests()?;

    eprintln!("\nall checks and tests passed");
    Ok(())
}

/// Runs the browser tests that also write docs/screenshots/*.png.
pub(crate) fn screenshots() -> Result<()> {
    check_tools()?;
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
            .args([
                "test",
                "-p",
                "vroom-web",
                "--target",
                "wasm32-unknown-unknown",
            ])
            .current_dir(root().join("client-wasm"))
            .env("CHROMEDRIVER", CHROMEDRIVER)
            // The runner otherwise starts its own server on a fixed port and gives up
            // after 20 s; a cold browser on a loaded 2-core machine can need longer.
            .env("WASM_BINDGEN_TEST_TIMEOUT", "120"),
    )
}

/// Fails early, with the command to run, when a tool the tests need is missing.
fn check_tools() -> Result<()> {
    step("check the tools the tests need");
    let mut missing = Vec::new();
    if !Path::new(CHROMIUM).exists() || !Path::new(CHROMEDRIVER).exists() {
        missing.push(format!(
            "Chromium and its WebDriver ({CHROMIUM}, {CHROMEDRIVER}): \
             apt-get install -y chromium chromium-driver"
        ));
    }
    match runner_version() {
        Some(version) if version == WASM_BINDGEN_VERSION => {}
        found => missing.push(format!(
            "wasm-bindgen-test-runner {WASM_BINDGEN_VERSION} (found: {}): \
             cargo install wasm-bindgen-cli --version {WASM_BINDGEN_VERSION}",
            found.as_deref().unwrap_or("none")
        )),
    }
    if let Err(error) = web::check_wasm_target() {
        missing.push(error.to_string());
    }
    if !missing.is_empty() {
        bail!(
            "missing tools; install them with:\n  {}",
            missing.join("\n  ")
        );
    }
    Ok(())
}

/// The version `wasm-bindgen-test-runner --version` prints, if it runs.
fn runner_version() -> Option<String> {
    let output = Command::new("wasm-bindgen-test-runner")
        .arg("--version")
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    text.split_whitespace().nth(1).map(str::to_owned)
}
