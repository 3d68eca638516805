//! Everything strata asks git. A handful of processes per command, never one per file:
//! `rev-parse` once, `ls-files`/`status` for the work tree, `ls-tree` for a commit and one
//! `cat-file --batch` for all blob contents needed at a revision.

use crate::digest::FileId;
use crate::error::{Error, Result};
use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

mod index;
pub use index::Index;

/// A git repository seen from a workspace root (which may be a subdirectory of the repo).
#[derive(Debug, Clone)]
pub struct Repo {
    /// The workspace root; git commands run here so paths come back relative to it.
    root: PathBuf,
    /// The workspace root relative to the repository top level, `""` or `"dir/sub/"`.
    prefix: String,
    shallow: bool,
    /// The index file (`.git/index`, or wherever `GIT_INDEX_FILE` or a worktree puts it).
    index_path: PathBuf,
    /// Object ids are SHA-1 (the in-process index reader handles only those).
    sha1: bool,
}

/// One file as git records it: path relative to the workspace root, mode, blob id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitFile {
    pub path: String,
    pub mode: u32,
    pub id: FileId,
}

/// What the index holds, as the daemon follows it.
pub struct IndexState {
    /// Stage-0 entries below the workspace root (gitlinks left out).
    pub files: Vec<GitFile>,
    /// Paths in a merge conflict.
    pub unmerged: BTreeSet<String>,
    /// An entry is flagged `assume-unchanged` or `skip-worktree` (also when the index
    /// could not be read in process).
    pub flagged: bool,
    /// A digest of the flags (see [`index::Index::flags`]); `None` when unknown.
    pub flags: Option<[u8; 32]>,
}

/// A path `git status` reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkTreeChange {
    /// Modified, added or untracked: read it from disk.
    Present(String),
    /// In a merge conflict (the index holds no single entry): read it from disk.
    Unmerged(String),
    /// Deleted from the work tree.
    Deleted(String),
    /// Changed in the index only (the work tree matches the index, whose id is right).
    Staged(String),
}

impl WorkTreeChange {
    pub fn path(&self) -> &str {
        match self {
            WorkTreeChange::Present(p)
            | WorkTreeChange::Unmerged(p)
            | WorkTreeChange::Deleted(p)
            | WorkTreeChange::Staged(p) => p,
        }
    }
}

/// A `git` command: git is the one program the graph core runs (the workspace's clippy.toml
/// keeps every other spawn in strata-exec).
#[allow(clippy::disallowed_methods)]
fn git_command() -> Command {
    Command::new("git")
}

impl Repo {
    pub fn open(root: &Path) -> Result<Repo> {
        let out = git_command()
            .current_dir(root)
            .args([
                "rev-parse",
                "--show-prefix",
                "--is-shallow-repository",
                "--git-path",
                "index",
                "--show-object-format",
            ])
            .env("LC_ALL", "C")
            .output()
            .map_err(|e| Error::io("git", e))?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            if stderr.contains("not a git repository") {
                return Err(Error::NotGitRepo {
                    path: root.to_path_buf(),
                });
            }
            return Err(Error::Git {
                args: "rev-parse".into(),
                stderr: stderr.trim().into(),
            });
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let mut lines = text.lines();
        let prefix = lines.next().unwrap_or("").to_string();
        let shallow = lines.next() == Some("true");
        let index_path = root.join(lines.next().unwrap_or(".git/index"));
        let sha1 = lines.next() == Some("sha1");
        Ok(Repo {
            root: root.to_path_buf(),
            prefix,
            shallow,
            index_path,
            sha1,
        })
    }

    /// The workspace root relative to the repository's top level: `""` or `"dir/sub/"`.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub fn is_shallow(&self) -> bool {
        self.shallow
    }

    /// The branch changes are compared against: the remote's default branch when the
    /// clone knows it (`origin/HEAD`), else the branch checked out; `None` on a detached
    /// HEAD without a remote default.
    pub fn default_branch(&self) -> Option<String> {
        let asks: [(&[&str], &str); 2] = [
            (
                &[
                    "symbolic-ref",
                    "--quiet",
                    "--short",
                    "refs/remotes/origin/HEAD",
                ],
                "origin/",
            ),
            (&["symbolic-ref", "--quiet", "--short", "HEAD"], ""),
        ];
        asks.iter().find_map(|(args, remote)| {
            let out = self.run(args).ok()?;
            let name = String::from_utf8_lossy(&out).trim().to_string();
            let name = name.strip_prefix(remote).unwrap_or(&name).to_string();
            (!name.is_empty()).then_some(name)
        })
    }

    fn command(&self) -> Command {
        let mut c = git_command();
        c.current_dir(&self.root)
            .arg("--no-optional-locks")
            .arg("-c")
            .arg("core.quotepath=off")
            .env("LC_ALL", "C")
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE");
        c
    }

    fn run(&self, args: &[&str]) -> Result<Vec<u8>> {
        let out = self
            .command()
            .args(args)
            .stderr(Stdio::piped())
            .output()
            .map_err(|e| Error::io("git", e))?;
        if !out.status.success() {
            return Err(Error::Git {
                args: args.join(" "),
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
        }
        Ok(out.stdout)
    }

    /// The index file; the directory holding it also holds `HEAD`.
    pub fn index_path(&self) -> &Path {
        &self.index_path
    }

    /// Whether a tracked file's bytes or mode on disk may differ from git's view of it for
    /// reasons of git's configuration: end-of-line conversion or filters
    /// (`core.autocrlf`, a global `core.attributesFile`, the repository's `info/attributes`),
    /// modes git ignores (`core.fileMode = false`), or a sparse checkout. (`.gitattributes`
    /// files in the work tree, and flags on index entries, are the caller's to look at.)
    pub fn may_differ_from_disk(&self) -> bool {
        let out = self
            .command()
            .args([
                "config",
                "--get-regexp",
                r"^core\.(autocrlf|attributesfile|filemode|sparsecheckout)$",
            ])
            .stderr(Stdio::null())
            .output();
        let Ok(out) = out else { return true };
        let text = String::from_utf8_lossy(&out.stdout).to_ascii_lowercase();
        let set = |key: &str, value: &str| {
            text.lines()
                .any(|l| l.split_once(' ') == Some((key, value)))
        };
        let attributes = self.index_path.parent().map(|d| d.join("info/attributes"));
        text.lines().any(|l| l.starts_with("core.attributesfile "))
            || text
                .lines()
                .any(|l| l.starts_with("core.autocrlf ") && !l.ends_with(" false"))
            || set("core.filemode", "false")
            || set("core.sparsecheckout", "true")
            || attributes.is_some_and(|a| a.exists())
    }

    /// Which of `paths` (workspace-relative, tracked) git sees changed in the work tree
    /// against the index: git's own view, after `core.fileMode`, `assume-unchanged`,
    /// `skip-worktree` (a sparse checkout's files absent on disk), and the clean filters and
    /// end-of-line conversion `.gitattributes` set, none of which a read of the file's bytes
    /// knows. Unmerged paths count as changed.
    pub fn changed_in_work_tree(&self, paths: &[&str]) -> Result<BTreeSet<String>> {
        // A long list goes as one whole-tree status (the command line has its limits).
        const LISTED: usize = 1000;
        let listed: &[&str] = if paths.len() <= LISTED { paths } else { &["."] };
        let out = self.status(&[], &["--untracked-files=no"], Some(listed))?;
        Ok(status_records(&out)
            .filter_map(|record| match record {
                StatusRecord::Tracked { worktree, path, .. } if worktree != b'.' => Some(path),
                StatusRecord::Unmerged(path) => Some(path),
                _ => None,
            })
            .filter_map(|path| self.strip(&path))
            .collect())
    }

    /// The files outside the workspace that decide what git ignores in it and how it sees
    /// its files: the repository's `info/exclude` and `info/attributes` where a linked
    /// worktree shares them, each `.gitignore` from the repository's top level down to the
    /// workspace root (the root's own excluded: it lies in the work tree), the files
    /// `core.excludesFile` and `core.attributesFile` name (git's defaults,
    /// `$XDG_CONFIG_HOME/git/ignore` and `.../attributes`, when they name none), and git's
    /// configuration files ([`Repo::config_files`]), which may change any. Each may not
    /// exist (yet).
    pub fn git_view_outside(&self) -> Vec<PathBuf> {
        let mut files = self.config_files();
        let git_path = |args: &[&str]| self.path_from_git(args);
        if let Some(common) = git_path(&["rev-parse", "--git-common-dir"]) {
            files.push(common.join("info/exclude"));
            files.push(common.join("info/attributes"));
        }
        let mut top = self.root.clone();
        for _ in self.prefix.split('/').filter(|s| !s.is_empty()) {
            top.pop();
        }
        let mut dir = top;
        for part in self.prefix.split('/').filter(|s| !s.is_empty()) {
            files.push(dir.join(".gitignore"));
            dir.push(part);
        }
        for (key, default) in [
            ("core.excludesFile", "git/ignore"),
            ("core.attributesFile", "git/attributes"),
        ] {
            let file = git_path(&["config", "--path", "--get", key]).or_else(|| {
                let config = std::env::var_os("XDG_CONFIG_HOME")
                    .filter(|d| !d.is_empty())
                    .map(PathBuf::from)
                    .or_else(|| {
                        std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config"))
                    })?;
                Some(config.join(default))
            });
            files.extend(file);
        }
        files.sort();
        files.dedup();
        files
    }

    /// The path git prints for `args`, taken from the workspace root when relative; none
    /// when git fails or prints nothing.
    fn path_from_git(&self, args: &[&str]) -> Option<PathBuf> {
        let out = git_command()
            .current_dir(&self.root)
            .args(args)
            .env("LC_ALL", "C")
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
        (out.status.success() && !text.is_empty()).then(|| self.root.join(text))
    }

    /// The files git reads its configuration from for this repository, as git finds them:
    /// the repository's `config` and `config.worktree`, the user's (`$GIT_CONFIG_GLOBAL`,
    /// or both `~/.gitconfig` and `$XDG_CONFIG_HOME/git/config`) and the system's
    /// (`$GIT_CONFIG_SYSTEM`, or `/etc/gitconfig`; none under `GIT_CONFIG_NOSYSTEM`).
    /// Each may not exist (yet).
    pub fn config_files(&self) -> Vec<PathBuf> {
        let mut files = Vec::new();
        let git_path = |args: &[&str]| self.path_from_git(args);
        if let Some(common) = git_path(&["rev-parse", "--git-common-dir"]) {
            files.push(common.join("config"));
        }
        if let Some(dir) = git_path(&["rev-parse", "--git-dir"]) {
            files.push(dir.join("config.worktree"));
        }
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        match var("GIT_CONFIG_GLOBAL") {
            Some(global) => files.push(PathBuf::from(global)),
            None => {
                if let Some(home) = var("HOME") {
                    files.push(PathBuf::from(&home).join(".gitconfig"));
                }
                let xdg = var("XDG_CONFIG_HOME")
                    .map(PathBuf::from)
                    .or_else(|| var("HOME").map(|h| PathBuf::from(h).join(".config")));
                if let Some(xdg) = xdg {
                    files.push(xdg.join("git/config"));
                }
            }
        }
        let no_system = var("GIT_CONFIG_NOSYSTEM")
            .is_some_and(|v| !matches!(v.to_str(), Some("0" | "false" | "no" | "off")));
        if !no_system {
            files.push(
                var("GIT_CONFIG_SYSTEM").map_or_else(|| "/etc/gitconfig".into(), PathBuf::from),
            );
        }
        files.extend(self.included_config_files());
        files.sort();
        files.dedup();
        files
    }

    /// The files the configuration pulls in (`[include]`, `[includeIf …]`), as git reads
    /// them now: the origin of every setting, and every include's target (which may hold
    /// nothing yet, or not exist).
    fn included_config_files(&self) -> Vec<PathBuf> {
        let Ok(out) = git_command()
            .current_dir(&self.root)
            .args(["config", "--list", "--show-origin", "-z"])
            .env("LC_ALL", "C")
            .output()
        else {
            return Vec::new();
        };
        let mut files = Vec::new();
        let fields: Vec<&[u8]> = out.stdout.split(|&b| b == 0).collect();
        for pair in fields.chunks(2) {
            let [origin, entry] = pair else { continue };
            let origin = String::from_utf8_lossy(origin);
            let Some(from) = origin.strip_prefix("file:") else {
                continue;
            };
            let from = self.root.join(from);
            let entry = String::from_utf8_lossy(entry);
            let (key, value) = entry.split_once('\n').unwrap_or((&entry, ""));
            let key = key.to_ascii_lowercase();
            let include =
                key == "include.path" || (key.starts_with("includeif.") && key.ends_with(".path"));
            if include && !value.is_empty() {
                let target = match value.strip_prefix("~/") {
                    Some(rest) => std::env::var_os("HOME").map(|h| PathBuf::from(h).join(rest)),
                    None => Some(from.parent().unwrap_or(&self.root).join(value)),
                };
                files.extend(target);
            }
            files.push(from);
        }
        files
    }

    /// The untracked, not ignored files at or below each of `paths` (workspace-relative;
    /// taken literally, not as patterns).
    pub fn untracked_under(&self, paths: &[&str]) -> Result<Vec<String>> {
        let mut args = vec![
            "--literal-pathspecs",
            "ls-files",
            "--others",
            "--exclude-standard",
            "-z",
            "--",
        ];
        args.extend(paths);
        let out = self.run(&args)?;
        Ok(nul_paths(&out))
    }

    /// Checks `commit` out, detached, into a new worktree at `dir`; returns the workspace
    /// root inside it (the same place relative to the repository's top level).
    pub fn add_worktree(&self, dir: &Path, commit: &str) -> Result<PathBuf> {
        let path = dir.to_string_lossy();
        self.run(&["worktree", "add", "--detach", "--quiet", &path, commit])?;
        Ok(dir.join(self.prefix.trim_end_matches('/')))
    }

    /// Removes a worktree [`Repo::add_worktree`] made (and what git recorded of it).
    pub fn remove_worktree(&self, dir: &Path) {
        let path = dir.to_string_lossy();
        let _ = self.run(&["worktree", "remove", "--force", &path]);
        let _ = std::fs::remove_dir_all(dir);
        let _ = self.run(&["worktree", "prune"]);
    }

    /// Forgets the worktrees whose directories are gone.
    pub fn prune_worktrees(&self) {
        let _ = self.run(&["worktree", "prune"]);
    }

    /// A git configuration value (`user.email`), when set.
    pub fn config(&self, key: &str) -> Option<String> {
        let out = self.run(&["config", "--get", key]).ok()?;
        let value = String::from_utf8_lossy(&out).trim().to_string();
        (!value.is_empty()).then_some(value)
    }

    /// Resolves a revision to a commit id, or [`Error::UnknownRevision`].
    pub fn resolve_commit(&self, rev: &str) -> Result<String> {
        let spec = format!("{rev}^{{commit}}");
        let out = self
            .command()
            .args([
                "rev-parse",
                "--verify",
                "--quiet",
                "--end-of-options",
                &spec,
            ])
            .output()
            .map_err(|e| Error::io("git", e))?;
        if !out.status.success() {
            return Err(Error::UnknownRevision {
                rev: rev.into(),
                hint: self.unknown_revision_hint(rev),
            });
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// When `commit` was made (its committer time, seconds since the epoch); `None` when
    /// this clone does not have it.
    pub fn commit_time(&self, commit: &str) -> Option<i64> {
        let spec = format!("{commit}^{{commit}}");
        let out = self
            .run(&["show", "-s", "--format=%ct", "--end-of-options", &spec])
            .ok()?;
        String::from_utf8_lossy(&out).trim().parse().ok()
    }

    /// What to say about a revision this clone does not have.
    fn unknown_revision_hint(&self, rev: &str) -> String {
        // A fetch names a ref: `main~1` or `main^` is fetched as `main` (with the history
        // that holds it), `origin/main` as `main`.
        let branch = rev
            .trim_start_matches("origin/")
            .split(['~', '^', '@', ':'])
            .next()
            .unwrap_or(rev);
        if self.shallow {
            return format!(
                "this clone is shallow and may not have fetched `{rev}`: fetch it (`git fetch --depth=200 origin {branch}`) or all history (`git fetch --unshallow`; in GitHub Actions `fetch-depth: 0`)"
            );
        }
        let branches = self.branches();
        if let Some(near) = crate::error::did_you_mean(rev, &branches) {
            return format!("{near} (`git branch -a` lists the branches)");
        }
        let listed = if branches.is_empty() {
            "none".to_string()
        } else {
            branches
                .iter()
                .take(8)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        };
        format!(
            "this repository's branches are: {listed}; in CI, fetch the branch first (`git fetch origin {branch}`)"
        )
    }

    /// Local and remote-tracking branch names, for suggestions.
    fn branches(&self) -> Vec<String> {
        self.command()
            .args([
                "for-each-ref",
                "--format=%(refname)",
                "refs/heads",
                "refs/remotes",
            ])
            .output()
            .map(|o| {
                // Full names, since git shortens `refs/remotes/origin/HEAD` to `origin`,
                // which is no branch.
                String::from_utf8_lossy(&o.stdout)
                    .lines()
                    .filter(|l| !l.is_empty() && !l.ends_with("/HEAD"))
                    .filter_map(|l| {
                        l.strip_prefix("refs/heads/")
                            .or_else(|| l.strip_prefix("refs/remotes/"))
                    })
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Whether a revision exists (for picking `origin/<branch>` over `<branch>`).
    pub fn has_revision(&self, rev: &str) -> bool {
        self.resolve_commit(rev).is_ok()
    }

    /// The best common ancestor of two commits; a shallow clone missing it is an error.
    pub fn merge_base(&self, base: &str, head: &str) -> Result<String> {
        let out = self
            .command()
            .args(["merge-base", base, head])
            .output()
            .map_err(|e| Error::io("git", e))?;
        if out.status.success() {
            let found = String::from_utf8_lossy(&out.stdout).trim().to_string();
            // A side that is an ancestor of the other is their merge-base, whatever history
            // is cut (`--base HEAD^1` in a merge commit's shallow checkout).
            let is_side =
                |rev: &str| rev == found || self.resolve_commit(rev).ok() == Some(found.clone());
            if self.shallow && !is_side(base) && !is_side(head) {
                self.check_uncut(base, head, &found)?;
            }
            return Ok(found);
        }
        if self.shallow {
            Err(Error::ShallowClone {
                base: base.into(),
                head: head.into(),
            })
        } else {
            Err(Error::NoMergeBase {
                base: base.into(),
                head: head.into(),
            })
        }
    }

    /// In a shallow clone, that the merge-base git found is the real one: git answers with
    /// the best common ancestor of the commits it has, and when the history between the
    /// two sides and that answer is cut (a commit there whose parents were not fetched), a
    /// later common ancestor may sit beyond the cut. Every change between them would then
    /// count as the branch's own, or (worse) a change the branch undid would not.
    fn check_uncut(&self, base: &str, head: &str, found: &str) -> Result<()> {
        let shallow_file = self.run(&["rev-parse", "--git-path", "shallow"])?;
        let path = self
            .root
            .join(String::from_utf8_lossy(&shallow_file).trim_end_matches('\n'));
        let cuts: BTreeSet<String> = match std::fs::read_to_string(&path) {
            Ok(text) => text.lines().map(str::to_string).collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(Error::io(path.display().to_string(), e)),
        };
        let not = format!("^{found}");
        let between = self.run(&["rev-list", base, head, &not, "--"])?;
        let cut = String::from_utf8_lossy(&between)
            .lines()
            .find(|c| cuts.contains(*c))
            .map(str::to_string);
        match cut {
            None => Ok(()),
            Some(cut) => Err(Error::ShallowMergeBase {
                base: base.into(),
                head: head.into(),
                found: found.chars().take(12).collect(),
                cut: cut.chars().take(12).collect(),
            }),
        }
    }

    /// The text of the repository's top-level `.gitmodules` as `source` has it (the commit's,
    /// or the file on disk), for a workspace in a subdirectory of its repository; `None`
    /// when there is none.
    pub fn top_gitmodules(&self, source: &crate::snapshot::Source) -> Option<String> {
        match source {
            crate::snapshot::Source::Commit(commit) => {
                let out = self.run(&["show", &format!("{commit}:.gitmodules")]).ok()?;
                Some(String::from_utf8_lossy(&out).into_owned())
            }
            _ => {
                let depth = self.prefix.split('/').filter(|p| !p.is_empty()).count();
                let top = self.root.ancestors().nth(depth)?;
                std::fs::read_to_string(top.join(".gitmodules")).ok()
            }
        }
    }

    /// Of `paths` (workspace-relative), those git stores through git LFS (the `filter`
    /// attribute is `lfs`, as `.gitattributes` sets it).
    pub fn lfs_tracked(&self, paths: &[&str]) -> Result<BTreeSet<String>> {
        if paths.is_empty() {
            return Ok(BTreeSet::new());
        }
        let mut args = vec!["check-attr", "-z", "filter", "--"];
        args.extend(paths);
        let out = self.run(&args)?;
        // <path> NUL <attribute> NUL <value> NUL, for each path.
        let fields: Vec<&[u8]> = out.split(|&b| b == 0).collect();
        Ok(fields
            .chunks(3)
            .filter(|f| f.len() == 3 && f[2] == b"lfs")
            .map(|f| crate::text::lossy_utf8(f[0]).into_owned())
            .collect())
    }

    /// The bytes of the file at `path` (workspace-relative) in `commit`; `None` when the
    /// commit has no file there.
    pub fn file_at(&self, commit: &str, path: &str) -> Result<Option<Vec<u8>>> {
        let out = self.run(&["ls-tree", "-z", commit, "--", path])?;
        let Some(file) = tab_records(&out).find_map(|(meta, p)| match meta[..] {
            [mode, "blob", oid, ..] if p == path.as_bytes() => parse_file(mode, oid, p),
            _ => None,
        }) else {
            return Ok(None);
        };
        Ok(self.read_blobs(&[file.id])?.remove(&file.id))
    }

    /// Which of `paths` (workspace-relative) hold a submodule's commit (a gitlink) in the
    /// tree `source` reads: the commit's, or the index for the work tree.
    pub fn gitlinks(
        &self,
        source: &crate::snapshot::Source,
        paths: &[&str],
    ) -> Result<std::collections::BTreeSet<String>> {
        let mut args: Vec<&str> = match source {
            crate::snapshot::Source::Commit(commit) => vec!["ls-tree", "-z", commit.as_str()],
            _ => vec!["ls-files", "--stage", "-z"],
        };
        args.push("--");
        args.extend(paths);
        let out = self.run(&args)?;
        // ls-tree: <mode> SP <type> SP <object> TAB <path>; ls-files: <mode> SP <object>
        // SP <stage> TAB <path>.
        Ok(tab_records(&out)
            .filter(|(meta, _)| meta.first() == Some(&"160000"))
            .map(|(_, path)| crate::text::lossy_utf8(path).into_owned())
            .collect())
    }

    /// Every file in a commit below the workspace root.
    pub fn ls_tree(&self, commit: &str) -> Result<Vec<GitFile>> {
        let out = self.run(&["ls-tree", "-r", "-z", commit])?;
        // <mode> SP <type> SP <object> TAB <path>
        Ok(tab_records(&out)
            .filter_map(|(meta, path)| match meta[..] {
                // Submodules (commits) are not inputs.
                [mode, "blob", oid, ..] => parse_file(mode, oid, path),
                _ => None,
            })
            .collect())
    }

    /// The index, read in process; `None` when it uses a feature left to git (see
    /// [`index`]) or cannot be read.
    pub fn read_index(&self) -> Option<Index> {
        if !self.sha1 {
            return None;
        }
        let bytes = std::fs::read(&self.index_path).ok()?;
        index::parse(&bytes, &self.prefix)
    }

    /// Index entries (stage 0) below the workspace root: read in process, or from
    /// `git ls-files` for an index the reader leaves to git.
    pub fn index_files(&self) -> Result<Vec<GitFile>> {
        Ok(self.index_state()?.files)
    }

    /// [`Repo::index_files`], with the digest of the index's entries when it is read in
    /// process (see [`index::Index::digest`]).
    pub fn index_files_and_digest(&self) -> Result<(Vec<GitFile>, Option<[u8; 32]>)> {
        match self.read_index() {
            Some(index) => Ok((index.entries, Some(index.digest))),
            None => Ok((self.index_state()?.files, None)),
        }
    }

    /// [`Repo::index_files`], the paths in a merge conflict (which have no stage-0 entry:
    /// they are read from the work tree), and whether an entry may be marked
    /// `assume-unchanged` or `skip-worktree` (see [`index::Index::flagged`]; unknown, so
    /// true, when git had to list the index).
    pub fn index_state(&self) -> Result<IndexState> {
        if let Some(index) = self.read_index() {
            let unmerged = index.unmerged.into_iter().collect();
            return Ok(IndexState {
                files: index.entries,
                unmerged,
                flagged: index.flagged,
                flags: Some(index.flags),
            });
        }
        let out = self.run(&["ls-files", "--stage", "-z"])?;
        // <mode> SP <object> SP <stage> TAB <path>; gitlinks skipped.
        let mut files = Vec::new();
        let mut unmerged = BTreeSet::new();
        for (meta, path) in tab_records(&out) {
            match meta[..] {
                ["160000", ..] => {}
                [mode, oid, "0", ..] => files.extend(parse_file(mode, oid, path)),
                [_, _, _, ..] => {
                    unmerged.insert(crate::text::lossy_utf8(path).into_owned());
                }
                _ => {}
            }
        }
        Ok(IndexState {
            files,
            unmerged,
            flagged: true,
            flags: None,
        })
    }

    /// Work-tree paths that differ from the index, plus untracked (not ignored) files.
    ///
    /// `git status` runs without git's untracked cache (`-c core.untrackedCache=false`),
    /// whatever the repository configures: that cache trusts a directory's mtime to the
    /// second, so a file created in the same second as the cache was written is missed by
    /// every later status once another command has written the index, and a missed file is
    /// a missed target. Git may record refreshed stat data in the index as any `git status`
    /// does, and drops a cache an earlier status left there. Untracked directories it
    /// reports whole are listed with one `git ls-files --others` call.
    pub fn work_tree_changes(&self) -> Result<Vec<WorkTreeChange>> {
        // Limit a workspace in a subdirectory to itself.
        let within = (!self.prefix.is_empty()).then_some(&["."][..]);
        let out = self.status(
            &["core.untrackedCache=false"],
            &["--untracked-files=normal"],
            within,
        )?;
        let mut changes = Vec::new();
        let mut untracked_dirs: Vec<String> = Vec::new();
        for record in status_records(&out) {
            match record {
                StatusRecord::Tracked {
                    index,
                    worktree,
                    path,
                } => {
                    let Some(path) = self.strip(&path) else {
                        continue;
                    };
                    if worktree == b'D' || (index == b'D' && worktree == b'.') {
                        // A tracked file replaced by a directory: git reports the file
                        // deleted and does not look inside, so the files there are listed
                        // as any untracked directory's (a marker file turned directory is
                        // then seen, and refused, instead of silently dropped).
                        if worktree == b'D' && self.root.join(&path).is_dir() {
                            untracked_dirs.push(format!("{path}/"));
                        }
                        changes.push(WorkTreeChange::Deleted(path));
                    } else if worktree != b'.' {
                        changes.push(WorkTreeChange::Present(path));
                    } else {
                        changes.push(WorkTreeChange::Staged(path));
                    }
                }
                StatusRecord::Unmerged(path) => {
                    if let Some(path) = self.strip(&path) {
                        changes.push(WorkTreeChange::Unmerged(path));
                    }
                }
                StatusRecord::Untracked(raw) => {
                    if let Some(path) = self.strip(&raw) {
                        if path.is_empty() && raw.ends_with('/') {
                            // The workspace's own directory, untracked as a whole.
                            untracked_dirs.push(".".into());
                        } else if path.ends_with('/') {
                            untracked_dirs.push(path);
                        } else {
                            changes.push(WorkTreeChange::Present(path));
                        }
                    }
                }
            }
        }
        // A directory whose name is not UTF-8 is shown with U+FFFD, which names no path:
        // its files are listed from the nearest directory above it whose name is, and kept
        // when they are below it (then refused by name, as a committed one is).
        let (lossy, untracked_dirs): (Vec<String>, Vec<String>) = untracked_dirs
            .into_iter()
            .partition(|d| d.contains('\u{FFFD}'));
        for dir in &lossy {
            let above = match dir[..dir.find('\u{FFFD}').unwrap_or(0)].rfind('/') {
                Some(slash) => &dir[..=slash],
                None => ".",
            };
            changes.extend(
                self.untracked_under(&[above])?
                    .into_iter()
                    .filter(|p| p.starts_with(dir.as_str()))
                    .map(WorkTreeChange::Present),
            );
        }
        if !untracked_dirs.is_empty() {
            let dirs: Vec<&str> = untracked_dirs.iter().map(String::as_str).collect();
            changes.extend(
                self.untracked_under(&dirs)?
                    .into_iter()
                    .map(WorkTreeChange::Present),
            );
        }
        Ok(changes)
    }

    /// `git status --porcelain=v2 -z` with the settings `config` (`key=value`) and `flags`,
    /// renames and submodules left out, limited to the pathspecs `within` (taken literally)
    /// when given: its output.
    fn status(&self, config: &[&str], flags: &[&str], within: Option<&[&str]>) -> Result<Vec<u8>> {
        let mut status = git_command();
        status
            .current_dir(&self.root)
            .args(["--literal-pathspecs", "-c", "core.quotepath=off"]);
        for setting in config {
            status.args(["-c", setting]);
        }
        status
            .args(["status", "--porcelain=v2", "-z", "--no-renames"])
            .arg("--ignore-submodules=all")
            .args(flags)
            .env("LC_ALL", "C")
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE");
        if let Some(paths) = within {
            status.arg("--").args(paths);
        }
        let out = status.output().map_err(|e| Error::io("git", e))?;
        if !out.status.success() {
            return Err(Error::Git {
                args: "status".into(),
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
        }
        Ok(out.stdout)
    }

    /// Paths whose index entry differs from `commit`, below the workspace root, each with
    /// its entry at `commit` (`None`: not in the commit). Gitlinks are left out.
    pub fn index_diff(&self, commit: &str) -> Result<Vec<(String, Option<GitFile>)>> {
        let out = self.run(&[
            "diff-index",
            "--cached",
            "--raw",
            "-z",
            "--no-renames",
            "--relative",
            commit,
        ])?;
        let mut fields = out.split(|&c| c == 0);
        let mut changes = Vec::new();
        while let (Some(meta), Some(path)) = (fields.next(), fields.next()) {
            // :<old mode> <new mode> <old id> <new id> <status>
            let meta = String::from_utf8_lossy(meta);
            let parts: Vec<&str> = meta.trim_start_matches(':').split(' ').collect();
            let [old_mode, new_mode, old_id, _, status] = parts[..] else {
                return Err(Error::Git {
                    args: "diff-index".into(),
                    stderr: format!("unexpected output `{meta}`"),
                });
            };
            if status.starts_with('U') {
                return Err(Error::Git {
                    args: "diff-index".into(),
                    stderr: "the index has unmerged paths".into(),
                });
            }
            if old_mode == "160000" || new_mode == "160000" {
                continue;
            }
            let before = (old_mode != "000000")
                .then(|| parse_file(old_mode, old_id, path))
                .flatten();
            changes.push((String::from_utf8_lossy(path).into_owned(), before));
        }
        Ok(changes)
    }

    /// Paths whose index entry differs from `commit`'s, conflicted paths included (where
    /// [`Repo::index_diff`] fails), below the workspace root.
    pub fn staged_paths(&self, commit: &str) -> Result<Vec<String>> {
        let out = self.run(&[
            "diff-index",
            "--cached",
            "--name-only",
            "-z",
            "--no-renames",
            "--ignore-submodules=all",
            "--relative",
            commit,
        ])?;
        Ok(nul_paths(&out))
    }

    /// Paths that differ between two commits, below the workspace root (relative to it).
    pub fn changed_between(&self, a: &str, b: &str) -> Result<Vec<String>> {
        let out = self.run(&[
            "diff-tree",
            "-r",
            "-z",
            "--name-only",
            "--no-renames",
            "--relative",
            a,
            b,
        ])?;
        Ok(nul_paths(&out))
    }

    /// Every version `path` (relative to the workspace root) had in the commits reachable
    /// from any ref: (commit, blob id), newest first, the commits that deleted it left out.
    /// A merge counts (a version made while resolving a conflict exists in the merge
    /// alone: `-m` shows its diff against each parent), and so does every side of a merge
    /// (`--full-history`: by default git walks only the side the merge took the file from).
    pub fn versions_in_history(&self, path: &str) -> Result<Vec<(String, FileId)>> {
        let out = self.run(&[
            "log",
            "--all",
            "--full-history",
            "-m",
            "--format=commit %H",
            "--raw",
            "--no-abbrev",
            "--no-renames",
            "--",
            path,
        ])?;
        let mut versions = Vec::new();
        let mut commit = String::new();
        for line in String::from_utf8_lossy(&out).lines() {
            if let Some(c) = line.strip_prefix("commit ") {
                commit = c.to_string();
            } else if let Some(raw) = line.strip_prefix(':') {
                // <old mode> <new mode> <old id> <new id> <status>\t<path>
                let fields: Vec<&str> = raw.split_whitespace().collect();
                if let Some(id) = fields.get(3).and_then(|id| FileId::from_hex(id)) {
                    // A merge is listed once per parent it differs from.
                    let seen = versions.last() == Some(&(commit.clone(), id));
                    if fields.get(4) != Some(&"D") && !seen {
                        versions.push((commit.clone(), id));
                    }
                }
            }
        }
        Ok(versions)
    }

    /// Status paths are relative to the repository top level; make them workspace-relative.
    fn strip(&self, path: &str) -> Option<String> {
        path.strip_prefix(self.prefix.as_str()).map(str::to_string)
    }

    /// `git ARGS` with its output piped and `request` written to its input from another
    /// thread (so that a full output pipe cannot deadlock the caller).
    fn batch(
        &self,
        args: &[&str],
        request: Vec<u8>,
    ) -> Result<(
        std::process::Child,
        std::thread::JoinHandle<std::io::Result<()>>,
    )> {
        let mut child = self
            .command()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| Error::io("git", e))?;
        let mut stdin = child.stdin.take().expect("piped stdin");
        let writer = std::thread::spawn(move || stdin.write_all(&request));
        Ok((child, writer))
    }

    /// Those of `ids` (full commit ids) that are no commit this repository holds (history
    /// rewritten and collected since, a shallow clone, a typo), through one
    /// `git cat-file --batch-check` process.
    pub fn missing_commits<'a>(&self, ids: &[&'a str]) -> Result<Vec<&'a str>> {
        let (wellformed, mut missing): (Vec<&str>, Vec<&str>) = ids.iter().partition(|id| {
            matches!(id.len(), 40 | 64) && id.bytes().all(|b| b.is_ascii_hexdigit())
        });
        if wellformed.is_empty() {
            return Ok(missing);
        }
        let request: Vec<u8> = wellformed
            .iter()
            .flat_map(|id| format!("{id}^{{commit}}\n").into_bytes())
            .collect();
        let (child, writer) = self.batch(&["cat-file", "--batch-check"], request)?;
        let out = child
            .wait_with_output()
            .map_err(|e| Error::io("git cat-file", e))?;
        let _ = writer.join();
        let lines: Vec<&str> = std::str::from_utf8(&out.stdout)
            .unwrap_or_default()
            .lines()
            .collect();
        if !out.status.success() || lines.len() != wellformed.len() {
            return Err(Error::Git {
                args: "cat-file --batch-check".into(),
                stderr: String::from_utf8_lossy(&out.stderr).trim().into(),
            });
        }
        // One line per request, in order: `<id> commit <size>`, or `<request> missing`.
        for (id, line) in wellformed.iter().zip(lines) {
            if line.split(' ').nth(1) != Some("commit") {
                missing.push(id);
            }
        }
        Ok(missing)
    }

    /// Reads many blobs through one `git cat-file --batch` process.
    pub fn read_blobs(&self, ids: &[FileId]) -> Result<HashMap<FileId, Vec<u8>>> {
        let mut out = HashMap::with_capacity(ids.len());
        if ids.is_empty() {
            return Ok(out);
        }
        let request: Vec<u8> = ids
            .iter()
            .flat_map(|id| format!("{}\n", id.to_hex()).into_bytes())
            .collect();
        let (mut child, writer) = self.batch(&["cat-file", "--batch"], request)?;
        let mut reader = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut header = String::new();
        for id in ids {
            header.clear();
            if reader
                .read_line(&mut header)
                .map_err(|e| Error::io("git cat-file", e))?
                == 0
            {
                break;
            }
            let mut parts = header.split_whitespace();
            let _oid = parts.next();
            // A missing object has no body; the caller treats an absent blob as unreadable.
            if let (Some("blob"), Some(size)) = (parts.next(), parts.next()) {
                let size: usize = size.parse().unwrap_or(0);
                let mut buf = vec![0; size + 1]; // content + trailing LF
                reader
                    .read_exact(&mut buf)
                    .map_err(|e| Error::io("git cat-file", e))?;
                buf.pop();
                out.insert(*id, buf);
            }
        }
        let _ = writer.join();
        let status = child.wait().map_err(|e| Error::io("git", e))?;
        if !status.success() && out.len() < ids.len() {
            let mut stderr = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = e.read_to_string(&mut stderr);
            }
            return Err(Error::Git {
                args: "cat-file --batch".into(),
                stderr: stderr.trim().into(),
            });
        }
        Ok(out)
    }
}

/// NUL-separated `<fields separated by spaces> TAB <path>` records, as `ls-tree -z` and
/// `ls-files --stage -z` print them: the fields and the path bytes of each.
fn tab_records(out: &[u8]) -> impl Iterator<Item = (Vec<&str>, &[u8])> {
    out.split(|&b| b == 0).filter_map(|rec| {
        let tab = rec.iter().position(|&b| b == b'\t')?;
        let meta = std::str::from_utf8(&rec[..tab]).ok()?;
        Some((meta.split(' ').collect(), &rec[tab + 1..]))
    })
}

/// The paths of a NUL-separated listing (`-z`).
fn nul_paths(out: &[u8]) -> Vec<String> {
    out.split(|&c| c == 0)
        .filter(|p| !p.is_empty())
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect()
}

fn parse_file(mode: &str, oid: &str, path: &[u8]) -> Option<GitFile> {
    Some(GitFile {
        path: String::from_utf8_lossy(path).into_owned(),
        mode: u32::from_str_radix(mode, 8).ok()?,
        id: FileId::from_hex(oid)?,
    })
}

/// One record of `git status --porcelain=v2 -z` (renames are not asked for), its path as
/// git gives it (relative to the repository's top level).
enum StatusRecord {
    /// `1 <XY> ...`: a tracked path changed in the index (`index`) or the work tree
    /// (`worktree`), `.` where not.
    Tracked {
        index: u8,
        worktree: u8,
        path: String,
    },
    /// `u ...`: in a merge conflict.
    Unmerged(String),
    /// `? <path>`: untracked (a directory ends with `/`).
    Untracked(String),
}

fn status_records(out: &[u8]) -> impl Iterator<Item = StatusRecord> + '_ {
    out.split(|&b| b == 0)
        .filter(|r| !r.is_empty())
        .filter_map(|rec| {
            let line = String::from_utf8_lossy(rec);
            let (kind, rest) = line.split_at(1);
            let rest = rest.trim_start();
            match kind {
                // 1 <XY> <sub> <mH> <mI> <mW> <hH> <hI> <path>
                "1" => {
                    let fields: Vec<&str> = rest.splitn(8, ' ').collect();
                    let xy = fields.first()?.as_bytes();
                    Some(StatusRecord::Tracked {
                        index: xy.first().copied().unwrap_or(b'.'),
                        worktree: xy.get(1).copied().unwrap_or(b'.'),
                        path: fields.get(7)?.to_string(),
                    })
                }
                // u <XY> <sub> <m1> <m2> <m3> <mW> <h1> <h2> <h3> <path>
                "u" => Some(StatusRecord::Unmerged(
                    rest.splitn(10, ' ').nth(9)?.to_string(),
                )),
                "?" => Some(StatusRecord::Untracked(rest.to_string())),
                _ => None,
            }
        })
}
