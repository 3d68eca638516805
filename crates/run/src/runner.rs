//! The runner: task keys, cache lookups, execution, outcomes.

use super::{resolve_envs, TaskReport};
use crate::task::{plan_tasks, Action, Mode, Task, TaskFingerprint, TASK_KEY_VERSION};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use strata_cache::{make_result, Cache};
use strata_exec::redact::Redactor;
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
    selected: &[usize],
    envs: &[String],
) -> Result<Vec<Value>> {
    let envs = resolve_envs(&view.model, envs)?;
    let tasks = plan_tasks(&view.model, selected, &envs, Mode::Check);
    let runner = Runner {
        session,
        view,
        tasks: &tasks,
        mode: Mode::Check,
        tools: Tools {
            terraform: None,
            helm: None,
            env: Vec::new(),
        },
        cache: Cache::disabled(Arc::new(|_| {})),
        work_root: session.root.join(".strata/work"),
        env_files: view.model.environment_files(&view.snapshot),
        done: Mutex::new(vec![None; tasks.len()]),
        outputs: Mutex::new(HashMap::new()),
        say: &|_| {},
    };
    let mut out = Vec::new();
    for (i, task) in tasks.iter().enumerate() {
        let mut report = runner.report(i);
        let entry = match runner.fingerprint(i) {
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
                serde_json::json!({
                    "label": report.label, "action": task.action, "env": task.env,
                    "key": report.key, "provisional": prepared.provisional,
                    "fingerprint": fingerprint,
                })
            }
            Err(NotReady::Skip(why)) | Err(NotReady::Fail(why)) => {
                report.status = Status::Skipped;
                serde_json::json!({
                    "label": report.label, "action": task.action, "env": task.env,
                    "key": null, "not_computable": why,
                })
            }
        };
        runner.done.lock().expect("reports")[i] = Some(report);
        out.push(entry);
    }
    Ok(out)
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
    pub(super) outputs: Mutex<HashMap<usize, BTreeMap<String, Vec<u8>>>>,
    /// Tells the user something while a task runs (from worker threads, at once).
    pub(super) say: &'a (dyn Fn(&str) + Sync),
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
    backend_hcl: Option<String>,
}

enum NotReady {
    Skip(String),
    Fail(String),
}

impl Runner<'_> {
    pub(super) fn model(&self) -> &Model {
        &self.view.model
    }

    fn report(&self, i: usize) -> TaskReport {
        let t = &self.tasks[i];
        let target = &self.model().targets[t.target];
        TaskReport::new(
            &target.label,
            target.kind,
            t.action,
            t.env.clone(),
            self.view.hashes.hashes[t.target].to_hex(),
        )
    }

    /// The files a task's sandbox holds: the target's inputs and those of the modules or
    /// library charts it builds on (transitively), plus its environment files.
    fn sandbox_files(&self, t: usize, env: Option<&str>) -> Vec<String> {
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

    /// Reads the upstream outputs a target consumes in `env`.
    fn upstream(&self, i: usize, prepared: &mut Prepared) -> Result<Option<String>, NotReady> {
        let task = &self.tasks[i];
        let Some(env_name) = task.env.as_deref() else {
            return Ok(None);
        };
        let target = &self.model().targets[task.target];
        if target.inputs.is_empty() {
            return Ok(None);
        }
        let env = self.model().environment(env_name).expect("resolved env");
        let mut consumed: BTreeMap<String, Value> = BTreeMap::new();
        let mut sensitive: Vec<String> = Vec::new();
        for input in &target.inputs {
            let backend = state::backend(&self.session.root, env, &input.label)
                .map_err(|e| NotReady::Fail(e.to_string()))?;
            let outputs = backend
                .outputs()
                .map_err(|e| NotReady::Fail(e.to_string()))?
                .ok_or_else(|| {
                    NotReady::Skip(format!(
                        "{} has no state in {env_name} yet: apply it first (`strata apply --env {env_name} {}`)",
                        input.label, input.label
                    ))
                })?;
            let output = outputs.get(&input.output).cloned().ok_or_else(|| {
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
        prepared.provisional = done.iter().flatten().filter(upstream).any(|r| {
            r.action == Action::Plan && plan_has_changes(&r.summary) && !applied(&r.label)
        });
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

    fn fingerprint(&self, i: usize) -> Result<(TaskFingerprint<'_>, Prepared), NotReady> {
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
            if matches!(task.action, Action::Init | Action::Plan | Action::Apply) {
                let backend = state::backend(&self.session.root, env, &target.label)
                    .map_err(|e| NotReady::Fail(e.to_string()))?;
                let hcl = backend.override_hcl();
                fp.state = Some(match task.action {
                    Action::Init => backend.settings(&self.session.root),
                    _ => backend.fingerprint(),
                });
                prepared.backend_hcl = Some(hcl);
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
            if matches!(task.action, Action::Plan | Action::Apply) {
                fp.tf_vars = tf_vars_digest();
            }
        }
        Ok((fp, prepared))
    }

    fn execute(&self, i: usize, prepared: &Prepared) -> Result<terraform::Step> {
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
        match task.action {
            Action::Fmt => terraform::fmt_check(&self.tools, &sb),
            Action::Validate => terraform::validate(&self.tools, &sb),
            Action::Init => {
                terraform::ensure_init(&self.tools, &sb, prepared.backend_hcl.as_deref(), true)
            }
            Action::Plan => terraform::plan(
                &self.tools,
                &sb,
                prepared.backend_hcl.as_deref().unwrap_or_default(),
                &env_paths(&[".tfvars", ".tfvars.json"]),
                &prepared.inputs,
                self.mode == Mode::Apply,
            ),
            Action::Apply => terraform::apply(&self.tools, &sb),
            Action::Deps => helm::dependency_build(&self.tools, &sb, has_chart_deps),
            Action::Test => self.run_tests(i),
            Action::Policy => self.run_policies(i),
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
        }
    }

    /// When someone holds the lock of the state a plan or apply is about to use, says who
    /// and since when: terraform waits for it (up to its lock timeout) without a word.
    fn say_who_holds_the_lock(&self, target: usize, env: Option<&str>) {
        let Some(env) = env.and_then(|e| self.model().environment(e)) else {
            return;
        };
        let label = &self.model().targets[target].label;
        if let Some(who) = state::backend(&self.session.root, env, label)
            .ok()
            .and_then(|b| b.lock_holder())
        {
            (self.say)(&format!(
                "{label} [{}]: the state is locked by {who}; terraform waits up to 60s for it",
                env.name
            ));
        }
    }

    fn cacheable(&self, action: Action) -> bool {
        !(action == Action::Apply || (self.mode == Mode::Apply && action == Action::Plan))
    }
}

impl Job for Runner<'_> {
    type Out = TaskReport;

    fn run(&self, i: usize) -> (Status, TaskReport) {
        let start = Instant::now();
        let mut report = self.report(i);
        let task = &self.tasks[i];
        let finish = |mut report: TaskReport, status: Status| {
            report.status = status;
            report.duration_ms = start.elapsed().as_millis() as u64;
            self.done.lock().expect("reports")[i] = Some(report.clone());
            (status, report)
        };
        let (fp, prepared) = match self.fingerprint(i) {
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
        if self.cacheable(task.action) {
            match self.cache.lookup(&key) {
                Ok(Some(hit)) => {
                    report.cached = true;
                    report.remote = hit.from_remote;
                    report.summary = hit.result.summary;
                    if matches!(task.action, Action::Plan | Action::Render) {
                        self.outputs.lock().expect("outputs").insert(i, hit.blobs);
                    }
                    return finish(report, Status::Ok);
                }
                Ok(None) => {}
                Err(e) => {
                    report.reason = Some(e.to_string());
                    return finish(report, Status::Failed);
                }
            }
        }
        let step = match self.execute(i, &prepared) {
            Ok(step) => step,
            Err(e) => {
                report.reason = Some(prepared.redactor.redact_text(&e.to_string()));
                return finish(report, Status::Failed);
            }
        };
        let mut step = step;
        prepared.redactor.redact_step(&mut step);
        report.summary = step.summary.clone();
        report.tool_ms = step.tool_ms;
        report.log = String::from_utf8_lossy(&step.log).into_owned();
        if step.interrupted {
            report.reason = Some("interrupted".into());
            return finish(report, Status::Failed);
        }
        if !step.ok {
            report.reason = Some(format!(
                "{} {} failed",
                self.tool_name(task.action),
                task.action
            ));
            return finish(report, Status::Failed);
        }
        if matches!(task.action, Action::Plan | Action::Render) {
            self.outputs
                .lock()
                .expect("outputs")
                .insert(i, step.blobs.clone());
        }
        if self.cacheable(task.action) {
            let mut blobs = step.blobs;
            blobs.insert("log".into(), step.log);
            let result = make_result(
                key,
                &report.label,
                task.action.as_str(),
                task.env.as_deref(),
                report.summary.clone(),
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

    fn not_run(&self, i: usize, why: NotRun) -> TaskReport {
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

    fn panicked(&self, i: usize, message: &str) -> TaskReport {
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

pub(super) fn failed_step(msg: String) -> terraform::Step {
    terraform::Step {
        ok: false,
        log: msg.into_bytes(),
        ..terraform::Step::default()
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

fn plan_has_changes(summary: &Value) -> bool {
    let n = |k: &str| summary[k].as_u64().unwrap_or(0);
    n("add") + n("change") + n("destroy") + n("import") > 0
        || summary["outputs_changed"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
}

impl Runner<'_> {
    fn tool_name(&self, action: Action) -> &'static str {
        match action {
            Action::Deps | Action::Lint | Action::Render => "helm",
            Action::Test | Action::Policy => "rego",
            _ => "terraform",
        }
    }
}
