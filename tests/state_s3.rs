//! Shared state through an S3-compatible server (terraform's `s3` backend, with DynamoDB
//! state locks; moto's server, started by the test on a loopback port): two checkouts share
//! an environment's state, a concurrent apply fails naming the lock holder and leaves the
//! state whole, and the backend's credentials reach terraform in its environment, never a
//! file strata writes.
#![allow(clippy::disallowed_methods)] // tests drive git, the real strata binary and tools

mod common;
#[path = "support/s3.rs"]
mod s3;

use common::{files_containing, network_stack, task, tools_repo, wait_for, Repo, Run};
use s3::S3;
use std::process::Child;
use std::time::Duration;

/// `stacks/network` (output `vpc_id`; `v = "slow"` makes its apply touch
/// `$STRATA_TEST_MARKER` and then take 8 s) and `stacks/app`, which consumes `vpc_id`. State
/// in the server's bucket; its address and the credentials come from the environment.
fn workspace(extra_env_toml: &str) -> Repo {
    let repo = tools_repo();
    repo.write(
        "environments/dev/env.toml",
        &format!(
            r#"[state]
backend = "s3"
{extra_env_toml}
[state.config]
bucket = "{bucket}"
region = "{region}"
endpoint_env = "STRATA_TEST_S3_URL"
dynamodb_endpoint_env = "STRATA_TEST_S3_URL"
dynamodb_table = "{table}"
force_path_style = true
skip_credentials_validation = true
skip_metadata_api_check = true
skip_region_validation = true
access_key_env = "STRATA_TEST_S3_ACCESS_KEY"
secret_key_env = "STRATA_TEST_S3_SECRET_KEY"
"#,
            bucket = s3::BUCKET,
            region = s3::REGION,
            table = s3::LOCK_TABLE,
        ),
    );
    network_stack(&repo, "1");
    common::app_stack(&repo);
    repo.commit("s3 workspace");
    repo
}

/// Only what env.toml says reaches terraform: no ambient AWS credentials.
const AMBIENT: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
];

/// The server's address and the credentials, where env.toml says to read them.
fn server_env(server: &S3) -> Vec<(String, String)> {
    vec![
        ("STRATA_TEST_S3_URL".into(), server.url()),
        ("STRATA_TEST_S3_ACCESS_KEY".into(), s3::ACCESS_KEY.into()),
        ("STRATA_TEST_S3_SECRET_KEY".into(), s3::SECRET_KEY.into()),
    ]
}

fn run(
    repo: &Repo,
    server: &S3,
    args: &[&str],
    extra: &[(&str, &str)],
) -> (Run, serde_json::Value) {
    common::backend_run(repo, &server_env(server), AMBIENT, args, extra)
}

fn spawn(repo: &Repo, server: &S3, args: &[&str], extra: &[(&str, &str)]) -> Child {
    common::backend_spawn(repo, &server_env(server), AMBIENT, args, extra)
}

/// No file strata wrote and no output holds the secret key or the access key.
fn assert_keys_nowhere(repo: &Repo, outputs: &[&Run]) {
    for secret in [s3::SECRET_KEY, s3::ACCESS_KEY] {
        common::assert_secret_nowhere(secret, repo, outputs);
    }
}

#[test]
fn two_runners_share_an_environment_through_s3_and_the_keys_stay_out_of_every_file() {
    let server = S3::start();
    let a = workspace("");
    let b = workspace("");

    // Runner A applies the upstream stack: its state is an object in the bucket.
    let (ra, ja) = run(
        &a,
        &server,
        &["apply", "--auto-approve", "--env", "dev", "stacks/network"],
        &[],
    );
    assert_eq!(ra.code, 0, "{}\n{}", ra.stderr, ra.stdout);
    assert_eq!(task(&ja, "stacks/network", "apply")["status"], "ok");
    assert_eq!(
        server.keys(),
        vec!["dev/stacks/network/terraform.tfstate".to_string()]
    );

    // Runner B, with no local state at all, plans the downstream stack from A's outputs.
    let (rb, jb) = run(&b, &server, &["plan", "--env", "dev", "stacks/app"], &[]);
    assert_eq!(rb.code, 0, "{}\n{}", rb.stderr, rb.stdout);
    let plan = task(&jb, "stacks/app", "plan");
    assert_eq!(plan["status"], "ok", "{plan}");
    assert_eq!(plan["provisional"], false);

    // B applies it: the value it consumed is A's output, read from the bucket.
    let (rb2, _) = run(
        &b,
        &server,
        &["apply", "--auto-approve", "--env", "dev", "stacks/app"],
        &[],
    );
    assert_eq!(rb2.code, 0, "{}\n{}", rb2.stderr, rb2.stdout);
    let app = server.state("dev/stacks/app/terraform.tfstate");
    assert_eq!(app["outputs"]["seen"]["value"], "vpc-1");

    // Neither runner keeps state of its own.
    for repo in [&a, &b] {
        let local = common::local_state_files(repo);
        assert!(local.is_empty(), "local state files: {local:?}");
    }
    assert_keys_nowhere(&a, &[&ra]);
    assert_keys_nowhere(&b, &[&rb, &rb2]);
}

#[test]
fn a_concurrent_apply_fails_naming_the_lock_holder_and_the_state_stays_whole() {
    let server = S3::start();
    let marker_dir = tempfile::tempdir().unwrap();
    let marker = marker_dir.path().join("applying");
    let marker_env = marker.display().to_string();
    let a = workspace("");
    let impatient = workspace("lock_timeout = \"1s\"");
    let (first, _) = run(
        &a,
        &server,
        &["apply", "--auto-approve", "--env", "dev", "stacks/network"],
        &[],
    );
    assert_eq!(first.code, 0, "{}\n{}", first.stderr, first.stdout);
    let key = "dev/stacks/network/terraform.tfstate";
    let serial_before = server.state(key)["serial"].as_u64().unwrap();

    // A's apply holds the lock for 8 s.
    let slow = spawn(
        &a,
        &server,
        &["apply", "--auto-approve", "--env", "dev", "stacks/network"],
        &[("TF_VAR_v", "slow"), ("STRATA_TEST_MARKER", &marker_env)],
    );
    wait_for("A's apply to start", Duration::from_secs(60), || {
        marker.exists()
    });
    // The lock A holds, as DynamoDB records it.
    let held: Vec<serde_json::Value> = server
        .locks()
        .into_iter()
        .filter(|(_, info)| !info.is_empty())
        .map(|(_, info)| serde_json::from_str(&info).unwrap())
        .collect();
    assert_eq!(held.len(), 1, "{held:?}");
    let lock_id = held[0]["ID"].as_str().unwrap().to_string();

    // One that waits 1 s gives up, naming who holds the lock and which lock it is.
    let (gave_up, j) = run(
        &impatient,
        &server,
        &["apply", "--auto-approve", "--env", "dev", "stacks/network"],
        &[("TF_VAR_v", "other")],
    );
    assert_eq!(gave_up.code, 1, "{}\n{}", gave_up.stderr, gave_up.stdout);
    let plan = task(&j, "stacks/network", "plan");
    let reason = plan["reason"].as_str().unwrap();
    assert!(reason.contains("is locked by"), "{reason}");
    assert!(reason.contains(&lock_id), "{reason}");
    assert!(
        reason.contains(held[0]["Who"].as_str().unwrap()),
        "{reason}"
    );
    assert!(reason.contains("waited 1s"), "{reason}");
    assert_eq!(task(&j, "stacks/network", "apply")["status"], "skipped");

    let run_a: Run = slow.wait_with_output().unwrap().into();
    assert_eq!(run_a.code, 0, "{}\n{}", run_a.stderr, run_a.stdout);
    // The state is whole: it parses, holds A's value, its serial moved once; no lock is left.
    let state = server.state(key);
    assert_eq!(state["outputs"]["vpc_id"]["value"], "vpc-slow");
    assert_eq!(
        state["serial"].as_u64().unwrap(),
        serial_before + 1,
        "{state}"
    );
    assert!(
        server.locks().iter().all(|(_, info)| info.is_empty()),
        "{:?}",
        server.locks()
    );
    assert_keys_nowhere(&a, &[&first, &run_a]);
    assert_keys_nowhere(&impatient, &[&gave_up]);
}

/// A credential given as a state setting that the backend cannot read from the environment
/// is refused before anything runs, rather than written into terraform's working directory.
#[test]
fn a_credential_setting_the_backend_cannot_take_from_the_environment_is_refused() {
    let repo = tools_repo();
    repo.write(
        "environments/dev/env.toml",
        "[state]\nbackend = \"remote\"\n[state.config]\norganization = \"o\"\nhostname = \"tfe.example.com\"\nprefix = \"{label_id}\"\ntoken_env = \"STRATA_TEST_TFE_TOKEN\"\n",
    );
    network_stack(&repo, "1");
    repo.commit("remote backend");
    let run: Run = repo
        .command(&["plan", "--env", "dev"])
        .env("STRATA_TEST_TFE_TOKEN", "tfe-t0ken-strata-test")
        .output()
        .unwrap()
        .into();
    assert_eq!(run.code, 2, "{}\n{}", run.stderr, run.stdout);
    assert!(run.stderr.contains("`token`"), "{}", run.stderr);
    assert!(
        run.stderr.contains("environments/dev/env.toml"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("tfe-t0ken-strata-test"),
        "{}",
        run.stderr
    );
    let found = files_containing(&repo.path().join(".strata"), b"tfe-t0ken-strata-test", &[]);
    assert!(found.is_empty(), "{found:?}");
}

/// A lock left on a stack's state by a run that ended without releasing it (killed, or cut
/// off from the backend mid-apply): `state push` says who holds it and how to release it,
/// `strata state unlock` releases it (recorded in the ledger), and the push then goes
/// through. A wrong lock ID releases nothing.
#[test]
fn a_lock_left_behind_is_named_and_released_with_state_unlock() {
    let server = S3::start();
    let a = workspace("lock_timeout = \"1s\"");
    let (first, _) = run(
        &a,
        &server,
        &["apply", "--auto-approve", "--env", "dev", "stacks/network"],
        &[],
    );
    assert_eq!(first.code, 0, "{}\n{}", first.stderr, first.stdout);
    let key = "dev/stacks/network/terraform.tfstate";
    let lock_id = format!("{}/{key}", s3::BUCKET);
    server.boto(&format!(
        "ddb.put_item(TableName='{table}', Item={{'LockID': {{'S': '{lock_id}'}}, 'Info': {{'S': json.dumps({{'ID': 'c0ffee00-dead-beef-0000-000000000001', 'Operation': 'OperationTypeApply', 'Info': '', 'Who': 'ghost@ci-runner-7', 'Version': '1.0.3', 'Created': '2026-12-06T10:00:00Z', 'Path': '{lock_id}'}})}}}})",
        table = s3::LOCK_TABLE,
    ));
    let mut state = server.state(key);
    state["serial"] = (state["serial"].as_u64().unwrap() + 1).into();
    let file = a.path().join("pushed.tfstate");
    std::fs::write(&file, serde_json::to_vec(&state).unwrap()).unwrap();
    let file = file.display().to_string();
    let push = || {
        run(
            &a,
            &server,
            &["state", "push", "stacks/network", "--env", "dev", &file],
            &[],
        )
        .0
    };

    let refused = push();
    // A held lock is a failure to run again later, not bad input.
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains("the state is locked by ghost@ci-runner-7")
            && refused
                .stderr
                .contains("lock c0ffee00-dead-beef-0000-000000000001")
            && refused
                .stderr
                .contains("strata state unlock stacks/network --env dev"),
        "{}",
        refused.stderr
    );

    let (wrong, _) = run(
        &a,
        &server,
        &[
            "state",
            "unlock",
            "stacks/network",
            "--env",
            "dev",
            "not-the-id",
        ],
        &[],
    );
    assert_eq!(wrong.code, 2, "{}", wrong.stderr);
    assert!(server
        .locks()
        .iter()
        .any(|(_, info)| info.contains("ghost@ci-runner-7")));

    let (released, _) = run(
        &a,
        &server,
        &[
            "state",
            "unlock",
            "stacks/network",
            "--env",
            "dev",
            "c0ffee00-dead-beef-0000-000000000001",
        ],
        &[],
    );
    assert_eq!(released.code, 0, "{}", released.stderr);
    assert!(
        server.locks().iter().all(|(_, info)| info.is_empty()),
        "{:?}",
        server.locks()
    );
    let pushed = push();
    assert_eq!(pushed.code, 0, "{}", pushed.stderr);
    let ledger = std::fs::read_to_string(a.path().join("environments/dev/audit.jsonl")).unwrap();
    let unlocks: Vec<serde_json::Value> = ledger
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["action"] == "state-unlock")
        .collect();
    assert_eq!(unlocks.len(), 2, "{ledger}");
    assert_eq!(unlocks[0]["outcome"], "failed");
    assert_eq!(unlocks[1]["outcome"], "succeeded");
    assert_keys_nowhere(&a, &[&first, &refused, &wrong, &released, &pushed]);
}
