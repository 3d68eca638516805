//! `strata policy test`: the `test_*` rules of a policy's `*_test.rego` files, evaluated
//! with the policy (tests set their own input with `with input as ...`), with line coverage
//! of the policy files.

use crate::usertest::find_tests;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct TestResult {
    pub name: String,
    pub file: String,
    /// `pass`, `fail` or `error: ...`.
    pub result: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct FileCoverage {
    pub file: String,
    pub covered: usize,
    pub lines: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct PolicyTests {
    pub policy: String,
    pub tests: Vec<TestResult>,
    pub coverage: Vec<FileCoverage>,
    /// A file that did not parse.
    pub error: Option<String>,
}

impl PolicyTests {
    pub fn ok(&self) -> bool {
        self.error.is_none() && self.tests.iter().all(|t| t.result == "pass")
    }
}

/// Runs the tests of one policy: `files` are all its `.rego` files (policy and tests).
pub fn run(label: &str, files: &[(String, String)], rego_v0: bool) -> PolicyTests {
    let mut report = PolicyTests {
        policy: label.to_string(),
        tests: Vec::new(),
        coverage: Vec::new(),
        error: None,
    };
    let mut engine = regorus::Engine::new();
    engine.set_rego_v0(rego_v0);
    engine.set_enable_coverage(true);
    for (path, text) in files {
        if let Err(e) = engine.add_policy(path.clone(), text.clone()) {
            report.error = Some(format!("{path}: {e}"));
            return report;
        }
    }
    for (path, text) in files.iter().filter(|(p, _)| p.ends_with("_test.rego")) {
        for t in find_tests(path, text) {
            let result = match engine.eval_rule(format!("data.{}.{}", t.package, t.name)) {
                Ok(regorus::Value::Bool(true)) => "pass".to_string(),
                Ok(regorus::Value::Undefined) | Ok(regorus::Value::Bool(false)) => "fail".into(),
                Ok(other) => format!("fail: evaluated to {other}"),
                Err(e) => format!("error: {e}"),
            };
            report.tests.push(TestResult {
                name: format!("{}.{}", t.package, t.name),
                file: t.file,
                result,
            });
        }
    }
    if let Ok(cov) = engine.get_coverage_report() {
        for f in cov.files {
            if f.path.ends_with("_test.rego") {
                continue;
            }
            report.coverage.push(FileCoverage {
                file: f.path,
                covered: f.covered.len(),
                lines: f.covered.len() + f.not_covered.len(),
            });
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_tests_with_coverage() {
        let policy = "package main\n\nimport rego.v1\n\ndeny contains \"no owner\" if {\n\tnot input.owner\n}\n";
        let tests = "package main\n\nimport rego.v1\n\ntest_denies_without_owner if {\n\tdeny[\"no owner\"] with input as {}\n}\n\ntest_allows_with_owner if {\n\tcount(deny) == 0 with input as {\"owner\": \"x\"}\n}\n\ntest_wrong if {\n\tcount(deny) == 1 with input as {\"owner\": \"x\"}\n}\n";
        let r = run(
            "policies/p",
            &[
                ("p.rego".into(), policy.into()),
                ("p_test.rego".into(), tests.into()),
            ],
            false,
        );
        let results: Vec<(&str, &str)> = r
            .tests
            .iter()
            .map(|t| (t.name.as_str(), t.result.as_str()))
            .collect();
        assert_eq!(
            results,
            vec![
                ("main.test_denies_without_owner", "pass"),
                ("main.test_allows_with_owner", "pass"),
                ("main.test_wrong", "fail"),
            ]
        );
        assert!(!r.ok());
        assert_eq!(r.coverage.len(), 1);
        assert!(r.coverage[0].covered > 0);
    }
}
