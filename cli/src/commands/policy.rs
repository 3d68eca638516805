//! `strata policy test`: run the policies' own Rego tests, with coverage.

use super::Context;
use crate::output::print_json;
use strata_graph::discover::Kind;
use strata_graph::Result;
use strata_policy::test;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Evaluate the policies over the selected targets (their plans and renders run or come
    /// from the cache first) and print the findings grouped by target.
    Eval(super::run::Args),
    /// Evaluate policies over files directly, as `conftest test` does: Terraform files
    /// (`*.tf`, in conftest's HCL2 JSON shape) and YAML manifests (each document). No
    /// terraform or helm runs.
    Scan(ScanArgs),
    /// Run `test_*` rules in the policies' `*_test.rego` files.
    Test {
        /// Policies to test (default: all).
        labels: Vec<String>,
    },
}

#[derive(clap::Args)]
pub struct ScanArgs {
    /// Files or directories to scan (directories recursively).
    #[arg(required = true)]
    paths: Vec<std::path::PathBuf>,
    /// Policy targets to apply (default: every policy of the workspace).
    #[arg(long = "policy")]
    policies: Vec<String>,
    /// Write the findings as SARIF 2.1.0.
    #[arg(long, value_name = "FILE")]
    sarif: Option<std::path::PathBuf>,
}

pub fn run(ctx: &Context, cmd: Command) -> Result<u8> {
    let labels = match cmd {
        Command::Eval(args) => return super::run::policy_eval(ctx, args),
        Command::Scan(args) => return scan(ctx, args),
        Command::Test { labels } => labels,
    };
    let session = ctx.session()?;
    let view = session.work_tree()?;
    session.finish();
    let model = &view.model;
    let indices: Vec<usize> = if labels.is_empty() {
        (0..model.targets.len())
            .filter(|&i| model.targets[i].kind == Kind::Policy)
            .collect()
    } else {
        model.resolve_labels(&labels)?
    };
    let mut reports = Vec::new();
    for i in indices {
        let t = &model.targets[i];
        let paths: Vec<&str> = t
            .files
            .iter()
            .map(String::as_str)
            .filter(|f| f.ends_with(".rego"))
            .collect();
        let files = view.snapshot.texts(&session.repo, &paths)?;
        let v0 = model
            .policies
            .iter()
            .find(|(p, _)| *p == i)
            .is_some_and(|(_, m)| m.rego_version == "v0");
        reports.push(test::run(&t.label, &files, v0));
    }
    let ok = reports.iter().all(|r| r.ok());
    if ctx.json {
        print_json(&serde_json::json!({ "ok": ok, "policies": reports }));
    } else {
        for r in &reports {
            crate::out!("{}", r.policy);
            if let Some(e) = &r.error {
                crate::out!("  ERROR {e}");
            }
            for t in &r.tests {
                let mark = if t.result == "pass" { "PASS" } else { "FAIL" };
                crate::out!("  {mark}  {} ({})", t.name, t.file);
                if t.result != "pass" && t.result != "fail" {
                    crate::out!("        {}", t.result);
                }
            }
            for c in &r.coverage {
                let pct = if c.lines == 0 {
                    100.0
                } else {
                    100.0 * c.covered as f64 / c.lines as f64
                };
                crate::out!(
                    "  coverage {:5.1}%  {} ({}/{} lines)",
                    pct,
                    c.file,
                    c.covered,
                    c.lines
                );
            }
        }
        let passed: usize = reports
            .iter()
            .map(|r| r.tests.iter().filter(|t| t.result == "pass").count())
            .sum();
        let failed: usize = reports
            .iter()
            .map(|r| {
                r.tests.iter().filter(|t| t.result != "pass").count()
                    + usize::from(r.error.is_some())
            })
            .sum();
        eprintln!("{passed} passed, {failed} failed");
    }
    Ok(if ok { 0 } else { 1 })
}

fn collect(path: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    if path.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(path)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .collect();
        entries.sort();
        for e in entries {
            if !e
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            {
                collect(&e, out);
            }
        }
    } else if path
        .extension()
        .is_some_and(|x| x == "tf" || x == "yaml" || x == "yml")
    {
        out.push(path.to_path_buf());
    }
}

fn scan(ctx: &Context, args: ScanArgs) -> Result<u8> {
    use strata_policy::{hcl_input, Policy};
    let session = ctx.session()?;
    let view = session.work_tree()?;
    session.finish();
    let model = &view.model;
    let chosen: Vec<usize> = if args.policies.is_empty() {
        model.policies.iter().map(|(p, _)| *p).collect()
    } else {
        model.resolve_labels(&args.policies)?
    };
    let mut files = Vec::new();
    for p in &args.paths {
        collect(p, &mut files);
    }
    // Parse every file once; evaluate each policy once over all the documents it applies to
    // (one engine per policy), policies in parallel.
    let mut errors = Vec::new();
    let mut texts: std::collections::HashMap<String, String> = Default::default();
    let mut tf_docs: Vec<(Option<String>, serde_json::Value)> = Vec::new();
    let mut yaml_docs: Vec<(Option<String>, serde_json::Value)> = Vec::new();
    for file in &files {
        let shown = file.display().to_string();
        let text = std::fs::read_to_string(file).map_err(|e| strata_graph::Error::io(file, e))?;
        if file.extension().is_some_and(|x| x == "tf") {
            match hcl_input::to_json(&text) {
                Ok(v) => tf_docs.push((Some(shown.clone()), v)),
                Err(e) => errors.push(format!("{shown}: {e}")),
            }
        } else {
            match strata_policy::usertest::manifests_input(text.as_bytes()) {
                Ok(serde_json::Value::Array(d)) => {
                    yaml_docs.extend(d.into_iter().map(|d| (Some(shown.clone()), d)))
                }
                Ok(other) => yaml_docs.push((Some(shown.clone()), other)),
                Err(e) => errors.push(format!("{shown}: {e}")),
            }
        }
        texts.insert(shown, text);
    }
    let mut jobs = Vec::new();
    for &p in &chosen {
        let Some((_, meta)) = model.policies.iter().find(|(i, _)| *i == p) else {
            continue;
        };
        let paths = model.policy_files(p);
        let sources = view.snapshot.texts(&session.repo, &paths)?;
        jobs.push((p, meta, sources));
    }
    use rayon::prelude::*;
    let results: Vec<Result<Vec<strata_policy::Finding>, String>> = jobs
        .par_iter()
        .map(|(p, meta, sources)| {
            let policy = Policy {
                label: &model.targets[*p].label,
                files: sources.clone(),
                namespaces: &meta.namespaces,
                all_namespaces: meta.all_namespaces,
                rego_v0: meta.rego_version == "v0",
            };
            let mut out = Vec::new();
            let tf = meta.kinds.contains(&Kind::Stack) || meta.kinds.contains(&Kind::Module);
            let chart = meta.kinds.contains(&Kind::Chart);
            for (docs, applies, kind) in [(&tf_docs, tf, "stack"), (&yaml_docs, chart, "chart")] {
                if !applies || docs.is_empty() {
                    continue;
                }
                let context = serde_json::json!({
                    "label": null, "kind": kind, "environment": null, "dependencies": []
                });
                out.extend(
                    policy
                        .evaluate(docs, &context)
                        .map_err(|e| format!("{}: {e}", model.targets[*p].label))?,
                );
            }
            Ok(out)
        })
        .collect();
    let mut findings = Vec::new();
    for r in results {
        match r {
            Ok(f) => findings.extend(f),
            Err(e) => errors.push(e),
        }
    }
    let tf_texts: Vec<(String, String)> = texts
        .into_iter()
        .filter(|(p, _)| p.ends_with(".tf"))
        .collect();
    strata_policy::locate(&mut findings, &tf_texts);
    findings.sort_by(|a, b| {
        (&a.file, a.line, &a.rule, &a.msg).cmp(&(&b.file, b.line, &b.rule, &b.msg))
    });
    let denies = findings
        .iter()
        .filter(|f| strata_policy::blocks(f, None))
        .count();
    if let Some(path) = &args.sarif {
        // Reuse the run report's SARIF writer: one synthetic policy task holding the findings.
        let report = strata_run::RunReport::new(
            vec![strata_run::TaskReport::findings_only("scan", &findings)],
            false,
            false,
        );
        std::fs::write(path, strata_run::report::sarif(&report))
            .map_err(|e| strata_graph::Error::io(path, e))?;
    }
    if ctx.json {
        print_json(
            &serde_json::json!({"ok": denies == 0 && errors.is_empty(), "files": files.len(), "findings": findings, "errors": errors}),
        );
    } else {
        for f in &findings {
            let at = match (&f.file, f.line) {
                (Some(file), Some(line)) => format!("{file}:{line}"),
                (Some(file), None) => file.clone(),
                _ => String::new(),
            };
            let id = f
                .details
                .get("id")
                .and_then(|v| v.as_str())
                .unwrap_or(&f.rule);
            crate::out!(
                "{:<7} {:<8} {id:<16} {at}: {}",
                format!("{:?}", f.outcome).to_uppercase(),
                f.severity,
                f.msg
            );
        }
        for e in &errors {
            eprintln!("error: {e}");
        }
        eprintln!(
            "{} files, {} findings, {denies} blocking",
            files.len(),
            findings.len()
        );
    }
    Ok(if denies == 0 && errors.is_empty() {
        0
    } else {
        1
    })
}
