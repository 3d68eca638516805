//! `strata show LABEL --env E`: a cached plan in full.
use crate::say;

use super::Context;
use crate::output::print_json;
use strata_graph::Result;
use strata_run::RemoteOptions;

#[derive(clap::Args)]
pub struct Args {
    /// The stack.
    label: String,
    #[arg(long = "env", short = 'e')]
    env: String,
    /// Also look in a shared HTTP cache (default: WORKSPACE.toml [cache] remote).
    #[arg(long, value_name = "URL")]
    remote_cache: Option<String>,
}

pub fn run(ctx: &Context, args: Args) -> Result<u8> {
    let session = ctx.session()?;
    let view = session.work_tree()?;
    let remote = args
        .remote_cache
        .or_else(|| session.config.cache.remote.clone())
        .map(|url| RemoteOptions {
            url,
            read_only: true,
            required: false,
        });
    let plan = strata_run::show::show_plan(&session, &view, &args.label, &args.env, remote)?;
    for warning in &plan.warnings {
        say!("{warning}");
    }
    if ctx.json {
        print_json(&plan);
    } else {
        crate::output::write_stdout(&strata_run::show::render(&plan));
    }
    Ok(0)
}
