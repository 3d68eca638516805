//! Which targets a change affects: compares the graph at `merge-base(base, head)` with the
//! graph at head (a commit or the work tree) and explains each affected target.
//!
//! A target is affected when its hash differs, or when the files that feed it in an
//! environment (`environments/<env>/<label>/`, environment-wide files) differ; the effect
//! then flows to its dependents in that environment.

use crate::baseline::Baseline;
use crate::discover::Kind;
use crate::error::Result;
use crate::hash::EnvDigests;
use crate::id::TargetId;
use crate::model::{EnvFileOwner, EnvironmentFiles};
use crate::session::{Session, View};
use crate::snapshot::FileEntry;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Reason {
    /// Its own inputs changed, or it is new.
    Changed,
    /// A global input or a pinned tool version changed.
    Global,
    /// Something it depends on is affected.
    Dependency,
    /// It exists at base and not at head.
    Deleted,
    /// It cannot be modelled at head (`problems` says why): what it reads is not fully
    /// known, so it is affected whatever changed.
    Broken,
    /// It (or the whole commit) could not be modelled at the merge-base, so what changed
    /// since is not known.
    #[serde(rename = "broken_at_base")]
    BrokenAtBase,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Changed => "changed",
            Reason::Global => "global",
            Reason::Dependency => "dependency",
            Reason::Deleted => "deleted",
            Reason::Broken => "broken",
            Reason::BrokenAtBase => "broken_at_base",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AffectedTarget {
    pub label: String,
    pub kind: Kind,
    /// The hash at head (at base for a deleted target).
    pub hash: String,
    pub reason: Reason,
    /// For `dependency`: the chain of labels from this target's dependency down to the
    /// target whose own inputs changed.
    pub via: Vec<String>,
    /// Environments in which this target is affected (all of its environments unless only
    /// environment inputs changed).
    pub environments: Vec<String>,
    /// For `changed` and `global`: the files whose change caused it.
    pub files: Vec<String>,
    /// Of `files`, those deleted at head.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deleted_files: Vec<String>,
    /// File-function calls whose path strata cannot resolve statically and that the target
    /// does not cover with `extra_inputs` (see `Target::unresolved`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unresolved_reads: Vec<crate::error::Location>,
    /// For `broken` and `broken_at_base`: why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<crate::error::Problem>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Affected {
    pub base: String,
    pub head: String,
    pub merge_base: String,
    pub targets: Vec<AffectedTarget>,
    /// Changed files that no target has as an input (none is affected by them), listed
    /// only beside `unresolved_readers`: one of those may read them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unread_changes: Vec<String>,
    /// The targets not affected with reads whose paths strata cannot resolve and that
    /// declare no `extra_inputs`, listed only beside `unread_changes`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unresolved_readers: Vec<String>,
}

impl Affected {
    fn new(
        session: &Session,
        (base, head, merge_base): (&str, &str, String),
        head_view: &View,
        changed: &BTreeSet<String>,
        targets: Vec<AffectedTarget>,
    ) -> Affected {
        let (unread_changes, unresolved_readers) =
            unread_changes(session, head_view, changed, &targets);
        Affected {
            base: base.to_string(),
            head: head.to_string(),
            merge_base,
            targets,
            unread_changes,
            unresolved_readers,
        }
    }
}

/// The changed files that exist at head, are no target's input, are not ignored and are none
/// of strata's own configuration files, with the targets not affected whose reads strata
/// cannot resolve and that declare no `extra_inputs`: such a read may use one of those
/// files, so the change may matter to a target strata does not report. Both empty unless
/// both are not: a change nothing reads is no news in a workspace where every read is known.
fn unread_changes(
    session: &Session,
    head: &View,
    changed: &BTreeSet<String>,
    targets: &[AffectedTarget],
) -> (Vec<String>, Vec<String>) {
    // A reader that is affected runs again anyway.
    let affected: HashSet<&str> = targets.iter().map(|t| t.label.as_str()).collect();
    let readers: Vec<String> = head
        .model
        .iter()
        .filter(|(_, t)| !t.unresolved.is_empty() && !t.declares_inputs)
        .filter(|(_, t)| !affected.contains(t.label.as_str()))
        .map(|(_, t)| t.label.clone())
        .collect();
    if readers.is_empty() {
        return Default::default();
    }
    let explained: HashSet<&str> = targets
        .iter()
        .flat_map(|t| t.files.iter().chain(&t.deleted_files))
        .map(String::as_str)
        .collect();
    let ignore = crate::model::matcher(&session.config.workspace.ignore);
    let mut files: BTreeSet<&str> = changed
        .iter()
        .map(String::as_str)
        .filter(|p| {
            head.snapshot.files.contains_key(*p)
                && !explained.contains(p)
                && !ignore.is_match(p)
                && !crate::manifest::is_strata_configuration(p)
        })
        .collect();
    // An input of some target at head that names no file (a broken target lists none, and
    // nor does one that is affected only through another) is read all the same.
    if !files.is_empty() {
        for (_, t) in head.model.iter() {
            for input in t.files.iter().chain(&t.extra_inputs) {
                files.remove(input.as_str());
            }
        }
    }
    match files.is_empty() {
        true => Default::default(),
        false => (files.into_iter().map(String::from).collect(), readers),
    }
}

/// What to compare: `head` `None` means the work tree.
pub fn affected(session: &Session, base: &str, head: Option<&str>) -> Result<Affected> {
    std::thread::scope(|s| {
        // The work tree does not depend on the base: it is read (`git status` is the slowest
        // step on a large tree) while the revisions are resolved and the baseline loaded.
        // Without a cached baseline, the base commit is derived from the index on the way.
        let (tx, rx) = std::sync::mpsc::channel::<Option<String>>();
        let rx = std::sync::Mutex::new(rx);
        let wants_base = move || rx.lock().ok().and_then(|r| r.recv().ok()).flatten();
        let mut work_tree = head
            .is_none()
            .then(|| s.spawn(move || session.work_tree_and_base(&wants_base)));
        let (head_commit, merge_base) = resolve(session, base, head.unwrap_or("HEAD"))?;
        let cached = load_baseline(session, &merge_base);
        let _ = tx.send(cached.is_none().then(|| merge_base.clone()));
        // With a baseline, git says which paths changed between the commits.
        let committed = cached.is_some().then(|| {
            let (from, to) = (merge_base.clone(), head_commit.clone());
            s.spawn(move || session.repo.changed_between(&from, &to))
        });
        let (head_view, derived) = match work_tree.take() {
            Some(thread) => {
                let work_tree = thread.join().expect("work tree thread")?;
                (work_tree.view, work_tree.base)
            }
            None => (session.at_commit(&head_commit)?, None),
        };
        // The work tree's own settings (a commit named with --head is as it was).
        if head.is_none() {
            head_view.model.check_settings()?;
        }
        let (baseline, changed, same_env_files) = match (cached, derived) {
            (Some(baseline), _) => {
                let committed = committed.expect("spawned with a baseline");
                let committed = committed.join().expect("diff-tree thread")?;
                (baseline, with_touched(committed, &head_view), None)
            }
            (None, Some(derived)) => {
                save_baseline(session, &derived.baseline);
                (derived.baseline, derived.changed, derived.same_env_files)
            }
            (None, None) => {
                let (baseline, changed) = base_from_commit(session, &merge_base, &head_view)?;
                (baseline, changed, None)
            }
        };
        // Every file is parsed by now: the fact cache is written while the views are
        // compared (the command's own save at its end then has nothing left to do).
        let save = s.spawn(|| {
            let _phase = tracing::info_span!("fact cache save (early)").entered();
            session.facts.save();
        });
        let affected = {
            let _phase = tracing::info_span!("compare").entered();
            let targets = compare(&baseline, &head_view, &changed, same_env_files.as_ref());
            let names = (base, head.unwrap_or("WORKTREE"), merge_base);
            Affected::new(session, names, &head_view, &changed, targets)
        };
        let _ = save.join();
        // Freeing a large model takes a while and nobody waits for it.
        std::thread::spawn(move || drop((head_view, baseline, changed, same_env_files)));
        Ok(affected)
    })
}

/// [`affected`] for a work-tree view the caller already has (`check --affected` builds it
/// to run tasks): the work tree is not read a second time.
pub fn affected_for_view(session: &Session, base: &str, head_view: &View) -> Result<Affected> {
    affected_resident(session, base, head_view, &mut BaseCache::default())
}

/// Baselines and commit differences a resident process keeps between requests (see
/// [`affected_resident`]).
#[derive(Default)]
pub struct BaseCache {
    baselines: Recent<Baseline>,
    /// Paths changed between a kept merge-base and the current HEAD commit.
    committed: std::collections::HashMap<(String, String), Vec<String>>,
}

/// Values by commit, at most [`BASE_CACHE_LIMIT`], the most recently used last.
struct Recent<V>(Vec<(String, V)>);

impl<V> Default for Recent<V> {
    fn default() -> Self {
        Recent(Vec::new())
    }
}

impl<V> Recent<V> {
    /// Makes `key` the most recently used; `false` when it is not kept.
    fn touch(&mut self, key: &str) -> bool {
        let Some(i) = self.0.iter().position(|(k, _)| k == key) else {
            return false;
        };
        let entry = self.0.remove(i);
        self.0.push(entry);
        true
    }

    /// Room for one more: drops the least recently used when full, and says which.
    fn make_room(&mut self) -> Option<String> {
        (self.0.len() >= BASE_CACHE_LIMIT).then(|| self.0.remove(0).0)
    }

    fn push(&mut self, key: &str, value: V) {
        self.0.push((key.to_string(), value));
    }

    fn latest(&self) -> Option<&V> {
        self.0.last().map(|(_, v)| v)
    }
}

/// How many merge-bases a [`BaseCache`] keeps: the one of the default base and one more.
/// A baseline of 10,000 targets takes several MB; one dropped is read back from the
/// baseline cache on disk in milliseconds when asked for again.
const BASE_CACHE_LIMIT: usize = 2;

impl BaseCache {
    /// Keeps the baseline of `merge_base`, made by `make` when it is not kept (dropping the
    /// least recently used one first, with its commit differences, when the cache is full).
    fn keep(&mut self, merge_base: &str, make: impl FnOnce() -> Result<Baseline>) -> Result<()> {
        if !self.baselines.touch(merge_base) {
            if let Some(gone) = self.baselines.make_room() {
                self.committed.retain(|(base, _), _| *base != gone);
            }
            self.baselines.push(merge_base, make()?);
        }
        Ok(())
    }

    /// The paths changed between `merge_base` and `head`, from `changed` when not kept;
    /// differences to an earlier HEAD are dropped.
    fn committed(
        &mut self,
        merge_base: &str,
        head: &str,
        changed: impl FnOnce() -> Result<Vec<String>>,
    ) -> Result<&[String]> {
        let key = (merge_base.to_string(), head.to_string());
        if !self.committed.contains_key(&key) {
            let paths = changed()?;
            self.committed.retain(|(_, h), _| h == head);
            self.committed.insert(key.clone(), paths);
        }
        Ok(&self.committed[&key])
    }
}

/// [`affected_for_view`] for a resident process: the baseline of the merge-base and the
/// paths changed between it and HEAD are kept in `cache`, so a request that finds them
/// there only resolves the revisions and compares.
pub fn affected_resident(
    session: &Session,
    base: &str,
    head_view: &View,
    cache: &mut BaseCache,
) -> Result<Affected> {
    head_view.model.check_settings()?;
    let (head_commit, merge_base) = resolve(session, base, "HEAD")?;
    let mut derived_changes = None;
    cache.keep(&merge_base, || {
        Ok(match load_baseline(session, &merge_base) {
            Some(baseline) => baseline,
            None => {
                let (baseline, changed) = base_from_commit(session, &merge_base, head_view)?;
                derived_changes = Some(changed);
                baseline
            }
        })
    })?;
    let changed = match derived_changes {
        // The commit was just read: exactly the paths that differ.
        Some(changed) => changed,
        None => {
            let committed = cache.committed(&merge_base, &head_commit, || {
                session.repo.changed_between(&merge_base, &head_commit)
            })?;
            with_touched(committed.to_vec(), head_view)
        }
    };
    let baseline = cache.baselines.latest().expect("kept above");
    let targets = compare(baseline, head_view, &changed, None);
    let names = (base, "WORKTREE", merge_base);
    Ok(Affected::new(session, names, head_view, &changed, targets))
}

/// The head commit and the merge-base of `base` and `head`.
fn resolve(session: &Session, base: &str, head: &str) -> Result<(String, String)> {
    let branch = &session.config.workspace.default_branch;
    let base_commit = session.repo.resolve_commit(base).map_err(|e| match e {
        // The base names WORKSPACE.toml's default branch (given, or by default): say how to
        // change it. (It may have been passed as --base too: the words fit both.)
        crate::error::Error::UnknownRevision { rev, hint }
            if rev == *branch || rev == format!("origin/{branch}") =>
        {
            crate::error::Error::UnknownRevision {
                hint: format!(
                    "`{rev}` names the default branch (`default_branch = \"{branch}\"` in WORKSPACE.toml, the default base): set it to this repository's main branch, or pass --base with a revision this repository holds. {hint}"
                ),
                rev,
            }
        }
        e => e,
    })?;
    let head_commit = session.repo.resolve_commit(head)?;
    let merge_base = session.repo.merge_base(&base_commit, &head_commit)?;
    Ok((head_commit, merge_base))
}

fn load_baseline(session: &Session, commit: &str) -> Option<Baseline> {
    session
        .baseline_path(commit)
        .and_then(|p| Baseline::load(&p, commit))
}

fn save_baseline(session: &Session, baseline: &Baseline) {
    if let Some(p) = session.baseline_path(&baseline.commit) {
        let _phase = tracing::info_span!("baseline save").entered();
        baseline.save(&p);
    }
}

/// Paths changed between the commits, plus those the work tree changed.
fn with_touched(committed: Vec<String>, head: &View) -> BTreeSet<String> {
    let mut changed: BTreeSet<String> = committed.into_iter().collect();
    changed.extend(head.snapshot.touched.iter().cloned());
    changed
}

/// The baseline of `commit` read from the commit itself (`ls-tree`), saved, and the paths
/// that differ from the head. The base's model is built after the head's, so every file
/// the two share is parsed once.
fn base_from_commit(
    session: &Session,
    commit: &str,
    head: &View,
) -> Result<(Baseline, BTreeSet<String>)> {
    let snapshot = session.commit_snapshot(commit)?;
    let changed = snapshot.diff(&head.snapshot);
    // A commit that cannot be modelled (the one a fix is compared against) still has an
    // answer: everything is affected, and the baseline says why.
    let baseline = match session.commit_view(snapshot, commit) {
        Ok(view) => Baseline::from_view(&view, commit),
        Err(e) if e.is_content_error() => Baseline::failed(commit, &e),
        Err(e) => return Err(e),
    };
    save_baseline(session, &baseline);
    Ok((baseline, changed))
}

/// For each target, the shortest chain (by length, then labels) from one of its
/// dependencies down to a target in `roots`, computed in one pass in dependency order.
/// `None` for targets that reach no root; `Some([])` for the roots themselves. Only targets
/// for which `eligible` holds carry a chain.
fn chains(
    view: &View,
    is_root: impl Fn(TargetId) -> bool,
    eligible: impl Fn(TargetId) -> bool,
) -> Vec<Option<Vec<TargetId>>> {
    let graph = &view.model.graph;
    let mut chain: Vec<Option<Vec<TargetId>>> = vec![None; graph.len()];
    for &i in graph.order() {
        if !eligible(i) {
            continue;
        }
        if is_root(i) {
            chain[i] = Some(Vec::new());
            continue;
        }
        let best = graph
            .deps(i)
            .iter()
            .filter_map(|&d| {
                chain[d]
                    .as_ref()
                    .map(|c| (c.len(), &view.model.targets[d].label, d))
            })
            .min();
        if let Some((_, _, d)) = best {
            let mut c = vec![d];
            c.extend(chain[d].iter().flatten().copied());
            chain[i] = Some(c);
        }
    }
    chain
}

/// Compares the base with the head view. `changed` holds the paths that differ between
/// them: it names the files behind each change, and decides nothing else except with
/// `same_env_files`.
///
/// Targets are compared by their hashes, and by their environment inputs' digests in each
/// environment. `same_env_files` says that the base and the head have these environment
/// files for each target (the same model and paths, as when the base was derived from the
/// index in this run): a target's environment inputs then differ exactly when one of them
/// is in `changed`, and the head's digests are not computed.
pub fn compare(
    base: &Baseline,
    head: &View,
    changed: &BTreeSet<String>,
    same_env_files: Option<&EnvironmentFiles>,
) -> Vec<AffectedTarget> {
    let model = &head.model;
    let labels = |chain: &[TargetId]| -> Vec<String> {
        chain
            .iter()
            .map(|&d| model.targets[d].label.clone())
            .collect()
    };
    let (mut reason, mut files) = {
        let _phase = tracing::info_span!("hashes").entered();
        reasons(base, head, changed)
    };
    waived_changes(base, head, &mut reason, &mut files);
    builtin_pack_switched(base, head, &mut reason, &mut files);
    let hash_chain = {
        let _phase = tracing::info_span!("chains").entered();
        chains(
            head,
            |i| {
                matches!(
                    reason[i],
                    Some(Reason::Changed | Reason::Global | Reason::Broken | Reason::BrokenAtBase)
                )
            },
            |i| reason[i].is_some(),
        )
    };
    let (mut env_files, env_chains) = {
        let _phase = tracing::info_span!("environments").entered();
        environment_changes(base, head, changed, same_env_files, &reason)
    };
    let mut out = Vec::new();
    for (i, t) in model.iter() {
        let mut entry = AffectedTarget {
            label: t.label.clone(),
            kind: t.kind,
            hash: head.hashes.hashes[i].to_hex(),
            reason: Reason::Changed,
            via: Vec::new(),
            environments: Vec::new(),
            files: Vec::new(),
            deleted_files: Vec::new(),
            problems: Vec::new(),
            unresolved_reads: if t.declares_inputs {
                Vec::new()
            } else {
                t.unresolved.clone()
            },
        };
        entry.problems = match reason[i] {
            Some(Reason::BrokenAtBase) => match &base.failure {
                Some(failure) => vec![failure.clone()],
                None => vec![crate::error::Problem {
                    message: format!("{} could not be modelled at the merge-base", t.label),
                    location: None,
                    hint: Some(format!(
                        "`strata affected --head {}` shows why",
                        base.commit
                    )),
                }],
            },
            _ => t.problems.clone(),
        };
        if let Some(r) = reason[i] {
            entry.reason = r;
            entry.environments = t.environments.clone();
            entry.files = std::mem::take(&mut files[i]);
            if r == Reason::Dependency {
                entry.via = labels(hash_chain[i].as_deref().unwrap_or_default());
                if entry.via.is_empty() {
                    // Its hash moved with its dependencies, and none of them at the head is
                    // affected: one it had at the base is gone (a vendored subchart
                    // deleted). Its inputs changed.
                    entry.reason = Reason::Changed;
                }
            }
            out.push(entry);
            continue;
        }
        // Affected only in some environments, directly or through a dependency.
        let mut via: Option<&Vec<TargetId>> = None;
        for (env, chain) in &env_chains {
            if let Some(c) = &chain[i] {
                entry.environments.push(env.clone());
                if !c.is_empty() && via.is_none_or(|v| c.len() < v.len()) {
                    via = Some(c);
                }
            }
        }
        if entry.environments.is_empty() {
            continue;
        }
        entry.files = std::mem::take(&mut env_files[i]);
        entry.files.sort();
        entry.files.dedup();
        if entry.files.is_empty() {
            entry.reason = Reason::Dependency;
            entry.via = labels(via.map(Vec::as_slice).unwrap_or_default());
        }
        out.push(entry);
    }

    for t in &base.targets {
        if model.index(&t.label).is_none() {
            out.push(AffectedTarget {
                label: t.label.clone(),
                kind: t.kind,
                hash: t.hash.to_hex(),
                reason: Reason::Deleted,
                via: Vec::new(),
                environments: base.environments(t).to_vec(),
                files: Vec::new(),
                deleted_files: Vec::new(),
                unresolved_reads: Vec::new(),
                problems: Vec::new(),
            });
        }
    }
    for entry in &mut out {
        entry.deleted_files = entry
            .files
            .iter()
            .filter(|f| !head.snapshot.files.contains_key(f.as_str()))
            .cloned()
            .collect();
        debug_assert!(
            entry.reason != Reason::Dependency || !entry.via.is_empty(),
            "{} is affected through a dependency, but no chain leads to a change",
            entry.label
        );
    }
    out.sort_by(|a, b| a.label.cmp(&b.label));
    out
}

/// The targets a waiver added, removed or changed since the base names (its `targets` glob,
/// in any environment) are affected: their policy tasks judge findings anew, whichever
/// policy the waiver is for (a workspace policy's or the built-in pack's). Their hashes do
/// not change: nothing else of theirs runs again.
fn waived_changes(
    base: &Baseline,
    head: &View,
    reason: &mut [Option<Reason>],
    files: &mut [Vec<String>],
) {
    if base.failure.is_some() {
        return;
    }
    let now = crate::baseline::waiver_identities(&head.model);
    if now == base.waivers {
        return;
    }
    let before: BTreeSet<&String> = base.waivers.iter().collect();
    let after: BTreeSet<&String> = now.iter().collect();
    let changed: Vec<crate::model::waivers::Waiver> = before
        .symmetric_difference(&after)
        .filter_map(|w| crate::model::waivers::Waiver::from_identity(w))
        .map(|w| crate::model::waivers::Waiver {
            environment: None,
            ..w
        })
        .collect();
    for (i, t) in head.model.iter() {
        if reason[i].is_none() && changed.iter().any(|w| w.applies_to(&t.label, None)) {
            reason[i] = Some(Reason::Changed);
            files[i] = vec![crate::model::waivers::WAIVERS_FILE.to_string()];
        }
    }
}

/// The built-in policy pack turned on or off (`[policy] builtin` in WORKSPACE.toml) adds or
/// removes policy tasks of every stack, module and chart it may govern: all of them are
/// affected (their hashes do not change, so nothing else of theirs runs again).
fn builtin_pack_switched(
    base: &Baseline,
    head: &View,
    reason: &mut [Option<Reason>],
    files: &mut [Vec<String>],
) {
    if base.failure.is_some() || base.builtin_policies == head.model.config.policy.builtin {
        return;
    }
    for (i, t) in head.model.iter() {
        if reason[i].is_none() && matches!(t.kind, Kind::Stack | Kind::Module | Kind::Chart) {
            reason[i] = Some(Reason::Global);
            files[i] = vec![crate::workspace::WORKSPACE_FILE.to_string()];
        }
    }
}

/// Why each target of the head differs from the base by its hashes (`None`: it does not),
/// and the changed files behind each.
fn reasons(
    base: &Baseline,
    head: &View,
    changed: &BTreeSet<String>,
) -> (Vec<Option<Reason>>, Vec<Vec<String>>) {
    let model = &head.model;
    let n = model.targets.len();
    let mut reason: Vec<Option<Reason>> = vec![None; n];
    let mut files: Vec<Vec<String>> = vec![Vec::new(); n];
    let head_globals = head.hashes.global_inputs(&head.snapshot);
    let ignore = std::cell::OnceCell::new();
    for (i, t) in model.iter() {
        if base.failure.is_some() {
            reason[i] = Some(Reason::BrokenAtBase);
            continue;
        }
        let Some(b) = base.target(&t.label) else {
            reason[i] = Some(Reason::Changed);
            let fp = head
                .hashes
                .fingerprint(model, &head.snapshot, &head_globals, i);
            files[i] = fp.inputs.iter().map(|f| f.path.to_string()).collect();
            continue;
        };
        if b.hash == head.hashes.hashes[i] {
            if !t.problems.is_empty() {
                reason[i] = Some(Reason::Broken);
            } else if b.broken {
                reason[i] = Some(Reason::BrokenAtBase);
            }
            continue;
        }
        if b.own != head.hashes.own[i] || b.kind != t.kind {
            reason[i] = Some(Reason::Changed);
            let fp = head
                .hashes
                .fingerprint(model, &head.snapshot, &head_globals, i);
            let prefix = crate::discover::dir_prefix(&t.label);
            let mut list: BTreeSet<String> = fp
                .inputs
                .iter()
                .filter(|f| changed.contains(f.path))
                .map(|f| f.path.to_string())
                .collect();
            // Files that are gone from the target's directory and were its own.
            list.extend(
                changed
                    .range(prefix.clone()..)
                    .take_while(|p| p.starts_with(&prefix))
                    .filter(|p| !head.snapshot.files.contains_key(*p))
                    .filter(|p| {
                        let ignore = ignore
                            .get_or_init(|| crate::model::matcher(&model.config.workspace.ignore));
                        !ignore.is_match(p) && !nested_below(p, &t.label, model, base)
                    })
                    .cloned(),
            );
            // Its Terramate triggers that are gone.
            let dir = crate::discover::label_dir(&t.label);
            list.extend(
                changed
                    .range(format!("{}/", crate::discover::TRIGGERS_DIR)..)
                    .take_while(|p| p.starts_with(crate::discover::TRIGGERS_DIR))
                    .filter(|p| {
                        crate::discover::triggered_dir(p) == Some(dir)
                            && !head.snapshot.files.contains_key(*p)
                    })
                    .cloned(),
            );
            files[i] = list.into_iter().collect();
        } else if b.global != head.hashes.global[i] {
            reason[i] = Some(Reason::Global);
            let before: BTreeMap<&str, Option<FileEntry>> = base
                .global_inputs
                .iter()
                .map(|(p, e)| (p.as_str(), *e))
                .collect();
            let after: BTreeMap<&str, Option<FileEntry>> =
                head_globals.iter().map(|f| (f.path, f.entry)).collect();
            let paths: BTreeSet<&str> = before.keys().chain(after.keys()).copied().collect();
            files[i] = paths
                .into_iter()
                .filter(|p| before.get(p) != after.get(p))
                .map(str::to_string)
                .collect();
            if base.toolchains.get(&t.kind) != Some(head.hashes.toolchain(t.kind)) {
                files[i].push(crate::workspace::WORKSPACE_FILE.to_string());
                files[i].sort();
                files[i].dedup();
            }
        } else if !t.problems.is_empty() {
            // Its own files are the base's, but what it depends on is not all there (a
            // module it calls was deleted or moved): broken, not affected through a
            // dependency that no longer exists.
            reason[i] = Some(Reason::Broken);
        } else {
            reason[i] = Some(Reason::Dependency);
        }
    }
    // A target that cannot be modelled keeps its hash, so its dependents' hashes do not
    // say it is affected: they are, in its place.
    for &i in model.graph.order() {
        if reason[i].is_none() && model.graph.deps(i).iter().any(|&d| reason[d].is_some()) {
            reason[i] = Some(Reason::Dependency);
        }
    }
    (reason, files)
}

/// Whether `path`, under the directory of `label`, is in the directory of a target nested
/// below it, at the head or at the base (whose file it then was).
fn nested_below(path: &str, label: &str, model: &crate::model::Model, base: &Baseline) -> bool {
    let top = crate::discover::label_dir(label);
    let mut dir = crate::discover::parent_dir(path);
    while dir.len() > top.len() {
        if model.index(dir).is_some() || base.target(dir).is_some() {
            return true;
        }
        dir = crate::discover::parent_dir(dir);
    }
    false
}

/// Targets affected in some environments only, by their environment inputs: the files
/// behind each, and per environment the chain from each target to one whose inputs changed.
type EnvChanges = (Vec<Vec<String>>, Vec<(String, Vec<Option<Vec<TargetId>>>)>);

/// Whether every target's environment inputs are the base's without digesting them: no
/// environment file (every one is under `environments/`) and no WORKSPACE.toml (its ignores
/// decide which files count) differs, and the base and the head have the same targets and
/// environments (which files feed a target in an environment depends only on these).
fn env_inputs_unchanged(base: &Baseline, head: &View, changed: &BTreeSet<String>) -> bool {
    let model = &head.model;
    let env_changed = changed
        .range("environments/".to_string()..)
        .next()
        .is_some_and(|p| p.starts_with("environments/"));
    // A link among the environment files leads elsewhere: a change there is theirs.
    let link_target_changed = || {
        model
            .links
            .inside_under("environments/")
            .any(|(_, to)| changed.contains(&to))
    };
    !env_changed
        && !changed.contains(crate::workspace::WORKSPACE_FILE)
        && !link_target_changed()
        && base.targets.len() == model.targets.len()
        && base.targets.iter().all(|t| model.index(&t.label).is_some())
        && base.env.len() == model.environments.len()
        && model
            .environments
            .iter()
            .all(|e| base.env.contains_key(&e.name))
}

fn environment_changes(
    base: &Baseline,
    head: &View,
    changed: &BTreeSet<String>,
    same_env_files: Option<&EnvironmentFiles>,
    reason: &[Option<Reason>],
) -> EnvChanges {
    let model = &head.model;
    let n = model.targets.len();
    if same_env_files.is_none() && env_inputs_unchanged(base, head, changed) {
        return (vec![Vec::new(); n], Vec::new());
    }
    // Environment inputs: per environment, targets whose environment files changed, and the
    // targets deployed there that depend on them.
    let computed;
    let head_env = match same_env_files {
        Some(files) => files,
        None => {
            computed = model.environment_files(&head.snapshot);
            &computed
        }
    };
    let head_digests = same_env_files
        .is_none()
        .then(|| EnvDigests::new(head_env, &head.snapshot));
    // Every environment file is under environments/.
    let changed_env: BTreeSet<&str> = changed
        .range("environments/".to_string()..)
        .take_while(|p| p.starts_with("environments/"))
        .map(String::as_str)
        .collect();
    let env_inputs_differ = |env: &str, label: &str| match &head_digests {
        Some(digests) => digests.of(env, label) != base.env_digest(env, label),
        None => head_env
            .inputs_for_target(env, label)
            .any(|p| changed_env.contains(p) || changed.contains(p)),
    };
    let mut env_files: Vec<Vec<String>> = vec![Vec::new(); n];
    let mut env_chains: Vec<(String, Vec<Option<Vec<TargetId>>>)> = Vec::new();
    // Targets added or removed since the base: the files under their directory in an
    // environment changed owner (they fed no target while no target had that label, and
    // that target while one did), though no such file changed.
    let appeared_or_went: Vec<&str> = model
        .targets
        .iter()
        .filter(|t| base.target(&t.label).is_none())
        .map(|t| t.label.as_str())
        .chain(
            base.targets
                .iter()
                .filter(|t| model.index(&t.label).is_none())
                .map(|t| t.label.as_str()),
        )
        .collect();
    let moved_owner = |env: &str| -> Vec<String> {
        appeared_or_went
            .iter()
            .flat_map(|label| {
                let prefix = format!("environments/{env}/{}", crate::discover::dir_prefix(label));
                head.snapshot
                    .files
                    .range(prefix.clone()..)
                    .take_while(move |(p, _)| p.starts_with(&prefix))
                    .map(|(p, _)| p.clone())
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    for env in &model.environments {
        let env = env.name.as_str();
        let deployed = |i: TargetId| model[i].environments.iter().any(|e| e == env);
        let mut direct = vec![false; n];
        for (i, t) in model.iter() {
            if reason[i].is_some() || !deployed(i) {
                continue;
            }
            if env_inputs_differ(env, &t.label) {
                direct[i] = true;
                let own = format!(
                    "environments/{env}/{}",
                    crate::discover::dir_prefix(&t.label)
                );
                let listed: BTreeSet<&str> = head_env.inputs_for_target(env, &t.label).collect();
                // A file gone from head fed the target when it lay in its directory, or
                // directly in the environment's (environment-wide).
                let fed_before = |p: &str| {
                    !crate::manifest::is_environment_record(p)
                        && !head.snapshot.files.contains_key(p)
                        && match model.environment_file_owner(env, p) {
                            Some(EnvFileOwner::Target(owner)) => owner == t.label,
                            Some(EnvFileOwner::Everyone) => true,
                            Some(EnvFileOwner::Nobody | EnvFileOwner::Subchart(_)) | None => false,
                        }
                };
                env_files[i].extend(
                    changed
                        .iter()
                        .filter(|p| {
                            listed.contains(p.as_str()) || p.starts_with(&own) || fed_before(p)
                        })
                        .cloned(),
                );
                if env_files[i].is_empty() {
                    // No changed file explains it: files that changed owner do.
                    env_files[i].extend(moved_owner(env));
                }
            }
        }
        if direct.iter().any(|&d| d) {
            let c = chains(head, |i| direct[i], |i| reason[i].is_none() && deployed(i));
            env_chains.push((env.to_string(), c));
        }
    }

    (env_files, env_chains)
}

impl AffectedTarget {
    /// One sentence saying why the target is affected.
    pub fn explain(&self) -> String {
        let envs = if self.environments.is_empty()
            || self.kind.is_deployable()
                && self.reason != Reason::Deleted
                && self.files.iter().all(|f| !f.starts_with("environments/"))
        {
            String::new()
        } else {
            format!(" (in {})", self.environments.join(", "))
        };
        let list = |files: &[String]| {
            const SHOWN: usize = 5;
            let mut s = files
                .iter()
                .take(SHOWN)
                .map(|f| match self.deleted_files.contains(f) {
                    true => format!("{f} (deleted)"),
                    false => f.clone(),
                })
                .collect::<Vec<_>>()
                .join(", ");
            if files.len() > SHOWN {
                s.push_str(&format!(" and {} more", files.len() - SHOWN));
            }
            s
        };
        match self.reason {
            Reason::Changed => format!("{} changed{envs}: {}", self.label, list(&self.files)),
            Reason::Global => format!(
                "{} is affected by a global input{envs}: {}",
                self.label,
                list(&self.files)
            ),
            Reason::Dependency => {
                let mut chain = vec![self.label.clone()];
                chain.extend(self.via.iter().cloned());
                format!(
                    "{} depends on a changed target{envs}: {}",
                    self.label,
                    chain.join(" -> ")
                )
            }
            Reason::Deleted => format!("{} was deleted", self.label),
            Reason::Broken | Reason::BrokenAtBase => {
                let at = if self.reason == Reason::Broken {
                    "cannot be modelled"
                } else {
                    "could not be modelled at the merge-base"
                };
                let why: Vec<String> = self.problems.iter().map(|p| p.to_string()).collect();
                format!("{} {at}: {}", self.label, why.join("; "))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_least_recently_used_merge_base_goes_first() {
        let mut recent = Recent::default();
        recent.push("a", 1);
        assert_eq!(recent.make_room(), None);
        recent.push("b", 2);
        assert!(recent.touch("a"));
        assert_eq!(recent.latest(), Some(&1));
        assert!(!recent.touch("c"));
        // Full: `b` was used longest ago.
        assert_eq!(recent.make_room().as_deref(), Some("b"));
        recent.push("c", 3);
        assert!(!recent.touch("b"));
        assert!(recent.touch("a") && recent.touch("c"));
        assert_eq!(recent.latest(), Some(&3));
    }

    #[test]
    fn commit_differences_are_kept_for_the_current_head_only() {
        let mut cache = BaseCache::default();
        let paths = |p: &str| Ok(vec![p.to_string()]);
        assert_eq!(cache.committed("m", "h1", || paths("x")).unwrap(), ["x"]);
        // Kept: not asked again.
        assert_eq!(
            cache.committed("m", "h1", || unreachable!()).unwrap(),
            ["x"]
        );
        assert_eq!(cache.committed("m2", "h1", || paths("y")).unwrap(), ["y"]);
        assert_eq!(cache.committed.len(), 2);
        // HEAD moved: the differences to the old HEAD are dropped.
        assert_eq!(cache.committed("m", "h2", || paths("z")).unwrap(), ["z"]);
        assert_eq!(cache.committed.len(), 1);
    }
}
