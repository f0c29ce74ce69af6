//! The body on an axial slice: pixels above -500 HU, the largest 8-connected component, with
//! holes (bowel gas, lungs) filled. Air around the patient and the table are outside.

/// Body mask of a row-major `ny x nx` slice of HU values.
pub fn body_mask(hu: &[f32], nx: usize, ny: usize) -> Vec<bool> {
    let n = nx * ny;
    let dense: Vec<bool> = hu.iter().map(|&v| v > -500.0).collect();
    // largest 8-connected component of dense pixels
    let mut comp = vec![u32::MAX; n];
    let mut best = (0usize, u32::MAX);
    let mut stack = Vec::new();
    let mut next = 0u32;
    for start in 0..n {
        if !dense[start] || comp[start] != u32::MAX {
            continue;
        }
        let mut size = 0usize;
        comp[start] = next;
        stack.push(start);
        while let Some(p) = stack.pop() {
            size += 1;
            let (x, y) = ((p % nx) as i64, (p / nx) as i64);
            for dy in -1..=1 {
                for dx in -1..=1 {
                    let (xx, yy) = (x + dx, y + dy);
                    if xx < 0 || yy < 0 || xx >= nx as i64 || yy >= ny as i64 {
                        continue;
                    }
                    let q = yy as usize * nx + xx as usize;
                    if dense[q] && comp[q] == u32::MAX {
                        comp[q] = next;
                        stack.push(q);
                    }
                }
            }
        }
        if size > best.0 {
            best = (size, next);
        }
        next += 1;
    }
    if best.1 == u32::MAX {
        return vec![false; n];
    }
    let body: Vec<bool> = comp.iter().map(|&c| c == best.1).collect();
    // fill holes: background reachable from the border (4-connected) stays outside
    let mut outside = vec![false; n];
    for p in 0..n {
        let (x, y) = (p % nx, p / nx);
        if (x == 0 || y == 0 || x == nx - 1 || y == ny - 1) && !body[p] && !outside[p] {
            outside[p] = true;
            stack.push(p);
            while let Some(q) = stack.pop() {
                let (qx, qy) = (q % nx, q / nx);
                let mut visit = |r: usize| {
                    if !body[r] && !outside[r] {
                        outside[r] = true;
                        stack.push(r);
                    }
                };
                if qx > 0 {
                    visit(q - 1);
                }
                if qx + 1 < nx {
                    visit(q + 1);
                }
                if qy > 0 {
                    visit(q - nx);
                }
                if qy + 1 < ny {
                    visit(q + nx);
                }
            }
        }
    }
    outside.iter().map(|&o| !o).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_largest_component_and_fills_holes() {
        let (nx, ny) = (12, 10);
        let mut hu = vec![-1000.0f32; nx * ny];
        for y in 2..8 {
            for x in 2..9 {
                hu[y * nx + x] = 40.0;
            }
        }
        hu[4 * nx + 5] = -1000.0; // gas inside the body
        hu[nx + 11] = 40.0; // a speck outside
        let m = body_mask(&hu, nx, ny);
        assert!(m[4 * nx + 5], "hole filled");
        assert!(!m[nx + 11], "speck removed");
        assert_eq!(m.iter().filter(|&&b| b).count(), 6 * 7);
    }
}
