//! Helpers for the daemon tests: running `strata` with a chosen daemon setting, asking
//! the daemon only, computing in process, and a daemon stopped when a test ends.

use super::{target, Repo, Run};
use serde_json::Value;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// The variables by which strata knows it runs on CI (it then starts no daemon).
pub const CI_VARIABLES: [&str; 5] = [
    "CI",
    "JENKINS_URL",
    "TF_BUILD",
    "TEAMCITY_VERSION",
    "CODEBUILD_BUILD_ID",
];

/// Runs the strata binary `exe` in `dir` with extra environment variables. The defaults are
/// `STRATA_DAEMON=manual` (ask a running daemon, start none) and no CI variables, so only
/// `env` decides.
pub fn strata_with(exe: &Path, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut command = Command::new(exe);
    command
        .current_dir(dir)
        .args(args)
        .env_remove("GIT_DIR")
        .env("STRATA_DAEMON", "manual");
    for ci in CI_VARIABLES {
        command.env_remove(ci);
    }
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().unwrap().into()
}

/// [`strata_with`] the built binary in the repository root.
pub fn strata_env(repo: &Repo, args: &[&str], env: &[(&str, &str)]) -> Run {
    strata_with(
        Path::new(env!("CARGO_BIN_EXE_strata")),
        repo.path(),
        args,
        env,
    )
}

pub const AFFECTED: &[&str] = &["--json", "affected", "--base", "main"];

/// `strata --json affected --base main`, asking the daemon first.
pub fn via_daemon(repo: &Repo) -> Run {
    strata_env(repo, AFFECTED, &[])
}

/// The same command for a client that cannot run `git`: it gets an answer only from the
/// daemon, since computing one itself needs git. A daemon that fails (and leaves the work to
/// the client) cannot pass for one that answered.
/// Fails the test when the daemon did not answer; `what` names the step.
#[track_caller]
pub fn daemon_only(repo: &Repo, what: &str) -> Value {
    let run = strata_env(repo, AFFECTED, &[("PATH", "/nonexistent-strata-test-path")]);
    assert_eq!(
        run.code, 0,
        "{what}: the daemon did not answer (the client, without git, could not compute the \
         answer itself)\nstderr:\n{}",
        run.stderr
    );
    run.json()
}

/// The same command computed in process (`STRATA_DAEMON=0`).
pub fn in_process(repo: &Repo) -> Run {
    strata_env(repo, AFFECTED, &[("STRATA_DAEMON", "0")])
}

/// Whether process `pid` still runs. A zombie (exited, not yet reaped by whoever adopted
/// the detached daemon) counts as gone, but only once all its threads are: a main thread
/// that has exited shows as a zombie while the process's other threads are still being torn
/// down, and they still hold its files (the daemon's lock among them).
pub fn alive(pid: u64) -> bool {
    let signalled = Command::new("kill")
        .args(["-0", &pid.to_string()])
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap()
        .success();
    if !signalled {
        return false;
    }
    let zombie = match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    };
    let threads = std::fs::read_dir(format!("/proc/{pid}/task")).map_or(0, |d| d.count());
    !zombie || threads > 1
}

/// Waits up to `limit` for process `pid` to exit; true when it did.
pub fn exits_within(pid: u64, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while alive(pid) {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    true
}

/// The pid in "strata daemon pid N serves ROOT" / "strata daemon pid N already serves ROOT".
pub fn pid_in(stderr: &str) -> u64 {
    stderr
        .split_once("strata daemon pid ")
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .and_then(|pid| pid.parse().ok())
        .unwrap_or_else(|| panic!("no pid in: {stderr}"))
}

/// A daemon started for one repository; stopped when the test ends, failing or not.
pub struct Daemon<'a> {
    pub repo: &'a Repo,
    pub pid: u64,
}

impl<'a> Daemon<'a> {
    #[track_caller]
    pub fn start(repo: &'a Repo) -> Daemon<'a> {
        let run = repo.strata(&["daemon", "start"]);
        run.assert_ok();
        let pid = pid_in(&run.stderr);
        Daemon { repo, pid }
    }

    /// `strata --json daemon status` (itself one request to the daemon).
    #[track_caller]
    pub fn status(&self) -> Value {
        let run = self.repo.strata(&["--json", "daemon", "status"]);
        run.assert_ok();
        run.json()
    }

    #[track_caller]
    pub fn requests(&self) -> u64 {
        let status = self.status();
        status["requests"]
            .as_u64()
            .unwrap_or_else(|| panic!("no requests count: {status}"))
    }
}

impl Drop for Daemon<'_> {
    fn drop(&mut self) {
        let _ = self.repo.strata(&["daemon", "stop"]);
        if !exits_within(self.pid, Duration::from_secs(5)) {
            let _ = Command::new("kill").arg(self.pid.to_string()).status();
        }
    }
}

pub fn reason(json: &Value, label: &str) -> Option<String> {
    target(json, label).map(|t| t["reason"].as_str().unwrap().to_string())
}

pub fn labels(json: &Value) -> Vec<String> {
    super::label_reasons(json)
        .into_iter()
        .map(|(label, _)| label)
        .collect()
}

/// Asks the daemon (as any client, and as one that cannot compute the answer itself), then
/// computes in process: all must succeed with the same document.
#[track_caller]
pub fn same_answer(repo: &Repo, step: &str) -> Value {
    let daemon = via_daemon(repo);
    let only = daemon_only(repo, step);
    let direct = in_process(repo);
    assert_eq!(
        (daemon.code, direct.code),
        (0, 0),
        "{step}: exit codes (daemon, in process)\ndaemon stderr:\n{}\nin-process stderr:\n{}",
        daemon.stderr,
        direct.stderr
    );
    let (daemon, direct) = (daemon.json(), direct.json());
    assert_eq!(
        daemon, direct,
        "{step}: the daemon's answer (left) differs from the in-process one (right)"
    );
    assert_eq!(
        only, direct,
        "{step}: the daemon's own answer (left) differs from the in-process one (right)"
    );
    daemon
}

/// Whether a daemon answers for the repository (`strata daemon status`).
pub fn daemon_up(repo: &Repo) -> bool {
    repo.strata(&["daemon", "status"]).code == 0
}

/// Sends `signal` (a name such as `STOP`) to process `pid`.
pub fn signal(pid: u64, signal: &str) {
    let _ = Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .stderr(std::process::Stdio::null())
        .status();
}

/// A daemon process stopped with SIGSTOP; when dropped (the test ends, failing or not) it is
/// continued and killed if it still runs, so no stopped process outlives the test.
pub struct Frozen {
    pub pid: u64,
}

impl Frozen {
    pub fn stop(pid: u64) -> Frozen {
        signal(pid, "STOP");
        Frozen { pid }
    }
}

impl Drop for Frozen {
    fn drop(&mut self) {
        // Only while the pid is still a strata daemon: a pid may be reused once it exits.
        let ours = match std::fs::read(format!("/proc/{}/cmdline", self.pid)) {
            Ok(cmdline) => String::from_utf8_lossy(&cmdline).contains("daemon"),
            Err(_) => !Path::new("/proc/self").exists(),
        };
        if alive(self.pid) && ours {
            signal(self.pid, "KILL");
            signal(self.pid, "CONT");
        }
    }
}

/// Whether a process holds the workspace's daemon lock (`.strata/daemon/lock`) exclusively.
pub fn lock_is_held(root: &std::path::Path) -> bool {
    let Ok(file) = std::fs::File::open(root.join(".strata/daemon/lock")) else {
        return false;
    };
    matches!(
        file.try_lock_shared(),
        Err(std::fs::TryLockError::WouldBlock)
    )
}
