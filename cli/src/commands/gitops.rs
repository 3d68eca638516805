//! `strata gitops render --env E --out DIR [--format F]`: an environment's GitOps output.
use crate::say;

use super::Context;
use crate::commands::run::Printer;
use crate::output::print_json;
use std::path::PathBuf;
use strata_graph::Result;
use strata_release::delivery;
use strata_run::task::Mode;
use strata_run::{RemoteOptions, RunOptions};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Render the charts deployed in an environment and write them with the Argo CD or
    /// Flux objects that deliver them, ordered by the graph.
    Render(RenderArgs),
}

#[derive(clap::Args)]
pub struct RenderArgs {
    #[arg(long = "env", short = 'e')]
    env: String,
    /// The directory to write (replaced whole; strata refuses one it did not write).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// argocd, argocd-appset, flux-kustomize or flux-helm (default: [gitops] format, else argocd).
    #[arg(long)]
    format: Option<String>,
    #[arg(long, short = 'v')]
    verbose: bool,
}

/// The options a run started by a release command uses.
pub fn run_options(ctx: &Context, session: &strata_graph::session::Session) -> RunOptions {
    RunOptions {
        mode: Mode::Plan,
        envs: Vec::new(),
        jobs: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2),
        keep_going: false,
        allow_incomplete: false,
        use_cache: ctx.use_cache,
        remote: session
            .config
            .cache
            .remote
            .clone()
            .map(|url| RemoteOptions {
                url,
                read_only: session.config.cache.remote_read_only
                    || crate::commands::run::read_only_from_env(),
                required: false,
            }),
        state_root: Some(session.root.clone()),
        cache_dir: None,
        deployed: Default::default(),
        env_files_from: None,
        gating: strata_run::task::Gating::Stop,
    }
}

pub fn run(ctx: &Context, cmd: Command) -> Result<u8> {
    let Command::Render(args) = cmd;
    let session = ctx.session()?;
    let view = session.work_tree()?;
    session.finish();
    let opts = run_options(ctx, &session);
    // The command is one operation: an interrupt from here on cancels it.
    let _operation = strata_exec::process::operation();
    let _ = ctrlc::set_handler(strata_exec::process::cancel_all);
    strata_exec::reaper::supervise();
    let printer = Printer::new(args.verbose, ctx.json);
    let (report, output) = delivery::render(
        &session,
        &view,
        &args.env,
        args.format.as_deref(),
        &opts,
        &printer,
    )?;
    printer.done();
    if report.interrupted {
        return Ok(130);
    }
    let output = match output {
        Ok(o) => o,
        Err(why) => {
            for t in report
                .tasks
                .iter()
                .filter(|t| t.status != strata_exec::schedule::Status::Ok)
            {
                say!(
                    "{} {} [{}]: {}",
                    t.label,
                    t.action,
                    args.env,
                    t.reason.as_deref().unwrap_or("failed")
                );
                if !t.log.is_empty() {
                    say!("{}", strata_run::report::tail(&t.log, 20));
                }
            }
            say!("strata: nothing written: {why}");
            // Ctrl-C during the validator: interrupted, not refused.
            return Ok(if strata_exec::process::is_cancelled() {
                130
            } else {
                1
            });
        }
    };
    delivery::write(&args.out, &output)?;
    if ctx.json {
        print_json(&serde_json::json!({
            "env": output.env,
            "format": output.format.as_str(),
            "out": args.out,
            "repository_path": output.path,
            "charts": output.charts,
            "files": output.files.keys().collect::<Vec<_>>(),
        }));
    } else {
        say!(
            "wrote {} file(s) for {} chart(s) of {} ({}) to {}",
            output.files.len(),
            output.charts.len(),
            output.env,
            output.format.as_str(),
            args.out.display()
        );
    }
    Ok(0)
}
