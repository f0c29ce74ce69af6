//! The volume object: `pancseg_volume`, a CT borrowed from the caller (any element type of
//! `pancseg_dtype`, patient geometry, rescale), and its validation and conversion to the
//! library's HU volume.

use crate::ffi::boundary::{bad_value, invalid, Versioned};
use crate::ffi::c_enum::c_enum_table;
use crate::ffi::status::{from_error, pancseg_status, Failure};
use crate::pipeline::Limits;
use crate::volume::{Geometry, Image, Volume};
use ndarray::Array3;
use pancseg_status::*;
use std::ffi::c_void;

/// Element type of a `pancseg_volume` buffer (its `dtype` field).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum pancseg_dtype {
    /// Signed 16-bit stored values (the usual CT pixel).
    PANCSEG_DTYPE_INT16 = 0,
    /// Unsigned 16-bit stored values (PixelRepresentation 0).
    PANCSEG_DTYPE_UINT16 = 1,
    /// Signed 32-bit stored values.
    PANCSEG_DTYPE_INT32 = 2,
    /// 32-bit floats (finite), for example HU already rescaled.
    PANCSEG_DTYPE_FLOAT32 = 3,
}

// bytes per element
c_enum_table!(pancseg_dtype => usize {
    PANCSEG_DTYPE_INT16 => 2,
    PANCSEG_DTYPE_UINT16 => 2,
    PANCSEG_DTYPE_INT32 => 4,
    PANCSEG_DTYPE_FLOAT32 => 4,
});

/// A CT volume borrowed from the caller for the duration of `pancseg_segment`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
#[allow(non_camel_case_types)]
pub struct pancseg_volume {
    /// `sizeof(pancseg_volume)`.
    pub struct_size: usize,
    /// Contiguous voxels, x fastest, then y, then z (`dims[0] * dims[1] * dims[2]` values).
    pub data: *const c_void,
    /// Length of `data` in bytes (checked against the dims and dtype).
    pub data_bytes: usize,
    /// A `pancseg_dtype` value.
    pub dtype: i32,
    /// Voxels along x (columns), y (rows), z (slices).
    pub dims: [usize; 3],
    /// Voxel size in mm along x, y, z: 0.01 to 50 mm, and at most 5000 mm of extent
    /// (`dims * spacing`) along any axis.
    pub spacing: [f64; 3],
    /// LPS position (mm) of the centre of the first voxel: finite, each coordinate within
    /// 100,000 mm.
    pub origin: [f64; 3],
    /// Row-major 3x3: `direction[3 * r + c]` is LPS component r of the unit vector of voxel axis
    /// c (DICOM/ITK convention). Must be orthonormal.
    pub direction: [f64; 9],
    /// HU = stored value * slope + intercept (slope finite and non-zero).
    pub rescale_slope: f64,
    /// HU offset (finite): HU = stored value * slope + intercept.
    pub rescale_intercept: f64,
}

impl Versioned for pancseg_volume {
    const NAME: &'static str = "pancseg_volume";
}

impl pancseg_volume {
    /// A float32 (HU) view of `volume`, borrowed from it.
    pub(crate) fn view_of(volume: &Volume) -> pancseg_volume {
        let g = volume.geometry;
        let d = g.direction;
        pancseg_volume {
            struct_size: std::mem::size_of::<pancseg_volume>(),
            data: volume.data.as_ptr().cast(),
            data_bytes: volume.data.len() * 4,
            dtype: pancseg_dtype::PANCSEG_DTYPE_FLOAT32 as i32,
            dims: volume.dims_xyz(),
            spacing: g.spacing,
            origin: g.origin,
            direction: [
                d[0][0], d[0][1], d[0][2], d[1][0], d[1][1], d[1][2], d[2][0], d[2][1], d[2][2],
            ],
            rescale_slope: 1.0,
            rescale_intercept: 0.0,
        }
    }
}

/// The validation `pancseg_segment` applies to a caller's volume (with the default limits), for
/// the fuzz target of the C API: the status and message it would fail with, if any.
///
/// # Safety
/// `v.data` must be NULL or point to `v.data_bytes` readable bytes.
#[doc(hidden)]
pub unsafe fn check_volume(v: &pancseg_volume) -> Result<(), (pancseg_status, String)> {
    volume_of(v, &Limits::default()).map(|_| ())
}

/// Validates a caller volume and converts it to HU (f32).
pub(crate) fn volume_of(v: &pancseg_volume, limits: &Limits) -> Result<Volume, Failure> {
    let dtype = pancseg_dtype::parse(v.dtype, "dtype").map_err(bad_value)?;
    let elem = dtype.value();
    let [nx, ny, nz] = v.dims;
    if nx == 0 || ny == 0 || nz == 0 {
        return invalid(format!("dims {:?} contain a zero", v.dims));
    }
    let count = nx
        .checked_mul(ny)
        .and_then(|n| n.checked_mul(nz))
        .filter(|&n| n <= isize::MAX as usize / 4);
    let Some(count) = count else {
        return Err((
            PANCSEG_LIMIT_EXCEEDED,
            format!("dims {:?} overflow the addressable size", v.dims),
        ));
    };
    limits.check(count as u64).map_err(from_error)?;
    let need = count * elem;
    if v.data_bytes != need {
        return invalid(format!(
            "data_bytes is {}, but dims {:?} of {elem}-byte values need {need}",
            v.data_bytes, v.dims
        ));
    }
    if v.data.is_null() {
        return invalid("data is NULL");
    }
    if !(v.rescale_slope.is_finite() && v.rescale_slope != 0.0 && v.rescale_intercept.is_finite()) {
        return invalid(format!(
            "rescale slope {} / intercept {} must be finite, slope non-zero",
            v.rescale_slope, v.rescale_intercept
        ));
    }
    let d = v.direction;
    let geometry = Geometry {
        spacing: v.spacing,
        origin: v.origin,
        direction: [[d[0], d[1], d[2]], [d[3], d[4], d[5]], [d[6], d[7], d[8]]],
    };
    geometry.validate_scan(v.dims).map_err(from_error)?;
    let mut data = Vec::new();
    if data.try_reserve_exact(count).is_err() {
        return Err((
            PANCSEG_LIMIT_EXCEEDED,
            format!("cannot allocate {count} voxels"),
        ));
    }
    let (slope, icpt) = (v.rescale_slope, v.rescale_intercept);
    // SAFETY: data is non-NULL and holds data_bytes = count * elem bytes (caller contract); the
    // reads are unaligned-safe.
    unsafe {
        let p = v.data.cast::<u8>();
        for i in 0..count {
            let q = p.add(i * elem);
            let raw = match dtype {
                pancseg_dtype::PANCSEG_DTYPE_INT16 => f64::from(q.cast::<i16>().read_unaligned()),
                pancseg_dtype::PANCSEG_DTYPE_UINT16 => f64::from(q.cast::<u16>().read_unaligned()),
                pancseg_dtype::PANCSEG_DTYPE_INT32 => f64::from(q.cast::<i32>().read_unaligned()),
                pancseg_dtype::PANCSEG_DTYPE_FLOAT32 => f64::from(q.cast::<f32>().read_unaligned()),
            };
            data.push((raw * slope + icpt) as f32);
        }
    }
    let arr = Array3::from_shape_vec((nz, ny, nx), data)
        .map_err(|e| (PANCSEG_INTERNAL_ERROR, format!("volume shape: {e}")))?;
    Image::new(arr, geometry).map_err(from_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn volume(dims: [usize; 3], data: &[i16]) -> pancseg_volume {
        pancseg_volume {
            struct_size: std::mem::size_of::<pancseg_volume>(),
            data: data.as_ptr().cast(),
            data_bytes: std::mem::size_of_val(data),
            dtype: 0,
            dims,
            spacing: [1.0, 1.0, 2.0],
            origin: [0.0; 3],
            direction: [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
            rescale_slope: 1.0,
            rescale_intercept: -1024.0,
        }
    }

    #[test]
    fn dtypes_convert_from_their_c_values_with_their_sizes() {
        let sizes: Vec<(i32, usize)> = pancseg_dtype::ALL
            .iter()
            .map(|d| (*d as i32, d.value()))
            .collect();
        assert_eq!(sizes, [(0, 2), (1, 2), (2, 4), (3, 4)]);
        assert_eq!(pancseg_dtype::from_c(4), None);
        assert_eq!(pancseg_dtype::from_c(-1), None);
    }

    #[test]
    fn volumes_are_validated_and_rescaled() {
        let data: Vec<i16> = (0..24).collect();
        let v = volume([4, 3, 2], &data);
        let vol = volume_of(&v, &Limits::default()).unwrap();
        assert_eq!(vol.data.dim(), (2, 3, 4));
        assert_eq!(vol.data[[1, 2, 3]], 23.0 - 1024.0);
        let check = |v: pancseg_volume, status: pancseg_status, text: &str| {
            let e = volume_of(&v, &Limits::default()).unwrap_err();
            assert_eq!(e.0, status, "{}", e.1);
            assert!(e.1.contains(text), "{}", e.1);
        };
        check(volume([4, 3, 0], &data), PANCSEG_INVALID_ARGUMENT, "zero");
        check(
            volume([4, 3, 3], &data),
            PANCSEG_INVALID_ARGUMENT,
            "data_bytes",
        );
        check(
            volume([usize::MAX, 3, 2], &data),
            PANCSEG_LIMIT_EXCEEDED,
            "overflow",
        );
        check(
            volume([1 << 20, 1 << 10, 1 << 10], &data),
            PANCSEG_LIMIT_EXCEEDED,
            "limit",
        );
        let mut bad = volume([4, 3, 2], &data);
        bad.spacing[1] = f64::NAN;
        check(bad, PANCSEG_GEOMETRY_ERROR, "spacing");
        let mut bad = volume([4, 3, 2], &data);
        bad.spacing[0] = -1.0;
        check(bad, PANCSEG_GEOMETRY_ERROR, "spacing");
        let mut bad = volume([4, 3, 2], &data);
        bad.direction[0] = 2.0;
        check(bad, PANCSEG_GEOMETRY_ERROR, "direction");
        let mut bad = volume([4, 3, 2], &data);
        bad.rescale_slope = 0.0;
        check(bad, PANCSEG_INVALID_ARGUMENT, "slope");
        let mut bad = volume([4, 3, 2], &data);
        bad.dtype = 9;
        check(bad, PANCSEG_INVALID_ARGUMENT, "dtype");
        let mut bad = volume([4, 3, 2], &data);
        bad.data = std::ptr::null();
        check(bad, PANCSEG_INVALID_ARGUMENT, "NULL");
    }
}
