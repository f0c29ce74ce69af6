//! `pancseg-train bench landmarks`: the landmarks the segmenter finds (`pipeline::abdomen`) on
//! realistic phantoms of every framing, against the truth: the lung base against the lowest
//! slice that holds lung in the organ labels (the tip of the posterior recesses), the iliac
//! crest against the drawn crest level (`cohort.json`'s `levels.iliac_crest`). The finder looks
//! for where the lungs fill a share of the cross-section, so it lies some centimetres above
//! that tip; what matters is that the offset is steady across framings and bodies and that no
//! framing loses the lungs. The slab column shows what the segmenter searches (`absent`: an
//! empty mask), and whether it holds the pancreas. A survey for tuning the finder, in mm along
//! z. With `--bodies N`, a second table measures the lungs' air shares against bowel gas on
//! N whole-trunk bodies from thin to obese (what the lung finder's thresholds are set against).

use crate::error::Result;
use crate::phantom::realistic::draw::Framing;
use crate::phantom::{generate_profile_case, labels, PhantomCase, PhantomSize, Profile};
use pancseg::io::dicom::series::DicomReadOptions;
use pancseg::load_volume;
use pancseg::pipeline::abdomen::{
    find_landmarks, locate, slab, slice_measures, Landmark, SliceMeasures,
};
use pancseg::pipeline::orient::Canonical;
use pancseg::pipeline::working_grid::{working_volume, DEFAULT_SPACING_MM};
use std::fmt::Write;
use std::path::PathBuf;

/// Runs the survey over `seeds` cases per framing (seeds 5001...); returns a Markdown report.
pub fn bench_landmarks(seeds: u64) -> Result<String> {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| framing | seed | scan z (mm) | lowest lung (mm) | found | found z (mm) | offset (mm) \
         | crest (mm) | crest found | crest z (mm) | slab z (mm) | pancreas (mm) |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|---|---|---|");
    let mut summary = Vec::new();
    for framing in Framing::ALL {
        let (mut offsets, mut lost) = (Vec::new(), 0);
        let (mut crest_offsets, mut cut_pancreas, mut absent) = (Vec::new(), 0, 0);
        for seed in 5001..5001 + seeds {
            let case =
                generate_profile_case(seed, PhantomSize::Small, Profile::Realistic, &[framing])?;
            let canonical = Canonical::of(&case.ct.geometry)?;
            let (_, w) = working_volume(&case.ct, &canonical, Some(DEFAULT_SPACING_MM))?;
            let located = locate(&w);
            let lm = located.landmarks;
            let nz = case.organs.data.dim().0;
            let z = |k: usize| case.ct.geometry.index_to_lps([0.0, 0.0, k as f64])[2];
            let lung = lowest_lung(&lung_slices(&case), &z);
            let (lo, hi) = (z(0).min(z(nz - 1)), z(0).max(z(nz - 1)));
            let found = match lm.lung_base {
                Landmark::At(k) => Some(w.geometry.index_to_lps([0.0, 0.0, k as f64])[2]),
                _ => None,
            };
            let offset = found.filter(|_| lung.is_finite()).map(|f| f - lung);
            let wz = |k: usize| w.geometry.index_to_lps([0.0, 0.0, k as f64])[2];
            let crest = case
                .params
                .realism
                .as_ref()
                .map(|r| r.levels.iliac_crest)
                .filter(|c| (lo..=hi).contains(c));
            let crest_found = match lm.iliac_crest {
                Landmark::At(k) => Some(wz(k)),
                _ => None,
            };
            if let (Some(c), Some(f)) = (crest, crest_found) {
                crest_offsets.push(f - c);
            }
            let pancreas = z_extent(&case.label, &z);
            let slab = located.slab.map(|s| [wz(s.first), wz(s.last)]);
            match (slab, pancreas) {
                (None, _) => absent += 1,
                (Some([a, b]), Some([p, q])) if a > p + 1.0 || b < q - 1.0 => cut_pancreas += 1,
                _ => {}
            }
            if let Some(o) = offset {
                offsets.push(o);
            }
            // lungs shown over at least 30 mm but not found
            if lung.is_finite() && hi - lung >= 30.0 && found.is_none() && lung > lo {
                lost += 1;
            }
            let _ = writeln!(
                out,
                "| {framing:?} | {seed} | {lo:.0}..{hi:.0} | {} | {:?} | {} | {} | {} | {:?} | {} \
                 | {} | {} |",
                if lung.is_finite() {
                    format!("{lung:.0}")
                } else {
                    "none".into()
                },
                lm.lung_base,
                found.map_or("".into(), |f| format!("{f:.0}")),
                offset.map_or("".into(), |o| format!("{o:.0}")),
                crest.map_or("".into(), |c| format!("{c:.0}")),
                lm.iliac_crest,
                crest_found.map_or("".into(), |f| format!("{f:.0}")),
                slab.map_or("absent".into(), |[a, b]| format!("{a:.0}..{b:.0}")),
                pancreas.map_or("none".into(), |[a, b]| format!("{a:.0}..{b:.0}")),
            );
        }
        let found = if offsets.is_empty() {
            "no lung base found".to_string()
        } else {
            let n = offsets.len() as f64;
            let mean = offsets.iter().sum::<f64>() / n;
            let sd = (offsets.iter().map(|o| (o - mean).powi(2)).sum::<f64>() / n).sqrt();
            format!(
                "lung base found on {} cases, {mean:.0} ± {sd:.0} mm above the lowest lung",
                offsets.len()
            )
        };
        let crest = if crest_offsets.is_empty() {
            "no crest found and shown".to_string()
        } else {
            let n = crest_offsets.len() as f64;
            let mean = crest_offsets.iter().sum::<f64>() / n;
            let sd = (crest_offsets
                .iter()
                .map(|o| (o - mean).powi(2))
                .sum::<f64>()
                / n)
                .sqrt();
            format!(
                "crest found on {} cases, {mean:.0} ± {sd:.0} mm from the drawn crest",
                crest_offsets.len()
            )
        };
        summary.push(format!(
            "- {framing:?}: {found}; lungs shown (30 mm or more) but not found: {lost}; {crest}; \
             slab absent: {absent}; slab cutting the pancreas: {cut_pancreas}"
        ));
    }
    let _ = writeln!(out, "\n{}", summary.join("\n"));
    Ok(out)
}

/// The lungs' air shares on `bodies` whole-trunk phantoms (seeds 5001...) of every habitus:
/// per case, the fullest working slice that holds lung in the organ labels and the fullest
/// slice that holds none (bowel gas), as shares of the body and of the lean body (the body
/// less its fat), and where the lung base is found. What the lung finder's thresholds
/// (`pipeline::abdomen::landmarks`) are set against; returns a Markdown table.
pub fn lung_shares(bodies: u64) -> Result<String> {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| seed | habitus | lungs' fullest slice, body / lean | fullest slice without lung, \
         body / lean | lung base found (mm above the lowest lung) |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|");
    let mut extremes = [f64::INFINITY, f64::INFINITY, 0.0f64, 0.0f64];
    let mut crops = Crops::default();
    for seed in 5001..5001 + bodies {
        let case = generate_profile_case(
            seed,
            PhantomSize::Small,
            Profile::Realistic,
            &[Framing::WholeTrunk],
        )?;
        let canonical = Canonical::of(&case.ct.geometry)?;
        let (_, w) = working_volume(&case.ct, &canonical, Some(DEFAULT_SPACING_MM))?;
        let measures = slice_measures(&w);
        let nz = case.organs.data.dim().0;
        let z = |k: usize| case.ct.geometry.index_to_lps([0.0, 0.0, k as f64])[2];
        let wz = |k: usize| w.geometry.index_to_lps([0.0, 0.0, k as f64])[2];
        let with_lung = lung_slices(&case);
        let nearest = |zw: f64| {
            (0..nz)
                .min_by(|&a, &b| (z(a) - zw).abs().total_cmp(&(z(b) - zw).abs()))
                .unwrap_or(0)
        };
        let lowest = lowest_lung(&with_lung, &z);
        let (mut lung, mut gas) = ([0.0f64; 2], [0.0f64; 2]);
        for (k, m) in measures.iter().enumerate() {
            let shares = [m.air_share(), m.lean_air_share()];
            let slot = if with_lung[nearest(wz(k))] {
                &mut lung
            } else {
                &mut gas
            };
            for (s, v) in slot.iter_mut().zip(shares) {
                *s = s.max(v);
            }
        }
        extremes = [
            extremes[0].min(lung[0]),
            extremes[1].min(lung[1]),
            extremes[2].max(gas[0]),
            extremes[3].max(gas[1]),
        ];
        let wz_all: Vec<f64> = (0..measures.len()).map(wz).collect();
        let pancreas = z_extent(&case.label, &z);
        crops.add(&measures, &wz_all, w.geometry.spacing[2], lowest, pancreas);
        let found = match find_landmarks(&measures, w.geometry.spacing[2]).lung_base {
            Landmark::At(k) if lowest.is_finite() => format!("{:.0}", wz(k) - lowest),
            other => format!("{other:?}"),
        };
        let habitus = case
            .params
            .realism
            .as_ref()
            .map_or(f64::NAN, |r| r.body.habitus);
        let _ = writeln!(
            out,
            "| {seed} | {habitus:.2} | {:.2} / {:.2} | {:.2} / {:.2} | {found} |",
            lung[0], lung[1], gas[0], gas[1]
        );
    }
    let _ = writeln!(
        out,
        "\nLungs' fullest slice at least {:.2} of the body and {:.2} of the lean body; slices \
         without lung at most {:.2} and {:.2}.",
        extremes[0], extremes[1], extremes[2], extremes[3]
    );
    let _ = writeln!(out, "\n{}", crops.summary());
    Ok(out)
}

/// The finder on scans without labels (`--real`): per scan its landmarks on the working grid,
/// the smaller side's largest lateral bone piece per slice (what the pelvis and lumbar-gap
/// rules read) and the crops from the lowest slice up to each higher slice, framed as a
/// pelvis-only scan would be, that get no slab. A framing check on real scanner output:
/// nothing of the pancreas is read.
pub fn real_scans(paths: &[PathBuf]) -> Result<String> {
    let mut out = String::new();
    for path in paths {
        let ct = load_volume(path, &DicomReadOptions::default())?.volume;
        let canonical = Canonical::of(&ct.geometry)?;
        let (_, w) = working_volume(&ct, &canonical, Some(DEFAULT_SPACING_MM))?;
        let measures = slice_measures(&w);
        let slice_mm = w.geometry.spacing[2];
        let whole = find_landmarks(&measures, slice_mm);
        let _ = writeln!(
            out,
            "{}: {} working slices of {slice_mm} mm; lung base {:?}, iliac crest {:?}, top above \
             the pelvis {}",
            path.display(),
            measures.len(),
            whole.lung_base,
            whole.iliac_crest,
            whole
                .top_above_pelvis_mm
                .map_or("-".into(), |d| format!("{d:.1} mm")),
        );
        let _ = writeln!(
            out,
            "lateral bone, smaller side, cm² per slice from the lowest (base 36, capped at 35): {}",
            lateral_bone_profile(&measures)
        );
        let absent: Vec<usize> = (8..measures.len())
            .filter(|&top| {
                slab(
                    &find_landmarks(&measures[..=top], slice_mm),
                    top + 1,
                    slice_mm,
                )
                .is_none()
            })
            .collect();
        let _ = writeln!(
            out,
            "crops from the lowest slice up (tops at {:.0}-{:.0} mm): no slab for {} of {}{}\n",
            8.0 * slice_mm,
            (measures.len() - 1) as f64 * slice_mm,
            absent.len(),
            measures.len().saturating_sub(8),
            if absent.is_empty() {
                String::new()
            } else {
                format!(
                    ", tops at {}",
                    absent
                        .iter()
                        .map(|&t| format!("{:.0}", t as f64 * slice_mm))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        );
    }
    Ok(out)
}

/// The smaller side's largest lateral bone piece per slice in cm², rounded, as base-36 digits.
fn lateral_bone_profile(m: &[SliceMeasures]) -> String {
    m.iter()
        .map(|s| {
            let cm2 = (s.lateral_bone_mm2() / 100.0).round().min(35.0);
            std::char::from_digit(cm2 as u32, 36).unwrap_or('?')
        })
        .collect()
}

/// The finder run on every crop of a body's slice measures, as scans framed anywhere would be:
/// the highest slice at every working slice, lengths 40 mm to 1 m.
#[derive(Default)]
struct Crops {
    total: usize,
    /// Crops whose highest slice lies below the lowest lung, and those of them given a lung base.
    below: usize,
    below_with_base: usize,
    /// Crops showing the lowest lung and at least 60 mm of lung above it, and those of them
    /// given a lung base.
    showing: usize,
    showing_with_base: usize,
    /// Crops holding pancreas, and those whose slab is absent or cuts it.
    holding: usize,
    cut: usize,
    /// Of `cut`, the crops given no slab at all (chest or pelvis only).
    cut_absent: usize,
    /// Crops lying wholly below the pancreas (pelvis, lumbar gap), and those given no slab
    /// (the pelvis-only verdict).
    below_pancreas: usize,
    below_pancreas_absent: usize,
}

impl Crops {
    const LENGTHS: [usize; 6] = [16, 24, 40, 100, 200, 400];

    fn add(
        &mut self,
        m: &[SliceMeasures],
        z: &[f64],
        slice_mm: f64,
        lowest_lung: f64,
        pancreas: Option<[f64; 2]>,
    ) {
        for top in 8..m.len() {
            for len in Self::LENGTHS {
                let first = (top + 1).saturating_sub(len);
                let crop = &m[first..=top];
                let landmarks = find_landmarks(crop, slice_mm);
                let based = matches!(landmarks.lung_base, Landmark::At(_));
                self.total += 1;
                if z[top] < lowest_lung {
                    self.below += 1;
                    self.below_with_base += usize::from(based);
                }
                if z[first] < lowest_lung && z[top] >= lowest_lung + 60.0 {
                    self.showing += 1;
                    self.showing_with_base += usize::from(based);
                }
                let Some([lo, hi]) = pancreas else { continue };
                let found = slab(&landmarks, crop.len(), slice_mm);
                if z[top] < lo {
                    self.below_pancreas += 1;
                    self.below_pancreas_absent += usize::from(found.is_none());
                    continue;
                }
                let (a, b) = (lo.max(z[first]), hi.min(z[top]));
                if a > b {
                    continue;
                }
                self.holding += 1;
                let holds = found.is_some_and(|s| {
                    z[first + s.first] <= a + 1e-6 && z[first + s.last] >= b - 1e-6
                });
                self.cut += usize::from(!holds);
                self.cut_absent += usize::from(found.is_none());
            }
        }
    }

    fn summary(&self) -> String {
        format!(
            "Every crop of these bodies (highest slice anywhere, {}-{} mm long; {} crops): a lung \
             base on {} of the {} crops whose highest slice lies below the lowest lung; on {} of \
             the {} showing the lowest lung and 60 mm of lung or more; the slab absent or cutting the pancreas on {} \
             of the {} crops that hold pancreas ({} absent); the slab absent (pelvis only) on {} of the {} crops \
             lying wholly below the pancreas.",
            Self::LENGTHS[0] as f64 * DEFAULT_SPACING_MM[2],
            Self::LENGTHS[Self::LENGTHS.len() - 1] as f64 * DEFAULT_SPACING_MM[2],
            self.total,
            self.below_with_base,
            self.below,
            self.showing_with_base,
            self.showing,
            self.cut,
            self.holding,
            self.cut_absent,
            self.below_pancreas_absent,
            self.below_pancreas
        )
    }
}

/// Whether each slice of a case holds lung in its organ labels.
fn lung_slices(case: &PhantomCase) -> Vec<bool> {
    case.organs
        .data
        .outer_iter()
        .map(|s| s.iter().any(|&v| v == labels::LUNG))
        .collect()
}

/// The z (mm) of the lowest slice with lung (infinite when none).
fn lowest_lung(with_lung: &[bool], z: &impl Fn(usize) -> f64) -> f64 {
    with_lung
        .iter()
        .enumerate()
        .filter(|(_, &l)| l)
        .map(|(k, _)| z(k))
        .fold(f64::INFINITY, f64::min)
}

/// The z extent (mm, lowest and highest slice centre) of a mask's foreground.
fn z_extent(mask: &pancseg::volume::Mask, z: &impl Fn(usize) -> f64) -> Option<[f64; 2]> {
    let slices: Vec<f64> = (0..mask.data.dim().0)
        .filter(|&k| {
            mask.data
                .index_axis(ndarray::Axis(0), k)
                .iter()
                .any(|&v| v != 0)
        })
        .map(z)
        .collect();
    let lo = slices.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = slices.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    lo.is_finite().then_some([lo, hi])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_whole_trunk_body_shows_fuller_lungs_than_bowel_gas_and_its_lung_base() {
        let table = lung_shares(1).expect("one whole-trunk phantom");
        let row = table
            .lines()
            .find(|l| l.starts_with("| 5001 |"))
            .expect("a row for seed 5001");
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let pair = |c: &str| -> Vec<f64> {
            c.split('/')
                .map(|v| v.trim().parse::<f64>().expect("a share"))
                .collect()
        };
        let (lungs, gas) = (pair(cells[3]), pair(cells[4]));
        assert!(lungs[1] > gas[1] && lungs[0] > gas[0], "{row}");
        // the lean share is the larger: the body's fat is left out of it
        assert!(lungs[1] >= lungs[0], "{row}");
        let found: f64 = cells[5].parse().expect("the lung base is found, in mm");
        assert!((0.0..150.0).contains(&found), "{row}");
        // every crop of the body: no lung base below the lungs, no pancreas cut out
        let crops = table
            .lines()
            .find(|l| l.starts_with("Every crop"))
            .expect("the crop summary");
        assert!(crops.contains("a lung base on 0 of"), "{crops}");
        assert!(crops.contains("cutting the pancreas on 0 of"), "{crops}");
    }
}
