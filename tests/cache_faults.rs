//! Cache faults: a remote that sends endless bodies or never answers costs bounded memory,
//! and no time when the local cache has everything.

mod common;
#[path = "support/faulty_http.rs"]
mod faulty_http;

use common::{assert_cache_consistent, files_under, json_run, sample_repo, tasks_where, Repo, Run};
use faulty_http::{Behaviour, FaultyServer};
use serde_json::Value;
use std::time::{Duration, Instant};

/// `strata ARGS` in `repo` with extra environment variables.
fn strata_with_env(repo: &Repo, args: &[&str], envs: &[(&str, &str)]) -> Run {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_strata"));
    cmd.current_dir(repo.path())
        .args(args)
        .env_remove("GIT_DIR")
        .env("STRATA_DAEMON", "0");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().unwrap().into()
}

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

// --- endless bodies ------------------------------------------------------------------------

/// Far below what an unbounded read takes from an endless body within the request timeout
/// (hundreds of MiB), far above what the limits allow plus socket buffers.
const CUT_OFF: u64 = 64 << 20;

#[test]
fn an_endless_result_body_is_cut_at_the_result_limit() {
    let server = FaultyServer::start(Behaviour::Endless);
    let repo = sample_repo();
    for (limit, shown) in [(None, "16 MiB"), (Some("1M"), "1 MiB")] {
        std::fs::remove_dir_all(repo.path().join(".strata")).ok();
        let envs: Vec<(&str, &str)> = limit
            .map(|l| ("STRATA_REMOTE_CACHE_MAX_RESULT", l))
            .into_iter()
            .collect();
        let started = Instant::now();
        let run = strata_with_env(
            &repo,
            &[
                "--json",
                "check",
                "--env",
                "dev",
                "--remote-cache",
                &server.url(),
                "charts/web",
            ],
            &envs,
        );
        let took = started.elapsed();
        run.assert_ok();
        assert!(
            run.stderr.contains(&format!(
                "the body is larger than {shown}, the limit for results"
            )),
            "{}",
            run.stderr
        );
        assert!(
            run.stderr.contains("STRATA_REMOTE_CACHE_MAX_RESULT"),
            "{}",
            run.stderr
        );
        assert!(
            server.max_body_sent() < CUT_OFF,
            "the client read {} bytes of one endless body",
            server.max_body_sent()
        );
        // Every task ran locally and was stored; nothing from the server was kept.
        let report = run.json();
        assert_eq!(
            tasks_where(&report, |t| t["status"] == "ok" && t["cached"] == false),
            all_tasks(&report)
        );
        let cache = repo.path().join(".strata/cache");
        assert_eq!(
            assert_cache_consistent(&cache),
            all_tasks(&report).len(),
            "{took:?}"
        );
        for f in files_under(&cache) {
            assert!(!std::fs::read(&f).unwrap().starts_with(b"xxxx"), "{f:?}");
        }
    }
    let (run, report) = json_run(&repo, &["check", "--env", "dev", "charts/web"]);
    run.assert_ok();
    assert_all_local_hits(&report);
}

#[test]
fn an_endless_blob_body_is_cut_at_the_size_its_result_declares() {
    let server = FaultyServer::start(Behaviour::EndlessBlobs);
    let repo = sample_repo();
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
    run.assert_ok();
    assert!(
        run.stderr
            .contains("the body is larger than 5 bytes, the size its result declares"),
        "{}",
        run.stderr
    );
    // The results were read, then their blobs (the server counts what it got out).
    let requests = server.requests();
    assert!(
        requests.iter().any(|r| r.starts_with("GET /cache/cas/")),
        "{requests:?}"
    );
    assert!(
        server.max_body_sent() < CUT_OFF,
        "{}",
        server.max_body_sent()
    );
    assert_eq!(
        tasks_where(&report, |t| t["status"] == "ok" && t["cached"] == false),
        all_tasks(&report)
    );
    assert_eq!(
        assert_cache_consistent(&repo.path().join(".strata/cache")),
        all_tasks(&report).len()
    );
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
