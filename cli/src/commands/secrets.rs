//! `strata secrets`: encrypted secrets files (see docs/security.md#secrets-files).
use crate::say;

use super::Context;
use std::path::PathBuf;
use strata_graph::Result;
use strata_run::secrets::{self, Edited, SecretsPath};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Encrypt a plain secrets file in place, for its environment's `[secrets] recipients`
    /// (env.toml) and any --recipient.
    Encrypt {
        file: PathBuf,
        /// Another age (`age1…`) or SSH public key to encrypt for.
        #[arg(long = "recipient", short = 'r', value_name = "KEY")]
        recipients: Vec<String>,
    },
    /// Print the plain text of a secrets file (it then is on your terminal: prefer `edit`).
    Decrypt {
        file: PathBuf,
        /// `toml` (the file's own text), or `yaml`: the values as one YAML values document,
        /// what the Secret `<env>-<chart>-inputs` holds under `values.yaml` for flux-helm.
        #[arg(long, value_enum, default_value = "toml")]
        format: DecryptFormat,
        /// An age identity file or an unencrypted SSH private key (default: STRATA_AGE_KEY,
        /// STRATA_AGE_KEY_FILE, ~/.config/strata/age/keys.txt).
        #[arg(long = "identity", short = 'i', value_name = "PATH")]
        identities: Vec<PathBuf>,
    },
    /// Change (or create) a secrets file in $VISUAL or $EDITOR; unchanged values keep their
    /// encrypted form, so the diff names the keys that changed.
    Edit {
        file: PathBuf,
        #[arg(long = "identity", short = 'i', value_name = "PATH")]
        identities: Vec<PathBuf>,
        /// For a new file: another public key to encrypt for.
        #[arg(long = "recipient", short = 'r', value_name = "KEY")]
        recipients: Vec<String>,
    },
    /// Draw a new data key and encrypt every value again (after a key may have leaked).
    Rotate {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[arg(long = "identity", short = 'i', value_name = "PATH")]
        identities: Vec<PathBuf>,
        #[arg(long = "recipient", short = 'r', value_name = "KEY")]
        recipients: Vec<String>,
    },
    /// Encrypt the data key for the environment's current recipients (after env.toml's
    /// `[secrets] recipients` changed); the values stay as they are.
    Updatekeys {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[arg(long = "identity", short = 'i', value_name = "PATH")]
        identities: Vec<PathBuf>,
        #[arg(long = "recipient", short = 'r', value_name = "KEY")]
        recipients: Vec<String>,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum DecryptFormat {
    Toml,
    Yaml,
}

pub fn run(ctx: &Context, cmd: Command) -> Result<u8> {
    let root = strata_graph::workspace::find_root(&ctx.dir)?;
    let cwd = std::env::current_dir().map_err(|e| strata_graph::Error::io(".", e))?;
    let base = if ctx.dir.is_absolute() {
        ctx.dir.clone()
    } else {
        cwd.join(&ctx.dir)
    };
    let path = |file: &PathBuf| SecretsPath::new(&root, &base, file);
    match cmd {
        Command::Encrypt { file, recipients } => {
            let file = path(&file)?;
            let done = secrets::encrypt(&root, &file, &recipients)?;
            if let Some(newest) = done.plain_in_history.first() {
                say!(
                    "warning: {} is in clear text in {} commit(s) of this repository (the newest {}): encrypting it does not take it out of them. Change these secrets (new passwords, new tokens) with `strata secrets edit {}`.",
                    done.file,
                    done.plain_in_history.len(),
                    &newest[..newest.len().min(12)],
                    done.file
                );
            }
            if ctx.json {
                crate::output::print_json(&done);
            } else {
                crate::out!("encrypted {} for {}", done.file, done.recipients.join(", "));
            }
        }
        Command::Decrypt {
            file,
            format,
            identities,
        } => {
            let file = path(&file)?;
            let text = match format {
                DecryptFormat::Toml => secrets::decrypt(&file, &identities)?,
                DecryptFormat::Yaml => {
                    strata_gitops::values_document(&secrets::decrypt_values(&file, &identities)?)
                }
            };
            crate::output::write_stdout(&text);
        }
        Command::Edit {
            file,
            identities,
            recipients,
        } => {
            let file = path(&file)?;
            let editor = std::env::var("VISUAL")
                .ok()
                .or_else(|| std::env::var("EDITOR").ok())
                .filter(|e| !e.trim().is_empty())
                .unwrap_or_else(|| "vi".into());
            // Ctrl-C belongs to the editor; strata then removes the plain text.
            let _ = ctrlc::set_handler(|| {});
            let interactive = std::io::IsTerminal::is_terminal(&std::io::stdin());
            let edited = secrets::edit(
                &file,
                &|| secrets::identities(&identities),
                &|extra| secrets::recipients_for(&root, &file, extra),
                &recipients,
                &editor,
                &|e| {
                    if !interactive {
                        return false;
                    }
                    crate::output::print_error(e);
                    say!("press Enter to edit it again, Ctrl-D to give up");
                    let mut line = String::new();
                    matches!(std::io::stdin().read_line(&mut line), Ok(n) if n > 0)
                },
            )?;
            let (what, rotated) = match edited {
                Edited::Saved { rotated } => ("saved", rotated),
                Edited::Unchanged => ("unchanged", false),
            };
            if ctx.json {
                crate::output::print_json(
                    &serde_json::json!({"file": file.rel, "result": what, "rotated": rotated}),
                );
            } else if rotated {
                crate::out!(
                    "{}: saved for the environment's recipients of now; one it was encrypted for is no longer listed, so the file has a new data key and every value is encrypted again",
                    file.rel
                );
            } else {
                crate::out!("{}: {what}", file.rel);
            }
        }
        Command::Rotate {
            files,
            identities,
            recipients,
        } => {
            let files = files.iter().map(path).collect::<Result<Vec<_>>>()?;
            let done = secrets::rotate(&root, &files, &identities, &recipients)?;
            print_rekeyed(ctx, &done, "rotated");
        }
        Command::Updatekeys {
            files,
            identities,
            recipients,
        } => {
            let files = files.iter().map(path).collect::<Result<Vec<_>>>()?;
            let done = secrets::update_keys(&root, &files, &identities, &recipients)?;
            print_rekeyed(ctx, &done, "re-encrypted the data key of");
        }
    }
    Ok(0)
}

/// Prints what `rotate` or `updatekeys` did to each file.
fn print_rekeyed(ctx: &Context, done: &[secrets::Rekeyed], verb: &str) {
    if ctx.json {
        crate::output::print_json(&serde_json::json!({ "files": done }));
        return;
    }
    for r in done {
        if r.changed && r.rotated && verb != "rotated" {
            crate::out!(
                "rotated {} for {}: a recipient was removed, so the file has a new data key and every value is encrypted again (the removed key can still read the values as they were: change the secrets themselves if that key may have leaked)",
                r.file,
                r.recipients.join(", ")
            );
        } else if r.changed {
            crate::out!("{verb} {} for {}", r.file, r.recipients.join(", "));
        } else {
            crate::out!(
                "{}: already encrypted for {}",
                r.file,
                r.recipients.join(", ")
            );
        }
    }
}
