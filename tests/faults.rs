//! Faults and secrets: a green run means everything asked for was verified, no sensitive
//! value reaches a cache, a work directory, a report or a log, and no fault leaves the
//! checkout or the cache broken. Every secret case searches everything strata wrote.
#![allow(clippy::disallowed_methods)] // tests drive git, the real strata binary and tools

mod common;
use common::{files_containing, Repo, Run};
use std::path::Path;

const SECRET: &str = "hunter2-Sw0rdf1sh-7c1f";

/// `strata ARGS` in `repo` with extra environment, and TMPDIR pointing at `tmp` so the
/// temporary files strata makes can be checked.
fn strata_with(repo: &Repo, tmp: &Path, env: &[(&str, &str)], args: &[&str]) -> Run {
    let mut cmd = repo.command(args);
    cmd.env("TMPDIR", tmp);
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
    assert_not_written(repo, tmp, runs, reports, SECRET, &["state"]);
}

/// Asserts that nothing strata wrote or printed holds `secret`, plain or in base64, but for
/// the paths in `.strata` that `skip` names.
fn assert_not_written(
    repo: &Repo,
    tmp: &Path,
    runs: &[&Run],
    reports: &[&str],
    secret: &str,
    skip: &[&str],
) {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(secret);
    for needle in [secret.to_string(), b64] {
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
        let leaks = files_containing(&repo.path().join(".strata"), needle.as_bytes(), skip);
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
        &[
            "apply",
            "--auto-approve",
            "--env",
            "dev",
            "stacks/db",
            "stacks/consumer",
        ],
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

/// A sensitive variable's value strata never handles itself (from `TF_VAR_*`, or from the
/// environment's variable file) and a value terraform derives from a sensitive upstream
/// output: terraform 1.0 quotes both in the detail of a function's error. Neither reaches
/// a report or the terminal.
#[test]
fn values_terraform_quotes_from_sensitive_variables_are_not_reported() {
    let repo = sensitive_flow();
    let tmp = tempfile::tempdir().unwrap();
    let env = [("TF_VAR_db_password", SECRET)];
    let apply = strata_with(
        &repo,
        tmp.path(),
        &env,
        &["apply", "--auto-approve", "--env", "dev", "stacks/db"],
    );
    assert_eq!(apply.code, 0, "{}", apply.stderr);
    let failing = |repo: &Repo, env: &[(&str, &str)], label: &str| {
        let run = strata_with(
            repo,
            tmp.path(),
            env,
            &[
                "--json",
                "check",
                "--env",
                "dev",
                label,
                "--junit",
                "junit.xml",
                "--summary-md",
                "summary.md",
            ],
        );
        assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
        let plan = strata_with(
            repo,
            tmp.path(),
            env,
            &["plan", "-v", "--env", "dev", label],
        );
        assert_eq!(plan.code, 1, "{}\n{}", plan.stdout, plan.stderr);
        (run, plan)
    };
    // The consumer's plan fails on a value made from the upstream one.
    repo.write(
        "stacks/consumer/fail.tf",
        "output \"d\" {\n  value     = file(replace(var.pw, \"-\", \"_\"))\n  sensitive = true\n}\n",
    );
    repo.commit("a failing output");
    let (check, plan) = failing(&repo, &env, "stacks/consumer");
    assert!(
        check
            .stdout
            .contains("Invalid value for \\\"path\\\" parameter: (the rest is withheld"),
        "{}",
        check.stdout
    );
    let derived = SECRET.replace('-', "_");
    assert_not_written(
        &repo,
        tmp.path(),
        &[&check, &plan],
        &["junit.xml", "summary.md"],
        &derived,
        &["state"],
    );
    // A key a `for` expression makes of it: terraform 1.0 quotes the key and says nothing
    // of a sensitive value.
    repo.write(
        "stacks/consumer/fail.tf",
        "output \"k\" {\n  value     = { for c in [strrev(var.pw), strrev(var.pw)] : c => 1 }\n  sensitive = true\n}\n",
    );
    repo.commit("a duplicate key");
    let (check, plan) = failing(&repo, &env, "stacks/consumer");
    assert!(
        check.stdout.contains("Duplicate object key"),
        "{}",
        check.stdout
    );
    let reversed: String = SECRET.chars().rev().collect();
    assert_not_written(
        &repo,
        tmp.path(),
        &[&check, &plan],
        &["junit.xml", "summary.md"],
        &reversed,
        &["state"],
    );
    repo.remove("stacks/consumer/fail.tf");
    // The database's own plan fails on its variable, given in the environment.
    repo.write(
        "stacks/db/fail.tf",
        "output \"f\" {\n  value     = file(var.db_password)\n  sensitive = true\n}\n",
    );
    repo.commit("a failing output");
    let (check, plan) = failing(&repo, &env, "stacks/db");
    assert_no_secret(
        &repo,
        tmp.path(),
        &[&check, &plan],
        &["junit.xml", "summary.md"],
    );
    // And in the environment's variable file, as a value of the wrong type: terraform
    // shows the file's line.
    repo.write(
        "environments/dev/stacks/db/terraform.tfvars",
        &format!("db_password = [\"{SECRET}\"]\n"),
    );
    repo.commit("the password in a variable file");
    let (check, plan) = failing(&repo, &[], "stacks/db");
    // The sandbox holds the variable file it was given (docs/security.md), nothing else.
    assert_not_written(
        &repo,
        tmp.path(),
        &[&check, &plan],
        &["junit.xml", "summary.md"],
        SECRET,
        &[
            "state",
            "work/dev/stacks%2Fdb/src/environments/dev/stacks/db/terraform.tfvars",
        ],
    );
}

/// A run in which an asked-for task did not run is not a success, in every output.
/// A tool's output goes to files in the temporary directory. When that fills up, the
/// tool's writes fail and it may still exit 0: helm then prints its manifests cut short,
/// between two documents (a render that looks whole, with fewer objects) or inside one (a
/// syntax error, which made the count of objects loop for ever). Either way the task fails
/// naming the full directory, nothing is cached, and a later run with room renders all.
#[test]
fn a_full_temporary_directory_fails_the_task_instead_of_trusting_cut_output() {
    let Some(small) = common::SmallFs::mount(64) else {
        return;
    };
    let repo = common::tools_repo();
    repo.write(
        "charts/big/Chart.yaml",
        "apiVersion: v2\nname: big\nversion: 0.1.0\n",
    );
    repo.write(
        "charts/big/templates/cm.yaml",
        "{{- range $i := until 40 }}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{{ printf \"%04d\" $i }}\ndata:\n  k: {{ $.Values.pad }}\n{{- end }}\n",
    );
    for pad in [4000, 4013] {
        // 4000: documents of about 4 KiB, cut at a boundary; 4013: cut inside one.
        repo.write(
            "charts/big/values.yaml",
            &format!("pad: \"{}\"\n", "x".repeat(pad)),
        );
        repo.commit(&format!("pad {pad}"));
        let run = repo
            .command(&["check", "--env", "dev", "charts/big"])
            .env("TMPDIR", small.path())
            .output()
            .unwrap();
        let run: Run = run.into();
        assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
        assert!(
            run.stderr.contains("had no room left after it") && run.stderr.contains("FAILED"),
            "{}\n{}",
            run.stdout,
            run.stderr
        );
        let roomy = repo.strata(&["check", "--env", "dev", "charts/big"]);
        assert_eq!(roomy.code, 0, "{}", roomy.stderr);
        assert!(
            roomy.stderr.contains("render [dev]  40 objects")
                && !roomy.stderr.contains("cached          charts/big render"),
            "{}",
            roomy.stderr
        );
    }
    // An apply that fills the directory while it runs (terraform's own copy of its output,
    // which it deletes on exit, no longer hides it): failed, saying it may have changed
    // things; with room again, the next plan sees what it did.
    let fill = small.path().join("fill");
    repo.write(
        "stacks/net/main.tf",
        &format!(
            "{}\nresource \"null_resource\" \"n\" {{\n  provisioner \"local-exec\" {{\n    command = \"echo before; dd if=/dev/zero of={} bs=1k count=256 2>/dev/null; for i in $(seq 300); do echo line $i; done\"\n  }}\n}}\n",
            common::NULL_PROVIDER,
            fill.display()
        ),
    );
    repo.commit("a stack whose apply fills the directory");
    let run: Run = repo
        .command(&["apply", "--auto-approve", "--env", "dev", "stacks/net"])
        .env("TMPDIR", small.path())
        .output()
        .unwrap()
        .into();
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("terraform apply ran (exit 0), but the temporary directory")
            && run.stderr.contains("it may have changed what it manages"),
        "{}",
        run.stderr
    );
    std::fs::remove_file(&fill).unwrap();
    let plan = repo.strata(&["plan", "--env", "dev", "stacks/net"]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert!(plan.stdout.contains("1 without changes"), "{}", plan.stdout);
}

/// Terraform does not mark an output read through `terraform_remote_state` as sensitive,
/// so what a reader derives from a sensitive one (`replace(…)`) would be in clear text in
/// its plan, its log and the cache, where searching for the value cannot find it. Such a
/// read fails the reader's plan, naming the file, line and the input to use instead; a
/// read of an output that is not sensitive goes on; and read as that input, terraform
/// marks what is derived and nothing strata writes holds it.
#[test]
fn a_sensitive_output_read_through_remote_state_is_refused_not_leaked() {
    let derived = "Zq9_SECRET_canary_77";
    let repo = common::tools_repo();
    repo.write(
        "stacks/db/main.tf",
        "resource \"null_resource\" \"x\" {}\n\noutput \"pw\" {\n  value     = join(\"-\", [\"Zq9\", \"SECRET\", \"canary\", \"77\"])\n  sensitive = true\n}\n\noutput \"host\" {\n  value = \"db.internal\"\n}\n",
    );
    repo.commit("db");
    repo.strata(&["apply", "--auto-approve", "--env", "dev", "stacks/db"])
        .assert_ok();
    let state = repo.state_file("dev", "stacks/db");
    let reader = |triggers: &str, extra: &str, stack_toml: &str| {
        repo.write(
            "stacks/reader/main.tf",
            &format!(
                "data \"terraform_remote_state\" \"db\" {{\n  backend = \"local\"\n  config  = {{ path = \"{}\" }}\n}}\n{extra}\nresource \"null_resource\" \"y\" {{\n  triggers = {{ {triggers} }}\n}}\n",
                state.display()
            ),
        );
        repo.write("stacks/reader/stack.toml", stack_toml);
        repo.commit(triggers);
    };
    let deps = "deps = [\"stacks/db\"]\n";
    let tmp = tempfile::tempdir().unwrap();
    reader("h = data.terraform_remote_state.db.outputs.host", "", deps);
    let host = strata_with(
        &repo,
        tmp.path(),
        &[],
        &["plan", "--env", "dev", "stacks/reader"],
    );
    assert_eq!(host.code, 0, "{}", host.stderr);
    reader(
        "w = replace(data.terraform_remote_state.db.outputs.pw, \"-\", \"_\")",
        "",
        deps,
    );
    let refused = strata_with(
        &repo,
        tmp.path(),
        &[],
        &["plan", "--env", "dev", "stacks/reader"],
    );
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(
        refused.stderr.contains(
            "stacks/reader/main.tf:7 reads `pw` through terraform_remote_state, a sensitive output of stacks/db"
        ) && refused.stderr.contains("`pw = \"stacks/db:pw\"` under [inputs]"),
        "{}",
        refused.stderr
    );
    let show = repo.strata(&["show", "stacks/reader", "--env", "dev"]);
    assert_not_written(
        &repo,
        tmp.path(),
        &[&refused, &show],
        &[],
        derived,
        &["state"],
    );
    // The data source handed on whole (to a local) may be read for any output: refused too.
    reader(
        "w = replace(local.rs.outputs.pw, \"-\", \"_\")",
        "\nlocals {\n  rs = data.terraform_remote_state.db\n}\n",
        deps,
    );
    let whole = strata_with(
        &repo,
        tmp.path(),
        &[],
        &["plan", "--env", "dev", "stacks/reader"],
    );
    assert_eq!(whole.code, 1, "{}", whole.stderr);
    assert!(
        whole
            .stderr
            .contains("as a whole or by a computed key, and `stacks/db:pw` is sensitive"),
        "{}",
        whole.stderr
    );
    assert_not_written(&repo, tmp.path(), &[&whole], &[], derived, &["state"]);
    // A data source named `db` is named after two deps here (`stacks/a/db`, whose `pw` is
    // no secret, and `stacks/db`): it may read either, so the read is refused.
    repo.write(
        "stacks/a/db/main.tf",
        "output \"pw\" {\n  value = \"not-a-secret\"\n}\n",
    );
    repo.commit("another db");
    repo.strata(&["apply", "--auto-approve", "--env", "dev", "stacks/a/db"])
        .assert_ok();
    reader(
        "w = replace(data.terraform_remote_state.db.outputs.pw, \"-\", \"_\")",
        "",
        "deps = [\"stacks/a/db\", \"stacks/db\"]\n",
    );
    let two = strata_with(
        &repo,
        tmp.path(),
        &[],
        &["plan", "--env", "dev", "stacks/reader"],
    );
    assert_eq!(two.code, 1, "{}", two.stderr);
    assert_not_written(&repo, tmp.path(), &[&two], &[], derived, &["state"]);
    // As the message says: an input, which strata marks sensitive.
    reader(
        "w = replace(var.pw, \"-\", \"_\")",
        "\nvariable \"pw\" {\n  type = string\n}\n",
        &format!("{deps}\n[inputs]\npw = \"stacks/db:pw\"\n"),
    );
    let input = strata_with(
        &repo,
        tmp.path(),
        &[],
        &["plan", "--env", "dev", "-v", "stacks/reader"],
    );
    assert_eq!(input.code, 0, "{}", input.stderr);
    let show = repo.strata(&["show", "stacks/reader", "--env", "dev"]);
    assert_not_written(
        &repo,
        tmp.path(),
        &[&input, &show],
        &[],
        derived,
        &["state"],
    );
}

#[test]
fn tasks_that_did_not_run_fail_the_run_unless_accepted() {
    let repo = sensitive_flow();
    let tmp = tempfile::tempdir().unwrap();
    // No state for stacks/db yet: the consumer's plan cannot run.
    let args = [
        "--json",
        "check",
        "--env",
        "dev",
        "stacks/consumer",
        "--junit",
        "junit.xml",
        "--summary-md",
        "summary.md",
    ];
    let run = strata_with(&repo, tmp.path(), &[], &args);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(json["ok"], false);
    // The plan, and the policy task of the built-in pack that reads it.
    let incomplete = json["incomplete"].as_array().unwrap();
    assert_eq!(incomplete.len(), 2, "{json}");
    assert_eq!(incomplete[0]["label"], "stacks/consumer");
    assert_eq!(incomplete[0]["action"], "plan");
    assert!(incomplete[0]["reason"]
        .as_str()
        .unwrap()
        .contains("stacks/db has no state"));
    assert_eq!(incomplete[1]["action"], "policy");
    assert_eq!(incomplete[1]["reason"], "plan was skipped");
    assert!(run.stderr.contains("did not run"), "{}", run.stderr);
    let junit = std::fs::read_to_string(repo.path().join("junit.xml")).unwrap();
    assert!(
        junit.contains("<error message=\"did not run: stacks/db has no state"),
        "{junit}"
    );
    let md = std::fs::read_to_string(repo.path().join("summary.md")).unwrap();
    assert!(md.starts_with("## strata\n\n❌"), "{md}");
    assert!(md.contains("### Did not run"), "{md}");

    // Accepted explicitly: exit 0, still listed.
    let mut accepted = args.to_vec();
    accepted.push("--allow-incomplete");
    let run = strata_with(&repo, tmp.path(), &[], &accepted);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(json["ok"], true);
    assert_eq!(json["incomplete"].as_array().unwrap().len(), 2);
    let junit = std::fs::read_to_string(repo.path().join("junit.xml")).unwrap();
    assert!(junit.contains("<skipped message="), "{junit}");
}

/// `policy eval` that evaluated nothing (validation failed first) is not a clean result.
#[test]
fn a_policy_evaluation_that_did_not_run_is_not_clean() {
    let repo = common::tools_repo();
    repo.write(
        "stacks/app/main.tf",
        "terraform {\n  required_providers {\n    nosuch = {\n      source = \"example.com/acme/nosuch\"\n    }\n  }\n}\n",
    );
    repo.write(
        "policies/guard/guard.rego",
        "package main\n\nimport rego.v1\n\ndeny contains \"x\" if false\n",
    );
    repo.commit("a stack whose provider cannot be installed");
    let tmp = tempfile::tempdir().unwrap();
    let run = strata_with(
        &repo,
        tmp.path(),
        &[],
        &["policy", "eval", "--env", "dev", "--sarif", "out.sarif"],
    );
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let sarif: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo.path().join("out.sarif")).unwrap())
            .unwrap();
    let invocation = &sarif["runs"][0]["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], false, "{sarif}");
    assert!(
        !invocation["toolExecutionNotifications"]
            .as_array()
            .unwrap()
            .is_empty(),
        "{sarif}"
    );
}

/// Two runs at once on one checkout: the second waits for the first, both succeed, and
/// the checkout is left working.
#[test]
fn two_runs_at_once_take_turns_and_leave_the_checkout_working() {
    let repo = common::tools_repo();
    repo.write(
        "modules/naming/main.tf",
        "variable \"name\" {\n  type = string\n}\n\noutput \"id\" {\n  value = \"acme-${var.name}\"\n}\n",
    );
    repo.write(
        "stacks/app/main.tf",
        "module \"naming\" {\n  source = \"../../modules/naming\"\n  name   = \"app\"\n}\n\nresource \"null_resource\" \"x\" {\n  triggers = {\n    id = module.naming.id\n  }\n}\n",
    );
    repo.commit("two targets");
    let tmp = tempfile::tempdir().unwrap();
    for round in 0..2 {
        let spawn = || {
            repo.command(&["check", "--no-cache", "--env", "dev", "--allow-incomplete"])
                .env("TMPDIR", tmp.path())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (a, b) = (spawn(), spawn());
        let (a, b): (Run, Run) = (
            a.wait_with_output().unwrap().into(),
            b.wait_with_output().unwrap().into(),
        );
        assert_eq!(a.code, 0, "round {round}: {}", a.stderr);
        assert_eq!(b.code, 0, "round {round}: {}", b.stderr);
        let waited = [&a, &b]
            .iter()
            .filter(|r| r.stderr.contains("waiting for strata run (pid"))
            .count();
        assert_eq!(
            waited, 1,
            "round {round}: one run waits for the other\n{}\n{}",
            a.stderr, b.stderr
        );
    }
    let after = strata_with(
        &repo,
        tmp.path(),
        &[],
        &["check", "--env", "dev", "--allow-incomplete"],
    );
    assert_eq!(after.code, 0, "{}", after.stderr);
}

/// Two applies of different stacks at once in one checkout: they take turns at the run and
/// at the release lock, the lock keeps every entry, and the ledger both wrote verifies.
/// (Entries were lost when both runs read, changed and wrote the lock at once; the runs'
/// turns at the checkout make that window small, so this test seldom hits it without the
/// lock's own turn: it guards the outcome; the turn itself is tested deterministically by
/// [`an_apply_waits_for_its_turn_at_the_release_lock_before_recording`].)
#[test]
fn two_applies_at_once_both_record_their_entries() {
    let repo = common::tools_repo();
    for name in ["a", "b", "c", "d"] {
        repo.write(
            &format!("stacks/{name}/main.tf"),
            &format!("output \"v\" {{\n  value = \"{name}-1\"\n}}\n"),
        );
    }
    repo.commit("four stacks");
    let lock = repo.path().join("environments/dev/release.lock.toml");
    for round in 1..=3 {
        if round > 1 {
            for name in ["a", "b", "c", "d"] {
                repo.write(
                    &format!("stacks/{name}/main.tf"),
                    &format!("output \"v\" {{\n  value = \"{name}-{round}\"\n}}\n"),
                );
            }
            repo.commit(&format!("round {round}"));
        }
        let spawn = |labels: &[&str]| {
            let mut args = vec!["apply", "--auto-approve", "--env", "dev"];
            args.extend_from_slice(labels);
            repo.command(&args)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (x, y) = (
            spawn(&["stacks/a", "stacks/b"]),
            spawn(&["stacks/c", "stacks/d"]),
        );
        let (x, y): (Run, Run) = (
            x.wait_with_output().unwrap().into(),
            y.wait_with_output().unwrap().into(),
        );
        assert_eq!(x.code, 0, "round {round}: {}", x.stderr);
        assert_eq!(y.code, 0, "round {round}: {}", y.stderr);
        let text = std::fs::read_to_string(&lock).unwrap();
        for name in ["a", "b", "c", "d"] {
            assert!(
                text.contains(&format!("[targets.\"stacks/{name}\"]")),
                "round {round}: stacks/{name} lost from the lock:\n{text}"
            );
        }
        let head = repo.git(&["rev-parse", "HEAD"]);
        assert_eq!(
            text.matches(head.trim()).count(),
            4,
            "round {round}: every entry names this round's commit:\n{text}"
        );
        let verify = repo.strata(&["audit", "verify"]);
        assert_eq!(verify.code, 0, "round {round}: {}", verify.stdout);
        repo.commit(&format!("round {round}'s lock"));
    }
}

/// Runs the workspace's tools from `dir` (wrappers around the pinned ones) instead of
/// `.tools/bin`.
fn use_tools_dir(repo: &Repo, dir: &Path) {
    let workspace = std::fs::read_to_string(repo.path().join("WORKSPACE.toml")).unwrap();
    repo.write(
        "WORKSPACE.toml",
        &workspace.replace(
            "tools_dir = \".tools/bin\"",
            &format!("tools_dir = \"{}\"", dir.display()),
        ),
    );
}

fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// `helm dependency build` dies part-way (after writing a damaged `charts/`), first on its
/// own and then taking strata with it (killed outright, as by the OOM killer): neither
/// leaves a `charts/` that later runs trust. The next run builds the dependencies again and
/// renders what a clean run renders.
#[test]
fn a_dependency_build_that_dies_part_way_is_built_again() {
    let repo = common::tools_repo();
    repo.write(
        "charts/lib/Chart.yaml",
        "apiVersion: v2\nname: lib\nversion: 0.1.0\ntype: library\n",
    );
    repo.write(
        "charts/lib/templates/_names.tpl",
        "{{- define \"lib.name\" -}}lib-{{ .Release.Name }}{{- end -}}\n",
    );
    repo.write(
        "charts/app/Chart.yaml",
        "apiVersion: v2\nname: app\nversion: 0.1.0\ndependencies:\n  - name: lib\n    version: 0.1.0\n    repository: file://../lib\n",
    );
    repo.write(
        "charts/app/templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ include \"lib.name\" . }}\n",
    );
    // helm behind a wrapper that, while `crash` says how, builds the dependencies in the dev
    // sandbox (where lint and render read them), damages what it built and dies: `helm`
    // (helm alone) or `strata` (its parent too).
    let tools = tempfile::tempdir().unwrap();
    let crash = tools.path().join("crash");
    let real = common::repo_root().join(".tools/bin");
    std::os::unix::fs::symlink(real.join("terraform"), tools.path().join("terraform")).unwrap();
    let helm = tools.path().join("helm");
    std::fs::write(
        &helm,
        format!(
            "#!/bin/sh\n\
             case \"$PWD\" in */dev/*) dev=1;; *) dev=;; esac\n\
             if [ \"$1\" = dependency ] && [ -n \"$dev\" ] && [ -e {crash} ]; then\n\
               how=$(cat {crash}); rm -f {crash}\n\
               {real} \"$@\" >/dev/null 2>&1\n\
               for f in charts/*.tgz; do head -c 64 \"$f\" > \"$f.part\"; mv \"$f.part\" \"$f\"; done\n\
               [ \"$how\" = strata ] && kill -9 $PPID\n\
               kill -9 $$\n\
             fi\n\
             exec {real} \"$@\"\n",
            crash = crash.display(),
            real = real.join("helm").display()
        ),
    )
    .unwrap();
    make_executable(&helm);
    use_tools_dir(&repo, tools.path());
    repo.commit("a chart with a dependency");
    let check = || {
        repo.strata(&[
            "--json",
            "check",
            "--no-cache",
            "--env",
            "dev",
            "charts/app",
        ])
    };
    let rendered = |run: &Run| -> Vec<String> {
        run.json()["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["action"] == "render")
            .map(|t| t["rendered"].as_str().unwrap_or("none").to_string())
            .collect()
    };

    let clean = check();
    assert_eq!(clean.code, 0, "{}", clean.stderr);
    let expected = rendered(&clean);
    assert_eq!(expected.len(), 1, "{}", clean.stdout);
    std::fs::remove_dir_all(repo.path().join(".strata")).unwrap();

    for how in ["helm", "strata"] {
        std::fs::write(&crash, how).unwrap();
        let crashed = check();
        assert_ne!(crashed.code, 0, "{how}: {}", crashed.stderr);
        assert!(!crash.exists(), "{how}: the dependency build ran");
        let after = check();
        assert_eq!(after.code, 0, "after {how} died: {}", after.stderr);
        assert_eq!(rendered(&after), expected, "after {how} died");
        std::fs::remove_dir_all(repo.path().join(".strata")).unwrap();
    }
}

/// The release lock is read, changed and written in a turn at
/// `.strata/release-<env>.lock`: while another run holds that turn, an apply that has
/// applied waits before it records (the kernel lists it among the lock's waiters), writes
/// nothing meanwhile, and records its entry once the turn is free. This is the turn that
/// keeps [`two_applies_at_once_both_record_their_entries`] from losing an entry.
#[test]
fn an_apply_waits_for_its_turn_at_the_release_lock_before_recording() {
    use std::os::unix::fs::MetadataExt;
    let repo = common::tools_repo();
    repo.write("stacks/a/main.tf", "output \"v\" {\n  value = \"a-1\"\n}\n");
    repo.commit("a stack");
    let turn_path = repo.path().join(".strata/release-dev.lock");
    std::fs::create_dir_all(turn_path.parent().unwrap()).unwrap();
    let turn = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&turn_path)
        .unwrap();
    turn.lock().unwrap();
    let inode = format!(":{} ", turn.metadata().unwrap().ino());

    let mut child = repo
        .command(&["apply", "--auto-approve", "--env", "dev", "stacks/a"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    common::wait_for(
        "the apply to wait for its turn at the release lock",
        std::time::Duration::from_secs(180),
        || {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("the apply ended ({status}) without waiting for its turn");
            }
            std::fs::read_to_string("/proc/locks")
                .unwrap_or_default()
                .lines()
                .any(|l| l.contains("->") && l.contains(&inode))
        },
    );
    let lock = repo.path().join("environments/dev/release.lock.toml");
    assert!(!lock.exists(), "recorded while another run held the turn");

    drop(turn);
    let run: Run = child.wait_with_output().unwrap().into();
    assert_eq!(run.code, 0, "{}\n{}", run.stderr, run.stdout);
    let text = std::fs::read_to_string(&lock).unwrap();
    assert!(text.contains("[targets.\"stacks/a\"]"), "{text}");
}

/// A wrapper around terraform and helm that loses their exit codes (`tool "$@" 2>&1 | tee
/// -a log`, as logging wrappers do) turns every failure into exit 0. strata trusts a step
/// only when the tool also said it succeeded, so an invalid module, an unformatted file
/// and a chart that fails to render still fail, and nothing is cached as a pass.
#[test]
fn a_wrapper_that_loses_the_exit_code_fails_closed() {
    let repo = common::tools_repo();
    let tools = tempfile::tempdir().unwrap();
    let real = common::repo_root().join(".tools/bin");
    for tool in ["terraform", "helm"] {
        let path = tools.path().join(tool);
        std::fs::write(
            &path,
            format!(
                "#!/bin/sh\n{} \"$@\" 2>&1 | tee -a {}\n",
                real.join(tool).display(),
                tools.path().join("log").display()
            ),
        )
        .unwrap();
        make_executable(&path);
    }
    use_tools_dir(&repo, tools.path());
    // Each fails in one way only: validate, fmt, render.
    repo.write(
        "modules/invalid/main.tf",
        "output \"x\" {\n  value = var.undeclared\n}\n",
    );
    repo.write(
        "modules/unformatted/main.tf",
        "output \"x\" {\n  value    = 1\n}\n",
    );
    repo.write(
        "charts/broken/Chart.yaml",
        "apiVersion: v2\nname: broken\nversion: 0.1.0\n",
    );
    repo.write(
        "charts/broken/templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Values.missing.name }}\n",
    );
    repo.write(
        "charts/good/Chart.yaml",
        "apiVersion: v2\nname: good\nversion: 0.1.0\n",
    );
    repo.write(
        "charts/good/templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: good\n",
    );
    repo.commit("targets that fail");
    let statuses = || -> Vec<(String, String)> {
        let run = repo.strata(&["--json", "check", "--keep-going", "--env", "dev"]);
        assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
        let mut s: Vec<(String, String)> = run.json()["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["status"] == "failed")
            .map(|t| {
                (
                    t["label"].as_str().unwrap().to_string(),
                    t["action"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        s.sort();
        s
    };
    let want: Vec<(String, String)> = [
        ("charts/broken", "lint"),
        ("modules/invalid", "validate"),
        ("modules/unformatted", "fmt"),
    ]
    .iter()
    .map(|(l, a)| (l.to_string(), a.to_string()))
    .collect();
    // The render of broken is not reached after its lint failed. Both tools really ran
    // through `tee`.
    assert_eq!(statuses(), want);
    let log = std::fs::read_to_string(tools.path().join("log")).unwrap();
    assert!(log.contains("undeclared"), "{log}");
    // Nothing was cached as a pass: a second run fails the same way.
    assert_eq!(statuses(), want);
}

/// A version manager's shim (tfenv's, here a script that looks for `.terraform-version`
/// from the directory it runs in upwards) would run another terraform in a stack that
/// holds such a file than the one strata checked at the workspace root and keys its
/// results by. The file is left out of the sandbox, so the shim finds the root's choice.
#[test]
fn a_stacks_own_version_file_does_not_switch_the_terraform_a_shim_runs() {
    let repo = common::tools_repo();
    let tools = tempfile::tempdir().unwrap();
    let real = common::repo_root().join(".tools/bin");
    let shim = tools.path().join("terraform");
    std::fs::write(
        &shim,
        format!(
            "#!/bin/sh\n\
             d=$PWD\n\
             while [ \"$d\" != / ]; do\n\
               if [ -f \"$d/.terraform-version\" ]; then v=$(cat \"$d/.terraform-version\"); break; fi\n\
               d=$(dirname \"$d\")\n\
             done\n\
             if [ -n \"$v\" ] && [ \"$v\" != 1.0.3 ]; then echo \"tfenv: version $v is not installed\" >&2; exit 1; fi\n\
             exec {} \"$@\"\n",
            real.join("terraform").display()
        ),
    )
    .unwrap();
    make_executable(&shim);
    std::os::unix::fs::symlink(real.join("helm"), tools.path().join("helm")).unwrap();
    use_tools_dir(&repo, tools.path());
    repo.write(".terraform-version", "1.0.3\n");
    repo.write("stacks/a/main.tf", "output \"v\" {\n  value = \"a\"\n}\n");
    repo.write("stacks/a/.terraform-version", "1.5.7\n");
    repo.commit("a stack with its own version file");
    let run = repo.strata(&["check", "--env", "dev", "stacks/a"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(!run.stdout.contains("not installed"), "{}", run.stdout);
}

/// A report strata writes (`--sarif`, `--junit`, `--summary-md`) is replaced whole or not
/// at all: when the disk has no room for it (here, a file size limit), the previous report
/// stays as it was and the run says why. It was written in place, leaving a truncated file
/// a CI system would read.
#[test]
fn a_report_that_cannot_be_written_whole_leaves_the_previous_one() {
    let repo = Repo::new();
    repo.write("WORKSPACE.toml", "[workspace]\nname = \"t\"\n");
    repo.write(
        "policies/p/p.rego",
        "package main\nimport rego.v1\ndeny contains sprintf(\"item %d is bad: %s\", [i, x]) if { some i, x in input.items }\n",
    );
    let items: Vec<String> = (0..200).map(|_| "x".repeat(50)).collect();
    repo.write(
        "in.json",
        &serde_json::json!({ "items": items }).to_string(),
    );
    repo.commit("a policy and an input with many findings");
    let scan = [
        "policy",
        "scan",
        "--no-builtin",
        "--policy",
        "policies/p",
        "--sarif",
        "out.sarif",
        "in.json",
    ];
    let first = repo.strata(&scan);
    assert_eq!(first.code, 1, "{}", first.stderr);
    let sarif = repo.path().join("out.sarif");
    let before = std::fs::read(&sarif).unwrap();
    assert!(before.len() > 40 * 1024, "{}", before.len());
    // The same scan allowed files of 20 KiB at most (SIGXFSZ ignored: a write past the
    // limit fails with EFBIG, as one on a full disk fails with ENOSPC).
    let limited = std::process::Command::new("bash")
        .arg("-c")
        .arg("trap '' XFSZ; ulimit -f 20; exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_strata"))
        .args(scan)
        .current_dir(repo.path())
        .env("STRATA_DAEMON", "0")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&limited.stderr);
    assert_eq!(limited.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot write") && stderr.contains("out.sarif"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(&sarif).unwrap(),
        before,
        "the previous report is intact"
    );
}
