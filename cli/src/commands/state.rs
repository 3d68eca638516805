//! `strata state`: the state of one stack in one environment.
use crate::say;

use super::Context;
use std::path::PathBuf;
use strata_graph::Result;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Save FILE as the stack's state in the environment's backend: a state terraform could
    /// not save after an apply (strata keeps it and says where), or any state of the same
    /// lineage and a newer serial. Terraform refuses anything else.
    Push {
        label: String,
        #[arg(long = "env", short = 'e')]
        env: String,
        file: PathBuf,
    },
    /// Release a lock a run left on the stack's state in the environment's backend (a run
    /// killed, or cut off from the backend mid-apply): terraform's `force-unlock` with the
    /// lock ID its lock info names. Only once the run that took it is over.
    Unlock {
        label: String,
        #[arg(long = "env", short = 'e')]
        env: String,
        /// The lock's ID (`ID:` in terraform's lock info; strata names it beside the holder).
        id: String,
    },
}

pub fn run(ctx: &Context, cmd: Command) -> Result<u8> {
    match cmd {
        Command::Unlock { label, env, id } => {
            let session = ctx.session()?;
            let view = session.work_tree()?;
            if let Err(refusal) =
                strata_release::audit::unlock_state(&session, &view, &label, &env, &id)?
            {
                say!("strata: {refusal}");
                return Ok(1);
            }
            if ctx.json {
                crate::output::print_json(
                    &serde_json::json!({"ok": true, "label": label, "env": env, "id": id}),
                );
            } else {
                crate::out!("released lock {id} of the state of {label} in {env}");
            }
            Ok(0)
        }
        Command::Push { label, env, file } => {
            // terraform writing the state is never stopped: Ctrl-C waits for it, and the
            // push (and its audit event) is recorded as it ended.
            let _ = ctrlc::set_handler(strata_exec::process::cancel_all);
            let _operation = strata_exec::process::operation();
            let session = ctx.session()?;
            let view = session.work_tree()?;
            let file = if file.is_absolute() {
                file
            } else {
                ctx.dir.join(file)
            };
            let aside =
                match strata_release::audit::push_state(&session, &view, &label, &env, &file)? {
                    Ok(aside) => aside,
                    Err(refusal) => {
                        say!("strata: {refusal}");
                        return Ok(1);
                    }
                };
            if let Some(aside) = &aside {
                say!(
                    "warning: the local state file of {label} in {env} was no state (cut short?): moved aside to {}",
                    aside.display()
                );
            }
            if ctx.json {
                crate::output::print_json(
                    &serde_json::json!({"ok": true, "label": label, "env": env}),
                );
            } else {
                crate::out!("saved the state of {label} in {env}");
            }
            if strata_exec::process::is_cancelled() {
                say!("note: Ctrl-C came while terraform wrote the state: it was let finish, and the push is recorded");
            }
            Ok(0)
        }
    }
}
