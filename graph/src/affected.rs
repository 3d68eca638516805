//! Which targets a change affects: compares the graph at `merge-base(base, head)` with the
//! graph at head (a commit or the work tree) and explains each affected target.
//!
//! A target is affected when its hash differs, or when the files that feed it in an
//! environment (`environments/<env>/<label>/`, environment-wide files) differ; the effect
//! then flows to its dependents in that environment.

use crate::discover::Kind;
use crate::error::Result;
use crate::hash::{EnvDigests, InputFile};
use crate::session::{Session, View};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Reason {
    /// Its own inputs changed, or it is new.
    Changed,
    /// A global input or a pinned tool version changed.
    Global,
    /// Something it depends on is affected.
    Dependency,
    /// It exists at base and not at head.
    Deleted,
}

#[derive(Debug, Clone, Serialize)]
pub struct AffectedTarget {
    pub label: String,
    pub kind: Kind,
    /// The hash at head (at base for a deleted target).
    pub hash: String,
    pub reason: Reason,
    /// For `dependency`: the chain of labels from this target's dependency down to the
    /// target whose own inputs changed.
    pub via: Vec<String>,
    /// Environments in which this target is affected (all of its environments unless only
    /// environment inputs changed).
    pub environments: Vec<String>,
    /// For `changed` and `global`: the files whose change caused it.
    pub files: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Affected {
    pub base: String,
    pub head: String,
    pub merge_base: String,
    pub targets: Vec<AffectedTarget>,
}

/// What to compare: `head` `None` means the work tree.
pub fn affected(session: &Session, base: &str, head: Option<&str>) -> Result<Affected> {
    let base_commit = session.repo.resolve_commit(base)?;
    let head_commit = match head {
        Some(h) => session.repo.resolve_commit(h)?,
        None => session.repo.resolve_commit("HEAD")?,
    };
    let merge_base = session.repo.merge_base(&base_commit, &head_commit)?;
    let (head_view, base_view) = std::thread::scope(|s| {
        let base_view = s.spawn(|| session.at_commit(&merge_base));
        let head_view = match head {
            Some(_) => session.at_commit(&head_commit),
            None => session.work_tree(),
        };
        (head_view, base_view.join().expect("base view thread"))
    });
    let (head_view, base_view) = (head_view?, base_view?);
    let t = std::time::Instant::now();
    let targets = compare(&base_view, &head_view);
    crate::timing::phase("compare", t);
    Ok(Affected {
        base: base.to_string(),
        head: head.unwrap_or("WORKTREE").to_string(),
        merge_base,
        targets,
    })
}

fn changed_files(base: &[InputFile], head: &[InputFile]) -> Vec<String> {
    let b: BTreeMap<&str, &InputFile> = base.iter().map(|f| (f.path, f)).collect();
    let h: BTreeMap<&str, &InputFile> = head.iter().map(|f| (f.path, f)).collect();
    let paths: BTreeSet<&str> = b.keys().chain(h.keys()).copied().collect();
    paths
        .into_iter()
        .filter(|p| b.get(p) != h.get(p))
        .map(str::to_string)
        .collect()
}

/// For each target, the shortest chain (by length, then labels) from one of its
/// dependencies down to a target in `roots`, computed in one pass in dependency order.
/// `None` for targets that reach no root; `Some([])` for the roots themselves. Only targets
/// for which `eligible` holds carry a chain.
fn chains(
    view: &View,
    is_root: impl Fn(usize) -> bool,
    eligible: impl Fn(usize) -> bool,
) -> Vec<Option<Vec<usize>>> {
    let graph = &view.model.graph;
    let mut chain: Vec<Option<Vec<usize>>> = vec![None; graph.len()];
    for &i in graph.order() {
        if !eligible(i) {
            continue;
        }
        if is_root(i) {
            chain[i] = Some(Vec::new());
            continue;
        }
        let best = graph
            .deps(i)
            .iter()
            .filter_map(|&d| {
                chain[d]
                    .as_ref()
                    .map(|c| (c.len(), &view.model.targets[d].label, d))
            })
            .min();
        if let Some((_, _, d)) = best {
            let mut c = vec![d];
            c.extend(chain[d].iter().flatten().copied());
            chain[i] = Some(c);
        }
    }
    chain
}

/// Compares two views of the workspace.
pub fn compare(base: &View, head: &View) -> Vec<AffectedTarget> {
    let model = &head.model;
    let n = model.targets.len();
    let labels = |chain: &[usize]| -> Vec<String> {
        chain
            .iter()
            .map(|&d| model.targets[d].label.clone())
            .collect()
    };
    let mut reason: Vec<Option<Reason>> = vec![None; n];
    let mut files: Vec<Vec<String>> = vec![Vec::new(); n];
    let head_globals = head.hashes.global_inputs(&head.snapshot);
    let base_globals = base.hashes.global_inputs(&base.snapshot);
    for i in 0..n {
        let t = &model.targets[i];
        let Some(b) = base.model.index(&t.label) else {
            reason[i] = Some(Reason::Changed);
            let fp = head
                .hashes
                .fingerprint(model, &head.snapshot, &head_globals, i);
            files[i] = fp.inputs.iter().map(|f| f.path.to_string()).collect();
            continue;
        };
        if base.hashes.hashes[b] == head.hashes.hashes[i] {
            continue;
        }
        if base.hashes.own[b] != head.hashes.own[i] {
            reason[i] = Some(Reason::Changed);
            let fp = head
                .hashes
                .fingerprint(model, &head.snapshot, &head_globals, i);
            let bfp = base
                .hashes
                .fingerprint(&base.model, &base.snapshot, &base_globals, b);
            files[i] = changed_files(&bfp.inputs, &fp.inputs);
        } else if base.hashes.global[b] != head.hashes.global[i] {
            reason[i] = Some(Reason::Global);
            files[i] = changed_files(&base_globals, &head_globals);
            if base.hashes.toolchain(t.kind) != head.hashes.toolchain(t.kind) {
                files[i].push(crate::workspace::WORKSPACE_FILE.to_string());
                files[i].sort();
                files[i].dedup();
            }
        } else {
            reason[i] = Some(Reason::Dependency);
        }
    }
    let hash_chain = chains(
        head,
        |i| matches!(reason[i], Some(Reason::Changed | Reason::Global)),
        |i| reason[i].is_some(),
    );

    // Environment inputs: per environment, targets whose environment files changed, and the
    // targets deployed there that depend on them.
    let head_env = model.environment_files(&head.snapshot);
    let base_env = base.model.environment_files(&base.snapshot);
    let head_digests = EnvDigests::new(&head_env, &head.snapshot);
    let base_digests = EnvDigests::new(&base_env, &base.snapshot);
    let mut env_files: Vec<Vec<String>> = vec![Vec::new(); n];
    let mut env_chains: Vec<(String, Vec<Option<Vec<usize>>>)> = Vec::new();
    for env in &model.environments {
        let env = env.name.as_str();
        let deployed = |i: usize| model.targets[i].environments.iter().any(|e| e == env);
        let mut direct = vec![false; n];
        for (i, t) in model.targets.iter().enumerate() {
            if reason[i].is_some() || !deployed(i) {
                continue;
            }
            if head_digests.of(env, &t.label) != base_digests.of(env, &t.label) {
                direct[i] = true;
                let changed = head_env
                    .for_target(env, &t.label)
                    .chain(base_env.for_target(env, &t.label))
                    .filter(|p| head.snapshot.files.get(*p) != base.snapshot.files.get(*p))
                    .map(str::to_string);
                env_files[i].extend(changed);
            }
        }
        if direct.iter().any(|&d| d) {
            let c = chains(head, |i| direct[i], |i| reason[i].is_none() && deployed(i));
            env_chains.push((env.to_string(), c));
        }
    }

    let mut out = Vec::new();
    for i in 0..n {
        let t = &model.targets[i];
        let mut entry = AffectedTarget {
            label: t.label.clone(),
            kind: t.kind,
            hash: head.hashes.hashes[i].to_hex(),
            reason: Reason::Changed,
            via: Vec::new(),
            environments: Vec::new(),
            files: Vec::new(),
        };
        if let Some(r) = reason[i] {
            entry.reason = r;
            entry.environments = t.environments.clone();
            entry.files = std::mem::take(&mut files[i]);
            if r == Reason::Dependency {
                entry.via = labels(hash_chain[i].as_deref().unwrap_or_default());
            }
            out.push(entry);
            continue;
        }
        // Affected only in some environments, directly or through a dependency.
        let mut via: Option<&Vec<usize>> = None;
        for (env, chain) in &env_chains {
            if let Some(c) = &chain[i] {
                entry.environments.push(env.clone());
                if !c.is_empty() && via.is_none_or(|v| c.len() < v.len()) {
                    via = Some(c);
                }
            }
        }
        if entry.environments.is_empty() {
            continue;
        }
        entry.files = std::mem::take(&mut env_files[i]);
        entry.files.sort();
        entry.files.dedup();
        if entry.files.is_empty() {
            entry.reason = Reason::Dependency;
            entry.via = labels(via.map(Vec::as_slice).unwrap_or_default());
        }
        out.push(entry);
    }

    for (b, t) in base.model.targets.iter().enumerate() {
        if model.index(&t.label).is_none() {
            out.push(AffectedTarget {
                label: t.label.clone(),
                kind: t.kind,
                hash: base.hashes.hashes[b].to_hex(),
                reason: Reason::Deleted,
                via: Vec::new(),
                environments: t.environments.clone(),
                files: Vec::new(),
            });
        }
    }
    out.sort_by(|a, b| a.label.cmp(&b.label));
    out
}

impl AffectedTarget {
    /// One sentence saying why the target is affected.
    pub fn explain(&self) -> String {
        let envs = if self.environments.is_empty()
            || self.kind.is_deployable()
                && self.reason != Reason::Deleted
                && self.files.iter().all(|f| !f.starts_with("environments/"))
        {
            String::new()
        } else {
            format!(" (in {})", self.environments.join(", "))
        };
        let list = |files: &[String]| {
            const SHOWN: usize = 5;
            let mut s = files
                .iter()
                .take(SHOWN)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ");
            if files.len() > SHOWN {
                s.push_str(&format!(" and {} more", files.len() - SHOWN));
            }
            s
        };
        match self.reason {
            Reason::Changed => format!("{} changed{envs}: {}", self.label, list(&self.files)),
            Reason::Global => format!(
                "{} is affected by a global input{envs}: {}",
                self.label,
                list(&self.files)
            ),
            Reason::Dependency => {
                let mut chain = vec![self.label.clone()];
                chain.extend(self.via.iter().cloned());
                format!(
                    "{} depends on a changed target{envs}: {}",
                    self.label,
                    chain.join(" -> ")
                )
            }
            Reason::Deleted => format!("{} was deleted", self.label),
        }
    }
}
