//! Phase timings for diagnosing slow runs: set `STRATA_TIMINGS=1` and every phase prints
//! its wall time on stderr, with the process's peak resident memory so far where the
//! system reports it (Linux: `VmHWM` in `/proc/self/status`).

use std::sync::OnceLock;
use std::time::Instant;

fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("STRATA_TIMINGS").is_some_and(|v| v != "0"))
}

/// Peak resident memory in MiB, when the system says.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Prints `name` and the time since `start` when timings are on.
pub fn phase(name: &str, start: Instant) {
    if enabled() {
        let ms = start.elapsed().as_secs_f64() * 1000.0;
        match peak_rss_mib() {
            Some(mib) => eprintln!("timing: {name:<28} {ms:>8.1} ms   peak {mib:>6.1} MiB"),
            None => eprintln!("timing: {name:<28} {ms:>8.1} ms"),
        }
    }
}
