//! What a task produced, typed: the outcome the runner caches, reports and shows. JSON is
//! made only at the edges (the cache entry, `--json`, reports), from these types.

use crate::task::Action;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use strata_exec::plan_json::PlanSummary;
use strata_exec::step::{RenderSummary, Step, StepSummary};
use strata_policy::test::TestResult;
use strata_policy::Finding;

/// A task's summary. Serialized without a tag (`check --json`'s `summary`); which one it
/// is follows from the task's action, which is how a cached one is read back.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Summary {
    Step(StepSummary),
    Tests(TestsSummary),
    Policy(PolicySummary),
}

impl Default for Summary {
    fn default() -> Summary {
        Summary::Step(StepSummary::None)
    }
}

/// The target's own Rego tests.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestsSummary {
    pub passed: usize,
    pub failed: usize,
    pub tests: Vec<TestResult>,
}

/// The governing policies' findings and what they mean for the gate.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicySummary {
    pub deny: usize,
    /// Denies above the environment's `max_severity` and not waived: they fail the task.
    pub blocking: usize,
    pub waived: usize,
    /// Waivers past their date that match the target (`file:line`).
    pub expired_waivers: Vec<String>,
    pub warn: usize,
    pub unknown: usize,
    pub max_severity: Option<String>,
    pub findings: Vec<Finding>,
}

impl Summary {
    /// A summary read back from a cache entry of a task with `action`; `None` when it does
    /// not have that action's shape (an entry written by another version: a miss).
    pub fn from_cached(action: Action, value: serde_json::Value) -> Option<Summary> {
        let step = |s: Option<StepSummary>| s.map(Summary::Step);
        match action {
            Action::Plan => step(serde_json::from_value(value).ok().map(StepSummary::Plan)),
            Action::Render => step(serde_json::from_value(value).ok().map(StepSummary::Render)),
            Action::Fmt => step(serde_json::from_value(value).ok().map(StepSummary::Fmt)),
            Action::Init => step(serde_json::from_value(value).ok().map(StepSummary::Init)),
            Action::Test => serde_json::from_value(value).ok().map(Summary::Tests),
            Action::Policy => serde_json::from_value(value).ok().map(Summary::Policy),
            Action::Validate | Action::Deps | Action::Lint | Action::Apply => {
                value.is_null().then_some(Summary::Step(StepSummary::None))
            }
        }
    }

    pub fn plan(&self) -> Option<&PlanSummary> {
        match self {
            Summary::Step(StepSummary::Plan(p)) => Some(p),
            _ => None,
        }
    }

    pub fn render(&self) -> Option<&RenderSummary> {
        match self {
            Summary::Step(StepSummary::Render(r)) => Some(r),
            _ => None,
        }
    }

    pub fn policy(&self) -> Option<&PolicySummary> {
        match self {
            Summary::Policy(p) => Some(p),
            _ => None,
        }
    }
}

/// What running a task produced (before it is cached and reported).
#[derive(Debug, Default)]
pub struct Outcome {
    pub ok: bool,
    pub interrupted: bool,
    pub log: Vec<u8>,
    pub summary: Summary,
    /// Named outputs cached beside the log (`plan.json`, `manifests.yaml`).
    pub blobs: BTreeMap<String, Vec<u8>>,
    /// Wall time spent inside the tools.
    pub tool_ms: u64,
}

impl Outcome {
    /// A task that failed before or instead of running a tool, saying why.
    pub fn failed(message: String) -> Outcome {
        Outcome {
            log: message.into_bytes(),
            ..Outcome::default()
        }
    }
}

/// Removes the sensitive values a task handled from everything its outcome holds, before
/// it is cached, reported or read by another task.
pub trait Redact {
    fn redact_outcome(&self, outcome: &mut Outcome);
}

impl Redact for strata_exec::redact::Redactor {
    fn redact_outcome(&self, outcome: &mut Outcome) {
        if self.is_empty() {
            return;
        }
        outcome.log = self.redact_bytes(&outcome.log);
        match &mut outcome.summary {
            Summary::Step(s) => self.redact_typed(s),
            Summary::Tests(s) => self.redact_typed(s),
            Summary::Policy(s) => self.redact_typed(s),
        }
        self.redact_blobs(&mut outcome.blobs);
    }
}

impl From<Step> for Outcome {
    fn from(step: Step) -> Outcome {
        Outcome {
            ok: step.ok,
            interrupted: step.interrupted,
            log: step.log,
            summary: Summary::Step(step.summary),
            blobs: step.blobs,
            tool_ms: step.tool_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sensitive_value_is_removed_from_the_log_the_summary_and_the_blobs() {
        let secret = "s3cr3t-password";
        let finding = strata_policy::Finding {
            policy: "policies/guard".into(),
            namespace: "main".into(),
            rule: "deny".into(),
            outcome: strata_policy::Outcome::Deny,
            msg: format!("password is {secret}"),
            severity: "high".into(),
            file: None,
            line: None,
            details: serde_json::json!({ "value": secret }),
            waived_by: None,
        };
        let mut outcome = Outcome {
            ok: true,
            log: format!("connecting with {secret}\n").into_bytes(),
            summary: Summary::Policy(PolicySummary {
                findings: vec![finding],
                ..PolicySummary::default()
            }),
            blobs: BTreeMap::from([(
                "plan.json".to_string(),
                format!("{{\"password\": \"{secret}\"}}").into_bytes(),
            )]),
            ..Outcome::default()
        };
        let mut redactor = strata_exec::redact::Redactor::default();
        redactor.redact_outcome(&mut outcome);
        assert!(
            String::from_utf8_lossy(&outcome.log).contains(secret),
            "nothing known to be sensitive: nothing removed"
        );
        redactor.add(&serde_json::Value::String(secret.into()));
        redactor.redact_outcome(&mut outcome);

        let log = String::from_utf8(outcome.log.clone()).unwrap();
        assert!(!log.contains(secret), "{log}");
        assert!(log.contains(strata_exec::redact::REDACTED), "{log}");
        let summary = serde_json::to_string(&outcome.summary).unwrap();
        assert!(!summary.contains(secret), "{summary}");
        let blob = String::from_utf8(outcome.blobs["plan.json"].clone()).unwrap();
        assert!(!blob.contains(secret), "{blob}");
        assert!(outcome.ok, "redaction does not change the outcome");
    }

    #[test]
    fn cached_summaries_are_read_back_by_action_and_others_are_misses() {
        let plan = serde_json::json!({"add": 1, "change": 0, "destroy": 0, "import": 0, "resources": [], "outputs_changed": []});
        let back = Summary::from_cached(Action::Plan, plan.clone()).unwrap();
        assert_eq!(back.plan().unwrap().add, 1);
        assert_eq!(serde_json::to_value(&back).unwrap(), plan);
        // A plan's summary is not a render's, and an old shape is not trusted.
        assert!(Summary::from_cached(Action::Render, plan).is_none());
        assert!(Summary::from_cached(Action::Plan, serde_json::json!({"add": 1})).is_none());
        assert_eq!(
            serde_json::to_value(
                Summary::from_cached(Action::Validate, serde_json::Value::Null).unwrap()
            )
            .unwrap(),
            serde_json::Value::Null
        );
        let policy = serde_json::to_value(Summary::Policy(PolicySummary::default())).unwrap();
        assert!(Summary::from_cached(Action::Policy, policy)
            .unwrap()
            .policy()
            .is_some());
    }
}
