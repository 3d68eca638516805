//! Policy metadata (`policies/<name>/policy.toml`) and `policies/waivers.toml`, read from a
//! snapshot.

use super::Target;
use crate::discover::Kind;
use crate::error::Result;
use crate::git::Repo;
use crate::policy::meta::PolicyMeta;
use crate::policy::waivers::{Waiver, WAIVERS_FILE};
use crate::snapshot::Snapshot;

/// `policy.toml` of each policy target (defaults when absent).
pub(super) fn load_policy_meta(
    repo: &Repo,
    snapshot: &Snapshot,
    targets: &[Target],
) -> Result<Vec<(usize, PolicyMeta)>> {
    let files: Vec<String> = targets
        .iter()
        .filter(|t| t.kind == Kind::Policy)
        .map(|t| format!("{}/policy.toml", t.label))
        .filter(|p| snapshot.files.contains_key(p))
        .collect();
    let refs: Vec<&str> = files.iter().map(String::as_str).collect();
    let contents = snapshot.contents(repo, &refs)?;
    let mut out = Vec::new();
    for (i, t) in targets.iter().enumerate() {
        if t.kind != Kind::Policy {
            continue;
        }
        let path = format!("{}/policy.toml", t.label);
        let meta = match snapshot.files.get(&path) {
            Some(e) => {
                let text = contents
                    .get(&e.id)
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .unwrap_or_default();
                PolicyMeta::parse(&text, &path)?
            }
            None => PolicyMeta::default(),
        };
        out.push((i, meta));
    }
    Ok(out)
}

/// `policies/waivers.toml`, checked (a malformed file is bad input).
pub(super) fn load_waivers(repo: &Repo, snapshot: &Snapshot) -> Result<Vec<Waiver>> {
    let Some(entry) = snapshot.files.get(WAIVERS_FILE) else {
        return Ok(Vec::new());
    };
    let blobs = snapshot.contents(repo, &[WAIVERS_FILE])?;
    let text = blobs
        .get(&entry.id)
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default();
    crate::policy::waivers::parse(&text)
}
