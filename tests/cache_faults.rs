//! Cache faults: a remote that never answers costs no time when the local cache has
//! everything, and a bounded number of timeouts otherwise.

mod common;
#[path = "support/faulty_http.rs"]
mod faulty_http;

use common::{json_run, sample_repo, tasks_where, Repo, Run};
use faulty_http::{Behaviour, FaultyServer};
use serde_json::Value;
use std::time::{Duration, Instant};

fn all_tasks(report: &Value) -> Vec<String> {
    tasks_where(report, |_| true)
}

#[track_caller]
fn assert_all_local_hits(report: &Value) {
    assert_eq!(
        tasks_where(report, |t| t["status"] == "ok"
            && t["cached"] == true
            && t["remote"] == false),
        all_tasks(report),
        "every task is a local cache hit"
    );
}

#[track_caller]
fn assert_no_warnings(run: &Run) {
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
}

/// Sets `[cache] remote_timeout_secs` in WORKSPACE.toml and commits.
fn set_remote_timeout(repo: &Repo, secs: u64) {
    let ws = repo.path().join("WORKSPACE.toml");
    let text = std::fs::read_to_string(&ws).unwrap();
    let text: String = text
        .lines()
        .filter(|l| !l.starts_with("remote_timeout_secs"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(
        &ws,
        text.replace(
            "[cache]\n",
            &format!("[cache]\nremote_timeout_secs = {secs}\n"),
        ),
    )
    .unwrap();
    repo.commit("remote timeout");
}

// --- a remote that never answers -----------------------------------------------------------

#[test]
fn a_hanging_remote_does_not_delay_a_run_the_local_cache_serves() {
    let repo = sample_repo();
    set_remote_timeout(&repo, 5);
    let (run, _) = json_run(&repo, &["check", "--env", "dev", "charts/web"]);
    run.assert_ok();

    let server = FaultyServer::start(Behaviour::Hang);
    let started = Instant::now();
    let (run, report) = json_run(
        &repo,
        &[
            "check",
            "--env",
            "dev",
            "--remote-cache",
            &server.url(),
            "charts/web",
        ],
    );
    let took = started.elapsed();
    run.assert_ok();
    assert_no_warnings(&run);
    assert_all_local_hits(&report);
    assert_eq!(server.connections(), 0, "the remote was not needed");
    assert!(
        took < Duration::from_secs(3),
        "a fully cached run took {took:?} with a 5 s remote timeout"
    );
}

#[test]
fn a_hanging_remote_is_asked_three_times_then_left_alone() {
    let repo = sample_repo();
    set_remote_timeout(&repo, 1);
    let server = FaultyServer::start(Behaviour::Hang);
    // One task at a time: the first lookup times out (1), its upload (2), the second
    // task's lookup (3); no request is spent on a probe.
    let (run, report) = json_run(
        &repo,
        &[
            "check",
            "--env",
            "dev",
            "-j",
            "1",
            "--remote-cache",
            &server.url(),
            "charts/web",
        ],
    );
    run.assert_ok();
    assert!(run.stderr.contains("timed out"), "{}", run.stderr);
    assert!(
        run.stderr.contains("failed 3 times; not asking it again"),
        "{}",
        run.stderr
    );
    assert_eq!(
        tasks_where(&report, |t| t["status"] == "ok" && t["cached"] == false),
        all_tasks(&report)
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 3, "{requests:#?}");
    assert!(requests[0].starts_with("GET /cache/ac/"), "{requests:#?}");
    assert!(requests[1].starts_with("PUT /cache/cas/"), "{requests:#?}");
    assert!(
        !requests.iter().any(|r| r.contains(&"0".repeat(64))),
        "no probe: {requests:#?}"
    );
}
