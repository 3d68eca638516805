//! What a promotion checks before anything runs: the plan is current, its gates hold, its
//! approvals count, the user may promote, and whatever it may have to roll back can be.

use super::*;

pub(super) fn refused(plan: &PromotionPlan, by: &str, message: String) -> Outcome {
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
pub(super) fn may_promote(
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
pub(super) fn moved_policies(
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
pub(super) fn uncommitted_policies(
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
pub(super) fn uncommitted_gates(
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
pub(super) fn preflight(
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
