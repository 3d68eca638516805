//! `strata audit`: the environments' audit ledgers (see docs/promotion.md#the-audit-trail).
use crate::say;

use super::Context;
use std::io::IsTerminal;
use std::path::PathBuf;
use strata_graph::{Error, Result};
use strata_release::audit;

#[derive(clap::Args)]
pub struct Which {
    /// The environments (default: every environment of the workspace).
    #[arg(long = "env", short = 'e')]
    envs: Vec<String>,
}

#[derive(clap::Subcommand)]
pub enum Command {
    /// Check each ledger's hash chain, and that every release lock entry written since the
    /// ledger began was written by one of its events. Exit 1 when anything does not hold.
    Verify {
        #[command(flatten)]
        which: Which,
        /// Also check that each ledger at REF (the main branch, a release tag) is the start
        /// of the ledger now, line for line: an event rewritten with every hash after it
        /// recomputed, or the newest events cut off, show only this way.
        #[arg(long, value_name = "REF")]
        against: Option<String>,
    },
    /// Print the events, oldest first, as JSON (`--json`) or CSV (one row per target).
    Export {
        #[command(flatten)]
        which: Which,
        /// Only events at or after this time (`2026-12-01` or `2026-12-01T08:00:00Z`, UTC).
        #[arg(long)]
        since: Option<String>,
        /// `json` or `csv` (default: csv, or json with --json).
        #[arg(long)]
        format: Option<String>,
    },
    /// A Markdown report for a reviewer: per environment, every change, who made it, on what
    /// basis, and how it ended; with the result of `verify`.
    Report {
        #[command(flatten)]
        which: Which,
        #[arg(long)]
        since: Option<String>,
        /// Write the report to FILE instead of stdout.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

pub fn run(ctx: &Context, cmd: Command) -> Result<u8> {
    let session = ctx.session()?;
    let view = session.work_tree()?;
    let envs = |which: &Which| -> Result<Vec<String>> {
        if which.envs.is_empty() {
            Ok(view
                .model
                .environments
                .iter()
                .map(|e| e.name.clone())
                .collect())
        } else {
            strata_run::resolve_envs(&view.model, &which.envs)
        }
    };
    let since = |s: &Option<String>| -> Result<Option<i64>> {
        s.as_deref()
            .map(|s| {
                let full = if s.len() == 10 {
                    format!("{s}T00:00:00Z")
                } else {
                    s.to_string()
                };
                strata_release::clock::parse_utc(&full).ok_or_else(|| Error::Usage {
                    message: format!("`--since {s}` is not a UTC date or time"),
                    hint: "use 2026-12-01 or 2026-12-01T08:00:00Z".into(),
                })
            })
            .transpose()
    };
    match cmd {
        Command::Verify { which, against } => {
            let mut verified = audit::verify(&session.root, &envs(&which)?)?;
            if let Some(rev) = &against {
                audit::verify_against(&session, &mut verified, rev, which.envs.is_empty())?;
            }
            let ok = verified.iter().all(|v| v.problems.is_empty());
            if ctx.json {
                crate::output::print_json(&serde_json::json!({"ok": ok, "ledgers": verified}));
            } else {
                for v in &verified {
                    if v.problems.is_empty() && v.events == 0 {
                        crate::out!("{}: {}", v.ledger, v.verdict());
                    } else if v.problems.is_empty() {
                        crate::out!("{}: {} event(s), {}", v.ledger, v.events, v.verdict());
                    } else {
                        crate::out!("{}: {} event(s), {}:", v.ledger, v.events, v.verdict());
                        for p in &v.problems {
                            if p.line == 0 {
                                crate::out!("  release lock: {}", p.message);
                            } else {
                                crate::out!("  line {}: {}", p.line, p.message);
                            }
                        }
                    }
                    for note in &v.notes {
                        crate::out!("  note: {note}");
                    }
                }
            }
            Ok(if ok { 0 } else { 1 })
        }
        Command::Export {
            which,
            since: s,
            format,
        } => {
            let envs = envs(&which)?;
            let events = audit::events(&session.root, &envs, since(&s)?)?;
            // An export of a ledger that does not verify is no evidence: said, and exit 1.
            let verified = audit::verify(&session.root, &envs)?;
            let ok = verified.iter().all(|v| v.problems.is_empty());
            let format = format.unwrap_or_else(|| if ctx.json { "json" } else { "csv" }.into());
            match format.as_str() {
                "json" => crate::output::print_json(
                    &serde_json::json!({"ok": ok, "events": events, "ledgers": verified}),
                ),
                // CSV is data, kept as recorded where it goes to a file or a pipe; on a
                // terminal it is read by people, and a value recorded with escapes (a CI
                // user's name) must not rewrite the screen.
                "csv" if std::io::stdout().is_terminal() => {
                    crate::output::write_text(&audit::csv(&events))
                }
                "csv" => crate::output::write_stdout(&audit::csv(&events)),
                other => {
                    return Err(Error::Usage {
                        message: format!("`--format {other}` is not an export format"),
                        hint: "use json or csv".into(),
                    })
                }
            }
            warn_unverified(&verified);
            Ok(if ok { 0 } else { 1 })
        }
        Command::Report {
            which,
            since: s,
            out,
        } => {
            let envs = envs(&which)?;
            let events = audit::events(&session.root, &envs, since(&s)?)?;
            let verified = audit::verify(&session.root, &envs)?;
            let text = audit::markdown(&events, &verified);
            let ok = verified.iter().all(|v| v.problems.is_empty());
            match &out {
                Some(path) => {
                    strata_fs::write_atomic(path, text.as_bytes())
                        .map_err(|e| Error::io(path, e))?;
                }
                None if !ctx.json => crate::output::write_text(&text),
                None => {}
            }
            if ctx.json {
                // The report is Markdown; JSON carries it whole, with the verification.
                crate::output::print_json(&serde_json::json!({
                    "ok": ok,
                    "ledgers": verified,
                    "out": out.as_ref().map(|p| p.display().to_string()),
                    "markdown": text,
                }));
            }
            warn_unverified(&verified);
            Ok(if verified.iter().all(|v| v.problems.is_empty()) {
                0
            } else {
                1
            })
        }
    }
}

/// On stderr: each ledger that does not verify, so an export or a report of it is not
/// taken for evidence.
fn warn_unverified(verified: &[audit::Verified]) {
    for v in verified.iter().filter(|v| !v.problems.is_empty()) {
        say!(
            "error: {} does not verify ({} problem(s); `strata audit verify` lists them): what was exported from it is not evidence",
            v.ledger,
            v.problems.len()
        );
    }
}
