//! Builds the web app into `web-dist/`, ready for the relay (or any static host) to
//! serve.
//!
//! Steps: compile `vroom-web` (the interface), `vroom-room-module` (the room: the
//! session and every key, a module the interface fetches as the page starts) and
//! `vroom-strength` (the passphrase strength estimate the app fetches only when
//! someone types a passphrase) for `wasm32-unknown-unknown`
//! with the size-optimised `wasm-release` profile; run the wasm-bindgen library (pinned
//! to the exact version of the `wasm-bindgen` crate the app links, since a mismatch
//! breaks the page) to make the JS glue; copy the page, stylesheet and loader; name
//! every asset but the page by a hash of its content, so the relay may let browsers
//! cache them for good; write `.br` and `.gz` siblings so the relay serves them
//! precompressed; and write `BUILD`, the manifest `vroom verify-app` checks a server
//! against. The build is reproducible (see [`build_in`]).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use wasm_bindgen_cli_support::Bindgen;

use crate::setup::{self, WASM_TARGET};
use crate::{cargo, exec, root, step, target_dir};

/// Builds the web app into `web-dist/`; returns that directory.
pub(crate) fn build() -> Result<PathBuf> {
    setup::wasm_target()?;
    let dist = root().join("web-dist");
    build_in(&root(), &target_dir()?, &dist)?;
    report_sizes(&dist)?;
    Ok(dist)
}

/// Builds the web app from the workspace at `src`, with cargo's target directory
/// `target`, into `dist` (emptied first).
///
/// Reproducible: the same sources and toolchain give the same bytes wherever the
/// checkout, the target directory and cargo's home are. Paths rustc would write into
/// the wasm (panic locations, mostly) are remapped to fixed names; the wasm's name and
/// producers sections are dropped; file names are content hashes; the compressors are
/// deterministic and write no timestamp. `BUILD` records what the bytes depend on.
pub(crate) fn build_in(src: &Path, target: &Path, dist: &Path) -> Result<()> {
    let rustflags = wasm_rustflags(src, target)?;
    let wasm_build = |package: &str, kind: &str| {
        let mut cmd = cargo();
        cmd.current_dir(src)
            .env("CARGO_TARGET_DIR", target)
            // Replaces RUSTFLAGS and any configured flags, so nothing of the caller's
            // environment reaches the build.
            .env_remove("RUSTFLAGS")
            .env("CARGO_ENCODED_RUSTFLAGS", &rustflags)
            .args(["build", "-p", package, kind, "--target", WASM_TARGET])
            .args(["--profile", "wasm-release"]);
        cmd
    };
    // The interface and the room in one build, so the crates they share are built
    // once, with the union of their features: the linker drops what the interface
    // does not call.
    step("build the web app's interface and room (wasm32, profile wasm-release)");
    exec(wasm_build("vroom-web", "--bins").args(["-p", "vroom-room-module", "--lib"]))?;
    step("build the passphrase strength module (wasm32, profile wasm-release)");
    exec(&mut wasm_build("vroom-strength", "--lib"))?;
    let out = target.join(WASM_TARGET).join("wasm-release");

    step(&format!("generate JS glue and assemble {}", dist.display()));
    assemble(
        &src.join("client-wasm"),
        &out.join("vroom-web.wasm"),
        &out.join("vroom_room_module.wasm"),
        &out.join("vroom_strength.wasm"),
        dist,
    )?;
    write_manifest(src, dist)
}

/// The rustflags of both wasm builds: first flags that replace the machine's own paths by fixed names: the checkout
/// (`/vroom`), cargo's home with the registry's sources (`/cargo`) and the target
/// directory, where build scripts write generated code (`/target`). rustc applies the
/// last prefix that matches, so the target directory wins inside the checkout. Then
/// `--cfg erase_components` for Leptos.
fn wasm_rustflags(src: &Path, target: &Path) -> Result<String> {
    let home = cargo_home()?;
    let mut flags: Vec<String> = [(src, "/vroom"), (&home, "/cargo"), (target, "/target")]
        .into_iter()
        .map(|(from, to)| format!("--remap-path-prefix={}={to}", from.display()))
        .collect();
    // Leptos's type erasure: components return `AnyView` and the view macro boxes its
    // reactive closures, so the renderer is instantiated per output type rather than
    // per component and closure: 26 KB less brotli (BENCHMARKS.md §14). Both wasm
    // builds get the same flags, so the crates they share are built once.
    flags.push("--cfg=erase_components".to_string());
    // CARGO_ENCODED_RUSTFLAGS separates flags with 0x1f, so paths may hold spaces.
    Ok(flags.join("\x1f"))
}

/// Cargo's home: `CARGO_HOME`, else `~/.cargo`.
fn cargo_home() -> Result<PathBuf> {
    if let Some(home) = std::env::var_os("CARGO_HOME") {
        return Ok(PathBuf::from(home));
    }
    let home = std::env::var_os("HOME").context("neither CARGO_HOME nor HOME is set")?;
    Ok(Path::new(&home).join(".cargo"))
}

/// Runs wasm-bindgen on `wasm` (the interface), `room` (the room module) and
/// `strength` (the strength module) and writes the complete site into `dist`, with the
/// page and styles from `app_dir`.
fn assemble(app_dir: &Path, wasm: &Path, room: &Path, strength: &Path, dist: &Path) -> Result<()> {
    if dist.exists() {
        fs::remove_dir_all(dist).with_context(|| format!("could not clear {}", dist.display()))?;
    }
    fs::create_dir_all(dist)?;

    let stem = bindgen(wasm, "vroom", dist)?;
    let strength_stem = bindgen(strength, "strength", dist)?;
    // The app imports this when a passphrase is first typed (its address is in the
    // page's `vroom-strength` meta tag) and gets the estimate function back.
    let strength_loader = format!(
        "// Loads the passphrase strength module and returns its estimate function.\n\
         import init, {{ estimate }} from \"./{strength_stem}.js\";\n\
         export default async function load() {{\n\
         \x20 await init({{ module_or_path: new URL(\"./{strength_stem}.wasm\", import.meta.url) }});\n\
         \x20 return estimate;\n\
         }}\n"
    );
    let strength_loader_name = hashed_name("strength-loader", "js", strength_loader.as_bytes());
    fs::write(dist.join(&strength_loader_name), strength_loader)?;

    let room_stem = bindgen(room, "room", dist)?;
    // The interface imports this as the page starts (its address is in the page's
    // `vroom-room` meta tag) and gets back the function that makes the page's room.
    let room_loader = format!(
        "// Loads the room module and returns the function that makes the page's room.\n\
         import init, {{ RoomModule }} from \"./{room_stem}.js\";\n\
         export default async function load() {{\n\
         \x20 await init({{ module_or_path: new URL(\"./{room_stem}.wasm\", import.meta.url) }});\n\
         \x20 return (page, relay, screen, deliver) => new RoomModule(page, relay, screen, deliver);\n\
         }}\n"
    );
    let room_loader_name = hashed_name("room-loader", "js", room_loader.as_bytes());
    fs::write(dist.join(&room_loader_name), room_loader)?;

    let loader = format!(
        "// Loads the web app: fetches and instantiates the wasm, whose start function\n\
         // mounts the app. An external file, because the page's CSP forbids inline script.\n\
         import init from \"./{stem}.js\";\n\
         init({{ module_or_path: new URL(\"./{stem}.wasm\", import.meta.url) }});\n"
    );
    let loader_name = hashed_name("loader", "js", loader.as_bytes());
    fs::write(dist.join(&loader_name), loader)?;

    let css =
        fs::read(app_dir.join("style.css")).context("could not read client-wasm/style.css")?;
    let css_name = hashed_name("style", "css", &css);
    fs::write(dist.join(&css_name), css)?;

    let icon = fs::read(app_dir.join("favicon.svg")).context("could not read favicon.svg")?;
    fs::write(dist.join("favicon.svg"), icon)?;

    let page = fs::read_to_string(app_dir.join("index.html"))
        .context("could not read client-wasm/index.html")?
        .replace("{{style}}", &format!("/{css_name}"))
        .replace("{{loader}}", &format!("/{loader_name}"))
        .replace("{{glue}}", &format!("/{stem}.js"))
        .replace("{{wasm}}", &format!("/{stem}.wasm"))
        .replace("{{strength}}", &format!("/{strength_loader_name}"))
        .replace("{{room}}", &format!("/{room_loader_name}"));
    fs::write(dist.join("index.html"), &page)?;
    // Invite links open `/r`: a static host that knows no rewrite rules serves this
    // for it (after sending `/r` on to `/r/`).
    fs::create_dir_all(dist.join("r"))?;
    fs::write(dist.join("r").join("index.html"), &page)?;

    precompress(dist)
}

/// The name of the manifest in `web-dist/`.
pub(crate) const MANIFEST: &str = "BUILD";

/// Writes `dist/BUILD`: the versions the bytes depend on, then the SHA-256 of every
/// file the app is made of (the `.br` and `.gz` siblings hold the same bytes,
/// compressed), one `<hex>  <path>` line each, as `sha256sum` writes them.
/// `vroom verify-app --manifest` compares a relay's app with these lines.
fn write_manifest(src: &Path, dist: &Path) -> Result<()> {
    let rustc = tool_version(
        std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into()),
        "-vV",
    )?;
    let cargo_version = tool_version(
        std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()),
        "-V",
    )?;
    let lock = fs::read(src.join("Cargo.lock")).context("could not read Cargo.lock")?;
    let mut text =
        String::from("# vroom web app, built by `cargo xtask web` (reproducible: see README)\n");
    for line in rustc.lines().filter(|l| !l.trim().is_empty()) {
        text.push_str(&format!("# rustc: {line}\n"));
    }
    text.push_str(&format!("# {cargo_version}\n"));
    text.push_str(&format!(
        "# wasm-bindgen {}\n# target {WASM_TARGET}, profile wasm-release, cfg erase_components, paths remapped to /vroom, /cargo, /target\n",
        setup::WASM_BINDGEN_VERSION
    ));
    text.push_str(&format!(
        "# Cargo.lock sha256 {}\n",
        hex::encode(Sha256::digest(&lock))
    ));
    for file in app_files(dist)? {
        let bytes = fs::read(dist.join(&file))?;
        text.push_str(&format!(
            "{}  {file}\n",
            hex::encode(Sha256::digest(&bytes))
        ));
    }
    fs::write(dist.join(MANIFEST), text)?;
    Ok(())
}

/// What `program flag` prints, trimmed.
fn tool_version(program: std::ffi::OsString, flag: &str) -> Result<String> {
    let output = std::process::Command::new(&program)
        .arg(flag)
        .output()
        .with_context(|| format!("could not run {} {flag}", program.to_string_lossy()))?;
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// Every file under `dir`, as `/`-separated paths relative to it, sorted.
pub(crate) fn files_under(dir: &Path) -> Result<Vec<String>> {
    let mut found = Vec::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(relative) = pending.pop() {
        for entry in fs::read_dir(dir.join(&relative))
            .with_context(|| format!("could not list {}", dir.join(&relative).display()))?
        {
            let entry = entry?;
            let path = relative.join(entry.file_name());
            if entry.file_type()?.is_dir() {
                pending.push(path);
            } else {
                let parts: Vec<_> = path.iter().map(|p| p.to_string_lossy()).collect();
                found.push(parts.join("/"));
            }
        }
    }
    found.sort();
    Ok(found)
}

/// The files of the app in `dist`: all but the compressed siblings and the manifest.
fn app_files(dist: &Path) -> Result<Vec<String>> {
    Ok(files_under(dist)?
        .into_iter()
        .filter(|f| !f.ends_with(".br") && !f.ends_with(".gz") && f != MANIFEST)
        .collect())
}

/// Runs wasm-bindgen on the module at `wasm`, writing `<name>-<hash>.js` and
/// `<name>-<hash>.wasm` into `dist`; returns the stem `<name>-<hash>`.
fn bindgen(wasm: &Path, name: &str, dist: &Path) -> Result<String> {
    let bytes = fs::read(wasm).with_context(|| format!("could not read {}", wasm.display()))?;
    let stem = format!("{name}-{}", short_hash(&bytes));
    Bindgen::new()
        .input_bytes(&stem, bytes)
        .out_name(&stem)
        .web(true)?
        .typescript(false)
        .remove_name_section(true)
        .remove_producers_section(true)
        .generate(dist)
        .with_context(|| format!("wasm-bindgen failed on {}", wasm.display()))?;
    // `<stem>.wasm` rather than bindgen's `<stem>_bg.wasm`, so the name ends in its
    // content hash like every other asset and the relay lets browsers cache it for good.
    fs::rename(
        dist.join(format!("{stem}_bg.wasm")),
        dist.join(format!("{stem}.wasm")),
    )?;
    Ok(stem)
}

/// `name-<hash>.ext`, so a changed file gets a new name and caches never serve it stale.
fn hashed_name(name: &str, ext: &str, content: &[u8]) -> String {
    format!("{name}-{}.{ext}", short_hash(content))
}

/// The first 16 hex digits of the SHA-256 of `content`.
fn short_hash(content: &[u8]) -> String {
    hex::encode(&Sha256::digest(content)[..8])
}

/// Writes `.br` (best quality) and `.gz` (best level) beside every file in `dist`.
fn precompress(dist: &Path) -> Result<()> {
    for file in files_under(dist)? {
        let path = dist.join(file);
        let content = fs::read(&path)?;
        fs::write(with_suffix(&path, "br"), brotli_bytes(&content)?)?;
        fs::write(with_suffix(&path, "gz"), gzip_bytes(&content)?)?;
    }
    Ok(())
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".");
    name.push(suffix);
    PathBuf::from(name)
}

fn brotli_bytes(content: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    {
        let mut writer = brotli::CompressorWriter::new(&mut out, 4096, 11, 22);
        writer.write_all(content)?;
    }
    Ok(out)
}

fn gzip_bytes(content: &[u8]) -> Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(content)?;
    Ok(encoder.finish()?)
}

/// Prints the wasm's raw, gzip and brotli sizes (the README quotes them).
fn report_sizes(dist: &Path) -> Result<()> {
    for entry in fs::read_dir(dist)? {
        let path = entry?.path();
        if path.extension().is_some_and(|ext| ext == "wasm") {
            let raw = fs::metadata(&path)?.len();
            let gz = fs::metadata(with_suffix(&path, "gz"))?.len();
            let br = fs::metadata(with_suffix(&path, "br"))?.len();
            eprintln!(
                "wasm: {raw} bytes raw, {gz} bytes gzip, {br} bytes brotli ({})",
                path.display()
            );
        }
    }
    Ok(())
}
