//! The state of each stack in each environment, as a run sees it: which backend holds it,
//! and what it holds (read once per run, again after the stack is applied); and states
//! terraform could not save.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use strata_exec::state::{self, Backend, State};
use strata_exec::{sandbox, Tools};
use strata_graph::error::{Error, Location, Result};
use strata_graph::id::TargetId;
use strata_graph::model::{Environment, Model};
use strata_graph::session::{Session, View};

/// Reads states for one command: the backends, the states read, the backend blocks
/// stacks declare themselves.
pub struct States<'a> {
    session: &'a Session,
    view: &'a View,
    tools: Tools,
    work_root: PathBuf,
    /// The checkout whose local state this is (another one when destroying from a revision's
    /// temporary checkout).
    state_root: PathBuf,
    read: Mutex<HashMap<(String, TargetId), Slot>>,
    own: Mutex<HashMap<TargetId, Option<(String, String)>>>,
}

/// One state read: taken while reading, so two tasks never read the same state at once.
type Slot = Arc<Mutex<Option<Option<Arc<State>>>>>;

/// A Terraform file directly in `dir` (the stack's root module, not a subdirectory).
fn in_root_module(path: &str, dir: &str) -> bool {
    let parent = path.rsplit_once('/').map_or("", |(p, _)| p);
    parent == dir && (path.ends_with(".tf") || path.ends_with(".tf.json"))
}

/// The first `backend` block among a root module's files (path, content).
fn first_backend<'f>(
    files: impl Iterator<Item = (&'f str, &'f [u8])>,
) -> Option<strata_graph::hcl::BackendBlock> {
    files
        .filter_map(|(path, bytes)| {
            strata_graph::hcl::backend_block(
                &String::from_utf8_lossy(bytes),
                path.ends_with(".json"),
            )
        })
        .next()
}

/// The file terraform writes into its working directory when it cannot save the state.
pub const ERRORED_STATE: &str = "errored.tfstate";

impl<'a> States<'a> {
    pub fn new(session: &'a Session, view: &'a View, tools: Tools) -> States<'a> {
        States {
            session,
            view,
            tools,
            work_root: session.root.join(".strata/work"),
            state_root: session.root.clone(),
            read: Mutex::default(),
            own: Mutex::default(),
        }
    }

    /// Local state as the checkout at `root` keeps it.
    pub fn with_state_root(mut self, root: Option<&Path>) -> States<'a> {
        if let Some(root) = root {
            self.state_root = root.to_path_buf();
        }
        self
    }

    fn model(&self) -> &Model {
        &self.view.model
    }

    /// The resources still in the state of a stack that no longer exists at head (it was
    /// deleted), read from where the environment keeps a stack of that label. Empty when it
    /// has no state or an empty one.
    pub fn left_behind(&self, label: &str, env: &Environment) -> Result<Vec<String>> {
        let backend = state::backend(
            &self.state_root,
            &self.session.config.workspace.name,
            env,
            label,
            None,
        )?;
        let reader = sandbox::location(&self.work_root, Some(&env.name), label).join("state");
        Ok(backend
            .pull(&self.tools, &reader)?
            .map(|s| s.resources)
            .unwrap_or_default())
    }

    /// Whether a stack deleted since `base` declared its own `backend` block there (then
    /// only its code at the base can tell where its state is).
    pub fn had_own_backend(&self, label: &str, base: &str) -> Result<bool> {
        let repo = &self.session.repo;
        let commit = repo.merge_base(base, "HEAD")?;
        let dir = strata_graph::discover::label_dir(label);
        let files: Vec<_> = repo
            .ls_tree(&commit)?
            .into_iter()
            .filter(|f| in_root_module(&f.path, dir))
            .collect();
        let ids: Vec<_> = files.iter().map(|f| f.id).collect();
        let blobs = repo.read_blobs(&ids)?;
        Ok(first_backend(files.iter().filter_map(|f| {
            blobs
                .get(&f.id)
                .map(|bytes| (f.path.as_str(), bytes.as_slice()))
        }))
        .is_some())
    }

    /// The stack's own `backend` block (type, text), when its root module declares one.
    fn own_backend(&self, target: TargetId) -> Result<Option<(String, String)>> {
        if let Some(known) = self.own.lock().expect("states").get(&target) {
            return Ok(known.clone());
        }
        let t = &self.model().targets[target];
        let dir = strata_graph::discover::label_dir(&t.label);
        let root_files: Vec<&str> = t
            .files
            .iter()
            .map(String::as_str)
            .filter(|f| in_root_module(f, dir))
            .filter(|f| self.view.snapshot.files.contains_key(*f))
            .collect();
        let contents = self
            .view
            .snapshot
            .contents(&self.session.repo, &root_files)?;
        let found = first_backend(root_files.iter().filter_map(|f| {
            let id = self.view.snapshot.files[*f].id;
            contents.get(&id).map(|bytes| (*f, bytes.as_slice()))
        }))
        .map(|b| (b.kind, b.text));
        self.own
            .lock()
            .expect("states")
            .insert(target, found.clone());
        Ok(found)
    }

    /// Where `target`'s state lives in `env`.
    pub fn backend_of(&self, target: TargetId, env: &Environment) -> Result<Backend> {
        let own = self.own_backend(target)?;
        state::backend(
            &self.state_root,
            &self.session.config.workspace.name,
            env,
            &self.model().targets[target].label,
            own.as_ref().map(|(k, b)| (k.as_str(), b.as_str())),
        )
    }

    /// The directory strata reads `target`'s state in `env` from.
    fn reader(&self, target: TargetId, env: &str) -> PathBuf {
        let label = &self.model().targets[target].label;
        sandbox::location(&self.work_root, Some(env), label).join("state")
    }

    /// `target`'s state in `env` (`None`: it has none yet), read once per run.
    pub fn state_of(&self, target: TargetId, env: &Environment) -> Result<Option<Arc<State>>> {
        let slot: Slot = self
            .read
            .lock()
            .expect("states")
            .entry((env.name.clone(), target))
            .or_default()
            .clone();
        let mut slot = slot.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(known) = slot.as_ref() {
            return Ok(known.clone());
        }
        let backend = self.backend_of(target, env)?;
        let state = backend
            .pull(&self.tools, &self.reader(target, &env.name))?
            .map(Arc::new);
        *slot = Some(state.clone());
        Ok(state)
    }

    /// `target`'s state in `env` before a plan or apply of it: a pg state that does not
    /// exist yet is created empty first (see [`Backend::create_if_absent`]). When that fails
    /// (a role that may only read, say), the plan goes ahead as without it.
    pub fn state_to_change(
        &self,
        target: TargetId,
        env: &Environment,
    ) -> Result<Option<Arc<State>>> {
        let state = self.state_of(target, env)?;
        // `terraform state pull` shows a state that does not exist as an empty one without
        // a lineage.
        if state.as_ref().is_some_and(|s| !s.lineage.is_empty()) {
            return Ok(state);
        }
        let backend = self.backend_of(target, env)?;
        let reader = self.reader(target, &env.name);
        match backend.create_if_absent(&self.tools, &reader, env.config.state.lock_timeout_secs()) {
            Ok(false) => Ok(state),
            Ok(true) => {
                self.changed(target, &env.name);
                self.state_of(target, env)
            }
            Err(e) => {
                // Another run may have created it meanwhile.
                self.changed(target, &env.name);
                let state = self.state_of(target, env)?;
                if state.as_ref().is_none_or(|s| s.lineage.is_empty()) {
                    tracing::warn!(
                        "{} [{}]: {e}; terraform creates the state itself, under the database's creation lock",
                        self.model().targets[target].label,
                        env.name
                    );
                }
                Ok(state)
            }
        }
    }

    /// Forgets what was read of `target`'s state in `env` (it was just applied).
    pub fn changed(&self, target: TargetId, env: &str) {
        self.read
            .lock()
            .expect("states")
            .remove(&(env.to_string(), target));
    }

    /// Where states terraform could not save for `target` in `env` are kept.
    fn unsaved_dir(&self, target: TargetId, env: &str) -> PathBuf {
        state::local_state_root(&self.state_root, &self.session.config.workspace.name)
            .join("unsaved")
            .join(env)
            .join(&self.model().targets[target].label)
    }

    /// A state terraform could not save for `target` in `env` and strata kept, waiting to
    /// be pushed.
    pub fn unsaved(&self, target: TargetId, env: &str) -> Option<PathBuf> {
        // One a run that died (or an older strata) left in the sandbox is adopted first.
        let label = &self.model().targets[target].label;
        let sandbox_dir = sandbox::location(&self.work_root, Some(env), label)
            .join("src")
            .join(strata_graph::discover::label_dir(label));
        self.keep_unsaved(target, env, &sandbox_dir);
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.unsaved_dir(target, env))
            .ok()?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "tfstate"))
            .collect();
        files.sort();
        files.pop()
    }

    /// Moves the state terraform wrote into `sandbox_dir` because it could not save it
    /// (the backend went away during an apply) to a private place outside the checkout,
    /// where no sandbox rebuild can lose it.
    pub fn keep_unsaved(&self, target: TargetId, env: &str, sandbox_dir: &Path) -> Option<PathBuf> {
        let errored = sandbox_dir.join(ERRORED_STATE);
        let bytes = std::fs::read(&errored).ok()?;
        let dir = self.unsaved_dir(target, env);
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or_default();
        let kept = dir.join(format!("{stamp}.tfstate"));
        strata_fs::write_private(&kept, &bytes).ok()?;
        let _ = std::fs::remove_file(&errored);
        Some(kept)
    }

    /// Writes `file` as `label`'s state in `env` (`terraform state push`, which refuses a
    /// state of another lineage or an older serial) and, when it was a state strata kept
    /// after a failed save, removes it.
    pub fn push(&self, target: TargetId, env: &Environment, file: &Path) -> Result<()> {
        let backend = self.backend_of(target, env)?;
        let label = &self.model().targets[target].label;
        let bytes = std::fs::read(file).map_err(|e| Error::io(file, e))?;
        State::parse(&bytes, &file.display().to_string())?;
        backend
            .push(&self.tools, &self.reader(target, &env.name), file)
            .map_err(|e| Error::Invalid {
                message: format!("cannot push the state of {label} in {}: {e}", env.name),
                location: Location::new(file.display().to_string(), None),
                hint: "check that the backend is reachable; a state of another lineage or an older serial is refused on purpose".into(),
            })?;
        self.changed(target, &env.name);
        if file.starts_with(self.unsaved_dir(target, &env.name)) {
            let _ = std::fs::remove_file(file);
        }
        Ok(())
    }
}
