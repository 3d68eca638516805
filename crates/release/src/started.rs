//! A record, in the checkout, of each apply or destroy while it runs
//! (`.strata/runs/<env>-<time>-<pid>.json`), held locked by the run. A run that ends, well
//! or not, removes it; a strata that is killed (`kill -9`, the OOM killer, a power cut)
//! cannot, and leaves it unlocked. The next apply, destroy or promotion into that
//! environment in this checkout writes it into the environment's ledger (outcome
//! `interrupted`) before it changes anything, and `strata audit verify` reports it until
//! then: every change strata started leaves an event, even when strata did not live to
//! write it. A checkout lost with its machine keeps its records with it; the state
//! backend's history and `strata drift` are what is left then (docs/security.md).

use serde::{Deserialize, Serialize};
use std::fs::File;
use std::path::{Path, PathBuf};
use strata_graph::session::Session;
use strata_graph::{Error, Result};

/// Where the records are.
const DIR: &str = ".strata/runs";

/// What a run that started said about itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub env: String,
    /// `apply` or `destroy`.
    pub action: String,
    pub actor: String,
    /// The commit checked out.
    pub head: Option<String>,
    /// When it started, UTC.
    pub started: String,
    /// The targets it was to run there.
    pub targets: Vec<String>,
}

/// A run's record, held locked while the run lasts: removed when dropped (the run ended,
/// whichever way), left behind only by a process that is killed.
pub struct Running {
    path: PathBuf,
    _file: File,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Writes the record of an `action` about to run `targets` in `env`, and holds it.
pub fn start(session: &Session, env: &str, action: &str, targets: &[String]) -> Result<Running> {
    let dir = session.root.join(DIR);
    std::fs::create_dir_all(&dir).map_err(|e| Error::write(&dir, e))?;
    strata_fs::keep_out_of_git(&session.root.join(strata_graph::workspace::STRATA_DIR));
    let now = crate::clock::now();
    let record = Record {
        env: env.to_string(),
        action: action.to_string(),
        actor: crate::identity::current(&session.repo)?,
        head: session.repo.resolve_commit("HEAD").ok(),
        started: crate::clock::format_utc(now),
        targets: targets.to_vec(),
    };
    let path = dir.join(format!("{env}-{now}-{}.json", std::process::id()));
    let file = File::create(&path).map_err(|e| Error::write(&path, e))?;
    // Locked before it holds anything: a reader finds it either locked (running) or
    // written whole.
    file.lock().map_err(|e| Error::write(&path, e))?;
    let text = serde_json::to_vec_pretty(&record).expect("a record serializes");
    std::io::Write::write_all(&mut &file, &text).map_err(|e| Error::write(&path, e))?;
    file.sync_all().map_err(|e| Error::write(&path, e))?;
    Ok(Running { path, _file: file })
}

/// The records of runs into `env` whose process is gone without ending them, oldest first
/// (a record another process holds is a run still going).
pub fn left_behind(root: &Path, env: &str) -> Result<Vec<(PathBuf, Record)>> {
    let dir = root.join(DIR);
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(&dir, e)),
    };
    let mut found = Vec::new();
    for path in entries.flatten().map(|e| e.path()) {
        if path.extension().is_none_or(|x| x != "json") {
            continue;
        }
        let Ok(file) = File::open(&path) else {
            continue;
        };
        // Held: its run is still going.
        if file.try_lock().is_err() {
            continue;
        }
        let Ok(text) = std::fs::read(&path) else {
            continue;
        };
        // A record cut short (killed while it was written): its run never started.
        let Ok(record) = serde_json::from_slice::<Record>(&text) else {
            let _ = std::fs::remove_file(&path);
            continue;
        };
        if record.env == env {
            found.push((path, record));
        }
    }
    found.sort_by(|a, b| a.1.started.cmp(&b.1.started).then(a.0.cmp(&b.0)));
    Ok(found)
}

/// What `audit verify` and the event say of a run left behind.
pub fn describe(record: &Record) -> String {
    format!(
        "{} {} started {} by {} (at {}) was stopped before it ended (strata killed) and recorded nothing: what it changed in {} is not known ({}); compare with `strata drift --env {}`",
        if record.action == "destroy" { "a" } else { "an" },
        record.action,
        record.started,
        record.actor,
        record.head.as_deref().map_or("an unknown commit", |h| &h[..12.min(h.len())]),
        record.env,
        if record.targets.is_empty() {
            "no target named".to_string()
        } else {
            format!("it was to run {}", record.targets.join(", "))
        },
        record.env
    )
}

/// Writes each run into `env` left behind into its ledger (outcome `interrupted`), then
/// removes its record; the records written.
pub fn record_left_behind(session: &Session, env: &str) -> Result<Vec<Record>> {
    let mut written = Vec::new();
    for (path, record) in left_behind(&session.root, env)? {
        crate::audit::record_left_behind(session, &record, &describe(&record))?;
        let _ = std::fs::remove_file(&path);
        written.push(record);
    }
    Ok(written)
}
