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

    /// Do not read or write strata's caches (parsed-file facts and task results).
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
    Check(commands::run::CheckArgs),
    /// Plan stacks (and render charts) in one environment.
    Plan(commands::run::CheckArgs),
    /// Apply stacks in one environment, in dependency order.
    Apply(commands::run::ApplyArgs),
    /// Destroy stacks in one environment (dependents first), after confirmation.
    Destroy(commands::run::DestroyArgs),
    /// Whether what runs in an environment is what its release lock says (exit 2: drift).
    Drift(commands::drift::Args),
    /// Put an environment back to what its release lock says (after unwanted drift).
    Reconcile(commands::reconcile::Args),
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

/// The exit code of a command line that did not parse: 0 for `--help` and `--version`, 2
/// for bad input, but 1 for `drift`, whose 2 means "drift found" (a mistyped flag must not
/// read as drift in a pipeline).
fn usage_exit_code(err: &clap::Error, args: impl Iterator<Item = String>) -> u8 {
    if !err.use_stderr() {
        return 0;
    }
    usage_exit_code_for(args)
}

/// The exit code of bad input found before a command ran: 2, but 1 for `drift`.
fn usage_exit_code_for(mut args: impl Iterator<Item = String>) -> u8 {
    let mut command = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-C" | "--directory" => {
                args.next();
            }
            a if a.starts_with('-') => {}
            a => {
                command = Some(a.to_string());
                break;
            }
        }
    }
    if command.as_deref() == Some("drift") {
        1
    } else {
        2
    }
}

/// The stack of each worker thread: reading the graph follows module calls depth first, and
/// a chain of thousands of modules needs more than the 2 MiB a thread gets by default.
/// Reserved, not used: memory is taken only as deep as a walk goes.
const WORKER_STACK: usize = 256 << 20;

fn main() -> ExitCode {
    strata_daemon::return_large_blocks();
    let _ = rayon::ThreadPoolBuilder::new()
        .stack_size(WORKER_STACK)
        .build_global();
    trace::init();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return ExitCode::from(usage_exit_code(&err, std::env::args().skip(1)));
        }
    };
    // A date that fixes "today" for waivers must be one: a typo would silently use the real
    // date, and a run meant to be reproducible would not be.
    if let Some(bad) = std::env::var_os("STRATA_TODAY").filter(|v| {
        !v.is_empty()
            && v.to_str()
                .and_then(strata_graph::model::waivers::parse_date)
                .is_none()
    }) {
        say!(
            "error: STRATA_TODAY={} is not a date\nhint: write it as YYYY-MM-DD (2026-12-31), or unset it to use today's date",
            bad.to_string_lossy()
        );
        return ExitCode::from(usage_exit_code_for(std::env::args().skip(1)));
    }
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
        Command::Reconcile(args) => commands::reconcile::run(&ctx, args),
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
        // An error after Ctrl-C is the interrupt's doing (a tool that was not started, an
        // editor that was stopped): exit 130, saying so, not a hint about broken tools.
        Err(err) if strata_exec::process::is_cancelled() => {
            say!("strata: interrupted ({err})");
            ExitCode::from(130)
        }
        Err(err) => {
            output::print_error(&err);
            ExitCode::from(err.exit_code() as u8)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(line: &[&str]) -> u8 {
        let args = || line.iter().map(|a| a.to_string());
        let err = match Cli::try_parse_from(std::iter::once("strata".to_string()).chain(args())) {
            Ok(_) => panic!("{line:?} parsed"),
            Err(err) => err,
        };
        usage_exit_code(&err, args())
    }

    #[test]
    fn a_usage_error_is_bad_input_except_for_drift_where_2_means_drift() {
        assert_eq!(code(&["check", "--no-such-flag"]), 2);
        assert_eq!(code(&["drift", "--env", "dev", "--keep-goin"]), 1);
        assert_eq!(code(&["-C", "drift", "drift", "--bogus"]), 1);
        assert_eq!(code(&["-C", "drift", "list", "--bogus"]), 2);
        assert_eq!(code(&["--json", "drift"]), 1, "drift without --env");
        assert_eq!(code(&["--help"]), 0);
        assert_eq!(code(&["plan", "--allow-destroy", "--env", "dev"]), 2);
        assert_eq!(
            code(&["destroy", "--env", "dev"]),
            2,
            "destroy names its stacks"
        );
    }
}
