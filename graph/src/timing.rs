//! Phase timings for diagnosing slow runs: set `STRATA_TIMINGS=1` and every phase prints
//! on stderr its wall time, when it ended (ms since the process began), the CPU time the
//! process has used so far (its own threads, not the `git` it runs) and its peak resident
//! memory so far where the system reports it (Linux: `VmHWM` in `/proc/self/status`).

use std::sync::OnceLock;
use std::time::Instant;

fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("STRATA_TIMINGS").is_some_and(|v| v != "0"))
}

/// The moment the process began, as far as timings know: the first call to [`begin`] or
/// [`phase`].
fn origin() -> Instant {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

/// Marks the start of the process, so each phase also prints when it ended (`at`).
pub fn begin() {
    origin();
}

/// Peak resident memory in MiB, when the system says.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// CPU time this process has used so far (all threads, user and system), in ms.
fn cpu_ms() -> Option<f64> {
    use nix::sys::resource::{getrusage, UsageWho};
    let usage = getrusage(UsageWho::RUSAGE_SELF).ok()?;
    let ms = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 * 1000.0 + t.tv_usec() as f64 / 1000.0;
    Some(ms(usage.user_time()) + ms(usage.system_time()))
}

/// Prints `name` and the time since `start` when timings are on.
pub fn phase(name: &str, start: Instant) {
    if enabled() {
        let ms = start.elapsed().as_secs_f64() * 1000.0;
        let at = origin().elapsed().as_secs_f64() * 1000.0;
        let cpu = cpu_ms()
            .map(|c| format!("   cpu {c:>7.1}"))
            .unwrap_or_default();
        let peak = peak_rss_mib()
            .map(|mib| format!("   peak {mib:>6.1} MiB"))
            .unwrap_or_default();
        eprintln!("timing: {name:<28} {ms:>8.1} ms   at {at:>7.1}{cpu}{peak}");
    }
}
