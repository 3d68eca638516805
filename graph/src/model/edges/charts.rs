//! The chart rules of the edges: which charts a `helm_release` may deploy (through
//! candidates and plain names) and a chart target's own dependencies (declared `file://`
//! dependencies and vendored subcharts).

use super::{join_normalized, Builder};
use crate::chart::{CHART_FILE, REQUIREMENTS_FILE};
use crate::discover::{in_dir, label_dir, Kind};
use crate::error::{Error, Location};
use crate::facts::Facts;
use crate::hcl::{FileRef, PathLocal};
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
        target: &mut Target,
        parsed: &HashMap<&str, Arc<Facts>>,
    ) {
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
