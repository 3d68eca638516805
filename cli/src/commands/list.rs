use super::Context;
use crate::output::print_json;
use crate::say;
use serde::Serialize;
use strata_graph::Result;

#[derive(clap::Args)]
pub struct Args {
    /// Exit 1 when a directory with Terraform files or a Chart.yaml is left out by the
    /// layout, a root of its own is folded into the target above it, or a file under
    /// environments/ is given to no target (for CI).
    #[arg(long)]
    check: bool,
}

#[derive(Serialize)]
struct Row<'a> {
    label: &'a str,
    kind: &'a str,
    deps: Vec<&'a str>,
    environments: &'a [String],
}

pub fn run(ctx: &Context, args: Args) -> Result<u8> {
    let session = ctx.session()?;
    let view = session.work_tree()?;
    view.model.check_all()?;
    view.model.check_settings()?;
    let folded = strata_graph::folded::folded_roots(&view, &session.repo)?;
    session.finish();
    let env_files = view.model.environment_files(&view.snapshot);
    let stray: Vec<strata_graph::model::Stray> = env_files.stray().collect();
    let rows: Vec<Row> = view
        .model
        .targets
        .iter()
        .map(|t| Row {
            label: &t.label,
            kind: t.kind.as_str(),
            deps: t.deps.iter().map(|d| d.label.as_str()).collect(),
            environments: &t.environments,
        })
        .collect();
    if ctx.json {
        #[derive(Serialize)]
        struct Out<'a> {
            targets: Vec<Row<'a>>,
            environments: Vec<&'a str>,
            unowned: &'a [String],
            /// Files under environments/ no target is given.
            stray_environment_files: Vec<&'a str>,
            /// Roots of their own that the layout folds into the target above them.
            folded_roots: &'a [strata_graph::folded::FoldedRoot],
        }
        print_json(&Out {
            targets: rows,
            unowned: &view.model.unowned,
            folded_roots: &folded,
            stray_environment_files: stray.iter().map(|s| s.path).collect(),
            environments: view
                .model
                .environments
                .iter()
                .map(|e| e.name.as_str())
                .collect(),
        });
        return Ok(exit(&view.model.unowned, &folded, &stray, args.check));
    }
    let width = rows.iter().map(|r| r.label.len()).max().unwrap_or(5).max(5);
    crate::out!(
        "{:width$}  {:6}  {:20}  DEPENDENCIES",
        "LABEL",
        "KIND",
        "ENVIRONMENTS"
    );
    for r in &rows {
        let envs = if r.environments.is_empty() {
            "-".to_string()
        } else {
            r.environments.join(",")
        };
        let deps = if r.deps.is_empty() {
            "-".to_string()
        } else {
            r.deps.join(", ")
        };
        crate::out!("{:width$}  {:6}  {:20}  {}", r.label, r.kind, envs, deps);
    }
    if !view.model.unowned.is_empty() {
        say!(
            "\n{} director{} with Terraform files, a Chart.yaml or Rego policies that no target owns:",
            view.model.unowned.len(),
            if view.model.unowned.len() == 1 {
                "y"
            } else {
                "ies"
            }
        );
        let linked = |dir: &str| view.model.links.is_link(dir);
        for dir in &view.model.unowned {
            match linked(dir) {
                true => say!("  {dir} (a link to a directory: discovery does not follow it)"),
                false => say!("  {dir}/"),
            }
        }
        say!("hint: add them to [layout] in WORKSPACE.toml (e.g. `stacks = [\"stacks/**\", \"live/*/*\"]`, `policies = [\"policies/**\"]`), put a stack.toml or module.toml in them, or ignore them with `ignore`");
        if view.model.unowned.iter().any(|d| linked(d)) {
            say!("hint: a linked directory is no target: make it a directory of its own (a stack whose main.tf calls the shared code as a module), or ignore the link with `ignore`");
        }
    }
    for f in &folded {
        say!(
            "warning: {}/ is a root of its own ({}) but its files count as {}'s, and nothing plans it",
            f.dir,
            f.why,
            f.target
        );
    }
    if !folded.is_empty() {
        say!("hint: give each its own target: a stack.toml in it (or a layout glob naming it), or call it from its parent with a `module` block if it is a module");
    }
    for s in &stray {
        say!("warning: {s}");
    }
    Ok(exit(&view.model.unowned, &folded, &stray, args.check))
}

/// With `--check`, 1 when the layout leaves a directory out or folds a root into another
/// target, or a file under environments/ is given to no target.
fn exit(
    unowned: &[String],
    folded: &[strata_graph::folded::FoldedRoot],
    stray: &[strata_graph::model::Stray],
    check: bool,
) -> u8 {
    u8::from(check && !(unowned.is_empty() && folded.is_empty() && stray.is_empty()))
}
