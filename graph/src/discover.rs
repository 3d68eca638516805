//! Finds targets in a snapshot's file list and decides which target owns each file.
//!
//! Where targets live is the workspace's `[layout]` (see docs/configuration.md):
//! - each kind has globs naming directories; a directory is a target of that kind when a
//!   glob matches it and it holds the kind's files itself (`*.tf`/`*.tf.json`, and OpenTofu's
//!   `*.tofu`/`*.tofu.json`, for stacks and modules, `Chart.yaml` for charts, `*.rego` for policies), or when it holds the kind's
//!   marker file (`stack.toml`, `module.toml`, `chart.toml`) wherever it is;
//! - a glob ending in `/**` names a tree: a stack or module it finds inside another target
//!   of the same kind is part of that one (a local module), unless it has a marker file;
//!   every other glob (`stacks/*`, `examples/*`, `.` for the root) names targets exactly;
//! - `!glob` excludes; a directory matching both the stack and the module globs is a stack;
//! - defaults: stacks `stacks/**`, modules `modules/**`, charts `**` (not under
//!   `environments/`), policies `policies/**`.
//!
//! A file belongs to the deepest target directory that contains it. The workspace root's
//! label is `.`.

use crate::error::{Error, Location, Result};
use crate::snapshot::Snapshot;
use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use rustc_hash::FxHashMap as HashMap;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Stack,
    Module,
    Chart,
    Policy,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Stack => "stack",
            Kind::Module => "module",
            Kind::Chart => "chart",
            Kind::Policy => "policy",
        }
    }

    /// Stacks and charts are deployed to environments; modules and policies are not.
    pub fn is_deployable(self) -> bool {
        matches!(self, Kind::Stack | Kind::Chart)
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A discovered target: its label is its directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub label: String,
    pub kind: Kind,
}

pub fn parent_dir(path: &str) -> &str {
    path.rsplit_once('/').map(|(d, _)| d).unwrap_or("")
}

pub fn file_name(path: &str) -> &str {
    path.rsplit_once('/').map(|(_, f)| f).unwrap_or(path)
}

/// A file of the Terraform language: `*.tf` and `*.tf.json`, and OpenTofu's `*.tofu` and
/// `*.tofu.json`, which OpenTofu reads alike (a `x.tofu` replaces a `x.tf` beside it;
/// strata reads both, so what either tool reads is seen).
pub fn is_terraform_file(path: &str) -> bool {
    path.ends_with(".tf") || path.ends_with(".tofu") || is_terraform_json(path)
}

/// A file of the Terraform language in its JSON syntax (`*.tf.json`, `*.tofu.json`).
pub fn is_terraform_json(path: &str) -> bool {
    path.ends_with(".tf.json") || path.ends_with(".tofu.json")
}

/// An override file (`override.tf`, `x_override.tf`, and their `.tf.json`, `.tofu` and
/// `.tofu.json` forms), which terraform merges into the other files.
pub fn is_override_file(path: &str) -> bool {
    let name = file_name(path);
    [".tf", ".tf.json", ".tofu", ".tofu.json"]
        .iter()
        .filter_map(|ext| name.strip_suffix(ext))
        .any(|stem| stem == "override" || stem.ends_with("_override"))
}

/// Whether a file is Terramate's configuration (`*.tm.hcl`, `*.tm`).
pub fn is_terramate_file(path: &str) -> bool {
    path.ends_with(".tm.hcl") || path.ends_with(".tm")
}

/// How Terraform variable files end: `*.tfvars` and `*.tfvars.json`.
pub const VAR_FILE_SUFFIXES: &[&str] = &[".tfvars", ".tfvars.json"];

/// A Terraform variable file (see [`VAR_FILE_SUFFIXES`]).
pub fn is_var_file(path: &str) -> bool {
    VAR_FILE_SUFFIXES.iter().any(|s| path.ends_with(s))
}

/// A variable file terraform loads by itself from a root module's directory, by its name:
/// `terraform.tfvars`, `*.auto.tfvars`, and their `.json` forms.
pub fn is_auto_var_file(name: &str) -> bool {
    let name = name.strip_suffix(".json").unwrap_or(name);
    name == "terraform.tfvars" || name.ends_with(".auto.tfvars")
}

/// The label of the workspace root when it is a target.
pub const ROOT_LABEL: &str = ".";

/// The environment a label's path names under `[layout] environment_path` (`live/{env}`
/// names `prod` for `live/prod/eu-west-1/vpc`): the `{env}` segment, when every other
/// segment of the pattern matches (`*` matches any one).
pub fn environment_in_path<'a>(pattern: &str, label: &'a str) -> Option<&'a str> {
    let mut segments = label_dir(label).split('/');
    let mut found = None;
    for want in pattern.trim_matches('/').split('/') {
        let have = segments.next().filter(|s| !s.is_empty())?;
        match want {
            "{env}" => found = Some(have),
            "*" => {}
            literal if literal == have => {}
            _ => return None,
        }
    }
    found
}

/// Where Terramate keeps its stack triggers, below the workspace root.
pub const TRIGGERS_DIR: &str = ".tmtriggers";

/// The directory (`""` for the root) whose target the Terramate trigger file at `path`
/// counts for (`.tmtriggers/stacks/vpc/changed-<id>.tm.hcl` -> `stacks/vpc`); `None` for
/// any other path and for `ignore-change-*` triggers, which strata does not honour.
pub fn triggered_dir(path: &str) -> Option<&str> {
    let rest = path.strip_prefix(TRIGGERS_DIR)?.strip_prefix('/')?;
    let (dir, name) = rest.rsplit_once('/').unwrap_or(("", rest));
    (!name.starts_with("ignore-change-")).then_some(dir)
}

/// The directory a label names: the root's label `.` is the empty path.
pub fn label_dir(label: &str) -> &str {
    if label == ROOT_LABEL {
        ""
    } else {
        label
    }
}

/// The label of a directory.
pub fn dir_label(dir: &str) -> &str {
    if dir.is_empty() {
        ROOT_LABEL
    } else {
        dir
    }
}

/// The path of `name` inside the directory of `label`.
pub fn in_dir(label: &str, name: &str) -> String {
    match label_dir(label) {
        "" => name.to_string(),
        dir => format!("{dir}/{name}"),
    }
}

/// The prefix of every path inside the directory of `label` (`""` for the root).
pub fn dir_prefix(label: &str) -> String {
    match label_dir(label) {
        "" => String::new(),
        dir => format!("{dir}/"),
    }
}

/// The marker file that makes any directory a target of a kind.
pub fn marker(kind: Kind) -> Option<&'static str> {
    match kind {
        Kind::Stack => Some(crate::manifest::STACK_MANIFEST),
        Kind::Module => Some(crate::manifest::MODULE_MANIFEST),
        Kind::Chart => Some(crate::manifest::CHART_MANIFEST),
        Kind::Policy => None,
    }
}

/// One kind's globs, compiled: exact ones, tree ones (ending in `/**`), excludes.
#[derive(Debug, Clone)]
struct KindGlobs {
    exact: GlobSet,
    tree: GlobSet,
    exclude: GlobSet,
    root: bool,
}

/// How a directory matched a kind's globs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Match {
    /// Named exactly (or by a marker file): never folded into an enclosing target.
    Exact,
    /// Found by a tree glob: folded into an enclosing target of the same kind.
    Tree,
}

impl KindGlobs {
    fn new(globs: &[String]) -> std::result::Result<KindGlobs, (String, String)> {
        let mut exact = GlobSetBuilder::new();
        let mut tree = GlobSetBuilder::new();
        let mut exclude = GlobSetBuilder::new();
        let mut root = false;
        for g in globs {
            let (set, pattern) = match g.strip_prefix('!') {
                Some(p) => (&mut exclude, p),
                None if g == "." || g == "./" => {
                    root = true;
                    continue;
                }
                None if g.ends_with("/**") || g == "**" => (&mut tree, g.as_str()),
                None => (&mut exact, g.as_str()),
            };
            let pattern = pattern.trim_start_matches("./").trim_end_matches('/');
            let compile = |p: &str| {
                GlobBuilder::new(p)
                    .literal_separator(true)
                    .build()
                    .map_err(|e| (g.clone(), e.kind().to_string()))
            };
            // `!dir/**` excludes the tree: `dir` itself as well as what is below it.
            if g.starts_with('!') {
                if let Some(base) = pattern.strip_suffix("/**").filter(|b| !b.is_empty()) {
                    set.add(compile(base)?);
                }
            }
            set.add(compile(pattern)?);
        }
        let build = |b: GlobSetBuilder| b.build().unwrap_or_else(|_| GlobSet::empty());
        Ok(KindGlobs {
            exact: build(exact),
            tree: build(tree),
            exclude: build(exclude),
            root,
        })
    }

    fn matches(&self, dir: &str) -> Option<Match> {
        if dir.is_empty() {
            return self.root.then_some(Match::Exact);
        }
        if self.exclude.is_match(dir) {
            None
        } else if self.exact.is_match(dir) {
            Some(Match::Exact)
        } else if self.tree.is_match(dir) {
            Some(Match::Tree)
        } else {
            None
        }
    }
}

/// A workspace's `[layout]`, compiled.
#[derive(Debug, Clone)]
pub struct Layout {
    stacks: KindGlobs,
    modules: KindGlobs,
    charts: KindGlobs,
    policies: KindGlobs,
}

impl Layout {
    /// Compiles the configured globs; `Err((kind, glob, why))` for one that is invalid.
    pub fn new(
        config: &crate::workspace::LayoutConfig,
    ) -> std::result::Result<Layout, (String, String, String)> {
        let compile = |kind: &str, globs: &[String]| {
            KindGlobs::new(globs).map_err(|(g, why)| (kind.to_string(), g, why))
        };
        Ok(Layout {
            stacks: compile("stacks", &config.stacks)?,
            modules: compile("modules", &config.modules)?,
            charts: compile("charts", &config.charts)?,
            policies: compile("policies", &config.policies)?,
        })
    }

    fn globs(&self, kind: Kind) -> &KindGlobs {
        match kind {
            Kind::Stack => &self.stacks,
            Kind::Module => &self.modules,
            Kind::Chart => &self.charts,
            Kind::Policy => &self.policies,
        }
    }
}

/// Every target of the snapshot, sorted by label.
pub fn discover(snapshot: &Snapshot, layout: &Layout) -> Result<Vec<Found>> {
    // Directory -> (kind, how, a file that made it one).
    let mut markers: BTreeMap<&str, (Kind, &str)> = BTreeMap::new();
    let mut globbed: BTreeMap<&str, (Kind, Match, &str)> = BTreeMap::new();
    let both = |dir: &str, a: Kind, b: Kind, path: &str| {
        Error::Invalid {
        message: format!("directory `{}` is both a {a} and a {b}", dir_label(dir)),
        location: Location::new(path.to_string(), None),
        hint: "keep each target in a directory of its own, or narrow the [layout] globs in WORKSPACE.toml".into(),
    }
    };
    for path in snapshot.files.keys() {
        let name = file_name(path);
        let dir: &str = &path[..parent_dir(path).len()];
        let path: &str = path;
        for kind in [Kind::Stack, Kind::Module, Kind::Chart] {
            if marker(kind) == Some(name) {
                match markers.insert(dir, (kind, path)) {
                    Some((other, _)) if other != kind => return Err(both(dir, other, kind, path)),
                    _ => {}
                }
            }
        }
        let kinds: &[Kind] = if is_terraform_file(name) {
            // Stacks first: a directory both globs name is a stack.
            &[Kind::Stack, Kind::Module]
        } else if name == crate::chart::CHART_FILE && !path.starts_with("environments/") {
            &[Kind::Chart]
        } else if name.ends_with(".rego") {
            &[Kind::Policy]
        } else {
            continue;
        };
        let Some((kind, how)) = kinds
            .iter()
            .find_map(|&k| layout.globs(k).matches(dir).map(|how| (k, how)))
        else {
            continue;
        };
        match globbed.get(dir) {
            Some(&(other, _, _)) if other != kind => return Err(both(dir, other, kind, path)),
            Some(_) => {}
            None => {
                globbed.insert(dir, (kind, how, path));
            }
        }
    }
    // A marker file names the kind outright, and such a target is never folded.
    let mut candidates: BTreeMap<&str, (Kind, Match)> = globbed
        .into_iter()
        .map(|(dir, (kind, how, _))| (dir, (kind, how)))
        .collect();
    for (dir, (kind, path)) in markers {
        if let Some(&(other, _)) = candidates.get(dir) {
            // A marker decides between stack and module; it cannot make a chart a stack.
            let terraform = |k: Kind| matches!(k, Kind::Stack | Kind::Module);
            if other != kind && !(terraform(other) && terraform(kind)) {
                return Err(both(dir, other, kind, path));
            }
        }
        candidates.insert(dir, (kind, Match::Exact));
    }
    // Fold trees: a stack or module found by a tree glob inside another target of its kind
    // is part of that one.
    let mut found: Vec<Found> = Vec::new();
    let mut kept: HashMap<&str, Kind> = HashMap::default();
    for (&dir, &(kind, how)) in &candidates {
        if matches!(kind, Kind::Stack | Kind::Module) && how == Match::Tree {
            let enclosing = ancestors_and_root(dir).find_map(|a| kept.get(a).copied());
            if enclosing == Some(kind) {
                continue;
            }
        }
        kept.insert(dir, kind);
        found.push(Found {
            label: dir_label(dir).to_string(),
            kind,
        });
    }
    found.sort_by(|a, b| a.label.cmp(&b.label));
    Ok(found)
}

/// [`ancestors`], then the root (`""`) for any directory but the root itself.
pub fn ancestors_and_root(dir: &str) -> impl Iterator<Item = &str> {
    ancestors(dir).chain((!dir.is_empty()).then_some(""))
}

/// A directory, then its proper ancestors (see [`ancestors`]).
pub fn self_and_ancestors(dir: &str) -> impl Iterator<Item = &str> {
    std::iter::once(dir).chain(ancestors(dir))
}

/// Proper ancestors of a directory, nearest first: `a/b/c` -> `a/b`, `a`.
pub fn ancestors(dir: &str) -> impl Iterator<Item = &str> {
    let mut cur = dir;
    std::iter::from_fn(move || {
        let (parent, _) = cur.rsplit_once('/')?;
        cur = parent;
        Some(parent)
    })
}

/// Maps paths to the deepest target directory containing them.
pub struct Owners<'a> {
    by_dir: HashMap<&'a str, usize>,
}

impl<'a> Owners<'a> {
    pub fn new(targets: &'a [Found]) -> Owners<'a> {
        Owners {
            by_dir: targets
                .iter()
                .enumerate()
                .map(|(i, t)| (label_dir(&t.label), i))
                .collect(),
        }
    }

    /// The target owning a file path.
    pub fn of_file(&self, path: &str) -> Option<usize> {
        let dir = parent_dir(path);
        self.of_dir(dir)
    }

    /// The target owning a directory (the directory itself or its nearest target ancestor).
    pub fn of_dir(&self, dir: &str) -> Option<usize> {
        if let Some(&i) = self.by_dir.get(dir) {
            return Some(i);
        }
        ancestors_and_root(dir).find_map(|a| self.by_dir.get(a).copied())
    }

    pub fn exact(&self, dir: &str) -> Option<usize> {
        self.by_dir.get(dir).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_a_path_names() {
        let at = |pattern, label| environment_in_path(pattern, label);
        assert_eq!(at("live/{env}", "live/prod/eu-west-1/vpc"), Some("prod"));
        assert_eq!(at("live/{env}", "live/prod"), Some("prod"));
        assert_eq!(at("/live/{env}/", "live/dev/x"), Some("dev"));
        assert_eq!(at("*/envs/{env}", "stacks/envs/stg/eks"), Some("stg"));
        assert_eq!(at("live/{env}", "units/vpc"), None);
        assert_eq!(at("live/{env}", "live"), None);
        assert_eq!(at("live/{env}", "."), None);
    }
    use crate::digest::FileId;
    use crate::snapshot::{FileEntry, Source};

    fn snap(paths: &[&str]) -> Snapshot {
        Snapshot {
            files: paths
                .iter()
                .map(|p| {
                    (
                        p.to_string(),
                        FileEntry {
                            id: FileId::of_content(p.as_bytes()),
                            mode: 0o100644,
                        },
                    )
                })
                .collect(),
            source: Source::Commit("x".into()),
            touched: Vec::new(),
        }
    }

    fn default_layout() -> Layout {
        Layout::new(&crate::workspace::LayoutConfig::default()).unwrap()
    }

    fn layout(toml: &str) -> Layout {
        let cfg = crate::workspace::WorkspaceConfig::parse(
            &format!("[workspace]\nname = \"t\"\n[layout]\n{toml}"),
            "WORKSPACE.toml",
        )
        .unwrap();
        Layout::new(&cfg.layout).unwrap()
    }

    fn labels(paths: &[&str], layout: &Layout) -> Vec<(String, Kind)> {
        discover(&snap(paths), layout)
            .unwrap()
            .into_iter()
            .map(|f| (f.label, f.kind))
            .collect()
    }

    #[test]
    fn a_root_module_called_by_examples() {
        // terraform-aws-modules: the module at the top, examples and tests as roots.
        let got = labels(
            &[
                "main.tf",
                "modules/node-group/main.tf",
                "modules/node-group/modules/inner/main.tf",
                "examples/complete/main.tf",
                "tests/user-data/main.tf",
                "docs/README.md",
            ],
            &layout("stacks = [\"examples/*\", \"tests/*\"]\nmodules = [\".\", \"modules/*\"]\n"),
        );
        let want = [
            (".", Kind::Module),
            ("examples/complete", Kind::Stack),
            ("modules/node-group", Kind::Module),
            ("tests/user-data", Kind::Stack),
        ];
        assert_eq!(got, want.map(|(l, k)| (l.to_string(), k)));
        let found = discover(
            &snap(&["main.tf", "docs/x.md", "modules/node-group/main.tf"]),
            &layout("modules = [\".\", \"modules/*\"]\n"),
        )
        .unwrap();
        let owners = Owners::new(&found);
        let label = |p: &str| owners.of_file(p).map(|i| found[i].label.as_str());
        assert_eq!(label("docs/x.md"), Some("."));
        assert_eq!(
            label("modules/node-group/main.tf"),
            Some("modules/node-group")
        );
    }

    #[test]
    fn roots_under_modules_live_trees_markers_and_excludes() {
        // cloudposse components: deployable roots under modules/, their own local modules.
        let got = labels(
            &[
                "modules/eks/cluster/main.tf",
                "modules/eks/cluster/modules/x/main.tf",
                "modules/vpc/main.tf",
                "modules/vpc/modules/flow/main.tf",
                "modules/vpc/modules/flow/module.toml",
                "deprecated/old/main.tf",
            ],
            &layout("stacks = [\"modules/**\", \"!modules/*/modules/**\", \"!modules/*/*/modules/**\"]\nmodules = []\n"),
        );
        let want = [
            ("modules/eks/cluster", Kind::Stack),
            ("modules/vpc", Kind::Stack),
            ("modules/vpc/modules/flow", Kind::Module),
        ];
        assert_eq!(got, want.map(|(l, k)| (l.to_string(), k)));
        // `!dir/**` excludes the directory itself too, not only what is below it.
        let got = labels(
            &[
                "stacks/app/main.tf",
                "stacks/examples/main.tf",
                "stacks/examples/basic/main.tf",
            ],
            &layout("stacks = [\"stacks/*\", \"stacks/*/*\", \"!stacks/examples/**\"]\n"),
        );
        assert_eq!(got, [("stacks/app".to_string(), Kind::Stack)]);
        // A Terragrunt-style live tree.
        let got = labels(
            &[
                "live/prod/eu-west-1/vpc/main.tf",
                "live/prod/eu-west-1/eks/main.tf",
                "live/_envcommon/vpc.tf",
            ],
            &layout("stacks = [\"live/*/*/*\"]\n"),
        );
        let want = [
            ("live/prod/eu-west-1/eks", Kind::Stack),
            ("live/prod/eu-west-1/vpc", Kind::Stack),
        ];
        assert_eq!(got, want.map(|(l, k)| (l.to_string(), k)));
        // A marker makes any directory a target.
        let got = labels(
            &["infra/dns/main.tf", "infra/dns/stack.toml"],
            &default_layout(),
        );
        assert_eq!(got, vec![("infra/dns".to_string(), Kind::Stack)]);
    }

    #[test]
    fn kinds_and_nesting() {
        let s = snap(&[
            "stacks/net/main.tf",
            "stacks/net/modules/sub/main.tf",
            "stacks/net/child/main.tf",
            "stacks/net/child/stack.toml",
            "modules/vpc/main.tf",
            "modules/vpc/inner/main.tf",
            "charts/api/Chart.yaml",
            "charts/api/charts/lib/Chart.yaml",
            "policies/k8s/deny.rego",
            "environments/dev/charts/x/Chart.yaml",
            "docs/README.md",
        ]);
        let found = discover(&s, &default_layout()).unwrap();
        let labels: Vec<_> = found.iter().map(|f| (f.label.as_str(), f.kind)).collect();
        assert_eq!(
            labels,
            vec![
                ("charts/api", Kind::Chart),
                ("charts/api/charts/lib", Kind::Chart),
                ("modules/vpc", Kind::Module),
                ("policies/k8s", Kind::Policy),
                ("stacks/net", Kind::Stack),
                ("stacks/net/child", Kind::Stack),
            ]
        );
        let owners = Owners::new(&found);
        let label = |p: &str| owners.of_file(p).map(|i| found[i].label.as_str());
        assert_eq!(label("stacks/net/modules/sub/main.tf"), Some("stacks/net"));
        assert_eq!(label("stacks/net/child/main.tf"), Some("stacks/net/child"));
        assert_eq!(
            label("charts/api/charts/lib/values.yaml"),
            Some("charts/api/charts/lib")
        );
        assert_eq!(label("docs/README.md"), None);
    }
}
