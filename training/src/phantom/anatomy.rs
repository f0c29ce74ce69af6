//! Patient anatomy of one phantom: random sizes and positions drawn from the case seed, and the
//! painting of every structure onto a [`Canvas`] in an order where later structures win
//! (body, wall, cavity, bone, bowel, solid organs, duodenum, pancreas, vessels).
//!
//! Coordinates are LPS mm with the body centred on x = y = 0 and the pancreatic neck at z = 0.

use super::canvas::{spline, Canvas, Paint, TubePoint};
use super::intensity::{Content, HuTable};
use super::labels::*;
use super::noise::{derive, ValueNoise};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

/// Random anatomy of one case (what cohort.json records of it).
#[derive(Debug, Clone, Serialize)]
pub struct Anatomy {
    /// Body half-axes (left-right, antero-posterior), mm.
    pub body: [f64; 2],
    pub fat_mm: f64,
    pub muscle_mm: f64,
    pub vertebra_y: f64,
    pub aorta: [f64; 3],
    pub ivc: [f64; 2],
    /// Scale of the pancreas radii, tuned so the volume hits `target_ml`.
    pub pancreas_scale: f64,
    pub pancreas_target_ml: f64,
    /// 0 (none) to 1 (severe) fatty infiltration.
    pub fatty_infiltration: f64,
    pub oral_contrast: bool,
    #[serde(skip)]
    pub pancreas_ctrl: Vec<TubePoint>,
    #[serde(skip)]
    pub seed: u64,
}

fn j(rng: &mut ChaCha8Rng, a: f64) -> f64 {
    rng.random_range(-a..=a)
}

/// A body size drawn by the realistic profile instead of the classic ranges.
#[derive(Debug, Clone, Copy)]
pub struct BodySize {
    /// Half-axes (left-right, antero-posterior), mm.
    pub half_axes: [f64; 2],
    pub fat_mm: f64,
}

impl Anatomy {
    pub fn draw(rng: &mut ChaCha8Rng, seed: u64) -> Self {
        Self::draw_sized(rng, seed, None)
    }

    /// [`Anatomy::draw`] with the body size replaced by `size` when given; the random stream is
    /// consumed identically either way.
    pub fn draw_sized(rng: &mut ChaCha8Rng, seed: u64, size: Option<BodySize>) -> Self {
        let a: f64 = rng.random_range(135.0..185.0);
        let b = a * rng.random_range(0.7..0.84);
        let fat_mm = rng.random_range(8.0..35.0);
        let (a, b, fat_mm) = match size {
            Some(s) => (s.half_axes[0], s.half_axes[1], s.fat_mm),
            None => (a, b, fat_mm),
        };
        let muscle_mm = rng.random_range(8.0..14.0);
        let vertebra_y = b * 0.42 + j(rng, 5.0);
        let ra = rng.random_range(9.0..13.0);
        let aorta = [rng.random_range(6.0..18.0), vertebra_y - 20.0 - ra, ra];
        let ivc = [-rng.random_range(22.0..32.0), vertebra_y - 24.0];
        let (xa, ya) = (aorta[0], aorta[1] - ra);
        // pancreas centre line: uncinate -> head -> neck -> body -> tail -> tail tip (splenic hilum)
        let spleen_x = a * 0.55;
        let mut ctrl = vec![
            TubePoint {
                c: [
                    xa - 28.0 + j(rng, 4.0),
                    ya - 4.0 + j(rng, 3.0),
                    -30.0 + j(rng, 5.0),
                ],
                r: 8.0,
            },
            TubePoint {
                c: [
                    xa - 40.0 + j(rng, 6.0),
                    ya - 14.0 + j(rng, 4.0),
                    -14.0 + j(rng, 5.0),
                ],
                r: 14.0,
            },
            TubePoint {
                c: [xa - 16.0 + j(rng, 4.0), ya - 30.0 + j(rng, 4.0), 0.0],
                r: 7.5,
            },
            TubePoint {
                c: [
                    xa + 18.0 + j(rng, 6.0),
                    ya - 30.0 + j(rng, 6.0),
                    8.0 + j(rng, 6.0),
                ],
                r: 9.5,
            },
            TubePoint {
                c: [
                    xa + 52.0 + j(rng, 8.0),
                    ya - 5.0 + j(rng, 8.0),
                    18.0 + j(rng, 8.0),
                ],
                r: 8.5,
            },
            TubePoint {
                c: [
                    spleen_x - 22.0 + j(rng, 6.0),
                    vertebra_y + 5.0 + j(rng, 8.0),
                    26.0 + j(rng, 8.0),
                ],
                r: 6.5,
            },
        ];
        for p in ctrl.iter_mut() {
            p.r *= rng.random_range(0.85..1.15);
        }
        Anatomy {
            body: [a, b],
            fat_mm,
            muscle_mm,
            vertebra_y,
            aorta,
            ivc,
            pancreas_scale: rng.random_range(0.85..1.15),
            pancreas_target_ml: rng.random_range(45.0..115.0),
            fatty_infiltration: {
                let u: f64 = rng.random();
                if u < 0.6 {
                    u * 0.3
                } else {
                    0.2 + (u - 0.6) * 1.5
                }
            },
            oral_contrast: rng.random_bool(0.5),
            pancreas_ctrl: ctrl,
            seed,
        }
    }

    /// Pancreas centre line at the current scale.
    pub fn pancreas_line(&self, step: f64) -> Vec<TubePoint> {
        let ctrl: Vec<TubePoint> = self
            .pancreas_ctrl
            .iter()
            .map(|p| TubePoint {
                c: p.c,
                r: p.r * self.pancreas_scale,
            })
            .collect();
        spline(&ctrl, step)
    }
}

/// How the body outline and some structures vary beyond the classic profile's ellipse.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct BodyForm {
    /// Radius factor of small bowel, duodenum and colon (collapsed below 1, distended above).
    pub bowel_scale: f64,
    /// Scale of the liver's axes (hepatomegaly above 1).
    pub liver_scale: f64,
    /// The psoas exists below this z (mm); the classic profile paints it everywhere.
    pub psoas_top_mm: f64,
    /// Exponent of the posterior half of the outline (2 = ellipse; larger = flatter back).
    pub posterior_exponent: f64,
    /// Above this z the antero-posterior half-axis grows by `chest_ap_gain` (the thorax).
    pub chest_from_mm: f64,
    pub chest_ap_gain: f64,
    /// Below this z the lateral half-axis grows by `hip_gain` (the hips).
    pub hips_from_mm: f64,
    pub hip_gain: f64,
    /// Share of small-bowel loops drawn collapsed: 5-8 mm in radius with a 2.5-3.5 mm wall
    /// around a core of chyme, soft-tissue dense as empty jejunum and ileum are in patients
    /// (0: none, the classic profile).
    pub collapsed_bowel: f64,
    /// Share of the other small-bowel loops holding chyme (fluid with debris and gas bubbles)
    /// instead of the classic draw's water, air or oral contrast (0: none, the classic profile).
    pub chyme_bowel: f64,
    /// Radius of the ribs' (round) cross-section and the thickness of their cortex, mm (the
    /// classic profile: 5 and 2.2, thicker than adult ribs, whose cortex is mostly 0.5-1.5 mm,
    /// Holcombe et al., J Anat 2019 and 2022).
    pub rib_radius_mm: f64,
    pub rib_cortex_mm: f64,
}

impl BodyForm {
    /// The classic profile: an ellipse, bowel as drawn, psoas everywhere.
    pub const CLASSIC: BodyForm = BodyForm {
        bowel_scale: 1.0,
        liver_scale: 1.0,
        psoas_top_mm: f64::INFINITY,
        posterior_exponent: 2.0,
        chest_from_mm: f64::INFINITY,
        chest_ap_gain: 0.0,
        hips_from_mm: f64::NEG_INFINITY,
        hip_gain: 0.0,
        collapsed_bowel: 0.0,
        chyme_bowel: 0.0,
        rib_radius_mm: 5.0,
        rib_cortex_mm: 2.2,
    };

    fn is_classic(&self) -> bool {
        self.posterior_exponent == 2.0
            && self.chest_from_mm == f64::INFINITY
            && self.hips_from_mm == f64::NEG_INFINITY
    }

    /// Half-axis factors at height z (smooth ramps over 60 mm).
    pub fn scale(&self, z: f64) -> (f64, f64) {
        let ramp = |d: f64| (d / 60.0).clamp(0.0, 1.0);
        (
            1.0 + self.hip_gain * ramp(self.hips_from_mm - z),
            1.0 + self.chest_ap_gain * ramp(z - self.chest_from_mm),
        )
    }

    /// The largest half-axis factors anywhere.
    pub fn max_scale(&self) -> (f64, f64) {
        (
            1.0 + self.hip_gain.max(0.0),
            1.0 + self.chest_ap_gain.max(0.0),
        )
    }
}

/// Everything needed to paint: anatomy, HU means, noise fields, body form.
pub struct Painter<'a> {
    pub an: &'a Anatomy,
    pub hu: &'a HuTable,
    pub tex: ValueNoise,
    pub shape: ValueNoise,
    pub form: BodyForm,
}

impl Painter<'_> {
    /// Base HU of `label` at `p` with a smooth organ texture of `amp` HU (times the structure's
    /// texture gain).
    pub fn val(&self, label: u8, p: [f64; 3], amp: f64, freq: f64) -> f32 {
        let l = label as usize;
        (self.hu.mean[l] + amp * self.hu.gain[l] * self.tex.fbm(shift(p, label), freq)) as f32
    }

    /// Normalised radius of the body outline at `p` shrunk by `inset` mm (1 on the outline).
    pub fn body_r(&self, p: [f64; 3], inset: f64) -> f64 {
        let [a, b] = self.an.body;
        let s = 1.0 + 0.03 * (p[2] / 80.0).sin();
        if self.form.is_classic() {
            let (a, b) = (a * s - inset, b * s - inset);
            return ((p[0] / a).powi(2) + (p[1] / b).powi(2)).sqrt();
        }
        let (fa, fb) = self.form.scale(p[2]);
        // the chest grows forwards: the back stays on the table
        let fb = if p[1] < 0.0 { fb } else { 1.0 };
        let (a, b) = (a * s * fa - inset, b * s * fb - inset);
        let e = if p[1] > 0.0 {
            self.form.posterior_exponent
        } else {
            2.0
        };
        ((p[0] / a).abs().powf(e) + (p[1] / b).abs().powf(e)).powf(1.0 / e)
    }

    pub fn paint_all(&self, c: &mut Canvas, rng: &mut ChaCha8Rng) {
        let an = self.an;
        let [a, b] = an.body;
        let big = 1e4;
        let (zlo, zhi) = (-big, big);
        // body, wall, cavity
        let fat_post = an.fat_mm * 0.5;
        let (fa, fb) = self.form.max_scale();
        let (a, b) = (a * fa, b * fb);
        c.paint_box(
            [-a - 10.0, -b - 10.0, zlo],
            [a + 10.0, b + 10.0, zhi],
            |p, _| {
                let post = (p[1] / b).max(0.0);
                let fat = an.fat_mm * (1.0 - post) + fat_post * post;
                let r = self.body_r(p, 0.0);
                if r > 1.0 {
                    return None;
                }
                if self.body_r(p, fat + an.muscle_mm) <= 1.0 {
                    Some((VISCERAL_FAT, self.val(VISCERAL_FAT, p, 12.0, 0.05)))
                } else if self.body_r(p, fat) <= 1.0 {
                    Some((MUSCLE, self.val(MUSCLE, p, 6.0, 0.08)))
                } else {
                    Some((SUBCUTANEOUS_FAT, self.val(SUBCUTANEOUS_FAT, p, 12.0, 0.05)))
                }
            },
        );
        self.paint_spine_and_muscles(c, rng);
        self.paint_ribs(c, rng);
        self.paint_colon(c, rng);
        self.paint_small_bowel(c, rng);
        self.paint_stomach(c, rng);
        self.paint_liver(c);
        self.paint_spleen(c);
        self.paint_kidneys(c, rng);
        self.paint_duodenum(c, rng);
        self.paint_pancreas(c);
        self.paint_vessels(c);
        self.paint_mesenteric_vessels(c, rng);
    }

    /// Paints a (deformed) ellipsoid: `f(p, current label, normalised radius)` decides.
    fn ellipsoid<F>(
        &self,
        c: &mut Canvas,
        center: [f64; 3],
        axes: [f64; 3],
        yaw: f64,
        deform: f64,
        f: F,
    ) where
        F: Fn([f64; 3], u8, f64) -> Paint + Sync,
    {
        let m = axes.iter().fold(0.0f64, |m, v| m.max(*v)) * (1.0 + deform);
        let (s, co) = yaw.sin_cos();
        let shape = self.shape;
        c.paint_box(
            [center[0] - m, center[1] - m, center[2] - m],
            [center[0] + m, center[1] + m, center[2] + m],
            |p, l| {
                let d = [p[0] - center[0], p[1] - center[1], p[2] - center[2]];
                let u = co * d[0] + s * d[1];
                let v = -s * d[0] + co * d[1];
                let r = ((u / axes[0]).powi(2) + (v / axes[1]).powi(2) + (d[2] / axes[2]).powi(2))
                    .sqrt();
                let r = r / (1.0 + deform * shape.fbm(p, 0.025));
                if r <= 1.0 {
                    f(p, l, r)
                } else {
                    None
                }
            },
        );
    }

    /// The state of one small-bowel loop drawn with `kind` by the classic draw: as drawn (wall
    /// 2 mm), collapsed (the control points' radius set to 5-8 mm, a thicker wall, chyme) or
    /// filled with chyme, by the form's shares. Returns the wall thickness (mm) and the content.
    /// Draws nothing from `rng` when both shares are 0 (the classic profile stays as it was).
    pub fn small_bowel_state(
        &self,
        rng: &mut ChaCha8Rng,
        ctrl: &mut [TubePoint],
        kind: Content,
    ) -> (f64, Content) {
        let (collapsed, chyme) = (self.form.collapsed_bowel, self.form.chyme_bowel);
        if collapsed <= 0.0 && chyme <= 0.0 {
            return (2.0, kind);
        }
        let u: f64 = rng.random();
        if u < collapsed {
            let r = rng.random_range(5.0..8.0);
            for q in ctrl.iter_mut() {
                q.r = r;
            }
            (rng.random_range(2.5..3.5), Content::Chyme)
        } else if u < collapsed + (1.0 - collapsed) * chyme {
            (2.0, Content::Chyme)
        } else {
            (2.0, kind)
        }
    }

    /// A hollow tube (bowel): a wall of `wall` painted where `into(current label)` allows, then
    /// `content` of `kind` inside it, `wall_mm` in from the outer surface.
    #[allow(clippy::too_many_arguments)]
    pub fn tube_wall_content(
        &self,
        c: &mut Canvas,
        pts: &[TubePoint],
        wall_mm: f64,
        wall: u8,
        content: u8,
        kind: Content,
        into: impl Fn(u8) -> bool + Sync,
    ) {
        let hu_wall = |p: [f64; 3]| self.val(wall, p, 6.0, 0.1);
        c.paint_tube(
            pts,
            0.0,
            |_| 1.0,
            |p, l, _| into(l).then(|| (wall, hu_wall(p))),
        );
        let tex = self.tex;
        c.paint_tube(
            pts,
            -wall_mm,
            |_| 1.0,
            |p, l, _| (l == wall).then(|| (content, kind.hu(tex.at(p, 0.15)) as f32)),
        );
    }

    fn paint_spine_and_muscles(&self, c: &mut Canvas, rng: &mut ChaCha8Rng) {
        let an = self.an;
        let yv = an.vertebra_y;
        let (rx, ry) = (22.0 + j(rng, 3.0), 16.0 + j(rng, 2.0));
        let disc_phase = rng.random_range(0.0..32.0);
        let psoas_x = 30.0 + j(rng, 3.0);
        let big = 1e4;
        c.paint_box([-90.0, yv - 40.0, -big], [90.0, yv + 90.0, big], |p, l| {
            if l == BACKGROUND || l == SUBCUTANEOUS_FAT {
                return None;
            }
            // vertebral body with cortical shell, discs every 32 mm
            let rb = ((p[0] / rx).powi(2) + ((p[1] - yv) / ry).powi(2)).sqrt();
            if rb <= 1.0 {
                let in_disc = (p[2] - disc_phase).rem_euclid(32.0) < 8.0;
                if in_disc {
                    return Some((DISC, self.val(DISC, p, 5.0, 0.1)));
                }
                let inner =
                    ((p[0] / (rx - 2.5)).powi(2) + ((p[1] - yv) / (ry - 2.5)).powi(2)).sqrt();
                return Some(if inner <= 1.0 {
                    (BONE_MARROW, self.val(BONE_MARROW, p, 40.0, 0.15))
                } else {
                    (BONE_CORTEX, self.val(BONE_CORTEX, p, 100.0, 0.1))
                });
            }
            // posterior arch around the spinal canal, spinous process
            let dc = (p[0].powi(2) + (p[1] - yv - ry - 9.0).powi(2)).sqrt();
            if dc <= 7.5 {
                return Some((SPINAL_CANAL, self.val(SPINAL_CANAL, p, 3.0, 0.1)));
            }
            let spinous = p[0].abs() < 4.0 && p[1] > yv + ry + 14.0 && p[1] < yv + ry + 45.0;
            if dc <= 12.0 || spinous {
                return Some((BONE_CORTEX, self.val(BONE_CORTEX, p, 120.0, 0.1)));
            }
            // psoas (grows towards the pelvis) and paraspinal muscles
            let pr = 9.0 + (-p[2]).max(0.0) * 0.09;
            for sx in [-1.0, 1.0] {
                let dp = if p[2] < self.form.psoas_top_mm {
                    ((p[0] - sx * (psoas_x + pr * 0.6)) / pr).powi(2)
                        + ((p[1] - yv - 4.0) / (pr * 0.85)).powi(2)
                } else {
                    f64::INFINITY
                };
                let dq =
                    ((p[0] - sx * 38.0) / 24.0).powi(2) + ((p[1] - yv - ry - 38.0) / 20.0).powi(2);
                if (dp <= 1.0 || dq <= 1.0) && l == VISCERAL_FAT || dq <= 1.0 && l == MUSCLE {
                    return Some((MUSCLE, self.val(MUSCLE, p, 6.0, 0.08)));
                }
            }
            None
        });
    }

    fn paint_ribs(&self, c: &mut Canvas, rng: &mut ChaCha8Rng) {
        let an = self.an;
        let [a, b] = an.body;
        let inset = an.fat_mm + an.muscle_mm * 0.5;
        let (ea, eb) = (a - inset, b - inset * 0.7);
        let lowest = rng.random_range(5.0..30.0);
        for k in 0..10 {
            let z_post = lowest + 40.0 + 24.0 * k as f64;
            for side in [-1.0, 1.0] {
                let span = rng.random_range(0.55..0.85) * std::f64::consts::PI;
                let ctrl: Vec<TubePoint> = (0..7)
                    .map(|i| {
                        let t = i as f64 / 6.0;
                        let th = std::f64::consts::FRAC_PI_2 - t * span; // from posterior towards anterior
                        TubePoint {
                            c: [side * ea * th.cos(), eb * th.sin(), z_post - 95.0 * t],
                            r: self.form.rib_radius_mm,
                        }
                    })
                    .collect();
                let pts = spline(&ctrl, 2.0);
                c.paint_tube(
                    &pts,
                    0.0,
                    |_| 1.0,
                    |p, l, _| {
                        (l != BACKGROUND)
                            .then(|| (BONE_CORTEX, self.val(BONE_CORTEX, p, 80.0, 0.1)))
                    },
                );
                c.paint_tube(
                    &pts,
                    -self.form.rib_cortex_mm,
                    |_| 1.0,
                    |p, l, _| {
                        (l == BONE_CORTEX)
                            .then(|| (BONE_MARROW, self.val(BONE_MARROW, p, 40.0, 0.1)))
                    },
                );
            }
        }
    }

    fn paint_colon(&self, c: &mut Canvas, rng: &mut ChaCha8Rng) {
        let [a, b] = self.an.body;
        let r = rng.random_range(18.0..25.0) * self.form.bowel_scale;
        let inner_a = a - self.an.fat_mm - self.an.muscle_mm - r - 4.0;
        let inner_b = b - self.an.fat_mm - self.an.muscle_mm - r - 4.0;
        let sag = rng.random_range(10.0..40.0);
        let ctrl = vec![
            TubePoint {
                c: [-inner_a, -inner_b * 0.1, -200.0],
                r,
            },
            TubePoint {
                c: [-inner_a, -inner_b * 0.2, 0.0],
                r,
            },
            TubePoint {
                c: [-inner_a * 0.8, -inner_b * 0.55, 25.0 + j(rng, 10.0)],
                r,
            },
            TubePoint {
                c: [0.0, -inner_b * 0.9, 10.0 - sag],
                r,
            },
            TubePoint {
                c: [inner_a * 0.8, -inner_b * 0.5, 45.0 + j(rng, 10.0)],
                r,
            },
            TubePoint {
                c: [inner_a, inner_b * 0.05, 20.0],
                r: r * 0.8,
            },
            TubePoint {
                c: [inner_a, inner_b * 0.1, -200.0],
                r: r * 0.8,
            },
        ];
        let kind = Content::draw(rng, self.an.oral_contrast, true);
        self.tube_wall_content(
            c,
            &spline(&ctrl, 3.0),
            3.0,
            COLON_WALL,
            COLON_CONTENT,
            kind,
            bowel_bed,
        );
    }

    fn paint_small_bowel(&self, c: &mut Canvas, rng: &mut ChaCha8Rng) {
        let an = self.an;
        let [a, b] = an.body;
        let ya = an.aorta[1] - an.aorta[2];
        let loops = rng.random_range(14..20);
        for k in 0..loops {
            // jejunum near the pancreas body/tail (left, anterior), ileum lower down
            let jejunum = k < 5;
            let (xr, yr, zr) = if jejunum {
                ((0.0, a * 0.6), (-b * 0.75, ya - 38.0), (-35.0, 30.0))
            } else {
                (
                    (-a * 0.55, a * 0.55),
                    (-b * 0.8, ya - 15.0),
                    (-220.0, -25.0),
                )
            };
            let r = rng.random_range(9.0..13.0) * self.form.bowel_scale;
            let p = [
                rng.random_range(xr.0..xr.1),
                rng.random_range(yr.0..yr.1),
                rng.random_range(zr.0..zr.1),
            ];
            let mut ctrl = wander(rng, p, [xr, yr, zr], 8..14, 24.0, r);
            let kind = Content::draw(rng, an.oral_contrast, false);
            let (wall_mm, kind) = self.small_bowel_state(rng, &mut ctrl, kind);
            self.tube_wall_content(
                c,
                &spline(&ctrl, 3.0),
                wall_mm,
                SMALL_BOWEL_WALL,
                SMALL_BOWEL_CONTENT,
                kind,
                bowel_bed,
            );
        }
    }

    fn paint_stomach(&self, c: &mut Canvas, rng: &mut ChaCha8Rng) {
        let [a, b] = self.an.body;
        let center = [
            a * 0.28 + j(rng, 8.0),
            -b * 0.3 + j(rng, 6.0),
            70.0 + j(rng, 10.0),
        ];
        let axes = [
            rng.random_range(40.0..55.0),
            rng.random_range(28.0..38.0),
            rng.random_range(45.0..60.0),
        ];
        let kind = Content::draw(rng, self.an.oral_contrast, false);
        let air_level = center[1] - axes[1] * rng.random_range(0.2..0.8);
        let tex = self.tex;
        self.ellipsoid(c, center, axes, 0.5, 0.12, |p, l, r| {
            if !is_soft_background(l) {
                return None;
            }
            let inner = r < 1.0 - 4.5 / axes[1];
            Some(if !inner {
                (STOMACH_WALL, self.val(STOMACH_WALL, p, 6.0, 0.1))
            } else if p[1] < air_level {
                (STOMACH_CONTENT, Content::Air.hu(tex.at(p, 0.1)) as f32)
            } else {
                (STOMACH_CONTENT, kind.hu(tex.at(p, 0.1)) as f32)
            })
        });
    }

    fn paint_liver(&self, c: &mut Canvas) {
        let [a, b] = self.an.body;
        let ls = self.form.liver_scale;
        let right = [-a * 0.42, -b * 0.05, 75.0];
        let axes_r = [a * 0.5 * ls, b * 0.8 * ls, 85.0 * ls];
        let left = [a * 0.02, -b * 0.45, 90.0];
        let axes_l = [a * 0.35 * ls, b * 0.3 * ls, 45.0 * ls];
        for (ctr, ax) in [(right, axes_r), (left, axes_l)] {
            self.ellipsoid(c, ctr, ax, 0.0, 0.1, |p, l, _| {
                (is_soft_background(l) || l == LIVER)
                    .then(|| (LIVER, self.val(LIVER, p, 8.0, 0.06)))
            });
        }
    }

    fn paint_spleen(&self, c: &mut Canvas) {
        let [a, b] = self.an.body;
        let center = [a * 0.55, b * 0.3, 50.0];
        self.ellipsoid(c, center, [26.0, 55.0, 50.0], 0.6, 0.1, |p, l, _| {
            is_soft_background(l).then(|| (SPLEEN, self.val(SPLEEN, p, 7.0, 0.07)))
        });
    }

    fn paint_kidneys(&self, c: &mut Canvas, rng: &mut ChaCha8Rng) {
        let yv = self.an.vertebra_y;
        for (sx, dz) in [(1.0, -15.0), (-1.0, -30.0)] {
            let center = [
                sx * (62.0 + j(rng, 5.0)),
                yv + 8.0 + j(rng, 5.0),
                dz + j(rng, 10.0),
            ];
            let axes = [28.0 + j(rng, 3.0), 24.0 + j(rng, 3.0), 52.0 + j(rng, 6.0)];
            let yaw = sx * 0.5;
            self.ellipsoid(c, center, axes, yaw, 0.05, |p, l, r| {
                if !(is_soft_background(l) || l == MUSCLE) || (l == MUSCLE && r > 0.8) {
                    return None;
                }
                Some(if r < 0.62 {
                    (KIDNEY_MEDULLA, self.val(KIDNEY_MEDULLA, p, 8.0, 0.1))
                } else {
                    (KIDNEY_CORTEX, self.val(KIDNEY_CORTEX, p, 8.0, 0.1))
                })
            });
        }
    }

    fn paint_duodenum(&self, c: &mut Canvas, rng: &mut ChaCha8Rng) {
        let an = self.an;
        let head = an.pancreas_ctrl[1];
        let hr = head.r * an.pancreas_scale;
        let (xa, ya) = (an.aorta[0], an.aorta[1] - an.aorta[2]);
        let r = rng.random_range(9.0..12.5) * self.form.bowel_scale.sqrt();
        let ctrl = vec![
            TubePoint {
                c: [xa - 10.0, ya - 60.0, 28.0],
                r,
            },
            TubePoint {
                c: [head.c[0] - 8.0, head.c[1] - hr - 12.0, 22.0],
                r,
            },
            TubePoint {
                c: [head.c[0] - hr - r - 2.0, head.c[1], head.c[2] + 12.0],
                r,
            },
            TubePoint {
                c: [head.c[0] - hr - r - 1.0, head.c[1] + 6.0, head.c[2] - 20.0],
                r,
            },
            TubePoint {
                c: [head.c[0], ya - 4.0 - r, -44.0],
                r,
            },
            TubePoint {
                c: [xa + 22.0, ya - 20.0, -38.0],
                r,
            },
            TubePoint {
                c: [xa + 34.0, ya - 36.0, -14.0],
                r,
            },
        ];
        let kind = Content::draw(rng, an.oral_contrast, false);
        self.tube_wall_content(
            c,
            &spline(&ctrl, 2.0),
            2.5,
            DUODENUM_WALL,
            DUODENUM_CONTENT,
            kind,
            bowel_bed,
        );
    }

    fn paint_pancreas(&self, c: &mut Canvas) {
        let an = self.an;
        let line = an.pancreas_line(1.0);
        let shape = self.shape;
        let tex = self.tex;
        let fi = an.fatty_infiltration;
        let fat = self.hu.mean[VISCERAL_FAT as usize];
        let mean = self.hu.mean[PANCREAS as usize] * (1.0 - 0.35 * fi) + fat * 0.35 * fi;
        let cleft_thr = 0.88 - 0.3 * fi;
        c.paint_tube(
            &line,
            0.0,
            |p| lobulation(&shape, p),
            |p, l, _| {
                if matches!(l, BONE_CORTEX | BONE_MARROW | AORTA | DISC | SPINAL_CANAL) {
                    return None;
                }
                // lobules with fat between them: a ridged noise field pulls HU towards fat
                let ridge = 1.0 - tex.at(p, 0.22).abs() * 2.0;
                let w = 0.65 * ((ridge - cleft_thr) / 0.06).clamp(0.0, 1.0);
                let v = mean + 8.0 * tex.at(shift(p, 99), 0.12);
                Some((PANCREAS, (v * (1.0 - w) + fat * w) as f32))
            },
        );
    }

    /// Jejunal and ileal branches of the SMA/SMV: thin vessels fanning out through the
    /// mesenteric fat towards the bowel loops (bright dots and lines in the fat, as in real CT).
    fn paint_mesenteric_vessels(&self, c: &mut Canvas, rng: &mut ChaCha8Rng) {
        let an = self.an;
        let [a, b] = an.body;
        let (xa, ya) = (an.aorta[0], an.aorta[1] - an.aorta[2]);
        for k in 0..rng.random_range(10..16) {
            let label = if k % 2 == 0 { SMA } else { SMV };
            let z0 = rng.random_range(-160.0..-15.0);
            let mut p = [xa - 12.0 + j(rng, 4.0), ya - 24.0, z0];
            let target = [
                j(rng, a * 0.55),
                -b * rng.random_range(0.3..0.75),
                z0 + j(rng, 30.0),
            ];
            let mut ctrl = vec![TubePoint { c: p, r: 2.2 }];
            for s in 1..6 {
                let t = s as f64 / 5.0;
                for d in 0..3 {
                    p[d] += (target[d] - p[d]) * t * 0.6 + j(rng, 6.0);
                }
                ctrl.push(TubePoint {
                    c: p,
                    r: 2.2 - 1.0 * t,
                });
            }
            c.paint_tube(
                &spline(&ctrl, 1.0),
                0.0,
                |_| 1.0,
                |p, l, _| (l == VISCERAL_FAT).then(|| (label, self.val(label, p, 6.0, 0.1))),
            );
        }
    }

    fn paint_vessels(&self, c: &mut Canvas) {
        let an = self.an;
        let [xa, ya0, ra] = an.aorta;
        let ya = ya0 - ra;
        let big = 400.0;
        let vessel = |label: u8| {
            move |p: [f64; 3], l: u8, _: usize| {
                (!matches!(l, BONE_CORTEX | BONE_MARROW | BACKGROUND))
                    .then(|| (label, self.val(label, p, 6.0, 0.1)))
            }
        };
        let straight = |x: f64, y: f64, r: f64| {
            vec![
                TubePoint { c: [x, y, -big], r },
                TubePoint { c: [x, y, big], r },
            ]
        };
        c.paint_tube(
            &spline(&straight(xa, ya0, ra), 4.0),
            0.0,
            |_| 1.0,
            vessel(AORTA),
        );
        // IVC: an ellipse-ish tube from two offset lines
        for dx in [-3.0, 3.0] {
            c.paint_tube(
                &spline(&straight(an.ivc[0] + dx, an.ivc[1], 9.0), 4.0),
                0.0,
                |_| 1.0,
                vessel(IVC),
            );
        }
        let sma = vec![
            TubePoint {
                c: [xa, ya + 2.0, 12.0],
                r: 3.5,
            },
            TubePoint {
                c: [xa, ya - 12.0, 4.0],
                r: 3.5,
            },
            TubePoint {
                c: [xa - 2.0, ya - 20.0, -20.0],
                r: 3.2,
            },
            TubePoint {
                c: [xa - 5.0, ya - 24.0, -big],
                r: 3.0,
            },
        ];
        c.paint_tube(&spline(&sma, 1.5), 0.0, |_| 1.0, vessel(SMA));
        let conf = [xa - 18.0, ya - 18.0, 2.0];
        let smv = vec![
            TubePoint {
                c: [xa - 16.0, ya - 26.0, -big],
                r: 5.0,
            },
            TubePoint {
                c: [xa - 17.0, ya - 24.0, -20.0],
                r: 5.5,
            },
            TubePoint { c: conf, r: 6.0 },
        ];
        c.paint_tube(&spline(&smv, 1.5), 0.0, |_| 1.0, vessel(SMV));
        let [a, b] = an.body;
        let portal = vec![
            TubePoint { c: conf, r: 6.5 },
            TubePoint {
                c: [conf[0] - 20.0, conf[1] - 5.0, 25.0],
                r: 6.5,
            },
            TubePoint {
                c: [-a * 0.3, -b * 0.05, 55.0],
                r: 5.0,
            },
        ];
        c.paint_tube(&spline(&portal, 1.5), 0.0, |_| 1.0, vessel(PORTAL_VEIN));
        // splenic vein: behind the pancreas from the confluence to the splenic hilum
        let line = an.pancreas_line(4.0);
        let neck = an.pancreas_ctrl[2].c;
        let start = line.iter().position(|p| p.c[0] >= neck[0]).unwrap_or(0);
        let mut sv = vec![TubePoint { c: conf, r: 4.5 }];
        for p in &line[start..] {
            sv.push(TubePoint {
                c: [p.c[0], p.c[1] + p.r * 0.85 + 3.0, p.c[2] + 1.0],
                r: 4.0,
            });
        }
        sv.push(TubePoint {
            c: [a * 0.5, b * 0.25, 40.0],
            r: 4.0,
        });
        c.paint_tube(&spline(&sv, 1.5), 0.0, |_| 1.0, vessel(SPLENIC_VEIN));
    }
}

/// Where the classic profile's bowel may lie: anything but bone, muscle, subcutaneous fat, air,
/// disc and spinal canal.
fn bowel_bed(l: u8) -> bool {
    !matches!(
        l,
        BONE_CORTEX | BONE_MARROW | MUSCLE | SUBCUTANEOUS_FAT | BACKGROUND | DISC | SPINAL_CANAL
    )
}

/// A bowel loop as a random walk from `start`: the direction is drawn first, then `steps`
/// control points `stride` mm apart, turning smoothly and bouncing off the `ranges` (x, y, z).
pub fn wander(
    rng: &mut ChaCha8Rng,
    start: [f64; 3],
    ranges: [(f64, f64); 3],
    steps: std::ops::Range<usize>,
    stride: f64,
    r: f64,
) -> Vec<TubePoint> {
    let mut p = start;
    let mut dir: [f64; 3] = [j(rng, 1.0), j(rng, 1.0), j(rng, 0.6)];
    let mut ctrl = Vec::new();
    for _ in 0..rng.random_range(steps) {
        ctrl.push(TubePoint { c: p, r });
        for (d, v) in dir.iter_mut().enumerate() {
            *v = 0.55 * *v + j(rng, 1.0) * if d == 2 { 0.6 } else { 1.0 };
        }
        let n = (dir[0] * dir[0] + dir[1] * dir[1] + dir[2] * dir[2])
            .sqrt()
            .max(1e-6);
        for (d, (lo, hi)) in ranges.iter().enumerate() {
            p[d] += dir[d] / n * stride;
            if p[d] < *lo || p[d] > *hi {
                dir[d] = -dir[d];
                p[d] = p[d].clamp(*lo, *hi);
            }
        }
    }
    ctrl
}

/// Radius factor of the lobulated pancreas outline at `p`.
pub fn lobulation(shape: &ValueNoise, p: [f64; 3]) -> f64 {
    1.0 + 0.16 * shape.at(p, 0.12) + 0.08 * shape.at(shift(p, 7), 0.3)
}

fn shift(p: [f64; 3], label: u8) -> [f64; 3] {
    let o = label as f64 * 37.7;
    [p[0] + o, p[1] - o, p[2] + 0.5 * o]
}

/// Seeds of the noise fields of a case.
pub fn noise_fields(seed: u64) -> (ValueNoise, ValueNoise) {
    (
        ValueNoise::new(derive(seed, 1)),
        ValueNoise::new(derive(seed, 2)),
    )
}
