//! `strata promote plan|approve|apply|rollback`: release trains.
use crate::say;

use super::Context;
use crate::commands::run::Printer;
use crate::output::{print_json, write_stdout};
use std::path::{Path, PathBuf};
use strata_graph::error::{Error, Location};
use strata_graph::Result;
use strata_release::plan::{Locks, PromotionPlan, Request};
use strata_release::promote::{self, Status};
use strata_run::task::Mode;
use strata_run::RunOptions;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Plan promoting what was verified in one environment into the next: ordered waves,
    /// each target's gates, what is blocked and why.
    Plan(PlanArgs),
    /// Approve a promotion plan: sign its digest with your SSH key.
    Approve(ApproveArgs),
    /// Carry out an approved plan, wave by wave; roll back on failure.
    Apply(ApplyArgs),
    /// Undo what an interrupted or failed promotion of a plan changed.
    Rollback(ApplyArgs),
}

#[derive(clap::Args)]
pub struct PlanArgs {
    #[arg(long)]
    from: String,
    #[arg(long)]
    to: String,
    /// Limit the plan to these targets.
    labels: Vec<String>,
    /// Write the plan (JSON, what approve and apply read) to FILE.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Write the plan as Markdown for the promotion pull request to FILE.
    #[arg(long, value_name = "FILE")]
    summary_md: Option<PathBuf>,
    /// Print a Mermaid diagram of the waves instead of the text plan.
    #[arg(long)]
    mermaid: bool,
    /// Promote removals: targets gone from the source are destroyed in the destination,
    /// and targets new to the destination are destroyed if the promotion rolls back.
    #[arg(long)]
    allow_destroy: bool,
}

#[derive(clap::Args)]
pub struct ApproveArgs {
    /// The plan file (`promote plan --out`).
    file: PathBuf,
    /// The SSH private key to sign with (default: git's user.signingkey, ~/.ssh/id_ed25519).
    #[arg(long, value_name = "PATH")]
    key: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct ApplyArgs {
    /// The plan file (`promote plan --out`).
    file: PathBuf,
    /// Show every task's output.
    #[arg(long, short = 'v')]
    verbose: bool,
}

pub fn run(ctx: &Context, cmd: Command) -> Result<u8> {
    match cmd {
        Command::Plan(args) => plan(ctx, args),
        Command::Approve(args) => approve(ctx, args),
        Command::Apply(args) => apply(ctx, args, false),
        Command::Rollback(args) => apply(ctx, args, true),
    }
}

fn plan(ctx: &Context, args: PlanArgs) -> Result<u8> {
    let session = ctx.session()?;
    let view = session.work_tree()?;
    session.finish();
    let model = &view.model;
    let gates = strata_release::plan::train_step(model, &args.from, &args.to)?;
    let env = model.environment(&args.to).expect("checked");
    let author = strata_release::identity::current(&session.repo)?;
    strata_release::approvals::can_be_met(
        &session.root,
        &env.file,
        gates.approvals,
        &env.config.access.approvers,
        &author,
    )?;
    let locks = Locks::read(&session.root, &args.from, &args.to)?;
    let trail = strata_release::vouch::trail(&session.root, &args.from)?;
    let policy_basis = strata_release::plan::policy_bases(&view, &locks.source, &args.from);
    let head = session.repo.resolve_commit("HEAD")?;
    let destination_files =
        strata_release::env_files::for_promotion(&session, &locks, &args.to, &head)?;
    let request = Request {
        from: &args.from,
        to: &args.to,
        labels: &args.labels,
        allow_destroy: args.allow_destroy,
        author,
        now: strata_release::clock::now(),
        unvouched: &trail.unvouched,
        destroyed: &trail.destroyed,
        policy_basis: &policy_basis,
        destination_files: &destination_files,
    };
    let plan = strata_release::plan::make(model, &locks, &request)?;
    // A plan that could never run is refused before anyone reviews or signs it.
    if let Some(why) = strata_release::promote::missing_commits(&session, &plan)? {
        return Err(Error::Invalid {
            message: why,
            location: strata_graph::error::Location::new(
                format!("environments/{}/release.lock.toml", args.from),
                None,
            ),
            hint: "the source's lock names the commit each target was applied from".into(),
        });
    }
    if let Some(why) = strata_release::promote::unrollable(&session, &plan)? {
        say!("warning: {why}");
    }
    if let Some((record, outcome)) =
        strata_release::promote::unfinished(&session.root, &args.to, &plan.digest)?
    {
        say!(
            "warning: {}",
            strata_release::promote::unfinished_message(&args.to, &record, &outcome)
        );
    }
    if let Some(path) = &args.out {
        write(path, &plan.to_json())?;
    }
    if let Some(path) = &args.summary_md {
        write(path, &plan.markdown())?;
    }
    if ctx.json {
        print_json(&plan);
    } else if args.mermaid {
        write_stdout(&plan.mermaid());
    } else {
        // What approvers read before they sign: no `\r` or escape from a lock's fields (an
        // applier's git e-mail) rewrites a line of it.
        crate::output::write_text(&plan.text());
        if let Some(path) = &args.out {
            if plan.steps().next().is_none() {
                say!(
                    "plan written to {}: it promotes nothing, so there is nothing to sign or apply",
                    path.display()
                );
            } else if plan.approvals > 0 {
                say!(
                    "plan written to {}: sign it as its author with `strata promote approve {}`, have {} other approver(s) run the same, then `strata promote apply {}`",
                    path.display(),
                    path.display(),
                    plan.approvals,
                    path.display()
                );
            } else {
                say!(
                    "plan written to {}: apply it with `strata promote apply {}`",
                    path.display(),
                    path.display()
                );
            }
        }
    }
    Ok(0)
}

fn write(path: &PathBuf, text: &str) -> Result<()> {
    strata_fs::write_atomic(path, text.as_bytes()).map_err(|e| Error::write(path, e))
}

fn approve(ctx: &Context, args: ApproveArgs) -> Result<u8> {
    let session = ctx.session()?;
    let plan = PromotionPlan::read(&args.file)?;
    let key = strata_release::approvals::signing_key(args.key.as_deref(), &session.repo)?;
    let view = session.work_tree()?;
    session.finish();
    let path = strata_release::approvals::approve(&session, &view, &args.file, &plan, &key)?;
    // What the signature counts as is what the apply will find: the key's names in the
    // allowed signers decide, not who this run says it is.
    let approvers = view
        .model
        .environment(&plan.to)
        .map(|env| env.config.access.approvers.clone())
        .unwrap_or_default();
    let counted = strata_release::approvals::count(&session.root, &args.file, &plan, &approvers)?;
    let this = counted
        .iter()
        .find(|c| Path::new(&c.file).file_name() == path.file_name());
    let as_author = this.is_some_and(|c| c.author);
    let useless = !as_author && !this.is_some_and(|c| c.counts);
    if ctx.json {
        print_json(&serde_json::json!({
            "plan": plan.digest,
            "signature": path,
            "author": as_author,
            "counts": this.is_some_and(|c| c.counts),
            "reason": this.and_then(|c| c.reason.clone()),
        }));
        return Ok(u8::from(useless));
    } else if useless {
        say!(
            "signed plan {} ({} -> {}), but the signature in {} counts for nothing: {}",
            &plan.digest[..12],
            plan.from,
            plan.to,
            path.display(),
            this.and_then(|c| c.reason.as_deref()).unwrap_or("")
        );
        return Ok(1);
    } else if as_author {
        say!(
            "signed plan {} ({} -> {}) as its author: signature in {}; it proves who made the plan and is no approval: {} other approver(s) must approve it",
            &plan.digest[..12],
            plan.from,
            plan.to,
            path.display(),
            plan.approvals
        );
    } else {
        say!(
            "approved plan {} ({} -> {}): signature in {}; commit it with the plan",
            &plan.digest[..12],
            plan.from,
            plan.to,
            path.display()
        );
    }
    Ok(0)
}

fn apply(ctx: &Context, args: ApplyArgs, rollback: bool) -> Result<u8> {
    if !args.file.exists() {
        return Err(Error::Invalid {
            message: format!("{} does not exist", args.file.display()),
            location: Location::new("command line", None),
            hint: "pass the file `strata promote plan --out FILE` wrote".into(),
        });
    }
    let session = ctx.session()?;
    // The destination's stacks already recorded there: an apply refuses to create one again
    // it finds no state of. (A plan or lock that cannot be read is the promotion's to
    // report, and to record in the audit ledger.)
    let mut deployed = std::collections::BTreeMap::new();
    if let Ok(plan) = strata_release::plan::PromotionPlan::read(&args.file) {
        if let Ok(lock) = strata_release::lock::ReleaseLock::read(&session.root, &plan.to) {
            deployed.insert(plan.to.clone(), lock.stacks());
        }
    }
    let opts = RunOptions {
        mode: Mode::Apply,
        deployed,
        ..crate::commands::gitops::run_options(ctx, &session)
    };
    // The command is one operation: an interrupt from here on cancels it.
    let _operation = strata_exec::process::operation();
    let _ = ctrlc::set_handler(strata_exec::process::cancel_all);
    strata_exec::reaper::supervise();
    let printer = Printer::new(args.verbose, ctx.json);
    let say = |m: &str| {
        if !ctx.json {
            say!("{m}");
        }
    };
    let context = promote::Context {
        session: &session,
        plan_path: &args.file,
        opts: &opts,
        observer: &printer,
        say: &say,
    };
    let outcome = if rollback {
        promote::rollback(&context)?
    } else {
        promote::apply(&context)?
    };
    if ctx.json {
        print_json(&outcome);
    } else {
        say!("{}", outcome.message);
        for r in outcome.rollback.iter().filter(|r| !r.ok) {
            say!(
                "  rollback of {} failed: {}",
                r.label,
                r.reason.as_deref().unwrap_or("")
            );
        }
    }
    Ok(match outcome.status {
        Status::Applied | Status::RolledBack if rollback => 0,
        Status::Applied => 0,
        Status::Interrupted => 130,
        _ => 1,
    })
}
