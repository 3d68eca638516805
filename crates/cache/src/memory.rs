//! An in-memory store, for tests of the cache's logic.

use super::{BlobRef, Store, StoreError};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use strata_digest::{BlobDigest, TaskKey};

/// Clones share the same contents.
#[derive(Clone, Default)]
pub struct MemoryStore {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    results: Mutex<HashMap<TaskKey, Vec<u8>>>,
    blobs: Mutex<HashMap<BlobDigest, Vec<u8>>>,
    fail: AtomicBool,
    calls: AtomicUsize,
}

impl MemoryStore {
    /// Makes every call fail, as an unreachable server would.
    pub fn fail_all(&self, fail: bool) {
        self.inner.fail.store(fail, Ordering::SeqCst);
    }

    /// How many calls reached this store.
    pub fn calls(&self) -> usize {
        self.inner.calls.load(Ordering::SeqCst)
    }

    fn enter(&self) -> Result<(), StoreError> {
        self.inner.calls.fetch_add(1, Ordering::SeqCst);
        if self.inner.fail.load(Ordering::SeqCst) {
            return Err(StoreError::failed("connection refused"));
        }
        Ok(())
    }
}

impl Store for MemoryStore {
    fn describe(&self) -> String {
        "memory".into()
    }
    fn get_result(&self, key: &TaskKey) -> Result<Option<Vec<u8>>, StoreError> {
        self.enter()?;
        Ok(self.inner.results.lock().unwrap().get(key).cloned())
    }
    fn put_result(&self, key: &TaskKey, bytes: &[u8]) -> Result<(), StoreError> {
        self.enter()?;
        self.inner
            .results
            .lock()
            .unwrap()
            .insert(*key, bytes.to_vec());
        Ok(())
    }
    fn get_blob(&self, blob: &BlobRef) -> Result<Option<Vec<u8>>, StoreError> {
        self.enter()?;
        Ok(self.inner.blobs.lock().unwrap().get(&blob.digest).cloned())
    }
    fn put_blob(&self, digest: &BlobDigest, bytes: &[u8]) -> Result<(), StoreError> {
        self.enter()?;
        self.inner
            .blobs
            .lock()
            .unwrap()
            .insert(*digest, bytes.to_vec());
        Ok(())
    }
    fn remove_result(&self, key: &TaskKey) -> Result<(), StoreError> {
        self.inner.results.lock().unwrap().remove(key);
        Ok(())
    }
    fn remove_blob(&self, digest: &BlobDigest) -> Result<(), StoreError> {
        self.inner.blobs.lock().unwrap().remove(digest);
        Ok(())
    }
}
