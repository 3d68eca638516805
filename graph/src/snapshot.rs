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
    /// The index of the work tree at this root, before work-tree changes are applied:
    /// contents come from disk where they match the index, from git where they do not.
    Index(PathBuf),
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

/// File contents by id.
pub type Contents = HashMap<FileId, Vec<u8>>;

/// What applying work-tree changes did to a snapshot.
#[derive(Debug, Default)]
pub struct Patch {
    /// A path appeared or disappeared.
    pub paths_changed: bool,
    /// Files whose content or mode changed, with their entry before.
    pub modified: Vec<(String, FileEntry)>,
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
    // The excluded directories start with a dot: most paths have no such component.
    (path.starts_with('.') || path.contains("/."))
        && path
            .split('/')
            .any(|c| c == ".terraform" || c == ".strata" || c == ".git")
}

impl Snapshot {
    /// The work tree: index entries, with work-tree edits and untracked files read from disk.
    pub fn work_tree(repo: &Repo, root: &Path) -> Result<Snapshot> {
        let (index, changes) = std::thread::scope(|s| {
            let changes = s.spawn(|| repo.work_tree_changes());
            (
                Snapshot::of_index(repo, root),
                changes.join().expect("git status thread"),
            )
        });
        let mut snapshot = index?;
        snapshot.apply(changes?);
        Ok(snapshot)
    }

    /// The index alone, as if the work tree matched it (see [`Snapshot::apply`]).
    pub fn of_index(repo: &Repo, root: &Path) -> Result<Snapshot> {
        Ok(Snapshot::of_index_files(repo.index_files()?, root))
    }

    /// Index entries as a snapshot, before [`Snapshot::apply`].
    pub fn of_index_files(files: Vec<GitFile>, root: &Path) -> Snapshot {
        Snapshot {
            files: to_map(files),
            source: Source::Index(root.to_path_buf()),
            touched: Vec::new(),
        }
    }

    /// Applies what `git status` reported to an index snapshot: modified and untracked
    /// files are read from disk, deleted ones removed. Says what changed.
    pub fn apply(&mut self, changes: Vec<WorkTreeChange>) -> Patch {
        let (Source::Index(root) | Source::WorkTree(root)) = &self.source else {
            panic!("only an index snapshot takes work-tree changes");
        };
        let root = root.clone();
        self.source = Source::WorkTree(root.clone());
        let mut patch = Patch::default();
        let mut present = Vec::new();
        for change in changes {
            match change {
                WorkTreeChange::Deleted(path) => {
                    if self.files.remove(&path).is_some() {
                        patch.paths_changed = true;
                    }
                    self.touched.push(path);
                }
                WorkTreeChange::Present(path) if !is_builtin_excluded(&path) => {
                    self.touched.push(path.clone());
                    present.push(path)
                }
                WorkTreeChange::Staged(path) => self.touched.push(path),
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
            let before = match entry {
                Some(e) => self.files.insert(path.clone(), e),
                None => self.files.remove(&path),
            };
            match (before, entry) {
                (Some(old), Some(new)) if old != new => patch.modified.push((path, old)),
                (Some(_), Some(_)) => {}
                _ => patch.paths_changed = true,
            }
        }
        patch
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
    pub fn contents(&self, repo: &Repo, paths: &[&str]) -> Result<Contents> {
        Ok(self.verified_contents(repo, paths)?.0)
    }

    /// One file's bytes from disk, for the work tree or the index, with whether they have
    /// the id the snapshot records (see [`Snapshot::verified_contents`]). `None` when they
    /// must come from git instead: a commit, or an index entry whose file differs.
    pub fn disk_content(&self, path: &str) -> Result<Option<(Vec<u8>, bool)>> {
        let (root, is_index) = match &self.source {
            Source::WorkTree(root) => (root, false),
            Source::Index(root) => (root, true),
            Source::Commit(_) => return Ok(None),
        };
        let Some(entry) = self.files.get(path) else {
            return Ok(None);
        };
        let full = root.join(path);
        match std::fs::read(&full) {
            Ok(bytes) => {
                let verified = FileId::of_content(&bytes) == entry.id;
                Ok((verified || !is_index).then_some((bytes, verified)))
            }
            Err(_) if is_index => Ok(None),
            Err(e) => Err(Error::io(full, e)),
        }
    }

    /// [`Snapshot::contents`], and the ids whose content could not be verified: a work-tree
    /// file whose bytes no longer have the id the snapshot recorded (it changed after
    /// `git status` looked, or a git filter such as end-of-line conversion applies). Those
    /// contents are current but must not be remembered under that id. For an index
    /// snapshot such files are read from git instead, so every content matches its id.
    pub fn verified_contents(
        &self,
        repo: &Repo,
        paths: &[&str],
    ) -> Result<(Contents, std::collections::HashSet<FileId>)> {
        let mut unverified = std::collections::HashSet::new();
        let root = match &self.source {
            Source::WorkTree(root) | Source::Index(root) => root,
            Source::Commit(_) => {
                let mut ids: Vec<FileId> = paths
                    .iter()
                    .filter_map(|p| self.files.get(*p))
                    .map(|e| e.id)
                    .collect();
                ids.sort();
                ids.dedup();
                return Ok((repo.read_blobs(&ids)?, unverified));
            }
        };
        let read: Vec<(FileId, Option<Vec<u8>>)> = paths
            .par_iter()
            .filter_map(|p| self.files.get(*p).map(|e| (*p, e.id)))
            .map(|(p, id)| {
                let full = root.join(p);
                std::fs::read(&full)
                    .map(|c| (id, Some(c)))
                    .or_else(|e| match self.source {
                        // An index entry may be gone from the work tree: git has it.
                        Source::Index(_) => Ok((id, None)),
                        _ => Err(Error::io(full, e)),
                    })
            })
            .collect::<Result<_>>()?;
        let mut out = HashMap::with_capacity(read.len());
        let mut from_git = Vec::new();
        for (id, content) in read {
            match content {
                Some(c) if FileId::of_content(&c) == id => {
                    out.insert(id, c);
                }
                Some(c) if matches!(self.source, Source::WorkTree(_)) => {
                    unverified.insert(id);
                    out.insert(id, c);
                }
                _ => from_git.push(id),
            }
        }
        if !from_git.is_empty() {
            from_git.sort();
            from_git.dedup();
            out.extend(repo.read_blobs(&from_git)?);
        }
        Ok((out, unverified))
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
