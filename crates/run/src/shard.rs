//! Splitting a run across CI runners.
//!
//! The unit is a target: its tasks form a chain (fmt, validate, init, plan...) that must run
//! in order and in one place. Tasks of different targets exchange nothing: a plan reads its
//! upstream stacks' *state*, never their plan results, and every result goes through the
//! shared cache. So targets can be spread freely; each shard runs `strata check <labels>`.
//! Shards are balanced by task count (longest processing time first: the heaviest targets
//! are placed first, each on the least loaded shard), and are deterministic for a given
//! graph.

use crate::task::{plan_tasks, Mode};
use serde::Serialize;
use strata_graph::model::Model;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Shard {
    /// 1-based.
    pub shard: usize,
    /// Space-separated labels, ready for a command line.
    pub targets: String,
    pub labels: Vec<String>,
    pub tasks: usize,
}

pub fn shards(model: &Model, selected: &[usize], envs: &[String], n: usize) -> Vec<Shard> {
    let n = n.max(1);
    let mut costs: Vec<(usize, usize)> = selected
        .iter()
        .map(|&t| (plan_tasks(model, &[t], envs, Mode::Check).len(), t))
        .collect();
    // Heaviest first; ties by label so the result is stable.
    costs.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then_with(|| model.targets[a.1].label.cmp(&model.targets[b.1].label))
    });
    let mut load = vec![0usize; n];
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (cost, t) in costs {
        let k = (0..n).min_by_key(|&k| (load[k], k)).expect("n >= 1");
        load[k] += cost;
        members[k].push(t);
    }
    members
        .into_iter()
        .enumerate()
        .filter(|(_, m)| !m.is_empty())
        .map(|(k, mut m)| {
            m.sort_by(|a, b| model.targets[*a].label.cmp(&model.targets[*b].label));
            let labels: Vec<String> = m.iter().map(|&t| model.targets[t].label.clone()).collect();
            Shard {
                shard: k + 1,
                targets: labels.join(" "),
                labels,
                tasks: load[k],
            }
        })
        .collect()
}
