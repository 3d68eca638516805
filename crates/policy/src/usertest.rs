//! User tests: Rego `test_*` rules a target keeps in its own `tests/` directory, evaluated
//! in-process (regorus) against what the target produced in an environment: the redacted
//! plan JSON of a stack, or the rendered manifests of a chart (an array of objects).
//! `data.strata` holds the context: label, kind, environment, dependencies.
//!
//! A test passes when its rule evaluates to `true`; `false`, undefined or an error fail it.

use crate::rego::Loaded;
use crate::test::TestResult;
use serde_json::{json, Value};
use std::time::Instant;

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
    let mut log = String::new();
    let loaded = match Loaded::load(files, false) {
        Ok(l) => l,
        Err(e) => {
            out.ok = false;
            out.log = format!("{e}\n");
            return out;
        }
    };
    let tests = loaded.tests();
    if tests.is_empty() {
        // Files in a target's tests/ that run no test are a mistake (a rule named
        // `Test_x` or `tests_x`), never a pass: they would be green for ever.
        let near: Vec<String> = loaded
            .rules
            .iter()
            .filter(|r| r.head.to_ascii_lowercase().contains("test"))
            .map(|r| format!("`{}` ({}:{})", r.head, r.file, r.line))
            .collect();
        out.ok = false;
        out.failed = 1;
        out.log = format!(
            "strata: no test: the test files define no rule named `test_*`{}\n  hint: a test is a rule whose name starts with `test_` (`todo_test_` skips it)\n",
            if near.is_empty() {
                String::new()
            } else {
                format!("; these look like tests but are not run: {}", near.join(", "))
            }
        );
        out.duration_ms = start.elapsed().as_millis() as u64;
        return out;
    }
    // A test defined in several files (`tests/unit/` and `tests/integration/` both with
    // `plan_test.test_resources`) is one rule to Rego, which holds when any definition does:
    // a failing one would be hidden behind the other. Each such test fails, naming them.
    let mut defined_in: std::collections::BTreeMap<(&str, &str), Vec<&str>> =
        std::collections::BTreeMap::new();
    for r in &loaded.rules {
        let name = if r.name.is_empty() { &r.head } else { &r.name };
        let files = defined_in.entry((&r.package, name)).or_default();
        if !files.contains(&r.file.as_str()) {
            files.push(&r.file);
        }
    }
    let split: std::collections::BTreeMap<(String, String), String> = tests
        .iter()
        .filter_map(|t| {
            let files = defined_in.get(&(t.package.as_str(), t.name.as_str()))?;
            (files.len() > 1).then(|| ((t.package.clone(), t.name.clone()), files.join(", ")))
        })
        .collect();
    let mut engine = loaded.engine;
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
    for t in tests {
        if let Some(files) = split.get(&(t.package.clone(), t.name.clone())) {
            out.failed += 1;
            log.push_str(&format!(
                "FAIL  {}.{} (defined in {files}): Rego makes one rule of the definitions, which holds when any of them does, so one that fails is hidden\n  hint: give each test a name of its own (or each file a package of its own)\n",
                t.package, t.name
            ));
            out.tests.push(TestResult {
                name: format!("{}.{}", t.package, t.name),
                file: t.file,
                result: "fail".into(),
            });
            continue;
        }
        let outcome = crate::test::run_test(&mut engine, &t);
        match outcome.as_str() {
            "pass" => out.passed += 1,
            "skipped" => {}
            _ => out.failed += 1,
        }
        let mark = match outcome.as_str() {
            "pass" => "PASS",
            "skipped" => "SKIP",
            _ => "FAIL",
        };
        log.push_str(&format!(
            "{mark:<5} {}.{} ({})\n",
            t.package, t.name, t.file
        ));
        out.tests.push(TestResult {
            name: format!("{}.{}", t.package, t.name),
            file: t.file,
            result: outcome,
        });
    }
    out.ok = out.failed == 0;
    out.log = log;
    out.duration_ms = start.elapsed().as_millis() as u64;
    out
}

/// Parses rendered manifests (a multi-document YAML stream, read as conftest reads YAML)
/// into an array of the objects it holds (empty documents left out).
pub fn manifests_input(yaml: &[u8]) -> Result<Value, String> {
    let text = String::from_utf8_lossy(yaml);
    let docs = crate::yaml::documents(&text).map_err(|e| e.to_string())?;
    Ok(Value::Array(
        docs.into_iter().filter(|d| !d.is_null()).collect(),
    ))
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

    /// One test defined in two files fails, naming both, whatever each would give: Rego
    /// would make one rule of them that holds when either does. Before, the failing one
    /// was hidden and the test reported as passed.
    #[test]
    fn a_test_defined_in_two_files_fails() {
        let unit = "package plan_test\n\ntest_resources if {\n  true\n}\n";
        let integration =
            "package plan_test\n\ntest_resources if {\n  count(input.resource_changes) == 5\n}\n";
        let step = run(
            &[
                ("tests/unit/plan_test.rego".into(), unit.into()),
                (
                    "tests/integration/plan_test.rego".into(),
                    integration.into(),
                ),
            ],
            &json!({"resource_changes": [{"type": "null_resource"}]}),
            &json!({}),
        );
        assert!(!step.ok, "{}", step.log);
        assert_eq!((step.passed, step.failed), (0, 1), "{}", step.log);
        assert!(
            step.log
                .contains("defined in tests/unit/plan_test.rego, tests/integration/plan_test.rego"),
            "{}",
            step.log
        );
    }

    #[test]
    fn finds_and_runs_tests() {
        let input = json!({"resource_changes": [{"type": "null_resource"}]});
        let step = run(
            &[("t.rego".into(), TESTS.into())],
            &input,
            &json!({"environment": "dev"}),
        );
        assert!(!step.ok);
        assert_eq!(step.passed, 2);
        assert_eq!(step.failed, 1);
        let names: Vec<&str> = step.tests.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "plan_test.test_only_null_resources",
                "plan_test.test_environment_is_known",
                "plan_test.test_fails"
            ]
        );
    }

    /// Test files whose rules are all misnamed ran nothing: that fails, naming the rules.
    #[test]
    fn files_without_a_test_rule_fail_and_name_the_near_misses() {
        let text = "package plan_test\n\nimport rego.v1\n\nTest_creates_nothing if {\n  count(input.resource_changes) == 0\n}\n\ntests_no_null if {\n  true\n}\n\nhelper := 1\n";
        let step = run(&[("t.rego".into(), text.into())], &json!({}), &json!({}));
        assert!(!step.ok, "{}", step.log);
        assert_eq!((step.passed, step.failed), (0, 1));
        assert!(
            step.log.contains("no rule named `test_*`")
                && step.log.contains("`Test_creates_nothing` (t.rego:5)")
                && step.log.contains("`tests_no_null` (t.rego:9)")
                && !step.log.contains("helper"),
            "{}",
            step.log
        );
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
