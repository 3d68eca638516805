//! The sealed dependency graph over target indices: built once, validated acyclic, then
//! only read. Edges point from a target to what it depends on.

use crate::id::TargetId;
use petgraph::algo::toposort;
use petgraph::graph::{DiGraph, NodeIndex};
use std::collections::VecDeque;

#[derive(Debug, Clone)]
pub struct Graph {
    deps: Vec<Vec<TargetId>>,
    dependents: Vec<Vec<TargetId>>,
    /// Topological order, dependencies before dependents; ties broken by index.
    order: Vec<TargetId>,
}

impl Graph {
    /// Builds the graph from each node's dependency list, or returns a cycle as the list of
    /// nodes around it with the first node repeated at the end.
    pub fn new(deps: Vec<Vec<TargetId>>) -> Result<Graph, Vec<TargetId>> {
        let n = deps.len();
        let mut g: DiGraph<(), ()> = DiGraph::with_capacity(n, deps.iter().map(Vec::len).sum());
        for _ in 0..n {
            g.add_node(());
        }
        for (from, ds) in deps.iter().enumerate() {
            for &to in ds {
                g.add_edge(NodeIndex::new(to.index()), NodeIndex::new(from), ());
            }
        }
        let order = match toposort(&g, None) {
            Ok(order) => order
                .into_iter()
                .map(|n| TargetId::from_index(n.index()))
                .collect(),
            Err(cycle) => {
                return Err(find_cycle(
                    &deps,
                    TargetId::from_index(cycle.node_id().index()),
                ))
            }
        };
        let mut dependents = vec![Vec::new(); n];
        for (from, ds) in TargetId::all(n).zip(&deps) {
            for &to in ds {
                dependents[to].push(from);
            }
        }
        Ok(Graph {
            deps,
            dependents,
            order,
        })
    }

    pub fn deps(&self, node: TargetId) -> &[TargetId] {
        &self.deps[node]
    }

    pub fn dependents(&self, node: TargetId) -> &[TargetId] {
        &self.dependents[node]
    }

    /// Dependencies first.
    pub fn order(&self) -> &[TargetId] {
        &self.order
    }

    pub fn len(&self) -> usize {
        self.deps.len()
    }

    pub fn is_empty(&self) -> bool {
        self.deps.is_empty()
    }

    /// The nodes grouped by depth, shallowest first: every dependency of a node is in an
    /// earlier group, so the nodes of one group can be processed in parallel.
    pub fn levels(&self) -> Vec<Vec<TargetId>> {
        let depths = self.depths();
        let mut levels = vec![Vec::new(); depths.iter().max().map_or(0, |d| d + 1)];
        for &n in &self.order {
            levels[depths[n]].push(n);
        }
        levels
    }

    /// Depth of each node (indexed by its id): 0 for nodes without dependencies, else 1 +
    /// the deepest dependency.
    pub fn depths(&self) -> Vec<usize> {
        let mut depth = vec![0; self.len()];
        for &n in &self.order {
            depth[n] = self.deps[n]
                .iter()
                .map(|&d| depth[d] + 1)
                .max()
                .unwrap_or(0);
        }
        depth
    }
}

/// The shortest cycle through `start`, as `start -> ... -> start`.
fn find_cycle(deps: &[Vec<TargetId>], start: TargetId) -> Vec<TargetId> {
    let mut parent: Vec<Option<TargetId>> = vec![None; deps.len()];
    let mut queue = VecDeque::from([start]);
    while let Some(n) = queue.pop_front() {
        for &d in &deps[n] {
            if d == start {
                let mut middle = Vec::new();
                let mut cur = n;
                while cur != start {
                    middle.push(cur);
                    cur = parent[cur].expect("on the path from start");
                }
                middle.reverse();
                let mut path = vec![start];
                path.extend(middle);
                path.push(start);
                return path;
            }
            if parent[d].is_none() {
                parent[d] = Some(n);
                queue.push_back(d);
            }
        }
    }
    vec![start, start]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[usize]) -> Vec<TargetId> {
        v.iter().map(|&i| TargetId::from_index(i)).collect()
    }

    fn graph(deps: &[&[usize]]) -> Result<Graph, Vec<TargetId>> {
        Graph::new(deps.iter().map(|d| ids(d)).collect())
    }

    #[test]
    fn topo_order_and_depths() {
        // 0 <- 1 <- 2, 0 <- 2
        let g = graph(&[&[], &[0], &[1, 0]]).unwrap();
        assert_eq!(g.order(), ids(&[0, 1, 2]));
        assert_eq!(g.depths(), vec![0, 1, 2]);
        assert_eq!(g.dependents(TargetId::from_index(0)), ids(&[1, 2]));
    }

    #[test]
    fn cycle_path() {
        // 0 -> 1 -> 2 -> 0, 3 -> 0
        let err = graph(&[&[1], &[2], &[0], &[0]]).unwrap_err();
        assert_eq!(err.len(), 4);
        assert_eq!(err.first(), err.last());
        for w in err.windows(2) {
            let deps = [ids(&[1]), ids(&[2]), ids(&[0]), ids(&[0])];
            assert!(deps[w[0].index()].contains(&w[1]), "{err:?}");
        }
        let self_loop = graph(&[&[0]]).unwrap_err();
        assert_eq!(self_loop, ids(&[0, 0]));
    }
}
