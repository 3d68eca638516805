//! Destroying stacks: what may be torn down, what a deleted stack left behind, and
//! destroying stacks that no longer exist at head with their code at an earlier revision.
//!
//! Terraform needs a stack's code to plan its destruction. A stack deleted from the
//! repository keeps its resources; `strata destroy --from REV` checks REV out into a
//! temporary git worktree, models the workspace there, and destroys the named stacks with
//! that code against the state this checkout uses (local state included). The worktree is
//! removed afterwards, also when the run fails.

use crate::select::Selection;
use crate::states::States;
use crate::task::{Action, Mode};
use crate::NotRunTask;
use crate::{resolve_envs, run, Observer, RunOptions, RunReport};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use strata_exec::schedule::Status;
use strata_graph::discover::Kind;
use strata_graph::error::Location;
use strata_graph::id::TargetId;
use strata_graph::model::Model;
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
    // Stacks that read a destroyed one at `rev` and still exist at head no longer read it
    // (head's model would not build otherwise): they stay.
    let still_here = |label: &str| head.model.index(label).is_some();
    run_at_commit(session, &commit, labels, &still_here, opts, observer).map_err(|e| match e {
        Error::NoSuchTarget { label, .. } => Error::Usage {
            message: format!("{label} is not a target at {rev}"),
            hint: "name the revision that still has the stack (e.g. the commit before the one that deleted it)".into(),
        },
        other => other,
    })
}

/// Runs `labels` with their code at `commit`: the commit is checked out into a temporary
/// git worktree (removed afterwards, also when the run fails), modelled there, and run
/// against the state this checkout uses (local state included). For a destroy,
/// `no_longer_reading` says which other targets no longer read the destroyed ones.
pub fn run_at_commit(
    session: &Session,
    commit: &str,
    labels: &[String],
    no_longer_reading: &dyn Fn(&str) -> bool,
    opts: &RunOptions,
    observer: &dyn Observer,
) -> Result<RunReport> {
    // Those a killed strata left (a plan file in clear text in their sandboxes), forgotten
    // in git too.
    if strata_exec::process::sweep_owned_tempdirs(CHECKOUT_PREFIX) {
        session.repo.prune_worktrees();
    }
    // Private: its sandboxes hold plans and, while they run, what terraform was given.
    let parent = strata_exec::process::owned_tempdir(CHECKOUT_PREFIX)
        .map_err(|e| Error::io(std::env::temp_dir(), e))?;
    let dir = parent.path().join("checkout");
    let root = session.repo.add_worktree(&dir, commit)?;
    let _worktree = Worktree { session, dir };
    link_local_tools(session, &root)?;
    let mut base = Session::open(&root, opts.use_cache)?;
    let mut view = base.work_tree()?;
    let head = session.work_tree()?;
    // The commit's own `[state.stacks."label"]` settings, before its env.toml is replaced
    // below: only the commit knows where a stack deleted since kept its state.
    let commit_stacks: std::collections::BTreeMap<String, _> = view
        .model
        .environments
        .iter()
        .map(|e| (e.name.clone(), e.config.state.stacks.clone()))
        .collect();
    // The environment's own files are the environment's, not the code's: what the run's
    // environment configures for itself (env.toml, a target's override under
    // `environments/<env>/<label>/`, its secrets file) is what HEAD's commit holds (or the
    // commit `env_files_from` names), not what the commit being run held then. A promotion
    // applies dev's verified code with staging's configuration as staging has it now (an
    // override or a rotated secret committed since reaches staging with it), and drift
    // reads it the same way; a rollback restores a lock entry with the files it was
    // applied with. A target HEAD no longer has keeps the commit's files (its destroy
    // needs them).
    let envs: Vec<String> = if opts.envs.is_empty() {
        head.model
            .environments
            .iter()
            .map(|e| e.name.clone())
            .collect()
    } else {
        opts.envs.clone()
    };
    let files_from = match &opts.env_files_from {
        Some(c) => Some(c.clone()).filter(|c| c != commit),
        None => Some(session.repo.resolve_commit("HEAD")?),
    };
    let mut replaced = false;
    if let Some(from) = &files_from {
        for env in &envs {
            replaced |= environment_files_of(session, from, &head, &view, &root, env)?;
        }
    }
    if replaced {
        view = base.work_tree()?;
    }
    // Policies and waivers are no part of a target's hash: the revision's code is judged by
    // this checkout's, as `check` here would judge it (a waiver added since accepts its
    // finding, a policy added since applies). Only a check runs policies.
    if opts.mode == Mode::Check {
        if let Some(todays) = todays_policies(&head, &view, &session.root, &root)? {
            view = base.work_tree()?;
            let found = policy_labels(&view);
            if found != todays {
                return Err(Error::Invalid {
                    message: format!(
                        "this checkout's policies ({}) are not what the layout of commit {} finds in their place ({}): that commit's code cannot be judged by today's policies",
                        list_or_none(&todays),
                        &commit[..12.min(commit.len())],
                        list_or_none(&found)
                    ),
                    location: Location::new(strata_graph::workspace::WORKSPACE_FILE, None),
                    hint: "`[layout] policies` changed since that commit: apply a commit made after the change in the source environment first, and promote that".into(),
                });
            }
            view.model.config.policy = session.config.policy.clone();
        }
    }
    // An environment's state is where it is now, whatever the commit's env.toml says: a
    // state moved since (another backend, bucket or key) is read and written there, never
    // at the old place, which may still hold a stale copy. A stack's own settings the
    // checkout no longer has (a stack deleted since, its `[state.stacks."label"]` with it)
    // are kept: only the commit knows where its state was. Local state is kept per
    // workspace name: today's.
    for environment in &mut view.model.environments {
        if let Some(now) = head.model.environment(&environment.name) {
            let mut state = now.config.state.clone();
            let theirs = commit_stacks.get(&environment.name);
            for (label, own) in theirs.into_iter().flatten() {
                if head.model.target(label.as_str()).is_none() {
                    state
                        .stacks
                        .entry(label.clone())
                        .or_insert_with(|| own.clone());
                }
            }
            environment.config.state = state;
        }
    }
    base.config.workspace.name = session.config.workspace.name.clone();
    base.finish();
    let targets = base.resolve_labels(&view.model, labels)?;
    let no_longer_reading = view
        .model
        .targets
        .iter()
        .filter(|t| no_longer_reading(&t.label))
        .map(|t| t.label.clone())
        .collect();
    let selection = Selection {
        targets,
        no_longer_reading,
        ..Selection::default()
    };
    let opts = RunOptions {
        state_root: Some(session.root.clone()),
        cache_dir: Some(
            opts.cache_dir
                .clone()
                .unwrap_or_else(|| session.root.join(&session.config.cache.dir)),
        ),
        ..opts.clone()
    };
    run(&base, &view, &selection, &opts, observer)
}

/// The labels of a view's policy targets.
fn policy_labels(view: &View) -> BTreeSet<String> {
    view.model
        .targets
        .iter()
        .filter(|t| t.kind == Kind::Policy)
        .map(|t| t.label.clone())
        .collect()
}

fn list_or_none(labels: &BTreeSet<String>) -> String {
    if labels.is_empty() {
        "none".into()
    } else {
        labels.iter().cloned().collect::<Vec<_>>().join(", ")
    }
}

/// Replaces, in the checkout of another revision at `root` (modelled as `at`), its policy
/// targets' files and its waivers with those of this checkout (`head`, at `here`); returns
/// this checkout's policy labels. `None`, changing nothing, when a policy on either side
/// lies at the workspace root: its files are everyone's, and the revision keeps its own.
fn todays_policies(
    head: &View,
    at: &View,
    here: &Path,
    root: &Path,
) -> Result<Option<BTreeSet<String>>> {
    let (todays, theirs) = (policy_labels(head), policy_labels(at));
    let dir = |label: &str| strata_graph::discover::label_dir(label).to_string();
    if todays.iter().chain(&theirs).any(|l| dir(l).is_empty()) {
        return Ok(None);
    }
    // The revision's first, then this checkout's: a policy moved below a directory that
    // was a policy then keeps its files.
    let waivers = strata_graph::model::waivers::WAIVERS_FILE;
    for label in &theirs {
        remove_path(&root.join(dir(label)))?;
    }
    remove_path(&root.join(waivers))?;
    let mut paths: BTreeSet<&str> = BTreeSet::new();
    for label in &todays {
        paths.extend(head.snapshot.files_below(&dir(label)).map(|(p, _)| p));
    }
    if head.snapshot.files.contains_key(waivers) {
        paths.insert(waivers);
    }
    for path in paths {
        let (from, to) = (here.join(path), root.join(path));
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        let link = head.snapshot.files.get(path).map(|e| e.mode)
            == Some(strata_graph::snapshot::SYMLINK_MODE);
        if link {
            let text = std::fs::read_link(&from).map_err(|e| Error::io(&from, e))?;
            #[cfg(unix)]
            std::os::unix::fs::symlink(&text, &to).map_err(|e| Error::io(&to, e))?;
        } else {
            std::fs::copy(&from, &to).map_err(|e| Error::io(&from, e))?;
        }
    }
    Ok(Some(todays))
}

/// Replaces, in the checkout of another commit at `root` (modelled as `at`), environment
/// `env`'s directory with what commit `from` holds there, keeping the checkout's files
/// under `<dir>/<label>/` for each target HEAD's model (`head`) no longer has. Whether
/// anything was replaced: nothing is when HEAD has no such environment.
fn environment_files_of(
    session: &Session,
    from: &str,
    head: &View,
    at: &View,
    root: &Path,
    env: &str,
) -> Result<bool> {
    let Some(now) = head.model.environment(env) else {
        return Ok(false);
    };
    let parent = |file: &str| {
        Path::new(file)
            .parent()
            .map(|p| p.to_string_lossy().to_string())
            .unwrap_or_default()
    };
    let dir = parent(&now.file);
    if dir.is_empty() {
        return Ok(false);
    }
    let files = strata_graph::snapshot::Snapshot::at_commit(&session.repo, from)?;
    // A file below the environment's directory is a target's when the deepest target
    // directory holding it is that target's (a chart nested in a stack's directory owns
    // its own files); it stays the checkout's when that target is gone from HEAD.
    let labels: std::collections::HashSet<&str> =
        at.model.targets.iter().map(|t| t.label.as_str()).collect();
    let gone = |rel: &str| {
        let owner = rel
            .match_indices('/')
            .map(|(i, _)| &rel[..i])
            .rfind(|dir| labels.contains(dir));
        owner.is_some_and(|label| head.model.target(label).is_none())
    };
    let mut dirs = vec![dir.clone()];
    if let Some(then) = at.model.environment(env) {
        let then = parent(&then.file);
        if !then.is_empty() && then != dir {
            dirs.push(then);
        }
    }
    for dir in &dirs {
        let files: Vec<(String, String)> = at
            .snapshot
            .files_below(dir)
            .filter(|(_, rel)| !gone(rel))
            .map(|(p, rel)| (p.to_string(), rel.to_string()))
            .collect();
        for (path, _) in files {
            remove_path(&root.join(path))?;
        }
    }
    let paths: Vec<&str> = files
        .files_below(&dir)
        .filter(|(_, rel)| !gone(rel))
        .map(|(p, _)| p)
        .collect();
    for (path, bytes) in files.map_contents(&session.repo, &paths, |_, b, _| b.to_vec())? {
        let to = root.join(path);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        if files.files.get(path).map(|e| e.mode) != Some(strata_graph::snapshot::SYMLINK_MODE) {
            std::fs::write(&to, &bytes).map_err(|e| Error::io(&to, e))?;
            continue;
        }
        // A link is read through: what it leads to in the repository is the environment's
        // file, as `from` holds it, not as the checkout's commit does (a link kept as a
        // link would read the other commit's copy). One leading elsewhere stays a link.
        let text = String::from_utf8_lossy(&bytes).to_string();
        match link_target(session, &files, path, &text)? {
            Some(target) => {
                let below: Vec<(&str, &str)> = if files.files.contains_key(target.as_str()) {
                    vec![(target.as_str(), "")]
                } else {
                    files.files_below(&target).collect()
                };
                let sources: Vec<&str> = below.iter().map(|(p, _)| *p).collect();
                let rel: BTreeMap<&str, &str> = below.iter().copied().collect();
                for (source, content) in
                    files.map_contents(&session.repo, &sources, |_, b, _| b.to_vec())?
                {
                    let dest = match rel[source] {
                        "" => to.clone(),
                        r => to.join(r),
                    };
                    if let Some(parent) = dest.parent() {
                        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
                    }
                    std::fs::write(&dest, &content).map_err(|e| Error::io(&dest, e))?;
                }
            }
            None => {
                #[cfg(unix)]
                std::os::unix::fs::symlink(&text, &to).map_err(|e| Error::io(&to, e))?;
            }
        }
    }
    Ok(true)
}

/// Where the link at `path` in `files`, whose text is `text`, leads inside the repository,
/// following further links (a few): a file or a directory `files` holds; `None` when it
/// leads out of the repository or to nothing there.
fn link_target(
    session: &Session,
    files: &strata_graph::snapshot::Snapshot,
    path: &str,
    text: &str,
) -> Result<Option<String>> {
    let (mut path, mut text) = (path.to_string(), text.to_string());
    for _ in 0..16 {
        if text.starts_with('/') {
            return Ok(None);
        }
        let mut parts: Vec<&str> = path.split('/').collect();
        parts.pop();
        for part in text.split('/') {
            match part {
                "" | "." => {}
                ".." => {
                    if parts.pop().is_none() {
                        return Ok(None);
                    }
                }
                p => parts.push(p),
            }
        }
        let target = parts.join("/");
        match files.files.get(target.as_str()) {
            Some(e) if e.mode == strata_graph::snapshot::SYMLINK_MODE => {
                let next = files.map_contents(&session.repo, &[target.as_str()], |_, b, _| {
                    String::from_utf8_lossy(b).to_string()
                })?;
                let Some((_, next)) = next.into_iter().next() else {
                    return Ok(None);
                };
                (path, text) = (target, next);
            }
            Some(_) => return Ok(Some(target)),
            None if files.files_below(&target).next().is_some() => return Ok(Some(target)),
            None => return Ok(None),
        }
    }
    Ok(None)
}

/// Removes a file, a link or a directory with everything below it; nothing there is fine.
fn remove_path(path: &Path) -> Result<()> {
    let removed = match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    };
    removed.map_err(|e| Error::io(path, e))
}

/// The prefix of the temporary directories holding a checkout of another revision.
const CHECKOUT_PREFIX: &str = "strata-revision-";

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
    // Every stack deleted since the base in these environments goes too: one whose state
    // is empty already (its destroy done, or interrupted after it) is "nothing to destroy",
    // and naming it lets its upstream go, which it read.
    let envs = resolve_envs(&head.model, &opts.envs)?;
    let mut deleted = deleted;
    for (label, at_base) in &selection.deleted_stacks {
        if !deleted.contains(label) && envs.iter().any(|e| at_base.contains(e)) {
            deleted.push(label.clone());
        }
    }
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

/// What `strata destroy` may tear down in `envs`: stacks only, and with every stack
/// deployed there that reads one of them (at any distance) named too, so no stack is left
/// reading outputs of nothing. A dependent not deployed in those environments has nothing
/// there that reads them.
pub(crate) fn destroyable(model: &Model, selection: &Selection, envs: &[String]) -> Result<()> {
    let selected = &selection.targets;
    let chosen: BTreeSet<TargetId> = selected.iter().copied().collect();
    for &i in selected {
        let t = &model.targets[i];
        if t.kind != Kind::Stack {
            return Err(strata_graph::Error::Usage {
                message: format!(
                    "{} is a {}: strata destroy tears down stacks",
                    t.label, t.kind
                ),
                hint: "name only stacks".into(),
            });
        }
    }
    let mut missing = BTreeSet::new();
    let mut charts = BTreeSet::new();
    let mut stack: Vec<TargetId> = selected.clone();
    let mut seen = chosen.clone();
    while let Some(i) = stack.pop() {
        for &d in model.graph.dependents(i) {
            let label = &model.targets[d].label;
            if selection.no_longer_reading.contains(label) {
                continue;
            }
            if seen.insert(d) {
                stack.push(d);
                let t = &model.targets[d];
                // Deployed there, or taken out since while the lock records it there: its
                // resources read what would be destroyed all the same.
                let deployed = t.environments.iter().any(|e| envs.contains(e))
                    || envs.iter().any(|e| {
                        selection
                            .recorded
                            .get(e)
                            .is_some_and(|labels| labels.contains(label))
                    });
                match t.kind {
                    Kind::Stack if deployed => {
                        missing.insert(label.clone());
                    }
                    // A chart deployed there renders with the outputs: it would fail to
                    // render, and the environment's lock and GitOps output with it.
                    Kind::Chart if deployed => {
                        charts.insert(label.clone());
                    }
                    _ => {}
                }
            }
        }
    }
    if !charts.is_empty() {
        let charts: Vec<String> = charts.into_iter().collect();
        return Err(strata_graph::Error::Usage {
            message: format!(
                "{} read{} outputs of what would be destroyed",
                charts.join(", "),
                if charts.len() == 1 { "s" } else { "" }
            ),
            hint: format!(
                "take {} out of the environment first (`environments` in its chart.toml), or leave the stack standing",
                if charts.len() == 1 { "it" } else { "them" }
            ),
        });
    }
    if !missing.is_empty() {
        let missing: Vec<String> = missing.into_iter().collect();
        return Err(strata_graph::Error::Usage {
            message: format!(
                "{} read{} outputs of what would be destroyed",
                missing.join(", "),
                if missing.len() == 1 { "s" } else { "" }
            ),
            hint: format!(
                "name {} too (dependents are destroyed first), or leave it standing",
                if missing.len() == 1 { "it" } else { "them" }
            ),
        });
    }
    Ok(())
}

/// The stacks an environment's release lock records that no longer deploy there, as tasks
/// that did not run.
pub fn taken_out(
    model: &Model,
    selection: &Selection,
    recorded: &std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
    mode: Mode,
) -> Vec<NotRunTask> {
    let mut out = Vec::new();
    for (env, labels) in recorded {
        for label in labels {
            // As a shell takes them, in the commands shown.
            let (word, env_word) = (
                strata_graph::text::shell_word(label),
                strata_graph::text::shell_word(env),
            );
            let reason = match model.target(label) {
                Some(t) if t.kind != Kind::Stack => continue,
                Some(t) if t.environments.contains(env) => continue,
                Some(_) => format!(
                    "{label} is no longer deployed in {env} (`environments` in {label}/stack.toml), and {env}'s release lock records it: its resources stay in {env} until `strata destroy {word} --env {env_word}` (or put {env} back in its `environments`)"
                ),
                // Deleted: `--affected` follows it from the base where it was deployed.
                None if selection
                    .deleted_stacks
                    .iter()
                    .any(|(l, at_base)| l == label && at_base.contains(env)) =>
                {
                    continue
                }
                None => format!(
                    "{label} no longer exists, and {env}'s release lock records it: its resources stay in {env} until destroyed with its last code: `strata destroy {word} --env {env_word} --from <a commit that has it>`"
                ),
            };
            out.push(NotRunTask {
                label: label.clone(),
                action: if mode == Mode::Apply {
                    Action::Apply
                } else {
                    Action::Plan
                },
                env: Some(env.clone()),
                reason,
                left_behind: false,
            });
        }
    }
    out
}

/// Deleted stacks whose state still holds resources in the environments run: deleting a
/// stack's code destroys nothing, and a run that would leave them unmentioned is not done.
pub(crate) fn left_behind(
    states: &States,
    view: &View,
    selection: &Selection,
    envs: &[String],
    mode: Mode,
) -> Vec<NotRunTask> {
    let action = if mode == Mode::Apply {
        Action::Apply
    } else {
        Action::Plan
    };
    let or_allow = if mode == Mode::Apply {
        " (or apply with --allow-destroy)"
    } else {
        ""
    };
    let mut found = Vec::new();
    let base = selection.base.as_deref().unwrap_or("HEAD");
    for (label, at_base) in &selection.deleted_stacks {
        // Read once per stack: the same code decides for every environment.
        let own = states
            .had_own_backend(label, base)
            .map_err(|e| e.to_string());
        for env in envs.iter().filter(|e| at_base.contains(e)) {
            let Some(environment) = view.model.environment(env) else {
                continue;
            };
            let (word, env_word) = (
                strata_graph::text::shell_word(label),
                strata_graph::text::shell_word(env),
            );
            let (reason, left_behind) = match own.clone().and_then(|own| {
                if own {
                    Ok(None)
                } else {
                    states
                        .left_behind(label, environment)
                        .map(Some)
                        .map_err(|e| e.to_string())
                }
            }) {
                // Only its code can say where its state is: planned from the base.
                Ok(None) => (format!(
                    "{label} was deleted and declared its own backend: only its code at {base} can tell whether resources are left behind. Check with `strata plan --affected`, destroy with `strata destroy {word} --env {env_word} --from {base}`{}",
                    or_allow,
                ), true),
                Ok(Some(resources)) if resources.is_empty() => continue,
                Ok(Some(resources)) => (format!(
                    "{label} was deleted, but its state in {env} still holds {} resource(s) ({}{}): deleting code destroys nothing. Destroy them with the code it had: `strata destroy {word} --env {env_word} --from {}`{}; or, if another stack manages them now, move them there with terraform state mv",
                    resources.len(),
                    resources.iter().take(3).cloned().collect::<Vec<_>>().join(", "),
                    if resources.len() > 3 { ", ..." } else { "" },
                    base,
                    or_allow,
                ), true),
                Err(e) => (format!(
                    "{label} was deleted, and its state in {env} could not be read to tell whether resources are left behind: {e}"
                ), false),
            };
            found.push(NotRunTask {
                label: label.clone(),
                action,
                env: Some(env.clone()),
                left_behind,
                reason,
            });
        }
    }
    found
}
