//! The local cache directory:
//!
//! ```text
//! <dir>/ac/<task key>            results (JSON)
//! <dir>/cas/<2 hex>/<sha256>     blobs
//! ```
//!
//! Every write is atomic, and a blob write always replaces what is there: bytes already
//! stored under a digest are never trusted to be that digest's. Reading a result or blob
//! refreshes its modification time, which `prune` uses to evict the least recently used
//! entries first.

use super::{BlobRef, Store, StoreError};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::SystemTime;
use strata_digest::{BlobDigest, TaskKey};
use strata_fs::write_atomic;

pub struct LocalStore {
    dir: PathBuf,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Stats {
    pub dir: PathBuf,
    pub results: u64,
    pub blobs: u64,
    pub bytes: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct PruneReport {
    pub removed_results: u64,
    pub removed_blobs: u64,
    pub freed_bytes: u64,
    pub remaining_bytes: u64,
    /// The files that could not be removed, with why (a read-only or immutable file): the
    /// cache may not fit, and the prune says so. A result that stays keeps its blobs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failed: Vec<(String, String)>,
}

impl LocalStore {
    pub fn new(dir: impl Into<PathBuf>) -> LocalStore {
        LocalStore { dir: dir.into() }
    }

    fn result_path(&self, key: &TaskKey) -> PathBuf {
        self.dir.join("ac").join(key.to_hex())
    }

    fn blob_path(&self, digest: &BlobDigest) -> PathBuf {
        let hex = digest.to_hex();
        self.dir.join("cas").join(&hex[..2]).join(hex)
    }

    pub fn stats(&self) -> Stats {
        let mut stats = Stats {
            dir: self.dir.clone(),
            ..Stats::default()
        };
        for (_, size, _) in files(&self.dir.join("ac")) {
            stats.results += 1;
            stats.bytes += size;
        }
        for (_, size, _) in files(&self.dir.join("cas")) {
            stats.blobs += 1;
            stats.bytes += size;
        }
        stats
    }

    /// Evicts least recently used entries (a result with the blobs only it uses) and
    /// unreferenced blobs until the cache holds at most `max_bytes`.
    pub fn prune(&self, max_bytes: u64) -> PruneReport {
        let results = files(&self.dir.join("ac"));
        let blobs: HashMap<String, (PathBuf, u64)> = files(&self.dir.join("cas"))
            .into_iter()
            .filter_map(|(p, size, _)| {
                let name = p.file_name()?.to_str()?.to_string();
                Some((name, (p, size)))
            })
            .collect();
        // Which blobs each result uses, and how many results use each blob.
        let mut uses: Vec<(PathBuf, u64, SystemTime, Vec<String>)> = Vec::new();
        let mut refcount: HashMap<String, u32> = HashMap::new();
        for (path, size, mtime) in results {
            let refs: Vec<String> = std::fs::read(&path)
                .ok()
                .and_then(|b| crate::decode_result(&b).ok().flatten())
                .map(|r| r.outputs.values().map(|o| o.digest.to_hex()).collect())
                .unwrap_or_default();
            for r in &refs {
                *refcount.entry(r.clone()).or_default() += 1;
            }
            uses.push((path, size, mtime, refs));
        }
        let mut total: u64 =
            uses.iter().map(|u| u.1).sum::<u64>() + blobs.values().map(|b| b.1).sum::<u64>();
        let mut report = PruneReport::default();
        let mut removed: HashSet<String> = HashSet::new();
        let mut remove_blob = |name: &str, report: &mut PruneReport, total: &mut u64| {
            if let Some((p, size)) = blobs.get(name) {
                if removed.insert(name.to_string()) {
                    match std::fs::remove_file(p) {
                        Ok(()) => {
                            report.removed_blobs += 1;
                            report.freed_bytes += size;
                            *total -= size;
                        }
                        Err(e) => report.failed.push((p.display().to_string(), e.to_string())),
                    }
                }
            }
        };
        // Orphans first: blobs no result names.
        let orphans: Vec<String> = blobs
            .keys()
            .filter(|b| !refcount.contains_key(*b))
            .cloned()
            .collect();
        for b in orphans {
            if total <= max_bytes {
                break;
            }
            remove_blob(&b, &mut report, &mut total);
        }
        uses.sort_by_key(|u| u.2);
        for (path, size, _, refs) in uses {
            if total <= max_bytes {
                break;
            }
            if let Err(e) = std::fs::remove_file(&path) {
                // It stays: so do the blobs it names.
                report
                    .failed
                    .push((path.display().to_string(), e.to_string()));
                continue;
            }
            report.removed_results += 1;
            report.freed_bytes += size;
            total -= size;
            for r in refs {
                let n = refcount.get_mut(&r).expect("counted");
                *n -= 1;
                if *n == 0 {
                    remove_blob(&r, &mut report, &mut total);
                }
            }
        }
        report.remaining_bytes = total;
        report
    }
}

/// Regular files below `dir` with size and modification time.
fn files(dir: &Path) -> Vec<(PathBuf, u64, SystemTime)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let Ok(meta) = e.metadata() else { continue };
            if meta.is_dir() {
                stack.push(e.path());
            } else if meta.is_file() && !strata_fs::is_temp_name(&e.file_name().to_string_lossy()) {
                out.push((
                    e.path(),
                    meta.len(),
                    meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                ));
            }
        }
    }
    out
}

/// The file's bytes, at most `limit` of them.
fn read(path: &Path, limit: u64) -> Result<Option<Vec<u8>>, StoreError> {
    let fail = |e: std::io::Error| StoreError::failed(format!("{}: {e}", path.display()));
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(fail(e)),
    };
    let len = file.metadata().map_err(fail)?.len();
    let mut bytes = Vec::with_capacity(len.min(limit) as usize);
    (&file).take(limit).read_to_end(&mut bytes).map_err(fail)?;
    // Refresh the modification time: it is the recency `prune` evicts by.
    if let Ok(f) = std::fs::File::options().write(true).open(path) {
        let _ = f.set_modified(SystemTime::now());
    }
    Ok(Some(bytes))
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    // A directory where the entry belongs (made by hand, or by a damaged file system) would
    // refuse every write, and the entry would never be cached again: it goes.
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir()) {
        let _ = std::fs::remove_dir_all(path);
    }
    write_atomic(path, bytes).map_err(|e| StoreError::failed(format!("{}: {e}", path.display())))
}

impl Store for LocalStore {
    fn describe(&self) -> String {
        self.dir.display().to_string()
    }
    fn get_result(&self, key: &TaskKey) -> Result<Option<Vec<u8>>, StoreError> {
        read(&self.result_path(key), u64::MAX)
    }
    fn put_result(&self, key: &TaskKey, bytes: &[u8]) -> Result<(), StoreError> {
        write(&self.result_path(key), bytes)
    }
    fn get_blob(&self, blob: &BlobRef) -> Result<Option<Vec<u8>>, StoreError> {
        read(&self.blob_path(&blob.digest), blob.size.saturating_add(1))
    }
    fn put_blob(&self, digest: &BlobDigest, bytes: &[u8]) -> Result<(), StoreError> {
        // Always written, never skipped because a file exists: that file may be the
        // corrupt copy a repair is replacing.
        write(&self.blob_path(digest), bytes)
    }
    fn remove_result(&self, key: &TaskKey) -> Result<(), StoreError> {
        let _ = std::fs::remove_file(self.result_path(key));
        Ok(())
    }
    fn remove_blob(&self, digest: &BlobDigest) -> Result<(), StoreError> {
        // Another task may have rewritten it since it was found corrupt: keep a good copy.
        let path = self.blob_path(digest);
        match std::fs::read(&path) {
            Ok(bytes) if BlobDigest::of(&bytes) == *digest => {}
            _ => {
                let _ = std::fs::remove_file(path);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{make_result, Cache};
    use std::collections::BTreeMap;
    use std::sync::Arc;

    #[test]
    fn truncated_result_is_a_miss_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(
            Some(Box::new(LocalStore::new(dir.path()))),
            Arc::new(|_| {}),
        );
        let key = TaskKey([9; 32]);
        let blobs = BTreeMap::from([("log".to_string(), b"x".repeat(100))]);
        cache
            .store(
                &make_result(key, "a", "plan", None, serde_json::json!({}), &blobs, 1),
                &blobs,
            )
            .unwrap();
        assert!(cache.lookup(&key).unwrap().is_some());
        let path = dir.path().join("ac").join(key.to_hex());
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        assert!(cache.lookup(&key).unwrap().is_none());
        assert!(!path.exists());
    }

    /// A directory where an entry or a blob belongs is a miss, and the next store replaces
    /// it with the entry: the task is cached again.
    #[test]
    fn a_directory_in_place_of_an_entry_is_replaced_by_the_next_store() {
        let dir = tempfile::tempdir().unwrap();
        let warnings = Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = warnings.clone();
        let cache = Cache::new(
            Some(Box::new(LocalStore::new(dir.path()))),
            Arc::new(move |w| seen.lock().unwrap().push(w)),
        );
        let key = TaskKey([8; 32]);
        let blobs = BTreeMap::from([("log".to_string(), b"y".repeat(10))]);
        let result = make_result(key, "a", "plan", None, serde_json::json!({}), &blobs, 1);
        let entry = dir.path().join("ac").join(key.to_hex());
        let blob = LocalStore::new(dir.path()).blob_path(&result.outputs["log"].digest);
        for path in [&entry, &blob] {
            std::fs::create_dir_all(path.join("inside")).unwrap();
        }
        assert!(cache.lookup(&key).unwrap().is_none());
        cache.store(&result, &blobs).unwrap();
        assert!(entry.is_file() && blob.is_file());
        assert!(cache.lookup(&key).unwrap().is_some());
        assert!(
            !warnings
                .lock()
                .unwrap()
                .iter()
                .any(|w| w.contains("could not write")),
            "{:?}",
            warnings.lock().unwrap()
        );
    }

    #[test]
    fn one_lookup_removes_every_corrupt_blob_and_the_next_store_rewrites_them() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(
            Some(Box::new(LocalStore::new(dir.path()))),
            Arc::new(|_| {}),
        );
        let key = TaskKey([8; 32]);
        let blobs = BTreeMap::from([
            ("log".to_string(), b"log".to_vec()),
            ("plan.json".to_string(), b"{}".to_vec()),
        ]);
        let result = make_result(key, "a", "plan", None, serde_json::json!({}), &blobs, 1);
        cache.store(&result, &blobs).unwrap();
        let store = LocalStore::new(dir.path());
        let paths: Vec<PathBuf> = result
            .outputs
            .values()
            .map(|r| store.blob_path(&r.digest))
            .collect();
        for p in &paths {
            std::fs::write(p, b"garbage").unwrap();
        }
        assert!(cache.lookup(&key).unwrap().is_none());
        for p in &paths {
            assert!(!p.exists(), "{} kept", p.display());
        }
        // Even when a corrupt copy is still there, a store replaces it.
        std::fs::create_dir_all(paths[1].parent().unwrap()).unwrap();
        std::fs::write(&paths[1], b"garbage").unwrap();
        cache.store(&result, &blobs).unwrap();
        assert_eq!(cache.lookup(&key).unwrap().unwrap().blobs, blobs);
    }

    #[test]
    fn a_blob_rewritten_since_it_was_found_corrupt_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path());
        let digest = BlobDigest::of(b"good");
        store.put_blob(&digest, b"good").unwrap();
        store.remove_blob(&digest).unwrap();
        assert!(store.blob_path(&digest).exists());
        std::fs::write(store.blob_path(&digest), b"bad").unwrap();
        store.remove_blob(&digest).unwrap();
        assert!(!store.blob_path(&digest).exists());
    }

    #[test]
    fn a_blob_read_stops_just_past_its_declared_size() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path());
        let digest = BlobDigest::of(b"abc");
        store.put_blob(&digest, &[b'x'; 10_000]).unwrap();
        let got = store
            .get_blob(&BlobRef { digest, size: 3 })
            .unwrap()
            .unwrap();
        assert_eq!(got.len(), 4);
    }

    #[test]
    fn prune_evicts_oldest_first() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path());
        let cache = Cache::new(
            Some(Box::new(LocalStore::new(dir.path()))),
            Arc::new(|_| {}),
        );
        for i in 0..4u8 {
            let blobs = BTreeMap::from([("log".to_string(), vec![i; 1000])]);
            let r = make_result(
                TaskKey([i; 32]),
                "a",
                "plan",
                None,
                serde_json::json!({}),
                &blobs,
                1,
            );
            cache.store(&r, &blobs).unwrap();
            let p = dir.path().join("ac").join(TaskKey([i; 32]).to_hex());
            let f = std::fs::File::options().write(true).open(p).unwrap();
            f.set_modified(
                SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1000 + i as u64),
            )
            .unwrap();
        }
        let before = store.stats();
        assert_eq!((before.results, before.blobs), (4, 4));
        let report = store.prune(before.bytes / 2 + 1);
        assert_eq!(report.removed_results, 2);
        assert_eq!(report.removed_blobs, 2);
        assert!(cache.lookup(&TaskKey([0; 32])).unwrap().is_none());
        assert!(cache.lookup(&TaskKey([3; 32])).unwrap().is_some());

        // A run writing at the same time has its files under temporary names beside their
        // places: neither counted nor pruned (its rename would fail, and its result be lost).
        let writing = [
            dir.path().join("ac").join(".strata-tmp-abc"),
            dir.path().join("cas").join("00").join(".strata-tmp-def"),
        ];
        for (i, w) in writing.iter().enumerate() {
            std::fs::create_dir_all(w.parent().unwrap()).unwrap();
            std::fs::write(w, vec![i as u8; 5000]).unwrap();
        }
        let stats = store.stats();
        assert_eq!((stats.results, stats.blobs), (2, 2));
        store.prune(0);
        assert!(writing.iter().all(|w| w.exists()));
    }
}
