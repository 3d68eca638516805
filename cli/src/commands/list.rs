use super::Context;
use crate::output::print_json;
use serde::Serialize;
use strata_graph::Result;

#[derive(clap::Args)]
pub struct Args {}

#[derive(Serialize)]
struct Row<'a> {
    label: &'a str,
    kind: &'a str,
    deps: Vec<&'a str>,
    environments: &'a [String],
}

pub fn run(ctx: &Context, _args: Args) -> Result<u8> {
    let session = ctx.session()?;
    let view = session.work_tree()?;
    session.finish();
    view.model.check_all()?;
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
        }
        print_json(&Out {
            targets: rows,
            environments: view
                .model
                .environments
                .iter()
                .map(|e| e.name.as_str())
                .collect(),
        });
        return Ok(0);
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
    Ok(0)
}
