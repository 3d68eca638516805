//! A session opens a workspace once (root, git repository, configuration, fact cache) and
//! builds views of it: the work tree or any commit.

use crate::error::{Error, Result};
use crate::facts::FactStore;
use crate::git::Repo;
use crate::hash::{self, Hashes};
use crate::model::{self, Model};
use crate::snapshot::Snapshot;
use crate::workspace::{find_root, WorkspaceConfig, WORKSPACE_FILE};
use std::path::{Path, PathBuf};

pub struct Session {
    pub root: PathBuf,
    pub repo: Repo,
    pub config: WorkspaceConfig,
    pub facts: FactStore,
    use_cache: bool,
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
}

impl Session {
    /// Finds the workspace at or above `start`; `use_cache` false keeps parsed facts in
    /// memory only.
    pub fn open(start: &Path, use_cache: bool) -> Result<Session> {
        let root = find_root(start)?;
        let path = root.join(WORKSPACE_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let config = WorkspaceConfig::parse(&text, WORKSPACE_FILE)?;
        let repo = Repo::open(&root)?;
        let t = std::time::Instant::now();
        let facts = if use_cache {
            FactStore::open(&root.join(&config.cache.dir).join("facts-v1.bin"))
        } else {
            FactStore::in_memory()
        };
        crate::timing::phase("fact cache load", t);
        Ok(Session {
            root,
            repo,
            config,
            facts,
            use_cache,
        })
    }

    /// The work tree as it is now, uncommitted and untracked files included.
    ///
    /// `git status` takes the longest on a large tree, so the index's model and hashes are
    /// built while it runs. Its changes are then applied; when no path appeared or went
    /// and the model still describes the changed files (see [`model::still_describes`]),
    /// only the hashes of targets reading them are computed again, otherwise the model is
    /// rebuilt.
    pub fn work_tree(&self) -> Result<View> {
        let t = std::time::Instant::now();
        let (built, changes) = std::thread::scope(|s| {
            let changes = s.spawn(|| {
                let t = std::time::Instant::now();
                let changes = self.repo.work_tree_changes();
                crate::timing::phase("git status", t);
                changes
            });
            let built = Snapshot::of_index(&self.repo, &self.root).map(|snapshot| {
                crate::timing::phase("read index", t);
                let t = std::time::Instant::now();
                // An error here may come from a file the work tree has fixed: decided later.
                let built = model::build(&self.repo, &snapshot, &self.config, &self.facts)
                    .ok()
                    .map(|model| {
                        let hashes = hash::compute(&model, &snapshot);
                        (model, hashes)
                    });
                crate::timing::phase("model (index)", t);
                (snapshot, built)
            });
            (built, changes.join().expect("git status thread"))
        });
        let (mut snapshot, built) = built?;
        let patch = snapshot.apply(changes?);
        crate::timing::phase("snapshot (work tree)", t);
        if let Some((model, hashes)) = built {
            let reusable = !patch.paths_changed
                && model::still_describes(&self.repo, &snapshot, &self.facts, &patch.modified)?;
            if reusable {
                let t = std::time::Instant::now();
                let modified: Vec<&str> = patch.modified.iter().map(|(p, _)| p.as_str()).collect();
                let hashes = hashes.updated(&model, &snapshot, &modified);
                crate::timing::phase("hashes (updated)", t);
                return Ok(View {
                    snapshot,
                    model,
                    hashes,
                });
            }
        }
        self.view(snapshot, self.config.clone())
    }

    /// A commit, with the WORKSPACE.toml it had (the current one when it had none).
    pub fn at_commit(&self, commit: &str) -> Result<View> {
        let snapshot = self.commit_snapshot(commit)?;
        self.commit_view(snapshot, commit)
    }

    /// The files of a commit, without a model (see [`Session::commit_view`]).
    pub fn commit_snapshot(&self, commit: &str) -> Result<Snapshot> {
        let t = std::time::Instant::now();
        let snapshot = Snapshot::at_commit(&self.repo, commit)?;
        crate::timing::phase("snapshot (commit)", t);
        Ok(snapshot)
    }

    /// The view of a commit's snapshot, with the WORKSPACE.toml the commit had.
    pub fn commit_view(&self, snapshot: Snapshot, commit: &str) -> Result<View> {
        let config = match snapshot.files.get(WORKSPACE_FILE) {
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

    fn view(&self, snapshot: Snapshot, config: WorkspaceConfig) -> Result<View> {
        let t = std::time::Instant::now();
        let model = model::build(&self.repo, &snapshot, &config, &self.facts)?;
        crate::timing::phase("model", t);
        let t = std::time::Instant::now();
        let hashes = hash::compute(&model, &snapshot);
        crate::timing::phase("hashes", t);
        Ok(View {
            snapshot,
            model,
            hashes,
        })
    }

    /// Where the baseline of a commit is cached (`None` with `--no-cache`).
    pub fn baseline_path(&self, commit: &str) -> Option<PathBuf> {
        self.use_cache.then(|| {
            self.root
                .join(&self.config.cache.dir)
                .join("baselines")
                .join(commit)
        })
    }

    /// Persists the fact cache; call once at the end of a command.
    pub fn finish(&self) {
        let t = std::time::Instant::now();
        self.facts.save();
        crate::timing::phase("fact cache save", t);
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
