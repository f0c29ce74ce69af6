//! Fig. 5 of the paper: mean DSC as a function of the threshold on Pk and G(Pk), k = 0, 1, 2, in
//! training (left) and testing (right), drawn with plotters into a PNG.
//!
//! Text is rendered with ab_glyph from a TrueType font read at run time: `PANCSEG_FONT`, else
//! DejaVu Sans from the system (`fonts-dejavu-core` on Debian/Ubuntu).

use crate::error::{Result, TrainError};
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Mean DSC against the threshold, per map (P0, G(P0), P1, G(P1), P2, G(P2)).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Curves {
    pub thresholds: Vec<f32>,
    pub maps: Vec<String>,
    pub train: Vec<Vec<f64>>,
    pub test: Vec<Vec<f64>>,
}

const FONT_PATHS: [&str; 3] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
];

fn font() -> Result<()> {
    static DONE: OnceLock<std::result::Result<(), String>> = OnceLock::new();
    DONE.get_or_init(|| {
        let candidates: Vec<PathBuf> = std::env::var_os("PANCSEG_FONT")
            .map(PathBuf::from)
            .into_iter()
            .chain(FONT_PATHS.iter().map(PathBuf::from))
            .collect();
        let path = candidates.iter().find(|p| p.is_file()).ok_or_else(|| {
            format!(
                "no TrueType font for Fig. 5: set PANCSEG_FONT or install DejaVu Sans (looked in {})",
                FONT_PATHS.join(", ")
            )
        })?;
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        // plotters keeps a 'static reference to the font for the process' lifetime
        let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
        register_font("sans-serif", FontStyle::Normal, bytes)
            .map_err(|_| format!("{}: not a usable TrueType font", path.display()))
    })
    .clone()
    .map_err(TrainError::Invalid)
}

fn plot_err(e: impl std::fmt::Display) -> TrainError {
    TrainError::Invalid(format!("Fig. 5: {e}"))
}

/// Draws the curves of one fold into `path` (PNG, 1400 x 560).
pub fn draw(curves: &Curves, path: &Path) -> Result<()> {
    font()?;
    let root = BitMapBackend::new(path, (1400, 560)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_err)?;
    let panels = root.split_evenly((1, 2));
    let colours = [BLUE, BLUE, GREEN, GREEN, RED, RED];
    for (area, (title, data)) in panels
        .iter()
        .zip([("Training", &curves.train), ("Testing", &curves.test)])
    {
        let mut chart = ChartBuilder::on(area)
            .caption(
                format!("{title}: mean DSC against the threshold"),
                ("sans-serif", 22),
            )
            .margin(16)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(0f32..1f32, 0f64..1f64)
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_desc("threshold")
            .y_desc("mean DSC")
            .label_style(("sans-serif", 14))
            .draw()
            .map_err(plot_err)?;
        for (k, values) in data.iter().enumerate() {
            let smoothed = k % 2 == 1;
            let style = colours[k].stroke_width(if smoothed { 3 } else { 1 });
            let points: Vec<(f32, f64)> = curves
                .thresholds
                .iter()
                .copied()
                .zip(values.iter().copied())
                .collect();
            chart
                .draw_series(LineSeries::new(points, style))
                .map_err(plot_err)?
                .label(curves.maps[k].clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], style));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 14))
            .draw()
            .map_err(plot_err)?;
    }
    root.present().map_err(plot_err)?;
    Ok(())
}
