//! `strata check`, `strata plan` and `strata apply`: select targets, run their tasks, print.
use crate::say;

use super::Context;
use crate::output::print_json;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use strata_exec::schedule::Status;
use strata_graph::{Error, Result};
use strata_run::task::{Action, Mode};
use strata_run::{run, select, Observer, RemoteOptions, RunOptions, Scope, TaskReport};

/// `strata check`, `strata plan` and `strata policy eval`.
#[derive(clap::Args)]
pub struct CheckArgs {
    #[command(flatten)]
    selection: Selection,
    #[command(flatten)]
    options: Options,
}

/// `strata apply`.
#[derive(clap::Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    selection: Selection,
    #[command(flatten)]
    options: Options,
    /// Apply every plan with changes without asking. Without it, apply shows each plan and
    /// asks on the terminal, and refuses to run without one.
    #[arg(long)]
    auto_approve: bool,
    /// Stop delivering the charts the environment's release lock still holds though they
    /// were deleted or taken out of the environment (their GitOps output goes; Argo CD or
    /// Flux prune them). With --affected: also destroy the stacks deleted since the base
    /// whose state still holds resources (with their code at the base, after the rest is
    /// applied).
    #[arg(long)]
    allow_destroy: bool,
    /// Stacks to create anew though the environment's release lock records them as
    /// applied and no state of them is found (their resources are known to be gone).
    /// Without it, apply refuses to create such a stack again.
    #[arg(long, value_name = "LABEL")]
    recreate: Vec<String>,
}

/// `strata destroy`.
#[derive(clap::Args)]
pub struct DestroyArgs {
    /// Stacks to destroy (their dependents in the environment must be destroyed first, or
    /// named too).
    #[arg(required = true)]
    labels: Vec<String>,
    #[command(flatten)]
    options: Options,
    /// Destroy without asking. Without it, destroy shows each plan and asks on the
    /// terminal, and refuses to run without one.
    #[arg(long)]
    auto_approve: bool,
    /// The stacks were deleted; destroy them with their code at this revision (e.g. the
    /// commit before the one that deleted them).
    #[arg(long, value_name = "REV")]
    from: Option<String>,
}

/// Which targets a run selects.
#[derive(clap::Args)]
struct Selection {
    /// Targets to run (default: all, or the affected ones with --affected).
    labels: Vec<String>,
    /// Run only the targets affected since the merge-base with --base.
    #[arg(long, conflicts_with = "labels")]
    affected: bool,
    /// Base revision for --affected (default: origin/<default_branch>, else <default_branch>).
    #[arg(long, requires = "affected")]
    base: Option<String>,
    /// Run only shard SHARD of OF (as `strata ci matrix --shards OF` splits the selection):
    /// every runner given the same checkout and base computes the same split. For check
    /// and plan: apply refuses it.
    #[arg(long, value_name = "SHARD/OF", value_parser = parse_shard)]
    shard: Option<ShardSpec>,
}

/// How a run runs and reports, for every command that runs tasks.
#[derive(clap::Args)]
struct Options {
    /// Environment(s) to run in: `check` and `policy eval` default to every environment;
    /// `plan`, `apply` and `destroy` need one.
    #[arg(long = "env", short = 'e')]
    envs: Vec<String>,
    /// Tasks run at once (default: the number of cores).
    #[arg(short = 'j', long, value_parser = clap::value_parser!(u16).range(1..))]
    jobs: Option<u16>,
    /// Keep running independent tasks after a failure.
    #[arg(long)]
    keep_going: bool,
    /// Succeed even when some tasks did not run (a plan whose upstream stack has no state
    /// yet); they are still listed. Without it such a run exits 1.
    #[arg(long)]
    allow_incomplete: bool,
    /// Use a shared HTTP cache (overrides WORKSPACE.toml [cache] remote).
    #[arg(long, value_name = "URL")]
    remote_cache: Option<String>,
    /// Read from the remote cache but never write to it.
    #[arg(long)]
    remote_cache_read_only: bool,
    /// Fail when the remote cache cannot be used, instead of carrying on locally.
    #[arg(long)]
    require_remote_cache: bool,
    /// Write a JUnit XML report.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Write a Markdown summary (for a pull-request comment).
    #[arg(long, value_name = "FILE")]
    summary_md: Option<PathBuf>,
    /// Write policy findings as SARIF 2.1.0 (GitHub code scanning).
    #[arg(long, value_name = "FILE")]
    sarif: Option<PathBuf>,
    /// Show every task's tool output.
    #[arg(short, long)]
    verbose: bool,
}

/// Every command's flags in one place, for [`run_with`]: what a command does not take
/// stays at its default.
pub struct Args {
    labels: Vec<String>,
    affected: bool,
    base: Option<String>,
    shard: Option<ShardSpec>,
    options: Options,
    auto_approve: bool,
    from: Option<String>,
    allow_destroy: bool,
    recreate: Vec<String>,
}

impl Args {
    fn new(selection: Selection, options: Options) -> Args {
        let Selection {
            labels,
            affected,
            base,
            shard,
        } = selection;
        Args {
            labels,
            affected,
            base,
            shard,
            options,
            auto_approve: false,
            from: None,
            allow_destroy: false,
            recreate: Vec::new(),
        }
    }
}

impl From<CheckArgs> for Args {
    fn from(a: CheckArgs) -> Args {
        Args::new(a.selection, a.options)
    }
}

impl From<ApplyArgs> for Args {
    fn from(a: ApplyArgs) -> Args {
        Args {
            auto_approve: a.auto_approve,
            allow_destroy: a.allow_destroy,
            recreate: a.recreate,
            ..Args::new(a.selection, a.options)
        }
    }
}

impl From<DestroyArgs> for Args {
    fn from(a: DestroyArgs) -> Args {
        let selection = Selection {
            labels: a.labels,
            affected: false,
            base: None,
            shard: None,
        };
        Args {
            auto_approve: a.auto_approve,
            from: a.from,
            ..Args::new(selection, a.options)
        }
    }
}

/// `--shard K/N`: 1 <= K <= N.
#[derive(Debug, Clone, Copy)]
pub struct ShardSpec {
    index: usize,
    of: usize,
}

fn parse_shard(text: &str) -> std::result::Result<ShardSpec, String> {
    let bad = || {
        format!(
            "`{text}` is not SHARD/OF with 1 <= SHARD <= OF <= {}, e.g. `2/4`",
            u16::MAX
        )
    };
    let (k, n) = text.split_once('/').ok_or_else(bad)?;
    let (index, of): (usize, usize) = (
        k.trim().parse().map_err(|_| bad())?,
        n.trim().parse().map_err(|_| bad())?,
    );
    // As many as `ci matrix --shards` lists at most: one slot is kept per shard.
    if index == 0 || index > of || of > usize::from(u16::MAX) {
        return Err(bad());
    }
    Ok(ShardSpec { index, of })
}

pub fn run_command(ctx: &Context, args: impl Into<Args>, mode: Mode) -> Result<u8> {
    run_with(ctx, args.into(), mode, false)
}

/// `strata policy eval`: a check whose output is the policy findings, grouped by target.
pub fn policy_eval(ctx: &Context, args: CheckArgs) -> Result<u8> {
    run_with(ctx, args.into(), Mode::Check, true)
}

fn run_with(ctx: &Context, args: Args, mode: Mode, findings_only: bool) -> Result<u8> {
    if mode != Mode::Check && args.options.envs.is_empty() {
        return Err(Error::Invalid {
            message: "--env is required for plan, apply and destroy".into(),
            location: strata_graph::error::Location::new("command line", None),
            hint: "name the environment, e.g. `--env dev`".into(),
        });
    }
    let changes = matches!(mode, Mode::Apply | Mode::Destroy);
    if changes && args.shard.is_some() {
        // Shards run side by side and exchange nothing, which holds for checks and plans;
        // an apply in one shard changes the outputs a stack in another shard reads.
        return Err(Error::Invalid {
            message: "apply is not split into shards: a stack applied in one shard changes the outputs its dependents in other shards plan against".into(),
            location: strata_graph::error::Location::new("command line", None),
            hint: "apply in one job, in dependency order (shard `check` and `plan` only)".into(),
        });
    }
    if mode == Mode::Destroy && (args.labels.is_empty() || args.affected) {
        return Err(Error::Invalid {
            message: "strata destroy tears down the stacks it is given, and was given none".into(),
            location: strata_graph::error::Location::new("command line", None),
            hint: "name them, e.g. `strata destroy stacks/app --env dev`".into(),
        });
    }
    if mode == Mode::Destroy && args.options.envs.len() != 1 {
        return Err(Error::Invalid {
            message: "strata destroy works in one environment at a time".into(),
            location: strata_graph::error::Location::new("command line", None),
            hint: "pass one --env".into(),
        });
    }
    if changes && !args.auto_approve && !std::io::stdin().is_terminal() {
        return Err(Error::Invalid {
            message: format!(
                "{} asks before it applies a plan, and there is no terminal to ask on",
                if mode == Mode::Destroy {
                    "destroy"
                } else {
                    "apply"
                }
            ),
            location: strata_graph::error::Location::new("command line", None),
            hint: "run it on a terminal, or pass --auto-approve (CI: after the plan was reviewed)"
                .into(),
        });
    }
    // Report files are checked before anything runs: a typo there must not cost a run.
    for path in [
        &args.options.junit,
        &args.options.summary_md,
        &args.options.sarif,
    ]
    .into_iter()
    .flatten()
    {
        check_writable(path)?;
    }
    let session = ctx.session()?;
    let view = session.work_tree()?;
    view.model.check_settings()?;
    // A workspace in which the layout finds nothing: a run of everything would check
    // nothing and say "0 tasks", which a pipeline reads as green.
    if view.model.targets.is_empty() && args.labels.is_empty() && !args.affected {
        return Err(Error::Invalid {
            message: "the workspace has no targets: there is nothing to run".into(),
            location: strata_graph::error::Location::new(strata_graph::workspace::WORKSPACE_FILE, None),
            hint: "`strata list` shows what the layout finds and `strata init --dry-run --force` proposes one; Terragrunt units without Terraform files of their own are not read (their code is fetched when they run)".into(),
        });
    }
    // Without an environment a stack has no state to plan against: say so, rather than a
    // green check that never planned.
    if mode == Mode::Check
        && view.model.environments.is_empty()
        && view
            .model
            .targets
            .iter()
            .any(|t| t.kind == strata_graph::discover::Kind::Stack)
    {
        say!("warning: no environment is configured (`environments/<name>/env.toml`): stacks are formatted and validated only; their init and plan, and the policies and tests that read plans, run in an environment (see docs/configuration.md, environments)");
    }
    let mut deployed = std::collections::BTreeMap::new();
    // By the model's labels (`stacks/a/` names `stacks/a`).
    let mut recreate = std::collections::BTreeSet::new();
    for label in &args.recreate {
        match view.model.target(label) {
            Some(t) if t.kind == strata_graph::discover::Kind::Stack => {
                recreate.insert(t.label.as_str());
            }
            _ => {
                return Err(Error::Invalid {
                    message: format!("--recreate names `{label}`, which is not a stack"),
                    location: strata_graph::error::Location::new("command line", None),
                    hint: "name the stacks to create anew by their labels (`strata list`)".into(),
                })
            }
        }
    }
    if changes {
        for env in strata_run::resolve_envs(&view.model, &args.options.envs)? {
            if let Err(refusal) = strata_release::may_apply(&view.model, &session, &env)? {
                say!("strata: {refusal}");
                return Ok(1);
            }
            // A run here that strata did not live to record goes into the ledger first.
            for left in strata_release::started::record_left_behind(&session, &env)? {
                say!(
                    "warning: {}; it is now in environments/{env}/audit.jsonl (outcome interrupted)",
                    strata_release::started::describe(&left)
                );
            }
            if mode == Mode::Apply {
                strata_release::delivery::check_tools(&session, &view.model, &env)?;
                strata_release::delivery::check_ready(
                    &session,
                    &view.model,
                    &env,
                    strata_release::delivery::ChartsFrom::WorkTree,
                )?;
            }
            // What the apply changes is recorded in the lock afterwards: a lock that cannot
            // be read stops it now (exit 2), not after terraform changed the environment.
            let lock = strata_release::lock::ReleaseLock::read(&session.root, &env)?;
            if mode == Mode::Apply {
                let mut stacks = lock.stacks();
                stacks.retain(|label| !recreate.contains(label.as_str()));
                deployed.insert(env.clone(), stacks);
            }
        }
    }
    let scope = if args.affected {
        Scope::Affected {
            base: args.base.clone().unwrap_or_else(|| session.default_base()),
        }
    } else if args.labels.is_empty() {
        Scope::All
    } else {
        Scope::Labels(args.labels.clone())
    };
    // The stacks each environment's release lock records: one that no longer deploys there
    // (taken out of its `environments`) left its resources behind.
    let recorded: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> =
        if args.from.is_none() && matches!(mode, Mode::Plan | Mode::Apply | Mode::Destroy) {
            strata_run::resolve_envs(&view.model, &args.options.envs)?
                .into_iter()
                .filter_map(|env| {
                    let lock = strata_release::lock::ReleaseLock::read(&session.root, &env).ok()?;
                    Some((env, lock.stacks()))
                })
                .collect()
        } else {
            Default::default()
        };
    // With --from, the labels name stacks of another revision: resolved there.
    let mut selection = if args.from.is_some() {
        strata_run::Selection::default()
    } else {
        select(&session, &view, &scope)?
    };
    // `strata destroy` of a stack taken out of an environment its lock still records: its
    // tasks run there, with its code as it is.
    if mode == Mode::Destroy {
        selection.recorded = recorded.clone();
        for &id in &selection.named {
            let t = &view.model[id];
            if t.kind != strata_graph::discover::Kind::Stack {
                continue;
            }
            for (env, labels) in &recorded {
                if !t.environments.contains(env) && labels.contains(&t.label) {
                    selection
                        .target_envs
                        .entry(id)
                        .or_insert_with(|| t.environments.clone())
                        .push(env.clone());
                }
            }
        }
    }
    if let Some(ShardSpec { index, of }) = args.shard {
        let envs = strata_run::resolve_envs(&view.model, &args.options.envs)?;
        selection = strata_run::shard::shard_of(&view.model, &selection, &envs, index, of);
    }
    // A stack named to be created anew that this apply does not include: the flag would
    // do nothing, and the next apply that includes it would refuse again.
    if args.from.is_none() {
        for label in &recreate {
            let included = view
                .model
                .index(label)
                .is_some_and(|id| selection.targets.contains(&id));
            if !included {
                return Err(Error::Invalid {
                    message: format!(
                        "--recreate names `{label}`, which this apply does not include"
                    ),
                    location: strata_graph::error::Location::new("command line", None),
                    hint: {
                        let label = strata_graph::text::shell_word(label);
                        format!("select it too, e.g. `strata apply {label} --recreate {label}`")
                    },
                });
            }
        }
    }
    // What the layout leaves out is neither run nor checked (a policy directory among them
    // judges nothing): said before every run, not only by `strata list`.
    if !view.model.unowned.is_empty() {
        let n = view.model.unowned.len();
        let shown: Vec<&str> = view
            .model
            .unowned
            .iter()
            .take(3)
            .map(String::as_str)
            .collect();
        say!(
            "warning: {n} director{} with Terraform files, a Chart.yaml or Rego policies that no target owns {} neither run nor checked: {}{} (`strata list` shows them; fix [layout] in WORKSPACE.toml, or `ignore` them)",
            if n == 1 { "y" } else { "ies" },
            if n == 1 { "is" } else { "are" },
            shown.join(", "),
            if n > 3 { ", ..." } else { "" }
        );
    }
    // A read the sandbox may not hold: said before the run, as `affected` says it.
    for &id in &selection.targets {
        let t = &view.model[id];
        if !t.declares_inputs {
            for at in &t.unresolved {
                say!(
                    "{}",
                    super::affected::unresolved_read_warning(&t.label, t.kind, at)
                );
            }
        }
    }
    session.finish();
    let remote_url = args
        .options
        .remote_cache
        .clone()
        .or_else(|| session.config.cache.remote.clone());
    // A job that requires the remote must not carry on without one: a branch that drops
    // `[cache] remote` would otherwise pass it silently.
    if args.options.require_remote_cache && (remote_url.is_none() || !ctx.use_cache) {
        return Err(Error::Invalid {
            message: if ctx.use_cache {
                "--require-remote-cache, and no remote cache is set".into()
            } else {
                "--require-remote-cache with --no-cache: the remote cache would not be used".into()
            },
            location: strata_graph::error::Location::new("command line", None),
            hint: "set `[cache] remote` in WORKSPACE.toml or pass --remote-cache URL (or drop --require-remote-cache)".into(),
        });
    }
    let opts = RunOptions {
        mode,
        envs: args.options.envs.clone(),
        jobs: args.options.jobs.map(usize::from).unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
        }),
        keep_going: args.options.keep_going,
        allow_incomplete: args.options.allow_incomplete,
        use_cache: ctx.use_cache,
        remote: remote_url.map(|url| RemoteOptions {
            url,
            read_only: args.options.remote_cache_read_only
                || session.config.cache.remote_read_only
                || read_only_from_env(),
            required: args.options.require_remote_cache,
        }),
        state_root: None,
        cache_dir: None,
        deployed,
        env_files_from: None,
        gating: strata_run::task::Gating::Stop,
    };
    // The command is one operation: an interrupt from here on cancels it.
    let _operation = strata_exec::process::operation();
    let _ = ctrlc::set_handler(strata_exec::process::cancel_all);
    // Tools outlive a strata that is killed: the reaper stops them then.
    strata_exec::reaper::supervise();
    let mut printer = Printer::new(args.options.verbose, ctx.json || findings_only);
    printer.auto_approve = args.auto_approve;
    let started = Instant::now();
    // Each environment's record of this run while it lasts: one strata does not live to
    // end is written into the ledger by the next run (see `strata_release::started`).
    let what = if mode == Mode::Destroy {
        "destroy"
    } else {
        "apply"
    };
    let mut running: std::collections::BTreeMap<String, strata_release::started::Running> =
        std::collections::BTreeMap::new();
    if changes {
        for env in strata_run::resolve_envs(&view.model, &args.options.envs)? {
            let targets: Vec<String> = match &args.from {
                Some(_) => args.labels.clone(),
                None => selection
                    .in_env(&env)
                    .into_iter()
                    .map(|id| view.model[id].label.clone())
                    .collect(),
            };
            let record = strata_release::started::start(&session, &env, what, &targets)?;
            running.insert(env, record);
        }
    }
    let mut report = match &args.from {
        Some(rev) => strata_run::destroy_from(&session, &view, rev, &args.labels, &opts, &printer),
        None => run(&session, &view, &selection, &opts, &printer),
    };
    // Deleted stacks that left resources: `plan` shows their destroy plans, `apply
    // --allow-destroy` destroys them, both with their code at the base.
    if mode == Mode::Plan || (mode == Mode::Apply && args.allow_destroy) {
        if let Ok(report) = &mut report {
            if let Err(e) = strata_run::destroy_left_behind(
                &session, &view, &selection, report, &opts, &printer,
            ) {
                return Err(ended_with_error(&session, running, e));
            }
        }
    }
    let mut report = match report {
        Ok(report) => report,
        Err(e) => return Err(ended_with_error(&session, running, e)),
    };
    // Stacks taken out of an environment whose lock still records them: their resources
    // stay there, and a run that leaves them unmentioned is not done.
    if matches!(mode, Mode::Plan | Mode::Apply) && !matches!(scope, Scope::Labels(_)) {
        report.not_run(strata_run::taken_out(
            &view.model,
            &selection,
            &recorded,
            mode,
        ));
    }
    // What an apply changed and verified goes into the environment's release lock.
    let mut release = Vec::new();
    if matches!(mode, Mode::Apply | Mode::Destroy) {
        // Each environment on its own: one that cannot be recorded does not keep the
        // others from their lock entries and ledger events.
        for env in strata_run::resolve_envs(&view.model, &args.options.envs)? {
            // What the selection runs in this environment: not a target affected only
            // through another environment's files.
            let selected = selection.in_env(&env);
            match strata_release::record::record_apply(
                &session,
                &view,
                &report,
                &selected,
                &env,
                strata_release::record::Retire {
                    charts: mode == Mode::Apply && args.allow_destroy,
                },
                &opts,
                &printer,
            ) {
                Ok(recorded) => {
                    if let Some(problem) = &recorded.lock_problem {
                        printer.warn(&format!(
                            "what the {what} did in {env} was not recorded: {problem}"
                        ));
                        report.ok = false;
                    }
                    if let Some(problem) = &recorded.audit_problem {
                        printer.warn(&format!(
                            "what the {what} did in {env} was recorded, but: {problem}"
                        ));
                        report.ok = false;
                    }
                    if let Some(verification) = &recorded.verification {
                        if verification.interrupted {
                            // Verification did not finish: the run is no success.
                            report.interrupted = true;
                            report.ok = false;
                        }
                    }
                    release.push(recorded);
                }
                Err(e) => {
                    printer.warn(&format!(
                        "what the {what} did in {env} was not recorded: {e}{}",
                        e.location().map(|l| format!(" ({l})")).unwrap_or_default()
                    ));
                    report.ok = false;
                    // Its ledger still says that the run happened, and ended so.
                    if let Some(record) = running.remove(&env) {
                        record.ended_with_error(&session, &e.to_string());
                    }
                }
            }
            // Ended, and said so: the record of the run goes.
            running.remove(&env);
        }
    }
    drop(running);
    printer.done();
    // Ctrl-C while the lock was recorded (its verification, the GitOps validator): the run
    // was interrupted, whatever failed because of it.
    if strata_exec::process::is_cancelled() {
        report.interrupted = true;
        report.ok = false;
    }
    let unverified = release.iter().any(|r| {
        r.not_recorded
            .iter()
            .any(|(_, why)| !why.starts_with("applied from uncommitted"))
    });
    if unverified {
        report.ok = false;
    }
    // Each report is tried, so that one that cannot be written does not keep the others.
    let written = [
        args.options
            .junit
            .as_ref()
            .map(|path| write_file(path, &strata_run::report::junit(&report))),
        args.options
            .summary_md
            .as_ref()
            .map(|path| write_file(path, &strata_run::report::markdown(&report))),
        args.options.sarif.as_ref().map(|path| {
            write_file(
                path,
                &strata_run::report::sarif(&report, session.repo.prefix()),
            )
        }),
    ];
    for result in written.into_iter().flatten() {
        result?;
    }
    if findings_only {
        let policy_tasks: Vec<&TaskReport> = report
            .tasks
            .iter()
            .filter(|t| t.action == Action::Policy)
            .collect();
        let failed = policy_tasks.iter().any(|t| {
            t.status == Status::Failed
                || (t.status == Status::Skipped && !args.options.allow_incomplete)
        });
        if ctx.json {
            print_json(&serde_json::json!({
                // A policy that did not run (its plan failed) is no pass.
                "ok": !failed && !report.interrupted,
                "targets": policy_tasks.iter().map(|t| serde_json::json!({
                    "label": t.label, "env": t.env, "status": t.status, "reason": t.reason,
                    "summary": t.summary,
                })).collect::<Vec<_>>(),
            }));
        } else {
            print_findings(&policy_tasks);
        }
        print_incomplete(&report);
        return Ok(if report.interrupted {
            130
        } else if failed {
            1
        } else {
            0
        });
    }
    if ctx.json {
        let mut value = serde_json::to_value(&report).expect("reports serialize");
        if matches!(mode, Mode::Apply | Mode::Destroy) {
            value["release"] = serde_json::to_value(&release).expect("records serialize");
        }
        print_json(&value);
    } else {
        if mode == Mode::Plan {
            crate::output::write_text(&strata_run::report::plan_text(&report));
        }
        print_summary(&report.tasks, started.elapsed(), args.options.verbose);
        // The checks run after an apply to verify it count apart: say how they went, so
        // that "all ok" above is not read as theirs.
        for r in &release {
            let Some(verification) = &r.verification else {
                continue;
            };
            let count = |s: Status| verification.tasks.iter().filter(|t| t.status == s).count();
            let (failed, skipped) = (count(Status::Failed), count(Status::Skipped));
            if failed + skipped > 0 {
                say!(
                    "verification in {}: {} tasks: {} ok, {failed} failed, {skipped} skipped",
                    r.env,
                    verification.tasks.len(),
                    count(Status::Ok)
                );
            }
        }
    }
    print_incomplete(&report);
    for r in &release {
        if !r.recorded.is_empty() {
            say!(
                "release lock of {}: recorded {} (environments/{}/release.lock.toml; commit it)",
                r.env,
                r.recorded.join(", "),
                r.env
            );
        }
        for (label, checks) in &r.failed_checks {
            say!(
                "release lock of {}: {label} recorded with failed checks: {} (what was applied stays applied; a promotion whose gates require these checks holds it back)",
                r.env,
                checks.join(", ")
            );
        }
        if !r.removed.is_empty() {
            say!(
                "release lock of {}: removed {} (destroyed, or no longer delivered)",
                r.env,
                r.removed.join(", ")
            );
        }
        if let Some(dir) = &r.delivered {
            say!(
                "GitOps output of {}: {dir} (commit it with the lock)",
                r.env
            );
        }
        for (label, why) in &r.not_recorded {
            say!("release lock of {}: {label} not recorded: {why}", r.env);
        }
    }
    Ok(if report.interrupted {
        130
    } else if report.ok {
        0
    } else {
        1
    })
}

/// Whether a report can be written at `path`: its directory exists and takes a new file.
/// A run that stops on an error after it started in its environments: each one's ledger
/// says so (see [`strata_release::started::Running::ended_with_error`]); the error, to
/// return.
fn ended_with_error(
    session: &strata_graph::session::Session,
    running: std::collections::BTreeMap<String, strata_release::started::Running>,
    error: Error,
) -> Error {
    for record in running.into_values() {
        record.ended_with_error(session, &error.to_string());
    }
    error
}

fn check_writable(path: &std::path::Path) -> Result<()> {
    if path.is_dir() {
        return Err(Error::Invalid {
            message: format!("{} is a directory", path.display()),
            location: strata_graph::error::Location::new("command line", None),
            hint: "give the path of a file to write the report to".into(),
        });
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => std::path::Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(|e| Error::write(path, e))?;
    strata_fs::temp_file_in(dir)
        .map(drop)
        .map_err(|e| Error::write(path, e))
}

/// A report (JUnit, Markdown, SARIF) written whole or not at all: a disk that fills up
/// leaves the previous one, never a truncated file a CI system would read.
fn write_file(path: &PathBuf, text: &str) -> Result<()> {
    strata_fs::write_atomic(path, text.as_bytes()).map_err(|e| Error::write(path, e))
}

/// Progress on a terminal, one line per finished task otherwise. Talk goes to stderr.
pub(crate) struct Printer {
    bar: Option<ProgressBar>,
    verbose: bool,
    quiet: bool,
    counts: Mutex<(usize, usize, usize)>,
    total: AtomicUsize,
    auto_approve: bool,
    /// One question at a time.
    asking: Mutex<()>,
}

impl Printer {
    pub(crate) fn new(verbose: bool, json: bool) -> Printer {
        let bar = (std::io::stderr().is_terminal() && !json).then(|| {
            let bar = ProgressBar::new(0);
            bar.set_style(
                ProgressStyle::with_template("{spinner} [{pos}/{len}] {msg}  ({prefix})")
                    .expect("template"),
            );
            bar.set_prefix("0 cached, 0 failed");
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Printer {
            bar,
            verbose,
            quiet: json,
            counts: Mutex::new((0, 0, 0)),
            total: AtomicUsize::new(0),
            auto_approve: false,
            asking: Mutex::new(()),
        }
    }

    fn line(&self, text: &str) {
        match &self.bar {
            // As `say!` writes it: nothing a label or a log holds rewrites the line.
            Some(bar) => bar.println(strata_graph::text::plain(text)),
            None => say!("{text}"),
        }
    }

    pub(crate) fn done(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn describe(label: &str, action: Action, env: Option<&str>) -> String {
    match env {
        Some(env) => format!("{label} {action} [{env}]"),
        None => format!("{label} {action}"),
    }
}

fn detail(r: &TaskReport) -> String {
    match (r.status, r.summary.plan(), r.summary.render()) {
        (Status::Ok, Some(p), _) => format!("  +{} ~{} -{}", p.add, p.change, p.destroy),
        (Status::Ok, _, Some(render)) => format!(
            "  {} object{}",
            render.objects,
            if render.objects == 1 { "" } else { "s" }
        ),
        _ => String::new(),
    }
}

impl Observer for Printer {
    fn planned(&self, tasks: usize) {
        // A command may run several times in a row (apply, then its verification): each
        // run counts from zero.
        self.total.store(tasks, Ordering::SeqCst);
        if let Some(bar) = &self.bar {
            bar.set_length(tasks as u64);
            bar.set_position(0);
        }
    }

    fn started(&self, label: &str, action: Action, env: Option<&str>) {
        if let Some(bar) = &self.bar {
            bar.set_message(describe(label, action, env));
        }
    }

    fn finished(&self, r: &TaskReport) {
        {
            let mut c = self.counts.lock().expect("counts");
            match r.status {
                Status::Ok if r.cached => c.1 += 1,
                Status::Failed => c.2 += 1,
                _ => {}
            }
            c.0 += 1;
            if let Some(bar) = &self.bar {
                bar.set_position(c.0 as u64);
                bar.set_prefix(format!("{} cached, {} failed", c.1, c.2));
            }
        }
        if self.quiet {
            return;
        }
        let status = match r.status {
            Status::Ok if r.cached && r.remote => "cached (remote)",
            Status::Ok if r.cached => "cached",
            Status::Ok => "ok",
            Status::Failed => "FAILED",
            Status::Skipped => "skipped",
        };
        let mut text = format!(
            "{status:<15} {}{}{}",
            describe(&r.label, r.action, r.env.as_deref()),
            detail(r),
            if r.provisional {
                "  (provisional: an upstream stack has pending changes)"
            } else {
                ""
            }
        );
        if r.status == Status::Ok && !r.cached {
            text.push_str(&format!("  {:.1}s", r.duration_ms as f64 / 1000.0));
        }
        // An ok task with a reason did nothing, and says why ("nothing to destroy").
        if let Some(reason) = &r.reason {
            text.push_str(&format!("  ({reason})"));
        }
        self.line(&text);
        if self.verbose && !r.log.is_empty() {
            self.line(r.log.trim_end());
        } else if r.status == Status::Ok {
            // A warning (an undeclared variable in a tfvars file, a deprecated argument)
            // is easy to miss when only failures show their output: each is named. Only
            // terraform's diagnostics, in their box (`│ Warning: ...`), not a value of the
            // plan that happens to read so.
            for title in strata_exec::terraform::warnings(&r.log) {
                self.line(&format!(
                    "  warning: {}  (-v shows the whole output)",
                    title.trim()
                ));
            }
        }
    }

    fn warn(&self, message: &str) {
        self.line(message);
    }

    fn approve(&self, request: &strata_run::Approval) -> bool {
        if self.auto_approve {
            // A plan that differs from the reviewed one under the same key is never applied
            // unattended.
            return request.matches_reviewed != Some(false);
        }
        let _one = self.asking.lock().unwrap_or_else(|e| e.into_inner());
        let ask = || {
            let p = request.plan;
            say!(
                "\n{} [{}]: +{} ~{} -{}",
                request.label,
                request.env,
                p.add,
                p.change,
                p.destroy
            );
            for line in strata_run::report::resource_lines(p) {
                say!("  {line}");
            }
            match request.matches_reviewed {
                Some(true) => say!("(the same changes as the plan made under this key before)"),
                Some(false) => say!("WARNING: these changes differ from the plan made under the same key before (the one reviewed): the infrastructure changed outside terraform?"),
                None => {}
            }
            if request.destroy {
                crate::output::write_stderr(&format!(
                    "DESTROY every resource of {} in {}? Only 'yes' destroys: ",
                    request.label, request.env
                ));
            } else {
                crate::output::write_stderr(&format!(
                    "Apply {} in {}? Only 'yes' applies: ",
                    request.label, request.env
                ));
            }
            crate::output::read_answer().is_some_and(|answer| answer.trim() == "yes")
        };
        match &self.bar {
            Some(bar) => bar.suspend(ask),
            None => ask(),
        }
    }
}

/// Findings grouped by target, with file and line.
fn print_findings(tasks: &[&TaskReport]) {
    for t in tasks {
        let env = t
            .env
            .as_deref()
            .map(|e| format!(" [{e}]"))
            .unwrap_or_default();
        let status = match t.status {
            Status::Ok => "pass",
            Status::Failed => "FAIL",
            Status::Skipped => "skipped",
        };
        crate::out!("{}{env}: {status}", t.label);
        if let Some(reason) = t.reason.as_ref().filter(|_| t.status == Status::Skipped) {
            crate::out!("  ({reason})");
        }
        if t.log.is_empty() {
            let findings = t.summary.policy().map(|p| p.findings.as_slice());
            for f in findings.unwrap_or_default() {
                let at = match (&f.file, f.line) {
                    (Some(file), Some(line)) => format!(" {file}:{line}"),
                    (Some(file), None) => format!(" {file}"),
                    _ => String::new(),
                };
                let outcome = match f.outcome {
                    strata_policy::Outcome::Deny => "deny",
                    strata_policy::Outcome::Warn => "warn",
                    strata_policy::Outcome::Unknown => "unknown",
                };
                crate::out!("  {:<7} {}{at}: {}", outcome, f.severity, f.msg);
            }
        } else {
            for line in t.log.lines() {
                crate::out!("  {line}");
            }
        }
    }
}

/// What was asked for and did not run, on stderr: the run is not a success because of it
/// unless `--allow-incomplete` accepted it.
fn print_incomplete(report: &strata_run::RunReport) {
    if report.incomplete.is_empty() {
        return;
    }
    // The flag accepts tasks that did not run, never a failure or an interruption: it is
    // offered only when it would make the run a success.
    let failed = report.tasks.iter().any(|t| t.status == Status::Failed);
    let verdict = if report.allow_incomplete {
        "accepted with --allow-incomplete"
    } else if failed || report.interrupted {
        "so the run is not a success"
    } else {
        "so the run is not a success (--allow-incomplete accepts that)"
    };
    say!(
        "{} task(s) did not run, {verdict}:",
        report.incomplete.len()
    );
    for t in &report.incomplete {
        say!(
            "  {}: {}",
            describe(&t.label, t.action, t.env.as_deref()),
            t.reason
        );
    }
}

fn print_summary(tasks: &[TaskReport], elapsed: Duration, verbose: bool) {
    let ok = tasks.iter().filter(|t| t.status == Status::Ok).count();
    let cached = tasks.iter().filter(|t| t.cached).count();
    let failed: Vec<&TaskReport> = tasks
        .iter()
        .filter(|t| t.status == Status::Failed)
        .collect();
    let skipped = tasks.iter().filter(|t| t.status == Status::Skipped).count();
    if !verbose {
        for t in &failed {
            if t.log.is_empty() {
                continue;
            }
            say!(
                "\n--- {} ---",
                describe(&t.label, t.action, t.env.as_deref())
            );
            say!("{}", strata_run::report::tail(&t.log, 40));
        }
    }
    say!(
        "\n{} tasks: {ok} ok ({cached} cached), {} failed, {skipped} skipped in {:.1}s",
        tasks.len(),
        failed.len(),
        elapsed.as_secs_f64()
    );
}

/// `STRATA_REMOTE_CACHE_READ_ONLY` set (to anything but empty, `0` or `false`): every command
/// reads the remote cache and never writes it, whatever WORKSPACE.toml (which a pull
/// request can change) says. For jobs that run untrusted code.
pub(crate) fn read_only_from_env() -> bool {
    std::env::var("STRATA_REMOTE_CACHE_READ_ONLY")
        .is_ok_and(|v| !matches!(v.trim(), "" | "0" | "false"))
}

#[cfg(test)]
mod tests {
    use super::parse_shard;

    #[test]
    fn shards_are_bounded_as_ci_matrix_lists_them() {
        let s = parse_shard("2/4").unwrap();
        assert_eq!((s.index, s.of), (2, 4));
        assert!(parse_shard("65535/65535").is_ok());
        // One slot is kept per shard: a huge OF allocated gigabytes or panicked.
        for bad in [
            "1/65536",
            "1/18446744073709551615",
            "0/2",
            "3/2",
            "1/0",
            "x/2",
        ] {
            let why = parse_shard(bad)
                .err()
                .unwrap_or_else(|| panic!("{bad} accepted"));
            assert!(why.contains("OF <= 65535"), "{why}");
        }
    }
}
