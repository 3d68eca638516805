//! Hashes are content-addressed: identical trees give identical hashes anywhere.
#![allow(clippy::disallowed_methods)] // tests drive git, the real strata binary and tools

mod common;
use common::Repo;

#[test]
fn identical_hashes_from_two_clones_at_different_paths() {
    let repo = Repo::with_fixture();
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let url = format!("file://{}", repo.path().display());
    for dir in [a.path().join("one"), b.path().join("deeper/two")] {
        std::fs::create_dir_all(dir.parent().unwrap()).unwrap();
        assert!(std::process::Command::new("git")
            .args(["clone", "-q", &url])
            .arg(&dir)
            .status()
            .unwrap()
            .success());
    }
    let ha = common::strata(&a.path().join("one"), &["--json", "hash"]);
    let hb = common::strata(&b.path().join("deeper/two"), &["--json", "hash"]);
    ha.assert_ok();
    assert_eq!(ha.stdout, hb.stdout);
    assert_eq!(ha.stdout, repo.strata(&["--json", "hash"]).stdout);
}

#[test]
fn uncommitted_content_hashes_like_committed_content() {
    let repo = Repo::with_fixture();
    repo.append("modules/db/main.tf", "# edit\n");
    let dirty = repo.hashes();
    repo.commit("edit");
    assert_eq!(dirty, repo.hashes());
}

#[test]
fn hash_changes_propagate_up_the_graph_only() {
    let repo = Repo::with_fixture();
    let before = repo.hashes();
    repo.append("modules/vpc/main.tf", "# edit\n");
    let after = repo.hashes();
    let changed: Vec<&str> = before
        .keys()
        .filter(|k| before[*k] != after[*k])
        .map(String::as_str)
        .collect();
    assert_eq!(
        changed,
        vec![
            "charts/api",
            "modules/vpc",
            "stacks/app",
            "stacks/database",
            "stacks/network"
        ]
    );
}

#[test]
fn explain_lists_inputs_globals_tools_and_deps() {
    let repo = Repo::with_fixture();
    let run = repo.strata(&["--json", "hash", "--explain", "stacks/app"]);
    run.assert_ok();
    let fp = &run.json()["targets"][0]["fingerprint"];
    let inputs: Vec<&str> = fp["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        inputs,
        vec![
            "shared/config.json",
            "stacks/app/main.tf",
            "stacks/app/stack.toml"
        ]
    );
    let globals: Vec<&str> = fp["global_inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(globals, vec!["WORKSPACE.toml", "shared/global/tags.json"]);
    assert_eq!(fp["toolchain"], serde_json::json!({"terraform": "1.0.3"}));
    assert_eq!(fp["deps"][0]["label"], "stacks/database");
}

/// The text form marks the inputs a target reads from elsewhere; a file of its own
/// directory that `ignore` matches (a chart's README, which helm packages) is an input but
/// not from elsewhere. Before, it was marked "read from outside the target".
#[test]
fn explain_marks_only_what_comes_from_elsewhere_as_outside() {
    let repo = Repo::new();
    repo.write(
        "WORKSPACE.toml",
        "[workspace]\nname = \"t\"\nignore = [\"**/*.md\"]\n",
    );
    repo.write(
        "charts/web/Chart.yaml",
        "apiVersion: v2\nname: web\nversion: 0.1.0\n",
    );
    repo.write("charts/web/README.md", "# web\n");
    repo.write(
        "stacks/app/main.tf",
        "locals {\n  c = file(\"../../shared/c.json\")\n}\n",
    );
    repo.write("shared/c.json", "{}\n");
    repo.commit("initial");
    let run = repo.strata(&["hash", "--explain", "charts/web"]);
    run.assert_ok();
    let line = |path: &str| {
        run.stdout
            .lines()
            .find(|l| l.ends_with(path) || l.contains(&format!("{path}  (")))
            .unwrap_or_else(|| panic!("{path} is not listed:\n{}", run.stdout))
            .to_string()
    };
    let readme = line("charts/web/README.md");
    assert!(!readme.contains("outside"), "{readme}");
    assert!(
        readme.contains("(in its directory, but not one of its own files"),
        "{readme}"
    );
    let run = repo.strata(&["hash", "--explain", "stacks/app"]);
    run.assert_ok();
    assert!(
        run.stdout
            .contains("shared/c.json  (read from outside the target)"),
        "{}",
        run.stdout
    );
}

#[test]
fn unknown_label_for_hash_is_an_error() {
    let repo = Repo::with_fixture();
    let run = repo.strata(&["hash", "stacks/nope"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.starts_with("error: no target `stacks/nope`"),
        "{}",
        run.stderr
    );
}

#[test]
fn parse_cache_is_reused_and_survives_corruption() {
    let repo = Repo::with_fixture();
    let first = repo.hashes();
    let cache = repo.path().join(".strata/cache/facts-v1.bin");
    assert!(cache.exists());
    std::fs::write(&cache, b"garbage").unwrap();
    assert_eq!(first, repo.hashes());
    // and a run without the cache agrees
    let run = repo.strata(&["--json", "--no-cache", "hash"]);
    assert_eq!(run.json()["targets"].as_array().unwrap().len(), first.len());
}
