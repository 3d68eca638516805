//! Tasks: what runs for each target and environment, in which order, and what each task's
//! cache key covers.
//!
//! | kind   | tasks (check)                                   | key covers, beyond the target hash |
//! |--------|-------------------------------------------------|------------------------------------|
//! | stack  | fmt, validate; per env: init, plan              | init: env, backend; plan: env files, state fingerprint, consumed upstream outputs |
//! | module | validate                                        | -                                  |
//! | chart  | deps; per env: lint, render                     | lint: env files; render: env files, consumed upstream outputs |
//! | either, with `tests/*.rego` | per env: test, after plan or render | the digest of the plan or render it reads |
//!
//! `strata plan` runs init and plan (stacks) and render (charts); `strata apply` runs init,
//! plan and apply for stacks. A target's first task waits for its dependencies' tasks, and an
//! environment task waits for its dependencies' tasks in the same environment, so a plan
//! sees its upstream stacks' fresh state when they are applied in the same run.

use serde::Serialize;
use std::collections::HashMap;
use strata_graph::digest::{TargetHash, TaskKey};
use strata_graph::discover::Kind;
use strata_graph::hash::InputFile;
use strata_graph::id::TargetId;
use strata_graph::model::Model;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Fmt,
    Validate,
    Init,
    Plan,
    Apply,
    Deps,
    Lint,
    Render,
    /// The target's own Rego tests over its plan or render (`<target>/tests/*.rego`).
    Test,
    /// The policies governing the target, over its plan or render.
    Policy,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Fmt => "fmt",
            Action::Validate => "validate",
            Action::Init => "init",
            Action::Plan => "plan",
            Action::Apply => "apply",
            Action::Deps => "deps",
            Action::Lint => "lint",
            Action::Render => "render",
            Action::Test => "test",
            Action::Policy => "policy",
        }
    }

    /// A check of the code's quality rather than of what it deploys (fmt, validate, deps,
    /// lint, policy): after an apply, one that fails is recorded as failed, not as a
    /// failed verification.
    pub fn is_quality_check(self) -> bool {
        matches!(
            self,
            Action::Fmt | Action::Validate | Action::Lint | Action::Deps | Action::Policy
        )
    }
}

/// What a failed quality check (see [`Action::is_quality_check`]) does to the tasks after
/// it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gating {
    /// They are skipped: a check stops early.
    Stop,
    /// They run (in the same order): a verification after an apply makes the follow-up
    /// plan whatever the formatting, and records each check.
    Record,
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Check,
    Plan,
    Apply,
    /// Plans the destruction of the selected stacks and applies it, dependents first.
    Destroy,
    /// Plans the destruction of the selected stacks, dependents first, for review.
    DestroyPlan,
}

impl Mode {
    /// Whether the run destroys (or plans to destroy) what it selects.
    pub fn destroys(self) -> bool {
        matches!(self, Mode::Destroy | Mode::DestroyPlan)
    }
}

strata_graph::typed_index!(
    /// A task's place in the list [`plan_tasks`] made: `tasks[id]`.
    TaskId
);

/// For each of `tasks`, the plan or render task of the same target and environment (what
/// a test or policy task reads), found in one pass.
pub fn sources(tasks: &[Task]) -> Vec<Option<TaskId>> {
    let mut by_target: std::collections::HashMap<(TargetId, Option<&str>), TaskId> =
        std::collections::HashMap::new();
    for (i, t) in tasks.iter().enumerate() {
        if matches!(t.action, Action::Plan | Action::Render) {
            by_target
                .entry((t.target, t.env.as_deref()))
                .or_insert(TaskId::from_index(i));
        }
    }
    tasks
        .iter()
        .map(|t| by_target.get(&(t.target, t.env.as_deref())).copied())
        .collect()
}

#[derive(Debug, Clone)]
pub struct Task {
    pub target: TargetId,
    pub action: Action,
    pub env: Option<String>,
    /// Tasks that must finish first.
    pub deps: Vec<TaskId>,
}

/// Bump to invalidate every cached task result (6: renders include the charts' CRDs; 7: the
/// policy engine's regex builtins take RE2's Perl classes and flags, and stored plans keep
/// `planned_values` and `variables` for policies, so a verdict cached before
/// could be a pass that is now a failure; 8: `TF_CLI_ARGS*` and other `TF_*` variables are
/// in terraform tasks' keys, so a plan cached with `-target` before could be served now; 9:
/// policies read `.tf.json` files, and YAML's explicit core types on quoted values, so a
/// pass cached before could be a failure now; and stored plans redact the sensitive
/// literals of their `configuration`, which those cached before hold in clear text; 10:
/// sensitive values are found in Go's case forms and `%q` quoting, which results cached
/// before may hold in clear text, and the lines of a value of several lines no longer
/// replace the same lines of a render, which a render cached before may have lost; 11:
/// stored plans keep the configuration of collections without a sensitive element and keep
/// `null` sensitive values `null`, and policies read regex literals, `not` over a missing
/// key and `some` after an iteration as OPA does, so a verdict cached before could differ;
/// 12: strings inside map and list values given as `TF_VAR_*` (secrets, upstream outputs)
/// keep `${` and `%{` literal, which a plan cached before had evaluated; 13: policies read
/// `\b`, `glob.quote_meta` and `strings.replace_n` as OPA does, so a verdict cached before
/// could differ now; 14: stored plans drop the keys `after_unknown` names under a sensitive
/// value, and redact the configuration of modules whose keys hold an escaped quote, which a
/// plan cached before may hold in clear text).
pub const TASK_KEY_VERSION: u32 = 14;

/// Everything a task key covers; `strata hash --explain` style output can print it.
#[derive(Debug, Clone, Serialize)]
pub struct TaskFingerprint<'a> {
    pub version: u32,
    pub label: &'a str,
    pub target_hash: TargetHash,
    pub action: Action,
    pub env: Option<String>,
    /// Files under environments/ feeding this target in this environment.
    pub env_inputs: Vec<InputFile<'a>>,
    /// The state backend settings (init) or the state fingerprint (plan).
    pub state: Option<String>,
    /// Digest of the upstream output values the task consumed (values are not stored).
    pub upstream_outputs: Option<String>,
    /// Digest of the `TF_*` environment terraform also reads and that may change its result
    /// (`TF_VAR_*` for plans and applies, `TF_CLI_ARGS*`, `TF_WORKSPACE`, ...), with their
    /// names.
    pub tf_vars: Option<String>,
    /// The version of the tool the task runs when WORKSPACE.toml does not pin it
    /// (`terraform 1.9.8`): a pinned version is part of the target hash instead.
    pub unpinned_tool: Option<String>,
    /// The BLAKE3 digest of the output this task reads (a test reads its plan's JSON or its
    /// render's manifests), not that task's key: an output made again under one key may
    /// differ.
    pub reads: Option<String>,
    /// The governing policies: (policy label, policy target hash), or for a policy of the
    /// built-in pack (`builtin/terraform-aws`, the pack's version).
    pub policies: Vec<(String, String)>,
    /// The waivers that apply to the target there, with whether each has expired (so a
    /// cached result is not reused once a waiver expires).
    pub waivers: Vec<(String, bool)>,
}

impl TaskFingerprint<'_> {
    pub fn key(&self) -> TaskKey {
        let bytes = serde_json::to_vec(self).expect("fingerprints serialize");
        TaskKey(*blake3::hash(&bytes).as_bytes())
    }
}

/// The tasks for `selected` targets (indices into the model) in `envs`.
pub fn plan_tasks(model: &Model, selected: &[TargetId], envs: &[String], mode: Mode) -> Vec<Task> {
    plan_tasks_in(model, selected, envs, None, mode)
}

/// [`plan_tasks`], where `only` may narrow the environments of some targets (those
/// `--affected` found affected in some environments only); targets it does not name run
/// in every environment of `envs`.
pub fn plan_tasks_in(
    model: &Model,
    selected: &[TargetId],
    envs: &[String],
    only: Option<&HashMap<TargetId, Vec<String>>>,
    mode: Mode,
) -> Vec<Task> {
    let mut chosen = vec![false; model.targets.len()];
    for &s in selected {
        chosen[s] = true;
    }
    let mut tasks: Vec<Task> = Vec::new();
    // The last env-less task and the last task per environment of each target.
    let mut last_plain: HashMap<TargetId, TaskId> = HashMap::new();
    let mut last_env: HashMap<(TargetId, &str), TaskId> = HashMap::new();
    // Destroy runs against the graph: a stack goes after the stacks that read it.
    let destroy = mode.destroys();
    let order: Vec<TargetId> = if destroy {
        model.graph.order().iter().rev().copied().collect()
    } else {
        model.graph.order().to_vec()
    };
    let before = |t: TargetId| {
        if destroy {
            model.graph.dependents(t)
        } else {
            model.graph.deps(t)
        }
    };
    for t in order {
        if !chosen[t] {
            continue;
        }
        let target = &model[t];
        let upstream_plain: Vec<TaskId> = before(t)
            .iter()
            .filter_map(|d| last_plain.get(d).copied())
            .collect();
        // Affected only through the files of environments this run does not work in: none
        // of its tasks is asked for (its own files did not change, so neither did what its
        // environment-less tasks check). What runs after it still waits for its upstream.
        let narrowed = only.and_then(|o| o.get(&t));
        if narrowed.is_some_and(|n| !envs.iter().any(|e| n.contains(e))) {
            if let Some(&barrier) = upstream_plain.iter().max() {
                last_plain.insert(t, barrier);
            }
            continue;
        }
        let library = target
            .chart
            .as_ref()
            .is_some_and(|c| c.chart_type == "library");
        let subchart = target.kind == Kind::Chart && model.is_subchart(&target.label);
        let (plain, base_env): (&[Action], &[Action]) = match (target.kind, mode) {
            // A vendored subchart is checked inside its parent, with the values its parent
            // gives it: alone, without them, its templates may not render at all.
            (Kind::Chart, _) if subchart => (&[], &[]),
            // A library chart renders nothing by itself: it is linted once.
            (Kind::Chart, Mode::Check) if library => (&[Action::Lint], &[]),
            (Kind::Chart, _) if library => (&[], &[]),
            (Kind::Stack, Mode::Check) => (
                &[Action::Fmt, Action::Validate],
                &[Action::Init, Action::Plan],
            ),
            (Kind::Stack, Mode::Plan | Mode::DestroyPlan) => (&[], &[Action::Init, Action::Plan]),
            (Kind::Stack, Mode::Apply | Mode::Destroy) => {
                (&[], &[Action::Init, Action::Plan, Action::Apply])
            }
            (Kind::Module, Mode::Check) => (&[Action::Fmt, Action::Validate], &[]),
            // A chart deployed in no environment is still linted and rendered, with its own
            // values only: otherwise nothing would check its templates at all.
            (Kind::Chart, Mode::Check) if target.environments.is_empty() => {
                (&[Action::Deps, Action::Lint, Action::Render], &[])
            }
            (Kind::Chart, Mode::Check) => (&[Action::Deps], &[Action::Lint, Action::Render]),
            (Kind::Chart, Mode::Plan) => (&[], &[Action::Render]),
            _ => (&[], &[]),
        };
        // A module is governed without an environment: its policies read its files.
        let module_policy = [Action::Fmt, Action::Validate, Action::Policy];
        let governed = || !crate::governing::governing(model, t, None).is_empty();
        let mut plain: Vec<Action> =
            if target.kind == Kind::Module && mode == Mode::Check && governed() {
                module_policy.to_vec()
            } else {
                plain.to_vec()
            };
        // A chart rendered without an environment gets its tests and policies on that render.
        if plain.last() == Some(&Action::Render) {
            if !target.test_files.is_empty() {
                plain.push(Action::Test);
            }
            if governed() {
                plain.push(Action::Policy);
            }
        }
        let mut prev: Option<TaskId> = None;
        for &action in &plain {
            let mut deps: Vec<TaskId> = prev.into_iter().collect();
            if prev.is_none() {
                deps.extend(&upstream_plain);
            }
            tasks.push(Task {
                target: t,
                action,
                env: None,
                deps,
            });
            prev = Some(TaskId::from_index(tasks.len() - 1));
        }
        if let Some(p) = prev {
            last_plain.insert(t, p);
        } else if !upstream_plain.is_empty() {
            // No env-less task of its own: carry the upstream barrier through.
            last_plain.insert(t, *upstream_plain.iter().max().expect("non-empty"));
        }
        for env in envs {
            // A destroy may also name an environment the stack was taken out of (its lock
            // there still records it).
            let deployed = target.environments.iter().any(|e| e == env)
                || (destroy && narrowed.is_some_and(|n| n.contains(env)));
            if base_env.is_empty() || !deployed {
                continue;
            }
            if narrowed.is_some_and(|n| !n.contains(env)) {
                continue;
            }
            // After a plan or render in check: the target's tests, then its policies.
            let mut per_env: Vec<Action> = base_env.to_vec();
            if mode == Mode::Check && !library {
                if !target.test_files.is_empty() {
                    per_env.push(Action::Test);
                }
                if !crate::governing::governing(model, t, Some(env)).is_empty() {
                    per_env.push(Action::Policy);
                }
            }
            let mut env_prev = prev;
            for (k, &action) in per_env.iter().enumerate() {
                let mut deps: Vec<TaskId> = env_prev.into_iter().collect();
                if k == 0 {
                    deps.extend(upstream_plain.iter().copied());
                    deps.extend(
                        before(t)
                            .iter()
                            .filter_map(|d| last_env.get(&(*d, env.as_str())).copied()),
                    );
                }
                deps.sort_unstable();
                deps.dedup();
                tasks.push(Task {
                    target: t,
                    action,
                    env: Some(env.clone()),
                    deps,
                });
                env_prev = Some(TaskId::from_index(tasks.len() - 1));
            }
            if let Some(p) = env_prev {
                last_env.insert((t, env.as_str()), p);
            }
        }
    }
    tasks
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata_graph::digest::FileId;
    use strata_graph::snapshot::FileEntry;

    fn fingerprint() -> TaskFingerprint<'static> {
        TaskFingerprint {
            version: TASK_KEY_VERSION,
            label: "stacks/network",
            target_hash: TargetHash([7; 32]),
            action: Action::Plan,
            env: Some("dev".into()),
            env_inputs: vec![InputFile {
                path: "environments/dev/stacks/network/terraform.tfvars",
                entry: Some(FileEntry {
                    id: FileId::of_content(b"cidr = \"10.0.0.0/16\"\n"),
                    mode: 0o100644,
                }),
            }],
            state: Some("serial 4".into()),
            upstream_outputs: None,
            tf_vars: None,
            unpinned_tool: None,
            reads: None,
            policies: vec![("policies/guard".into(), "ab".repeat(32))],
            waivers: vec![("{\"rule\":\"x\"}".into(), false)],
        }
    }

    #[test]
    fn a_task_key_is_stable_and_changes_with_everything_it_covers() {
        let base = fingerprint();
        assert_eq!(base.key(), fingerprint().key(), "same inputs, same key");
        let variants: Vec<(&str, TaskFingerprint)> = vec![
            (
                "version",
                TaskFingerprint {
                    version: TASK_KEY_VERSION + 1,
                    ..fingerprint()
                },
            ),
            (
                "label",
                TaskFingerprint {
                    label: "stacks/dns",
                    ..fingerprint()
                },
            ),
            (
                "code",
                TaskFingerprint {
                    target_hash: TargetHash([8; 32]),
                    ..fingerprint()
                },
            ),
            (
                "action",
                TaskFingerprint {
                    action: Action::Apply,
                    ..fingerprint()
                },
            ),
            (
                "env",
                TaskFingerprint {
                    env: Some("prod".into()),
                    ..fingerprint()
                },
            ),
            ("env file content", {
                let mut f = fingerprint();
                f.env_inputs[0].entry = Some(FileEntry {
                    id: FileId::of_content(b"cidr = \"10.1.0.0/16\"\n"),
                    mode: 0o100644,
                });
                f
            }),
            ("env file deleted", {
                let mut f = fingerprint();
                f.env_inputs[0].entry = None;
                f
            }),
            (
                "state",
                TaskFingerprint {
                    state: Some("serial 5".into()),
                    ..fingerprint()
                },
            ),
            (
                "upstream outputs",
                TaskFingerprint {
                    upstream_outputs: Some("d1".into()),
                    ..fingerprint()
                },
            ),
            (
                "TF_VAR_*",
                TaskFingerprint {
                    tf_vars: Some("d2".into()),
                    ..fingerprint()
                },
            ),
            (
                "unpinned tool",
                TaskFingerprint {
                    unpinned_tool: Some("terraform 1.9.8".into()),
                    ..fingerprint()
                },
            ),
            (
                "what it reads",
                TaskFingerprint {
                    reads: Some("k".into()),
                    ..fingerprint()
                },
            ),
            (
                "policy content",
                TaskFingerprint {
                    policies: vec![("policies/guard".into(), "cd".repeat(32))],
                    ..fingerprint()
                },
            ),
            (
                "waiver expired",
                TaskFingerprint {
                    waivers: vec![("{\"rule\":\"x\"}".into(), true)],
                    ..fingerprint()
                },
            ),
        ];
        let mut keys = vec![base.key()];
        for (what, f) in &variants {
            let key = f.key();
            assert!(
                !keys.contains(&key),
                "a change of {what} gives a key already seen"
            );
            keys.push(key);
        }
    }

    #[test]
    fn every_checking_action_can_be_a_gate() {
        let all = [
            Action::Fmt,
            Action::Validate,
            Action::Init,
            Action::Plan,
            Action::Apply,
            Action::Deps,
            Action::Lint,
            Action::Render,
            Action::Test,
            Action::Policy,
        ];
        let checking: Vec<&str> = all
            .iter()
            .filter(|a| **a != Action::Apply)
            .map(|a| a.as_str())
            .collect();
        assert_eq!(checking, strata_graph::manifest::GATE_ACTIONS);
    }
}
