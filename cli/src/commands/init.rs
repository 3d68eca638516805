//! `strata init`: adopts an existing repository (see strata-init).
use crate::say;

use super::Context;
use crate::out;
use crate::output::print_json;
use serde::Serialize;
use strata_graph::discover::Kind;
use strata_graph::Result;
use strata_init::files::Action;
use strata_init::{Options, Survey};

#[derive(clap::Args)]
pub struct Args {
    /// Replace an existing WORKSPACE.toml, and the env.toml of each environment found.
    #[arg(long)]
    force: bool,
    /// Print what would be written, and write nothing.
    #[arg(long)]
    dry_run: bool,
}

pub fn run(ctx: &Context, args: Args) -> Result<u8> {
    let started = std::time::Instant::now();
    let survey = strata_init::survey(
        &ctx.dir,
        &Options {
            force: args.force,
            dry_run: args.dry_run,
        },
    )?;
    if !args.dry_run {
        strata_init::write(&survey)?;
    }
    let ms = started.elapsed().as_millis();
    if ctx.json {
        #[derive(Serialize)]
        struct Out<'a> {
            dry_run: bool,
            duration_ms: u128,
            #[serde(flatten)]
            survey: &'a Survey,
        }
        print_json(&Out {
            dry_run: args.dry_run,
            duration_ms: ms,
            survey: &survey,
        });
    } else {
        print_human(&survey, args.dry_run);
    }
    warn(&survey);
    if !ctx.json {
        if ms < 1000 {
            say!("init took {ms} ms");
        } else {
            say!("init took {:.1} s", ms as f64 / 1000.0);
        }
    }
    Ok(0)
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn print_human(s: &Survey, dry_run: bool) {
    out!(
        "{}: {}, {}",
        s.root.display(),
        plural(
            s.terraform_directories,
            "directory with Terraform files",
            "directories with Terraform files"
        ),
        plural(s.count(Kind::Chart), "chart", "charts")
    );
    out!(
        "\nTargets: {}, {}, {}, {}",
        plural(s.count(Kind::Stack), "stack", "stacks"),
        plural(s.count(Kind::Module), "module", "modules"),
        plural(s.count(Kind::Chart), "chart", "charts"),
        plural(s.count(Kind::Policy), "policy", "policies"),
    );
    let width = s.targets.iter().map(|t| t.label.len()).max().unwrap_or(0);
    for t in &s.targets {
        out!("  {:6}  {:width$}  {}", t.kind.as_str(), t.label, t.reason);
    }
    if !s.local_modules.is_empty() {
        out!("\nLocal modules (called only from inside the target holding them, part of it):");
        let width = s
            .local_modules
            .iter()
            .map(|p| p.dir.len())
            .max()
            .unwrap_or(0);
        for p in &s.local_modules {
            out!("  {:width$}  part of {}", p.dir, p.of);
        }
    }
    if !s.unclassified.is_empty() {
        out!(
            "\nNot classified ({}): no backend, provider, caller or other mark says what they are",
            s.unclassified.len()
        );
        let width = s
            .unclassified
            .iter()
            .map(|u| u.dir.len())
            .max()
            .unwrap_or(0);
        for u in &s.unclassified {
            match &u.of {
                Some(of) => out!("  {:width$}  left to {of}", u.dir),
                None => out!("  {:width$}  taken as a module", u.dir),
            }
        }
        out!("  hint: a directory that is a deployable root needs a stack.toml (or a backend or provider block); one that is a module, module.toml; then run `strata list`");
    }
    if !s.terragrunt_only.is_empty() {
        out!(
            "\nTerragrunt units without Terraform files ({}), not targets: {}",
            s.terragrunt_only.len(),
            shorten(&s.terragrunt_only, 4)
        );
        out!("  hint: strata plans Terraform that lives in the repository; a stack that depends on one of these units follows what the unit reads: its module source, includes and dependencies");
    }
    if !s.terragrunt_json.is_empty() {
        out!(
            "\nTerragrunt units written in JSON ({}), not read: {}",
            s.terragrunt_json.len(),
            shorten(&s.terragrunt_json, 4)
        );
        out!("  hint: strata reads `terragrunt.hcl` only: their dependencies and includes are not edges or inputs; write them as HCL, or carry each dependency over as `deps` (and each included file as `extra_inputs`) in the stack.toml of the unit's directory");
    }
    if !s.terragrunt_stacks.is_empty() {
        out!(
            "\nTerragrunt stack files ({}), not read: {}",
            s.terragrunt_stacks.len(),
            shorten(&s.terragrunt_stacks, 4)
        );
        out!("  hint: their units exist only once `terragrunt stack generate` writes them (under `.terragrunt-stack/`, usually not committed); strata models Terraform that lives in the repository, so the modules those units use are targets only where their code is here");
    }
    declared_order(s);
    out!("\nEnvironments:");
    if s.environments.is_empty() {
        out!("  none found (no environments/<env>/, envs/<env>/, live/<env>/ or variable files named like one)");
        out!("  hint: stacks are planned in an environment: add one with its state settings in environments/<name>/env.toml (see docs/configuration.md, environments); until then `strata check` formats and validates only");
    }
    for e in &s.environments {
        let from = e
            .promotes_from
            .as_ref()
            .map(|f| format!(", promoted from {f}"))
            .unwrap_or_default();
        let defined = if e.defined { ", env.toml exists" } else { "" };
        out!("  {}{from}{defined}: {}", e.name, shorten(&e.evidence, 2));
    }
    if !s.environment_stacks.is_empty() {
        let first = &s.environment_stacks[0];
        out!(
            "  {} live in one environment's directory, and strata deploys a stack to every environment unless its stack.toml lists `environments`",
            plural(s.environment_stacks.len(), "stack", "stacks")
        );
        out!(
            "  hint: give each its environment in a stack.toml, e.g. `environments = [\"{}\"]` in {}/stack.toml",
            first.environment,
            first.label,
        );
    }
    let outside = s.environments.iter().flat_map(|e| &e.evidence).any(|f| {
        strata_init::environments::is_var_file(strata_graph::discover::file_name(f))
            && !f.starts_with("environments/")
    });
    if outside {
        out!("  hint: strata passes the files under environments/<env>/<label>/ (tfvars, Helm values) to <label>'s tasks in <env>; the variable files found elsewhere were left where they are");
    }
    out!("\nLayout:");
    for (key, k) in [
        ("stacks", &s.layout.stacks),
        ("modules", &s.layout.modules),
        ("charts", &s.layout.charts),
        ("policies", &s.layout.policies),
    ] {
        if k.default {
            out!("  {key:8}  {:?} (the default fits)", k.globs);
            continue;
        }
        let notes: Vec<String> = k
            .notes
            .iter()
            .map(|n| {
                if n.glob == "." {
                    ". (the root)".to_string()
                } else if n.glob.starts_with('!') {
                    format!("{} (keeps out {})", n.glob, n.dirs.len())
                } else {
                    format!("{} ({})", n.glob, n.dirs.len())
                }
            })
            .collect();
        if notes.is_empty() {
            out!("  {key:8}  [] (none of this kind)");
        } else {
            out!("  {key:8}  {}", notes.join(", "));
        }
        if let Some(why) = &k.instead_of_default {
            out!("            because {why}");
        }
    }
    if s.layout.by_path {
        out!(
            "  (no small set of globs discovers exactly these targets: each is named by its path)"
        );
    }
    out!("");
    for f in &s.files {
        let what = match f.action {
            Action::Create => "create",
            Action::Replace => "replace",
            Action::Append => "append to",
            Action::Unchanged => "unchanged:",
            Action::Keep => "keep (exists; --force replaces it):",
            Action::Skip => "skip (environments are defined already; --force writes it):",
        };
        if dry_run && f.writes() {
            out!("--- would {what} {}", f.path);
            let text = f.added.as_deref().unwrap_or(&f.content);
            for line in text.lines() {
                out!("  | {line}");
            }
        } else if f.writes() {
            let done = match f.action {
                Action::Create => "created",
                Action::Replace => "replaced",
                _ => "appended to",
            };
            out!("{done} {}", f.path);
        } else {
            out!("{what} {}", f.path);
        }
    }
    let will = if dry_run { "would" } else { "will" };
    let c = &s.check;
    if c.error.is_some() {
        out!("\n`strata list` {will} stop at an error in the workspace (below).");
    } else if c.ok && !s.unread.is_empty() {
        out!(
            "\n`strata list` {will} show these {}, but init could not read {} (see the warnings): what {} declare{} (a Terramate order, a backend, a stack) is not in this report.",
            plural(c.targets, "target", "targets"),
            plural(s.unread.len(), "file", "files"),
            if s.unread.len() == 1 { "it" } else { "they" },
            if s.unread.len() == 1 { "s" } else { "" },
        );
    } else if c.ok && !s.terragrunt_only.is_empty() {
        out!(
            "\n`strata list` {will} show these {}, and leave out the {} listed above (strata plans Terraform that lives in the repository).",
            plural(c.targets, "target", "targets"),
            plural(s.terragrunt_only.len(), "Terragrunt unit without Terraform files", "Terragrunt units without Terraform files"),
        );
    } else if c.ok {
        out!(
            "\n`strata list` {will} show these {}, with nothing left out.",
            plural(c.targets, "target", "targets")
        );
    } else {
        let broken: std::collections::BTreeSet<&str> =
            c.broken.iter().map(|b| b.label.as_str()).collect();
        let mut issues = Vec::new();
        if !broken.is_empty() {
            issues.push(format!(
                "refuses to run while {} cannot be modelled",
                plural(broken.len(), "target", "targets")
            ));
        }
        if !c.unowned.is_empty() {
            issues.push(format!(
                "leaves out {}",
                plural(c.unowned.len(), "directory", "directories")
            ));
        }
        if !c.missing.is_empty() || !c.unexpected.is_empty() {
            issues.push("discovers other targets than these".to_string());
        }
        out!(
            "\n`strata list` {will} find {} targets, but {} (see the warnings).",
            c.targets,
            issues.join(" and ")
        );
    }
}

/// The orders Terramate and Terragrunt declare, each with what to write in stack.toml for
/// strata to know it.
fn declared_order(s: &Survey) {
    if s.declared_order.is_empty() {
        return;
    }
    let target_of = |dir: &str| -> Option<&str> {
        // The deepest target holding the directory.
        s.targets
            .iter()
            .filter(|t| {
                let d = strata_graph::discover::label_dir(&t.label);
                d.is_empty() || dir == d || dir.starts_with(&format!("{d}/"))
            })
            .max_by_key(|t| t.label.len())
            .map(|t| t.label.as_str())
    };
    out!(
        "\nOrders and inputs declared for Terramate or Terragrunt, and remote states read, which strata does not follow ({}):",
        s.declared_order.len()
    );
    let is_module = |label: &str| {
        s.targets
            .iter()
            .any(|t| t.label == label && t.kind == strata_graph::discover::Kind::Module)
    };
    let shown = 12;
    for d in s.declared_order.iter().take(shown) {
        let here = strata_graph::discover::parent_dir(&d.file);
        let mine = target_of(here);
        let theirs = d.dir.as_deref().and_then(target_of);
        let remote_state = matches!(d.what.as_str(), "terraform_remote_state" | "remote-state");
        let todo = match (d.what.as_str(), mine, theirs) {
            // A module's remote state is read by each stack that calls it.
            (_, Some(me), theirs) if remote_state && is_module(me) => format!(
                "read by the stacks that call {me}: add {} to their `deps`",
                match theirs {
                    Some(other) => format!("\"{other}\""),
                    None => "the stack that writes that state".into(),
                }
            ),
            ("include", Some(me), _) => {
                format!("add the included file to `extra_inputs` in the stack.toml of {me}")
            }
            ("watch", Some(me), _) => format!(
                "add the watched file to `extra_inputs` in the stack.toml of {me} (workspace-relative, no leading `/`)"
            ),
            // Terramate runs the stacks a stack `wants` whenever it runs that stack: a change
            // to it must affect them, so they depend on it (and `wanted_by` the other way).
            ("before" | "wants", Some(me), Some(other)) => {
                format!("add \"{me}\" to `deps` in the stack.toml of {other}")
            }
            (_, Some(me), Some(other)) if me == other => {
                "names the stack itself: nothing to carry over".to_string()
            }
            (_, Some(me), Some(other)) => {
                format!("add \"{other}\" to `deps` in the stack.toml of {me}")
            }
            (_, Some(me), None) if remote_state => format!(
                "add the stack that writes that state to `deps` in the stack.toml of {me}"
            ),
            (_, Some(me), None) => format!(
                "add the targets it names to `deps` (or `extra_inputs`) in the stack.toml of {me}"
            ),
            (_, None, _)
                if strata_graph::discover::file_name(&d.file)
                    == strata_graph::hcl::TERRAGRUNT_UNIT_FILE =>
            {
                "a unit strata does not plan: read for each stack that depends on it, nothing to carry over".to_string()
            }
            (_, None, _) => "not a target of strata's: nothing to carry over".to_string(),
        };
        let value = if d.value.is_empty() {
            String::new()
        } else {
            format!(" {}", d.value)
        };
        out!("  {}:{}  {}{value}: {todo}", d.file, d.line, d.what);
    }
    if s.declared_order.len() > shown {
        out!(
            "  and {} more (`strata init --dry-run --json` lists them all, as `declared_order`)",
            s.declared_order.len() - shown
        );
    }
    out!("  hint: strata orders and affects targets by module calls, file reads and `deps`; until these are carried over, a change to one of these units (or to the outputs a remote state holds) does not affect the units that depend on it");
}

fn shorten(items: &[String], n: usize) -> String {
    if items.is_empty() {
        return "none".into();
    }
    // The workspace root is `.`, as labels name it.
    let shown = |item: &String| {
        if item.is_empty() || item == "/" {
            ".".to_string()
        } else {
            item.clone()
        }
    };
    let mut s = items
        .iter()
        .take(n)
        .map(shown)
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > n {
        s.push_str(&format!(" and {} more", items.len() - n));
    }
    s
}

/// Problems `strata list` will report, on stderr.
fn warn(s: &Survey) {
    let reported: std::collections::BTreeSet<_> = s
        .check
        .broken
        .iter()
        .filter_map(|b| b.problem.location.as_ref())
        .collect();
    for p in s
        .problems
        .iter()
        .filter(|p| p.location.as_ref().is_none_or(|l| !reported.contains(l)))
    {
        let at = p
            .location
            .as_ref()
            .map(|l| format!(" ({l})"))
            .unwrap_or_default();
        say!("warning: {}{at}", p.message);
        if let Some(h) = &p.hint {
            say!("hint: {h}");
        }
    }
    let c = &s.check;
    if let Some(e) = &c.error {
        let at = e
            .location
            .as_ref()
            .map(|l| format!(" ({l})"))
            .unwrap_or_default();
        say!(
            "warning: strata cannot model this workspace yet: {}{at}",
            e.message
        );
        if let Some(h) = &e.hint {
            say!("hint: {h}");
        }
        return;
    }
    for b in &c.broken {
        let at = b
            .problem
            .location
            .as_ref()
            .map(|l| format!(" ({l})"))
            .unwrap_or_default();
        say!(
            "warning: `strata list` will refuse {} until this is fixed: {}{at}",
            b.label,
            b.problem.message
        );
    }
    if !c.unowned.is_empty() {
        say!("warning: the layout leaves out {}", shorten(&c.unowned, 5));
    }
    if !c.missing.is_empty() || !c.unexpected.is_empty() {
        say!(
            "warning: strata discovers other targets than init found (missing: {}; unexpected: {})",
            shorten(&c.missing, 5),
            shorten(&c.unexpected, 5)
        );
    }
}
