//! One run at a time per checkout.
//!
//! Two runs on one checkout would share sandboxes, terraform data directories and the
//! local state: one removing a sandbox while the other runs terraform in it fails both, or
//! leaves a sandbox that breaks later runs. A run therefore holds `.strata/run.lock`
//! (`flock`, released by the kernel when the process ends, however it ends) while it runs
//! tasks; a second run says who holds it and waits, and Ctrl-C stops the wait.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::Path;
use std::time::Duration;
use strata_graph::error::{Error, Result};

/// Held for as long as a run executes tasks.
pub struct RunLock {
    _file: File,
}

/// How often a waiting run checks the lock (and Ctrl-C).
const POLL: Duration = Duration::from_millis(200);

impl RunLock {
    /// Takes the checkout's run lock, waiting while another run holds it. `waiting` is
    /// told once who holds it. Returns `None` when Ctrl-C stopped the wait.
    pub fn acquire(
        strata_dir: &Path,
        cancelled: impl Fn() -> bool,
        waiting: impl FnOnce(&str),
    ) -> Result<Option<RunLock>> {
        std::fs::create_dir_all(strata_dir).map_err(|e| Error::write(strata_dir, e))?;
        let path = strata_dir.join("run.lock");
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        let mut waiting = Some(waiting);
        let mut polls = 0;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(std::fs::TryLockError::WouldBlock) => {
                    polls += 1;
                    let mut holder = String::new();
                    let _ = file.rewind();
                    let _ = file.read_to_string(&mut holder);
                    let holder = holder.trim();
                    // The holder writes who it is just after it takes the lock: give it a
                    // moment before saying "another run".
                    if !holder.is_empty() || polls > 5 {
                        if let Some(tell) = waiting.take() {
                            tell(if holder.is_empty() {
                                "another strata run"
                            } else {
                                holder
                            });
                        }
                    }
                    if cancelled() {
                        return Ok(None);
                    }
                    std::thread::sleep(POLL);
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(&path, e)),
            }
        }
        // Say who holds it, for the next run that waits: written over the previous holder's
        // line and then cut to length, so a reader never finds the file empty.
        let holder = format!(
            "strata run (pid {}) started {}",
            std::process::id(),
            since_epoch()
        );
        let _ = file.rewind();
        let _ = file.write_all(holder.as_bytes());
        let _ = file.set_len(holder.len() as u64);
        Ok(Some(RunLock { _file: file }))
    }
}

fn since_epoch() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format!("at unix time {secs}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_run_waits_and_is_told_who_holds_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let first = RunLock::acquire(dir.path(), || false, |_| panic!("free"))
            .unwrap()
            .unwrap();
        let told = std::sync::Mutex::new(String::new());
        let stop = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|s| {
            let second = s.spawn(|| {
                RunLock::acquire(
                    dir.path(),
                    || stop.load(std::sync::atomic::Ordering::SeqCst),
                    |who| *told.lock().unwrap() = who.to_string(),
                )
            });
            std::thread::sleep(Duration::from_millis(300));
            assert!(!second.is_finished(), "the second run waits");
            drop(first);
            let got = second.join().unwrap().unwrap();
            assert!(got.is_some());
        });
        assert!(told
            .lock()
            .unwrap()
            .contains(&format!("pid {}", std::process::id())));
        // Ctrl-C during the wait: no lock, no error.
        let _held = RunLock::acquire(dir.path(), || false, |_| {})
            .unwrap()
            .unwrap();
        std::thread::scope(|s| {
            let waiting = s.spawn(|| RunLock::acquire(dir.path(), || true, |_| {}));
            assert!(waiting.join().unwrap().unwrap().is_none());
        });
    }
}
