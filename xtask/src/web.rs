//! Builds the web app into `web-dist/`, ready for the relay to serve.
//!
//! Steps: compile `vroom-web` (and `vroom-strength`, the passphrase strength estimate
//! the app fetches only when someone types a passphrase) for `wasm32-unknown-unknown`
//! with the size-optimised `wasm-release` profile; run the wasm-bindgen library (pinned to the exact version of
//! the `wasm-bindgen` crate the app links, since a mismatch breaks the page) to make the
//! JS glue; copy the page, stylesheet and loader; name every asset but `index.html` by
//! a hash of its content, so the relay may let browsers cache them for good; and write
//! `.br` and `.gz` siblings so the relay serves them precompressed.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use wasm_bindgen_cli_support::Bindgen;

use crate::setup::{self, WASM_TARGET};
use crate::{cargo, exec, root, step, target_dir};

/// Builds the web app; returns the output directory.
pub(crate) fn build() -> Result<PathBuf> {
    step("build the web app (wasm32, profile wasm-release)");
    setup::wasm_target()?;
    exec(cargo().args([
        "build",
        "-p",
        "vroom-web",
        "--bin",
        "vroom-web",
        "--target",
        WASM_TARGET,
        "--profile",
        "wasm-release",
    ]))?;
    step("build the passphrase strength module (wasm32, profile wasm-release)");
    exec(cargo().args([
        "build",
        "-p",
        "vroom-strength",
        "--lib",
        "--target",
        WASM_TARGET,
        "--profile",
        "wasm-release",
    ]))?;
    let out = target_dir()?.join(WASM_TARGET).join("wasm-release");
    let wasm = out.join("vroom-web.wasm");

    step("generate JS glue and assemble web-dist/");
    let dist = root().join("web-dist");
    assemble(&wasm, &out.join("vroom_strength.wasm"), &dist)?;
    report_sizes(&dist)?;
    Ok(dist)
}

/// Runs wasm-bindgen on `wasm` (the app) and `strength` (the strength module) and
/// writes the complete site into `dist`.
fn assemble(wasm: &Path, strength: &Path, dist: &Path) -> Result<()> {
    let app_dir = root().join("client-wasm");

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
        .replace("{{strength}}", &format!("/{strength_loader_name}"));
    fs::write(dist.join("index.html"), page)?;

    precompress(dist)
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
    for entry in fs::read_dir(dist)? {
        let path = entry?.path();
        if !path.is_file() {
            continue;
        }
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
