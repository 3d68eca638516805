use super::Context;
use crate::output::print_json;
use crate::say;
use strata_graph::affected::{affected, Affected, Reason};
use strata_graph::Result;

#[derive(clap::Args)]
pub struct Args {
    /// Compare against the merge-base with this revision (default: origin/<default_branch>,
    /// else <default_branch>).
    #[arg(long)]
    base: Option<String>,
    /// The revision to inspect (default: the work tree, uncommitted and untracked files
    /// included).
    #[arg(long)]
    head: Option<String>,
    /// Say why each target is affected.
    #[arg(long)]
    explain: bool,
}

pub fn run(ctx: &Context, args: Args) -> Result<u8> {
    let result = match from_daemon(ctx, &args) {
        Asked::Answered(result) => result,
        asked => {
            let session = ctx.session()?;
            let base = args.base.clone().unwrap_or_else(|| session.default_base());
            let result = affected(&session, &base, args.head.as_deref())?;
            // Only where no daemon answered at all: one that declined (another strata
            // build's, which stops) is replaced by `strata daemon start`, not here, so two
            // builds used on one checkout do not restart each other's daemon.
            #[cfg(unix)]
            if matches!(asked, Asked::NoDaemon)
                && daemon_question(ctx, &args) == Some(strata_daemon::client::Use::AskOrStart)
                && strata_daemon::client::autostart(&session.root)
            {
                say!(
                    "strata: started a daemon for this workspace; later runs ask it (it stops \
                     after {} idle minutes; `strata daemon stop` stops it now; STRATA_DAEMON=0 \
                     or STRATA_DAEMON=manual turns starting it off)",
                    strata_daemon::client::AUTOSTART_IDLE_MINUTES
                );
            }
            session.end();
            result
        }
    };
    for t in &result.targets {
        for problem in &t.problems {
            let at = problem
                .location
                .as_ref()
                .map(|l| format!("\n  --> {l}"))
                .unwrap_or_default();
            let hint = problem
                .hint
                .as_ref()
                .map(|h| format!("\n  hint: {h}"))
                .unwrap_or_default();
            let state = match t.reason {
                Reason::BrokenAtBase => "could not be modelled at the merge-base",
                _ => "cannot be modelled",
            };
            say!(
                "warning: {} {state}, so it counts as affected: {}{at}{hint}",
                t.label,
                problem.message
            );
        }
        for at in &t.unresolved_reads {
            say!("{}", unresolved_read_warning(&t.label, t.kind, at));
        }
    }
    if !result.unread_changes.is_empty() {
        say!(
            "warning: {} changed file(s) are inputs of no target ({}), and {} target(s) read files whose paths strata cannot resolve ({}); if one of those reads uses a changed file, its target is affected but not reported\n  hint: declare what those targets read in `extra_inputs` (`strata hash LABEL --explain` lists the reads), and add files no tool reads to `ignore` in WORKSPACE.toml",
            result.unread_changes.len(),
            first_few(&result.unread_changes),
            result.unresolved_readers.len(),
            first_few(&result.unresolved_readers),
        );
    }
    let base = &result.base;
    if ctx.json {
        print_json(&result);
        return Ok(0);
    }
    if result.targets.is_empty() {
        say!(
            "no targets affected (base {base}, merge-base {})",
            short(&result.merge_base)
        );
        return Ok(0);
    }
    say!(
        "{} target(s) affected (base {base}, merge-base {})",
        result.targets.len(),
        short(&result.merge_base)
    );
    for t in &result.targets {
        if args.explain {
            crate::out!("{}", t.explain());
            continue;
        }
        crate::out!("{:8} {:10} {}", t.kind.as_str(), t.reason.as_str(), t.label);
    }
    Ok(0)
}

/// Whether a daemon may answer this question (about the work tree, with the cache on) and
/// may be started for it; `None` when it may not answer.
#[cfg(unix)]
fn daemon_question(ctx: &Context, args: &Args) -> Option<strata_daemon::client::Use> {
    use strata_daemon::client::Use;
    match Use::from_env() {
        _ if args.head.is_some() || !ctx.use_cache => None,
        Use::Never => None,
        daemon => Some(daemon),
    }
}

/// What asking the workspace's daemon gave.
enum Asked {
    Answered(Affected),
    /// It may not be asked (see [`daemon_question`]), or it did not answer (a daemon that
    /// does not respond at all is named on stderr).
    Declined,
    /// It may be asked, and no daemon answered the socket.
    NoDaemon,
}

/// The answer of the workspace's daemon, when one runs and may answer (see
/// [`daemon_question`]). Any failure leaves it to this process, within about 2 s when
/// the daemon does not respond (stopped or stuck).
#[cfg(unix)]
fn from_daemon(ctx: &Context, args: &Args) -> Asked {
    use strata_daemon::client::Reply;
    if daemon_question(ctx, args).is_none() {
        return Asked::Declined;
    }
    let Ok(root) = strata_graph::workspace::find_root(&ctx.dir) else {
        return Asked::Declined;
    };
    match strata_daemon::client::affected(&root, args.base.as_deref()) {
        Reply::Answered(affected) => Asked::Answered(affected),
        Reply::Declined => Asked::Declined,
        Reply::NoDaemon => Asked::NoDaemon,
        Reply::Unresponsive(unresponsive) => {
            say!("warning: {unresponsive}; answered without it (`strata daemon stop` ends it)");
            Asked::Declined
        }
    }
}

#[cfg(not(unix))]
fn from_daemon(_: &Context, _: &Args) -> Asked {
    Asked::Declined
}

fn short(commit: &str) -> &str {
    &commit[..commit.len().min(12)]
}

/// Up to five of `items`, and how many more.
/// The warning for a read whose path strata cannot resolve, as `affected` and the run
/// commands give it.
pub(crate) fn unresolved_read_warning(
    label: &str,
    kind: strata_graph::discover::Kind,
    at: &strata_graph::error::Location,
) -> String {
    let manifest = strata_graph::discover::marker(kind).unwrap_or("stack.toml");
    format!(
        "warning: {label} reads a file whose path is computed at run time ({at}); only its inputs are in its sandbox, so unless the path names one, the read fails there, or finds no file and a guard (`fileexists`, `try`) takes its fallback: the plan may not be the one terraform makes in the checkout\n  hint: list what it reads in `extra_inputs` of its {manifest} (globs relative to the target's directory)"
    )
}

fn first_few(items: &[String]) -> String {
    const SHOWN: usize = 5;
    let mut text = items
        .iter()
        .take(SHOWN)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > SHOWN {
        text.push_str(&format!(" and {} more", items.len() - SHOWN));
    }
    text
}
