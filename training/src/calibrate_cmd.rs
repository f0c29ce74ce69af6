//! `pancseg-train calibrate`: re-calibrates a model bundle on labelled cases it was not trained
//! on, optionally with its R1, R2 or boundary ConvNet replaced by a newly trained one.
//!
//! Why: `cv --final-bundle` calibrates the operating points and the CRF on the cases the
//! networks were trained on, where P2 is sharper than on a new patient; and a boundary ConvNet
//! trained later (for example with the P0 channel, `train --boundary-p0`) changes what the CRF's
//! pairwise term means, so the CRF weight and prior chosen for the old network no longer hold.
//! This command runs the bundle's own stage maps ([`Segmenter::stage_maps`]) on each case,
//! searches the thresholds of P0..G(P2) ([`thresholds`]) and the CRF's (weight, prior)
//! ([`crf_grid`]) by mean DSC over the cases, as `cv` does, and writes a copy of the bundle with
//! the chosen values (the smoothing sigma stays). Replacing R1 and R2 together may change the
//! zoom-out boxes (scales, floor, size) every R-ConvNet of the bundle reads: the new bundle
//! takes theirs. G(P2) is measured as the segmenter applies it,
//! under the bundle's volume floor ([`VolumeFloor`]); `--floor-search` also chooses the floor
//! ([`floor_grid`]) together with G(P2)'s operating point. It reports every column's mean DSC at the
//! bundle's own values and at the new ones on the same cases (`calibration.json`,
//! `calibration.md`); these are in-sample for the calibration, so judge the result on other
//! held-out cases.

use crate::cohort::Cohort;
use crate::convnet::report::{network_entry, read_report, shared_region, TrainReport};
use crate::convnet::NetKind;
use crate::cv::evaluate::{argmax, best_operating_points, box_dsc, map_of, mean_curve};
use crate::cv::{crf_grid, thresholds, COLUMNS};
use crate::error::{Result, TrainError};
use pancseg::model::bundle::{sha256_hex, Bundle, Manifest, OperatingPoints, MANIFEST};
use pancseg::model::network::RuntimeOptions;
use pancseg::pipeline::convnets::inputs::RegionGeometry;
use pancseg::pipeline::fusion::crf::{CrfSetting, Pairwise};
use pancseg::pipeline::fusion::volume_floor::VolumeFloor;
use pancseg::pipeline::{Segmenter, StageMaps};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Inputs of `calibrate`.
#[derive(Debug, Clone)]
pub struct CalibrateArgs {
    /// The bundle to calibrate.
    pub bundle: PathBuf,
    /// Labelled cases the bundle was not trained on.
    pub cohort: PathBuf,
    /// Case ids (empty: every case of the cohort).
    pub cases: Vec<String>,
    /// A `train --net boundary` output folder that replaces the bundle's boundary ConvNet.
    pub boundary: Option<PathBuf>,
    /// A `train --net r2` output folder that replaces the bundle's R2-ConvNet.
    pub r2: Option<PathBuf>,
    /// A `train --net r1` output folder that replaces the bundle's R1-ConvNet.
    pub r1: Option<PathBuf>,
    /// Keep the bundle's operating points; calibrate the CRF only.
    pub crf_only: bool,
    /// Also choose G(P2)'s volume floor from [`floor_grid`] (with its operating point).
    pub floor_search: bool,
    pub out: PathBuf,
    pub threads: usize,
}

/// What the bundle uses: operating points and the CRF setting.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Points {
    pub operating_points: OperatingPoints,
    pub crf: CrfSetting,
}

/// One case: DSC of P0, G(P0), P1, G(P1), P2, G(P2) and CRF(P2), at the bundle's values and at
/// the calibrated ones.
#[derive(Debug, Clone, Serialize)]
pub struct CaseDsc {
    pub id: String,
    pub before: [f64; 7],
    pub after: [f64; 7],
}

/// `OUT/calibration.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Calibration {
    pub bundle: PathBuf,
    pub cohort: PathBuf,
    /// The boundary ConvNet that replaced the bundle's (absent: the bundle's own).
    pub boundary: Option<PathBuf>,
    /// The R2-ConvNet that replaced the bundle's (absent: the bundle's own).
    #[serde(default)]
    pub r2: Option<PathBuf>,
    /// The R1-ConvNet that replaced the bundle's (absent: the bundle's own).
    #[serde(default)]
    pub r1: Option<PathBuf>,
    pub before: Points,
    pub after: Points,
    /// G(P2)'s volume floor before and after (None: no floor).
    #[serde(default)]
    pub floor_before: Option<VolumeFloor>,
    #[serde(default)]
    pub floor_after: Option<VolumeFloor>,
    /// With `--floor-search`: per floor of [`floor_grid`], its best G(P2) operating point and
    /// that point's mean DSC.
    #[serde(default)]
    pub floor_grid: Vec<(Option<VolumeFloor>, f32, f64)>,
    /// Mean DSC per column (P0 .. G(P2), CRF(P2)) over the cases.
    pub mean_before: [f64; 7],
    pub mean_after: [f64; 7],
    /// Mean DSC of CRF(P2) for every setting searched.
    pub crf_grid: Vec<(CrfSetting, f64)>,
    pub cases: Vec<CaseDsc>,
    pub seconds: f64,
}

/// The grid `--floor-search` chooses G(P2)'s volume floor from: no floor, and every pair of a
/// volume (mL) and a lowest threshold below.
pub fn floor_grid() -> Vec<Option<VolumeFloor>> {
    let mut g = vec![None];
    for ml in [15.0, 30.0, 45.0, 60.0, 75.0] {
        for lowest in [0.3, 0.4, 0.5] {
            g.push(Some(VolumeFloor { ml, lowest }));
        }
    }
    g
}

/// A trained network (a `train` folder) to put in place of the bundle's own of that kind.
struct Replacement {
    kind: NetKind,
    file: String,
    bytes: Vec<u8>,
}

/// A `train` folder asked to replace the bundle's `kind` network, with its report.
struct Trained<'a> {
    kind: NetKind,
    dir: &'a Path,
    report: TrainReport,
}

/// Checks that the network of `t` is a network of its kind trained with the bundle's patch and
/// the boxes `region` (see [`r_boxes`]), reads it and enters it in `m` (a boundary ConvNet brings
/// its own P0 channel and context).
fn replacement(
    m: &mut Manifest,
    region: &RegionGeometry,
    t: &Trained,
    bundle: &Path,
) -> Result<Replacement> {
    let Trained {
        kind,
        dir,
        report: r,
    } = t;
    let kind = *kind;
    if r.net != kind {
        return Err(TrainError::Invalid(format!(
            "{} holds a {} network, not a {} network",
            dir.display(),
            r.net.name(),
            kind.name()
        )));
    }
    if r.patch != m.patch || shared_region(&r.region) != *region {
        return Err(TrainError::Invalid(format!(
            "{} was trained with another patch or region geometry than the bundle {}",
            dir.display(),
            bundle.display()
        )));
    }
    let from = dir.join(&r.onnx.file);
    let bytes = std::fs::read(&from).map_err(|e| TrainError::io(&from, e))?;
    let file = format!("{}.onnx", kind.name());
    let entry = network_entry(r, file.clone(), sha256_hex(&bytes));
    match kind {
        NetKind::Boundary => {
            m.networks.boundary = Some(entry);
            m.region.boundary_p0 = r.region.boundary_p0;
            m.region.context = r.region.context;
        }
        NetKind::R2 => m.networks.r2 = entry,
        NetKind::R1 => m.networks.r1 = entry,
        NetKind::P => m.networks.p = entry,
    }
    Ok(Replacement { kind, file, bytes })
}

/// The zoom-out boxes (size, scales, floor; [`shared_region`]) of the bundle to write: the
/// bundle's own, or those the replacing R-ConvNets were trained with when R1 and R2 are both
/// replaced (every R-ConvNet of a bundle reads the same boxes, so one alone cannot change them).
fn r_boxes(m: &Manifest, replace: &[Trained], bundle: &Path) -> Result<RegionGeometry> {
    let own = shared_region(&m.region);
    let theirs: Vec<(NetKind, &Path, RegionGeometry)> = replace
        .iter()
        .filter(|t| matches!(t.kind, NetKind::R1 | NetKind::R2))
        .map(|t| (t.kind, t.dir, shared_region(&t.report.region)))
        .collect();
    let Some((_, first_dir, first)) = theirs.first().cloned() else {
        return Ok(own);
    };
    if let Some((_, dir, _)) = theirs.iter().find(|(_, _, g)| *g != first) {
        return Err(TrainError::Invalid(format!(
            "{} and {} were trained with different zoom-out boxes (scales, floor or size): \
             every R-ConvNet of a bundle reads the same boxes",
            first_dir.display(),
            dir.display()
        )));
    }
    let both = [NetKind::R1, NetKind::R2]
        .iter()
        .all(|k| theirs.iter().any(|(kind, _, _)| kind == k));
    if first != own && !both {
        return Err(TrainError::Invalid(format!(
            "{} was trained with other zoom-out boxes (scales, floor or size) than the bundle {}: \
             replace R1 and R2 together (--r1 and --r2) to change them",
            first_dir.display(),
            bundle.display()
        )));
    }
    Ok(first)
}

/// The manifest and files of the bundle to write: `src`'s, with the networks of `replace`
/// (kind, `train` folder) in place of its own.
fn assemble(src: &Bundle, replace: &[(NetKind, &Path)], out: &Path) -> Result<Manifest> {
    let mut m = src.manifest.clone();
    // each replacement's `train` report, read once
    let trained = replace
        .iter()
        .map(|&(kind, dir)| {
            Ok(Trained {
                kind,
                dir,
                report: read_report(dir)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let region = r_boxes(&m, &trained, &src.dir)?;
    std::fs::create_dir_all(out).map_err(|e| TrainError::io(out, e))?;
    let replaced = trained
        .iter()
        .map(|t| replacement(&mut m, &region, t, &src.dir))
        .collect::<Result<Vec<_>>>()?;
    m.region = RegionGeometry {
        boundary_p0: m.region.boundary_p0,
        context: m.region.context,
        ..region
    };
    let old = &src.manifest.networks;
    let replaced_file = |file: &String| {
        replaced.iter().any(|r| {
            let own = match r.kind {
                NetKind::Boundary => old.boundary.as_ref(),
                NetKind::R2 => Some(&old.r2),
                NetKind::R1 => Some(&old.r1),
                NetKind::P => Some(&old.p),
            };
            own.map(|e| &e.file) == Some(file)
        })
    };
    let own: Vec<String> = src
        .manifest
        .files()
        .into_iter()
        .map(|(f, _)| f.to_string())
        .collect();
    for file in own.iter().filter(|f| !replaced_file(f)) {
        let to = out.join(file);
        std::fs::write(&to, src.file_contents(file)?).map_err(|e| TrainError::io(&to, e))?;
    }
    for r in &replaced {
        let to = out.join(&r.file);
        std::fs::write(&to, &r.bytes).map_err(|e| TrainError::io(&to, e))?;
    }
    if let Some(card) = Some(src.dir.join("README.md")).filter(|p| p.is_file()) {
        let to = out.join("README.md");
        std::fs::copy(&card, &to).map_err(|e| TrainError::io(&to, e))?;
    }
    Ok(m)
}

fn write_manifest(m: &Manifest, out: &Path) -> Result<()> {
    let path = out.join(MANIFEST);
    let text = serde_json::to_string_pretty(m)
        .map_err(|e| TrainError::Invalid(format!("manifest: {e}")))?;
    std::fs::write(&path, text + "\n").map_err(|e| TrainError::io(&path, e))
}

/// The points of a manifest.
fn points_of(m: &Manifest) -> Points {
    Points {
        operating_points: m.operating_points,
        crf: m.crf_setting(),
    }
}

/// The six thresholds in [`map_of`]'s order.
fn ordered(o: &OperatingPoints) -> [f32; 6] {
    [o.p0, o.g_p0, o.p1, o.g_p1, o.p2, o.g_p2]
}

/// One case's maps reduced to what the search needs: DSC per map per threshold (G(P2) under
/// the bundle's volume floor), G(P2) per threshold under each floor searched, per CRF parameter,
/// and at the bundle's own thresholds.
struct CaseCurves {
    id: String,
    curves: Vec<Vec<f64>>,
    floors: Vec<Vec<f64>>,
    crf: Vec<f64>,
    own: [f64; 6],
}

/// What one case is measured at.
struct Search<'a> {
    params: &'a [CrfSetting],
    own: &'a OperatingPoints,
    own_floor: Option<VolumeFloor>,
    floors: &'a [Option<VolumeFloor>],
    ts: &'a [f32],
}

fn case_curves(seg: &Segmenter, cohort: &Cohort, id: &str, q: &Search) -> Result<CaseCurves> {
    let (ct, mask) = cohort.load_case(id)?;
    let maps = seg.stage_maps(&ct, q.params)?;
    let truth = maps.reorient(&mask.data.mapv(|v| u8::from(v != 0)));
    let total = truth.iter().filter(|&&v| v != 0).count();
    let dsc = |m: &ndarray::Array3<u8>| box_dsc(m, maps.offset, &truth, total);
    let voxel_ml = maps.spacing.iter().product::<f64>() / 1000.0;
    // G(P2) as the segmenter applies it: the floor may lower the threshold per scan
    let floored = |floor: Option<VolumeFloor>, k: usize, t: f32| match floor {
        Some(f) if k == 5 => f.threshold(maps.g_p2.iter(), voxel_ml, t),
        _ => t,
    };
    let at = |k: usize, t: f32| {
        let t = floored(q.own_floor, k, t);
        dsc(&StageMaps::threshold(map_of(&maps, k), t))
    };
    let curves = (0..6)
        .map(|k| q.ts.iter().map(|&t| at(k, t)).collect())
        .collect();
    let floors = q
        .floors
        .iter()
        .map(|&f| {
            q.ts.iter()
                .map(|&t| dsc(&StageMaps::threshold(&maps.g_p2, floored(f, 5, t))))
                .collect()
        })
        .collect();
    let own_t = ordered(q.own);
    let own = std::array::from_fn(|k| at(k, own_t[k]));
    // no candidate, no CRF: the empty mask for every parameter
    let empty = dsc(&ndarray::Array3::zeros((0, 0, 0)));
    let crf = (0..q.params.len())
        .map(|i| maps.crf.get(i).map_or(empty, |(_, m)| dsc(m)))
        .collect();
    Ok(CaseCurves {
        id: id.to_string(),
        curves,
        floors,
        crf,
        own,
    })
}

/// Runs `calibrate`; returns what it wrote to `OUT/calibration.json`.
pub fn run_calibrate(a: &CalibrateArgs) -> Result<Calibration> {
    let started = std::time::Instant::now();
    let src = Bundle::load(&a.bundle)?;
    let same = matches!(
        (a.out.canonicalize(), a.bundle.canonicalize()),
        (Ok(x), Ok(y)) if x == y
    );
    if same {
        return Err(TrainError::Invalid(
            "--out must not be the bundle itself (its files are read while the new one is written)"
                .into(),
        ));
    }
    let replace: Vec<(NetKind, &Path)> = [
        (NetKind::R1, &a.r1),
        (NetKind::R2, &a.r2),
        (NetKind::Boundary, &a.boundary),
    ]
    .into_iter()
    .filter_map(|(k, d)| d.as_deref().map(|d| (k, d)))
    .collect();
    if a.crf_only && (a.r1.is_some() || a.r2.is_some() || a.floor_search) {
        return Err(TrainError::Invalid(
            "--crf-only keeps the operating points: it cannot take --r1, --r2 or --floor-search"
                .into(),
        ));
    }
    let mut m = assemble(&src, &replace, &a.out)?;
    if m.networks.boundary.is_none() && !a.crf_only {
        eprintln!("the bundle has no boundary ConvNet: only the operating points are calibrated");
    } else if m.networks.boundary.is_none() {
        return Err(TrainError::Invalid(
            "--crf-only: the bundle has no boundary ConvNet (give --boundary)".into(),
        ));
    }
    write_manifest(&m, &a.out)?;
    let before = points_of(&m);
    let cohort = Cohort::open(&a.cohort)?;
    let ids: Vec<String> = if a.cases.is_empty() {
        cohort.manifest.cases.iter().map(|c| c.id.clone()).collect()
    } else {
        a.cases.clone()
    };
    if ids.is_empty() {
        return Err(TrainError::Invalid(format!(
            "{}: no case to calibrate on",
            a.cohort.display()
        )));
    }
    let seg = Segmenter::new(Bundle::load(&a.out)?, RuntimeOptions::default(), a.threads)?;
    let ts = thresholds();
    let mut params = crf_grid();
    let own_index = match params.iter().position(|&p| p == before.crf) {
        Some(i) => i,
        None => {
            params.push(before.crf);
            params.len() - 1
        }
    };
    let with_crf = m.networks.boundary.is_some();
    let floor_before = m.volume_floor;
    let floors = if a.floor_search {
        floor_grid()
    } else {
        Vec::new()
    };
    let search = Search {
        params: if with_crf { &params } else { &[] },
        own: &before.operating_points,
        own_floor: floor_before,
        floors: &floors,
        ts: &ts,
    };
    let mut cases = Vec::new();
    for id in &ids {
        let c = case_curves(&seg, &cohort, id, &search)?;
        eprintln!(
            "{id}: G(P2) {:.3} at {:.2}, best G(P2) {:.3}, best CRF(P2) {:.3}",
            c.own[5],
            before.operating_points.g_p2,
            c.curves[5].iter().cloned().fold(0.0, f64::max),
            c.crf.iter().cloned().fold(0.0, f64::max)
        );
        cases.push(c);
    }
    let refs: Vec<&CaseCurves> = cases.iter().collect();
    let grid_len = crf_grid().len();
    let crf_means: Vec<f64> = if with_crf {
        mean_curve(&refs, |c| &c.crf)
    } else {
        Vec::new()
    };
    let mut means: Vec<Vec<f64>> = (0..6)
        .map(|k| mean_curve(&refs, |c| &c.curves[k]))
        .collect();
    // per floor: its best operating point and mean DSC there; the first best floor wins
    let floor_grid: Vec<(Option<VolumeFloor>, f32, f64)> = (0..floors.len())
        .map(|i| {
            let curve = mean_curve(&refs, |c| &c.floors[i]);
            let j = argmax(&curve);
            (floors[i], ts[j], curve[j])
        })
        .collect();
    let floor_pick = a.floor_search.then(|| {
        let dscs: Vec<f64> = floor_grid.iter().map(|g| g.2).collect();
        argmax(&dscs)
    });
    if let Some(i) = floor_pick {
        means[5] = mean_curve(&refs, |c| &c.floors[i]);
        m.volume_floor = floors[i];
    }
    let ops = if a.crf_only {
        before.operating_points
    } else {
        best_operating_points(&means, &ts)
    };
    // only the searched grid is eligible (the bundle's own pair, when off the grid, is measured)
    let crf_pick = with_crf.then(|| argmax(&crf_means[..grid_len]));
    let after = Points {
        operating_points: ops,
        crf: crf_pick.map_or(before.crf, |i| params[i]),
    };
    m.operating_points = ops;
    if crf_pick.is_some() {
        m.crf_weight = after.crf.weight;
        m.crf_prior = Some(after.crf.prior);
        m.crf_pairwise = Some(after.crf.pairwise);
    }
    write_manifest(&m, &a.out)?;
    Bundle::load(&a.out)?;
    let t_index = |t: f32| {
        ts.iter()
            .enumerate()
            .min_by(|x, y| (x.1 - t).abs().total_cmp(&(y.1 - t).abs()))
            .map_or(0, |(i, _)| i)
    };
    let after_t = ordered(&ops).map(t_index);
    let per_case: Vec<CaseDsc> = cases
        .iter()
        .map(|c| {
            let crf_at = |i: Option<usize>| i.map_or(f64::NAN, |i| c.crf[i]);
            let mut before = [0.0; 7];
            let mut after = [0.0; 7];
            for k in 0..6 {
                before[k] = c.own[k];
                after[k] = match (a.crf_only, floor_pick) {
                    (true, _) => c.own[k],
                    (false, Some(i)) if k == 5 => c.floors[i][after_t[k]],
                    (false, _) => c.curves[k][after_t[k]],
                };
            }
            before[6] = crf_at(with_crf.then_some(own_index));
            after[6] = crf_at(crf_pick);
            CaseDsc {
                id: c.id.clone(),
                before,
                after,
            }
        })
        .collect();
    let mean = |f: &dyn Fn(&CaseDsc) -> [f64; 7]| -> [f64; 7] {
        std::array::from_fn(|k| {
            per_case.iter().map(|c| f(c)[k]).sum::<f64>() / per_case.len() as f64
        })
    };
    let result = Calibration {
        bundle: a.bundle.clone(),
        cohort: a.cohort.clone(),
        boundary: a.boundary.clone(),
        r2: a.r2.clone(),
        r1: a.r1.clone(),
        before,
        after,
        floor_before,
        floor_after: m.volume_floor,
        floor_grid,
        mean_before: mean(&|c| c.before),
        mean_after: mean(&|c| c.after),
        crf_grid: params[..crf_means.len().min(grid_len)]
            .iter()
            .copied()
            .zip(crf_means.iter().copied())
            .collect(),
        cases: per_case,
        seconds: started.elapsed().as_secs_f64(),
    };
    let path = a.out.join("calibration.json");
    let text =
        serde_json::to_string_pretty(&result).map_err(|e| TrainError::Invalid(e.to_string()))?;
    std::fs::write(&path, text + "\n").map_err(|e| TrainError::io(&path, e))?;
    let path = a.out.join("calibration.md");
    std::fs::write(&path, markdown(&result)).map_err(|e| TrainError::io(&path, e))?;
    Ok(result)
}

/// `OUT/calibration.md`: mean DSC per column before and after, and the CRF grid.
pub fn markdown(c: &Calibration) -> String {
    let cols = &COLUMNS[2..];
    let from = |what: &str, dir: &Option<PathBuf>| {
        dir.as_ref()
            .map_or(String::new(), |b| format!(", {what} from {}", b.display()))
    };
    let mut s = format!(
        "Calibration of {} on {} cases of {}{}{}{} ({:.0} s).\n\n| | {} |\n|---|{}\n",
        c.bundle.display(),
        c.cases.len(),
        c.cohort.display(),
        from("R1-ConvNet", &c.r1),
        from("R2-ConvNet", &c.r2),
        from("boundary ConvNet", &c.boundary),
        c.seconds,
        cols.join(" | "),
        "---|".repeat(cols.len())
    );
    let row = |name: &str, p: &Points, v: &[f64; 7]| {
        let o = ordered(&p.operating_points);
        let cells: Vec<String> = (0..7)
            .map(|k| {
                let at = if k < 6 {
                    format!("{:.2}", o[k])
                } else {
                    format!(
                        "w {}, t {}, {}",
                        p.crf.weight,
                        p.crf.prior,
                        p.crf.pairwise.name()
                    )
                };
                format!("{:.1} ({at})", 100.0 * v[k])
            })
            .collect();
        format!("| {name} | {} |\n", cells.join(" | "))
    };
    s += &row("bundle's values", &c.before, &c.mean_before);
    s += &row("calibrated", &c.after, &c.mean_after);
    let floor = |f: &Option<VolumeFloor>| {
        f.map_or("none".to_string(), |f| {
            format!("{} mL, not below {}", f.ml, f.lowest)
        })
    };
    s += &format!(
        "\nG(P2) volume floor: {} (bundle's), {} (calibrated).\n",
        floor(&c.floor_before),
        floor(&c.floor_after)
    );
    if !c.floor_grid.is_empty() {
        s +=
            "\n| volume floor | best G(P2) operating point | mean G(P2) DSC (%) |\n|---|---|---|\n";
        for (f, t, d) in &c.floor_grid {
            s += &format!("| {} | {t:.2} | {:.1} |\n", floor(f), 100.0 * d);
        }
    }
    for form in Pairwise::ALL {
        let grid: Vec<&(CrfSetting, f64)> = c
            .crf_grid
            .iter()
            .filter(|(g, _)| g.pairwise == form)
            .collect();
        if grid.is_empty() {
            continue;
        }
        s += &format!(
            "\nMean CRF(P2) DSC (%), {} pairwise term, per weight (rows) and unary prior (columns):\n\n",
            form.name()
        );
        let mut weights: Vec<f64> = grid.iter().map(|(g, _)| g.weight).collect();
        weights.dedup();
        let mut priors: Vec<f64> = grid.iter().map(|(g, _)| g.prior).collect();
        priors.sort_by(f64::total_cmp);
        priors.dedup();
        s += &format!(
            "| weight | {} |\n|---|{}\n",
            priors
                .iter()
                .map(|t| t.to_string())
                .collect::<Vec<_>>()
                .join(" | "),
            "---|".repeat(priors.len())
        );
        for w in weights {
            let cells: Vec<String> = priors
                .iter()
                .map(|&t| {
                    grid.iter()
                        .find(|(g, _)| g.weight == w && g.prior == t)
                        .map_or("-".into(), |(_, d)| format!("{:.1}", 100.0 * d))
                })
                .collect();
            s += &format!("| {w} | {} |\n", cells.join(" | "));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setting(weight: f64, prior: f64, pairwise: Pairwise) -> CrfSetting {
        CrfSetting {
            weight,
            prior,
            pairwise,
        }
    }

    fn points(g_p2: f32, w: f64) -> Points {
        Points {
            operating_points: OperatingPoints {
                g_p2,
                ..OperatingPoints::default()
            },
            crf: setting(w, 0.8, Pairwise::LogOdds),
        }
    }

    #[test]
    fn markdown_lays_out_columns_and_grid() {
        let c = Calibration {
            bundle: "b".into(),
            cohort: "c".into(),
            boundary: None,
            r2: None,
            r1: None,
            floor_before: None,
            floor_after: Some(VolumeFloor {
                ml: 45.0,
                lowest: 0.4,
            }),
            floor_grid: vec![
                (None, 0.75, 0.5),
                (
                    Some(VolumeFloor {
                        ml: 45.0,
                        lowest: 0.4,
                    }),
                    0.6,
                    0.6,
                ),
            ],
            before: points(0.75, 0.125),
            after: points(0.6, 0.5),
            mean_before: [0.5; 7],
            mean_after: [0.6; 7],
            crf_grid: vec![
                (setting(0.5, 0.5, Pairwise::Linear), 0.25),
                (setting(0.5, 0.8, Pairwise::Linear), 0.75),
                (setting(1.0, 0.5, Pairwise::Linear), 0.5),
                (setting(0.5, 0.5, Pairwise::LogOdds), 0.125),
            ],
            cases: Vec::new(),
            seconds: 1.0,
        };
        let s = markdown(&c);
        assert!(s.contains("| bundle's values | 50.0 (0.50)"), "{s}");
        assert!(
            s.contains("60.0 (0.60) | 60.0 (w 0.5, t 0.8, log-odds) |"),
            "{s}"
        );
        assert!(s.contains("| weight | 0.5 | 0.8 |"), "{s}");
        assert!(s.contains("| 0.5 | 25.0 | 75.0 |"), "{s}");
        assert!(s.contains("| 1 | 50.0 | - |"), "{s}");
        assert!(s.contains("log-odds pairwise term"), "{s}");
        assert!(s.contains("| 0.5 | 12.5 |"), "{s}");
        assert!(
            s.contains("G(P2) volume floor: none (bundle's), 45 mL, not below 0.4 (calibrated)."),
            "{s}"
        );
        assert!(s.contains("| none | 0.75 | 50.0 |"), "{s}");
        assert!(s.contains("| 45 mL, not below 0.4 | 0.60 | 60.0 |"), "{s}");
    }
}
