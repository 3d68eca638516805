//! The runner: task keys (key.rs), cache lookups, execution, outcomes.

mod key;

pub use key::NOTHING_TO_APPLY;
pub(crate) use key::{NotReady, Prepared, NOTHING_TO_DESTROY};

use super::TaskReport;
use crate::outcome::{Outcome, Redact, Summary};
use crate::task::TaskId;
use crate::task::{Action, Mode, Task};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;
use strata_cache::{make_result, Cache};
use strata_graph::id::TargetId;

use strata_exec::schedule::{Job, NotRun, Status};
use strata_exec::{helm, process, sandbox, state, terraform, Tools};
use strata_graph::error::{Error, Result};
use strata_graph::model::{EnvironmentFiles, Model};
use strata_graph::session::{Session, View};

pub(super) struct Runner<'a> {
    pub(super) session: &'a Session,
    pub(super) view: &'a View,
    pub(super) tasks: &'a [Task],
    /// Each task's plan or render task ([`crate::task::sources`]).
    pub(super) sources: Vec<Option<crate::task::TaskId>>,
    pub(super) mode: Mode,
    /// What a failed quality check does to the tasks after it.
    pub(super) gating: crate::task::Gating,
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
    pub(super) unsaved: Mutex<HashMap<TaskId, crate::states::Unsaved>>,
    /// The states read in this run.
    pub(super) states: crate::states::States<'a>,
    /// See [`crate::RunOptions::deployed`].
    pub(super) deployed: &'a std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
}

impl Runner<'_> {
    pub(super) fn model(&self) -> &Model {
        &self.view.model
    }

    /// Whether `env`'s release lock records `label` as applied there.
    pub(super) fn deployed(&self, env: &str, label: &str) -> bool {
        self.deployed.get(env).is_some_and(|s| s.contains(label))
    }

    pub(crate) fn report(&self, i: TaskId) -> TaskReport {
        TaskReport::of_task(&self.tasks[i], self.view, self.mode)
    }

    fn execute(&self, i: TaskId, prepared: &mut Prepared) -> Result<Outcome> {
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
        let chart_deps = self.chart_dependencies(task.target);
        if matches!(task.action, Action::Plan | Action::Apply) {
            self.say_who_holds_the_lock(task.target, env);
            // What the stack's sensitive variables are given from files and the
            // environment: terraform quotes such a value in some of its errors.
            let tool_env = |name: &str| {
                self.tools
                    .env
                    .iter()
                    .rev()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
                    .or_else(|| std::env::var(name).ok())
            };
            for value in strata_exec::var_values::sensitive_values_given(
                &sb.dir,
                &env_paths(strata_graph::discover::VAR_FILE_SUFFIXES),
                tool_env,
            ) {
                prepared.redactor.add(&value);
            }
            prepared.sensitive_names = strata_exec::var_values::sensitive_variables(&sb.dir)
                .into_iter()
                .chain(prepared.inputs.sensitive.iter().cloned())
                .collect();
        }
        let step = match task.action {
            Action::Fmt => terraform::fmt_check(&self.tools, &sb),
            Action::Validate => {
                let floating = self.floating_modules(task.target);
                if let Some((source, at)) = floating.first() {
                    (self.say)(&format!(
                        "warning: {} calls module `{source}` ({at}){}, whose source can change under the same address: its terraform tasks are never cached, and its remote modules are fetched again every time\n  hint: pin it to a commit (`?ref=<40-character commit id>`), or use a registry module at an exact version",
                        target.label,
                        match floating.len() {
                            1 => String::new(),
                            n => format!(" and {} more", n - 1),
                        }
                    ));
                    terraform::refetch_modules(&sb);
                }
                terraform::validate(&self.tools, &sb)
            }
            Action::Init => {
                if !self.floating_modules(task.target).is_empty() {
                    terraform::refetch_modules(&sb);
                }
                terraform::ensure_init(&self.tools, &sb, Some(&prepared.state), true)
            }
            Action::Plan => {
                let step = terraform::plan(
                    &self.tools,
                    &sb,
                    &prepared.state,
                    &env_paths(strata_graph::discover::VAR_FILE_SUFFIXES),
                    &prepared.inputs,
                    match self.mode {
                        Mode::Apply => terraform::PlanFor::Apply,
                        Mode::Destroy => terraform::PlanFor::Destroy,
                        Mode::DestroyPlan => terraform::PlanFor::DestroyReview,
                        _ => terraform::PlanFor::Review,
                    },
                );
                if let (Mode::Apply, Some(env)) = (self.mode, env) {
                    // The plan ran under the state's lock, which it may have waited for
                    // while another run applied the stack: the outputs the stacks below
                    // it read are then the state the plan saw, not the one read before
                    // it (even when its plan has nothing to apply).
                    self.states.changed(task.target, env);
                }
                step
            }
            Action::Apply => {
                let step = terraform::apply(&self.tools, &sb, &prepared.state);
                if let Some(env) = env {
                    // Whatever happened, the state may have changed: read it again.
                    self.states.changed(task.target, env);
                    // Terraform changed resources but could not save the state: keep what
                    // it wrote where no sandbox rebuild can lose it.
                    let output = step.as_ref().map(|s| s.log.as_slice()).unwrap_or_default();
                    if let Some(unsaved) =
                        self.states.keep_unsaved(task.target, env, &sb.dir, output)
                    {
                        self.unsaved.lock().expect("unsaved").insert(i, unsaved);
                    }
                }
                step
            }
            Action::Deps => {
                if !chart_deps.unpinned.is_empty() {
                    let names = helm::named(chart_deps.unpinned.iter().copied());
                    (self.say)(&format!(
                        "warning: {} depends on {} with no Chart.lock pinning the version: helm resolves it anew on every build, so its tasks are never cached\n  hint: pin it with `helm dependency update` and commit Chart.lock, or vendor it into the chart's charts/",
                        target.label,
                        names
                    ));
                }
                helm::dependency_build(&self.tools, &sb, &chart_deps)
            }
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
                let cluster = self.model().render_settings(env);
                if task.action == Action::Lint {
                    helm::lint(&self.tools, &sb, &chart_deps, &values, &cluster)
                } else {
                    // The chart's directory name; at the workspace root, the chart's own name.
                    let release = match strata_graph::discover::label_dir(&target.label) {
                        "" => target.chart.as_ref().map_or("release", |c| c.name.as_str()),
                        dir => dir.rsplit('/').next().unwrap_or(dir),
                    };
                    helm::render(
                        &self.tools,
                        &sb,
                        &chart_deps,
                        release,
                        env.unwrap_or("default"),
                        &values,
                        &cluster,
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

    fn cacheable(&self, task: &Task) -> bool {
        let action = task.action;
        !(action == Action::Apply
            || (matches!(self.mode, Mode::Apply | Mode::Destroy | Mode::DestroyPlan)
                && action == Action::Plan)
            // What such a chart renders can change with nothing in the workspace changing.
            || !self.unpinned(task.target).is_empty()
            // So can what a stack or module plans with a module fetched at a moving ref.
            || (matches!(action, Action::Validate | Action::Init | Action::Plan)
                && !self.floating_modules(task.target).is_empty()))
    }

    /// The remote module sources whose content can move that `target` or a local module it
    /// calls names (see `Target::floating_modules`).
    fn floating_modules(&self, target: TargetId) -> Vec<&(String, strata_graph::error::Location)> {
        let model = self.model();
        self.built_on(target)
            .into_iter()
            .flat_map(|t| model.targets[t].floating_modules.iter())
            .collect()
    }

    /// The dependencies of a chart target that helm resolves anew on every build (see
    /// [`helm::unpinned`]).
    fn unpinned(&self, target: TargetId) -> Vec<&strata_graph::chart::ChartDependency> {
        self.chart_dependencies(target).unpinned
    }

    /// A chart target's dependencies (none for other targets), as its files fix them.
    fn chart_dependencies(&self, target: TargetId) -> helm::Dependencies<'_> {
        helm::Dependencies::of_target(&self.model().targets[target])
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
            Err(NotReady::NothingToDo(why)) => {
                report.reason = Some(why);
                if task.action == Action::Plan {
                    report.summary = Summary::Step(strata_exec::step::StepSummary::Plan(
                        strata_exec::plan_json::PlanSummary::default(),
                    ));
                }
                return finish(report, Status::Ok);
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
        if self.cacheable(task) {
            match self.cache.lookup(&key) {
                // What an apply delivers (a chart's manifests, written to the GitOps output
                // and recorded in the lock) is rendered here, never taken from the remote
                // cache: an entry there is only as trustworthy as every job that can write
                // to it, and a pull-request job's code could have written this one. As an
                // apply never applies a cached plan.
                Ok(Some(hit))
                    if hit.from_remote
                        && task.action == Action::Render
                        && matches!(self.mode, Mode::Apply | Mode::Destroy) => {}
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
                        // The tool's output as the run that made the result saw it
                        // (redacted then): its warnings are this result's too.
                        if let Some(log) = hit.blobs.get("log") {
                            report.log = String::from_utf8_lossy(log).into_owned();
                        }
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
        let step = match self.execute(i, &mut prepared) {
            Ok(step) => step,
            Err(e) => {
                report.reason = Some(prepared.redactor.redact_text(&e.one_line()));
                return finish(report, Status::Failed);
            }
        };
        let mut step = step;
        if self.tool_name(task.action) == "terraform" {
            let log = String::from_utf8_lossy(&step.log);
            if let Some(log) = strata_exec::redact::diagnostics::withhold_sensitive_details(
                &log,
                &prepared.sensitive_names,
            ) {
                step.log = log.into_bytes();
            }
        }
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
                (Some(crate::states::Unsaved::Kept(kept)), _) => {
                    unsaved_message(&report.label, task.env.as_deref(), &kept)
                }
                (Some(crate::states::Unsaved::Lost(why)), _) => format!(
                    "terraform changed resources of {} in {} but could not save the state, and {why}: what this apply created or changed may be in no state. Compare the resources with the state (`terraform state list`), and import what is missing",
                    report.label,
                    task.env.as_deref().unwrap_or_default()
                ),
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
        if self.cacheable(task) {
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
            NotRun::Stopped => "an earlier task failed (use --keep-going to run the rest)".into(),
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

    fn holds_back(&self, task: usize) -> bool {
        self.gating == crate::task::Gating::Stop
            || !self.tasks[TaskId::from_index(task)]
                .action
                .is_quality_check()
    }
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
                NOTHING_TO_DESTROY.into()
            } else {
                NOTHING_TO_APPLY.into()
            });
            return Some(Status::Ok);
        }
        // A plan that would create what the release lock says is there already, because
        // no state of it was found here.
        if self.mode == Mode::Apply && self.deployed(env, label) {
            let environment = self.model().environment(env)?;
            let stateless = self
                .states
                .state_of(task.target, environment)
                .is_ok_and(|s| s.as_ref().is_none_or(|s| s.never_applied()));
            if stateless {
                self.remove_kept_plan(plan_task);
                let backend = self
                    .states
                    .backend_of(task.target, environment)
                    .map(|b| b.kind().to_string())
                    .unwrap_or_default();
                report.reason = Some(key::applied_but_stateless(label, env, &backend));
                return Some(Status::Failed);
            }
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
        report.reason = Some(if strata_exec::process::is_cancelled() {
            "not started: interrupted at the prompt".into()
        } else if matches_reviewed == Some(false) {
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
pub(super) fn pg_application_name(action: Action, label: &str, env: &str) -> String {
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
        1 => format!(
            "1 file is not formatted; fix it with: terraform fmt -recursive {}",
            strata_graph::text::shell_word(dir)
        ),
        n => format!(
            "{n} files are not formatted; fix them with: terraform fmt -recursive {}",
            strata_graph::text::shell_word(dir)
        ),
    }
}

/// The output a successful result of `action` always has, which tasks after it read.
fn required_output(action: Action) -> Option<&'static str> {
    match action {
        Action::Plan => Some("plan.json"),
        Action::Render => Some("manifests.yaml"),
        _ => None,
    }
}

/// The digest of a render's manifests (`None` for other actions).
fn rendered_digest(
    action: Action,
    blobs: &std::collections::BTreeMap<String, Vec<u8>>,
) -> Option<String> {
    (action == Action::Render)
        .then(|| blobs.get("manifests.yaml"))
        .flatten()
        .map(|m| blake3::hash(m).to_hex().to_string())
}
