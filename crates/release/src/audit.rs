//! The audit trail of environments (see `strata-audit`): events written after every apply,
//! destroy, promotion, rollback and state push, and their verification against the chain
//! and against the release locks they explain.

use crate::event_signing;
use crate::lock::ReleaseLock;
use crate::plan::short;
use crate::promote::{Outcome, Status as PromoteStatus};
use crate::record::Recorded;
use crate::vouch::{commit_time_in, removed_without_event, vouch, Ledger, Vouch};
use std::collections::BTreeMap;
use std::path::Path;
use strata_audit::{NewEvent, TargetEvent};
use strata_exec::schedule::Status;
use strata_exec::ssh;
use strata_graph::error::{Error, Location};
use strata_graph::manifest::{parse_env, EnvConfig, AUDIT_FILE, ENV_FILE, RELEASE_LOCK_FILE};
use strata_graph::session::{Session, View};
use strata_graph::Result;
use strata_run::task::{Action, Mode};
use strata_run::RunReport;

/// The result of a target whose release lock entry a promotion wrote.
const PROMOTED: &str = "promoted";

/// Whether a target's result in an event says the event wrote its release lock entry
/// (`recorded` by an apply, `promoted`), or removed it (`destroyed`).
pub(crate) fn writes_lock_entry(result: &str) -> bool {
    matches!(result, "recorded" | PROMOTED)
}

pub(crate) fn error(e: strata_audit::Error) -> Error {
    match e {
        strata_audit::Error::Io { path, source } => Error::io(path, source),
        strata_audit::Error::Write { path, source } => Error::write(path, source),
    }
}

/// Where `env`'s ledger lives under the workspace root.
pub fn ledger_path(root: &Path, env: &str) -> std::path::PathBuf {
    root.join("environments").join(env).join(AUDIT_FILE)
}

/// The env.toml of `env` as it is on disk (the defaults when there is none).
pub fn env_config(root: &Path, env: &str) -> Result<EnvConfig> {
    let file = format!("environments/{env}/{ENV_FILE}");
    match std::fs::read_to_string(root.join(&file)) {
        Ok(text) => parse_env(&text, &file),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(EnvConfig::default()),
        Err(e) => Err(Error::io(root.join(&file), e)),
    }
}

fn append(session: &Session, env: &str, event: NewEvent) -> Result<()> {
    prepare(session, env, event)?.commit()
}

/// An event of an environment's ledger, made, signed as its env.toml asks, and written
/// beside the ledger: [`PendingEvent::commit`] puts it in; dropping it writes nothing.
pub(crate) struct PendingEvent {
    pending: strata_audit::Pending,
    env: String,
    /// Why the event could not be signed (it is written unsigned): the run fails once it
    /// is in.
    unsigned: Option<Error>,
}

impl PendingEvent {
    pub(crate) fn commit(self) -> Result<()> {
        self.write()?.check()
    }

    /// Puts the event into the ledger (one rename). An error means nothing was written:
    /// what the event attests must then not stand either.
    pub(crate) fn write(self) -> Result<WrittenEvent> {
        let written = self.pending.commit().map_err(error)?;
        Ok(WrittenEvent {
            written,
            env: self.env,
            unsigned: self.unsigned,
        })
    }
}

/// An event in its ledger, perhaps unsigned.
pub(crate) struct WrittenEvent {
    written: strata_audit::Event,
    env: String,
    unsigned: Option<Error>,
}

impl WrittenEvent {
    /// An event written unsigned is an error for the run, though it (and what it attests)
    /// stands.
    pub(crate) fn check(self) -> Result<()> {
        let written = self.written;
        if let Some(e) = self.unsigned {
            return Err(e);
        }
        let env = self.env;
        match written.details.get(strata_audit::UNSIGNED_DETAIL) {
            Some(why) => Err(Error::Invalid {
                message: format!(
                    "event {} of {}'s audit trail was written unsigned: it {why}",
                    written.seq, env
                ),
                location: Location::new(format!("environments/{env}/{AUDIT_FILE}"), None),
                hint: "the run's changes stand; `strata audit verify` reports the event until it is explained (see docs/promotion.md, the audit trail)".into(),
            }),
            None => Ok(()),
        }
    }
}

fn prepare(session: &Session, env: &str, mut event: NewEvent) -> Result<PendingEvent> {
    // An environment's name may come from a file strata did not write (a promotion plan):
    // the ledger written is that of one of the workspace's environments, nowhere else.
    if !strata_graph::model::is_environment_name(env)
        || !session.root.join("environments").join(env).is_dir()
    {
        return Err(Error::Usage {
            message: format!(
                "`{env}` is not an environment of this workspace: no audit event is written for it"
            ),
            hint: "environments are the directories under environments/".into(),
        });
    }
    // The event of an interrupted run is signed like any other.
    let _bookkeeping = strata_exec::process::bookkeeping();
    let lock = session
        .root
        .join(strata_graph::workspace::STRATA_DIR)
        .join(format!("audit-{env}.lock"));
    let path = ledger_path(&session.root, env);
    let config = env_config(&session.root, env)?;
    // Checked before the run; if the key went away since, the event is written unsigned
    // (an event is never dropped) and the run fails.
    let signer = event_signing::signer(&session.root, &session.repo, &config, env);
    let signer = match signer {
        Ok(s) => s,
        Err(e) => {
            event
                .details
                .insert(strata_audit::UNSIGNED_DETAIL.into(), e.to_string());
            let pending = strata_audit::prepare(&path, &lock, env, event, None).map_err(error)?;
            return Ok(PendingEvent {
                pending,
                env: env.to_string(),
                unsigned: Some(e),
            });
        }
    };
    let Some(signer) = signer else {
        let pending = strata_audit::prepare(&path, &lock, env, event, None).map_err(error)?;
        return Ok(PendingEvent {
            pending,
            env: env.to_string(),
            unsigned: None,
        });
    };
    event.signer = Some(signer.principals[0].clone());
    let sign = |message: &[u8]| {
        ssh::sign(&signer.key, ssh::AUDIT_NAMESPACE, message).map_err(|e| e.to_string())
    };
    let pending = strata_audit::prepare(&path, &lock, env, event, Some(&sign)).map_err(error)?;
    Ok(PendingEvent {
        pending,
        env: env.to_string(),
        unsigned: None,
    })
}

fn new_event(session: &Session, action: &str, env: &str) -> Result<NewEvent> {
    Ok(NewEvent {
        time: crate::clock::format_utc(crate::clock::now()),
        actor: crate::identity::current(&session.repo)?,
        action: action.into(),
        env: env.into(),
        head: session.repo.resolve_commit("HEAD").ok(),
        ..NewEvent::default()
    })
}

/// Records a run strata started in `record.env` and did not live to record (see
/// [`crate::started`]): outcome `interrupted`, by whom and at which commit it ran, what it
/// was to run, `message` saying so.
pub fn record_left_behind(
    session: &Session,
    record: &crate::started::Record,
    message: &str,
) -> Result<()> {
    let mut event = new_event(session, &record.action, &record.env)?;
    event.outcome = "interrupted".into();
    event.message = Some(message.to_string());
    event
        .details
        .insert("started".into(), record.started.clone());
    event
        .details
        .insert("started_by".into(), record.actor.clone());
    if let Some(head) = &record.head {
        event.details.insert("started_at".into(), head.clone());
    }
    if !record.targets.is_empty() {
        event
            .details
            .insert("targets".into(), record.targets.join(", "));
    }
    append(session, &record.env, event)
}

/// Records what an apply or destroy did in `env`: every apply task of the environment with
/// its result, and what went into the release lock. Nothing when no apply task ran there.
/// An error means nothing was written; an event written unsigned is returned, for its
/// [`WrittenEvent::check`] to fail the run.
pub(crate) fn record_run(
    session: &Session,
    mode: Mode,
    applied: &RunReport,
    recorded: &Recorded,
) -> Result<Option<WrittenEvent>> {
    let lock = ReleaseLock::read(&session.root, &recorded.env)?;
    match run_event(session, mode, applied, recorded, &lock)? {
        Some(event) => prepare(session, &recorded.env, event)?.write().map(Some),
        None => Ok(None),
    }
}

/// [`record_run`]'s event, for `lock` as it will be once `recorded` is written, made and
/// written beside the ledger before the lock changes: a ledger that cannot be written (a
/// full disk) then stops the recording, and the lock and the ledger change together.
pub(crate) fn prepare_run(
    session: &Session,
    mode: Mode,
    applied: &RunReport,
    recorded: &Recorded,
    lock: &ReleaseLock,
) -> Result<Option<PendingEvent>> {
    match run_event(session, mode, applied, recorded, lock)? {
        Some(event) => prepare(session, &recorded.env, event).map(Some),
        None => Ok(None),
    }
}

/// The event of [`record_run`], with the entries of `lock` it attests.
fn run_event(
    session: &Session,
    mode: Mode,
    applied: &RunReport,
    recorded: &Recorded,
    lock: &ReleaseLock,
) -> Result<Option<NewEvent>> {
    let env = recorded.env.as_str();
    let tasks: Vec<_> = applied
        .tasks
        .iter()
        .filter(|t| t.action == Action::Apply && t.env.as_deref() == Some(env))
        .collect();
    if tasks.is_empty() && recorded.recorded.is_empty() && recorded.removed.is_empty() {
        return Ok(None);
    }
    let action = if mode == Mode::Destroy {
        "destroy"
    } else {
        "apply"
    };
    let mut event = new_event(session, action, env)?;
    let not_recorded: BTreeMap<&str, &str> = recorded
        .not_recorded
        .iter()
        .map(|(l, why)| (l.as_str(), why.as_str()))
        .collect();
    let mut seen = Vec::new();
    for t in &tasks {
        seen.push(t.label.clone());
        let (result, reason) = match t.status {
            Status::Ok if t.destroy => ("destroyed", t.reason.clone()),
            Status::Ok => match not_recorded.get(t.label.as_str()) {
                Some(why) => ("not-recorded", Some(why.to_string())),
                None if recorded.recorded.contains(&t.label) => ("recorded", t.reason.clone()),
                None => ("applied", t.reason.clone()),
            },
            Status::Failed => ("failed", t.reason.clone()),
            Status::Skipped => ("skipped", t.reason.clone()),
        };
        event.targets.push(TargetEvent {
            label: t.label.clone(),
            result: result.into(),
            hash: Some(t.hash.clone()),
            commit: event.head.clone(),
            reason,
            entry: None,
        });
    }
    // Charts are recorded without an apply task of their own.
    for label in recorded.recorded.iter().filter(|l| !seen.contains(l)) {
        event.targets.push(TargetEvent {
            label: label.clone(),
            result: "recorded".into(),
            hash: None,
            commit: event.head.clone(),
            reason: None,
            entry: None,
        });
    }
    // Charts no longer delivered leave the lock without a task (`apply --allow-destroy`).
    for label in recorded.removed.iter().filter(|l| !seen.contains(l)) {
        event.targets.push(TargetEvent {
            label: label.clone(),
            result: "destroyed".into(),
            hash: None,
            commit: event.head.clone(),
            reason: Some(format!(
                "no longer delivered in {env}: removed from the release lock and the GitOps output"
            )),
            entry: None,
        });
    }
    // What the lock holds for each entry written: the event attests it.
    for t in event.targets.iter_mut().filter(|t| t.result == "recorded") {
        if let Some(entry) = lock.targets.get(&t.label) {
            t.hash = Some(entry.hash.clone());
            t.commit = Some(entry.commit.clone());
            t.entry = Some(entry.digest());
        }
    }
    for (label, why) in recorded
        .not_recorded
        .iter()
        .filter(|(l, _)| !seen.contains(l))
    {
        event.targets.push(TargetEvent {
            label: label.clone(),
            result: "not-recorded".into(),
            hash: None,
            commit: event.head.clone(),
            reason: Some(why.clone()),
            entry: None,
        });
    }
    let failed = event
        .targets
        .iter()
        .any(|t| matches!(t.result.as_str(), "failed" | "skipped" | "not-recorded"));
    let verification_interrupted = recorded
        .verification
        .as_ref()
        .is_some_and(|v| v.interrupted);
    event.outcome = if applied.interrupted || verification_interrupted {
        "interrupted"
    } else if failed {
        "failed"
    } else {
        "succeeded"
    }
    .into();
    if let Some(dir) = &recorded.delivered {
        event.details.insert("gitops_output".into(), dir.clone());
    }
    Ok(Some(event))
}

/// Records a `strata reconcile` in its environment's ledger: each stack with what became
/// of it (`in-sync`, `reconciled`, `failed`, `not-run`) at the commit its entry records.
/// The lock does not change, so no entry is attested. An error means nothing was written;
/// an event written unsigned is returned, for its [`WrittenEvent::check`] to fail the run.
pub(crate) fn record_reconcile(
    session: &Session,
    done: &crate::reconcile::Reconciled,
) -> Result<WrittenEvent> {
    let mut event = new_event(session, "reconcile", &done.env)?;
    let lock = ReleaseLock::read(&session.root, &done.env).unwrap_or_default();
    for s in &done.stacks {
        event.targets.push(TargetEvent {
            label: s.label.clone(),
            result: s.result.as_str().into(),
            hash: lock.targets.get(&s.label).map(|e| e.hash.clone()),
            commit: Some(s.commit.clone()),
            reason: s.reason.clone(),
            entry: None,
        });
    }
    if let Some(d) = &done.delivered {
        event.details.insert("gitops_output".into(), d.dir.clone());
        event.details.insert(
            "gitops_rewritten".into(),
            match &d.problem {
                Some(why) => format!("not written: {why}"),
                None => d.rewritten.join(", "),
            },
        );
    }
    if !done.labels.is_empty() {
        event
            .details
            .insert("labels".into(), done.labels.join(", "));
    }
    event.outcome = if done.interrupted {
        "interrupted"
    } else if done.ok() {
        "succeeded"
    } else {
        "failed"
    }
    .into();
    prepare(session, &done.env, event)?.write()
}

/// Records a promotion (`promote apply`) or its rollback (`promote rollback`) in the
/// destination's ledger, refused ones included.
pub fn record_promotion(session: &Session, outcome: &Outcome, rollback: bool) -> Result<()> {
    // A promotion that succeeded wrote the destination's lock: its entries are attested.
    let written = if outcome.status == PromoteStatus::Applied && !rollback {
        Some(ReleaseLock::read(&session.root, &outcome.to)?)
    } else {
        None
    };
    let event = promotion_event(session, outcome, rollback, written.as_ref())?;
    append(session, &outcome.to, event)
}

/// The event of a promotion that succeeded, for `lock` as it will be once written: made
/// and written beside the ledger before the lock changes (see [`prepare_run`]).
pub(crate) fn prepare_promotion(
    session: &Session,
    outcome: &Outcome,
    lock: &ReleaseLock,
) -> Result<PendingEvent> {
    let event = promotion_event(session, outcome, false, Some(lock))?;
    prepare(session, &outcome.to, event)
}

/// The event of [`record_promotion`]; `written` is the destination's lock the promotion
/// wrote, when it succeeded.
fn promotion_event(
    session: &Session,
    outcome: &Outcome,
    rollback: bool,
    written: Option<&ReleaseLock>,
) -> Result<NewEvent> {
    let mut event = new_event(
        session,
        if rollback { "rollback" } else { "promote" },
        &outcome.to,
    )?;
    event.outcome = match outcome.status {
        PromoteStatus::Applied if rollback => "rolled-back",
        PromoteStatus::Applied => "succeeded",
        PromoteStatus::Refused => "refused",
        PromoteStatus::RolledBack => "rolled-back",
        PromoteStatus::RollbackFailed => "rollback-failed",
        PromoteStatus::Interrupted => "interrupted",
    }
    .into();
    event.message = Some(outcome.message.clone());
    event.details.insert("plan".into(), outcome.plan.clone());
    event.details.insert("from".into(), outcome.from.clone());
    // Sorted: the approval files are read in directory order.
    let approvers: std::collections::BTreeSet<String> = outcome
        .approvals
        .iter()
        .filter(|a| a.counts)
        .filter_map(|a| a.principal.clone())
        .collect();
    let approvers: Vec<String> = approvers.into_iter().collect();
    event
        .details
        .insert("approved_by".into(), approvers.join(", "));
    // Each entry the promotion wrote is attested with its hash (`promoted`), each it
    // removed as `destroyed`.
    for (steps, rolled) in [(&outcome.steps, false), (&outcome.rollback, true)] {
        for s in steps {
            let entry = written
                .filter(|_| !rolled && s.ok)
                .and_then(|lock| lock.targets.get(&s.label))
                .filter(|entry| entry.commit == s.commit);
            let result = match (rolled, s.ok) {
                _ if entry.is_some() => PROMOTED.to_string(),
                (false, true) if written.is_some() && s.action == "destroy" => {
                    "destroyed".to_string()
                }
                (false, true) => s.action.clone(),
                (true, true) => format!("rolled back ({})", s.action),
                (false, false) if s.action == crate::promote::NOT_RUN => "skipped".into(),
                (_, false) => "failed".into(),
            };
            event.targets.push(TargetEvent {
                label: s.label.clone(),
                result,
                hash: entry.map(|e| e.hash.clone()),
                commit: Some(s.commit.clone()),
                reason: s.reason.clone(),
                entry: entry.map(|e| e.digest()),
            });
        }
    }
    Ok(event)
}

/// Records a promotion or rollback that ended in an error (a tool or file that failed under
/// it, after some of its steps may have run): outcome `error`, with the error. Nothing when
/// the plan itself cannot be read (no environment to write to). Returns the error to
/// report: `e`, or `e` with why the ledger could not record it.
pub fn record_promotion_error(
    session: &Session,
    plan_path: &Path,
    rollback: bool,
    e: Error,
) -> Error {
    // A plan that does not match its digest (edited after it was made) is recorded too, in
    // the ledger of the environment it names, when that is one: a tampered plan is what an
    // auditor most wants to see.
    let Ok(plan) = crate::plan::PromotionPlan::read_claimed(plan_path) else {
        return e;
    };
    let action = if rollback { "rollback" } else { "promote" };
    let written = new_event(session, action, &plan.to).and_then(|mut event| {
        event.outcome = "error".into();
        event.message = Some(e.to_string());
        event.details.insert("plan".into(), plan.digest.clone());
        event.details.insert("from".into(), plan.from.clone());
        append(session, &plan.to, event)
    });
    match written {
        Ok(()) => e,
        Err(failed) => Error::Invalid {
            message: format!(
                "{e}; and the audit ledger of {} does not record it: {failed}",
                plan.to
            ),
            location: strata_graph::error::Location::new(
                format!("environments/{}/{AUDIT_FILE}", plan.to),
                None,
            ),
            hint: e.hint().unwrap_or_default(),
        },
    }
}

/// Records a state pushed with `strata state push`, and whether terraform took it.
pub fn record_state_push(
    session: &Session,
    label: &str,
    env: &str,
    result: &Result<Option<std::path::PathBuf>>,
) -> Result<()> {
    let reason = match result {
        Err(e) => Some(e.to_string()),
        Ok(Some(aside)) => Some(format!(
            "the local state file was damaged: moved aside to {}",
            aside.display()
        )),
        Ok(None) => None,
    };
    let done = result.is_ok().then_some("pushed");
    record_state_change(session, "state-push", label, env, done, reason)
}

/// An event of a `strata state` command on one stack's state: `done` names what was done
/// (`pushed`), or `None` when it failed.
fn record_state_change(
    session: &Session,
    action: &str,
    label: &str,
    env: &str,
    done: Option<&str>,
    reason: Option<String>,
) -> Result<()> {
    let mut event = new_event(session, action, env)?;
    event.outcome = if done.is_some() {
        "succeeded"
    } else {
        "failed"
    }
    .into();
    event.targets.push(TargetEvent {
        label: label.into(),
        result: done.unwrap_or("failed").into(),
        hash: None,
        commit: None,
        reason,
        entry: None,
    });
    append(session, env, event)
}

/// `strata state push`, recorded in the environment's ledger whether or not it succeeded;
/// `Ok(Err(refusal))` when the user may not apply in `env` (nothing is pushed or recorded).
pub fn push_state(
    session: &Session,
    view: &View,
    label: &str,
    env: &str,
    file: &Path,
) -> Result<std::result::Result<Option<std::path::PathBuf>, String>> {
    // An environment that does not exist has no ledger to write (and its name is no path
    // to write one at).
    strata_run::resolve_envs(&view.model, &[env.to_string()])?;
    // Replacing a state changes the environment as an apply does.
    if let Err(refusal) = crate::may_apply(&view.model, session, env)? {
        return Ok(Err(refusal));
    }
    let result = strata_run::push_state(session, view, label, env, file);
    record_state_push(session, label, env, &result)?;
    result.map(Ok)
}

/// `strata state unlock`, recorded in the environment's ledger whether or not the lock was
/// released; `Ok(Err(refusal))` when the user may not apply in `env` (nothing is done).
pub fn unlock_state(
    session: &Session,
    view: &View,
    label: &str,
    env: &str,
    id: &str,
) -> Result<std::result::Result<(), String>> {
    strata_run::resolve_envs(&view.model, &[env.to_string()])?;
    // Releasing a lock lets another run change the state: as an apply does.
    if let Err(refusal) = crate::may_apply(&view.model, session, env)? {
        return Ok(Err(refusal));
    }
    let result = strata_run::unlock_state(session, view, label, env, id);
    let reason = match &result {
        Ok(()) => format!("lock {id} released"),
        Err(e) => format!("lock {id}: {e}"),
    };
    let done = result.is_ok().then_some("unlocked");
    record_state_change(session, "state-unlock", label, env, done, Some(reason))?;
    result.map(Ok)
}

/// One environment's ledger, checked.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Verified {
    pub env: String,
    /// Where the ledger is, relative to the root.
    pub ledger: String,
    pub events: usize,
    /// Breaks in the chain, and lock entries no event explains.
    pub problems: Vec<strata_audit::Problem>,
    /// What verification cannot tell (a lock with entries and an empty ledger: written
    /// before the audit trail began, or the ledger was removed).
    pub notes: Vec<String>,
}

impl Verified {
    /// The verdict in a few words: what `audit verify` and the report head each ledger
    /// with. Every entry is said to be explained only when nothing was left unchecked.
    pub fn verdict(&self) -> String {
        match (self.problems.len(), self.notes.len()) {
            (0, 0) if self.events == 0 => "no events yet".into(),
            (0, 0) => "chain intact, every release lock entry explained".into(),
            (0, n) if self.events == 0 => {
                format!("no events yet, {n} note(s) on what could not be checked")
            }
            (0, n) => format!("chain intact, {n} note(s) on what could not be checked"),
            (n, _) => format!("{n} problem(s)"),
        }
    }
}

/// Checks each environment's ledger: its chain, and that every entry of the release lock
/// written since the ledger's first event was written by an event of it (an entry edited
/// by hand, or written by a strata that kept no ledger, is reported; line 0 = the lock).
pub fn verify(root: &Path, envs: &[String]) -> Result<Vec<Verified>> {
    let mut out = Vec::new();
    for env in envs {
        let Ledger {
            checked,
            mut problems,
            mut notes,
            config,
            lock,
        } = Ledger::read(root, env)?;
        if checked.events.is_empty() && !lock.targets.is_empty() && config.audit.signed {
            // Every event is signed here, so a lock with entries and no ledger is one whose
            // ledger was removed.
            problems.push(strata_audit::Problem {
                line: 0,
                message: format!(
                    "the release lock has {} entries and the ledger none, and `[audit] signed` requires every event to be signed: the ledger was removed (compare with `git log -- environments/{env}/{AUDIT_FILE}`)",
                    lock.targets.len()
                ),
            });
        } else if checked.events.is_empty() && !lock.targets.is_empty() {
            notes.push(format!(
                "the release lock has {} entries and the ledger none: written before the audit trail began, or the ledger was removed (compare with `git log -- environments/{env}/{AUDIT_FILE}`)",
                lock.targets.len()
            ));
        }
        let mut unchecked = Vec::new();
        for (label, vouch) in vouch(&checked, &lock, &commit_time_in(root)) {
            match vouch {
                Vouch::Written(_) => {}
                Vouch::BeforeLedger => unchecked.push(label),
                Vouch::Not(message) => problems.push(strata_audit::Problem { line: 0, message }),
            }
        }
        for (_, message) in removed_without_event(&checked, &lock) {
            problems.push(strata_audit::Problem { line: 0, message });
        }
        // A run strata started here and did not live to record.
        for (path, record) in crate::started::left_behind(root, env)? {
            problems.push(strata_audit::Problem {
                line: 0,
                message: match record {
                    Some(record) => format!(
                        "{} (this checkout's record of it: {}; the next apply, destroy, reconcile, promotion or rollback into {env} here writes it into the ledger)",
                        crate::started::describe(&record),
                        path.display()
                    ),
                    None => format!(
                        "{} is the record of a run strata started and did not end, and cannot be read: a run into an environment here may have changed it with no event; check `strata drift`, then remove the file",
                        path.display()
                    ),
                },
            });
        }
        // A run on a machine whose clock was behind writes an event dated before the one
        // before it: the chain still holds, but a reading by time (`export --since`) cannot
        // place it, and is told.
        for pair in checked.events.windows(2) {
            let time = |e: &strata_audit::Event| crate::clock::parse_utc(&e.time);
            if let (Some(before), Some(after)) = (time(&pair[0]), time(&pair[1])) {
                if after < before {
                    notes.push(format!(
                        "event {} ({}) is dated before event {} ({}), which comes before it in the chain: the clock of the machine that wrote it was behind; `--since` selects by the dates events carry (from the first one dated at or after it, in the chain's order), so an export or report since a time may leave it out: export without `--since` to see it",
                        pair[1].seq, pair[1].time, pair[0].seq, pair[0].time
                    ));
                }
            }
        }
        if !unchecked.is_empty() {
            notes.push(format!(
                "{} release lock entr{} ({}) date from before the ledger's first event and no event wrote {}: not checked (their history is in `git log -p -- environments/{env}/{RELEASE_LOCK_FILE}`)",
                unchecked.len(),
                if unchecked.len() == 1 { "y" } else { "ies" },
                unchecked.join(", "),
                if unchecked.len() == 1 { "it" } else { "them" },
            ));
        }
        out.push(Verified {
            env: env.clone(),
            ledger: format!("environments/{env}/{AUDIT_FILE}"),
            events: checked.events.len(),
            problems,
            notes,
        });
    }
    Ok(out)
}

/// Checks that each environment's ledger at `rev` (a commit, branch or tag: what was
/// reviewed and merged) is the start of its ledger now, line for line: the chain alone
/// cannot show an event rewritten with every later hash recomputed, or the newest events
/// cut off; a ledger that only grew since `rev` shows neither. Adds what differs to each
/// [`Verified`] as problems.
///
/// With `every_environment` (no environment named), a ledger `rev` has that is gone now
/// (its environment deleted, or the file removed) is a problem too: its events would
/// otherwise disappear from every later verification.
pub fn verify_against(
    session: &Session,
    verified: &mut Vec<Verified>,
    rev: &str,
    every_environment: bool,
) -> Result<()> {
    let commit = session.repo.resolve_commit(rev)?;
    let tree = session.repo.ls_tree(&commit)?;
    for v in verified.iter_mut() {
        let Some(file) = tree.iter().find(|f| f.path == v.ledger) else {
            v.notes
                .push(format!("{rev} has no {}: nothing to compare", v.ledger));
            continue;
        };
        let then = session
            .repo
            .read_blobs(&[file.id])?
            .remove(&file.id)
            .unwrap_or_default();
        let now = match std::fs::read(session.root.join(&v.ledger)) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(Error::io(session.root.join(&v.ledger), e)),
        };
        let lines = |b: &[u8]| -> Vec<Vec<u8>> {
            b.split(|c| *c == b'\n')
                .map(|l| l.strip_suffix(b"\r").unwrap_or(l).to_vec())
                .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
                .collect()
        };
        let (then, now) = (lines(&then), lines(&now));
        let short_rev = if rev == commit { short(&commit) } else { rev };
        if let Some(i) = then.iter().zip(&now).position(|(a, b)| a != b) {
            v.problems.push(strata_audit::Problem {
                line: i + 1,
                message: format!(
                    "differs from line {} of the ledger at {short_rev}: an event written before was changed, removed or replaced",
                    i + 1
                ),
            });
        } else if now.len() < then.len() {
            v.problems.push(strata_audit::Problem {
                line: now.len() + 1,
                message: format!(
                    "the ledger at {short_rev} has {} more event(s) from here on: they were cut off",
                    then.len() - now.len()
                ),
            });
        }
    }
    if every_environment {
        let short_rev = if rev == commit { short(&commit) } else { rev };
        for file in &tree {
            let Some(env) = file
                .path
                .strip_prefix("environments/")
                .and_then(|p| p.strip_suffix(&format!("/{AUDIT_FILE}")))
                .filter(|env| !env.contains('/'))
            else {
                continue;
            };
            if verified.iter().any(|v| v.ledger == file.path) {
                continue;
            }
            verified.push(Verified {
                env: env.to_string(),
                ledger: file.path.clone(),
                events: 0,
                problems: vec![strata_audit::Problem {
                    line: 1,
                    message: format!(
                        "{} exists at {short_rev} and is gone now (the environment was deleted, or its ledger removed): the events it held are no longer verified",
                        file.path
                    ),
                }],
                notes: Vec::new(),
            });
        }
    }
    Ok(())
}

/// Every event of the environments' ledgers from the first one dated at or after `since`
/// (seconds since the epoch) on, oldest first. Each ledger is read in its chain's order: an
/// event a machine with a slow clock dated earlier than the one before it is neither left
/// out of a `since` nor moved before it (an auditor exporting "since the last export"
/// would never see it); the ledgers are interleaved by the latest time seen so far in
/// each.
pub fn events(
    root: &Path,
    envs: &[String],
    since: Option<i64>,
) -> Result<Vec<strata_audit::Event>> {
    let mut all: Vec<(i64, strata_audit::Event)> = Vec::new();
    for env in envs {
        let events = strata_audit::check(&ledger_path(root, env), env)
            .map_err(error)?
            .events;
        let time = |e: &strata_audit::Event| crate::clock::parse_utc(&e.time);
        let start = match since {
            None => 0,
            Some(s) => events
                .iter()
                .position(|e| time(e).is_some_and(|t| t >= s))
                .unwrap_or(events.len()),
        };
        let mut latest = i64::MIN;
        for (i, e) in events.into_iter().enumerate() {
            latest = latest.max(time(&e).unwrap_or(latest));
            if i >= start {
                all.push((latest, e));
            }
        }
    }
    all.sort_by(|(a, ea), (b, eb)| a.cmp(b).then(ea.env.cmp(&eb.env)).then(ea.seq.cmp(&eb.seq)));
    Ok(all.into_iter().map(|(_, e)| e).collect())
}

/// `events` as CSV: one row per target of each event (an event without targets: one row).
/// A field that a spreadsheet would take for a formula (it starts with `=`, `+`, `-`, `@`,
/// a tab or a carriage return; an actor is whatever git or CI says it is) gets a leading
/// `'`, which spreadsheets show as text.
pub fn csv(events: &[strata_audit::Event]) -> String {
    let field = |s: &str| {
        let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
            format!("'{s}")
        } else {
            s.to_string()
        };
        if s.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s
        }
    };
    let mut out = String::from(
        "time,env,seq,action,outcome,actor,head,label,result,hash,commit,reason,hash_of_event,signer,message,details\n",
    );
    for e in events {
        let head = e.head.clone().unwrap_or_default();
        // What the event rests on (a promotion's plan, source and approvers), as JSON: the
        // keys differ by action.
        let details = if e.details.is_empty() {
            String::new()
        } else {
            serde_json::to_string(&e.details).expect("a map of strings serializes")
        };
        let rows: Vec<Option<&TargetEvent>> = if e.targets.is_empty() {
            vec![None]
        } else {
            e.targets.iter().map(Some).collect()
        };
        for t in rows {
            let cols = [
                e.time.clone(),
                e.env.clone(),
                e.seq.to_string(),
                e.action.clone(),
                e.outcome.clone(),
                e.actor.clone(),
                head.clone(),
                t.map(|t| t.label.clone()).unwrap_or_default(),
                t.map(|t| t.result.clone()).unwrap_or_default(),
                t.and_then(|t| t.hash.clone()).unwrap_or_default(),
                t.and_then(|t| t.commit.clone()).unwrap_or_default(),
                t.and_then(|t| t.reason.clone()).unwrap_or_default(),
                e.hash.clone(),
                e.signer.clone().unwrap_or_default(),
                e.message.clone().unwrap_or_default(),
                details.clone(),
            ];
            let line: Vec<String> = cols.iter().map(|c| field(c)).collect();
            out.push_str(&line.join(","));
            out.push('\n');
        }
    }
    out
}

/// A Markdown report of `events`: per environment, what changed, when, by whom, on what
/// basis, and how it ended.
pub fn markdown(events: &[strata_audit::Event], verified: &[Verified]) -> String {
    let mut out = String::from("# Audit report\n\n");
    for v in verified {
        out.push_str(&format!(
            "- {}: {} event(s), {}\n",
            strata_run::report::code(&v.ledger),
            v.events,
            if v.problems.is_empty() {
                v.verdict()
            } else {
                format!("**{}**: `strata audit verify`", v.verdict())
            }
        ));
        for note in &v.notes {
            out.push_str(&format!(
                "  - note: {}\n",
                strata_run::report::markdown_text(note)
            ));
        }
    }
    let mut envs: Vec<&str> = events.iter().map(|e| e.env.as_str()).collect();
    envs.sort();
    envs.dedup();
    for env in envs {
        out.push_str(&format!(
            "\n## {}\n\n| # | time (UTC) | who | what | outcome | targets | basis |\n|---:|---|---|---|---|---|---|\n",
            strata_run::report::inline_text(env)
        ));
        for e in events.iter().filter(|e| e.env == env) {
            let targets: Vec<String> = e
                .targets
                .iter()
                .map(|t| format!("{} ({})", t.label, t.result))
                .collect();
            let mut basis = Vec::new();
            if let Some(plan) = e.details.get("plan") {
                basis.push(format!(
                    "plan {} from {}",
                    short(plan),
                    e.details.get("from").map_or("?", String::as_str)
                ));
            }
            if let Some(by) = e.details.get("approved_by").filter(|b| !b.is_empty()) {
                basis.push(format!("approved by {by}"));
            }
            if let Some(head) = &e.head {
                basis.push(format!("commit {}", short(head)));
            }
            // Whatever an event holds (an actor is what git or CI says) stays in its cell,
            // as text: no line break, `|`, HTML or Markdown of its own.
            let cell = |s: &str| strata_run::report::inline_text(s);
            let actor = match &e.signer {
                Some(signer) => format!("{} (signed by {signer})", e.actor),
                None => e.actor.clone(),
            };
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} |\n",
                e.seq,
                e.time,
                cell(&actor),
                cell(&e.action),
                cell(&e.outcome),
                cell(&targets.join(", ")),
                cell(&basis.join("; "))
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(actor: &str) -> strata_audit::Event {
        strata_audit::Event {
            version: 1,
            seq: 1,
            time: "2026-12-04T10:00:00Z".into(),
            actor: actor.into(),
            action: "apply".into(),
            env: "dev".into(),
            head: None,
            outcome: "succeeded".into(),
            message: None,
            targets: Vec::new(),
            details: BTreeMap::new(),
            signer: None,
            prev: String::new(),
            hash: "h".into(),
            signature: None,
        }
    }

    /// An event a machine with a slow clock dated before the one before it keeps its place
    /// in the chain (an export sorted by date moved it), and `verify` says so.
    #[test]
    fn an_event_dated_before_its_predecessor_keeps_its_place_and_is_noted() {
        let root = tempfile::tempdir().unwrap();
        let path = ledger_path(root.path(), "dev");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(
            root.path().join("environments/dev/env.toml"),
            "[state]\nbackend = \"local\"\n",
        )
        .unwrap();
        let lock = root.path().join(".strata/ledger.lock");
        for time in [
            "2026-12-07T10:00:00Z",
            "2026-12-05T10:00:00Z",
            "2026-12-07T11:00:00Z",
        ] {
            let new = strata_audit::NewEvent {
                time: time.into(),
                actor: "ci".into(),
                action: "apply".into(),
                env: "dev".into(),
                outcome: "succeeded".into(),
                ..strata_audit::NewEvent::default()
            };
            strata_audit::append(&path, &lock, "dev", new, None).unwrap();
        }
        let seqs = |since: Option<i64>| -> Vec<u64> {
            events(root.path(), &["dev".to_string()], since)
                .unwrap()
                .iter()
                .map(|e| e.seq)
                .collect()
        };
        assert_eq!(seqs(None), vec![1, 2, 3]);
        let ten = crate::clock::parse_utc("2026-12-07T10:00:00Z").unwrap();
        assert_eq!(seqs(Some(ten)), vec![1, 2, 3]);
        assert_eq!(seqs(Some(ten + 1)), vec![3]);
        let verified = verify(root.path(), &["dev".to_string()]).unwrap();
        assert!(
            verified[0]
                .notes
                .iter()
                .any(|n| n.starts_with("event 2 (2026-12-05T10:00:00Z) is dated before event 1")),
            "{:?}",
            verified[0].notes
        );
    }

    #[test]
    fn a_field_a_spreadsheet_would_run_is_exported_as_text() {
        let out = csv(&[event("=HYPERLINK(\"http://x\",\"y\")"), event("@SUM(A1)")]);
        let rows: Vec<&str> = out.lines().skip(1).collect();
        assert!(
            rows[0].contains(",\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\","),
            "{out}"
        );
        assert!(rows[1].contains(",'@SUM(A1),"), "{out}");
    }

    #[test]
    fn the_export_keeps_what_an_event_rests_on_and_its_message() {
        let mut promoted = event("alice");
        promoted.action = "promote".into();
        promoted.details = BTreeMap::from([
            ("plan".to_string(), "5bd23dc5".to_string()),
            ("from".to_string(), "dev".to_string()),
            ("approved_by".to_string(), "bob, carol".to_string()),
        ]);
        let mut refused = event("mallory");
        refused.outcome = "refused".into();
        refused.message = Some("the plan is stale".into());
        let out = csv(&[promoted, refused]);
        let header: Vec<&str> = out.lines().next().unwrap().split(',').collect();
        assert_eq!(header[header.len() - 2..], ["message", "details"]);
        let rows: Vec<&str> = out.lines().skip(1).collect();
        assert!(
            rows[0].ends_with(
                ",\"{\"\"approved_by\"\":\"\"bob, carol\"\",\"\"from\"\":\"\"dev\"\",\"\"plan\"\":\"\"5bd23dc5\"\"}\""
            ),
            "{out}"
        );
        assert!(rows[1].ends_with(",the plan is stale,"), "{out}");
    }

    #[test]
    fn a_ledger_with_notes_is_not_said_to_explain_every_entry() {
        let verified = |events, notes: Vec<String>| Verified {
            env: "dev".into(),
            ledger: "environments/dev/audit.jsonl".into(),
            events,
            problems: Vec::new(),
            notes,
        };
        assert_eq!(
            verified(2, Vec::new()).verdict(),
            "chain intact, every release lock entry explained"
        );
        let noted = verified(1, vec!["charts/legacy: not checked".into()]);
        assert_eq!(
            noted.verdict(),
            "chain intact, 1 note(s) on what could not be checked"
        );
        let report = markdown(&[], &[noted]);
        assert!(!report.contains("explained"), "{report}");
        assert_eq!(verified(0, Vec::new()).verdict(), "no events yet");
    }

    #[test]
    fn a_line_break_in_a_field_stays_in_its_markdown_cell() {
        let report = markdown(&[event("eve\n| 9 | forged |")], &[]);
        let row = report.lines().find(|l| l.starts_with("| 1 |")).unwrap();
        assert!(
            row.contains("eve &#124; 9 &#124; forged &#124;"),
            "{report}"
        );
        assert!(!report.contains("\n| 9 |"), "{report}");
    }
}
