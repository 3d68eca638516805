//! `strata affected`: exact affected sets for the changes users make.
#![allow(clippy::disallowed_methods)] // tests drive git, the real strata binary and tools

mod common;
use common::{pairs, Repo};

#[test]
fn module_change_reaches_transitive_users_through_stacks_and_declared_deps() {
    let repo = Repo::with_fixture();
    repo.append("modules/naming/main.tf", "# tweak\n");
    assert_eq!(
        repo.affected(&["--base", "main"]),
        pairs(&[
            ("charts/api", "dependency"),
            ("modules/db", "dependency"),
            ("modules/naming", "changed"),
            ("modules/vpc", "dependency"),
            ("stacks/app", "dependency"),
            ("stacks/database", "dependency"),
            ("stacks/network", "dependency"),
        ])
    );
    let json = repo
        .strata(&["--json", "affected", "--base", "main"])
        .json();
    let app = common::target(&json, "stacks/app").unwrap().clone();
    assert_eq!(
        app["via"],
        serde_json::json!(["stacks/database", "modules/db", "modules/naming"])
    );
    assert_eq!(json["head"], "WORKTREE");
}

#[test]
fn nothing_changed_means_nothing_affected() {
    let repo = Repo::with_fixture();
    assert!(repo.affected(&["--base", "main"]).is_empty());
}

#[test]
fn library_chart_change_affects_charts_using_it() {
    let repo = Repo::with_fixture();
    repo.append("charts/lib/templates/_helpers.tpl", "{{/* more */}}\n");
    assert_eq!(
        repo.affected(&["--base", "main"]),
        pairs(&[
            ("charts/api", "dependency"),
            ("charts/lib", "changed"),
            ("charts/web", "dependency")
        ])
    );
}

/// Helm applies YAML merge keys in Chart.yaml: a `file://` dependency written through an
/// anchor is a dependency like any other (it was dropped, so its dependents were missed).
#[test]
fn a_chart_dependency_written_with_a_merge_key_is_followed() {
    let repo = Repo::with_fixture();
    repo.write(
        "charts/web/Chart.yaml",
        "apiVersion: v2\nname: web\nversion: 0.1.0\nx-local: &local\n  version: 0.1.0\n  repository: file://../lib\ndependencies:\n  - <<: *local\n    name: lib\n",
    );
    repo.commit("a dependency through an anchor");
    repo.append("charts/lib/templates/_helpers.tpl", "{{/* more */}}\n");
    assert_eq!(
        repo.affected(&["--base", "main"]),
        pairs(&[
            ("charts/api", "dependency"),
            ("charts/lib", "changed"),
            ("charts/web", "dependency")
        ])
    );
}

#[test]
fn global_input_change_affects_everything() {
    let repo = Repo::with_fixture();
    repo.write("shared/global/tags.json", "{\"owner\": \"sre\"}\n");
    let affected = repo.affected(&["--base", "main"]);
    assert_eq!(affected.len(), 10, "{affected:?}");
    assert!(affected.iter().all(|(_, r)| r == "global"), "{affected:?}");
}

/// Turning the built-in policy pack on (or off) in WORKSPACE.toml adds (or removes) policy
/// tasks of every stack, module and chart: all are affected, and `check --affected` runs
/// the pack's policies. Before, nothing was affected (WORKSPACE.toml is no global input
/// here) and the pull request's check was green with no task, while main's failed.
#[test]
fn turning_the_builtin_pack_on_or_off_affects_what_it_governs() {
    let repo = Repo::new();
    repo.write(
        "WORKSPACE.toml",
        "[workspace]\nname = \"x\"\n\n[policy]\nbuiltin = false\n",
    );
    repo.write("stacks/a/main.tf", "variable \"x\" {}\n");
    repo.write("modules/m/main.tf", "variable \"x\" {}\n");
    repo.commit("the pack off");
    repo.git(&["checkout", "-q", "-b", "pr"]);
    repo.write(
        "WORKSPACE.toml",
        "[workspace]\nname = \"x\"\n\n[policy]\nbuiltin = true\n",
    );
    repo.commit("the pack on");
    let affected = repo.affected(&["--base", "main"]);
    assert_eq!(
        affected,
        pairs(&[("modules/m", "global"), ("stacks/a", "global")]),
        "{affected:?}"
    );
    // The pack's policy task runs (a stack's policies read its plans, in an environment).
    let check = repo.strata(&["--json", "check", "--affected", "--base", "main"]);
    let json = check.json();
    let policy_tasks: Vec<&str> = json["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["action"] == "policy")
        .map(|t| t["label"].as_str().unwrap())
        .collect();
    assert_eq!(policy_tasks, ["modules/m"], "{json}");
    // And back off: affected again (the pack's findings are gone from their checks).
    repo.write(
        "WORKSPACE.toml",
        "[workspace]\nname = \"x\"\n\n[policy]\nbuiltin = false\n",
    );
    repo.commit("the pack off again");
    assert_eq!(repo.affected(&["--base", "HEAD~1"]).len(), 2);
}

/// What strata writes (an environment's release lock and audit ledger, the GitOps output
/// where `[gitops]` puts it, here inside the environment's directory) is no target's file,
/// and an environment's files are never a target's own, even for a target at the root,
/// whose directory holds them all. Before, a chart at the root owned them: every release
/// commit affected it in every environment. A file that only looks like GitOps output (a
/// `.strata-gitops` of the user's in a stack) changes nothing.
#[test]
fn a_root_target_owns_no_environment_file_nor_what_strata_writes() {
    let repo = Repo::new();
    repo.write(
        "WORKSPACE.toml",
        "[workspace]\nname = \"x\"\n\n[layout]\ncharts = [\".\", \"**\"]\n\n[gitops]\nrepo_url = \"https://git.example.com/x.git\"\npath = \"environments/{env}/deploy\"\n",
    );
    repo.write("stacks/app/main.tf", "variable \"x\" {}\n");
    repo.write("stacks/app/.strata-gitops", "owner: team-a\n");
    repo.write(
        "Chart.yaml",
        "apiVersion: v2\nname: umbrella\nversion: 0.1.0\n",
    );
    repo.write("templates/cm.yaml", "kind: ConfigMap\n");
    for env in ["dev", "prod"] {
        repo.write(&format!("environments/{env}/env.toml"), "");
    }
    repo.write("environments/dev/release.lock.toml", "version = 1\n");
    repo.write("environments/dev/audit.jsonl", "");
    repo.write("environments/dev/deploy/.strata-gitops", "dev\n");
    repo.write(
        "environments/dev/deploy/charts/root/manifests.yaml",
        "kind: ConfigMap\n",
    );
    repo.commit("a root chart, released");
    let list = repo.strata(&["list"]);
    list.assert_ok();
    assert!(!list.stderr.contains("deploy"), "{}", list.stderr);
    for file in [
        "environments/dev/release.lock.toml",
        "environments/dev/audit.jsonl",
        "environments/dev/deploy/charts/root/manifests.yaml",
    ] {
        repo.append(file, "# more\n");
        assert_eq!(repo.affected(&["--base", "main"]), Vec::new(), "{file}");
        repo.git(&["checkout", "--", file]);
    }
    // An environment's values feed the chart there, and there only.
    repo.write("environments/dev/values.yaml", "replicas: 2\n");
    let run = repo.strata(&["--json", "affected", "--base", "main"]);
    run.assert_ok();
    let json = run.json();
    let root = common::target(&json, ".").unwrap_or_else(|| panic!("{json}"));
    assert_eq!(root["environments"], serde_json::json!(["dev"]), "{json}");
    std::fs::remove_file(repo.path().join("environments/dev/values.yaml")).unwrap();
    // The stack beside a file named like the output's marker keeps its files (helm reads
    // every file below a chart, so the root chart is affected too).
    repo.append("stacks/app/main.tf", "variable \"y\" {}\n");
    assert_eq!(
        repo.affected_labels(&["--base", "main"]),
        vec![".", "stacks/app"]
    );
}

#[test]
fn ignored_file_and_file_outside_targets_affect_nothing() {
    let repo = Repo::with_fixture();
    repo.write("stacks/network/README.md", "# changed docs\n");
    repo.write("shared/unrelated.txt", "still unread\n");
    repo.write("docs/new.txt", "new\n");
    assert!(repo.affected(&["--base", "main"]).is_empty());
}

/// The files named behind a change are the target's own: a deleted file that is ignored, or
/// that belonged to a target nested in its directory (at the head, or only at the base), is
/// not one of them, as an edited one is not.
#[test]
fn deleted_files_are_named_only_for_the_target_that_read_them() {
    let repo = Repo::new();
    repo.write(
        "WORKSPACE.toml",
        "[workspace]\nname = \"t\"\nignore = [\"**/*.md\"]\n",
    )
    .write("stacks/x/main.tf", "locals { a = 1 }\n")
    .write("stacks/x/NOTES.md", "doc\n")
    .write("stacks/x/y/main.tf", "locals { b = 1 }\n")
    .write("stacks/x/y/stack.toml", "")
    .write("stacks/x/y/notes.txt", "hi\n")
    .write("stacks/x/z/main.tf", "locals { c = 1 }\n")
    .write("stacks/x/z/stack.toml", "");
    repo.commit("base");
    repo.append("stacks/x/main.tf", "# c\n");
    repo.remove("stacks/x/NOTES.md");
    repo.remove("stacks/x/y/notes.txt");
    repo.remove("stacks/x/z");
    let json = repo
        .strata(&["--json", "affected", "--base", "main"])
        .json();
    let x = common::target(&json, "stacks/x").unwrap().clone();
    assert_eq!(x["files"], serde_json::json!(["stacks/x/main.tf"]), "{x}");
    assert!(
        x["deleted_files"].as_array().is_none_or(|d| d.is_empty()),
        "{x}"
    );
    let y = common::target(&json, "stacks/x/y").unwrap().clone();
    assert_eq!(
        y["deleted_files"],
        serde_json::json!(["stacks/x/y/notes.txt"]),
        "{y}"
    );
    let z = common::target(&json, "stacks/x/z").unwrap().clone();
    assert_eq!(z["reason"], "deleted", "{z}");
}

#[test]
fn file_read_through_file_function_from_outside_the_stack() {
    let repo = Repo::with_fixture();
    repo.write("shared/config.json", "{\"replicas\": 3}\n");
    assert_eq!(
        repo.affected(&["--base", "main"]),
        pairs(&[("stacks/app", "changed")])
    );
}

#[test]
fn uncommitted_untracked_and_committed_changes_count() {
    let repo = Repo::with_fixture();
    // untracked file inside a stack
    repo.write("stacks/network/extra.tf", "locals { x = 1 }\n");
    assert!(repo
        .affected_labels(&["--base", "main"])
        .contains(&"stacks/network".to_string()));
    // staged, then committed on a branch: --head compares commits
    repo.git(&["checkout", "-q", "-b", "feature"]);
    let head = repo.commit("add extra");
    let at_head = repo.affected(&["--base", "main", "--head", &head]);
    assert!(at_head.contains(&("stacks/network".into(), "changed".into())));
    // a deleted file in the work tree
    repo.remove("stacks/network/extra.tf");
    assert!(repo.affected(&["--base", "main"]).is_empty());
}

#[test]
fn renamed_file_and_deleted_target() {
    let repo = Repo::with_fixture();
    repo.git(&["mv", "modules/db/main.tf", "modules/db/db.tf"]);
    assert!(repo
        .affected(&["--base", "main"])
        .contains(&("modules/db".into(), "changed".into())));
    repo.git(&["reset", "-q", "--hard"]);
    repo.remove("charts/web");
    assert_eq!(
        repo.affected(&["--base", "main"]),
        pairs(&[("charts/web", "deleted")])
    );
}

#[test]
fn diverged_branches_compare_with_the_merge_base() {
    let repo = Repo::with_fixture();
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.append("modules/db/main.tf", "# feature\n");
    let head = repo.commit("feature change");
    repo.git(&["checkout", "-q", "main"]);
    repo.append(
        "charts/lib/templates/_helpers.tpl",
        "{{/* main moved on */}}\n",
    );
    repo.commit("main change");
    // main's own change is not part of the feature branch's diff
    let labels = repo.affected_labels(&["--base", "main", "--head", &head]);
    assert_eq!(
        labels,
        vec!["charts/api", "modules/db", "stacks/app", "stacks/database"]
    );
}

#[test]
fn environment_file_change_affects_target_in_that_environment_only() {
    let repo = Repo::with_fixture();
    repo.write(
        "environments/dev/stacks/network/terraform.tfvars",
        "cidr = \"10.9.0.0/16\"\n",
    );
    let json = repo
        .strata(&["--json", "affected", "--base", "main"])
        .json();
    let targets = json["targets"].as_array().unwrap();
    let net = targets
        .iter()
        .find(|t| t["label"] == "stacks/network")
        .unwrap();
    assert_eq!(net["reason"], "changed");
    assert_eq!(net["environments"], serde_json::json!(["dev"]));
    // database depends on network and deploys to dev: affected there
    let db = targets
        .iter()
        .find(|t| t["label"] == "stacks/database")
        .unwrap();
    assert_eq!(db["reason"], "dependency");
    assert_eq!(db["environments"], serde_json::json!(["dev"]));
    // app only deploys to staging and prod: not affected
    assert!(targets.iter().all(|t| t["label"] != "stacks/app"));
}

#[test]
fn chain_of_fifty_dependencies() {
    let repo = Repo::new();
    repo.write("WORKSPACE.toml", "[workspace]\nname = \"chain\"\n");
    for i in 0..50 {
        let body = if i == 0 {
            "resource \"null_resource\" \"x\" {}\n".to_string()
        } else {
            format!("module \"prev\" {{\n  source = \"../m{:02}\"\n}}\n", i - 1)
        };
        repo.write(&format!("modules/m{i:02}/main.tf"), &body);
    }
    repo.write(
        "stacks/top/main.tf",
        "module \"m\" {\n  source = \"../../modules/m49\"\n}\n",
    );
    repo.commit("chain");
    repo.append("modules/m00/main.tf", "# change at the bottom\n");
    let json = repo
        .strata(&["--json", "affected", "--base", "main"])
        .json();
    let targets = json["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 51);
    let top = targets.iter().find(|t| t["label"] == "stacks/top").unwrap();
    assert_eq!(top["via"].as_array().unwrap().len(), 50);
    assert_eq!(top["via"][49], "modules/m00");
}

#[test]
fn explain_prints_each_chain_in_words() {
    let repo = Repo::with_fixture();
    repo.append("modules/naming/main.tf", "# tweak\n");
    let run = repo.strata(&["affected", "--base", "main", "--explain"]);
    run.assert_ok();
    assert!(
        run.stdout.contains("stacks/app depends on a changed target: stacks/app -> stacks/database -> modules/db -> modules/naming"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("modules/naming changed: modules/naming/main.tf"),
        "{}",
        run.stdout
    );
}

#[test]
fn human_output_snapshot() {
    let repo = Repo::with_fixture();
    repo.append("modules/db/main.tf", "# tweak\n");
    repo.remove("charts/web");
    let run = repo.strata(&["affected", "--base", "main"]);
    run.assert_ok();
    assert_eq!(
        run.stdout,
        "\
chart    dependency charts/api
chart    deleted    charts/web
module   changed    modules/db
stack    dependency stacks/app
stack    dependency stacks/database
"
    );
    assert_eq!(
        common::mask(&run.stderr, repo.path()),
        "5 target(s) affected (base main, merge-base [SHORT])\n"
            .replace("[SHORT]", &repo.git(&["rev-parse", "--short=12", "main"]))
    );
    let hash = repo.strata(&["hash", "modules/db", "stacks/app"]);
    assert_eq!(
        common::mask(&hash.stdout, repo.path()),
        "[HASH]  modules/db\n[HASH]  stacks/app\n"
    );
}

/// The cached baseline (second run against the same merge-base) and a fresh computation
/// agree exactly, for every kind of change.
#[test]
fn cached_baseline_gives_the_same_answer_as_a_fresh_run() {
    let repo = Repo::with_fixture();
    repo.write(
        "environments/staging/common.tfvars",
        "region = \"eu-west-1\"\n",
    );
    repo.commit("an environment-wide file");
    let compare = |what: &str| {
        let fresh = repo.strata(&["--json", "--no-cache", "affected", "--base", "main"]);
        let first = repo.strata(&["--json", "affected", "--base", "main"]);
        let cached = repo.strata(&["--json", "affected", "--base", "main"]);
        fresh.assert_ok();
        assert_eq!(fresh.stdout, first.stdout, "{what}: fresh vs first");
        assert_eq!(
            fresh.stdout, cached.stdout,
            "{what}: fresh vs cached baseline"
        );
    };
    compare("nothing");
    repo.write(
        "environments/staging/common.tfvars",
        "region = \"eu-west-2\"\n",
    );
    compare("environment-wide file");
    let json = repo
        .strata(&["--json", "affected", "--base", "main"])
        .json();
    let app = common::target(&json, "stacks/app").expect("a staging-wide file affects stacks/app");
    assert_eq!(app["environments"], serde_json::json!(["staging"]));
    assert!(json["targets"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["environments"] == serde_json::json!(["staging"])));
    repo.append("modules/naming/main.tf", "# a\n");
    compare("module edit");
    repo.write(
        "environments/dev/stacks/network/terraform.tfvars",
        "cidr = \"10.1.0.0/16\"\n",
    );
    compare("environment file");
    repo.write("shared/global/tags.json", "{}\n");
    compare("global input");
    repo.git(&["add", "-A"]);
    compare("staged");
    repo.git(&["checkout", "-q", "-b", "topic"]);
    repo.commit("topic");
    compare("committed on a branch");
    repo.write(
        "environments/prod/stacks/network/terraform.tfvars",
        "cidr = \"10.2.0.0/16\"\n",
    );
    repo.git(&["add", "-A"]);
    compare("environment file staged on the branch");
    repo.remove("charts/web");
    repo.write("stacks/new/main.tf", "locals {}\n");
    compare("deleted and new targets on a branch");
}

/// `STRATA_TIMINGS=1` prints each phase as it ends, nested phases indented under the one
/// holding them; stdout is the same as without it. Without the variable nothing is printed.
#[test]
fn timings_name_each_phase_on_stderr_and_leave_stdout_alone() {
    let repo = Repo::with_fixture();
    repo.append("modules/naming/main.tf", "# tweak\n");
    let plain = repo.strata(&["affected", "--base", "main", "--json"]);
    assert_eq!(plain.code, 0, "{}", plain.stderr);
    assert!(!plain.stderr.contains("timing:"), "{}", plain.stderr);
    // Without the cache, so the index is modelled again (not read from its saved model).
    let out = repo
        .command(&["--no-cache", "affected", "--base", "main", "--json"])
        .env("STRATA_TIMINGS", "1")
        .output()
        .unwrap();
    let run = common::Run::from(out);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, plain.stdout);
    let phases: Vec<&str> = run
        .stderr
        .lines()
        .filter_map(|l| l.strip_prefix("timing: "))
        .map(|l| l.split("  ").find(|s| !s.is_empty()).unwrap_or(""))
        .collect();
    for phase in ["git status", "read index", "compare"] {
        assert!(phases.contains(&phase), "{phase} missing: {}", run.stderr);
    }
    // The model's phases are nested under the model they build.
    assert!(
        run.stderr
            .lines()
            .any(|l| l.starts_with("timing:   facts ")),
        "{}",
        run.stderr
    );
    for line in run.stderr.lines().filter(|l| l.starts_with("timing: ")) {
        assert!(
            line.contains(" ms   at ") && line.contains("cpu"),
            "not a timing line: {line}"
        );
    }
}

/// `STRATA_LOG` shows the library's spans; a filter that does not parse is named and the
/// command still does its work.
#[test]
fn strata_log_shows_phases_and_a_bad_filter_is_named() {
    let repo = Repo::with_fixture();
    let out = repo
        .command(&["affected", "--base", "main"])
        .env("STRATA_LOG", "info")
        .output()
        .unwrap();
    let run = common::Run::from(out);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .lines()
            .any(|l| l.contains("compare") && l.contains("close")),
        "{}",
        run.stderr
    );
    let out = repo
        .command(&["affected", "--base", "main"])
        .env("STRATA_LOG", "strata=[[")
        .output()
        .unwrap();
    let run = common::Run::from(out);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .starts_with("warning: STRATA_LOG=\"strata=[[\" is not a filter"),
        "{}",
        run.stderr
    );
}

/// A file under `environments/<env>/<label>/` feeds no target while no target has that
/// label, and that target once it exists: adding the target changes what it reads, not
/// what the others read. The cached baseline agrees with a fresh run.
#[test]
fn a_new_target_taking_over_environment_files_is_seen_with_a_cached_baseline() {
    let repo = Repo::with_fixture();
    repo.write(
        "environments/dev/stacks/newapp/terraform.tfvars",
        "size = 3\n",
    );
    repo.commit("a dev file for a stack to come");
    let fresh_and_cached = || {
        let fresh = repo.strata(&["--json", "--no-cache", "affected", "--base", "main"]);
        let first = repo.strata(&["--json", "affected", "--base", "main"]);
        let cached = repo.strata(&["--json", "affected", "--base", "main"]);
        fresh.assert_ok();
        assert_eq!(fresh.stdout, first.stdout, "fresh vs first");
        assert_eq!(fresh.stdout, cached.stdout, "fresh vs cached baseline");
        fresh.json()
    };
    fresh_and_cached();
    repo.write("stacks/newapp/main.tf", "variable \"size\" {}\n");
    let json = fresh_and_cached();
    // The other dev stacks never read the file.
    assert!(common::target(&json, "stacks/network").is_none(), "{json}");
    assert!(common::target(&json, "stacks/newapp").is_some());
}

/// A module moved with one caller forgotten: the forgotten caller's own files did not
/// change, but the module it calls is gone. It is reported broken (not a crash, and not
/// "affected through a dependency" that no longer exists); the same for a module deleted
/// outright.
#[test]
fn a_caller_of_a_module_that_was_moved_or_deleted_is_broken() {
    let repo = Repo::new();
    repo.write("WORKSPACE.toml", "[workspace]\nname = \"t\"\n");
    repo.write(".gitignore", ".strata/\n");
    for stack in ["app", "other"] {
        repo.write(
            &format!("stacks/{stack}/main.tf"),
            "module \"m\" {\n  source = \"../../modules/m\"\n}\n",
        );
    }
    repo.write("modules/m/main.tf", "output \"x\" {\n  value = 1\n}\n");
    repo.commit("two callers of a module");
    repo.git(&["mv", "modules/m", "modules/m2"]);
    repo.write(
        "stacks/app/main.tf",
        "module \"m\" {\n  source = \"../../modules/m2\"\n}\n",
    );
    let moved = repo.affected(&["--base", "HEAD"]);
    assert!(
        moved.contains(&("stacks/other".to_string(), "broken".to_string())),
        "{moved:?}"
    );
    assert!(
        moved.contains(&("stacks/app".to_string(), "changed".to_string())),
        "{moved:?}"
    );
    repo.git(&["reset", "-q", "--hard"]);
    repo.git(&["rm", "-r", "-q", "modules/m"]);
    let deleted = repo.affected(&["--base", "HEAD"]);
    for stack in ["stacks/app", "stacks/other"] {
        assert!(
            deleted.contains(&(stack.to_string(), "broken".to_string())),
            "{deleted:?}"
        );
    }
}

/// `fileset` globs its path and pattern joined and cleaned, as terraform does: a pattern
/// that climbs out of the module (`../`), or starts with `./`, reads those files; a change
/// to one, or a new matching file, affects the stack.
#[test]
fn fileset_patterns_that_climb_out_of_the_module_are_read() {
    let repo = Repo::new();
    repo.write("WORKSPACE.toml", "[workspace]\nname = \"t\"\n");
    repo.write(".gitignore", ".strata/\n");
    repo.write(
        "stacks/up/main.tf",
        "locals {\n  policies = fileset(path.module, \"../../shared/policies/*.json\")\n}\n",
    );
    repo.write(
        "stacks/dot/main.tf",
        "locals {\n  policies = fileset(\"${path.module}/../../shared\", \"./policies/*.json\")\n}\n",
    );
    repo.write("shared/policies/a.json", "{}\n");
    repo.commit("two stacks reading shared policies");
    repo.write("shared/policies/a.json", "{\"changed\": true}\n");
    assert_eq!(
        repo.affected_labels(&["--base", "HEAD"]),
        ["stacks/dot", "stacks/up"]
    );
    repo.git(&["checkout", "--", "shared"]);
    repo.write("shared/policies/new.json", "{}\n");
    assert_eq!(
        repo.affected_labels(&["--base", "HEAD"]),
        ["stacks/dot", "stacks/up"]
    );
}

/// Inside a module, `path.root`, `path.cwd` and bare relative paths are resolved by
/// terraform from the directory it runs in: the calling stack's. A file read that way, or
/// a chart a `helm_release` in the module names with a bare relative path, is the stack's
/// input; the module's own hash does not hold it.
#[test]
fn root_relative_reads_in_a_module_are_the_calling_stacks() {
    let repo = Repo::new();
    repo.write("WORKSPACE.toml", "[workspace]\nname = \"t\"\n");
    repo.write(".gitignore", ".strata/\n");
    repo.write(
        "stacks/app/main.tf",
        "module \"addons\" {\n  source = \"../../modules/addons\"\n}\n",
    );
    repo.write(
        "modules/addons/main.tf",
        "locals {\n  common = file(\"${path.root}/../../shared/common.json\")\n  motd   = file(\"../../shared/motd.txt\")\n}\n\nmodule \"deploy\" {\n  source = \"../deploy\"\n}\n",
    );
    repo.write(
        "modules/deploy/main.tf",
        "resource \"helm_release\" \"web\" {\n  name  = \"web\"\n  chart = \"../../charts/web\"\n}\n",
    );
    repo.write(
        "charts/web/Chart.yaml",
        "apiVersion: v2\nname: web\nversion: 0.1.0\n",
    );
    repo.write("shared/common.json", "{}\n");
    repo.write("shared/motd.txt", "hello\n");
    repo.commit("a stack calling modules that read relative to the root");
    for (file, text) in [
        ("shared/common.json", "{\"changed\": true}\n"),
        ("shared/motd.txt", "changed\n"),
    ] {
        repo.write(file, text);
        assert_eq!(
            repo.affected_labels(&["--base", "HEAD"]),
            ["stacks/app"],
            "{file}"
        );
        repo.git(&["checkout", "--", file]);
    }
    repo.write(
        "charts/web/Chart.yaml",
        "apiVersion: v2\nname: web\nversion: 0.2.0\n",
    );
    assert_eq!(
        repo.affected_labels(&["--base", "HEAD"]),
        ["charts/web", "stacks/app"]
    );
}

/// A module that reads nothing itself but calls one that reads relative to the root: the
/// read is still every calling stack's, however many stacks share the module (whether a
/// module needs walking is worked out once and reused for every caller).
#[test]
fn a_root_relative_read_two_modules_down_is_every_callers() {
    let repo = Repo::new();
    repo.write("WORKSPACE.toml", "[workspace]\nname = \"t\"\n");
    repo.write(".gitignore", ".strata/\n");
    for stack in ["a", "b", "c"] {
        repo.write(
            &format!("stacks/{stack}/main.tf"),
            "module \"wrapper\" {\n  source = \"../../modules/wrapper\"\n}\n",
        );
    }
    repo.write(
        "stacks/plain/main.tf",
        "module \"quiet\" {\n  source = \"../../modules/quiet\"\n}\n",
    );
    repo.write(
        "modules/wrapper/main.tf",
        "variable \"x\" {\n  default = 1\n}\n\nmodule \"inner\" {\n  source = \"../inner\"\n}\n",
    );
    repo.write(
        "modules/inner/main.tf",
        "locals {\n  settings = file(\"../../shared/settings.json\")\n}\n",
    );
    repo.write(
        "modules/quiet/main.tf",
        "locals {\n  own = file(\"${path.module}/own.txt\")\n}\n",
    );
    repo.write("modules/quiet/own.txt", "own\n");
    repo.write("shared/settings.json", "{}\n");
    repo.commit("stacks calling a module that calls one reading relative to the root");
    repo.write("shared/settings.json", "{\"changed\": true}\n");
    assert_eq!(
        repo.affected_labels(&["--base", "HEAD"]),
        ["stacks/a", "stacks/b", "stacks/c"]
    );
    repo.git(&["checkout", "--", "shared"]);
    repo.write("modules/quiet/own.txt", "changed\n");
    assert_eq!(
        repo.affected_labels(&["--base", "HEAD"]),
        ["modules/quiet", "stacks/plain"]
    );
}

/// Terraform JSON syntax: a file read inside a `"${...}"` string and a `helm_release` chart
/// are inputs, as in native syntax.
#[test]
fn json_syntax_reads_and_charts_are_inputs() {
    let repo = Repo::new();
    repo.write("WORKSPACE.toml", "[workspace]\nname = \"t\"\n");
    repo.write(".gitignore", ".strata/\n");
    repo.write(
        "stacks/app/main.tf.json",
        r#"{"resource": {"null_resource": {"x": {"triggers": {"data": "${file(\"${path.module}/../../shared/user_data.sh\")}"}}}}}"#,
    );
    repo.write(
        "stacks/rel/main.tf.json",
        r#"{"resource": {"helm_release": {"web": {"name": "web", "chart": "../../charts/web"}}}}"#,
    );
    repo.write(
        "charts/web/Chart.yaml",
        "apiVersion: v2\nname: web\nversion: 0.1.0\n",
    );
    repo.write("shared/user_data.sh", "#!/bin/sh\n");
    repo.commit("JSON-syntax stacks");
    repo.write("shared/user_data.sh", "#!/bin/sh\necho changed\n");
    assert_eq!(repo.affected_labels(&["--base", "HEAD"]), ["stacks/app"]);
    repo.git(&["checkout", "--", "shared"]);
    repo.write(
        "charts/web/Chart.yaml",
        "apiVersion: v2\nname: web\nversion: 0.2.0\n",
    );
    assert_eq!(
        repo.affected_labels(&["--base", "HEAD"]),
        ["charts/web", "stacks/rel"]
    );
}

/// OpenTofu's `*.tofu` and `*.tofu.json` files are read as Terraform files are: their
/// module calls and file reads are edges, and a directory holding only them is a stack.
#[test]
fn opentofu_files_are_read_like_terraform_files() {
    let repo = Repo::new();
    repo.write(
        "WORKSPACE.toml",
        "[workspace]\nname = \"t\"\n[toolchain]\nterraform_binary = \"tofu\"\n",
    );
    repo.write(".gitignore", ".strata/\n");
    repo.write("stacks/a/versions.tf", "terraform {}\n");
    repo.write(
        "stacks/a/main.tofu",
        "module \"m\" {\n  source = \"../../modules/m\"\n}\n",
    );
    repo.write(
        "stacks/a/reads.tofu",
        "output \"y\" {\n  value = file(\"${path.module}/../../shared/x.json\")\n}\n",
    );
    repo.write(
        "stacks/b/main.tofu.json",
        r#"{"module": {"n": {"source": "../../modules/n"}}}"#,
    );
    repo.write("modules/m/main.tf", "output \"x\" {\n  value = 1\n}\n");
    repo.write("modules/n/main.tofu", "output \"x\" {\n  value = 1\n}\n");
    repo.write("shared/x.json", "{}\n");
    repo.commit("stacks written in OpenTofu's files");
    let listed = repo.strata(&["list", "--json"]);
    let json: serde_json::Value = serde_json::from_str(&listed.stdout).unwrap();
    let labels: Vec<&str> = json["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["modules/m", "modules/n", "stacks/a", "stacks/b"]);
    repo.write("modules/m/main.tf", "output \"x\" {\n  value = 2\n}\n");
    assert_eq!(
        repo.affected_labels(&["--base", "HEAD"]),
        ["modules/m", "stacks/a"]
    );
    repo.git(&["checkout", "--", "modules"]);
    repo.write("shared/x.json", "{\"changed\": true}\n");
    assert_eq!(repo.affected_labels(&["--base", "HEAD"]), ["stacks/a"]);
    repo.git(&["checkout", "--", "shared"]);
    repo.write("modules/n/main.tofu", "output \"x\" {\n  value = 2\n}\n");
    assert_eq!(
        repo.affected_labels(&["--base", "HEAD"]),
        ["modules/n", "stacks/b"]
    );
}

/// A file read by name is an input even when WORKSPACE.toml's `ignore` matches it.
#[test]
fn a_file_read_by_name_is_an_input_even_when_ignored() {
    let repo = Repo::new();
    repo.write(
        "WORKSPACE.toml",
        "[workspace]\nname = \"t\"\nignore = [\"**/*.md\"]\n",
    );
    repo.write(".gitignore", ".strata/\n");
    repo.write(
        "stacks/app/main.tf",
        "output \"runbook\" {\n  value = file(\"${path.module}/runbook.md\")\n}\n",
    );
    repo.write("stacks/app/runbook.md", "# Runbook\n");
    repo.write("stacks/other/main.tf", "output \"x\" {\n  value = 1\n}\n");
    repo.write("stacks/other/README.md", "# Other\n");
    repo.commit("a stack reading an ignored file");
    repo.write("stacks/app/runbook.md", "# Runbook, changed\n");
    repo.write("stacks/other/README.md", "# Other, changed\n");
    // The file read is an input; an ignored file nothing reads is still not.
    assert_eq!(repo.affected_labels(&["--base", "HEAD"]), ["stacks/app"]);
}

/// Files a `fileset()` matches are read by terraform: inputs even when `ignore` matches
/// them, inside the stack's directory or outside it.
#[test]
fn files_a_fileset_matches_are_inputs_even_when_ignored() {
    let repo = Repo::new();
    repo.write(
        "WORKSPACE.toml",
        "[workspace]\nname = \"t\"\nignore = [\"**/*.md\"]\n",
    );
    repo.write(".gitignore", ".strata/\n");
    repo.write(
        "stacks/docs/main.tf",
        "locals {\n  pages  = fileset(path.module, \"pages/*.md\")\n  shared = fileset(\"${path.module}/../../shared\", \"*.md\")\n}\n",
    );
    repo.write("stacks/docs/pages/index.md", "# Index\n");
    repo.write("shared/terms.md", "# Terms\n");
    repo.write("stacks/other/main.tf", "output \"x\" {\n  value = 1\n}\n");
    repo.write("stacks/other/README.md", "# Other\n");
    repo.commit("a stack publishing ignored files through fileset");
    for file in ["stacks/docs/pages/index.md", "shared/terms.md"] {
        repo.write(file, "# changed\n");
        assert_eq!(
            repo.affected_labels(&["--base", "HEAD"]),
            ["stacks/docs"],
            "{file}"
        );
        repo.git(&["checkout", "--", file]);
    }
    repo.write("stacks/other/README.md", "# Other, changed\n");
    assert!(repo.affected_labels(&["--base", "HEAD"]).is_empty());
}

/// A chart that a stack deploys, or a parent chart vendors, deleted or moved: the stack is
/// broken (terraform fails on a chart path where nothing is), the parent chart changed, and
/// `affected` answers (it panicked: "affected through a dependency, but no chain leads to a
/// change").
#[test]
fn a_deleted_chart_breaks_the_stack_deploying_it_and_changes_its_parent() {
    let repo = Repo::new();
    repo.write("WORKSPACE.toml", "[workspace]\nname = \"t\"\n");
    repo.write(".gitignore", ".strata/\n");
    repo.write(
        "stacks/app/main.tf",
        "resource \"helm_release\" \"web\" {\n  name  = \"web\"\n  chart = \"../../charts/web\"\n}\n",
    );
    repo.write(
        "charts/web/Chart.yaml",
        "apiVersion: v2\nname: web\nversion: 0.1.0\n",
    );
    repo.write(
        "charts/p/Chart.yaml",
        "apiVersion: v2\nname: p\nversion: 0.1.0\n",
    );
    repo.write(
        "charts/p/charts/sub/Chart.yaml",
        "apiVersion: v2\nname: sub\nversion: 0.1.0\n",
    );
    repo.commit("a deployed chart and a vendored subchart");
    repo.git(&["mv", "charts/web", "charts/web2"]);
    repo.git(&["rm", "-rq", "charts/p/charts/sub"]);
    assert_eq!(
        repo.affected(&["--base", "HEAD"]),
        [
            ("charts/p".to_string(), "changed".to_string()),
            ("charts/p/charts/sub".to_string(), "deleted".to_string()),
            ("charts/web".to_string(), "deleted".to_string()),
            ("charts/web2".to_string(), "changed".to_string()),
            ("stacks/app".to_string(), "broken".to_string()),
        ]
    );
}

/// A chart named, not pathed (`"nginx"` with a `repository`, `"bitnami/nginx"` from a repo
/// helm knows, a wrapper module's `chart = "raw"`) is a remote chart when no directory of
/// that name is there: its stack is not broken, and not affected by another stack's change.
#[test]
fn a_chart_named_from_a_repository_is_no_missing_local_chart() {
    let repo = Repo::new();
    repo.write("WORKSPACE.toml", "[workspace]\nname = \"t\"\n");
    repo.write(
        "stacks/s1/main.tf",
        "resource \"helm_release\" \"r\" {\n  name       = \"r\"\n  chart      = \"nginx\"\n  repository = \"https://charts.example.com\"\n}\n",
    );
    repo.write(
        "stacks/s2/main.tf",
        "resource \"helm_release\" \"r\" {\n  name  = \"r\"\n  chart = \"bitnami/nginx\"\n}\n",
    );
    repo.write(
        "stacks/s3/main.tf",
        "module \"rel\" {\n  source     = \"cloudposse/helm-release/aws\"\n  chart      = \"raw\"\n  repository = \"https://charts.example.com\"\n}\n",
    );
    repo.write("stacks/other/main.tf", "output \"o\" {\n  value = 1\n}\n");
    repo.commit("remote charts");
    repo.write("stacks/other/main.tf", "output \"o\" {\n  value = 2\n}\n");
    assert_eq!(
        repo.affected(&["--base", "HEAD"]),
        [("stacks/other".to_string(), "changed".to_string())]
    );
}

/// A file in a directory of `environments/<env>/` that is no target's (a removed target's,
/// a misspelled one) is given to no target, and said so; files directly in the
/// environment's directory are given to every target there.
#[test]
fn a_file_in_no_targets_environment_directory_is_given_to_none_and_named() {
    let repo = Repo::new();
    repo.write("WORKSPACE.toml", "[workspace]\nname = \"t\"\n");
    for stack in ["app", "db"] {
        repo.write(
            &format!("stacks/{stack}/main.tf"),
            "variable \"x\" {\n  default = \"d\"\n}\n",
        );
        repo.write(
            &format!("environments/dev/stacks/{stack}/terraform.tfvars"),
            &format!("x = \"{stack}\"\n"),
        );
    }
    repo.write(
        "environments/dev/env.toml",
        "[state]\nbackend = \"local\"\n",
    );
    repo.write("environments/dev/shared.tfvars", "x = \"everyone\"\n");
    let stray = "environments/dev/stacks/netwrok/terraform.tfvars";
    repo.write(stray, "x = \"typo\"\n");
    repo.commit("initial");

    let listed = repo.strata(&["list"]);
    listed.assert_ok();
    assert!(
        listed.stderr.contains(&format!(
            "warning: {stray} is in a directory of environments/dev/ that is no target's"
        )),
        "{}",
        listed.stderr
    );
    assert_eq!(repo.strata(&["list", "--check"]).code, 1);
    let json = repo.strata(&["--json", "list"]).json();
    assert_eq!(json["stray_environment_files"], serde_json::json!([stray]));

    let env_inputs = |label: &str| -> Vec<String> {
        let run = repo.strata(&["--json", "hash", "--explain", "--env", "dev", label]);
        run.assert_ok();
        let json = run.json();
        let plan = common::task(&json, label, "plan").clone();
        plan["fingerprint"]["env_inputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["path"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        env_inputs("stacks/app"),
        [
            "environments/dev/env.toml",
            "environments/dev/shared.tfvars",
            "environments/dev/stacks/app/terraform.tfvars"
        ]
    );
    repo.append(stray, "# edited\n");
    assert_eq!(
        repo.affected_labels(&["--base", "main"]),
        Vec::<String>::new()
    );
    repo.git(&["checkout", "--", stray]);
    repo.append("environments/dev/shared.tfvars", "# edited\n");
    assert_eq!(
        repo.affected_labels(&["--base", "main"]),
        ["stacks/app", "stacks/db"]
    );
    repo.git(&["checkout", "--", "environments/dev/shared.tfvars"]);

    // The db stack removed, its variable file left behind: given to no one, and the app
    // is not affected by the removal.
    repo.git(&["rm", "-rq", "stacks/db"]);
    repo.commit("db retired");
    assert!(!env_inputs("stacks/app")
        .iter()
        .any(|p| p.contains("stacks/db")));
    assert_eq!(repo.affected_labels(&["--base", "HEAD~1"]), ["stacks/db"]);
}

/// A values file in an environment's directory for a chart vendored in another chart
/// (`environments/dev/charts/app/charts/sub/values.yaml`) is given to no target: helm
/// renders the subchart inside its parent, with the values its parent gives it. It was
/// given to the subchart, which renders nothing of its own, so the file was silently
/// unused while `affected` named both charts changed by it.
#[test]
fn a_values_file_for_a_vendored_subchart_is_given_to_none_and_named() {
    let repo = Repo::new();
    repo.write("WORKSPACE.toml", "[workspace]\nname = \"t\"\n");
    repo.write(
        "environments/dev/env.toml",
        "[state]\nbackend = \"local\"\n",
    );
    repo.write(
        "charts/app/Chart.yaml",
        "apiVersion: v2\nname: app\nversion: 0.1.0\ndependencies:\n  - name: sub\n    version: 0.1.0\n",
    );
    repo.write(
        "charts/app/charts/sub/Chart.yaml",
        "apiVersion: v2\nname: sub\nversion: 0.1.0\n",
    );
    let stray = "environments/dev/charts/app/charts/sub/values.yaml";
    repo.write(stray, "greeting: from-dev\n");
    repo.commit("a subchart's values beside it");
    let listed = repo.strata(&["list", "--check"]);
    assert_eq!(listed.code, 1, "{}", listed.stderr);
    assert!(
        listed.stderr.contains(&format!(
            "warning: {stray} is in the directory of charts/app/charts/sub, a chart vendored in another chart's charts/"
        )) && listed.stderr.contains("under the subchart's name (the alias its parent's Chart.yaml gives it"),
        "{}",
        listed.stderr
    );
    let json = repo.strata(&["--json", "list"]).json();
    assert_eq!(json["stray_environment_files"], serde_json::json!([stray]));
    repo.append(stray, "# edited\n");
    assert_eq!(
        repo.affected_labels(&["--base", "main"]),
        Vec::<String>::new()
    );
}
