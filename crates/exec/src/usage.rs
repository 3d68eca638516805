//! What this process has used so far: CPU time and peak resident memory, for `STRATA_TIMINGS`
//! and the benchmarks.

/// CPU time this process has used so far (all threads, user and system; not its children),
/// in milliseconds.
pub fn cpu_ms() -> Option<f64> {
    use nix::sys::resource::{getrusage, UsageWho};
    let usage = getrusage(UsageWho::RUSAGE_SELF).ok()?;
    let ms = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 * 1000.0 + t.tv_usec() as f64 / 1000.0;
    Some(ms(usage.user_time()) + ms(usage.system_time()))
}

/// Peak resident memory in MiB, where the system reports it (Linux: `VmHWM` in
/// `/proc/self/status`).
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_running_process_has_used_some_cpu_and_memory() {
        let mut x = 0u64;
        for i in 0..2_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        assert!(super::cpu_ms().is_some_and(|ms| ms > 0.0));
        if cfg!(target_os = "linux") {
            assert!(super::peak_rss_mib().is_some_and(|mib| mib > 0.0));
        }
    }
}
