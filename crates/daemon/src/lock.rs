//! The daemon's lock file (`.strata/daemon/lock`) and its failure record
//! (`.strata/daemon/failed`).
//!
//! Invariants:
//!
//! 1. A daemon holds the lock (`flock`, exclusive) from before it binds its socket until it
//!    exits. The kernel releases it however the process ends (stopped, killed, crashed), so
//!    a held lock means a live daemon, answering or not, and a free one means none.
//! 2. The file says who holds it and how far it got: `<pid> starting` from when it takes the
//!    lock, `<pid> ready` once it answers, nothing after a deliberate exit. A free lock on a
//!    file that still says `starting` is a daemon that died before it was ready (killed, or
//!    it crashed): the next client records that in `failed` (see [`note_early_death`]), as
//!    a daemon that fails with an error does itself.
//! 3. The content is trusted only while the lock is held, or under the lock: a pid from a
//!    free lock may name another process by now.

use super::{daemon_error, failed_path, lock_path, log_path};
use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use std::fs::{File, OpenOptions};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;
use strata_graph::error::Error;

/// How far the daemon holding the lock got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    Starting,
    Ready,
}

/// The daemon holding the lock, as its lock file says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holder {
    /// Unknown for an instant after it takes the lock, or for a daemon of a strata build
    /// that did not write it.
    pub pid: Option<u32>,
    pub ready: bool,
}

fn parse(text: &str) -> Option<(u32, Phase)> {
    let mut words = text.split_whitespace();
    let pid = words.next()?.parse().ok()?;
    let phase = match words.next()? {
        "starting" => Phase::Starting,
        "ready" => Phase::Ready,
        _ => return None,
    };
    Some((pid, phase))
}

/// Whether a daemon runs (or is starting) for the workspace: its lock is held. A lock that
/// cannot be taken for another reason (a file system without locks) is not "held": the
/// daemon started then reports that error.
pub fn lock_held(root: &Path) -> bool {
    let Ok(file) = File::open(lock_path(root)) else {
        return false;
    };
    matches!(
        Flock::lock(file, FlockArg::LockSharedNonblock),
        Err((_, Errno::EWOULDBLOCK))
    )
}

/// The daemon that holds the workspace's lock, if one does.
pub fn holder(root: &Path) -> Option<Holder> {
    if !lock_held(root) {
        return None;
    }
    let parsed = std::fs::read_to_string(lock_path(root))
        .ok()
        .and_then(|text| parse(&text));
    Some(Holder {
        pid: parsed.map(|(pid, _)| pid),
        ready: parsed.is_some_and(|(_, phase)| phase == Phase::Ready),
    })
}

/// The file (device, inode) this process locked: the lock file's path may name another
/// daemon's file by now (`.strata` deleted and a new daemon started while this one was
/// still ending), which this one must not write.
static LOCKED: OnceLock<(u64, u64)> = OnceLock::new();

/// Whether the lock file at its path is still the one this process locked.
fn still_ours(path: &Path) -> bool {
    let Some(&(dev, ino)) = LOCKED.get() else {
        return false;
    };
    std::fs::metadata(path).is_ok_and(|m| (m.dev(), m.ino()) == (dev, ino))
}

/// Says in the lock file (held by this process) how far this daemon got.
pub(crate) fn set_phase(root: &Path, phase: Phase) {
    let word = match phase {
        Phase::Starting => "starting",
        Phase::Ready => "ready",
    };
    let path = lock_path(root);
    if still_ours(&path) {
        let _ = std::fs::write(path, format!("{} {word}\n", std::process::id()));
    }
}

/// Empties the lock file (held by this process) before a deliberate exit; a file at its
/// path that is not the one this process locked is another daemon's, and left alone.
pub(crate) fn clear(root: &Path) {
    let path = lock_path(root);
    if still_ours(&path) {
        let _ = std::fs::write(path, "");
    }
}

/// Why the daemon's lock could not be taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LockError {
    /// Another process holds it: another daemon serves or is starting.
    Held,
    /// Locking itself failed (`ENOLCK`, a file system without `flock`, ...).
    Failed(Errno),
}

/// Takes the daemon lock on `file`. A command checking whether a daemon runs holds it
/// shared for an instant ([`lock_held`]), so a lock held that way is tried again for a
/// moment; one held by another daemon stays held.
pub(crate) fn exclusive(file: File) -> Result<Flock<File>, LockError> {
    if let Ok(m) = file.metadata() {
        let _ = LOCKED.set((m.dev(), m.ino()));
    }
    let mut file = Some(file);
    retry(|| {
        let f = file.take().expect("given back on every failure");
        Flock::lock(f, FlockArg::LockExclusiveNonblock).map_err(|(f, errno)| {
            file = Some(f);
            errno
        })
    })
}

/// Calls `try_lock` until it succeeds, fails for another reason than a held lock, or has
/// found the lock held for about 200 ms.
fn retry<T>(mut try_lock: impl FnMut() -> Result<T, Errno>) -> Result<T, LockError> {
    for _ in 0..10 {
        match try_lock() {
            Ok(lock) => return Ok(lock),
            Err(Errno::EWOULDBLOCK | Errno::EINTR) => {}
            Err(errno) => return Err(LockError::Failed(errno)),
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Err(LockError::Held)
}

/// The error a daemon that cannot take its lock stops with.
pub(crate) fn lock_error(root: &Path, error: LockError) -> Error {
    match error {
        LockError::Held => daemon_error(
            format!(
                "another daemon serves or is starting for {}",
                root.display()
            ),
            "see `strata daemon status`",
        ),
        LockError::Failed(errno) => daemon_error(
            format!(
                "cannot lock {}: {} ({errno:?})",
                lock_path(root).display(),
                errno.desc()
            ),
            "the daemon needs file locks (flock) where the workspace lives; on a network file \
             system, move the checkout to a local disk to use it. strata works without it",
        ),
    }
}

/// Remembers why a daemon failed to start, so commands do not start one again for an hour.
pub(crate) fn record_failure(root: &Path, why: &str) {
    let _ = std::fs::write(failed_path(root), format!("{}\n", why.trim_end()));
}

/// Forgets the last failure: a daemon started.
pub(crate) fn forget_failure(root: &Path) {
    let _ = std::fs::remove_file(failed_path(root));
}

/// Why the last daemon failed to start, if it did.
pub fn last_failure(root: &Path) -> Option<String> {
    std::fs::read_to_string(failed_path(root))
        .ok()
        .map(|text| text.trim().to_string())
}

/// Whether a daemon failed to start for the workspace within the last hour: one that cannot
/// start (say, at the inotify limit) is not started again by every command.
pub(crate) fn failed_recently(root: &Path) -> bool {
    std::fs::metadata(failed_path(root))
        .and_then(|m| m.modified())
        .ok()
        .and_then(|at| at.elapsed().ok())
        .is_some_and(|age| age < Duration::from_secs(3600))
}

/// Records a daemon that died before it was ready (invariant 2), once; true when it did.
pub(crate) fn note_early_death(root: &Path) -> bool {
    let path = lock_path(root);
    let starting = |text: &str| match parse(text) {
        Some((pid, Phase::Starting)) => Some(pid),
        _ => None,
    };
    let Some(pid) = std::fs::read_to_string(&path)
        .ok()
        .and_then(|t| starting(&t))
    else {
        return false;
    };
    // Under the lock, so no daemon can start (and write the file) meanwhile.
    let Ok(file) = OpenOptions::new().write(true).open(&path) else {
        return false;
    };
    let Ok(lock) = Flock::lock(file, FlockArg::LockExclusiveNonblock) else {
        return false;
    };
    if std::fs::read_to_string(&path)
        .ok()
        .and_then(|t| starting(&t))
        != Some(pid)
    {
        return false;
    }
    record_failure(
        root,
        &format!(
            "the daemon (pid {pid}) exited before it was ready: it was killed or crashed \
             (its log: {})",
            log_path(root).display()
        ),
    );
    let _ = lock.set_len(0);
    true
}

/// After a daemon was killed: removes its socket and empties its lock file, unless another
/// daemon took the lock meanwhile.
pub(crate) fn clean_up_after(root: &Path) {
    let path = lock_path(root);
    let Ok(file) = OpenOptions::new().write(true).open(&path) else {
        return;
    };
    let Ok(lock) = Flock::lock(file, FlockArg::LockExclusiveNonblock) else {
        return;
    };
    let _ = std::fs::remove_file(super::socket_path(root));
    let _ = lock.set_len(0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_is_tried_again_then_reported_as_another_daemon() {
        let mut tries = 0;
        let got = retry(|| -> Result<(), Errno> {
            tries += 1;
            Err(Errno::EWOULDBLOCK)
        });
        assert_eq!(got, Err(LockError::Held));
        assert_eq!(tries, 10);
        let mut tries = 0;
        let got = retry(|| {
            tries += 1;
            if tries < 3 {
                Err(Errno::EWOULDBLOCK)
            } else {
                Ok(tries)
            }
        });
        assert_eq!(got, Ok(3));
    }

    #[test]
    fn a_lock_that_fails_otherwise_reports_the_real_error() {
        let mut tries = 0;
        let got = retry(|| -> Result<(), Errno> {
            tries += 1;
            Err(Errno::ENOLCK)
        });
        assert_eq!(got, Err(LockError::Failed(Errno::ENOLCK)));
        assert_eq!(tries, 1, "a failing lock is not tried again");
        let root = Path::new("/work/ws");
        let error = lock_error(root, got.unwrap_err()).to_string();
        assert!(
            error.contains("cannot lock /work/ws/.strata/daemon/lock") && error.contains("ENOLCK"),
            "{error}"
        );
        assert!(!error.contains("another daemon"), "{error}");
    }

    #[test]
    fn the_lock_file_says_who_holds_it_and_how_far_it_got() {
        assert_eq!(parse("42 starting\n"), Some((42, Phase::Starting)));
        assert_eq!(parse("42 ready\n"), Some((42, Phase::Ready)));
        assert_eq!(parse(""), None);
        assert_eq!(parse("42"), None);
        assert_eq!(parse("x ready"), None);
    }

    #[test]
    fn a_daemon_that_died_starting_is_recorded_once() {
        let dir = tempfile_dir();
        let root = dir.as_path();
        std::fs::create_dir_all(super::super::dir(root)).unwrap();
        std::fs::write(lock_path(root), "4242 starting\n").unwrap();
        assert!(note_early_death(root));
        let why = last_failure(root).unwrap();
        assert!(
            why.contains("pid 4242") && why.contains("before it was ready"),
            "{why}"
        );
        assert!(failed_recently(root));
        assert!(!note_early_death(root), "recorded twice");
        // A daemon that got ready, or exited deliberately, is no failure.
        forget_failure(root);
        std::fs::write(lock_path(root), "4242 ready\n").unwrap();
        assert!(!note_early_death(root));
        std::fs::write(lock_path(root), "").unwrap();
        assert!(!note_early_death(root));
        assert_eq!(last_failure(root), None);
        // Nor is one that still holds the lock.
        std::fs::write(lock_path(root), "4242 starting\n").unwrap();
        let held = Flock::lock(
            File::open(lock_path(root)).unwrap(),
            FlockArg::LockExclusiveNonblock,
        )
        .unwrap();
        assert!(lock_held(root));
        assert!(!note_early_death(root));
        drop(held);
        assert!(!lock_held(root));
        let _ = std::fs::remove_dir_all(root);
    }

    /// A fresh directory under the system's temporary directory.
    fn tempfile_dir() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "strata-daemon-lock-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
