//! Everything a command does with the workspace's daemon: ask it ([`call`], [`affected`]),
//! decide whether it may be asked or started ([`Use`]), start it ([`autostart`], [`start`],
//! [`spawn`]), say how it is ([`status`]) and stop it ([`stop`]). Nothing here prints: the
//! command says what happened.

use super::{
    build_id, failed_path, lock_held, log_path, socket_path, Envelope, Request, Response, Status,
    MAX_SOCKET_PATH,
};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};
use strata_graph::affected::Affected;
use strata_graph::error::{Error, Result};

/// How long `status`, `start` and `stop` wait for the daemon to answer.
const STATUS_TIMEOUT: Duration = Duration::from_secs(5);

/// Sends one request to the workspace's daemon. `None` when no daemon answers (none runs,
/// or it failed): the caller then does the work itself.
pub fn call(root: &Path, request: Request, timeout: Duration) -> Option<Response> {
    let socket = socket_path(root);
    if !socket.exists() || socket.as_os_str().len() > MAX_SOCKET_PATH {
        return None;
    }
    let mut stream = UnixStream::connect(&socket).ok()?;
    stream.set_read_timeout(Some(timeout)).ok()?;
    stream.set_write_timeout(Some(timeout)).ok()?;
    let envelope = Envelope {
        build: build_id(),
        request,
    };
    let mut line = serde_json::to_vec(&envelope).ok()?;
    line.push(b'\n');
    stream.write_all(&line).ok()?;
    let mut reader = BufReader::new(stream);
    let mut answer = String::new();
    reader.read_line(&mut answer).ok()?;
    serde_json::from_str(&answer).ok()
}

/// What asking the daemon for the affected targets gave.
#[derive(Debug)]
pub enum Reply {
    Answered(Affected),
    /// A daemon was reached and did not answer: a failure, or another strata build (which
    /// stops it).
    Declined,
    /// No daemon answered the socket.
    NoDaemon,
}

/// The affected targets of the work tree against `base` (the default base when `None`),
/// from the daemon when one serves `root`.
pub fn affected(root: &Path, base: Option<&str>) -> Reply {
    let request = Request::Affected {
        base: base.map(str::to_string),
    };
    match call(root, request, Duration::from_secs(120)) {
        Some(Response::Affected { affected, .. }) => Reply::Answered(affected),
        Some(_) => Reply::Declined,
        None => Reply::NoDaemon,
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
    if lock_held(root) || failed_recently(root) {
        return false;
    }
    spawn(root, AUTOSTART_IDLE_MINUTES).is_ok()
}

/// Whether a daemon failed to start for the workspace within the last hour: one that cannot
/// start (say, at the inotify limit) is not started again by every command.
fn failed_recently(root: &Path) -> bool {
    std::fs::metadata(failed_path(root))
        .and_then(|m| m.modified())
        .ok()
        .and_then(|at| at.elapsed().ok())
        .is_some_and(|age| age < Duration::from_secs(3600))
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
    /// A daemon already served the workspace.
    Already(Status),
    /// The daemon it started serves.
    Serving(Status),
    /// The daemon it started exited before it was ready, with its output from the log.
    Exited { status: ExitStatus, log: String },
    /// The daemon it started did not answer within 5 minutes.
    TimedOut { log: PathBuf },
}

/// Starts `strata daemon run` detached from this terminal and waits until it answers,
/// unless a daemon already serves. Forgets an earlier failure to start: this tries again.
pub fn start(root: &Path, idle_minutes: u64) -> Result<Started> {
    let _ = std::fs::remove_file(failed_path(root));
    if let Some(Response::Status(status)) = call(root, Request::Status, STATUS_TIMEOUT) {
        return Ok(Started::Already(status));
    }
    let Spawned {
        mut child,
        log_start,
    } = spawn(root, idle_minutes)?;
    let log_path = log_path(root);
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        if let Some(Response::Status(status)) = call(root, Request::Status, STATUS_TIMEOUT) {
            return Ok(Started::Serving(status));
        }
        if let Ok(Some(status)) = child.try_wait() {
            let log = std::fs::read(&log_path).unwrap_or_default();
            let own = log.get(log_start as usize..).unwrap_or_default();
            return Ok(Started::Exited {
                status,
                log: String::from_utf8_lossy(own).trim_end().to_string(),
            });
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
    /// It answers.
    Serving(Status),
    /// A daemon of another strata build answered; it stops now.
    OtherBuild { build: String },
    /// None answers; `failed` says why the last one failed to start, if it did.
    NotRunning { failed: Option<String> },
}

/// Asks the workspace's daemon how it is.
pub fn status(root: &Path) -> State {
    match call(root, Request::Status, STATUS_TIMEOUT) {
        Some(Response::Status(status)) => State::Serving(status),
        Some(Response::Mismatch { build }) => State::OtherBuild { build },
        _ => State::NotRunning {
            failed: std::fs::read_to_string(failed_path(root))
                .ok()
                .map(|text| text.trim().to_string()),
        },
    }
}

/// What [`stop`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// The daemon stopped when asked.
    Asked,
    /// No daemon answers.
    NotRunning,
}

/// Asks the workspace's daemon to stop, and waits (up to 10 s) until its socket is gone.
pub fn stop(root: &Path) -> Stopped {
    match call(root, Request::Stop, STATUS_TIMEOUT) {
        Some(Response::Stopping | Response::Mismatch { .. }) => {
            let socket = socket_path(root);
            let deadline = Instant::now() + Duration::from_secs(10);
            while socket.exists() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            Stopped::Asked
        }
        _ => Stopped::NotRunning,
    }
}
