//! Handing memory the daemon freed back to the system.
//!
//! A request builds and drops models, snapshots and baselines of tens of MB. glibc's
//! allocator keeps what was freed in its heaps for reuse and returns only the top of each
//! heap, so without this a daemon stays as large as its largest request for as long as it
//! runs. `malloc_trim` returns every free page. Other allocators (musl, macOS) return large
//! blocks themselves; there this does nothing.

/// The size from which glibc maps a block of its own, returned to the system when freed
/// (glibc's default before it starts to adapt it).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MAP_FROM_BYTES: nix::libc::c_int = 128 * 1024;

/// Keeps glibc from holding large freed blocks in its heaps: called once, first thing in
/// `main`, before any other thread starts.
///
/// glibc maps blocks of at least 128 KiB one by one, but each time such a block is freed it
/// raises that bound to the block's size (up to 32 MiB), so that later large buffers (the
/// index, tables of a target per entry, vectors while they grow) come from the heaps and,
/// once freed, stay there in pieces too scattered to return. Fixing the bound keeps every
/// large block mapped and handed back when freed: a cold `strata affected` on the realistic
/// 10,000-stack workspace peaks at about 83 MiB instead of 94 MiB, in the same time (see
/// docs/performance.md). Other allocators (musl, macOS) keep no such bound; there this does
/// nothing.
pub fn return_large_blocks() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[allow(unsafe_code)]
    // SAFETY: `mallopt` takes two integers and no pointers; it is called before any
    // other thread allocates. A refusal (a zero return) leaves glibc's default, which is
    // only larger, never wrong.
    unsafe {
        nix::libc::mallopt(nix::libc::M_MMAP_THRESHOLD, MAP_FROM_BYTES);
    }
}

/// Returns the allocator's free pages to the system. Called between requests, when no
/// other thread of the daemon allocates much.
pub(crate) fn release_freed() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // glibc has no safe binding of it.
    #[allow(unsafe_code)]
    // SAFETY: `malloc_trim` takes no pointers and has no preconditions; glibc locks each
    // heap while it releases that heap's free pages.
    unsafe {
        nix::libc::malloc_trim(0);
    }
}

/// The daemon's memory, as `strata daemon status` reports it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Memory {
    /// Resident set size (VmRSS), in KiB.
    pub resident_kib: u64,
    /// Bytes the allocator has handed out and not had back (live data), in KiB; what the
    /// resident size holds beyond it is the allocator's free space, the binary and stacks.
    /// `None` where the allocator cannot tell (not glibc).
    pub heap_in_use_kib: Option<u64>,
}

/// The process's memory now; `None` without `/proc` (not Linux).
pub(crate) fn measure() -> Option<Memory> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let resident_kib = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(Memory {
        resident_kib,
        heap_in_use_kib: heap_in_use().map(|bytes| bytes / 1024),
    })
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn heap_in_use() -> Option<u64> {
    #[allow(unsafe_code)]
    // SAFETY: `mallinfo2` takes no arguments and returns a struct by value; glibc (2.33 and
    // later) locks each heap while it sums it.
    let info = unsafe { nix::libc::mallinfo2() };
    // Small blocks in the heaps, and the large ones glibc maps one by one.
    Some((info.uordblks + info.hblkhd) as u64)
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn heap_in_use() -> Option<u64> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_in_use_is_measured_and_follows_allocations() {
        let before = measure().expect("Linux has /proc/self/status");
        assert!(before.resident_kib > 0);
        let block = vec![1u8; 64 << 20];
        let during = measure().unwrap();
        assert!(
            during.resident_kib >= before.resident_kib + 60 * 1024,
            "{before:?} -> {during:?}"
        );
        if let (Some(a), Some(b)) = (before.heap_in_use_kib, during.heap_in_use_kib) {
            assert!(b >= a + 64 * 1024, "{before:?} -> {during:?}");
        }
        drop(block);
    }
}
