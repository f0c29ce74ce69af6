//! HU of each structure per contrast phase. Means are drawn per case around these values
//! (non-contrast / arterial / portal venous), following the table and two real scans
//! measured here (portal venous: liver 89, spleen 80, portal/splenic vein 131, pancreas 61 with
//! partial volume; non-contrast: liver 44, spleen 32, aorta 41, pancreas -10 when fatty).

use super::labels::*;
use rand::Rng;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    NonContrast,
    Arterial,
    PortalVenous,
    /// Delayed (equilibrium, about 3-5 min): vessels and parenchyma near equilibrium, contrast
    /// excreted into the collecting systems and the bladder. Drawn by the realistic profile only.
    Delayed,
}

/// Base (mean) HU of a structure in a phase, before per-case variation.
pub fn base_hu(label: u8, phase: Phase) -> f64 {
    use Phase::*;
    if phase == Delayed {
        return delayed_hu(label);
    }
    let (nc, art, pv) = match label {
        PANCREAS => (40.0, 115.0, 100.0),
        SUBCUTANEOUS_FAT | VISCERAL_FAT => (-100.0, -100.0, -100.0),
        MUSCLE => (50.0, 55.0, 60.0),
        BONE_CORTEX => (800.0, 800.0, 800.0),
        BONE_MARROW => (250.0, 260.0, 270.0),
        AORTA | SMA => (40.0, 300.0, 160.0),
        IVC => (40.0, 70.0, 130.0),
        PORTAL_VEIN | SPLENIC_VEIN | SMV => (40.0, 120.0, 160.0),
        LIVER => (55.0, 70.0, 105.0),
        SPLEEN => (45.0, 120.0, 115.0),
        KIDNEY_CORTEX => (30.0, 180.0, 170.0),
        KIDNEY_MEDULLA => (30.0, 80.0, 150.0),
        STOMACH_WALL | DUODENUM_WALL | SMALL_BOWEL_WALL | COLON_WALL => (40.0, 80.0, 90.0),
        DISC => (80.0, 85.0, 90.0),
        SPINAL_CANAL => (15.0, 15.0, 15.0),
        LUNG => (-860.0, -850.0, -845.0),
        HEART => (40.0, 260.0, 150.0),
        BLADDER | ASCITES => (8.0, 8.0, 9.0),
        TABLE => (-850.0, -850.0, -850.0),
        METAL => (3071.0, 3071.0, 3071.0),
        CARTILAGE => (150.0, 150.0, 150.0),
        DIAPHRAGM => (50.0, 55.0, 60.0),
        ARM_BONE => (700.0, 700.0, 700.0),
        _ => (0.0, 0.0, 0.0),
    };
    match phase {
        NonContrast => nc,
        Arterial => art,
        PortalVenous | Delayed => pv,
    }
}

/// Delayed-phase means: blood and parenchyma near equilibrium, excreted contrast in the urine.
fn delayed_hu(label: u8) -> f64 {
    match label {
        PANCREAS => 75.0,
        MUSCLE | DIAPHRAGM => 60.0,
        AORTA | SMA | IVC | PORTAL_VEIN | SPLENIC_VEIN | SMV | HEART => 115.0,
        LIVER => 90.0,
        SPLEEN => 95.0,
        KIDNEY_CORTEX | KIDNEY_MEDULLA => 160.0,
        BLADDER => 250.0,
        STOMACH_WALL | DUODENUM_WALL | SMALL_BOWEL_WALL | COLON_WALL => 75.0,
        l => base_hu(l, Phase::PortalVenous),
    }
}

impl Phase {
    /// The phase after this one in an injection's timeline (where a late acquisition drifts).
    pub fn next(self) -> Phase {
        match self {
            Phase::NonContrast => Phase::NonContrast,
            Phase::Arterial => Phase::PortalVenous,
            Phase::PortalVenous | Phase::Delayed => Phase::Delayed,
        }
    }
}

/// Per-case HU means of every label (index = label), and the gain of each structure's texture.
#[derive(Debug, Clone)]
pub struct HuTable {
    pub mean: [f64; LABEL_COUNT],
    /// Multiplies a structure's texture amplitude (1 in the classic profile).
    pub gain: [f64; LABEL_COUNT],
}

impl HuTable {
    /// Draws each mean around its base value: +-10% of the contrast enhancement and +-8 HU.
    pub fn draw(phase: Phase, rng: &mut impl Rng) -> Self {
        let mut mean = [0.0; LABEL_COUNT];
        for &(l, _) in NAMES.iter().take(CLASSIC_COUNT) {
            let b = base_hu(l, phase);
            let nc = base_hu(l, Phase::NonContrast);
            let enh = b - nc;
            mean[l as usize] =
                nc + enh * rng.random_range(0.85..1.15) + rng.random_range(-8.0..8.0);
        }
        HuTable {
            mean,
            gain: [1.0; LABEL_COUNT],
        }
    }

    /// The realistic profile's draw: the enhancement of `phase` moved towards the next phase
    /// by `timing` (0 = early, 1 = late in the phase, at most 40 % of the way), scaled per
    /// structure by 0.75-1.25, every mean shifted by up to `shift_hu` (appearance randomisation
    /// within physiology), and each structure's texture gain drawn in 0.3-1.3.
    pub fn draw_realistic(phase: Phase, timing: f64, shift_hu: f64, rng: &mut impl Rng) -> Self {
        let mut mean = [0.0; LABEL_COUNT];
        let mut gain = [1.0; LABEL_COUNT];
        for &(l, _) in NAMES {
            let nc = base_hu(l, Phase::NonContrast);
            let here = base_hu(l, phase);
            let later = base_hu(l, phase.next());
            let enh = here + (later - here) * 0.4 * timing - nc;
            let fixed = matches!(l, BACKGROUND | METAL | TABLE);
            let bone = matches!(l, BONE_CORTEX | BONE_MARROW | ARM_BONE);
            mean[l as usize] = if fixed {
                nc
            } else if bone {
                // mineral density varies with age and scanner far more than soft tissue
                nc * rng.random_range(0.6..1.1) + rng.random_range(-shift_hu..=shift_hu)
            } else {
                nc + enh * rng.random_range(0.75..1.25) + rng.random_range(-shift_hu..=shift_hu)
            };
            gain[l as usize] = rng.random_range(0.3..1.3);
        }
        HuTable { mean, gain }
    }
}

/// What fills a bowel loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Content {
    Water,
    Air,
    OralContrast,
    Stool,
    /// Small-bowel chyme: fluid with debris and gas bubbles (the realistic profile only).
    Chyme,
}

impl Content {
    pub fn draw(rng: &mut impl Rng, oral_contrast: bool, colon: bool) -> Self {
        let u: f64 = rng.random();
        if colon {
            if u < 0.55 {
                Content::Air
            } else if u < 0.85 || !oral_contrast {
                Content::Stool
            } else {
                Content::OralContrast
            }
        } else if u < 0.6 {
            Content::Water
        } else if u < 0.72 {
            Content::Air
        } else if oral_contrast {
            Content::OralContrast
        } else {
            Content::Water
        }
    }

    /// HU of the content at a point, given a [-1, 1] texture value.
    pub fn hu(self, tex: f64) -> f64 {
        match self {
            Content::Water => 12.0 + 10.0 * tex,
            Content::Air => -960.0 + 30.0 * tex,
            Content::OralContrast => 280.0 + 60.0 * tex,
            // fluid of 0-40 HU with debris, gas bubbles where the texture peaks
            Content::Chyme => {
                if tex > 0.6 {
                    -850.0 + 100.0 * tex
                } else {
                    18.0 + 22.0 * tex
                }
            }
            // mottled: gas bubbles in soft material
            Content::Stool => {
                if tex > 0.35 {
                    -700.0
                } else {
                    -20.0 + 60.0 * tex
                }
            }
        }
    }
}
