//! Sandboxes: a rebuild that stops part-way is never reused as whole, and a file that
//! changed after `git status` looked is not put in a sandbox under the id it had.
#![allow(clippy::disallowed_methods)] // drives git to make the repository

use std::path::Path;
use std::process::Command;
use strata_exec::sandbox;
use strata_graph::session::Session;

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {out:?}");
}

fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    git(root, &["init", "-q", "-b", "main"]);
    git(root, &["config", "user.email", "t@example.com"]);
    git(root, &["config", "user.name", "t"]);
    std::fs::write(root.join("WORKSPACE.toml"), "[workspace]\nname = \"t\"\n").unwrap();
    std::fs::write(root.join(".gitignore"), ".strata/\nwork/\n").unwrap();
    std::fs::create_dir_all(root.join("stacks/a")).unwrap();
    std::fs::write(
        root.join("stacks/a/main.tf"),
        "output \"x\" {\n  value = 1\n}\n",
    )
    .unwrap();
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "a stack"]);
    dir
}

#[test]
fn a_rebuild_that_stopped_part_way_is_built_again() {
    let dir = repo();
    let root = dir.path();
    let work = root.join("work");
    let main = vec!["stacks/a/main.tf".to_string()];
    let session = Session::open(root, false).unwrap();
    let view = session.work_tree().unwrap();
    let sb = sandbox::prepare(
        &work,
        None,
        "stacks/a",
        &session.repo,
        &view.snapshot,
        &main,
    )
    .unwrap();
    assert!(sb.dir.join("main.tf").exists());

    // A file that is gone by the time the sandbox is rebuilt (a branch switch, `git
    // stash`): the rebuild fails after the old sandbox was cleared.
    std::fs::write(root.join("stacks/a/extra.tf"), "locals {}\n").unwrap();
    let session = Session::open(root, false).unwrap();
    let view = session.work_tree().unwrap();
    std::fs::remove_file(root.join("stacks/a/extra.tf")).unwrap();
    let both = vec![
        "stacks/a/extra.tf".to_string(),
        "stacks/a/main.tf".to_string(),
    ];
    assert!(sandbox::prepare(
        &work,
        None,
        "stacks/a",
        &session.repo,
        &view.snapshot,
        &both
    )
    .is_err());

    // Back to the first file set: the sandbox is built again, not reused empty.
    let session = Session::open(root, false).unwrap();
    let view = session.work_tree().unwrap();
    let sb = sandbox::prepare(
        &work,
        None,
        "stacks/a",
        &session.repo,
        &view.snapshot,
        &main,
    )
    .unwrap();
    assert!(
        sb.dir.join("main.tf").exists(),
        "the sandbox is whole again"
    );
}

#[test]
fn a_file_changed_after_git_status_looked_is_refused() {
    let dir = repo();
    let root = dir.path();
    let work = root.join("work");
    let main = vec!["stacks/a/main.tf".to_string()];
    // An edit strata saw, then another it did not (an editor saving again mid-run).
    std::fs::write(
        root.join("stacks/a/main.tf"),
        "output \"x\" {\n  value = 2\n}\n",
    )
    .unwrap();
    let session = Session::open(root, false).unwrap();
    let view = session.work_tree().unwrap();
    std::fs::write(
        root.join("stacks/a/main.tf"),
        "output \"x\" {\n  value = 3\n}\n",
    )
    .unwrap();
    let err = sandbox::prepare(
        &work,
        None,
        "stacks/a",
        &session.repo,
        &view.snapshot,
        &main,
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("changed while strata was running"),
        "{err}"
    );
    // The file edited back to what was committed: git has those bytes under the id the
    // snapshot of the commit's state holds, and they are used.
    std::fs::write(
        root.join("stacks/a/main.tf"),
        "output \"x\" {\n  value = 1\n}\n",
    )
    .unwrap();
    let session = Session::open(root, false).unwrap();
    let view = session.work_tree().unwrap();
    std::fs::write(
        root.join("stacks/a/main.tf"),
        "output \"x\" {\n  value = 9\n}\n",
    )
    .unwrap();
    let sb = sandbox::prepare(
        &work,
        None,
        "stacks/a",
        &session.repo,
        &view.snapshot,
        &main,
    )
    .unwrap();
    assert_eq!(
        std::fs::read_to_string(sb.dir.join("main.tf")).unwrap(),
        "output \"x\" {\n  value = 1\n}\n"
    );
}
