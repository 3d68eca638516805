use super::Context;
use crate::output::print_json;
use serde::Serialize;
use strata_graph::id::TargetId;
use strata_graph::model::Model;
use strata_graph::Result;

#[derive(clap::Args)]
pub struct Args {
    /// Output format.
    #[arg(long, value_enum, default_value = "dot")]
    format: Format,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    Dot,
    Mermaid,
    Json,
}

pub fn run(ctx: &Context, args: Args) -> Result<u8> {
    let session = ctx.session()?;
    let view = session.work_tree()?;
    session.finish();
    let model = &view.model;
    model.check_all()?;
    match (ctx.json, args.format) {
        (true, _) | (_, Format::Json) => print_json(&json(model, &view.hashes.hashes)),
        (_, Format::Dot) => crate::output::write_stdout(&dot(model)),
        (_, Format::Mermaid) => crate::output::write_stdout(&mermaid(model)),
    }
    Ok(0)
}

#[derive(Serialize)]
struct Node<'a> {
    label: &'a str,
    kind: &'a str,
    hash: String,
    depth: usize,
}

#[derive(Serialize)]
struct Edge<'a> {
    from: &'a str,
    to: &'a str,
    how: strata_graph::model::DepKind,
    origin: String,
}

#[derive(Serialize)]
struct GraphJson<'a> {
    nodes: Vec<Node<'a>>,
    edges: Vec<Edge<'a>>,
}

fn json<'a>(model: &'a Model, hashes: &[strata_graph::digest::TargetHash]) -> GraphJson<'a> {
    let depths = model.graph.depths();
    GraphJson {
        nodes: model
            .targets
            .iter()
            .enumerate()
            .map(|(i, t)| Node {
                label: &t.label,
                kind: t.kind.as_str(),
                hash: hashes[i].to_hex(),
                depth: depths[i],
            })
            .collect(),
        edges: model
            .targets
            .iter()
            .flat_map(|t| {
                t.deps.iter().map(move |d| Edge {
                    from: &t.label,
                    to: &d.label,
                    how: d.how,
                    origin: d.origin.to_string(),
                })
            })
            .collect(),
    }
}

/// Graphviz: edges point from a target to what it depends on.
pub fn dot(model: &Model) -> String {
    let mut s = String::from("digraph strata {\n  rankdir=LR;\n  node [shape=box];\n");
    for t in &model.targets {
        let shape = match t.kind.as_str() {
            "module" => "component",
            "chart" => "box3d",
            "policy" => "note",
            _ => "box",
        };
        s.push_str(&format!(
            "  {} [shape={shape}];\n",
            strata_graph::text::dot_quoted(&t.label)
        ));
    }
    for t in &model.targets {
        for d in &t.deps {
            s.push_str(&format!(
                "  {} -> {};\n",
                strata_graph::text::dot_quoted(&t.label),
                strata_graph::text::dot_quoted(&d.label)
            ));
        }
    }
    s.push_str("}\n");
    s
}

pub fn mermaid(model: &Model) -> String {
    let id = |i: TargetId| format!("t{}", i.index());
    let mut s = String::from("graph LR\n");
    for (i, t) in model.iter() {
        s.push_str(&format!(
            "  {}[\"{} ({})\"]\n",
            id(i),
            strata_graph::text::mermaid_label(&t.label),
            t.kind
        ));
    }
    for i in model.ids() {
        for &d in model.graph.deps(i) {
            s.push_str(&format!("  {} --> {}\n", id(i), id(d)));
        }
    }
    s
}
