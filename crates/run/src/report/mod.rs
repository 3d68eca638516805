//! Reports of a run for other systems: a Markdown summary for a pull-request comment and
//! the plain-text plan (here), JUnit XML for CI test views ([`junit()`]) and SARIF for code
//! scanning ([`sarif()`]).

use crate::{NotRunTask, RunReport, TaskReport};
use std::collections::BTreeMap;
use std::fmt::Write;
use strata_exec::schedule::Status;

mod junit;
mod sarif;

pub use junit::junit;
pub use sarif::sarif;
#[cfg(test)]
use sarif::uri_path;

fn task_name(t: &TaskReport) -> String {
    match &t.env {
        Some(env) => format!("{} [{env}]", t.action),
        None => t.action.to_string(),
    }
}

fn cell(t: Option<&&TaskReport>) -> String {
    let Some(t) = t else { return "–".into() };
    let mark = match t.status {
        Status::Ok if t.cached => "✅ cached",
        Status::Ok => "✅",
        Status::Failed => "❌",
        Status::Skipped => "⏭️",
    };
    let detail = match (t.status, t.summary.plan(), t.summary.render()) {
        (Status::Ok, Some(p), _) => format!(" +{} ~{} -{}", p.add, p.change, p.destroy),
        (Status::Ok, _, Some(r)) => format!(
            " {} object{}",
            r.objects,
            if r.objects == 1 { "" } else { "s" }
        ),
        _ => String::new(),
    };
    let provisional = if t.provisional { " (provisional)" } else { "" };
    format!("{mark}{detail}{provisional}")
}

/// A pull-request comment: per target and environment, plan counts, render and check
/// results, cache hits; failures with their reason.
pub fn markdown(report: &RunReport) -> String {
    let mut md = String::from("## strata\n\n");
    // The terminal's counts: passed (from the cache or run), failed, skipped.
    let ok = report
        .tasks
        .iter()
        .filter(|t| t.status == Status::Ok)
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
        "{} **{}** tasks: {ok} ok ({cached} from cache), {failed} failed, {skipped} skipped.\n",
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
            "| {} | {} | {} | {} | {} |",
            code(label),
            inline_text(env),
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
    if !report.incomplete.is_empty() {
        let _ = writeln!(
            md,
            "\n### Did not run{}\n",
            if report.allow_incomplete {
                " (accepted with `--allow-incomplete`)"
            } else {
                ""
            }
        );
        for t in &report.incomplete {
            let _ = writeln!(
                md,
                "- {} {}: {}",
                code(&t.label),
                md_task_name(t.action, t.env.as_deref()),
                markdown_text(&t.reason)
            );
        }
    }
    plan_sections(report, &mut md);
    if !problems.is_empty() {
        md.push_str("\n### Failures\n");
        for t in problems {
            let log = strata_graph::text::plain(&tail(&t.log, 30));
            let fence = fence_for(&log);
            let _ = writeln!(
                md,
                "\n**{} {}**: {}\n\n{fence}\n{log}\n{fence}",
                code(&t.label),
                md_task_name(t.action, t.env.as_deref()),
                markdown_text(t.reason.as_deref().unwrap_or("failed")),
            );
        }
    }
    limit_comment(md)
}

/// GitHub refuses comments over 65,536 characters: the summary stays under this, with a
/// note when it was cut.
pub const COMMENT_LIMIT: usize = 60_000;

/// Room kept for the note of a cut summary (which names the sections left out).
const NOTE_ROOM: usize = 6_000;

/// What a section's summary line names (`<code>stacks/a</code> [dev]`, as written there:
/// escaped), if `line` opens one.
fn section_name(line: &str) -> Option<String> {
    let summary = line.trim_start().strip_prefix("<details><summary>")?;
    let summary = summary.split("</summary>").next()?;
    Some(summary.split(": ").next().unwrap_or(summary).to_string())
}

/// Text from the repository (a label, an environment, a task's name) as Markdown and HTML
/// show it literally, wherever it stands (a table cell, a list, a section's summary line):
/// every character that could start markup (`<`, `&`, `|`, a backtick, emphasis, a link)
/// as an entity, and line breaks as spaces. A directory named `stacks/app<!--` opened an
/// HTML comment that hid the sections after it.
pub fn inline_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in strata_graph::text::plain(text).chars() {
        match c {
            '&' | '<' | '>' | '"' | '\'' | '|' | '`' | '*' | '_' | '~' | '[' | ']' | '\\' | '!'
            | '#' => {
                let _ = write!(out, "&#{};", c as u32);
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// [`task_name`] in Markdown: the environment escaped.
fn md_task_name(action: crate::task::Action, env: Option<&str>) -> String {
    match env {
        Some(env) => format!("{action} [{}]", inline_text(env)),
        None => action.to_string(),
    }
}

/// `text` in code style, escaped as [`inline_text`] escapes it.
pub fn code(text: &str) -> String {
    format!("<code>{}</code>", inline_text(text))
}

/// A code fence `text` cannot close: longer than any run of backticks in it (a log holding
/// a Markdown runbook, or a message written to break out of its block).
fn fence_for(text: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    "`".repeat(longest.max(2) + 1)
}

/// The backticks opening or closing a fence on `line` (up to three spaces before them, as
/// Markdown has it), with what follows them.
fn fence_of(line: &str) -> Option<(usize, &str)> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    if indent > 3 {
        return None;
    }
    let rest = &line[indent..];
    let n = rest.len() - rest.trim_start_matches('`').len();
    (n >= 3).then(|| (n, &rest[n..]))
}

fn limit_comment(md: String) -> String {
    if md.len() <= COMMENT_LIMIT {
        return md;
    }
    let mut end = COMMENT_LIMIT - NOTE_ROOM;
    while !md.is_char_boundary(end) {
        end -= 1;
    }
    // Cut at a line boundary, and close a code block or a collapsible section left open,
    // read line by line as Markdown does: a fence is a line starting with three backticks,
    // and what is inside a code block (resource addresses, with their keys) opens nothing.
    let cut = md[..end].rfind('\n').unwrap_or(end);
    let mut out = md[..cut].to_string();
    // The fence of the code block open at a line (a closing fence is at least as long as
    // the opening one, with nothing after it).
    let mut in_code: Option<usize> = None;
    let mut open_sections = 0usize;
    for line in out.lines() {
        match (in_code, fence_of(line)) {
            (None, Some((n, _))) => in_code = Some(n),
            (Some(open), Some((n, rest))) if n >= open && rest.trim().is_empty() => in_code = None,
            (Some(_), _) => {}
            (None, None) => {
                let line = line.trim_start();
                open_sections += line.matches("<details>").count();
                open_sections = open_sections.saturating_sub(line.matches("</details>").count());
            }
        }
    }
    // The sections not shown whole: the one cut short, and every one after the cut.
    let mut left_out: Vec<String> = Vec::new();
    if open_sections > 0 {
        left_out.extend(out.lines().rev().find_map(section_name));
    }
    left_out.extend(md[cut..].lines().filter_map(section_name));
    if let Some(n) = in_code {
        out.push('\n');
        out.push_str(&"`".repeat(n));
    }
    for _ in 0..open_sections {
        out.push_str("\n</details>");
    }
    let mut note = String::from(
        "\n\n---\n**This summary was cut to fit a pull-request comment** (GitHub takes 65,536 characters).",
    );
    if !left_out.is_empty() {
        note.push_str(" Not shown in full: ");
        let mut named = 0;
        for name in &left_out {
            if note.len() + name.len() > NOTE_ROOM - 400 {
                break;
            }
            if named > 0 {
                note.push_str(", ");
            }
            note.push_str(name);
            named += 1;
        }
        if named < left_out.len() {
            note.push_str(&format!(" and {} more", left_out.len() - named));
        }
        note.push_str(". `strata show LABEL --env ENV` prints a stack's plan in full.");
    }
    note.push_str(" The full run: the same command with `--json`, or the CI log.\n");
    out.push_str(&note);
    out
}

/// Text of a policy finding as Markdown shows it outside a code block: on one line, with
/// `<`, `>` and `&` as entities, so that it opens or closes no section.
pub fn markdown_text(text: &str) -> String {
    strata_graph::text::plain(text)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

pub use strata_exec::plan_json::action_sign;

/// One line per resource change: sign, address, and for a replacement what forces it (or
/// what changes).
pub fn resource_lines(plan: &strata_exec::plan_json::PlanSummary) -> Vec<String> {
    let mut lines: Vec<String> = plan
        .resources
        .iter()
        .map(|r| {
            let what = if !r.forced_by.is_empty() {
                Some(format!("forced by {}", r.forced_by.join(", ")))
            } else if !r.changed.is_empty() {
                Some(r.changed.join(", "))
            } else {
                None
            };
            let why = match (r.reason_text(), what) {
                (Some(reason), Some(what)) => format!(" ({reason}; {what})"),
                (Some(reason), None) => format!(" ({reason})"),
                (None, Some(what)) => format!(" ({what})"),
                (None, None) => String::new(),
            };
            format!("{} {}{why}", r.sign(), r.shown())
        })
        .collect();
    // A summary cached before output actions were kept names the outputs only.
    if plan.output_actions.is_empty() {
        lines.extend(plan.outputs_changed.iter().map(|o| format!("~ output.{o}")));
    } else {
        lines.extend(
            plan.output_actions
                .iter()
                .map(|o| format!("{} output.{}", action_sign(&o.action), o.name)),
        );
    }
    lines
}

/// What `strata plan` prints after the run: each stack's changes, in graph order, then the
/// totals.
pub fn plan_text(report: &RunReport) -> String {
    let mut text = String::new();
    let (mut add, mut change, mut destroy, mut stacks, mut unchanged) = (0, 0, 0, 0, 0);
    // Plans with no changes made against upstream outputs an upstream plan of this run
    // changes: they may well change once it is applied.
    let mut provisional = Vec::new();
    for t in report.tasks.iter().filter(|t| t.status == Status::Ok) {
        let Some(plan) = t.summary.plan() else {
            continue;
        };
        stacks += 1;
        if !plan.has_changes() {
            unchanged += 1;
            if t.provisional {
                provisional.push(format!("{} [{}]", t.label, t.env.as_deref().unwrap_or("-")));
            }
            continue;
        }
        add += plan.add;
        change += plan.change;
        destroy += plan.destroy;
        let _ = writeln!(
            text,
            "{} [{}]: +{} ~{} -{}{}{}",
            t.label,
            t.env.as_deref().unwrap_or("-"),
            plan.add,
            plan.change,
            plan.destroy,
            if t.destroy { " (destroy)" } else { "" },
            if t.provisional { " (provisional)" } else { "" }
        );
        for line in resource_lines(plan) {
            let _ = writeln!(text, "  {line}");
        }
    }
    if stacks > 0 {
        let _ = writeln!(
            text,
            "Plan: {add} to add, {change} to change, {destroy} to destroy in {} stack(s){}",
            stacks - unchanged,
            if unchanged > 0 {
                format!("; {unchanged} without changes")
            } else {
                String::new()
            }
        );
    }
    if !provisional.is_empty() {
        let _ = writeln!(
            text,
            "Provisional (planned against the current outputs of a stack this plan changes; planned again after it is applied): {}",
            provisional.join(", ")
        );
    }
    text
}

/// One collapsible section per stack and environment with changes (its resource changes and
/// the policy findings there), as reviewers know them from pull-request automation.
fn plan_sections(report: &RunReport, md: &mut String) {
    let plans: Vec<&TaskReport> = report
        .tasks
        .iter()
        .filter(|t| t.status == Status::Ok && t.summary.plan().is_some())
        .collect();
    if plans.is_empty() {
        return;
    }
    md.push_str("\n### Plans\n");
    let mut unchanged = Vec::new();
    for t in plans {
        let plan = t.summary.plan().expect("plans");
        let env = t.env.as_deref().unwrap_or("-");
        if !plan.has_changes() {
            unchanged.push(format!(
                "{} [{}]{}",
                code(&t.label),
                inline_text(env),
                if t.provisional { " (provisional)" } else { "" }
            ));
            continue;
        }
        let findings: Vec<String> = report
            .tasks
            .iter()
            .filter(|p| p.label == t.label && p.env == t.env)
            .filter_map(|p| p.summary.policy())
            .flat_map(|p| p.findings.iter())
            .map(|f| {
                format!(
                    "- **{}** {}: {}",
                    f.severity,
                    markdown_text(&f.rule),
                    markdown_text(&f.msg)
                )
            })
            .collect();
        let lines = resource_lines(plan);
        let fence = fence_for(&lines.join("\n"));
        let _ = writeln!(
            md,
            "\n<details><summary>{} [{}]: +{} ~{} -{}{}{}{}</summary>\n\n{fence}diff",
            code(&t.label),
            inline_text(env),
            plan.add,
            plan.change,
            plan.destroy,
            if t.destroy { " (destroy)" } else { "" },
            if t.provisional { " (provisional)" } else { "" },
            if findings.is_empty() {
                String::new()
            } else {
                format!(", {} policy finding(s)", findings.len())
            }
        );
        for line in lines {
            // A resource's key may hold anything (`for_each` over strings): one line each.
            let line = strata_graph::text::plain(&line).replace(['\n', '\t'], " ");
            // `diff` highlighting keys on the first character.
            let line = match line.chars().next() {
                Some('+') | Some('-') => line,
                Some('~') => format!("!{}", &line[1..]),
                _ => format!(" {line}"),
            };
            let _ = writeln!(md, "{line}");
        }
        let _ = writeln!(md, "{fence}");
        if !findings.is_empty() {
            md.push_str("\nPolicy findings:\n\n");
            for f in findings {
                let _ = writeln!(md, "{f}");
            }
        }
        md.push_str("\n</details>\n");
    }
    if !unchanged.is_empty() {
        let _ = writeln!(md, "\nNo changes: {}", unchanged.join(", "));
        if unchanged.iter().any(|u| u.ends_with("(provisional)")) {
            md.push_str(
                "\n(provisional: planned against the current outputs of a stack this plan changes; planned again after it is applied)\n",
            );
        }
    }
}

/// The last `n` lines of a log.
pub fn tail(log: &str, n: usize) -> String {
    let lines: Vec<&str> = log.trim_end().lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::{PolicySummary, Summary};
    use crate::task::Action;
    use strata_exec::plan_json::{PlanSummary, ResourceAction};
    use strata_exec::step::{RenderSummary, StepSummary};
    use strata_graph::discover::Kind;
    use strata_policy::{Finding, Outcome};

    fn task(label: &str, action: Action, env: Option<&str>, status: Status) -> TaskReport {
        let mut t = TaskReport::new(
            label,
            Kind::Stack,
            action,
            env.map(str::to_string),
            String::new(),
        );
        t.status = status;
        t
    }

    fn change(address: &str, action: &str) -> ResourceAction {
        ResourceAction {
            address: address.into(),
            action: action.into(),
            forced_by: Vec::new(),
            changed: Vec::new(),
            reason: None,
            create_before_destroy: false,
            deposed: None,
        }
    }

    fn plan(label: &str, env: &str, resources: Vec<ResourceAction>) -> TaskReport {
        let count = |a: &str| {
            resources
                .iter()
                .filter(|r| r.action == a || r.action == "replace")
                .count() as u32
        };
        let mut t = task(label, Action::Plan, Some(env), Status::Ok);
        t.summary = Summary::Step(StepSummary::Plan(PlanSummary {
            add: count("create"),
            change: count("update"),
            destroy: count("delete"),
            import: 0,
            resources,
            outputs_changed: Vec::new(),
            output_actions: Vec::new(),
            outside: Vec::new(),
        }));
        t
    }

    fn finding(rule: &str, outcome: Outcome, severity: &str) -> Finding {
        Finding {
            policy: "policies/guard".into(),
            namespace: "main".into(),
            rule: rule.into(),
            outcome,
            msg: format!("{rule} message"),
            severity: severity.into(),
            file: Some("stacks/a/main.tf".into()),
            line: Some(3),
            details: serde_json::json!({}),
            waived_by: None,
        }
    }

    fn policy(label: &str, env: &str, max: Option<&str>, findings: Vec<Finding>) -> TaskReport {
        let mut t = task(label, Action::Policy, Some(env), Status::Ok);
        t.summary = Summary::Policy(PolicySummary {
            max_severity: max.map(str::to_string),
            findings,
            ..PolicySummary::default()
        });
        t
    }

    /// A cached fmt, a failed plan with an unruly log, a render that did not run.
    fn mixed_run(allow_incomplete: bool) -> RunReport {
        let mut fmt = task("stacks/a", Action::Fmt, None, Status::Ok);
        fmt.cached = true;
        fmt.duration_ms = 1500;
        let mut failed = task("stacks/a", Action::Plan, Some("dev"), Status::Failed);
        failed.reason = Some("terraform plan failed".into());
        failed.log = "Error: <bad> & \"worse\"\u{1b}[31m\u{ffff}\u{fffe}".into();
        failed.duration_ms = 250;
        let mut skipped = task("charts/b", Action::Render, Some("dev"), Status::Skipped);
        skipped.reason = Some("lint failed".into());
        RunReport::new(vec![fmt, failed, skipped], false, allow_incomplete)
    }

    /// Text from the repository (a directory's name, a tool's log) cannot break the
    /// comment's structure: an HTML comment opened in a label hid every section after it, a
    /// `|` split a table row, and a fence in a log closed its block.
    #[test]
    fn repository_text_cannot_break_the_comment() {
        let hiding = plan(
            "stacks/app<!--",
            "dev",
            vec![change("null_resource.a", "create")],
        );
        let hidden = plan(
            "stacks/db",
            "dev",
            vec![change("null_resource.primary", "delete")],
        );
        let piped = task("stacks/b|c", Action::Fmt, None, Status::Ok);
        let mut failed = task(
            "stacks/x`</code></summary></details>",
            Action::Plan,
            Some("dev"),
            Status::Failed,
        );
        failed.reason = Some("terraform plan failed".into());
        failed.log = "Error: The value is bad.\n   ```\n</details>\n<!--\nHidden.\n`````".into();
        let md = markdown(&RunReport::new(
            vec![hiding, hidden, piped, failed],
            false,
            false,
        ));
        assert!(!md.contains("stacks/app<!--"), "{md}");
        assert!(
            md.contains("<code>stacks/app&#60;&#33;--</code> [dev]: +1"),
            "{md}"
        );
        assert!(!md.contains("</code></summary></details><"), "{md}");
        let row = md.lines().find(|l| l.contains("stacks/b")).unwrap();
        assert_eq!(row.matches('|').count(), 6, "{row}");
        // The failure's log sits in a fence longer than any run of backticks in it.
        assert!(md.contains("\n``````\nError: The value is bad."), "{md}");
        assert!(md.trim_end().ends_with("`````\n``````"), "{md}");
        // Cut to fit, a long fence is closed with one as long.
        let long = format!(
            "{}\n``````\n{}",
            "x\n".repeat(10_000),
            "```\n".repeat(10_000)
        );
        let cut = limit_comment(long);
        let closing = cut.lines().rev().find(|l| l.starts_with("```")).unwrap();
        assert_eq!(closing, "``````", "{}", &cut[cut.len() - 400..]);
    }

    /// Terminal escapes and control characters from a policy, a tool or a resource key are
    /// dropped from the comment: in a terminal that shows the file, `\r` and colours could
    /// make a finding read as something else.
    #[test]
    fn terminal_escapes_do_not_reach_the_comment() {
        let mut changed = plan(
            "stacks/a",
            "dev",
            vec![change("null_resource.k[\"x\ny\u{1b}[2K\"]", "create")],
        );
        changed.reason = None;
        let mut denied = finding("deny_public", Outcome::Deny, "high");
        denied.msg = "bucket is public\r\u{1b}[32mall clear\u{1b}[0m\u{7}".into();
        let mut failed = task("stacks/b", Action::Plan, Some("dev"), Status::Failed);
        failed.log = "\u{1b}[31mError:\u{1b}[0m boom\u{1b}]0;owned\u{7}\r\n".into();
        let md = markdown(&RunReport::new(
            vec![
                changed,
                policy("stacks/a", "dev", None, vec![denied]),
                failed,
            ],
            false,
            false,
        ));
        assert!(
            !md.contains('\u{1b}') && !md.contains('\r') && !md.contains('\u{7}'),
            "{md:?}"
        );
        assert!(
            md.contains("- **high** deny_public: bucket is publicall clear"),
            "{md}"
        );
        assert!(md.contains("\nError: boom\n"), "{md}");
        assert!(md.contains("+ null_resource.k[\"x y\"]"), "{md}");
    }

    #[test]
    fn junit_counts_failures_and_reports_tasks_that_did_not_run_as_errors_unless_accepted() {
        let xml = junit(&mixed_run(false));
        assert!(
            xml.contains("<testsuites name=\"strata\" tests=\"3\" failures=\"1\" errors=\"1\" skipped=\"0\" time=\"1.750\">"),
            "{xml}"
        );
        // One suite per target, sorted by label.
        let b = xml.find("<testsuite name=\"charts/b\"").unwrap();
        let a = xml.find("<testsuite name=\"stacks/a\"").unwrap();
        assert!(b < a, "{xml}");
        assert!(xml.contains(
            "<testsuite name=\"charts/b\" tests=\"1\" failures=\"0\" errors=\"1\" skipped=\"0\""
        ));
        assert!(
            xml.contains("<error message=\"did not run: lint failed\"/>"),
            "{xml}"
        );
        assert!(xml.contains("name=\"render [dev]\""), "{xml}");
        assert!(xml.contains("<system-out>cached</system-out>"), "{xml}");
        // The tool's output is escaped, and control characters XML forbids are dropped.
        assert!(
            xml.contains("<failure message=\"terraform plan failed\">Error: &lt;bad&gt; &amp; &quot;worse&quot;[31m</failure>"),
            "{xml}"
        );
        assert!(!xml.contains(['\u{1b}', '\u{fffe}', '\u{ffff}']));

        let accepted = junit(&mixed_run(true));
        assert!(
            accepted.contains("failures=\"1\" errors=\"0\" skipped=\"1\""),
            "{accepted}"
        );
        assert!(
            accepted.contains("<skipped message=\"lint failed\"/>"),
            "{accepted}"
        );
        assert!(!accepted.contains("<error"), "{accepted}");

        // A deleted stack that left resources behind has no task, and is no pass either.
        let mut left = RunReport::new(Vec::new(), false, false);
        left.incomplete.push(crate::NotRunTask {
            label: "stacks/old".into(),
            action: Action::Apply,
            env: Some("dev".into()),
            reason: "deleted, and its state in dev holds 2 resources".into(),
            left_behind: true,
        });
        let xml = junit(&left);
        assert!(
            xml.contains("<testsuites name=\"strata\" tests=\"1\" failures=\"0\" errors=\"1\""),
            "{xml}"
        );
        assert!(
            xml.contains(
                "<error message=\"did not run: deleted, and its state in dev holds 2 resources\"/>"
            ),
            "{xml}"
        );
    }

    /// A line break in a label stays one in the attributes that name it: a parser turns a
    /// raw one into a space, and `stacks/new\nline` would read as `stacks/new line`.
    #[test]
    fn junit_attributes_keep_line_breaks() {
        let t = task("stacks/new\nline", Action::Fmt, None, Status::Ok);
        let xml = junit(&RunReport::new(vec![t], false, false));
        assert!(xml.contains("name=\"stacks/new&#10;line\""), "{xml}");
        assert!(!xml.contains("stacks/new\nline"), "{xml}");
    }

    #[test]
    fn markdown_summarises_counts_per_target_and_environment_and_shows_failures() {
        let mut report = mixed_run(false);
        let log: Vec<String> = (0..40).map(|i| format!("L{i:02}")).collect();
        report.tasks[1].log = log.join("\n");
        let mut render = task("charts/c", Action::Render, Some("prod"), Status::Ok);
        render.summary = Summary::Step(StepSummary::Render(RenderSummary {
            objects: 4,
            ..RenderSummary::default()
        }));
        render.provisional = true;
        report.tasks.push(render);
        let md = markdown(&report);
        assert!(
            md.contains("❌ **4** tasks: 2 ok (1 from cache), 1 failed, 1 skipped."),
            "{md}"
        );
        assert!(
            md.contains("| <code>stacks/a</code> | – | fmt ✅ cached | – | – |"),
            "{md}"
        );
        assert!(
            md.contains("| <code>stacks/a</code> | dev | – | ❌ | – |"),
            "{md}"
        );
        assert!(
            md.contains("| <code>charts/b</code> | dev | – | – | ⏭️ |"),
            "{md}"
        );
        assert!(
            md.contains("| <code>charts/c</code> | prod | – | – | ✅ 4 objects (provisional) |"),
            "{md}"
        );
        assert!(
            md.contains("### Did not run\n\n- <code>charts/b</code> render [dev]: lint failed"),
            "{md}"
        );
        // A failure shows its reason and the end of its log.
        assert!(
            md.contains("**<code>stacks/a</code> plan [dev]**: terraform plan failed"),
            "{md}"
        );
        assert!(md.contains("L10\n") && md.contains("L39\n"), "{md}");
        assert!(!md.contains("L09"), "only the last 30 lines: {md}");

        let accepted = markdown(&mixed_run(true));
        assert!(accepted.contains("### Did not run (accepted with `--allow-incomplete`)"));
        let clean = markdown(&RunReport::new(
            vec![task("stacks/a", Action::Fmt, None, Status::Ok)],
            false,
            false,
        ));
        assert!(clean.contains("✅ **1** tasks: 1 ok (0 from cache), 0 failed, 0 skipped."));
        assert!(!clean.contains("### Failures") && !clean.contains("### Did not run"));
    }

    #[test]
    fn markdown_shows_each_changing_plan_as_a_diff_with_its_policy_findings() {
        let mut replace = change("aws_instance.web", "replace");
        replace.forced_by = vec!["ami".into()];
        let report = RunReport::new(
            vec![
                plan(
                    "stacks/a",
                    "dev",
                    vec![
                        change("aws_s3_bucket.logs", "create"),
                        change("aws_iam_role.r", "update"),
                        replace,
                    ],
                ),
                policy(
                    "stacks/a",
                    "dev",
                    None,
                    vec![finding("deny_public", Outcome::Deny, "high")],
                ),
                // The same stack elsewhere: its findings belong to that environment.
                policy(
                    "stacks/a",
                    "prod",
                    None,
                    vec![finding("deny_other", Outcome::Deny, "high")],
                ),
                plan("stacks/quiet", "dev", Vec::new()),
            ],
            false,
            false,
        );
        let md = markdown(&report);
        assert!(
            md.contains("<details><summary><code>stacks/a</code> [dev]: +2 ~2 -1, 1 policy finding(s)</summary>"),
            "{md}"
        );
        assert!(
            md.contains("```diff\n+ aws_s3_bucket.logs\n! aws_iam_role.r\n-/+ aws_instance.web (forced by ami)\n```"),
            "{md}"
        );
        assert!(
            md.contains("- **high** deny_public: deny_public message"),
            "{md}"
        );
        assert!(!md.contains("deny_other message"), "{md}");
        assert!(
            md.contains("No changes: <code>stacks/quiet</code> [dev]"),
            "{md}"
        );
    }

    #[test]
    fn plan_text_lists_changes_per_stack_and_totals_only_successful_plans() {
        let mut replace = change("aws_instance.web", "replace");
        replace.changed = vec!["ami".into(), "tags".into()];
        let mut gone = plan("stacks/old", "prod", vec![change("aws_vpc.main", "delete")]);
        gone.destroy = true;
        let mut failed = plan("stacks/broken", "dev", vec![change("x.y", "create")]);
        failed.status = Status::Failed;
        let report = RunReport::new(
            vec![
                plan(
                    "stacks/a",
                    "dev",
                    vec![change("aws_s3_bucket.logs", "create"), replace],
                ),
                plan("stacks/quiet", "dev", Vec::new()),
                gone,
                failed,
                task("stacks/a", Action::Init, Some("dev"), Status::Ok),
            ],
            false,
            false,
        );
        assert_eq!(
            plan_text(&report),
            "stacks/a [dev]: +2 ~1 -1\n  + aws_s3_bucket.logs\n  -/+ aws_instance.web (ami, tags)\n\
             stacks/old [prod]: +0 ~0 -1 (destroy)\n  - aws_vpc.main\n\
             Plan: 2 to add, 1 to change, 2 to destroy in 2 stack(s); 1 without changes\n"
        );
        // Nothing planned: nothing said.
        let none = RunReport::new(
            vec![task("stacks/a", Action::Fmt, None, Status::Ok)],
            false,
            false,
        );
        assert_eq!(plan_text(&none), "");
    }

    /// A plan without changes made against the current outputs of an upstream stack whose
    /// plan in the same run changes them is not reported as a stack without changes alone:
    /// it may change once the upstream is applied.
    #[test]
    fn a_provisional_plan_without_changes_says_it_is_provisional() {
        let mut app = plan("stacks/app", "dev", Vec::new());
        app.provisional = true;
        let report = RunReport::new(
            vec![
                plan(
                    "stacks/net",
                    "dev",
                    vec![change("null_resource.n", "create")],
                ),
                app,
            ],
            false,
            false,
        );
        let text = plan_text(&report);
        assert!(
            text.ends_with(
                "1 without changes\nProvisional (planned against the current outputs of a stack this plan changes; planned again after it is applied): stacks/app [dev]\n"
            ),
            "{text}"
        );
        let md = markdown(&report);
        assert!(
            md.contains(
                "No changes: <code>stacks/app</code> [dev] (provisional)\n\n(provisional: planned"
            ),
            "{md}"
        );
    }

    #[test]
    fn resource_lines_use_terraform_signs_and_name_changed_outputs() {
        let mut summary = PlanSummary {
            add: 0,
            change: 0,
            destroy: 0,
            import: 0,
            resources: vec![
                change("data.aws_ami.x", "read"),
                change("aws_s3_bucket.b", "import"),
                change("aws_s3_bucket.c", "no-op-ish"),
            ],
            outputs_changed: vec!["vpc_id".into()],
            output_actions: Vec::new(),
            outside: Vec::new(),
        };
        summary.resources[0].changed = vec!["id".into()];
        assert_eq!(
            resource_lines(&summary),
            [
                "<= data.aws_ami.x (id)",
                "<- aws_s3_bucket.b",
                "  aws_s3_bucket.c",
                "~ output.vpc_id"
            ]
        );
        // An output created or going away is not an update.
        summary.resources.clear();
        summary.outputs_changed = vec!["new".into(), "old".into(), "vpc_id".into()];
        summary.output_actions = [("new", "create"), ("old", "delete"), ("vpc_id", "update")]
            .into_iter()
            .map(|(name, action)| strata_exec::plan_json::OutputAction {
                name: name.into(),
                action: action.into(),
            })
            .collect();
        assert_eq!(
            resource_lines(&summary),
            ["+ output.new", "- output.old", "~ output.vpc_id"]
        );
        // A replacement nothing in the configuration forces says why it happens.
        summary.output_actions.clear();
        summary.outputs_changed.clear();
        let mut tainted = change("null_resource.a", "replace");
        tainted.reason = Some("replace_because_tainted".into());
        let mut forced = change("aws_instance.b", "replace");
        forced.reason = Some("replace_because_tainted".into());
        forced.forced_by = vec!["ami".into()];
        let mut gone = change("aws_instance.c[1]", "delete");
        gone.reason = Some("delete_because_count_index".into());
        summary.resources = vec![tainted, forced, gone];
        assert_eq!(
            resource_lines(&summary),
            [
                "-/+ null_resource.a (tainted)",
                "-/+ aws_instance.b (tainted; forced by ami)",
                "- aws_instance.c[1] (its count index is gone)"
            ]
        );
    }

    /// A finding keeps its fingerprint when its line moves, and two findings of one rule
    /// differ: on different resources, or on one resource with different messages (two
    /// containers of a pod), or even alike in everything.
    #[test]
    fn sarif_fingerprints_follow_the_finding_not_its_line() {
        let on = |resource: &str, line: usize, msg: &str| {
            let mut f = finding("deny_x", Outcome::Deny, "high");
            f.details = serde_json::json!({"id": "STRATA-1", "resource": resource});
            f.line = Some(line);
            f.msg = msg.into();
            f
        };
        let print = |label: &str, f: Finding| {
            let report = RunReport::new(vec![policy(label, "dev", None, vec![f])], false, false);
            let doc: serde_json::Value = serde_json::from_str(&sarif(&report, "")).unwrap();
            doc["runs"][0]["results"][0]["partialFingerprints"]["strata/v1"]
                .as_str()
                .unwrap()
                .to_string()
        };
        let first = print("stacks/a", on("aws_s3_bucket.b", 3, "b is public"));
        assert_eq!(first.len(), 32);
        assert_eq!(
            first,
            print("stacks/a", on("aws_s3_bucket.b", 40, "b is public"))
        );
        assert_ne!(
            first,
            print("stacks/a", on("aws_s3_bucket.b", 3, "b is public (acl)"))
        );
        assert_ne!(
            first,
            print("stacks/a", on("aws_s3_bucket.c", 3, "b is public"))
        );
        assert_ne!(
            first,
            print("stacks/z", on("aws_s3_bucket.b", 3, "b is public"))
        );
        // Two findings alike in everything still get two fingerprints.
        let same = on("aws_s3_bucket.b", 3, "b is public");
        let report = RunReport::new(
            vec![policy("stacks/a", "dev", None, vec![same.clone(), same])],
            false,
            false,
        );
        let doc: serde_json::Value = serde_json::from_str(&sarif(&report, "")).unwrap();
        let prints: std::collections::BTreeSet<&str> = doc["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["partialFingerprints"]["strata/v1"].as_str().unwrap())
            .collect();
        assert_eq!(prints.len(), 2);
    }

    /// A file's name with characters a URI reserves names that file (`#` would start a
    /// fragment, `%20` would be read as a space).
    #[test]
    fn sarif_uris_are_percent_encoded() {
        assert_eq!(
            uri_path("deploy/has space/x#y%20z[1]/pod.yaml"),
            "deploy/has%20space/x%23y%2520z%5B1%5D/pod.yaml"
        );
        assert_eq!(uri_path("stacks/café/main.tf"), "stacks/caf%C3%A9/main.tf");
        assert_eq!(uri_path("stacks/a-b_c.d~/x.tf"), "stacks/a-b_c.d~/x.tf");
    }

    #[test]
    fn sarif_levels_follow_the_severity_gate_and_waivers() {
        let mut waived = finding("deny_waived", Outcome::Deny, "critical");
        waived.waived_by = Some("policies/waivers.toml:4".into());
        let mut with_id = finding("deny_ided", Outcome::Deny, "high");
        with_id.details = serde_json::json!({"id": "STRATA-1", "remediation": "fix it"});
        let mut same_id = finding("deny_ided", Outcome::Deny, "high");
        same_id.details = with_id.details.clone();
        same_id.line = None;
        let mut report = RunReport::new(
            vec![
                policy(
                    "stacks/a",
                    "prod",
                    Some("medium"),
                    vec![
                        finding("deny_blocking", Outcome::Deny, "high"),
                        finding("deny_tolerated", Outcome::Deny, "low"),
                        waived,
                        finding("warn_x", Outcome::Warn, "info"),
                        finding("unknown_x", Outcome::Unknown, "info"),
                        with_id,
                    ],
                ),
                policy("stacks/b", "prod", None, vec![same_id]),
            ],
            false,
            false,
        );
        let doc: serde_json::Value = serde_json::from_str(&sarif(&report, "infra/")).unwrap();
        let run = &doc["runs"][0];
        let results = run["results"].as_array().unwrap();
        // URIs are relative to the repository's top level: the workspace is in `infra/`.
        for r in results {
            let uri = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap();
            assert!(uri.is_empty() || uri.starts_with("infra/"), "{uri}");
        }
        assert!(results.iter().any(
            |r| r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .is_some_and(|u| u.starts_with("infra/"))
        ));
        let level = |rule: &str| -> Vec<&str> {
            results
                .iter()
                .filter(|r| r["ruleId"] == rule)
                .map(|r| r["level"].as_str().unwrap())
                .collect()
        };
        assert_eq!(level("policies/guard/main.deny_blocking"), ["error"]);
        assert_eq!(level("policies/guard/main.deny_tolerated"), ["warning"]);
        assert_eq!(level("policies/guard/main.deny_waived"), ["note"]);
        assert_eq!(level("policies/guard/main.warn_x"), ["warning"]);
        assert_eq!(level("policies/guard/main.unknown_x"), ["note"]);
        // Without a max severity every deny blocks.
        assert_eq!(level("STRATA-1"), ["error", "error"]);
        let waived = results
            .iter()
            .find(|r| r["ruleId"] == "policies/guard/main.deny_waived")
            .unwrap();
        assert_eq!(
            waived["suppressions"][0]["justification"],
            "waived by policies/waivers.toml:4"
        );
        // One rule per id, each result pointing at its rule.
        let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
        assert_eq!(rules.len(), 6);
        for r in results {
            assert_eq!(
                rules[r["ruleIndex"].as_u64().unwrap() as usize]["id"],
                r["ruleId"]
            );
        }
        let strata1 = rules.iter().find(|r| r["id"] == "STRATA-1").unwrap();
        assert_eq!(strata1["help"]["text"], "fix it");
        assert_eq!(strata1["properties"]["security-severity"], "8.0");
        let located = &results[0]["locations"][0]["physicalLocation"];
        assert_eq!(located["artifactLocation"]["uri"], "infra/stacks/a/main.tf");
        assert_eq!(located["region"]["startLine"], 3);
        assert_eq!(run["invocations"][0]["executionSuccessful"], true);

        // A policy evaluation that did not run: the scan is not a clean one.
        report.incomplete.push(crate::NotRunTask {
            label: "stacks/c".into(),
            action: Action::Policy,
            env: Some("prod".into()),
            reason: "plan failed".into(),
            left_behind: false,
        });
        let doc: serde_json::Value = serde_json::from_str(&sarif(&report, "")).unwrap();
        let invocation = &doc["runs"][0]["invocations"][0];
        assert_eq!(invocation["executionSuccessful"], false);
        assert_eq!(
            invocation["toolExecutionNotifications"][0]["message"]["text"],
            "stacks/c policy [prod] did not run: plan failed"
        );
        assert_eq!(
            invocation["toolExecutionNotifications"][0]["level"],
            "error"
        );

        // A policy that stopped on an error, with no finding to show: not clean either.
        report.incomplete.clear();
        let mut broken = task("stacks/d", Action::Policy, Some("dev"), Status::Failed);
        broken.reason = Some("rego policy failed".into());
        report.tasks.push(broken);
        let doc: serde_json::Value = serde_json::from_str(&sarif(&report, "")).unwrap();
        let invocation = &doc["runs"][0]["invocations"][0];
        assert_eq!(invocation["executionSuccessful"], false, "{invocation}");
        assert_eq!(
            invocation["toolExecutionNotifications"][0]["message"]["text"],
            "stacks/d policy [dev] failed: rego policy failed"
        );
    }

    #[test]
    fn long_summaries_are_cut_to_fit_a_comment_and_say_so() {
        let mut md = String::from("## strata\n");
        for i in 0..5000 {
            md.push_str(&format!(
                "\n<details><summary>stacks/s{i}</summary>\n\n```diff\n+ null_resource.r{i}\n```\n\n</details>\n"
            ));
        }
        let cut = limit_comment(md.clone());
        assert!(cut.len() <= COMMENT_LIMIT, "{}", cut.len());
        assert!(cut.contains("This summary was cut"));
        // The note names what is not shown, and how to see it.
        let shown = cut.matches("</summary>").count();
        let listed = cut.split("Not shown in full: stacks/s").nth(1).unwrap();
        let first: usize = listed.split(',').next().unwrap().parse().unwrap();
        // The section cut short, or the first after the cut.
        assert!(first + 1 == shown || first == shown, "{first} {shown}");
        assert!(
            cut.contains(" more. `strata show LABEL --env ENV`"),
            "{}",
            &cut[cut.len() - 300..]
        );
        assert_eq!(cut.matches("```").count() % 2, 0, "code blocks are closed");
        assert_eq!(
            cut.matches("<details>").count(),
            cut.matches("</details>").count()
        );
        let short = "## strata\nall good\n".to_string();
        assert_eq!(limit_comment(short.clone()), short);

        // Backticks and `<details>` inside a code block (a resource's key) open nothing:
        // the block cut short is still closed, and so is its section.
        let mut md = String::from("## strata\n\n<details><summary>stacks/s</summary>\n\n```diff\n");
        for i in 0..5000 {
            md.push_str(&format!("+ null_resource.r[\"x```y<details>{i}\"]\n"));
        }
        md.push_str("```\n\n</details>\n");
        let cut = limit_comment(md);
        assert!(cut.len() <= COMMENT_LIMIT, "{}", cut.len());
        let tail: Vec<&str> = cut.lines().rev().take(6).collect();
        assert!(
            tail.contains(&"```") && tail.contains(&"</details>"),
            "{tail:?}"
        );
        assert_eq!(
            markdown_text("a <b>\n```x</details> & c"),
            "a &lt;b&gt; ```x&lt;/details&gt; &amp; c"
        );
    }
}
