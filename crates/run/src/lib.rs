//! Runs tasks for real: resolves the tools, computes each task's key when it becomes ready
//! (so a plan sees the state its upstream left), serves verified cache hits, runs misses in
//! sandboxes with the real terraform and helm, and stores successful results.

use crate::task::{plan_tasks_in, Action, Gating, Mode, Task};
use serde::Serialize;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use strata_cache::{
    format_size, parse_size, Cache, HttpOptions, HttpStore, LocalStore, WarnSink, MAX_BLOB_ENV,
    MAX_RESULT_ENV,
};
use strata_exec::schedule::{run_graph, Status};
use strata_exec::{process, Tools};
use strata_graph::discover::Kind;
use strata_graph::error::{Error, Location, Result};
use strata_graph::model::Model;
use strata_graph::session::{Session, View};
use strata_graph::workspace::WORKSPACE_FILE;

mod destroy;
mod explain;
pub mod governing;
mod lock;
pub mod outcome;
mod reads;
pub mod remote_state;
pub mod report;
mod runner;
pub mod secrets;
pub mod select;
pub mod shard;
pub mod show;
pub mod states;
pub mod task;

pub use destroy::{destroy_from, destroy_left_behind, run_at_commit, taken_out};
pub use explain::{explain_task_keys, KeyExplanation};
pub use outcome::{Outcome, PolicySummary, Summary, TestsSummary};
use runner::Runner;
pub use runner::NOTHING_TO_APPLY;
pub use select::{select, Scope, Selection};

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
    /// Accept a run in which some tasks did not run (they are still listed).
    pub allow_incomplete: bool,
    pub use_cache: bool,
    pub remote: Option<RemoteOptions>,
    /// The checkout whose local state to use, when not the session's own (a revision's
    /// temporary checkout).
    pub state_root: Option<PathBuf>,
    /// The local cache to use, when not the session's own (a revision's temporary checkout
    /// shares its checkout's cache).
    pub cache_dir: Option<PathBuf>,
    /// Per environment, the stacks its release lock records as applied there. An apply
    /// does not apply a plan with changes to one of them it finds no state of (none, or
    /// one no apply wrote): the state is elsewhere (a moved checkout's local state, another
    /// backend key), and applying would create its resources a second time.
    pub deployed: std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
    /// For a run at another commit ([`run_at_commit`]): the commit whose environment files
    /// (`environments/<env>/`) the run reads; `None`: HEAD's. A rollback restores a previous
    /// lock entry with the files it was applied with.
    pub env_files_from: Option<String>,
    /// Whether a failed quality check holds back its target's later tasks (a check) or
    /// not (the verification after an apply, which records every check).
    pub gating: Gating,
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
    /// For a plan made by `apply`: whether a plan under the same key was made (and cached)
    /// before, the one reviewers saw, and it has the same resource changes. `None`: there
    /// was none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matches_reviewed: Option<bool>,
    /// The task destroys its stack (`strata destroy`, or a stack deleted since the base).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub destroy: bool,
    /// For a render: the BLAKE3 digest of the rendered manifests (what a chart's release
    /// lock entry and promotion steps name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rendered: Option<String>,
    pub summary: Summary,
    /// The tool output (kept for failures; with `verbose`, for every task that ran).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub log: String,
}

impl TaskReport {
    /// A report for a task that has not run yet: ok, not cached, no summary.
    pub fn new(
        label: &str,
        kind: Kind,
        action: Action,
        env: Option<String>,
        hash: String,
    ) -> TaskReport {
        TaskReport {
            label: label.to_string(),
            kind,
            action,
            env,
            hash,
            key: None,
            status: Status::Ok,
            cached: false,
            remote: false,
            duration_ms: 0,
            tool_ms: 0,
            reason: None,
            provisional: false,
            matches_reviewed: None,
            destroy: false,
            rendered: None,
            summary: Summary::default(),
            log: String::new(),
        }
    }

    /// The report of `task` of a run in `mode` over `view`, before it runs.
    pub(crate) fn of_task(task: &task::Task, view: &View, mode: Mode) -> TaskReport {
        let target = &view.model.targets[task.target];
        let mut report = TaskReport::new(
            &target.label,
            target.kind,
            task.action,
            task.env.clone(),
            view.hashes.hashes[task.target].to_hex(),
        );
        report.destroy = mode.destroys();
        report
    }

    /// A policy task report holding findings made outside a run (`strata policy scan`), so
    /// the same writers (SARIF) serve both.
    pub fn findings_only(label: &str, findings: &[strata_policy::Finding]) -> TaskReport {
        let mut report = TaskReport::new(label, Kind::Policy, Action::Policy, None, String::new());
        report.summary = Summary::Policy(PolicySummary {
            findings: findings.to_vec(),
            ..PolicySummary::default()
        });
        report
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// Every task asked for ran and passed (or, with `allow_incomplete`, every task that ran
    /// passed).
    pub ok: bool,
    pub interrupted: bool,
    /// Tasks that were asked for and did not run, with why (a plan whose upstream stack has
    /// no state, a task after a failure). A run with any is not a success unless the caller
    /// accepted that (`--allow-incomplete`).
    pub incomplete: Vec<NotRunTask>,
    /// Whether the caller accepted an incomplete run.
    pub allow_incomplete: bool,
    pub tasks: Vec<TaskReport>,
}

/// A task that did not run.
#[derive(Debug, Clone, Serialize)]
pub struct NotRunTask {
    pub label: String,
    pub action: Action,
    pub env: Option<String>,
    pub reason: String,
    /// A stack deleted since the base whose state still holds resources.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub left_behind: bool,
}

impl RunReport {
    /// Adds deleted stacks that left resources behind: like a task that did not run, the
    /// run is not a success unless the caller accepted that.
    fn left_behind(&mut self, found: Vec<NotRunTask>) {
        if found.is_empty() {
            return;
        }
        self.incomplete.extend(found);
        if !self.allow_incomplete {
            self.ok = false;
        }
    }

    /// Adds tasks that did not run for a reason found outside the run (a stack an
    /// environment's lock records that no longer deploys there): the run is not a success
    /// unless the caller accepted that.
    pub fn not_run(&mut self, found: Vec<NotRunTask>) {
        self.left_behind(found);
    }

    /// The deleted stacks whose state still holds resources, once each.
    pub fn left_behind_stacks(&self) -> Vec<String> {
        let mut labels: Vec<String> = self
            .incomplete
            .iter()
            .filter(|t| t.left_behind)
            .map(|t| t.label.clone())
            .collect();
        labels.dedup();
        labels
    }

    /// Takes in the run that destroyed (or planned to destroy) deleted stacks: its tasks
    /// join this run's, and a stack it dealt with completely is no longer left behind.
    pub fn absorb_destroy(&mut self, other: RunReport) {
        let dealt_with = |label: &str| {
            let mut tasks = other.tasks.iter().filter(|t| t.label == label).peekable();
            tasks.peek().is_some() && tasks.all(|t| t.status == Status::Ok)
        };
        self.incomplete
            .retain(|t| !(t.left_behind && dealt_with(&t.label)));
        self.incomplete.extend(other.incomplete);
        self.interrupted |= other.interrupted;
        self.tasks.extend(other.tasks);
        self.ok = !self.interrupted
            && self.tasks.iter().all(|r| r.status != Status::Failed)
            && (self.allow_incomplete || self.incomplete.is_empty());
    }

    /// The report of `tasks`: not ok when one failed, the run was interrupted, or a task did
    /// not run and that was not accepted.
    pub fn new(tasks: Vec<TaskReport>, interrupted: bool, allow_incomplete: bool) -> RunReport {
        let incomplete: Vec<NotRunTask> = tasks
            .iter()
            .filter(|t| t.status == Status::Skipped)
            .map(|t| NotRunTask {
                label: t.label.clone(),
                action: t.action,
                env: t.env.clone(),
                reason: t.reason.clone().unwrap_or_else(|| "not run".into()),
                left_behind: false,
            })
            .collect();
        RunReport {
            ok: !interrupted
                && tasks.iter().all(|r| r.status != Status::Failed)
                && (allow_incomplete || incomplete.is_empty()),
            interrupted,
            incomplete,
            allow_incomplete,
            tasks,
        }
    }
}

/// What a front end sees while a run goes on.
pub trait Observer: Sync {
    fn planned(&self, _tasks: usize) {}
    fn started(&self, _label: &str, _action: Action, _env: Option<&str>) {}
    fn finished(&self, _report: &TaskReport) {}
    fn warn(&self, _message: &str) {}
    /// Whether to apply a plan with changes. Called once per stack, one at a time; the
    /// default refuses.
    fn approve(&self, _request: &Approval) -> bool {
        false
    }
}

/// A plan `apply` is about to apply.
pub struct Approval<'a> {
    pub label: &'a str,
    pub env: &'a str,
    pub plan: &'a strata_exec::plan_json::PlanSummary,
    /// See [`TaskReport::matches_reviewed`].
    pub matches_reviewed: Option<bool>,
    /// The plan destroys the stack (`strata destroy`).
    pub destroy: bool,
}

/// Picks the environments: the given ones (checked) or all.
pub fn resolve_envs(model: &Model, wanted: &[String]) -> Result<Vec<String>> {
    if wanted.is_empty() {
        return Ok(model.environments.iter().map(|e| e.name.clone()).collect());
    }
    let names: Vec<&str> = model.environments.iter().map(|e| e.name.as_str()).collect();
    for w in wanted {
        if model.environment(w).is_none() {
            let listed = format!(
                "environments are the directories holding env.toml under environments/: {}",
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            );
            return Err(Error::Invalid {
                message: format!("no environment `{w}` (--env)"),
                location: Location::new("command line", None),
                hint: match strata_graph::error::did_you_mean(w, &names) {
                    Some(near) => format!("{near} {listed}"),
                    None => listed,
                },
            });
        }
    }
    // Named twice, an environment still runs once (two runs would share its sandboxes).
    let mut once: Vec<String> = Vec::with_capacity(wanted.len());
    for w in wanted {
        if !once.contains(w) {
            once.push(w.clone());
        }
    }
    Ok(once)
}

/// Finds the tools the tasks need and checks their pinned versions.
/// Where `tool` is (the workspace's tools_dir, then PATH), or the error that says it is
/// needed (`why`, when given, says what for).
pub fn find_tool(session: &Session, tool: &str, why: &str) -> Result<PathBuf> {
    let cfg = &session.config.toolchain;
    strata_exec::toolchain::find_tool(tool, &session.root, cfg).ok_or_else(|| Error::Invalid {
        message: format!(
            "`{tool}` is needed but was not found in {}PATH{why}",
            cfg.tools_dir
                .as_deref()
                .map(|d| format!("{d} or "))
                .unwrap_or_default()
        ),
        location: Location::new(WORKSPACE_FILE, None),
        hint: "install the pinned version and put it on PATH, or set [toolchain] tools_dir to the directory holding it".into(),
    })
}

/// The tools `tasks` need, found and checked against their pins. `reads_states`: the run
/// reads stacks' states without a task of theirs (a deleted stack's, to tell whether
/// resources are left behind), which takes terraform too.
pub fn resolve_tools(
    session: &Session,
    tasks: &[Task],
    model: &Model,
    reads_states: bool,
) -> Result<Tools> {
    let cfg = &session.config.toolchain;
    let needs = |kinds: &[Kind]| {
        tasks
            .iter()
            .any(|t| kinds.contains(&model.targets[t.target].kind))
    };
    let mut env = Vec::new();
    if let Some(rc) = &cfg.terraform_cli_config {
        if !session.root.join(rc).is_file() {
            let text =
                std::fs::read_to_string(session.root.join(WORKSPACE_FILE)).unwrap_or_default();
            let line = text
                .lines()
                .position(|l| l.trim_start().starts_with("terraform_cli_config"))
                .map(|i| i + 1);
            return Err(Error::Invalid {
                message: format!("`terraform_cli_config` names `{rc}`, which is not a file"),
                location: Location::new(WORKSPACE_FILE, line),
                hint: "give the path of a terraform CLI configuration file relative to the workspace root, or remove the setting".into(),
            });
        }
        env.push((
            "TF_CLI_CONFIG_FILE".to_string(),
            session.root.join(rc).display().to_string(),
        ));
    }
    // One provider cache for every sandbox (inits that may write it take turns, see
    // `terraform::ensure_init`); owner-only, since terraform runs what it holds.
    let cli_config = cfg
        .terraform_cli_config
        .as_ref()
        .map(|rc| session.root.join(rc));
    let plugin_cache = strata_exec::toolchain::effective_plugin_cache(cli_config.as_deref(), |n| {
        std::env::var(n).ok()
    });
    if let Some(dir) =
        strata_exec::toolchain::plugin_cache_dir(cli_config.as_deref(), |n| std::env::var(n).ok())
    {
        if strata_fs::create_private_dir(&dir).is_ok() {
            env.push(("TF_PLUGIN_CACHE_DIR".to_string(), dir.display().to_string()));
        }
    }
    let unpinned: Mutex<std::collections::BTreeMap<String, String>> = Mutex::default();
    let find = |tool: &str, pinned: Option<&String>| -> Result<Option<PathBuf>> {
        let path = find_tool(session, tool, "")?;
        // The version found enters task keys when it is not pinned (a pinned one is part of
        // every target hash already), so a tool upgrade never serves results made by the
        // old one.
        let found = strata_exec::toolchain::tool_version_memo(
            tool,
            &path,
            &session.root,
            session
                .uses_cache()
                .then(|| {
                    session
                        .root
                        .join(&session.config.cache.dir)
                        .join("tool-versions.json")
                })
                .as_deref(),
        )
        .map_err(|problem| {
            // The tool ran: what is wrong is the temporary directory, not the workspace.
            if problem.contains(strata_exec::process::NO_ROOM) {
                return Error::Usage {
                    message: problem,
                    hint: "free space in the temporary directory, or set TMPDIR to a directory with room; then run again".into(),
                };
            }
            Error::Invalid {
                message: problem,
                location: Location::new(WORKSPACE_FILE, None),
                hint: "check the tool runs: `strata tools`".into(),
            }
        })?;
        match pinned {
            Some(pinned) if found != pinned.trim_start_matches('v') => {
                return Err(Error::Invalid {
                    message: format!("{} reports {tool} {found}, but WORKSPACE.toml pins {pinned}", path.display()),
                    location: Location::new(WORKSPACE_FILE, None),
                    hint: "install the pinned version, or change the pin (every hash of that kind changes)".into(),
                });
            }
            Some(_) => {}
            None => {
                unpinned
                    .lock()
                    .expect("versions")
                    .insert(tool.to_string(), found);
            }
        }
        Ok(Some(path))
    };
    // A chart alone needs terraform too when it reads a stack's outputs from a backend
    // other than local state (`terraform output` against the backend): found when it can
    // be; the read says so when it cannot.
    let reads_stack_outputs = tasks
        .iter()
        .any(|t| t.env.is_some() && !model.targets[t.target].inputs.is_empty());
    let terraform = if reads_states || needs(&[Kind::Stack, Kind::Module]) {
        find(cfg.terraform_tool(), cfg.terraform.as_ref())?
    } else if reads_stack_outputs {
        find(cfg.terraform_tool(), cfg.terraform.as_ref())
            .ok()
            .flatten()
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
        unpinned: unpinned.into_inner().expect("versions"),
        plugin_cache,
    })
}

/// Builds the cache a run uses. The remote is not contacted here (see
/// [`Cache::check_required_remote`]); a remote URL that is not http(s), or a size limit in
/// the environment that is not a size, is an error.
pub fn open_cache(session: &Session, opts: &RunOptions, warn: WarnSink) -> Result<Cache> {
    if !opts.use_cache {
        return Ok(Cache::disabled(warn));
    }
    let dir = opts
        .cache_dir
        .clone()
        .unwrap_or_else(|| session.root.join(&session.config.cache.dir));
    let local = LocalStore::new(dir);
    let mut cache = Cache::new(Some(Box::new(local)), warn);
    if let Some(remote) = &opts.remote {
        let config = &session.config.cache;
        let defaults = HttpOptions::default();
        let options = HttpOptions {
            token: config
                .remote_token_env
                .as_ref()
                .and_then(|var| std::env::var(var).ok()),
            timeout: Duration::from_secs(config.remote_timeout_secs),
            max_result_bytes: size_from_env(MAX_RESULT_ENV, defaults.max_result_bytes)?,
            max_blob_bytes: size_from_env(MAX_BLOB_ENV, defaults.max_blob_bytes)?,
            cancelled: Some(process::is_cancelled),
        };
        let store = HttpStore::new(&remote.url, options).map_err(|e| Error::Invalid {
            message: e.message,
            location: remote_location(session, &remote.url),
            hint: "give the remote cache as http://host[:port]/path or https://...".into(),
        })?;
        cache = cache.with_remote(Box::new(store), remote.read_only, remote.required);
    }
    Ok(cache)
}

/// Where the remote cache URL was given: WORKSPACE.toml's `[cache] remote`, or the flag.
fn remote_location(session: &Session, url: &str) -> Location {
    if session.config.cache.remote.as_deref() == Some(url) {
        Location::new(WORKSPACE_FILE, None)
    } else {
        Location::new("--remote-cache", None)
    }
}

/// A size limit from the environment variable `var`, or `default` when it is unset.
fn size_from_env(var: &str, default: u64) -> Result<u64> {
    let Ok(text) = std::env::var(var) else {
        return Ok(default);
    };
    match parse_size(&text) {
        Some(n) if n > 0 => Ok(n),
        _ => Err(Error::Invalid {
            message: format!("{var} is `{text}`, which is not a size"),
            location: Location::new("environment", None),
            hint: format!(
                "write a size such as 16M, 1G or 1048576 (default {}), or unset {var}",
                format_size(default)
            ),
        }),
    }
}

/// The Terraform test files (`*.tftest.hcl`) of the selected stacks and modules, which no
/// task runs: a `check` that passes has not run their assertions, and says so.
fn unrun_terraform_tests(
    model: &strata_graph::model::Model,
    selected: &[strata_graph::id::TargetId],
) -> Option<String> {
    let (count, owners) = unrun_files(model, selected, |t| {
        let dir = strata_graph::discover::label_dir(&t.label);
        t.files
            .iter()
            .filter(|f| strata_graph::hcl::tftest::is_test_file_of(f, dir))
            .count()
    });
    (count > 0).then(|| format!(
        "{count} Terraform test file(s) (`*.tftest.hcl`) of {} are not run: strata does not run `terraform test` (a change to them affects their module, but their assertions are not checked here)\n  hint: run `terraform test` in those directories in CI beside `strata check`, or keep such checks as Rego tests in the target's tests/ directory, which strata runs",
        first_few(&owners)
    ))
}

/// How many files `unrun` counts among the selected targets, and the targets holding them.
fn unrun_files<'m>(
    model: &'m strata_graph::model::Model,
    selected: &[strata_graph::id::TargetId],
    unrun: impl Fn(&strata_graph::model::Target) -> usize,
) -> (usize, Vec<&'m str>) {
    let mut count = 0;
    let mut owners = Vec::new();
    for &i in selected {
        let t = &model.targets[i];
        let n = unrun(t);
        if n > 0 {
            count += n;
            owners.push(t.label.as_str());
        }
    }
    (count, owners)
}

/// The first three of `labels`, and how many more there are.
fn first_few(labels: &[&str]) -> String {
    let shown = labels.len().min(3);
    match labels.len() - shown {
        0 => labels[..shown].join(", "),
        n => format!("{} and {n} more", labels[..shown].join(", ")),
    }
}

/// The Rego tests (`tests/**/*.rego`) of the selected modules, library charts and vendored
/// subcharts, which no task runs (a module has no plan, a library chart no render, a
/// subchart is rendered inside its parent, whose tests are its own): a `check` that passes
/// has not run them, and says so.
fn unrun_rego_tests(
    model: &strata_graph::model::Model,
    selected: &[strata_graph::id::TargetId],
) -> Option<String> {
    let (count, owners) = unrun_files(model, selected, |t| {
        let untested = match t.kind {
            Kind::Module => true,
            Kind::Chart => {
                model.is_subchart(&t.label)
                    || t.chart.as_ref().is_some_and(|c| c.chart_type == "library")
            }
            _ => false,
        };
        if untested {
            t.test_files.len()
        } else {
            0
        }
    });
    (count > 0).then(|| format!(
        "{count} Rego test file(s) under tests/ of {} are not run: a module has no plan, a library chart no render, and a vendored subchart is rendered inside its parent, so there is nothing for them to test\n  hint: move them to the tests/ of the stacks or charts that use it, whose plans and renders they can read",
        first_few(&owners)
    ))
}

/// Runs the tasks of the selected targets.
pub fn run(
    session: &Session,
    view: &View,
    selection: &Selection,
    opts: &RunOptions,
    observer: &dyn Observer,
) -> Result<RunReport> {
    // Nested in the caller's operation, if it began one: an interrupt it received stands.
    let _operation = process::operation();
    let envs = resolve_envs(&view.model, &opts.envs)?;
    // Also for a run at another revision (a deleted stack's destroy, `destroy --from`).
    view.model
        .check_runnable(&selection.targets, opts.mode.destroys())?;
    if opts.mode.destroys() {
        destroy::destroyable(&view.model, selection, &envs)?;
    }
    if opts.mode == Mode::Check {
        // A pinned built-in pack that is not this binary's is refused before anything runs.
        strata_policy::builtin::enabled(&view.model.config.policy)?;
    }
    let tasks = {
        let _phase = tracing::info_span!("plan tasks").entered();
        plan_tasks_in(
            &view.model,
            &selection.targets,
            &envs,
            Some(&selection.target_envs),
            opts.mode,
        )
    };
    let read_manifest = |path: &str| {
        let texts = view.texts(&session.repo, &[path]).ok()?;
        texts.into_iter().next().map(|(_, text)| text)
    };
    select::check_named_have_tasks(
        &view.model,
        selection,
        &tasks,
        &envs,
        !opts.envs.is_empty(),
        opts.mode,
        &read_manifest,
    )?;
    {
        let _phase = tracing::info_span!("load policies").entered();
        let read = |paths: &[&str]| view.texts(&session.repo, paths);
        for warning in governing::check_loadable(&view.model, &tasks, &read)? {
            observer.warn(&warning);
        }
    }
    if opts.mode == Mode::Check {
        if let Some(warning) = unrun_terraform_tests(&view.model, &selection.targets) {
            observer.warn(&warning);
        }
        if let Some(warning) = unrun_rego_tests(&view.model, &selection.targets) {
            observer.warn(&warning);
        }
    }
    // A deleted stack's state is read in each environment it was deployed in.
    let reads_states = !opts.mode.destroys()
        && selection
            .deleted_stacks
            .iter()
            .any(|(_, at_base)| envs.iter().any(|e| at_base.contains(e)));
    let tools = {
        let _phase = tracing::info_span!("resolve tools").entered();
        if opts.mode == Mode::Apply {
            // What apply changed is verified and recorded by a check in the environment
            // (charts rendered): a tool that check needs and is missing must stop the
            // apply before it changes anything, not after.
            let verification = plan_tasks_in(
                &view.model,
                &selection.targets,
                &envs,
                Some(&selection.target_envs),
                Mode::Check,
            );
            resolve_tools(
                session,
                &[&tasks[..], &verification[..]].concat(),
                &view.model,
                reads_states,
            )?
        } else {
            resolve_tools(session, &tasks, &view.model, reads_states)?
        }
    };
    let strata_dir = session.root.join(strata_graph::workspace::STRATA_DIR);
    let Some(_lock) = lock::RunLock::acquire(&strata_dir, process::is_cancelled, |who| {
        observer.warn(&format!(
            "waiting for {who} to finish: one run at a time uses this checkout's sandboxes and state (Ctrl-C stops waiting)"
        ))
    })?
    else {
        // Interrupted while waiting: every task asked for is listed as not run, so that a
        // report (JUnit, Markdown) never reads as a green run of nothing.
        let not_run = tasks
            .iter()
            .map(|t| {
                let mut report = TaskReport::of_task(t, view, opts.mode);
                report.status = Status::Skipped;
                report.reason = Some("interrupted while waiting for another run".into());
                report
            })
            .collect();
        return Ok(RunReport::new(not_run, true, opts.allow_incomplete));
    };
    // The cache warns from worker threads; warnings are queued and handed to the observer
    // on the scheduling thread, in order.
    let warnings: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = warnings.clone();
    let cache = open_cache(
        session,
        opts,
        Arc::new(move |m: String| sink.lock().expect("warnings").push(m)),
    )?;
    let runner = Runner {
        session,
        view,
        tasks: &tasks,
        sources: crate::task::sources(&tasks),
        mode: opts.mode,
        gating: opts.gating,
        tools: tools.clone(),
        cache,
        work_root: session.work_dir(),
        env_files: view.model.environment_files(&view.snapshot),
        done: Mutex::new(vec![None; tasks.len()]),
        outputs: Mutex::new(HashMap::new()),
        say: &|m: &str| observer.warn(m),
        approve: &|a: &Approval| observer.approve(a),
        reviewed: Mutex::default(),
        unsaved: Mutex::default(),
        states: states::States::new(session, view, tools.clone())
            .with_state_root(opts.state_root.as_deref()),
        deployed: &opts.deployed,
    };
    // Files left where no target is given them, in the environments this run works in.
    let run_envs: std::collections::BTreeSet<&str> =
        tasks.iter().filter_map(|t| t.env.as_deref()).collect();
    for stray in runner
        .env_files
        .stray()
        .filter(|s| run_envs.contains(s.env))
    {
        observer.warn(&stray.to_string());
    }
    // A policy's label glob that matches nothing governs nothing: most likely a typo.
    let model = &view.model;
    let targets = model.targets.iter().map(|t| (t.kind, t.label.as_str()));
    for (policy, meta) in &model.policies {
        for glob in meta.unmatched_labels(targets.clone()) {
            let label = &model.targets[*policy].label;
            observer.warn(&format!(
                "{label}: `labels` glob `{glob}` in {label}/policy.toml matches no {} of the workspace, so the policy governs nothing through it\n  hint: correct the glob (`strata list` shows the labels), or remove it",
                meta.kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(" or ")
            ));
        }
    }
    // State settings that cannot work (a credential variable not set, every stack sharing
    // one state) are bad input: said before anything runs.
    let mut checked = std::collections::HashSet::new();
    for task in &tasks {
        if let (Some(env), Action::Init | Action::Plan | Action::Apply) = (&task.env, task.action) {
            if checked.insert((task.target, env.clone())) {
                let environment = view.model.environment(env).expect("resolved env");
                runner.states.backend_of(task.target, environment)?;
            }
        }
    }
    if let Err(e) = runner.cache.check_required_remote() {
        return Err(Error::Invalid {
            message: e.to_string(),
            location: opts
                .remote
                .as_ref()
                .map(|r| remote_location(session, &r.url))
                .unwrap_or_else(|| Location::new(WORKSPACE_FILE, None)),
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
    // The scheduler knows tasks by their position.
    let deps: Vec<Vec<usize>> = tasks
        .iter()
        .map(|t| t.deps.iter().map(|d| d.index()).collect())
        .collect();
    let jobs = opts.jobs.max(1);
    let phase = tracing::info_span!("run tasks").entered();
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
    runner.remove_kept_plans();
    flush(observer);
    drop(phase);
    let interrupted = process::is_cancelled();
    let reports: Vec<TaskReport> = outcomes.into_iter().map(|(_, r)| r).collect();
    let mut report = RunReport::new(reports, interrupted, opts.allow_incomplete);
    if !opts.mode.destroys() && !interrupted {
        report.left_behind(destroy::left_behind(
            &runner.states,
            view,
            selection,
            &envs,
            opts.mode,
        ));
    }
    Ok(report)
}

/// `strata state push LABEL --env E FILE`: writes FILE as the stack's state there (a state
/// terraform could not save, which strata kept; or any state of the same lineage and a
/// newer serial). Returns where a damaged local state file was moved aside, if one was.
pub fn push_state(
    session: &Session,
    view: &View,
    label: &str,
    env: &str,
    file: &Path,
) -> Result<Option<std::path::PathBuf>> {
    let (states, target, environment) = stack_state(session, view, label, env)?;
    states.push(target, environment, file)
}

/// `strata state unlock LABEL --env E ID`: releases the lock `id` a run left on the stack's
/// state there.
pub fn unlock_state(
    session: &Session,
    view: &View,
    label: &str,
    env: &str,
    id: &str,
) -> Result<()> {
    let (states, target, environment) = stack_state(session, view, label, env)?;
    states.unlock(target, environment, id)
}

/// The states of the workspace, with the stack `label` and the environment `env` resolved
/// and terraform's tools as a plan of that stack there would have them.
fn stack_state<'v>(
    session: &'v Session,
    view: &'v View,
    label: &str,
    env: &str,
) -> Result<(
    states::States<'v>,
    strata_graph::id::TargetId,
    &'v strata_graph::model::Environment,
)> {
    let target = session.resolve_labels(&view.model, &[label.to_string()])?[0];
    let envs = resolve_envs(&view.model, &[env.to_string()])?;
    let environment = view.model.environment(&envs[0]).expect("resolved env");
    let task = Task {
        target,
        action: Action::Plan,
        env: Some(envs[0].clone()),
        deps: Vec::new(),
    };
    let tools = resolve_tools(session, &[task], &view.model, false)?;
    Ok((
        states::States::new(session, view, tools),
        target,
        environment,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn left(label: &str) -> NotRunTask {
        NotRunTask {
            label: label.into(),
            action: Action::Apply,
            env: Some("dev".into()),
            reason: "left behind".into(),
            left_behind: true,
        }
    }

    fn task(label: &str, action: Action, status: Status) -> TaskReport {
        let mut t = TaskReport::new(
            label,
            Kind::Stack,
            action,
            Some("dev".into()),
            String::new(),
        );
        t.status = status;
        t
    }

    #[test]
    fn a_run_succeeds_only_when_nothing_failed_nothing_was_left_out_and_it_was_not_interrupted() {
        let ok = || task("stacks/a", Action::Plan, Status::Ok);
        assert!(RunReport::new(vec![ok(), ok()], false, false).ok);
        assert!(RunReport::new(Vec::new(), false, false).ok);

        let failed = RunReport::new(
            vec![ok(), task("stacks/b", Action::Plan, Status::Failed)],
            false,
            true,
        );
        assert!(
            !failed.ok,
            "accepting an incomplete run does not accept a failure"
        );
        assert!(failed.incomplete.is_empty());

        let mut skipped = task("stacks/c", Action::Plan, Status::Skipped);
        skipped.reason = Some("stacks/a has no state in dev".into());
        let unexplained = task("stacks/d", Action::Init, Status::Skipped);
        let incomplete = RunReport::new(vec![ok(), skipped, unexplained], false, false);
        assert!(!incomplete.ok);
        let not_run: Vec<(&str, &str)> = incomplete
            .incomplete
            .iter()
            .map(|t| (t.label.as_str(), t.reason.as_str()))
            .collect();
        assert_eq!(
            not_run,
            [
                ("stacks/c", "stacks/a has no state in dev"),
                ("stacks/d", "not run")
            ]
        );
        assert!(incomplete.incomplete.iter().all(|t| !t.left_behind));
        assert!(incomplete.left_behind_stacks().is_empty());

        let accepted = RunReport::new(
            vec![ok(), task("stacks/c", Action::Plan, Status::Skipped)],
            false,
            true,
        );
        assert!(accepted.ok);
        assert_eq!(accepted.incomplete.len(), 1, "still listed");

        assert!(!RunReport::new(vec![ok()], true, true).ok);
    }

    #[test]
    fn an_interrupted_or_empty_destroy_does_not_settle_the_stacks_left_behind() {
        let mut report = RunReport::new(
            vec![task("stacks/a", Action::Apply, Status::Ok)],
            false,
            true,
        );
        report.left_behind(vec![left("stacks/old"), left("stacks/gone")]);
        assert!(report.ok, "accepted");
        // Only old's destroy ran, and then the run was interrupted.
        let destroyed = RunReport::new(
            vec![
                task("stacks/old", Action::Plan, Status::Ok),
                task("stacks/old", Action::Apply, Status::Ok),
            ],
            true,
            true,
        );
        report.absorb_destroy(destroyed);
        assert!(report.interrupted);
        assert!(!report.ok);
        // A stack the destroy run did not touch stays left behind.
        assert_eq!(report.left_behind_stacks(), vec!["stacks/gone"]);
    }

    #[test]
    fn a_deleted_stack_stops_being_left_behind_only_once_all_its_destroy_tasks_passed() {
        let mut report = RunReport::new(
            vec![task("stacks/a", Action::Apply, Status::Ok)],
            false,
            false,
        );
        report.left_behind(vec![left("stacks/old"), left("stacks/gone")]);
        assert!(!report.ok);
        assert_eq!(
            report.left_behind_stacks(),
            vec!["stacks/old", "stacks/gone"]
        );

        let destroyed = RunReport::new(
            vec![
                task("stacks/old", Action::Plan, Status::Ok),
                task("stacks/old", Action::Apply, Status::Ok),
                task("stacks/gone", Action::Plan, Status::Ok),
                task("stacks/gone", Action::Apply, Status::Failed),
            ],
            false,
            false,
        );
        report.absorb_destroy(destroyed);
        assert_eq!(report.left_behind_stacks(), vec!["stacks/gone"]);
        assert_eq!(report.tasks.len(), 5);
        assert!(!report.ok);

        // Accepted knowingly: still listed, but the run is a success when nothing failed.
        let mut accepted = RunReport::new(Vec::new(), false, true);
        accepted.left_behind(vec![left("stacks/old")]);
        assert!(accepted.ok);
        assert_eq!(accepted.incomplete.len(), 1);
    }
}
