//! Change detection never misses a dependent: minimal reproductions of layouts and faults
//! found on real repositories (docs/soundness.md), each in a small temporary git repository.

mod common;
use common::Repo;

/// A workspace with one stack calling one module, committed on `main`.
fn stack_and_module() -> Repo {
    let repo = Repo::new();
    repo.write("WORKSPACE.toml", "[workspace]\nname = \"t\"\n");
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
    let repo = Repo::new();
    repo.write("WORKSPACE.toml", "[workspace]\nname = \"t\"\n");
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

#[test]
fn a_read_strata_cannot_resolve_is_warned_about_until_declared() {
    let repo = Repo::new();
    repo.write("WORKSPACE.toml", "[workspace]\nname = \"t\"\n");
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
    let explain = repo.strata(&["hash", "--explain", "stacks/app"]);
    assert!(
        explain.stdout.contains("shared/templates/a.tpl"),
        "{}",
        explain.stdout
    );

    // A glob that leaves the workspace is bad input.
    repo.write(
        "stacks/app/stack.toml",
        "extra_inputs = [\"../../../x/*\"]\n",
    );
    let run = repo.strata(&["affected", "--base", "main"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("stacks/app/stack.toml:1"),
        "{}",
        run.stderr
    );
}
