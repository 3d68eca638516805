//! User tests: Rego `test_*` rules a target keeps in its own `tests/` directory, evaluated
//! in-process (regorus) against what the target produced in an environment: the redacted
//! plan JSON of a stack, or the rendered manifests of a chart (an array of objects).
//! `data.strata` holds the context: label, kind, environment, dependencies.
//!
//! A test passes when its rule evaluates to `true`; `false`, undefined or an error fail it.

use crate::test::TestResult;
use serde_json::{json, Value};
use std::time::Instant;

/// One test rule found in a file: package path and rule name.
#[derive(Debug, Clone, PartialEq)]
pub struct TestRule {
    pub file: String,
    pub package: String,
    pub name: String,
}

/// Finds `package` and `test_*` rule heads by reading the source line by line (a rule head
/// starts a line: `test_x if {`, `test_x {`, `test_x := ...`).
pub fn find_tests(file: &str, text: &str) -> Vec<TestRule> {
    let mut package = String::new();
    let mut out: Vec<TestRule> = Vec::new();
    for line in text.lines() {
        if let Some(p) = line.strip_prefix("package ") {
            package = p.trim().to_string();
            continue;
        }
        if !line.starts_with("test_") {
            continue;
        }
        let name: String = line
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !out.iter().any(|t| t.package == package && t.name == name) {
            out.push(TestRule {
                file: file.to_string(),
                package: package.clone(),
                name,
            });
        }
    }
    out
}

/// The outcome of a target's user tests.
#[derive(Debug, Clone, Default)]
pub struct UserTests {
    /// Every test passed (and every file parsed).
    pub ok: bool,
    /// One line per test (`PASS`/`FAIL`), or the errors that stopped the run.
    pub log: String,
    pub passed: usize,
    pub failed: usize,
    pub tests: Vec<TestResult>,
    pub duration_ms: u64,
}

/// Runs the test files (path, text) against `input`, with `context` as `data.strata`.
pub fn run(files: &[(String, String)], input: &Value, context: &Value) -> UserTests {
    let start = Instant::now();
    let mut out = UserTests {
        ok: true,
        ..UserTests::default()
    };
    let mut engine = regorus::Engine::new();
    let mut log = String::new();
    for (path, text) in files {
        if let Err(e) = engine.add_policy(path.clone(), text.clone()) {
            out.ok = false;
            log.push_str(&format!("{path}: {e}\n"));
        }
    }
    if !out.ok {
        out.log = log;
        return out;
    }
    let to_rego = |v: &Value| regorus::Value::from_json_str(&v.to_string());
    match (to_rego(input), to_rego(&json!({ "strata": context }))) {
        (Ok(i), Ok(d)) => {
            engine.set_input(i);
            if let Err(e) = engine.add_data(d) {
                out.ok = false;
                out.log = format!("strata: context: {e}\n");
                return out;
            }
        }
        (Err(e), _) | (_, Err(e)) => {
            out.ok = false;
            out.log = format!("strata: input: {e}\n");
            return out;
        }
    }
    for (path, text) in files {
        for t in find_tests(path, text) {
            let query = format!("data.{}.{}", t.package, t.name);
            let outcome = match engine.eval_rule(query) {
                Ok(regorus::Value::Bool(true)) => "pass".to_string(),
                Ok(regorus::Value::Undefined) | Ok(regorus::Value::Bool(false)) => {
                    "fail".to_string()
                }
                Ok(other) => format!("fail: evaluated to {other}"),
                Err(e) => format!("error: {e}"),
            };
            if outcome == "pass" {
                out.passed += 1;
            } else {
                out.failed += 1;
            }
            log.push_str(&format!(
                "{:<5} {}.{} ({})\n",
                if outcome == "pass" { "PASS" } else { "FAIL" },
                t.package,
                t.name,
                t.file
            ));
            out.tests.push(TestResult {
                name: format!("{}.{}", t.package, t.name),
                file: t.file,
                result: outcome,
            });
        }
    }
    out.ok = out.failed == 0;
    out.log = log;
    out.duration_ms = start.elapsed().as_millis() as u64;
    out
}

/// Parses rendered manifests (a multi-document YAML stream) into an array of objects.
pub fn manifests_input(yaml: &[u8]) -> Result<Value, String> {
    let text = String::from_utf8_lossy(yaml);
    let mut docs = Vec::new();
    for doc in serde_norway::Deserializer::from_str(&text) {
        let v: Value = serde::Deserialize::deserialize(doc).map_err(|e| e.to_string())?;
        if !v.is_null() {
            docs.push(v);
        }
    }
    Ok(Value::Array(docs))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TESTS: &str = r#"package plan_test

import rego.v1

test_only_null_resources if {
  every rc in input.resource_changes {
    rc.type == "null_resource"
  }
}

test_environment_is_known if {
  data.strata.environment in {"dev", "staging", "prod"}
}

test_fails if {
  count(input.resource_changes) > 100
}
"#;

    #[test]
    fn finds_and_runs_tests() {
        let found = find_tests("t.rego", TESTS);
        let names: Vec<&str> = found.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "test_only_null_resources",
                "test_environment_is_known",
                "test_fails"
            ]
        );
        let input = json!({"resource_changes": [{"type": "null_resource"}]});
        let step = run(
            &[("t.rego".into(), TESTS.into())],
            &input,
            &json!({"environment": "dev"}),
        );
        assert!(!step.ok);
        assert_eq!(step.passed, 2);
        assert_eq!(step.failed, 1);
    }

    #[test]
    fn syntax_errors_fail_with_the_file() {
        let step = run(
            &[("bad.rego".into(), "package x\ntest_a if {".into())],
            &json!({}),
            &json!({}),
        );
        assert!(!step.ok);
        assert!(step.log.contains("bad.rego"));
    }

    #[test]
    fn manifests_become_an_array() {
        let v = manifests_input(b"---\nkind: Service\n---\nkind: Deployment\n").unwrap();
        assert_eq!(v.as_array().unwrap().len(), 2);
    }
}
