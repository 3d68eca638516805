//! `strata show LABEL --env E`: the plan made for a stack's current task key, in full, from
//! the cache (redacted as it was stored: sensitive values never reach it).

use crate::explain::explain_task_keys;
use crate::task::Action;
use crate::{open_cache, RemoteOptions, RunOptions};
use serde::Serialize;
use strata_exec::plan_json::{self, PlanSummary, ResourceDiff};
use strata_graph::digest::TaskKey;
use strata_graph::error::{Error, Location, Result};
use strata_graph::session::{Session, View};

/// A cached plan, ready to print.
#[derive(Debug, Clone, Serialize)]
pub struct ShownPlan {
    pub label: String,
    pub env: String,
    pub key: String,
    pub summary: PlanSummary,
    pub resources: Vec<ResourceDiff>,
    /// Outputs that change: (name, before, after) as JSON text.
    pub outputs: Vec<OutputChange>,
    /// Faults of the remote cache met on the way (the plan came from the local cache), as
    /// warnings to print.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct OutputChange {
    pub name: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// The plan for `label` in `env` under its current key (the code, the environment's files,
/// the state and the upstream outputs as they are now). `Err` names why there is none.
pub fn show_plan(
    session: &Session,
    view: &View,
    label: &str,
    env: &str,
    remote: Option<RemoteOptions>,
) -> Result<ShownPlan> {
    let target = session.resolve_labels(&view.model, &[label.to_string()])?[0];
    let label = view.model.targets[target].label.clone();
    let explained = explain_task_keys(session, view, &[target], &[env.to_string()])?;
    let none = |why: String| Error::Invalid {
        message: format!("no plan of {label} in {env} to show: {why}"),
        location: Location::new("command line", None),
        hint: format!(
            "make one: `strata plan --env {} {}`",
            strata_graph::text::shell_word(env),
            strata_graph::text::shell_word(&label)
        ),
    };
    let plan = explained
        .iter()
        .find(|e| e.action == Action::Plan && e.label == label)
        .ok_or_else(|| {
            let target = &view.model.targets[target];
            Error::Invalid {
                message: format!(
                    "no plan of {label} in {env} to show: {label} is not a stack planned in {env}"
                ),
                location: Location::new("command line", None),
                hint: if target.kind != strata_graph::discover::Kind::Stack {
                    format!(
                        "{label} is a {}: only stacks have plans; `strata list` shows the stacks",
                        target.kind.as_str()
                    )
                } else {
                    format!(
                        "its environments are {}: show its plan in one of those",
                        if target.environments.is_empty() {
                            "none".to_string()
                        } else {
                            target.environments.join(", ")
                        }
                    )
                },
            }
        })?;
    let Some(key_hex) = &plan.key else {
        return Err(none(
            plan.not_computable
                .clone()
                .unwrap_or_else(|| "its key cannot be computed".into()),
        ));
    };
    let opts = RunOptions {
        mode: crate::task::Mode::Plan,
        envs: vec![env.to_string()],
        jobs: 1,
        keep_going: false,
        allow_incomplete: false,
        use_cache: true,
        remote,
        state_root: None,
        cache_dir: None,
        deployed: Default::default(),
        env_files_from: None,
        gating: crate::task::Gating::Stop,
    };
    // A remote that fails is why a plan may not be found: said, not swallowed.
    let faults: std::sync::Arc<std::sync::Mutex<Vec<String>>> = Default::default();
    let sink = std::sync::Arc::clone(&faults);
    let cache = open_cache(
        session,
        &opts,
        std::sync::Arc::new(move |w| sink.lock().expect("warnings").push(w)),
    )?;
    let key = TaskKey::from_hex(key_hex).ok_or_else(|| none("malformed key".into()))?;
    let found = cache.lookup(&key).map_err(|e| none(e.to_string()))?;
    let warnings = std::mem::take(&mut *faults.lock().expect("warnings"));
    let hit = found.ok_or_else(|| match warnings.is_empty() {
        true => none(format!(
            "none is cached under its current key {} (the code, the environment's files, the state or an upstream output changed since, or it was never planned here)",
            &key_hex[..12]
        )),
        false => none(format!(
            "none is in the local cache under its current key {}, and the remote cache could not be read: {}",
            &key_hex[..12],
            warnings
                .iter()
                .map(|w| {
                    let w = w.strip_prefix("warning: ").unwrap_or(w);
                    w.strip_suffix("; continuing with the local cache")
                        .unwrap_or(w)
                })
                .collect::<Vec<_>>()
                .join("; ")
        )),
    })?;
    let bytes = hit
        .blobs
        .get("plan.json")
        .ok_or_else(|| none("the cached result holds no plan".into()))?;
    let json = plan_json::parse(bytes).map_err(none)?;
    let outputs = json
        .get("output_changes")
        .and_then(|o| o.as_object())
        .map(|o| {
            o.iter()
                .filter(|(_, c)| {
                    c.get("actions")
                        .and_then(|a| a.as_array())
                        .is_some_and(|a| !(a.len() == 1 && a[0] == "no-op"))
                })
                .map(|(name, c)| {
                    let unknown = c.get("after_unknown") == Some(&serde_json::Value::Bool(true));
                    let text = |v: Option<&serde_json::Value>| {
                        v.filter(|v| !v.is_null()).map(|v| v.to_string())
                    };
                    OutputChange {
                        name: name.clone(),
                        before: text(c.get("before")),
                        after: if unknown {
                            Some("(known after apply)".into())
                        } else {
                            text(c.get("after"))
                        },
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(ShownPlan {
        label,
        env: env.to_string(),
        key: key_hex.clone(),
        summary: plan_json::summarize(&json),
        resources: plan_json::diffs(&json),
        outputs,
        warnings,
    })
}

/// The plan as text: every changed resource with its attributes, then the outputs.
pub fn render(plan: &ShownPlan) -> String {
    use std::fmt::Write;
    let mut text = format!(
        "{} [{}]: +{} ~{} -{} (plan {})\n",
        plan.label,
        plan.env,
        plan.summary.add,
        plan.summary.change,
        plan.summary.destroy,
        &plan.key[..12]
    );
    if plan.resources.is_empty() && plan.outputs.is_empty() {
        text.push_str("  no changes\n");
    }
    for r in &plan.resources {
        let _ = writeln!(
            text,
            "\n  {} {} ({}{})",
            r.sign(),
            r.shown(),
            r.action,
            r.reason.map(|why| format!(": {why}")).unwrap_or_default()
        );
        for a in &r.attributes {
            let forces = if a.forces_replacement {
                "  # forces replacement"
            } else {
                ""
            };
            let value = match (&a.before, &a.after, r.action.as_str()) {
                (_, Some(after), "create") => after.clone(),
                (Some(before), _, "delete") => before.clone(),
                (Some(b), Some(a), _) if b == a => b.clone(),
                (Some(b), Some(a), _) => format!("{b} -> {a}"),
                (None, Some(a), _) => format!("(none) -> {a}"),
                (Some(b), None, _) => format!("{b} -> (none)"),
                (None, None, _) => "(none)".into(),
            };
            let _ = writeln!(text, "      {} = {value}{forces}", a.name);
        }
    }
    if !plan.outputs.is_empty() {
        text.push_str("\n  outputs:\n");
        for o in &plan.outputs {
            let _ = writeln!(
                text,
                "      {} = {} -> {}",
                o.name,
                o.before.as_deref().unwrap_or("(none)"),
                o.after.as_deref().unwrap_or("(none)")
            );
        }
    }
    text
}
