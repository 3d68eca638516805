//! `strata apply` asks before it changes anything: on a terminal it shows each plan and
//! applies only on `yes`; without one it refuses unless `--auto-approve`; a plan without
//! changes is not applied; the plan it applies is compared with the one reviewed under the
//! same key. `strata plan` prints every change at resource level.
#![allow(clippy::disallowed_methods)] // tests drive git, the real strata binary and tools

mod common;

use common::{
    files_containing, json_run, on_terminal, spawn_on_terminal, tools_repo, Repo, Run,
    NULL_PROVIDER,
};
use std::io::Write;
use std::process::Command;

/// A sensitive variable's value: never shown.
const TOKEN: &str = "tok-S3CRET-8d1f";

fn workspace() -> Repo {
    let repo = tools_repo();
    repo.write(
        "stacks/network/main.tf",
        &format!(
            "{NULL_PROVIDER}\nvariable \"v\" {{\n  default = \"1\"\n}}\n\nvariable \"token\" {{\n  default   = \"{TOKEN}\"\n  sensitive = true\n}}\n\nresource \"null_resource\" \"net\" {{\n  triggers = {{\n    v     = var.v\n    token = var.token\n  }}\n}}\n\nresource \"null_resource\" \"extra\" {{}}\n\noutput \"vpc_id\" {{\n  value = \"vpc-${{var.v}}\"\n}}\n"
        ),
    );
    repo.commit("network");
    repo
}

#[test]
fn apply_without_a_terminal_needs_auto_approve() {
    let repo = workspace();
    let run = repo.strata(&["apply", "--env", "dev"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("there is no terminal to ask on")
            && run.stderr.contains("--auto-approve"),
        "{}",
        run.stderr
    );
    assert!(!repo.state_file("dev", "stacks/network").exists());
    let run = repo.strata(&["plan", "--auto-approve", "--env", "dev"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
}

#[test]
fn apply_on_a_terminal_shows_the_plan_and_applies_only_on_yes() {
    let repo = workspace();
    let state = repo.state_file("dev", "stacks/network");
    let declined = on_terminal(&repo, "apply --env dev", "no");
    assert_eq!(declined.code, 1, "{}", declined.stdout);
    assert!(
        declined.stdout.contains("+ null_resource.net")
            && declined.stdout.contains("+ null_resource.extra")
            && declined.stdout.contains("Apply stacks/network in dev?"),
        "{}",
        declined.stdout
    );
    assert!(
        declined.stdout.contains("not approved"),
        "{}",
        declined.stdout
    );
    assert!(!state.exists(), "nothing is applied without a yes");

    let approved = on_terminal(&repo, "apply --env dev", "yes");
    assert_eq!(approved.code, 0, "{}", approved.stdout);
    assert!(state.exists());
}

/// Ctrl-C at the prompt ends the run at once (exit 130, nothing applied), while the
/// terminal stays open: before, strata went on waiting for Enter or Ctrl-D.
#[test]
fn ctrl_c_at_the_prompt_ends_the_run() {
    use std::io::Read;
    let repo = workspace();
    let mut child = spawn_on_terminal(&repo, "apply --env dev");
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        let mut asked = false;
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 {
                break;
            }
            seen.extend_from_slice(&buf[..n]);
            if !asked && String::from_utf8_lossy(&seen).contains("Only 'yes' applies") {
                asked = true;
                let _ = tx.send(());
            }
        }
        String::from_utf8_lossy(&seen).into_owned()
    });
    rx.recv_timeout(std::time::Duration::from_secs(120))
        .expect("the prompt appears");
    // The terminal's interrupt character, as a person presses it; stdin stays open.
    stdin.write_all(b"\x03").unwrap();
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > std::time::Duration::from_secs(20) {
            let _ = child.kill();
            panic!("strata still waits at the prompt 20 s after Ctrl-C");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    drop(stdin);
    let out = reader.join().unwrap();
    assert_eq!(status.code(), Some(130), "{out}");
    assert!(out.contains("interrupted at the prompt"), "{out}");
    assert!(!repo.state_file("dev", "stacks/network").exists());
}

#[test]
fn plans_without_changes_are_not_applied() {
    let repo = workspace();
    let (first, _) = json_run(&repo, &["apply", "--auto-approve", "--env", "dev"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let before = std::fs::read(repo.state_file("dev", "stacks/network")).unwrap();
    let (again, report) = json_run(&repo, &["apply", "--auto-approve", "--env", "dev"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    let apply = report["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["label"] == "stacks/network" && t["action"] == "apply")
        .unwrap();
    assert_eq!(apply["status"], "ok");
    assert_eq!(apply["reason"], "no changes: nothing to apply");
    assert_eq!(apply["tool_ms"], 0, "terraform apply did not run: {apply}");
    assert_eq!(
        std::fs::read(repo.state_file("dev", "stacks/network")).unwrap(),
        before
    );
}

#[test]
fn plan_prints_resource_changes_and_apply_checks_the_reviewed_plan() {
    let repo = workspace();
    let (first, _) = json_run(&repo, &["apply", "--auto-approve", "--env", "dev"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    repo.write(
        "environments/dev/stacks/network/terraform.tfvars",
        "v = \"2\"\n",
    );
    repo.commit("v = 2");

    // The reviewer's view: every change at resource level, what forces a replacement (or
    // what changes), the outputs, the totals.
    let plan = repo.strata(&["plan", "--env", "dev"]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert!(
        plan.stdout
            .contains("stacks/network [dev]: +1 ~0 -1\n  -/+ null_resource.net (")
            && plan.stdout.contains("triggers")
            && plan.stdout.contains("~ output.vpc_id")
            && plan
                .stdout
                .contains("Plan: 1 to add, 0 to change, 1 to destroy in 1 stack(s)"),
        "{}",
        plan.stdout
    );
    assert!(
        !plan.stdout.contains("null_resource.extra"),
        "no-ops are not listed: {}",
        plan.stdout
    );

    // The plan in full, from the cache: attribute by attribute, what forces the
    // replacement; sensitive values masked.
    let shown = repo.strata(&["show", "stacks/network", "--env", "dev"]);
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    assert!(
        shown.stdout.contains("-/+ null_resource.net (replace)")
            && shown.stdout.contains("# forces replacement")
            && shown.stdout.contains("vpc_id = \"vpc-1\" -> \"vpc-2\"")
            && shown.stdout.contains("(sensitive value)"),
        "{}",
        shown.stdout
    );
    assert!(!shown.stdout.contains(TOKEN), "{}", shown.stdout);
    // The variable's default is a literal of the configuration: the stored plan has it
    // redacted there too (the sandboxes' copies of the committed code hold it as the
    // checkout does).
    let copies = files_containing(&repo.path().join(".strata"), TOKEN.as_bytes(), &[]);
    assert!(
        copies
            .iter()
            .all(|f| f.ends_with("src/stacks/network/main.tf")),
        "{copies:?}"
    );
    // A module has no plan: the hint does not send one to a `plan` that refuses it.
    repo.write("modules/naming/main.tf", "variable \"x\" {}\n");
    repo.commit("module");
    let module = repo.strata(&["show", "modules/naming", "--env", "dev"]);
    assert_eq!(module.code, 2, "{}", module.stderr);
    assert!(
        module.stderr.contains("only stacks have plans") && !module.stderr.contains("make one"),
        "{}",
        module.stderr
    );
    // The pull-request comment: one collapsible section per stack with changes.
    let md = repo.path().join("plan.md");
    let with_md = repo.strata(&["plan", "--env", "dev", "--summary-md", md.to_str().unwrap()]);
    assert_eq!(with_md.code, 0, "{}", with_md.stderr);
    let md = std::fs::read_to_string(md).unwrap();
    assert!(
        md.contains("<details><summary><code>stacks/network</code> [dev]: +1 ~0 -1")
            && md.contains("-/+ null_resource.net (forced by triggers")
            && md.contains("! output.vpc_id"),
        "{md}"
    );
    for text in [&plan.stdout, &plan.stderr, &md, &shown.stderr] {
        assert!(!text.contains(TOKEN));
    }

    // Applying under the same key: the fresh plan is the reviewed one.
    let (applied, report) = json_run(&repo, &["apply", "--auto-approve", "--env", "dev"]);
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    let plan_task = report["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["action"] == "plan")
        .unwrap();
    assert_eq!(plan_task["matches_reviewed"], true, "{plan_task}");
    assert_eq!(plan_task["cached"], false, "apply always plans afresh");
}

/// Resource addresses in a local state file.
fn resources_in(state: &std::path::Path) -> Vec<String> {
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(state).unwrap()).unwrap();
    json["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{}.{}",
                r["type"].as_str().unwrap(),
                r["name"].as_str().unwrap()
            )
        })
        .collect()
}

/// `stacks/app`, whose null resource's trigger is the network's `vpc_id` (an input).
fn app_reading_the_network(repo: &Repo) {
    repo.write(
        "stacks/app/main.tf",
        &format!(
            "{NULL_PROVIDER}\nvariable \"vpc_id\" {{}}\n\nresource \"null_resource\" \"app\" {{\n  triggers = {{\n    vpc = var.vpc_id\n  }}\n}}\n"
        ),
    );
    repo.write(
        "stacks/app/stack.toml",
        "[inputs]\nvpc_id = \"stacks/network:vpc_id\"\n",
    );
}

#[test]
fn destroy_tears_down_named_stacks_dependents_first_and_only_when_told() {
    let repo = workspace();
    app_reading_the_network(&repo);
    // A reader of the network deployed in staging only has nothing in dev to protect.
    repo.write(
        "environments/staging/env.toml",
        "[state]\nbackend = \"local\"\n",
    );
    repo.write(
        "stacks/edge/main.tf",
        &format!("{NULL_PROVIDER}\nvariable \"vpc_id\" {{}}\n"),
    );
    repo.write(
        "stacks/edge/stack.toml",
        "environments = [\"staging\"]\n[inputs]\nvpc_id = \"stacks/network:vpc_id\"\n",
    );
    repo.commit("app reads network");
    let (applied, _) = json_run(&repo, &["apply", "--auto-approve", "--env", "dev"]);
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    let (network, app) = (
        repo.state_file("dev", "stacks/network"),
        repo.state_file("dev", "stacks/app"),
    );
    assert_eq!(resources_in(&app), vec!["null_resource.app"]);

    // Destroying the network alone would leave the app reading outputs of nothing.
    let alone = repo.strata(&[
        "destroy",
        "stacks/network",
        "--env",
        "dev",
        "--auto-approve",
    ]);
    assert_eq!(alone.code, 2, "{}", alone.stderr);
    assert!(
        alone
            .stderr
            .contains("stacks/app reads outputs of what would be destroyed"),
        "{}",
        alone.stderr
    );
    // Nothing to destroy without names, nor without a terminal or --auto-approve.
    assert_eq!(
        repo.strata(&["destroy", "--env", "dev", "--auto-approve"])
            .code,
        2
    );
    let unasked = repo.strata(&["destroy", "stacks/app", "--env", "dev"]);
    assert_eq!(unasked.code, 2, "{}", unasked.stderr);
    assert_eq!(resources_in(&network).len(), 2);
    assert_eq!(resources_in(&app).len(), 1);

    // On a terminal, anything but yes destroys nothing.
    let declined = on_terminal(&repo, "destroy stacks/app --env dev", "y");
    assert_eq!(declined.code, 1, "{}", declined.stdout);
    assert!(
        declined.stdout.contains("- null_resource.app")
            && declined
                .stdout
                .contains("DESTROY every resource of stacks/app in dev?"),
        "{}",
        declined.stdout
    );
    assert_eq!(resources_in(&app).len(), 1);

    // A stack nothing reads can go alone; once gone, destroying it again changes nothing.
    let (gone, _) = json_run(
        &repo,
        &["destroy", "stacks/app", "--env", "dev", "--auto-approve"],
    );
    assert_eq!(gone.code, 0, "{}", gone.stderr);
    assert!(resources_in(&app).is_empty());
    assert_eq!(resources_in(&network).len(), 2);
    let (again, report) = json_run(
        &repo,
        &["destroy", "stacks/app", "--env", "dev", "--auto-approve"],
    );
    assert_eq!(again.code, 0, "{}", again.stderr);
    let apply = tasks_of(&report, "stacks/app", "apply");
    assert_eq!(
        apply["reason"],
        "nothing to destroy: the state holds no resources"
    );
    // The lock no longer held it: nothing is said removed, the lock is not written again.
    let lock = repo.path().join("environments/dev/release.lock.toml");
    let lock_before = std::fs::read(&lock).ok();
    let again = repo.strata(&["destroy", "stacks/app", "--env", "dev", "--auto-approve"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        again
            .stderr
            .contains("(nothing to destroy: the state holds no resources)"),
        "{}",
        again.stderr
    );
    assert!(
        !again.stderr.contains("removed stacks/app"),
        "{}",
        again.stderr
    );
    assert_eq!(std::fs::read(&lock).ok(), lock_before);
    repo.strata(&["apply", "--auto-approve", "--env", "dev"]);
    assert_eq!(resources_in(&app).len(), 1);

    let destroy_both = || {
        json_run(
            &repo,
            &[
                "destroy",
                "stacks/network",
                "stacks/app",
                "--env",
                "dev",
                "--auto-approve",
            ],
        )
    };
    let (destroyed, report) = destroy_both();
    assert_eq!(destroyed.code, 0, "{}", destroyed.stderr);
    assert!(resources_in(&app).is_empty());
    assert!(resources_in(&network).is_empty());
    // The app's destroy finished before the network's was planned.
    let tasks = report["tasks"].as_array().unwrap();
    let pos = |label: &str, action: &str| {
        tasks
            .iter()
            .position(|t| t["label"] == label && t["action"] == action)
            .unwrap()
    };
    let network_plan = &tasks[pos("stacks/network", "plan")];
    assert_eq!(network_plan["summary"]["destroy"], 2, "{network_plan}");
    assert!(pos("stacks/app", "apply") < pos("stacks/network", "plan"));
    // A destroy plan is never cached: `strata plan` still plans to create the resources.
    let plan = repo.strata(&["plan", "--env", "dev"]);
    assert!(
        plan.stdout.contains("stacks/network [dev]: +2 ~0 -0"),
        "{}",
        plan.stdout
    );

    // A destroy interrupted once the app was gone, while the network was torn down: its
    // outputs are gone from its state, its resources are not. Run again, the app (empty)
    // is not planned, which would ask for the network's outputs, and the network goes.
    let (applied, _) = json_run(&repo, &["apply", "--auto-approve", "--env", "dev"]);
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    let (gone, _) = json_run(
        &repo,
        &["destroy", "stacks/app", "--env", "dev", "--auto-approve"],
    );
    assert_eq!(gone.code, 0, "{}", gone.stderr);
    let mut state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&network).unwrap()).unwrap();
    state["outputs"] = serde_json::json!({});
    state["serial"] = serde_json::json!(state["serial"].as_u64().unwrap() + 1);
    std::fs::write(&network, state.to_string()).unwrap();
    let (rerun, report) = destroy_both();
    assert_eq!(rerun.code, 0, "{}", rerun.stderr);
    for action in ["plan", "apply"] {
        let task = tasks_of(&report, "stacks/app", action);
        assert_eq!(task["status"], "ok", "{task}");
        assert_eq!(
            task["reason"], "nothing to destroy: the state holds no resources",
            "{task}"
        );
    }
    assert!(resources_in(&network).is_empty());
}

fn tasks_of<'a>(report: &'a serde_json::Value, label: &str, action: &str) -> &'a serde_json::Value {
    report["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["label"] == label && t["action"] == action)
        .unwrap()
}

#[test]
fn stacks_share_one_provider_cache_when_the_user_has_none() {
    let repo = workspace();
    // A CLI configuration with the offline mirror and no plugin cache of its own.
    let rc = repo.path().join("mirror-only.rc");
    std::fs::write(
        &rc,
        format!(
            "provider_installation {{\n  filesystem_mirror {{\n    path    = \"{}\"\n    include = [\"registry.terraform.io/*/*\"]\n  }}\n  direct {{\n    exclude = [\"registry.terraform.io/*/*\"]\n  }}\n}}\n",
            common::repo_root().join(".tools/providers").display()
        ),
    )
    .unwrap();
    let toml = std::fs::read_to_string(repo.path().join("WORKSPACE.toml")).unwrap();
    repo.write(
        "WORKSPACE.toml",
        &toml.replace("terraform_cli_config = \".tools/terraform.rc\"\n", ""),
    );
    repo.write(
        "stacks/other/main.tf",
        &format!("{NULL_PROVIDER}\nresource \"null_resource\" \"o\" {{}}\n"),
    );
    repo.commit("two stacks, no plugin cache configured");
    let cache = tempfile::tempdir().unwrap();
    let run: Run = repo
        .command(&["plan", "--env", "dev"])
        .env("TF_CLI_CONFIG_FILE", &rc)
        .env_remove("TF_PLUGIN_CACHE_DIR")
        .env("STRATA_PLUGIN_CACHE_DIR", cache.path())
        .output()
        .unwrap()
        .into();
    assert_eq!(run.code, 0, "{}", run.stderr);
    // The provider was unpacked once, into the cache; every sandbox links to it.
    let provider = cache
        .path()
        .join("registry.terraform.io/hashicorp/null/2.1.2");
    assert!(provider.is_dir(), "nothing in the shared cache");
    let mut links = 0;
    let mut copies = 0;
    let mut stack = vec![repo.path().join(".strata/work")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if path.ends_with("hashicorp/null/2.1.2/linux_amd64") {
                if meta.file_type().is_symlink() {
                    links += 1;
                } else {
                    copies += 1;
                }
            } else if meta.is_dir() {
                stack.push(path);
            }
        }
    }
    assert_eq!(copies, 0, "a sandbox unpacked the provider itself");
    assert_eq!(links, 2, "one initialised sandbox per stack");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(cache.path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "the cache is owner-only: {mode:o}");
    }
}

#[test]
fn a_deleted_stack_is_destroyed_only_when_told_with_its_code_at_the_base() {
    let repo = workspace();
    repo.write(
        "stacks/other/main.tf",
        &format!("{NULL_PROVIDER}\nresource \"null_resource\" \"o\" {{}}\n"),
    );
    repo.commit("other");
    let (applied, _) = json_run(&repo, &["apply", "--auto-approve", "--env", "dev"]);
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    let other = repo.state_file("dev", "stacks/other");
    assert_eq!(resources_in(&other), vec!["null_resource.o"]);

    std::fs::remove_dir_all(repo.path().join("stacks/other")).unwrap();
    repo.commit("remove other");
    // The pull request shows the destroy plan, made with the code at the base.
    let md = repo.path().join("plan.md");
    let plan = repo.strata(&since_parent(
        "plan",
        &["--summary-md", md.to_str().unwrap()],
    ));
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    let md = std::fs::read_to_string(md).unwrap();
    assert!(
        md.contains("<details><summary><code>stacks/other</code> [dev]: +0 ~0 -1 (destroy)"),
        "{md}"
    );
    assert!(
        plan.stdout
            .contains("stacks/other [dev]: +0 ~0 -1 (destroy)\n  - null_resource.o"),
        "{}",
        plan.stdout
    );
    // Applying the merge destroys nothing unless told: the run says what was left behind.
    let apply = repo.strata(&since_parent("apply", &["--auto-approve"]));
    assert_eq!(apply.code, 1, "{}", apply.stderr);
    assert!(
        apply.stderr.contains(
            "stacks/other was deleted, but its state in dev still holds 1 resource(s) (null_resource.o)"
        ) && apply
            .stderr
            .contains("strata destroy stacks/other --env dev --from HEAD~1` (or apply with --allow-destroy)"),
        "{}",
        apply.stderr
    );
    assert_eq!(resources_in(&other).len(), 1);
    args_ok(
        &repo,
        &since_parent("apply", &["--auto-approve", "--allow-incomplete"]),
    );
    assert_eq!(resources_in(&other).len(), 1);
    // --from is for deleted stacks only.
    let here = repo.strata(&[
        "destroy",
        "stacks/network",
        "--env",
        "dev",
        "--from",
        "HEAD~1",
        "--auto-approve",
    ]);
    assert_eq!(here.code, 2, "{}", here.stderr);

    // Told: destroyed from a temporary checkout of the base, against this checkout's state;
    // the checkout is gone afterwards and the other stacks are untouched.
    let (destroyed, report) = json_run(
        &repo,
        &since_parent("apply", &["--auto-approve", "--allow-destroy"]),
    );
    assert_eq!(destroyed.code, 0, "{}", destroyed.stderr);
    assert!(resources_in(&other).is_empty());
    assert_eq!(tasks_of(&report, "stacks/other", "apply")["status"], "ok");
    assert_eq!(
        resources_in(&repo.state_file("dev", "stacks/network")).len(),
        2
    );
    let worktrees = repo.git(&["worktree", "list", "--porcelain"]);
    assert_eq!(worktrees.matches("worktree ").count(), 1, "{worktrees}");
    // Nothing left behind now.
    args_ok(&repo, &since_parent("apply", &["--auto-approve"]));
    let (again, report) = json_run(
        &repo,
        &[
            "destroy",
            "stacks/other",
            "--env",
            "dev",
            "--from",
            "HEAD~1",
            "--auto-approve",
        ],
    );
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(
        tasks_of(&report, "stacks/other", "apply")["reason"],
        "nothing to destroy: the state holds no resources"
    );

    // A strata killed (SIGKILL) during such a run leaves its checkout, whose sandboxes hold
    // a plan with every value in clear text: the next run removes it, and git forgets it.
    // A checkout whose strata still runs stays.
    let tmp = tempfile::tempdir().unwrap();
    let dead = tmp.path().join("strata-revision-dead");
    repo.git(&[
        "worktree",
        "add",
        "--detach",
        "--quiet",
        dead.join("checkout").to_str().unwrap(),
        "HEAD~1",
    ]);
    std::fs::write(dead.join("checkout/strata.tfplan"), "every value").unwrap();
    let mut ended = Command::new("true").spawn().unwrap();
    let pid = ended.id();
    ended.wait().unwrap();
    // Of this machine, boot and pid namespace (those of another are never swept).
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap();
    let ns = std::fs::read_link("/proc/self/ns/pid").unwrap();
    let space = format!("{}/{}", boot.trim(), ns.display());
    std::fs::write(dead.join("owner"), format!("{pid} 1 {space}")).unwrap();
    let elsewhere = tmp.path().join("strata-revision-elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    std::fs::write(elsewhere.join("owner"), format!("{pid} 1 other/pid:[1]")).unwrap();
    let live = tmp.path().join("strata-revision-live");
    std::fs::create_dir(&live).unwrap();
    std::fs::write(live.join("owner"), format!("{} ", std::process::id())).unwrap();
    let run = repo
        .command(&[
            "destroy",
            "stacks/other",
            "--env",
            "dev",
            "--from",
            "HEAD~1",
            "--auto-approve",
        ])
        .env("TMPDIR", tmp.path())
        .output()
        .unwrap();
    assert!(run.status.success(), "{run:?}");
    assert!(!dead.exists());
    assert!(live.join("owner").exists());
    assert!(elsewhere.join("owner").exists());
    let worktrees = repo.git(&["worktree", "list", "--porcelain"]);
    assert_eq!(worktrees.matches("worktree ").count(), 1, "{worktrees}");
}

fn args_ok(repo: &Repo, args: &[&str]) {
    let run = repo.strata(args);
    assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
}

#[test]
fn auto_approve_refuses_a_plan_that_differs_from_the_reviewed_one() {
    let repo = workspace();
    let (first, _) = json_run(&repo, &["apply", "--auto-approve", "--env", "dev"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    repo.write(
        "environments/dev/stacks/network/terraform.tfvars",
        "v = \"2\"\n",
    );
    repo.commit("v = 2");
    let (plan, report) = json_run(&repo, &["plan", "--env", "dev"]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    let reviewed = tasks_of(&report, "stacks/network", "plan");
    // What the reviewers saw under this key: an in-place update instead of the replacement
    // terraform will plan now (as if the infrastructure changed after the review).
    let mut summary = reviewed["summary"].clone();
    for r in summary["resources"].as_array_mut().unwrap() {
        if r["action"] != "no-op" {
            r["action"] = "update".into();
        }
    }
    let key = strata_graph::digest::TaskKey::from_hex(reviewed["key"].as_str().unwrap()).unwrap();
    let cache = strata_cache::Cache::new(
        Some(Box::new(strata_cache::LocalStore::new(
            repo.path().join(".strata/cache"),
        ))),
        std::sync::Arc::new(|_| {}),
    );
    let result = strata_cache::make_result(
        key,
        "stacks/network",
        "plan",
        Some("dev"),
        summary,
        &Default::default(),
        1,
    );
    cache.store(&result, &Default::default()).unwrap();

    let before = std::fs::read(repo.state_file("dev", "stacks/network")).unwrap();
    let (applied, report) = json_run(&repo, &["apply", "--auto-approve", "--env", "dev"]);
    assert_eq!(applied.code, 1, "{}", applied.stderr);
    assert_eq!(
        tasks_of(&report, "stacks/network", "plan")["matches_reviewed"],
        false
    );
    let apply = tasks_of(&report, "stacks/network", "apply");
    assert_eq!(apply["status"], "skipped", "{apply}");
    assert!(
        apply["reason"].as_str().unwrap().starts_with(
            "not applied: the plan differs from the one made under the same key before"
        ),
        "{apply}"
    );
    assert_eq!(
        std::fs::read(repo.state_file("dev", "stacks/network")).unwrap(),
        before,
        "nothing was applied"
    );
}

#[test]
fn a_deleted_stack_with_its_own_backend_is_looked_for_with_its_code() {
    let repo = workspace();
    let elsewhere = tempfile::tempdir().unwrap();
    let state = elsewhere.path().join("own.tfstate");
    repo.write(
        "stacks/own/main.tf",
        &format!(
            "terraform {{\n  backend \"local\" {{\n    path = \"{}\"\n  }}\n}}\n\n{NULL_PROVIDER}\nresource \"null_resource\" \"own\" {{}}\n",
            state.display()
        ),
    );
    repo.commit("a stack with its own backend");
    let (applied, _) = json_run(
        &repo,
        &["apply", "--auto-approve", "--env", "dev", "stacks/own"],
    );
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    assert_eq!(resources_in(&state), vec!["null_resource.own"]);

    std::fs::remove_dir_all(repo.path().join("stacks/own")).unwrap();
    repo.commit("remove it");
    // Where the environment would keep it there is nothing: never taken as "nothing left".
    let apply = repo.strata(&since_parent("apply", &["--auto-approve"]));
    assert_eq!(apply.code, 1, "{}", apply.stderr);
    assert!(
        apply
            .stderr
            .contains("stacks/own was deleted and declared its own backend"),
        "{}",
        apply.stderr
    );
    let plan = repo.strata(&since_parent("plan", &[]));
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert!(
        plan.stdout.contains("stacks/own [dev]: +0 ~0 -1 (destroy)"),
        "{}",
        plan.stdout
    );
    let (destroyed, _) = json_run(
        &repo,
        &since_parent("apply", &["--auto-approve", "--allow-destroy"]),
    );
    assert_eq!(destroyed.code, 0, "{}", destroyed.stderr);
    assert!(resources_in(&state).is_empty());
}

/// `COMMAND --affected --base HEAD~1 --env dev EXTRA...`
fn since_parent<'a>(command: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![command, "--affected", "--base", "HEAD~1", "--env", "dev"];
    args.extend_from_slice(extra);
    args
}

/// What apply changed is verified by a check in the environment, which renders charts: with
/// helm missing, apply stops before it changes anything (exit 2), not after applying the
/// stacks and failing to record them.
#[test]
fn apply_without_a_tool_its_verification_needs_changes_nothing() {
    let repo = common::sample_repo();
    let root = common::repo_root();
    // Only terraform: replace the link to the pinned tools with a directory without helm.
    std::fs::remove_file(repo.path().join(".tools")).unwrap();
    std::fs::create_dir_all(repo.path().join(".tools/bin")).unwrap();
    for tool in ["bin/terraform", "terraform.rc"] {
        std::os::unix::fs::symlink(
            root.join(".tools").join(tool),
            repo.path().join(".tools").join(tool),
        )
        .unwrap();
    }
    // No tool on PATH either (/usr/local/bin may hold another terraform).
    let without_helm = |args: &[&str]| -> Run {
        repo.command(args)
            .env("PATH", "/usr/bin:/bin")
            .output()
            .unwrap()
            .into()
    };
    let run = without_helm(&["apply", "--env", "dev", "--auto-approve"]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("`helm` is needed but was not found"),
        "{}",
        run.stderr
    );
    assert!(
        common::local_state_files(&repo).is_empty(),
        "nothing was applied: {:?}",
        common::local_state_files(&repo)
    );
    assert!(!repo
        .path()
        .join("environments/dev/release.lock.toml")
        .exists());

    // One stack alone needs no chart rendered, unless the environment has a GitOps output:
    // that is remade from the lock (its charts rendered) after every apply.
    repo.append(
        "WORKSPACE.toml",
        "\n[gitops]\nrepo_url = \"https://git.example.com/acme/infra.git\"\n",
    );
    repo.commit("gitops output");
    let run = without_helm(&["apply", "--env", "dev", "--auto-approve", "stacks/network"]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("`helm` is needed but was not found")
            && run.stderr.contains("GitOps output of dev"),
        "{}",
        run.stderr
    );
    assert!(common::local_state_files(&repo).is_empty());
}

/// A damaged state file (it lives outside the checkout) is named in the failed task's
/// reason, with what to do; the damaged file is left as it was.
#[test]
fn a_damaged_state_file_is_named_with_what_to_do() {
    let repo = workspace();
    let (first, _) = json_run(&repo, &["apply", "--auto-approve", "--env", "dev"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let state = repo.state_file("dev", "stacks/network");
    let text = std::fs::read(&state).unwrap();
    std::fs::write(&state, &text[..text.len() / 2]).unwrap();
    let (plan, report) = json_run(&repo, &["plan", "--env", "dev"]);
    assert_eq!(plan.code, 1, "{}", plan.stderr);
    let task = common::task(&report, "stacks/network", "plan");
    assert_eq!(task["status"], "failed", "{task}");
    let reason = task["reason"].as_str().unwrap();
    assert!(
        reason.contains("terraform state is malformed")
            && reason.contains(&state.display().to_string())
            && reason.contains("terraform.tfstate.backup"),
        "{reason}"
    );
    assert!(!reason.contains(TOKEN));
    assert_eq!(std::fs::read(&state).unwrap(), &text[..text.len() / 2]);
}

/// A release lock that cannot be read stops an apply before terraform changes anything:
/// what the apply did could not be recorded afterwards.
#[test]
fn a_damaged_release_lock_stops_the_apply_before_it_changes_anything() {
    let repo = workspace();
    let (applied, _) = json_run(&repo, &["apply", "--auto-approve", "--env", "dev"]);
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    let lock = repo.path().join("environments/dev/release.lock.toml");
    let text = std::fs::read_to_string(&lock).unwrap();
    std::fs::write(&lock, &text[..text.len() / 2]).unwrap();
    let state = repo.state_file("dev", "stacks/network");
    let before = std::fs::read_to_string(&state).unwrap();
    let main = std::fs::read_to_string(repo.path().join("stacks/network/main.tf")).unwrap();
    repo.write(
        "stacks/network/main.tf",
        &main.replace("default = \"1\"", "default = \"2\""),
    );
    repo.commit("v2");
    let run = repo.strata(&["apply", "--auto-approve", "--env", "dev"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("environments/dev/release.lock.toml"),
        "{}",
        run.stderr
    );
    assert_eq!(std::fs::read_to_string(&state).unwrap(), before);
}

/// Local state is kept per checkout (here: another STRATA_STATE_DIR, as a moved or new
/// checkout gets). An apply whose plan would change a stack it finds no state of, while the
/// environment's release lock records it as applied, refuses it instead of creating its
/// resources a second time; `--recreate LABEL` says its resources are gone.
#[test]
fn an_apply_refuses_a_stack_the_lock_records_while_it_has_no_state() {
    let repo = tools_repo();
    repo.write("stacks/a/main.tf", "output \"v\" {\n  value = \"a\"\n}\n");
    // A stack that manages nothing has no state after its apply (there was nothing to
    // apply): it is never refused for that.
    repo.write("stacks/none/main.tf", "locals {\n  off = true\n}\n");
    repo.commit("a stack");
    repo.strata(&["apply", "--auto-approve", "--env", "dev"])
        .assert_ok();
    repo.commit("applied");
    let lock =
        std::fs::read_to_string(repo.path().join("environments/dev/release.lock.toml")).unwrap();
    assert!(lock.contains("stacks/none"), "{lock}");
    repo.strata(&["apply", "--auto-approve", "--env", "dev"])
        .assert_ok();
    let elsewhere = tempfile::tempdir().unwrap();
    let run_elsewhere = |args: &[&str]| -> Run {
        let mut cmd = repo.command(args);
        cmd.env("STRATA_STATE_DIR", elsewhere.path());
        cmd.output().unwrap().into()
    };
    let run = run_elsewhere(&["apply", "--auto-approve", "--env", "dev"]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let said = format!("{}{}", run.stdout, run.stderr);
    assert!(
        said.contains(
            "it has no state, but environments/dev/release.lock.toml records it as applied"
        ),
        "{said}"
    );
    assert!(said.contains("Local state is kept per checkout"), "{said}");
    // Nothing was applied there.
    assert!(
        common::files_under(elsewhere.path()).is_empty(),
        "{:?}",
        common::files_under(elsewhere.path())
    );
    // A plan is not refused: it shows what an apply would do.
    run_elsewhere(&["plan", "--env", "dev"]).assert_ok();
    // The way out when the resources are really gone, whatever depends on the stack. A
    // label that is no stack is refused, not ignored.
    let run = run_elsewhere(&[
        "apply",
        "--auto-approve",
        "--env",
        "dev",
        "--recreate",
        "stacks/b",
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("--recreate"), "{}", run.stderr);
    // A stack outside the apply's selection: the flag would do nothing.
    let run = run_elsewhere(&[
        "apply",
        "stacks/none",
        "--auto-approve",
        "--env",
        "dev",
        "--recreate",
        "stacks/a",
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("which this apply does not include"),
        "{}",
        run.stderr
    );
    run_elsewhere(&[
        "apply",
        "--auto-approve",
        "--env",
        "dev",
        "--recreate",
        "stacks/a/", // as a shell completes it
    ])
    .assert_ok();
    assert!(
        elsewhere.path().read_dir().unwrap().next().is_some(),
        "the state is here now"
    );
    run_elsewhere(&["apply", "--auto-approve", "--env", "dev"]).assert_ok();
}

/// The same refusal in a promotion: the destination's lock records the stack, and this
/// checkout finds no state of it there.
#[test]
fn a_promotion_refuses_a_stack_the_destination_records_while_it_has_no_state() {
    let repo = tools_repo();
    repo.write(
        "environments/staging/env.toml",
        "promotes_from = \"dev\"\n\n[state]\nbackend = \"local\"\n\n[gates]\nsoak = \"0m\"\n",
    );
    repo.write("stacks/a/main.tf", "output \"v\" {\n  value = \"1\"\n}\n");
    repo.commit("a stack");
    let plan = tempfile::tempdir().unwrap();
    let file = plan.path().join("plan.json");
    let file = file.to_str().unwrap();
    let promote = |state: Option<&std::path::Path>| -> Run {
        repo.strata(&["apply", "--auto-approve", "--env", "dev"])
            .assert_ok();
        repo.commit("dev's lock");
        repo.strata(&[
            "promote", "plan", "--from", "dev", "--to", "staging", "--out", file,
        ])
        .assert_ok();
        let mut cmd = repo.command(&["promote", "apply", file]);
        if let Some(dir) = state {
            cmd.env("STRATA_STATE_DIR", dir);
        }
        let run: Run = cmd.output().unwrap().into();
        repo.commit("staging's lock");
        run
    };
    promote(None).assert_ok();
    let lock = || {
        std::fs::read_to_string(repo.path().join("environments/staging/release.lock.toml")).unwrap()
    };
    let before = lock();
    assert!(before.contains("stacks/a"), "{before}");
    repo.write("stacks/a/main.tf", "output \"v\" {\n  value = \"2\"\n}\n");
    repo.commit("a new version");
    let elsewhere = tempfile::tempdir().unwrap();
    let run = promote(Some(elsewhere.path()));
    assert_ne!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let said = format!("{}{}", run.stdout, run.stderr);
    assert!(
        said.contains(
            "it has no state, but environments/staging/release.lock.toml records it as applied"
        ),
        "{said}"
    );
    assert_eq!(lock(), before, "the lock keeps what staging runs");
}

/// A lock entry names the commit that reproduces what was applied. An environment file
/// that fed the stack (its tfvars) changed and not committed: applied, not recorded, and
/// recorded once it is committed and applied again.
/// `strata --json apply --auto-approve --env dev`.
/// A policy the verification after an apply fails does not undo the apply: the entry is
/// recorded with the check failed (for the next environment's gates), and the run says so
/// instead of counting only what it applied.
#[test]
fn a_policy_failing_after_an_apply_is_recorded_and_said() {
    let repo = workspace();
    repo.write(
        "policies/strict/deny.rego",
        "package main\n\nimport rego.v1\n\ndeny contains \"every stack is refused\" if true\n",
    );
    repo.commit("a policy that refuses everything");
    let (run, json) = apply_dev(&repo);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        json["release"][0]["recorded"][0], "stacks/network",
        "{json}"
    );
    assert_eq!(
        json["release"][0]["failed_checks"][0],
        serde_json::json!(["stacks/network", ["policy"]]),
        "{json}"
    );
    assert!(
        run.stderr
            .contains("release lock of dev: stacks/network recorded with failed checks: policy"),
        "{}",
        run.stderr
    );
    let lock =
        std::fs::read_to_string(repo.path().join("environments/dev/release.lock.toml")).unwrap();
    assert!(lock.contains("policy = \"failed\""), "{lock}");
}

/// A stack whose files are not formatted is applied (apply runs no fmt), and its
/// verification still makes the follow-up plan: fmt failing there holds back neither
/// validate nor the plan, and the entry is recorded with fmt `failed`, as the docs say of
/// every quality check.
#[test]
fn a_format_failing_after_an_apply_is_recorded_as_failed() {
    let repo = workspace();
    repo.append("stacks/network/main.tf", "locals {\n  x   =   1\n}\n");
    repo.commit("unformatted");
    let (run, json) = apply_dev(&repo);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        json["release"][0]["recorded"][0], "stacks/network",
        "{json}"
    );
    // (The built-in pack also finds the literal token: policy failed too.)
    assert_eq!(
        json["release"][0]["failed_checks"][0][1][0], "fmt",
        "{json}"
    );
    let lock =
        std::fs::read_to_string(repo.path().join("environments/dev/release.lock.toml")).unwrap();
    assert!(lock.contains("fmt = \"failed\""), "{lock}");
    assert!(lock.contains("validate = \"passed\""), "{lock}");
    assert!(lock.contains("plan = \"passed\""), "{lock}");
}

fn apply_dev(repo: &Repo) -> (Run, serde_json::Value) {
    json_run(repo, &["apply", "--auto-approve", "--env", "dev"])
}

/// Commits `stacks/a`, applies dev, which must record it, and commits dev's lock.
#[track_caller]
fn commit_and_record_a(repo: &Repo) {
    repo.commit("a stack");
    let (run, json) = apply_dev(repo);
    run.assert_ok();
    assert_eq!(json["release"][0]["recorded"][0], "stacks/a", "{json}");
    repo.commit("dev's lock");
}

#[test]
fn the_lock_changes_only_with_its_audit_event() {
    let repo = tools_repo();
    repo.write(
        "stacks/a/main.tf",
        "variable \"size\" {\n  default = 1\n}\n\noutput \"size\" {\n  value = var.size\n}\n",
    );
    let apply = || apply_dev(&repo);
    commit_and_record_a(&repo);
    let lock_path = repo.path().join("environments/dev/release.lock.toml");
    let ledger = repo.path().join("environments/dev/audit.jsonl");
    let lock = std::fs::read_to_string(&lock_path).unwrap();
    // A killed run's temporary file, left beside the lock, is nobody's input: it does not
    // stop the next apply from recording.
    repo.write("environments/dev/.strata-tmp-x1Yz9q", "half a lock\n");
    repo.write(
        "stacks/a/main.tf",
        "variable \"size\" {\n  default = 2\n}\n\noutput \"size\" {\n  value = var.size\n}\n",
    );
    repo.git(&["add", "stacks/a/main.tf"]);
    repo.git(&["commit", "-q", "-m", "size 2"]);
    // The ledger cannot be written (here: a directory where it should be): the lock stays
    // as it was, rather than holding an entry no event wrote.
    let events = std::fs::read_to_string(&ledger).unwrap();
    std::fs::remove_file(&ledger).unwrap();
    std::fs::create_dir(&ledger).unwrap();
    let (run, _) = apply();
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("audit.jsonl"), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(&lock_path).unwrap(), lock);
    std::fs::remove_dir(&ledger).unwrap();
    std::fs::write(&ledger, &events).unwrap();
    // That apply changed dev and wrote no event: its record is left in the checkout, and
    // the next run writes it into the ledger first. When the ledger cannot be written (the
    // last rename fails, as on a read-only bind mount), that next run changes nothing.
    if let Some(_immutable) = common::Immutable::set(&ledger) {
        let run = repo.strata(&["apply", "--auto-approve", "--env", "dev"]);
        assert_ne!(run.code, 0, "{}", run.stderr);
        assert!(
            run.stderr.contains("cannot write") && run.stderr.contains("audit.jsonl"),
            "{}",
            run.stderr
        );
        assert_eq!(std::fs::read_to_string(&lock_path).unwrap(), lock);
    }
    let (run, json) = apply();
    run.assert_ok();
    assert!(
        run.stderr.contains("(outcome interrupted)"),
        "{}",
        run.stderr
    );
    assert_eq!(json["release"][0]["recorded"][0], "stacks/a", "{json}");
    assert_ne!(std::fs::read_to_string(&lock_path).unwrap(), lock);
    repo.strata(&["audit", "verify", "--env", "dev"])
        .assert_ok();
}

#[test]
fn an_apply_with_an_uncommitted_environment_file_is_not_recorded() {
    let repo = tools_repo();
    repo.write(
        "stacks/a/main.tf",
        "variable \"size\" {}\n\noutput \"size\" {\n  value = var.size\n}\n",
    );
    repo.write("environments/dev/stacks/a/terraform.tfvars", "size = 1\n");
    let apply = || apply_dev(&repo);
    commit_and_record_a(&repo);
    let lock_path = repo.path().join("environments/dev/release.lock.toml");
    // Every file the stack's sandbox holds may feed it (a script of the stack may read
    // any): one not committed stops the recording. Notes the workspace ignores do not.
    repo.write("environments/dev/stacks/a/bootstrap.env", "image=2\n");
    let (_, json) = apply();
    assert!(
        json["release"][0]["not_recorded"]
            .to_string()
            .contains("environments/dev/stacks/a/bootstrap.env changed since the last commit"),
        "{json}"
    );
    std::fs::remove_file(repo.path().join("environments/dev/stacks/a/bootstrap.env")).unwrap();
    let workspace = std::fs::read_to_string(repo.path().join("WORKSPACE.toml")).unwrap();
    repo.write(
        "WORKSPACE.toml",
        &workspace.replacen(
            "name = \"t\"\n",
            "name = \"t\"\nignore = [\"**/*.md\"]\n",
            1,
        ),
    );
    repo.commit("notes are no inputs");
    repo.write("environments/dev/stacks/a/README.md", "about a\n");
    let (run, json) = apply();
    run.assert_ok();
    assert_eq!(
        json["release"][0]["not_recorded"],
        serde_json::json!([]),
        "{json}"
    );
    std::fs::remove_file(repo.path().join("environments/dev/stacks/a/README.md")).unwrap();
    repo.commit("dev's lock");
    let lock = std::fs::read_to_string(&lock_path).unwrap();

    repo.write("environments/dev/stacks/a/terraform.tfvars", "size = 2\n");
    let (_, json) = apply();
    let not_recorded = json["release"][0]["not_recorded"].to_string();
    assert!(
        not_recorded.contains(
            "applied with environments/dev/stacks/a/terraform.tfvars changed since the last commit"
        ),
        "{json}"
    );
    assert!(json["release"][0]["recorded"]
        .as_array()
        .is_none_or(|r| r.is_empty()));
    assert_eq!(std::fs::read_to_string(&lock_path).unwrap(), lock);

    repo.commit("size 2");
    let (run, json) = apply();
    run.assert_ok();
    assert_eq!(json["release"][0]["recorded"][0], "stacks/a", "{json}");
    // The stack's hash is the same (environment files are no part of it), but its entry
    // names the commit that gave it size 2: the one before would plan size 1 again (drift
    // would report it, and a rollback to it would undo the change).
    let head = repo.git(&["rev-parse", "HEAD"]);
    let lock = std::fs::read_to_string(&lock_path).unwrap();
    assert!(
        lock.contains(&format!("commit = \"{}\"", head.trim())),
        "{lock}"
    );
    repo.commit("dev's lock at size 2");
    repo.strata(&["drift", "--env", "dev"]).assert_ok();
    // Applied again with nothing changed, the entry (and when it arrived) is kept.
    let (run, _) = apply();
    run.assert_ok();
    assert_eq!(std::fs::read_to_string(&lock_path).unwrap(), lock);
}

/// A stack that reads another through `terraform_remote_state`, ordered after it with
/// `deps`: once that stack is applied anew, the reader's cached plan is not served (its
/// key holds the outputs of the stacks its `deps` name), and a plan that now fails fails.
#[test]
fn a_remote_state_readers_plan_is_made_again_when_what_it_reads_changes() {
    let repo = workspace();
    let apply_network = |v: &str| {
        let run: Run = repo
            .command(&["apply", "--auto-approve", "--env", "dev", "stacks/network"])
            .env("TF_VAR_v", v)
            .output()
            .unwrap()
            .into();
        assert_eq!(run.code, 0, "{}", run.stderr);
    };
    apply_network("1");
    let state = files_containing(repo.state_dir(), b"vpc-1", &[])
        .into_iter()
        .find(|p| p.ends_with("stacks/network/terraform.tfstate"))
        .expect("the network's local state");
    repo.write(
        "stacks/reader/main.tf",
        &format!(
            "{NULL_PROVIDER}\ndata \"terraform_remote_state\" \"net\" {{\n  backend = \"local\"\n  config = {{\n    path = {:?}\n  }}\n}}\n\nresource \"null_resource\" \"r\" {{\n  triggers = {{\n    vpc = regex(\"^vpc-1$\", data.terraform_remote_state.net.outputs.vpc_id)\n  }}\n}}\n",
            state.display().to_string()
        ),
    );
    repo.write("stacks/reader/stack.toml", "deps = [\"stacks/network\"]\n");
    repo.commit("a reader of the network's state");
    // `plan`, not `check`: the state's path is a temporary directory whose random name the
    // built-in pack may take for a secret (a finding that has nothing to do with this).
    let check = || repo.strata(&["plan", "--env", "dev", "stacks/reader"]);
    let first = check();
    assert_eq!(first.code, 0, "{}", first.stderr);
    apply_network("2");
    let second = check();
    assert_eq!(second.code, 1, "{}", second.stderr);
    assert!(
        second
            .stderr
            .contains("FAILED          stacks/reader plan [dev]"),
        "{}",
        second.stderr
    );
}

/// A resource marked tainted in the state (as `terraform taint` marks it) is replaced, and
/// the plan says why: no attribute forces it, so without the reason a reviewer would see
/// a replacement of something nobody changed.
#[test]
fn a_tainted_resource_is_shown_as_the_reason_for_its_replacement() {
    let repo = workspace();
    let (first, _) = json_run(&repo, &["apply", "--auto-approve", "--env", "dev"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let path = repo.state_file("dev", "stacks/network");
    let mut state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let resources = state["resources"].as_array_mut().unwrap();
    let extra = resources.iter_mut().find(|r| r["name"] == "extra").unwrap();
    extra["instances"][0]["status"] = "tainted".into();
    let serial = state["serial"].as_u64().unwrap();
    state["serial"] = (serial + 1).into();
    std::fs::write(&path, serde_json::to_vec_pretty(&state).unwrap()).unwrap();
    let run = repo.strata(&["plan", "--env", "dev"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("-/+ null_resource.extra (tainted; id)"),
        "{}",
        run.stdout
    );
    let show = repo.strata(&["show", "stacks/network", "--env", "dev"]);
    assert!(
        show.stdout
            .contains("-/+ null_resource.extra (replace: tainted)"),
        "{}",
        show.stdout
    );
}

/// A map output bound to a variable terraform reads literally (no type, or `string`) would
/// arrive as its HCL text: the plan fails before terraform runs, naming the variable and
/// the type to declare; with the type declared the map arrives as a map.
#[test]
fn a_map_for_a_variable_read_as_text_is_refused_naming_the_type_to_declare() {
    let repo = workspace();
    repo.write(
        "stacks/tagged/main.tf",
        &format!("{NULL_PROVIDER}\noutput \"tags\" {{\n  value = {{ team = \"a\" }}\n}}\n\noutput \"zones\" {{\n  value = [\"a\", \"b\"]\n}}\n"),
    );
    let reader = |declaration: &str, zones: &str| {
        repo.write(
            "stacks/reader/main.tf",
            &format!("{NULL_PROVIDER}\nvariable \"tags\" {{{declaration}}}\n\nvariable \"zones\" {{{zones}}}\n\nresource \"null_resource\" \"r\" {{\n  triggers = {{\n    team = var.tags[\"team\"]\n  }}\n}}\n"),
        );
        repo.write(
            "stacks/reader/stack.toml",
            "deps = [\"stacks/tagged\"]\n\n[inputs]\ntags = \"stacks/tagged:tags\"\nzones = \"stacks/tagged:zones\"\n",
        );
        repo.commit(&format!("reader{declaration}"));
    };
    reader("", "");
    let (applied, _) = json_run(
        &repo,
        &["apply", "--auto-approve", "--env", "dev", "stacks/tagged"],
    );
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    let plan = || repo.strata(&["plan", "--env", "dev", "stacks/reader"]);
    let untyped = plan();
    assert_eq!(untyped.code, 1, "{}", untyped.stderr);
    assert!(
        untyped
            .stderr
            .contains("variable `tags` is given a map, but it is declared without a type")
            && untyped.stderr.contains("stacks/reader"),
        "{}",
        untyped.stderr
    );
    // Every such variable is named at once, each with the type that takes its value.
    assert!(
        untyped.stderr.contains("type = map(string)")
            && untyped
                .stderr
                .contains("variable `zones` is given a list, but it is declared without a type")
            && untyped.stderr.contains("type = list(string)"),
        "{}",
        untyped.stderr
    );
    let zones = "\n  type = list(string)\n";
    reader("\n  type = string\n", zones);
    let string = plan();
    assert_eq!(string.code, 1, "{}", string.stderr);
    assert!(
        string.stderr.contains("declared `type = string`"),
        "{}",
        string.stderr
    );
    reader("\n  type = map(string)\n", zones);
    let typed = plan();
    assert_eq!(typed.code, 0, "{}", typed.stderr);
    assert!(
        typed.stdout.contains("+ null_resource.r"),
        "{}",
        typed.stdout
    );
}

/// terraform's messages about an environment's variables file name it by its path in the
/// repository, as they name the stack's own files: not by its copy in the sandbox.
#[test]
fn a_variables_file_error_names_the_file_in_the_repository() {
    let repo = workspace();
    repo.write(
        "environments/dev/stacks/network/terraform.tfvars",
        "v = \"2\"\nv = \"3\"\n",
    );
    repo.commit("v set twice");
    let plan = repo.strata(&["plan", "--env", "dev", "stacks/network"]);
    assert_eq!(plan.code, 1, "{}", plan.stderr);
    let all = format!("{}{}", plan.stdout, plan.stderr);
    assert!(
        all.contains("on environments/dev/stacks/network/terraform.tfvars line 2")
            && all.contains("already set at\nenvironments/dev/stacks/network/terraform.tfvars:1")
            && !all.contains(".strata/work"),
        "{all}"
    );
}

/// A stack taken out of an environment (`environments` in its stack.toml) leaves its
/// resources there: every later plan or apply of that environment says so and is no
/// success, and `strata destroy` tears it down there with its code as it is, removing the
/// lock's entry.
#[test]
fn a_stack_taken_out_of_an_environment_is_named_until_destroyed_there() {
    let repo = workspace();
    repo.write(
        "environments/prod/env.toml",
        "[state]\nbackend = \"local\"\n",
    );
    repo.commit("prod");
    let run = repo.strata(&["apply", "--env", "dev", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    repo.commit("dev applied");
    let state = repo.state_file("dev", "stacks/network");
    assert_eq!(resources_in(&state).len(), 2);

    repo.write("stacks/network/stack.toml", "environments = [\"prod\"]\n");
    repo.commit("the network only in prod");
    for args in [
        &["plan", "--env", "dev"][..],
        &["apply", "--env", "dev", "--auto-approve"][..],
        &[
            "apply",
            "--env",
            "dev",
            "--affected",
            "--base",
            "HEAD~1",
            "--auto-approve",
        ][..],
    ] {
        let run = repo.strata(args);
        assert_eq!(run.code, 1, "{args:?}: {}", run.stderr);
        assert!(
            run.stderr.contains(
                "stacks/network is no longer deployed in dev (`environments` in stacks/network/stack.toml), and dev's release lock records it"
            ),
            "{args:?}: {}",
            run.stderr
        );
    }
    assert_eq!(resources_in(&state).len(), 2);
    // A scheduled drift check says so too (it called the stack in sync).
    let run = repo.strata(&["drift", "--env", "dev"]);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("DRIFTED  stacks/network [dev]")
            && run.stdout.contains("taken out of dev"),
        "{}",
        run.stdout
    );

    let run = repo.strata(&[
        "destroy",
        "stacks/network",
        "--env",
        "dev",
        "--auto-approve",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(resources_in(&state).is_empty());
    let lock =
        std::fs::read_to_string(repo.path().join("environments/dev/release.lock.toml")).unwrap();
    assert!(!lock.contains("stacks/network"), "{lock}");
    repo.commit("destroyed in dev");
    let run = repo.strata(&["plan", "--env", "dev"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

/// Two deleted stacks, the reader destroyed already (as a destroy asks: dependents first):
/// `apply --affected --allow-destroy` takes the empty reader along ("nothing to destroy")
/// and destroys its upstream, instead of refusing because the reader is not named.
#[test]
fn a_deleted_upstream_goes_after_its_deleted_reader_was_destroyed_already() {
    let repo = workspace();
    app_reading_the_network(&repo);
    repo.commit("app reads the network");
    let run = repo.strata(&["apply", "--env", "dev", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = repo.strata(&["destroy", "stacks/app", "--env", "dev", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    repo.commit("applied, app destroyed");
    repo.remove("stacks/app");
    repo.remove("stacks/network");
    repo.commit("both deleted");
    let state = repo.state_file("dev", "stacks/network");
    assert_eq!(resources_in(&state).len(), 2);
    let run = repo.strata(&[
        "apply",
        "--env",
        "dev",
        "--affected",
        "--base",
        "HEAD~1",
        "--allow-destroy",
        "--auto-approve",
    ]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(resources_in(&state).is_empty());
}

/// The checks that verify an apply count apart from its tasks: when they fail, the run
/// says so beside its "all ok" line, and exits 1. (The stack's own test fails; its
/// unformatted file is recorded as a failed check and holds nothing back.)
#[test]
fn a_failed_verification_is_counted_beside_the_apply() {
    let repo = tools_repo();
    repo.write(
        "stacks/app/main.tf",
        "output \"size\" {\nvalue = \"x\"\n}\n",
    );
    repo.write(
        "stacks/app/tests/size.rego",
        "package main\n\nimport rego.v1\n\ntest_size_is_large if {\n  false\n}\n",
    );
    repo.commit("not formatted, and a failing test");
    let run = repo.strata(&["apply", "--env", "dev", "--auto-approve"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("verification in dev: 6 tasks: 3 ok, 2 failed, 1 skipped"),
        "{}",
        run.stderr
    );
}

/// A stack the lock records that no longer exists is named by a plain plan too (not only
/// by `--affected` from a base where it was deployed), and a stack taken out of the
/// environment that still reads another keeps that other from being destroyed alone.
#[test]
fn recorded_stacks_deleted_or_taken_out_are_never_forgotten() {
    let repo = workspace();
    app_reading_the_network(&repo);
    repo.write(
        "environments/prod/env.toml",
        "[state]\nbackend = \"local\"\n",
    );
    repo.commit("app reads the network");
    let run = repo.strata(&["apply", "--env", "dev", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    repo.commit("dev applied");
    repo.write(
        "stacks/app/stack.toml",
        "environments = [\"prod\"]\n[inputs]\nvpc_id = \"stacks/network:vpc_id\"\n",
    );
    repo.commit("app only in prod");
    let run = repo.strata(&[
        "destroy",
        "stacks/network",
        "--env",
        "dev",
        "--auto-approve",
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("stacks/app reads outputs of what would be destroyed"),
        "{}",
        run.stderr
    );
    // Deleted outright: a plain plan names it, with the way to destroy it.
    repo.remove("stacks/app");
    repo.commit("app deleted");
    let run = repo.strata(&["plan", "--env", "dev"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("stacks/app no longer exists, and dev's release lock records it"),
        "{}",
        run.stderr
    );
}

/// `destroy --from` of a stack whose state lived under its own settings
/// (`[state.stacks."label"]`), removed with the stack: the commit's settings find it.
#[test]
fn a_deleted_stacks_own_state_settings_are_the_commits() {
    let repo = workspace();
    let elsewhere = tempfile::tempdir().unwrap();
    let own = elsewhere.path().join("network.tfstate");
    repo.write(
        "environments/dev/env.toml",
        &format!(
            "[state]\nbackend = \"local\"\n[state.stacks.\"stacks/network\"]\npath = \"{}\"\n",
            own.display()
        ),
    );
    repo.commit("the network's state elsewhere");
    let run = repo.strata(&["apply", "--env", "dev", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    repo.commit("dev applied");
    assert_eq!(resources_in(&own).len(), 2);
    repo.remove("stacks/network");
    repo.write(
        "environments/dev/env.toml",
        "[state]\nbackend = \"local\"\n",
    );
    repo.commit("the network deleted, and its settings");
    let run = repo.strata(&[
        "destroy",
        "stacks/network",
        "--env",
        "dev",
        "--from",
        "HEAD~1",
        "--auto-approve",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(resources_in(&own).is_empty(), "{}", run.stderr);
}

/// A push to a local state another run holds waits for it (`lock_timeout`) and then says to
/// push again when that run is over: a local lock ends with its run, and the unlock the
/// message sent the user to is refused for local state.
#[test]
fn a_push_to_a_state_a_run_holds_says_to_wait_for_it() {
    let repo = tools_repo();
    repo.write(
        "environments/dev/env.toml",
        "[state]\nbackend = \"local\"\nlock_timeout = \"1s\"\n",
    );
    common::network_stack(&repo, "1");
    repo.commit("network");
    repo.strata(&["apply", "--env", "dev", "--auto-approve"])
        .assert_ok();
    let copy = tempfile::tempdir().unwrap();
    let file = copy.path().join("network.tfstate");
    std::fs::copy(repo.state_file("dev", "stacks/network"), &file).unwrap();
    common::network_stack(&repo, "slow");
    repo.commit("a slow network");
    let marker = copy.path().join("holding");
    let mut slow = common::slow_apply_started(&repo, &marker, "15");
    let run = repo.strata(&[
        "state",
        "push",
        "stacks/network",
        "--env",
        "dev",
        file.to_str().unwrap(),
    ]);
    slow.wait().unwrap();
    // A held lock is a failure to run again later, not bad input: exit 1.
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("locked by"), "{}", run.stderr);
    assert!(
        run.stderr.contains("push again when that run is over")
            && !run.stderr.contains("strata state unlock"),
        "{}",
        run.stderr
    );
}

/// A push terraform refuses for the file itself (a state of another lineage) is bad input,
/// exit 2, as opposed to a held lock (exit 1); the state is untouched.
#[test]
fn a_push_of_a_state_of_another_lineage_is_bad_input() {
    let repo = tools_repo();
    common::network_stack(&repo, "1");
    repo.commit("network");
    repo.strata(&["apply", "--env", "dev", "--auto-approve"])
        .assert_ok();
    let state = repo.state_file("dev", "stacks/network");
    let before = std::fs::read(&state).unwrap();
    let mut other: serde_json::Value = serde_json::from_slice(&before).unwrap();
    other["lineage"] = "another-lineage".into();
    other["serial"] = 99.into();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("other.tfstate");
    std::fs::write(&file, other.to_string()).unwrap();
    let run = repo.strata(&[
        "state",
        "push",
        "stacks/network",
        "--env",
        "dev",
        file.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("lineage"), "{}", run.stderr);
    assert_eq!(std::fs::read(&state).unwrap(), before);
}

/// dev applied and recorded, a plan dev -> staging made and applied, each committed: what
/// `promote apply` said.
fn promote_to_staging(repo: &Repo, labels: &[&str]) -> Run {
    repo.strata(&["apply", "--auto-approve", "--env", "dev"])
        .assert_ok();
    repo.commit("dev's lock");
    plan_and_promote(repo, labels)
}

/// A plan dev -> staging made and applied, and committed: what `promote apply` said.
fn plan_and_promote(repo: &Repo, labels: &[&str]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plan.json");
    let file = file.to_str().unwrap();
    let mut args = vec!["promote", "plan", "--from", "dev", "--to", "staging"];
    args.extend_from_slice(labels);
    args.extend_from_slice(&["--out", file]);
    repo.strata(&args).assert_ok();
    let run = repo.strata(&["promote", "apply", file]);
    repo.commit("staging's lock");
    run
}

fn staging_env(repo: &Repo) {
    repo.write(
        "environments/staging/env.toml",
        "promotes_from = \"dev\"\n\n[state]\nbackend = \"local\"\n",
    );
}

/// A destination's own file that is a link into the rest of the repository is read through
/// as HEAD holds what it leads to: a promotion kept the link, and so read the promoted
/// commit's older copy, while its lock entry claimed HEAD's files.
#[test]
fn a_promotion_reads_a_linked_destination_file_as_head_has_it() {
    let repo = tools_repo();
    staging_env(&repo);
    let stack = |extra: &str| {
        format!("variable \"size\" {{\n  default = 1\n}}\n\noutput \"size\" {{\n  value = var.size\n}}\n{extra}")
    };
    repo.write("stacks/s/main.tf", &stack(""));
    repo.write("shared/staging.tfvars", "size = 2\n");
    std::fs::create_dir_all(repo.path().join("environments/staging/stacks/s")).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(
        "../../../../shared/staging.tfvars",
        repo.path()
            .join("environments/staging/stacks/s/terraform.tfvars"),
    )
    .unwrap();
    repo.commit("a stack whose staging value is linked");
    let size = || {
        let state: serde_json::Value =
            serde_json::from_slice(&std::fs::read(repo.state_file("staging", "stacks/s")).unwrap())
                .unwrap();
        state["outputs"]["size"]["value"].clone()
    };
    promote_to_staging(&repo, &[]).assert_ok();
    assert_eq!(size(), 2);
    repo.write(
        "stacks/s/main.tf",
        &stack("\noutput \"note\" {\n  value = \"v2\"\n}\n"),
    );
    repo.commit("v2");
    repo.strata(&["apply", "--auto-approve", "--env", "dev"])
        .assert_ok();
    repo.commit("dev's lock");
    repo.write("shared/staging.tfvars", "size = 5\n");
    repo.commit("staging's value, through the link");
    promote_to_staging(&repo, &[]).assert_ok();
    assert_eq!(size(), 5, "the value the link leads to at HEAD");
}

/// A chart nested in the directory of a stack deleted since keeps its own files: its
/// destination files are HEAD's in a promotion (they were taken for the deleted stack's,
/// and kept as the promoted commit had them).
#[test]
fn a_promotion_gives_a_chart_nested_in_a_deleted_stack_its_files_as_head_has_them() {
    let repo = tools_repo();
    staging_env(&repo);
    let workspace = std::fs::read_to_string(repo.path().join("WORKSPACE.toml")).unwrap();
    repo.write(
        "WORKSPACE.toml",
        &format!("{workspace}\n[gitops]\nformat = \"argocd\"\nrepo_url = \"https://git.example/x.git\"\n"),
    );
    repo.write("stacks/app/main.tf", "output \"x\" {\n  value = \"1\"\n}\n");
    repo.write(
        "stacks/app/chart/Chart.yaml",
        "apiVersion: v2\nname: c\nversion: 0.1.0\n",
    );
    repo.write("stacks/app/chart/values.yaml", "replicas: 1\n");
    let template = |label: &str| {
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  labels:\n    v: \"{label}\"\ndata:\n  replicas: \"{{{{ .Values.replicas }}}}\"\n")
    };
    repo.write("stacks/app/chart/templates/cm.yaml", &template("1"));
    repo.write(
        "environments/staging/stacks/app/chart/values.yaml",
        "replicas: 2\n",
    );
    repo.commit("a stack with a chart inside");
    promote_to_staging(&repo, &[]).assert_ok();
    repo.write("stacks/app/chart/templates/cm.yaml", &template("2"));
    repo.commit("chart v2");
    repo.strata(&["apply", "--auto-approve", "--env", "dev"])
        .assert_ok();
    repo.commit("dev's lock");
    repo.git(&["rm", "-q", "stacks/app/main.tf"]);
    repo.write(
        "environments/staging/stacks/app/chart/values.yaml",
        "replicas: 5\n",
    );
    repo.commit("the stack retired; staging's replicas");
    let run = plan_and_promote(&repo, &["stacks/app/chart"]);
    run.assert_ok();
    let rendered = common::files_containing(&repo.path().join("deploy/staging"), b"replicas", &[]);
    assert!(!rendered.is_empty(), "{}", run.stdout);
    for file in rendered {
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            text.contains("replicas: \"5\""),
            "{}: {text}",
            file.display()
        );
    }
}
