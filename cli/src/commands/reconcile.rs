//! `strata reconcile --env E [LABEL...]`: puts an environment back to what its release lock
//! says.

use super::Context;
use crate::commands::run::Printer;
use crate::output::print_json;
use crate::say;
use std::io::IsTerminal;
use strata_graph::error::{Error, Location};
use strata_graph::Result;
use strata_run::task::Mode;
use strata_run::{Observer, RunOptions};

#[derive(clap::Args)]
pub struct Args {
    /// Stacks or charts of the environment's release lock (default: all of them); the
    /// stacks they read are put back too.
    labels: Vec<String>,
    #[arg(long = "env", short = 'e')]
    env: String,
    /// Apply every plan with changes without asking (each is the lock entry's reviewed
    /// code; the changes undo what was done outside it).
    #[arg(long)]
    auto_approve: bool,
    /// Parallel tool runs within a stack's tasks (default: the number of CPUs).
    #[arg(short = 'j', long)]
    jobs: Option<std::num::NonZeroUsize>,
    #[arg(long, short = 'v')]
    verbose: bool,
}

pub fn run(ctx: &Context, args: Args) -> Result<u8> {
    if !args.auto_approve && !std::io::stdin().is_terminal() {
        return Err(Error::Invalid {
            message: "reconcile asks before it applies a plan, and there is no terminal to ask on".into(),
            location: Location::new("command line", None),
            hint: "run it on a terminal, or pass --auto-approve (after `strata drift` showed what it undoes)".into(),
        });
    }
    let session = ctx.session()?;
    let view = session.work_tree()?;
    view.model.check_settings()?;
    strata_run::resolve_envs(&view.model, std::slice::from_ref(&args.env))?;
    if let Err(refusal) = strata_release::may_apply(&view.model, &session, &args.env)? {
        say!("strata: {refusal}");
        return Ok(1);
    }
    // A run here that strata did not live to record goes into the ledger first.
    for left in strata_release::started::record_left_behind(&session, &args.env)? {
        say!(
            "warning: {}; it is now in environments/{}/audit.jsonl (outcome interrupted)",
            strata_release::started::describe(&left),
            args.env
        );
    }
    session.finish();
    let mut opts = RunOptions {
        mode: Mode::Apply,
        ..crate::commands::gitops::run_options(ctx, &session)
    };
    if let Some(j) = args.jobs {
        opts.jobs = j.get();
    }
    // The command is one operation: an interrupt from here on cancels it.
    let _operation = strata_exec::process::operation();
    let _ = ctrlc::set_handler(strata_exec::process::cancel_all);
    strata_exec::reaper::supervise();
    let printer = Printer::new(args.verbose, ctx.json);
    let approving = strata_release::verify::Approving(&printer);
    let observer: &dyn Observer = if args.auto_approve {
        &approving
    } else {
        &printer
    };
    let done = strata_release::reconcile::reconcile(
        &session,
        &view,
        &args.env,
        &args.labels,
        &opts,
        observer,
    )?;
    printer.done();
    if ctx.json {
        let mut value = serde_json::to_value(&done).expect("results serialize");
        value["ok"] = done.ok().into();
        print_json(&value);
    } else {
        crate::output::write_text(&done.text());
    }
    Ok(if done.interrupted {
        130
    } else if done.ok() {
        0
    } else {
        1
    })
}
