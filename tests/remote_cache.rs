//! The remote cache against a real HTTP server: a private nginx with WebDAV PUT serving the
//! Bazel HTTP cache layout, shared by clones of the sample workspace.
#![allow(clippy::disallowed_methods)] // tests drive git, the real strata binary and tools

mod common;
#[path = "support/nginx.rs"]
mod nginx;

use common::{
    assert_cache_consistent, files_under, json_run, sample_repo, sha256_files, tasks_where, Repo,
    Run,
};
use nginx::{Flavor, Nginx};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// A subset of the sample workspace (a chart, a stack and a module: 8 tasks) to keep runs short.
const TARGETS: [&str; 3] = ["charts/web", "stacks/network", "modules/naming"];

/// `strata --json check --env dev FLAGS TARGETS`.
/// `check` of one chart with `url` as a required remote cache.
fn check_requiring(repo: &Repo, url: &str) -> Run {
    repo.strata(&[
        "--json",
        "check",
        "--env",
        "dev",
        "--remote-cache",
        url,
        "--require-remote-cache",
        "charts/web",
    ])
}

/// The first warning about the remote at `url` was printed.
fn assert_warned_about(run: &Run, url: &str) {
    assert!(
        run.stderr
            .contains(&format!("warning: remote cache {url}: ")),
        "{}",
        run.stderr
    );
}

fn check(repo: &Repo, flags: &[&str]) -> (Run, Value) {
    let mut args = vec!["check", "--env", "dev"];
    args.extend_from_slice(flags);
    args.extend_from_slice(&TARGETS);
    json_run(repo, &args)
}

fn tasks(report: &Value) -> &Vec<Value> {
    report["tasks"].as_array().unwrap()
}

fn id(t: &Value) -> String {
    format!("{} {} {}", t["label"], t["action"], t["env"])
}

/// Task id -> summary.
fn summaries(report: &Value) -> BTreeMap<String, Value> {
    tasks(report)
        .iter()
        .map(|t| (id(t), t["summary"].clone()))
        .collect()
}

fn keys(report: &Value) -> BTreeSet<String> {
    tasks(report)
        .iter()
        .map(|t| t["key"].as_str().unwrap().to_string())
        .collect()
}

fn names(paths: &[std::path::PathBuf]) -> BTreeSet<String> {
    paths
        .iter()
        .map(|p| p.file_name().unwrap().to_str().unwrap().to_string())
        .collect()
}

#[track_caller]
fn assert_all_ran(report: &Value) {
    let all = tasks_where(report, |_| true);
    assert!(all.len() > 3, "{all:?}");
    assert_eq!(
        tasks_where(report, |t| t["status"] == "ok"
            && t["cached"] == false
            && t["remote"] == false),
        all,
        "every task runs"
    );
}

/// Every task of `b` whose key `a` computed too is a remote hit. Only `init` tasks may have
/// other keys: an init key covers the absolute path of the clone's state file (see
/// task_keys_do_not_depend_on_where_the_clone_lives), so a fresh clone runs its inits.
#[track_caller]
fn assert_remote_hits_where_keys_match(b: &Value, a: &Value) {
    let known = keys(a);
    let shared = |t: &Value| known.contains(t["key"].as_str().unwrap());
    assert_eq!(
        tasks_where(b, |t| shared(t)
            && t["status"] == "ok"
            && t["cached"] == true
            && t["remote"] == true),
        tasks_where(b, shared),
        "every task B shares with A is a remote hit"
    );
    assert_eq!(
        tasks_where(b, |t| !shared(t) && t["action"] != "init"),
        Vec::<String>::new(),
        "tasks whose keys differ between the clones"
    );
}

#[track_caller]
fn assert_no_warnings(run: &Run) {
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
}

/// The server's side of the cache: `cas/` files are named by the SHA-256 of their content,
/// `ac/` files by task keys, and every result names blobs the server has.
#[track_caller]
fn assert_remote_layout(www: &Path) {
    let blobs = files_under(&www.join("cas"));
    assert!(!blobs.is_empty(), "no blobs uploaded");
    for (path, sum) in blobs.iter().zip(sha256_files(&blobs)) {
        assert_eq!(
            path.file_name().unwrap().to_str().unwrap(),
            sum,
            "remote blob {} does not hash to its name",
            path.display()
        );
        assert_eq!(path.parent().unwrap(), www.join("cas"), "flat cas/ layout");
    }
    let stored = names(&blobs);
    for path in files_under(&www.join("ac")) {
        let json: Value = serde_json::from_slice(&std::fs::read(&path).unwrap())
            .unwrap_or_else(|e| panic!("remote result {} is not JSON: {e}", path.display()));
        assert_eq!(json["key"], path.file_name().unwrap().to_str().unwrap());
        for r in json["outputs"].as_object().unwrap().values() {
            assert!(
                stored.contains(r["digest"].as_str().unwrap()),
                "{} names a blob the server does not have: {r}",
                path.display()
            );
        }
    }
}

#[test]
fn a_fresh_clone_is_served_from_the_shared_remote_then_from_its_local_cache() {
    let server = Nginx::start(Flavor::ReadWrite);
    let url = server.url();
    let remote = ["--remote-cache", url.as_str()];

    let a = sample_repo();
    let (run, ra) = check(&a, &remote);
    run.assert_ok();
    assert_no_warnings(&run);
    assert_all_ran(&ra);
    // Everything A ran is on the server, under its task key.
    assert_eq!(names(&files_under(&server.www().join("ac"))), keys(&ra));
    assert_remote_layout(&server.www());

    let b = sample_repo();
    assert!(!b.path().join(".strata/cache").exists());
    let (run, rb) = check(&b, &remote);
    run.assert_ok();
    assert_no_warnings(&run);
    assert_remote_hits_where_keys_match(&rb, &ra);
    assert_eq!(
        tasks_where(&rb, |t| t["status"] == "ok"),
        tasks_where(&rb, |_| true)
    );
    assert_eq!(
        summaries(&rb),
        summaries(&ra),
        "remote hits replay A's results"
    );
    // Remote hits were written back: B's local cache holds them, verified.
    assert!(assert_cache_consistent(&b.path().join(".strata/cache")) >= tasks(&rb).len());

    let (run, rb2) = check(&b, &remote);
    run.assert_ok();
    assert_no_warnings(&run);
    assert_eq!(
        tasks_where(&rb2, |t| t["cached"] == true && t["remote"] == false),
        tasks_where(&rb2, |_| true),
        "the second run is served locally"
    );
    assert_eq!(summaries(&rb2), summaries(&ra));
    assert_remote_layout(&server.www());
}

#[test]
fn task_keys_do_not_depend_on_where_the_clone_lives() {
    // Two clones of the same commit, at different paths: the same tasks must get the same
    // keys, or the remote cache cannot serve one clone what the other computed.
    let a = sample_repo();
    let b = sample_repo();
    assert_ne!(a.path(), b.path());
    let (run_a, ra) = json_run(&a, &["check", "--env", "dev", "stacks/network"]);
    run_a.assert_ok();
    let (run_b, rb) = json_run(&b, &["check", "--env", "dev", "stacks/network"]);
    run_b.assert_ok();
    let key = |r: &Value| -> BTreeMap<String, Value> {
        tasks(r).iter().map(|t| (id(t), t["key"].clone())).collect()
    };
    let (ka, kb) = (key(&ra), key(&rb));
    let differing: Vec<&String> = ka.keys().filter(|k| ka[*k] != kb[*k]).collect();
    assert!(
        differing.is_empty(),
        "task keys differ between two clones of the same commit (so the remote cache cannot \
         serve them to another clone): {differing:?}"
    );
}

#[test]
fn an_unreachable_remote_is_a_warning_unless_it_is_required() {
    let mut server = Nginx::start(Flavor::ReadWrite);
    let url = server.url();
    let a = sample_repo();
    let (run, _) = check(&a, &["--remote-cache", &url]);
    run.assert_ok();
    assert!(!files_under(&server.www()).is_empty());
    server.stop();

    let b = sample_repo();
    let (run, rb) = check(&b, &["--remote-cache", &url]);
    run.assert_ok();
    assert_warned_about(&run, &url);
    assert!(
        run.stderr.contains("continuing with the local cache"),
        "{}",
        run.stderr
    );
    assert_all_ran(&rb);
    assert_cache_consistent(&b.path().join(".strata/cache"));

    let c = sample_repo();
    let run = check_requiring(&c, &url);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains("the remote cache is required"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains(&url), "{}", run.stderr);
    assert!(run.stdout.trim().is_empty(), "no report: {}", run.stdout);
    assert!(
        files_under(&c.path().join(".strata/cache/ac")).is_empty(),
        "nothing ran"
    );
}

#[test]
fn a_failing_remote_is_a_warning_unless_it_is_required() {
    let server = Nginx::start(Flavor::Error500);
    let url = server.url();
    let repo = sample_repo();
    let (run, report) = check(&repo, &["--remote-cache", &url]);
    run.assert_ok();
    assert_warned_about(&run, &url);
    assert!(run.stderr.contains("HTTP 500"), "{}", run.stderr);
    assert_all_ran(&report);

    // `show` says the remote failed rather than that no plan was ever made.
    let fresh = sample_repo();
    let run = fresh.strata(&[
        "show",
        "stacks/network",
        "--env",
        "dev",
        "--remote-cache",
        &url,
    ]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains("the remote cache could not be read")
            && run.stderr.contains("HTTP 500"),
        "{}",
        run.stderr
    );

    let run = check_requiring(&sample_repo(), &url);
    assert_ne!(run.code, 0, "{run:?}");
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains("the remote cache is required"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("HTTP 500"), "{}", run.stderr);
}

#[test]
fn a_remote_that_refuses_uploads_fails_a_run_that_requires_it() {
    // Reads work (lookups, and the up-front check of a required remote, see 404s), every PUT gets 405: the fault only shows
    // once a task has run and its result is uploaded.
    let server = Nginx::start(Flavor::NoUploads);
    let url = server.url();
    let repo = sample_repo();
    let (run, report) = check(&repo, &["--remote-cache", &url]);
    run.assert_ok();
    assert!(run.stderr.contains("PUT"), "{}", run.stderr);
    assert!(run.stderr.contains("HTTP 405"), "{}", run.stderr);
    assert_all_ran(&report);
    assert!(files_under(&server.www()).is_empty());

    let required = sample_repo();
    let (run, report) = check(
        &required,
        &["--remote-cache", &url, "--require-remote-cache"],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(report["ok"], false);
    let failed: Vec<&Value> = tasks(&report)
        .iter()
        .filter(|t| t["status"] == "failed")
        .collect();
    assert!(!failed.is_empty(), "{report}");
    for t in &failed {
        let reason = t["reason"].as_str().unwrap();
        assert!(
            reason.contains("the remote cache is required") && reason.contains("HTTP 405"),
            "{t}"
        );
    }
    // What the remote did not take was not kept locally either: run again in the same
    // checkout, those tasks run (and fail) again instead of passing from the local cache.
    let (run, again) = check(
        &required,
        &["--remote-cache", &url, "--require-remote-cache"],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    for t in &failed {
        let now = tasks(&again)
            .iter()
            .find(|a| {
                a["label"] == t["label"] && a["action"] == t["action"] && a["env"] == t["env"]
            })
            .unwrap_or_else(|| panic!("{t} not in {again}"))
            .clone();
        assert_eq!(now["status"], "failed", "{now}");
        assert_ne!(now["cached"], true, "{now}");
    }

    // Required, and none set (or the cache turned off): refused before anything runs.
    let repo = sample_repo();
    for flags in [
        vec![
            "check",
            "--env",
            "dev",
            "--require-remote-cache",
            "charts/web",
        ],
        vec![
            "--no-cache",
            "check",
            "--env",
            "dev",
            "--remote-cache",
            &url,
            "--require-remote-cache",
            "charts/web",
        ],
    ] {
        let run = repo.strata(&flags);
        assert_eq!(run.code, 2, "{flags:?}: {}", run.stderr);
        assert!(
            run.stderr.contains("--require-remote-cache"),
            "{}",
            run.stderr
        );
        assert!(!repo.path().join(".strata/cache/ac").exists(), "{flags:?}");
    }
}

/// Populates a remote from a first clone; returns its report and a copy of the server's files.
fn populate(server: &Nginx) -> (Value, tempfile::TempDir) {
    let a = sample_repo();
    let (run, ra) = check(&a, &["--remote-cache", &server.url()]);
    run.assert_ok();
    let backup = tempfile::tempdir().unwrap();
    copy_tree(&server.www(), backup.path());
    (ra, backup)
}

fn copy_tree(from: &Path, to: &Path) {
    for f in files_under(from) {
        let dest = to.join(f.strip_prefix(from).unwrap());
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(&f, dest).unwrap();
    }
}

fn restore(server: &Nginx, backup: &Path) {
    std::fs::remove_dir_all(server.www()).unwrap();
    std::fs::create_dir_all(server.www()).unwrap();
    copy_tree(backup, &server.www());
}

/// A clone reading a remote whose entries are damaged: nothing is served from it, the
/// rejection is reported, the tasks run and the clone's local cache holds only good entries.
#[track_caller]
fn assert_damaged_remote_is_not_trusted(server: &Nginx, ra: &Value, why: &str) {
    let b = sample_repo();
    let (run, rb) = check(&b, &["--remote-cache", &server.url()]);
    run.assert_ok();
    assert_all_ran(&rb);
    assert_eq!(summaries(&rb), summaries(ra));
    // The first rejection is reported, naming the entry (the first 12 digits of its key).
    let named = keys(&rb).iter().any(|k| {
        run.stderr
            .contains(&format!("entry {} rejected: ", &k[..12]))
    });
    assert!(
        named,
        "no rejection reported\nstderr:\n{}\naccess log:\n{}\nB's keys: {:?}\nA's keys: {:?}",
        run.stderr,
        server.access_log().join("\n"),
        keys(&rb),
        keys(ra)
    );
    assert!(run.stderr.contains(why), "{}", run.stderr);
    assert!(run.stderr.contains(&server.url()), "{}", run.stderr);
    assert!(
        assert_cache_consistent(&b.path().join(".strata/cache")) >= tasks(&rb).len(),
        "every task's result is stored locally"
    );
    let garbage: Vec<_> = files_under(&b.path().join(".strata/cache"))
        .into_iter()
        .filter(|p| {
            let bytes = std::fs::read(p).unwrap();
            bytes.starts_with(b"garbage") || bytes.starts_with(b"<html>")
        })
        .collect();
    assert!(garbage.is_empty(), "{garbage:?}");
}

#[test]
fn blobs_with_the_wrong_bytes_are_rejected_and_never_stored_locally() {
    let server = Nginx::start(Flavor::ReadWrite);
    let (ra, backup) = populate(&server);
    let blobs = files_under(&server.www().join("cas"));
    assert!(!blobs.is_empty());
    for (i, blob) in blobs.iter().enumerate() {
        std::fs::write(blob, format!("garbage {i}\n")).unwrap();
    }
    assert_damaged_remote_is_not_trusted(&server, &ra, "does not match its digest");

    // The results are garbage instead (an HTML error page stored as the entry).
    restore(&server, backup.path());
    let results = files_under(&server.www().join("ac"));
    assert_eq!(results.len(), tasks(&ra).len());
    for r in &results {
        std::fs::write(r, "<html><body><h1>502 Bad Gateway</h1></body></html>\n").unwrap();
    }
    assert_damaged_remote_is_not_trusted(&server, &ra, "result does not parse");
}

#[test]
fn read_only_remote_is_read_but_never_written() {
    let server = Nginx::start(Flavor::ReadWrite);
    let url = server.url();
    let ro = ["--remote-cache", url.as_str(), "--remote-cache-read-only"];
    let (run, report) = check(&sample_repo(), &ro);
    run.assert_ok();
    assert_no_warnings(&run);
    assert_all_ran(&report);
    assert_eq!(files_under(&server.www()), Vec::<std::path::PathBuf>::new());
    let log = server.access_log();
    // One lookup per task (nothing was cached locally), and nothing else.
    assert_eq!(log.len(), tasks(&report).len(), "{log:?}");
    assert!(log.iter().all(|l| l.contains("\"GET /cache/")), "{log:?}");

    // Once another clone filled it, a read-only clone gets hits and still writes nothing.
    let (ra, _) = populate(&server);
    let before = files_under(&server.www());
    server.clear_access_log();
    let (run, rb) = check(&sample_repo(), &ro);
    run.assert_ok();
    assert_remote_hits_where_keys_match(&rb, &ra);
    assert_eq!(summaries(&rb), summaries(&ra));
    let log = server.access_log();
    assert!(log.iter().all(|l| l.contains("\"GET /cache/")), "{log:?}");
    assert_eq!(files_under(&server.www()), before);
}

/// `STRATA_REMOTE_CACHE_READ_ONLY` makes the remote WORKSPACE.toml names read-only for
/// every command, whatever WORKSPACE.toml (which a pull request can change) says.
#[test]
fn the_read_only_variable_keeps_a_configured_remote_unwritten() {
    let server = Nginx::start(Flavor::ReadWrite);
    let repo = sample_repo();
    let workspace = std::fs::read_to_string(repo.path().join("WORKSPACE.toml")).unwrap();
    repo.write(
        "WORKSPACE.toml",
        &workspace.replace(
            "[cache]\n",
            &format!("[cache]\nremote = \"{}\"\n", server.url()),
        ),
    );
    let mut args = vec!["--json", "check", "--env", "dev"];
    args.extend_from_slice(&TARGETS);
    let run: Run = repo
        .command(&args)
        .env("STRATA_REMOTE_CACHE_READ_ONLY", "1")
        .output()
        .unwrap()
        .into();
    run.assert_ok();
    assert_eq!(files_under(&server.www()), Vec::<std::path::PathBuf>::new());
    let log = server.access_log();
    assert!(!log.is_empty(), "the remote was read");
    assert!(log.iter().all(|l| l.contains("\"GET /cache/")), "{log:?}");
}

#[test]
fn a_failing_remote_is_asked_at_most_three_times_per_run() {
    let server = Nginx::start(Flavor::Error500);
    let url = server.url();
    // One task at a time: the first task's lookup fails (1), its upload fails (2), the
    // second task's lookup fails (3); then the remote is left alone for the other tasks.
    // Each failing request counts once, and none is spent on a probe: the remote is first
    // asked when a task misses locally.
    let (run, report) = check(&sample_repo(), &["--remote-cache", &url, "-j", "1"]);
    run.assert_ok();
    assert_all_ran(&report);
    assert!(tasks(&report).len() > 3);
    let log = server.access_log();
    assert_eq!(log.len(), 3, "{log:#?}");
    assert!(log[0].contains("\"GET /cache/ac/"), "{log:#?}");
    assert!(log[1].contains("\"PUT /cache/cas/"), "{log:#?}");
    assert!(log[2].contains("\"GET /cache/ac/"), "{log:#?}");
    assert!(
        !log.iter().any(|l| l.contains(&"0".repeat(64))),
        "no probe: {log:#?}"
    );
    assert!(log.iter().all(|l| l.contains("\" 500 ")), "{log:#?}");
    let warnings: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .collect();
    assert_eq!(warnings.len(), 2, "{}", run.stderr);
    assert!(warnings[0].contains("continuing with the local cache"));
    assert_eq!(
        warnings[1],
        format!("warning: remote cache {url} failed 3 times; not asking it again during this run")
    );

    // In parallel, requests already under way when the third failure lands still finish:
    // at most one more per other worker.
    server.clear_access_log();
    let jobs = 4;
    let (run, report) = check(&sample_repo(), &["--remote-cache", &url, "-j", "4"]);
    run.assert_ok();
    assert_all_ran(&report);
    let log = server.access_log();
    assert!(
        log.len() >= 3 && log.len() <= 3 + (jobs - 1),
        "{} requests: {log:#?}",
        log.len()
    );
}

/// A password that a URL can only carry percent-encoded is sent decoded: the server gets
/// the password, not its encoding.
#[test]
fn user_information_in_the_url_is_sent_decoded_as_basic_authentication() {
    let server = Nginx::start(Flavor::Basic);
    let port = server.url();
    let (scheme, rest) = port.split_once("://").unwrap();
    let encoded = nginx::BASIC_PASSWORD
        .replace('@', "%40")
        .replace(':', "%3A")
        .replace('/', "%2F");
    let url = format!("{scheme}://{}:{encoded}@{rest}", nginx::BASIC_USER);
    let repo = sample_repo();
    let (run, _) = check(&repo, &["--remote-cache", &url, "--require-remote-cache"]);
    run.assert_ok();
    assert_no_warnings(&run);
    assert!(!files_under(&server.www().join("ac")).is_empty());
    assert!(!run.stderr.contains(&encoded) && !run.stdout.contains(&encoded));
}

#[test]
fn a_bearer_token_from_the_named_environment_variable_is_sent() {
    let server = Nginx::start(Flavor::Token);
    let repo = sample_repo();
    let ws = repo.path().join("WORKSPACE.toml");
    let text = std::fs::read_to_string(&ws).unwrap();
    std::fs::write(
        &ws,
        text.replace(
            "[cache]\n",
            "[cache]\nremote_token_env = \"STRATA_TEST_CACHE_TOKEN\"\n",
        ),
    )
    .unwrap();
    assert!(std::fs::read_to_string(&ws)
        .unwrap()
        .contains("remote_token_env"));
    repo.commit("token");
    let run = |token: Option<&str>| {
        let mut cmd = repo.command(&[
            "--json",
            "check",
            "--env",
            "dev",
            "--remote-cache",
            &server.url(),
        ]);
        cmd.args(TARGETS);
        match token {
            Some(t) => cmd.env("STRATA_TEST_CACHE_TOKEN", t),
            None => cmd.env_remove("STRATA_TEST_CACHE_TOKEN"),
        };
        cmd.output().unwrap()
    };
    // Without the token the server refuses: a warning, and the run still succeeds locally.
    let out = run(None);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("HTTP 401"), "{stderr}");
    assert!(files_under(&server.www()).is_empty());
    // With it, results are uploaded and no warning is printed.
    std::fs::remove_dir_all(repo.path().join(".strata/cache")).unwrap();
    let out = run(Some(nginx::TOKEN));
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("warning"), "{stderr}");
    assert!(!files_under(&server.www().join("ac")).is_empty());
}

/// What an apply delivers (a chart's manifests, for the GitOps output and the lock) is
/// rendered by the apply and its verification, never taken from the remote: any job that
/// can write to the cache (a pull request's) could have written the entry. Against a remote
/// that fails every request, an apply of a chart (whose tasks are its verification's and
/// its delivery's) never asks it; a check does.
#[test]
fn an_apply_never_asks_the_remote_for_what_it_delivers() {
    let server = Nginx::start(Flavor::Error500);
    let url = server.url();
    let repo = sample_repo();
    repo.append(
        "WORKSPACE.toml",
        "\n[gitops]\nrepo_url = \"https://git.example.com/t.git\"\n",
    );
    repo.commit("gitops");
    let run = repo.strata(&[
        "check",
        "--env",
        "dev",
        "--remote-cache",
        &url,
        "charts/web",
    ]);
    run.assert_ok();
    assert_warned_about(&run, &url);
    let fresh = sample_repo();
    fresh.append(
        "WORKSPACE.toml",
        "\n[gitops]\nrepo_url = \"https://git.example.com/t.git\"\n",
    );
    fresh.commit("gitops");
    let (run, applied) = json_run(
        &fresh,
        &[
            "apply",
            "--env",
            "dev",
            "--auto-approve",
            "--remote-cache",
            &url,
            "charts/web",
        ],
    );
    run.assert_ok();
    assert_eq!(
        applied["release"][0]["recorded"][0], "charts/web",
        "{applied}"
    );
    assert!(fresh
        .path()
        .join("deploy/dev/charts/web/manifests.yaml")
        .exists());
    assert!(
        !run.stderr.contains("remote cache"),
        "the apply asked the remote: {}",
        run.stderr
    );
}
