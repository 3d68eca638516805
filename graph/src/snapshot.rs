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
        || strata_fs::is_temp_name(name)
    {
        return true;
    }
    // The excluded directories start with a dot: most paths have no such component.
    (path.starts_with('.') || path.contains("/."))
        && path
            .split('/')
            .any(|c| c == ".terraform" || c == ".strata" || c == ".git" || c == ".terragrunt-cache")
}

impl Snapshot {
    /// The index alone, as if the work tree matched it (see [`Snapshot::apply`]).
    pub fn of_index(repo: &Repo, root: &Path) -> Result<Snapshot> {
        Ok(Snapshot::of_index_and_digest(repo, root)?.0)
    }

    /// [`Snapshot::of_index`], with the digest of the index's entries when git's index was
    /// read in process: the same digest, the same snapshot.
    pub fn of_index_and_digest(repo: &Repo, root: &Path) -> Result<(Snapshot, Option<[u8; 32]>)> {
        let (files, digest) = repo.index_files_and_digest()?;
        let snapshot = Snapshot {
            files: to_map(files),
            source: Source::Index(root.to_path_buf()),
            touched: Vec::new(),
        };
        Ok((snapshot, digest))
    }

    /// A work tree with no files (a placeholder while a view is rebuilt).
    pub fn empty_work_tree(root: &Path) -> Snapshot {
        Snapshot {
            files: BTreeMap::new(),
            source: Source::WorkTree(root.to_path_buf()),
            touched: Vec::new(),
        }
    }

    /// Sets `path` to `entry` (`None` removes it), noting in `patch` what that changed;
    /// returns the entry it had.
    pub fn set(
        &mut self,
        path: String,
        entry: Option<FileEntry>,
        patch: &mut Patch,
    ) -> Option<FileEntry> {
        let before = match entry {
            Some(e) => self.files.insert(path.clone(), e),
            None => self.files.remove(&path),
        };
        match (before, entry) {
            (Some(old), Some(new)) if old != new => patch.modified.push((path, old)),
            (Some(_), Some(_)) | (None, None) => {}
            _ => patch.paths_changed = true,
        }
        before
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
                    self.touched.push(path.clone());
                    self.set(path, None, &mut patch);
                }
                WorkTreeChange::Present(path) | WorkTreeChange::Unmerged(path)
                    if !is_builtin_excluded(&path) =>
                {
                    self.touched.push(path.clone());
                    present.push(path)
                }
                WorkTreeChange::Staged(path) => self.touched.push(path),
                WorkTreeChange::Present(_) | WorkTreeChange::Unmerged(_) => {}
            }
        }
        let files = &self.files;
        let read: Vec<(String, Option<FileEntry>)> = present
            .into_par_iter()
            .map(|path| {
                let entry = entry_on_disk(&root, &path, files.get(&path).copied());
                (path, entry)
            })
            .collect();
        for (path, entry) in read {
            self.set(path, entry, &mut patch);
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

    /// Contents of the given files, keyed by their ids (see [`Snapshot::map_contents`]).
    pub fn contents(&self, repo: &Repo, paths: &[&str]) -> Result<Contents> {
        Ok(self
            .map_contents(repo, paths, |_, bytes, _| bytes.to_vec())?
            .into_iter()
            .map(|(p, bytes)| (self.files[p].id, bytes))
            .collect())
    }

    /// Calls `f` on the bytes of each of `paths` the snapshot holds, in parallel, one file at
    /// a time (so the contents are never all in memory). For the work tree and the index
    /// they come from disk; for a commit, and for an index entry whose file on disk differs,
    /// from git in one `cat-file` batch (a blob git lacks reads as empty). `f` also learns
    /// whether the bytes have the id the snapshot records: a work-tree file that changed
    /// after `git status` looked, or that a git filter such as end-of-line conversion
    /// rewrites, does not, and what is derived from it must not be remembered under that
    /// id. Results come in no particular order. An unreadable work-tree file is an error
    /// (the first in path order).
    pub fn map_contents<'p, T: Send>(
        &self,
        repo: &Repo,
        paths: &[&'p str],
        f: impl Fn(&str, &[u8], bool) -> T + Sync,
    ) -> Result<Vec<(&'p str, T)>> {
        let present: Vec<(&'p str, FileEntry)> = paths
            .iter()
            .filter_map(|&p| self.files.get(p).map(|e| (p, *e)))
            .collect();
        Ok(self
            .map_entries(repo, &present, f)?
            .into_iter()
            .map(|(p, _, value)| (p, value))
            .collect())
    }

    /// [`Snapshot::map_contents`] for paths whose entries the caller has already looked up
    /// (they must be this snapshot's), returned with each result.
    pub fn map_entries<'p, T: Send>(
        &self,
        repo: &Repo,
        items: &[(&'p str, FileEntry)],
        f: impl Fn(&str, &[u8], bool) -> T + Sync,
    ) -> Result<Vec<(&'p str, FileEntry, T)>> {
        let from_disk: Vec<(&'p str, FileEntry, Result<Option<T>>)> = items
            .par_iter()
            .map(|&(p, entry)| {
                let read =
                    self.with_disk_content(p, entry, |bytes, verified| f(p, bytes, verified));
                (p, entry, read)
            })
            .collect();
        let mut out = Vec::with_capacity(items.len());
        let mut from_git: Vec<(&'p str, FileEntry)> = Vec::new();
        for (p, entry, result) in from_disk {
            match result? {
                Some(value) => out.push((p, entry, value)),
                None => from_git.push((p, entry)),
            }
        }
        if !from_git.is_empty() {
            let mut ids: Vec<FileId> = from_git.iter().map(|(_, e)| e.id).collect();
            ids.sort();
            ids.dedup();
            let blobs = repo.read_blobs(&ids)?;
            out.par_extend(from_git.par_iter().map(|&(p, entry)| {
                let bytes = blobs.get(&entry.id).map(Vec::as_slice);
                (p, entry, f(p, bytes.unwrap_or_default(), true))
            }));
        }
        Ok(out)
    }

    /// `f` of one file's bytes from disk, for the work tree or the index, with whether they
    /// have the id the snapshot records. `None` when they must come from git instead: a
    /// commit, or an index entry whose file differs or is gone.
    ///
    /// Most files are read with one `read` into a buffer the thread keeps. For the index
    /// that read is trusted to be the whole file only when its content has the indexed blob
    /// id, which encodes the length; anything else comes from git, as a changed file does.
    /// The work tree reads on until the end of the file.
    fn with_disk_content<T>(
        &self,
        path: &str,
        entry: FileEntry,
        f: impl FnOnce(&[u8], bool) -> T,
    ) -> Result<Option<T>> {
        let (root, is_index) = match &self.source {
            Source::WorkTree(root) => (root, false),
            Source::Index(root) => (root, true),
            Source::Commit(_) => return Ok(None),
        };
        if is_unreadable_name(path) {
            return Ok(None);
        }
        let full = root.join(path);
        if entry.mode == SYMLINK_MODE {
            // A link's content is where it points, as git stores it; never the file it
            // points at.
            return match std::fs::read_link(&full) {
                Ok(target) => {
                    let bytes = target.as_os_str().as_encoded_bytes();
                    let verified = FileId::of_content(bytes) == entry.id;
                    Ok((verified || !is_index).then(|| f(bytes, verified)))
                }
                Err(_) if is_index => Ok(None),
                Err(e) => Err(Error::io(full, e)),
            };
        }
        let read = READ_BUFFER.with(|cell| {
            // Taken out, not borrowed: `f` may run other reads on this thread.
            let mut buf = cell.take();
            let read = read_file(&full, &mut buf, !is_index);
            let out = read.map(|extra| {
                let bytes: &[u8] = match &extra {
                    Extra::Fits(n) => &buf[..*n],
                    Extra::Whole(bytes) => bytes,
                };
                let verified = FileId::of_content(bytes) == entry.id;
                (verified || !is_index).then(|| f(bytes, verified))
            });
            cell.set(buf);
            out
        });
        match read {
            Ok(value) => Ok(value),
            Err(_) if is_index => Ok(None),
            Err(e) => Err(Error::io(full, e)),
        }
    }
}

/// The size of the buffer each thread reads files into: larger files are read whole.
const READ_BUFFER_SIZE: usize = 64 * 1024;

thread_local! {
    static READ_BUFFER: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}

/// Where [`read_file`] left a file's bytes.
enum Extra {
    /// The first `n` bytes of the buffer.
    Fits(usize),
    /// A file that did not fit the buffer, read whole.
    Whole(Vec<u8>),
}

/// Reads `path` with one `read` when it fits `buf` (sized on first use and then reused;
/// a short read ends the file unless `to_end`, which reads until `read` returns 0).
fn read_file(path: &Path, buf: &mut Vec<u8>, to_end: bool) -> std::io::Result<Extra> {
    use std::io::Read;
    if buf.len() != READ_BUFFER_SIZE {
        *buf = vec![0; READ_BUFFER_SIZE];
    }
    // Not through a link, and not waiting for a FIFO's writer: a tracked file replaced by
    // either (a link to /dev/zero) would read without end, or block for ever.
    let mut file = strata_fs::open_unfollowed(path)?;
    let mut n = 0;
    loop {
        match file.read(&mut buf[n..]) {
            Ok(0) => return Ok(Extra::Fits(n)),
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
        if n == buf.len() {
            let mut whole = buf.clone();
            file.read_to_end(&mut whole)?;
            return Ok(Extra::Whole(whole));
        }
        if !to_end {
            return Ok(Extra::Fits(n));
        }
    }
}

impl Snapshot {
    /// The text of each of `paths` that the snapshot holds, in order (lossy UTF-8).
    pub fn texts(&self, repo: &Repo, paths: &[&str]) -> Result<Vec<(String, String)>> {
        self.decoded(repo, paths, |_, bytes| {
            Ok(crate::text::lossy_utf8(bytes).into_owned())
        })
    }

    /// [`Snapshot::texts`] of configuration files: one that is not valid UTF-8 is an error
    /// naming its line, not text with U+FFFD in it.
    pub fn config_texts(&self, repo: &Repo, paths: &[&str]) -> Result<Vec<(String, String)>> {
        self.decoded(repo, paths, |path, bytes| self.config_text(path, bytes))
    }

    /// A configuration file's text: valid UTF-8, and not a link (git records a link as the
    /// path it points to, which would be read as the file's settings).
    fn config_text(&self, path: &str, bytes: &[u8]) -> Result<String> {
        if self.files.get(path).map(|e| e.mode) == Some(SYMLINK_MODE) {
            return Err(Error::Invalid {
                message: format!(
                    "`{path}` is a symbolic link (to `{}`): strata reads this configuration file as committed, and git commits a link as the path it points to",
                    crate::text::lossy_utf8(bytes)
                ),
                location: crate::error::Location::new(path, None),
                hint: "commit the file itself in place of the link (a copy of the file it points to)".into(),
            });
        }
        crate::text::strict_utf8(bytes, path).map(str::to_string)
    }

    /// [`Snapshot::config_texts`], with a file that is not valid UTF-8 an error of its own
    /// rather than of the whole call: for files that are each a target's (a policy's
    /// `policy.toml`), whose error is that target's problem.
    pub fn config_texts_each(
        &self,
        repo: &Repo,
        paths: &[&str],
    ) -> Result<Vec<(String, Result<String>)>> {
        self.decoded(repo, paths, |path, bytes| Ok(self.config_text(path, bytes)))
    }

    /// The files of `paths` decoded by `decode`, in the order of `paths`.
    fn decoded<T: Send>(
        &self,
        repo: &Repo,
        paths: &[&str],
        decode: impl Fn(&str, &[u8]) -> Result<T> + Sync,
    ) -> Result<Vec<(String, T)>> {
        let mut texts = self.map_contents(repo, paths, |path, bytes, _| decode(path, bytes))?;
        let order: HashMap<&str, usize> = paths.iter().enumerate().map(|(i, p)| (*p, i)).collect();
        texts.sort_by_key(|(p, _)| order[p]);
        texts
            .into_iter()
            .map(|(p, text)| Ok((p.to_string(), text?)))
            .collect()
    }

    /// The files below directory `dir` (every file for the root, `""`), in path order, each
    /// as its path and its path below `dir`.
    pub fn files_below<'s>(&'s self, dir: &str) -> impl Iterator<Item = (&'s str, &'s str)> {
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        let skip = prefix.len();
        self.files
            .range(prefix.clone()..)
            .map(|(p, _)| p.as_str())
            .take_while(move |p| p.starts_with(&prefix))
            .map(move |p| (p, &p[skip..]))
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

pub(crate) fn to_map(files: Vec<GitFile>) -> BTreeMap<String, FileEntry> {
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

/// Whether a path's name reached strata with bytes that are not UTF-8 (git gives paths as
/// bytes; strata's paths are text, so invalid bytes became U+FFFD). Such a file cannot be
/// read by its name: it keeps the entry git has for it (or [`UNREADABLE`]), and the target
/// owning it cannot be modelled (see `model::build`), so it is never mistaken for deleted
/// or unchanged.
pub fn is_unreadable_name(path: &str) -> bool {
    path.contains('\u{FFFD}')
}

/// The entry of a file with an unreadable name that git has no entry for (untracked).
pub const UNREADABLE: FileEntry = FileEntry {
    id: FileId([0xff; 20]),
    mode: 0o100644,
};

/// The entry of a file that is there but whose content cannot be read (permissions). Taken
/// as gone, it would drop a policy, a manifest's settings or a stack's code without a word;
/// with this entry the file is present, and a target owning it, or a global input, cannot
/// be modelled (see `model::build`), while a file nothing reads stays harmless.
pub const UNREADABLE_CONTENT: FileEntry = FileEntry {
    id: FileId([0xfe; 20]),
    mode: 0o100644,
};

/// Whether `entry` is [`UNREADABLE_CONTENT`].
pub fn is_unreadable_content(entry: &FileEntry) -> bool {
    entry.id == UNREADABLE_CONTENT.id
}

/// A work-tree file's entry as it is on disk (`None`: gone); a file whose name cannot be
/// read keeps `indexed`, the entry git has for it; one whose content cannot be read is
/// [`UNREADABLE_CONTENT`].
pub(crate) fn entry_on_disk(
    root: &Path,
    path: &str,
    indexed: Option<FileEntry>,
) -> Option<FileEntry> {
    if is_unreadable_name(path) {
        return Some(indexed.unwrap_or(UNREADABLE));
    }
    // A path below a symbolic link is not in the work tree (git reports it deleted, and
    // the link itself untracked): a directory replaced by a link to a copy of it is gone.
    if beyond_a_link(root, path) {
        return None;
    }
    read_entry(&root.join(path)).unwrap_or(Some(UNREADABLE_CONTENT))
}

/// Whether a directory on the way to `path` (below `root`) is a symbolic link.
fn beyond_a_link(root: &Path, path: &str) -> bool {
    let mut at = 0;
    while let Some(slash) = path[at..].find('/') {
        at += slash;
        if std::fs::symlink_metadata(root.join(&path[..at])).is_ok_and(|m| m.is_symlink()) {
            return true;
        }
        at += 1;
    }
    false
}

/// git's mode for a symbolic link; its blob is the path it points to.
pub const SYMLINK_MODE: u32 = 0o120000;

/// Reads a work-tree file and computes its id and git mode; `None` when it is gone (or no
/// file any more: a directory now); an error when it is there and cannot be read.
pub(crate) fn read_entry(path: &Path) -> std::io::Result<Option<FileEntry>> {
    let gone = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory => Ok(None),
        _ => Err(e),
    };
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) => return gone(e),
    };
    if meta.file_type().is_symlink() {
        let target = match std::fs::read_link(path) {
            Ok(target) => target,
            Err(e) => return gone(e),
        };
        let bytes = target.as_os_str().as_encoded_bytes().to_vec();
        return Ok(Some(FileEntry {
            id: FileId::of_content(&bytes),
            mode: SYMLINK_MODE,
        }));
    }
    if !meta.is_file() {
        return Ok(None);
    }
    let content = match std::fs::read(path) {
        Ok(content) => content,
        Err(e) => return gone(e),
    };
    #[cfg(unix)]
    let executable = {
        use std::os::unix::fs::PermissionsExt;
        meta.permissions().mode() & 0o111 != 0
    };
    #[cfg(not(unix))]
    let executable = false;
    Ok(Some(FileEntry {
        id: FileId::of_content(&content),
        mode: if executable { 0o100755 } else { 0o100644 },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_of_every_size_are_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let mut buf = Vec::new();
        for size in [
            0,
            1,
            READ_BUFFER_SIZE - 1,
            READ_BUFFER_SIZE,
            READ_BUFFER_SIZE + 1,
            3 * READ_BUFFER_SIZE + 7,
        ] {
            let content: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
            let path = dir.path().join(format!("f{size}"));
            std::fs::write(&path, &content).unwrap();
            for to_end in [false, true] {
                let bytes = match read_file(&path, &mut buf, to_end).unwrap() {
                    Extra::Fits(n) => buf[..n].to_vec(),
                    Extra::Whole(bytes) => bytes,
                };
                assert_eq!(bytes, content, "size {size}, to_end {to_end}");
            }
        }
        assert!(read_file(&dir.path().join("missing"), &mut buf, true).is_err());
    }

    #[test]
    fn builtin_exclusions() {
        assert!(is_builtin_excluded("stacks/a/.terraform/providers/x"));
        assert!(is_builtin_excluded("stacks/a/terraform.tfstate"));
        assert!(is_builtin_excluded("stacks/a/terraform.tfstate.backup"));
        assert!(is_builtin_excluded(".strata/cache/x"));
        assert!(is_builtin_excluded("environments/dev/.strata-tmp-x1Yz9q"));
        // Terragrunt's copies of a unit's code.
        assert!(is_builtin_excluded(
            "live/dev/vpc/.terragrunt-cache/abc/def/main.tf"
        ));
        assert!(!is_builtin_excluded("stacks/a/.terraform.lock.hcl"));
        assert!(!is_builtin_excluded("stacks/a/main.tf"));
    }
}
