//! The work tree as strata sees it: uncommitted edits that change the graph itself (new
//! module calls, declared dependencies, environment lists) are seen exactly as if they were
//! committed, whether or not the index's model can be reused for them.
#![allow(clippy::disallowed_methods)] // tests drive git, the real strata binary and tools

mod common;
use common::{pairs, Repo};

/// `affected` on the work tree equals a run without any cache, and a run with the same
/// changes staged (where the index alone describes the tree).
fn assert_same_when_staged(repo: &Repo, what: &str) -> Vec<(String, String)> {
    let work_tree = repo.affected(&["--base", "main"]);
    let fresh = repo.strata(&["--json", "--no-cache", "affected", "--base", "main"]);
    fresh.assert_ok();
    let fresh = common::label_reasons(&fresh.json());
    assert_eq!(work_tree, fresh, "{what}: cached vs --no-cache");
    repo.git(&["add", "-A"]);
    let staged = repo.affected(&["--base", "main"]);
    assert_eq!(work_tree, staged, "{what}: work tree vs staged");
    repo.git(&["reset", "-q"]);
    work_tree
}

fn deps_of(repo: &Repo, label: &str) -> serde_json::Value {
    let json = repo.strata(&["--json", "list"]).json();
    json["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["label"] == label)
        .unwrap()
        .clone()
}

#[test]
fn an_uncommitted_module_call_is_a_new_edge() {
    let repo = Repo::with_fixture();
    // stacks/app starts using modules/naming, and modules/naming changes: both uncommitted,
    // and no path appears or disappears.
    repo.write(
        "stacks/app/main.tf",
        "locals {\n  config = file(\"${path.module}/../../shared/config.json\")\n}\nmodule \"n\" {\n  source = \"../../modules/naming\"\n  name   = \"app\"\n}\noutput \"config\" { value = local.config }\n",
    );
    repo.append("modules/naming/main.tf", "# tweak\n");
    let got = assert_same_when_staged(&repo, "new module call");
    assert!(
        got.contains(&("stacks/app".into(), "changed".into())),
        "{got:?}"
    );
    let app = deps_of(&repo, "stacks/app");
    assert!(
        app["deps"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("modules/naming")),
        "{app}"
    );
    // Back to the committed file: the facts remembered for its id must be its own, not
    // those of the edited content read while the index was being modelled.
    repo.git(&["checkout", "-q", "--", "stacks/app/main.tf"]);
    let app = deps_of(&repo, "stacks/app");
    assert_eq!(app["deps"], serde_json::json!(["stacks/database"]), "{app}");
    assert_same_when_staged(&repo, "reverted");
}

#[test]
fn an_edit_that_keeps_the_graph_changes_only_hashes() {
    let repo = Repo::with_fixture();
    let before = repo.hashes();
    // A comment at the end: same facts, so the index's model is reused.
    repo.append("modules/vpc/main.tf", "# only a comment\n");
    let got = assert_same_when_staged(&repo, "comment");
    assert_eq!(
        got,
        pairs(&[
            ("charts/api", "dependency"),
            ("modules/vpc", "changed"),
            ("stacks/app", "dependency"),
            ("stacks/database", "dependency"),
            ("stacks/network", "dependency"),
        ])
    );
    let after = repo.hashes();
    let changed: Vec<&String> = before
        .iter()
        .filter(|(l, h)| after.get(*l) != Some(h))
        .map(|(l, _)| l)
        .collect();
    assert_eq!(
        changed,
        [
            "charts/api",
            "modules/vpc",
            "stacks/app",
            "stacks/database",
            "stacks/network"
        ]
    );
    // Same hashes as a run that builds everything from scratch.
    let fresh = repo.strata(&["--json", "--no-cache", "hash"]).json();
    for (label, hash) in &after {
        let h = fresh["targets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["label"] == label.as_str())
            .unwrap()["hash"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(&h, hash, "{label}");
    }
}

#[test]
fn uncommitted_manifest_and_environment_edits_are_seen() {
    let repo = Repo::with_fixture();
    // A declared dependency added in stack.toml, uncommitted.
    repo.write(
        "stacks/app/stack.toml",
        "deps = [\"stacks/database\", \"modules/vpc\"]\nenvironments = [\"staging\", \"prod\"]\n",
    );
    let app = deps_of(&repo, "stacks/app");
    assert!(
        app["deps"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("modules/vpc")),
        "{app}"
    );
    let got = assert_same_when_staged(&repo, "declared dep");
    assert_eq!(got, pairs(&[("stacks/app", "changed")]));
    // An environment list narrowed in the work tree: the stack is no longer in dev.
    repo.write(
        "stacks/app/stack.toml",
        "deps = [\"stacks/database\", \"modules/vpc\"]\nenvironments = [\"prod\"]\n",
    );
    let app = deps_of(&repo, "stacks/app");
    assert_eq!(app["environments"], serde_json::json!(["prod"]));
    // env.toml is read as text by the model: an edit there is seen too.
    repo.write(
        "environments/prod/env.toml",
        "promotes_from = \"nowhere\"\n[gates]\nrequire = [\"plan\"]\n",
    );
    let run = repo.strata(&["affected", "--base", "main"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("nowhere"), "{}", run.stderr);
}

#[test]
fn a_broken_index_file_fixed_in_the_work_tree_is_not_an_error() {
    let repo = Repo::with_fixture();
    // Stage a malformed file, then fix it without staging: the work tree is what counts.
    repo.write("modules/db/main.tf", "module \"naming\" {\n  source = \n");
    repo.git(&["add", "modules/db/main.tf"]);
    repo.write(
        "modules/db/main.tf",
        "module \"naming\" {\n  source = \"../naming\"\n  name   = \"db2\"\n}\nresource \"null_resource\" \"db\" {}\n",
    );
    let got = assert_same_when_staged(&repo, "fixed in work tree");
    assert!(
        got.contains(&("modules/db".into(), "changed".into())),
        "{got:?}"
    );
    // And the other way round: a good index, a broken work tree: the target is affected
    // with its error naming the file, and commands that need it refuse.
    repo.git(&["add", "modules/db/main.tf"]);
    repo.write("modules/db/main.tf", "module \"naming\" {\n  source = \n");
    let run = repo.strata(&["affected", "--base", "main"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("--> modules/db/main.tf:2"),
        "{}",
        run.stderr
    );
    let run = repo.strata(&["hash", "modules/db"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("modules/db/main.tf"), "{}", run.stderr);
}

/// Without a cached baseline, the merge-base is derived from the index. Whatever the branch
/// did (a new module call, a new stack, a deleted chart, a WORKSPACE.toml edit), the answer
/// equals the one computed from the commits themselves with `ls-tree` (`--head HEAD`).
#[test]
fn a_base_derived_from_the_index_equals_the_commit() {
    let repo = Repo::with_fixture();
    repo.git(&["checkout", "-q", "-b", "topic"]);
    let same = |what: &str| {
        let derived = repo.strata(&["--json", "--no-cache", "affected", "--base", "main"]);
        let committed = repo.strata(&[
            "--json",
            "--no-cache",
            "affected",
            "--base",
            "main",
            "--head",
            "HEAD",
        ]);
        derived.assert_ok();
        committed.assert_ok();
        let strip = |run: &common::Run| {
            let mut json = run.json();
            json["head"] = serde_json::Value::Null;
            json
        };
        assert_eq!(strip(&derived), strip(&committed), "{what}");
        strip(&derived)["targets"].as_array().unwrap().len()
    };
    assert_eq!(same("nothing"), 0);
    repo.write(
        "stacks/app/main.tf",
        "module \"n\" {\n  source = \"../../modules/naming\"\n  name   = \"app\"\n}\n",
    );
    repo.write(
        "stacks/cache/main.tf",
        "resource \"null_resource\" \"c\" {}\n",
    );
    repo.remove("charts/web");
    repo.commit("graph changes on a branch");
    assert!(same("graph changes") >= 3);
    repo.append("modules/naming/main.tf", "# edit\n");
    repo.commit("content change");
    same("content change");
    repo.write(
        "WORKSPACE.toml",
        "[workspace]\nname = \"fixture\"\ndefault_branch = \"main\"\nglobal_inputs = [\"WORKSPACE.toml\"]\n\n[toolchain]\nterraform = \"1.0.3\"\nhelm = \"4.1.4\"\n",
    );
    repo.commit("workspace change");
    same("WORKSPACE.toml change");
}

/// The index is read in process for versions 2, 3 and 4 and through `git ls-files` for a
/// split index: all give the same hashes and the same affected set.
#[test]
fn every_index_format_gives_the_same_answer() {
    let repo = Repo::with_fixture();
    repo.append("modules/naming/main.tf", "# edit\n");
    repo.write(
        "stacks/cache/main.tf",
        "resource \"null_resource\" \"c\" {}\n",
    );
    repo.git(&["add", "stacks/cache/main.tf"]);
    let expected = (repo.hashes(), repo.affected(&["--base", "main"]));
    for (what, args) in [
        ("version 3", &["update-index", "--index-version", "3"][..]),
        ("version 4", &["update-index", "--index-version", "4"][..]),
        ("split index", &["update-index", "--split-index"][..]),
        (
            "version 2",
            &["update-index", "--no-split-index", "--index-version", "2"][..],
        ),
    ] {
        repo.git(args);
        let got = (repo.hashes(), repo.affected(&["--base", "main"]));
        assert_eq!(got, expected, "{what}");
    }
    let index = std::fs::read(repo.path().join(".git/index")).unwrap();
    assert_eq!(&index[..8], b"DIRC\0\0\0\x02", "back to version 2");
}

/// What strata keeps in the checkout (`.strata/`: caches, locks; a cache directory set in
/// WORKSPACE.toml) is never staged by `git add -A`, even in a repository whose ignore
/// files do not name it.
#[test]
fn what_strata_keeps_in_the_checkout_stays_out_of_git() {
    let repo = Repo::with_fixture();
    assert!(!repo.path().join(".gitignore").exists());
    repo.strata(&["list"]).assert_ok();
    repo.strata(&["affected", "--base", "main"]).assert_ok();
    assert!(repo.path().join(".strata/cache").is_dir());
    repo.git(&["add", "-A"]);
    assert_eq!(repo.git(&["status", "--porcelain"]), "");

    // A cache directory of the workspace's choosing, inside the checkout.
    repo.append(
        "WORKSPACE.toml",
        "\n[cache]\ndir = \"build/strata-cache\"\n",
    );
    repo.commit("cache elsewhere");
    repo.strata(&["list"]).assert_ok();
    assert!(repo.path().join("build/strata-cache").is_dir());
    repo.git(&["add", "-A"]);
    assert_eq!(repo.git(&["status", "--porcelain"]), "");
}

/// A first run with `--no-cache` writes only sandboxes in `.strata` (no cache, not even the
/// tools' versions), and `.strata` is kept out of git by it too: its sandboxes hold the
/// code, env.toml and terraform's data, which `git add -A` staged.
#[test]
fn a_run_without_the_cache_writes_none_and_stays_out_of_git() {
    let repo = common::tools_repo();
    repo.write(".gitignore", ".tools\n");
    repo.write(
        "stacks/net/main.tf",
        &format!(
            "{}\nresource \"null_resource\" \"n\" {{}}\n",
            common::NULL_PROVIDER
        ),
    );
    repo.commit("a stack");
    repo.strata(&["--no-cache", "check", "--env", "dev", "stacks/net"])
        .assert_ok();
    assert!(repo.path().join(".strata/work").is_dir());
    assert!(
        !repo.path().join(".strata/cache").exists(),
        "--no-cache wrote the cache"
    );
    repo.git(&["add", "-A"]);
    assert_eq!(repo.git(&["status", "--porcelain"]), "");
}

/// An untracked directory whose name is not UTF-8 (git shows it with U+FFFD, which names
/// no path): its files are still found, and refused by name as committed ones are, never
/// silently left out.
#[test]
fn an_untracked_directory_named_in_bytes_that_are_not_utf8_is_not_left_out() {
    use std::os::unix::ffi::OsStrExt;
    let repo = Repo::with_fixture();
    let odd = |rel: &[u8]| repo.path().join(std::ffi::OsStr::from_bytes(rel));
    std::fs::create_dir_all(odd(b"stacks/network/sub\xff")).unwrap();
    std::fs::write(odd(b"stacks/network/sub\xff/conf.json"), "{}\n").unwrap();
    let run = repo.strata(&["--json", "affected", "--base", "main"]);
    let json = run.json();
    let network = common::target(&json, "stacks/network").unwrap_or_else(|| panic!("{json}"));
    assert!(
        network["problems"]
            .to_string()
            .contains("is not valid UTF-8"),
        "{json}"
    );
    std::fs::remove_dir_all(odd(b"stacks/network/sub\xff")).unwrap();
    std::fs::create_dir_all(odd(b"stacks/new\xff")).unwrap();
    std::fs::write(odd(b"stacks/new\xff/main.tf"), "locals {\n  a = 1\n}\n").unwrap();
    let run = repo.strata(&["affected", "--base", "main"]);
    assert!(run.stderr.contains("is not valid UTF-8"), "{}", run.stderr);
    assert!(run.stdout.contains("stacks/new"), "{}", run.stdout);
}

/// Git's untracked cache trusts a directory's mtime to the second: a file created in the
/// same second as the cache was written is missed by every later `git status` once another
/// command has written the index. strata's status runs without it and drops one an earlier
/// run (or the user's `git status`) left in the index, so such a file is never missed.
#[test]
fn git_untracked_cache_never_hides_a_new_file() {
    let repo = Repo::new();
    repo.write("WORKSPACE.toml", "[workspace]\nname = \"u\"\n");
    repo.write("stacks/net/main.tf", "output \"a\" { value = 1 }\n");
    repo.write("stacks/app/main.tf", "output \"b\" { value = 1 }\n");
    repo.commit("init");
    let index = repo.path().join(".git/index");
    let has_untracked_cache = || {
        std::fs::read(&index)
            .unwrap()
            .windows(4)
            .any(|w| w == b"UNTR")
    };
    repo.git(&["-c", "core.untrackedCache=true", "status", "--porcelain"]);
    assert!(has_untracked_cache(), "git wrote no untracked cache");
    assert!(repo.affected(&["--base", "main"]).is_empty());
    assert!(
        !has_untracked_cache(),
        "the untracked cache stayed in the index"
    );

    // The race itself: a directory changed, a run, and a new file there, all in one second
    // (started just after a second boundary), then an index write in a later second.
    let nanos = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    };
    while nanos() > 50_000_000 {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    repo.write("stacks/net/.keep", "");
    repo.remove("stacks/net/.keep");
    repo.git(&["-c", "core.untrackedCache=true", "status", "--porcelain"]);
    repo.affected(&["--base", "main"]);
    repo.write("stacks/net/extra.tf", "output \"x\" { value = 1 }\n");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    repo.write("stacks/app/main.tf", "output \"b\" { value = 2 }\n");
    repo.git(&["checkout", "-q", "--", "stacks/app/main.tf"]);
    let affected = repo.affected(&["--base", "main"]);
    assert_eq!(
        affected,
        [("stacks/net".to_string(), "changed".to_string())],
        "the new file stacks/net/extra.tf was missed"
    );
}

/// An unstaged edit of WORKSPACE.toml: the index's model is built with the work tree's
/// configuration, so the base commit cannot be derived from it. It used to be: a bumped
/// terraform pin (in every stack's hash) affected nothing, a new stack directory brought in
/// by `[layout]` was not new, and the wrong baseline was cached under the merge-base, so
/// that the clean tree afterwards showed the pin's change.
#[test]
fn an_unstaged_workspace_edit_is_not_applied_to_the_base() {
    let repo = Repo::new();
    repo.write(
        "WORKSPACE.toml",
        "[workspace]\nname = \"t\"\ndefault_branch = \"main\"\n\n[toolchain]\nterraform = \"1.0.3\"\nhelm = \"4.1.4\"\n",
    );
    repo.write("stacks/app/main.tf", "output \"o\" { value = 1 }\n");
    repo.write("extra/x/main.tf", "output \"o\" { value = 1 }\n");
    repo.commit("initial");
    let committed = std::fs::read_to_string(repo.path().join("WORKSPACE.toml")).unwrap();
    repo.write("WORKSPACE.toml", &committed.replace("1.0.3", "1.5.0"));
    let pin = assert_same_when_staged(&repo, "terraform pin");
    assert_eq!(pin, pairs(&[("stacks/app", "global")]));
    repo.write("WORKSPACE.toml", &committed);
    assert_eq!(repo.affected(&["--base", "main"]), vec![], "clean tree");
    repo.write(
        "WORKSPACE.toml",
        &format!("{committed}\n[layout]\nstacks = [\"stacks/*\", \"extra/*\"]\n"),
    );
    let layout = assert_same_when_staged(&repo, "layout");
    assert_eq!(layout, pairs(&[("extra/x", "changed")]));
}

/// A WORKSPACE.toml edit `git status` does not show: the entry flagged `skip-worktree`, or
/// WORKSPACE.toml a link whose target was edited. strata reads the file on disk, so the
/// base is still the commit's own configuration: it used to be derived from the index with
/// the edited one (a pin bump affected nothing without the cache), and a wrong baseline was
/// saved.
#[test]
fn a_workspace_edit_git_does_not_show_is_not_applied_to_the_base() {
    let workspace = "[workspace]\nname = \"t\"\ndefault_branch = \"main\"\n\n[toolchain]\nterraform = \"1.0.3\"\nhelm = \"4.1.4\"\n";
    for linked in [false, true] {
        let repo = Repo::new();
        let file = if linked {
            repo.write("conf/workspace.toml", workspace);
            std::os::unix::fs::symlink("conf/workspace.toml", repo.path().join("WORKSPACE.toml"))
                .unwrap();
            "conf/workspace.toml"
        } else {
            repo.write("WORKSPACE.toml", workspace);
            "WORKSPACE.toml"
        };
        repo.write("stacks/app/main.tf", "output \"o\" { value = 1 }\n");
        repo.commit("initial");
        if !linked {
            repo.git(&["update-index", "--skip-worktree", "WORKSPACE.toml"]);
        }
        repo.write(file, &workspace.replace("1.0.3", "1.5.0"));
        let global = pairs(&[("stacks/app", "global")]);
        let fresh = repo.strata(&["--json", "--no-cache", "affected", "--base", "main"]);
        fresh.assert_ok();
        assert_eq!(
            common::label_reasons(&fresh.json()),
            global,
            "linked {linked}"
        );
        assert_eq!(
            repo.affected(&["--base", "main"]),
            global,
            "linked {linked}"
        );
        // Put back: nothing is affected, whatever was saved.
        repo.write(file, workspace);
        assert_eq!(
            repo.affected(&["--base", "main"]),
            vec![],
            "linked {linked}"
        );
    }
}
