use super::Context;
use crate::output::print_json;
use serde::Serialize;
use strata_graph::id::TargetId;
use strata_graph::Result;

#[derive(clap::Args)]
pub struct Args {
    /// Targets to print (default: all).
    labels: Vec<String>,
    /// Print each target's fingerprint: every input with its id, global inputs, tool
    /// versions and dependency hashes.
    #[arg(long)]
    explain: bool,
    /// With --explain: also print what each task key covers in these environments
    /// (environment files, state fingerprint, consumed upstream outputs).
    #[arg(long = "env", short = 'e', requires = "explain")]
    envs: Vec<String>,
}

#[derive(Serialize)]
struct Row<'a> {
    label: &'a str,
    kind: &'a str,
    hash: String,
}

pub fn run(ctx: &Context, args: Args) -> Result<u8> {
    let session = ctx.session()?;
    let view = session.work_tree()?;
    session.finish();
    let model = &view.model;
    let indices: Vec<TargetId> = if args.labels.is_empty() {
        model.ids().collect()
    } else {
        session.resolve_labels(model, &args.labels)?
    };
    model.check_complete(&indices)?;
    if args.explain {
        let globals = view.hashes.global_inputs(&view.snapshot);
        let fps: Vec<_> = indices
            .iter()
            .map(|&i| {
                serde_json::json!({
                    "label": model.targets[i].label,
                    "hash": view.hashes.hashes[i].to_hex(),
                    "own_digest": view.hashes.own[i].to_hex(),
                    "global_digest": view.hashes.global[i].to_hex(),
                    "fingerprint": view.hashes.fingerprint(model, &view.snapshot, &globals, i),
                    "unresolved_file_references": model.targets[i].unresolved.iter().map(|l| l.to_string()).collect::<Vec<_>>(),
                })
            })
            .collect();
        // Without --env, only a workspace with no environments has its tasks explained (all
        // of them run without one); otherwise each environment would need its state read.
        let tasks = if args.envs.is_empty() && !model.environments.is_empty() {
            Vec::new()
        } else {
            strata_run::explain_task_keys(&session, &view, &indices, &args.envs)?
        };
        if ctx.json {
            print_json(&serde_json::json!({ "targets": fps, "tasks": tasks }));
        } else {
            for &i in &indices {
                explain_text(&view, i);
            }
            for t in &tasks {
                let env = t
                    .env
                    .as_deref()
                    .map(|e| format!(" [{e}]"))
                    .unwrap_or_default();
                crate::out!("task {} {}{env}", t.label, t.action);
                match &t.key {
                    Some(key) => {
                        crate::out!("  key: {key}");
                        for (id, path) in t.env_inputs() {
                            crate::out!("  env input: {id} {path}");
                        }
                        for field in ["state", "upstream_outputs", "tf_vars", "reads"] {
                            if let Some(v) = t.field(field) {
                                crate::out!("  {field}: {v}");
                            }
                        }
                        for (label, version) in t.policies() {
                            crate::out!("  policy: {version} {label}");
                        }
                        for (waiver, expired) in t.waivers() {
                            let expired = if expired { " (expired)" } else { "" };
                            crate::out!("  waiver: {waiver}{expired}");
                        }
                    }
                    None => crate::out!(
                        "  not computable now: {}",
                        t.not_computable.as_deref().unwrap_or("")
                    ),
                }
            }
        }
        return Ok(0);
    }
    let rows: Vec<Row> = indices
        .iter()
        .map(|&i| Row {
            label: &model.targets[i].label,
            kind: model.targets[i].kind.as_str(),
            hash: view.hashes.hashes[i].to_hex(),
        })
        .collect();
    if ctx.json {
        #[derive(Serialize)]
        struct Out<'a> {
            targets: Vec<Row<'a>>,
        }
        print_json(&Out { targets: rows });
    } else {
        for r in rows {
            crate::out!("{}  {}", r.hash, r.label);
        }
    }
    Ok(0)
}

fn explain_text(view: &strata_graph::session::View, i: TargetId) {
    let t = &view.model.targets[i];
    let globals = view.hashes.global_inputs(&view.snapshot);
    let fp = view
        .hashes
        .fingerprint(&view.model, &view.snapshot, &globals, i);
    crate::out!("{} ({})", t.label, t.kind);
    crate::out!("  hash: {}", view.hashes.hashes[i]);
    crate::out!("  fingerprint version: {}", fp.version);
    crate::out!("  inputs:");
    let id = |f: &strata_graph::hash::InputFile| {
        f.entry
            .map(|e| (e.id.to_hex(), format!("{:o}", e.mode)))
            .unwrap_or_else(|| ("missing".into(), String::new()))
    };
    let dir = strata_graph::discover::label_dir(&t.label);
    for f in &fp.inputs {
        let inside = dir.is_empty()
            || f.path
                .strip_prefix(dir)
                .is_some_and(|rest| rest.starts_with('/'));
        // A file of its own directory that `ignore` matches is still read (helm packages a
        // chart's README), and so is a nested target's: inputs, but not from elsewhere.
        let extra = match (t.extra_inputs.contains(f.path), inside) {
            (false, _) => "",
            (true, false) => "  (read from outside the target)",
            (true, true) => {
                "  (in its directory, but not one of its own files: ignored, or another target's)"
            }
        };
        let (id, mode) = id(f);
        crate::out!("    {id} {mode:>6} {}{extra}", f.path);
    }
    crate::out!("  global inputs:");
    for f in fp.global_inputs {
        let (id, mode) = id(f);
        crate::out!("    {id} {mode:>6} {}", f.path);
    }
    crate::out!("  toolchain:");
    for (tool, v) in fp.toolchain {
        crate::out!("    {tool} {v}");
    }
    crate::out!("  dependencies:");
    for d in &fp.deps {
        crate::out!("    {} {}", d.hash, d.label);
    }
    if !t.unresolved.is_empty() {
        crate::out!("  not tracked (paths computed at run time):");
        for l in &t.unresolved {
            crate::out!("    {l}");
        }
    }
}
