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
