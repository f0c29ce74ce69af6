//! `pancseg-train inputs`: a picture of what one network sees, positive examples above
//! negative ones (`pancseg_train::input_pictures`).

use crate::cli::options::working_spacing;
use crate::cli::CliResult;
use clap::Args;
use pancseg_train::cohort::Cohort;
use pancseg_train::convnet::examples::Geometry;
use pancseg_train::convnet::NetKind;
use pancseg_train::error::TrainError;
use pancseg_train::train_cmd::{example_cases, fill_p0_maps, prepare_cases};
use std::path::PathBuf;

/// Picture a network's inputs: COUNT positive and COUNT negative training examples drawn from
/// the candidates of the cases, one row each, channels side by side (CT in the -160..240 HU
/// window, P0 and masks 0..1); positives above the red line.
#[derive(Args)]
pub struct InputsArgs {
    #[arg(long)]
    pub cohort: PathBuf,
    /// Comma-separated case ids (default: every case of the cohort).
    #[arg(long, value_delimiter = ',')]
    pub cases: Vec<String>,
    /// Which network: p, r1, r2 or boundary.
    #[arg(long)]
    pub net: String,
    /// Cascade to take the candidates from (level1.psrf, level2.psrf); default: cross-fitted
    /// cascades trained here.
    #[arg(long)]
    pub forests: Option<PathBuf>,
    /// A trained P-ConvNet (`train --net p` folder) or a model bundle (its `p.onnx`) for the
    /// P0 channel of r2 or of a boundary ConvNet with `--boundary-p0`.
    #[arg(long)]
    pub p_net: Option<PathBuf>,
    /// The boundary ConvNet's input with the P0 channel (4 channels).
    #[arg(long)]
    pub boundary_p0: bool,
    /// Examples per class.
    #[arg(long, default_value_t = 8)]
    pub count: usize,
    /// Enlargement of each input pixel.
    #[arg(long, default_value_t = 2)]
    pub zoom: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Grid step (voxels) of the P0 map.
    #[arg(long, default_value_t = 2)]
    pub p0_stride: usize,
    /// Working spacing in mm, one value or x,y,z (default 2,2,2.5).
    #[arg(long, value_delimiter = ',')]
    pub working_spacing: Vec<f64>,
    /// The PNG to write.
    #[arg(long)]
    pub out: PathBuf,
}

/// Runs `pancseg-train inputs`.
pub fn run(a: InputsArgs) -> CliResult {
    let net = NetKind::parse(&a.net).ok_or_else(|| {
        TrainError::Invalid(format!(
            "unknown network {:?}: use p, r1, r2 or boundary",
            a.net
        ))
    })?;
    if a.count == 0 || a.zoom == 0 || a.zoom > 8 {
        return Err(
            TrainError::Invalid("--count must be at least 1 and --zoom 1 to 8".into()).into(),
        );
    }
    let mut cohort = Cohort::open(&a.cohort)?;
    cohort.working_spacing = working_spacing(&a.working_spacing)?;
    let ids: Vec<String> = if a.cases.is_empty() {
        cohort.manifest.cases.iter().map(|c| c.id.clone()).collect()
    } else {
        a.cases.clone()
    };
    let prepared = prepare_cases(&cohort, &ids, &Default::default())?;
    let mut cases = example_cases(prepared, a.forests.as_deref(), a.seed)?;
    let mut g = Geometry::default();
    g.region.boundary_p0 = net == NetKind::Boundary && a.boundary_p0;
    if net == NetKind::R2 || g.region.boundary_p0 {
        let dir = a.p_net.as_ref().ok_or_else(|| {
            TrainError::Invalid("the P0 channel needs --p-net DIR (a trained P-ConvNet)".into())
        })?;
        fill_p0_maps(dir, &mut cases, a.p0_stride)?;
    }
    let channels = match net {
        NetKind::Boundary => g.region.boundary_channels(),
        _ => net.config().in_channels,
    };
    let (p, sizes, totals, rules) = pancseg_train::input_pictures::input_pictures(
        net, &cases, &g, channels, a.count, a.zoom, a.seed,
    );
    pancseg::io::render::write_rgb_png(&a.out, p.width, p.height, &p.rgb)?;
    println!(
        "{}: {} positive and {} negative examples in {} cases; {} and {} drawn into {}",
        net.name(),
        totals[0],
        totals[1],
        cases.len(),
        a.count.min(totals[0]),
        a.count.min(totals[1]),
        a.out.display()
    );
    if let Some((hu, p0)) = rules {
        println!(
            "label-free rules over the {} pairs: AUC of the HU contrast {hu:.3}{}",
            totals[0] + totals[1],
            p0.map(|v| format!(", of the P0 contrast {v:.3}"))
                .unwrap_or_default()
        );
    }
    for (name, v) in [("same-label", &sizes[0]), ("different-label", &sizes[1])] {
        if v.is_empty() {
            continue;
        }
        let q = |f: f64| v[((v.len() - 1) as f64 * f).round() as usize];
        let small = v.iter().filter(|&&n| n < 8).count() as f64 / v.len() as f64;
        println!(
            "{name} pairs: smaller superpixel {} / {} / {} pixels (10th / 50th / 90th \
             percentile); under 8 pixels: {:.1} %",
            q(0.1),
            q(0.5),
            q(0.9),
            100.0 * small
        );
    }
    Ok(())
}
