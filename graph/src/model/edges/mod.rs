//! Dependency edges of one target: local module sources (followed through module
//! directories that are not targets), `file()`/`templatefile()`/`fileset()` reads from
//! outside the target, `file://` chart dependencies, and the `deps` and `[inputs]` of
//! stack.toml / chart.toml.

use super::links::{self, Links};
use super::{DepKind, Dependency, Target};
use crate::discover::{
    is_terraform_file, label_dir, parent_dir, triggered_dir, Found, Kind, Owners, TRIGGERS_DIR,
};
use crate::error::{Error, Location, Result};
use crate::facts::{FactStore, Facts};
use crate::git::Repo;
use crate::hcl::{DecodedLocal, Decoding, FileRef, ModuleCall, PathBase, PathLocal, VAR_PREFIX};
use crate::manifest::TargetManifest;
use crate::snapshot::Snapshot;
use charts::chart_by_plain_name;
use globset::{GlobBuilder, GlobSet};
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

mod charts;
mod reads;
mod terragrunt;
mod tftest;

/// Joins a relative path onto a directory and normalizes `.` and `..`; `None` when it
/// climbs above the workspace root.
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

/// How many locals naming locals are followed before a path is called unresolved (a cycle,
/// which terraform itself rejects, ends there too).
pub(super) const LOCAL_CHAIN_LIMIT: usize = 16;

/// Where a path a Terraform file reads resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Resolved {
    /// A workspace path.
    Path(String),
    /// Computed at run time, or built from locals strata cannot follow.
    Unknown,
    /// Outside the workspace: an absolute path, or one that climbs above the root.
    Outside(String),
}

/// The workspace path that `path`, relative to `base`, stands for in the module at `dir`
/// whose root module is `root_dir`: `path.module`, `path.root`, or a local holding a static
/// path, following locals that are built from other locals (`"${local.dir}/x.tpl"`).
fn resolve_path(
    base: &PathBase,
    path: &str,
    dir: &str,
    root_dir: &str,
    locals: &[PathLocal],
) -> Resolved {
    let mut base = base;
    let mut parts: Vec<&str> = vec![path];
    for _ in 0..LOCAL_CHAIN_LIMIT {
        let start = match base {
            PathBase::Module => dir,
            PathBase::Root => root_dir,
            PathBase::Absolute => return Resolved::Outside(parts.iter().rev().copied().collect()),
            PathBase::Local(name) => {
                let Some(local) = locals.iter().find(|l| &l.name == name && !l.candidate) else {
                    return Resolved::Unknown;
                };
                parts.push(&local.path);
                base = &local.base;
                continue;
            }
        };
        let mut resolved = start.to_string();
        for part in parts.iter().rev() {
            match join_normalized(&resolved, part) {
                Some(p) => resolved = p,
                None => {
                    let shown: String = parts.iter().rev().copied().collect();
                    return Resolved::Outside(format!("{start}/{}", shown.trim_start_matches('/')));
                }
            }
        }
        return Resolved::Path(resolved);
    }
    Resolved::Unknown
}

/// Whether a path read from `base` is relative to the root module (`path.root`,
/// `path.cwd`, a bare relative path, or a local built on one): terraform resolves it from
/// the directory it runs in, the calling stack's, wherever the module is.
fn root_based(base: &PathBase, locals: &[PathLocal]) -> bool {
    let mut base = base;
    for _ in 0..LOCAL_CHAIN_LIMIT {
        match base {
            PathBase::Root => return true,
            PathBase::Local(name) => match locals.iter().find(|l| &l.name == name) {
                Some(local) => base = &local.base,
                None => return false,
            },
            PathBase::Module | PathBase::Absolute => return false,
        }
    }
    false
}

/// Every place a path may resolve to when a local it goes through holds one of several
/// paths (a map of paths, a `coalesce` of them): each candidate, followed through locals.
fn candidate_paths(
    base: &PathBase,
    path: &str,
    dir: &str,
    root_dir: &str,
    locals: &[PathLocal],
) -> Vec<String> {
    candidates(base, path, dir, root_dir, locals)
        .into_iter()
        .filter_map(Result::ok)
        .collect()
}

/// [`candidate_paths`], with each candidate that climbs above the workspace root as an
/// error: the directory it is read from, and the path from there (`../../../stacks`).
fn candidates(
    base: &PathBase,
    path: &str,
    dir: &str,
    root_dir: &str,
    locals: &[PathLocal],
) -> Vec<Result<String, (String, String)>> {
    fn expand<'l>(
        base: &'l PathBase,
        parts: Vec<&'l str>,
        locals: &'l [PathLocal],
        depth: usize,
        out: &mut Vec<(&'l PathBase, Vec<&'l str>)>,
    ) {
        match base {
            PathBase::Local(name) => {
                if depth >= LOCAL_CHAIN_LIMIT {
                    return;
                }
                for l in locals.iter().filter(|l| &l.name == name) {
                    let mut p = parts.clone();
                    p.push(&l.path);
                    expand(&l.base, p, locals, depth + 1, out);
                }
            }
            other => out.push((other, parts)),
        }
    }
    let mut found = Vec::new();
    expand(base, vec![path], locals, 0, &mut found);
    found
        .into_iter()
        .filter_map(|(base, parts)| {
            let start = match base {
                PathBase::Module => dir,
                PathBase::Root => root_dir,
                PathBase::Absolute | PathBase::Local(_) => return None,
            };
            let mut resolved = start.to_string();
            for part in parts.iter().rev() {
                resolved = match join_normalized(&resolved, part) {
                    Some(p) => p,
                    None => {
                        let written: Vec<&str> = parts
                            .iter()
                            .rev()
                            .flat_map(|p| p.split('/'))
                            .filter(|p| !p.is_empty())
                            .collect();
                        return Some(Err((start.to_string(), written.join("/"))));
                    }
                };
            }
            Some(Ok(resolved))
        })
        .collect()
}

/// Whether the root module's files read a variable as a path: a file read, a chart or a path
/// handed to a module that goes through `var.<name>` (directly, after a static prefix, or
/// through locals set to it), whose value a variable file may give. Most stacks read no
/// path through a local at all, and answer at once.
fn reads_a_variable_as_a_path(files: &[(String, Arc<Facts>, bool)]) -> bool {
    let hcl = || {
        files.iter().filter_map(|(_, facts, _)| match &**facts {
            Facts::Hcl(h) => Some(h),
            _ => None,
        })
    };
    // The locals (and `var.<name>`s) the reads go through.
    let mut through: Vec<&str> = Vec::new();
    for h in hcl() {
        for r in h.file_refs.iter().chain(&h.chart_refs) {
            if let PathBase::Local(n) = &r.base {
                through.push(n);
            }
            through.extend(r.tail_local.as_deref());
        }
    }
    let mut next = 0;
    // Each name is taken once, so this ends.
    while next < through.len() {
        let name = through[next];
        next += 1;
        if name.starts_with(VAR_PREFIX) {
            return true;
        }
        for h in hcl() {
            for l in h.path_locals.iter().filter(|l| l.name == name) {
                if let PathBase::Local(m) = &l.base {
                    if !through.contains(&m.as_str()) {
                        through.push(m);
                    }
                }
            }
        }
    }
    false
}

/// Whether a `chart` value is written as a local path, not a name helm may look up in a
/// repository: it starts with `./`, `../` or `/`, or is built on `path.module`, `path.root`
/// or a local.
fn written_as_path(r: &FileRef) -> bool {
    match r.base {
        PathBase::Root => {
            r.path.starts_with('/') || r.path.starts_with("./") || r.path.starts_with("../")
        }
        PathBase::Module | PathBase::Local(_) | PathBase::Absolute => true,
    }
}

fn outside_workspace(what: &str, path: &str, location: Location) -> Error {
    Error::Invalid {
        message: format!("{what} `{path}` is outside the workspace"),
        location,
        hint: "strata hashes only files inside the workspace, so a change there could never be seen: copy the files into the workspace (or vendor the module), or use a registry or git module source".into(),
    }
}

/// What edge inference needs of the snapshot being modelled.
/// Where the reads of one file are taken: the target `me`, the file and its directory,
/// the working directory terraform runs in (`root_dir`, the stack's), the path-valued
/// locals of the file's module, and which of its reads this pass handles.
pub(super) struct Site<'s> {
    me: usize,
    file: &'s str,
    dir: &'s str,
    root_dir: &'s str,
    locals: &'s [PathLocal],
    /// A stack's pass through a module target it calls: only the reads relative to the
    /// root module, which are the stack's (see `root_based`).
    roots_only: bool,
    /// The target is a stack (the root module).
    is_root: bool,
    /// The file is a template `templatefile` renders (see `Builder::template_reads`).
    in_template: bool,
}

impl Site<'_> {
    /// Whether a read from `base` is this pass's: a module target's reads relative to the
    /// root module are its callers'.
    fn mine(&self, base: &PathBase) -> bool {
        let root = root_based(base, self.locals);
        if self.roots_only {
            root
        } else {
            self.is_root || !root
        }
    }
}

pub(super) struct Builder<'a> {
    pub(super) repo: &'a Repo,
    pub(super) snapshot: &'a Snapshot,
    pub(super) facts: &'a FactStore,
    pub(super) found: &'a [Found],
    pub(super) owners: Owners<'a>,
    pub(super) ignore: GlobSet,
    /// Directories that directly hold Terraform files.
    pub(super) tf_dirs: HashSet<&'a str>,
    pub(super) links: &'a Links,
    /// For each module target directory a stack calls: whether the stack must walk it for
    /// reads relative to the root module (see `root_walk_needed`).
    pub(super) root_walks: Mutex<HashMap<String, bool>>,
    /// The paths of the workspace's git submodules (`.gitmodules`), read when first needed.
    /// The submodules `.gitmodules` lists: each one's path, its line, and the `.gitmodules`
    /// it is in (relative to the workspace).
    pub(super) submodules: std::sync::OnceLock<Vec<(String, usize, String)>>,
}

impl Builder<'_> {
    /// Module edges and outside file reads of a stack or module, following local module
    /// directories that are not targets (their files become inputs) recursively.
    /// `var_files` gives the variable files terraform loads for the stack (its own
    /// `terraform.tfvars` and `*.auto.tfvars`, the environments' tfvars for it): the paths
    /// their values may be are values of the root module's variables, as the variables'
    /// defaults are. It is asked only when the stack reads a variable as a path.
    pub(super) fn terraform_edges<'v>(
        &self,
        me: usize,
        target: &mut Target,
        parsed: &HashMap<&str, Arc<Facts>>,
        var_files: impl FnOnce(&Target) -> Vec<&'v str>,
    ) -> Result<()> {
        let root_dir = label_dir(&target.label).to_string();
        // A module's reads relative to the root module are its callers' (see `root_based`):
        // a module target leaves them to the stacks that call it, and a stack follows the
        // module targets it calls (and theirs) for those reads only.
        let is_root = target.kind == Kind::Stack;
        // (file path, facts, only its root-relative reads) to process; starts with the
        // target's own files.
        let mut work: Vec<(String, Arc<Facts>, bool)> = target
            .files
            .iter()
            .filter_map(|f| match parsed.get(f.as_str()) {
                Some(facts) if matches!(**facts, Facts::Hcl(_)) => {
                    Some((f.clone(), Arc::clone(facts), false))
                }
                _ => None,
            })
            .collect();
        // A Terragrunt unit's `terragrunt.hcl`: its module source and file reads are a
        // Terraform file's; its dependencies and configurations are edges and inputs.
        let units: Vec<(String, Arc<Facts>)> = target
            .files
            .iter()
            .filter(|f| crate::discover::file_name(f) == crate::hcl::TERRAGRUNT_UNIT_FILE)
            .filter_map(|f| Some((f.clone(), Arc::clone(parsed.get(f.as_str())?))))
            .collect();
        // A unit written in JSON, which strata does not read.
        let label_dir = crate::discover::label_dir(&target.label).to_string();
        let json_units: Vec<String> = target
            .files
            .iter()
            .filter(|f| {
                crate::discover::file_name(f) == "terragrunt.hcl.json" && parent_dir(f) == label_dir
            })
            .cloned()
            .collect();
        for f in json_units {
            target
                .unrunnable
                .push((crate::hcl::TerragruntOnly::Json, Location::new(f, None)));
        }
        for (f, facts) in units {
            if let Facts::Terragrunt(unit) = &*facts {
                work.push((f.clone(), Arc::new(Facts::Hcl(unit.hcl.clone())), false));
                for (file, calls) in self.terragrunt_edges(me, target, &f, unit)? {
                    work.push((file, Arc::new(Facts::Hcl(calls)), false));
                }
            }
        }
        let mut visited_dirs: BTreeSet<String> = BTreeSet::new();
        // Directories no target owns that were read as modules, each with whether only its
        // calls were followed: such a read takes every file below the directory, so a
        // module directory nested in one read the same way adds nothing (a chain of
        // `./d` calls would otherwise read each level's files once per level above it).
        let mut loose_dirs: Vec<(String, bool)> = Vec::new();
        let covered = |loose_dirs: &mut Vec<(String, bool)>, dir: &str, roots_only: bool| {
            let below = loose_dirs.iter().any(|(l, r)| {
                *r == roots_only
                    && (l.is_empty()
                        || dir
                            .strip_prefix(l.as_str())
                            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/')))
            });
            if !below {
                loose_dirs.push((dir.to_string(), roots_only));
            }
            below
        };
        // Path-valued locals by module directory (locals are module-wide, across files).
        let mut locals: HashMap<String, Vec<PathLocal>> = HashMap::default();
        let add_locals = |items: &[(String, Arc<Facts>, bool)],
                          locals: &mut HashMap<String, Vec<PathLocal>>| {
            for (f, h, _) in items {
                let Facts::Hcl(h) = &**h else { continue };
                let dir = parent_dir(f);
                let entry = locals.entry(dir.to_string()).or_default();
                entry.extend(h.path_locals.iter().cloned());
            }
            // A decoded file may be named through a path local of any file of the module
            // (`yamldecode(file("${local.conf}/app.yaml"))`), and its text read into a
            // local of another file (`raw = file(P)`, `yamldecode(local.raw)`): all of them
            // are known first.
            for (f, h, _) in items {
                let Facts::Hcl(h) = &**h else { continue };
                if h.decoded_locals.is_empty() {
                    continue;
                }
                let dir = parent_dir(f);
                let entry = locals.entry(dir.to_string()).or_default();
                let mut values = Vec::new();
                for decoded in &h.decoded_locals {
                    match (&decoded.kind, &decoded.base) {
                        (Decoding::Decoded, _) => {
                            self.decoded_values(decoded, dir, &root_dir, entry, &mut values)
                        }
                        (Decoding::OfLocal, PathBase::Local(of)) => {
                            let texts = items
                                .iter()
                                .filter(|(f, _, _)| parent_dir(f) == dir)
                                .filter_map(|(_, h, _)| match &**h {
                                    Facts::Hcl(h) => Some(h.decoded_locals.iter()),
                                    _ => None,
                                })
                                .flatten()
                                .filter(|d| d.kind == Decoding::Text && &d.name == of);
                            for text in texts {
                                let read = DecodedLocal {
                                    name: decoded.name.clone(),
                                    kind: Decoding::Decoded,
                                    ..text.clone()
                                };
                                self.decoded_values(&read, dir, &root_dir, entry, &mut values);
                            }
                        }
                        _ => {}
                    }
                }
                entry.extend(values);
            }
        };
        add_locals(&work, &mut locals);
        let var_files = match is_root && reads_a_variable_as_a_path(&work) {
            true => var_files(target),
            false => Vec::new(),
        };
        if !var_files.is_empty() {
            let (found, errors) =
                links::parse_through(self.facts, self.repo, self.snapshot, self.links, &var_files)?;
            for (_, error) in errors {
                // terraform fails on it too; what it names is unknown.
                target.problem(error);
            }
            let root = locals.entry(root_dir.clone()).or_default();
            for f in &var_files {
                if let Some(Facts::Hcl(h)) = found.get(f).map(|h| &**h) {
                    root.extend(h.path_locals.iter().cloned());
                }
            }
        }
        while let Some((file, facts, roots_only)) = work.pop() {
            let Facts::Hcl(facts) = &*facts else { continue };
            // `terraform test` runs a test file (in `tests/` or beside the module's files)
            // from the module's directory, with the module as the root module.
            let test_file = !roots_only && crate::hcl::is_test_file_of(&file, &root_dir);
            let dir = match test_file {
                true => root_dir.clone(),
                false => parent_dir(&file).to_string(),
            };
            for call in &facts.modules {
                let location = Location::at(file.clone(), call.line);
                if test_file {
                    self.test_module(me, target, [&dir, parent_dir(&file)], call, location);
                    continue;
                }
                if roots_only {
                    // Inside a module target the stack calls: only to find the modules it
                    // calls in turn (the module target reports its own problems).
                    let Some(resolved) = self.called_dir(&dir, call, &location) else {
                        continue;
                    };
                    if visited_dirs.insert(resolved.clone()) {
                        let more = match self.owners.of_dir(&resolved) {
                            Some(_) if !self.root_walk_needed(&resolved, parsed) => Vec::new(),
                            Some(_) => self.module_files(&resolved, parsed),
                            None if covered(&mut loose_dirs, &resolved, true) => Vec::new(),
                            None => self.loose_module(&resolved, target)?,
                        };
                        let more: Vec<_> = more.into_iter().map(|(f, h)| (f, h, true)).collect();
                        add_locals(&more, &mut locals);
                        work.extend(more);
                    }
                    continue;
                }
                if call.source.starts_with('/') || call.source.starts_with("file://") {
                    target.problem(outside_workspace("module source", &call.source, location));
                    continue;
                }
                if !call.is_local() {
                    if call.is_floating() {
                        target
                            .floating_modules
                            .push((call.source.clone(), location));
                    }
                    continue;
                }
                let Some(resolved) = join_normalized(&dir, &call.source) else {
                    target.problem(Error::Invalid {
                        message: format!(
                            "module source `{}` points outside the workspace",
                            call.source
                        ),
                        location,
                        hint: "local modules must live inside the workspace; use a registry or git source for shared code elsewhere".into(),
                    });
                    continue;
                };
                // A source through a linked directory is the directory the link leads to,
                // and the link an input: terraform reaches the module through it, and a
                // link pointed elsewhere changes the module.
                target.extra_inputs.extend(self.links.crossed(&resolved));
                let resolved = match self.through_links(&resolved, "module source", &location) {
                    Ok(p) => p,
                    Err(e) => {
                        target.problem(e);
                        continue;
                    }
                };
                if !self.tf_dirs.contains(resolved.as_str()) {
                    target.problem(Error::MissingModuleSource {
                        source_path: call.source.clone(),
                        exists: self.holds_files(&resolved),
                        submodule: self.submodule_of(&resolved),
                        resolved,
                        location,
                    });
                    continue;
                }
                match self.owners.of_dir(&resolved) {
                    Some(owner) if owner == me => {}
                    Some(owner) => {
                        target.deps.push(Dependency {
                            label: self.found[owner].label.clone(),
                            how: DepKind::Module,
                            origin: location,
                        });
                        if is_root
                            && visited_dirs.insert(resolved.clone())
                            && self.root_walk_needed(&resolved, parsed)
                        {
                            let more: Vec<_> = self
                                .module_files(&resolved, parsed)
                                .into_iter()
                                .map(|(f, h)| (f, h, true))
                                .collect();
                            add_locals(&more, &mut locals);
                            work.extend(more);
                        }
                    }
                    None => {
                        if visited_dirs.insert(resolved.clone())
                            && !covered(&mut loose_dirs, &resolved, false)
                        {
                            let more: Vec<_> = self
                                .loose_module(&resolved, target)?
                                .into_iter()
                                .map(|(f, h)| (f, h, false))
                                .collect();
                            add_locals(&more, &mut locals);
                            work.extend(more);
                        }
                    }
                }
            }
            let at = Site {
                me,
                file: &file,
                dir: &dir,
                root_dir: &root_dir,
                locals: locals.get(&dir).map(Vec::as_slice).unwrap_or_default(),
                roots_only,
                is_root: is_root || test_file,
                in_template: false,
            };
            self.chart_reads(&at, facts, target);
            self.file_reads(&at, facts, target);
        }
        target.unresolved.sort();
        target.unresolved.dedup();
        Ok(())
    }

    /// The directory with Terraform files a local module call in `dir` leads to, through
    /// links; `None` for a remote source or one that leads nowhere (the calling target
    /// reports those as its problems).
    fn called_dir(&self, dir: &str, call: &ModuleCall, location: &Location) -> Option<String> {
        join_normalized(dir, &call.source)
            .filter(|_| call.is_local() && !call.source.starts_with('/'))
            .and_then(|p| self.through_links(&p, "module source", location).ok())
            .filter(|p| self.tf_dirs.contains(p.as_str()))
    }

    /// Whether a stack calling the module target in `dir` has anything to find by walking it
    /// for reads relative to the root module: the module's files make such a read, or call
    /// a local module directory no target owns (whose files the walk makes inputs), or call
    /// a module target for which this holds, at any depth. It is the same for every caller,
    /// so it is worked out once per directory: most modules make no such read, and walking
    /// them again for each of thousands of stacks cost more than the rest of the edges.
    fn root_walk_needed(&self, dir: &str, parsed: &HashMap<&str, Arc<Facts>>) -> bool {
        self.root_walk_of(dir, parsed, &mut Vec::new()).0
    }

    /// `root_walk_needed`, and whether the answer is certain: a cycle of module calls
    /// answers "walk" without looking further, and is not remembered.
    fn root_walk_of(
        &self,
        dir: &str,
        parsed: &HashMap<&str, Arc<Facts>>,
        path: &mut Vec<String>,
    ) -> (bool, bool) {
        let known = self
            .root_walks
            .lock()
            .ok()
            .and_then(|m| m.get(dir).copied());
        if let Some(needed) = known {
            return (needed, true);
        }
        if path.iter().any(|p| p == dir) {
            return (true, false);
        }
        let files = self.module_files(dir, parsed);
        let hcl = || {
            files.iter().filter_map(|(f, h)| match &**h {
                Facts::Hcl(h) => Some((f, h)),
                _ => None,
            })
        };
        let locals: Vec<PathLocal> = hcl()
            .flat_map(|(_, h)| h.path_locals.iter().cloned())
            .collect();
        let mut needed = hcl().any(|(_, h)| {
            h.file_refs
                .iter()
                .chain(&h.chart_refs)
                .any(|r| root_based(&r.base, &locals))
                || h.chart_refs.iter().any(|r| chart_by_plain_name(r, &locals))
        });
        let mut certain = true;
        if !needed {
            path.push(dir.to_string());
            'calls: for (file, h) in hcl() {
                for call in &h.modules {
                    // Resolved as the walk resolves it: what it skips is skipped here too.
                    let location = Location::at(file.clone(), call.line);
                    let Some(resolved) = self.called_dir(dir, call, &location) else {
                        continue;
                    };
                    let (more, sure) = match self.owners.of_dir(&resolved) {
                        None => (true, true),
                        Some(_) => self.root_walk_of(&resolved, parsed, path),
                    };
                    certain &= sure;
                    if more {
                        needed = true;
                        break 'calls;
                    }
                }
            }
            path.pop();
        }
        if certain {
            if let Ok(mut walks) = self.root_walks.lock() {
                walks.insert(dir.to_string(), needed);
            }
        }
        (needed, certain)
    }

    /// The git submodule `path` lies in, by the `path = ...` lines of the workspace's
    /// `.gitmodules` (a submodule's files are not in the tree strata reads).
    fn submodule_of(&self, path: &str) -> Option<String> {
        self.submodules()
            .iter()
            .find(|(sub, _, _)| {
                path.strip_prefix(sub.as_str())
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
            })
            .map(|(sub, _, _)| sub.clone())
    }

    /// The workspace's git submodules, by the `path` settings of its `.gitmodules` (read as
    /// git reads its configuration files), each with its line there: those at which the
    /// tree strata reads has a submodule's commit (an entry left behind by a removed
    /// submodule names none).
    pub(super) fn submodules(&self) -> &[(String, usize, String)] {
        self.submodules.get_or_init(|| {
            // A workspace in a subdirectory: git keeps `.gitmodules` at the repository's
            // top level, with paths from there.
            let prefix = self.repo.prefix();
            if !prefix.is_empty() {
                let Some(text) = self.repo.top_gitmodules(&self.snapshot.source) else {
                    return Vec::new();
                };
                let up = "../".repeat(prefix.split('/').filter(|p| !p.is_empty()).count());
                let file = format!("{up}.gitmodules");
                let listed: Vec<(String, usize)> = gitmodules_paths(&text)
                    .into_iter()
                    .filter_map(|(p, n)| Some((p.strip_prefix(prefix)?.to_string(), n)))
                    .collect();
                return self.confirmed(listed, &file);
            }
            let Ok(read) =
                self.snapshot
                    .map_contents(self.repo, &[".gitmodules"], |_, bytes, _| {
                        String::from_utf8_lossy(bytes).into_owned()
                    })
            else {
                return Vec::new();
            };
            let Some((_, text)) = read.into_iter().next() else {
                return Vec::new();
            };
            self.confirmed(gitmodules_paths(&text), ".gitmodules")
        })
    }

    /// Of the submodule paths `.gitmodules` lists (workspace-relative, with their lines in
    /// `file`), those at which the tree has a submodule's commit.
    fn confirmed(&self, listed: Vec<(String, usize)>, file: &str) -> Vec<(String, usize, String)> {
        if listed.is_empty() {
            return Vec::new();
        }
        let paths: Vec<&str> = listed.iter().map(|(p, _)| p.as_str()).collect();
        // Unconfirmed (git failed): every listed path counts, the careful answer.
        let linked = self.repo.gitlinks(&self.snapshot.source, &paths).ok();
        listed
            .into_iter()
            .filter(|(p, _)| linked.as_ref().is_none_or(|l| l.contains(p)))
            .map(|(p, n)| (p, n, file.to_string()))
            .collect()
    }

    /// A read of `path` that lands in a git submodule: its files are not in the tree strata
    /// reads, so a new commit of the submodule would change what terraform reads unseen.
    /// `None` when the path is a file or a directory of the workspace's own tree.
    fn read_in_submodule(&self, path: &str, what: &str, location: &Location) -> Option<Error> {
        if self.snapshot.files.contains_key(path) || self.holds_files(path) {
            return None;
        }
        let submodule = self.submodule_of(path)?;
        Some(Error::Invalid {
            message: format!(
                "{what} `{path}`, inside the git submodule `{submodule}`, whose files strata does not see: a new commit of the submodule would change what terraform reads unnoticed"
            ),
            location: location.clone(),
            hint: "commit the files it reads into this repository instead of a submodule, or read them through a module whose source is a git URL at a fixed ref".into(),
        })
    }

    /// Whether any file of the snapshot lies below `dir`.
    fn holds_files(&self, dir: &str) -> bool {
        self.snapshot.files_below(dir).next().is_some()
    }

    /// The facts of the Terraform files of a module directory another target owns (its
    /// files directly in that directory), in path order.
    fn module_files(
        &self,
        dir: &str,
        parsed: &HashMap<&str, Arc<Facts>>,
    ) -> Vec<(String, Arc<Facts>)> {
        self.snapshot
            .files_below(dir)
            .filter(|(p, below)| !below.contains('/') && is_terraform_file(p))
            .map(|(p, _)| p)
            .filter_map(|p| match parsed.get(p) {
                Some(facts) if matches!(**facts, Facts::Hcl(_)) => {
                    Some((p.to_string(), Arc::clone(facts)))
                }
                _ => None,
            })
            .collect()
    }

    /// A local module directory that no target owns: all its files are inputs of the caller;
    /// returns its Terraform files' facts to follow.
    fn loose_module(&self, dir: &str, target: &mut Target) -> Result<Vec<(String, Arc<Facts>)>> {
        // The workspace root (`source = "../.."` from `examples/x`) holds every path.
        let files: Vec<&str> = self
            .snapshot
            .files_below(dir)
            .map(|(p, _)| p)
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
        let (facts, errors) =
            links::parse_through(self.facts, self.repo, self.snapshot, self.links, &tf)?;
        for (_, e) in errors {
            target.problem(e);
        }
        self.follow_links(usize::MAX, target, Some(&files));
        let mut out: Vec<(String, Arc<Facts>)> = facts
            .into_iter()
            .filter(|(_, f)| matches!(**f, Facts::Hcl(_)))
            .map(|(p, f)| (p.to_string(), f))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// A workspace path with linked directories resolved; an error naming `what` at
    /// `location` when it leads outside the workspace.
    fn through_links(&self, path: &str, what: &str, location: &Location) -> Result<String> {
        match self.links.resolve(path) {
            links::Resolved::Inside(p) => Ok(p),
            links::Resolved::Loop => Err(loop_of_links(path, location.clone())),
            links::Resolved::Outside(to) => Err(outside_workspace(
                &format!("{what} `{path}` passes through a link to"),
                &to,
                location.clone(),
            )),
        }
    }

    /// Where the links among `files` (the target's own files when `None`) point becomes
    /// an input of the target: a file, or every file below a directory (see `links`).
    pub(super) fn follow_links(&self, me: usize, target: &mut Target, files: Option<&[&str]>) {
        self.follow_links_at(me, target, files, 0);
    }

    /// [`Builder::follow_links`], `depth` links deep: a directory a link leads to may hold
    /// links in turn (followed up to [`LOCAL_CHAIN_LIMIT`] deep, so a loop of links ends).
    /// Only the target's own links (`depth` 0) that lead nowhere it can track (outside the
    /// workspace, a loop) are its problems; such a link met inside a directory read as a
    /// whole is an input itself, and nothing more.
    fn follow_links_at(
        &self,
        me: usize,
        target: &mut Target,
        files: Option<&[&str]>,
        depth: usize,
    ) {
        if self.links.is_empty() || depth > LOCAL_CHAIN_LIMIT {
            return;
        }
        let own: Vec<String>;
        let files: Vec<&str> = match files {
            Some(f) => f.to_vec(),
            None => {
                own = target.files.clone();
                own.iter().map(String::as_str).collect()
            }
        };
        for f in files.into_iter().filter(|f| self.links.is_link(f)) {
            match self.links.resolve(f) {
                links::Resolved::Outside(_) | links::Resolved::Loop if depth > 0 => {}
                links::Resolved::Loop => target.problem(loop_of_links(f, Location::new(f, None))),
                links::Resolved::Outside(to) => target.problem(Error::Invalid {
                    message: format!("`{f}` is a link to `{to}`, outside the workspace"),
                    location: Location::new(f, None),
                    hint: "strata hashes only files inside the workspace, so a change there could never be seen: copy the file into the workspace or point the link inside it".into(),
                }),
                links::Resolved::Inside(to) => {
                    // The links on the way past the first (`out.tf -> ../../shared/mid/out.tf`,
                    // `shared/mid -> tf`): the sandbox needs them to reach `to` the same way.
                    for crossed in self.links.crossed(f) {
                        if crossed != f && self.owners.of_file(&crossed) != Some(me) {
                            target.extra_inputs.insert(crossed);
                        }
                    }
                    let is_dir = self.holds_files(&to);
                    if self.snapshot.files.contains_key(to.as_str()) {
                        if self.owners.of_file(&to) != Some(me) {
                            target.extra_inputs.insert(to);
                        }
                    } else if is_dir {
                        self.fileset_inputs_at(me, &to, "**", target, depth + 1);
                    } else {
                        // A link to nothing yet: creating it changes the target's hash.
                        target.extra_inputs.insert(to);
                    }
                }
            }
        }
    }

    /// `extra_inputs` of a marker file: each glob's literal leading directories are
    /// resolved against the target's directory, the rest matched below them.
    pub(super) fn declared_inputs(
        &self,
        me: usize,
        target: &mut Target,
        globs: &[(String, usize)],
        manifest: &str,
    ) {
        for (glob, line) in globs {
            let is_glob = |part: &str| part.contains(['*', '?', '[', '{']);
            let parts: Vec<&str> = glob.split('/').collect();
            let literal = parts.iter().take_while(|p| !is_glob(p)).count();
            let (dir_parts, pattern) = if literal == parts.len() {
                (
                    &parts[..parts.len() - 1],
                    parts[parts.len() - 1..].join("/"),
                )
            } else {
                (&parts[..literal], parts[literal..].join("/"))
            };
            let dir = join_normalized(label_dir(&target.label), &dir_parts.join("/"));
            let valid = GlobBuilder::new(&pattern)
                .literal_separator(true)
                .build()
                .is_ok();
            let (Some(dir), true) = (dir, valid && !glob.starts_with('/')) else {
                target.problem(Error::Invalid {
                    message: format!("`extra_inputs` entry `{glob}` is not a glob inside the workspace"),
                    location: Location::at(manifest, *line),
                    hint: "write globs relative to the target's directory, e.g. `../../shared/templates/*.tpl`".into(),
                });
                continue;
            };
            // A glob that matches nothing declares nothing: a typo would otherwise stand in
            // for the read it was meant to resolve, and a change to that file affect nothing.
            if self.fileset_inputs_at(me, &dir, &pattern, target, 0) == Some(0) {
                target.problem(Error::Invalid {
                    message: format!("`extra_inputs` entry `{glob}` matches no file in the repository"),
                    location: Location::at(manifest, *line),
                    hint: "fix the path (relative to the target's directory, e.g. `../../shared/templates/*.tpl`), or remove the entry".into(),
                });
            }
        }
        target.declares_inputs = !globs.is_empty();
    }

    /// Terramate's stack triggers (`terramate trigger DIR` writes
    /// `.tmtriggers/DIR/changed-<uuid>.tm.hcl`, committed to re-run a stack whose code did
    /// not change): the files directly in the target's directory under `.tmtriggers/` are
    /// inputs, so adding one affects the target and changes its hash. `ignore-change-*`
    /// triggers (which hide a change from Terramate) are not: strata never hides a change.
    pub(crate) fn trigger_inputs(&self, target: &mut Target) {
        let dir = label_dir(&target.label);
        let below = match dir {
            "" => TRIGGERS_DIR.to_string(),
            dir => format!("{TRIGGERS_DIR}/{dir}"),
        };
        for (path, _) in self.snapshot.files_below(&below) {
            if triggered_dir(path) == Some(dir) {
                target.extra_inputs.insert(path.to_string());
            }
        }
    }

    /// Files below `dir` matching `pattern` become inputs; `false` when the pattern is not
    /// a valid glob (the read is then unresolved).
    fn fileset_inputs(&self, me: usize, dir: &str, pattern: &str, target: &mut Target) -> bool {
        self.fileset_inputs_at(me, dir, pattern, target, 0)
            .is_some()
    }

    /// [`Builder::fileset_inputs`], `depth` links deep: a link among the files read brings in
    /// what it points to (terraform and helm read through links), as a target's own links do.
    /// How many files matched; `None` when the pattern is no valid glob.
    fn fileset_inputs_at(
        &self,
        me: usize,
        dir: &str,
        pattern: &str,
        target: &mut Target,
        depth: usize,
    ) -> Option<usize> {
        // Terraform globs the path and the pattern joined and cleaned (`filepath.Join`):
        // `fileset(path.module, "../shared/*.json")` reads `<module>/../shared`. The
        // literal directories at the front of the clean pattern are the base searched.
        let joined = if dir.is_empty() {
            pattern.to_string()
        } else {
            format!("{dir}/{pattern}")
        };
        let mut parts: Vec<&str> = Vec::new();
        for part in joined.split('/') {
            match part {
                "" | "." => {}
                ".." => {
                    // Outside the repository: not an input strata can track.
                    parts.pop()?;
                }
                part => parts.push(part),
            }
        }
        let literal = parts
            .iter()
            .take_while(|p| !p.contains(['*', '?', '[', '{']))
            .count()
            .min(parts.len().saturating_sub(1));
        let dir = parts[..literal].join("/");
        let pattern = parts[literal..].join("/");
        if pattern.is_empty() {
            return None;
        }
        // Everything below the directory (a unit depended on, `fileset(dir, "**")`) needs no
        // matcher: compiling one per call was most of the time of a model with many.
        let glob = match pattern.as_str() {
            "**" => None,
            _ => match GlobBuilder::new(&pattern).literal_separator(true).build() {
                Ok(glob) => Some(glob.compile_matcher()),
                Err(_) => return None,
            },
        };
        let mut matched = 0;
        // The directory itself is an input marker: a new matching file changes the set.
        let mut links: Vec<&str> = Vec::new();
        for (path, below) in self.snapshot.files_below(&dir) {
            if glob.as_ref().is_some_and(|g| !g.is_match(below)) {
                continue;
            }
            matched += 1;
            // A file `ignore` matches is read all the same (and is not among the target's
            // own files, even inside its directory).
            if self.owners.of_file(path) != Some(me) || self.ignore.is_match(path) {
                target.extra_inputs.insert(path.to_string());
            }
            if !self.links.is_empty() && self.links.is_link(path) {
                links.push(path);
            }
        }
        if !links.is_empty() {
            self.follow_links_at(me, target, Some(&links), depth + 1);
        }
        Some(matched)
    }
}

/// The problem of a path that passes through links leading to each other without end
/// (every tool reading it fails).
fn loop_of_links(path: &str, location: Location) -> Error {
    Error::Invalid {
        message: format!("`{path}` passes through a loop of links"),
        location,
        hint: "point one of the links at a file or directory that is not a link back".into(),
    }
}

pub(super) fn apply_manifest(
    target: &mut Target,
    m: &TargetManifest,
    path: &str,
    labels: &HashMap<&str, usize>,
    found: &[Found],
    env_names: &[String],
) {
    let near = |label: &str| {
        let known: Vec<&str> = labels.keys().copied().collect();
        crate::error::did_you_mean(label, &known)
    };
    for (label, line) in &m.deps {
        if !labels.contains_key(label.as_str()) {
            target.problem(Error::UnknownLabel {
                from: format!("{} `{}`", target.kind, target.label),
                label: label.clone(),
                location: Location::at(path, *line),
                suggestion: near(label),
            });
            continue;
        }
        target.deps.push(Dependency {
            label: label.clone(),
            how: DepKind::Declared,
            origin: Location::at(path, *line),
        });
    }
    for input in &m.inputs {
        let Some(&i) = labels.get(input.label.as_str()) else {
            target.problem(Error::UnknownLabel {
                from: format!("input `{}` of `{}`", input.variable, target.label),
                label: input.label.clone(),
                location: Location::at(path, input.line),
                suggestion: near(&input.label),
            });
            continue;
        };
        if found[i].kind != Kind::Stack {
            target.problem(Error::Invalid {
                message: format!(
                    "input `{}` reads `{}`, a {}; only stacks have outputs",
                    input.variable, input.label, found[i].kind
                ),
                location: Location::at(path, input.line),
                hint: "point the input at a stack's output: `var = \"stacks/<name>:<output>\"`"
                    .into(),
            });
            continue;
        }
        target.deps.push(Dependency {
            label: input.label.clone(),
            how: DepKind::Input,
            origin: Location::at(path, input.line),
        });
        target.inputs.push(input.clone());
    }
    target.environments = match &m.environments {
        // A module deploys nowhere: its marker decides its kind only.
        _ if !target.kind.is_deployable() => {
            if let Some((_, line)) = m.environments.iter().flatten().next() {
                target.problem(Error::Invalid {
                    message: format!(
                        "`environments` in a {}'s manifest: a {} deploys nowhere (the stacks and charts that use it do)",
                        target.kind, target.kind
                    ),
                    location: Location::at(path, *line),
                    hint: "remove `environments`; list them in the stack.toml or chart.toml of what uses it".into(),
                });
            }
            Vec::new()
        }
        None => env_names.to_vec(),
        Some(envs) => {
            let mut out = Vec::new();
            for (env, line) in envs {
                if env_names.contains(env) {
                    out.push(env.clone());
                    continue;
                }
                let known = if env_names.is_empty() {
                    "none found".to_string()
                } else {
                    env_names.join(", ")
                };
                target.problem(Error::Invalid {
                    message: format!("environment `{env}` does not exist"),
                    location: Location::at(path, *line),
                    hint: crate::error::did_you_mean(env, env_names).unwrap_or_else(|| {
                        format!("environments are directories holding env.toml under environments/: {known}")
                    }),
                });
            }
            out
        }
    };
}

/// The `path` values of a `.gitmodules` text with their lines, read as git reads its
/// configuration files: keys in any case, values quoted or not, `;` and `#` comments.
fn gitmodules_paths(text: &str) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    for (line, n) in text.lines().zip(1..) {
        let line = line.trim_start();
        if line.starts_with(['#', ';', '[']) {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        if !key.trim().eq_ignore_ascii_case("path") {
            continue;
        }
        let mut path = String::new();
        let (mut quoted, mut escaped) = (false, false);
        // Whitespace outside quotes counts only between other characters.
        let mut pending_space = String::new();
        for c in value.trim().chars() {
            if escaped {
                path.push_str(&pending_space);
                pending_space.clear();
                path.push(match c {
                    'n' => '\n',
                    't' => '\t',
                    other => other,
                });
                escaped = false;
                continue;
            }
            match c {
                '\\' => escaped = true,
                '"' => quoted = !quoted,
                ';' | '#' if !quoted => break,
                c if c.is_whitespace() && !quoted => pending_space.push(c),
                c => {
                    path.push_str(&pending_space);
                    pending_space.clear();
                    path.push(c);
                }
            }
        }
        let path = path.trim_end_matches('/');
        if !path.is_empty() {
            out.push((path.to_string(), n));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn gitmodules_paths_are_read_as_git_reads_them() {
        let text = "[submodule \"a\"]\n\tpath = charts/a\n\turl = x\n[submodule \"b\"]\n\tPath = \"charts/b c\"\n[submodule \"c\"]\n\tpath=charts/c ; a comment\n# path = charts/d\n\tpath = \"charts/e\\\"q\" # note\n\tpath = charts/f/\n";
        assert_eq!(
            super::gitmodules_paths(text),
            [
                ("charts/a".to_string(), 2),
                ("charts/b c".to_string(), 5),
                ("charts/c".to_string(), 7),
                ("charts/e\"q".to_string(), 9),
                ("charts/f".to_string(), 10),
            ]
        );
    }

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
