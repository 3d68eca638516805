//! Policy as code: Rego policies evaluated in-process (regorus) with conftest's conventions,
//! so a team's existing conftest policy folder runs unchanged.
//!
//! - Rules named `deny`, `violation` and `warn`, or with those prefixes (`deny_public_bucket`),
//!   produce findings. A rule's value is a set of strings (the message) or of objects with a
//!   `msg` field (other fields are kept: `id`, `severity`, ...).
//! - Packages: `main` by default; a policy's metadata may name others, or all of them.
//! - `exception` rules (`exception contains rules if {...}` / `exception[rules] {...}`) name
//!   rules to skip for the current input, by their name after the prefix: `["public_bucket"]`
//!   skips `deny_public_bucket`.
//! - Rego v1 by default; `rego_version = "v0"` in a policy's metadata selects v0 syntax.
//! - `*_test.rego` files hold tests (`test_*` rules), not policies.

pub mod hcl_input;
pub mod inline;
pub mod test;
pub mod usertest;

use serde::Serialize;
use serde_json::Value;

/// What a rule's prefix makes of its results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// `deny*` and `violation*`: a failure.
    Deny,
    /// `warn*`: reported, never a failure by itself.
    Warn,
    /// `unknown*`: the deciding value is known only after apply; reported separately, never
    /// counted as a pass.
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// The policy target (directory) the rule comes from.
    pub policy: String,
    pub namespace: String,
    pub rule: String,
    pub outcome: Outcome,
    pub msg: String,
    /// `info` .. `critical`: the rule's `severity` field, else `critical` for deny (a plain
    /// conftest deny always blocks) and `info` for warn and unknown.
    pub severity: String,
    /// The file the input document came from (a Terraform file), and the line of the
    /// resource the finding names, when known.
    pub file: Option<String>,
    pub line: Option<usize>,
    /// The rule's own fields beside `msg` (id, title, remediation, resource, ...).
    pub details: Value,
    /// The waiver in force that accepts this finding (`policies/waivers.toml:LINE`).
    pub waived_by: Option<String>,
}

impl Finding {
    /// The identities a waiver may name: the rule's `id`, its Checkov id, and
    /// `<policy>/<package>.<rule>`.
    pub fn ids(&self) -> Vec<String> {
        let mut ids = Vec::new();
        for key in ["id", "checkov"] {
            if let Some(v) = self.details.get(key).and_then(Value::as_str) {
                ids.push(v.to_string());
            }
        }
        ids.push(format!("{}/{}.{}", self.policy, self.namespace, self.rule));
        ids
    }
}

/// A rule head found in the sources.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct RuleRef {
    package: String,
    name: String,
}

fn rule_outcome(name: &str) -> Option<Outcome> {
    let starts = |p: &str| name == p || name.starts_with(&format!("{p}_"));
    if starts("deny") || starts("violation") {
        Some(Outcome::Deny)
    } else if starts("warn") {
        Some(Outcome::Warn)
    } else if starts("unknown") {
        Some(Outcome::Unknown)
    } else {
        None
    }
}

/// `deny_public_bucket` -> `public_bucket` (what an exception names).
fn exception_name(name: &str) -> &str {
    for p in ["deny_", "violation_", "warn_", "unknown_"] {
        if let Some(rest) = name.strip_prefix(p) {
            return rest;
        }
    }
    ""
}

/// Rule heads at the start of a line, under the package declared before them.
fn rule_heads(text: &str) -> Vec<RuleRef> {
    let mut package = String::new();
    let mut out = Vec::new();
    for line in text.lines() {
        if let Some(p) = line.strip_prefix("package ") {
            package = p.trim().to_string();
            continue;
        }
        let name: String = line
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if name.is_empty() || (rule_outcome(&name).is_none() && name != "exception") {
            continue;
        }
        let r = RuleRef {
            package: package.clone(),
            name,
        };
        if !out.contains(&r) {
            out.push(r);
        }
    }
    out
}

/// Severity rank: info 0 .. critical 4 (unknown names rank as critical).
pub fn severity_rank(severity: &str) -> usize {
    strata_graph::manifest::SEVERITIES
        .iter()
        .position(|s| *s == severity)
        .unwrap_or(strata_graph::manifest::SEVERITIES.len() - 1)
}

/// Whether a finding blocks under an environment's `max_severity` (none: every deny blocks).
pub fn blocks(finding: &Finding, max_severity: Option<&str>) -> bool {
    finding.outcome == Outcome::Deny
        && finding.waived_by.is_none()
        && max_severity.is_none_or(|max| severity_rank(&finding.severity) > severity_rank(max))
}

/// Sets the line of each finding that names a `resource` (`type.name`) to the line of that
/// block in the Terraform file it came from; `texts` holds (path, text) of those files.
pub fn locate(findings: &mut [Finding], texts: &[(String, String)]) {
    for f in findings {
        let resource = f.details.get("resource").and_then(Value::as_str);
        let (Some(file), Some((kind, name))) = (&f.file, resource.and_then(|r| r.split_once('.')))
        else {
            continue;
        };
        if let Some((_, text)) = texts.iter().find(|(p, _)| p == file && p.ends_with(".tf")) {
            let needle = format!("\"{kind}\" \"{name}\"");
            f.line = text
                .find(&needle)
                .map(|o| strata_graph::error::line_of(text, o));
        }
    }
}

/// One policy (a directory): its sources and how to read them.
pub struct Policy<'a> {
    pub label: &'a str,
    /// (path, text), tests excluded.
    pub files: Vec<(String, String)>,
    pub namespaces: &'a [String],
    pub all_namespaces: bool,
    pub rego_v0: bool,
}

impl Policy<'_> {
    /// Evaluates the policy over each input document (with the file it came from, if any);
    /// `context` becomes `data.strata`.
    pub fn evaluate(
        &self,
        inputs: &[(Option<String>, Value)],
        context: &Value,
    ) -> Result<Vec<Finding>, String> {
        let mut engine = regorus::Engine::new();
        engine.set_rego_v0(self.rego_v0);
        for (path, text) in &self.files {
            engine
                .add_policy(path.clone(), text.clone())
                .map_err(|e| format!("{path}: {e}"))?;
        }
        let data =
            regorus::Value::from_json_str(&serde_json::json!({ "strata": context }).to_string())
                .map_err(|e| e.to_string())?;
        engine.add_data(data).map_err(|e| e.to_string())?;
        let mut heads: Vec<RuleRef> = self.files.iter().flat_map(|(_, t)| rule_heads(t)).collect();
        heads.sort();
        heads.dedup();
        let wanted = |pkg: &str| self.all_namespaces || self.namespaces.iter().any(|n| n == pkg);
        let mut findings = Vec::new();
        for (source, input) in inputs {
            let value =
                regorus::Value::from_json_str(&input.to_string()).map_err(|e| e.to_string())?;
            engine.set_input(value);
            for package in heads
                .iter()
                .map(|h| h.package.as_str())
                .collect::<std::collections::BTreeSet<_>>()
            {
                if !wanted(package) {
                    continue;
                }
                let excepted: Vec<String> = match heads
                    .iter()
                    .any(|h| h.package == package && h.name == "exception")
                {
                    true => strings(&eval(&mut engine, package, "exception")?),
                    false => Vec::new(),
                };
                for head in heads.iter().filter(|h| h.package == package) {
                    let Some(outcome) = rule_outcome(&head.name) else {
                        continue;
                    };
                    let short = exception_name(&head.name);
                    if !short.is_empty() && excepted.iter().any(|e| e == short) {
                        continue;
                    }
                    for item in items(&eval(&mut engine, package, &head.name)?) {
                        let (msg, details) = match item {
                            Value::String(s) => (s, Value::Null),
                            Value::Object(mut o) => {
                                let msg = o
                                    .remove("msg")
                                    .and_then(|m| m.as_str().map(str::to_string))
                                    .unwrap_or_default();
                                (msg, Value::Object(o))
                            }
                            other => (other.to_string(), Value::Null),
                        };
                        let severity = details
                            .get("severity")
                            .and_then(Value::as_str)
                            .filter(|s| strata_graph::manifest::SEVERITIES.contains(s))
                            .unwrap_or(match outcome {
                                Outcome::Deny => "critical",
                                _ => "info",
                            })
                            .to_string();
                        findings.push(Finding {
                            policy: self.label.to_string(),
                            namespace: package.to_string(),
                            rule: head.name.clone(),
                            outcome,
                            msg,
                            severity,
                            file: source.clone(),
                            line: None,
                            details,
                            waived_by: None,
                        });
                    }
                }
            }
        }
        Ok(findings)
    }
}

fn eval(engine: &mut regorus::Engine, package: &str, rule: &str) -> Result<Value, String> {
    let v = engine
        .eval_rule(format!("data.{package}.{rule}"))
        .map_err(|e| format!("data.{package}.{rule}: {e}"))?;
    if v == regorus::Value::Undefined {
        return Ok(Value::Null);
    }
    serde_json::to_value(&v).map_err(|e| e.to_string())
}

/// The members of a rule's value (a set or an array; a single value counts once).
fn items(v: &Value) -> Vec<Value> {
    match v {
        Value::Null | Value::Bool(false) => Vec::new(),
        Value::Array(a) => a.clone(),
        Value::Object(o) if o.is_empty() => Vec::new(),
        other => vec![other.clone()],
    }
}

/// Exception values: sets of rule-name lists, flattened.
fn strings(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for item in items(v) {
        match item {
            Value::String(s) => out.push(s),
            Value::Array(a) => {
                out.extend(a.into_iter().filter_map(|x| x.as_str().map(str::to_string)))
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn policy<'a>(files: &[(&str, &str)], namespaces: &'a [String], v0: bool) -> Policy<'a> {
        Policy {
            label: "policies/p",
            files: files
                .iter()
                .map(|(p, t)| (p.to_string(), t.to_string()))
                .collect(),
            namespaces,
            all_namespaces: false,
            rego_v0: v0,
        }
    }

    const V1: &str = r#"package main

import rego.v1

deny contains msg if {
	input.kind == "Deployment"
	not input.spec.template.spec.securityContext.runAsNonRoot
	msg := sprintf("%s must not run as root", [input.metadata.name])
}

deny_latest_tag contains msg if {
	some c in input.spec.template.spec.containers
	endswith(c.image, ":latest")
	msg := sprintf("%s uses a latest tag", [c.name])
}

violation contains {"msg": "replicas must be set", "id": "K8S-001", "severity": "medium"} if {
	input.kind == "Deployment"
	not input.spec.replicas
}

warn contains "prefer a PodDisruptionBudget" if input.kind == "Deployment"

exception contains rules if {
	input.metadata.name == "legacy"
	rules := ["latest_tag"]
}
"#;

    const V0: &str = r#"package kubernetes.security

deny[msg] {
	input.kind == "Service"
	input.spec.type == "NodePort"
	msg := "NodePort services are not allowed"
}
"#;

    fn deployment(name: &str, image: &str) -> Value {
        json!({"kind": "Deployment", "metadata": {"name": name},
               "spec": {"template": {"spec": {"containers": [{"name": "app", "image": image}]}}}})
    }

    #[test]
    fn conftest_rules_messages_objects_and_warnings() {
        let ns = vec!["main".to_string()];
        let p = policy(&[("policies/p/k8s.rego", V1)], &ns, false);
        let f = p
            .evaluate(&[(None, deployment("web", "nginx:latest"))], &json!({}))
            .unwrap();
        let got: Vec<(&str, Outcome, &str)> = f
            .iter()
            .map(|f| (f.rule.as_str(), f.outcome, f.msg.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("deny", Outcome::Deny, "web must not run as root"),
                ("deny_latest_tag", Outcome::Deny, "app uses a latest tag"),
                ("violation", Outcome::Deny, "replicas must be set"),
                ("warn", Outcome::Warn, "prefer a PodDisruptionBudget"),
            ]
        );
        assert_eq!(f[2].details["id"], "K8S-001");
        assert_eq!(f[2].severity, "medium");
        assert_eq!(f[0].severity, "critical", "a plain deny always blocks");
        assert_eq!(f[3].severity, "info");
    }

    #[test]
    fn exceptions_skip_named_rules() {
        let ns = vec!["main".to_string()];
        let p = policy(&[("k8s.rego", V1)], &ns, false);
        let f = p
            .evaluate(&[(None, deployment("legacy", "nginx:latest"))], &json!({}))
            .unwrap();
        assert!(f.iter().all(|f| f.rule != "deny_latest_tag"), "{f:?}");
        assert!(f.iter().any(|f| f.rule == "deny"));
    }

    #[test]
    fn v0_syntax_and_namespaces() {
        let svc = json!({"kind": "Service", "spec": {"type": "NodePort"}});
        let main_only = vec!["main".to_string()];
        let p = policy(&[("sec.rego", V0)], &main_only, true);
        assert!(
            p.evaluate(&[(None, svc.clone())], &json!({}))
                .unwrap()
                .is_empty(),
            "other namespace not selected"
        );
        let ns = vec!["kubernetes.security".to_string()];
        let p = policy(&[("sec.rego", V0)], &ns, true);
        let f = p.evaluate(&[(None, svc.clone())], &json!({})).unwrap();
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].namespace, "kubernetes.security");
        // v0 syntax without the v0 switch is a parse error naming the file
        let err = policy(&[("sec.rego", V0)], &ns, false)
            .evaluate(&[(None, svc)], &json!({}))
            .unwrap_err();
        assert!(err.starts_with("sec.rego"), "{err}");
    }

    #[test]
    fn heads_are_found_at_line_starts() {
        let heads = rule_heads(V1);
        let names: Vec<&str> = heads.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(
            names,
            vec!["deny", "deny_latest_tag", "violation", "warn", "exception"]
        );
    }
}
