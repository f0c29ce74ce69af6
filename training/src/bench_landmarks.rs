//! `pancseg-train bench landmarks`: the lung base the segmenter finds (`pipeline::abdomen`) on
//! realistic phantoms of every framing, against the truth of the organ labels: the lowest slice
//! that holds lung (the tip of the posterior recesses). The finder looks for where the lungs
//! fill a share of the cross-section, so it lies some centimetres above that tip; what matters
//! is that the offset is steady across framings and bodies and that no framing loses the
//! lungs. A survey for tuning the finder, in mm along z.

use crate::error::Result;
use crate::phantom::realistic::draw::Framing;
use crate::phantom::{generate_profile_case, labels, PhantomSize, Profile};
use pancseg::pipeline::abdomen::{locate, Landmark};
use pancseg::pipeline::orient::Canonical;
use pancseg::pipeline::working_grid::{working_volume, DEFAULT_SPACING_MM};
use std::fmt::Write;

/// Runs the survey over `seeds` cases per framing (seeds 5001...); returns a Markdown report.
pub fn bench_landmarks(seeds: u64) -> Result<String> {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| framing | seed | scan z (mm) | lowest lung (mm) | found | found z (mm) | offset (mm) |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|");
    let mut summary = Vec::new();
    for framing in Framing::ALL {
        let (mut offsets, mut lost) = (Vec::new(), 0);
        for seed in 5001..5001 + seeds {
            let case =
                generate_profile_case(seed, PhantomSize::Small, Profile::Realistic, &[framing])?;
            let canonical = Canonical::of(&case.ct.geometry)?;
            let (_, w) = working_volume(&case.ct, &canonical, Some(DEFAULT_SPACING_MM))?;
            let lm = locate(&w).landmarks;
            let nz = case.organs.data.dim().0;
            let z = |k: usize| case.ct.geometry.index_to_lps([0.0, 0.0, k as f64])[2];
            let lung = (0..nz)
                .filter(|&k| {
                    case.organs
                        .data
                        .index_axis(ndarray::Axis(0), k)
                        .iter()
                        .any(|&v| v == labels::LUNG)
                })
                .map(z)
                .fold(f64::INFINITY, f64::min);
            let (lo, hi) = (z(0).min(z(nz - 1)), z(0).max(z(nz - 1)));
            let found = match lm.lung_base {
                Landmark::At(k) => Some(w.geometry.index_to_lps([0.0, 0.0, k as f64])[2]),
                _ => None,
            };
            let offset = found.filter(|_| lung.is_finite()).map(|f| f - lung);
            if let Some(o) = offset {
                offsets.push(o);
            }
            // lungs shown over at least 30 mm but not found
            if lung.is_finite() && hi - lung >= 30.0 && found.is_none() && lung > lo {
                lost += 1;
            }
            let _ = writeln!(
                out,
                "| {framing:?} | {seed} | {lo:.0}..{hi:.0} | {} | {:?} | {} | {} |",
                if lung.is_finite() {
                    format!("{lung:.0}")
                } else {
                    "none".into()
                },
                lm.lung_base,
                found.map_or("".into(), |f| format!("{f:.0}")),
                offset.map_or("".into(), |o| format!("{o:.0}"))
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
        summary.push(format!(
            "- {framing:?}: {found}; lungs shown (30 mm or more) but not found: {lost}"
        ));
    }
    let _ = writeln!(out, "\n{}", summary.join("\n"));
    Ok(out)
}
