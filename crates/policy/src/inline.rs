//! Inline skip comments in Terraform files (`#checkov:skip=ID:reason`, `#trivy:ignore:ID`).
//! They are honoured only when a waiver in force (policies/waivers.toml) registers that rule
//! for that target; others are reported.

use serde::Serialize;

/// An inline skip comment in a Terraform file: rule id and line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InlineSkip {
    pub rule: String,
    pub file: String,
    pub line: usize,
}

/// The inline skips in `texts` (path, content) that no waiver in force for `label` in `env`
/// registers, as warnings: an inline skip is honoured only through a waiver.
pub fn unregistered(
    texts: &[(String, String)],
    waivers: &[strata_graph::model::waivers::Waiver],
    label: &str,
    env: Option<&str>,
    today: i64,
) -> Vec<crate::Finding> {
    use strata_graph::model::waivers::WAIVERS_FILE;
    let in_force: Vec<&strata_graph::model::waivers::Waiver> = waivers
        .iter()
        .filter(|w| w.applies_to(label, env) && !w.expired(today))
        .collect();
    let mut out = Vec::new();
    for (path, text) in texts {
        for skip in inline_skips(path, text) {
            if in_force.iter().any(|w| w.covers(&[skip.rule.as_str()])) {
                continue;
            }
            out.push(crate::Finding {
                policy: WAIVERS_FILE.to_string(),
                namespace: "strata".into(),
                rule: "unregistered_inline_skip".into(),
                outcome: crate::Outcome::Warn,
                msg: format!(
                    "inline skip of {} is not honoured: register a waiver for it in {WAIVERS_FILE}",
                    skip.rule
                ),
                severity: "medium".into(),
                file: Some(skip.file.clone()),
                line: Some(skip.line),
                details: serde_json::Value::Null,
                waived_by: None,
            });
        }
    }
    out
}

/// `#checkov:skip=CKV_AWS_20:reason` and `#trivy:ignore:AVD-AWS-0086` (also after `//`).
pub fn inline_skips(file: &str, text: &str) -> Vec<InlineSkip> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let Some(pos) = line.find('#').or_else(|| line.find("//")) else {
            continue;
        };
        let comment = line[pos..].trim_start_matches(['#', '/']).trim();
        let rule = if let Some(rest) = comment.strip_prefix("checkov:skip=") {
            rest.split(':').next()
        } else if let Some(rest) = comment.strip_prefix("trivy:ignore:") {
            rest.split_whitespace().next()
        } else {
            None
        };
        if let Some(rule) = rule.filter(|r| !r.is_empty()) {
            out.push(InlineSkip {
                rule: rule.trim().to_string(),
                file: file.to_string(),
                line: i + 1,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_skip_comments() {
        let tf = "resource \"aws_s3_bucket\" \"b\" {\n  #checkov:skip=CKV_AWS_20:public website\n  acl = \"public-read\" # trivy:ignore:AVD-AWS-0086\n}\n";
        let skips = inline_skips("main.tf", tf);
        let got: Vec<(&str, usize)> = skips.iter().map(|s| (s.rule.as_str(), s.line)).collect();
        assert_eq!(got, vec![("CKV_AWS_20", 2), ("AVD-AWS-0086", 3)]);
    }
}
