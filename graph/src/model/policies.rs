//! Policy metadata (`policies/<name>/policy.toml`) and `policies/waivers.toml`, read from a
//! snapshot.

use super::Target;
use crate::discover::Kind;
use crate::error::Result;
use crate::git::Repo;
use crate::id::TargetId;
use crate::model::policy_meta::PolicyMeta;
use crate::model::waivers::{Waiver, WAIVERS_FILE};
use crate::snapshot::Snapshot;

/// `policy.toml` of each policy target (defaults when absent), checked against the
/// workspace's environments.
pub(super) fn load_policy_meta(
    repo: &Repo,
    snapshot: &Snapshot,
    targets: &mut [Target],
    env_names: &[String],
) -> Result<Vec<(TargetId, PolicyMeta)>> {
    let files: Vec<String> = targets
        .iter()
        .filter(|t| t.kind == Kind::Policy)
        .map(|t| crate::discover::in_dir(&t.label, "policy.toml"))
        .collect();
    let refs: Vec<&str> = files.iter().map(String::as_str).collect();
    let mut texts: std::collections::HashMap<String, Result<String>> = snapshot
        .config_texts_each(repo, &refs)?
        .into_iter()
        .collect();
    let mut out = Vec::new();
    for (i, target) in TargetId::all(targets.len()).zip(targets.iter_mut()) {
        if target.kind != Kind::Policy {
            continue;
        }
        let path = crate::discover::in_dir(&target.label, "policy.toml");
        let meta = match texts.remove(&path) {
            Some(text) => {
                let checked = text.and_then(|text| {
                    PolicyMeta::parse(&text, &path).and_then(|meta| {
                        meta.check_environments(&text, &path, env_names)
                            .map(|_| meta)
                    })
                });
                match checked {
                    Ok(meta) => meta,
                    // A policy that cannot be read governs nothing it could be trusted with:
                    // the model refuses to run checks while it is broken.
                    Err(e) => {
                        target.problem(e);
                        continue;
                    }
                }
            }
            None => PolicyMeta::default(),
        };
        out.push((i, meta));
    }
    Ok(out)
}

/// `policies/waivers.toml`, checked (a malformed file is bad input).
pub(super) fn load_waivers(repo: &Repo, snapshot: &Snapshot) -> Result<Vec<Waiver>> {
    match snapshot.config_texts(repo, &[WAIVERS_FILE])?.pop() {
        Some((_, text)) => crate::model::waivers::parse(&text),
        None => Ok(Vec::new()),
    }
}
