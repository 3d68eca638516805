//! Why each task has the key it has, computed as a run would compute it, without running
//! anything: `strata hash --explain --env E` and `strata show`.

use crate::runner::{NotReady, Runner};
use crate::task::{plan_tasks, Action, Mode, TaskId};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use strata_cache::Cache;
use strata_exec::schedule::Status;
use strata_exec::Tools;
use strata_graph::error::Result;
use strata_graph::id::TargetId;
use strata_graph::session::{Session, View};

/// The task fingerprints (what each task key covers) of the selected targets in `envs`,
/// computed as a run would compute them, without running anything: for
/// `strata hash --explain --env E`.
pub fn explain_task_keys(
    session: &Session,
    view: &View,
    selected: &[TargetId],
    envs: &[String],
) -> Result<Vec<KeyExplanation>> {
    let envs = crate::resolve_envs(&view.model, envs)?;
    let tasks = plan_tasks(&view.model, selected, &envs, Mode::Check);
    // The versions of unpinned tools are part of keys: found when the tools are there.
    let tools = crate::resolve_tools(session, &tasks, &view.model, false).unwrap_or(Tools {
        terraform: None,
        helm: None,
        env: Vec::new(),
        unpinned: Default::default(),
        plugin_cache: None,
    });
    let runner = Runner {
        session,
        view,
        tasks: &tasks,
        sources: crate::task::sources(&tasks),
        mode: Mode::Check,
        gating: crate::task::Gating::Stop,
        tools: tools.clone(),
        cache: Cache::disabled(Arc::new(|_| {})),
        work_root: session.root.join(".strata/work"),
        env_files: view.model.environment_files(&view.snapshot),
        done: Mutex::new(vec![None; tasks.len()]),
        outputs: Mutex::new(HashMap::new()),
        say: &|_| {},
        approve: &|_| false,
        reviewed: Mutex::default(),
        unsaved: Mutex::default(),
        states: crate::states::States::new(session, view, tools),
        deployed: &Default::default(),
    };
    // A test's or policy's key covers the plan or render it reads: the one the local cache
    // holds under that task's key, when there is one (nothing is run or fetched).
    let local = crate::open_cache(
        session,
        &crate::RunOptions {
            mode: Mode::Check,
            envs: envs.clone(),
            jobs: 1,
            keep_going: false,
            allow_incomplete: false,
            use_cache: true,
            remote: None,
            state_root: None,
            cache_dir: None,
            deployed: Default::default(),
            env_files_from: None,
            gating: crate::task::Gating::Stop,
        },
        Arc::new(|_| {}),
    )
    .ok();
    let mut out = Vec::new();
    for (i, task) in TaskId::all(tasks.len()).zip(&tasks) {
        let mut report = runner.report(i);
        let mut entry = KeyExplanation {
            label: report.label.clone(),
            action: task.action,
            env: task.env.clone(),
            key: None,
            provisional: None,
            fingerprint: None,
            not_computable: None,
        };
        match runner.fingerprint(i) {
            Ok((fp, prepared)) => {
                report.key = Some(fp.key().to_hex());
                if matches!(task.action, Action::Plan | Action::Render) {
                    let hit = local
                        .as_ref()
                        .and_then(|c| c.lookup(&fp.key()).ok().flatten());
                    if let Some(hit) = hit {
                        runner.outputs.lock().expect("outputs").insert(i, hit.blobs);
                    }
                }
                let mut fingerprint = serde_json::to_value(&fp).expect("fingerprint");
                // A digest over a sensitive value could confirm a guess: say what it covers.
                let sensitive = &prepared.inputs.sensitive;
                if !sensitive.is_empty() {
                    fingerprint["upstream_outputs"] = Value::String(format!(
                        "(covers the consumed outputs, including sensitive {}; digest not shown)",
                        sensitive.join(", ")
                    ));
                }
                // `TF_*` values may be secret (`TF_VAR_db_password`): their names are shown,
                // their digest not (unkeyed, it would confirm a guess of a short value).
                if let Some(names) = fingerprint["tf_vars"]
                    .as_str()
                    .and_then(|s| s.split_once(' '))
                    .map(|(_, names)| names.to_string())
                {
                    fingerprint["tf_vars"] = Value::String(format!(
                        "(digest not shown: their values may be secret) {names}"
                    ));
                }
                // A state holds sensitive values in clear text: its lineage and serial are
                // shown, its digest not.
                if matches!(task.action, Action::Plan | Action::Apply) {
                    if let Some((lineage, serial)) = fingerprint["state"]
                        .as_str()
                        .and_then(|s| s.split_once(':'))
                        .and_then(|(lineage, rest)| Some((lineage, rest.split_once(':')?.0)))
                    {
                        let shown = format!(
                            "{lineage}:{serial}:(digest not shown: a state holds sensitive values)"
                        );
                        fingerprint["state"] = Value::String(shown);
                    }
                }
                entry.key = report.key.clone();
                entry.provisional = Some(prepared.provisional);
                entry.fingerprint = Some(fingerprint);
            }
            Err(NotReady::Skip(why) | NotReady::Fail(why) | NotReady::NothingToDo(why)) => {
                report.status = Status::Skipped;
                entry.not_computable = Some(why);
            }
        }
        runner.done.lock().expect("reports")[i] = Some(report);
        out.push(entry);
    }
    Ok(out)
}

/// Why a task has the key it has (`strata hash --explain --env E`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct KeyExplanation {
    pub label: String,
    pub action: Action,
    pub env: Option<String>,
    /// The task key; `None` when it cannot be computed yet (`not_computable` says why).
    pub key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provisional: Option<bool>,
    /// Exactly what the key hashes (a digest over sensitive inputs is replaced by what it
    /// covers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_computable: Option<String>,
}

impl KeyExplanation {
    /// A fingerprint field that is a string (`state`, `upstream_outputs`, `reads`, ...).
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fingerprint.as_ref()?.get(name)?.as_str()
    }

    /// The governing policies a policy task's key covers: (policy label, its target hash,
    /// or the built-in pack's version).
    pub fn policies(&self) -> Vec<(&str, &str)> {
        self.pairs("policies")
    }

    /// The waivers a policy task's key covers: (the waiver, as JSON; whether it expired).
    pub fn waivers(&self) -> Vec<(&str, bool)> {
        let Some(items) = self
            .fingerprint
            .as_ref()
            .and_then(|f| f["waivers"].as_array())
        else {
            return Vec::new();
        };
        items
            .iter()
            .filter_map(|w| Some((w[0].as_str()?, w[1].as_bool()?)))
            .collect()
    }

    fn pairs(&self, field: &str) -> Vec<(&str, &str)> {
        let Some(items) = self.fingerprint.as_ref().and_then(|f| f[field].as_array()) else {
            return Vec::new();
        };
        items
            .iter()
            .filter_map(|p| Some((p[0].as_str()?, p[1].as_str()?)))
            .collect()
    }

    /// The environment files the key covers: (blob id, path).
    pub fn env_inputs(&self) -> Vec<(&str, &str)> {
        let Some(files) = self
            .fingerprint
            .as_ref()
            .and_then(|f| f["env_inputs"].as_array())
        else {
            return Vec::new();
        };
        files
            .iter()
            .filter_map(|f| Some((f["id"].as_str()?, f["path"].as_str()?)))
            .collect()
    }
}
