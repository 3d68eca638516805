//! What `affected` needs to know about the base commit, kept small enough to cache.
//!
//! A commit never changes, so its baseline (per target: kind, hash and its two parts,
//! environments; per environment: file digests; global inputs and tool pins) is stored under
//! `.strata/cache/baselines/<commit>` and reused by later runs against the same merge-base:
//! the common case while a branch is being worked on. A baseline that fails to decode or was
//! written by another format version is ignored and rebuilt.

use crate::digest::TargetHash;
use crate::discover::Kind;
use crate::hash::{EnvDigests, Hashes, FINGERPRINT_VERSION};
use crate::model::{EnvironmentFiles, Model};
use crate::session::View;
use crate::snapshot::FileEntry;
use crate::snapshot::Snapshot;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// Changed whenever the model reads the same facts into other edges (6: `fileset`
/// patterns are joined and cleaned; a module's root-relative reads are its callers'; a
/// file read by name is an input even when `ignore` matches it; 7: so are the files a
/// `fileset` matches; 8: environment digests count what links among the environment files
/// lead to; 9: a baseline derived from the index with an unstaged WORKSPACE.toml edit
/// applied to the commit could have been saved, and is not trusted; B: whether the
/// built-in policy pack is on): a baseline of the old model is not compared with the new.
const MAGIC: &[u8; 8] = b"STRBASEB";

/// A baseline is the model's answer for a commit: it is stale when the fingerprint or what
/// the parsers read changes.
const VERSION: u32 = FINGERPRINT_VERSION * 1000 + crate::facts::FACTS_VERSION;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BaseTarget {
    pub label: String,
    pub kind: Kind,
    pub hash: TargetHash,
    pub own: TargetHash,
    pub global: TargetHash,
    /// Where the target is deployed: an index into [`Baseline::env_lists`] (most targets
    /// share one list; a daemon keeps baselines in memory).
    env_list: u32,
    /// The target could not be modelled completely at this commit.
    pub broken: bool,
}

/// An environment's digests at the base commit.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EnvBase {
    /// The digest of the environment-wide files.
    pub wide: TargetHash,
    /// The digest of each target's own files there, by index into [`Baseline::targets`]
    /// in index order (targets without files there are absent).
    by_target: Vec<(u32, TargetHash)>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Baseline {
    version: u32,
    pub commit: String,
    pub targets: Vec<BaseTarget>,
    /// The distinct lists of environments the targets are deployed to.
    env_lists: Vec<Vec<String>>,
    pub global_inputs: Vec<(String, Option<FileEntry>)>,
    pub toolchains: BTreeMap<Kind, BTreeMap<String, String>>,
    /// Per environment, its digests.
    pub env: BTreeMap<String, EnvBase>,
    /// Why the commit could not be modelled at all (a malformed env.toml, a cycle): then
    /// every target at head is affected, and nothing else here is known.
    pub failure: Option<crate::error::Problem>,
    /// The waivers of `policies/waivers.toml` (their identities, sorted): a change to one
    /// affects the targets it names, whatever policy it waives (the built-in pack's too).
    pub waivers: Vec<String>,
    /// Whether WORKSPACE.toml turns the built-in policy pack on (`[policy] builtin`): its
    /// policies govern stacks, modules and charts, so turning it on or off affects them.
    pub builtin_policies: bool,
}

/// The identities of a model's waivers, sorted.
pub fn waiver_identities(model: &Model) -> Vec<String> {
    let mut out: Vec<String> = model.waivers.iter().map(|w| w.identity()).collect();
    out.sort();
    out.dedup();
    out
}

impl Baseline {
    pub fn from_view(view: &View, commit: &str) -> Baseline {
        Baseline::from_parts(&view.model, &view.snapshot, &view.hashes, commit)
    }

    /// The baseline of a commit from its model, snapshot and hashes.
    pub fn from_parts(
        model: &Model,
        snapshot: &Snapshot,
        hashes: &Hashes,
        commit: &str,
    ) -> Baseline {
        let files = model.environment_files(snapshot);
        Baseline::with_environment_files(model, snapshot, hashes, commit, &files)
    }

    /// [`Baseline::from_parts`] given the model's environment files of `snapshot`.
    pub fn with_environment_files(
        model: &Model,
        snapshot: &Snapshot,
        hashes: &Hashes,
        commit: &str,
        files: &EnvironmentFiles,
    ) -> Baseline {
        let ((targets, env_lists), digests) = rayon::join(
            || {
                let mut env_lists = EnvLists::default();
                let mut targets: Vec<BaseTarget> = model
                    .targets
                    .iter()
                    .enumerate()
                    .map(|(i, t)| BaseTarget {
                        label: t.label.clone(),
                        kind: t.kind,
                        hash: hashes.hashes[i],
                        own: hashes.own[i],
                        global: hashes.global[i],
                        env_list: env_lists.index(&t.environments),
                        broken: !t.problems.is_empty(),
                    })
                    .collect();
                targets.sort_unstable_by(|a, b| a.label.cmp(&b.label));
                (targets, env_lists.lists)
            },
            || EnvDigests::new(files, snapshot),
        );
        let index = |label: &str| {
            targets
                .binary_search_by(|t| t.label.as_str().cmp(label))
                .ok()
        };
        let env = digests
            .envs()
            .map(|(name, wide, by_label)| {
                let mut by_target: Vec<(u32, TargetHash)> = by_label
                    .iter()
                    // Every label there is a target's (see `Model::environment_files`).
                    .filter_map(|(label, d)| Some((index(label)? as u32, *d)))
                    .collect();
                by_target.sort_unstable_by_key(|e| e.0);
                (name.to_string(), EnvBase { wide, by_target })
            })
            .collect();
        Baseline {
            version: VERSION,
            commit: commit.to_string(),
            targets,
            env_lists,
            global_inputs: model
                .global_inputs
                .iter()
                .map(|p| (p.clone(), snapshot.files.get(p).copied()))
                .collect(),
            toolchains: [Kind::Stack, Kind::Module, Kind::Chart, Kind::Policy]
                .into_iter()
                .map(|k| (k, hashes.toolchain(k).clone()))
                .collect(),
            env,
            failure: None,
            waivers: waiver_identities(model),
            builtin_policies: model.config.policy.builtin,
        }
    }

    /// The baseline of a commit that could not be modelled.
    pub fn failed(commit: &str, error: &crate::error::Error) -> Baseline {
        Baseline {
            version: VERSION,
            commit: commit.to_string(),
            targets: Vec::new(),
            env_lists: Vec::new(),
            global_inputs: Vec::new(),
            toolchains: BTreeMap::new(),
            env: BTreeMap::new(),
            failure: Some(error.into()),
            waivers: Vec::new(),
            builtin_policies: false,
        }
    }

    /// The target labelled `label` (targets are kept in label order: no index beside them).
    pub fn target(&self, label: &str) -> Option<&BaseTarget> {
        self.position(label).map(|i| &self.targets[i])
    }

    fn position(&self, label: &str) -> Option<usize> {
        self.targets
            .binary_search_by(|t| t.label.as_str().cmp(label))
            .ok()
    }

    /// The environments `target` (one of [`Baseline::targets`]) is deployed to.
    pub fn environments(&self, target: &BaseTarget) -> &[String] {
        &self.env_lists[target.env_list as usize]
    }

    /// (environment-wide digest, the target's own digest) in `env` at the base commit.
    pub fn env_digest(&self, env: &str, label: &str) -> (Option<TargetHash>, Option<TargetHash>) {
        let Some(base) = self.env.get(env) else {
            return (None, None);
        };
        let own = self.position(label).and_then(|i| {
            let i = i as u32;
            base.by_target
                .binary_search_by_key(&i, |e| e.0)
                .ok()
                .map(|k| base.by_target[k].1)
        });
        (Some(base.wide), own)
    }

    pub fn load(path: &Path, commit: &str) -> Option<Baseline> {
        let body = strata_fs::read_sealed(path, MAGIC)?;
        // Used now: the pruning in `save` keeps the most recently used.
        if let Ok(file) = std::fs::File::options().append(true).open(path) {
            let _ = file.set_modified(std::time::SystemTime::now());
        }
        let b: Baseline = postcard::from_bytes(&body).ok()?;
        // A file whose targets are out of order was not written by this version.
        let ordered = b.targets.windows(2).all(|w| w[0].label < w[1].label);
        let lists = b.env_lists.len();
        let indices_valid = b.targets.iter().all(|t| (t.env_list as usize) < lists)
            && b.env.values().all(|e| {
                e.by_target.windows(2).all(|w| w[0].0 < w[1].0)
                    && e.by_target
                        .last()
                        .is_none_or(|l| (l.0 as usize) < b.targets.len())
            });
        if b.version != VERSION || b.commit != commit || !ordered || !indices_valid {
            return None;
        }
        Some(b)
    }

    /// Best effort: the baseline is an optimisation. Keeps the [`KEPT`] most recently used
    /// baselines of the directory and removes the others: every new merge-base (each commit
    /// on a branch that follows the default one) adds a file of several MB on a large
    /// workspace, which would otherwise pile up for as long as the checkout lives.
    pub fn save(&self, path: &Path) {
        // Encoded straight into the file: the encoding is never held in memory whole.
        let _ = strata_fs::write_sealed_with(path, MAGIC, |w| {
            postcard::to_io(self, w)
                .map(|_| ())
                .map_err(std::io::Error::other)
        });
        if let Some(dir) = path.parent() {
            prune(dir, KEPT);
        }
    }
}

/// Distinct lists of environments, each stored once.
#[derive(Default)]
struct EnvLists<'m> {
    lists: Vec<Vec<String>>,
    seen: rustc_hash::FxHashMap<&'m [String], u32>,
}

impl<'m> EnvLists<'m> {
    /// The index of `list`, added when new.
    fn index(&mut self, list: &'m [String]) -> u32 {
        *self.seen.entry(list).or_insert_with(|| {
            self.lists.push(list.to_vec());
            (self.lists.len() - 1) as u32
        })
    }
}

/// How many baselines a checkout keeps on disk.
const KEPT: usize = 16;

/// Removes all but the `keep` most recently used (written or loaded) baselines in `dir`.
/// Temporary files of a save under way elsewhere are left alone.
fn prune(dir: &Path, keep: usize) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut files: Vec<(std::time::SystemTime, std::path::PathBuf)> = entries
        .flatten()
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.len() == 40 && name.bytes().all(|b| b.is_ascii_hexdigit())
        })
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    if files.len() <= keep {
        return;
    }
    files.sort_by_key(|f| std::cmp::Reverse(f.0));
    for (_, path) in files.drain(keep..) {
        let _ = std::fs::remove_file(path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_most_recently_used_baselines_stay_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let start = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1 << 30);
        for i in 0..20u64 {
            let path = dir.path().join(format!("{i:040x}"));
            std::fs::write(&path, b"x").unwrap();
            let file = std::fs::File::options().append(true).open(&path).unwrap();
            file.set_modified(start + std::time::Duration::from_secs(i * 60))
                .unwrap();
        }
        // Not a baseline: a save's temporary file.
        std::fs::write(dir.path().join(".tmp-0001"), b"x").unwrap();
        prune(dir.path(), 16);
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left.len(), 17, "{left:?}");
        assert!(left.contains(&".tmp-0001".to_string()));
        // The four oldest went.
        for i in 0..4u64 {
            assert!(!left.contains(&format!("{i:040x}")), "{left:?}");
        }
        assert!(left.contains(&format!("{:040x}", 19)));
    }
}
