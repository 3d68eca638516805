//! A task's key and what it needs besides: the files of its sandbox, the environment's
//! inputs, the upstream outputs it consumes, the secrets it reads.

use super::{pg_application_name, unsaved_message, Runner};
use crate::states::Carried;
use crate::task::{Action, TaskFingerprint, TaskId, TASK_KEY_VERSION};
use crate::TaskReport;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use strata_exec::redact::Redactor;
use strata_exec::schedule::Status;
use strata_exec::terraform;
use strata_graph::discover::Kind;
use strata_graph::error::{Error, Result};
use strata_graph::hash::{input_file, InputFile};
use strata_graph::id::TargetId;
use strata_graph::model::DepKind;

/// What a task needs besides its key.
#[derive(Default)]
pub(crate) struct Prepared {
    /// Upstream outputs as TF_VAR values (and which are sensitive), or chart values.
    pub(crate) inputs: terraform::Inputs,
    pub(crate) values: BTreeMap<String, Value>,
    /// The sensitive values this task handles: removed from all it produces.
    pub(crate) redactor: Redactor,
    pub(crate) provisional: bool,
    /// How the stack reaches its state (init, plan, apply).
    pub(crate) state: terraform::StateSetup,
    /// Whether secrets files reach the task: decrypted only when it runs (its key covers
    /// the encrypted files; a cached result holds no plain value), so a cache hit needs no
    /// identity.
    pub(crate) reads_secrets: bool,
    /// The names of the stack's sensitive variables (declared so, given a sensitive
    /// upstream output, or a secret): a diagnostic quoting an expression that reads one may
    /// quote a value derived from it.
    pub(crate) sensitive_names: Vec<String>,
}

impl Prepared {
    /// Secrets as sensitive variables (stacks) or values (charts).
    fn add_secrets(&mut self, secrets: crate::secrets::TaskSecrets) {
        for (name, value) in secrets.values {
            self.inputs.vars.push((name.clone(), value.clone()));
            if !self.inputs.sensitive.contains(&name) {
                self.inputs.sensitive.push(name.clone());
            }
            self.values.insert(name, value);
        }
        self.inputs.required.extend(secrets.own);
    }
}

/// Why a destroy does nothing.
/// Why an apply refuses to change a stack its environment's release lock records as applied
/// while it finds no state of it: the resources exist, and their state is somewhere else.
pub(super) fn applied_but_stateless(label: &str, env: &str, backend: &str) -> String {
    let hint = if backend == "local" {
        "Local state is kept per checkout: was this checkout moved or cloned anew? Apply from the checkout that holds the state, or move the state to a shared backend ([state] in env.toml)."
    } else {
        "Are the backend's key, bucket, schema and credentials what they were when it was applied?"
    };
    format!(
        "{label} [{env}]: it has no state, but environments/{env}/release.lock.toml records it as applied there; applying would create its resources a second time. {hint} If its resources are really gone (or it never had any), `strata apply --env {env} --recreate {label}` creates it anew"
    )
}

pub(crate) const NOTHING_TO_DESTROY: &str = "nothing to destroy: the state holds no resources";
/// Why an apply task whose plan has no changes did not apply it.
pub const NOTHING_TO_APPLY: &str = "no changes: nothing to apply";

pub(crate) enum NotReady {
    Skip(String),
    Fail(String),
    /// Nothing to do, why: a destroy plan of a stack whose state holds nothing (its
    /// upstream outputs, which a plan would need, may be gone already).
    NothingToDo(String),
}

impl Runner<'_> {
    /// The files a task's sandbox holds: the target's inputs and those of the modules or
    /// library charts it builds on (transitively), plus its environment files less the
    /// secrets files (strata decrypts those from the workspace and hands the tools their
    /// values; a copy in the sandbox would be one more place for a file committed in clear
    /// text by mistake to stay after it was encrypted).
    pub(super) fn sandbox_files(&self, t: TargetId, env: Option<&str>) -> Vec<String> {
        let model = self.model();
        let mut files: BTreeSet<String> = BTreeSet::new();
        for n in self.built_on(t) {
            let target = &model.targets[n];
            files.extend(target.files.iter().cloned());
            files.extend(target.extra_inputs.iter().cloned());
        }
        if let Some(env) = env {
            files.extend(
                self.env_files
                    .inputs_for_target(env, &model.targets[t].label)
                    .filter(|p| !crate::secrets::is_secrets_file(p))
                    .map(str::to_string),
            );
        }
        files.into_iter().collect()
    }

    /// `t` and the modules or library charts it builds on, transitively (what its sandbox
    /// holds the code of).
    pub(super) fn built_on(&self, t: TargetId) -> Vec<TargetId> {
        let model = self.model();
        let mut out = Vec::new();
        let mut stack = vec![t];
        let mut seen = BTreeSet::new();
        while let Some(n) = stack.pop() {
            if !seen.insert(n) {
                continue;
            }
            out.push(n);
            for dep in &model.targets[n].deps {
                if matches!(dep.how, DepKind::Module | DepKind::Chart) {
                    stack.extend(model.index(&dep.label));
                }
            }
        }
        out
    }

    pub(super) fn env_inputs(&self, env: &str, label: &str) -> Vec<InputFile<'_>> {
        self.env_files
            .inputs_for_target(env, label)
            .map(|p| input_file(&self.view.snapshot, p))
            .collect()
    }

    /// Reads the upstream outputs a target consumes in `env`, and its secrets there. The
    /// digest covers the outputs; the secrets files are environment inputs of the task key
    /// already (their sealed text, never the values).
    fn upstream(&self, i: TaskId, prepared: &mut Prepared) -> Result<Option<String>, NotReady> {
        let task = &self.tasks[i];
        let Some(env_name) = task.env.as_deref() else {
            return Ok(None);
        };
        let target = &self.model().targets[task.target];
        let (own_dir, wide) = self.secrets_scope(task.target, env_name);
        // Its own secrets files, or those of the stacks it reads (their values can come
        // back whole from outputs made of them: redacted then).
        prepared.reads_secrets = self
            .env_files
            .for_target(env_name, &target.label)
            .any(|p| crate::secrets::reaches(p, &own_dir, wide))
            || self.states.reached_by_secrets(task.target, env_name);
        let env = self.model().environment(env_name).expect("resolved env");
        // A stack may read the stacks its `deps` name through `terraform_remote_state`
        // (no `[inputs]` binding says which outputs): all their outputs enter its key, so
        // a plan is made again once one of them changes.
        let mut declared: BTreeMap<String, Value> = BTreeMap::new();
        let mut declared_sensitive: Vec<String> = Vec::new();
        // Values hashed keyed in the digest (see `upstream_digest`): the sensitive ones, and
        // every output of a stack secrets reach (which of them carry a secret depends on
        // who can decrypt; the key must not).
        let mut hashed_keyed: Vec<String> = Vec::new();
        // Which outputs of an upstream stack carry its secrets (none when no secrets reach
        // it); every one when they cannot be opened here.
        let carried = |upstream: TargetId| -> Result<Option<Arc<Carried>>, NotReady> {
            if !self.states.reached_by_secrets(upstream, env_name) {
                return Ok(None);
            }
            self.states
                .carried(upstream, env)
                .map(Some)
                .map_err(|e| NotReady::Fail(e.one_line()))
        };
        if target.kind == Kind::Stack {
            for dep in target.deps.iter().filter(|d| d.how == DepKind::Declared) {
                let Some(upstream) = self.model().index(&dep.label) else {
                    continue;
                };
                let up = &self.model().targets[upstream];
                if up.kind != Kind::Stack || !up.environments.iter().any(|e| e == env_name) {
                    continue;
                }
                let state = self
                    .states
                    .state_of(upstream, env)
                    .map_err(|e| NotReady::Fail(e.one_line()))?;
                let outputs = state.as_ref().map(|s| &s.outputs);
                if outputs.is_none_or(|o| o.is_empty()) {
                    declared.insert(format!("{}:", dep.label), Value::Null);
                }
                let carries = carried(upstream)?;
                for (name, output) in outputs.into_iter().flatten() {
                    let key = format!("{}:{name}", dep.label);
                    if output.sensitive || carries.as_ref().is_some_and(|c| c.carries(name)) {
                        prepared.redactor.add(&output.value);
                        declared_sensitive.push(key.clone());
                    }
                    if output.sensitive || carries.is_some() {
                        hashed_keyed.push(key.clone());
                    }
                    declared.insert(key, output.value.clone());
                }
            }
        }
        if !declared_sensitive.is_empty() {
            self.no_sensitive_remote_reads(target, &declared_sensitive)?;
        }
        if target.inputs.is_empty() {
            return Ok((!declared.is_empty()).then(|| upstream_digest(&declared, &hashed_keyed)));
        }
        let mut consumed: BTreeMap<String, Value> = BTreeMap::new();
        let mut sensitive: Vec<String> = Vec::new();
        for input in &target.inputs {
            let Some(upstream) = self.model().index(&input.label) else {
                return Err(NotReady::Fail(format!("no target `{}`", input.label)));
            };
            // A backend may hold an empty state once the stack was initialised: nothing
            // was applied there yet either.
            let state = self
                .states
                .state_of(upstream, env)
                .map_err(|e| NotReady::Fail(e.one_line()))?
                .filter(|s| !s.is_empty())
                .ok_or_else(|| {
                    NotReady::Skip(format!(
                        "{} has no state in {env_name} yet: apply it first (`strata apply --env {} {}`)",
                        input.label,
                        strata_graph::text::shell_word(env_name),
                        strata_graph::text::shell_word(&input.label)
                    ))
                })?;
            let output = state.outputs.get(&input.output).cloned().ok_or_else(|| {
                NotReady::Fail(format!(
                    "{}'s state in {env_name} has no output `{}` (needed by input `{}`)",
                    input.label, input.output, input.variable
                ))
            })?;
            let carries = carried(upstream)?;
            if output.sensitive || carries.as_ref().is_some_and(|c| c.carries(&input.output)) {
                prepared.redactor.add(&output.value);
                sensitive.push(input.variable.clone());
            }
            if output.sensitive || carries.is_some() {
                hashed_keyed.push(input.variable.clone());
            }
            consumed.insert(input.variable.clone(), output.value);
        }
        // Provisional when the plan of a stack it reads outputs from, in this run, has
        // pending changes (that plan finished before this task started: it is upstream).
        // An upstream applied in this run since has the state this plan read: not pending.
        let done = self.done.lock().expect("reports");
        let upstream = |r: &&TaskReport| {
            r.env.as_deref() == Some(env_name)
                && target.inputs.iter().any(|inp| inp.label == r.label)
        };
        let applied = |label: &str| {
            done.iter().flatten().any(|r| {
                r.action == Action::Apply
                    && r.status == Status::Ok
                    && r.label == label
                    && upstream(&r)
            })
        };
        prepared.provisional = done
            .iter()
            .flatten()
            .filter(upstream)
            .any(|r| r.summary.plan().is_some_and(|p| p.has_changes()) && !applied(&r.label));
        drop(done);
        let digest = if declared.is_empty() {
            upstream_digest(&consumed, &hashed_keyed)
        } else {
            // Input names hold no `:`, so the two never collide.
            let mut all = consumed.clone();
            all.extend(declared);
            upstream_digest(&all, &hashed_keyed)
        };
        prepared.inputs.sensitive = sensitive;
        prepared.inputs.vars = consumed
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        // A binding to a variable the stack does not declare (a typo) would be dropped and
        // the variable's default used: each must be declared.
        if target.kind == strata_graph::discover::Kind::Stack {
            let manifest = strata_graph::discover::in_dir(&target.label, "stack.toml");
            prepared
                .inputs
                .required
                .extend(consumed.keys().map(|k| (k.clone(), manifest.clone())));
        }
        prepared.values = consumed;
        Ok(Some(digest))
    }

    /// The directory of a target's own secrets file in `env`, and whether the
    /// environment-wide ones reach it (stacks only).
    fn secrets_scope(&self, target: TargetId, env: &str) -> (String, bool) {
        let target = &self.model().targets[target];
        crate::secrets::scope(env, &target.label, target.chart.is_some())
    }

    /// Decrypts the secrets files that reach a task about to run: its variables or values,
    /// sensitive, and every value added to its redactor.
    pub(super) fn open_secrets(&self, i: TaskId, prepared: &mut Prepared) -> Result<(), String> {
        let task = &self.tasks[i];
        let Some(env) = task.env.as_deref() else {
            return Ok(());
        };
        let label = &self.model().targets[task.target].label;
        let (own_dir, wide) = self.secrets_scope(task.target, env);
        let secrets = crate::secrets::for_task(
            self.session,
            &self.view.snapshot,
            self.env_files.for_target(env, label),
            &own_dir,
            wide,
        )?;
        if let Some(secrets) = secrets {
            for value in secrets.values.values() {
                prepared.redactor.add(value);
            }
            // `values` holds the upstream outputs the task consumes, by variable name.
            if let Some(name) = secrets
                .values
                .keys()
                .find(|k| prepared.values.contains_key(*k))
            {
                return Err(format!(
                    "`{name}` is both one of {label}'s [inputs] and a secret in {env}: rename one"
                ));
            }
            prepared.add_secrets(secrets);
        }
        // Every secret that reaches it: its own files' earlier versions (a state applied
        // before a rotation holds the old value) and the secrets of the stacks it reads,
        // which an output made of them can give back as they are (`base64decode` of an
        // upstream `base64encode`); those that could be read, also when some could not (a
        // shallow clone). The outputs that may carry those that could not are all taken
        // as sensitive (see `States::carried`).
        for value in &self.states.secrets_reaching(task.target, env).values {
            prepared.redactor.add(value);
        }
        Ok(())
    }

    pub(crate) fn fingerprint(
        &self,
        i: TaskId,
    ) -> Result<(TaskFingerprint<'_>, Prepared), NotReady> {
        let task = &self.tasks[i];
        let target = &self.model().targets[task.target];
        let mut prepared = Prepared::default();
        let mut fp = TaskFingerprint {
            version: TASK_KEY_VERSION,
            label: &target.label,
            target_hash: self.view.hashes.hashes[task.target],
            action: task.action,
            env: task.env.clone(),
            env_inputs: Vec::new(),
            state: None,
            upstream_outputs: None,
            tf_vars: None,
            unpinned_tool: None,
            reads: None,
            policies: Vec::new(),
            waivers: Vec::new(),
        };
        // A file given to the task that leads outside the workspace: strata could never see
        // it change, so nothing made with it could be trusted from the cache.
        if let Some(env) = task.env.as_deref() {
            if let Some((link, text)) = self.env_files.outside_links(env, &target.label).next() {
                return Err(NotReady::Fail(format!(
                    "{link} is a link to `{text}`, outside the workspace (or a loop of links): a change there could never be seen; copy the file into the workspace and link to that, or replace the link with the file"
                )));
            }
        }
        if task.action == Action::Policy {
            let model = self.model();
            fp.policies = crate::governing::governing(model, task.target, task.env.as_deref())
                .iter()
                .map(|g| g.identity(model, &self.view.hashes.hashes))
                .collect();
            let today = strata_graph::model::waivers::today();
            fp.waivers = model
                .waivers
                .iter()
                .filter(|w| w.applies_to(&target.label, task.env.as_deref()))
                .map(|w| {
                    (
                        serde_json::to_string(w).expect("waivers serialize"),
                        w.expired(today),
                    )
                })
                .collect();
        }
        // A test, or a policy after a plan or render, reads the plan or render before it.
        if task.action == Action::Test
            || (task.action == Action::Policy && self.source_of(i).is_some())
        {
            // The plan or render this task reads (it ran before: it is upstream).
            let source = self.source_of(i);
            let done = self.done.lock().expect("reports");
            let report = source.and_then(|d| done[d].as_ref());
            match report {
                // What it reads is the output itself, not the key it was made under: a plan
                // made again under the same key (its cached entry was damaged or evicted,
                // and a data source read the world anew) may differ, and a verdict on the
                // old one must not be served for it.
                Some(r) if r.status == Status::Ok => {
                    drop(done);
                    let outputs = self.outputs.lock().expect("outputs");
                    let read = source
                        .and_then(|s| outputs.get(&s))
                        .and_then(|o| o.get("plan.json").or_else(|| o.get("manifests.yaml")));
                    match read {
                        Some(bytes) => fp.reads = Some(blake3::hash(bytes).to_hex().to_string()),
                        None => {
                            return Err(NotReady::Fail(
                                "the plan or render it reads has not been made under its current key (or is no longer cached)".into(),
                            ))
                        }
                    }
                }
                Some(r) => {
                    return Err(NotReady::Skip(format!(
                        "{} was {}",
                        r.action,
                        if r.status == Status::Skipped {
                            "skipped"
                        } else {
                            "not successful"
                        }
                    )))
                }
                None => return Err(NotReady::Fail("no plan or render to read".into())),
            }
        }
        let env = task
            .env
            .as_deref()
            .map(|e| self.model().environment(e).expect("resolved env"));
        if let Some(env) = env {
            if matches!(task.action, Action::Plan | Action::Apply) {
                if let Some(kept) = self.states.unsaved(task.target, &env.name) {
                    return Err(NotReady::Fail(unsaved_message(
                        &target.label,
                        Some(&env.name),
                        &kept,
                    )));
                }
            }
            if matches!(task.action, Action::Init | Action::Plan | Action::Apply) {
                let fail = |e: Error| NotReady::Fail(e.one_line());
                let backend = self.states.backend_of(task.target, env).map_err(fail)?;
                fp.state = Some(match task.action {
                    Action::Init => backend.settings(&self.session.root),
                    _ if self.mode.destroys() => {
                        // Nothing to create for a stack being torn down, and nothing to plan
                        // when its state is empty: destroyed already (by a run interrupted
                        // while it tore down the stacks upstream, whose outputs this plan
                        // would ask for), or never applied.
                        match self.states.state_of(task.target, env).map_err(fail)? {
                            Some(state) if !state.is_empty() => state_fingerprint(&state),
                            _ => {
                                return Err(NotReady::NothingToDo(NOTHING_TO_DESTROY.into()));
                            }
                        }
                    }
                    _ => match self
                        .states
                        .state_to_change(task.target, env)
                        .map_err(fail)?
                    {
                        Some(state) => state_fingerprint(&state),
                        None => "none".into(),
                    },
                });
                for secret in backend.secrets() {
                    prepared.redactor.add(&Value::String(secret));
                }
                let mut tool_env = backend.tool_env().to_vec();
                if backend.kind() == "pg" {
                    // Names this run in pg_stat_activity: the pg backend's locks record no
                    // holder, the database's sessions do.
                    tool_env.push((
                        "PGAPPNAME".into(),
                        pg_application_name(task.action, &target.label, &env.name),
                    ));
                }
                prepared.state = terraform::StateSetup {
                    override_hcl: backend.override_hcl(),
                    env: tool_env,
                    lock_timeout_secs: env.config.state.lock_timeout_secs(),
                };
            }
            // A policy task's result depends on env.toml's max_severity: environment files
            // are in its key too.
            if matches!(
                task.action,
                Action::Plan | Action::Apply | Action::Lint | Action::Render | Action::Policy
            ) {
                fp.env_inputs = self.env_inputs(&env.name, &target.label);
            }
            // Lint renders the templates too: it gets the same values as render.
            if matches!(
                task.action,
                Action::Plan | Action::Apply | Action::Lint | Action::Render
            ) {
                fp.upstream_outputs = self.upstream(i, &mut prepared)?;
            }
            // A test or policy reads what the plan or render made of the same sensitive
            // values (a template may have written one in a form the render's redaction does
            // not know, which a rule can decode and print): they are redacted from its
            // output too. Its key has the plan's or render's (`reads`), not the values.
            if matches!(task.action, Action::Test | Action::Policy) {
                self.upstream(i, &mut prepared)?;
            }
        }
        if matches!(
            task.action,
            Action::Fmt | Action::Validate | Action::Init | Action::Plan | Action::Apply
        ) {
            // Input values reach only what plans.
            let with_vars = matches!(task.action, Action::Plan | Action::Apply);
            fp.tf_vars = tf_env_digest(with_vars);
        }
        // Versions of tools WORKSPACE.toml does not pin, for the tasks that run them.
        let tool = match task.action {
            Action::Fmt | Action::Validate | Action::Init | Action::Plan | Action::Apply => {
                Some(self.session.config.toolchain.terraform_tool())
            }
            Action::Deps | Action::Lint | Action::Render => Some("helm"),
            Action::Test | Action::Policy => None,
        };
        if let Some(version) = tool.and_then(|t| self.tools.unpinned.get(t)) {
            fp.unpinned_tool = Some(format!("{} {version}", tool.unwrap_or_default()));
        }
        Ok((fp, prepared))
    }
}

/// `TF_*` variables in strata's environment that change nothing terraform computes (its
/// logs, prompts, caches and where providers are fetched from, which lock files and the
/// pinned version settle), or that strata sets for each run itself (`TF_DATA_DIR`). Every
/// other one is part of a terraform task's key.
const TF_ENV_WITHOUT_EFFECT: &[&str] = &[
    "TF_APPEND_USER_AGENT",
    "TF_CLI_CONFIG_FILE",
    "TF_DATA_DIR",
    "TF_INPUT",
    "TF_IN_AUTOMATION",
    "TF_LOG",
    "TF_LOG_CORE",
    "TF_LOG_PATH",
    "TF_LOG_PROVIDER",
    "TF_PLUGIN_CACHE_DIR",
    "TF_PLUGIN_CACHE_MAY_BREAK_DEPENDENCY_LOCK_FILE",
    "TF_REGISTRY_CLIENT_TIMEOUT",
    "TF_REGISTRY_DISCOVERY_RETRY",
];

/// Whether the `TF_*` variable `name` may change what a terraform task computes: input
/// values (`TF_VAR_*`, when `with_vars`), arguments added to every command or to one
/// (`TF_CLI_ARGS`, `TF_CLI_ARGS_plan`: `-target`, `-destroy`, `-check=false` would make
/// another plan or another check), the workspace (`TF_WORKSPACE`), and any variable strata
/// does not know (a miss costs a run; a wrong hit would report what did not run).
/// Credentials (`TF_TOKEN_*`) change who asks, not the answer.
fn tf_env_counts(name: &str, with_vars: bool) -> bool {
    match name.strip_prefix("TF_") {
        None => false,
        Some(rest) if rest.starts_with("VAR_") => with_vars,
        Some(rest) if rest.starts_with("TOKEN_") => false,
        Some(_) => !TF_ENV_WITHOUT_EFFECT.contains(&name),
    }
}

/// A digest of the `TF_*` variables in strata's environment that terraform reads too and
/// that may change its result (see [`tf_env_counts`]): a plan made with other values or
/// other arguments is another plan. Their values may be secret (`TF_VAR_db_password`, a
/// `-var` in `TF_CLI_ARGS`), so they are hashed like sensitive inputs (keyed with
/// `STRATA_SECRET_SALT` when set) and never shown; their names are.
fn tf_env_digest(with_vars: bool) -> Option<String> {
    let mut vars: BTreeMap<String, Value> = std::env::vars_os()
        .filter_map(|(k, v)| {
            let k = k.into_string().ok()?;
            tf_env_counts(&k, with_vars)
                .then(|| (k, Value::String(v.to_string_lossy().into_owned())))
        })
        .collect();
    // A file such an argument names (`-var-file=/ci/ci.tfvars`) decides the plan by its
    // contents, which its name does not say: they count too (listed by argument and
    // position, never by path).
    let mut files = BTreeMap::new();
    for (name, value) in &vars {
        if !name.starts_with("TF_CLI_ARGS") {
            continue;
        }
        let Value::String(value) = value else {
            continue;
        };
        for (i, (flag, path)) in named_files(value).into_iter().enumerate() {
            let contents = match std::fs::read(&path) {
                Ok(bytes) => blake3::hash(&bytes).to_hex().to_string(),
                Err(e) => format!("unreadable: {:?}", e.kind()),
            };
            files.insert(format!("{name} {flag} #{}", i + 1), Value::String(contents));
        }
    }
    vars.extend(files);
    if vars.is_empty() {
        return None;
    }
    let names: Vec<String> = vars.keys().cloned().collect();
    Some(format!(
        "{} ({})",
        upstream_digest(&vars, &names),
        names.join(", ")
    ))
}

/// The files a `TF_CLI_ARGS*` value names by flag (`-var-file`, the local state's `-state`,
/// `-state-out` and `-backup`, and `-backend-config` given a path rather than
/// `key=value`), each with its flag, in order. The value is split into
/// words as terraform splits it (blanks, with single and double quotes and backslashes).
fn named_files(value: &str) -> Vec<(&'static str, String)> {
    let words = shell_words(value);
    let mut out = Vec::new();
    let mut words = words.iter().peekable();
    while let Some(word) = words.next() {
        let bare = word.trim_start_matches('-');
        if !word.starts_with('-') {
            continue;
        }
        for (flag, shown) in FILE_FLAGS {
            let given = match bare.strip_prefix(flag) {
                Some(rest) if rest.starts_with('=') => Some(rest[1..].to_string()),
                Some("") => words.next().cloned(),
                _ => continue,
            };
            if let Some(path) = given {
                if flag != "backend-config" || !path.contains('=') {
                    out.push((shown, path));
                }
            }
        }
    }
    out
}

/// The flags of terraform's commands that name a file whose contents decide the result.
const FILE_FLAGS: [(&str, &str); 5] = [
    ("var-file", "-var-file"),
    ("backend-config", "-backend-config"),
    ("state-out", "-state-out"),
    ("state", "-state"),
    ("backup", "-backup"),
];

/// Splits a command line into words as terraform does (go-shellwords): blanks separate
/// them; single quotes keep everything, double quotes all but backslash escapes, a
/// backslash outside quotes keeps the next character, and the line ends at an unquoted
/// `;`, `&`, `|`, `<` or `>`.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    word.push(c);
                }
            }
            '"' => {
                in_word = true;
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => word.extend(chars.next()),
                        c => word.push(c),
                    }
                }
            }
            '\\' => {
                in_word = true;
                word.extend(chars.next());
            }
            ';' | '&' | '|' | '<' | '>' => break,
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

/// The key BLAKE3 is keyed with for sensitive values, from `STRATA_SECRET_SALT`; none when
/// it is not set.
fn salt_key() -> Option<[u8; 32]> {
    std::env::var("STRATA_SECRET_SALT")
        .ok()
        .filter(|s| !s.is_empty())
        .map(|salt| blake3::derive_key("strata 2026 sensitive input salt", salt.as_bytes()))
}

/// What a stack's state adds to its plan and apply keys: lineage, serial and the state's
/// digest. A state holds sensitive values in clear text, so its digest enters keyed with
/// `STRATA_SECRET_SALT` when that is set, as sensitive inputs do.
fn state_fingerprint(state: &strata_exec::state::State) -> String {
    match salt_key() {
        Some(key) => format!(
            "{}:{}:keyed:{}",
            state.lineage,
            state.serial,
            blake3::keyed_hash(&key, state.digest.as_bytes()).to_hex()
        ),
        None => state.fingerprint(),
    }
}

/// The digest of the upstream outputs a task consumed, for its key. A sensitive value
/// enters it through BLAKE3 keyed with `STRATA_SECRET_SALT` when that is set, so someone who
/// can list a shared cache cannot confirm a guessed secret from the keys (see
/// docs/security.md); the key only says that it changed.
impl Runner<'_> {
    /// Fails a task of a stack whose Terraform files read a sensitive output of one of its
    /// `deps` through `terraform_remote_state` (see [`crate::remote_state`]): what terraform
    /// derives from it would be in clear text. `sensitive` holds `dep:output`.
    fn no_sensitive_remote_reads(
        &self,
        target: &strata_graph::model::Target,
        sensitive: &[String],
    ) -> Result<(), NotReady> {
        let files: Vec<&str> = target
            .files
            .iter()
            .map(String::as_str)
            .filter(|f| strata_graph::discover::is_terraform_file(f))
            .collect();
        let texts = self
            .texts(&files)
            .map_err(|e| NotReady::Fail(e.one_line()))?;
        // A data source named after one of the stack's `deps` (`data "terraform_remote_state"
        // "app"` for `stacks/app`) is taken to read that one; another may read any of them.
        let declared: Vec<&str> = target
            .deps
            .iter()
            .filter(|d| d.how == DepKind::Declared)
            .map(|d| d.label.as_str())
            .collect();
        // Only when exactly one is: `stacks/eu/db` and `stacks/us/db` are both `db`.
        let named_after = |source: &str| {
            let mut named = declared
                .iter()
                .copied()
                .filter(|label| label.rsplit('/').next() == Some(source));
            match (named.next(), named.next()) {
                (Some(one), None) => Some(one),
                _ => None,
            }
        };
        let of = |source: &str, name: &str| {
            let reads = named_after(source);
            sensitive
                .iter()
                .filter_map(|k| k.rsplit_once(':'))
                .filter(|(dep, _)| reads.is_none_or(|r| r == *dep))
                .find(|(_, n)| *n == name)
                .map(|(dep, _)| dep)
        };
        for (file, text) in &texts {
            for read in crate::remote_state::reads(file, text) {
                let why = match &read.output {
                    Some(name) => match of(&read.source, name) {
                        Some(dep) => format!(
                            "{file}:{} reads `{name}` through terraform_remote_state, a sensitive output of {dep}: terraform does not mark it sensitive there, so a value derived from it would reach the plan, its log and the cache in clear text; read it as an input instead (`{name} = \"{dep}:{name}\"` under [inputs] in {}/stack.toml, then `var.{name}`), which strata marks sensitive",
                            read.line, target.label
                        ),
                        None => continue,
                    },
                    None => {
                        let reads = named_after(&read.source);
                        let names: Vec<&str> = sensitive
                            .iter()
                            .map(String::as_str)
                            .filter(|k| {
                                reads.is_none_or(|r| k.rsplit_once(':').is_some_and(|(d, _)| d == r))
                            })
                            .collect();
                        if names.is_empty() {
                            continue;
                        }
                        format!(
                            "{file}:{} reads the outputs of a terraform_remote_state as a whole or by a computed key, and {} sensitive: terraform does not mark them sensitive there, so a value derived from one would reach the plan, its log and the cache in clear text; read the outputs by name, and the sensitive ones as inputs (under [inputs] in {}/stack.toml), which strata marks sensitive",
                            read.line,
                            if names.len() == 1 {
                                format!("`{}` is", names[0])
                            } else {
                                format!("`{}` are", names.join("`, `"))
                            },
                            target.label
                        )
                    }
                };
                return Err(NotReady::Fail(why));
            }
        }
        Ok(())
    }
}

fn upstream_digest(consumed: &BTreeMap<String, Value>, sensitive: &[String]) -> String {
    let salt = salt_key();
    let mut parts: BTreeMap<&str, Value> = BTreeMap::new();
    for (name, value) in consumed {
        let part = match (&salt, sensitive.contains(name)) {
            (Some(key), true) => {
                let bytes = serde_json::to_vec(value).expect("json");
                Value::String(format!(
                    "keyed:{}",
                    blake3::keyed_hash(key, &bytes).to_hex()
                ))
            }
            _ => value.clone(),
        };
        parts.insert(name, part);
    }
    blake3::hash(&serde_json::to_vec(&parts).expect("json"))
        .to_hex()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_named_in_terraform_arguments_are_found_as_terraform_splits_them() {
        let found = named_files(
            r#"-var-file=/ci/a.tfvars -var-file "/ci/b c.tfvars" --var-file='/ci/d.tfvars' -backend-config=/ci/be.hcl -backend-config="bucket=x" -var 'x=1' -lock=false"#,
        );
        let want: Vec<(&str, String)> = vec![
            ("-var-file", "/ci/a.tfvars".into()),
            ("-var-file", "/ci/b c.tfvars".into()),
            ("-var-file", "/ci/d.tfvars".into()),
            ("-backend-config", "/ci/be.hcl".into()),
        ];
        assert_eq!(found, want);
        assert_eq!(shell_words(r"a\ b 'c d' e"), vec!["a b", "c d", "e"]);
        assert_eq!(
            shell_words("-var-file=/ci/a.tfvars; echo"),
            vec!["-var-file=/ci/a.tfvars"]
        );
        assert_eq!(
            named_files("-state=/ci/s.tfstate -state-out /ci/o.tfstate -backup=/ci/b"),
            vec![
                ("-state", "/ci/s.tfstate".to_string()),
                ("-state-out", "/ci/o.tfstate".to_string()),
                ("-backup", "/ci/b".to_string()),
            ]
        );
        assert!(named_files("-target=null_resource.x").is_empty());
    }
}
