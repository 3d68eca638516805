//! Destroying stacks that no longer exist at head, with their code at an earlier revision.
//!
//! Terraform needs a stack's code to plan its destruction. A stack deleted from the
//! repository keeps its resources; `strata destroy --from REV` checks REV out into a
//! temporary git worktree, models the workspace there, and destroys the named stacks with
//! that code against the state this checkout uses (local state included). The worktree is
//! removed afterwards, also when the run fails.

use crate::select::Selection;
use crate::task::Mode;
use crate::{run, Observer, RunOptions, RunReport};
use std::path::{Path, PathBuf};
use strata_exec::schedule::Status;
use strata_graph::error::Location;
use strata_graph::session::{Session, View};
use strata_graph::{Error, Result};

/// A temporary checkout of a commit, removed when dropped.
struct Worktree<'a> {
    session: &'a Session,
    dir: PathBuf,
}

impl Drop for Worktree<'_> {
    fn drop(&mut self) {
        self.session.repo.remove_worktree(&self.dir);
    }
}

/// Destroys `labels` (stacks deleted at head) with their code at `rev`.
pub fn destroy_from(
    session: &Session,
    head: &View,
    rev: &str,
    labels: &[String],
    opts: &RunOptions,
    observer: &dyn Observer,
) -> Result<RunReport> {
    for label in labels {
        if head.model.index(label).is_some() {
            return Err(Error::Usage {
                message: format!("{label} exists at head: --from is for stacks deleted since"),
                hint: format!("destroy it with its current code: drop --from (`strata destroy {label} --env ...`)"),
            });
        }
    }
    let commit = session.repo.resolve_commit(rev)?;
    let parent = tempfile::Builder::new()
        .prefix("strata-revision-")
        .tempdir()
        .map_err(|e| Error::io(std::env::temp_dir(), e))?;
    let dir = parent.path().join("checkout");
    let root = session.repo.add_worktree(&dir, &commit)?;
    let _worktree = Worktree { session, dir };
    link_local_tools(session, &root)?;
    let base = Session::open(&root, opts.use_cache)?;
    let view = base.work_tree()?;
    base.finish();
    let targets = base.resolve_labels(&view.model, labels).map_err(|e| match e {
        Error::NoSuchTarget { label, .. } => Error::Usage {
            message: format!("{label} is not a target at {rev}"),
            hint: "name the revision that still has the stack (e.g. the commit before the one that deleted it)".into(),
        },
        other => other,
    })?;
    // Stacks that read a destroyed one at `rev` and still exist at head no longer read it
    // (head's model would not build otherwise): they stay.
    let no_longer_reading = view
        .model
        .targets
        .iter()
        .filter(|t| head.model.index(&t.label).is_some())
        .map(|t| t.label.clone())
        .collect();
    let selection = Selection {
        targets,
        no_longer_reading,
        ..Selection::default()
    };
    let opts = RunOptions {
        state_root: Some(session.root.clone()),
        ..opts.clone()
    };
    run(&base, &view, &selection, &opts, observer)
}

/// After a `plan` or `apply` with `--affected`: the stacks deleted since the base whose
/// state still holds resources get their destroy planned (`plan`) or applied (`apply`, which
/// the caller runs only with `--allow-destroy`), with their code at the merge-base, once
/// everything else went through. Their tasks join `report`.
pub fn destroy_left_behind(
    session: &Session,
    head: &View,
    selection: &Selection,
    report: &mut RunReport,
    opts: &RunOptions,
    observer: &dyn Observer,
) -> Result<()> {
    let deleted = report.left_behind_stacks();
    let Some(base) = &selection.base else {
        return Ok(());
    };
    let settled = !report.interrupted
        && report.tasks.iter().all(|t| t.status != Status::Failed)
        && report.incomplete.iter().all(|t| t.left_behind);
    if deleted.is_empty() || !settled {
        return Ok(());
    }
    let mode = match opts.mode {
        Mode::Plan => Mode::DestroyPlan,
        Mode::Apply => Mode::Destroy,
        _ => return Ok(()),
    };
    // Where the stacks were last seen: the merge-base `affected` compared with.
    let commit = session.repo.merge_base(base, "HEAD")?;
    let opts = RunOptions {
        mode,
        ..opts.clone()
    };
    let destroyed = destroy_from(session, head, &commit, &deleted, &opts, observer)?;
    report.absorb_destroy(destroyed);
    Ok(())
}

/// The workspace's tools directory and terraform CLI configuration are usually untracked
/// (installed by a bootstrap script): the temporary checkout links to this checkout's.
fn link_local_tools(session: &Session, root: &Path) -> Result<()> {
    let toolchain = &session.config.toolchain;
    let paths = [
        toolchain.tools_dir.as_deref(),
        toolchain.terraform_cli_config.as_deref(),
    ];
    for rel in paths.into_iter().flatten() {
        let (from, to) = (session.root.join(rel), root.join(rel));
        if !from.exists() || to.exists() || std::fs::symlink_metadata(&to).is_ok() {
            continue;
        }
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        #[cfg(unix)]
        std::os::unix::fs::symlink(&from, &to).map_err(|e| Error::Invalid {
            message: format!(
                "cannot link {} into the checkout of the revision: {e}",
                from.display()
            ),
            location: Location::new(to.display().to_string(), None),
            hint: "check the permissions of the temporary directory".into(),
        })?;
    }
    Ok(())
}
