//! Reports of a run for other systems: JUnit XML for CI test views, and a Markdown summary
//! for a pull-request comment.

use crate::run::{RunReport, TaskReport};
use crate::schedule::Status;
use std::collections::BTreeMap;
use std::fmt::Write;

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 forbids most control characters, which tool output may contain.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

fn task_name(t: &TaskReport) -> String {
    match &t.env {
        Some(env) => format!("{} [{env}]", t.action),
        None => t.action.to_string(),
    }
}

/// One `<testsuite>` per target, one `<testcase>` per task.
pub fn junit(report: &RunReport) -> String {
    let mut by_target: BTreeMap<&str, Vec<&TaskReport>> = BTreeMap::new();
    for t in &report.tasks {
        by_target.entry(&t.label).or_default().push(t);
    }
    let count = |s: Status| report.tasks.iter().filter(|t| t.status == s).count();
    let total_ms: u64 = report.tasks.iter().map(|t| t.duration_ms).sum();
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        x,
        "<testsuites name=\"strata\" tests=\"{}\" failures=\"{}\" skipped=\"{}\" time=\"{:.3}\">",
        report.tasks.len(),
        count(Status::Failed),
        count(Status::Skipped),
        total_ms as f64 / 1000.0
    );
    for (label, tasks) in by_target {
        let failures = tasks.iter().filter(|t| t.status == Status::Failed).count();
        let skipped = tasks.iter().filter(|t| t.status == Status::Skipped).count();
        let time: u64 = tasks.iter().map(|t| t.duration_ms).sum();
        let _ = writeln!(
            x,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" skipped=\"{skipped}\" time=\"{:.3}\">",
            xml_escape(label),
            tasks.len(),
            time as f64 / 1000.0
        );
        for t in tasks {
            let _ = write!(
                x,
                "    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\"",
                xml_escape(label),
                xml_escape(&task_name(t)),
                t.duration_ms as f64 / 1000.0
            );
            match t.status {
                Status::Ok => {
                    if t.cached {
                        x.push_str(">\n      <system-out>cached</system-out>\n    </testcase>\n");
                    } else {
                        x.push_str("/>\n");
                    }
                }
                Status::Skipped => {
                    let _ = write!(
                        x,
                        ">\n      <skipped message=\"{}\"/>\n    </testcase>\n",
                        xml_escape(t.reason.as_deref().unwrap_or("skipped"))
                    );
                }
                Status::Failed => {
                    let _ = write!(
                        x,
                        ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>\n",
                        xml_escape(t.reason.as_deref().unwrap_or("failed")),
                        xml_escape(&t.log)
                    );
                }
            }
        }
        x.push_str("  </testsuite>\n");
    }
    x.push_str("</testsuites>\n");
    x
}

fn cell(t: Option<&&TaskReport>) -> String {
    let Some(t) = t else { return "–".into() };
    let mark = match t.status {
        Status::Ok if t.cached => "✅ cached",
        Status::Ok => "✅",
        Status::Failed => "❌",
        Status::Skipped => "⏭️",
    };
    let detail = match t.action.as_str() {
        "plan" if t.status == Status::Ok => {
            let s = &t.summary;
            format!(
                " +{} ~{} -{}",
                s["add"].as_u64().unwrap_or(0),
                s["change"].as_u64().unwrap_or(0),
                s["destroy"].as_u64().unwrap_or(0)
            )
        }
        "render" if t.status == Status::Ok => {
            format!(" {} objects", t.summary["objects"].as_u64().unwrap_or(0))
        }
        _ => String::new(),
    };
    let provisional = if t.provisional { " (provisional)" } else { "" };
    format!("{mark}{detail}{provisional}")
}

/// A pull-request comment: per target and environment, plan counts, render and check
/// results, cache hits; failures with their reason.
pub fn markdown(report: &RunReport) -> String {
    let mut md = String::from("## strata\n\n");
    let ran = report
        .tasks
        .iter()
        .filter(|t| t.status != Status::Skipped)
        .count();
    let cached = report.tasks.iter().filter(|t| t.cached).count();
    let failed = report
        .tasks
        .iter()
        .filter(|t| t.status == Status::Failed)
        .count();
    let skipped = report
        .tasks
        .iter()
        .filter(|t| t.status == Status::Skipped)
        .count();
    let _ = writeln!(
        md,
        "{} **{}** tasks: {ran} done ({cached} from cache), {failed} failed, {skipped} skipped.\n",
        if report.ok { "✅" } else { "❌" },
        report.tasks.len()
    );
    // Rows: (target, env); columns: actions.
    let mut rows: BTreeMap<(String, String), Vec<&TaskReport>> = BTreeMap::new();
    for t in &report.tasks {
        rows.entry((t.label.clone(), t.env.clone().unwrap_or_else(|| "–".into())))
            .or_default()
            .push(t);
    }
    md.push_str("| target | env | checks | plan | render |\n|---|---|---|---|---|\n");
    for ((label, env), tasks) in &rows {
        let find = |a: &str| tasks.iter().find(|t| t.action.as_str() == a);
        let checks: Vec<String> = tasks
            .iter()
            .filter(|t| !matches!(t.action.as_str(), "plan" | "render"))
            .map(|t| format!("{} {}", t.action, cell(Some(t))))
            .collect();
        let _ = writeln!(
            md,
            "| `{label}` | {env} | {} | {} | {} |",
            if checks.is_empty() {
                "–".into()
            } else {
                checks.join("<br>")
            },
            cell(find("plan")),
            cell(find("render"))
        );
    }
    let problems: Vec<&TaskReport> = report
        .tasks
        .iter()
        .filter(|t| t.status == Status::Failed)
        .collect();
    if !problems.is_empty() {
        md.push_str("\n### Failures\n");
        for t in problems {
            let _ = writeln!(
                md,
                "\n**`{}` {}**: {}\n\n```\n{}\n```",
                t.label,
                task_name(t),
                t.reason.as_deref().unwrap_or("failed"),
                tail(&t.log, 30)
            );
        }
    }
    md
}

/// The last `n` lines of a log.
pub fn tail(log: &str, n: usize) -> String {
    let lines: Vec<&str> = log.trim_end().lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
