//! Random-forest inference for the superpixel candidate cascade (Farag et al. 2014, as used by
//! DeepOrgan, Roth et al. 2015): a forest of binary decision trees over a fixed-length feature
//! vector gives each candidate a probability of being pancreas.
//!
//! Forests are trained by the `pancseg-train` crate (`forest_train`) and shipped as a small,
//! versioned binary file that this module reads and validates without the training crate.
//!
//! # Model
//!
//! A [`Tree`] is stored as flat node arrays; node 0 is the root. A node whose `feature` is
//! [`LEAF`] (`u32::MAX`) is a leaf and its `value` is P(positive) in `[0, 1]`. An internal node
//! sends `x[feature] <= threshold` to `left`, everything else to `right`; **NaN feature values
//! go left** (the comparison `x > threshold` is false for NaN). Children always have a larger
//! index than their parent, so every path ends at a leaf. Internal nodes also carry a `value`
//! (the training P(positive) of that node, informative only).
//!
//! A [`Forest`] averages the leaf values of its trees ([`Forest::predict_raw`]) and then
//! reweights the positive class by `positive_weight` = w ([`Forest::predict`]):
//! `p' = w·p / (w·p + (1 − p))`; w = 1 leaves the mean unchanged. This lets a forest trained
//! on rebalanced classes be calibrated back to the deployment prior without retraining.
//!
//! # File format, version 1
//!
//! All integers and floats are little endian; floats are IEEE-754 binary32.
//!
//! | offset | size | content |
//! |---|---|---|
//! | 0 | 4 | magic `PSRF` (bytes `50 53 52 46`) |
//! | 4 | 4 | format version, u32 = 1 |
//! | 8 | 4 | `n_features`, u32 |
//! | 12 | 4 | `n_trees`, u32 (≥ 1) |
//! | 16 | 4 | `positive_weight`, f32 (finite, > 0) |
//! | 20 | … | `n_trees` trees, one after the other |
//! | end − 32 | 32 | SHA-256 of every preceding byte of the file |
//!
//! Each tree is `n_nodes` (u32, ≥ 1) followed by `n_nodes` records of 20 bytes:
//! `feature` u32, `threshold` f32, `left` u32, `right` u32, `value` f32. Leaves have
//! `feature = 0xFFFF_FFFF`; their `threshold`, `left` and `right` are ignored and written as 0.
//!
//! [`Forest::from_bytes`] / [`Forest::load`] check, in this order: the magic, the version (a
//! newer version is reported as such), the length, that every tree's node count fits the file
//! and that no bytes trail the last tree, the checksum, and then every value: internal nodes
//! have `feature < n_features` and children `parent < child < n_nodes`, thresholds are finite,
//! values are in `[0, 1]`, `positive_weight` is finite and positive. Any failure is an
//! [`Error::Model`] naming the file and the reason; loading never panics and never allocates
//! more than the file size implies. Readers must reject versions they do not know; a change of
//! layout or semantics bumps [`FORMAT_VERSION`].

use crate::error::{Error, Result};
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use std::path::Path;

/// File magic, the first four bytes of every forest file.
pub const MAGIC: [u8; 4] = *b"PSRF";
/// The format version this library writes and the newest it reads.
pub const FORMAT_VERSION: u32 = 1;
/// `feature` value that marks a leaf.
pub const LEAF: u32 = u32::MAX;

/// Largest feature-vector length a forest file may declare (the cascade uses a few hundred).
pub const MAX_FEATURES: usize = 1 << 16;
const HEADER_LEN: usize = 20;
const NODE_LEN: usize = 20;
const CHECKSUM_LEN: usize = 32;

/// One binary decision tree as flat node arrays (all five arrays have the same length).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Tree {
    /// Feature index tested by each node, or [`LEAF`].
    pub feature: Vec<u32>,
    /// `x[feature] <= threshold` (or NaN) goes left.
    pub threshold: Vec<f32>,
    /// Left child index (> the node's index); 0 for leaves.
    pub left: Vec<u32>,
    /// Right child index (> the node's index); 0 for leaves.
    pub right: Vec<u32>,
    /// P(positive) in `[0, 1]`: the prediction at leaves, informative at internal nodes.
    pub value: Vec<f32>,
}

impl Tree {
    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.feature.len()
    }

    /// True for a tree without nodes (never valid in a forest).
    pub fn is_empty(&self) -> bool {
        self.feature.is_empty()
    }

    /// The leaf value reached by `x`. NaN feature values go left.
    ///
    /// # Panics
    /// If `x` is shorter than a tested feature index or the tree is malformed (use
    /// [`Forest::validate`]; forests from [`Forest::load`] are always valid).
    pub fn predict(&self, x: &[f32]) -> f32 {
        let mut i = 0usize;
        loop {
            let f = self.feature[i];
            if f == LEAF {
                return self.value[i];
            }
            let v = x[f as usize];
            // `!(v > t)` sends NaN left.
            let next = if v > self.threshold[i] {
                self.right[i]
            } else {
                self.left[i]
            } as usize;
            if next <= i {
                // Malformed hand-built tree: stop rather than loop forever.
                return self.value[i];
            }
            i = next;
        }
    }

    /// Checks the node arrays; `Err` holds a human-readable reason.
    fn check(&self, t: usize, n_features: usize) -> std::result::Result<(), String> {
        let n = self.feature.len();
        if n == 0 {
            return Err(format!("tree {t} has no nodes"));
        }
        if self.threshold.len() != n
            || self.left.len() != n
            || self.right.len() != n
            || self.value.len() != n
        {
            return Err(format!("tree {t}: node arrays have different lengths"));
        }
        if n > u32::MAX as usize {
            return Err(format!("tree {t} has too many nodes ({n})"));
        }
        for i in 0..n {
            let value = self.value[i];
            if !(0.0..=1.0).contains(&value) {
                return Err(format!(
                    "tree {t} node {i}: value {value} is outside [0, 1]"
                ));
            }
            let threshold = self.threshold[i];
            if !threshold.is_finite() {
                return Err(format!(
                    "tree {t} node {i}: threshold {threshold} is not finite"
                ));
            }
            let f = self.feature[i];
            if f == LEAF {
                continue;
            }
            if f as usize >= n_features {
                return Err(format!(
                    "tree {t} node {i}: feature {f} is out of range (n_features = {n_features})"
                ));
            }
            for (side, child) in [("left", self.left[i]), ("right", self.right[i])] {
                let c = child as usize;
                if c <= i || c >= n {
                    return Err(format!(
                        "tree {t} node {i}: {side} child {child} must be greater than {i} and \
                         less than the node count {n}"
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Rows per block of [`Forest::predict_many`]: a block's rows (51 or 57 features in the cascade,
/// about 13 kB) stay in L1 while every tree passes over them.
const ROW_BLOCK: usize = 64;

/// A tree's nodes interleaved for inference: a node's feature, threshold and both children in
/// one 16-byte record. Leaves (and the stops of [`Tree::predict`]'s guard against a child that
/// does not come after its parent) point to themselves, so a walk of `depth` steps ends on the
/// same node as [`Tree::predict`] whatever the path; [`PackedTree::predict_lanes`] walks
/// [`LANES`] rows at once in lockstep without a data-dependent branch, which lets the CPU overlap
/// their node loads (one walk alone is a chain of dependent loads and mispredicted branches).
struct PackedTree<'a> {
    nodes: Vec<PackedNode>,
    value: &'a [f32],
    /// Longest root-to-leaf path, in steps.
    depth: usize,
}

#[derive(Clone, Copy)]
struct PackedNode {
    feature: u32,
    threshold: f32,
    /// Left, then right child.
    children: [u32; 2],
}

/// Rows walked together by [`PackedTree::predict_lanes`].
const LANES: usize = 8;

impl<'a> PackedTree<'a> {
    /// Packs a tree of a forest with at least one feature.
    ///
    /// # Panics
    /// If a child index is out of range (a malformed tree, as for [`Tree::predict`]).
    fn new(tree: &'a Tree) -> Self {
        let n = tree.len();
        let nodes: Vec<PackedNode> = (0..n)
            .map(|i| {
                if tree.feature[i] == LEAF {
                    return PackedNode {
                        feature: 0,
                        threshold: 0.0,
                        children: [i as u32; 2],
                    };
                }
                let stop = |c: u32| if c as usize <= i { i as u32 } else { c };
                PackedNode {
                    feature: tree.feature[i],
                    threshold: tree.threshold[i],
                    children: [stop(tree.left[i]), stop(tree.right[i])],
                }
            })
            .collect();
        // children come after their parents: depths bottom-up
        let mut depth = vec![0usize; n];
        for i in (0..n).rev() {
            depth[i] = nodes[i]
                .children
                .iter()
                .filter(|&&c| c as usize != i)
                .map(|&c| depth[c as usize] + 1)
                .max()
                .unwrap_or(0);
        }
        PackedTree {
            nodes,
            value: &tree.value,
            depth: depth.first().copied().unwrap_or(0),
        }
    }

    /// The leaf values reached by the rows `xs` (the same as [`Tree::predict`] on each).
    fn predict_lanes(&self, xs: &[&[f32]; LANES]) -> [f32; LANES] {
        let mut at = [0usize; LANES];
        for _ in 0..self.depth {
            for (i, x) in at.iter_mut().zip(xs) {
                let node = self.nodes[*i];
                // `!(v > t)` sends NaN left
                *i = node.children[usize::from(x[node.feature as usize] > node.threshold)] as usize;
            }
        }
        at.map(|i| self.value[i])
    }
}

/// A random forest: the mean of its trees' leaf values, reweighted by `positive_weight`.
#[derive(Debug, Clone, PartialEq)]
pub struct Forest {
    /// Length of the feature vectors the forest expects.
    pub n_features: usize,
    /// Positive-class weight w applied after averaging: `p' = w·p / (w·p + 1 − p)`.
    pub positive_weight: f32,
    /// The trees (at least one).
    pub trees: Vec<Tree>,
}

impl Forest {
    /// Calibrated probability of the positive class for one feature vector: the mean of the
    /// trees' leaf values ([`Forest::predict_raw`]), then reweighted by `positive_weight`.
    /// NaN feature values go left at every split.
    ///
    /// # Panics
    /// If `x.len() != n_features` or the forest is malformed (see [`Forest::validate`]).
    pub fn predict(&self, x: &[f32]) -> f32 {
        reweight(self.predict_raw(x), self.positive_weight)
    }

    /// Mean of the trees' leaf values, without the `positive_weight` reweighting.
    ///
    /// # Panics
    /// If `x.len() != n_features` or the forest is malformed (see [`Forest::validate`]).
    pub fn predict_raw(&self, x: &[f32]) -> f32 {
        assert_eq!(
            x.len(),
            self.n_features,
            "feature vector length does not match the forest"
        );
        if self.trees.is_empty() {
            return f32::NAN;
        }
        let sum: f64 = self.trees.iter().map(|t| f64::from(t.predict(x))).sum();
        (sum / self.trees.len() as f64) as f32
    }

    /// [`Forest::predict`] on each row of a row-major `n_rows × n_features` matrix, in parallel.
    /// The result does not depend on the number of threads.
    ///
    /// # Panics
    /// If `rows.len() != n_rows * n_features` or the forest is malformed.
    pub fn predict_many(&self, rows: &[f32], n_rows: usize) -> Vec<f32> {
        assert_eq!(
            Some(rows.len()),
            n_rows.checked_mul(self.n_features),
            "matrix size does not match n_rows × n_features"
        );
        if self.n_features == 0 || self.trees.is_empty() {
            return vec![self.predict(&[]); n_rows];
        }
        let packed: Vec<PackedTree> = self.trees.iter().map(PackedTree::new).collect();
        let n_trees = self.trees.len() as f64;
        rows.par_chunks(self.n_features * ROW_BLOCK)
            .flat_map_iter(|block| {
                let rows: Vec<&[f32]> = block.chunks(self.n_features).collect();
                // tree by tree over the block, so that a tree's nodes stay in cache, LANES rows
                // at a time (the last group padded with the block's first row); each row's sum
                // still adds its trees in order, exactly as `predict_raw` does
                let mut sums = vec![-0.0f64; rows.len()];
                for tree in &packed {
                    for (g, group) in rows.chunks(LANES).enumerate() {
                        let xs: [&[f32]; LANES] =
                            std::array::from_fn(|l| group.get(l).copied().unwrap_or(rows[0]));
                        let leaf = tree.predict_lanes(&xs);
                        for (sum, v) in sums[g * LANES..].iter_mut().zip(&leaf[..group.len()]) {
                            *sum += f64::from(*v);
                        }
                    }
                }
                sums.into_iter()
                    .map(move |sum| reweight((sum / n_trees) as f32, self.positive_weight))
            })
            .collect()
    }

    /// Checks that the forest is well formed (the same checks as loading, apart from the
    /// checksum): at least one tree, consistent node arrays, children after their parent,
    /// features in range, finite thresholds, values in `[0, 1]`, finite positive weight.
    pub fn validate(&self) -> Result<()> {
        self.check()
            .map_err(|reason| Error::InvalidArgument(format!("invalid forest: {reason}")))
    }

    fn check(&self) -> std::result::Result<(), String> {
        if self.n_features > MAX_FEATURES {
            return Err(format!("too many features ({})", self.n_features));
        }
        if self.trees.is_empty() {
            return Err("the forest has no trees".into());
        }
        if self.trees.len() > u32::MAX as usize {
            return Err(format!("too many trees ({})", self.trees.len()));
        }
        let w = self.positive_weight;
        if !(w.is_finite() && w > 0.0) {
            return Err(format!(
                "positive_weight {w} is not a finite positive number"
            ));
        }
        for (t, tree) in self.trees.iter().enumerate() {
            tree.check(t, self.n_features)?;
        }
        Ok(())
    }

    /// Serializes to the version-1 file format (see the module documentation). The bytes of a
    /// forest that fails [`Forest::validate`] do not load; [`Forest::save`] checks first.
    pub fn to_bytes(&self) -> Vec<u8> {
        let n_nodes: usize = self.trees.iter().map(Tree::len).sum();
        let mut out = Vec::with_capacity(
            HEADER_LEN + 4 * self.trees.len() + NODE_LEN * n_nodes + CHECKSUM_LEN,
        );
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&(self.n_features as u32).to_le_bytes());
        out.extend_from_slice(&(self.trees.len() as u32).to_le_bytes());
        out.extend_from_slice(&self.positive_weight.to_le_bytes());
        for tree in &self.trees {
            let n = tree.len();
            out.extend_from_slice(&(n as u32).to_le_bytes());
            for i in 0..n {
                let leaf = tree.feature[i] == LEAF;
                let get = |v: &Vec<u32>| {
                    if leaf {
                        0
                    } else {
                        v.get(i).copied().unwrap_or(0)
                    }
                };
                let threshold = if leaf {
                    0.0
                } else {
                    tree.threshold.get(i).copied().unwrap_or(f32::NAN)
                };
                out.extend_from_slice(&tree.feature[i].to_le_bytes());
                out.extend_from_slice(&threshold.to_le_bytes());
                out.extend_from_slice(&get(&tree.left).to_le_bytes());
                out.extend_from_slice(&get(&tree.right).to_le_bytes());
                let value = tree.value.get(i).copied().unwrap_or(f32::NAN);
                out.extend_from_slice(&value.to_le_bytes());
            }
        }
        let digest = Sha256::digest(&out);
        out.extend_from_slice(&digest);
        out
    }

    /// Parses and validates a forest file held in memory; `name_for_errors` names it in errors.
    pub fn from_bytes(bytes: &[u8], name_for_errors: &Path) -> Result<Forest> {
        parse(bytes).map_err(|reason| Error::model(name_for_errors, reason))
    }

    /// Writes the forest to `path` (after [`Forest::validate`]).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        self.validate()?;
        std::fs::write(path, self.to_bytes()).map_err(|e| Error::io(path, e))
    }

    /// Reads and validates a forest file.
    pub fn load(path: impl AsRef<Path>) -> Result<Forest> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Forest::from_bytes(&bytes, path)
    }
}

/// `w·p / (w·p + 1 − p)`; exactly `p` for w = 1.
fn reweight(p: f32, w: f32) -> f32 {
    if w == 1.0 || p.is_nan() {
        return p;
    }
    let wp = f64::from(w) * f64::from(p);
    let den = wp + (1.0 - f64::from(p));
    if den > 0.0 {
        (wp / den) as f32
    } else {
        p
    }
}

/// Bounds-checked little-endian reader over a byte slice.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.pos)
    }

    fn take4(&mut self) -> Option<[u8; 4]> {
        let end = self.pos.checked_add(4)?;
        let chunk: [u8; 4] = self.bytes.get(self.pos..end)?.try_into().ok()?;
        self.pos = end;
        Some(chunk)
    }

    fn u32(&mut self) -> Option<u32> {
        self.take4().map(u32::from_le_bytes)
    }

    fn f32(&mut self) -> Option<f32> {
        self.take4().map(f32::from_le_bytes)
    }

    fn skip(&mut self, n: usize) -> Option<()> {
        let end = self.pos.checked_add(n)?;
        if end > self.bytes.len() {
            return None;
        }
        self.pos = end;
        Some(())
    }
}

fn parse(bytes: &[u8]) -> std::result::Result<Forest, String> {
    let len = bytes.len();
    if len < 8 {
        return Err(format!(
            "file is too short ({len} bytes) to be a forest model"
        ));
    }
    if bytes[..4] != MAGIC {
        return Err(format!(
            "not a pancseg forest file: magic is {:?}, expected \"PSRF\"",
            String::from_utf8_lossy(&bytes[..4])
        ));
    }
    let mut header = Reader { bytes, pos: 4 };
    let version = header.u32().ok_or("truncated header")?;
    if version > FORMAT_VERSION {
        return Err(format!(
            "format version {version} is newer than supported {FORMAT_VERSION}; \
             upgrade pancseg to read this model"
        ));
    }
    if version != FORMAT_VERSION {
        return Err(format!("format version {version} is not valid"));
    }
    if len < HEADER_LEN + CHECKSUM_LEN {
        return Err(format!(
            "file truncated: {len} bytes is shorter than the {HEADER_LEN}-byte header plus the \
             {CHECKSUM_LEN}-byte checksum"
        ));
    }
    let (body, stored_digest) = bytes.split_at(len - CHECKSUM_LEN);
    let mut r = Reader {
        bytes: body,
        pos: 8,
    };
    let n_features = r.u32().ok_or("truncated header")? as usize;
    let n_trees = r.u32().ok_or("truncated header")? as usize;
    let positive_weight = r.f32().ok_or("truncated header")?;
    if n_features == 0 || n_features > MAX_FEATURES {
        return Err(format!(
            "n_features {n_features} is not in 1..={MAX_FEATURES}"
        ));
    }

    // Structural pass: node counts must fit the file exactly, before anything is allocated.
    let tree_data = r.remaining();
    if n_trees > tree_data / (4 + NODE_LEN) {
        return Err(format!(
            "file truncated or corrupted: the header declares {n_trees} trees but only \
             {tree_data} bytes of tree data precede the checksum"
        ));
    }
    let start = r.pos;
    for t in 0..n_trees {
        let n_nodes = r
            .u32()
            .ok_or_else(|| format!("file truncated: tree {t} has no node count"))?
            as usize;
        let need = n_nodes.saturating_mul(NODE_LEN);
        let left = r.remaining();
        r.skip(need).ok_or_else(|| {
            format!(
                "file truncated: tree {t} declares {n_nodes} nodes ({need} bytes) but only \
                 {left} bytes remain before the checksum"
            )
        })?;
    }
    if r.remaining() != 0 {
        return Err(format!(
            "{} trailing bytes after the last tree",
            r.remaining()
        ));
    }

    let digest = Sha256::digest(body);
    if digest.as_slice() != stored_digest {
        return Err("checksum mismatch: file corrupted or tampered".into());
    }

    // Decode; sizes are known to fit, so the readers cannot run out.
    r.pos = start;
    let truncated = || "internal: unexpected end of data".to_string();
    let mut trees = Vec::with_capacity(n_trees);
    for _ in 0..n_trees {
        let n = r.u32().ok_or_else(truncated)? as usize;
        let mut tree = Tree {
            feature: Vec::with_capacity(n),
            threshold: Vec::with_capacity(n),
            left: Vec::with_capacity(n),
            right: Vec::with_capacity(n),
            value: Vec::with_capacity(n),
        };
        for _ in 0..n {
            tree.feature.push(r.u32().ok_or_else(truncated)?);
            tree.threshold.push(r.f32().ok_or_else(truncated)?);
            tree.left.push(r.u32().ok_or_else(truncated)?);
            tree.right.push(r.u32().ok_or_else(truncated)?);
            tree.value.push(r.f32().ok_or_else(truncated)?);
        }
        trees.push(tree);
    }
    let forest = Forest {
        n_features,
        positive_weight,
        trees,
    };
    forest.check()?;
    Ok(forest)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// x0 <= 0.5 ? (x1 <= 2 ? 0.1 : 0.7) : 0.9
    fn hand_tree() -> Tree {
        Tree {
            feature: vec![0, 1, LEAF, LEAF, LEAF],
            threshold: vec![0.5, 2.0, 0.0, 0.0, 0.0],
            left: vec![1, 3, 0, 0, 0],
            right: vec![2, 4, 0, 0, 0],
            value: vec![0.5, 0.3, 0.9, 0.1, 0.7],
        }
    }

    fn hand_forest() -> Forest {
        let stump = Tree {
            feature: vec![1, LEAF, LEAF],
            threshold: vec![-1.0, 0.0, 0.0],
            left: vec![1, 0, 0],
            right: vec![2, 0, 0],
            value: vec![0.5, 0.0, 0.5],
        };
        Forest {
            n_features: 2,
            positive_weight: 1.0,
            trees: vec![hand_tree(), stump],
        }
    }

    fn name() -> &'static Path {
        Path::new("model.psrf")
    }

    fn reason(bytes: &[u8]) -> String {
        match Forest::from_bytes(bytes, name()) {
            Err(Error::Model { path, reason }) => {
                assert_eq!(path, name());
                reason
            }
            Err(e) => panic!("unexpected error kind: {e}"),
            Ok(_) => panic!("corrupted bytes were accepted"),
        }
    }

    /// Re-seals a modified file with a valid checksum.
    fn reseal(bytes: &mut Vec<u8>) {
        let n = bytes.len() - CHECKSUM_LEN;
        bytes.truncate(n);
        let digest = Sha256::digest(&bytes[..]);
        bytes.extend_from_slice(&digest);
    }

    #[test]
    fn predicts_hand_built_tree() {
        let t = hand_tree();
        assert_eq!(t.predict(&[0.2, 1.0]), 0.1);
        assert_eq!(t.predict(&[0.5, 2.0]), 0.1); // `<=` goes left
        assert_eq!(t.predict(&[0.2, 2.5]), 0.7);
        assert_eq!(t.predict(&[0.6, -9.0]), 0.9);
        assert_eq!(t.predict(&[f32::NAN, f32::NAN]), 0.1); // NaN goes left
        assert_eq!(t.predict(&[f32::INFINITY, 0.0]), 0.9);

        let f = hand_forest();
        // tree 0 -> 0.9, stump (x1 = 0 > -1) -> 0.5
        assert!((f.predict_raw(&[0.6, 0.0]) - 0.7).abs() < 1e-6);
        assert!((f.predict(&[0.6, 0.0]) - 0.7).abs() < 1e-6);
        let mut w = f.clone();
        w.positive_weight = 3.0;
        // p' = 3·0.7 / (3·0.7 + 0.3) = 0.875
        assert!((w.predict(&[0.6, 0.0]) - 0.875).abs() < 1e-6);
        assert!((w.predict_raw(&[0.6, 0.0]) - 0.7).abs() < 1e-6);
        let expected = 3.0 * 0.05 / (3.0 * 0.05 + 0.95);
        assert!((w.predict(&[0.2, -5.0]) - expected).abs() < 1e-6);

        let rows = [0.2, 1.0, 0.6, 0.0, f32::NAN, 3.0];
        let many = f.predict_many(&rows, 3);
        let one: Vec<f32> = rows.chunks(2).map(|x| f.predict(x)).collect();
        assert_eq!(many, one);
    }

    #[test]
    fn round_trip_bytes_and_file() {
        let f = hand_forest();
        f.validate().unwrap();
        let bytes = f.to_bytes();
        assert_eq!(&bytes[..4], b"PSRF");
        assert_eq!(
            bytes.len(),
            HEADER_LEN + 2 * 4 + 8 * NODE_LEN + CHECKSUM_LEN
        );
        let back = Forest::from_bytes(&bytes, name()).unwrap();
        assert_eq!(back, f);
        assert_eq!(back.to_bytes(), bytes);

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.psrf");
        f.save(&path).unwrap();
        assert_eq!(Forest::load(&path).unwrap(), f);
        assert!(matches!(
            Forest::load(dir.path().join("missing.psrf")),
            Err(Error::Io { .. })
        ));
    }

    #[test]
    fn truncation_is_reported() {
        let bytes = hand_forest().to_bytes();
        for cut in [
            0,
            3,
            7,
            8,
            19,
            20,
            40,
            60,
            bytes.len() - 33,
            bytes.len() - 1,
        ] {
            let r = reason(&bytes[..cut]);
            assert!(
                r.contains("truncated") || r.contains("too short"),
                "cut at {cut}: {r}"
            );
        }
    }

    #[test]
    fn flipped_byte_is_a_checksum_error() {
        let bytes = hand_forest().to_bytes();
        // In the middle of tree 0's node records (a threshold), and in the checksum itself.
        for at in [HEADER_LEN + 4 + NODE_LEN + 5, bytes.len() - 5] {
            let mut b = bytes.clone();
            b[at] ^= 0x40;
            assert_eq!(
                reason(&b),
                "checksum mismatch: file corrupted or tampered",
                "flip at {at}"
            );
        }
    }

    #[test]
    fn wrong_magic_and_newer_version() {
        let bytes = hand_forest().to_bytes();
        let mut b = bytes.clone();
        b[..4].copy_from_slice(b"ONNX");
        assert!(reason(&b).contains("not a pancseg forest file"));

        let mut b = bytes.clone();
        b[4..8].copy_from_slice(&2u32.to_le_bytes());
        reseal(&mut b);
        assert!(reason(&b).contains("format version 2 is newer than supported 1"));
        // Even an unsealed newer file says so (its layout may differ).
        let mut b = bytes.clone();
        b[4..8].copy_from_slice(&7u32.to_le_bytes());
        assert!(reason(&b).contains("format version 7 is newer than supported 1"));

        let mut b = bytes;
        b[4..8].copy_from_slice(&0u32.to_le_bytes());
        assert!(reason(&b).contains("format version 0"));
    }

    /// Offset of field `k` (0 feature, 1 threshold, 2 left, 3 right, 4 value) of node `i` of
    /// tree 0.
    fn field(i: usize, k: usize) -> usize {
        HEADER_LEN + 4 + i * NODE_LEN + 4 * k
    }

    #[test]
    fn invalid_values_with_a_valid_checksum() {
        let bytes = hand_forest().to_bytes();
        let cases: Vec<(usize, [u8; 4], &str)> = vec![
            (
                field(0, 2),
                0u32.to_le_bytes(),
                "left child 0 must be greater than 0",
            ),
            (field(1, 3), 9u32.to_le_bytes(), "right child 9"),
            (
                field(1, 2),
                1u32.to_le_bytes(),
                "left child 1 must be greater than 1",
            ),
            (
                field(0, 1),
                f32::NAN.to_le_bytes(),
                "threshold NaN is not finite",
            ),
            (field(0, 1), f32::INFINITY.to_le_bytes(), "is not finite"),
            (field(0, 0), 2u32.to_le_bytes(), "feature 2 is out of range"),
            (
                field(3, 4),
                1.5f32.to_le_bytes(),
                "value 1.5 is outside [0, 1]",
            ),
            (field(3, 4), f32::NAN.to_le_bytes(), "outside [0, 1]"),
            (16, 0f32.to_le_bytes(), "positive_weight 0"),
            (16, f32::NAN.to_le_bytes(), "positive_weight NaN"),
            (8, 1u32.to_le_bytes(), "feature 1 is out of range"),
        ];
        for (at, new, expected) in cases {
            let mut b = bytes.clone();
            b[at..at + 4].copy_from_slice(&new);
            reseal(&mut b);
            let r = reason(&b);
            assert!(r.contains(expected), "at {at}: {r:?} lacks {expected:?}");
        }
    }

    #[test]
    fn structural_corruption_is_bounded() {
        let bytes = hand_forest().to_bytes();
        // Huge tree count: rejected before any allocation.
        let mut b = bytes.clone();
        b[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
        reseal(&mut b);
        assert!(reason(&b).contains("declares 4294967295 trees"));
        // Huge node count.
        let mut b = bytes.clone();
        b[20..24].copy_from_slice(&u32::MAX.to_le_bytes());
        reseal(&mut b);
        assert!(reason(&b).contains("declares 4294967295 nodes"));
        // Zero trees, zero nodes.
        let mut b = bytes.clone();
        b[12..16].copy_from_slice(&0u32.to_le_bytes());
        reseal(&mut b);
        assert!(reason(&b).contains("trailing bytes"));
        let mut b = bytes[..HEADER_LEN].to_vec();
        b[12..16].copy_from_slice(&0u32.to_le_bytes());
        b.extend_from_slice(&[0; 32]);
        reseal(&mut b);
        assert!(reason(&b).contains("no trees"));
        let mut b = bytes[..HEADER_LEN].to_vec();
        b[12..16].copy_from_slice(&1u32.to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        b.extend_from_slice(&[0; 32]);
        reseal(&mut b);
        // Every tree needs at least one node, so the tree count alone does not fit.
        assert!(reason(&b).contains("declares 1 trees"));
        // Appended junk.
        let mut b = bytes.clone();
        b.extend_from_slice(&[1, 2, 3, 4, 5]);
        assert!(reason(&b).contains("trailing bytes"));
        // Arbitrary garbage never panics.
        for n in 0..200 {
            let junk: Vec<u8> = (0..n).map(|i| (i * 37 + n) as u8).collect();
            assert!(Forest::from_bytes(&junk, name()).is_err());
        }
    }

    #[test]
    fn save_refuses_invalid_forest() {
        let mut f = hand_forest();
        f.trees[0].left[0] = 0;
        let dir = tempfile::tempdir().unwrap();
        let err = f.save(dir.path().join("bad.psrf")).unwrap_err();
        assert!(matches!(err, Error::InvalidArgument(_)), "{err}");
        // A malformed hand-built tree terminates instead of looping, one row or many, and both
        // stop on the same node.
        assert!(f.trees[0].predict(&[0.0, 0.0]).is_finite());
        let rows = [0.0, 0.0, 0.9, -3.0, f32::NAN, 1.0];
        let one: Vec<f32> = rows.chunks(2).map(|x| f.predict(x)).collect();
        assert_eq!(f.predict_many(&rows, 3), one);
    }

    /// A valid random tree: internal nodes before their children, depth at most `depth`.
    fn random_tree(rng: &mut impl rand::Rng, n_features: usize, depth: usize) -> Tree {
        let mut t = Tree::default();
        fn grow(t: &mut Tree, rng: &mut impl rand::Rng, nf: usize, depth: usize) -> u32 {
            let i = t.feature.len();
            t.feature.push(LEAF);
            t.threshold.push(0.0);
            t.left.push(0);
            t.right.push(0);
            t.value.push(rng.random_range(0.0..=1.0));
            if depth > 0 && rng.random_range(0..5) > 0 {
                t.feature[i] = rng.random_range(0..nf as u32);
                t.threshold[i] = rng.random_range(-1.0..1.0);
                t.left[i] = grow(t, rng, nf, depth - 1);
                t.right[i] = grow(t, rng, nf, depth - 1);
            }
            i as u32
        }
        grow(&mut t, rng, n_features, depth);
        t
    }

    #[test]
    fn predict_many_matches_predict_row_by_row_for_any_thread_count() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        let nf = 7;
        let forest = Forest {
            n_features: nf,
            positive_weight: 2.5,
            trees: (0..23).map(|_| random_tree(&mut rng, nf, 8)).collect(),
        };
        forest.validate().unwrap();
        for n_rows in [0, 1, ROW_BLOCK - 1, ROW_BLOCK, 3 * ROW_BLOCK + 5] {
            let rows: Vec<f32> = (0..n_rows * nf)
                .map(|_| {
                    if rng.random_range(0..20) == 0 {
                        f32::NAN
                    } else {
                        rng.random_range(-1.2..1.2)
                    }
                })
                .collect();
            let one: Vec<u32> = rows
                .chunks(nf)
                .map(|x| forest.predict(x).to_bits())
                .collect();
            for threads in [1, 3] {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                let many: Vec<u32> = pool
                    .install(|| forest.predict_many(&rows, n_rows))
                    .into_iter()
                    .map(f32::to_bits)
                    .collect();
                assert_eq!(many, one, "{n_rows} rows, {threads} threads");
            }
        }
    }
}
