//! Ctrl-C (SIGINT to the strata process) while terraform works: strata stops its tools,
//! exits 130 promptly, leaves no tool running, no state lock and no partial cache entry, and
//! the next run works.
#![allow(clippy::disallowed_methods)] // tests drive git, the real strata binary and tools

mod common;
use common::{
    assert_cache_consistent, files_under, repo_root, task, wait_for, Repo, NULL_PROVIDER,
};

use serde_json::Value;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long strata may take to exit after SIGINT. Terraform, once told, stops a provisioner
/// or a lock wait within a second; the slow operations below take 30 s.
const PROMPT: Duration = Duration::from_secs(15);
/// After this, strata is considered hung and killed.
const HANG: Duration = Duration::from_secs(90);

/// A stack whose apply runs `command` in a local-exec provisioner.
fn provisioned_stack(command: &str) -> String {
    format!(
        "{NULL_PROVIDER}\nresource \"null_resource\" \"slow\" {{\n  provisioner \"local-exec\" {{\n    command = {}\n  }}\n}}\n",
        serde_json::to_string(command).unwrap()
    )
}

/// A workspace with the pinned tools, a local-state `dev` environment, `stacks/slow` (whose
/// apply runs `slow_command`) and an independent `stacks/fast`.
fn workspace(slow_command: &str) -> Repo {
    let root = repo_root();
    assert!(
        root.join(".tools/bin/terraform").exists(),
        "pinned tools missing: run scripts/bootstrap first"
    );
    let repo = Repo::new();
    repo.write(
        "WORKSPACE.toml",
        r#"[workspace]
name = "interrupt"
default_branch = "main"

[toolchain]
terraform = "1.0.3"
helm = "4.1.4"
tools_dir = ".tools/bin"
terraform_cli_config = ".tools/terraform.rc"
"#,
    );
    repo.write(".gitignore", ".strata/\n/.tools\n");
    repo.write(
        "environments/dev/env.toml",
        "[state]\nbackend = \"local\"\n",
    );
    repo.write("stacks/slow/main.tf", &provisioned_stack(slow_command));
    repo.write(
        "stacks/fast/main.tf",
        &format!("{NULL_PROVIDER}\nresource \"null_resource\" \"fast\" {{}}\n\noutput \"id\" {{\n  value = null_resource.fast.id\n}}\n"),
    );
    common::link_pinned_tools(&repo);
    repo.commit("interrupt workspace");
    repo
}

fn state_dir(repo: &Repo, label: &str) -> PathBuf {
    repo.state_file("dev", label)
        .parent()
        .unwrap()
        .to_path_buf()
}

const LOCK_FILE: &str = ".terraform.tfstate.lock.info";

/// Processes whose working directory is under `dir`: the tools strata started in its
/// sandboxes (terraform, its wrapper child, providers, provisioner commands).
fn processes_under(dir: &Path) -> Vec<(u32, String)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in entries.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cwd) = std::fs::read_link(e.path().join("cwd")) else {
            continue;
        };
        if cwd.starts_with(dir) {
            let cmdline = std::fs::read(e.path().join("cmdline"))
                .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
                .unwrap_or_default();
            out.push((pid, cmdline.trim().to_string()));
        }
    }
    out
}

fn signal(sig: &str, target: &str) {
    let _ = Command::new("kill")
        .args([sig, "--", target])
        .stderr(Stdio::null())
        .status();
}

/// A `strata --json ARGS` run in the background, output captured in files. On drop (a failed
/// test), strata and every tool still running in the repository's sandboxes are killed.
struct Background {
    child: Child,
    out: PathBuf,
    err: PathBuf,
    work: PathBuf,
    _logs: tempfile::TempDir,
}

impl Background {
    fn start(repo: &Repo, args: &[&str]) -> Background {
        Background::start_with(repo, args, &[])
    }

    fn start_with(repo: &Repo, args: &[&str], env: &[(&str, &Path)]) -> Background {
        let logs = tempfile::tempdir().unwrap();
        let out = logs.path().join("stdout");
        let err = logs.path().join("stderr");
        let mut full = vec!["--json"];
        full.extend_from_slice(args);
        let mut cmd = repo.command(&full);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(File::create(&out).unwrap())
            .stderr(File::create(&err).unwrap())
            .spawn()
            .unwrap();
        Background {
            child,
            out,
            err,
            work: repo.path().join(".strata/work"),
            _logs: logs,
        }
    }

    /// Sends SIGINT to strata alone (not its process group), like a terminal's Ctrl-C would
    /// reach it, since strata runs its tools in process groups of their own.
    fn interrupt(&self) {
        signal("-INT", &self.child.id().to_string());
    }

    /// Waits up to `limit` for strata to exit: its exit code.
    fn wait(&mut self, limit: Duration) -> Option<i32> {
        let end = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status.code().unwrap_or(-1));
            }
            if Instant::now() > end {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.err).unwrap_or_default()
    }

    fn report(&self) -> Value {
        let text = std::fs::read_to_string(&self.out).unwrap();
        serde_json::from_str(&text).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{text}\nstderr:\n{}",
                self.stderr()
            )
        })
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        for (pid, _) in processes_under(&self.work) {
            signal("-KILL", &pid.to_string());
        }
    }
}

/// A `terraform apply` outside strata holding the lock on a state file (its provisioner
/// sleeps), as a colleague's apply would, in its own directory and process group.
struct LockHolder {
    child: Child,
    _dir: tempfile::TempDir,
}

impl LockHolder {
    fn start(state: &Path, marker: &Path) -> LockHolder {
        let root = repo_root();
        let dir = tempfile::tempdir().unwrap();
        // Long enough to outlast any test; it is always stopped by `stop` or on drop.
        let command = format!("touch '{}' && sleep 120", marker.display());
        std::fs::write(dir.path().join("main.tf"), provisioned_stack(&command)).unwrap();
        std::fs::write(
            dir.path().join("backend.tf"),
            format!(
                "terraform {{\n  backend \"local\" {{\n    path = {}\n  }}\n}}\n",
                serde_json::to_string(&state.display().to_string()).unwrap()
            ),
        )
        .unwrap();
        let terraform = |args: &[&str]| {
            let mut cmd = Command::new(root.join(".tools/bin/terraform"));
            cmd.current_dir(dir.path())
                .args(args)
                .env("TF_CLI_CONFIG_FILE", root.join(".tools/terraform.rc"))
                .env("TF_DATA_DIR", dir.path().join("data"))
                .stdin(Stdio::null());
            cmd
        };
        let init = terraform(&["init", "-input=false", "-no-color"])
            .output()
            .unwrap();
        assert!(
            init.status.success(),
            "{}{}",
            String::from_utf8_lossy(&init.stdout),
            String::from_utf8_lossy(&init.stderr)
        );
        let mut apply = terraform(&["apply", "-auto-approve", "-input=false", "-no-color"]);
        {
            use std::os::unix::process::CommandExt;
            apply.process_group(0);
        }
        let child = apply
            .stdout(File::create(dir.path().join("apply.log")).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        LockHolder { child, _dir: dir }
    }

    fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Interrupts it (its whole process group) and waits until it has exited.
    fn stop(&mut self) {
        if self.running() {
            signal("-INT", &format!("-{}", self.child.id()));
        }
        let end = Instant::now() + Duration::from_secs(40);
        while self.running() && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for LockHolder {
    fn drop(&mut self) {
        if self.running() {
            signal("-KILL", &format!("-{}", self.child.id()));
        }
        let _ = self.child.wait();
    }
}

fn markers() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("strata-interrupt-")
        .tempdir()
        .unwrap()
}

#[test]
fn ctrl_c_during_apply_stops_terraform_and_exits_130() {
    let outside = markers();
    let started = outside.path().join("provisioner-started");
    let repo = workspace(&format!("touch '{}' && sleep 30", started.display()));
    let slow_state = state_dir(&repo, "stacks/slow");
    let fast_state = state_dir(&repo, "stacks/fast").join("terraform.tfstate");

    let mut strata = Background::start(
        &repo,
        &["apply", "--auto-approve", "--env", "dev", "-j", "2"],
    );
    // The slow apply is in its provisioner (holding the state lock) and the fast stack's
    // apply has finished: interrupt now.
    wait_for(
        "the slow provisioner to start",
        Duration::from_secs(60),
        || started.exists(),
    );
    let fast_sandbox = repo.path().join(".strata/work/dev/stacks%2Ffast");
    wait_for(
        "the fast stack's apply to finish",
        Duration::from_secs(60),
        || {
            std::fs::read_to_string(&fast_state).is_ok_and(|s| s.contains("null_resource"))
                && processes_under(&fast_sandbox).is_empty()
        },
    );
    // (strata notes the tool's exit just after it happens)
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        slow_state.join(LOCK_FILE).exists(),
        "the apply holds the state lock"
    );
    let slow_sandbox = repo.path().join(".strata/work/dev/stacks%2Fslow");
    assert!(
        processes_under(&slow_sandbox)
            .iter()
            .any(|(_, cmd)| cmd.starts_with("sleep")),
        "the provisioner is still running: {:#?}",
        processes_under(&slow_sandbox)
    );
    let sent = Instant::now();
    strata.interrupt();
    let code = strata.wait(HANG);
    let took = sent.elapsed();
    let Some(code) = code else {
        panic!(
            "strata did not exit within {HANG:?} of SIGINT; still running: {:#?}\nstderr:\n{}",
            processes_under(&repo.path().join(".strata/work")),
            strata.stderr()
        );
    };
    assert_eq!(code, 130, "{}", strata.stderr());
    let report = strata.report();
    assert_eq!(report["interrupted"], true);
    assert_eq!(report["ok"], false);
    let apply = task(&report, "stacks/slow", "apply");
    assert_eq!(apply["status"], "failed", "{apply}");
    assert_eq!(apply["reason"], "interrupted", "{apply}");
    assert_eq!(task(&report, "stacks/fast", "apply")["status"], "ok");

    // Nothing left behind: no tool still running from this run, no state lock, only whole
    // cache entries.
    let leftovers = processes_under(&repo.path().join(".strata/work"));
    assert!(leftovers.is_empty(), "still running: {leftovers:#?}");
    assert!(
        !slow_state.join(LOCK_FILE).exists(),
        "the state lock was left behind: {:?}",
        files_under(&slow_state)
    );
    let results = assert_cache_consistent(&repo.path().join(".strata/cache"));
    assert!(results >= 2, "the inits that finished are cached");

    // Terraform itself was told: it stopped the provisioner instead of finishing the apply
    // (the interrupted resource is tainted, not created).
    let slow_log = apply["log"].as_str().unwrap_or_default();
    let state = std::fs::read_to_string(slow_state.join("terraform.tfstate")).unwrap_or_default();
    let completed = slow_log.contains("Apply complete!")
        || (state.contains("null_resource") && !state.contains("\"tainted\""));
    let interrupt_seen = !completed && took < PROMPT;

    // The next run (without the long sleep) applies everything.
    std::fs::remove_file(&started).unwrap();
    repo.write("stacks/slow/main.tf", &provisioned_stack("sleep 1"));
    let rerun = repo.strata(&["--json", "apply", "--auto-approve", "--env", "dev"]);
    assert_eq!(rerun.code, 0, "{}\n{}", rerun.stdout, rerun.stderr);
    let state = std::fs::read_to_string(slow_state.join("terraform.tfstate")).unwrap();
    assert!(
        state.contains("null_resource") && !state.contains("\"tainted\""),
        "{state}"
    );
    assert!(!slow_state.join(LOCK_FILE).exists());
    assert_cache_consistent(&repo.path().join(".strata/cache"));

    assert!(
        interrupt_seen,
        "terraform never saw the interrupt: strata exited {took:?} after SIGINT, once the \
         30 s provisioner had finished (apply completed: {completed}); slow apply log:\n{slow_log}"
    );
}

#[test]
fn ctrl_c_while_a_plan_waits_for_a_state_lock_exits_130_and_leaves_the_lock_alone() {
    let outside = markers();
    let holding = outside.path().join("lock-holder-started");
    let repo = workspace("true");
    let slow_state = state_dir(&repo, "stacks/slow");
    std::fs::create_dir_all(&slow_state).unwrap();
    // Someone else's apply holds the lock of the stack's dev state.
    let mut holder = LockHolder::start(&slow_state.join("terraform.tfstate"), &holding);
    wait_for(
        "the other apply to hold the lock",
        Duration::from_secs(60),
        || holding.exists(),
    );
    assert!(slow_state.join(LOCK_FILE).exists());
    let their_lock = std::fs::read_to_string(slow_state.join(LOCK_FILE)).unwrap();

    let mut strata = Background::start(&repo, &["check", "--env", "dev", "-j", "2"]);
    // strata's plan waits for the lock (-lock-timeout=60s).
    let sandbox = repo.path().join(".strata/work/dev/stacks%2Fslow");
    wait_for(
        "strata's plan of stacks/slow",
        Duration::from_secs(60),
        || {
            processes_under(&sandbox)
                .iter()
                .any(|(_, cmd)| cmd.contains("terraform plan"))
        },
    );
    std::thread::sleep(Duration::from_secs(2));
    assert!(holder.running());
    // It says who holds the lock while it waits, not after.
    assert!(
        strata
            .stderr()
            .contains("stacks/slow [dev]: the state is locked by")
            && strata.stderr().contains("OperationTypeApply"),
        "{}",
        strata.stderr()
    );
    let sent = Instant::now();
    strata.interrupt();
    let prompt = strata.wait(PROMPT);

    // strata did not touch the other apply's lock.
    assert!(holder.running(), "the other apply was not interrupted");
    assert_eq!(
        std::fs::read_to_string(slow_state.join(LOCK_FILE))
            .ok()
            .as_deref(),
        Some(their_lock.as_str()),
        "the other apply's lock is intact"
    );
    holder.stop();
    assert!(!holder.running());
    let released = sent.elapsed();
    let code = match prompt {
        Some(code) => code,
        None => match strata.wait(HANG) {
            Some(code) => code,
            None => panic!(
                "strata did not exit within {HANG:?} of SIGINT; still running: {:#?}",
                processes_under(&repo.path().join(".strata/work"))
            ),
        },
    };
    assert_eq!(code, 130, "{}", strata.stderr());
    let report = strata.report();
    assert_eq!(report["interrupted"], true);
    let plan = task(&report, "stacks/slow", "plan").clone();
    assert_eq!(plan["status"], "failed", "{plan}");
    assert!(
        plan["reason"].as_str().unwrap().contains("interrupted"),
        "{plan}"
    );
    // The interrupted plan is not cached; what is cached is whole.
    let key = plan["key"].as_str().unwrap();
    assert!(!repo.path().join(".strata/cache/ac").join(key).exists());
    assert_cache_consistent(&repo.path().join(".strata/cache"));
    let leftovers = processes_under(&repo.path().join(".strata/work"));
    assert!(leftovers.is_empty(), "still running: {leftovers:#?}");
    assert!(!slow_state.join(LOCK_FILE).exists());

    // With the lock free, a rerun plans for real and reuses what finished before.
    let rerun = repo.strata(&["--json", "check", "--env", "dev"]);
    assert_eq!(rerun.code, 0, "{}\n{}", rerun.stdout, rerun.stderr);
    let again = rerun.json();
    assert_eq!(task(&again, "stacks/slow", "plan")["cached"], false);
    assert_eq!(task(&again, "stacks/slow", "fmt")["cached"], true);

    assert!(
        prompt.is_some(),
        "strata did not exit within {PROMPT:?} of SIGINT, only after the other apply \
         released the lock {released:?} after SIGINT: its terraform plan never saw the \
         interrupt and went on waiting for the lock"
    );
    assert_eq!(plan["reason"], "interrupted", "{plan}");
}

/// `kill -9` of strata during an apply: the tools it started do not go on as orphans (the
/// reaper stops them), the state lock is released, and the next apply works.
#[test]
fn kill_9_during_apply_stops_the_tools_and_the_next_run_works() {
    let outside = markers();
    let started = outside.path().join("provisioner-started");
    let repo = workspace(&format!("touch '{}' && sleep 60", started.display()));
    let slow_state = state_dir(&repo, "stacks/slow");
    let mut strata = Background::start(
        &repo,
        &["apply", "--auto-approve", "--env", "dev", "stacks/slow"],
    );
    wait_for("the provisioner to start", Duration::from_secs(60), || {
        started.exists()
    });
    let work = repo.path().join(".strata/work");
    assert!(!processes_under(&work).is_empty());
    signal("-KILL", &strata.child.id().to_string());
    assert!(strata.wait(Duration::from_secs(5)).is_some());
    // Terraform gets SIGINT, stops at a safe point and releases its lock.
    wait_for(
        "the orphaned tools to stop",
        strata_exec_grace() + Duration::from_secs(15),
        || processes_under(&work).is_empty(),
    );
    assert!(
        !slow_state.join(LOCK_FILE).exists(),
        "the state lock was released"
    );
    std::fs::remove_file(&started).unwrap();
    let repo_fast = &repo;
    repo_fast.write("stacks/slow/main.tf", &provisioned_stack("true"));
    let again = repo.strata(&[
        "--json",
        "apply",
        "--auto-approve",
        "--env",
        "dev",
        "stacks/slow",
    ]);
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
}

/// The reaper's grace period (strata_exec::reaper::GRACE).
fn strata_exec_grace() -> Duration {
    Duration::from_secs(20)
}

/// Ctrl-C during an apply in an environment that signs its audit events: the interrupted
/// run's event is still signed (signing is bookkeeping that runs after the interrupt, when
/// no new tool would start), and the ledger verifies.
#[test]
fn an_interrupted_apply_in_a_signed_environment_records_a_signed_event() {
    let outside = markers();
    let started = outside.path().join("provisioner-started");
    let repo = workspace(&format!("touch '{}' && sleep 30", started.display()));
    let key = outside.path().join("deployer");
    let made = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "deployer", "-f"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    let other = outside.path().join("other");
    let made = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "other", "-f"])
        .arg(&other)
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    let public = |name: &str| {
        let text = std::fs::read_to_string(outside.path().join(format!("{name}.pub"))).unwrap();
        text.split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ")
    };
    // The deployer's key on one line of two: after the interrupt, ssh-keygen's "no other
    // line lists it" (an exit code) is an answer, not an interruption.
    repo.write(
        "environments/allowed_signers",
        &format!(
            "deployer@ci namespaces=\"strata-audit\" {}\nother@ci namespaces=\"strata-audit\" {}\n",
            public("deployer"),
            public("other")
        ),
    );
    repo.write(
        "environments/dev/env.toml",
        "[state]\nbackend = \"local\"\n[audit]\nsigned = true\n",
    );
    repo.commit("dev signs its audit events");
    let mut strata = Background::start_with(
        &repo,
        &["apply", "--auto-approve", "--env", "dev", "stacks/slow"],
        &[("STRATA_AUDIT_KEY", &key)],
    );
    wait_for(
        "the slow provisioner to start",
        Duration::from_secs(60),
        || started.exists(),
    );
    strata.interrupt();
    let code = strata.wait(HANG);
    assert_eq!(code, Some(130), "{}", strata.stderr());
    let ledger = std::fs::read_to_string(repo.path().join("environments/dev/audit.jsonl")).unwrap();
    let event: Value = serde_json::from_str(ledger.lines().last().unwrap()).unwrap();
    assert_eq!(event["outcome"], "interrupted", "{event}");
    assert_eq!(event["signer"], "deployer@ci", "{event}");
    assert!(event["signature"].is_string(), "{event}");
    let verify = repo.strata(&["--json", "audit", "verify"]);
    assert_eq!(verify.code, 0, "{}\n{}", verify.stdout, verify.stderr);
}

/// Ctrl-C while `apply` verifies what it applied (the follow-up plan): the run is no
/// success (exit 130, `ok: false`, interrupted), and nothing is recorded in the release
/// lock, since the verification did not finish.
#[test]
fn ctrl_c_during_the_verification_after_apply_is_no_success() {
    let outside = markers();
    let applied = outside.path().join("applied");
    let verifying = outside.path().join("verifying");
    let repo = workspace("true");
    // terraform behind a wrapper: after an `apply`, the next `plan` (the verification)
    // says so and waits before it runs.
    terraform_wrapper(
        &repo,
        outside.path(),
        &format!(
            "case \"$1\" in\n\
               apply) touch '{applied}' ;;\n\
               plan) if [ -e '{applied}' ]; then touch '{verifying}'; sleep 60; fi ;;\n\
             esac\n",
            applied = applied.display(),
            verifying = verifying.display(),
        ),
    );

    let mut strata = Background::start(
        &repo,
        &["apply", "--auto-approve", "--env", "dev", "stacks/fast"],
    );
    wait_for(
        "the verification plan to start",
        Duration::from_secs(120),
        || verifying.exists(),
    );
    strata.interrupt();
    let Some(code) = strata.wait(HANG) else {
        panic!("strata did not exit after SIGINT:\n{}", strata.stderr());
    };
    assert_eq!(code, 130, "{}", strata.stderr());
    let report = strata.report();
    assert_eq!(report["ok"], false, "{report}");
    assert_eq!(report["interrupted"], true, "{report}");
    assert!(
        !repo
            .path()
            .join("environments/dev/release.lock.toml")
            .exists(),
        "nothing recorded: {}",
        strata.stderr()
    );
    // The ledger says so too: the apply happened, the verification did not finish.
    let ledger = std::fs::read_to_string(repo.path().join("environments/dev/audit.jsonl")).unwrap();
    let event: Value = serde_json::from_str(ledger.lines().last().unwrap()).unwrap();
    assert_eq!(event["outcome"], "interrupted", "{event}");
    let fast = event["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["label"] == "stacks/fast")
        .unwrap_or_else(|| panic!("{event}"));
    assert_eq!(fast["result"], "not-recorded", "{event}");
    assert!(
        fast["reason"].as_str().unwrap().contains("verification"),
        "{event}"
    );
}

/// Ctrl-C during an apply that terraform finishes anyway (terraform ignores an interrupt
/// that lands before its walk starts; here a wrapper ignores it): exit 130, and the run
/// says the stack was applied but neither verified nor recorded. It used to print the
/// apply as ok and nothing about the interrupt.
#[test]
fn ctrl_c_during_an_apply_that_finishes_anyway_says_it_was_not_recorded() {
    let outside = markers();
    let applying = outside.path().join("applying");
    let repo = workspace("true");
    terraform_wrapper(
        &repo,
        outside.path(),
        &format!(
            "if [ \"$1\" = apply ]; then trap '' INT TERM; touch '{}'; sleep 2; fi\n",
            applying.display()
        ),
    );
    let mut strata = Background::start(
        &repo,
        &["apply", "--auto-approve", "--env", "dev", "stacks/fast"],
    );
    wait_for("the apply to start", Duration::from_secs(120), || {
        applying.exists()
    });
    strata.interrupt();
    let Some(code) = strata.wait(HANG) else {
        panic!("strata did not exit after SIGINT:\n{}", strata.stderr());
    };
    assert_eq!(code, 130, "{}", strata.stderr());
    assert!(
        strata.stderr().contains(
            "stacks/fast not recorded: applied, but the run was interrupted before its verification"
        ),
        "{}",
        strata.stderr()
    );
    assert!(!repo
        .path()
        .join("environments/dev/release.lock.toml")
        .exists());
}

/// Makes `repo` run terraform through a wrapper in `dir/bin` (its `tools_dir`) that runs the
/// shell `before`, then the pinned terraform, and commits that.
fn terraform_wrapper(repo: &Repo, dir: &Path, before: &str) {
    use std::os::unix::fs::PermissionsExt;
    let bin = dir.join("bin");
    std::fs::create_dir(&bin).unwrap();
    let real = repo_root().join(".tools/bin");
    std::os::unix::fs::symlink(real.join("helm"), bin.join("helm")).unwrap();
    let terraform = bin.join("terraform");
    std::fs::write(
        &terraform,
        format!(
            "#!/bin/sh\n{before}exec '{}' \"$@\"\n",
            real.join("terraform").display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&terraform, std::fs::Permissions::from_mode(0o755)).unwrap();
    let workspace_toml = std::fs::read_to_string(repo.path().join("WORKSPACE.toml")).unwrap();
    repo.write(
        "WORKSPACE.toml",
        &workspace_toml.replace(
            "tools_dir = \".tools/bin\"",
            &format!("tools_dir = \"{}\"", bin.display()),
        ),
    );
    repo.commit("terraform behind a wrapper");
}

/// Makes `repo` run `tools` through wrappers in `wrap/` (its `tools_dir`) that, when given
/// the argument `word`, run `before` (shell), touch the returned marker and sleep 3 s, then
/// run the pinned tool.
fn slow_tools(repo: &Repo, tools: &[&str], word: &str, before: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let wrap = repo.path().join("wrap");
    std::fs::create_dir(&wrap).unwrap();
    let marker = repo.path().join("marker");
    for tool in tools {
        std::fs::write(
            wrap.join(tool),
            format!(
                "#!/bin/sh\ncase \" $* \" in *' {word} '*) {before}touch '{}'; sleep 3;; esac\nexec '{}' \"$@\"\n",
                marker.display(),
                repo_root().join(".tools/bin").join(tool).display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(wrap.join(tool), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let workspace = std::fs::read_to_string(repo.path().join("WORKSPACE.toml")).unwrap();
    repo.write(
        "WORKSPACE.toml",
        &workspace.replace("tools_dir = \".tools/bin\"", "tools_dir = \"wrap\""),
    );
    marker
}

/// Ctrl-C while `state push` runs: terraform writing the state is never stopped, so
/// strata waits for it, reports the push it made (exit 0, with a note) and records the
/// event in the ledger, rather than exiting at once and leaving a pushed state no event
/// records.
#[test]
fn ctrl_c_during_a_state_push_waits_for_it_and_records_it() {
    let repo = common::tools_repo();
    common::network_stack(&repo, "1");
    repo.commit("network");
    let run = repo.strata(&["apply", "--env", "dev", "--auto-approve", "stacks/network"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let state_file = repo.state_file("dev", "stacks/network");
    let mut state: Value =
        serde_json::from_str(&std::fs::read_to_string(&state_file).unwrap()).unwrap();
    state["serial"] = (state["serial"].as_u64().unwrap() + 1).into();
    let pushed = repo.path().join("pushed.tfstate");
    std::fs::write(&pushed, serde_json::to_string(&state).unwrap()).unwrap();
    // A terraform whose push takes 3 s and ignores SIGINT meanwhile, as terraform's does.
    let marker = slow_tools(&repo, &["terraform"], "push", "trap '' INT; ");
    repo.write(".gitignore", ".strata/\n.tools\npushed.tfstate\nmarker\n");
    repo.commit("a slow backend");
    let events = |repo: &Repo| {
        std::fs::read_to_string(repo.path().join("environments/dev/audit.jsonl"))
            .unwrap_or_default()
            .lines()
            .count()
    };
    let before = events(&repo);
    let mut push = Background::start(
        &repo,
        &[
            "state",
            "push",
            "stacks/network",
            "--env",
            "dev",
            "pushed.tfstate",
        ],
    );
    wait_for("the push to start", Duration::from_secs(60), || {
        marker.exists()
    });
    push.interrupt();
    let code = push.wait(Duration::from_secs(60));
    assert_eq!(code, Some(0), "{}", push.stderr());
    assert!(
        push.stderr()
            .contains("Ctrl-C came while terraform wrote the state"),
        "{}",
        push.stderr()
    );
    assert_eq!(events(&repo), before + 1);
    let after: Value =
        serde_json::from_str(&std::fs::read_to_string(&state_file).unwrap()).unwrap();
    assert_eq!(after["serial"], state["serial"]);
}

/// Ctrl-C while strata asks a tool its version (a slow helm): an interruption, exit 130,
/// saying so, not exit 2 with a hint to check a tool that works.
#[test]
fn ctrl_c_during_the_tool_version_probe_is_an_interruption() {
    let repo = common::tools_repo();
    repo.write(
        "charts/web/Chart.yaml",
        "apiVersion: v2\nname: web\nversion: 0.1.0\n",
    );
    let marker = slow_tools(&repo, &["terraform", "helm"], "version", "");
    repo.write(".gitignore", ".strata/\n.tools\nmarker\n");
    repo.commit("slow tools");
    let mut check = Background::start(&repo, &["check", "--env", "dev", "--no-cache"]);
    wait_for("the version probe", Duration::from_secs(60), || {
        marker.exists()
    });
    check.interrupt();
    let code = check.wait(Duration::from_secs(60));
    assert_eq!(code, Some(130), "{}", check.stderr());
    assert!(
        check.stderr().contains("strata: interrupted ("),
        "{}",
        check.stderr()
    );
    assert!(
        !check.stderr().contains("strata tools"),
        "{}",
        check.stderr()
    );
}

/// Ctrl-C while a run waits for another run's turn in this checkout: the tasks asked for are
/// listed as not run, so the JUnit report is no green report of a run that checked nothing
/// (it had `tests="0" errors="0"`, which test-report views show as passing).
#[test]
fn ctrl_c_while_waiting_for_another_run_reports_every_task_as_not_run() {
    let repo = workspace("true");
    let strata_dir = repo.path().join(".strata");
    std::fs::create_dir_all(&strata_dir).unwrap();
    // Another run's turn, taken as a run takes it.
    let held = File::create(strata_dir.join("run.lock")).unwrap();
    held.lock().unwrap();
    let logs = tempfile::tempdir().unwrap();
    let junit = logs.path().join("junit.xml");
    let junit_arg = junit.to_string_lossy().into_owned();
    let mut check = Background::start(&repo, &["check", "--env", "dev", "--junit", &junit_arg]);
    wait_for(
        "the run to wait for its turn",
        Duration::from_secs(60),
        || check.stderr().contains("waiting for"),
    );
    check.interrupt();
    assert_eq!(
        check.wait(Duration::from_secs(60)),
        Some(130),
        "{}",
        check.stderr()
    );
    drop(held);
    let report = check.report();
    assert_eq!(report["interrupted"], true);
    let tasks = report["tasks"].as_array().unwrap();
    assert!(!tasks.is_empty(), "{report}");
    assert!(
        tasks.iter().all(|t| t["status"] == "skipped"
            && t["reason"] == "interrupted while waiting for another run"),
        "{report}"
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(!xml.contains("errors=\"0\""), "{xml}");
    assert!(
        xml.contains("did not run: interrupted while waiting for another run"),
        "{xml}"
    );
}
