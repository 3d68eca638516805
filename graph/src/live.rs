//! The work tree kept current in a resident process (see `daemon`): read in full once, then
//! only the paths a file watcher reports are read again.
//!
//! After a refresh the view holds exactly what [`Session::work_tree`] would build: the same
//! entries (tracked files from disk, untracked files unless ignored, deleted files gone), the
//! same `touched` set, and hashes that are either updated in place (when the model still
//! describes the changed files) or computed from a rebuilt model.

use crate::error::Result;
use crate::session::{Session, View};
use crate::snapshot::{entry_on_disk, is_builtin_excluded, to_map, FileEntry, Patch};
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

pub struct LiveTree {
    pub view: View,
    /// The index's entries where they may differ from the snapshot's (`None`: not in the
    /// index); every other path's index entry is its entry in the snapshot. The index is
    /// not kept whole beside the snapshot that mostly repeats it (see [`LiveTree::indexed`]).
    index_over: BTreeMap<String, Option<FileEntry>>,
    /// Paths in a merge conflict: in the index without an entry, read from the work tree.
    unmerged: BTreeSet<String>,
    /// Paths whose index entry differs from HEAD's.
    staged: BTreeSet<String>,
    /// The commit `staged` was computed against (`None` before the first commit).
    staged_at: Option<String>,
    /// Paths whose work-tree entry differs from the index's (modified, deleted, untracked).
    dirty: BTreeSet<String>,
    /// Tracked paths whose bytes or mode on disk differ from their index entry while git
    /// counts them unchanged (see [`LiveTree::refresh`]): asked again whenever the index is
    /// written, since a flag there (`assume-unchanged`, `skip-worktree`) may have changed
    /// git's answer without changing any entry.
    git_clean: BTreeSet<String>,
    /// Whether git's view of a tracked file may differ from its bytes and mode on disk
    /// (see [`Repo::may_differ_from_disk`](crate::git::Repo::may_differ_from_disk); a
    /// `.gitattributes` file anywhere), and whether an index entry is flagged
    /// `assume-unchanged` or `skip-worktree`: only then is git asked about a file whose
    /// bytes differ from its entry (a daemon ends when git's configuration changes).
    git_view: bool,
    flagged: bool,
    /// The digest of the index's flags when last read (see [`IndexState`]).
    flags: Option<[u8; 32]>,
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
        let work_tree = session.work_tree_and_base(&|| None)?;
        let view = work_tree.view;
        let mut index_over = BTreeMap::new();
        let mut dirty = BTreeSet::new();
        for p in &view.snapshot.touched {
            let indexed = work_tree.index_entries.get(p).copied();
            if view.snapshot.files.get(p).copied() != indexed {
                index_over.insert(p.clone(), indexed);
                dirty.insert(p.clone());
            }
        }
        let mut live = LiveTree {
            view,
            index_over,
            unmerged: work_tree.unmerged,
            staged: BTreeSet::new(),
            staged_at: None,
            dirty,
            // Not known for the paths git status left out: their bytes were not read.
            git_clean: BTreeSet::new(),
            git_view: true,
            flagged: true,
            flags: None,
        };
        live.git_view = session.repo.may_differ_from_disk()
            || live.view.snapshot.files.keys().any(|p| is_attributes(p));
        let index = session.repo.read_index();
        live.flagged = index.as_ref().is_none_or(|i| i.flagged);
        live.flags = index.map(|i| i.flags);
        live.restage(session)?;
        Ok(live)
    }

    /// The index's entry of `path`.
    fn indexed(&self, path: &str) -> Option<FileEntry> {
        match self.index_over.get(path) {
            Some(entry) => *entry,
            None => self.view.snapshot.files.get(path).copied(),
        }
    }

    /// Every path in the index.
    fn index_paths(&self) -> impl Iterator<Item = &String> {
        let snapshot = self
            .view
            .snapshot
            .files
            .keys()
            .filter(|p| !self.index_over.contains_key(*p));
        let over = self
            .index_over
            .iter()
            .filter(|(_, e)| e.is_some())
            .map(|(p, _)| p);
        snapshot.chain(over)
    }

    /// After the index was written: takes the new index and returns the paths whose index
    /// entry changed (to be read again with [`LiveTree::refresh`]). Also updates what is
    /// staged.
    pub fn reindex(&mut self, session: &Session) -> Result<BTreeSet<String>> {
        let crate::git::IndexState {
            files,
            unmerged,
            flagged,
            flags,
        } = session.repo.index_state()?;
        self.flagged = flagged;
        // A flag set or taken off (or flags not known) since the last read.
        let flags_moved = flags.is_none() || flags != self.flags;
        self.flags = flags;
        let index = to_map(files);
        let mut changed: BTreeSet<String> = index
            .iter()
            .filter(|(p, e)| self.indexed(p) != Some(**e))
            .map(|(p, _)| p.clone())
            .collect();
        changed.extend(
            self.index_paths()
                .filter(|p| !index.contains_key(*p))
                .cloned(),
        );
        // Until they are read again, these paths' index entries may differ from the
        // snapshot's.
        for p in &changed {
            self.index_over.insert(p.clone(), index.get(p).copied());
        }
        // Paths git counted unchanged though their bytes differ: a flag may have moved.
        changed.extend(self.git_clean.iter().cloned());
        // A flag (`assume-unchanged`, `skip-worktree`) set on a path edited before, or taken
        // off, changes git's answer without changing its entry: when the flags moved, the
        // tracked paths that differ from their entries are asked again.
        if flags_moved {
            changed.extend(
                self.dirty
                    .iter()
                    .filter(|p| index.contains_key(*p))
                    .cloned()
                    .collect::<Vec<_>>(),
            );
        }
        // Paths entering or leaving a conflict are read again too.
        changed.extend(
            unmerged
                .symmetric_difference(&self.unmerged)
                .cloned()
                .collect::<Vec<_>>(),
        );
        self.unmerged = unmerged;
        self.restage(session)?;
        Ok(changed)
    }

    /// After HEAD moved: what the index holds that HEAD does not (everything, before the
    /// first commit).
    pub fn restage(&mut self, session: &Session) -> Result<()> {
        self.staged_at = session.repo.resolve_commit("HEAD").ok();
        let against = self.staged_at.as_deref().unwrap_or("HEAD");
        self.staged = match session.repo.staged_paths(against) {
            Ok(paths) => paths.into_iter().collect(),
            Err(_) => self.index_paths().cloned().collect(),
        };
        Ok(())
    }

    /// Whether HEAD names another commit than the one `staged` was computed against. A
    /// branch can move with no event a watcher sees on `HEAD` or `logs/HEAD` (a reftable
    /// repository keeps its refs elsewhere; without a reflog `logs/HEAD` is not written;
    /// another worktree moves a branch checked out here), and `git reset --soft` leaves the
    /// index alone: one `rev-parse` per request finds it.
    pub fn head_moved(&self, session: &Session) -> bool {
        session.repo.resolve_commit("HEAD").ok() != self.staged_at
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
            // The snapshot's paths and the index's (those not in the snapshot are in
            // `index_over`).
            // A path in a conflict has neither an index entry nor (when HEAD does not have
            // it either) a snapshot entry yet: it is read from the work tree all the same.
            if files.contains_key(c) || self.index_over.contains_key(c) || self.unmerged.contains(c)
            {
                paths.insert(c.clone());
            }
            paths.extend(
                self.unmerged
                    .range(below.clone()..)
                    .take_while(|p| p.starts_with(&below))
                    .cloned(),
            );
            paths.extend(
                files
                    .range(below.clone()..)
                    .take_while(|(p, _)| p.starts_with(&below))
                    .map(|(p, _)| p.clone()),
            );
            paths.extend(
                self.index_over
                    .range(below.clone()..)
                    .take_while(|(p, _)| p.starts_with(&below))
                    .map(|(p, _)| p.clone()),
            );
            // A tracked path may also have become a directory.
            if self.indexed(c).is_none() || session.root.join(c).is_dir() {
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
        let mut entries: Vec<(String, Option<FileEntry>)> = paths
            .into_par_iter()
            .map(|p| {
                let present = self.indexed(&p).is_some()
                    || self.unmerged.contains(&p)
                    || untracked.contains(&p);
                let entry = present
                    .then(|| entry_on_disk(root, &p, self.indexed(&p)))
                    .flatten();
                (p, entry)
            })
            .collect();
        // A tracked file whose bytes or mode differ from its index entry is changed only
        // when git says so, as `Session::work_tree` asks `git status`: git's view takes
        // `core.fileMode`, `assume-unchanged`, a sparse checkout's files absent on disk, and
        // the clean filters and end-of-line conversion of `.gitattributes` into account.
        self.git_view |= entries.iter().any(|(p, _)| is_attributes(p));
        let ask_git = self.git_view || self.flagged;
        let suspects: Vec<&str> = entries
            .iter()
            .filter(|(p, e)| {
                let indexed = self.indexed(p);
                ask_git && indexed.is_some() && *e != indexed && !self.unmerged.contains(p)
            })
            .map(|(p, _)| p.as_str())
            .collect();
        let changed_for_git = match suspects.is_empty() {
            true => BTreeSet::new(),
            false => session.repo.changed_in_work_tree(&suspects)?,
        };
        let suspects: BTreeSet<String> = suspects.into_iter().map(str::to_string).collect();
        for (path, entry) in entries.iter_mut() {
            if suspects.contains(path) && !changed_for_git.contains(path) {
                *entry = self.indexed(path);
                self.git_clean.insert(path.clone());
            } else {
                self.git_clean.remove(path);
            }
        }
        let mut refresh = Refresh {
            paths: entries.len(),
            ..Refresh::default()
        };
        let mut patch = Patch::default();
        for (path, entry) in entries {
            // Taken before the snapshot changes: it may be the snapshot's entry.
            let indexed = self.indexed(&path);
            if entry == indexed {
                self.dirty.remove(&path);
                self.index_over.remove(&path);
            } else {
                self.dirty.insert(path.clone());
                self.index_over.insert(path.clone(), indexed);
            }
            if self.view.snapshot.set(path, entry, &mut patch) != entry {
                refresh.changed += 1;
            }
        }
        let snapshot = &mut self.view.snapshot;
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

/// Whether `path` is a `.gitattributes` file, which may set end-of-line conversion or a
/// filter for the files below its directory.
fn is_attributes(path: &str) -> bool {
    path.rsplit('/').next() == Some(".gitattributes")
}
