//! Rolling back what a promotion changed: each target to the destination's previous entry,
//! dependents first, verified.

use super::*;

/// `labels` ordered so that each comes after those of them it reads (`deps`); otherwise in
/// the order given. What a cycle leaves keeps its order.
pub(crate) fn after_what_they_read<'l, 'd>(
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
pub(super) fn roll_back(
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
pub(super) fn unfinished_changes(root: &Path, digest: &str) -> Vec<String> {
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
pub(super) fn rolled_back(outcome: &Outcome, to: &str) -> String {
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
pub(super) fn roll_back_plan(
    ctx: &Context,
    running: &mut Option<crate::started::Running>,
) -> Result<Outcome> {
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
    let _lock = match take_lock(&ctx.session.root, &plan.to, "a rollback")? {
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
