//! A record, in the checkout, of each apply, destroy, reconcile, promotion or rollback while it runs
//! (`.strata/runs/<env>-<time>-<pid>.json`), held locked by the run. A run that ends, well
//! or not, removes it; a strata that is killed (`kill -9`, the OOM killer, a power cut)
//! cannot, and leaves it unlocked. The next apply, destroy, reconcile, promotion or rollback into
//! that environment in this checkout writes it into the environment's ledger (outcome
//! `interrupted`) before it changes anything, and `strata audit verify` reports it until
//! then: every change strata started leaves an event, even when strata did not live to
//! write it. A run that stops on an error of strata's own before it recorded its end writes
//! that event itself ([`Running::ended_with_error`]). A checkout lost with its machine keeps its records with it; the state
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
    /// `apply`, `destroy`, `promote`, `rollback` or `reconcile`.
    pub action: String,
    pub actor: String,
    /// The commit checked out.
    pub head: Option<String>,
    /// When it started, UTC.
    pub started: String,
    /// The targets it was to run there.
    pub targets: Vec<String>,
    /// The error it ended on, when it could not write even that into the ledger (a full
    /// disk): the record then says so, not that strata was killed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A run's record, held locked while the run lasts: removed when dropped (the run ended,
/// whichever way), left behind by a process that is killed, or by a run that could not
/// write even its error into the ledger ([`Running::ended_with_error`]).
pub struct Running {
    path: PathBuf,
    /// The record, held locked while the run lasts.
    file: File,
    record: Record,
    /// Left behind on drop: a run that could not record its own end.
    keep: bool,
}

impl Drop for Running {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

impl Running {
    /// The run stopped on an error of strata's own before it recorded what it did (the
    /// tools may have changed the environment by then): writes that into the ledger now
    /// (outcome `interrupted`, the error named). When even that cannot be written, the
    /// record is left behind, for `audit verify` to report and the next run to write.
    pub fn ended_with_error(mut self, session: &Session, error: &str) {
        let message = format!(
            "{} started {} by {} ended on an error before it recorded what it did ({error}): what it changed in {} is not known; compare with `strata drift --env {}`",
            noun(&self.record.action),
            self.record.started,
            self.record.actor,
            self.record.env,
            self.record.env
        );
        if crate::audit::record_left_behind(session, &self.record, &message).is_err() {
            self.keep = true;
            // The record says why, for whoever writes it later: rewritten in place (a full
            // disk may still take a file made no longer); left as it was if even that fails.
            self.record.error = Some(error.to_string());
            let text = serde_json::to_vec_pretty(&self.record).expect("a record serializes");
            use std::os::unix::fs::FileExt;
            let _ = self
                .file
                .set_len(0)
                .and_then(|()| self.file.write_all_at(&text, 0))
                .and_then(|()| self.file.sync_all());
        }
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
        error: None,
    };
    let name = format!("{env}-{now}-{}", std::process::id());
    let path = dir.join(format!("{name}.json"));
    // Written and locked under a name no reader looks at, then put in place whole: a
    // reader finds the record locked (running) or not at all.
    let writing = dir.join(format!(".{name}.writing"));
    let file = File::create(&writing).map_err(|e| Error::write(&writing, e))?;
    file.lock().map_err(|e| Error::write(&writing, e))?;
    let text = serde_json::to_vec_pretty(&record).expect("a record serializes");
    let written = std::io::Write::write_all(&mut &file, &text)
        .and_then(|()| file.sync_all())
        .and_then(|()| std::fs::rename(&writing, &path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&writing);
        return Err(Error::write(&path, e));
    }
    Ok(Running {
        path,
        file,
        record,
        keep: false,
    })
}

/// The records of runs into `env` whose process is gone without ending them, oldest first
/// (a record another process holds is a run still going); `None` for a record that cannot
/// be read (damaged, or another strata's), whatever its environment: never removed here.
pub fn left_behind(root: &Path, env: &str) -> Result<Vec<(PathBuf, Option<Record>)>> {
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
        match std::fs::read(&path)
            .ok()
            .and_then(|text| serde_json::from_slice::<Record>(&text).ok())
        {
            Some(record) if record.env == env => found.push((path, Some(record))),
            Some(_) => {}
            None => found.push((path, None)),
        }
    }
    let started = |r: &Option<Record>| r.as_ref().map(|r| r.started.clone());
    found.sort_by(|a, b| started(&a.1).cmp(&started(&b.1)).then(a.0.cmp(&b.0)));
    Ok(found)
}

/// The run an action names, in words.
fn noun(action: &str) -> String {
    match action {
        "apply" => "an apply".into(),
        "destroy" => "a destroy".into(),
        "promote" => "a promotion".into(),
        "rollback" => "a promotion's rollback".into(),
        "reconcile" => "a reconcile".into(),
        other => format!("a run ({other})"),
    }
}

/// What `audit verify` and the event say of a run left behind.
pub fn describe(record: &Record) -> String {
    let how = match &record.error {
        Some(error) => format!("ended on an error ({error}) and could not record that either"),
        None => "was stopped before it ended (strata killed)".to_string(),
    };
    format!(
        "{} started {} by {} (at {}) {how} and recorded nothing: what it changed in {} is not known ({}); compare with `strata drift --env {}`",
        noun(&record.action),
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
        // One that cannot be read is `audit verify`'s to report.
        let Some(record) = record else { continue };
        crate::audit::record_left_behind(session, &record, &describe(&record))?;
        let _ = std::fs::remove_file(&path);
        written.push(record);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(error: Option<&str>) -> Record {
        Record {
            env: "dev".into(),
            action: "apply".into(),
            actor: "ci@example.com".into(),
            head: Some("0123456789abcdef".into()),
            started: "2026-12-07T10:00:00Z".into(),
            targets: vec!["stacks/a".into()],
            error: error.map(str::to_string),
        }
    }

    /// A run that could not write even its error is not said to have been killed; an older
    /// record (no `error` field) still reads, as one that was.
    #[test]
    fn a_record_says_whether_its_run_was_killed_or_ended_on_an_error() {
        let killed = describe(&record(None));
        assert!(
            killed.contains("was stopped before it ended (strata killed)"),
            "{killed}"
        );
        let failed = describe(&record(Some("No space left on device")));
        assert!(
            failed.contains(
                "ended on an error (No space left on device) and could not record that either"
            ) && !failed.contains("killed"),
            "{failed}"
        );
        let old: Record = serde_json::from_str(
            r#"{"env":"dev","action":"apply","actor":"a","head":null,"started":"t","targets":[]}"#,
        )
        .unwrap();
        assert_eq!(old.error, None);
    }
}
