//! A supervisor that outlives strata for one purpose: when strata dies without cleaning up
//! (`kill -9`, an out-of-memory kill, a crash), the tools it started must not go on applying
//! as orphans, holding state locks, while nobody watches.
//!
//! Tools run in process groups of their own (so a terminal's Ctrl-C reaches strata, which
//! then interrupts them in order). That also detaches them from strata's death. The reaper
//! is a second strata process (`strata __reap`, started once per run) reading a pipe from
//! its parent: `+<pgid>` when a tool starts, `-<pgid>` when it ends, `!<pgid>` when strata
//! sent it SIGINT. End of file on that pipe means the parent is gone, however it went: the
//! reaper then sends SIGINT to every group still running that strata did not interrupt
//! already, as strata itself does on Ctrl-C (terraform stops at a safe point and releases
//! its state lock; it does not on SIGTERM, and a second SIGINT makes it exit at once),
//! waits [`GRACE`], sends SIGKILL to what remains, and exits. A parent that finishes normally
//! has no groups left, so the reaper just exits.

use std::collections::BTreeSet;
use std::io::{BufRead, Write};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long tools get to stop after SIGINT before SIGKILL.
pub const GRACE: Duration = Duration::from_secs(20);

/// The argument that makes the strata binary run [`reap`].
pub const REAP_ARG: &str = "__reap";

static PIPE: Mutex<Option<ChildStdin>> = Mutex::new(None);

/// Starts the reaper (the running strata binary with [`REAP_ARG`]); tool process groups
/// started after this are reported to it. Best effort: without a reaper, tools still run,
/// they are only not cleaned up after a crash.
pub fn supervise() {
    let mut pipe = PIPE.lock().unwrap_or_else(|e| e.into_inner());
    if pipe.is_some() {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let mut cmd = Command::new(exe);
    cmd.arg(REAP_ARG)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // Not in strata's group: a terminal's Ctrl-C must not stop it before strata has
        // stopped its tools.
        cmd.process_group(0);
    }
    if let Ok(mut child) = cmd.spawn() {
        *pipe = child.stdin.take();
        // Reaped by the kernel's init when it exits; strata does not wait for it.
        std::mem::forget(child);
    }
}

/// Tells the reaper a tool's process group started (`true`) or ended.
pub(crate) fn report(pgid: u32, started: bool) {
    send(if started { '+' } else { '-' }, pgid);
}

/// Tells the reaper strata sent the group SIGINT: it must not send another.
pub(crate) fn interrupted(pgid: u32) {
    send('!', pgid);
}

fn send(sign: char, pgid: u32) {
    let mut pipe = PIPE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(p) = pipe.as_mut() {
        let line = format!("{sign}{pgid}\n");
        if p.write_all(line.as_bytes())
            .and_then(|_| p.flush())
            .is_err()
        {
            *pipe = None;
        }
    }
}

/// The reaper's main loop: follow the parent's reports until the pipe closes, then stop
/// whatever is still running.
pub fn reap(input: impl BufRead) {
    let mut groups: BTreeSet<i32> = BTreeSet::new();
    let mut interrupted: BTreeSet<i32> = BTreeSet::new();
    for line in input.lines() {
        let Ok(line) = line else { break };
        let (sign, pgid) = line.split_at(line.len().min(1));
        let Ok(pgid) = pgid.trim().parse::<i32>() else {
            continue;
        };
        match sign {
            "+" => {
                groups.insert(pgid);
            }
            "-" => {
                groups.remove(&pgid);
                interrupted.remove(&pgid);
            }
            "!" => {
                interrupted.insert(pgid);
            }
            _ => {}
        }
    }
    stop(&groups, &interrupted);
}

fn stop(groups: &BTreeSet<i32>, interrupted: &BTreeSet<i32>) {
    use nix::sys::signal::{kill, Signal};
    use nix::unistd::Pid;
    let alive = |g: i32| kill(Pid::from_raw(-g), None).is_ok();
    for &g in groups.difference(interrupted) {
        let _ = kill(Pid::from_raw(-g), Signal::SIGINT);
    }
    let deadline = Instant::now() + GRACE;
    while groups.iter().any(|&g| alive(g)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    for &g in groups {
        if alive(g) {
            let _ = kill(Pid::from_raw(-g), Signal::SIGKILL);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_still_running_when_the_pipe_closes_are_stopped() {
        use std::os::unix::process::CommandExt;
        let mut ended = Command::new("sleep")
            .arg("30")
            .process_group(0)
            .spawn()
            .unwrap();
        let mut running = Command::new("sleep")
            .arg("30")
            .process_group(0)
            .spawn()
            .unwrap();
        let input = format!("+{}\n+{}\n-{}\n", ended.id(), running.id(), ended.id());
        // Reaped as it ends (here its parent is this test, not init).
        let waiter = std::thread::spawn(move || running.wait().unwrap());
        let start = Instant::now();
        reap(input.as_bytes());
        // The group still reported as running was stopped (SIGINT ends `sleep` at once).
        assert!(!waiter.join().unwrap().success());
        assert!(start.elapsed() < GRACE, "{:?}", start.elapsed());
        // The one reported ended was left alone.
        assert!(ended.try_wait().unwrap().is_none());
        let _ = ended.kill();
        let _ = ended.wait();
    }

    #[test]
    fn a_group_strata_interrupted_already_gets_no_second_sigint() {
        use std::os::unix::process::CommandExt;
        let dir = tempfile::tempdir().unwrap();
        let seen = dir.path().join("seen");
        // Notes each SIGINT it gets, and ends on its own a moment later (as terraform
        // finishing its state write after the first SIGINT).
        let script = format!(
            "trap 'echo INT >> {}' INT; sleep 1; sleep 1",
            seen.display()
        );
        let mut tool = Command::new("sh")
            .args(["-c", &script])
            .process_group(0)
            .spawn()
            .unwrap();
        let id = tool.id();
        let waiter = std::thread::spawn(move || tool.wait().unwrap());
        reap(format!("+{id}\n!{id}\n").as_bytes());
        waiter.join().unwrap();
        assert_eq!(std::fs::read_to_string(&seen).unwrap_or_default(), "");
    }
}
