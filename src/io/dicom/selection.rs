//! Which series of a study folder to segment: the `--series auto` policy, over what the headers
//! say, before any pixel is decoded.
//!
//! A folder from a scanner holds a localizer, several reconstructions of the same acquisition
//! (soft-tissue and bone kernels, thin and thick slices), coronal and sagittal reformats, a dose
//! report or screen captures. Each series is judged on its own:
//!
//! 1. **CT image storage only**: CT Image Storage or Enhanced CT Image Storage; any other SOP
//!    class (a dose report, a secondary capture, a segmentation, an RT object) is rejected.
//! 2. **An original acquisition**: ImageType (FrameType for Enhanced CT) must not say LOCALIZER,
//!    and must not be DERIVED (value 1) or SECONDARY (value 2): reformats, MIPs and screen
//!    captures are derived. A series without ImageType is taken as original (anonymisers drop it).
//! 3. **Axial**: the slice normal within [`MAX_TILT_DEGREES`] of the patient's head-feet axis.
//! 4. **Enough of an abdomen**: at least [`MIN_SLICES`] slices over at least
//!    [`MIN_COVERAGE_MM`] mm.
//!
//! Among the series that pass, the preferred one has (in this order) a soft-tissue kernel (see
//! [`KernelClass`]), the slice thickness closest to the 1-3 mm range, the largest coverage, and
//! last the smallest SeriesInstanceUID (so two equally good series give the same answer on every
//! run). When the folder holds a single CT series the policy's rules 2-4 are not applied (a
//! caller who hands over one series has chosen it; the pipeline handles any orientation and
//! field of view) except that a localizer is still refused. An explicit SeriesInstanceUID always
//! wins over the policy.
//!
//! The whole table (every series, accepted or rejected, with its reason) is kept as a
//! [`SeriesSelection`] for the report, `pancseg info --series-list` and the C API.

use serde::Serialize;

/// Fewest slices a series needs to be chosen among several.
pub const MIN_SLICES: usize = 10;
/// Least extent along the slice normal (mm, first to last slice plus one spacing) a series
/// needs to be chosen among several.
pub const MIN_COVERAGE_MM: f64 = 50.0;
/// Largest angle between the slice normal and the head-feet axis for a series to count as axial.
pub const MAX_TILT_DEGREES: f64 = 30.0;
/// The preferred slice thickness range (mm).
pub const PREFERRED_THICKNESS_MM: (f64, f64) = (1.0, 3.0);

/// How sharp a reconstruction kernel is, from its name as the vendors write it.
///
/// Soft tissue: names with SOFT, STANDARD, SMOOTH, BODY, ABD or STND (GE, Philips, Canon);
/// Siemens-style letters and a number (B30f, Br38, I31f, Q33) with the number from 10 to 45;
/// Canon FC01-FC19; Philips single letters A, B and C. Sharp: names with BONE, LUNG, SHARP,
/// EDGE, DETAIL, HIGH, ULTRA or CHEST (GE BONE/LUNG/DETAIL, Philips YA/YB/YC/D/E/L) and
/// Siemens-style numbers from 46 up. Anything else (or no kernel) is unknown, ranked between.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KernelClass {
    Soft,
    Unknown,
    Sharp,
}

impl KernelClass {
    /// Classifies a ConvolutionKernel value (all its values, joined by `\`).
    pub fn of(kernel: &str) -> KernelClass {
        let k = kernel.to_ascii_uppercase();
        const SHARP: [&str; 8] = [
            "BONE", "LUNG", "SHARP", "EDGE", "DETAIL", "HIGH", "ULTRA", "CHEST",
        ];
        const SOFT: [&str; 6] = ["SOFT", "STANDARD", "SMOOTH", "BODY", "ABD", "STND"];
        if SHARP.iter().any(|s| k.contains(s)) {
            return KernelClass::Sharp;
        }
        if SOFT.iter().any(|s| k.contains(s)) {
            return KernelClass::Soft;
        }
        let first = k.split('\\').next().unwrap_or("").trim();
        if matches!(first, "A" | "B" | "C") {
            return KernelClass::Soft;
        }
        if matches!(first, "D" | "E" | "L" | "YA" | "YB" | "YC" | "YD") {
            return KernelClass::Sharp;
        }
        // letters then digits (Siemens B30f, Br38f, I31f, Hr40, Q33; Canon FC08)
        let letters: String = first.chars().take_while(|c| c.is_ascii_alphabetic()).collect();
        let digits: String = first[letters.len()..]
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        if letters.is_empty() || digits.is_empty() || letters.len() > 2 {
            return KernelClass::Unknown;
        }
        let n: u32 = digits.parse().unwrap_or(0);
        if letters == "FC" {
            return if n < 20 {
                KernelClass::Soft
            } else {
                KernelClass::Sharp
            };
        }
        match n {
            10..=45 => KernelClass::Soft,
            46.. => KernelClass::Sharp,
            _ => KernelClass::Unknown,
        }
    }
}

/// What the policy sees of one series (from its headers).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeriesSummary {
    pub series_uid: String,
    pub series_number: Option<i64>,
    pub description: String,
    pub modality: String,
    pub sop_class: String,
    /// ImageType (FrameType of the first frame for Enhanced CT), upper case.
    pub image_type: Vec<String>,
    pub kernel: String,
    pub kernel_class: KernelClass,
    /// Slices (frames for Enhanced CT).
    pub slices: usize,
    pub slice_thickness_mm: Option<f64>,
    /// Extent along the slice normal, first to last slice plus one spacing (mm); None when the
    /// headers give no positions.
    pub coverage_mm: Option<f64>,
    /// Angle between the slice normal and the head-feet axis (degrees); None without
    /// orientation.
    pub tilt_degrees: Option<f64>,
}

/// The verdict on one series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeriesVerdict {
    #[serde(flatten)]
    pub series: SeriesSummary,
    /// Read (true) or not.
    pub chosen: bool,
    /// Why it was rejected, or why it was chosen / passed over among the eligible.
    pub reason: String,
}

/// How a series was chosen and what became of every series in the input.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeriesSelection {
    /// "auto" or "uid" (an explicit SeriesInstanceUID).
    pub mode: String,
    pub chosen_uid: Option<String>,
    /// Every series, in the order of their SeriesInstanceUIDs.
    pub series: Vec<SeriesVerdict>,
}

impl SeriesSelection {
    /// A fixed-width text table (one line per series), for `pancseg info --series-list`.
    pub fn to_table(&self) -> String {
        let mut s = format!(
            "{:<3} {:<40} {:>6} {:>6} {:>6} {:>8} {:<10} {:<26} reason\n",
            "", "series", "number", "slices", "thick", "coverage", "kernel", "image type"
        );
        for v in &self.series {
            let x = &v.series;
            let mm = |m: Option<f64>| m.map_or("-".to_string(), |m| format!("{m:.1}"));
            s += &format!(
                "{:<3} {:<40} {:>6} {:>6} {:>6} {:>8} {:<10} {:<26} {}\n",
                if v.chosen { "->" } else { "" },
                if x.series_uid.is_empty() {
                    "(empty SeriesInstanceUID)"
                } else {
                    &x.series_uid
                },
                x.series_number.map_or("-".into(), |n| n.to_string()),
                x.slices,
                mm(x.slice_thickness_mm),
                mm(x.coverage_mm),
                if x.kernel.is_empty() { "-" } else { &x.kernel },
                x.image_type.join("\\"),
                v.reason
            );
        }
        s
    }
}

fn is_ct_storage(sop_class: &str) -> bool {
    sop_class == crate::io::dicom::instance::CT_IMAGE_STORAGE
        || sop_class == crate::io::dicom::instance::ENHANCED_CT_IMAGE_STORAGE
}

fn sop_class_name(uid: &str) -> &'static str {
    match uid {
        "1.2.840.10008.5.1.4.1.1.7" => "Secondary Capture",
        "1.2.840.10008.5.1.4.1.1.88.67" => "X-Ray Radiation Dose SR",
        "1.2.840.10008.5.1.4.1.1.66.4" => "Segmentation",
        "1.2.840.10008.5.1.4.1.1.481.3" => "RT Structure Set",
        "1.2.840.10008.5.1.4.1.1.4" => "MR Image",
        "1.2.840.10008.5.1.4.1.1.88.22" | "1.2.840.10008.5.1.4.1.1.88.33" => "Structured Report",
        "1.2.840.10008.5.1.4.1.1.128" => "PET Image",
        _ => "not a CT image",
    }
}

/// The rule a series breaks, if any; `lone` relaxes rules 2-4 (see the module doc).
fn rejection(s: &SeriesSummary, lone: bool) -> Option<String> {
    if !is_ct_storage(&s.sop_class) {
        return Some(format!(
            "SOP class {} ({}): not CT image storage",
            s.sop_class,
            sop_class_name(&s.sop_class)
        ));
    }
    if s.image_type.iter().any(|t| t == "LOCALIZER") {
        return Some("localizer (ImageType LOCALIZER)".into());
    }
    if lone {
        return None;
    }
    if s.image_type.first().is_some_and(|t| t == "DERIVED") {
        return Some(format!(
            "derived image (ImageType {}): a reformat, projection or capture",
            s.image_type.join("\\")
        ));
    }
    if s.image_type.get(1).is_some_and(|t| t == "SECONDARY") {
        return Some(format!(
            "secondary image (ImageType {})",
            s.image_type.join("\\")
        ));
    }
    match s.tilt_degrees {
        Some(t) if t > MAX_TILT_DEGREES => {
            return Some(format!(
                "not axial: the slice normal is {t:.0} degrees from the head-feet axis (a coronal or sagittal reformat)"
            ))
        }
        None => return Some("no ImageOrientationPatient".into()),
        _ => {}
    }
    if s.slices < MIN_SLICES {
        return Some(format!(
            "{} slices, fewer than {MIN_SLICES}",
            s.slices
        ));
    }
    match s.coverage_mm {
        Some(c) if c < MIN_COVERAGE_MM => Some(format!(
            "covers {c:.1} mm, less than {MIN_COVERAGE_MM} mm"
        )),
        None => Some("no slice positions".into()),
        _ => None,
    }
}

/// Distance of a thickness from the preferred range (unknown thickness ranks last).
fn thickness_penalty(t: Option<f64>) -> f64 {
    let (lo, hi) = PREFERRED_THICKNESS_MM;
    match t {
        Some(t) if t < lo => lo - t,
        Some(t) if t > hi => t - hi,
        Some(_) => 0.0,
        None => f64::INFINITY,
    }
}

/// Compares two eligible series: `Less` when `a` is preferred.
fn preference(a: &SeriesSummary, b: &SeriesSummary) -> std::cmp::Ordering {
    a.kernel_class
        .cmp(&b.kernel_class)
        .then(thickness_penalty(a.slice_thickness_mm).total_cmp(&thickness_penalty(b.slice_thickness_mm)))
        .then(
            b.coverage_mm
                .unwrap_or(0.0)
                .total_cmp(&a.coverage_mm.unwrap_or(0.0)),
        )
        .then(a.series_uid.cmp(&b.series_uid))
}

/// Applies the policy (`uid`: an explicit choice, which wins) to the series of an input, given
/// in the order of their SeriesInstanceUIDs.
pub fn select_series(series: Vec<SeriesSummary>, uid: Option<&str>) -> SeriesSelection {
    if let Some(uid) = uid {
        let found = series.iter().any(|s| s.series_uid == uid);
        return SeriesSelection {
            mode: "uid".into(),
            chosen_uid: found.then(|| uid.to_string()),
            series: series
                .into_iter()
                .map(|s| {
                    let chosen = s.series_uid == uid;
                    SeriesVerdict {
                        reason: if chosen {
                            "chosen by its SeriesInstanceUID".into()
                        } else {
                            "another SeriesInstanceUID was asked for".into()
                        },
                        chosen,
                        series: s,
                    }
                })
                .collect(),
        };
    }
    let ct_count = series.iter().filter(|s| is_ct_storage(&s.sop_class)).count();
    let lone = ct_count == 1;
    let rejections: Vec<Option<String>> = series.iter().map(|s| rejection(s, lone)).collect();
    let best = series
        .iter()
        .zip(&rejections)
        .filter(|(_, r)| r.is_none())
        .map(|(s, _)| s)
        .min_by(|a, b| preference(a, b))
        .map(|s| s.series_uid.clone());
    let eligible = rejections.iter().filter(|r| r.is_none()).count();
    let verdicts = series
        .into_iter()
        .zip(rejections)
        .map(|(s, r)| {
            let chosen = best.as_deref() == Some(s.series_uid.as_str());
            let reason = match r {
                Some(r) => r,
                None if chosen && eligible == 1 => "the only eligible series".into(),
                None if chosen => format!(
                    "preferred of {eligible} eligible: {} kernel, thickness {}, coverage {}",
                    match s.kernel_class {
                        KernelClass::Soft => "soft-tissue",
                        KernelClass::Unknown => "unclassified",
                        KernelClass::Sharp => "sharp",
                    },
                    s.slice_thickness_mm
                        .map_or("unknown".into(), |t| format!("{t} mm")),
                    s.coverage_mm
                        .map_or("unknown".into(), |c| format!("{c:.1} mm")),
                ),
                None => "eligible, not preferred (kernel, thickness, coverage or UID)".into(),
            };
            SeriesVerdict {
                series: s,
                chosen,
                reason,
            }
        })
        .collect();
    SeriesSelection {
        mode: "auto".into(),
        chosen_uid: best,
        series: verdicts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::dicom::instance::CT_IMAGE_STORAGE;

    fn series(uid: &str) -> SeriesSummary {
        SeriesSummary {
            series_uid: uid.into(),
            series_number: Some(2),
            description: String::new(),
            modality: "CT".into(),
            sop_class: CT_IMAGE_STORAGE.into(),
            image_type: vec!["ORIGINAL".into(), "PRIMARY".into(), "AXIAL".into()],
            kernel: "B30f".into(),
            kernel_class: KernelClass::Soft,
            slices: 100,
            slice_thickness_mm: Some(2.0),
            coverage_mm: Some(250.0),
            tilt_degrees: Some(0.0),
        }
    }

    #[test]
    fn kernels_of_the_vendors_are_classified() {
        for (k, c) in [
            ("B30f", KernelClass::Soft),
            ("Br38f\\3", KernelClass::Soft),
            ("I31f\\3", KernelClass::Soft),
            ("B70f", KernelClass::Sharp),
            ("Br64d\\3", KernelClass::Sharp),
            ("STANDARD", KernelClass::Soft),
            ("SOFT", KernelClass::Soft),
            ("BONEPLUS", KernelClass::Sharp),
            ("LUNG", KernelClass::Sharp),
            ("B", KernelClass::Soft),
            ("YC", KernelClass::Sharp),
            ("FC08", KernelClass::Soft),
            ("FC52", KernelClass::Sharp),
            ("", KernelClass::Unknown),
            ("XYZ", KernelClass::Unknown),
        ] {
            assert_eq!(KernelClass::of(k), c, "{k}");
        }
    }

    #[test]
    fn every_rule_rejects_with_its_reason() {
        let mut localizer = series("1.1");
        localizer.image_type = vec!["ORIGINAL".into(), "PRIMARY".into(), "LOCALIZER".into()];
        let mut dose = series("1.2");
        dose.sop_class = "1.2.840.10008.5.1.4.1.1.7".into();
        let mut coronal = series("1.3");
        coronal.tilt_degrees = Some(90.0);
        let mut derived = series("1.4");
        derived.image_type = vec!["DERIVED".into(), "SECONDARY".into(), "MPR".into()];
        let mut short = series("1.5");
        short.slices = 4;
        let mut thin_cover = series("1.6");
        thin_cover.coverage_mm = Some(20.0);
        let good = series("1.7");
        let sel = select_series(
            vec![localizer, dose, coronal, derived, short, thin_cover, good],
            None,
        );
        assert_eq!(sel.chosen_uid.as_deref(), Some("1.7"));
        let reasons: Vec<&str> = sel.series.iter().map(|v| v.reason.as_str()).collect();
        assert!(reasons[0].contains("localizer"), "{reasons:?}");
        assert!(reasons[1].contains("Secondary Capture"), "{reasons:?}");
        assert!(reasons[2].contains("not axial"), "{reasons:?}");
        assert!(reasons[3].contains("derived"), "{reasons:?}");
        assert!(reasons[4].contains("4 slices"), "{reasons:?}");
        assert!(reasons[5].contains("covers 20.0 mm"), "{reasons:?}");
        assert_eq!(reasons[6], "the only eligible series");
        assert!(sel.to_table().lines().nth(7).unwrap().starts_with("->"));
    }

    #[test]
    fn preference_is_kernel_then_thickness_then_coverage_then_uid() {
        let mut bone = series("2.1");
        bone.kernel_class = KernelClass::Sharp;
        let mut thick = series("2.2");
        thick.slice_thickness_mm = Some(5.0);
        let mut short = series("2.3");
        short.coverage_mm = Some(200.0);
        let best = series("2.4");
        let twin = series("2.5");
        let sel = select_series(vec![bone, thick, short, best, twin], None);
        assert_eq!(sel.chosen_uid.as_deref(), Some("2.4"));
        // two equally good series: the smaller UID, on every run
        let sel = select_series(vec![series("3.9"), series("3.10")], None);
        assert_eq!(sel.chosen_uid.as_deref(), Some("3.10"));
    }

    #[test]
    fn a_lone_series_is_read_unless_it_is_a_localizer_and_a_uid_wins() {
        let mut coronal = series("4.1");
        coronal.tilt_degrees = Some(90.0);
        coronal.slices = 5;
        let sel = select_series(vec![coronal.clone()], None);
        assert_eq!(sel.chosen_uid.as_deref(), Some("4.1"));
        coronal.image_type.push("LOCALIZER".into());
        assert_eq!(select_series(vec![coronal], None).chosen_uid, None);
        let sel = select_series(vec![series("5.1"), series("5.2")], Some("5.2"));
        assert_eq!(sel.mode, "uid");
        assert_eq!(sel.chosen_uid.as_deref(), Some("5.2"));
        assert_eq!(select_series(vec![series("5.1")], Some("9")).chosen_uid, None);
        // an anonymiser's empty UID is shown as such
        let table = select_series(vec![series("")], None).to_table();
        assert!(table.contains("->  (empty SeriesInstanceUID)"), "{table}");
    }
}
