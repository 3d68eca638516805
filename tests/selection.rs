//! Target selection is one library function behind `check`, `plan`, `policy eval` and
//! `ci matrix`: they agree on what a change requires, including the targets a changed
//! policy governs and environments narrowed by environment-only changes.
#![allow(clippy::disallowed_methods)] // tests drive git, the real strata binary and tools

mod common;
use common::{json_run, sample_repo, tasks_where};
use std::collections::BTreeSet;

fn chart_policy(repo: &common::Repo) {
    repo.write(
        "policies/pinned-images/policy.toml",
        "kinds = [\"chart\"]\nlabels = [\"charts/**\"]\n",
    );
    repo.write(
        "policies/pinned-images/images.rego",
        "package main\n\nimport rego.v1\n\nwarn contains \"no PodDisruptionBudget\" if input.kind == \"Deployment\"\n",
    );
}

fn matrix_labels(json: &serde_json::Value) -> BTreeSet<String> {
    json["include"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["labels"].as_array().unwrap().clone())
        .map(|l| l.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_policy_label_selects_the_targets_it_governs_everywhere() {
    let repo = sample_repo();
    chart_policy(&repo);
    repo.commit("policy");
    let governed = [
        "charts/api",
        "charts/platform-lib",
        "charts/web",
        "charts/worker",
    ];

    // `check policies/x` evaluates the policy over every target it governs.
    let (run, report) = json_run(
        &repo,
        &[
            "check",
            "--env",
            "dev",
            "policies/pinned-images",
            "--allow-incomplete",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let policy_tasks = tasks_where(&report, |t| t["action"] == "policy");
    assert_eq!(
        policy_tasks,
        vec![
            "charts/api policy dev",
            "charts/web policy dev",
            "charts/worker policy dev"
        ]
    );

    // `policy eval` selects the same way.
    let (run, report) = json_run(
        &repo,
        &[
            "policy",
            "eval",
            "--env",
            "dev",
            "policies/pinned-images",
            "--allow-incomplete",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(report["targets"].as_array().unwrap().len(), 3, "{report}");

    // A policy edit: the matrix holds the governed targets; not the policy, which has no
    // tasks of its own (a shard of it alone would run nothing and report green).
    repo.append("policies/pinned-images/images.rego", "\n# reviewed\n");
    let run = repo.strata(&[
        "ci",
        "matrix",
        "--shards",
        "3",
        "--affected",
        "--base",
        "main",
        "--env",
        "dev",
    ]);
    run.assert_ok();
    let want: BTreeSet<String> = governed.iter().map(|s| s.to_string()).collect();
    assert_eq!(matrix_labels(&run.json()), want);

    // Every shard run with --shard K/N together runs exactly the tasks of the whole
    // selection, each once.
    let (run, whole) = json_run(
        &repo,
        &[
            "check",
            "--env",
            "dev",
            "--affected",
            "--base",
            "main",
            "--allow-incomplete",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let whole = tasks_where(&whole, |_| true);
    let mut parts = Vec::new();
    for k in 1..=3 {
        let shard = format!("{k}/3");
        let (run, report) = json_run(
            &repo,
            &[
                "check",
                "--env",
                "dev",
                "--affected",
                "--base",
                "main",
                "--shard",
                &shard,
                "--allow-incomplete",
            ],
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
        parts.extend(tasks_where(&report, |_| true));
    }
    parts.sort();
    assert_eq!(parts, whole);
}

#[test]
fn shards_keep_environment_narrowing() {
    let repo = sample_repo();
    // Only staging's values of one chart change: its tasks run in staging alone, also when
    // the work is split into shards.
    let values = "environments/staging/charts/web/values.yaml";
    repo.append(values, "\n# staging only\n");
    let (run, whole) = json_run(
        &repo,
        &[
            "check",
            "--affected",
            "--base",
            "main",
            "--allow-incomplete",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let whole = tasks_where(&whole, |_| true);
    assert!(!whole.is_empty());
    assert!(
        whole
            .iter()
            .all(|t| !t.ends_with(" dev") && !t.ends_with(" prod")),
        "{whole:?}"
    );
    let mut parts = Vec::new();
    for k in 1..=2 {
        let shard = format!("{k}/2");
        let (run, report) = json_run(
            &repo,
            &[
                "check",
                "--affected",
                "--base",
                "main",
                "--shard",
                &shard,
                "--allow-incomplete",
            ],
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
        parts.extend(tasks_where(&report, |_| true));
    }
    parts.sort();
    assert_eq!(parts, whole);
    // A run in dev alone has nothing to do: not even the environment-less tasks of what
    // changed in staging only, and `ci matrix` starts no runner for it.
    let (run, dev) = json_run(
        &repo,
        &["check", "--affected", "--base", "main", "--env", "dev"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(tasks_where(&dev, |_| true), Vec::<String>::new());
    let matrix = repo.strata(&[
        "--json",
        "ci",
        "matrix",
        "--affected",
        "--base",
        "main",
        "--env",
        "dev",
    ]);
    assert_eq!(matrix.code, 0, "{}", matrix.stderr);
    assert_eq!(
        matrix.json()["include"],
        serde_json::json!([]),
        "{}",
        matrix.stdout
    );
}

#[test]
fn zero_jobs_and_zero_shards_are_usage_errors() {
    let repo = common::Repo::with_fixture();
    for args in [
        &["check", "-j", "0"][..],
        &["ci", "matrix", "--shards", "0"],
        &["check", "--shard", "0/2"],
        &["check", "--shard", "3/2"],
    ] {
        let run = repo.strata(args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
    }
}

/// A target named on the command line that has nothing to run in the command is bad input
/// (exit 2, naming where it is configured), never a run that did nothing and succeeded.
#[test]
fn a_named_target_without_a_task_is_refused_not_a_silent_success() {
    let repo = sample_repo();
    // stacks/dns is deployed in staging and prod only.
    for args in [
        &["plan", "--env", "dev", "stacks/dns"][..],
        &["apply", "--env", "dev", "stacks/dns", "--auto-approve"],
    ] {
        let run = repo.strata(args);
        assert_eq!(run.code, 2, "{args:?}: {}{}", run.stdout, run.stderr);
        assert!(
            run.stderr.contains("stacks/dns is not deployed in dev")
                && run.stderr.contains("stacks/dns/stack.toml:4")
                && run.stderr.contains("staging, prod"),
            "{}",
            run.stderr
        );
    }
    assert!(
        !repo.state_dir().join("dev").exists()
            || std::fs::read_dir(repo.state_dir().join("dev"))
                .unwrap()
                .count()
                == 0,
        "nothing was applied"
    );
    // A module has no plan or apply of its own; it is checked.
    let run = repo.strata(&["plan", "--env", "dev", "modules/vpc"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("modules/vpc is a module"),
        "{}",
        run.stderr
    );
    let (check, report) = json_run(&repo, &["check", "modules/vpc"]);
    assert_eq!(check.code, 0, "{}", check.stderr);
    assert!(!tasks_where(&report, |_| true).is_empty());
    // Named with another target that runs: still refused, the mistake is not hidden.
    let run = repo.strata(&["plan", "--env", "dev", "stacks/network", "stacks/dns"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    // In an environment it is deployed in, it runs (here: incomplete, its upstream has no
    // state in staging yet).
    let run = repo.strata(&["plan", "--env", "staging", "stacks/dns"]);
    assert_ne!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("stacks/dns plan [staging]"),
        "{}",
        run.stderr
    );
    // `check --env dev` of it: its fmt and validate alone are no check in dev.
    let run = repo.strata(&["check", "--env", "dev", "stacks/dns"]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("stacks/dns is not deployed in dev"),
        "{}",
        run.stderr
    );
}

/// A policy named on the command line must judge something: one whose `policy.toml`
/// matches no target, or one that applies only in other environments, was a green run
/// of nothing (0 tasks, or the governed targets' other tasks without the policy).
#[test]
fn a_named_policy_that_judges_nothing_is_refused() {
    let repo = sample_repo();
    repo.write(
        "policies/nothing/policy.toml",
        "kinds = [\"chart\"]\nlabels = [\"charts/nope/**\"]\n",
    );
    repo.write(
        "policies/nothing/main.rego",
        "package main\n\nimport rego.v1\n\ndeny contains \"x\" if input.kind == \"Deployment\"\n",
    );
    repo.write(
        "policies/prod-only/policy.toml",
        "kinds = [\"stack\"]\nenvironments = [\"prod\"]\n",
    );
    repo.write(
        "policies/prod-only/main.rego",
        "package main\n\nimport rego.v1\n\nwarn contains \"x\" if input.resource_changes\n",
    );
    repo.commit("two policies");
    for args in [
        &["check", "policies/nothing"][..],
        &["plan", "--env", "dev", "policies/nothing"],
    ] {
        let run = repo.strata(args);
        assert_eq!(run.code, 2, "{args:?}: {}{}", run.stdout, run.stderr);
        assert!(
            run.stderr
                .contains("policies/nothing governs no target: there is nothing for it to judge")
                && run.stderr.contains("--> policies/nothing/policy.toml"),
            "{}",
            run.stderr
        );
    }
    let run = repo.strata(&["check", "--env", "dev", "policies/prod-only"]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains(
            "policies/prod-only judges no target in dev: `check` has no policy task for it"
        ) && run.stderr.contains("it judges targets in prod"),
        "{}",
        run.stderr
    );
    // A policy governing only a library chart (which renders nothing, so has no policy
    // task) judges nothing either; the library chart itself, named with --env, is linted.
    repo.write(
        "policies/lib-only/policy.toml",
        "kinds = [\"chart\"]\nlabels = [\"charts/platform-lib\"]\n",
    );
    repo.write(
        "policies/lib-only/main.rego",
        "package main\n\nimport rego.v1\n\nwarn contains \"x\" if input.kind == \"Deployment\"\n",
    );
    repo.commit("a policy of a library chart");
    let run = repo.strata(&["check", "policies/lib-only"]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr
            .contains("policies/lib-only judges none of the targets it governs"),
        "{}",
        run.stderr
    );
    let (run, report) = json_run(&repo, &["check", "--env", "dev", "charts/platform-lib"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        !tasks_where(&report, |t| t["action"] == "lint").is_empty(),
        "{report}"
    );
    // Where it applies, its tasks run.
    let (run, report) = json_run(&repo, &["check", "--env", "prod", "policies/prod-only"]);
    assert_ne!(run.code, 2, "{}", run.stderr);
    assert!(
        !tasks_where(&report, |t| t["action"] == "policy").is_empty(),
        "{report}"
    );
}
