//! The reads of one file of a target: file functions, paths handed to modules and providers,
//! what those may name (locals, variable defaults, globs), the templates `templatefile`
//! renders and the kustomizations a directory holds.

use super::{
    candidate_paths, candidates, join_normalized, outside_workspace, resolve_path, Builder,
    Resolved, Site, LOCAL_CHAIN_LIMIT,
};
use crate::discover::{file_name, parent_dir};
use crate::error::Location;
use crate::facts::{Facts, Parser};
use crate::hcl::{is_relative_path, DecodedLocal, HclFacts, PathBase, PathLocal};
use crate::kustomize::KUSTOMIZATION_FILES;
use crate::model::Target;
use rustc_hash::FxHashSet as HashSet;

impl Builder<'_> {
    /// The inputs the file-function calls and path arguments of one file's `facts` give
    /// the target, read at `at` (see [`Site`]); what stays unknown goes to its unresolved
    /// reads.
    pub(super) fn file_reads(&self, at: &Site, facts: &HclFacts, target: &mut Target) {
        for r in &facts.file_refs {
            if !at.mine(&r.base) {
                continue;
            }
            let location = Location::at(at.file, r.line);
            if r.is_path_argument() {
                // What a path handed to a module makes an input of the caller (see
                // `HclFacts::module_args`): for each place it may name, through locals,
                // what a read there may bring in. A path that names nothing in the
                // workspace (a file terraform writes, a path outside it) gives nothing:
                // the module decides what it does with it.
                let more = r.dynamic_tail && !r.path.ends_with('/');
                // A computed part right after a directory (`"${path.module}/${…}"`)
                // may climb out of it, as in a file function.
                let after_dir = r.dynamic_tail && (r.path.is_empty() || r.path.ends_with('/'));
                for p in candidates(&r.base, &r.path, at.dir, at.root_dir, at.locals) {
                    let p = match p {
                        Ok(p) => p,
                        // A module may read what it is handed: a path above the workspace
                        // root (`stack_config_local_path = "../../../stacks"`) is what
                        // strata cannot hash, as a file function's. (A provider's argument
                        // there is most often a file it writes.)
                        // (Words apart by spaces are prose, not a path: `"../ marks the
                        // parent"` in a description.)
                        Err((from, written))
                            if r.is_module_argument() && !written.contains(char::is_whitespace) =>
                        {
                            let from = if from.is_empty() { "." } else { from.as_str() };
                            target.problem(crate::Error::Invalid {
                                message: format!("a module argument hands over `{written}` (from `{from}`), which is above the workspace root"),
                                location: location.clone(),
                                hint: "strata hashes only files inside the workspace, so a change there could never be seen: move what the module reads into the workspace, or put the workspace's root (WORKSPACE.toml) above it".into(),
                            });
                            continue;
                        }
                        Err(_) => continue,
                    };
                    if let Ok(p) = self.through_links(&p, &r.function, &location) {
                        if let Some(e) = self.read_in_submodule(&p, &r.function, &location) {
                            target.problem(e);
                            continue;
                        }
                        self.may_read(at.me, &p, more, target);
                        if after_dir {
                            self.any_local_inputs(at.me, &p, at.locals, target);
                        }
                    }
                }
                continue;
            }
            let exact = match r.candidate {
                true => Resolved::Unknown,
                false => resolve_path(&r.base, "", at.dir, at.root_dir, at.locals),
            };
            if exact == Resolved::Unknown {
                // Where it may read: the directories of the candidate paths.
                for p in candidate_paths(&r.base, &r.path, at.dir, at.root_dir, at.locals) {
                    let Ok(p) = self.through_links(&p, "file read", &location) else {
                        continue;
                    };
                    let below = if p.is_empty() || self.holds_files(&p) {
                        p
                    } else {
                        parent_dir(&p).to_string()
                    };
                    if !below.is_empty() {
                        self.fileset_inputs(at.me, &below, "**", target);
                    }
                }
                // A candidate comes from a call already counted as unresolved.
                if !r.candidate {
                    target.unresolved.push(location);
                }
                continue;
            }
            let resolved = match exact {
                Resolved::Path(base) => match join_normalized(&base, &r.path) {
                    Some(p) => match self.through_links(&p, "file read", &location) {
                        Ok(p) => {
                            let what = format!("{}() reads", r.function);
                            if let Some(e) = self.read_in_submodule(&p, &what, &location) {
                                target.problem(e);
                                continue;
                            }
                            p
                        }
                        Err(e) => {
                            target.problem(e);
                            continue;
                        }
                    },
                    None => {
                        let shown = format!("{base}/{}", r.path.trim_start_matches('/'));
                        let what = format!("{}() reads", r.function);
                        target.problem(outside_workspace(&what, &shown, location));
                        continue;
                    }
                },
                Resolved::Unknown => {
                    target.unresolved.push(location);
                    continue;
                }
                Resolved::Outside(base) => {
                    let shown = format!("{base}{}", r.path);
                    let what = format!("{}() reads", r.function);
                    target.problem(outside_workspace(&what, &shown, location));
                    continue;
                }
            };
            if r.dynamic_tail {
                // Only a prefix is known: every file below its directory may be read.
                let below = if r.path.is_empty() || r.path.ends_with('/') {
                    resolved.as_str()
                } else {
                    parent_dir(&resolved)
                };
                if below.is_empty() || !self.fileset_inputs(at.me, below, "**", target) {
                    target.unresolved.push(location.clone());
                } else if r.function == "templatefile" {
                    self.templates_chosen_at_run_time(at, below, &resolved, target);
                }
                // A local the computed part starts with may climb out of that
                // directory (`"${path.module}/${local.rel}"`, `rel = "../x.tpl"`).
                // Any other computed part right after the directory (an element
                // `${local.files[count.index]}`, `${each.value}` of a `for_each` over a
                // local, a `for` expression's `${f}`, `${lookup(local.m, k)}`) may
                // hold any relative path a local or a variable's default of the
                // module holds.
                if below == resolved {
                    match r.tail_local.as_deref() {
                        Some(name) => {
                            self.tail_local_inputs(at.me, &resolved, name, at.locals, target)
                        }
                        None => self.any_local_inputs(at.me, &resolved, at.locals, target),
                    }
                }
            } else if r.function == "fileset" {
                let pattern = r.pattern.as_deref().unwrap_or("");
                if !self.fileset_inputs(at.me, &resolved, pattern, target) {
                    target.unresolved.push(location);
                }
            } else {
                if r.function == "templatefile" {
                    self.template_reads(at, &resolved, target, false);
                }
                // Read by name: an input even when `ignore` matches it (ignore is for
                // files no tool reads; this one is read), which leaves it out of the
                // target's own files.
                if self.owners.of_file(&resolved) != Some(at.me) || self.ignore.is_match(&resolved)
                {
                    target.extra_inputs.insert(resolved);
                }
            }
        }
        if !at.roots_only {
            target.unresolved.extend(
                facts
                    .unresolved_refs
                    .iter()
                    .map(|&l| Location::at(at.file, l)),
            );
        }
    }

    /// The reads of a `template` that `templatefile` renders, read at `at`: the file
    /// functions it calls itself (`${file("scripts/setup.sh")}`), whose relative paths are
    /// relative to the working directory. For a stack they are read as its own file's are;
    /// a module target does not know the directories its callers run in, so there they are
    /// unresolved. terraform refuses `templatefile` inside a template, so this goes one
    /// level deep.
    /// A template chosen at run time (`chosen`) that does not parse is skipped: it is an
    /// input already, and terraform cannot render it either.
    fn template_reads(&self, at: &Site, template: &str, target: &mut Target, chosen: bool) {
        if at.in_template {
            return;
        }
        let read = self
            .facts
            .read_as(Parser::Template, self.repo, self.snapshot, &[template]);
        let facts = match read {
            Ok((found, _)) => found.get(template).cloned(),
            Err(_) => None,
        };
        let Some(facts) = facts else {
            // Not in the snapshot (terraform fails on a missing template) or not a template
            // strata can read (nor can terraform): nothing strata could follow.
            if self.snapshot.files.contains_key(template) && !chosen {
                target.unresolved.push(Location::at(template, 1));
            }
            return;
        };
        let Facts::Hcl(facts) = &*facts else { return };
        if facts.file_refs.is_empty() && facts.unresolved_refs.is_empty() {
            return;
        }
        if !at.is_root || at.roots_only {
            let lines = facts.file_refs.iter().map(|r| r.line);
            let lines = lines.chain(facts.unresolved_refs.iter().copied());
            target
                .unresolved
                .extend(lines.map(|l| Location::at(template, l)));
            return;
        }
        let inside = Site {
            me: at.me,
            file: template,
            dir: at.root_dir,
            root_dir: at.root_dir,
            locals: &[],
            roots_only: false,
            is_root: true,
            in_template: true,
        };
        self.file_reads(&inside, facts, target);
    }

    /// The values a local set to a decoded file (`yamldecode(file(...))`) may hold: each
    /// relative path written in the file (see [`crate::decoded`]), as a candidate value of
    /// the local. When only a prefix of the file's path is known, each file below its
    /// directory that starts with it and is no Terraform, chart or strata file may be the
    /// one decoded. A file named through a local is found through the module's path
    /// `locals`.
    pub(super) fn decoded_values(
        &self,
        decoded: &DecodedLocal,
        dir: &str,
        root_dir: &str,
        locals: &[PathLocal],
        out: &mut Vec<PathLocal>,
    ) {
        let Resolved::Path(file) =
            resolve_path(&decoded.base, &decoded.path, dir, root_dir, locals)
        else {
            return;
        };
        let files: Vec<&str> = match decoded.prefix {
            false => vec![file.as_str()],
            true => {
                let below = match decoded.path.is_empty() || decoded.path.ends_with('/') {
                    true => file.as_str(),
                    false => parent_dir(&file),
                };
                if below.is_empty() {
                    return;
                }
                self.snapshot
                    .files_below(below)
                    .map(|(p, _)| p)
                    .filter(|p| p.starts_with(file.as_str()) && Parser::for_path(p).is_none())
                    .collect()
            }
        };
        let read = self
            .facts
            .read_as(Parser::Decoded, self.repo, self.snapshot, &files);
        let Ok((found, _)) = read else { return };
        for file in files {
            let Some(Facts::Decoded(paths)) = found.get(file).map(|f| &**f) else {
                continue;
            };
            out.extend(paths.iter().map(|path| PathLocal {
                name: decoded.name.clone(),
                base: PathBase::Root,
                path: path.clone(),
                candidate: true,
            }));
        }
    }

    /// The reads of the templates a `templatefile` whose path has a computed tail may render
    /// (`"${path.module}/templates/${var.os}.tpl"`): each file below `dir` that starts with
    /// the known `prefix` and is no Terraform, chart or strata file.
    fn templates_chosen_at_run_time(
        &self,
        at: &Site,
        dir: &str,
        prefix: &str,
        target: &mut Target,
    ) {
        let templates: Vec<&str> = self
            .snapshot
            .files_below(dir)
            .map(|(p, _)| p)
            .filter(|p| p.starts_with(prefix) && Parser::for_path(p).is_none())
            .collect();
        for template in templates {
            self.template_reads(at, template, target, true);
        }
    }

    /// What a path read as `"<dir>/${local.<name>}..."` may read when the local holds a
    /// relative path (one of its values, when it holds several): the file or the files
    /// below the directory it names from `dir`, which may lie outside `dir`.
    fn tail_local_inputs(
        &self,
        me: usize,
        dir: &str,
        name: &str,
        locals: &[PathLocal],
        target: &mut Target,
    ) {
        // The relative paths the local may hold: its own, or (`p = var.x`, a local set to
        // another local) those of what it is set to.
        fn relative<'l>(name: &str, locals: &'l [PathLocal], depth: usize, out: &mut Vec<&'l str>) {
            for l in locals.iter().filter(|l| l.name == name) {
                match &l.base {
                    PathBase::Root if is_relative_path(&l.path) => out.push(&l.path),
                    PathBase::Local(other) if l.path.is_empty() && depth < LOCAL_CHAIN_LIMIT => {
                        relative(other, locals, depth + 1, out)
                    }
                    _ => {}
                }
            }
        }
        let mut paths = Vec::new();
        relative(name, locals, 0, &mut paths);
        for path in paths {
            if let Some(p) = join_normalized(dir, path) {
                // The local may be followed by more of the path.
                self.may_read(me, &p, true, target);
            }
        }
    }

    /// What a path read as `"<dir>/${…}"` may read when its computed part is not a local
    /// on its own: the files or directories each relative path (`./`, `../`) held by any
    /// local or variable default of the module names from `dir` (see
    /// [`Self::tail_local_inputs`]). An over-approximation: which element the expression
    /// picks is not known.
    fn any_local_inputs(&self, me: usize, dir: &str, locals: &[PathLocal], target: &mut Target) {
        for l in locals {
            if matches!(l.base, PathBase::Root) && is_relative_path(&l.path) {
                if let Some(p) = join_normalized(dir, &l.path) {
                    self.may_read(me, &p, true, target);
                }
            }
        }
    }

    /// What a read of `p` may bring in: the file there, or every file below the directory
    /// there (an empty `p` is the workspace's root); when nothing is there and `more` (the
    /// path may continue: `"<p>${var.x}.json"`), every file below its directory; when
    /// nothing is there and `p` is a glob (`pattern = "${path.module}/manifests/*.yaml"`
    /// handed to a provider), every file below the directory before its first wildcard.
    pub(super) fn may_read(&self, me: usize, p: &str, more: bool, target: &mut Target) {
        if self.snapshot.files.contains_key(p) {
            if self.owners.of_file(p) != Some(me) || self.ignore.is_match(p) {
                target.extra_inputs.insert(p.to_string());
            }
            if KUSTOMIZATION_FILES.contains(&file_name(p)) {
                self.kustomization_inputs(me, parent_dir(p), target);
            }
        } else {
            let dir = if self.holds_files(p) {
                p
            } else if let Some(wildcard) = p.find(['*', '?', '[', '{']) {
                p[..wildcard].rfind('/').map_or("", |slash| &p[..slash])
            } else if more {
                parent_dir(p)
            } else {
                return;
            };
            // Every file below a directory taken whole, and what the kustomizations there
            // build from.
            if self.holds_files(dir) {
                self.fileset_inputs(me, dir, "**", target);
                self.kustomization_inputs(me, dir, target);
            }
        }
    }

    /// What the kustomizations in `dir` and below it build from (their `resources`, bases,
    /// components, patches, generator files: [`crate::kustomize`]): each file one names, and
    /// every file below each directory one names, whose own kustomizations are followed in
    /// turn, each directory once. A path that names nothing in the workspace (a remote base)
    /// gives nothing; a kustomization that does not parse leaves what it builds from
    /// unknown (an unresolved read at its first line).
    fn kustomization_inputs(&self, me: usize, dir: &str, target: &mut Target) {
        let mut visited: HashSet<String> = HashSet::default();
        let mut work = vec![dir.to_string()];
        while let Some(dir) = work.pop() {
            if !visited.insert(dir.clone()) {
                continue;
            }
            let below = if dir.is_empty() {
                String::new()
            } else {
                format!("{dir}/")
            };
            let found: Vec<&str> = self
                .snapshot
                .files
                .range(below.clone()..)
                .map(|(p, _)| p.as_str())
                .take_while(|p| p.starts_with(&below))
                .filter(|p| KUSTOMIZATION_FILES.contains(&file_name(p)))
                .collect();
            for file in found {
                let base = parent_dir(file);
                if base != dir && !visited.insert(base.to_string()) {
                    continue;
                }
                let read =
                    self.facts
                        .read_as(Parser::Kustomization, self.repo, self.snapshot, &[file]);
                let facts = read.ok().and_then(|(found, _)| found.get(file).cloned());
                let Some(Facts::Kustomization(paths)) = facts.as_deref() else {
                    target.unresolved.push(Location::at(file, 1));
                    continue;
                };
                for rel in paths {
                    let Some(p) = join_normalized(base, rel) else {
                        continue;
                    };
                    if self.snapshot.files.contains_key(&p) {
                        if self.owners.of_file(&p) != Some(me) || self.ignore.is_match(&p) {
                            target.extra_inputs.insert(p);
                        }
                    } else if self.holds_files(&p) {
                        self.fileset_inputs(me, &p, "**", target);
                        work.push(p);
                    }
                }
            }
        }
    }
}
