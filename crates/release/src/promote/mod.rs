//! `strata promote apply FILE`: carries out a reviewed, approved promotion plan, wave by
//! wave, each target with the code of the commit the source's lock recorded; on a failure,
//! rolls back what it changed, in reverse order, to the destination's previous lock.
//!
//! Before anything runs the plan must be current (both locks as they were when it was
//! made), its gates must still hold, it must carry enough valid approvals, and the user must
//! be allowed to promote into the destination. One promotion into an environment runs at a
//! time per checkout (`.strata/promote-<env>.lock`). The destination's lock changes only
//! when every step was applied and verified. What happened is written to
//! `.strata/promotions/<digest>.json`, which `strata promote rollback FILE` reads after an
//! interrupted promotion.

use crate::approvals::{self, Counted};
use crate::clock;
use crate::identity;
use crate::lock::{LockEntry, ReleaseLock};
use crate::plan::{gates_of, train_step, Locks, PromotionPlan, Rollback, Step, StepAction};
use crate::verify::{run_labels, verify, Approving, Verified};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use strata_exec::process;
use strata_graph::discover::Kind;
use strata_graph::error::{Error, Location};
use strata_graph::session::Session;
use strata_graph::Result;
use strata_run::task::Mode;
use strata_run::{Observer, RunOptions};

mod preflight;
pub(crate) mod rollback;
pub(crate) mod waves;

use preflight::*;
pub use preflight::{missing_commits, unrollable};
pub use rollback::rollback;
use rollback::*;
pub use waves::NOT_RUN;
use waves::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Every step applied and verified; the destination's lock updated.
    Applied,
    /// Nothing ran: the plan is stale, a gate no longer holds, approvals are missing, the
    /// user may not promote, or another promotion is running.
    Refused,
    /// A step failed; what had changed was rolled back and verified; the lock is unchanged.
    RolledBack,
    /// A step failed and rolling back failed too: see the record and the runbook.
    RollbackFailed,
    /// Ctrl-C: stopped between steps; resume or roll back.
    Interrupted,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    pub label: String,
    pub action: String,
    pub commit: String,
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What a promotion did: printed, and kept in `.strata/promotions/<digest>.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Outcome {
    pub plan: String,
    pub from: String,
    pub to: String,
    pub status: Status,
    pub message: String,
    pub by: String,
    pub started_at: String,
    pub approvals: Vec<CountedRecord>,
    /// Steps in the order they ran.
    pub steps: Vec<StepRecord>,
    /// Rollback steps in the order they ran.
    pub rollback: Vec<StepRecord>,
    /// Labels this promotion changed in the destination (what a rollback must undo).
    pub changed: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CountedRecord {
    pub principal: Option<String>,
    pub counts: bool,
    /// The author's signature, which proves who made the plan.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub author: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl From<Counted> for CountedRecord {
    fn from(c: Counted) -> CountedRecord {
        CountedRecord {
            principal: c.principal,
            counts: c.counts,
            author: c.author,
            reason: c.reason,
        }
    }
}

/// Where the outcome of the plan with `digest` is recorded.
pub fn record_path(root: &Path, digest: &str) -> PathBuf {
    root.join(".strata/promotions")
        .join(format!("{digest}.json"))
}

/// A promotion into `env` recorded in this checkout that stopped half-way (interrupted, or
/// failed and could not roll back) after changing something there, other than the plan
/// with `digest`: until it is resumed or rolled back, the destination holds what its lock
/// does not describe, and another promotion there would make both impossible.
pub fn unfinished(root: &Path, env: &str, digest: &str) -> Result<Option<(PathBuf, Outcome)>> {
    let dir = root.join(".strata/promotions");
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(&dir, e)),
    };
    let mut found: Vec<(PathBuf, Outcome)> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .filter_map(|p| {
            let outcome: Outcome =
                serde_json::from_str(&strata_fs::read_regular_to_string(&p).ok()?).ok()?;
            Some((p, outcome))
        })
        .filter(|(_, o)| {
            o.to == env
                && o.plan != digest
                && matches!(o.status, Status::Interrupted | Status::RollbackFailed)
                && !o.changed.is_empty()
        })
        .collect();
    found.sort_by(|a, b| a.1.started_at.cmp(&b.1.started_at));
    Ok(found.pop())
}

/// Why a promotion into `env` waits for an unfinished one ([`unfinished`]), in words.
pub fn unfinished_message(env: &str, record: &Path, outcome: &Outcome) -> String {
    format!(
        "a promotion into {env} (plan {}, started {} by {}) stopped half-way ({}) after changing {}: resume it (`strata promote apply` with its plan file) or undo it (`strata promote rollback` with its plan file) first; if {env} was repaired by hand since, remove {}",
        crate::plan::short(&outcome.plan),
        outcome.started_at,
        outcome.by,
        match outcome.status {
            Status::Interrupted => "interrupted",
            _ => "its rollback failed",
        },
        outcome.changed.join(", "),
        record.display()
    )
}

/// One promotion, rollback or reconcile in an environment at a time (per checkout);
/// released when dropped or when the process ends, however it ends.
pub(crate) struct PromotionLock {
    _file: File,
}

/// Takes `env`'s [`PromotionLock`] for a run that is `what` (`a promotion`, `a rollback`,
/// `a reconcile`); `Err` (why, in words) when another run holds it.
pub(crate) fn take_lock(
    root: &Path,
    env: &str,
    what: &str,
) -> Result<std::result::Result<PromotionLock, String>> {
    let dir = root.join(strata_graph::workspace::STRATA_DIR);
    std::fs::create_dir_all(&dir).map_err(|e| Error::write(&dir, e))?;
    strata_fs::keep_out_of_git(&dir);
    let path = dir.join(format!("promote-{env}.lock"));
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&path)
        .map_err(|e| Error::io(&path, e))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let holder = std::fs::read_to_string(&path).unwrap_or_default();
            let holder = holder.trim();
            // Written as `pid N, a promotion` (older strata: `pid N`, a promotion).
            let (pid, running) = match holder.split_once(", ") {
                Some((pid, running)) => (pid, running),
                None => (holder, "a promotion"),
            };
            let pid = if pid.is_empty() { "pid unknown" } else { pid };
            let running = match running {
                "a promotion" => format!("another promotion into {env} is running"),
                other => format!("{other} in {env} is running"),
            };
            return Ok(Err(format!(
                "{running} ({pid}): wait for it to finish{}",
                if what == "a promotion" {
                    ", then make a new plan"
                } else {
                    ""
                }
            )));
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(&path, e)),
    }
    let _ = file.set_len(0);
    let _ = write!(file, "pid {}, {what}", std::process::id());
    Ok(Ok(PromotionLock { _file: file }))
}

/// What `promote apply` needs besides the plan.
pub struct Context<'a> {
    pub session: &'a Session,
    pub plan_path: &'a Path,
    pub opts: &'a RunOptions,
    pub observer: &'a dyn Observer,
    /// Progress lines for people (`wave 1: ...`).
    pub say: &'a dyn Fn(&str),
}

/// Whether the destination's audit ledger can take the event a promotion or rollback into
/// it would write: when its events must be signed, a key must be there to sign them (an
/// error before anything runs, and no event, rather than an unsigned one).
fn can_record(ctx: &Context) -> Result<()> {
    let plan = PromotionPlan::read_claimed(ctx.plan_path)?;
    let config = crate::audit::env_config(&ctx.session.root, &plan.to)?;
    crate::event_signing::signer(&ctx.session.root, &ctx.session.repo, &config, &plan.to)
        .map(|_| ())
}

/// Carries out the plan at `ctx.plan_path`.
/// [`promote`]'s apply, recorded in the destination's audit ledger however it ends (refused
/// ones included).
pub fn apply(ctx: &Context) -> Result<Outcome> {
    can_record(ctx)?;
    let mut recorded = None;
    // The record of the run in the checkout while it lasts (see `crate::started`): kept
    // until the promotion's event is written, so that a strata killed before that leaves
    // it for `audit verify` and the next run.
    let mut running = None;
    let mut outcome = apply_plan(ctx, &mut recorded, &mut running)
        .map_err(|e| crate::audit::record_promotion_error(ctx.session, ctx.plan_path, false, e))?;
    let recorded = match recorded {
        Some(recorded) => recorded,
        None => crate::audit::record_promotion(ctx.session, &outcome, false),
    };
    match recorded {
        Ok(()) => {}
        Err(e) => {
            if let Some(running) = running.take() {
                running.ended_with_error(ctx.session, &e.to_string());
            }
            if outcome.status == Status::Applied {
                return Err(e);
            }
            // A promotion that failed (a full disk stopped it, say) is told as it ended,
            // with what the ledger lacks: its exit status says it failed either way.
            outcome.message.push_str(&format!(
                "; {}'s audit trail could not record it: {e}",
                outcome.to
            ));
        }
    }
    drop(running);
    Ok(outcome)
}

/// [`apply`]'s work. `recorded` is set to the result of recording it when that was done
/// with the lock's change (a promotion that wrote the destination's lock); left `None`, it
/// is still to be recorded. `running` is set to the run's record once it may change the
/// destination.
fn apply_plan(
    ctx: &Context,
    recorded: &mut Option<Result<()>>,
    running: &mut Option<crate::started::Running>,
) -> Result<Outcome> {
    // Its waves are runs nested in it: an interrupt during one stops the rest.
    let _operation = process::operation();
    let session = ctx.session;
    let plan = PromotionPlan::read(ctx.plan_path)?;
    let me = identity::current(&session.repo)?;
    // The commit whose destination files every wave runs with, and its lock entries
    // record: the one checked against the plan now, whatever is committed meanwhile.
    let files_commit = session.repo.resolve_commit("HEAD")?;
    let pinned = RunOptions {
        env_files_from: Some(files_commit.clone()),
        ..ctx.opts.clone()
    };
    let ctx = &Context {
        session: ctx.session,
        plan_path: ctx.plan_path,
        opts: &pinned,
        observer: ctx.observer,
        say: ctx.say,
    };
    let counted = match preflight(session, ctx.plan_path, &plan, &files_commit)? {
        Ok(c) => c,
        Err(message) => return Ok(refused(&plan, &me, message)),
    };
    let _lock = match take_lock(&session.root, &plan.to, "a promotion")? {
        Ok(lock) => lock,
        Err(message) => return Ok(refused(&plan, &me, message)),
    };
    // An apply or destroy here that strata did not live to record goes into the ledger
    // before the promotion's event.
    crate::started::record_left_behind(session, &plan.to)?;
    // The lock may have changed while this run waited for nothing but the check above: a
    // promotion that finished in between made the plan stale.
    if Locks::read(&session.root, &plan.from, &plan.to)?
        .destination
        .digest()
        != plan.destination_lock
    {
        return Ok(refused(
            &plan,
            &me,
            format!(
                "the plan is stale: {}'s release lock changed since it was made",
                plan.to
            ),
        ));
    }
    // What can stop the GitOps output once the waves ran is checked before they run, on
    // the charts the destination's lock will hold, with the environment's own files (its
    // secrets files) each will be rendered with: HEAD's for a promoted chart, as the waves
    // run it; those a kept chart was applied with.
    {
        let head = session.work_tree()?;
        let head_commit = files_commit.clone();
        let charts = charts_after(
            &plan,
            &ReleaseLock::read(&session.root, &plan.to)?,
            &head_commit,
        );
        if let Err(e) = crate::delivery::check_ready(
            session,
            &head.model,
            &plan.to,
            crate::delivery::ChartsFrom::Commits {
                repo: &session.repo,
                charts: &charts,
            },
        ) {
            let hint = match &e {
                strata_graph::Error::Invalid { hint, .. } => format!("; {hint}"),
                _ => String::new(),
            };
            return Ok(refused(
                &plan,
                &me,
                format!("nothing was changed: {e}{hint}"),
            ));
        }
    }
    let mut outcome = Outcome {
        plan: plan.digest.clone(),
        from: plan.from.clone(),
        to: plan.to.clone(),
        status: Status::Applied,
        message: String::new(),
        by: me.clone(),
        started_at: clock::format_utc(clock::now()),
        approvals: counted.into_iter().map(CountedRecord::from).collect(),
        steps: Vec::new(),
        rollback: Vec::new(),
        // A run that resumes one stopped before (interrupted, killed, or whose rollback
        // failed) starts from what that one changed: a rollback must undo both runs' work.
        changed: unfinished_changes(&session.root, &plan.digest),
    };
    let source = ReleaseLock::read(&session.root, &plan.from)?;
    let mut verified: BTreeMap<String, Verified> = BTreeMap::new();
    *running = Some(crate::started::start(
        session,
        &plan.to,
        "promote",
        &plan_labels(&plan),
    )?);
    let mut failure = run_waves(ctx, &plan, &mut outcome, &mut verified)?;
    // The destination's new lock, and its GitOps output made from it: both or neither.
    let mut done = None;
    // Once the waves ran, an error is a failed promotion (recorded, rolled back), never an
    // early return that leaves them applied without a record.
    // Reading, changing and writing the destination's lock take turns with an apply's
    // recording in this checkout (which would otherwise be written over), until it is written.
    let turn = match failure {
        Some(_) => None,
        None => {
            match crate::record::take_turn(&session.root, &plan.to, &|m| ctx.observer.warn(m)) {
                Ok(turn) => Some(turn),
                Err(e) => {
                    failure = Some(e.one_line());
                    None
                }
            }
        }
    };
    let after_waves = match failure {
        Some(_) => None,
        None => match ReleaseLock::read(&session.root, &plan.to)
            .and_then(|lock| Ok((lock, session.work_tree()?)))
        {
            Ok(read) => Some(read),
            Err(e) => {
                failure = Some(e.one_line());
                None
            }
        },
    };
    if let Some((destination, head)) = after_waves {
        let head_commit = Some(files_commit.clone());
        let lock = new_lock(
            &plan,
            &source,
            destination,
            &mut verified,
            &me,
            &head,
            head_commit,
        );
        match crate::delivery::configured_dir(&session.root, &head.model, &plan.to) {
            None => done = Some((lock, None)),
            Some(dir) => {
                // Made and staged (whatever can refuse it checked) before the lock is
                // written: the two change together, or not at all. A fault here is a failed
                // promotion, rolled back, not an error that leaves the waves applied.
                let staged = crate::delivery::from_lock(
                    session,
                    &head,
                    &plan.to,
                    &lock,
                    ctx.opts,
                    &Approving(ctx.observer),
                )
                .map_err(|e| e.to_string())
                .and_then(|made| made)
                .and_then(|output| {
                    crate::delivery::stage(&dir, &output).map_err(|e| e.to_string())
                });
                match staged {
                    Ok(staged) => done = Some((lock, Some(staged))),
                    Err(why) => {
                        failure = Some(format!(
                            "the GitOps output of {} cannot be made: {why}",
                            plan.to
                        ))
                    }
                }
            }
        }
    }
    let promotes_anything = plan.steps().next().is_some();
    let succeeded = |delivered: bool| {
        if promotes_anything {
            format!(
                "promoted {} step(s) from {} to {}; {}'s release lock updated{}: commit it",
                plan.steps().count(),
                plan.from,
                plan.to,
                plan.to,
                if delivered {
                    " with its GitOps output"
                } else {
                    ""
                }
            )
        } else {
            format!(
                "the plan promotes nothing from {} to {}: nothing changed",
                plan.from, plan.to
            )
        }
    };
    let mut delivered = false;
    let mut event = None;
    if let (None, Some((lock, staged)), true) = (&failure, done, promotes_anything) {
        delivered = staged.is_some();
        // The ledger's event, written beside the ledger first: when it cannot be (a full
        // disk), nothing changes and the promotion fails (and is rolled back); once the
        // lock and the output are in place, one rename puts it in.
        let mut told = outcome.clone();
        told.message = succeeded(delivered);
        match crate::audit::prepare_promotion(session, &told, &lock) {
            Err(e) => {
                failure = Some(format!(
                    "{}'s audit trail cannot take the promotion's event: {e}",
                    plan.to
                ))
            }
            // The lock, the GitOps output and the event change together: an output or an
            // event that cannot be put in place puts the lock back, and the promotion fails
            // (and is rolled back).
            Ok(prepared) => {
                let mut written = None;
                let all = crate::delivery::write_with_lock(
                    &session.root,
                    &plan.to,
                    &lock,
                    staged,
                    || {
                        written = Some(prepared.write()?);
                        Ok(())
                    },
                );
                match all {
                    Ok(()) => event = written,
                    Err(e) => {
                        failure = Some(format!(
                        "{}'s release lock, GitOps output and audit event cannot be written: {e}",
                        plan.to
                    ))
                    }
                }
            }
        }
    }
    if let Some(event) = event {
        *recorded = Some(event.check());
    }
    // A rollback's applies record in the lock themselves.
    drop(turn);
    match failure {
        None => outcome.message = succeeded(delivered),
        Some(why) if process::is_cancelled() => {
            outcome.status = Status::Interrupted;
            outcome.message = format!(
                "interrupted ({why}); {} changed so far: {}. Resume with `strata promote apply {file}` (steps already applied plan no changes), or undo with `strata promote rollback {file}`; the lock is unchanged",
                plan.to,
                if outcome.changed.is_empty() { "nothing".to_string() } else { outcome.changed.join(", ") },
                file = ctx.plan_path.display()
            );
        }
        Some(why) => {
            (ctx.say)(&format!("promotion failed: {why}; rolling back"));
            let rolled = roll_back(ctx, &plan, &outcome.changed.clone(), &mut outcome);
            // A Ctrl-C reaches git children of strata's process group too, and one can fail
            // from it before strata's handler has run: allow it a moment, as `stopped_by`.
            outcome.status = if rolled {
                Status::RolledBack
            } else if process::is_cancelled_after(std::time::Duration::from_millis(500)) {
                Status::Interrupted
            } else {
                Status::RollbackFailed
            };
            outcome.message = if outcome.status == Status::Interrupted {
                format!(
                    "{why}; the rollback was interrupted: {} may be partly promoted. Finish it with `strata promote rollback {}`; the lock is unchanged",
                    plan.to,
                    ctx.plan_path.display()
                )
            } else if rolled {
                format!(
                    "{why}; {}; the lock is unchanged",
                    rolled_back(&outcome, &plan.to)
                )
            } else {
                format!("{why}; ROLLING BACK FAILED: {} may be partly promoted. Follow the rollback runbook in docs/promotion.md", plan.to)
            };
        }
    }
    keep_record(&session.root, &mut outcome);
    Ok(outcome)
}

/// Writes the record of how a promotion or rollback ended. When it cannot be written (a
/// full disk), the outcome is told and recorded in the ledger all the same, saying so.
fn keep_record(root: &Path, outcome: &mut Outcome) {
    if let Err(e) = write_record(root, outcome) {
        outcome.message.push_str(&format!(
            "; this outcome could not be kept for `strata promote rollback` ({e})"
        ));
    }
}

/// The charts of the destination's lock once `plan` ran (label and commit): what its GitOps
/// output is rendered from (see [`new_lock`]).
fn charts_after(
    plan: &PromotionPlan,
    destination: &ReleaseLock,
    head_commit: &str,
) -> BTreeMap<String, String> {
    let mut charts: BTreeMap<String, String> = destination
        .targets
        .iter()
        .filter(|(_, e)| e.kind == "chart")
        .map(|(l, e)| (l.clone(), e.env_files_commit().to_string()))
        .collect();
    for step in plan.steps() {
        match step.action {
            StepAction::Destroy => {
                charts.remove(&step.label);
            }
            StepAction::Apply if step.kind == "chart" => {
                charts.insert(step.label.clone(), head_commit.to_string());
            }
            StepAction::Apply => {}
        }
    }
    charts
}

/// `lock` after the plan's steps: promoted entries from the source (with the checks their
/// verification in the destination found), destroyed ones removed.
fn new_lock(
    plan: &PromotionPlan,
    source: &ReleaseLock,
    mut lock: ReleaseLock,
    verified: &mut BTreeMap<String, Verified>,
    me: &str,
    head: &strata_graph::session::View,
    head_commit: Option<String>,
) -> ReleaseLock {
    let now = clock::format_utc(clock::now());
    for step in plan.steps() {
        match step.action {
            StepAction::Destroy => {
                lock.targets.remove(&step.label);
            }
            StepAction::Apply => {
                let src = &source.targets[&step.label];
                let v = verified.remove(&step.label).unwrap_or_default();
                lock.targets.insert(
                    step.label.clone(),
                    LockEntry {
                        kind: src.kind.clone(),
                        hash: step.hash.clone(),
                        commit: step.commit.clone(),
                        applied_at: now.clone(),
                        applied_by: me.to_string(),
                        promoted_from: Some(plan.from.clone()),
                        deps: src.deps.clone(),
                        checks: v.checks,
                        max_severity: v.max_severity,
                        rendered: v.rendered.or_else(|| src.rendered.clone()),
                        policies: crate::verify::policy_basis(head, &step.label, &plan.to),
                        // Applied with the destination's own files as HEAD held them.
                        env_commit: head_commit
                            .as_deref()
                            .filter(|h| *h != step.commit)
                            .map(str::to_string),
                    },
                );
            }
        }
    }
    lock
}

/// The labels of the plan's steps, in the order they run.
fn plan_labels(plan: &PromotionPlan) -> Vec<String> {
    plan.waves
        .iter()
        .flatten()
        .map(|s| s.label.clone())
        .collect()
}

fn write_record(root: &Path, outcome: &Outcome) -> Result<()> {
    let path = record_path(root, &outcome.plan);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::write(dir, e))?;
    }
    let text = serde_json::to_string_pretty(outcome).expect("outcomes serialize");
    strata_fs::write_atomic(&path, text.as_bytes()).map_err(|e| Error::write(&path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata_exec::schedule::Status as TaskStatus;
    use strata_run::task::Action;
    use strata_run::TaskReport;

    fn task(label: &str, action: Action, status: TaskStatus, reason: Option<&str>) -> TaskReport {
        let mut t = TaskReport::new(
            label,
            Kind::Stack,
            action,
            Some("staging".into()),
            String::new(),
        );
        t.status = status;
        t.reason = reason.map(str::to_string);
        t
    }

    fn step(label: &str) -> Step {
        Step {
            label: label.into(),
            kind: "stack".into(),
            action: StepAction::Apply,
            hash: "a".repeat(64),
            commit: "c".repeat(40),
            previous: None,
            rollback: Rollback::Destroy,
            rendered: None,
            env_files: None,
            gates: Vec::new(),
        }
    }

    /// A wave of two steps where one step's apply fails: the other one applied, and the
    /// record (and so the audit event) says so, with the failure that stopped the wave as
    /// its note; the failing step and a step that never ran carry their own reasons.
    #[test]
    fn each_step_of_a_failed_wave_is_recorded_with_its_own_result() {
        let report = strata_run::RunReport::new(
            vec![
                task("stacks/network", Action::Apply, TaskStatus::Ok, None),
                task(
                    "stacks/observability",
                    Action::Apply,
                    TaskStatus::Failed,
                    Some("terraform apply failed"),
                ),
                task(
                    "stacks/late",
                    Action::Apply,
                    TaskStatus::Skipped,
                    Some("stacks/observability failed"),
                ),
            ],
            false,
            false,
        );
        assert!(!report.ok);
        let labels = ["stacks/network", "stacks/observability", "stacks/late"];
        let steps: Vec<Step> = labels.iter().map(|l| step(l)).collect();
        let steps: Vec<&Step> = steps.iter().collect();
        let why = first_failure(&report, &labels.map(String::from));
        let mut outcome = Outcome {
            plan: String::new(),
            from: "dev".into(),
            to: "staging".into(),
            status: Status::Interrupted,
            message: String::new(),
            by: String::new(),
            started_at: String::new(),
            approvals: Vec::new(),
            steps: Vec::new(),
            rollback: Vec::new(),
            changed: Vec::new(),
        };
        record_each(&mut outcome, &steps, &why, |s| {
            own_failure(&report, &s.label)
        });
        let got: Vec<(&str, bool, &str)> = outcome
            .steps
            .iter()
            .map(|s| (s.label.as_str(), s.ok, s.reason.as_deref().unwrap()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "stacks/network",
                    true,
                    "its own tasks passed; the wave stopped: stacks/observability apply failed: terraform apply failed"
                ),
                (
                    "stacks/observability",
                    false,
                    "stacks/observability apply failed: terraform apply failed"
                ),
                (
                    "stacks/late",
                    false,
                    "stacks/late apply did not run: stacks/observability failed"
                ),
            ]
        );

        // Ctrl-C while a wave ran: a step whose apply had finished is recorded as applied
        // (the wave stopped after it), not as failed; the one cut off is failed.
        let report = strata_run::RunReport::new(
            vec![
                task("stacks/database", Action::Init, TaskStatus::Ok, None),
                task("stacks/database", Action::Plan, TaskStatus::Ok, None),
                task("stacks/database", Action::Apply, TaskStatus::Ok, None),
                task("stacks/network", Action::Init, TaskStatus::Ok, None),
                task(
                    "stacks/network",
                    Action::Apply,
                    TaskStatus::Failed,
                    Some("interrupted"),
                ),
            ],
            true,
            false,
        );
        let labels = ["stacks/database", "stacks/network"];
        let steps: Vec<Step> = labels.iter().map(|l| step(l)).collect();
        let steps: Vec<&Step> = steps.iter().collect();
        let why = first_failure(&report, &labels.map(String::from));
        outcome.steps.clear();
        record_each(&mut outcome, &steps, &why, |s| {
            own_failure(&report, &s.label)
        });
        let got: Vec<(&str, bool, &str)> = outcome
            .steps
            .iter()
            .map(|s| (s.label.as_str(), s.ok, s.reason.as_deref().unwrap()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "stacks/database",
                    true,
                    "its own tasks passed; the wave stopped: Ctrl-C"
                ),
                ("stacks/network", false, "Ctrl-C"),
            ]
        );
    }

    /// A rollback re-applies each target after what its previous entry read: stacks the
    /// promotion destroyed dependents first (`old3`, `old2`, `old1`) go back upstream first.
    #[test]
    fn rollback_re_applies_after_what_each_read() {
        let labels: Vec<String> = [
            "stacks/network",
            "stacks/old3",
            "stacks/old2",
            "stacks/old1",
        ]
        .into_iter()
        .map(String::from)
        .collect();
        let deps = |label: &str| -> &'static [String] {
            static OLD2: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
            static OLD3: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
            match label {
                "stacks/old2" => OLD2.get_or_init(|| vec!["stacks/old1".into()]),
                "stacks/old3" => OLD3.get_or_init(|| vec!["stacks/old2".into()]),
                _ => &[],
            }
        };
        let order: Vec<&str> = after_what_they_read(labels.iter().collect(), deps)
            .into_iter()
            .map(String::as_str)
            .collect();
        assert_eq!(
            order,
            [
                "stacks/network",
                "stacks/old1",
                "stacks/old2",
                "stacks/old3"
            ]
        );
    }
}
