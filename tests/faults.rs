//! Faults and secrets: a green run means everything asked for was verified, no sensitive
//! value reaches a cache, a work directory, a report or a log, and no fault leaves the
//! checkout or the cache broken. Every secret case searches everything strata wrote.

mod common;
use common::{files_containing, Repo, Run};
use std::path::Path;
use std::process::Command;

const SECRET: &str = "hunter2-Sw0rdf1sh-7c1f";

/// `strata ARGS` in `repo` with extra environment, and TMPDIR pointing at `tmp` so the
/// temporary files strata makes can be checked.
fn strata_with(repo: &Repo, tmp: &Path, env: &[(&str, &str)], args: &[&str]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_strata"));
    cmd.current_dir(repo.path())
        .args(args)
        .env_remove("GIT_DIR")
        .env("STRATA_DAEMON", "0")
        .env("TMPDIR", tmp);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap().into()
}

/// A database stack with a sensitive output, a stack and a chart that consume it.
fn sensitive_flow() -> Repo {
    let repo = common::tools_repo();
    repo.write(
        "stacks/db/main.tf",
        r#"variable "db_password" {
  type      = string
  sensitive = true
}

output "password" {
  value     = var.db_password
  sensitive = true
}

output "host" {
  value = "db.internal"
}
"#,
    );
    repo.write(
        "stacks/consumer/main.tf",
        r#"variable "pw" {
  type = string
}

variable "host" {
  type = string
}

resource "null_resource" "client" {
  triggers = {
    dsn = "postgres://app:${var.pw}@${var.host}/app"
  }
}
"#,
    );
    repo.write(
        "stacks/consumer/stack.toml",
        "[inputs]\npw = \"stacks/db:password\"\nhost = \"stacks/db:host\"\n",
    );
    repo.write(
        "charts/app/Chart.yaml",
        "apiVersion: v2\nname: app\nversion: 0.1.0\n",
    );
    repo.write(
        "charts/app/templates/secret.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: app\ndata:\n  password: {{ .Values.pw | b64enc }}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  dsn: \"postgres://app:{{ .Values.pw }}@db/app\"\n",
    );
    repo.write(
        "charts/app/chart.toml",
        "[inputs]\npw = \"stacks/db:password\"\n",
    );
    repo.commit("sensitive flow");
    repo
}

/// Asserts that nothing strata wrote or printed holds the secret, in any form.
fn assert_no_secret(repo: &Repo, tmp: &Path, runs: &[&Run], reports: &[&str]) {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(SECRET);
    for needle in [SECRET.to_string(), b64] {
        for run in runs {
            assert!(
                !run.stdout.contains(&needle),
                "stdout holds {needle}:\n{}",
                run.stdout
            );
            assert!(
                !run.stderr.contains(&needle),
                "stderr holds {needle}:\n{}",
                run.stderr
            );
        }
        // The state holds it by design (terraform's own file; see docs/security.md).
        let leaks = files_containing(&repo.path().join(".strata"), needle.as_bytes(), &["state"]);
        assert!(leaks.is_empty(), "{needle} written to {leaks:#?}");
        for report in reports {
            let text = std::fs::read_to_string(repo.path().join(report)).unwrap();
            assert!(!text.contains(&needle), "{report} holds {needle}");
        }
        let leftovers = files_containing(tmp, needle.as_bytes(), &[]);
        assert!(leftovers.is_empty(), "temporary files left: {leftovers:#?}");
    }
}

#[test]
fn a_sensitive_output_stays_sensitive_wherever_it_flows() {
    let repo = sensitive_flow();
    let tmp = tempfile::tempdir().unwrap();
    let env = [("TF_VAR_db_password", SECRET)];
    let apply = strata_with(
        &repo,
        tmp.path(),
        &env,
        &["apply", "--env", "dev", "stacks/db", "stacks/consumer"],
    );
    assert_eq!(apply.code, 0, "{}", apply.stderr);
    let check = strata_with(
        &repo,
        tmp.path(),
        &env,
        &[
            "--json",
            "check",
            "--env",
            "dev",
            "--junit",
            "junit.xml",
            "--summary-md",
            "summary.md",
            "--sarif",
            "findings.sarif",
        ],
    );
    assert_eq!(check.code, 0, "{}\n{}", check.stdout, check.stderr);
    let json: serde_json::Value = serde_json::from_str(&check.stdout).unwrap();
    let rendered = json["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["label"] == "charts/app" && t["action"] == "render" && t["status"] == "ok");
    assert!(rendered, "the chart rendered with the value: {json}");
    let explain = strata_with(
        &repo,
        tmp.path(),
        &env,
        &["hash", "--explain", "stacks/consumer"],
    );
    assert_no_secret(
        &repo,
        tmp.path(),
        &[&apply, &check, &explain],
        &["junit.xml", "summary.md", "findings.sarif"],
    );

    // The consumer's plan fails on the value: the failure is reported, the value is not.
    repo.write(
        "stacks/consumer/fail.tf",
        "output \"n\" {\n  value     = tonumber(var.pw)\n  sensitive = true\n}\n",
    );
    let failed = strata_with(
        &repo,
        tmp.path(),
        &env,
        &[
            "--json",
            "check",
            "--env",
            "dev",
            "stacks/consumer",
            "--junit",
            "junit.xml",
            "--summary-md",
            "summary.md",
        ],
    );
    assert_eq!(failed.code, 1, "{}\n{}", failed.stdout, failed.stderr);
    let verbose = strata_with(
        &repo,
        tmp.path(),
        &env,
        &["check", "-v", "--env", "dev", "stacks/consumer"],
    );
    assert_eq!(verbose.code, 1);
    assert_no_secret(
        &repo,
        tmp.path(),
        &[&failed, &verbose],
        &["junit.xml", "summary.md"],
    );
}
