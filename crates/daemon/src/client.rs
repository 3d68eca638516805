//! Everything a command does with the workspace's daemon: ask it ([`call`], [`affected`]),
//! decide whether it may be asked or started ([`Use`]), start it ([`autostart`], [`start`],
//! [`spawn`]), say how it is ([`status`]) and stop it ([`stop`]). Nothing here prints: the
//! command says what happened.
//!
//! A daemon is alive when it says something: a client gives up on one that says nothing for
//! [`SILENCE_LIMIT`] (connecting included), and on one that still works after
//! [`ANSWER_LIMIT`], and answers by itself. A daemon that holds its lock but does not answer
//! (stopped, or stuck) is reported as such, and [`stop`] ends it with signals.

use super::lock::{self, Holder};
use super::MAX_SOCKET_PATH;
use super::{
    build_id, daemon_error, git_config_env, log_path, socket_path, Envelope, Request, Response,
    Status,
};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use strata_graph::affected::Affected;
use strata_graph::error::{Error, Result};

/// How long a client waits for the daemon to say anything: to take the connection, then
/// between lines (a daemon at work sends a `working` line every 200 ms).
pub const SILENCE_LIMIT: Duration = Duration::from_secs(2);

/// How long a client waits for an answer from a daemon that keeps saying it works.
pub const ANSWER_LIMIT: Duration = Duration::from_secs(30);

/// How long [`stop`] waits for a daemon that said it stops.
pub const STOP_WAIT: Duration = Duration::from_secs(10);

/// How long [`stop`] gives a daemon that does not answer between SIGTERM and SIGKILL.
pub const TERM_GRACE: Duration = Duration::from_secs(3);

/// What asking the daemon gave.
#[derive(Debug)]
pub enum Answer {
    Response(Response),
    /// No daemon answers the socket: there is none, nobody listens on it, or the daemon
    /// closed the connection without an answer (it stops).
    NoDaemon,
    /// A daemon holds the socket and did not answer in time.
    Unresponsive(Unresponsive),
}

/// A daemon that did not answer in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unresponsive {
    /// The process holding the daemon's lock, when the lock file says.
    pub pid: Option<u32>,
    pub how: Silence,
}

/// How a daemon failed to answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Silence {
    /// It said nothing for [`SILENCE_LIMIT`].
    Silent,
    /// It holds its lock, and has no socket to answer on.
    NoSocket,
    /// It kept saying it works, past [`ANSWER_LIMIT`].
    StillWorking,
    /// It said it stops, and did not within [`STOP_WAIT`].
    DidNotStop,
}

impl Unresponsive {
    fn of(root: &Path, how: Silence) -> Unresponsive {
        Unresponsive {
            pid: lock::holder(root).and_then(|h| h.pid),
            how,
        }
    }
}

impl std::fmt::Display for Unresponsive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.pid {
            Some(pid) => write!(f, "the daemon (pid {pid})")?,
            None => write!(f, "the daemon")?,
        }
        match self.how {
            Silence::Silent => write!(f, " did not answer within {}s", SILENCE_LIMIT.as_secs()),
            Silence::NoSocket => write!(f, " holds its lock but has no socket to answer on"),
            Silence::StillWorking => {
                write!(f, " was still working after {}s", ANSWER_LIMIT.as_secs())
            }
            Silence::DidNotStop => write!(
                f,
                " did not stop within {}s of being asked",
                STOP_WAIT.as_secs()
            ),
        }
    }
}

/// Sends one request to the workspace's daemon and waits for its answer, within the limits
/// above.
pub fn call(root: &Path, request: Request) -> Answer {
    let socket = socket_path(root);
    if !socket.exists() || socket.as_os_str().len() > MAX_SOCKET_PATH {
        return Answer::NoDaemon;
    }
    let started = Instant::now();
    let silent = |how| Answer::Unresponsive(Unresponsive::of(root, how));
    let stream = match connect(&socket, SILENCE_LIMIT) {
        Ok(stream) => stream,
        Err(e) if timed_out(&e) => return silent(Silence::Silent),
        Err(_) => return Answer::NoDaemon,
    };
    let envelope = Envelope {
        build: build_id(),
        git_env: git_config_env(),
        request,
    };
    let Ok(mut line) = serde_json::to_vec(&envelope) else {
        return Answer::NoDaemon;
    };
    line.push(b'\n');
    if stream.set_write_timeout(Some(SILENCE_LIMIT)).is_err() {
        return Answer::NoDaemon;
    }
    match (&stream).write_all(&line) {
        Ok(()) => {}
        Err(e) if timed_out(&e) => return silent(Silence::Silent),
        Err(_) => return Answer::NoDaemon,
    }
    let mut reader = BufReader::new(stream);
    let mut working = false;
    loop {
        let left = ANSWER_LIMIT.saturating_sub(started.elapsed());
        if left.is_zero() {
            return silent(Silence::StillWorking);
        }
        if reader
            .get_ref()
            .set_read_timeout(Some(SILENCE_LIMIT.min(left)))
            .is_err()
        {
            return Answer::NoDaemon;
        }
        let mut answer = String::new();
        match reader.read_line(&mut answer) {
            Ok(0) => return Answer::NoDaemon,
            Ok(_) => match serde_json::from_str(&answer) {
                Ok(Response::Working) => working = true,
                Ok(response) => return Answer::Response(response),
                Err(_) => return Answer::NoDaemon,
            },
            // Silent for SILENCE_LIMIT, or working past ANSWER_LIMIT.
            Err(e) if timed_out(&e) => {
                return silent(if working && started.elapsed() >= ANSWER_LIMIT {
                    Silence::StillWorking
                } else {
                    Silence::Silent
                });
            }
            Err(_) => return Answer::NoDaemon,
        }
    }
}

fn timed_out(e: &std::io::Error) -> bool {
    matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
}

/// Connects to `socket` within `limit`. Connecting to a listener whose queue of connections
/// is full (a daemon that stopped taking them) waits until it has room, which the standard
/// library gives no limit for, so the wait happens on a thread of its own, left behind if
/// it lasts too long.
fn connect(socket: &Path, limit: Duration) -> std::io::Result<UnixStream> {
    let (sender, receiver) = mpsc::channel();
    let socket = socket.to_path_buf();
    std::thread::Builder::new()
        .name("strata-daemon-connect".into())
        .spawn(move || {
            let _ = sender.send(UnixStream::connect(socket));
        })?;
    match receiver.recv_timeout(limit) {
        Ok(connected) => connected,
        Err(_) => Err(std::io::Error::from(ErrorKind::TimedOut)),
    }
}

/// What asking the daemon for the affected targets gave.
#[derive(Debug)]
pub enum Reply {
    Answered(Affected),
    /// A daemon was reached and did not answer: a failure, another strata build (which
    /// stops it), or it has not read the work tree yet.
    Declined,
    /// No daemon answered the socket.
    NoDaemon,
    /// A daemon holds the socket and did not answer in time (it is stopped, or stuck).
    Unresponsive(Unresponsive),
}

/// The affected targets of the work tree against `base` (the default base when `None`),
/// from the daemon when one serves `root`.
pub fn affected(root: &Path, base: Option<&str>) -> Reply {
    let request = Request::Affected {
        base: base.map(str::to_string),
    };
    match call(root, request) {
        Answer::Response(Response::Affected { affected, .. }) => Reply::Answered(affected),
        Answer::Response(_) => Reply::Declined,
        Answer::NoDaemon => Reply::NoDaemon,
        Answer::Unresponsive(unresponsive) => Reply::Unresponsive(unresponsive),
    }
}

/// Whether `strata affected` may ask a daemon, and whether it may start one when none
/// answers, from `STRATA_DAEMON` and the CI variables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// `STRATA_DAEMON=0`: compute every answer in this process.
    Never,
    /// `STRATA_DAEMON=manual`, or a CI run: ask a running daemon, start none.
    Ask,
    /// Otherwise: ask, and start a daemon in the background when none answers.
    AskOrStart,
}

impl Use {
    pub fn from_env() -> Use {
        match std::env::var("STRATA_DAEMON").as_deref() {
            Ok("0") => Use::Never,
            // Inside a git hook, or with the repository redirected: git's view (a
            // temporary index during `git commit -a`, another directory) is not the one a
            // daemon watches, so this process answers.
            _ if GIT_VIEW.iter().any(|v| std::env::var_os(v).is_some()) => Use::Never,
            Ok("manual") => Use::Ask,
            _ if on_ci() => Use::Ask,
            _ => Use::AskOrStart,
        }
    }
}

/// Variables that change which repository, index or work tree git sees.
const GIT_VIEW: [&str; 4] = [
    "GIT_INDEX_FILE",
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_COMMON_DIR",
];

/// A CI run: `CI` set (to anything but empty, `0` or `false`), or the variables of CI
/// services that do not set it (Jenkins, Azure Pipelines, TeamCity, AWS CodeBuild).
pub fn on_ci() -> bool {
    let set = |name: &str| {
        std::env::var(name)
            .map(|v| !matches!(v.trim().to_ascii_lowercase().as_str(), "" | "0" | "false"))
            .unwrap_or(false)
    };
    [
        "CI",
        "JENKINS_URL",
        "TF_BUILD",
        "TEAMCITY_VERSION",
        "CODEBUILD_BUILD_ID",
    ]
    .into_iter()
    .any(set)
}

/// How long a daemon started by [`autostart`] waits for a request before it stops.
pub const AUTOSTART_IDLE_MINUTES: u64 = 60;

/// Starts a daemon for the workspace in the background, when none runs or is starting and
/// none failed to start within the last hour, so that the next `strata affected` is
/// answered from memory; true when it started one. Best effort: a failure to start changes
/// nothing for the command.
pub fn autostart(root: &Path) -> bool {
    if lock::lock_held(root) {
        return false;
    }
    lock::note_early_death(root);
    if lock::failed_recently(root) {
        return false;
    }
    spawn(root, AUTOSTART_IDLE_MINUTES).is_ok()
}

/// A daemon process just started by [`spawn`].
pub struct Spawned {
    pub child: Child,
    /// Where in the daemon's log its own output starts.
    pub log_start: u64,
}

/// Starts `strata daemon run` (this executable) for the workspace, detached from this
/// terminal (its own process group, no terminal streams, stderr appended to the daemon's
/// log), without waiting for it.
// The daemon is strata itself, started detached: not a tool, so not strata-exec's.
#[allow(clippy::disallowed_methods)]
pub fn spawn(root: &Path, idle_minutes: u64) -> Result<Spawned> {
    use std::os::unix::process::CommandExt;
    let dir = super::dir(root);
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let log_path = log_path(root);
    // Appended to, so a daemon starting beside another cannot wipe the running one's log;
    // started afresh once it grows past 1 MiB.
    let large = std::fs::metadata(&log_path).is_ok_and(|m| m.len() > 1 << 20);
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(!large)
        .write(true)
        .truncate(large)
        .open(&log_path)
        .map_err(|e| Error::io(&log_path, e))?;
    let log_start = log.metadata().map_or(0, |m| m.len());
    let exe = std::env::current_exe().map_err(|e| Error::io("strata", e))?;
    let mut command = Command::new(exe);
    // The daemon outlives this command: it must not keep a hook's temporary index.
    command.env_remove("GIT_INDEX_FILE");
    command
        .arg("-C")
        .arg(root)
        .args(["daemon", "run", "--idle-minutes", &idle_minutes.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .process_group(0)
        .spawn()
        .map(|child| Spawned { child, log_start })
        .map_err(|e| Error::io("strata daemon run", e))
}

/// What [`start`] found or did.
#[derive(Debug)]
pub enum Started {
    /// A daemon already served the workspace (or was starting, and now serves).
    Already(Status),
    /// The daemon it started serves.
    Serving(Status),
    /// A daemon holds the workspace's lock but does not answer.
    Stuck(Unresponsive),
    /// The daemon it started exited before it was ready, with its output from the log.
    Exited { status: ExitStatus, log: String },
    /// The daemon it started did not get ready within 5 minutes.
    TimedOut { log: PathBuf },
}

/// Starts `strata daemon run` detached from this terminal and waits until it has read the
/// work tree, unless a daemon already serves. Forgets an earlier failure to start: this
/// tries again.
pub fn start(root: &Path, idle_minutes: u64) -> Result<Started> {
    lock::forget_failure(root);
    match call(root, Request::Status) {
        Answer::Response(Response::Status(status)) if status.ready => {
            return Ok(Started::Already(status));
        }
        // Another command started it: wait for that one.
        Answer::Response(Response::Status(_)) => {
            return Ok(match wait_ready(root, None)? {
                Started::Serving(status) => Started::Already(status),
                other => other,
            });
        }
        Answer::Unresponsive(unresponsive) => return Ok(Started::Stuck(unresponsive)),
        // Another build's daemon, which stops now: start this build's once it has.
        Answer::Response(Response::Mismatch { .. }) => {
            released_within(root, STOP_WAIT);
        }
        _ => {}
    }
    match lock::holder(root) {
        // Between taking its lock and opening its socket: wait for it.
        Some(Holder { ready: false, .. }) => {
            return Ok(match wait_ready(root, None)? {
                Started::Serving(status) => Started::Already(status),
                other => other,
            });
        }
        Some(Holder { pid, .. }) => {
            return Ok(Started::Stuck(Unresponsive {
                pid,
                how: Silence::NoSocket,
            }));
        }
        None => {}
    }
    let mut spawned = spawn(root, idle_minutes)?;
    wait_ready(root, Some(&mut spawned))
}

/// Waits until the workspace's daemon has read the work tree, or exits: `spawned`, the one
/// just started, or (`None`) the one another command started.
fn wait_ready(root: &Path, mut spawned: Option<&mut Spawned>) -> Result<Started> {
    let log_path = log_path(root);
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut answered_at = Instant::now();
    loop {
        match call(root, Request::Status) {
            Answer::Response(Response::Status(status)) if status.ready => {
                return Ok(Started::Serving(status));
            }
            Answer::Response(_) => answered_at = Instant::now(),
            Answer::Unresponsive(unresponsive) if spawned.is_none() => {
                return Ok(Started::Stuck(unresponsive));
            }
            // Holding its lock without a socket for this long: not starting, stuck.
            Answer::NoDaemon if spawned.is_none() && answered_at.elapsed() > STOP_WAIT => {
                return Ok(Started::Stuck(Unresponsive::of(root, Silence::NoSocket)));
            }
            _ => {}
        }
        if let Some(Spawned { child, log_start }) = spawned.as_deref_mut() {
            if let Ok(Some(status)) = child.try_wait() {
                let log = std::fs::read(&log_path).unwrap_or_default();
                let own = log.get(*log_start as usize..).unwrap_or_default();
                // A daemon that returns an error records it itself; one killed after it took
                // its lock is recorded from the lock file; one killed before, here.
                if !lock::note_early_death(root) && lock::last_failure(root).is_none() {
                    use std::os::unix::process::ExitStatusExt;
                    if status.signal().is_some() {
                        lock::record_failure(
                            root,
                            &format!("the daemon exited before it was ready ({status})"),
                        );
                    }
                }
                return Ok(Started::Exited {
                    status,
                    log: String::from_utf8_lossy(own).trim_end().to_string(),
                });
            }
        } else if !lock::lock_held(root) {
            lock::note_early_death(root);
            return Err(daemon_error(
                "the daemon that was starting exited before it was ready",
                "see `strata daemon status`, and `strata daemon start` again",
            ));
        }
        if Instant::now() > deadline {
            return Ok(Started::TimedOut { log: log_path });
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// How the workspace's daemon is.
#[derive(Debug)]
pub enum State {
    /// It answers (`ready` false while it reads the work tree the first time).
    Serving(Status),
    /// A daemon of another strata build answered; it stops now.
    OtherBuild { build: String },
    /// A daemon holds the lock and does not answer: stopped, or stuck.
    NotResponding(Unresponsive),
    /// None runs; `failed` says why the last one failed to start, if it did.
    NotRunning { failed: Option<String> },
}

/// Asks the workspace's daemon how it is; records a daemon that died before it was ready.
pub fn status(root: &Path) -> State {
    match call(root, Request::Status) {
        Answer::Response(Response::Status(status)) => State::Serving(status),
        Answer::Response(Response::Mismatch { build }) => State::OtherBuild { build },
        Answer::Unresponsive(unresponsive) => State::NotResponding(unresponsive),
        _ => match lock::holder(root) {
            Some(Holder { pid, .. }) => State::NotResponding(Unresponsive {
                pid,
                how: Silence::NoSocket,
            }),
            None => {
                lock::note_early_death(root);
                State::NotRunning {
                    failed: lock::last_failure(root),
                }
            }
        },
    }
}

/// What [`stop`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// The daemon stopped when asked.
    Asked,
    /// The daemon did not answer (or did not stop when asked) and was ended with SIGTERM,
    /// or with SIGKILL (`killed`) when it was still there [`TERM_GRACE`] after that.
    Signalled {
        pid: u32,
        killed: bool,
        why: Unresponsive,
    },
    /// No daemon runs.
    NotRunning,
}

/// Stops the workspace's daemon: asks it to, and ends one that does not answer (or does not
/// stop within [`STOP_WAIT`] of being asked) with SIGTERM, then SIGKILL after [`TERM_GRACE`]; then
/// removes its socket, so the next start finds the workspace as if it had stopped itself.
pub fn stop(root: &Path) -> Result<Stopped> {
    let why = match call(root, Request::Stop) {
        Answer::Response(Response::Stopping | Response::Mismatch { .. }) => {
            let socket = socket_path(root);
            let deadline = Instant::now() + STOP_WAIT;
            while socket.exists() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            if !socket.exists() {
                // It removed its socket last: the process ends now.
                released_within(root, Duration::from_secs(2));
                return Ok(Stopped::Asked);
            }
            Unresponsive::of(root, Silence::DidNotStop)
        }
        Answer::Unresponsive(unresponsive) => unresponsive,
        _ => match lock::holder(root) {
            Some(Holder { pid, .. }) => Unresponsive {
                pid,
                how: Silence::NoSocket,
            },
            None => return Ok(Stopped::NotRunning),
        },
    };
    let Some(pid) = why.pid else {
        return Err(daemon_error(
            format!(
                "{why}, and {} does not say which process it is",
                super::lock_path(root).display()
            ),
            "find the `strata daemon run` process of this workspace and end it",
        ));
    };
    terminate(root, pid, why)
}

/// Ends the daemon `pid`, which holds the lock and did not answer.
fn terminate(root: &Path, pid: u32, why: Unresponsive) -> Result<Stopped> {
    // Only the process the lock file names while the lock is held: a pid from a free lock
    // may be another process by now.
    if lock::holder(root).and_then(|h| h.pid) != Some(pid) {
        return Ok(Stopped::Asked);
    }
    let target = Pid::from_raw(pid as i32);
    let signal_error = |e: nix::errno::Errno| {
        daemon_error(
            format!("{why}, and it cannot be signalled: {}", e.desc()),
            format!("end process {pid} by other means (it belongs to another user?)"),
        )
    };
    match kill(target, Signal::SIGTERM) {
        Ok(()) | Err(nix::errno::Errno::ESRCH) => {}
        Err(e) => return Err(signal_error(e)),
    }
    // A stopped process acts on SIGTERM only once it continues.
    let _ = kill(target, Signal::SIGCONT);
    let killed = if released_within(root, TERM_GRACE) {
        false
    } else {
        match kill(target, Signal::SIGKILL) {
            Ok(()) | Err(nix::errno::Errno::ESRCH) => {}
            Err(e) => return Err(signal_error(e)),
        }
        if !released_within(root, Duration::from_secs(5)) {
            return Err(daemon_error(
                format!("{why}, and it still runs 5 s after SIGKILL"),
                format!("process {pid} may be blocked in the kernel (state D in `ps`)"),
            ));
        }
        true
    };
    lock::clean_up_after(root);
    Ok(Stopped::Signalled { pid, killed, why })
}

/// Waits up to `limit` for the daemon's lock to be free (its process gone); true when it is.
fn released_within(root: &Path, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if !lock::lock_held(root) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
