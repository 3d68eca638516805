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

use std::collections::HashMap;
use strata_graph::affected::{affected_for_view, Reason};
use strata_graph::discover::Kind;
use strata_graph::error::Result;
use strata_graph::id::TargetId;
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
}

/// Resolves a scope against the work-tree view.
pub fn select(session: &Session, view: &View, scope: &Scope) -> Result<Selection> {
    let model = &view.model;
    let mut selection = Selection::default();
    match scope {
        Scope::All => selection.targets = model.ids().collect(),
        Scope::Labels(labels) => selection.targets = session.resolve_labels(model, labels)?,
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
    Ok(selection)
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
