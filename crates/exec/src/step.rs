//! What one tool step produced: its outcome, log, typed summary and named outputs.

use crate::plan_json::PlanSummary;
use crate::process::Output;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What one step produced.
#[derive(Debug, Default)]
pub struct Step {
    pub ok: bool,
    pub interrupted: bool,
    pub log: Vec<u8>,
    pub summary: StepSummary,
    /// Extra named outputs to cache beside the log.
    pub blobs: BTreeMap<String, Vec<u8>>,
    /// Wall time spent inside the tools.
    pub tool_ms: u64,
}

impl Step {
    pub(crate) fn from(out: &Output) -> Step {
        Step {
            ok: out.success,
            interrupted: out.interrupted,
            log: out.combined(),
            summary: StepSummary::None,
            blobs: BTreeMap::new(),
            tool_ms: out.duration.as_millis() as u64,
        }
    }

    /// A step's exit code is its verdict, but a wrapper around the tool can lose it
    /// (`terraform "$@" | tee run.log` exits with `tee`'s status): a run that exited 0 must
    /// also have printed `words` on stdout, what the tool prints when it succeeds, or the
    /// step fails, saying why, instead of passing (and being cached) having checked
    /// nothing. `command` names the run (`terraform init`), `tool` the program.
    pub(crate) fn require_said(&mut self, out: &Output, tool: &str, command: &str, words: &str) {
        if self.ok && !out.interrupted && !String::from_utf8_lossy(&out.stdout).contains(words) {
            self.ok = false;
            self.log.extend_from_slice(
                format!(
                    "strata: `{command}` exited 0 without saying \"{}\": its success is not trusted (a wrapper script that loses {tool}'s exit code, or a program that is not {tool}?)\n",
                    words.trim()
                )
                .as_bytes(),
            );
        }
    }

    /// Adds a later tool run: its output, its outcome, its time.
    pub(crate) fn append(&mut self, out: &Output) {
        self.log.extend_from_slice(&out.combined());
        self.ok = out.success;
        self.interrupted |= out.interrupted;
        self.tool_ms += out.duration.as_millis() as u64;
    }
}

/// A tool step's summary. Serialized without a tag (the JSON of `check --json`'s
/// `summary`): which one it is follows from the task's action.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum StepSummary {
    Plan(PlanSummary),
    Render(RenderSummary),
    Fmt(FmtSummary),
    Init(InitSummary),
    /// Nothing beyond the outcome (validate, deps, lint, apply).
    #[default]
    None,
}

/// `terraform fmt -check`: the files it would change.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FmtSummary {
    pub unformatted: Vec<String>,
}

/// `terraform init`: whether the sandbox's initialised data directory was reused.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InitSummary {
    pub reused: bool,
}

/// `helm template`: the rendered objects, counted by kind and named `Kind/name`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenderSummary {
    pub objects: usize,
    pub kinds: BTreeMap<String, u32>,
    pub names: Vec<String>,
}
