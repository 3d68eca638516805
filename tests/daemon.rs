//! `strata daemon`: a resident process that answers `strata affected` for the work tree.
//! It may make the command faster, never different: its answers equal the ones computed in
//! process through edits, new and deleted files, index and HEAD moves and ignore rules; an
//! edit made just before a request is seen; errors look the same; `--no-cache` and
//! `STRATA_DAEMON=0` bypass it; it starts, stops and goes away when its socket does; and
//! `strata affected` starts one by itself, once, except on CI or when told not to.
#![cfg(unix)]

mod common;
use common::{Repo, Run};
use serde_json::Value;
use std::process::Command;
use std::time::{Duration, Instant};

/// Runs the built `strata` in the repository root with extra environment variables. The
/// defaults are `STRATA_DAEMON=manual` (ask a running daemon, start none) and no CI
/// variables, so only `env` decides.
fn strata_env(repo: &Repo, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_strata"));
    command
        .current_dir(repo.path())
        .args(args)
        .env_remove("GIT_DIR")
        .env("STRATA_DAEMON", "manual");
    for ci in [
        "CI",
        "JENKINS_URL",
        "TF_BUILD",
        "TEAMCITY_VERSION",
        "CODEBUILD_BUILD_ID",
    ] {
        command.env_remove(ci);
    }
    for (key, value) in env {
        command.env(key, value);
    }
    let out = command.output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

const AFFECTED: &[&str] = &["--json", "affected", "--base", "main"];

/// `strata --json affected --base main`, asking the daemon first.
fn via_daemon(repo: &Repo) -> Run {
    strata_env(repo, AFFECTED, &[])
}

/// The same command for a client that cannot run `git`: it gets an answer only from the
/// daemon, since computing one itself needs git. A daemon that fails (and leaves the work to
/// the client) cannot pass for one that answered.
/// Fails the test when the daemon did not answer; `what` names the step.
#[track_caller]
fn daemon_only(repo: &Repo, what: &str) -> Value {
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
fn in_process(repo: &Repo) -> Run {
    strata_env(repo, AFFECTED, &[("STRATA_DAEMON", "0")])
}

/// Whether process `pid` still runs. A zombie (exited, not yet reaped by whoever adopted
/// the detached daemon) counts as gone.
fn alive(pid: u64) -> bool {
    let signalled = Command::new("kill")
        .args(["-0", &pid.to_string()])
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap()
        .success();
    if !signalled {
        return false;
    }
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name.
        Ok(stat) => !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => true,
    }
}

/// Waits up to `limit` for process `pid` to exit; true when it did.
fn exits_within(pid: u64, limit: Duration) -> bool {
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
fn pid_in(stderr: &str) -> u64 {
    stderr
        .split_once("strata daemon pid ")
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .and_then(|pid| pid.parse().ok())
        .unwrap_or_else(|| panic!("no pid in: {stderr}"))
}

/// A daemon started for one repository; stopped when the test ends, failing or not.
struct Daemon<'a> {
    repo: &'a Repo,
    pid: u64,
}

impl<'a> Daemon<'a> {
    #[track_caller]
    fn start(repo: &'a Repo) -> Daemon<'a> {
        let run = repo.strata(&["daemon", "start"]);
        run.assert_ok();
        let pid = pid_in(&run.stderr);
        Daemon { repo, pid }
    }

    /// `strata --json daemon status` (itself one request to the daemon).
    #[track_caller]
    fn status(&self) -> Value {
        let run = self.repo.strata(&["--json", "daemon", "status"]);
        run.assert_ok();
        run.json()
    }

    #[track_caller]
    fn requests(&self) -> u64 {
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

/// The target `label` of an `affected --json` document.
fn target<'j>(json: &'j Value, label: &str) -> Option<&'j Value> {
    json["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["label"] == label)
}

fn reason(json: &Value, label: &str) -> Option<String> {
    target(json, label).map(|t| t["reason"].as_str().unwrap().to_string())
}

fn labels(json: &Value) -> Vec<String> {
    common::label_reasons(json)
        .into_iter()
        .map(|(label, _)| label)
        .collect()
}

/// Asks the daemon (as any client, and as one that cannot compute the answer itself), then
/// computes in process: all must succeed with the same document.
#[track_caller]
fn same_answer(repo: &Repo, step: &str) -> Value {
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

#[test]
fn answers_equal_in_process_ones_through_a_sequence_of_edits() {
    let repo = Repo::with_fixture();
    // Work on a branch, so a commit does not move the base.
    repo.git(&["checkout", "-q", "-b", "topic"]);
    let daemon = Daemon::start(&repo);
    let mut steps = 0u64;
    let mut step = |what: &str, change: &dyn Fn()| {
        change();
        steps += 1;
        same_answer(&repo, what)
    };

    let json = step("no change", &|| {});
    assert_eq!(labels(&json), Vec::<String>::new(), "{json}");

    let json = step("module content edit", &|| {
        repo.append("modules/naming/main.tf", "# tweak\n");
    });
    assert_eq!(reason(&json, "modules/naming").as_deref(), Some("changed"));
    assert_eq!(
        reason(&json, "stacks/app").as_deref(),
        Some("dependency"),
        "{json}"
    );

    let json = step("edit reverted with git checkout", &|| {
        repo.git(&["checkout", "-q", "--", "modules/naming/main.tf"]);
    });
    assert_eq!(labels(&json), Vec::<String>::new(), "{json}");

    let json = step("new untracked file in a stack", &|| {
        repo.write(
            "stacks/network/extra.tf",
            "output \"extra\" { value = 1 }\n",
        );
    });
    assert_eq!(
        reason(&json, "stacks/network").as_deref(),
        Some("changed"),
        "{json}"
    );
    assert_eq!(
        target(&json, "stacks/network").unwrap()["files"],
        serde_json::json!(["stacks/network/extra.tf"]),
        "{json}"
    );

    let json = step("new stack directory", &|| {
        repo.write(
            "stacks/cache/stack.toml",
            "deps = [\"stacks/network\"]\nenvironments = [\"dev\"]\n",
        );
        repo.write(
            "stacks/cache/main.tf",
            "resource \"null_resource\" \"cache\" {}\noutput \"host\" { value = \"cache.internal\" }\n",
        );
    });
    assert!(target(&json, "stacks/cache").is_some(), "{json}");
    assert!(target(&json, "stacks/network").is_some(), "{json}");

    let json = step("tracked file deleted", &|| {
        repo.remove("charts/web/values.yaml");
    });
    assert_eq!(
        reason(&json, "charts/web").as_deref(),
        Some("changed"),
        "{json}"
    );
    let work_tree = json;

    // The index and HEAD move, the work tree does not: the answer stays the same.
    for (what, args) in [
        ("git add -A", &["add", "-A"][..]),
        ("git commit", &["commit", "-q", "-m", "work"][..]),
        (
            "git reset --soft HEAD~1",
            &["reset", "-q", "--soft", "HEAD~1"][..],
        ),
        ("git reset", &["reset", "-q"][..]),
    ] {
        let json = step(what, &|| {
            repo.git(args);
        });
        assert_eq!(json, work_tree, "{what}: the work tree did not change");
    }

    // The index, the work tree and HEAD all differ, then each is put back in turn.
    let json = step("staged, then edited again", &|| {
        repo.append("modules/db/main.tf", "# staged\n");
        repo.git(&["add", "modules/db/main.tf"]);
        repo.append("modules/db/main.tf", "# not staged\n");
    });
    assert!(target(&json, "modules/db").is_some(), "{json}");
    step("the work tree restored from the index", &|| {
        repo.git(&["checkout", "-q", "--", "modules/db/main.tf"]);
    });
    step("the index restored from HEAD", &|| {
        repo.git(&["reset", "-q", "--", "modules/db/main.tf"]);
    });
    let json = step("the work tree restored from HEAD", &|| {
        repo.git(&["checkout", "-q", "--", "modules/db/main.tf"]);
    });
    assert_eq!(json, work_tree, "modules/db is back as it was");

    let json = step(".gitignore ignores the untracked file", &|| {
        repo.write(".gitignore", "extra.tf\n");
    });
    assert_eq!(reason(&json, "stacks/network"), None, "{json}");
    assert!(target(&json, "stacks/cache").is_some(), "{json}");

    let json = step("git mv", &|| {
        repo.git(&["mv", "modules/vpc/main.tf", "modules/vpc/vpc.tf"]);
    });
    assert_eq!(
        reason(&json, "modules/vpc").as_deref(),
        Some("changed"),
        "{json}"
    );

    // A tracked file that the ignore rules match stays tracked... until it leaves the index:
    // then it is ignored and no longer an input (the index changes, the work tree not).
    step(".gitignore also matches a tracked file", &|| {
        repo.write(".gitignore", "extra.tf\nconfig.json\n");
    });
    let json = step("git rm --cached of the ignored file", &|| {
        repo.git(&["rm", "-q", "--cached", "shared/config.json"]);
    });
    assert_eq!(
        reason(&json, "stacks/app").as_deref(),
        Some("changed"),
        "{json}"
    );

    let json = step("chmod +x", &|| {
        use std::os::unix::fs::PermissionsExt;
        let path = repo.path().join("stacks/app/main.tf");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    });
    assert_eq!(
        reason(&json, "stacks/app").as_deref(),
        Some("changed"),
        "{json}"
    );

    let json = step("new stack directory removed", &|| {
        repo.remove("stacks/cache");
    });
    assert_eq!(reason(&json, "stacks/cache"), None, "{json}");

    let status = daemon.status();
    let requests = status["requests"].as_u64().unwrap();
    let full_reads = status["full_reads"].as_u64().unwrap();
    // Each step asked the daemon twice (see `same_answer`).
    assert!(
        requests >= 2 * steps && full_reads < steps,
        "the daemon read the whole tree {full_reads} times for {steps} steps \
         ({requests} requests): {status}"
    );
}

#[test]
fn an_edit_made_just_before_the_request_is_seen() {
    let repo = Repo::with_fixture();
    let _daemon = Daemon::start(&repo);
    let mut hashes: Vec<String> = Vec::new();
    for i in 0..20 {
        // No pause between the write and the request, which only the daemon can answer.
        repo.append("modules/naming/main.tf", &format!("# edit {i}\n"));
        let json = daemon_only(&repo, &format!("edit {i}"));
        let naming =
            target(&json, "modules/naming").unwrap_or_else(|| panic!("edit {i} not seen: {json}"));
        assert_eq!(naming["reason"], "changed", "edit {i}: {json}");
        // Every edit gives the module a new hash: an answer from before the edit would
        // repeat the previous one.
        let hash = naming["hash"].as_str().unwrap().to_string();
        assert!(
            !hashes.contains(&hash),
            "edit {i}: hash {hash} was already answered for an earlier edit"
        );
        hashes.push(hash);
        let direct = in_process(&repo);
        direct.assert_ok();
        assert_eq!(json, direct.json(), "edit {i}: daemon vs in process");
    }
    repo.git(&["checkout", "-q", "--", "modules/naming/main.tf"]);
    let json = daemon_only(&repo, "revert");
    assert_eq!(
        labels(&json),
        Vec::<String>::new(),
        "revert not seen: {json}"
    );
    same_answer(&repo, "reverted");
}

#[test]
fn errors_look_the_same_and_the_daemon_answers_again_once_fixed() {
    let repo = Repo::with_fixture();
    let daemon = Daemon::start(&repo);
    repo.write("stacks/network/main.tf", "resource \"x\" \"y\" {\n");
    // Twice: once on the edit, once with the daemon's tree already known to be broken.
    for attempt in ["first", "second"] {
        let daemon_run = strata_env(&repo, &["affected", "--base", "main"], &[]);
        let direct = strata_env(
            &repo,
            &["affected", "--base", "main"],
            &[("STRATA_DAEMON", "0")],
        );
        assert_eq!(
            daemon_run.code, 2,
            "{attempt} run: exit code with the daemon\nstdout:\n{}\nstderr:\n{}",
            daemon_run.stdout, daemon_run.stderr
        );
        assert_eq!(
            direct.code, 2,
            "{attempt} run in process: {}",
            direct.stderr
        );
        assert_eq!(
            daemon_run.stderr, direct.stderr,
            "{attempt} run: stderr with the daemon (left) vs in process (right)"
        );
        assert_eq!(daemon_run.stdout, direct.stdout, "{attempt} run: stdout");
        assert!(
            daemon_run.stderr.contains("stacks/network/main.tf:"),
            "{attempt} run: the error names no file:line:\n{}",
            daemon_run.stderr
        );
    }

    repo.git(&["checkout", "-q", "--", "stacks/network/main.tf"]);
    repo.append("modules/naming/main.tf", "# after the fix\n");
    let before = daemon.requests();
    let run = via_daemon(&repo);
    let after = daemon.requests();
    run.assert_ok();
    // The affected request and this status request: the daemon was asked.
    assert_eq!(
        after,
        before + 2,
        "requests {before} -> {after}: the fixed tree was not asked of the daemon"
    );
    let json = run.json();
    assert_eq!(
        reason(&json, "modules/naming").as_deref(),
        Some("changed"),
        "{json}"
    );
    // And it answers (a client that cannot compute the answer itself gets it), the same.
    same_answer(&repo, "fixed");

    // A WORKSPACE.toml that does not parse: an error on every request until it is fixed,
    // never an answer from the configuration before it.
    let config = std::fs::read_to_string(repo.path().join("WORKSPACE.toml")).unwrap();
    repo.write("WORKSPACE.toml", "[workspace\n");
    for attempt in ["first", "second"] {
        let daemon_run = strata_env(&repo, &["affected", "--base", "main"], &[]);
        assert_eq!(daemon_run.code, 2, "{attempt}: {}", daemon_run.stderr);
        assert!(
            daemon_run.stderr.contains("WORKSPACE.toml"),
            "{attempt}: {}",
            daemon_run.stderr
        );
    }
    repo.write("WORKSPACE.toml", &config);
    let json = same_answer(&repo, "configuration fixed");
    assert_eq!(
        reason(&json, "modules/naming").as_deref(),
        Some("changed"),
        "{json}"
    );
}

#[test]
fn starts_once_stops_and_exits_when_its_socket_is_removed() {
    let repo = Repo::with_fixture();
    let root = repo.path().canonicalize().unwrap();
    let socket = repo.path().join(".strata/daemon/sock");
    let assert_none = |when: &str| {
        let status = repo.strata(&["daemon", "status"]);
        assert_eq!(status.code, 1, "{when}: daemon status\n{}", status.stderr);
        assert!(
            status.stderr.contains("no strata daemon serves"),
            "{when}: {}",
            status.stderr
        );
        let json = repo.strata(&["--json", "daemon", "status"]);
        assert_eq!(
            json.code, 1,
            "{when}: --json daemon status\n{}",
            json.stderr
        );
        assert_eq!(json.stdout.trim(), "null", "{when}: --json daemon status");
    };

    assert_none("before start");

    let start = repo.strata(&["daemon", "start"]);
    start.assert_ok();
    let pid = pid_in(&start.stderr);
    let daemon = Daemon { repo: &repo, pid };
    assert!(
        start.stderr.contains(&format!(
            "strata daemon pid {pid} serves {}",
            root.display()
        )),
        "{}",
        start.stderr
    );
    assert!(socket.exists(), "no socket at {}", socket.display());
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(socket.parent().unwrap())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o777,
            0o700,
            "the socket's directory is open to others"
        );
    }
    assert!(alive(pid), "pid {pid} does not run");
    let status = repo.strata(&["daemon", "status"]);
    status.assert_ok();
    let json = daemon.status();
    assert_eq!(json["pid"], pid, "{json}");
    assert_eq!(json["root"], root.display().to_string(), "{json}");
    for field in [
        "build",
        "uptime_seconds",
        "requests",
        "full_reads",
        "last_refresh",
    ] {
        assert!(json.get(field).is_some(), "no `{field}` in {json}");
    }

    let again = repo.strata(&["daemon", "start"]);
    again.assert_ok();
    assert!(again.stderr.contains("already"), "{}", again.stderr);
    assert_eq!(pid_in(&again.stderr), pid, "{}", again.stderr);
    assert_eq!(
        daemon.status()["pid"],
        pid,
        "a second daemon replaced the first"
    );

    let stop = repo.strata(&["daemon", "stop"]);
    stop.assert_ok();
    assert!(!socket.exists(), "the socket outlived `daemon stop`");
    assert_none("after stop");
    assert!(
        exits_within(pid, Duration::from_secs(5)),
        "pid {pid} still runs after `daemon stop`"
    );
    drop(daemon);

    // Removing the socket (say, `rm -rf .strata`) ends the process.
    let daemon = Daemon::start(&repo);
    let pid = daemon.pid;
    assert_ne!(daemon.status()["pid"], Value::Null);
    std::fs::remove_file(&socket).unwrap();
    assert!(
        exits_within(pid, Duration::from_secs(6)),
        "pid {pid} still runs 6 s after its socket was removed"
    );
    assert_none("after the socket was removed");
    // And the command answers by itself.
    same_answer_without_daemon(&repo);
}

/// With no daemon, `affected` still answers, and the same either way.
fn same_answer_without_daemon(repo: &Repo) {
    let run = via_daemon(repo);
    run.assert_ok();
    let direct = in_process(repo);
    direct.assert_ok();
    assert_eq!(run.json(), direct.json());
}

/// A way to run `affected` without the daemon: what, arguments, environment.
type Bypass<'a> = (&'a str, &'a [&'a str], &'a [(&'a str, &'a str)]);

#[test]
fn no_cache_strata_daemon_0_and_head_do_not_ask_the_daemon() {
    let repo = Repo::with_fixture();
    repo.append("modules/db/main.tf", "# edit\n");
    let daemon = Daemon::start(&repo);
    let expected = same_answer(&repo, "with an edit");
    assert!(target(&expected, "modules/db").is_some(), "{expected}");

    let bypasses: [Bypass; 3] = [
        ("STRATA_DAEMON=0", AFFECTED, &[("STRATA_DAEMON", "0")]),
        (
            "--no-cache",
            &["--json", "--no-cache", "affected", "--base", "main"],
            &[],
        ),
        (
            "--no-cache and STRATA_DAEMON=0",
            &["--json", "--no-cache", "affected", "--base", "main"],
            &[("STRATA_DAEMON", "0")],
        ),
    ];
    for (what, args, env) in bypasses {
        let before = daemon.requests();
        let run = strata_env(&repo, args, env);
        run.assert_ok();
        let after = daemon.requests();
        assert_eq!(
            after,
            before + 1,
            "{what}: requests {before} -> {after}; only the status request should count"
        );
        assert_eq!(run.json(), expected, "{what}: answer");
    }
    // A commit as the head is not the work tree: computed in process too.
    let before = daemon.requests();
    strata_env(
        &repo,
        &["--json", "affected", "--base", "main", "--head", "HEAD"],
        &[],
    )
    .assert_ok();
    assert_eq!(
        daemon.requests(),
        before + 1,
        "--head HEAD asked the daemon"
    );

    // The count does see a run that asks the daemon.
    let before = daemon.requests();
    via_daemon(&repo).assert_ok();
    let after = daemon.requests();
    assert_eq!(
        after,
        before + 2,
        "a default run: requests {before} -> {after}"
    );
}

/// Whether a daemon answers for the repository (`strata daemon status`).
fn daemon_up(repo: &Repo) -> bool {
    repo.strata(&["daemon", "status"]).code == 0
}

#[test]
fn affected_starts_a_daemon_unless_on_ci_or_told_not_to() {
    let repo = Repo::with_fixture();
    repo.append("modules/db/main.tf", "# edit\n");
    let expected = in_process(&repo);
    expected.assert_ok();
    let expected = expected.json();

    let index_file = repo.path().join(".git/index");
    let index_file = index_file.to_str().unwrap();
    let no_start: [(&str, &[(&str, &str)]); 6] = [
        ("STRATA_DAEMON=0", &[("STRATA_DAEMON", "0")]),
        (
            "GIT_INDEX_FILE (a git hook)",
            &[("STRATA_DAEMON", "auto"), ("GIT_INDEX_FILE", index_file)],
        ),
        ("STRATA_DAEMON=manual", &[("STRATA_DAEMON", "manual")]),
        ("CI=true", &[("STRATA_DAEMON", "auto"), ("CI", "true")]),
        (
            "JENKINS_URL",
            &[("STRATA_DAEMON", "auto"), ("JENKINS_URL", "http://ci")],
        ),
        (
            "TF_BUILD",
            &[("STRATA_DAEMON", "auto"), ("TF_BUILD", "True")],
        ),
    ];
    for (what, env) in no_start {
        let run = strata_env(&repo, AFFECTED, env);
        run.assert_ok();
        assert_eq!(run.json(), expected, "{what}: answer");
        assert!(
            !run.stderr.contains("started a daemon"),
            "{what}: {}",
            run.stderr
        );
        std::thread::sleep(Duration::from_millis(300));
        assert!(!daemon_up(&repo), "{what} started a daemon");
    }

    // By default (here `CI=false`, as some shells export), the first run answers by itself
    // and starts a daemon in the background.
    let first = strata_env(
        &repo,
        AFFECTED,
        &[("STRATA_DAEMON", "auto"), ("CI", "false")],
    );
    first.assert_ok();
    assert_eq!(first.json(), expected, "first run");
    assert!(
        first.stderr.contains("started a daemon"),
        "{}",
        first.stderr
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while !daemon_up(&repo) {
        assert!(
            Instant::now() < deadline,
            "no daemon answers 60 s after the first run"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = repo.strata(&["--json", "daemon", "status"]);
    let pid = status.json()["pid"].as_u64().expect("a pid");
    let daemon = Daemon { repo: &repo, pid };
    assert_eq!(daemon_only(&repo, "second run"), expected);

    // It is started once: a later run says nothing and the same daemon serves.
    let again = strata_env(&repo, AFFECTED, &[("STRATA_DAEMON", "auto")]);
    again.assert_ok();
    assert!(
        !again.stderr.contains("started a daemon"),
        "{}",
        again.stderr
    );
    assert_eq!(daemon.status()["pid"], pid);
    // A second daemon for the workspace stops at once, leaving the first in place.
    let second = repo.strata(&["daemon", "run"]);
    assert_ne!(second.code, 0, "a second daemon ran: {}", second.stderr);
    assert!(
        second
            .stderr
            .contains("another daemon serves or is starting"),
        "{}",
        second.stderr
    );
    assert_eq!(daemon.status()["pid"], pid);
}

#[test]
fn a_daemon_that_cannot_start_is_not_started_by_every_command() {
    // Unix socket paths are short: a checkout this deep cannot have a daemon.
    let repo = Repo::with_fixture();
    let deep = repo.path().join("d".repeat(90));
    std::fs::create_dir_all(&deep).unwrap();
    let clone = deep.join("ws");
    let cloned = Command::new("git")
        .args(["clone", "-q"])
        .arg(repo.path())
        .arg(&clone)
        .status()
        .unwrap();
    assert!(cloned.success());
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_strata"));
        command
            .current_dir(&clone)
            .args(args)
            .env_remove("GIT_DIR")
            .env("STRATA_DAEMON", "auto");
        for ci in [
            "CI",
            "JENKINS_URL",
            "TF_BUILD",
            "TEAMCITY_VERSION",
            "CODEBUILD_BUILD_ID",
        ] {
            command.env_remove(ci);
        }
        for (key, value) in env {
            command.env(key, value);
        }
        let out = command.output().unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    };
    let first = run(AFFECTED, &[]);
    first.assert_ok();
    assert!(
        first.stderr.contains("started a daemon"),
        "{}",
        first.stderr
    );
    let failed = clone.join(".strata/daemon/failed");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !failed.exists() {
        assert!(
            Instant::now() < deadline,
            "the daemon's failure was not recorded"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let error = std::fs::read_to_string(&failed).unwrap();
    assert!(error.contains("longer than"), "{error}");

    // Later runs answer and start nothing.
    let second = run(AFFECTED, &[]);
    second.assert_ok();
    assert_eq!(second.json(), first.json());
    assert!(
        !second.stderr.contains("started a daemon"),
        "{}",
        second.stderr
    );
    let status = run(&["daemon", "status"], &[]);
    assert_eq!(status.code, 1);
    assert!(
        status.stderr.contains("failed to start") && status.stderr.contains("longer than"),
        "{}",
        status.stderr
    );
    // `daemon start` tries again, and says why it cannot.
    let start = run(&["daemon", "start"], &[]);
    assert_ne!(start.code, 0, "{}", start.stderr);
    assert!(start.stderr.contains("longer than"), "{}", start.stderr);
}

#[test]
fn a_daemon_of_another_build_is_not_replaced_by_every_command() {
    let repo = Repo::with_fixture();
    // A copy of the binary is another build (its own build id).
    let bin = tempfile::tempdir().unwrap();
    let other = bin.path().join("strata-other");
    std::fs::copy(env!("CARGO_BIN_EXE_strata"), &other).unwrap();
    let started = Command::new(&other)
        .current_dir(repo.path())
        .args(["daemon", "start"])
        .output()
        .unwrap();
    assert!(
        started.status.success(),
        "{}",
        String::from_utf8_lossy(&started.stderr)
    );
    assert!(
        daemon_up_with(&other, &repo),
        "the other build's daemon does not answer"
    );

    // This build's client is refused (the other daemon stops) and answers by itself, but
    // does not start a daemon of its own: two builds would restart each other's forever.
    let run = strata_env(&repo, AFFECTED, &[("STRATA_DAEMON", "auto")]);
    run.assert_ok();
    assert!(!run.stderr.contains("started a daemon"), "{}", run.stderr);
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::fs::metadata(repo.path().join(".strata/daemon/sock")).is_ok() {
        assert!(
            Instant::now() < deadline,
            "the other build's daemon did not stop"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(!daemon_up(&repo), "a daemon was started");
}

/// Whether a daemon answers `daemon status` from the binary at `exe`.
fn daemon_up_with(exe: &std::path::Path, repo: &Repo) -> bool {
    Command::new(exe)
        .current_dir(repo.path())
        .args(["daemon", "status"])
        .output()
        .unwrap()
        .status
        .success()
}

#[test]
fn files_in_a_merge_conflict_are_read_as_in_process() {
    let repo = Repo::with_fixture();
    // One of the stack's own inputs, which nothing parses (so conflict markers are fine).
    let file = "stacks/network/notes.txt";
    repo.write(file, "first\n");
    repo.commit("notes");
    repo.git(&["checkout", "-q", "-b", "other"]);
    repo.write(file, "cidr = \"10.7.0.0/16\"\n");
    repo.commit("other");
    repo.git(&["checkout", "-q", "main"]);
    repo.git(&["checkout", "-q", "-b", "topic"]);
    repo.write(file, "cidr = \"10.8.0.0/16\"\n");
    repo.commit("topic");
    let _daemon = Daemon::start(&repo);
    same_answer(&repo, "before the merge");
    let merge = Command::new("git")
        .current_dir(repo.path())
        .args(["merge", "-q", "other"])
        .output()
        .unwrap();
    assert!(!merge.status.success(), "the merge was meant to conflict");
    let json = same_answer(&repo, "in the conflict");
    assert!(target(&json, "stacks/network").is_some(), "{json}");
    repo.write(file, "cidr = \"10.9.0.0/16\"\n");
    same_answer(&repo, "resolved in the work tree");
    repo.git(&["add", file]);
    same_answer(&repo, "resolution staged");
    repo.git(&["commit", "-q", "--no-edit"]);
    same_answer(&repo, "merge committed");
}
