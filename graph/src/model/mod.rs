//! The workspace model: targets with their inputs and dependencies, environments, and the
//! sealed graph. Built from one snapshot, so the same code describes the work tree, HEAD or
//! any base revision.

use crate::chart::ChartFacts;
use crate::discover::{discover, file_name, is_terraform_file, parent_dir, Found, Kind, Owners};
use crate::error::{Error, Location, Result};
use crate::facts::{FactStore, Facts};
use crate::git::Repo;
use crate::graph::Graph;
use crate::hcl::{PathBase, PathLocal};
use crate::manifest::{InputBinding, TargetManifest, CHART_MANIFEST, STACK_MANIFEST};
use crate::policy::meta::PolicyMeta;
use crate::policy::waivers::Waiver;
use crate::snapshot::Snapshot;
use crate::workspace::WorkspaceConfig;
use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use serde::Serialize;
use std::collections::BTreeSet;
use std::sync::Arc;

/// How a dependency edge came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DepKind {
    /// A local `module` source.
    Module,
    /// A `file://` chart dependency.
    Chart,
    /// `deps` in stack.toml / chart.toml.
    Declared,
    /// An `[inputs]` binding reading the dependency's output.
    Input,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dependency {
    pub label: String,
    pub how: DepKind,
    /// Where the edge is written.
    pub origin: Location,
}

#[derive(Debug, Clone)]
pub struct Target {
    pub label: String,
    pub kind: Kind,
    /// The target's own input files (under its directory, minus nested targets and ignores).
    pub files: Vec<String>,
    /// Files outside the target that it reads (`file()`, `fileset()`, modules that are not
    /// targets). A path missing from the snapshot is recorded too, so creating it changes
    /// the hash.
    pub extra_inputs: BTreeSet<String>,
    /// Sorted by label, one entry per label (the first origin found).
    pub deps: Vec<Dependency>,
    pub environments: Vec<String>,
    pub inputs: Vec<InputBinding>,
    /// File-function calls whose path is computed at run time: not tracked.
    pub unresolved: Vec<Location>,
    pub chart: Option<ChartFacts>,
    /// The target's own Rego tests: `<label>/tests/*.rego`.
    pub test_files: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Model {
    pub config: WorkspaceConfig,
    pub targets: Vec<Target>,
    pub environments: Vec<Environment>,
    /// Files matching `global_inputs`.
    pub global_inputs: Vec<String>,
    pub graph: Graph,
    /// Policy targets with their metadata, by target index.
    pub policies: Vec<(usize, PolicyMeta)>,
    /// `policies/waivers.toml`.
    pub waivers: Vec<Waiver>,
    by_label: HashMap<String, usize>,
}

impl Model {
    /// The policies governing a target in an environment: (policy target index, metadata).
    pub fn governing(&self, target: usize, env: Option<&str>) -> Vec<&(usize, PolicyMeta)> {
        let t = &self.targets[target];
        self.policies
            .iter()
            .filter(|(_, meta)| meta.governs(t.kind, &t.label, env))
            .collect()
    }

    /// Policy source files of a policy target: `*.rego` directly in its directory or below,
    /// tests (`*_test.rego`) excluded.
    pub fn policy_files(&self, policy: usize) -> Vec<&str> {
        self.targets[policy]
            .files
            .iter()
            .map(String::as_str)
            .filter(|f| f.ends_with(".rego") && !f.ends_with("_test.rego"))
            .collect()
    }

    pub fn index(&self, label: &str) -> Option<usize> {
        self.by_label.get(label.trim_end_matches('/')).copied()
    }

    pub fn target(&self, label: &str) -> Option<&Target> {
        self.index(label).map(|i| &self.targets[i])
    }

    /// Resolves user-given labels to indices, or [`Error::NoSuchTarget`].
    pub fn resolve_labels(&self, labels: &[String]) -> Result<Vec<usize>> {
        labels
            .iter()
            .map(|l| {
                self.index(l)
                    .ok_or_else(|| Error::NoSuchTarget { label: l.clone() })
            })
            .collect()
    }

    pub fn environment(&self, name: &str) -> Option<&Environment> {
        self.environments.iter().find(|e| e.name == name)
    }
}

fn matcher(globs: &[String]) -> GlobSet {
    let mut b = GlobSetBuilder::new();
    for g in globs {
        if let Ok(glob) = GlobBuilder::new(g).literal_separator(true).build() {
            b.add(glob);
        }
    }
    b.build().unwrap_or_else(|_| GlobSet::empty())
}

/// Joins a relative path onto a directory and normalizes `.` and `..`; `None` when it
/// climbs above the workspace root.
mod environments;
mod policies;
use environments::load_environments;
pub use environments::{Environment, EnvironmentFiles};
use policies::{load_policy_meta, load_waivers};

pub fn join_normalized(dir: &str, rel: &str) -> Option<String> {
    let mut parts: Vec<&str> = if rel.starts_with('/') && dir.is_empty() {
        Vec::new()
    } else {
        dir.split('/').filter(|s| !s.is_empty()).collect()
    };
    for comp in rel.split('/') {
        match comp {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            c => parts.push(c),
        }
    }
    Some(parts.join("/"))
}

struct Builder<'a> {
    repo: &'a Repo,
    snapshot: &'a Snapshot,
    facts: &'a FactStore,
    found: &'a [Found],
    owners: Owners<'a>,
    ignore: GlobSet,
    /// Directories that directly hold Terraform files.
    tf_dirs: HashSet<&'a str>,
}

/// Builds the model of one snapshot.
pub fn build(
    repo: &Repo,
    snapshot: &Snapshot,
    config: &WorkspaceConfig,
    facts: &FactStore,
) -> Result<Model> {
    let t0 = std::time::Instant::now();
    let found = discover(snapshot)?;
    crate::timing::phase("  discover", t0);
    let t0 = std::time::Instant::now();
    let owners = Owners::new(&found);
    let ignore = matcher(&config.workspace.ignore);
    let global = matcher(&config.workspace.global_inputs);

    let mut own_files: Vec<Vec<String>> = vec![Vec::new(); found.len()];
    let mut global_inputs = Vec::new();
    let mut tf_dirs = HashSet::default();
    // Paths come sorted, so files of one directory are consecutive: look its owner up once.
    let mut last: Option<(&str, Option<usize>)> = None;
    for path in snapshot.files.keys() {
        let dir = parent_dir(path);
        if is_terraform_file(path) {
            tf_dirs.insert(dir);
        }
        if ignore.is_match(path) {
            continue;
        }
        if global.is_match(path) {
            global_inputs.push(path.clone());
        }
        let owner = match last {
            Some((d, owner)) if d == dir => owner,
            _ => {
                let owner = owners.of_dir(dir);
                last = Some((dir, owner));
                owner
            }
        };
        if let Some(owner) = owner {
            own_files[owner].push(path.clone());
        }
    }

    crate::timing::phase("  owners", t0);
    let t0 = std::time::Instant::now();
    // One batch of parsing for every file whose facts the targets need.
    let mut wanted: Vec<&str> = Vec::new();
    for (i, t) in found.iter().enumerate() {
        for f in &own_files[i] {
            let name = file_name(f);
            let needed = match t.kind {
                Kind::Stack | Kind::Module => is_terraform_file(name),
                Kind::Chart => false,
                Kind::Policy => false,
            };
            if needed {
                // Borrow from the snapshot, which outlives the parsed facts' keys.
                if let Some((p, _)) = snapshot.files.get_key_value(f.as_str()) {
                    wanted.push(p);
                }
            }
        }
        let manifest = match t.kind {
            Kind::Stack => Some(STACK_MANIFEST),
            Kind::Chart => Some(CHART_MANIFEST),
            _ => None,
        };
        for name in manifest
            .into_iter()
            .chain((t.kind == Kind::Chart).then_some("Chart.yaml"))
        {
            let path = format!("{}/{name}", t.label);
            if let Some((p, _)) = snapshot.files.get_key_value(&path) {
                wanted.push(p);
            }
        }
    }
    let t = std::time::Instant::now();
    let parsed = facts.facts_for(repo, snapshot, &wanted)?;
    crate::timing::phase("facts", t);

    crate::timing::phase("  wanted+facts", t0);
    let t0 = std::time::Instant::now();
    let environments = load_environments(repo, snapshot)?;
    crate::timing::phase("  envs", t0);
    let t0 = std::time::Instant::now();
    let env_names: Vec<String> = environments.iter().map(|e| e.name.clone()).collect();

    let builder = Builder {
        repo,
        snapshot,
        facts,
        found: &found,
        owners,
        ignore,
        tf_dirs,
    };
    let label_index: HashMap<&str, usize> = found
        .iter()
        .enumerate()
        .map(|(i, t)| (t.label.as_str(), i))
        .collect();

    // Targets are independent of each other: build them in parallel, and report the first
    // error in label order so runs are repeatable.
    use rayon::prelude::*;
    let built: Vec<Result<Target>> = found
        .par_iter()
        .zip(own_files.into_par_iter())
        .enumerate()
        .map(|(i, (t, files))| -> Result<Target> {
            let mut target = Target {
                label: t.label.clone(),
                kind: t.kind,
                files,
                extra_inputs: BTreeSet::new(),
                deps: Vec::new(),
                environments: Vec::new(),
                inputs: Vec::new(),
                unresolved: Vec::new(),
                chart: None,
                test_files: Vec::new(),
            };
            let tests_dir = format!("{}/tests/", t.label);
            target.test_files = target
                .files
                .iter()
                .filter(|f| {
                    f.strip_prefix(&tests_dir)
                        .is_some_and(|rest| !rest.contains('/') && rest.ends_with(".rego"))
                })
                .cloned()
                .collect();
            match t.kind {
                Kind::Stack | Kind::Module => builder.terraform_edges(i, &mut target, &parsed)?,
                Kind::Chart => builder.chart_edges(&mut target, &parsed)?,
                Kind::Policy => {}
            }
            let manifest_name = match t.kind {
                Kind::Stack => Some(STACK_MANIFEST),
                Kind::Chart => Some(CHART_MANIFEST),
                _ => None,
            };
            let manifest_path = manifest_name.map(|n| format!("{}/{n}", t.label));
            let manifest =
                manifest_path
                    .as_ref()
                    .and_then(|p| match parsed.get(p.as_str()).map(|f| &**f) {
                        Some(Facts::Manifest(m)) => Some(m.clone()),
                        _ => None,
                    });
            if let (Some(m), Some(path)) = (manifest, manifest_path) {
                apply_manifest(&mut target, &m, &path, &label_index, &found, &env_names)?;
            } else if t.kind.is_deployable() {
                target.environments = env_names.clone();
            }
            target
                .deps
                .sort_by(|a, b| a.label.cmp(&b.label).then(a.how.cmp(&b.how)));
            target.deps.dedup_by(|a, b| a.label == b.label);
            Ok(target)
        })
        .collect();
    let targets = built.into_iter().collect::<Result<Vec<Target>>>()?;

    crate::timing::phase("  targets", t0);
    let t0 = std::time::Instant::now();
    let dep_indices: Vec<Vec<usize>> = targets
        .iter()
        .map(|t| {
            t.deps
                .iter()
                .map(|d| label_index[d.label.as_str()])
                .collect()
        })
        .collect();
    let graph = Graph::new(dep_indices).map_err(|mut cycle| {
        // Start the cycle at its smallest label so the message is the same on every run.
        cycle.pop();
        let start = (0..cycle.len())
            .min_by_key(|&k| &targets[cycle[k]].label)
            .unwrap_or(0);
        cycle.rotate_left(start);
        cycle.push(cycle[0]);
        let path: Vec<String> = cycle.iter().map(|&i| targets[i].label.clone()).collect();
        let edges = cycle
            .windows(2)
            .map(|w| {
                targets[w[0]]
                    .deps
                    .iter()
                    .find(|d| d.label == targets[w[1]].label)
                    .map(|d| d.origin.clone())
                    .unwrap_or_else(|| Location::new(targets[w[0]].label.clone(), None))
            })
            .collect();
        Error::Cycle { path, edges }
    })?;
    let by_label = targets
        .iter()
        .enumerate()
        .map(|(i, t)| (t.label.clone(), i))
        .collect();
    crate::timing::phase("  graph", t0);
    let t0 = std::time::Instant::now();
    let policies = load_policy_meta(repo, snapshot, &targets)?;
    let waivers = load_waivers(repo, snapshot)?;
    crate::timing::phase("  policies", t0);
    Ok(Model {
        config: config.clone(),
        targets,
        environments,
        global_inputs,
        graph,
        policies,
        waivers,
        by_label,
    })
}

/// Whether a model built before `modified` files changed (paths with their entries before)
/// still describes `snapshot`, which holds them after. It does when no path appeared or
/// went (the caller checks that), no changed file is one the model reads as text
/// (env.toml, policy.toml, the waivers file), and every changed file the model parsed
/// yields the same facts: the model depends on file contents only through those.
pub fn still_describes(
    repo: &Repo,
    snapshot: &Snapshot,
    facts: &FactStore,
    modified: &[(String, crate::snapshot::FileEntry)],
) -> Result<bool> {
    for (path, before) in modified {
        let name = file_name(path);
        if name == crate::manifest::ENV_FILE
            || name == "policy.toml"
            || path == crate::policy::waivers::WAIVERS_FILE
        {
            return Ok(false);
        }
        // Facts the model never asked for were not part of it.
        let Some(old) = facts.known(path, before.id) else {
            continue;
        };
        let new = facts.facts_for(repo, snapshot, &[path.as_str()])?;
        if new.get(path.as_str()).map(|f| &**f) != Some(&*old) {
            return Ok(false);
        }
    }
    Ok(true)
}

impl Builder<'_> {
    /// Module edges and outside file reads of a stack or module, following local module
    /// directories that are not targets (their files become inputs) recursively.
    fn terraform_edges(
        &self,
        me: usize,
        target: &mut Target,
        parsed: &HashMap<&str, Arc<Facts>>,
    ) -> Result<()> {
        let root_dir = target.label.clone();
        // (file path, facts) pairs to process; starts with the target's own files.
        let mut work: Vec<(String, Arc<Facts>)> = target
            .files
            .iter()
            .filter_map(|f| match parsed.get(f.as_str()) {
                Some(facts) if matches!(**facts, Facts::Hcl(_)) => {
                    Some((f.clone(), Arc::clone(facts)))
                }
                _ => None,
            })
            .collect();
        let mut visited_dirs: BTreeSet<String> = BTreeSet::new();
        // Path-valued locals by module directory (locals are module-wide, across files).
        let mut locals: HashMap<String, Vec<PathLocal>> = HashMap::default();
        let add_locals = |items: &[(String, Arc<Facts>)],
                          locals: &mut HashMap<String, Vec<PathLocal>>| {
            for (f, h) in items {
                let Facts::Hcl(h) = &**h else { continue };
                locals
                    .entry(parent_dir(f).to_string())
                    .or_default()
                    .extend(h.path_locals.iter().cloned());
            }
        };
        add_locals(&work, &mut locals);
        while let Some((file, facts)) = work.pop() {
            let Facts::Hcl(facts) = &*facts else { continue };
            let dir = parent_dir(&file).to_string();
            for call in facts.modules.iter().filter(|c| c.is_local()) {
                let location = Location::at(file.clone(), call.line);
                let Some(resolved) = join_normalized(&dir, &call.source) else {
                    return Err(Error::Invalid {
                        message: format!(
                            "module source `{}` points outside the workspace",
                            call.source
                        ),
                        location,
                        hint: "local modules must live inside the workspace; use a registry or git source for shared code elsewhere".into(),
                    });
                };
                if !self.tf_dirs.contains(resolved.as_str()) {
                    return Err(Error::MissingModuleSource {
                        source_path: call.source.clone(),
                        resolved,
                        location,
                    });
                }
                match self.owners.of_dir(&resolved) {
                    Some(owner) if owner == me => {}
                    Some(owner) => target.deps.push(Dependency {
                        label: self.found[owner].label.clone(),
                        how: DepKind::Module,
                        origin: location,
                    }),
                    None => {
                        if visited_dirs.insert(resolved.clone()) {
                            let more = self.loose_module(&resolved, target)?;
                            add_locals(&more, &mut locals);
                            work.extend(more);
                        }
                    }
                }
            }
            for r in &facts.file_refs {
                let location = Location::at(file.clone(), r.line);
                let base = match &r.base {
                    PathBase::Module => Some(dir.clone()),
                    PathBase::Root => Some(root_dir.clone()),
                    PathBase::Local(name) => locals
                        .get(&dir)
                        .and_then(|ls| ls.iter().find(|l| &l.name == name))
                        .and_then(|l| {
                            let base = match l.base {
                                PathBase::Module => dir.as_str(),
                                _ => root_dir.as_str(),
                            };
                            join_normalized(base, &l.path)
                        }),
                };
                let Some(resolved) = base.and_then(|b| join_normalized(&b, &r.path)) else {
                    target.unresolved.push(location);
                    continue;
                };
                if r.dynamic_tail {
                    // Only a prefix is known: every file below its directory may be read.
                    let below = if r.path.is_empty() || r.path.ends_with('/') {
                        resolved.as_str()
                    } else {
                        parent_dir(&resolved)
                    };
                    if below.is_empty() {
                        target.unresolved.push(location);
                    } else {
                        self.fileset_inputs(me, below, "**", target);
                    }
                } else if r.function == "fileset" {
                    self.fileset_inputs(me, &resolved, r.pattern.as_deref().unwrap_or(""), target);
                } else if self.owners.of_file(&resolved) != Some(me)
                    && !self.ignore.is_match(&resolved)
                {
                    target.extra_inputs.insert(resolved);
                }
            }
            target.unresolved.extend(
                facts
                    .unresolved_refs
                    .iter()
                    .map(|&l| Location::at(file.clone(), l)),
            );
        }
        target.unresolved.sort();
        target.unresolved.dedup();
        Ok(())
    }

    /// A local module directory that no target owns: all its files are inputs of the caller;
    /// returns its Terraform files' facts to follow.
    fn loose_module(&self, dir: &str, target: &mut Target) -> Result<Vec<(String, Arc<Facts>)>> {
        let prefix = format!("{dir}/");
        let files: Vec<&str> = self
            .snapshot
            .files
            .range(prefix.clone()..)
            .map(|(p, _)| p.as_str())
            .take_while(|p| p.starts_with(&prefix))
            .filter(|p| self.owners.of_file(p).is_none() && !self.ignore.is_match(p))
            .collect();
        target
            .extra_inputs
            .extend(files.iter().map(|f| f.to_string()));
        let tf: Vec<&str> = files
            .iter()
            .copied()
            .filter(|f| is_terraform_file(f))
            .collect();
        let facts = self.facts.facts_for(self.repo, self.snapshot, &tf)?;
        let mut out: Vec<(String, Arc<Facts>)> = facts
            .into_iter()
            .filter(|(_, f)| matches!(**f, Facts::Hcl(_)))
            .map(|(p, f)| (p.to_string(), f))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    fn fileset_inputs(&self, me: usize, dir: &str, pattern: &str, target: &mut Target) {
        let Ok(glob) = GlobBuilder::new(pattern).literal_separator(true).build() else {
            return;
        };
        let glob = glob.compile_matcher();
        if dir.is_empty() {
            return;
        }
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        // The directory itself is an input marker: a new matching file changes the set.
        for (path, _) in self
            .snapshot
            .files
            .range(prefix.clone()..)
            .take_while(|(p, _)| p.starts_with(&prefix))
        {
            if glob.is_match(&path[prefix.len()..])
                && self.owners.of_file(path) != Some(me)
                && !self.ignore.is_match(path)
            {
                target.extra_inputs.insert(path.clone());
            }
        }
    }

    fn chart_edges(&self, target: &mut Target, parsed: &HashMap<&str, Arc<Facts>>) -> Result<()> {
        let chart_file = format!("{}/Chart.yaml", target.label);
        let Some(Facts::Chart(chart)) = parsed.get(chart_file.as_str()).map(|f| &**f) else {
            return Ok(());
        };
        for dep in &chart.dependencies {
            let Some(path) = dep.local_path() else {
                continue;
            };
            let location = Location::at(chart_file.clone(), dep.line);
            let resolved = join_normalized(&target.label, path);
            let owner = resolved
                .as_deref()
                .and_then(|r| self.owners.exact(r))
                .filter(|&o| self.found[o].kind == Kind::Chart);
            match owner {
                Some(o) => target.deps.push(Dependency {
                    label: self.found[o].label.clone(),
                    how: DepKind::Chart,
                    origin: location,
                }),
                None => {
                    return Err(Error::Invalid {
                        message: format!(
                            "chart dependency `{}` ({}) is not a chart in this workspace",
                            dep.name, dep.repository
                        ),
                        location,
                        hint: "a file:// repository is a path relative to the chart directory, to a directory holding Chart.yaml".into(),
                    })
                }
            }
        }
        target.chart = Some(chart.clone());
        Ok(())
    }
}

fn apply_manifest(
    target: &mut Target,
    m: &TargetManifest,
    path: &str,
    labels: &HashMap<&str, usize>,
    found: &[Found],
    env_names: &[String],
) -> Result<()> {
    for (label, line) in &m.deps {
        if !labels.contains_key(label.as_str()) {
            return Err(Error::UnknownLabel {
                from: format!("{} `{}`", target.kind, target.label),
                label: label.clone(),
                location: Location::at(path, *line),
            });
        }
        target.deps.push(Dependency {
            label: label.clone(),
            how: DepKind::Declared,
            origin: Location::at(path, *line),
        });
    }
    for input in &m.inputs {
        let Some(&i) = labels.get(input.label.as_str()) else {
            return Err(Error::UnknownLabel {
                from: format!("input `{}` of `{}`", input.variable, target.label),
                label: input.label.clone(),
                location: Location::at(path, input.line),
            });
        };
        if found[i].kind != Kind::Stack {
            return Err(Error::Invalid {
                message: format!(
                    "input `{}` reads `{}`, a {}; only stacks have outputs",
                    input.variable, input.label, found[i].kind
                ),
                location: Location::at(path, input.line),
                hint: "point the input at a stack's output: `var = \"stacks/<name>:<output>\"`"
                    .into(),
            });
        }
        target.deps.push(Dependency {
            label: input.label.clone(),
            how: DepKind::Input,
            origin: Location::at(path, input.line),
        });
    }
    target.inputs = m.inputs.clone();
    target.environments = match &m.environments {
        None => env_names.to_vec(),
        Some(envs) => {
            let mut out = Vec::new();
            for (env, line) in envs {
                if !env_names.contains(env) {
                    return Err(Error::Invalid {
                        message: format!("environment `{env}` does not exist"),
                        location: Location::at(path, *line),
                        hint: format!(
                            "environments are directories holding env.toml under environments/: {}",
                            if env_names.is_empty() {
                                "none found".to_string()
                            } else {
                                env_names.join(", ")
                            }
                        ),
                    });
                }
                out.push(env.clone());
            }
            out
        }
    };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_paths() {
        assert_eq!(
            join_normalized("stacks/a", "../../modules/vpc").as_deref(),
            Some("modules/vpc")
        );
        assert_eq!(
            join_normalized("stacks/a", "./sub/./x").as_deref(),
            Some("stacks/a/sub/x")
        );
        assert_eq!(
            join_normalized("stacks/a", "/../../shared/x.json").as_deref(),
            Some("shared/x.json")
        );
        assert_eq!(join_normalized("stacks", "../../x"), None);
    }
}
