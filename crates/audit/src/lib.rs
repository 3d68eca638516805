//! The audit trail: per environment, an append-only ledger of everything that changed it.
//!
//! `environments/<env>/audit.jsonl` holds one JSON event per line: an apply, a destroy, a
//! promotion (applied, refused, rolled back, interrupted), a rollback or a state push, with
//! who ran it, when, from which commit, the targets with their hashes and results, and what
//! the run was based on (a promotion's plan digest and approvals). Each event carries the
//! hash of the one before it and its own (BLAKE3 over its content), so an event edited,
//! removed, reordered or inserted by hand breaks the chain at that line: [`check`] finds
//! it. The hash is no signature: whoever rewrites an event and recomputes every later hash,
//! or cuts off the newest events, leaves a chain that holds. The ledger is committed with
//! the release lock it explains, so git history keeps every version of it (protected
//! branches keep that history from being rewritten), and comparing with an earlier
//! version (`strata audit verify --against REF`) finds what the chain alone cannot.
//!
//! In an environment whose env.toml says `[audit] signed = true`, each event is also signed
//! with an SSH key that `environments/allowed_signers` lists: `signer` names the key's
//! principal, and `signature` signs [`signed_message`] (the event's environment, number and
//! hash), so an event rewritten with its hashes recomputed no longer verifies.
//!
//! No value of a variable, output or secret is ever written: labels, hashes, commits,
//! identities, statuses and reasons only (reasons come from redacted task results).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The format version this strata writes.
pub const EVENT_VERSION: u32 = 1;
/// `prev` of the first event.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A file that could not be written (a full disk, no permission).
    #[error("{path}: {source}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

fn write(path: &Path, source: std::io::Error) -> Error {
    Error::Write {
        path: path.display().to_string(),
        source,
    }
}

fn io(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.display().to_string(),
        source,
    }
}

/// One line of the ledger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    pub version: u32,
    /// 1 for the first event of the environment, then one more each time.
    pub seq: u64,
    /// When it ended, UTC (`2026-12-04T10:20:29Z`).
    pub time: String,
    /// Who ran it (see docs/promotion.md, "Who you are").
    pub actor: String,
    /// `apply`, `destroy`, `promote`, `rollback`, `reconcile`, `state-push` or
    /// `state-unlock`.
    pub action: String,
    pub env: String,
    /// The commit checked out when it ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head: Option<String>,
    /// `succeeded`, `failed`, `interrupted`, `refused`, `rolled-back` or `rollback-failed`.
    pub outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default)]
    pub targets: Vec<TargetEvent>,
    /// What it was based on: a promotion's plan digest and source, its approvers.
    #[serde(default)]
    pub details: BTreeMap<String, String>,
    /// The principal of the key that signed it (`environments/allowed_signers`), in an
    /// environment whose events are signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer: Option<String>,
    /// The previous event's `hash` ([`GENESIS`] for the first).
    pub prev: String,
    /// BLAKE3 of this event with `hash` empty and no `signature`.
    pub hash: String,
    /// An SSH signature (`ssh-keygen -Y sign`, namespace `strata-audit`) of
    /// [`signed_message`] by `signer`'s key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

/// What an event's signature signs: its environment, number and hash (which covers
/// everything else in it, the signer and the previous event's hash included).
pub fn signed_message(event: &Event) -> Vec<u8> {
    format!(
        "strata audit event {} {} {}\n",
        event.env, event.seq, event.hash
    )
    .into_bytes()
}

/// What happened to one target in an event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetEvent {
    pub label: String,
    /// `applied`, `destroyed`, `failed`, `skipped`, `recorded`, `not-recorded`,
    /// `rolled-back`, `pushed`, …
    pub result: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The BLAKE3 digest of the release lock entry the event wrote, every field of it (its
    /// checks, highest policy severity, date and dependencies, which the promotion gates
    /// read): an entry changed after the event is found, not only one with another hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry: Option<String>,
}

/// An event to append: the ledger gives it its number and hashes.
#[derive(Debug, Clone, Default)]
pub struct NewEvent {
    pub time: String,
    pub actor: String,
    pub action: String,
    pub env: String,
    pub head: Option<String>,
    pub outcome: String,
    pub message: Option<String>,
    pub targets: Vec<TargetEvent>,
    pub details: BTreeMap<String, String>,
    /// Who will sign it (see [`Event::signer`]).
    pub signer: Option<String>,
}

/// Signs an event's [`signed_message`]: the armored signature, or why it could not.
pub type Sign<'a> = &'a dyn Fn(&[u8]) -> std::result::Result<String, String>;

/// The detail an event carries when it was to be signed and could not be.
pub const UNSIGNED_DETAIL: &str = "unsigned";

impl Event {
    /// The hash this event should carry.
    pub fn compute_hash(&self) -> String {
        let mut unhashed = self.clone();
        unhashed.hash = String::new();
        unhashed.signature = None;
        let bytes = serde_json::to_vec(&unhashed).expect("an event serializes");
        blake3::Hasher::new_derive_key("strata audit event v1")
            .update(&bytes)
            .finalize()
            .to_hex()
            .to_string()
    }
}

/// Appends an event to the ledger at `path` (of environment `env`), chained to the last
/// one. Appenders take turns on `lock_path` (a file that is never replaced, unlike the
/// ledger); the ledger is replaced atomically, so a crash leaves it as it was or with the
/// whole new line.
///
/// With `sign`, the event is signed once its number and hash are known. When signing
/// fails the event is still written, without `signer` and with the reason in its details
/// ([`UNSIGNED_DETAIL`]): an event is never lost for want of a signature, and `check`
/// reports it wherever signatures are required.
pub fn append(
    path: &Path,
    lock_path: &Path,
    env: &str,
    new: NewEvent,
    sign: Option<Sign<'_>>,
) -> Result<Event> {
    prepare(path, lock_path, env, new, sign)?.commit()
}

/// An event made, and the ledger with it written and flushed beside the ledger, not yet in
/// its place: [`Pending::commit`] puts it there (one rename, which a full disk cannot
/// stop); dropping it leaves the ledger as it was. It holds the appenders' turn, so the
/// event stays the next one.
pub struct Pending {
    event: Event,
    path: std::path::PathBuf,
    written: strata_fs::NamedTempFile,
    _turn: std::fs::File,
}

impl Pending {
    pub fn event(&self) -> &Event {
        &self.event
    }

    /// Puts the ledger with the event in place.
    pub fn commit(self) -> Result<Event> {
        self.written
            .persist(&self.path)
            .map_err(|e| write(&self.path, e.error))?;
        Ok(self.event)
    }
}

/// [`append`] up to the last step: the event is made and signed, and the ledger holding it
/// written beside the ledger (see [`Pending`]).
pub fn prepare(
    path: &Path,
    lock_path: &Path,
    env: &str,
    new: NewEvent,
    sign: Option<Sign<'_>>,
) -> Result<Pending> {
    if let Some(dir) = lock_path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| write(dir, e))?;
    }
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(lock_path)
        .map_err(|e| io(lock_path, e))?;
    lock.lock().map_err(|e| io(lock_path, e))?;
    // Bytes, not text: a ledger damaged into invalid UTF-8 still takes the event (chained
    // after the damage, which `check` reports).
    let text = match strata_fs::read_regular(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(io(path, e)),
    };
    let (seq, prev) = match lines(&text).rfind(|l| !is_blank(l)) {
        None => (0, GENESIS.to_string()),
        Some(last) => match std::str::from_utf8(last)
            .ok()
            .and_then(|l| serde_json::from_str::<Event>(l).ok())
        {
            Some(e) => (e.seq, e.hash),
            // Chained to what is there; `check` reports the line.
            None => (
                lines(&text).filter(|l| !is_blank(l)).count() as u64,
                blake3::hash(last).to_hex().to_string(),
            ),
        },
    };
    let mut event = Event {
        version: EVENT_VERSION,
        // A `seq` edited up to the largest number stays there; `check` reports it.
        seq: seq.saturating_add(1),
        time: new.time,
        actor: new.actor,
        action: new.action,
        env: env.to_string(),
        head: new.head,
        outcome: new.outcome,
        message: new.message,
        targets: new.targets,
        details: new.details,
        signer: new.signer,
        prev,
        hash: String::new(),
        signature: None,
    };
    event.hash = event.compute_hash();
    if let Some(sign) = sign {
        match sign(&signed_message(&event)) {
            Ok(signature) => event.signature = Some(signature),
            Err(why) => {
                event.signer = None;
                event.details.insert(
                    UNSIGNED_DETAIL.into(),
                    format!("could not be signed: {why}"),
                );
                event.hash = event.compute_hash();
            }
        }
    }
    let mut out = text;
    if !out.is_empty() && !out.ends_with(b"\n") {
        out.push(b'\n');
    }
    out.extend_from_slice(
        serde_json::to_string(&event)
            .expect("an event serializes")
            .as_bytes(),
    );
    out.push(b'\n');
    let written = strata_fs::prepare_atomic(path, &out).map_err(|e| write(path, e))?;
    Ok(Pending {
        event,
        path: path.to_path_buf(),
        written,
        _turn: lock,
    })
}

/// The lines of a ledger's bytes, without their `\n` (and a `\r` before it).
fn lines(text: &[u8]) -> impl DoubleEndedIterator<Item = &[u8]> {
    let text = text.strip_suffix(b"\n").unwrap_or(text);
    text.split(|b| *b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(move |_| !text.is_empty())
}

fn is_blank(line: &[u8]) -> bool {
    line.iter().all(u8::is_ascii_whitespace)
}

/// A break in a ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The 1-based line of the ledger.
    pub line: usize,
    pub message: String,
}

/// A ledger read and checked.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Checked {
    /// Every event that parsed, in file order.
    pub events: Vec<Event>,
    /// The 1-based line of each of `events`.
    pub lines: Vec<usize>,
    /// Every break found: a line that is no event, a hash that does not match the event, a
    /// `prev` that is not the previous event's hash, a `seq` out of order, an event of
    /// another environment.
    pub problems: Vec<Problem>,
}

/// Reads the ledger at `path` (of environment `env`) and checks its chain. A missing
/// ledger is empty.
pub fn check(path: &Path, env: &str) -> Result<Checked> {
    let text = match strata_fs::read_regular(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Checked::default()),
        Err(e) => return Err(io(path, e)),
    };
    Ok(check_bytes(&text, env))
}

/// [`check`] of a ledger's text.
pub fn check_text(text: &str, env: &str) -> Checked {
    check_bytes(text.as_bytes(), env)
}

/// [`check`] of a ledger's bytes: a line that is not UTF-8 text is a problem on that line.
pub fn check_bytes(text: &[u8], env: &str) -> Checked {
    let mut out = Checked::default();
    let mut prev = GENESIS.to_string();
    let mut seq = 0u64;
    for (i, raw) in lines(text).enumerate() {
        let n = i + 1;
        if is_blank(raw) {
            continue;
        }
        let mut problem = |message: String| out.problems.push(Problem { line: n, message });
        let parsed = std::str::from_utf8(raw)
            .map_err(|_| "not an audit event: the line is not UTF-8 text".to_string())
            .and_then(|line| {
                serde_json::from_str::<Event>(line).map_err(|e| format!("not an audit event: {e}"))
            });
        let event: Event = match parsed {
            Ok(e) => e,
            Err(message) => {
                problem(message);
                prev = blake3::hash(raw).to_hex().to_string();
                seq = seq.saturating_add(1);
                continue;
            }
        };
        if event.compute_hash() != event.hash {
            problem(format!(
                "event {} was changed after it was written (its hash does not match its content)",
                event.seq
            ));
        }
        if event.prev != prev {
            problem(format!(
                "event {} does not follow the line before it (an event was removed, inserted or reordered)",
                event.seq
            ));
        }
        let expected = seq.saturating_add(1);
        if event.seq != expected || expected == u64::MAX {
            problem(format!(
                "event {} where {} was expected (an event was removed, inserted or reordered)",
                event.seq, expected
            ));
        }
        if event.env != env {
            problem(format!(
                "event {} is about environment `{}`, in the ledger of `{env}`",
                event.seq, event.env
            ));
        }
        prev = event.hash.clone();
        seq = event.seq;
        out.events.push(event);
        out.lines.push(n);
    }
    out
}

#[cfg(test)]
mod tests;
