//! Running tools: output captured per task, children in their own process group so a
//! terminal's Ctrl-C reaches only strata, which forwards SIGINT once to every running tool
//! and waits for them (terraform then releases its state lock cleanly).

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Set once an interrupt was received; no new tool is started afterwards, until the next
/// operation begins (see [`operation`]).
static CANCELLED: AtomicBool = AtomicBool::new(false);
/// The process groups of running tools, each with whether it may be killed when it does not
/// stop after an interrupt (it changes nothing that a kill could leave half-written).
static RUNNING: Mutex<Option<HashMap<u32, bool>>> = Mutex::new(None);
/// How many operations are under way (nested ones included).
static OPERATIONS: Mutex<usize> = Mutex::new(0);

pub fn is_cancelled() -> bool {
    CANCELLED.load(Ordering::SeqCst)
}

/// [`is_cancelled`], allowing up to `grace` for an interrupt being delivered now: a
/// terminal's Ctrl-C reaches the children that share strata's process group (git) as well,
/// and one can fail from it before strata's handler thread has run. For deciding what an
/// error means; it waits only while nothing is cancelled.
pub fn is_cancelled_after(grace: Duration) -> bool {
    let start = Instant::now();
    loop {
        if is_cancelled() {
            return true;
        }
        if start.elapsed() >= grace {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

thread_local! {
    /// Set while this thread keeps records after the work (see [`bookkeeping`]).
    static BOOKKEEPING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// While the guard lives, tools this thread starts start even after an interrupt: short
/// bookkeeping that makes the record of an interrupted run whole (signing its audit event
/// with ssh-keygen). An interrupt during one still stops it.
pub fn bookkeeping() -> Bookkeeping {
    let was = BOOKKEEPING.with(|b| b.replace(true));
    Bookkeeping { was }
}

/// See [`bookkeeping`].
#[must_use = "bookkeeping lasts as long as the guard"]
pub struct Bookkeeping {
    was: bool,
}

impl Drop for Bookkeeping {
    fn drop(&mut self) {
        BOOKKEEPING.with(|b| b.set(self.was));
    }
}

/// One operation that an interrupt cancels (a run of tasks, a promotion, a drift check):
/// hold the guard while it lasts. The first operation to begin in a process with none under
/// way starts uncancelled, so a long-lived process can run one after another after an
/// interrupt; an operation begun inside another (a promotion's runs) does not clear an
/// interrupt the outer one received.
pub fn operation() -> Operation {
    let mut active = OPERATIONS.lock().unwrap_or_else(|e| e.into_inner());
    if *active == 0 {
        CANCELLED.store(false, Ordering::SeqCst);
    }
    *active += 1;
    Operation { _private: () }
}

/// See [`operation`].
#[must_use = "the operation lasts as long as the guard"]
pub struct Operation {
    _private: (),
}

impl Drop for Operation {
    fn drop(&mut self) {
        let mut active = OPERATIONS.lock().unwrap_or_else(|e| e.into_inner());
        *active = active.saturating_sub(1);
    }
}

/// Marks the run cancelled and sends SIGINT to every running tool, once: later calls (a
/// second Ctrl-C, a CI system's SIGTERM after its SIGINT) forward nothing, because a second
/// SIGINT makes terraform exit at once, without writing its state or releasing its lock.
/// A tool that changes nothing (a plan, `init`, `state pull`, a render) and has not stopped
/// [`reaper::GRACE`](crate::reaper::GRACE) later is killed: one waiting on a server that
/// never answers would otherwise hold the run for good.
pub fn cancel_all() {
    if CANCELLED.swap(true, Ordering::SeqCst) {
        return;
    }
    let running: Vec<(u32, bool)> = RUNNING
        .lock()
        .map(|r| {
            r.iter()
                .flat_map(|m| m.iter())
                .map(|(p, k)| (*p, *k))
                .collect()
        })
        .unwrap_or_default();
    for (pid, _) in &running {
        interrupt_group(*pid);
    }
    // Only those interrupted now: a tool started since (bookkeeping after the interrupt,
    // signing its audit event) is not one that ignored it.
    let interrupted: Vec<u32> = running
        .into_iter()
        .filter(|(_, killable)| *killable)
        .map(|(pid, _)| pid)
        .collect();
    std::thread::spawn(move || {
        std::thread::sleep(crate::reaper::GRACE);
        let still: Vec<u32> = RUNNING
            .lock()
            .map(|r| {
                interrupted
                    .iter()
                    .filter(|pid| r.as_ref().is_some_and(|m| m.contains_key(pid)))
                    .copied()
                    .collect()
            })
            .unwrap_or_default();
        for pid in still {
            kill_group(pid);
        }
    });
}

/// Whether a tool run with `args` may be killed once it ignored an interrupt: anything but a
/// command that writes state (terraform's or OpenTofu's `apply`, `destroy`, `import`,
/// `state push`, ..., whatever the program is called), and anything with no command.
fn killable(args: &[String]) -> bool {
    let first = args.first().map(String::as_str).unwrap_or_default();
    let second = args.get(1).map(String::as_str).unwrap_or_default();
    match first {
        "" | "apply" | "destroy" | "import" | "refresh" | "taint" | "untaint" | "force-unlock"
        | "workspace" => false,
        "state" => matches!(second, "pull" | "list" | "show"),
        _ => true,
    }
}

/// SIGINT to the tool's whole process group (it leads one): terraform's outer process does
/// not forward SIGINT to the process doing the work, so the group must receive it.
fn interrupt_group(pid: u32) {
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(-(pid as i32)),
        nix::sys::signal::Signal::SIGINT,
    );
    // Should strata die now, the reaper must not send it another.
    crate::reaper::interrupted(pid);
}

/// SIGKILL to a tool's whole process group.
fn kill_group(pgid: u32) {
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(-(pgid as i32)),
        nix::sys::signal::Signal::SIGKILL,
    );
}

/// A process's `/proc/PID/stat`: its command name (as the kernel keeps it, at most 15
/// bytes) and the fields after it (state, parent, group, ...). The name is in parentheses
/// and may hold spaces and parentheses itself, so the fields are counted after the last `)`.
fn proc_stat(pid: &str) -> Option<(String, Vec<String>)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (open, close) = (stat.find('(')?, stat.rfind(')')?);
    let fields = stat[close + 1..]
        .split_whitespace()
        .map(str::to_string)
        .collect();
    Some((stat[open + 1..close].to_string(), fields))
}

/// Who this process is, in a form that outlives it: its pid and, where the system tells,
/// when it started (so that a pid reused by another process is not taken for it), and the
/// machine and pid namespace its pid means something in (a container sharing `/tmp`).
/// Takes a write lock on the whole of `file` the way terraform's local backend locks its
/// state (a POSIX record lock), without waiting: false when another process holds one. The
/// lock lasts until the file is closed.
pub fn try_lock_file(file: &std::fs::File) -> bool {
    use nix::libc;
    let lock = libc::flock {
        l_type: libc::F_WRLCK as libc::c_short,
        l_whence: libc::SEEK_SET as libc::c_short,
        l_start: 0,
        l_len: 0,
        l_pid: 0,
    };
    nix::fcntl::fcntl(file, nix::fcntl::FcntlArg::F_SETLK(&lock)).is_ok()
}

pub fn identity() -> String {
    let pid = std::process::id();
    format!("{pid} {} {}", started(pid).unwrap_or_default(), pid_space())
}

/// The boot and the pid namespace this process's pids belong to (`-` when unknown).
fn pid_space() -> String {
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok();
    let ns = std::fs::read_link("/proc/self/ns/pid").ok();
    match (boot, ns) {
        (Some(boot), Some(ns)) => format!("{}/{}", boot.trim(), ns.display()).replace(' ', ""),
        _ => "-".into(),
    }
}

/// Whether the process an [`identity`] names still runs (`true` when unsure: a malformed
/// identity, a process strata may not signal, or one of another machine, boot or pid
/// namespace, whose pids mean nothing here).
pub fn still_runs(identity: &str) -> bool {
    let parts: Vec<&str> = identity.split_whitespace().collect();
    let [pid, started_then, space] = parts[..] else {
        return true;
    };
    let Ok(pid) = pid.parse::<i32>() else {
        return true;
    };
    if space == "-" || space != pid_space() {
        return true;
    }
    let alive = !matches!(
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None),
        Err(nix::errno::Errno::ESRCH)
    );
    alive && started(pid as u32).is_none_or(|now| now == started_then)
}

/// When process `pid` started, in clock ticks since boot (Linux's `/proc/PID/stat`).
fn started(pid: u32) -> Option<String> {
    proc_stat(&pid.to_string())?.1.into_iter().nth(19)
}

/// The file in a private temporary directory naming the process that made it.
const OWNER_FILE: &str = "owner";

/// A private (0700) temporary directory named `prefix…` that records this process as its
/// owner (see [`identity`]), so that once a killed strata left it behind, a later one can
/// tell it is no one's and remove it ([`sweep_owned_tempdirs`]): such directories hold
/// plans and plain-text secrets.
pub fn owned_tempdir(prefix: &str) -> std::io::Result<tempfile::TempDir> {
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
        .tempdir()?;
    std::fs::write(dir.path().join(OWNER_FILE), identity())?;
    Ok(dir)
}

/// Removes the directories [`owned_tempdir`] made with `prefix` in the temporary directory
/// whose process no longer runs; says whether it removed any.
pub fn sweep_owned_tempdirs(prefix: &str) -> bool {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return false;
    };
    let mut swept = false;
    for entry in entries.flatten() {
        if !entry.file_name().to_string_lossy().starts_with(prefix) {
            continue;
        }
        let Ok(owner) = std::fs::read_to_string(entry.path().join(OWNER_FILE)) else {
            continue;
        };
        if !still_runs(&owner) {
            swept |= std::fs::remove_dir_all(entry.path()).is_ok();
        }
    }
    swept
}

/// The outcome of one tool invocation.
#[derive(Debug, Clone)]
pub struct Output {
    pub success: bool,
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub duration: Duration,
    /// The run was cancelled while this tool ran, and the tool did not succeed.
    pub interrupted: bool,
}

impl Output {
    /// Both streams, for the task log.
    pub fn combined(&self) -> Vec<u8> {
        let mut log = self.stdout.clone();
        if !self.stderr.is_empty() {
            if !log.is_empty() && !log.ends_with(b"\n") {
                log.push(b'\n');
            }
            log.extend_from_slice(&self.stderr);
        }
        log
    }
}

/// Runs a command the workspace configures (`argv`: program, then arguments) with `extra`
/// arguments appended, in `root`, to completion: a program holding a `/` is relative to
/// `root`, any other is looked up on PATH.
pub fn run_configured(
    argv: &[String],
    extra: &[&std::ffi::OsStr],
    root: &Path,
) -> std::io::Result<Output> {
    let Some(program) = argv.first() else {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "no program given",
        ));
    };
    let program = if program.contains('/') {
        root.join(program)
    } else {
        std::path::PathBuf::from(program)
    };
    let mut cmd = Command::new(program);
    cmd.args(&argv[1..]).args(extra);
    run(cmd, root)
}

/// Runs a command to completion, capturing its output.
pub fn run(mut cmd: Command, cwd: &Path) -> std::io::Result<Output> {
    let bookkeeping = BOOKKEEPING.with(|b| b.get());
    if is_cancelled() && !bookkeeping {
        // Nothing new starts after an interrupt.
        return Ok(Output {
            success: false,
            code: None,
            stdout: Vec::new(),
            stderr: b"strata: not started: interrupted\n".to_vec(),
            duration: std::time::Duration::ZERO,
            interrupted: true,
        });
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
    }
    // The program and its first argument (terraform's subcommand) only: later arguments may
    // carry values.
    let program = Path::new(cmd.get_program())
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let args: Vec<String> = cmd
        .get_args()
        .take(2)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let first = args.first().cloned().unwrap_or_default();
    let may_kill = killable(&args);
    let _span = tracing::debug_span!("tool", %program, %first).entered();
    let start = Instant::now();
    // Output goes to unlinked temporary files (owner-only, gone with the last descriptor),
    // not pipes: if strata dies, a tool writing to a pipe nobody reads would die of SIGPIPE
    // mid-apply instead of stopping cleanly when the reaper interrupts it.
    let output_file = || {
        tempfile::tempfile().map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!(
                    "no file for its output in the temporary directory {} ({e}): set TMPDIR to a writable directory",
                    std::env::temp_dir().display()
                ),
            )
        })
    };
    let stdout_file = output_file()?;
    let stderr_file = output_file()?;
    let mut child = cmd
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(stdout_file.try_clone()?)
        .stderr(stderr_file.try_clone()?)
        .spawn()?;
    let pid = child.id();
    // What it runs (a link such as tfswitch's `terraform` resolved to `terraform_1.0.3`):
    // its other processes run the same, whatever they are called. Not a shim's shell
    // (tfenv's script), which would match every shell of the group.
    let exe = std::fs::read_link(format!("/proc/{pid}/exe"))
        .ok()
        .filter(|exe| {
            exe.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(program.as_str()))
        });
    RUNNING
        .lock()
        .expect("process registry")
        .get_or_insert_with(HashMap::new)
        .insert(pid, may_kill);
    // The tool leads its own group: if strata dies, the reaper stops the group.
    crate::reaper::report(pid, true);
    // A cancel that raced with the spawn must still reach this child (bookkeeping starts
    // after a cancel on purpose; a new one reaches it through `RUNNING`).
    if is_cancelled() && !bookkeeping {
        interrupt_group(pid);
    }
    let status = child.wait();
    // A tool killed by a signal (an out-of-memory kill, someone's `kill`) may leave the
    // rest of its group working: terraform's process doing the apply, its providers. The
    // tool has not ended until they have, so its group stays registered meanwhile (a
    // Ctrl-C reaches it) and nothing after it starts while they still change things.
    let stragglers = match &status {
        Ok(s) if killed_by_signal(s) => wait_for_group(pid, &program, exe.as_deref()),
        _ => None,
    };
    if let Some(set) = RUNNING.lock().expect("process registry").as_mut() {
        set.remove(&pid);
    }
    crate::reaper::report(pid, false);
    let status = status?;
    tracing::debug!(
        pid,
        code = status.code(),
        ms = start.elapsed().as_millis() as u64,
        "exited"
    );
    // A tool whose writes to these files failed (the temporary directory full) exits as it
    // likes: helm with 0, its manifests cut short between two documents. A directory left
    // with no room means its output cannot be trusted.
    if let Err(e) = room_left() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::StorageFull,
            format!(
                "{program} {first} ran ({}), but the temporary directory {} {NO_ROOM} ({e}): what it wrote there may be cut short, so strata does not use it{}",
                status.code().map_or("killed by a signal".to_string(), |c| format!("exit {c}")),
                std::env::temp_dir().display(),
                if first == "apply" || first == "destroy" {
                    "; it may have changed what it manages: plan again once there is room"
                } else {
                    ""
                }
            ),
        ));
    }
    let read_all = |mut f: std::fs::File| -> std::io::Result<Vec<u8>> {
        use std::io::{Read, Seek};
        let mut bytes = Vec::new();
        f.rewind()?;
        f.read_to_end(&mut bytes)?;
        Ok(bytes)
    };
    let mut stderr = read_all(stderr_file)?;
    if !is_cancelled() {
        if let Some(note) = crash_note(&program, &status, &stderr) {
            if !stderr.is_empty() && !stderr.ends_with(b"\n") {
                stderr.push(b'\n');
            }
            stderr.extend_from_slice(note.as_bytes());
        }
    }
    if let Some(stragglers) = stragglers {
        stderr.extend_from_slice(
            format!(
                "\nstrata: {program} was killed by a signal; its other {program} process went on for {:.1} s, and strata waited for it to end\n",
                stragglers.as_secs_f64()
            )
            .as_bytes(),
        );
    }
    Ok(Output {
        success: status.success(),
        code: status.code(),
        stdout: read_all(stdout_file)?,
        stderr,
        duration: start.elapsed(),
        // A tool that finished successfully did its work, interrupt or not.
        interrupted: is_cancelled() && !status.success(),
    })
}

/// What the error of a tool whose temporary directory filled up says (see [`run`]).
pub const NO_ROOM: &str = "had no room left after it";

/// Whether the temporary directory still takes a block of data: a file system that
/// refused a tool's write has no block left (a write fills what it can, and the next one
/// fails). A file system that was full while the tool ran and has room again by now (a
/// file deleted meanwhile) is not seen.
fn room_left() -> std::io::Result<()> {
    use std::io::Write;
    let mut probe = tempfile::tempfile()?;
    probe.write_all(&[0u8; 4096])?;
    probe.flush()
}

/// What a tool that crashed left unsaid: the signal that killed it, or that the dump above
/// is a Go panic's (terraform run without its crash wrapper, `TF_FORK=0`, writes no
/// `crash.log`; the dump in the task's log is all there is).
fn crash_note(program: &str, status: &std::process::ExitStatus, stderr: &[u8]) -> Option<String> {
    use std::os::unix::process::ExitStatusExt;
    if let Some(signal) = status.signal() {
        let (name, why) = match signal {
            4 => ("SIGILL", ": it crashed"),
            6 => ("SIGABRT", ": it aborted"),
            7 => ("SIGBUS", ": it crashed"),
            9 => (
                "SIGKILL",
                ": something stopped it, often the kernel's out-of-memory killer (see `dmesg`)",
            ),
            11 => ("SIGSEGV", ": it crashed"),
            15 => ("SIGTERM", ": something outside strata stopped it"),
            _ => ("", ""),
        };
        let name = if name.is_empty() {
            String::new()
        } else {
            format!(" ({name})")
        };
        return Some(format!(
            "strata: {program} was killed by signal {signal}{name}{why}\n"
        ));
    }
    let panicked = status.code() == Some(2)
        && (stderr.starts_with(b"panic: ") || contains(stderr, b"\npanic: "))
        && contains(stderr, b"goroutine ");
    panicked.then(|| {
        format!(
            "strata: {program} crashed (a Go panic); the report above is what it would have written to crash.log: keep it for a bug report\n"
        )
    })
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn killed_by_signal(status: &std::process::ExitStatus) -> bool {
    use std::os::unix::process::ExitStatusExt;
    status.signal().is_some()
}

/// Waits until no process of group `pgid` (whose leader ended) that runs what the leader
/// ran (`exe`, or else a process named `program`) is left, and says how long that took
/// (`None`: there was none): terraform's process doing the work runs terraform too, while
/// a process a provisioner started in the background (`kubectl port-forward &`) is not
/// waited for, as before. Zombies do not count (their parent, init, reaps them in its own
/// time). After an interrupt, what still runs [`reaper::GRACE`](crate::reaper::GRACE) later
/// is killed, as the reaper does.
fn wait_for_group(pgid: u32, program: &str, exe: Option<&Path>) -> Option<Duration> {
    let start = Instant::now();
    let mut cancelled_at: Option<Instant> = None;
    if !group_runs(pgid, program, exe) {
        return None;
    }
    while group_runs(pgid, program, exe) {
        if is_cancelled() {
            let since = *cancelled_at.get_or_insert_with(Instant::now);
            if since.elapsed() >= crate::reaper::GRACE {
                kill_group(pgid);
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(start.elapsed())
}

/// Whether a process of group `pgid` running `exe` or named `program` (as the kernel keeps
/// names: the first 15 bytes; what a shim `exec`s) is alive (a zombie is not).
fn group_runs(pgid: u32, program: &str, exe: Option<&Path>) -> bool {
    if matches!(
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(-(pgid as i32)), None),
        Err(nix::errno::Errno::ESRCH)
    ) {
        return false;
    }
    let Ok(entries) = std::fs::read_dir("/proc") else {
        // No way to tell: not waited for, as before.
        return false;
    };
    let wanted = &program.as_bytes()[..program.len().min(15)];
    let group = pgid.to_string();
    entries.flatten().any(|entry| {
        let pid = entry.file_name().to_string_lossy().into_owned();
        if !pid.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
        let Some((name, fields)) = proc_stat(&pid) else {
            return false;
        };
        // State, parent, group.
        let ours = matches!(&fields[..], [state, _, g, ..] if state != "Z" && *g == group);
        ours && (name.as_bytes() == wanted
            || exe.is_some_and(|exe| {
                std::fs::read_link(entry.path().join("exe")).is_ok_and(|e| e == exe)
            }))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_tools_that_change_nothing_are_killed_after_an_interrupt() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(killable(&args(&["init", "-input=false"])));
        assert!(killable(&args(&["state", "pull"])));
        assert!(killable(&args(&["template"])));
        // terraform's or OpenTofu's, by the command.
        assert!(!killable(&args(&["apply", "-input=false"])));
        assert!(!killable(&args(&["state", "push"])));
        assert!(!killable(&args(&[])));
    }

    #[test]
    fn a_tool_killed_by_a_signal_has_ended_only_once_its_group_has() {
        let dir = tempfile::tempdir().unwrap();
        let done = dir.path().join("done");
        // The leader starts a worker of its own program in its group, then dies of SIGKILL;
        // the worker goes on for a moment and then writes its result. A helper it started
        // in the background (another program) is not waited for.
        let script = format!(
            "sleep 30 & sh -c 'sleep 1; touch {}' & kill -9 $$",
            done.display()
        );
        let mut cmd = Command::new("sh");
        cmd.args(["-c", &script]);
        let start = Instant::now();
        let out = run(cmd, dir.path()).unwrap();
        assert!(!out.success);
        assert!(done.exists(), "returned while the worker still ran");
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "waited for the helper"
        );
        let says = String::from_utf8_lossy(&out.stderr);
        assert!(says.contains("killed by a signal"), "{says}");
        assert!(
            says.contains("strata: sh was killed by signal 9 (SIGKILL): something stopped it"),
            "{says}"
        );
    }

    #[test]
    fn a_crash_is_named_in_the_tool_output() {
        let dir = tempfile::tempdir().unwrap();
        let run_sh = |script: &str| {
            let mut cmd = Command::new("sh");
            cmd.args(["-c", script]);
            let out = run(cmd, dir.path()).unwrap();
            assert!(!out.success);
            String::from_utf8_lossy(&out.combined()).into_owned()
        };
        let says = run_sh("echo planning; kill -SEGV $$");
        assert!(
            says.starts_with("planning\n")
                && says.ends_with("strata: sh was killed by signal 11 (SIGSEGV): it crashed\n"),
            "{says}"
        );
        // A Go panic exits 2 with its dump on stderr.
        let says = run_sh(
            "echo 'panic: runtime error: invalid memory address' >&2; echo >&2; echo 'goroutine 1 [running]:' >&2; exit 2",
        );
        assert!(says.contains("strata: sh crashed (a Go panic)"), "{says}");
        // An error that merely mentions a panic, or exits otherwise, is no crash.
        let says = run_sh("echo 'Error: the panic: button' >&2; exit 1");
        assert!(!says.contains("strata:"), "{says}");
        let says = run_sh("echo 'Error: bad' >&2; exit 1");
        assert!(!says.contains("strata:"), "{says}");
    }

    #[test]
    fn an_identity_tells_a_running_process_from_an_ended_one() {
        assert!(still_runs(&identity()));
        // A pid that ended: a child that already exited and was reaped.
        #[allow(clippy::disallowed_methods)]
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        let here = pid_space();
        assert!(!still_runs(&format!("{pid} 1 {here}")));
        // This process's pid with another start time: a reused pid.
        assert!(!still_runs(&format!("{} 1 {here}", std::process::id())));
        // Of another pid namespace, machine or boot, or saying none: not ours to judge.
        assert!(still_runs(&format!("{pid} 1 other/pid:[1]")));
        assert!(still_runs(&format!("{pid} 1")));
    }
}
