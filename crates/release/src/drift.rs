//! Drift: whether what runs in an environment is still what its release lock says.
//!
//! - **Stacks**: each stack in the lock is planned with its code at the commit the lock
//!   records, against the real state (never from the cache: the cloud may have changed while
//!   the state did not). A plan with changes, or resources terraform found changed outside
//!   terraform when it refreshed, is drift; a plan that cannot be made is unknown, with why.
//! - **Delivered manifests**: the environment's GitOps output in the checkout (when the
//!   workspace has `[gitops]`) is compared with a fresh output of the lock; edited, missing
//!   and extra files are drift, and inside a chart's manifests each object that differs is
//!   named.

use crate::delivery;
use crate::lock::ReleaseLock;
use crate::verify::run_labels;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use strata_exec::plan_json::ResourceAction;
use strata_exec::schedule::Status;
use strata_graph::session::{Session, View};
use strata_graph::{Error, Result};
use strata_run::report::{code, inline_text, markdown_text};
use strata_run::task::{Action, Mode};
use strata_run::{Observer, RunOptions};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    InSync,
    Drifted,
    Unknown,
}

#[derive(Debug, Clone, Serialize)]
pub struct StackDrift {
    pub label: String,
    pub commit: String,
    pub state: State,
    /// What applying the lock's code would change.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<ResourceAction>,
    /// What terraform found changed outside terraform.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub outside: Vec<ResourceAction>,
    /// The outputs whose value applying the lock's code would change (what stacks reading
    /// them get): by name only, sensitive ones too.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub outputs: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl StackDrift {
    /// A verdict with no plan behind it, only why.
    fn said(label: &str, commit: &str, state: State, reason: String) -> StackDrift {
        StackDrift {
            label: label.to_string(),
            commit: commit.to_string(),
            state,
            changes: Vec::new(),
            outside: Vec::new(),
            outputs: Vec::new(),
            reason: Some(reason),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileDrift {
    /// The file, relative to the output directory.
    pub file: String,
    /// `edited`, `missing` or `extra`.
    pub what: String,
    /// For a chart's manifests: the objects (`Kind/name`) that differ.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub objects: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DriftReport {
    pub env: String,
    pub stacks: Vec<StackDrift>,
    /// The delivered output's drift; `None` when it was not checked (no `[gitops]`, or
    /// labels that name no chart).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivered: Option<Vec<FileDrift>>,
    /// Why the delivered output could not be compared.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivered_unknown: Option<String>,
    /// The labels the delivered output was compared for (the files delivering them and
    /// those all share); empty when the whole output was compared.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub delivered_for: Vec<String>,
    /// The labels the check was asked about (empty: the whole lock).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    pub interrupted: bool,
}

impl DriftReport {
    pub fn drifted(&self) -> bool {
        self.stacks.iter().any(|s| s.state == State::Drifted)
            || self.delivered.as_ref().is_some_and(|d| !d.is_empty())
    }

    pub fn unknown(&self) -> bool {
        self.stacks.iter().any(|s| s.state == State::Unknown) || self.delivered_unknown.is_some()
    }

    pub fn text(&self) -> String {
        let mut out = String::new();
        for s in &self.stacks {
            let state = match s.state {
                State::InSync => "in sync",
                State::Drifted => "DRIFTED",
                State::Unknown => "unknown",
            };
            out.push_str(&format!(
                "{:<8} {} [{}] (lock: commit {})\n",
                state,
                s.label,
                self.env,
                &s.commit[..12.min(s.commit.len())]
            ));
            for r in &s.outside {
                out.push_str(&format!(
                    "           changed outside terraform: {} ({})\n",
                    r.address, r.action
                ));
            }
            for r in &s.changes {
                out.push_str(&format!(
                    "           {} {}{}\n",
                    r.sign(),
                    r.shown(),
                    if r.changed.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", r.changed.join(", "))
                    }
                ));
            }
            for o in &s.outputs {
                out.push_str(&format!("           ~ output.{o}\n"));
            }
            if let Some(why) = &s.reason {
                out.push_str(&format!("           {why}\n"));
            }
        }
        match (&self.delivered, &self.delivered_unknown) {
            (Some(files), _) if files.is_empty() && self.delivered_for.is_empty() => {
                out.push_str(&format!("in sync  delivered output of {}\n", self.env))
            }
            // Not the whole output: say so, or it reads as a check of all of it.
            (Some(files), _) if files.is_empty() => out.push_str(&format!(
                "in sync  delivered output of {} for {} (the rest of it was not compared)\n",
                self.env,
                self.delivered_for.join(", ")
            )),
            (Some(files), _) => {
                for f in files {
                    out.push_str(&format!(
                        "DRIFTED  {} ({}){}\n",
                        f.file,
                        f.what,
                        if f.objects.is_empty() {
                            String::new()
                        } else {
                            format!(": {}", f.objects.join(", "))
                        }
                    ));
                }
            }
            (None, Some(why)) => out.push_str(&format!(
                "unknown  delivered output of {}: {why}\n",
                self.env
            )),
            (None, None) => {}
        }
        let drifted = self
            .stacks
            .iter()
            .filter(|s| s.state == State::Drifted)
            .count();
        out.push_str(&format!(
            "{} stack(s) checked: {} in sync, {drifted} drifted, {} unknown\n",
            self.stacks.len(),
            self.stacks
                .iter()
                .filter(|s| s.state == State::InSync)
                .count(),
            self.stacks
                .iter()
                .filter(|s| s.state == State::Unknown)
                .count(),
        ));
        out
    }

    pub fn markdown(&self) -> String {
        let mut out = format!("## Drift in {}\n\n", self.env);
        if !self.labels.is_empty() {
            out.push_str(&format!(
                "Checked only {} (and the delivered files all charts share); the rest of the release lock was not compared.\n\n",
                self.labels
                    .iter()
                    .map(|l| code(l))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if !self.drifted() && !self.unknown() {
            out.push_str(if self.labels.is_empty() {
                "Everything matches the release lock.\n"
            } else {
                "What was checked matches the release lock.\n"
            });
            return out;
        }
        out.push_str("| target | state | what |\n|---|---|---|\n");
        for s in self.stacks.iter().filter(|s| s.state != State::InSync) {
            let what: Vec<String> = s
                .outside
                .iter()
                .map(|r| format!("{} changed outside terraform", code(&r.address)))
                .chain(
                    s.changes
                        .iter()
                        .map(|r| format!("{} would be {}", code(&r.shown()), past(&r.action))),
                )
                .chain(
                    s.outputs
                        .iter()
                        .map(|o| format!("{} would change", code(&format!("output.{o}")))),
                )
                .chain(s.reason.iter().map(|r| markdown_text(r)))
                .collect();
            out.push_str(&format!(
                "| {} | {} | {} |\n",
                code(&s.label),
                if s.state == State::Drifted {
                    "drifted"
                } else {
                    "unknown"
                },
                what.join("<br>").replace('|', "\\|")
            ));
        }
        for f in self.delivered.iter().flatten() {
            out.push_str(&format!(
                "| {} | {} | {} |\n",
                code(&f.file),
                f.what,
                inline_text(&f.objects.join(", "))
            ));
        }
        if let Some(why) = &self.delivered_unknown {
            out.push_str(&format!(
                "| delivered output | unknown | {} |\n",
                markdown_text(why).replace('|', "\\|")
            ));
        }
        out.push_str("\nReconcile: re-apply the lock (`strata apply` from the locked commit, or promote again), or adopt the change through a pull request. See docs/gitops.md.\n");
        out
    }
}

fn past(action: &str) -> String {
    match action {
        "read" => "read".into(),
        a if a.ends_with('e') => format!("{a}d"),
        a => format!("{a}ed"),
    }
}

/// `Kind/name` of each object in a multi-document manifest, with its text.
fn objects(yaml: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (n, doc) in yaml.split("\n---").enumerate() {
        let v: serde_json::Value = serde_norway::from_str(doc).unwrap_or(serde_json::Value::Null);
        if v.is_null() {
            continue;
        }
        let key = match (
            v.get("kind").and_then(|k| k.as_str()),
            v.pointer("/metadata/name").and_then(|k| k.as_str()),
        ) {
            (Some(k), Some(name)) => format!("{k}/{name}"),
            _ => format!("document {}", n + 1),
        };
        out.insert(key, v.to_string());
    }
    out
}

/// Compares the delivered tree with the expected one.
pub fn compare(
    expected: &BTreeMap<String, String>,
    delivered: &BTreeMap<String, String>,
) -> Vec<FileDrift> {
    let files: BTreeSet<&String> = expected.keys().chain(delivered.keys()).collect();
    let mut out = Vec::new();
    for file in files {
        match (expected.get(file), delivered.get(file)) {
            (Some(a), Some(b)) if a == b => {}
            // A marker an earlier strata wrote lists no files: its first line is all of it.
            (Some(a), Some(b))
                if file == crate::delivery::MARKER && crate::delivery::is_unlisted_marker(a, b) => {
            }
            (Some(a), Some(b)) => {
                let (a, b) = (objects(a), objects(b));
                let names: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
                let objects = names
                    .into_iter()
                    .filter(|n| a.get(*n) != b.get(*n))
                    .map(|n| match (a.contains_key(n), b.contains_key(n)) {
                        (true, false) => format!("{n} (missing)"),
                        (false, true) => format!("{n} (extra)"),
                        _ => n.clone(),
                    })
                    .collect();
                out.push(FileDrift {
                    file: file.clone(),
                    what: "edited".into(),
                    objects,
                });
            }
            (Some(_), None) => out.push(FileDrift {
                file: file.clone(),
                what: "missing".into(),
                objects: Vec::new(),
            }),
            (None, Some(_)) => out.push(FileDrift {
                file: file.clone(),
                what: "extra".into(),
                objects: Vec::new(),
            }),
            (None, None) => {}
        }
    }
    out
}

/// Checks `env` (or the `labels` of its lock) for drift.
pub fn drift(
    session: &Session,
    head: &View,
    env: &str,
    labels: &[String],
    base: &RunOptions,
    observer: &dyn Observer,
) -> Result<DriftReport> {
    let _operation = strata_exec::process::operation();
    strata_run::resolve_envs(&head.model, &[env.to_string()])?;
    let lock = ReleaseLock::read(&session.root, env)?;
    for label in labels {
        if !lock.targets.contains_key(label) {
            return Err(Error::Usage {
                message: format!("{label} is not in {env}'s release lock"),
                hint: format!(
                    "drift compares what runs with the lock: apply it first (`strata apply {} --env {}`)",
                    strata_graph::text::shell_word(label),
                    strata_graph::text::shell_word(env)
                ),
            });
        }
    }
    // The stacks named and the stacks they read, as the lock records them (transitively):
    // a stack is planned against its upstream stacks' outputs as they are, so an upstream
    // changed out of band makes its plan provisional (unknown), where checked alone it
    // would be judged against the changed outputs.
    let checked = lock.with_what_they_read(labels, |d| d.kind == "stack");
    let labels = &checked[..];
    let wanted = |l: &str| labels.is_empty() || labels.iter().any(|x| x == l);
    // A stack the code no longer deploys here (taken out of its `environments`) whose
    // entry, and resources, are still here: what runs is not what the code says, whatever
    // its plan would show. Not planned (the code no longer plans it here); drift.
    let taken_out = |label: &str| {
        head.model
            .index(label)
            .is_some_and(|i| !head.model.targets[i].environments.iter().any(|e| e == env))
    };
    let mut left: Vec<StackDrift> = Vec::new();
    for (label, e) in lock
        .targets
        .iter()
        .filter(|(l, e)| e.kind == "stack" && wanted(l) && taken_out(l))
    {
        left.push(StackDrift::said(
            label,
            &e.commit,
            State::Drifted,
            format!(
                "taken out of {env} (its `environments` no longer list it), but {env}'s release lock still records it and its resources are there: destroy it (`strata destroy {} --env {}`)",
                strata_graph::text::shell_word(label),
                strata_graph::text::shell_word(env)
            ),
        ));
    }
    // A chart whose own files (values, secrets) were committed since it was applied runs
    // what its lock entry says, but not what the environment now configures: drift, as a
    // stack planned with those files shows.
    let charts: Vec<(&String, &crate::lock::LockEntry)> = lock
        .targets
        .iter()
        .filter(|(l, e)| e.kind == "chart" && wanted(l) && head.model.index(l).is_some())
        .collect();
    // HEAD's commit is modelled only when there is a chart to ask about.
    if !charts.is_empty() {
        let head_commit = session.repo.resolve_commit("HEAD")?;
        let at_head = session.at_commit(&head_commit)?;
        let env_files = at_head.model.environment_files(&at_head.snapshot);
        let mut since = crate::env_files::SinceApplied::new(
            session,
            &head_commit,
            env,
            &env_files,
            &at_head.snapshot,
        );
        for (label, e) in charts {
            // Nothing when git cannot tell.
            if let Some(Some(file)) = since.fed_changed(e.env_files_commit(), label, true) {
                left.push(StackDrift::said(
                    label,
                    &e.commit,
                    State::Drifted,
                    format!(
                        "{file} changed since it was applied in {env}: apply it there (`strata apply {} --env {}`)",
                        strata_graph::text::shell_word(label),
                        strata_graph::text::shell_word(env)
                    ),
                ));
            }
        }
    }
    let mut by_commit: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (label, e) in lock
        .targets
        .iter()
        .filter(|(l, e)| e.kind == "stack" && wanted(l) && !taken_out(l))
    {
        by_commit
            .entry(e.commit.as_str())
            .or_default()
            .push(label.clone());
    }
    // Plans are never served from the cache: the world may have moved while the state and
    // code did not.
    let opts = RunOptions {
        use_cache: false,
        ..base.clone()
    };
    let mut report = DriftReport {
        env: env.to_string(),
        stacks: left,
        delivered: None,
        delivered_unknown: None,
        delivered_for: Vec::new(),
        labels: labels.to_vec(),
        interrupted: false,
    };
    // Whether a stack the lock records has no state here (read once per stack, only for
    // one whose plan has changes).
    let states = std::cell::OnceCell::new();
    let stateless = |label: &str| -> Result<bool> {
        let Some(t) = head.model.index(label) else {
            return Ok(false);
        };
        let Some(environment) = head.model.environment(env) else {
            return Ok(false);
        };
        let states = match states.get() {
            Some(s) => s,
            None => {
                let tasks = vec![strata_run::task::Task {
                    target: t,
                    action: Action::Plan,
                    env: Some(env.to_string()),
                    deps: Vec::new(),
                }];
                let tools = strata_run::resolve_tools(session, &tasks, &head.model, false)?;
                let _ = states.set(strata_run::states::States::new(session, head, tools));
                states.get().expect("set")
            }
        };
        Ok(states
            .state_of(t, environment)
            .is_ok_and(|s| s.as_ref().is_none_or(|s| s.never_applied())))
    };
    for (commit, stacks) in by_commit {
        if strata_exec::process::is_cancelled() {
            report.interrupted = true;
            break;
        }
        // Without --keep-going, the first stack that cannot be checked stops the rest:
        // each is listed as not checked, never left out of the report.
        if !opts.keep_going && report.stacks.iter().any(|s| s.state == State::Unknown) {
            for label in stacks {
                report.stacks.push(StackDrift::said(
                    &label,
                    commit,
                    State::Unknown,
                    "not checked: a stack before it could not be checked (--keep-going checks the rest)".into(),
                ));
            }
            continue;
        }
        let run = run_labels(
            session,
            None,
            Some(commit),
            &stacks,
            Mode::Plan,
            env,
            &opts,
            observer,
        )?;
        report.interrupted |= run.interrupted;
        for label in stacks {
            let plan = run
                .tasks
                .iter()
                .find(|t| t.label == label && t.action == Action::Plan);
            let failed = run
                .tasks
                .iter()
                .find(|t| t.label == label && t.status != Status::Ok);
            let mut s = StackDrift {
                label: label.clone(),
                commit: commit.to_string(),
                state: State::Unknown,
                changes: Vec::new(),
                outside: Vec::new(),
                outputs: Vec::new(),
                reason: None,
            };
            match (failed, plan.and_then(|p| p.summary.plan())) {
                (Some(t), _) => {
                    s.reason = Some(format!(
                        "{} {}: {}",
                        t.action,
                        if t.status == Status::Failed {
                            "failed"
                        } else {
                            "did not run"
                        },
                        t.reason.as_deref().unwrap_or("see the log with -v")
                    ))
                }
                (None, Some(p)) => {
                    s.changes = p.resources.clone();
                    s.outside = p.outside.clone();
                    s.outputs = p.outputs_changed.clone();
                    let changed = p.has_changes() || !p.outside.is_empty();
                    s.state = if changed {
                        State::Drifted
                    } else {
                        State::InSync
                    };
                    let provisional = plan.is_some_and(|t| t.provisional);
                    if changed && stateless(&label)? {
                        // Planned against no state: everything "would be created", and an
                        // apply would create it a second time.
                        s.state = State::Unknown;
                        s.reason = Some(format!(
                            "no state of {label} was found in {env}, but its release lock records it as applied there: the state is elsewhere (local state is kept per checkout: a new or moved checkout has none; or the backend's key, bucket or schema changed), so what runs there was not compared"
                        ));
                    } else if changed && provisional {
                        // Planned against an upstream stack's outputs that themselves
                        // differ from the lock: its changes may be the upstream's.
                        s.state = State::Unknown;
                        s.reason = Some(format!(
                            "planned against the outputs of a stack it reads that itself differs from the lock in {env}: check that stack first, then this one again"
                        ));
                    }
                }
                (None, None) => s.reason = Some("no plan was made".into()),
            }
            report.stacks.push(s);
        }
    }
    // The output is compared when it delivers something asked about: a chart, or a stack
    // whose release marker the charts wait for (flux-kustomize); and, for the whole
    // environment, whenever it is there (with no chart left in the lock, what the cluster
    // syncs from it, an AppProject, still matters: a file added there is delivered).
    let charts_wanted =
        lock.targets.values().any(|e| e.kind == "chart") && lock.targets.keys().any(|l| wanted(l));
    let dir = delivery::configured_dir(&session.root, &head.model, env);
    let compared = charts_wanted
        || (labels.is_empty()
            && !lock.targets.is_empty()
            && dir.as_ref().is_some_and(|d| d.exists()));
    if let (Some(dir), true, false) = (dir, compared, report.interrupted) {
        match delivery::from_lock(session, head, env, &lock, base, observer)? {
            Ok(expected) => {
                let delivered = delivery::read_tree(&dir)?;
                // The marker too: without it the next apply refuses to write the directory.
                let mut files = compare(&delivery::with_marker(&expected), &delivered);
                if !labels.is_empty() {
                    // A chart's own files (its manifests, its Application, Kustomization or
                    // HelmRelease), and the files all charts share (the AppProject, the
                    // source): what delivers the labels asked about.
                    let names: Vec<String> = labels
                        .iter()
                        .map(|l| strata_gitops::object_name(l))
                        .collect();
                    // A stack's marker Kustomization is `stack-<name>`.
                    files.retain(|f| match delivered_name(&f.file) {
                        Some(name) => names
                            .iter()
                            .any(|n| n == name || name.strip_prefix("stack-") == Some(n.as_str())),
                        None => true,
                    });
                    report.delivered_for = labels.to_vec();
                }
                report.delivered = Some(files);
            }
            Err(why) => report.delivered_unknown = Some(why),
        }
    }
    // A drift job that compared nothing must not pass for one that found everything in
    // step: no lock (never committed, another branch), an empty one, or charts only with
    // no GitOps output to compare.
    if report.stacks.is_empty()
        && report.delivered.is_none()
        && report.delivered_unknown.is_none()
        && !report.interrupted
    {
        return Err(Error::Invalid {
            message: format!(
                "nothing to compare in {env}: its release lock records {}",
                if lock.targets.is_empty() {
                    "no target".to_string()
                } else {
                    "no stack, and no GitOps output of its charts is configured".to_string()
                }
            ),
            location: strata_graph::error::Location::new(
                format!("environments/{env}/release.lock.toml"),
                None,
            ),
            hint: format!(
                "drift compares what runs with the lock: apply the environment (`strata apply --env {env}`) and commit its release lock, and run drift on a checkout that has it"
            ),
        });
    }
    Ok(report)
}

/// The object name of the chart (or stack marker) a delivered file is for; `None` for the
/// files all of the environment's charts share.
fn delivered_name(file: &str) -> Option<&str> {
    if let Some(rest) = file.strip_prefix("charts/") {
        return rest.split('/').next();
    }
    if let Some(rest) = file.strip_prefix("stacks/") {
        return rest.split('/').next();
    }
    for dir in [
        "argocd/apps/",
        "flux/kustomizations/",
        "flux/helmreleases/",
        "flux/sources/",
    ] {
        if let Some(name) = file.strip_prefix(dir).and_then(|r| r.strip_suffix(".yaml")) {
            return Some(name);
        }
    }
    None
}
