//! The model of git's index, saved between runs.
//!
//! Without a daemon, every `affected` models the index again (the work tree's changes are
//! applied to that model afterwards, see [`crate::session::Session::work_tree`]). Most runs
//! see the same index as the run before, so the model's costly part (targets, their inputs
//! and edges, see [`crate::model::Derived`]) and the hashes are saved under
//! `.strata/cache/index-model.bin` with a key, and reused when the key is the same.
//!
//! The key covers everything the model of an index is made from: the index's entries
//! (paths, modes and content ids, through the digest of the entries as git wrote them), the
//! workspace configuration's text, and the strata binary (its version, the fact and
//! fingerprint versions, and the executable's size and modification time, so a rebuilt
//! binary never reads a model its predecessor wrote). Environments, waivers and links are
//! read again from the index on every run: they are few files, and waivers depend on the
//! date. A model with problems is not saved. A file that does not decode, was written for
//! another key, or fails its checksum is ignored: the model is built as if it were absent.

use crate::git::Repo;
use crate::hash::Hashes;
use crate::model::{Derived, Model};
use crate::snapshot::Snapshot;
use crate::workspace::WorkspaceConfig;
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 8] = b"STRIMOD1";
const FILE: &str = "index-model.bin";
const KEY_LEN: usize = 32;

/// Where the model of one index under one configuration is saved.
pub struct IndexModel {
    path: PathBuf,
    key: [u8; KEY_LEN],
}

#[derive(serde::Serialize)]
struct SavedRef<'a> {
    derived: crate::model::DerivedRef<'a>,
    hashes: &'a Hashes,
}

#[derive(serde::Deserialize)]
struct Saved {
    derived: Derived,
    hashes: Hashes,
}

impl IndexModel {
    /// The saved model of the index whose entries have `index_digest`, under the
    /// configuration written `config_text`, in the cache directory `cache_dir`; `None` when
    /// the running binary cannot be identified.
    pub fn new(cache_dir: &Path, config_text: &str, index_digest: [u8; 32]) -> Option<IndexModel> {
        let binary = binary_id()?;
        let mut key = blake3::Hasher::new();
        key.update(b"strata index model\0");
        key.update(binary);
        key.update(&(config_text.len() as u64).to_le_bytes());
        key.update(config_text.as_bytes());
        key.update(&index_digest);
        Some(IndexModel {
            path: cache_dir.join(FILE),
            key: *key.finalize().as_bytes(),
        })
    }

    /// The model and hashes saved for this key, read into a model of `snapshot` (the
    /// index's).
    pub fn load(
        &self,
        repo: &Repo,
        snapshot: &Snapshot,
        config: &WorkspaceConfig,
    ) -> Option<(Model, Hashes)> {
        let bytes = std::fs::read(&self.path).ok()?;
        let body = strata_fs::unseal(MAGIC, &bytes)?;
        let (key, rest) = body.split_at_checked(KEY_LEN)?;
        if key != self.key {
            return None;
        }
        let saved: Saved = postcard::from_bytes(rest).ok()?;
        let model = Model::from_derived(repo, snapshot, config, saved.derived).ok()?;
        (saved.hashes.hashes.len() == model.targets.len()).then_some((model, saved.hashes))
    }

    /// Saves `model` and its `hashes` for this key, unless a target has problems. Failures
    /// are not fatal: the file is an optimisation.
    pub fn save(&self, model: &Model, hashes: &Hashes) {
        let Some(derived) = model.derived() else {
            return;
        };
        let saved = SavedRef { derived, hashes };
        let _ = strata_fs::write_sealed_with(&self.path, MAGIC, |w| {
            w.write_all(&self.key)?;
            postcard::to_io(&saved, w)
                .map(|_| ())
                .map_err(std::io::Error::other)
        });
    }
}

/// What identifies the running binary: its version, the versions of what it reads and
/// hashes, and the executable's size and modification time.
fn binary_id() -> Option<&'static [u8; 32]> {
    static ID: std::sync::OnceLock<Option<[u8; 32]>> = std::sync::OnceLock::new();
    ID.get_or_init(|| {
        let exe = std::env::current_exe().ok()?;
        let meta = std::fs::metadata(&exe).ok()?;
        let modified = meta
            .modified()
            .ok()?
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?;
        let mut id = blake3::Hasher::new();
        id.update(env!("CARGO_PKG_VERSION").as_bytes());
        id.update(&crate::facts::FACTS_VERSION.to_le_bytes());
        id.update(&crate::hash::FINGERPRINT_VERSION.to_le_bytes());
        id.update(&meta.len().to_le_bytes());
        id.update(&modified.as_nanos().to_le_bytes());
        Some(*id.finalize().as_bytes())
    })
    .as_ref()
}

/// Loads are checked by [`IndexModel::load`] against a model built from scratch in the
/// tests of `session`; here, the file's own guarantees.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_covers_the_configuration_and_the_index() {
        let dir = Path::new("/nonexistent");
        let a = IndexModel::new(dir, "[workspace]\nname = \"a\"\n", [1; 32]).unwrap();
        let b = IndexModel::new(dir, "[workspace]\nname = \"b\"\n", [1; 32]).unwrap();
        let c = IndexModel::new(dir, "[workspace]\nname = \"a\"\n", [2; 32]).unwrap();
        let again = IndexModel::new(dir, "[workspace]\nname = \"a\"\n", [1; 32]).unwrap();
        assert_ne!(a.key, b.key);
        assert_ne!(a.key, c.key);
        assert_eq!(a.key, again.key);
    }
}
