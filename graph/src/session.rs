//! A session opens a workspace once (root, git repository, configuration, fact cache) and
//! builds views of it: the work tree or any commit.

use crate::baseline::Baseline;
use crate::error::{Error, Result};
use crate::facts::FactStore;
use crate::git::Repo;
use crate::hash::{self, Hashes};
use crate::id::TargetId;
use crate::index_model::IndexModel;
use crate::model::{self, EnvironmentFiles, Model};
use crate::snapshot::Snapshot;
use crate::snapshot::{FileEntry, Patch};
use crate::workspace::STRATA_DIR;
use crate::workspace::{find_root, WorkspaceConfig, WORKSPACE_FILE};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The fact cache's file in the cache directory.
const FACTS_FILE: &str = "facts-v1.bin";

pub struct Session {
    pub root: PathBuf,
    pub repo: Repo,
    pub config: WorkspaceConfig,
    pub facts: FactStore,
    use_cache: bool,
    /// WORKSPACE.toml's text, part of the key of the index's saved model.
    config_text: String,
    /// The directory the command started in, relative to the root (`""` at the root):
    /// labels the user types are relative to it.
    start: String,
}

/// [`Session::base_from_index`]: the baseline, the commit's entries of the paths it differs
/// in from the index, and the index model's environment files when they are the commit's.
type DerivedBase = (
    Baseline,
    BTreeMap<String, Option<FileEntry>>,
    Option<EnvironmentFiles>,
);

/// A base commit derived from the index: its baseline, and the paths whose entries differ
/// between it and the work tree.
pub struct BaseSide {
    pub baseline: Baseline,
    pub changed: std::collections::BTreeSet<String>,
    /// The environment files of each target, when the commit and the work tree have the
    /// same ones: the same model and the same paths (see [`crate::affected::compare`]).
    pub same_env_files: Option<EnvironmentFiles>,
}

/// [`Session::work_tree_and_base`]'s answer.
pub struct WorkTree {
    pub view: View,
    pub base: Option<BaseSide>,
    /// The index's entries of the paths `git status` reported (absent: not in the index).
    /// Every other path's index entry is the work tree's.
    pub index_entries: BTreeMap<String, FileEntry>,
    /// Paths in a merge conflict: in the index, without an entry of their own.
    pub unmerged: BTreeSet<String>,
}

/// One snapshot with its model and hashes.
pub struct View {
    pub snapshot: Snapshot,
    pub model: Model,
    pub hashes: Hashes,
}

impl View {
    pub fn hash_of(&self, label: &str) -> Option<crate::digest::TargetHash> {
        self.model.index(label).map(|i| self.hashes.hashes[i])
    }

    /// The texts of `paths` as tools read them: a link's text is that of the file it points
    /// to. A link leading nowhere or outside the workspace has no text.
    pub fn texts(&self, repo: &Repo, paths: &[&str]) -> Result<Vec<(String, String)>> {
        let links = &self.model.links;
        if links.is_empty() {
            return self.snapshot.texts(repo, paths);
        }
        let mut read: Vec<(String, String)> = Vec::new();
        for &p in paths {
            match links.resolve(p) {
                crate::model::links::Resolved::Inside(to) => read.push((p.to_string(), to)),
                crate::model::links::Resolved::Outside(_) | crate::model::links::Resolved::Loop => {
                }
            }
        }
        let wanted: Vec<&str> = read.iter().map(|(_, to)| to.as_str()).collect();
        let texts: std::collections::HashMap<String, String> =
            self.snapshot.texts(repo, &wanted)?.into_iter().collect();
        Ok(read
            .into_iter()
            .filter_map(|(p, to)| texts.get(&to).map(|t| (p, t.clone())))
            .collect())
    }
}

impl Session {
    /// Finds the workspace at or above `start`; `use_cache` false keeps parsed facts in
    /// memory only.
    pub fn open(start: &Path, use_cache: bool) -> Result<Session> {
        let root = find_root(start)?;
        let path = root.join(WORKSPACE_FILE);
        let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
        let text = crate::text::strict_utf8(&bytes, WORKSPACE_FILE)?;
        let config = WorkspaceConfig::parse(text, WORKSPACE_FILE)?;
        let repo = Repo::open(&root)?;
        strata_fs::keep_out_of_git(&root.join(STRATA_DIR));
        let facts = {
            let _phase = tracing::info_span!("fact cache load").entered();
            if use_cache {
                FactStore::open(&root.join(&config.cache.dir).join(FACTS_FILE))
            } else {
                FactStore::in_memory()
            }
        };
        let start = start
            .canonicalize()
            .ok()
            .and_then(|s| {
                s.strip_prefix(&root)
                    .ok()
                    .map(|p| p.to_string_lossy().replace('\\', "/"))
            })
            .unwrap_or_default();
        Ok(Session {
            root,
            repo,
            config,
            facts,
            use_cache,
            config_text: text.to_string(),
            start,
        })
    }

    /// Resolves labels as people type them: relative to the directory the command started
    /// in (`.`, `./network`, `../dns`) or to the root (`stacks/network`), trailing `/`
    /// ignored, an absolute path inside the workspace too. An unknown one is
    /// [`Error::NoSuchTarget`], with the nearest label as a suggestion.
    pub fn resolve_labels(&self, model: &Model, labels: &[String]) -> Result<Vec<TargetId>> {
        labels
            .iter()
            .map(|typed| {
                let input = match std::path::Path::new(typed).strip_prefix(&self.root) {
                    Ok(rel) => rel.to_string_lossy().into_owned(),
                    Err(_) => typed.clone(),
                };
                let relative = crate::model::join_normalized(&self.start, &input);
                let from_root = crate::model::join_normalized("", &input);
                [relative, from_root]
                    .into_iter()
                    .flatten()
                    .find_map(|l| model.index(crate::discover::dir_label(&l)))
                    .ok_or_else(|| {
                        let labels: Vec<&str> =
                            model.targets.iter().map(|t| t.label.as_str()).collect();
                        Error::NoSuchTarget {
                            label: typed.clone(),
                            suggestion: crate::error::did_you_mean(
                                typed.trim_end_matches('/'),
                                &labels,
                            ),
                        }
                    })
            })
            .collect()
    }

    /// The work tree as it is now, uncommitted and untracked files included.
    ///
    /// `git status` takes the longest on a large tree, so the index's model and hashes are
    /// built while it runs. Its changes are then applied; when no path appeared or went
    /// and the model still describes the changed files (see [`model::still_describes`]),
    /// only the hashes of targets reading them are computed again, otherwise the model is
    /// rebuilt.
    pub fn work_tree(&self) -> Result<View> {
        Ok(self.work_tree_and_base(&|| None)?.view)
    }

    /// [`Session::work_tree`], and the baseline of a base commit derived from the index
    /// the same way: the commit's files are the index's with `git diff-index --cached`'s
    /// differences undone, so no `ls-tree` is needed, and the index's model serves the
    /// commit too when those differences keep the graph. `base` is called once, on another
    /// thread, and may wait: it says which commit, if any (so the caller can start this
    /// before it knows). The second part is `None` without a commit, when WORKSPACE.toml
    /// differs (the commit's own configuration then applies: use [`Session::at_commit`]),
    /// or when git cannot say what differs (unmerged paths).
    pub fn work_tree_and_base(
        &self,
        base: &(dyn Fn() -> Option<String> + Sync),
    ) -> Result<WorkTree> {
        let (built, changes, diff) = std::thread::scope(|s| {
            let changes = s.spawn(|| {
                let _phase = tracing::info_span!("git status").entered();
                self.repo.work_tree_changes()
            });
            let diff = s.spawn(|| {
                let commit = {
                    let _phase = tracing::info_span!("base commit known").entered();
                    base()?
                };
                let _phase = tracing::info_span!("diff-index").entered();
                let diff = self.repo.index_diff(&commit);
                Some((diff, commit))
            });
            let index = {
                let _phase = tracing::info_span!("read index").entered();
                Snapshot::of_index_and_digest(&self.repo, &self.root)
            };
            let built = index.map(|(snapshot, digest)| {
                let saved = digest.filter(|_| self.use_cache).and_then(|digest| {
                    IndexModel::new(&self.cache_dir(), &self.config_text, digest)
                });
                let loaded = saved.as_ref().and_then(|saved| {
                    let _phase = tracing::info_span!("model (saved)").entered();
                    saved.load(&self.repo, &snapshot, &self.config)
                });
                if loaded.is_some() {
                    self.facts.keep_unused();
                    return (snapshot, loaded, None);
                }
                let _phase = tracing::info_span!("model (index)").entered();
                // An error here may come from a file the work tree has fixed: decided later.
                let built = model::build(&self.repo, &snapshot, &self.config, &self.facts)
                    .ok()
                    .map(|model| {
                        let hashes = hash::compute(&model, &snapshot);
                        (model, hashes)
                    });
                // Saved below, beside other work.
                let to_save = saved.filter(|_| built.is_some());
                (snapshot, built, to_save)
            });
            let diff = diff.join().expect("diff-index thread");
            (built, changes.join().expect("git status thread"), diff)
        });
        let (mut index, built, to_save) = built?;
        let base_side = std::thread::scope(|s| {
            if let (Some(saved), Some((model, hashes))) = (&to_save, &built) {
                s.spawn(move || {
                    let _phase = tracing::info_span!("model (save)").entered();
                    saved.save(model, hashes)
                });
            }
            // The index's model was built with the WORKSPACE.toml this session read: when
            // that differs from the index's, the commit's model cannot be derived from it
            // (the commit's own configuration applies: see `Session::at_commit`). Compared
            // by content, not by `git status`, which does not see an edit of a file flagged
            // `skip-worktree` or `assume-unchanged`, or of the file a link leads to.
            let read = crate::digest::FileId::of_content(self.config_text.as_bytes());
            let config_edited = index.files.get(WORKSPACE_FILE).map(|e| e.id) != Some(read)
                || changes
                    .as_ref()
                    .is_ok_and(|c| c.iter().any(|c| c.path() == WORKSPACE_FILE));
            match diff {
                Some((Ok(diff), commit)) if !config_edited => {
                    let _phase = tracing::info_span!("base (from index)").entered();
                    self.base_from_index(&commit, &mut index, built.as_ref(), diff)
                }
                _ => Ok(None),
            }
        })?;
        let changes = changes?;
        let unmerged: BTreeSet<String> = changes
            .iter()
            .filter_map(|c| match c {
                crate::git::WorkTreeChange::Unmerged(p) => Some(p.clone()),
                _ => None,
            })
            .collect();
        // The index's entries of the paths the work tree changed, for naming changes.
        let index_entries: BTreeMap<String, FileEntry> = changes
            .iter()
            .filter_map(|c| {
                let p = c.path();
                index.files.get(p).map(|e| (p.to_string(), *e))
            })
            .collect();
        let mut snapshot = index;
        let patch = {
            let _phase = tracing::info_span!("snapshot (work tree)").entered();
            snapshot.apply(changes)
        };
        let rehashed = match &built {
            Some((model, hashes)) => self.rehashed(model, hashes, &snapshot, &patch)?,
            None => None,
        };
        // The index's model and paths serve the work tree too.
        let head_is_index = rehashed.is_some();
        let head = match (built, rehashed) {
            (Some((model, _)), Some(hashes)) => View {
                snapshot,
                model,
                hashes,
            },
            _ => self.view(snapshot, self.config.clone())?,
        };
        let base_side = base_side.map(|(baseline, mut base_files, env_files)| {
            // Paths that differ between the commit and the work tree, among those either
            // step reported (a path the commit does not differ in has the index's entry).
            for p in &head.snapshot.touched {
                if !base_files.contains_key(p) {
                    base_files.insert(p.clone(), index_entries.get(p).copied());
                }
            }
            let changed = base_files
                .into_iter()
                .filter(|(p, e)| e.as_ref() != head.snapshot.files.get(p))
                .map(|(p, _)| p)
                .collect();
            BaseSide {
                baseline,
                changed,
                same_env_files: env_files.filter(|_| head_is_index),
            }
        });
        Ok(WorkTree {
            view: head,
            base: base_side,
            index_entries,
            unmerged,
        })
    }

    /// The hashes of `snapshot` under a model built from another snapshot (`built`), when
    /// that model still describes it: `patch` (what differs) added or removed no path, and
    /// the changed files keep the graph (see [`model::still_describes`]). Only the targets
    /// reading a changed file, and those downstream, are hashed again.
    pub(crate) fn rehashed(
        &self,
        model: &Model,
        hashes: &Hashes,
        snapshot: &Snapshot,
        patch: &Patch,
    ) -> Result<Option<Hashes>> {
        // A model with problems is rebuilt: a fixed file it could not parse has no facts
        // for `still_describes` to compare.
        if patch.paths_changed
            || model.has_problems()
            || !model::still_describes(model, &self.repo, snapshot, &self.facts, &patch.modified)?
        {
            return Ok(None);
        }
        let _phase = tracing::info_span!("hashes (updated)").entered();
        let modified: Vec<&str> = patch.modified.iter().map(|(p, _)| p.as_str()).collect();
        let hashes = hashes.updated(model, snapshot, &modified);
        Ok(Some(hashes))
    }

    /// The baseline of `commit` from the index snapshot and `diff` (the index's differences
    /// from the commit), with the commit's entries of those paths, and the environment
    /// files of the index's model when the commit has the index's paths (so that model
    /// serves it); `None` when WORKSPACE.toml differs. The differences are undone in
    /// `index` while the baseline is computed and redone afterwards, so the snapshot is not
    /// copied.
    fn base_from_index(
        &self,
        commit: &str,
        index: &mut Snapshot,
        built: Option<&(Model, Hashes)>,
        diff: Vec<(String, Option<crate::git::GitFile>)>,
    ) -> Result<Option<DerivedBase>> {
        if diff.iter().any(|(p, _)| p == WORKSPACE_FILE) {
            return Ok(None);
        }
        let mut patch = Patch::default();
        // Path -> (entry at the commit, entry in the index).
        let mut undone: BTreeMap<String, (Option<FileEntry>, Option<FileEntry>)> = BTreeMap::new();
        for (path, before) in diff {
            if crate::snapshot::is_builtin_excluded(&path) {
                continue;
            }
            let at_commit = before.map(|f| FileEntry {
                id: f.id,
                mode: f.mode,
            });
            let in_index = index.set(path.clone(), at_commit, &mut patch);
            undone.insert(path, (at_commit, in_index));
        }
        let source = std::mem::replace(
            &mut index.source,
            crate::snapshot::Source::Commit(commit.to_string()),
        );
        let baseline = (|| -> Result<(Baseline, Option<EnvironmentFiles>)> {
            let rehashed = match built {
                Some(b) => self.rehashed(&b.0, &b.1, index, &patch)?.map(|h| (b, h)),
                None => None,
            };
            Ok(match rehashed {
                Some(((model, _), hashes)) => {
                    let files = model.environment_files(index);
                    let baseline =
                        Baseline::with_environment_files(model, index, &hashes, commit, &files);
                    (baseline, Some(files))
                }
                None => match model::build(&self.repo, index, &self.config, &self.facts) {
                    Ok(model) => {
                        let hashes = hash::compute(&model, index);
                        (Baseline::from_parts(&model, index, &hashes, commit), None)
                    }
                    Err(e) if e.is_content_error() => (Baseline::failed(commit, &e), None),
                    Err(e) => return Err(e),
                },
            })
        })();
        // Back to the index.
        index.source = source;
        let mut at_commit = BTreeMap::new();
        for (path, (commit_entry, index_entry)) in undone {
            match index_entry {
                Some(e) => index.files.insert(path.clone(), e),
                None => index.files.remove(&path),
            };
            at_commit.insert(path, commit_entry);
        }
        let (baseline, env_files) = baseline?;
        Ok(Some((baseline, at_commit, env_files)))
    }

    /// A commit, with the WORKSPACE.toml it had (the current one when it had none).
    pub fn at_commit(&self, commit: &str) -> Result<View> {
        let snapshot = self.commit_snapshot(commit)?;
        self.commit_view(snapshot, commit)
    }

    /// The files of a commit, without a model (see [`Session::commit_view`]).
    pub fn commit_snapshot(&self, commit: &str) -> Result<Snapshot> {
        let snapshot = {
            let _phase = tracing::info_span!("snapshot (commit)").entered();
            Snapshot::at_commit(&self.repo, commit)?
        };
        Ok(snapshot)
    }

    /// The text of WORKSPACE.toml this session read (through a link, when it is one).
    pub fn config_text(&self) -> &str {
        &self.config_text
    }

    /// The WORKSPACE.toml `commit` had, parsed; `None` when it had none or it does not
    /// parse (a view of the commit then takes this checkout's, as [`Session::commit_view`]
    /// does).
    pub fn config_at(&self, commit: &str) -> Result<Option<WorkspaceConfig>> {
        let Some(bytes) = self.repo.file_at(commit, WORKSPACE_FILE)? else {
            return Ok(None);
        };
        let text = String::from_utf8_lossy(&bytes);
        Ok(WorkspaceConfig::parse(&text, &format!("{WORKSPACE_FILE} (at {commit})")).ok())
    }

    /// The view of a commit's snapshot, with the WORKSPACE.toml the commit had.
    pub fn commit_view(&self, snapshot: Snapshot, commit: &str) -> Result<View> {
        // WORKSPACE.toml may be a link (to a file of the commit's): read what it leads to,
        // as the work tree's is read.
        let mut path = WORKSPACE_FILE.to_string();
        for _ in 0..8 {
            let Some(entry) = snapshot.files.get(&path) else {
                break;
            };
            if entry.mode != crate::snapshot::SYMLINK_MODE {
                break;
            }
            let blobs = self.repo.read_blobs(&[entry.id])?;
            let to = blobs
                .get(&entry.id)
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default();
            // Absolute, or above the root: not the commit's; its own config is not known.
            let next = (!to.starts_with('/'))
                .then(|| crate::model::join_normalized(crate::discover::parent_dir(&path), &to))
                .flatten();
            match next {
                Some(next) => path = next,
                None => break,
            }
        }
        let config = match snapshot.files.get(&path) {
            Some(entry) => {
                let blobs = self.repo.read_blobs(&[entry.id])?;
                let text = blobs
                    .get(&entry.id)
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .unwrap_or_default();
                WorkspaceConfig::parse(&text, &format!("{WORKSPACE_FILE} (at {commit})"))
                    .unwrap_or_else(|_| self.config.clone())
            }
            None => self.config.clone(),
        };
        self.view(snapshot, config)
    }

    pub(crate) fn view(&self, snapshot: Snapshot, config: WorkspaceConfig) -> Result<View> {
        let model = {
            let _phase = tracing::info_span!("model").entered();
            model::build(&self.repo, &snapshot, &config, &self.facts)?
        };
        let hashes = {
            let _phase = tracing::info_span!("hashes").entered();
            hash::compute(&model, &snapshot)
        };
        Ok(View {
            snapshot,
            model,
            hashes,
        })
    }

    /// Whether this command reads and writes strata's caches (not with `--no-cache`).
    pub fn uses_cache(&self) -> bool {
        self.use_cache
    }

    /// strata's work directory in the checkout (`.strata/work`), made when missing, with
    /// `.strata` kept out of git: a run with `--no-cache` writes nothing else there, and its
    /// sandboxes (code, plans, terraform's data) must never be staged by `git add -A`.
    pub fn work_dir(&self) -> PathBuf {
        let strata = self.root.join(STRATA_DIR);
        let _ = std::fs::create_dir_all(&strata);
        strata_fs::keep_out_of_git(&strata);
        strata.join("work")
    }

    /// Where the baseline of a commit is cached (`None` with `--no-cache`).
    pub fn baseline_path(&self, commit: &str) -> Option<PathBuf> {
        self.use_cache
            .then(|| self.cache_dir().join("baselines").join(commit))
    }

    /// The local cache directory (`[cache] dir`).
    fn cache_dir(&self) -> PathBuf {
        self.root.join(&self.config.cache.dir)
    }

    /// Persists the fact cache; call once at the end of a command. strata's directories in
    /// the checkout, made by this command or an earlier one, are kept out of git.
    pub fn finish(&self) {
        let _phase = tracing::info_span!("fact cache save").entered();
        self.facts.save();
        strata_fs::keep_out_of_git(&self.root.join(STRATA_DIR));
        if self.use_cache {
            strata_fs::keep_out_of_git(&self.cache_dir());
        }
    }

    /// [`Session::finish`] for a process that exits next: the session's memory is left to
    /// the operating system, since freeing every cached fact one by one takes a while on a
    /// large workspace (about 20 ms at 10,000 stacks).
    pub fn end(self) {
        self.finish();
        std::mem::forget(self);
    }

    /// The default base: `origin/<default_branch>` when it exists, else `<default_branch>`.
    pub fn default_base(&self) -> String {
        let branch = &self.config.workspace.default_branch;
        let remote = format!("origin/{branch}");
        if self.repo.has_revision(&remote) {
            remote
        } else {
            branch.clone()
        }
    }
}
