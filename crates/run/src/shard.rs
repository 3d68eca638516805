//! Splitting a run across CI runners.
//!
//! The unit is a target: its tasks form a chain (fmt, validate, init, plan...) that must run
//! in order and in one place. Tasks of different targets exchange nothing: a plan reads its
//! upstream stacks' *state*, never their plan results, and every result goes through the
//! shared cache. So targets can be spread freely; each shard runs `strata check <labels>`.
//! Shards are balanced by task count (longest processing time first: the heaviest targets
//! are placed first, each on the least loaded shard), and are deterministic for a given
//! graph.

use crate::select::Selection;
use crate::task::{plan_tasks_in, Mode};
use serde::Serialize;
use strata_graph::id::TargetId;
use strata_graph::model::Model;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Shard {
    /// 1-based.
    pub shard: usize,
    /// The number of shards asked for (`--shard SHARD/OF` runs this shard's part).
    pub of: usize,
    /// Space-separated labels, ready for a command line.
    pub targets: String,
    pub labels: Vec<String>,
    pub tasks: usize,
}

/// Splits a selection into at most `n` shards (`n` >= 1), balanced by task count. Empty
/// shards are left out.
pub fn shards(model: &Model, selection: &Selection, envs: &[String], n: usize) -> Vec<Shard> {
    assign(model, selection, envs, n)
        .into_iter()
        .enumerate()
        // Shard 1 also reports the deleted stacks: it runs even when nothing else does.
        .filter(|(k, (m, _))| !m.is_empty() || (*k == 0 && !selection.deleted_stacks.is_empty()))
        .map(|(k, (m, tasks))| {
            let labels: Vec<String> = m.iter().map(|&t| model.targets[t].label.clone()).collect();
            Shard {
                shard: k + 1,
                of: n,
                targets: labels.join(" "),
                labels,
                tasks,
            }
        })
        .collect()
}

/// The part of a selection that shard `k` (1-based) of `n` runs: the same targets
/// [`shards`] lists for it, with their environments narrowed as in the selection. Every
/// runner computing this from the same checkout and base gets the same split.
pub fn shard_of(
    model: &Model,
    selection: &Selection,
    envs: &[String],
    k: usize,
    n: usize,
) -> Selection {
    let members = assign(model, selection, envs, n)
        .into_iter()
        .nth(k.saturating_sub(1))
        .map(|(m, _)| m)
        .unwrap_or_default();
    let mut targets = members;
    targets.sort_unstable();
    Selection {
        target_envs: selection
            .target_envs
            .iter()
            .filter(|(t, _)| targets.contains(t))
            .map(|(t, e)| (*t, e.clone()))
            .collect(),
        named: selection
            .named
            .iter()
            .filter(|t| targets.contains(t))
            .copied()
            .collect(),
        targets,
        // Said once, by the first shard.
        deleted_stacks: if k == 1 {
            selection.deleted_stacks.clone()
        } else {
            Vec::new()
        },
        no_longer_reading: selection.no_longer_reading.clone(),
        base: selection.base.clone(),
        recorded: selection.recorded.clone(),
    }
}

/// Each shard's targets (sorted by label) and task count.
fn assign(
    model: &Model,
    selection: &Selection,
    envs: &[String],
    n: usize,
) -> Vec<(Vec<TargetId>, usize)> {
    let n = n.max(1);
    let mut costs: Vec<(usize, TargetId)> = selection
        .targets
        .iter()
        .map(|&t| {
            let cost =
                plan_tasks_in(model, &[t], envs, Some(&selection.target_envs), Mode::Check).len();
            (cost, t)
        })
        // A target affected only in environments this run does not work in has no task
        // here (see `plan_tasks_in`), nor has a target with no tasks of its own (a policy,
        // whose governed targets are selected themselves): it is given to no shard, and no
        // runner starts for it.
        .filter(|&(cost, t)| {
            cost > 0
                && selection
                    .target_envs
                    .get(&t)
                    .is_none_or(|only| envs.iter().any(|e| only.contains(e)))
        })
        .collect();
    // Heaviest first; ties by label so the result is stable.
    costs.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then_with(|| model.targets[a.1].label.cmp(&model.targets[b.1].label))
    });
    let mut load = vec![0usize; n];
    let mut members: Vec<Vec<TargetId>> = vec![Vec::new(); n];
    for (cost, t) in costs {
        let k = (0..n).min_by_key(|&k| (load[k], k)).expect("n >= 1");
        load[k] += cost;
        members[k].push(t);
    }
    members
        .into_iter()
        .zip(load)
        .map(|(mut m, tasks)| {
            m.sort_by(|a, b| model.targets[*a].label.cmp(&model.targets[*b].label));
            (m, tasks)
        })
        .collect()
}
