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

/// One promotion into an environment at a time (per checkout); released when dropped or
/// when the process ends, however it ends.
struct PromotionLock {
    _file: File,
}

fn take_lock(root: &Path, env: &str) -> Result<std::result::Result<PromotionLock, String>> {
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
            return Ok(Err(format!(
                "another promotion into {env} is running ({}): wait for it to finish, then make a new plan",
                if holder.trim().is_empty() { "pid unknown" } else { holder.trim() }
            )));
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(&path, e)),
    }
    let _ = file.set_len(0);
    let _ = write!(file, "pid {}", std::process::id());
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

fn refused(plan: &PromotionPlan, by: &str, message: String) -> Outcome {
    Outcome {
        plan: plan.digest.clone(),
        from: plan.from.clone(),
        to: plan.to.clone(),
        status: Status::Refused,
        message,
        by: by.to_string(),
        started_at: clock::format_utc(clock::now()),
        approvals: Vec::new(),
        steps: Vec::new(),
        rollback: Vec::new(),
        changed: Vec::new(),
    }
}

/// Whether `me` may promote into (or roll back) the plan's destination: `[access] promote`
/// of its env.toml, when it lists anyone.
/// Checked against who the user proved to be when the destination's audit events are
/// signed (see [`crate::event_signing::acting_as`]).
fn may_promote(
    session: &Session,
    model: &strata_graph::model::Model,
    plan: &PromotionPlan,
) -> Result<std::result::Result<(), String>> {
    let Some(env) = model.environment(&plan.to) else {
        return Ok(Err(format!("no environment `{}`", plan.to)));
    };
    let me = crate::event_signing::acting_as(session, &env.config, &plan.to)?;
    let access = &env.config.access;
    if !access.promote.is_empty() && !access.promote.iter().any(|a| me.contains(a)) {
        return Ok(Err(format!(
            "{} may not promote into {} ({} lists who may: {})",
            me.join(", "),
            plan.to,
            env.file,
            access.promote.join(", ")
        )));
    }
    Ok(Ok(()))
}

/// Why `plan` cannot run in this repository: the commits its steps apply or destroy with
/// that it does not hold (a lock entry's commit rewritten away and collected, a shallow
/// clone), found before the first wave rather than in the middle of the promotion.
pub fn missing_commits(session: &Session, plan: &PromotionPlan) -> Result<Option<String>> {
    let commits: Vec<&str> = plan.steps().map(|s| s.commit.as_str()).collect();
    let missing = session.repo.missing_commits(&commits)?;
    let Some(first) = missing.first() else {
        return Ok(None);
    };
    let steps: Vec<String> = plan
        .steps()
        .filter(|s| missing.contains(&s.commit.as_str()))
        .map(|s| format!("{} (commit {})", s.label, crate::plan::short(&s.commit)))
        .collect();
    Ok(Some(format!(
        "this repository does not hold the commit{} the promotion needs: {}; fetch {} (`git fetch origin {first}`; a shallow clone needs `git fetch --unshallow`), or, if history was rewritten, apply {} in {} again from a commit that exists and make a new plan",
        if steps.len() == 1 { "" } else { "s" },
        steps.join(", "),
        if missing.len() == 1 { "it" } else { "them" },
        if steps.len() == 1 { "it" } else { "them" },
        plan.from,
    )))
}

/// A commit the plan applies whose `[layout] policies` would not find this checkout's
/// policies where they are: its wave's verification judges the commit's code by today's
/// policies, which that layout cannot place, and would refuse it only after the wave's
/// apply. (Globs written otherwise that find the same policies are no change.) In words.
fn moved_policies(
    session: &Session,
    view: &strata_graph::session::View,
    plan: &PromotionPlan,
) -> Result<Option<String>> {
    let today = &session.config.layout.policies;
    let todays: BTreeSet<&str> = view
        .model
        .targets
        .iter()
        .filter(|t| t.kind == strata_graph::discover::Kind::Policy)
        .map(|t| t.label.as_str())
        .collect();
    // What a layout with `globs` for policies finds as policies in this checkout's tree;
    // `None` when the globs do not compile or the tree does not divide into targets.
    let found_with = |globs: &[String]| -> Option<BTreeSet<String>> {
        let mut layout = session.config.layout.clone();
        layout.policies = globs.to_vec();
        let layout = strata_graph::discover::Layout::new(&layout).ok()?;
        let found = strata_graph::discover::discover(&view.snapshot, &layout).ok()?;
        Some(
            found
                .into_iter()
                .filter(|f| f.kind == strata_graph::discover::Kind::Policy)
                .map(|f| f.label)
                .collect(),
        )
    };
    let commits: BTreeSet<&str> = plan
        .steps()
        .filter(|s| s.action == StepAction::Apply)
        .map(|s| s.commit.as_str())
        .collect();
    for commit in commits {
        let Some(then) = session.config_at(commit)? else {
            continue;
        };
        let same = &then.layout.policies == today
            || found_with(&then.layout.policies).is_some_and(|found| {
                found.iter().map(String::as_str).collect::<BTreeSet<_>>() == todays
            });
        if !same {
            let steps: Vec<&str> = plan
                .steps()
                .filter(|s| s.action == StepAction::Apply && s.commit == commit)
                .map(|s| s.label.as_str())
                .collect();
            return Ok(Some(format!(
                "`[layout] policies` in {} changed since commit {} ({:?} there, {:?} here), which {} promotes: that commit's code cannot be judged by today's policies; apply a commit made after the change in {} first, and make a new plan",
                strata_graph::workspace::WORKSPACE_FILE,
                crate::plan::short(commit),
                then.layout.policies,
                today,
                steps.join(", "),
                plan.from,
            )));
        }
    }
    Ok(None)
}

/// A step whose checks in the destination would be judged by policies or waivers this
/// checkout changed without committing them: a wave verifies the commit's code by this
/// checkout's policies, and the lock entry it writes gates the next environment, so they
/// must be a commit's. In words.
fn uncommitted_policies(
    at_head: &strata_graph::session::View,
    view: &strata_graph::session::View,
    plan: &PromotionPlan,
) -> Option<String> {
    plan
        .steps()
        .filter(|s| s.action == StepAction::Apply)
        .find(|s| crate::verify::policies_uncommitted(at_head, view, &s.label, &plan.to))
        .map(|s| {
            format!(
                "the policies or waivers that judge {} in {} have uncommitted changes in this checkout: the checks a promotion records must be reproducible from a commit; commit them (or discard them) and apply the plan again",
                s.label, plan.to
            )
        })
}

/// Whether the files that decide who may approve a promotion into `plan.to` and how many
/// must (the two environments' env.toml, `allowed_signers`, `revoked_keys`) differ from
/// the last commit in this checkout: a gate loosened in the work tree would let the
/// promotion through while its audit event names a commit whose gate says otherwise, and an
/// approval by a key no commit lists could not be checked again. In words.
fn uncommitted_gates(
    session: &Session,
    at_head: &strata_graph::session::View,
    view: &strata_graph::session::View,
    plan: &PromotionPlan,
) -> Option<String> {
    let files = [
        format!("environments/{}/env.toml", plan.from),
        format!("environments/{}/env.toml", plan.to),
        approvals::ALLOWED_SIGNERS.to_string(),
        approvals::REVOKED_KEYS.to_string(),
    ];
    let changed: Vec<&String> = files
        .iter()
        .filter(|f| {
            let tree = view.snapshot.files.get(f.as_str());
            // A file git ignores is read all the same, and no commit holds it.
            let ignored = tree.is_none() && session.root.join(f.as_str()).exists();
            ignored || at_head.snapshot.files.get(f.as_str()) != tree
        })
        .collect();
    (!changed.is_empty()).then(|| {
        format!(
            "{} {} uncommitted changes in this checkout: the gates and approvers a promotion is judged by must be a commit's, the one its audit event names; commit them (or discard them) and apply the plan again",
            changed
                .iter()
                .map(|f| f.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            if changed.len() == 1 { "has" } else { "have" }
        )
    })
}

/// The steps of `plan` whose rollback needs a commit this repository does not hold (the
/// destination's previous entry was applied from a commit since rewritten away): the
/// promotion can run, but a failure could not be rolled back automatically. In words.
pub fn unrollable(session: &Session, plan: &PromotionPlan) -> Result<Option<String>> {
    let previous: Vec<&str> = plan
        .steps()
        .filter(|s| s.rollback == Rollback::Previous)
        .filter_map(|s| s.previous.as_ref().map(|p| p.commit.as_str()))
        .collect();
    let missing = session.repo.missing_commits(&previous)?;
    if missing.is_empty() {
        return Ok(None);
    }
    let steps: Vec<String> = plan
        .steps()
        .filter(|s| {
            s.rollback == Rollback::Previous
                && s.previous
                    .as_ref()
                    .is_some_and(|p| missing.contains(&p.commit.as_str()))
        })
        .map(|s| s.label.clone())
        .collect();
    Ok(Some(format!(
        "if this promotion fails, {} cannot be rolled back automatically: the commit {}'s release lock names for {} is not in this repository (fetch it, or be ready to repair {} by hand)",
        steps.join(", "),
        plan.to,
        if steps.len() == 1 { "it" } else { "them" },
        plan.to
    )))
}

/// The checks before a promotion runs; `Err(message)` refuses it.
fn preflight(
    session: &Session,
    plan_path: &Path,
    plan: &PromotionPlan,
    files_commit: &str,
) -> Result<std::result::Result<Vec<Counted>, String>> {
    let view = session.work_tree()?;
    let model = &view.model;
    let gates = train_step(model, &plan.from, &plan.to)?;
    let env = model.environment(&plan.to).expect("checked by train_step");
    let access = &env.config.access;
    if let Err(why) = may_promote(session, model, plan)? {
        return Ok(Err(why));
    }
    let locks = Locks::read(&session.root, &plan.from, &plan.to)?;
    for (name, env_name, now, then) in [
        (
            "source",
            &plan.from,
            locks.source.digest(),
            &plan.source_lock,
        ),
        (
            "destination",
            &plan.to,
            locks.destination.digest(),
            &plan.destination_lock,
        ),
    ] {
        if &now != then {
            return Ok(Err(format!(
                "the plan is stale: {env_name}'s release lock (the {name}) changed since it was made; make a new plan (`strata promote plan --from {} --to {}`)",
                plan.from, plan.to
            )));
        }
    }
    if let Err(why) = plan.check_against(&locks) {
        return Ok(Err(format!(
            "{} is not a plan strata made from the locks it pins: {why}; make a new plan (`strata promote plan --from {} --to {}`)",
            plan_path.display(),
            plan.from,
            plan.to
        )));
    }
    // As `promote plan` chooses them: a target applied by the plan deploys in the
    // destination (one the graph no longer has is judged by its locks alone).
    for step in plan.steps().filter(|s| s.action == StepAction::Apply) {
        if let Some(i) = model.index(&step.label) {
            let envs = &model.targets[i].environments;
            if !envs.iter().any(|e| e == &plan.to) {
                return Ok(Err(format!(
                    "{} is not a plan strata made: it applies {} in {}, where {} does not deploy (its environments: {}); make a new plan (`strata promote plan --from {} --to {}`)",
                    plan_path.display(),
                    step.label,
                    plan.to,
                    step.label,
                    if envs.is_empty() { "none".to_string() } else { envs.join(", ") },
                    plan.from,
                    plan.to
                )));
            }
        }
    }
    if let Some(why) = missing_commits(session, plan)? {
        return Ok(Err(why));
    }
    if let Some(why) = moved_policies(session, &view, plan)? {
        return Ok(Err(why));
    }
    // The checks and gates a promotion records must be a commit's.
    let at_head = session.at_commit(&session.repo.resolve_commit("HEAD")?)?;
    if let Some(why) = uncommitted_policies(&at_head, &view, plan)
        .or_else(|| uncommitted_gates(session, &at_head, &view, plan))
    {
        return Ok(Err(why));
    }
    if let Some((record, outcome)) = unfinished(&session.root, &plan.to, &plan.digest)? {
        return Ok(Err(unfinished_message(&plan.to, &record, &outcome)));
    }
    let now = clock::now();
    let trail = crate::vouch::trail(&session.root, &plan.from)?;
    if let Some((step, why)) = plan
        .steps()
        .find_map(|s| trail.unvouched.get(&s.label).map(|why| (s, why)))
    {
        return Ok(Err(format!(
            "{} is not vouched for by {}'s audit trail: {why}",
            step.label, plan.from
        )));
    }
    // As `promote plan` chooses them: a destroyed target is gone from the source.
    if let Some(step) = plan.steps().find(|s| {
        s.action == StepAction::Destroy
            && !crate::plan::gone_from_source(
                model,
                &plan.from,
                &plan.to,
                &s.label,
                &locks.source.targets,
                &trail.destroyed,
            )
    }) {
        return Ok(Err(format!(
            "{} is not a plan strata made: it destroys {} in {}, which is not gone from {} ({} never applied it, or its audit trail records no destroy of it); make a new plan (`strata promote plan --from {} --to {}`)",
            plan_path.display(),
            step.label,
            plan.to,
            plan.from,
            plan.from,
            plan.from,
            plan.to
        )));
    }
    // Each step runs with the destination's files as HEAD's commit holds them now: they
    // must be the ones the plan was made (and approved) with.
    let files = crate::env_files::for_promotion(session, &locks, &plan.to, files_commit)?;
    for step in plan.steps().filter(|s| s.action == StepAction::Apply) {
        let now = files.get(&step.label).map(|f| &f.digest);
        if step.env_files.as_ref() != now {
            return Ok(Err(format!(
                "the plan is stale: {}'s own files for {} (under environments/{}/) changed since it was made, so its approvers did not see what the step would apply; make a new plan (`strata promote plan --from {} --to {}`)",
                plan.to, step.label, plan.to, plan.from, plan.to
            )));
        }
    }
    for step in plan.steps().filter(|s| s.action == StepAction::Apply) {
        let Some(entry) = locks.source.targets.get(&step.label) else {
            return Ok(Err(format!(
                "{} is no longer in {}'s lock",
                step.label, plan.from
            )));
        };
        if let Some(g) = gates_of(entry, &plan.from, gates, now)
            .into_iter()
            .find(|g| !g.ok)
        {
            return Ok(Err(format!(
                "a gate no longer holds for {}: {} ({})",
                step.label, g.gate, g.detail
            )));
        }
    }
    let required = plan.approvals.max(gates.approvals);
    approvals::can_be_met(
        &session.root,
        &env.file,
        required,
        &access.approvers,
        &plan.author,
    )?;
    let counted = approvals::count(&session.root, plan_path, plan, &access.approvers)?;
    if required > 0 && !counted.iter().any(|c| c.author) {
        return Ok(Err(format!(
            "{} needs approvals, and the plan is not signed by its author {}: without that signature anyone could name someone else as the author and approve their own plan; {} signs it with `strata promote approve` (it is no approval)",
            plan.to, plan.author, plan.author
        )));
    }
    let valid = counted.iter().filter(|c| c.counts).count() as u32;
    if valid < required {
        let why: Vec<String> = counted
            .iter()
            .filter(|c| !c.counts)
            .map(|c| format!("{}: {}", c.file, c.reason.as_deref().unwrap_or("")))
            .collect();
        return Ok(Err(format!(
            "{} needs {required} approval(s) of this plan and has {valid}{}",
            plan.to,
            if why.is_empty() {
                String::new()
            } else {
                format!(" (not counted: {})", why.join("; "))
            }
        )));
    }
    Ok(Ok(counted))
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
    let _lock = match take_lock(&session.root, &plan.to)? {
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

/// Runs the plan's waves; `Some(why)` on the first failure (or Ctrl-C).
fn run_waves(
    ctx: &Context,
    plan: &PromotionPlan,
    outcome: &mut Outcome,
    verified: &mut BTreeMap<String, Verified>,
) -> Result<Option<String>> {
    let session = ctx.session;
    let observer = Approving(ctx.observer);
    for (n, wave) in plan.waves.iter().enumerate() {
        // Steps of a wave that share a commit and an action run together.
        let mut groups: BTreeMap<(&str, StepAction), Vec<&Step>> = BTreeMap::new();
        for s in wave {
            groups
                .entry((s.commit.as_str(), s.action))
                .or_default()
                .push(s);
        }
        for ((commit, action), steps) in groups {
            if process::is_cancelled() {
                return Ok(Some("Ctrl-C".into()));
            }
            let labels: Vec<String> = steps.iter().map(|s| s.label.clone()).collect();
            (ctx.say)(&format!(
                "wave {}: {} {} at {}",
                n + 1,
                if action == StepAction::Destroy {
                    "destroy"
                } else {
                    "apply"
                },
                labels.join(", "),
                &commit[..12.min(commit.len())]
            ));
            if action == StepAction::Apply {
                let at = match session.at_commit(commit) {
                    Ok(at) => at,
                    Err(e) => return Ok(Some(stopped_by(e, outcome, &steps))),
                };
                for s in &steps {
                    let found = at.hash_of(&s.label).map(|h| h.to_string());
                    if found.as_deref() != Some(s.hash.as_str()) {
                        let why = format!(
                            "{} at commit {} has hash {}, not the verified {}: the commit does not reproduce what was verified",
                            s.label,
                            &commit[..12.min(commit.len())],
                            found.as_deref().unwrap_or("(absent)"),
                            &s.hash[..12]
                        );
                        record_steps(outcome, &steps, Some(&why));
                        return Ok(Some(why));
                    }
                }
            }
            for label in &labels {
                if !outcome.changed.contains(label) {
                    outcome.changed.push(label.clone());
                }
            }
            // Written before anything changes, so that a run killed during these steps
            // (SIGKILL, a lost machine: no handler runs) leaves a record to roll back from.
            let ahead = Outcome {
                status: Status::Interrupted,
                message: format!(
                    "stopped while {} ran in {} (the process was killed, or is still running); resume with `strata promote apply {file}`, or undo with `strata promote rollback {file}`",
                    labels.join(", "),
                    plan.to,
                    file = ctx.plan_path.display()
                ),
                ..outcome.clone()
            };
            if let Err(e) = write_record(&session.root, &ahead) {
                return Ok(Some(stopped_by(e, outcome, &steps)));
            }
            let mode = if action == StepAction::Destroy {
                Mode::Destroy
            } else {
                Mode::Apply
            };
            let to_run = runs_for(&steps, mode);
            if to_run.is_empty() {
                record_steps(outcome, &steps, None);
                continue;
            }
            let report = match run_labels(
                session,
                None,
                Some(commit),
                &to_run,
                mode,
                &plan.to,
                ctx.opts,
                &observer,
            ) {
                Ok(report) => report,
                Err(e) => return Ok(Some(stopped_by(e, outcome, &steps))),
            };
            if !report.ok {
                let why = first_failure(&report, &labels);
                // A step of which nothing ran (a chart, verified only once its wave's
                // stacks pass) changed nothing: skipped, and nothing to roll back.
                let (untouched, ran): (Vec<&Step>, Vec<&Step>) = steps.iter().partition(|s| {
                    !report.tasks.iter().any(|t| t.label == s.label)
                        && !report.incomplete.iter().any(|t| t.label == s.label)
                        && !report.interrupted
                });
                for s in &untouched {
                    outcome.changed.retain(|l| l != &s.label);
                    let mut record = step_record(
                        s,
                        false,
                        Some(format!("nothing of it ran: the wave stopped: {why}")),
                    );
                    record.action = NOT_RUN.into();
                    outcome.steps.push(record);
                }
                record_each(outcome, &ran, &why, |s| own_failure(&report, &s.label));
                return Ok(Some(why));
            }
            if action == StepAction::Apply {
                let kinds: Vec<(String, Kind)> = steps
                    .iter()
                    .map(|s| {
                        (
                            s.label.clone(),
                            if s.kind == "chart" {
                                Kind::Chart
                            } else {
                                Kind::Stack
                            },
                        )
                    })
                    .collect();
                let (report, results) = match verify(
                    session,
                    None,
                    Some(commit),
                    &kinds,
                    &plan.to,
                    ctx.opts,
                    &observer,
                ) {
                    Ok(verified) => verified,
                    Err(e) => return Ok(Some(stopped_by(e, outcome, &steps))),
                };
                if report.interrupted {
                    record_steps(outcome, &steps, Some("interrupted during verification"));
                    return Ok(Some("Ctrl-C during verification".into()));
                }
                for s in &steps {
                    match &results[&s.label] {
                        Ok(v) => {
                            verified.insert(s.label.clone(), v.clone());
                        }
                        Err(why) => {
                            let why = format!("{} in {}: {why}", s.label, plan.to);
                            record_each(outcome, &steps, &why, |other| {
                                results[&other.label]
                                    .as_ref()
                                    .err()
                                    .map(|e| format!("{} in {}: {e}", other.label, plan.to))
                            });
                            return Ok(Some(why));
                        }
                    }
                }
            }
            record_steps(outcome, &steps, None);
        }
    }
    Ok(None)
}

/// An error met while the waves run stops them like a failed step: what changed so far is
/// recorded, then rolled back (or, after Ctrl-C, which may be what made a git or tool child
/// fail, left for `promote apply` to resume or `promote rollback` to undo). Returned as an
/// error instead, it would leave the destination half-promoted with no record to undo.
fn stopped_by(e: Error, outcome: &mut Outcome, steps: &[&Step]) -> String {
    let why = if process::is_cancelled_after(std::time::Duration::from_millis(500)) {
        "Ctrl-C".to_string()
    } else {
        e.one_line()
    };
    record_steps(outcome, steps, Some(&why));
    why
}

/// The labels of `steps` a run in `mode` has tasks for: a chart leaves an environment when
/// its GitOps output, written from the new lock, no longer holds it (Argo CD or Flux then
/// prune what it delivered); no destroy runs for it.
/// The action of a step record for a step of which nothing ran.
pub const NOT_RUN: &str = "not run";

fn runs_for(steps: &[&Step], mode: Mode) -> Vec<String> {
    steps
        .iter()
        .filter(|s| !(mode == Mode::Destroy && s.kind == "chart"))
        .map(|s| s.label.clone())
        .collect()
}

/// The steps of a group that failed, each with its own result: a step whose own tasks
/// passed is recorded as applied (it was, and the rollback undoes it), with the failure
/// that stopped the wave as its note; `own` gives a step's own failure.
fn record_each(
    outcome: &mut Outcome,
    steps: &[&Step],
    why: &str,
    own: impl Fn(&Step) -> Option<String>,
) {
    for s in steps {
        let failure = own(s);
        let ok = failure.is_none();
        let reason =
            failure.unwrap_or_else(|| format!("its own tasks passed; the wave stopped: {why}"));
        outcome.steps.push(step_record(s, ok, Some(reason)));
    }
}

fn record_steps(outcome: &mut Outcome, steps: &[&Step], failed: Option<&str>) {
    for s in steps {
        let record = step_record(s, failed.is_none(), failed.map(str::to_string));
        outcome.steps.push(record);
    }
}

fn step_record(s: &Step, ok: bool, reason: Option<String>) -> StepRecord {
    StepRecord {
        label: s.label.clone(),
        action: if s.action == StepAction::Destroy {
            "destroy"
        } else {
            "apply"
        }
        .into(),
        commit: s.commit.clone(),
        ok,
        reason,
    }
}

fn first_failure(report: &strata_run::RunReport, labels: &[String]) -> String {
    first_failure_among(report, labels, false)
}

/// Why `label`'s own tasks in a failed run did not all pass (`None`: they did).
fn own_failure(report: &strata_run::RunReport, label: &str) -> Option<String> {
    use strata_exec::schedule::Status as TaskStatus;
    use strata_run::task::Action;
    let own = report.tasks.iter().any(|t| t.label == label);
    // An apply that finished before the interrupt changed the destination: its step
    // passed, and the record says the wave stopped after it, not that it failed.
    let finished = report
        .tasks
        .iter()
        .any(|t| t.label == label && t.action == Action::Apply && t.status == TaskStatus::Ok);
    let failed = (report.interrupted && !finished)
        || report
            .tasks
            .iter()
            .any(|t| t.label == label && t.status != strata_exec::schedule::Status::Ok)
        || report.incomplete.iter().any(|t| t.label == label);
    (failed || !own).then(|| first_failure_among(report, &[label.to_string()], true))
}

fn first_failure_among(report: &strata_run::RunReport, labels: &[String], only: bool) -> String {
    if report.interrupted {
        return "Ctrl-C".into();
    }
    let mine = |label: &str| !only || labels.iter().any(|l| l == label);
    report
        .tasks
        .iter()
        .find(|t| t.status == strata_exec::schedule::Status::Failed && mine(&t.label))
        .map(|t| {
            format!(
                "{} {} failed{}",
                t.label,
                t.action,
                t.reason
                    .as_deref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default()
            )
        })
        .or_else(|| {
            report
                .incomplete
                .iter()
                .find(|t| mine(&t.label))
                .map(|t| format!("{} {} did not run: {}", t.label, t.action, t.reason))
        })
        .unwrap_or_else(|| format!("applying {} failed", labels.join(", ")))
}

/// `labels` ordered so that each comes after those of them it reads (`deps`); otherwise in
/// the order given. What a cycle leaves keeps its order.
fn after_what_they_read<'l, 'd>(
    labels: Vec<&'l String>,
    deps: impl Fn(&str) -> &'d [String],
) -> Vec<&'l String> {
    let mut left = labels;
    let mut out: Vec<&String> = Vec::new();
    while !left.is_empty() {
        let ready = left
            .iter()
            .position(|l| deps(l).iter().all(|d| !left.contains(&d)));
        match ready {
            Some(i) => out.push(left.remove(i)),
            None => {
                out.append(&mut left);
            }
        }
    }
    out
}

/// Undoes `changed` (labels, in the order they were changed): first what the promotion
/// created is destroyed, last created first (dependents before what they read); then the
/// rest goes back to the destination's previous lock entries, each re-applied after what
/// its previous entry reads (the lock's `deps`; the order they were changed otherwise), so
/// it reads its previous outputs: a stack the promotion destroyed, dependents first, is
/// re-applied after what it read. Each re-apply is verified. Returns whether every rollback
/// step passed.
fn roll_back(
    ctx: &Context,
    plan: &PromotionPlan,
    changed: &[String],
    outcome: &mut Outcome,
) -> bool {
    let observer = Approving(ctx.observer);
    let mut all_ok = true;
    let creates = |label: &&String| {
        plan.steps()
            .any(|s| &s.label == *label && s.action == StepAction::Apply && s.previous.is_none())
    };
    // The destination's lock is unchanged until a promotion succeeds: its entries are the
    // previous ones, with what each read.
    let previous = crate::lock::ReleaseLock::read(&ctx.session.root, &plan.to)
        .map(|lock| lock.targets)
        .unwrap_or_default();
    let rest: Vec<&String> = changed.iter().filter(|l| !creates(l)).collect();
    let order: Vec<&String> = changed
        .iter()
        .rev()
        .filter(creates)
        .chain(after_what_they_read(rest, |label| {
            previous
                .get(label)
                .map(|e| e.deps.as_slice())
                .unwrap_or(&[])
        }))
        .collect();
    for label in order {
        let Some(step) = plan.steps().find(|s| &s.label == label) else {
            continue;
        };
        // Interrupted: what is left is not rolled back, and says so (not a tool failing to
        // start, which is what running it now would report).
        if process::is_cancelled() {
            all_ok = false;
            outcome.rollback.push(StepRecord {
                label: label.clone(),
                action: "not rolled back".into(),
                commit: step.commit.clone(),
                ok: false,
                reason: Some("the rollback was interrupted before this step".into()),
            });
            continue;
        }
        let (commit, mode) = match (step.action, step.rollback, &step.previous) {
            (_, Rollback::Previous, Some(p)) => (p.commit.clone(), Mode::Apply),
            (StepAction::Apply, Rollback::Destroy, _) => (step.commit.clone(), Mode::Destroy),
            _ => {
                outcome.rollback.push(StepRecord {
                    label: label.clone(),
                    action: "keep".into(),
                    commit: step.commit.clone(),
                    ok: true,
                    reason: Some(format!("new in {}; the plan was made without --allow-destroy, so it is left in place", plan.to)),
                });
                continue;
            }
        };
        (ctx.say)(&format!(
            "rollback: {} {label} at {}",
            if mode == Mode::Destroy {
                "destroy"
            } else {
                "apply"
            },
            &commit[..12.min(commit.len())]
        ));
        let labels = runs_for(&[step], mode);
        let mut reason = None;
        // An error here (a full disk, git failing) is this step's rollback failing: the
        // others are still rolled back, and the outcome says which did not.
        // The previous entry as it was: its commit's code, and the environment's files it
        // was applied with (a file committed with the failed step, which may be why it
        // failed, is not what was there before; nor is the code commit's own). Verified
        // with the same files.
        let restoring = RunOptions {
            env_files_from: match (mode, previous.get(label)) {
                (Mode::Apply, Some(entry)) => Some(entry.env_files_commit().to_string()),
                // A destroy of what the promotion created: with the files it ran with.
                _ => ctx.opts.env_files_from.clone(),
            },
            ..ctx.opts.clone()
        };
        if !labels.is_empty() {
            reason = match run_labels(
                ctx.session,
                None,
                Some(&commit),
                &labels,
                mode,
                &plan.to,
                &restoring,
                &observer,
            ) {
                Ok(report) => (!report.ok).then(|| first_failure(&report, &labels)),
                Err(e) => Some(e.one_line()),
            };
        }
        if reason.is_none() && mode == Mode::Apply {
            let kind = if step.kind == "chart" {
                Kind::Chart
            } else {
                Kind::Stack
            };
            reason = match verify(
                ctx.session,
                None,
                Some(&commit),
                &[(label.clone(), kind)],
                &plan.to,
                &restoring,
                &observer,
            ) {
                Ok((_, results)) => results[label].as_ref().err().cloned(),
                Err(e) => Some(e.one_line()),
            };
        }
        all_ok &= reason.is_none();
        outcome.rollback.push(StepRecord {
            label: label.clone(),
            action: if mode == Mode::Destroy {
                "destroy"
            } else {
                "apply"
            }
            .into(),
            commit,
            ok: reason.is_none(),
            reason,
        });
    }
    all_ok
}

/// What a record of an earlier run of the plan `digest` says it changed, when that run did
/// not finish (interrupted, killed, or its rollback failed): nothing else undid it.
fn unfinished_changes(root: &Path, digest: &str) -> Vec<String> {
    let Ok(text) = strata_fs::read_regular_to_string(&record_path(root, digest)) else {
        return Vec::new();
    };
    match serde_json::from_str::<Outcome>(&text) {
        Ok(o) if matches!(o.status, Status::Interrupted | Status::RollbackFailed) => o.changed,
        _ => Vec::new(),
    }
}

/// What a rollback that succeeded did, step by step: re-applied or destroyed (verified), or
/// left in place (new in the destination, and the plan did not allow destroying it).
fn rolled_back(outcome: &Outcome, to: &str) -> String {
    let by = |kept: bool| -> Vec<&str> {
        let steps = outcome.rollback.iter();
        let steps = steps.filter(|s| (s.action == "keep") == kept);
        steps.map(|s| s.label.as_str()).collect()
    };
    let (undone, kept) = (by(false), by(true));
    let mut said = Vec::new();
    if !undone.is_empty() {
        said.push(format!(
            "rolled back {} in {to} to its previous lock (verified)",
            undone.join(", ")
        ));
    }
    if !kept.is_empty() {
        said.push(format!(
            "left {} in place in {to}: new there, and the plan was made without --allow-destroy (`strata destroy` removes it)",
            kept.join(", ")
        ));
    }
    if said.is_empty() {
        said.push(format!("nothing had changed in {to}"));
    }
    said.join("; ")
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

/// `strata promote rollback FILE`: undoes what an interrupted (or failed) promotion of the
/// plan changed, from its record.
/// Rolls back a promotion that did not complete, recorded in the destination's audit ledger.
pub fn rollback(ctx: &Context) -> Result<Outcome> {
    can_record(ctx)?;
    let mut running = None;
    let outcome = roll_back_plan(ctx, &mut running)
        .map_err(|e| crate::audit::record_promotion_error(ctx.session, ctx.plan_path, true, e))?;
    if let Err(e) = crate::audit::record_promotion(ctx.session, &outcome, true) {
        if let Some(running) = running.take() {
            running.ended_with_error(ctx.session, &e.to_string());
        }
        return Err(e);
    }
    drop(running);
    Ok(outcome)
}

/// [`rollback`]'s work; `running` as for [`apply_plan`].
fn roll_back_plan(ctx: &Context, running: &mut Option<crate::started::Running>) -> Result<Outcome> {
    let plan = PromotionPlan::read(ctx.plan_path)?;
    let path = record_path(&ctx.session.root, &plan.digest);
    let text = strata_fs::read_regular_to_string(&path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::Usage {
            message: format!(
                "no promotion of this plan ran in this checkout (no {})",
                path.display()
            ),
            hint: "roll back from the checkout the promotion ran in".into(),
        },
        _ => Error::io(&path, e),
    })?;
    let mut outcome: Outcome = serde_json::from_str(&text).map_err(|e| Error::Malformed {
        what: "promotion record",
        location: Location::new(path.display().to_string(), Some(e.line())),
        message: e.to_string(),
    })?;
    if outcome.status == Status::Applied {
        return Err(Error::Usage {
            message: "this promotion completed: its lock entries are the destination's now".into(),
            hint: format!(
                "to go back, promote or apply the previous commits into {}",
                plan.to
            ),
        });
    }
    let me = identity::current(&ctx.session.repo)?;
    let view = ctx.session.work_tree()?;
    if let Err(why) = may_promote(ctx.session, &view.model, &plan)? {
        return Ok(refused(&plan, &me, why));
    }
    let _lock = match take_lock(&ctx.session.root, &plan.to)? {
        Ok(lock) => lock,
        Err(message) => return Ok(refused(&plan, &me, message)),
    };
    // Rolling back re-applies the entries the destination's lock held when the plan was
    // made: after another promotion or apply there, they are not its entries any more.
    let destination = ReleaseLock::read(&ctx.session.root, &plan.to)?;
    if destination.digest() != plan.destination_lock {
        return Ok(refused(
            &plan,
            &me,
            format!(
                "{}'s release lock changed since this plan was made (another promotion or apply ran there): rolling it back would undo that; apply what {} should run instead (`strata apply --env {}` from the commit its lock names)",
                plan.to, plan.to, plan.to
            ),
        ));
    }
    // A run here that strata did not live to record goes into the ledger first.
    crate::started::record_left_behind(ctx.session, &plan.to)?;
    outcome.rollback.clear();
    let changed = outcome.changed.clone();
    *running = Some(crate::started::start(
        ctx.session,
        &plan.to,
        "rollback",
        &changed,
    )?);
    let ok = roll_back(ctx, &plan, &changed, &mut outcome);
    outcome.status = if ok {
        Status::RolledBack
    } else {
        Status::RollbackFailed
    };
    outcome.message = if ok {
        rolled_back(&outcome, &plan.to)
    } else {
        format!(
            "ROLLING BACK FAILED in {}: follow the rollback runbook in docs/promotion.md",
            plan.to
        )
    };
    keep_record(&ctx.session.root, &mut outcome);
    Ok(outcome)
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
