//! SARIF of a run's policy findings, for code scanning.

use super::*;

/// GitHub code scanning's numeric severity for a strata severity.
pub(super) fn security_severity(severity: &str) -> &'static str {
    match severity {
        "critical" => "9.5",
        "high" => "8.0",
        "medium" => "5.5",
        "low" => "3.0",
        _ => "0.0",
    }
}

/// SARIF 2.1.0 of every policy finding in the run: one rule per rule id (the finding's `id`,
/// else `<policy>/<package>.<rule>`), with help text from its remediation; one result per
/// finding, located at its file and line. Blocking denies are errors, other denies and warns
/// warnings, unknowns notes. File URIs are relative to the repository's top level (what code
/// scanning resolves them against): `repo_prefix` is the workspace's path inside the
/// repository (`""` or `infra/`), put before each workspace-relative path.
pub fn sarif(report: &RunReport, repo_prefix: &str) -> String {
    use serde_json::{json, Map, Value};
    use strata_policy::Outcome;
    let mut rules: Vec<Value> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    let mut results: Vec<Value> = Vec::new();
    let mut occurrences: BTreeMap<String, usize> = BTreeMap::new();
    for t in &report.tasks {
        let Some(summary) = t.summary.policy() else {
            continue;
        };
        let max = summary.max_severity.as_deref();
        for f in &summary.findings {
            let detail = |k: &str| f.details.get(k).and_then(Value::as_str).map(str::to_string);
            let rule_id =
                detail("id").unwrap_or_else(|| format!("{}/{}.{}", f.policy, f.namespace, f.rule));
            let outcome = match f.outcome {
                Outcome::Deny => "deny",
                Outcome::Warn => "warn",
                Outcome::Unknown => "unknown",
            };
            let level = match f.outcome {
                _ if f.waived_by.is_some() => "note",
                Outcome::Deny if strata_policy::blocks(f, max) => "error",
                Outcome::Deny | Outcome::Warn => "warning",
                Outcome::Unknown => "note",
            };
            let k = *index.entry(rule_id.clone()).or_insert_with(|| {
                let title = detail("title").unwrap_or_else(|| f.msg.clone());
                let help = detail("remediation").unwrap_or_else(|| title.clone());
                let mut props = Map::new();
                props.insert(
                    "security-severity".into(),
                    security_severity(&f.severity).into(),
                );
                props.insert("tags".into(), json!(["security", "infrastructure"]));
                if let Some(c) = detail("checkov") {
                    props.insert("checkov".into(), c.into());
                }
                props.insert("policy".into(), f.policy.clone().into());
                let default_level = match f.outcome {
                    Outcome::Deny => "error",
                    Outcome::Warn => "warning",
                    Outcome::Unknown => "note",
                };
                rules.push(json!({
                    "id": rule_id,
                    "name": f.rule,
                    "shortDescription": { "text": title },
                    "help": { "text": help },
                    "defaultConfiguration": { "level": default_level },
                    "properties": Value::Object(props),
                }));
                rules.len() - 1
            });
            let uri = match f.file.as_deref() {
                Some(file) if !file.starts_with('/') && !file.starts_with("../") => uri_path(
                    &format!("{repo_prefix}{}", file.strip_prefix("./").unwrap_or(file)),
                ),
                other => uri_path(other.unwrap_or_default()),
            };
            let mut location = json!({ "physicalLocation": { "artifactLocation": { "uri": uri, "uriBaseId": "%SRCROOT%" } } });
            if let Some(line) = f.line {
                location["physicalLocation"]["region"] = json!({ "startLine": line });
            }
            // The same finding on a later commit, wherever its line moved: the rule, the
            // file, the target and environment, the resource and attribute it is about and
            // its message (which tells two containers of one pod, or two rules of one
            // security group, apart). Findings alike in all of these are numbered.
            let identity = [
                rule_id.as_str(),
                uri.as_str(),
                t.label.as_str(),
                t.env.as_deref().unwrap_or(""),
                detail("resource").as_deref().unwrap_or(""),
                detail("attribute").as_deref().unwrap_or(""),
                f.msg.as_str(),
            ]
            .join("\0");
            let seen = occurrences.entry(identity.clone()).or_insert(0usize);
            *seen += 1;
            let fingerprint = blake3::hash(format!("{identity}\0{seen}").as_bytes()).to_hex();
            let mut result = json!({
                "ruleId": rule_id,
                "ruleIndex": k,
                "level": level,
                "message": { "text": f.msg },
                "locations": [location],
                "partialFingerprints": { "strata/v1": &fingerprint[..32] },
                "properties": {
                    "target": t.label,
                    "environment": t.env,
                    "severity": f.severity,
                    "outcome": outcome,
                },
            });
            if let Some(w) = &f.waived_by {
                result["suppressions"] =
                    json!([{ "kind": "external", "justification": format!("waived by {w}") }]);
            }
            results.push(result);
        }
    }
    // Policy tasks that failed with no blocking finding to show for it (an evaluation
    // error, a policy that does not load): what they would have found is unknown.
    let failed_policies: Vec<&TaskReport> = report
        .tasks
        .iter()
        .filter(|t| t.action == crate::task::Action::Policy && t.status == Status::Failed)
        .filter(|t| {
            t.summary.policy().is_none_or(|s| {
                !s.findings.iter().any(|f| {
                    f.waived_by.is_none() && strata_policy::blocks(f, s.max_severity.as_deref())
                })
            })
        })
        .collect();
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "strata",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "results": results,
            // Whether every policy evaluation asked for ran, and ran to its end: a scan that
            // checked nothing, or a policy that stopped on an error, must not look like a
            // clean one (code scanning closes the alerts of a clean run).
            "invocations": [{
                "executionSuccessful": (report.incomplete.is_empty() || report.allow_incomplete)
                    && failed_policies.is_empty(),
                "toolExecutionNotifications": report
                    .incomplete
                    .iter()
                    .map(|t| json!({
                        "level": if report.allow_incomplete { "warning" } else { "error" },
                        "message": { "text": format!(
                            "{} {}{} did not run: {}",
                            t.label,
                            t.action,
                            t.env.as_deref().map(|e| format!(" [{e}]")).unwrap_or_default(),
                            t.reason
                        )},
                    }))
                    .chain(failed_policies.iter().map(|t| json!({
                        "level": "error",
                        "message": { "text": format!(
                            "{} {}{} failed: {}",
                            t.label,
                            t.action,
                            t.env.as_deref().map(|e| format!(" [{e}]")).unwrap_or_default(),
                            t.reason.as_deref().unwrap_or("see its log")
                        )},
                    })))
                    .collect::<Vec<_>>(),
            }],
        }],
    });
    serde_json::to_string_pretty(&doc).expect("json")
}

/// A path as a URI reference (SARIF's `artifactLocation.uri`, RFC 3986): every byte but the
/// unreserved ones and `/` percent-encoded, so that a `#`, `%`, `?` or space in a file's
/// name names that file, not a fragment or another file.
pub(super) fn uri_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
