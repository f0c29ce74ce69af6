//! One fold: the cascade and ConvNets trained on its training cases (P0 cross-fitted for R2), the
//! sigma, operating points and CRF calibrated on them, the bundle exported and every case
//! evaluated.

use super::evaluate::{
    argmax, best_operating_points, case_sigma, dsc_curve, evaluate_case, figures, map_of,
    mean_curve, smoothed_maps, Evaluated,
};
use super::grid::{crf_grid, sigma_grid, thresholds, COLUMNS};
use super::profile::Settings;
use super::results::{scaled_sigma, CaseResult, CvArgs, FoldResult};
use crate::candidates_cv::{split_folds, train_cascade, PreparedCase};
use crate::cohort::Cohort;
use crate::convnet::examples::ExampleCase;
use crate::convnet::train::TrainOptions;
use crate::convnet::NetKind;
use crate::error::{Result, TrainError};
use crate::export_cmd::{run_export, ExportArgs};
use crate::fig5::Curves;
use crate::train_cmd::{example_cases, fill_p0_maps, prepare_cases, train_on_cases, TrainArgs};
use ndarray::Array3;
use pancseg::model::bundle::{Bundle, OperatingPoints};
use pancseg::model::network::RuntimeOptions;
use pancseg::pipeline::fusion::crf::CrfSetting;
use pancseg::pipeline::{Segmenter, StageMaps};
use serde::Deserialize;
use std::path::Path;

/// What calibration sets in a bundle.
pub(super) struct Calibrated {
    pub(super) ops: OperatingPoints,
    /// CRF weight and unary prior.
    pub(super) crf: Option<CrfSetting>,
    /// Sigma factors (in-plane, axial) of [`sigma_grid`].
    pub(super) sigma: (f64, f64),
}

pub(super) fn export(
    a: &CvArgs,
    fold_dir: &Path,
    out: &Path,
    cal: &Calibrated,
    s: &Settings,
    description: String,
) -> Result<()> {
    let (sigma_voxels, sigma_mm) = scaled_sigma(a, cal.sigma);
    let nets = fold_dir.join("nets");
    let boundary = nets.join("boundary");
    run_export(&ExportArgs {
        forests: fold_dir.join("forests"),
        p: nets.join("p"),
        r1: nets.join("r1"),
        r2: nets.join("r2"),
        boundary: boundary.join("train.json").is_file().then_some(boundary),
        out: out.to_path_buf(),
        p0_stride: s.p0_stride,
        p0_step_mm: s.p0_step_mm,
        sigma_voxels,
        sigma_mm,
        operating_points: cal.ops,
        crf_weight: cal.crf.map_or(1.0, |c| c.weight),
        crf_prior: cal.crf.map(|c| c.prior),
        crf_pairwise: cal.crf.map(|c| c.pairwise),
        working_spacing_mm: Some(a.working_spacing),
        description,
    })?;
    Ok(())
}

/// The `train` arguments of network `net` of a fold, trained on `ids` into `nets/<name>` with
/// the `schedule` of `s` it belongs to.
pub(super) fn train_args(
    a: &CvArgs,
    s: &Settings,
    dir: &Path,
    net: NetKind,
    name: &str,
    ids: &[String],
    schedule: &TrainOptions,
) -> TrainArgs {
    let nets = dir.join("nets");
    let mut options = schedule.clone();
    let boundary = net == NetKind::Boundary;
    if boundary {
        // with the P0 channel the boundary ConvNet learns best at 1e-3 (validation AUC 0.745
        // against 0.714 at 3e-4 on one split; without P0 it diverged at 1e-3):
        // docs/results/boundary/README.md
        options.lr = 1e-3;
    }
    options.init = a.init;
    options.device = a.device;
    TrainArgs {
        cohort: a.cohort.clone(),
        cases: ids.to_vec(),
        net,
        out: nets.join(name),
        forests: Some(dir.join("forests")),
        // R2 and the boundary ConvNet read P0: the cross-fitted maps R2's training left in the
        // cases, or this fold's P-ConvNet when a resumed run starts at the boundary ConvNet
        p_net: (net == NetKind::R2 || boundary).then(|| nets.join("p")),
        // the one change that made the boundary ConvNet learn (validation AUC 0.61 without P0,
        // 0.92 with an out-of-sample P0): docs/results/boundary/README.md
        boundary_p0: boundary,
        pair_min_pixels: 0,
        boundary_context: None,
        scales: None,
        box_floor_mm: None,
        working_spacing: a.working_spacing,
        options,
        val_fraction: 0.2,
        resume: false,
        max_voxels: s.max_voxels,
        p0_stride: s.p0_stride,
        widths: s.widths,
        fc: s.fc,
    }
}

/// Cross-fitted P0 maps for R2's training cases: the cases are split in two halves, a
/// P-ConvNet is trained on each half (`nets/p_half_1`, `nets/p_half_2`, reused when present)
/// and every case gets its P0 from the network of the other half.
///
/// Why (a departure from the paper, which feeds R2 the P0 of the P-ConvNet trained on the same
/// cases): P0 of a case the P-ConvNet was trained on is sharper than P0 of an unseen case, so an
/// R2 trained on in-sample maps learns to trust P0 more than it deserves on new patients, and
/// its validation loss, on held-out cases, was best after its first epoch. With cross-fitted
/// maps R2 trains on P0 of the quality it meets at inference. The bundle's P-ConvNet is still
/// the one trained on every training case.
pub(super) fn cross_fit_p0(
    a: &CvArgs,
    s: &Settings,
    label: &str,
    dir: &Path,
    train_ids: &[String],
    cases: &mut Vec<ExampleCase>,
) -> Result<()> {
    let half = split_folds(cases.len(), 2, s.train.seed ^ 0xC2055);
    let first = half.iter().filter(|&&h| h == 0).count();
    let smaller = first.min(cases.len() - first);
    if smaller < 2 {
        // `train` needs two cases per network (one held out for validation)
        eprintln!(
            "{label}: {} training cases are too few to cross-fit P0; R2 reads in-sample P0",
            cases.len()
        );
        return Ok(());
    }
    let mut parts: [Vec<(usize, ExampleCase)>; 2] = [Vec::new(), Vec::new()];
    for (i, c) in std::mem::take(cases).into_iter().enumerate() {
        parts[half[i]].push((i, c));
    }
    let name = |h: usize| format!("p_half_{}", h + 1);
    let nets = dir.join("nets");
    let split =
        |v: Vec<(usize, ExampleCase)>| -> (Vec<usize>, Vec<ExampleCase>) { v.into_iter().unzip() };
    // a P-ConvNet per half
    for (h, part) in parts.iter_mut().enumerate() {
        if nets.join(name(h)).join("train.json").is_file() {
            continue;
        }
        let (idx, mut half_cases) = split(std::mem::take(part));
        let ids: Vec<String> = idx.iter().map(|&i| train_ids[i].clone()).collect();
        eprintln!("{label}: training {} on {} cases", name(h), ids.len());
        let line = train_on_cases(
            &train_args(a, s, dir, NetKind::P, &name(h), &ids, &s.p_half_train),
            &mut half_cases,
        )?;
        eprint!("{label}: {line}");
        *part = idx.into_iter().zip(half_cases).collect();
    }
    // each half's P0 from the other half's network
    for (h, part) in parts.iter_mut().enumerate() {
        let (idx, mut half_cases) = split(std::mem::take(part));
        fill_p0_maps(&nets.join(name(1 - h)), &mut half_cases, s.p0_stride)?;
        *part = idx.into_iter().zip(half_cases).collect();
    }
    let mut merged: Vec<(usize, ExampleCase)> = parts.into_iter().flatten().collect();
    merged.sort_by_key(|(i, _)| *i);
    *cases = merged.into_iter().map(|(_, c)| c).collect();
    Ok(())
}

/// Trains, calibrates and evaluates fold `f` (`f == a.folds`: the final run on every case).
/// `train_only` are the cohort's scans without pancreas that the segmenter searches: every
/// fold's cascade and ConvNets learn from them as negatives, and they are never evaluated.
pub(super) fn run_fold(
    a: &CvArgs,
    cohort: &Cohort,
    f: usize,
    train_ids: &[String],
    test_ids: &[String],
    train_only: &[String],
) -> Result<FoldResult> {
    let started = std::time::Instant::now();
    let fit_ids: Vec<String> = train_ids.iter().chain(train_only).cloned().collect();
    // f == a.folds: the final run on every case
    let whole = f == a.folds;
    let label = if whole {
        "final".to_string()
    } else {
        format!("fold {}", f + 1)
    };
    let dir = a.out.join(if whole {
        "final".to_string()
    } else {
        format!("fold_{}", f + 1)
    });
    let s = a.profile.settings(a.seed.wrapping_add(f as u64 * 7919));
    // 1. the cascade and 2. the ConvNets (R2 after P: it reads P0 maps), on one preparation of
    // the training cases
    let forests = dir.join("forests");
    let nets = dir.join("nets");
    let order = [NetKind::P, NetKind::R1, NetKind::R2, NetKind::Boundary];
    let todo: Vec<NetKind> = order
        .into_iter()
        .filter(|n| !nets.join(n.name()).join("train.json").is_file())
        .collect();
    let need_cascade = !forests.join("level2.psrf").is_file();
    if need_cascade || !todo.is_empty() {
        let prepared = prepare_cases(cohort, &fit_ids, &s.cascade.superpixels)?;
        if need_cascade {
            eprintln!("{label}: cascade on {} training cases", fit_ids.len());
            let refs: Vec<&PreparedCase> = prepared.iter().collect();
            let cascade = train_cascade(&refs, &s.cascade, s.train.seed)?;
            std::fs::create_dir_all(&forests).map_err(|e| TrainError::io(&forests, e))?;
            cascade.level1.save(forests.join("level1.psrf"))?;
            cascade.level2.save(forests.join("level2.psrf"))?;
        }
        let mut cases = example_cases(prepared, Some(&forests), s.train.seed)?;
        for net in todo {
            // R2 and the boundary ConvNet read cross-fitted P0 maps (a resumed run that starts
            // at the boundary ConvNet fills them again from the kept half networks)
            let needs_p0 = net == NetKind::R2
                || (net == NetKind::Boundary && cases.iter().any(|c| c.p0.is_none()));
            if needs_p0 {
                cross_fit_p0(a, &s, &label, &dir, &fit_ids, &mut cases)?;
            }
            eprintln!("{label}: training {}", net.name());
            let line = train_on_cases(
                &train_args(
                    a,
                    &s,
                    &dir,
                    net,
                    net.name(),
                    &fit_ids,
                    match net {
                        NetKind::P => &s.p_train,
                        NetKind::R2 => &s.r2_train,
                        NetKind::Boundary => &s.boundary_train,
                        _ => &s.train,
                    },
                ),
                &mut cases,
            )?;
            eprint!("{label}: {line}");
        }
    }
    // 3. the maps of every case, with a provisional bundle (the maps do not depend on the
    // operating points)
    let provisional = dir.join("bundle-uncalibrated");
    export(
        a,
        &dir,
        &provisional,
        &Calibrated {
            ops: OperatingPoints::default(),
            crf: None,
            sigma: (1.0, 1.0),
        },
        &s,
        format!("cv {label} (uncalibrated)"),
    )?;
    let seg = Segmenter::new(
        Bundle::load(&provisional)?,
        RuntimeOptions::default(),
        a.threads,
    )?;
    let ts = thresholds();
    // the training cases that every ConvNet held out: the smoothing sigma is chosen on them
    let held_out = held_out_cases(&nets)?;
    let mut evaluated = Vec::new();
    for (ids, train) in [(train_ids, true), (test_ids, false)] {
        for id in ids {
            let sweep = train && held_out.contains(id);
            let e = evaluate_case(a, &seg, cohort, id, train, sweep, &ts)?;
            eprintln!(
                "{label} {} {id}: Opt {:.3}, S_RF {:.3}, best P2 {:.3}",
                if train { "train" } else { "test " },
                e.fixed[0].0,
                e.fixed[1].0,
                e.curve[4].iter().cloned().fold(0.0, f64::max)
            );
            evaluated.push(e);
        }
    }
    // 4. calibration on the training cases only: the sigma by G(P2)'s best mean DSC on the
    // training cases that every ConvNet held out, then every G(Pk) at that sigma
    let sigmas = sigma_grid();
    let sigma_pick = {
        let sigma_cases: Vec<&Evaluated> = evaluated
            .iter()
            .filter(|e| !e.g_curves.is_empty())
            .collect();
        let best: Vec<f64> = (0..sigmas.len())
            .map(|g| {
                mean_curve(&sigma_cases, |e| &e.g_curves[g][2])
                    .into_iter()
                    .fold(f64::NEG_INFINITY, f64::max)
            })
            .collect();
        eprintln!(
            "{label}: sigma factors on {} held-out training cases: {}",
            sigma_cases.len(),
            sigmas
                .iter()
                .zip(&best)
                .map(|(g, d)| format!("{g:?} {d:.4}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        argmax(&best)
    };
    let sigma = sigmas[sigma_pick];
    // every case's G(Pk) at the chosen sigma (the held-out cases' sweep maps were not kept:
    // nine sigmas x three maps each would hold far more memory than smoothing once more costs)
    for e in evaluated.iter_mut() {
        let [g0, g1, g2] = smoothed_maps(&e.maps, case_sigma(a, &seg, e.maps.spacing, sigma));
        (e.maps.g_p0, e.maps.g_p1, e.maps.g_p2) = (g0, g1, g2);
        let total = e.truth.iter().filter(|&&v| v != 0).count();
        for k in [1, 3, 5] {
            e.curve[k] = dsc_curve(
                map_of(&e.maps, k),
                e.maps.offset,
                &e.truth,
                total,
                ts.as_slice(),
            );
        }
    }
    let train_cases: Vec<&Evaluated> = evaluated.iter().filter(|e| e.train).collect();
    let test_cases: Vec<&Evaluated> = evaluated.iter().filter(|e| !e.train).collect();
    let train_curves: Vec<Vec<f64>> = (0..6)
        .map(|k| mean_curve(&train_cases, |e| &e.curve[k]))
        .collect();
    let test_curves: Vec<Vec<f64>> = (0..6)
        .map(|k| mean_curve(&test_cases, |e| &e.curve[k]))
        .collect();
    let ops = best_operating_points(&train_curves, &ts);
    let crf_means = mean_curve(&train_cases, |e| &e.crf_dsc);
    let crf_pick = (!crf_means.is_empty()).then(|| argmax(&crf_means));
    let grid = crf_grid();
    let crf = crf_pick.map(|i| grid[i]);
    let crf_weight = crf.map(|c| c.weight);
    let crf_prior = crf.map(|c| c.prior);
    export(
        a,
        &dir,
        &dir.join("bundle"),
        &Calibrated { ops, crf, sigma },
        &s,
        if whole {
            format!(
                "trained on all {} cases of the cohort (cv seed {}), operating points calibrated on them",
                train_ids.len(),
                a.seed
            )
        } else {
            format!(
                "cv fold {} of {} (seed {}), operating points calibrated on its {} training cases",
                f + 1,
                a.folds,
                a.seed,
                train_ids.len()
            )
        },
    )?;
    // 5. every case at the calibrated points
    let mut cases = Vec::new();
    for e in &evaluated {
        let m = &e.maps;
        let mut dsc = vec![e.fixed[0].0, e.fixed[1].0];
        let mut sd = vec![e.fixed[0].1, e.fixed[1].1];
        let point = [ops.p0, ops.g_p0, ops.p1, ops.g_p1, ops.p2, ops.g_p2];
        for (k, &t) in point.iter().enumerate() {
            let mask = if m.p0.is_empty() {
                Array3::zeros(m.dims)
            } else {
                m.full(&StageMaps::threshold(map_of(m, k), t))
            };
            let (d, s) = figures(&mask, &e.truth, m.spacing);
            dsc.push(d);
            sd.push(s);
        }
        match crf_pick {
            Some(i) => {
                // no packed mask: the case had no candidate, every setting gives the empty mask
                let mask = e
                    .crf_masks
                    .get(i)
                    .map_or_else(|| Array3::zeros(m.dims), |p| m.full(&p.unpack()));
                let (d, s) = figures(&mask, &e.truth, m.spacing);
                dsc.push(d);
                sd.push(s);
            }
            None => {
                dsc.push(f64::NAN);
                sd.push(None);
            }
        }
        cases.push(CaseResult {
            id: e.id.clone(),
            fold: f + 1,
            split: if e.train { "train" } else { "test" }.into(),
            dsc,
            assd_mm: sd.iter().map(|s| s.map(|v| v.0)).collect(),
            hd95_mm: sd.iter().map(|s| s.map(|v| v.1)).collect(),
        });
    }
    let result = FoldResult {
        fold: f + 1,
        train_cases: train_ids.to_vec(),
        test_cases: test_ids.to_vec(),
        train_only_cases: train_only.to_vec(),
        operating_points: ops,
        crf_weight,
        crf_prior,
        crf_pairwise: crf.map(|c| c.pairwise),
        sigma_factors: Some(sigma),
        cases,
        curves: Curves {
            thresholds: ts,
            maps: COLUMNS[2..8].iter().map(|s| s.to_string()).collect(),
            train: train_curves,
            test: test_curves,
        },
        seconds: started.elapsed().as_secs_f64(),
    };
    let path = dir.join("results.json");
    let text =
        serde_json::to_string_pretty(&result).map_err(|e| TrainError::Invalid(e.to_string()))?;
    std::fs::write(&path, text + "\n").map_err(|e| TrainError::io(&path, e))?;
    Ok(result)
}

/// The training cases that every ConvNet of a fold held out for validation (`val_cases` of each
/// `nets/<net>/train.json`): their maps are out-of-sample, like a new patient's, so the
/// smoothing sigma is calibrated on them. Why not on every training case: the maps of cases a
/// network was trained on are sharper and ask for less smoothing than a new case needs
/// (docs/results/evaluation.md). With no case held out by all of them (tiny
/// folds) the calibration keeps the base sigma.
pub(super) fn held_out_cases(nets: &Path) -> Result<Vec<String>> {
    /// The one field of a `train.json` ([`crate::convnet::report::TrainReport`]) read here.
    #[derive(Deserialize)]
    struct Held {
        val_cases: Vec<String>,
    }
    let mut lists = Vec::new();
    for net in [NetKind::P, NetKind::R1, NetKind::R2] {
        let path = nets.join(net.name()).join("train.json");
        let text = std::fs::read_to_string(&path).map_err(|e| TrainError::io(&path, e))?;
        let held: Held = serde_json::from_str(&text)
            .map_err(|e| TrainError::Invalid(format!("{}: {e}", path.display())))?;
        lists.push(held.val_cases);
    }
    Ok(common_cases(&lists))
}

/// The cases in every list, in the first list's order.
pub(super) fn common_cases(lists: &[Vec<String>]) -> Vec<String> {
    match lists.split_first() {
        None => Vec::new(),
        Some((first, rest)) => first
            .iter()
            .filter(|id| rest.iter().all(|l| l.contains(id)))
            .cloned()
            .collect(),
    }
}

/// Copies a bundle directory's files (flat) into `to`, replacing what is there.
pub(super) fn copy_bundle(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).map_err(|e| TrainError::io(to, e))?;
    let entries = std::fs::read_dir(from).map_err(|e| TrainError::io(from, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| TrainError::io(from, e))?;
        let path = entry.path();
        if path.is_file() {
            let dest = to.join(entry.file_name());
            std::fs::copy(&path, &dest).map_err(|e| TrainError::io(&dest, e))?;
        }
    }
    Ok(())
}
