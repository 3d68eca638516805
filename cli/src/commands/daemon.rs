use super::Context;
use crate::output::print_json;
use std::process::{Command as Process, Stdio};
use std::time::{Duration, Instant};
use strata_daemon::{self as daemon, Request, Response};
use strata_graph::workspace::find_root;
use strata_graph::{Error, Result};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Start the workspace's daemon in the background (if none runs).
    Start(IdleArgs),
    /// Run the daemon in the foreground (for a service manager).
    Run(IdleArgs),
    /// Stop the workspace's daemon.
    Stop,
    /// Say whether a daemon serves the workspace, and what it has done.
    Status,
}

#[derive(clap::Args)]
pub struct IdleArgs {
    /// Stop after this many minutes without a request.
    #[arg(long, default_value_t = 180)]
    idle_minutes: u64,
}

const STATUS_TIMEOUT: Duration = Duration::from_secs(5);

pub fn run(ctx: &Context, command: Command) -> Result<u8> {
    let root = find_root(&ctx.dir)?;
    match command {
        Command::Run(args) => {
            let idle = Duration::from_secs(args.idle_minutes * 60);
            let failed = daemon::failed_path(&root);
            let served = daemon::serve(&root, idle, &|socket| {
                let _ = std::fs::remove_file(&failed);
                eprintln!(
                    "strata daemon: serving {} on {}",
                    root.display(),
                    socket.display()
                );
            });
            // Remembered unless another daemon is the reason (it runs, or is starting).
            if let Err(e) = &served {
                if !daemon::lock_held(&root) {
                    let _ = std::fs::write(&failed, format!("{e}\n"));
                }
            }
            served?;
            Ok(0)
        }
        Command::Start(args) => {
            let _ = std::fs::remove_file(daemon::failed_path(&root));
            start(&root, args.idle_minutes)
        }
        Command::Stop => {
            match daemon::call(&root, Request::Stop, STATUS_TIMEOUT) {
                Some(Response::Stopping | Response::Mismatch { .. }) => {
                    let socket = daemon::socket_path(&root);
                    let deadline = Instant::now() + Duration::from_secs(10);
                    while socket.exists() && Instant::now() < deadline {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    eprintln!("strata daemon stopped");
                }
                _ => eprintln!("no strata daemon serves {}", root.display()),
            }
            Ok(0)
        }
        Command::Status => match daemon::call(&root, Request::Status, STATUS_TIMEOUT) {
            Some(Response::Status(status)) => {
                if ctx.json {
                    print_json(&status);
                } else {
                    eprintln!(
                        "strata daemon pid {} serves {} (up {} s, {} requests, {} full reads)",
                        status.pid,
                        status.root,
                        status.uptime_seconds,
                        status.requests,
                        status.full_reads
                    );
                }
                Ok(0)
            }
            Some(Response::Mismatch { build }) => {
                eprintln!("a daemon from another strata build ({build}) was running; it stops now");
                Ok(1)
            }
            _ => {
                if ctx.json {
                    println!("null");
                }
                eprintln!("no strata daemon serves {}", root.display());
                if let Ok(error) = std::fs::read_to_string(daemon::failed_path(&root)) {
                    eprintln!(
                        "the last one failed to start: {}\n(`strata affected` starts none for \
                         an hour after that; `strata daemon start` tries again)",
                        error.trim()
                    );
                }
                Ok(1)
            }
        },
    }
}

/// Starts `strata daemon run` detached from this terminal (its own process group, no
/// terminal streams, stderr appended to the daemon's log) without waiting for it; also
/// returns where in the log its output starts.
fn spawn(root: &std::path::Path, idle_minutes: u64) -> Result<(std::process::Child, u64)> {
    use std::os::unix::process::CommandExt;
    let dir = daemon::dir(root);
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let log_path = daemon::log_path(root);
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
    let mut command = Process::new(exe);
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
        .map(|child| (child, log_start))
        .map_err(|e| Error::io("strata daemon run", e))
}

/// How long a daemon started by `strata affected` waits for a request before it stops.
const AUTOSTART_IDLE_MINUTES: u64 = 60;

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
fn on_ci() -> bool {
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

/// Starts a daemon for the workspace in the background, when none answers, so that the
/// next `strata affected` is answered from memory; says so on stderr. Best effort: a
/// failure to start changes nothing for this command.
pub fn autostart(root: &std::path::Path) {
    if daemon::lock_held(root) || failed_recently(root) {
        return;
    }
    if spawn(root, AUTOSTART_IDLE_MINUTES).is_ok() {
        eprintln!(
            "strata: started a daemon for this workspace; later runs ask it (it stops after \
             {AUTOSTART_IDLE_MINUTES} idle minutes; `strata daemon stop` stops it now; \
             STRATA_DAEMON=0 or STRATA_DAEMON=manual turns starting it off)"
        );
    }
}

/// Whether a daemon failed to start for the workspace within the last hour: one that cannot
/// start (say, at the inotify limit) is not started again by every command.
fn failed_recently(root: &std::path::Path) -> bool {
    std::fs::metadata(daemon::failed_path(root))
        .and_then(|m| m.modified())
        .ok()
        .and_then(|at| at.elapsed().ok())
        .is_some_and(|age| age < Duration::from_secs(3600))
}

/// Starts `strata daemon run` detached from this terminal and waits until it answers.
fn start(root: &std::path::Path, idle_minutes: u64) -> Result<u8> {
    if let Some(Response::Status(status)) = daemon::call(root, Request::Status, STATUS_TIMEOUT) {
        eprintln!(
            "strata daemon pid {} already serves {}",
            status.pid, status.root
        );
        return Ok(0);
    }
    let (mut child, log_start) = spawn(root, idle_minutes)?;
    let log_path = daemon::log_path(root);
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        if let Some(Response::Status(status)) = daemon::call(root, Request::Status, STATUS_TIMEOUT)
        {
            eprintln!("strata daemon pid {} serves {}", status.pid, status.root);
            return Ok(0);
        }
        if let Ok(Some(exit)) = child.try_wait() {
            let log = std::fs::read(&log_path).unwrap_or_default();
            let own = log.get(log_start as usize..).unwrap_or_default();
            eprintln!(
                "strata daemon exited ({exit}):\n{}",
                String::from_utf8_lossy(own).trim_end()
            );
            return Ok(2);
        }
        if Instant::now() > deadline {
            eprintln!(
                "strata daemon did not answer within 5 minutes; see {}",
                log_path.display()
            );
            return Ok(1);
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}
