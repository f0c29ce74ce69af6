//! Post-processing of a mask: keeping its largest 6-connected component (`--largest-component`,
//! off by default as in the paper).

use ndarray::Array3;

/// Keeps the largest 6-connected component of a 0/1 mask (ties: the first in raster order).
pub fn keep_largest_component(mut mask: ndarray::ArrayViewMut3<'_, u8>) {
    let (nz, ny, nx) = mask.dim();
    let mut comp = Array3::<u32>::zeros((nz, ny, nx));
    let mut sizes = vec![0usize];
    let mut stack = Vec::new();
    for z in 0..nz {
        for y in 0..ny {
            for x in 0..nx {
                if mask[[z, y, x]] == 0 || comp[[z, y, x]] != 0 {
                    continue;
                }
                let id = sizes.len() as u32;
                let mut size = 0;
                comp[[z, y, x]] = id;
                stack.push((z, y, x));
                while let Some((a, b, c)) = stack.pop() {
                    size += 1;
                    let nbs = [
                        (a.wrapping_sub(1), b, c),
                        (a + 1, b, c),
                        (a, b.wrapping_sub(1), c),
                        (a, b + 1, c),
                        (a, b, c.wrapping_sub(1)),
                        (a, b, c + 1),
                    ];
                    for (p, q, r) in nbs {
                        if p < nz
                            && q < ny
                            && r < nx
                            && mask[[p, q, r]] != 0
                            && comp[[p, q, r]] == 0
                        {
                            comp[[p, q, r]] = id;
                            stack.push((p, q, r));
                        }
                    }
                }
                sizes.push(size);
            }
        }
    }
    let Some(best) = (1..sizes.len()).max_by_key(|&i| (sizes[i], std::cmp::Reverse(i))) else {
        return;
    };
    mask.zip_mut_with(&comp, |m, &c| *m = u8::from(c == best as u32));
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::s;
    #[test]
    fn largest_component_is_kept() {
        let mut m = Array3::<u8>::zeros((3, 5, 5));
        m[[0, 0, 0]] = 1;
        m.slice_mut(s![1..3, 2..4, 2..4]).fill(1);
        keep_largest_component(m.view_mut());
        assert_eq!(m.sum(), 8);
        assert_eq!(m[[0, 0, 0]], 0);
    }
}
