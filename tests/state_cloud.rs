//! Shared state through Google Cloud Storage and Azure Blob Storage: terraform's own `gcs`
//! and `azurerm` backends against emulators of those services started by the test
//! (gcp-storage-emulator, Azurite), reached through a TLS-terminating proxy since terraform
//! 1.0.3 only talks HTTPS to the real hosts (tests/support/cloud.rs). Two checkouts share an
//! environment's state; an apply racing another fails naming the lock holder (Azure blob
//! leases; gcs lock objects created only if absent) and leaves the state whole; the
//! credentials reach terraform in its environment, never a file strata writes.
//!
//! gcp-storage-emulator ignores write preconditions (`ifGenerationMatch`), which terraform's
//! gcs locks rely on; tests/support/gcs_emulator.py runs it with them enforced.
#![allow(clippy::disallowed_methods)] // tests drive git, the real strata binary and tools

#[path = "support/cloud.rs"]
mod cloud;
mod common;

use cloud::Cloud;
use common::{network_stack, task, tools_repo, wait_for, Repo, Run};
use std::process::Child;
use std::time::Duration;

/// Variables that would give terraform credentials or endpoints of its own.
const AMBIENT: &[&str] = &[
    "GOOGLE_CREDENTIALS",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "GOOGLE_BACKEND_CREDENTIALS",
    "GOOGLE_OAUTH_ACCESS_TOKEN",
    "STORAGE_EMULATOR_HOST",
    "ARM_ACCESS_KEY",
    "ARM_SAS_TOKEN",
    "ARM_CLIENT_SECRET",
    "NO_PROXY",
    "no_proxy",
    "https_proxy",
];

fn workspace(backend: &str, extra_env_toml: &str) -> Repo {
    let repo = tools_repo();
    let config = match backend {
        "gcs" => format!(
            "bucket = \"{}\"\naccess_token_env = \"STRATA_TEST_GCS_TOKEN\"\n",
            cloud::GCS_BUCKET
        ),
        _ => format!(
            "storage_account_name = \"{}\"\ncontainer_name = \"{}\"\naccess_key_env = \"STRATA_TEST_AZURE_KEY\"\n",
            cloud::AZURE_ACCOUNT,
            cloud::AZURE_CONTAINER
        ),
    };
    repo.write(
        "environments/dev/env.toml",
        &format!("[state]\nbackend = \"{backend}\"\n{extra_env_toml}\n[state.config]\n{config}"),
    );
    network_stack(&repo, "1");
    common::app_stack(&repo);
    repo.commit(&format!("{backend} workspace"));
    repo
}

/// The proxy and CA terraform needs, and the credentials where env.toml says to read them.
fn server_env(server: &Cloud) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = server
        .env()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    env.push(("STRATA_TEST_GCS_TOKEN".into(), cloud::GCS_TOKEN.into()));
    env.push(("STRATA_TEST_AZURE_KEY".into(), cloud::AZURE_KEY.into()));
    env
}

fn run(
    repo: &Repo,
    server: &Cloud,
    args: &[&str],
    extra: &[(&str, &str)],
) -> (Run, serde_json::Value) {
    common::backend_run(repo, &server_env(server), AMBIENT, args, extra)
}

fn spawn(repo: &Repo, server: &Cloud, args: &[&str], extra: &[(&str, &str)]) -> Child {
    common::backend_spawn(repo, &server_env(server), AMBIENT, args, extra)
}

/// No file strata wrote and no output holds the credential.
fn assert_nowhere(secret: &str, repo: &Repo, outputs: &[&Run]) {
    common::assert_secret_nowhere(secret, repo, outputs);
}

/// Runner A applies `stacks/network`; runner B, with no state of its own, plans and applies
/// `stacks/app` from A's output. Returns B's runs.
fn share(server: &Cloud, a: &Repo, b: &Repo) -> Vec<Run> {
    let (ra, ja) = run(
        a,
        server,
        &["apply", "--auto-approve", "--env", "dev", "stacks/network"],
        &[],
    );
    assert_eq!(ra.code, 0, "{}\n{}", ra.stderr, ra.stdout);
    assert_eq!(task(&ja, "stacks/network", "apply")["status"], "ok");

    let (rb, jb) = run(b, server, &["plan", "--env", "dev", "stacks/app"], &[]);
    assert_eq!(rb.code, 0, "{}\n{}", rb.stderr, rb.stdout);
    let plan = task(&jb, "stacks/app", "plan");
    assert_eq!(plan["status"], "ok", "{plan}");
    assert_eq!(plan["provisional"], false, "{plan}");
    let (rb2, _) = run(
        b,
        server,
        &["apply", "--auto-approve", "--env", "dev", "stacks/app"],
        &[],
    );
    assert_eq!(rb2.code, 0, "{}\n{}", rb2.stderr, rb2.stdout);
    for repo in [a, b] {
        let local = common::local_state_files(repo);
        assert!(local.is_empty(), "local state files: {local:?}");
    }
    vec![ra, rb, rb2]
}

#[test]
fn two_runners_share_an_environment_through_gcs_and_the_token_stays_out_of_every_file() {
    let server = Cloud::gcs();
    let a = workspace("gcs", "");
    let b = workspace("gcs", "");
    let runs = share(&server, &a, &b);
    assert_eq!(
        server.gcs_objects(),
        [
            "dev/stacks/app/default.tfstate",
            "dev/stacks/network/default.tfstate"
        ]
    );
    let app = server.gcs_state("dev/stacks/app/default.tfstate");
    assert_eq!(app["outputs"]["seen"]["value"], "vpc-1");

    // B's plan of the app, cached, is reused while the state is unchanged; once A applies
    // the network again, B plans anew.
    let (again, j) = run(&b, &server, &["plan", "--env", "dev", "stacks/app"], &[]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(task(&j, "stacks/app", "plan")["cached"], true);
    let (ra, _) = run(
        &a,
        &server,
        &["apply", "--auto-approve", "--env", "dev", "stacks/network"],
        &[("TF_VAR_v", "2")],
    );
    assert_eq!(ra.code, 0, "{}", ra.stderr);
    let (anew, j) = run(&b, &server, &["plan", "--env", "dev", "stacks/app"], &[]);
    assert_eq!(anew.code, 0, "{}", anew.stderr);
    let plan = task(&j, "stacks/app", "plan");
    assert_eq!(plan["cached"], false, "{plan}");

    // A chart reading the network's output through the backend, rendered on its own (no
    // stack in the run: terraform is still found to read the output).
    b.write(
        "charts/web/Chart.yaml",
        "apiVersion: v2\nname: web\nversion: 0.1.0\ntype: application\n",
    );
    b.write("charts/web/values.yaml", "vpc_id: \"\"\n");
    b.write(
        "charts/web/templates/configmap.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  vpc: {{ required \"vpc_id\" .Values.vpc_id | quote }}\n",
    );
    b.write(
        "charts/web/chart.toml",
        "[inputs]\nvpc_id = \"stacks/network:vpc_id\"\n",
    );
    b.commit("a chart reading the network's output");
    let (chart, j) = run(&b, &server, &["check", "--env", "dev", "charts/web"], &[]);
    assert_eq!(chart.code, 0, "{}\n{}", chart.stderr, chart.stdout);
    assert_eq!(task(&j, "charts/web", "render")["status"], "ok", "{j}");

    let outputs: Vec<&Run> = runs.iter().chain([&again, &ra, &anew, &chart]).collect();
    assert_nowhere(cloud::GCS_TOKEN, &a, &outputs);
    assert_nowhere(cloud::GCS_TOKEN, &b, &outputs);
}

#[test]
fn azurerm_shares_an_environment_and_a_concurrent_apply_fails_naming_the_lease_holder() {
    let server = Cloud::azure();
    let a = workspace("azurerm", "");
    let b = workspace("azurerm", "");
    let mut runs = share(&server, &a, &b);
    let key = "dev/stacks/network/terraform.tfstate";
    let mut blobs = server.azure_blobs();
    blobs.sort();
    assert_eq!(blobs, ["dev/stacks/app/terraform.tfstate", key]);
    let app = server.azure_state("dev/stacks/app/terraform.tfstate");
    assert_eq!(app["outputs"]["seen"]["value"], "vpc-1");
    let serial_before = server.azure_state(key)["serial"].as_u64().unwrap();

    // A's apply holds the state's lease for 8 s; B waits 1 s and gives up.
    let (impatient, raced) = a_racing_apply_gives_up(&server, "azurerm", &a, || {
        let leased =
            String::from_utf8(server.azure_blob(&["lease", cloud::AZURE_CONTAINER, key])).unwrap();
        assert_eq!(leased.trim(), "leased");
    });
    // The state is whole: A's value, its serial moved once, the lease released.
    let state = server.azure_state(key);
    assert_eq!(state["outputs"]["vpc_id"]["value"], "vpc-slow");
    assert_eq!(
        state["serial"].as_u64().unwrap(),
        serial_before + 1,
        "{state}"
    );
    let lease =
        String::from_utf8(server.azure_blob(&["lease", cloud::AZURE_CONTAINER, key])).unwrap();
    assert_eq!(lease.trim(), "available");

    runs.extend(raced);
    let outputs: Vec<&Run> = runs.iter().collect();
    for repo in [&a, &b, &impatient] {
        assert_nowhere(cloud::AZURE_KEY, repo, &outputs);
    }
}

/// terraform's gcs backend locks a state by creating its lock object only if it does not
/// exist (`ifGenerationMatch=0`), and unlocks by deleting that generation of it.
#[test]
fn gcs_locks_a_state_and_a_concurrent_apply_fails_naming_the_lock_holder() {
    let server = Cloud::gcs();
    let a = workspace("gcs", "");
    let (first, _) = run(
        &a,
        &server,
        &["apply", "--auto-approve", "--env", "dev", "stacks/network"],
        &[],
    );
    assert_eq!(first.code, 0, "{}\n{}", first.stderr, first.stdout);
    let key = "dev/stacks/network/default.tfstate";
    let lock = "dev/stacks/network/default.tflock";
    let serial_before = server.gcs_state(key)["serial"].as_u64().unwrap();

    let (impatient, raced) = a_racing_apply_gives_up(&server, "gcs", &a, || {
        assert!(
            server.gcs_objects().iter().any(|o| o == lock),
            "no lock object"
        );
    });

    // The state is whole: A's value, its serial moved once, the lock object gone.
    let state = server.gcs_state(key);
    assert_eq!(state["outputs"]["vpc_id"]["value"], "vpc-slow");
    assert_eq!(
        state["serial"].as_u64().unwrap(),
        serial_before + 1,
        "{state}"
    );
    assert_eq!(server.gcs_objects(), [key]);
    let outputs: Vec<&Run> = raced.iter().chain([&first]).collect();
    for repo in [&a, &impatient] {
        assert_nowhere(cloud::GCS_TOKEN, repo, &outputs);
    }
}

/// A's apply of `stacks/network` holds the state's lock for 8 s (`while_held` looks at it
/// then); an apply from another checkout that waits 1 s for the lock gives up, naming who
/// holds it as the backend recorded it (terraform's lock info), and runs nothing more; A's
/// apply then completes. Returns the other checkout and the two runs.
fn a_racing_apply_gives_up(
    server: &Cloud,
    backend: &str,
    a: &Repo,
    while_held: impl FnOnce(),
) -> (Repo, [Run; 2]) {
    let marker_dir = tempfile::tempdir().unwrap();
    let marker = marker_dir.path().join("applying");
    let marker_env = marker.display().to_string();
    let impatient = workspace(backend, "lock_timeout = \"1s\"");
    let slow = spawn(
        a,
        server,
        &["apply", "--auto-approve", "--env", "dev", "stacks/network"],
        &[("TF_VAR_v", "slow"), ("STRATA_TEST_MARKER", &marker_env)],
    );
    wait_for("A's apply to start", Duration::from_secs(90), || {
        marker.exists()
    });
    while_held();
    let (gave_up, j) = run(
        &impatient,
        server,
        &["apply", "--auto-approve", "--env", "dev", "stacks/network"],
        &[("TF_VAR_v", "other")],
    );
    assert_eq!(gave_up.code, 1, "{}\n{}", gave_up.stderr, gave_up.stdout);
    let plan = task(&j, "stacks/network", "plan");
    let reason = plan["reason"].as_str().unwrap();
    assert!(reason.contains("is locked by"), "{reason}");
    // Who holds it, as the backend records it (terraform's lock info).
    assert!(!reason.contains("locked by another run"), "{reason}");
    assert!(reason.contains('@'), "{reason}");
    assert!(reason.contains("waited 1s"), "{reason}");
    assert_eq!(task(&j, "stacks/network", "apply")["status"], "skipped");

    let run_a: Run = slow.wait_with_output().unwrap().into();
    assert_eq!(run_a.code, 0, "{}\n{}", run_a.stderr, run_a.stdout);
    (impatient, [gave_up, run_a])
}

/// A service account key (the JSON file Google issues) given through env.toml's
/// `credentials_env`: terraform signs a token request with its private key at Google's
/// token endpoint, and the storage accepts only the token it gets there. The key is in no
/// file strata wrote and no output; a key the server does not know gets no token, and the
/// run fails saying so.
#[test]
fn gcs_with_a_service_account_key_shares_state_and_the_key_stays_out_of_every_file() {
    let keys = tempfile::tempdir().unwrap();
    let openssl = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .current_dir(keys.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "openssl {args:?}: {out:?}");
    };
    for name in ["known", "unknown"] {
        openssl(&[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            &format!("{name}.key"),
        ]);
    }
    openssl(&["pkey", "-in", "known.key", "-pubout", "-out", "known.pub"]);
    let account = |name: &str| {
        let private = std::fs::read_to_string(keys.path().join(format!("{name}.key"))).unwrap();
        let json = serde_json::json!({
            "type": "service_account",
            "project_id": "strata-test",
            "private_key_id": "0123456789abcdef",
            "private_key": private,
            "client_email": "strata-ci@strata-test.iam.gserviceaccount.com",
            "client_id": "100000000000000000001",
            "token_uri": "https://oauth2.googleapis.com/token",
        });
        // A line from the middle of the key's body: what must appear nowhere.
        let secret = private.lines().nth(8).unwrap().to_string();
        (json.to_string(), secret)
    };
    let server = Cloud::gcs_with(Some(&keys.path().join("known.pub")));
    let repo = tools_repo();
    repo.write(
        "environments/dev/env.toml",
        &format!(
            "[state]\nbackend = \"gcs\"\n\n[state.config]\nbucket = \"{}\"\ncredentials_env = \"STRATA_TEST_GCS_SA\"\n",
            cloud::GCS_BUCKET
        ),
    );
    network_stack(&repo, "1");
    common::app_stack(&repo);
    repo.commit("gcs with a service account");

    let (key, secret) = account("known");
    let sa = [("STRATA_TEST_GCS_SA", key.as_str())];
    let (applied, j) = run(
        &repo,
        &server,
        &["apply", "--auto-approve", "--env", "dev", "stacks/network"],
        &sa,
    );
    assert_eq!(applied.code, 0, "{}\n{}", applied.stderr, applied.stdout);
    assert_eq!(task(&j, "stacks/network", "apply")["status"], "ok");
    let (planned, j) = run(&repo, &server, &["plan", "--env", "dev", "stacks/app"], &sa);
    assert_eq!(planned.code, 0, "{}\n{}", planned.stderr, planned.stdout);
    assert_eq!(task(&j, "stacks/app", "plan")["provisional"], false, "{j}");
    let state = server.gcs_state("dev/stacks/network/default.tfstate");
    assert_eq!(state["outputs"]["vpc_id"]["value"], "vpc-1");

    // A key Google does not know: no token, so terraform cannot reach the state, and the run
    // fails at init saying so.
    let (stranger, stranger_secret) = account("unknown");
    let (refused, j) = run(
        &repo,
        &server,
        &["plan", "--no-cache", "--env", "dev", "stacks/network"],
        &[("STRATA_TEST_GCS_SA", stranger.as_str())],
    );
    assert_eq!(refused.code, 1, "{}\n{}", refused.stderr, refused.stdout);
    let init = task(&j, "stacks/network", "init");
    assert_eq!(init["status"], "failed", "{j}");
    assert!(
        init["log"].as_str().unwrap().contains("cannot fetch token"),
        "{init}"
    );

    assert_nowhere(&secret, &repo, &[&applied, &planned, &refused]);
    assert_nowhere(&stranger_secret, &repo, &[&applied, &planned, &refused]);
}
