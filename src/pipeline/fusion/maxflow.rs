//! Minimum s-t cut by maximum flow, for the 2D superpixel CRF (DeepOrgan Sec. 2.6, after Boykov
//! and Funka-Lea 2006).
//!
//! Written here rather than taken from a crate: the graphs are tiny (one axial slice's candidate
//! superpixels: tens to a few hundred nodes, a few edges each), the solver must be exactly
//! deterministic and allocation-bounded, and the maintained Rust max-flow crates either pull in
//! large generic graph libraries or work on integer capacities. The algorithm is Dinic's
//! (breadth-first level graph, blocking flows by depth-first search), which is simple to verify;
//! Boykov-Kolmogorov's advantage (reusing search trees on grid graphs with many short paths) does
//! not matter at this size. Tested against brute-force enumeration of all cuts.

use std::collections::VecDeque;

/// Residual capacities below this are treated as saturated (capacities are O(1) energies).
const EPS: f64 = 1e-12;

#[derive(Debug, Clone, Copy)]
struct Arc {
    to: usize,
    cap: f64,
}

/// A flow network with a source and a sink terminal and `n` inner nodes.
#[derive(Debug, Clone)]
pub struct Graph {
    n: usize,
    /// arcs in pairs: `2k` forward, `2k + 1` its reverse
    arcs: Vec<Arc>,
    adjacency: Vec<Vec<usize>>,
}

impl Graph {
    /// A graph with `n` inner nodes; the source is node `n` and the sink node `n + 1`.
    pub fn new(n: usize) -> Self {
        Graph {
            n,
            arcs: Vec::new(),
            adjacency: vec![Vec::new(); n + 2],
        }
    }

    fn source(&self) -> usize {
        self.n
    }

    fn sink(&self) -> usize {
        self.n + 1
    }

    fn add_arc(&mut self, a: usize, b: usize, cap_ab: f64, cap_ba: f64) {
        let k = self.arcs.len();
        self.arcs.push(Arc {
            to: b,
            cap: cap_ab.max(0.0),
        });
        self.arcs.push(Arc {
            to: a,
            cap: cap_ba.max(0.0),
        });
        self.adjacency[a].push(k);
        self.adjacency[b].push(k + 1);
    }

    /// Terminal capacities of node `i`: `to_source` is paid when `i` ends on the sink side,
    /// `to_sink` when it ends on the source side. Negative values count as 0.
    pub fn add_terminal(&mut self, i: usize, to_source: f64, to_sink: f64) {
        let (s, t) = (self.source(), self.sink());
        self.add_arc(s, i, to_source, 0.0);
        self.add_arc(i, t, to_sink, 0.0);
    }

    /// An undirected edge between inner nodes `i` and `j` with capacity `w` both ways (paid
    /// when the two end on different sides).
    pub fn add_edge(&mut self, i: usize, j: usize, w: f64) {
        self.add_arc(i, j, w, w);
    }

    fn levels(&self) -> Option<Vec<u32>> {
        let mut level = vec![u32::MAX; self.n + 2];
        let mut queue = VecDeque::new();
        level[self.source()] = 0;
        queue.push_back(self.source());
        while let Some(u) = queue.pop_front() {
            for &k in &self.adjacency[u] {
                let a = self.arcs[k];
                if a.cap > EPS && level[a.to] == u32::MAX {
                    level[a.to] = level[u] + 1;
                    queue.push_back(a.to);
                }
            }
        }
        (level[self.sink()] != u32::MAX).then_some(level)
    }

    /// One augmenting path along the level graph (iterative DFS); returns the flow pushed.
    fn augment(&mut self, level: &[u32], next: &mut [usize]) -> f64 {
        let (s, t) = (self.source(), self.sink());
        let mut path: Vec<usize> = Vec::new();
        let mut u = s;
        loop {
            if u == t {
                let f = path
                    .iter()
                    .map(|&k| self.arcs[k].cap)
                    .fold(f64::INFINITY, f64::min);
                for &k in &path {
                    self.arcs[k].cap -= f;
                    self.arcs[k ^ 1].cap += f;
                }
                return f;
            }
            let mut advanced = false;
            while next[u] < self.adjacency[u].len() {
                let k = self.adjacency[u][next[u]];
                let a = self.arcs[k];
                if a.cap > EPS && level[a.to] == level[u] + 1 {
                    path.push(k);
                    u = a.to;
                    advanced = true;
                    break;
                }
                next[u] += 1;
            }
            if !advanced {
                // dead end: retreat and skip the arc that led here
                match path.pop() {
                    Some(k) => {
                        u = self.arcs[k ^ 1].to;
                        next[u] += 1;
                    }
                    None => return 0.0,
                }
            }
        }
    }

    /// Computes the maximum flow; returns its value and, for every inner node, whether it is on
    /// the source side of the minimum cut (reachable from the source in the residual graph).
    pub fn min_cut(mut self) -> (f64, Vec<bool>) {
        let mut flow = 0.0;
        while let Some(level) = self.levels() {
            let mut next = vec![0usize; self.n + 2];
            loop {
                let f = self.augment(&level, &mut next);
                if f <= EPS {
                    break;
                }
                flow += f;
            }
        }
        // residual reachability from the source
        let mut seen = vec![false; self.n + 2];
        let mut stack = vec![self.source()];
        seen[self.source()] = true;
        while let Some(u) = stack.pop() {
            for &k in &self.adjacency[u] {
                let a = self.arcs[k];
                if a.cap > EPS && !seen[a.to] {
                    seen[a.to] = true;
                    stack.push(a.to);
                }
            }
        }
        seen.truncate(self.n);
        (flow, seen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn cut_cost(n: usize, t: &[(f64, f64)], e: &[(usize, usize, f64)], side: &[bool]) -> f64 {
        let mut c = 0.0;
        for i in 0..n {
            c += if side[i] { t[i].1 } else { t[i].0 };
        }
        for &(i, j, w) in e {
            if side[i] != side[j] {
                c += w;
            }
        }
        c
    }

    #[test]
    fn matches_brute_force_on_random_graphs() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for _ in 0..300 {
            let n = rng.random_range(1..=9);
            let t: Vec<(f64, f64)> = (0..n)
                .map(|_| (rng.random_range(0.0..2.0), rng.random_range(0.0..2.0)))
                .collect();
            let mut e = Vec::new();
            for i in 0..n {
                for j in i + 1..n {
                    if rng.random_bool(0.4) {
                        e.push((i, j, rng.random_range(0.0..1.5)));
                    }
                }
            }
            let mut g = Graph::new(n);
            for (i, &(a, b)) in t.iter().enumerate() {
                g.add_terminal(i, a, b);
            }
            for &(i, j, w) in &e {
                g.add_edge(i, j, w);
            }
            let (flow, side) = g.min_cut();
            let best = (0..1u32 << n)
                .map(|m| {
                    let s: Vec<bool> = (0..n).map(|i| m >> i & 1 == 1).collect();
                    cut_cost(n, &t, &e, &s)
                })
                .fold(f64::INFINITY, f64::min);
            assert!(
                (flow - best).abs() < 1e-9,
                "flow {flow} vs brute force {best}"
            );
            assert!((cut_cost(n, &t, &e, &side) - best).abs() < 1e-9);
        }
    }

    #[test]
    fn strong_edges_keep_neighbours_together() {
        // node 0 prefers the source, node 1 mildly the sink; a strong edge joins them
        let mut g = Graph::new(2);
        g.add_terminal(0, 5.0, 0.0);
        g.add_terminal(1, 0.0, 1.0);
        g.add_edge(0, 1, 10.0);
        let (flow, side) = g.min_cut();
        assert_eq!(side, vec![true, true]);
        assert!((flow - 1.0).abs() < 1e-12);
    }
}
