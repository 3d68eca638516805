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
    /// Data documents (JSON or YAML files, or directories of them) for every policy, as
    /// `conftest --data`.
    #[arg(long = "data", value_name = "PATH")]
    data: Vec<std::path::PathBuf>,
    /// Evaluate all files as one input: an array of `{"path", "contents"}` (conftest's
    /// `--combine`).
    #[arg(long)]
    combine: bool,
    /// Fail (exit 1) on warnings too.
    #[arg(long)]
    fail_on_warn: bool,
    /// A failing builtin call is an error instead of undefined.
    #[arg(long)]
    show_builtin_errors: bool,
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
        session.resolve_labels(model, &labels)?
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
                let mark = match t.result.as_str() {
                    "pass" => "PASS",
                    "skipped" => "SKIP",
                    _ => "FAIL",
                };
                crate::out!("  {mark}  {} ({})", t.name, t.file);
                if !matches!(t.result.as_str(), "pass" | "fail" | "skipped") {
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
                r.tests
                    .iter()
                    .filter(|t| t.result != "pass" && t.result != "skipped")
                    .count()
                    + usize::from(r.error.is_some())
            })
            .sum();
        eprintln!("{passed} passed, {failed} failed");
    }
    Ok(if ok { 0 } else { 1 })
}

fn scan(ctx: &Context, args: ScanArgs) -> Result<u8> {
    use strata_policy::scan;
    let session = ctx.session()?;
    let view = session.work_tree()?;
    session.finish();
    let model = &view.model;
    let chosen: Vec<usize> = if args.policies.is_empty() {
        model.policies.iter().map(|(p, _)| *p).collect()
    } else {
        session.resolve_labels(model, &args.policies)?
    };
    let mut errors = Vec::new();
    let overrides = strata_policy::Overrides {
        data: match strata_policy::data::files_on_disk(&args.data) {
            Ok(d) => d,
            Err(e) => {
                errors.push(e);
                Vec::new()
            }
        },
        show_builtin_errors: args.show_builtin_errors,
    };
    let read = |paths: &[&str]| view.snapshot.texts(&session.repo, paths);
    let mut policies = Vec::new();
    for p in chosen {
        let Some((_, meta)) = model.policies.iter().find(|(i, _)| *i == p) else {
            continue;
        };
        match strata_policy::load_policy(model, p, &read, &overrides) {
            Ok(policy) => policies.push((policy, meta.kinds.clone())),
            Err(e) => errors.push(e),
        }
    }
    let request = scan::Request {
        paths: args.paths.clone(),
        combine: args.combine,
    };
    let workspace = scan::Workspace {
        root: &session.root,
        model,
        today: strata_graph::model::waivers::today(),
    };
    let report = scan::scan(&policies, errors, &request, Some(&workspace));
    let ok = report.ok(args.fail_on_warn);
    if let Some(path) = &args.sarif {
        // Reuse the run report's SARIF writer: one synthetic policy task holding the findings.
        let run = strata_run::RunReport::new(
            vec![strata_run::TaskReport::findings_only(
                "scan",
                &report.findings,
            )],
            false,
            false,
        );
        std::fs::write(path, strata_run::report::sarif(&run))
            .map_err(|e| strata_graph::Error::io(path, e))?;
    }
    if ctx.json {
        let mut json = serde_json::to_value(&report).unwrap_or_default();
        json["ok"] = serde_json::json!(ok);
        json["errors"] = serde_json::json!(report
            .errors
            .iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>());
        print_json(&json);
    } else {
        for f in &report.findings {
            let at = match (&f.file, f.line) {
                (Some(file), Some(line)) => format!("{file}:{line}"),
                (Some(file), None) => file.clone(),
                _ => "Combined".to_string(),
            };
            let id = f
                .details
                .get("id")
                .and_then(|v| v.as_str())
                .unwrap_or(&f.rule);
            let mark = match f.outcome {
                _ if f.waived_by.is_some() => "WAIVED".to_string(),
                o => format!("{o:?}").to_uppercase(),
            };
            crate::out!("{mark:<7} {:<8} {id:<16} {at}: {}", f.severity, f.msg);
        }
        for x in &report.exceptions {
            let at = x.file.as_deref().unwrap_or("Combined");
            crate::out!("{:<7} {:<8} {:<16} {at}: {}", "EXCP", "", x.rule, x.query);
        }
        for w in &report.warnings {
            eprintln!("warning: {w}");
        }
        for w in &report.expired_waivers {
            eprintln!("error: {w}");
        }
        for e in &report.errors {
            eprintln!("error: {e}");
            if let Some(hint) = &e.hint {
                eprintln!("hint: {hint}");
            }
        }
        eprintln!(
            "{} ({} file{}, {} blocking)",
            report.counts,
            report.files,
            if report.files == 1 { "" } else { "s" },
            report.blocking()
        );
    }
    Ok(if !report.errors.is_empty() {
        2
    } else if ok {
        0
    } else {
        1
    })
}
