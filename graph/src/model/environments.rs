//! Environments: `environments/<env>/env.toml`, and the files under `environments/` that
//! feed targets, indexed once per snapshot.

use super::{matcher, Model};
use crate::discover;
use crate::error::{Error, Location, Result};
use crate::git::Repo;
use crate::manifest::{parse_env, EnvConfig, ENV_FILE};
use crate::snapshot::Snapshot;
use rustc_hash::FxHashMap as HashMap;
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
pub struct Environment {
    pub name: String,
    pub file: String,
    pub config: EnvConfig,
    /// The line of `promotes_from` in env.toml, for errors.
    promotes_from_line: Option<usize>,
    /// env.toml's text, for the lines of settings in errors (empty when read elsewhere).
    text: std::sync::Arc<str>,
}

impl Environment {
    /// An environment read from `file` (its env.toml) elsewhere than the model.
    pub fn new(name: &str, file: &str, config: EnvConfig) -> Environment {
        Environment {
            name: name.to_string(),
            file: file.to_string(),
            config,
            promotes_from_line: None,
            text: "".into(),
        }
    }

    /// The line of env.toml where `key` is set (`key = ...` at the start of a line; the
    /// first such line), for errors about a setting.
    pub fn line_of(&self, key: &str) -> Option<usize> {
        crate::workspace::key_line(&self.text, key)
    }

    /// Where the `[section]` table header is in env.toml (`[state]`), else its file only.
    pub fn section_location(&self, section: &str) -> Location {
        let header = format!("[{section}]");
        let line = self
            .text
            .lines()
            .position(|l| l.trim() == header)
            .map(|i| i + 1);
        Location::new(self.file.clone(), line)
    }

    fn location_of(&self, _key: &str) -> Location {
        Location::new(self.file.clone(), self.promotes_from_line)
    }
}

impl Model {
    /// Settings that would make strata check less than they say, because of a typo: a
    /// `global_inputs` glob of WORKSPACE.toml that matches no file (a change to the file
    /// meant would affect nothing), a `[state.stacks."<label>"]` table whose label is no
    /// stack (it would set nothing: an adopted state never read, its resources created
    /// again). Asked of the work tree's model by the commands that read and run it, not of
    /// every model: another commit's code runs with this checkout's env.toml, which may
    /// name stacks added since, and an old commit's WORKSPACE.toml cannot be fixed.
    pub fn check_settings(&self) -> Result<()> {
        for (i, glob) in self.config.workspace.global_inputs.iter().enumerate() {
            let Ok(one) = globset::GlobBuilder::new(glob)
                .literal_separator(true)
                .build()
            else {
                continue;
            };
            let one = one.compile_matcher();
            // WORKSPACE.toml is there whenever a workspace is (`strata init` models the
            // one it is about to write).
            if !one.is_match(crate::workspace::WORKSPACE_FILE)
                && !self.global_inputs.iter().any(|p| one.is_match(p))
            {
                return Err(Error::Invalid {
                    message: format!("`global_inputs` entry `{glob}` matches no file in the repository"),
                    location: Location::new(
                        crate::workspace::WORKSPACE_FILE,
                        self.config.workspace.global_inputs_lines.get(i).copied().flatten(),
                    ),
                    hint: "fix the glob (relative to the workspace root, e.g. `shared/versions.json` or `.github/**`), or remove the entry".into(),
                });
            }
        }
        let stacks: Vec<&str> = self
            .targets
            .iter()
            .filter(|t| t.kind == discover::Kind::Stack)
            .map(|t| t.label.as_str())
            .collect();
        check_state_stacks(&self.environments, &stacks)
    }
}

fn check_state_stacks(envs: &[Environment], stacks: &[&str]) -> Result<()> {
    for env in envs {
        for label in env.config.state.stacks.keys() {
            if stacks.contains(&label.as_str()) {
                continue;
            }
            // The table's header (`[state.stacks."x"]`), else the first line naming the
            // label outside a comment (`"x" = { path = ... }` in a `[state.stacks]` table).
            let names =
                |l: &str| l.contains(&format!("\"{label}\"")) || l.contains(&format!("'{label}'"));
            let lines: Vec<&str> = env.text.lines().collect();
            let line = lines
                .iter()
                .position(|l| {
                    let l = l.trim_start();
                    l.starts_with('[') && l.contains("stacks") && names(l)
                })
                .or_else(|| {
                    lines
                        .iter()
                        .position(|l| !l.trim_start().starts_with('#') && names(l))
                })
                .map(|i| i + 1);
            let near = crate::error::did_you_mean(label, stacks);
            return Err(Error::Invalid {
                message: format!("[state.stacks.\"{label}\"] names no stack of the workspace"),
                location: Location::new(env.file.clone(), line),
                hint: format!(
                    "{}a stack deleted since is destroyed with the settings of a commit that has it (`strata destroy {label} --env {} --from <commit>`): remove the table",
                    near.map(|n| format!("{n} ")).unwrap_or_default(),
                    env.name
                ),
            });
        }
    }
    Ok(())
}

impl Model {
    /// Files under `environments/` that feed targets, indexed once per snapshot: for each
    /// environment, the files under `environments/<env>/<label>/` by label, the
    /// environment-wide files (those directly in `environments/<env>/`, such as env.toml),
    /// and those no target is given (see [`env_file_owner`]).
    /// The environments are indexed in parallel.
    pub fn environment_files(&self, snapshot: &Snapshot) -> EnvironmentFiles {
        use rayon::prelude::*;
        let ignore = matcher(&self.config.workspace.ignore);
        let outputs = super::gitops_outputs(&self.config, &self.environments);
        let per_env = self
            .environments
            .par_iter()
            .map(|env| {
                let prefix = format!("environments/{}/", env.name);
                let mut files = EnvFiles::default();
                let mut last: Option<(&str, EnvFileOwner)> = None;
                for (path, _) in snapshot
                    .files
                    .range(prefix.clone()..)
                    .take_while(|(p, _)| p.starts_with(&prefix))
                {
                    if ignore.is_match(path) || super::written_by_strata(path, &outputs) {
                        continue;
                    }
                    let rest = &path[prefix.len()..];
                    // Sorted paths: the files of one directory are consecutive.
                    let dir = discover::parent_dir(rest);
                    let owner = match last {
                        Some((d, owner)) if d == dir => owner,
                        _ => {
                            let owner = self.env_owner(rest);
                            last = Some((dir, owner));
                            owner
                        }
                    };
                    // A link is read through: what it leads to (and the links on the way)
                    // feed the same targets. One leading outside the workspace is noted.
                    let linked: Vec<String> = match self.links.is_link(path) {
                        false => Vec::new(),
                        true => match self.links.chain(path) {
                            Ok(hops) => hops,
                            Err(text) => {
                                files.outside.push((path.clone(), text));
                                Vec::new()
                            }
                        },
                    };
                    match owner {
                        EnvFileOwner::Target(label) => {
                            // A chart is given its values files and its secrets file: any
                            // other file there reaches no tool (a `values.json`, a
                            // `values.YAML`), though it is hashed with the chart.
                            let chart = self
                                .target(label)
                                .is_some_and(|t| t.kind == discover::Kind::Chart);
                            let name = discover::file_name(path);
                            if chart
                                && !name.starts_with('.')
                                && !(path.ends_with(".yaml")
                                    || path.ends_with(".yml")
                                    || name == SECRETS_FILE_NAME)
                            {
                                files.unread.push((path.clone(), label.to_string()));
                            }
                            files
                                .by_label
                                .entry(label.to_string())
                                .or_default()
                                .push(path.clone());
                            if !linked.is_empty() {
                                files
                                    .linked_by_label
                                    .entry(label.to_string())
                                    .or_default()
                                    .extend(linked);
                            }
                        }
                        EnvFileOwner::Everyone => {
                            files.wide.push(path.clone());
                            files.linked_wide.extend(linked);
                        }
                        EnvFileOwner::Nobody => files.stray.push((path.clone(), None)),
                        EnvFileOwner::Subchart(label) => {
                            files.stray.push((path.clone(), Some(label.to_string())))
                        }
                    }
                }
                (env.name.clone(), files)
            })
            .collect();
        EnvironmentFiles { per_env }
    }
}

impl Model {
    /// Whom the file `path` (under `environments/<env>/`) is given to there; `None` for a
    /// path outside that environment's directory.
    pub fn environment_file_owner(&self, env: &str, path: &str) -> Option<EnvFileOwner<'_>> {
        let rest = path.strip_prefix(&format!("environments/{env}/"))?;
        Some(self.env_owner(rest))
    }

    /// [`env_file_owner`] of the file at `rest` below an environment's directory, in this
    /// workspace.
    fn env_owner(&self, rest: &str) -> EnvFileOwner<'_> {
        match env_file_owner(rest, |d| self.target_dir(d)) {
            EnvFileOwner::Target(label) if self.is_subchart(label) => EnvFileOwner::Subchart(label),
            owner => owner,
        }
    }

    /// The label of the target whose directory `dir` is.
    fn target_dir(&self, dir: &str) -> Option<&str> {
        self.by_label.get_key_value(dir).map(|(k, _)| k.as_str())
    }
}

/// See [`Model::environment_files`].
#[derive(Debug, Clone, Default)]
pub struct EnvironmentFiles {
    per_env: BTreeMap<String, EnvFiles>,
}

#[derive(Debug, Clone, Default)]
struct EnvFiles {
    wide: Vec<String>,
    by_label: HashMap<String, Vec<String>>,
    /// What the links among `wide` and `by_label` lead to: inputs (hashed, and in the
    /// sandbox for the links to resolve), never files given to a tool themselves.
    linked_wide: Vec<String>,
    linked_by_label: HashMap<String, Vec<String>>,
    /// Links among the files that lead outside the workspace (or loop): (link, its text).
    outside: Vec<(String, String)>,
    /// Files no target is given (see [`EnvFileOwner::Nobody`]), each with the vendored
    /// subchart whose directory holds it, if one does ([`EnvFileOwner::Subchart`]).
    stray: Vec<(String, Option<String>)>,
    /// Files in a chart's directory that helm is never given (not a values file, not its
    /// secrets file), with the chart.
    unread: Vec<(String, String)>,
}

/// The name of a secrets file (see strata_run::secrets).
const SECRETS_FILE_NAME: &str = "secrets.toml";

/// A file under `environments/<env>/` that no target is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stray<'a> {
    pub env: &'a str,
    pub path: &'a str,
    /// The chart vendored in another chart whose directory holds it (see
    /// [`EnvFileOwner::Subchart`]).
    pub subchart: Option<&'a str>,
    /// The chart whose directory holds it, which helm is never given it (no values file).
    pub unread_by: Option<&'a str>,
}

impl std::fmt::Display for Stray<'_> {
    /// What is wrong with it, and the fix.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Stray {
            env,
            path,
            subchart,
            unread_by,
        } = self;
        if let Some(chart) = unread_by {
            return write!(
                f,
                "{path} is in {chart}'s directory of environments/{env}/, but helm is given only its values files there (`*.yaml`, `*.yml`) and its secrets file, so it reaches no tool\n  hint: rename it to end in `.yaml` (helm reads a JSON values file as YAML), or remove it"
            );
        }
        match subchart {
            Some(sub) => write!(
                f,
                "{path} is in the directory of {sub}, a chart vendored in another chart's charts/: helm renders it inside the chart that vendors it, with the values that chart gives it, so no target is given this file\n  hint: set its values in a values file of the outermost chart's directory in environments/{env}/, under the subchart's name (the alias its parent's Chart.yaml gives it, else the `name` in its own Chart.yaml; nested under each enclosing subchart's name in turn), or remove it"
            ),
            None => write!(
                f,
                "{path} is in a directory of environments/{env}/ that is no target's, so no target is given it (was the target removed or renamed, or is the directory misspelled?)\n  hint: move it under the target's directory there, or directly into environments/{env}/ to give it to every target, or remove it"
            ),
        }
    }
}

/// Whom a file under `environments/<env>/` is given to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvFileOwner<'a> {
    /// The target whose directory there holds it (the deepest one).
    Target(&'a str),
    /// Every target deployed in the environment: it lies directly in `environments/<env>/`
    /// (env.toml, shared variable files).
    Everyone,
    /// No target: it lies in a directory there that is no target's (the target was removed
    /// or renamed, or the directory is misspelled). Given to every target, a file left
    /// behind by a removed chart would set values in all the others.
    Nobody,
    /// No target: it lies in the directory of a chart vendored in another chart's
    /// `charts/`, which helm renders inside its parent, with the values its parent gives
    /// it (the parent's values files set them under the subchart's name), never with files
    /// of its own.
    Subchart(&'a str),
}

/// Whom the file at `rest` (its path below `environments/<env>/`) is given to; `target`
/// says which directory is a target's, and its label.
pub(crate) fn env_file_owner<'a>(
    rest: &str,
    target: impl Fn(&str) -> Option<&'a str>,
) -> EnvFileOwner<'a> {
    let dir = discover::parent_dir(rest);
    match discover::self_and_ancestors(dir).find_map(target) {
        Some(label) => EnvFileOwner::Target(label),
        None if dir.is_empty() => EnvFileOwner::Everyone,
        None => EnvFileOwner::Nobody,
    }
}

impl EnvironmentFiles {
    /// Each environment with its environment-wide files and its files by label.
    pub fn envs(&self) -> impl Iterator<Item = (&str, &[String], &HashMap<String, Vec<String>>)> {
        self.per_env
            .iter()
            .map(|(env, f)| (env.as_str(), f.wide.as_slice(), &f.by_label))
    }

    /// The files given to `label` in `env` that are links leading outside the workspace (or
    /// in a loop), with the text that leads there: a change there could never be seen.
    pub fn outside_links<'a>(
        &'a self,
        env: &str,
        label: &str,
    ) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        let given: std::collections::BTreeSet<&str> = self.for_target(env, label).collect();
        self.per_env
            .get(env)
            .into_iter()
            .flat_map(|f| f.outside.iter())
            .filter(move |(p, _)| given.contains(p.as_str()))
            .map(|(p, t)| (p.as_str(), t.as_str()))
    }

    /// In `env`, what the links among the environment-wide files lead to, and among each
    /// label's (see [`EnvironmentFiles::inputs_for_target`]).
    pub fn linked(&self, env: &str) -> (&[String], Option<&HashMap<String, Vec<String>>>) {
        match self.per_env.get(env) {
            Some(f) => (f.linked_wide.as_slice(), Some(&f.linked_by_label)),
            None => (&[], None),
        }
    }

    /// [`EnvironmentFiles::for_target`], and what the links among them lead to: everything
    /// whose change changes what `label` is given in `env` (its sandbox holds all of them).
    pub fn inputs_for_target<'a>(
        &'a self,
        env: &str,
        label: &str,
    ) -> impl Iterator<Item = &'a str> + 'a {
        let files = self.per_env.get(env);
        let wide = files.into_iter().flat_map(|f| f.linked_wide.iter());
        let own = files
            .and_then(|f| f.linked_by_label.get(label))
            .into_iter()
            .flatten();
        self.for_target(env, label)
            .chain(wide.chain(own).map(String::as_str))
    }

    /// The files under `environments/` that no target is given, by environment (see
    /// [`EnvFileOwner::Nobody`]), each with the vendored subchart whose directory holds
    /// it, if one does.
    pub fn stray(&self) -> impl Iterator<Item = Stray<'_>> {
        self.per_env.iter().flat_map(|(env, f)| {
            f.stray
                .iter()
                .map(move |(path, subchart)| Stray {
                    env,
                    path,
                    subchart: subchart.as_deref(),
                    unread_by: None,
                })
                .chain(f.unread.iter().map(move |(path, chart)| Stray {
                    env,
                    path,
                    subchart: None,
                    unread_by: Some(chart.as_str()),
                }))
        })
    }

    /// The files feeding `label` in `env`: environment-wide first, then its own.
    pub fn for_target<'a>(&'a self, env: &str, label: &str) -> impl Iterator<Item = &'a str> + 'a {
        let files = self.per_env.get(env);
        let wide = files.into_iter().flat_map(|f| f.wide.iter());
        let own = files
            .and_then(|f| f.by_label.get(label))
            .into_iter()
            .flatten();
        wide.chain(own).map(String::as_str)
    }
}

/// `environments/<name>/env.toml` files, parsed and checked (promotion sources exist and
/// form no loop).
/// Whether `name` can name an environment: one directory name under `environments/`, so
/// that a path built from it (its ledger, its lock, its locks in `.strata/`) stays there. A
/// name read from a file someone else wrote (a promotion plan) is checked with this first.
pub fn is_environment_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\\', '\0'])
}

pub(super) fn load_environments(repo: &Repo, snapshot: &Snapshot) -> Result<Vec<Environment>> {
    let files: Vec<&str> = snapshot
        .files
        .range("environments/".to_string()..)
        .map(|(p, _)| p.as_str())
        .take_while(|p| p.starts_with("environments/"))
        .filter(|p| p.split('/').count() == 3 && p.ends_with(&format!("/{ENV_FILE}")))
        .collect();
    let mut envs = Vec::new();
    for (file, text) in snapshot.config_texts(repo, &files)? {
        let file = file.as_str();
        let config = parse_env(&text, file)?;
        let name = file.split('/').nth(1).unwrap_or_default().to_string();
        envs.push(Environment {
            name,
            file: file.to_string(),
            config,
            promotes_from_line: crate::workspace::key_line(&text, "promotes_from"),
            text: text.as_str().into(),
        });
    }
    let names: BTreeMap<&str, Option<&str>> = envs
        .iter()
        .map(|e| (e.name.as_str(), e.config.promotes_from.as_deref()))
        .collect();
    // Each error names the file and line holding the value at fault.
    for env in &envs {
        if let Some(from) = env.config.promotes_from.as_deref() {
            if !names.contains_key(from) {
                return Err(Error::Invalid {
                    message: format!("`promotes_from` names `{from}`, which is not an environment"),
                    location: env.location_of("promotes_from"),
                    hint: format!(
                        "use one of: {}",
                        names.keys().copied().collect::<Vec<_>>().join(", ")
                    ),
                });
            }
        }
    }
    for env in &envs {
        let mut seen = vec![env.name.as_str()];
        let mut cur = env.config.promotes_from.as_deref();
        while let Some(from) = cur {
            if from == env.name {
                seen.push(from);
                return Err(Error::Invalid {
                    message: format!("promotion loop: {}", seen.join(" <- ")),
                    location: env.location_of("promotes_from"),
                    hint: "the first environment of the train has no `promotes_from`".into(),
                });
            }
            // A loop further up the chain is reported from an environment in it.
            if seen.contains(&from) {
                break;
            }
            seen.push(from);
            cur = names[from];
        }
    }
    // Train order: each environment after the one it promotes from; ties by name.
    let depth = |e: &Environment| {
        let mut d = 0;
        let mut cur = e.config.promotes_from.as_deref();
        while let Some(from) = cur {
            d += 1;
            cur = names.get(from).copied().flatten();
        }
        d
    };
    let mut keyed: Vec<(usize, Environment)> = envs.iter().map(|e| (depth(e), e.clone())).collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.name.cmp(&b.1.name)));
    Ok(keyed.into_iter().map(|(_, e)| e).collect())
}
