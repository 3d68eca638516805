//! A snapshot is the set of files of the workspace at one point: the work tree (index plus
//! uncommitted and untracked changes) or a commit. Each file carries its content id and mode.

use crate::digest::FileId;
use crate::error::{Error, Result};
use crate::git::{GitFile, Repo, WorkTreeChange};
use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FileEntry {
    pub id: FileId,
    pub mode: u32,
}

#[derive(Debug, Clone)]
pub enum Source {
    WorkTree(PathBuf),
    Commit(String),
}

#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Workspace-relative path -> entry, sorted by path.
    pub files: BTreeMap<String, FileEntry>,
    pub source: Source,
    /// For the work tree: every path `git status` reported (changed against HEAD in the
    /// index or the work tree, or untracked).
    pub touched: Vec<String>,
}

/// Paths that are never inputs, whatever the configuration says: tool working directories,
/// Terraform state and strata's own data.
pub fn is_builtin_excluded(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    if name.ends_with(".tfstate")
        || name.ends_with(".tfstate.backup")
        || name == ".terraform.tfstate.lock.info"
    {
        return true;
    }
    path.split('/')
        .any(|c| c == ".terraform" || c == ".strata" || c == ".git")
}

impl Snapshot {
    /// The work tree: index entries, with work-tree edits and untracked files read from disk.
    pub fn work_tree(repo: &Repo, root: &Path) -> Result<Snapshot> {
        let (index, changes) = std::thread::scope(|s| {
            let changes = s.spawn(|| {
                let t = std::time::Instant::now();
                let c = repo.work_tree_changes();
                crate::timing::phase("git status", t);
                c
            });
            let t = std::time::Instant::now();
            let index = repo.index_files();
            crate::timing::phase("git ls-files", t);
            (index, changes.join().expect("git status thread"))
        });
        let mut files = to_map(index?);
        let mut present = Vec::new();
        let mut touched = Vec::new();
        for change in changes? {
            match change {
                WorkTreeChange::Deleted(path) => {
                    files.remove(&path);
                    touched.push(path);
                }
                WorkTreeChange::Present(path) if !is_builtin_excluded(&path) => {
                    touched.push(path.clone());
                    present.push(path)
                }
                WorkTreeChange::Staged(path) => touched.push(path),
                WorkTreeChange::Present(_) => {}
            }
        }
        let read: Vec<(String, Option<FileEntry>)> = present
            .into_par_iter()
            .map(|path| {
                let entry = read_entry(&root.join(&path));
                (path, entry)
            })
            .collect();
        for (path, entry) in read {
            match entry {
                Some(e) => files.insert(path, e),
                None => files.remove(&path),
            };
        }
        Ok(Snapshot {
            files,
            source: Source::WorkTree(root.to_path_buf()),
            touched,
        })
    }

    /// Every file of a commit below the workspace root.
    pub fn at_commit(repo: &Repo, commit: &str) -> Result<Snapshot> {
        Ok(Snapshot {
            files: to_map(repo.ls_tree(commit)?),
            source: Source::Commit(commit.to_string()),
            touched: Vec::new(),
        })
    }

    /// Contents of the given files, keyed by their ids; one batch, read in parallel from disk
    /// for the work tree or through one `git cat-file` for a commit.
    pub fn contents(&self, repo: &Repo, paths: &[&str]) -> Result<HashMap<FileId, Vec<u8>>> {
        match &self.source {
            Source::WorkTree(root) => paths
                .par_iter()
                .filter_map(|p| self.files.get(*p).map(|e| (*p, e.id)))
                .map(|(p, id)| {
                    let full = root.join(p);
                    std::fs::read(&full)
                        .map(|c| (id, c))
                        .map_err(|e| Error::io(full, e))
                })
                .collect(),
            Source::Commit(_) => {
                let mut ids: Vec<FileId> = paths
                    .iter()
                    .filter_map(|p| self.files.get(*p))
                    .map(|e| e.id)
                    .collect();
                ids.sort();
                ids.dedup();
                repo.read_blobs(&ids)
            }
        }
    }
}

impl Snapshot {
    /// The text of each of `paths` that the snapshot holds, in order (lossy UTF-8).
    pub fn texts(&self, repo: &Repo, paths: &[&str]) -> Result<Vec<(String, String)>> {
        let present: Vec<&str> = paths
            .iter()
            .copied()
            .filter(|p| self.files.contains_key(*p))
            .collect();
        let contents = self.contents(repo, &present)?;
        Ok(present
            .into_iter()
            .map(|p| {
                let text = contents
                    .get(&self.files[p].id)
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .unwrap_or_default();
                (p.to_string(), text)
            })
            .collect())
    }

    /// Every path whose entry differs between two snapshots (added, removed or changed).
    pub fn diff(&self, other: &Snapshot) -> std::collections::BTreeSet<String> {
        let mut out = std::collections::BTreeSet::new();
        for (p, e) in &self.files {
            if other.files.get(p) != Some(e) {
                out.insert(p.clone());
            }
        }
        for p in other.files.keys() {
            if !self.files.contains_key(p) {
                out.insert(p.clone());
            }
        }
        out
    }
}

fn to_map(files: Vec<GitFile>) -> BTreeMap<String, FileEntry> {
    files
        .into_iter()
        .filter(|f| !is_builtin_excluded(&f.path))
        .map(|f| {
            (
                f.path,
                FileEntry {
                    id: f.id,
                    mode: f.mode,
                },
            )
        })
        .collect()
}

/// Reads a work-tree file and computes its id and git mode; `None` when it is gone.
fn read_entry(path: &Path) -> Option<FileEntry> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    if meta.file_type().is_symlink() {
        let target = std::fs::read_link(path).ok()?;
        let bytes = target.as_os_str().as_encoded_bytes().to_vec();
        return Some(FileEntry {
            id: FileId::of_content(&bytes),
            mode: 0o120000,
        });
    }
    if !meta.is_file() {
        return None;
    }
    let content = std::fs::read(path).ok()?;
    #[cfg(unix)]
    let executable = {
        use std::os::unix::fs::PermissionsExt;
        meta.permissions().mode() & 0o111 != 0
    };
    #[cfg(not(unix))]
    let executable = false;
    Some(FileEntry {
        id: FileId::of_content(&content),
        mode: if executable { 0o100755 } else { 0o100644 },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_exclusions() {
        assert!(is_builtin_excluded("stacks/a/.terraform/providers/x"));
        assert!(is_builtin_excluded("stacks/a/terraform.tfstate"));
        assert!(is_builtin_excluded("stacks/a/terraform.tfstate.backup"));
        assert!(is_builtin_excluded(".strata/cache/x"));
        assert!(!is_builtin_excluded("stacks/a/.terraform.lock.hcl"));
        assert!(!is_builtin_excluded("stacks/a/main.tf"));
    }
}
