//! Which policies govern a target in an environment: the workspace's policy targets whose
//! `policy.toml` selects it, and the policies of the built-in pack, which govern like policy
//! targets with their own `policy.toml` (the Terraform policies stacks and modules, the
//! Kubernetes policy charts) unless WORKSPACE.toml turns the pack off (`[policy] builtin`).

use strata_graph::id::TargetId;
use strata_graph::model::Model;
use strata_policy::builtin::{self, BuiltinPolicy};

/// A policy that governs a target.
#[derive(Debug, Clone, Copy)]
pub enum Governor {
    /// A policy target of the workspace, by index.
    Workspace(TargetId),
    /// A policy of the built-in pack.
    Builtin(&'static BuiltinPolicy),
}

impl Governor {
    /// The policy's label and what identifies its content in a task key: a workspace
    /// policy's target hash, the built-in pack's version.
    pub fn identity(
        &self,
        model: &Model,
        hashes: &[strata_graph::digest::TargetHash],
    ) -> (String, String) {
        match self {
            Governor::Workspace(p) => (model.targets[*p].label.clone(), hashes[*p].to_hex()),
            Governor::Builtin(b) => (b.label.clone(), builtin::version().to_string()),
        }
    }
}

/// The policies governing `target` in `env`: workspace policies first, then the built-in
/// pack's when the workspace has it on.
pub fn governing(model: &Model, target: TargetId, env: Option<&str>) -> Vec<Governor> {
    let mut out: Vec<Governor> = model
        .governing(target, env)
        .iter()
        .map(|(p, _)| Governor::Workspace(*p))
        .collect();
    if model.config.policy.builtin {
        let t = &model.targets[target];
        out.extend(
            builtin::policies()
                .iter()
                .filter(|b| b.meta.governs(t.kind, &t.label, env))
                .map(Governor::Builtin),
        );
    }
    out
}

/// Loads, once each, the workspace policies that govern a policy task of `tasks`. A policy
/// that does not load (a Rego syntax error, an import of a package it lacks, a data file
/// that does not parse) is bad input: refused before anything runs, naming its file and
/// line, rather than a failed task at the end of a run whose other tasks went ahead.
/// Returns what loading warns about (a namespace that matches no package, a misnamed rule),
/// for every run to say, whether its policy tasks run or come from the cache.
pub fn check_loadable(
    model: &Model,
    tasks: &[crate::task::Task],
    read: &strata_policy::scan::ReadFiles,
) -> strata_graph::Result<Vec<String>> {
    let mut warnings = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for task in tasks
        .iter()
        .filter(|t| t.action == crate::task::Action::Policy)
    {
        for governor in governing(model, task.target, task.env.as_deref()) {
            let Governor::Workspace(p) = governor else {
                continue;
            };
            if !seen.insert(p) {
                continue;
            }
            let overrides = strata_policy::Overrides::default();
            let loaded = strata_policy::load_policy(model, p, read, &overrides);
            if let Ok(policy) = &loaded {
                warnings.extend(policy.load_warnings().iter().cloned());
            }
            if let Err(e) = loaded {
                let label = &model.targets[p].label;
                let file = e.file.clone().unwrap_or_else(|| label.clone());
                return Err(strata_graph::Error::Invalid {
                    message: format!("policy `{label}` does not load: {}", e.message),
                    location: strata_graph::error::Location::new(file, e.line.map(|l| l as usize)),
                    hint: e.hint.unwrap_or_else(|| {
                        format!(
                            "fix the policy, then `strata policy test {}` before the run",
                            strata_graph::text::shell_word(label)
                        )
                    }),
                });
            }
        }
    }
    Ok(warnings)
}
