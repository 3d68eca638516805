//! The chart rules of the edges: which charts a `helm_release` may deploy (through
//! candidates and plain names) and a chart target's own dependencies (declared `file://`
//! dependencies and vendored subcharts).

use super::{
    candidate_paths, join_normalized, outside_workspace, resolve_path, written_as_path, Builder,
    Resolved, Site,
};
use crate::chart::{CHART_FILE, REQUIREMENTS_FILE};
use crate::discover::parent_dir;
use crate::discover::{in_dir, label_dir, Kind};
use crate::error::{Error, Location};
use crate::facts::Facts;
use crate::hcl::{FileRef, HclFacts, PathLocal};
use crate::model::{DepKind, Dependency, Target};
use rustc_hash::FxHashMap as HashMap;
use std::sync::Arc;

/// Whether a `chart` is a variable that holds no path strata knows (`chart = var.chart`,
/// default `"nginx"` or none): a plain name, which helm looks up in the working directory
/// (see `Builder::charts_below`).
pub(super) fn chart_by_plain_name(r: &FileRef, locals: &[PathLocal]) -> bool {
    r.candidate
        && r.base
            .variable()
            .is_some_and(|n| !locals.iter().any(|l| l.name == n))
}

impl Builder<'_> {
    /// The edges and inputs the `chart` of each `helm_release` (or helm-release wrapper
    /// module) of one file's `facts` gives the target, read at `at` (see [`Site`]): a chart
    /// target is a dependency, a packaged chart or a directory that is no chart gives
    /// inputs, a chart path that leads nowhere is a problem.
    pub(super) fn chart_reads(&self, at: &Site, facts: &HclFacts, target: &mut Target) {
        for r in &facts.chart_refs {
            // A plain name names a directory of the working directory, the calling
            // stack's: its pass through the module looks there too.
            let plain_for_caller = at.roots_only && chart_by_plain_name(r, at.locals);
            if !(at.mine(&r.base) || plain_for_caller) {
                continue;
            }
            let location = Location::at(at.file, r.line);
            if r.candidate {
                let paths = candidate_paths(&r.base, &r.path, at.dir, at.root_dir, at.locals);
                // `chart = var.chart` with no path among what the variable may hold: a
                // plain name (a default `"nginx"`, or a value given at run time), which
                // helm loads from a directory of that name in the working directory when
                // one is there.
                let plain_name = paths.is_empty() && r.base.variable().is_some();
                self.chart_candidates(at.me, at.root_dir, paths, plain_name, &location, target);
                continue;
            }
            match resolve_path(&r.base, &r.path, at.dir, at.root_dir, at.locals) {
                Resolved::Unknown => {
                    // Through a local that holds one of several values (a variable's
                    // default, a choice): each chart it may name.
                    let paths = candidate_paths(&r.base, &r.path, at.dir, at.root_dir, at.locals);
                    self.chart_candidates(at.me, at.root_dir, paths, false, &location, target);
                    target.unresolved.push(location)
                }
                Resolved::Outside(path) => {
                    target.problem(outside_workspace("helm_release chart", &path, location))
                }
                Resolved::Path(resolved) => {
                    let below = if r.dynamic_tail && !r.path.ends_with('/') {
                        parent_dir(&resolved).to_string()
                    } else {
                        resolved
                    };
                    // helm loads a chart through a linked directory as from the directory
                    // (the link is an input: the run reaches the chart through it).
                    target.extra_inputs.extend(self.links.crossed(&below));
                    let below = match self.through_links(&below, "helm_release chart", &location) {
                        Ok(p) => p,
                        Err(e) => {
                            target.problem(e);
                            continue;
                        }
                    };
                    let chart = self
                        .owners
                        .exact(&below)
                        .filter(|&o| o != at.me && self.found[o].kind == Kind::Chart);
                    match chart {
                        Some(o) if !r.dynamic_tail => target.deps.push(self.chart_dep(o, location)),
                        // A packaged chart (`x-1.0.tgz`).
                        _ if self.snapshot.files.contains_key(below.as_str()) => {
                            if self.owners.of_file(&below) != Some(at.me) {
                                target.extra_inputs.insert(below);
                            }
                        }
                        // Only a path written as one (`./`, `../`, `path.module`, a local
                        // holding a path): a plain name where no directory is is a remote
                        // chart (`"nginx"` with a `repository`, `"bitnami/nginx"`).
                        _ if !r.dynamic_tail && written_as_path(r) && !self.holds_files(&below) => {
                            // terraform fails on a chart path where nothing is (a chart
                            // deleted or moved): the target is broken, as with a
                            // module source that leads nowhere.
                            target.problem(Error::Invalid {
                                message: format!(
                                    "helm_release chart leads to `{below}`, where there is no chart"
                                ),
                                location,
                                hint:
                                    "point `chart` at the chart's directory, or restore the chart"
                                        .into(),
                            });
                        }
                        _ => {
                            if below.is_empty() || !self.fileset_inputs(at.me, &below, "**", target)
                            {
                                target.unresolved.push(location);
                            }
                        }
                    }
                }
            }
        }
    }

    /// The edge to the chart target `o`, written at `origin`.
    pub(super) fn chart_dep(&self, o: usize, origin: Location) -> Dependency {
        Dependency {
            label: self.found[o].label.clone(),
            how: DepKind::Chart,
            origin,
        }
    }

    /// The charts a `chart` may deploy when it is one of several values (a choice, or a
    /// local holding one): for each of the `paths` it may name (its candidates, through
    /// locals), a chart there is a dependency, other files there are inputs; a candidate
    /// that leads outside the workspace or to nothing is not chosen (terraform would fail
    /// on it). The working directory `root_dir` among them is a value strata does not
    /// know (a variable file's value that is not kept), as is a `plain_name`: every chart below
    /// the working directory may be the one.
    pub(super) fn chart_candidates(
        &self,
        me: usize,
        root_dir: &str,
        mut paths: Vec<String>,
        plain_name: bool,
        location: &Location,
        target: &mut Target,
    ) {
        let before = paths.len();
        paths.retain(|p| p != root_dir);
        if plain_name || paths.len() != before {
            self.charts_below(me, root_dir, location, target);
        }
        for resolved in paths {
            let chart = self
                .owners
                .exact(&resolved)
                .filter(|&o| o != me && self.found[o].kind == Kind::Chart);
            match chart {
                Some(o) => target.deps.push(self.chart_dep(o, location.clone())),
                // A packaged chart (`x-1.0.tgz`) of another target.
                None if self.snapshot.files.contains_key(resolved.as_str())
                    && self.owners.of_file(&resolved) != Some(me) =>
                {
                    target.extra_inputs.insert(resolved);
                }
                None if self.snapshot.files.contains_key(resolved.as_str()) => {}
                None if !resolved.is_empty() && self.holds_files(&resolved) => {
                    self.fileset_inputs(me, &resolved, "**", target);
                }
                None => {}
            }
        }
    }

    /// The charts a name strata does not know may name from the working directory
    /// `root_dir` (a plain `"nginx"`, or `"charts/web"` from a variable file): every chart
    /// target below it is a dependency (an over-approximation when the name is a remote
    /// chart's).
    fn charts_below(&self, me: usize, root_dir: &str, location: &Location, target: &mut Target) {
        let children = self
            .snapshot
            .files_below(root_dir)
            .filter_map(|(_, below)| below.strip_suffix(CHART_FILE))
            .filter_map(|name| name.strip_suffix('/'))
            .filter(|name| !name.is_empty());
        for name in children {
            let dir = in_dir(root_dir, name);
            if let Some(o) = self
                .owners
                .exact(&dir)
                .filter(|&o| o != me && self.found[o].kind == Kind::Chart)
            {
                target.deps.push(self.chart_dep(o, location.clone()));
            }
        }
    }

    pub(in crate::model) fn chart_edges(
        &self,
        me: usize,
        target: &mut Target,
        parsed: &HashMap<&str, Arc<Facts>>,
    ) {
        // helm packages every file below the chart's directory (its `.helmignore`, an input,
        // is applied by helm itself), and `.Files.Get` reads any of them: a file `ignore`
        // matches, and the files of a target nested in the chart (an example chart, a
        // test stack), are the chart's inputs too.
        // A chart at the workspace root packages the whole workspace (less its
        // `.helmignore`): every file is its input.
        let dir = label_dir(&target.label).to_string();
        self.fileset_inputs(me, &dir, "**", target);
        // A git submodule below the chart is packaged with it (a subchart vendored as a
        // submodule is rendered into the chart), but its files are not in the tree strata
        // reads: a new commit of it would change what the chart renders unseen.
        for (submodule, line, gitmodules) in self.submodules() {
            let inside = dir.is_empty()
                || submodule
                    .strip_prefix(dir.as_str())
                    .is_some_and(|rest| rest.starts_with('/'));
            if inside {
                target.problem(Error::Invalid {
                    message: format!(
                        "the git submodule `{submodule}` lies inside chart `{}`: helm packages its files, which strata does not see, so a new commit of the submodule would change what the chart renders unnoticed",
                        target.label
                    ),
                    location: Location::at(gitmodules.as_str(), *line),
                    hint: "vendor the subchart's files into this repository, or declare it as a dependency in Chart.yaml fetched from a chart repository at a fixed version".into(),
                });
            }
        }
        let chart_file = in_dir(&target.label, CHART_FILE);
        let Some(Facts::Chart(chart)) = parsed.get(chart_file.as_str()).map(|f| &**f) else {
            return;
        };
        let requirements_file = in_dir(&target.label, REQUIREMENTS_FILE);
        let requirements = match parsed.get(requirements_file.as_str()).map(|f| &**f) {
            Some(Facts::Requirements(deps)) => deps.as_slice(),
            _ => &[],
        };
        let declared = chart
            .dependencies
            .iter()
            .map(|d| (&chart_file, d))
            .chain(requirements.iter().map(|d| (&requirements_file, d)));
        for (file, dep) in declared {
            let Some(path) = dep.local_path() else {
                continue;
            };
            let location = Location::at(file.clone(), dep.line);
            let resolved = join_normalized(label_dir(&target.label), path);
            // A dependency through a linked directory is the chart the link leads to (and
            // the link an input: `helm dependency build` reaches the chart through it).
            if let Some(r) = &resolved {
                target.extra_inputs.extend(self.links.crossed(r));
            }
            let resolved =
                match resolved.map(|r| self.through_links(&r, "chart dependency", &location)) {
                    Some(Err(e)) => {
                        target.problem(e);
                        continue;
                    }
                    other => other.and_then(|r| r.ok()),
                };
            let owner = resolved
                .as_deref()
                .and_then(|r| self.owners.exact(r))
                .filter(|&o| self.found[o].kind == Kind::Chart);
            match owner {
                Some(o) => target.deps.push(self.chart_dep(o, location)),
                None => target.problem(Error::Invalid {
                    message: format!(
                        "chart dependency `{}` ({}) is not a chart in this workspace",
                        dep.name, dep.repository
                    ),
                    location,
                    hint: "a file:// repository is a path relative to the chart directory, to a directory holding Chart.yaml".into(),
                }),
            }
        }
        // Charts vendored in `charts/` are rendered into this one, declared or not.
        let vendored = in_dir(&target.label, "charts/");
        // `found` is sorted by label: the candidates are one run of it.
        let first = self
            .found
            .partition_point(|f| f.label.as_str() < vendored.as_str());
        let below = self.found[first..]
            .iter()
            .enumerate()
            .take_while(|(_, f)| f.label.starts_with(&vendored));
        for (k, found) in below {
            let o = first + k;
            let nested = !found.label[vendored.len()..].contains('/');
            if nested && found.kind == Kind::Chart {
                target
                    .deps
                    .push(self.chart_dep(o, Location::new(in_dir(&found.label, CHART_FILE), None)));
            }
        }
        let mut chart = chart.clone();
        chart.dependencies.extend(requirements.iter().cloned());
        target.chart = Some(chart);
    }
}
