//! The sealed dependency graph over target indices: built once, validated acyclic, then
//! only read. Edges point from a target to what it depends on.

use petgraph::algo::toposort;
use petgraph::graph::{DiGraph, NodeIndex};
use std::collections::VecDeque;

#[derive(Debug, Clone)]
pub struct Graph {
    deps: Vec<Vec<usize>>,
    dependents: Vec<Vec<usize>>,
    /// Topological order, dependencies before dependents; ties broken by index.
    order: Vec<usize>,
}

impl Graph {
    /// Builds the graph from each node's dependency list, or returns a cycle as the list of
    /// nodes around it with the first node repeated at the end.
    pub fn new(deps: Vec<Vec<usize>>) -> Result<Graph, Vec<usize>> {
        let n = deps.len();
        let mut g: DiGraph<(), ()> = DiGraph::with_capacity(n, deps.iter().map(Vec::len).sum());
        for _ in 0..n {
            g.add_node(());
        }
        for (from, ds) in deps.iter().enumerate() {
            for &to in ds {
                g.add_edge(NodeIndex::new(to), NodeIndex::new(from), ());
            }
        }
        let order = match toposort(&g, None) {
            Ok(order) => order.into_iter().map(NodeIndex::index).collect(),
            Err(cycle) => return Err(find_cycle(&deps, cycle.node_id().index())),
        };
        let mut dependents = vec![Vec::new(); n];
        for (from, ds) in deps.iter().enumerate() {
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

    pub fn deps(&self, node: usize) -> &[usize] {
        &self.deps[node]
    }

    pub fn dependents(&self, node: usize) -> &[usize] {
        &self.dependents[node]
    }

    /// Dependencies first.
    pub fn order(&self) -> &[usize] {
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
    pub fn levels(&self) -> Vec<Vec<usize>> {
        let depths = self.depths();
        let mut levels = vec![Vec::new(); depths.iter().max().map_or(0, |d| d + 1)];
        for &n in &self.order {
            levels[depths[n]].push(n);
        }
        levels
    }

    /// Depth of each node: 0 for nodes without dependencies, else 1 + the deepest dependency.
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
fn find_cycle(deps: &[Vec<usize>], start: usize) -> Vec<usize> {
    let mut parent = vec![usize::MAX; deps.len()];
    let mut queue = VecDeque::from([start]);
    while let Some(n) = queue.pop_front() {
        for &d in &deps[n] {
            if d == start {
                let mut middle = Vec::new();
                let mut cur = n;
                while cur != start {
                    middle.push(cur);
                    cur = parent[cur];
                }
                middle.reverse();
                let mut path = vec![start];
                path.extend(middle);
                path.push(start);
                return path;
            }
            if parent[d] == usize::MAX {
                parent[d] = n;
                queue.push_back(d);
            }
        }
    }
    vec![start, start]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topo_order_and_depths() {
        // 0 <- 1 <- 2, 0 <- 2
        let g = Graph::new(vec![vec![], vec![0], vec![1, 0]]).unwrap();
        assert_eq!(g.order(), &[0, 1, 2]);
        assert_eq!(g.depths(), vec![0, 1, 2]);
        assert_eq!(g.dependents(0), &[1, 2]);
    }

    #[test]
    fn cycle_path() {
        // 0 -> 1 -> 2 -> 0, 3 -> 0
        let err = Graph::new(vec![vec![1], vec![2], vec![0], vec![0]]).unwrap_err();
        assert_eq!(err.len(), 4);
        assert_eq!(err.first(), err.last());
        for w in err.windows(2) {
            let deps = [vec![1], vec![2], vec![0], vec![0]];
            assert!(deps[w[0]].contains(&w[1]), "{err:?}");
        }
        let self_loop = Graph::new(vec![vec![0]]).unwrap_err();
        assert_eq!(self_loop, vec![0, 0]);
    }
}
