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
