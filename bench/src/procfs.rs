//! CPU time and memory of a server process, read from `/proc/<pid>/stat` and
//! `/proc/<pid>/status`.
//!
//! On a 2-core machine the load generator and the server compete for the CPU, so wall
//! time says little about the server: its own CPU-seconds (user + system, all threads)
//! over the measured window do.

use std::path::Path;
use std::sync::OnceLock;

use anyhow::Context;

/// One reading of a process.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sample {
    /// User plus system CPU time so far, all threads, in seconds.
    pub cpu_s: f64,
    /// Resident set size now, in bytes (`VmRSS`).
    pub rss: u64,
}

impl std::ops::Add for Sample {
    type Output = Sample;

    fn add(self, other: Sample) -> Sample {
        Sample {
            cpu_s: self.cpu_s + other.cpu_s,
            rss: self.rss + other.rss,
        }
    }
}

/// Reads `pid`'s CPU time and resident memory.
pub fn sample(pid: u32) -> anyhow::Result<Sample> {
    let dir = Path::new("/proc").join(pid.to_string());
    let stat = std::fs::read_to_string(dir.join("stat"))
        .with_context(|| format!("could not read /proc/{pid}/stat (has the server exited?)"))?;
    // The command name may hold spaces and parentheses: the fields start after the last ')'.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .context("/proc/<pid>/stat has no ')'")?
        .1
        .split_whitespace()
        .collect();
    // Fields 14 and 15 of stat(5) (utime, stime), counted from `state`, field 3.
    let ticks = |i: usize| -> anyhow::Result<u64> {
        fields
            .get(i)
            .context("/proc/<pid>/stat is too short")?
            .parse()
            .context("/proc/<pid>/stat holds a malformed number")
    };
    let cpu_s = (ticks(11)? + ticks(12)?) as f64 / clock_ticks() as f64;
    let status = std::fs::read_to_string(dir.join("status"))
        .with_context(|| format!("could not read /proc/{pid}/status"))?;
    let rss_kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .context("/proc/<pid>/status has no VmRSS")?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .context("malformed VmRSS")?;
    Ok(Sample {
        cpu_s,
        rss: rss_kib * 1024,
    })
}

/// Clock ticks per second of `/proc` CPU times (`getconf CLK_TCK`; 100 on Linux).
fn clock_ticks() -> u64 {
    static TICKS: OnceLock<u64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100)
    })
}
