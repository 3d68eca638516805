//! `strata policy test`: the `test_*` rules of a policy (found in its parsed modules, as
//! OPA's test runner finds them; they usually live in `*_test.rego` files and set their own
//! input with `with input as ...`), with line coverage of the policy files. `todo_test_*`
//! rules are skipped. A failing builtin call is undefined, as in `conftest verify`.

use crate::data::DataFile;
use crate::rego::Loaded;
use crate::Error;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct TestResult {
    pub name: String,
    pub file: String,
    /// `pass`, `fail`, `skipped` or `error: ...`.
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
    /// The report of a policy that did not load (`error` says why): no test ran.
    pub fn not_loaded(label: &str, error: String) -> PolicyTests {
        PolicyTests {
            policy: label.to_string(),
            tests: Vec::new(),
            coverage: Vec::new(),
            error: Some(error),
        }
    }

    pub fn ok(&self) -> bool {
        self.error.is_none()
            && self
                .tests
                .iter()
                .all(|t| t.result == "pass" || t.result == "skipped")
    }
}

/// Runs the tests of one policy: `files` are all its `.rego` files (policy and tests),
/// `data` the data documents its policy.toml lists (its `data`, as in its scans).
pub fn run(
    label: &str,
    files: &[(String, String)],
    data: &[DataFile],
    rego_v0: bool,
) -> PolicyTests {
    let loaded = match Loaded::load(files, rego_v0) {
        Ok(l) => l,
        Err(e) => return PolicyTests::not_loaded(label, e.to_string()),
    };
    let tests = loaded.tests();
    let mut engine = loaded.engine;
    let added = crate::data::merge(data).and_then(|merged| {
        engine
            .add_data(regorus::Value::from(serde_json::Value::Object(merged)))
            .map_err(|e| Error::new(format!("{label}: data: {e}")))
    });
    if let Err(e) = added {
        return PolicyTests::not_loaded(label, e.to_string());
    }
    let mut report = PolicyTests {
        policy: label.to_string(),
        tests: Vec::new(),
        coverage: Vec::new(),
        error: None,
    };
    engine.set_enable_coverage(true);
    for t in tests {
        let result = run_test(&mut engine, &t);
        report.tests.push(TestResult {
            name: format!("{}.{}", t.package, t.name),
            file: t.file,
            result,
        });
    }
    if let Ok(cov) = engine.get_coverage_report() {
        for f in cov.files {
            if f.path.ends_with("_test.rego") {
                continue;
            }
            // Lines strata added after the file's last (see `rego::undefined`) are not the
            // policy's.
            let written = files
                .iter()
                .find(|(path, _)| *path == f.path)
                .map_or(usize::MAX, |(_, text)| text.lines().count());
            let count = |lines: &std::collections::BTreeSet<u32>| {
                lines.iter().filter(|&&l| l as usize <= written).count()
            };
            let covered = count(&f.covered);
            report.coverage.push(FileCoverage {
                file: f.path,
                covered,
                lines: covered + count(&f.not_covered),
            });
        }
    }
    report
}

/// The outcome of one test rule: `skipped` for `todo_test_*`, an error for a parameterized
/// test, else [`evaluate_test`].
pub(crate) fn run_test(engine: &mut regorus::Engine, t: &crate::rego::TestRule) -> String {
    if t.skipped {
        "skipped".to_string()
    } else if t.parameterized {
        format!(
            "error: `{}` holds a key in its head (a parameterized test): its value lists the cases that held, and a case that failed is missing from it, not reported, so strata does not run it; write one `test_` rule per case, or a rule that compares the cases that held with all of them (`count(cases) == count(test_cases)`)",
            t.name
        )
    } else {
        evaluate_test(engine, &t.package, &t.name)
    }
}

/// A test passes when its rule is exactly `true`.
pub(crate) fn evaluate_test(engine: &mut regorus::Engine, package: &str, name: &str) -> String {
    match engine.eval_rule(format!("data.{package}.{name}")) {
        Ok(regorus::Value::Bool(true)) => "pass".to_string(),
        Ok(regorus::Value::Undefined) | Ok(regorus::Value::Bool(false)) => "fail".into(),
        Ok(other) => format!("fail: evaluated to {other}"),
        Err(e) => format!("error: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tests of a policy of one file and one test file, without data.
    fn run_one(policy: &str, tests: &str) -> PolicyTests {
        run(
            "policies/p",
            &[
                ("p.rego".into(), policy.into()),
                ("p_test.rego".into(), tests.into()),
            ],
            &[],
            false,
        )
    }

    /// Coverage counts the policy's own lines, not those strata adds after them when it
    /// loads the policy (the function `some .. in` goes through).
    #[test]
    fn coverage_counts_only_the_lines_written() {
        let tests = "package main\n\nimport rego.v1\n\ntest_hit if {\n\tdeny[\"a\"] with input as {\"xs\": [\"a\"]}\n}\n";
        let coverage = |policy: &str| {
            let r = run_one(policy, tests);
            assert!(r.ok(), "{r:?}");
            (r.coverage[0].covered, r.coverage[0].lines)
        };
        // The same rule, iterating with and without `some .. in`: the same lines.
        assert_eq!(
            coverage(
                "package main\n\nimport rego.v1\n\ndeny contains c if {\n\tsome c in input.xs\n}\n"
            ),
            coverage(
                "package main\n\nimport rego.v1\n\ndeny contains c if {\n\tc := input.xs[_]\n}\n"
            ),
        );
    }

    #[test]
    fn runs_tests_with_coverage() {
        let policy = "package main\n\nimport rego.v1\n\ndeny contains \"no owner\" if {\n\tnot input.owner\n}\n";
        let tests = "package main\n\nimport rego.v1\n\ntest_denies_without_owner if {\n\tdeny[\"no owner\"] with input as {}\n}\n\ntest_allows_with_owner if {\n\tcount(deny) == 0 with input as {\"owner\": \"x\"}\n}\n\ntest_wrong if {\n\tcount(deny) == 1 with input as {\"owner\": \"x\"}\n}\n";
        let r = run_one(policy, tests);
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

    #[test]
    fn tests_come_from_the_parsed_modules() {
        // An indented test, a test after a comment on the package line, and a todo.
        let tests = "package main # the package\n\nimport rego.v1\n\n  test_indented if true\n\ntodo_test_later if false\n\ntest_builtin_error_fails if {\n\tto_number(\"x\") == 1\n}\n";
        let r = run(
            "policies/p",
            &[("p_test.rego".into(), tests.into())],
            &[],
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
                ("main.test_indented", "pass"),
                ("main.todo_test_later", "skipped"),
                ("main.test_builtin_error_fails", "fail"),
            ]
        );
    }

    /// A test rule with a key in its head stands for cases whose failures it cannot show:
    /// it is an error, never a pass nor a test left out.
    #[test]
    fn a_parameterized_test_is_an_error_not_left_out() {
        let tests = "package main\n\nimport rego.v1\n\ntest_cases[name] if {\n\tsome name, tc in {\"a\": 1, \"b\": 2}\n\ttc == 1\n}\n\ntest_plain if true\n\ntest_obj[name] := true if { some name in [\"x\"] }\n";
        let r = run_one("package main\n", tests);
        let results: Vec<(&str, bool)> = r
            .tests
            .iter()
            .map(|t| {
                (
                    t.name.as_str(),
                    t.result.starts_with("error: `test_cases` holds a key"),
                )
            })
            .collect();
        assert_eq!(
            results,
            [
                ("main.test_cases", true),
                ("main.test_plain", false),
                ("main.test_obj", false)
            ]
        );
        assert!(!r.ok());
        assert_eq!(r.tests[1].result, "pass");
        assert!(
            r.tests[2].result.starts_with("fail: evaluated to"),
            "{:?}",
            r.tests[2]
        );
    }
}
