//! Cache faults: credentials in remote URLs never shown, one run repairs any corruption
//! (local, and remote on a real nginx), and a remote that sends endless bodies or never
//! answers costs bounded memory and no time when the local cache has everything.
#![allow(clippy::disallowed_methods)] // tests drive git, the real strata binary and tools

mod common;
#[path = "support/faulty_http.rs"]
mod faulty_http;
#[path = "support/nginx.rs"]
mod nginx;

use common::{
    assert_cache_consistent, files_under, json_run, sample_repo, sha256_files, tasks_where, Repo,
    Run,
};
use faulty_http::{Behaviour, FaultyServer};
use nginx::{Flavor, Nginx};
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};

/// A subset of the sample workspace (a chart, a stack with a plan, a module: 12 tasks).
const TARGETS: [&str; 3] = ["charts/web", "stacks/network", "modules/naming"];

/// `strata ARGS` in `repo` with extra environment variables.
fn strata_with_env(repo: &Repo, args: &[&str], envs: &[(&str, &str)]) -> Run {
    let mut cmd = repo.command(args);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().unwrap().into()
}

fn check(repo: &Repo, flags: &[&str]) -> (Run, Value) {
    let mut args = vec!["check", "--env", "dev"];
    args.extend_from_slice(flags);
    args.extend_from_slice(&TARGETS);
    json_run(repo, &args)
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

// --- credentials ---------------------------------------------------------------------------

const PASSWORD: &str = "hunter2-pass";
const SECRETS: [&str; 4] = [PASSWORD, "tok-SECRET-1", "sig-SECRET-2", "key-SECRET-3"];

/// A remote URL carrying a user and password, a token, a signature and an API key.
fn secret_url(port: u16) -> String {
    format!(
        "http://builder:{PASSWORD}@127.0.0.1:{port}/cache?token={}&X-Amz-Signature={}&api_key={}",
        SECRETS[1], SECRETS[2], SECRETS[3]
    )
}

#[track_caller]
fn assert_no_secret(what: &str, text: &[u8]) {
    let text = String::from_utf8_lossy(text);
    for s in SECRETS {
        assert!(!text.contains(s), "{what} shows `{s}`:\n{text}");
    }
}

/// `text` names the remote, as strata shows it: the remote or a request to it, with the
/// credentials replaced and the other parts kept.
#[track_caller]
fn assert_shows_redacted_url(text: &str, port: u16) {
    assert!(
        text.contains(&format!("http://***@127.0.0.1:{port}/cache"))
            && text.contains("?token=***&X-Amz-Signature=***&api_key=***"),
        "{text}"
    );
}

#[track_caller]
fn assert_run_shows_no_secret(run: &Run) {
    assert_no_secret("stdout", run.stdout.as_bytes());
    assert_no_secret("stderr", run.stderr.as_bytes());
}

#[test]
fn credentials_in_the_remote_url_never_reach_output_reports_or_the_checkout() {
    let repo = sample_repo();
    let reports = |run: &str| {
        [
            format!("--junit=.strata/{run}.xml"),
            format!("--summary-md=.strata/{run}.md"),
        ]
    };

    // A server failing every request: warnings name the remote and the failing request.
    let failing = Nginx::start(Flavor::Error500);
    let port = failing.port();
    let url = secret_url(port);
    let [junit, md] = reports("failing");
    let (run, _) = json_run(
        &repo,
        &[
            "check",
            "--env",
            "dev",
            "--remote-cache",
            &url,
            &junit,
            &md,
            "charts/web",
        ],
    );
    run.assert_ok();
    assert!(run.stderr.contains("HTTP 500"), "{}", run.stderr);
    assert_shows_redacted_url(&run.stderr, port);
    assert_run_shows_no_secret(&run);
    // The credentials were used, not dropped: nginx saw the user (Basic auth) and the token.
    let log = failing.access_log().join("\n");
    assert!(log.contains(" - builder ["), "{log}");
    assert!(log.contains(&format!("?token={}", SECRETS[1])), "{log}");
    // Human output too.
    let run = repo.strata(&[
        "check",
        "--env",
        "dev",
        "--remote-cache",
        &url,
        "-v",
        "charts/web",
    ]);
    run.assert_ok();
    assert_run_shows_no_secret(&run);

    // A required remote refusing uploads: every task fails with the reason, which reports
    // (JSON, JUnit, Markdown) carry.
    let no_uploads = Nginx::start(Flavor::NoUploads);
    let port = no_uploads.port();
    let url = secret_url(port);
    let [junit, md] = reports("required");
    std::fs::remove_dir_all(repo.path().join(".strata/cache")).unwrap();
    let (run, report) = json_run(
        &repo,
        &[
            "check",
            "--env",
            "dev",
            "--remote-cache",
            &url,
            "--require-remote-cache",
            &junit,
            &md,
            "charts/web",
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let reasons: Vec<&str> = report["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["reason"].as_str())
        .collect();
    assert!(
        reasons.iter().any(|r| r.contains("HTTP 405")),
        "{reasons:?}"
    );
    let request = format!("PUT http://***@127.0.0.1:{port}/cache/cas/");
    assert!(
        reasons.iter().any(|r| r.contains(&request)
            && r.contains("?token=***&X-Amz-Signature=***&api_key=***: HTTP 405")),
        "{reasons:?}"
    );
    assert_run_shows_no_secret(&run);
    let run = repo.strata(&[
        "check",
        "--env",
        "dev",
        "--remote-cache",
        &url,
        "--require-remote-cache",
        "charts/web",
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_run_shows_no_secret(&run);

    // A required remote that is down: the command stops before running anything.
    let mut down = Nginx::start(Flavor::ReadWrite);
    let port = down.port();
    down.stop();
    let url = secret_url(port);
    for json in [true, false] {
        let mut args = vec![
            "check",
            "--env",
            "dev",
            "--remote-cache",
            &url,
            "--require-remote-cache",
            "charts/web",
        ];
        if json {
            args.insert(0, "--json");
        }
        let run = repo.strata(&args);
        assert_eq!(run.code, 2, "{run:?}");
        assert_shows_redacted_url(&run.stderr, port);
        assert_run_shows_no_secret(&run);
    }

    // Nothing strata keeps in the checkout (cache, work directories, reports) holds them.
    let kept = files_under(&repo.path().join(".strata"));
    assert!(kept.iter().any(|p| p.ends_with("required.xml")), "{kept:?}");
    for path in kept {
        assert_no_secret(&path.display().to_string(), &std::fs::read(&path).unwrap());
    }
}

// --- repair --------------------------------------------------------------------------------

#[test]
fn one_run_repairs_a_local_cache_whose_blobs_and_a_result_are_corrupt() {
    let repo = sample_repo();
    let (run, first) = check(&repo, &[]);
    run.assert_ok();
    let cache = repo.path().join(".strata/cache");
    let blobs = files_under(&cache.join("cas"));
    assert!(blobs.len() > 3, "{blobs:?}");
    for (i, blob) in blobs.iter().enumerate() {
        std::fs::write(blob, format!("garbage {i}\n")).unwrap();
    }
    // The plan's result is damaged too, so nothing tells which blobs it named: when the plan
    // runs again, its blobs must be written over the damaged copies, not skipped as present.
    let plan = files_under(&cache.join("ac"))
        .into_iter()
        .find(|p| {
            let json: Value = serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
            json["action"] == "plan"
        })
        .expect("a plan result");
    std::fs::write(&plan, "{\"version\": 1, \"key\": ").unwrap();

    let (run, second) = check(&repo, &[]);
    run.assert_ok();
    assert!(run.stderr.contains("is corrupt"), "{}", run.stderr);
    assert_eq!(all_tasks(&second), all_tasks(&first));
    // After one run every result names blobs that are there and hash to their names.
    assert_eq!(
        assert_cache_consistent(&cache),
        first["tasks"].as_array().unwrap().len()
    );

    let (run, third) = check(&repo, &[]);
    run.assert_ok();
    assert_no_warnings(&run);
    assert_all_local_hits(&third);
}

/// One flipped bit in a cached plan's summary (its count of resources to add) is found by
/// the check stored with the result: the plan runs again, the report carries the counts the
/// plan really has, and the entry is rewritten.
#[test]
fn a_flipped_bit_in_a_cached_summary_is_found_and_the_task_runs_again() {
    let repo = sample_repo();
    let (run, first) = check(&repo, &[]);
    run.assert_ok();
    let cache = repo.path().join(".strata/cache");
    let mut flipped = Vec::new();
    for path in files_under(&cache.join("ac")) {
        let mut bytes = std::fs::read(&path).unwrap();
        let Some(at) = bytes.windows(6).position(|w| w == b"\"add\":") else {
            continue;
        };
        let digit = at + 6;
        assert!(
            bytes[digit].is_ascii_digit(),
            "{}",
            String::from_utf8_lossy(&bytes)
        );
        bytes[digit] ^= 0b100; // 0 -> 4, 1 -> 5, 2 -> 6, ...
        std::fs::write(&path, &bytes).unwrap();
        flipped.push(path);
    }
    assert!(!flipped.is_empty(), "the sample has plans");

    let (run, second) = check(&repo, &[]);
    run.assert_ok();
    assert!(
        run.stderr.contains("does not match its check"),
        "{}",
        run.stderr
    );
    let replanned = tasks_where(&second, |t| t["action"] == "plan" && t["cached"] == false);
    assert_eq!(replanned.len(), flipped.len(), "{second}");
    // What the report says is what the plans say, not what the damaged entries said.
    let summaries = |report: &Value| -> Vec<Value> {
        report["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["action"] == "plan")
            .map(|t| t["summary"].clone())
            .collect()
    };
    assert_eq!(summaries(&second), summaries(&first));

    let (run, third) = check(&repo, &[]);
    run.assert_ok();
    assert_no_warnings(&run);
    assert_all_local_hits(&third);
}

/// A result that parses and names only blobs that are there, but lacks the output the tasks
/// after it read (a plan without its `plan.json`: a damaged or forged entry), is a miss: the
/// plan runs again and its new result replaces the entry, so the run after it is all hits.
#[test]
fn a_result_without_the_output_its_readers_need_is_a_miss_and_is_replaced() {
    let repo = sample_repo();
    let (run, first) = check(&repo, &[]);
    run.assert_ok();
    let cache = repo.path().join(".strata/cache");
    let plans: Vec<_> = files_under(&cache.join("ac"))
        .into_iter()
        .filter(|p| {
            let json: Value = serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
            json["action"] == "plan"
        })
        .collect();
    assert!(!plans.is_empty());
    for plan in &plans {
        // Written with a valid check, as a forger would: the check guards against damage,
        // not against someone who can write the cache.
        let mut result = strata_cache::decode_result(&std::fs::read(plan).unwrap())
            .unwrap()
            .unwrap();
        result.outputs.remove("plan.json");
        std::fs::write(plan, strata_cache::encode_result(&result)).unwrap();
    }

    let (run, second) = check(&repo, &[]);
    run.assert_ok();
    assert!(run.stderr.contains("has no plan.json"), "{}", run.stderr);
    assert_eq!(all_tasks(&second), all_tasks(&first));
    let replanned = second["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["action"] == "plan" && t["cached"] == false)
        .count();
    assert_eq!(replanned, plans.len(), "{second}");

    let (run, third) = check(&repo, &[]);
    run.assert_ok();
    assert_no_warnings(&run);
    assert_all_local_hits(&third);
}

/// A test's verdict is on the plan it read, not on the key the plan was made under: when
/// the plan's entry is gone (damaged, pruned, evicted from a remote) and the plan is made
/// again under the same key, it may differ (a data source read the world anew), and the
/// test runs on it again rather than being served a verdict on the old one.
#[test]
fn a_plan_made_again_under_its_key_is_tested_again() {
    let repo = sample_repo();
    let world_dir = tempfile::tempdir().unwrap();
    let world = world_dir.path().join("world.tfstate");
    let set_world = |ingress: &str| {
        std::fs::write(
            &world,
            format!(
                r#"{{"version":4,"terraform_version":"1.0.3","serial":1,"lineage":"w","outputs":{{"ingress":{{"value":"{ingress}","type":"string"}}}},"resources":[]}}"#
            ),
        )
        .unwrap();
    };
    let versions = std::fs::read_to_string(repo.path().join("stacks/network/versions.tf")).unwrap();
    repo.write("stacks/world/versions.tf", &versions);
    repo.write(
        "stacks/world/main.tf",
        &format!(
            "data \"terraform_remote_state\" \"shared\" {{\n  backend = \"local\"\n  config  = {{ path = \"{}\" }}\n}}\n\nresource \"null_resource\" \"fw\" {{\n  triggers = {{ ingress = data.terraform_remote_state.shared.outputs.ingress }}\n}}\n",
            world.display()
        ),
    );
    repo.write(
        "stacks/world/tests/plan_test.rego",
        "package stacks.world.plan_test\n\nimport rego.v1\n\ntest_ingress_is_private if {\n\tsome rc in input.resource_changes\n\trc.address == \"null_resource.fw\"\n\trc.change.after.triggers.ingress == \"10.0.0.0/8\"\n}\n",
    );
    repo.write("environments/dev/stacks/world/.keep", "");
    repo.commit("a stack that reads the world");
    let args = ["check", "--env", "dev", "stacks/world"];
    set_world("10.0.0.0/8");
    let (run, first) = json_run(&repo, &args);
    run.assert_ok();
    let plan_key = first["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["action"] == "plan")
        .and_then(|t| t["key"].as_str())
        .unwrap()
        .to_string();
    // `hash --explain` gives the test the key the run gave it: it reads the plan's output
    // from the local cache.
    let key_of = |report: &Value, action: &str| {
        report["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["action"] == action)
            .map(|t| t["key"].clone())
    };
    let (run, explained) = json_run(
        &repo,
        &["hash", "--explain", "--env", "dev", "stacks/world"],
    );
    run.assert_ok();
    assert_eq!(key_of(&explained, "test"), key_of(&first, "test"));
    assert!(key_of(&first, "test").is_some_and(|k| k.is_string()));
    // The world moves, and the plan's entry is lost; the test's is not.
    set_world("0.0.0.0/0");
    std::fs::remove_file(repo.path().join(".strata/cache/ac").join(&plan_key)).unwrap();
    let (run, second) = json_run(&repo, &args);
    assert_eq!(
        run.code, 1,
        "the test fails on the new plan: {}",
        run.stderr
    );
    let test = second["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["action"] == "test")
        .unwrap()
        .clone();
    assert_eq!(
        (&test["status"], &test["cached"]),
        (&Value::from("failed"), &Value::from(false)),
        "{second}"
    );
}

/// The server's files: every blob hashes to its name; every result parses, is stored under
/// its own key and names blobs the server has. Returns the number of results.
#[track_caller]
fn assert_remote_valid(www: &Path) -> usize {
    let blobs = files_under(&www.join("cas"));
    for (path, sum) in blobs.iter().zip(sha256_files(&blobs)) {
        assert_eq!(
            path.file_name().unwrap().to_str().unwrap(),
            sum,
            "remote blob {} does not hash to its name",
            path.display()
        );
    }
    let results = files_under(&www.join("ac"));
    for path in &results {
        let json: Value = serde_json::from_slice(&std::fs::read(path).unwrap())
            .unwrap_or_else(|e| panic!("remote result {} is not JSON: {e}", path.display()));
        assert_eq!(json["key"], path.file_name().unwrap().to_str().unwrap());
        for r in json["outputs"].as_object().unwrap().values() {
            let digest = r["digest"].as_str().unwrap();
            assert!(
                www.join("cas").join(digest).is_file(),
                "{} names a missing blob {digest}",
                path.display()
            );
        }
    }
    results.len()
}

#[test]
fn one_run_repairs_a_remote_cache_whose_blobs_are_corrupt() {
    let server = Nginx::start(Flavor::ReadWrite);
    let url = server.url();
    let remote = ["--remote-cache", url.as_str(), "-j", "2"];
    let repo = sample_repo();
    let (run, first) = check(&repo, &remote);
    run.assert_ok();
    let tasks = first["tasks"].as_array().unwrap().len();
    assert_eq!(assert_remote_valid(&server.www()), tasks);
    // Damage every blob on the server (several results share some, such as the empty log)
    // and one result. Start afresh (no local cache, no sandboxes), as the first run did, so
    // the tasks run again produce the same bytes and their uploads replace every damaged
    // blob (a blob that no result names any more would stay damaged, and untrusted).
    let blobs = files_under(&server.www().join("cas"));
    for (i, blob) in blobs.iter().enumerate() {
        std::fs::write(blob, format!("garbage {i}\n")).unwrap();
    }
    let results = files_under(&server.www().join("ac"));
    std::fs::write(&results[0], "<html>502 Bad Gateway</html>\n").unwrap();
    std::fs::remove_dir_all(repo.path().join(".strata")).unwrap();

    let (run, second) = check(&repo, &remote);
    run.assert_ok();
    assert!(run.stderr.contains("rejected"), "{}", run.stderr);
    assert_eq!(
        tasks_where(&second, |t| t["cached"] == true),
        Vec::<String>::new(),
        "nothing damaged is served"
    );
    // One run later the server holds only valid entries, and all of them.
    assert_eq!(assert_remote_valid(&server.www()), tasks);
    assert_eq!(
        assert_cache_consistent(&repo.path().join(".strata/cache")),
        tasks
    );

    // So the next run from an empty local cache is served entirely by the remote.
    std::fs::remove_dir_all(repo.path().join(".strata")).unwrap();
    let (run, third) = check(&repo, &remote);
    run.assert_ok();
    assert_no_warnings(&run);
    assert_eq!(
        tasks_where(&third, |t| t["status"] == "ok"
            && t["cached"] == true
            && t["remote"] == true),
        all_tasks(&third),
        "every task is a remote hit"
    );
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
            .contains("rejected: blob `log` does not match its digest (GET http://127.0.0.1:")
            && run
                .stderr
                .contains("the body is larger than 5 bytes, the size its result declares)"),
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
