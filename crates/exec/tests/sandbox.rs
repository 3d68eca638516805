//! Sandboxes: a rebuild that stops part-way is never reused as whole, and a file that
//! changed after `git status` looked is not put in a sandbox under the id it had.
#![allow(clippy::disallowed_methods)] // drives git to make the repository

use std::path::Path;
use std::process::Command;
use strata_exec::sandbox;
use strata_graph::session::{Session, View};

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

/// What a run sees when it starts: `git status` of the work tree as it is now.
struct Look {
    session: Session,
    view: View,
}

fn look(root: &Path) -> Look {
    let session = Session::open(root, false).unwrap();
    let view = session.work_tree().unwrap();
    Look { session, view }
}

impl Look {
    /// The sandbox of `stacks/a` holding `files`, from what this look saw.
    fn prepare(&self, work: &Path, files: &[&str]) -> strata_graph::Result<sandbox::Sandbox> {
        let files: Vec<String> = files.iter().map(|f| f.to_string()).collect();
        let (repo, snapshot) = (&self.session.repo, &self.view.snapshot);
        sandbox::prepare(work, None, "stacks/a", repo, snapshot, &files)
    }
}

/// `stacks/a/main.tf` with its output set to `value`.
fn edit(root: &Path, value: u32) {
    let text = format!("output \"x\" {{\n  value = {value}\n}}\n");
    std::fs::write(root.join("stacks/a/main.tf"), text).unwrap();
}

const MAIN: &str = "stacks/a/main.tf";

#[test]
fn a_rebuild_that_stopped_part_way_is_built_again() {
    let dir = repo();
    let root = dir.path();
    let work = root.join("work");
    let sb = look(root).prepare(&work, &[MAIN]).unwrap();
    assert!(sb.dir.join("main.tf").exists());

    // A file that is gone by the time the sandbox is rebuilt (a branch switch, `git
    // stash`): the rebuild fails after the old sandbox was cleared.
    std::fs::write(root.join("stacks/a/extra.tf"), "locals {}\n").unwrap();
    let seen = look(root);
    std::fs::remove_file(root.join("stacks/a/extra.tf")).unwrap();
    assert!(seen.prepare(&work, &["stacks/a/extra.tf", MAIN]).is_err());

    // Back to the first file set: the sandbox is built again, not reused empty.
    let sb = look(root).prepare(&work, &[MAIN]).unwrap();
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
    // An edit strata saw, then another it did not (an editor saving again mid-run).
    edit(root, 2);
    let seen = look(root);
    edit(root, 3);
    let err = seen.prepare(&work, &[MAIN]).unwrap_err();
    assert!(
        err.to_string().contains("changed while strata was running"),
        "{err}"
    );
    // The file edited back to what was committed, then again: git has the bytes the run
    // saw, under their id, and they are used.
    edit(root, 1);
    let seen = look(root);
    edit(root, 9);
    let sb = seen.prepare(&work, &[MAIN]).unwrap();
    assert_eq!(
        std::fs::read_to_string(sb.dir.join("main.tf")).unwrap(),
        "output \"x\" {\n  value = 1\n}\n"
    );
}
