//! The inputs of every network, implemented once here and used by both training
//! (`pancseg-train`) and inference, so the two can never drift apart.
//!
//! - **P-ConvNet**: a 2.5D patch at a voxel: the axial, coronal and sagittal planes through its
//!   centre as 3 channels of `size x size` pixels sampled every `pixel_mm` millimetres
//!   (trilinear), so anisotropic voxels give the same anatomy. Plane axes (patient LPS):
//!   axial rows +y (posterior down), columns +x (patient left to the right);
//!   coronal rows -z (superior up), columns +x; sagittal rows -z, columns +y.
//! - **R-ConvNet**: for a superpixel, its in-slice bounding box (in mm, grown to at least
//!   `floor_mm` on each side around its centre), scaled by each of the zoom-out factors
//!   (Ns = 4: 1, 1.5, 2, 3 by default) and warped to `size x size` (64) by bilinear sampling of
//!   its axial slice. R1 takes the CT channel; R2 takes CT plus the P0 map over the same box.
//! - **Boundary ConvNet** (CRF): the union box of two neighbouring superpixels, grown by
//!   `context` and to the floor, warped to `size x size` with 3 channels: CT, the mask of the
//!   first and the mask of the second superpixel (nearest sampling for masks); bundles with
//!   `boundary_p0` add the P0 map over the box after the CT (4 channels), so that the network
//!   judges the edge between the two from what the P-ConvNet sees on either side.
//!
//! HU normalisation (every network): `(clamp(HU, -160, 240) + 160) / 400 - 0.5`, in [-0.5, 0.5].
//! Outside the volume the CT reads as air (-1000 HU, so -0.5) and maps read 0.
//! An optional thin-plate-spline warp ([`crate::pipeline::convnets::tps::Tps`]) deforms the sampling grid of each
//! plane or box (training augmentation); `None` is the plain sampling used at inference.
//! Positions assume the canonical LPS orientation that the pipeline establishes.

use crate::pipeline::candidates::superpixels::Superpixel;
use crate::pipeline::convnets::prob_map::MapCrop;
use crate::pipeline::convnets::tps::Tps;
use crate::volume::Volume;
use ndarray::Array3;
use serde::{Deserialize, Serialize};

/// HU window of the normalisation.
pub const HU_WINDOW: (f32, f32) = (-160.0, 240.0);

/// Normalised value of a HU.
#[inline]
pub fn normalise_hu(hu: f32) -> f32 {
    (hu.clamp(HU_WINDOW.0, HU_WINDOW.1) - HU_WINDOW.0) / (HU_WINDOW.1 - HU_WINDOW.0) - 0.5
}

/// Geometry of the P-ConvNet patch.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PatchGeometry {
    pub size: usize,
    pub pixel_mm: f64,
}

impl Default for PatchGeometry {
    /// 32 x 32 pixels of 1.5 mm: a 48 mm field of view per plane.
    fn default() -> Self {
        PatchGeometry {
            size: 32,
            pixel_mm: 1.5,
        }
    }
}

/// Geometry of the R-ConvNet and boundary ConvNet boxes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegionGeometry {
    pub size: usize,
    /// Zoom-out factors (Ns = their count).
    pub scales: Vec<f64>,
    /// Smallest side (mm) of the unscaled box.
    pub floor_mm: f64,
    /// Growth of the boundary ConvNet's union box.
    pub context: f64,
    /// The boundary ConvNet also reads the P0 map over its box (4 channels: CT, P0, mask a,
    /// mask b), as R2 does over its boxes; bundles without the field read 3 channels (CT and the
    /// masks).
    #[serde(default)]
    pub boundary_p0: bool,
}

impl RegionGeometry {
    /// Input channels of the boundary ConvNet.
    pub fn boundary_channels(&self) -> usize {
        3 + usize::from(self.boundary_p0)
    }
}

impl Default for RegionGeometry {
    /// 64 x 64, scales 1, 1.5, 2, 3, floor 16 mm, boundary context 1.5.
    fn default() -> Self {
        RegionGeometry {
            size: 64,
            scales: vec![1.0, 1.5, 2.0, 3.0],
            floor_mm: 16.0,
            context: 1.5,
            boundary_p0: false,
        }
    }
}

/// Trilinear sample of the CT (HU) at a continuous voxel index (x, y, z); air outside.
fn trilinear(ct: &Array3<f32>, x: f64, y: f64, z: f64) -> f32 {
    let (nz, ny, nx) = ct.dim();
    if !(x > -1.0 && y > -1.0 && z > -1.0 && x < nx as f64 && y < ny as f64 && z < nz as f64) {
        return -1000.0;
    }
    let (x0, y0, z0) = (x.floor(), y.floor(), z.floor());
    let (fx, fy, fz) = ((x - x0) as f32, (y - y0) as f32, (z - z0) as f32);
    let get = |xi: f64, yi: f64, zi: f64| -> f32 {
        if xi < 0.0 || yi < 0.0 || zi < 0.0 || xi >= nx as f64 || yi >= ny as f64 || zi >= nz as f64
        {
            -1000.0
        } else {
            ct[[zi as usize, yi as usize, xi as usize]]
        }
    };
    let mut v = 0.0f32;
    for (dz, wz) in [(0.0, 1.0 - fz), (1.0, fz)] {
        for (dy, wy) in [(0.0, 1.0 - fy), (1.0, fy)] {
            for (dx, wx) in [(0.0, 1.0 - fx), (1.0, fx)] {
                let w = wx * wy * wz;
                if w != 0.0 {
                    v += w * get(x0 + dx, y0 + dy, z0 + dz);
                }
            }
        }
    }
    v
}

/// Bilinear sample of a 2D slice `[y][x]` at continuous (x, y); `outside` beyond the slice.
fn bilinear(slice: ndarray::ArrayView2<f32>, x: f64, y: f64, outside: f32) -> f32 {
    let (ny, nx) = slice.dim();
    let (x0, y0) = (x.floor(), y.floor());
    let (fx, fy) = ((x - x0) as f32, (y - y0) as f32);
    let get = |xi: f64, yi: f64| -> f32 {
        if xi < 0.0 || yi < 0.0 || xi >= nx as f64 || yi >= ny as f64 {
            outside
        } else {
            slice[[yi as usize, xi as usize]]
        }
    };
    (1.0 - fy) * ((1.0 - fx) * get(x0, y0) + fx * get(x0 + 1.0, y0))
        + fy * ((1.0 - fx) * get(x0, y0 + 1.0) + fx * get(x0 + 1.0, y0 + 1.0))
}

/// Writes the 3-channel 2.5D patch centred on voxel (x, y, z) into `out` (3 * size * size,
/// channel-major: axial, coronal, sagittal).
pub fn p_patch(
    ct: &Volume,
    center: [usize; 3],
    g: &PatchGeometry,
    warp: Option<&Tps>,
    out: &mut [f32],
) {
    let s = g.size;
    let sp = ct.geometry.spacing;
    if warp.is_none() {
        if let Some(data) = ct.data.as_slice() {
            return p_patch_separable(data, ct.data.dim(), sp, center, g, out);
        }
    }
    let half = (s as f64 - 1.0) / 2.0;
    let (cx, cy, cz) = (center[0] as f64, center[1] as f64, center[2] as f64);
    for plane in 0..3 {
        for r in 0..s {
            for c in 0..s {
                let (mut u, mut v) = (c as f64, r as f64);
                if let Some(t) = warp {
                    let d = t.displacement([u / (s - 1) as f64, v / (s - 1) as f64]);
                    u += d[0] * (s - 1) as f64;
                    v += d[1] * (s - 1) as f64;
                }
                let (du, dv) = ((u - half) * g.pixel_mm, (v - half) * g.pixel_mm);
                let (x, y, z) = match plane {
                    0 => (cx + du / sp[0], cy + dv / sp[1], cz),
                    1 => (cx + du / sp[0], cy, cz - dv / sp[2]),
                    _ => (cx, cy + du / sp[1], cz - dv / sp[2]),
                };
                out[plane * s * s + r * s + c] = normalise_hu(trilinear(&ct.data, x, y, z));
            }
        }
    }
}

/// One sampling position along a patch axis: whether it lies in (-1, n), its floor and
/// fraction, as [`trilinear`] computes them.
#[derive(Clone, Copy)]
struct AxisSample {
    inside: bool,
    i0: i64,
    f: f32,
}

/// The positions `centre + sign * offset / spacing` (voxels) of a patch axis on a volume axis of
/// `n` voxels; `sign` is 1 or -1 (an exact negation, so `centre - offset / spacing` for -1).
fn axis_samples(
    centre: usize,
    offsets_mm: &[f64],
    spacing: f64,
    sign: f64,
    n: usize,
) -> Vec<AxisSample> {
    offsets_mm
        .iter()
        .map(|&d| {
            let c = centre as f64 + sign * (d / spacing);
            let c0 = c.floor();
            AxisSample {
                inside: c > -1.0 && c < n as f64,
                i0: c0 as i64,
                f: (c - c0) as f32,
            }
        })
        .collect()
}

/// [`p_patch`] without a warp, on a contiguous volume: each plane's sampling grid is separable
/// and the plane's third coordinate is the centre voxel's own, so positions and fractions are
/// computed once per row and column and a sample reads 4 voxels instead of testing 8 weights.
/// The same arithmetic as [`trilinear`] term for term (the weights along the fixed axis are
/// exactly 1 and 0, and the zero-weight terms are skipped there too), so the values are
/// bit-identical (tested against the general path).
fn p_patch_separable(
    data: &[f32],
    dims: (usize, usize, usize),
    sp: [f64; 3],
    center: [usize; 3],
    g: &PatchGeometry,
    out: &mut [f32],
) {
    let s = g.size;
    let (nz, ny, nx) = dims;
    let half = (s as f64 - 1.0) / 2.0;
    let offsets: Vec<f64> = (0..s).map(|i| (i as f64 - half) * g.pixel_mm).collect();
    // columns run +x (axial, coronal) or +y (sagittal); rows +y (axial) or -z (superior up)
    let xs = axis_samples(center[0], &offsets, sp[0], 1.0, nx);
    let ys = axis_samples(center[1], &offsets, sp[1], 1.0, ny);
    let zs = axis_samples(center[2], &offsets, sp[2], -1.0, nz);
    let plane_xy = nx * ny;
    // per plane: column axis (samples, length, stride), row axis (same), fixed-voxel offset
    let planes = [
        (&xs, (nx, 1), &ys, (ny, nx), center[2] * plane_xy),
        (&xs, (nx, 1), &zs, (nz, plane_xy), center[1] * nx),
        (&ys, (ny, nx), &zs, (nz, plane_xy), center[0]),
    ];
    for (plane, (cols, (na, sa), rows, (nb, sb), base)) in planes.iter().enumerate() {
        let out = &mut out[plane * s * s..(plane + 1) * s * s];
        for (r, b) in rows.iter().enumerate() {
            for (c, a) in cols.iter().enumerate() {
                let hu = if !(a.inside && b.inside) {
                    -1000.0
                } else {
                    let mut v = 0.0f32;
                    for (db, wb) in [(0i64, 1.0 - b.f), (1, b.f)] {
                        for (da, wa) in [(0i64, 1.0 - a.f), (1, a.f)] {
                            let w = wa * wb;
                            if w != 0.0 {
                                let (ia, ib) = (a.i0 + da, b.i0 + db);
                                let x = if ia < 0 || ib < 0 || ia >= *na as i64 || ib >= *nb as i64
                                {
                                    -1000.0
                                } else {
                                    data[base + ia as usize * sa + ib as usize * sb]
                                };
                                v += w * x;
                            }
                        }
                    }
                    v
                };
                out[r * s + c] = normalise_hu(hu);
            }
        }
    }
}

/// The box (x0, y0, x1, y1) in continuous pixel coordinates of a superpixel at one scale.
pub fn region_box(sp: &Superpixel, spacing: [f64; 3], g: &RegionGeometry, scale: f64) -> [f64; 4] {
    let cx = (sp.bbox[0] + sp.bbox[2]) as f64 / 2.0;
    let cy = (sp.bbox[1] + sp.bbox[3]) as f64 / 2.0;
    let w = ((sp.bbox[2] - sp.bbox[0] + 1) as f64 * spacing[0]).max(g.floor_mm) * scale;
    let h = ((sp.bbox[3] - sp.bbox[1] + 1) as f64 * spacing[1]).max(g.floor_mm) * scale;
    let (hw, hh) = (w / spacing[0] / 2.0, h / spacing[1] / 2.0);
    [cx - hw, cy - hh, cx + hw, cy + hh]
}

/// Warps the box of an axial slice into `size x size` samples of `f(x, y)`.
fn warp_box(
    b: [f64; 4],
    size: usize,
    warp: Option<&Tps>,
    mut f: impl FnMut(f64, f64) -> f32,
    out: &mut [f32],
) {
    let n = (size - 1).max(1) as f64;
    for r in 0..size {
        for c in 0..size {
            let (mut u, mut v) = (c as f64 / n, r as f64 / n);
            if let Some(t) = warp {
                let d = t.displacement([u, v]);
                u += d[0];
                v += d[1];
            }
            let x = b[0] + u * (b[2] - b[0]);
            let y = b[1] + v * (b[3] - b[1]);
            out[r * size + c] = f(x, y);
        }
    }
}

/// [`warp_box`] of `post(bilinear(slice, x, y, outside))` without a warp: the sampling grid is
/// separable, so column positions and weights are computed once per box, not per sample. Same
/// arithmetic as the general path, so the values are bit-identical (tested).
/// `offset` (in pixels) is subtracted from the box positions (maps held as crops).
fn bilinear_box(
    slice: ndarray::ArrayView2<f32>,
    b: [f64; 4],
    offset: (f64, f64),
    size: usize,
    outside: f32,
    post: impl Fn(f32) -> f32,
    out: &mut [f32],
) {
    let n = (size - 1).max(1) as f64;
    let (ny, nx) = slice.dim();
    let (ny, nx) = (ny as i64, nx as i64);
    let cols: Vec<(i64, f32)> = (0..size)
        .map(|c| {
            let x = b[0] + (c as f64 / n) * (b[2] - b[0]) - offset.0;
            let x0 = x.floor();
            (x0 as i64, (x - x0) as f32)
        })
        .collect();
    let get = |xi: i64, yi: i64| -> f32 {
        if xi < 0 || yi < 0 || xi >= nx || yi >= ny {
            outside
        } else {
            slice[[yi as usize, xi as usize]]
        }
    };
    for r in 0..size {
        let y = b[1] + (r as f64 / n) * (b[3] - b[1]) - offset.1;
        let y0 = y.floor();
        let (yi, fy) = (y0 as i64, (y - y0) as f32);
        let row = &mut out[r * size..(r + 1) * size];
        for (o, &(xi, fx)) in row.iter_mut().zip(&cols) {
            let v = (1.0 - fy) * ((1.0 - fx) * get(xi, yi) + fx * get(xi + 1, yi))
                + fy * ((1.0 - fx) * get(xi, yi + 1) + fx * get(xi + 1, yi + 1));
            *o = post(v);
        }
    }
}

/// CT channel of a box: HU sampled bilinearly (air outside), normalised.
fn ct_box(
    slice: ndarray::ArrayView2<f32>,
    b: [f64; 4],
    size: usize,
    warp: Option<&Tps>,
    out: &mut [f32],
) {
    match warp {
        None => bilinear_box(slice, b, (0.0, 0.0), size, -1000.0, normalise_hu, out),
        Some(_) => warp_box(
            b,
            size,
            warp,
            |x, y| normalise_hu(bilinear(slice, x, y, -1000.0)),
            out,
        ),
    }
}

/// R-ConvNet input of one superpixel at one scale: CT (1 channel) or CT + P0 (2 channels,
/// when `p0` is given), each `size x size`, written to `out`.
pub fn r_input(
    ct: &Volume,
    p0: Option<&MapCrop>,
    sp: &Superpixel,
    g: &RegionGeometry,
    scale: f64,
    warp: Option<&Tps>,
    out: &mut [f32],
) {
    let b = region_box(sp, ct.geometry.spacing, g, scale);
    let s = g.size;
    let slice = ct.data.index_axis(ndarray::Axis(0), sp.slice);
    ct_box(slice, b, s, warp, &mut out[..s * s]);
    if let Some(p) = p0 {
        map_box(p, sp.slice, b, s, warp, &mut out[s * s..2 * s * s]);
    }
}

/// The P0 map over box `b` of slice `z` (bilinear; 0 outside the map), `size x size`.
fn map_box(p: &MapCrop, z: usize, b: [f64; 4], size: usize, warp: Option<&Tps>, out: &mut [f32]) {
    match p.slice(z) {
        Some(ps) => {
            let (ox, oy) = (p.offset[0] as f64, p.offset[1] as f64);
            match warp {
                None => bilinear_box(ps, b, (ox, oy), size, 0.0, |v| v, out),
                Some(_) => warp_box(b, size, warp, |x, y| bilinear(ps, x - ox, y - oy, 0.0), out),
            }
        }
        None => out.fill(0.0),
    }
}

/// Boundary ConvNet input of neighbouring superpixels `a` and `b` (same slice): CT, mask of a,
/// mask of b (3 x size x size), or CT, P0, mask of a, mask of b (4 x size x size) when `p0` is
/// given (bundles with [`RegionGeometry::boundary_p0`]). `labels` is the superpixel label volume.
#[allow(clippy::too_many_arguments)]
pub fn boundary_input(
    ct: &Volume,
    p0: Option<&MapCrop>,
    labels: &Array3<u32>,
    a: &Superpixel,
    b: &Superpixel,
    g: &RegionGeometry,
    warp: Option<&Tps>,
    out: &mut [f32],
) {
    let sp = ct.geometry.spacing;
    let x0 = a.bbox[0].min(b.bbox[0]) as f64;
    let y0 = a.bbox[1].min(b.bbox[1]) as f64;
    let x1 = a.bbox[2].max(b.bbox[2]) as f64;
    let y1 = a.bbox[3].max(b.bbox[3]) as f64;
    let (cx, cy) = ((x0 + x1) / 2.0, (y0 + y1) / 2.0);
    let w = (((x1 - x0 + 1.0) * sp[0]) * g.context).max(g.floor_mm);
    let h = (((y1 - y0 + 1.0) * sp[1]) * g.context).max(g.floor_mm);
    let bx = [
        cx - w / sp[0] / 2.0,
        cy - h / sp[1] / 2.0,
        cx + w / sp[0] / 2.0,
        cy + h / sp[1] / 2.0,
    ];
    let s = g.size;
    let slice = ct.data.index_axis(ndarray::Axis(0), a.slice);
    let lab = labels.index_axis(ndarray::Axis(0), a.slice);
    let (ny, nx) = lab.dim();
    let nearest = |x: f64, y: f64, id: u32| -> f32 {
        let (xi, yi) = (x.round(), y.round());
        if xi < 0.0 || yi < 0.0 || xi >= nx as f64 || yi >= ny as f64 {
            0.0
        } else {
            f32::from(u8::from(lab[[yi as usize, xi as usize]] == id))
        }
    };
    ct_box(slice, bx, s, warp, &mut out[..s * s]);
    let mut c = 1;
    if let Some(p) = p0 {
        map_box(p, a.slice, bx, s, warp, &mut out[s * s..2 * s * s]);
        c = 2;
    }
    warp_box(
        bx,
        s,
        warp,
        |x, y| nearest(x, y, a.id),
        &mut out[c * s * s..(c + 1) * s * s],
    );
    warp_box(
        bx,
        s,
        warp,
        |x, y| nearest(x, y, b.id),
        &mut out[(c + 1) * s * s..(c + 2) * s * s],
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::candidates::superpixels::{compute_superpixels, SuperpixelConfig};
    use crate::volume::{Geometry, Image, IDENTITY};

    /// A volume of `data` with `spacing`, at the origin, axis-aligned.
    fn volume(data: Array3<f32>, spacing: [f64; 3]) -> Volume {
        Image::new(
            data,
            Geometry {
                spacing,
                origin: [0.0; 3],
                direction: IDENTITY,
            },
        )
        .unwrap()
    }

    fn ramp(spacing: [f64; 3]) -> Volume {
        // HU = 10 * (x_mm + y_mm - z_mm) / 4: a linear ramp in millimetres
        let (nz, ny, nx) = (24, 40, 40);
        let data = Array3::from_shape_fn((nz, ny, nx), |(z, y, x)| {
            ((x as f64 * spacing[0] + y as f64 * spacing[1] - z as f64 * spacing[2]) * 2.5) as f32
        });
        volume(data, spacing)
    }

    #[test]
    fn normalisation_maps_the_window_to_unit_range() {
        assert_eq!(normalise_hu(-1000.0), -0.5);
        assert_eq!(normalise_hu(240.0), 0.5);
        assert_eq!(normalise_hu(40.0), 0.0);
    }

    #[test]
    fn patches_sample_millimetres_not_voxels() {
        // the same anatomy (a ramp in mm) on two grids gives the same patch
        let g = PatchGeometry {
            size: 8,
            pixel_mm: 1.0,
        };
        let a = ramp([1.0, 1.0, 1.0]);
        let b = ramp([0.5, 1.0, 2.0]);
        let (mut pa, mut pb) = (vec![0.0; 3 * 64], vec![0.0; 3 * 64]);
        p_patch(&a, [10, 12, 8], &g, None, &mut pa);
        // voxel (20, 12, 4) of b is at (10, 12, 8) mm like voxel (10, 12, 8) of a
        p_patch(&b, [20, 12, 4], &g, None, &mut pb);
        for (x, y) in pa.iter().zip(&pb) {
            assert!((x - y).abs() < 1e-5, "{x} vs {y}");
        }
        // axial plane: columns go +x, rows +y
        assert!(pa[1] > pa[0] && pa[8] > pa[0]);
        // coronal plane rows go -z (superior up): HU grows downwards since HU falls with z
        assert!(pa[64 + 8] > pa[64]);
    }

    #[test]
    fn region_inputs_have_ns_scales_and_p0_channel() {
        let ct = ramp([2.0, 2.0, 2.5]);
        let set = compute_superpixels(&ct, &SuperpixelConfig::default());
        let sp = &set.superpixels[set.superpixels.len() / 2];
        let g = RegionGeometry::default();
        let boxes: Vec<[f64; 4]> = g
            .scales
            .iter()
            .map(|&s| region_box(sp, ct.geometry.spacing, &g, s))
            .collect();
        for w in boxes.windows(2) {
            assert!(w[1][2] - w[1][0] > w[0][2] - w[0][0]);
        }
        assert!((boxes[0][2] - boxes[0][0]) * 2.0 >= g.floor_mm - 1e-9);
        let p0 = MapCrop::whole(Array3::from_elem(ct.data.dim(), 0.75f32));
        let mut out = vec![0.0; 2 * 64 * 64];
        r_input(&ct, Some(&p0), sp, &g, 1.5, None, &mut out);
        assert!(out[64 * 64..].iter().any(|&v| (v - 0.75).abs() < 1e-6));
        // the same map held as a crop around the superpixel gives the same input
        let (x0, y0) = (sp.bbox[0].saturating_sub(40), sp.bbox[1].saturating_sub(40));
        let crop = MapCrop {
            data: p0
                .data
                .slice(ndarray::s![sp.slice..sp.slice + 1, y0.., x0..])
                .to_owned(),
            offset: [x0, y0, sp.slice],
        };
        let mut out2 = vec![0.0; 2 * 64 * 64];
        r_input(&ct, Some(&crop), sp, &g, 1.5, None, &mut out2);
        assert_eq!(out, out2);
        let nb = set.get(sp.neighbours[0]).unwrap();
        let mut bout = vec![0.0; 3 * 64 * 64];
        boundary_input(&ct, None, &set.labels, sp, nb, &g, None, &mut bout);
        let ma: f32 = bout[64 * 64..2 * 64 * 64].iter().sum();
        let mb: f32 = bout[2 * 64 * 64..].iter().sum();
        assert!(ma > 0.0 && mb > 0.0);
        // the two masks never overlap
        assert!(bout[64 * 64..2 * 64 * 64]
            .iter()
            .zip(&bout[2 * 64 * 64..])
            .all(|(a, b)| a * b == 0.0));
        // with P0: the map is the second channel and the masks follow unchanged
        let mut b4 = vec![0.0; 4 * 64 * 64];
        boundary_input(&ct, Some(&p0), &set.labels, sp, nb, &g, None, &mut b4);
        assert_eq!(b4[..64 * 64], bout[..64 * 64]);
        assert!(b4[64 * 64..2 * 64 * 64].iter().any(|&v| (v - 0.75).abs() < 1e-6));
        assert_eq!(b4[2 * 64 * 64..], bout[64 * 64..]);
    }

    #[test]
    fn the_unwarped_fast_path_equals_the_general_one() {
        let ct = ramp([0.8, 0.8, 2.5]);
        let mut data = ct.data.clone();
        // texture, so bilinear weights matter
        data.indexed_iter_mut()
            .for_each(|((z, y, x), v)| *v += ((x * 7 + y * 13 + z * 3) % 17) as f32 * 9.5);
        let ct = Image::new(data, ct.geometry).unwrap();
        let set = compute_superpixels(&ct, &SuperpixelConfig::default());
        let g = RegionGeometry::default();
        let p0 = MapCrop {
            data: Array3::from_shape_fn((10, 30, 30), |(z, y, x)| (x + y + z) as f32 / 70.0),
            offset: [5, 6, 7],
        };
        let id = Tps::identity();
        for sp in set.superpixels.iter().step_by(7) {
            for &scale in &g.scales {
                let (mut a, mut b) = (vec![0.0; 2 * 64 * 64], vec![0.0; 2 * 64 * 64]);
                r_input(&ct, Some(&p0), sp, &g, scale, None, &mut a);
                r_input(&ct, Some(&p0), sp, &g, scale, Some(&id), &mut b);
                assert_eq!(a, b, "superpixel {} scale {scale}", sp.id);
            }
        }
    }

    #[test]
    fn separable_patches_equal_the_general_path_bit_for_bit() {
        // anisotropic spacing, centres inside, on and near every border
        let (nz, ny, nx) = (13, 17, 19);
        let mut state = 7u64;
        let data = Array3::from_shape_fn((nz, ny, nx), |_| {
            // a fixed pseudo-random sequence (LCG) of HU in [-1100, 1500)
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            -1100.0 + 2600.0 * ((state >> 40) as f32 / (1u64 << 24) as f32)
        });
        let ct = volume(data, [0.7, 0.9, 2.5]);
        let g = PatchGeometry {
            size: 9,
            pixel_mm: 1.3,
        };
        let n = 3 * g.size * g.size;
        for center in [[0, 0, 0], [18, 16, 12], [9, 8, 6], [1, 15, 11], [17, 2, 1]] {
            let (mut fast, mut general) = (vec![0.0f32; n], vec![0.0f32; n]);
            p_patch(&ct, center, &g, None, &mut fast);
            // the general path: an identity warp takes it and changes no position
            p_patch(&ct, center, &g, Some(&Tps::identity()), &mut general);
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&fast), bits(&general), "centre {center:?}");
        }
    }

    #[test]
    fn identity_warp_changes_nothing() {
        let ct = ramp([1.0, 1.0, 1.0]);
        let g = PatchGeometry::default();
        let n = 3 * g.size * g.size;
        let (mut a, mut b) = (vec![0.0; n], vec![0.0; n]);
        p_patch(&ct, [20, 20, 12], &g, None, &mut a);
        p_patch(&ct, [20, 20, 12], &g, Some(&Tps::identity()), &mut b);
        assert_eq!(a, b);
    }
}
