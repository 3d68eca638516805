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
pub mod env_files;
pub mod event_signing;
pub mod identity;
pub mod lock;
pub mod plan;
mod plan_text;
pub mod promote;
pub mod reconcile;
pub mod record;
pub mod started;
pub mod verify;
pub mod vouch;

use strata_graph::model::Model;
use strata_graph::Result;

/// Whether the current user may apply (or destroy, or push state) in `env`: its
/// `[access] apply` list, checked against who the user proved to be when the environment's
/// audit events are signed (see [`event_signing::acting_as`]). `Err(message)` when not. An
/// environment whose events must be signed and that no usable key could sign for is an
/// error: nothing may change it.
pub fn may_apply(
    model: &Model,
    session: &strata_graph::session::Session,
    env: &str,
) -> Result<std::result::Result<(), String>> {
    let Some(environment) = model.environment(env) else {
        return Ok(Ok(()));
    };
    let me = event_signing::acting_as(session, &environment.config, env)?;
    let allowed = &environment.config.access.apply;
    if allowed.is_empty() || allowed.iter().any(|a| me.contains(a)) {
        return Ok(Ok(()));
    }
    Ok(Err(format!(
        "{} may not apply in {env} ({} lists who may: {})",
        me.join(", "),
        environment.file,
        allowed.join(", ")
    )))
}
