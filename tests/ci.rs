//! `strata ci matrix`: balanced shards that together cover every target once.
#![allow(clippy::disallowed_methods)] // tests drive git, the real strata binary and tools

mod common;
use common::Repo;
use std::collections::BTreeSet;

#[test]
fn shards_cover_every_target_once_and_are_balanced() {
    let repo = Repo::with_fixture();
    let run = repo.strata(&["ci", "matrix", "--shards", "3", "--env", "dev"]);
    run.assert_ok();
    let json = run.json();
    let include = json["include"].as_array().unwrap();
    assert_eq!(include.len(), 3);
    let mut seen = BTreeSet::new();
    let mut loads = Vec::new();
    for shard in include {
        let labels: Vec<&str> = shard["labels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_str().unwrap())
            .collect();
        assert_eq!(shard["targets"].as_str().unwrap(), labels.join(" "));
        for l in labels {
            assert!(seen.insert(l.to_string()), "{l} in two shards");
        }
        loads.push(shard["tasks"].as_u64().unwrap());
    }
    // Every target with tasks; a policy has none of its own (its governed targets run its
    // rules), so no runner starts for it.
    let all: BTreeSet<String> = repo
        .hashes()
        .into_keys()
        .filter(|l| !l.starts_with("policies/"))
        .collect();
    assert_eq!(seen, all);
    assert!(loads.iter().all(|&l| l > 0), "{loads:?}");
    // The heaviest target here has 4 tasks (fmt, validate, init, plan): LPT keeps shards within that.
    assert!(
        loads.iter().max().unwrap() - loads.iter().min().unwrap() <= 4,
        "{loads:?}"
    );
    // deterministic
    assert_eq!(
        run.stdout,
        repo.strata(&["ci", "matrix", "--shards", "3", "--env", "dev"])
            .stdout
    );
}

#[test]
fn affected_matrix_only_has_affected_targets() {
    let repo = Repo::with_fixture();
    repo.append("charts/lib/templates/_helpers.tpl", "{{/* x */}}\n");
    let json = repo
        .strata(&[
            "ci",
            "matrix",
            "--shards",
            "4",
            "--affected",
            "--base",
            "main",
        ])
        .json();
    let mut labels: Vec<String> = json["include"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| {
            s["labels"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l.as_str().unwrap().to_string())
        })
        .collect();
    labels.sort();
    assert_eq!(labels, vec!["charts/api", "charts/lib", "charts/web"]);

    // A changed policy: the targets it governs run, in shards of their own; no shard of
    // the policy alone, which would start a runner that runs nothing and reports green.
    repo.append("policies/k8s/deny.rego", "\n# reworded\n");
    let json = repo
        .strata(&[
            "ci",
            "matrix",
            "--shards",
            "8",
            "--affected",
            "--base",
            "main",
            "--env",
            "dev",
        ])
        .json();
    let include = json["include"].as_array().unwrap();
    assert!(!include.is_empty(), "{json}");
    for shard in include {
        assert!(shard["tasks"].as_u64().unwrap() > 0, "{json}");
    }
}
