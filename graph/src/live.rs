//! The work tree kept current in a resident process (see `daemon`): read in full once, then
//! only the paths a file watcher reports are read again.
//!
//! After a refresh the view holds exactly what [`Session::work_tree`] would build: the same
//! entries (tracked files from disk, untracked files unless ignored, deleted files gone), the
//! same `touched` set, and hashes that are either updated in place (when the model still
//! describes the changed files) or computed from a rebuilt model.

use crate::error::Result;
use crate::session::{Session, View};
use crate::snapshot::{is_builtin_excluded, read_entry, to_map, FileEntry, Patch};
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

pub struct LiveTree {
    pub view: View,
    /// The index's entries: which paths are tracked, and what a clean file holds.
    index: BTreeMap<String, FileEntry>,
    /// Paths whose index entry differs from HEAD's.
    staged: BTreeSet<String>,
    /// Paths whose work-tree entry differs from the index's (modified, deleted, untracked).
    dirty: BTreeSet<String>,
}

/// What one refresh did.
#[derive(Debug, Default, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct Refresh {
    /// Paths read again.
    pub paths: usize,
    /// Files whose entry changed.
    pub changed: usize,
    /// The model was rebuilt (a path appeared or went, or a change altered the graph).
    pub rebuilt: bool,
}

impl LiveTree {
    /// Reads the whole work tree, as [`Session::work_tree`] does.
    pub fn read(session: &Session) -> Result<LiveTree> {
        let view = session.work_tree()?;
        let index = to_map(session.repo.index_files()?);
        let dirty = view
            .snapshot
            .touched
            .iter()
            .filter(|p| view.snapshot.files.get(*p) != index.get(*p))
            .cloned()
            .collect();
        let mut live = LiveTree {
            view,
            index,
            staged: BTreeSet::new(),
            dirty,
        };
        live.restage(session)?;
        Ok(live)
    }

    /// After the index was written: takes the new index and returns the paths whose index
    /// entry changed (to be read again with [`LiveTree::refresh`]). Also updates what is
    /// staged.
    pub fn reindex(&mut self, session: &Session) -> Result<BTreeSet<String>> {
        let index = to_map(session.repo.index_files()?);
        let mut changed: BTreeSet<String> = index
            .iter()
            .filter(|(p, e)| self.index.get(*p) != Some(e))
            .map(|(p, _)| p.clone())
            .collect();
        changed.extend(
            self.index
                .keys()
                .filter(|p| !index.contains_key(*p))
                .cloned(),
        );
        self.index = index;
        self.restage(session)?;
        Ok(changed)
    }

    /// After HEAD moved: what the index holds that HEAD does not (everything, before the
    /// first commit).
    pub fn restage(&mut self, session: &Session) -> Result<()> {
        self.staged = match session.repo.index_diff("HEAD") {
            Ok(diff) => diff.into_iter().map(|(p, _)| p).collect(),
            Err(_) => self.index.keys().cloned().collect(),
        };
        Ok(())
    }

    /// Reads `changed` again: workspace-relative paths of files or directories that may
    /// have changed (created, modified, deleted, renamed) since the last read. A directory
    /// stands for everything below it.
    pub fn refresh(&mut self, session: &Session, changed: &BTreeSet<String>) -> Result<Refresh> {
        let files = &self.view.snapshot.files;
        let mut paths: BTreeSet<String> = BTreeSet::new();
        let mut maybe_untracked: Vec<&str> = Vec::new();
        for c in changed {
            if c.is_empty() || is_builtin_excluded(c) {
                continue;
            }
            let below = format!("{c}/");
            for known in [&self.index, files] {
                if known.contains_key(c) {
                    paths.insert(c.clone());
                }
                paths.extend(
                    known
                        .range(below.clone()..)
                        .take_while(|(p, _)| p.starts_with(&below))
                        .map(|(p, _)| p.clone()),
                );
            }
            // A tracked path may also have become a directory.
            if !self.index.contains_key(c) || session.root.join(c).is_dir() {
                maybe_untracked.push(c);
            }
        }
        let untracked: BTreeSet<String> = if maybe_untracked.is_empty() {
            BTreeSet::new()
        } else {
            session
                .repo
                .untracked_under(&maybe_untracked)?
                .into_iter()
                .filter(|p| !is_builtin_excluded(p))
                .collect()
        };
        paths.extend(untracked.iter().cloned());
        let root = &session.root;
        let entries: Vec<(String, Option<FileEntry>)> = paths
            .into_par_iter()
            .map(|p| {
                let present = self.index.contains_key(&p) || untracked.contains(&p);
                let entry = present.then(|| read_entry(&root.join(&p))).flatten();
                (p, entry)
            })
            .collect();
        let mut refresh = Refresh {
            paths: entries.len(),
            ..Refresh::default()
        };
        let mut patch = Patch::default();
        let snapshot = &mut self.view.snapshot;
        for (path, entry) in entries {
            if entry.as_ref() == self.index.get(&path) {
                self.dirty.remove(&path);
            } else {
                self.dirty.insert(path.clone());
            }
            if snapshot.set(path, entry, &mut patch) != entry {
                refresh.changed += 1;
            }
        }
        snapshot.touched = self.staged.union(&self.dirty).cloned().collect();
        if refresh.changed == 0 {
            return Ok(refresh);
        }
        let view = &mut self.view;
        match session.rehashed(&view.model, &view.hashes, &view.snapshot, &patch)? {
            Some(hashes) => view.hashes = hashes,
            None => {
                refresh.rebuilt = true;
                let snapshot = std::mem::replace(
                    &mut view.snapshot,
                    crate::snapshot::Snapshot::empty_work_tree(&session.root),
                );
                *view = session.view(snapshot, session.config.clone())?;
            }
        }
        Ok(refresh)
    }
}
