//! Superpixel features for the random-forest cascade (Farag et al. 2014, as used by DeepOrgan):
//! one row of [`N_FEATURES`] values per superpixel, in the order of [`FEATURE_NAMES`].
//!
//! - HU statistics: mean, std, 10/25/50/75/90th percentiles, an 8-bin histogram over the
//!   soft-tissue window [-160, 240] HU (fractions);
//! - shape: area (mm²), bounding box width and height (mm), fill ratio, elongation (ratio of
//!   the principal axes of the pixel second moments);
//! - gradient: mean and std of the in-slice gradient magnitude (HU/mm, on windowed HU);
//! - position in the patient, on the superpixel's own slice only: offset from the body centroid
//!   over the body half-width and half-height, position in the body bounding box, offset from
//!   the spine (centroid of bone > 200 HU in the posterior middle of the body; the body centroid
//!   when no bone is found) over the body half-axes, and the distance from the spine in mm.
//!   No feature depends on where the scan starts or ends along z (an earlier `z_body`, the
//!   slice's position within the body's z extent, did: the same anatomy moved with the
//!   framing); the level along z is the abdomen localisation's job
//!   ([`crate::pipeline::abdomen`]), so the candidates of a slice are the same in any crop of
//!   the scan that holds it;
//! - context: the area-weighted mean of the intensity, shape and gradient features over the
//!   in-slice neighbours.
//!
//! Positions assume the canonical LPS orientation (x to the patient's left, y posterior, z
//! superior), which the pipeline establishes before computing superpixels.

use crate::pipeline::candidates::superpixels::SuperpixelSet;
use crate::volume::Volume;
use rayon::prelude::*;

/// Window of the histogram and of the gradient.
const WINDOW: (f32, f32) = (-160.0, 240.0);
const HIST_BINS: usize = 8;
/// Features that are averaged over neighbours (intensity, shape, gradient).
const LOCAL: usize = 22;

/// Names of the features, in row order.
pub const FEATURE_NAMES: [&str; N_FEATURES] = [
    "hu_mean",
    "hu_std",
    "hu_p10",
    "hu_p25",
    "hu_p50",
    "hu_p75",
    "hu_p90",
    "hist_0",
    "hist_1",
    "hist_2",
    "hist_3",
    "hist_4",
    "hist_5",
    "hist_6",
    "hist_7",
    "area_mm2",
    "bbox_w_mm",
    "bbox_h_mm",
    "fill",
    "elongation",
    "grad_mean",
    "grad_std",
    "x_body",
    "y_body",
    "x_bbox",
    "y_bbox",
    "spine_mm",
    "x_spine",
    "y_spine",
    "nb_hu_mean",
    "nb_hu_std",
    "nb_hu_p10",
    "nb_hu_p25",
    "nb_hu_p50",
    "nb_hu_p75",
    "nb_hu_p90",
    "nb_hist_0",
    "nb_hist_1",
    "nb_hist_2",
    "nb_hist_3",
    "nb_hist_4",
    "nb_hist_5",
    "nb_hist_6",
    "nb_hist_7",
    "nb_area_mm2",
    "nb_bbox_w_mm",
    "nb_bbox_h_mm",
    "nb_fill",
    "nb_elongation",
    "nb_grad_mean",
    "nb_grad_std",
];

/// Number of features per superpixel.
pub const N_FEATURES: usize = 51;

/// Body reference of one slice.
#[derive(Debug, Clone, Copy)]
struct SliceRef {
    cx: f64,
    cy: f64,
    half_w: f64,
    half_h: f64,
    x0: f64,
    y0: f64,
    x1: f64,
    y1: f64,
    spine: (f64, f64),
}

fn slice_refs(
    hu: &[f32],
    set: &SuperpixelSet,
    dims: (usize, usize, usize),
) -> Vec<Option<SliceRef>> {
    let (nz, ny, nx) = dims;
    (0..nz)
        .into_par_iter()
        .map(|z| {
            let lab = set.slice_labels(z);
            let lab: &[u32] = &lab;
            let hu = &hu[z * ny * nx..(z + 1) * ny * nx];
            let (mut n, mut sx, mut sy) = (0.0f64, 0.0f64, 0.0f64);
            let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0usize, 0usize);
            for y in 0..ny {
                let row = &lab[y * nx..(y + 1) * nx];
                let Some(first) = row.iter().position(|&l| l != 0) else {
                    continue;
                };
                let last = row.iter().rposition(|&l| l != 0).unwrap_or(first);
                for (x, &l) in row.iter().enumerate().take(last + 1).skip(first) {
                    if l != 0 {
                        n += 1.0;
                        sx += x as f64;
                        sy += y as f64;
                    }
                }
                x0 = x0.min(first);
                x1 = x1.max(last);
                y0 = y0.min(y);
                y1 = y1.max(y);
            }
            if n == 0.0 {
                return None;
            }
            let (cx, cy) = (sx / n, sy / n);
            let half_w = ((x1 - x0) as f64 / 2.0).max(1.0);
            let half_h = ((y1 - y0) as f64 / 2.0).max(1.0);
            // spine: bone in the posterior middle of the body
            let (mut bn, mut bx, mut by) = (0.0, 0.0, 0.0);
            let xa = (cx - 0.25 * half_w).max(0.0) as usize;
            let xb = ((cx + 0.25 * half_w) as usize).min(nx - 1);
            for y in (cy as usize)..=y1.min(ny - 1) {
                for x in xa..=xb {
                    let i = y * nx + x;
                    if lab[i] != 0 && hu[i] > 200.0 {
                        bn += 1.0;
                        bx += x as f64;
                        by += y as f64;
                    }
                }
            }
            let spine = if bn > 0.0 {
                (bx / bn, by / bn)
            } else {
                (cx, cy)
            };
            Some(SliceRef {
                cx,
                cy,
                half_w,
                half_h,
                x0: x0 as f64,
                y0: y0 as f64,
                x1: x1 as f64,
                y1: y1 as f64,
                spine,
            })
        })
        .collect()
}

/// The array's elements in standard (C) order, borrowed when already contiguous.
fn contiguous<T: Copy>(a: &ndarray::Array3<T>) -> std::borrow::Cow<'_, [T]> {
    match a.as_slice() {
        Some(s) => std::borrow::Cow::Borrowed(s),
        None => std::borrow::Cow::Owned(a.iter().copied().collect()),
    }
}

/// Percentiles of `vals`.
const PERCENTILES: [f64; 5] = [0.1, 0.25, 0.5, 0.75, 0.9];

/// Flips the magnitude bits of negative values: on the bits of an f32 read as i32, this makes
/// the integer order `f32::total_cmp`'s order (the flip `total_cmp` applies on every comparison).
/// Its own inverse.
fn flip_negative(b: i32) -> i32 {
    b ^ (((b >> 31) as u32) >> 1) as i32
}

/// The key of `v` whose integer order is `f32::total_cmp`'s order.
fn total_order_key(v: f32) -> i32 {
    flip_negative(v.to_bits() as i32)
}

/// The value of a [`total_order_key`].
fn from_total_order_key(k: i32) -> f32 {
    f32::from_bits(flip_negative(k) as u32)
}

/// Upper edges of the histogram bins but the last: bin k holds `edge_k-1 <= v < edge_k` (the
/// first and last bins are open-ended; NaN counts in the last). Multiples of 50 HU, exact in f32
/// and nonzero (so the sign of zero never matters).
fn histogram_edges() -> [f32; HIST_BINS - 1] {
    let width = (WINDOW.1 - WINDOW.0) / HIST_BINS as f32;
    std::array::from_fn(|k| WINDOW.0 + width * (k + 1) as f32)
}

/// `vals` as [`total_order_key`]s, sorted, into `keys`: one sort serves the percentiles and the
/// histogram (a few hundred integer keys sort faster than five selections and a
/// seven-comparison histogram pass on floats).
fn sorted_keys(vals: &[f32], keys: &mut Vec<i32>) {
    keys.clear();
    keys.extend(vals.iter().map(|&v| total_order_key(v)));
    keys.sort_unstable();
}

/// The [`PERCENTILES`] of the values of the sorted `keys` (linear interpolation between order
/// statistics, in the `f32::total_cmp` order) into `out`; zeros when empty.
fn percentiles(keys: &[i32], out: &mut [f32]) {
    if keys.is_empty() {
        out.fill(0.0);
        return;
    }
    let n = keys.len();
    for (o, q) in out.iter_mut().zip(PERCENTILES) {
        let pos = q * (n - 1) as f64;
        let i = pos.floor() as usize;
        let j = (i + 1).min(n - 1);
        let t = (pos - i as f64) as f32;
        let (vi, vj) = (from_total_order_key(keys[i]), from_total_order_key(keys[j]));
        *o = vi * (1.0 - t) + vj * t;
    }
}

/// Counts of the [`histogram_edges`] bins of the values of the sorted `keys`, by binary search.
/// In key order the negative NaNs come before -inf and the positive ones after +inf; both count
/// in the last bin, as `v >= edge` is false for NaN but NaN belongs to no other bin.
fn histogram(keys: &[i32]) -> [usize; HIST_BINS] {
    let n = keys.len();
    let neg_inf = total_order_key(f32::NEG_INFINITY);
    let negative_nans = keys.partition_point(|&k| k < neg_inf);
    // at_least[k]: values in bins k.. (v >= edge_k-1, or NaN)
    let mut at_least = [n; HIST_BINS + 1];
    for (k, e) in histogram_edges().into_iter().enumerate() {
        let edge = total_order_key(e);
        let below = keys.partition_point(|&x| x < edge) - negative_nans;
        at_least[k + 1] = n - below;
    }
    at_least[HIST_BINS] = 0;
    let mut hist = [0usize; HIST_BINS];
    for k in 0..HIST_BINS {
        hist[k] = at_least[k] - at_least[k + 1];
    }
    hist
}

/// Sum of `vals` mapped by `f`, in f64 with four running sums (independent additions pipeline;
/// the f32 features taken from these sums do not depend on the association in practice).
fn sum4(vals: &[f32], f: impl Fn(f64) -> f64) -> f64 {
    // -0.0 is the identity of addition (an empty or all -0.0 sum stays -0.0, as in `Iterator::sum`)
    let mut acc = [-0.0f64; 4];
    let chunks = vals.chunks_exact(4);
    let rest = chunks.remainder();
    for c in chunks {
        for k in 0..4 {
            acc[k] += f(c[k] as f64);
        }
    }
    let mut tail = -0.0;
    for &v in rest {
        tail += f(v as f64);
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

/// In-slice gradient magnitude (HU/mm) of windowed HU by central differences, one-sided at the
/// slice border, for a row-major `ny x nx` slice, on the rows `rows` only (the rest stays 0).
fn gradient_magnitude(
    hu: &[f32],
    nx: usize,
    ny: usize,
    spacing: (f64, f64),
    rows: std::ops::RangeInclusive<usize>,
) -> Vec<f32> {
    let (gxs, gys) = (
        (1.0 / (2.0 * spacing.0)) as f32,
        (1.0 / (2.0 * spacing.1)) as f32,
    );
    let mut g = vec![0f32; nx * ny];
    if nx == 0 || ny == 0 {
        return g;
    }
    let (y0, y1) = (*rows.start(), (*rows.end()).min(ny - 1));
    if y0 > y1 {
        return g;
    }
    // windowed copy of the rows and their neighbours, in a slice-sized buffer like the output
    // (both zeroed allocations of the same size: the allocator maps and unmaps them whole
    // instead of keeping a heap of odd-sized blocks per thread)
    let (w0, w1) = (y0.saturating_sub(1), (y1 + 1).min(ny - 1));
    let mut w = vec![0f32; nx * ny];
    for (o, v) in w[w0 * nx..(w1 + 1) * nx]
        .iter_mut()
        .zip(&hu[w0 * nx..(w1 + 1) * nx])
    {
        *o = v.clamp(WINDOW.0, WINDOW.1);
    }
    let wrow = |y: usize| &w[y * nx..(y + 1) * nx];
    let magnitude = |gx: f32, gy: f32| (gx * gx + gy * gy).sqrt();
    for y in y0..=y1 {
        let row = wrow(y);
        let up = wrow(y.saturating_sub(1));
        let down = wrow((y + 1).min(ny - 1));
        let out = &mut g[y * nx..(y + 1) * nx];
        let last = nx - 1;
        // one-sided at the borders (a one-pixel row differences its pixel with itself)
        out[0] = magnitude((row[1.min(last)] - row[0]) * gxs, (down[0] - up[0]) * gys);
        if nx == 1 {
            continue;
        }
        out[last] = magnitude(
            (row[last] - row[last - 1]) * gxs,
            (down[last] - up[last]) * gys,
        );
        // interior: the same arithmetic on zipped slices, which the compiler vectorises
        for ((((o, &r), &l), &d), &u) in out[1..last]
            .iter_mut()
            .zip(&row[2..])
            .zip(&row[..last - 1])
            .zip(&down[1..last])
            .zip(&up[1..last])
        {
            *o = magnitude((r - l) * gxs, (d - u) * gys);
        }
    }
    g
}

/// The superpixel's own features (0..22); returns its centroid (x, y) in pixels, which the caller
/// turns into body-relative positions. `image` is the slice's HU, gradient image and width;
/// `scratch` holds reusable value buffers.
fn local_features(
    f: &mut [f32; N_FEATURES],
    s: &crate::pipeline::candidates::superpixels::Superpixel,
    image: (&[f32], &[f32], usize),
    spacing: (f64, f64),
    scratch: (&mut Vec<f32>, &mut Vec<f32>, &mut Vec<i32>),
) -> (f64, f64) {
    let (hu, grad, nx) = image;
    let (sx, sy) = spacing;
    let (vals, grads, keys) = scratch;
    vals.clear();
    grads.clear();
    let (mut mx, mut my) = (0.0f64, 0.0f64);
    for sp in &s.spans {
        let row = sp.y as usize * nx;
        let (a, b) = (row + sp.x0 as usize, row + sp.x1 as usize + 1);
        vals.extend_from_slice(&hu[a..b]);
        grads.extend_from_slice(&grad[a..b]);
        let (a, b) = (sp.x0 as f64, sp.x1 as f64);
        let len = b - a + 1.0;
        mx += (a + b) / 2.0 * len;
        my += sp.y as f64 * len;
    }
    let n = vals.len().max(1) as f64;
    mx /= n;
    my /= n;
    // second moments in closed form per span: sum over x = x0..=x1 of (x - mx) and (x - mx)^2
    let (mut cxx, mut cyy, mut cxy) = (0.0, 0.0, 0.0);
    for sp in &s.spans {
        let dy = (sp.y as f64 - my) * sy;
        let len = (sp.x1 - sp.x0) as f64 + 1.0;
        let d0 = sp.x0 as f64 - mx;
        let s1 = len * (len - 1.0) / 2.0; // sum of i for i < len
        let s2 = (len - 1.0) * len * (2.0 * len - 1.0) / 6.0; // sum of i^2
        let sum_d = len * d0 + s1;
        let sum_d2 = len * d0 * d0 + 2.0 * d0 * s1 + s2;
        cxx += sum_d2 * sx * sx;
        cyy += len * dy * dy;
        cxy += sum_d * sx * dy;
    }
    let mean = sum4(vals, |v| v) / n;
    let var = sum4(vals, |v| (v - mean).powi(2)) / n;
    f[0] = mean as f32;
    f[1] = var.sqrt() as f32;
    sorted_keys(vals, keys);
    percentiles(keys, &mut f[2..7]);
    for (k, c) in histogram(keys).into_iter().enumerate() {
        f[7 + k] = c as f32 / n as f32;
    }
    let bw = (s.bbox[2] - s.bbox[0] + 1) as f64;
    let bh = (s.bbox[3] - s.bbox[1] + 1) as f64;
    f[15] = s.area_mm2 as f32;
    f[16] = (bw * sx) as f32;
    f[17] = (bh * sy) as f32;
    f[18] = (s.pixels as f64 / (bw * bh)) as f32;
    let tr = (cxx + cyy) / n;
    let det = (cxx * cyy - cxy * cxy) / (n * n);
    let disc = (tr * tr / 4.0 - det).max(0.0).sqrt();
    let (l1, l2) = (tr / 2.0 + disc, (tr / 2.0 - disc).max(1e-6));
    f[19] = (l1 / l2).sqrt().min(100.0) as f32;
    let gm = sum4(grads, |g| g) / n;
    let gv = sum4(grads, |g| (g - gm).powi(2)) / n;
    f[20] = gm as f32;
    f[21] = gv.sqrt() as f32;
    (mx, my)
}

/// Feature rows (row-major, `N_FEATURES` per superpixel, in superpixel id order).
pub fn superpixel_features(ct: &Volume, set: &SuperpixelSet) -> Vec<f32> {
    let (nz, ny, nx) = ct.data.dim();
    let sx = ct.geometry.spacing[0];
    let sy = ct.geometry.spacing[1];
    let hu = contiguous(&ct.data);
    let hu: &[f32] = &hu;
    let refs = slice_refs(hu, set, (nz, ny, nx));
    // superpixels grouped by slice: each slice's HU and gradient images stay in cache while its
    // superpixels are measured (a superpixel touches a dozen short row segments)
    let mut by_slice: Vec<Vec<usize>> = vec![Vec::new(); nz];
    for (i, s) in set.superpixels.iter().enumerate() {
        by_slice[s.slice.min(nz.saturating_sub(1))].push(i);
    }
    let spacing = (sx, sy);
    let per_slice: Vec<Vec<(usize, [f32; N_FEATURES])>> = by_slice
        .par_iter()
        .enumerate()
        .map(|(z, ids)| {
            if ids.is_empty() {
                return Vec::new();
            }
            let slice_hu = &hu[z * ny * nx..(z + 1) * ny * nx];
            // rows of the slice's superpixels
            let y0 = ids
                .iter()
                .map(|&i| set.superpixels[i].bbox[1])
                .min()
                .unwrap_or(0);
            let y1 = ids
                .iter()
                .map(|&i| set.superpixels[i].bbox[3])
                .max()
                .unwrap_or(0);
            let grad = gradient_magnitude(slice_hu, nx, ny, spacing, y0..=y1);
            let (mut vals, mut grads, mut keys) = (Vec::new(), Vec::new(), Vec::new());
            ids.iter()
                .map(|&i| {
                    let mut f = [0f32; N_FEATURES];
                    let s = &set.superpixels[i];
                    let (mx, my) = local_features(
                        &mut f,
                        s,
                        (slice_hu, &grad, nx),
                        spacing,
                        (&mut vals, &mut grads, &mut keys),
                    );
                    if let Some(r) = refs[s.slice] {
                        f[22] = ((mx - r.cx) / r.half_w) as f32;
                        f[23] = ((my - r.cy) / r.half_h) as f32;
                        f[24] = ((mx - r.x0) / (r.x1 - r.x0).max(1.0)) as f32;
                        f[25] = ((my - r.y0) / (r.y1 - r.y0).max(1.0)) as f32;
                        f[26] = ((mx - r.spine.0) * sx).hypot((my - r.spine.1) * sy) as f32;
                        f[27] = ((mx - r.spine.0) / r.half_w) as f32;
                        f[28] = ((my - r.spine.1) / r.half_h) as f32;
                    }
                    (i, f)
                })
                .collect()
        })
        .collect();
    let mut rows = vec![0f32; set.superpixels.len() * N_FEATURES];
    for (i, f) in per_slice.into_iter().flatten() {
        rows[i * N_FEATURES..(i + 1) * N_FEATURES].copy_from_slice(&f);
    }
    // neighbour context: area-weighted mean of the local features
    let local: Vec<[f32; LOCAL]> = rows
        .chunks(N_FEATURES)
        .map(|r| {
            let mut a = [0f32; LOCAL];
            a.copy_from_slice(&r[..LOCAL]);
            a
        })
        .collect();
    for (i, s) in set.superpixels.iter().enumerate() {
        let mut acc = [0f64; LOCAL];
        let mut wsum = 0.0f64;
        for &nb in &s.neighbours {
            let j = nb as usize - 1;
            let w = set.superpixels[j].pixels as f64;
            wsum += w;
            for k in 0..LOCAL {
                acc[k] += w * local[j][k] as f64;
            }
        }
        let row = &mut rows[i * N_FEATURES..(i + 1) * N_FEATURES];
        for k in 0..LOCAL {
            row[29 + k] = if wsum > 0.0 {
                (acc[k] / wsum) as f32
            } else {
                local[i][k]
            };
        }
    }
    rows
}

/// Number of level-2 features: the level-1 features plus 6 probability-context features.
pub const N_LEVEL2_FEATURES: usize = N_FEATURES + 6;

/// Level-2 rows: each level-1 row followed by its own level-1 probability, the mean and max of
/// its in-slice neighbours' probabilities, and the overlap-weighted mean probability of the
/// superpixels under it in the slice below and above, and the max of those two.
pub fn level2_features(set: &SuperpixelSet, level1_rows: &[f32], p1: &[f32]) -> Vec<f32> {
    let nz = set.dims.0;
    let n = set.superpixels.len();
    // overlap-weighted probabilities from adjacent slices, slice by slice (the labels of the
    // slices below and above are drawn once per slice)
    let per_slice: Vec<Vec<(usize, [f32; 2])>> = (0..nz)
        .into_par_iter()
        .map(|z| {
            let here = set.in_slice(z);
            if here.is_empty() {
                return Vec::new();
            }
            let nx = set.dims.2;
            let around = [
                z.checked_sub(1).map(|b| set.slice_labels(b)),
                (z + 1 < nz).then(|| set.slice_labels(z + 1)),
            ];
            here.iter()
                .map(|s| {
                    let mut out = [0f32; 2];
                    for (k, lab) in around.iter().enumerate() {
                        let Some(lab) = lab else {
                            out[k] = p1[s.id as usize - 1];
                            continue;
                        };
                        let (mut acc, mut cnt) = (0.0f64, 0.0f64);
                        for sp in &s.spans {
                            let start = sp.y as usize * nx;
                            for &l in &lab[start + sp.x0 as usize..=start + sp.x1 as usize] {
                                cnt += 1.0;
                                if l != 0 {
                                    acc += p1[l as usize - 1] as f64;
                                }
                            }
                        }
                        out[k] = if cnt > 0.0 { (acc / cnt) as f32 } else { 0.0 };
                    }
                    (s.id as usize - 1, out)
                })
                .collect()
        })
        .collect();
    let mut adjacent = vec![[0f32; 2]; n];
    for (i, v) in per_slice.into_iter().flatten() {
        adjacent[i] = v;
    }
    let mut rows = Vec::with_capacity(n * N_LEVEL2_FEATURES);
    for (i, s) in set.superpixels.iter().enumerate() {
        rows.extend_from_slice(&level1_rows[i * N_FEATURES..(i + 1) * N_FEATURES]);
        let (mut sum, mut mx) = (0.0f64, 0.0f32);
        for &nb in &s.neighbours {
            let q = p1[nb as usize - 1];
            sum += q as f64;
            mx = mx.max(q);
        }
        let mean = if s.neighbours.is_empty() {
            p1[i]
        } else {
            (sum / s.neighbours.len() as f64) as f32
        };
        rows.extend_from_slice(&[
            p1[i],
            mean,
            mx,
            adjacent[i][0],
            adjacent[i][1],
            adjacent[i][0].max(adjacent[i][1]),
        ]);
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn sorted_percentile(sorted: &[f32], q: f64) -> f32 {
        let pos = q * (sorted.len() - 1) as f64;
        let i = pos.floor() as usize;
        let j = (i + 1).min(sorted.len() - 1);
        let t = (pos - i as f64) as f32;
        sorted[i] * (1.0 - t) + sorted[j] * t
    }

    #[test]
    fn percentiles_of_sorted_keys_match_a_float_sort() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        for n in (1..40).chain([97, 130, 257, 1000]) {
            for _ in 0..5 {
                // few distinct values, so ties are common
                let vals: Vec<f32> = (0..n)
                    .map(|_| (rng.random_range(-200..300) / 7 * 7) as f32)
                    .collect();
                let mut sorted = vals.clone();
                sorted.sort_unstable_by(f32::total_cmp);
                let mut out = [0f32; 5];
                let mut keys = Vec::new();
                sorted_keys(&vals, &mut keys);
                percentiles(&keys, &mut out);
                for (o, q) in out.iter().zip(PERCENTILES) {
                    assert_eq!(
                        o.to_bits(),
                        sorted_percentile(&sorted, q).to_bits(),
                        "n {n} q {q}"
                    );
                }
            }
        }
    }

    #[test]
    fn total_order_keys_sort_like_total_cmp_and_invert() {
        let vals = [
            f32::NAN,
            -f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            0.0,
            -0.0,
            -110.0,
            f32::MIN_POSITIVE,
            -1e-40,
            3.5,
            -3.5,
            f32::MAX,
        ];
        for a in vals {
            assert_eq!(
                from_total_order_key(total_order_key(a)).to_bits(),
                a.to_bits()
            );
            for b in vals {
                assert_eq!(total_order_key(a).cmp(&total_order_key(b)), a.total_cmp(&b));
            }
        }
    }

    #[test]
    fn histogram_of_sorted_keys_matches_per_value_binning() {
        let edges = histogram_edges();
        assert_eq!(edges, [-110.0, -60.0, -10.0, 40.0, 90.0, 140.0, 190.0]);
        let brute = |vals: &[f32]| {
            let mut h = [0usize; HIST_BINS];
            for &v in vals {
                h[edges.iter().filter(|&&e| v >= e || v.is_nan()).count()] += 1;
            }
            h
        };
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        let specials = [
            f32::NAN,
            -f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            -110.0,
            -60.0,
            190.0,
            190.0f32.next_down(),
            -110.0f32.next_down(),
            0.0,
            -0.0,
        ];
        for n in [0usize, 1, 2, 7, 50, 300] {
            for _ in 0..20 {
                let vals: Vec<f32> = (0..n)
                    .map(|_| {
                        if rng.random_range(0..4) == 0 {
                            specials[rng.random_range(0..specials.len())]
                        } else {
                            rng.random_range(-400.0..500.0)
                        }
                    })
                    .collect();
                let mut keys = Vec::new();
                sorted_keys(&vals, &mut keys);
                assert_eq!(histogram(&keys), brute(&vals), "{vals:?}");
            }
        }
    }

    #[test]
    fn four_way_sums_match_a_serial_sum_on_exact_values() {
        let vals: Vec<f32> = (0..37).map(|i| i as f32 * 0.5 - 3.0).collect();
        let serial: f64 = vals.iter().map(|&v| v as f64).sum();
        assert_eq!(sum4(&vals, |v| v), serial);
        assert_eq!(sum4(&vals[..3], |v| v * v), 9.0 + 6.25 + 4.0);
        assert_eq!(sum4(&[], |v| v).to_bits(), (-0.0f64).to_bits());
        assert_eq!(sum4(&[-0.0; 5], |v| v).to_bits(), (-0.0f64).to_bits());
    }

    #[test]
    fn gradient_matches_central_differences_on_the_requested_rows() {
        let reference = |hu: &[f32], nx: usize, ny: usize, sp: (f64, f64)| {
            let w: Vec<f32> = hu.iter().map(|v| v.clamp(WINDOW.0, WINDOW.1)).collect();
            let (gxs, gys) = ((1.0 / (2.0 * sp.0)) as f32, (1.0 / (2.0 * sp.1)) as f32);
            let mut g = vec![0f32; nx * ny];
            for y in 0..ny {
                for x in 0..nx {
                    let at = |x: usize, y: usize| w[y * nx + x];
                    let gx = (at((x + 1).min(nx - 1), y) - at(x.saturating_sub(1), y)) * gxs;
                    let gy = (at(x, (y + 1).min(ny - 1)) - at(x, y.saturating_sub(1))) * gys;
                    g[y * nx + x] = (gx * gx + gy * gy).sqrt();
                }
            }
            g
        };
        let mut rng = rand::rngs::StdRng::seed_from_u64(8);
        for (nx, ny) in [(1, 1), (1, 5), (2, 3), (7, 6), (33, 17)] {
            let hu: Vec<f32> = (0..nx * ny)
                .map(|_| rng.random_range(-400.0..400.0))
                .collect();
            let sp = (0.7, 1.3);
            let full = reference(&hu, nx, ny, sp);
            for (y0, y1) in [(0, ny - 1), (ny / 2, ny - 1), (0, ny / 3), (ny - 1, ny - 1)] {
                let g = gradient_magnitude(&hu, nx, ny, sp, y0..=y1);
                for y in 0..ny {
                    for x in 0..nx {
                        let want = if (y0..=y1).contains(&y) {
                            full[y * nx + x]
                        } else {
                            0.0
                        };
                        assert_eq!(
                            g[y * nx + x].to_bits(),
                            want.to_bits(),
                            "{nx}x{ny} ({x}, {y})"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn local_features_match_per_pixel_definitions() {
        use crate::pipeline::candidates::superpixels::{Span, Superpixel};
        let mut rng = rand::rngs::StdRng::seed_from_u64(21);
        let (nx, ny) = (40usize, 30usize);
        let hu: Vec<f32> = (0..nx * ny)
            .map(|_| rng.random_range(-300.0..300.0))
            .collect();
        let grad = gradient_magnitude(&hu, nx, ny, (0.8, 0.6), 0..=ny - 1);
        for _ in 0..30 {
            // a ragged blob of 1..12 rows
            let y0 = rng.random_range(0..20u16);
            let spans: Vec<Span> = (0..rng.random_range(1..12u16))
                .map(|dy| {
                    let x0 = rng.random_range(0..30u16);
                    Span {
                        y: y0 + dy,
                        x0,
                        x1: x0 + rng.random_range(0..10u16),
                    }
                })
                .collect();
            let pixels: Vec<(usize, usize)> = spans
                .iter()
                .flat_map(|sp| (sp.x0..=sp.x1).map(move |x| (x as usize, sp.y as usize)))
                .collect();
            let n = pixels.len() as f64;
            let sp = Superpixel {
                id: 1,
                slice: 0,
                pixels: pixels.len(),
                area_mm2: n * 0.48,
                bbox: [
                    pixels.iter().map(|p| p.0).min().unwrap(),
                    pixels.iter().map(|p| p.1).min().unwrap(),
                    pixels.iter().map(|p| p.0).max().unwrap(),
                    pixels.iter().map(|p| p.1).max().unwrap(),
                ],
                spans,
                neighbours: Vec::new(),
            };
            let mut f = [0f32; N_FEATURES];
            let scratch = (&mut Vec::new(), &mut Vec::new(), &mut Vec::new());
            let (mx, my) = local_features(&mut f, &sp, (&hu, &grad, nx), (0.8, 0.6), scratch);
            let vals: Vec<f64> = pixels.iter().map(|&(x, y)| hu[y * nx + x] as f64).collect();
            let mean = vals.iter().sum::<f64>() / n;
            let std = (vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
            assert!((f[0] as f64 - mean).abs() < 1e-3 && (f[1] as f64 - std).abs() < 1e-3);
            let cx = pixels.iter().map(|p| p.0 as f64).sum::<f64>() / n;
            let cy = pixels.iter().map(|p| p.1 as f64).sum::<f64>() / n;
            assert!((mx - cx).abs() < 1e-9 && (my - cy).abs() < 1e-9);
            let (mut cxx, mut cyy, mut cxy) = (0.0, 0.0, 0.0);
            for &(x, y) in &pixels {
                let (dx, dy) = ((x as f64 - cx) * 0.8, (y as f64 - cy) * 0.6);
                cxx += dx * dx;
                cyy += dy * dy;
                cxy += dx * dy;
            }
            let (tr, det) = ((cxx + cyy) / n, (cxx * cyy - cxy * cxy) / (n * n));
            let disc = (tr * tr / 4.0 - det).max(0.0).sqrt();
            let (l1, l2) = (tr / 2.0 + disc, (tr / 2.0 - disc).max(1e-6));
            let elongation = (l1 / l2).sqrt().min(100.0);
            assert!(
                (f[19] as f64 - elongation).abs() <= 1e-4 * elongation,
                "{} vs {elongation}",
                f[19]
            );
            let hist: f32 = f[7..15].iter().sum();
            assert!((hist - 1.0).abs() < 1e-5);
        }
    }
}
