//! Runs tasks for real: resolves the tools, computes each task's key when it becomes ready
//! (so a plan sees the state its upstream left), serves verified cache hits, runs misses in
//! sandboxes with the real terraform and helm, and stores successful results.

use crate::cache::{make_result, Cache, HttpStore, LocalStore, WarnSink};
use crate::discover::Kind;
use crate::error::{Error, Location, Result};
use crate::exec::{helm, process, sandbox, state, terraform, Tools};
use crate::hash::{input_file, InputFile};
use crate::model::{DepKind, EnvironmentFiles, Model};
use crate::schedule::{run_graph, Job, NotRun, Status};
use crate::session::{Session, View};
use crate::task::{plan_tasks, Action, Mode, Task, TaskFingerprint, TASK_KEY_VERSION};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct RemoteOptions {
    pub url: String,
    pub read_only: bool,
    pub required: bool,
}

#[derive(Debug, Clone)]
pub struct RunOptions {
    pub mode: Mode,
    /// Environments to run in; empty means every environment.
    pub envs: Vec<String>,
    pub jobs: usize,
    pub keep_going: bool,
    pub use_cache: bool,
    pub remote: Option<RemoteOptions>,
}

/// One task's outcome, as printed and as `--json` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct TaskReport {
    pub label: String,
    pub kind: Kind,
    pub action: Action,
    pub env: Option<String>,
    /// The target hash.
    pub hash: String,
    /// The task key (the cache key), when it could be computed.
    pub key: Option<String>,
    pub status: Status,
    pub cached: bool,
    /// Served from the remote cache.
    pub remote: bool,
    pub duration_ms: u64,
    /// Of `duration_ms`, the time spent inside terraform or helm.
    pub tool_ms: u64,
    /// Why it was skipped or failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// A plan or render made while an upstream stack has pending changes.
    pub provisional: bool,
    pub summary: Value,
    /// The tool output (kept for failures; with `verbose`, for every task that ran).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub log: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub ok: bool,
    pub interrupted: bool,
    pub tasks: Vec<TaskReport>,
}

/// What a front end sees while a run goes on.
pub trait Observer: Sync {
    fn planned(&self, _tasks: usize) {}
    fn started(&self, _label: &str, _action: Action, _env: Option<&str>) {}
    fn finished(&self, _report: &TaskReport) {}
    fn warn(&self, _message: &str) {}
}

/// Picks the environments: the given ones (checked) or all.
pub fn resolve_envs(model: &Model, wanted: &[String]) -> Result<Vec<String>> {
    if wanted.is_empty() {
        return Ok(model.environments.iter().map(|e| e.name.clone()).collect());
    }
    for w in wanted {
        if model.environment(w).is_none() {
            return Err(Error::Invalid {
                message: format!("no environment `{w}`"),
                location: Location::new(format!("environments/{w}/env.toml"), None),
                hint: format!(
                    "environments are: {}",
                    model
                        .environments
                        .iter()
                        .map(|e| e.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
    }
    Ok(wanted.to_vec())
}

/// Finds the tools the tasks need and checks their pinned versions.
pub fn resolve_tools(session: &Session, tasks: &[Task], model: &Model) -> Result<Tools> {
    let cfg = &session.config.toolchain;
    let needs = |kinds: &[Kind]| {
        tasks
            .iter()
            .any(|t| kinds.contains(&model.targets[t.target].kind))
    };
    let mut env = Vec::new();
    if let Some(rc) = &cfg.terraform_cli_config {
        env.push((
            "TF_CLI_CONFIG_FILE".to_string(),
            session.root.join(rc).display().to_string(),
        ));
    }
    let find = |tool: &str, pinned: Option<&String>| -> Result<Option<PathBuf>> {
        let path = crate::toolchain::find_tool(tool, &session.root, cfg).ok_or_else(|| Error::Invalid {
            message: format!("`{tool}` is needed but was not found in {}PATH", cfg.tools_dir.as_deref().map(|d| format!("{d} or ")).unwrap_or_default()),
            location: Location::new(crate::workspace::WORKSPACE_FILE, None),
            hint: "install the pinned version (in this repository: scripts/bootstrap), or set [toolchain] tools_dir".into(),
        })?;
        if let Some(pinned) = pinned {
            let found = crate::toolchain::tool_version_memo(
                tool,
                &path,
                Some(
                    &session
                        .root
                        .join(&session.config.cache.dir)
                        .join("tool-versions.json"),
                ),
            )
            .map_err(|problem| Error::Invalid {
                message: problem,
                location: Location::new(crate::workspace::WORKSPACE_FILE, None),
                hint: "check the tool runs: `strata tools`".into(),
            })?;
            if found != pinned.trim_start_matches('v') {
                return Err(Error::Invalid {
                    message: format!("{} reports {tool} {found}, but WORKSPACE.toml pins {pinned}", path.display()),
                    location: Location::new(crate::workspace::WORKSPACE_FILE, None),
                    hint: "install the pinned version, or change the pin (every hash of that kind changes)".into(),
                });
            }
        }
        Ok(Some(path))
    };
    let terraform = if needs(&[Kind::Stack, Kind::Module]) {
        find(cfg.terraform_tool(), cfg.terraform.as_ref())?
    } else {
        None
    };
    let helm = if needs(&[Kind::Chart]) {
        find("helm", cfg.helm.as_ref())?
    } else {
        None
    };
    Ok(Tools {
        terraform,
        helm,
        env,
    })
}

/// Builds the cache a run uses.
pub fn open_cache(session: &Session, opts: &RunOptions, warn: WarnSink) -> Cache {
    if !opts.use_cache {
        return Cache::disabled(warn);
    }
    let local = LocalStore::new(session.root.join(&session.config.cache.dir));
    let mut cache = Cache::new(Some(Box::new(local)), warn);
    if let Some(remote) = &opts.remote {
        let token = session
            .config
            .cache
            .remote_token_env
            .as_ref()
            .and_then(|var| std::env::var(var).ok());
        let store = HttpStore::new(
            &remote.url,
            token,
            Duration::from_secs(session.config.cache.remote_timeout_secs.max(1)),
        );
        cache = cache.with_remote(Box::new(store), remote.read_only, remote.required);
    }
    cache
}

/// Runs the tasks of `selected` targets.
pub fn run(
    session: &Session,
    view: &View,
    selected: &[usize],
    opts: &RunOptions,
    observer: &dyn Observer,
) -> Result<RunReport> {
    let envs = resolve_envs(&view.model, &opts.envs)?;
    let t = Instant::now();
    let tasks = plan_tasks(&view.model, selected, &envs, opts.mode);
    crate::timing::phase("plan tasks", t);
    let t = Instant::now();
    let tools = resolve_tools(session, &tasks, &view.model)?;
    crate::timing::phase("resolve tools", t);
    // The cache warns from worker threads; warnings are queued and handed to the observer
    // on the scheduling thread, in order.
    let warnings: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = warnings.clone();
    let cache = open_cache(
        session,
        opts,
        Arc::new(move |m: String| sink.lock().expect("warnings").push(m)),
    );
    let runner = Runner {
        session,
        view,
        tasks: &tasks,
        mode: opts.mode,
        tools,
        cache,
        work_root: session.root.join(".strata/work"),
        env_files: view.model.environment_files(&view.snapshot),
        done: Mutex::new(vec![None; tasks.len()]),
        outputs: Mutex::new(HashMap::new()),
    };
    if let Err(e) = runner.cache.probe_remote() {
        return Err(Error::Invalid {
            message: e.to_string(),
            location: Location::new(crate::workspace::WORKSPACE_FILE, None),
            hint: "start the remote cache, fix its URL, or drop --require-remote-cache to carry on with the local cache".into(),
        });
    }
    let flush = |observer: &dyn Observer| {
        for w in warnings.lock().expect("warnings").drain(..) {
            observer.warn(&w);
        }
    };
    flush(observer);
    observer.planned(tasks.len());
    let deps: Vec<Vec<usize>> = tasks.iter().map(|t| t.deps.clone()).collect();
    let jobs = opts.jobs.max(1);
    let t = Instant::now();
    let outcomes = run_graph(
        &deps,
        jobs,
        opts.keep_going,
        &runner,
        |i| {
            flush(observer);
            let t = &tasks[i];
            observer.started(
                &view.model.targets[t.target].label,
                t.action,
                t.env.as_deref(),
            );
        },
        |_, _, report| {
            flush(observer);
            observer.finished(report);
        },
    );
    flush(observer);
    crate::timing::phase("run tasks", t);
    let interrupted = process::is_cancelled();
    let reports: Vec<TaskReport> = outcomes.into_iter().map(|(_, r)| r).collect();
    Ok(RunReport {
        ok: !interrupted && reports.iter().all(|r| r.status != Status::Failed),
        interrupted,
        tasks: reports,
    })
}

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
    };
    let mut out = Vec::new();
    for (i, task) in tasks.iter().enumerate() {
        let mut report = runner.report(i);
        let entry = match runner.fingerprint(i) {
            Ok((fp, prepared)) => {
                report.key = Some(fp.key().to_hex());
                serde_json::json!({
                    "label": report.label, "action": task.action, "env": task.env,
                    "key": report.key, "provisional": prepared.provisional, "fingerprint": fp,
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

struct Runner<'a> {
    session: &'a Session,
    view: &'a View,
    tasks: &'a [Task],
    mode: Mode,
    tools: Tools,
    cache: Cache,
    work_root: PathBuf,
    env_files: EnvironmentFiles,
    done: Mutex<Vec<Option<TaskReport>>>,
    /// Outputs of plan and render tasks in this run, for the tests that read them.
    outputs: Mutex<HashMap<usize, BTreeMap<String, Vec<u8>>>>,
}

/// What a task needs besides its key.
#[derive(Default)]
struct Prepared {
    /// Upstream outputs as TF_VAR values or chart values.
    vars: Vec<(String, String)>,
    values: BTreeMap<String, Value>,
    provisional: bool,
    backend_hcl: Option<String>,
}

enum NotReady {
    Skip(String),
    Fail(String),
}

impl Runner<'_> {
    fn model(&self) -> &Model {
        &self.view.model
    }

    fn report(&self, i: usize) -> TaskReport {
        let t = &self.tasks[i];
        let target = &self.model().targets[t.target];
        TaskReport {
            label: target.label.clone(),
            kind: target.kind,
            action: t.action,
            env: t.env.clone(),
            hash: self.view.hashes.hashes[t.target].to_hex(),
            key: None,
            status: Status::Ok,
            cached: false,
            remote: false,
            duration_ms: 0,
            tool_ms: 0,
            reason: None,
            provisional: false,
            summary: Value::Null,
            log: String::new(),
        }
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
            let value = outputs.get(&input.output).cloned().ok_or_else(|| {
                NotReady::Fail(format!(
                    "{}'s state in {env_name} has no output `{}` (needed by input `{}`)",
                    input.label, input.output, input.variable
                ))
            })?;
            consumed.insert(input.variable.clone(), value);
        }
        // Provisional when the plan of a stack it reads outputs from, in this run, has
        // pending changes (that plan finished before this task started: it is upstream).
        let done = self.done.lock().expect("reports");
        for r in done.iter().flatten() {
            if r.action == Action::Plan
                && r.env.as_deref() == Some(env_name)
                && target.inputs.iter().any(|inp| inp.label == r.label)
                && plan_has_changes(&r.summary)
            {
                prepared.provisional = true;
            }
        }
        drop(done);
        let digest = blake3::hash(&serde_json::to_vec(&consumed).expect("json"))
            .to_hex()
            .to_string();
        prepared.vars = consumed
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
            reads: None,
            policies: Vec::new(),
        };
        if task.action == Action::Policy {
            let model = self.model();
            fp.policies = model
                .governing(task.target, task.env.as_deref())
                .iter()
                .map(|(p, _)| {
                    (
                        model.targets[*p].label.clone(),
                        self.view.hashes.hashes[*p].to_hex(),
                    )
                })
                .collect();
        }
        if matches!(task.action, Action::Test | Action::Policy) {
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
            if matches!(
                task.action,
                Action::Plan | Action::Apply | Action::Lint | Action::Render
            ) {
                fp.env_inputs = self.env_inputs(&env.name, &target.label);
            }
            if matches!(task.action, Action::Plan | Action::Apply | Action::Render) {
                fp.upstream_outputs = self.upstream(i, &mut prepared)?;
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
                &prepared.vars,
            ),
            Action::Apply => terraform::apply(&self.tools, &sb),
            Action::Deps => helm::dependency_build(&self.tools, &sb, has_chart_deps),
            Action::Test => self.run_tests(i),
            Action::Policy => self.run_policies(i),
            Action::Lint | Action::Render => {
                let mut values = env_paths(&[".yaml", ".yml"]);
                if !prepared.values.is_empty() {
                    let path = sb.data.join("strata-inputs.values.json");
                    std::fs::create_dir_all(&sb.data).map_err(|e| Error::io(&sb.data, e))?;
                    std::fs::write(&path, serde_json::to_vec(&prepared.values).expect("json"))
                        .map_err(|e| Error::io(&path, e))?;
                    values.push(path.display().to_string());
                }
                if task.action == Action::Lint {
                    helm::lint(&self.tools, &sb, has_chart_deps, &values)
                } else {
                    let release = target.label.rsplit('/').next().unwrap_or(&target.label);
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
}

/// What a test or policy task reads: the plan JSON of a stack, or the rendered objects of a
/// chart.
enum Produced {
    Plan(Value),
    Manifests(Vec<Value>),
}

impl Runner<'_> {
    /// The plan or render task of the same target and environment.
    fn source_of(&self, i: usize) -> Option<usize> {
        let task = &self.tasks[i];
        self.tasks.iter().position(|t| {
            t.target == task.target
                && t.env == task.env
                && matches!(t.action, Action::Plan | Action::Render)
        })
    }

    /// The output of the plan or render a test or policy task follows.
    fn produced(&self, i: usize) -> std::result::Result<Produced, String> {
        let source = self.source_of(i).ok_or("no plan or render to read")?;
        let outputs = self
            .outputs
            .lock()
            .expect("outputs")
            .get(&source)
            .cloned()
            .ok_or("the plan or render output is not available")?;
        if let Some(plan) = outputs.get("plan.json") {
            return serde_json::from_slice(plan)
                .map(Produced::Plan)
                .map_err(|e| format!("plan JSON: {e}"));
        }
        if let Some(manifests) = outputs.get("manifests.yaml") {
            return match crate::exec::usertest::manifests_input(manifests)? {
                Value::Array(docs) => Ok(Produced::Manifests(docs)),
                other => Ok(Produced::Manifests(vec![other])),
            };
        }
        Err("nothing to read".into())
    }

    fn texts(&self, paths: &[&str]) -> Result<Vec<(String, String)>> {
        let contents = self.view.snapshot.contents(&self.session.repo, paths)?;
        Ok(paths
            .iter()
            .map(|p| {
                let id = self.view.snapshot.files[*p].id;
                let text = contents
                    .get(&id)
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .unwrap_or_default();
                (p.to_string(), text)
            })
            .collect())
    }

    fn context(&self, i: usize) -> Value {
        let task = &self.tasks[i];
        let target = &self.model().targets[task.target];
        serde_json::json!({
            "label": target.label,
            "kind": target.kind,
            "environment": task.env,
            "dependencies": target.deps.iter().map(|d| d.label.as_str()).collect::<Vec<_>>(),
        })
    }

    /// Runs the target's Rego tests over the output of the plan or render before it.
    fn run_tests(&self, i: usize) -> Result<terraform::Step> {
        let target = &self.model().targets[self.tasks[i].target];
        let input = match self.produced(i) {
            Ok(Produced::Plan(plan)) => plan,
            Ok(Produced::Manifests(docs)) => Value::Array(docs),
            Err(e) => return Ok(failed_step(format!("strata: {e}"))),
        };
        let paths: Vec<&str> = target.test_files.iter().map(String::as_str).collect();
        let files = self.texts(&paths)?;
        Ok(crate::exec::usertest::run(&files, &input, &self.context(i)))
    }

    /// Evaluates the governing policies over the plan (one document) or each rendered object
    /// (one document each, as conftest does with a multi-document file).
    fn run_policies(&self, i: usize) -> Result<terraform::Step> {
        let task = &self.tasks[i];
        let model = self.model();
        let start = Instant::now();
        let docs = match self.produced(i) {
            Ok(Produced::Plan(plan)) => vec![plan],
            Ok(Produced::Manifests(docs)) => docs,
            Err(e) => return Ok(failed_step(format!("strata: {e}"))),
        };
        let context = self.context(i);
        let mut findings = Vec::new();
        let mut log = String::new();
        for (p, meta) in model.governing(task.target, task.env.as_deref()) {
            let paths = model.policy_files(*p);
            let policy = crate::policy::Policy {
                label: &model.targets[*p].label,
                files: self.texts(&paths)?,
                namespaces: &meta.namespaces,
                all_namespaces: meta.all_namespaces,
                rego_v0: meta.rego_version == "v0",
            };
            match policy.evaluate(&docs, &context) {
                Ok(f) => findings.extend(f),
                Err(e) => return Ok(failed_step(format!("{}: {e}", model.targets[*p].label))),
            }
        }
        let denies = findings
            .iter()
            .filter(|f| f.outcome == crate::policy::Outcome::Deny)
            .count();
        for f in &findings {
            log.push_str(&format!(
                "{:<5} {} ({}.{}): {}\n",
                if f.outcome == crate::policy::Outcome::Deny {
                    "DENY"
                } else {
                    "WARN"
                },
                f.policy,
                f.namespace,
                f.rule,
                f.msg
            ));
        }
        Ok(terraform::Step {
            ok: denies == 0,
            summary: serde_json::json!({
                "deny": denies,
                "warn": findings.len() - denies,
                "findings": findings,
            }),
            log: log.into_bytes(),
            tool_ms: start.elapsed().as_millis() as u64,
            ..terraform::Step::default()
        })
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
                report.reason = Some(e.to_string());
                return finish(report, Status::Failed);
            }
        };
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

    fn cancelled(&self) -> bool {
        process::is_cancelled()
    }
}

fn failed_step(msg: String) -> terraform::Step {
    terraform::Step {
        ok: false,
        log: msg.into_bytes(),
        ..terraform::Step::default()
    }
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
