//! Finds targets in a snapshot's file list and decides which target owns each file.
//!
//! Rules (see docs/concepts.md):
//! - stack: a directory under `stacks/` holding `*.tf` or `*.tf.json`; a directory nested in
//!   a stack is part of it (a local module) unless it has its own `stack.toml`;
//! - module: a directory under `modules/` holding Terraform files; nested ones belong to it;
//! - chart: any directory holding `Chart.yaml` (outside `environments/`);
//! - policy: a directory under `policies/` holding `*.rego`.
//!
//! A file belongs to the deepest target directory that contains it.

use crate::error::{Error, Location, Result};
use crate::snapshot::Snapshot;
use rustc_hash::{FxHashMap as HashMap, FxHashSet};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Stack,
    Module,
    Chart,
    Policy,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Stack => "stack",
            Kind::Module => "module",
            Kind::Chart => "chart",
            Kind::Policy => "policy",
        }
    }

    /// Stacks and charts are deployed to environments; modules and policies are not.
    pub fn is_deployable(self) -> bool {
        matches!(self, Kind::Stack | Kind::Chart)
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A discovered target: its label is its directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub label: String,
    pub kind: Kind,
}

pub fn parent_dir(path: &str) -> &str {
    path.rsplit_once('/').map(|(d, _)| d).unwrap_or("")
}

pub fn file_name(path: &str) -> &str {
    path.rsplit_once('/').map(|(_, f)| f).unwrap_or(path)
}

pub fn is_terraform_file(path: &str) -> bool {
    path.ends_with(".tf") || path.ends_with(".tf.json")
}

/// Every target of the snapshot, sorted by label.
pub fn discover(snapshot: &Snapshot) -> Result<Vec<Found>> {
    let mut candidates: BTreeMap<String, Kind> = BTreeMap::new();
    let mut manifests: FxHashSet<&str> = Default::default();
    for path in snapshot.files.keys() {
        let dir = parent_dir(path);
        let name = file_name(path);
        if name == crate::manifest::STACK_MANIFEST {
            manifests.insert(dir);
        }
        let kind = if name == "Chart.yaml" && !dir.is_empty() && !path.starts_with("environments/")
        {
            Kind::Chart
        } else if path.starts_with("stacks/") && is_terraform_file(name) {
            Kind::Stack
        } else if path.starts_with("modules/") && is_terraform_file(name) {
            Kind::Module
        } else if path.starts_with("policies/") && name.ends_with(".rego") {
            Kind::Policy
        } else {
            continue;
        };
        match candidates.get(dir) {
            Some(&existing) if existing != kind => {
                return Err(Error::Invalid {
                    message: format!("directory `{dir}` is both a {existing} and a {kind}"),
                    location: Location::new(path.clone(), None),
                    hint: "keep each target in a directory of its own".into(),
                })
            }
            _ => {
                candidates.insert(dir.to_string(), kind);
            }
        }
    }
    // Fold nested Terraform directories into their enclosing stack or module.
    let mut found: Vec<Found> = Vec::new();
    let mut kept: HashMap<&str, Kind> = HashMap::default();
    for (dir, &kind) in &candidates {
        if matches!(kind, Kind::Stack | Kind::Module) {
            let enclosing = ancestors(dir).find_map(|a| kept.get(a).copied().map(|k| (a, k)));
            if let Some((_, outer)) = enclosing {
                let own_stack = kind == Kind::Stack && manifests.contains(dir.as_str());
                if outer == kind && !own_stack {
                    continue;
                }
            }
        }
        kept.insert(dir, kind);
        found.push(Found {
            label: dir.clone(),
            kind,
        });
    }
    Ok(found)
}

/// Proper ancestors of a directory, nearest first: `a/b/c` -> `a/b`, `a`.
pub fn ancestors(dir: &str) -> impl Iterator<Item = &str> {
    let mut cur = dir;
    std::iter::from_fn(move || {
        let (parent, _) = cur.rsplit_once('/')?;
        cur = parent;
        Some(parent)
    })
}

/// Maps paths to the deepest target directory containing them.
pub struct Owners<'a> {
    by_dir: HashMap<&'a str, usize>,
}

impl<'a> Owners<'a> {
    pub fn new(targets: &'a [Found]) -> Owners<'a> {
        Owners {
            by_dir: targets
                .iter()
                .enumerate()
                .map(|(i, t)| (t.label.as_str(), i))
                .collect(),
        }
    }

    /// The target owning a file path.
    pub fn of_file(&self, path: &str) -> Option<usize> {
        let dir = parent_dir(path);
        self.of_dir(dir)
    }

    /// The target owning a directory (the directory itself or its nearest target ancestor).
    pub fn of_dir(&self, dir: &str) -> Option<usize> {
        if let Some(&i) = self.by_dir.get(dir) {
            return Some(i);
        }
        ancestors(dir).find_map(|a| self.by_dir.get(a).copied())
    }

    pub fn exact(&self, dir: &str) -> Option<usize> {
        self.by_dir.get(dir).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::FileId;
    use crate::snapshot::{FileEntry, Source};

    fn snap(paths: &[&str]) -> Snapshot {
        Snapshot {
            files: paths
                .iter()
                .map(|p| {
                    (
                        p.to_string(),
                        FileEntry {
                            id: FileId::of_content(p.as_bytes()),
                            mode: 0o100644,
                        },
                    )
                })
                .collect(),
            source: Source::Commit("x".into()),
            touched: Vec::new(),
        }
    }

    #[test]
    fn kinds_and_nesting() {
        let s = snap(&[
            "stacks/net/main.tf",
            "stacks/net/modules/sub/main.tf",
            "stacks/net/child/main.tf",
            "stacks/net/child/stack.toml",
            "modules/vpc/main.tf",
            "modules/vpc/inner/main.tf",
            "charts/api/Chart.yaml",
            "charts/api/charts/lib/Chart.yaml",
            "policies/k8s/deny.rego",
            "environments/dev/charts/x/Chart.yaml",
            "docs/README.md",
        ]);
        let found = discover(&s).unwrap();
        let labels: Vec<_> = found.iter().map(|f| (f.label.as_str(), f.kind)).collect();
        assert_eq!(
            labels,
            vec![
                ("charts/api", Kind::Chart),
                ("charts/api/charts/lib", Kind::Chart),
                ("modules/vpc", Kind::Module),
                ("policies/k8s", Kind::Policy),
                ("stacks/net", Kind::Stack),
                ("stacks/net/child", Kind::Stack),
            ]
        );
        let owners = Owners::new(&found);
        let label = |p: &str| owners.of_file(p).map(|i| found[i].label.as_str());
        assert_eq!(label("stacks/net/modules/sub/main.tf"), Some("stacks/net"));
        assert_eq!(label("stacks/net/child/main.tf"), Some("stacks/net/child"));
        assert_eq!(
            label("charts/api/charts/lib/values.yaml"),
            Some("charts/api/charts/lib")
        );
        assert_eq!(label("docs/README.md"), None);
    }
}
