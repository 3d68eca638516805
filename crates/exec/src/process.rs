//! Running tools: output captured per task, children in their own process group so a
//! terminal's Ctrl-C reaches only strata, which forwards SIGINT once to every running tool
//! and waits for them (terraform then releases its state lock cleanly).

use std::collections::HashSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Set once an interrupt was received; no new tool is started afterwards.
static CANCELLED: AtomicBool = AtomicBool::new(false);
static RUNNING: Mutex<Option<HashSet<u32>>> = Mutex::new(None);

pub fn is_cancelled() -> bool {
    CANCELLED.load(Ordering::SeqCst)
}

/// Marks the run cancelled and sends SIGINT to every running tool.
pub fn cancel_all() {
    CANCELLED.store(true, Ordering::SeqCst);
    let pids: Vec<u32> = RUNNING
        .lock()
        .map(|r| r.iter().flatten().copied().collect())
        .unwrap_or_default();
    for pid in pids {
        interrupt_group(pid);
    }
}

/// SIGINT to the tool's whole process group (it leads one): terraform's outer process does
/// not forward SIGINT to the process doing the work, so the group must receive it.
fn interrupt_group(pid: u32) {
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(-(pid as i32)),
        nix::sys::signal::Signal::SIGINT,
    );
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

/// Runs a command to completion, capturing its output.
pub fn run(mut cmd: Command, cwd: &Path) -> std::io::Result<Output> {
    if is_cancelled() {
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
    let start = Instant::now();
    let child = cmd
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let pid = child.id();
    RUNNING
        .lock()
        .expect("process registry")
        .get_or_insert_with(HashSet::new)
        .insert(pid);
    // A cancel that raced with the spawn must still reach this child.
    if is_cancelled() {
        interrupt_group(pid);
    }
    let out = child.wait_with_output();
    if let Some(set) = RUNNING.lock().expect("process registry").as_mut() {
        set.remove(&pid);
    }
    let out = out?;
    Ok(Output {
        success: out.status.success(),
        code: out.status.code(),
        stdout: out.stdout,
        stderr: out.stderr,
        duration: start.elapsed(),
        // A tool that finished successfully did its work, interrupt or not.
        interrupted: is_cancelled() && !out.status.success(),
    })
}
