//! Selection, task planning, sharding and task keys over small workspaces written to a
//! temporary directory. The model is read through git (the only way strata reads a
//! workspace), so each workspace is a fresh `git init`; nothing else runs: no terraform,
//! helm or network.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use strata_graph::error::Error;
use strata_graph::id::TargetId;
use strata_graph::model::Model;
use strata_graph::session::{Session, View};
use strata_run::select::{select, Scope, Selection};
use strata_run::shard::{shard_of, shards};
use strata_run::task::{
    plan_tasks, plan_tasks_in, Action, Mode, Task, TaskFingerprint, TaskId, TASK_KEY_VERSION,
};
use tempfile::TempDir;

#[allow(clippy::disallowed_methods)] // the workspace is a git repository; git is all that runs
fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(["-c", "user.email=t@example.com", "-c", "user.name=t"])
        .args([
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A workspace in a temporary git repository. The built-in policy pack is off unless a
/// test turns it on, so the tasks planned are those of the workspace's own files.
struct Workspace {
    dir: TempDir,
}

impl Workspace {
    fn new() -> Workspace {
        let dir = tempfile::tempdir().unwrap();
        git(dir.path(), &["init", "-q"]);
        let ws = Workspace { dir };
        ws.write(
            "WORKSPACE.toml",
            "[workspace]\nname = \"t\"\n\n[policy]\nbuiltin = false\n",
        );
        ws
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn write(&self, rel: &str, text: &str) -> &Workspace {
        let path = self.root().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
        self
    }

    fn remove(&self, rel: &str) {
        let path = self.root().join(rel);
        if path.is_dir() {
            std::fs::remove_dir_all(path).unwrap();
        } else {
            std::fs::remove_file(path).unwrap();
        }
    }

    fn envs(&self, names: &[&str]) -> &Workspace {
        for name in names {
            self.write(&format!("environments/{name}/env.toml"), "");
        }
        self
    }

    /// A stack with one output; `manifest` is its stack.toml ("" for none).
    fn stack(&self, name: &str, manifest: &str) -> &Workspace {
        self.write(
            &format!("stacks/{name}/main.tf"),
            "output \"id\" { value = \"x\" }\n",
        );
        if !manifest.is_empty() {
            self.write(&format!("stacks/{name}/stack.toml"), manifest);
        }
        self
    }

    fn module(&self, name: &str) -> &Workspace {
        self.write(
            &format!("modules/{name}/main.tf"),
            "variable \"name\" {\n  type = string\n}\n",
        )
    }

    fn chart(&self, name: &str, chart_yaml_tail: &str) -> &Workspace {
        self.write(
            &format!("charts/{name}/Chart.yaml"),
            &format!("apiVersion: v2\nname: {name}\nversion: 0.1.0\n{chart_yaml_tail}"),
        )
    }

    fn policy(&self, name: &str, policy_toml: &str) -> &Workspace {
        self.write(&format!("policies/{name}/policy.toml"), policy_toml);
        self.write(
            &format!("policies/{name}/rules.rego"),
            "package main\n\nimport rego.v1\n\ndeny contains msg if {\n  false\n  msg := \"never\"\n}\n",
        )
    }

    fn commit(&self) {
        git(self.root(), &["add", "-A"]);
        git(self.root(), &["commit", "-q", "-m", "change"]);
    }

    fn open(&self) -> (Session, View) {
        let session = Session::open(self.root(), false).unwrap();
        let view = session.work_tree().unwrap();
        (session, view)
    }

    fn model(&self) -> Model {
        self.open().1.model
    }
}

/// network <- cluster, network <- database <- app (staging and prod only), dns alone; three
/// environments.
fn stacks() -> Workspace {
    let ws = Workspace::new();
    ws.envs(&["dev", "staging", "prod"])
        .stack("network", "")
        .stack("cluster", "deps = [\"stacks/network\"]\n")
        .stack("database", "[inputs]\nvpc_id = \"stacks/network:id\"\n")
        .stack(
            "app",
            "deps = [\"stacks/database\"]\nenvironments = [\"staging\", \"prod\"]\n",
        )
        .stack("dns", "");
    ws
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn labels(model: &Model, targets: &[TargetId]) -> Vec<String> {
    targets.iter().map(|&t| model[t].label.clone()).collect()
}

fn indices(model: &Model, labels: &[&str]) -> Vec<TargetId> {
    labels
        .iter()
        .map(|l| model.index(l).unwrap_or_else(|| panic!("no target {l}")))
        .collect()
}

/// `label action` or `label action [env]`.
fn name(model: &Model, task: &Task) -> String {
    let label = &model[task.target].label;
    match &task.env {
        Some(env) => format!("{label} {} [{env}]", task.action),
        None => format!("{label} {}", task.action),
    }
}

fn names(model: &Model, tasks: &[Task]) -> Vec<String> {
    tasks.iter().map(|t| name(model, t)).collect()
}

/// What the task called `task` waits for, by name.
fn waits_for(model: &Model, tasks: &[Task], task: &str) -> Vec<String> {
    let t = tasks
        .iter()
        .find(|t| name(model, t) == task)
        .unwrap_or_else(|| panic!("no task `{task}` in {:?}", names(model, tasks)));
    let mut deps: Vec<String> = t.deps.iter().map(|&d| name(model, &tasks[d])).collect();
    deps.sort();
    deps
}

/// Every task's dependencies come before it, so the list itself is a valid order.
fn assert_ordered(model: &Model, tasks: &[Task]) {
    for (i, t) in TaskId::all(tasks.len()).zip(tasks) {
        for &d in &t.deps {
            assert!(
                d < i,
                "{} waits for the later {}",
                name(model, t),
                name(model, &tasks[d])
            );
        }
    }
}

fn position(model: &Model, tasks: &[Task], task: &str) -> usize {
    tasks
        .iter()
        .position(|t| name(model, t) == task)
        .unwrap_or_else(|| panic!("no task `{task}` in {:?}", names(model, tasks)))
}

// Task planning.

#[test]
fn check_runs_fmt_and_validate_once_then_init_and_plan_in_each_environment() {
    let model = stacks().model();
    let tasks = plan_tasks(
        &model,
        &indices(&model, &["stacks/network"]),
        &strings(&["dev", "prod"]),
        Mode::Check,
    );
    assert_eq!(
        names(&model, &tasks),
        [
            "stacks/network fmt",
            "stacks/network validate",
            "stacks/network init [dev]",
            "stacks/network plan [dev]",
            "stacks/network init [prod]",
            "stacks/network plan [prod]",
        ]
    );
    assert_eq!(
        waits_for(&model, &tasks, "stacks/network validate"),
        ["stacks/network fmt"]
    );
    // Each environment's chain starts after the environment-less checks, independently.
    assert_eq!(
        waits_for(&model, &tasks, "stacks/network init [prod]"),
        ["stacks/network validate"]
    );
    assert_eq!(
        waits_for(&model, &tasks, "stacks/network plan [prod]"),
        ["stacks/network init [prod]"]
    );
}

#[test]
fn a_task_waits_for_its_upstream_stack_in_the_same_environment_only() {
    let model = stacks().model();
    let tasks = plan_tasks(
        &model,
        &indices(&model, &["stacks/cluster", "stacks/network"]),
        &strings(&["dev", "prod"]),
        Mode::Check,
    );
    assert_ordered(&model, &tasks);
    // The dependency's tasks come first, whatever order the selection named them in.
    assert!(
        position(&model, &tasks, "stacks/network plan [prod]")
            < position(&model, &tasks, "stacks/cluster fmt")
    );
    assert_eq!(
        waits_for(&model, &tasks, "stacks/cluster fmt"),
        ["stacks/network validate"]
    );
    // A plan sees its upstream's state in that environment: dev waits for dev, not prod.
    assert_eq!(
        waits_for(&model, &tasks, "stacks/cluster init [dev]"),
        [
            "stacks/cluster validate",
            "stacks/network plan [dev]",
            "stacks/network validate"
        ]
    );
    assert_eq!(
        waits_for(&model, &tasks, "stacks/cluster init [prod]"),
        [
            "stacks/cluster validate",
            "stacks/network plan [prod]",
            "stacks/network validate"
        ]
    );
}

#[test]
fn apply_waits_for_the_upstream_apply_through_a_chain_of_input_bindings() {
    let model = stacks().model();
    let envs = strings(&["staging"]);
    let tasks = plan_tasks(
        &model,
        &indices(&model, &["stacks/app", "stacks/database", "stacks/network"]),
        &envs,
        Mode::Apply,
    );
    assert_eq!(
        names(&model, &tasks),
        [
            "stacks/network init [staging]",
            "stacks/network plan [staging]",
            "stacks/network apply [staging]",
            "stacks/database init [staging]",
            "stacks/database plan [staging]",
            "stacks/database apply [staging]",
            "stacks/app init [staging]",
            "stacks/app plan [staging]",
            "stacks/app apply [staging]",
        ]
    );
    assert_eq!(
        waits_for(&model, &tasks, "stacks/database init [staging]"),
        ["stacks/network apply [staging]"]
    );
    assert_eq!(
        waits_for(&model, &tasks, "stacks/app init [staging]"),
        ["stacks/database apply [staging]"]
    );
    // A dependency that is not selected is not run: its state is read as it is.
    let alone = plan_tasks(
        &model,
        &indices(&model, &["stacks/app"]),
        &envs,
        Mode::Apply,
    );
    assert_eq!(alone.len(), 3);
    assert!(alone[0].deps.is_empty());
}

#[test]
fn a_stack_runs_only_in_the_environments_it_declares() {
    let model = stacks().model();
    let app = indices(&model, &["stacks/app"]);
    let tasks = plan_tasks(&model, &app, &strings(&["dev", "staging"]), Mode::Check);
    assert_eq!(
        names(&model, &tasks),
        [
            "stacks/app fmt",
            "stacks/app validate",
            "stacks/app init [staging]",
            "stacks/app plan [staging]",
        ]
    );
    // Outside its environments there is nothing to plan or apply.
    assert!(plan_tasks(&model, &app, &strings(&["dev"]), Mode::Apply).is_empty());
}

#[test]
fn narrowed_environments_apply_to_the_named_targets_only() {
    let model = stacks().model();
    let selected = indices(&model, &["stacks/dns", "stacks/network"]);
    let only = HashMap::from([(model.index("stacks/network").unwrap(), strings(&["prod"]))]);
    let tasks = plan_tasks_in(
        &model,
        &selected,
        &strings(&["dev", "prod"]),
        Some(&only),
        Mode::Plan,
    );
    let mut got = names(&model, &tasks);
    got.sort();
    assert_eq!(
        got,
        [
            "stacks/dns init [dev]",
            "stacks/dns init [prod]",
            "stacks/dns plan [dev]",
            "stacks/dns plan [prod]",
            "stacks/network init [prod]",
            "stacks/network plan [prod]",
        ]
    );
}

#[test]
fn destroy_tears_down_the_dependents_first() {
    let model = stacks().model();
    let selected = indices(&model, &["stacks/network", "stacks/cluster"]);
    let envs = strings(&["dev"]);
    let tasks = plan_tasks(&model, &selected, &envs, Mode::Destroy);
    assert_ordered(&model, &tasks);
    assert_eq!(
        names(&model, &tasks),
        [
            "stacks/cluster init [dev]",
            "stacks/cluster plan [dev]",
            "stacks/cluster apply [dev]",
            "stacks/network init [dev]",
            "stacks/network plan [dev]",
            "stacks/network apply [dev]",
        ]
    );
    assert_eq!(
        waits_for(&model, &tasks, "stacks/network init [dev]"),
        ["stacks/cluster apply [dev]"]
    );
    // A destroy plan is made in the same order, without applying.
    let planned = plan_tasks(&model, &selected, &envs, Mode::DestroyPlan);
    assert_eq!(
        names(&model, &planned),
        [
            "stacks/cluster init [dev]",
            "stacks/cluster plan [dev]",
            "stacks/network init [dev]",
            "stacks/network plan [dev]",
        ]
    );
    assert_eq!(
        waits_for(&model, &planned, "stacks/network init [dev]"),
        ["stacks/cluster plan [dev]"]
    );
}

/// A stack calling a module, a library chart and a chart using it, one environment.
fn mixed() -> Workspace {
    let ws = Workspace::new();
    ws.envs(&["dev"])
        .module("vpc")
        .write(
            "stacks/network/main.tf",
            "module \"vpc\" {\n  source = \"../../modules/vpc\"\n  name   = \"n\"\n}\n",
        )
        .chart("lib", "type: library\n")
        .write(
            "charts/lib/templates/_helpers.tpl",
            "{{- define \"lib.name\" -}}x{{- end -}}\n",
        )
        .chart(
            "web",
            "dependencies:\n  - name: lib\n    version: 0.1.0\n    repository: file://../lib\n",
        )
        .write("charts/web/values.yaml", "replicas: 1\n");
    ws
}

#[test]
fn each_kind_gets_the_tasks_of_the_mode() {
    let model = mixed().model();
    let all: Vec<TargetId> = model.ids().collect();
    let envs = strings(&["dev"]);
    let check = plan_tasks(&model, &all, &envs, Mode::Check);
    assert_ordered(&model, &check);
    let mut got = names(&model, &check);
    got.sort();
    assert_eq!(
        got,
        [
            // A library chart renders nothing by itself: it is linted once.
            "charts/lib lint",
            "charts/web deps",
            "charts/web lint [dev]",
            "charts/web render [dev]",
            "modules/vpc fmt",
            "modules/vpc validate",
            "stacks/network fmt",
            "stacks/network init [dev]",
            "stacks/network plan [dev]",
            "stacks/network validate",
        ]
    );
    // The module and the library chart are checked before what uses them.
    assert_eq!(
        waits_for(&model, &check, "stacks/network fmt"),
        ["modules/vpc validate"]
    );
    assert_eq!(
        waits_for(&model, &check, "charts/web deps"),
        ["charts/lib lint"]
    );

    let plan = plan_tasks(&model, &all, &envs, Mode::Plan);
    let mut got = names(&model, &plan);
    got.sort();
    assert_eq!(
        got,
        [
            "charts/web render [dev]",
            "stacks/network init [dev]",
            "stacks/network plan [dev]",
        ]
    );

    // Only stacks are applied; charts are delivered otherwise.
    let apply = plan_tasks(&model, &all, &envs, Mode::Apply);
    assert_eq!(
        names(&model, &apply),
        [
            "stacks/network init [dev]",
            "stacks/network plan [dev]",
            "stacks/network apply [dev]",
        ]
    );
}

#[test]
fn rego_tests_and_governing_policies_run_after_the_plan_in_the_environments_they_cover() {
    let ws = stacks();
    ws.write(
        "stacks/network/tests/outputs.rego",
        "package test\n\nimport rego.v1\n\ntest_ok if true\n",
    )
    .policy(
        "prod-only",
        "kinds = [\"stack\"]\nlabels = [\"stacks/net*\"]\nenvironments = [\"prod\"]\n",
    );
    let model = ws.model();
    let selected = indices(&model, &["stacks/network", "stacks/dns"]);
    let envs = strings(&["dev", "prod"]);
    let tasks = plan_tasks(&model, &selected, &envs, Mode::Check);
    let network: Vec<String> = names(&model, &tasks)
        .into_iter()
        .filter(|n| n.starts_with("stacks/network"))
        .collect();
    assert_eq!(
        network,
        [
            "stacks/network fmt",
            "stacks/network validate",
            "stacks/network init [dev]",
            "stacks/network plan [dev]",
            "stacks/network test [dev]",
            "stacks/network init [prod]",
            "stacks/network plan [prod]",
            "stacks/network test [prod]",
            "stacks/network policy [prod]",
        ]
    );
    assert_eq!(
        waits_for(&model, &tasks, "stacks/network policy [prod]"),
        ["stacks/network test [prod]"]
    );
    // dns has no tests and the policy's labels leave it out.
    assert!(!names(&model, &tasks)
        .iter()
        .any(|n| n.starts_with("stacks/dns") && (n.contains("test") || n.contains("policy"))));
    // Tests and policies are part of check only.
    assert!(
        !names(&model, &plan_tasks(&model, &selected, &envs, Mode::Plan))
            .iter()
            .any(|n| n.contains(" test ") || n.contains(" policy "))
    );
}

#[test]
fn a_governed_module_is_checked_by_its_policies_without_an_environment() {
    let ws = mixed();
    ws.policy("modules", "kinds = [\"module\"]\n");
    let model = ws.model();
    let tasks = plan_tasks(
        &model,
        &indices(&model, &["modules/vpc"]),
        &strings(&["dev"]),
        Mode::Check,
    );
    assert_eq!(
        names(&model, &tasks),
        [
            "modules/vpc fmt",
            "modules/vpc validate",
            "modules/vpc policy"
        ]
    );
}

#[test]
fn the_built_in_policy_pack_adds_policy_tasks_unless_turned_off() {
    let ws = Workspace::new();
    ws.envs(&["dev"]).stack("network", "");
    let network = |model: &Model| {
        plan_tasks(
            model,
            &indices(model, &["stacks/network"]),
            &strings(&["dev"]),
            Mode::Check,
        )
        .iter()
        .map(|t| name(model, t))
        .collect::<Vec<_>>()
    };
    let off = ws.model();
    assert!(!network(&off).iter().any(|n| n.contains("policy")));

    ws.write("WORKSPACE.toml", "[workspace]\nname = \"t\"\n");
    let on = ws.model();
    assert_eq!(
        network(&on).last().map(String::as_str),
        Some("stacks/network policy [dev]")
    );
}

#[test]
fn with_no_environment_named_every_environment_runs_in_train_order() {
    let ws = Workspace::new();
    ws.write("environments/dev/env.toml", "")
        .write("environments/staging/env.toml", "promotes_from = \"dev\"\n")
        .write(
            "environments/prod/env.toml",
            "promotes_from = \"staging\"\n",
        )
        .stack("network", "");
    let model = ws.model();
    assert_eq!(
        strata_run::resolve_envs(&model, &[]).unwrap(),
        ["dev", "staging", "prod"]
    );
    assert_eq!(
        strata_run::resolve_envs(&model, &strings(&["prod"])).unwrap(),
        ["prod"]
    );
    match strata_run::resolve_envs(&model, &strings(&["prd"])) {
        Err(Error::Invalid { message, hint, .. }) => {
            assert!(message.contains("`prd`"), "{message}");
            assert!(hint.starts_with("did you mean `prod`?"), "{hint}");
        }
        other => panic!("expected an invalid environment, got {other:?}"),
    }
}

#[test]
fn an_environment_named_twice_runs_once() {
    let model = stacks().model();
    let envs = strata_run::resolve_envs(&model, &strings(&["dev", "dev"])).unwrap();
    let tasks = plan_tasks(
        &model,
        &indices(&model, &["stacks/network"]),
        &envs,
        Mode::Apply,
    );
    assert_eq!(
        names(&model, &tasks),
        [
            "stacks/network init [dev]",
            "stacks/network plan [dev]",
            "stacks/network apply [dev]",
        ]
    );
}

// Selection.

#[test]
fn a_label_selects_that_target_alone_not_its_dependencies() {
    let ws = stacks();
    let (session, view) = ws.open();
    let selection = select(
        &session,
        &view,
        &Scope::Labels(strings(&["stacks/app", "stacks/cluster/"])),
    )
    .unwrap();
    // Sorted, and a plan reads its upstreams' state: they are not run with it.
    assert_eq!(
        labels(&view.model, &selection.targets),
        ["stacks/app", "stacks/cluster"]
    );
    assert!(selection.target_envs.is_empty());

    let all = select(&session, &view, &Scope::All).unwrap();
    assert_eq!(all.targets.len(), view.model.targets.len());

    match select(
        &session,
        &view,
        &Scope::Labels(strings(&["stacks/netwrok"])),
    ) {
        Err(Error::NoSuchTarget { label, suggestion }) => {
            assert_eq!(label, "stacks/netwrok");
            assert_eq!(
                suggestion.as_deref(),
                Some("did you mean `stacks/network`?")
            );
        }
        other => panic!("expected no such target, got {other:?}"),
    }
}

#[test]
fn selecting_a_policy_brings_every_target_it_governs_in_every_environment() {
    let ws = stacks();
    ws.policy("db", "kinds = [\"stack\"]\nlabels = [\"stacks/d*\"]\n")
        .write(
            "environments/dev/stacks/database/terraform.tfvars",
            "a = 1\n",
        )
        .commit();
    // The policy changed, and database only through its dev files.
    ws.write(
        "policies/db/rules.rego",
        "package main\n\nimport rego.v1\n\nwarn contains \"w\" if false\n",
    )
    .write(
        "environments/dev/stacks/database/terraform.tfvars",
        "a = 2\n",
    );
    let (session, view) = ws.open();
    let model = &view.model;

    let by_label = select(&session, &view, &Scope::Labels(strings(&["policies/db"]))).unwrap();
    assert_eq!(
        labels(model, &by_label.targets),
        ["policies/db", "stacks/database", "stacks/dns"]
    );

    let affected = select(
        &session,
        &view,
        &Scope::Affected {
            base: "HEAD".into(),
        },
    )
    .unwrap();
    assert_eq!(
        labels(model, &affected.targets),
        ["policies/db", "stacks/database", "stacks/dns"]
    );
    // The policy may change findings anywhere: database is not narrowed to dev.
    assert!(
        affected.target_envs.is_empty(),
        "{:?}",
        affected.target_envs
    );
}

#[test]
fn affected_selects_changed_stacks_and_their_dependents_not_their_dependencies() {
    let ws = stacks();
    ws.commit();
    ws.write(
        "stacks/database/main.tf",
        "output \"id\" { value = \"y\" }\n",
    );
    let (session, view) = ws.open();
    let selection = select(
        &session,
        &view,
        &Scope::Affected {
            base: "HEAD".into(),
        },
    )
    .unwrap();
    assert_eq!(
        labels(&view.model, &selection.targets),
        ["stacks/app", "stacks/database"]
    );
    assert!(selection.target_envs.is_empty());
    assert!(selection.deleted_stacks.is_empty());
    assert_eq!(selection.base.as_deref(), Some("HEAD"));
}

#[test]
fn affected_through_one_environments_files_runs_only_there() {
    let ws = stacks();
    ws.write(
        "environments/prod/stacks/cluster/terraform.tfvars",
        "size = 1\n",
    )
    .commit();
    ws.write(
        "environments/prod/stacks/cluster/terraform.tfvars",
        "size = 2\n",
    );
    let (session, view) = ws.open();
    let model = &view.model;
    let selection = select(
        &session,
        &view,
        &Scope::Affected {
            base: "HEAD".into(),
        },
    )
    .unwrap();
    let cluster = model.index("stacks/cluster").unwrap();
    assert_eq!(labels(model, &selection.targets), ["stacks/cluster"]);
    assert_eq!(
        selection.target_envs.get(&cluster),
        Some(&strings(&["prod"]))
    );
    let tasks = plan_tasks_in(
        model,
        &selection.targets,
        &strings(&["dev", "staging", "prod"]),
        Some(&selection.target_envs),
        Mode::Plan,
    );
    assert_eq!(
        names(model, &tasks),
        ["stacks/cluster init [prod]", "stacks/cluster plan [prod]"]
    );
}

#[test]
fn a_deleted_stack_is_reported_with_its_environments_and_not_run() {
    let ws = stacks();
    ws.commit();
    ws.remove("stacks/app");
    let (session, view) = ws.open();
    let selection = select(
        &session,
        &view,
        &Scope::Affected {
            base: "HEAD".into(),
        },
    )
    .unwrap();
    assert!(selection.targets.is_empty(), "{:?}", selection.targets);
    assert_eq!(
        selection.deleted_stacks,
        [("stacks/app".to_string(), strings(&["staging", "prod"]))]
    );
}

#[test]
fn a_target_that_cannot_be_modelled_stops_the_selections_that_need_it() {
    let ws = stacks();
    ws.write("stacks/network/broken.tf", "resource \"x\" \"y\" {\n");
    let (session, view) = ws.open();
    // cluster depends on the broken network: nothing runs.
    match select(
        &session,
        &view,
        &Scope::Labels(strings(&["stacks/cluster"])),
    ) {
        Err(Error::Broken { problems }) => {
            assert!(
                problems.iter().all(|(label, _)| label == "stacks/network"),
                "{problems:?}"
            );
            assert!(!problems.is_empty());
        }
        other => panic!("expected a broken target, got {other:?}"),
    }
    // dns does not read it.
    let dns = select(&session, &view, &Scope::Labels(strings(&["stacks/dns"]))).unwrap();
    assert_eq!(labels(&view.model, &dns.targets), ["stacks/dns"]);

    // A policy that cannot be read could govern anything: every selection stops.
    let ws = stacks();
    // `environment` is not a key of policy.toml.
    ws.policy("guard", "kinds = [\"stack\"]\nenvironment = [\"prod\"]\n");
    let (session, view) = ws.open();
    assert!(matches!(
        select(&session, &view, &Scope::Labels(strings(&["stacks/dns"]))),
        Err(Error::Broken { .. })
    ));
}

// Sharding.

/// `modules` light targets (fmt and validate) and one stack in three environments.
fn lopsided(modules: usize) -> Workspace {
    let ws = Workspace::new();
    ws.envs(&["dev", "staging", "prod"]).stack("big", "");
    for i in 0..modules {
        ws.module(&format!("m{i}"));
    }
    ws
}

fn all_of(model: &Model) -> Selection {
    Selection {
        targets: model.ids().collect(),
        ..Selection::default()
    }
}

#[test]
fn shards_cover_every_target_once_and_count_its_tasks() {
    let ws = stacks();
    ws.module("vpc").module("dns-zone");
    let model = ws.model();
    let selection = all_of(&model);
    let envs = strings(&["dev", "staging", "prod"]);
    let split = shards(&model, &selection, &envs, 3);
    assert_eq!(split.len(), 3);
    let mut seen: Vec<String> = split.iter().flat_map(|s| s.labels.clone()).collect();
    seen.sort();
    let mut every = labels(&model, &selection.targets);
    every.sort();
    assert_eq!(seen, every, "each target in exactly one shard");
    for s in &split {
        assert_eq!(s.of, 3);
        assert_eq!(s.targets, s.labels.join(" "));
        let mine = indices(
            &model,
            &s.labels.iter().map(String::as_str).collect::<Vec<_>>(),
        );
        assert_eq!(
            s.tasks,
            plan_tasks(&model, &mine, &envs, Mode::Check).len(),
            "shard {}",
            s.shard
        );
    }
    let total: usize = split.iter().map(|s| s.tasks).sum();
    assert_eq!(
        total,
        plan_tasks(&model, &selection.targets, &envs, Mode::Check).len()
    );
    // Balanced: no shard carries more than the lightest plus the heaviest single target.
    let heaviest = selection
        .targets
        .iter()
        .map(|&t| plan_tasks(&model, &[t], &envs, Mode::Check).len())
        .max()
        .unwrap();
    let loads: Vec<usize> = split.iter().map(|s| s.tasks).collect();
    assert!(
        loads.iter().max().unwrap() - loads.iter().min().unwrap() <= heaviest,
        "{loads:?}"
    );
}

#[test]
fn a_heavy_target_gets_a_shard_while_light_ones_share_the_other() {
    // big: fmt, validate and init and plan in three environments (8); each module 2.
    let model = lopsided(4).model();
    let selection = all_of(&model);
    let envs = strings(&["dev", "staging", "prod"]);
    let split = shards(&model, &selection, &envs, 2);
    let got: Vec<(Vec<String>, usize)> =
        split.iter().map(|s| (s.labels.clone(), s.tasks)).collect();
    assert_eq!(
        got,
        [
            (strings(&["stacks/big"]), 8),
            (
                strings(&["modules/m0", "modules/m1", "modules/m2", "modules/m3"]),
                8
            ),
        ]
    );
}

#[test]
fn the_split_is_the_same_every_time_and_each_runner_gets_its_listed_part() {
    let ws = lopsided(5);
    ws.stack("small", "environments = [\"dev\"]\n");
    let model = ws.model();
    let envs = strings(&["dev", "staging", "prod"]);
    let small = model.index("stacks/small").unwrap();
    let big = model.index("stacks/big").unwrap();
    let selection = Selection {
        target_envs: HashMap::from([(big, strings(&["prod"]))]),
        deleted_stacks: vec![("stacks/gone".into(), strings(&["dev"]))],
        base: Some("main".into()),
        ..all_of(&model)
    };
    let first = shards(&model, &selection, &envs, 3);
    assert_eq!(first, shards(&model, &selection, &envs, 3));
    // Narrowed to prod, big costs fmt, validate, init and plan: 4, not 8.
    let holding_big = first
        .iter()
        .find(|s| s.labels.contains(&"stacks/big".to_string()))
        .unwrap();
    let big_alone = plan_tasks_in(
        &model,
        &[big],
        &envs,
        Some(&selection.target_envs),
        Mode::Check,
    )
    .len();
    assert_eq!(big_alone, 4);
    assert!(holding_big.tasks >= big_alone);

    for s in &first {
        let part = shard_of(&model, &selection, &envs, s.shard, 3);
        let mut expected = indices(
            &model,
            &s.labels.iter().map(String::as_str).collect::<Vec<_>>(),
        );
        expected.sort_unstable();
        assert_eq!(part.targets, expected, "shard {}", s.shard);
        // Narrowed environments travel with their target, and only with it.
        assert_eq!(
            part.target_envs.contains_key(&big),
            part.targets.contains(&big)
        );
        assert_eq!(part.base.as_deref(), Some("main"));
        // Deleted stacks are reported once, by the first shard.
        assert_eq!(part.deleted_stacks.is_empty(), s.shard != 1);
    }
    assert!(first.iter().any(|s| s.labels.contains(&model[small].label)));
}

#[test]
fn more_shards_than_targets_leaves_the_extra_shards_out() {
    let model = lopsided(1).model();
    let selection = all_of(&model);
    let envs = strings(&["dev"]);
    let split = shards(&model, &selection, &envs, 5);
    assert_eq!(
        split.iter().map(|s| s.shard).collect::<Vec<_>>(),
        [1, 2],
        "{split:?}"
    );
    assert!(split.iter().all(|s| s.of == 5));
    // A runner given an empty shard runs nothing.
    assert!(shard_of(&model, &selection, &envs, 4, 5).targets.is_empty());
}

#[test]
fn a_change_that_only_deletes_a_stack_still_gets_the_shard_that_reports_it() {
    let ws = stacks();
    ws.commit();
    ws.remove("stacks/dns");
    let (session, view) = ws.open();
    let envs = strings(&["dev", "staging", "prod"]);
    let selection = select(
        &session,
        &view,
        &Scope::Affected {
            base: "HEAD".into(),
        },
    )
    .unwrap();
    assert!(selection.targets.is_empty());
    assert_eq!(selection.deleted_stacks.len(), 1);
    // The first shard is the one that says what deleted stacks left behind (a run with no
    // tasks still does: see `RunReport::left_behind`); a matrix without it runs nothing.
    let first = shard_of(&view.model, &selection, &envs, 1, 2);
    assert_eq!(first.deleted_stacks, selection.deleted_stacks);
    let matrix = shards(&view.model, &selection, &envs, 2);
    assert_eq!(
        matrix.iter().map(|s| s.shard).collect::<Vec<_>>(),
        [1],
        "{matrix:?}"
    );
}

// Task keys.

/// The key of a plan of `label` in dev with nothing but its code varying.
fn plan_key(view: &View, label: &str) -> String {
    TaskFingerprint {
        version: TASK_KEY_VERSION,
        label,
        target_hash: view.hash_of(label).unwrap(),
        action: Action::Plan,
        env: Some("dev".into()),
        env_inputs: Vec::new(),
        state: None,
        upstream_outputs: None,
        tf_vars: None,
        unpinned_tool: None,
        reads: None,
        policies: Vec::new(),
        waivers: Vec::new(),
    }
    .key()
    .to_hex()
}

#[test]
fn editing_a_stack_changes_its_task_keys_and_its_dependents_but_no_other() {
    let ws = stacks();
    let every = [
        "stacks/network",
        "stacks/cluster",
        "stacks/database",
        "stacks/app",
        "stacks/dns",
    ];
    let keys = |ws: &Workspace| {
        let (_, view) = ws.open();
        every.map(|l| plan_key(&view, l))
    };
    let before = keys(&ws);
    assert_eq!(before, keys(&ws), "reading the same files twice");

    ws.write(
        "stacks/network/main.tf",
        "output \"id\" { value = \"changed\" }\n",
    );
    let after = keys(&ws);
    let changed: Vec<&str> = every
        .iter()
        .zip(before.iter().zip(&after))
        .filter(|(_, (b, a))| b != a)
        .map(|(l, _)| *l)
        .collect();
    assert_eq!(
        changed,
        [
            "stacks/network",
            "stacks/cluster",
            "stacks/database",
            "stacks/app"
        ]
    );

    // Back to what it was: the old keys (and their cached results) apply again.
    ws.write(
        "stacks/network/main.tf",
        "output \"id\" { value = \"x\" }\n",
    );
    assert_eq!(keys(&ws), before);
}

// Run preconditions that hold before any tool is looked for.

struct Quiet;
impl strata_run::Observer for Quiet {}

fn options(mode: Mode, envs: &[&str]) -> strata_run::RunOptions {
    strata_run::RunOptions {
        mode,
        envs: strings(envs),
        jobs: 1,
        keep_going: false,
        allow_incomplete: false,
        use_cache: false,
        remote: None,
        state_root: None,
        cache_dir: None,
        deployed: Default::default(),
        env_files_from: None,
        gating: strata_run::task::Gating::Stop,
    }
}

#[test]
fn destroy_refuses_what_is_not_a_stack_and_a_stack_whose_readers_would_remain() {
    let ws = mixed();
    ws.stack("reader", "deps = [\"stacks/network\"]\n")
        .stack("reader2", "deps = [\"stacks/reader\"]\n");
    let (session, view) = ws.open();
    let model = &view.model;
    let run = |targets: &[&str]| {
        let selection = Selection {
            targets: indices(model, targets),
            ..Selection::default()
        };
        strata_run::run(
            &session,
            &view,
            &selection,
            &options(Mode::Destroy, &["dev"]),
            &Quiet,
        )
    };
    match run(&["modules/vpc"]) {
        Err(Error::Usage { message, .. }) => {
            assert!(message.contains("modules/vpc is a module"), "{message}")
        }
        other => panic!("expected a usage error, got {:?}", other.map(|r| r.ok)),
    }
    // Readers at any distance must be named too.
    match run(&["stacks/network"]) {
        Err(Error::Usage { message, .. }) => assert!(
            message.starts_with("stacks/reader, stacks/reader2 read outputs"),
            "{message}"
        ),
        other => panic!("expected a usage error, got {:?}", other.map(|r| r.ok)),
    }
    match run(&["stacks/network", "stacks/reader"]) {
        Err(Error::Usage { message, .. }) => {
            assert!(
                message.starts_with("stacks/reader2 reads outputs"),
                "{message}"
            )
        }
        other => panic!("expected a usage error, got {:?}", other.map(|r| r.ok)),
    }
    // Nothing ran: no run lock, no sandboxes.
    assert!(!ws.root().join(".strata").exists());
}

#[test]
fn a_run_in_an_unknown_environment_is_refused_before_anything_runs() {
    let ws = stacks();
    let (session, view) = ws.open();
    let selection = Selection {
        targets: indices(&view.model, &["stacks/dns"]),
        ..Selection::default()
    };
    let result = strata_run::run(
        &session,
        &view,
        &selection,
        &options(Mode::Check, &["qa"]),
        &Quiet,
    );
    assert!(
        matches!(&result, Err(Error::Invalid { message, .. }) if message.contains("`qa`")),
        "{:?}",
        result.map(|r| r.ok)
    );
    assert!(!ws.root().join(".strata").exists());
}
