//! Table 1 from the folds' results: DSC, ASSD and HD95 statistics per column, training and
//! testing, as JSON and Markdown.

use super::grid::{COLUMNS, LEVELS};
use super::profile::Profile;
use super::results::{CaseResult, FoldResult};
use crate::candidates_cv::Stat;
use serde::Serialize;

/// A column's statistics over a set of cases.
#[derive(Debug, Clone, Serialize)]
pub struct ColumnStats {
    pub column: String,
    pub dsc: Stat,
    pub assd_mm: Option<Stat>,
    pub hd95_mm: Option<Stat>,
    /// Share of cases (%) with DSC above each of [`LEVELS`].
    pub above: Vec<f64>,
}

/// `table1.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Table1 {
    pub cohort: String,
    pub cases: usize,
    pub folds: usize,
    pub seed: u64,
    pub profile: Profile,
    pub training: Vec<ColumnStats>,
    pub testing: Vec<ColumnStats>,
    pub folds_detail: Vec<FoldResult>,
    pub wall_seconds: f64,
}

pub(super) fn stats(cases: &[&CaseResult]) -> Vec<ColumnStats> {
    (0..COLUMNS.len())
        .map(|c| {
            let dsc: Vec<f64> = cases.iter().map(|r| r.dsc[c]).collect();
            let opt = |v: Vec<f64>| (!v.is_empty()).then(|| Stat::of(&v));
            ColumnStats {
                column: COLUMNS[c].to_string(),
                dsc: Stat::of(&dsc),
                assd_mm: opt(cases.iter().filter_map(|r| r.assd_mm[c]).collect()),
                hd95_mm: opt(cases.iter().filter_map(|r| r.hd95_mm[c]).collect()),
                above: LEVELS
                    .iter()
                    .map(|&l| {
                        100.0 * dsc.iter().filter(|&&d| d > l).count() as f64
                            / dsc.len().max(1) as f64
                    })
                    .collect(),
            }
        })
        .collect()
}

pub(super) fn stat_row(
    name: &str,
    cols: &[ColumnStats],
    f: impl Fn(&ColumnStats) -> Option<&Stat>,
    pick: fn(&Stat) -> f64,
    scale: f64,
    digits: usize,
) -> String {
    let cells: Vec<String> = cols
        .iter()
        .map(|c| {
            f(c).map_or("–".to_string(), |s| {
                format!("{:.*}", digits, pick(s) * scale)
            })
        })
        .collect();
    format!("| {name} | {} |\n", cells.join(" | "))
}

/// Picks one statistic (mean, std, min or max).
type StatPick = fn(&Stat) -> f64;

impl Table1 {
    /// `table1.md`: the paper's Table 1 layout, for training and for testing.
    pub fn to_markdown(&self) -> String {
        let mut s = format!(
            "# Table 1: {} cases, {} folds (seed {}), profile {:?}\n\nCohort `{}`; DSC in %, ASSD and HD95 in mm; the folds' own wall times add up to {:.0} s (this run: {:.0} s; folds it found finished were reused).\n",
            self.cases,
            self.folds,
            self.seed,
            self.profile,
            self.cohort,
            self.folds_detail.iter().map(|f| f.seconds).sum::<f64>(),
            self.wall_seconds
        );
        let header = format!(
            "| | {} |\n|---|{}\n",
            COLUMNS.join(" | "),
            "---|".repeat(COLUMNS.len())
        );
        for (title, cols) in [("Training", &self.training), ("Testing", &self.testing)] {
            s += &format!("\n## {title}\n\n{header}");
            let stats: [(&str, StatPick); 4] = [
                ("mean", |s| s.mean),
                ("std", |s| s.std),
                ("min", |s| s.min),
                ("max", |s| s.max),
            ];
            for (name, pick) in stats {
                s += &stat_row(
                    &format!("DSC {name}"),
                    cols,
                    |c| Some(&c.dsc),
                    pick,
                    100.0,
                    1,
                );
            }
            for (name, pick) in stats {
                s += &stat_row(
                    &format!("ASSD {name}"),
                    cols,
                    |c| c.assd_mm.as_ref(),
                    pick,
                    1.0,
                    2,
                );
            }
            for (name, pick) in stats {
                s += &stat_row(
                    &format!("HD95 {name}"),
                    cols,
                    |c| c.hd95_mm.as_ref(),
                    pick,
                    1.0,
                    1,
                );
            }
            for (i, l) in LEVELS.iter().enumerate() {
                let cells: Vec<String> =
                    cols.iter().map(|c| format!("{:.0}", c.above[i])).collect();
                s += &format!(
                    "| % cases DSC > {:.0} | {} |\n",
                    l * 100.0,
                    cells.join(" | ")
                );
            }
        }
        s += "\n## Operating points (calibrated on each fold's training cases)\n\n| fold | p0 | G(p0) | p1 | G(p1) | p2 | G(p2) | sigma factors (x-y, z) | CRF weight, prior, pairwise | wall s |\n|---|---|---|---|---|---|---|---|---|---|\n";
        for f in &self.folds_detail {
            let o = f.operating_points;
            s += &format!(
                "| {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {} | {} | {:.0} |\n",
                f.fold,
                o.p0,
                o.g_p0,
                o.p1,
                o.g_p1,
                o.p2,
                o.g_p2,
                f.sigma_factors
                    .map_or("1, 1".into(), |(xy, z)| format!("{xy}, {z}")),
                f.crf_weight.map_or("–".into(), |w| format!(
                    "{w}, {}, {}",
                    f.crf_prior.unwrap_or(0.5),
                    f.crf_pairwise.unwrap_or_default().name()
                )),
                f.seconds
            );
        }
        s += &format!(
            "\n## Cases (DSC %)\n\n| case | fold | split | {} |\n|---|---|---|{}\n",
            COLUMNS.join(" | "),
            "---|".repeat(COLUMNS.len())
        );
        for f in &self.folds_detail {
            for c in &f.cases {
                let cells: Vec<String> = c
                    .dsc
                    .iter()
                    .map(|d| {
                        if d.is_nan() {
                            "–".into()
                        } else {
                            format!("{:.1}", d * 100.0)
                        }
                    })
                    .collect();
                s += &format!(
                    "| {} | {} | {} | {} |\n",
                    c.id,
                    c.fold,
                    c.split,
                    cells.join(" | ")
                );
            }
        }
        s
    }
}
