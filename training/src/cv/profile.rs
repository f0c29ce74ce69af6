//! The `--profile` settings of `cv`: network widths and training schedules (quick for CI, paper
//! for the paper's settings).

use crate::candidates_cv::CandidateOptions;
use crate::convnet::train::TrainOptions;
use serde::{Deserialize, Serialize};

/// Training length and network size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// The CI end-to-end run of the protocol's mechanics: narrow networks, one short epoch,
    /// small forests (the networks do not learn in this time).
    Quick,
    /// The paper's protocol and settings: Ns = 4 scales, Nt = 8 TPS deformations, 60-tree
    /// forests, P0 stride 2; compact networks (conv 16/32/32/32/32, FC 128: the shipped bundle
    /// stays a few MB and a fold trains in minutes on two cores) and a CPU-sized schedule
    /// (8 epochs of 3072 examples, R2 12 of 6144, P-ConvNet 12 of 8192 and its two
    /// cross-fitting halves 8 of 6144, boundary ConvNet 10 of 8192; early stopping).
    Paper,
}

impl std::str::FromStr for Profile {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Profile, String> {
        match s {
            "quick" => Ok(Profile::Quick),
            "paper" => Ok(Profile::Paper),
            _ => Err(format!("unknown profile {s:?}: quick or paper")),
        }
    }
}

pub(super) struct Settings {
    pub(super) cascade: CandidateOptions,
    pub(super) train: TrainOptions,
    /// The P-ConvNet's schedule (its 32x32 inputs train about 4x faster than the 64x64 ones).
    pub(super) p_train: TrainOptions,
    /// The schedule of the two half-cohort P-ConvNets that cross-fit R2's P0 maps.
    pub(super) p_half_train: TrainOptions,
    /// R2's schedule.
    pub(super) r2_train: TrainOptions,
    /// The boundary ConvNet's schedule.
    pub(super) boundary_train: TrainOptions,
    pub(super) widths: Option<[usize; 5]>,
    pub(super) fc: Option<usize>,
    pub(super) max_voxels: usize,
    pub(super) p0_stride: usize,
    /// The bundles' P0 grid step in mm (None: `p0_stride` voxels on every scan).
    pub(super) p0_step_mm: Option<f64>,
}

impl Profile {
    pub(super) fn settings(self, seed: u64) -> Settings {
        match self {
            Profile::Quick => {
                let mut cascade = CandidateOptions::default();
                cascade.forest.n_trees = 20;
                let train = TrainOptions {
                    epochs: 1,
                    examples_per_epoch: 256,
                    val_per_class: 50,
                    patience: 1,
                    seed,
                    ..TrainOptions::default()
                };
                Settings {
                    cascade,
                    p_train: train.clone(),
                    p_half_train: train.clone(),
                    r2_train: train.clone(),
                    boundary_train: train.clone(),
                    train,
                    widths: Some([8, 16, 16, 16, 16]),
                    fc: Some(32),
                    max_voxels: 100,
                    p0_stride: 3,
                    p0_step_mm: None,
                }
            }
            Profile::Paper => Settings {
                cascade: CandidateOptions::default(),
                train: TrainOptions {
                    epochs: 8,
                    examples_per_epoch: 3072,
                    seed,
                    ..TrainOptions::default()
                },
                // still improving at 8 epochs of 6144 (validation AUC 0.923, 0.943, 0.944
                // over epochs 6-8)
                p_train: TrainOptions {
                    epochs: 12,
                    examples_per_epoch: 8192,
                    seed,
                    ..TrainOptions::default()
                },
                p_half_train: TrainOptions {
                    epochs: 8,
                    examples_per_epoch: 6144,
                    seed,
                    ..TrainOptions::default()
                },
                // twice the examples per epoch of the others and up to 12 epochs: with 3072 an
                // epoch, R2's validation loss was noisy and early stopping kept epoch 1 on
                // fold 1 (AUC 0.947); with 6144 it kept epoch 5 of 8 (AUC 0.955) and fold 1's
                // test G(P2) rose from 75.3 to 76.3 %
                r2_train: TrainOptions {
                    epochs: 12,
                    examples_per_epoch: 6144,
                    seed,
                    ..TrainOptions::default()
                },
                // the schedule that took the boundary ConvNet (with P0) to validation AUC
                // 0.917 on 48 phantoms, best epoch 8 of 10 (docs/results/boundary/README.md)
                boundary_train: TrainOptions {
                    epochs: 10,
                    examples_per_epoch: 8192,
                    patience: 3,
                    seed,
                    ..TrainOptions::default()
                },
                widths: Some([16, 32, 32, 32, 32]),
                fc: Some(128),
                max_voxels: 2000,
                p0_stride: 2,
                // stride 2 on the small phantoms (1.67-2.17 mm), 5 on a 0.77 mm scan
                p0_step_mm: Some(4.0),
            },
        }
    }
}
