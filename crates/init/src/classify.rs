//! Decides what each directory with Terraform files is, from the evidence alone:
//!
//! 1. a marker file (`stack.toml`, `module.toml`) decides outright;
//! 2. a directory some other directory calls through a local `source` is a module;
//! 3. one nobody calls is a root (a stack) when it configures a backend or providers, is a
//!    Terramate stack, has a `terragrunt.hcl`, a committed `.terraform.lock.hcl`, variable
//!    files only a root loads (`terraform.tfvars`, `*.auto.tfvars`), or lives in an
//!    environment's directory (`live/<env>/...`, `envs/<env>/...`);
//! 4. one with none of that takes the kind its sibling directories were given by 1-3, when
//!    they agree (`tests/user-data` among the provider-configuring `tests/*`);
//! 5. what is still undecided is left to the target whose directory holds it, or, when
//!    none does, taken as a module (the kind that is never planned or applied): both are
//!    reported, with a hint;
//! 6. a module called only from inside the target that holds it (`stacks/app/modules/x`
//!    called by `stacks/app`) is a local module of that target, not a target of its own,
//!    as strata's tree globs fold them.
//!
//! Charts are the directories with a `Chart.yaml` (or a `chart.toml`).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use strata_graph::discover::{ancestors_and_root, dir_label, Kind};

use crate::environments;
use crate::evidence::Evidence;

/// Why a directory was given its kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "why", rename_all = "snake_case")]
pub enum Reason {
    /// A strata marker file.
    Marker {
        file: String,
    },
    /// `terraform { backend "<type>" {} }` or `cloud {}`.
    Backend {
        backend: String,
        file: String,
    },
    /// `provider` blocks.
    Providers {
        providers: Vec<String>,
    },
    TerramateStack,
    Terragrunt,
    LockFile,
    AutoVars,
    /// Inside an environment's directory: `live/<env>/...`, `envs/<env>/...`.
    EnvironmentDirectory {
        environment: String,
    },
    /// Called through a local `source` from these directories (labels).
    Called {
        by: Vec<String>,
    },
    /// Nothing of its own, but its sibling directories are all of this kind.
    LikeSiblings {
        parent: String,
    },
    /// A `Chart.yaml`.
    Chart,
    /// Rego files under `policies/`.
    Policy,
    /// Nothing said what it is: taken as a module.
    Undecided,
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::Marker { file } => write!(f, "marked by {file}"),
            Reason::Backend { backend, file } if backend == "cloud" => {
                write!(f, "`cloud` block in {file}, not called")
            }
            Reason::Backend { backend, file } => {
                write!(f, "backend \"{backend}\" in {file}, not called")
            }
            Reason::Providers { providers } => {
                write!(
                    f,
                    "provider configuration ({}), not called",
                    providers.join(", ")
                )
            }
            Reason::TerramateStack => f.write_str("Terramate stack, not called"),
            Reason::Terragrunt => f.write_str("terragrunt.hcl, not called"),
            Reason::LockFile => f.write_str(".terraform.lock.hcl committed, not called"),
            Reason::AutoVars => {
                f.write_str("terraform.tfvars or *.auto.tfvars (only roots load them), not called")
            }
            Reason::EnvironmentDirectory { environment } => {
                write!(
                    f,
                    "in the directory of environment `{environment}`, not called"
                )
            }
            Reason::Called { by } => {
                write!(f, "called by {}", by[0])?;
                match by.len() {
                    1 => Ok(()),
                    2 => write!(f, " and {}", by[1]),
                    n => write!(f, " and {} more", n - 1),
                }
            }
            Reason::LikeSiblings { parent } => write!(
                f,
                "no backend, provider or caller; like the other directories in {}/",
                dir_label(parent)
            ),
            Reason::Chart => f.write_str("Chart.yaml"),
            Reason::Policy => f.write_str("Rego files under policies/"),
            Reason::Undecided => f.write_str("no backend, provider or caller"),
        }
    }
}

/// A target `init` found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Found {
    pub label: String,
    pub kind: Kind,
    #[serde(flatten)]
    pub reason: Reason,
}

/// A directory with Terraform files that is part of another target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Part {
    pub dir: String,
    /// The label of the target holding it.
    pub of: String,
}

/// A directory nothing decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unclassified {
    pub dir: String,
    /// `module` (a target of its own) or `part` (left to the target holding it).
    pub taken_as: &'static str,
    /// The target holding it, when left to one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub of: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Classification {
    /// Stacks, modules and charts, sorted by label.
    pub targets: Vec<Found>,
    /// Local modules folded into the target calling them.
    pub local_modules: Vec<Part>,
    pub unclassified: Vec<Unclassified>,
    /// Directories holding both Terraform files and a chart: strata takes them as charts.
    pub conflicts: Vec<String>,
}

impl Classification {
    /// The kind of each target directory (`""` is the root).
    pub fn kinds(&self) -> BTreeMap<String, Kind> {
        self.targets
            .iter()
            .map(|t| (label_dir(&t.label).to_string(), t.kind))
            .collect()
    }
}

fn label_dir(label: &str) -> &str {
    strata_graph::discover::label_dir(label)
}

fn depth(dir: &str) -> usize {
    if dir.is_empty() {
        0
    } else {
        dir.matches('/').count() + 1
    }
}

fn parent(dir: &str) -> Option<&str> {
    if dir.is_empty() {
        None
    } else {
        Some(strata_graph::discover::parent_dir(dir))
    }
}

/// The nearest target at or above `dir`.
fn owner<'a>(dir: &'a str, targets: &BTreeMap<String, Kind>) -> Option<&'a str> {
    std::iter::once(dir)
        .chain(ancestors_and_root(dir))
        .find(|d| targets.contains_key(*d))
}

/// The nearest target strictly above `dir`.
fn enclosing<'a>(dir: &'a str, targets: &BTreeMap<String, Kind>) -> Option<&'a str> {
    ancestors_and_root(dir).find(|d| targets.contains_key(*d))
}

pub fn classify(ev: &Evidence) -> Classification {
    let mut out = Classification::default();
    // Who calls whom (a directory calling itself does not count).
    let mut callers: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let tf_calls = ev.tf_dirs.iter().map(|(dir, tf)| (dir, &tf.calls));
    let unit_calls = ev.units.iter().map(|(dir, unit)| (dir, &unit.calls));
    for (dir, calls) in tf_calls.chain(unit_calls) {
        for call in calls {
            if let Some(to) = &call.dir {
                if to != dir {
                    callers.entry(to.as_str()).or_default().insert(dir.as_str());
                }
            }
        }
    }
    let mut charts: BTreeMap<String, Kind> = ev
        .chart_dirs
        .iter()
        .map(|d| (d.clone(), Kind::Chart))
        .collect();
    for (dir, kind) in &ev.markers {
        if *kind == Kind::Chart {
            charts.insert(dir.clone(), Kind::Chart);
        }
    }
    // Steps 1-3.
    let mut decided: BTreeMap<&str, (Kind, Reason)> = BTreeMap::new();
    let mut undecided: Vec<&str> = Vec::new();
    for (dir, tf) in &ev.tf_dirs {
        if charts.contains_key(dir) {
            out.conflicts.push(dir.clone());
            continue;
        }
        if let Some(kind @ (Kind::Stack | Kind::Module)) = ev.markers.get(dir).copied() {
            let file = strata_graph::discover::marker(kind).unwrap_or_default();
            let file = strata_graph::discover::in_dir(dir_label(dir), file);
            decided.insert(dir, (kind, Reason::Marker { file }));
            continue;
        }
        if let Some(by) = callers.get(dir.as_str()) {
            let by = by.iter().map(|d| dir_label(d).to_string()).collect();
            decided.insert(dir, (Kind::Module, Reason::Called { by }));
            continue;
        }
        let root = if let Some((backend, file)) = &tf.backend {
            Some(Reason::Backend {
                backend: backend.clone(),
                file: file.clone(),
            })
        } else if !tf.providers.is_empty() {
            Some(Reason::Providers {
                providers: tf.providers.iter().cloned().collect(),
            })
        } else if tf.terramate_stack {
            Some(Reason::TerramateStack)
        } else if tf.terragrunt {
            Some(Reason::Terragrunt)
        } else if tf.lock_file {
            Some(Reason::LockFile)
        } else if tf.auto_vars {
            Some(Reason::AutoVars)
        } else {
            environments::environment_of_dir(dir)
                .map(|environment| Reason::EnvironmentDirectory { environment })
        };
        match root {
            Some(reason) => {
                decided.insert(dir, (Kind::Stack, reason));
            }
            None => undecided.push(dir),
        }
    }
    // Step 4: siblings.
    let mut by_parent: BTreeMap<&str, BTreeSet<Kind>> = BTreeMap::new();
    for (dir, (kind, _)) in &decided {
        if let Some(p) = parent(dir) {
            by_parent.entry(p).or_default().insert(*kind);
        }
    }
    let mut still: Vec<&str> = Vec::new();
    for dir in undecided {
        let kinds = parent(dir).and_then(|p| by_parent.get(p).map(|k| (p, k)));
        match kinds {
            Some((p, kinds)) if kinds.len() == 1 => {
                let kind = *kinds.iter().next().unwrap_or(&Kind::Module);
                let reason = Reason::LikeSiblings {
                    parent: p.to_string(),
                };
                decided.insert(dir, (kind, reason));
            }
            _ => still.push(dir),
        }
    }
    // Step 5: the rest, shallowest first, so a directory taken as a module holds the
    // undecided ones below it.
    let mut targets: BTreeMap<String, Kind> = charts.clone();
    targets.extend(decided.iter().map(|(d, (k, _))| (d.to_string(), *k)));
    still.sort_by_key(|d| (depth(d), *d));
    for dir in still {
        match enclosing(dir, &targets) {
            Some(of) => out.unclassified.push(Unclassified {
                dir: dir_label(dir).to_string(),
                taken_as: "part",
                of: Some(dir_label(of).to_string()),
            }),
            None => {
                targets.insert(dir.to_string(), Kind::Module);
                decided.insert(dir, (Kind::Module, Reason::Undecided));
                out.unclassified.push(Unclassified {
                    dir: dir_label(dir).to_string(),
                    taken_as: "module",
                    of: None,
                });
            }
        }
    }
    // Step 6: local modules. Deepest first; a module that turns out to be called from
    // outside the target holding it after all is made a target again, for good.
    let mut candidates: Vec<&str> = decided
        .iter()
        .filter(|(_, (k, r))| *k == Kind::Module && matches!(r, Reason::Called { .. }))
        .map(|(d, _)| *d)
        .filter(|d| !d.is_empty())
        .collect();
    candidates.sort_by_key(|d| std::cmp::Reverse((depth(d), *d)));
    let mut parts: BTreeMap<&str, String> = BTreeMap::new();
    let mut pinned: BTreeSet<&str> = BTreeSet::new();
    let local_to = |m: &str, targets: &BTreeMap<String, Kind>| -> Option<String> {
        let e = enclosing(m, targets)?;
        let all_inside = callers
            .get(m)
            .is_some_and(|by| by.iter().all(|c| owner(c, targets) == Some(e)));
        all_inside.then(|| e.to_string())
    };
    for _ in 0..candidates.len() + 1 {
        let mut changed = false;
        for &m in &candidates {
            if parts.contains_key(m) || pinned.contains(m) {
                continue;
            }
            if let Some(e) = local_to(m, &targets) {
                targets.remove(m);
                parts.insert(m, e);
                changed = true;
            }
        }
        let mut by_depth: Vec<&str> = parts.keys().copied().collect();
        by_depth.sort_by_key(|d| (depth(d), *d));
        for m in by_depth {
            match local_to(m, &targets) {
                Some(e) => {
                    parts.insert(m, e);
                }
                None => {
                    parts.remove(m);
                    pinned.insert(m);
                    targets.insert(m.to_string(), Kind::Module);
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    // Parts are reported against their final holder.
    out.local_modules = parts
        .keys()
        .map(|m| Part {
            dir: m.to_string(),
            of: dir_label(enclosing(m, &targets).unwrap_or("")).to_string(),
        })
        .collect();
    for u in &mut out.unclassified {
        if u.taken_as == "part" {
            u.of = Some(dir_label(enclosing(&u.dir, &targets).unwrap_or("")).to_string());
        }
    }
    out.targets = targets
        .iter()
        .map(|(dir, kind)| Found {
            label: dir_label(dir).to_string(),
            kind: *kind,
            reason: match decided.get(dir.as_str()) {
                Some((_, r)) => r.clone(),
                None => Reason::Chart,
            },
        })
        .collect();
    out.targets.sort_by(|a, b| a.label.cmp(&b.label));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::{Call, TfDir};

    fn tf(calls: &[&str]) -> TfDir {
        TfDir {
            files: vec!["main.tf".into()],
            calls: calls
                .iter()
                .map(|to| Call {
                    file: "main.tf".into(),
                    line: 1,
                    source: String::new(),
                    dir: Some(to.to_string()),
                })
                .collect(),
            ..TfDir::default()
        }
    }

    fn root(calls: &[&str]) -> TfDir {
        let mut t = tf(calls);
        t.providers.insert("aws".into());
        t
    }

    fn kinds(c: &Classification) -> Vec<(String, Kind)> {
        c.targets
            .iter()
            .map(|t| (t.label.clone(), t.kind))
            .collect()
    }

    fn pairs(items: &[(&str, Kind)]) -> Vec<(String, Kind)> {
        items.iter().map(|(l, k)| (l.to_string(), *k)).collect()
    }

    #[test]
    fn a_root_module_its_examples_and_tests() {
        let mut ev = Evidence::default();
        ev.tf_dirs.insert("".into(), tf(&["modules/node"]));
        ev.tf_dirs
            .insert("modules/node".into(), tf(&["modules/data"]));
        ev.tf_dirs.insert("modules/data".into(), tf(&[]));
        ev.tf_dirs
            .insert("examples/complete".into(), root(&["", "modules/node"]));
        ev.tf_dirs.insert("tests/fargate".into(), root(&[""]));
        // A test root without providers: its siblings say what it is.
        ev.tf_dirs
            .insert("tests/user-data".into(), tf(&["modules/data"]));
        let c = classify(&ev);
        assert_eq!(
            kinds(&c),
            pairs(&[
                (".", Kind::Module),
                ("examples/complete", Kind::Stack),
                ("modules/data", Kind::Module),
                ("modules/node", Kind::Module),
                ("tests/fargate", Kind::Stack),
                ("tests/user-data", Kind::Stack),
            ])
        );
        let t = c.targets.iter().find(|t| t.label == "tests/user-data");
        assert_eq!(
            t.unwrap().reason.to_string(),
            "no backend, provider or caller; like the other directories in tests/"
        );
        assert!(c.unclassified.is_empty());
    }

    #[test]
    fn local_modules_fold_unless_called_from_outside() {
        let mut ev = Evidence::default();
        ev.tf_dirs.insert(
            "modules/eks/cluster".into(),
            root(&["modules/eks/cluster/modules/by-az"]),
        );
        ev.tf_dirs
            .insert("modules/eks/cluster/modules/by-az".into(), tf(&[]));
        ev.tf_dirs.insert(
            "modules/account-map".into(),
            root(&["modules/account-map/modules/iam-roles"]),
        );
        ev.tf_dirs
            .insert("modules/account-map/modules/iam-roles".into(), tf(&[]));
        ev.tf_dirs.insert(
            "modules/vpc".into(),
            root(&["modules/account-map/modules/iam-roles"]),
        );
        let c = classify(&ev);
        assert_eq!(
            kinds(&c),
            pairs(&[
                ("modules/account-map", Kind::Stack),
                ("modules/account-map/modules/iam-roles", Kind::Module),
                ("modules/eks/cluster", Kind::Stack),
                ("modules/vpc", Kind::Stack),
            ])
        );
        assert_eq!(
            c.local_modules,
            vec![Part {
                dir: "modules/eks/cluster/modules/by-az".into(),
                of: "modules/eks/cluster".into()
            }]
        );
    }

    #[test]
    fn undecided_directories_are_modules_or_left_to_their_holder() {
        let mut ev = Evidence::default();
        ev.tf_dirs.insert("mixins".into(), tf(&[]));
        ev.tf_dirs.insert("mixins/a".into(), tf(&[]));
        ev.tf_dirs.insert("live/prod/eu-west-1/vpc".into(), tf(&[]));
        let c = classify(&ev);
        assert_eq!(
            kinds(&c),
            pairs(&[
                ("live/prod/eu-west-1/vpc", Kind::Stack),
                ("mixins", Kind::Module)
            ])
        );
        assert_eq!(
            c.unclassified,
            vec![
                Unclassified {
                    dir: "mixins".into(),
                    taken_as: "module",
                    of: None
                },
                Unclassified {
                    dir: "mixins/a".into(),
                    taken_as: "part",
                    of: Some("mixins".into())
                },
            ]
        );
    }
}
