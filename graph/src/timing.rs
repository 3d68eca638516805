//! Phase timings for diagnosing slow runs: set `STRATA_TIMINGS=1` and every phase prints
//! its wall time on stderr.

use std::sync::OnceLock;
use std::time::Instant;

fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("STRATA_TIMINGS").is_some_and(|v| v != "0"))
}

/// Prints `name` and the time since `start` when timings are on.
pub fn phase(name: &str, start: Instant) {
    if enabled() {
        eprintln!(
            "timing: {name:<28} {:>8.1} ms",
            start.elapsed().as_secs_f64() * 1000.0
        );
    }
}
