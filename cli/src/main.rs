//! The `strata` command: parses flags, calls the library, prints. Data goes to stdout,
//! messages to stderr.

mod commands;
mod output;
mod trace;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use strata_run::task::Mode;

#[derive(Parser)]
#[command(
    name = "strata",
    version,
    about = "A content-hashed build graph for infrastructure monorepos"
)]
struct Cli {
    /// Run as if started in this directory.
    #[arg(short = 'C', long = "directory", global = true, value_name = "DIR")]
    directory: Option<PathBuf>,

    /// Print machine-readable JSON on stdout.
    #[arg(long, global = true)]
    json: bool,

    /// Do not read or write strata's caches (parsed-file facts).
    #[arg(long, global = true)]
    no_cache: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Adopt an existing repository: find its stacks, modules, charts and environments
    /// and write WORKSPACE.toml with the layout that covers them.
    Init(commands::init::Args),
    /// List targets with their kind, dependencies and environments.
    List(commands::list::Args),
    /// Print the dependency graph.
    Graph(commands::graph::Args),
    /// Print target hashes, or explain what one covers.
    Hash(commands::hash::Args),
    /// List the targets a change affects.
    Affected(commands::affected::Args),
    /// Validate, plan, render and test: every task of the selected targets, cached.
    Check(commands::run::Args),
    /// Plan stacks (and render charts) in one environment.
    Plan(commands::run::Args),
    /// Apply stacks in one environment, in dependency order.
    Apply(commands::run::Args),
    /// Destroy stacks in one environment (dependents first), after confirmation.
    Destroy(commands::run::Args),
    /// Whether what runs in an environment is what its release lock says (exit 2: drift).
    Drift(commands::drift::Args),
    /// GitOps delivery: an environment's rendered charts with Argo CD or Flux objects.
    #[command(subcommand)]
    Gitops(commands::gitops::Command),
    /// Release trains: plan, approve and apply promotions from one environment to the next.
    #[command(subcommand)]
    Promote(commands::promote::Command),
    /// Print the plan made for a stack's current state and code, in full (from the cache).
    Show(commands::show::Args),
    /// The state of a stack in an environment.
    #[command(subcommand)]
    State(commands::state::Command),
    /// Encrypted secrets files: encrypt, decrypt, edit, rotate, updatekeys.
    #[command(subcommand)]
    Secrets(commands::secrets::Command),
    /// The environments' audit ledgers: verify, export, report.
    #[command(subcommand)]
    Audit(commands::audit::Command),
    /// Inspect or prune the local cache.
    #[command(subcommand)]
    Cache(commands::cache::Command),
    /// Policy tools.
    #[command(subcommand)]
    Policy(commands::policy::Command),
    /// Helpers for CI systems.
    #[command(subcommand)]
    Ci(commands::ci::Command),
    /// Check that the pinned tools are installed at the pinned versions.
    Tools(commands::tools::Args),
    /// Internal: stops the tools of a strata run that died (see strata_exec::reaper).
    #[command(name = "__reap", hide = true)]
    Reap,
    /// A resident process that keeps the work tree's graph in memory for `affected`.
    #[cfg(unix)]
    #[command(subcommand)]
    Daemon(commands::daemon::Command),
}

fn main() -> ExitCode {
    trace::init();
    let cli = Cli::parse();
    let ctx = commands::Context {
        dir: cli.directory.unwrap_or_else(|| PathBuf::from(".")),
        json: cli.json,
        use_cache: !cli.no_cache,
    };
    let result = match cli.command {
        Command::Init(args) => commands::init::run(&ctx, args),
        Command::List(args) => commands::list::run(&ctx, args),
        Command::Graph(args) => commands::graph::run(&ctx, args),
        Command::Hash(args) => commands::hash::run(&ctx, args),
        Command::Affected(args) => commands::affected::run(&ctx, args),
        Command::Check(args) => commands::run::run_command(&ctx, args, Mode::Check),
        Command::Plan(args) => commands::run::run_command(&ctx, args, Mode::Plan),
        Command::Apply(args) => commands::run::run_command(&ctx, args, Mode::Apply),
        Command::Destroy(args) => commands::run::run_command(&ctx, args, Mode::Destroy),
        Command::Cache(cmd) => commands::cache::run(&ctx, cmd),
        Command::State(cmd) => commands::state::run(&ctx, cmd),
        Command::Secrets(cmd) => commands::secrets::run(&ctx, cmd),
        Command::Audit(cmd) => commands::audit::run(&ctx, cmd),
        Command::Show(args) => commands::show::run(&ctx, args),
        Command::Promote(cmd) => commands::promote::run(&ctx, cmd),
        Command::Gitops(cmd) => commands::gitops::run(&ctx, cmd),
        Command::Drift(args) => commands::drift::run(&ctx, args),
        Command::Ci(cmd) => commands::ci::run(&ctx, cmd),
        Command::Policy(cmd) => commands::policy::run(&ctx, cmd),
        Command::Tools(args) => commands::tools::run(&ctx, args),
        Command::Reap => {
            strata_exec::reaper::reap(std::io::stdin().lock());
            Ok(0)
        }
        #[cfg(unix)]
        Command::Daemon(cmd) => commands::daemon::run(&ctx, cmd),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            output::print_error(&err);
            ExitCode::from(err.exit_code() as u8)
        }
    }
}
