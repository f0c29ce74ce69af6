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

/// Boundary recall (fraction of ground-truth boundary pixels within `tol` pixels of a superpixel
/// boundary) and undersegmentation error (fraction of pixels of each superpixel outside its
/// best-matching ground-truth segment, summed over superpixels, over all body pixels) on one
/// slice. `gt` labels structures; pixels where `sp` is 0 are ignored.
pub fn boundary_recall_and_ue(sp: &[u32], gt: &[u8], nx: usize, ny: usize, tol: i64) -> (f64, f64) {
    let is_boundary = |l: &dyn Fn(usize) -> u32, x: usize, y: usize| {
        let a = l(y * nx + x);
        (x + 1 < nx && l(y * nx + x + 1) != a) || (y + 1 < ny && l((y + 1) * nx + x) != a)
    };
    let spb: Vec<bool> = (0..nx * ny)
        .map(|i| sp[i] != 0 && is_boundary(&|j| sp[j], i % nx, i / nx))
        .collect();
    let (mut hit, mut total) = (0usize, 0usize);
    for y in 0..ny {
        for x in 0..nx {
            let i = y * nx + x;
            if sp[i] == 0 || !is_boundary(&|j| gt[j] as u32, x, y) {
                continue;
            }
            total += 1;
            let mut found = false;
            'search: for dy in -tol..=tol {
                for dx in -tol..=tol {
                    let (xx, yy) = (x as i64 + dx, y as i64 + dy);
                    if xx >= 0
                        && yy >= 0
                        && (xx as usize) < nx
                        && (yy as usize) < ny
                        && spb[yy as usize * nx + xx as usize]
                    {
                        found = true;
                        break 'search;
                    }
                }
            }
            hit += usize::from(found);
        }
    }
    let mut overlap: std::collections::HashMap<(u32, u8), usize> = std::collections::HashMap::new();
    let mut sizes: std::collections::HashMap<u32, usize> = std::collections::HashMap::new();
    let mut n = 0usize;
    for i in 0..nx * ny {
        if sp[i] != 0 {
            *overlap.entry((sp[i], gt[i])).or_default() += 1;
            *sizes.entry(sp[i]).or_default() += 1;
            n += 1;
        }
    }
    let mut best: std::collections::HashMap<u32, usize> = std::collections::HashMap::new();
    for ((s, _), c) in overlap {
        let b = best.entry(s).or_default();
        *b = (*b).max(c);
    }
    let leak: usize = sizes
        .iter()
        .map(|(s, size)| size - best.get(s).copied().unwrap_or(0))
        .sum();
    let br = if total == 0 {
        1.0
    } else {
        hit as f64 / total as f64
    };
    (br, leak as f64 / n.max(1) as f64)
}

/// `bench superpixels`: ERS time per slice (one thread) on a full-size phantom and on the real
/// CT slices given, boundary recall / undersegmentation error against the phantom's structure
/// labels, and Opt. DSC against its pancreas. Writes the slices it measured as raw files into
/// `dump` (when given) for the SLIC comparison script.
pub fn bench_superpixels(
    seed: u64,
    cfg: &pancseg::pipeline::candidates::superpixels::SuperpixelConfig,
    real: Option<&std::path::Path>,
    max_slices: usize,
    dump: Option<&std::path::Path>,
) -> Result<String> {
    use crate::selection::optimal_labels;
    use pancseg::pipeline::candidates::superpixels::{compute_superpixels, slice_superpixels};
    let mut out = String::new();
    let case = generate_case(case_seed(seed, 0), PhantomSize::Full)?;
    let (nz, ny, nx) = case.ct.data.dim();
    let spacing = (case.ct.geometry.spacing[0], case.ct.geometry.spacing[1]);
    // slices through the pancreas region first (where the method works), then evenly spaced
    let z_with: Vec<usize> = (0..nz)
        .filter(|&z| {
            case.label
                .data
                .index_axis(ndarray::Axis(0), z)
                .iter()
                .any(|&v| v != 0)
        })
        .collect();
    let step = (z_with.len() / max_slices.max(1)).max(1);
    let chosen: Vec<usize> = z_with
        .iter()
        .step_by(step)
        .take(max_slices)
        .copied()
        .collect();
    let (mut times, mut brs, mut ues) = (Vec::new(), Vec::new(), Vec::new());
    let mut nsp = 0usize;
    for &z in &chosen {
        let hu: Vec<f32> = case.ct.slice_vec(z);
        let gt: Vec<u8> = case.organs.slice_vec(z);
        let t = Instant::now();
        let (sp, n) = slice_superpixels(&hu, nx, ny, spacing, cfg);
        times.push(t.elapsed().as_secs_f64() * 1e3);
        nsp += n;
        let (br, ue) = boundary_recall_and_ue(&sp, &gt, nx, ny, 2);
        if let Some(d) = dump {
            dump_slice(
                d,
                z,
                nx,
                ny,
                spacing,
                n,
                times[times.len() - 1],
                &hu,
                &gt,
                &sp,
            )?;
        }
        brs.push(br);
        ues.push(ue);
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let mut sorted = times.clone();
    sorted.sort_by(f64::total_cmp);
    out += &format!(
        "ERS on full-size phantom {nx}x{ny}, {} slices through the pancreas, one thread: mean {:.1} ms, median {:.1} ms, max {:.1} ms per slice; {:.0} superpixels per slice; boundary recall (2 px) {:.3}; undersegmentation error {:.4}\n",
        chosen.len(),
        mean(&times),
        sorted.get(sorted.len() / 2).copied().unwrap_or(0.0),
        sorted.last().copied().unwrap_or(0.0),
        nsp as f64 / chosen.len().max(1) as f64,
        mean(&brs),
        mean(&ues)
    );
    let t = Instant::now();
    let set = compute_superpixels(&case.ct, cfg);
    let whole = t.elapsed().as_secs_f64();
    let (_, opt) = optimal_labels(&set, &case.label.data);
    out += &format!(
        "whole volume ({nz} slices, {} threads): {:.2} s, {} superpixels, Opt. DSC {:.3}\n",
        rayon::current_num_threads(),
        whole,
        set.superpixels.len(),
        opt
    );
    if let Some(dir) = real {
        let s = pancseg::io::dicom::series::read_dicom_dir(dir, &Default::default())?;
        let (rz, ry, rx) = s.volume.data.dim();
        let sp = (s.volume.geometry.spacing[0], s.volume.geometry.spacing[1]);
        let mut rt = Vec::new();
        for z in 0..rz {
            let hu: Vec<f32> = s.volume.slice_vec(z);
            let t = Instant::now();
            let _ = slice_superpixels(&hu, rx, ry, sp, cfg);
            rt.push(t.elapsed().as_secs_f64() * 1e3);
        }
        out += &format!(
            "ERS on the real CT {rx}x{ry}, {rz} slices, one thread: mean {:.1} ms per slice\n",
            mean(&rt)
        );
    }
    Ok(out)
}

/// Opt. DSC (optimal superpixel labels) and superpixel counts over the cases of a cohort.
pub fn bench_opt_dsc(
    cohort: &std::path::Path,
    cfg: &pancseg::pipeline::candidates::superpixels::SuperpixelConfig,
) -> Result<String> {
    use crate::selection::optimal_labels;
    use pancseg::pipeline::candidates::superpixels::compute_superpixels;
    let c = crate::cohort::Cohort::open(cohort)?;
    let mut out = String::new();
    let (mut sum, mut n, mut sps) = (0.0, 0usize, 0usize);
    let t = Instant::now();
    for rec in &c.manifest.cases {
        let (ct, mask) = c.load_case(&rec.id)?;
        let set = compute_superpixels(&ct, cfg);
        let (_, dsc) = optimal_labels(&set, &mask.data);
        sum += dsc;
        n += 1;
        sps += set.superpixels.len();
        out += &format!(
            "{}: Opt. DSC {dsc:.3}, {} superpixels\n",
            rec.id,
            set.superpixels.len()
        );
    }
    out += &format!(
        "mean Opt. DSC {:.3} over {n} cases, {:.0} superpixels per case, {:.1} s (area {} mm², lambda {}, sigma {} HU)\n",
        sum / n.max(1) as f64,
        sps as f64 / n.max(1) as f64,
        t.elapsed().as_secs_f64(),
        cfg.area_mm2,
        cfg.lambda,
        cfg.sigma_hu
    );
    Ok(out)
}

/// Writes one measured slice for `training/bench/slic_compare.py`.
#[allow(clippy::too_many_arguments)]
fn dump_slice(
    dir: &std::path::Path,
    z: usize,
    nx: usize,
    ny: usize,
    spacing: (f64, f64),
    k: usize,
    ms: f64,
    hu: &[f32],
    gt: &[u8],
    sp: &[u32],
) -> Result<()> {
    use crate::error::TrainError;
    std::fs::create_dir_all(dir).map_err(|e| TrainError::io(dir, e))?;
    let base = dir.join(format!("slice_{z:03}"));
    let write = |suffix: &str, bytes: Vec<u8>| {
        let p = base.with_file_name(format!("slice_{z:03}{suffix}"));
        std::fs::write(&p, bytes).map_err(|e| TrainError::io(&p, e))
    };
    write("_hu.f32", hu.iter().flat_map(|v| v.to_le_bytes()).collect())?;
    write("_gt.u8", gt.to_vec())?;
    write(
        "_ers.u32",
        sp.iter().flat_map(|v| v.to_le_bytes()).collect(),
    )?;
    let meta = serde_json::json!({ "nx": nx, "ny": ny, "spacing": [spacing.0, spacing.1], "k": k, "ers_ms": ms });
    write(".json", meta.to_string().into_bytes())
}

/// `bench cascade`: superpixels and cascade scoring (features, level 1, level-2 features,
/// level 2) of one full-size phantom, with forests from a `candidates` fold directory.
pub fn bench_cascade(forests: &std::path::Path, seed: u64) -> Result<String> {
    use pancseg::model::forest::Forest;
    use pancseg::pipeline::candidates::cascade::Cascade;
    use pancseg::pipeline::candidates::superpixels::{compute_superpixels, SuperpixelConfig};
    let cascade = Cascade {
        superpixels: SuperpixelConfig::default(),
        level1: Forest::load(forests.join("level1.psrf"))?,
        level2: Forest::load(forests.join("level2.psrf"))?,
    };
    let case = generate_case(case_seed(seed, 0), PhantomSize::Full)?;
    let [nx, ny, nz] = case.ct.dims_xyz();
    let t = Instant::now();
    let set = compute_superpixels(&case.ct, &cascade.superpixels);
    let t_sp = t.elapsed().as_secs_f64();
    let n = set.superpixels.len();
    // the stages of Cascade::score, timed one by one
    let t = Instant::now();
    let rows = pancseg::pipeline::candidates::features::superpixel_features(&case.ct, &set);
    let t_f1 = t.elapsed().as_secs_f64();
    let p1 = cascade.level1.predict_many(&rows, n);
    let t_l1 = t.elapsed().as_secs_f64() - t_f1;
    let rows2 = pancseg::pipeline::candidates::features::level2_features(&set, &rows, &p1);
    let t_f2 = t.elapsed().as_secs_f64() - t_f1 - t_l1;
    let _ = cascade.level2.predict_many(&rows2, n);
    let t_l2 = t.elapsed().as_secs_f64() - t_f1 - t_l1 - t_f2;
    let t = Instant::now();
    let c = cascade.score(&case.ct, set)?;
    let t_rf = t.elapsed().as_secs_f64();
    let recall = crate::selection::selection_recall(&c.set, &c.selected, &case.label.data);
    Ok(format!(
        "full-size phantom {nx}x{ny}x{nz}, {} threads: superpixels {t_sp:.2} s ({n} superpixels); cascade (features + 2 forests of {} trees) {t_rf:.2} s (features {t_f1:.2} s, level 1 {t_l1:.2} s, level-2 features {t_f2:.2} s, level 2 {t_l2:.2} s); {} candidates, recall {recall:.3}\n",
        rayon::current_num_threads(),
        cascade.level1.trees.len(),
        c.count()
    ))
}
