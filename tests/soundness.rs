//! Change detection never misses a dependent: minimal reproductions of layouts and faults
//! found on real repositories (docs/soundness.md), each in a small temporary git repository.
#![allow(clippy::disallowed_methods)] // tests drive git, the real strata binary and tools

mod common;
use common::Repo;

/// A workspace with one stack calling one module, committed on `main`.
/// Each file edited on its own (and restored) affects exactly `expected`.
#[track_caller]
fn assert_each_edit_affects(repo: &Repo, cases: &[(&str, &[&str])]) {
    assert_each_edit_affects_in(repo, "", cases);
}

/// `strata list`, which must succeed and warn of nothing.
#[track_caller]
fn list_without_warnings(repo: &Repo) {
    let listed = repo.strata(&["list"]);
    listed.assert_ok();
    assert!(!listed.stderr.contains("warning"), "{}", listed.stderr);
}

/// [`assert_each_edit_affects`] for a workspace in the repository's directory `dir`: the
/// files are named from the repository's top level, the labels from the workspace's root.
#[track_caller]
fn assert_each_edit_affects_in(repo: &Repo, dir: &str, cases: &[(&str, &[&str])]) {
    let root = repo.path().join(dir);
    for (file, expected) in cases {
        repo.append(file, "edited\n");
        let run = repo.strata_in(&root, &["--json", "affected", "--base", "main"]);
        run.assert_ok();
        let labels: Vec<String> = common::label_reasons(&run.json())
            .into_iter()
            .map(|(l, _)| l)
            .collect();
        assert_eq!(labels, expected.to_vec(), "{file}");
        repo.git(&["checkout", "--", file]);
    }
}

/// A repository with a plain WORKSPACE.toml (the default layout), nothing committed.
fn workspace() -> Repo {
    let repo = Repo::new();
    repo.write("WORKSPACE.toml", "[workspace]\nname = \"t\"\n");
    repo
}

fn stack_and_module() -> Repo {
    let repo = workspace();
    repo.write(
        "stacks/app/main.tf",
        "module \"aaa\" {\n  source = \"../../modules/aaa\"\n}\n",
    );
    repo.write("modules/aaa/main.tf", "variable \"x\" {}\n");
    repo.write("modules/bbb/main.tf", "variable \"y\" {}\n");
    repo.commit("initial");
    repo
}

#[test]
fn a_tampered_fact_cache_is_discarded_not_trusted() {
    let repo = stack_and_module();
    assert_eq!(
        repo.affected_labels(&["--base", "main"]),
        Vec::<String>::new()
    );
    let cache = repo.path().join(".strata/cache/facts-v1.bin");
    let bytes = std::fs::read(&cache).expect("the fact cache is written");
    // The same length, another module: a cache trusted blindly would now say that
    // stacks/app calls modules/bbb.
    let needle = b"../../modules/aaa";
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("the module source is in the cache");
    let mut tampered = bytes.clone();
    tampered[at..at + needle.len()].copy_from_slice(b"../../modules/bbb");
    std::fs::write(&cache, &tampered).unwrap();
    repo.append("modules/bbb/main.tf", "# edited\n");
    assert_eq!(
        repo.affected_labels(&["--base", "main"]),
        vec!["modules/bbb"],
        "an edit of modules/bbb must not affect stacks/app"
    );
    repo.append("modules/aaa/main.tf", "# edited\n");
    assert_eq!(
        repo.affected_labels(&["--base", "main"]),
        vec!["modules/aaa", "modules/bbb", "stacks/app"]
    );
}

/// Which model of the index a run used: `saved` (read from `.strata/cache/index-model.bin`)
/// or `built`, from its timings.
fn index_model_of(repo: &Repo, args: &[&str]) -> &'static str {
    let run = common::Run::from(
        repo.command(args)
            .env("STRATA_TIMINGS", "1")
            .output()
            .unwrap(),
    );
    run.assert_ok();
    let stderr = run.stderr;
    if stderr.contains("model (index)") {
        "built"
    } else if stderr.contains("model (saved)") {
        "saved"
    } else {
        panic!("no model of the index: {stderr}")
    }
}

/// The model of the index is saved and reused by the next run with the same index and
/// configuration, and its answers are a model built afresh's: reused, damaged (ignored),
/// after a staged edit that changes the graph, after a change of layout.
#[test]
fn the_saved_model_of_the_index_serves_only_the_same_index_and_configuration() {
    let repo = stack_and_module();
    let fresh = repo.hashes();
    let saved = repo.path().join(".strata/cache/index-model.bin");
    assert!(saved.exists(), "the index's model is saved");
    assert_eq!(index_model_of(&repo, &["hash"]), "saved");
    assert_eq!(repo.hashes(), fresh);

    // A damaged file is ignored (and replaced).
    let mut bytes = std::fs::read(&saved).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x55;
    std::fs::write(&saved, &bytes).unwrap();
    assert_eq!(index_model_of(&repo, &["hash"]), "built");
    assert_eq!(repo.hashes(), fresh);
    assert_eq!(index_model_of(&repo, &["hash"]), "saved");

    // A staged edit that makes stacks/app call modules/bbb: another index.
    repo.write(
        "stacks/app/main.tf",
        "module \"bbb\" {\n  source = \"../../modules/bbb\"\n}\n",
    );
    repo.git(&["add", "-A"]);
    assert_eq!(index_model_of(&repo, &["hash"]), "built");
    repo.append("modules/bbb/main.tf", "# edited\n");
    assert_eq!(
        repo.affected_labels(&["--base", "main"]),
        vec!["modules/bbb", "stacks/app"]
    );
    repo.append("modules/aaa/main.tf", "# edited\n");
    assert_eq!(
        repo.affected_labels(&["--base", "main"]),
        vec!["modules/aaa", "modules/bbb", "stacks/app"]
    );
    repo.git(&["checkout", "--", "modules"]);

    // Another configuration (not committed): the modules are stacks.
    assert_eq!(index_model_of(&repo, &["hash"]), "saved");
    repo.append(
        "WORKSPACE.toml",
        "\n[layout]\nstacks = [\"stacks/*\", \"modules/*\"]\nmodules = []\n",
    );
    assert_eq!(index_model_of(&repo, &["hash"]), "built");
    let list = |extra: &[&str]| {
        let args: Vec<&str> = extra.iter().copied().chain(["--json", "list"]).collect();
        let run = repo.strata(&args);
        run.assert_ok();
        run.stdout
    };
    let reused = list(&[]);
    assert!(reused.contains("\"stack\""), "{reused}");
    assert!(!reused.contains("\"module\""), "{reused}");
    assert_eq!(reused, list(&["--no-cache"]));
}

/// A run whose model of the index came from the saved one looks up the facts of only the
/// files the work tree changed: it leaves the fact cache as it was instead of keeping only
/// those, so the next change to the index does not parse every file again.
#[test]
fn a_run_from_the_saved_model_keeps_the_rest_of_the_fact_cache() {
    let repo = stack_and_module();
    assert_eq!(index_model_of(&repo, &["hash"]), "built");
    let facts = repo.path().join(".strata/cache/facts-v1.bin");
    let before = std::fs::read(&facts).unwrap();
    repo.append("modules/aaa/main.tf", "# edited\n");
    assert_eq!(
        index_model_of(&repo, &["affected", "--base", "main"]),
        "saved"
    );
    assert_eq!(
        std::fs::read(&facts).unwrap(),
        before,
        "the fact cache is left as it was"
    );
    assert_eq!(
        repo.affected_labels(&["--base", "main"]),
        vec!["modules/aaa", "stacks/app"]
    );
}

/// A model with problems (a module source that does not exist) is not saved: a problem's
/// text is not kept, and a model without it would pass for complete.
#[test]
fn a_model_with_problems_is_not_saved() {
    let repo = workspace();
    repo.write(
        "stacks/app/main.tf",
        "module \"gone\" {\n  source = \"../../modules/gone\"\n}\n",
    );
    repo.commit("initial");
    for _ in 0..2 {
        assert_eq!(
            index_model_of(&repo, &["affected", "--base", "main"]),
            "built"
        );
        let run = repo.strata(&["list"]);
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert!(run.stderr.contains("modules/gone"), "{}", run.stderr);
    }
}

fn hex_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn a_tampered_baseline_is_discarded_not_trusted() {
    let repo = stack_and_module();
    let main = repo.git(&["rev-parse", "main"]);
    let before = repo.hashes();
    repo.append("modules/aaa/main.tf", "# edited\n");
    let want = vec!["modules/aaa", "stacks/app"];
    assert_eq!(repo.affected_labels(&["--base", "main"]), want);
    let path = repo.path().join(".strata/cache/baselines").join(&main);
    let mut bytes = std::fs::read(&path).expect("the baseline of main is saved");
    // Make the cached base hashes say what the edited head says: trusted blindly, the
    // baseline would hide the edit.
    let after = repo.hashes();
    for label in &want {
        let (old, new) = (hex_bytes(&before[*label]), hex_bytes(&after[*label]));
        let at = bytes
            .windows(32)
            .position(|w| w == old.as_slice())
            .expect("the base hash is in the baseline");
        bytes[at..at + 32].copy_from_slice(&new);
    }
    std::fs::write(&path, &bytes).unwrap();
    assert_eq!(repo.affected_labels(&["--base", "main"]), want);
}

#[test]
fn file_reads_through_locals_are_tracked() {
    let repo = workspace();
    repo.write(
        "stacks/app/main.tf",
        r#"locals {
  t    = "${path.module}/../../shared/x.tpl"
  dir  = "${path.module}/../../shared"
  deep = "${local.dir}/y.json"
}

output "a" {
  value = templatefile(local.t, {})
}

output "b" {
  value = file(local.deep)
}
"#,
    );
    repo.write("shared/x.tpl", "x\n");
    repo.write("shared/y.json", "{}\n");
    repo.write("shared/z.txt", "not read\n");
    repo.commit("initial");
    for file in ["shared/x.tpl", "shared/y.json"] {
        repo.append(file, "\n");
        assert_eq!(
            repo.affected_labels(&["--base", "main"]),
            vec!["stacks/app"],
            "{file}"
        );
        repo.git(&["checkout", "--", file]);
    }
    repo.append("shared/z.txt", "\n");
    assert_eq!(
        repo.affected_labels(&["--base", "main"]),
        Vec::<String>::new()
    );
}

/// Files terraform reads and hcl-edit refuses as written (found in terraform-aws-eks-blueprints
/// and cloud-foundation-fabric): a key given twice in an object, an object `for` whose value
/// goes on over lines, CRLF line ends. Their module calls and file reads are followed.
#[test]
fn what_terraform_reads_and_the_parser_refuses_is_followed() {
    let repo = workspace();
    repo.write(
        "stacks/app/main.tf",
        "locals {\r\n  groups = {\r\n    min_size = 1\r\n    min_size = 2\r\n    tpl      = \"${path.module}/../../shared/x.tpl\"\r\n  }\r\n  users = {\r\n    for k, v in var.users : k =>\r\n    v.admin # admins\r\n    ? { name = k }\r\n    : { name = \"u-${k}\" }\r\n  }\r\n}\r\n\r\nvariable \"users\" {\r\n  default = {}\r\n}\r\n\r\nmodule \"net\" {\r\n  source = \"../../modules/net\"\r\n}\r\n\r\noutput \"t\" {\r\n  value = templatefile(local.groups.tpl, {})\r\n}\r\n",
    );
    repo.write("modules/net/main.tf", "output \"id\" {\n  value = 1\n}\n");
    repo.write("shared/x.tpl", "x\n");
    repo.commit("initial");
    for file in ["shared/x.tpl", "modules/net/main.tf"] {
        repo.append(file, "\n");
        let affected = repo.affected_labels(&["--base", "main"]);
        assert!(
            affected.contains(&"stacks/app".to_string()),
            "{file}: {affected:?}"
        );
        repo.git(&["checkout", "--", file]);
    }
}

#[test]
fn a_read_strata_cannot_resolve_is_warned_about_until_declared() {
    let repo = workspace();
    repo.write(
        "stacks/app/main.tf",
        "variable \"tpl\" {}\n\noutput \"a\" {\n  value = templatefile(var.tpl, {})\n}\n",
    );
    repo.write("shared/templates/a.tpl", "a\n");
    repo.commit("initial");
    repo.append("stacks/app/main.tf", "\n");
    let run = repo.strata(&["--json", "affected", "--base", "main"]);
    run.assert_ok();
    let json = run.json();
    assert_eq!(
        json["targets"][0]["unresolved_reads"],
        serde_json::json!([{"file": "stacks/app/main.tf", "line": 4}])
    );
    assert!(
        run.stderr.contains("warning: stacks/app reads a file whose path is computed at run time (stacks/app/main.tf:4)")
            && run.stderr.contains("extra_inputs"),
        "{}",
        run.stderr
    );
    // The run commands say it too: a guarded read (`fileexists`, `try`) that finds no file
    // in the sandbox takes its fallback, and the run passes with another configuration.
    let check = repo.strata(&["check", "stacks/app"]);
    assert!(
        check.stderr.contains("warning: stacks/app reads a file whose path is computed at run time (stacks/app/main.tf:4)")
            && check.stderr.contains("takes its fallback"),
        "{}",
        check.stderr
    );

    // Declared: the templates are inputs, and the warning is gone.
    repo.write(
        "stacks/app/stack.toml",
        "extra_inputs = [\"../../shared/templates/*.tpl\"]\n",
    );
    repo.commit("declare");
    repo.append("shared/templates/a.tpl", "\n");
    let run = repo.strata(&["--json", "affected", "--base", "main"]);
    run.assert_ok();
    assert_eq!(
        common::label_reasons(&run.json()),
        vec![("stacks/app".to_string(), "changed".to_string())]
    );
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
    let check = repo.strata(&["check", "stacks/app"]);
    assert!(
        !check.stderr.contains("computed at run time"),
        "{}",
        check.stderr
    );
    let explain = repo.strata(&["hash", "--explain", "stacks/app"]);
    assert!(
        explain.stdout.contains("shared/templates/a.tpl"),
        "{}",
        explain.stdout
    );

    // A glob that leaves the workspace is bad input for the commands that need the target.
    repo.write(
        "stacks/app/stack.toml",
        "extra_inputs = [\"../../../x/*\"]\n",
    );
    let run = repo.strata(&["hash", "stacks/app"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("stacks/app/stack.toml:1"),
        "{}",
        run.stderr
    );
}

/// A change that makes no target affected is worth a warning while some target reads files
/// strata cannot name: that read may use the changed file. The warning names both; it goes
/// once the read is declared, and it never covers an ignored file or a workspace whose
/// reads are all known.
#[test]
fn a_change_no_target_reads_is_warned_about_while_some_read_is_unknown() {
    let repo = workspace();
    repo.write(
        "WORKSPACE.toml",
        "[workspace]\nname = \"t\"\nignore = [\"**/*.md\"]\n",
    );
    repo.write(
        "stacks/app/main.tf",
        "variable \"tpl\" {}\n\noutput \"a\" {\n  value = templatefile(var.tpl, {})\n}\n",
    );
    repo.write("stacks/other/main.tf", "output \"o\" {\n  value = 1\n}\n");
    repo.write("shared/templates/a.tpl", "a\n");
    repo.write("docs/notes.md", "notes\n");
    repo.commit("initial");

    repo.append("shared/templates/a.tpl", "\n");
    repo.append("docs/notes.md", "\n");
    let run = repo.strata(&["--json", "affected", "--base", "main"]);
    run.assert_ok();
    let json = run.json();
    assert_eq!(json["targets"], serde_json::json!([]));
    // The ignored file is no news: no tool reads it.
    assert_eq!(
        json["unread_changes"],
        serde_json::json!(["shared/templates/a.tpl"])
    );
    assert_eq!(
        json["unresolved_readers"],
        serde_json::json!(["stacks/app"])
    );
    assert!(
        run.stderr.contains("warning: 1 changed file(s) are inputs of no target (shared/templates/a.tpl), and 1 target(s) read files whose paths strata cannot resolve (stacks/app)"),
        "{}",
        run.stderr
    );

    // A reader that is affected runs again anyway: no warning.
    repo.append("stacks/app/main.tf", "\n");
    let run = repo.strata(&["--json", "affected", "--base", "main"]);
    run.assert_ok();
    assert!(run.json().get("unread_changes").is_none(), "{}", run.stdout);
    repo.git(&["checkout", "--", "stacks/app/main.tf"]);

    // A change some target reads is explained by that target, and strata's own
    // configuration is read by strata alone: no warning about either.
    repo.append("stacks/other/main.tf", "\n");
    repo.append("WORKSPACE.toml", "# a comment\n");
    repo.git(&["checkout", "--", "shared/templates/a.tpl"]);
    let run = repo.strata(&["--json", "affected", "--base", "main"]);
    run.assert_ok();
    assert!(run.json().get("unread_changes").is_none(), "{}", run.stdout);
    assert!(
        !run.stderr.contains("inputs of no target"),
        "{}",
        run.stderr
    );

    // Declared: the template is an input, the stack is affected, and nothing is unknown.
    repo.write(
        "stacks/app/stack.toml",
        "extra_inputs = [\"../../shared/templates/*.tpl\"]\n",
    );
    repo.commit("declare");
    repo.append("shared/templates/a.tpl", "\n");
    repo.write("shared/unread.txt", "x\n");
    let run = repo.strata(&["--json", "affected", "--base", "main"]);
    run.assert_ok();
    assert_eq!(
        common::label_reasons(&run.json()),
        vec![("stacks/app".to_string(), "changed".to_string())]
    );
    assert!(run.json().get("unread_changes").is_none(), "{}", run.stdout);
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
}

#[test]
fn a_module_at_the_workspace_root_is_an_input_of_its_callers() {
    // The layout of terraform-aws-modules repositories: the module at the top, roots that
    // call it with `source = "../.."`.
    let repo = workspace();
    repo.write("main.tf", "variable \"name\" {}\n");
    repo.write("templates/user_data.tpl", "#!/bin/sh\n");
    repo.write(
        "stacks/complete/main.tf",
        "module \"eks\" {\n  source = \"../..\"\n  name   = \"x\"\n}\n",
    );
    repo.write("stacks/other/main.tf", "variable \"y\" {}\n");
    repo.commit("initial");
    for file in ["main.tf", "templates/user_data.tpl"] {
        repo.append(file, "\n");
        assert_eq!(
            repo.affected_labels(&["--base", "main"]),
            vec!["stacks/complete"],
            "{file}"
        );
        repo.git(&["checkout", "--", file]);
    }
    let explain = repo.strata(&["hash", "--explain", "stacks/complete"]);
    assert!(explain.stdout.contains("main.tf"), "{}", explain.stdout);
}

const CHART: &str = "apiVersion: v2\nname: NAME\nversion: 0.1.0\n";

#[test]
fn charts_inside_charts_and_charts_deployed_by_stacks_are_followed() {
    let repo = workspace();
    // A vendored subchart, rendered into its parent without a file:// declaration.
    repo.write("charts/parent/Chart.yaml", &CHART.replace("NAME", "parent"));
    repo.write(
        "charts/parent/charts/sub/Chart.yaml",
        &CHART.replace("NAME", "sub"),
    );
    repo.write(
        "charts/parent/charts/sub/templates/cm.yaml",
        "kind: ConfigMap\n",
    );
    // A chart of apiVersion v1 whose dependencies are in requirements.yaml.
    repo.write(
        "charts/old/Chart.yaml",
        "apiVersion: v1\nname: old\nversion: 0.1.0\n",
    );
    repo.write(
        "charts/old/requirements.yaml",
        "dependencies:\n  - name: common\n    version: 0.1.0\n    repository: file://../common\n",
    );
    repo.write(
        "charts/common/Chart.yaml",
        &CHART
            .replace("NAME", "common")
            .replace("version", "type: library\nversion"),
    );
    repo.write("charts/common/templates/_h.tpl", "{{/* h */}}\n");
    // Stacks deploying charts from the workspace with helm_release.
    repo.write(
        "stacks/deploy/main.tf",
        "resource \"helm_release\" \"api\" {\n  name  = \"api\"\n  chart = \"${path.module}/../../charts/parent\"\n}\n",
    );
    repo.write(
        "stacks/packaged/main.tf",
        "resource \"helm_release\" \"x\" {\n  name  = \"x\"\n  chart = \"${path.module}/../../packages/x-1.0.tgz\"\n}\n",
    );
    repo.write("packages/x-1.0.tgz", "not really a tarball\n");
    repo.commit("initial");

    let cases = [
        (
            "charts/parent/charts/sub/templates/cm.yaml",
            vec!["charts/parent", "charts/parent/charts/sub", "stacks/deploy"],
        ),
        (
            "charts/common/templates/_h.tpl",
            vec!["charts/common", "charts/old"],
        ),
        ("packages/x-1.0.tgz", vec!["stacks/packaged"]),
    ];
    for (file, want) in cases {
        repo.append(file, "\n");
        assert_eq!(repo.affected_labels(&["--base", "main"]), want, "{file}");
        repo.git(&["checkout", "--", file]);
    }
}

#[test]
fn reads_outside_the_workspace_are_errors_not_stale_hits() {
    for (tf, what) in [
        ("module \"ext\" {\n  source = \"/opt/ext\"\n}\n", "module source `/opt/ext`"),
        ("output \"x\" {\n  value = file(\"/etc/hostname\")\n}\n", "file() reads `/etc/hostname`"),
        // terraform's file functions read `~/x` in the home directory.
        (
            "output \"x\" {\n  value = templatefile(\"~/.ssh/deploy.pub\", {})\n}\n",
            "templatefile() reads `~/.ssh/deploy.pub`",
        ),
        (
            "locals {\n  dir = \"/opt/shared\"\n}\n\noutput \"x\" {\n  value = file(\"${local.dir}/x.json\")\n}\n",
            "file() reads `/opt/shared/x.json`",
        ),
        (
            "output \"x\" {\n  value = file(\"${path.module}/../../../x.json\")\n}\n",
            "outside the workspace",
        ),
    ] {
        let repo = Repo::new();
        repo.write("WORKSPACE.toml", "[workspace]\nname = \"t\"\n");
        repo.write("stacks/app/main.tf", tf);
        repo.commit("initial");
        let run = repo.strata(&["hash", "stacks/app"]);
        assert_eq!(run.code, 2, "{tf}\n{}", run.stderr);
        assert!(run.stderr.contains(what), "{}", run.stderr);
        assert!(run.stderr.contains("stacks/app/main.tf:"), "{}", run.stderr);
    }
}

#[test]
fn a_deleted_environment_file_is_named_as_such() {
    let repo = Repo::with_fixture();
    let wide = "environments/staging/common.tfvars";
    repo.write(wide, "region = \"eu-west-1\"\n");
    repo.commit("common staging values");
    repo.git(&["rm", "-q", wide]);
    let run = repo.strata(&["--json", "affected", "--base", "main", "--explain"]);
    run.assert_ok();
    let json = run.json();
    let targets = json["targets"].as_array().unwrap();
    assert!(!targets.is_empty());
    for t in targets {
        // Every deployed target is affected in staging, because its own inputs there
        // changed: not "a dependency" with an empty chain.
        assert_eq!(t["reason"], "changed", "{t}");
        assert_eq!(t["environments"], serde_json::json!(["staging"]), "{t}");
        assert_eq!(t["files"], serde_json::json!([wide]), "{t}");
        assert_eq!(t["deleted_files"], serde_json::json!([wide]), "{t}");
    }
    let human = repo.strata(&["affected", "--base", "main", "--explain"]);
    assert!(
        human
            .stdout
            .contains("environments/staging/common.tfvars (deleted)"),
        "{}",
        human.stdout
    );
}

/// A configuration typo is bad input naming its file and line, never a setting that
/// silently switches something off.
#[test]
fn configuration_typos_are_errors_with_suggestions() {
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "policies/guard/policy.toml",
            "kinds = [\"stack\"]\nenvironments = [\"dev\", \"prd\"]\n",
            "policies/guard/policy.toml:2",
            "did you mean `prod`?",
        ),
        (
            "policies/guard/policy.toml",
            "labels = [\"stacks/[\"]\n",
            "policies/guard/policy.toml:1",
            "label glob",
        ),
        (
            "environments/staging/env.toml",
            "promotes_from = \"dev\"\n\n[gates]\nrequire = [\"plna\"]\n",
            "environments/staging/env.toml:4",
            "did you mean `plan`?",
        ),
        (
            "stacks/network/stack.toml/README",
            "not a manifest\n",
            "stacks/network/stack.toml/README",
            "is a directory",
        ),
        (
            "charts/web/Chart.yaml",
            "apiVersion: v2\nname: web\nversion: 0.1.0\ntype: applicaton\n",
            "charts/web/Chart.yaml:4",
            "did you mean `application`?",
        ),
        (
            "environments/dev/env.toml",
            "[gates]\nrequire = [\"plan\"]\nmax_severity = \"high\"\napprovels = 1\n",
            "environments/dev/env.toml:4",
            "unknown field",
        ),
    ];
    for (file, text, at, says) in cases {
        let repo = Repo::with_fixture();
        repo.write("policies/guard/guard.rego", "package main\n");
        repo.write(file, text);
        let run = repo.strata(&["list"]);
        assert_eq!(run.code, 2, "{file}: {}", run.stderr);
        assert!(run.stderr.contains(at), "{file}: {}", run.stderr);
        assert!(run.stderr.contains(says), "{file}: {}", run.stderr);
        assert!(
            !run.stderr.contains("fix the TOML syntax"),
            "{file}: {}",
            run.stderr
        );
    }
}

#[test]
fn a_missing_terraform_cli_config_is_an_error() {
    let repo = Repo::with_fixture();
    repo.append(
        "WORKSPACE.toml",
        "terraform_cli_config = \"tools/terraform.rc\"\n",
    );
    let run = repo.strata(&["check", "modules/naming"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("WORKSPACE.toml:"), "{}", run.stderr);
    assert!(run.stderr.contains("tools/terraform.rc"), "{}", run.stderr);
}

#[test]
fn one_broken_target_does_not_blind_the_repository() {
    let repo = workspace();
    repo.write("modules/vpc/main.tf", "variable \"cidr\" {}\n");
    repo.write(
        "stacks/network/main.tf",
        "module \"vpc\" {\n  source = \"../../modules/vpc\"\n}\n",
    );
    repo.write("stacks/app/main.tf", "variable \"x\" {}\n");
    repo.write("stacks/app/stack.toml", "deps = [\"stacks/network\"]\n");
    repo.write("stacks/dns/main.tf", "variable \"zone\" {}\n");
    repo.commit("initial");

    // At head, one module source points nowhere: that stack is affected with its error,
    // its dependents with it, and the rest of the answer is intact.
    repo.write(
        "stacks/network/main.tf",
        "module \"vpc\" {\n  source = \"../../modules/vpcc\"\n}\n",
    );
    repo.append("stacks/dns/main.tf", "\n");
    let run = repo.strata(&["--json", "affected", "--base", "main"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json = run.json();
    assert_eq!(
        common::label_reasons(&json),
        vec![
            ("stacks/app".to_string(), "dependency".to_string()),
            ("stacks/dns".to_string(), "changed".to_string()),
            ("stacks/network".to_string(), "changed".to_string()),
        ]
    );
    let network = &json["targets"][2];
    assert_eq!(
        network["problems"][0]["location"]["file"],
        "stacks/network/main.tf"
    );
    assert_eq!(network["problems"][0]["location"]["line"], 2);
    assert!(run.stderr.contains("modules/vpcc"), "{}", run.stderr);

    // Committed and unchanged since, it is still affected: "broken", never silently fine.
    repo.commit("break network");
    let json = repo
        .strata(&["--json", "affected", "--base", "main"])
        .json();
    assert_eq!(
        common::label_reasons(&json),
        vec![
            ("stacks/app".to_string(), "dependency".to_string()),
            ("stacks/network".to_string(), "broken".to_string()),
        ]
    );

    // Commands that would run it refuse with the file and line; others run.
    let run = repo.strata(&["hash", "stacks/app"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("--> stacks/network/main.tf:2"),
        "{}",
        run.stderr
    );
    let run = repo.strata(&["hash", "stacks/dns"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = repo.strata(&["check", "stacks/app"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("--> stacks/network/main.tf:2"),
        "{}",
        run.stderr
    );

    // The commit that fixes it is compared with a base that cannot be modelled.
    let broken = repo.git(&["rev-parse", "HEAD"]);
    repo.write(
        "stacks/network/main.tf",
        "module \"vpc\" {\n  source = \"../../modules/vpc\"\n}\n",
    );
    repo.commit("fix network");
    let json = repo
        .strata(&["--json", "affected", "--base", &broken])
        .json();
    assert_eq!(
        common::label_reasons(&json),
        vec![
            ("stacks/app".to_string(), "dependency".to_string()),
            ("stacks/network".to_string(), "changed".to_string()),
        ]
    );
}

#[test]
fn a_base_that_cannot_be_modelled_at_all_affects_everything() {
    let repo = workspace();
    repo.write("stacks/a/main.tf", "variable \"x\" {}\n");
    repo.write("stacks/b/main.tf", "variable \"y\" {}\n");
    repo.write("stacks/a/stack.toml", "deps = [\"stacks/b\"]\n");
    repo.write("stacks/b/stack.toml", "deps = [\"stacks/a\"]\n");
    let base = repo.commit("a cycle");
    repo.write("stacks/b/stack.toml", "deps = []\n");
    repo.commit("no cycle");
    let run = repo.strata(&["--json", "affected", "--base", &base]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json = run.json();
    assert_eq!(
        common::label_reasons(&json),
        vec![
            ("stacks/a".to_string(), "broken_at_base".to_string()),
            ("stacks/b".to_string(), "broken_at_base".to_string()),
        ]
    );
    assert!(
        json["targets"][0]["problems"][0]["message"]
            .as_str()
            .unwrap()
            .contains("dependency cycle"),
        "{json}"
    );
}

#[cfg(unix)]
#[test]
fn symlinked_files_are_inputs_by_what_they_point_to() {
    let repo = common::sample_repo();
    repo.write(
        "shared/terraform/extra.tf",
        "locals {\n  from_a_link = \"shared\"\n}\n",
    );
    std::os::unix::fs::symlink(
        "../../shared/terraform/extra.tf",
        repo.path().join("modules/naming/extra.tf"),
    )
    .unwrap();
    repo.commit("a linked file");
    // terraform reads the linked file in the sandbox: the check passes.
    let (run, report) = common::json_run(&repo, &["check", "modules/naming"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!common::tasks_where(&report, |t| t["status"] == "ok").is_empty());
    // An edit of the file it points to affects the target and its dependents.
    repo.append("shared/terraform/extra.tf", "\n");
    let affected = repo.affected_labels(&["--base", "main"]);
    assert!(
        affected.contains(&"modules/naming".to_string()),
        "{affected:?}"
    );
    repo.git(&["checkout", "--", "shared/terraform/extra.tf"]);
    // A link leaving the workspace is refused with its path.
    std::fs::remove_file(repo.path().join("modules/naming/extra.tf")).unwrap();
    std::os::unix::fs::symlink("/etc/hostname", repo.path().join("modules/naming/extra.tf"))
        .unwrap();
    let run = repo.strata(&["check", "modules/naming"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("`modules/naming/extra.tf` is a link to `/etc/hostname`"),
        "{}",
        run.stderr
    );
}

/// A shared file that stacks link to (terraform-example-foundation's `terraform.tfvars`)
/// and that does not parse is each linking stack's problem once, named through its link.
#[cfg(unix)]
#[test]
fn a_linked_file_that_does_not_parse_is_reported_once_per_link() {
    let repo = Repo::new();
    repo.write("WORKSPACE.toml", "[workspace]\nname = \"w\"\n");
    repo.write("terraform.tfvars", "x = 1\n");
    for env in ["dev", "prod"] {
        repo.write(
            &format!("stacks/{env}/main.tf"),
            // The variable is read as a path: its variable files are read.
            "variable \"x\" {}\noutput \"o\" {\n  value = file(var.x)\n}\nterraform {\n  backend \"gcs\" {}\n}\n",
        );
        std::os::unix::fs::symlink(
            "../../terraform.tfvars",
            repo.path().join(format!("stacks/{env}/terraform.tfvars")),
        )
        .unwrap();
    }
    repo.commit("linked variables");
    repo.write("terraform.tfvars", "x = 2\nx\n");
    let run = repo.strata(&["--json", "affected", "--base", "main"]);
    let json = run.json();
    for t in json["targets"].as_array().unwrap() {
        let problems = t["problems"].as_array().unwrap();
        assert_eq!(problems.len(), 1, "{t}");
        assert!(
            problems[0]["message"]
                .as_str()
                .unwrap()
                .contains("links to `terraform.tfvars`, which does not parse"),
            "{t}"
        );
    }
    assert_eq!(json["targets"].as_array().unwrap().len(), 2, "{json}");
}

/// A `Chart.yaml` that is a link to a file of another name is read as a Chart.yaml, as helm
/// reads it: its `file://` dependency (relative to the link's chart) is an edge.
#[cfg(unix)]
#[test]
fn a_linked_chart_yaml_gives_its_dependencies() {
    let repo = workspace();
    repo.write(
        "charts/lib/Chart.yaml",
        "apiVersion: v2\nname: lib\ntype: library\nversion: 0.1.0\n",
    );
    repo.write(
        "charts/lib/templates/_h.tpl",
        "{{- define \"lib.x\" -}}x{{- end -}}\n",
    );
    repo.write(
        "shared/api-Chart.yaml",
        "apiVersion: v2\nname: api\nversion: 0.1.0\ndependencies:\n  - name: lib\n    version: 0.1.0\n    repository: file://../lib\n",
    );
    repo.write("charts/api/templates/cm.yaml", "kind: ConfigMap\n");
    std::os::unix::fs::symlink(
        "../../shared/api-Chart.yaml",
        repo.path().join("charts/api/Chart.yaml"),
    )
    .unwrap();
    repo.commit("a linked Chart.yaml");
    repo.append("charts/lib/templates/_h.tpl", "\n");
    let affected = repo.affected(&["--base", "main"]);
    assert!(
        affected.contains(&("charts/api".to_string(), "dependency".to_string())),
        "{affected:?}"
    );
}

/// helm packages every file below a chart's directory, and `.Files.Get` reads any of them:
/// a file `ignore` matches and the files of a chart nested in it (not under `charts/`) are
/// the chart's inputs.
#[test]
fn every_file_below_a_chart_is_its_input() {
    let repo = Repo::new();
    repo.write(
        "WORKSPACE.toml",
        "[workspace]\nname = \"t\"\nignore = [\"**/*.md\"]\n",
    );
    repo.write(
        "charts/web/Chart.yaml",
        "apiVersion: v2\nname: web\nversion: 0.1.0\n",
    );
    repo.write(
        "charts/web/templates/cm.yaml",
        "kind: ConfigMap\ndata:\n  notes: {{ .Files.Get \"NOTES.md\" | quote }}\n  example: {{ .Files.Get \"examples/demo/values.yaml\" | quote }}\n",
    );
    repo.write("charts/web/NOTES.md", "v1\n");
    repo.write(
        "charts/web/examples/demo/Chart.yaml",
        "apiVersion: v2\nname: demo\nversion: 0.1.0\n",
    );
    repo.write("charts/web/examples/demo/values.yaml", "msg: hello\n");
    repo.write("docs/guide.md", "x\n");
    repo.commit("a chart reading its own files");
    assert_each_edit_affects(
        &repo,
        &[
            ("charts/web/NOTES.md", &["charts/web"]),
            (
                "charts/web/examples/demo/values.yaml",
                &["charts/web", "charts/web/examples/demo"],
            ),
            ("docs/guide.md", &[]),
        ],
    );

    // A chart at the workspace root packages the whole workspace.
    let root = Repo::new();
    root.write(
        "WORKSPACE.toml",
        "[workspace]\nname = \"t\"\nignore = [\"**/*.md\"]\n\n[layout]\ncharts = [\".\"]\n",
    );
    root.write("Chart.yaml", "apiVersion: v2\nname: root\nversion: 0.1.0\n");
    root.write(
        "templates/cm.yaml",
        "kind: ConfigMap\ndata:\n  notes: {{ .Files.Get \"NOTES.md\" | quote }}\n",
    );
    root.write("NOTES.md", "v1\n");
    root.commit("a root chart");
    assert_each_edit_affects(&root, &[("NOTES.md", &["."])]);
}

/// A chart reached through a linked directory (`file://../weblink`, a `helm_release` whose
/// chart is the link) is the chart the link leads to, as helm loads it; the link is an
/// input of the readers, so their runs reach the chart the same way.
#[cfg(unix)]
#[test]
fn charts_resolve_through_linked_directories() {
    let repo = workspace();
    repo.write(
        "charts/web/Chart.yaml",
        "apiVersion: v2\nname: web\nversion: 0.1.0\n",
    );
    repo.write("charts/web/values.yaml", "msg: hello\n");
    repo.write(
        "charts/web/templates/cm.yaml",
        "kind: ConfigMap\ndata:\n  msg: {{ .Values.msg }}\n",
    );
    std::os::unix::fs::symlink("web", repo.path().join("charts/weblink")).unwrap();
    repo.write(
        "charts/app/Chart.yaml",
        "apiVersion: v2\nname: app\nversion: 0.1.0\ndependencies:\n  - name: web\n    version: 0.1.0\n    repository: file://../weblink\n",
    );
    repo.write("charts/app/templates/cm.yaml", "kind: ConfigMap\n");
    repo.write(
        "stacks/viasym/main.tf",
        "resource \"helm_release\" \"w\" {\n  name  = \"w\"\n  chart = \"${path.module}/../../charts/weblink\"\n}\n",
    );
    repo.commit("charts through a link");
    let listed = repo.strata(&["--json", "list"]);
    listed.assert_ok();
    let json = listed.json();
    for label in ["charts/app", "stacks/viasym"] {
        let target = json["targets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["label"] == label)
            .unwrap();
        assert_eq!(target["deps"], serde_json::json!(["charts/web"]), "{label}");
    }
    assert_each_edit_affects(
        &repo,
        &[(
            "charts/web/values.yaml",
            &["charts/app", "charts/web", "stacks/viasym"],
        )],
    );
    let explain = repo.strata(&["hash", "--explain", "charts/app"]);
    explain.assert_ok();
    assert!(
        explain.stdout.contains("charts/weblink"),
        "{}",
        explain.stdout
    );

    // A dependency through a loop of links is named as such, not as outside the workspace.
    std::os::unix::fs::symlink("loop", repo.path().join("charts/loop")).unwrap();
    repo.write(
        "charts/app/Chart.yaml",
        "apiVersion: v2\nname: app\nversion: 0.1.0\ndependencies:\n  - name: web\n    version: 0.1.0\n    repository: file://../loop\n",
    );
    let listed = repo.strata(&["list"]);
    assert_eq!(listed.code, 2, "{}", listed.stderr);
    assert!(
        listed.stderr.contains("passes through a loop of links")
            && !listed.stderr.contains("outside the workspace"),
        "{}",
        listed.stderr
    );
}

#[cfg(unix)]
#[test]
fn module_sources_resolve_through_linked_directories() {
    let repo = workspace();
    repo.write("modules/vpc/main.tf", "variable \"cidr\" {}\n");
    repo.write(
        "stacks/app/main.tf",
        "module \"vpc\" {\n  source = \"./mods/vpc\"\n}\n",
    );
    std::os::unix::fs::symlink("../../modules", repo.path().join("stacks/app/mods")).unwrap();
    repo.commit("initial");
    repo.append("modules/vpc/main.tf", "\n");
    assert_eq!(
        repo.affected_labels(&["--base", "main"]),
        vec!["modules/vpc", "stacks/app"]
    );
}

/// A link whose text climbs out of a linked directory (`../../shared/lnk/../extra.tf`, with
/// `shared/lnk -> deep/inner`) reads what the kernel reads (`shared/deep/extra.tf`), not
/// what cancelling `lnk/..` by text gives; the link on the way is an input too.
#[cfg(unix)]
#[test]
fn a_dot_dot_after_a_linked_directory_is_followed_as_the_kernel_does() {
    let repo = workspace();
    repo.write("stacks/s/main.tf", "variable \"x\" {}\n");
    repo.write("shared/extra.tf", "# not this one\n");
    repo.write("shared/deep/extra.tf", "# this one\n");
    repo.write("shared/deep/inner/keep.txt", "x\n");
    std::os::unix::fs::symlink("deep/inner", repo.path().join("shared/lnk")).unwrap();
    std::os::unix::fs::symlink(
        "../../shared/lnk/../extra.tf",
        repo.path().join("stacks/s/extra.tf"),
    )
    .unwrap();
    repo.commit("initial");
    let explain = repo.strata(&["hash", "--explain", "stacks/s"]);
    assert_eq!(explain.code, 0, "{}", explain.stderr);
    assert!(
        explain.stdout.contains("shared/deep/extra.tf")
            && explain.stdout.contains("shared/lnk")
            && !explain.stdout.contains(" shared/extra.tf"),
        "{}",
        explain.stdout
    );
    // An edit of the file read affects the stack.
    repo.append("shared/deep/extra.tf", "# edited\n");
    assert_eq!(repo.affected_labels(&["--base", "main"]), vec!["stacks/s"]);
}

#[cfg(unix)]
#[test]
fn a_path_that_is_not_utf8_is_reported_never_lost() {
    use std::os::unix::ffi::OsStrExt;
    let repo = workspace();
    repo.write("stacks/ok/main.tf", "variable \"x\" {}\n");
    let dir = repo
        .path()
        .join("stacks")
        .join(std::ffi::OsStr::from_bytes(b"caf\xe9"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("main.tf"), "variable \"y\" {}\n").unwrap();
    repo.commit("initial");
    // Commands that need every target say which path is the problem.
    let run = repo.strata(&["list"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("not valid UTF-8"), "{}", run.stderr);
    // An edit: the stack is affected (it cannot be read), never reported deleted.
    std::fs::write(dir.join("main.tf"), "variable \"y\" {}\n# edited\n").unwrap();
    let run = repo.strata(&["--json", "affected", "--base", "main"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let reasons = common::label_reasons(&run.json());
    assert_eq!(
        reasons,
        vec![("stacks/caf\u{fffd}".to_string(), "broken".to_string())]
    );
    // The other stack is unaffected and usable.
    assert_eq!(repo.strata(&["hash", "stacks/ok"]).code, 0);
}

#[test]
fn a_chart_handed_to_a_wrapper_module_is_read_by_the_stack() {
    // cloudposse components: `chart = "${path.module}/charts/x"` given to a helm-release
    // module from the registry.
    let repo = Repo::new();
    repo.write(
        "WORKSPACE.toml",
        "[workspace]\nname = \"t\"\n[layout]\nstacks = [\"modules/**\"]\nmodules = []\n",
    );
    repo.write(
        "modules/echo/main.tf",
        "module \"echo_server\" {\n  source  = \"cloudposse/helm-release/aws\"\n  version = \"0.10.1\"\n  chart   = \"${path.module}/charts/echo-server\"\n}\n",
    );
    repo.write(
        "modules/echo/charts/echo-server/Chart.yaml",
        &CHART.replace("NAME", "echo-server"),
    );
    repo.write(
        "modules/echo/charts/echo-server/values.yaml",
        "replicas: 1\n",
    );
    repo.commit("initial");
    repo.write(
        "modules/echo/charts/echo-server/values.yaml",
        "replicas: 2\n",
    );
    assert_eq!(
        repo.affected_labels(&["--base", "main"]),
        vec!["modules/echo", "modules/echo/charts/echo-server"]
    );
}

/// A `chart` chosen among written paths (a conditional, `coalesce` with a default, a map
/// of charts) deploys any of them: each is a dependency of the stack, so a change to either
/// chart affects it. A choice with no path in it (`var.chart`) gives no edge and no warning.
#[test]
fn a_chart_chosen_among_written_paths_depends_on_each() {
    let repo = workspace();
    for chart in ["web", "web-canary", "api", "worker"] {
        repo.write(
            &format!("charts/{chart}/Chart.yaml"),
            &CHART.replace("NAME", chart),
        );
        repo.write(&format!("charts/{chart}/values.yaml"), "replicas: 1\n");
    }
    repo.write(
        "stacks/app/main.tf",
        r#"variable "canary" {
  default = false
}

variable "chart" {
  default = ""
}

variable "kind" {
  default = "api"
}

locals {
  charts = {
    api    = "${path.module}/../../charts/api"
    worker = "${path.module}/../../charts/worker"
  }
}

resource "helm_release" "web" {
  name  = "web"
  chart = var.canary ? "../../charts/web-canary" : "../../charts/web"
}

resource "helm_release" "backend" {
  name  = "backend"
  chart = coalesce(var.chart, local.charts[var.kind])
}

resource "helm_release" "external" {
  name  = "external"
  chart = var.chart
}
"#,
    );
    repo.commit("initial");
    let run = repo.strata(&["--json", "graph"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
    for chart in ["web", "web-canary", "api", "worker"] {
        let file = format!("charts/{chart}/values.yaml");
        repo.write(&file, "replicas: 2\n");
        assert_eq!(
            repo.affected_labels(&["--base", "main"]),
            vec![format!("charts/{chart}"), "stacks/app".to_string()],
            "{file}"
        );
        repo.git(&["checkout", "--", &file]);
    }
}

#[test]
fn templates_chosen_through_coalesce_and_maps_are_inputs() {
    // terraform-aws-eks' user data: the template path comes from a map of paths through
    // coalesce(var.override, local.by_type[var.ami_type]).
    let repo = Repo::new();
    repo.write(
        "WORKSPACE.toml",
        "[workspace]\nname = \"t\"\n[layout]\nstacks = [\"examples/*\"]\nmodules = [\".\", \"modules/*\"]\n",
    );
    repo.write(
        "modules/user_data/main.tf",
        r#"variable "template_path" {
  default = ""
}

variable "ami_type" {
  default = "AL2023"
}

locals {
  by_type = {
    AL2    = "${path.module}/../../templates/al2.tpl"
    AL2023 = "${path.module}/../../templates/al2023.tpl"
  }
  path = coalesce(var.template_path, local.by_type[var.ami_type])
}

output "user_data" {
  value = templatefile(local.path, {})
}

output "fallback" {
  value = templatefile(coalesce(var.template_path, "${path.module}/../../other/default.tpl"), {})
}
"#,
    );
    repo.write("templates/al2.tpl", "echo al2\n");
    repo.write("templates/al2023.tpl", "echo al2023\n");
    repo.write("other/default.tpl", "echo default\n");
    repo.write(
        "examples/basic/main.tf",
        "module \"ud\" {\n  source = \"../../modules/user_data\"\n}\n",
    );
    repo.commit("initial");
    for file in ["templates/al2023.tpl", "other/default.tpl"] {
        repo.append(file, "\n");
        assert_eq!(
            repo.affected_labels(&["--base", "main"]),
            vec!["examples/basic", "modules/user_data"],
            "{file}"
        );
        repo.git(&["checkout", "--", file]);
    }
}

/// A choice whose candidate is a bare relative path (`coalesce(var.t, "../../shared/a.tpl")`,
/// a conditional, a map of such paths): terraform reads it relative to the root module, so
/// it is followed from the stack, and from each stack calling a module that has it.
#[test]
fn bare_relative_paths_among_the_candidates_of_a_choice_are_inputs() {
    let repo = workspace();
    repo.write(
        "stacks/direct/main.tf",
        r#"variable "t" {
  default = ""
}

variable "on" {
  default = true
}

output "a" {
  value = templatefile(coalesce(var.t, "../../shared/a.tpl"), {})
}

output "b" {
  value = templatefile(var.on ? "../../shared/b.tpl" : "${path.module}/b.tpl", {})
}
"#,
    );
    repo.write("stacks/direct/b.tpl", "b here\n");
    repo.write(
        "modules/ud/main.tf",
        r#"variable "kind" {
  default = "web"
}

locals {
  by_kind = {
    web    = "../../templates/web.tpl"
    worker = "../../templates/worker.tpl"
  }
  chosen = lookup(local.by_kind, var.kind, "../../templates/default.tpl")
}

output "ud" {
  value = templatefile(local.chosen, {})
}
"#,
    );
    repo.write(
        "stacks/via-module/main.tf",
        "module \"ud\" {\n  source = \"../../modules/ud\"\n}\n",
    );
    for f in ["a", "b"] {
        repo.write(&format!("shared/{f}.tpl"), &format!("{f}\n"));
    }
    for f in ["web", "worker", "default"] {
        repo.write(&format!("templates/{f}.tpl"), &format!("{f}\n"));
    }
    repo.commit("initial");
    assert_each_edit_affects(
        &repo,
        &[
            ("shared/a.tpl", &["stacks/direct"]),
            ("shared/b.tpl", &["stacks/direct"]),
            ("templates/web.tpl", &["stacks/via-module"]),
            ("templates/default.tpl", &["stacks/via-module"]),
        ],
    );
}

/// `*.tf.json` writes every expression as `"${...}"`: a local choosing among a map of paths
/// through another local (terraform-aws-eks' user data, rewritten as JSON) is followed as in
/// native syntax.
#[test]
fn a_choice_among_paths_written_in_terraform_json_is_followed() {
    let repo = workspace();
    repo.write(
        "stacks/json/main.tf.json",
        r#"{
  "variable": {"t": {"default": null}, "k": {"default": "a"}},
  "locals": {
    "m": {"a": "${path.module}/../../shared/a.tpl", "b": "${path.module}/../../shared/b.tpl"},
    "p": "${coalesce(var.t, local.m[var.k])}"
  },
  "output": {"o": {"value": "${templatefile(local.p, {})}"}}
}
"#,
    );
    repo.write("shared/a.tpl", "a\n");
    repo.write("shared/b.tpl", "b\n");
    repo.commit("initial");
    repo.write("shared/b.tpl", "b2\n");
    assert_eq!(
        repo.affected_labels(&["--base", "main"]),
        vec!["stacks/json"]
    );
}

/// `file("${abspath(path.root)}/…")` in a module reads from the calling stack's directory,
/// as `path.root` does.
#[test]
fn abspath_of_path_root_in_a_module_is_read_from_the_calling_stack() {
    let repo = workspace();
    repo.write(
        "stacks/app/main.tf",
        "module \"m\" {\n  source = \"../../modules/ab\"\n}\n",
    );
    repo.write(
        "modules/ab/main.tf",
        "locals {\n  v = file(\"${abspath(path.root)}/../../shared/ab.txt\")\n}\n",
    );
    repo.write("shared/ab.txt", "a\n");
    repo.commit("initial");
    repo.write("shared/ab.txt", "b\n");
    assert_eq!(
        repo.affected_labels(&["--base", "main"]),
        vec!["stacks/app"]
    );
}

/// A file `ignore` matches, named only as a candidate of a choice, is read all the same:
/// an input of the target that may read it.
#[test]
fn an_ignored_file_named_inside_a_choice_is_an_input() {
    let repo = Repo::new();
    repo.write(
        "WORKSPACE.toml",
        "[workspace]\nname = \"t\"\nignore = [\"**/*.md\"]\n",
    );
    repo.write(
        "stacks/c/main.tf",
        "variable \"t\" {\n  default = null\n}\n\nlocals {\n  a = templatefile(coalesce(var.t, \"${path.module}/runbook.md\"), {})\n}\n",
    );
    repo.write("stacks/c/runbook.md", "# rb\n");
    repo.write(
        "stacks/w/main.tf",
        "variable \"platform\" {\n  default = \"linux\"\n}\n\nlocals {\n  ud = file(var.platform == \"windows\" ? \"${path.module}/t/windows.md\" : \"${path.module}/t/linux.md\")\n}\n",
    );
    repo.write("stacks/w/t/linux.md", "l\n");
    repo.write("stacks/w/t/windows.md", "w\n");
    repo.write("stacks/w/README.md", "not read\n");
    repo.commit("initial");
    assert_each_edit_affects(
        &repo,
        &[
            ("stacks/c/runbook.md", &["stacks/c"]),
            ("stacks/w/t/linux.md", &["stacks/w"]),
        ],
    );
}

/// `file(var.policy_file)` and `chart = var.chart` read the variable's default unless a value
/// is given: a default that may be a path is followed.
#[test]
fn a_variable_whose_default_is_a_path_is_followed_where_it_is_read() {
    let repo = workspace();
    repo.write("charts/web/Chart.yaml", &CHART.replace("NAME", "web"));
    repo.write("charts/web/values.yaml", "replicas: 1\n");
    repo.write("shared/policy.json", "{}\n");
    repo.write(
        "stacks/app/main.tf",
        r#"variable "policy_file" {
  type    = string
  default = "../../shared/policy.json"
}

variable "chart" {
  default = "../../charts/web"
}

output "policy" {
  value = file(var.policy_file)
}

resource "helm_release" "web" {
  name  = "web"
  chart = var.chart
}
"#,
    );
    repo.commit("initial");
    assert_each_edit_affects(
        &repo,
        &[
            ("shared/policy.json", &["stacks/app"]),
            ("charts/web/values.yaml", &["charts/web", "stacks/app"]),
        ],
    );
}

/// A local holding a conditional between paths (in parentheses or not, with bare or
/// `path.module` paths) or an element of a map written in place, read by `file(local.p)`:
/// each path it may hold is an input.
#[test]
fn a_local_holding_a_conditional_or_an_inline_map_element_is_followed() {
    let repo = workspace();
    let choices = [
        (
            "cond-bare",
            r#"var.f ? "../../shared/a.tpl" : "../../shared/b.tpl""#,
        ),
        (
            "cond-paren",
            r#"(var.f != "" ? "../../shared/a.tpl" : "../../shared/b.tpl")"#,
        ),
        (
            "cond-module",
            r#"var.f ? "${path.module}/../../shared/a.tpl" : "${path.module}/../../shared/b.tpl""#,
        ),
        (
            "map-index",
            r#"{ a = "../../shared/a.tpl", b = "../../shared/b.tpl" }[var.k]"#,
        ),
    ];
    for (name, choice) in choices {
        repo.write(
            &format!("stacks/{name}/main.tf"),
            &format!("variable \"f\" {{\n  default = true\n}}\n\nvariable \"k\" {{\n  default = \"a\"\n}}\n\nlocals {{\n  p = {choice}\n}}\n\noutput \"o\" {{\n  value = file(local.p)\n}}\n"),
        );
    }
    repo.write("shared/a.tpl", "a\n");
    repo.write("shared/b.tpl", "b\n");
    repo.commit("initial");
    repo.write("shared/b.tpl", "b2\n");
    let mut expected: Vec<String> = choices.iter().map(|(n, _)| format!("stacks/{n}")).collect();
    expected.sort();
    assert_eq!(repo.affected_labels(&["--base", "main"]), expected);
}

#[test]
fn a_local_that_is_an_element_of_a_map_of_paths_is_followed() {
    let repo = workspace();
    repo.write(
        "modules/ud/main.tf",
        r#"variable "ami_type" {
  default = "A"
}

locals {
  by_type = {
    A = "${path.module}/../../templates/a.tpl"
  }
  picked = local.by_type[var.ami_type]
}

output "user_data" {
  value = templatefile(local.picked, {})
}
"#,
    );
    repo.write("templates/a.tpl", "echo a\n");
    repo.commit("initial");
    repo.append("templates/a.tpl", "\n");
    assert_eq!(
        repo.affected_labels(&["--base", "main"]),
        vec!["modules/ud"]
    );
}

/// `locals { p = var.p }` read by `file(local.p)` (or a path built on it) reads the
/// variable's default: a default that may be a path is followed through the local.
#[test]
fn a_variable_default_read_through_a_local_is_followed() {
    let repo = workspace();
    repo.write("shared/policy.json", "{}\n");
    repo.write("shared/conf/a.yaml", "a: 1\n");
    repo.write(
        "stacks/app/main.tf",
        r#"variable "policy_file" {
  default = "../../shared/policy.json"
}

variable "conf_dir" {
  default = "../../shared/conf"
}

locals {
  policy = var.policy_file
  conf   = var.conf_dir
}

output "policy" {
  value = file(local.policy)
}

output "conf" {
  value = file("${local.conf}/a.yaml")
}
"#,
    );
    repo.commit("initial");
    assert_each_edit_affects(
        &repo,
        &[
            ("shared/policy.json", &["stacks/app"]),
            ("shared/conf/a.yaml", &["stacks/app"]),
        ],
    );
}

/// A path a stack hands to a module (local or remote) in an argument is an input of the
/// stack: the module reads it (`templatefile(var.template_path, ...)`), so a change to it
/// affects the stack, and only the stacks handing it. A module target handing a path
/// relative to its own directory has it as its own input; names and paths that lead to
/// nothing give nothing.
#[test]
fn a_path_handed_to_a_module_is_an_input_of_the_caller() {
    let repo = workspace();
    repo.write("shared/templates/user-data.tpl", "#!/bin/sh\n");
    repo.write("shared/policies/a.json", "{}\n");
    repo.write("shared/policies/b.json", "{}\n");
    repo.write("shared/other.txt", "x\n");
    repo.write("shared/lambda/src/handler.py", "def handler(): pass\n");
    repo.write(
        "modules/node/main.tf",
        "variable \"template_path\" {}\n\noutput \"user_data\" {\n  value = templatefile(var.template_path, {})\n}\n",
    );
    repo.write(
        "modules/wrapper/main.tf",
        "module \"node\" {\n  source        = \"../node\"\n  template_path = \"${path.module}/../../shared/templates/user-data.tpl\"\n}\n",
    );
    repo.write(
        "stacks/app/main.tf",
        r#"module "node" {
  source        = "../../modules/node"
  template_path = "${path.module}/../../shared/templates/user-data.tpl"
  name          = "svc/app"
  output_path   = "${path.module}/build/out.zip"
}

module "lambda" {
  source      = "terraform-aws-modules/lambda/aws"
  source_path = "../../shared/lambda/src"
  policies    = ["${path.module}/../../shared/policies/a.json", "../../shared/policies/b.json"]
}
"#,
    );
    repo.write(
        "stacks/other/main.tf",
        "module \"node\" {\n  source        = \"../../modules/node\"\n  template_path = \"./local.tpl\"\n}\n",
    );
    repo.write("stacks/other/local.tpl", "x\n");
    repo.commit("initial");
    assert_each_edit_affects(
        &repo,
        &[
            (
                "shared/templates/user-data.tpl",
                &["modules/wrapper", "stacks/app"],
            ),
            ("shared/lambda/src/handler.py", &["stacks/app"]),
            ("shared/policies/a.json", &["stacks/app"]),
            ("shared/policies/b.json", &["stacks/app"]),
            ("shared/other.txt", &[]),
            ("stacks/other/local.tpl", &["stacks/other"]),
        ],
    );
}

/// `chart = local.c` where the local holds a variable (`c = var.chart`, `"${var.chart}"`) or
/// a path below it deploys the variable's default chart: an edge to it, as `chart =
/// var.chart` gives.
#[test]
fn a_chart_named_through_a_local_holding_a_variable_is_followed() {
    let repo = workspace();
    repo.write("charts/web/Chart.yaml", &CHART.replace("NAME", "web"));
    repo.write("charts/web/values.yaml", "replicas: 1\n");
    repo.write("charts/api/Chart.yaml", &CHART.replace("NAME", "api"));
    repo.write("charts/api/values.yaml", "replicas: 1\n");
    repo.write(
        "stacks/web/main.tf",
        "variable \"chart\" {\n  default = \"../../charts/web\"\n}\n\nlocals {\n  c = var.chart\n}\n\nresource \"helm_release\" \"web\" {\n  name  = \"web\"\n  chart = local.c\n}\n",
    );
    repo.write(
        "stacks/api/main.tf",
        "variable \"charts\" {\n  default = \"../../charts\"\n}\n\nlocals {\n  dir = \"${var.charts}\"\n}\n\nresource \"helm_release\" \"api\" {\n  name  = \"api\"\n  chart = \"${local.dir}/api\"\n}\n",
    );
    repo.commit("initial");
    assert_each_edit_affects(
        &repo,
        &[
            ("charts/web/values.yaml", &["charts/web", "stacks/web"]),
            ("charts/api/values.yaml", &["charts/api", "stacks/api"]),
        ],
    );
}

/// More ways of handing a module a path: below a variable's default
/// (`"${var.conf_dir}/app.yaml"`), inside a function (`abspath`, `concat`), and a directory
/// that is the workspace's root (every file is then an input).
#[test]
fn paths_handed_to_a_module_below_a_variable_inside_a_function_or_at_the_root() {
    let repo = workspace();
    repo.write("shared/conf/app.yaml", "a: 1\n");
    repo.write("shared/abs.json", "{}\n");
    repo.write("shared/list.json", "{}\n");
    repo.write("docs/readme.md", "x\n");
    repo.write(
        "stacks/var/main.tf",
        "variable \"conf_dir\" {\n  default = \"../../shared/conf\"\n}\n\nmodule \"m\" {\n  source = \"git::https://example.com/m.git\"\n  conf   = \"${var.conf_dir}/app.yaml\"\n}\n",
    );
    repo.write(
        "stacks/fn/main.tf",
        "module \"m\" {\n  source = \"git::https://example.com/m.git\"\n  abs    = abspath(\"${path.module}/../../shared/abs.json\")\n  files  = concat([\"../../shared/list.json\"], var.more)\n}\n",
    );
    repo.write(
        "stacks/root/main.tf",
        "module \"m\" {\n  source = \"git::https://example.com/m.git\"\n  repo   = \"${path.module}/../..\"\n}\n",
    );
    repo.write("shared/each.json", "{}\n");
    repo.write(
        "stacks/each/main.tf",
        "module \"m\" {\n  for_each = toset([\"../../shared/each.json\"])\n  source   = \"git::https://example.com/m.git\"\n  file     = each.value\n}\n",
    );
    repo.commit("initial");
    assert_each_edit_affects(
        &repo,
        &[
            ("shared/conf/app.yaml", &["stacks/root", "stacks/var"]),
            ("shared/abs.json", &["stacks/fn", "stacks/root"]),
            ("shared/list.json", &["stacks/fn", "stacks/root"]),
            ("docs/readme.md", &["stacks/root"]),
            ("shared/each.json", &["stacks/each", "stacks/root"]),
        ],
    );
}

/// A link inside a directory read as a whole (a `fileset`, a directory handed to a module)
/// brings in what it points to, as a target's own links do; a loop of links ends.
#[test]
fn a_link_inside_a_directory_read_as_a_whole_is_followed() {
    let repo = workspace();
    repo.write("shared/real/a.json", "{}\n");
    repo.write("vendor/lib/x.py", "x = 1\n");
    repo.write("shared/conf/plain.json", "{}\n");
    std::fs::create_dir_all(repo.path().join("shared/conf")).unwrap();
    std::os::unix::fs::symlink("../real/a.json", repo.path().join("shared/conf/a.json")).unwrap();
    std::os::unix::fs::symlink("../../vendor/lib", repo.path().join("shared/conf/lib")).unwrap();
    std::os::unix::fs::symlink("..", repo.path().join("shared/conf/up")).unwrap();
    // A loop of links: an input itself, no problem of the targets reading the directory.
    std::os::unix::fs::symlink("l2", repo.path().join("shared/conf/l1")).unwrap();
    std::os::unix::fs::symlink("l1", repo.path().join("shared/conf/l2")).unwrap();
    repo.write("stacks/other/main.tf", "output \"x\" {\n  value = 1\n}\n");
    repo.write(
        "stacks/set/main.tf",
        "output \"n\" {\n  value = length(fileset(\"${path.module}/../../shared/conf\", \"*.json\"))\n}\n",
    );
    repo.write(
        "stacks/arg/main.tf",
        "module \"m\" {\n  source = \"git::https://example.com/m.git\"\n  dir    = \"../../shared/conf\"\n}\n",
    );
    repo.commit("initial");
    assert_each_edit_affects(
        &repo,
        &[
            ("shared/real/a.json", &["stacks/arg", "stacks/set"]),
            ("vendor/lib/x.py", &["stacks/arg"]),
            ("shared/conf/plain.json", &["stacks/arg", "stacks/set"]),
            ("stacks/other/main.tf", &["stacks/other"]),
        ],
    );
}

/// `file("${path.module}/${local.rel}")` with `rel = "../../shared/a.tpl"` reads outside the
/// module's directory: the file the local names from there is an input.
#[test]
fn a_local_that_climbs_out_of_the_directory_it_is_appended_to_is_followed() {
    let repo = workspace();
    repo.write("shared/a.tpl", "a\n");
    repo.write("shared/conf/b.yaml", "b: 1\n");
    repo.write(
        "stacks/app/main.tf",
        "variable \"c\" {\n  default = \"../../shared/c.tpl\"\n}\n\nlocals {\n  rel  = \"../../shared/a.tpl\"\n  conf = \"../../shared/conf\"\n  c    = var.c\n}\n\noutput \"a\" {\n  value = file(\"${path.module}/${local.rel}\")\n}\n\noutput \"b\" {\n  value = file(\"${path.module}/${local.conf}/b.yaml\")\n}\n\noutput \"c\" {\n  value = file(\"${path.module}/${local.c}\")\n}\n",
    );
    repo.write("shared/c.tpl", "c\n");
    repo.commit("initial");
    assert_each_edit_affects(
        &repo,
        &[
            ("shared/a.tpl", &["stacks/app"]),
            ("shared/conf/b.yaml", &["stacks/app"]),
            ("shared/c.tpl", &["stacks/app"]),
        ],
    );
}

/// A path in an argument of a resource or a data source is read by its provider: the
/// source of an `archive_file` (a Lambda's code kept beside the stacks), a `local_file`, a
/// script an `external` data source runs, an object uploaded from the workspace, what a
/// `provisioner "file"` copies. Each was a silent miss. A path that names nothing in the
/// workspace (the archive terraform writes) gives nothing.
#[test]
fn paths_in_resource_and_data_arguments_are_inputs() {
    let repo = workspace();
    let stacks: &[(&str, &str)] = &[
        (
            "archive",
            "data \"archive_file\" \"fn\" {\n  type        = \"zip\"\n  source_dir  = \"${path.module}/../../src/archive\"\n  output_path = \"${path.module}/build/fn.zip\"\n}\n",
        ),
        (
            "local",
            "data \"local_file\" \"cfg\" {\n  filename = \"${path.module}/../../src/local/cfg.json\"\n}\n",
        ),
        (
            "external",
            "data \"external\" \"x\" {\n  program = [\"python3\", \"${path.module}/../../src/external/run.py\"]\n}\n",
        ),
        (
            "object",
            "resource \"aws_s3_object\" \"o\" {\n  bucket = \"b\"\n  key    = \"k\"\n  source = \"../../src/object/index.html\"\n}\n",
        ),
        (
            "provisioner",
            "resource \"null_resource\" \"n\" {\n  provisioner \"file\" {\n    source      = \"${path.module}/../../src/provisioner\"\n    destination = \"/etc/app\"\n  }\n}\n",
        ),
        // The list-of-objects form of a packaging module's source, below a local.
        (
            "packaged",
            "locals {\n  src = \"${path.module}/../../src\"\n}\n\nmodule \"fn\" {\n  source      = \"terraform-aws-modules/lambda/aws\"\n  source_path = [{ path = \"${local.src}/packaged\", pip_requirements = true }]\n}\n",
        ),
        // A glob of manifests.
        (
            "manifests",
            "data \"kubectl_path_documents\" \"m\" {\n  pattern = \"${path.module}/../../src/manifests/*.yaml\"\n}\n",
        ),
        // A provider's own file.
        (
            "kubeconfig",
            "provider \"kubernetes\" {\n  config_path = \"../../src/kubeconfig/config\"\n}\n",
        ),
        // A local or a variable on its own, in an argument named as one holding a path.
        (
            "bare",
            "locals {\n  src = \"${path.module}/../../src/bare\"\n}\n\ndata \"archive_file\" \"fn\" {\n  type        = \"zip\"\n  source_dir  = local.src\n  output_path = \"${path.module}/fn.zip\"\n}\n",
        ),
        (
            "barevar",
            "variable \"src\" {\n  default = \"../../src/barevar\"\n}\n\ndata \"archive_file\" \"fn\" {\n  type        = \"zip\"\n  source_dir  = \"${var.src}\"\n  output_path = \"fn.zip\"\n}\n",
        ),
        (
            "handedbare",
            "locals {\n  policy = \"${path.module}/../../src/handedbare/policy.json\"\n}\n\nmodule \"m\" {\n  source      = \"terraform-aws-modules/iam/aws\"\n  policy_file = local.policy\n  name        = local.policy\n}\n",
        ),
        // `format` with the climb in a later, literal argument.
        (
            "format",
            "output \"a\" {\n  value = file(format(\"%s/%s\", path.module, \"../../src/format/a.tpl\"))\n}\n",
        ),
    ];
    for (name, text) in stacks {
        repo.write(&format!("stacks/{name}/main.tf"), text);
    }
    repo.write(
        "src/archive/handler.py",
        "def handler(e, c):\n    return 1\n",
    );
    repo.write("src/local/cfg.json", "{}\n");
    repo.write("src/external/run.py", "print('{}')\n");
    repo.write("src/object/index.html", "<p>hi</p>\n");
    repo.write("src/provisioner/app.conf", "a = 1\n");
    repo.write("src/packaged/index.py", "x = 1\n");
    repo.write("src/manifests/a.yaml", "kind: ConfigMap\n");
    repo.write("src/kubeconfig/config", "apiVersion: v1\n");
    repo.write("src/format/a.tpl", "a\n");
    repo.write("src/bare/h.py", "x = 1\n");
    repo.write("src/barevar/h.py", "x = 1\n");
    repo.write("src/handedbare/policy.json", "{}\n");
    repo.commit("initial");
    assert_each_edit_affects(
        &repo,
        &[
            ("src/archive/handler.py", &["stacks/archive"]),
            ("src/local/cfg.json", &["stacks/local"]),
            ("src/external/run.py", &["stacks/external"]),
            ("src/object/index.html", &["stacks/object"]),
            ("src/provisioner/app.conf", &["stacks/provisioner"]),
            ("src/packaged/index.py", &["stacks/packaged"]),
            ("src/manifests/a.yaml", &["stacks/manifests"]),
            ("src/kubeconfig/config", &["stacks/kubeconfig"]),
            ("src/format/a.tpl", &["stacks/format"]),
            ("src/bare/h.py", &["stacks/bare"]),
            ("src/barevar/h.py", &["stacks/barevar"]),
            ("src/handedbare/policy.json", &["stacks/handedbare"]),
        ],
    );
}

/// `ephemeral` blocks and the `data` blocks of a `check` hand paths to providers as
/// `resource` and `data` blocks do, in native and JSON syntax. Each was a silent miss.
#[test]
fn paths_in_ephemeral_blocks_and_checks_are_inputs() {
    let repo = workspace();
    repo.write(
        "stacks/ephemeral/main.tf",
        "ephemeral \"local_file\" \"key\" {\n  filename = \"${path.module}/../../src/ephemeral/key.pem\"\n}\n",
    );
    repo.write(
        "stacks/check/main.tf",
        "check \"health\" {\n  data \"local_file\" \"expected\" {\n    filename = \"../../src/check/expected.json\"\n  }\n\n  assert {\n    condition     = true\n    error_message = \"x\"\n  }\n}\n",
    );
    repo.write(
        "stacks/checkjson/main.tf.json",
        "{\"check\": {\"health\": {\"data\": {\"local_file\": {\"expected\": {\"filename\": \"../../src/checkjson/expected.json\"}}}}}}\n",
    );
    repo.write(
        "stacks/ephemeraljson/main.tf.json",
        "{\"ephemeral\": {\"local_file\": {\"key\": {\"filename\": \"${path.module}/../../src/ephemeraljson/key.pem\"}}}}\n",
    );
    for name in ["ephemeral", "ephemeraljson"] {
        repo.write(&format!("src/{name}/key.pem"), "key\n");
    }
    for name in ["check", "checkjson"] {
        repo.write(&format!("src/{name}/expected.json"), "{}\n");
    }
    repo.commit("initial");
    assert_each_edit_affects(
        &repo,
        &[
            ("src/ephemeral/key.pem", &["stacks/ephemeral"]),
            ("src/ephemeraljson/key.pem", &["stacks/ephemeraljson"]),
            ("src/check/expected.json", &["stacks/check"]),
            ("src/checkjson/expected.json", &["stacks/checkjson"]),
        ],
    );
}

/// A template that `templatefile` renders may call file functions itself; their paths are
/// relative to the working directory, the stack's: what they read is an input of the
/// stack. A read whose whole path comes from the template's variables is "not tracked", named at the
/// template's line, and so is any read of a template a module renders (its callers' working
/// directories are not its own). Each was a silent miss.
#[test]
fn the_files_a_template_reads_are_inputs() {
    let repo = workspace();
    repo.write(
        "stacks/app/main.tf",
        "output \"user_data\" {\n  value = templatefile(\"${path.module}/../../shared/user-data.tpl\", { name = \"a\" })\n}\n",
    );
    repo.write(
        "shared/user-data.tpl",
        "#!/bin/sh\n${file(\"../../shared/scripts/setup.sh\")}\n%{ for f in fileset(\"../../shared/conf\", \"*.conf\") ~}\n${f}\n%{ endfor ~}\n${file(name)}\n",
    );
    repo.write("shared/scripts/setup.sh", "echo setup\n");
    repo.write("shared/conf/a.conf", "a = 1\n");
    repo.write("shared/other.txt", "not read\n");
    repo.write(
        "modules/m/main.tf",
        "output \"x\" {\n  value = templatefile(\"${path.module}/x.tpl\", {})\n}\n",
    );
    repo.write("modules/m/x.tpl", "${file(\"data.json\")}\n");
    // A template chosen at run time: what each template it may be reads, and a file beside
    // them that is no template (nor anything terraform could render) is only an input.
    repo.write(
        "stacks/chosen/main.tf",
        "variable \"os\" {}\n\noutput \"user_data\" {\n  value = templatefile(\"${path.module}/../../templates/boot-${var.os}.tpl\", {})\n}\n",
    );
    repo.write(
        "templates/boot-linux.tpl",
        "${file(\"../../shared/scripts/linux.sh\")}\n",
    );
    repo.write("templates/boot-windows.tpl", "plain\n");
    repo.write(
        "templates/other.tpl",
        "${file(\"../../shared/other.sh\")}\n",
    );
    repo.write("templates/boot-broken.tpl", "${file(\n");
    repo.write("shared/scripts/linux.sh", "echo linux\n");
    repo.write("shared/other.sh", "echo other\n");
    repo.commit("initial");
    assert_each_edit_affects(
        &repo,
        &[
            ("shared/scripts/setup.sh", &["stacks/app"]),
            ("shared/conf/a.conf", &["stacks/app"]),
            ("shared/scripts/linux.sh", &["stacks/chosen"]),
            ("templates/boot-windows.tpl", &["stacks/chosen"]),
            ("shared/other.sh", &[]),
        ],
    );
    let explain = repo.strata(&["hash", "--explain", "stacks/chosen"]);
    explain.assert_ok();
    assert!(
        !explain.stdout.contains("not tracked"),
        "{}",
        explain.stdout
    );
    let explain = repo.strata(&["hash", "--explain", "stacks/app"]);
    explain.assert_ok();
    assert!(
        explain
            .stdout
            .contains("not tracked (paths computed at run time):\n    shared/user-data.tpl:6"),
        "{}",
        explain.stdout
    );
    let explain = repo.strata(&["hash", "--explain", "modules/m"]);
    explain.assert_ok();
    assert!(
        explain
            .stdout
            .contains("not tracked (paths computed at run time):\n    modules/m/x.tpl:1"),
        "{}",
        explain.stdout
    );
}

/// A kustomization a stack builds (`data "kustomization_build"`, an overlay's directory)
/// builds from the bases, components and patches it names, which may lie anywhere: each is
/// an input of the stack, through any depth of overlays. A remote base names nothing in the
/// workspace. Each was a silent miss.
#[test]
fn the_bases_of_a_kustomization_a_stack_builds_are_inputs() {
    let repo = workspace();
    repo.write(
        "stacks/app/main.tf",
        "data \"kustomization_build\" \"k\" {\n  path = \"${path.module}/../../k8s/overlays/prod\"\n}\n",
    );
    repo.write(
        "k8s/overlays/prod/kustomization.yaml",
        "resources:\n  - ../../base\n  - github.com/org/repo//deploy?ref=v1\ncomponents:\n  - ../../components/monitoring\npatches:\n  - path: ../../patches/replicas.yaml\n",
    );
    repo.write(
        "k8s/base/kustomization.yaml",
        "resources:\n  - deployment.yaml\nconfigMapGenerator:\n  - name: app\n    files: [conf=../config/app.conf]\n",
    );
    repo.write("k8s/base/deployment.yaml", "kind: Deployment\n");
    repo.write("k8s/config/app.conf", "a = 1\n");
    repo.write(
        "k8s/components/monitoring/kustomization.yaml",
        "kind: Component\n",
    );
    repo.write(
        "k8s/components/monitoring/sm.yaml",
        "kind: ServiceMonitor\n",
    );
    repo.write("k8s/patches/replicas.yaml", "spec: {}\n");
    repo.write("k8s/unused/deployment.yaml", "kind: Deployment\n");
    // An overlay chosen at run time: every overlay, and what each builds from.
    repo.write(
        "stacks/chosen/main.tf",
        "variable \"env\" {}\n\ndata \"kustomization_build\" \"k\" {\n  path = \"${path.module}/../../k8s/overlays/${var.env}\"\n}\n",
    );
    // Kustomizations that name each other: each is read once.
    for (name, others) in [("a", ["b", "c"]), ("b", ["a", "c"]), ("c", ["a", "b"])] {
        repo.write(
            &format!("cycle/{name}/kustomization.yaml"),
            &format!(
                "resources:\n  - ../{}\n  - ../{}\n  - {name}.yaml\n",
                others[0], others[1]
            ),
        );
        repo.write(&format!("cycle/{name}/{name}.yaml"), "kind: ConfigMap\n");
    }
    repo.write(
        "stacks/cycle/main.tf",
        "data \"kustomization_build\" \"k\" {\n  path = \"${path.module}/../../cycle/a\"\n}\n",
    );
    // Helm charts kustomize inflates: the values files, and the chart in the default chart
    // home (`charts/`).
    repo.write(
        "stacks/inflate/main.tf",
        "data \"kustomization_build\" \"k\" {\n  path = \"${path.module}/../../inflate/prod\"\n}\n",
    );
    repo.write(
        "inflate/prod/kustomization.yaml",
        "helmCharts:\n  - name: web\n    releaseName: web\n    valuesFile: values-prod.yaml\n    additionalValuesFiles: [../common/values.yaml]\n",
    );
    repo.write("inflate/prod/values-prod.yaml", "replicas: 3\n");
    repo.write("inflate/common/values.yaml", "image: web\n");
    repo.write(
        "inflate/prod/charts/web/templates/deployment.yaml",
        "kind: Deployment\n",
    );
    repo.commit("initial");
    assert_each_edit_affects(
        &repo,
        &[
            ("k8s/base/deployment.yaml", &["stacks/app", "stacks/chosen"]),
            ("k8s/config/app.conf", &["stacks/app", "stacks/chosen"]),
            (
                "k8s/components/monitoring/sm.yaml",
                &["stacks/app", "stacks/chosen"],
            ),
            (
                "k8s/patches/replicas.yaml",
                &["stacks/app", "stacks/chosen"],
            ),
            ("k8s/unused/deployment.yaml", &[]),
            ("cycle/c/c.yaml", &["stacks/cycle"]),
            ("inflate/prod/values-prod.yaml", &["stacks/inflate"]),
            ("inflate/common/values.yaml", &["stacks/inflate"]),
            (
                "inflate/prod/charts/web/templates/deployment.yaml",
                &["stacks/inflate"],
            ),
        ],
    );
}

/// A `helm_template` data source renders a chart as a `helm_release` installs it: a local
/// chart it names is a dependency, so a chart that chart depends on affects the stack.
#[test]
fn a_chart_a_helm_template_renders_is_a_dependency() {
    let repo = workspace();
    repo.write(
        "stacks/app/main.tf",
        "data \"helm_template\" \"x\" {\n  name  = \"x\"\n  chart = \"../../charts/x\"\n}\n",
    );
    repo.write(
        "charts/x/Chart.yaml",
        "apiVersion: v2\nname: x\nversion: 0.1.0\ndependencies:\n  - name: common\n    version: 0.1.0\n    repository: file://../common\n",
    );
    repo.write(
        "charts/common/Chart.yaml",
        "apiVersion: v2\nname: common\nversion: 0.1.0\n",
    );
    repo.write(
        "charts/common/templates/_h.tpl",
        "{{- define \"c\" }}c{{ end }}\n",
    );
    repo.commit("initial");
    assert_each_edit_affects(
        &repo,
        &[(
            "charts/common/templates/_h.tpl",
            &["charts/common", "charts/x", "stacks/app"],
        )],
    );
}

/// A path whose computed part after the directory is an element of a local or a variable
/// (`${local.files[count.index]}`, `${var.files[0]}`, `${lookup(local.m, "k")}`), a `for`
/// expression's name or `each.value` of a `for_each` over a local, or a `format` argument,
/// may climb out of that directory: each relative path a local or a variable's default of
/// the module holds is an input, in a file function and handed to a module alike. Each was
/// a silent miss (no input, nothing "not tracked").
#[test]
fn an_element_of_a_local_appended_to_a_directory_is_followed() {
    let repo = workspace();
    let stacks: &[(&str, &str)] = &[
        (
            "count",
            "locals {\n  files = [\"../../shared/count/x.tpl\"]\n}\n\noutput \"a\" {\n  count = 1\n  value = file(\"${path.module}/${local.files[count.index]}\")\n}\n",
        ),
        (
            "for",
            "locals {\n  cfg = {\n    files = [\"../../shared/for/x.tpl\"]\n  }\n}\n\noutput \"a\" {\n  value = [for f in local.cfg.files : file(\"${path.module}/${f}\")]\n}\n",
        ),
        (
            "index",
            "variable \"files\" {\n  default = [\"../../shared/index/x.tpl\"]\n}\n\noutput \"a\" {\n  value = file(\"${path.module}/${var.files[0]}\")\n}\n",
        ),
        (
            "lookup",
            "locals {\n  m = { a = \"../../shared/lookup/x.tpl\" }\n}\n\noutput \"a\" {\n  value = file(\"${path.module}/${lookup(local.m, \"a\")}\")\n}\n",
        ),
        (
            "each",
            "locals {\n  m = { a = \"../../shared/each/x.tpl\" }\n}\n\nresource \"local_file\" \"a\" {\n  for_each = local.m\n  content  = file(\"${path.module}/${each.value}\")\n  filename = \"out\"\n}\n",
        ),
        (
            "format",
            "locals {\n  dir = \"../../shared/format\"\n}\n\noutput \"a\" {\n  value = file(format(\"%s/%s/x.tpl\", path.module, local.dir))\n}\n",
        ),
        (
            "handed",
            "locals {\n  files = [\"../../shared/handed/x.tpl\"]\n}\n\nmodule \"m\" {\n  source = \"../../modules/m\"\n  tpl    = \"${path.module}/${local.files[0]}\"\n}\n",
        ),
    ];
    for (name, text) in stacks {
        repo.write(&format!("stacks/{name}/main.tf"), text);
        repo.write(&format!("shared/{name}/x.tpl"), "x\n");
    }
    repo.write(
        "modules/m/main.tf",
        "variable \"tpl\" {}\n\noutput \"a\" {\n  value = file(var.tpl)\n}\n",
    );
    repo.commit("initial");
    let cases: Vec<(String, Vec<String>)> = stacks
        .iter()
        .map(|(name, _)| {
            (
                format!("shared/{name}/x.tpl"),
                vec![format!("stacks/{name}")],
            )
        })
        .collect();
    for (file, expected) in &cases {
        let expected: Vec<&str> = expected.iter().map(String::as_str).collect();
        assert_each_edit_affects(&repo, &[(file.as_str(), expected.as_slice())]);
    }
}

/// `file("${path.module}/${var.p}")` with a default `"../../shared/a.tpl"` reads outside the
/// module's directory: the file the default names from there is an input (as it is through
/// a local).
#[test]
fn a_variable_that_climbs_out_of_the_directory_it_is_appended_to_is_followed() {
    let repo = workspace();
    repo.write("shared/a.tpl", "a\n");
    repo.write(
        "stacks/app/main.tf",
        "variable \"p\" {\n  default = \"../../shared/a.tpl\"\n}\n\noutput \"a\" {\n  value = file(\"${path.module}/${var.p}\")\n}\n",
    );
    repo.write("stacks/other/main.tf", "output \"o\" {\n  value = 1\n}\n");
    repo.commit("initial");
    assert_each_edit_affects(&repo, &[("shared/a.tpl", &["stacks/app"])]);
}

/// A path built by `format` (`format("%s/../../shared/b.tpl", path.module)`) in a file
/// function, handed to a module or held by a local is read as the template it stands for.
#[test]
fn a_path_built_by_format_is_followed() {
    let repo = workspace();
    repo.write("shared/b.tpl", "b\n");
    repo.write("shared/c.tpl", "c\n");
    repo.write("shared/conf/d.json", "{}\n");
    repo.write("shared/e/e.tpl", "e\n");
    repo.write(
        "stacks/local/main.tf",
        "locals {\n  p = format(\"%s/../../shared/e\", path.module)\n}\n\noutput \"e\" {\n  value = file(\"${local.p}/e.tpl\")\n}\n",
    );
    repo.write(
        "modules/m/main.tf",
        "variable \"p\" {}\n\noutput \"o\" {\n  value = file(var.p)\n}\n",
    );
    repo.write(
        "stacks/read/main.tf",
        "output \"b\" {\n  value = file(format(\"%s/../../shared/b.tpl\", path.module))\n}\n\noutput \"d\" {\n  value = file(format(\"%s/../../shared/conf/%s.json\", path.module, \"d\"))\n}\n",
    );
    repo.write(
        "stacks/hand/main.tf",
        "module \"m\" {\n  source = \"../../modules/m\"\n  p      = format(\"%s/../../shared/c.tpl\", path.module)\n}\n",
    );
    repo.commit("initial");
    assert_each_edit_affects(
        &repo,
        &[
            ("shared/b.tpl", &["stacks/read"]),
            ("shared/conf/d.json", &["stacks/read"]),
            ("shared/c.tpl", &["stacks/hand"]),
            ("shared/e/e.tpl", &["stacks/local"]),
        ],
    );
}

/// An element of a local handed to a module, through `for_each` (`toset(local.cfg.files)`)
/// or in an argument named as a path (`policy_file = local.files[count.index]`), may be any
/// path the local holds. Each was a miss (warned about, since the module's own read is not
/// tracked, but the stack was not affected).
#[test]
fn an_element_of_a_local_handed_to_a_module_is_followed() {
    let repo = workspace();
    repo.write(
        "modules/m/main.tf",
        "variable \"policy_file\" {}\n\noutput \"x\" {\n  value = file(var.policy_file)\n}\n",
    );
    repo.write(
        "stacks/iterated/main.tf",
        "locals {\n  cfg = { files = [\"../../shared/iterated.json\"] }\n}\n\nmodule \"m\" {\n  source      = \"../../modules/m\"\n  for_each    = toset(local.cfg.files)\n  policy_file = each.value\n}\n",
    );
    repo.write(
        "stacks/counted/main.tf",
        "locals {\n  files = [\"../../shared/counted-a.json\", \"../../shared/counted-b.json\"]\n}\n\nmodule \"m\" {\n  source      = \"../../modules/m\"\n  count       = 2\n  policy_file = local.files[count.index]\n}\n",
    );
    for name in ["iterated", "counted-a", "counted-b"] {
        repo.write(&format!("shared/{name}.json"), "{}\n");
    }
    repo.commit("initial");
    assert_each_edit_affects(
        &repo,
        &[
            ("shared/iterated.json", &["stacks/iterated"]),
            ("shared/counted-a.json", &["stacks/counted"]),
            ("shared/counted-b.json", &["stacks/counted"]),
        ],
    );
}

/// A run reuses the model of the committed files when the work tree's edits keep it; an
/// uncommitted edit of a file read because of how it is used (a template, a decoded
/// configuration) that changes what it reads does not keep it: the new reads are inputs,
/// and a later edit of what they read changes the stack's hash (the key of its cached
/// results). Before, the saved model was reused and the new reads were not inputs.
#[test]
fn an_uncommitted_edit_that_changes_what_a_template_reads_changes_the_inputs() {
    let repo = workspace();
    repo.write(
        "stacks/app/main.tf",
        "locals {\n  cfg = yamldecode(file(\"${path.module}/config.yaml\"))\n}\n\noutput \"boot\" {\n  value = templatefile(\"${path.module}/boot.tpl\", {})\n}\n\noutput \"chosen\" {\n  value = file(\"${path.module}/${local.cfg.file}\")\n}\n",
    );
    repo.write("stacks/app/boot.tpl", "plain\n");
    repo.write("stacks/app/config.yaml", "file: ../../shared/a.txt\n");
    repo.write("shared/a.txt", "a\n");
    repo.write("shared/b.txt", "b\n");
    repo.write("shared/x.txt", "x\n");
    repo.commit("initial");
    let inputs = || {
        let explain = repo.strata(&["hash", "--explain", "stacks/app"]);
        explain.assert_ok();
        explain.stdout
    };
    let hash = || {
        let run = repo.strata(&["--json", "hash", "stacks/app"]);
        run.assert_ok();
        run.stdout
    };
    // The committed model, saved.
    assert!(!inputs().contains("shared/x.txt"));
    repo.write("stacks/app/boot.tpl", "${file(\"../../shared/x.txt\")}\n");
    repo.write("stacks/app/config.yaml", "file: ../../shared/b.txt\n");
    let now = inputs();
    assert!(now.contains("shared/x.txt"), "{now}");
    assert!(now.contains("shared/b.txt"), "{now}");
    for read in ["shared/x.txt", "shared/b.txt"] {
        let before = hash();
        repo.append(read, "edited\n");
        assert_ne!(hash(), before, "an edit of {read} changes the hash");
    }
}

/// A local set to a decoded configuration file (`yamldecode(file(...))`) may hold each
/// relative path written in it: a template it names, appended to the stack's directory,
/// is an input even where it climbs out. Before, a silent miss.
#[test]
fn a_path_written_in_a_decoded_configuration_file_is_followed() {
    let repo = workspace();
    repo.write(
        "stacks/app/main.tf",
        "locals {\n  cfg = yamldecode(file(\"${path.module}/config.yaml\"))\n  raw = jsondecode(file(\"${path.module}/raw.json\"))\n}\n\noutput \"boot\" {\n  value = templatefile(\"${path.module}/${local.cfg.template}\", {})\n}\n\noutput \"policy\" {\n  value = file(\"${path.module}/${local.raw.policies[0]}\")\n}\n",
    );
    repo.write(
        "stacks/app/config.yaml",
        "name: app\ntemplate: ../../shared/boot.tpl\n",
    );
    repo.write(
        "stacks/app/raw.json",
        "{\"policies\": [\"../../shared/policy.json\"]}\n",
    );
    repo.write("shared/boot.tpl", "#!/bin/sh\n");
    repo.write("shared/policy.json", "{}\n");
    repo.write("shared/other.txt", "not read\n");
    repo.commit("initial");
    assert_each_edit_affects(
        &repo,
        &[
            ("shared/boot.tpl", &["stacks/app"]),
            ("shared/policy.json", &["stacks/app"]),
            ("shared/other.txt", &[]),
        ],
    );
}

/// Files decoded in other ways than a local set to `yamldecode(file(P))`: a rendered
/// template, a decoding wrapped in `try` or `merge`, another local's file, one file per
/// `for` element, and in JSON syntax. Each path written in them may be what the local holds.
#[test]
fn paths_written_in_files_decoded_in_any_form_are_followed() {
    let repo = workspace();
    let read = "output \"boot\" {\n  value = templatefile(\"${path.module}/${local.cfg.template}\", {})\n}\n";
    repo.write(
        "stacks/tpl/main.tf",
        &format!("locals {{\n  cfg = yamldecode(templatefile(\"${{path.module}}/cfg.yaml.tpl\", {{ env = \"dev\" }}))\n}}\n\n{read}"),
    );
    repo.write(
        "stacks/tpl/cfg.yaml.tpl",
        "%{ for x in [1] ~}\nn: ${x}\n%{ endfor ~}\ntemplate: ../../shared/tpl.tpl\n",
    );
    repo.write(
        "stacks/wrapped/main.tf",
        &format!("locals {{\n  cfg = merge({{ template = \"x\" }}, try(yamldecode(file(\"${{path.module}}/cfg.yaml\")), {{}}))\n}}\n\n{read}"),
    );
    repo.write(
        "stacks/wrapped/cfg.yaml",
        "template: ../../shared/wrapped.tpl\n",
    );
    repo.write(
        "stacks/via/main.tf",
        &format!("locals {{\n  cfg = yamldecode(local.raw)\n}}\n\n{read}"),
    );
    // The file's text is read into a local of another file of the module.
    repo.write(
        "stacks/via/raw.tf",
        "locals {\n  raw = file(\"${path.module}/cfg.yaml\")\n}\n",
    );
    repo.write("stacks/via/cfg.yaml", "template: ../../shared/via.tpl\n");
    repo.write(
        "stacks/each/main.tf",
        "locals {\n  cfgs = [for f in fileset(path.module, \"conf/*.yaml\") : yamldecode(file(\"${path.module}/${f}\"))]\n}\n\noutput \"all\" {\n  value = [for c in local.cfgs : file(\"${path.module}/${c.policy}\")]\n}\n",
    );
    repo.write(
        "stacks/each/conf/a.yaml",
        "policy: ../../shared/each.json\n",
    );
    repo.write(
        "stacks/json/main.tf.json",
        "{\"locals\": {\"cfg\": \"${jsondecode(file(\\\"${path.module}/cfg.json\\\"))}\"},\n \"output\": {\"boot\": {\"value\": \"${templatefile(\\\"${path.module}/${local.cfg.template}\\\", {})}\"}}}\n",
    );
    repo.write(
        "stacks/json/cfg.json",
        "{\"template\": \"../../shared/json.tpl\"}\n",
    );
    // Named through a path local of another file of the module.
    repo.write(
        "stacks/named/main.tf",
        &format!("locals {{\n  cfg = yamldecode(file(\"${{local.conf}}/app.yaml\"))\n}}\n\n{read}"),
    );
    repo.write(
        "stacks/named/locals.tf",
        "locals {\n  conf = \"${path.module}/conf\"\n}\n",
    );
    repo.write(
        "stacks/named/conf/app.yaml",
        "template: ../../shared/named.tpl\n",
    );
    for f in [
        "named.tpl",
        "tpl.tpl",
        "wrapped.tpl",
        "via.tpl",
        "each.json",
        "json.tpl",
        "other.txt",
    ] {
        repo.write(&format!("shared/{f}"), "x\n");
    }
    repo.commit("initial");
    assert_each_edit_affects(
        &repo,
        &[
            ("shared/tpl.tpl", &["stacks/tpl"]),
            ("shared/wrapped.tpl", &["stacks/wrapped"]),
            ("shared/via.tpl", &["stacks/via"]),
            ("shared/each.json", &["stacks/each"]),
            ("shared/json.tpl", &["stacks/json"]),
            ("shared/named.tpl", &["stacks/named"]),
            ("shared/other.txt", &[]),
        ],
    );
}

/// A path built by `join` is read as the template it stands for, and the scripts a
/// `local-exec` command line names (`bash ${path.module}/../../shared/run.sh`) are inputs.
#[test]
fn joined_paths_and_scripts_in_command_lines_are_inputs() {
    let repo = workspace();
    repo.write(
        "stacks/join/main.tf",
        "output \"o\" {\n  value = file(join(\"/\", [path.module, \"..\", \"..\", \"shared\", \"joined.json\"]))\n}\n",
    );
    repo.write(
        "stacks/exec/main.tf",
        "resource \"null_resource\" \"r\" {\n  provisioner \"local-exec\" {\n    command = \"cd ${path.module}/.. && bash ${path.module}/../../shared/run.sh --config=${path.module}/../../shared/conf.yaml\"\n  }\n}\n",
    );
    for f in ["joined.json", "run.sh", "conf.yaml", "other.txt"] {
        repo.write(&format!("shared/{f}"), "x\n");
    }
    repo.write("stacks/sibling/main.tf", "output \"o\" {\n  value = 1\n}\n");
    repo.commit("initial");
    assert_each_edit_affects(
        &repo,
        &[
            ("shared/joined.json", &["stacks/join"]),
            ("shared/run.sh", &["stacks/exec"]),
            ("shared/conf.yaml", &["stacks/exec"]),
            // `cd ${path.module}/..` names where the command runs, not what it reads.
            ("stacks/sibling/main.tf", &["stacks/sibling"]),
            ("shared/other.txt", &[]),
        ],
    );
}

/// A decoded file read because its name is computed keeps only the words written as
/// relative paths in the fact cache: a password beside them, in YAML or in a file that
/// does not parse, is in no file strata writes, while the path it names is followed.
#[test]
fn what_a_decoded_file_holds_beside_its_paths_is_kept_nowhere() {
    const SECRET: &str = "pw-9f2c61d0-plaintext";
    let repo = workspace();
    repo.write(
        "stacks/app/main.tf",
        "variable \"env\" {\n  default = \"dev\"\n}\n\nlocals {\n  cfg = yamldecode(file(\"${path.module}/conf/${var.env}.yaml\"))\n}\n\noutput \"boot\" {\n  value = templatefile(\"${path.module}/${local.cfg.template}\", {})\n}\n",
    );
    repo.write(
        "stacks/app/conf/dev.yaml",
        &format!("template: ../../shared/boot.tpl\ndb_password: {SECRET}\n"),
    );
    // Not YAML as written: its words written as relative paths are kept, nothing else.
    repo.write(
        "stacks/app/conf/prod.yaml",
        &format!("%{{ if true }}\npassword: \"{SECRET}\" {{ [\ntemplate: ../../shared/prod.tpl\n"),
    );
    repo.write("shared/boot.tpl", "boot\n");
    repo.write("shared/prod.tpl", "prod\n");
    repo.commit("initial");
    assert_each_edit_affects(
        &repo,
        &[
            ("shared/boot.tpl", &["stacks/app"]),
            ("shared/prod.tpl", &["stacks/app"]),
        ],
    );
    for args in [&["list"][..], &["hash", "stacks/app", "--explain"]] {
        let run: common::Run = repo.command(args).output().unwrap().into();
        assert!(!run.stdout.contains(SECRET), "{args:?}: {}", run.stdout);
        assert!(!run.stderr.contains(SECRET), "{args:?}: {}", run.stderr);
    }
    // The fact cache, the index and every other file strata wrote. The words kept from the
    // file that does not parse are there, so the cache is where it is looked for.
    let kept =
        common::files_containing(&repo.path().join(".strata"), b"../../shared/prod.tpl", &[]);
    assert!(!kept.is_empty(), "no fact cache under .strata");
    let found = common::files_containing(&repo.path().join(".strata"), SECRET.as_bytes(), &[]);
    assert!(found.is_empty(), "the password is in {found:?}");
}

/// A Terragrunt unit that is a stack (it holds Terraform files of its own): its
/// `dependency` blocks are edges (or, on a unit strata does not model, make that unit's
/// files inputs), the configurations it includes and reads through
/// `find_in_parent_folders` are inputs (also those an included file reads that way, from the
/// unit's directory), and a local `terraform { source }` is a module call.
#[test]
fn a_terragrunt_unit_depends_on_what_its_configuration_names() {
    let repo = Repo::new();
    repo.write(
        "WORKSPACE.toml",
        "[workspace]\nname = \"t\"\n\n[layout]\nstacks = [\"live/*/*\"]\nmodules = [\"modules/*\"]\n",
    );
    repo.write(
        "live/root.hcl",
        "locals {\n  region = read_terragrunt_config(find_in_parent_folders(\"region.hcl\"))\n}\n",
    );
    repo.write(
        "live/dev/region.hcl",
        "locals {\n  region = \"eu-west-1\"\n}\n",
    );
    repo.write(
        "live/prod/region.hcl",
        "locals {\n  region = \"us-east-1\"\n}\n",
    );
    repo.write(
        "modules/vpc/main.tf",
        "output \"id\" {\n  value = \"vpc\"\n}\n",
    );
    let include = "include \"root\" {\n  path = find_in_parent_folders(\"root.hcl\")\n}\n";
    for env in ["dev", "prod"] {
        repo.write(
            &format!("live/{env}/vpc/terragrunt.hcl"),
            &format!("{include}\nterraform {{\n  source = \"../../../modules//vpc\"\n}}\n"),
        );
        repo.write(
            &format!("live/{env}/vpc/main.tf"),
            "variable \"x\" {\n  default = 1\n}\n",
        );
        repo.write(
            &format!("live/{env}/app/terragrunt.hcl"),
            &format!("{include}\ninclude \"envcommon\" {{\n  path = \"${{dirname(find_in_parent_folders(\"root.hcl\"))}}/_envcommon/app.hcl\"\n}}\n\ndependencies {{\n  paths = [\"../dns\"]\n}}\n\ninputs = {{\n  policy = file(\"../../shared/policy.json\")\n}}\n"),
        );
        repo.write(
            &format!("live/{env}/app/main.tf"),
            "variable \"vpc_id\" {}\n",
        );
        // A unit without Terraform files of its own: not a target.
        repo.write(
            &format!("live/{env}/dns/terragrunt.hcl"),
            "terraform {\n  source = \"git::https://example.com/dns.git\"\n}\n",
        );
    }
    repo.write("live/shared/policy.json", "{}\n");
    // Beside the root configuration, found from the unit (Terragrunt's usual layout).
    // It declares the units' dependency on their environment's vpc, from each unit's own
    // directory.
    repo.write(
        "live/_envcommon/app.hcl",
        "locals {\n  name = \"app\"\n}\n\ndependency \"vpc\" {\n  config_path = \"${get_terragrunt_dir()}/../vpc\"\n}\n",
    );
    repo.commit("initial");
    list_without_warnings(&repo);
    assert_each_edit_affects(
        &repo,
        &[
            (
                "modules/vpc/main.tf",
                &[
                    "live/dev/app",
                    "live/dev/vpc",
                    "live/prod/app",
                    "live/prod/vpc",
                    "modules/vpc",
                ],
            ),
            ("live/dev/vpc/main.tf", &["live/dev/app", "live/dev/vpc"]),
            ("live/dev/dns/terragrunt.hcl", &["live/dev/app"]),
            ("live/dev/region.hcl", &["live/dev/app", "live/dev/vpc"]),
            (
                "live/root.hcl",
                &[
                    "live/dev/app",
                    "live/dev/vpc",
                    "live/prod/app",
                    "live/prod/vpc",
                ],
            ),
            (
                "live/shared/policy.json",
                &["live/dev/app", "live/prod/app"],
            ),
            (
                "live/_envcommon/app.hcl",
                &["live/dev/app", "live/prod/app"],
            ),
        ],
    );
}

/// A stack that depends on a Terragrunt unit strata does not model (no Terraform files of
/// its own) depends on what that unit depends on and reads: Terragrunt applies the unit,
/// with its module source, includes and dependencies, before the stack reads its outputs.
/// Followed through a chain of such units, and without looping on a cycle between them.
#[test]
fn a_stack_depends_on_what_a_unit_it_depends_on_reads() {
    let repo = Repo::new();
    repo.write(
        "WORKSPACE.toml",
        "[workspace]\nname = \"t\"\n\n[layout]\nstacks = [\"live/*/*\"]\nmodules = [\"modules/*\"]\n",
    );
    repo.write("live/root.hcl", "remote_state {\n  backend = \"s3\"\n}\n");
    repo.write("live/_envcommon/mid.hcl", "locals {\n  size = 2\n}\n");
    repo.write("modules/mid/main.tf", "variable \"size\" {}\n");
    repo.write("shared/edge.json", "{}\n");
    let include = "include \"root\" {\n  path = find_in_parent_folders(\"root.hcl\")\n}\n";
    // It also reads the configuration of `c1` (a unit it depends on through others) for its
    // inputs, which does not stop `c1` from being followed as a unit.
    repo.write(
        "live/prod/app/terragrunt.hcl",
        &format!("{include}locals {{\n  c1 = read_terragrunt_config(\"../c1/terragrunt.hcl\")\n}}\n\ndependency \"mid\" {{\n  config_path = \"../mid\"\n}}\n"),
    );
    // A chain of ten units below `edge`, each taking its code from a module of its own.
    for n in 1..=10 {
        let next = if n < 10 {
            format!(
                "dependency \"next\" {{\n  config_path = \"../c{}\"\n}}\n",
                n + 1
            )
        } else {
            String::new()
        };
        repo.write(
            &format!("live/prod/c{n}/terragrunt.hcl"),
            &format!("terraform {{\n  source = \"../../../modules//c{n}\"\n}}\n{next}"),
        );
        repo.write(&format!("modules/c{n}/main.tf"), "variable \"x\" {}\n");
    }
    repo.write(
        "live/prod/app/main.tf",
        "variable \"mid\" {\n  default = 1\n}\n",
    );
    // Units without Terraform files: `mid` takes its code from the repository, includes a
    // shared configuration, and depends on `db` (a stack) and `edge` (another such unit,
    // which reads a file and depends back on `mid`).
    repo.write(
        "live/prod/mid/terragrunt.hcl",
        &format!("{include}include \"envcommon\" {{\n  path = \"${{dirname(find_in_parent_folders(\"root.hcl\"))}}/_envcommon/mid.hcl\"\n}}\n\nterraform {{\n  source = \"../../../modules//mid\"\n}}\n\ndependencies {{\n  paths = [\"../db\", \"../edge\"]\n}}\n"),
    );
    repo.write(
        "live/prod/edge/terragrunt.hcl",
        "terraform {\n  source = \"git::https://example.com/edge.git\"\n}\n\ninputs = {\n  conf = file(\"../../../shared/edge.json\")\n}\n\ndependency \"mid\" {\n  config_path = \"../mid\"\n}\n\ndependency \"chain\" {\n  config_path = \"../c1\"\n}\n",
    );
    repo.write("live/prod/db/terragrunt.hcl", include);
    repo.write(
        "live/prod/db/main.tf",
        "variable \"x\" {\n  default = 1\n}\n",
    );
    repo.commit("initial");
    list_without_warnings(&repo);
    assert_each_edit_affects(
        &repo,
        &[
            ("live/prod/db/main.tf", &["live/prod/app", "live/prod/db"]),
            ("live/_envcommon/mid.hcl", &["live/prod/app"]),
            ("modules/mid/main.tf", &["live/prod/app", "modules/mid"]),
            ("shared/edge.json", &["live/prod/app"]),
            ("live/prod/edge/terragrunt.hcl", &["live/prod/app"]),
            ("modules/c1/main.tf", &["live/prod/app", "modules/c1"]),
            ("modules/c10/main.tf", &["live/prod/app", "modules/c10"]),
        ],
    );
}

/// Paths a Terragrunt unit writes after a directory Terragrunt's functions name, in its own
/// `terragrunt.hcl` and in what it includes: `get_repo_root()` (the workspace here lies in
/// `infra/` of the repository), `get_parent_terragrunt_dir()` (the included file's
/// directory), `get_terragrunt_dir()` (the unit's, also in an included file) and
/// `dirname(find_in_parent_folders(...))`, and a file function's path in an included file
/// (from that file's directory). Each was an unresolved read before.
#[test]
fn terragrunt_paths_after_its_directory_functions_are_followed() {
    let repo = Repo::new();
    repo.write(
        "infra/WORKSPACE.toml",
        "[workspace]\nname = \"t\"\n\n[layout]\nstacks = [\"live/*/*\"]\nmodules = [\"modules/*\"]\n",
    );
    repo.write(
        "infra/live/root.hcl",
        "locals {\n  common = read_terragrunt_config(\"${get_parent_terragrunt_dir()}/common.hcl\")\n}\n",
    );
    repo.write("infra/live/common.hcl", "locals {\n  org = \"acme\"\n}\n");
    repo.write("infra/live/shared.hcl", "locals {\n  tier = 1\n}\n");
    for name in ["vpc", "db"] {
        repo.write(
            &format!("infra/modules/{name}/main.tf"),
            "output \"id\" {\n  value = 1\n}\n",
        );
    }
    // What every database unit shares: its module and a file read from the unit.
    repo.write(
        "infra/live/_envcommon/db.hcl",
        "terraform {\n  source = \"${get_repo_root()}/infra/modules//db\"\n}\n\nlocals {\n  conf     = jsondecode(file(\"${get_terragrunt_dir()}/db.json\"))\n  defaults = jsondecode(file(\"defaults.json\"))\n}\n",
    );
    // Read by a file function in the included file: from that file's directory.
    repo.write("infra/live/_envcommon/defaults.json", "{}\n");
    let root = "include \"root\" {\n  path = find_in_parent_folders(\"root.hcl\")\n}\n";
    repo.write(
        "infra/live/dev/vpc/terragrunt.hcl",
        &format!("{root}\nterraform {{\n  source = \"${{get_repo_root()}}//infra/modules/vpc\"\n}}\n\nlocals {{\n  shared = read_terragrunt_config(\"${{get_parent_terragrunt_dir(\"root\")}}/shared.hcl\")\n}}\n"),
    );
    repo.write(
        "infra/live/dev/db/terragrunt.hcl",
        &format!("{root}\ninclude \"envcommon\" {{\n  path = \"${{dirname(find_in_parent_folders(\"root.hcl\"))}}/_envcommon/db.hcl\"\n}}\n\ndependency \"vpc\" {{\n  config_path = \"${{dirname(find_in_parent_folders(\"root.hcl\"))}}/dev/vpc\"\n}}\n"),
    );
    for unit in ["vpc", "db"] {
        repo.write(
            &format!("infra/live/dev/{unit}/main.tf"),
            "variable \"x\" {\n  default = 1\n}\n",
        );
    }
    repo.write("infra/live/dev/db/db.json", "{}\n");
    repo.commit("initial");
    let infra = repo.path().join("infra");
    let listed = repo.strata_in(&infra, &["list"]);
    listed.assert_ok();
    assert!(!listed.stderr.contains("warning"), "{}", listed.stderr);
    assert_each_edit_affects_in(
        &repo,
        "infra",
        &[
            (
                "infra/modules/vpc/main.tf",
                &["live/dev/db", "live/dev/vpc", "modules/vpc"],
            ),
            ("infra/modules/db/main.tf", &["live/dev/db", "modules/db"]),
            ("infra/live/dev/db/db.json", &["live/dev/db"]),
            ("infra/live/_envcommon/defaults.json", &["live/dev/db"]),
            ("infra/live/_envcommon/db.hcl", &["live/dev/db"]),
            ("infra/live/common.hcl", &["live/dev/db", "live/dev/vpc"]),
            ("infra/live/shared.hcl", &["live/dev/db", "live/dev/vpc"]),
        ],
    );
    // A path above the repository's top level is named, not followed.
    repo.write(
        "infra/live/dev/vpc/terragrunt.hcl",
        "terraform {\n  source = \"${get_repo_root()}/../modules//vpc\"\n}\n",
    );
    let listed = repo.strata_in(&infra, &["list"]);
    assert_eq!(listed.code, 2, "{}", listed.stderr);
    assert!(
        listed.stderr.contains("live/dev/vpc/terragrunt.hcl:2")
            && listed.stderr.contains("outside the workspace"),
        "{}",
        listed.stderr
    );
}

/// What a unit's `inputs` hand to its module (a function's source directory it zips, a
/// policy document) is read by that module: a unit depending on it is affected by an edit
/// there, however the path is written (led by one of Terragrunt's directory functions
/// inside `jsonencode`, relative to the unit, deep in a nested value).
#[test]
fn paths_a_terragrunt_units_inputs_hand_to_its_module_are_followed() {
    let repo = Repo::new();
    repo.write(
        "WORKSPACE.toml",
        "[workspace]\nname = \"t\"\n\n[layout]\nstacks = [\"live/*\"]\n",
    );
    // Included by the unit: its `inputs` are evaluated for the unit, so a relative path
    // there starts from the unit's directory, not this file's.
    repo.write(
        "live/terragrunt.hcl",
        "locals {\n  org = \"acme\"\n}\n\ninputs = {\n  shared = \"../shared/common.json\"\n}\n",
    );
    repo.write("live/shared/common.json", "{}\n");
    repo.write("shared/common.json", "{}\n");
    // A unit of a registry module only (no Terraform files: no target of its own).
    repo.write(
        "live/lambda/terragrunt.hcl",
        "include {\n  path = find_in_parent_folders()\n}\n\nterraform {\n  source = \"tfr:///terraform-aws-modules/lambda/aws?version=7.0.0\"\n}\n\nlocals {\n  fn = \"x\"\n}\n\ninputs = {\n  source_path = jsonencode(\"${get_parent_terragrunt_dir()}/src/fn\")\n  policy      = \"./policy.json\"\n  extra       = { files = [\"../docs/readme.md\"] }\n  name        = \"plain-name\"\n  layer       = \"${get_repo_root()}/layers/${local.fn}\"\n  handler     = \"../handlers/${local.fn}/main.py\"\n  anything    = \"${get_repo_root()}/${local.fn}\"\n}\n",
    );
    repo.write("live/lambda/policy.json", "{}\n");
    repo.write("live/src/fn/index.py", "print(1)\n");
    repo.write("live/docs/readme.md", "# docs\n");
    repo.write("live/docs/other.md", "# not handed over\n");
    repo.write("layers/x/lib.py", "pass\n");
    repo.write("live/handlers/x/main.py", "pass\n");
    repo.write("unrelated/notes.md", "# no unit reads this\n");
    repo.write(
        "live/api/terragrunt.hcl",
        "dependency \"lambda\" {\n  config_path = \"../lambda\"\n}\n",
    );
    repo.write("live/api/main.tf", "variable \"x\" {\n  default = 1\n}\n");
    repo.commit("initial");
    assert_each_edit_affects_in(
        &repo,
        ".",
        &[
            ("live/src/fn/index.py", &["live/api"]),
            ("live/lambda/policy.json", &["live/api"]),
            ("live/docs/readme.md", &["live/api"]),
            ("live/docs/other.md", &[]),
            ("live/shared/common.json", &["live/api"]),
            ("shared/common.json", &[]),
            // A computed part after what is written: what is below the written part.
            ("layers/x/lib.py", &["live/api"]),
            ("live/handlers/x/main.py", &["live/api"]),
            // Nothing written after the repository's root: an unresolved read (warned),
            // not every file of the repository.
            ("unrelated/notes.md", &[]),
        ],
    );
}

/// A configuration read with `read_terragrunt_config` is evaluated in its own context, as
/// Terragrunt does: `find_in_parent_folders` starts above it, `get_terragrunt_dir()` is its
/// directory, and its relative paths (configurations, dependencies) start there. Terragrunt's
/// own file functions, file reads led by its directory functions, the variable files of
/// `extra_arguments` and files found by `find_in_parent_folders` are inputs too; a disabled
/// dependency is none, and an included configuration that does not parse breaks the unit.
#[test]
fn what_terragrunt_reads_is_resolved_where_terragrunt_resolves_it() {
    let repo = Repo::new();
    repo.write(
        "WORKSPACE.toml",
        "[workspace]\nname = \"t\"\n\n[layout]\nstacks = [\"live/**\"]\n",
    );
    let unit = |dir: &str, hcl: &str| {
        repo.write(
            &format!("{dir}/main.tf"),
            "variable \"x\" {\n  default = 1\n}\n",
        );
        repo.write(&format!("{dir}/terragrunt.hcl"), hcl);
    };
    repo.write("live/common.hcl", "locals {\n  owner = \"platform\"\n}\n");
    repo.write(
        "live/prod/common.hcl",
        "locals {\n  parent = read_terragrunt_config(find_in_parent_folders(\"common.hcl\"))\n}\n",
    );
    repo.write(
        "live/prod/region.hcl",
        "locals {\n  vars    = yamldecode(file(\"${get_terragrunt_dir()}/vars.yaml\"))\n  account = read_terragrunt_config(\"account.hcl\")\n}\n\ndependency \"vpc\" {\n  config_path = \"vpc\"\n}\n",
    );
    repo.write("live/prod/vars.yaml", "a: 1\n");
    repo.write("live/prod/app/vars.yaml", "a: 2\n");
    repo.write("live/prod/account.hcl", "locals {\n  id = 1\n}\n");
    repo.write(
        "live/root.hcl",
        "locals {\n  r      = 1\n  region = file(\"${get_terragrunt_dir()}/../region.yaml\")\n}\n",
    );
    repo.write("live/prod/region.yaml", "r: 1\n");
    repo.write("live/region.yaml", "r: 2\n");
    repo.write("live/account.yaml", "id: 1\n");
    repo.write("shared/tags.json", "{}\n");
    repo.write("shared/secrets.enc.yaml", "a: 1\n");
    repo.write("shared/common.tfvars", "x = 1\n");
    repo.write("live/common.tfvars", "x = 2\n");
    repo.write("live/args.tfvars", "x = 3\n");
    repo.write("live/found.tfvars", "x = 5\n");
    repo.write("shared/more.tfvars", "x = 4\n");
    unit("live/prod/vpc", "");
    unit("live/legacy", "");
    unit(
        "live/prod/app",
        &[
            // Written across lines: the include is still evaluated in the unit's context.
            "include \"root\" {\n  path = (\n    find_in_parent_folders(\"root.hcl\")\n  )\n}",
            "locals {\n  common  = read_terragrunt_config(\"../common.hcl\")\n  region  = read_terragrunt_config(\"../region.hcl\")\n  account = yamldecode(file(find_in_parent_folders(\"account.yaml\")))\n  tags    = jsondecode(file(\"${get_repo_root()}/shared/tags.json\"))\n  secrets = yamldecode(sops_decrypt_file(\"../../../shared/secrets.enc.yaml\"))\n  tfvars  = read_tfvars_file(\"../../../shared/common.tfvars\")\n}",
            "terraform {\n  extra_arguments \"common\" {\n    commands           = [\"plan\"]\n    required_var_files = [\"${get_parent_terragrunt_dir()}/common.tfvars\"]\n    optional_var_files = [\"${get_parent_terragrunt_dir()}/optional.tfvars\", find_in_parent_folders(\"found.tfvars\")]\n    arguments          = [\"-var-file=${get_parent_terragrunt_dir()}/args.tfvars\", \"-var-file\", \"${get_repo_root()}/shared/more.tfvars\"]\n  }\n}",
            "dependency \"legacy\" {\n  config_path = \"../../legacy\"\n  enabled     = false\n}",
            "dependency \"gone\" {\n  config_path = \"../../gone\"\n  enabled     = false\n}\n",
        ]
        .join("\n\n"),
    );
    repo.commit("initial");
    list_without_warnings(&repo);
    assert_each_edit_affects(
        &repo,
        &[
            // Found from live/prod/common.hcl's directory, not the unit's.
            ("live/common.hcl", &["live/prod/app"]),
            // `get_terragrunt_dir()` in region.hcl is live/prod, not the unit's directory.
            ("live/prod/vars.yaml", &["live/prod/app"]),
            ("live/prod/app/vars.yaml", &["live/prod/app"]),
            ("live/prod/account.hcl", &["live/prod/app"]),
            // region.hcl's dependency on `vpc` is live/prod/vpc.
            ("live/prod/vpc/main.tf", &["live/prod/app", "live/prod/vpc"]),
            ("live/root.hcl", &["live/prod/app"]),
            // What root.hcl reads from the unit's directory, not its own.
            ("live/prod/region.yaml", &["live/prod/app"]),
            ("live/region.yaml", &[]),
            ("live/account.yaml", &["live/prod/app"]),
            ("shared/tags.json", &["live/prod/app"]),
            ("shared/secrets.enc.yaml", &["live/prod/app"]),
            ("shared/common.tfvars", &["live/prod/app"]),
            ("live/common.tfvars", &["live/prod/app"]),
            ("live/args.tfvars", &["live/prod/app"]),
            ("live/found.tfvars", &["live/prod/app"]),
            ("shared/more.tfvars", &["live/prod/app"]),
            ("live/legacy/main.tf", &["live/legacy"]),
        ],
    );
    // An included configuration that does not parse: Terragrunt cannot run the unit.
    repo.write("live/root.hcl", "locals {\n  r = \n}\n");
    let listed = repo.strata(&["list"]);
    assert_eq!(listed.code, 2, "{}", listed.stderr);
    assert!(
        listed.stderr.contains("--> live/root.hcl:2"),
        "{}",
        listed.stderr
    );
}

/// Module calls are followed depth first: a chain of thousands of modules (generated code
/// does this) is read without overflowing a thread's stack, and an edit at its far end
/// affects the stack at its start.
#[test]
fn a_module_chain_thousands_deep_is_followed_to_its_end() {
    let repo = workspace();
    const DEPTH: usize = 4000;
    for i in 0..DEPTH {
        let body = if i + 1 < DEPTH {
            format!("module \"next\" {{\n  source = \"../m{}\"\n}}\n", i + 1)
        } else {
            "locals {\n  end = file(\"${path.root}/end.txt\")\n}\n".to_string()
        };
        repo.write(&format!("modules/m{i}/main.tf"), &body);
    }
    repo.write(
        "stacks/app/main.tf",
        "module \"m\" {\n  source = \"../../modules/m0\"\n}\n",
    );
    repo.write("stacks/app/end.txt", "x\n");
    repo.commit("a deep chain");
    repo.append(&format!("modules/m{}/main.tf", DEPTH - 1), "# edited\n");
    let run = repo.strata(&["affected", "--base", "main"]);
    run.assert_ok();
    assert_eq!(run.stdout.lines().count(), DEPTH + 1, "{}", run.stderr);
    assert!(run.stdout.contains("stack    dependency stacks/app"));
    repo.git(&["checkout", "--", "."]);
    repo.append("stacks/app/end.txt", "edited\n");
    let run = repo.strata(&["--json", "affected", "--base", "main"]);
    run.assert_ok();
    let labels: Vec<String> = common::label_reasons(&run.json())
        .into_iter()
        .map(|(l, _)| l)
        .collect();
    assert_eq!(labels, ["stacks/app"]);
}

/// A module's Terraform tests (`tests/*.tftest.hcl`): the files they read and the modules
/// their runs call are inputs of the module, from the module's directory, without an
/// edge: a test that runs an example calling the module itself is no cycle.
#[test]
fn what_a_modules_tests_read_and_run_are_its_inputs() {
    let repo = Repo::new();
    repo.write(
        "WORKSPACE.toml",
        "[workspace]\nname = \"t\"\n\n[layout]\nstacks = [\"examples/*\"]\nmodules = [\"modules/*\"]\n",
    );
    repo.write(
        "modules/net/main.tf",
        "variable \"fixture\" {\n  default = \"\"\n}\n",
    );
    repo.write(
        "modules/net/tests/net.tftest.hcl",
        "mock_provider \"aws\" {\n  source = \"./testing/aws\"\n}\n\nvariables {\n  fixture = file(\"../../shared/fixture.json\")\n}\n\nrun \"setup\" {\n  module {\n    source = \"./tests/setup\"\n  }\n}\n\nrun \"example\" {\n  module {\n    source = \"../../examples/complete\"\n  }\n}\n",
    );
    repo.write(
        "modules/net/tests/setup/main.tf",
        "output \"id\" {\n  value = 1\n}\n",
    );
    repo.write(
        "modules/net/testing/aws/data.tfmock.hcl",
        "mock_data \"aws_region\" {}\n",
    );
    repo.write(
        "examples/complete/main.tf",
        "module \"net\" {\n  source = \"../../modules/net\"\n}\n",
    );
    repo.write("shared/fixture.json", "{}\n");
    repo.write("shared/other.json", "{}\n");
    repo.commit("initial");
    list_without_warnings(&repo);
    assert_each_edit_affects(
        &repo,
        &[
            ("shared/fixture.json", &["examples/complete", "modules/net"]),
            (
                "examples/complete/main.tf",
                &["examples/complete", "modules/net"],
            ),
            (
                "modules/net/testing/aws/data.tfmock.hcl",
                &["examples/complete", "modules/net"],
            ),
            ("shared/other.json", &[]),
        ],
    );
}

/// Three forms that were silent: a script a command line reaches after `cd`, a string
/// written inside an interpolation of a path, and a file function given a `for`
/// expression's variable over a local (`[for f in local.files : file(f)]`).
#[test]
fn scripts_after_cd_nested_strings_and_for_variables_are_followed() {
    let repo = workspace();
    repo.write(
        "stacks/cd/main.tf",
        "resource \"null_resource\" \"r\" {\n  provisioner \"local-exec\" {\n    command = \"cd ${path.module}/../.. && ./shared/build.sh && bash tools/pack.sh\"\n  }\n}\n",
    );
    repo.write(
        "stacks/nested/main.tf",
        "output \"o\" {\n  value = file(\"${path.module}/${\"../../shared\"}/nested.txt\")\n}\n",
    );
    repo.write(
        "stacks/for/main.tf",
        "locals {\n  files = toset([\"${path.module}/../../shared/f1.json\", \"${path.module}/../../data/f2.json\"])\n}\n\noutput \"o\" {\n  value = [for f in local.files : jsondecode(file(f))]\n}\n",
    );
    for f in [
        "shared/build.sh",
        "tools/pack.sh",
        "shared/nested.txt",
        "shared/f1.json",
        "data/f2.json",
        "elsewhere/other.txt",
    ] {
        repo.write(f, "{}\n");
    }
    repo.commit("initial");
    assert_each_edit_affects(
        &repo,
        &[
            ("shared/build.sh", &["stacks/cd", "stacks/for"]),
            ("tools/pack.sh", &["stacks/cd"]),
            ("shared/nested.txt", &["stacks/for", "stacks/nested"]),
            ("shared/f1.json", &["stacks/for"]),
            ("data/f2.json", &["stacks/for"]),
            ("elsewhere/other.txt", &[]),
        ],
    );

    // A command run from a directory above the stack's may read anything there: the
    // read is unresolved, and `affected` says where.
    repo.write(
        "stacks/above/main.tf",
        "resource \"null_resource\" \"r\" {\n  provisioner \"local-exec\" {\n    command = \"cd ${path.module}/.. && npm run build\"\n  }\n}\n",
    );
    repo.commit("above");
    repo.append("stacks/above/main.tf", "\n");
    let run = repo.strata(&["--json", "affected", "--base", "main"]);
    run.assert_ok();
    let json = run.json();
    let above = json["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["label"] == "stacks/above")
        .unwrap_or_else(|| panic!("{json}"));
    assert_eq!(
        above["unresolved_reads"],
        serde_json::json!([{"file": "stacks/above/main.tf", "line": 3}])
    );
    assert!(
        run.stderr.contains("stacks/above/main.tf:3"),
        "{}",
        run.stderr
    );
}

/// `for_each = local.files` (a `toset` of paths) or `var.files` (a list default), handed on
/// as `each.value`: each path it iterates over is handed to the module.
#[test]
fn paths_handed_to_a_module_through_for_each_are_followed() {
    let repo = workspace();
    repo.write("shared/d.tpl", "d\n");
    repo.write("shared/g.tpl", "g\n");
    repo.write(
        "modules/m/main.tf",
        "variable \"p\" {}\n\noutput \"o\" {\n  value = file(var.p)\n}\n",
    );
    repo.write(
        "stacks/local/main.tf",
        "locals {\n  files = toset([\"../../shared/d.tpl\"])\n}\n\nmodule \"m\" {\n  for_each = local.files\n  source   = \"../../modules/m\"\n  p        = each.value\n}\n",
    );
    repo.write(
        "stacks/var/main.tf",
        "variable \"files\" {\n  default = [\"../../shared/g.tpl\"]\n}\n\nmodule \"m\" {\n  for_each = toset(var.files)\n  source   = \"../../modules/m\"\n  p        = each.value\n}\n",
    );
    repo.write(
        "stacks/for/main.tf",
        "variable \"files\" {\n  default = [\"../../shared/g.tpl\"]\n}\n\nmodule \"n\" {\n  for_each = { for f in var.files : basename(f) => f }\n  source   = \"../../modules/m\"\n  p        = each.value\n}\n",
    );
    repo.write(
        "stacks/bare/main.tf",
        "variable \"files\" {\n  default = [\"../../shared/g.tpl\"]\n}\n\nmodule \"n\" {\n  for_each = var.files\n  source   = \"../../modules/m\"\n  p        = each.key\n}\n",
    );
    repo.commit("initial");
    assert_each_edit_affects(
        &repo,
        &[
            ("shared/d.tpl", &["stacks/local"]),
            ("shared/g.tpl", &["stacks/bare", "stacks/for", "stacks/var"]),
        ],
    );
}

/// `chart = var.chart` with a plain-name default (`"nginx"`): helm loads the chart directory
/// of that name beside the stack when there is one, so a chart directly inside the stack's
/// directory is a dependency.
#[test]
fn a_chart_variable_with_a_plain_name_depends_on_the_charts_beside_the_stack() {
    let repo = workspace();
    repo.write(
        "stacks/web/nginx/Chart.yaml",
        &CHART.replace("NAME", "nginx"),
    );
    repo.write("stacks/web/nginx/values.yaml", "replicas: 1\n");
    repo.write("charts/other/Chart.yaml", &CHART.replace("NAME", "other"));
    repo.write(
        "stacks/web/main.tf",
        "variable \"chart\" {\n  default = \"nginx\"\n}\n\nresource \"helm_release\" \"web\" {\n  name  = \"web\"\n  chart = var.chart\n}\n",
    );
    repo.commit("initial");
    assert_each_edit_affects(
        &repo,
        &[
            (
                "stacks/web/nginx/values.yaml",
                &["stacks/web", "stacks/web/nginx"],
            ),
            ("charts/other/Chart.yaml", &["charts/other"]),
        ],
    );
}

/// A module that deploys a chart by a plain name (`chart = var.chart`, default `"web"`):
/// helm looks the name up in the working directory, the calling stack's, so a chart below
/// the stack is a dependency of the stack, whatever module deploys it.
#[test]
fn a_plain_chart_name_in_a_module_is_looked_up_below_the_calling_stack() {
    let repo = workspace();
    repo.write(
        "stacks/app/main.tf",
        "module \"web\" {\n  source = \"../../modules/helm-app\"\n}\n",
    );
    repo.write(
        "modules/helm-app/main.tf",
        "variable \"chart\" {\n  type    = string\n  default = \"web\"\n}\n\nresource \"helm_release\" \"this\" {\n  name  = \"x\"\n  chart = var.chart\n}\n",
    );
    repo.write("stacks/app/web/Chart.yaml", &CHART.replace("NAME", "web"));
    repo.write("stacks/app/web/values.yaml", "a: 1\n");
    repo.write("stacks/other/main.tf", "output \"o\" {\n  value = 1\n}\n");
    repo.commit("initial");
    assert_each_edit_affects(
        &repo,
        &[(
            "stacks/app/web/values.yaml",
            &["stacks/app", "stacks/app/web"],
        )],
    );
}

/// A value a variable file gives a variable read as a path (`file(var.policy_file)`): the
/// stack's own `terraform.tfvars`, an environment's tfvars for the stack and an
/// environment-wide tfvars each name a file the stack may read (with the files beside it:
/// a value that may be given is followed as a candidate, see `candidate_paths`).
#[test]
fn a_path_a_variable_file_gives_is_followed() {
    let repo = workspace();
    repo.write(
        "environments/dev/env.toml",
        "[state]\nbackend = \"local\"\n",
    );
    for f in ["own", "env", "wide", "list", "other", "chain"] {
        repo.write(&format!("shared/{f}/x.json"), "{}\n");
    }
    let reads = "variable \"policy_file\" {\n  type = string\n}\n\noutput \"p\" {\n  value = file(var.policy_file)\n}\n";
    repo.write("stacks/own/main.tf", reads);
    repo.write(
        "stacks/own/terraform.tfvars",
        "policy_file = \"../../shared/own/x.json\"\n",
    );
    repo.write("stacks/env/main.tf", reads);
    repo.write(
        "environments/dev/stacks/env/terraform.tfvars",
        "policy_file = \"../../shared/env/x.json\"\n",
    );
    repo.write(
        "stacks/list/main.tf",
        "variable \"files\" {\n  type = list(string)\n}\n\nmodule \"m\" {\n  for_each = toset(var.files)\n  source   = \"../../modules/m\"\n  p        = each.value\n}\n",
    );
    repo.write(
        "stacks/list/prod.auto.tfvars",
        "files = [\"../../shared/list/x.json\"]\n",
    );
    repo.write(
        "modules/m/main.tf",
        "variable \"p\" {}\n\noutput \"o\" {\n  value = file(var.p)\n}\n",
    );
    repo.write(
        "stacks/chain/main.tf",
        "variable \"policy_file\" {}\n\nlocals {\n  p = var.policy_file\n  q = local.p\n}\n\noutput \"p\" {\n  value = file(local.q)\n}\n",
    );
    repo.write(
        "environments/dev/stacks/chain/terraform.tfvars",
        "policy_file = \"../../shared/chain/x.json\"\n",
    );
    repo.write(
        "environments/dev/common.tfvars",
        "wide_file = \"../../shared/wide/x.json\"\n",
    );
    repo.write(
        "stacks/wide/main.tf",
        "variable \"wide_file\" {}\n\noutput \"w\" {\n  value = file(var.wide_file)\n}\n",
    );
    // A tfvars file terraform does not load by itself names nothing the stack reads.
    repo.write(
        "stacks/other/main.tf",
        "variable \"policy_file\" {}\n\noutput \"p\" {\n  value = file(var.policy_file)\n}\n",
    );
    repo.write(
        "stacks/other/extra.tfvars",
        "policy_file = \"../../shared/other/x.json\"\n",
    );
    repo.commit("initial");
    assert_each_edit_affects(
        &repo,
        &[
            ("shared/own/x.json", &["stacks/own"]),
            ("shared/env/x.json", &["stacks/env"]),
            ("shared/list/x.json", &["stacks/list"]),
            ("shared/wide/x.json", &["stacks/wide"]),
            ("shared/other/x.json", &[]),
            ("shared/chain/x.json", &["stacks/chain"]),
        ],
    );
}

/// A variable file holds values that are no paths and may be sensitive: only values written
/// as relative paths become facts, so no other value reaches a file strata writes.
#[test]
fn only_the_paths_of_a_variable_file_reach_strata_files() {
    let repo = workspace();
    repo.write(
        "environments/dev/env.toml",
        "[state]\nbackend = \"local\"\n",
    );
    repo.write("shared/p/x.json", "{}\n");
    repo.write(
        "stacks/app/main.tf",
        "variable \"policy_file\" {}\nvariable \"token\" {}\n\noutput \"p\" {\n  value = file(var.policy_file)\n}\n",
    );
    repo.write(
        "environments/dev/stacks/app/terraform.tfvars",
        "policy_file = \"../../shared/p/x.json\"\ntoken       = \"tok/S3cretValue+9x=\"\n",
    );
    repo.write(
        "environments/prod/stacks/app/terraform.tfvars.json",
        r#"{"policy_file": "../../shared/p/x.json", "token": "tok/S3cretValue+9x="}"#,
    );
    repo.write(
        "stacks/app/terraform.tfvars",
        "tokens = [\"S3cretValue/a\", \"b/S3cretValue\"]\n",
    );
    repo.commit("initial");
    assert_each_edit_affects(&repo, &[("shared/p/x.json", &["stacks/app"])]);
    repo.strata(&["hash", "--explain", "stacks/app"])
        .assert_ok();
    let strata_dir = repo.path().join(".strata");
    assert!(strata_dir.join("cache").exists());
    assert_eq!(
        common::files_containing(&strata_dir, b"S3cretValue", &[]),
        Vec::<std::path::PathBuf>::new()
    );
}

/// A value a variable file gives that is not written as a relative path (`"charts/web"`,
/// `"nginx"`) may still name a path below the stack's directory: terraform and helm resolve
/// it from there. strata does not keep such values (see the test above), so a chart through
/// the variable may be any chart below the stack, and a file read through it any file
/// there, those of targets nested in the stack included. Both syntaxes of variable file.
#[test]
fn a_value_a_variable_file_gives_without_dot_slash_is_followed_below_the_stack() {
    let repo = Repo::new();
    repo.write(
        "WORKSPACE.toml",
        "[workspace]\nname = \"t\"\n\n[layout]\nstacks = [\"stacks/*\"]\ncharts = [\"stacks/*/charts/*\"]\nmodules = [\"stacks/*/modules/*\"]\n",
    );
    for stack in ["hcl", "json"] {
        repo.write(
            &format!("stacks/{stack}/charts/web/Chart.yaml"),
            &CHART.replace("NAME", "web"),
        );
        repo.write(
            &format!("stacks/{stack}/charts/web/values.yaml"),
            "replicas: 1\n",
        );
        repo.write(
            &format!("stacks/{stack}/modules/cfg/main.tf"),
            "output \"o\" {\n  value = 1\n}\n",
        );
        repo.write(&format!("stacks/{stack}/modules/cfg/x.json"), "{}\n");
        repo.write(
            &format!("stacks/{stack}/main.tf"),
            "variable \"chart\" {\n  type = string\n}\nvariable \"cfg\" {\n  type = string\n}\n\nresource \"helm_release\" \"web\" {\n  name  = \"web\"\n  chart = var.chart\n  values = [file(var.cfg)]\n}\n",
        );
    }
    repo.write(
        "stacks/hcl/terraform.tfvars",
        "chart = \"charts/web\"\ncfg   = \"modules/cfg/x.json\"\n",
    );
    repo.write(
        "stacks/json/prod.auto.tfvars.json",
        r#"{"chart": "charts/web", "cfg": "modules/cfg/x.json"}"#,
    );
    repo.commit("initial");
    let list = repo.strata(&["list"]);
    list.assert_ok();
    assert!(
        list.stdout
            .lines()
            .any(|l| l.starts_with("stacks/hcl ") && l.contains("stacks/hcl/charts/web")),
        "{}",
        list.stdout
    );
    assert_each_edit_affects(
        &repo,
        &[
            (
                "stacks/hcl/charts/web/values.yaml",
                &["stacks/hcl", "stacks/hcl/charts/web"],
            ),
            (
                "stacks/json/charts/web/values.yaml",
                &["stacks/json", "stacks/json/charts/web"],
            ),
            (
                "stacks/hcl/modules/cfg/x.json",
                &["stacks/hcl", "stacks/hcl/modules/cfg"],
            ),
            (
                "stacks/json/modules/cfg/x.json",
                &["stacks/json", "stacks/json/modules/cfg"],
            ),
        ],
    );
}

/// A variable file that does not parse, for a stack reading a variable as a path: the
/// stack cannot be modelled (terraform fails on the file too), `list` says where and
/// exits 2, and `affected` says the stack cannot be modelled and counts it.
#[test]
fn a_malformed_variable_file_is_an_error_naming_its_line() {
    let repo = workspace();
    repo.write(
        "environments/dev/env.toml",
        "[state]\nbackend = \"local\"\n",
    );
    repo.write("shared/p/x.json", "{}\n");
    repo.write(
        "stacks/app/main.tf",
        "variable \"policy_file\" {}\n\noutput \"p\" {\n  value = file(var.policy_file)\n}\n",
    );
    repo.write("stacks/other/main.tf", "output \"o\" {\n  value = 1\n}\n");
    repo.commit("initial");
    repo.write(
        "environments/dev/stacks/app/terraform.tfvars",
        "region = \"eu-west-1\"\npolicy_file = \"../../shared/p/x.json\n",
    );
    repo.commit("a broken variable file");
    let list = repo.strata(&["list"]);
    assert_eq!(list.code, 2, "{}", list.stderr);
    assert!(
        list.stderr
            .contains("environments/dev/stacks/app/terraform.tfvars:2"),
        "{}",
        list.stderr
    );
    assert!(list.stderr.contains("hint:"), "{}", list.stderr);
    let affected = repo.strata(&["affected", "--base", "main~1"]);
    affected.assert_ok();
    assert!(
        affected
            .stderr
            .contains("stacks/app cannot be modelled, so it counts as affected"),
        "{}",
        affected.stderr
    );
    assert_eq!(
        repo.affected_labels(&["--base", "main~1"]),
        vec!["stacks/app"]
    );
}

/// The same for a variable file in JSON syntax: the file and the line of the fault.
#[test]
fn a_malformed_json_variable_file_is_an_error_naming_its_line() {
    let repo = workspace();
    repo.write(
        "stacks/app/main.tf",
        "variable \"policy_file\" {}\n\noutput \"p\" {\n  value = file(var.policy_file)\n}\n",
    );
    repo.write(
        "stacks/app/terraform.tfvars.json",
        "{\n  \"region\": \"eu-west-1\",\n  policy_file: \"x\"\n}\n",
    );
    repo.commit("a broken variable file");
    let list = repo.strata(&["list"]);
    assert_eq!(list.code, 2, "{}", list.stderr);
    assert!(
        list.stderr.contains("stacks/app/terraform.tfvars.json:3"),
        "{}",
        list.stderr
    );
    assert!(list.stderr.contains("hint:"), "{}", list.stderr);
}

/// A run that stops on bad input keeps the model it built of the index, but not the facts
/// it read: a manifest edited after it must still be read again, not taken as unchanged
/// because its old facts are unknown (the dependency it adds was missed until the cache
/// was removed).
#[test]
fn a_manifest_edited_after_a_failed_run_is_read_again() {
    let repo = workspace();
    repo.write("stacks/a/main.tf", "variable \"x\" {}\n");
    repo.write("stacks/b/main.tf", "variable \"x\" {}\n");
    repo.write("stacks/a/stack.toml", "deps = []\n");
    repo.write("environments/dev/env.toml", "[gates]\n");
    repo.commit("two stacks");
    repo.write("environments/dev/env.toml", "promotes_from = \"nope\"\n");
    assert_eq!(repo.strata(&["list"]).code, 2);
    repo.write("environments/dev/env.toml", "[gates]\n");
    repo.write("stacks/a/stack.toml", "deps = [\"stacks/b\"]\n");
    let run = repo.strata(&["--json", "list"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json = run.json();
    let a = json["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["label"] == "stacks/a")
        .unwrap();
    assert_eq!(a["deps"], serde_json::json!(["stacks/b"]), "{json}");
    // And `affected` sees what the new dependency brings.
    repo.append("stacks/b/main.tf", "\n");
    let affected = repo.affected_labels(&["--base", "main"]);
    assert!(affected.contains(&"stacks/a".to_string()), "{affected:?}");

    // Facts the model never asked for (an environment's tfvars no stack reads as a path)
    // do not make it rebuilt: the saved model serves, with hashes updated.
    repo.commit("a reads b");
    repo.write("environments/dev/stacks/a/terraform.tfvars", "x = 1\n");
    repo.commit("a's tfvars");
    repo.strata(&["affected", "--base", "main"]).assert_ok();
    repo.write("environments/dev/stacks/a/terraform.tfvars", "x = 2\n");
    for _ in 0..2 {
        let run = common::Run::from(
            repo.command(&["affected", "--base", "main"])
                .env("STRATA_TIMINGS", "1")
                .output()
                .unwrap(),
        );
        run.assert_ok();
        assert!(
            run.stderr.contains("hashes (updated)") && !run.stderr.contains("timing: model  "),
            "{}",
            run.stderr
        );
    }
}

/// A path a module argument hands over that lies above the workspace root (the workspace in
/// `infra/` of the repository, Atmos stack files beside it) is a problem of the target, as
/// a file function's read there is: strata cannot see a change there, so the target counts
/// as affected. Before, it was left out silently and the change affected nothing. A
/// provider's argument there (most often a file it writes) is left out as before.
#[test]
fn a_module_argument_path_above_the_workspace_root_is_a_problem() {
    let repo = Repo::new();
    repo.write(
        "infra/WORKSPACE.toml",
        "[workspace]\nname = \"t\"\n[layout]\nstacks = [\"modules/*\"]\n",
    );
    repo.write(
        "infra/modules/documentdb/main.tf",
        "module \"dns\" {\n  source = \"cloudposse/stack-config/yaml//modules/remote-state\"\n  version = \"1.5.0\"\n\n  stack_config_local_path = \"../../../stacks\"\n  component = \"dns\"\n}\n",
    );
    // Led by `path.root`, named from the directory terraform runs in; words apart by spaces
    // are prose, not a path.
    repo.write(
        "infra/modules/rooted/main.tf",
        "module \"dns\" {\n  source = \"cloudposse/stack-config/yaml//modules/remote-state\"\n  version = \"1.5.0\"\n\n  stack_config_local_path = \"${path.root}/../../../stacks\"\n  description = \"../../../ marks the parent org unit\"\n}\n",
    );
    repo.write(
        "infra/modules/writer/main.tf",
        "resource \"local_file\" \"out\" {\n  filename = \"${path.module}/../../../dist/out.txt\"\n  content  = \"x\"\n}\n",
    );
    repo.write("stacks/catalog/dns.yaml", "components: {}\n");
    repo.commit("initial");
    let infra = repo.path().join("infra");
    let listed = repo.strata_in(&infra, &["--json", "list", "--check"]);
    assert_eq!(listed.code, 2, "{}", listed.stderr);
    assert!(
        listed.stderr.contains(
            "a module argument hands over `../../../stacks` (from `modules/documentdb`), which is above the workspace root"
        ),
        "{}",
        listed.stderr
    );
    assert!(
        listed.stderr.contains("modules/documentdb/main.tf:5"),
        "{}",
        listed.stderr
    );
    assert!(
        !listed.stderr.contains("modules/writer"),
        "{}",
        listed.stderr
    );
    assert!(
        listed
            .stderr
            .contains("a module argument hands over `../../../stacks` (from `modules/rooted`)"),
        "{}",
        listed.stderr
    );
    assert!(
        !listed.stderr.contains("marks the parent"),
        "{}",
        listed.stderr
    );
    repo.append("stacks/catalog/dns.yaml", "x: 1\n");
    let run = repo.strata_in(&infra, &["--json", "affected", "--base", "main"]);
    run.assert_ok();
    assert_eq!(
        common::label_reasons(&run.json()),
        common::pairs(&[
            ("modules/documentdb", "broken"),
            ("modules/rooted", "broken")
        ])
    );
}

/// A directory handed to a module as found in cloud-foundation-fabric: through the default
/// a variable's type gives an attribute (`optional(string, "../src")`, then
/// `var.cfg.source_dir`), or under a path key inside an object (`bundle_config = { path =
/// var.source_dir }`). A change to the code there affected neither stack, and nothing
/// warned.
/// A local that merges another local's map (`merge(local.defaults, var.extra)`), or is a
/// map naming it, holds the paths that one holds: a file or a chart so named is an input
/// of the stacks that read it, handed to a module under a path name or read by a file
/// function. Before, only the paths written in the map itself counted, and an edit of the
/// file affected its own target alone, with no warning.
#[test]
fn a_path_in_a_local_another_local_merges_is_an_input() {
    let repo = workspace();
    repo.write(
        "modules/caller/main.tf",
        "variable \"extra\" {\n  default = {}\n}\n\nlocals {\n  defaults        = { template_path = \"${path.module}/../other/boot.tpl\" }\n  settings_config = merge(local.defaults, var.extra)\n}\n\nmodule \"reader\" {\n  source          = \"../reader\"\n  settings_config = local.settings_config\n}\n",
    );
    repo.write(
        "modules/reader/main.tf",
        "variable \"settings_config\" {}\n\noutput \"boot\" {\n  value = templatefile(var.settings_config[\"template_path\"], {})\n}\n",
    );
    repo.write(
        "modules/self/main.tf",
        "locals {\n  defaults = { template_path = \"${path.module}/../other/boot.tpl\" }\n  settings = { template_path = local.defaults.template_path }\n}\n\noutput \"boot\" {\n  value = templatefile(local.settings[\"template_path\"], {})\n}\n",
    );
    repo.write("modules/other/main.tf", "variable \"x\" {}\n");
    repo.write("modules/other/boot.tpl", "echo hi\n");
    repo.write(
        "stacks/app/main.tf",
        "module \"caller\" {\n  source = \"../../modules/caller\"\n}\n",
    );
    repo.write(
        "stacks/app2/main.tf",
        "module \"self\" {\n  source = \"../../modules/self\"\n}\n",
    );
    // A chart named by a map merged from another local's, handed to a module that makes
    // the helm release.
    repo.write(
        "modules/addon/main.tf",
        "variable \"helm_config\" {}\n\nresource \"helm_release\" \"addon\" {\n  name  = \"addon\"\n  chart = var.helm_config[\"chart\"]\n}\n",
    );
    repo.write(
        "modules/addons/main.tf",
        "variable \"helm_config\" {\n  default = {}\n}\n\nlocals {\n  default_helm_config = { chart = \"${path.module}/../../charts/lsp\" }\n  helm_config         = merge(local.default_helm_config, var.helm_config)\n}\n\nmodule \"addon\" {\n  source      = \"../addon\"\n  helm_config = local.helm_config\n}\n",
    );
    repo.write(
        "charts/lsp/Chart.yaml",
        "apiVersion: v2\nname: lsp\nversion: 0.1.0\n",
    );
    repo.write(
        "stacks/cluster/main.tf",
        "module \"addons\" {\n  source = \"../../modules/addons\"\n}\n",
    );
    repo.commit("initial");
    assert_each_edit_affects(
        &repo,
        &[
            (
                "modules/other/boot.tpl",
                &[
                    "modules/caller",
                    "modules/other",
                    "modules/self",
                    "stacks/app",
                    "stacks/app2",
                ],
            ),
            (
                "charts/lsp/Chart.yaml",
                &["charts/lsp", "modules/addons", "stacks/cluster"],
            ),
        ],
    );
}

/// A local made by a `for` expression over another local holds what that one holds: a
/// file read through it (here and in a module it is handed to) is an input. Before, an
/// edit of the template affected its own directory's target only, with no warning.
#[test]
fn a_path_in_a_local_a_for_expression_walks_is_an_input() {
    let repo = workspace();
    repo.write(
        "modules/walker/main.tf",
        "locals {\n  defaults = {\n    boot = { template_path = \"${path.module}/../other/boot.tpl\" }\n  }\n  settings = { for k, v in local.defaults : k => merge(v, { enabled = true }) }\n  paths    = [for s in values(local.settings) : s.template_path]\n}\n\noutput \"boot\" {\n  value = templatefile(local.settings[\"boot\"].template_path, {})\n}\n\nmodule \"reader\" {\n  source        = \"../reader\"\n  template_path = local.paths[0]\n}\n",
    );
    repo.write(
        "modules/reader/main.tf",
        "variable \"template_path\" {}\n\noutput \"boot\" {\n  value = templatefile(var.template_path, {})\n}\n",
    );
    repo.write("modules/other/main.tf", "variable \"x\" {}\n");
    repo.write("modules/other/boot.tpl", "echo hi\n");
    repo.write(
        "stacks/app/main.tf",
        "module \"walker\" {\n  source = \"../../modules/walker\"\n}\n",
    );
    repo.commit("initial");
    assert_each_edit_affects(
        &repo,
        &[(
            "modules/other/boot.tpl",
            &["modules/other", "modules/walker", "stacks/app"],
        )],
    );
}

/// An element of a `for` expression written in place (`[for …][0]`) and an attribute of a
/// map in parentheses (`(merge({ … }, {})).a`), read by `file()`: each holds what the locals
/// named in it hold. Before, neither was followed: the edit affected only its own target
/// (`affected` warned that it could not resolve the read).
#[test]
fn an_element_of_a_for_expression_or_of_a_map_in_parentheses_is_an_input() {
    let repo = workspace();
    repo.write(
        "stacks/app/main.tf",
        "locals {\n  settings = { boot = { template_path = \"${path.module}/../../shared/boot.tpl\" } }\n  first    = [for s in values(local.settings) : s.template_path][0]\n  dir      = \"${path.module}/../../shared/conf\"\n  conf     = (merge({ d = local.dir }, {})).d\n}\n\noutput \"boot\" {\n  value = file(local.first)\n}\n\noutput \"conf\" {\n  value = file(\"${local.conf}/app.json\")\n}\n",
    );
    repo.write("shared/boot.tpl", "echo hi\n");
    repo.write("shared/conf/app.json", "{}\n");
    repo.commit("initial");
    list_without_warnings(&repo);
    assert_each_edit_affects(
        &repo,
        &[
            ("shared/boot.tpl", &["stacks/app"]),
            ("shared/conf/app.json", &["stacks/app"]),
        ],
    );
}

#[test]
fn a_directory_handed_to_a_module_through_a_variable_type_or_an_object_is_an_input() {
    let repo = workspace();
    repo.write(
        "modules/cf/main.tf",
        "variable \"source_dir\" {\n  default = null\n}\n\nvariable \"bundle_config\" {\n  default = null\n}\n\ndata \"archive_file\" \"bundle\" {\n  type        = \"zip\"\n  source_dir  = coalesce(var.source_dir, try(var.bundle_config.path, null))\n  output_path = \"/tmp/bundle.zip\"\n}\n",
    );
    repo.write(
        "stacks/optional/main.tf",
        "variable \"cfg\" {\n  type = object({\n    memory_mb  = optional(number, 256)\n    source_dir = optional(string, \"../src\")\n  })\n  default = {}\n}\n\nmodule \"cf\" {\n  source     = \"../../modules/cf\"\n  source_dir = var.cfg.source_dir\n}\n",
    );
    repo.write(
        "stacks/nested/main.tf",
        "variable \"source_dir\" {\n  default = \"../src\"\n}\n\nmodule \"cf\" {\n  source = \"../../modules/cf\"\n  bundle_config = {\n    path = var.source_dir\n  }\n}\n",
    );
    // A choice of the variable or a default, as the module itself reads it.
    repo.write(
        "stacks/choice/main.tf",
        "variable \"source_dir\" {\n  default = \"../src\"\n}\n\ndata \"archive_file\" \"fn\" {\n  type        = \"zip\"\n  source_dir  = coalesce(var.source_dir, \"${path.module}/none\")\n  output_path = \"/tmp/fn.zip\"\n}\n",
    );
    repo.write("stacks/src/main.py", "print('v1')\n");
    repo.commit("initial");
    list_without_warnings(&repo);
    assert_each_edit_affects(
        &repo,
        &[(
            "stacks/src/main.py",
            &["stacks/choice", "stacks/nested", "stacks/optional"],
        )],
    );
}

/// A `.tf` file in a subdirectory of a module that no module call reaches (a code
/// generator's template, as terraform-google-kubernetes-engine kept under `autogen/` for
/// 564 of its 1,316 first-parent commits) is never read by terraform: when it does not
/// parse, its module is not broken, `list` answers, and an unrelated edit affects nothing
/// else. One that a module call reaches (`./sub`) still breaks its module.
#[test]
fn an_unparsable_tf_file_no_module_call_reaches_breaks_nothing() {
    let repo = workspace();
    repo.write(
        "WORKSPACE.toml",
        "[workspace]\nname = \"t\"\n\n[layout]\nstacks = [\"examples/*\"]\nmodules = [\".\", \"mods/*\"]\n",
    );
    repo.write(
        "main.tf",
        "variable \"name\" {}\n\noutput \"name\" {\n  value = var.name\n}\n",
    );
    repo.write(
        "autogen/main.tf",
        "{% if private_cluster %}\nvariable \"enable_private_endpoint\" {}\n{% endif %}\n",
    );
    repo.write(
        "examples/a/main.tf",
        "module \"m\" {\n  source = \"../../\"\n  name   = \"a\"\n}\n",
    );
    repo.write("examples/b/main.tf", "output \"b\" {\n  value = 1\n}\n");
    repo.commit("a template named .tf");
    let list = repo.strata(&["list"]);
    assert_eq!(list.code, 0, "{}", list.stderr);
    repo.append("examples/b/main.tf", "# an edit\n");
    assert_eq!(repo.affected_labels(&["--base", "HEAD"]), ["examples/b"]);

    // A module whose called subdirectory holds the same template: that one is read.
    repo.write(
        "mods/called/main.tf",
        "module \"sub\" {\n  source = \"./sub\"\n}\n",
    );
    repo.write("mods/called/sub/main.tf", "{% if x %}\n");
    let list = repo.strata(&["list"]);
    assert_eq!(list.code, 2, "{}", list.stderr);
    assert!(
        list.stderr.contains("mods/called/sub/main.tf:1"),
        "{}",
        list.stderr
    );
    repo.remove("mods/called");

    // So does one another target calls straight into (`../../mods/plain/sub`).
    repo.write("mods/plain/main.tf", "variable \"x\" {}\n");
    repo.write("mods/plain/sub/main.tf", "{% if x %}\n");
    assert_eq!(repo.strata(&["list"]).code, 0);
    repo.write(
        "examples/c/main.tf",
        "module \"sub\" {\n  source = \"../../mods/plain/sub\"\n}\n",
    );
    let list = repo.strata(&["list"]);
    assert_eq!(list.code, 2, "{}", list.stderr);
    assert!(
        list.stderr.contains("mods/plain/sub/main.tf:1"),
        "{}",
        list.stderr
    );
    repo.remove("examples/c");

    // And one called from a directory that is no target (a vendored module), whose own
    // calls strata did not read: every such file counts then.
    repo.write(
        "vendor/a/main.tf",
        "module \"sub\" {\n  source = \"../../mods/plain/sub\"\n}\n",
    );
    repo.write(
        "examples/d/main.tf",
        "module \"a\" {\n  source = \"../../vendor/a\"\n}\n",
    );
    let list = repo.strata(&["list"]);
    assert_eq!(list.code, 2, "{}", list.stderr);
    assert!(
        list.stderr.contains("mods/plain/sub/main.tf:1"),
        "{}",
        list.stderr
    );
}

/// A module source terraform takes as a constant though it is not a plain string
/// (`("../m")`, `"${"../m"}"`) is followed; one it cannot be (`"${path.module}/m"`) is said
/// to be unresolved. Before, both were dropped without a word: no edge, and an edit of the
/// module affected nothing else.
#[test]
fn a_module_source_written_as_a_constant_expression_is_followed() {
    let repo = workspace();
    repo.write("modules/m/main.tf", "variable \"x\" {\n  default = 1\n}\n");
    repo.write(
        "stacks/paren/main.tf",
        "module \"m\" {\n  source = (\"../../modules/m\")\n}\n",
    );
    repo.write(
        "stacks/nested/main.tf",
        "module \"m\" {\n  source = \"${\"../../modules/m\"}\"\n}\n",
    );
    repo.write(
        "stacks/computed/main.tf",
        "module \"m\" {\n  source = \"${path.module}/../../modules/m\"\n}\n",
    );
    repo.commit("sources written as expressions");
    assert_each_edit_affects(
        &repo,
        &[(
            "modules/m/main.tf",
            &["modules/m", "stacks/nested", "stacks/paren"],
        )],
    );
    let explain = repo.strata(&["hash", "--explain", "stacks/computed"]);
    assert!(
        explain
            .stdout
            .contains("not tracked (paths computed at run time):\n    stacks/computed/main.tf:2"),
        "{}",
        explain.stdout
    );
}

/// A `helm_release` made for each element of a local (`for_each = local.charts`, `chart =
/// each.value`, or an attribute of it) deploys any chart the local may hold: an edit of the
/// chart affects the stack. Before, it was a silent miss: no edge and no warning.
#[test]
fn a_chart_a_helm_release_takes_from_its_for_each_is_an_input() {
    let repo = workspace();
    repo.write(
        "charts/web/Chart.yaml",
        "apiVersion: v2\nname: web\nversion: 0.1.0\n",
    );
    repo.write("charts/web/values.yaml", "replicas: 1\n");
    repo.write(
        "stacks/app/main.tf",
        "locals {\n  apps   = { web = { chart = \"${path.module}/../../charts/web\" } }\n  charts = { for k, v in local.apps : k => v.chart }\n}\n\nresource \"helm_release\" \"r\" {\n  for_each = local.charts\n  name     = each.key\n  chart    = each.value\n}\n",
    );
    repo.write(
        "stacks/app2/main.tf",
        "locals {\n  apps = { web = { chart = \"${path.module}/../../charts/web\" } }\n}\n\nresource \"helm_release\" \"r\" {\n  for_each = local.apps\n  name     = each.key\n  chart    = each.value.chart\n}\n",
    );
    repo.commit("releases for each chart");
    assert_each_edit_affects(
        &repo,
        &[(
            "charts/web/values.yaml",
            &["charts/web", "stacks/app", "stacks/app2"],
        )],
    );
}

/// A chart handed to a wrapper module inside a map (`helm_releases = { web = { chart =
/// "./charts/web" } }`, as eks-blueprints-addons takes it) is one the stack deploys: an
/// edit of the chart's `file://` dependency affects the stack, as it affects one deploying
/// the chart with `helm_release`. Before, the chart's own files were the stack's inputs, but
/// the dependency was missed without a word.
#[test]
fn a_chart_in_a_map_handed_to_a_module_is_deployed_by_the_stack() {
    let repo = workspace();
    repo.write(
        "stacks/app/main.tf",
        "module \"addons\" {\n  source  = \"aws-ia/eks-blueprints-addons/aws\"\n  version = \"1.0.0\"\n  helm_releases = {\n    web = {\n      chart = \"./charts/web\"\n    }\n    remote = {\n      chart      = \"karpenter\"\n      repository = \"oci://public.ecr.aws/karpenter\"\n    }\n  }\n  settings = { \"chart\" = \"${path.module}/charts/api\" }\n}\n",
    );
    repo.write(
        "stacks/app/charts/web/Chart.yaml",
        "apiVersion: v2\nname: web\nversion: 0.1.0\ndependencies:\n  - name: common\n    version: 0.1.0\n    repository: file://../../../../charts/common\n",
    );
    repo.write(
        "stacks/app/charts/web/templates/cm.yaml",
        "{{ include \"common.cm\" . }}\n",
    );
    repo.write(
        "stacks/app/charts/api/Chart.yaml",
        "apiVersion: v2\nname: api\nversion: 0.1.0\n",
    );
    repo.write(
        "charts/common/Chart.yaml",
        "apiVersion: v2\nname: common\nversion: 0.1.0\ntype: library\n",
    );
    repo.write(
        "charts/common/templates/_cm.tpl",
        "{{- define \"common.cm\" -}}\nkind: ConfigMap\n{{- end -}}\n",
    );
    repo.commit("initial");
    list_without_warnings(&repo);
    assert_each_edit_affects(
        &repo,
        &[
            (
                "charts/common/templates/_cm.tpl",
                &["charts/common", "stacks/app", "stacks/app/charts/web"],
            ),
            (
                "stacks/app/charts/api/Chart.yaml",
                &["stacks/app", "stacks/app/charts/api"],
            ),
        ],
    );
}
