//! `strata reconcile --env E [LABEL...]`: puts an environment back to what its release
//! lock says, after drift nobody wanted (a console edit, a resource deleted by hand).
//!
//! Each stack of the lock (or each one named, and the stacks it reads) is applied again
//! with the code of the commit its entry records and the environment's files it was applied
//! with, after the stacks it reads; a stack whose fresh plan has no changes is left alone,
//! and each one applied is verified there (an empty follow-up plan). The environment's
//! GitOps output is written again from the lock. The lock itself does not change: its
//! entries already say what runs. The ledger gets one `reconcile` event.
//!
//! Like a promotion, one runs at a time per environment and checkout, and none runs while a
//! promotion there stopped half-way (re-applying the lock would undo part of it behind its
//! record).

use crate::lock::{LockEntry, ReleaseLock};
use crate::verify::{run_labels, verify};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use strata_exec::schedule::Status;
use strata_graph::discover::Kind;
use strata_graph::error::{Error, Location};
use strata_graph::session::{Session, View};
use strata_graph::Result;
use strata_run::task::{Action, Mode};
use strata_run::{Observer, RunOptions};

/// What became of one stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StackOutcome {
    /// Its plan had no changes: nothing was applied.
    InSync,
    /// Applied with its entry's code and verified.
    Reconciled,
    /// Its apply or verification failed, or its plan was not approved.
    Failed,
    /// Not run: interrupted, or a stack it reads was not put back.
    NotRun,
}

impl StackOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            StackOutcome::InSync => "in-sync",
            StackOutcome::Reconciled => "reconciled",
            StackOutcome::Failed => "failed",
            StackOutcome::NotRun => "not-run",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct StackResult {
    pub label: String,
    /// The commit its entry records (whose code was applied).
    pub commit: String,
    pub result: StackOutcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The GitOps output written again from the lock.
#[derive(Debug, Clone, Serialize)]
pub struct Delivered {
    /// Relative to the workspace root.
    pub dir: String,
    /// Files that differed from the lock's output (edited, missing or extra) and were put
    /// back.
    pub rewritten: Vec<String>,
    /// Why the output could not be made (nothing was written then).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Reconciled {
    pub env: String,
    /// The labels named (empty: the whole lock).
    pub labels: Vec<String>,
    /// Each stack, in the order it ran.
    pub stacks: Vec<StackResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivered: Option<Delivered>,
    pub interrupted: bool,
    /// The ledger's event could not be written (or signed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit_problem: Option<String>,
}

impl Reconciled {
    /// Every stack in sync or put back, the output written, the ledger told.
    pub fn ok(&self) -> bool {
        !self.interrupted
            && self.audit_problem.is_none()
            && self
                .stacks
                .iter()
                .all(|s| matches!(s.result, StackOutcome::InSync | StackOutcome::Reconciled))
            && self.delivered.as_ref().is_none_or(|d| d.problem.is_none())
    }

    /// For people: one line per stack, then the output.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for s in &self.stacks {
            let what = match s.result {
                StackOutcome::InSync => "in sync",
                StackOutcome::Reconciled => "reconciled",
                StackOutcome::Failed => "FAILED",
                StackOutcome::NotRun => "not run",
            };
            out.push_str(&format!("{:<12} {} [{}]", what, s.label, self.env));
            if s.result == StackOutcome::Reconciled {
                out.push_str(&format!(
                    "  applied at {} and verified",
                    crate::plan::short(&s.commit)
                ));
            }
            if let Some(reason) = &s.reason {
                out.push_str(&format!("  ({reason})"));
            }
            out.push('\n');
        }
        if let Some(d) = &self.delivered {
            match (&d.problem, d.rewritten.is_empty()) {
                (Some(why), _) => {
                    out.push_str(&format!("GitOps output {}: NOT written ({why})\n", d.dir))
                }
                (None, true) => out.push_str(&format!("GitOps output {}: in sync\n", d.dir)),
                (None, false) => out.push_str(&format!(
                    "GitOps output {}: put back {} (commit it)\n",
                    d.dir,
                    d.rewritten.join(", ")
                )),
            }
        }
        if self.stacks.is_empty() && self.delivered.is_none() {
            out.push_str(&format!(
                "nothing to reconcile: {}'s release lock records no stack{}\n",
                self.env,
                if self.labels.is_empty() {
                    ""
                } else {
                    " among those named"
                }
            ));
        }
        if self.stacks.iter().any(|s| s.result == StackOutcome::Failed) {
            out.push_str("(-v shows every tool's output)\n");
        }
        if let Some(problem) = &self.audit_problem {
            out.push_str(&format!("audit trail of {}: {problem}\n", self.env));
        }
        out
    }
}

/// Reconciles `env` (or the `labels` of its lock, and the stacks they read): see the
/// module's documentation. `head` is the work tree's view (which stacks the code still
/// deploys there). `observer` approves each plan with changes.
pub fn reconcile(
    session: &Session,
    head: &View,
    env: &str,
    labels: &[String],
    base: &RunOptions,
    observer: &dyn Observer,
) -> Result<Reconciled> {
    strata_run::resolve_envs(&head.model, &[env.to_string()])?;
    let lock = ReleaseLock::read(&session.root, env)?;
    let usage = |message: String, hint: String| Error::Invalid {
        message,
        location: Location::new("command line", None),
        hint,
    };
    for label in labels {
        if !lock.targets.contains_key(label) {
            return Err(usage(
                format!("{label} is not in {env}'s release lock: there is nothing it should be put back to"),
                format!(
                    "apply it first (`strata apply {} --env {}`)",
                    strata_graph::text::shell_word(label),
                    strata_graph::text::shell_word(env)
                ),
            ));
        }
    }
    // The stacks named and those they read, as the lock records them: a stack is put back
    // against its upstream's outputs, which must be what the lock says first.
    let wanted = lock.with_what_they_read(labels, |_| true);
    let stacks: Vec<(&String, &LockEntry)> = lock
        .targets
        .iter()
        .filter(|(l, e)| {
            e.kind == Kind::Stack.as_str() && (labels.is_empty() || wanted.contains(l))
        })
        .collect();
    // Charts are delivered by the GitOps output: written again when the whole lock is
    // reconciled, or a chart is named.
    let gitops = crate::delivery::configured_dir(&session.root, &head.model, env).filter(|_| {
        labels.is_empty()
            || labels.iter().any(|l| {
                lock.targets
                    .get(l)
                    .is_some_and(|e| e.kind == Kind::Chart.as_str())
            })
    });
    // Nothing to put back is no success: no lock on this checkout (never committed, another
    // branch), an empty one, or charts only with no GitOps output. (An empty lock's output
    // would be an empty directory: the delivered charts would be pruned.)
    if lock.targets.is_empty() || (stacks.is_empty() && gitops.is_none()) {
        return Err(Error::Invalid {
            message: format!(
                "nothing to reconcile in {env}: its release lock records {}",
                if lock.targets.is_empty() {
                    "no target"
                } else if labels.is_empty() {
                    "no stack, and no GitOps output of its charts is configured"
                } else {
                    "no stack among those named, and no GitOps output of its charts is configured"
                }
            ),
            location: Location::new(format!("environments/{env}/release.lock.toml"), None),
            hint: format!(
                "reconcile puts {env} back to its lock: apply the environment (`strata apply --env {env}`), commit its release lock, and run reconcile on a checkout that has it"
            ),
        });
    }
    // What is put back: its stacks, and every chart of the GitOps output, which is made
    // whole. Every commit their entries name must be here before anything runs.
    let put_back = |label: &String, e: &LockEntry| {
        stacks.iter().any(|(s, _)| *s == label)
            || (gitops.is_some() && e.kind == Kind::Chart.as_str())
    };
    let commits: BTreeSet<&str> = lock
        .targets
        .iter()
        .filter(|(l, e)| put_back(l, e))
        .flat_map(|(_, e)| [e.commit.as_str(), e.env_files_commit()])
        .collect();
    let commits: Vec<&str> = commits.into_iter().collect();
    let missing = session.repo.missing_commits(&commits)?;
    if let Some(first) = missing.first() {
        let named: Vec<String> = lock
            .targets
            .iter()
            .filter(|(l, e)| {
                put_back(l, e)
                    && (missing.contains(&e.commit.as_str())
                        || missing.contains(&e.env_files_commit()))
            })
            .map(|(l, e)| format!("{l} (commit {})", crate::plan::short(&e.commit)))
            .collect();
        return Err(usage(
            format!(
                "this repository does not hold the commits {env}'s release lock names: {}",
                named.join(", ")
            ),
            format!("fetch them (`git fetch origin {first}`; a shallow clone needs `git fetch --unshallow`)"),
        ));
    }
    if gitops.is_some() {
        crate::delivery::check_tools(session, &head.model, env)?;
    }
    let _promotions = match crate::promote::take_lock(&session.root, env, "a reconcile")? {
        Ok(held) => held,
        Err(why) => return Err(usage(why, "reconcile when it has ended".into())),
    };
    if let Some((record, outcome)) = crate::promote::unfinished(&session.root, env, "")? {
        return Err(usage(
            crate::promote::unfinished_message(env, &record, &outcome),
            "then reconcile".into(),
        ));
    }
    let targets: Vec<String> = stacks.iter().map(|(l, _)| (*l).clone()).collect();
    let running = crate::started::start(session, env, "reconcile", &targets)?;
    let mut out = Reconciled {
        env: env.to_string(),
        labels: labels.to_vec(),
        stacks: Vec::new(),
        delivered: None,
        interrupted: false,
        audit_problem: None,
    };
    let done = put_back_stacks(session, head, env, &lock, &stacks, base, observer, &mut out)
        .and_then(|()| note_files_since(session, env, &lock, &mut out));
    if let Err(e) = done {
        running.ended_with_error(session, &e.to_string());
        return Err(e);
    }
    if let Some(dir) = gitops {
        if strata_exec::process::is_cancelled() {
            out.interrupted = true;
        } else {
            out.delivered = Some(deliver(session, head, env, &lock, &dir, base, observer));
        }
    }
    out.interrupted |= strata_exec::process::is_cancelled();
    // Another apply or promotion that changed an entry meanwhile: what was put back is no
    // longer what the lock says.
    if let Ok(now) = ReleaseLock::read(&session.root, env) {
        for s in out.stacks.iter_mut() {
            let before = lock.targets.get(&s.label).map(LockEntry::digest);
            let after = now.targets.get(&s.label).map(LockEntry::digest);
            if before != after && s.result == StackOutcome::Reconciled {
                s.result = StackOutcome::Failed;
                s.reason = Some(format!(
                    "its entry in {env}'s release lock changed while it was put back (another apply or promotion): run `strata drift --env {env}` again"
                ));
            }
        }
    }
    match crate::audit::record_reconcile(session, &out) {
        // Not written: the run's record says it ended on that error.
        Err(e) => {
            out.audit_problem = Some(format!("its event was not written: {e}"));
            running.ended_with_error(session, &e.to_string());
        }
        // Written unsigned (the key went away during the run): the event stands, and the
        // run fails.
        Ok(written) => {
            out.audit_problem = written
                .check()
                .err()
                .map(|e| format!("its event was written unsigned: {e}"))
        }
    }
    Ok(out)
}

/// Says of each stack put back whose environment files were committed since it was applied
/// (an override not applied there yet) which one: reconcile restores what the entry
/// records, and `strata drift`, which plans with HEAD's files, reports the stack until an
/// apply delivers them.
fn note_files_since(
    session: &Session,
    env: &str,
    lock: &ReleaseLock,
    out: &mut Reconciled,
) -> Result<()> {
    if out.stacks.is_empty() {
        return Ok(());
    }
    let head_commit = session.repo.resolve_commit("HEAD")?;
    let at_head = session.at_commit(&head_commit)?;
    let env_files = at_head.model.environment_files(&at_head.snapshot);
    let mut since = crate::env_files::SinceApplied::new(
        session,
        &head_commit,
        env,
        &env_files,
        &at_head.snapshot,
    );
    for s in out
        .stacks
        .iter_mut()
        .filter(|s| matches!(s.result, StackOutcome::InSync | StackOutcome::Reconciled))
    {
        let Some(entry) = lock.targets.get(&s.label) else {
            continue;
        };
        if let Some(Some(file)) = since.fed_changed(entry.env_files_commit(), &s.label, false) {
            s.reason = Some(format!(
                "put back as its entry records; {file} was committed since it was applied, and `strata drift` reports that until it is applied (`strata apply {} --env {}`)",
                strata_graph::text::shell_word(&s.label),
                strata_graph::text::shell_word(env)
            ));
        }
    }
    Ok(())
}

/// Applies each of `stacks` again at its entry's commit, after the stacks it reads, each
/// verified; a stack whose upstream was not put back is not run.
#[allow(clippy::too_many_arguments)]
fn put_back_stacks(
    session: &Session,
    head: &View,
    env: &str,
    lock: &ReleaseLock,
    stacks: &[(&String, &LockEntry)],
    base: &RunOptions,
    observer: &dyn Observer,
    out: &mut Reconciled,
) -> Result<()> {
    let entries: BTreeMap<&String, &LockEntry> = stacks.iter().copied().collect();
    let order = crate::promote::rollback::after_what_they_read(
        stacks.iter().map(|(l, _)| *l).collect(),
        |label| {
            lock.targets
                .get(label)
                .map_or(&[][..], |e| e.deps.as_slice())
        },
    );
    // A stack the code no longer deploys here: putting it back would not end its drift
    // (`strata drift` reports it until it is destroyed).
    let taken_out = |label: &str| {
        head.model
            .index(label)
            .is_some_and(|i| !head.model.targets[i].environments.iter().any(|e| e == env))
    };
    // The recorded stacks: one whose state is gone is not created a second time.
    let mut deployed = base.deployed.clone();
    deployed.insert(env.to_string(), lock.stacks());
    for label in order {
        let entry = entries[label];
        let (result, reason) = if strata_exec::process::is_cancelled() {
            out.interrupted = true;
            (
                StackOutcome::NotRun,
                Some("interrupted before it ran".into()),
            )
        } else if let Some(upstream) = entry.deps.iter().find(|d| {
            out.stacks.iter().any(|s| {
                &s.label == *d
                    && !matches!(s.result, StackOutcome::InSync | StackOutcome::Reconciled)
            })
        }) {
            (
                StackOutcome::NotRun,
                Some(format!("{upstream}, which it reads, was not put back")),
            )
        } else if taken_out(label) {
            (
                StackOutcome::NotRun,
                Some(format!(
                    "taken out of {env} (its `environments` no longer list it): destroy it (`strata destroy {} --env {}`)",
                    strata_graph::text::shell_word(label),
                    strata_graph::text::shell_word(env)
                )),
            )
        } else {
            let opts = RunOptions {
                env_files_from: Some(entry.env_files_commit().to_string()),
                deployed: deployed.clone(),
                ..base.clone()
            };
            let (result, reason, interrupted) =
                put_back(session, env, label, entry, &opts, observer)?;
            out.interrupted |= interrupted;
            (result, reason)
        };
        out.stacks.push(StackResult {
            label: label.clone(),
            commit: entry.commit.clone(),
            result,
            reason,
        });
    }
    Ok(())
}

/// Applies `label` again with `entry`'s code, and verifies it when its plan had changes.
/// Also says whether the run was interrupted.
fn put_back(
    session: &Session,
    env: &str,
    label: &str,
    entry: &LockEntry,
    opts: &RunOptions,
    observer: &dyn Observer,
) -> Result<(StackOutcome, Option<String>, bool)> {
    let labels = [label.to_string()];
    let report = run_labels(
        session,
        None,
        Some(&entry.commit),
        &labels,
        Mode::Apply,
        env,
        opts,
        observer,
    )?;
    let apply = report
        .tasks
        .iter()
        .find(|t| t.label == label && t.action == Action::Apply);
    let interrupted = report.interrupted;
    Ok(match apply {
        Some(t)
            if t.status == Status::Ok
                && t.reason.as_deref() == Some(strata_run::NOTHING_TO_APPLY) =>
        {
            (StackOutcome::InSync, None, interrupted)
        }
        Some(t) if t.status == Status::Ok => {
            let (check, verified) = verify(
                session,
                None,
                Some(&entry.commit),
                &[(label.to_string(), Kind::Stack)],
                env,
                opts,
                observer,
            )?;
            match &verified[label] {
                Ok(_) => (StackOutcome::Reconciled, None, check.interrupted),
                Err(why) => (
                    StackOutcome::Failed,
                    Some(format!("applied, but {why}")),
                    interrupted || check.interrupted,
                ),
            }
        }
        _ if report
            .tasks
            .iter()
            .any(|t| t.label == label && t.status == Status::Failed) =>
        {
            (
                StackOutcome::Failed,
                Some(crate::promote::waves::first_failure_among(
                    &report, &labels, true,
                )),
                interrupted,
            )
        }
        _ if interrupted => (StackOutcome::NotRun, Some("interrupted".into()), true),
        // Not approved at the prompt.
        Some(t) if t.status == Status::Skipped => (StackOutcome::NotRun, t.reason.clone(), false),
        _ => (
            StackOutcome::Failed,
            Some(crate::promote::waves::first_failure_among(
                &report, &labels, true,
            )),
            false,
        ),
    })
}

/// Why the GitOps settings of `env` in the work tree (`head`) are not those a target of
/// `lock` was applied with (at its entry's environment files' commit), in words. Stacks
/// count too: an output of stacks alone still names the repository and cluster.
fn changed_settings(
    session: &Session,
    head: &View,
    env: &str,
    lock: &ReleaseLock,
) -> Result<Option<String>> {
    let now = crate::delivery::settings(session, &head.model, env, None)?;
    let mut seen = BTreeSet::new();
    for (label, entry) in lock.targets.iter() {
        let commit = entry.env_files_commit();
        if !seen.insert(commit) {
            continue;
        }
        let at = session.at_commit(commit)?;
        let then = crate::delivery::settings(session, &at.model, env, None);
        if then.as_ref().ok() != Some(&now) {
            return Ok(Some(format!(
                "the GitOps settings (`[gitops]` of WORKSPACE.toml or environments/{env}/env.toml) are not those {label} was applied with at {}: this output would deliver them; apply the environment to deliver them (`strata apply --env {env}`), or restore them",
                crate::plan::short(commit)
            )));
        }
    }
    Ok(None)
}

/// Writes `env`'s GitOps output again from `lock`, and says which files that changed.
fn deliver(
    session: &Session,
    head: &View,
    env: &str,
    lock: &ReleaseLock,
    dir: &std::path::Path,
    base: &RunOptions,
    observer: &dyn Observer,
) -> Delivered {
    let shown = dir
        .strip_prefix(&session.root)
        .unwrap_or(dir)
        .display()
        .to_string();
    let mut delivered = Delivered {
        dir: shown,
        rewritten: Vec::new(),
        problem: None,
    };
    // The output's settings (`[gitops]` of WORKSPACE.toml and env.toml: repository,
    // cluster, namespaces) are the work tree's: settings changed since a chart was applied
    // would be delivered by this output, which is no putting back.
    match changed_settings(session, head, env, lock) {
        Ok(None) => {}
        Ok(Some(why)) => {
            delivered.problem = Some(why);
            return delivered;
        }
        Err(e) => {
            delivered.problem = Some(e.to_string());
            return delivered;
        }
    }
    let before = crate::delivery::read_tree(dir).unwrap_or_default();
    let made = crate::delivery::from_lock(session, head, env, lock, base, observer);
    match made {
        Ok(Ok(output)) => {
            let expected = crate::delivery::with_marker(&output);
            delivered.rewritten = crate::drift::compare(&expected, &before)
                .into_iter()
                .map(|f| f.file)
                .collect();
            if !delivered.rewritten.is_empty() {
                if let Err(e) = crate::delivery::write(dir, &output) {
                    delivered.problem = Some(e.to_string());
                }
            }
        }
        Ok(Err(why)) => delivered.problem = Some(why),
        Err(e) => delivered.problem = Some(e.to_string()),
    }
    delivered
}
