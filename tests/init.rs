//! `strata init` on small repositories shaped like real ones: it writes the layout that
//! covers what it finds, and `strata list --check` then passes with exactly those targets.
#![allow(clippy::disallowed_methods)] // tests drive git, the real strata binary and tools

mod common;

use common::{Repo, Run};

/// `strata init ARGS`, which must succeed.
#[track_caller]
fn init(repo: &Repo, args: &[&str]) -> Run {
    let mut full = vec!["init"];
    full.extend_from_slice(args);
    let run = repo.strata(&full);
    run.assert_ok();
    run
}

/// Globs of one kind; `None` for a kind left to its default.
type Globs = Option<Vec<String>>;

/// The `[layout]` globs WORKSPACE.toml sets: (stacks, modules, charts).
fn layout(repo: &Repo) -> (Globs, Globs, Globs) {
    let text = std::fs::read_to_string(repo.path().join("WORKSPACE.toml")).unwrap();
    let doc: toml::Table = toml::from_str(&text).unwrap();
    let kind = |k: &str| {
        doc.get("layout").and_then(|l| l.get(k)).map(|v| {
            v.as_array()
                .unwrap()
                .iter()
                .map(|g| g.as_str().unwrap().to_string())
                .collect()
        })
    };
    (kind("stacks"), kind("modules"), kind("charts"))
}

fn globs(items: &[&str]) -> Globs {
    Some(items.iter().map(|s| s.to_string()).collect())
}

/// `strata list --check --json`, which must exit 0: (label, kind) pairs and environments.
#[track_caller]
fn list_check(repo: &Repo) -> (Vec<(String, String)>, Vec<String>) {
    let run = repo.strata(&["--json", "list", "--check"]);
    assert_eq!(
        run.code,
        0,
        "strata list --check failed\nstdout:\n{}\nstderr:\n{}\nWORKSPACE.toml:\n{}",
        run.stdout,
        run.stderr,
        std::fs::read_to_string(repo.path().join("WORKSPACE.toml")).unwrap_or_default()
    );
    let json = run.json();
    assert_eq!(json["unowned"], serde_json::json!([]));
    let targets = json["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["label"].as_str().unwrap().to_string(),
                t["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let envs = json["environments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap().to_string())
        .collect();
    (targets, envs)
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

const PROVIDER: &str = "provider \"aws\" {\n  region = \"eu-west-1\"\n}\n";

fn module_call(name: &str, source: &str) -> String {
    format!("module \"{name}\" {{\n  source = \"{source}\"\n}}\n")
}

#[test]
fn a_terraform_aws_modules_repository() {
    // The module at the top, its submodules, examples and tests calling "../..".
    let repo = Repo::new();
    repo.write(
        "main.tf",
        &format!(
            "resource \"aws_eks_cluster\" \"this\" {{}}\n{}",
            module_call("node_group", "./modules/node-group")
        ),
    )
    .write("variables.tf", "variable \"name\" {}\n")
    .write(
        "versions.tf",
        "terraform {\n  required_providers {\n    aws = { source = \"hashicorp/aws\" }\n  }\n}\n",
    )
    .write(
        "modules/node-group/main.tf",
        &module_call("user_data", "../user-data"),
    )
    .write("modules/user-data/main.tf", "variable \"x\" {}\n")
    .write("modules/user-data/templates/linux.tpl", "#!/bin/sh\n")
    .write(
        "examples/complete/main.tf",
        &format!(
            "{PROVIDER}{}{}",
            module_call("eks", "../.."),
            module_call("ng", "../../modules/node-group")
        ),
    )
    .write(
        "examples/minimal/main.tf",
        &format!("{PROVIDER}{}", module_call("eks", "../..")),
    )
    .write(
        "tests/fargate/main.tf",
        &format!("{PROVIDER}{}", module_call("eks", "../..")),
    )
    // No provider: a root all the same, like the tests beside it.
    .write(
        "tests/user-data/main.tf",
        &module_call("user_data", "../../modules/user-data"),
    )
    .write("README.md", "# terraform-aws-eks\n")
    .write(".github/workflows/ci.yml", "on: push\n")
    .write(".pre-commit-config.yaml", "repos: []\n");
    repo.commit("module");
    let run = init(&repo, &[]);
    let line = run.stdout.lines().find(|l| l.contains(" tests/user-data "));
    assert!(
        line.is_some_and(
            |l| l.ends_with("no backend, provider or caller; like the other directories in tests/")
        ),
        "{}",
        run.stdout
    );
    assert_eq!(
        layout(&repo),
        (
            globs(&["examples/*", "tests/*"]),
            globs(&[".", "modules/*"]),
            None
        )
    );
    let (targets, envs) = list_check(&repo);
    assert_eq!(
        targets,
        pairs(&[
            (".", "module"),
            ("examples/complete", "stack"),
            ("examples/minimal", "stack"),
            ("modules/node-group", "module"),
            ("modules/user-data", "module"),
            ("tests/fargate", "stack"),
            ("tests/user-data", "stack"),
        ])
    );
    assert!(envs.is_empty());
    let gitignore = std::fs::read_to_string(repo.path().join(".gitignore")).unwrap();
    assert_eq!(gitignore, ".strata/\n");
    // The root is a module: the CI and editor files it would own are ignored, so a change
    // to them alone affects nothing.
    let workspace = std::fs::read_to_string(repo.path().join("WORKSPACE.toml")).unwrap();
    assert!(
        workspace.contains("ignore = [\"**/*.md\", \".github/**\", \".pre-commit-config.yaml\"]"),
        "{workspace}"
    );
    repo.commit("strata init");
    repo.write(".github/workflows/ci.yml", "on: [push, pull_request]\n");
    assert!(
        repo.affected_labels(&["--base", "HEAD"]).is_empty(),
        "a CI-only change affects nothing"
    );
}

#[test]
fn cloudposse_components_deployable_roots_under_modules() {
    let repo = Repo::new();
    let providers = |depth: usize| {
        let up = "../".repeat(depth);
        format!(
            "{PROVIDER}{}",
            module_call("iam_roles", &format!("{up}account-map/modules/iam-roles"))
        )
    };
    repo.write("modules/account-map/main.tf", PROVIDER)
        .write("modules/account-map/modules/iam-roles/main.tf", "output \"arn\" { value = \"x\" }\n")
        .write(
            "modules/account-map/modules/roles-to-principals/main.tf",
            "variable \"roles\" {}\n",
        )
        .write("modules/vpc/providers.tf", &providers(1))
        .write(
            "modules/vpc/main.tf",
            &module_call("principals", "../account-map/modules/roles-to-principals"),
        )
        .write("modules/dns-delegated/providers.tf", &providers(1))
        .write("modules/eks/cluster/providers.tf", &providers(2))
        .write(
            "modules/eks/cluster/main.tf",
            &module_call("by_az", "./modules/node_group_by_az"),
        )
        // Outputs read from another component's remote state, by its name and by its
        // local state file: orders strata does not follow, carried over as `deps`.
        .write(
            "modules/eks/cluster/remote-state.tf",
            "module \"vpc\" {\n  source  = \"cloudposse/stack-config/yaml//modules/remote-state\"\n  version = \"1.5.0\"\n\n  component = \"vpc\"\n}\n",
        )
        // A name two directories have names neither.
        .write(
            "modules/vpc/remote-state.tf",
            "module \"dns\" {\n  source  = \"cloudposse/stack-config/yaml//modules/remote-state\"\n  version = \"1.5.0\"\n\n  component = \"dns-delegated\"\n}\n",
        )
        .write("docs/dns-delegated/README.md", "the old component\n")
        // Read in a module: the stacks calling it get the `deps`.
        .write(
            "modules/account-map/modules/iam-roles/remote-state.tf",
            "module \"account_map\" {\n  source  = \"cloudposse/stack-config/yaml//modules/remote-state\"\n  version = \"1.5.0\"\n\n  component = \"account-map\"\n}\n",
        )
        .write(
            "modules/dns-delegated/remote.tf",
            "data \"terraform_remote_state\" \"vpc\" {\n  backend = \"local\"\n  config = {\n    path = \"../vpc/terraform.tfstate\"\n  }\n}\n\ndata \"terraform_remote_state\" \"dns\" {\n  backend = \"s3\"\n  config = {\n    key = \"dns/terraform.tfstate\"\n  }\n}\n\ndata \"terraform_remote_state\" \"vpc_here\" {\n  backend = \"local\"\n  config = {\n    path = \"${path.module}/../vpc/terraform.tfstate\"\n  }\n}\n",
        )
        .write(
            "modules/eks/cluster/modules/node_group_by_az/main.tf",
            "variable \"az\" {}\n",
        )
        .write("modules/eks/echo-server/providers.tf", &providers(2))
        .write(
            "modules/eks/echo-server/main.tf",
            "resource \"helm_release\" \"this\" {\n  chart = \"${path.module}/charts/echo-server\"\n}\n",
        )
        .write(
            "modules/eks/echo-server/charts/echo-server/Chart.yaml",
            "apiVersion: v2\nname: echo-server\nversion: 0.1.0\n",
        )
        .write("stacks/catalog/vpc.yaml", "components: {}\n")
        .write(".github/workflows/ci.yml", "on: [push]\n");
    repo.commit("components");
    let run = init(&repo, &[]);
    for advice in [
        "modules/eks/cluster/remote-state.tf:5  remote-state component: vpc: add \"modules/vpc\" to `deps` in the stack.toml of modules/eks/cluster",
        "modules/dns-delegated/remote.tf:1  terraform_remote_state ../vpc/terraform.tfstate: add \"modules/vpc\" to `deps` in the stack.toml of modules/dns-delegated",
        "modules/dns-delegated/remote.tf:8  terraform_remote_state backend: s3: add the stack that writes that state to `deps` in the stack.toml of modules/dns-delegated",
        // Led by `${path.module}`, as often written.
        "modules/dns-delegated/remote.tf:15  terraform_remote_state ./../vpc/terraform.tfstate: add \"modules/vpc\" to `deps` in the stack.toml of modules/dns-delegated",
        "modules/vpc/remote-state.tf:5  remote-state component: dns-delegated: add the stack that writes that state to `deps` in the stack.toml of modules/vpc",
        "modules/account-map/modules/iam-roles/remote-state.tf:5  remote-state component: account-map: read by the stacks that call modules/account-map/modules/iam-roles: add \"modules/account-map\" to their `deps`",
    ] {
        assert!(run.stdout.contains(advice), "{advice}\n{}", run.stdout);
    }
    // The CI files are ignored though the root is no target: a change to them alone is
    // not one no target reads.
    let workspace = std::fs::read_to_string(repo.path().join("WORKSPACE.toml")).unwrap();
    assert!(
        workspace.contains("ignore = [\"**/*.md\", \".github/**\"]"),
        "{workspace}"
    );
    assert_eq!(
        layout(&repo),
        (
            globs(&["modules/**", "!modules/account-map/modules/**"]),
            None,
            None
        )
    );
    let (targets, _) = list_check(&repo);
    assert_eq!(
        targets,
        pairs(&[
            ("modules/account-map", "stack"),
            ("modules/account-map/modules/iam-roles", "module"),
            ("modules/account-map/modules/roles-to-principals", "module"),
            ("modules/dns-delegated", "stack"),
            ("modules/eks/cluster", "stack"),
            ("modules/eks/echo-server", "stack"),
            ("modules/eks/echo-server/charts/echo-server", "chart"),
            ("modules/vpc", "stack"),
        ])
    );
}

#[test]
fn a_terragrunt_live_tree() {
    let repo = Repo::new();
    repo.write(
        "live/terragrunt.hcl",
        "remote_state {\n  backend = \"s3\"\n}\n",
    )
    .write("live/_envcommon/vpc.hcl", "inputs = {}\n");
    for (env, region) in [("dev", "us-east-1"), ("prod", "eu-west-1")] {
        for unit in ["vpc", "eks"] {
            let dir = format!("live/{env}/{region}/{unit}");
            repo.write(
                &format!("{dir}/main.tf"),
                &module_call(unit, &format!("../../../../units/{unit}")),
            )
            .write(
                &format!("{dir}/terragrunt.hcl"),
                if unit == "eks" {
                    "include \"root\" {\n  path = find_in_parent_folders()\n}\n\ndependency \"vpc\" {\n  config_path = \"../vpc\"\n}\n"
                } else {
                    "include \"root\" {\n  path = find_in_parent_folders()\n}\n"
                },
            )
            .write(&format!("{dir}/terraform.tfvars"), "name = \"x\"\n");
        }
    }
    repo.write("units/vpc/main.tf", "variable \"name\" {}\n")
        .write("units/eks/main.tf", "variable \"name\" {}\n");
    // A Terragrunt stack generates its units: it is named, not silently passed over.
    repo.write(
        "catalog/platform/terragrunt.stack.hcl",
        "unit \"vpc\" {\n  source = \"../../units/vpc\"\n  path   = \"vpc\"\n}\n",
    );
    // A unit written in JSON, which strata does not read: named, with what to do.
    repo.write(
        "live/dev/us-east-1/dns/terragrunt.hcl.json",
        "{\"dependency\": {\"vpc\": {\"config_path\": \"../vpc\"}}}\n",
    )
    .write("live/dev/us-east-1/dns/main.tf", "variable \"x\" {}\n")
    .write("live/dev/us-east-1/dns/terraform.tfvars", "x = 1\n");
    repo.commit("live");
    let run = init(&repo, &[]);
    assert!(
        run.stdout.contains(
            "Terragrunt units written in JSON (1), not read: live/dev/us-east-1/dns/terragrunt.hcl.json"
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(
            "Terragrunt stack files (1), not read: catalog/platform/terragrunt.stack.hcl"
        ),
        "{}",
        run.stdout
    );
    // The units are stacks, whose dependencies and includes strata reads: nothing to carry
    // over.
    assert!(
        !run.stdout.contains("dependency ../vpc") && !run.stdout.contains("include find_in"),
        "{}",
        run.stdout
    );
    // One line gives every stack its directory's environment: no file per stack.
    assert!(
        !run.stdout.contains("live in one environment's directory"),
        "{}",
        run.stdout
    );
    let workspace = std::fs::read_to_string(repo.path().join("WORKSPACE.toml")).unwrap();
    assert!(
        workspace.contains("\nenvironment_path = \"live/{env}\"\n"),
        "{workspace}"
    );
    assert_eq!(
        layout(&repo),
        (globs(&["live/*/*/*"]), globs(&["units/*"]), None)
    );
    let env = |e: &str| {
        std::fs::read_to_string(repo.path().join(format!("environments/{e}/env.toml"))).unwrap()
    };
    assert!(!env("dev").contains("promotes_from"), "{}", env("dev"));
    assert!(
        env("prod").contains("promotes_from = \"dev\"\n"),
        "{}",
        env("prod")
    );
    let (targets, envs) = list_check(&repo);
    assert_eq!(
        targets,
        pairs(&[
            ("live/dev/us-east-1/dns", "stack"),
            ("live/dev/us-east-1/eks", "stack"),
            ("live/dev/us-east-1/vpc", "stack"),
            ("live/prod/eu-west-1/eks", "stack"),
            ("live/prod/eu-west-1/vpc", "stack"),
            ("units/eks", "module"),
            ("units/vpc", "module"),
        ])
    );
    assert_eq!(envs, vec!["dev", "prod"]);
    let listed = repo.strata(&["--json", "list"]).json();
    for t in listed["targets"].as_array().unwrap() {
        let label = t["label"].as_str().unwrap();
        if let Some(rest) = label.strip_prefix("live/") {
            let env = rest.split('/').next().unwrap();
            assert_eq!(t["environments"], serde_json::json!([env]), "{label}");
        }
        // The unit's `dependency` is an edge.
        if label.starts_with("live/") && label.ends_with("/eks") {
            let vpc = label.replace("/eks", "/vpc");
            let deps = t["deps"].to_string();
            assert!(deps.contains(&format!("\"{vpc}\"")), "{label}: {t}");
        }
    }
    // The configuration each unit includes is an input: a change to it affects them all.
    repo.commit("adopted");
    repo.append("live/terragrunt.hcl", "# edited\n");
    let affected = repo.affected(&["--base", "main"]);
    assert_eq!(affected.len(), 4, "{affected:?}");
}

/// Terragrunt modules usually declare an empty `backend` block, which Terragrunt fills in:
/// called through a unit's `terraform { source }` (in its own file, in a configuration it
/// includes, or from the repository's root), such a directory is a module, never a stack
/// deployed to every environment on its own.
#[test]
fn directories_terragrunt_units_take_as_their_source_are_modules() {
    let repo = Repo::new();
    let module = "terraform {\n  backend \"s3\" {}\n}\nvariable \"name\" {}\n";
    repo.write("live/root.hcl", "remote_state {\n  backend = \"s3\"\n}\n")
        .write(
            "live/_envcommon/db.hcl",
            "terraform {\n  source = \"${dirname(find_in_parent_folders(\"root.hcl\"))}/../modules//db\"\n}\n",
        )
        .write("modules/vpc/main.tf", module)
        .write("modules/db/main.tf", module)
        .write("modules/dns/main.tf", module);
    for env in ["dev", "prod"] {
        let include = "include \"root\" {\n  path = find_in_parent_folders(\"root.hcl\")\n}\n";
        repo.write(
            &format!("live/{env}/vpc/terragrunt.hcl"),
            &format!("{include}terraform {{\n  source = \"../../../modules//vpc\"\n}}\n"),
        )
        .write(&format!("live/{env}/vpc/main.tf"), "variable \"x\" {}\n")
        .write(
            &format!("live/{env}/db/terragrunt.hcl"),
            &format!("{include}include \"db\" {{\n  path = \"${{dirname(find_in_parent_folders(\"root.hcl\"))}}/_envcommon/db.hcl\"\n}}\n"),
        )
        .write(
            &format!("live/{env}/dns/terragrunt.hcl"),
            "terraform {\n  source = \"${get_repo_root()}/modules//dns\"\n}\n",
        );
    }
    // A unit taken as another unit's source is still a root of its own; a configuration a
    // unit only reads gives it no source.
    repo.write("live/prod/web/terragrunt.hcl", "inputs = {}\n")
        .write("live/prod/web/main.tf", module)
        .write(
            "live/canary/web/terragrunt.hcl",
            "terraform {\n  source = \"../../prod/web\"\n}\n",
        )
        .write(
            "live/_envcommon/other.hcl",
            "terraform {\n  source = \"${get_repo_root()}/modules//other\"\n}\n",
        )
        .write("modules/other/main.tf", module)
        .write(
            "live/dev/reader/terragrunt.hcl",
            "locals {\n  other = read_terragrunt_config(\"../../_envcommon/other.hcl\")\n}\n",
        );
    repo.commit("live");
    let run = repo.strata(&["--json", "init", "--dry-run"]);
    run.assert_ok();
    let found = run.json();
    let why = |label: &str| {
        found["targets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["label"] == label)
            .unwrap_or_else(|| panic!("{label} not found: {found}"))
            .clone()
    };
    for label in ["live/prod/web", "modules/other"] {
        assert_eq!(why(label)["kind"], "stack", "{}", why(label));
    }
    for (module, by) in [
        ("modules/vpc", ["live/dev/vpc", "live/prod/vpc"]),
        ("modules/db", ["live/dev/db", "live/prod/db"]),
        ("modules/dns", ["live/dev/dns", "live/prod/dns"]),
    ] {
        let t = why(module);
        assert_eq!(t["kind"], "module", "{t}");
        assert_eq!(t["why"], "called", "{t}");
        assert_eq!(t["by"], serde_json::json!(by), "{t}");
    }
    init(&repo, &[]);
    let (targets, _) = list_check(&repo);
    assert_eq!(
        targets,
        pairs(&[
            ("live/dev/vpc", "stack"),
            ("live/prod/vpc", "stack"),
            ("live/prod/web", "stack"),
            ("modules/db", "module"),
            ("modules/dns", "module"),
            ("modules/other", "stack"),
            ("modules/vpc", "module"),
        ])
    );
}

/// Stacks whose stack.toml names environments init is about to define: init's own check
/// counts the env.toml files it writes, and does not say `strata list` will refuse.
#[test]
fn environments_init_defines_are_no_problem_of_the_stacks_naming_them() {
    let repo = Repo::new();
    repo.write(
        "stacks/app/main.tf",
        "resource \"null_resource\" \"a\" {}\n",
    )
    .write("stacks/app/stack.toml", "environments = [\"dev\"]\n")
    .write("environments/dev/stacks/app/terraform.tfvars", "x = 1\n");
    repo.commit("no strata yet");
    let run = init(&repo, &[]);
    assert!(
        run.stdout.contains("created environments/dev/env.toml"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("with nothing left out"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("cannot be modelled"), "{}", run.stdout);
    assert_eq!(repo.strata(&["list"]).code, 0);
}

/// A Terramate stack file that does not parse: its orders cannot be listed, so init does
/// not say that nothing is left out; it names the file it could not read.
#[test]
fn a_terramate_file_init_cannot_read_is_not_nothing_left_out() {
    let repo = Repo::new();
    repo.write(
        "stacks/vpc/stack.tm.hcl",
        "stack {\n  name = \"vpc\"\n  tags = [\"vpc\"]\n}\n",
    )
    .write(
        "stacks/vpc/main.tf",
        "resource \"null_resource\" \"a\" {}\n",
    )
    // The closing brace is missing.
    .write(
        "stacks/app/stack.tm.hcl",
        "stack {\n  name  = \"app\"\n  after = [\"/stacks/vpc\"]\n",
    )
    .write(
        "stacks/app/main.tf",
        "resource \"null_resource\" \"b\" {}\n",
    );
    repo.commit("terramate");
    let run = init(&repo, &["--dry-run"]);
    assert!(!run.stdout.contains("nothing left out"), "{}", run.stdout);
    assert!(
        run.stdout.contains(
            "`strata list` would show these 2 targets, but init could not read 1 file (see the warnings)"
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains("(stacks/app/stack.tm.hcl:3)"),
        "{}",
        run.stderr
    );
    let json = repo.strata(&["--json", "init", "--dry-run"]).json();
    assert_eq!(
        json["unread"],
        serde_json::json!(["stacks/app/stack.tm.hcl"]),
        "{json}"
    );
    // Fixed, its order is listed and nothing is left out.
    repo.append("stacks/app/stack.tm.hcl", "}\n");
    repo.commit("fixed");
    let run = init(&repo, &["--dry-run"]);
    assert!(run.stdout.contains("nothing left out"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("after /stacks/vpc: add \"stacks/vpc\" to `deps`"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_terramate_tree_with_stacks_anywhere() {
    let repo = Repo::new();
    repo.write("terramate.tm.hcl", "terramate {\n  config {}\n}\n")
        // A Terramate stack with no backend or provider in its Terraform.
        .write(
            "infra/network/stack.tm.hcl",
            "stack {\n  name  = \"network\"\n  after = [\"/platform/dns\", \"tag:base\"]\n  watch = [\"/shared/peers.json\"]\n}\n",
        )
        .write(
            "infra/network/main.tf",
            &module_call("naming", "../../modules/naming"),
        )
        // A stack inside a stack.
        // Terramate's outputs sharing: an input read from the stack with that `id`.
        .write(
            "infra/network/peering/stack.tm.hcl",
            "stack {\n  id = \"peering\"\n}\n\ninput \"dns_zone\" {\n  backend       = \"default\"\n  value         = outputs.zone.value\n  from_stack_id = \"dns-id\"\n}\n",
        )
        .write(
            "platform/dns/stack.tm.hcl",
            "stack {\n  name = \"dns\"\n  id   = \"dns-id\"\n}\n",
        )
        .write(
            "infra/network/peering/main.tf",
            "resource \"null_resource\" \"p\" {}\n",
        )
        // Stacks that Terramate does not mark.
        .write(
            "platform/dns/main.tf",
            "terraform {\n  backend \"gcs\" {}\n}\n",
        )
        .write("apps/web/main.tf", PROVIDER)
        // Terramate runs what a stack `wants` whenever it runs it.
        .write(
            "apps/web/stack.tm.hcl",
            "stack {\n  name      = \"web\"\n  wants     = [\"/platform/dns\"]\n  wanted_by = [\"/infra/network\"]\n}\n",
        )
        .write("modules/naming/main.tf", "variable \"name\" {}\n");
    repo.commit("terramate");
    let run = init(&repo, &[]);
    assert!(
        run.stdout.contains("infra/network/stack.tm.hcl:3  after /platform/dns: add \"platform/dns\" to `deps` in the stack.toml of infra/network"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("infra/network/stack.tm.hcl:3  after tag:base: add the targets it names"),
        "{}",
        run.stdout
    );
    // A change to a stack must affect what it wants: they depend on it.
    assert!(
        run.stdout.contains("apps/web/stack.tm.hcl:3  wants /platform/dns: add \"apps/web\" to `deps` in the stack.toml of platform/dns"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("apps/web/stack.tm.hcl:4  wanted_by /infra/network: add \"infra/network\" to `deps` in the stack.toml of apps/web"),
        "{}",
        run.stdout
    );
    // An input from another stack's outputs: the stack reading it depends on that one.
    // Before, init did not list it.
    assert!(
        run.stdout.contains("infra/network/peering/stack.tm.hcl:8  input stack id: dns-id: add \"platform/dns\" to `deps` in the stack.toml of infra/network/peering"),
        "{}",
        run.stdout
    );
    // A watched file is an input Terramate was told of: it goes to `extra_inputs`.
    assert!(
        run.stdout.contains("infra/network/stack.tm.hcl:4  watch /shared/peers.json: add the watched file to `extra_inputs` in the stack.toml of infra/network"),
        "{}",
        run.stdout
    );
    let json = repo
        .strata(&["--json", "init", "--dry-run", "--force"])
        .json();
    assert_eq!(json["declared_order"][0]["dir"], "platform/dns", "{json}");
    assert_eq!(
        layout(&repo),
        (
            globs(&["*/*", "infra/network/*", "!modules/**"]),
            None,
            None
        )
    );
    let (targets, _) = list_check(&repo);
    assert_eq!(
        targets,
        pairs(&[
            ("apps/web", "stack"),
            ("infra/network", "stack"),
            ("infra/network/peering", "stack"),
            ("modules/naming", "module"),
            ("platform/dns", "stack"),
        ])
    );
}

#[test]
fn charts_under_deploy_helm_with_values_per_environment() {
    let repo = Repo::new();
    repo.write(
        "deploy/helm/lib/Chart.yaml",
        "apiVersion: v2\nname: lib\ntype: library\nversion: 0.1.0\n",
    );
    for chart in ["api", "web"] {
        repo.write(
            &format!("deploy/helm/{chart}/Chart.yaml"),
            &format!("apiVersion: v2\nname: {chart}\nversion: 0.1.0\ndependencies:\n  - name: lib\n    version: 0.1.0\n    repository: file://../lib\n"),
        )
        .write(&format!("deploy/helm/{chart}/values.yaml"), "replicas: 1\n")
        .write(&format!("deploy/helm/{chart}/values-staging.yaml"), "replicas: 2\n")
        .write(&format!("deploy/helm/{chart}/values-production.yaml"), "replicas: 3\n");
    }
    repo.write(".gitignore", "node_modules/\n");
    repo.commit("charts");
    init(&repo, &[]);
    assert_eq!(layout(&repo), (None, None, None));
    let (targets, envs) = list_check(&repo);
    assert_eq!(
        targets,
        pairs(&[
            ("deploy/helm/api", "chart"),
            ("deploy/helm/lib", "chart"),
            ("deploy/helm/web", "chart"),
        ])
    );
    assert_eq!(envs, vec!["staging", "production"]);
    let gitignore = std::fs::read_to_string(repo.path().join(".gitignore")).unwrap();
    assert_eq!(gitignore, "node_modules/\n.strata/\n");
}

/// A chart at the repository's root, with a subchart vendored in its charts/: init names
/// the root in `[layout] charts` (the default `**` does not match it), and the subchart is
/// rendered inside it, never alone (it needs the values its parent gives it). Before, init
/// kept the default, and the root chart was left out; with it named, the subchart alone
/// was rendered and failed.
#[test]
fn a_chart_at_the_root_with_a_vendored_subchart() {
    let repo = Repo::new();
    repo.write(
        "Chart.yaml",
        "apiVersion: v2\nname: r\nversion: 0.1.0\ndependencies:\n  - name: sub\n    version: 0.1.0\n",
    )
        .write("values.yaml", "sub:\n  msg: hello\n")
        .write(
            "charts/sub/Chart.yaml",
            "apiVersion: v2\nname: sub\nversion: 0.1.0\n",
        )
        .write(
            "charts/sub/templates/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: sub\ndata:\n  msg: {{ required \"msg\" .Values.msg | quote }}\n",
        );
    repo.commit("a root chart");
    init(&repo, &[]);
    assert_eq!(layout(&repo), (None, None, globs(&[".", "**"])));
    let (targets, _) = list_check(&repo);
    assert_eq!(targets, pairs(&[(".", "chart"), ("charts/sub", "chart")]));
    repo.commit("init");
    let tools = common::repo_root().join(".tools/bin");
    let path = format!(
        "{}:{}",
        tools.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run: Run = repo
        .command(&["--json", "check"])
        .env("PATH", path)
        .output()
        .unwrap()
        .into();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let labels: std::collections::BTreeSet<String> = run.json()["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["label"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(labels.into_iter().collect::<Vec<_>>(), ["."]);
}

/// Rego policies where conftest keeps them (`policy/`, and a directory below another top
/// directory) become policies of the layout, beside the default; Rego tests in a target's
/// tests/ stay its tests. Before, init said the defaults fit, and `list --check` then
/// named `policy/` as left out.
#[test]
fn conftest_policies_outside_policies_are_named_in_the_layout() {
    let repo = Repo::new();
    repo.write("stacks/a/main.tf", PROVIDER)
        .write(
            "stacks/a/tests/a_test.rego",
            "package a\n\ntest_ok if {\n  true\n}\n",
        )
        .write(
            "policy/deny.rego",
            "package main\n\ndeny contains msg if {\n  false\n  msg := \"x\"\n}\n",
        )
        .write(
            "policy/deny_test.rego",
            "package main\n\ntest_ok if {\n  true\n}\n",
        )
        .write(
            "compliance/k8s/pods.rego",
            "package k8s\n\ndeny contains msg if {\n  false\n  msg := \"x\"\n}\n",
        );
    repo.commit("conftest's layout");
    init(&repo, &[]);
    let text = std::fs::read_to_string(repo.path().join("WORKSPACE.toml")).unwrap();
    let doc: toml::Table = toml::from_str(&text).unwrap();
    assert_eq!(
        doc["layout"]["policies"],
        toml::Value::Array(
            ["policies/**", "compliance/**", "policy"]
                .iter()
                .map(|g| toml::Value::String(g.to_string()))
                .collect()
        ),
        "{text}"
    );
    let (targets, _) = list_check(&repo);
    assert_eq!(
        targets,
        pairs(&[
            ("compliance/k8s", "policy"),
            ("policy", "policy"),
            ("stacks/a", "stack"),
        ])
    );
}

/// Rego files of another tool (Atmos's stack validation: `package atmos`, `errors[msg]`,
/// Rego v0) declare no rule conftest runs: init says so, leaves them out of the policy
/// layout and ignores them, so `list --check` passes and a check does not fail on them.
/// Before, they were taken as a policy without a word, and every `strata check` in an
/// environment exited 2 because they did not load.
#[test]
fn rego_of_another_tool_is_not_taken_as_a_policy() {
    let repo = Repo::new();
    repo.write("stacks/a/main.tf", PROVIDER)
        .write(
            "stacks/schemas/opa/app/validate-app.rego",
            "package atmos\n\nerrors[message] {\n    not input.vars.name\n    message := \"name must be set\"\n}\n",
        )
        .write(
            "policy/rules.rego",
            "package main\n\ndeny_public[msg] {\n  false\n  msg := \"x\"\n}\n",
        )
        .write("policy/lib.rego", "package lib\n\nx := 1\n")
        // A policy's helper library in a directory of its own stays with the policy.
        .write(
            "policy/lib/k8s.rego",
            "package lib.k8s\n\nname := input.metadata.name\n",
        );
    repo.commit("another tool's Rego");
    let run = repo.strata(&["init"]);
    run.assert_ok();
    assert!(
        run.stderr.contains("`stacks/schemas/opa/app` holds Rego files that declare no `deny`, `warn` or `violation` rule"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("`policy"), "{}", run.stderr);
    let text = std::fs::read_to_string(repo.path().join("WORKSPACE.toml")).unwrap();
    let doc: toml::Table = toml::from_str(&text).unwrap();
    assert!(
        doc["workspace"]["ignore"]
            .as_array()
            .unwrap()
            .contains(&toml::Value::String("stacks/schemas/opa/app/*.rego".into())),
        "{text}"
    );
    assert!(!text.contains("policy/lib/*.rego"), "{text}");
    let (targets, _) = list_check(&repo);
    assert_eq!(
        targets,
        pairs(&[
            ("policy", "policy"),
            ("policy/lib", "policy"),
            ("stacks/a", "stack")
        ])
    );
}

/// A variable file in a directory named like an environment is that environment's, whatever
/// its name: `variables/production/synthetic-test.tfvars` names a stack, not an environment
/// `test`. Before, init proposed `test` and put it first in the promotion train, so
/// promoting into staging waited on an environment that does not exist.
#[test]
fn a_variable_file_in_an_environment_directory_names_no_other_environment() {
    let repo = Repo::new();
    for stack in ["synthetic-test", "vpc"] {
        repo.write(
            &format!("deployments/{stack}/main.tf"),
            "terraform {\n  backend \"s3\" {}\n}\n",
        );
        for env in ["production", "staging"] {
            repo.write(&format!("variables/{env}/{stack}.tfvars"), "x = 1\n");
        }
    }
    repo.commit("variables per environment directory");
    let json = repo.strata(&["--json", "init", "--dry-run"]).json();
    let train: Vec<(String, serde_json::Value)> = json["environments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_string(),
                e["promotes_from"].clone(),
            )
        })
        .collect();
    assert_eq!(
        train,
        [
            ("staging".to_string(), serde_json::Value::Null),
            ("production".to_string(), serde_json::Value::from("staging"))
        ],
        "{json}"
    );
}

/// A repository holding this project's sample workspace without its WORKSPACE.toml.
fn sample_without_workspace() -> Repo {
    let root = common::repo_root();
    let repo = Repo::new();
    let out = std::process::Command::new("git")
        .current_dir(&root)
        .args([
            "ls-files",
            "-z",
            "--",
            ".gitignore",
            "stacks",
            "modules",
            "charts",
        ])
        .args(["environments", "shared", "policies"])
        .output()
        .unwrap();
    for f in String::from_utf8_lossy(&out.stdout)
        .split('\0')
        .filter(|f| !f.is_empty())
    {
        let from = root.join(f);
        if from.is_file() {
            let to = repo.path().join(f);
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(from, to).unwrap();
        }
    }
    repo.commit("sample without WORKSPACE.toml");
    repo
}

#[test]
fn this_repositorys_sample_layout_keeps_the_defaults_and_its_environments() {
    let repo = sample_without_workspace();
    let env_before =
        std::fs::read_to_string(repo.path().join("environments/prod/env.toml")).unwrap();
    let gitignore_before = std::fs::read_to_string(repo.path().join(".gitignore")).unwrap();
    let run = init(&repo, &[]);
    assert!(
        run.stdout
            .contains("keep (exists; --force replaces it): environments/prod/env.toml"),
        "{}",
        run.stdout
    );
    assert_eq!(layout(&repo), (None, None, None));
    let text = std::fs::read_to_string(repo.path().join("WORKSPACE.toml")).unwrap();
    assert!(!text.contains("\n[layout]"), "{text}");
    assert_eq!(
        std::fs::read_to_string(repo.path().join("environments/prod/env.toml")).unwrap(),
        env_before
    );
    assert_eq!(
        std::fs::read_to_string(repo.path().join(".gitignore")).unwrap(),
        gitignore_before
    );
    let (targets, envs) = list_check(&repo);
    assert_eq!(envs, vec!["dev", "staging", "prod"]);
    // The same targets as under the sample's own WORKSPACE.toml.
    let sample = common::strata(&common::repo_root(), &["--json", "--no-cache", "list"]);
    let want: Vec<(String, String)> = sample.json()["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["label"].as_str().unwrap().to_string(),
                t["kind"].as_str().unwrap().to_string(),
            )
        })
        .filter(|(l, _)| {
            ["stacks/", "modules/", "charts/", "policies/"]
                .iter()
                .any(|p| l.starts_with(p))
        })
        .collect();
    assert_eq!(targets, want);
    assert!(targets.len() > 15, "{targets:?}");
}

#[test]
fn dry_run_writes_nothing_and_an_existing_workspace_needs_force() {
    let repo = Repo::new();
    repo.write("stacks/app/main.tf", PROVIDER)
        .write("envs/dev.tfvars", "x = 1\n")
        .write("envs/prod.tfvars", "x = 2\n");
    repo.commit("app");
    let run = init(&repo, &["--dry-run"]);
    assert!(
        run.stdout.contains("--- would create WORKSPACE.toml"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("--- would create environments/prod/env.toml\n  | # Environment `prod`"),
        "{}",
        run.stdout
    );
    assert_eq!(repo.git(&["status", "--porcelain"]), "");
    // JSON says the same.
    let json = repo.strata(&["--json", "init", "--dry-run"]);
    json.assert_ok();
    let json = json.json();
    assert_eq!(json["dry_run"], true);
    assert_eq!(json["targets"][0]["label"], "stacks/app");
    assert_eq!(json["targets"][0]["kind"], "stack");
    assert_eq!(json["targets"][0]["why"], "providers");
    assert_eq!(json["layout"]["stacks"]["default"], true);
    assert_eq!(json["environments"][1]["name"], "prod");
    assert_eq!(json["environments"][1]["promotes_from"], "dev");
    assert_eq!(json["check"]["ok"], true);
    assert_eq!(json["files"][0]["path"], "WORKSPACE.toml");
    assert_eq!(json["files"][0]["action"], "create");
    assert_eq!(repo.git(&["status", "--porcelain"]), "");

    init(&repo, &[]);
    let (targets, envs) = list_check(&repo);
    assert_eq!(targets, pairs(&[("stacks/app", "stack")]));
    assert_eq!(envs, vec!["dev", "prod"]);

    // A second run refuses to replace WORKSPACE.toml.
    repo.write(
        "environments/prod/env.toml",
        "promotes_from = \"dev\"\n# mine\n",
    );
    let again = repo.strata(&["init"]);
    assert_eq!(again.code, 2, "{}{}", again.stdout, again.stderr);
    assert!(
        again
            .stderr
            .contains("error: WORKSPACE.toml already exists"),
        "{}",
        again.stderr
    );
    assert!(
        again.stderr.contains("hint: `strata init --dry-run`"),
        "{}",
        again.stderr
    );
    // --dry-run says what it would keep; --force replaces, without adding a second line
    // to .gitignore.
    let run = init(&repo, &["--dry-run"]);
    assert!(
        run.stdout
            .contains("keep (exists; --force replaces it): WORKSPACE.toml"),
        "{}",
        run.stdout
    );
    repo.write("WORKSPACE.toml", "[workspace]\nname = \"old\"\n");
    init(&repo, &["--force"]);
    let text = std::fs::read_to_string(repo.path().join("WORKSPACE.toml")).unwrap();
    assert!(text.starts_with("# Written by `strata init`"), "{text}");
    let prod = std::fs::read_to_string(repo.path().join("environments/prod/env.toml")).unwrap();
    assert!(!prod.contains("# mine"), "{prod}");
    let gitignore = std::fs::read_to_string(repo.path().join(".gitignore")).unwrap();
    assert_eq!(gitignore, ".strata/\n");
}

#[test]
fn outside_a_git_repository_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("main.tf"), PROVIDER).unwrap();
    let run = common::strata(dir.path(), &["init"]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("is not inside a git repository"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("hint: "), "{}", run.stderr);
    assert!(!dir.path().join("WORKSPACE.toml").exists());
}

#[test]
fn what_init_cannot_decide_is_reported_and_still_owned() {
    let repo = Repo::new();
    // A root, a directory nothing marks at the top, one inside it, and a file that does
    // not parse.
    repo.write("stacks/app/main.tf", PROVIDER)
        .write("snippets/providers.tf", "variable \"region\" {}\n")
        .write("snippets/extra/x.tf", "locals {}\n")
        .write("stacks/app/broken/bad.tf", "module \"x\" {\n  source = \n");
    repo.commit("odd");
    let run = init(&repo, &[]);
    assert!(run.stdout.contains("Not classified (3)"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("  snippets           taken as a module\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("  snippets/extra     left to snippets\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("  stacks/app/broken  left to stacks/app\n"),
        "{}",
        run.stdout
    );
    // Terraform never reads `stacks/app/broken` (no module call names it), so the stack
    // is not broken by it; the file is still named, with how to leave it out.
    assert!(
        !run.stderr.contains("`strata list` will refuse"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("warning: HCL is malformed")
            && run.stderr.contains("(stacks/app/broken/bad.tf:2)")
            && run.stderr.contains("can go in WORKSPACE.toml's `ignore`"),
        "{}",
        run.stderr
    );
    // Fixing the file is all `strata list --check` needs.
    repo.remove("stacks/app/broken");
    let (targets, _) = list_check(&repo);
    assert_eq!(
        targets,
        pairs(&[("snippets", "module"), ("stacks/app", "stack")])
    );
}

#[test]
fn a_workspace_in_an_untracked_directory_of_a_repository_without_commits_inside_another() {
    let repo = Repo::new();
    repo.write("infra/stacks/app/main.tf", PROVIDER)
        .write("infra/modules/tags/main.tf", "variable \"tags\" {}\n")
        .write(
            "infra/stacks/app/tags.tf",
            &module_call("tags", "../../modules/tags"),
        );
    // An outer workspace: init says the new one will be the nearer for what is below it.
    repo.write("WORKSPACE.toml", "[workspace]\nname = \"outer\"\n");
    let dir = repo.path().join("infra");
    let run = common::strata(&dir, &["init"]);
    run.assert_ok();
    assert!(
        run.stderr.contains("is inside the workspace at"),
        "{}",
        run.stderr
    );
    let text = std::fs::read_to_string(dir.join("WORKSPACE.toml")).unwrap();
    assert!(
        text.contains("name = \"infra\"\ndefault_branch = \"main\"\n"),
        "{text}"
    );
    let run = common::strata(&dir, &["--json", "list", "--check"]);
    run.assert_ok();
    let labels: Vec<String> = run.json()["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["label"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(labels, vec!["modules/tags", "stacks/app"]);
    assert_eq!(
        std::fs::read_to_string(dir.join(".gitignore")).unwrap(),
        ".strata/\n"
    );
}

/// Components sharing their provider and backend through a linked file: init reads the
/// file a link points to, as terraform does, so each component is a stack.
#[cfg(unix)]
#[test]
fn a_provider_file_shared_through_links_makes_each_component_a_stack() {
    let repo = Repo::new();
    repo.write(
        "shared/providers.tf",
        "terraform {\n  backend \"s3\" {}\n}\n\nprovider \"aws\" {\n  region = \"eu-west-1\"\n}\n",
    )
    .write(
        "components/app/main.tf",
        "resource \"aws_sqs_queue\" \"q\" {}\n",
    )
    .write("components/net/main.tf", "resource \"aws_vpc\" \"v\" {}\n");
    for component in ["app", "net"] {
        std::os::unix::fs::symlink(
            "../../shared/providers.tf",
            repo.path()
                .join(format!("components/{component}/providers.tf")),
        )
        .unwrap();
    }
    repo.commit("components");
    let run = init(&repo, &["--json"]);
    assert!(!run.stderr.contains("malformed"), "{}", run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let kind = |label: &str| {
        report["targets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["label"] == label)
            .map(|t| t["kind"].as_str().unwrap().to_string())
    };
    assert_eq!(kind("components/app").as_deref(), Some("stack"), "{report}");
    assert_eq!(kind("components/net").as_deref(), Some("stack"), "{report}");
}

/// The root, when init cannot tell what it is, is named `.` as everywhere else.
#[test]
fn an_undecided_root_is_named_dot() {
    let repo = Repo::new();
    repo.write("main.tf", "variable \"x\" {}\n");
    repo.commit("root");
    let run = init(&repo, &["--dry-run", "--json"]);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["unclassified"][0]["dir"], ".", "{report}");
}

/// The Terragrunt live layout (units that take their module from elsewhere, no Terraform
/// files of their own): init names the units and does not claim that nothing is left out.
#[test]
fn units_without_terraform_files_are_not_called_nothing_left_out() {
    let repo = Repo::new();
    repo.write("root.hcl", "locals {}\n");
    for unit in ["vpc", "mysql"] {
        repo.write(
            &format!("prod/us-east-1/{unit}/terragrunt.hcl"),
            "include \"root\" {\n  path = find_in_parent_folders(\"root.hcl\")\n}\n\nterraform {\n  source = \"git::https://example.com/modules.git//vpc?ref=v1.0.0\"\n}\n",
        );
    }
    repo.commit("live");
    let run = init(&repo, &["--dry-run"]);
    assert!(
        run.stdout
            .contains("Terragrunt units without Terraform files (2), not targets"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("nothing left out"), "{}", run.stdout);
    assert!(
        run.stdout.contains(
            "show these 0 targets, and leave out the 2 Terragrunt units without Terraform files listed above"
        ),
        "{}",
        run.stdout
    );
}

/// A stack under `.github/` (a CI role's root) keeps its files: init ignores the CI
/// directory only when no target lies in it. It ignored `.github/**` whatever it held, so
/// the stack it had just found had no inputs and no change to it was ever seen.
#[test]
fn a_stack_under_a_ci_directory_is_not_ignored() {
    let repo = Repo::new();
    repo.write(
        ".github/terraform/oidc/main.tf",
        &format!("terraform {{\n  backend \"s3\" {{}}\n}}\n{PROVIDER}"),
    )
    .write(".github/workflows/ci.yml", "on: push\n")
    .write(".gitlab/ci/lint.yml", "lint: {}\n")
    .write("stacks/app/main.tf", PROVIDER);
    repo.commit("a CI role's stack");
    init(&repo, &[]);
    let workspace = std::fs::read_to_string(repo.path().join("WORKSPACE.toml")).unwrap();
    assert!(
        workspace.contains("ignore = [\"**/*.md\", \".gitlab/**\"]"),
        "{workspace}"
    );
    let (targets, _) = list_check(&repo);
    assert!(
        targets.contains(&(".github/terraform/oidc".into(), "stack".into())),
        "{targets:?}"
    );
    repo.commit("adopted");
    repo.append(".github/terraform/oidc/main.tf", "# edited\n");
    assert_eq!(
        repo.affected_labels(&["--base", "HEAD"]),
        [".github/terraform/oidc"]
    );
}

/// Run above a directory that is a strata workspace already, init refuses, naming it: a
/// workspace here would take the inner one's targets under other labels.
#[test]
fn init_above_a_workspace_refuses_naming_it() {
    let repo = Repo::new();
    repo.write(
        "platform/WORKSPACE.toml",
        "[workspace]\nname = \"platform\"\n",
    )
    .write("platform/stacks/app/main.tf", PROVIDER)
    .write("other/main.tf", PROVIDER);
    repo.commit("a workspace in a directory");
    let run = repo.strata(&["init"]);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr
            .contains("platform/ is a strata workspace already (platform/WORKSPACE.toml)"),
        "{}",
        run.stderr
    );
    assert!(!repo.path().join("WORKSPACE.toml").exists());
}

/// Names from the repository (a directory, a variable file) go into the comments init
/// writes with their control characters escaped: a line break in a name started a line of
/// settings of its own (`[access]` in an env.toml).
#[test]
fn a_line_break_in_a_name_stays_in_its_comment() {
    let repo = Repo::new();
    let name = "envs/dev/a\n[access]\napply = [\"mallory@example.com\"]\n#.tfvars";
    repo.write("stacks/app/main.tf", PROVIDER)
        .write(name, "x = 1\n")
        .write("stacks/we\nird/main.tf", PROVIDER);
    repo.commit("odd names");
    init(&repo, &[]);
    let env = std::fs::read_to_string(repo.path().join("environments/dev/env.toml")).unwrap();
    let doc: toml::Table = toml::from_str(&env).unwrap();
    assert!(doc.get("access").is_none(), "{env}");
    assert!(env.contains("envs/dev/a\\n[access]"), "{env}");
    list_check(&repo);
}

/// A file terraform reads and hcl-edit refuses as written (an object `for` whose
/// conditional value goes on over lines, as in cloud-foundation-fabric's
/// `modules/cloudsql-instance`) is read by init as `strata list` reads it: init dropped its
/// facts, so a stack with a backend became a module and the module it calls "undecided".
#[test]
fn init_reads_what_list_reads() {
    let repo = Repo::new();
    repo.write(
        "infra/app/main.tf",
        "terraform {\n  backend \"s3\" {}\n}\n\nvariable \"users\" {\n  default = {}\n}\n\nlocals {\n  users = {\n    for k, v in var.users :\n    k =>\n    local.flag ?\n    {\n      name = k\n      } : {\n      name = v\n    }\n  }\n  flag = true\n}\n\nmodule \"net\" {\n  source = \"../../shared/net\"\n}\n",
    );
    repo.write(
        "shared/net/main.tf",
        "variable \"name\" {\n  default = \"x\"\n}\n",
    );
    repo.commit("a stack and a module");
    let run = init(&repo, &["--dry-run", "--json"]);
    assert!(!run.stderr.contains("malformed"), "{}", run.stderr);
    let json = run.json();
    let targets: Vec<(String, String, String)> = json["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["label"].as_str().unwrap().to_string(),
                t["kind"].as_str().unwrap().to_string(),
                t["why"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        targets,
        vec![
            ("infra/app".into(), "stack".into(), "backend".into()),
            ("shared/net".into(), "module".into(), "called".into()),
        ]
    );
}
