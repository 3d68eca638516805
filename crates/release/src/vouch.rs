//! What an environment's audit ledger vouches for: each entry of its release lock must be
//! what the last event that wrote it wrote (every field, by the entry's digest), and an
//! entry an event wrote must not be gone without an event removing it. `audit verify`
//! reports what is not vouched for; a promotion moves only what is.

use crate::audit::{env_config, error, ledger_path, writes_lock_entry};
use crate::event_signing;
use crate::lock::ReleaseLock;
use crate::plan::short;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use strata_audit::TargetEvent;
use strata_graph::manifest::AUDIT_FILE;
use strata_graph::Result;

/// What an environment's ledger says of one entry of its release lock.
pub(crate) enum Vouch {
    /// The last event that wrote or removed it wrote exactly it: that event's line.
    Written(usize),
    /// No event wrote it, and it dates from before the ledger's first event.
    BeforeLedger,
    /// Why the ledger does not explain it.
    Not(String),
}

/// Each entry of `lock` (the release lock of the environment whose ledger `checked` is),
/// by label; nothing when the ledger is empty.
pub(crate) fn vouch(
    checked: &strata_audit::Checked,
    lock: &ReleaseLock,
    commit_time: &dyn Fn(&str) -> Option<i64>,
) -> Vec<(String, Vouch)> {
    let Some(first) = checked.events.first() else {
        return Vec::new();
    };
    let since = crate::clock::parse_utc(&first.time).unwrap_or(i64::MAX);
    let last_of = last_events(checked);
    let mut out = Vec::new();
    for (label, entry) in &lock.targets {
        // The last event that wrote or removed this entry: the entry must be what it wrote.
        let last = last_of.get(label.as_str()).copied();
        let last_line = last.map(|(_, _, line)| line).unwrap_or(0);
        let last = last.map(|(e, t, _)| (e, t));
        let entry_text = format!(
            "the release lock's entry for {label} (hash {}, commit {}, applied {} by {})",
            short(&entry.hash),
            short(&entry.commit),
            entry.applied_at,
            entry.applied_by
        );
        let vouch = match last {
            Some((e, t)) if t.result == "destroyed" => Vouch::Not(format!(
                "{entry_text}: event {} ({}) removed it",
                e.seq, e.action
            )),
            Some((e, t))
                if t.hash.as_deref() != Some(entry.hash.as_str())
                    || t.commit.as_deref() != Some(entry.commit.as_str()) =>
            {
                Vouch::Not(format!(
                    "{entry_text} is not what event {} ({} by {}) wrote (hash {}, commit {})",
                    e.seq,
                    e.action,
                    e.actor,
                    t.hash.as_deref().map(short).unwrap_or("none"),
                    t.commit.as_deref().map(short).unwrap_or("none"),
                ))
            }
            Some((e, t)) if t.entry.as_ref().is_some_and(|d| *d != entry.digest()) => {
                Vouch::Not(format!(
                    "{entry_text} was changed after event {} ({} by {}) wrote it: its checks, policy severity, date or dependencies are not what the event attests",
                    e.seq, e.action, e.actor
                ))
            }
            Some(_) => Vouch::Written(last_line),
            // Dated before its own commit was made (an hour's grace for clocks): backdated
            // by hand.
            None if commit_time(&entry.commit)
                .is_some_and(|t| t > entry.applied_secs() + 3600) =>
            {
                Vouch::Not(format!(
                    "{entry_text} is dated before its commit was made, and no event wrote it: backdated"
                ))
            }
            // Written before the ledger began: nothing to check it against.
            None if entry.applied_secs() < since => Vouch::BeforeLedger,
            None => Vouch::Not(format!(
                "{entry_text} was written by no event of the ledger"
            )),
        };
        out.push((label.clone(), vouch));
    }
    out
}

/// The last event that wrote or removed each label's entry, with what it says of it and its
/// line, in one pass over the ledger (looked up per entry, it cost entries × events).
#[allow(clippy::type_complexity)]
fn last_events(
    checked: &strata_audit::Checked,
) -> BTreeMap<&str, (&strata_audit::Event, &TargetEvent, usize)> {
    let mut last = BTreeMap::new();
    for (e, &line) in checked.events.iter().zip(&checked.lines) {
        for t in &e.targets {
            if writes_lock_entry(&t.result) || t.result == "destroyed" {
                last.insert(t.label.as_str(), (e, t, line));
            }
        }
    }
    last
}

/// The labels an event of the ledger wrote into the lock, and that are gone from it with no
/// later event removing them (deleted by hand), with why.
pub(crate) fn removed_without_event(
    checked: &strata_audit::Checked,
    lock: &ReleaseLock,
) -> BTreeMap<String, String> {
    last_events(checked)
        .into_iter()
        .filter(|(label, (_, t, _))| {
            writes_lock_entry(&t.result) && !lock.targets.contains_key(*label)
        })
        .map(|(label, (e, _, _))| {
            (
                label.to_string(),
                format!(
                    "event {} ({} by {}) wrote the release lock's entry for {label}, and it is gone with no event removing it",
                    e.seq, e.action, e.actor
                ),
            )
        })
        .collect()
}

/// When a commit of the repository at `root` was made (nothing when it has no git, or not
/// that commit).
pub(crate) fn commit_time_in(root: &Path) -> impl Fn(&str) -> Option<i64> {
    let repo = strata_graph::git::Repo::open(root).ok();
    move |commit: &str| repo.as_ref()?.commit_time(commit)
}

/// An environment's ledger as read and checked (chain and signatures), with the settings
/// it was checked under and the release lock it explains.
pub(crate) struct Ledger {
    pub checked: strata_audit::Checked,
    /// The chain's and the signatures' problems, by line.
    pub problems: Vec<strata_audit::Problem>,
    pub notes: Vec<String>,
    pub config: strata_graph::manifest::EnvConfig,
    pub lock: ReleaseLock,
}

impl Ledger {
    pub(crate) fn read(root: &Path, env: &str) -> Result<Ledger> {
        let checked = strata_audit::check(&ledger_path(root, env), env).map_err(error)?;
        let mut problems = checked.problems.clone();
        let mut notes = Vec::new();
        let config = env_config(root, env)?;
        event_signing::check_signatures(root, &config, &checked, &mut problems, &mut notes)?;
        problems.sort_by_key(|p| p.line);
        Ok(Ledger {
            checked,
            problems,
            notes,
            config,
            lock: ReleaseLock::read(root, env)?,
        })
    }
}

/// What a source environment's audit trail says of its targets, for a promotion plan.
#[derive(Debug, Default, Clone)]
pub struct Trail {
    /// The lock entries the ledger does not vouch for, with why ([`unvouched`]).
    pub unvouched: BTreeMap<String, String>,
    /// The labels the ledger's last word on is a destroy (and the lock no longer holds):
    /// what a promotion may carry on as a removal. A target the environment never applied
    /// is not among them.
    pub destroyed: BTreeSet<String>,
}

/// The entries of `env`'s release lock that its ledger does not vouch for, with why: an
/// entry no event wrote as it is (edited by hand, or dated before the ledger began), or
/// every entry when the ledger does not verify (a broken chain, a missing or bad
/// signature). A promotion moves only what an event recorded as applied and verified.
pub fn unvouched(root: &Path, env: &str) -> Result<BTreeMap<String, String>> {
    Ok(trail(root, env)?.unvouched)
}

/// [`unvouched`] and what `env`'s ledger recorded as destroyed, from one reading of it.
pub fn trail(root: &Path, env: &str) -> Result<Trail> {
    let Ledger {
        checked,
        problems,
        lock,
        ..
    } = Ledger::read(root, env)?;
    let ledger = format!("environments/{env}/{AUDIT_FILE}");
    if checked.events.is_empty() {
        let why = format!("{ledger} holds no event that wrote it");
        return Ok(Trail {
            unvouched: lock
                .targets
                .keys()
                .map(|l| (l.clone(), why.clone()))
                .collect(),
            destroyed: BTreeSet::new(),
        });
    }
    let destroyed: BTreeSet<String> = last_events(&checked)
        .into_iter()
        .filter(|(label, (_, t, _))| t.result == "destroyed" && !lock.targets.contains_key(*label))
        .map(|(label, _)| label.to_string())
        .collect();
    // A problem in the ledger takes away what events up to it vouch for; an entry written
    // by a valid event after the last problem (a key revoked after a leak, then the
    // environment applied again with a new key) is vouched for.
    let last_problem = problems
        .iter()
        .filter(|p| p.line > 0)
        .max_by_key(|p| p.line)
        .map(|p| {
            (
                p.line,
                format!("{ledger} does not verify (line {}: {})", p.line, p.message),
            )
        });
    let mut out: BTreeMap<String, String> = vouch(&checked, &lock, &commit_time_in(root))
        .into_iter()
        .filter_map(|(label, v)| match v {
            Vouch::Written(line) => match &last_problem {
                Some((at, why)) if line <= *at => Some((
                    label,
                    format!(
                        "{why}, at or after the event that wrote it: apply it again to record it"
                    ),
                )),
                _ => None,
            },
            Vouch::BeforeLedger => Some((
                label,
                format!("no event of {ledger} wrote it (it dates from before the ledger began)"),
            )),
            Vouch::Not(why) => Some((label, why)),
        })
        .collect();
    out.extend(removed_without_event(&checked, &lock));
    Ok(Trail {
        unvouched: out,
        destroyed,
    })
}
