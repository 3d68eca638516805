//! Promotion plans: what moves from one environment to the next, in which order, and what
//! is held back and why.
//!
//! A plan compares the source environment's release lock with the destination's. Every
//! target whose verified hash differs is a step; steps are ordered into waves (a target only
//! after everything it depends on), each step's gates are evaluated against the
//! destination's `[gates]`, and a blocked target holds back everything that depends on it.
//! Targets gone from the source become destroy steps, which promote only when the plan was
//! made with `--allow-destroy`. A plan needs no terraform run: it reads locks and env.toml,
//! so the same inputs give a byte-identical plan, whose digest approvals sign.

use crate::clock;
use crate::lock::{LockEntry, ReleaseLock, NONE, PASSED};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use strata_graph::discover::Kind;
use strata_graph::error::{Error, Location};
use strata_graph::manifest::{parse_duration, Gates};
use strata_graph::model::Model;
use strata_graph::Result;
use strata_policy::severity_rank;

/// The plan format this strata writes.
pub const PLAN_VERSION: u32 = 1;

/// The `schema_version` a plan file starts with, as every JSON document strata writes.
const PLAN_SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromotionPlan {
    pub version: u32,
    pub from: String,
    pub to: String,
    /// Who made the plan: their approval does not count.
    pub author: String,
    /// Digests of the two locks the plan was made from: if either changes, the plan is stale.
    pub source_lock: String,
    pub destination_lock: String,
    /// The targets the plan was limited to (empty: all).
    pub labels: Vec<String>,
    pub allow_destroy: bool,
    /// Approvals the destination requires.
    pub approvals: u32,
    pub waves: Vec<Vec<Step>>,
    pub blocked: Vec<Blocked>,
    /// Targets already at the source's hash in the destination.
    pub unchanged: usize,
    /// Targets the destination deploys and the source does not (per the graph at HEAD):
    /// they never pass through the source, so no promotion carries them; they are applied
    /// in the destination directly.
    pub outside: Vec<String>,
    /// Targets the plan does not apply whose own files in the destination
    /// (`environments/<to>/`) were committed since they were applied there: no hash
    /// changed, so no promotion carries that; they are applied in the destination directly.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reconfigured: Vec<Reconfigured>,
    /// BLAKE3 of the plan with this field empty: what approvals sign.
    pub digest: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StepAction {
    Apply,
    Destroy,
}

/// What undoes a step when a later one fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Rollback {
    /// Re-apply the destination's previous lock entry (its commit).
    Previous,
    /// Destroy what the step created (a target new to the destination, `--allow-destroy`).
    Destroy,
    /// Leave it: a new target, and the plan was not allowed to destroy.
    Keep,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub label: String,
    pub kind: String,
    pub action: StepAction,
    /// Apply: the source's hash and commit. Destroy: the destination's (the code that
    /// destroys it).
    pub hash: String,
    pub commit: String,
    /// The destination's entry before this promotion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<Previous>,
    pub rollback: Rollback,
    /// Charts: the rendered manifests' digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rendered: Option<String>,
    /// Apply: the digest of the destination's own files that feed the target, as HEAD's
    /// commit held them when the plan was made (see [`crate::env_files::digest`]): what the
    /// step runs with, and what its approvers saw. `promote apply` refuses the plan once
    /// they changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env_files: Option<String>,
    pub gates: Vec<GateResult>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reconfigured {
    pub label: String,
    /// The first of its files that changed.
    pub file: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Previous {
    pub hash: String,
    pub commit: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateResult {
    pub gate: String,
    pub ok: bool,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Blocked {
    pub label: String,
    pub gate: String,
    pub reason: String,
}

/// What to plan.
pub struct Request<'a> {
    pub from: &'a str,
    pub to: &'a str,
    /// Limit the plan to these targets (empty: all).
    pub labels: &'a [String],
    pub allow_destroy: bool,
    pub author: String,
    /// Seconds since the epoch, for soak times.
    pub now: i64,
    /// The source's lock entries its audit ledger does not vouch for, with why
    /// ([`crate::vouch::unvouched`]): held back (gate `recorded`).
    pub unvouched: &'a BTreeMap<String, String>,
    /// What the source's audit trail recorded as destroyed ([`crate::vouch::Trail`]): a
    /// target its code still deploys there is gone from it only then.
    pub destroyed: &'a BTreeSet<String>,
    /// What judges each source target's policy checks in the source today
    /// ([`crate::verify::policy_basis`]), to compare with what judged them when recorded.
    pub policy_basis: &'a BTreeMap<String, Option<String>>,
    /// The destination's own files for each target, as HEAD's commit holds them
    /// ([`crate::env_files::for_promotion`]).
    pub destination_files: &'a BTreeMap<String, crate::env_files::TargetFiles>,
}

/// The two locks a plan compares.
pub struct Locks {
    pub source: ReleaseLock,
    pub destination: ReleaseLock,
}

impl Locks {
    pub fn read(root: &Path, from: &str, to: &str) -> Result<Locks> {
        Ok(Locks {
            source: ReleaseLock::read(root, from)?,
            destination: ReleaseLock::read(root, to)?,
        })
    }
}

/// Whether `label`, in the destination `to`'s lock, is gone from the source `from`, so that a
/// promotion may carry its removal on: not in the source's lock, and deleted from the
/// graph, no longer deployed in the destination, or deployed in the source by its code and
/// destroyed there as its audit trail records (`destroyed`). A target the source
/// environment never applied (new in its `environments`, or its first apply there failed)
/// is not gone: the source has said nothing about it.
pub fn gone_from_source(
    model: &Model,
    from: &str,
    to: &str,
    label: &str,
    source: &BTreeMap<String, LockEntry>,
    destroyed: &BTreeSet<String>,
) -> bool {
    if source.contains_key(label) {
        return false;
    }
    match model.index(label) {
        None => true,
        Some(i) => {
            let envs = &model.targets[i].environments;
            !envs.iter().any(|e| e == to)
                || (envs.iter().any(|e| e == from) && destroyed.contains(label))
        }
    }
}

/// Checks that `to` promotes from `from` and returns the destination's gates.
pub fn train_step<'m>(model: &'m Model, from: &str, to: &str) -> Result<&'m Gates> {
    let env = |name: &str| {
        model.environment(name).ok_or_else(|| Error::Usage {
            message: format!("`{name}` is not an environment"),
            hint: format!(
                "environments are: {}",
                model
                    .environments
                    .iter()
                    .map(|e| e.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })
    };
    env(from)?;
    let dest = env(to)?;
    if dest.config.promotes_from.as_deref() != Some(from) {
        return Err(Error::Invalid {
            message: match &dest.config.promotes_from {
                Some(source) => format!("{to} promotes from {source}, not {from}"),
                None => {
                    format!("{to} is the first environment of its train: nothing promotes into it")
                }
            },
            location: Location::new(dest.file.clone(), None),
            hint: match &dest.config.promotes_from {
                Some(source) => format!("promote with `--from {source} --to {to}`"),
                // The train named backwards (`from` already promotes from `to`, directly
                // or further up) or an environment into itself: promoting `from` into `to`
                // would make a loop, which is refused; name the step out of `to` instead.
                None if from == to || upstream(model, from).any(|e| e == to) => {
                    match model
                        .environments
                        .iter()
                        .find(|e| e.config.promotes_from.as_deref() == Some(to))
                    {
                        Some(next) => format!(
                            "promotions go down the train, out of {to}: `--from {to} --to {}`",
                            next.name
                        ),
                        None => format!("no environment promotes from {to}"),
                    }
                }
                None => format!("set `promotes_from = \"{from}\"` in {}", dest.file),
            },
        });
    }
    Ok(&dest.config.gates)
}

/// The environments `env` promotes from, nearest first (a loop is walked once).
fn upstream<'m>(model: &'m Model, env: &str) -> impl Iterator<Item = &'m str> {
    let mut seen = std::collections::BTreeSet::new();
    let mut at = model
        .environment(env)
        .and_then(|e| e.config.promotes_from.as_deref());
    std::iter::from_fn(move || {
        let current = at.filter(|e| seen.insert(*e))?;
        at = model
            .environment(current)
            .and_then(|e| e.config.promotes_from.as_deref());
        Some(current)
    })
}

/// The actions a target of `kind` has (the others are not required of it).
fn has_action(kind: &str, action: &str) -> bool {
    match kind {
        "stack" => matches!(
            action,
            "fmt" | "validate" | "init" | "plan" | "test" | "policy"
        ),
        "chart" => matches!(action, "deps" | "lint" | "render" | "test" | "policy"),
        _ => false,
    }
}

/// The first 12 characters of a hash or commit id, as people read them.
pub(crate) fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}

/// The gates of promoting `entry` (the source's) into an environment with `gates`.
pub fn gates_of(entry: &LockEntry, from: &str, gates: &Gates, now: i64) -> Vec<GateResult> {
    let mut out = vec![GateResult {
        gate: "verified".into(),
        ok: true,
        detail: format!(
            "verified in {from}: hash {} from commit {}, applied {} by {}",
            short(&entry.hash),
            short(&entry.commit),
            entry.applied_at,
            entry.applied_by
        ),
    }];
    let required: Vec<&String> = gates
        .require
        .iter()
        .filter(|a| has_action(&entry.kind, a))
        .collect();
    if !required.is_empty() {
        let missing: Vec<&str> = required
            .iter()
            .filter(|a| {
                !matches!(
                    entry.checks.get(a.as_str()).map(String::as_str),
                    Some(PASSED) | Some(NONE)
                )
            })
            .map(|a| a.as_str())
            .collect();
        let said: Vec<String> = required
            .iter()
            .map(|a| {
                let r = entry.checks.get(a.as_str()).map(String::as_str);
                format!("{a}: {}", r.unwrap_or("did not run"))
            })
            .collect();
        out.push(GateResult {
            gate: "require".into(),
            ok: missing.is_empty(),
            detail: if missing.is_empty() {
                format!("in {from}: {}", said.join(", "))
            } else {
                format!(
                    "{} did not pass in {from} for this hash ({})",
                    missing.join(", "),
                    said.join(", ")
                )
            },
        });
    }
    if let Some(max) = &gates.max_severity {
        let found = entry.max_severity.as_deref();
        let ok = found.is_none_or(|f| severity_rank(f) <= severity_rank(max));
        out.push(GateResult {
            gate: "max_severity".into(),
            ok,
            detail: match found {
                None => format!("no policy findings in {from} (at most {max} allowed)"),
                Some(f) if ok => format!("highest finding in {from}: {f} (at most {max} allowed)"),
                Some(f) => format!("a {f} policy finding in {from}, above the allowed {max}"),
            },
        });
    }
    if let Some(soak) = gates.soak.as_deref().and_then(parse_duration) {
        let until = entry.applied_secs().saturating_add(soak as i64);
        out.push(GateResult {
            gate: "soak".into(),
            ok: now >= until,
            detail: format!(
                "applied in {from} at {}; soak {} until {}",
                entry.applied_at,
                clock::format_duration(soak),
                clock::format_utc(until)
            ),
        });
    }
    out
}

/// Makes the plan of promoting `req.from` into `req.to`.
pub fn make(model: &Model, locks: &Locks, req: &Request) -> Result<PromotionPlan> {
    let gates = train_step(model, req.from, req.to)?;
    let (src, dst) = (&locks.source.targets, &locks.destination.targets);
    for label in req.labels {
        if !src.contains_key(label) && !dst.contains_key(label) {
            let deploys_in_source = model
                .index(label)
                .is_none_or(|i| model.targets[i].environments.iter().any(|e| e == req.from));
            return Err(Error::Usage {
                message: format!(
                    "{label} is in neither {}'s nor {}'s release lock",
                    req.from, req.to
                ),
                hint: if deploys_in_source {
                    format!(
                        "apply it in {} first (`strata apply {} --env {}`), or check the label",
                        req.from,
                        strata_graph::text::shell_word(label),
                        strata_graph::text::shell_word(req.from)
                    )
                } else {
                    format!(
                        "{label} does not deploy in {}, so no promotion carries it: apply it in {} directly (`strata apply {} --env {}`)",
                        req.from,
                        req.to,
                        strata_graph::text::shell_word(label),
                        strata_graph::text::shell_word(req.to)
                    )
                },
            });
        }
    }
    let wanted = |label: &str| req.labels.is_empty() || req.labels.iter().any(|l| l == label);
    let deploys_in = |label: &str, env: &str| {
        model
            .index(label)
            .is_none_or(|i| model.targets[i].environments.iter().any(|e| e == env))
    };

    // Apply candidates: differing in the destination.
    let mut unchanged = 0;
    let mut candidates: BTreeMap<&str, &LockEntry> = BTreeMap::new();
    for (label, entry) in src {
        if !wanted(label) || !deploys_in(label, req.to) {
            continue;
        }
        match dst.get(label) {
            Some(d) if d.hash == entry.hash => unchanged += 1,
            _ => {
                candidates.insert(label, entry);
            }
        }
    }
    let mut blocked: BTreeMap<String, Blocked> = BTreeMap::new();
    let mut gate_results: BTreeMap<&str, Vec<GateResult>> = BTreeMap::new();
    for (label, entry) in &candidates {
        let mut results = gates_of(entry, req.from, gates, req.now);
        // Findings judged by other policies or waivers than today's: the gates above read
        // them as recorded; the approvers are told (the destination's verification judges
        // by today's, after its apply).
        let judged_by_policies = !gates.require.is_empty() || gates.max_severity.is_some();
        if let (true, Some(then), Some(now)) = (
            judged_by_policies,
            entry.policies.as_ref(),
            req.policy_basis.get(*label),
        ) {
            if Some(then) != now.as_ref() {
                results.push(GateResult {
                    gate: "policies changed".into(),
                    ok: true,
                    detail: format!(
                        "the policies or waivers that judge {label} in {} changed since it was verified there: the findings above are from then; {}'s verification judges it by today's, after its apply",
                        req.from, req.to
                    ),
                });
            }
        }
        if let Some(why) = req.unvouched.get(*label) {
            results.insert(
                1,
                GateResult {
                    gate: "recorded".into(),
                    ok: false,
                    detail: format!(
                        "{why}: a promotion moves only what {}'s audit trail recorded as applied; apply it in {} again",
                        req.from, req.from
                    ),
                },
            );
        }
        if let Some(failed) = results.iter().find(|g| !g.ok) {
            blocked.insert(
                label.to_string(),
                Blocked {
                    label: label.to_string(),
                    gate: failed.gate.clone(),
                    reason: failed.detail.clone(),
                },
            );
        }
        gate_results.insert(label, results);
    }
    // Dependencies: a target waits for what it depends on; one whose dependency is blocked,
    // or not deployed in the destination at all, is held back with it. Repeated until
    // nothing changes (blocks travel up chains of dependents).
    loop {
        let mut more = Vec::new();
        for (label, entry) in &candidates {
            if blocked.contains_key(*label) {
                continue;
            }
            for dep in &entry.deps {
                let reason = if let Some(b) = blocked.get(dep) {
                    Some(format!("depends on {dep}, which is blocked ({})", b.gate))
                } else if !candidates.contains_key(dep.as_str()) && !dst.contains_key(dep) {
                    Some(format!(
                        "depends on {dep}, which is not deployed in {}",
                        req.to
                    ))
                } else if !candidates.contains_key(dep.as_str())
                    && src
                        .get(dep)
                        .zip(dst.get(dep))
                        .is_some_and(|(s, d)| s.hash != d.hash)
                {
                    // Verified in the source with the dependency as it is there: promoted
                    // ahead of it, it would run with another in the destination.
                    Some(format!(
                        "depends on {dep}, which {} has at another hash than {} and this plan does not promote: promote the two together",
                        req.to, req.from
                    ))
                } else {
                    None
                };
                if let Some(reason) = reason {
                    more.push(Blocked {
                        label: label.to_string(),
                        gate: "dependency".into(),
                        reason,
                    });
                    break;
                }
            }
        }
        if more.is_empty() {
            break;
        }
        for b in more {
            blocked.insert(b.label.clone(), b);
        }
    }
    let promoting: BTreeMap<&str, &LockEntry> = candidates
        .iter()
        .filter(|(l, _)| !blocked.contains_key(**l))
        .map(|(l, e)| (*l, *e))
        .collect();
    let depth = levels(promoting.keys().copied(), |l| promoting[l].deps.clone())?;
    let mut waves: Vec<Vec<Step>> = Vec::new();
    for (label, entry) in &promoting {
        let d = depth[label];
        if waves.len() <= d {
            waves.resize_with(d + 1, Vec::new);
        }
        let previous = dst.get(*label).map(|p| Previous {
            hash: p.hash.clone(),
            commit: p.commit.clone(),
        });
        waves[d].push(Step {
            label: label.to_string(),
            kind: entry.kind.clone(),
            action: StepAction::Apply,
            hash: entry.hash.clone(),
            commit: entry.commit.clone(),
            rollback: match (&previous, req.allow_destroy) {
                (Some(_), _) => Rollback::Previous,
                (None, true) => Rollback::Destroy,
                (None, false) => Rollback::Keep,
            },
            previous,
            rendered: entry.rendered.clone(),
            env_files: req.destination_files.get(*label).map(|f| f.digest.clone()),
            gates: gate_results.remove(label).unwrap_or_default(),
        });
    }

    // Destroy candidates: in the destination, gone from the source, and not merely a
    // target the source environment never had.
    let gone: BTreeMap<&str, &LockEntry> = dst
        .iter()
        .filter(|(label, _)| {
            wanted(label)
                && (gone_from_source(model, req.from, req.to, label, src, req.destroyed)
                    // Removed by hand: held back below (gate `recorded`), not left unsaid.
                    || (!src.contains_key(*label) && req.unvouched.contains_key(*label)))
        })
        .map(|(l, e)| (l.as_str(), e))
        .collect();
    // A gone target still read by what stays in the destination is held back, and then
    // stays itself: what it reads is held back too (repeated until nothing changes).
    let mut held: BTreeMap<&str, Blocked> = BTreeMap::new();
    loop {
        let staying: Vec<(&str, &Vec<String>)> = dst
            .iter()
            .filter(|(l, _)| !gone.contains_key(l.as_str()) || held.contains_key(l.as_str()))
            .map(|(l, e)| {
                let deps = promoting
                    .get(l.as_str())
                    .map(|p| &p.deps)
                    .unwrap_or(&e.deps);
                (l.as_str(), deps)
            })
            .chain(promoting.iter().map(|(l, e)| (*l, &e.deps)))
            .collect();
        let mut more = Vec::new();
        for label in gone.keys().filter(|l| !held.contains_key(*l)) {
            let readers: BTreeSet<&str> = staying
                .iter()
                .filter(|(_, deps)| deps.iter().any(|d| d == label))
                .map(|(l, _)| *l)
                .collect();
            if !readers.is_empty() {
                more.push((
                    *label,
                    Blocked {
                        label: label.to_string(),
                        gate: "dependency".into(),
                        reason: format!(
                            "gone from {}, but {} still depend{} on it in {}",
                            req.from,
                            readers.iter().copied().collect::<Vec<_>>().join(", "),
                            if readers.len() == 1 { "s" } else { "" },
                            req.to
                        ),
                    },
                ));
            }
        }
        if more.is_empty() {
            break;
        }
        held.extend(more);
    }
    let mut destroying: BTreeMap<&str, &LockEntry> = BTreeMap::new();
    for (label, entry) in &gone {
        if let Some(b) = held.remove(label) {
            blocked.insert(label.to_string(), b);
        } else if let Some(why) = req.unvouched.get(*label) {
            // Gone from the source's lock with no event removing it (deleted by hand).
            blocked.insert(
                label.to_string(),
                Blocked {
                    label: label.to_string(),
                    gate: "recorded".into(),
                    reason: format!(
                        "{why}: a promotion destroys only what {}'s audit trail recorded as destroyed",
                        req.from
                    ),
                },
            );
        } else if !req.allow_destroy {
            blocked.insert(
                label.to_string(),
                Blocked {
                    label: label.to_string(),
                    gate: "destroy".into(),
                    reason: format!(
                        "gone from {}: its removal from {} is promoted only by a plan made with --allow-destroy",
                        req.from, req.to
                    ),
                },
            );
        } else {
            destroying.insert(label, entry);
        }
    }
    // Dependents are destroyed first: depth by what depends on each, among those destroyed.
    let dependents: BTreeMap<&str, Vec<String>> = destroying
        .keys()
        .map(|l| {
            let of: Vec<String> = destroying
                .iter()
                .filter(|(_, e)| e.deps.iter().any(|d| d == l))
                .map(|(d, _)| d.to_string())
                .collect();
            (*l, of)
        })
        .collect();
    let destroy_depth = levels(destroying.keys().copied(), |l| dependents[l].clone())?;
    let first = waves.len();
    for (label, entry) in &destroying {
        let d = first + destroy_depth[label];
        if waves.len() <= d {
            waves.resize_with(d + 1, Vec::new);
        }
        waves[d].push(Step {
            label: label.to_string(),
            kind: entry.kind.clone(),
            action: StepAction::Destroy,
            hash: entry.hash.clone(),
            commit: entry.commit.clone(),
            previous: Some(Previous {
                hash: entry.hash.clone(),
                commit: entry.commit.clone(),
            }),
            rollback: Rollback::Previous,
            rendered: None,
            env_files: None,
            gates: vec![GateResult {
                gate: "destroy".into(),
                ok: true,
                detail: format!("gone from {}; removal allowed by --allow-destroy", req.from),
            }],
        });
    }
    let outside: Vec<String> = model
        .targets
        .iter()
        .filter(|t| matches!(t.kind, Kind::Stack | Kind::Chart) && wanted(&t.label))
        .filter(|t| {
            t.environments.iter().any(|e| e == req.to)
                && !t.environments.iter().any(|e| e == req.from)
        })
        .filter(|t| t.chart.as_ref().is_none_or(|c| c.chart_type != "library"))
        .map(|t| t.label.clone())
        .collect();
    // What the destination runs whose own files changed since, and that this plan leaves
    // as it is (a step applies HEAD's files; a destroyed or held-back target is said
    // elsewhere).
    let reconfigured: Vec<Reconfigured> = dst
        .keys()
        .filter(|l| wanted(l) && deploys_in(l, req.to) && model.index(l).is_some())
        .filter(|l| !candidates.contains_key(l.as_str()) && !gone.contains_key(l.as_str()))
        .filter_map(|l| {
            let file = req.destination_files.get(l)?.changed.clone()?;
            Some(Reconfigured {
                label: l.clone(),
                file,
            })
        })
        .collect();
    let mut plan = PromotionPlan {
        version: PLAN_VERSION,
        from: req.from.into(),
        to: req.to.into(),
        author: req.author.clone(),
        source_lock: locks.source.digest(),
        destination_lock: locks.destination.digest(),
        labels: req.labels.to_vec(),
        allow_destroy: req.allow_destroy,
        approvals: gates.approvals,
        waves,
        blocked: blocked.into_values().collect(),
        unchanged,
        outside,
        reconfigured,
        digest: String::new(),
    };
    plan.digest = plan.compute_digest();
    Ok(plan)
}

/// The plan strata makes from `locks` and `model` for `plan`'s own request (its source,
/// destination, labels, `--allow-destroy` and author), at a time when every soak gate reads
/// as `plan` says: just before the earliest end of a soak it holds back (every soak it
/// passed ended before the plan was made, so before that too), or, when it holds none back,
/// at the end of time. Soak is the one gate that depends on when a plan is made, and it is
/// the last gate: a target held back by another gate, or by a dependency, shows that
/// whatever its soak says. So a plan strata made is exactly this plan while the locks and
/// the graph are unchanged.
pub fn remake(
    model: &Model,
    locks: &Locks,
    plan: &PromotionPlan,
    trail: &crate::vouch::Trail,
    policy_basis: &BTreeMap<String, Option<String>>,
    destination_files: &BTreeMap<String, crate::env_files::TargetFiles>,
) -> Result<PromotionPlan> {
    let gates = train_step(model, &plan.from, &plan.to)?;
    let now = match gates.soak.as_deref().and_then(parse_duration) {
        Some(soak) => plan
            .blocked
            .iter()
            .filter(|b| b.gate == "soak")
            .filter_map(|b| locks.source.targets.get(&b.label))
            .map(|e| {
                e.applied_secs()
                    .saturating_add(soak as i64)
                    .saturating_sub(1)
            })
            .min()
            .unwrap_or(i64::MAX),
        None => clock::now(),
    };
    make(
        model,
        locks,
        &Request {
            from: &plan.from,
            to: &plan.to,
            labels: &plan.labels,
            allow_destroy: plan.allow_destroy,
            author: plan.author.clone(),
            now,
            unvouched: &trail.unvouched,
            destroyed: &trail.destroyed,
            policy_basis,
            destination_files,
        },
    )
}

/// What judges each of `source`'s targets' policy checks in `from` today, as `view` has
/// the workspace (see [`crate::verify::policy_basis`]): what a plan compares with what
/// judged them when they were recorded.
pub fn policy_bases(
    view: &strata_graph::session::View,
    source: &ReleaseLock,
    from: &str,
) -> BTreeMap<String, Option<String>> {
    source
        .targets
        .keys()
        .map(|label| {
            (
                label.clone(),
                crate::verify::policy_basis(view, label, from),
            )
        })
        .collect()
}

/// Depth of each entry: 0 without dependencies among `set`, else one more than the deepest
/// of them. An error on a cycle (locks written from commits whose graphs disagree).
fn levels<'a>(
    set: impl Iterator<Item = &'a str>,
    deps: impl Fn(&str) -> Vec<String>,
) -> Result<BTreeMap<&'a str, usize>> {
    let mut depth: BTreeMap<&str, usize> = BTreeMap::new();
    let mut remaining: Vec<&str> = set.collect();
    let members: BTreeSet<&str> = remaining.iter().copied().collect();
    while !remaining.is_empty() {
        let before = remaining.len();
        remaining.retain(|label| {
            let ds: Vec<String> = deps(label)
                .into_iter()
                .filter(|d| members.contains(d.as_str()))
                .collect();
            if ds.iter().all(|d| depth.contains_key(d.as_str())) {
                let d = ds.iter().map(|d| depth[d.as_str()] + 1).max().unwrap_or(0);
                depth.insert(label, d);
                false
            } else {
                true
            }
        });
        if remaining.len() == before {
            return Err(Error::Usage {
                message: format!(
                    "the release locks' dependencies form a cycle among {}",
                    remaining.join(", ")
                ),
                hint: "apply the source environment again from one commit, so its lock records one graph".into(),
            });
        }
    }
    Ok(depth)
}

fn describe(p: Option<&Previous>) -> String {
    match p {
        Some(p) => format!("hash {} at commit {}", short(&p.hash), short(&p.commit)),
        None => "no entry".into(),
    }
}

impl PromotionPlan {
    pub fn compute_digest(&self) -> String {
        let mut copy = self.clone();
        copy.digest = String::new();
        let bytes = serde_json::to_vec(&copy).expect("plans serialize");
        blake3::hash(&bytes).to_hex().to_string()
    }

    pub fn steps(&self) -> impl Iterator<Item = &Step> {
        self.waves.iter().flatten()
    }

    /// Where this plan differs from `fresh` (see [`remake`]), in words; `None` when it is
    /// the same plan. Every field counts, what a reviewer reads as much as the steps: what
    /// is held back and why, how many targets are unchanged, what is deployed outside the
    /// train.
    pub fn differs_from(&self, fresh: &PromotionPlan) -> Option<String> {
        if self.digest == fresh.digest && *self == *fresh {
            return None;
        }
        let labels =
            |p: &PromotionPlan| -> Vec<String> { p.steps().map(|s| s.label.clone()).collect() };
        let blocked = |p: &PromotionPlan| -> Vec<String> {
            p.blocked
                .iter()
                .map(|b| format!("{} ({}: {})", b.label, b.gate, b.reason))
                .collect()
        };
        let list = |items: Vec<String>| {
            if items.is_empty() {
                "nothing".to_string()
            } else {
                items.join(", ")
            }
        };
        let changed_step = self
            .steps()
            .zip(fresh.steps())
            .find(|(mine, made)| mine != made);
        Some(
            if labels(self) != labels(fresh) || self.waves.len() != fresh.waves.len() {
                format!(
                    "its steps ({}) are not the ones strata makes ({})",
                    list(labels(self)),
                    list(labels(fresh))
                )
            } else if let Some((mine, made)) = changed_step {
                let gates = |s: &Step| -> Vec<String> {
                    s.gates
                        .iter()
                        .map(|g| format!("{}: {}", g.gate, g.detail))
                        .collect()
                };
                if mine.gates != made.gates {
                    format!(
                        "{}'s gates ({}) are not what {}'s gates give now ({})",
                        mine.label,
                        list(gates(mine)),
                        self.to,
                        list(gates(made))
                    )
                } else {
                    format!("{}'s step is not the one strata makes", mine.label)
                }
            } else if self.waves != fresh.waves {
                "its waves are not the ones strata makes".to_string()
            } else if self.blocked != fresh.blocked {
                let shown = blocked(self);
                let made = blocked(fresh);
                let missing: Vec<String> = made
                    .iter()
                    .filter(|b| !shown.contains(b))
                    .cloned()
                    .collect();
                let extra: Vec<String> = shown
                    .iter()
                    .filter(|b| !made.contains(b))
                    .cloned()
                    .collect();
                format!(
                "what it says is held back is not what strata holds back (not shown: {}; shown and not held back so: {})",
                list(missing),
                list(extra)
            )
            } else if self.unchanged != fresh.unchanged {
                format!(
                    "it counts {} unchanged target(s), and {} are",
                    self.unchanged, fresh.unchanged
                )
            } else if self.reconfigured != fresh.reconfigured {
                let names = |p: &PromotionPlan| -> Vec<String> {
                    p.reconfigured
                        .iter()
                        .map(|r| format!("{} ({})", r.label, r.file))
                        .collect()
                };
                format!(
                    "the targets it lists as reconfigured in {} ({}) are not the ones whose files changed since they were applied ({})",
                    self.to,
                    list(names(self)),
                    list(names(fresh))
                )
            } else if self.outside != fresh.outside {
                format!(
                "the targets it lists as deployed outside the train ({}) are not the graph's ({}); the graph changed since it was made",
                list(self.outside.clone()),
                list(fresh.outside.clone())
            )
            } else if self.approvals != fresh.approvals {
                format!(
                    "it asks for {} approval(s), and {} requires {}",
                    self.approvals, self.to, fresh.approvals
                )
            } else {
                "it is not the plan strata makes from the locks it pins".to_string()
            },
        )
    }

    /// Whether every step is what `strata promote plan` makes from `locks` (the locks the
    /// plan pins: the caller has checked their digests): the digest only shows that the
    /// file was not changed since its digest was computed, and anyone can compute one. An
    /// apply step carries the source entry's kind, hash, commit and rendered digest, a
    /// destroy step a destination entry gone from the source, and only when the plan allows
    /// destroying; each names the destination's entry before it as `previous`, and its
    /// rollback follows from that; no target has two steps, and a plan limited to labels
    /// has steps for those only. `Err` says what does not hold.
    pub fn check_against(&self, locks: &Locks) -> std::result::Result<(), String> {
        let mut seen = std::collections::BTreeSet::new();
        for step in self.steps() {
            let label = &step.label;
            if !seen.insert(label.as_str()) {
                return Err(format!("{label} has two steps"));
            }
            if !self.labels.is_empty() && !self.labels.contains(label) {
                return Err(format!(
                    "{label} has a step, and the plan is limited to {}",
                    self.labels.join(", ")
                ));
            }
            let before = locks.destination.targets.get(label);
            let previous = before.map(|p| Previous {
                hash: p.hash.clone(),
                commit: p.commit.clone(),
            });
            if step.previous != previous {
                return Err(format!(
                    "{label}'s step names {} as {}'s entry before it, and {}'s lock holds {}",
                    describe(step.previous.as_ref()),
                    self.to,
                    self.to,
                    describe(previous.as_ref())
                ));
            }
            match step.action {
                StepAction::Apply => {
                    let Some(entry) = locks.source.targets.get(label) else {
                        return Err(format!(
                            "{label} is applied by the plan and is not in {}'s lock",
                            self.from
                        ));
                    };
                    if step.kind != entry.kind
                        || step.hash != entry.hash
                        || step.commit != entry.commit
                        || step.rendered != entry.rendered
                    {
                        return Err(format!(
                            "{label}'s step (hash {}, commit {}) is not {}'s lock entry (hash {}, commit {})",
                            short(&step.hash),
                            short(&step.commit),
                            self.from,
                            short(&entry.hash),
                            short(&entry.commit)
                        ));
                    }
                    let rollback = match (&previous, self.allow_destroy) {
                        (Some(_), _) => Rollback::Previous,
                        (None, true) => Rollback::Destroy,
                        (None, false) => Rollback::Keep,
                    };
                    if step.rollback != rollback {
                        return Err(format!(
                            "{label}'s rollback is not the one its entries give"
                        ));
                    }
                }
                StepAction::Destroy => {
                    if !self.allow_destroy {
                        return Err(format!(
                            "{label} is destroyed by a plan made without --allow-destroy"
                        ));
                    }
                    if locks.source.targets.contains_key(label) {
                        return Err(format!(
                            "{label} is destroyed by the plan and is still in {}'s lock",
                            self.from
                        ));
                    }
                    let Some(entry) = before else {
                        return Err(format!(
                            "{label} is destroyed by the plan and is not in {}'s lock",
                            self.to
                        ));
                    };
                    if step.hash != entry.hash
                        || step.commit != entry.commit
                        || step.kind != entry.kind
                        || step.rollback != Rollback::Previous
                        || step.rendered.is_some()
                    {
                        return Err(format!(
                            "{label}'s destroy step is not {}'s lock entry",
                            self.to
                        ));
                    }
                }
            }
        }
        self.check_dependencies(locks)
    }

    /// Whether every applied target's dependencies are promoted in an earlier wave, or are
    /// in the destination and held back by nothing, as `strata promote plan` orders and gates
    /// them: a plan edited to promote a target whose dependency is blocked (gate
    /// `dependency`), or to move a target before what it depends on, does not pass.
    fn check_dependencies(&self, locks: &Locks) -> std::result::Result<(), String> {
        let (src, dst) = (&locks.source.targets, &locks.destination.targets);
        let wave_of: BTreeMap<&str, (usize, StepAction)> = self
            .waves
            .iter()
            .enumerate()
            .flat_map(|(i, wave)| wave.iter().map(move |s| (s.label.as_str(), (i, s.action))))
            .collect();
        for (i, wave) in self.waves.iter().enumerate() {
            for step in wave.iter().filter(|s| s.action == StepAction::Apply) {
                let label = &step.label;
                let Some(entry) = src.get(label) else {
                    continue;
                };
                for dep in &entry.deps {
                    let why = match wave_of.get(dep.as_str()) {
                        Some((j, StepAction::Apply)) if *j < i => None,
                        Some((_, StepAction::Apply)) => Some(format!(
                            "it depends on {dep}, which the plan applies in the same wave or later"
                        )),
                        Some((_, StepAction::Destroy)) => {
                            Some(format!("it depends on {dep}, which the plan destroys"))
                        }
                        None => match (src.get(dep), dst.get(dep)) {
                            (_, None) => Some(format!(
                                "it depends on {dep}, which is not deployed in {}",
                                self.to
                            )),
                            // Whether or not the plan's labels name it, as `make` holds
                            // such a target back.
                            (Some(s), Some(d)) if s.hash != d.hash => {
                                Some(format!(
                                    "it depends on {dep}, whose {} version the plan holds back (gate `dependency`)",
                                    self.from
                                ))
                            }
                            _ => None,
                        },
                    };
                    if let Some(why) = why {
                        return Err(format!("{label} is promoted, and {why}"));
                    }
                }
            }
        }
        // A destroyed target: nothing that stays in the destination depends on it, what
        // depended on it is destroyed before it, and what is promoted away from it is
        // applied before it.
        for (i, wave) in self.waves.iter().enumerate() {
            for step in wave.iter().filter(|s| s.action == StepAction::Destroy) {
                let label = step.label.as_str();
                for (reader, entry) in dst.iter().filter(|(r, _)| r.as_str() != label) {
                    let after = match wave_of.get(reader.as_str()) {
                        Some((_, StepAction::Apply)) => src.get(reader).unwrap_or(entry),
                        _ => entry,
                    };
                    let reads_now = entry.deps.iter().any(|d| d == label);
                    let reads_after = after.deps.iter().any(|d| d == label);
                    let why = match wave_of.get(reader.as_str()) {
                        Some((j, StepAction::Destroy)) if reads_now && *j >= i => Some(format!(
                            "{reader}, which depends on it, is destroyed in the same wave or later"
                        )),
                        Some((_, StepAction::Destroy)) => None,
                        Some((_, StepAction::Apply)) if reads_after => Some(format!(
                            "{reader} is promoted and still depends on it"
                        )),
                        Some((j, StepAction::Apply)) if reads_now && *j >= i => Some(format!(
                            "{reader}, which depends on it until it is promoted, is promoted in the same wave or later"
                        )),
                        Some((_, StepAction::Apply)) => None,
                        None if reads_now => Some(format!(
                            "{reader} stays in {} and depends on it",
                            self.to
                        )),
                        None => None,
                    };
                    if let Some(why) = why {
                        return Err(format!("{label} is destroyed, and {why}"));
                    }
                }
            }
        }
        Ok(())
    }

    /// A plan from the text [`PromotionPlan::to_json`] wrote; an error is (line, why).
    pub fn from_json(text: &str) -> std::result::Result<PromotionPlan, (Option<usize>, String)> {
        let mut doc: serde_json::Value =
            serde_json::from_str(text).map_err(|e| (Some(e.line()), e.to_string()))?;
        if let Some(object) = doc.as_object_mut() {
            match object.remove("schema_version") {
                None => {}
                Some(v) if v == PLAN_SCHEMA_VERSION => {}
                Some(v) => {
                    return Err((
                        None,
                        format!("schema_version {v} is not {PLAN_SCHEMA_VERSION}: make the plan again with this strata"),
                    ))
                }
            }
        }
        serde_json::from_value(doc).map_err(|e| (None, e.to_string()))
    }

    /// The plan as written by `--out` and read by `approve` and `apply`: as every JSON
    /// document strata writes, it starts with `"schema_version": 1` (the version of the
    /// output's shape; `version` is the plan format's, which the digest covers).
    pub fn to_json(&self) -> String {
        let text = serde_json::to_string_pretty(self).expect("plans serialize");
        let body = text.strip_prefix("{\n").unwrap_or(&text);
        format!("{{\n  \"schema_version\": {PLAN_SCHEMA_VERSION},\n{body}\n")
    }

    /// Reads a plan file; refuses one whose content does not match its digest.
    pub fn read(path: &Path) -> Result<PromotionPlan> {
        let plan = PromotionPlan::read_claimed(path)?;
        if plan.compute_digest() != plan.digest {
            return Err(Error::Invalid {
                message: "the promotion plan was changed after it was made: its content does not match its digest".into(),
                location: Location::new(path.display().to_string(), None),
                hint: "make it again with `strata promote plan --out FILE`; plans are not edited by hand".into(),
            });
        }
        Ok(plan)
    }

    /// A plan as its file claims it, its digest not checked: for recording what was done
    /// with it (and refused), never for carrying it out. Its environments are checked to
    /// be names of one directory each.
    pub fn read_claimed(path: &Path) -> Result<PromotionPlan> {
        let text = strata_fs::read_regular_to_string(path).map_err(|e| Error::io(path, e))?;
        let plan = PromotionPlan::from_json(&text).map_err(|(line, message)| Error::Malformed {
            what: "promotion plan",
            location: Location::new(path.display().to_string(), line),
            message,
        })?;
        if plan.version != PLAN_VERSION {
            return Err(Error::Invalid {
                message: format!(
                    "promotion plan version {} is not {PLAN_VERSION}",
                    plan.version
                ),
                location: Location::new(path.display().to_string(), None),
                hint: "make the plan again with this strata".into(),
            });
        }
        for env in [&plan.from, &plan.to] {
            if !strata_graph::model::is_environment_name(env) {
                return Err(Error::Invalid {
                    message: format!("the promotion plan names `{env}` as an environment, which is no environment's name (one directory under environments/)"),
                    location: Location::new(path.display().to_string(), None),
                    hint: "plans are made by `strata promote plan`, not by hand".into(),
                });
            }
        }
        Ok(plan)
    }
}
