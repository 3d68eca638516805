//! JUnit XML of a run: one test suite per target, one test case per task.

use super::*;

pub(super) fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // As references, so that an attribute keeps them (a parser turns a line break
            // written in one into a space: `stacks/a\nb` would read `stacks/a b`).
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            // XML 1.0 forbids most control characters, which tool output may contain, and
            // the two noncharacters U+FFFE and U+FFFF.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            '\u{fffe}' | '\u{ffff}' => {}
            c => out.push(c),
        }
    }
    out
}

/// One `<testsuite>` per target, one `<testcase>` per task.
pub fn junit(report: &RunReport) -> String {
    let mut by_target: BTreeMap<&str, Vec<&TaskReport>> = BTreeMap::new();
    for t in &report.tasks {
        by_target.entry(&t.label).or_default().push(t);
    }
    // What did not run and has no task (a deleted stack that left resources behind).
    let mut without_task: BTreeMap<&str, Vec<&NotRunTask>> = BTreeMap::new();
    for n in &report.incomplete {
        let has_task = report
            .tasks
            .iter()
            .any(|t| t.label == n.label && t.action == n.action && t.env == n.env);
        if !has_task {
            without_task.entry(&n.label).or_default().push(n);
        }
    }
    let untasked: usize = without_task.values().map(Vec::len).sum();
    let count = |s: Status| report.tasks.iter().filter(|t| t.status == s).count();
    // Tasks that did not run are errors unless that was accepted.
    let not_run = count(Status::Skipped) + untasked;
    let (errors, skipped) = match report.allow_incomplete {
        true => (0, not_run),
        false => (not_run, 0),
    };
    let total_ms: u64 = report.tasks.iter().map(|t| t.duration_ms).sum();
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        x,
        "<testsuites name=\"strata\" tests=\"{}\" failures=\"{}\" errors=\"{errors}\" skipped=\"{skipped}\" time=\"{:.3}\">",
        report.tasks.len() + untasked,
        count(Status::Failed),
        total_ms as f64 / 1000.0
    );
    for (label, tasks) in by_target {
        let failures = tasks.iter().filter(|t| t.status == Status::Failed).count();
        let not_run = tasks.iter().filter(|t| t.status == Status::Skipped).count();
        let (errors, skipped) = match report.allow_incomplete {
            true => (0, not_run),
            false => (not_run, 0),
        };
        let time: u64 = tasks.iter().map(|t| t.duration_ms).sum();
        let _ = writeln!(
            x,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\" time=\"{:.3}\">",
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
                // A task asked for that did not run fails the run unless that was accepted:
                // the report says so as the exit code does.
                Status::Skipped if !report.allow_incomplete => {
                    let _ = write!(
                        x,
                        ">\n      <error message=\"did not run: {}\"/>\n    </testcase>\n",
                        xml_escape(t.reason.as_deref().unwrap_or("skipped"))
                    );
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
    for (label, missing) in without_task {
        let (errors, skipped) = match report.allow_incomplete {
            true => (0, missing.len()),
            false => (missing.len(), 0),
        };
        let _ = writeln!(
            x,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"0\" errors=\"{errors}\" skipped=\"{skipped}\" time=\"0.000\">",
            xml_escape(label),
            missing.len()
        );
        for n in missing {
            let name = match &n.env {
                Some(env) => format!("{} [{env}]", n.action),
                None => n.action.to_string(),
            };
            let element = if report.allow_incomplete {
                "skipped"
            } else {
                "error"
            };
            let _ = write!(
                x,
                "    <testcase classname=\"{}\" name=\"{}\" time=\"0.000\">\n      <{element} message=\"did not run: {}\"/>\n    </testcase>\n",
                xml_escape(label),
                xml_escape(&name),
                xml_escape(&n.reason)
            );
        }
        x.push_str("  </testsuite>\n");
    }
    x.push_str("</testsuites>\n");
    x
}
