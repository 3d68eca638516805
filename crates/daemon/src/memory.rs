//! Handing memory the daemon freed back to the system.
//!
//! A request builds and drops models, snapshots and baselines of tens of MB. glibc's
//! allocator keeps what was freed in its heaps for reuse and returns only the top of each
//! heap, so without this a daemon stays as large as its largest request for as long as it
//! runs. `malloc_trim` returns every free page. Other allocators (musl, macOS) return large
//! blocks themselves; there this does nothing.

/// Returns the allocator's free pages to the system. Called between requests, when no
/// other thread of the daemon allocates much.
pub(crate) fn release_freed() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // The one call into C in strata: glibc has no safe binding of it.
    #[allow(unsafe_code)]
    // SAFETY: `malloc_trim` takes no pointers and has no preconditions; glibc locks each
    // heap while it releases that heap's free pages.
    unsafe {
        nix::libc::malloc_trim(0);
    }
}
