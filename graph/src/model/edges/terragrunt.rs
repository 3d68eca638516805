//! The edges and inputs of a stack that is a Terragrunt unit (see
//! [`crate::hcl::TerragruntFacts`]): its dependencies, and the configurations it and what
//! it includes read. Its module call and file reads are a Terraform file's, handled by the
//! caller.

use super::{join_normalized, outside_workspace, Builder};
use crate::discover::parent_dir;
use crate::error::{Error, Location, Result};
use crate::facts::{Facts, Parser};
use crate::hcl::TerragruntFacts;
use crate::model::{DepKind, Dependency, Target};
use std::collections::BTreeSet;

/// How many configurations deep includes are followed (an include of an include ...).
const MAX_DEPTH: usize = 8;

impl Builder<'_> {
    /// Adds the unit `unit_file`'s dependencies and the configurations it reads to
    /// `target`: a dependency on a directory a target owns is an edge to that target (as a
    /// stack.toml `deps` entry), one on a unit strata does not model makes that unit's files
    /// inputs; each configuration read is an input, and what it reads in turn is followed
    /// from the unit's directory, as Terragrunt evaluates it. A configuration's own module
    /// source and file reads are not followed: they are unresolved reads.
    pub(super) fn terragrunt_edges(
        &self,
        me: usize,
        target: &mut Target,
        unit_file: &str,
        unit: &TerragruntFacts,
    ) -> Result<()> {
        let dir = parent_dir(unit_file);
        let mut seen: BTreeSet<String> = BTreeSet::new();
        let mut todo: Vec<(String, TerragruntFacts, usize)> =
            vec![(unit_file.to_string(), unit.clone(), 0)];
        while let Some((file, facts, depth)) = todo.pop() {
            if file != unit_file
                && (!facts.hcl.modules.is_empty()
                    || !facts.hcl.file_refs.is_empty()
                    || !facts.hcl.unresolved_refs.is_empty())
            {
                let lines = facts.hcl.modules.iter().map(|m| m.line);
                let lines = lines.chain(facts.hcl.file_refs.iter().map(|r| r.line));
                let lines = lines.chain(facts.hcl.unresolved_refs.iter().copied());
                target
                    .unresolved
                    .extend(lines.map(|l| Location::at(file.clone(), l)));
            }
            for (path, line) in &facts.dependencies {
                self.unit_dependency(me, target, dir, path, Location::at(file.clone(), *line))?;
            }
            let mut configs: Vec<(String, Location)> = Vec::new();
            for (path, line) in &facts.configs {
                let location = Location::at(file.clone(), *line);
                match join_normalized(dir, path) {
                    Some(p) => configs.push((p, location)),
                    None => target.problem(outside_workspace(
                        "a Terragrunt configuration read",
                        path,
                        location,
                    )),
                }
            }
            for (name, line) in &facts.parent_files {
                let location = Location::at(file.clone(), *line);
                match self.in_parent_folders(dir, name) {
                    Some(p) => configs.push((p, location)),
                    // Terragrunt fails on it too; nothing strata could follow.
                    None => target.unresolved.push(location),
                }
            }
            for (name, rest, line) in &facts.beside_parent_files {
                let location = Location::at(file.clone(), *line);
                let beside = self
                    .in_parent_folders(dir, name)
                    .and_then(|found| join_normalized(parent_dir(&found), &format!(".{rest}")));
                match beside {
                    Some(p) => configs.push((p, location)),
                    None => target.unresolved.push(location),
                }
            }
            for (config, location) in configs {
                let config =
                    match self.through_links(&config, "Terragrunt configuration", &location) {
                        Ok(p) => p,
                        Err(e) => {
                            target.problem(e);
                            continue;
                        }
                    };
                if !seen.insert(config.clone()) {
                    continue;
                }
                if !self.snapshot.files.contains_key(config.as_str()) {
                    target.unresolved.push(location);
                    continue;
                }
                target.extra_inputs.insert(config.clone());
                if depth + 1 >= MAX_DEPTH {
                    target.unresolved.push(location);
                    continue;
                }
                let (found, _) = self.facts.read_as(
                    Parser::Terragrunt,
                    self.repo,
                    self.snapshot,
                    &[config.as_str()],
                )?;
                let more = match found.get(config.as_str()).map(|f| &**f) {
                    Some(Facts::Terragrunt(more)) => Some((**more).clone()),
                    _ => None,
                };
                match more {
                    Some(more) => todo.push((config, more, depth + 1)),
                    // Not a configuration strata can read (nor can Terragrunt).
                    _ => target.unresolved.push(location),
                }
            }
        }
        Ok(())
    }

    /// A unit's `dependency` on `path` (relative to the unit's directory `dir`).
    fn unit_dependency(
        &self,
        me: usize,
        target: &mut Target,
        dir: &str,
        path: &str,
        location: Location,
    ) -> Result<()> {
        let Some(resolved) = join_normalized(dir, path) else {
            target.problem(outside_workspace("a Terragrunt dependency", path, location));
            return Ok(());
        };
        let resolved = match self.through_links(&resolved, "Terragrunt dependency", &location) {
            Ok(p) => p,
            Err(e) => {
                target.problem(e);
                return Ok(());
            }
        };
        match self.owners.of_dir(&resolved) {
            Some(owner) if owner == me => {}
            Some(owner) => target.deps.push(Dependency {
                label: self.found[owner].label.clone(),
                how: DepKind::Declared,
                origin: location,
            }),
            // A unit strata does not model (no Terraform files of its own): what it holds
            // decides what the dependency gives.
            None if self.holds_files(&resolved) => {
                self.fileset_inputs(me, &resolved, "**", target);
            }
            None => target.problem(Error::Invalid {
                message: format!(
                    "Terragrunt dependency `{path}` leads nowhere (resolved to `{resolved}`)"
                ),
                location,
                hint:
                    "`config_path` and `paths` are relative to the unit's directory; fix the path"
                        .into(),
            }),
        }
        Ok(())
    }

    /// The file `name` in the nearest directory above `dir` that holds one, as
    /// `find_in_parent_folders` finds it.
    fn in_parent_folders(&self, dir: &str, name: &str) -> Option<String> {
        let mut at = dir;
        while !at.is_empty() {
            at = parent_dir(at);
            let path = match at {
                "" => name.to_string(),
                at => format!("{at}/{name}"),
            };
            if self.snapshot.files.contains_key(path.as_str()) {
                return Some(path);
            }
        }
        None
    }
}
