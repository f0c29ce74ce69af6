//! `pancseg-train bench ...`: performance figures, reported with the machine's core count.
//! Speed targets live here, never in timed unit tests.

use crate::error::Result;
use crate::phantom::{case_seed, generate_case, PhantomSize};
use std::time::Instant;

/// Times phantom generation (in memory, no file output) for `count` small and `full_count` full
/// cases; prints one line per case and the means.
pub fn bench_phantom(count: usize, full_count: usize, seed: u64) -> Result<String> {
    let mut out = format!(
        "phantom generation, {} threads (rayon), seed {seed}\n",
        rayon::current_num_threads()
    );
    for (size, n) in [(PhantomSize::Small, count), (PhantomSize::Full, full_count)] {
        let mut total = 0.0;
        for i in 0..n {
            let t = Instant::now();
            let case = generate_case(case_seed(seed, i), size)?;
            let s = t.elapsed().as_secs_f64();
            total += s;
            let [nx, ny, nz] = case.ct.dims_xyz();
            out += &format!(
                "{size:?} case {}: {nx}x{ny}x{nz} ({:.1} Mvoxel) in {s:.2} s ({:.1} Mvoxel/s)\n",
                i + 1,
                (nx * ny * nz) as f64 / 1e6,
                (nx * ny * nz) as f64 / 1e6 / s
            );
        }
        if n > 0 {
            out += &format!(
                "{size:?}: mean {:.2} s per case over {n}\n",
                total / n as f64
            );
        }
    }
    Ok(out)
}
