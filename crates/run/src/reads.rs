//! Tasks that read what a plan or render produced: user tests and policies.

use super::runner::Runner;
use crate::outcome::{Outcome, PolicySummary, Summary, TestsSummary};
use crate::task::Action;
use crate::task::TaskId;
use serde_json::Value;
use std::time::Instant;

use strata_graph::error::Result;

/// What a test or policy task reads: the plan JSON of a stack, or the rendered objects of a
/// chart.
enum Produced {
    Plan(Value),
    Manifests(Vec<Value>),
}

impl Runner<'_> {
    /// The plan or render task of the same target and environment.
    pub(super) fn source_of(&self, i: TaskId) -> Option<TaskId> {
        let task = &self.tasks[i];
        self.tasks
            .iter()
            .position(|t| {
                t.target == task.target
                    && t.env == task.env
                    && matches!(t.action, Action::Plan | Action::Render)
            })
            .map(TaskId::from_index)
    }

    /// The output of the plan or render a test or policy task follows.
    fn produced(&self, i: TaskId) -> std::result::Result<Produced, String> {
        let source = self.source_of(i).ok_or("no plan or render to read")?;
        let outputs = self
            .outputs
            .lock()
            .expect("outputs")
            .get(&source)
            .cloned()
            .ok_or("the plan or render output is not available")?;
        if let Some(plan) = outputs.get("plan.json") {
            return serde_json::from_slice(plan)
                .map(Produced::Plan)
                .map_err(|e| format!("plan JSON: {e}"));
        }
        if let Some(manifests) = outputs.get("manifests.yaml") {
            return match strata_policy::usertest::manifests_input(manifests)? {
                Value::Array(docs) => Ok(Produced::Manifests(docs)),
                other => Ok(Produced::Manifests(vec![other])),
            };
        }
        Err("nothing to read".into())
    }

    fn texts(&self, paths: &[&str]) -> Result<Vec<(String, String)>> {
        self.view.texts(&self.session.repo, paths)
    }

    fn context(&self, i: TaskId) -> Value {
        let task = &self.tasks[i];
        let target = &self.model().targets[task.target];
        serde_json::json!({
            "label": target.label,
            "kind": target.kind,
            "environment": task.env,
            "dependencies": target.deps.iter().map(|d| d.label.as_str()).collect::<Vec<_>>(),
        })
    }

    /// Runs the target's Rego tests over the output of the plan or render before it.
    pub(super) fn run_tests(&self, i: TaskId) -> Result<Outcome> {
        let target = &self.model().targets[self.tasks[i].target];
        let input = match self.produced(i) {
            Ok(Produced::Plan(plan)) => plan,
            Ok(Produced::Manifests(docs)) => Value::Array(docs),
            Err(e) => return Ok(Outcome::failed(format!("strata: {e}"))),
        };
        let paths: Vec<&str> = target.test_files.iter().map(String::as_str).collect();
        let files = self.texts(&paths)?;
        let run = strata_policy::usertest::run(&files, &input, &self.context(i));
        Ok(Outcome {
            ok: run.ok,
            log: run.log.into_bytes(),
            summary: Summary::Tests(TestsSummary {
                passed: run.passed,
                failed: run.failed,
                tests: run.tests,
            }),
            tool_ms: run.duration_ms,
            ..Outcome::default()
        })
    }

    /// Evaluates the governing policies (the workspace's and the built-in pack's). Inputs:
    /// each of the target's Terraform files (in conftest's HCL2 JSON shape; policies reading
    /// strata's shape get the `.tf` files of each directory as one module), and, in an
    /// environment, the plan JSON (one document) or each rendered object (one document
    /// each, as conftest does with a multi-document file).
    pub(super) fn run_policies(&self, i: TaskId) -> Result<Outcome> {
        let task = &self.tasks[i];
        let model = self.model();
        let target = &model.targets[task.target];
        let start = Instant::now();
        let tf: Vec<&str> = target
            .files
            .iter()
            .map(String::as_str)
            .filter(|f| f.ends_with(".tf"))
            .collect();
        let tf_texts = self.texts(&tf)?;
        let mut inputs = Vec::new();
        for (path, text) in &tf_texts {
            let info = strata_policy::FileInfo {
                name: strata_graph::discover::file_name(path).to_string(),
                dir: strata_graph::discover::parent_dir(path).to_string(),
            };
            let format = strata_policy::input::Format::Terraform;
            match strata_policy::InputFile::read(path, text, format, Some(info)) {
                Ok(input) => inputs.push(input),
                Err(e) => return Ok(Outcome::failed(e.to_string())),
            }
        }
        // The same files as modules, for policies reading strata's shape; `data.conftest.file`
        // names the module's directory (relative to the workspace) and no file.
        let mut modules = match strata_policy::input::by_module(&inputs, &tf_texts, |dir| {
            Some(strata_policy::FileInfo {
                name: String::new(),
                dir: dir.to_string(),
            })
        }) {
            Ok(m) => m,
            Err(e) => return Ok(Outcome::failed(e.to_string())),
        };
        let mut rendered = None;
        if task.env.is_some() {
            let produced = match self.produced(i) {
                Ok(Produced::Plan(plan)) => strata_policy::InputFile::parsed(None, vec![plan]),
                Ok(Produced::Manifests(objects)) => {
                    rendered = Some(objects.clone());
                    strata_policy::InputFile::parsed(None, objects)
                }
                Err(e) => return Ok(Outcome::failed(format!("strata: {e}"))),
            };
            modules.push(produced.clone());
            inputs.push(produced);
        }
        let mut context = self.context(i);
        if let Some(objects) = rendered {
            // A chart's rendered objects, for rules that relate them (NetworkPolicies and
            // the pods they select).
            context["objects"] = Value::Array(objects);
        }
        let mut findings = Vec::new();
        let mut notes = Vec::new();
        let read = |paths: &[&str]| self.texts(paths);
        let overrides = strata_policy::Overrides::default();
        for governor in crate::governing::governing(model, task.target, task.env.as_deref()) {
            let (label, loaded) = match governor {
                crate::governing::Governor::Workspace(p) => (
                    model.targets[p].label.as_str(),
                    strata_policy::load_policy(model, p, &read, &overrides),
                ),
                crate::governing::Governor::Builtin(b) => (b.label.as_str(), b.load(&overrides)),
            };
            let evaluated = loaded.and_then(|policy| match policy.shape() {
                strata_policy::Shape::Strata => policy.evaluate(&modules, &context),
                strata_policy::Shape::Hcl2json => policy.evaluate(&inputs, &context),
            });
            match evaluated {
                Ok(e) => {
                    findings.extend(e.findings);
                    notes.extend(e.warnings);
                }
                Err(e) => return Ok(Outcome::failed(format!("{label}: {e}"))),
            }
        }
        // Findings on the plan or on rendered objects point at the target's main file.
        let fallback = match target.kind {
            strata_graph::discover::Kind::Chart => {
                Some(strata_graph::discover::in_dir(&target.label, "Chart.yaml"))
            }
            _ => tf_texts.first().map(|(p, _)| p.clone()),
        };
        for f in &mut findings {
            if f.file.is_none() {
                f.file = fallback.clone();
            }
        }
        // Point each finding at the block it names, in the file it came from.
        strata_policy::locate(&mut findings, &tf_texts);
        // Waivers: those in force accept matching findings; an expired one fails the task.
        let today = strata_graph::model::waivers::today();
        let applicable: Vec<&strata_graph::model::waivers::Waiver> = model
            .waivers
            .iter()
            .filter(|w| w.applies_to(&target.label, task.env.as_deref()))
            .collect();
        let expired: Vec<&&strata_graph::model::waivers::Waiver> =
            applicable.iter().filter(|w| w.expired(today)).collect();
        let in_force: Vec<&&strata_graph::model::waivers::Waiver> =
            applicable.iter().filter(|w| !w.expired(today)).collect();
        for f in &mut findings {
            let ids = f.ids();
            let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
            if let Some(w) = in_force.iter().find(|w| w.covers(&ids)) {
                f.waived_by = Some(format!(
                    "{}:{} (owner {}, until {})",
                    strata_graph::model::waivers::WAIVERS_FILE,
                    w.line,
                    w.owner,
                    w.expires
                ));
            }
        }
        // Inline skips count only when a waiver in force registers them.
        for (path, text) in &tf_texts {
            for skip in strata_policy::inline::inline_skips(path, text) {
                let registered = in_force.iter().any(|w| w.covers(&[skip.rule.as_str()]));
                if !registered {
                    findings.push(strata_policy::Finding {
                        policy: strata_graph::model::waivers::WAIVERS_FILE.to_string(),
                        namespace: "strata".into(),
                        rule: "unregistered_inline_skip".into(),
                        outcome: strata_policy::Outcome::Warn,
                        msg: format!(
                            "inline skip of {} is not honoured: register a waiver for it in {}",
                            skip.rule,
                            strata_graph::model::waivers::WAIVERS_FILE
                        ),
                        severity: "medium".into(),
                        file: Some(skip.file.clone()),
                        line: Some(skip.line),
                        details: Value::Null,
                        waived_by: None,
                    });
                }
            }
        }
        let max = task
            .env
            .as_deref()
            .and_then(|e| model.environment(e))
            .and_then(|e| e.config.gates.max_severity.clone());
        let blocking = findings
            .iter()
            .filter(|f| strata_policy::blocks(f, max.as_deref()))
            .count();
        let waived = findings.iter().filter(|f| f.waived_by.is_some()).count();
        let count = |o: strata_policy::Outcome| findings.iter().filter(|f| f.outcome == o).count();
        let mut log = String::new();
        for note in &notes {
            log.push_str(&format!("warning: {note}\n"));
        }
        for f in &findings {
            let mark = match f.outcome {
                _ if f.waived_by.is_some() => "WAIVED",
                strata_policy::Outcome::Deny if strata_policy::blocks(f, max.as_deref()) => "DENY",
                strata_policy::Outcome::Deny => "ALLOW",
                strata_policy::Outcome::Warn => "WARN",
                strata_policy::Outcome::Unknown => "UNKNOWN",
            };
            let at = match (&f.file, f.line) {
                (Some(file), Some(line)) => format!(" at {file}:{line}"),
                (Some(file), None) => format!(" in {file}"),
                _ => String::new(),
            };
            let by = f
                .waived_by
                .as_ref()
                .map(|w| format!(" [waived by {w}]"))
                .unwrap_or_default();
            log.push_str(&format!(
                "{mark:<5} {} ({}.{}, {}){at}: {}{by}\n",
                f.policy, f.namespace, f.rule, f.severity, f.msg
            ));
        }
        for w in &expired {
            log.push_str(&format!(
                "EXPIRED waiver {}:{} for {} on {} (owner {}) expired on {}: renew it or fix the finding\n",
                strata_graph::model::waivers::WAIVERS_FILE,
                w.line,
                w.rule,
                w.targets,
                w.owner,
                w.expires
            ));
        }
        if let (Some(max), true) = (
            &max,
            count(strata_policy::Outcome::Deny) > blocking + waived,
        ) {
            log.push_str(&format!(
                "strata: findings at or below max_severity = \"{max}\" are reported, not blocking\n"
            ));
        }
        Ok(Outcome {
            ok: blocking == 0 && expired.is_empty(),
            summary: Summary::Policy(PolicySummary {
                deny: count(strata_policy::Outcome::Deny),
                blocking,
                waived,
                expired_waivers: expired
                    .iter()
                    .map(|w| format!("{}:{}", strata_graph::model::waivers::WAIVERS_FILE, w.line))
                    .collect(),
                warn: count(strata_policy::Outcome::Warn),
                unknown: count(strata_policy::Outcome::Unknown),
                max_severity: max,
                findings,
            }),
            log: log.into_bytes(),
            tool_ms: start.elapsed().as_millis() as u64,
            ..Outcome::default()
        })
    }
}
