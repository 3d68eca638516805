//! What a Terraform test file (`*.tftest.hcl`, in a module's directory or its `tests/`
//! directory) reads: the modules its `run` blocks call (`module { source = "./tests/setup" }`),
//! the directories of mocks a `mock_provider` loads (`source = "./testing/aws"`), and the
//! files its file functions read. `terraform test` evaluates all of them from the module's
//! directory, wherever the test file is, so they are read as the module's own files' are.

use super::module_args::{module_arg_paths, PROVIDER_ARGUMENT};
use super::{file_refs_of, line_of_span, literal, parse_body, HclFacts, ModuleCall};
use crate::error::Result;
use hcl_edit::structure::Body;
use hcl_edit::Span;

/// How a Terraform test file's name ends (OpenTofu also reads `.tofutest.hcl`).
pub const TEST_FILE_SUFFIXES: [&str; 2] = [".tftest.hcl", ".tofutest.hcl"];

/// Whether `name` is a test file's name (see [`TEST_FILE_SUFFIXES`]).
pub fn is_test_file_name(name: &str) -> bool {
    TEST_FILE_SUFFIXES.iter().any(|s| name.ends_with(s))
}

/// The directory below a module's where `terraform test` also looks for test files.
pub const TEST_DIRECTORY: &str = "tests";

/// Reads a Terraform test file.
pub fn parse_tftest(text: &str, file: &str) -> Result<HclFacts> {
    let body = parse_body(text, file)?;
    let mut facts = HclFacts::default();
    blocks(&body, text, &mut facts);
    file_refs_of(&body, text, &mut facts);
    Ok(facts)
}

fn blocks(body: &Body, text: &str, facts: &mut HclFacts) {
    let line = |span| line_of_span(text, span);
    for block in body.blocks() {
        match block.ident.as_str() {
            "run" => {
                let name = block
                    .labels
                    .first()
                    .map(|l| l.as_str().to_string())
                    .unwrap_or_default();
                for inner in block.body.blocks().filter(|b| b.ident.as_str() == "module") {
                    let Some(attr) = inner.body.get_attribute("source") else {
                        continue;
                    };
                    let at = line(attr.span());
                    match literal(&attr.value) {
                        Some(source) => facts.modules.push(ModuleCall {
                            name: format!("run.{name}"),
                            source,
                            line: at,
                        }),
                        None => facts.unresolved_refs.push(at),
                    }
                }
            }
            "mock_provider" => {
                let Some(attr) = block.body.get_attribute("source") else {
                    continue;
                };
                let at = line(attr.span());
                facts
                    .file_refs
                    .extend(module_arg_paths(&attr.value, at).into_iter().map(|r| {
                        super::FileRef {
                            function: PROVIDER_ARGUMENT.to_string(),
                            ..r
                        }
                    }));
            }
            _ => {}
        }
    }
}

/// Whether `path` is a test file of the module in `dir`: `*.tftest.hcl` in it or in its
/// `tests/` directory.
pub fn is_test_file_of(path: &str, dir: &str) -> bool {
    let Some(stem) = TEST_FILE_SUFFIXES.iter().find_map(|s| path.strip_suffix(s)) else {
        return false;
    };
    let parent = crate::discover::parent_dir(stem);
    parent == dir
        || (dir.is_empty() && parent == TEST_DIRECTORY)
        || parent
            .strip_prefix(dir)
            .and_then(|rest| rest.strip_prefix('/'))
            == Some(TEST_DIRECTORY)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hcl::PathBase;

    #[test]
    fn a_test_file_calls_modules_loads_mocks_and_reads_files() {
        let text = r#"mock_provider "aws" {
  source = "./testing/aws"
}

variables {
  policy = file("../shared/policy.json")
}

run "setup" {
  module {
    source = "./tests/setup"
  }
}

run "plan" {
  command = plan
  module {
    source = "../../modules/fixture"
  }
}

run "remote" {
  module {
    source = "terraform-aws-modules/vpc/aws"
  }
}
"#;
        let facts = parse_tftest(text, "modules/x/tests/a.tftest.hcl").unwrap();
        let modules: Vec<_> = facts
            .modules
            .iter()
            .map(|m| (m.name.as_str(), m.source.as_str(), m.line, m.is_local()))
            .collect();
        assert_eq!(
            modules,
            [
                ("run.setup", "./tests/setup", 11, true),
                ("run.plan", "../../modules/fixture", 18, true),
                ("run.remote", "terraform-aws-modules/vpc/aws", 24, false),
            ]
        );
        let reads: Vec<_> = facts
            .file_refs
            .iter()
            .map(|r| (r.function.as_str(), r.base.clone(), r.path.as_str(), r.line))
            .collect();
        assert_eq!(
            reads,
            [
                (PROVIDER_ARGUMENT, PathBase::Root, "./testing/aws", 2),
                ("file", PathBase::Root, "../shared/policy.json", 6),
            ]
        );
    }

    #[test]
    fn test_files_are_those_of_the_module_or_its_tests_directory() {
        assert!(is_test_file_of("modules/x/a.tftest.hcl", "modules/x"));
        assert!(is_test_file_of("modules/x/tests/a.tftest.hcl", "modules/x"));
        assert!(is_test_file_of("tests/a.tftest.hcl", ""));
        assert!(is_test_file_of("a.tftest.hcl", ""));
        assert!(is_test_file_of(
            "modules/x/tests/a.tofutest.hcl",
            "modules/x"
        ));
        assert!(!is_test_file_of(
            "modules/x/other/a.tftest.hcl",
            "modules/x"
        ));
        assert!(!is_test_file_of(
            "modules/x/tests/y/a.tftest.hcl",
            "modules/x"
        ));
        assert!(!is_test_file_of("modules/x/a.tf", "modules/x"));
        assert!(!is_test_file_of("modules/xy/a.tftest.hcl", "modules/x"));
    }
}
