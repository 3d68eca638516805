//! After `strata apply`: what succeeded is verified and recorded in the environment's
//! release lock.
//!
//! A target is recorded only when every task of it in the apply passed, it was applied from
//! committed code (its hash at HEAD is the work tree's: a lock names the commit that
//! reproduces it), and the verification run (a check in the environment after the apply:
//! an empty follow-up plan, its policies and tests) passed. Everything else is listed with
//! why it was not recorded, and the lock keeps its previous entry for it.

use crate::env_files::fed_files;
use crate::identity;
use crate::lock::{LockEntry, ReleaseLock};
use crate::verify::verify;
use std::collections::BTreeMap;
use strata_exec::schedule::Status;
use strata_graph::discover::Kind;
use strata_graph::id::TargetId;
use strata_graph::model::Model;
use strata_graph::session::{Session, View};
use strata_graph::{Error, Result};
use strata_run::task::Action;
use strata_run::{Observer, RunOptions, RunReport};

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Recorded {
    pub env: String,
    /// Labels whose entries were written.
    pub recorded: Vec<String>,
    /// (label, checks) of recorded entries whose verification found a quality check failed
    /// (fmt, validate, lint, deps, policy): recorded as failed, for the next environment's
    /// `require` gate to hold the target back, and said, as the apply still succeeds.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failed_checks: Vec<(String, Vec<String>)>,
    /// Labels destroyed, whose entries were removed.
    pub removed: Vec<String>,
    /// (label, why) for what was applied or selected but not recorded.
    pub not_recorded: Vec<(String, String)>,
    /// Where the environment's GitOps output was written (relative to the root).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivered: Option<String>,
    /// The verification run's tasks.
    #[serde(skip)]
    pub verification: Option<RunReport>,
    /// What went wrong with the audit event of what was recorded (written unsigned): the
    /// recording stands, the run fails.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit_problem: Option<String>,
    /// Why the release lock could not be written, when the ledger's event could (it lists
    /// the lock as not recorded): nothing was recorded, and the run fails.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lock_problem: Option<String>,
}

impl Recorded {
    fn note_failed_checks(&mut self, label: &str, checks: &BTreeMap<String, String>) {
        let failed: Vec<String> = checks
            .iter()
            .filter(|(_, status)| status.as_str() == crate::lock::FAILED)
            .map(|(check, _)| check.clone())
            .collect();
        if !failed.is_empty() {
            self.failed_checks.push((label.to_string(), failed));
        }
    }
}

/// The targets of `model` whose lock entries name `label`'s dependencies: stacks and
/// charts that render, deployed in `env`.
pub fn lock_deps(model: &Model, label: &str, env: &str) -> Vec<String> {
    let Some(i) = model.index(label) else {
        return Vec::new();
    };
    model.targets[i]
        .deps
        .iter()
        .filter_map(|d| model.index(&d.label))
        .map(|j| &model.targets[j])
        .filter(|t| recordable(model, t, env))
        .map(|t| t.label.clone())
        .collect()
}

fn recordable(model: &Model, t: &strata_graph::model::Target, env: &str) -> bool {
    crate::delivery::is_delivered(model, t) && t.environments.iter().any(|e| e == env)
}

/// What an apply may do to the lock beyond recording what it applied.
#[derive(Debug, Clone, Copy, Default)]
pub struct Retire {
    /// Remove the entries of charts no longer delivered in the environment (deleted, or
    /// taken out of it, at HEAD and in the work tree): their GitOps output goes, and Argo
    /// CD or Flux prune what they delivered (`--allow-destroy`).
    pub charts: bool,
}

/// Verifies and records what `applied` (an apply in `env` of `selected`) changed, in the
/// environment's release lock and its audit ledger (the ledger also when recording failed).
#[allow(clippy::too_many_arguments)]
pub fn record_apply(
    session: &Session,
    view: &View,
    applied: &RunReport,
    selected: &[TargetId],
    env: &str,
    retire: Retire,
    opts: &RunOptions,
    observer: &dyn Observer,
) -> Result<Recorded> {
    let mut audited = None;
    let result = record_in_lock(
        session,
        view,
        applied,
        selected,
        env,
        retire,
        opts,
        observer,
        &mut audited,
    );
    if let (Ok(recorded), Some(audited)) = (&result, audited) {
        let mut recorded = recorded.clone();
        recorded.audit_problem = audited.err().map(|e| e.to_string());
        return Ok(recorded);
    }
    let for_audit = match &result {
        Ok(recorded) => recorded.clone(),
        Err(e) => Recorded {
            env: env.to_string(),
            not_recorded: vec![("(release lock)".into(), e.to_string())],
            ..Recorded::default()
        },
    };
    // When even this event cannot be written, the error goes up: the caller's record of
    // the run then says it ended on an error. Once it is written, the run has its one
    // event, and the lock's error is only told.
    // An event written unsigned (the key went away during the run) stands: the run fails,
    // but it has its one event, and its end is not to be recorded again as unknown.
    let written = crate::audit::record_run(session, opts.mode, applied, &for_audit)?;
    let audit_problem = written.and_then(|w| w.check().err()).map(|e| e.to_string());
    match result {
        Ok(recorded) => Ok(Recorded {
            audit_problem,
            ..recorded
        }),
        Err(e) => Ok(Recorded {
            lock_problem: Some(format!(
                "{e}{}",
                e.location().map(|l| format!(" ({l})")).unwrap_or_default()
            )),
            audit_problem,
            ..for_audit
        }),
    }
}

/// A turn at `env`'s release lock in this checkout (`.strata/release-<env>.lock`, a file
/// that is never replaced), held until dropped; `waiting` is told when another run holds it.
pub(crate) fn take_turn(
    root: &std::path::Path,
    env: &str,
    waiting: &dyn Fn(&str),
) -> Result<std::fs::File> {
    let dir = root.join(strata_graph::workspace::STRATA_DIR);
    std::fs::create_dir_all(&dir).map_err(|e| Error::write(&dir, e))?;
    strata_fs::keep_out_of_git(&dir);
    let path = dir.join(format!("release-{env}.lock"));
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::write(&path, e))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            waiting(&format!(
                "waiting for another strata run of this checkout to finish writing {env}'s release lock"
            ));
            file.lock().map_err(|e| Error::write(&path, e))?;
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(Error::write(&path, e)),
    }
    Ok(file)
}

/// The charts `lock` delivers that are no longer delivered in `env` in `model`.
fn undelivered_charts(lock: &ReleaseLock, model: &Model, env: &str) -> Vec<String> {
    lock.targets
        .iter()
        .filter(|(label, entry)| {
            entry.kind == Kind::Chart.as_str()
                && !model
                    .index(label)
                    .is_some_and(|i| recordable(model, &model.targets[i], env))
        })
        .map(|(label, _)| label.clone())
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn record_in_lock(
    session: &Session,
    view: &View,
    applied: &RunReport,
    selected: &[TargetId],
    env: &str,
    retire: Retire,
    opts: &RunOptions,
    observer: &dyn Observer,
    audited: &mut Option<Result<()>>,
) -> Result<Recorded> {
    let mut out = Recorded {
        env: env.to_string(),
        ..Recorded::default()
    };
    // Stacks destroyed here (`strata destroy`, or deleted stacks with `apply --allow-destroy`)
    // leave the lock: nothing of them is deployed any more.
    let mut destroyed: Vec<String> = applied
        .tasks
        .iter()
        .filter(|r| {
            r.destroy
                && r.action == Action::Apply
                && r.status == Status::Ok
                && r.env.as_deref() == Some(env)
        })
        .map(|r| r.label.clone())
        .collect();
    destroyed.dedup();
    if applied.interrupted {
        if !destroyed.is_empty() {
            let _turn = take_turn(&session.root, env, &|m| observer.warn(m))?;
            let mut lock = ReleaseLock::read(&session.root, env)?;
            // Only what the lock held: a stack destroyed that was never recorded (its state
            // held nothing) changes nothing there.
            out.removed = destroyed
                .into_iter()
                .filter(|label| lock.targets.remove(label).is_some())
                .collect();
            if !out.removed.is_empty() {
                lock.write(&session.root, env)?;
            }
        }
        // Stacks whose apply finished before the interrupt changed the environment but
        // were never verified: say so, as for an interrupt during the verification.
        for r in applied.tasks.iter().filter(|r| {
            !r.destroy
                && r.action == Action::Apply
                && r.status == Status::Ok
                && r.env.as_deref() == Some(env)
        }) {
            out.not_recorded.push((
                r.label.clone(),
                "applied, but the run was interrupted before its verification: apply again to verify and record it".into(),
            ));
        }
        return Ok(out);
    }
    let model = &view.model;
    let head = session.repo.resolve_commit("HEAD")?;
    let at_head = session.at_commit(&head)?;
    // Charts the lock still delivers though neither HEAD nor the work tree does: they go
    // with `--allow-destroy`; otherwise the apply is no success until they do.
    let undelivered = |lock: &ReleaseLock| -> Vec<String> {
        let at_head = undelivered_charts(lock, &at_head.model, env);
        undelivered_charts(lock, model, env)
            .into_iter()
            .filter(|label| at_head.contains(label))
            .collect()
    };
    // An apply says so (a destroy of stacks is about other things).
    let leaving = match opts.mode {
        strata_run::task::Mode::Apply => undelivered(&ReleaseLock::read(&session.root, env)?),
        _ => Vec::new(),
    };
    if !retire.charts {
        for label in &leaving {
            out.not_recorded.push((
                label.clone(),
                format!("no longer delivered in {env} (deleted, or taken out of the environment), but {env}'s release lock still delivers it: apply with --allow-destroy to remove it from the lock and the GitOps output (Argo CD or Flux then prune what it deployed)"),
            ));
        }
    }
    let retiring = retire.charts && !leaving.is_empty();
    // The environment's files each target was given (see `feeds`) are part of what a lock
    // entry's commit must reproduce, though not of target hashes.
    let head_env_files = at_head.model.environment_files(&at_head.snapshot);
    let tree_env_files = model.environment_files(&view.snapshot);
    let env_files_changed = |label: &str, chart: bool| -> Option<String> {
        let (head, tree) = (
            fed_files(&head_env_files, &at_head.snapshot, env, label, chart),
            fed_files(&tree_env_files, &view.snapshot, env, label, chart),
        );
        head.keys()
            .chain(tree.keys())
            .find(|p| head.get(*p) != tree.get(*p))
            .cloned()
    };
    let mut candidates: Vec<(String, Kind)> = Vec::new();
    for &i in selected {
        let t = &model.targets[i];
        if !recordable(model, t, env)
            || applied
                .tasks
                .iter()
                .any(|r| r.label == t.label && r.destroy)
        {
            continue;
        }
        let tasks: Vec<_> = applied
            .tasks
            .iter()
            .filter(|r| r.label == t.label && r.env.as_deref().is_none_or(|e| e == env))
            .collect();
        if t.kind == Kind::Stack && !tasks.iter().any(|r| r.action == Action::Apply) {
            continue;
        }
        if let Some(bad) = tasks.iter().find(|r| r.status != Status::Ok) {
            out.not_recorded
                .push((t.label.clone(), format!("{} did not pass", bad.action)));
            continue;
        }
        // What it read from a stack whose apply did not pass here is about to change: its
        // render (or plan) was made against the outputs before, and a lock entry would
        // call it verified with the upstream it will run with.
        let upstream = t
            .deps
            .iter()
            .map(|d| d.label.as_str())
            .chain(t.inputs.iter().map(|i| i.label.as_str()));
        if let Some(bad) = upstream.into_iter().find_map(|dep| {
            applied.tasks.iter().find(|r| {
                r.label == dep
                    && r.action == Action::Apply
                    && r.env.as_deref() == Some(env)
                    && r.status != Status::Ok
            })
        }) {
            out.not_recorded.push((
                t.label.clone(),
                format!(
                    "{} was not applied in {env} ({}): what {} read from it is about to change; apply again to record it",
                    bad.label,
                    if bad.status == Status::Failed { "failed" } else { "skipped" },
                    t.label
                ),
            ));
            continue;
        }
        if at_head.hash_of(&t.label) != view.hash_of(&t.label) {
            out.not_recorded.push((
                t.label.clone(),
                "applied from uncommitted changes: commit them and apply again to record it (a lock entry names the commit that reproduces it)".into(),
            ));
            continue;
        }
        if let Some(file) = env_files_changed(&t.label, t.chart.is_some()) {
            out.not_recorded.push((
                t.label.clone(),
                format!("applied with {file} changed since the last commit: commit it and apply again to record it (a lock entry names the commit that reproduces it)"),
            ));
            continue;
        }
        // The checks a lock entry records gate the next environment: the policies and
        // waivers that judged them must be a commit's too, not an edit no one reviewed.
        if crate::verify::policies_uncommitted(&at_head, view, &t.label, env) {
            out.not_recorded.push((
                t.label.clone(),
                format!("its checks were judged by policies or waivers changed since the last commit (uncommitted edits of the policies governing it in {env}, or of their waivers): commit them and apply again to record it (a lock entry's checks must be reproducible from its commit)"),
            ));
            continue;
        }
        candidates.push((t.label.clone(), t.kind));
    }
    if candidates.is_empty() && destroyed.is_empty() && !retiring {
        return Ok(out);
    }
    let (report, results) = if candidates.is_empty() {
        (RunReport::new(Vec::new(), false, false), Default::default())
    } else {
        verify(session, Some(view), None, &candidates, env, opts, observer)?
    };
    if report.interrupted {
        // Applied, not verified: the lock keeps what it had, and the ledger says why.
        for (label, _) in &candidates {
            out.not_recorded.push((
                label.clone(),
                "the verification after the apply was interrupted: apply again to verify and record it".into(),
            ));
        }
        out.verification = Some(report);
        return Ok(out);
    }
    let me = identity::current(&session.repo)?;
    let now = crate::clock::format_utc(crate::clock::now());
    // Reading, changing and writing the lock (and its GitOps output) take turns with other
    // runs in this checkout: two applies at once each keep the other's entries.
    let _turn = take_turn(&session.root, env, &|m| observer.warn(m))?;
    let mut lock = ReleaseLock::read(&session.root, env)?;
    // Entries the ledger does not vouch for (edited by hand) are written afresh from this
    // run's verification: this event must not vouch for what it did not verify.
    // Asked only when an entry would be kept (checking a signed ledger runs ssh-keygen once
    // per event).
    let mut unvouched: Option<BTreeMap<String, String>> = None;
    let mut entries = BTreeMap::new();
    let mut since = crate::env_files::SinceApplied::new(
        session,
        &head,
        env,
        &head_env_files,
        &at_head.snapshot,
    );
    for (label, kind) in &candidates {
        let hash = view.hash_of(label).expect("a model target").to_string();
        // An entry is kept only while its commit still reproduces what this apply did: the
        // environment's files that fed the target (no part of its hash) are the same there
        // as at HEAD. Otherwise the entry names HEAD: its commit would give another plan.
        let chart = *kind == Kind::Chart;
        // (A file of the environment's directory deleted since may have fed it: the entry
        // then names HEAD too, which reproduces the apply as well.)
        let same_env_files = match lock.targets.get(label) {
            Some(kept) if kept.hash == hash => {
                // The environment's files as the entry applied them (a promoted entry's
                // are HEAD's at the promotion, not its code's commit's).
                // Not when git cannot tell (a commit that is gone).
                since.fed_changed(kept.env_files_commit(), label, chart) == Some(None)
            }
            _ => false,
        };
        match &results[label] {
            // Already recorded at this hash (and, for a chart, the same rendering), as the
            // ledger says: the entry keeps when it arrived (soak times count from then) and
            // the commit that first brought it. What its checks give now replaces what they
            // gave then: policies and the environment's gates are no part of the hash, and
            // a gate must judge what the environment's checks find today.
            Ok(v)
                if same_env_files
                    && lock
                        .targets
                        .get(label)
                        .is_some_and(|e| e.hash == hash && e.rendered == v.rendered)
                    && !match &unvouched {
                        Some(u) => u,
                        None => unvouched.insert(crate::vouch::unvouched(&session.root, env)?),
                    }
                    .contains_key(label) =>
            {
                let kept = &lock.targets[label];
                out.note_failed_checks(label, &v.checks);
                let policies = crate::verify::policy_basis(view, label, env);
                if kept.checks != v.checks
                    || kept.max_severity != v.max_severity
                    || kept.policies != policies
                {
                    entries.insert(
                        label.clone(),
                        LockEntry {
                            checks: v.checks.clone(),
                            max_severity: v.max_severity.clone(),
                            policies,
                            ..kept.clone()
                        },
                    );
                }
                out.recorded.push(label.clone());
            }
            Ok(v) => {
                out.note_failed_checks(label, &v.checks);
                entries.insert(
                    label.clone(),
                    LockEntry {
                        kind: kind.as_str().to_string(),
                        hash,
                        commit: head.clone(),
                        applied_at: now.clone(),
                        applied_by: me.clone(),
                        promoted_from: None,
                        deps: lock_deps(model, label, env),
                        checks: v.checks.clone(),
                        max_severity: v.max_severity.clone(),
                        rendered: v.rendered.clone(),
                        policies: crate::verify::policy_basis(view, label, env),
                        env_commit: None,
                    },
                );
                out.recorded.push(label.clone());
            }
            Err(why) => out.not_recorded.push((label.clone(), why.clone())),
        }
    }
    // Read again under the turn: another run may have changed the lock meanwhile.
    let retired = if retire.charts {
        undelivered(&lock)
    } else {
        Vec::new()
    };
    out.removed = destroyed
        .iter()
        .chain(&retired)
        .filter(|label| lock.targets.remove(*label).is_some())
        .cloned()
        .collect();
    if !entries.is_empty() || !out.removed.is_empty() {
        lock.targets.extend(entries);
        // The lock and the environment's GitOps output change together, or not at all.
        let output = match crate::delivery::configured_dir(&session.root, model, env) {
            None => None,
            Some(dir) => {
                match crate::delivery::from_lock(session, view, env, &lock, opts, observer)? {
                    Ok(output) => Some((dir, output)),
                    Err(why) => {
                        let why = format!("the GitOps output of {env} cannot be made: {why}");
                        for label in out.recorded.drain(..) {
                            out.not_recorded.push((label, why.clone()));
                        }
                        // Nor is a destroyed target's entry removed: the lock is not
                        // written, and saying otherwise would be false.
                        for label in out.removed.drain(..) {
                            out.not_recorded.push((
                                label,
                                format!("destroyed, and its entry is still in the lock: {why}"),
                            ));
                        }
                        out.verification = Some(report);
                        return Ok(out);
                    }
                }
            }
        };
        // Whatever can stop the output (a directory strata did not write) stops it before
        // the lock changes: the two change together, or not at all.
        let (staged, dir) = match output {
            Some((dir, output)) => (Some(crate::delivery::stage(&dir, &output)?), Some(dir)),
            None => (None, None),
        };
        out.delivered = dir.map(|dir| {
            dir.strip_prefix(&session.root)
                .unwrap_or(&dir)
                .display()
                .to_string()
        });
        out.verification = Some(report);
        // The ledger's event, written beside the ledger first: when it cannot be (a full
        // disk), nothing changes; once the lock and the output are in place, one rename
        // puts it in, and when that fails, the lock and the output are put back.
        let event = crate::audit::prepare_run(session, opts.mode, applied, &out, &lock)?;
        let mut written = None;
        crate::delivery::write_with_lock(&session.root, env, &lock, staged, || {
            if let Some(event) = event {
                written = Some(event.write()?);
            }
            Ok(())
        })?;
        *audited = Some(written.map_or(Ok(()), |w| w.check()));
        return Ok(out);
    }
    out.verification = Some(report);
    Ok(out)
}
