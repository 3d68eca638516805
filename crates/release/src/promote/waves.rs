//! The waves of a promotion: each step run with the code of its commit, verified, and
//! recorded step by step.

use super::*;

/// Runs the plan's waves; `Some(why)` on the first failure (or Ctrl-C).
pub(super) fn run_waves(
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
pub(super) fn stopped_by(e: Error, outcome: &mut Outcome, steps: &[&Step]) -> String {
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

pub(super) fn runs_for(steps: &[&Step], mode: Mode) -> Vec<String> {
    steps
        .iter()
        .filter(|s| !(mode == Mode::Destroy && s.kind == "chart"))
        .map(|s| s.label.clone())
        .collect()
}

/// The steps of a group that failed, each with its own result: a step whose own tasks
/// passed is recorded as applied (it was, and the rollback undoes it), with the failure
/// that stopped the wave as its note; `own` gives a step's own failure.
pub(super) fn record_each(
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

pub(super) fn record_steps(outcome: &mut Outcome, steps: &[&Step], failed: Option<&str>) {
    for s in steps {
        let record = step_record(s, failed.is_none(), failed.map(str::to_string));
        outcome.steps.push(record);
    }
}

pub(super) fn step_record(s: &Step, ok: bool, reason: Option<String>) -> StepRecord {
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

pub(super) fn first_failure(report: &strata_run::RunReport, labels: &[String]) -> String {
    first_failure_among(report, labels, false)
}

/// Why `label`'s own tasks in a failed run did not all pass (`None`: they did).
pub(super) fn own_failure(report: &strata_run::RunReport, label: &str) -> Option<String> {
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

pub(crate) fn first_failure_among(
    report: &strata_run::RunReport,
    labels: &[String],
    only: bool,
) -> String {
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
