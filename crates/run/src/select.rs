//! Target selection: which targets a command runs, and in which environments. One function
//! for every command that runs or distributes tasks (`check`, `plan`, `apply`, `policy eval`,
//! `ci matrix`), so they can never disagree about what a change requires.
//!
//! Rules:
//! 1. `--affected`: every target the change affects, except deleted ones (they have nothing
//!    to run at head). A deployable target affected only through some environments' files
//!    runs only in those environments.
//! 2. Explicit labels: those targets, in every environment.
//! 3. No labels: every target.
//! 5. Nothing runs while a selected target, anything it depends on, or any policy cannot
//!    be modelled: the selection fails with every such problem (exit 2).
//! 4. A selected policy target brings every target it governs: a policy is not part of the
//!    targets' hashes, so their other tasks are cache hits and only the policy evaluation
//!    runs again. Without this, `strata check policies/x` (or the shard holding only that
//!    policy) would evaluate nothing.

use crate::task::{Action, Mode, Task};
use std::collections::HashMap;
use strata_graph::affected::{affected_for_view, Reason};
use strata_graph::discover::Kind;
use strata_graph::error::{Error, Location, Result};
use strata_graph::id::TargetId;
use strata_graph::manifest::{CHART_MANIFEST, STACK_MANIFEST};
use strata_graph::model::Model;
use strata_graph::session::{Session, View};

/// What the user asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every target.
    All,
    /// These labels.
    Labels(Vec<String>),
    /// The targets affected since the merge-base with this revision.
    Affected { base: String },
}

/// The targets to run (sorted) and, for some of them, narrower environments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    pub targets: Vec<TargetId>,
    /// Targets that run in only some of their environments (affected through environment
    /// files only). Targets not named here run in every environment asked for.
    pub target_envs: HashMap<TargetId, Vec<String>>,
    /// Stacks deleted since the base (`--affected`), with the environments they had there:
    /// their resources are not destroyed by removing their code.
    pub deleted_stacks: Vec<(String, Vec<String>)>,
    /// The base they were compared with (`--affected --base`), as given.
    pub base: Option<String>,
    /// `destroy` from a revision: stacks that read a destroyed one at that revision but no
    /// longer do (they still exist at head), so they need not be destroyed with it.
    pub no_longer_reading: Vec<String>,
    /// The targets named on the command line (explicit labels), each of which must have a
    /// task in the run: naming one that has none is a mistake, never a green run.
    pub named: Vec<TargetId>,
    /// Per environment, the stacks its release lock records: one taken out of the
    /// environment since still has its resources there (a destroy counts it as deployed).
    pub recorded: std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
}

impl Selection {
    /// The targets the selection runs in `env` (not one affected only through another
    /// environment's files).
    pub fn in_env(&self, env: &str) -> Vec<TargetId> {
        self.targets
            .iter()
            .copied()
            .filter(|id| {
                self.target_envs
                    .get(id)
                    .is_none_or(|envs| envs.iter().any(|e| e == env))
            })
            .collect()
    }
}

/// Resolves a scope against the work-tree view.
pub fn select(session: &Session, view: &View, scope: &Scope) -> Result<Selection> {
    let model = &view.model;
    let mut selection = Selection::default();
    match scope {
        Scope::All => selection.targets = model.ids().collect(),
        Scope::Labels(labels) => {
            selection.targets = session.resolve_labels(model, labels)?;
            selection.named = selection.targets.clone();
        }
        Scope::Affected { base } => {
            let result = affected_for_view(session, base, view)?;
            selection.base = Some(base.clone());
            selection.deleted_stacks = result
                .targets
                .iter()
                .filter(|t| t.reason == Reason::Deleted && t.kind == Kind::Stack)
                .map(|t| (t.label.clone(), t.environments.clone()))
                .collect();
            for t in result
                .targets
                .iter()
                .filter(|t| t.reason != Reason::Deleted)
            {
                let Some(i) = model.index(&t.label) else {
                    continue;
                };
                selection.targets.push(i);
                if t.kind.is_deployable() && t.environments != model[i].environments {
                    selection.target_envs.insert(i, t.environments.clone());
                }
            }
        }
    }
    add_governed(model, &mut selection);
    model.check_complete(&selection.targets)?;
    model.check_runnable(&selection.targets, false)?;
    Ok(selection)
}

/// Every named target (rule 2) has a task among `tasks`: a stack named for `plan --env dev`
/// that is not deployed in dev, or a module named for `apply`, is bad input (exit 2), not a
/// run that does nothing and succeeds. With environments given (`explicit_envs`), a
/// deployable target must run in one of them (`check --env prod` of a stack deployed only
/// in dev would otherwise run its fmt and validate and pass). A policy must judge something:
/// in `check`, a policy task it governs; in other commands, a task of a target it governs.
pub fn check_named_have_tasks(
    model: &Model,
    selection: &Selection,
    tasks: &[Task],
    envs: &[String],
    explicit_envs: bool,
    mode: Mode,
    read: &dyn Fn(&str) -> Option<String>,
) -> Result<()> {
    for &i in &selection.named {
        let target = &model[i];
        if target.kind == Kind::Policy {
            policy_has_tasks(model, i, tasks, envs, mode)?;
            continue;
        }
        // A target deployed nowhere (a stack kept for later), a library chart or a vendored
        // subchart runs only tasks without an environment: they are its whole check.
        let library = target
            .chart
            .as_ref()
            .is_some_and(|c| c.chart_type == "library");
        let env_less = !target.kind.is_deployable()
            || target.environments.is_empty()
            || library
            || model.is_subchart(&target.label);
        let in_env = |t: &&Task| t.env.is_some() || !explicit_envs || env_less;
        if tasks.iter().filter(in_env).any(|t| t.target == i) {
            continue;
        }
        let verb = match mode {
            Mode::Check => "check",
            Mode::Plan | Mode::DestroyPlan => "plan",
            Mode::Apply => "apply",
            Mode::Destroy => "destroy",
        };
        let label = &target.label;
        let elsewhere =
            target.kind.is_deployable() && !envs.iter().any(|e| target.environments.contains(e));
        // `apply` runs nothing for a chart it is given but verifies and records it.
        if mode == Mode::Apply && target.kind == Kind::Chart && !library && !elsewhere {
            continue;
        }
        let manifest = match target.kind {
            Kind::Chart => CHART_MANIFEST,
            _ => STACK_MANIFEST,
        };
        let (message, location, hint) = if elsewhere {
            let path = format!("{label}/{manifest}");
            // The line of `environments`, when the manifest can be read.
            let line = read(&path).and_then(|text| {
                let at = text
                    .lines()
                    .position(|l| l.trim_start().starts_with("environments"))?;
                Some(at + 1)
            });
            (
                format!(
                    "{label} is not deployed in {}: `{verb}` has nothing to run for it",
                    envs.join(", ")
                ),
                Location::new(path, line),
                if target.environments.is_empty() {
                    format!("it is deployed in no environment: add one to `environments` in {label}/{manifest}")
                } else {
                    format!(
                        "its environments are {}: run it in one of those, or add the environment to `environments` in {label}/{manifest}",
                        target.environments.join(", ")
                    )
                },
            )
        } else {
            let what = match (target.kind, mode) {
                (Kind::Module, _) => {
                    "modules are checked (`strata check`), and planned and applied through the stacks that use them (`--affected` selects those)"
                }
                (Kind::Chart, Mode::Destroy) => {
                    "destroy tears down stacks; a chart leaves an environment when its GitOps output no longer holds it"
                }
                (Kind::Chart, _) if model.is_subchart(label) => {
                    "a chart vendored in another chart's charts/ is linted and rendered inside its parent, with the values its parent gives it: name the parent"
                }
                (Kind::Chart, _) => "a library chart renders nothing by itself; the charts that use it do",
                _ => "nothing of it runs in this command",
            };
            (
                format!(
                    "{label} is a {}: `{verb}` has no task for it",
                    target.kind.as_str()
                ),
                Location::new("command line", None),
                what.to_string(),
            )
        };
        return Err(Error::Invalid {
            message,
            location,
            hint,
        });
    }
    Ok(())
}

/// A named policy judges something in this run (see [`check_named_have_tasks`]).
fn policy_has_tasks(
    model: &Model,
    policy: TargetId,
    tasks: &[Task],
    envs: &[String],
    mode: Mode,
) -> Result<()> {
    let governs = |target: TargetId, env: Option<&str>| {
        model
            .governing(target, env)
            .iter()
            .any(|(p, _)| *p == policy)
    };
    let judged = tasks.iter().any(|t| {
        (mode != Mode::Check || t.action == Action::Policy) && governs(t.target, t.env.as_deref())
    });
    if judged {
        return Ok(());
    }
    let label = &model[policy].label;
    let file = format!("{label}/policy.toml");
    // Where it would judge something: the policy tasks a check of everything it governs, in
    // every environment, has (a library chart or a target deployed nowhere has none).
    let env_names: Vec<Option<&str>> = std::iter::once(None)
        .chain(model.environments.iter().map(|e| Some(e.name.as_str())))
        .collect();
    let governed: Vec<TargetId> = model
        .ids()
        .filter(|&t| model[t].kind != Kind::Policy && env_names.iter().any(|e| governs(t, *e)))
        .collect();
    let all_envs: Vec<String> = model.environments.iter().map(|e| e.name.clone()).collect();
    let judged_in: std::collections::BTreeSet<Option<String>> =
        crate::task::plan_tasks_in(model, &governed, &all_envs, None, Mode::Check)
            .into_iter()
            .filter(|t| t.action == Action::Policy && governs(t.target, t.env.as_deref()))
            .map(|t| t.env)
            .collect();
    let named_envs: Vec<&str> = judged_in.iter().flatten().map(String::as_str).collect();
    let (message, hint) = if governed.is_empty() {
        (
            format!("{label} governs no target: there is nothing for it to judge"),
            format!("its `kinds`, `labels` and `environments` in {file} match no target of the workspace: fix them, or remove the policy"),
        )
    } else if judged_in.is_empty() {
        (
            format!("{label} judges none of the targets it governs: none of them has a policy task"),
            format!("it governs only library charts, vendored subcharts, or targets deployed in no environment where it applies: fix `kinds`, `labels` or `environments` in {file}, or the targets' `environments`"),
        )
    } else if mode != Mode::Check {
        (
            format!("{label} governs no target this command runs"),
            "policies are evaluated by `strata check`: run `strata check` with the policy's label"
                .to_string(),
        )
    } else {
        (
            format!(
                "{label} judges no target in {}: `check` has no policy task for it",
                envs.join(", ")
            ),
            if named_envs.is_empty() {
                format!(
                    "it judges only targets checked without an environment (modules, charts rendered alone): run `strata check {}` without --env, or widen `environments` in {file}",
                    strata_graph::text::shell_word(label)
                )
            } else {
                format!(
                    "it judges targets in {}: run it there, or widen `environments` in {file} (or the targets' `environments`)",
                    named_envs.join(", ")
                )
            },
        )
    };
    Err(Error::Invalid {
        message,
        location: Location::new(file, None),
        hint,
    })
}

/// Rule 4: the targets governed by a selected policy join the selection, in every
/// environment (a policy change may change any environment's findings).
fn add_governed(model: &Model, selection: &mut Selection) {
    let mut chosen = vec![false; model.targets.len()];
    for &i in &selection.targets {
        chosen[i] = true;
    }
    let policies: Vec<TargetId> = selection
        .targets
        .iter()
        .copied()
        .filter(|&i| model[i].kind == Kind::Policy)
        .collect();
    if !policies.is_empty() {
        for (i, chosen) in model.ids().zip(chosen.iter_mut()) {
            let governed = model
                .governing(i, None)
                .iter()
                .any(|(p, _)| policies.contains(p));
            if governed {
                *chosen = true;
                selection.target_envs.remove(&i);
            }
        }
    }
    selection.targets = model
        .ids()
        .zip(chosen)
        .filter_map(|(i, c)| c.then_some(i))
        .collect();
}
