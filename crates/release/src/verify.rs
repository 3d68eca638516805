//! Verifying what was applied: a check run over the applied targets in their environment
//! (with the code that was applied), whose follow-up plan must be empty and whose checks
//! must pass. Its results are what a release lock entry records.

use crate::lock::{FAILED, NONE, PASSED};
use std::collections::BTreeMap;
use strata_exec::schedule::Status;
use strata_graph::discover::Kind;
use strata_graph::session::{Session, View};
use strata_graph::Result;
use strata_run::task::{Action, Gating, Mode};
use strata_run::{Approval, Observer, RunOptions, RunReport, Scope, TaskReport};

/// The actions a lock entry records for each kind.
const STACK_CHECKS: &[Action] = &[
    Action::Fmt,
    Action::Validate,
    Action::Init,
    Action::Plan,
    Action::Test,
    Action::Policy,
];
const CHART_CHECKS: &[Action] = &[
    Action::Deps,
    Action::Lint,
    Action::Render,
    Action::Test,
    Action::Policy,
];

/// What verification found for one target.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Verified {
    pub checks: BTreeMap<String, String>,
    pub max_severity: Option<String>,
    pub rendered: Option<String>,
}

/// An observer that approves every plan: promotions are approved by signatures over the
/// promotion plan, before anything runs.
pub struct Approving<'a>(pub &'a dyn Observer);

impl Observer for Approving<'_> {
    fn planned(&self, tasks: usize) {
        self.0.planned(tasks)
    }
    fn started(&self, label: &str, action: Action, env: Option<&str>) {
        self.0.started(label, action, env)
    }
    fn finished(&self, report: &TaskReport) {
        self.0.finished(report)
    }
    fn warn(&self, message: &str) {
        self.0.warn(message)
    }
    fn approve(&self, _request: &Approval) -> bool {
        true
    }
}

/// Runs `labels` in `env` with `mode`: with the work tree's code (`view`), or with the code
/// at `commit` (a temporary worktree). `keep` says, for a destroy, which other targets
/// stay (and no longer read the destroyed ones).
#[allow(clippy::too_many_arguments)]
pub fn run_labels(
    session: &Session,
    view: Option<&View>,
    commit: Option<&str>,
    labels: &[String],
    mode: Mode,
    env: &str,
    base: &RunOptions,
    observer: &dyn Observer,
) -> Result<RunReport> {
    // Never from the remote cache: what these runs verify, render and record is what the
    // environment's lock and GitOps output say was deployed, and an entry there is only as
    // trustworthy as every job that can write to it (a pull request's code could have
    // written it). The local cache is this machine's own.
    let opts = RunOptions {
        mode,
        envs: vec![env.to_string()],
        keep_going: true,
        allow_incomplete: false,
        remote: None,
        ..base.clone()
    };
    match (commit, view) {
        (Some(commit), _) => {
            let keep = |l: &str| !labels.iter().any(|x| x == l);
            strata_run::run_at_commit(session, commit, labels, &keep, &opts, observer)
        }
        (None, Some(view)) => {
            let selection = strata_run::select(session, view, &Scope::Labels(labels.to_vec()))?;
            strata_run::run(session, view, &selection, &opts, observer)
        }
        (None, None) => unreachable!("a run needs a commit or the work tree"),
    }
}

/// Whether the policies and waivers judging `label` in `env` differ between `at_head` (the
/// last commit) and `tree` (the work tree): checks they judged could not be reproduced from
/// any commit, so they may not be recorded, nor gate a promotion.
pub fn policies_uncommitted(at_head: &View, tree: &View, label: &str, env: &str) -> bool {
    policy_basis(at_head, label, env) != policy_basis(tree, label, env)
}

/// What judges `label`'s policy checks in `env` as `view` has the workspace: the policies
/// governing it there (each by its files' blob ids, or the built-in pack's version) and the
/// waivers in force for it, as one BLAKE3 digest; `None` when no policy governs it. A lock
/// entry keeps it, so a promotion plan can tell when the source's findings were judged by
/// other policies than today's.
pub fn policy_basis(view: &View, label: &str, env: &str) -> Option<String> {
    use strata_run::governing::{governing, Governor};
    let model = &view.model;
    let target = model.index(label)?;
    let governors = governing(model, target, Some(env));
    if governors.is_empty() {
        return None;
    }
    let mut digest = blake3::Hasher::new();
    for g in &governors {
        match g {
            Governor::Workspace(p) => {
                let policy = &model.targets[*p];
                digest.update(policy.label.as_bytes());
                for f in &policy.files {
                    digest.update(f.as_bytes());
                    if let Some(entry) = view.snapshot.files.get(f) {
                        digest.update(entry.id.to_hex().as_bytes());
                    }
                }
            }
            Governor::Builtin(b) => {
                digest.update(b.label.as_bytes());
                digest.update(strata_policy::builtin::version().as_bytes());
            }
        }
        digest.update(b"\0");
    }
    let today = strata_graph::model::waivers::today();
    for w in model
        .waivers
        .iter()
        .filter(|w| w.applies_to(label, Some(env)))
    {
        digest.update(serde_json::to_string(w).unwrap_or_default().as_bytes());
        digest.update(&[u8::from(w.expired(today))]);
    }
    Some(digest.finalize().to_hex().to_string())
}

/// Reads the verification run's outcome for `label` (a `kind` target): its checks, or why
/// it is not verified.
pub fn verified(
    report: &RunReport,
    label: &str,
    kind: Kind,
) -> std::result::Result<Verified, String> {
    let tasks: Vec<&TaskReport> = report.tasks.iter().filter(|t| t.label == label).collect();
    if tasks.is_empty() {
        return Err("verification did not run".into());
    }
    // Quality checks that failed are recorded as failed (a promotion's `require` gate then
    // holds the target back); what proves the apply — init, the follow-up plan, the render,
    // the target's own tests — must pass.
    if let Some(t) = tasks.iter().find(|t| {
        t.status != Status::Ok && !(t.status == Status::Failed && t.action.is_quality_check())
    }) {
        return Err(format!(
            "verification: {} {}{}",
            t.action,
            if t.status == Status::Failed {
                "failed"
            } else {
                "did not run"
            },
            t.reason
                .as_deref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default()
        ));
    }
    let mut out = Verified::default();
    let wanted = if kind == Kind::Chart {
        CHART_CHECKS
    } else {
        STACK_CHECKS
    };
    for action in wanted {
        let ran = tasks.iter().find(|t| t.action == *action);
        out.checks.insert(
            action.as_str().to_string(),
            match ran {
                None => NONE,
                Some(t) if t.status == Status::Ok => PASSED,
                Some(_) => FAILED,
            }
            .to_string(),
        );
        let Some(t) = ran else { continue };
        match action {
            Action::Plan => {
                if let Some(p) = t.summary.plan() {
                    if p.add + p.change + p.destroy + p.import > 0 {
                        return Err(format!(
                            "the plan after apply is not empty ({} to add, {} to change, {} to destroy)",
                            p.add, p.change, p.destroy
                        ));
                    }
                }
            }
            Action::Policy => {
                if let strata_run::Summary::Policy(p) = &t.summary {
                    // The highest deny in force (a waived finding is accepted).
                    out.max_severity = p
                        .findings
                        .iter()
                        .filter(|f| strata_policy::blocks(f, None))
                        .map(|f| f.severity.clone())
                        .max_by_key(|s| strata_policy::severity_rank(s));
                }
            }
            Action::Render => out.rendered = t.rendered.clone(),
            _ => {}
        }
    }
    if kind == Kind::Stack && out.checks.get("plan").map(String::as_str) != Some(PASSED) {
        return Err("verification made no plan".into());
    }
    Ok(out)
}

/// Each target's verification: its checks, or why it is not verified.
pub type Verifications = BTreeMap<String, std::result::Result<Verified, String>>;

/// Runs the verification of `labels` in `env` (see [`run_labels`]) and reads each.
#[allow(clippy::too_many_arguments)]
pub fn verify(
    session: &Session,
    view: Option<&View>,
    commit: Option<&str>,
    labels: &[(String, Kind)],
    env: &str,
    base: &RunOptions,
    observer: &dyn Observer,
) -> Result<(RunReport, Verifications)> {
    let names: Vec<String> = labels.iter().map(|(l, _)| l.clone()).collect();
    // Every check runs and is recorded: a badly formatted stack that was applied still gets
    // its follow-up plan, its tests and its policies.
    let base = &RunOptions {
        gating: Gating::Record,
        ..base.clone()
    };
    let mut report = run_labels(
        session,
        view,
        commit,
        &names,
        Mode::Check,
        env,
        base,
        observer,
    )?;
    let mut results: Verifications = labels
        .iter()
        .map(|(l, k)| (l.clone(), verified(&report, l, *k)))
        .collect();
    // A target whose checks did not run because one of its upstream's quality checks failed
    // (in a check, a dependent waits for everything upstream) is verified on its own: it
    // needs its upstream's state, not its upstream's policy verdict.
    for (label, kind) in labels {
        let waited = report
            .tasks
            .iter()
            .any(|t| &t.label == label && t.status == Status::Skipped)
            && report.tasks.iter().any(|t| {
                &t.label != label && t.status == Status::Failed && names.contains(&t.label)
            });
        if !waited || report.interrupted {
            continue;
        }
        let alone = run_labels(
            session,
            view,
            commit,
            std::slice::from_ref(label),
            Mode::Check,
            env,
            base,
            observer,
        )?;
        results.insert(label.clone(), verified(&alone, label, *kind));
        report.tasks.retain(|t| &t.label != label);
        report.interrupted |= alone.interrupted;
        report.tasks.extend(alone.tasks);
    }
    Ok((report, results))
}
