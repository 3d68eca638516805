//! The action cache: `task key -> result`, whose outputs are blobs addressed by SHA-256.
//!
//! Invariants:
//! 1. A result is only ever returned after every blob it names has been read and its SHA-256
//!    verified, and the result itself matched the check stored with it. A missing or
//!    mismatching blob, or a result that does not parse, fails its check or names another
//!    key, is a miss, never a result.
//! 2. A corrupt local entry is repaired in the run that finds it: the result and every
//!    corrupt blob it names are deleted with a warning, the task runs again and its entry is
//!    rewritten. No write trusts bytes already stored: a local blob is always rewritten, a
//!    remote one always uploaded, so one run leaves a valid cache.
//! 3. Blobs are written before the result that names them, locally and remotely, so a reader
//!    never sees a result whose blobs are not there yet (barring later eviction, which (1)
//!    turns into a miss).
//! 4. Local writes are atomic (temp file + rename): a crash leaves the old state or the new.
//! 5. Remote faults never fail a run unless `require_remote` is set. Each failing request
//!    counts once; the first fault is reported; after [`REMOTE_FAILURE_LIMIT`] faults the
//!    remote is not read again during the run, and after as many failed requests (not
//!    damaged answers) it is not written either. A remote that answers with damaged
//!    entries keeps receiving uploads, which replace them.
//! 6. The remote is not asked before a task misses locally (unless it is required, when it
//!    is checked before anything runs), so a run the local cache serves never waits on it.
//! 7. Remote hits are written back to the local cache.
//! 8. Remote reads are bounded: a blob by the size its result declares, a result by a
//!    maximum ([`HttpOptions`]); a longer body is a fault.
//! 9. A remote URL is shown only through [`redact_url`]: credentials never reach a message.
//! 10. A slow remote is a fault of its own kind: an exchange (a lookup, or an upload) that
//!     takes longer than [`SLOW_EXCHANGE`] while moving less than [`SLOW_RATE`] bytes a
//!     second is reported the first time, and after [`REMOTE_FAILURE_LIMIT`] of them the
//!     remote is not asked again during the run (unless it is required: then it is only
//!     reported, since a required remote must receive every result).

mod http;
mod local;
mod memory;
mod url;

pub use http::{format_size, parse_size, HttpOptions, HttpStore, MAX_BLOB_ENV, MAX_RESULT_ENV};
pub use local::{LocalStore, PruneReport, Stats};
pub use memory::MemoryStore;
pub use url::{redact_url, Redactor};

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use strata_digest::{BlobDigest, TaskKey};

/// Bump when the meaning of a stored result changes; older entries are then misses.
/// Version 2 stores a check with every result.
pub const RESULT_VERSION: u32 = 2;
/// Remote faults after which the remote cache is left alone for the rest of the run.
pub const REMOTE_FAILURE_LIMIT: u32 = 3;

/// How long an exchange with the remote may take before it may count as slow.
pub const SLOW_EXCHANGE: std::time::Duration = std::time::Duration::from_secs(2);

/// The rate (bytes a second) below which an exchange longer than [`SLOW_EXCHANGE`] is slow:
/// a large blob may take a while, a lookup of a small result should not.
pub const SLOW_RATE: u64 = 1 << 20;

/// A store's fault: a request that failed (unreachable, timed out, an unexpected status, an
/// I/O error), or an answer that cannot be an entry (a body longer than its limit).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct StoreError {
    pub message: String,
    /// The store answered, but with something that cannot be an entry; otherwise the
    /// request failed.
    pub damaged: bool,
}

impl StoreError {
    /// A request that failed.
    pub fn failed(message: impl Into<String>) -> StoreError {
        StoreError {
            message: message.into(),
            damaged: false,
        }
    }

    /// An answer that cannot be an entry.
    pub fn damaged(message: impl Into<String>) -> StoreError {
        StoreError {
            message: message.into(),
            damaged: true,
        }
    }
}

/// One backend: a directory, an HTTP server, memory.
pub trait Store: Send + Sync {
    /// How messages name the store (a URL without its credentials).
    fn describe(&self) -> String;
    fn get_result(&self, key: &TaskKey) -> Result<Option<Vec<u8>>, StoreError>;
    fn put_result(&self, key: &TaskKey, bytes: &[u8]) -> Result<(), StoreError>;
    /// The blob `blob` names. `blob.size` is what its result declares: a store reads at
    /// most one byte more (a longer blob is corrupt, however long it is).
    fn get_blob(&self, blob: &BlobRef) -> Result<Option<Vec<u8>>, StoreError>;
    /// Stores `bytes` under `digest`, replacing whatever is stored there.
    fn put_blob(&self, digest: &BlobDigest, bytes: &[u8]) -> Result<(), StoreError>;
    /// Removes an entry found to be corrupt (local stores; others may ignore it).
    fn remove_result(&self, _key: &TaskKey) -> Result<(), StoreError> {
        Ok(())
    }
    /// Removes a blob found to be corrupt, unless it was rewritten meanwhile.
    fn remove_blob(&self, _digest: &BlobDigest) -> Result<(), StoreError> {
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobRef {
    pub digest: BlobDigest,
    pub size: u64,
}

/// What a task produced, as cached.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionResult {
    pub version: u32,
    /// The key this result is stored under; checked on read.
    pub key: TaskKey,
    pub label: String,
    pub action: String,
    pub env: Option<String>,
    /// Action-specific summary (plan counts, render kinds, ...).
    pub summary: serde_json::Value,
    /// Named outputs: `log`, `plan.json`, `manifests.yaml`, ...
    pub outputs: BTreeMap<String, BlobRef>,
    pub duration_ms: u64,
}

/// A verified hit.
#[derive(Debug, Clone)]
pub struct Hit {
    pub result: ActionResult,
    pub blobs: BTreeMap<String, Vec<u8>>,
    pub from_remote: bool,
}

/// Where warnings go (the CLI prints them on stderr).
pub type WarnSink = Arc<dyn Fn(String) + Send + Sync>;

struct Remote {
    store: Box<dyn Store>,
    read_only: bool,
    /// Faults of any kind: failed requests and damaged answers.
    faults: AtomicU32,
    /// Failed requests only (refused, timed out, an HTTP error, a body over its limit).
    failed_requests: AtomicU32,
    /// Slow exchanges.
    slow: AtomicU32,
    /// Not read again during this run.
    reads_stopped: AtomicBool,
    /// Not asked again at all during this run.
    stopped: AtomicBool,
}

/// The cache a run uses: local first, then the remote; hits from the remote are written
/// back locally.
pub struct Cache {
    local: Option<Box<dyn Store>>,
    remote: Option<Remote>,
    require_remote: bool,
    warn: WarnSink,
    /// [`SLOW_EXCHANGE`] (shorter in tests).
    slow_after: std::time::Duration,
}

/// A remote fault when the run requires the remote cache.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the remote cache is required (--require-remote-cache) but failed: {0}")]
pub struct RemoteRequired(pub String);

impl Cache {
    pub fn new(local: Option<Box<dyn Store>>, warn: WarnSink) -> Cache {
        Cache {
            local,
            remote: None,
            require_remote: false,
            warn,
            slow_after: SLOW_EXCHANGE,
        }
    }

    pub fn with_remote(mut self, store: Box<dyn Store>, read_only: bool, required: bool) -> Cache {
        self.remote = Some(Remote {
            store,
            read_only,
            faults: AtomicU32::new(0),
            failed_requests: AtomicU32::new(0),
            slow: AtomicU32::new(0),
            reads_stopped: AtomicBool::new(false),
            stopped: AtomicBool::new(false),
        });
        self.require_remote = required;
        self
    }

    /// A cache that stores nothing (`--no-cache`).
    pub fn disabled(warn: WarnSink) -> Cache {
        Cache::new(None, warn)
    }

    /// Counts one fault (one failing request, or one damaged answer), reports the first,
    /// and stops asking the remote once there were [`REMOTE_FAILURE_LIMIT`]. With a
    /// required remote, any fault is an error instead.
    fn remote_fault(&self, remote: &Remote, fault: Fault) -> Result<(), RemoteRequired> {
        let (what, failed_request) = match fault {
            Fault::Unavailable(what) => (what, true),
            Fault::Corrupt(what) => (what, false),
        };
        if self.require_remote {
            return Err(RemoteRequired(what));
        }
        let url = remote.store.describe();
        let n = remote.faults.fetch_add(1, Ordering::SeqCst) + 1;
        if n == 1 {
            (self.warn)(format!(
                "warning: remote cache {url}: {what}; continuing with the local cache"
            ));
        }
        if failed_request {
            let failed = remote.failed_requests.fetch_add(1, Ordering::SeqCst) + 1;
            if failed >= REMOTE_FAILURE_LIMIT && !remote.stopped.swap(true, Ordering::SeqCst) {
                remote.reads_stopped.store(true, Ordering::SeqCst);
                (self.warn)(format!(
                    "warning: remote cache {url} failed {failed} times; not asking it again during this run"
                ));
                return Ok(());
            }
        }
        if n >= REMOTE_FAILURE_LIMIT
            && !remote.stopped.load(Ordering::SeqCst)
            && !remote.reads_stopped.swap(true, Ordering::SeqCst)
        {
            (self.warn)(format!(
                "warning: remote cache {url}: {n} faults; not reading from it again during this run (tasks that run still upload their results, replacing damaged entries)"
            ));
        }
        Ok(())
    }

    /// Counts an exchange with the remote that began at `began` and moved `bytes` as slow
    /// when it was (see [`SLOW_EXCHANGE`]).
    fn timed(&self, remote: &Remote, began: std::time::Instant, bytes: usize) {
        let took = began.elapsed();
        if took <= self.slow_after || bytes as f64 / took.as_secs_f64() >= SLOW_RATE as f64 {
            return;
        }
        let url = remote.store.describe();
        let n = remote.slow.fetch_add(1, Ordering::SeqCst) + 1;
        if n == 1 {
            (self.warn)(format!(
                "warning: remote cache {url} took {:.1} s to move {bytes} bytes; it is slower than running many tasks",
                took.as_secs_f64()
            ));
        }
        if n >= REMOTE_FAILURE_LIMIT
            && !self.require_remote
            && !remote.stopped.swap(true, Ordering::SeqCst)
        {
            remote.reads_stopped.store(true, Ordering::SeqCst);
            (self.warn)(format!(
                "warning: remote cache {url} was slow {n} times; not asking it again during this run"
            ));
        }
    }

    fn remote_for_reads(&self) -> Option<&Remote> {
        self.remote
            .as_ref()
            .filter(|r| !r.reads_stopped.load(Ordering::SeqCst))
    }

    fn remote_for_writes(&self) -> Option<&Remote> {
        self.remote
            .as_ref()
            .filter(|r| !r.read_only && !r.stopped.load(Ordering::SeqCst))
    }

    /// With a required remote (`--require-remote-cache`), asks it once before anything
    /// runs, so an outage stops the run up front. Otherwise does nothing: the remote is
    /// first asked when a task misses locally, so a run the local cache serves never waits
    /// on it, and only real requests count towards [`REMOTE_FAILURE_LIMIT`].
    pub fn check_required_remote(&self) -> Result<(), RemoteRequired> {
        let Some(remote) = self.remote.as_ref().filter(|_| self.require_remote) else {
            return Ok(());
        };
        match remote.store.get_result(&TaskKey([0; 32])) {
            Ok(_) => Ok(()),
            Err(e) => self.remote_fault(remote, Fault::from(e)),
        }
    }

    /// A verified result for `key`, or `None`.
    pub fn lookup(&self, key: &TaskKey) -> Result<Option<Hit>, RemoteRequired> {
        if let Some(local) = &self.local {
            match read_entry(local.as_ref(), key, Repair::Remove) {
                Ok(Some(hit)) => {
                    self.confirm_required(key, &hit)?;
                    return Ok(Some(hit));
                }
                Ok(None) => {}
                Err(Fault::Corrupt(why)) => {
                    (self.warn)(format!(
                        "warning: local cache entry {} is corrupt ({why}); removed, the task runs again",
                        short(key)
                    ));
                    let _ = local.remove_result(key);
                }
                Err(Fault::Unavailable(why)) => {
                    (self.warn)(format!("warning: local cache unreadable: {why}"))
                }
            }
        }
        let Some(remote) = self.remote_for_reads() else {
            return Ok(None);
        };
        let began = std::time::Instant::now();
        let read = read_entry(remote.store.as_ref(), key, Repair::Report);
        let bytes = match &read {
            Ok(Some(hit)) => hit.blobs.values().map(Vec::len).sum(),
            _ => 0,
        };
        if read.is_ok() {
            self.timed(remote, began, bytes);
        }
        match read {
            Ok(Some(mut hit)) => {
                hit.from_remote = true;
                if let Some(local) = &self.local {
                    // Write-back: blobs first, then the result.
                    let ok = hit
                        .result
                        .outputs
                        .iter()
                        .all(|(name, r)| local.put_blob(&r.digest, &hit.blobs[name]).is_ok())
                        && local.put_result(key, &encode_result(&hit.result)).is_ok();
                    if !ok {
                        (self.warn)(
                            "warning: could not write a remote hit to the local cache".into(),
                        );
                    }
                }
                Ok(Some(hit))
            }
            Ok(None) => Ok(None),
            Err(Fault::Corrupt(why)) => {
                self.remote_fault(
                    remote,
                    Fault::Corrupt(format!("entry {} rejected: {why}", short(key))),
                )?;
                Ok(None)
            }
            Err(fault) => {
                self.remote_fault(remote, fault)?;
                Ok(None)
            }
        }
    }

    /// With a required remote that takes writes, a local hit counts only once the remote
    /// holds it too: one it lacks (a read-only job filled the local cache, or the remote lost
    /// it) is uploaded from the local copy, so that every result a required run passes with
    /// is on the remote.
    fn confirm_required(&self, key: &TaskKey, hit: &Hit) -> Result<(), RemoteRequired> {
        if !self.require_remote {
            return Ok(());
        }
        let Some(remote) = self.remote_for_writes() else {
            return Ok(());
        };
        match remote.store.get_result(key) {
            Ok(Some(_)) => Ok(()),
            Ok(None) => self.upload(&hit.result, &hit.blobs, &encode_result(&hit.result)),
            Err(e) => self.remote_fault(remote, Fault::from(e)),
        }
    }

    /// Stores a successful result and its blobs: locally, then remotely unless read-only.
    pub fn store(
        &self,
        result: &ActionResult,
        blobs: &BTreeMap<String, Vec<u8>>,
    ) -> Result<(), RemoteRequired> {
        let body = encode_result(result);
        // When the remote is required, an entry it did not take is not kept locally either:
        // a later run in the same checkout would be served it and never upload it.
        if self.require_remote {
            self.upload(result, blobs, &body)?;
            self.store_locally(result, blobs, &body);
            return Ok(());
        }
        self.store_locally(result, blobs, &body);
        self.upload(result, blobs, &body)
    }

    fn store_locally(&self, result: &ActionResult, blobs: &BTreeMap<String, Vec<u8>>, body: &[u8]) {
        let Some(local) = &self.local else {
            return;
        };
        let written = result
            .outputs
            .iter()
            .try_for_each(|(name, r)| local.put_blob(&r.digest, &blobs[name]))
            .and_then(|()| local.put_result(&result.key, body));
        if let Err(e) = written {
            (self.warn)(format!(
                "warning: could not write task {} to the local cache: {e}",
                short(&result.key)
            ));
        }
    }

    fn upload(
        &self,
        result: &ActionResult,
        blobs: &BTreeMap<String, Vec<u8>>,
        body: &[u8],
    ) -> Result<(), RemoteRequired> {
        let Some(remote) = self.remote_for_writes() else {
            return Ok(());
        };
        // The first failing upload ends this entry's: one failed request, one fault.
        let began = std::time::Instant::now();
        for (name, r) in &result.outputs {
            if let Err(e) = remote.store.put_blob(&r.digest, &blobs[name]) {
                return self.remote_fault(remote, Fault::from(e));
            }
        }
        if let Err(e) = remote.store.put_result(&result.key, body) {
            return self.remote_fault(remote, Fault::from(e));
        }
        let bytes = blobs.values().map(Vec::len).sum::<usize>() + body.len();
        self.timed(remote, began, bytes);
        Ok(())
    }
}

enum Fault {
    /// The store answered, but with something that is not a valid entry.
    Corrupt(String),
    /// The request failed.
    Unavailable(String),
}

impl From<StoreError> for Fault {
    fn from(e: StoreError) -> Fault {
        if e.damaged {
            Fault::Corrupt(e.message)
        } else {
            Fault::Unavailable(e.message)
        }
    }
}

/// What [`read_entry`] does with corrupt blobs it finds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Repair {
    /// Verify every blob and remove each corrupt one (the local cache).
    Remove,
    /// Stop at the first fault (a remote: it cannot delete, and every request counts;
    /// the task's upload replaces the damaged entry).
    Report,
}

/// Reads and fully verifies one entry from one store.
fn read_entry(store: &dyn Store, key: &TaskKey, repair: Repair) -> Result<Option<Hit>, Fault> {
    let Some(bytes) = store.get_result(key).map_err(Fault::from)? else {
        return Ok(None);
    };
    let Some(result) = decode_result(&bytes).map_err(|e| Fault::Corrupt(e.to_string()))? else {
        return Ok(None);
    };
    if result.key != *key {
        return Err(Fault::Corrupt("result was stored under another key".into()));
    }
    let mut blobs = BTreeMap::new();
    let mut first_fault = None;
    for (name, r) in &result.outputs {
        let fault = match store.get_blob(r) {
            // A body the store cut off (longer than declared) is the wrong bytes too.
            Err(e) if e.damaged => Fault::Corrupt(format!(
                "blob `{name}` does not match its digest ({})",
                e.message
            )),
            Err(e) => Fault::from(e),
            Ok(None) => Fault::Corrupt(format!("blob `{name}` is missing")),
            Ok(Some(content))
                if BlobDigest::of(&content) == r.digest && content.len() as u64 == r.size =>
            {
                blobs.insert(name.clone(), content);
                continue;
            }
            Ok(Some(_)) => {
                if repair == Repair::Remove {
                    let _ = store.remove_blob(&r.digest);
                }
                Fault::Corrupt(format!("blob `{name}` does not match its digest"))
            }
        };
        if repair == Repair::Report {
            return Err(fault);
        }
        first_fault.get_or_insert(fault);
    }
    if let Some(fault) = first_fault {
        return Err(fault);
    }
    Ok(Some(Hit {
        result,
        blobs,
        from_remote: false,
    }))
}

fn short(key: &TaskKey) -> String {
    key.to_hex()[..12].to_string()
}

/// Why stored bytes are not a result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("result does not parse: {0}")]
    Parse(String),
    #[error("result has no check")]
    Unchecked,
    #[error("result does not match its check")]
    Mismatch,
}

/// A result as stored: its JSON with a `check` field put first, the SHA-256 of the JSON
/// that follows it as written (`{` and the result's own fields). A changed byte in the
/// summary (a count, an `ok`) is then as much a fault as a changed byte in a blob. The check
/// covers the stored bytes, not a serialisation of what they parse to, so no value that
/// parses back inexactly (a float) can fail it.
pub fn encode_result(result: &ActionResult) -> Vec<u8> {
    let body = serde_json::to_vec(result).expect("results serialize");
    debug_assert!(body.starts_with(b"{\"version\":"));
    let mut stored = Vec::with_capacity(body.len() + CHECK_PREFIX.len() + 66);
    stored.extend_from_slice(CHECK_PREFIX);
    stored.extend_from_slice(BlobDigest::of(&body).to_hex().as_bytes());
    stored.extend_from_slice(b"\",");
    stored.extend_from_slice(&body[1..]);
    stored
}

const CHECK_PREFIX: &[u8] = b"{\"check\":\"";

/// The result in stored bytes: `None` for an entry of another [`RESULT_VERSION`] (a miss,
/// not a fault), an error for bytes that are no result or fail their check.
pub fn decode_result(bytes: &[u8]) -> Result<Option<ActionResult>, DecodeError> {
    let Some(checked) = bytes.strip_prefix(CHECK_PREFIX) else {
        // Entries of version 1 had no check: a miss. Anything else is damage.
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| DecodeError::Parse(e.to_string()))?;
        return match value.get("version").and_then(|v| v.as_u64()) {
            Some(v) if v < u64::from(RESULT_VERSION) => Ok(None),
            _ => Err(DecodeError::Unchecked),
        };
    };
    if checked.len() < 66 || &checked[64..66] != b"\"," {
        return Err(DecodeError::Unchecked);
    }
    let check = &checked[..64];
    let mut body = Vec::with_capacity(checked.len() - 65);
    body.push(b'{');
    body.extend_from_slice(&checked[66..]);
    if BlobDigest::of(&body).to_hex().as_bytes() != check {
        return Err(DecodeError::Mismatch);
    }
    let result: ActionResult =
        serde_json::from_slice(&body).map_err(|e| DecodeError::Parse(e.to_string()))?;
    if result.version != RESULT_VERSION {
        return Ok(None);
    }
    Ok(Some(result))
}

/// Builds a result from named outputs, computing their digests.
pub fn make_result(
    key: TaskKey,
    label: &str,
    action: &str,
    env: Option<&str>,
    summary: serde_json::Value,
    outputs: &BTreeMap<String, Vec<u8>>,
    duration_ms: u64,
) -> ActionResult {
    ActionResult {
        version: RESULT_VERSION,
        key,
        label: label.to_string(),
        action: action.to_string(),
        env: env.map(str::to_string),
        summary,
        outputs: outputs
            .iter()
            .map(|(n, b)| {
                (
                    n.clone(),
                    BlobRef {
                        digest: BlobDigest::of(b),
                        size: b.len() as u64,
                    },
                )
            })
            .collect(),
        duration_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn sink() -> (WarnSink, Arc<Mutex<Vec<String>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        (Arc::new(move |w| s.lock().unwrap().push(w)), seen)
    }

    fn sample(key: TaskKey) -> (ActionResult, BTreeMap<String, Vec<u8>>) {
        let blobs = BTreeMap::from([("log".to_string(), b"hello".to_vec())]);
        (
            make_result(
                key,
                "stacks/a",
                "plan",
                Some("dev"),
                serde_json::json!({"add": 1}),
                &blobs,
                5,
            ),
            blobs,
        )
    }

    /// A store answering after a pause.
    struct Slow(MemoryStore, std::time::Duration);

    impl Store for Slow {
        fn describe(&self) -> String {
            "slow".into()
        }
        fn get_result(&self, key: &TaskKey) -> Result<Option<Vec<u8>>, StoreError> {
            std::thread::sleep(self.1);
            self.0.get_result(key)
        }
        fn put_result(&self, key: &TaskKey, bytes: &[u8]) -> Result<(), StoreError> {
            std::thread::sleep(self.1);
            self.0.put_result(key, bytes)
        }
        fn get_blob(&self, blob: &BlobRef) -> Result<Option<Vec<u8>>, StoreError> {
            self.0.get_blob(blob)
        }
        fn put_blob(&self, digest: &BlobDigest, bytes: &[u8]) -> Result<(), StoreError> {
            self.0.put_blob(digest, bytes)
        }
    }

    #[test]
    fn a_slow_remote_is_reported_and_left_after_three_slow_exchanges() {
        let pause = std::time::Duration::from_millis(30);
        for required in [false, true] {
            let (warn, seen) = sink();
            let remote = MemoryStore::default();
            let view = remote.clone();
            let mut cache =
                Cache::new(None, warn).with_remote(Box::new(Slow(remote, pause)), false, required);
            cache.slow_after = pause / 3;
            for k in 0..5u8 {
                assert!(cache.lookup(&TaskKey([k; 32])).unwrap().is_none());
            }
            let (result, blobs) = sample(TaskKey([9; 32]));
            cache.store(&result, &blobs).unwrap();
            let seen = seen.lock().unwrap();
            assert!(seen[0].contains("remote cache slow took"), "{seen:?}");
            if required {
                // Still asked: a required remote receives every result.
                assert_eq!(seen.len(), 1, "{seen:?}");
                assert!(view.get_result(&result.key).unwrap().is_some());
            } else {
                assert_eq!(seen.len(), 2, "{seen:?}");
                assert!(seen[1].contains("was slow 3 times"), "{seen:?}");
                assert!(view.get_result(&result.key).unwrap().is_none());
            }
        }
    }

    /// A store that takes nothing, as a full disk.
    struct Full;

    impl Store for Full {
        fn describe(&self) -> String {
            "full".into()
        }
        fn get_result(&self, _: &TaskKey) -> Result<Option<Vec<u8>>, StoreError> {
            Ok(None)
        }
        fn put_result(&self, _: &TaskKey, _: &[u8]) -> Result<(), StoreError> {
            Err(StoreError::failed("No space left on device (os error 28)"))
        }
        fn get_blob(&self, _: &BlobRef) -> Result<Option<Vec<u8>>, StoreError> {
            Ok(None)
        }
        fn put_blob(&self, _: &BlobDigest, _: &[u8]) -> Result<(), StoreError> {
            Err(StoreError::failed("No space left on device (os error 28)"))
        }
    }

    #[test]
    fn a_local_cache_that_takes_nothing_says_why() {
        let (warn, seen) = sink();
        let cache = Cache::new(Some(Box::new(Full)), warn);
        let (result, blobs) = sample(TaskKey([3; 32]));
        cache.store(&result, &blobs).unwrap();
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 1, "{seen:?}");
        assert!(seen[0].contains("No space left on device"), "{seen:?}");
    }

    #[test]
    fn round_trip_and_remote_write_back() {
        let (warn, seen) = sink();
        let remote = MemoryStore::default();
        let key = TaskKey([7; 32]);
        let (result, blobs) = sample(key);
        remote
            .put_blob(&result.outputs["log"].digest, b"hello")
            .unwrap();
        remote.put_result(&key, &encode_result(&result)).unwrap();
        let local = MemoryStore::default();
        let local_view = local.clone();
        let cache =
            Cache::new(Some(Box::new(local)), warn).with_remote(Box::new(remote), false, false);
        let hit = cache.lookup(&key).unwrap().unwrap();
        assert!(hit.from_remote);
        assert_eq!(hit.blobs, blobs);
        assert!(
            local_view.get_result(&key).unwrap().is_some(),
            "written back"
        );
        assert!(seen.lock().unwrap().is_empty());
    }

    #[test]
    fn a_changed_byte_in_a_stored_result_is_a_fault_not_a_result() {
        let key = TaskKey([4; 32]);
        let (result, blobs) = sample(key);
        let stored = encode_result(&result);
        assert_eq!(decode_result(&stored), Ok(Some(result.clone())));
        // The file stays JSON with the result's fields.
        let json: serde_json::Value = serde_json::from_slice(&stored).unwrap();
        assert_eq!(json["summary"]["add"], 1);
        // `"add":1` becomes `"add":3`: one bit.
        let at = stored.windows(7).position(|w| w == b"\"add\":1").unwrap() + 6;
        let mut flipped = stored.clone();
        flipped[at] ^= 0b10;
        assert_eq!(flipped[at], b'3');
        assert_eq!(decode_result(&flipped), Err(DecodeError::Mismatch));
        // The check itself damaged.
        let mut flipped = stored.clone();
        flipped[12] ^= 1;
        assert_eq!(decode_result(&flipped), Err(DecodeError::Mismatch));
        // The check removed: the bytes a result without one would be.
        let plain = serde_json::to_vec(&result).unwrap();
        assert_eq!(decode_result(&plain), Err(DecodeError::Unchecked));
        // An entry of version 1 (no check then) is a miss, not a fault.
        let mut old = result.clone();
        old.version = 1;
        assert_eq!(decode_result(&serde_json::to_vec(&old).unwrap()), Ok(None));

        // Through the cache: the local entry is removed with a warning, the task runs again.
        let (warn, seen) = sink();
        let local = MemoryStore::default();
        let view = local.clone();
        let cache = Cache::new(Some(Box::new(local)), warn);
        cache.store(&result, &blobs).unwrap();
        let mut flipped = view.get_result(&key).unwrap().unwrap();
        flipped[at] ^= 0b10;
        view.put_result(&key, &flipped).unwrap();
        assert!(cache.lookup(&key).unwrap().is_none());
        assert!(view.get_result(&key).unwrap().is_none(), "entry removed");
        let seen = seen.lock().unwrap();
        assert!(seen[0].contains("does not match its check"), "{seen:?}");
    }

    #[test]
    fn corrupt_local_blob_is_a_miss_and_repaired() {
        let (warn, seen) = sink();
        let local = MemoryStore::default();
        let view = local.clone();
        let cache = Cache::new(Some(Box::new(local)), warn);
        let key = TaskKey([1; 32]);
        let (result, blobs) = sample(key);
        cache.store(&result, &blobs).unwrap();
        view.put_blob(&result.outputs["log"].digest, b"HELLO")
            .unwrap();
        assert!(cache.lookup(&key).unwrap().is_none());
        assert!(view.get_result(&key).unwrap().is_none(), "entry removed");
        assert!(seen.lock().unwrap()[0].contains("corrupt"));
    }

    #[test]
    fn wrong_key_and_garbage_results_are_rejected() {
        let (warn, _) = sink();
        let remote = MemoryStore::default();
        let key = TaskKey([2; 32]);
        let (mut result, _) = sample(TaskKey([3; 32]));
        result.outputs.clear();
        remote.put_result(&key, &encode_result(&result)).unwrap();
        let cache =
            Cache::new(None, warn.clone()).with_remote(Box::new(remote.clone()), false, false);
        assert!(cache.lookup(&key).unwrap().is_none());
        remote.put_result(&key, b"<html>502</html>").unwrap();
        assert!(cache.lookup(&key).unwrap().is_none());
        let strict = Cache::new(None, warn).with_remote(Box::new(remote), false, true);
        assert!(strict.lookup(&key).is_err());
    }

    #[test]
    fn the_remote_is_not_asked_before_a_local_miss_unless_required() {
        let (warn, seen) = sink();
        let local = MemoryStore::default();
        let remote = MemoryStore::default();
        let calls = remote.clone();
        let cache = Cache::new(Some(Box::new(local.clone())), warn.clone()).with_remote(
            Box::new(remote.clone()),
            false,
            false,
        );
        let key = TaskKey([4; 32]);
        let (result, blobs) = sample(key);
        Cache::new(Some(Box::new(local.clone())), warn.clone())
            .store(&result, &blobs)
            .unwrap();
        cache.check_required_remote().unwrap();
        assert!(cache.lookup(&key).unwrap().is_some());
        assert_eq!(calls.calls(), 0, "a local hit does not ask the remote");
        assert!(cache.lookup(&TaskKey([5; 32])).unwrap().is_none());
        assert_eq!(calls.calls(), 1, "a local miss asks it once");
        // A required remote is checked up front (a miss is fine).
        let required = Cache::new(Some(Box::new(local)), warn).with_remote(
            Box::new(remote.clone()),
            false,
            true,
        );
        required.check_required_remote().unwrap();
        assert_eq!(calls.calls(), 2);
        remote.fail_all(true);
        assert!(required.check_required_remote().is_err());
        assert!(seen.lock().unwrap().is_empty());
    }

    /// A local hit a required remote lacks (a read-only job filled the local cache) is
    /// uploaded before it counts; one the remote holds costs one request; one the remote
    /// cannot take fails the lookup.
    #[test]
    fn a_required_remote_receives_the_local_hits_it_lacks() {
        let (warn, _) = sink();
        let local = MemoryStore::default();
        let remote = MemoryStore::default();
        let key = TaskKey([6; 32]);
        let (result, blobs) = sample(key);
        Cache::new(Some(Box::new(local.clone())), warn.clone())
            .store(&result, &blobs)
            .unwrap();
        let required = Cache::new(Some(Box::new(local.clone())), warn.clone()).with_remote(
            Box::new(remote.clone()),
            false,
            true,
        );
        assert!(required.lookup(&key).unwrap().is_some());
        assert_eq!(
            remote.get_result(&key).unwrap(),
            local.get_result(&key).unwrap()
        );
        let fresh =
            Cache::new(None, warn.clone()).with_remote(Box::new(remote.clone()), false, false);
        assert!(fresh.lookup(&key).unwrap().is_some(), "the blobs went too");
        let before = remote.calls();
        assert!(required.lookup(&key).unwrap().is_some());
        assert_eq!(
            remote.calls() - before,
            1,
            "one request when the remote holds it"
        );
        remote.fail_all(true);
        assert!(required.lookup(&key).is_err());
    }

    #[test]
    fn damaged_remote_entries_stop_reads_but_uploads_replace_them() {
        let (warn, seen) = sink();
        let remote = MemoryStore::default();
        let entries: Vec<_> = (10..16u8)
            .map(|i| {
                let blobs = BTreeMap::from([("log".to_string(), vec![i; 10])]);
                let r = make_result(
                    TaskKey([i; 32]),
                    "a",
                    "plan",
                    None,
                    serde_json::json!({}),
                    &blobs,
                    1,
                );
                remote
                    .put_blob(&r.outputs["log"].digest, b"damaged")
                    .unwrap();
                remote.put_result(&r.key, &encode_result(&r)).unwrap();
                (r, blobs)
            })
            .collect();
        let cache =
            Cache::new(None, warn.clone()).with_remote(Box::new(remote.clone()), false, false);
        let before = remote.calls();
        for (r, _) in &entries {
            assert!(cache.lookup(&r.key).unwrap().is_none());
        }
        // Two requests (result, blob) for each of the first three entries, then no reads.
        assert_eq!(remote.calls() - before, 2 * REMOTE_FAILURE_LIMIT as usize);
        let warnings = seen.lock().unwrap().clone();
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(
            warnings[1].contains("not reading from it again"),
            "{warnings:?}"
        );
        // The tasks ran: their uploads still go out and replace the damaged blobs.
        for (r, blobs) in &entries {
            cache.store(r, blobs).unwrap();
        }
        let fresh = Cache::new(None, warn).with_remote(Box::new(remote), false, false);
        for (r, blobs) in &entries {
            assert_eq!(&fresh.lookup(&r.key).unwrap().unwrap().blobs, blobs);
        }
    }

    #[test]
    fn remote_is_left_alone_after_repeated_failures() {
        let (warn, seen) = sink();
        let remote = MemoryStore::default();
        remote.fail_all(true);
        let calls = remote.clone();
        let cache = Cache::new(None, warn).with_remote(Box::new(remote), false, false);
        for i in 0..10 {
            assert!(cache.lookup(&TaskKey([i; 32])).unwrap().is_none());
        }
        assert_eq!(calls.calls(), REMOTE_FAILURE_LIMIT as usize);
        assert_eq!(seen.lock().unwrap().len(), 2, "{:?}", seen.lock().unwrap());
    }
}
