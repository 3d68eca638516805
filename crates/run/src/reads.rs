//! Tasks that read what a plan or render produced: user tests and policies.

use super::runner::Runner;
use crate::outcome::{Outcome, PolicySummary, Summary, TestsSummary};
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
        self.sources[i.index()]
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

    pub(crate) fn texts(&self, paths: &[&str]) -> Result<Vec<(String, String)>> {
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

    /// Evaluates the governing policies (the workspace's and the built-in pack's) on the
    /// target's inputs (see [`Runner::policy_inputs`]), applies the waivers, reports inline
    /// skips no waiver registers, and gates on the environment's `max_severity`.
    pub(super) fn run_policies(&self, i: TaskId) -> Result<Outcome> {
        let task = &self.tasks[i];
        let model = self.model();
        let target = &model[task.target];
        let env = task.env.as_deref();
        let start = Instant::now();
        let inputs = match self.policy_inputs(i)? {
            Ok(inputs) => inputs,
            Err(why) => return Ok(Outcome::failed(why)),
        };
        let (mut findings, mut notes) = match self.evaluate_governors(i, &inputs) {
            Ok(evaluated) => evaluated,
            Err(why) => return Ok(Outcome::failed(why)),
        };
        if !inputs.hidden.is_empty() {
            let mut redactor = strata_exec::redact::Redactor::default();
            for value in &inputs.hidden {
                redactor.add(value);
            }
            redactor.redact_typed(&mut findings);
            for note in &mut notes {
                *note = redactor.redact_text(note);
            }
        }
        // Findings on the plan or on rendered objects point at the target's main file.
        let fallback = match target.kind {
            strata_graph::discover::Kind::Chart => {
                Some(strata_graph::discover::in_dir(&target.label, "Chart.yaml"))
            }
            _ => inputs.tf_texts.first().map(|(p, _)| p.clone()),
        };
        for f in &mut findings {
            if f.file.is_none() {
                f.file = fallback.clone();
            }
        }
        // Point each finding at the block it names, in the file it came from.
        strata_policy::locate(&mut findings, &inputs.tf_texts);
        // Waivers: those in force accept matching findings; an expired one fails the task.
        let today = strata_graph::model::waivers::today();
        let expired =
            strata_policy::waivers::apply(&mut findings, &model.waivers, &target.label, env, today);
        findings.extend(strata_policy::inline::unregistered(
            &inputs.tf_texts,
            &model.waivers,
            &target.label,
            env,
            today,
        ));
        let max = env
            .and_then(|e| model.environment(e))
            .and_then(|e| e.config.gates.max_severity.clone());
        let blocking = findings
            .iter()
            .filter(|f| strata_policy::blocks(f, max.as_deref()))
            .count();
        let waived = findings.iter().filter(|f| f.waived_by.is_some()).count();
        let count = |o: strata_policy::Outcome| findings.iter().filter(|f| f.outcome == o).count();
        let deny = count(strata_policy::Outcome::Deny);
        let mut log = policy_log(&findings, &notes, &expired, max.as_deref());
        if let (Some(max), true) = (&max, deny > blocking + waived) {
            log.push_str(&format!(
                "strata: findings at or below max_severity = \"{max}\" are reported, not blocking\n"
            ));
        }
        Ok(Outcome {
            ok: blocking == 0 && expired.is_empty(),
            summary: Summary::Policy(PolicySummary {
                deny,
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

    /// What a policy task evaluates: each of the target's Terraform files (in conftest's
    /// HCL2 JSON shape), the same files as one module per directory (for policies reading
    /// strata's shape: `data.conftest.file` names the directory and no file), and, in an
    /// environment, the plan JSON (one document) or each rendered object (one document
    /// each, as conftest does with a multi-document file). `Ok(Err(why))`: the task fails.
    fn policy_inputs(&self, i: TaskId) -> Result<std::result::Result<PolicyInputs, String>> {
        let task = &self.tasks[i];
        let target = &self.model()[task.target];
        // Terraform's JSON syntax (`*.tf.json`) is read as conftest reads a `.json` file:
        // the document as written, one per file, in either shape.
        let tf: Vec<&str> = target
            .files
            .iter()
            .map(String::as_str)
            .filter(|f| strata_graph::discover::is_terraform_file(f))
            .collect();
        let tf_texts = self.texts(&tf)?;
        let mut files = Vec::new();
        for (path, text) in &tf_texts {
            let info = strata_policy::FileInfo {
                name: strata_graph::discover::file_name(path).to_string(),
                dir: strata_graph::discover::parent_dir(path).to_string(),
            };
            let format = if strata_graph::discover::is_terraform_json(path) {
                strata_policy::input::Format::Json
            } else {
                strata_policy::input::Format::Terraform
            };
            match strata_policy::InputFile::read(path, text, format, Some(info)) {
                Ok(input) => files.push(input),
                Err(e) => return Ok(Err(e.to_string())),
            }
        }
        let mut modules = match strata_policy::input::by_module(&files, &tf_texts, |dir| {
            Some(strata_policy::FileInfo {
                name: String::new(),
                dir: dir.to_string(),
            })
        }) {
            Ok(m) => m,
            Err(e) => return Ok(Err(e.to_string())),
        };
        // The variable files terraform is given for the stack (its own, and the
        // environment's for it), one document each, for policies reading conftest's shape
        // (a scan of the stack's directory gives them too): each sensitive variable's value
        // hidden, as the plan hides it.
        let mut var_files: Vec<&str> = target
            .files
            .iter()
            .map(String::as_str)
            .filter(|f| strata_graph::discover::is_var_file(f))
            .collect();
        if let Some(env) = task.env.as_deref() {
            var_files.extend(
                self.env_files
                    .for_target(env, &target.label)
                    .filter(|f| strata_graph::discover::is_var_file(f)),
            );
        }
        let mut hidden = Vec::new();
        if !var_files.is_empty() {
            let sensitive = strata_exec::var_values::sensitive_variables(
                &self
                    .session
                    .root
                    .join(strata_graph::discover::label_dir(&target.label)),
            );
            for (path, text) in self.texts(&var_files)? {
                let info = strata_policy::FileInfo {
                    name: strata_graph::discover::file_name(&path).to_string(),
                    dir: strata_graph::discover::parent_dir(&path).to_string(),
                };
                match strata_policy::InputFile::variables(
                    &path,
                    &text,
                    Some(info),
                    &sensitive,
                    strata_exec::redact::REDACTED,
                ) {
                    Ok((input, values)) => {
                        files.push(input);
                        hidden.extend(values);
                    }
                    Err(e) => return Ok(Err(e.to_string())),
                }
            }
        }
        let mut context = self.context(i);
        if self.source_of(i).is_some() {
            let produced = match self.produced(i) {
                Ok(Produced::Plan(plan)) => strata_policy::InputFile::parsed(None, vec![plan]),
                Ok(Produced::Manifests(objects)) => {
                    // A chart's rendered objects, for rules that relate them (NetworkPolicies
                    // and the pods they select).
                    context["objects"] = Value::Array(objects.clone());
                    // A render of nothing is still evaluated, once with a null input, as
                    // conftest does with an empty file: a rule requiring something fires.
                    let objects = if objects.is_empty() {
                        vec![Value::Null]
                    } else {
                        objects
                    };
                    strata_policy::InputFile::parsed(None, objects)
                }
                Err(e) => return Ok(Err(format!("strata: {e}"))),
            };
            modules.push(produced.clone());
            files.push(produced);
        }
        Ok(Ok(PolicyInputs {
            files,
            modules,
            tf_texts,
            context,
            hidden,
        }))
    }

    /// The findings and warnings of every policy governing the task's target in its
    /// environment; `Err`: a policy that could not be loaded or evaluated (named).
    fn evaluate_governors(
        &self,
        i: TaskId,
        inputs: &PolicyInputs,
    ) -> std::result::Result<(Vec<strata_policy::Finding>, Vec<String>), String> {
        let task = &self.tasks[i];
        let model = self.model();
        let read = |paths: &[&str]| self.texts(paths);
        let overrides = strata_policy::Overrides::default();
        let mut findings = Vec::new();
        let mut notes = Vec::new();
        for governor in crate::governing::governing(model, task.target, task.env.as_deref()) {
            let (label, loaded) = match governor {
                crate::governing::Governor::Workspace(p) => (
                    model[p].label.as_str(),
                    strata_policy::load_policy(model, p, &read, &overrides),
                ),
                crate::governing::Governor::Builtin(b) => (b.label.as_str(), b.load(&overrides)),
            };
            let evaluated = loaded.and_then(|policy| match policy.shape() {
                strata_policy::Shape::Strata => policy.evaluate(&inputs.modules, &inputs.context),
                strata_policy::Shape::Hcl2json => policy.evaluate(&inputs.files, &inputs.context),
            });
            match evaluated {
                Ok(e) => {
                    findings.extend(e.findings);
                    notes.extend(e.warnings);
                }
                Err(e) => return Err(format!("{label}: {e}")),
            }
        }
        Ok((findings, notes))
    }
}

/// See [`Runner::policy_inputs`].
struct PolicyInputs {
    /// Each Terraform file, and the plan or rendered objects.
    files: Vec<strata_policy::InputFile>,
    /// The Terraform files as one module per directory, and the plan or rendered objects.
    modules: Vec<strata_policy::InputFile>,
    /// The Terraform files' paths and texts.
    tf_texts: Vec<(String, String)>,
    /// `data.strata`.
    context: Value,
    /// The values of sensitive variables the variable files set (hidden from the
    /// policies, and redacted from what they report, where another value holds them).
    hidden: Vec<Value>,
}

/// A policy task's log: warnings, one line per finding (marked by how it counts), and the
/// expired waivers.
fn policy_log(
    findings: &[strata_policy::Finding],
    notes: &[String],
    expired: &[&strata_graph::model::waivers::Waiver],
    max: Option<&str>,
) -> String {
    let mut log = String::new();
    for note in notes {
        log.push_str(&format!("warning: {note}\n"));
    }
    for f in findings {
        let mark = match f.outcome {
            _ if f.waived_by.is_some() => "WAIVED",
            strata_policy::Outcome::Deny if strata_policy::blocks(f, max) => "DENY",
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
        // The log is shown on terminals and in CI logs: a message's `\r` or colours must not
        // rewrite the line (the finding itself keeps the message as the policy wrote it).
        log.push_str(&format!(
            "{mark:<5} {} ({}.{}, {}){at}: {}{by}\n",
            f.policy,
            f.namespace,
            f.rule,
            f.severity,
            strata_graph::text::plain(&f.msg)
        ));
    }
    for w in expired {
        log.push_str(&format!(
            "EXPIRED {}\n",
            strata_policy::waivers::expired_message(w)
        ));
    }
    log
}
