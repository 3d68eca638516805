//! `strata drift --env E [LABEL...]`: whether what runs is what the release lock says.

use super::Context;
use crate::commands::run::Printer;
use crate::output::print_json;
use std::path::PathBuf;
use strata_graph::error::Error;
use strata_graph::Result;
use strata_run::task::Mode;
use strata_run::RunOptions;

#[derive(clap::Args)]
pub struct Args {
    /// Stacks or charts of the environment's release lock (default: all of them).
    labels: Vec<String>,
    #[arg(long = "env", short = 'e')]
    env: String,
    /// Parallel terraform runs (default: the number of CPUs).
    #[arg(short = 'j', long)]
    jobs: Option<std::num::NonZeroUsize>,
    /// Write the report as Markdown (for an issue or a chat message) to FILE.
    #[arg(long, value_name = "FILE")]
    summary_md: Option<PathBuf>,
    /// Check every stack even after one could not be checked.
    #[arg(long)]
    keep_going: bool,
    #[arg(long, short = 'v')]
    verbose: bool,
}

/// Exit 2 means drift here, as with terraform's `-detailed-exitcode`: an error (bad input
/// included) is "could not check", exit 1, so a job that opens an issue on 2 never does so
/// for a check that did not run.
pub fn run(ctx: &Context, args: Args) -> Result<u8> {
    match check(ctx, args) {
        Ok(code) => Ok(code),
        Err(e) => {
            crate::output::print_error(&e);
            Ok(1)
        }
    }
}

fn check(ctx: &Context, args: Args) -> Result<u8> {
    let session = ctx.session()?;
    let view = session.work_tree()?;
    view.model.check_settings()?;
    session.finish();
    let mut opts = RunOptions {
        mode: Mode::Plan,
        ..crate::commands::gitops::run_options(ctx, &session)
    };
    opts.keep_going = args.keep_going;
    if let Some(j) = args.jobs {
        opts.jobs = j.get();
    }
    // The command is one operation: an interrupt from here on cancels it.
    let _operation = strata_exec::process::operation();
    let _ = ctrlc::set_handler(strata_exec::process::cancel_all);
    strata_exec::reaper::supervise();
    let printer = Printer::new(args.verbose, ctx.json);
    let report =
        strata_release::drift::drift(&session, &view, &args.env, &args.labels, &opts, &printer)?;
    printer.done();
    if let Some(path) = &args.summary_md {
        strata_fs::write_atomic(path, report.markdown().as_bytes())
            .map_err(|e| Error::write(path, e))?;
    }
    if ctx.json {
        print_json(&report);
    } else {
        crate::output::write_text(&report.text());
    }
    // As terraform's -detailed-exitcode: 2 when drift was found.
    Ok(if report.interrupted {
        130
    } else if report.drifted() {
        2
    } else if report.unknown() {
        1
    } else {
        0
    })
}
