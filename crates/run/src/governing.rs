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
