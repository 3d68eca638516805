//! Waivers (policies/waivers.toml) applied to findings: a waiver in force that names a
//! finding's rule for its target marks the finding waived (not blocking); an expired waiver
//! that matches a target is reported, and fails that target.

use crate::Finding;
use strata_graph::model::waivers::{Waiver, WAIVERS_FILE};

/// How a waiver is shown beside the finding it accepts.
pub fn waived_by(w: &Waiver) -> String {
    format!(
        "{WAIVERS_FILE}:{} (owner {}, until {})",
        w.line, w.owner, w.expires
    )
}

/// Marks the findings of one target (`label`, in `env`) that a waiver in force accepts, and
/// returns the expired waivers that match the target.
pub fn apply<'w>(
    findings: &mut [Finding],
    waivers: &'w [Waiver],
    label: &str,
    env: Option<&str>,
    today: i64,
) -> Vec<&'w Waiver> {
    let applicable: Vec<&Waiver> = waivers
        .iter()
        .filter(|w| w.applies_to(label, env))
        .collect();
    for f in findings.iter_mut() {
        let ids = f.ids();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        if let Some(w) = applicable
            .iter()
            .find(|w| !w.expired(today) && w.covers(&ids))
        {
            f.waived_by = Some(waived_by(w));
        }
    }
    applicable
        .into_iter()
        .filter(|w| w.expired(today))
        .collect()
}

/// How an expired waiver is reported.
pub fn expired_message(w: &Waiver) -> String {
    format!(
        "waiver {WAIVERS_FILE}:{} for {} on {} (owner {}) expired on {}: renew it or fix the finding",
        w.line, w.rule, w.targets, w.owner, w.expires
    )
}
