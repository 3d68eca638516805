//! An environment's own files (`environments/<env>/`: env.toml, overrides, values, secrets
//! files) as they feed each target there. They are no part of a target's hash: a lock entry
//! records the commit whose files it was applied with (`env_commit`), an apply or a
//! promotion runs with HEAD's, and a promotion plan pins HEAD's for each step it applies and
//! names the targets whose files changed since they were applied.

use crate::lock::ReleaseLock;
use std::collections::{BTreeMap, BTreeSet};
use strata_graph::model::EnvironmentFiles;
use strata_graph::session::{Session, View};
use strata_graph::snapshot::Snapshot;
use strata_graph::Result;

/// Whether an environment file of a target (`label`, a chart or not) in `env` may feed
/// what its apply did, and so must be committed for a lock entry's commit to reproduce it:
/// for a stack, every file its sandbox and task key hold (a script of the stack may read
/// any of them; the workspace's `ignore` leaves notes out); for a chart, what helm is given
/// (its values files, `*.yaml` and `*.yml`) and env.toml (its `[render]` settings): a
/// template reads no other file of the environment, so a note or a tfvars file there
/// changes no render. Never a secrets file that does not reach the target (the
/// environment-wide one, for a chart).
pub(crate) fn feeds(label: &str, chart: bool, env: &str, path: &str) -> bool {
    if !strata_run::secrets::is_secrets_file(path) {
        return !chart
            || path.ends_with(".yaml")
            || path.ends_with(".yml")
            || path == format!("environments/{env}/{}", strata_graph::manifest::ENV_FILE);
    }
    let (own, wide) = strata_run::secrets::scope(env, label, chart);
    strata_run::secrets::reaches(path, &own, wide)
}

/// The paths that changed between `since` and `head` as far as what runs of a target (a
/// chart or not) in `env` read them (`None` when git cannot tell, as for a commit that is
/// gone): env.toml counts only when what such a run reads of it changed (see
/// [`env_toml_run_view`]), not its gates, access, audit or secrets recipients, so that
/// tuning a soak restarts no soak and makes no chart drift.
fn changed_since(
    session: &Session,
    since: &str,
    head: &str,
    env: &str,
    chart: bool,
) -> Option<BTreeSet<String>> {
    let mut changed: BTreeSet<String> = session
        .repo
        .changed_between(since, head)
        .ok()?
        .into_iter()
        .collect();
    let env_toml = env_toml_path(env);
    if changed.contains(&env_toml) {
        let (then, now) = (
            env_toml_run_view(session, since, env, chart),
            env_toml_run_view(session, head, env, chart),
        );
        if then.is_some() && then == now {
            changed.remove(&env_toml);
        }
    }
    Some(changed)
}

fn env_toml_path(env: &str) -> String {
    format!("environments/{env}/{}", strata_graph::manifest::ENV_FILE)
}

/// What a run of a target (a chart or not) reads of `env`'s env.toml at `commit`: a
/// stack's, its `[state]`; a chart's, also its `[render]` and `[gitops]` but the
/// validators (a chart reads its stacks' outputs from their state, is rendered and
/// delivered). The rest (where it promotes from, its gates, access, audit, secrets
/// recipients, the commands that check the GitOps output) changes nothing applied. `None`
/// when it cannot be read.
fn env_toml_run_view(
    session: &Session,
    commit: &str,
    env: &str,
    chart: bool,
) -> Option<toml::Table> {
    let bytes = session.repo.file_at(commit, &env_toml_path(env)).ok()??;
    let mut table: toml::Table = String::from_utf8(bytes).ok()?.parse().ok()?;
    let read: &[&str] = if chart {
        &["state", "render", "gitops"]
    } else {
        &["state"]
    };
    table.retain(|key, _| read.contains(&key));
    if let Some(toml::Value::Table(gitops)) = table.get_mut("gitops") {
        gitops.remove("validate");
    }
    // A table left empty (`[gitops]` holding validators only) reads as none at all.
    table.retain(|_, value| !matches!(value, toml::Value::Table(t) if t.is_empty()));
    Some(table)
}

/// Which of an environment's files feeding a target changed since the commit of the files a
/// lock entry was applied with ([`crate::lock::LockEntry::env_files_commit`]), as `head`'s
/// commit holds them: git asked once per such commit.
pub(crate) struct SinceApplied<'a> {
    session: &'a Session,
    head: &'a str,
    env: &'a str,
    files: &'a EnvironmentFiles,
    snapshot: &'a Snapshot,
    /// By the commit applied, and whether for a chart.
    changed: BTreeMap<(String, bool), Option<BTreeSet<String>>>,
}

impl<'a> SinceApplied<'a> {
    /// `files` and `snapshot` are `head`'s.
    pub(crate) fn new(
        session: &'a Session,
        head: &'a str,
        env: &'a str,
        files: &'a EnvironmentFiles,
        snapshot: &'a Snapshot,
    ) -> Self {
        SinceApplied {
            session,
            head,
            env,
            files,
            snapshot,
            changed: BTreeMap::new(),
        }
    }

    /// The first file feeding `label` that changed since `applied` (see
    /// [`fed_file_changed`]): `Some(None)` when none did, `None` when git cannot tell (a
    /// commit that is gone).
    pub(crate) fn fed_changed(
        &mut self,
        applied: &str,
        label: &str,
        chart: bool,
    ) -> Option<Option<String>> {
        let (session, head, env) = (self.session, self.head, self.env);
        let changed = self
            .changed
            .entry((applied.to_string(), chart))
            .or_insert_with(|| changed_since(session, applied, head, env, chart))
            .as_ref()?;
        Some(fed_file_changed(
            changed,
            self.files,
            self.snapshot,
            env,
            label,
            chart,
        ))
    }
}

/// The first of the environment's files that fed `label` in `env` among `changed` (the
/// paths that changed since the files it was applied with): one that feeds it at HEAD
/// (`files` and `snapshot`, HEAD's), or one of the environment's directory deleted since,
/// which may have. `None`: the files it was applied with are HEAD's.
fn fed_file_changed(
    changed: &std::collections::BTreeSet<String>,
    files: &strata_graph::model::EnvironmentFiles,
    snapshot: &strata_graph::snapshot::Snapshot,
    env: &str,
    label: &str,
    chart: bool,
) -> Option<String> {
    let env_dir = format!("environments/{env}/");
    fed_files(files, snapshot, env, label, chart)
        .into_keys()
        .find(|p| changed.contains(p))
        .or_else(|| {
            changed
                .iter()
                .find(|p| p.starts_with(&env_dir) && !snapshot.files.contains_key(p.as_str()))
                .cloned()
        })
}

/// The environment's files that feed `label` in `env` (see [`feeds`]), with what `snapshot`
/// holds of each.
pub(crate) fn fed_files(
    files: &strata_graph::model::EnvironmentFiles,
    snapshot: &strata_graph::snapshot::Snapshot,
    env: &str,
    label: &str,
    chart: bool,
) -> BTreeMap<String, Option<strata_graph::snapshot::FileEntry>> {
    files
        .inputs_for_target(env, label)
        .filter(|p| feeds(label, chart, env, p))
        .map(|p| (p.to_string(), snapshot.files.get(p).copied()))
        .collect()
}

/// What a promotion plan knows of one target's files in the destination, as HEAD's commit
/// holds them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetFiles {
    /// Digest of the files that feed the target (see [`digest`]): what a step applying it
    /// runs with.
    pub digest: String,
    /// The first of them committed since the destination's lock entry was applied (see
    /// [`fed_file_changed`]), when it has an entry and git can tell.
    pub changed: Option<String>,
}

/// The digest of the files `snapshot` holds that feed `label` in `env` (a chart or not):
/// each path with its content's id and mode, or marked absent; env.toml by what a run
/// reads of it (`env_toml`, see [`env_toml_run_view`]), when that could be read.
pub fn digest(
    files: &EnvironmentFiles,
    snapshot: &Snapshot,
    env: &str,
    label: &str,
    chart: bool,
    env_toml: Option<&toml::Table>,
) -> String {
    let mut h = blake3::Hasher::new();
    let env_toml_path = env_toml_path(env);
    for (path, entry) in fed_files(files, snapshot, env, label, chart) {
        h.update(path.as_bytes());
        h.update(&[0]);
        match entry {
            Some(_) if path == env_toml_path && env_toml.is_some() => {
                h.update(
                    env_toml
                        .map(|t| t.to_string())
                        .unwrap_or_default()
                        .as_bytes(),
                );
            }
            Some(e) => {
                h.update(&e.id.0);
                h.update(&e.mode.to_le_bytes());
            }
            None => {
                h.update(b"-");
            }
        }
        h.update(&[0]);
    }
    h.finalize().to_hex().to_string()
}

/// The destination `to`'s files for every target `locks` name there (the source's entries
/// a promotion may apply, the destination's it runs), as `head`'s commit holds them.
pub fn for_promotion(
    session: &Session,
    locks: &crate::plan::Locks,
    to: &str,
    head: &str,
) -> Result<BTreeMap<String, TargetFiles>> {
    let at_head = session.at_commit(head)?;
    Ok(of_locks(
        session,
        &at_head,
        head,
        &locks.source,
        &locks.destination,
        to,
    ))
}

fn of_locks(
    session: &Session,
    at_head: &View,
    head: &str,
    source: &ReleaseLock,
    destination: &ReleaseLock,
    to: &str,
) -> BTreeMap<String, TargetFiles> {
    let files = at_head.model.environment_files(&at_head.snapshot);
    let env_toml = |chart| env_toml_run_view(session, head, to, chart);
    let env_tomls = [env_toml(false), env_toml(true)];
    let mut since = SinceApplied::new(session, head, to, &files, &at_head.snapshot);
    let mut out = BTreeMap::new();
    for (label, entry) in source.targets.iter().chain(destination.targets.iter()) {
        if out.contains_key(label) {
            continue;
        }
        let chart = entry.kind == "chart";
        let changed = destination.targets.get(label).and_then(|applied| {
            since
                .fed_changed(applied.env_files_commit(), label, chart)
                .flatten()
        });
        out.insert(
            label.clone(),
            TargetFiles {
                digest: digest(
                    &files,
                    &at_head.snapshot,
                    to,
                    label,
                    chart,
                    env_tomls[usize::from(chart)].as_ref(),
                ),
                changed,
            },
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::feeds;

    /// Every environment file a target's sandbox holds counts, but a secrets file that
    /// does not reach the target: the environment-wide one never reaches a chart.
    #[test]
    fn every_file_given_feeds_but_secrets_that_do_not_reach_the_target() {
        let env = "dev";
        for (label, chart, path, fed) in [
            (
                "stacks/app",
                false,
                "environments/dev/stacks/app/bootstrap.env",
                true,
            ),
            ("stacks/app", false, "environments/dev/env.toml", true),
            ("stacks/app", false, "environments/dev/secrets.toml", true),
            (
                "stacks/app",
                false,
                "environments/dev/stacks/app/secrets.toml",
                true,
            ),
            ("charts/web", true, "environments/dev/values.yaml", true),
            ("charts/web", true, "environments/dev/secrets.toml", false),
            (
                "charts/web",
                true,
                "environments/dev/terraform.tfvars",
                false,
            ),
            ("charts/web", true, "environments/dev/NOTES.txt", false),
            ("charts/web", true, "environments/dev/env.toml", true),
            (
                "charts/web",
                true,
                "environments/dev/charts/web/values.yml",
                true,
            ),
            ("stacks/app", false, "environments/dev/NOTES.txt", true),
            (
                "charts/web",
                true,
                "environments/dev/charts/web/secrets.toml",
                true,
            ),
        ] {
            assert_eq!(feeds(label, chart, env, path), fed, "{label}: {path}");
        }
    }
}
