//! `strata daemon`'s lifetime: it starts once, stops, and goes away when its socket does;
//! `--no-cache`, `--head` and `STRATA_DAEMON=0` bypass it; `strata affected` starts one by
//! itself, once, except on CI, in a git hook or when told not to, and not again after one
//! failed or while another build's runs. (Its answers: daemon.rs.)
#![allow(clippy::disallowed_methods)] // tests drive git, the real strata binary and tools
#![cfg(unix)]

mod common;
use common::daemon::*;
use common::{target, Repo};
use serde_json::Value;
use std::process::Command;
use std::time::{Duration, Instant};

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
    // Its memory: the resident set as the kernel counts it, and the live part of it.
    let memory = &json["memory"];
    let resident = memory["resident_kib"].as_u64().unwrap_or(0);
    let in_use = memory["heap_in_use_kib"].as_u64().unwrap_or(0);
    let kernel = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kernel: u64 = kernel
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    assert!(
        resident > 1024 && resident.abs_diff(kernel) < kernel / 2,
        "resident {resident} KiB, the kernel says {kernel} KiB: {json}"
    );
    assert!(in_use > 0 && in_use < resident, "{json}");
    assert!(
        status.stderr.contains("MiB resident (") && status.stderr.contains("MiB in use)"),
        "{}",
        status.stderr
    );

    let again = repo.strata(&["--json", "daemon", "start"]);
    again.assert_ok();
    assert!(again.stderr.contains("already"), "{}", again.stderr);
    assert_eq!(pid_in(&again.stderr), pid, "{}", again.stderr);
    let json: Value = serde_json::from_str(&again.stdout).expect("JSON on stdout");
    assert_eq!(json["started"], false, "{json}");
    assert_eq!(json["daemon"]["pid"], pid, "{json}");
    assert_eq!(
        daemon.status()["pid"],
        pid,
        "a second daemon replaced the first"
    );

    let stop = repo.strata(&["--json", "daemon", "stop"]);
    stop.assert_ok();
    let json: Value = serde_json::from_str(&stop.stdout).expect("JSON on stdout");
    assert_eq!(json["stopped"], "asked", "{json}");
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
    // Its lock goes with its last thread, a moment after the process is seen to exit on a
    // busy machine.
    let deadline = Instant::now() + Duration::from_secs(5);
    while lock_is_held(&root) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_none("after the socket was removed");
    // And the command answers by itself.
    same_answer_without_daemon(&repo);
}

/// `.strata` removed (`git clean -xfd`) and a new daemon started before the old one saw its
/// socket go: the old one, ending, leaves the new one's lock file alone, which still says
/// who holds it.
#[test]
fn an_ending_daemon_leaves_a_new_daemons_lock_file_alone() {
    let repo = Repo::with_fixture();
    let old = Daemon::start(&repo);
    let old_pid = old.pid;
    std::fs::remove_dir_all(repo.path().join(".strata")).unwrap();
    let new = Daemon::start(&repo);
    assert_ne!(new.pid, old_pid);
    assert!(
        exits_within(old_pid, Duration::from_secs(6)),
        "pid {old_pid} still runs 6 s after its socket was removed"
    );
    std::mem::forget(old);
    let lock = std::fs::read_to_string(repo.path().join(".strata/daemon/lock")).unwrap();
    assert_eq!(
        lock,
        format!("{} ready\n", new.pid),
        "the new daemon's lock file"
    );
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
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_strata"));
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let mut with_auto = vec![("STRATA_DAEMON", "auto")];
        with_auto.extend_from_slice(env);
        strata_with(bin, &clone, args, &with_auto)
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
        status.stderr.contains("the last one failed: ") && status.stderr.contains("longer than"),
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
    // Copied by `cp`, not from this process: a file this process holds open for writing can
    // be inherited by a child another test thread is forking at that moment, and running it
    // then fails with ETXTBSY ("text file busy").
    let copied = Command::new("cp")
        .arg(env!("CARGO_BIN_EXE_strata"))
        .arg(&other)
        .status()
        .unwrap();
    assert!(copied.success());
    strata_with(&other, repo.path(), &["daemon", "start"], &[]).assert_ok();
    assert_eq!(
        strata_with(&other, repo.path(), &["daemon", "status"], &[]).code,
        0,
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

#[test]
fn a_stopped_daemon_is_given_up_on_reported_and_ended() {
    let repo = Repo::with_fixture();
    let socket = repo.path().join(".strata/daemon/sock");
    repo.append("modules/db/main.tf", "# edit\n");
    let expected = in_process(&repo);
    expected.assert_ok();
    let expected = expected.json();
    let daemon = Daemon::start(&repo);
    let pid = daemon.pid;
    assert_eq!(daemon_only(&repo, "before SIGSTOP"), expected);
    // Dropped before `daemon` (declared after it): continued and killed, if still there.
    let _frozen = Frozen::stop(pid);

    // `affected` gives up on it within about 2 s, answers by itself, and says so once; it
    // starts no daemon beside the stopped one.
    let warning =
        format!("warning: the daemon (pid {pid}) did not answer within 2s; answered without it");
    for (what, env) in [
        ("STRATA_DAEMON=manual", &[][..]),
        ("STRATA_DAEMON=auto", &[("STRATA_DAEMON", "auto")][..]),
    ] {
        let started = Instant::now();
        let run = strata_env(&repo, AFFECTED, env);
        let took = started.elapsed();
        eprintln!("{what}: `strata affected` with a stopped daemon took {took:?}");
        run.assert_ok();
        assert_eq!(run.json(), expected, "{what}: answer");
        assert!(
            took < Duration::from_secs(10),
            "{what}: took {took:?} with a stopped daemon"
        );
        let mentions: Vec<&str> = run
            .stderr
            .lines()
            .filter(|l| l.contains("daemon"))
            .collect();
        assert_eq!(mentions.len(), 1, "{what}: {}", run.stderr);
        assert!(mentions[0].starts_with(&warning), "{what}: {}", run.stderr);
    }

    // `daemon status` sees it: alive, holding the lock, not answering.
    let started = Instant::now();
    let status = repo.strata(&["daemon", "status"]);
    let took = started.elapsed();
    eprintln!("`strata daemon status` with a stopped daemon took {took:?}");
    assert_eq!(status.code, 1, "{}", status.stderr);
    assert!(
        status.stderr.contains(&format!("pid {pid}")) && status.stderr.contains("does not respond"),
        "{}",
        status.stderr
    );
    assert!(
        took < Duration::from_secs(10),
        "daemon status took {took:?}"
    );
    let json = repo.strata(&["--json", "daemon", "status"]);
    assert_eq!(json.code, 1, "{}", json.stderr);
    let json = json.json();
    assert_eq!(json["pid"], pid, "{json}");
    assert_eq!(json["responding"], false, "{json}");
    assert!(alive(pid), "status must not end it");

    // `daemon stop` ends it (it cannot act on a request, so by signal) and cleans up.
    let started = Instant::now();
    let stop = repo.strata(&["daemon", "stop"]);
    let took = started.elapsed();
    eprintln!("`strata daemon stop` of a stopped daemon took {took:?}");
    stop.assert_ok();
    assert!(
        stop.stderr.contains(&format!("pid {pid}")) && stop.stderr.contains("stopped it"),
        "{}",
        stop.stderr
    );
    assert!(
        exits_within(pid, Duration::from_secs(5)),
        "pid {pid} still runs after `daemon stop`"
    );
    assert!(took < Duration::from_secs(20), "daemon stop took {took:?}");
    assert!(!socket.exists(), "the stopped daemon's socket is left");
    let status = repo.strata(&["daemon", "status"]);
    assert_eq!(status.code, 1, "{}", status.stderr);
    assert!(
        status.stderr.contains("no strata daemon serves") && !status.stderr.contains("failed"),
        "a daemon ended by `daemon stop` is no failure to start: {}",
        status.stderr
    );
    drop(daemon);

    // The next one starts, and answers.
    let next = Daemon::start(&repo);
    assert_ne!(next.pid, pid);
    assert_eq!(same_answer(&repo, "the next daemon"), expected);
}

/// A directory holding a `git` that kills the strata daemon running `git status` (its first
/// read of the work tree), as the kernel's OOM killer might, and writes the daemon's pid to
/// `killed`; any other use of git goes to the real one. Linux: it reads /proc.
#[cfg(target_os = "linux")]
fn git_killing_the_daemon() -> tempfile::TempDir {
    let real = Command::new("sh")
        .args(["-c", "command -v git"])
        .output()
        .unwrap();
    let real = String::from_utf8(real.stdout).unwrap().trim().to_string();
    assert!(!real.is_empty(), "no git on PATH");
    let bin = tempfile::tempdir().unwrap();
    let killed = bin.path().join("killed");
    let script = format!(
        "#!/bin/sh\n\
         case \" $* \" in\n\
         *\" status \"*)\n\
         \x20   if tr '\\0' ' ' < /proc/$PPID/cmdline | grep -q 'daemon run'; then\n\
         \x20       echo $PPID >> '{}'\n\
         \x20       kill -KILL $PPID\n\
         \x20       exit 1\n\
         \x20   fi;;\n\
         esac\n\
         exec '{real}' \"$@\"\n",
        killed.display()
    );
    let git = bin.path().join("git");
    std::fs::write(&git, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&git, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

/// Waits for the `git` of [`git_killing_the_daemon`] to have killed a daemon, and for that
/// process to be gone; its pid.
#[cfg(target_os = "linux")]
fn killed_daemon(bin: &std::path::Path) -> u64 {
    let killed = bin.join("killed");
    let deadline = Instant::now() + Duration::from_secs(30);
    let pid = loop {
        if let Some(pid) = std::fs::read_to_string(&killed)
            .ok()
            .and_then(|t| t.lines().last().and_then(|l| l.trim().parse().ok()))
        {
            break pid;
        }
        assert!(
            Instant::now() < deadline,
            "no daemon ran `git status` within 30 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        exits_within(pid, Duration::from_secs(10)),
        "pid {pid} was not killed"
    );
    std::fs::remove_file(&killed).unwrap();
    pid
}

#[cfg(target_os = "linux")]
#[test]
fn a_daemon_that_dies_before_it_is_ready_is_not_started_by_every_command() {
    let repo = Repo::with_fixture();
    let bin = git_killing_the_daemon();
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let env = [("STRATA_DAEMON", "auto"), ("PATH", path.as_str())];
    let expected = in_process(&repo);
    expected.assert_ok();
    let expected = expected.json();
    let assert_recorded = |pid: u64, when: &str| {
        let status = strata_env(&repo, &["daemon", "status"], &[]);
        assert_eq!(status.code, 1, "{when}: {}", status.stderr);
        assert!(
            status.stderr.contains("the last one failed: ")
                && status.stderr.contains(&format!("pid {pid}"))
                && status.stderr.contains("before it was ready"),
            "{when}: {}",
            status.stderr
        );
    };

    // Started in the background by `affected`, and killed during its first read.
    let first = strata_env(&repo, AFFECTED, &env);
    first.assert_ok();
    assert_eq!(first.json(), expected);
    assert!(
        first.stderr.contains("started a daemon"),
        "{}",
        first.stderr
    );
    let pid = killed_daemon(bin.path());
    // Later runs answer and start none (nor would they get further: the same git).
    for run in ["second", "third"] {
        let later = strata_env(&repo, AFFECTED, &env);
        later.assert_ok();
        assert_eq!(later.json(), expected, "{run} run");
        assert!(
            !later.stderr.contains("started a daemon"),
            "{run} run started a daemon again after one died starting: {}",
            later.stderr
        );
    }
    assert_recorded(pid, "after `affected` started one");

    // `daemon start` tries again, says that its daemon died, and records it as well.
    let start = strata_env(&repo, &["daemon", "start"], &env);
    assert_eq!(start.code, 2, "{}", start.stderr);
    assert!(start.stderr.contains("exited"), "{}", start.stderr);
    let pid = killed_daemon(bin.path());
    let later = strata_env(&repo, AFFECTED, &env);
    later.assert_ok();
    assert!(
        !later.stderr.contains("started a daemon"),
        "a daemon was started again after `daemon start`'s died: {}",
        later.stderr
    );
    assert_recorded(pid, "after `daemon start`");
    std::thread::sleep(Duration::from_millis(300));
    assert!(!daemon_up(&repo), "a daemon runs");
}

/// The directories a daemon for `root` watches: every directory of the work tree but `.git`,
/// `.strata` and `.terraform` ones.
fn watched_directories(root: &std::path::Path) -> usize {
    let mut count = 1;
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let name = entry.file_name();
            if entry.file_type().unwrap().is_dir()
                && ![".git", ".strata", ".terraform"].contains(&name.to_str().unwrap_or(""))
            {
                count += 1;
                stack.push(entry.path());
            }
        }
    }
    count
}

/// The directories outside the work tree a daemon watches for git's user and system
/// configuration: each file's directory, or the nearest one above it that exists.
fn outside_watches() -> usize {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    let mut files: Vec<std::path::PathBuf> = Vec::new();
    match var("GIT_CONFIG_GLOBAL") {
        Some(global) => files.push(global.into()),
        None => {
            let home = var("HOME").map(std::path::PathBuf::from);
            if let Some(home) = &home {
                files.push(home.join(".gitconfig"));
            }
            let xdg = var("XDG_CONFIG_HOME")
                .map(std::path::PathBuf::from)
                .or_else(|| home.map(|h| h.join(".config")));
            if let Some(xdg) = xdg {
                files.push(xdg.join("git/config"));
            }
        }
    }
    if var("GIT_CONFIG_NOSYSTEM").is_none() {
        files.push(var("GIT_CONFIG_SYSTEM").map_or_else(|| "/etc/gitconfig".into(), Into::into));
    }
    let mut dirs: Vec<std::path::PathBuf> = files
        .iter()
        .filter_map(|f| f.parent())
        .filter_map(|d| d.ancestors().find(|a| a.is_dir()))
        .map(std::path::Path::to_path_buf)
        .collect();
    dirs.sort();
    dirs.dedup();
    dirs.len()
}

/// A directory made while the daemon runs that it cannot watch (here the inotify limit of a
/// user namespace, set just above what the daemon needed at its start) would hide changes
/// below it: the daemon stops at the next request instead of answering, that request is
/// answered in process, and `daemon status` says why.
#[test]
fn a_daemon_that_cannot_watch_a_new_directory_stops() {
    let repo = Repo::with_fixture();
    // The work tree, the cookie directory, the git directory with `info` and `logs`, the
    // directories of git's configuration outside it, plus two spare watches.
    let limit = watched_directories(repo.path()) + 4 + outside_watches() + 2;
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_strata"));
    let script = "echo \"$1\" > /proc/sys/user/max_inotify_watches && exec \"$2\" daemon start";
    let probe = Command::new("unshare")
        .args(["--user", "--map-root-user", "true"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        eprintln!("skipped: this machine does not let a test make a user namespace");
        return;
    }
    let start = Command::new("unshare")
        .args(["--user", "--map-root-user", "sh", "-c", script, "sh"])
        .arg(limit.to_string())
        .arg(bin)
        .current_dir(repo.path())
        .env("STRATA_DAEMON", "manual")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&start.stderr).to_string();
    assert!(start.status.success(), "daemon start: {stderr}");
    let daemon = Daemon {
        repo: &repo,
        pid: pid_in(&stderr),
    };
    same_answer(&repo, "at the start, within the limit");

    // Five new directories, one below the other: more than the two spare watches.
    repo.write(
        "stacks/network/files/a/b/c/d/e/rules.json",
        "{\"allow\": true}\n",
    );
    let answered = via_daemon(&repo);
    answered.assert_ok();
    let expected = in_process(&repo);
    expected.assert_ok();
    assert_eq!(answered.json(), expected.json());
    assert!(
        target(&expected.json(), "stacks/network").is_some(),
        "{}",
        expected.stdout
    );
    assert!(
        exits_within(daemon.pid, Duration::from_secs(10)),
        "the daemon still runs, blind to changes below stacks/network/files"
    );
    let status = repo.strata(&["daemon", "status"]);
    assert_eq!(status.code, 1, "{}", status.stderr);
    assert!(
        status.stderr.contains("the last one failed: ")
            && status.stderr.contains("cannot watch")
            && status.stderr.contains("stacks/network/files"),
        "{}",
        status.stderr
    );
}
