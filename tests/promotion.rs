//! Release trains end to end, with the real terraform, state in a real PostgreSQL server and
//! approvals signed and checked with the real ssh-keygen: `strata apply` records what it
//! verified in the environment's release lock, `strata promote plan` orders what differs
//! into waves with gates, `promote approve` signs the plan, `promote apply` applies it from
//! the recorded commits and rolls back when a later wave fails.
#![allow(clippy::disallowed_methods)] // tests drive git, ssh-keygen, the real strata binary and tools

mod common;
#[path = "support/postgres.rs"]
mod postgres;

use common::{
    files_containing, network_stack, sample_repo, tools_repo, wait_for, Repo, Run, NULL_PROVIDER,
};
use postgres::Postgres;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const PEOPLE: &[&str] = &["alice", "bob", "carol"];

/// SSH keys of alice, bob, carol (and dave, whom no allowed_signers lists), and a place for
/// plan files outside the checkout.
struct Keys {
    dir: tempfile::TempDir,
}

impl Keys {
    fn new() -> Keys {
        let dir = tempfile::tempdir().unwrap();
        for name in PEOPLE.iter().chain(&["dave"]) {
            let out = Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-C"])
                .arg(format!("{name}@example.com"))
                .arg("-f")
                .arg(dir.path().join(name))
                .output()
                .expect("ssh-keygen (OpenSSH) is installed");
            assert!(out.status.success(), "{out:?}");
        }
        Keys { dir }
    }

    fn key(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn public(&self, name: &str) -> String {
        let text = std::fs::read_to_string(self.dir.path().join(format!("{name}.pub"))).unwrap();
        text.split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// `environments/allowed_signers` listing `names`.
    fn allowed_signers(&self, names: &[&str]) -> String {
        names
            .iter()
            .map(|n| {
                format!(
                    "{n}@example.com namespaces=\"strata-promote\" {}\n",
                    self.public(n)
                )
            })
            .collect()
    }

    fn plan_file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

fn pg_env_toml(head: &str) -> String {
    format!(
        "{head}\n[state]\nbackend = \"pg\"\n[state.config]\nconn_str_env = \"STRATA_TEST_PG\"\n"
    )
}

/// `strata --json ARGS` as `user`, with the server's URL.
fn run_as(repo: &Repo, pg: &Postgres, user: &str, args: &[&str]) -> (Run, Value) {
    let mut cmd = command_as(repo, pg, user, args);
    let run: Run = cmd.output().unwrap().into();
    let json = serde_json::from_str(&run.stdout).unwrap_or(Value::Null);
    (run, json)
}

fn command_as(repo: &Repo, pg: &Postgres, user: &str, args: &[&str]) -> Command {
    repo.git(&["config", "user.email", &format!("{user}@example.com")]);
    let mut full = vec!["--json"];
    full.extend_from_slice(args);
    let mut cmd = repo.command(&full);
    cmd.env("STRATA_TEST_PG", pg.url());
    cmd
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn read_lock(repo: &Repo, env: &str) -> Option<toml::Table> {
    let text = std::fs::read_to_string(
        repo.path()
            .join(format!("environments/{env}/release.lock.toml")),
    )
    .ok()?;
    Some(text.parse().unwrap())
}

fn lock_entry(repo: &Repo, env: &str, label: &str) -> Option<toml::Table> {
    read_lock(repo, env)?["targets"]
        .get(label)
        .and_then(|v| v.as_table())
        .cloned()
}

/// Labels of each wave of a plan's JSON.
fn waves(plan: &Value) -> Vec<Vec<String>> {
    plan["waves"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            w.as_array()
                .unwrap()
                .iter()
                .map(|s| s["label"].as_str().unwrap().to_string())
                .collect()
        })
        .collect()
}

fn wave_of(plan: &Value, label: &str) -> usize {
    waves(plan)
        .iter()
        .position(|w| w.iter().any(|l| l == label))
        .unwrap_or_else(|| panic!("{label} is in no wave: {plan}"))
}

fn blocked(plan: &Value) -> Vec<(String, String)> {
    plan["blocked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["label"].as_str().unwrap().to_string(),
                b["gate"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The outputs of a stack's state in `env`, as pg holds it.
fn pg_outputs(pg: &Postgres, env: &str, label_prefix: &str) -> Value {
    let schema = pg.sql(&format!(
        "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'strata_{env}_{label_prefix}_%'"
    ));
    if schema.is_empty() {
        return Value::Null;
    }
    let data = pg.sql(&format!(
        "SELECT data FROM {schema}.states WHERE name = 'default'"
    ));
    // Empty while terraform has the row locked and not yet written.
    let state: Value = serde_json::from_str(&data).unwrap_or(Value::Null);
    state["outputs"].clone()
}

fn output(pg: &Postgres, env: &str, label_prefix: &str, name: &str) -> Option<String> {
    pg_outputs(pg, env, label_prefix)[name]["value"]
        .as_str()
        .map(str::to_string)
}

/// `stacks/network` (output `vpc_id` = `vpc-<v>`; `v = "slow"` makes its apply touch
/// `$STRATA_TEST_MARKER` and then take 8 s) and `stacks/app`, which reads `vpc_id` and whose
/// apply fails when its variable `fail` is "1". dev and staging keep state in pg; staging
/// promotes from dev with one approval.
fn small_train(keys: &Keys, staging_head: &str) -> Repo {
    let repo = tools_repo();
    repo.write(
        "environments/dev/env.toml",
        &pg_env_toml("[gates]\nmax_severity = \"critical\"\n"),
    );
    repo.write(
        "environments/staging/env.toml",
        &pg_env_toml(&format!(
            "promotes_from = \"dev\"\n{staging_head}\n[gates]\nrequire = [\"plan\", \"policy\"]\nmax_severity = \"medium\"\napprovals = 1\nsoak = \"0m\"\n"
        )),
    );
    repo.write(
        "environments/allowed_signers",
        &keys.allowed_signers(PEOPLE),
    );
    network_stack(&repo, "1");
    repo.write(
        "stacks/app/main.tf",
        &format!(
            r#"{NULL_PROVIDER}
variable "vpc_id" {{}}

variable "fail" {{
  default = "0"
}}

resource "null_resource" "app" {{
  triggers = {{
    vpc = var.vpc_id
  }}
  provisioner "local-exec" {{
    command = "test '${{var.fail}}' != 1"
  }}
}}

output "seen" {{
  value = var.vpc_id
}}
"#
        ),
    );
    repo.write(
        "stacks/app/stack.toml",
        "[inputs]\nvpc_id = \"stacks/network:vpc_id\"\n",
    );
    repo.commit("small train");
    repo
}

/// Applies dev as alice and commits its lock.
fn apply_dev(repo: &Repo, pg: &Postgres) {
    let (run, json) = run_as(
        repo,
        pg,
        "alice",
        &["apply", "--env", "dev", "--auto-approve"],
    );
    run.assert_ok();
    assert!(
        json["release"][0]["not_recorded"]
            .as_array()
            .unwrap()
            .is_empty(),
        "{json}"
    );
    repo.commit("dev's release lock");
}

/// alice plans dev -> staging into `file`.
fn plan_staging(repo: &Repo, pg: &Postgres, file: &Path) -> Value {
    plan_staging_with(repo, pg, file, &[])
}

/// alice plans dev -> staging into `file`, with `extra` flags.
fn plan_staging_with(repo: &Repo, pg: &Postgres, file: &Path, extra: &[&str]) -> Value {
    let mut args = vec![
        "promote",
        "plan",
        "--from",
        "dev",
        "--to",
        "staging",
        "--out",
        path(file),
    ];
    args.extend_from_slice(extra);
    let (run, plan) = run_as(repo, pg, "alice", &args);
    run.assert_ok();
    // The file starts as every JSON document strata writes.
    let written = std::fs::read_to_string(file).unwrap();
    assert!(
        written.starts_with("{\n  \"schema_version\": 1,\n"),
        "{written}"
    );
    plan
}

fn approve(repo: &Repo, pg: &Postgres, keys: &Keys, who: &str, file: &Path) -> Run {
    let (run, _) = run_as(
        repo,
        pg,
        who,
        &[
            "promote",
            "approve",
            path(file),
            "--key",
            path(&keys.key(who)),
        ],
    );
    run
}

/// alice plans dev -> staging into the plan file `name`, and alice (its author) and bob sign
/// it: the plan file and the plan.
fn approved_plan(repo: &Repo, pg: &Postgres, keys: &Keys, name: &str) -> (PathBuf, Value) {
    let file = keys.plan_file(name);
    let plan = plan_staging(repo, pg, &file);
    approve(repo, pg, keys, "alice", &file).assert_ok();
    approve(repo, pg, keys, "bob", &file).assert_ok();
    (file, plan)
}

fn promote(repo: &Repo, pg: &Postgres, who: &str, file: &Path) -> (Run, Value) {
    run_as(repo, pg, who, &["promote", "apply", path(file)])
}

#[test]
fn the_sample_workspace_promotes_through_three_environments() {
    let pg = Postgres::start();
    let keys = Keys::new();
    let repo = sample_repo();
    for (env, head) in [
        ("dev", "[gates]\nrequire = [\"plan\", \"policy\", \"test\"]\nmax_severity = \"high\"\n"),
        ("staging", "promotes_from = \"dev\"\n[gates]\nrequire = [\"plan\", \"policy\", \"test\"]\nmax_severity = \"medium\"\napprovals = 1\nsoak = \"0m\"\n"),
        ("prod", "promotes_from = \"staging\"\n[gates]\nrequire = [\"plan\", \"policy\", \"test\"]\nmax_severity = \"medium\"\napprovals = 2\nsoak = \"0m\"\n"),
    ] {
        repo.write(&format!("environments/{env}/env.toml"), &pg_env_toml(head));
    }
    repo.write(
        "environments/allowed_signers",
        &keys.allowed_signers(PEOPLE),
    );
    repo.commit("state in pg, approvers");

    // dev: applied and verified; every stack and chart deployed there is in the lock.
    apply_dev(&repo, &pg);
    let dev = read_lock(&repo, "dev").unwrap();
    let dev_targets: Vec<&String> = dev["targets"].as_table().unwrap().keys().collect();
    assert_eq!(
        dev_targets,
        [
            "charts/api",
            "charts/web",
            "charts/worker",
            "stacks/cluster",
            "stacks/database",
            "stacks/network",
            "stacks/observability"
        ]
    );
    let hashes = repo.hashes();
    for (label, entry) in dev["targets"].as_table().unwrap() {
        assert_eq!(entry["hash"].as_str().unwrap(), hashes[label], "{label}");
        assert_eq!(entry["applied_by"].as_str(), Some("alice@example.com"));
    }
    // The lock is not an input: committing it affects nothing.
    assert!(repo.affected_labels(&["--base", "HEAD~1"]).is_empty());

    // dev -> staging: waves in dependency order.
    let file = keys.plan_file("staging.json");
    let plan = plan_staging(&repo, &pg, &file);
    assert_eq!(plan["from"], "dev");
    assert!(blocked(&plan).is_empty(), "{plan}");
    let w = |l: &str| wave_of(&plan, l);
    assert!(w("stacks/network") < w("stacks/cluster"));
    assert!(w("stacks/network") < w("stacks/database"));
    assert!(w("stacks/cluster") < w("stacks/observability"));
    assert!(w("stacks/database") < w("stacks/observability"));
    assert!(w("stacks/database") < w("charts/api"));
    // dns deploys in staging and prod only: never promoted from dev.
    assert_eq!(plan["outside"], serde_json::json!(["stacks/dns"]));
    // Same inputs, byte-identical plan.
    let again = keys.plan_file("again.json");
    plan_staging(&repo, &pg, &again);
    assert_eq!(
        std::fs::read(&file).unwrap(),
        std::fs::read(&again).unwrap()
    );

    // Without an approval nothing runs.
    let (run, out) = promote(&repo, &pg, "alice", &file);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(out["status"], "refused");
    assert!(read_lock(&repo, "staging").is_none());
    // bob's approval, and no signature of the plan's author: who made it is not proved.
    approve(&repo, &pg, &keys, "bob", &file).assert_ok();
    let (run, out) = promote(&repo, &pg, "alice", &file);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        out["message"]
            .as_str()
            .unwrap()
            .contains("not signed by its author alice@example.com"),
        "{out}"
    );
    assert!(read_lock(&repo, "staging").is_none());
    approve(&repo, &pg, &keys, "alice", &file).assert_ok();
    let (run, out) = promote(&repo, &pg, "alice", &file);
    assert_eq!(run.code, 0, "{}\n{}", run.stderr, out);
    assert_eq!(out["status"], "applied");
    let staging = read_lock(&repo, "staging").unwrap();
    for (label, entry) in dev["targets"].as_table().unwrap() {
        let s = &staging["targets"][label.as_str()];
        assert_eq!(s["hash"], entry["hash"], "{label}");
        assert_eq!(s["commit"], entry["commit"], "{label}");
        assert_eq!(s["promoted_from"].as_str(), Some("dev"));
    }
    assert!(output(&pg, "staging", "stacks_network", "vpc_id").is_some());
    // Lock and state agree: a plan of what staging's lock names changes nothing.
    let (run, json) = run_as(
        &repo,
        &pg,
        "alice",
        &[
            "plan",
            "--env",
            "staging",
            "stacks/network",
            "stacks/cluster",
            "stacks/database",
            "stacks/observability",
        ],
    );
    run.assert_ok();
    for t in json["tasks"].as_array().unwrap() {
        if t["action"] == "plan" {
            assert_eq!(t["summary"]["add"], 0, "{t}");
            assert_eq!(t["summary"]["change"], 0, "{t}");
        }
    }
    repo.commit("promote dev -> staging");

    // staging -> prod: two approvals.
    let file = keys.plan_file("prod.json");
    let (run, plan) = run_as(
        &repo,
        &pg,
        "carol",
        &[
            "promote",
            "plan",
            "--from",
            "staging",
            "--to",
            "prod",
            "--out",
            path(&file),
        ],
    );
    run.assert_ok();
    assert_eq!(waves(&plan).concat().len(), 7, "{plan}");
    approve(&repo, &pg, &keys, "carol", &file).assert_ok();
    approve(&repo, &pg, &keys, "alice", &file).assert_ok();
    let (run, out) = promote(&repo, &pg, "carol", &file);
    assert_eq!(run.code, 1, "one approval of two: {out}");
    assert!(
        out["message"]
            .as_str()
            .unwrap()
            .contains("needs 2 approval"),
        "{out}"
    );
    approve(&repo, &pg, &keys, "bob", &file).assert_ok();
    let (run, out) = promote(&repo, &pg, "carol", &file);
    assert_eq!(run.code, 0, "{}\n{out}", run.stderr);
    let prod = read_lock(&repo, "prod").unwrap();
    for (label, entry) in staging["targets"].as_table().unwrap() {
        assert_eq!(prod["targets"][label.as_str()]["hash"], entry["hash"]);
        assert_eq!(
            prod["targets"][label.as_str()]["promoted_from"].as_str(),
            Some("staging")
        );
    }
    assert!(output(&pg, "prod", "stacks_network", "vpc_id").is_some());
    // prod's audit ledger: the refused attempt, then the promotion with both approvers.
    let events = ledger(&repo, "prod");
    let seen: Vec<(&str, &str, &str)> = events
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["outcome"].as_str().unwrap(),
                e["actor"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("promote", "refused", "carol@example.com"),
            ("promote", "succeeded", "carol@example.com")
        ]
    );
    assert_eq!(
        events[1]["details"]["approved_by"],
        "alice@example.com, bob@example.com"
    );
    // Each entry the promotion wrote into prod's lock is attested with its hash.
    let lock =
        std::fs::read_to_string(repo.path().join("environments/prod/release.lock.toml")).unwrap();
    let promoted: Vec<&Value> = events[1]["targets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["result"] == "promoted")
        .collect();
    assert!(!promoted.is_empty(), "{}", events[1]);
    let edited = promoted[0]["hash"].as_str().unwrap().to_string();
    for t in promoted {
        assert!(lock.contains(t["hash"].as_str().unwrap()), "{t}\n{lock}");
    }
    let (run, verified) = run_as(&repo, &pg, "carol", &["audit", "verify"]);
    assert_eq!(run.code, 0, "{verified}");
    // A lock entry set to another hash by hand: not what the promotion wrote.
    let lock_path = repo.path().join("environments/prod/release.lock.toml");
    std::fs::write(&lock_path, lock.replace(&edited, &"cd".repeat(32))).unwrap();
    let (run, verified) = run_as(&repo, &pg, "carol", &["audit", "verify"]);
    assert_eq!(run.code, 1, "{verified}");
    std::fs::write(&lock_path, &lock).unwrap();
    // Nothing strata wrote holds the server's password.
    for dir in [repo.path().to_path_buf(), keys.dir.path().to_path_buf()] {
        let found = files_containing(&dir, postgres::PASSWORD.as_bytes(), &[".git"]);
        assert!(found.is_empty(), "the password is in {found:?}");
    }
}

#[test]
fn a_failing_later_wave_rolls_back_the_earlier_ones_and_leaves_the_lock() {
    let pg = Postgres::start();
    let keys = Keys::new();
    let repo = small_train(&keys, "");
    apply_dev(&repo, &pg);
    let (file, _) = approved_plan(&repo, &pg, &keys, "first.json");
    let (run, out) = promote(&repo, &pg, "alice", &file);
    assert_eq!(run.code, 0, "{}\n{out}", run.stderr);
    repo.commit("staging at v1");
    let lock_before =
        std::fs::read(repo.path().join("environments/staging/release.lock.toml")).unwrap();
    assert_eq!(
        output(&pg, "staging", "stacks_network", "vpc_id").as_deref(),
        Some("vpc-1")
    );

    // v2 of network, a new stack, and app's apply fails in staging only (a variable set
    // there).
    network_stack(&repo, "2");
    repo.write(
        "stacks/extra/main.tf",
        &format!("{NULL_PROVIDER}\nresource \"null_resource\" \"extra\" {{}}\n\noutput \"id\" {{\n  value = \"extra\"\n}}\n"),
    );
    repo.write(
        "environments/staging/stacks/app/fail.tfvars",
        "fail = \"1\"\n",
    );
    repo.commit("network v2; app fails in staging");
    apply_dev(&repo, &pg);
    assert_eq!(
        output(&pg, "dev", "stacks_app", "seen").as_deref(),
        Some("vpc-2")
    );
    let file = keys.plan_file("second.json");
    let plan = plan_staging_with(&repo, &pg, &file, &["--allow-destroy"]);
    assert_eq!(
        waves(&plan),
        [vec!["stacks/extra", "stacks/network"], vec!["stacks/app"]]
    );
    // New in staging: rolled back by destroying it, as the plan says.
    assert_eq!(plan["waves"][0][0]["rollback"], "destroy");
    assert_eq!(plan["waves"][0][1]["rollback"], "previous");
    approve(&repo, &pg, &keys, "alice", &file).assert_ok();
    approve(&repo, &pg, &keys, "bob", &file).assert_ok();
    let (run, out) = promote(&repo, &pg, "alice", &file);
    assert_eq!(run.code, 1, "{}\n{out}", run.stderr);
    assert_eq!(out["status"], "rolled_back", "{out}");
    // Network went to v2 in wave 1, then back to v1; the lock is as it was.
    let steps: Vec<(&str, bool)> = out["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["label"].as_str().unwrap(), s["ok"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        steps,
        [
            ("stacks/extra", true),
            ("stacks/network", true),
            ("stacks/app", false)
        ]
    );
    let rolled: Vec<&str> = out["rollback"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["label"].as_str().unwrap())
        .collect();
    // What it created goes first; then each goes back after what it reads, so it reads the
    // previous outputs.
    assert_eq!(rolled, ["stacks/extra", "stacks/network", "stacks/app"]);
    assert_eq!(out["rollback"][0]["action"], "destroy");
    assert_eq!(
        output(&pg, "staging", "stacks_extra", "id"),
        None,
        "destroyed"
    );
    assert!(
        out["rollback"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["ok"] == true),
        "{out}"
    );
    assert_eq!(
        output(&pg, "staging", "stacks_network", "vpc_id").as_deref(),
        Some("vpc-1")
    );
    assert_eq!(
        output(&pg, "staging", "stacks_app", "seen").as_deref(),
        Some("vpc-1")
    );
    assert_eq!(
        std::fs::read(repo.path().join("environments/staging/release.lock.toml")).unwrap(),
        lock_before
    );
    // The record says what happened.
    let record = repo.path().join(format!(
        ".strata/promotions/{}.json",
        plan["digest"].as_str().unwrap()
    ));
    let record: Value = serde_json::from_str(&std::fs::read_to_string(record).unwrap()).unwrap();
    assert_eq!(record["status"], "rolled_back");
    // So does staging's audit ledger, and the lock's entries are the first promotion's.
    let events = ledger(&repo, "staging");
    let seen: Vec<(&str, &str)> = events
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(seen, [("promote", "succeeded"), ("promote", "rolled-back")]);
    assert_eq!(events[1]["details"]["plan"], plan["digest"]);
    assert_eq!(events[1]["details"]["approved_by"], "bob@example.com");
    assert!(
        events[1]["targets"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["label"] == "stacks/app" && t["result"] == "failed"),
        "{}",
        events[1]
    );
    let (run, verified) = run_as(
        &repo,
        &pg,
        "alice",
        &["audit", "verify", "--env", "staging"],
    );
    assert_eq!(run.code, 0, "{verified}");

    // Once staging's lock changed (another promotion or apply), rolling this plan back
    // again would undo that: refused, nothing run.
    let lock_path = repo.path().join("environments/staging/release.lock.toml");
    let lock = std::fs::read_to_string(&lock_path).unwrap();
    std::fs::write(
        &lock_path,
        lock.replacen("applied_by = \"", "applied_by = \"someone else, ", 1),
    )
    .unwrap();
    let (run, out) = run_as(&repo, &pg, "alice", &["promote", "rollback", path(&file)]);
    assert_eq!(run.code, 1, "{}\n{out}", run.stderr);
    assert_eq!(out["status"], "refused", "{out}");
    assert!(
        out["message"].as_str().unwrap().contains("changed since"),
        "{out}"
    );
    std::fs::write(&lock_path, &lock).unwrap();
}

/// The events of `env`'s audit ledger.
fn ledger(repo: &Repo, env: &str) -> Vec<Value> {
    std::fs::read_to_string(repo.path().join(format!("environments/{env}/audit.jsonl")))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn stale_edited_self_approved_foreign_unknown_revoked_and_unauthorized_are_refused() {
    let pg = Postgres::start();
    let keys = Keys::new();
    // Release managers approve what others plan: the author, alice, is no approver, and
    // the one approval staging needs can still be given (by bob).
    let repo = small_train(
        &keys,
        "[access]\npromote = [\"alice@example.com\", \"carol@example.com\"]\napprovers = [\"bob@example.com\"]\n",
    );
    apply_dev(&repo, &pg);
    let file = keys.plan_file("plan.json");
    let plan = plan_staging(&repo, &pg, &file);
    let digest = plan["digest"].as_str().unwrap().to_string();
    let sigs = keys.plan_file("plan.json.approvals");
    let refused = |who: &str, why: &str| {
        // The signers and revocations as edited below are a commit's (a promotion judged
        // by uncommitted ones is refused for that alone).
        repo.commit(why);
        let (run, out) = promote(&repo, &pg, who, &file);
        assert_eq!(run.code, 1, "{why}: {}\n{out}", run.stderr);
        assert_eq!(out["status"], "refused", "{why}: {out}");
        assert!(
            read_lock(&repo, "staging").is_none(),
            "{why}: nothing promoted"
        );
        assert_eq!(output(&pg, "staging", "stacks_network", "vpc_id"), None);
        out["message"].as_str().unwrap().to_string()
    };
    let sign = |who: &str, message: &str, name: &str| {
        std::fs::create_dir_all(&sigs).unwrap();
        let msg = keys.plan_file("msg");
        std::fs::write(&msg, message).unwrap();
        let out = Command::new("ssh-keygen")
            .args(["-Y", "sign", "-n", "strata-promote", "-f"])
            .arg(keys.key(who))
            .arg(&msg)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        std::fs::rename(keys.plan_file("msg.sig"), sigs.join(name)).unwrap();
    };
    let message = |d: &str| format!("strata promotion plan {d} from dev to staging\n");

    // The author's own signature proves who made the plan and is no approval, also when
    // allowed_signers lists the key under a second name (a CI user name).
    approve(&repo, &pg, &keys, "alice", &file).assert_ok();
    assert!(refused("alice", "self-approval").contains("self-approval"));
    let signers =
        std::fs::read_to_string(repo.path().join("environments/allowed_signers")).unwrap();
    repo.write(
        "environments/allowed_signers",
        &format!(
            "{signers}alice namespaces=\"strata-promote\" {}\n",
            keys.public("alice")
        ),
    );
    assert!(refused("alice", "self-approval under an alias").contains("self-approval"));
    // The same when the other name comes first: ssh-keygen's find-principals names only the
    // first line that lists a key.
    repo.write(
        "environments/allowed_signers",
        &format!(
            "ci-alice namespaces=\"strata-promote\" {}\n{signers}",
            keys.public("alice")
        ),
    );
    assert!(
        refused("alice", "self-approval under an alias listed first").contains("self-approval")
    );
    // carol's key is also listed as bob's for audit signatures only: her signature is
    // carol's, who is no approver, and it is said so (not that it does not verify).
    repo.write(
        "environments/allowed_signers",
        &format!(
            "{signers}bob@example.com namespaces=\"strata-audit\" {}\n",
            keys.public("carol")
        ),
    );
    let before: Vec<_> = std::fs::read_dir(&sigs)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    let run = approve(&repo, &pg, &keys, "carol", &file);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        run.json()["reason"],
        "carol@example.com is not an approver of staging"
    );
    for made in std::fs::read_dir(&sigs).unwrap().flatten() {
        if !before.contains(&made.path()) {
            std::fs::remove_file(made.path()).unwrap();
        }
    }
    repo.write("environments/allowed_signers", &signers);
    repo.commit("signers restored");
    // Naming someone else as the plan's author (git's identity is only a claim) and
    // approving it with one's own key: the named author never signed it.
    let spoofed = keys.plan_file("spoofed.json");
    let (run, _) = run_as(
        &repo,
        &pg,
        "carol",
        &[
            "promote",
            "plan",
            "--from",
            "dev",
            "--to",
            "staging",
            "--out",
            path(&spoofed),
        ],
    );
    run.assert_ok();
    // alice is no approver of staging: her signature is written and counts for nothing,
    // and `approve` says so rather than that she approved.
    let run = approve(&repo, &pg, &keys, "alice", &spoofed);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let said = run.json();
    assert_eq!(
        (&said["author"], &said["counts"]),
        (&false.into(), &false.into())
    );
    assert_eq!(
        said["reason"],
        "alice@example.com is not an approver of staging"
    );
    let (run, out) = promote(&repo, &pg, "alice", &spoofed);
    assert_eq!(run.code, 1, "{}\n{out}", run.stderr);
    assert!(
        out["message"]
            .as_str()
            .unwrap()
            .contains("not signed by its author carol@example.com"),
        "{out}"
    );
    assert!(read_lock(&repo, "staging").is_none());
    // A signature over another plan's digest.
    sign("bob", &message(&"0".repeat(64)), "bob.sig");
    assert!(refused("alice", "foreign digest").contains("does not verify"));
    // A key allowed_signers does not list, signed by hand and through `approve`, which
    // says it counts for nothing.
    sign("dave", &message(&digest), "dave.sig");
    assert!(refused("alice", "unknown key").contains("does not list"));
    let run = approve(&repo, &pg, &keys, "dave", &file);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.json()["reason"].to_string().contains("does not list"),
        "{}",
        run.stdout
    );
    // A revoked key.
    std::fs::remove_dir_all(&sigs).unwrap();
    approve(&repo, &pg, &keys, "alice", &file).assert_ok();
    sign("bob", &message(&digest), "bob.sig");
    repo.write(
        "environments/revoked_keys",
        &format!("{}\n", keys.public("bob")),
    );
    assert!(refused("alice", "revoked").contains("does not verify"));
    // A line of revoked_keys that is no public key makes ssh-keygen reject every signature:
    // an error naming the line, not "revoked", and nothing promoted.
    repo.write(
        "environments/revoked_keys",
        &format!("{}\nssh-ed25519 AAAAbad\n", keys.public("dave")),
    );
    repo.commit("a bad revocation");
    let (run, _) = promote(&repo, &pg, "alice", &file);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("revoked_keys:2: not a public key"),
        "{}",
        run.stderr
    );
    assert!(read_lock(&repo, "staging").is_none());
    repo.remove("environments/revoked_keys");
    // A retired key (its line's `valid-before` passed): listed, and not in force (bob has
    // another key in force, so the gate can still be met).
    let signers =
        std::fs::read_to_string(repo.path().join("environments/allowed_signers")).unwrap();
    repo.write(
        "environments/allowed_signers",
        &format!(
            "{}bob@example.com namespaces=\"strata-promote\" {}\n",
            signers.replace(
                "bob@example.com namespaces=\"strata-promote\"",
                "bob@example.com namespaces=\"strata-promote\",valid-before=\"20200101\"",
            ),
            keys.public("dave")
        ),
    );
    assert!(refused("alice", "retired").contains(
        "made by the key of bob@example.com that environments/allowed_signers lists with valid-before=\"20200101\": it is not in force now"
    ));
    repo.write("environments/allowed_signers", &signers);
    repo.commit("signers restored");

    // bob's valid approval; bob may not promote into staging, alice may.
    assert!(refused("bob", "unauthorized").contains("may not promote"));
    // An edited plan is bad input.
    let text = std::fs::read_to_string(&file).unwrap();
    let edited = keys.plan_file("edited.json");
    std::fs::write(
        &edited,
        text.replacen("\"stacks/app\"", "\"stacks/other\"", 1),
    )
    .unwrap();
    let (run, _) = promote(&repo, &pg, "alice", &edited);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("does not match its digest"),
        "{}",
        run.stderr
    );
    // An edited plan whose digest was computed again (anyone can): its step is not dev's
    // verified lock entry. Not signed, not applied.
    let mut forged = strata_release::plan::PromotionPlan::from_json(&text).unwrap();
    forged.waves[0][0].commit = "0".repeat(40);
    forged.digest = forged.compute_digest();
    let forged_file = keys.plan_file("forged.json");
    std::fs::write(&forged_file, forged.to_json()).unwrap();
    let run = approve(&repo, &pg, &keys, "bob", &forged_file);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("not signed"), "{}", run.stderr);
    let (run, out) = promote(&repo, &pg, "alice", &forged_file);
    assert_eq!(run.code, 1, "{}\n{out}", run.stderr);
    assert!(
        out["message"]
            .as_str()
            .unwrap()
            .contains("is not a plan strata made"),
        "{out}"
    );

    // dev moves on: the plan is stale.
    network_stack(&repo, "2");
    repo.commit("network v2");
    apply_dev(&repo, &pg);
    assert!(refused("alice", "stale").contains("stale"));

    // A fresh plan with bob's approval goes through; the same signature copied under
    // another name is one approval, not two.
    let file = keys.plan_file("fresh.json");
    plan_staging(&repo, &pg, &file);
    approve(&repo, &pg, &keys, "bob", &file).assert_ok();
    let fresh_sigs = keys.plan_file("fresh.json.approvals");
    let bobs = std::fs::read_dir(&fresh_sigs)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::copy(&bobs, fresh_sigs.join("zz-copy.sig")).unwrap();
    approve(&repo, &pg, &keys, "alice", &file).assert_ok();
    let (run, out) = promote(&repo, &pg, "alice", &file);
    assert_eq!(run.code, 0, "{}\n{out}", run.stderr);
    // alice's (the author's), bob's, and bob's copied.
    let approvals = out["approvals"].as_array().unwrap();
    assert_eq!(approvals.len(), 3, "{out}");
    assert_eq!(
        approvals.iter().filter(|a| a["counts"] == true).count(),
        1,
        "{out}"
    );
    assert!(
        approvals.iter().any(|a| a["reason"]
            .to_string()
            .contains("who approved already: one person, one approval")),
        "{out}"
    );

    // `[access] apply`: carol may not apply in dev.
    repo.append(
        "environments/dev/env.toml",
        "[access]\napply = [\"alice@example.com\"]\n",
    );
    repo.commit("dev's appliers");
    let (run, _) = run_as(
        &repo,
        &pg,
        "carol",
        &["apply", "--env", "dev", "--auto-approve"],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("carol@example.com may not apply in dev"),
        "{}",
        run.stderr
    );
}

#[test]
fn gates_hold_back_a_target_and_its_dependents_and_the_rest_promotes() {
    let pg = Postgres::start();
    let keys = Keys::new();
    let repo = small_train(&keys, "");
    // A high-severity finding on stacks/risky: allowed in dev (critical), not in staging.
    repo.write(
        "policies/risk/policy.toml",
        "kinds = [\"stack\"]\nlabels = [\"stacks/**\"]\nenvironments = []\n",
    );
    repo.write(
        "policies/risk/risk.rego",
        "package main\n\nimport rego.v1\n\ndeny contains {\"msg\": \"a risky resource\", \"severity\": \"high\"} if {\n\tinput.resource.null_resource.risky\n}\n",
    );
    repo.write(
        "stacks/risky/main.tf",
        &format!("{NULL_PROVIDER}\nresource \"null_resource\" \"risky\" {{}}\n\noutput \"id\" {{\n  value = \"risky\"\n}}\n"),
    );
    repo.write(
        "stacks/reader/main.tf",
        &format!("{NULL_PROVIDER}\nvariable \"risky\" {{}}\n\nresource \"null_resource\" \"reader\" {{\n  triggers = {{\n    r = var.risky\n  }}\n}}\n"),
    );
    repo.write(
        "stacks/reader/stack.toml",
        "[inputs]\nrisky = \"stacks/risky:id\"\n",
    );
    repo.commit("a risky stack and its reader");
    apply_dev(&repo, &pg);
    assert_eq!(
        lock_entry(&repo, "dev", "stacks/risky").unwrap()["max_severity"].as_str(),
        Some("high")
    );
    let file = keys.plan_file("plan.json");
    let plan = plan_staging(&repo, &pg, &file);
    assert_eq!(
        blocked(&plan),
        [
            ("stacks/reader".to_string(), "dependency".to_string()),
            ("stacks/risky".to_string(), "max_severity".to_string())
        ]
    );
    assert_eq!(waves(&plan), [vec!["stacks/network"], vec!["stacks/app"]]);

    // The plan edited to promote the reader its dependency holds back (its digest computed
    // again, as anyone can): not signed, not applied.
    let text = std::fs::read_to_string(&file).unwrap();
    let mut forged = strata_release::plan::PromotionPlan::from_json(&text).unwrap();
    let step = forged_step(&repo, &forged.waves[1][0], "stacks/reader");
    forged.waves[1].push(step);
    forged.blocked.retain(|b| b.label != "stacks/reader");
    let out = refused_forgery(
        &repo,
        &pg,
        &keys,
        forged,
        "stacks/reader is promoted, and it depends on stacks/risky",
    );
    assert!(read_lock(&repo, "staging").is_none(), "{out}");
    repo.commit("the refused promotion's audit event");
    // Edited to read better than it is, with its steps left alone (so apply would promote no
    // more): what is held back hidden, or reasons and counts changed. Not signed: an
    // approver would approve what they did not see.
    let honest = strata_release::plan::PromotionPlan::from_json(&text).unwrap();
    type Edit = fn(&mut strata_release::plan::PromotionPlan);
    let edits: [(&str, Edit); 3] = [
        ("hidden", |p| p.blocked.clear()),
        ("reason", |p| {
            p.blocked[1].gate = "soak".into();
            p.blocked[1].reason = "soaks until tomorrow".into();
        }),
        ("unchanged", |p| p.unchanged += 3),
    ];
    for (name, edit) in edits {
        let mut edited = honest.clone();
        edit(&mut edited);
        edited.digest = edited.compute_digest();
        let edited_file = keys.plan_file(&format!("{name}.json"));
        std::fs::write(&edited_file, edited.to_json()).unwrap();
        let run = approve(&repo, &pg, &keys, "alice", &edited_file);
        assert_eq!(run.code, 2, "{name}: {}", run.stderr);
        assert!(run.stderr.contains("not signed"), "{name}: {}", run.stderr);
    }
    // Approved while its gates hold.
    approve(&repo, &pg, &keys, "alice", &file).assert_ok();
    approve(&repo, &pg, &keys, "bob", &file).assert_ok();

    // A soak that has not passed blocks everything; the plan says until when.
    repo.write(
        "environments/staging/env.toml",
        &std::fs::read_to_string(repo.path().join("environments/staging/env.toml"))
            .unwrap()
            .replace("soak = \"0m\"", "soak = \"1h\""),
    );
    repo.commit("staging soaks for an hour");
    let (run, soaking) = run_as(
        &repo,
        &pg,
        "alice",
        &["promote", "plan", "--from", "dev", "--to", "staging"],
    );
    run.assert_ok();
    assert!(waves(&soaking).is_empty(), "{soaking}");
    assert!(blocked(&soaking)
        .iter()
        .any(|(l, g)| l == "stacks/network" && g == "soak"));
    // The plan made before the soak was raised no longer holds its gates: it is not signed
    // again (what it shows is not what strata makes now), and its earlier approvals do not
    // carry it.
    let run = approve(&repo, &pg, &keys, "bob", &file);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("stacks/network's gates") && run.stderr.contains("soak 1h"),
        "{}",
        run.stderr
    );
    let (run, out) = promote(&repo, &pg, "alice", &file);
    assert_eq!(run.code, 1, "{out}");
    assert!(out["message"].as_str().unwrap().contains("soak"), "{out}");
    repo.git(&["revert", "--no-edit", "HEAD"]);

    // Approved, the rest promotes; the blocked ones stay out of staging.
    let (run, out) = promote(&repo, &pg, "alice", &file);
    assert_eq!(run.code, 0, "{}\n{out}", run.stderr);
    let staging = read_lock(&repo, "staging").unwrap();
    let labels: Vec<&String> = staging["targets"].as_table().unwrap().keys().collect();
    assert_eq!(labels, ["stacks/app", "stacks/network"]);
    assert_eq!(output(&pg, "staging", "stacks_risky", "id"), None);
}

/// `forged` with its digest computed again (as anyone can) is neither signed (exit 2, saying
/// `why`) nor applied (exit 1): the promotion's JSON outcome.
fn refused_forgery(
    repo: &Repo,
    pg: &Postgres,
    keys: &Keys,
    mut forged: strata_release::plan::PromotionPlan,
    why: &str,
) -> Value {
    forged.digest = forged.compute_digest();
    let forged_file = keys.plan_file("forged.json");
    std::fs::write(&forged_file, forged.to_json()).unwrap();
    let run = approve(repo, pg, keys, "alice", &forged_file);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains(why), "{}", run.stderr);
    let (run, out) = promote(repo, pg, "alice", &forged_file);
    assert_eq!(run.code, 1, "{}\n{out}", run.stderr);
    out
}

/// A step forged from `like` to apply `label` as dev's lock records it, new in staging and
/// with no gates: what someone editing a plan file by hand would add.
fn forged_step(
    repo: &Repo,
    like: &strata_release::plan::Step,
    label: &str,
) -> strata_release::plan::Step {
    let dev = read_lock(repo, "dev").unwrap();
    let entry = dev["targets"][label].as_table().unwrap();
    let mut step = like.clone();
    step.label = label.into();
    step.hash = entry["hash"].as_str().unwrap().into();
    step.commit = entry["commit"].as_str().unwrap().into();
    step.previous = None;
    step.rollback = strata_release::plan::Rollback::Keep;
    step.gates.clear();
    step
}

fn spawn_promote(repo: &Repo, pg: &Postgres, file: &Path, marker: &Path) -> Child {
    command_as(repo, pg, "alice", &["promote", "apply", path(file)])
        .env("STRATA_TEST_MARKER", marker)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn two_promotions_into_one_environment_one_runs_the_other_is_refused_and_ctrl_c_can_resume() {
    let pg = Postgres::start();
    let keys = Keys::new();
    let repo = small_train(&keys, "");
    network_stack(&repo, "slow");
    repo.commit("a slow network");
    let marker = keys.plan_file("marker");
    let (run, _) = run_as(
        &repo,
        &pg,
        "alice",
        &["apply", "--env", "dev", "--auto-approve"],
    );
    assert!(run.code == 0, "{}", run.stderr);
    repo.commit("dev's lock");
    let (file, _) = approved_plan(&repo, &pg, &keys, "plan.json");

    let first = spawn_promote(&repo, &pg, &file, &marker);
    wait_for(
        "the first promotion's slow apply",
        Duration::from_secs(120),
        || marker.exists(),
    );
    let (run, out) = promote(&repo, &pg, "alice", &file);
    assert_eq!(run.code, 1, "{out}");
    assert!(
        out["message"]
            .as_str()
            .unwrap()
            .contains("another promotion into staging is running"),
        "{out}"
    );
    let done: Run = first.wait_with_output().unwrap().into();
    assert_eq!(done.code, 0, "{}", done.stderr);
    let lock = read_lock(&repo, "staging").unwrap();
    assert_eq!(lock["targets"].as_table().unwrap().len(), 2);
    assert_eq!(
        output(&pg, "staging", "stacks_network", "vpc_id").as_deref(),
        Some("vpc-slow")
    );
    // Once done, the same plan is stale.
    let (run, out) = promote(&repo, &pg, "alice", &file);
    assert_eq!(run.code, 1);
    assert!(out["message"].as_str().unwrap().contains("stale"), "{out}");

    // Ctrl-C during a promotion: stopped, recorded, lock unchanged; running it again
    // resumes and completes.
    repo.commit("staging's lock");
    network_stack(&repo, "slow2");
    repo.write(
        "stacks/network/main.tf",
        &std::fs::read_to_string(repo.path().join("stacks/network/main.tf"))
            .unwrap()
            .replace("= slow ]", "= slow2 ]"),
    );
    repo.commit("network slow2");
    std::fs::remove_file(&marker).unwrap();
    let (run, _) = run_as(
        &repo,
        &pg,
        "alice",
        &["apply", "--env", "dev", "--auto-approve"],
    );
    assert!(run.code == 0, "{}", run.stderr);
    repo.commit("dev's lock");
    let (file, _) = approved_plan(&repo, &pg, &keys, "second.json");
    let lock_before =
        std::fs::read(repo.path().join("environments/staging/release.lock.toml")).unwrap();
    let child = spawn_promote(&repo, &pg, &file, &marker);
    wait_for("the slow apply", Duration::from_secs(120), || {
        marker.exists()
    });
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let stopped: Run = child.wait_with_output().unwrap().into();
    assert_eq!(stopped.code, 130, "{}", stopped.stderr);
    let out: Value = serde_json::from_str(&stopped.stdout).unwrap();
    assert_eq!(out["status"], "interrupted", "{out}");
    assert!(
        out["message"]
            .as_str()
            .unwrap()
            .contains("strata promote rollback"),
        "{out}"
    );
    assert_eq!(
        std::fs::read(repo.path().join("environments/staging/release.lock.toml")).unwrap(),
        lock_before
    );
    // Until it is resumed or rolled back, another plan into staging is warned about and
    // refused: it would leave the stopped one able to do neither.
    let other = keys.plan_file("other.json");
    let (run, _) = run_as(
        &repo,
        &pg,
        "alice",
        &[
            "promote",
            "plan",
            "--from",
            "dev",
            "--to",
            "staging",
            "--out",
            path(&other),
            "stacks/app",
        ],
    );
    run.assert_ok();
    assert!(
        run.stderr.contains("stopped half-way (interrupted)"),
        "{}",
        run.stderr
    );
    let (run, out) = promote(&repo, &pg, "alice", &other);
    assert_eq!(run.code, 1, "{}\n{out}", run.stderr);
    let message = out["message"].as_str().unwrap();
    assert!(
        message.contains("stopped half-way (interrupted) after changing stacks/network"),
        "{out}"
    );
    assert!(message.contains("strata promote rollback"), "{out}");
    let (run, out) = promote(&repo, &pg, "alice", &file);
    assert_eq!(run.code, 0, "{}\n{out}", run.stderr);
    assert_eq!(
        output(&pg, "staging", "stacks_network", "vpc_id").as_deref(),
        Some("vpc-slow2")
    );
}

/// A source lock entry whose commit this repository no longer holds (amended, then
/// collected): the plan is refused at once, and a plan made before is refused before its
/// first wave, with nothing changed in the destination.
#[test]
fn a_promotion_whose_commit_is_gone_is_refused_before_anything_runs() {
    let pg = Postgres::start();
    let keys = Keys::new();
    let repo = small_train(&keys, "");
    apply_dev(&repo, &pg);
    let app = std::fs::read_to_string(repo.path().join("stacks/app/main.tf")).unwrap();
    repo.write("stacks/app/main.tf", &format!("{app}\n# a change\n"));
    let gone = repo.commit("a change to the app");
    let (run, _) = run_as(
        &repo,
        &pg,
        "alice",
        &["apply", "--env", "dev", "--auto-approve"],
    );
    run.assert_ok();
    let (file, _) = approved_plan(&repo, &pg, &keys, "plan.json");
    // The commit dev recorded is amended away, and collected.
    repo.git(&["stash", "-q", "-u"]);
    repo.git(&["reset", "-q", "--soft", "HEAD~1"]);
    repo.git(&["commit", "-qm", "the app change, amended"]);
    repo.git(&["stash", "pop", "-q"]);
    repo.commit("dev's lock");
    repo.git(&["reflog", "expire", "--expire=now", "--all"]);
    repo.git(&["gc", "-q", "--prune=now"]);
    let (run, out) = promote(&repo, &pg, "alice", &file);
    assert_eq!(run.code, 1, "{}\n{out}", run.stderr);
    let message = out["message"].as_str().unwrap();
    assert!(
        message.contains(&format!(
            "does not hold the commit the promotion needs: stacks/app (commit {})",
            &gone[..12]
        )),
        "{out}"
    );
    assert!(read_lock(&repo, "staging").is_none());
    assert_eq!(pg_outputs(&pg, "staging", "stacks_network"), Value::Null);
    let (run, _) = run_as(
        &repo,
        &pg,
        "alice",
        &[
            "promote",
            "plan",
            "--from",
            "dev",
            "--to",
            "staging",
            "--out",
            path(&file),
        ],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("git fetch origin"), "{}", run.stderr);
}

/// The destination's entry was applied from a commit since squashed away: a plan that
/// changes that target can run, and warns that a failure could not roll it back.
#[test]
fn a_plan_warns_when_a_step_could_not_be_rolled_back() {
    let pg = Postgres::start();
    let keys = Keys::new();
    let repo = small_train(&keys, "");
    let base = repo.git(&["rev-parse", "HEAD"]).trim().to_string();
    repo.write("NOTES.txt", "a commit of its own\n");
    repo.commit("notes");
    apply_dev(&repo, &pg);
    let (file, _) = approved_plan(&repo, &pg, &keys, "first.json");
    let (run, out) = promote(&repo, &pg, "alice", &file);
    assert_eq!(run.code, 0, "{}\n{out}", run.stderr);
    repo.commit("staging's lock");
    // The commit both locks name is squashed with those after it, and collected.
    let applied = lock_entry(&repo, "staging", "stacks/network").unwrap()["commit"]
        .as_str()
        .unwrap()
        .to_string();
    repo.git(&["reset", "-q", "--soft", &base]);
    repo.git(&["commit", "-qm", "everything, squashed"]);
    repo.git(&["reflog", "expire", "--expire=now", "--all"]);
    repo.git(&["gc", "-q", "--prune=now"]);
    let still_there = Command::new("git")
        .current_dir(repo.path())
        .args(["cat-file", "-e", &format!("{applied}^{{commit}}")])
        .status()
        .unwrap()
        .success();
    assert!(!still_there, "{applied} was collected");
    network_stack(&repo, "2");
    repo.commit("network v2");
    apply_dev(&repo, &pg);
    let (run, _) = run_as(
        &repo,
        &pg,
        "alice",
        &[
            "promote",
            "plan",
            "--from",
            "dev",
            "--to",
            "staging",
            "--out",
            path(&file),
        ],
    );
    run.assert_ok();
    assert!(
        run.stderr.contains(
            "if this promotion fails, stacks/network, stacks/app cannot be rolled back automatically"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn a_destroyed_stack_leaves_the_lock_and_its_removal_promotes_only_when_allowed() {
    let pg = Postgres::start();
    let keys = Keys::new();
    let repo = small_train(&keys, "");
    apply_dev(&repo, &pg);
    let (file, _) = approved_plan(&repo, &pg, &keys, "first.json");
    let (run, _) = promote(&repo, &pg, "alice", &file);
    run.assert_ok();
    repo.commit("staging");

    // app is destroyed in dev and its code deleted: it leaves dev's lock.
    let (run, json) = run_as(
        &repo,
        &pg,
        "alice",
        &["destroy", "stacks/app", "--env", "dev", "--auto-approve"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        json["release"][0]["removed"],
        serde_json::json!(["stacks/app"])
    );
    assert!(lock_entry(&repo, "dev", "stacks/app").is_none());
    assert!(lock_entry(&repo, "dev", "stacks/network").is_some());
    repo.remove("stacks/app");
    repo.commit("app is gone");

    // Its removal from staging is a gated destroy step.
    let (run, plan) = run_as(
        &repo,
        &pg,
        "alice",
        &["promote", "plan", "--from", "dev", "--to", "staging"],
    );
    run.assert_ok();
    assert_eq!(
        blocked(&plan),
        [("stacks/app".to_string(), "destroy".to_string())]
    );
    let file = keys.plan_file("removal.json");
    let plan = plan_staging_with(&repo, &pg, &file, &["--allow-destroy"]);
    assert_eq!(plan["waves"][0][0]["action"], "destroy", "{plan}");
    approve(&repo, &pg, &keys, "alice", &file).assert_ok();
    approve(&repo, &pg, &keys, "bob", &file).assert_ok();
    let (run, out) = promote(&repo, &pg, "alice", &file);
    assert_eq!(run.code, 0, "{}\n{out}", run.stderr);
    assert!(lock_entry(&repo, "staging", "stacks/app").is_none());
    assert_eq!(
        output(&pg, "staging", "stacks_app", "seen"),
        None,
        "destroyed in staging"
    );
}

/// What would stop the destination's GitOps output once the waves ran (a validator that is
/// not installed, a directory strata did not write) stops the promotion before any wave
/// runs: nothing in the destination changes. It wrote the lock and then failed on the
/// output, or failed after every wave was applied, leaving neither a rollback nor a record.
#[test]
fn what_would_stop_the_gitops_output_stops_the_promotion_before_anything_changes() {
    let pg = Postgres::start();
    let keys = Keys::new();
    let repo = small_train(&keys, "");
    repo.append(
        "WORKSPACE.toml",
        "\n[gitops]\nrepo_url = \"https://git.example.com/t.git\"\n",
    );
    let staging =
        std::fs::read_to_string(repo.path().join("environments/staging/env.toml")).unwrap();
    repo.write(
        "environments/staging/env.toml",
        &format!("{staging}\n[gitops]\nvalidate = [\"scripts/not-installed\"]\n"),
    );
    repo.commit("staging validates its GitOps output");
    apply_dev(&repo, &pg);
    let (file, _) = approved_plan(&repo, &pg, &keys, "plan.json");
    let nothing_changed = |out: &Value, why: &str| {
        let message = out["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("nothing was changed") && message.contains(why),
            "{out}"
        );
        assert!(
            read_lock(&repo, "staging").is_none(),
            "the lock is unchanged"
        );
        assert_eq!(
            output(&pg, "staging", "stacks_network", "vpc_id"),
            None,
            "no wave ran"
        );
    };
    let (run, out) = promote(&repo, &pg, "alice", &file);
    assert_eq!(run.code, 1, "{}\n{out}", run.stderr);
    nothing_changed(&out, "scripts/not-installed");

    // The validator installed; the output directory holds a file strata did not write.
    repo.write(
        "environments/staging/env.toml",
        &format!("{staging}\n[gitops]\nvalidate = [\"true\"]\n"),
    );
    repo.write("deploy/staging/README.txt", "written by hand\n");
    repo.commit("a validator, and a hand-written file where the output goes");
    let (run, out) = promote(&repo, &pg, "alice", &file);
    assert_eq!(run.code, 1, "{}\n{out}", run.stderr);
    nothing_changed(&out, "holds files strata did not write");

    // Without it, the promotion applies, and the lock and the output change together.
    repo.git(&["rm", "-rq", "deploy/staging"]);
    repo.commit("the output directory is strata's");
    let (run, out) = promote(&repo, &pg, "alice", &file);
    assert_eq!(run.code, 0, "{}\n{out}", run.stderr);
    assert!(read_lock(&repo, "staging").is_some());
    assert!(repo.path().join("deploy/staging").is_dir());
    assert!(output(&pg, "staging", "stacks_network", "vpc_id").is_some());
}

/// A promotion writes the destination's lock in turn with an apply recording in it in the
/// same checkout: it waits for the turn after its waves, so neither writes over the other.
#[test]
fn a_promotion_takes_its_turn_at_the_destinations_lock() {
    let pg = Postgres::start();
    let keys = Keys::new();
    let repo = small_train(&keys, "");
    apply_dev(&repo, &pg);
    let (file, _) = approved_plan(&repo, &pg, &keys, "plan.json");
    // Another run of this checkout holds staging's turn.
    let turn_path = repo.path().join(".strata/release-staging.lock");
    let turn = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&turn_path)
        .unwrap();
    turn.lock().unwrap();
    let mut promotion = command_as(&repo, &pg, "alice", &["promote", "apply", path(&file)])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut said = String::new();
    let mut stderr = std::io::BufReader::new(promotion.stderr.take().unwrap());
    while !said.contains("waiting for another strata run") {
        let mut line = String::new();
        let read = std::io::BufRead::read_line(&mut stderr, &mut line).unwrap();
        assert!(read > 0, "it ended without waiting for its turn:\n{said}");
        said.push_str(&line);
    }
    // Its waves ran; the lock waits for the turn.
    assert!(output(&pg, "staging", "stacks_app", "seen").is_some());
    assert!(read_lock(&repo, "staging").is_none(), "written out of turn");
    drop(turn);
    std::io::Read::read_to_string(&mut stderr, &mut said).unwrap();
    let status = promotion.wait().unwrap();
    assert!(status.success(), "{said}");
    assert!(read_lock(&repo, "staging").is_some());
}

/// The check before the first wave reads each chart's secrets file at the commit the
/// promotion delivers, which the destination's output is rendered from, not the work
/// tree's: a file only that commit holds stops the promotion before anything changes. (It
/// was found only once every wave had applied, and the promotion rolled back.)
#[test]
fn a_secrets_file_of_the_destination_stops_the_promotion_before_any_wave() {
    let pg = Postgres::start();
    let keys = Keys::new();
    let repo = small_train(&keys, "");
    repo.append(
        "WORKSPACE.toml",
        "\n[gitops]\nrepo_url = \"https://git.example.com/t.git\"\n",
    );
    repo.write(
        "charts/web/Chart.yaml",
        "apiVersion: v2\nname: web\nversion: 0.1.0\n",
    );
    repo.write("charts/web/values.yaml", "token: \"\"\n");
    repo.write(
        "charts/web/templates/config.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  size: small\n",
    );
    repo.commit("a chart");
    apply_dev(&repo, &pg);
    // Staging's own file, committed after dev verified the chart: the promotion renders
    // the chart with it (the environment's files are HEAD's), so the output would carry it.
    let secrets = "environments/staging/charts/web/secrets.toml";
    repo.write(secrets, "token = \"\"\n");
    repo.commit("a secrets file for the chart in staging");
    let file = keys.plan_file("plan.json");
    let plan = plan_staging(&repo, &pg, &file);
    assert!(
        plan.to_string().contains("charts/web"),
        "the chart is promoted: {plan}"
    );
    approve(&repo, &pg, &keys, "alice", &file).assert_ok();
    approve(&repo, &pg, &keys, "bob", &file).assert_ok();
    let (run, out) = promote(&repo, &pg, "alice", &file);
    assert_eq!(run.code, 1, "{}\n{out}", run.stderr);
    let message = out["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("nothing was changed")
            && message.contains("charts/web reads sensitive values (token)"),
        "{out}"
    );
    assert!(
        read_lock(&repo, "staging").is_none(),
        "the lock is unchanged"
    );
    assert_eq!(
        output(&pg, "staging", "stacks_network", "vpc_id"),
        None,
        "no wave ran"
    );
}

/// The destination's own files committed after the source verified the code (an override of
/// a variable, as a rotated secret would be) are what a promotion applies there: an
/// environment's configuration is its own, not the promoted commit's. Before, the promotion
/// applied the commit's (older) files, reported success, and drift called it in sync.
#[test]
fn a_promotion_applies_the_destinations_own_files_as_head_has_them() {
    let pg = Postgres::start();
    let keys = Keys::new();
    let repo = small_train(&keys, "");
    apply_dev(&repo, &pg);
    repo.write(
        "environments/staging/stacks/network/terraform.tfvars",
        "v = \"staging\"\n",
    );
    repo.commit("staging's own value");
    let (file, plan) = approved_plan(&repo, &pg, &keys, "plan.json");
    assert_eq!(waves(&plan), [vec!["stacks/network"], vec!["stacks/app"]]);
    let (run, out) = promote(&repo, &pg, "alice", &file);
    assert_eq!(run.code, 0, "{}\n{out}", run.stderr);
    assert_eq!(
        output(&pg, "staging", "stacks_network", "vpc_id").as_deref(),
        Some("vpc-staging")
    );
    assert_eq!(
        output(&pg, "staging", "stacks_app", "seen").as_deref(),
        Some("vpc-staging"),
        "the app reads what staging's network outputs"
    );
    assert_eq!(
        output(&pg, "dev", "stacks_network", "vpc_id").as_deref(),
        Some("vpc-1"),
        "dev keeps its own"
    );
    repo.commit("staging's lock");
    let (run, drift) = run_as(&repo, &pg, "alice", &["drift", "--env", "staging"]);
    assert_eq!(run.code, 0, "{}\n{drift}", run.stderr);
    // The entry names the commit of staging's files it was applied with: a no-op apply in
    // staging keeps it (when it arrived, and from where), as nothing changed.
    let lock = || {
        std::fs::read_to_string(repo.path().join("environments/staging/release.lock.toml")).unwrap()
    };
    let promoted = lock();
    assert!(promoted.contains("env_commit"), "{promoted}");
    let (run, _) = run_as(
        &repo,
        &pg,
        "alice",
        &["apply", "--env", "staging", "--auto-approve"],
    );
    run.assert_ok();
    assert_eq!(lock(), promoted);

    // Network v2 promoted with another staging value committed beside an app that fails in
    // staging: the rollback restores the network as it ran (its code at v1, staging's value
    // as the first promotion applied it), and verifies it with the same files.
    network_stack(&repo, "2");
    repo.commit("network v2");
    apply_dev(&repo, &pg);
    repo.write(
        "environments/staging/stacks/network/terraform.tfvars",
        "v = \"staging-2\"\n",
    );
    repo.write(
        "environments/staging/stacks/app/fail.tfvars",
        "fail = \"1\"\n",
    );
    repo.commit("staging's second value, and an app that fails there");
    let (file, _) = approved_plan(&repo, &pg, &keys, "second.json");
    let (run, out) = promote(&repo, &pg, "alice", &file);
    assert_eq!(run.code, 1, "{}\n{out}", run.stderr);
    assert_eq!(out["status"], "rolled_back", "{out}");
    assert_eq!(
        output(&pg, "staging", "stacks_network", "vpc_id").as_deref(),
        Some("vpc-staging"),
        "{out}"
    );
}

/// A change to the destination's own files alone is named by the plan (no promotion carries
/// it: no hash changed); and a plan whose step's files in the destination were committed
/// after it was made and approved is refused: its approvers did not see what it would apply.
#[test]
fn a_plan_names_reconfigured_targets_and_is_stale_once_a_steps_destination_files_change() {
    let pg = Postgres::start();
    let keys = Keys::new();
    let repo = small_train(&keys, "");
    apply_dev(&repo, &pg);
    let (file, _) = approved_plan(&repo, &pg, &keys, "first.json");
    promote(&repo, &pg, "alice", &file).0.assert_ok();
    repo.commit("staging's lock");

    // How charts are delivered (`[gitops]`) is read by charts only: no stack is named.
    let env_toml = repo.path().join("environments/staging/env.toml");
    let text = std::fs::read_to_string(&env_toml).unwrap();
    std::fs::write(
        &env_toml,
        format!("{text}\n[gitops]\nrevision = \"release\"\n"),
    )
    .unwrap();
    repo.commit("staging's charts from the release branch");
    let plan = plan_staging(&repo, &pg, &keys.plan_file("gitops.json"));
    assert!(plan["reconfigured"].is_null(), "{plan}");

    let tfvars = "environments/staging/stacks/network/terraform.tfvars";
    repo.write(tfvars, "v = \"staging\"\n");
    repo.commit("staging's own value");
    let plan = plan_staging(&repo, &pg, &keys.plan_file("reconfigured.json"));
    assert!(waves(&plan).is_empty(), "{plan}");
    assert_eq!(
        plan["reconfigured"],
        serde_json::json!([{"label": "stacks/network", "file": tfvars}]),
        "{plan}"
    );
    // Network v2, planned and approved with staging's value; then staging's value changes.
    network_stack(&repo, "2");
    repo.commit("network v2");
    apply_dev(&repo, &pg);
    let (file, plan) = approved_plan(&repo, &pg, &keys, "second.json");
    assert_eq!(waves(&plan)[0], vec!["stacks/network"], "{plan}");
    assert!(plan["reconfigured"].is_null(), "{plan}");
    repo.write(tfvars, "v = \"unseen\"\n");
    repo.commit("a staging value no approver saw");
    let (run, out) = promote(&repo, &pg, "alice", &file);
    assert_eq!(run.code, 1, "{}\n{out}", run.stderr);
    assert!(
        out.to_string()
            .contains("the plan is stale: staging's own files for stacks/network"),
        "{out}"
    );
    // Approving it now is refused too: it is not the plan strata makes.
    let run = approve(&repo, &pg, &keys, "bob", &file);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(
        output(&pg, "staging", "stacks_network", "vpc_id").as_deref(),
        Some("vpc-1"),
        "nothing was applied"
    );
}

/// An entry of the source's lock that no event of its audit ledger wrote (the lock edited
/// by hand: another hash, or a stack never applied there) is not promoted as "verified": it
/// is held back with its dependents (gate `recorded`), and a plan edited to carry it anyway
/// is neither signed nor applied.
#[test]
fn a_source_lock_entry_no_audit_event_wrote_is_not_promoted() {
    let pg = Postgres::start();
    let keys = Keys::new();
    let repo = small_train(&keys, "");
    apply_dev(&repo, &pg);
    let honest = keys.plan_file("honest.json");
    let plan = plan_staging(&repo, &pg, &honest);
    assert_eq!(waves(&plan), [vec!["stacks/network"], vec!["stacks/app"]]);

    let lock_path = repo.path().join("environments/dev/release.lock.toml");
    let lock = std::fs::read_to_string(&lock_path).unwrap();
    let network = lock_entry(&repo, "dev", "stacks/network").unwrap();
    let hash = network["hash"].as_str().unwrap();
    std::fs::write(&lock_path, lock.replace(hash, &"e".repeat(64))).unwrap();
    repo.commit("dev's lock edited by hand");
    let file = keys.plan_file("plan.json");
    let plan = plan_staging(&repo, &pg, &file);
    assert!(waves(&plan).is_empty(), "{plan}");
    assert_eq!(
        blocked(&plan),
        [
            ("stacks/app".to_string(), "dependency".to_string()),
            ("stacks/network".to_string(), "recorded".to_string()),
        ]
    );
    // Applied, it promotes nothing, and writes nothing.
    approve(&repo, &pg, &keys, "alice", &file).assert_ok();
    approve(&repo, &pg, &keys, "bob", &file).assert_ok();
    let (run, out) = promote(&repo, &pg, "alice", &file);
    assert_eq!(run.code, 0, "{}\n{out}", run.stderr);
    assert!(
        out["message"]
            .as_str()
            .unwrap()
            .contains("promotes nothing"),
        "{out}"
    );
    assert!(read_lock(&repo, "staging").is_none());
    repo.commit("the empty promotion's audit event");

    // The honest plan, made before the edit, pins the lock as it was: stale now.
    approve(&repo, &pg, &keys, "alice", &honest);
    let (run, out) = promote(&repo, &pg, "alice", &honest);
    assert_eq!(run.code, 1, "{out}");
    assert!(read_lock(&repo, "staging").is_none());
}

/// What the audit trail vouches for in the source, as a release goes on: an entry changed
/// by hand (its hash kept) is held back, and applying the source again writes it afresh
/// from that run's verification (it was kept as edited, and the new event vouched for it);
/// an entry deleted by hand is no destroy to promote, and `audit verify` finds it.
#[test]
fn entries_changed_or_deleted_by_hand_are_neither_laundered_nor_promoted() {
    let pg = Postgres::start();
    let keys = Keys::new();
    let repo = small_train(&keys, "");
    apply_dev(&repo, &pg);
    let lock_path = repo.path().join("environments/dev/release.lock.toml");
    let lock = std::fs::read_to_string(&lock_path).unwrap();
    let edited = lock.replacen("applied_by = \"", "applied_by = \"mallory, ", 1);
    assert_ne!(edited, lock);
    std::fs::write(&lock_path, edited).unwrap();
    repo.commit("a dev entry edited by hand, its hash kept");
    let plan = plan_staging(&repo, &pg, &keys.plan_file("held.json"));
    assert!(
        blocked(&plan).iter().any(|(_, gate)| gate == "recorded"),
        "{plan}"
    );

    // Applied again, the entry is written from this run: the edit is gone, and the plan
    // promotes both.
    apply_dev(&repo, &pg);
    let again = std::fs::read_to_string(&lock_path).unwrap();
    assert!(!again.contains("mallory"), "{again}");
    let file = keys.plan_file("plan.json");
    let plan = plan_staging(&repo, &pg, &file);
    assert_eq!(waves(&plan), [vec!["stacks/network"], vec!["stacks/app"]]);
    approve(&repo, &pg, &keys, "alice", &file).assert_ok();
    approve(&repo, &pg, &keys, "bob", &file).assert_ok();
    let (run, out) = promote(&repo, &pg, "alice", &file);
    assert_eq!(run.code, 0, "{}\n{out}", run.stderr);
    repo.commit("staging's lock");

    // stacks/app's dev entry deleted by hand: found by verify, and no destroy to promote.
    let mut table: toml::Table = toml::from_str(&again).unwrap();
    table["targets"]
        .as_table_mut()
        .unwrap()
        .remove("stacks/app")
        .unwrap();
    std::fs::write(&lock_path, toml::to_string(&table).unwrap()).unwrap();
    repo.commit("a dev entry deleted by hand");
    let (run, json) = run_as(&repo, &pg, "alice", &["audit", "verify", "--env", "dev"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        json["ledgers"][0]["problems"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("gone with no event removing it"),
        "{json}"
    );
    let plan = plan_staging_with(
        &repo,
        &pg,
        &keys.plan_file("destroy.json"),
        &["--allow-destroy"],
    );
    assert!(waves(&plan).is_empty(), "{plan}");
    assert_eq!(
        blocked(&plan),
        [("stacks/app".to_string(), "recorded".to_string())]
    );
}

/// Ctrl-C while git makes a wave's checkout, after an earlier wave changed the destination
/// (the interrupted git fails, which must read as the interrupt, not an error): the
/// promotion is `interrupted` with what changed recorded, the lock is unchanged, and
/// `promote rollback` can undo it. A git wrapper sends the interrupt to strata's process
/// group the moment the first checkout after the network's apply starts, as Ctrl-C on a
/// terminal would.
/// The small train with a network whose apply leaves a marker (`STRATA_TEST_MARKER`),
/// applied in dev, and a plan into staging approved by alice and bob: the repository, the
/// marker's path, the plan file and the plan.
fn slow_network_plan(keys: &Keys, pg: &Postgres) -> (Repo, PathBuf, PathBuf, Value) {
    let repo = small_train(keys, "");
    network_stack(&repo, "slow");
    repo.commit("a network whose apply leaves a marker");
    let marker = keys.plan_file("applied");
    let (run, _) = run_as(
        &repo,
        pg,
        "alice",
        &["apply", "--env", "dev", "--auto-approve"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    repo.commit("dev's lock");
    let file = keys.plan_file("plan.json");
    let plan = plan_staging(&repo, pg, &file);
    assert_eq!(waves(&plan), [vec!["stacks/network"], vec!["stacks/app"]]);
    approve(&repo, pg, keys, "alice", &file).assert_ok();
    approve(&repo, pg, keys, "bob", &file).assert_ok();
    (repo, marker, file, plan)
}

/// Every wave of a promotion runs with the destination's files of the commit checked
/// against the plan when it started: a file committed while an earlier wave runs (here an
/// override that makes the app fail in staging) is not applied by a later one, as no
/// approver saw it, and the lock entries record that commit. Each wave read HEAD anew.
#[test]
fn every_wave_runs_with_the_files_checked_when_the_promotion_started() {
    let pg = Postgres::start();
    let keys = Keys::new();
    let (repo, marker, file, _) = slow_network_plan(&keys, &pg);
    let checked = repo.git(&["rev-parse", "HEAD"]).trim().to_string();
    let child = spawn_promote(&repo, &pg, &file, &marker);
    let start = std::time::Instant::now();
    while !marker.exists() && start.elapsed() < std::time::Duration::from_secs(120) {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(marker.exists(), "wave 1 never ran");
    repo.write(
        "environments/staging/stacks/app/fail.tfvars",
        "fail = \"1\"\n",
    );
    repo.commit("an app that fails in staging, committed while wave 1 runs");
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(
        output(&pg, "staging", "stacks_app", "seen").as_deref(),
        Some("vpc-slow")
    );
    let entry = lock_entry(&repo, "staging", "stacks/app").unwrap();
    assert_eq!(
        entry.get("env_commit").and_then(|v| v.as_str()),
        Some(checked.as_str()),
        "{entry:?}"
    );
}

/// `promote apply FILE` as alice in a process group of its own (a `kill -INT 0` in the
/// `git` of `bin` reaches it alone), with `bin` first on PATH and the network's marker set.
fn promote_with_git(repo: &Repo, pg: &Postgres, file: &Path, marker: &Path, bin: &Path) -> Run {
    promote_command_with_git(repo, pg, file, marker, bin)
        .output()
        .unwrap()
        .into()
}

/// `promote apply` as alice, with the git of `bin` first on PATH, in a process group of its
/// own.
fn promote_command_with_git(
    repo: &Repo,
    pg: &Postgres,
    file: &Path,
    marker: &Path,
    bin: &Path,
) -> Command {
    use std::os::unix::process::CommandExt;
    let mut cmd = command_as(repo, pg, "alice", &["promote", "apply", path(file)]);
    cmd.env("STRATA_TEST_MARKER", marker)
        .env(
            "PATH",
            format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
        )
        .process_group(0);
    cmd
}

/// A directory with a `git` that runs `action` (shell) when strata makes a wave's checkout
/// once `marker` exists, and is the real git otherwise.
fn git_stopping_at_a_wave(keys: &Keys, marker: &Path, action: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let bin = keys.plan_file("bin");
    std::fs::create_dir(&bin).unwrap();
    let git = bin.join("git");
    std::fs::write(
        &git,
        format!(
            "#!/bin/sh\n\
             case \" $* \" in *' worktree add '*) if [ -e '{marker}' ]; then\n\
             {action}\n\
             fi ;; esac\n\
             exec /usr/bin/git \"$@\"\n",
            marker = marker.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&git, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

#[test]
fn ctrl_c_while_a_wave_checkout_is_made_is_an_interruption_that_can_be_rolled_back() {
    let pg = Postgres::start();
    let keys = Keys::new();
    let (repo, marker, file, _) = slow_network_plan(&keys, &pg);
    let bin = git_stopping_at_a_wave(&keys, &marker, "kill -INT 0\nexit 130");
    let lock_before =
        std::fs::read(repo.path().join("environments/staging/release.lock.toml")).ok();
    let stopped: Run = promote_with_git(&repo, &pg, &file, &marker, &bin);
    assert!(marker.exists(), "the network was applied in staging");
    assert_eq!(stopped.code, 130, "{}\n{}", stopped.stdout, stopped.stderr);
    let out: Value = serde_json::from_str(&stopped.stdout).unwrap();
    assert_eq!(out["status"], "interrupted", "{out}");
    assert!(
        out["changed"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "stacks/network"),
        "{out}"
    );
    assert_eq!(
        std::fs::read(repo.path().join("environments/staging/release.lock.toml")).ok(),
        lock_before,
        "the lock is unchanged"
    );
    let event = ledger(&repo, "staging").pop().unwrap();
    assert_eq!(event["outcome"], "interrupted", "{event}");

    // What changed can be undone: the record was written.
    let (rollback, out) = run_as(&repo, &pg, "alice", &["promote", "rollback", path(&file)]);
    assert_eq!(rollback.code, 0, "{}\n{out}", rollback.stderr);
    assert_eq!(out["status"], "rolled_back", "{out}");
    // New in staging, and the plan was made without --allow-destroy: left in place, said so.
    assert_eq!(out["rollback"][0]["label"], "stacks/network", "{out}");
    assert_eq!(out["rollback"][0]["action"], "keep", "{out}");
}

/// A policy added after a target was recorded: applying the environment again at the same
/// hash records what the checks find now (the policy is no part of the hash), so the next
/// environment's gates judge today's findings, not the ones from before the policy.
#[test]
fn a_policy_added_later_reaches_the_lock_and_its_gates() {
    let pg = Postgres::start();
    let keys = Keys::new();
    let repo = small_train(&keys, "");
    apply_dev(&repo, &pg);
    let before = lock_entry(&repo, "dev", "stacks/network").unwrap();
    assert_eq!(before.get("max_severity"), None, "{before}");
    repo.write(
        "policies/guard/policy.toml",
        "kinds = [\"stack\"]\nlabels = [\"stacks/network\"]\n",
    );
    repo.write(
        "policies/guard/guard.rego",
        "package main\n\nimport rego.v1\n\ndeny contains {\"msg\": \"no null resources\", \"severity\": \"high\"} if {\n\tinput.resource.null_resource\n}\n",
    );
    repo.commit("a new guardrail");
    let (run, json) = run_as(
        &repo,
        &pg,
        "alice",
        &["apply", "--env", "dev", "--auto-approve"],
    );
    assert_eq!(run.code, 0, "{}\n{json}", run.stderr);
    let after = lock_entry(&repo, "dev", "stacks/network").unwrap();
    assert_eq!(after["hash"], before["hash"], "the same hash: {after}");
    assert_eq!(after["max_severity"].as_str(), Some("high"), "{after}");
    // When it arrived, and the commit that brought it, are kept (soak counts from then).
    assert_eq!(after["applied_at"], before["applied_at"], "{after}");
    assert_eq!(after["commit"], before["commit"], "{after}");
    // The entry changed with an event that vouches for it.
    let (run, out) = run_as(&repo, &pg, "alice", &["audit", "verify", "--env", "dev"]);
    assert_eq!(run.code, 0, "{}\n{out}", run.stderr);
    repo.commit("dev's lock after the guardrail");
    let file = keys.plan_file("plan.json");
    let plan = plan_staging(&repo, &pg, &file);
    assert!(
        blocked(&plan).contains(&("stacks/network".to_string(), "max_severity".to_string())),
        "{plan}"
    );
}

/// A promotion killed outright (no handler runs) leaves a record written before its steps
/// ran, so `promote rollback` knows what changed; a resumed run that is stopped in turn
/// keeps what the killed one changed; and the rollback says which targets it re-applied and
/// which it left in place.
#[test]
fn a_killed_promotion_can_be_rolled_back_and_a_resumed_one_keeps_what_it_changed() {
    let pg = Postgres::start();
    let keys = Keys::new();
    let (repo, marker, file, plan) = slow_network_plan(&keys, &pg);
    let record = repo
        .path()
        .join(".strata/promotions")
        .join(format!("{}.json", plan["digest"].as_str().unwrap()));

    // Once the network is applied in staging, the next checkout of a wave kills strata
    // (SIGKILL: nothing of it runs after) the first time, and interrupts it the second.
    let killed = keys.plan_file("killed");
    let bin = git_stopping_at_a_wave(
        &keys,
        &marker,
        &format!(
            "if [ -e '{killed}' ]; then kill -INT 0; exit 130; fi\ntouch '{killed}'\nkill -KILL $PPID\nexit 137",
            killed = killed.display()
        ),
    );
    let run_with_git = || -> Run {
        promote_command_with_git(&repo, &pg, &file, &marker, &bin)
            .env("STRATA_TEST_HOLD", "0")
            .output()
            .unwrap()
            .into()
    };
    let first = run_with_git();
    assert!(killed.exists(), "{}", first.stderr);
    assert_eq!(first.code, -1, "killed: {}", first.stderr);
    let text = std::fs::read_to_string(&record).expect("a record written before the steps ran");
    let written: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(written["status"], "interrupted", "{written}");
    assert_eq!(
        written["changed"],
        serde_json::json!(["stacks/network"]),
        "{written}"
    );
    // The killed run wrote no event, and `audit verify` says so.
    let (verify, out) = run_as(
        &repo,
        &pg,
        "alice",
        &["audit", "verify", "--env", "staging"],
    );
    assert_eq!(verify.code, 1, "{}\n{out}", verify.stderr);
    let problems = out["ledgers"][0]["problems"].to_string();
    assert!(
        problems.contains("a promotion started ")
            && problems.contains("was stopped before it ended")
            && problems.contains("stacks/network"),
        "{out}"
    );
    let events_before =
        std::fs::read_to_string(repo.path().join("environments/staging/audit.jsonl"))
            .map_or(0, |t| t.lines().count());

    // Resumed, and stopped by Ctrl-C before any step of its own: the record still names
    // what the killed run changed.
    let second = run_with_git();
    assert_eq!(second.code, 130, "{}\n{}", second.stdout, second.stderr);
    // Its ledger has the killed run first (outcome `interrupted`), then the resumed one.
    let events = ledger(&repo, "staging");
    assert_eq!(events.len(), events_before + 2, "{events:?}");
    let killed_event = &events[events_before];
    assert_eq!(killed_event["action"], "promote", "{killed_event}");
    assert_eq!(killed_event["outcome"], "interrupted", "{killed_event}");
    assert!(
        killed_event["message"]
            .as_str()
            .unwrap()
            .contains("was stopped before it ended"),
        "{killed_event}"
    );
    let out: Value = serde_json::from_str(&second.stdout).unwrap();
    assert_eq!(out["status"], "interrupted", "{out}");
    assert_eq!(
        out["changed"],
        serde_json::json!(["stacks/network"]),
        "{out}"
    );

    let (rollback, out) = run_as(&repo, &pg, "alice", &["promote", "rollback", path(&file)]);
    assert_eq!(rollback.code, 0, "{}\n{out}", rollback.stderr);
    assert_eq!(out["status"], "rolled_back", "{out}");
    assert_eq!(out["rollback"][0]["label"], "stacks/network", "{out}");
    assert_eq!(out["rollback"][0]["action"], "keep", "{out}");
    let message = out["message"].as_str().unwrap();
    assert!(
        message.contains("left stacks/network in place in staging")
            && !message.contains("rolled back stacks/network"),
        "{message}"
    );
}

/// A plan file comes from a pull request: the environments it names are checked before any
/// path is built from them, a plan edited after it was made is refused with an event in
/// the destination's ledger, and a step for a target that does not deploy in the
/// destination (which `promote plan` never makes) is refused before anything runs.
#[test]
fn a_tampered_plan_writes_nowhere_else_and_is_recorded_where_it_belongs() {
    let pg = Postgres::start();
    let keys = Keys::new();
    let repo = small_train(&keys, "");
    repo.write(
        "stacks/devonly/main.tf",
        &format!("{NULL_PROVIDER}\nresource \"null_resource\" \"dev\" {{}}\n"),
    );
    repo.write("stacks/devonly/stack.toml", "environments = [\"dev\"]\n");
    repo.commit("a stack only dev has");
    apply_dev(&repo, &pg);
    let file = keys.plan_file("plan.json");
    plan_staging(&repo, &pg, &file);
    let text = std::fs::read_to_string(&file).unwrap();
    let honest = strata_release::plan::PromotionPlan::from_json(&text).unwrap();
    let write = |name: &str, plan: &strata_release::plan::PromotionPlan| {
        let path = keys.plan_file(name);
        std::fs::write(&path, plan.to_json()).unwrap();
        path
    };
    let dev_events = ledger(&repo, "dev").len();

    // Environments that are paths: refused, and nothing written outside the environment.
    for to in ["staging/../dev", "../escape"] {
        let mut forged = honest.clone();
        forged.to = to.into();
        forged.digest = forged.compute_digest();
        let forged = write("path.json", &forged);
        let (run, _) = promote(&repo, &pg, "alice", &forged);
        assert_eq!(run.code, 2, "{to}: {}", run.stderr);
        assert!(
            run.stderr.contains("no environment's name"),
            "{to}: {}",
            run.stderr
        );
    }
    assert!(!repo.path().join("escape").exists());
    assert!(!repo.path().parent().unwrap().join("escape").exists());
    assert_eq!(
        ledger(&repo, "dev").len(),
        dev_events,
        "dev's ledger untouched"
    );
    let (run, out) = run_as(&repo, &pg, "alice", &["audit", "verify", "--env", "dev"]);
    assert_eq!(run.code, 0, "{}\n{out}", run.stderr);

    // Edited after it was made (its digest left as it was): refused, and recorded.
    let mut edited = honest.clone();
    edited.unchanged += 1;
    let edited = write("edited.json", &edited);
    let (run, _) = promote(&repo, &pg, "alice", &edited);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let event = ledger(&repo, "staging")
        .pop()
        .expect("an event in staging's ledger");
    assert_eq!(event["outcome"], "error", "{event}");
    assert!(
        event["message"]
            .as_str()
            .unwrap()
            .contains("changed after it was made"),
        "{event}"
    );

    // A step for the dev-only stack, its digest made again: refused before anything runs.
    let mut forged = honest.clone();
    let step = forged_step(&repo, &forged.waves[0][0], "stacks/devonly");
    forged.waves[0].push(step);
    forged.digest = forged.compute_digest();
    let forged = write("devonly.json", &forged);
    let (run, out) = promote(&repo, &pg, "alice", &forged);
    assert_eq!(run.code, 1, "{}\n{out}", run.stderr);
    assert_eq!(out["status"], "refused", "{out}");
    assert!(
        out["message"]
            .as_str()
            .unwrap()
            .contains("stacks/devonly does not deploy"),
        "{out}"
    );
    assert!(out["steps"].as_array().unwrap().is_empty(), "{out}");
}

/// A promotion writes its event beside the ledger before it changes the destination's lock:
/// a ledger that cannot take it (here: a directory where it should be; a full disk acts
/// alike) fails the promotion, which rolls back and leaves the lock as it was, rather
/// than a lock holding entries no event wrote.
#[test]
fn a_promotion_changes_the_lock_only_with_its_audit_event() {
    let pg = Postgres::start();
    let keys = Keys::new();
    let repo = small_train(&keys, "");
    apply_dev(&repo, &pg);
    let (file, _) = approved_plan(&repo, &pg, &keys, "plan.json");
    let ledger_path = repo.path().join("environments/staging/audit.jsonl");
    std::fs::create_dir(&ledger_path).unwrap();
    let (run, out) = promote(&repo, &pg, "alice", &file);
    assert_ne!(run.code, 0, "{}\n{out}", run.stderr);
    assert!(
        run.stderr.contains("audit.jsonl") || out.to_string().contains("audit.jsonl"),
        "{}\n{out}",
        run.stderr
    );
    assert!(read_lock(&repo, "staging").is_none(), "the lock changed");
    std::fs::remove_dir(&ledger_path).unwrap();
    // That promotion ran steps and could write no event: its record is left in the
    // checkout, for the next run to write into the ledger first (`audit verify` reports it
    // until then). Set aside here, so that the next run reaches its own event.
    let runs = repo.path().join(".strata/runs");
    let left: Vec<_> = std::fs::read_dir(&runs).unwrap().flatten().collect();
    assert_eq!(left.len(), 1, "{left:?}");
    std::fs::remove_dir_all(&runs).unwrap();
    // The event is made but cannot be put into the ledger (the last rename fails, as on a
    // read-only bind mount): the lock written before it is put back, and the promotion
    // rolls back, recorded as such.
    let events = std::fs::read_to_string(&ledger_path).unwrap_or_default();
    std::fs::write(&ledger_path, &events).unwrap();
    if let Some(_immutable) = common::Immutable::set(&ledger_path) {
        let (run, out) = promote(&repo, &pg, "alice", &file);
        assert_ne!(run.code, 0, "{}\n{out}", run.stderr);
        assert_eq!(out["status"], "rolled_back", "{out}");
        assert!(
            out["message"]
                .as_str()
                .unwrap()
                .contains("audit event cannot be written"),
            "{out}"
        );
        assert!(read_lock(&repo, "staging").is_none(), "the lock changed");
    }
    let (run, out) = promote(&repo, &pg, "alice", &file);
    assert_eq!(run.code, 0, "{}\n{out}", run.stderr);
    assert!(read_lock(&repo, "staging").is_some());
    let events = ledger(&repo, "staging");
    let promoted = events.last().unwrap();
    assert_eq!(promoted["action"], "promote", "{promoted}");
    assert_eq!(promoted["outcome"], "succeeded", "{promoted}");
    assert!(
        promoted["targets"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["result"] == "promoted" && t["entry"].is_string()),
        "{promoted}"
    );
    repo.commit("staging promoted");
    repo.strata(&["audit", "verify", "--env", "staging"])
        .assert_ok();
}

/// A plan limited to a target does not promote it ahead of a dependency that differs in the
/// destination: dev verified it with the dependency as dev has it. It is held back (gate
/// `dependency`), and named together the two promote in order.
#[test]
fn a_target_named_alone_waits_for_its_changed_dependency() {
    let pg = Postgres::start();
    let keys = Keys::new();
    let repo = small_train(&keys, "");
    apply_dev(&repo, &pg);
    let (run, _) = run_as(
        &repo,
        &pg,
        "alice",
        &["apply", "--env", "staging", "--auto-approve"],
    );
    run.assert_ok();
    repo.commit("staging's lock");
    network_stack(&repo, "2");
    repo.commit("network v2");
    apply_dev(&repo, &pg);
    let file = keys.plan_file("app.json");
    let plan = plan_staging_with(&repo, &pg, &file, &["stacks/app"]);
    assert_eq!(
        blocked(&plan),
        [("stacks/app".to_string(), "dependency".to_string())],
        "{plan}"
    );
    assert!(
        plan["blocked"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("depends on stacks/network"),
        "{plan}"
    );
    assert!(waves(&plan).is_empty(), "{plan}");
    // The labelled plan edited to promote app anyway (its digest computed again, as anyone
    // can): neither signed nor applied, even where no approval is needed.
    repo.write(
        "environments/staging/env.toml",
        &std::fs::read_to_string(repo.path().join("environments/staging/env.toml"))
            .unwrap()
            .replace("approvals = 1", "approvals = 0"),
    );
    repo.commit("staging needs no approval");
    let staging_before = read_lock(&repo, "staging").unwrap();
    let plan = plan_staging_with(&repo, &pg, &file, &["stacks/app"]);
    let full = plan_staging(&repo, &pg, &keys.plan_file("full.json"));
    let app_step: strata_release::plan::Step =
        serde_json::from_value(full["waves"][1][0].clone()).unwrap();
    assert_eq!(app_step.label, "stacks/app", "{full}");
    let mut forged =
        strata_release::plan::PromotionPlan::from_json(&std::fs::read_to_string(&file).unwrap())
            .unwrap();
    forged.waves.push(vec![app_step]);
    forged.blocked.clear();
    let out = refused_forgery(
        &repo,
        &pg,
        &keys,
        forged,
        "stacks/app is promoted, and it depends on stacks/network",
    );
    assert!(
        out["message"]
            .as_str()
            .unwrap()
            .contains("it depends on stacks/network"),
        "{out}"
    );
    assert_eq!(
        read_lock(&repo, "staging").unwrap(),
        staging_before,
        "{plan}"
    );
    let plan = plan_staging_with(&repo, &pg, &file, &["stacks/app", "stacks/network"]);
    assert!(blocked(&plan).is_empty(), "{plan}");
    assert_eq!(waves(&plan), [vec!["stacks/network"], vec!["stacks/app"]]);
}

/// The small train promoted to staging once, then a network whose apply leaves a marker
/// applied in dev, and a second promotion planned and approved: the repository, the marker
/// and the plan file.
fn second_promotion_with_a_slow_network(keys: &Keys, pg: &Postgres) -> (Repo, PathBuf, PathBuf) {
    let repo = small_train(keys, "");
    apply_dev(&repo, pg);
    let (first, _) = approved_plan(&repo, pg, keys, "first.json");
    let (run, out) = promote(&repo, pg, "alice", &first);
    assert_eq!(run.code, 0, "{}\n{out}", run.stderr);
    repo.commit("staging at v1");
    network_stack(&repo, "slow");
    repo.commit("a network whose apply leaves a marker");
    let marker = keys.plan_file("applied");
    apply_dev(&repo, pg);
    let (file, _) = approved_plan(&repo, pg, keys, "second.json");
    (repo, marker, file)
}

/// Ctrl-C while a failed promotion is rolled back is an interruption, told as such: exit
/// 130, `interrupted`, the steps left not rolled back saying so (not a tool failing to
/// start), the lock unchanged; `promote rollback` finishes the job.
#[test]
fn ctrl_c_during_the_automatic_rollback_is_an_interruption_that_can_be_finished() {
    let pg = Postgres::start();
    let keys = Keys::new();
    let (repo, marker, file) = second_promotion_with_a_slow_network(&keys, &pg);
    let lock_before =
        std::fs::read(repo.path().join("environments/staging/release.lock.toml")).ok();
    // The next wave's checkout fails (the promotion rolls back); the rollback's is
    // interrupted.
    let once = keys.plan_file("failed-once");
    let bin = git_stopping_at_a_wave(
        &keys,
        &marker,
        &format!(
            "if [ -e '{once}' ]; then kill -INT 0; exit 130; fi\ntouch '{once}'\necho 'fatal: write error. Out of diskspace' >&2\nexit 128",
            once = once.display()
        ),
    );
    let run: Run = promote_with_git(&repo, &pg, &file, &marker, &bin);
    assert!(once.exists(), "the wave failed");
    assert_eq!(run.code, 130, "{}\n{}", run.stdout, run.stderr);
    let out: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(out["status"], "interrupted", "{out}");
    let message = out["message"].as_str().unwrap();
    assert!(
        message.contains("the rollback was interrupted")
            && !message.contains("ROLLING BACK FAILED"),
        "{out}"
    );
    assert!(!run.stdout.contains("strata tools"), "{out}");
    assert_eq!(
        std::fs::read(repo.path().join("environments/staging/release.lock.toml")).ok(),
        lock_before,
        "the lock is unchanged"
    );
    let event = ledger(&repo, "staging").pop().unwrap();
    assert_eq!(event["outcome"], "interrupted", "{event}");
    let (rollback, out) = run_as(&repo, &pg, "alice", &["promote", "rollback", path(&file)]);
    assert_eq!(rollback.code, 0, "{}\n{out}", rollback.stderr);
    assert_eq!(out["status"], "rolled_back", "{out}");
}

/// A chart in a wave whose stack fails ran nothing (charts are verified once their wave's
/// stacks pass): the ledger records it `skipped`, not `failed`, and the rollback leaves it
/// alone rather than "rolling back" what never changed.
#[test]
fn a_chart_of_a_failed_wave_that_ran_nothing_is_skipped_not_failed() {
    let pg = Postgres::start();
    let keys = Keys::new();
    let repo = small_train(&keys, "");
    repo.write(
        "charts/web/Chart.yaml",
        "apiVersion: v2\nname: web\nversion: 0.1.0\n",
    );
    repo.write("charts/web/chart.toml", "deps = [\"stacks/network\"]\n");
    repo.write(
        "charts/web/templates/config.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  size: small\n",
    );
    repo.commit("a chart after the network");
    apply_dev(&repo, &pg);
    let (first, _) = approved_plan(&repo, &pg, &keys, "first.json");
    let (run, out) = promote(&repo, &pg, "alice", &first);
    assert_eq!(run.code, 0, "{}\n{out}", run.stderr);
    repo.commit("staging at v1");
    network_stack(&repo, "2");
    repo.append("stacks/app/main.tf", "# v2\n");
    repo.write(
        "charts/web/templates/config.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  size: large\n",
    );
    repo.commit("v2");
    apply_dev(&repo, &pg);
    let (file, plan) = approved_plan(&repo, &pg, &keys, "second.json");
    assert_eq!(
        waves(&plan),
        [vec!["stacks/network"], vec!["charts/web", "stacks/app"]],
        "{plan}"
    );
    // The app's apply fails in staging.
    let run: Run = command_as(&repo, &pg, "alice", &["promote", "apply", path(&file)])
        .env("TF_VAR_fail", "1")
        .output()
        .unwrap()
        .into();
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let out: Value = serde_json::from_str(&run.stdout).unwrap();
    // (The app's rollback fails too: its variable still says so.)
    assert!(
        !out["rollback"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["label"] == "charts/web"),
        "{out}"
    );
    let event = ledger(&repo, "staging").pop().unwrap();
    let web: Vec<&Value> = event["targets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["label"] == "charts/web")
        .collect();
    assert_eq!(web.len(), 1, "{event}");
    assert_eq!(web[0]["result"], "skipped", "{event}");
    assert!(
        web[0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("nothing of it ran: the wave stopped: stacks/app"),
        "{event}"
    );
    let app = event["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["label"] == "stacks/app" && t["result"] == "failed");
    assert!(app.is_some(), "{event}");
}

/// A fault that stops a wave and then each rollback step (git failing to make a checkout,
/// as on a full disk) is a failed rollback, told as such: exit 1, `rollback_failed`, each
/// step's reason, and an event naming the targets. (The rollback's error used to end the
/// command with exit 2, as bad input, and leave the record saying the run was killed.)
#[test]
fn a_rollback_that_fails_on_a_fault_is_told_and_recorded_as_failed() {
    let pg = Postgres::start();
    let keys = Keys::new();
    let (repo, marker, file) = second_promotion_with_a_slow_network(&keys, &pg);
    let bin = git_stopping_at_a_wave(
        &keys,
        &marker,
        "echo 'fatal: write error. Out of diskspace' >&2\nexit 128",
    );
    let run: Run = promote_with_git(&repo, &pg, &file, &marker, &bin);
    assert!(marker.exists(), "the network was applied in staging");
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let out: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(out["status"], "rollback_failed", "{out}");
    assert!(
        out["message"]
            .as_str()
            .unwrap()
            .contains("ROLLING BACK FAILED"),
        "{out}"
    );
    assert_eq!(out["rollback"][0]["label"], "stacks/network", "{out}");
    assert_eq!(out["rollback"][0]["ok"], false, "{out}");
    assert!(
        out["rollback"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("Out of diskspace"),
        "{out}"
    );
    let event = ledger(&repo, "staging").pop().unwrap();
    assert_eq!(event["outcome"], "rollback-failed", "{event}");
    assert!(
        event["targets"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["label"] == "stacks/network"),
        "{event}"
    );
}

/// A train named backwards (`--from staging --to dev`) or an environment into itself is
/// refused before anything is read, and the hint names the step strata would take, never
/// a `promotes_from` that would make a loop (which strata refuses in turn).
#[test]
fn a_train_named_backwards_is_refused_with_the_step_that_goes_down_it() {
    let repo = sample_repo();
    for (from, to) in [("staging", "dev"), ("dev", "dev"), ("prod", "dev")] {
        let run = repo.strata(&["promote", "plan", "--from", from, "--to", to]);
        assert_eq!(run.code, 2, "{from} -> {to}: {run:?}");
        assert!(
            run.stderr.contains(
                "hint: promotions go down the train, out of dev: `--from dev --to staging`"
            ) && !run.stderr.contains("promotes_from ="),
            "{from} -> {to}: {}",
            run.stderr
        );
    }
    // Out of order further down: the step into `to`.
    let run = repo.strata(&["promote", "plan", "--from", "dev", "--to", "prod"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains("`--from staging --to prod`"),
        "{}",
        run.stderr
    );
}

/// Policies and waivers are no part of a target's hash: a promotion verifies the promoted
/// commit's code in the destination with this checkout's policies and waivers, as the
/// source's checks (which the gates read) were judged. A waiver added after the code
/// arrived in dev accepted its finding there; the destination used to be judged by the
/// commit's own policies, without the waiver: it recorded a failed policy check above its
/// gate after a plan that said "no policy findings", and exited 0.
#[test]
fn a_promotion_judges_the_promoted_code_by_todays_policies_and_waivers() {
    let repo = tools_repo();
    repo.write(
        "WORKSPACE.toml",
        &format!(
            "{}\n[policy]\nbuiltin = false\n",
            std::fs::read_to_string(repo.path().join("WORKSPACE.toml")).unwrap()
        ),
    );
    repo.write(
        "stacks/app/main.tf",
        &format!("{NULL_PROVIDER}\nresource \"null_resource\" \"x\" {{\n  triggers = {{ v = \"1\" }}\n}}\n"),
    );
    let gates = "[gates]\nrequire = [\"plan\", \"policy\"]\napprovals = 0\nsoak = \"0m\"\n";
    repo.write(
        "environments/dev/env.toml",
        &format!("[state]\nbackend = \"local\"\n{gates}max_severity = \"high\"\n"),
    );
    repo.write(
        "environments/staging/env.toml",
        &format!("promotes_from = \"dev\"\n[state]\nbackend = \"local\"\n{gates}max_severity = \"medium\"\n"),
    );
    repo.write(
        "environments/prod/env.toml",
        &format!("promotes_from = \"staging\"\n[state]\nbackend = \"local\"\n{gates}max_severity = \"high\"\n"),
    );
    repo.write("policies/guard/policy.toml", "kinds = [\"stack\"]\n");
    repo.write(
        "policies/guard/guard.rego",
        "package main\nimport rego.v1\ndeny contains {\"msg\": \"guard finding\", \"severity\": \"high\", \"id\": \"GUARD-1\"} if { input.resource_changes }\n",
    );
    repo.commit("a stack and a policy that finds something in it");
    let apply_dev = |what: &str| {
        let run = repo.strata(&["apply", "--env", "dev", "--auto-approve"]);
        assert!(run.code == 0 || run.code == 1, "{}", run.stderr);
        repo.commit(what);
    };
    apply_dev("dev");
    let dev = lock_entry(&repo, "dev", "stacks/app").unwrap();
    assert_eq!(dev["max_severity"].as_str(), Some("high"), "{dev}");
    // The finding is waived; dev verifies the same hash again: no finding left.
    repo.write(
        "policies/waivers.toml",
        "[[waiver]]\nrule = \"GUARD-1\"\ntargets = \"stacks/*\"\nowner = \"sre@example.com\"\nreason = \"accepted\"\nexpires = \"2099-01-31\"\n",
    );
    repo.commit("waiver");
    apply_dev("dev again");
    let dev = lock_entry(&repo, "dev", "stacks/app").unwrap();
    assert!(dev.get("max_severity").is_none(), "{dev}");
    let code_commit = dev["commit"].as_str().unwrap().to_string();

    let plan = repo.strata(&[
        "promote", "plan", "--from", "dev", "--to", "staging", "--out", "p.json",
    ]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert!(
        plan.stdout.contains("no policy findings in dev"),
        "{}",
        plan.stdout
    );
    repo.commit("plan");
    let run = repo.strata(&["promote", "apply", "p.json"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        !run.stdout.contains("FAILED") && !run.stderr.contains("FAILED"),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
    let staging = lock_entry(&repo, "staging", "stacks/app").unwrap();
    assert_eq!(staging["commit"].as_str(), Some(code_commit.as_str()));
    assert_eq!(
        staging["checks"]["policy"].as_str(),
        Some("passed"),
        "{staging}"
    );
    assert!(staging.get("max_severity").is_none(), "{staging}");
    repo.commit("staging");

    // Since then the waiver is gone and the policy moved below its old directory, beside a
    // nested policy holding a link: prod judges the same code by the policy where it is now.
    repo.remove("policies/waivers.toml");
    repo.remove("policies/guard");
    repo.write("policies/guard/v2/policy.toml", "kinds = [\"stack\"]\n");
    repo.write(
        "policies/guard/v2/guard.rego",
        "package main\nimport rego.v1\ndeny contains {\"msg\": \"guard finding\", \"severity\": \"high\", \"id\": \"GUARD-1\"} if { input.resource_changes }\n",
    );
    repo.write("policies/guard/v2/sub/policy.toml", "kinds = [\"stack\"]\n");
    repo.write(
        "policies/guard/v2/sub/main.rego",
        "package sub\nimport rego.v1\nwarn contains \"never\" if { data.sub.never }\n",
    );
    repo.write(
        "policies/guard/v2/sub/data.json",
        "{\"sub\": {\"never\": false}}\n",
    );
    std::os::unix::fs::symlink(
        "data.json",
        repo.path().join("policies/guard/v2/sub/alias.json"),
    )
    .unwrap();
    repo.commit("the policy moved, the waiver withdrawn");
    let plan = repo.strata(&[
        "promote", "plan", "--from", "staging", "--to", "prod", "--out", "p2.json",
    ]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    // Staging's findings were judged with the waiver and the policy where it was: the plan
    // tells the approvers they are from then.
    assert!(
        plan.stdout.contains(
            "the policies or waivers that judge stacks/app in staging changed since it was verified there"
        ),
        "{}",
        plan.stdout
    );
    repo.commit("plan to prod");
    let run = repo.strata(&["promote", "apply", "p2.json"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let prod = lock_entry(&repo, "prod", "stacks/app").unwrap();
    assert_eq!(prod["commit"].as_str(), Some(code_commit.as_str()));
    // The moved policy judged it (prod allows a high finding, so its policy check passes).
    assert_eq!(prod["max_severity"].as_str(), Some("high"), "{prod}");
}

/// A promotion of a commit whose `[layout] policies` differ from this checkout's cannot be
/// judged by today's policies (that layout cannot place them): it is refused before
/// anything runs. It used to be refused only at the wave's verification, after the wave's
/// apply had changed the destination, which was then rolled back.
#[test]
fn a_promotion_of_a_commit_with_another_policy_layout_is_refused_before_it_applies() {
    let repo = tools_repo();
    let workspace = std::fs::read_to_string(repo.path().join("WORKSPACE.toml")).unwrap();
    guarded_train(&repo, "warn contains \"seen\"");
    repo.commit("dev");

    // Globs written otherwise that find the same policies are no change: the promotion
    // goes ahead.
    repo.write(
        "WORKSPACE.toml",
        &format!("{workspace}\n[layout]\npolicies = [\"later/*\", \"policies/*\"]\n\n[policy]\nbuiltin = false\n"),
    );
    repo.commit("a glob for policies to come");
    let plan = repo.strata(&[
        "promote", "plan", "--from", "dev", "--to", "staging", "--out", "p0.json",
    ]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    repo.commit("plan");
    let run = repo.strata(&["promote", "apply", "p0.json"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(lock_entry(&repo, "staging", "stacks/app").is_some());
    repo.commit("staging");
    repo.write("stacks/app/main.tf", &app_code("2"));
    repo.commit("v2");
    let run = repo.strata(&["apply", "--env", "dev", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    repo.commit("dev v2");

    // The policies move to another directory, and the layout with them.
    repo.write(
        "WORKSPACE.toml",
        &format!("{workspace}\n[layout]\npolicies = [\"rules/*\"]\n\n[policy]\nbuiltin = false\n"),
    );
    repo.remove("policies/guard");
    repo.write("rules/guard/policy.toml", "kinds = [\"stack\"]\n");
    repo.write(
        "rules/guard/guard.rego",
        "package main\nimport rego.v1\nwarn contains \"seen\" if { input.resource_changes }\n",
    );
    repo.commit("policies moved");
    let plan = repo.strata(&[
        "promote", "plan", "--from", "dev", "--to", "staging", "--out", "p.json",
    ]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    repo.commit("plan");
    let run = repo.strata(&["promote", "apply", "p.json"]);
    assert_ne!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let said = format!("{}{}", run.stdout, run.stderr);
    assert!(
        said.contains("`[layout] policies` in WORKSPACE.toml changed since commit")
            && said.contains("stacks/app"),
        "{said}"
    );
    // Nothing ran in staging: no apply (which used to be changed, and rolled back).
    assert!(
        !said.contains("apply [staging]") && !said.contains("roll"),
        "{said}"
    );
}

/// The code of `stacks/app` at version `v`: one resource, replaced when `v` changes.
fn app_code(v: &str) -> String {
    format!("{NULL_PROVIDER}\nresource \"null_resource\" \"x\" {{\n  triggers = {{ v = \"{v}\" }}\n}}\n")
}

/// dev → staging with local state and only a plan required, `stacks/app` at version 1, and
/// a policy `policies/guard` whose rule `head` fires on any change (the built-in pack off);
/// applied in dev.
fn guarded_train(repo: &Repo, head: &str) {
    let workspace = std::fs::read_to_string(repo.path().join("WORKSPACE.toml")).unwrap();
    repo.write(
        "WORKSPACE.toml",
        &format!("{workspace}\n[policy]\nbuiltin = false\n"),
    );
    repo.write("stacks/app/main.tf", &app_code("1"));
    let gates = "[gates]\nrequire = [\"plan\"]\napprovals = 0\nsoak = \"0m\"\n";
    repo.write(
        "environments/dev/env.toml",
        &format!("[state]\nbackend = \"local\"\n{gates}"),
    );
    repo.write(
        "environments/staging/env.toml",
        &format!("promotes_from = \"dev\"\n[state]\nbackend = \"local\"\n{gates}"),
    );
    repo.write("policies/guard/policy.toml", "kinds = [\"stack\"]\n");
    repo.write(
        "policies/guard/guard.rego",
        &format!("package main\nimport rego.v1\n{head} if {{ input.resource_changes }}\n"),
    );
    repo.commit("a stack and a policy");
    let run = repo.strata(&["apply", "--env", "dev", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

/// A waiver no one committed (or reviewed) must not decide the checks a lock entry records:
/// they gate the next environment. A dev apply judged by one is not recorded, and a
/// promotion from a checkout that has one is refused before anything runs.
#[test]
fn checks_judged_by_uncommitted_waivers_are_neither_recorded_nor_promoted() {
    let repo = tools_repo();
    guarded_train(&repo, "deny contains \"no changes without review\"");
    let policy_check = |env: &str| {
        lock_entry(&repo, env, "stacks/app").map(|e| {
            (
                e["hash"].as_str().unwrap().to_string(),
                e["checks"]["policy"].as_str().unwrap().to_string(),
            )
        })
    };
    let (v1, check) = policy_check("dev").expect("dev recorded");
    assert_eq!(check, "failed");
    repo.commit("dev");
    repo.write("stacks/app/main.tf", &app_code("2"));
    repo.commit("v2");

    let waiver = "[[waiver]]\nrule = \"policies/guard/main.deny\"\ntargets = \"stacks/app\"\nowner = \"mallory@example.com\"\nreason = \"local only\"\nexpires = \"2099-01-01\"\n";
    repo.write("policies/waivers.toml", waiver);
    let run = repo.strata(&["apply", "--env", "dev", "--auto-approve"]);
    let said = format!("{}{}", run.stdout, run.stderr);
    assert_ne!(run.code, 0, "{said}");
    assert!(
        said.contains("stacks/app not recorded: its checks were judged by policies or waivers changed since the last commit"),
        "{said}"
    );
    assert_eq!(policy_check("dev"), Some((v1, "failed".into())), "{said}");

    // Without it, dev records v2 as the policy judges it, and the plan moves it on.
    repo.remove("policies/waivers.toml");
    let run = repo.strata(&["apply", "--env", "dev", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let (v2, check) = policy_check("dev").unwrap();
    assert_eq!(check, "failed");
    repo.commit("dev v2");
    let plan = repo.strata(&[
        "promote", "plan", "--from", "dev", "--to", "staging", "--out", "p.json",
    ]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    repo.commit("plan");

    repo.write("policies/waivers.toml", waiver);
    let run = repo.strata(&["promote", "apply", "p.json"]);
    let said = format!("{}{}", run.stdout, run.stderr);
    assert_ne!(run.code, 0, "{said}");
    assert!(
        said.contains("the policies or waivers that judge stacks/app in staging have uncommitted changes in this checkout"),
        "{said}"
    );
    assert!(!said.contains("apply [staging]"), "{said}");
    assert_eq!(policy_check("staging"), None);

    repo.remove("policies/waivers.toml");
    let run = repo.strata(&["promote", "apply", "p.json"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(policy_check("staging"), Some((v2, "failed".into())));
}

/// The gate a promotion is judged by is the commit's: staging's committed env.toml wants an
/// approval, and an edit in the work tree that drops it (no one reviewed, no commit holds)
/// does not let the plan through; the refusal names the file.
#[test]
fn a_gate_loosened_without_a_commit_does_not_let_a_promotion_through() {
    let repo = tools_repo();
    guarded_train(&repo, "ok");
    repo.commit("dev");
    let plan = repo.strata(&[
        "promote", "plan", "--from", "dev", "--to", "staging", "--out", "p.json",
    ]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    repo.commit("plan");
    let staging = "environments/staging/env.toml";
    let committed = std::fs::read_to_string(repo.path().join(staging)).unwrap();
    repo.write(
        staging,
        &committed.replace("soak = \"0m\"", "soak = \"0m\"\n# loosened"),
    );
    let run = repo.strata(&["promote", "apply", "p.json"]);
    let said = format!("{}{}", run.stdout, run.stderr);
    assert_ne!(run.code, 0, "{said}");
    assert!(
        said.contains("environments/staging/env.toml has uncommitted changes in this checkout"),
        "{said}"
    );
    assert!(!said.contains("apply [staging]"), "{said}");
    assert_eq!(lock_entry(&repo, "staging", "stacks/app"), None);
    // An approver list no commit holds is refused the same way.
    repo.write(staging, &committed);
    repo.write(
        "environments/allowed_signers",
        "mallory@example.com ssh-ed25519 AAAA\n",
    );
    let run = repo.strata(&["promote", "apply", "p.json"]);
    let said = format!("{}{}", run.stdout, run.stderr);
    assert_ne!(run.code, 0, "{said}");
    assert!(
        said.contains("environments/allowed_signers has uncommitted changes"),
        "{said}"
    );
    repo.remove("environments/allowed_signers");
    let run = repo.strata(&["promote", "apply", "p.json"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(lock_entry(&repo, "staging", "stacks/app").is_some());
}

/// A step runs with the code of its source entry's commit, against the destination's state
/// where it is now: staging's state moved (here to another local path) after the commit
/// dev applied, and the promotion writes it there, never at the old place that commit's
/// env.toml names.
#[test]
fn a_promotion_applies_against_the_destinations_state_where_it_is_now() {
    let repo = tools_repo();
    guarded_train(&repo, "ok");
    repo.commit("dev");
    let moved = tempfile::tempdir().unwrap();
    let staging = "environments/staging/env.toml";
    let env_toml = std::fs::read_to_string(repo.path().join(staging)).unwrap();
    repo.write(
        staging,
        &env_toml.replace(
            "backend = \"local\"\n",
            &format!(
                "backend = \"local\"\n[state.config]\npath = \"{}/{{env}}-{{label_id}}.tfstate\"\n",
                moved.path().display()
            ),
        ),
    );
    repo.commit("staging's state moves");
    let plan = repo.strata(&[
        "promote", "plan", "--from", "dev", "--to", "staging", "--out", "p.json",
    ]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    repo.commit("plan");
    let run = repo.strata(&["promote", "apply", "p.json"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let written: Vec<String> = std::fs::read_dir(moved.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tfstate"))
        .collect();
    assert_eq!(
        written.len(),
        1,
        "no state where staging's is now: {written:?}"
    );
    assert!(
        !repo.state_file("staging", "stacks/app").exists(),
        "the promotion wrote the old place"
    );
}
