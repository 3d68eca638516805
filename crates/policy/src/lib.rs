//! Policy as code: Rego policies evaluated in-process (regorus) with conftest's conventions,
//! so a team's existing conftest policy folder runs unchanged.
//!
//! - `rego`: loading a policy and reading its rules from the parsed modules (rule names,
//!   packages, tests), with the checks conftest and OPA make before evaluating.
//! - `eval`: conftest's evaluation: which rules are queried per namespace, exceptions, what a
//!   rule's value counts as (failure, warning, pass), and conftest's counts.
//! - `input`: documents as conftest reads them: Terraform in hcl2json's shape
//!   (`hcl_input`), YAML with YAML 1.1 scalars (`yaml`), JSON; `data`: data documents.
//! - `scan`: `strata policy scan`, policies applied to files directly.
//! - `builtin`: the built-in rule pack, compiled in from `crates/policy/builtin/`.
//! - `test`, `usertest`: policies' own tests and targets' user tests; `inline`: inline skip
//!   comments; `waivers`: accepted findings.
//!
//! Rules named `deny*`, `violation*` and `warn*` produce findings; `unknown*` rules are a
//! strata extension (checks decided only after apply). `*_test.rego` files hold tests, not
//! policies.

pub mod builtin;
pub mod data;
pub mod eval;
pub mod hcl_input;
pub mod inline;
pub mod input;
mod locate;
pub mod namespace;
pub mod rego;
pub mod scan;
pub mod test;
pub mod tf_json;
pub mod usertest;
pub mod waivers;
pub mod yaml;

pub use eval::{Counts, Evaluation, ExceptionHit, Policy};
pub use input::{Documents, FileInfo, InputFile, Shape};
pub(crate) use locate::block_index;
pub use locate::locate;
pub use rego::Outcome;
pub use scan::{load_policy, Overrides};

use serde::Serialize;
use serde_json::Value;

/// A policy that cannot be loaded or evaluated, or an input that cannot be read: bad input,
/// named by file and line where known.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Error {
    pub file: Option<String>,
    pub line: Option<u32>,
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
}

impl Error {
    pub fn new(message: impl Into<String>) -> Error {
        Error {
            file: None,
            line: None,
            message: message.into(),
            hint: None,
        }
    }

    pub fn in_file(file: &str, line: Option<u32>, message: impl Into<String>) -> Error {
        Error {
            file: Some(file.to_string()),
            line,
            message: message.into(),
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Error {
        self.hint = Some(hint.into());
        self
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.file, self.line) {
            // regorus's parse errors start with the file and line already.
            (Some(file), _) if self.message.starts_with(file.as_str()) => {}
            (Some(file), Some(line)) => write!(f, "{file}:{line}: ")?,
            (Some(file), None) => write!(f, "{file}: ")?,
            _ => {}
        }
        write!(f, "{}", self.message)
    }
}

impl std::error::Error for Error {}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
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
