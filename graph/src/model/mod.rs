//! The workspace model: targets with their inputs and dependencies, environments, and the
//! sealed graph. Built from one snapshot, so the same code describes the work tree, HEAD or
//! any base revision.

use crate::chart::{ChartFacts, CHART_FILE, REQUIREMENTS_FILE};
use crate::discover::{discover, file_name, is_terraform_file, parent_dir, Found, Kind, Owners};
use crate::error::{Error, Location, Problem, Result};
use crate::facts::{FactStore, Facts, Parser};
use crate::git::Repo;
use crate::graph::Graph;
use crate::id::TargetId;
use crate::manifest::InputBinding;
use crate::model::policy_meta::PolicyMeta;
use crate::model::waivers::Waiver;
use crate::snapshot::{Snapshot, SYMLINK_MODE};
use crate::workspace::WorkspaceConfig;
use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

mod edges;
mod environments;
pub mod links;
mod policies;
pub mod policy_meta;
pub mod waivers;
pub use edges::join_normalized;
use edges::{apply_manifest, Builder};
use environments::load_environments;
pub use environments::{is_environment_name, EnvFileOwner, Environment, EnvironmentFiles, Stray};
use links::Links;
use policies::{load_policy_meta, load_waivers};

/// How a dependency edge came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dependency {
    pub label: String,
    pub how: DepKind,
    /// Where the edge is written.
    pub origin: Location,
}

/// Serialized only into the saved model of the index (see [`crate::index_model`]), which
/// keeps no target with problems.
#[derive(Debug, Clone, Serialize, Deserialize)]
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
    /// File-function calls whose path is computed at run time. Only the target's inputs
    /// are in its sandbox, so such a read of anything else fails in `check`; `affected`
    /// warns about them unless the target declares `extra_inputs`.
    pub unresolved: Vec<Location>,
    /// Whether the target's marker file declares `extra_inputs`.
    pub declares_inputs: bool,
    pub chart: Option<ChartFacts>,
    /// The target's own Rego tests: `<label>/tests/*.rego`.
    pub test_files: Vec<String>,
    /// Why the target cannot be modelled completely (a file that does not parse, a module
    /// source that does not exist, ...). A target with problems is still in the graph with
    /// what could be read, so the rest of the workspace is modelled; `affected` reports it
    /// and the commands that run it refuse (see [`Model::check_complete`]).
    #[serde(skip)]
    pub problems: Vec<Problem>,
    /// What only Terragrunt applies in this Terragrunt unit (or a configuration merged into
    /// it), where it is written: strata runs terraform in the unit's directory, so it cannot
    /// run the unit as Terragrunt would. The target is modelled as usual (`list`,
    /// `affected`); the commands that run it refuse (see [`Model::check_runnable`]).
    pub unrunnable: Vec<(crate::hcl::TerragruntOnly, Location)>,
    /// Remote module sources (in the target's files, and in the local modules it calls
    /// that are no targets) whose content can change under the same address (a git branch
    /// or tag, an archive): see `ModuleCall::is_floating`. Its terraform tasks are never
    /// cached, and fetch such modules again every time.
    pub floating_modules: Vec<(String, Location)>,
}

impl Target {
    /// Records a problem found while modelling the target.
    pub fn problem(&mut self, e: Error) {
        self.problems.push(Problem::from(&e));
    }
}

#[derive(Debug, Clone)]
pub struct Model {
    pub config: WorkspaceConfig,
    pub targets: Vec<Target>,
    pub environments: Vec<Environment>,
    /// Files matching `global_inputs`.
    pub global_inputs: Vec<String>,
    pub graph: Graph,
    /// Policy targets with their metadata.
    pub policies: Vec<(TargetId, PolicyMeta)>,
    /// `policies/waivers.toml`.
    pub waivers: Vec<Waiver>,
    /// The snapshot's symbolic links (see `links`).
    pub links: Links,
    /// Directories holding Terraform files, a `Chart.yaml` or Rego that no target owns and
    /// none reads: the layout leaves them out (`strata list` reports them, and runs warn).
    pub unowned: Vec<String>,
    by_label: HashMap<String, TargetId>,
}

impl std::ops::Index<TargetId> for Model {
    type Output = Target;
    fn index(&self, id: TargetId) -> &Target {
        &self.targets[id]
    }
}

/// The chart that vendors the chart `label` in its `charts/` directory, the nearest one
/// (`is_chart` says which labels are charts): `<chart>/charts/<name>`, or `charts/<name>`
/// when the workspace root is a chart (label `.`).
pub fn vendoring_chart(label: &str, is_chart: impl Fn(&str) -> bool) -> Option<&str> {
    let mut rest = label;
    while let Some((parent, _)) = rest.rsplit_once("/charts/") {
        if is_chart(parent) {
            return Some(parent);
        }
        rest = parent;
    }
    (rest.starts_with("charts/") && is_chart(".")).then_some(".")
}

/// The directories (`deploy/dev/`) the environments' GitOps output is written to, when the
/// workspace configures it (`[gitops]` in WORKSPACE.toml, each environment's env.toml over
/// it).
pub(crate) fn gitops_outputs(
    config: &WorkspaceConfig,
    environments: &[Environment],
) -> Vec<String> {
    let Some(base) = &config.gitops else {
        return Vec::new();
    };
    environments
        .iter()
        .map(|e| base.overridden_by(&e.config.gitops).output_path(&e.name))
        .filter(|dir| !dir.is_empty())
        .map(|dir| format!("{dir}/"))
        .collect()
}

/// Whether `path` is one strata writes (an environment's release lock or audit ledger, a
/// file of the GitOps output directories `outputs`): no target's input, and given to none.
pub(crate) fn written_by_strata(path: &str, outputs: &[String]) -> bool {
    crate::manifest::is_environment_record(path) || outputs.iter().any(|d| path.starts_with(d))
}

impl Model {
    /// Every target's id, in label order.
    pub fn ids(&self) -> impl DoubleEndedIterator<Item = TargetId> + ExactSizeIterator + Clone {
        TargetId::all(self.targets.len())
    }

    /// Every target with its id, in label order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (TargetId, &Target)> + Clone {
        self.ids().zip(&self.targets)
    }

    /// The policies governing a target in an environment: (policy target, metadata).
    pub fn governing(&self, target: TargetId, env: Option<&str>) -> Vec<&(TargetId, PolicyMeta)> {
        let t = &self.targets[target];
        self.policies
            .iter()
            .filter(|(_, meta)| meta.governs(t.kind, &t.label, env))
            .collect()
    }

    /// Policy source files of a policy target: `*.rego` directly in its directory or below,
    /// tests (`*_test.rego`) excluded.
    pub fn policy_files(&self, policy: TargetId) -> Vec<&str> {
        self.targets[policy]
            .files
            .iter()
            .map(String::as_str)
            .filter(|f| f.ends_with(".rego") && !f.ends_with("_test.rego"))
            .collect()
    }

    pub fn index(&self, label: &str) -> Option<TargetId> {
        self.by_label.get(label.trim_end_matches('/')).copied()
    }

    pub fn target(&self, label: &str) -> Option<&Target> {
        self.index(label).map(|i| &self.targets[i])
    }

    /// Whether `label` is a chart vendored in another chart (`<chart>/charts/<name>`): helm
    /// renders it inside its parent, with the values its parent gives it, and never alone.
    pub fn is_subchart(&self, label: &str) -> bool {
        vendoring_chart(label, |parent| {
            self.index(parent)
                .is_some_and(|i| self.targets[i].kind == Kind::Chart)
        })
        .is_some()
    }

    /// Resolves user-given labels to ids, or [`Error::NoSuchTarget`].
    pub fn resolve_labels(&self, labels: &[String]) -> Result<Vec<TargetId>> {
        labels
            .iter()
            .map(|l| {
                self.index(l).ok_or_else(|| Error::NoSuchTarget {
                    label: l.clone(),
                    suggestion: None,
                })
            })
            .collect()
    }

    pub fn environment(&self, name: &str) -> Option<&Environment> {
        self.environments.iter().find(|e| e.name == name)
    }

    /// The cluster charts' templates see when rendered for `env` (without one, the
    /// workspace's `[render]`): env.toml's keys over WORKSPACE.toml's.
    pub fn render_settings(&self, env: Option<&str>) -> crate::manifest::RenderConfig {
        match env.and_then(|e| self.environment(e)) {
            Some(e) => self.config.render.overridden_by(&e.config.render),
            None => self.config.render.clone(),
        }
    }

    /// Whether `path` is one of a target's own files.
    pub fn owns_file(&self, path: &str) -> bool {
        let mut dir = parent_dir(path);
        loop {
            let label = if dir.is_empty() { "." } else { dir };
            if let Some(t) = self.target(label) {
                return t.files.iter().any(|f| f == path);
            }
            if dir.is_empty() {
                return false;
            }
            dir = parent_dir(dir);
        }
    }

    pub fn has_problems(&self) -> bool {
        self.targets.iter().any(|t| !t.problems.is_empty())
    }

    /// Fails with every problem that stands in the way of running `selected`: problems of
    /// the selected targets and of everything they depend on, and of any policy target (a
    /// policy that cannot be read could govern any of them, so nothing is checked without
    /// it).
    pub fn check_complete(&self, selected: &[TargetId]) -> Result<()> {
        let mut needed = vec![false; self.targets.len()];
        let mut stack: Vec<TargetId> = selected.to_vec();
        while let Some(i) = stack.pop() {
            if !std::mem::replace(&mut needed[i], true) {
                stack.extend(self.graph.deps(i).iter().copied());
            }
        }
        if !selected.is_empty() {
            for (i, t) in self.iter() {
                if t.kind == Kind::Policy {
                    needed[i] = true;
                }
            }
        }
        let problems: Vec<(String, Problem)> = self
            .iter()
            .filter(|(i, _)| needed[*i])
            .flat_map(|(_, t)| t.problems.iter().map(|p| (t.label.clone(), p.clone())))
            .collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::Broken { problems })
        }
    }

    /// Fails with every reason a target among `selected` cannot be run by strata as its own
    /// tool would run it (see [`Target::unrunnable`]): a run that skipped what it cannot do
    /// would report success for work it did not do.
    /// `prevent_destroy` stands in the way only of a run that destroys (`destroying`).
    pub fn check_runnable(&self, selected: &[TargetId], destroying: bool) -> Result<()> {
        let problems: Vec<(String, Problem)> = selected
            .iter()
            .flat_map(|&i| {
                let t = &self.targets[i];
                let applies = move |what: &crate::hcl::TerragruntOnly| {
                    destroying || *what != crate::hcl::TerragruntOnly::PreventDestroy
                };
                t.unrunnable.iter().filter(move |(what, _)| applies(what)).map(|(what, at)| {
                    let dir = crate::discover::label_dir(&t.label);
                    let problem = Problem {
                        message: format!(
                            "strata runs terraform in the Terragrunt unit {dir}, not Terragrunt: {}",
                            what.left_out()
                        ),
                        location: Some(at.clone()),
                        hint: Some(format!(
                            "run this unit with Terragrunt and leave it out of strata's runs (name \
                             the other targets, or exclude it from [layout] with `!{dir}`), or \
                             make it plain Terraform: call the module from a .tf file, set \
                             variables in environments/<env>/{dir}/terraform.tfvars and the \
                             state in env.toml [state]"
                        )),
                    };
                    (t.label.clone(), problem)
                })
            })
            .collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::Unrunnable { problems })
        }
    }

    /// [`Model::check_complete`] for every target.
    pub fn check_all(&self) -> Result<()> {
        let all: Vec<TargetId> = self.ids().collect();
        self.check_complete(&all)
    }
}

pub(crate) fn matcher(globs: &[String]) -> GlobSet {
    let mut b = GlobSetBuilder::new();
    for g in globs {
        if let Ok(glob) = GlobBuilder::new(g).literal_separator(true).build() {
            b.add(glob);
        }
    }
    b.build().unwrap_or_else(|_| GlobSet::empty())
}

/// Builds the model of one snapshot, in phases (each a `tracing` span: `STRATA_TIMINGS=1`
/// prints their times): discover the targets, give each its files, read the facts of the
/// files they need, load the environments, build the targets, link the graph, load the
/// policies' metadata and the waivers.
pub fn build(
    repo: &Repo,
    snapshot: &Snapshot,
    config: &WorkspaceConfig,
    facts: &FactStore,
) -> Result<Model> {
    let found = {
        let _phase = tracing::info_span!("discover").entered();
        let layout =
            crate::discover::Layout::new(&config.layout).map_err(|(kind, glob, why)| {
                Error::Invalid {
                    message: format!("[layout] `{kind}` has an invalid glob `{glob}`: {why}"),
                    location: Location::new(crate::workspace::WORKSPACE_FILE, None),
                    hint: "fix the glob in WORKSPACE.toml".into(),
                }
            })?;
        discover(snapshot, &layout)?
    };
    let environments = {
        let _phase = tracing::info_span!("envs").entered();
        load_environments(repo, snapshot)?
    };
    let outputs = gitops_outputs(config, &environments);
    let owned = Owned::assign(snapshot, config, &found, &outputs);
    // A global input feeds every target's hash: one that cannot be read models nothing.
    if let Some(path) = owned.global_inputs.iter().find(|p| {
        snapshot
            .files
            .get(*p)
            .is_some_and(crate::snapshot::is_unreadable_content)
    }) {
        return Err(Error::Invalid {
            message: format!("`{path}` cannot be read (permission denied, or another error reading it)"),
            location: Location::new(path.clone(), None),
            hint: "it is a global input (`global_inputs` in WORKSPACE.toml): make it readable to the user running strata".into(),
        });
    }
    let links = Links::read(repo, snapshot)?;
    let mut owned = owned;
    owned.linked_roots(snapshot, &links);
    let read = {
        let _phase = tracing::info_span!("facts").entered();
        read_facts(repo, snapshot, facts, &links, &found, &owned)?
    };
    let env_names: Vec<String> = environments.iter().map(|e| e.name.clone()).collect();
    let Owned {
        owners,
        ignore,
        own_files,
        global_inputs,
        tf_dirs,
        unowned,
        unowned_rego,
        ..
    } = owned;
    let builder = Builder {
        repo,
        snapshot,
        facts,
        found: &found,
        owners,
        ignore,
        tf_dirs,
        links: &links,
        root_walks: Default::default(),
        submodules: Default::default(),
    };
    let targets = {
        let _phase = tracing::info_span!("targets").entered();
        build_targets(&builder, config, own_files, &read, &env_names)?
    };
    let mut targets = targets;
    let policies = {
        let _phase = tracing::info_span!("policies").entered();
        load_policy_meta(repo, snapshot, &mut targets, &env_names)?
    };
    // A directory some target reads (a loose module, a chart it deploys) is not left out;
    // Rego is, whoever reads its directory (every policy reads `policies/waivers.toml`).
    let read_dirs: HashSet<&str> = targets
        .iter()
        .flat_map(|t| t.extra_inputs.iter().map(|p| parent_dir(p)))
        .collect();
    let unowned = unowned
        .into_iter()
        .filter(|d| !read_dirs.contains(d) || unowned_rego.contains(d))
        .map(str::to_string)
        .collect();
    let waivers = load_waivers(repo, snapshot)?;
    let derived = Derived {
        targets,
        global_inputs,
        policies,
        unowned,
    };
    Model::with_derived(config, derived, environments, links, waivers)
}

/// What [`build`] derives from the facts of a snapshot's files, the costly part of a model:
/// kept by [`crate::index_model`] so that the same index and configuration are not
/// modelled again. The rest (environments, waivers, links, the graph) is read again from
/// the snapshot, which is cheap. Only a model with no problems is kept: a problem's error
/// text is not stored.
#[derive(Deserialize)]
pub(crate) struct Derived {
    targets: Vec<Target>,
    global_inputs: Vec<String>,
    policies: Vec<(TargetId, PolicyMeta)>,
    unowned: Vec<String>,
}

/// [`Derived`], borrowed from a model for writing (the same encoding).
#[derive(Serialize)]
pub(crate) struct DerivedRef<'a> {
    targets: &'a [Target],
    global_inputs: &'a [String],
    policies: &'a [(TargetId, PolicyMeta)],
    unowned: &'a [String],
}

impl Model {
    /// The derived part of the model, or `None` when a target has problems.
    pub(crate) fn derived(&self) -> Option<DerivedRef<'_>> {
        if self.targets.iter().any(|t| !t.problems.is_empty()) {
            return None;
        }
        Some(DerivedRef {
            targets: &self.targets,
            global_inputs: &self.global_inputs,
            policies: &self.policies,
            unowned: &self.unowned,
        })
    }

    /// The model of `snapshot` from its derived part: what [`build`] gives for the snapshot
    /// and `config` the part was derived from.
    pub(crate) fn from_derived(
        repo: &Repo,
        snapshot: &Snapshot,
        config: &WorkspaceConfig,
        derived: Derived,
    ) -> Result<Model> {
        let links = Links::read(repo, snapshot)?;
        let environments = load_environments(repo, snapshot)?;
        let waivers = load_waivers(repo, snapshot)?;
        Model::with_derived(config, derived, environments, links, waivers)
    }

    /// The model of the derived part and what is read beside it, its graph linked.
    fn with_derived(
        config: &WorkspaceConfig,
        derived: Derived,
        environments: Vec<Environment>,
        links: Links,
        waivers: Vec<Waiver>,
    ) -> Result<Model> {
        let Derived {
            targets,
            global_inputs,
            policies,
            unowned,
        } = derived;
        let (graph, by_label) = {
            let _phase = tracing::info_span!("graph").entered();
            link(&targets)?
        };
        Ok(Model {
            config: config.clone(),
            targets,
            environments,
            global_inputs,
            graph,
            policies,
            waivers,
            links,
            unowned,
            by_label,
        })
    }
}

/// Which target owns each file of a snapshot.
struct Owned<'a> {
    owners: Owners<'a>,
    ignore: GlobSet,
    /// Each discovered target's own files, by its index in the discovery.
    own_files: Vec<Vec<String>>,
    /// Files matching `global_inputs`.
    global_inputs: Vec<String>,
    /// Directories that directly hold Terraform files.
    tf_dirs: HashSet<&'a str>,
    /// Files whose names are not valid UTF-8, with their owner.
    unreadable: Vec<(usize, String)>,
    /// Directories holding Terraform files or a chart that no target owns.
    unowned: BTreeSet<&'a str>,
    /// Those of them holding Rego: read by a target or not, no policy evaluates it.
    unowned_rego: HashSet<&'a str>,
}

impl<'a> Owned<'a> {
    fn assign(
        snapshot: &'a Snapshot,
        config: &WorkspaceConfig,
        found: &'a [Found],
        outputs: &[String],
    ) -> Self {
        let _phase = tracing::info_span!("owners").entered();
        let owners = Owners::new(found);
        let ignore = matcher(&config.workspace.ignore);
        let global = matcher(&config.workspace.global_inputs);
        let mut owned = Owned {
            own_files: vec![Vec::new(); found.len()],
            global_inputs: Vec::new(),
            tf_dirs: HashSet::default(),
            unreadable: Vec::new(),
            unowned: BTreeSet::new(),
            unowned_rego: HashSet::default(),
            owners,
            ignore,
        };
        // What strata writes is no target's file, whichever directory holds it (a target at
        // the root holds them all): the environments' release locks and ledgers, and their
        // GitOps output directories.
        let written_by_strata = |path: &str| written_by_strata(path, outputs);
        // Paths come sorted, so files of one directory are consecutive: look its owner up
        // once.
        let mut last: Option<(&str, Option<usize>)> = None;
        for (path, entry) in &snapshot.files {
            let dir = parent_dir(path);
            if is_terraform_file(path) {
                owned.tf_dirs.insert(dir);
            }
            if owned.ignore.is_match(path) || written_by_strata(path) {
                continue;
            }
            if global.is_match(path) {
                owned.global_inputs.push(path.clone());
            }
            let owner = match last {
                Some((d, owner)) if d == dir => owner,
                _ => {
                    let owner = owned.owners.of_dir(dir);
                    last = Some((dir, owner));
                    owner
                }
            };
            // An environment's files feed the targets of that environment (see
            // `Model::environment_files`), never as a target's own: not even a target at the
            // root, whose directory holds `environments/`.
            let owner = owner.filter(|&o| {
                !path.starts_with("environments/")
                    || crate::discover::dir_prefix(&found[o].label).starts_with("environments/")
            });
            if let Some(owner) = owner {
                owned.own_files[owner].push(path.clone());
                if crate::snapshot::is_unreadable_name(path)
                    || crate::snapshot::is_unreadable_content(entry)
                {
                    owned.unreadable.push((owner, path.clone()));
                }
            } else if (is_terraform_file(path)
                || file_name(path) == CHART_FILE
                // Rego no policy target owns is no policy strata evaluates (a typo in
                // `[layout] policies` would drop every one of them without a word).
                || path.ends_with(".rego"))
                && !path.starts_with("environments/")
            {
                owned.unowned.insert(dir);
                if path.ends_with(".rego") {
                    owned.unowned_rego.insert(dir);
                }
            }
        }
        owned
    }
}

impl<'a> Owned<'a> {
    /// Links no target owns that lead to a directory holding Terraform files or a chart
    /// (`live/prod/app -> ../dev/app`): terraform run in the link finds that root, with
    /// another environment's state, but discovery does not follow a linked directory, so
    /// it is no target. Counted among the unowned directories, so `list --check` fails.
    fn linked_roots(&mut self, snapshot: &'a Snapshot, links: &Links) {
        // The links are few; the snapshot's own keys are kept (they outlive `links`).
        for path in links.paths() {
            let Some((path, _)) = snapshot.files.get_key_value(path) else {
                continue;
            };
            if path.starts_with("environments/")
                || self.ignore.is_match(path)
                || self.owners.of_dir(parent_dir(path)).is_some()
            {
                continue;
            }
            let Some(to) = links.chain(path).ok().and_then(|hops| hops.last().cloned()) else {
                continue;
            };
            let prefix = format!("{to}/");
            let holds_root = snapshot
                .files
                .range(prefix.clone()..)
                .take_while(|(p, _)| p.starts_with(&prefix))
                .any(|(p, _)| {
                    parent_dir(p) == to && (is_terraform_file(p) || file_name(p) == CHART_FILE)
                });
            if holds_root {
                self.unowned.insert(path);
            }
        }
    }
}

/// The `terragrunt.hcl` of a stack that is a Terragrunt unit (directly in its directory).
pub(crate) fn is_unit_file(path: &str, target: &Found) -> bool {
    target.kind == Kind::Stack
        && file_name(path) == crate::hcl::TERRAGRUNT_UNIT_FILE
        && parent_dir(path) == crate::discover::label_dir(&target.label)
}

/// A variable file terraform loads by itself from the stack `label`'s directory.
fn is_own_auto_var_file(path: &str, label: &str) -> bool {
    crate::discover::is_auto_var_file(file_name(path))
        && parent_dir(path) == crate::discover::label_dir(label)
}

/// The facts of every file the targets need, parsed in one batch, and the problems found
/// on the way, by the index of the target they belong to.
struct Read<'p> {
    parsed: HashMap<&'p str, std::sync::Arc<Facts>>,
    problems: HashMap<usize, Vec<Problem>>,
}

/// The variable files under `environments/` terraform is given for a stack (see the
/// runner's plan): those under `environments/<env>/<label>/` by label, and the
/// environment-wide ones (directly in `environments/<env>/`), which every stack gets (see
/// [`environments::env_file_owner`]).
#[derive(Default)]
struct VarFiles<'p> {
    by_label: HashMap<String, Vec<&'p str>>,
    wide: Vec<&'p str>,
}

impl<'p> VarFiles<'p> {
    fn find(snapshot: &'p Snapshot, found: &[Found]) -> VarFiles<'p> {
        let kinds: HashMap<&str, Kind> = found.iter().map(|t| (t.label.as_str(), t.kind)).collect();
        let mut files = VarFiles::default();
        for (path, below) in snapshot.files_below("environments") {
            // `environments/<env>/<rest>`
            let Some((_, rest)) = below
                .split_once('/')
                .filter(|_| crate::discover::is_var_file(path))
            else {
                continue;
            };
            let owner = environments::env_file_owner(rest, |d| {
                kinds.get_key_value(d).map(|(label, _)| *label)
            });
            match owner {
                // Another kind of target's (a chart's): no stack is given it.
                EnvFileOwner::Target(label) if kinds[label] != Kind::Stack => {}
                EnvFileOwner::Target(label) => files
                    .by_label
                    .entry(label.to_string())
                    .or_default()
                    .push(path),
                EnvFileOwner::Everyone => files.wide.push(path),
                EnvFileOwner::Nobody | EnvFileOwner::Subchart(_) => {}
            }
        }
        files
    }

    /// The environment variable files of `label`, in any environment.
    fn of(&self, label: &str) -> impl Iterator<Item = &'p str> + '_ {
        let own = self.by_label.get(label).into_iter().flatten();
        self.wide.iter().chain(own).copied()
    }
}

/// The directories terraform may load as modules: each one a local module call of any
/// file names (from the calling file's directory, or, for a test's `run` block, from its
/// target's), as written and as links resolve it; `None` when a Terragrunt configuration
/// may name any (its `terraform { source }`), or when a call leads to a directory whose
/// files were not read here (no target's: a vendored module), whose own calls are then not
/// known. A `.tf` file in no such directory and not in its target's own is never read by
/// terraform (a code generator's template kept as `autogen/main.tf`): when it does not
/// parse, no target is broken by it.
fn module_dirs(
    found: &[Found],
    own_files: &[Vec<String>],
    parsed: &rustc_hash::FxHashMap<&str, std::sync::Arc<Facts>>,
    links: &Links,
) -> Option<HashSet<String>> {
    // The directories whose calls are known: those holding a file read here.
    let read: HashSet<&str> = parsed.keys().map(|f| parent_dir(f)).collect();
    let mut dirs: HashSet<String> = HashSet::default();
    for (t, files) in found.iter().zip(own_files) {
        let own = crate::discover::label_dir(&t.label);
        for f in files {
            match parsed.get(f.as_str()).map(|p| &**p) {
                Some(Facts::Hcl(facts)) => {
                    for call in facts.modules.iter().filter(|c| c.is_local()) {
                        let source = call.source.replace("//", "/");
                        for from in [parent_dir(f), own] {
                            let Some(to) = edges::join_normalized(from, &source) else {
                                continue;
                            };
                            let to = to.trim_end_matches('/').to_string();
                            let real = match links.resolve(&to) {
                                links::Resolved::Inside(real) => {
                                    real.trim_end_matches('/').to_string()
                                }
                                _ => to.clone(),
                            };
                            // Only the reading terraform makes (from a test's target, or
                            // else from the calling file) must lead where files were read;
                            // the other is a guess that may lead nowhere.
                            let terraforms = if crate::hcl::is_test_file_of(f, own) {
                                from == own
                            } else {
                                from == parent_dir(f)
                            };
                            if terraforms && !read.contains(real.as_str()) {
                                return None;
                            }
                            dirs.insert(real);
                            dirs.insert(to);
                        }
                    }
                }
                Some(Facts::Terragrunt(_)) => return None,
                _ => {}
            }
        }
    }
    Some(dirs)
}

fn read_facts<'p>(
    repo: &Repo,
    snapshot: &'p Snapshot,
    facts: &FactStore,
    links: &Links,
    found: &[Found],
    owned: &Owned<'_>,
) -> Result<Read<'p>> {
    let mut wanted: Vec<&str> = Vec::new();
    for (i, t) in found.iter().enumerate() {
        for f in &owned.own_files[i] {
            let needed = match t.kind {
                Kind::Stack | Kind::Module => {
                    is_terraform_file(file_name(f))
                        || is_unit_file(f, t)
                        || crate::hcl::is_test_file_of(f, crate::discover::label_dir(&t.label))
                }
                Kind::Chart | Kind::Policy => false,
            };
            if needed {
                // Borrow from the snapshot, which outlives the parsed facts' keys. A file
                // that cannot be read is its target's problem (see `Owned::assign`).
                if let Some((p, e)) = snapshot.files.get_key_value(f.as_str()) {
                    if !crate::snapshot::is_unreadable_content(e) {
                        wanted.push(p);
                    }
                }
            }
        }
        let manifest = crate::discover::marker(t.kind);
        let chart_files = [CHART_FILE, REQUIREMENTS_FILE];
        for name in manifest
            .into_iter()
            .chain(chart_files.into_iter().filter(|_| t.kind == Kind::Chart))
        {
            let path = crate::discover::in_dir(&t.label, name);
            if let Some((p, e)) = snapshot.files.get_key_value(&path) {
                if !crate::snapshot::is_unreadable_content(e) {
                    wanted.push(p);
                }
            }
        }
    }
    let (parsed, parse_errors) = links::parse_through(facts, repo, snapshot, links, &wanted)?;
    let mut problems: HashMap<usize, Vec<Problem>> = HashMap::default();
    let modules = if parse_errors.is_empty() {
        None
    } else {
        module_dirs(found, &owned.own_files, &parsed, links)
    };
    for (path, error) in &parse_errors {
        if let Some(owner) = owned.owners.of_file(path) {
            let dir = parent_dir(path);
            let unread = is_terraform_file(file_name(path))
                && dir != crate::discover::label_dir(&found[owner].label)
                && modules.as_ref().is_some_and(|m| !m.contains(dir));
            if unread {
                continue;
            }
            problems
                .entry(owner)
                .or_default()
                .push(Problem::from(error));
        }
    }
    for (owner, path) in &owned.unreadable {
        problems.entry(*owner).or_default().push(if crate::snapshot::is_unreadable_name(path) {
            Problem {
                message: format!("the name of `{path}` is not valid UTF-8 (shown with \u{FFFD} for the bytes that are not)"),
                location: Some(Location::new(path.clone(), None)),
                hint: Some("strata reads paths as UTF-8 text: rename the file or directory (`git mv`)".into()),
            }
        } else {
            Problem {
                message: format!("`{path}` cannot be read (permission denied, or another error reading it)"),
                location: Some(Location::new(path.clone(), None)),
                hint: Some("make the file readable to the user running strata (or remove it); strata never takes a file it cannot read for one that is gone".into()),
            }
        });
    }
    Ok(Read { parsed, problems })
}

/// Every target with its files, edges, environments and problems. Targets are independent
/// of each other: they are built in parallel, and the first error in label order is
/// reported so runs are repeatable.
fn build_targets(
    builder: &Builder<'_>,
    config: &WorkspaceConfig,
    own_files: Vec<Vec<String>>,
    read: &Read<'_>,
    env_names: &[String],
) -> Result<Vec<Target>> {
    let found = builder.found;
    let snapshot = builder.snapshot;
    let parsed = &read.parsed;
    let label_index: HashMap<&str, usize> = found
        .iter()
        .enumerate()
        .map(|(i, t)| (t.label.as_str(), i))
        .collect();
    // Variable files are found, and read, only for a stack that reads a variable as a path
    // (see `Builder::terraform_edges`): most do not, and a workspace may hold one per stack
    // and environment.
    let var_files: std::sync::OnceLock<VarFiles> = std::sync::OnceLock::new();
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
                declares_inputs: false,
                chart: None,
                test_files: Vec::new(),
                problems: read.problems.get(&i).cloned().unwrap_or_default(),
                unrunnable: Vec::new(),
                floating_modules: Vec::new(),
            };
            let tests_dir = crate::discover::in_dir(&t.label, "tests/");
            target.test_files = target
                .files
                .iter()
                .filter(|f| {
                    f.strip_prefix(&tests_dir)
                        .is_some_and(|rest| rest.ends_with(".rego"))
                })
                .cloned()
                .collect();
            builder.follow_links(i, &mut target, None);
            match t.kind {
                Kind::Stack | Kind::Module => {
                    // Asked for only when the stack reads a variable as a path.
                    let var_files = |target: &Target| -> Vec<&str> {
                        let own = target
                            .files
                            .iter()
                            .filter(|f| is_own_auto_var_file(f, &t.label))
                            .filter_map(|f| snapshot.files.get_key_value(f.as_str()))
                            .map(|(p, _)| p.as_str());
                        let env = var_files.get_or_init(|| VarFiles::find(snapshot, found));
                        own.chain(env.of(&t.label)).collect()
                    };
                    builder.terraform_edges(i, &mut target, parsed, var_files)?
                }
                Kind::Chart => builder.chart_edges(i, &mut target, parsed),
                // The waivers decide which of a policy's findings block: a change to them
                // changes what the policy's tasks report, so it affects the policy (and,
                // through it, the targets it governs).
                Kind::Policy => {
                    target
                        .extra_inputs
                        .insert(crate::model::waivers::WAIVERS_FILE.to_string());
                }
            }
            builder.trigger_inputs(&mut target);
            let manifest_name = crate::discover::marker(t.kind);
            let manifest_path = manifest_name.map(|n| crate::discover::in_dir(&t.label, n));
            if let Some(path) = &manifest_path {
                let inside = format!("{path}/");
                if let Some((file, _)) = snapshot.files.range(inside.clone()..).next() {
                    if file.starts_with(&inside) {
                        target.problem(Error::Invalid {
                            message: format!("`{path}` is a directory, not a file"),
                            location: Location::new(file.clone(), None),
                            hint: format!("{} is read from the file `{path}`: move what is in the directory elsewhere and write the settings there", manifest_name.unwrap_or_default()),
                        });
                    }
                }
            }
            let manifest =
                manifest_path
                    .as_ref()
                    .and_then(|p| match parsed.get(p.as_str()).map(|f| &**f) {
                        Some(Facts::Manifest(m)) => Some(m.clone()),
                        _ => None,
                    });
            let listed = manifest.as_ref().is_some_and(|m| m.environments.is_some());
            if let (Some(m), Some(path)) = (manifest, manifest_path) {
                apply_manifest(&mut target, &m, &path, &label_index, found, env_names);
                builder.declared_inputs(i, &mut target, &m.extra_inputs, &path);
                // A vendored subchart renders inside its parent, with what the parent gives
                // it: values bound here would reach no render.
                let parent_chart = |label: &str| {
                    vendoring_chart(label, |parent| {
                        label_index
                            .get(parent)
                            .is_some_and(|&p| found[p].kind == Kind::Chart)
                    })
                    .map(str::to_string)
                };
                if let (Kind::Chart, Some(first), Some(parent)) =
                    (t.kind, m.inputs.first(), parent_chart(&t.label))
                {
                    target.problem(Error::Invalid {
                        message: format!(
                            "{} is a subchart vendored in {parent}, which renders it: its `[inputs]` reach no render",
                            t.label
                        ),
                        location: Location::at(&path, first.line),
                        hint: format!(
                            "bind the output in {parent}/chart.toml and read it in the parent's templates; inputs set top-level values keys only, so a subchart's own values (under its name, or `global`) cannot come from them"
                        ),
                    });
                }
            } else if t.kind.is_deployable() {
                target.environments = env_names.to_vec();
            }
            // A target inside an environment's directory deploys there only.
            if let (Some(pattern), true, false) = (
                &config.layout.environment_path,
                t.kind.is_deployable(),
                listed,
            ) {
                if let Some(env) = crate::discover::environment_in_path(pattern, &t.label) {
                    if env_names.iter().any(|e| e == env) {
                        target.environments = vec![env.to_string()];
                    }
                }
            }
            target
                .deps
                .sort_by(|a, b| a.label.cmp(&b.label).then(a.how.cmp(&b.how)));
            target.deps.dedup_by(|a, b| a.label == b.label);
            Ok(target)
        })
        .collect();
    built.into_iter().collect()
}

/// The graph of the targets' dependencies, refused with the path of a cycle, and the index
/// of each label.
fn link(targets: &[Target]) -> Result<(Graph, HashMap<String, TargetId>)> {
    let ids = || TargetId::all(targets.len());
    let label_index: HashMap<&str, TargetId> = ids()
        .zip(targets)
        .map(|(i, t)| (t.label.as_str(), i))
        .collect();
    let dep_indices: Vec<Vec<TargetId>> = targets
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
    let by_label = ids()
        .zip(targets)
        .map(|(i, t)| (t.label.clone(), i))
        .collect();
    Ok((graph, by_label))
}

/// Whether a model built before `modified` files changed (paths with their entries before)
/// still describes `snapshot`, which holds them after. It does when no path appeared or
/// went (the caller checks that), no changed file is one the model reads as text
/// (env.toml, policy.toml, the waivers file), and every changed file the model parsed
/// yields the same facts, by its name's parser and by each parser a read may choose (a
/// template, a kustomization, a decoded configuration): the model depends on file
/// contents only through those.
pub fn still_describes(
    model: &Model,
    repo: &Repo,
    snapshot: &Snapshot,
    facts: &FactStore,
    modified: &[(String, crate::snapshot::FileEntry)],
) -> Result<bool> {
    for (path, before) in modified {
        let now_link = snapshot.files.get(path).map(|e| e.mode) == Some(SYMLINK_MODE);
        if before.mode == SYMLINK_MODE || now_link {
            // Where a link points decides inputs and facts.
            return Ok(false);
        }
        let name = file_name(path);
        if name == crate::manifest::ENV_FILE
            || name == "policy.toml"
            || path == crate::model::waivers::WAIVERS_FILE
        {
            return Ok(false);
        }
        // A file read because of how a target reads it (a template whose reads are
        // inputs too): what it says now must be what it said.
        for parser in Parser::BY_USE {
            if let Some(old) = facts.known_as(parser, before.id) {
                let (new, _) = facts.read_as(parser, repo, snapshot, &[path.as_str()])?;
                if new.get(path.as_str()).map(|f| &**f) != Some(&*old) {
                    return Ok(false);
                }
            }
        }
        // Facts of the file as it was, to compare with. A target's own file read by its
        // name (code, manifests, Chart.yaml) was always read for the model: if its old
        // facts are not known (the model came from the cache, the facts of a run that
        // stopped before saving them did not), it cannot be shown to say the same, so the
        // model is rebuilt. Facts the model never asked for (an environment's tfvars no
        // stack reads as a path, a file no target owns) were no part of it.
        let Some(old) = facts.known(path, before.id) else {
            if Parser::for_path(path).is_some() && model.owns_file(path) {
                return Ok(false);
            }
            continue;
        };
        let (new, _) = facts.facts_for(repo, snapshot, &[path.as_str()])?;
        if new.get(path.as_str()).map(|f| &**f) != Some(&*old) {
            return Ok(false);
        }
    }
    Ok(true)
}
