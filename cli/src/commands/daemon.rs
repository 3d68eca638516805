use super::Context;
use crate::output::print_json;
use crate::say;
use std::time::Duration;
use strata_daemon::client::{self, Started, State, Stopped};
use strata_graph::workspace::find_root;
use strata_graph::Result;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Start the workspace's daemon in the background (if none runs).
    Start(IdleArgs),
    /// Run the daemon in the foreground (for a service manager).
    Run(IdleArgs),
    /// Stop the workspace's daemon (with signals when it does not answer).
    Stop,
    /// Say whether a daemon serves the workspace, and what it has done.
    Status,
}

#[derive(clap::Args)]
pub struct IdleArgs {
    /// Stop after this many minutes without a request.
    #[arg(long, default_value_t = 180)]
    idle_minutes: u64,
}

pub fn run(ctx: &Context, command: Command) -> Result<u8> {
    let root = find_root(&ctx.dir)?;
    match command {
        Command::Run(args) => {
            let idle = Duration::from_secs(args.idle_minutes * 60);
            strata_daemon::serve(&root, idle, &|socket| {
                say!(
                    "strata daemon: serving {} on {}",
                    root.display(),
                    socket.display()
                );
            })?;
            Ok(0)
        }
        Command::Start(args) => match client::start(&root, args.idle_minutes)? {
            Started::Already(status) => {
                if ctx.json {
                    print_json(&serde_json::json!({"started": false, "daemon": status}));
                }
                say!(
                    "strata daemon pid {} already serves {}",
                    status.pid,
                    status.root
                );
                Ok(0)
            }
            Started::Serving(status) => {
                if ctx.json {
                    print_json(&serde_json::json!({"started": true, "daemon": status}));
                }
                say!("strata daemon pid {} serves {}", status.pid, status.root);
                Ok(0)
            }
            Started::Stuck(unresponsive) => {
                say!(
                    "error: {unresponsive}; it runs but does not respond (stopped or stuck), \
                     so no other daemon can start\n\
                     hint: `strata daemon stop` ends it"
                );
                Ok(1)
            }
            Started::Exited { status, log } => {
                say!("strata daemon exited ({status}):\n{log}");
                Ok(2)
            }
            Started::TimedOut { log } => {
                say!(
                    "strata daemon did not answer within 5 minutes; see {}",
                    log.display()
                );
                Ok(1)
            }
        },
        Command::Stop => {
            let stopped = client::stop(&root)?;
            if ctx.json {
                let how = match &stopped {
                    Stopped::Asked => "asked",
                    Stopped::Signalled { killed: true, .. } => "killed",
                    Stopped::Signalled { .. } => "terminated",
                    Stopped::NotRunning => "not_running",
                };
                print_json(&serde_json::json!({"stopped": how}));
            }
            match stopped {
                Stopped::Asked => say!("strata daemon stopped"),
                Stopped::Signalled { why, killed, .. } => {
                    if killed {
                        say!(
                            "{why}; it was still there {}s after SIGTERM: killed it (SIGKILL)",
                            client::TERM_GRACE.as_secs()
                        );
                    } else {
                        say!("{why}; stopped it (SIGTERM)");
                    }
                }
                Stopped::NotRunning => say!("no strata daemon serves {}", root.display()),
            }
            Ok(0)
        }
        Command::Status => status(ctx, &root),
    }
}

fn status(ctx: &Context, root: &std::path::Path) -> Result<u8> {
    match client::status(root) {
        State::Serving(status) => {
            if ctx.json {
                print_json(&status);
            } else if status.ready {
                say!(
                    "strata daemon pid {} serves {} (up {} s, {} requests, {} full reads{})",
                    status.pid,
                    status.root,
                    status.uptime_seconds,
                    status.requests,
                    status.full_reads,
                    status.memory.map(memory_words).unwrap_or_default()
                );
            } else {
                say!(
                    "strata daemon pid {} is starting for {}: it reads the work tree \
                     (until then `strata affected` answers by itself)",
                    status.pid,
                    status.root
                );
            }
            Ok(0)
        }
        State::OtherBuild { build } => {
            say!("a daemon from another strata build ({build}) was running; it stops now");
            Ok(1)
        }
        State::NotResponding(unresponsive) => {
            if ctx.json {
                print_json(&serde_json::json!({
                    "pid": unresponsive.pid,
                    "root": root.display().to_string(),
                    "responding": false,
                }));
            }
            say!(
                "{unresponsive}; it runs for {} but does not respond (stopped or stuck), and \
                 `strata affected` answers by itself meanwhile\n\
                 hint: `strata daemon stop` ends it",
                root.display()
            );
            Ok(1)
        }
        State::NotRunning { failed } => {
            if ctx.json {
                crate::out!("null");
            }
            say!("no strata daemon serves {}", root.display());
            if let Some(error) = failed {
                say!(
                    "the last one failed: {error}\n(`strata affected` starts none for \
                     an hour after that; `strata daemon start` tries again)"
                );
            }
            Ok(1)
        }
    }
}

/// ", 74 MiB resident (52 MiB in use)": what a daemon's memory comes to.
fn memory_words(memory: strata_daemon::Memory) -> String {
    let mib = |kib: u64| format!("{:.0} MiB", kib as f64 / 1024.0);
    match memory.heap_in_use_kib {
        Some(used) => format!(
            ", {} resident ({} in use)",
            mib(memory.resident_kib),
            mib(used)
        ),
        None => format!(", {} resident", mib(memory.resident_kib)),
    }
}
