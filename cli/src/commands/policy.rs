//! `strata policy test`: run the policies' own Rego tests, with coverage.

use super::Context;
use crate::output::print_json;
use strata_graph::discover::Kind;
use strata_graph::policy::test;
use strata_graph::Result;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Evaluate the policies over the selected targets (their plans and renders run or come
    /// from the cache first) and print the findings grouped by target.
    Eval(super::run::Args),
    /// Run `test_*` rules in the policies' `*_test.rego` files.
    Test {
        /// Policies to test (default: all).
        labels: Vec<String>,
    },
}

pub fn run(ctx: &Context, cmd: Command) -> Result<u8> {
    let labels = match cmd {
        Command::Eval(args) => return super::run::policy_eval(ctx, args),
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
        let contents = view.snapshot.contents(&session.repo, &paths)?;
        let files: Vec<(String, String)> = paths
            .iter()
            .map(|p| {
                let id = view.snapshot.files[*p].id;
                let text = contents
                    .get(&id)
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .unwrap_or_default();
                (p.to_string(), text)
            })
            .collect();
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
