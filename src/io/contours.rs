//! Closed planar contours of a binary slice, traced along the pixel edges.
//!
//! Each contour is a closed polygon through pixel corners that separates mask pixels from
//! background pixels: outer boundaries run counter-clockwise in (column, row) coordinates and
//! hole boundaries clockwise, so every island and every hole of the slice gets its own contour.
//! Corners where the boundary goes straight on are dropped; only turning points remain.
//!
//! Tracing along the pixel edges (rather than through pixel centres, as marching squares does)
//! makes the contours exact: the even-odd fill of a slice's contours, tested at pixel centres,
//! gives back the mask pixel for pixel, and the polygons' area is the mask's area. That is what
//! RT planning systems compute volumes from. A pixel touching another only at a corner starts a
//! contour of its own (8-connected shapes are split into 4-connected ones); the even-odd fill
//! does not depend on that choice.
//!
//! Written here because the contour crates at hand (marching squares over a scalar field) trace
//! through pixel centres and lose the exact round trip.

use std::collections::BTreeMap;

/// A closed contour: pixel-corner points `(x, y)` in pixel units, where pixel `(i, j)` (column
/// i, row j) covers `[i - 0.5, i + 0.5] x [j - 0.5, j + 0.5]`. The last point connects to the
/// first.
pub type Contour = Vec<[f64; 2]>;

/// The contours of a binary slice of `nx` columns and `ny` rows (`inside(i, j)` for column i,
/// row j), outer boundaries counter-clockwise and holes clockwise, in a deterministic order.
pub fn trace_slice(nx: usize, ny: usize, inside: impl Fn(usize, usize) -> bool) -> Vec<Contour> {
    let at = |i: i64, j: i64| -> bool {
        i >= 0 && j >= 0 && (i as usize) < nx && (j as usize) < ny && inside(i as usize, j as usize)
    };
    // directed boundary edges between integer corners (corner (a, b) is the point
    // (a - 0.5, b - 0.5)), with the mask on the left when y points down the rows
    let mut edges: BTreeMap<(i64, i64), Vec<(i64, i64)>> = BTreeMap::new();
    for j in 0..ny as i64 {
        for i in 0..nx as i64 {
            if !at(i, j) {
                continue;
            }
            let mut add = |a: (i64, i64), b: (i64, i64)| edges.entry(a).or_default().push(b);
            if !at(i, j - 1) {
                add((i + 1, j), (i, j)); // top side, right to left
            }
            if !at(i - 1, j) {
                add((i, j), (i, j + 1)); // left side, downwards
            }
            if !at(i, j + 1) {
                add((i, j + 1), (i + 1, j + 1)); // bottom side, left to right
            }
            if !at(i + 1, j) {
                add((i + 1, j + 1), (i + 1, j)); // right side, upwards
            }
        }
    }
    let mut contours = Vec::new();
    while let Some((&start, _)) = edges.iter().next() {
        let mut ring = vec![start];
        let mut prev = start;
        let mut cur = take_edge(&mut edges, start, None);
        while cur != start {
            ring.push(cur);
            let dir = (cur.0 - prev.0, cur.1 - prev.1);
            let next = take_edge(&mut edges, cur, Some(dir));
            prev = cur;
            cur = next;
        }
        contours.push(simplify(&ring));
    }
    contours
}

/// Removes and returns an edge leaving `from`; at a corner shared by two diagonal pixels, the
/// one that turns towards the mask (keeping each 4-connected piece on its own contour).
fn take_edge(
    edges: &mut BTreeMap<(i64, i64), Vec<(i64, i64)>>,
    from: (i64, i64),
    dir: Option<(i64, i64)>,
) -> (i64, i64) {
    let Some(outs) = edges.get_mut(&from) else {
        return from; // unreachable for a closed edge set; ends the ring
    };
    let k = match (dir, outs.len()) {
        (Some(d), n) if n > 1 => {
            // the left turn of `d` in this frame (mask on the left): (dx, dy) -> (dy, -dx)
            let left = (from.0 + d.1, from.1 - d.0);
            outs.iter().position(|&o| o == left).unwrap_or(0)
        }
        _ => 0,
    };
    let to = outs.swap_remove(k);
    if outs.is_empty() {
        edges.remove(&from);
    }
    to
}

/// The ring's turning points as pixel coordinates.
fn simplify(ring: &[(i64, i64)]) -> Contour {
    let n = ring.len();
    (0..n)
        .filter(|&k| {
            let (a, b, c) = (ring[(k + n - 1) % n], ring[k], ring[(k + 1) % n]);
            (b.0 - a.0) * (c.1 - b.1) - (b.1 - a.1) * (c.0 - b.0) != 0
        })
        .map(|k| [ring[k].0 as f64 - 0.5, ring[k].1 as f64 - 0.5])
        .collect()
}

/// Even-odd fill of contours at the pixel centres of an `nx` x `ny` slice (the inverse of
/// [`trace_slice`], used to check it): `out[j * nx + i]` is whether pixel (i, j) is inside.
pub fn fill_even_odd(nx: usize, ny: usize, contours: &[Contour]) -> Vec<bool> {
    let mut out = vec![false; nx * ny];
    for j in 0..ny {
        let y = j as f64;
        for c in contours {
            let n = c.len();
            for k in 0..n {
                let (p, q) = (c[k], c[(k + 1) % n]);
                if (p[1] > y) == (q[1] > y) {
                    continue;
                }
                let x = p[0] + (y - p[1]) * (q[0] - p[0]) / (q[1] - p[1]);
                // toggle every pixel centre right of the crossing
                let first = (x.max(-1.0).ceil()).max(0.0) as usize;
                for i in first..nx {
                    out[j * nx + i] ^= true;
                }
            }
        }
    }
    out
}

/// Signed area of a contour (positive for counter-clockwise in this frame).
pub fn signed_area(c: &Contour) -> f64 {
    let n = c.len();
    (0..n)
        .map(|k| {
            let (p, q) = (c[k], c[(k + 1) % n]);
            p[0] * q[1] - q[0] * p[1]
        })
        .sum::<f64>()
        / -2.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(nx: usize, ny: usize, cells: &[u8]) -> Vec<Contour> {
        let contours = trace_slice(nx, ny, |i, j| cells[j * nx + i] != 0);
        let back = fill_even_odd(nx, ny, &contours);
        let want: Vec<bool> = cells.iter().map(|&c| c != 0).collect();
        assert_eq!(back, want, "contours {contours:?}");
        contours
    }

    #[test]
    fn a_square_is_four_corners_counter_clockwise() {
        let c = round_trip(3, 3, &[0, 0, 0, 0, 1, 0, 0, 0, 0]);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].len(), 4);
        assert_eq!(signed_area(&c[0]), 1.0);
    }

    #[test]
    fn holes_islands_and_diagonal_touches_round_trip() {
        #[rustfmt::skip]
        let ring = [
            1, 1, 1, 1, 0, 0,
            1, 0, 0, 1, 0, 1,
            1, 0, 0, 1, 0, 0,
            1, 1, 1, 1, 0, 0,
            0, 0, 0, 0, 1, 0,
            0, 0, 0, 1, 0, 1,
        ];
        let c = round_trip(6, 6, &ring);
        // the ring's outside and its hole, the lone pixel, and three diagonal pixels
        assert_eq!(c.len(), 6, "{c:?}");
        let areas: Vec<f64> = c.iter().map(signed_area).collect();
        let total: f64 = areas.iter().sum();
        assert_eq!(total, ring.iter().filter(|&&v| v != 0).count() as f64, "{areas:?}");
        assert!(areas.iter().any(|&a| a == -4.0), "the hole runs clockwise: {areas:?}");
        // the mask touching the slice's edges
        round_trip(3, 2, &[1, 1, 1, 1, 0, 1]);
        round_trip(4, 4, &[1; 16]);
        assert!(trace_slice(4, 4, |_, _| false).is_empty());
    }

    #[test]
    fn random_masks_round_trip() {
        let mut state = 12345u64;
        for _ in 0..50 {
            let cells: Vec<u8> = (0..12 * 9)
                .map(|_| {
                    state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    u8::from((state >> 33) % 3 == 0)
                })
                .collect();
            round_trip(12, 9, &cells);
        }
    }
}
