//! The edges and inputs of a stack that is a Terragrunt unit (see
//! [`crate::hcl::TerragruntFacts`]): its dependencies, and the configurations it and what
//! it includes read. Its module call and file reads are a Terraform file's, handled by the
//! caller.

use super::{join_normalized, outside_workspace, Builder};
use crate::discover::parent_dir;
use crate::error::{Error, Location, Result};
use crate::facts::{Facts, Parser};
use crate::hcl::{
    terragrunt_source_call, FileRef, HclFacts, Lead, Led, PathBase, Role, TerragruntFacts,
    TerragruntOnly,
};
use crate::model::{DepKind, Dependency, Target};
use std::collections::BTreeSet;

/// How many configurations deep includes are followed (an include of an include ...).
const MAX_DEPTH: usize = 8;

impl Builder<'_> {
    /// Adds the unit `unit_file`'s dependencies and the configurations it reads to
    /// `target`: a dependency on a directory a target owns is an edge to that target (as a
    /// stack.toml `deps` entry), one on a unit strata does not model makes that unit's files
    /// inputs; each configuration read is an input, and what it reads in turn is followed
    /// as Terragrunt evaluates it: an included configuration in the context of the file that
    /// includes it (the unit's directory, for the unit's includes), a configuration read
    /// with `read_terragrunt_config` in its own (its directory is where
    /// `find_in_parent_folders` starts, what `get_terragrunt_dir()` names, and what its
    /// relative paths start from).
    ///
    /// Returns what the caller follows as a Terraform file's module calls and reads, each
    /// with the file that names it (and, as Terraform's, relative to that file's directory
    /// or, for `PathBase::Root`, to the unit's): a `terraform { source }` whose path
    /// starts from a directory a Terragrunt function names
    /// (`"${get_repo_root()}/modules//vpc"`), and an included configuration's file reads.
    /// Terragrunt evaluates an included file's file functions with that file's directory
    /// as their base, while `get_terragrunt_dir()` there is the unit's. An included
    /// configuration's source written as a plain relative path is an unresolved read.
    pub(super) fn terragrunt_edges(
        &self,
        me: usize,
        target: &mut Target,
        unit_file: &str,
        unit: &TerragruntFacts,
    ) -> Result<Vec<(String, HclFacts)>> {
        let mut follow = Vec::new();
        // Each configuration with the directory it is evaluated from.
        // (file, context, whether it is followed as a unit's own file): a unit's file read
        // with `read_terragrunt_config` is followed again as the unit when depended on.
        let mut seen: BTreeSet<(String, String, bool)> = BTreeSet::new();
        let mut todo: Vec<Config> = vec![Config {
            file: unit_file.to_string(),
            facts: unit.clone(),
            depth: 0,
            context: parent_dir(unit_file).to_string(),
            unit: true,
            merged: true,
        }];
        while let Some(Config {
            file,
            facts,
            depth,
            context,
            unit,
            merged,
        }) = todo.pop()
        {
            let dir = context.as_str();
            let at = |line: usize| Location::at(file.clone(), line);
            if merged {
                let only = facts.terragrunt_only.iter();
                target
                    .unrunnable
                    .extend(only.map(|&(what, line)| (what, at(line))));
            }
            let included = !unit;
            let mut calls = HclFacts::default();
            // Units the stack depends on through this file that strata does not model.
            let mut units: Vec<(String, usize)> = Vec::new();
            if unit && file != unit_file {
                // Another unit's own file: its reads start from its directory, which is
                // this file's, and so does its module source.
                calls = facts.hcl.clone();
                for read in &mut calls.file_refs {
                    if read.base == PathBase::Root {
                        read.base = PathBase::Module;
                    }
                }
                calls.unresolved_refs.clear();
                target
                    .unresolved
                    .extend(facts.hcl.unresolved_refs.iter().map(|&l| at(l)));
            }
            if included {
                let mut lines: Vec<usize> = facts.hcl.modules.iter().map(|m| m.line).collect();
                for read in &facts.hcl.file_refs {
                    // Terragrunt reads a file function's relative path in an included file
                    // from that file's directory; `get_terragrunt_dir()` is the context's:
                    // the unit's, or the file's own.
                    let (base, path) = match &read.base {
                        PathBase::Root => (PathBase::Module, read.path.clone()),
                        PathBase::Module if dir == parent_dir(unit_file) => {
                            (PathBase::Root, read.path.clone())
                        }
                        // Another context's directory, written from this file's.
                        PathBase::Module => (
                            PathBase::Module,
                            format!(
                                "{}/{}",
                                relative_path(parent_dir(&file), dir),
                                read.path.trim_start_matches('/')
                            ),
                        ),
                        PathBase::Absolute => (PathBase::Absolute, read.path.clone()),
                        PathBase::Local(_) => {
                            lines.push(read.line);
                            continue;
                        }
                    };
                    calls.file_refs.push(FileRef {
                        base,
                        path,
                        ..read.clone()
                    });
                }
                lines.extend(&facts.hcl.unresolved_refs);
                target.unresolved.extend(lines.into_iter().map(at));
            }
            for (path, line) in &facts.dependencies {
                if let Some(file) = self.unit_dependency(me, target, dir, path, at(*line))? {
                    units.push((file, *line));
                }
            }
            // Each configuration read, with the line that names it.
            let mut configs: Vec<(String, usize)> = Vec::new();
            for (path, line) in &facts.configs {
                match join_normalized(dir, path) {
                    Some(p) => configs.push((p, *line)),
                    None => target.problem(outside_workspace(
                        "a Terragrunt configuration read",
                        path,
                        at(*line),
                    )),
                }
            }
            for (name, line) in &facts.parent_files {
                match self.in_parent_folders(dir, name) {
                    Some(p) => configs.push((p, *line)),
                    // Terragrunt fails on it too; nothing strata could follow.
                    None => target.unresolved.push(at(*line)),
                }
            }
            for (name, line) in &facts.parent_reads {
                match self.in_parent_folders(dir, name) {
                    Some(p) => {
                        target.extra_inputs.insert(p);
                    }
                    None => target.unresolved.push(at(*line)),
                }
            }
            // `get_parent_terragrunt_dir()` names an included configuration's directory,
            // so the paths led by it are resolved once the includes are.
            let (later, first): (Vec<&Led>, Vec<&Led>) = facts
                .led
                .iter()
                .partition(|led| matches!(led.lead, Lead::ParentDir(_)));
            let mut include_dirs: Vec<(&str, String)> = Vec::new();
            for (pass, leds) in [first, later].into_iter().enumerate() {
                if pass == 1 && !included {
                    include_dirs = facts
                        .includes
                        .iter()
                        .flat_map(|(label, line)| {
                            let found = configs.iter().filter(move |(_, l)| l == line);
                            found.map(move |(path, _)| {
                                (label.as_str(), parent_dir(path).to_string())
                            })
                        })
                        .collect();
                }
                for led in leds {
                    let location = at(led.line);
                    let paths = match self.led_paths(led, dir, &file, included, &include_dirs) {
                        Ok(paths) if paths.is_empty() => {
                            target.unresolved.push(location);
                            continue;
                        }
                        Ok(paths) => paths,
                        Err((written, from)) => {
                            let mut e =
                                outside_workspace("a path Terragrunt resolves", &written, location);
                            // The directory it starts from tells why it leaves.
                            if let (Some(from), Error::Invalid { message, .. }) = (from, &mut e) {
                                let from = if from.is_empty() { "." } else { &from };
                                *message = format!(
                                    "a path Terragrunt resolves, `{written}` from `{from}`, is outside the workspace"
                                );
                            }
                            target.problem(e);
                            continue;
                        }
                    };
                    for path in paths {
                        match led.role {
                            Role::Config => configs.push((path, led.line)),
                            Role::Read | Role::ReadIfThere
                                if self.snapshot.files.contains_key(path.as_str()) =>
                            {
                                target.extra_inputs.insert(path);
                            }
                            Role::ReadIfThere => {}
                            Role::Argument => self.may_read(me, &path, false, target),
                            Role::ArgumentPrefix => self.may_read(me, &path, true, target),
                            // Nothing there to read (Terragrunt fails), or a directory.
                            Role::Read => target.unresolved.push(at(led.line)),
                            Role::Dependency => {
                                if let Some(file) =
                                    self.unit_dependency(me, target, "", &path, at(led.line))?
                                {
                                    units.push((file, led.line));
                                }
                            }
                            Role::Source => calls.modules.push(terragrunt_source_call(
                                &relative_path(parent_dir(&file), &path),
                                led.line,
                            )),
                        }
                    }
                }
            }
            if merged {
                // An include strata could not resolve merges what it cannot see.
                for (_, line) in &facts.includes {
                    if !configs.iter().any(|(_, l)| l == line) {
                        target.unrunnable.push((TerragruntOnly::Include, at(*line)));
                    }
                }
            }
            if !calls.modules.is_empty() || !calls.file_refs.is_empty() {
                follow.push((file.clone(), calls));
            }
            let unit_files: BTreeSet<String> = units.iter().map(|(f, _)| f.clone()).collect();
            configs.extend(units);
            for (config, line) in configs {
                let location = at(line);
                // `read_terragrunt_config("../common")` reads the directory's unit file.
                let config = if !self.snapshot.files.contains_key(config.as_str())
                    && self.holds_files(&config)
                {
                    crate::discover::in_dir(&config, crate::hcl::TERRAGRUNT_UNIT_FILE)
                } else {
                    config
                };
                let config =
                    match self.through_links(&config, "Terragrunt configuration", &location) {
                        Ok(p) => p,
                        Err(e) => {
                            target.problem(e);
                            continue;
                        }
                    };
                // An include is evaluated where the file that includes it is; anything
                // else read (and a unit depended on) is its own context.
                let is_unit = unit_files.contains(&config);
                let include = !is_unit && facts.includes.iter().any(|(_, l)| *l == line);
                let context = if include {
                    context.clone()
                } else {
                    parent_dir(&config).to_string()
                };
                if !seen.insert((config.clone(), context.clone(), is_unit)) {
                    continue;
                }
                if !self.snapshot.files.contains_key(config.as_str()) {
                    if merged && include {
                        target
                            .unrunnable
                            .push((TerragruntOnly::Include, location.clone()));
                    }
                    target.unresolved.push(location);
                    continue;
                }
                target.extra_inputs.insert(config.clone());
                // Configurations nest up to a depth; a chain of units depended on is as long
                // as it is (each unit is followed once: `seen`), its includes counted anew.
                let depth = if is_unit { 0 } else { depth + 1 };
                if depth >= MAX_DEPTH {
                    target.unresolved.push(location);
                    continue;
                }
                let (found, errors) = self.facts.read_as(
                    Parser::Terragrunt,
                    self.repo,
                    self.snapshot,
                    &[config.as_str()],
                )?;
                match found.get(config.as_str()).map(|f| &**f) {
                    Some(Facts::Terragrunt(more)) => todo.push(Config {
                        file: config.clone(),
                        facts: (**more).clone(),
                        depth,
                        context,
                        unit: is_unit,
                        merged: merged && include && !facts.unmerged.contains(&line),
                    }),
                    // Not a configuration strata can read (nor can Terragrunt: the unit
                    // cannot run).
                    _ => match errors.into_iter().next() {
                        Some((_, e)) => target.problem(e),
                        None => target.unresolved.push(location),
                    },
                }
            }
        }
        Ok(follow)
    }

    /// The workspace paths a [`Led`] path of `file` names, for the unit in `unit_dir`
    /// (none when the directory it starts from cannot be found, as for Terragrunt), or the
    /// path as written when it leads outside the workspace.
    fn led_paths(
        &self,
        led: &Led,
        unit_dir: &str,
        file: &str,
        included: bool,
        include_dirs: &[(&str, String)],
    ) -> std::result::Result<Vec<String>, (String, Option<String>)> {
        let rest = format!(".{}", led.rest);
        let starts: Vec<String> = match &led.lead {
            Lead::UnitDir => vec![unit_dir.to_string()],
            Lead::BesideParentFile(name) => self
                .in_parent_folders(unit_dir, name)
                .map(|found| parent_dir(&found).to_string())
                .into_iter()
                .collect(),
            Lead::RepoRoot => {
                // A path of the repository, which holds the workspace at its prefix.
                return crate::hcl::terragrunt::repo_root_path(self.repo.prefix(), &led.rest)
                    .map(|path| vec![path])
                    .ok_or_else(|| (format!("{}{}", led.lead, led.rest), None));
            }
            Lead::ParentDir(_) if included => vec![parent_dir(file).to_string()],
            Lead::ParentDir(label) => include_dirs
                .iter()
                .filter(|(l, _)| label.as_deref().is_none_or(|label| label == *l))
                .map(|(_, d)| d.clone())
                .collect(),
        };
        // Leaving the workspace: the path as written, and the directory it started from.
        starts
            .iter()
            .map(|start| {
                join_normalized(start, &rest)
                    .ok_or_else(|| (format!("{}{}", led.lead, led.rest), Some(start.clone())))
            })
            .collect()
    }
    /// A unit's `dependency` on `path` (relative to the unit's directory `dir`). Returns
    /// the `terragrunt.hcl` of a unit strata does not model, to be followed.
    fn unit_dependency(
        &self,
        me: usize,
        target: &mut Target,
        dir: &str,
        path: &str,
        location: Location,
    ) -> Result<Option<String>> {
        let Some(resolved) = join_normalized(dir, path) else {
            target.problem(outside_workspace("a Terragrunt dependency", path, location));
            return Ok(None);
        };
        let resolved = match self.through_links(&resolved, "Terragrunt dependency", &location) {
            Ok(p) => p,
            Err(e) => {
                target.problem(e);
                return Ok(None);
            }
        };
        match self.owners.of_dir(&resolved) {
            // The unit itself (a directory below it that holds nothing is nowhere).
            Some(owner) if owner == me && self.holds_files(&resolved) => {}
            Some(owner) if owner != me => target.deps.push(Dependency {
                label: self.found[owner].label.clone(),
                how: DepKind::Declared,
                origin: location,
            }),
            // A unit strata does not model (no Terraform files of its own): what it holds
            // decides what the dependency gives, and its configuration is followed.
            None if self.holds_files(&resolved) => {
                self.fileset_inputs(me, &resolved, "**", target);
                let file = crate::discover::in_dir(&resolved, crate::hcl::TERRAGRUNT_UNIT_FILE);
                if self.snapshot.files.contains_key(file.as_str()) {
                    return Ok(Some(file));
                }
            }
            _ => target.problem(Error::Invalid {
                message: format!(
                    "Terragrunt dependency `{path}` leads nowhere (resolved to `{resolved}`)"
                ),
                location,
                hint:
                    "`config_path` and `paths` are relative to the unit's directory; fix the path"
                        .into(),
            }),
        }
        Ok(None)
    }

    /// The file `name` in the nearest directory above `dir` that holds one, as
    /// `find_in_parent_folders` finds it.
    fn in_parent_folders(&self, dir: &str, name: &str) -> Option<String> {
        crate::hcl::terragrunt::in_parent_folders(dir, name, |p| {
            self.snapshot.files.contains_key(p)
        })
    }
}

/// A configuration to follow, and the directory it is evaluated from.
struct Config {
    file: String,
    facts: TerragruntFacts,
    depth: usize,
    context: String,
    /// The `terragrunt.hcl` of a unit strata does not model (no Terraform files of its
    /// own) that the stack depends on, evaluated in its own directory: its module source,
    /// file reads and dependencies are followed as the stack's own, since Terragrunt
    /// applies that unit, with what it reads, before the stack that reads its outputs.
    unit: bool,
    /// Whether Terragrunt merges the configuration into the unit strata runs: the unit's
    /// own file and what it includes (unless `merge_strategy = "no_merge"`), in turn.
    merged: bool,
}

/// The path from the directory `from` to `to` (both workspace paths), written `./` first so
/// that it is read as a local module source.
fn relative_path(from: &str, to: &str) -> String {
    let from: Vec<&str> = from.split('/').filter(|s| !s.is_empty()).collect();
    let to: Vec<&str> = to.split('/').filter(|s| !s.is_empty()).collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut path = String::from(".");
    for _ in common..from.len() {
        path.push_str("/..");
    }
    for part in &to[common..] {
        path.push('/');
        path.push_str(part);
    }
    path
}

#[cfg(test)]
mod tests {
    use super::relative_path;

    #[test]
    fn a_relative_path_climbs_to_the_common_directory() {
        assert_eq!(
            relative_path("live/dev/vpc", "modules/vpc"),
            "./../../../modules/vpc"
        );
        assert_eq!(relative_path("live/dev/vpc", "live/dev/vpc/sub"), "./sub");
        assert_eq!(relative_path("live/dev/vpc", "live/dev/vpc"), ".");
        assert_eq!(relative_path("", "modules/vpc"), "./modules/vpc");
        assert_eq!(relative_path("live/a", ""), "./../..");
    }
}
