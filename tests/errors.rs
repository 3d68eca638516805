//! Bad input: a clear message naming file and line, a hint, exit 2.
#![allow(clippy::disallowed_methods)] // tests drive git, the real strata binary and tools

mod common;
use common::{mask, Repo};

/// A workspace whose layout finds nothing (Terragrunt units whose code is fetched at run
/// time, a layout that misses every directory): a run of everything is refused, not a
/// green "0 tasks". Asked about what a change affects, nothing is a fine answer.
#[test]
fn a_workspace_without_targets_runs_nothing_green() {
    let repo = Repo::new();
    repo.write("WORKSPACE.toml", "[workspace]\nname = \"t\"\n");
    repo.write(
        "live/dev/vpc/terragrunt.hcl",
        "terraform {\n  source = \"git::https://example.com/m.git//vpc\"\n}\n",
    );
    repo.commit("terragrunt units only");
    for args in [
        &["check"][..],
        &["plan", "--env", "dev"],
        &["policy", "eval"],
    ] {
        let run = repo.strata(args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(
            run.stderr
                .contains("error: the workspace has no targets: there is nothing to run"),
            "{}",
            run.stderr
        );
    }
    repo.strata(&["check", "--affected", "--base", "HEAD"])
        .assert_ok();
}

#[test]
fn unknown_label_names_file_and_line() {
    let repo = Repo::with_fixture();
    repo.write(
        "stacks/app/stack.toml",
        "deps = [\n  \"stacks/database\",\n  \"stacks/netwrk\",\n]\n",
    );
    let run = repo.strata(&["list"]);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        "error: stack `stacks/app` depends on `stacks/netwrk`, which does not exist\n  --> stacks/app/stack.toml:3\nhint: did you mean `stacks/network`? Fix the label at the line shown\n"
    );
    assert_eq!(run.stdout, "");
    // No near miss: never `strata list`, which refuses while a target is broken.
    repo.write("stacks/app/stack.toml", "deps = [\"stacks/elsewhere\"]\n");
    let run = repo.strata(&["list"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("hint: fix the label at the line shown: no target has it")
            && !run.stderr.contains("strata list"),
        "{}",
        run.stderr
    );
}

#[test]
fn cycle_prints_whole_path() {
    let repo = Repo::with_fixture();
    repo.write("stacks/network/stack.toml", "deps = [\"stacks/app\"]\n");
    let run = repo.strata(&["graph"]);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        "error: dependency cycle: stacks/app -> stacks/database -> stacks/network -> stacks/app\n  --> stacks/app/stack.toml:1\nhint: remove one of these dependencies:\n  stacks/app/stack.toml:1\n  stacks/database/stack.toml:1\n  stacks/network/stack.toml:1\n"
    );
}

#[test]
fn malformed_files_name_line() {
    let repo = Repo::with_fixture();
    repo.write(
        "stacks/network/bad.tf",
        "resource \"null_resource\" \"x\" {\n  triggers = {\n}\n",
    );
    let run = repo.strata(&["hash"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.starts_with("error: HCL is malformed"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("--> stacks/network/bad.tf:"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("hint: "), "{}", run.stderr);
    repo.remove("stacks/network/bad.tf");

    repo.write("stacks/app/stack.toml", "deps = [\"stacks/database\"\n");
    let run = repo.strata(&["hash"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("TOML is malformed"), "{}", run.stderr);
    assert!(
        run.stderr.contains("--> stacks/app/stack.toml:"),
        "{}",
        run.stderr
    );
    repo.git(&["checkout", "--", "stacks/app/stack.toml"]);

    repo.write(
        "charts/web/Chart.yaml",
        "apiVersion: v2\nname: web\ndependencies:\n  - name: [\n",
    );
    let run = repo.strata(&["hash"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("YAML is malformed"), "{}", run.stderr);
    assert!(
        run.stderr.contains("--> charts/web/Chart.yaml:"),
        "{}",
        run.stderr
    );
}

#[test]
fn missing_module_source() {
    let repo = Repo::with_fixture();
    repo.write(
        "stacks/network/main.tf",
        "\nmodule \"vpc\" {\n  source = \"../../modules/vpcc\"\n}\n",
    );
    let run = repo.strata(&["list"]);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        "error: module source `../../modules/vpcc` does not exist (resolved to `modules/vpcc`)\n  --> stacks/network/main.tf:3\nhint: a local module source is a path relative to the file's directory; fix the path or add the module\n"
    );
}

#[test]
fn not_a_git_repository() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("WORKSPACE.toml"),
        "[workspace]\nname = \"x\"\n",
    )
    .unwrap();
    let run = common::strata(dir.path(), &["list"]);
    assert_eq!(run.code, 2);
    assert_eq!(
        mask(&run.stderr, &dir.path().canonicalize().unwrap()),
        "error: [TEMP] is not inside a git repository\nhint: strata identifies files by git object ids: run `git init` and commit, or run strata inside a clone\n"
    );
}

#[test]
fn unknown_revision() {
    let repo = Repo::with_fixture();
    let run = repo.strata(&["affected", "--base", "no-such-branch"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .starts_with("error: unknown revision `no-such-branch`\n"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("hint: "), "{}", run.stderr);
}

/// A closed stderr or stdout (a pipe whose reader died) loses the messages, never the exit code:
/// bad input is still exit 2, not a panic's 101.
#[test]
fn closed_output_streams_keep_the_exit_code() {
    let repo = Repo::with_fixture();
    for args in [
        &["affected", "--base", "no-such-branch"][..],
        &["check", "--env", "no-such-env"][..],
    ] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = repo
            .command(args)
            .stderr(writer)
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert_eq!(out.code(), Some(2), "{args:?}");
    }
    // A reader of stdout that went away does not turn a failure into a success.
    repo.write("loose/main.tf", "# a directory no layout covers\n");
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = repo
        .command(&["list", "--check", "--json"])
        .stdout(writer)
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert_eq!(out.code(), Some(1));
}

#[test]
fn no_workspace() {
    let dir = tempfile::tempdir().unwrap();
    let run = common::strata(dir.path(), &["list"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.starts_with("error: no WORKSPACE.toml found in "),
        "{}",
        run.stderr
    );
}

#[test]
fn shallow_clone_says_how_to_fetch_more_history() {
    let repo = Repo::with_fixture();
    repo.append("modules/db/main.tf", "# 2\n");
    repo.commit("second");
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.append("modules/db/main.tf", "# 3\n");
    repo.commit("third");
    repo.git(&["checkout", "-q", "main"]);
    repo.append("modules/naming/main.tf", "# main moves\n");
    repo.commit("main moves");
    let clone = tempfile::tempdir().unwrap();
    let url = format!("file://{}", repo.path().display());
    let status = std::process::Command::new("git")
        .args(["clone", "-q", "--depth", "1", "--no-single-branch", &url])
        .arg(clone.path().join("c"))
        .status()
        .unwrap();
    assert!(status.success());
    let run = common::strata(
        &clone.path().join("c"),
        &["affected", "--base", "origin/feature"],
    );
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains("this clone is shallow"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("git fetch --deepen"), "{}", run.stderr);
}

/// A shallow clone can hold a merge-base that is not the real one: history cut on the base
/// branch's side hides a later common ancestor, and git answers with an older one it can
/// still reach through a merged side branch. Compared with it, a change the branch undid
/// looked like no change at all.
#[test]
fn a_shallow_clone_whose_history_hides_the_real_merge_base_is_refused() {
    let repo = Repo::with_fixture();
    let tfvars = "environments/dev/stacks/network/terraform.tfvars";
    repo.write(tfvars, "cidr = \"10.0.0.0/16\"\n");
    let y = repo.commit("y: small");
    repo.write(tfvars, "cidr = \"10.9.0.0/16\"\n");
    repo.commit("x: large");
    // The branch forks at x and puts y's value back.
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write(tfvars, "cidr = \"10.0.0.0/16\"\n");
    repo.commit("f: back to small");
    // Main moves on, and merges a stale side branch made from y.
    repo.git(&["checkout", "-q", "main"]);
    repo.append("modules/naming/main.tf", "# a\n");
    repo.commit("a");
    repo.append("modules/naming/main.tf", "# b\n");
    repo.commit("b");
    repo.git(&["checkout", "-q", "-b", "side", &y]);
    repo.append("modules/db/main.tf", "# s\n");
    repo.commit("s");
    repo.git(&["checkout", "-q", "main"]);
    repo.git(&["merge", "-q", "--no-edit", "side"]);
    let clone = tempfile::tempdir().unwrap();
    let url = format!("file://{}", repo.path().display());
    let dir = clone.path().join("c");
    let status = std::process::Command::new("git")
        .args([
            "clone",
            "-q",
            "--depth",
            "3",
            "--no-single-branch",
            "-b",
            "feature",
            &url,
        ])
        .arg(&dir)
        .status()
        .unwrap();
    assert!(status.success());
    // The premise: git's merge-base here is y, not x.
    let mb = std::process::Command::new("git")
        .args(["merge-base", "origin/main", "HEAD"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&mb.stdout).trim(), y);
    let run = common::strata(&dir, &["affected", "--base", "origin/main"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr
            .contains("cannot be trusted: this clone is shallow"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("git fetch --deepen"), "{}", run.stderr);
    // With the whole history, the branch's change is seen.
    let status = std::process::Command::new("git")
        .args(["fetch", "-q", "--unshallow"])
        .current_dir(&dir)
        .status()
        .unwrap();
    assert!(status.success());
    let run = common::strata(&dir, &["affected", "--base", "origin/main", "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("\"stacks/network\""), "{}", run.stdout);
}

/// The shallow checkout of a merge commit (`fetch-depth: 2` on a push to main, or a pull
/// request's merge ref) cuts its second parent's history; its first parent is an ancestor
/// of it, so their merge-base is that parent whatever is cut, and `affected` answers.
#[test]
fn a_shallow_merge_commit_compared_with_its_first_parent_is_answered() {
    let repo = Repo::with_fixture();
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.append("modules/db/main.tf", "# the change\n");
    repo.commit("the change");
    repo.git(&["checkout", "-q", "main"]);
    repo.append("modules/naming/main.tf", "# main moves\n");
    repo.commit("main moves");
    repo.git(&["merge", "-q", "--no-ff", "--no-edit", "feature"]);
    let clone = tempfile::tempdir().unwrap();
    let url = format!("file://{}", repo.path().display());
    let dir = clone.path().join("c");
    let status = std::process::Command::new("git")
        .args(["clone", "-q", "--depth", "2", &url])
        .arg(&dir)
        .status()
        .unwrap();
    assert!(status.success());
    let run = common::strata(&dir, &["affected", "--base", "HEAD^1", "--head", "HEAD"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("modules/db"), "{}", run.stdout);
    assert!(!run.stdout.contains("modules/naming"), "{}", run.stdout);
}

#[test]
fn run_commands_reject_bad_input_before_running_anything() {
    let repo = Repo::with_fixture();
    let run = repo.strata(&["check", "--env", "qa"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .starts_with("error: no environment `qa` (--env)\n  --> command line\n"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("env.toml under environments/: dev, staging, prod"),
        "{}",
        run.stderr
    );
    let run = repo.strata(&["check", "--env", "prd"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("did you mean `prod`?"),
        "{}",
        run.stderr
    );
    // Shards exchange nothing: an apply split into shards would plan dependents against
    // outputs another shard is about to change.
    let run = repo.strata(&["apply", "--env", "dev", "--auto-approve", "--shard", "1/2"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .starts_with("error: apply is not split into shards"),
        "{}",
        run.stderr
    );
    // A report path that cannot be written is found before anything runs.
    repo.write("a-file", "not a directory\n");
    let run = repo.strata(&["check", "--junit", "a-file/junit.xml"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .starts_with("error: cannot write a-file/junit.xml"),
        "{}",
        run.stderr
    );
    let run = repo.strata(&["check", "stacks/nope"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.starts_with("error: no target `stacks/nope`"),
        "{}",
        run.stderr
    );
    let run = repo.strata(&["plan"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--env is required"), "{}", run.stderr);
    assert!(!repo.path().join(".strata/work").exists(), "nothing ran");
}

#[test]
fn a_tool_at_the_wrong_version_is_an_error_before_anything_runs() {
    let repo = Repo::with_fixture();
    // A terraform that reports another version, found through tools_dir.
    let text = std::fs::read_to_string(repo.path().join("WORKSPACE.toml")).unwrap();
    repo.write(
        "WORKSPACE.toml",
        &text.replace(
            "helm = \"4.1.4\"\n",
            "helm = \"4.1.4\"\ntools_dir = \"bin\"\n",
        ),
    );
    repo.write(
        "bin/terraform",
        "#!/bin/sh\necho '{\"terraform_version\": \"1.9.8\"}'\n",
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            repo.path().join("bin/terraform"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
    }
    let run = repo.strata(&["check", "--env", "dev", "modules/naming"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr
            .contains("reports terraform 1.9.8, but WORKSPACE.toml pins 1.0.3"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("hint: "), "{}", run.stderr);
    assert!(!repo.path().join(".strata/work").exists(), "nothing ran");
    // `strata tools` says the same, with exit 1.
    let tools = repo.strata(&["tools"]);
    assert_eq!(tools.code, 1);
    assert!(
        tools.stdout.contains("FAIL  terraform 1.0.3"),
        "{}",
        tools.stdout
    );
}

#[test]
fn an_unknown_state_backend_is_a_configuration_error() {
    let repo = Repo::with_fixture();
    repo.write(
        "environments/staging/env.toml",
        "promotes_from = \"dev\"\n\n[state]\nbackend = \"s4\"\n",
    );
    let run = repo.strata(&["list"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("`s4` is not a state backend strata configures")
            && run.stderr.contains("--> environments/staging/env.toml:4")
            && run.stderr.contains("did you mean `s3`?"),
        "{}",
        run.stderr
    );
    // A state setting of the wrong shape is refused where it is written.
    repo.write(
        "environments/staging/env.toml",
        "promotes_from = \"dev\"\n\n[state]\nbackend = \"s3\"\nlock_timeout = \"soon\"\n",
    );
    let run = repo.strata(&["list"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("`lock_timeout` is `soon`, not a duration")
            && run.stderr.contains("--> environments/staging/env.toml:5"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_default_branch_this_repository_lacks_says_where_it_comes_from() {
    let repo = Repo::new();
    repo.git(&["checkout", "-q", "-b", "master"]);
    repo.write("WORKSPACE.toml", "[workspace]\nname = \"t\"\n");
    repo.write("stacks/a/main.tf", "variable \"x\" {}\n");
    repo.commit("initial");
    let run = repo.strata(&["affected"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("unknown revision `main`"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("default_branch = \"main\"") && run.stderr.contains("--base"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("master"), "{}", run.stderr);
}

#[test]
fn a_shallow_clone_without_the_base_says_it_is_shallow() {
    let repo = Repo::with_fixture();
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.append("modules/db/main.tf", "# 2\n");
    repo.commit("feature");
    let clone = tempfile::tempdir().unwrap();
    let url = format!("file://{}", repo.path().display());
    let status = std::process::Command::new("git")
        .args(["clone", "-q", "--depth", "1", "--branch", "feature", &url])
        .arg(clone.path().join("c"))
        .status()
        .unwrap();
    assert!(status.success());
    let run = common::strata(
        &clone.path().join("c"),
        &["affected", "--base", "origin/main"],
    );
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains("this clone is shallow"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("git fetch --depth=200 origin main`"),
        "{}",
        run.stderr
    );
    // A revision relative to a branch: the fetch it suggests names the branch (git refuses
    // `main~1` as a refspec).
    let run = common::strata(
        &clone.path().join("c"),
        &["affected", "--base", "origin/main~1"],
    );
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains("git fetch --depth=200 origin main`"),
        "{}",
        run.stderr
    );
}

/// A module vendored as a git submodule: its files are not in the repository's tree, so
/// the error says so and names the submodule, instead of only "does not exist".
#[test]
fn a_module_in_a_git_submodule_is_named_as_such() {
    let (repo, _vendor) = with_submodule("modules/x/main.tf", "output \"q\" {\n  value = 1\n}\n");
    repo.write(
        "stacks/app/vendored.tf",
        "module \"x\" {\n  source = \"../../vendor/shared/modules/x\"\n}\n",
    );
    repo.commit("vendored module");
    let run = repo.strata(&["list"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("module source `../../vendor/shared/modules/x` does not exist")
            && run.stderr.contains("--> stacks/app/vendored.tf:2")
            && run.stderr.contains("git submodule `vendor/shared`"),
        "{}",
        run.stderr
    );
}

/// A module source that leads to a directory without Terraform files says so, not that the
/// directory does not exist.
#[test]
fn a_module_source_without_terraform_files_is_told_apart_from_a_missing_one() {
    let repo = Repo::with_fixture();
    repo.write("shared/notes.txt", "not a module\n");
    repo.write(
        "stacks/app/shared.tf",
        "module \"s\" {\n  source = \"../../shared\"\n}\n",
    );
    repo.commit("a module source without .tf files");
    let run = repo.strata(&["list"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "module source `../../shared` holds no Terraform files (resolved to `shared`)"
        ) && run.stderr.contains("--> stacks/app/shared.tf:2"),
        "{}",
        run.stderr
    );
}

/// The fixture with a repository holding `file` added as the git submodule `vendor/shared`
/// (not committed yet), and that repository.
fn with_submodule(file: &str, text: &str) -> (Repo, Repo) {
    let vendor = Repo::new();
    vendor.write(file, text);
    vendor.commit("vendored");
    let repo = Repo::with_fixture();
    add_submodule(&repo, &vendor, "vendor/shared");
    (repo, vendor)
}

/// Adds `vendor` to `repo` as the git submodule at `path` (not committed yet).
fn add_submodule(repo: &Repo, vendor: &Repo, path: &str) {
    let url = vendor.path().display().to_string();
    repo.git(&[
        "-c",
        "protocol.file.allow=always",
        "submodule",
        "add",
        "-q",
        &url,
        path,
    ]);
}

/// Moves the submodule at `path` to its repository's latest commit and commits that alone;
/// returns how `affected` against the commit before reports `label`.
fn move_submodule(repo: &Repo, path: &str, label: &str) -> serde_json::Value {
    repo.git(&[
        "-c",
        "protocol.file.allow=always",
        "submodule",
        "update",
        "--remote",
        "-q",
        path,
    ]);
    repo.git(&["add", path]);
    repo.commit("the submodule moves");
    let affected = repo.strata(&["affected", "--base", "HEAD~1", "--json"]);
    let json: serde_json::Value = serde_json::from_str(&affected.stdout).unwrap();
    json["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["label"] == label)
        .cloned()
        .unwrap_or_else(|| panic!("{json}"))
}

/// A file read, or a directory a provider argument reads, inside a git submodule: its files
/// are not in the tree strata models, so a new commit of the submodule would go unseen.
/// The target cannot be modelled (exit 2 in `list`, `broken` in `affected`), never a
/// silent "missing" input.
#[test]
fn a_read_into_a_git_submodule_is_named_and_the_target_broken() {
    let (repo, vendor) = with_submodule("cfg/x.json", "{}\n");
    repo.write(
        "stacks/app/reads.tf",
        "output \"cfg\" {\n  value = file(\"${path.module}/../../vendor/shared/cfg/x.json\")\n}\n",
    );
    repo.commit("a stack reading a submodule's file");
    let run = repo.strata(&["list"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "file() reads `vendor/shared/cfg/x.json`, inside the git submodule `vendor/shared`"
        ) && run.stderr.contains("--> stacks/app/reads.tf:2"),
        "{}",
        run.stderr
    );
    // A commit that only moves the submodule to a new commit: the stack is affected.
    vendor.write("cfg/x.json", "{\"v\": 2}\n");
    vendor.commit("config v2");
    let app = move_submodule(&repo, "vendor/shared", "stacks/app");
    assert_eq!(app["reason"], "broken", "{app}");
}

/// A subchart vendored as a git submodule inside a chart: helm packages and renders it, but
/// its files are not in the tree strata reads. The chart cannot be modelled (named, with
/// `.gitmodules`' line; `broken` in `affected`), so a new commit of the submodule is never a
/// change to nothing.
#[test]
fn a_git_submodule_inside_a_chart_makes_the_chart_broken() {
    let vendor = Repo::new();
    vendor.write("Chart.yaml", "apiVersion: v2\nname: sub\nversion: 0.1.0\n");
    vendor.write("templates/s.yaml", "kind: Secret\n");
    vendor.commit("subchart");
    let repo = Repo::with_fixture();
    add_submodule(&repo, &vendor, "charts/web/charts/sub");
    repo.commit("a subchart as a submodule");
    let run = repo.strata(&["list"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("the git submodule `charts/web/charts/sub` lies inside chart `charts/web`")
            && run.stderr.contains("--> .gitmodules:2"),
        "{}",
        run.stderr
    );
    // Only the submodule moves: the chart is affected.
    vendor.write("templates/s.yaml", "kind: Secret\n---\nkind: ConfigMap\n");
    vendor.commit("a second object");
    let web = move_submodule(&repo, "charts/web/charts/sub", "charts/web");
    assert_eq!(web["reason"], "broken", "{web}");
    // The chart the broken one depends on is not affected by it.
    let affected = repo.strata(&["affected", "--base", "HEAD~1"]);
    assert!(
        !affected.stdout.contains("charts/lib"),
        "{}",
        affected.stdout
    );
    // The submodule removed, its `.gitmodules` entry left behind (quoted, as git may
    // write it): nothing of it is in the chart any more.
    repo.git(&["rm", "-q", "--cached", "charts/web/charts/sub"]);
    std::fs::remove_dir_all(repo.path().join("charts/web/charts/sub")).unwrap();
    repo.write(
        ".gitmodules",
        "[submodule \"charts/web/charts/sub\"]\n\tPath = \"charts/web/charts/sub\"\n\turl = x\n",
    );
    repo.commit("the submodule removed");
    let run = repo.strata(&["list"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

/// A workspace in a subdirectory of its repository: git keeps `.gitmodules` at the top,
/// with paths from there; a submodule inside a chart of the workspace is still found.
#[test]
fn a_submodule_inside_a_chart_is_found_from_a_workspace_in_a_subdirectory() {
    let vendor = Repo::new();
    vendor.write("Chart.yaml", "apiVersion: v2\nname: sub\nversion: 0.1.0\n");
    vendor.commit("subchart");
    let repo = Repo::new();
    repo.write("infra/WORKSPACE.toml", "[workspace]\nname = \"t\"\n");
    repo.write(
        "infra/charts/app/Chart.yaml",
        "apiVersion: v2\nname: app\nversion: 0.1.0\n",
    );
    repo.write("infra/charts/app/templates/cm.yaml", "kind: ConfigMap\n");
    add_submodule(&repo, &vendor, "infra/charts/app/charts/sub");
    repo.commit("a subchart as a submodule");
    let run = repo.strata_in(&repo.path().join("infra"), &["list"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("the git submodule `charts/app/charts/sub` lies inside chart `charts/app`")
            && run.stderr.contains("--> ../.gitmodules:2"),
        "{}",
        run.stderr
    );
}

/// A Terragrunt unit's dependency on a directory that does not exist: named with its file
/// and line, with a hint, exit 2.
#[test]
fn a_terragrunt_dependency_that_leads_nowhere_is_named() {
    let repo = Repo::with_fixture();
    repo.write(
        "stacks/app/terragrunt.hcl",
        "dependency \"vpc\" {\n  config_path = \"../nope\"\n}\n",
    );
    repo.commit("unit");
    let run = repo.strata(&["list"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("Terragrunt dependency `../nope` leads nowhere (resolved to `stacks/nope`)")
            && run.stderr.contains("--> stacks/app/terragrunt.hcl:2")
            && run.stderr.contains("relative to the unit's directory"),
        "{}",
        run.stderr
    );
}

/// A Terragrunt path led by a directory function that leaves the workspace names the
/// directory it started from: `${get_parent_terragrunt_dir()}` is the included
/// configuration's, which the path alone does not show.
#[test]
fn a_terragrunt_path_leaving_the_workspace_names_where_it_started() {
    let repo = Repo::with_fixture();
    repo.write("live/root.hcl", "locals {}\n");
    repo.write(
        "stacks/unit/terragrunt.hcl",
        "terraform {\n  source = \"${get_parent_terragrunt_dir()}/../../modules/vpc\"\n}\n\
         include {\n  path = \"../../live/root.hcl\"\n}\n",
    );
    repo.write(
        "stacks/unit/main.tf",
        "terraform {\n  backend \"local\" {}\n}\n",
    );
    repo.commit("unit");
    let run = repo.strata(&["list"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "a path Terragrunt resolves, `${get_parent_terragrunt_dir()}/../../modules/vpc` from `live`, is outside the workspace"
        ) && run.stderr.contains("--> stacks/unit/terragrunt.hcl:2"),
        "{}",
        run.stderr
    );
}

/// The fixture workspace running the pinned terraform and helm (these tests run some).
fn fixture_with_pinned_tools() -> Repo {
    let repo = Repo::with_fixture();
    // WORKSPACE.toml ends with its [toolchain] table.
    repo.append(
        "WORKSPACE.toml",
        "tools_dir = \".tools/bin\"\nterraform_cli_config = \".tools/terraform.rc\"\n",
    );
    repo.write(".gitignore", ".strata/\n.tools\n");
    common::link_pinned_tools(&repo);
    repo.commit("the pinned tools");
    repo
}

/// A Terragrunt unit with Terraform files of its own whose code, inputs or state only
/// Terragrunt supplies (`terraform { source }` in the unit, `remote_state` in the root
/// configuration it includes): strata, which runs terraform in the unit's directory, would
/// plan its own files alone and report the unit as planned and applied. `check`, `plan` and
/// `apply` refuse it with every such setting named (exit 2), on a warm run as on a cold one
/// (the model saved between runs keeps what makes it refuse), and record nothing; `list`
/// and `affected` still model it, and the other targets still run. A root configuration
/// included with `merge_strategy = "no_merge"` is not merged into the unit.
#[test]
fn a_terragrunt_unit_strata_cannot_run_is_refused_not_passed() {
    let repo = fixture_with_pinned_tools();
    repo.write(
        "stacks/root.hcl",
        "remote_state {\n  backend = \"s3\"\n  config  = {}\n}\n",
    );
    repo.write(
        "stacks/unit/terragrunt.hcl",
        "include \"root\" {\n  path = find_in_parent_folders(\"root.hcl\")\n}\n\
         terraform {\n  source = \"../../modules//vpc\"\n}\n",
    );
    repo.write(
        "stacks/unit/main.tf",
        "terraform {\n  backend \"local\" {}\n}\n",
    );
    repo.write(
        "stacks/plain/terragrunt.hcl",
        "include \"root\" {\n  path           = find_in_parent_folders(\"root.hcl\")\n  merge_strategy = \"no_merge\"\n}\n",
    );
    repo.write(
        "stacks/plain/main.tf",
        "resource \"null_resource\" \"p\" {}\n",
    );
    repo.commit("terragrunt units");
    assert_eq!(repo.strata(&["list"]).code, 0);
    for (round, args) in [
        &["check", "--env", "dev"][..],
        &["check", "--env", "dev"],
        &["plan", "--env", "dev", "stacks/unit"],
        &["apply", "--env", "dev", "--auto-approve"],
    ]
    .into_iter()
    .enumerate()
    {
        let run = repo.strata(args);
        assert_eq!(
            run.code, 2,
            "run {round}: {args:?}\n{}{}",
            run.stdout, run.stderr
        );
        assert!(
            run.stderr.contains(
                "strata runs terraform in the Terragrunt unit stacks/unit, not Terragrunt: \
                 the module its `terraform { source }` names would be neither planned nor applied"
            ) && run.stderr.contains("--> stacks/unit/terragrunt.hcl:5")
                && run
                    .stderr
                    .contains("`remote_state` would not configure the state")
                && run.stderr.contains("(stacks/root.hcl:1)")
                && run
                    .stderr
                    .contains("1 target(s) in all cannot be run by strata")
                && !run.stderr.contains("stacks/plain"),
            "run {round}: {args:?}\n{}",
            run.stderr
        );
        assert!(
            !run.stderr.contains("plan [dev]"),
            "run {round}: {}",
            run.stderr
        );
    }
    assert!(!repo
        .path()
        .join("environments/dev/release.lock.toml")
        .exists());
    // The unit whose root configuration is not merged, and the other targets, still run.
    let run = repo.strata(&["check", "--env", "dev", "stacks/plain", "stacks/network"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("stacks/plain plan [dev]"),
        "{}",
        run.stderr
    );
}

/// Every other setting only Terragrunt applies is named too, in the forms Terragrunt takes
/// (`remote_state` and `generate` as attributes, hooks, `extra_arguments`, `iam_role`,
/// `run_cmd`), as are an include strata cannot resolve and a unit written in JSON; a
/// `prevent_destroy` stands in the way of `destroy` only.
#[test]
fn every_setting_only_terragrunt_applies_is_refused() {
    let repo = fixture_with_pinned_tools();
    repo.write(
        "stacks/unit/terragrunt.hcl",
        "locals {\n  who = run_cmd(\"whoami\")\n}\n\
         remote_state = { backend = \"local\" }\n\
         generate = local.files\n\
         iam_role = \"arn:aws:iam::1:role/deployer\"\n\
         terraform {\n  extra_arguments \"vars\" {\n    commands = [\"plan\"]\n  }\n  before_hook \"h\" {\n    commands = [\"plan\"]\n    execute  = [\"touch\", \"x.tf\"]\n  }\n}\n\
         include \"root\" {\n  path = abspath(\"../../root.hcl\")\n}\n",
    );
    repo.write(
        "stacks/unit/main.tf",
        "resource \"null_resource\" \"u\" {}\n",
    );
    // An include whose file is found nowhere above the unit (a root configuration above
    // the workspace, which strata does not see).
    repo.write(
        "stacks/above/terragrunt.hcl",
        "include \"root\" {\n  path = find_in_parent_folders(\"root-above.hcl\")\n}\n",
    );
    repo.write(
        "stacks/above/main.tf",
        "resource \"null_resource\" \"a\" {}\n",
    );
    repo.write(
        "stacks/json/terragrunt.hcl.json",
        "{\"inputs\": {\"a\": 1}}\n",
    );
    repo.write(
        "stacks/json/main.tf",
        "resource \"null_resource\" \"j\" {}\n",
    );
    repo.write("stacks/kept/terragrunt.hcl", "prevent_destroy = true\n");
    repo.write(
        "stacks/kept/main.tf",
        "resource \"null_resource\" \"k\" {}\n",
    );
    repo.commit("units");
    let run = repo.strata(&[
        "check",
        "--env",
        "dev",
        "stacks/unit",
        "stacks/json",
        "stacks/above",
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    for (what, at) in [
        ("the command `run_cmd` runs", "stacks/unit/terragrunt.hcl:2"),
        (
            "its `remote_state` would not configure the state",
            "stacks/unit/terragrunt.hcl:4",
        ),
        (
            "the file its `generate` block writes",
            "stacks/unit/terragrunt.hcl:5",
        ),
        ("as the IAM role it names", "stacks/unit/terragrunt.hcl:6"),
        ("its `extra_arguments` pass", "stacks/unit/terragrunt.hcl:8"),
        (
            "the commands its hook runs",
            "stacks/unit/terragrunt.hcl:11",
        ),
        (
            "cannot find the configuration this `include` names",
            "stacks/unit/terragrunt.hcl:17",
        ),
        (
            "does not read `terragrunt.hcl.json`",
            "stacks/json/terragrunt.hcl.json",
        ),
        (
            "cannot find the configuration this `include` names",
            "stacks/above/terragrunt.hcl:2",
        ),
    ] {
        assert!(
            run.stderr.contains(what) && run.stderr.contains(at),
            "{what} at {at}:\n{}",
            run.stderr
        );
    }
    assert!(
        run.stderr
            .contains("3 target(s) in all cannot be run by strata"),
        "{}",
        run.stderr
    );
    // A deleted unit is destroyed with its code at the base: refused there as well.
    repo.remove("stacks/unit");
    repo.commit("the unit goes");
    let run = repo.strata(&[
        "destroy",
        "--env",
        "dev",
        "--auto-approve",
        "--from",
        "HEAD~1",
        "stacks/unit",
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("its `remote_state` would not configure the state"),
        "{}",
        run.stderr
    );
    // A unit that only forbids its destruction runs; its destroy is refused.
    let run = repo.strata(&["check", "--env", "dev", "stacks/kept"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = repo.strata(&["destroy", "--env", "dev", "--auto-approve", "stacks/kept"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("its `prevent_destroy` forbids destroying it")
            && run.stderr.contains("--> stacks/kept/terragrunt.hcl:1"),
        "{}",
        run.stderr
    );
}

/// A file that is there but cannot be read is never taken for deleted: owned by a target
/// (whose policy, manifest settings or code would be dropped without a word), the target
/// cannot be modelled and `list` says which file (exit 2); read by nothing (a note the
/// workspace ignores), it stays harmless. Root reads every file, so as root strata runs
/// as an unprivileged user (`setpriv`).
#[cfg(unix)]
#[test]
fn an_unreadable_file_is_an_error_not_a_deletion() {
    use std::os::unix::fs::PermissionsExt;
    let repo = Repo::with_fixture();
    repo.write("stacks/app/extra.tf", "variable \"y\" {}\n");
    repo.write("stacks/app/NOTES.md", "private\n");
    let root = running_as_root();
    let home = tempfile::tempdir().unwrap();
    let bin = home.path().join("strata");
    std::fs::copy(env!("CARGO_BIN_EXE_strata"), &bin).unwrap();
    if root {
        // Everything the unprivileged user needs: the repository (git refuses one owned by
        // another user), a home, and the binary on a path it may traverse.
        for dir in [repo.path(), home.path()] {
            let status = std::process::Command::new("chown")
                .args(["-R", "65534:65534"])
                .arg(dir)
                .status()
                .unwrap();
            assert!(status.success());
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
    }
    // Unreadable to the user running strata (as root: root's, mode 000).
    let lock = |path: &str| {
        let file = repo.path().join(path);
        if root {
            let status = std::process::Command::new("chown")
                .arg("0:0")
                .arg(&file)
                .status()
                .unwrap();
            assert!(status.success());
        }
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o000)).unwrap();
    };
    let list = || {
        let mut command = if root {
            let mut c = std::process::Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
                .arg(&bin);
            c
        } else {
            std::process::Command::new(&bin)
        };
        let out = command
            .args(["list"])
            .current_dir(repo.path())
            .env("HOME", home.path())
            .env("STRATA_DAEMON", "0")
            .env("STRATA_STATE_DIR", home.path().join("state"))
            .env_remove("GIT_DIR")
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    lock("stacks/app/NOTES.md");
    let (code, stderr) = list();
    assert_eq!(code, Some(0), "a file nothing reads: {stderr}");
    lock("stacks/app/extra.tf");
    let (code, stderr) = list();
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("`stacks/app/extra.tf` cannot be read"),
        "{stderr}"
    );
}

/// Whether the tests run as root (who reads files whatever their permissions).
fn running_as_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// A bad `promotes_from` is shown where it is written, not in the file of an environment
/// that promotes from the one at fault.
#[test]
fn a_bad_promotes_from_names_its_own_file() {
    let repo = Repo::with_fixture();
    repo.write(
        "environments/dev/env.toml",
        "[state]\nbackend = \"local\"\n",
    );
    repo.write(
        "environments/staging/env.toml",
        "promotes_from = \"dve\"\n[state]\nbackend = \"local\"\n",
    );
    repo.write(
        "environments/prod/env.toml",
        "promotes_from = \"staging\"\n[state]\nbackend = \"local\"\n",
    );
    let run = repo.strata(&["list"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("`promotes_from` names `dve`")
            && run.stderr.contains("--> environments/staging/env.toml:1"),
        "{}",
        run.stderr
    );
    repo.write(
        "environments/staging/env.toml",
        "promotes_from = \"staging\"\n[state]\nbackend = \"local\"\n",
    );
    let run = repo.strata(&["list"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("promotion loop: staging <- staging")
            && run.stderr.contains("--> environments/staging/env.toml:1"),
        "{}",
        run.stderr
    );
}

/// A tracked marker file replaced by a directory in the work tree (git reports the file
/// deleted and does not look inside): refused, as when the directory is committed, never
/// taken as a stack without its settings.
#[test]
fn a_marker_file_turned_directory_in_the_work_tree_is_refused() {
    let repo = Repo::with_fixture();
    repo.write("stacks/app/stack.toml", "deps = [\"stacks/database\"]\n");
    repo.commit("app settings");
    std::fs::remove_file(repo.path().join("stacks/app/stack.toml")).unwrap();
    repo.write("stacks/app/stack.toml/settings", "deps = []\n");
    let run = repo.strata(&["list"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("`stacks/app/stack.toml` is a directory, not a file"),
        "{}",
        run.stderr
    );
}

/// An unknown base lists the branches there are, without the remote's HEAD (which git
/// shortens to the remote's name).
#[test]
fn an_unknown_base_lists_the_branches_and_no_remote_head() {
    let remote = Repo::with_fixture();
    let clone = tempfile::tempdir().unwrap();
    let status = std::process::Command::new("git")
        .args(["clone", "-q"])
        .arg(remote.path())
        .arg(clone.path())
        .status()
        .unwrap();
    assert!(status.success());
    let run = common::strata(clone.path(), &["affected", "--base", "nope"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("this repository's branches are: main, origin/main;"),
        "{}",
        run.stderr
    );
    // A remote-tracking name is fetched by its branch's name (`git fetch origin
    // origin/release` fetches nothing).
    let run = common::strata(clone.path(), &["affected", "--base", "origin/release"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("(`git fetch origin release`)"),
        "{}",
        run.stderr
    );
}

/// A configuration file that is not valid UTF-8 is refused at its line, as WORKSPACE.toml
/// is: decoded with U+FFFD in it, a setting would be another setting (a policy's `labels`
/// glob, a waiver's rule).
#[test]
fn configuration_files_that_are_not_utf8_name_their_line() {
    let repo = Repo::with_fixture();
    repo.write(
        "policies/tags/main.rego",
        "package strata.tags\n\ndeny contains msg if {\n\tfalse\n\tmsg := \"never\"\n}\n",
    );
    repo.commit("a policy");
    for (path, line) in [
        ("environments/dev/env.toml", 2),
        ("stacks/app/stack.toml", 2),
        ("policies/tags/policy.toml", 2),
        ("policies/waivers.toml", 2),
    ] {
        let before = std::fs::read(repo.path().join(path)).unwrap_or_default();
        let mut bytes = b"# first\n# \xff\n".to_vec();
        bytes.extend_from_slice(&before);
        std::fs::create_dir_all(repo.path().join(path).parent().unwrap()).unwrap();
        std::fs::write(repo.path().join(path), &bytes).unwrap();
        let run = repo.strata(&["list"]);
        assert_eq!(run.code, 2, "{path}: {}", run.stderr);
        assert!(
            run.stderr.contains(&format!("`{path}` is not valid UTF-8"))
                && run.stderr.contains(&format!("--> {path}:{line}")),
            "{path}: {}",
            run.stderr
        );
        std::fs::write(repo.path().join(path), &before).unwrap();
    }
}

/// A temporary directory strata cannot write is named as the cause, not the tool.
#[test]
fn an_unwritable_temporary_directory_is_named() {
    let repo = common::tools_repo();
    repo.write("stacks/a/main.tf", "output \"v\" {\n  value = 1\n}\n");
    repo.commit("a stack");
    let missing = repo.path().join("no-such-dir");
    let out = repo
        .command(&["check", "stacks/a"])
        .env("TMPDIR", &missing)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("temporary directory {}", missing.display()))
            && stderr.contains("set TMPDIR to a writable directory"),
        "{stderr}"
    );
}

/// A configuration strata reads as text (env.toml, the waivers file, policy.toml) committed
/// as a link: git records the path it points to, which was read as its settings ("TOML is
/// malformed", or, for a link whose text parses, settings nobody wrote). The link is named,
/// with the fix.
#[test]
fn a_configuration_file_committed_as_a_link_is_named() {
    let repo = Repo::with_fixture();
    repo.write(
        "environments/dev/env.toml",
        "[state]\nbackend = \"local\"\n",
    );
    std::fs::create_dir_all(repo.path().join("environments/qa")).unwrap();
    std::os::unix::fs::symlink(
        "../dev/env.toml",
        repo.path().join("environments/qa/env.toml"),
    )
    .unwrap();
    let run = repo.strata(&["list"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.starts_with(
            "error: `environments/qa/env.toml` is a symbolic link (to `../dev/env.toml`)"
        ) && run.stderr.contains("  --> environments/qa/env.toml\n")
            && run.stderr.contains("hint: commit the file itself"),
        "{}",
        run.stderr
    );
    std::fs::remove_file(repo.path().join("environments/qa/env.toml")).unwrap();
    repo.write("shared/waivers.toml", "");
    std::os::unix::fs::symlink(
        "../shared/waivers.toml",
        repo.path().join("policies/waivers.toml"),
    )
    .unwrap();
    let run = repo.strata(&["list"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr
            .starts_with("error: `policies/waivers.toml` is a symbolic link"),
        "{}",
        run.stderr
    );
}

/// Settings that would make strata check less than they say, because of a typo, are bad
/// input at their line (or, for what the layout leaves out, said by every run): each was
/// accepted without a word, and the run that followed was green having checked less.
#[test]
fn typos_that_would_check_less_are_refused_or_said() {
    let repo = Repo::with_fixture();
    let list = |repo: &Repo| repo.strata(&["list"]);
    let refused = |run: common::Run, file_line: &str, what: &str| {
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert!(
            run.stderr.contains(what) && run.stderr.contains(&format!("--> {file_line}\n")),
            "{}",
            run.stderr
        );
    };

    // An `extra_inputs` glob that matches nothing declared the read it was meant to
    // resolve, and silenced the warning about it.
    repo.write(
        "stacks/network/stack.toml",
        "extra_inputs = [\"../../shared/conifg.json\"]\n",
    );
    refused(
        list(&repo),
        "stacks/network/stack.toml:1",
        "`extra_inputs` entry `../../shared/conifg.json` matches no file in the repository",
    );
    repo.write(
        "stacks/network/stack.toml",
        "extra_inputs = [\"../../shared/*.json\"]\n",
    );
    list(&repo).assert_ok();
    std::fs::remove_file(repo.path().join("stacks/network/stack.toml")).unwrap();

    // A global input matching no file: a change to the file meant affected nothing.
    let workspace = std::fs::read_to_string(repo.path().join("WORKSPACE.toml")).unwrap();
    repo.write(
        "WORKSPACE.toml",
        &workspace.replace("shared/global/*.json", "shared/globl/*.json"),
    );
    refused(
        list(&repo),
        "WORKSPACE.toml:4",
        "`global_inputs` entry `shared/globl/*.json` matches no file",
    );
    // A commit that has it is still modelled (as a base, for `destroy --from`): only the
    // work tree's settings can be fixed.
    repo.commit("a typo");
    repo.write("WORKSPACE.toml", &workspace);
    repo.commit("fixed");
    let run = repo.strata(&["affected", "--base", "HEAD~1"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stderr.contains("modelled"), "{}", run.stderr);

    // `kinds = []` governed nothing (`labels = []` means all).
    repo.write("policies/p/policy.toml", "labels = []\nkinds = []\n");
    repo.write(
        "policies/p/p.rego",
        "package main\n\ndeny contains \"no\" if { false }\n",
    );
    refused(list(&repo), "policies/p/policy.toml:2", "`kinds` is empty");
    repo.write("policies/p/policy.toml", "kinds = [\"policy\"]\n");
    refused(
        list(&repo),
        "policies/p/policy.toml:1",
        "`kinds` names only `policy`",
    );
    std::fs::remove_file(repo.path().join("policies/p/policy.toml")).unwrap();

    // State settings of a stack that does not exist set nothing: the stack's own state
    // was never read.
    repo.write(
        "environments/dev/env.toml",
        "# the state of \"stacks/netwrok\" was adopted\n[gates]\nrequire = [\"plan\"]\n\n[state.stacks.\"stacks/netwrok\"]\npath = \"/tmp/network.tfstate\"\n",
    );
    refused(
        list(&repo),
        "environments/dev/env.toml:5",
        "[state.stacks.\"stacks/netwrok\"] names no stack",
    );
    let run = repo.strata(&["plan", "--env", "dev", "stacks/network"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("did you mean `stacks/network`?"),
        "{}",
        run.stderr
    );
    repo.write(
        "environments/dev/env.toml",
        "[gates]\nrequire = [\"plan\"]\n",
    );

    // Rego the layout leaves out is no policy: listed by `list`, said by every run.
    let workspace = std::fs::read_to_string(repo.path().join("WORKSPACE.toml")).unwrap();
    repo.write(
        "WORKSPACE.toml",
        &format!("{workspace}\n[layout]\npolicies = [\"policy/**\"]\n"),
    );
    let run = repo.strata(&["list", "--check"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("  policies/p/\n"), "{}", run.stderr);
    // Rego at the top of `policies/` too, which every policy reads for its waivers.
    repo.write("policies/top.rego", "package main\n");
    let run = repo.strata(&["list", "--check"]);
    assert!(run.stderr.contains("  policies/\n"), "{}", run.stderr);
    std::fs::remove_file(repo.path().join("policies/top.rego")).unwrap();
    let run = repo.strata(&["check", "--env", "dev", "modules/naming"]);
    assert!(
        run.stderr
            .contains("that no target owns are neither run nor checked: policies/k8s, policies/p"),
        "{}",
        run.stderr
    );
    repo.write("WORKSPACE.toml", &workspace);

    // A chart's values file that is not YAML by name reaches no tool.
    repo.write(
        "environments/prod/charts/web/values.json",
        "{\"replicas\": 4}\n",
    );
    let run = repo.strata(&["list", "--check"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "environments/prod/charts/web/values.json is in charts/web's directory of environments/prod/, but helm is given only its values files"
        ),
        "{}",
        run.stderr
    );
    std::fs::remove_file(repo.path().join("environments/prod/charts/web/values.json")).unwrap();

    // A WORKSPACE.toml that is not UTF-8 is named with its line.
    std::fs::write(
        repo.path().join("WORKSPACE.toml"),
        [workspace.as_bytes(), b"# caf\xe9\n"].concat(),
    )
    .unwrap();
    let lines = workspace.lines().count() + 1;
    refused(
        list(&repo),
        &format!("WORKSPACE.toml:{lines}"),
        "`WORKSPACE.toml` is not valid UTF-8",
    );
}

/// Text from the repository printed for people cannot rewrite the terminal: a directory
/// named with escapes (a pull request can add one) and a dependency named with them in
/// `stack.toml` reach `list`, `affected`, `graph` and the error message without them, and
/// `--json` keeps them, escaped. Before, `ESC ]0;…` set the window title and `ESC [2J`
/// cleared the screen.
#[test]
fn escapes_in_labels_and_error_messages_are_not_printed() {
    let repo = Repo::new();
    repo.write("WORKSPACE.toml", "[workspace]\nname = \"t\"\n");
    let odd = "stacks/x\u{1b}]0;PWNED\u{7}\u{1b}[31my";
    repo.write(
        &format!("{odd}/main.tf"),
        "output \"o\" {\n  value = 1\n}\n",
    );
    repo.commit("a directory named with escapes");
    repo.append(&format!("{odd}/main.tf"), "# an edit\n");
    for args in [
        &["list"][..],
        &["affected", "--base", "HEAD"],
        &["graph"],
        &["graph", "--format", "mermaid"],
    ] {
        let run = repo.strata(args);
        assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
        let all = format!("{}{}", run.stdout, run.stderr);
        assert!(all.contains("stacks/xy"), "{args:?}: {all:?}");
        assert!(
            !all.contains('\u{1b}') && !all.contains('\u{7}'),
            "{args:?}: {all:?}"
        );
    }
    let json = repo.strata(&["--json", "list"]);
    assert!(json.stdout.contains("\\u001b"), "{}", json.stdout);

    repo.write(
        "stacks/app/stack.toml",
        "deps = [\"stacks/\\u001b]0;PWNED\\u0007\\u001b[2Jnope\"]\n",
    );
    repo.write("stacks/app/main.tf", "output \"o\" {\n  value = 1\n}\n");
    let run = repo.strata(&["list"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("depends on `stacks/nope`"),
        "{:?}",
        run.stderr
    );
    assert!(!run.stderr.contains('\u{1b}'), "{:?}", run.stderr);
}
