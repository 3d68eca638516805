//! The runner: task keys, cache lookups, execution, outcomes.

use super::{resolve_envs, TaskReport};
use crate::outcome::{Outcome, Redact, Summary};
use crate::task::TaskId;
use crate::task::{plan_tasks, Action, Mode, Task, TaskFingerprint, TASK_KEY_VERSION};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use strata_cache::{make_result, Cache};
use strata_exec::redact::Redactor;
use strata_graph::id::TargetId;

use strata_exec::schedule::{Job, NotRun, Status};
use strata_exec::{helm, process, sandbox, state, terraform, Tools};
use strata_graph::error::{Error, Result};
use strata_graph::hash::{input_file, InputFile};
use strata_graph::model::{DepKind, EnvironmentFiles, Model};
use strata_graph::session::{Session, View};

/// The task fingerprints (what each task key covers) of the selected targets in `envs`,
/// computed as a run would compute them, without running anything: for
/// `strata hash --explain --env E`.
pub fn explain_task_keys(
    session: &Session,
    view: &View,
    selected: &[TargetId],
    envs: &[String],
) -> Result<Vec<KeyExplanation>> {
    let envs = resolve_envs(&view.model, envs)?;
    let tasks = plan_tasks(&view.model, selected, &envs, Mode::Check);
    // The versions of unpinned tools are part of keys: found when the tools are there.
    let tools = super::resolve_tools(session, &tasks, &view.model).unwrap_or(Tools {
        terraform: None,
        helm: None,
        env: Vec::new(),
        unpinned: Default::default(),
        plugin_cache: None,
    });
    let runner = Runner {
        session,
        view,
        tasks: &tasks,
        mode: Mode::Check,
        tools: tools.clone(),
        cache: Cache::disabled(Arc::new(|_| {})),
        work_root: session.root.join(".strata/work"),
        env_files: view.model.environment_files(&view.snapshot),
        done: Mutex::new(vec![None; tasks.len()]),
        outputs: Mutex::new(HashMap::new()),
        say: &|_| {},
        approve: &|_| false,
        reviewed: Mutex::default(),
        unsaved: Mutex::default(),
        states: crate::states::States::new(session, view, tools),
    };
    let mut out = Vec::new();
    for (i, task) in TaskId::all(tasks.len()).zip(&tasks) {
        let mut report = runner.report(i);
        let mut entry = KeyExplanation {
            label: report.label.clone(),
            action: task.action,
            env: task.env.clone(),
            key: None,
            provisional: None,
            fingerprint: None,
            not_computable: None,
        };
        match runner.fingerprint(i) {
            Ok((fp, prepared)) => {
                report.key = Some(fp.key().to_hex());
                let mut fingerprint = serde_json::to_value(&fp).expect("fingerprint");
                // A digest over a sensitive value could confirm a guess: say what it covers.
                let sensitive = &prepared.inputs.sensitive;
                if !sensitive.is_empty() {
                    fingerprint["upstream_outputs"] = Value::String(format!(
                        "(covers the consumed outputs, including sensitive {}; digest not shown)",
                        sensitive.join(", ")
                    ));
                }
                entry.key = report.key.clone();
                entry.provisional = Some(prepared.provisional);
                entry.fingerprint = Some(fingerprint);
            }
            Err(NotReady::Skip(why)) | Err(NotReady::Fail(why)) => {
                report.status = Status::Skipped;
                entry.not_computable = Some(why);
            }
        }
        runner.done.lock().expect("reports")[i] = Some(report);
        out.push(entry);
    }
    Ok(out)
}

/// Why a task has the key it has (`strata hash --explain --env E`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct KeyExplanation {
    pub label: String,
    pub action: Action,
    pub env: Option<String>,
    /// The task key; `None` when it cannot be computed yet (`not_computable` says why).
    pub key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provisional: Option<bool>,
    /// Exactly what the key hashes (a digest over sensitive inputs is replaced by what it
    /// covers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_computable: Option<String>,
}

impl KeyExplanation {
    /// A fingerprint field that is a string (`state`, `upstream_outputs`, `reads`, ...).
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fingerprint.as_ref()?.get(name)?.as_str()
    }

    /// The environment files the key covers: (blob id, path).
    pub fn env_inputs(&self) -> Vec<(&str, &str)> {
        let Some(files) = self
            .fingerprint
            .as_ref()
            .and_then(|f| f["env_inputs"].as_array())
        else {
            return Vec::new();
        };
        files
            .iter()
            .filter_map(|f| Some((f["id"].as_str()?, f["path"].as_str()?)))
            .collect()
    }
}

pub(super) struct Runner<'a> {
    pub(super) session: &'a Session,
    pub(super) view: &'a View,
    pub(super) tasks: &'a [Task],
    pub(super) mode: Mode,
    pub(super) tools: Tools,
    pub(super) cache: Cache,
    pub(super) work_root: PathBuf,
    pub(super) env_files: EnvironmentFiles,
    pub(super) done: Mutex<Vec<Option<TaskReport>>>,
    /// Outputs of plan and render tasks in this run, for the tests that read them.
    pub(super) outputs: Mutex<HashMap<TaskId, BTreeMap<String, Vec<u8>>>>,
    /// Tells the user something while a task runs (from worker threads, at once).
    pub(super) say: &'a (dyn Fn(&str) + Sync),
    /// Asks whether to apply a plan (one stack at a time).
    pub(super) approve: &'a (dyn Fn(&crate::Approval) -> bool + Sync),
    /// For `apply`: the cached plan under each plan task's key, the one reviewed.
    pub(super) reviewed: Mutex<HashMap<TaskId, strata_exec::plan_json::PlanSummary>>,
    /// States terraform could not save in this run's applies, by task, where strata kept
    /// them.
    pub(super) unsaved: Mutex<HashMap<TaskId, PathBuf>>,
    /// The states read in this run.
    pub(super) states: crate::states::States<'a>,
}

/// What a task needs besides its key.
#[derive(Default)]
struct Prepared {
    /// Upstream outputs as TF_VAR values (and which are sensitive), or chart values.
    inputs: terraform::Inputs,
    values: BTreeMap<String, Value>,
    /// The sensitive values this task handles: removed from all it produces.
    redactor: Redactor,
    provisional: bool,
    /// How the stack reaches its state (init, plan, apply).
    state: terraform::StateSetup,
    /// Whether secrets files reach the task: decrypted only when it runs (its key covers
    /// the encrypted files; a cached result holds no plain value), so a cache hit needs no
    /// identity.
    reads_secrets: bool,
}

impl Prepared {
    /// Secrets as sensitive variables (stacks) or values (charts).
    fn add_secrets(&mut self, secrets: crate::secrets::TaskSecrets) {
        for (name, value) in secrets.values {
            self.inputs.vars.push((
                name.clone(),
                match &value {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                },
            ));
            if !self.inputs.sensitive.contains(&name) {
                self.inputs.sensitive.push(name.clone());
            }
            self.values.insert(name, value);
        }
        self.inputs.required = secrets.own;
    }
}

enum NotReady {
    Skip(String),
    Fail(String),
}

impl Runner<'_> {
    pub(super) fn model(&self) -> &Model {
        &self.view.model
    }

    fn report(&self, i: TaskId) -> TaskReport {
        let t = &self.tasks[i];
        let target = &self.model().targets[t.target];
        let mut report = TaskReport::new(
            &target.label,
            target.kind,
            t.action,
            t.env.clone(),
            self.view.hashes.hashes[t.target].to_hex(),
        );
        report.destroy = self.mode.destroys();
        report
    }

    /// The files a task's sandbox holds: the target's inputs and those of the modules or
    /// library charts it builds on (transitively), plus its environment files.
    fn sandbox_files(&self, t: TargetId, env: Option<&str>) -> Vec<String> {
        let model = self.model();
        let mut files: BTreeSet<String> = BTreeSet::new();
        let mut stack = vec![t];
        let mut seen = BTreeSet::new();
        while let Some(n) = stack.pop() {
            if !seen.insert(n) {
                continue;
            }
            let target = &model.targets[n];
            files.extend(target.files.iter().cloned());
            files.extend(target.extra_inputs.iter().cloned());
            for dep in &target.deps {
                if matches!(dep.how, DepKind::Module | DepKind::Chart) {
                    if let Some(d) = model.index(&dep.label) {
                        stack.push(d);
                    }
                }
            }
        }
        if let Some(env) = env {
            files.extend(
                self.env_files
                    .for_target(env, &model.targets[t].label)
                    .map(str::to_string),
            );
        }
        files.into_iter().collect()
    }

    fn env_inputs(&self, env: &str, label: &str) -> Vec<InputFile<'_>> {
        self.env_files
            .for_target(env, label)
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
        prepared.reads_secrets = self
            .env_files
            .for_target(env_name, &target.label)
            .any(|p| crate::secrets::reaches(p, &own_dir, wide));
        if target.inputs.is_empty() {
            return Ok(None);
        }
        let env = self.model().environment(env_name).expect("resolved env");
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
                        "{} has no state in {env_name} yet: apply it first (`strata apply --env {env_name} {}`)",
                        input.label, input.label
                    ))
                })?;
            let output = state.outputs.get(&input.output).cloned().ok_or_else(|| {
                NotReady::Fail(format!(
                    "{}'s state in {env_name} has no output `{}` (needed by input `{}`)",
                    input.label, input.output, input.variable
                ))
            })?;
            if output.sensitive {
                prepared.redactor.add(&output.value);
                sensitive.push(input.variable.clone());
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
        let digest = upstream_digest(&consumed, &sensitive);
        prepared.inputs.sensitive = sensitive;
        prepared.inputs.vars = consumed
            .iter()
            .map(|(k, v)| {
                let text = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.clone(), text)
            })
            .collect();
        prepared.values = consumed;
        Ok(Some(digest))
    }

    /// The directory of a target's own secrets file in `env`, and whether the
    /// environment-wide ones reach it (stacks only).
    fn secrets_scope(&self, target: TargetId, env: &str) -> (String, bool) {
        let target = &self.model().targets[target];
        (
            format!(
                "environments/{env}/{}",
                strata_graph::discover::label_dir(&target.label)
            ),
            target.chart.is_none(),
        )
    }

    /// Decrypts the secrets files that reach a task about to run: its variables or values,
    /// sensitive, and every value added to its redactor.
    fn open_secrets(&self, i: TaskId, prepared: &mut Prepared) -> Result<(), String> {
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
        Ok(())
    }

    fn fingerprint(&self, i: TaskId) -> Result<(TaskFingerprint<'_>, Prepared), NotReady> {
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
        // A test, or a policy in an environment, reads the plan or render before it.
        if task.action == Action::Test || (task.action == Action::Policy && task.env.is_some()) {
            // The plan or render this task reads (it ran before: it is upstream).
            let source = self.source_of(i);
            let done = self.done.lock().expect("reports");
            let report = source.and_then(|d| done[d].as_ref());
            match report {
                Some(r) if r.status == Status::Ok => fp.reads = r.key.clone(),
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
                    _ => match if matches!(self.mode, Mode::Destroy | Mode::DestroyPlan) {
                        // Nothing to create for a stack being torn down.
                        self.states.state_of(task.target, env)
                    } else {
                        self.states.state_to_change(task.target, env)
                    }
                    .map_err(fail)?
                    {
                        Some(state) => state.fingerprint(),
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
            if matches!(task.action, Action::Plan | Action::Apply) {
                fp.tf_vars = tf_vars_digest();
            }
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

    fn execute(&self, i: TaskId, prepared: &Prepared) -> Result<Outcome> {
        let task = &self.tasks[i];
        let target = &self.model().targets[task.target];
        let env = task.env.as_deref();
        match task.action {
            Action::Test => return self.run_tests(i),
            Action::Policy => return self.run_policies(i),
            _ => {}
        }
        let files = self.sandbox_files(task.target, env);
        let sb = sandbox::prepare(
            &self.work_root,
            env,
            &target.label,
            &self.session.repo,
            &self.view.snapshot,
            &files,
        )?;
        let env_paths = |exts: &[&str]| -> Vec<String> {
            env.map(|e| {
                self.env_files
                    .for_target(e, &target.label)
                    .filter(|p| exts.iter().any(|x| p.ends_with(x)))
                    .map(|p| sb.src.join(p).display().to_string())
                    .collect()
            })
            .unwrap_or_default()
        };
        let has_chart_deps = target
            .chart
            .as_ref()
            .is_some_and(|c| !c.dependencies.is_empty());
        if matches!(task.action, Action::Plan | Action::Apply) {
            self.say_who_holds_the_lock(task.target, env);
        }
        let step = match task.action {
            Action::Fmt => terraform::fmt_check(&self.tools, &sb),
            Action::Validate => terraform::validate(&self.tools, &sb),
            Action::Init => terraform::ensure_init(&self.tools, &sb, Some(&prepared.state), true),
            Action::Plan => terraform::plan(
                &self.tools,
                &sb,
                &prepared.state,
                &env_paths(&[".tfvars", ".tfvars.json"]),
                &prepared.inputs,
                match self.mode {
                    Mode::Apply => terraform::PlanFor::Apply,
                    Mode::Destroy => terraform::PlanFor::Destroy,
                    Mode::DestroyPlan => terraform::PlanFor::DestroyReview,
                    _ => terraform::PlanFor::Review,
                },
            ),
            Action::Apply => {
                let step = terraform::apply(&self.tools, &sb, &prepared.state);
                if let Some(env) = env {
                    // Whatever happened, the state may have changed: read it again.
                    self.states.changed(task.target, env);
                    // Terraform changed resources but could not save the state: keep what
                    // it wrote where no sandbox rebuild can lose it.
                    if let Some(kept) = self.states.keep_unsaved(task.target, env, &sb.dir) {
                        self.unsaved.lock().expect("unsaved").insert(i, kept);
                    }
                }
                step
            }
            Action::Deps => helm::dependency_build(&self.tools, &sb, has_chart_deps),
            Action::Test => return self.run_tests(i),
            Action::Policy => return self.run_policies(i),
            Action::Lint | Action::Render => {
                let mut values = env_paths(&[".yaml", ".yml"]);
                // Upstream outputs may be sensitive: a private file, gone after the step.
                let _inputs_file = if prepared.values.is_empty() {
                    None
                } else {
                    let bytes = serde_json::to_vec(&prepared.values).expect("json");
                    let file = strata_fs::secret_file("strata-values-", ".json", &bytes)
                        .map_err(|e| Error::io(std::env::temp_dir(), e))?;
                    values.push(file.path().display().to_string());
                    Some(file)
                };
                if task.action == Action::Lint {
                    helm::lint(&self.tools, &sb, has_chart_deps, &values)
                } else {
                    // The chart's directory name; at the workspace root, the chart's own name.
                    let release = match strata_graph::discover::label_dir(&target.label) {
                        "" => target.chart.as_ref().map_or("release", |c| c.name.as_str()),
                        dir => dir.rsplit('/').next().unwrap_or(dir),
                    };
                    helm::render(
                        &self.tools,
                        &sb,
                        has_chart_deps,
                        release,
                        env.unwrap_or("default"),
                        &values,
                    )
                }
            }
        };
        Ok(step?.into())
    }

    /// When someone holds the lock of the state a plan or apply is about to use, says who
    /// and since when: terraform waits for it (up to its lock timeout) without a word.
    fn say_who_holds_the_lock(&self, target: TargetId, env: Option<&str>) {
        let Some(env) = env.and_then(|e| self.model().environment(e)) else {
            return;
        };
        let label = &self.model().targets[target].label;
        if let Some(who) = self
            .states
            .backend_of(target, env)
            .ok()
            .and_then(|b| b.lock_holder())
        {
            (self.say)(&format!(
                "{label} [{}]: the state is locked by {who}; terraform waits up to {}s for it",
                env.name,
                env.config.state.lock_timeout_secs()
            ));
        }
    }

    fn cacheable(&self, action: Action) -> bool {
        !(action == Action::Apply
            || (matches!(self.mode, Mode::Apply | Mode::Destroy | Mode::DestroyPlan)
                && action == Action::Plan))
    }
}

impl Job for Runner<'_> {
    type Out = TaskReport;

    fn run(&self, task: usize) -> (Status, TaskReport) {
        let i = TaskId::from_index(task);
        let start = Instant::now();
        let mut report = self.report(i);
        let task = &self.tasks[i];
        let _span = tracing::debug_span!(
            "task",
            label = %report.label,
            action = ?task.action,
            env = task.env.as_deref().unwrap_or("")
        )
        .entered();
        let finish = |mut report: TaskReport, status: Status| {
            report.status = status;
            report.duration_ms = start.elapsed().as_millis() as u64;
            self.done.lock().expect("reports")[i] = Some(report.clone());
            (status, report)
        };
        let (fp, mut prepared) = match self.fingerprint(i) {
            Ok(x) => x,
            Err(NotReady::Skip(why)) => {
                report.reason = Some(why);
                return finish(report, Status::Skipped);
            }
            Err(NotReady::Fail(why)) => {
                report.reason = Some(why);
                return finish(report, Status::Failed);
            }
        };
        let key = fp.key();
        report.key = Some(key.to_hex());
        report.provisional = prepared.provisional;
        if self.mode == Mode::Apply && task.action == Action::Plan {
            // The plan made under this key before (by `strata plan`, maybe on another
            // runner) is the one reviewers saw: the fresh plan is compared with it.
            if let Ok(Some(hit)) = self.cache.lookup(&key) {
                if let Some(Summary::Step(strata_exec::step::StepSummary::Plan(p))) =
                    Summary::from_cached(Action::Plan, hit.result.summary)
                {
                    self.reviewed.lock().expect("reviewed").insert(i, p);
                }
            }
        }
        if task.action == Action::Apply {
            if let Some(done) = self.before_apply(i, &mut report) {
                return finish(report, done);
            }
        }
        if self.cacheable(task.action) {
            match self.cache.lookup(&key) {
                // A result without the output its readers need (a damaged or forged entry;
                // the cache verified only the outputs it lists) is a miss: run again, and
                // the new result replaces it.
                Ok(Some(hit))
                    if required_output(task.action)
                        .is_some_and(|name| !hit.blobs.contains_key(name)) =>
                {
                    (self.say)(&format!(
                        "the cached result of {} {} has no {}: running it again",
                        report.label,
                        task.action,
                        required_output(task.action).unwrap_or_default()
                    ));
                }
                Ok(Some(hit)) => {
                    // A summary without this action's shape (another version wrote it) is
                    // a miss, never a result.
                    if let Some(summary) = Summary::from_cached(task.action, hit.result.summary) {
                        report.cached = true;
                        report.remote = hit.from_remote;
                        report.summary = summary;
                        if matches!(task.action, Action::Plan | Action::Render) {
                            report.rendered = rendered_digest(task.action, &hit.blobs);
                            self.outputs.lock().expect("outputs").insert(i, hit.blobs);
                        }
                        return finish(report, Status::Ok);
                    }
                }
                Ok(None) => {}
                Err(e) => {
                    report.reason = Some(e.to_string());
                    return finish(report, Status::Failed);
                }
            }
        }
        // Tests and policies read the plan or render, never the values; the values are
        // opened only to redact them from what the rules print.
        if prepared.reads_secrets {
            if let Err(why) = self.open_secrets(i, &mut prepared) {
                report.reason = Some(why);
                return finish(report, Status::Failed);
            }
        }
        let step = match self.execute(i, &prepared) {
            Ok(step) => step,
            Err(e) => {
                report.reason = Some(prepared.redactor.redact_text(&e.one_line()));
                return finish(report, Status::Failed);
            }
        };
        let mut step = step;
        prepared.redactor.redact_outcome(&mut step);
        if self.tool_name(task.action) == "terraform" {
            from_workspace_root(&mut step, &report.label);
        }
        report.summary = step.summary.clone();
        report.tool_ms = step.tool_ms;
        report.log = String::from_utf8_lossy(&step.log).into_owned();
        if step.interrupted {
            report.reason = Some("interrupted".into());
            return finish(report, Status::Failed);
        }
        if !step.ok {
            let unsaved = self.unsaved.lock().expect("unsaved").remove(&i);
            report.reason = Some(match (unsaved, self.lock_failure(i, &report.log)) {
                (Some(kept), _) => unsaved_message(&report.label, task.env.as_deref(), &kept),
                (None, Some(why)) => why,
                (None, None) if task.action == Action::Fmt => {
                    fmt_failure(&report.summary, &report.label)
                }
                (None, None) => {
                    format!("{} {} failed", self.tool_name(task.action), task.action)
                }
            });
            return finish(report, Status::Failed);
        }
        if matches!(task.action, Action::Plan | Action::Render) {
            report.rendered = rendered_digest(task.action, &step.blobs);
            self.outputs
                .lock()
                .expect("outputs")
                .insert(i, step.blobs.clone());
        }
        if let (Some(reviewed), Some(fresh)) = (
            self.reviewed.lock().expect("reviewed").remove(&i),
            report.summary.plan(),
        ) {
            let changes = |p: &strata_exec::plan_json::PlanSummary| {
                p.resources
                    .iter()
                    .map(|r| (r.address.clone(), r.action.clone()))
                    .collect::<Vec<_>>()
            };
            report.matches_reviewed = Some(changes(&reviewed) == changes(fresh));
        }
        if self.cacheable(task.action) {
            let mut blobs = step.blobs;
            blobs.insert("log".into(), step.log);
            let result = make_result(
                key,
                &report.label,
                task.action.as_str(),
                task.env.as_deref(),
                serde_json::to_value(&report.summary).expect("summaries serialize"),
                &blobs,
                start.elapsed().as_millis() as u64,
            );
            if let Err(e) = self.cache.store(&result, &blobs) {
                report.reason = Some(e.to_string());
                return finish(report, Status::Failed);
            }
        }
        finish(report, Status::Ok)
    }

    fn not_run(&self, task: usize, why: NotRun) -> TaskReport {
        let i = TaskId::from_index(task);
        let mut report = self.report(i);
        report.status = Status::Skipped;
        report.reason = Some(match why {
            NotRun::DependencyFailed(d) => {
                let t = &self.tasks[d];
                let label = &self.model().targets[t.target].label;
                match &t.env {
                    Some(env) => format!("{} {} failed in {env}", label, t.action),
                    None => format!("{} {} failed", label, t.action),
                }
            }
            NotRun::Stopped if process::is_cancelled() => "interrupted".into(),
            NotRun::Stopped => {
                "not run: an earlier task failed (use --keep-going to run the rest)".into()
            }
        });
        report
    }

    fn panicked(&self, task: usize, message: &str) -> TaskReport {
        let i = TaskId::from_index(task);
        let mut report = self.report(i);
        report.status = Status::Failed;
        report.reason = Some(format!(
            "internal error in strata: {message} (please report it; the task's result is not cached)"
        ));
        report
    }

    fn cancelled(&self) -> bool {
        process::is_cancelled()
    }
}

/// A digest of the `TF_VAR_*` variables in strata's environment, which terraform reads too:
/// a plan made with other values is another plan. Their values may be secret, so they are
/// hashed like sensitive inputs (keyed with `STRATA_SECRET_SALT` when set) and never shown.
fn tf_vars_digest() -> Option<String> {
    let vars: BTreeMap<String, Value> = std::env::vars_os()
        .filter_map(|(k, v)| {
            let k = k.into_string().ok()?;
            k.starts_with("TF_VAR_")
                .then(|| (k, Value::String(v.to_string_lossy().into_owned())))
        })
        .collect();
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

/// The digest of the upstream outputs a task consumed, for its key. A sensitive value
/// enters it through BLAKE3 keyed with `STRATA_SECRET_SALT` when that is set, so someone who
/// can list a shared cache cannot confirm a guessed secret from the keys (see
/// docs/security.md); the key only says that it changed.
fn upstream_digest(consumed: &BTreeMap<String, Value>, sensitive: &[String]) -> String {
    let salt = std::env::var("STRATA_SECRET_SALT")
        .ok()
        .filter(|s| !s.is_empty());
    let mut parts: BTreeMap<&str, Value> = BTreeMap::new();
    for (name, value) in consumed {
        let part = match (&salt, sensitive.contains(name)) {
            (Some(salt), true) => {
                let key = blake3::derive_key("strata 2026 sensitive input salt", salt.as_bytes());
                let bytes = serde_json::to_vec(value).expect("json");
                Value::String(format!(
                    "keyed:{}",
                    blake3::keyed_hash(&key, &bytes).to_hex()
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

impl Runner<'_> {
    /// The plan task an apply task applies.
    fn plan_of(&self, i: TaskId) -> Option<TaskId> {
        let t = &self.tasks[i];
        self.tasks
            .iter()
            .position(|p| p.target == t.target && p.env == t.env && p.action == Action::Plan)
            .map(TaskId::from_index)
    }

    /// Before an apply: nothing to do when its plan has no changes; otherwise the plan must
    /// be approved. `Some(status)` ends the task there.
    fn before_apply(&self, i: TaskId, report: &mut TaskReport) -> Option<Status> {
        let plan_task = self.plan_of(i)?;
        let done = self.done.lock().expect("reports");
        let plan = done[plan_task].as_ref()?;
        let summary = plan.summary.plan()?.clone();
        let matches_reviewed = plan.matches_reviewed;
        drop(done);
        let task = &self.tasks[i];
        let env = task.env.as_deref().unwrap_or_default();
        let label = &self.model().targets[task.target].label;
        if !summary.has_changes() {
            self.remove_kept_plan(plan_task);
            report.reason = Some(if self.mode == Mode::Destroy {
                "nothing to destroy: the state holds no resources".into()
            } else {
                "no changes: nothing to apply".into()
            });
            return Some(Status::Ok);
        }
        let approved = (self.approve)(&crate::Approval {
            label,
            env,
            plan: &summary,
            matches_reviewed,
            destroy: self.mode == Mode::Destroy,
        });
        if approved {
            return None;
        }
        self.remove_kept_plan(plan_task);
        report.reason = Some(if matches_reviewed == Some(false) {
            "not applied: the plan differs from the one made under the same key before (the one reviewed); the infrastructure changed outside terraform? Review it with `strata plan` and apply on a terminal".into()
        } else {
            format!(
                "not {}: the plan was not approved",
                if self.mode == Mode::Destroy {
                    "destroyed"
                } else {
                    "applied"
                }
            )
        });
        Some(Status::Skipped)
    }
}

impl Runner<'_> {
    /// Removes the binary plan a plan task kept for its apply (it holds every value in
    /// clear text).
    fn remove_kept_plan(&self, plan_task: TaskId) {
        let task = &self.tasks[plan_task];
        let label = &self.model().targets[task.target].label;
        let sb = sandbox::location(&self.work_root, task.env.as_deref(), label);
        let _ = std::fs::remove_file(
            sb.join("src")
                .join(strata_graph::discover::label_dir(label))
                .join(terraform::PLAN_FILE),
        );
    }

    /// Once every task has ended: removes every binary plan still kept for an apply that
    /// did not run (its plan refused, an upstream failure, an interrupt).
    pub(super) fn remove_kept_plans(&self) {
        for (i, task) in self.tasks.iter().enumerate() {
            if task.action == Action::Plan && task.env.is_some() {
                self.remove_kept_plan(TaskId::from_index(i));
            }
        }
    }
}

/// What to do about a state terraform could not save.
pub(super) fn unsaved_message(label: &str, env: Option<&str>, kept: &std::path::Path) -> String {
    let env = env.unwrap_or_default();
    format!(
        "terraform changed resources of {label} in {env} but could not save the state; strata kept it at {} (owner-only). Once the backend is reachable, save it with `strata state push {label} --env {env} {}`: until then strata plans and applies nothing there",
        kept.display(),
        kept.display()
    )
}

/// `application_name` of a pg session strata's terraform opens (at most 63 bytes).
fn pg_application_name(action: Action, label: &str, env: &str) -> String {
    let who = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "?".into());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    let mut name = format!(
        "strata {action} {label} [{env}] {who}@{host} pid {}",
        std::process::id()
    );
    while name.len() > 63 {
        name.pop();
    }
    name
}

impl Runner<'_> {
    /// Why a plan or apply failed when it was the state lock: who holds it (when the
    /// backend records it) and how long strata waited.
    fn lock_failure(&self, i: TaskId, log: &str) -> Option<String> {
        if !log.contains("Error acquiring the state lock") && !log.contains("Error locking state") {
            return None;
        }
        let task = &self.tasks[i];
        let env = self.model().environment(task.env.as_deref()?)?;
        let label = &self.model().targets[task.target].label;
        let waited = env.config.state.lock_timeout_secs();
        let backend = self.states.backend_of(task.target, env).ok()?;
        let holder = if backend.kind() == "pg" {
            // The pg backend reports the waiting run's own lock info: its locks are
            // PostgreSQL advisory locks, which record no holder; the session holding one
            // is asked from the server.
            match backend.pg_lock_holder(&self.session.root) {
                Some(holder) => holder,
                None => "another run (pg records no lock holder, and it could not be asked with psql: `SELECT application_name, client_addr, backend_start FROM pg_stat_activity JOIN pg_locks USING (pid) WHERE locktype = 'advisory'` names it; strata's runs appear as `strata <action> <label> [<env>] <user>@<host> pid <pid>`)".to_string(),
            }
        } else {
            state::lock_holder_in(log).unwrap_or_else(|| "another run".into())
        };
        Some(format!(
            "the state of {label} in {} is locked by {holder}; waited {waited}s (env.toml [state] lock_timeout)",
            env.name
        ))
    }

    fn tool_name(&self, action: Action) -> &'static str {
        match action {
            Action::Deps | Action::Lint | Action::Render => "helm",
            Action::Test | Action::Policy => "rego",
            _ => "terraform",
        }
    }
}

/// Terraform's messages name files as seen from the stack's directory; the log and the
/// fmt summary name them from the workspace root, as the user's editor knows them.
fn from_workspace_root(step: &mut Outcome, label: &str) {
    let dir = strata_graph::discover::label_dir(label);
    if dir.is_empty() {
        return;
    }
    let log = String::from_utf8_lossy(&step.log);
    step.log = strata_exec::terraform::repo_paths(&log, dir).into_bytes();
    if let Summary::Step(strata_exec::step::StepSummary::Fmt(fmt)) = &mut step.summary {
        for file in &mut fmt.unformatted {
            *file = strata_graph::discover::in_dir(label, file);
        }
    }
}

/// Why a fmt check failed, with the command that fixes it.
fn fmt_failure(summary: &Summary, label: &str) -> String {
    let files = match summary {
        Summary::Step(strata_exec::step::StepSummary::Fmt(fmt)) => fmt.unformatted.len(),
        _ => 0,
    };
    let dir = match strata_graph::discover::label_dir(label) {
        "" => ".",
        dir => dir,
    };
    match files {
        0 => "terraform fmt failed".to_string(),
        1 => format!("1 file is not formatted; fix it with: terraform fmt -recursive {dir}"),
        n => format!("{n} files are not formatted; fix them with: terraform fmt -recursive {dir}"),
    }
}

/// The digest of a render's manifests (`None` for other actions).
/// The output a successful result of `action` always has, which tasks after it read.
fn required_output(action: Action) -> Option<&'static str> {
    match action {
        Action::Plan => Some("plan.json"),
        Action::Render => Some("manifests.yaml"),
        _ => None,
    }
}

fn rendered_digest(
    action: Action,
    blobs: &std::collections::BTreeMap<String, Vec<u8>>,
) -> Option<String> {
    (action == Action::Render)
        .then(|| blobs.get("manifests.yaml"))
        .flatten()
        .map(|m| blake3::hash(m).to_hex().to_string())
}
