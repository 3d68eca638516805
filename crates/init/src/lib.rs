//! `strata init`: adopts an existing repository. It reads the work tree as `strata list`
//! will (`evidence`), decides which directories are stacks, modules and charts
//! (`classify`), finds the environments the repository already has (`environments`),
//! chooses the smallest `[layout]` under which strata discovers exactly those targets
//! (`layout`), and plans the files to write (`files`).
//!
//! Invariants:
//! 1. Nothing is written by [`survey`]; [`write`] writes only what the survey planned, and
//!    never replaces a WORKSPACE.toml or an env.toml unless `force` was given.
//! 2. The layout is checked with strata's own discovery and model before it is offered:
//!    the survey says whether `strata list` will show exactly the targets found, with
//!    nothing left unowned (`Check`). When the chosen globs do not discover exactly those
//!    targets, every target is named by its path instead.
//! 3. Every directory with Terraform files is accounted for: a target, a local module of
//!    one, or listed as unclassified with what was done with it.

pub mod classify;
pub mod environments;
pub mod evidence;
pub mod files;
pub mod layout;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;
use strata_graph::discover::{self, dir_label, Kind};
use strata_graph::error::{Location, Problem};
use strata_graph::facts::FactStore;
use strata_graph::git::Repo;
use strata_graph::snapshot::Snapshot;
use strata_graph::workspace::{LayoutConfig, WorkspaceConfig, WORKSPACE_FILE};
use strata_graph::{Error, Result};

use classify::{Found, Part, Reason, Unclassified};
use environments::Environment;
use files::{Planned, Toolchain};
use layout::{Chosen, Layout};

pub struct Options {
    /// Replace an existing WORKSPACE.toml and env.toml files.
    pub force: bool,
    /// Only say what would be written (an existing WORKSPACE.toml is then no error).
    pub dry_run: bool,
}

/// The globs of one kind in the layout chosen.
#[derive(Debug, Clone, Serialize)]
pub struct KindReport {
    pub globs: Vec<String>,
    /// The default globs fit.
    pub default: bool,
    /// Each glob with the targets it names (for an exclude, the directories it keeps out).
    pub notes: Vec<Chosen>,
    /// Why the default globs were not kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instead_of_default: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LayoutReport {
    pub stacks: KindReport,
    pub modules: KindReport,
    pub charts: KindReport,
    pub policies: KindReport,
    /// The chosen globs did not discover exactly the targets found, so every target is
    /// named by its path.
    pub by_path: bool,
}

/// A target strata cannot model yet, with why.
#[derive(Debug, Clone, Serialize)]
pub struct Broken {
    pub label: String,
    #[serde(flatten)]
    pub problem: Problem,
}

/// What `strata list` will say under the new WORKSPACE.toml.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Check {
    /// It lists exactly the targets found, nothing is unowned and every target can be
    /// modelled.
    pub ok: bool,
    pub targets: usize,
    /// Targets found that strata would not discover, and the reverse.
    pub missing: Vec<String>,
    pub unexpected: Vec<String>,
    /// Directories with Terraform files or a chart that no target owns.
    pub unowned: Vec<String>,
    pub broken: Vec<Broken>,
    /// The workspace could not be modelled at all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Problem>,
}

/// A stack in the directory of one environment.
#[derive(Debug, Clone, Serialize)]
pub struct EnvironmentStack {
    pub label: String,
    pub environment: String,
}

/// Everything `init` found and decided.
#[derive(Debug, Clone, Serialize)]
pub struct Survey {
    pub root: PathBuf,
    /// Directories holding Terraform files.
    pub terraform_directories: usize,
    /// Stacks, modules, charts and policies, sorted by label.
    pub targets: Vec<Found>,
    pub local_modules: Vec<Part>,
    pub unclassified: Vec<Unclassified>,
    /// Directories holding both Terraform files and a chart: taken as charts.
    pub conflicts: Vec<String>,
    /// Terragrunt units without Terraform files of their own.
    pub terragrunt_only: Vec<String>,
    /// Terragrunt stack files, whose units are generated and not in the repository.
    pub terragrunt_stacks: Vec<String>,
    /// Terragrunt units written in JSON (`terragrunt.hcl.json`), not read.
    pub terragrunt_json: Vec<String>,
    /// Orders Terramate and Terragrunt declare between units, which strata does not read:
    /// to be carried over as `deps` in stack.toml. (A Terragrunt unit that is a stack is
    /// read, so its dependencies and includes are not listed.)
    pub declared_order: Vec<evidence::Declared>,
    pub environments: Vec<Environment>,
    /// Stacks living in one environment's directory (`live/prod/...`) whose stack.toml
    /// does not say so: strata would deploy them to every environment.
    pub environment_stacks: Vec<EnvironmentStack>,
    pub layout: LayoutReport,
    pub toolchain: Toolchain,
    pub problems: Vec<Problem>,
    /// Files init could not read (each also among `problems`): whatever they declare (a
    /// Terramate order, a backend, a stack block) is missing from what init reports.
    pub unread: Vec<String>,
    pub check: Check,
    pub files: Vec<Planned>,
}

impl Survey {
    pub fn count(&self, kind: Kind) -> usize {
        self.targets.iter().filter(|t| t.kind == kind).count()
    }
}

/// Reads the repository at `dir` (the workspace root to be) and decides everything;
/// writes nothing.
pub fn survey(dir: &Path, opts: &Options) -> Result<Survey> {
    let root = dir.canonicalize().map_err(|e| Error::io(dir, e))?;
    let repo = Repo::open(&root)?;
    if root.join(WORKSPACE_FILE).exists() && !opts.force && !opts.dry_run {
        return Err(Error::Invalid {
            message: format!(
                "{WORKSPACE_FILE} already exists: {} is a strata workspace",
                root.display()
            ),
            location: Location::new(WORKSPACE_FILE, None),
            hint: "`strata init --dry-run` shows what init would write; `strata init --force` replaces WORKSPACE.toml (and the env.toml files of the environments it finds)".into(),
        });
    }
    let mut snapshot = Snapshot::of_index(&repo, &root)?;
    snapshot.apply(repo.work_tree_changes()?);
    // A workspace below this directory: a workspace here would take its targets under
    // other labels (its stack.toml deps, its environments and their state no longer
    // match), and the same roots would be two workspaces' targets.
    let inner = format!("/{WORKSPACE_FILE}");
    if let Some(path) = snapshot.files.keys().find(|p| p.ends_with(&inner)) {
        let dir = &path[..path.len() - inner.len()];
        return Err(Error::Invalid {
            message: format!(
                "{dir}/ is a strata workspace already ({path}): a workspace here would take its targets under other labels, and the same directories would be targets of two workspaces"
            ),
            location: Location::new(path.clone(), None),
            hint: format!(
                "run strata in {dir}/ as it is; to adopt the whole repository from here instead, remove {path} (and its environments) first"
            ),
        });
    }
    let ev = evidence::collect(&repo, &snapshot)?;
    let classes = classify::classify(&ev);

    let tf_dirs: BTreeSet<String> = ev.tf_dirs.keys().cloned().collect();
    let wanted = classes.kinds();
    let want = layout::Want {
        tf_dirs: &tf_dirs,
        targets: &wanted,
        markers: &ev.markers,
    };
    let target_dirs: Vec<&str> = classes
        .targets
        .iter()
        .map(|t| discover::label_dir(&t.label))
        .collect();
    // A tree of Rego files none of which declares a rule conftest runs is another tool's
    // (Atmos's stack validation, Gatekeeper's templates): strata would load it as a policy
    // and judge nothing with it, or fail on its syntax. Judged by the top directory, so
    // that a policy's helper library (`policy/lib/`, rules in `policy/`) stays with it.
    let is_policy = |dir: &str| {
        let top = format!("{}/", dir.split('/').next().unwrap_or_default());
        ev.paths
            .iter()
            .filter(|p| p.ends_with(".rego") && !p.ends_with("_test.rego"))
            .filter(|p| p.starts_with(&top))
            .any(|p| {
                std::fs::read(root.join(p)).is_ok_and(|bytes| {
                    layout::declares_conftest_rules(&String::from_utf8_lossy(&bytes))
                })
            })
    };
    let (policy_layout, foreign_rego) = layout::policies(&ev.paths, &target_dirs, is_policy);
    let mut chosen = layout::synthesize(&want);
    chosen.policies = policy_layout.clone();
    let mut by_path = false;
    let (policies, mismatch) = compare(&snapshot, &layout_config(&chosen), &classes.targets)?;
    if mismatch {
        chosen = layout::exact(&want);
        chosen.policies = policy_layout;
        by_path = true;
    }
    let mut targets = classes.targets.clone();
    targets.extend(policies.into_iter().map(|label| Found {
        label,
        kind: Kind::Policy,
        reason: Reason::Policy,
    }));
    targets.sort_by(|a, b| a.label.cmp(&b.label));

    let envs = environments::detect(&ev.paths, &ev.env_files);
    let environment_stacks: Vec<EnvironmentStack> = targets
        .iter()
        .filter(|t| {
            t.kind == Kind::Stack && !ev.markers.contains_key(discover::label_dir(&t.label))
        })
        .filter_map(|t| {
            let environment = environments::environment_of_dir(discover::label_dir(&t.label))?;
            envs.iter()
                .any(|e| e.name == environment)
                .then(|| EnvironmentStack {
                    label: t.label.clone(),
                    environment,
                })
        })
        .collect();
    // One pattern covering every such stack becomes `[layout] environment_path`: then each
    // deploys to its directory's environment without a file of its own.
    let patterns: BTreeSet<String> = environment_stacks
        .iter()
        .filter_map(|s| environments::environment_path_of_dir(discover::label_dir(&s.label)))
        .collect();
    let environment_path = match (patterns.len(), patterns.into_iter().next()) {
        (1, Some(p)) => Some(p),
        _ => None,
    };
    let environment_stacks: Vec<EnvironmentStack> = if environment_path.is_some() {
        Vec::new()
    } else {
        environment_stacks
    };
    let toolchain = files::detect_toolchain(&root);
    let counts: Vec<(Kind, usize)> = [Kind::Stack, Kind::Module, Kind::Chart, Kind::Policy]
        .into_iter()
        .map(|k| (k, targets.iter().filter(|t| t.kind == k).count()))
        .collect();
    let name = workspace_name(&root);
    let branch = repo.default_branch().unwrap_or_else(|| "main".into());
    let mut ignore = ignore_globs(&snapshot, &targets);
    ignore.extend(foreign_rego.iter().map(|dir| format!("{dir}/*.rego")));
    let text = files::workspace_toml(&files::WorkspaceText {
        ignore: &ignore,
        environment_path: environment_path.as_deref(),
        name: &name,
        default_branch: &branch,
        toolchain: &toolchain,
        layout: &chosen,
        counts: &counts,
    });
    let config = WorkspaceConfig::parse(&text, WORKSPACE_FILE)?;
    let mut check = check(&repo, &snapshot, &config, &targets);
    let mut planned = vec![files::workspace_file(&root, text, opts.force)];
    planned.extend(files::env_files(&envs, opts.force));
    // The model was made without the env.toml files init writes: a manifest naming one of
    // those environments is no problem once they are there.
    let written: Vec<String> = envs
        .iter()
        .filter(|e| {
            planned.iter().any(|p| {
                p.path == format!("environments/{}/env.toml", e.name)
                    && matches!(p.action, files::Action::Create | files::Action::Replace)
            })
        })
        .map(|e| format!("environment `{}` does not exist", e.name))
        .collect();
    if !written.is_empty() {
        check
            .broken
            .retain(|b| !written.contains(&b.problem.message));
        check.ok = check.missing.is_empty()
            && check.unexpected.is_empty()
            && check.unowned.is_empty()
            && check.broken.is_empty()
            && check.error.is_none();
    }
    planned.push(files::gitignore(&root));

    let mut problems = ev.problems.clone();
    let unread: Vec<String> = ev
        .problems
        .iter()
        .filter_map(|p| Some(p.location.as_ref()?.file.clone()))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    if let Some(outer) = root
        .ancestors()
        .skip(1)
        .find(|a| a.join(WORKSPACE_FILE).is_file())
    {
        problems.push(Problem {
            message: format!(
                "{} is inside the workspace at {}: strata commands run below here will use the new WORKSPACE.toml",
                root.display(),
                outer.display()
            ),
            location: None,
            hint: Some(format!(
                "to adopt the whole repository, run `strata init` in {}",
                outer.display()
            )),
        });
    }
    problems.extend(foreign_rego.iter().map(|dir| Problem {
        message: format!(
            "`{dir}` holds Rego files that declare no `deny`, `warn` or `violation` rule (conftest's names): not taken as a policy, and ignored (`{dir}/*.rego` in `ignore`)"
        ),
        location: None,
        hint: Some(
            "if they are meant as strata policies, name their rules as conftest does and take the line out of `ignore`"
                .into(),
        ),
    }));
    problems.extend(classes.conflicts.iter().map(|d| Problem {
        message: format!(
            "`{}` holds both Terraform files and a chart; strata takes it as a chart",
            dir_label(d)
        ),
        location: Some(Location::new(
            discover::in_dir(dir_label(d), "Chart.yaml"),
            None,
        )),
        hint: Some("move the Terraform files into a directory of their own".into()),
    }));
    // strata reads a Terragrunt unit's own dependencies and includes when the unit is a
    // stack: only the rest is left to carry over.
    let unit_of_stack = |d: &evidence::Declared| {
        discover::file_name(&d.file) == strata_graph::hcl::TERRAGRUNT_UNIT_FILE
            && targets.iter().any(|t| {
                t.kind == discover::Kind::Stack
                    && discover::label_dir(&t.label) == discover::parent_dir(&d.file)
            })
    };
    let declared_order: Vec<evidence::Declared> = ev
        .declared
        .into_iter()
        .filter(|d| !unit_of_stack(d))
        .collect();
    Ok(Survey {
        root,
        terraform_directories: tf_dirs.len(),
        targets,
        local_modules: classes.local_modules,
        unclassified: classes.unclassified,
        conflicts: classes.conflicts,
        terragrunt_only: ev.terragrunt_only,
        terragrunt_stacks: ev.terragrunt_stacks,
        terragrunt_json: ev.terragrunt_json,
        declared_order,
        environments: envs,
        environment_stacks,
        layout: report(&chosen, by_path),
        toolchain,
        problems,
        unread,
        check,
        files: planned,
    })
}

/// Writes what the survey planned (see [`files::write`]).
pub fn write(survey: &Survey) -> Result<()> {
    files::write(&survey.root, &survey.files)
}

fn workspace_name(root: &Path) -> String {
    let name: String = root
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect();
    if name.is_empty() {
        "workspace".into()
    } else {
        name
    }
}

fn layout_config(chosen: &Layout) -> LayoutConfig {
    let mut cfg = LayoutConfig::default();
    if let Some(s) = &chosen.stacks {
        cfg.stacks = s.strings();
    }
    if let Some(m) = &chosen.modules {
        cfg.modules = m.strings();
    }
    if let Some(c) = &chosen.charts {
        cfg.charts = c.strings();
    }
    if let Some(p) = &chosen.policies {
        cfg.policies = p.strings();
    }
    cfg
}

/// Discovers the snapshot's targets under `cfg`: the policy targets, and whether the
/// others differ from `want`.
fn compare(snapshot: &Snapshot, cfg: &LayoutConfig, want: &[Found]) -> Result<(Vec<String>, bool)> {
    let layout = match discover::Layout::new(cfg) {
        Ok(l) => l,
        Err(_) => return Ok((Vec::new(), true)),
    };
    let found = match discover::discover(snapshot, &layout) {
        Ok(found) => found,
        Err(_) => return Ok((Vec::new(), true)),
    };
    let policies = found
        .iter()
        .filter(|f| f.kind == Kind::Policy)
        .map(|f| f.label.clone())
        .collect();
    let got: BTreeMap<&str, Kind> = found
        .iter()
        .filter(|f| f.kind != Kind::Policy)
        .map(|f| (f.label.as_str(), f.kind))
        .collect();
    let want: BTreeMap<&str, Kind> = want.iter().map(|f| (f.label.as_str(), f.kind)).collect();
    Ok((policies, got != want))
}

/// Builds strata's model under the new configuration, as `strata list` will.
fn check(repo: &Repo, snapshot: &Snapshot, config: &WorkspaceConfig, want: &[Found]) -> Check {
    let model = match strata_graph::model::build(repo, snapshot, config, &FactStore::in_memory()) {
        Ok(m) => m,
        Err(e) => {
            return Check {
                error: Some(Problem::from(&e)),
                ..Check::default()
            }
        }
    };
    let got: BTreeSet<(&str, Kind)> = model
        .targets
        .iter()
        .map(|t| (t.label.as_str(), t.kind))
        .collect();
    let wanted: BTreeSet<(&str, Kind)> = want.iter().map(|t| (t.label.as_str(), t.kind)).collect();
    let missing: Vec<String> = wanted
        .difference(&got)
        .map(|(l, k)| format!("{l} ({k})"))
        .collect();
    let unexpected: Vec<String> = got
        .difference(&wanted)
        .map(|(l, k)| format!("{l} ({k})"))
        .collect();
    let broken: Vec<Broken> = model
        .targets
        .iter()
        .flat_map(|t| {
            t.problems.iter().map(|p| Broken {
                label: t.label.clone(),
                problem: p.clone(),
            })
        })
        .collect();
    Check {
        ok: missing.is_empty()
            && unexpected.is_empty()
            && model.unowned.is_empty()
            && broken.is_empty(),
        targets: model.targets.len(),
        missing,
        unexpected,
        unowned: model.unowned.clone(),
        broken,
        error: None,
    }
}

fn report(chosen: &Layout, by_path: bool) -> LayoutReport {
    let kind = |k: Kind, chosen: &Option<layout::KindLayout>| match chosen {
        Some(l) => KindReport {
            globs: l.strings(),
            default: false,
            notes: l.globs.clone(),
            instead_of_default: Some(l.instead_of_default.clone()),
        },
        None => KindReport {
            globs: layout::default_globs(k),
            default: true,
            notes: Vec::new(),
            instead_of_default: None,
        },
    };
    LayoutReport {
        stacks: kind(Kind::Stack, &chosen.stacks),
        modules: kind(Kind::Module, &chosen.modules),
        charts: kind(Kind::Chart, &chosen.charts),
        policies: kind(Kind::Policy, &chosen.policies),
        by_path,
    }
}

/// CI and editor configuration no tool of a target reads (see [`ignore_globs`]). A file an
/// ignore glob matches that a target reads by name is still its input.
const CI_AND_EDITOR_FILES: &[(&str, &str)] = &[
    (".github/", ".github/**"),
    (".gitlab/", ".gitlab/**"),
    (".circleci/", ".circleci/**"),
    (".gitlab-ci.yml", ".gitlab-ci.yml"),
    (".pre-commit-config.yaml", ".pre-commit-config.yaml"),
    (".editorconfig", ".editorconfig"),
];

/// `[workspace] ignore` for the workspace: Markdown everywhere, and the CI and editor files
/// the repository has ([`CI_AND_EDITOR_FILES`]). With a target at the root, they would be its files;
/// without, they are no target's, and ignoring them keeps `strata affected` from counting
/// a change to them among the changes no target reads (which it warns about while some
/// read cannot be resolved). A directory holding one of `targets` (a stack under
/// `.github/`) is not ignored: its files are that target's.
fn ignore_globs(snapshot: &strata_graph::snapshot::Snapshot, targets: &[Found]) -> Vec<String> {
    let mut out = vec!["**/*.md".to_string()];
    for (prefix, glob) in CI_AND_EDITOR_FILES {
        let holds_target = targets
            .iter()
            .any(|t| format!("{}/", discover::label_dir(&t.label)).starts_with(prefix));
        if !holds_target && snapshot.files.keys().any(|f| f.starts_with(prefix)) {
            out.push(glob.to_string());
        }
    }
    out
}
