//! The smallest `[layout]` under which strata discovers exactly the targets `classify`
//! found: no more, no fewer, each of its kind.
//!
//! For each kind the defaults are kept when they fit. Otherwise globs are chosen greedily:
//! from every generalization of the wanted directories' paths (`examples/complete` gives
//! `examples/complete`, `examples/*`, `*/*`, `examples/**`, `**`), the one that covers the
//! most wanted directories per glob it costs, where a glob costs one plus the excludes
//! (`!glob`) it needs to keep out what it must not take. Ties go to the glob that reads
//! best: a literal first directory, `*` for a target's own name and for environment and
//! region names, a longer literal prefix.
//!
//! A glob is judged with the rules of `strata_graph::discover` against the wanted result:
//! an exact glob may only match wanted targets of its kind; a tree glob (`x/**`) may also
//! match directories it folds into a wanted target of its kind, and covers only the wanted
//! targets it does not fold; a stack glob wins over a module glob; marker files decide
//! whatever the globs say. The caller checks the result with the real `discover`.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

use globset::{GlobBuilder, GlobMatcher};
use serde::Serialize;
use strata_graph::discover::{ancestors_and_root, Kind};

use crate::environments;

/// What the layout must produce.
pub struct Want<'a> {
    /// Every directory holding Terraform files directly (`""` is the root).
    pub tf_dirs: &'a BTreeSet<String>,
    /// The targets, by directory: stacks, modules and charts.
    pub targets: &'a BTreeMap<String, Kind>,
    /// Directories whose marker file makes them targets whatever the globs say.
    pub markers: &'a BTreeMap<String, Kind>,
}

/// One glob of a kind, with what it is there for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Chosen {
    pub glob: String,
    /// The targets it names (for an exclude: the directories it keeps out).
    pub dirs: Vec<String>,
}

/// The globs of one kind; `None`: the default fits.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct KindLayout {
    pub globs: Vec<Chosen>,
    /// Why the default globs do not fit.
    pub instead_of_default: String,
}

impl KindLayout {
    pub fn strings(&self) -> Vec<String> {
        self.globs.iter().map(|c| c.glob.clone()).collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Layout {
    pub stacks: Option<KindLayout>,
    pub modules: Option<KindLayout>,
    /// Set only when a chart is at the workspace root, which the default `**` leaves out.
    pub charts: Option<KindLayout>,
    /// Set only when Rego policies lie outside `policies/` (conftest's `policy/`).
    pub policies: Option<KindLayout>,
}

/// The policy globs: the default (`None`) unless directories of Rego files lie outside
/// `policies/`, in no target's directory (where they are its tests) and not under
/// `environments/`: then the default and `<top>/**` for each top directory holding them
/// (conftest's `policy/`). Such a directory that `is_policy` says holds no policy strata
/// runs (another tool's Rego) is left out, and returned.
pub fn policies(
    paths: &[String],
    targets: &[&str],
    is_policy: impl Fn(&str) -> bool,
) -> (Option<KindLayout>, Vec<String>) {
    let mut left_out: Vec<String> = Vec::new();
    let inside_target = |dir: &str| {
        targets
            .iter()
            .any(|t| t.is_empty() || *t == "." || dir == *t || dir.starts_with(&format!("{t}/")))
    };
    // By glob: `<top>` for Rego files directly in it, `<top>/**` for those below.
    let mut tops: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for path in paths.iter().filter(|p| p.ends_with(".rego")) {
        let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
        let top = path.split('/').next().unwrap_or_default();
        if dir.is_empty()
            || top == "policies"
            || top == "environments"
            || top.starts_with('.')
            || inside_target(dir)
            || left_out.iter().any(|d| d == dir)
        {
            continue;
        }
        if !is_policy(dir) {
            left_out.push(dir.to_string());
            continue;
        }
        let glob = if dir == top {
            top.to_string()
        } else {
            format!("{top}/**")
        };
        let dirs = tops.entry(glob).or_default();
        if !dirs.iter().any(|d| d == dir) {
            dirs.push(dir.to_string());
        }
    }
    if tops.is_empty() {
        return (None, left_out);
    }
    let mut globs = vec![Chosen {
        glob: "policies/**".into(),
        dirs: Vec::new(),
    }];
    globs.extend(tops.into_iter().map(|(glob, dirs)| Chosen { glob, dirs }));
    let layout = KindLayout {
        globs,
        instead_of_default: "Rego policies lie outside policies/ (conftest keeps them in policy/)"
            .into(),
    };
    (Some(layout), left_out)
}

/// Whether Rego `text` declares a rule conftest runs: `deny`, `warn` or `violation`, alone
/// or with a `_suffix` (conftest's names), at the start of a line.
pub fn declares_conftest_rules(text: &str) -> bool {
    text.lines().any(|line| {
        let line = line.trim_start();
        let line = line.strip_prefix("default ").unwrap_or(line).trim_start();
        ["deny", "warn", "violation"].iter().any(|name| {
            let Some(rest) = line.strip_prefix(name) else {
                return false;
            };
            let rest = match rest.strip_prefix('_') {
                Some(suffix) => {
                    suffix.trim_start_matches(|c: char| c.is_ascii_alphanumeric() || c == '_')
                }
                None => rest,
            };
            rest.is_empty() || rest.starts_with(['[', '{', ' ', '\t', ':', '='])
        })
    })
}

/// The default globs of the Terraform kinds (see `strata_graph::workspace::LayoutConfig`).
pub fn default_globs(kind: Kind) -> Vec<String> {
    let d = strata_graph::workspace::LayoutConfig::default();
    match kind {
        Kind::Stack => d.stacks,
        Kind::Module => d.modules,
        Kind::Chart => d.charts,
        Kind::Policy => d.policies,
    }
}

/// A compiled glob: exact (`a/*`), tree (`a/**`) or the root (`.`).
#[derive(Debug, Clone)]
struct Pattern {
    text: String,
    tree: bool,
    /// `None` for the root (`.`).
    matcher: Option<GlobMatcher>,
    /// The leading directories it names literally (`infra/team` of `infra/team/*/**`):
    /// everything it matches lies at or below them, so only that part of a sorted list of
    /// directories need be tried (trying every directory against every candidate glob
    /// made `strata init` quadratic in the directories).
    prefix: String,
}

impl Pattern {
    fn new(text: &str) -> Option<Pattern> {
        if text == "." {
            return Some(Pattern {
                text: text.into(),
                tree: false,
                matcher: None,
                prefix: String::new(),
            });
        }
        let matcher = GlobBuilder::new(text)
            .literal_separator(true)
            .build()
            .ok()?
            .compile_matcher();
        let prefix = text
            .split('/')
            .take_while(|s| !s.contains(['*', '?', '[', ']', '{', '}', '\\']))
            .collect::<Vec<_>>()
            .join("/");
        Some(Pattern {
            text: text.into(),
            tree: text == "**" || text.ends_with("/**"),
            matcher: Some(matcher),
            prefix,
        })
    }

    /// The directories of a sorted set it matches, trying only those at or below its
    /// literal prefix.
    fn matching<'p, 's: 'p, I>(&'p self, sorted: I) -> impl Iterator<Item = &'s str> + 'p
    where
        I: Iterator<Item = &'s str> + 'p,
    {
        let prefix = self.prefix.as_str();
        sorted
            .take_while(move |d| d.starts_with(prefix))
            .filter(move |d| self.matches(d))
    }

    /// Whether any directory of a sorted set is matched.
    fn matches_any(&self, sorted: &BTreeSet<String>) -> bool {
        self.matching(from(sorted, &self.prefix)).next().is_some()
    }

    fn matches(&self, dir: &str) -> bool {
        match &self.matcher {
            None => dir.is_empty(),
            Some(_) if dir.is_empty() => false,
            Some(m) => m.is_match(dir),
        }
    }

    /// How well it reads, for ties (smaller is better).
    fn preference(&self) -> Preference {
        let body = self.text.trim_end_matches("/**").trim_end_matches("**");
        let segs: Vec<&str> = body.split('/').filter(|s| !s.is_empty()).collect();
        let first_wild = usize::from(segs.first().is_none_or(|s| *s == "*"));
        let env_literals = segs
            .iter()
            .filter(|s| **s != "*" && environments::is_variable_segment(s))
            .count();
        let last_literal =
            usize::from(!self.tree && segs.len() >= 2 && segs.last().is_some_and(|s| *s != "*"));
        let prefix = segs.iter().take_while(|s| **s != "*").count();
        let structural = segs.iter().filter(|s| is_structural(s)).count();
        (
            first_wild,
            env_literals,
            // On a tie an exact glob: a new directory it does not name is reported by
            // `strata list` instead of folded away.
            usize::from(self.tree),
            last_literal,
            usize::MAX - structural,
            usize::MAX - prefix,
            self.text.len(),
            self.text.clone(),
        )
    }
}

/// How well a glob reads, for ties (smaller is better): see `Pattern::preference`.
type Preference = (usize, usize, usize, usize, usize, usize, usize, String);

/// The globs of one kind being assembled.
#[derive(Default)]
struct KindSet {
    include: Vec<Pattern>,
    exclude: Vec<Pattern>,
}

impl KindSet {
    fn from_globs(globs: &[String]) -> KindSet {
        let mut set = KindSet::default();
        for g in globs {
            match g.strip_prefix('!') {
                Some(p) => set.exclude.extend(Pattern::new(p)),
                None => set.include.extend(Pattern::new(g)),
            }
        }
        set
    }

    fn matches(&self, dir: &str) -> bool {
        // An exclude never matches the root (see `Pattern::matches`).
        self.include.iter().any(|p| p.matches(dir)) && !self.exclude.iter().any(|p| p.matches(dir))
    }
}

struct Judge<'a> {
    want: &'a Want<'a>,
    /// For the module kind: the chosen stack globs (a stack glob wins).
    stacks: Option<&'a KindSet>,
}

/// What a glob would do for a kind: the wanted targets it names, the directories it must
/// not take.
struct Assessment {
    covers: Vec<String>,
    bad: Vec<String>,
}

impl Judge<'_> {
    /// The kind of the nearest wanted target strictly above `dir`.
    fn holder_kind(&self, dir: &str) -> Option<Kind> {
        ancestors_and_root(dir).find_map(|a| {
            self.want
                .targets
                .get(a)
                .or_else(|| self.want.markers.get(a))
                .copied()
        })
    }

    fn assess(&self, p: &Pattern, kind: Kind) -> Assessment {
        let mut a = Assessment {
            covers: Vec::new(),
            bad: Vec::new(),
        };
        for d in p.matching(from(self.want.tf_dirs, &p.prefix)) {
            if matches!(self.want.markers.get(d), Some(Kind::Stack | Kind::Module)) {
                continue;
            }
            if kind == Kind::Module && self.stacks.is_some_and(|s| s.matches(d)) {
                continue;
            }
            match self.want.targets.get(d) {
                Some(&k) if k == kind => {
                    if !p.tree || self.holder_kind(d) != Some(kind) {
                        a.covers.push(d.to_string());
                    }
                }
                Some(_) => a.bad.push(d.to_string()),
                None if p.tree && self.holder_kind(d) == Some(kind) => {}
                None => a.bad.push(d.to_string()),
            }
        }
        a
    }

    /// Excludes keeping each of `bad` out, matching no wanted target of `kind` and not
    /// looking like they remove one (`!x/**` where `x` is a target): for each bad
    /// directory, the exclude that keeps out the most of them.
    fn exclusions(
        &self,
        bad: &[String],
        kind: Kind,
        needed: &BTreeSet<String>,
    ) -> Vec<(String, String)> {
        let mut options: Vec<(Pattern, Vec<&str>)> = Vec::new();
        let texts: BTreeSet<String> = bad.iter().flat_map(|b| exclusion_forms(b)).collect();
        for text in texts {
            let Some(p) = Pattern::new(&text) else {
                continue;
            };
            if p.matches_any(needed) {
                continue;
            }
            if let Some(base) = text.strip_suffix("/**").and_then(Pattern::new) {
                let names_target = self
                    .want
                    .targets
                    .range::<str, _>((Bound::Included(base.prefix.as_str()), Bound::Unbounded))
                    .take_while(|(d, _)| d.starts_with(&base.prefix))
                    .any(|(d, k)| *k == kind && base.matches(d));
                if names_target {
                    continue;
                }
            }
            // `bad` is sorted: `assess` takes it from a sorted set.
            let keeps: Vec<&str> = p.matching(from_slice(bad, &p.prefix)).collect();
            if !keeps.is_empty() {
                options.push((p, keeps));
            }
        }
        // The most kept out; then the most literal (an exclude as narrow as what it is for);
        // then the shortest.
        let stars = |p: &Pattern| p.text.split('/').filter(|s| *s == "*").count();
        options.sort_by(|a, b| {
            b.1.len()
                .cmp(&a.1.len())
                .then(stars(&a.0).cmp(&stars(&b.0)))
                .then(a.0.text.len().cmp(&b.0.text.len()))
                .then(a.0.text.cmp(&b.0.text))
        });
        bad.iter()
            .map(|b| {
                let e = options
                    .iter()
                    .find(|(_, keeps)| keeps.contains(&b.as_str()))
                    .map(|(p, _)| p.text.clone())
                    .unwrap_or_else(|| escape_path(b));
                (b.clone(), e)
            })
            .collect()
    }
}

/// Excludes that would keep `dir` out: its ancestors as trees (`a/**`, `a/b/**`), the
/// same with only structural names kept (`*/*/modules/**`), and the path itself.
fn exclusion_forms(dir: &str) -> Vec<String> {
    let segs: Vec<&str> = dir.split('/').collect();
    let mut out = vec![escape_path(dir)];
    for k in 1..segs.len() {
        out.push(format!("{}/**", escape_path(&segs[..k].join("/"))));
        let structural: Vec<String> = segs[..k]
            .iter()
            .map(|s| match is_structural(s) {
                true => globset::escape(s),
                false => "*".into(),
            })
            .collect();
        out.push(format!("{}/**", structural.join("/")));
    }
    out
}

/// A sorted set's directories from `prefix` on (all that start with it come first).
fn from<'s>(sorted: &'s BTreeSet<String>, prefix: &str) -> impl Iterator<Item = &'s str> + 's {
    sorted
        .range::<str, _>((Bound::Included(prefix), Bound::Unbounded))
        .map(String::as_str)
}

/// The same for a sorted slice.
fn from_slice<'s>(sorted: &'s [String], prefix: &str) -> impl Iterator<Item = &'s str> + 's {
    let start = sorted.partition_point(|d| d.as_str() < prefix);
    sorted[start..].iter().map(String::as_str)
}

fn escape_path(path: &str) -> String {
    path.split('/')
        .map(globset::escape)
        .collect::<Vec<_>>()
        .join("/")
}

/// Directory names that say what the directories below them are, whatever the path
/// around them: worth naming in a glob.
const STRUCTURAL: &[&str] = &[
    "modules",
    "submodules",
    "examples",
    "tests",
    "test",
    "stacks",
    "components",
    "units",
    "charts",
    "live",
    "envs",
    "environments",
    "wrappers",
];

fn is_structural(segment: &str) -> bool {
    STRUCTURAL.contains(&segment)
}

/// Every generalization of a directory's path, as glob texts.
fn generalizations(dir: &str) -> Vec<String> {
    if dir.is_empty() {
        return vec![".".into()];
    }
    let segs: Vec<&str> = dir.split('/').collect();
    let n = segs.len();
    let mut out = Vec::new();
    for variable_as_star in [true, false] {
        let lit = |i: usize| -> String {
            let s = segs[i];
            if variable_as_star
                && (environments::is_variable_segment(s)
                    || (i > 0 && environments::is_container(segs[i - 1])))
            {
                "*".into()
            } else {
                globset::escape(s)
            }
        };
        for k in 0..=n {
            let mut parts: Vec<String> = (0..k).map(lit).collect();
            parts.extend(std::iter::repeat_n("*".to_string(), n - k));
            out.push(parts.join("/"));
            // The same with the structural directories after the prefix kept
            // (`*/*/modules/*`).
            let kept: Vec<String> = (0..n)
                .map(|i| match i < k || (i + 1 < n && is_structural(segs[i])) {
                    true if i < k => lit(i),
                    true => globset::escape(segs[i]),
                    false => "*".to_string(),
                })
                .collect();
            out.push(kept.join("/"));
        }
        for k in 0..n {
            let mut parts: Vec<String> = (0..k).map(lit).collect();
            parts.push("**".into());
            out.push(parts.join("/"));
        }
    }
    out
}

/// A glob that could be chosen, with what it does.
struct Candidate {
    pattern: Pattern,
    /// `pattern.preference()`, computed once: ranking compares it often.
    preference: Preference,
    covers: Vec<String>,
    /// The directories it must not take, each with the exclude that keeps it out.
    bad: Vec<(String, String)>,
}

/// How many first picks the search tries for each kind: the greedy choice is good, not
/// always the smallest, and a different start sometimes saves a glob (or lets the next
/// kind keep its default).
const STARTS: usize = 8;

/// Chooses the globs of one kind.
struct Chooser<'a> {
    judge: &'a Judge<'a>,
    kind: Kind,
    needed: BTreeSet<String>,
    candidates: Vec<Candidate>,
}

impl<'a> Chooser<'a> {
    fn new(judge: &'a Judge<'a>, kind: Kind) -> Chooser<'a> {
        let want = judge.want;
        let needed: BTreeSet<String> = want
            .targets
            .iter()
            .filter(|(d, k)| **k == kind && !want.markers.contains_key(*d))
            .map(|(d, _)| d.clone())
            .collect();
        let texts: BTreeSet<String> = needed
            .iter()
            .filter(|d| !d.is_empty())
            .flat_map(|d| generalizations(d))
            .collect();
        let candidates = texts
            .iter()
            .filter_map(|t| Pattern::new(t))
            .filter_map(|pattern| {
                let a = judge.assess(&pattern, kind);
                if a.covers.is_empty() {
                    return None;
                }
                let bad = judge.exclusions(&a.bad, kind, &needed);
                Some(Candidate {
                    preference: pattern.preference(),
                    pattern,
                    covers: a.covers,
                    bad,
                })
            })
            .collect();
        Chooser {
            judge,
            kind,
            needed,
            candidates,
        }
    }

    /// Why the default globs do not name exactly the wanted targets of this kind; `None`
    /// when they do.
    fn default_misfit(&self) -> Option<String> {
        let defaults = default_globs(self.kind);
        let set = KindSet::from_globs(&defaults);
        let mut covered = BTreeSet::new();
        let mut bad = BTreeSet::new();
        let mut matched = BTreeSet::new();
        for p in &set.include {
            let a = self.judge.assess(p, self.kind);
            bad.extend(a.bad);
            covered.extend(a.covers);
            matched.extend(self.needed.iter().filter(|d| p.matches(d)).cloned());
        }
        let missed: Vec<String> = self
            .needed
            .iter()
            .filter(|d| !covered.contains(*d) && !matched.contains(*d))
            .cloned()
            .collect();
        let folded: Vec<String> = self
            .needed
            .iter()
            .filter(|d| !covered.contains(*d) && matched.contains(*d))
            .cloned()
            .collect();
        let mut why = Vec::new();
        if !missed.is_empty() {
            why.push(format!("would miss {}", crate::files::listing(&missed)));
        }
        if !folded.is_empty() {
            why.push(format!(
                "would fold {} into the target holding {}",
                crate::files::listing(&folded),
                if folded.len() == 1 { "it" } else { "them" }
            ));
        }
        if !bad.is_empty() {
            let bad: Vec<String> = bad.into_iter().collect();
            why.push(format!("would also take {}", crate::files::listing(&bad)));
        }
        (!why.is_empty()).then(|| format!("the default {} {}", defaults.join(", "), why.join("; ")))
    }

    /// The best candidate to add next: the most targets left per glob it costs (itself
    /// and the new excludes it needs); on a tie the one needing fewer excludes, then the
    /// one that reads best. Sorted best first.
    fn ranked(
        &self,
        left: &BTreeSet<String>,
        excludes: &[Pattern],
    ) -> Vec<(usize, BTreeSet<String>)> {
        let mut scored: Vec<(usize, usize, usize, BTreeSet<String>)> = Vec::new();
        for (i, c) in self.candidates.iter().enumerate() {
            let gain = c.covers.iter().filter(|d| left.contains(*d)).count();
            if gain == 0 {
                continue;
            }
            let new: BTreeSet<String> = c
                .bad
                .iter()
                .filter(|(b, _)| !excludes.iter().any(|e| e.matches(b)))
                .map(|(_, e)| e.clone())
                .collect();
            scored.push((i, gain, 1 + new.len(), new));
        }
        scored.sort_by(|a, b| {
            // gain_a / cost_a > gain_b / cost_b, without floating point.
            (b.1 * a.2)
                .cmp(&(a.1 * b.2))
                .then(a.2.cmp(&b.2))
                .then_with(|| {
                    self.candidates[a.0]
                        .preference
                        .cmp(&self.candidates[b.0].preference)
                })
        });
        scored.into_iter().map(|(i, _, _, new)| (i, new)).collect()
    }

    /// A complete choice, greedy after the first pick (`start`-th best).
    fn greedy(&self, start: usize) -> Option<Vec<Chosen>> {
        let mut left = self.needed.clone();
        let mut chosen: Vec<Chosen> = Vec::new();
        let mut excludes: BTreeSet<String> = BTreeSet::new();
        let mut exclude_patterns: Vec<Pattern> = Vec::new();
        if left.remove("") {
            chosen.push(Chosen {
                glob: ".".into(),
                dirs: vec![String::new()],
            });
        }
        let mut first = true;
        while !left.is_empty() {
            let ranked = self.ranked(&left, &exclude_patterns);
            let pick = if first { start } else { 0 };
            first = false;
            let Some((i, new)) = ranked.into_iter().nth(pick) else {
                if pick > 0 {
                    return None;
                }
                break;
            };
            let c = &self.candidates[i];
            for e in new {
                exclude_patterns.extend(Pattern::new(&e));
                excludes.insert(e);
            }
            for d in &c.covers {
                left.remove(d);
            }
            chosen.push(Chosen {
                glob: c.pattern.text.clone(),
                dirs: c.covers.clone(),
            });
        }
        // Whatever no glob could cover (not expected: an exact path always can), by path.
        for d in left {
            chosen.push(Chosen {
                glob: escape_path(&d),
                dirs: vec![d],
            });
        }
        // "." first, then in order; excludes last.
        chosen.sort_by(|a, b| (a.glob != ".", &a.glob).cmp(&(b.glob != ".", &b.glob)));
        // Each exclude, with the directories it keeps out.
        let bad: BTreeSet<&str> = chosen
            .iter()
            .filter_map(|c| self.candidates.iter().find(|k| k.pattern.text == c.glob))
            .flat_map(|c| c.bad.iter().map(|(b, _)| b.as_str()))
            .collect();
        for e in excludes {
            let dirs = match Pattern::new(&e) {
                Some(p) => bad
                    .iter()
                    .filter(|b| p.matches(b))
                    .map(|b| b.to_string())
                    .collect(),
                None => Vec::new(),
            };
            chosen.push(Chosen {
                glob: format!("!{e}"),
                dirs,
            });
        }
        Some(chosen)
    }

    /// The choices worth comparing, best first: the default alone when it fits.
    fn options(&self) -> Vec<Option<KindLayout>> {
        let Some(misfit) = self.default_misfit() else {
            return vec![None];
        };
        let mut out: Vec<Option<KindLayout>> = Vec::new();
        for start in 0..STARTS {
            let Some(globs) = self.greedy(start) else {
                break;
            };
            let option = Some(KindLayout {
                globs,
                instead_of_default: misfit.clone(),
            });
            if !out.contains(&option) {
                out.push(option);
            }
        }
        out
    }
}

fn size(layout: &Option<KindLayout>) -> usize {
    layout.as_ref().map_or(0, |l| l.globs.len())
}

fn kind_set(layout: &Option<KindLayout>, kind: Kind) -> KindSet {
    match layout {
        Some(l) => KindSet::from_globs(&l.strings()),
        None => KindSet::from_globs(&default_globs(kind)),
    }
}

/// The smallest layout found for the Terraform kinds (fewest globs in all; on a tie the
/// greedy choice); charts and policies keep their defaults.
pub fn synthesize(want: &Want) -> Layout {
    let judge = Judge { want, stacks: None };
    let mut best: Option<(usize, Layout)> = None;
    for stacks in Chooser::new(&judge, Kind::Stack).options() {
        let set = kind_set(&stacks, Kind::Stack);
        let judge = Judge {
            want,
            stacks: Some(&set),
        };
        for modules in Chooser::new(&judge, Kind::Module).options() {
            let total = size(&stacks) + size(&modules);
            if best.as_ref().is_none_or(|(b, _)| total < *b) {
                best = Some((
                    total,
                    Layout {
                        stacks: stacks.clone(),
                        modules,
                        charts: charts(want),
                        policies: None,
                    },
                ));
            }
        }
    }
    best.map(|(_, l)| l).unwrap_or_default()
}

/// The layout naming every target by its exact path: the fallback when the chosen one
/// does not discover what was wanted.
pub fn exact(want: &Want) -> Layout {
    let globs = |kind: Kind| {
        let globs: Vec<Chosen> = want
            .targets
            .iter()
            .filter(|(d, k)| **k == kind && !want.markers.contains_key(*d))
            .map(|(d, _)| Chosen {
                glob: if d.is_empty() {
                    ".".into()
                } else {
                    escape_path(d)
                },
                dirs: vec![d.clone()],
            })
            .collect();
        Some(KindLayout {
            globs,
            instead_of_default: "each target is named by its path".into(),
        })
    };
    Layout {
        stacks: globs(Kind::Stack),
        modules: globs(Kind::Module),
        charts: charts(want),
        policies: None,
    }
}

/// The chart globs: the default (`None`) unless a chart is at the workspace root, which
/// `**` does not match: then `.` beside it.
fn charts(want: &Want) -> Option<KindLayout> {
    let is_root = |d: &str| d.is_empty() || d == ".";
    if !want
        .targets
        .iter()
        .any(|(d, k)| *k == Kind::Chart && is_root(d))
    {
        return None;
    }
    let others: Vec<String> = want
        .targets
        .iter()
        .filter(|(d, k)| **k == Kind::Chart && !is_root(d))
        .map(|(d, _)| d.clone())
        .collect();
    Some(KindLayout {
        globs: vec![
            Chosen {
                glob: ".".into(),
                dirs: vec![String::new()],
            },
            Chosen {
                glob: "**".into(),
                dirs: others,
            },
        ],
        instead_of_default: "a chart is at the workspace root, which `**` does not match".into(),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn conftest_rules_are_told_from_other_rego() {
        for policy in [
            "deny[msg] {",
            "deny contains msg if {",
            "  warn_tags[msg] {",
            "violation[{\"msg\": m}] {",
            "default deny := false",
            "deny_x = true",
            "warn",
        ] {
            assert!(super::declares_conftest_rules(policy), "{policy}");
        }
        for other in [
            "errors[message] {",
            "warning[msg] {",
            "denyall := 1",
            "# deny[msg] {",
            "x := deny",
            "package deny",
        ] {
            assert!(!super::declares_conftest_rules(other), "{other}");
        }
    }

    use super::*;

    fn run(tf: &[&str], targets: &[(&str, Kind)]) -> (Option<Vec<String>>, Option<Vec<String>>) {
        let tf_dirs: BTreeSet<String> = tf.iter().map(|s| s.to_string()).collect();
        let targets: BTreeMap<String, Kind> =
            targets.iter().map(|(d, k)| (d.to_string(), *k)).collect();
        let markers = BTreeMap::new();
        let l = synthesize(&Want {
            tf_dirs: &tf_dirs,
            targets: &targets,
            markers: &markers,
        });
        (
            l.stacks.map(|k| k.strings()),
            l.modules.map(|k| k.strings()),
        )
    }

    fn strings(items: &[&str]) -> Option<Vec<String>> {
        Some(items.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn defaults_when_they_fit() {
        let got = run(
            &["stacks/net", "stacks/net/modules/x", "modules/vpc"],
            &[("stacks/net", Kind::Stack), ("modules/vpc", Kind::Module)],
        );
        assert_eq!(got, (None, None));
    }

    #[test]
    fn a_root_module_with_examples_and_tests() {
        let got = run(
            &[
                "",
                "modules/a",
                "modules/b",
                "examples/x",
                "examples/y",
                "tests/z",
                "tests/w",
            ],
            &[
                ("", Kind::Module),
                ("modules/a", Kind::Module),
                ("modules/b", Kind::Module),
                ("examples/x", Kind::Stack),
                ("examples/y", Kind::Stack),
                ("tests/z", Kind::Stack),
                ("tests/w", Kind::Stack),
            ],
        );
        assert_eq!(
            got,
            (
                strings(&["examples/*", "tests/*"]),
                strings(&[".", "modules/*"])
            )
        );
    }

    #[test]
    fn roots_under_modules_with_shared_submodules() {
        let got = run(
            &[
                "modules/vpc",
                "modules/eks/cluster",
                "modules/eks/cluster/modules/by-az",
                "modules/account-map",
                "modules/account-map/modules/iam-roles",
                "modules/account-map/modules/principals",
            ],
            &[
                ("modules/vpc", Kind::Stack),
                ("modules/eks/cluster", Kind::Stack),
                ("modules/account-map", Kind::Stack),
                ("modules/account-map/modules/iam-roles", Kind::Module),
                ("modules/account-map/modules/principals", Kind::Module),
            ],
        );
        assert_eq!(
            got,
            (
                strings(&["modules/**", "!modules/account-map/modules/**"]),
                None
            )
        );
    }

    #[test]
    fn modules_of_components_in_two_trees() {
        let got = run(
            &[
                "modules/vpc",
                "modules/account-map",
                "modules/account-map/modules/iam-roles",
                "deprecated/vpc",
                "deprecated/account-map",
                "deprecated/account-map/modules/iam-roles",
            ],
            &[
                ("modules/vpc", Kind::Stack),
                ("modules/account-map", Kind::Stack),
                ("modules/account-map/modules/iam-roles", Kind::Module),
                ("deprecated/vpc", Kind::Stack),
                ("deprecated/account-map", Kind::Stack),
                ("deprecated/account-map/modules/iam-roles", Kind::Module),
            ],
        );
        assert_eq!(got, (strings(&["*/*"]), strings(&["*/*/modules/*"])));
    }

    #[test]
    fn a_live_tree_generalizes_environments_and_regions() {
        let got = run(
            &[
                "live/prod/eu-west-1/vpc",
                "live/prod/eu-west-1/eks",
                "live/dev/us-east-1/vpc",
                "units/vpc",
            ],
            &[
                ("live/prod/eu-west-1/vpc", Kind::Stack),
                ("live/prod/eu-west-1/eks", Kind::Stack),
                ("live/dev/us-east-1/vpc", Kind::Stack),
                ("units/vpc", Kind::Module),
            ],
        );
        assert_eq!(got, (strings(&["live/*/*/*"]), strings(&["units/*"])));
    }

    #[test]
    fn nested_stacks_need_exact_globs() {
        // Terramate: stacks inside stacks, which a tree glob would fold.
        let got = run(
            &[
                "infra/prd/eks",
                "infra/prd/eks/apps",
                "infra/stg/eks",
                "infra/stg/eks/apps",
            ],
            &[
                ("infra/prd/eks", Kind::Stack),
                ("infra/prd/eks/apps", Kind::Stack),
                ("infra/stg/eks", Kind::Stack),
                ("infra/stg/eks/apps", Kind::Stack),
            ],
        );
        assert_eq!(got, (strings(&["infra/*/*", "infra/*/*/*"]), None));
    }
}
