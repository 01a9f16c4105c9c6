//! Checks that the web app's build is reproducible: the same sources give the same
//! bytes in `web-dist/`, whatever the checkout's path.
//!
//! - [`quick`] (a step of `cargo xtask test`): copies the sources to another path and
//!   builds there, sharing the target directory, so the registry's crates are not
//!   built again but the workspace's crates are (their path is part of their identity
//!   to cargo), then compares with `web-dist/`.
//! - [`full`] (`cargo xtask reproducible`): two builds from scratch, each from its own
//!   copy of the sources at its own path with its own empty target directory.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};

use crate::web::{self, files_under};
use crate::{root, setup, step, target_dir};

/// Builds a copy of the sources at another path with the shared target directory and
/// compares its `web-dist/` with the one [`web::build`] made.
pub(crate) fn quick(dist: &Path) -> Result<()> {
    step("reproducible build: the web app again, from a copy of the sources elsewhere");
    let scratch = scratch()?;
    let copy = copy_sources(&scratch.path().join("elsewhere").join("checkout"))?;
    let started = Instant::now();
    web::build_in(&copy, &target_dir()?, &copy.join("web-dist"))?;
    compare(dist, &copy.join("web-dist"))?;
    eprintln!(
        "reproducible: {} matches the build from {} ({:.0} s)",
        dist.display(),
        copy.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Two builds from scratch in two copies of the sources, compared file by file.
pub(crate) fn full() -> Result<()> {
    setup::wasm_target()?;
    let scratch = scratch()?;
    let mut dists = Vec::new();
    for (n, path) in ["a/vroom", "second/build/of/vroom"].iter().enumerate() {
        let copy = copy_sources(&scratch.path().join(path))?;
        step(&format!(
            "reproducible build {} of 2, from scratch in {}",
            n + 1,
            copy.display()
        ));
        let started = Instant::now();
        let dist = copy.join("web-dist");
        web::build_in(&copy, &copy.join("target"), &dist)?;
        eprintln!(
            "build {} took {:.0} s",
            n + 1,
            started.elapsed().as_secs_f64()
        );
        dists.push(dist);
    }
    compare(&dists[0], &dists[1])?;
    let manifest = fs::read_to_string(dists[0].join(web::MANIFEST))?;
    eprintln!("\nreproducible: both builds are byte for byte the same\n\n{manifest}");
    Ok(())
}

/// A temporary directory, removed when dropped (after a failure too).
fn scratch() -> Result<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix("vroom-reproducible-")
        .tempdir()
        .context("could not make a temporary directory")
}

/// Copies the workspace's sources (what git tracks, and new files it does not ignore)
/// to `to`; returns `to`.
fn copy_sources(to: &Path) -> Result<PathBuf> {
    let output = Command::new("git")
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .current_dir(root())
        .output()
        .context("could not run git (the sources to copy are the ones git knows)")?;
    if !output.status.success() {
        bail!(
            "git ls-files failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    for name in output.stdout.split(|&b| b == 0).filter(|n| !n.is_empty()) {
        let name = std::str::from_utf8(name).context("a file name is not UTF-8")?;
        let from = root().join(name);
        // Deleted but not yet committed.
        if !from.is_file() {
            continue;
        }
        let dest = to.join(name);
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::copy(&from, &dest).with_context(|| format!("could not copy {name}"))?;
    }
    Ok(to.to_owned())
}

/// Fails, naming every difference, unless `a` and `b` hold the same files with the same
/// bytes.
fn compare(a: &Path, b: &Path) -> Result<()> {
    let (files_a, files_b) = (files_under(a)?, files_under(b)?);
    let mut differences = Vec::new();
    for file in files_a.iter().filter(|f| !files_b.contains(f)) {
        differences.push(format!("only in {}: {file}", a.display()));
    }
    for file in files_b.iter().filter(|f| !files_a.contains(f)) {
        differences.push(format!("only in {}: {file}", b.display()));
    }
    for file in files_a.iter().filter(|f| files_b.contains(f)) {
        if fs::read(a.join(file))? != fs::read(b.join(file))? {
            differences.push(format!("differs: {file}"));
        }
    }
    if !differences.is_empty() {
        bail!(
            "the web app's build is not reproducible: {} and {} differ:\n  {}",
            a.display(),
            b.display(),
            differences.join("\n  ")
        );
    }
    eprintln!("{} files compared, all the same", files_a.len());
    Ok(())
}
