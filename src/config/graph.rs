//! The account dependency graph (petgraph): ordering, cycles, DOT.
//!
//! Invariant: every output is deterministic; nodes are added in address
//! order and ties in orderings are broken by address.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};

use crate::config::{Address, Config};

/// Accounts as nodes, an edge `a -> b` when `a` depends on `b`.
pub struct AccountGraph {
    graph: DiGraph<Address, ()>,
    index: BTreeMap<Address, NodeIndex>,
}

impl AccountGraph {
    /// Builds the graph from `(account, depends_on)` pairs; unknown dependencies are ignored.
    pub fn new<'a, I>(accounts: I) -> AccountGraph
    where
        I: IntoIterator<Item = (&'a Address, &'a [Address])>,
    {
        let mut items: Vec<(&Address, &[Address])> = accounts.into_iter().collect();
        items.sort_by(|a, b| a.0.cmp(b.0));
        let mut graph = DiGraph::new();
        let mut index = BTreeMap::new();
        for (a, _) in &items {
            index.insert((*a).clone(), graph.add_node((*a).clone()));
        }
        for (a, deps) in &items {
            let mut deps: Vec<&Address> = deps.iter().collect();
            deps.sort();
            for d in deps {
                if let Some(&to) = index.get(d) {
                    graph.add_edge(index[*a], to, ());
                }
            }
        }
        AccountGraph { graph, index }
    }

    pub fn from_config(config: &Config) -> AccountGraph {
        AccountGraph::new(
            config
                .accounts
                .values()
                .map(|a| (&a.address, a.depends_on.as_slice())),
        )
    }

    /// Every dependency cycle, each as a path that starts and ends at the
    /// smallest address in it (`a -> b -> a`), in address order.
    pub fn cycles(&self) -> Vec<Vec<Address>> {
        let mut out = Vec::new();
        for scc in tarjan_scc(&self.graph) {
            let self_loop = scc.len() == 1 && self.graph.contains_edge(scc[0], scc[0]);
            if scc.len() < 2 && !self_loop {
                continue;
            }
            let start = *scc
                .iter()
                .min_by(|a, b| self.graph[**a].cmp(&self.graph[**b]))
                .expect("an SCC is never empty");
            out.push(self.cycle_from(start, &scc));
        }
        out.sort();
        out
    }

    /// A shortest cycle through `start` within its strongly connected component.
    fn cycle_from(&self, start: NodeIndex, scc: &[NodeIndex]) -> Vec<Address> {
        use std::collections::VecDeque;
        let mut prev: BTreeMap<NodeIndex, NodeIndex> = BTreeMap::new();
        let mut queue = VecDeque::from([start]);
        let mut found = None;
        'bfs: while let Some(n) = queue.pop_front() {
            let mut next: Vec<NodeIndex> = self
                .graph
                .neighbors(n)
                .filter(|m| scc.contains(m))
                .collect();
            next.sort_by(|a, b| self.graph[*a].cmp(&self.graph[*b]));
            for m in next {
                if m == start {
                    found = Some(n);
                    break 'bfs;
                }
                if let std::collections::btree_map::Entry::Vacant(e) = prev.entry(m) {
                    e.insert(n);
                    queue.push_back(m);
                }
            }
        }
        let mut path = vec![self.graph[start].clone()];
        let mut back = Vec::new();
        let mut cur = found.unwrap_or(start);
        while cur != start {
            back.push(self.graph[cur].clone());
            cur = prev[&cur];
        }
        back.reverse();
        path.extend(back);
        path.push(self.graph[start].clone());
        path
    }

    /// Dependencies first; independent accounts in address order. `None` on a cycle.
    pub fn order(&self) -> Option<Vec<Address>> {
        let mut indegree: BTreeMap<&Address, usize> = BTreeMap::new();
        let mut dependents: BTreeMap<&Address, Vec<&Address>> = BTreeMap::new();
        for (a, &i) in &self.index {
            indegree.entry(a).or_insert(0);
            for d in self.graph.neighbors(i) {
                let dep = &self.graph[d];
                *indegree.entry(a).or_insert(0) += 1;
                dependents.entry(dep).or_default().push(a);
            }
        }
        let mut ready: std::collections::BTreeSet<&Address> = indegree
            .iter()
            .filter(|(_, n)| **n == 0)
            .map(|(a, _)| *a)
            .collect();
        let mut out = Vec::with_capacity(self.index.len());
        while let Some(a) = ready.pop_first() {
            out.push(a.clone());
            for d in dependents.get(a).into_iter().flatten() {
                let n = indegree.get_mut(d).expect("every node has an in-degree");
                *n -= 1;
                if *n == 0 {
                    ready.insert(d);
                }
            }
        }
        (out.len() == self.index.len()).then_some(out)
    }

    /// The graph in Graphviz DOT, deterministic.
    pub fn to_dot(&self, vendor_of: impl Fn(&Address) -> &'static str) -> String {
        let mut s =
            String::from("digraph tether {\n  rankdir = \"RL\";\n  node [shape = \"box\"];\n");
        for a in self.index.keys() {
            let _ = writeln!(
                s,
                "  \"{a}\" [label = \"{a}\", tooltip = \"{}\"];",
                vendor_of(a)
            );
        }
        for (a, &i) in &self.index {
            let mut deps: Vec<&Address> = self.graph.neighbors(i).map(|d| &self.graph[d]).collect();
            deps.sort();
            for d in deps {
                let _ = writeln!(s, "  \"{a}\" -> \"{d}\";");
            }
        }
        s.push_str("}\n");
        s
    }
}
