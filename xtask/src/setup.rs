//! Installs what `run` and `test` need on a Debian or Ubuntu machine that has only
//! rustup, so the README's two commands are the whole set-up. Every step checks first
//! and does nothing when the tool is there; what cannot be installed from here (system
//! packages without root or sudo) stops with the exact command to run.

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

use crate::{cargo, describe, exec, step};

/// The wasm target; `rustup target add` installs it.
pub(crate) const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// The wasm-bindgen version the app links; the test runner must be the same.
pub(crate) const WASM_BINDGEN_VERSION: &str = "0.2.130";

/// Where Debian's packages put the browser and its WebDriver.
pub(crate) const CHROMIUM: &str = "/usr/bin/chromium";
pub(crate) const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Debian packages the tests run: the Redis server the harness starts on a free port
/// for each test, and Chromium with its WebDriver for the browser tests.
const PACKAGES: [(&str, &str); 3] = [
    ("redis-server", "redis-server"),
    ("chromium", CHROMIUM),
    ("chromium-driver", CHROMEDRIVER),
];

/// The wasm target, added with rustup when missing (a toolchain file does not install
/// targets when rustup's auto-install is off).
pub(crate) fn wasm_target() -> Result<()> {
    if has_wasm_target()? {
        return Ok(());
    }
    step(&format!("add the Rust target {WASM_TARGET}"));
    exec(Command::new("rustup").args(["target", "add", WASM_TARGET])).with_context(|| {
        format!("the Rust target {WASM_TARGET} is missing: rustup target add {WASM_TARGET}")
    })?;
    if !has_wasm_target()? {
        bail!("rustup added {WASM_TARGET}, but this toolchain still lacks it");
    }
    Ok(())
}

/// Everything the tests need: system packages, the wasm target, rustfmt and clippy,
/// and the wasm-bindgen test runner at the app's exact wasm-bindgen version.
pub(crate) fn test_tools() -> Result<()> {
    step("install what the tests need (each step checks first)");
    packages()?;
    wasm_target()?;
    components()?;
    test_runner()
}

/// Whether the active toolchain's sysroot has the wasm target's standard library.
fn has_wasm_target() -> Result<bool> {
    let output = Command::new(std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into()))
        .args(["--print", "sysroot"])
        .output()
        .context("could not run rustc")?;
    let sysroot = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    Ok(Path::new(&sysroot)
        .join("lib/rustlib")
        .join(WASM_TARGET)
        .exists())
}

/// Installs the missing Debian packages with apt-get, as root or through sudo.
fn packages() -> Result<()> {
    let missing: Vec<&str> = PACKAGES
        .iter()
        .filter(|(_, program)| !installed(program))
        .map(|(package, _)| *package)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let install = format!("apt-get install -y {}", missing.join(" "));
    let Some(as_root) = root_prefix() else {
        bail!(
            "the tests need {}; install them as root:\n  apt-get update && {install}",
            missing.join(", ")
        );
    };
    step(&format!("install {}", missing.join(" ")));
    let apt = |args: &[&str]| {
        let mut cmd = match as_root.split_first() {
            Some((sudo, sudo_args)) => {
                let mut cmd = Command::new(sudo);
                cmd.args(sudo_args).arg("apt-get");
                cmd
            }
            None => Command::new("apt-get"),
        };
        cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        cmd
    };
    exec(&mut apt(&["update", "-qq"]))?;
    let mut args = vec!["install", "-y", "-qq"];
    args.extend(&missing);
    // dpkg sometimes loses a freshly downloaded archive; one retry fixes it.
    if exec(&mut apt(&args)).is_err() {
        exec(&mut apt(&args))
            .with_context(|| format!("could not install the packages; run: {install}"))?;
    }
    Ok(())
}

/// Whether `program` (a name on PATH, or an absolute path) exists.
fn installed(program: &str) -> bool {
    if program.starts_with('/') {
        return Path::new(program).exists();
    }
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

/// How to run a command as root: the words to put before it (none when we are root;
/// sudo when it works without a password); `None` when neither works.
fn root_prefix() -> Option<Vec<&'static str>> {
    let uid = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&uid.stdout).trim() == "0" {
        return Some(Vec::new());
    }
    let sudo = Command::new("sudo")
        .args(["-n", "true"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .ok()?;
    sudo.success().then(|| vec!["sudo", "-n"])
}

/// rustfmt and clippy, for the lint steps.
fn components() -> Result<()> {
    let missing: Vec<&str> = [("rustfmt", "fmt"), ("clippy", "clippy")]
        .into_iter()
        .filter(|(_, sub)| {
            !cargo()
                .args([sub, "--version"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
        .map(|(component, _)| component)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let mut cmd = Command::new("rustup");
    cmd.args(["component", "add"]).args(&missing);
    step(&describe(&cmd));
    exec(&mut cmd)
}

/// `wasm-bindgen-test-runner` at exactly [`WASM_BINDGEN_VERSION`], which
/// `cargo test --target wasm32-unknown-unknown` runs (see `.cargo/config.toml`).
fn test_runner() -> Result<()> {
    match runner_version() {
        Some(version) if version == WASM_BINDGEN_VERSION => return Ok(()),
        found => step(&format!(
            "install wasm-bindgen-test-runner {WASM_BINDGEN_VERSION} (found: {})",
            found.as_deref().unwrap_or("none")
        )),
    }
    exec(cargo().args([
        "install",
        "wasm-bindgen-cli",
        "--version",
        WASM_BINDGEN_VERSION,
    ]))?;
    match runner_version() {
        Some(version) if version == WASM_BINDGEN_VERSION => Ok(()),
        found => bail!(
            "installed wasm-bindgen-cli {WASM_BINDGEN_VERSION}, but the \
             wasm-bindgen-test-runner on PATH is {} (is ~/.cargo/bin on PATH?)",
            found.as_deref().unwrap_or("missing")
        ),
    }
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
