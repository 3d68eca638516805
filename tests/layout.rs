//! Where targets live: `[layout]` globs, marker files and the workspace root as a target,
//! for the layouts of public repositories; nothing with Terraform files or a chart is
//! silently left out.
#![allow(clippy::disallowed_methods)] // tests drive git, the real strata binary and tools

mod common;
use common::Repo;

fn repo_with(workspace: &str, files: &[&str]) -> Repo {
    let repo = Repo::new();
    repo.write("WORKSPACE.toml", workspace);
    for f in files {
        repo.write(f, "variable \"x\" {}\n");
    }
    repo.commit("initial");
    repo
}

fn list(repo: &Repo) -> serde_json::Value {
    let run = repo.strata(&["--json", "list"]);
    run.assert_ok();
    run.json()
}

fn labels(json: &serde_json::Value) -> Vec<(String, String)> {
    json["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["label"].as_str().unwrap().to_string(),
                t["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn pairs(want: &[(&str, &str)]) -> Vec<(String, String)> {
    want.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// A tree glob gives every directory below a stack to that stack. One that is a root of its
/// own (a backend, a Terragrunt unit, a Terramate stack) and that the stack does not call
/// as a module would never be planned: `list` names it, and `--check` fails.
#[test]
fn a_root_folded_into_the_stack_above_it_is_named() {
    let backend = "terraform {\n  backend \"s3\" {}\n}\n";
    let repo = Repo::new();
    repo.write(
        "WORKSPACE.toml",
        "[workspace]\nname = \"t\"\n\n[layout]\nstacks = [\"infra/*\"]\n",
    )
    .write(
        "infra/net/main.tf",
        &format!("{backend}module \"x\" {{\n  source = \"./modules/x\"\n}}\nmodule \"y\" {{\n  source = \"./link\"\n}}\n"),
    )
    // Modules of the stack (Terraform ignores a module's backend), one called through a
    // link: not roots.
    .write("infra/net/modules/x/main.tf", backend)
    .write("infra/net/impl/main.tf", backend)
    .write(
        "infra/net/hcp/main.tf",
        "terraform {\n  cloud {\n    organization = \"o\"\n  }\n}\n",
    )
    // A plain directory of the stack: not a root.
    .write("infra/net/scripts/helper.tf", "locals {\n  a = 1\n}\n")
    .write("infra/net/peering/main.tf", backend)
    .write("infra/net/unit/main.tf", "variable \"x\" {}\n")
    .write("infra/net/unit/terragrunt.hcl", "inputs = {}\n")
    .write("infra/net/tm/main.tf", "variable \"x\" {}\n")
    .write("infra/net/tm/stack.tm.hcl", "stack {\n  name = \"tm\"\n}\n");
    std::os::unix::fs::symlink("impl", repo.path().join("infra/net/link")).unwrap();
    repo.commit("initial");
    let run = repo.strata(&["--json", "list", "--check"]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let folded: Vec<(String, String)> = run.json()["folded_roots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            assert_eq!(f["target"], "infra/net", "{f}");
            (
                f["dir"].as_str().unwrap().to_string(),
                f["why"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        folded,
        pairs(&[
            ("infra/net/hcp", "`cloud` block in infra/net/hcp/main.tf"),
            (
                "infra/net/peering",
                "backend \"s3\" in infra/net/peering/main.tf"
            ),
            (
                "infra/net/tm",
                "a Terramate stack in infra/net/tm/stack.tm.hcl"
            ),
            (
                "infra/net/unit",
                "a Terragrunt unit (infra/net/unit/terragrunt.hcl)"
            ),
        ])
    );
    let text = repo.strata(&["list"]);
    text.assert_ok();
    assert!(
        text.stderr
            .contains("warning: infra/net/peering/ is a root of its own"),
        "{}",
        text.stderr
    );
    // Each given a target of its own, nothing is folded.
    for dir in ["peering", "unit", "tm", "hcp"] {
        repo.write(&format!("infra/net/{dir}/stack.toml"), "");
    }
    let run = repo.strata(&["--json", "list", "--check"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.json()["folded_roots"], serde_json::json!([]));
}

#[test]
fn the_root_module_and_its_examples() {
    // terraform-aws-modules/*: two lines of layout.
    let repo = repo_with(
        "[workspace]\nname = \"eks\"\n[layout]\nstacks = [\"examples/*\", \"tests/*\"]\nmodules = [\".\", \"modules/*\"]\n",
        &[
            "main.tf",
            "modules/node-group/main.tf",
            "examples/complete/versions.tf",
            "tests/user-data/main.tf",
        ],
    );
    repo.write(
        "examples/complete/main.tf",
        "module \"eks\" {\n  source = \"../..\"\n}\n\nmodule \"ng\" {\n  source = \"../../modules/node-group\"\n}\n",
    );
    repo.commit("calls");
    let json = list(&repo);
    assert_eq!(
        labels(&json),
        pairs(&[
            (".", "module"),
            ("examples/complete", "stack"),
            ("modules/node-group", "module"),
            ("tests/user-data", "stack"),
        ])
    );
    let complete = &json["targets"][1];
    assert_eq!(
        complete["deps"],
        serde_json::json!([".", "modules/node-group"])
    );
    // An edit of the root module affects it and the example that calls it.
    repo.append("main.tf", "\n");
    assert_eq!(
        repo.affected_labels(&["--base", "main"]),
        vec![".", "examples/complete"]
    );
    // `.` is how users name the root.
    assert_eq!(repo.strata(&["hash", "."]).code, 0);
}

#[test]
fn deployable_roots_under_modules_and_a_live_tree() {
    // cloudposse/terraform-aws-components: every directory under modules/ is a root.
    let repo = repo_with(
        "[workspace]\nname = \"c\"\n[layout]\nstacks = [\"modules/**\"]\nmodules = []\n",
        &[
            "modules/eks/cluster/main.tf",
            "modules/eks/cluster/modules/x/main.tf",
            "modules/vpc/main.tf",
        ],
    );
    assert_eq!(
        labels(&list(&repo)),
        pairs(&[("modules/eks/cluster", "stack"), ("modules/vpc", "stack")])
    );
    // A Terragrunt-style live tree: one line.
    let repo = repo_with(
        "[workspace]\nname = \"l\"\n[layout]\nstacks = [\"live/*/*/*\"]\nmodules = [\"units/*\"]\n",
        &[
            "live/prod/eu-west-1/vpc/main.tf",
            "live/dev/eu-west-1/vpc/main.tf",
            "units/vpc/main.tf",
        ],
    );
    assert_eq!(
        labels(&list(&repo)),
        pairs(&[
            ("live/dev/eu-west-1/vpc", "stack"),
            ("live/prod/eu-west-1/vpc", "stack"),
            ("units/vpc", "module"),
        ])
    );
}

#[test]
fn a_live_tree_deploys_each_stack_to_the_environment_its_path_names() {
    let repo = repo_with(
        "[workspace]\nname = \"l\"\n[layout]\nstacks = [\"live/*/*/*\"]\nmodules = [\"units/*\"]\nenvironment_path = \"live/{env}\"\n",
        &[
            "live/prod/eu-west-1/vpc/main.tf",
            "live/dev/eu-west-1/vpc/main.tf",
            "live/dev/eu-west-1/app/main.tf",
            "live/common/global/dns/main.tf",
            "units/vpc/main.tf",
        ],
    );
    for env in ["dev", "prod"] {
        repo.write(&format!("environments/{env}/env.toml"), "");
    }
    // A marker file listing environments wins over the path.
    repo.write(
        "live/dev/eu-west-1/app/stack.toml",
        "environments = [\"dev\", \"prod\"]\n",
    );
    repo.commit("environments");
    let json = list(&repo);
    let envs = |label: &str| -> Vec<String> {
        json["targets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["label"] == label)
            .unwrap()["environments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e.as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(envs("live/prod/eu-west-1/vpc"), vec!["prod"]);
    assert_eq!(envs("live/dev/eu-west-1/vpc"), vec!["dev"]);
    assert_eq!(envs("live/dev/eu-west-1/app"), vec!["dev", "prod"]);
    // `common` is no environment: every one.
    assert_eq!(envs("live/common/global/dns"), vec!["dev", "prod"]);

    // A pattern without its {env} segment is refused.
    repo.write(
        "WORKSPACE.toml",
        "[workspace]\nname = \"l\"\n[layout]\nstacks = [\"live/*/*/*\"]\nenvironment_path = \"live/*\"\n",
    );
    let run = repo.strata(&["list"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("has no `{env}` segment"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("--> WORKSPACE.toml:5"),
        "{}",
        run.stderr
    );
}

#[test]
fn markers_make_any_directory_a_target_and_nested_modules_their_own() {
    let repo = repo_with(
        "[workspace]\nname = \"m\"\n",
        &[
            "infra/dns/main.tf",
            "modules/eks/main.tf",
            "modules/eks/modules/node/main.tf",
        ],
    );
    repo.write("infra/dns/stack.toml", "");
    repo.write("modules/eks/modules/node/module.toml", "");
    repo.commit("markers");
    assert_eq!(
        labels(&list(&repo)),
        pairs(&[
            ("infra/dns", "stack"),
            ("modules/eks", "module"),
            ("modules/eks/modules/node", "module"),
        ])
    );
    // The nested module is its own target: an edit there affects only it.
    repo.append("modules/eks/modules/node/main.tf", "\n");
    assert_eq!(
        repo.affected_labels(&["--base", "main"]),
        vec!["modules/eks/modules/node"]
    );
}

/// A module's marker decides its kind, nothing more: a module deploys nowhere, with or
/// without `module.toml` (it used to take every environment from an empty one), and
/// `environments` there is an error at its line.
#[test]
fn a_module_marker_gives_no_environments() {
    let repo = repo_with(
        "[workspace]\nname = \"m\"\n",
        &["modules/m/main.tf", "modules/n/main.tf", "stacks/a/main.tf"],
    );
    repo.write("environments/dev/env.toml", "");
    repo.write("modules/n/module.toml", "");
    repo.commit("a marker");
    let json = list(&repo);
    let envs = |label: &str| {
        json["targets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["label"] == label)
            .unwrap_or_else(|| panic!("no {label} in {json}"))["environments"]
            .clone()
    };
    assert_eq!(envs("modules/m"), serde_json::json!([]), "{json}");
    assert_eq!(envs("modules/n"), serde_json::json!([]), "{json}");
    assert_eq!(envs("stacks/a"), serde_json::json!(["dev"]), "{json}");

    repo.write(
        "modules/n/module.toml",
        "# a module\nenvironments = [\"dev\"]\n",
    );
    repo.commit("environments for a module");
    let run = repo.strata(&["list"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("a module deploys nowhere")
            && run.stderr.contains("--> modules/n/module.toml:2"),
        "{}",
        run.stderr
    );
}

#[test]
fn directories_the_layout_leaves_out_are_reported() {
    let repo = repo_with(
        "[workspace]\nname = \"u\"\n",
        &["stacks/app/main.tf", "terraform/legacy/main.tf"],
    );
    repo.write(
        "deploy/helm/api/Chart.yaml",
        "apiVersion: v2\nname: api\nversion: 0.1.0\n",
    );
    repo.commit("chart");
    let json = list(&repo);
    assert_eq!(json["unowned"], serde_json::json!(["terraform/legacy"]));
    let run = repo.strata(&["list"]);
    assert!(run.stderr.contains("terraform/legacy/"), "{}", run.stderr);
    assert!(run.stderr.contains("[layout]"), "{}", run.stderr);
    assert_eq!(repo.strata(&["list", "--check"]).code, 1);
    // Covered by the layout, nothing is left out.
    repo.append(
        "WORKSPACE.toml",
        "[layout]\nstacks = [\"stacks/*\", \"terraform/*\"]\n",
    );
    assert_eq!(repo.strata(&["list", "--check"]).code, 0);
    // A bad glob names the file.
    repo.write(
        "WORKSPACE.toml",
        "[workspace]\nname = \"u\"\n[layout]\nstacks = [\"stacks/[\"]\n",
    );
    let run = repo.strata(&["list"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("WORKSPACE.toml:4"), "{}", run.stderr);
}

#[test]
fn labels_as_people_type_them() {
    let repo = Repo::with_fixture();
    let hash_of = |dir: &str, label: &str| {
        let run = repo.strata_in(&repo.path().join(dir), &["--json", "hash", label]);
        assert_eq!(run.code, 0, "{dir} {label}: {}", run.stderr);
        run.json()["targets"][0]["label"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(hash_of("stacks/network", "."), "stacks/network");
    assert_eq!(hash_of("stacks/network", "../app"), "stacks/app");
    assert_eq!(hash_of("stacks/network", "stacks/app"), "stacks/app");
    assert_eq!(hash_of(".", "./stacks/network/"), "stacks/network");
    let absolute = repo.path().join("modules/vpc").display().to_string();
    assert_eq!(hash_of("stacks", &absolute), "modules/vpc");
    let run = repo.strata(&["hash", "stacks/netwrk"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("did you mean `stacks/network`?"),
        "{}",
        run.stderr
    );
}

/// Without pins, the versions of the tools found enter task keys, and `strata tools` says
/// what it found.
#[test]
fn unpinned_tool_versions_enter_task_keys() {
    let root = common::repo_root();
    let repo = repo_with("[workspace]\nname = \"t\"\n", &["stacks/app/main.tf"]);
    repo.write("environments/dev/env.toml", "");
    repo.commit("env");
    let real = root.join(".tools/bin");
    let fake = tempfile::tempdir().unwrap();
    let script = fake.path().join("terraform");
    std::fs::write(
        &script,
        "#!/bin/sh\necho '{\"terraform_version\":\"1.9.9\"}'\n",
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let run_with = |bin: &std::path::Path, args: &[&str]| -> common::Run {
        let path = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        repo.command(args)
            .env("PATH", path)
            .output()
            .unwrap()
            .into()
    };
    let tools = run_with(&real, &["--json", "tools"]);
    assert_eq!(tools.code, 0, "{}", tools.stderr);
    let json = tools.json();
    let terraform = json["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["tool"] == "terraform")
        .unwrap()
        .clone();
    assert_eq!(terraform["found_version"], "1.0.3", "{json}");
    assert_eq!(terraform["is_pinned"], false);
    let key = |bin: &std::path::Path| {
        let run = run_with(
            bin,
            &[
                "--no-cache",
                "--json",
                "hash",
                "--explain",
                "--env",
                "dev",
                "stacks/app",
            ],
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
        let json = run.json();
        let plan = json["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["action"] == "validate")
            .unwrap()
            .clone();
        (
            plan["key"].as_str().unwrap().to_string(),
            plan["fingerprint"]["unpinned_tool"].clone(),
        )
    };
    let (with_real, tool) = key(&real);
    assert_eq!(tool, "terraform 1.0.3");
    let (with_fake, tool) = key(fake.path());
    assert_eq!(tool, "terraform 1.9.9");
    assert_ne!(
        with_real, with_fake,
        "another terraform version is another task"
    );
}

/// `terramate trigger DIR` commits `.tmtriggers/DIR/changed-<uuid>.tm.hcl` to re-run a
/// stack whose code did not change: the stack is affected by it (and its dependents), and
/// its hash changes, so cached results are not reused. An `ignore-change-*` trigger (which
/// hides a change from Terramate) affects nothing and hides nothing.
#[test]
fn terramate_triggers_affect_the_stack_they_name() {
    let repo = repo_with(
        "[workspace]\nname = \"tm\"\n[layout]\nstacks = [\"stacks/**\"]\nmodules = []\n",
        &[
            "stacks/vpc/main.tf",
            "stacks/vpc/app/main.tf",
            "stacks/dns/main.tf",
        ],
    );
    repo.write(
        "stacks/vpc/app/deps.tf",
        "data \"terraform_remote_state\" \"vpc\" {\n  backend = \"local\"\n}\n",
    );
    repo.write("stacks/vpc/app/stack.toml", "deps = [\"stacks/vpc\"]\n");
    repo.commit("deps");
    let before = repo.hashes();
    let trigger = "trigger {\n  ctime   = 1764979200\n  reason  = \"re-run after a failed apply\"\n  type    = changed\n  context = stack\n}\n";
    repo.write(".tmtriggers/stacks/vpc/changed-5c0d4a8e.tm.hcl", trigger);
    assert_eq!(
        repo.affected(&["--base", "main"]),
        vec![
            ("stacks/vpc".to_string(), "changed".to_string()),
            ("stacks/vpc/app".to_string(), "dependency".to_string()),
        ]
    );
    let after = repo.hashes();
    assert_ne!(before["stacks/vpc"], after["stacks/vpc"]);
    assert_eq!(before["stacks/dns"], after["stacks/dns"]);
    // The nested stack's own trigger is its own, not its parent's.
    repo.commit("trigger vpc");
    repo.write(".tmtriggers/stacks/vpc/app/changed-9a1b.tm.hcl", trigger);
    assert_eq!(
        repo.affected_labels(&["--base", "main"]),
        vec!["stacks/vpc/app"]
    );
    repo.commit("trigger app");
    // ignore-change: nothing affected, and a real change beside it still counts.
    repo.write(
        ".tmtriggers/stacks/dns/ignore-change-77aa.tm.hcl",
        &trigger.replace("type    = changed", "type    = ignore-change"),
    );
    assert_eq!(
        repo.affected_labels(&["--base", "main"]),
        Vec::<String>::new()
    );
    repo.append("stacks/dns/main.tf", "\n");
    assert_eq!(
        repo.affected_labels(&["--base", "main"]),
        vec!["stacks/dns"]
    );
    // A trigger removed (after its run) affects its stack again, and is named.
    repo.commit("dns");
    repo.remove(".tmtriggers/stacks/vpc/changed-5c0d4a8e.tm.hcl");
    let run = repo.strata(&["--json", "affected", "--base", "main"]);
    run.assert_ok();
    let json = run.json();
    let vpc = json["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["label"] == "stacks/vpc")
        .unwrap_or_else(|| panic!("{json}"));
    assert_eq!(vpc["reason"], "changed");
    assert_eq!(
        vpc["deleted_files"],
        serde_json::json!([".tmtriggers/stacks/vpc/changed-5c0d4a8e.tm.hcl"])
    );
}

/// A link no target owns leading to a Terraform root (`live/prod/app -> ../dev/app`, so
/// terraform run there plans the root with prod's state) is no target, since discovery
/// does not follow linked directories: it is named among the directories no target owns,
/// so `list --check` fails, and `init` does not say nothing was left out. It was invisible.
#[test]
fn a_link_to_a_root_that_no_target_owns_is_named() {
    let repo = Repo::new();
    repo.write("live/dev/app/main.tf", "output \"o\" {\n  value = 1\n}\n");
    std::os::unix::fs::symlink("../dev/app", repo.path().join("live/prod/app").as_path())
        .or_else(|_| {
            std::fs::create_dir_all(repo.path().join("live/prod"))?;
            std::os::unix::fs::symlink("../dev/app", repo.path().join("live/prod/app"))
        })
        .unwrap();
    repo.commit("prod runs dev's root through a link");
    let init = repo.strata(&["init"]);
    init.assert_ok();
    assert!(
        !init.stdout.contains("with nothing left out"),
        "{}",
        init.stdout
    );
    let run = repo.strata(&["list", "--check"]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr
            .contains("live/prod/app (a link to a directory: discovery does not follow it)"),
        "{}",
        run.stderr
    );
    let json = repo.strata(&["--json", "list"]).json();
    assert_eq!(json["unowned"], serde_json::json!(["live/prod/app"]));
}
