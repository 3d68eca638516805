//! strata's release layer: release locks per environment, promotion plans with their
//! gates, approvals signed with SSH keys, and promote-apply with automatic rollback.
//!
//! It builds on the run layer (which runs terraform and helm) and reads no tool output
//! itself: a promotion plan needs only the locks, env.toml and the graph.

pub mod approvals;
pub mod audit;
pub mod clock;
pub mod delivery;
pub mod drift;
pub mod identity;
pub mod lock;
pub mod plan;
mod plan_text;
pub mod promote;
pub mod record;
pub mod verify;

use strata_graph::model::Model;
use strata_graph::Result;

/// Whether the current user may apply in `env` (its `[access] apply` list): `Err(message)`
/// when not.
pub fn may_apply(
    model: &Model,
    repo: &strata_graph::git::Repo,
    env: &str,
) -> Result<std::result::Result<(), String>> {
    let Some(environment) = model.environment(env) else {
        return Ok(Ok(()));
    };
    let allowed = &environment.config.access.apply;
    if allowed.is_empty() {
        return Ok(Ok(()));
    }
    let me = identity::current(repo)?;
    Ok(if allowed.iter().any(|a| a == &me) {
        Ok(())
    } else {
        Err(format!(
            "{me} may not apply in {env} ({} lists who may: {})",
            environment.file,
            allowed.join(", ")
        ))
    })
}
