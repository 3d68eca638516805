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
    /// [`States::carried`], once per stack and environment.
    carried: Mutex<HashMap<(String, TargetId), Arc<Carried>>>,
    /// [`States::reached_by_secrets`], once per stack and environment.
    secret_reach: Mutex<HashMap<(String, TargetId), bool>>,
    /// The values of a secrets file's earlier versions, once per file (an environment's
    /// own file reaches all its stacks).
    earlier: Mutex<HashMap<String, Option<Arc<Vec<serde_json::Value>>>>>,
    /// [`States::secrets_reaching`], once per target and environment.
    reaching: Mutex<HashMap<(String, TargetId), Arc<Reaching>>>,
}

/// The decrypted values of the secrets that reach a target in an environment (see
/// [`States::secrets_reaching`]): those that could be read, and why the rest could not
/// (no identity for one, a shallow clone without the earlier versions), if some could not.
#[derive(Debug, Default)]
pub struct Reaching {
    pub values: Vec<serde_json::Value>,
    pub incomplete: Option<String>,
}

/// Which outputs of a stack carry a value of the secrets that reach it, beyond those
/// terraform marks sensitive (see [`States::carried`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Carried {
    /// These outputs (by name) do.
    Known(std::collections::BTreeSet<String>),
    /// Not known (the secrets could not be opened: why): every output may.
    Unknown(String),
}

impl Carried {
    /// Whether the output `name` is to be taken as sensitive.
    pub fn carries(&self, name: &str) -> bool {
        match self {
            Carried::Known(names) => names.contains(name),
            Carried::Unknown(_) => true,
        }
    }
}

/// One state read: taken while reading, so two tasks never read the same state at once.
type Slot = Arc<Mutex<Option<Option<Arc<State>>>>>;

/// A Terraform file directly in `dir` (the stack's root module, not a subdirectory).
fn in_root_module(path: &str, dir: &str) -> bool {
    let parent = path.rsplit_once('/').map_or("", |(p, _)| p);
    parent == dir && strata_graph::discover::is_terraform_file(path)
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

/// When a kept state was kept: the milliseconds its name ends with.
fn kept_at(file: &Path) -> u128 {
    let name = file.file_name().unwrap_or_default().to_string_lossy();
    let stem = name.strip_suffix(".tfstate").unwrap_or(&name);
    stem.rsplit('-')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// What became of a state terraform could not save (see [`States::keep_unsaved`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Unsaved {
    /// Kept at this private path, waiting for `strata state push`.
    Kept(PathBuf),
    /// Nowhere: why.
    Lost(String),
}

/// What terraform says when it could write its state neither to the backend nor to
/// `errored.tfstate`, and printed it instead.
const PRINTED_STATE: &str = "raw state data is printed above";

/// The state terraform prints in its output when it can save it nowhere (its last resort:
/// the JSON document, `"version": 4` first, and then [`PRINTED_STATE`]), if it is whole.
fn printed_state(output: &[u8]) -> Option<Vec<u8>> {
    let text = String::from_utf8_lossy(output);
    // Only then: an output of the stack's may be a JSON document much like a state.
    let said = text.rfind(PRINTED_STATE)?;
    let text = &text[..said];
    text.match_indices('{').find_map(|(at, _)| {
        let rest = &text[at..];
        let head = rest[1..].trim_start();
        if !head.starts_with("\"version\": 4") {
            return None;
        }
        let mut values = serde_json::Deserializer::from_str(rest).into_iter::<serde_json::Value>();
        let document = values.next()?.ok()?;
        let bytes = rest.as_bytes()[..values.byte_offset()].to_vec();
        let whole = document["lineage"].is_string() && document["serial"].is_u64();
        (whole && State::parse(&bytes, "terraform's output").is_ok()).then_some(bytes)
    })
}

impl<'a> States<'a> {
    pub fn new(session: &'a Session, view: &'a View, tools: Tools) -> States<'a> {
        States {
            session,
            view,
            tools,
            work_root: session.work_dir(),
            state_root: session.root.clone(),
            read: Mutex::default(),
            own: Mutex::default(),
            carried: Mutex::default(),
            secret_reach: Mutex::default(),
            earlier: Mutex::default(),
            reaching: Mutex::default(),
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

    /// The stacks `target` reads outputs from that deploy in `env`.
    fn upstream_stacks(&self, target: TargetId, env: &str) -> Vec<TargetId> {
        let model = self.model();
        model.targets[target]
            .deps
            .iter()
            .filter_map(|d| model.index(&d.label))
            .filter(|&u| {
                let up = &model.targets[u];
                up.kind == strata_graph::discover::Kind::Stack
                    && up.environments.iter().any(|e| e == env)
            })
            .collect()
    }

    /// Whether secrets files reach `target` in `env`, its own or those of a stack whose
    /// outputs it reads (transitively): then its outputs may carry a secret, whatever
    /// terraform marks. Known from the workspace alone (nothing is decrypted), so a task's
    /// key does not depend on who can decrypt.
    pub fn reached_by_secrets(&self, target: TargetId, env: &str) -> bool {
        let key = (env.to_string(), target);
        if let Some(known) = self.secret_reach.lock().expect("secret reach").get(&key) {
            return *known;
        }
        let t = &self.model().targets[target];
        let reached =
            !crate::secrets::files_of(&self.view.snapshot, env, &t.label, t.chart.is_some())
                .is_empty()
                || self
                    .upstream_stacks(target, env)
                    .into_iter()
                    .any(|u| self.reached_by_secrets(u, env));
        self.secret_reach
            .lock()
            .expect("secret reach")
            .insert(key, reached);
        reached
    }

    /// The outputs of `target`'s state in `env` that carry a value of the secrets reaching
    /// it, as they are or in a form the redaction knows (base64, a JSON string): its own
    /// secrets files' values, and the sensitive outputs (marked, or carrying secrets) of the
    /// stacks it reads that secrets reach. A secret passed through what terraform does not
    /// mark sensitive (a data source's result) comes out in an output not declared
    /// `sensitive`, and stays sensitive wherever that output flows. Decrypting needs the
    /// environment's identity; without it the answer is [`Carried::Unknown`].
    pub fn carried(&self, target: TargetId, env: &Environment) -> Result<Arc<Carried>> {
        let key = (env.name.clone(), target);
        if let Some(known) = self.carried.lock().expect("carried").get(&key) {
            return Ok(Arc::clone(known));
        }
        let carried = Arc::new(self.find_carried(target, env)?);
        self.carried
            .lock()
            .expect("carried")
            .insert(key, Arc::clone(&carried));
        Ok(carried)
    }

    /// [`crate::secrets::earlier_values`] of one file, read once.
    fn earlier_values(&self, file: &str) -> Option<Arc<Vec<serde_json::Value>>> {
        if let Some(known) = self.earlier.lock().expect("earlier").get(file) {
            return known.clone();
        }
        let values = crate::secrets::earlier_values(self.session, &self.view.snapshot, &[file])
            .map(Arc::new);
        self.earlier
            .lock()
            .expect("earlier")
            .insert(file.to_string(), values.clone());
        values
    }

    /// The values of every secret that reaches `target` in `env`, decrypted: those of its
    /// own secrets files, with their earlier versions (a state applied before a rotation
    /// still holds the old value), and those reaching each stack whose outputs it reads,
    /// transitively: an output may carry any of them, in any form a chain of stacks made
    /// of it (`base64decode` of an upstream `base64encode` gives one back as it is).
    /// Those that cannot be read here (no identity, a shallow clone) are said why in
    /// [`Reaching::incomplete`]; the rest are given all the same.
    pub fn secrets_reaching(&self, target: TargetId, env: &str) -> Arc<Reaching> {
        let key = (env.to_string(), target);
        if let Some(known) = self.reaching.lock().expect("reaching").get(&key) {
            return Arc::clone(known);
        }
        let reaching = Arc::new(self.find_reaching(target, env));
        self.reaching
            .lock()
            .expect("reaching")
            .insert(key, Arc::clone(&reaching));
        reaching
    }

    fn find_reaching(&self, target: TargetId, env: &str) -> Reaching {
        let mut reaching = Reaching::default();
        if !self.reached_by_secrets(target, env) {
            return reaching;
        }
        let t = &self.model().targets[target];
        let mut values: Vec<serde_json::Value> = Vec::new();
        let files = crate::secrets::files_of(&self.view.snapshot, env, &t.label, t.chart.is_some());
        if !files.is_empty() {
            let (own_dir, wide) = crate::secrets::scope(env, &t.label, t.chart.is_some());
            match crate::secrets::for_task(
                self.session,
                &self.view.snapshot,
                files.iter().copied(),
                &own_dir,
                wide,
            ) {
                Ok(Some(secrets)) => {
                    values.extend(secrets.values.into_values());
                    // The state may have been applied with values since rotated, or moved
                    // from a file that is gone.
                    let mut places: Vec<String> = files.iter().map(|f| f.to_string()).collect();
                    for place in crate::secrets::places_of(env, &t.label, t.chart.is_some()) {
                        if !places.contains(&place) {
                            places.push(place);
                        }
                    }
                    for place in &places {
                        match self.earlier_values(place) {
                            Some(earlier) => values.extend(earlier.iter().cloned()),
                            None => {
                                reaching.incomplete.get_or_insert_with(|| format!(
                                    "this clone is shallow, so the earlier versions of {place} (which the state of {} may still hold) cannot be read",
                                    t.label
                                ));
                            }
                        }
                    }
                }
                Ok(None) => {}
                Err(why) => {
                    reaching.incomplete.get_or_insert_with(|| {
                        format!(
                            "the secrets of {} in {env} cannot be opened: {why}",
                            t.label
                        )
                    });
                }
            }
        }
        // Every value that could be read counts, whatever could not be.
        for up in self.upstream_stacks(target, env) {
            let theirs = self.secrets_reaching(up, env);
            values.extend(theirs.values.iter().cloned());
            if let (None, Some(why)) = (&reaching.incomplete, &theirs.incomplete) {
                reaching.incomplete = Some(why.clone());
            }
        }
        reaching.values = values;
        reaching
    }

    fn find_carried(&self, target: TargetId, env: &Environment) -> Result<Carried> {
        let none = Carried::Known(Default::default());
        if !self.reached_by_secrets(target, &env.name) {
            return Ok(none);
        }
        let Some(state) = self.state_of(target, env)? else {
            return Ok(none);
        };
        if state.outputs.values().all(|o| o.sensitive) {
            return Ok(none);
        }
        // Every secret reaching it, its own and its upstream stacks', as they are.
        let reaching = self.secrets_reaching(target, &env.name);
        if let Some(why) = &reaching.incomplete {
            return Ok(Carried::Unknown(why.clone()));
        }
        let mut values: Vec<serde_json::Value> = reaching.values.clone();
        for up in self.upstream_stacks(target, &env.name) {
            if !self.reached_by_secrets(up, &env.name) {
                continue;
            }
            let carried = self.carried(up, env)?;
            if let Carried::Unknown(why) = &*carried {
                return Ok(Carried::Unknown(why.clone()));
            }
            let Some(up_state) = self.state_of(up, env)? else {
                continue;
            };
            values.extend(
                up_state
                    .outputs
                    .iter()
                    .filter(|(name, o)| o.sensitive || carried.carries(name))
                    .map(|(_, o)| o.value.clone()),
            );
        }
        if values.is_empty() {
            return Ok(none);
        }
        let mut redactor = strata_exec::redact::Redactor::default();
        for value in &values {
            redactor.add(value);
        }
        Ok(Carried::Known(
            state
                .outputs
                .iter()
                .filter(|(_, o)| !o.sensitive)
                .filter(|(_, o)| {
                    let mut seen = o.value.clone();
                    redactor.redact_json(&mut seen);
                    seen != o.value
                })
                .map(|(name, _)| name.clone())
                .collect(),
        ))
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
        self.keep_unsaved(target, env, &sandbox_dir, &[]);
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.unsaved_dir(target, env))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "tfstate"))
            .collect();
        // Those kept in the temporary directory when the state's own disk was full.
        let prefix = self.unsaved_fallback_prefix(target, env);
        files.extend(
            std::fs::read_dir(std::env::temp_dir())
                .into_iter()
                .flatten()
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
                .map(|e| e.path()),
        );
        // The newest, wherever it was kept: both names end in `<milliseconds>.tfstate`.
        files.sort_by_key(|p| kept_at(p));
        files.pop()
    }

    /// Whether `file` is one [`Self::keep_unsaved`] wrote for `target` in `env`.
    fn is_kept(&self, target: TargetId, env: &str, file: &Path) -> bool {
        file.starts_with(self.unsaved_dir(target, env))
            || (file.parent() == Some(std::env::temp_dir().as_path())
                && file.file_name().is_some_and(|n| {
                    n.to_string_lossy()
                        .starts_with(&self.unsaved_fallback_prefix(target, env))
                }))
    }

    /// The name's start of a state kept in the temporary directory (see
    /// [`Self::keep_unsaved`]): the workspace, environment and target it belongs to.
    fn unsaved_fallback_prefix(&self, target: TargetId, env: &str) -> String {
        let whose = format!(
            "{}\0{}\0{env}\0{}",
            self.state_root.display(),
            self.session.config.workspace.name,
            self.model().targets[target].label
        );
        format!(
            "strata-unsaved-{}-",
            &blake3::hash(whose.as_bytes()).to_hex()[..16]
        )
    }

    /// Moves the state terraform could not save (the backend went away, the disk filled
    /// during an apply) to a private place outside the checkout, where no sandbox rebuild can
    /// lose it: the `errored.tfstate` it wrote into `sandbox_dir` when that is a whole state,
    /// or else the state it printed in its `output` when it could not write even that. The
    /// state directory's `unsaved/` first, the temporary directory when that cannot be
    /// written. `None` when terraform left no unsaved state.
    pub fn keep_unsaved(
        &self,
        target: TargetId,
        env: &str,
        sandbox_dir: &Path,
        output: &[u8],
    ) -> Option<Unsaved> {
        let errored = sandbox_dir.join(ERRORED_STATE);
        let written = std::fs::read(&errored).ok();
        let whole = |bytes: &[u8]| State::parse(bytes, ERRORED_STATE).is_ok();
        let state = match written.as_deref() {
            Some(bytes) if whole(bytes) => Some(bytes.to_vec()),
            _ => printed_state(output),
        };
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or_default();
        let dir = self.unsaved_dir(target, env);
        let Some(state) = state else {
            let written = written?;
            // Damaged (cut short by a full disk): kept aside for inspection, never taken for
            // a state that would stop every later plan.
            let aside = dir.join(format!("{stamp}.tfstate.damaged"));
            let kept = strata_fs::write_private(&aside, &written).is_ok();
            let _ = std::fs::remove_file(&errored);
            return Some(Unsaved::Lost(if kept {
                format!(
                    "its copy was damaged (kept for inspection at {})",
                    aside.display()
                )
            } else {
                "its copy was damaged".into()
            }));
        };
        let places = [
            dir.join(format!("{stamp}.tfstate")),
            std::env::temp_dir().join(format!(
                "{}{stamp}.tfstate",
                self.unsaved_fallback_prefix(target, env)
            )),
        ];
        let mut why = String::new();
        for kept in places {
            match strata_fs::write_private(&kept, &state) {
                Ok(()) => {
                    let _ = std::fs::remove_file(&errored);
                    return Some(Unsaved::Kept(kept));
                }
                Err(e) => {
                    let _ = std::fs::remove_file(&kept);
                    why = format!("{}: {e}", kept.display());
                }
            }
        }
        Some(Unsaved::Lost(format!(
            "strata could not write it either ({why})"
        )))
    }

    /// Writes `file` as `label`'s state in `env` (`terraform state push`, which refuses a
    /// state of another lineage or an older serial) and, when it was a state strata kept
    /// after a failed save, removes it.
    ///
    /// A local state file that is no state (terraform cut it short on a full disk, which is
    /// why the state it could not save was kept) stops terraform before it can take the
    /// push: it is moved aside, next to where it was, and its new path returned.
    pub fn push(
        &self,
        target: TargetId,
        env: &Environment,
        file: &Path,
    ) -> Result<Option<PathBuf>> {
        let backend = self.backend_of(target, env)?;
        let label = &self.model().targets[target].label;
        let bytes = std::fs::read(file).map_err(|e| Error::io(file, e))?;
        State::parse(&bytes, &file.display().to_string())?;
        let set_aside = backend.set_aside_damaged()?;
        let pushed = backend.push(
            &self.tools,
            &self.reader(target, &env.name),
            file,
            env.config.state.lock_timeout_secs(),
        );
        if let Err(e) = pushed {
            // The damaged file goes back where it was: a push that failed changes nothing.
            let aside = match &set_aside {
                None => String::new(),
                Some(s) => match s.put_back() {
                    Ok(true) => format!(
                        " (the damaged local state, moved aside first, was put back at {})",
                        s.from.display()
                    ),
                    Ok(false) | Err(_) => format!(
                        " (the damaged local state was moved aside to {} and left there)",
                        s.to.display()
                    ),
                },
            };
            let locked = e.to_string().contains(strata_exec::state::LOCKED_BY);
            // pg's locks record no holder: terraform echoes the lock the push tried to
            // take. The session holding it is asked from the server.
            let why = match backend.kind() {
                "pg" if locked => format!(
                    "{}{}",
                    strata_exec::state::LOCKED_BY,
                    backend
                        .pg_lock_holder(&self.session.root)
                        .unwrap_or_else(|| "another run (pg records no lock holder, and psql could not ask the server)".into())
                ),
                _ => e.to_string(),
            };
            // terraform refusing the file itself (another lineage, an older serial) is bad
            // input; a lock or an unreachable backend is a failure to run again later.
            let refused = why.contains("cannot import state");
            let message = format!(
                "cannot push the state of {label} in {}: {why}{aside}",
                env.name
            );
            let location = Location::new(file.display().to_string(), None);
            let hint = if locked && (backend.kind() == "pg" || backend.kind() == "local") {
                format!(
                        "a {} state's lock ends with the run that holds it: push again when that run is over (waited {}s, env.toml [state] lock_timeout)",
                        backend.kind(),
                        env.config.state.lock_timeout_secs()
                    )
            } else if locked {
                format!(
                        "when the run holding the lock is over (a run cut off from the backend leaves its lock behind), release it with `strata state unlock {label} --env {} <lock ID>`, then push again",
                        env.name
                    )
            } else {
                "check that the backend is reachable; a state of another lineage or an older serial is refused on purpose".into()
            };
            return Err(if refused {
                Error::Invalid {
                    message,
                    location,
                    hint,
                }
            } else {
                Error::Failed {
                    message,
                    location,
                    hint,
                }
            });
        }
        self.changed(target, &env.name);
        if self.is_kept(target, &env.name, file) {
            let _ = std::fs::remove_file(file);
        }
        Ok(set_aside.map(|s| s.to))
    }

    /// Releases the lock `id` a run left on `target`'s state in `env`.
    pub fn unlock(&self, target: TargetId, env: &Environment, id: &str) -> Result<()> {
        let backend = self.backend_of(target, env)?;
        backend.force_unlock(&self.tools, &self.reader(target, &env.name), id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATE: &str = "{\n  \"version\": 4,\n  \"terraform_version\": \"1.0.3\",\n  \"serial\": 2,\n  \"lineage\": \"5d1c\",\n  \"outputs\": {},\n  \"resources\": [\n    {\n      \"mode\": \"managed\",\n      \"type\": \"null_resource\",\n      \"name\": \"a\",\n      \"provider\": \"provider[\\\"registry.terraform.io/hashicorp/null\\\"]\",\n      \"instances\": [\n        {\n          \"attributes\": {\"id\": \"1\", \"triggers\": {\"x\": \"{ brace }\"}}\n        }\n      ]\n    }\n  ]\n}";

    #[test]
    fn the_state_terraform_printed_as_its_last_resort_is_found_whole() {
        // terraform 1.0.3 when it could write neither the backend nor errored.tfstate.
        let output = format!(
            "null_resource.a: Creation complete after 0s [id=1]\n\nError: Failed to save state\n\nError saving state: {{ no space }}\n{STATE}\n\nError: Failed to persist state to backend\n\nThe error shown above has prevented Terraform from writing the updated state\nto the configured backend. To allow for recovery, the raw state data is printed above as a JSON object.\n"
        );
        let found = printed_state(output.as_bytes()).expect("found");
        assert_eq!(String::from_utf8(found).unwrap(), STATE);
        let state = State::parse(STATE.as_bytes(), "test").unwrap();
        assert_eq!(state.resources, ["null_resource.a"]);
        // Cut short: nothing.
        let cut = format!(
            "{}\n{PRINTED_STATE}",
            &output[..output.find("\"resources\"").unwrap()]
        );
        assert_eq!(printed_state(cut.as_bytes()), None);
        assert_eq!(printed_state(b""), None);
        // A document of the stack's own that looks like one, after a successful apply.
        let applied = format!("Apply complete!\n\nOutputs:\n\ndashboard = <<EOT\n{STATE}\nEOT\n");
        assert_eq!(printed_state(applied.as_bytes()), None);
        let no_lineage = format!(
            "{}\n{PRINTED_STATE}",
            STATE.replace("\"lineage\": \"5d1c\",", "")
        );
        assert_eq!(printed_state(no_lineage.as_bytes()), None);
    }

    #[test]
    fn the_newest_kept_state_is_the_one_to_push() {
        let older = Path::new("/tmp/strata-unsaved-0123456789abcdef-1700000000000.tfstate");
        let newer = Path::new("/state/unsaved/dev/stacks/a/1800000000000.tfstate");
        let mut files = vec![newer, older];
        files.sort_by_key(|p| kept_at(p));
        assert_eq!(files.pop(), Some(newer));
    }
}
