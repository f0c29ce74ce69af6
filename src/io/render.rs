//! Pictures of a CT slice with segmentation outlines, for reports, figures and quick checks.
//!
//! [`render_png`] writes one slice of a CT volume as an RGB PNG: the grey values are a window
//! (centre/width in HU, soft tissue 40/400 by default) and the outlines of up to two masks are
//! drawn on top, one pixel wide: the predicted mask in red `(255, 40, 40)`, the ground truth in
//! green `(40, 220, 40)`, and yellow `(255, 220, 40)` where both outlines fall on the same pixel.
//! An outline pixel is a mask pixel with at least one 4-neighbour outside the mask (or outside the
//! picture). [`render_rgb`] returns the pixels instead, for code that composes its own figures.
//!
//! # Orientation: always radiological
//!
//! Files store voxels in whatever order the scanner or the converter chose (DICOM is usually LPS,
//! NIfTI usually RAS, some files are sagittal or coronal acquisitions). Before slicing, the voxel
//! array is viewed in a canonical LPS order — slices from inferior to superior, rows from anterior
//! to posterior, columns from the patient's right to left — by permuting and flipping the
//! `ndarray` view according to the dominant axis and sign of each direction column (the same
//! reading as [`Geometry::orientation_code`](crate::volume::Geometry::orientation_code)). No voxel
//! value is resampled in this step; oblique directions are treated as their dominant axis. The
//! pictures therefore follow the radiological convention whatever the file's orientation:
//!
//! - axial: the patient's right on the image's left, anterior at the top;
//! - coronal: the patient's right on the image's left, superior at the top;
//! - sagittal: anterior on the image's left, superior at the top.
//!
//! Slice indices (in [`SliceChoice::Index`] and [`RenderInfo::slice`]) count along the canonical
//! axis of the view: axial from inferior to superior, coronal from anterior to posterior, sagittal
//! from the patient's right to left. For an LPS or RAS file the axial index is the file's own
//! slice index `k`.
//!
//! # Pixel aspect
//!
//! CT voxels are rarely cubes (e.g. 0.8 mm in-plane, 2.5 mm between slices). The displayed plane
//! is resampled to square pixels at the finer of its two spacings — bilinear for CT values,
//! nearest neighbour for masks — so a coronal or sagittal picture has the patient's true
//! proportions. A plane with equal spacings is shown voxel for voxel.
//!
//! Masks are read on the CT's grid: they must have the CT's dimensions, and the CT's geometry is
//! used to orient them. Any non-zero mask value is inside the mask.

use crate::error::{Error, Result};
use crate::volume::{Image, Mask, Volume};
use ndarray::{Array3, ArrayView2, ArrayView3, Axis};
use std::path::Path;
use std::str::FromStr;

/// Outline colour of the predicted mask.
pub const MASK_COLOR: [u8; 3] = [255, 40, 40];
/// Outline colour of the ground truth.
pub const TRUTH_COLOR: [u8; 3] = [40, 220, 40];
/// Colour where both outlines coincide (the channel-wise maximum of red and green).
pub const BOTH_COLOR: [u8; 3] = [255, 220, 40];

/// Which plane to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum View {
    /// Transverse plane: patient's right on the left, anterior at the top.
    #[default]
    Axial,
    /// Frontal plane: patient's right on the left, superior at the top.
    Coronal,
    /// Side plane: anterior on the left, superior at the top.
    Sagittal,
}

impl FromStr for View {
    type Err = Error;

    /// Parses `axial`, `coronal` or `sagittal` (case-insensitive).
    fn from_str(s: &str) -> Result<View> {
        match s.to_ascii_lowercase().as_str() {
            "axial" => Ok(View::Axial),
            "coronal" => Ok(View::Coronal),
            "sagittal" => Ok(View::Sagittal),
            _ => Err(Error::InvalidArgument(format!(
                "view '{s}': expected axial, coronal or sagittal"
            ))),
        }
    }
}

impl std::fmt::Display for View {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            View::Axial => "axial",
            View::Coronal => "coronal",
            View::Sagittal => "sagittal",
        })
    }
}

/// Which slice of the view to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SliceChoice {
    /// The slice with the largest truth area; without truth (or with an empty one) the slice with
    /// the largest mask area; without either, the middle slice. Ties go to the lowest index.
    #[default]
    Auto,
    /// This slice, counted along the canonical axis of the view (see the module documentation).
    Index(usize),
}

impl FromStr for SliceChoice {
    type Err = Error;

    /// Parses `auto` or a non-negative slice index.
    fn from_str(s: &str) -> Result<SliceChoice> {
        if s.eq_ignore_ascii_case("auto") {
            return Ok(SliceChoice::Auto);
        }
        s.trim()
            .parse::<usize>()
            .map(SliceChoice::Index)
            .map_err(|_| {
                Error::InvalidArgument(format!(
                    "slice '{s}': expected 'auto' or a non-negative integer"
                ))
            })
    }
}

/// What to draw.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RenderOptions {
    pub view: View,
    pub slice: SliceChoice,
    /// Centre of the grey window in HU (default 40).
    pub window_center: f32,
    /// Width of the grey window in HU (default 400: soft tissue). Finite and positive.
    pub window_width: f32,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            view: View::Axial,
            slice: SliceChoice::Auto,
            window_center: 40.0,
            window_width: 400.0,
        }
    }
}

/// What was drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenderInfo {
    /// The slice shown, counted along the canonical axis of the view.
    pub slice: usize,
    /// Picture width in pixels.
    pub width: usize,
    /// Picture height in pixels.
    pub height: usize,
    /// Number of outline pixels of the mask (including those shared with the truth).
    pub mask_pixels: usize,
    /// Number of outline pixels of the truth (including those shared with the mask).
    pub truth_pixels: usize,
}

/// A rendered picture: RGB bytes, row by row from the top, 3 bytes a pixel.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub info: RenderInfo,
    pub rgb: Vec<u8>,
}

/// Renders the chosen slice and returns `(width, height, rgb)`, RGB bytes row by row from the top.
pub fn render_rgb(
    ct: &Volume,
    mask: Option<&Mask>,
    truth: Option<&Mask>,
    opts: &RenderOptions,
) -> Result<(usize, usize, Vec<u8>)> {
    let r = render(ct, mask, truth, opts)?;
    Ok((r.info.width, r.info.height, r.rgb))
}

/// Renders the chosen slice and writes it to `out` as an 8-bit RGB PNG.
pub fn render_png(
    ct: &Volume,
    mask: Option<&Mask>,
    truth: Option<&Mask>,
    opts: &RenderOptions,
    out: &Path,
) -> Result<RenderInfo> {
    let r = render(ct, mask, truth, opts)?;
    write_rgb_png(out, r.info.width, r.info.height, &r.rgb)?;
    Ok(r.info)
}

/// Writes RGB bytes (row by row from the top) as an 8-bit RGB PNG.
pub fn write_rgb_png(out: &Path, width: usize, height: usize, rgb: &[u8]) -> Result<()> {
    if width.checked_mul(height).and_then(|n| n.checked_mul(3)) != Some(rgb.len()) {
        return Err(Error::InvalidArgument(format!(
            "{} RGB bytes do not make a {width} x {height} picture",
            rgb.len()
        )));
    }
    let too_big = || {
        Error::InvalidArgument(format!(
            "picture of {width} x {height} pixels is too large for PNG"
        ))
    };
    let w = u32::try_from(width).map_err(|_| too_big())?;
    let h = u32::try_from(height).map_err(|_| too_big())?;
    let file = std::fs::File::create(out).map_err(|e| Error::io(out, e))?;
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), w, h);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let png_err = |e: png::EncodingError| match e {
        png::EncodingError::IoError(io) => Error::io(out, io),
        e => Error::io(out, std::io::Error::other(e.to_string())),
    };
    let mut writer = encoder.write_header().map_err(png_err)?;
    writer.write_image_data(rgb).map_err(png_err)?;
    writer.finish().map_err(png_err)
}

/// Renders the chosen slice: the picture and what was drawn.
pub fn render(
    ct: &Volume,
    mask: Option<&Mask>,
    truth: Option<&Mask>,
    opts: &RenderOptions,
) -> Result<Rendered> {
    if !(opts.window_width.is_finite() && opts.window_width > 0.0) {
        return Err(Error::InvalidArgument(format!(
            "window width {} must be finite and positive",
            opts.window_width
        )));
    }
    if !opts.window_center.is_finite() {
        return Err(Error::InvalidArgument(format!(
            "window centre {} must be finite",
            opts.window_center
        )));
    }
    for (name, m) in [("mask", mask), ("truth", truth)] {
        if let Some(m) = m {
            if m.data.dim() != ct.data.dim() {
                return Err(Error::InvalidArgument(format!(
                    "{name} dimensions {:?} differ from CT dimensions {:?} (x, y, z)",
                    m.dims_xyz(),
                    ct.dims_xyz()
                )));
            }
        }
    }

    let orient = Canonical::of(ct)?;
    let ct_c = orient.view(&ct.data);
    let mask_c = mask.map(|m| orient.view(&m.data));
    let truth_c = truth.map(|m| orient.view(&m.data));

    let n_slices = ct_c.len_of(Axis(slice_axis(opts.view)));
    let slice = match opts.slice {
        SliceChoice::Index(i) if i < n_slices => i,
        SliceChoice::Index(i) => {
            return Err(Error::InvalidArgument(format!(
                "slice {i} is out of range: the {} view has {n_slices} slices (0 to {})",
                opts.view,
                n_slices - 1
            )))
        }
        SliceChoice::Auto => [truth_c, mask_c]
            .into_iter()
            .flatten()
            .find_map(|m| largest_area_slice(m, opts.view))
            .unwrap_or(n_slices / 2),
    };

    let (row_sp, col_sp) = orient.plane_spacing(opts.view);
    let ct_plane = plane(ct_c, opts.view, slice);
    let (src_h, src_w) = ct_plane.dim();
    let rows = Resample::new(src_h, row_sp, row_sp.min(col_sp));
    let cols = Resample::new(src_w, col_sp, row_sp.min(col_sp));
    let (height, width) = (rows.len(), cols.len());

    let lo = opts.window_center - opts.window_width / 2.0;
    let mut rgb = Vec::with_capacity(width * height * 3);
    for r in &rows.taps {
        for c in &cols.taps {
            let v00 = ct_plane[[r.i0, c.i0]];
            let v01 = ct_plane[[r.i0, c.i1]];
            let v10 = ct_plane[[r.i1, c.i0]];
            let v11 = ct_plane[[r.i1, c.i1]];
            let top = v00 + (v01 - v00) * c.frac;
            let bottom = v10 + (v11 - v10) * c.frac;
            let v = top + (bottom - top) * r.frac;
            let g = ((v - lo) / opts.window_width * 255.0)
                .round()
                .clamp(0.0, 255.0) as u8;
            rgb.extend_from_slice(&[g, g, g]);
        }
    }

    let outline_of =
        |m: Option<ArrayView3<u8>>| m.map(|m| outline(&plane(m, opts.view, slice), &rows, &cols));
    let mask_outline = outline_of(mask_c);
    let truth_outline = outline_of(truth_c);
    let count = |o: &Option<Vec<bool>>| o.as_ref().map_or(0, |o| o.iter().filter(|&&b| b).count());
    let (mask_pixels, truth_pixels) = (count(&mask_outline), count(&truth_outline));
    for (p, px) in rgb.chunks_exact_mut(3).enumerate() {
        let in_mask = mask_outline.as_ref().is_some_and(|o| o[p]);
        let in_truth = truth_outline.as_ref().is_some_and(|o| o[p]);
        match (in_mask, in_truth) {
            (true, true) => px.copy_from_slice(&BOTH_COLOR),
            (true, false) => px.copy_from_slice(&MASK_COLOR),
            (false, true) => px.copy_from_slice(&TRUTH_COLOR),
            (false, false) => {}
        }
    }

    Ok(Rendered {
        info: RenderInfo {
            slice,
            width,
            height,
            mask_pixels,
            truth_pixels,
        },
        rgb,
    })
}

/// How to view a `[z][y][x]` array in canonical LPS order `[S][P][L]` (slices inferior→superior,
/// rows anterior→posterior, columns right→left).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Canonical {
    /// For canonical array axis `a` (0: S, 1: P, 2: L), the array axis of the stored data.
    axes: [usize; 3],
    /// Whether canonical axis `a` runs against the stored axis.
    flip: [bool; 3],
    /// Spacing along canonical axis `a`, in mm.
    spacing: [f64; 3],
}

impl Canonical {
    fn of<T>(image: &Image<T>) -> Result<Canonical> {
        let g = &image.geometry;
        g.validate()?;
        // For each voxel axis c (i, j, k), the LPS axis r it follows and whether it points along it.
        let mut voxel_axis_of_lps = [usize::MAX; 3];
        let mut negative = [false; 3];
        for (c, letter) in g.orientation_code().chars().enumerate() {
            let (r, neg) = match letter {
                'L' => (0, false),
                'R' => (0, true),
                'P' => (1, false),
                'A' => (1, true),
                'S' => (2, false),
                'I' => (2, true),
                _ => (usize::MAX, false),
            };
            if r > 2 || voxel_axis_of_lps[r] != usize::MAX {
                return Err(Error::Geometry(format!(
                    "cannot orient direction {:?} (orientation code {})",
                    g.direction,
                    g.orientation_code()
                )));
            }
            voxel_axis_of_lps[r] = c;
            negative[r] = neg;
        }
        let mut out = Canonical {
            axes: [0; 3],
            flip: [false; 3],
            spacing: [1.0; 3],
        };
        for a in 0..3 {
            let r = 2 - a; // canonical array axis 0 is S (LPS z), 2 is L (LPS x)
            let c = voxel_axis_of_lps[r];
            out.axes[a] = 2 - c; // array axis 0 holds voxel axis k, 2 holds i
            out.flip[a] = negative[r];
            out.spacing[a] = g.spacing[c];
        }
        Ok(out)
    }

    fn view<'a, T>(&self, data: &'a Array3<T>) -> ArrayView3<'a, T> {
        let mut v = data.view().permuted_axes(self.axes);
        for a in 0..3 {
            if self.flip[a] {
                v.invert_axis(Axis(a));
            }
        }
        v
    }

    /// Row and column spacing of the displayed plane, in mm.
    fn plane_spacing(&self, view: View) -> (f64, f64) {
        let [s, p, l] = self.spacing;
        match view {
            View::Axial => (p, l),
            View::Coronal => (s, l),
            View::Sagittal => (s, p),
        }
    }
}

/// The canonical array axis along which the slices of a view are taken.
fn slice_axis(view: View) -> usize {
    match view {
        View::Axial => 0,
        View::Coronal => 1,
        View::Sagittal => 2,
    }
}

/// The displayed plane of a canonical `[S][P][L]` view: rows from the top of the picture, columns
/// from its left.
fn plane<T>(canonical: ArrayView3<'_, T>, view: View, slice: usize) -> ArrayView2<'_, T> {
    let mut p = canonical.index_axis_move(Axis(slice_axis(view)), slice);
    if view != View::Axial {
        // Rows run inferior→superior in the canonical view; superior goes at the top.
        p.invert_axis(Axis(0));
    }
    p
}

/// The slice of the view with the most non-zero voxels, or `None` when all are zero.
fn largest_area_slice(m: ArrayView3<u8>, view: View) -> Option<usize> {
    let mut best: Option<(usize, usize)> = None;
    for (i, s) in m.axis_iter(Axis(slice_axis(view))).enumerate() {
        let area = s.iter().filter(|&&v| v != 0).count();
        if area > 0 && best.is_none_or(|(_, a)| area > a) {
            best = Some((i, area));
        }
    }
    best.map(|(i, _)| i)
}

/// Source position of one output pixel along one axis.
#[derive(Debug, Clone, Copy)]
struct Tap {
    /// Lower and upper neighbours for linear interpolation, and the weight of the upper one.
    i0: usize,
    i1: usize,
    frac: f32,
    /// Nearest source pixel.
    nearest: usize,
}

/// Resampling of one axis of `n` pixels at `spacing` mm to pixels of `target` mm, keeping the
/// physical extent: output pixel centres are mapped onto source pixel centres.
struct Resample {
    taps: Vec<Tap>,
}

impl Resample {
    fn new(n: usize, spacing: f64, target: f64) -> Resample {
        let n_out = ((n as f64 * spacing / target).round() as usize).max(1);
        let scale = n as f64 / n_out as f64;
        let last = n.saturating_sub(1);
        let taps = (0..n_out)
            .map(|o| {
                let u = ((o as f64 + 0.5) * scale - 0.5).clamp(0.0, last as f64);
                let i0 = u.floor() as usize;
                let i1 = (i0 + 1).min(last);
                let nearest = (u.round() as usize).min(last);
                Tap {
                    i0,
                    i1,
                    frac: (u - i0 as f64) as f32,
                    nearest,
                }
            })
            .collect();
        Resample { taps }
    }

    fn len(&self) -> usize {
        self.taps.len()
    }
}

/// Outline (one pixel wide, inside the region) of a mask plane resampled by nearest neighbour:
/// region pixels with a 4-neighbour outside the region or outside the picture.
fn outline(m: &ArrayView2<u8>, rows: &Resample, cols: &Resample) -> Vec<bool> {
    let (h, w) = (rows.len(), cols.len());
    let inside: Vec<bool> = rows
        .taps
        .iter()
        .flat_map(|r| {
            cols.taps
                .iter()
                .map(move |c| m[[r.nearest, c.nearest]] != 0)
        })
        .collect();
    let at = |y: usize, x: usize| inside[y * w + x];
    let mut out = vec![false; w * h];
    for y in 0..h {
        for x in 0..w {
            if at(y, x)
                && (y == 0
                    || x == 0
                    || y + 1 == h
                    || x + 1 == w
                    || !at(y - 1, x)
                    || !at(y + 1, x)
                    || !at(y, x - 1)
                    || !at(y, x + 1))
            {
                out[y * w + x] = true;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::volume::Geometry;
    use ndarray::Array3;

    const DIMS: (usize, usize, usize) = (5, 7, 9); // (nz, ny, nx) of the LPS reference

    /// A reference volume in identity LPS geometry: every voxel has a distinct value.
    fn reference(spacing: [f64; 3]) -> (Volume, Mask, Mask) {
        let ct = Array3::from_shape_fn(DIMS, |(z, y, x)| {
            -200.0 + (z * 100 + y * 10 + x) as f32 * 0.7
        });
        // Truth: a blob largest on slice 3; mask: a shifted blob largest on slice 1.
        let truth = Array3::from_shape_fn(DIMS, |(z, y, x)| {
            let r = [1usize, 2, 2, 3, 2][z];
            u8::from(y.abs_diff(3) <= r && x.abs_diff(4) <= r)
        });
        let mask = Array3::from_shape_fn(DIMS, |(z, y, x)| {
            let r = [1usize, 3, 2, 1, 1][z];
            u8::from(y.abs_diff(2) <= r && x.abs_diff(3) <= r && z != 4)
        });
        let g = Geometry {
            spacing,
            origin: [-10.0, 20.0, 30.0],
            direction: crate::volume::IDENTITY,
        };
        (
            Image::new(ct, g).unwrap(),
            Image::new(mask, g).unwrap(),
            Image::new(truth, g).unwrap(),
        )
    }

    /// Stores an LPS-ordered image with voxel axis `c` following LPS axis `lps[c]`, reversed when
    /// `neg[c]`: the same patient, another file layout.
    fn restore<T: Copy>(img: &Image<T>, lps: [usize; 3], neg: [bool; 3]) -> Image<T> {
        let (nz, ny, nx) = img.data.dim();
        let n_lps = [nx, ny, nz];
        let n_vox = lps.map(|r| n_lps[r]);
        let data = Array3::from_shape_fn((n_vox[2], n_vox[1], n_vox[0]), |(k, j, i)| {
            let ijk = [i, j, k];
            let mut xyz = [0; 3];
            for c in 0..3 {
                let r = lps[c];
                xyz[r] = if neg[c] {
                    n_lps[r] - 1 - ijk[c]
                } else {
                    ijk[c]
                };
            }
            img.data[[xyz[2], xyz[1], xyz[0]]]
        });
        let mut g = img.geometry;
        for c in 0..3 {
            g.spacing[c] = img.geometry.spacing[lps[c]];
            for r in 0..3 {
                g.direction[r][c] = if r == lps[c] {
                    if neg[c] {
                        -1.0
                    } else {
                        1.0
                    }
                } else {
                    0.0
                };
            }
        }
        Image::new(data, g).unwrap()
    }

    fn opts(view: View, slice: SliceChoice) -> RenderOptions {
        RenderOptions {
            view,
            slice,
            window_center: 0.0,
            window_width: 1000.0,
        }
    }

    #[test]
    fn any_file_layout_renders_the_same_picture() {
        let (ct, mask, truth) = reference([0.8, 1.1, 2.5]);
        let layouts = [
            ([0, 1, 2], [true, true, false]),  // RAS
            ([0, 1, 2], [false, false, true]), // LPI
            ([2, 0, 1], [false, true, true]),  // S R A: a permuted, flipped file
            ([1, 2, 0], [true, false, true]),  // A I R
        ];
        for (lps, neg) in layouts {
            let (ct2, mask2, truth2) = (
                restore(&ct, lps, neg),
                restore(&mask, lps, neg),
                restore(&truth, lps, neg),
            );
            assert_ne!(ct2.data, ct.data);
            for view in [View::Axial, View::Coronal, View::Sagittal] {
                for slice in [SliceChoice::Auto, SliceChoice::Index(1)] {
                    let o = opts(view, slice);
                    let a = render(&ct, Some(&mask), Some(&truth), &o).unwrap();
                    let b = render(&ct2, Some(&mask2), Some(&truth2), &o).unwrap();
                    assert_eq!(a, b, "layout {lps:?} {neg:?}, {view} {slice:?}");
                }
            }
        }
    }

    #[test]
    fn pictures_follow_the_radiological_convention() {
        // One bright voxel at the patient's right (x = 0), anterior (y = 0), superior (z = max).
        let mut ct = Array3::from_elem(DIMS, -1000.0f32);
        ct[[DIMS.0 - 1, 0, 0]] = 1000.0;
        let ct = Image::new(ct, Geometry::default()).unwrap();
        let bright = |view, slice| {
            let (w, _, rgb) = render_rgb(&ct, None, None, &opts(view, slice)).unwrap();
            let p = rgb.chunks(3).position(|px| px[0] == 255).unwrap();
            (p / w, p % w, w)
        };
        // Axial: right on the left, anterior at the top.
        assert_eq!(bright(View::Axial, SliceChoice::Index(DIMS.0 - 1)).0, 0);
        assert_eq!(bright(View::Axial, SliceChoice::Index(DIMS.0 - 1)).1, 0);
        // Coronal: right on the left, superior at the top.
        assert_eq!(bright(View::Coronal, SliceChoice::Index(0)).0, 0);
        assert_eq!(bright(View::Coronal, SliceChoice::Index(0)).1, 0);
        // Sagittal: anterior on the left, superior at the top.
        assert_eq!(bright(View::Sagittal, SliceChoice::Index(0)).0, 0);
        assert_eq!(bright(View::Sagittal, SliceChoice::Index(0)).1, 0);
    }

    #[test]
    fn auto_picks_the_largest_truth_then_mask_then_middle() {
        let (ct, mask, truth) = reference([1.0; 3]);
        let auto = opts(View::Axial, SliceChoice::Auto);
        let s = |m, t| render(&ct, m, t, &auto).unwrap().info.slice;
        assert_eq!(s(Some(&mask), Some(&truth)), 3);
        assert_eq!(s(None, Some(&truth)), 3);
        assert_eq!(s(Some(&mask), None), 1);
        assert_eq!(s(None, None), DIMS.0 / 2);
        let empty = Image::new(Array3::zeros(DIMS), Geometry::default()).unwrap();
        assert_eq!(s(Some(&mask), Some(&empty)), 1);
        assert_eq!(s(Some(&empty), Some(&empty)), DIMS.0 / 2);
    }

    #[test]
    fn outlines_are_on_the_boundary_only() {
        let ct = Image::new(Array3::zeros(DIMS), Geometry::default()).unwrap();
        // A 5 x 5 square (rows 1..=5, columns 2..=6) on axial slice 2, and a truth that shares
        // its left column (column 2) but extends further left.
        let mut m = Array3::zeros(DIMS);
        let mut t = Array3::zeros(DIMS);
        for y in 1..=5 {
            for x in 2..=6 {
                m[[2, y, x]] = 1u8;
            }
            for x in 0..=2 {
                t[[2, y, x]] = 1u8;
            }
        }
        let mask = Image::new(m, Geometry::default()).unwrap();
        let truth = Image::new(t, Geometry::default()).unwrap();
        let r = render(
            &ct,
            Some(&mask),
            Some(&truth),
            &opts(View::Axial, SliceChoice::Auto),
        )
        .unwrap();
        assert_eq!(r.info.slice, 2);
        assert_eq!((r.info.width, r.info.height), (DIMS.2, DIMS.1));
        assert_eq!(r.info.mask_pixels, 16);
        // Truth 3 x 5 touching the picture's edge: every pixel but the middle column's interior.
        assert_eq!(r.info.truth_pixels, 12);
        let px = |y: usize, x: usize| -> [u8; 3] {
            let i = (y * r.info.width + x) * 3;
            [r.rgb[i], r.rgb[i + 1], r.rgb[i + 2]]
        };
        let grey = px(0, 8);
        assert_eq!(grey[0], grey[1]);
        for y in 0..DIMS.1 {
            for x in 0..DIMS.2 {
                let in_m = (1..=5).contains(&y) && (2..=6).contains(&x);
                let ring_m = in_m && (y == 1 || y == 5 || x == 2 || x == 6);
                let in_t = (1..=5).contains(&y) && x <= 2;
                let ring_t = in_t && !(x == 1 && (2..=4).contains(&y));
                let want = match (ring_m, ring_t) {
                    (true, true) => BOTH_COLOR,
                    (true, false) => MASK_COLOR,
                    (false, true) => TRUTH_COLOR,
                    (false, false) => grey,
                };
                assert_eq!(px(y, x), want, "pixel row {y} column {x}");
            }
        }
    }

    #[test]
    fn anisotropic_spacing_gives_square_pixels() {
        // nx 9, ny 7, nz 5; spacing x 0.5, y 1.0, z 2.5 mm; pixels at the finer in-plane spacing.
        let (ct, mask, _) = reference([0.5, 1.0, 2.5]);
        let size = |view| {
            let r = render(&ct, Some(&mask), None, &opts(view, SliceChoice::Index(2))).unwrap();
            assert_eq!(r.rgb.len(), r.info.width * r.info.height * 3);
            (r.info.width, r.info.height)
        };
        assert_eq!(size(View::Axial), (9, 14));
        assert_eq!(size(View::Coronal), (9, 25));
        // Sagittal: 7 rows of 1 mm across, 5 slices of 2.5 mm down, at 1 mm pixels.
        assert_eq!(size(View::Sagittal), (7, 13));
        // Isotropic planes are shown voxel for voxel: the values of the slice, windowed.
        let (ct, _, _) = reference([1.0, 1.0, 1.0]);
        let (w, h, rgb) =
            render_rgb(&ct, None, None, &opts(View::Axial, SliceChoice::Index(0))).unwrap();
        assert_eq!((w, h), (9, 7));
        let v = ct.data[[0, 3, 4]];
        let want = ((v + 500.0) / 1000.0 * 255.0).round() as u8;
        assert_eq!(rgb[(3 * w + 4) * 3], want);
    }

    #[test]
    fn bad_arguments_are_refused() {
        let (ct, _, _) = reference([1.0; 3]);
        let small = Image::new(Array3::<u8>::zeros((5, 7, 8)), Geometry::default()).unwrap();
        let e = render(&ct, Some(&small), None, &RenderOptions::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("[8, 7, 5]") && e.contains("[9, 7, 5]"), "{e}");
        let e = render(&ct, None, Some(&small), &RenderOptions::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("truth"), "{e}");
        let e = render(&ct, None, None, &opts(View::Axial, SliceChoice::Index(5)))
            .unwrap_err()
            .to_string();
        assert!(e.contains("out of range"), "{e}");
        assert!(render(
            &ct,
            None,
            None,
            &opts(View::Sagittal, SliceChoice::Index(8))
        )
        .is_ok());
        let o = RenderOptions {
            window_width: 0.0,
            ..RenderOptions::default()
        };
        assert!(render(&ct, None, None, &o).is_err());
    }

    #[test]
    fn options_parse() {
        assert_eq!("Coronal".parse::<View>().unwrap(), View::Coronal);
        assert!("oblique".parse::<View>().is_err());
        assert_eq!("auto".parse::<SliceChoice>().unwrap(), SliceChoice::Auto);
        assert_eq!("12".parse::<SliceChoice>().unwrap(), SliceChoice::Index(12));
        assert!("-1".parse::<SliceChoice>().is_err());
    }

    #[test]
    fn png_round_trips() {
        let (ct, mask, truth) = reference([0.8, 0.8, 2.0]);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.png");
        let o = opts(View::Coronal, SliceChoice::Auto);
        let info = render_png(&ct, Some(&mask), Some(&truth), &o, &path).unwrap();
        let (w, h, rgb) = render_rgb(&ct, Some(&mask), Some(&truth), &o).unwrap();
        assert_eq!((info.width, info.height), (w, h));
        let file = std::io::BufReader::new(std::fs::File::open(&path).unwrap());
        let mut reader = png::Decoder::new(file).read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let frame = reader.next_frame(&mut buf).unwrap();
        assert_eq!((frame.width as usize, frame.height as usize), (w, h));
        assert_eq!(frame.color_type, png::ColorType::Rgb);
        assert_eq!(&buf[..frame.buffer_size()], &rgb[..]);
    }
}
